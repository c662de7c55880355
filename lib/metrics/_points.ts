/**
 * Input checks shared by the internal clustering indices (internal.ts, silhouette.ts).
 *
 * @module
 */

/**
 * Refuses points and labels that do not fit [n, d], and any non-finite coordinate (NaN would
 * drop out of every comparison and leave a score that looks good), naming the first.
 */
export function checkPoints(
  what: string,
  x: ArrayLike<number>,
  n: number,
  d: number,
  labels: ArrayLike<number>,
): void {
  if (x.length !== n * d) {
    throw new TypeError(
      `Cannot compute ${what}: x must hold n * d = ${n * d} values: found ${x.length}`,
    );
  }
  if (labels.length !== n) {
    throw new TypeError(`Cannot compute ${what}: expected ${n} labels: found ${labels.length}`);
  }
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      throw new RangeError(
        `Cannot compute ${what}: point ${Math.floor(i / d)} has ${x[i]} at coordinate ${
          i % d
        }: expected finite values`,
      );
    }
  }
}
