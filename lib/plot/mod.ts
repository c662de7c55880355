/**
 * Dependency-free plotting to PNG: a PNG encoder, an RGBA canvas with a 5×7
 * bitmap font, and line, scatter, heat-map and image-grid charts.
 *
 * @example
 * ```ts
 * import { lineChart } from "./mod.ts";
 * const png = lineChart([{ name: "loss", x: [0, 1], y: [2, 1] }], { title: "Loss" });
 * if (png[0] !== 137) throw new Error();
 * ```
 *
 * @module
 */

export * from "./png.ts";
export * from "./canvas.ts";
export * from "./colors.ts";
export * from "./charts.ts";
export * from "./svg.ts";
export * from "./figure.ts";
