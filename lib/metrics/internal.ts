/**
 * Internal clustering indices that need no truth, beside the silhouette: the Calinski–Harabasz
 * variance ratio and the Davies–Bouldin index, as scikit-learn defines them. With the
 * silhouette and a GMM's BIC they score the candidate numbers of clusters of `init --k A:B`.
 *
 * @module
 */
import { checkPoints } from "./_points.ts";

/** Per cluster (labels renumbered in order of appearance): sizes and centroids. */
function centroids(
  x: ArrayLike<number>,
  n: number,
  d: number,
  labels: ArrayLike<number>,
): { code: Int32Array; sizes: number[]; c: Float64Array[] } {
  const codes = new Map<number, number>();
  const code = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (!codes.has(l)) codes.set(l, codes.size);
    code[i] = codes.get(l)!;
  }
  const k = codes.size;
  const sizes = new Array(k).fill(0);
  const c = Array.from({ length: k }, () => new Float64Array(d));
  for (let i = 0; i < n; i++) {
    sizes[code[i]]++;
    for (let t = 0; t < d; t++) c[code[i]][t] += x[i * d + t];
  }
  for (let j = 0; j < k; j++) for (let t = 0; t < d; t++) c[j][t] /= sizes[j];
  return { code, sizes, c };
}

/**
 * Within-cluster sum of squares: Σ_i ‖x_i − c_{l(i)}‖², c_j the mean of cluster j (k-means'
 * inertia when the labels are its assignment to converged centres).
 *
 * @param x Points, row-major `[n, d]`.
 * @param n Number of points.
 * @param d Dimension.
 * @param labels Cluster of each point (any integers).
 * @returns the sum.
 * @example
 * ```ts
 * import { withinClusterSS } from "./internal.ts";
 * if (withinClusterSS([0, 2, 10, 12], 4, 1, [0, 0, 1, 1]) !== 4) throw new Error();
 * ```
 */
export function withinClusterSS(
  x: ArrayLike<number>,
  n: number,
  d: number,
  labels: ArrayLike<number>,
): number {
  checkPoints("the within-cluster sum of squares", x, n, d, labels);
  return within(x, n, d, centroids(x, n, d, labels));
}

function within(
  x: ArrayLike<number>,
  n: number,
  d: number,
  { code, c }: { code: Int32Array; c: Float64Array[] },
): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < d; t++) s += (x[i * d + t] - c[code[i]][t]) ** 2;
  }
  return s;
}

/**
 * Calinski–Harabasz index: the between-cluster dispersion over the within-cluster
 * dispersion, each per degree of freedom, `[B / (k − 1)] / [W / (n − k)]`, with
 * B = Σ_j n_j ‖c_j − c‖² and W = Σ_i ‖x_i − c_{l(i)}‖². Higher is better. 1 when W = 0 (as
 * scikit-learn).
 *
 * @param x Points, row-major `[n, d]`.
 * @param n Number of points.
 * @param d Dimension.
 * @param labels Cluster of each point (any integers); 2 <= clusters <= n − 1.
 * @returns the index.
 * @example
 * ```ts
 * import { calinskiHarabasz } from "./internal.ts";
 * // Clusters {0, 2} and {10, 12}: B = 2·5² + 2·5² = 100, W = 4·1² = 4; (100/1) / (4/2) = 50.
 * if (calinskiHarabasz([0, 2, 10, 12], 4, 1, [0, 0, 1, 1]) !== 50) throw new Error();
 * ```
 */
export function calinskiHarabasz(
  x: ArrayLike<number>,
  n: number,
  d: number,
  labels: ArrayLike<number>,
): number {
  checkPoints("the Calinski-Harabasz index", x, n, d, labels);
  const cs = centroids(x, n, d, labels), { sizes, c } = cs;
  const k = sizes.length;
  if (k < 2 || k > n - 1) {
    throw new RangeError(
      `Cannot compute the Calinski-Harabasz index: expected 2 to n - 1 = ${
        n - 1
      } clusters: found ${k}`,
    );
  }
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) mean[t] += x[i * d + t] / n;
  let between = 0;
  for (let j = 0; j < k; j++) {
    for (let t = 0; t < d; t++) between += sizes[j] * (c[j][t] - mean[t]) ** 2;
  }
  const w = within(x, n, d, cs);
  return w === 0 ? 1 : (between * (n - k)) / (w * (k - 1));
}

/**
 * Davies–Bouldin index: the mean over clusters of the worst ratio `(s_i + s_j) / ‖c_i − c_j‖`,
 * where s_i is the mean distance of cluster i's points to its centroid. Lower is better; 0
 * for clusters that are points. Coincident centroids count as infinitely far apart (as
 * scikit-learn).
 *
 * @param x Points, row-major `[n, d]`.
 * @param n Number of points.
 * @param d Dimension.
 * @param labels Cluster of each point (any integers); at least 2 clusters.
 * @returns the index.
 * @example
 * ```ts
 * import { daviesBouldin } from "./internal.ts";
 * // Clusters {0, 2} and {10, 12}: s = 1 each, centroids 1 and 11: (1 + 1) / 10 = 0.2.
 * if (Math.abs(daviesBouldin([0, 2, 10, 12], 4, 1, [0, 0, 1, 1]) - 0.2) > 1e-15) throw new Error();
 * ```
 */
export function daviesBouldin(
  x: ArrayLike<number>,
  n: number,
  d: number,
  labels: ArrayLike<number>,
): number {
  checkPoints("the Davies-Bouldin index", x, n, d, labels);
  const { code, sizes, c } = centroids(x, n, d, labels);
  const k = sizes.length;
  if (k < 2) {
    throw new RangeError(
      `Cannot compute the Davies-Bouldin index: expected >= 2 clusters: found ${k}`,
    );
  }
  const s = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    let dd = 0;
    for (let t = 0; t < d; t++) dd += (x[i * d + t] - c[code[i]][t]) ** 2;
    s[code[i]] += Math.sqrt(dd) / sizes[code[i]];
  }
  let sum = 0;
  for (let i = 0; i < k; i++) {
    let worst = 0;
    for (let j = 0; j < k; j++) {
      if (j === i) continue;
      let dd = 0;
      for (let t = 0; t < d; t++) dd += (c[i][t] - c[j][t]) ** 2;
      const dist = Math.sqrt(dd);
      if (dist > 0) worst = Math.max(worst, (s[i] + s[j]) / dist);
    }
    sum += worst;
  }
  return sum / k;
}
