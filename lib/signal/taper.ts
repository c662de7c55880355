/**
 * Cosine (Tukey) tapers, as ObsPy's `Trace.taper(max_percentage)` with its default
 * `type="hann"`: w_i = ½(1 − cos(πi/m)), i < m = ⌊max_percentage·npts⌋, at each end.
 * (`type="cosine"` is one sample shorter: ½(1 − cos(πi/(m − 1))) reaches 1 at i = m − 1.)
 *
 * @module
 */

/**
 * Tapers both ends of a trace in place with a half-cosine.
 *
 * @param x Samples.
 * @param fraction Fraction of the trace tapered at EACH end, in [0, 0.5] (ObsPy's
 *   `max_percentage`; default 0.05).
 * @returns the same array.
 * @throws {RangeError} when the fraction is outside [0, 0.5].
 * @example
 * ```ts
 * import { cosineTaper } from "./taper.ts";
 * const x = cosineTaper(new Float64Array(100).fill(1), 0.1);
 * if (x[0] !== 0 || x[50] !== 1) throw new Error();
 * ```
 */
export function cosineTaper(x: Float64Array, fraction = 0.05): Float64Array {
  if (!(fraction >= 0 && fraction <= 0.5)) {
    throw new RangeError(
      `Cannot taper: fraction must be in [0, 0.5]: current value is ${fraction}`,
    );
  }
  const n = x.length;
  const m = Math.floor(fraction * n);
  if (m < 1) return x;
  for (let i = 0; i < m; i++) {
    const w = 0.5 * (1 - Math.cos(Math.PI * i / m));
    x[i] *= w;
    x[n - 1 - i] *= w;
  }
  return x;
}

/**
 * The four-corner frequency-domain taper of ObsPy's `pre_filt` (f1 < f2 < f3 < f4):
 * 0 below f1, a cosine rise to 1 at f2, 1 up to f3, a cosine fall to 0 at f4.
 *
 * @param f Frequency, Hz.
 * @param corners `[f1, f2, f3, f4]`, Hz.
 * @returns the taper's value in [0, 1].
 */
export function cosineSpectralTaper(f: number, corners: readonly number[]): number {
  const [f1, f2, f3, f4] = corners;
  if (f <= f1 || f >= f4) return 0;
  if (f < f2) return 0.5 * (1 - Math.cos(Math.PI * (f - f1) / (f2 - f1)));
  if (f <= f3) return 1;
  return 0.5 * (1 + Math.cos(Math.PI * (f - f3) / (f4 - f3)));
}
