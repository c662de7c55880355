/**
 * The preprocessing chain of one trace, in the order ObsPy users apply it:
 * demean + linear detrend, cosine taper, instrument response removal with a
 * cosine pre-filter, resampling (anti-aliased), Butterworth band-pass, taper.
 *
 * @module
 */
import { demean, detrendLinear } from "./detrend.ts";
import { cosineTaper } from "./taper.ts";
import { type GroundOutput, type InstrumentResponse, removeResponse } from "./response.ts";
import { resample } from "./resample.ts";
import { bandpass } from "./filter.ts";

/** Options of {@linkcode preprocessTrace}. */
export interface PreprocessOptions {
  /** Target sampling rate, Hz. */
  samplingRate: number;
  /** Demean and remove a linear trend (default true). */
  detrend?: boolean;
  /** Taper fraction at each end before response removal (default 0.05). */
  taper?: number;
  /** Response to remove, or null to keep counts. */
  response?: InstrumentResponse | null;
  /** Pre-filter corners, Hz, or null. */
  preFilt?: readonly number[] | null;
  /** Water level, dB, or null. */
  waterLevel?: number | null;
  /** Ground motion out. */
  output?: GroundOutput;
  /**
   * Time of the first output sample after the first input sample, s (default 0): see
   * {@linkcode resample}'s `offset`.
   */
  resampleOffset?: number;
  /** Band-pass after resampling, or null. */
  bandpass?: { freqmin: number; freqmax: number; order?: number; zerophase?: boolean } | null;
  /** Taper fraction at each end after the band-pass (default 0.05). */
  postTaper?: number;
}

/**
 * Preprocesses one trace.
 *
 * @param x Samples (not modified).
 * @param fs Their sampling rate, Hz.
 * @param opts The chain's settings.
 * @returns the processed trace at `opts.samplingRate`, starting at the same time (plus
 *   `resampleOffset`).
 * @throws {RangeError} for band-pass corners outside (0, Nyquist of the target rate).
 */
export function preprocessTrace(
  x: Float64Array,
  fs: number,
  opts: PreprocessOptions,
): Float64Array {
  let y: Float64Array = Float64Array.from(x);
  if (opts.detrend ?? true) {
    demean(y);
    detrendLinear(y);
  }
  cosineTaper(y, opts.taper ?? 0.05);
  if (opts.response) {
    // Pre-filter corners above the native Nyquist frequency are clipped to it.
    y = removeResponse(y, fs, opts.response, {
      preFilt: clipPreFilt(opts.preFilt ?? null, fs),
      waterLevel: opts.waterLevel ?? null,
      output: opts.output,
    });
  }
  y = resample(y, fs, opts.samplingRate, { offset: opts.resampleOffset ?? 0 });
  const bp = opts.bandpass;
  if (bp) {
    bandpass(y, opts.samplingRate, bp.freqmin, bp.freqmax, {
      order: bp.order ?? 4,
      zerophase: bp.zerophase ?? true,
    });
  }
  cosineTaper(y, opts.postTaper ?? 0.05);
  return y;
}

/**
 * A pre-filter's corners for a trace recorded at `fs`: as given where the top corner is at or
 * below the trace's Nyquist frequency; else squeezed below it, keeping the taper's shape: the
 * top corner at Nyquist, the next at 0.9 × Nyquist (or below, as given), the lower flat corner
 * below that (so that 1/H is not taken up to Nyquist, where a digitiser's anti-alias filter
 * leaves only noise).
 *
 * @param pf `[f1, f2, f3, f4]` Hz, or null for none.
 * @param fs The trace's sampling rate, Hz.
 * @returns the corners to use, or null.
 * @example
 * ```ts
 * import { clipPreFilt } from "./preprocess.ts";
 * // A 25 Hz channel under the default pre-filter: 0.2/0.5/11.25/12.5 Hz.
 * if (clipPreFilt([0.2, 0.5, 18.5, 19.8], 25)!.join() !== "0.2,0.5,11.25,12.5") throw new Error();
 * ```
 */
export function clipPreFilt(pf: readonly number[] | null, fs: number): number[] | null {
  if (!pf) return null;
  const nyq = fs / 2;
  if (pf[3] <= nyq) return [...pf];
  // Keep the taper's shape inside (0, nyq]: squeeze the upper corners below Nyquist.
  const f4 = nyq, f3 = Math.min(pf[2], 0.9 * nyq);
  return [pf[0], Math.min(pf[1], f3 * 0.99), f3, f4];
}
