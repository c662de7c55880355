import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../_assert.ts";
import { evaluateClustering, formatReport } from "../../lib/metrics/report.ts";

Deno.test("evaluateClustering scores only labelled samples and reports sizes and silhouette", () => {
  const pred = new Int32Array([0, 0, 1, 1, 2, 2]);
  const truth = ["eq", "eq", "noise", null, "noise", null];
  const latent = new Float32Array([0, 0, 0, 1, 3, 0, 3, 1, 9, 0, 9, 1]);
  const r = evaluateClustering({ pred, k: 3, truth, latent, dim: 2 });
  assertEquals(r.n, 6);
  assertEquals(r.sizes, [2, 2, 2]);
  assertEquals(r.labelled, 4);
  assertEquals(r.classes, ["eq", "noise"]);
  assertEquals(r.confusion, [[2, 0, 0], [0, 1, 1]]);
  // Labelled: truth eq eq noise noise, pred 0 0 1 2: best matching hits 3 of 4.
  assertEquals(r.acc, 0.75);
  assertEquals(r.clusterToClass!.filter((c) => c !== null).length, 2);
  assertEquals(r.clusterToClass![0], "eq");
  assert(r.nmi! > 0 && r.nmi! < 1);
  assert(r.ari! > 0 && r.ari! < 1);
  assert(r.silhouette !== null && r.silhouette > 0.5);
  // Centroids (0, .5), (3, .5), (9, .5), mean (4, .5): B = 2·(16 + 1 + 25) = 84, W = 6·0.25;
  // CH = (84 / 2) / (1.5 / 3) = 84. DB: s = 0.5 each, worst ratios 1/3, 1/3, 1/6: 5/18.
  assertAlmostEquals(r.calinskiHarabasz!, 84, 1e-12);
  assertAlmostEquals(r.daviesBouldin!, 5 / 18, 1e-12);
  assert(formatReport(r).includes("Calinski-Harabasz (latent) 84.000"), formatReport(r));
});

Deno.test("evaluateClustering without truth or latent reports sizes only", () => {
  const r = evaluateClustering({ pred: new Int32Array([1, 1, 1]), k: 2 });
  assertEquals(r.sizes, [0, 3]);
  assertEquals([r.acc, r.nmi, r.ari, r.confusion, r.silhouette], [null, null, null, null, null]);
  // One used cluster: no silhouette even with latent codes.
  const s = evaluateClustering({
    pred: new Int32Array([1, 1, 1]),
    k: 2,
    latent: new Float32Array(3),
    dim: 1,
  });
  assertEquals([s.silhouette, s.calinskiHarabasz, s.daviesBouldin], [null, null, null]);
});

Deno.test("evaluateClustering reports no silhouette when its 4,000-point sample misses a cluster", () => {
  // 5,000 codes, one of them an outlier in a cluster of its own (what a collapsing DEC run or an
  // outlier's k-means cluster gives): the sample misses it 1 time in 5, which used to throw.
  const n = 5000;
  const latent = new Float32Array(n).map((_, i) => (i % 97) / 97);
  latent[n - 1] = 1e4;
  const pred = new Int32Array(n);
  pred[n - 1] = 1;
  const sil = Array.from({ length: 12 }, (_, seed) => {
    const r = evaluateClustering({ pred, k: 2, latent, dim: 1, seed });
    assert(r.calinskiHarabasz !== null && r.daviesBouldin !== null);
    return r.silhouette;
  });
  assert(sil.includes(null), JSON.stringify(sil));
  assert(sil.some((v) => v !== null && v > 0.9), JSON.stringify(sil));
});

Deno.test("formatReport prints scores and a confusion table with class rows and cluster columns", () => {
  const r = evaluateClustering({
    pred: new Int32Array([0, 0, 1, 1, 1]),
    k: 2,
    truth: ["earthquake", "earthquake", "noise", "noise", "earthquake"],
  });
  const text = formatReport(r);
  assertAlmostEquals(r.acc!, 0.8, 1e-15);
  assert(text.includes("ACC 0.8000"), text);
  const lines = text.split("\n");
  const head = lines.find((l) => /\bc0\s+c1\b/.test(l));
  assert(head !== undefined, text);
  const eq = lines.find((l) => l.startsWith("earthquake"))!;
  assertEquals(eq.trim().split(/\s+/), ["earthquake", "2", "1", "3"]);
  const noise = lines.find((l) => l.startsWith("noise"))!;
  assertEquals(noise.trim().split(/\s+/), ["noise", "0", "2", "2"]);
  // Counts right-aligned under their cluster's column, names left-aligned.
  assertEquals(lines.slice(5, 10), [
    "                    c0     c1  total",
    "size                 2      3      5",
    "----------  ----------  -----  -----",
    "earthquake           2      1      3",
    "noise                0      2      2",
  ]);
});

