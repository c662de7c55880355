import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../_assert.ts";
import {
  ari,
  clusteringAccuracy,
  clusterSizes,
  confusionMatrix,
  encodeLabels,
  nmi,
} from "../../lib/metrics/clustering.ts";
import { Rng } from "../../lib/util/rng.ts";

Deno.test("clusteringAccuracy is 1 on a permuted labelling and maps clusters to classes", () => {
  const truth = [0, 0, 1, 1, 2, 2, 2];
  const pred = [7, 7, 3, 3, 5, 5, 5];
  const { acc, mapping } = clusteringAccuracy(truth, pred);
  assertEquals(acc, 1);
  assertEquals([...mapping.entries()].sort(), [[3, 1], [5, 2], [7, 0]]);
});

Deno.test("clusteringAccuracy refuses no samples (0 / 0)", () => {
  assertThrows(() => clusteringAccuracy([], []), RangeError, "at least one sample");
});

Deno.test("clusteringAccuracy on a hand-worked case: one error in six is 5/6", () => {
  assertEquals(clusteringAccuracy([0, 0, 0, 1, 1, 1], [1, 1, 0, 0, 0, 0]).acc, 5 / 6);
  // Three clusters for two classes: the smallest cluster (one point) is unmatched and wrong.
  assertEquals(clusteringAccuracy([0, 0, 0, 1, 1, 1], [0, 0, 2, 1, 1, 1]).acc, 5 / 6);
  // The greedy choice (cluster 0 -> class 0, 3 hits) is not optimal.
  const truth = [0, 0, 0, 1, 1, 0, 0];
  const pred = [0, 0, 0, 0, 0, 1, 1];
  // Cluster 0 holds class 0 x3, class 1 x2; cluster 1 holds class 0 x2.
  // Options: 0->0, 1->1: 3; 0->1, 1->0: 2 + 2 = 4. Best 4/7.
  assertEquals(clusteringAccuracy(truth, pred).acc, 4 / 7);
});

Deno.test("nmi and ari on a hand-worked 2x2 contingency table", () => {
  // truth [0,0,1,1], pred [0,0,0,1]: table [[2,0],[1,1]], rows sums a = (2,2), columns b = (3,1).
  const truth = [0, 0, 1, 1], pred = [0, 0, 0, 1];
  const mi = 0.5 * Math.log(4 / 3) + 0.25 * Math.log(2 / 3) + 0.25 * Math.log(2);
  const hU = Math.log(2), hV = -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25));
  assertAlmostEquals(nmi(truth, pred), mi / ((hU + hV) / 2), 1e-14);
  assertAlmostEquals(nmi(truth, pred), 0.3437110184854508, 1e-12); // the same, from Python
  // ARI: sum C(nij,2) = 1; sum C(a,2) = 2; sum C(b,2) = 3; expected = 2 * 3 / C(4,2) = 1;
  // max = (2 + 3) / 2 = 2.5; ARI = (1 - 1) / (2.5 - 1) = 0.
  assertEquals(ari(truth, pred), 0);
});

Deno.test("nmi and ari are 1 for identical partitions up to renaming", () => {
  const t = [0, 0, 1, 1, 2, 2, 2, 3];
  const p = [9, 9, 4, 4, 1, 1, 1, 0];
  assertAlmostEquals(nmi(t, p), 1, 1e-12);
  assertAlmostEquals(ari(t, p), 1, 1e-12);
  assertEquals(nmi([1, 1, 1], [2, 2, 2]), 1);
  assertEquals(ari([1, 1, 1], [2, 2, 2]), 1);
  // Here I/H rounds to 1 + 2^-52 (the entropies and the information sum in different orders);
  // NMI stays in [0, 1].
  const u = [1, 1, 4, 3, 3, 0, 1, 3, 1, 2];
  assertEquals(nmi(u, u.map((v) => 10 - v)), 1);
});

