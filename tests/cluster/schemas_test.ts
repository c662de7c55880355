import { assert, assertRejects } from "../_assert.ts";
import { pretrain, PRETRAIN_DEFAULTS } from "../../lib/cluster/pretrain.ts";
import {
  finetune,
  FINETUNE_DEFAULTS,
  INIT_DEFAULTS,
  initCentroids,
} from "../../lib/cluster/dec.ts";
import type { DatasetLike } from "../../lib/cluster/data.ts";
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
