/** Flag parsing helpers of lib/cli/_command.ts and cli.ts's split of user errors from bugs. */
import { isUserFacing, main, refusedWrite } from "../../cli.ts";
import {
  type Command,
  helpText,
  intFlag,
  intOrAutoFlag,
  nearestFlag,
  numFlag,
  parseCommandArgs,
  positionalsOf,
} from "../../lib/cli/_command.ts";
import { UserError } from "../../lib/util/errors.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { run } from "./_run.ts";
import { parseExtractConfig } from "../../lib/io/extract_config.ts";
import {
  checkpointSettings,
  datasetArg,
  datasetError,
  enumFlag,
  pathWord,
  refuseLineBreak,
  seedFlag,
} from "../../lib/cli/_shared.ts";
import { z } from "../../lib/deps.ts";

Deno.test("intFlag and numFlag refuse an empty value instead of reading it as 0", () => {
  for (const v of ["", "  "]) {
    assertThrows(() => intFlag({ seed: v }, "seed"), UserError, "--seed: expected an integer");
    assertThrows(() => numFlag({ lr: v }, "lr"), UserError, "--lr: expected a number");
  }
  assertThrows(() => intFlag({ epochs: "2.5" }, "epochs"), UserError, "found '2.5'");
  assertThrows(() => numFlag({ lr: "Infinity" }, "lr"), UserError, "found 'Infinity'");
  assertEquals([intFlag({ k: "12" }, "k"), intFlag({}, "k")], [12, undefined]);
  assertEquals([numFlag({ lr: "-1e-3" }, "lr"), numFlag({}, "lr")], [-1e-3, undefined]);
  // Number() reads these too: "--epochs 0x10" ran 16 epochs.
  for (const v of ["0x10", "0b11", "0o7", "1e3", "5.0", "1_000", "99999999999999999999"]) {
    assertThrows(
      () => intFlag({ epochs: v }, "epochs"),
      UserError,
      `Cannot read --epochs: expected an integer in decimal digits: found '${v}'`,
    );
  }
  for (const v of ["0x10", "0b11", "1_0"]) {
    assertThrows(() => numFlag({ lr: v }, "lr"), UserError, `found '${v}'`);
  }
  assertEquals([intFlag({ seed: "-3" }, "seed"), intFlag({ k: " 07 " }, "k")], [-3, 7]);
  // A flag that also takes auto says so.
  assertEquals(
    [intOrAutoFlag({ u: "auto" }, "u"), intOrAutoFlag({ u: "12" }, "u"), intOrAutoFlag({}, "u")],
    ["auto", 12, undefined],
  );
  assertThrows(
    () => intOrAutoFlag({ u: "abc" }, "u"),
    UserError,
    "Cannot read --u: expected an integer in decimal digits or auto: found 'abc'",
  );
  assertEquals([numFlag({ lr: ".5" }, "lr"), numFlag({ lr: "2." }, "lr")], [0.5, 2]);
});

Deno.test("parseCommandArgs and helpText: short flags, defaults shown, unknown flags refused", () => {
  const cmd: Command = {
    name: "demo",
    summary: "A test command.",
    usage: "<in>",
    flags: { out: { type: "string", arg: "DIR", default: "./x", description: "Where." } },
    run: () => Promise.resolve(),
  };
  const { values, positionals } = parseCommandArgs(cmd, ["a", "--out", "d", "-q"]);
  assertEquals([values.out, values.quiet, positionals], ["d", true, ["a"]]);
  // --out is also -o, where the command declares no short form.
  assertEquals(parseCommandArgs(cmd, ["a", "-o", "e"]).values.out, "e");
  assertThrows(() => parseCommandArgs(cmd, ["--nope"]), UserError, "arguments of 'demo'");
  // An unknown flag is named, with the one it most likely meant, and the usage line.
  assertThrows(
    () => parseCommandArgs({ ...cmd, usage: "<dataset-dir>" }, ["--oot", "d"]),
    UserError,
    "--oot is not a flag of 'demo': did you mean --out? (usage: deno run -A cli.ts demo " +
      "[flags] <dataset-dir>; --help lists its flags)",
  );
  // A value flag last on the line, long or short: worded as the other messages, not node's
  // "Option '--out <value>' argument missing".
  for (const args of [["a", "--out"], ["a", "-o"]]) {
    assertThrows(
      () => parseCommandArgs(cmd, args),
      UserError,
      "Cannot read --out: it needs a value (DIR)",
    );
  }
  const e = assertThrows(() => parseCommandArgs(cmd, ["--data", "d"]), UserError);
  assert(e.message.includes("--data is not a flag of 'demo' (usage:"), e.message);
  const help = helpText(cmd);
  assert(help.includes("--out DIR") && help.includes("Where. (default ./x)"), help);
  // --quiet keeps warnings and notes, and its help says so.
  assert(
    help.includes(
      "-q, --quiet    No progress: print only errors, warnings, notes and the final summary.",
    ),
    help,
  );
  assert(help.includes("-o, --out DIR"), help);
});

