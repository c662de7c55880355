/**
 * Thin, cached wrapper around npm:fft.js (radix-4, power-of-two sizes).
 *
 * @module
 */
import { FFT } from "../deps.ts";

const cache = new Map<number, FFT>();

/**
 * @param n A power of two >= 2.
 * @returns a cached fft.js instance of size n.
 */
export function fftOf(n: number): FFT {
  let f = cache.get(n);
  if (!f) {
    f = new FFT(n);
    keepOne(cache, n);
    cache.set(n, f);
  }
  return f;
}

/**
 * Before a size is cached: above {@linkcode LARGE}, only the latest size is kept (a day's
 * response FFT, 2^24, holds hundreds of MiB of tables; samples of one config share one size).
 */
function keepOne<V>(m: Map<number, V>, n: number): void {
  if (n <= LARGE) return;
  for (const k of [...m.keys()]) if (k > LARGE) m.delete(k);
}

/** Sizes above this (2^22) are cached one at a time ({@linkcode keepOne}). */
const LARGE = 2 ** 22;

/**
 * @param n A positive number.
 * @returns the smallest power of two >= n (at least 2).
 */
export function nextPow2(n: number): number {
  let p = 2;
  while (p < n) p *= 2;
  return p;
}

/**
 * Real FFT of `x` zero-padded to `n`.
 *
 * @param x Real samples, length <= n.
 * @param n FFT size, a power of two.
 * @returns interleaved complex spectrum `[re0, im0, re1, im1, ...]`, full length n.
 */
export function rfftFull(x: ArrayLike<number>, n: number): Float64Array {
  const f = fftOf(n);
  const input = new Float64Array(n);
  for (let i = 0; i < Math.min(n, x.length); i++) input[i] = x[i];
  const out = new Float64Array(2 * n);
  f.realTransform(out, input);
  f.completeSpectrum(out);
  return out;
}

/**
 * Work arrays by purpose, one size each (the last asked for): a trace's transforms reuse them
 * instead of allocating (and zeroing, and collecting) megabytes per trace.
 */
const scratch: (Float64Array | undefined)[] = [];

/**
 * The longest work array kept between calls (values): 2^22 doubles, 32 MiB. A longer one (the
 * response FFT of a day at 100 Hz, nfft 2^24) is allocated for its call and left to the
 * collector, not held by every worker for its life.
 */
const SCRATCH_KEPT = LARGE;

/** The work array of `slot` with `length` values (contents left over from its last use). */
function scratchOf(slot: number, length: number): Float64Array {
  let a = scratch[slot];
  if (!a || a.length !== length) {
    a = new Float64Array(length);
    scratch[slot] = length <= SCRATCH_KEPT ? a : undefined;
  }
  return a;
}

/**
 * Bins 0..n/2 of the real FFT of `x` zero-padded to `n` (the bins {@linkcode irfftReal}
 * reads), in a work array that the next call reuses: the same values as those bins of
 * {@linkcode rfftFull}, without its copy of the other half.
 *
 * @param x Real samples, length <= n.
 * @param n FFT size, a power of two.
 * @returns interleaved complex bins 0..n/2 at `[0, n + 2)` of an array of length 2n (the
 *   rest is not the spectrum); valid until the next call.
 */
export function rfftHalf(x: Float64Array, n: number): Float64Array {
  const f = fftOf(n);
  const input = scratchOf(0, n);
  const m = Math.min(n, x.length);
  input.set(m === x.length ? x : x.subarray(0, m));
  input.fill(0, m);
  const out = scratchOf(1, 2 * n);
  f.realTransform(out, input);
  return out;
}

const twiddleCache = new Map<number, Float64Array>();

/** cos and sin of 2πk/n for k < n/2, interleaved, cached by n. */
function twiddles(n: number): Float64Array {
  let t = twiddleCache.get(n);
  if (!t) {
    t = new Float64Array(n);
    for (let k = 0; k < n / 2; k++) {
      t[2 * k] = Math.cos(2 * Math.PI * k / n);
      t[2 * k + 1] = Math.sin(2 * Math.PI * k / n);
    }
    keepOne(twiddleCache, n);
    twiddleCache.set(n, t);
  }
  return t;
}

/**
 * Inverse FFT of a Hermitian spectrum (the spectrum of a real signal), by one complex
 * transform of half the size: with M = n/2, E[k] = (X[k] + conj X[M−k]) / 2 and
 * O[k] = (X[k] − conj X[M−k]) / 2 · e^{2πik/n} are the spectra of the even and odd samples,
 * and the inverse of E + iO holds x[2m] in its real and x[2m+1] in its imaginary parts.
 * Reads only bins 0..n/2 (the imaginary parts of bins 0 and n/2 are taken as 0).
 *
 * @param spec Interleaved complex spectrum, at least bins 0..n/2 (length >= n + 2).
 * @param n FFT size, a power of two >= 4.
 * @returns the real signal of length n (scaled by 1/n, so it inverts {@linkcode rfftFull}).
 * @example
 * ```ts
 * import { irfftReal, rfftFull } from "./_fft.ts";
 * const x = [1, -2, 3, 0.5, 0, 0, 7, -1];
 * const y = irfftReal(rfftFull(x, 8), 8);
 * if (x.some((v, i) => Math.abs(v - y[i]) > 1e-12)) throw new Error();
 * ```
 */
export function irfftReal(spec: Float64Array, n: number): Float64Array {
  return irfftRealInto(spec, n, new Float64Array(n));
}

/**
 * {@linkcode irfftReal} into `y`, which takes the first `y.length` (at most n) samples of the
 * signal; its work arrays are reused from call to call.
 *
 * @param spec Interleaved complex spectrum, at least bins 0..n/2 (length >= n + 2).
 * @param n FFT size, a power of two.
 * @param y Where the samples go.
 * @returns `y`.
 */
export function irfftRealInto(spec: Float64Array, n: number, y: Float64Array): Float64Array {
  if (n < 4) {
    y.set(irfftComplex(spec, n).subarray(0, y.length));
    return y;
  }
  const m = n / 2;
  const tw = twiddles(n);
  const z = scratchOf(2, 2 * m);
  for (let k = 0; k < m; k++) {
    const ar = spec[2 * k], ai = k === 0 ? 0 : spec[2 * k + 1];
    const j = m - k;
    const br = spec[2 * j], bi = j === m ? 0 : -spec[2 * j + 1]; // conj X[M−k]
    const er = (ar + br) / 2, ei = (ai + bi) / 2;
    const dr = (ar - br) / 2, di = (ai - bi) / 2;
    const c = tw[2 * k], s = tw[2 * k + 1];
    const or = dr * c - di * s, oi = dr * s + di * c;
    z[2 * k] = er - oi; // E + iO
    z[2 * k + 1] = ei + or;
  }
  const out = scratchOf(3, 2 * m);
  fftOf(m).inverseTransform(out, z);
  // x[2i] and x[2i + 1] are the real and imaginary parts of out[i]: the same layout.
  y.set(out.subarray(0, Math.min(y.length, n)));
  return y;
}

/**
 * The full-size complex inverse of a spectrum, keeping the real part (the reference of
 * {@linkcode irfftReal}).
 *
 * @param spec Interleaved complex spectrum of length 2n.
 * @param n FFT size.
 * @returns the real part, scaled by 1/n.
 */
export function irfftComplex(spec: Float64Array, n: number): Float64Array {
  const f = fftOf(n);
  const out = new Float64Array(2 * n);
  f.inverseTransform(out, spec);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = out[2 * i];
  return y;
}
