/**
 * Deep Embedded Clustering (Xie, Girshick & Farhadi 2016) in Float64: Student's t soft
 * assignment q, the sharpened target distribution p, KL(p ‖ q) and its gradients with respect
 * to the embeddings z `[n, d]` and the centroids mu `[k, d]`.
 *
 * Gradient derivation (p held constant). With `d²_ij = |z_i − mu_j|²`,
 * `w_ij = (1 + d²_ij/α)^−1`, `log k_ij = −((α+1)/2)·log(1 + d²_ij/α)` and
 * `q_ij = k_ij / Σ_j' k_ij'`:
 *
 * - `∂ log k_ij / ∂z_i = −((α+1)/α)·w_ij·(z_i − mu_j) =: g_ij`, and `∂ log k_ij / ∂mu_j = −g_ij`.
 * - `∂ log q_ij / ∂z_i = g_ij − Σ_j' q_ij'·g_ij'`, and
 *   `∂ log q_ij' / ∂mu_j = (δ_jj' − q_ij)·(−g_ij)`.
 * - `L = (1/N) Σ_ij p_ij (log p_ij − log q_ij)`, so with `s_i = Σ_j p_ij`:
 *   `∂L/∂z_i = ((α+1)/α)(1/N) Σ_j w_ij (p_ij − s_i·q_ij)(z_i − mu_j)` and
 *   `∂L/∂mu_j = −((α+1)/α)(1/N) Σ_i w_ij (p_ij − s_i·q_ij)(z_i − mu_j)`.
 *
 * When the rows of p sum to 1 (as {@linkcode targetDistribution} makes them) s_i = 1 and these
 * are the formulas of the DEC paper, scaled by 1/N for PyTorch's "batchmean" reduction.
 *
 * @module
 */

import { checkLength, checkSize, f64, output } from "./_check.ts";

function checkAlpha(op: string, alpha: number): void {
  if (typeof alpha !== "number" || !(alpha > 0) || !Number.isFinite(alpha)) {
    throw new RangeError(`Cannot run ${op}: alpha must be > 0: current value is ${alpha}`);
  }
}

function checkNkd(op: string, n: number, k: number, d?: number): void {
  checkSize(op, "n", n);
  checkSize(op, "k", k);
  if (d !== undefined) checkSize(op, "d", d);
}

/** The least soft assignment: 2^-126, f32's smallest normal number. */
export const Q_MIN = 2 ** -126;

/**
 * Student's t soft assignment of embeddings to centroids:
 * `q_ij = (1 + |z_i − mu_j|²/α)^(−(α+1)/2) / Σ_j' (same for j')`.
 *
 * Computed from the log kernel with the row maximum subtracted before exponentiation, so
 * rows stay finite and normalised even when every distance is huge. A q below f32's smallest
 * normal ({@linkcode Q_MIN}, from a far centre at a large α) is raised to it, as on WebGPU, so
 * that log q, and the KL loss against a target that is not 0 there, stays finite.
 *
 * @param z Embeddings `[n, d]`.
 * @param mu Centroids `[k, d]`.
 * @param n Number of embeddings.
 * @param k Number of clusters.
 * @param d Embedding dimension.
 * @param alpha Degrees of freedom of the t kernel, > 0 (DEC uses 1).
 * @param out Optional destination of length n·k, overwritten.
 * @returns q `[n, k]`, each row summing to 1.
 * @throws {TypeError} on a bad size or length.
 * @throws {RangeError} if alpha is not > 0.
 * @example
 * ```ts
 * import { softAssign } from "./dec.ts";
 * // z = 0 with centroids at 0 and 1: kernels 1 and 1/2, so q = [2/3, 1/3].
 * const q = softAssign([0], [0, 1], 1, 2, 1, 1);
 * if (Math.abs(q[0] - 2 / 3) > 1e-15 || Math.abs(q[1] - 1 / 3) > 1e-15) throw new Error();
 * ```
 */
