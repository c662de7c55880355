/**
 * Gaussian mixture model fitted by expectation–maximisation, following
 * scikit-learn's `GaussianMixture`: k-means initialisation, EM in log space
 * with log-sum-exp, `regCovar` added to every covariance diagonal, and
 * convergence when the mean log-likelihood changes by less than `tol`.
 *
 * @module
 */

import { drain, drainAsync } from "../util/events.ts";
import { Rng } from "../util/rng.ts";
import { checkFinite, kmeansSteps } from "./kmeans.ts";

/**
 * A `regCovar` in proportion to the data's spread: `rel` times the mean over the dimensions of
 * each dimension's variance (`rel` itself where the points are all equal). scikit-learn's
 * absolute 1e-6 assumes standardised data; latent codes of an undertrained encoder can vary by
 * 1e-9, where it would drown the clusters (ACC 0.50 against 1.00 for the same codes × 100). With
 * this the fit does not depend on the codes' scale.
 *
 * @param x Points, row-major `[n, d]`.
 * @param n Number of points.
 * @param d Dimension.
 * @param rel The share of the mean variance (default 1e-6, scikit-learn's value).
 * @returns the value to pass as {@linkcode GmmOptions.regCovar}.
 * @example
 * ```ts
 * import { relativeRegCovar } from "./gmm.ts";
 * // Variances 1 and 4 (population): mean 2.5.
 * const r = relativeRegCovar(Float64Array.from([-1, -2, 1, 2]), 2, 2);
 * if (Math.abs(r - 2.5e-6) > 1e-18) throw new Error(String(r));
 * ```
 */
export function relativeRegCovar(
  x: Float32Array | Float64Array,
  n: number,
  d: number,
  rel = 1e-6,
): number {
  let total = 0;
  for (let t = 0; t < d; t++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += x[i * d + t];
    m /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (x[i * d + t] - m) ** 2;
    total += v / n;
  }
  const mean = total / d;
  return mean > 0 && Number.isFinite(mean) ? rel * mean : rel;
}

/** Options of {@linkcode gmm}. */
export interface GmmOptions {
  /** Number of components, 1 <= k <= n. */
  k: number;
  /** Covariance type: per-component diagonal or full. Default "full". */
  covariance?: "diag" | "full";
  /** Maximum EM iterations per initialisation. Default 100. */
  maxIter?: number;
  /** Convergence threshold on the change of the mean log-likelihood. Default 1e-3. */
  tol?: number;
  /**
   * Non-negative value added to the covariance diagonals. Default 1e-6, as scikit-learn (for
   * standardised data; {@linkcode relativeRegCovar} scales it to the data).
   */
  regCovar?: number;
  /** Number of initialisations; the best by log-likelihood wins. Default 1. */
  nInit?: number;
  /** Seed of a fresh {@linkcode Rng} when `rng` is not given. Default 0. */
  seed?: number;
  /** Generator to draw from (advanced in place); overrides `seed`. */
  rng?: Rng;
  /** Initialisation of the responsibilities. Only "kmeans" (one k-means run). */
  init?: "kmeans";
}

/** Result of {@linkcode gmm}. */
export interface GmmResult {
  /** Component means, `[k, d]`. */
  means: Float64Array;
  /** Variances `[k, d]` ("diag") or covariance matrices `[k, d, d]` ("full"). */
  covariances: Float64Array;
  /** Mixing weights, `[k]`, summing to 1. */
  weights: Float64Array;
  /** Most probable component of each point, `[n]`. */
  labels: Int32Array;
  /** Posterior probabilities of the components, `[n, k]`; rows sum to 1. */
  resp: Float64Array;
  /** Mean log-likelihood per sample (natural log) under the final parameters. */
  logLikelihood: number;
  /** Whether EM converged within `maxIter` iterations. */
  converged: boolean;
  /** EM iterations run by the winning initialisation. */
  nIter: number;
}

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * Fits a `k`-component Gaussian mixture to `n` points of dimension `d`.
 *
 * @param x Points, row-major `[n, d]`.
 * @param n Number of points.
 * @param d Dimension.
 * @param opts Number of components and solver settings.
 * @returns the fitted parameters, posteriors and labels of the best initialisation.
 * @example
 * ```ts
 * import { gmm } from "./gmm.ts";
 * const x = new Float64Array([0, 0.1, -0.1, 0.05, 5, 5.1, 4.9, 5.05]);
 * const r = gmm(x, 8, 1, { k: 2, covariance: "diag", seed: 1 });
 * if (Math.abs(r.weights[0] - 0.5) > 1e-9) throw new Error("bad weights");
 * ```
 */
export function gmm(
  x: Float32Array | Float64Array,
  n: number,
  d: number,
  opts: GmmOptions,
): GmmResult {
  return drain(gmmSteps(x, n, d, opts));
}

