/**
 * Short-time Fourier transform spectrograms, matching SciPy's
 * `scipy.signal.spectrogram` defaults: periodic window, constant detrend per
 * segment, one-sided PSD with density scaling. FFTs by npm:fft.js.
 *
 * @module
 */
import { fftOf, nextPow2 } from "./_fft.ts";

/**
 * Modified Bessel function of the first kind, order 0 (power series).
 *
 * @param x Argument.
 * @returns I0(x).
 */
export function besselI0(x: number): number {
  const q = (x * x) / 4;
  let term = 1, sum = 1;
  for (let k = 1; k < 500; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/**
 * Kaiser window.
 *
 * Symmetric: `w[k] = I0(β·sqrt(1 − (2k/(n−1) − 1)²)) / I0(β)`. Periodic (the
 * default, as `scipy.signal.get_window(("kaiser", β), n)` gives for spectral
 * analysis): the first n points of the symmetric window of length n + 1.
 *
 * @param n Window length.
 * @param beta Shape parameter β (1.8π in zClust).
 * @param options `periodic` (default true).
 * @returns the window.
 * @example
 * ```ts
 * import { kaiser } from "./stft.ts";
 * const w = kaiser(5, 0, { periodic: false });
 * if (w.some((v) => v !== 1)) throw new Error("beta 0 is rectangular");
 * ```
 */
export function kaiser(
  n: number,
  beta: number,
  options: { periodic?: boolean } = {},
): Float64Array {
  if (!(Number.isInteger(n) && n >= 1)) {
    throw new RangeError(`Cannot build Kaiser window: length must be >= 1: current value is ${n}`);
  }
  // I0(β) overflows a float64 past β ≈ 713; the window is even in β.
  if (!(Math.abs(beta) <= 700)) {
    throw new RangeError(
      `Cannot build Kaiser window: |beta| must be <= 700: current value is ${beta}`,
    );
  }
  const periodic = options.periodic ?? true;
  const m = periodic ? n + 1 : n;
  const w = new Float64Array(n);
  // One sample: [1], periodic or not, as SciPy's get_window gives.
  if (n === 1) {
    w[0] = 1;
    return w;
  }
  const i0b = besselI0(beta);
  for (let k = 0; k < n; k++) {
    const r = 2 * k / (m - 1) - 1;
    w[k] = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0b;
  }
  return w;
}

/** Options of {@linkcode spectrogram}. */
export interface SpectrogramOptions {
  /** Segment length in samples. */
  nperseg: number;
  /** Overlap in samples (default floor(nperseg / 8), SciPy's default). */
  noverlap?: number;
  /** FFT length, >= nperseg, a power of two (default nextPow2(1.2·nperseg)). */
  nfft?: number;
  /** Window (default Kaiser with β = 1.8π, periodic). */
  window?: Float64Array;
  /** Subtract each segment's mean before windowing (default true, SciPy's "constant"). */
  detrend?: boolean;
}

/** A spectrogram. */
export interface Spectrogram {
  /** `[F]`, Hz: k·fs/nfft for k = 0..nfft/2. */
  freqs: Float64Array;
  /** `[T]`, s: segment centres, (nperseg/2 + j·hop)/fs as SciPy. */
  times: Float64Array;
  /** `[F, T]` row-major one-sided PSD, units²/Hz. */
  psd: Float64Array;
  /** FFT length used, samples. */
  nfft: number;
}

/**
 * Computes a one-sided PSD spectrogram with density scaling.
 *
 * psd[k, j] = c_k · |Σ_n w[n]·(x[s_j + n] − mean_j)·e^{−2πikn/nfft}|² / (fs · Σ w²),
 * with c_k = 2 except at 0 Hz and Nyquist (1).
 *
 * @param x Samples.
 * @param fs Sampling rate, Hz.
 * @param opts Segment length, overlap, FFT length, window, detrend.
 * @returns frequencies, times and the `[F, T]` PSD.
 * @throws {RangeError} for bad lengths or a trace shorter than one segment.
 * @example
 * ```ts
 * import { spectrogram } from "./stft.ts";
 * const fs = 100;
 * const x = new Float64Array(1000).map((_, i) => Math.sin(2 * Math.PI * 12.5 * i / fs));
 * const s = spectrogram(x, fs, { nperseg: 129, noverlap: 64, nfft: 256 });
 * const col = Array.from({ length: s.freqs.length }, (_, k) => s.psd[k * s.times.length]);
 * if (col.indexOf(Math.max(...col)) !== 32) throw new Error();
 * ```
 */
export function spectrogram(x: Float64Array, fs: number, opts: SpectrogramOptions): Spectrogram {
  const nperseg = opts.nperseg;
  const noverlap = opts.noverlap ?? Math.floor(nperseg / 8);
  const nfft = opts.nfft ?? nextPow2(1.2 * nperseg);
  if (!(Number.isInteger(nperseg) && nperseg >= 2)) {
    throw new RangeError(
      `Cannot compute spectrogram: nperseg must be >= 2: current value is ${nperseg}`,
    );
  }
  if (!(Number.isInteger(noverlap) && noverlap >= 0 && noverlap < nperseg)) {
    throw new RangeError(
      `Cannot compute spectrogram: noverlap must be in [0, nperseg): current value is ${noverlap}`,
    );
  }
  if (!(Number.isFinite(fs) && fs > 0)) {
    throw new RangeError(
      `Cannot compute spectrogram: the sampling rate must be a positive number of Hz: current value is ${fs}`,
    );
  }
  if (!(Number.isInteger(nfft) && nfft >= nperseg) || (nfft & (nfft - 1)) !== 0) {
    throw new RangeError(
      `Cannot compute spectrogram: nfft must be a power of two >= nperseg (${nperseg}): current value is ${nfft}`,
    );
  }
  if (x.length < nperseg) {
    throw new RangeError(
      `Cannot compute spectrogram: trace of ${x.length} samples is shorter than one segment (${nperseg})`,
    );
  }
  const w = opts.window ?? kaiser(nperseg, 1.8 * Math.PI);
  if (w.length !== nperseg) {
    throw new TypeError(
      `Cannot compute spectrogram: window length ${w.length} != nperseg ${nperseg}`,
    );
  }
  const detrend = opts.detrend ?? true;
  const hop = nperseg - noverlap;
  const nt = Math.floor((x.length - nperseg) / hop) + 1;
  const nf = nfft / 2 + 1;
  let wss = 0;
  for (let i = 0; i < nperseg; i++) wss += w[i] * w[i];
  const scale = 1 / (fs * wss);
  const fft = fftOf(nfft);
  const seg = new Float64Array(nfft);
  const out = new Float64Array(2 * nfft);
  const psd = new Float64Array(nf * nt);
  for (let j = 0; j < nt; j++) {
    const s0 = j * hop;
    let mean = 0;
    if (detrend) {
      for (let i = 0; i < nperseg; i++) mean += x[s0 + i];
      mean /= nperseg;
    }
    for (let i = 0; i < nperseg; i++) seg[i] = (x[s0 + i] - mean) * w[i];
    fft.realTransform(out, seg);
    for (let k = 0; k < nf; k++) {
      const re = out[2 * k], im = out[2 * k + 1];
      const c = k === 0 || k === nfft / 2 ? 1 : 2;
      psd[k * nt + j] = c * (re * re + im * im) * scale;
    }
  }
  const freqs = new Float64Array(nf);
  for (let k = 0; k < nf; k++) freqs[k] = k * fs / nfft;
  const times = new Float64Array(nt);
  for (let j = 0; j < nt; j++) times[j] = (nperseg / 2 + j * hop) / fs;
  return { freqs, times, psd, nfft };
}
