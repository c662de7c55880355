import { calinskiHarabasz, daviesBouldin, withinClusterSS } from "../../lib/metrics/internal.ts";
import { evaluateClustering } from "../../lib/metrics/report.ts";
import { silhouette } from "../../lib/metrics/silhouette.ts";
import { assertAlmostEquals, assertEquals, assertThrows } from "../_assert.ts";

// Hand-worked 2-D case: A = {(0,0), (2,0)}, B = {(10,0), (10,4), (13,0)}; n = 5, k = 2.
// Centroids cA = (1, 0), cB = (11, 4/3); overall mean c = (7, 0.8).
const X = [0, 0, 2, 0, 10, 0, 10, 4, 13, 0];
const L = [7, 7, 3, 3, 3]; // any integers name the clusters

Deno.test("Calinski-Harabasz index on a hand-worked case", () => {
  // B = 2·((1−7)² + 0.8²) + 3·((11−7)² + (4/3 − 0.8)²) = 2·36.64 + 3·(16 + 64/225) = 122.13…
  const between = 2 * (36 + 0.64) + 3 * (16 + (4 / 3 - 0.8) ** 2);
  // W = 1 + 1 + (1 + 16/9) + (1 + (8/3)²) + (4 + 16/9)
  const within = 2 + (1 + 16 / 9) + (1 + 64 / 9) + (4 + 16 / 9);
  const want = (between / 1) / (within / 3);
  assertAlmostEquals(calinskiHarabasz(X, 5, 2, L), want, 1e-12 * want);
  // Zero within-cluster dispersion: 1, as scikit-learn.
  assertEquals(calinskiHarabasz([0, 0, 5, 5], 4, 1, [0, 0, 1, 1]), 1);
});

Deno.test("within-cluster sum of squares on the hand-worked case", () => {
  // W = 1 + 1 + (1 + 16/9) + (1 + 64/9) + (4 + 16/9), as in the Calinski-Harabasz case.
  const want = 2 + (1 + 16 / 9) + (1 + 64 / 9) + (4 + 16 / 9);
  assertAlmostEquals(withinClusterSS(X, 5, 2, L), want, 1e-12 * want);
  // One cluster: the total sum of squares about the mean (7, 0.8).
  const total = [[0, 0], [2, 0], [10, 0], [10, 4], [13, 0]]
    .reduce((s, [a, b]) => s + (a - 7) ** 2 + (b - 0.8) ** 2, 0);
  assertAlmostEquals(withinClusterSS(X, 5, 2, [1, 1, 1, 1, 1]), total, 1e-12 * total);
});

Deno.test("Davies-Bouldin index on a hand-worked case", () => {
  // sA = 1; sB = mean distance to (11, 4/3): (√(1 + 16/9) + √(1 + 64/9) + √(4 + 16/9)) / 3.
  const sB = (Math.sqrt(1 + 16 / 9) + Math.sqrt(1 + 64 / 9) + Math.sqrt(4 + 16 / 9)) / 3;
  const dist = Math.hypot(10, 4 / 3);
  const want = (1 + sB) / dist; // both clusters' worst ratio is the same pair
  assertAlmostEquals(daviesBouldin(X, 5, 2, L), want, 1e-12);
  // Three clusters on a line: cluster 1 is closest to both others.
  // {0, 2} s=1 c=1; {5, 7} s=1 c=6; {20, 22} s=1 c=21: ratios 2/5, 2/20, 2/15.
  const db = daviesBouldin([0, 2, 5, 7, 20, 22], 6, 1, [0, 0, 1, 1, 2, 2]);
  assertAlmostEquals(db, (2 / 5 + 2 / 5 + 2 / 15) / 3, 1e-15);
  // Coincident centroids count as infinitely far apart.
  assertEquals(daviesBouldin([0, 2, 1, 1], 4, 1, [0, 0, 1, 1]), 0);
});

