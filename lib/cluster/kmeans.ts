/**
 * K-means clustering: k-means++ seeding and Lloyd iterations, best of several
 * restarts by inertia, following scikit-learn's `KMeans` (algorithm "lloyd").
 *
 * Points are rows of a row-major `[n, d]` array. All arithmetic is Float64.
 *
 * @module
 */

import { drain, drainAsync } from "../util/events.ts";
import { Rng } from "../util/rng.ts";

/** Options of {@linkcode kmeans}. */
export interface KMeansOptions {
  /** Number of clusters, 1 <= k <= n. */
  k: number;
  /** Number of k-means++ restarts; the run with the lowest inertia wins. Default 100. */
  nInit?: number;
  /** Maximum Lloyd iterations per restart. Default 1000. */
  maxIter?: number;
  /**
   * Convergence tolerance on the squared shift of the centres, relative to the
   * mean per-feature variance of `x` (as in scikit-learn). Default 1e-4.
   */
  tol?: number;
  /** Seed of a fresh {@linkcode Rng} when `rng` is not given. Default 0. */
  seed?: number;
  /** Generator to draw from (advanced in place); overrides `seed`. */
  rng?: Rng;
  /**
   * Called after every restart with the number done (a progress bar's tick: on the raw
   * spectrograms of a large dataset one restart takes seconds).
   */
  onRestart?: (done: number) => void;
}

/** Result of {@linkcode kmeans}. */
export interface KMeansResult {
  /** Cluster centres, row-major `[k, d]`. */
  centers: Float64Array;
  /** Index of the nearest centre of each point, `[n]`. */
  labels: Int32Array;
  /** Sum of squared distances of the points to their centres. */
  inertia: number;
  /** Lloyd iterations run by the winning restart. */
  nIter: number;
}

/**
 * Clusters `n` points of dimension `d` into `k` groups.
 *
 * Each restart seeds the centres by greedy k-means++ (2 + ⌊ln k⌋ candidates
 * per centre, keeping the one that lowers the potential most), then runs
 * Lloyd iterations until the labels stop changing or the centres move less
 * than `tol` (squared, relative to the mean variance). A cluster that
 * empties is re-seeded with the point farthest from its centre.
 *
 * @param x Points, row-major `[n, d]`.
 * @param n Number of points.
 * @param d Dimension.
 * @param opts Number of clusters and solver settings.
 * @returns the centres, labels, inertia and iteration count of the best restart.
 * @example
 * ```ts
 * import { kmeans } from "./kmeans.ts";
 * const x = new Float64Array([0, 0, 0, 1, 10, 10, 10, 11]);
 * const { labels } = kmeans(x, 4, 2, { k: 2, nInit: 3, seed: 1 });
 * if (labels[0] !== labels[1] || labels[0] === labels[2]) throw new Error("bad clusters");
 * ```
 */
export function kmeans(
  x: Float32Array | Float64Array,
  n: number,
  d: number,
  opts: KMeansOptions,
): KMeansResult {
  return drain(kmeansSteps(x, n, d, opts));
}

/**
 * {@linkcode kmeans}, letting the event loop run between Lloyd iterations (at most every 200
 * ms), so that Ctrl-C and progress bars are served during a long run: the same result.
 *
 * @param x Points, row-major `[n, d]`.
 * @param n Number of points.
 * @param d Dimension.
 * @param opts Number of clusters and solver settings.
 * @returns the centres, labels, inertia and iteration count of the best restart.
 * @throws {RangeError} or {TypeError} as {@linkcode kmeans} (the promise rejects).
 */
export function kmeansAsync(
  x: Float32Array | Float64Array,
  n: number,
  d: number,
  opts: KMeansOptions,
): Promise<KMeansResult> {
  return drainAsync(kmeansSteps(x, n, d, opts));
}

