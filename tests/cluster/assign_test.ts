/**
 * `cluster --raw`'s k-means on the spectrograms themselves (lib/cluster/assign.ts, rawKmeans):
 * its defaults and what its assignment records.
 */
import { assertEquals } from "../_assert.ts";
import { MemoryDataset } from "../../lib/cluster/data.ts";
import { rawKmeans } from "../../lib/cluster/assign.ts";

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
