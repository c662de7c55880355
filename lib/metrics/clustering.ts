/**
 * External clustering metrics: accuracy under the best cluster-to-class
 * matching, normalised mutual information, adjusted Rand index, plus the
 * confusion matrix, cluster sizes and string-label encoding they rely on.
 *
 * Labels are arbitrary integers (classes and clusters are identified by value,
 * not position). Conventions follow scikit-learn.
 *
 * @module
 */

import { hungarian } from "./hungarian.ts";

/** Contingency table of two labellings. */
interface Contingency {
  /** counts[i][j]: samples of truth class i in predicted cluster j. */
  counts: number[][];
  truthClasses: number[];
  predClasses: number[];
  n: number;
}

function contingency(
  truth: ArrayLike<number>,
  pred: ArrayLike<number>,
  what: string,
): Contingency {
  if (truth.length !== pred.length) {
    throw new TypeError(
      `Cannot compute ${what}: truth and pred must have the same length: found ${truth.length} and ${pred.length}`,
    );
  }
  const n = truth.length;
  const tc = uniqueSorted(truth), pc = uniqueSorted(pred);
  const ti = new Map(tc.map((v, i) => [v, i])), pi = new Map(pc.map((v, i) => [v, i]));
  const counts = tc.map(() => new Array<number>(pc.length).fill(0));
  for (let s = 0; s < n; s++) counts[ti.get(truth[s])!][pi.get(pred[s])!]++;
  return { counts, truthClasses: tc, predClasses: pc, n };
}

function uniqueSorted(a: ArrayLike<number>): number[] {
  const set = new Set<number>();
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) {
      throw new RangeError(
        `Cannot read labels: labels must be finite numbers: sample ${i} has label ${a[i]}`,
      );
    }
    set.add(a[i]);
  }
  return [...set].sort((x, y) => x - y);
}

/**
 * Counts samples of each truth class (rows) in each predicted cluster (columns).
 *
 * @param truth True class of each sample.
 * @param pred Predicted cluster of each sample.
 * @returns the matrix and the sorted distinct values labelling its rows and columns.
 * @example
 * ```ts
 * import { confusionMatrix } from "./clustering.ts";
 * const { matrix } = confusionMatrix([0, 0, 1], [5, 7, 7]);
 * if (JSON.stringify(matrix) !== "[[1,1],[0,1]]") throw new Error();
 * ```
 */
export function confusionMatrix(
  truth: ArrayLike<number>,
  pred: ArrayLike<number>,
): { matrix: number[][]; truthClasses: number[]; predClasses: number[] } {
  const c = contingency(truth, pred, "confusion matrix");
  return { matrix: c.counts, truthClasses: c.truthClasses, predClasses: c.predClasses };
}

/**
 * Clustering accuracy: the fraction of samples whose cluster maps to their
 * class under the one-to-one cluster-to-class mapping that maximises it
 * (Hungarian algorithm), as in the DEC paper. With more clusters than classes
 * the unmatched clusters count as wrong.
 *
 * @param truth True class of each sample.
 * @param pred Predicted cluster of each sample.
 * @returns the accuracy in [0, 1] and the mapping from cluster to class.
 * @example
 * ```ts
 * import { clusteringAccuracy } from "./clustering.ts";
 * const { acc, mapping } = clusteringAccuracy([0, 0, 1, 1], [1, 1, 0, 0]);
 * if (acc !== 1 || mapping.get(1) !== 0) throw new Error();
 * ```
 */
export function clusteringAccuracy(
  truth: ArrayLike<number>,
  pred: ArrayLike<number>,
): { acc: number; mapping: Map<number, number> } {
  const c = contingency(truth, pred, "clustering accuracy");
  if (c.n === 0) {
    throw new RangeError(
      "Cannot compute clustering accuracy: at least one sample is needed: found 0",
    );
  }
  // Rows: clusters; columns: classes; cost = -count.
  const cost = c.predClasses.map((_, j) => c.truthClasses.map((_, i) => -c.counts[i][j]));
  const assign = hungarian(cost);
  const mapping = new Map<number, number>();
  let hit = 0;
  assign.forEach((i, j) => {
    if (i < 0) return;
    mapping.set(c.predClasses[j], c.truthClasses[i]);
    hit += c.counts[i][j];
  });
  return { acc: hit / c.n, mapping };
}

function entropy(counts: number[], n: number): number {
  let h = 0;
  for (const a of counts) if (a > 0) h -= (a / n) * Math.log(a / n);
  return h;
}