Deno.test("positionalsOf: the words of the usage line before its first flag", () => {
  const cmd = (usage?: string): Command => ({
    name: "x",
    summary: "A test command.",
    usage,
    flags: {},
    run: () => Promise.resolve(),
  });
  const cases: [string | undefined, string[]][] = [
    [undefined, []],
    ["<dataset-dir> --model DIR", ["<dataset-dir>"]],
    ["<dataset-dir> (--model DIR | --raw) --out DIR", ["<dataset-dir>"]],
    ["[DIR]", ["[DIR]"]],
    ["[<dataset-dir>]", ["[<dataset-dir>]"]],
    ["[--config FILE] [--manifest CSV | --esec DIR] --out DIR", []],
    ["--out DIR | --continuous --out DIR [--hours H]", []],
  ];
  for (const [usage, want] of cases) assertEquals(positionalsOf(cmd(usage)), want, usage);
  assertThrows(
    () => parseCommandArgs(cmd("<a>"), ["1", "2", "3"]),
    UserError,
    "Cannot run x: unexpected arguments: 2 3: expected only <a> (usage: deno run -A cli.ts x " +
      "[flags] <a>)",
  );
  assertThrows(
    () => parseCommandArgs(cmd(), ["1"]),
    UserError,
    "Cannot run x: unexpected arguments: 1: expected no positional argument",
  );
  // --help with a stray word still shows the help.
  assertEquals(parseCommandArgs(cmd(), ["1", "--help"]).positionals, ["1"]);
});

Deno.test("nearestFlag: a prefix of one flag, else the nearest within a third of the length, else none", () => {
  const flags = ["model", "epochs", "batch-size", "val-split", "seed", "quiet", "lr", "latent-dim"];
  const cases: [string, string | null][] = [
    ["--epoch", "epochs"], // a prefix of one flag
    ["--val", "val-split"],
    ["--la", "latent-dim"], // "lr" is one edit away, but the prefix decides
    ["--batchsize", "batch-size"], // one insertion
    ["--modle", "model"], // two letters swapped: one edit
    ["--sed", "seed"],
    ["--Quiet", "quiet"], // case ignored
    ["--model=3", "model"], // the value is not part of the name
    ["--data", null], // 4 edits from model: too far
    ["--lerning-rate", null],
    ["-x", null], // too short to guess
    ["--e", null],
  ];
  for (const [given, want] of cases) assertEquals(nearestFlag(given, flags), want, given);
  // A prefix of several flags is no answer; the edit distance then decides.
  assertEquals(nearestFlag("--lat", ["lr", "latent-dim", "latent-size"]), null);
  assertEquals(nearestFlag("--latent", ["latent-dim", "latent-size", "latest"]), "latest");
});

