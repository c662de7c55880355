/**
 * The batches the model reads (lib/cluster/data.ts): values float32 cannot train on are
 * refused, naming the sample, before they turn the loss into Infinity or NaN.
 */
import {
  datasetDigest,
  datasetFingerprint,
  type DatasetLike,
  datasetRecord,
  MemoryDataset,
  readModelBatch,
  settingsChanges,
} from "../../lib/cluster/data.ts";
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

Deno.test("readModelBatch names the sample by its index in the dataset and the element within it, not their places in the batch", () => {
  // Sample loud (index 2) is second in the batch [3, 2].
  assertThrows(
    () => readModelBatch(dataset(1, 1e19), [3, 2], "none", "encode"), // 1e19 in float32
    RangeError,
    "Cannot encode: sample loud (index 2) holds 9999999980506448000 at element 5 without normalisation",
  );
});

Deno.test("MemoryDataset refuses index N, one past the last sample, and sample records of another count", () => {
  const ds = dataset(1);
  assertThrows(
    () => ds.readBatch([4]),
    RangeError,
    "Cannot read sample 4: index must be in [0, 4)",
  );
  assertThrows(
    () => new MemoryDataset(new Float32Array(2 * PER), SHAPE, [{ id: "a", label: null }]),
    TypeError,
    "Cannot create dataset: 1 sample records for 2 samples",
  );
});

Deno.test("datasetFingerprint tells ids 'ab','c' from 'a','bc', and leaves the ids out where the records do not match the count", () => {
  const of = (ids: string[]) =>
    datasetFingerprint(
      new MemoryDataset(new Float32Array(2), [1, 1, 1], ids.map((id) => ({ id, label: null }))),
    );
  assert(of(["ab", "c"]).startsWith("2 [1,1,1] ids "), of(["ab", "c"]));
  assert(of(["ab", "c"]) !== of(["a", "bc"]), of(["ab", "c"]));
  const short = { count: 2, sampleShape: [1, 1, 1], samples: [{ id: "x", label: null }] };
  assertEquals(datasetFingerprint(short as unknown as DatasetLike), "2 [1,1,1]");
});

Deno.test("datasetDigest reads the values unnormalised: samples that differ by a factor differ", () => {
  const s = [{ id: "x", label: null }, { id: "y", label: null }];
  const a = new MemoryDataset(Float32Array.from([1, 2, 3, 4]), [1, 1, 2], s);
  const b = new MemoryDataset(Float32Array.from([2, 4, 3, 4]), [1, 1, 2], s);
  assertEquals(a.readBatch([0], "maxabs"), b.readBatch([0], "maxabs"));
  assert(datasetDigest(a) !== datasetDigest(b), datasetDigest(a));
  assertEquals(
    datasetDigest(a),
    datasetDigest(new MemoryDataset(a.readBatch([0, 1]), [1, 1, 2], s)),
  );
});

Deno.test("settingsChanges lists a field on either side, then before now, and datasetRecord takes the dataset's own directory", () => {
  assertEquals(settingsChanges({ scaling: '"psd"' }, { scaling: '"db"', rate: "100" }), [
    'scaling: "psd" → "db"',
    "rate: (none) → 100",
  ]);
  assertEquals(settingsChanges({ rate: "100" }, {}), ["rate: 100 → (none)"]);
  const ds = Object.assign(new MemoryDataset(new Float32Array(1), [1, 1, 1]), { dir: "/data/ds" });
  assertEquals(datasetRecord(ds), { dataset: "/data/ds", datasetFingerprint: "1 [1,1,1]" });
  assertEquals(datasetRecord(new MemoryDataset(new Float32Array(1), [1, 1, 1])), {
    datasetFingerprint: "1 [1,1,1]",
  });
});
