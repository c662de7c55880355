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
    cache.set(n, f);
  }
  return f;
}

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
 * Inverse FFT of a Hermitian spectrum, keeping the real part.
 *
 * @param spec Interleaved complex spectrum of length 2n.
 * @param n FFT size.
 * @returns the real signal of length n (scaled by 1/n, so it inverts {@linkcode rfftFull}).
 */
export function irfftReal(spec: Float64Array, n: number): Float64Array {
  const f = fftOf(n);
  const out = new Float64Array(2 * n);
  f.inverseTransform(out, spec);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = out[2 * i];
  return y;
}
