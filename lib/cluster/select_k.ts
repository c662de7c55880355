/**
 * Choosing the number of clusters: k-means (or a GMM) on the latent codes for each candidate
 * k, scored by indices that need no labels (silhouette, Calinski–Harabasz, Davies–Bouldin,
 * and for a GMM its BIC), and the best k by one of them. `init --k 2:12` runs it before
 * fitting the centres with the chosen k.
 *
 * @module
 */
import { join } from "node:path";
import { lineChart, type Series, writeFigure } from "../plot/mod.ts";
import { removeIfPresent, writeFileAtomic } from "../util/atomic.ts";
import { calinskiHarabasz, daviesBouldin, withinClusterSS } from "../metrics/internal.ts";
import { silhouette } from "../metrics/silhouette.ts";
import { gmmAsync, relativeRegCovar } from "./gmm.ts";
import { kmeansAsync, nearestCentres } from "./kmeans.ts";

/** Index that picks k: the highest silhouette or Calinski–Harabasz, the lowest Davies–Bouldin or BIC. */
export type KCriterion = "silhouette" | "calinski-harabasz" | "davies-bouldin" | "bic";

/** The criteria, for flags and messages. */
export const K_CRITERIA: readonly KCriterion[] = [
  "silhouette",
  "calinski-harabasz",
  "davies-bouldin",
  "bic",
];

/** Scores of one candidate k. */
export interface KScore {
  /** The candidate number of clusters. */
  k: number;
  /** Sum of squared distances of the codes to their cluster's mean (the elbow curve). */
  inertia: number;
  /** Mean silhouette coefficient (higher is better). */
  silhouette: number;
  /** Calinski–Harabasz index (higher is better). */
  calinskiHarabasz: number;
  /** Davies–Bouldin index (lower is better). */
  daviesBouldin: number;
  /** GMM only: −2 · total log-likelihood + parameters · ln n; null for k-means. */
  bic: number | null;
  /** Clusters left empty by the fit (their k is then really smaller). */
  empty: number;
}

/** Result of {@linkcode selectK}. */
export interface KSelection {
  /** Scores, one per candidate k. */
  scores: KScore[];
  /** The criterion the best k was chosen by. */
  criterion: KCriterion;
  /** The chosen k (the smallest among ties). */
  best: number;
  /**
   * The criterion asked for, where no candidate had a value of it (e.g. a sampled silhouette
   * that missed a small cluster at every k) and `criterion` is the first index that had one.
   */
  unscored?: KCriterion;
}

/** Options of {@linkcode selectK}. */
export interface SelectKOptions {
  /** Clustering fitted per candidate. */
  method: "kmeans" | "gmm";
  /** GMM covariance (default "diag"). */
  covariance?: "diag" | "full";
  /** Restarts per candidate (k-means++; a GMM takes at most 10). */
  nInit: number;
  /** Maximum iterations per restart. */
  maxIter: number;
  /** Convergence tolerance (as {@linkcode kmeans} or {@linkcode gmm}). */
  tol: number;
  /** Random seed. */
  seed: number;
  /** Default "silhouette" (a GMM's BIC kept falling up to k = 8 on the 5-class demo set). */
  criterion?: KCriterion;
  /** Points the silhouette is computed on at most (a seeded sample; default 4000). */
  silhouetteSample?: number;
  /** Called after each candidate. */
  onK?: (score: KScore) => void;
}

/**
 * Parses a list of candidate cluster counts: `5`, `2:12` (inclusive) or `3,5,8`.
 *
 * @param text The flag's value.
 * @returns the counts, ascending and distinct.
 * @throws RangeError when the text is none of these or a count is below 2.
 * @example
 * ```ts
 * import { parseKList } from "./select_k.ts";
 * if (parseKList("2:5").join() !== "2,3,4,5" || parseKList("8,3").join() !== "3,8") throw new Error();
 * ```
 */
