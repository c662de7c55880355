/**
 * Clustering metrics: ACC (Hungarian matching), NMI, ARI, confusion matrix,
 * silhouette, Calinski–Harabasz, Davies–Bouldin, cluster sizes, and a one-call evaluation
 * report.
 *
 * @example
 * ```ts
 * import { nmi } from "./mod.ts";
 * if (nmi([0, 1], [1, 0]) !== 1) throw new Error();
 * ```
 *
 * @module
 */

export * from "./hungarian.ts";
export * from "./clustering.ts";
export * from "./silhouette.ts";
export * from "./internal.ts";
export * from "./report.ts";
