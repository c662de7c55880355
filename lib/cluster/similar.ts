/**
 * Nearest neighbours in the latent space: the samples most like a given one,
 * which is how a seismologist asks "what else looks like this event?" of a
 * trained model (the latent space's version of template matching).
 *
 * @module
 */

/** One neighbour of {@linkcode nearestNeighbours}. */
export interface Neighbour {
  /** Row of the neighbour. */
  index: number;
  /** Euclidean distance to the query in the latent space. */
  distance: number;
}

/**
 * The `count` rows nearest to row `query` (itself left out), by Euclidean distance, nearest
 * first; ties go to the lower row. An exact scan, O(n·d).
 *
 * @param x Row-major `[n, d]` codes.
 * @param n Rows.
 * @param d Dimensions.
 * @param query The row whose neighbours are wanted.
 * @param count How many (at most n − 1 are returned).
 * @returns the neighbours.
 * @throws {RangeError} for a query row outside [0, n) or mismatched sizes.
 * @example
 * ```ts
 * import { nearestNeighbours } from "./similar.ts";
 * const x = new Float32Array([0, 0, 5, 5, 1, 0, 0, 2]); // 4 points in 2-D
 * const nn = nearestNeighbours(x, 4, 2, 0, 2);
 * if (nn[0].index !== 2 || nn[1].index !== 3 || nn[1].distance !== 2) throw new Error();
 * ```
 */
export function nearestNeighbours(
  x: Float32Array | Float64Array,
  n: number,
  d: number,
  query: number,
  count: number,
): Neighbour[] {
  if (x.length !== n * d) {
    throw new RangeError(`Cannot search neighbours: expected ${n}×${d} values: found ${x.length}`);
  }
  if (!Number.isInteger(query) || query < 0 || query >= n) {
    throw new RangeError(`Cannot search neighbours of row ${query}: expected a row in [0, ${n})`);
  }
  const all: Neighbour[] = [];
  for (let i = 0; i < n; i++) {
    if (i === query) continue;
    let s = 0;
    for (let j = 0; j < d; j++) s += (x[i * d + j] - x[query * d + j]) ** 2;
    all.push({ index: i, distance: Math.sqrt(s) });
  }
  all.sort((a, b) => a.distance - b.distance || a.index - b.index);
  return all.slice(0, Math.max(0, count));
}
