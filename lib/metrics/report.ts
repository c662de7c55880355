/**
 * One-call evaluation of a clustering against optional class labels and
 * latent codes, and its text rendering.
 *
 * @module
 */

import { ari, clusteringAccuracy, clusterSizes, encodeLabels, nmi } from "./clustering.ts";
import { silhouette } from "./silhouette.ts";
import { calinskiHarabasz, daviesBouldin } from "./internal.ts";

/** Options of {@linkcode evaluateClustering}. */
export interface EvaluateOptions {
  /** Cluster of each sample, integers in [0, k). */
  pred: Int32Array;
  /** Number of clusters. */
  k: number;
  /** Class name of each sample, null where unknown; enables ACC/NMI/ARI/confusion. */
  truth?: (string | null)[];
  /** Latent codes `[n, dim]`; enables the silhouette. */
  latent?: Float32Array;
  /** Dimension of the latent codes. */
  dim?: number;
  /** Seed of the silhouette sample (used when n > 4000). Default 0. */
  seed?: number;
}

/** Result of {@linkcode evaluateClustering}; JSON-serialisable. */
export interface EvaluationReport {
  /** Number of samples. */
  n: number;
  /** Number of clusters. */
  k: number;
  /** Points per cluster, `[k]`. */
  sizes: number[];
  /** Samples with a known class label (those scored by ACC/NMI/ARI). */
  labelled: number;
  /** Class names, sorted; the rows of `confusion`. Empty without truth. */
  classes: string[];
  /** Clustering accuracy under the best one-to-one matching; null without labelled samples. */
  acc: number | null;
  /** Normalised mutual information (arithmetic mean); null without labelled samples. */
  nmi: number | null;
  /** Adjusted Rand index; null without labelled samples. */
  ari: number | null;
  /** Counts `[classes.length, k]`: labelled samples of class i in cluster j; null without truth. */
  confusion: number[][] | null;
  /** Class that each cluster maps to in the ACC matching (null: unmatched), `[k]`. */
  clusterToClass: (string | null)[] | null;
  /**
   * Mean silhouette of the latent codes; null without latent codes, with < 2 clusters used, or
   * when its sample (n > 4000) drew from one cluster only.
   */
  silhouette: number | null;
  /** Calinski–Harabasz index of the latent codes (higher is better); null as the silhouette. */
  calinskiHarabasz: number | null;
  /** Davies–Bouldin index of the latent codes (lower is better); null as the silhouette. */
  daviesBouldin: number | null;
}

/**
 * Scores a clustering: cluster sizes always; ACC, NMI, ARI and the confusion
 * matrix on the samples whose class is known; the silhouette of the latent
 * codes when they are given.
 *
 * @param opts Predicted clusters, and optional truth and latent codes.
 * @returns the report.
 * @example
 * ```ts
 * import { evaluateClustering } from "./report.ts";
 * const r = evaluateClustering({
 *   pred: new Int32Array([1, 1, 0, 0]),
 *   k: 2,
 *   truth: ["a", "a", "b", null],
 * });
 * if (r.acc !== 1 || r.labelled !== 3) throw new Error();
 * ```
 */
