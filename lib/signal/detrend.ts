/**
 * Mean and linear-trend removal.
 *
 * @module
 */

/** Refuses a sample that is not finite: it would turn every sample into NaN without a word. */
function checkFinite(op: string, x: Float64Array): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      throw new RangeError(
        `Cannot ${op}: sample ${i} of ${x.length} is ${x[i]}: expected finite values`,
      );
    }
  }
}

/**
 * Removes the mean in place.
 *
 * @param x Samples, finite.
 * @returns the same array.
 * @throws {RangeError} naming the first sample that is NaN or infinite.
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
  // A NaN or infinite sample makes the sum NaN or infinite (so may finite samples whose sum
  // overflows, which the check lets through): the samples are checked only then, in one pass
  // less.
  if (!Number.isFinite(m)) checkFinite("demean", x);
  m /= x.length;
  for (let i = 0; i < x.length; i++) x[i] -= m;
  return x;
}

/**
 * Removes the least-squares straight line in place: the line fitted to the samples against
 * their index (as `numpy.polyfit(arange(n), x, 1)`, or ObsPy's `detrend("linear")`). One
 * sample becomes 0 (its mean), two become 0 (the line through them).
 *
 * @param x Samples, finite.
 * @returns the same array.
 * @throws {RangeError} naming the first sample that is NaN or infinite.
 * @example
 * ```ts
 * import { detrendLinear } from "./detrend.ts";
 * const x = detrendLinear(new Float64Array([1, 3, 5, 7]));
 * if (Math.max(...x.map(Math.abs)) > 1e-12) throw new Error();
 * ```
 */
export function detrendLinear(x: Float64Array): Float64Array {
  const n = x.length;
  if (n < 2) {
    checkFinite("detrend", x);
    return demean(x);
  }
  const tm = (n - 1) / 2;
  let sxy = 0, sxx = 0, m = 0;
  for (let i = 0; i < n; i++) m += x[i];
  // As in demean: a non-finite sum is what a non-finite sample gives.
  if (!Number.isFinite(m)) checkFinite("detrend", x);
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
