/**
 * PyTorch's default initialisation, from a seeded generator.
 *
 * Conv2d, ConvTranspose2d and Linear use kaiming_uniform_(a = √5) for the
 * weight, which is U(−1/√fan_in, 1/√fan_in), and the same bound for the bias.
 * fan_in is weight.shape[1] · KH · KW: for ConvTranspose2d (weight [A, B, KH, KW])
 * that is B·KH·KW, as in PyTorch's `_calculate_fan_in_and_fan_out`.
 *
 * @module
 */
import type { Rng } from "../util/rng.ts";

/**
 * @param shape Weight shape.
 * @returns fan_in as PyTorch computes it.
 */
export function fanIn(shape: readonly number[]): number {
  return shape.length < 2 ? shape[0] : shape.slice(1).reduce((a, b) => a * b, 1);
}

/**
 * @param n Number of values.
 * @param bound Half-width of the interval.
 * @param rng Generator.
 * @returns n values uniform on [−bound, bound).
 */
export function uniform(n: number, bound: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-bound, bound);
  return a;
}
