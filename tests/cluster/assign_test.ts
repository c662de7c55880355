/**
 * `cluster --raw`'s k-means on the spectrograms themselves (lib/cluster/assign.ts, rawKmeans):
 * its defaults and what its assignment records.
 */
import { assertEquals, assertRejects } from "../_assert.ts";
import { MemoryDataset } from "../../lib/cluster/data.ts";
import { applyModel, rawKmeans } from "../../lib/cluster/assign.ts";

Deno.test("rawKmeans normalises each sample by its largest |value| by default, records its k-means settings, and splits two shapes whatever their amplitudes", async () => {
  // Two shapes of 4 values, each at amplitudes 1 and 1000: by shape after maxabs, not by size.
  const shapes = [[1, 0, 0, 0], [0, 0, 0, 1]];
  const rows = [0, 1, 0, 1, 0, 1].map((s, i) => shapes[s].map((v) => v * (i < 3 ? 1 : 1000)));
  const ds = new MemoryDataset(Float32Array.from(rows.flat()), [1, 2, 2]);
  const a = await rawKmeans(ds, 2);
  assertEquals(a.normalize, "maxabs");
  assertEquals(Array.from(a.latent), [0, 1, 0, 1, 0, 1].flatMap((s) => shapes[s]));
  assertEquals(a.dim, 4);
  const l = Array.from(a.labels!);
  assertEquals(l.map((c) => c === l[0]), [true, false, true, false, true, false]);
  assertEquals(a.kmeans, {
    k: 2,
    nInit: 10,
    maxIter: a.kmeans!.maxIter,
    tol: a.kmeans!.tol,
    seed: 0,
  });
  assertEquals([a.stage, a.q, a.model], ["raw", null, null]);
});

Deno.test("applyModel refuses a stage other than auto, dec, init or pretrain (a JavaScript caller's), naming the four, before it reads the model", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Before, this empty directory's missing model.json was named, and a trained one gave the
    // initial centres' assignments to codes without init's latent scale.
    const ds = new MemoryDataset(new Float32Array(4), [1, 2, 2]);
    await assertRejects(
      () => applyModel(dir, ds, "cpu", "final" as never),
      TypeError,
      'Cannot apply the model: stage must be "auto", "dec", "init" or "pretrain": found "final"',
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
