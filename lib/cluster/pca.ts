/**
 * Principal component analysis onto two axes, for scatter plots of latent
 * codes. For d <= 64 the `d × d` covariance is diagonalised by cyclic Jacobi
 * rotations (exact); for wider data (raw spectrograms, thousands of values per
 * point) the two leading axes come from power iteration with deflation, fitted on
 * at most 2000 points, which costs O(n·d) per iteration instead of O(d³). Either way
 * each axis is signed so that its largest-magnitude entry is positive (scikit-learn's
 * `svd_flip` convention for PCA components), so the same data gives the same picture
 * whatever its width.
 *
 * @module
 */

/**
 * Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations.
 *
 * @param a Symmetric matrix, row-major `[d, d]` (not modified).
 * @param d Order of the matrix.
 * @returns eigenvalues in descending order and the matching unit eigenvectors as
 *   the rows of `vectors` (`[d, d]`), each signed so that its largest-magnitude
 *   entry is positive.
 * @example
 * ```ts
 * import { symmetricEigen } from "./pca.ts";
 * const { values } = symmetricEigen(new Float64Array([2, 1, 1, 2]), 2);
 * if (Math.abs(values[0] - 3) > 1e-12 || Math.abs(values[1] - 1) > 1e-12) throw new Error();
 * ```
 */
export function symmetricEigen(
  a: Float64Array,
  d: number,
): { values: Float64Array; vectors: Float64Array } {
  if (a.length !== d * d) {
    throw new TypeError(`Cannot diagonalise matrix: expected ${d * d} values: found ${a.length}`);
  }
  const m = a.slice();
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0, diag = 0;
    for (let p = 0; p < d; p++) {
      diag += m[p * d + p] * m[p * d + p];
      for (let q = p + 1; q < d; q++) off += m[p * d + q] * m[p * d + q];
    }
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = m[p * d + q];
        if (apq === 0) continue;
        const theta = (m[q * d + q] - m[p * d + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let r = 0; r < d; r++) {
          const mrp = m[r * d + p], mrq = m[r * d + q];
          m[r * d + p] = c * mrp - s * mrq;
          m[r * d + q] = s * mrp + c * mrq;
        }
        for (let r = 0; r < d; r++) {
          const mpr = m[p * d + r], mqr = m[q * d + r];
          m[p * d + r] = c * mpr - s * mqr;
          m[q * d + r] = s * mpr + c * mqr;
        }
        for (let r = 0; r < d; r++) {
          const vrp = v[r * d + p], vrq = v[r * d + q];
          v[r * d + p] = c * vrp - s * vrq;
          v[r * d + q] = s * vrp + c * vrq;
        }
      }
    }
  }
  const order = Array.from({ length: d }, (_, i) => i).sort((i, j) => m[j * d + j] - m[i * d + i]);
  const values = new Float64Array(d), vectors = new Float64Array(d * d);
  order.forEach((col, row) => {
    values[row] = m[col * d + col];
    for (let r = 0; r < d; r++) vectors[row * d + r] = v[r * d + col];
    flipSign(vectors.subarray(row * d, (row + 1) * d));
  });
  return { values, vectors };
}

/**
 * Signs an axis so that its largest-magnitude entry is positive (the first of equal ones), as
 * scikit-learn's `svd_flip(u_based_decision=False)` signs PCA components: an eigenvector's
 * sign is otherwise arbitrary, and the plots would mirror between methods or runs.
 *
 * @param v The axis, changed in place.
 */
function flipSign(v: Float64Array): void {
  let big = 0;
  for (let r = 0; r < v.length; r++) if (Math.abs(v[r]) > Math.abs(big)) big = v[r];
  if (big < 0) { for (let r = 0; r < v.length; r++) v[r] = -v[r]; }
}

/**
 * Projects `n` points of dimension `d` onto their first two principal axes.
 *
 * @param x Points, row-major `[n, d]`.
 * @param n Number of points.
 * @param d Dimension (with d = 1 the second coordinate is 0).
 * @returns the coordinates along the first (`x`) and second (`y`) principal axes,
 *   of the mean-centred points, each axis signed so that its largest-magnitude entry is
 *   positive; and the fraction of the points' total variance along each axis (`explained`,
 *   scikit-learn's `explained_variance_ratio_`; 0 for points that do not spread).
 * @example
 * ```ts
 * import { pca2 } from "./pca.ts";
 * const { x, y } = pca2(new Float32Array([0, 0, 0, 2, 0, 0, 4, 0, 1]), 3, 3);
 * if (Math.abs(Math.abs(x[0]) - 2) > 0.2 || y.length !== 3) throw new Error();
 * ```
 */