export function parseKList(text: string): number[] {
  const t = text.trim();
  let ks: number[];
  const range = /^(\d+)\s*:\s*(\d+)$/.exec(t);
  if (range) {
    const [a, b] = [Number(range[1]), Number(range[2])];
    if (b < a) throw new RangeError(`Cannot read k ${text}: a range A:B needs A <= B`);
    ks = Array.from({ length: b - a + 1 }, (_, i) => a + i);
  } else if (/^\d+(\s*,\s*\d+)*$/.test(t)) {
    ks = t.split(",").map((s) => Number(s.trim()));
  } else {
    throw new RangeError(
      `Cannot read k ${text}: expected a count (5), a range (2:12) or a list (3,5,8)`,
    );
  }
  if (ks.some((k) => k < 2)) {
    throw new RangeError(
      `Cannot read k ${text}: counts must be >= 2 (one cluster holds every sample)`,
    );
  }
  return [...new Set(ks)].sort((a, b) => a - b);
}

/**
 * Why {@linkcode parseKList} refused a text, without its own `Cannot read k TEXT: `, for a
 * caller that names the flag or the field itself (`Cannot read --k: ...`, `init.k: ...`).
 *
 * @param text The text given to parseKList.
 * @param e What it threw.
 * @returns the reason.
 */
export function kListReason(text: string, e: unknown): string {
  const m = (e as Error).message, head = `Cannot read k ${text}: `;
  return m.startsWith(head) ? m.slice(head.length) : m;
}

/**
 * Free parameters of a GMM (means, covariances, weights), as scikit-learn counts them for BIC.
 *
 * @param k Components.
 * @param d Dimension.
 * @param covariance "diag" or "full".
 * @returns the count.
 */
export function gmmParameters(k: number, d: number, covariance: "diag" | "full"): number {
  return k * d + k * (covariance === "full" ? (d * (d + 1)) / 2 : d) + k - 1;
}

/**
 * Fits every candidate k and scores it.
 *
 * @param x Codes, row-major `[n, d]`.
 * @param n Number of codes.
 * @param d Dimension.
 * @param ks Candidates, each 2 <= k <= n − 1 (a silhouette needs two clusters and a point to
 *   spare).
 * @param opts Method, fit settings and criterion.
 * @returns the scores and the chosen k.
 * @returns where no candidate has a value of the criterion, the k chosen by the first index
 *   that has one, with `unscored` naming the criterion asked for.
 * @throws RangeError when no candidate can be scored at all (every fit left one cluster); the
 *   promise rejects. The fits let the event loop run (Ctrl-C, progress) between iterations.
 * @example
 * ```ts
 * import { selectK } from "./select_k.ts";
 * // Three tight groups on a line.
 * const x = Float64Array.from([0, 0.1, 0.2, 5, 5.1, 5.2, 10, 10.1, 10.2]);
 * const r = await selectK(x, 9, 1, [2, 3, 4], { method: "kmeans", nInit: 5, maxIter: 100, tol: 1e-4, seed: 0 });
 * if (r.best !== 3) throw new Error(String(r.best));
 * ```
 */