Deno.test("isUserFacing: argument checks that start 'Cannot ' are user errors; other TypeErrors are bugs", () => {
  assert(isUserFacing(new UserError("anything")));
  assert(isUserFacing(new RangeError("Cannot read k 0: counts must be >= 1")));
  assert(isUserFacing(new Deno.errors.NotFound("x")));
  // A write the file system refuses, wherever it happens (a lock file, a mkdir), is one line.
  for (const code of ["EROFS", "ENOSPC", "ENAMETOOLONG", "EACCES"]) {
    assert(isUserFacing(Object.assign(new Error("refused"), { code })), code);
  }
  assert(!isUserFacing(Object.assign(new Error("bug"), { code: "EBADF" })));
  // A full disk under a checkpointing run, wrapped as writeFailure wraps it: the CLI adds what
  // was kept and how to resume.
  const full = Object.assign(new Error("No space left on device (os error 28)"), {
    code: "ENOSPC",
  });
  assert(refusedWrite(new UserError("Cannot write m/checkpoint: ...", { cause: full })));
  assert(!refusedWrite(new UserError("Cannot read --k")));
  // A bug (undefined property, a failed internal check) keeps its stack trace.
  assert(!isUserFacing(new TypeError("x is undefined")));
  assert(!isUserFacing(new RangeError("Invalid array length")));
  assert(!isUserFacing(new Error("Cannot do it")));
});

Deno.test("main: an unknown command exits 2 naming the commands, and the one it most likely meant", async () => {
  const err: string[] = [];
  const { error } = console;
  console.error = (...a: unknown[]) => err.push(a.map(String).join(" "));
  try {
    assertEquals(await main(["frobnicate"]), 2);
    assertEquals(await main(["pretran"]), 2);
  } finally {
    console.error = error;
  }
  assertEquals(err.length, 2);
  assert(err[0].startsWith("error: Cannot run 'frobnicate': no such command: expected"), err[0]);
  assert(err[0].includes("pretrain"), err[0]);
  assert(err[1].includes("no such command (did you mean pretrain?)"), err[1]);
});

Deno.test("main: --version and -V print seisdec's version from deno.json and Deno's", async () => {
  const { version } = JSON.parse(
    await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
  );
  for (const flag of ["--version", "-V"]) {
    const r = await run(flag);
    assertEquals(r.code, 0, r.err.join("\n"));
    assertEquals(r.out.join("\n").split("\n"), [
      `seisdec ${version}`,
      `Deno ${Deno.version.deno} (V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript})`,
    ]);
  }
  assert((await run("--help")).out.join("\n").includes("cli.ts --version"));
});

Deno.test("helpText: a default the config file may set says so; one it may not stays plain", () => {
  const cmd: Command = {
    name: "demo",
    summary: "A test command.",
    seeded: true,
    flags: {
      config: { type: "string", arg: "FILE", description: "Config." },
      k: { type: "string", arg: "K", default: "5", fromConfig: true, description: "Clusters." },
      every: { type: "string", arg: "S", default: "10", description: "Seconds." },
    },
    run: () => Promise.resolve(),
  };
  const help = helpText(cmd);
  assert(help.includes("Clusters. (default 5, or the config file's value)"), help);
  assert(help.includes("Seconds. (default 10)\n"), help);
  // A config file sets the seed of the commands that take one.
  assert(help.includes("Seed for every random choice. (default 0, or the config file's value)"));
  const plain = helpText({ ...cmd, flags: { k: { ...cmd.flags.k, fromConfig: false } } });
  assert(plain.includes("Seed for every random choice. (default 0)\n"), plain);
});

