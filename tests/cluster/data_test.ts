/**
 * The batches the model reads (lib/cluster/data.ts): values float32 cannot train on are
 * refused, naming the sample, before they turn the loss into Infinity or NaN.
 */
import { MemoryDataset, readModelBatch } from "../../lib/cluster/data.ts";
import { pretrain, PRETRAIN_DEFAULTS } from "../../lib/cluster/pretrain.ts";
import { normalizeSamples } from "../../lib/io/dataset.ts";
import { assert, assertClose, assertEquals, assertRejects, assertThrows } from "../_assert.ts";

const SHAPE = [1, 8, 6] as const, PER = 48;

/** Four samples of sines; sample `loud` (index 2) times `scale`. */
function dataset(scale: number, bad?: number): MemoryDataset {
  const x = Float32Array.from({ length: 4 * PER }, (_, i) => Math.sin(0.37 * i) + 0.1);
  for (let i = 2 * PER; i < 3 * PER; i++) x[i] *= scale;
  if (bad !== undefined) x[2 * PER + 5] = bad;
  const samples = ["a", "b", "loud", "d"].map((id) => ({ id, label: null }));
  return new MemoryDataset(x, SHAPE, samples);
}

Deno.test("readModelBatch refuses a value whose square overflows the float32 loss, naming the sample", () => {
  // 4 × 48 = 192 values: the limit is sqrt(3.4e38 / 16 / 192) = 1.05e17.
  const ok = readModelBatch(dataset(1e16), [0, 1, 2, 3], "none", "pretrain");
  assertEquals(ok.length, 4 * PER);
  assertThrows(
    () => readModelBatch(dataset(1e19), [0, 1, 2, 3], "none", "pretrain"),
    RangeError,
    "Cannot pretrain: sample loud (index 2) holds",
  );
  const e = assertThrows(() => readModelBatch(dataset(1e19), [3, 2], "none", "encode"));
  assert(
    (e as Error).message.includes("without normalisation") &&
      (e as Error).message.includes("past |x| = 4.71e+17 for a batch of 2") &&
      (e as Error).message.includes("--normalize maxabs, l2 or minmax"),
    (e as Error).message,
  );
  // Normalised, the same sample is in [-1, 1] and passes.
  for (const n of ["maxabs", "l2", "minmax"] as const) {
    const x = readModelBatch(dataset(1e30), [0, 1, 2, 3], n, "pretrain");
    assert(x.every((v) => Math.abs(v) <= 1 + 1e-6), n);
  }
  // NaN and Infinity (an in-memory dataset is not checked when read) are named too.
  for (const bad of [NaN, Infinity]) {
    assertThrows(
      () => readModelBatch(dataset(1, bad), [0, 1, 2, 3], "maxabs", "finetune"),
      RangeError,
      `Cannot finetune: sample loud (index 2) holds ${bad} at element 5: expected finite values`,
    );
  }
});

Deno.test("normalizeSamples scales samples of 1e38 and 1e-38 without overflow or underflow", () => {
  // Squares of 2e38 overflow float32 but not the float64 sums: l2 stays exact.
  for (const s of [5e37, 1e-38, 2 ** -149]) {
    const v = Float32Array.from([3, -4, 0, 0], (x) => x * s);
    const l2 = v.slice(), mx = v.slice(), mm = v.slice();
    normalizeSamples(l2, 4, "l2");
    normalizeSamples(mx, 4, "maxabs");
    normalizeSamples(mm, 4, "minmax");
    // 2^-149 is float32's least denormal: 3 and 4 of it are exact.
    const rel = 1e-6;
    assertClose(l2, [0.6, -0.8, 0, 0], rel, 0, `l2 at ${s}`);
    assertClose(mx, [0.75, -1, 0, 0], rel, 0, `maxabs at ${s}`);
    assertClose(mm, [1, 0, 4 / 7, 4 / 7], rel, 0, `minmax at ${s}`);
  }
});

Deno.test("pretrain refuses a sample of 1e19 without normalisation, naming it, instead of an Infinity loss", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cfg = { ...PRETRAIN_DEFAULTS, epochs: 1, batchSize: 4, normalize: "none" as const };
    // Before: "Cannot pretrain: loss became Infinity at epoch 1, step 1: lower --lr".
    await assertRejects(
      () => pretrain(dataset(1e19), dir, cfg, { device: "cpu" }),
      RangeError,
      "sample loud (index 2) holds",
    );
    const h = await pretrain(dataset(1e19), dir, { ...cfg, normalize: "maxabs" }, {
      device: "cpu",
    });
    assert(Number.isFinite(h[0].trainLoss), `${h[0].trainLoss}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MemoryDataset refuses a sample shape that is not three integers >= 1, a fractional index and an unknown normalisation", () => {
  for (const shape of [[8, 6], [1, -8, -6], [1, 2.5, 2], [0, 8, 6]]) {
    assertThrows(
      () => new MemoryDataset(new Float32Array(48), shape as never),
      TypeError,
      `Cannot create dataset: sampleShape must be [C, F, T], integers >= 1: found [${shape}]`,
    );
  }
  const ds = dataset(1);
  assertThrows(
    () => ds.readBatch([0.5]),
    RangeError,
    "Cannot read sample 0.5: index must be an integer",
  );
  assertThrows(
    () => ds.readBatch([0], "zscore" as never),
    RangeError,
    'Cannot normalise samples: expected maxabs, l2, minmax, none: found "zscore"',
  );
  assertThrows(
    () => normalizeSamples(new Float32Array(4), 2, "L2" as never),
    RangeError,
    'found "L2"',
  );
});