export async function selectK(
  x: Float32Array | Float64Array,
  n: number,
  d: number,
  ks: number[],
  opts: SelectKOptions,
): Promise<KSelection> {
  const criterion = opts.criterion ?? "silhouette";
  if (criterion === "bic" && opts.method !== "gmm") {
    throw new RangeError("Cannot choose k by BIC with k-means: BIC needs --method gmm");
  }
  const bad = ks.filter((k) => k < 2 || k > n - 1);
  if (bad.length || ks.length === 0) {
    throw new RangeError(
      `Cannot choose k among [${ks}]: each candidate must lie in 2..${n - 1} (n = ${n} samples)`,
    );
  }
  const cov = opts.covariance ?? "diag";
  // In proportion to the codes' spread, once for every k: the fit must not depend on their scale.
  const regCovar = opts.method === "gmm" ? relativeRegCovar(x, n, d) : 0;
  const scores: KScore[] = [];
  for (const k of ks) {
    let labels: Int32Array, bic: number | null = null;
    if (opts.method === "kmeans") {
      labels = (await kmeansAsync(x, n, d, {
        k,
        nInit: opts.nInit,
        maxIter: opts.maxIter,
        tol: opts.tol,
        seed: opts.seed,
      })).labels;
    } else {
      const g = await gmmAsync(x, n, d, {
        k,
        covariance: cov,
        regCovar,
        maxIter: opts.maxIter,
        tol: opts.tol,
        nInit: Math.max(1, Math.min(opts.nInit, 10)),
        seed: opts.seed,
      });
      // Scored as DEC would start: each code in its nearest mean's cluster (see
      // nearestCentres); the BIC is the mixture's own.
      labels = nearestCentres(x, g.means, n, d);
      bic = -2 * g.logLikelihood * n + gmmParameters(k, d, cov) * Math.log(n);
    }
    const used = new Set(labels).size;
    const score: KScore = {
      k,
      inertia: withinClusterSS(x, n, d, labels),
      silhouette: used >= 2
        ? silhouette(x, n, d, labels, {
          sampleSize: opts.silhouetteSample ?? 4000,
          seed: opts.seed,
        })
        : NaN,
      calinskiHarabasz: used >= 2 ? calinskiHarabasz(x, n, d, labels) : NaN,
      daviesBouldin: used >= 2 ? daviesBouldin(x, n, d, labels) : NaN,
      bic,
      empty: k - used,
    };
    scores.push(score);
    opts.onK?.(score);
  }
  const scored = (c: KCriterion) => scores.some((s) => !Number.isNaN(criterionValue(s, c)));
  if (!scored(criterion)) {
    // A sampled silhouette can miss a small cluster at every k; the other indices use all points.
    const other = K_CRITERIA.find((c) => c !== "bic" && scored(c));
    if (!other) {
      throw new RangeError(
        `Cannot choose k among [${ks}]: no candidate could be scored (every fit left fewer than ` +
          `two non-empty clusters): the codes may be degenerate; pretrain longer, or try another --method`,
      );
    }
    return { scores, criterion: other, best: bestK(scores, other), unscored: criterion };
  }
  return { scores, criterion, best: bestK(scores, criterion) };
}

/** A score's value under a criterion, higher is better (NaN where it has none). */
function criterionValue(s: KScore, criterion: KCriterion): number {
  return criterion === "silhouette"
    ? s.silhouette
    : criterion === "calinski-harabasz"
    ? s.calinskiHarabasz
    : criterion === "davies-bouldin"
    ? -s.daviesBouldin
    : -(s.bic ?? NaN);
}

/**
 * The k a criterion picks: the highest silhouette or Calinski–Harabasz, the lowest
 * Davies–Bouldin or BIC; the smallest k among ties; NaN scores never win.
 *
 * @param scores Scores per candidate.
 * @param criterion The index.
 * @returns the chosen k.
 */
export function bestK(scores: KScore[], criterion: KCriterion): number {
  const value = (s: KScore): number => {
    const v = criterionValue(s, criterion);
    return Number.isNaN(v) ? -Infinity : v;
  };
  let best = scores[0];
  for (const s of scores) if (value(s) > value(best)) best = s;
  return best.k;
}

/**
 * The scores as CSV (`k,inertia,silhouette,calinski_harabasz,davies_bouldin,bic,empty,chosen`).
 *
 * @param sel A selection.
 * @returns the CSV text.
 */
export function kSelectionCsv(sel: KSelection): string {
  const f = (v: number | null) => (v === null || Number.isNaN(v) ? "" : String(v));
  const rows = sel.scores.map((s) =>
    [
      s.k,
      f(s.inertia),
      f(s.silhouette),
      f(s.calinskiHarabasz),
      f(s.daviesBouldin),
      f(s.bic),
      s.empty,
      s.k === sel.best ? 1 : 0,
    ].join(",")
  );
  return ["k,inertia,silhouette,calinski_harabasz,davies_bouldin,bic,empty,chosen", ...rows]
    .join("\n") + "\n";
}

/** The lines of k_selection.png, from {@linkcode kSelectionSeries}. */
export interface KSelectionChart {
  /** One line per index, each scaled to [0, 1] with 1 = best (lower-is-better ones negated). */
  series: Series[];
  /** The index of the line of the criterion k was chosen by. */
  criterionSeries: number;
  /** The chosen k and its scaled score (1: it is the criterion's best). */
  mark: { x: number; y: number; label: string };
}

const SERIES_OF: Record<KCriterion, number> = {
  "silhouette": 0,
  "calinski-harabasz": 1,
  "davies-bouldin": 2,
  "bic": 4,
};

