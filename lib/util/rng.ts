/**
 * Seeded pseudo-random numbers: xoshiro128** with a SplitMix32 seeder.
 *
 * Every random choice in seisdec (weight initialisation, shuffling, k-means++
 * seeding, synthetic data) draws from an {@linkcode Rng} so that `--seed`
 * reproduces a run exactly. The state is four 32-bit words and can be saved
 * into a checkpoint and restored.
 *
 * @module
 */

/** A seeded generator of uniform and normal variates. */
export class Rng {
  #s: Uint32Array;
  #spare: number | null = null;

  /**
   * Creates a generator from a seed.
   *
   * @param seed Any integer; equal seeds give equal streams.
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * const a = new Rng(42), b = new Rng(42);
   * if (a.next() !== b.next()) throw new Error("not reproducible");
   * ```
   */
  constructor(seed = 0) {
    this.#s = new Uint32Array(4);
    let x = (seed >>> 0) ^ 0x9e3779b9;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.#s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.#s.every((v) => v === 0)) this.#s[0] = 1;
  }

  /**
   * Draws a 32-bit unsigned integer.
   *
   * @returns the next 32-bit unsigned integer.
   */
  nextU32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /**
   * Draws a uniform variate in [0, 1).
   *
   * @returns a uniform variate in [0, 1) with 53 random bits.
   */
  next(): number {
    const hi = this.nextU32() >>> 5, lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /**
   * Draws a uniform variate in [lo, hi).
   *
   * @param lo Lower bound (inclusive).
   * @param hi Upper bound (exclusive).
   * @returns a uniform variate in [lo, hi).
   */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /**
   * Draws a uniform integer in [0, n).
   *
   * @param n Exclusive upper bound, at most 2^32.
   * @returns a uniform integer in [0, n).
   */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /**
   * Draws a standard normal variate.
   *
   * @returns a standard normal variate (Marsaglia polar method).
   */
  normal(): number {
    if (this.#spare !== null) {
      const v = this.#spare;
      this.#spare = null;
      return v;
    }
    let u, v, s;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt(-2 * Math.log(s) / s);
    this.#spare = v * m;
    return u * m;
  }

  /**
   * Shuffles an array in place (Fisher–Yates).
   *
   * @param a The array to shuffle.
   * @returns the same array.
   */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /**
   * Draws a random permutation.
   *
   * @param n Size of the permutation.
   * @returns a random permutation of 0..n-1.
   */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /**
   * Saves the generator state.
   *
   * @returns the generator state, for a checkpoint.
   */
  getState(): number[] {
    return [...this.#s, this.#spare === null ? NaN : this.#spare];
  }

  /**
   * Restores a state saved by {@linkcode Rng.getState}.
   *
   * @param state Five numbers: four state words and the spare normal (NaN if none).
   */
  setState(state: readonly number[]): void {
    if (state.length !== 5) {
      throw new TypeError(`Cannot restore RNG state: expected 5 numbers: found ${state.length}`);
    }
    for (let i = 0; i < 4; i++) this.#s[i] = state[i] >>> 0;
    this.#spare = Number.isNaN(state[4]) ? null : state[4];
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
