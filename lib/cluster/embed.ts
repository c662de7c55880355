/**
 * A two-dimensional UMAP embedding of latent codes (McInnes et al. 2018, through
 * Google PAIR's npm:umap-js), the non-linear view of the latent space that
 * clustering papers show beside (or instead of) PCA: PCA keeps the two
 * directions of largest variance, UMAP keeps who is near whom.
 *
 * @module
 */
import { UMAP } from "../deps.ts";
import { letEventsIn } from "../util/events.ts";
import { Rng } from "../util/rng.ts";

/** Options of {@linkcode umap2}. */
export interface UmapOptions {
  /** Neighbours of the graph (UMAP's `n_neighbors`). Default 15. */
  nNeighbors?: number;
  /** Smallest distance between embedded points (`min_dist`). Default 0.1. */
  minDist?: number;
  /** Embed at most this many points, a seeded subset of the rest (UMAP is O(n log n) but slow in JS). Default 5000. */
  maxPoints?: number;
  /** Optimisation epochs (default: umap-js's, 500 for small sets, 200 for large). */
  epochs?: number;
  /**
   * Called after each optimisation epoch with the epochs done and their number (for a
   * progress bar; the nearest-neighbour graph before the first takes about a third of the time).
   */
  onEpoch?: (done: number, total: number) => void;
  /** Seed of the subset and of UMAP's randomness. Default 0. */
  seed?: number;
}

/** Result of {@linkcode umap2}. */
export interface Embedding2 {
  /** First coordinate of each embedded point. */
  x: Float64Array;
  /** Second coordinate. */
  y: Float64Array;
  /** Row of each embedded point in the input, ascending. */
  index: Uint32Array;
}

/**
 * Embeds points in two dimensions by UMAP, reproducibly for a seed.
 *
 * @param data Row-major `[n, d]`.
 * @param n Number of points.
 * @param d Dimensions per point.
 * @param opts Neighbours, minimum distance, subset size, epochs, seed.
 * @returns the coordinates of the embedded points and their rows.
 * @throws {RangeError} for mismatched sizes or fewer than 3 points.
 * @example
 * ```ts
 * import { umap2 } from "./embed.ts";
 * // Two well-separated groups of 10 points in 3-D.
 * const x = new Float64Array(20 * 3).map((_, i) => (Math.floor(i / 3) < 10 ? 0 : 10) + (i % 7) * 0.01);
 * const e = await umap2(x, 20, 3, { nNeighbors: 5, seed: 1 });
 * if (e.x.length !== 20 || e.index[19] !== 19) throw new Error();
 * ```
 */
export async function umap2(
  data: Float32Array | Float64Array,
  n: number,
  d: number,
  opts: UmapOptions = {},
): Promise<Embedding2> {
  if (data.length !== n * d || n < 3 || d < 1) {
    throw new RangeError(
      `Cannot embed: expected at least 3 points of ${d} values (${
        n * d
      } values): found ${data.length}`,
    );
  }
  const rng = new Rng(opts.seed ?? 0);
  const max = Math.max(3, opts.maxPoints ?? 5000);
  let index: Uint32Array;
  if (n > max) {
    index = rng.permutation(n).subarray(0, max).sort();
  } else index = Uint32Array.from({ length: n }, (_, i) => i);
  const rows = Array.from(index, (i) => Array.from(data.subarray(i * d, (i + 1) * d)));
  const u = new UMAP({
    nComponents: 2,
    nNeighbors: Math.min(opts.nNeighbors ?? 15, index.length - 1),
    minDist: opts.minDist ?? 0.1,
    nEpochs: opts.epochs,
    random: () => rng.next(),
  });
  // umap-js's fit(), epoch by epoch: the same embedding, with a callback between epochs, and
  // the event loop let in (Ctrl-C, the progress bar).
  const total = u.initializeFit(rows);
  for (let i = 0; i < total; i++) {
    u.step();
    opts.onEpoch?.(i + 1, total);
    await letEventsIn();
  }
  const e = u.getEmbedding();
  return {
    x: Float64Array.from(e, (p) => p[0]),
    y: Float64Array.from(e, (p) => p[1]),
    index,
  };
}