Deno.test("internal indices refuse bad shapes and a single cluster, naming the index", () => {
  assertThrows(() => calinskiHarabasz([0, 1, 2], 2, 2, [0, 1]), TypeError, "n * d = 4");
  assertThrows(() => daviesBouldin([0, 1], 2, 1, [0]), TypeError, "expected 2 labels");
  // More labels than points are refused too, not read past.
  assertThrows(() => daviesBouldin([0, 1], 2, 1, [0, 1, 1]), TypeError, "found 3");
  assertThrows(() => withinClusterSS([0, 1, 2], 2, 1, [0, 1]), TypeError, "within-cluster");
  assertThrows(() => withinClusterSS([0, 1], 2, 1, [0]), TypeError, "expected 2 labels");
  assertThrows(() => calinskiHarabasz([0, 1, 2], 3, 1, [4, 4, 4]), RangeError, "Calinski");
  assertThrows(() => calinskiHarabasz([0, 1, 2], 3, 1, [0, 1, 2]), RangeError, "n - 1 = 2");
  assertThrows(() => daviesBouldin([0, 1], 2, 1, [1, 1]), RangeError, "Davies");
});

Deno.test("internal indices and the silhouette refuse a NaN or infinite coordinate, naming the point", () => {
  // NaN drops out of every comparison: it scored silhouette 0 and Davies-Bouldin 0 (the best).
  const x = [0, 0, 2, 0, 10, NaN, 10, 4, 13, 0];
  for (
    const f of [
      () => calinskiHarabasz(x, 5, 2, L),
      () => daviesBouldin(x, 5, 2, L),
      () => withinClusterSS(x, 5, 2, L),
      () => silhouette(Float64Array.from(x), 5, 2, L),
    ]
  ) assertThrows(f, RangeError, "point 2 has NaN at coordinate 1: expected finite values");
  x[5] = 0;
  x[8] = -Infinity;
  assertThrows(
    () => daviesBouldin(x, 5, 2, L),
    RangeError,
    "point 4 has -Infinity at coordinate 0",
  );
  const r = () =>
    evaluateClustering({
      pred: new Int32Array([0, 0, 1, 1, 1]),
      k: 2,
      latent: new Float32Array([NaN, 0, 5, 5.1, 5.2]),
      dim: 1,
    });
  assertThrows(r, RangeError, "the latent code of sample 0 has NaN at coordinate 0");
});

Deno.test("Davies-Bouldin pairs each cluster's spread with the other cluster's, on three unequal clusters", () => {
  // {0, 2}: s = 1, c = 1; {5, 9}: s = 2, c = 7; {20, 20}: s = 0, c = 20. Ratios (s_i + s_j) / d:
  // 3/6, 1/19, 2/13; the worst per cluster 1/2, 1/2, 2/13 (scikit-learn 0.3846153846153846).
  const db = daviesBouldin([0, 2, 5, 9, 20, 20], 6, 1, [0, 0, 1, 1, 2, 2]);
  assertAlmostEquals(db, (1 / 2 + 1 / 2 + 2 / 13) / 3, 1e-15);
});

Deno.test("internal indices name the values found and check the first and last coordinates", () => {
  assertThrows(() => calinskiHarabasz([0, 1, 2], 2, 2, [0, 1]), TypeError, "found 3");
  assertThrows(() => calinskiHarabasz([0, 1, 2], 3, 1, [4, 4, 4]), RangeError, "found 1");
  assertThrows(() => calinskiHarabasz([0, 1, 2], 3, 1, [0, 1, 2]), RangeError, "found 3");
  assertThrows(() => daviesBouldin([0, 1], 2, 1, [1, 1]), RangeError, ">= 2 clusters: found 1");
  const x = [NaN, 0, 2, 0, 10, 0, 10, 4, 13, 0];
  assertThrows(() => daviesBouldin(x, 5, 2, L), RangeError, "point 0 has NaN at coordinate 0");
  x[0] = 0;
  x[9] = Infinity;
  assertThrows(
    () => calinskiHarabasz(x, 5, 2, L),
    RangeError,
    "point 4 has Infinity at coordinate 1",
  );
});