export function pca2(
  x: Float32Array | Float64Array,
  n: number,
  d: number,
): { x: Float64Array; y: Float64Array; explained: [number, number] } {
  if (x.length !== n * d) {
    throw new TypeError(`Cannot run PCA: x must hold n * d = ${n * d} values: found ${x.length}`);
  }
  if (n < 1 || d < 1) {
    throw new RangeError(`Cannot run PCA: n and d must be >= 1: current values are ${n}, ${d}`);
  }
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) mean[t] += x[i * d + t];
  for (let t = 0; t < d; t++) mean[t] /= n;
  if (d > 64) return project(x, n, d, mean, powerAxes(x, n, d, mean));
  const cov = new Float64Array(d * d);
  const e = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < d; t++) e[t] = x[i * d + t] - mean[t];
    for (let a = 0; a < d; a++) for (let b = 0; b <= a; b++) cov[a * d + b] += e[a] * e[b];
  }
  for (let a = 0; a < d; a++) {
    for (let b = 0; b <= a; b++) {
      cov[a * d + b] /= Math.max(n - 1, 1);
      cov[b * d + a] = cov[a * d + b];
    }
  }
  const { vectors } = symmetricEigen(cov, d);
  return project(x, n, d, mean, vectors);
}

function project(
  x: Float32Array | Float64Array,
  n: number,
  d: number,
  mean: Float64Array,
  vectors: Float64Array,
): { x: Float64Array; y: Float64Array; explained: [number, number] } {
  const px = new Float64Array(n), py = new Float64Array(n);
  let total = 0, v0 = 0, v1 = 0;
  for (let i = 0; i < n; i++) {
    let s0 = 0, s1 = 0;
    for (let t = 0; t < d; t++) {
      const v = x[i * d + t] - mean[t];
      total += v * v;
      s0 += v * vectors[t];
      if (d > 1) s1 += v * vectors[d + t];
    }
    px[i] = s0;
    py[i] = s1;
    v0 += s0 * s0;
    v1 += s1 * s1;
  }
  // Of all the points' spread, not only of the ≤ 2000 the wide path fitted its axes on.
  const explained: [number, number] = total > 0 ? [v0 / total, v1 / total] : [0, 0];
  return { x: px, y: py, explained };
}

/** The two leading principal axes (rows of a [2, d] array) by power iteration with deflation. */
function powerAxes(
  x: Float32Array | Float64Array,
  n: number,
  d: number,
  mean: Float64Array,
): Float64Array {
  const m = Math.min(n, 2000);
  const step = n / m;
  const rows = Array.from({ length: m }, (_, i) => Math.floor(i * step));
  const e = new Float64Array(m * d);
  rows.forEach((r, i) => {
    for (let t = 0; t < d; t++) e[i * d + t] = x[r * d + t] - mean[t];
  });
  const axes = new Float64Array(2 * d);
  const proj = new Float64Array(m);
  for (let c = 0; c < 2; c++) {
    const v = axes.subarray(c * d, (c + 1) * d);
    for (let t = 0; t < d; t++) v[t] = Math.sin(1 + t * (c + 1)); // deterministic start
    for (let it = 0; it < 100; it++) {
      // v ← Eᵀ(E v), deflated against the axes already found.
      for (let i = 0; i < m; i++) {
        let s = 0;
        for (let t = 0; t < d; t++) s += e[i * d + t] * v[t];
        proj[i] = s;
      }
      const w = new Float64Array(d);
      for (let i = 0; i < m; i++) {
        const p = proj[i];
        if (p !== 0) { for (let t = 0; t < d; t++) w[t] += p * e[i * d + t]; }
      }
      for (let q = 0; q < c; q++) {
        const u = axes.subarray(q * d, (q + 1) * d);
        let dot = 0;
        for (let t = 0; t < d; t++) dot += w[t] * u[t];
        for (let t = 0; t < d; t++) w[t] -= dot * u[t];
      }
      let norm = 0;
      for (let t = 0; t < d; t++) norm += w[t] * w[t];
      norm = Math.sqrt(norm);
      if (norm === 0) break;
      let delta = 0;
      for (let t = 0; t < d; t++) {
        const nv = w[t] / norm;
        delta = Math.max(delta, Math.abs(nv - v[t]));
        v[t] = nv;
      }
      if (delta < 1e-7) break;
    }
    // The sign power iteration lands on follows its start vector; fix it as symmetricEigen does.
    flipSign(v);
  }
  return axes;
}