Deno.test("nmi is 0 and ari is negative for an exactly independent 2x2 labelling", () => {
  // Table [[1,1],[1,1]]: mutual information 0. ARI: index 0, expected 2 * 2 / 6, max 2:
  // (0 - 2/3) / (2 - 2/3) = -1/2.
  assertEquals(nmi([0, 0, 1, 1], [0, 1, 0, 1]), 0);
  assertAlmostEquals(ari([0, 0, 1, 1], [0, 1, 0, 1]), -0.5, 1e-15);
});

Deno.test("ari and nmi are near 0 for large independent random labellings", () => {
  const r = new Rng(3);
  const n = 20000;
  const t = Array.from({ length: n }, () => r.int(4)),
    p = Array.from({ length: n }, () => r.int(5));
  // ARI has sd ~ 1/n here; NMI's bias is ~ (4-1)(5-1) / (2 n H) ~ 2e-4.
  assertAlmostEquals(ari(t, p), 0, 2e-3);
  assertAlmostEquals(nmi(t, p), 0, 2e-3);
});

Deno.test("confusionMatrix counts classes by rows and clusters by columns", () => {
  const { matrix, truthClasses, predClasses } = confusionMatrix([2, 2, 0, 0, 0], [1, 3, 3, 3, 1]);
  assertEquals(truthClasses, [0, 2]);
  assertEquals(predClasses, [1, 3]);
  assertEquals(matrix, [[1, 2], [1, 1]]);
  assertThrows(() => confusionMatrix([1], [1, 2]), TypeError, "same length");
});

Deno.test("clusterSizes counts empty clusters and rejects out-of-range labels", () => {
  assertEquals(clusterSizes(new Int32Array([0, 0, 3]), 5), [2, 0, 0, 1, 0]);
  assertThrows(() => clusterSizes([0, 5], 5), RangeError, "[0, 5)");
  assertThrows(() => clusterSizes([0, -1], 5), RangeError, "sample 1 has label -1");
  assertThrows(() => clusterSizes([0, 1.5], 5), RangeError, "sample 1 has label 1.5");
  assertThrows(() => clusterSizes([0], 2.5), RangeError, "k must be an integer >= 0");
  assertThrows(() => clusterSizes([0], -1), RangeError, "k must be an integer >= 0");
});

Deno.test("encodeLabels gives sorted classes and -1 for unknown", () => {
  const { codes, classes } = encodeLabels(["lf", null, "eq", "lf", "tremor", null]);
  assertEquals(classes, ["eq", "lf", "tremor"]);
  assertEquals(codes, new Int32Array([1, -1, 0, 1, 2, -1]));
});

Deno.test("ari on a table whose row and column pair counts differ: scikit-learn's 4/7", () => {
  // truth [0,0,1,2], pred [0,0,1,1]: sum C(nij,2) = 1; rows (2,1,1) give 1 pair, columns (2,2)
  // give 2; expected = 1 * 2 / C(4,2) = 1/3; max = (1 + 2) / 2 = 3/2; ARI = (2/3) / (7/6).
  // (scikit-learn's adjusted_rand_score docstring: 0.57...)
  assertAlmostEquals(ari([0, 0, 1, 2], [0, 0, 1, 1]), 4 / 7, 1e-15);
  assertAlmostEquals(ari([0, 0, 1, 1], [0, 0, 1, 2]), 4 / 7, 1e-15);
});

Deno.test("nmi is 0 when only one side is a single cluster", () => {
  // Mutual information is 0 whenever one labelling is constant; only both constant gives 1.
  assertEquals(nmi([0, 0, 1, 1], [3, 3, 3, 3]), 0);
  assertEquals(nmi([5, 5, 5, 5], [0, 1, 0, 1]), 0);
  assertEquals(ari([0, 0, 1, 1], [3, 3, 3, 3]), 0);
});

