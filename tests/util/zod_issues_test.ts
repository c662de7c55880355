import { assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { readConfigFile } from "../../lib/cluster/config.ts";
import { parseExtractConfig } from "../../lib/io/extract_config.ts";
import { UserError } from "../../lib/util/errors.ts";
import { z } from "../../lib/deps.ts";
import { flagIssue, issueMessage } from "../../lib/util/zod_issues.ts";

/** The messages of a failed parse, prefixed by their paths. */
function messages(schema: z.ZodType, raw: unknown): string[] {
  const r = schema.safeParse(raw);
  if (r.success) throw new Error("expected a failure");
  return r.error.issues.map((i) => `${i.path.join(".")}|${issueMessage(schema, i)}`);
}

Deno.test("issueMessage names the key a mistyped one meant, through defaults, optionals, arrays, discriminated unions and pipes", () => {
  const band = z.object({ fmin: z.number(), fmax: z.number() }).strict();
  const schema = z.object({
    pretrain: z.object({ epochs: z.number().default(30), batchSize: z.number() }).strict()
      .optional(),
    bands: z.array(band).default([]),
    input: z.discriminatedUnion("format", [
      z.object({ format: z.literal("manifest"), path: z.string() }).strict(),
      z.object({ format: z.literal("sds"), root: z.string() }).strict(),
    ]),
    crop: z.object({ before: z.number() }).strict().nullable().pipe(z.any()),
  }).strict();
  assertEquals(
    messages(schema, {
      pretrian: {},
      pretrain: { epoch: 3, batchSize: 1 },
      bands: [{ fmin: 1, fmax: 2 }, { fmin: 1, fmx: 2 }],
      input: { format: "sds", roott: "x" },
      crop: { befor: 1 },
    }),
    [
      'pretrain|Unrecognized key: "epoch" (did you mean epochs?)',
      // The second band's fmax is missing, and its fmx is unknown.
      "bands.1.fmax|Invalid input: expected number, received undefined",
      'bands.1|Unrecognized key: "fmx" (did you mean fmax?)',
      "input.root|Invalid input: expected string, received undefined",
      'input|Unrecognized key: "roott" (did you mean root?)',
      "crop.before|Invalid input: expected number, received undefined",
      'crop|Unrecognized key: "befor" (did you mean before?)',
      '|Unrecognized key: "pretrian" (did you mean pretrain?)',
    ],
  );
});

Deno.test("config files: a mistyped field is named with the one it most likely meant", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/c.json`;
    await Deno.writeTextFile(path, JSON.stringify({ pretrain: { epoch: 3 }, finetun: {} }));
    await assertRejects(
      () => readConfigFile(path),
      UserError,
      `Cannot use config ${path}: pretrain: Unrecognized key: "epoch" (did you mean epochs?); ` +
        `(top level): Unrecognized key: "finetun" (did you mean finetune?)`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assertThrows(
    () =>
      parseExtractConfig({
        input: { format: "manifest", path: "m.csv" },
        spectrogram: { fmx: 10 },
      }, "e.json"),
    UserError,
    'Cannot use e.json: invalid field spectrogram: Unrecognized key: "fmx" (did you mean fmax?)',
  );
});

Deno.test("flagIssue names the flag that gave a refused value, as the flags' own checks do, and only such a value", () => {
  const schema = z.object({
    epochs: z.number().int().min(1),
    lr: z.number().positive(),
    betas: z.tuple([z.number().lt(1), z.number().lt(1)]),
    split: z.number().max(0.9),
    k: z.number().int().min(2, "expected an integer >= 2: one cluster holds every sample"),
    spectrogram: z.object({ overlap: z.number().min(0).lt(1) }),
  });
  const ok = { epochs: 1, lr: 1, betas: [0.9, 0.9], split: 0, k: 2, spectrogram: { overlap: 0 } };
  const fields = {
    epochs: "epochs",
    lr: "lr",
    "betas.0": "beta1",
    "betas.1": "beta2",
    split: "val-split",
    k: "k",
    spectrogram: "overlap",
  };
  const text = (bad: Record<string, unknown>, f: Record<string, string> = fields) => {
    const raw = { ...ok, ...bad };
    const r = schema.safeParse(raw);
    if (r.success) throw new Error("expected a failure");
    return flagIssue(r.error, raw, f);
  };
  assertEquals(text({ epochs: 0 }), "Cannot read --epochs: expected >= 1: found 0");
  assertEquals(text({ epochs: 2.5 }), "Cannot read --epochs: expected an integer: found 2.5");
  assertEquals(text({ lr: 0 }), "Cannot read --lr: expected > 0: found 0");
  assertEquals(text({ betas: [0.9, 1] }), "Cannot read --beta2: expected < 1: found 1");
  assertEquals(text({ split: 0.95 }), "Cannot read --val-split: expected <= 0.9: found 0.95");
  // A schema's own message stays as it is.
  assertEquals(
    text({ k: 1 }),
    "Cannot read --k: expected an integer >= 2: one cluster holds every sample: found 1",
  );
  // A path covers the fields under it.
  assertEquals(
    text({ spectrogram: { overlap: 1 } }),
    "Cannot read --overlap: expected < 1: found 1",
  );
  // A field no flag set (a config file's) is left to issueLines, which names its key.
  assertEquals(text({ epochs: 0 }, { lr: "lr" }), null);
});

Deno.test("with two mistyped keys in one object, each hint names its own key and the key it meant", () => {
  const schema = z.object({ epochs: z.number().default(30), batchSize: z.number().default(8) })
    .strict();
  assertEquals(messages(schema, { epoch: 3, batchsize: 4 }), [
    '|Unrecognized keys: "epoch", "batchsize" (epoch: did you mean epochs?; ' +
    "batchsize: did you mean batchSize?)",
  ]);
  // Four of them: a hint for each.
  const four = z.object({
    epochs: z.number(),
    batchSize: z.number(),
    seed: z.number(),
    k: z.number(),
  })
    .partial().strict();
  assertEquals(messages(four, { epoch: 1, batchsize: 2, sed: 3, kk: 4 }), [
    '|Unrecognized keys: "epoch", "batchsize", "sed", "kk" (epoch: did you mean epochs?; ' +
    "batchsize: did you mean batchSize?; sed: did you mean seed?; kk: did you mean k?)",
  ]);
  // One mistyped key among keys nothing is near: its hint names it too.
  assertEquals(messages(schema, { epoch: 3, zzzzzzzz: 4 }), [
    '|Unrecognized keys: "epoch", "zzzzzzzz" (epoch: did you mean epochs?)',
  ]);
});

Deno.test("a key of another option of a union is not offered as the key it meant: extract's input with a manifest and a dir", () => {
  const e = assertThrows(
    () =>
      parseExtractConfig({
        input: { format: "manifest", path: "m.csv", dir: "x" },
      }, "e.json"),
    UserError,
  );
  // Before: 'Unrecognized key: "dir" (did you mean dir?)', the esec, npz and sds inputs' dir.
  // Now the formats that take it are named.
  assertEquals(
    e.message,
    'Cannot use e.json: invalid field input: Unrecognized key: "dir" (dir is for format esec, ' +
      "npz or sds)",
  );
});

Deno.test("issueMessage says that a field which may be null takes null for none, where it was given a string", () => {
  const schema = z.object({
    bandpass: z.object({ freqmin: z.number() }).nullable().default(null),
    before: z.number().default(20),
    waterLevel: z.number().nullable().optional(),
  }).strict();
  assertEquals(messages(schema, { bandpass: "none", before: "20", waterLevel: "none" }), [
    // The flags take 'none'; the config, null.
    "bandpass|Invalid input: expected object, received string (null for none)",
    // Not nullable: nothing to add.
    "before|Invalid input: expected number, received string",
    "waterLevel|Invalid input: expected number, received string (null for none)",
  ]);
  // Through the extract config, as the CLI reports it.
  assertThrows(
    () =>
      parseExtractConfig({
        input: { format: "esec", dir: "/e" },
        preprocess: { bandpass: "none" },
      }),
    UserError,
    "preprocess.bandpass: Invalid input: expected object, received string (null for none)",
  );
});