Deno.test("extract, pretrain, init and finetune --help: the defaults they show are the config schema's, and say the config file may set them", async () => {
  const { extract } = await import("../../lib/cli/extract.ts");
  const { pretrainCommand, initCommand, finetuneCommand } = await import(
    "../../lib/cli/train.ts"
  );
  const { marginOf, parseExtractConfig } = await import("../../lib/io/extract_config.ts");
  const { resolveFinetune, resolveInit, resolvePretrain } = await import(
    "../../lib/cluster/config.ts"
  );
  const { nInitOf } = await import("../../lib/cluster/dec.ts");
  const { ConvAutoencoder } = await import("../../lib/nn/autoencoder.ts");
  const c = parseExtractConfig({ input: { format: "manifest", path: "/m.csv" } });
  const sds = parseExtractConfig({ input: { format: "sds", dir: "/a", picks: "/p.xml" } });
  const windows = { start: "2024-01-01", end: "2024-01-02", step: 60, channels: ["X.A..HHZ"] };
  const win = parseExtractConfig({ input: { format: "sds", dir: "/a", windows } });
  const esec = parseExtractConfig({ input: { format: "esec", dir: "/e" } });
  const sc = c.spectrogram;
  const p = resolvePretrain(undefined, {}), i = resolveInit(undefined, {});
  const f = resolveFinetune(undefined, {});
  const schema: Record<string, Record<string, unknown>> = {
    extract: {
      "sac-reference": c.input.format === "manifest" && c.input.sacReference,
      phase: sds.input.format === "sds" && sds.input.phase,
      "window-chunk": win.input.format === "sds" && win.input.windows!.chunk,
      "esec-label": esec.input.format === "esec" && esec.input.label,
      components: (c.components as string[]).join(""),
      rotate: c.rotate,
      workers: c.workers,
      subset: c.subset,
      "subset-seed": c.subsetSeed,
      "sampling-rate": c.preprocess.samplingRate,
      bandpass: `${c.preprocess.bandpass!.freqmin}/${c.preprocess.bandpass!.freqmax}`,
      "gap-tolerance": c.gapTolerance,
      // Absent in the schema's defaults: marginOf's 300 s.
      margin: c.preprocess.margin ?? marginOf(c),
      "window-length": sc.windowLength,
      overlap: sc.overlap,
      fmin: sc.fmin,
      fmax: sc.fmax,
      before: sc.before,
      after: sc.after,
      scaling: sc.scaling,
      "pre-filt": c.preprocess.response.preFilt!.join("/"),
      "water-level": c.preprocess.response.waterLevel ?? "none",
      "response-output": c.preprocess.response.output,
      nfft: sc.nfft ?? "auto",
    },
    pretrain: {
      epochs: p.epochs,
      "batch-size": p.batchSize,
      lr: p.lr,
      beta1: p.betas[0],
      beta2: p.betas[1],
      "weight-decay": p.weightDecay,
      "val-split": p.valSplit,
      "latent-dim": p.latentDim,
      channels: new ConvAutoencoder({ inputShape: [1, 8, 8] }).config.channels.join(","),
      seed: p.seed,
    },
    init: {
      k: i.k,
      "k-criterion": "silhouette",
      method: i.method,
      "n-init": `${nInitOf(i)} (kmeans), ${nInitOf({ ...i, method: "gmm" })} (gmm)`,
      "max-iter": i.maxIter,
      tol: i.tol,
      covariance: i.covariance,
      "latent-scale": i.latentScale,
      seed: i.seed,
    },
    finetune: {
      mode: f.mode,
      alpha: f.alpha,
      target: f.target,
      "min-iter": f.minIter,
      "update-interval": f.updateInterval,
      tol: f.tol,
      "max-iter": f.maxIter,
      "batch-size": f.batchSize,
      optimizer: f.optimizer,
      lr: f.lr,
      momentum: f.momentum,
      gamma: f.gamma,
      seed: f.seed,
    },
  };
  for (const cmd of [extract, pretrainCommand, initCommand, finetuneCommand]) {
    const help = helpText(cmd);
    const shown = [
      ...help.matchAll(/--([\w-]+) .*\(default (.+?)(, or the config file's value)?\)$/gm),
    ];
    const fromConfig = shown.filter((m) => m[3]).map((m) => m[1]);
    assertEquals(fromConfig.sort(), Object.keys(schema[cmd.name]).sort(), cmd.name);
    for (const [, name, value] of shown.filter((m) => m[3])) {
      const want = schema[cmd.name][name];
      const same = typeof want === "number" ? Number(value) === want : value === want;
      assert(same, `${cmd.name} --${name}: help says ${value}, the schema ${want}`);
    }
  }
});

Deno.test("cli: --seed is 0 to 2^32 - 1 (a larger one wrapped round to another); extract's refusal of --seed names --subset-seed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const seed of ["4294967296", "-1"]) {
      const r = await run("synth", "--seed=" + seed, "--out", `${dir}/syn`);
      assertEquals(r.code, 2);
      assert(
        r.err.join("\n").includes(`Cannot read --seed: expected 0 to 4294967295: found ${seed}`),
        r.err.join("\n"),
      );
    }
    const e = await run("extract", "--seed", "3", "--out", `${dir}/ds`);
    assertEquals(e.code, 2);
    assert(e.err.join("\n").includes("takes --subset-seed"), e.err.join("\n"));
    assertThrows(
      () => parseExtractConfig({ input: { format: "manifest", path: "m.csv" }, subsetSeed: -1 }),
      Error,
      "subsetSeed",
    );
    assertEquals([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("numFlag refuses a number too large to be finite, seedFlag takes every 32-bit seed, a label with a lone carriage return is refused, and pathWord writes a leading dash as ./-", () => {
  assertEquals(numFlag({ lr: "1e308" }, "lr"), 1e308);
  for (const v of ["1e999", "-1e999"]) {
    assertThrows(() => numFlag({ lr: v }, "lr"), UserError, `Cannot read --lr: expected a number`);
  }
  assertEquals(seedFlag({ seed: "4294967295" }), 4294967295);
  assertEquals(seedFlag({ seed: "0" }), 0);
  assertThrows(() => seedFlag({ seed: "4294967296" }), UserError, "expected 0 to 4294967295");
  assertThrows(() => seedFlag({ seed: "-1" }), UserError, "expected 0 to 4294967295");
  refuseLineBreak("rockfall", "l.csv", 2);
  for (const label of ["rock\rfall", "rock\nfall", "rock\r\nfall"]) {
    assertThrows(() => refuseLineBreak(label, "l.csv", 3), UserError, "row 3 holds a line break");
  }
  assertEquals(pathWord("-x"), "./-x");
  assertEquals(pathWord("x-"), "x-");
  assertEquals(pathWord("/-x"), "/-x");
});

Deno.test("parseCommandArgs: a value flag followed by another's short form says the value was forgotten; nearestFlag reads --epoch=3 as --epoch", () => {
  const cmd: Command = {
    name: "demo",
    summary: "A test command.",
    flags: { out: { type: "string", arg: "DIR", description: "Where." } },
    run: () => Promise.resolve(),
  };
  assertThrows(
    () => parseCommandArgs(cmd, ["--out", "-q"]),
    UserError,
    "Cannot read --out: it needs a value (DIR): found the flag -q after it",
  );
  assertEquals(nearestFlag("--epoch=3", ["epochs", "seed"]), "epochs");
  assertEquals(nearestFlag("--sed=3", ["epochs", "seed"]), "seed");
});

Deno.test("_shared: datasetArg refuses a second directory, datasetError names the directory once, enumFlag refuses a value not listed, checkpointSettings keeps only the values a field takes", async () => {
  await assertRejects(
    () => datasetArg(["a", "b"], "train"),
    UserError,
    "Cannot run train: unexpected arguments: b",
  );
  const named = "Cannot open dataset d: no meta.json";
  assertEquals(datasetError("d", new Error(named)).message, named);
  assertEquals(datasetError("d", new Error("gone")).message, "Cannot open dataset d: gone");
  assertEquals(enumFlag({ m: "b" }, "m", ["a", "b"]), "b");
  assertThrows(
    () => enumFlag({ m: "c" }, "m", ["a", "b"]),
    UserError,
    "Cannot read --m: expected one of a, b: found 'c'",
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/state.json`,
      JSON.stringify({ config: { epochs: -3, lr: 0.01, gone: 1 } }),
    );
    const fields = { epochs: z.number().int().positive(), lr: z.number().positive() };
    assertEquals(await checkpointSettings(`${dir}/state.json`, fields), { lr: 0.01 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