Deno.test("formatReport on a dataset without labels says so instead of n/a scores and an empty matrix", () => {
  const r = evaluateClustering({
    pred: new Int32Array([0, 0, 1]),
    k: 2,
    truth: [null, null, null],
  });
  const text = formatReport(r);
  assert(text.includes("Labelled samples: 0 of 3: no ACC, NMI, ARI or confusion matrix"), text);
  assert(!text.includes("n/a") && !text.includes("confusion matrix (rows"), text);
  // The sizes stay.
  assert(text.includes("Cluster sizes\n"), text);
  assertEquals(text.split("\n").find((l) => l.startsWith("size"))!.split(/\s+/), [
    "size",
    "2",
    "1",
    "3",
  ]);
});

Deno.test("evaluateClustering maps each cluster to its class, not to the class of its index; one sample a cluster has no CH or DB", () => {
  const r = evaluateClustering({
    pred: new Int32Array([1, 1, 0, 0]),
    k: 2,
    truth: ["a", "a", "b", "b"],
  });
  assertEquals(r.clusterToClass, ["b", "a"]);
  const lines = formatReport(r).split("\n");
  const size = lines.findIndex((l) => l.startsWith("size"));
  // The rule under the size row sets it apart from the class rows; the last row maps clusters.
  assert(/^-+(\s+-+)+$/.test(lines[size + 1]), lines.join("\n"));
  assertEquals(lines.find((l) => l.startsWith("-> class"))!.split(/\s+/).slice(2), ["b", "a"]);
  const each = evaluateClustering({
    pred: new Int32Array([0, 1, 2]),
    k: 3,
    latent: new Float32Array([0, 1, 5]),
    dim: 1,
  });
  assertEquals([each.silhouette, each.calinskiHarabasz, each.daviesBouldin], [null, null, null]);
});

Deno.test("formatReport writes its score lines and heading word for word and ends in one newline", () => {
  const r = evaluateClustering({
    pred: new Int32Array([0, 0, 1, 1, 2, 2]),
    k: 3,
    truth: ["eq", "eq", "noise", null, "noise", null],
    latent: new Float32Array([0, 0, 0, 1, 3, 0, 3, 1, 9, 0, 9, 1]),
    dim: 2,
  });
  const text = formatReport(r);
  const lines = text.split("\n");
  assertEquals(lines.slice(0, 6), [
    "Clustering of 6 samples into k = 3 clusters",
    "Labelled samples: 4 of 6 (2 classes)",
    `ACC 0.7500   NMI ${r.nmi!.toFixed(4)}   ARI ${r.ari!.toFixed(4)}`,
    `Silhouette (latent) ${r.silhouette!.toFixed(4)}`,
    // Calinski-Harabasz has no fixed scale: 5 significant digits.
    "Calinski-Harabasz (latent) 84.000   Davies-Bouldin (latent) 0.2778",
    "",
  ]);
  assertEquals(lines[6], "Cluster sizes and confusion matrix (rows: classes, columns: clusters)");
  assert(text.endsWith("\n") && !text.endsWith("\n\n"), text);
  // Without truth there is no line about labelled samples.
  const plain = formatReport(evaluateClustering({ pred: new Int32Array([0, 1]), k: 2 }));
  assertEquals(plain.split("\n").slice(0, 3), [
    "Clustering of 2 samples into k = 2 clusters",
    "",
    "Cluster sizes",
  ]);
});

Deno.test("evaluateClustering refuses truth, dim and latent codes that do not fit, naming what it found", () => {
  const pred = new Int32Array([0, 1, 0, 1]);
  const ev = (o: object) => () => evaluateClustering({ pred, k: 2, ...o });
  assertThrows(
    ev({ truth: ["a", "b", "a", "b", "a"] }),
    TypeError,
    "expected 4 truth labels: found 5",
  );
  for (const dim of [0, 1.5]) {
    assertThrows(
      ev({ latent: new Float32Array(4 * dim), dim }),
      TypeError,
      `dim must be a positive integer with latent: found ${dim}`,
    );
  }
  assertThrows(
    ev({ latent: new Float32Array(5), dim: 1 }),
    TypeError,
    "latent must hold n * dim = 4 values: found 5",
  );
  const latent = new Float32Array(8);
  latent[5] = NaN;
  assertThrows(
    ev({ latent, dim: 2 }),
    RangeError,
    "the latent code of sample 2 has NaN at coordinate 1",
  );
});

Deno.test("evaluateClustering gives no silhouette, rather than throwing, with 4,000 clusters or more among more than 4,000 samples", () => {
  // 4,002 samples in 4,001 clusters: a 4,000-point sample would hold one cluster per point.
  const n = 4002, k = 4001;
  const pred = new Int32Array(n).map((_, i) => Math.min(i, k - 1));
  const latent = new Float32Array(n).map((_, i) => i);
  const r = evaluateClustering({ pred, k, latent, dim: 1 });
  assertEquals(r.silhouette, null);
  assert(r.calinskiHarabasz !== null && r.daviesBouldin !== null);
});