/**
 * The lines of the k-selection chart: the silhouette and Calinski–Harabasz as they are (higher
 * is better), Davies–Bouldin, the inertia and a GMM's BIC negated (lower is better), each then
 * scaled to [0, 1] so that 1 is the best k by that index, named with its raw range (the legend
 * says how wide the differences really are). A score that could not be computed
 * (NaN: one cluster left) stays NaN and is not drawn. The mark sits on the chosen k of the
 * criterion's line.
 *
 * @param sel A selection.
 * @returns the series, which of them is the criterion's, and the mark.
 */
export function kSelectionSeries(sel: KSelection): KSelectionChart {
  const ks = sel.scores.map((s) => s.k);
  const scaled = (name: string, v: (number | null)[], lowerBetter: boolean): Series => {
    const xs = v.map((a) => (a === null || Number.isNaN(a) ? NaN : lowerBetter ? -a : a));
    const ok = xs.filter(Number.isFinite);
    const lo = Math.min(...ok), hi = Math.max(...ok);
    // The raw range in the legend: scaled to [0, 1], 0.29 to 0.38 looks as wide as 0 to 1.
    const raw = v.filter((a): a is number => a !== null && Number.isFinite(a));
    const fmt = (a: number) => Number(a.toPrecision(3)).toString();
    const range = raw.length ? ` ${fmt(Math.min(...raw))} to ${fmt(Math.max(...raw))}` : "";
    // All equal: each is the best. NaN stays NaN (before, it became 1 here: drawn as best).
    return {
      name: name + range,
      x: ks,
      y: xs.map((a) => (!Number.isFinite(a) ? NaN : hi > lo ? (a - lo) / (hi - lo) : 1)),
    };
  };
  const series = [
    scaled("silhouette", sel.scores.map((s) => s.silhouette), false),
    scaled("Calinski-Harabasz", sel.scores.map((s) => s.calinskiHarabasz), false),
    scaled("Davies-Bouldin (lower)", sel.scores.map((s) => s.daviesBouldin), true),
    // Always lower at a larger k: read its elbow, not its best.
    scaled("inertia (elbow)", sel.scores.map((s) => s.inertia), true),
  ];
  if (sel.scores.some((s) => s.bic !== null)) {
    series.push(scaled("BIC (lower)", sel.scores.map((s) => s.bic), true));
  }
  const criterionSeries = SERIES_OF[sel.criterion];
  const line = series[criterionSeries];
  const at = ks.indexOf(sel.best);
  return {
    series,
    criterionSeries,
    mark: { x: sel.best, y: line ? line.y[at] : NaN, label: `k = ${sel.best}` },
  };
}

/**
 * Writes k_selection.csv ({@linkcode kSelectionCsv}) and k_selection.png (each index scaled to
 * [0, 1], 1 = best, the chosen k marked on its criterion's line; {@linkcode kSelectionSeries})
 * into a model directory, atomically.
 *
 * @param dir Model directory.
 * @param sel The selection.
 * @param svg Also write k_selection.svg (else an older one is removed: it would be stale).
 */
export async function writeKSelection(dir: string, sel: KSelection, svg = false): Promise<void> {
  await writeFileAtomic(join(dir, "k_selection.csv"), kSelectionCsv(sel));
  const { series, mark } = kSelectionSeries(sel);
  await writeFigure(
    join(dir, "k_selection"),
    (format) =>
      lineChart(series, {
        format,
        title: `k selection: k = ${sel.best} by ${sel.criterion} (each index scaled, 1 = best)`,
        xLabel: "k",
        yLabel: "scaled index",
        mark,
      }),
    svg,
  );
}

/** The files of a k selection in a model directory. */
export const K_SELECTION_FILES: readonly string[] = [
  "k_selection.csv",
  "k_selection.png",
  "k_selection.svg",
];

/**
 * Removes the k selection of an earlier init from a model directory: the centres no longer
 * come from it.
 *
 * @param dir Model directory.
 */
export async function removeKSelection(dir: string): Promise<void> {
  for (const f of K_SELECTION_FILES) {
    await removeIfPresent(join(dir, f));
  }
}
