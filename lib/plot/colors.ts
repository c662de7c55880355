/**
 * Colours: a categorical palette and the viridis colour map.
 *
 * @module
 */

import type { Rgb } from "./canvas.ts";

function hex(h: string): Rgb {
  return [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];
}

/** Categorical colours (matplotlib's tab10, then tab20's lighter shades). */
export const PALETTE: readonly Rgb[] = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
  "#aec7e8",
  "#ffbb78",
  "#98df8a",
  "#ff9896",
  "#c5b0d5",
  "#c49c94",
  "#f7b6d2",
  "#c7c7c7",
  "#dbdb8d",
  "#9edae5",
].map(hex);

/**
 * @param i Category index (>= 0); wraps around after 20.
 * @returns the palette colour of category `i`.
 */
export function categoryColor(i: number): Rgb {
  return PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length];
}

// matplotlib's viridis sampled at 0, 0.1, ..., 1.
const VIRIDIS = [
  "#440154",
  "#482475",
  "#414487",
  "#355f8d",
  "#2a788e",
  "#21918c",
  "#22a884",
  "#44bf70",
  "#7ad151",
  "#bddf26",
  "#fde725",
].map(hex);

/**
 * Viridis colour map, linearly interpolated between 11 samples.
 *
 * @param t Position in [0, 1] (clamped; NaN gives grey).
 * @returns the colour.
 * @example
 * ```ts
 * import { viridis } from "./colors.ts";
 * if (viridis(0).join() !== "68,1,84") throw new Error();
 * ```
 */
export function viridis(t: number): Rgb {
  if (Number.isNaN(t)) return [128, 128, 128];
  const u = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(u)), f = u - i;
  const a = VIRIDIS[i], b = VIRIDIS[i + 1];
  return [
    Math.round(a[0] + (b[0] - a[0]) * f),
    Math.round(a[1] + (b[1] - a[1]) * f),
    Math.round(a[2] + (b[2] - a[2]) * f),
  ];
}