Deno.test("the metrics refuse truth longer than pred and name both lengths", () => {
  assertThrows(() => nmi([0, 1, 1], [0, 1]), TypeError, "found 3 and 2");
  assertThrows(() => ari([0, 1, 1], [0, 1]), TypeError, "found 3 and 2");
  assertThrows(() => clusteringAccuracy([0, 1, 1], [0, 1]), TypeError, "found 3 and 2");
});

Deno.test("the metrics refuse a NaN or infinite label and name it", () => {
  // NaN is a Map key like any other: unchecked, it would be scored as a class of its own.
  assertThrows(() => nmi([0, 1], [NaN, 1]), RangeError, "sample 0 has label NaN");
  assertThrows(() => ari([0, 1, Infinity], [0, 1, 1]), RangeError, "sample 2 has label Infinity");
  assertThrows(
    () => clusteringAccuracy([0, -Infinity, 1], [0, 1, 1]),
    RangeError,
    "sample 1 has label -Infinity",
  );
});

Deno.test("confusionMatrix orders classes and clusters by value, not as text", () => {
  const { matrix, truthClasses, predClasses } = confusionMatrix([10, 9, 2, 10], [-1, 5, 10, 5]);
  assertEquals(truthClasses, [2, 9, 10]);
  assertEquals(predClasses, [-1, 5, 10]);
  assertEquals(matrix, [[0, 0, 1], [0, 1, 0], [1, 1, 0]]);
});

Deno.test("nmi and ari of no samples and of one sample are 1, as scikit-learn", () => {
  assertEquals(nmi([], []), 1);
  assertEquals(ari([], []), 1);
  assertEquals(nmi([4], [7]), 1);
  assertEquals(ari([4], [7]), 1);
});

Deno.test("nmi counts every cluster when there are more clusters than classes", () => {
  // Table [[1,1,0],[0,0,2]]: I = ln 2, H(U) = ln 2, H(V) = 1.5 ln 2: NMI = 1 / 1.25 (scikit-learn
  // 0.7999999999999999). Both orders, since the clusters are the columns.
  assertAlmostEquals(nmi([0, 0, 1, 1], [0, 1, 2, 2]), 0.8, 1e-15);
  assertAlmostEquals(nmi([0, 1, 2, 2], [0, 0, 1, 1]), 0.8, 1e-15);
});

Deno.test("nmi is not negative where rounding makes the information sum negative", () => {
  // Table [[10000, 9999], [9999, 9998]] (ad - bc = -1): I is about 1e-17, and its terms sum to
  // -1.8e-17 in Float64. scikit-learn clips it to 0 too (and gives 7e-16).
  const t: number[] = [], p: number[] = [];
  for (const [i, j, c] of [[0, 0, 10000], [0, 1, 9999], [1, 0, 9999], [1, 1, 9998]]) {
    for (let s = 0; s < c; s++) t.push(i), p.push(j);
  }
  const v = nmi(t, p);
  assert(v >= 0 && v < 1e-12, String(v));
});

Deno.test("clusteringAccuracy maps a cluster tied between classes to the first class, as SciPy", () => {
  // Every cluster holds one sample of each class: all matchings hit 2 of 4.
  const tied = clusteringAccuracy([0, 1, 0, 1], [0, 0, 1, 1]);
  assertEquals(tied.acc, 0.5);
  assertEquals([...tied.mapping.entries()].sort(), [[0, 0], [1, 1]]);
  // One cluster, three classes of two samples: the cluster takes the smallest class value.
  const one = clusteringAccuracy([4, 4, 5, 5, 6, 6], [0, 0, 0, 0, 0, 0]);
  assertAlmostEquals(one.acc, 1 / 3, 1e-15);
  assertEquals([...one.mapping.entries()], [[0, 4]]);
});

Deno.test("clusterSizes of no labels and k = 0 is empty", () => {
  assertEquals(clusterSizes([], 0), []);
  assertThrows(() => clusterSizes([0], 0), RangeError, "[0, 0): sample 0 has label 0");
});
