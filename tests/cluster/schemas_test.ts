import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { pretrain, PRETRAIN_DEFAULTS } from "../../lib/cluster/pretrain.ts";
import {
  finetune,
  FINETUNE_DEFAULTS,
  INIT_DEFAULTS,
  initCentroids,
} from "../../lib/cluster/dec.ts";
import type { DatasetLike } from "../../lib/cluster/data.ts";
import {
  checkSettings,
  finetuneSchema,
  initSchema,
  pretrainSchema,
} from "../../lib/cluster/schemas.ts";
import { UserError } from "../../lib/util/errors.ts";

// The library's entry points check their settings as the CLI checks its flags, before they
// touch the dataset or the model directory (neither exists here).
const ds = { count: 4, sampleShape: [1, 12, 10] } as unknown as DatasetLike;

Deno.test("pretrain, initCentroids and finetune refuse bad settings before any work, naming the field", async () => {
  const dir = await Deno.makeTempDir();
  const model = `${dir}/model`;
  await assertRejects(
    () => pretrain(ds, model, { ...PRETRAIN_DEFAULTS, epochs: 0 }, { device: "cpu" }),
    UserError,
    "Cannot use pretrain settings: pretrain.epochs: Too small: expected number to be >=1",
  );
  await assertRejects(
    () => pretrain(ds, model, { ...PRETRAIN_DEFAULTS, lr: -1, extra: 1 } as never),
    UserError,
    `pretrain.lr: Too small: expected number to be >0; pretrain: Unrecognized key: "extra"`,
  );
  await assertRejects(
    () => initCentroids(model, ds, { ...INIT_DEFAULTS, k: 1 }, "cpu"),
    UserError,
    "init.k: expected an integer >= 2: one cluster holds every sample",
  );
  await assertRejects(
    () => finetune(model, ds, { ...FINETUNE_DEFAULTS, batchSize: 0 }, "cpu"),
    UserError,
    "Cannot use finetune settings: finetune.batchSize: Too small: expected number to be >=1",
  );
  assert(!(await Deno.stat(model).then(() => true, () => false)), "the model directory was made");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the settings' seeds are 0 to 2^32 - 1, as --seed takes them", async () => {
  const dir = await Deno.makeTempDir();
  for (const seed of [-1, 2 ** 32]) {
    await assertRejects(
      () => pretrain(ds, `${dir}/m`, { ...PRETRAIN_DEFAULTS, seed }, { device: "cpu" }),
      UserError,
      "pretrain.seed",
    );
    await assertRejects(
      () => initCentroids(`${dir}/m`, ds, { ...INIT_DEFAULTS, k: 2, seed }, "cpu"),
      UserError,
      "init.seed",
    );
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a seed past 2^53 (1e20), below 0 or not whole is one message giving the seeds' range, not one per bound it fails", () => {
  for (const seed of [1e20, -1e20, 2 ** 32, 1.5]) {
    for (
      const [name, schema, defaults] of [
        ["pretrain", pretrainSchema, PRETRAIN_DEFAULTS],
        ["init", initSchema, { ...INIT_DEFAULTS, k: 2 }],
        ["finetune", finetuneSchema, FINETUNE_DEFAULTS],
      ] as const
    ) {
      const e = assertThrows(
        () => checkSettings(name, schema as never, { ...defaults, seed } as never),
        UserError,
      );
      assertEquals(
        e.message,
        `Cannot use ${name} settings: ${name}.seed: expected an integer from 0 to 4294967295`,
        `seed ${seed}`,
      );
    }
  }
});

Deno.test("the settings' bounds: each refuses the first value past it and takes the value on it", () => {
  const sections = {
    pretrain: [pretrainSchema, PRETRAIN_DEFAULTS],
    init: [initSchema, { ...INIT_DEFAULTS, k: 2 }],
    finetune: [finetuneSchema, FINETUNE_DEFAULTS],
  } as const;
  // [section, field, a value on the bound (taken), a value past it (refused)]
  const cases: [keyof typeof sections, string, unknown, unknown][] = [
    ["pretrain", "seed", 2 ** 32 - 1, 2 ** 32],
    ["pretrain", "betas", [0, 0.999], [0.9, 1]],
    ["pretrain", "valSplit", 0.9, 0.91],
    ["pretrain", "latentDim", 1, 0],
    ["pretrain", "channels", [1], []],
    ["pretrain", "weightDecay", 0, -1e-6],
    ["init", "maxIter", 1, 0],
    ["init", "seed", 2 ** 32 - 1, 2 ** 32],
    ["finetune", "tol", 100, 100.5],
    ["finetune", "minIter", 0, -1],
    ["finetune", "momentum", 0.99, 1],
    ["finetune", "collapseFraction", 1, 0],
    ["finetune", "gamma", 0, -0.1],
    ["finetune", "alpha", 1e-9, 0],
  ];
  for (const [name, field, on, past] of cases) {
    const [schema, defaults] = sections[name];
    const check = (v: unknown) =>
      checkSettings(name, schema as never, { ...defaults, [field]: v } as never);
    assertEquals((check(on) as Record<string, unknown>)[field], on, `${name}.${field} = ${on}`);
    assertThrows(() => check(past), UserError, `${name}.${field}`);
  }
  // A key init does not have is refused, as pretrain's and finetune's are.
  assertThrows(
    () => checkSettings("init", initSchema, { ...INIT_DEFAULTS, k: 2, kk: 3 } as never),
    UserError,
    'init: Unrecognized key: "kk"',
  );
});