export function evaluateClustering(opts: EvaluateOptions): EvaluationReport {
  const { pred, k } = opts;
  const n = pred.length;
  const sizes = clusterSizes(pred, k);
  const report: EvaluationReport = {
    n,
    k,
    sizes,
    labelled: 0,
    classes: [],
    acc: null,
    nmi: null,
    ari: null,
    confusion: null,
    clusterToClass: null,
    silhouette: null,
    calinskiHarabasz: null,
    daviesBouldin: null,
  };
  if (opts.truth) {
    if (opts.truth.length !== n) {
      throw new TypeError(
        `Cannot evaluate clustering: expected ${n} truth labels: found ${opts.truth.length}`,
      );
    }
    const { codes, classes } = encodeLabels(opts.truth);
    const t: number[] = [], p: number[] = [];
    const confusion = classes.map(() => new Array<number>(k).fill(0));
    for (let i = 0; i < n; i++) {
      if (codes[i] < 0) continue;
      t.push(codes[i]);
      p.push(pred[i]);
      confusion[codes[i]][pred[i]]++;
    }
    report.labelled = t.length;
    report.classes = classes;
    report.confusion = confusion;
    if (t.length > 0) {
      const { acc, mapping } = clusteringAccuracy(t, p);
      report.acc = acc;
      report.nmi = nmi(t, p);
      report.ari = ari(t, p);
      report.clusterToClass = Array.from({ length: k }, (_, j) => {
        const c = mapping.get(j);
        return c === undefined ? null : classes[c];
      });
    }
  }
  if (opts.latent) {
    const dim = opts.dim;
    if (dim === undefined || !Number.isInteger(dim) || dim < 1) {
      throw new TypeError(
        `Cannot evaluate clustering: dim must be a positive integer with latent: found ${dim}`,
      );
    }
    if (opts.latent.length !== n * dim) {
      throw new TypeError(
        `Cannot evaluate clustering: latent must hold n * dim = ${
          n * dim
        } values: found ${opts.latent.length}`,
      );
    }
    const bad = opts.latent.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new RangeError(
        `Cannot evaluate clustering: the latent code of sample ${Math.floor(bad / dim)} has ${
          opts.latent[bad]
        } at coordinate ${bad % dim}: expected finite values`,
      );
    }
    const used = sizes.filter((s) => s > 0).length;
    if (used >= 2 && used <= Math.min(n, 4000) - 1) {
      const s = silhouette(opts.latent, n, dim, pred, { seed: opts.seed ?? 0 });
      report.silhouette = Number.isNaN(s) ? null : s;
    }
    if (used >= 2 && used <= n - 1) {
      report.calinskiHarabasz = calinskiHarabasz(opts.latent, n, dim, pred);
      report.daviesBouldin = daviesBouldin(opts.latent, n, dim, pred);
    }
  }
  return report;
}

function fmt(v: number | null): string {
  return v === null ? "n/a" : v.toFixed(4);
}

/**
 * Renders a report as a plain-text table: scores, cluster sizes, and the
 * confusion matrix with class names as rows and clusters as columns.
 *
 * @param report A report from {@linkcode evaluateClustering}.
 * @returns multi-line text ending in a newline.
 * @example
 * ```ts
 * import { evaluateClustering, formatReport } from "./report.ts";
 * const text = formatReport(evaluateClustering({ pred: new Int32Array([0, 1]), k: 2 }));
 * if (!text.includes("Cluster sizes")) throw new Error(text);
 * ```
 */
export function formatReport(report: EvaluationReport): string {
  const lines: string[] = [];
  lines.push(`Clustering of ${report.n} samples into k = ${report.k} clusters`);
  // Truth given but no sample labelled (a dataset without labels): no scores, no empty matrix.
  const confusion = report.labelled > 0 ? report.confusion : null;
  if (report.confusion && !confusion) {
    lines.push(`Labelled samples: 0 of ${report.n}: no ACC, NMI, ARI or confusion matrix`);
  }
  if (confusion) {
    lines.push(
      `Labelled samples: ${report.labelled} of ${report.n} (${report.classes.length} classes)`,
    );
    lines.push(`ACC ${fmt(report.acc)}   NMI ${fmt(report.nmi)}   ARI ${fmt(report.ari)}`);
  }
  if (report.silhouette !== null) lines.push(`Silhouette (latent) ${fmt(report.silhouette)}`);
  if (report.calinskiHarabasz !== null && report.daviesBouldin !== null) {
    lines.push(
      `Calinski-Harabasz (latent) ${
        report.calinskiHarabasz.toPrecision(5)
      }   Davies-Bouldin (latent) ${fmt(report.daviesBouldin)}`,
    );
  }
  lines.push("");
  const clusterHead = Array.from({ length: report.k }, (_, j) => `c${j}`);
  const table: string[][] = [["", ...clusterHead, "total"]];
  table.push(["size", ...report.sizes.map(String), String(report.n)]);
  if (confusion) {
    confusion.forEach((row, i) => {
      table.push([report.classes[i], ...row.map(String), String(row.reduce((s, v) => s + v, 0))]);
    });
    if (report.clusterToClass) {
      table.push(["-> class", ...report.clusterToClass.map((c) => c ?? "-"), ""]);
    }
  }
  const widths = table[0].map((_, j) => Math.max(...table.map((r) => r[j].length)));
  lines.push(
    confusion
      ? "Cluster sizes and confusion matrix (rows: classes, columns: clusters)"
      : "Cluster sizes",
  );
  for (const [r, row] of table.entries()) {
    lines.push(
      row.map((cell, j) => j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j])).join("  ")
        .trimEnd(),
    );
    if (r === 1 && confusion) {
      lines.push(widths.map((w) => "-".repeat(w)).join("  "));
    }
  }
  return lines.join("\n") + "\n";
}
