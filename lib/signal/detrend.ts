/**
 * Mean and linear-trend removal.
 *
 * @module
 */

/**
 * Removes the mean in place.
 *
 * @param x Samples.
 * @returns the same array.
 * @example
 * ```ts
 * import { demean } from "./detrend.ts";
 * const x = demean(new Float64Array([1, 2, 3]));
 * if (x[0] !== -1 || x[2] !== 1) throw new Error();
 * ```
 */
export function demean(x: Float64Array): Float64Array {
  if (x.length === 0) return x;
  let m = 0;
  for (let i = 0; i < x.length; i++) m += x[i];
  m /= x.length;
  for (let i = 0; i < x.length; i++) x[i] -= m;
  return x;
}

/**
 * Removes the least-squares straight line in place.
 *
 * @param x Samples.
 * @returns the same array.
 * @example
 * ```ts
 * import { detrendLinear } from "./detrend.ts";
 * const x = detrendLinear(new Float64Array([1, 3, 5, 7]));
 * if (Math.max(...x.map(Math.abs)) > 1e-12) throw new Error();
 * ```
 */
export function detrendLinear(x: Float64Array): Float64Array {
  const n = x.length;
  if (n < 2) return demean(x);
  const tm = (n - 1) / 2;
  let sxy = 0, sxx = 0, m = 0;
  for (let i = 0; i < n; i++) m += x[i];
  m /= n;
  for (let i = 0; i < n; i++) {
    const t = i - tm;
    sxy += t * (x[i] - m);
    sxx += t * t;
  }
  const slope = sxy / sxx;
  for (let i = 0; i < n; i++) x[i] -= m + slope * (i - tm);
  return x;
}
