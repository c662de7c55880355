/**
 * Finite-difference gradient checking, for testing analytic backward passes (CPU and GPU).
 *
 * @module
 */

import { Rng } from "../util/rng.ts";

/**
 * Central-difference gradient `(f(x + eps·e_i) − f(x − eps·e_i)) / (2·eps)` for every i.
 * x is perturbed in place and restored exactly after each coordinate.
 *
 * @param f Scalar function of x.
 * @param x Point at which to differentiate.
 * @param eps Step (default 1e-6: truncation error O(eps²·f''') and rounding error
 *   O(1e-16·|f|/eps) are then both about 1e-10 relative for O(1) functions).
 * @returns the numeric gradient, same length as x.
 * @throws {RangeError} if eps is not a positive finite number.
 * @example
 * ```ts
 * import { numericGrad } from "./gradcheck.ts";
 * const g = numericGrad((x) => x[0] * x[0] + 3 * x[1], new Float64Array([2, 5]));
 * if (Math.abs(g[0] - 4) > 1e-6 || Math.abs(g[1] - 3) > 1e-6) throw new Error(String(g));
 * ```
 */
export function numericGrad(
  f: (x: Float64Array) => number,
  x: Float64Array,
  eps = 1e-6,
): Float64Array {
  checkEps(eps);
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) g[i] = partial(f, x, i, eps);
  return g;
}

function partial(f: (x: Float64Array) => number, x: Float64Array, i: number, eps: number): number {
  const x0 = x[i];
  x[i] = x0 + eps;
  const fp = f(x);
  x[i] = x0 - eps;
  const fm = f(x);
  x[i] = x0;
  return (fp - fm) / (2 * eps);
}

function checkEps(eps: number): void {
  if (!(eps > 0) || !Number.isFinite(eps)) {
    throw new RangeError(
      `Cannot compute numeric gradient: eps must be > 0: current value is ${eps}`,
    );
  }
}

/** Options of {@linkcode checkGrad}. */
export interface CheckGradOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
  /** Relative tolerance, against |numeric| (default 1e-5). */
  rtol?: number;
  /** Check only this many coordinates, drawn without replacement (default: all). */
  sample?: number;
  /** Seed of the coordinate sample (default 0). */
  seed?: number;
}

/** Result of {@linkcode checkGrad}. */
export interface CheckGradResult {
  /** Largest |analytic − numeric| over the checked coordinates. */
  maxAbsErr: number;
  /** Largest |analytic − numeric| / max(|analytic|, |numeric|) (0 where both are 0). */
  maxRelErr: number;
  /** Coordinate where |analytic − numeric| − rtol·|numeric| is largest, or -1 if none checked. */
  worstIndex: number;
}

/**
 * Compares an analytic gradient with central differences of f at x and throws if any checked
 * coordinate has `|analytic − numeric| > atol + rtol·|numeric|`.
 *
 * @param f Scalar function of x.
 * @param analytic The gradient under test, same length as x.
 * @param x Point of evaluation (perturbed during the check, then restored).
 * @param opts Step, tolerances and optional coordinate sampling.
 * @returns the error statistics (when the check passes).
 * @throws {Error} naming the worst coordinate when the tolerance is exceeded.
 * @throws {TypeError} if analytic and x differ in length.
 * @example
 * ```ts
 * import { checkGrad } from "./gradcheck.ts";
 * const x = new Float64Array([1, -2, 3]);
 * const f = (v: Float64Array) => v[0] * v[1] + Math.sin(v[2]);
 * const r = checkGrad(f, new Float64Array([-2, 1, Math.cos(3)]), x);
 * if (r.maxAbsErr > 1e-6) throw new Error();
 * ```
 */
export function checkGrad(
  f: (x: Float64Array) => number,
  analytic: ArrayLike<number>,
  x: Float64Array,
  opts: CheckGradOptions = {},
): CheckGradResult {
  const { eps = 1e-6, atol = 1e-6, rtol = 1e-5, seed = 0 } = opts;
  checkEps(eps);
  if (analytic.length !== x.length) {
    throw new TypeError(
      `Cannot check gradient: analytic must have ${x.length} elements like x: current length is ${analytic.length}`,
    );
  }
  let idx: ArrayLike<number>;
  if (opts.sample !== undefined && opts.sample < x.length) {
    if (!Number.isInteger(opts.sample) || opts.sample < 1) {
      throw new RangeError(
        `Cannot check gradient: sample must be a positive integer: current value is ${opts.sample}`,
      );
    }
    idx = new Rng(seed).permutation(x.length).subarray(0, opts.sample).sort();
  } else {
    idx = Uint32Array.from({ length: x.length }, (_, i) => i);
  }
  let maxAbsErr = 0, maxRelErr = 0, worstIndex = -1, worstExcess = -Infinity;
  let worstNum = 0;
  for (let t = 0; t < idx.length; t++) {
    const i = idx[t];
    const num = partial(f, x, i, eps), ana = analytic[i];
    const err = Math.abs(ana - num);
    const scale = Math.max(Math.abs(ana), Math.abs(num));
    const rel = scale === 0 ? 0 : err / scale;
    const excess = err - rtol * Math.abs(num);
    if (!(err <= maxAbsErr)) maxAbsErr = err;
    if (!(rel <= maxRelErr)) maxRelErr = rel;
    if (worstIndex < 0 || !(excess <= worstExcess)) {
      worstExcess = excess;
      worstIndex = i;
      worstNum = num;
    }
  }
  if (worstIndex >= 0 && !(worstExcess <= atol)) {
    throw new Error(
      `Gradient check failed: coordinate ${worstIndex}: analytic ${
        analytic[worstIndex]
      }, numeric ${worstNum} (|diff| ${
        Math.abs(analytic[worstIndex] - worstNum).toExponential(3)
      } > atol ${atol} + rtol ${rtol}·|numeric|)`,
    );
  }
  return { maxAbsErr, maxRelErr, worstIndex };
}

/**
 * Seeded uniform random values, for reproducible test inputs.
 *
 * @param n Number of values.
 * @param seed Seed of the {@linkcode Rng}.
 * @param lo Lower bound (inclusive), default -2.
 * @param hi Upper bound (exclusive), default 2.
 * @returns n values uniform in [lo, hi).
 * @example
 * ```ts
 * import { randomArray } from "./gradcheck.ts";
 * const a = randomArray(4, 1), b = randomArray(4, 1);
 * if (a.join() !== b.join() || a.some((v) => v < -2 || v >= 2)) throw new Error();
 * ```
 */
export function randomArray(n: number, seed: number, lo = -2, hi = 2): Float64Array {
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(
      `Cannot make random array: n must be an integer >= 0: current value is ${n}`,
    );
  }
  const r = new Rng(seed);
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = r.uniform(lo, hi);
  return a;
}