/**
 * {@linkcode gmm}, letting the event loop run between EM iterations (at most every 200 ms), so
 * that Ctrl-C and progress bars are served during a long fit: the same result.
 *
 * @param x Points, row-major `[n, d]`.
 * @param n Number of points.
 * @param d Dimension.
 * @param opts Number of components and solver settings.
 * @returns the fitted parameters, posteriors and labels of the best initialisation.
 * @throws {RangeError} or {TypeError} as {@linkcode gmm} (the promise rejects).
 */
export function gmmAsync(
  x: Float32Array | Float64Array,
  n: number,
  d: number,
  opts: GmmOptions,
): Promise<GmmResult> {
  return drainAsync(gmmSteps(x, n, d, opts));
}

/** {@linkcode gmm} as a generator that pauses after every EM iteration. */
function* gmmSteps(
  x: Float32Array | Float64Array,
  n: number,
  d: number,
  opts: GmmOptions,
): Generator<void, GmmResult> {
  const { k } = opts;
  const covariance = opts.covariance ?? "full";
  const maxIter = opts.maxIter ?? 100, tol = opts.tol ?? 1e-3, reg = opts.regCovar ?? 1e-6;
  const nInit = opts.nInit ?? 1;
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Cannot fit GMM: n must be a positive integer: current value is ${n}`);
  }
  if (!Number.isInteger(d) || d < 1) {
    throw new RangeError(`Cannot fit GMM: d must be a positive integer: current value is ${d}`);
  }
  if (x.length !== n * d) {
    throw new TypeError(`Cannot fit GMM: x must hold n * d = ${n * d} values: found ${x.length}`);
  }
  if (!Number.isInteger(k) || k < 1 || k > n) {
    throw new RangeError(
      `Cannot fit GMM: k must be an integer in [1, n = ${n}]: current value is ${k}`,
    );
  }
  if (covariance !== "diag" && covariance !== "full") {
    throw new RangeError(
      `Cannot fit GMM: covariance must be "diag" or "full": current value is ${covariance}`,
    );
  }
  if ((opts.init ?? "kmeans") !== "kmeans") {
    throw new RangeError(`Cannot fit GMM: init must be "kmeans": current value is ${opts.init}`);
  }
  if (!(reg >= 0)) {
    throw new RangeError(`Cannot fit GMM: regCovar must be >= 0: current value is ${reg}`);
  }
  if (!Number.isInteger(maxIter) || maxIter < 1) {
    throw new RangeError(`Cannot fit GMM: maxIter must be >= 1: current value is ${maxIter}`);
  }
  if (!Number.isInteger(nInit) || nInit < 1) {
    throw new RangeError(`Cannot fit GMM: nInit must be >= 1: current value is ${nInit}`);
  }
  checkFinite(x, d, "Cannot fit GMM");
  const rng = opts.rng ?? new Rng(opts.seed ?? 0);
  const xs = x instanceof Float64Array ? x : Float64Array.from(x);
  const full = covariance === "full";

  let best: GmmResult | null = null;
  for (let run = 0; run < nInit; run++) {
    const km = yield* kmeansSteps(xs, n, d, { k, nInit: 1, rng });
    const resp = new Float64Array(n * k);
    for (let i = 0; i < n; i++) resp[i * k + km.labels[i]] = 1;
    const p = mStep(xs, n, d, k, resp, full, reg);
    let ll = -Infinity, converged = false, it = 0;
    for (it = 1; it <= maxIter; it++) {
      const prev = ll;
      ll = eStep(xs, n, d, k, p, full, resp);
      const next = mStep(xs, n, d, k, resp, full, reg);
      p.means = next.means;
      p.covariances = next.covariances;
      p.weights = next.weights;
      p.chol = next.chol;
      if (Math.abs(ll - prev) < tol) {
        converged = true;
        break;
      }
      yield;
    }
    if (it > maxIter) it = maxIter;
    // A final E-step so that labels and resp agree with the returned parameters.
    ll = eStep(xs, n, d, k, p, full, resp);
    if (best === null || ll > best.logLikelihood) {
      const labels = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        let bj = 0;
        for (let j = 1; j < k; j++) if (resp[i * k + j] > resp[i * k + bj]) bj = j;
        labels[i] = bj;
      }
      best = {
        means: p.means,
        covariances: p.covariances,
        weights: p.weights,
        labels,
        resp,
        logLikelihood: ll,
        converged,
        nIter: it,
      };
    }
  }
  return best!;
}

interface Params {
  means: Float64Array;
  covariances: Float64Array;
  weights: Float64Array;
  /** Lower Cholesky factors `[k, d, d]` (full) or standard deviations `[k, d]` (diag). */
  chol: Float64Array;
}

function mStep(
  x: Float64Array,
  n: number,
  d: number,
  k: number,
  resp: Float64Array,
  full: boolean,
  reg: number,
): Params {
  const nk = new Float64Array(k);
  const means = new Float64Array(k * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const r = resp[i * k + j];
      if (r === 0) continue;
      nk[j] += r;
      for (let t = 0; t < d; t++) means[j * d + t] += r * x[i * d + t];
    }
  }
  // 10 * machine epsilon keeps an empty component finite, as in scikit-learn.
  for (let j = 0; j < k; j++) nk[j] += 10 * Number.EPSILON;
  for (let j = 0; j < k; j++) for (let t = 0; t < d; t++) means[j * d + t] /= nk[j];
  const weights = new Float64Array(k);
  let wsum = 0;
  for (let j = 0; j < k; j++) wsum += nk[j];
  for (let j = 0; j < k; j++) weights[j] = nk[j] / wsum;
  const diff = new Float64Array(d);
  let covariances: Float64Array, chol: Float64Array;
  if (full) {
    covariances = new Float64Array(k * d * d);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < k; j++) {
        const r = resp[i * k + j];
        if (r === 0) continue;
        for (let t = 0; t < d; t++) diff[t] = x[i * d + t] - means[j * d + t];
        const base = j * d * d;
        for (let a = 0; a < d; a++) {
          const ra = r * diff[a];
          for (let b = 0; b <= a; b++) covariances[base + a * d + b] += ra * diff[b];
        }
      }
    }
    chol = new Float64Array(k * d * d);
    for (let j = 0; j < k; j++) {
      const base = j * d * d;
      for (let a = 0; a < d; a++) {
        for (let b = 0; b <= a; b++) {
          const v = covariances[base + a * d + b] / nk[j] + (a === b ? reg : 0);
          covariances[base + a * d + b] = v;
          covariances[base + b * d + a] = v;
        }
      }
      cholesky(covariances, base, d, chol, j);
    }
  } else {
    covariances = new Float64Array(k * d);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < k; j++) {
        const r = resp[i * k + j];
        if (r === 0) continue;
        for (let t = 0; t < d; t++) {
          const e = x[i * d + t] - means[j * d + t];
          covariances[j * d + t] += r * e * e;
        }
      }
    }
    chol = new Float64Array(k * d);
    for (let j = 0; j < k * d; j++) {
      covariances[j] = covariances[j] / nk[Math.floor(j / d)] + reg;
      chol[j] = Math.sqrt(covariances[j]);
    }
  }
  return { means, covariances, weights, chol };
}

/** Lower Cholesky factor of the `d × d` matrix at `a[base..]`, into `l[j * d * d..]`. */
function cholesky(a: Float64Array, base: number, d: number, l: Float64Array, j: number): void {
  const lb = j * d * d;
  for (let r = 0; r < d; r++) {
    for (let c = 0; c <= r; c++) {
      let s = a[base + r * d + c];
      for (let t = 0; t < c; t++) s -= l[lb + r * d + t] * l[lb + c * d + t];
      if (r === c) {
        if (!(s > 0)) {
          throw new RangeError(
            `Cannot fit GMM: covariance of component ${j} is not positive definite: ` +
              `increase regCovar (pivot ${r} is ${s})`,
          );
        }
        l[lb + r * d + r] = Math.sqrt(s);
      } else {
        l[lb + r * d + c] = s / l[lb + c * d + c];
      }
    }
  }
}

/** Fills `resp` with the posteriors; returns the mean log-likelihood. */
function eStep(
  x: Float64Array,
  n: number,
  d: number,
  k: number,
  p: Params,
  full: boolean,
  resp: Float64Array,
): number {
  const { means, weights, chol } = p;
  // Per-component constant: log w - d/2 log 2π - 1/2 log det Σ.
  const cst = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    let logDet = 0;
    for (let t = 0; t < d; t++) {
      logDet += 2 * Math.log(full ? chol[j * d * d + t * d + t] : chol[j * d + t]);
    }
    cst[j] = Math.log(weights[j]) - 0.5 * (d * LOG_2PI + logDet);
  }
  const y = new Float64Array(d);
  let total = 0;
  for (let i = 0; i < n; i++) {
    let mx = -Infinity;
    for (let j = 0; j < k; j++) {
      let q = 0;
      if (full) {
        // Solve L y = x - μ by forward substitution; the Mahalanobis term is |y|².
        const lb = j * d * d;
        for (let r = 0; r < d; r++) {
          let s = x[i * d + r] - means[j * d + r];
          for (let t = 0; t < r; t++) s -= chol[lb + r * d + t] * y[t];
          y[r] = s / chol[lb + r * d + r];
          q += y[r] * y[r];
        }
      } else {
        for (let t = 0; t < d; t++) {
          const e = (x[i * d + t] - means[j * d + t]) / chol[j * d + t];
          q += e * e;
        }
      }
      const lp = cst[j] - 0.5 * q;
      resp[i * k + j] = lp;
      if (lp > mx) mx = lp;
    }
    let s = 0;
    for (let j = 0; j < k; j++) s += Math.exp(resp[i * k + j] - mx);
    const lse = mx + Math.log(s);
    for (let j = 0; j < k; j++) resp[i * k + j] = Math.exp(resp[i * k + j] - lse);
    total += lse;
  }
  return total / n;
}
