import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertThrows,
} from "../_assert.ts";
import { silhouette } from "../../lib/metrics/silhouette.ts";
import { Rng } from "../../lib/util/rng.ts";

Deno.test("silhouette on a hand-computed 4-point example", () => {
  // Clusters {(0,0), (0,1)} and {(3,0), (3,1)}. For (0,0): a = 1, b = (3 + sqrt(10)) / 2;
  // the four points are symmetric, so the mean is 1 - a / b for any of them.
  const x = new Float64Array([0, 0, 0, 1, 3, 0, 3, 1]);
  const s = silhouette(x, 4, 2, [0, 0, 1, 1]);
  assertAlmostEquals(s, 1 - 2 / (3 + Math.sqrt(10)), 1e-15);
});

Deno.test("silhouette scores a singleton 0 and uses the nearest other cluster", () => {
  // Points 0, 1 | 5 | 20 (1-D). Point 0: a = 1, b = min(5, 20) = 5 -> 0.8.
  // Point 1: a = 1, b = min(4, 19) = 4 -> 0.75. Singletons 5 and 20 score 0.
  const s = silhouette(new Float32Array([0, 1, 5, 20]), 4, 1, [4, 4, 7, 9]);
  assertAlmostEquals(s, (0.8 + 0.75) / 4, 1e-15);
});

Deno.test("silhouette samples reproducibly above sampleSize and is exact at or below it", () => {
  const r = new Rng(1);
  const n = 300, x = new Float64Array(n * 2).map(() => r.normal());
  const labels = Array.from({ length: n }, (_, i) => (x[i * 2] > 0 ? 1 : 0));
  const exact = silhouette(x, n, 2, labels);
  assertEquals(silhouette(x, n, 2, labels, { sampleSize: 300 }), exact);
  const a = silhouette(x, n, 2, labels, { sampleSize: 100, seed: 5 });
  assertEquals(silhouette(x, n, 2, labels, { sampleSize: 100, seed: 5 }), a);
  // The seed defaults to 0.
  const zero = silhouette(x, n, 2, labels, { sampleSize: 100, seed: 0 });
  assertEquals(silhouette(x, n, 2, labels, { sampleSize: 100 }), zero);
  assertNotEquals(zero, a);
  assertNotEquals(a, exact);
  // A 1/3 sample estimates the mean of per-point scores in [-1, 1] within a few 0.05.
  assertAlmostEquals(a, exact, 0.1);
});

Deno.test("silhouette scores 0 where a = b = 0 (coincident clusters), as scikit-learn", () => {
  // Clusters 0 and 1 sit on the same point: a = b = 0, (b - a) / max(a, b) is 0/0 -> 0.
  // Cluster 2's points: a = 0, b = 5 -> 1. Mean (0 * 4 + 1 * 2) / 6.
  const s = silhouette(new Float64Array([0, 0, 0, 0, 5, 5]), 6, 1, [0, 0, 1, 1, 2, 2]);
  assertAlmostEquals(s, 1 / 3, 1e-15);
});

Deno.test("silhouette rejects a sampleSize that is not an integer >= 2", () => {
  const x = new Float64Array([0, 1, 5, 6]);
  for (const sampleSize of [2.5, 1, 0, NaN]) {
    assertThrows(
      () => silhouette(x, 4, 1, [0, 0, 1, 1], { sampleSize }),
      RangeError,
      `sampleSize must be an integer >= 2: current value is ${sampleSize}`,
    );
  }
});

Deno.test("silhouette rejects a single cluster and one cluster per point", () => {
  assertThrows(() => silhouette(new Float64Array(3), 3, 1, [0, 0, 0]), RangeError, "clusters");
  assertThrows(() => silhouette(new Float64Array(3), 3, 1, [0, 1, 2]), RangeError, "clusters");
});