/** {@linkcode kmeans} as a generator that pauses after every Lloyd iteration. */
export function* kmeansSteps(
  x: Float32Array | Float64Array,
  n: number,
  d: number,
  opts: KMeansOptions,
): Generator<void, KMeansResult> {
  const { k } = opts;
  const nInit = opts.nInit ?? 100, maxIter = opts.maxIter ?? 1000, tol = opts.tol ?? 1e-4;
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Cannot run k-means: n must be a positive integer: current value is ${n}`);
  }
  if (!Number.isInteger(d) || d < 1) {
    throw new RangeError(`Cannot run k-means: d must be a positive integer: current value is ${d}`);
  }
  if (x.length !== n * d) {
    throw new TypeError(
      `Cannot run k-means: x must hold n * d = ${n * d} values: found ${x.length}`,
    );
  }
  if (!Number.isInteger(k) || k < 1 || k > n) {
    throw new RangeError(
      `Cannot run k-means: k must be an integer in [1, n = ${n}]: current value is ${k}`,
    );
  }
  if (!Number.isInteger(nInit) || nInit < 1) {
    throw new RangeError(`Cannot run k-means: nInit must be >= 1: current value is ${nInit}`);
  }
  if (!Number.isInteger(maxIter) || maxIter < 1) {
    throw new RangeError(`Cannot run k-means: maxIter must be >= 1: current value is ${maxIter}`);
  }
  checkFinite(x, d, "Cannot run k-means");
  const rng = opts.rng ?? new Rng(opts.seed ?? 0);
  const xs = x instanceof Float64Array ? x : Float64Array.from(x);
  const tolAbs = tol * meanVariance(xs, n, d);

  const work = new Workspace(n, d, k);
  let best: KMeansResult | null = null;
  for (let run = 0; run < nInit; run++) {
    kmeansPlusPlus(xs, n, d, k, rng, work);
    const { inertia, nIter } = yield* lloyd(xs, n, d, k, maxIter, tolAbs, work);
    if (best === null || inertia < best.inertia) {
      best = {
        centers: work.centers.slice(),
        labels: work.labels.slice(),
        inertia,
        nIter,
      };
    }
    opts.onRestart?.(run + 1);
    yield;
  }
  return best!;
}

/**
 * Buffers reused by every restart, so that no per-point allocation happens (exported for the
 * tests of {@linkcode relocateEmpty}).
 */
export class Workspace {
  centers: Float64Array;
  newCenters: Float64Array;
  counts: Float64Array;
  sums: Float64Array;
  labels: Int32Array;
  dist: Float64Array;
  closest: Float64Array;
  candDist: Float64Array;
  cumsum: Float64Array;
  upper: Float64Array;
  lower: Float64Array;
  shift: Float64Array;
  half: Float64Array;
  constructor(n: number, d: number, k: number) {
    const trials = 2 + Math.floor(Math.log(k));
    this.centers = new Float64Array(k * d);
    this.newCenters = new Float64Array(k * d);
    this.counts = new Float64Array(k);
    this.sums = new Float64Array(k * d);
    this.labels = new Int32Array(n);
    this.dist = new Float64Array(n);
    this.closest = new Float64Array(n);
    this.candDist = new Float64Array(trials * n);
    this.cumsum = new Float64Array(n);
    this.upper = new Float64Array(n);
    this.lower = new Float64Array(n);
    this.shift = new Float64Array(k);
    this.half = new Float64Array(k);
  }
}

function meanVariance(x: Float64Array, n: number, d: number): number {
  let total = 0;
  for (let j = 0; j < d; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i * d + j];
    const m = s / n;
    let v = 0;
    for (let i = 0; i < n; i++) {
      const e = x[i * d + j] - m;
      v += e * e;
    }
    total += v / n;
  }
  return total / d;
}

function sqDist(x: Float64Array, i: number, c: Float64Array, j: number, d: number): number {
  let s = 0;
  const a = i * d, b = j * d;
  for (let t = 0; t < d; t++) {
    const e = x[a + t] - c[b + t];
    s += e * e;
  }
  return s;
}

/** Greedy k-means++ (scikit-learn's `_kmeans_plusplus`) into `work.centers`. */
function kmeansPlusPlus(
  x: Float64Array,
  n: number,
  d: number,
  k: number,
  rng: Rng,
  work: Workspace,
): void {
  const { centers, closest, candDist, cumsum } = work;
  const trials = 2 + Math.floor(Math.log(k));
  const first = rng.int(n);
  for (let t = 0; t < d; t++) centers[t] = x[first * d + t];
  let pot = 0;
  for (let i = 0; i < n; i++) {
    closest[i] = sqDist(x, i, centers, 0, d);
    pot += closest[i];
  }
  const cand = new Int32Array(trials);
  for (let c = 1; c < k; c++) {
    let acc = 0;
    for (let i = 0; i < n; i++) {
      acc += closest[i];
      cumsum[i] = acc;
    }
    for (let t = 0; t < trials; t++) {
      // searchsorted(cumsum, u * pot), clipped to n - 1. When every point sits
      // on a centre (pot = 0), fall back to a uniform pick.
      cand[t] = pot > 0 ? searchSorted(cumsum, rng.next() * pot) : rng.int(n);
    }
    let bestT = 0, bestPot = Infinity;
    for (let t = 0; t < trials; t++) {
      const ci = cand[t];
      let p = 0;
      const off = t * n;
      for (let i = 0; i < n; i++) {
        let s = 0;
        const a = i * d, b = ci * d;
        for (let u = 0; u < d; u++) {
          const e = x[a + u] - x[b + u];
          s += e * e;
        }
        const m = s < closest[i] ? s : closest[i];
        candDist[off + i] = m;
        p += m;
      }
      if (p < bestPot) {
        bestPot = p;
        bestT = t;
      }
    }
    pot = bestPot;
    closest.set(candDist.subarray(bestT * n, bestT * n + n));
    const ci = cand[bestT];
    for (let t = 0; t < d; t++) centers[c * d + t] = x[ci * d + t];
  }
}

function searchSorted(cumsum: Float64Array, v: number): number {
  let lo = 0, hi = cumsum.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumsum[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo < cumsum.length ? lo : cumsum.length - 1;
}

/**
 * Lloyd iterations accelerated by Hamerly's bounds (Hamerly 2010): an upper bound on each
 * point's distance to its centre and a lower bound on the distance to any other centre skip
 * most distance computations, with the same assignments as plain Lloyd.
 */
function* lloyd(
  x: Float64Array,
  n: number,
  d: number,
  k: number,
  maxIter: number,
  tolAbs: number,
  work: Workspace,
): Generator<void, { inertia: number; nIter: number }> {
  const { centers, newCenters, counts, sums, labels, dist, upper, lower, shift, half } = work;
  for (let i = 0; i < n; i++) fullScan(x, i, d, k, work);
  sumClusters(x, n, d, work);
  let it = 0;
  while (it < maxIter) {
    it++;
    let empty = false;
    for (let c = 0; c < k; c++) {
      if (counts[c] > 0) {
        for (let t = 0; t < d; t++) newCenters[c * d + t] = sums[c * d + t] / counts[c];
      } else {
        empty = true;
        for (let t = 0; t < d; t++) newCenters[c * d + t] = centers[c * d + t];
      }
    }
    // Every 32 iterations, recompute the sums from scratch so that the
    // incremental updates below cannot accumulate rounding drift.
    if (empty || it % 32 === 0) {
      if (empty) {
        for (let i = 0; i < n; i++) dist[i] = sqDist(x, i, centers, labels[i], d);
        relocateEmpty(x, n, d, k, work);
      }
      sumClusters(x, n, d, work);
      for (let c = 0; c < k; c++) {
        if (counts[c] === 0) continue; // cannot happen with k <= n; keep the old centre
        for (let t = 0; t < d; t++) newCenters[c * d + t] = sums[c * d + t] / counts[c];
      }
    }
    let shiftSq = 0, max1 = 0, max2 = 0, arg1 = -1;
    for (let c = 0; c < k; c++) {
      let q = 0;
      for (let t = 0; t < d; t++) {
        const e = newCenters[c * d + t] - centers[c * d + t];
        q += e * e;
      }
      shiftSq += q;
      shift[c] = Math.sqrt(q);
      if (shift[c] > max1) {
        max2 = max1;
        max1 = shift[c];
        arg1 = c;
      } else if (shift[c] > max2) {
        max2 = shift[c];
      }
    }
    centers.set(newCenters);
    // half[c]: half the distance from centre c to its nearest other centre.
    for (let c = 0; c < k; c++) half[c] = Infinity;
    for (let c = 0; c < k; c++) {
      for (let e = c + 1; e < k; e++) {
        const h = 0.5 * Math.sqrt(sqDist(centers, c, centers, e, d));
        if (h < half[c]) half[c] = h;
        if (h < half[e]) half[e] = h;
      }
    }
    let changed = false;
    for (let i = 0; i < n; i++) {
      const a = labels[i];
      upper[i] += shift[a];
      lower[i] -= a === arg1 ? max2 : max1;
      const m = half[a] > lower[i] ? half[a] : lower[i];
      if (upper[i] <= m) continue;
      upper[i] = Math.sqrt(sqDist(x, i, centers, a, d));
      if (upper[i] <= m) continue;
      const b = fullScan(x, i, d, k, work);
      if (b !== a) {
        changed = true;
        counts[a]--;
        counts[b]++;
        for (let t = 0; t < d; t++) {
          sums[a * d + t] -= x[i * d + t];
          sums[b * d + t] += x[i * d + t];
        }
      }
    }
    if (!changed || shiftSq <= tolAbs) break;
    yield;
  }
  let inertia = 0;
  for (let i = 0; i < n; i++) inertia += sqDist(x, i, centers, labels[i], d);
  return { inertia, nIter: it };
}

/** Recomputes the per-cluster sums and counts from the labels. */
function sumClusters(x: Float64Array, n: number, d: number, work: Workspace): void {
  const { sums, counts, labels } = work;
  sums.fill(0);
  counts.fill(0);
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    counts[c]++;
    const a = i * d, b = c * d;
    for (let t = 0; t < d; t++) sums[b + t] += x[a + t];
  }
}

/** Assigns point i to its nearest centre (ties: lowest index) and resets its bounds. */
function fullScan(x: Float64Array, i: number, d: number, k: number, work: Workspace): number {
  const { centers, labels, upper, lower } = work;
  let best = 0, bestD = Infinity, second = Infinity;
  const a = i * d;
  for (let c = 0; c < k; c++) {
    let s = 0;
    const b = c * d;
    for (let t = 0; t < d; t++) {
      const e = x[a + t] - centers[b + t];
      s += e * e;
    }
    if (s < bestD) {
      second = bestD;
      bestD = s;
      best = c;
    } else if (s < second) {
      second = s;
    }
  }
  labels[i] = best;
  upper[i] = Math.sqrt(bestD);
  lower[i] = Math.sqrt(second);
  return best;
}

/**
 * Moves the centre of each empty cluster onto the point farthest from its own centre
 * (`work.dist`, squared) among the clusters that keep another point (scikit-learn's rule),
 * taking the point out of its cluster's mean (`work.newCenters`, `work.counts`) and its label.
 * Exported for its tests.
 *
 * @param x Points `[n, d]`.
 * @param n Points.
 * @param d Dimension.
 * @param k Clusters.
 * @param work The restart's buffers, changed in place.
 */
export function relocateEmpty(
  x: Float64Array,
  n: number,
  d: number,
  k: number,
  work: Workspace,
): void {
  const { counts, newCenters, dist, labels } = work;
  let empty = 0;
  for (let c = 0; c < k; c++) if (counts[c] === 0) empty++;
  if (empty === 0) return;
  // The `empty` farthest points, by partial selection (empty is small).
  const taken = new Uint8Array(n);
  for (let c = 0; c < k; c++) {
    if (counts[c] !== 0) continue;
    let far = -1, farD = -1;
    for (let i = 0; i < n; i++) {
      // Only take a point out of a cluster that keeps at least one other point.
      if (!taken[i] && dist[i] > farD && counts[labels[i]] > 1) {
        farD = dist[i];
        far = i;
      }
    }
    if (far < 0) continue;
    taken[far] = 1;
    const old = labels[far];
    // Keep the donor cluster's mean consistent with losing this point.
    const m = counts[old];
    for (let t = 0; t < d; t++) {
      newCenters[old * d + t] = (newCenters[old * d + t] * m - x[far * d + t]) / (m - 1);
      newCenters[c * d + t] = x[far * d + t];
    }
    counts[old] = m - 1;
    counts[c] = 1;
    labels[far] = c;
    dist[far] = 0;
    // Loose bounds force an exact rescan of this point at the next assignment.
    work.upper[far] = Infinity;
    work.lower[far] = 0;
  }
}

/**
 * The nearest centre of each point (squared Euclidean distance; ties: the lowest index): the
 * cluster DEC starts a point in, since Student's t q is largest at the nearest centre. A GMM's
 * posterior labels can differ from it (covariances and weights count there, and only the means
 * carry over to DEC).
 *
 * @param x Points `[n, d]`.
 * @param centres Centres `[k, d]`.
 * @param n Points.
 * @param d Dimension.
 * @returns the label of each point, `[n]`.
 * @example
 * ```ts
 * import { nearestCentres } from "./kmeans.ts";
 * const l = nearestCentres([0, 2.9, 10], [0, 6], 3, 1);
 * if (l.join() !== "0,0,1") throw new Error(l.join());
 * ```
 */
export function nearestCentres(
  x: ArrayLike<number>,
  centres: ArrayLike<number>,
  n: number,
  d: number,
): Int32Array {
  const k = Math.round(centres.length / d);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = Infinity, arg = 0;
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += (x[i * d + t] - centres[j * d + t]) ** 2;
      if (s < best) [best, arg] = [s, j];
    }
    out[i] = arg;
  }
  return out;
}

/**
 * Throws a RangeError naming the first value of `x` that is not finite: a NaN or infinite
 * latent code (from a diverged encoder or a bad sample) would otherwise become a NaN centre.
 *
 * @param x Points, row-major `[n, d]`.
 * @param d Dimension.
 * @param action What could not run, e.g. "Cannot run k-means".
 */
export function checkFinite(x: ArrayLike<number>, d: number, action: string): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      throw new RangeError(
        `${action}: the value at row ${Math.floor(i / d)}, column ${i % d} is ${
          x[i]
        }: expected finite values`,
      );
    }
  }
}

/**
 * Counts the distinct points of `x`, up to `limit`: k-means (or a GMM) asked for more clusters
 * than there are distinct points splits identical points among clusters.
 *
 * @param x Points, row-major `[n, d]`.
 * @param n Number of points.
 * @param d Dimension.
 * @param limit Stop counting here (the k asked for): the answer is then `limit`.
 * @returns the number of distinct rows, at most `limit`.
 * @example
 * ```ts
 * import { distinctPoints } from "./kmeans.ts";
 * if (distinctPoints([1, 2, 1, 2, 3, 4], 3, 2, 10) !== 2) throw new Error();
 * ```
 */
export function distinctPoints(x: ArrayLike<number>, n: number, d: number, limit: number): number {
  const seen = new Set<string>();
  for (let i = 0; i < n && seen.size < limit; i++) {
    // -0 and 0 are the same point.
    seen.add(Array.from({ length: d }, (_, t) => x[i * d + t] + 0).join(","));
  }
  return seen.size;
}