export function softAssign(
  z: ArrayLike<number>,
  mu: ArrayLike<number>,
  n: number,
  k: number,
  d: number,
  alpha: number,
  out?: Float64Array,
): Float64Array {
  const op = "softAssign";
  checkNkd(op, n, k, d);
  checkAlpha(op, alpha);
  checkLength(op, "z", z, n * d, `[${n},${d}]`);
  checkLength(op, "mu", mu, k * d, `[${k},${d}]`);
  const Z = f64(z), M = f64(mu);
  const q = output(op, out, n * k);
  const e = -(alpha + 1) / 2;
  for (let i = 0; i < n; i++) {
    const zi = i * d, qi = i * k;
    let max = -Infinity;
    for (let j = 0; j < k; j++) {
      const mj = j * d;
      let d2 = 0;
      for (let t = 0; t < d; t++) {
        const v = Z[zi + t] - M[mj + t];
        d2 += v * v;
      }
      const l = e * Math.log1p(d2 / alpha);
      q[qi + j] = l;
      if (l > max) max = l;
    }
    let s = 0;
    for (let j = 0; j < k; j++) {
      const v = Math.exp(q[qi + j] - max);
      q[qi + j] = v;
      s += v;
    }
    const inv = 1 / s;
    // At least f32's smallest normal, as the WGSL kernel (a GPU may flush subnormals to 0).
    for (let j = 0; j < k; j++) q[qi + j] = Math.max(q[qi + j] * inv, Q_MIN);
  }
  return q;
}

/**
 * DEC target distribution: `p_ij = (q_ij²/f_j) / Σ_j' (q_ij'²/f_j')` with cluster
 * frequencies `f_j = Σ_i q_ij`. A cluster with f_j = 0 (all its q are 0) contributes 0.
 *
 * @param q Soft assignments `[n, k]`, non-negative.
 * @param n Number of rows.
 * @param k Number of clusters.
 * @param out Optional destination of length n·k, overwritten.
 * @returns p `[n, k]`, each row summing to 1.
 * @throws {TypeError} on a bad size or length.
 * @throws {RangeError} if a row of q is all zero.
 * @example
 * ```ts
 * import { targetDistribution } from "./dec.ts";
 * // One row [0.75, 0.25]: f = q, so p ∝ q²/q = q and p equals q.
 * const p = targetDistribution([0.75, 0.25], 1, 2);
 * if (Math.abs(p[0] - 0.75) > 1e-15) throw new Error();
 * ```
 */
export function targetDistribution(
  q: ArrayLike<number>,
  n: number,
  k: number,
  out?: Float64Array,
): Float64Array {
  const op = "targetDistribution";
  checkNkd(op, n, k);
  checkLength(op, "q", q, n * k, `[${n},${k}]`);
  const Q = f64(q);
  const bad = Q.findIndex(Number.isNaN);
  if (bad >= 0) throw new RangeError(`Cannot run ${op}: q holds NaN in row ${Math.floor(bad / k)}`);
  const f = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) f[j] += Q[i * k + j];
  }
  const p = output(op, out, n * k);
  for (let i = 0; i < n; i++) {
    const r = i * k;
    let s = 0;
    for (let j = 0; j < k; j++) {
      // f_j = 0 (the column underflowed): p = 0; a NaN propagates.
      const v = f[j] !== 0 ? Q[r + j] * (Q[r + j] / f[j]) : 0;
      p[r + j] = v;
      s += v;
    }
    if (!(s > 0)) {
      throw new RangeError(
        `Cannot run ${op}: every row of q must have a positive entry: row ${i} sums to ${s}`,
      );
    }
    for (let j = 0; j < k; j++) p[r + j] /= s;
  }
  return p;
}

/**
 * `KL(p ‖ q) = (1/N) Σ_ij p_ij·(log p_ij − log q_ij)`, like PyTorch
 * `kl_div(q.log(), p, reduction="batchmean")`. Terms with p_ij = 0 contribute 0; a term with
 * p_ij > 0 and q_ij = 0 makes the result +Infinity.
 *
 * @param p Target distribution `[n, k]`.
 * @param q Soft assignments `[n, k]`.
 * @param n Number of rows (the batch size N).
 * @param k Number of clusters.
 * @returns the divergence, averaged over rows.
 * @throws {TypeError} on a bad size or length.
 * @example
 * ```ts
 * import { klDivergence } from "./dec.ts";
 * const kl = klDivergence([1, 0], [0.5, 0.5], 1, 2);
 * if (Math.abs(kl - Math.log(2)) > 1e-15) throw new Error();
 * ```
 */