Deno.test("silhouette is NaN when its sample draws from one cluster only", () => {
  // 499 points near 0 and an outlier of its own cluster: a 100-point sample misses it 4 times in 5.
  const n = 500, r = new Rng(3);
  const x = new Float64Array(n).map(() => r.normal());
  x[n - 1] = 1e4;
  const labels = Array.from({ length: n }, (_, i) => (i === n - 1 ? 1 : 0));
  const got = Array.from(
    { length: 20 },
    (_, seed) => silhouette(x, n, 1, labels, { sampleSize: 100, seed }),
  );
  const missed = got.filter(Number.isNaN).length;
  assert(missed > 0 && missed < 20, `NaN in ${missed} of 20 samples`);
  // Where the outlier is drawn, it scores 0 (alone) and the others close to 1.
  for (const s of got.filter((v) => !Number.isNaN(v))) assert(s > 0.9 && s < 1, String(s));
  assert(silhouette(x, n, 1, labels, { sampleSize: n }) > 0.99);
});

Deno.test("silhouette is NaN when its sample draws each point from another cluster", () => {
  // sampleSize 2 with two clusters: a sample of one point per cluster has no a for either. It
  // was refused as 'the number of clusters must be in [2, 1]', which no caller could meet.
  const x = new Float64Array([0, 1, 2, 10, 11, 12]), labels = [0, 0, 0, 1, 1, 1];
  const got = Array.from(
    { length: 8 },
    (_, seed) => silhouette(x, 6, 1, labels, { sampleSize: 2, seed }),
  );
  const mixed = got.filter(Number.isNaN).length;
  assert(mixed > 0, "some sample draws one point of each cluster");
  // A sample of two points of one cluster is NaN too (one cluster); none is refused.
  assertEquals(mixed, got.length);
  // Three clusters, samples of 3: NaN where all three are drawn, a score otherwise.
  const y = new Float64Array([0, 1, 10, 11, 20, 21]), three = [0, 0, 1, 1, 2, 2];
  const s3 = Array.from(
    { length: 12 },
    (_, seed) => silhouette(y, 6, 1, three, { sampleSize: 3, seed }),
  );
  const nan3 = s3.filter(Number.isNaN).length;
  assert(nan3 > 0 && nan3 < s3.length, `NaN in ${nan3} of ${s3.length}`);
  // Unsampled, one cluster per point is still the caller's error.
  assertThrows(() => silhouette(y, 6, 1, [0, 1, 2, 3, 4, 5]), RangeError, "clusters");
});

Deno.test("silhouette's sample is the first sampleSize points of the seed's permutation, scored exactly", () => {
  const r = new Rng(2);
  const n = 300, x = new Float64Array(n * 2).map(() => r.normal());
  const labels = Array.from({ length: n }, (_, i) => (x[i * 2] + x[i * 2 + 1] > 0 ? 3 : 8));
  const idx = new Rng(5).permutation(n).subarray(0, 100);
  const sub = new Float64Array(200);
  idx.forEach((i, s) => sub.set(x.subarray(i * 2, i * 2 + 2), s * 2));
  assertEquals(
    silhouette(x, n, 2, labels, { sampleSize: 100, seed: 5 }),
    silhouette(sub, 100, 2, Array.from(idx, (i) => labels[i])),
  );
});

Deno.test("silhouette samples 4,000 points by default", () => {
  const n = 4001, r = new Rng(4);
  const x = new Float64Array(n).map(() => r.normal());
  const labels = Array.from(x, (v) => (v > 0.3 ? 1 : 0));
  const def = silhouette(x, n, 1, labels);
  assertEquals(def, silhouette(x, n, 1, labels, { sampleSize: 4000 }));
  assertNotEquals(def, silhouette(x, n, 1, labels, { sampleSize: n }));
});

Deno.test("silhouette names the sample's size in the range of clusters it refuses", () => {
  // Five clusters of one point, a sample of 3: three clusters where at most 2 fit.
  assertThrows(
    () => silhouette(new Float64Array([0, 1, 2, 3, 4]), 5, 1, [0, 1, 2, 3, 4], { sampleSize: 3 }),
    RangeError,
    "the number of clusters must be in [2, 2]: found 3",
  );
});
