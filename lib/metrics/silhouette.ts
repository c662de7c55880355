/**
 * Silhouette coefficient, an internal clustering metric needing no truth.
 *
 * @module
 */

import { Rng } from "../util/rng.ts";
import { checkPoints } from "./_points.ts";

/** Options of {@linkcode silhouette}. */
export interface SilhouetteOptions {
  /** Above this many points, score a seeded random sample of this size. Default 4000. */
  sampleSize?: number;
  /** Seed of the sample. Default 0. */
  seed?: number;
}

/**
 * Mean silhouette coefficient with Euclidean distance. For point i, a is its
 * mean distance to the other points of its cluster, b the smallest mean
 * distance to the points of another cluster, and s = (b − a) / max(a, b)
 * (0 for a point alone in its cluster). Near 1: compact, well-separated
 * clusters; near 0: overlapping; negative: points closer to another cluster.
 *
 * Exact (O(n²)) when n <= `sampleSize`; otherwise computed on a seeded random
 * sample of `sampleSize` points, like scikit-learn's `sample_size`. NaN when that
 * sample holds a single cluster (the others too small to be drawn), or one cluster per point.
 *
 * @param x Points, row-major `[n, d]`.
 * @param n Number of points.
 * @param d Dimension.
 * @param labels Cluster of each point (any integers).
 * @param opts Sample size and seed.
 * @returns the mean silhouette in [-1, 1], or NaN (see above).
 * @example
 * ```ts
 * import { silhouette } from "./silhouette.ts";
 * const s = silhouette(new Float64Array([0, 1, 10, 11]), 4, 1, [0, 0, 1, 1]);
 * // Point 0: a = 1, b = (10 + 11) / 2; point 1: a = 1, b = (9 + 10) / 2; 2 and 3 mirror them.
 * if (Math.abs(s - (9.5 / 10.5 + 8.5 / 9.5) / 2) > 1e-12) throw new Error(String(s));
 * ```
 */
export function silhouette(
  x: Float32Array | Float64Array,
  n: number,
  d: number,
  labels: ArrayLike<number>,
  opts: SilhouetteOptions = {},
): number {
  checkPoints("silhouette", x, n, d, labels);
  const sampleSize = opts.sampleSize ?? 4000;
  if (!Number.isInteger(sampleSize) || sampleSize < 2) {
    throw new RangeError(
      `Cannot compute silhouette: sampleSize must be an integer >= 2: current value is ${sampleSize}`,
    );
  }
  let idx: Uint32Array;
  if (n <= sampleSize) {
    idx = new Uint32Array(n);
    for (let i = 0; i < n; i++) idx[i] = i;
  } else {
    idx = new Rng(opts.seed ?? 0).permutation(n).subarray(0, sampleSize);
  }
  const m = idx.length;
  const codes = new Map<number, number>();
  const lab = new Int32Array(m);
  for (let s = 0; s < m; s++) {
    const l = labels[idx[s]];
    if (!codes.has(l)) codes.set(l, codes.size);
    lab[s] = codes.get(l)!;
  }
  const k = codes.size;
  // A sample can miss every cluster but one (a tiny cluster or an outlier's among thousands), or,
  // as small as 2 or 3 points, draw each from another cluster: the index is then undefined on
  // it, which is not the caller's error (unless every point is a cluster of its own).
  if (m < n && (k < 2 || (k > m - 1 && new Set(Array.from(labels)).size < n))) return NaN;
  if (k < 2 || k > m - 1) {
    throw new RangeError(
      `Cannot compute silhouette: the number of clusters must be in [2, ${m - 1}]: found ${k}`,
    );
  }
  const pts = new Float64Array(m * d);
  for (let s = 0; s < m; s++) for (let t = 0; t < d; t++) pts[s * d + t] = x[idx[s] * d + t];
  const size = new Float64Array(k);
  for (let s = 0; s < m; s++) size[lab[s]]++;
  // sums[i * k + c]: total distance from point i to the points of cluster c.
  const sums = new Float64Array(m * k);
  for (let i = 0; i < m; i++) {
    const li = lab[i];
    for (let j = i + 1; j < m; j++) {
      let q = 0;
      for (let t = 0; t < d; t++) {
        const e = pts[i * d + t] - pts[j * d + t];
        q += e * e;
      }
      const dist = Math.sqrt(q);
      sums[i * k + lab[j]] += dist;
      sums[j * k + li] += dist;
    }
  }
  let total = 0;
  for (let i = 0; i < m; i++) {
    const li = lab[i];
    if (size[li] <= 1) continue; // s = 0 for a singleton
    const a = sums[i * k + li] / (size[li] - 1);
    let b = Infinity;
    for (let c = 0; c < k; c++) {
      if (c !== li) b = Math.min(b, sums[i * k + c] / size[c]);
    }
    const den = Math.max(a, b);
    total += den > 0 ? (b - a) / den : 0;
  }
  return total / m;
}