/**
 * Normalised mutual information with arithmetic-mean normalisation,
 * NMI = I(U; V) / ((H(U) + H(V)) / 2), scikit-learn's default: 1 for
 * identical partitions (up to renaming), 0 for independent ones.
 *
 * @param truth True class of each sample.
 * @param pred Predicted cluster of each sample.
 * @returns NMI in [0, 1].
 * @example
 * ```ts
 * import { nmi } from "./clustering.ts";
 * if (Math.abs(nmi([0, 0, 1, 1], [3, 3, 2, 2]) - 1) > 1e-12) throw new Error();
 * ```
 */
export function nmi(truth: ArrayLike<number>, pred: ArrayLike<number>): number {
  const c = contingency(truth, pred, "NMI");
  const nt = c.truthClasses.length, np = c.predClasses.length;
  // Both labellings trivial and equal (one cluster each, or empty): perfect by convention.
  if (nt === np && (nt === 1 || nt === 0)) return 1;
  const n = c.n;
  const a = c.counts.map((r) => r.reduce((s, v) => s + v, 0));
  const b = c.predClasses.map((_, j) => c.counts.reduce((s, r) => s + r[j], 0));
  let mi = 0;
  for (let i = 0; i < nt; i++) {
    for (let j = 0; j < np; j++) {
      const nij = c.counts[i][j];
      if (nij > 0) mi += (nij / n) * Math.log((n * nij) / (a[i] * b[j]));
    }
  }
  mi = Math.max(mi, 0);
  if (mi === 0) return 0;
  const norm = (entropy(a, n) + entropy(b, n)) / 2;
  return Math.min(1, mi / Math.max(norm, Number.EPSILON));
}

function comb2(x: number): number {
  return (x * (x - 1)) / 2;
}

/**
 * Adjusted Rand index (Hubert and Arabie): the Rand index corrected for
 * chance, 1 for identical partitions, about 0 for random labellings, and
 * negative when agreement is below chance.
 *
 * @param truth True class of each sample.
 * @param pred Predicted cluster of each sample.
 * @returns ARI in [-0.5, 1].
 * @example
 * ```ts
 * import { ari } from "./clustering.ts";
 * if (ari([0, 0, 1, 1], [1, 1, 0, 0]) !== 1) throw new Error();
 * ```
 */
export function ari(truth: ArrayLike<number>, pred: ArrayLike<number>): number {
  const c = contingency(truth, pred, "ARI");
  const nt = c.truthClasses.length, np = c.predClasses.length;
  if (nt === np && (nt <= 1 || nt === c.n)) return 1;
  let sumComb = 0;
  for (const r of c.counts) for (const v of r) sumComb += comb2(v);
  const a = c.counts.map((r) => r.reduce((s, v) => s + v, 0));
  const b = c.predClasses.map((_, j) => c.counts.reduce((s, r) => s + r[j], 0));
  const sumA = a.reduce((s, v) => s + comb2(v), 0), sumB = b.reduce((s, v) => s + comb2(v), 0);
  const expected = (sumA * sumB) / comb2(c.n);
  const max = (sumA + sumB) / 2;
  if (max === expected) return 1;
  return (sumComb - expected) / (max - expected);
}

/**
 * Counts the points in each cluster.
 *
 * @param labels Cluster of each point, integers in [0, k).
 * @param k Number of clusters.
 * @returns `k` counts (empty clusters give 0).
 * @example
 * ```ts
 * import { clusterSizes } from "./clustering.ts";
 * if (clusterSizes([0, 2, 2], 4).join() !== "1,0,2,0") throw new Error();
 * ```
 */
export function clusterSizes(labels: ArrayLike<number>, k: number): number[] {
  if (!Number.isInteger(k) || k < 0) {
    throw new RangeError(
      `Cannot count cluster sizes: k must be an integer >= 0: current value is ${k}`,
    );
  }
  const sizes = new Array<number>(k).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0 || l >= k) {
      throw new RangeError(
        `Cannot count cluster sizes: labels must be integers in [0, ${k}): sample ${i} has label ${l}`,
      );
    }
    sizes[l]++;
  }
  return sizes;
}

/**
 * Encodes string class labels as integer codes, for the metrics above.
 *
 * @param labels Class name of each sample, or null where unknown.
 * @returns the code of each sample (-1 for null) and the class names, sorted,
 *   so that `classes[code]` is the name.
 * @example
 * ```ts
 * import { encodeLabels } from "./clustering.ts";
 * const { codes, classes } = encodeLabels(["quake", null, "noise", "quake"]);
 * if (codes.join() !== "1,-1,0,1" || classes.join() !== "noise,quake") throw new Error();
 * ```
 */
export function encodeLabels(labels: (string | null)[]): { codes: Int32Array; classes: string[] } {
  const classes = [...new Set(labels.filter((l): l is string => l !== null))].sort();
  const index = new Map(classes.map((c, i) => [c, i]));
  const codes = new Int32Array(labels.length);
  labels.forEach((l, i) => codes[i] = l === null ? -1 : index.get(l)!);
  return { codes, classes };
}