export function klDivergence(
  p: ArrayLike<number>,
  q: ArrayLike<number>,
  n: number,
  k: number,
): number {
  const op = "klDivergence";
  checkNkd(op, n, k);
  checkLength(op, "p", p, n * k, `[${n},${k}]`);
  checkLength(op, "q", q, n * k, `[${n},${k}]`);
  let s = 0;
  for (let i = 0; i < n * k; i++) {
    const pv = p[i];
    if (pv !== 0) s += pv * (Math.log(pv) - Math.log(q[i]));
  }
  return s / n;
}

/** Gradients returned by {@linkcode klGrad}. */
export interface KlGrad {
  /** ∂KL/∂z, `[n, d]`. */
  gz: Float64Array;
  /** ∂KL/∂mu, `[k, d]`. */
  gmu: Float64Array;
}

/**
 * Gradients of {@linkcode klDivergence}`(p, softAssign(z, mu))` with respect to z and mu,
 * holding p constant (see the module doc for the derivation):
 * `gz_i = ((α+1)/α)(1/N) Σ_j w_ij (p_ij − s_i q_ij)(z_i − mu_j)`,
 * `gmu_j = −((α+1)/α)(1/N) Σ_i w_ij (p_ij − s_i q_ij)(z_i − mu_j)`,
 * with `w_ij = (1 + |z_i − mu_j|²/α)^−1` and `s_i = Σ_j p_ij` (1 for a target distribution).
 *
 * @param z Embeddings `[n, d]`.
 * @param mu Centroids `[k, d]`.
 * @param p Target distribution `[n, k]` (constant).
 * @param q Soft assignments `[n, k]`, as returned by softAssign(z, mu, n, k, d, alpha).
 * @param n Number of embeddings (the batch size N).
 * @param k Number of clusters.
 * @param d Embedding dimension.
 * @param alpha Degrees of freedom, > 0.
 * @returns `{ gz, gmu }`.
 * @throws {TypeError} on a bad size or length.
 * @throws {RangeError} if alpha is not > 0.
 */
export function klGrad(
  z: ArrayLike<number>,
  mu: ArrayLike<number>,
  p: ArrayLike<number>,
  q: ArrayLike<number>,
  n: number,
  k: number,
  d: number,
  alpha: number,
): KlGrad {
  const op = "klGrad";
  checkNkd(op, n, k, d);
  checkAlpha(op, alpha);
  checkLength(op, "z", z, n * d, `[${n},${d}]`);
  checkLength(op, "mu", mu, k * d, `[${k},${d}]`);
  checkLength(op, "p", p, n * k, `[${n},${k}]`);
  checkLength(op, "q", q, n * k, `[${n},${k}]`);
  const Z = f64(z), M = f64(mu), P = f64(p), Q = f64(q);
  const gz = new Float64Array(n * d), gmu = new Float64Array(k * d);
  const c0 = (alpha + 1) / alpha / n;
  for (let i = 0; i < n; i++) {
    const zi = i * d, r = i * k;
    let si = 0;
    for (let j = 0; j < k; j++) si += P[r + j];
    for (let j = 0; j < k; j++) {
      const mj = j * d;
      let d2 = 0;
      for (let t = 0; t < d; t++) {
        const v = Z[zi + t] - M[mj + t];
        d2 += v * v;
      }
      const c = c0 * (P[r + j] - si * Q[r + j]) / (1 + d2 / alpha);
      for (let t = 0; t < d; t++) {
        const g = c * (Z[zi + t] - M[mj + t]);
        gz[zi + t] += g;
        gmu[mj + t] -= g;
      }
    }
  }
  return { gz, gmu };
}
