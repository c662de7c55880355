/**
 * The median of a list of numbers.
 *
 * @module
 */

/**
 * @param a A non-empty list.
 * @returns its median (the mean of the middle two for an even length).
 * @example
 * ```ts
 * import { median } from "./median.ts";
 * if (median([3, 1, 2]) !== 2 || median([4, 1, 2, 3]) !== 2.5) throw new Error();
 * ```
 */
export function median(a: readonly number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
