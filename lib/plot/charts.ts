/**
 * Charts rendered to PNG: line charts (learning curves), scatter plots
 * (2-D PCA of latent codes), heat maps (spectrograms, confusion matrices) and
 * image grids (example spectrograms per cluster).
 *
 * @module
 */

import { Canvas, type Rgb, textWidth } from "./canvas.ts";
import { categoryColor, viridis } from "./colors.ts";

const BLACK: Rgb = [0, 0, 0];
const GREY: Rgb = [110, 110, 110];
const GRID: Rgb = [230, 230, 230];
const WHITE: Rgb = [255, 255, 255];

/** Common chart options. */
export interface ChartOptions {
  /** Title above the plot. */
  title?: string;
  /** Label under the x axis. */
  xLabel?: string;
  /** Label left of the y axis. */
  yLabel?: string;
  /** Image width in pixels. Default 800. */
  width?: number;
  /** Image height in pixels. Default 500. */
  height?: number;
  /** Whole-number ticks only on the y axis (categories such as clusters). Linear axes only. */
  yIntegers?: boolean;
}

/** Options of {@linkcode lineChart}. */
export interface LineChartOptions extends ChartOptions {
  /** Logarithmic y axis; non-positive values are skipped. */
  logY?: boolean;
}

/** One line of a {@linkcode lineChart}. */
export interface Series {
  /** Legend entry. */
  name: string;
  /** Abscissae. */
  x: number[];
  /** Ordinates; non-finite values break the line. */
  y: number[];
}

/**
 * Tick positions at 1, 2 or 5 times a power of ten covering [lo, hi].
 *
 * @param lo Lower end.
 * @param hi Upper end (> lo).
 * @param target Approximate number of ticks.
 * @param integers Whole numbers only (a step of at least 1), for an axis of categories.
 * @returns the ticks within [lo, hi] and the step between them.
 * @example
 * ```ts
 * import { niceTicks } from "./charts.ts";
 * if (niceTicks(0, 1).ticks.join() !== "0,0.2,0.4,0.6,0.8,1") throw new Error();
 * ```
 */
export function niceTicks(
  lo: number,
  hi: number,
  target = 6,
  integers = false,
): { ticks: number[]; step: number } {
  const raw = Math.max((hi - lo) / Math.max(1, target - 1), integers ? 1 : 0);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  const ticks: number[] = [];
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) {
    // Multiply (not accumulate) and round away binary noise such as 0.30000000000000004.
    ticks.push(Number((i * step).toPrecision(12)));
  }
  return { ticks, step };
}

/**
 * @param v Tick value.
 * @param step Spacing of the ticks (sets the decimals).
 * @returns a short label for `v`.
 */
export function formatTick(v: number, step: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(step / a < 0.1 ? 1 : 0).replace("e+", "e");
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

interface Frame {
  canvas: Canvas;
  left: number;
  top: number;
  w: number;
  h: number;
}

function frame(opts: ChartOptions, rightExtra = 0): Frame {
  const width = opts.width ?? 800, height = opts.height ?? 500;
  const canvas = new Canvas(width, height);
  const left = opts.yLabel ? 84 : 66, top = opts.title ? 40 : 16;
  const bottom = opts.xLabel ? 56 : 36, right = 20 + rightExtra;
  if (opts.title) canvas.text(opts.title, width / 2, 12, BLACK, { scale: 2, align: "center" });
  const w = width - left - right, h = height - top - bottom;
  if (w < 20 || h < 20) {
    throw new RangeError(
      `Cannot draw chart: ${width} x ${height} pixels leave no room for the plot area`,
    );
  }
  if (opts.xLabel) {
    canvas.text(opts.xLabel, left + w / 2, height - 8, BLACK, {
      scale: 2,
      align: "center",
      valign: "bottom",
    });
  }
  if (opts.yLabel) {
    canvas.text(opts.yLabel, 8, top + h / 2, BLACK, { scale: 2, align: "center", rotate: true });
  }
  return { canvas, left, top, w, h };
}

interface Axis {
  lo: number;
  hi: number;
  log: boolean;
}

function range(values: Iterable<number>, log: boolean): Axis {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v) || (log && v <= 0)) continue;
    const u = log ? Math.log10(v) : v;
    if (u < lo) lo = u;
    if (u > hi) hi = u;
  }
  if (lo === Infinity) {
    lo = 0;
    hi = 1;
  } else if (hi - lo < 1e-12 * Math.max(1, Math.abs(hi))) {
    const pad = log ? 0.5 : Math.max(Math.abs(hi) * 0.1, 0.5);
    lo -= pad;
    hi += pad;
  } else {
    const pad = (hi - lo) * 0.04;
    lo -= pad;
    hi += pad;
  }
  return { lo, hi, log };
}

function axisTicks(ax: Axis, target: number, integers = false): { pos: number; label: string }[] {
  if (ax.log) {
    const lo = Math.ceil(ax.lo - 1e-9), hi = Math.floor(ax.hi + 1e-9);
    if (ax.hi - ax.lo <= 2.5) {
      // Two decades or less: label 1, 2 and 5 times each power of ten.
      const out = [];
      for (let e = Math.floor(ax.lo); e <= Math.ceil(ax.hi); e++) {
        for (const m of [1, 2, 5]) {
          const pos = e + Math.log10(m);
          if (pos >= ax.lo && pos <= ax.hi) {
            out.push({ pos, label: m === 1 ? powerLabel(e) : formatTick(m * 10 ** e, 10 ** e) });
          }
        }
      }
      if (out.length >= 2) return out;
    }
    if (hi - lo >= 1) {
      const every = Math.ceil((hi - lo + 1) / target);
      const out = [];
      for (let e = lo; e <= hi; e += every) out.push({ pos: e, label: powerLabel(e) });
      return out;
    }
    // Less than a decade: linear ticks in value space.
    const { ticks, step } = niceTicks(10 ** ax.lo, 10 ** ax.hi, target);
    return ticks.filter((t) => t > 0).map((t) => ({
      pos: Math.log10(t),
      label: formatTick(t, step),
    }));
  }
  const { ticks, step } = niceTicks(ax.lo, ax.hi, target, integers);
  return ticks.map((t) => ({ pos: t, label: formatTick(t, step) }));
}

function powerLabel(e: number): string {
  return e >= -3 && e <= 4 ? String(Number((10 ** e).toPrecision(6))) : `1e${e}`;
}

function drawAxes(f: Frame, ax: Axis, ay: Axis, grid = true, yIntegers = false): void {
  const { canvas, left, top, w, h } = f;
  const xt = axisTicks(ax, Math.max(2, Math.floor(w / 90)));
  const yt = axisTicks(ay, Math.max(2, Math.floor(h / 50)), yIntegers);
  for (const t of xt) {
    const px = left + ((t.pos - ax.lo) / (ax.hi - ax.lo)) * (w - 1);
    if (grid) canvas.fillRect(px, top, 1, h, GRID);
    canvas.fillRect(px, top + h, 1, 5, BLACK);
    canvas.text(t.label, px, top + h + 8, BLACK, { align: "center" });
  }
  for (const t of yt) {
    const py = top + h - 1 - ((t.pos - ay.lo) / (ay.hi - ay.lo)) * (h - 1);
    if (grid) canvas.fillRect(left, py, w, 1, GRID);
    canvas.fillRect(left - 5, py, 5, 1, BLACK);
    canvas.text(t.label, left - 8, py, BLACK, { align: "right", valign: "middle" });
  }
  canvas.strokeRect(left - 1, top - 1, w + 2, h + 2, BLACK);
}

function legend(f: Frame, entries: { name: string; color: Rgb }[], marker: "line" | "dot"): void {
  if (entries.length === 0) return;
  const { canvas, left, top, w } = f;
  const shown = entries.slice(0, 20);
  const lw = Math.max(...shown.map((e) => textWidth(e.name))) + 34;
  const lh = shown.length * 14 + 8;
  const x = left + w - lw - 8, y = top + 8;
  canvas.fillRect(x, y, lw, lh, WHITE, 0.85);
  canvas.strokeRect(x, y, lw, lh, GREY);
  shown.forEach((e, i) => {
    const cy = y + 10 + i * 14;
    if (marker === "line") canvas.line(x + 6, cy, x + 22, cy, e.color, 2);
    else canvas.dot(x + 14, cy, 3, e.color);
    canvas.text(e.name, x + 28, cy, BLACK, { valign: "middle" });
  });
  if (entries.length > shown.length) {
    canvas.text(`+${entries.length - shown.length} more`, x + 4, y + lh + 4, GREY);
  }
}

function mapper(ax: Axis, start: number, size: number, flip: boolean): (v: number) => number {
  return (v: number) => {
    if (ax.log) v = v > 0 ? Math.log10(v) : NaN;
    const t = (v - ax.lo) / (ax.hi - ax.lo);
    return flip ? start + size - 1 - t * (size - 1) : start + t * (size - 1);
  };
}

/**
 * Draws lines of y against x, e.g. training and validation loss per epoch.
 *
 * @param series The lines, each with a legend name.
 * @param opts Title, axis labels, log y axis and size.
 * @returns the chart as PNG bytes.
 * @example
 * ```ts
 * import { lineChart } from "./charts.ts";
 * const png = lineChart([{ name: "train", x: [1, 2, 3], y: [1, 0.5, 0.3] }], { logY: true });
 * if (png.length < 100) throw new Error();
 * ```
 */
export function lineChart(series: Series[], opts: LineChartOptions = {}): Uint8Array {
  for (const s of series) {
    if (s.x.length !== s.y.length) {
      throw new TypeError(
        `Cannot draw line chart: series "${s.name}" has ${s.x.length} x values and ${s.y.length} y values`,
      );
    }
  }
  const f = frame(opts);
  const ax = range(series.flatMap((s) => s.x), false);
  const ay = range(series.flatMap((s) => s.y), opts.logY ?? false);
  drawAxes(f, ax, ay);
  const mx = mapper(ax, f.left, f.w, false), my = mapper(ay, f.top, f.h, true);
  series.forEach((s, k) => {
    const c = categoryColor(k);
    let prev: [number, number] | null = null;
    for (let i = 0; i < s.x.length; i++) {
      const px = mx(s.x[i]), py = my(s.y[i]);
      if (!Number.isFinite(px) || !Number.isFinite(py)) {
        prev = null;
        continue;
      }
      if (prev) f.canvas.line(prev[0], prev[1], px, py, c, 2);
      else if (i + 1 >= s.x.length || !Number.isFinite(my(s.y[i + 1]))) f.canvas.dot(px, py, 2, c);
      prev = [px, py];
    }
  });
  legend(f, series.map((s, k) => ({ name: s.name, color: categoryColor(k) })), "line");
  return f.canvas.toPng();
}

/** Points of a {@linkcode scatterChart}. */
export interface ScatterPoints {
  /** Abscissae. */
  x: Float64Array;
  /** Ordinates. */
  y: Float64Array;
  /** Group (e.g. cluster) of each point, >= 0; sets its colour. */
  groups: Int32Array;
  /** Legend name of each group (default "cluster <i>"). */
  groupNames?: string[];
}

/**
 * Draws points coloured by group, e.g. the 2-D PCA of latent codes by cluster.
 *
 * @param points Coordinates and groups.
 * @param opts Title, axis labels and size.
 * @returns the chart as PNG bytes.
 * @example
 * ```ts
 * import { scatterChart } from "./charts.ts";
 * const png = scatterChart({
 *   x: new Float64Array([0, 1]), y: new Float64Array([1, 0]), groups: new Int32Array([0, 1]),
 * }, { title: "PCA" });
 * if (png.length < 100) throw new Error();
 * ```
 */
export function scatterChart(points: ScatterPoints, opts: ChartOptions = {}): Uint8Array {
  const { x, y, groups } = points;
  if (x.length !== y.length || x.length !== groups.length) {
    throw new TypeError(
      `Cannot draw scatter chart: x, y and groups must have equal lengths: found ${x.length}, ${y.length}, ${groups.length}`,
    );
  }
  const f = frame(opts);
  const ax = range(x, false), ay = range(y, false);
  drawAxes(f, ax, ay, true, opts.yIntegers);
  const mx = mapper(ax, f.left, f.w, false), my = mapper(ay, f.top, f.h, true);
  let nGroups = 0;
  const counts = new Map<number, number>();
  for (let i = 0; i < groups.length; i++) {
    nGroups = Math.max(nGroups, groups[i] + 1);
    counts.set(groups[i], (counts.get(groups[i]) ?? 0) + 1);
  }
  // Small translucent dots so that dense regions stay readable.
  const r = x.length > 5000 ? 1.5 : 2.5, alpha = x.length > 5000 ? 0.5 : 0.8;
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) continue;
    f.canvas.dot(mx(x[i]), my(y[i]), r, categoryColor(groups[i]), alpha);
  }
  const names = points.groupNames ?? [];
  const entries = [];
  for (let g = 0; g < Math.max(nGroups, names.length); g++) {
    const name = names[g] ?? `cluster ${g}`;
    entries.push({ name: `${name} (${counts.get(g) ?? 0})`, color: categoryColor(g) });
  }
  legend(f, entries, "dot");
  return f.canvas.toPng();
}

/** Options of {@linkcode heatmap}. */
export interface HeatmapOptions extends ChartOptions {
  /** Draw row 0 at the bottom (spectrograms: low frequencies down). Default true. */
  originLower?: boolean;
  /** Colour scale minimum (default: the data minimum). */
  vmin?: number;
  /** Colour scale maximum (default: the data maximum). */
  vmax?: number;
  /** Names of the rows (e.g. class names); replaces numeric y ticks. */
  rowLabels?: string[];
  /** Names of the columns (e.g. cluster ids); replaces numeric x ticks. */
  colLabels?: string[];
  /** Axis values spanned by the columns, [first, last] (e.g. time in s). */
  xExtent?: [number, number];
  /** Axis values spanned by the rows, [first, last] (e.g. frequency in Hz). */
  yExtent?: [number, number];
  /** Write each cell's value in it (confusion matrices). Default false. */
  annotate?: boolean;
  /** Draw a colour bar with its scale. Default true. */
  colorbar?: boolean;
}

/**
 * Draws a matrix as a colour image (viridis), e.g. a spectrogram or a confusion matrix.
 *
 * @param values Row-major `[rows, cols]`; non-finite values are grey.
 * @param rows Number of rows.
 * @param cols Number of columns.
 * @param opts Labels, orientation, colour range and annotations.
 * @returns the chart as PNG bytes.
 * @example
 * ```ts
 * import { heatmap } from "./charts.ts";
 * const png = heatmap(new Float32Array([1, 2, 3, 4]), 2, 2, { annotate: true });
 * if (png.length < 100) throw new Error();
 * ```
 */
export function heatmap(
  values: Float32Array | Float64Array,
  rows: number,
  cols: number,
  opts: HeatmapOptions = {},
): Uint8Array {
  if (values.length !== rows * cols || rows < 1 || cols < 1) {
    throw new TypeError(
      `Cannot draw heatmap: expected rows * cols = ${rows} * ${cols} values: found ${values.length}`,
    );
  }
  const showBar = opts.colorbar ?? true;
  const rowNameWidth = opts.rowLabels ? Math.max(...opts.rowLabels.map((s) => textWidth(s))) : 0;
  const f = frame(
    { ...opts, height: opts.height ?? 500 },
    showBar ? 80 : 0,
  );
  // Row names need more room than numeric ticks: shift the plot right if needed.
  const shift = Math.max(0, rowNameWidth + 12 - (f.left - (opts.yLabel ? 24 : 0)));
  f.left += shift;
  f.w -= shift;
  const { canvas, left, top, w, h } = f;
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  lo = opts.vmin ?? (lo === Infinity ? 0 : lo);
  hi = opts.vmax ?? (hi === -Infinity ? 1 : hi);
  const span = hi > lo ? hi - lo : 1;
  const lower = opts.originLower ?? true;
  for (let py = 0; py < h; py++) {
    const rr = Math.min(rows - 1, Math.floor((py * rows) / h));
    const r = lower ? rows - 1 - rr : rr;
    for (let px = 0; px < w; px++) {
      const c = Math.min(cols - 1, Math.floor((px * cols) / w));
      canvas.set(left + px, top + py, viridis((values[r * cols + c] - lo) / span));
    }
  }
  canvas.strokeRect(left - 1, top - 1, w + 2, h + 2, BLACK);
  const cellW = w / cols, cellH = h / rows;
  const rowY = (r: number) => top + ((lower ? rows - 1 - r : r) + 0.5) * cellH;
  if (opts.annotate) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const v = values[r * cols + c];
        const label = Number.isInteger(v) ? String(v) : v.toPrecision(3);
        if (textWidth(label) > cellW - 2 || cellH < 9) continue;
        const t = (v - lo) / span;
        canvas.text(label, left + (c + 0.5) * cellW, rowY(r), t > 0.6 ? BLACK : WHITE, {
          align: "center",
          valign: "middle",
        });
      }
    }
  }
  if (opts.colLabels) {
    const every = Math.max(
      1,
      Math.ceil(Math.max(...opts.colLabels.map((s) => textWidth(s) + 6)) / cellW),
    );
    opts.colLabels.forEach((s, c) => {
      if (c % every === 0) {
        canvas.text(s, left + (c + 0.5) * cellW, top + h + 6, BLACK, { align: "center" });
      }
    });
  } else {
    const [x0, x1] = opts.xExtent ?? [0, cols - 1];
    axisTicksAlong(
      canvas,
      x0,
      x1,
      (v) => left + ((v - x0) / (x1 - x0 || 1)) * (cols - 1) * cellW + cellW / 2,
      "x",
      top + h,
      Math.floor(w / 90),
    );
  }
  if (opts.rowLabels) {
    const every = Math.max(1, Math.ceil(12 / cellH));
    opts.rowLabels.forEach((s, r) => {
      if (r % every === 0) {
        canvas.text(s, left - 6, rowY(r), BLACK, { align: "right", valign: "middle" });
      }
    });
  } else {
    const [y0, y1] = opts.yExtent ?? [0, rows - 1];
    axisTicksAlong(
      canvas,
      y0,
      y1,
      (v) => rowY(((v - y0) / (y1 - y0 || 1)) * (rows - 1)),
      "y",
      left,
      Math.floor(h / 50),
    );
  }
  if (showBar) {
    const bx = left + w + 16, bw = 16;
    for (let py = 0; py < h; py++) canvas.fillRect(bx, top + py, bw, 1, viridis(1 - py / (h - 1)));
    canvas.strokeRect(bx - 1, top - 1, bw + 2, h + 2, BLACK);
    const { ticks, step } = niceTicks(lo, lo + span, Math.max(2, Math.floor(h / 50)));
    for (const t of ticks) {
      const py = top + h - 1 - ((t - lo) / span) * (h - 1);
      canvas.fillRect(bx + bw, py, 4, 1, BLACK);
      canvas.text(formatTick(t, step), bx + bw + 6, py, BLACK, { valign: "middle" });
    }
  }
  return canvas.toPng();
}

function axisTicksAlong(
  canvas: Canvas,
  v0: number,
  v1: number,
  toPx: (v: number) => number,
  axis: "x" | "y",
  at: number,
  target: number,
): void {
  const a = Math.min(v0, v1), b = Math.max(v0, v1);
  if (!(b > a)) return;
  const { ticks, step } = niceTicks(a, b, Math.max(2, target));
  for (const t of ticks) {
    const p = toPx(t);
    if (axis === "x") {
      canvas.fillRect(p, at, 1, 5, BLACK);
      canvas.text(formatTick(t, step), p, at + 8, BLACK, { align: "center" });
    } else {
      canvas.fillRect(at - 5, p, 5, 1, BLACK);
      canvas.text(formatTick(t, step), at - 8, p, BLACK, { align: "right", valign: "middle" });
    }
  }
}

/** One tile of an {@linkcode imageGrid}. */
export interface GridImage {
  /** Row-major `[rows, cols]` values. */
  data: Float32Array;
  /** Number of rows (e.g. frequency bins). */
  rows: number;
  /** Number of columns (e.g. time frames). */
  cols: number;
  /** Caption under the tile, cut to the tile's width (ending in "..") when longer. */
  label?: string;
}

/** Options of {@linkcode imageGrid}. */
export interface ImageGridOptions {
  /** Title above the grid. */
  title?: string;
  /** Tile width in pixels. Default 120. */
  tileWidth?: number;
  /** Tile height in pixels. Default 90. */
  tileHeight?: number;
  /** Draw row 0 of each image at the bottom. Default true. */
  originLower?: boolean;
  /** Names of the grid rows (e.g. "cluster 0"), drawn at the left. */
  rowLabels?: string[];
  /** One colour scale for all tiles instead of one per tile. Default false. */
  sharedScale?: boolean;
}

/**
 * Lays images out in a grid, each scaled to a tile and coloured by viridis,
 * e.g. example spectrograms per cluster (one cluster per grid row).
 *
 * @param images The images, filled row by row.
 * @param gridCols Tiles per grid row.
 * @param opts Tile size, captions and colour scaling.
 * @returns the grid as PNG bytes.
 * @example
 * ```ts
 * import { imageGrid } from "./charts.ts";
 * const img = { data: new Float32Array([0, 1, 2, 3]), rows: 2, cols: 2 };
 * if (imageGrid([img, img, img], 2).length < 100) throw new Error();
 * ```
 */
export function imageGrid(
  images: GridImage[],
  gridCols: number,
  opts: ImageGridOptions = {},
): Uint8Array {
  if (!Number.isInteger(gridCols) || gridCols < 1) {
    throw new RangeError(
      `Cannot draw image grid: gridCols must be >= 1: current value is ${gridCols}`,
    );
  }
  if (images.length === 0) throw new RangeError("Cannot draw image grid: no images given");
  images.forEach((im, i) => {
    if (im.data.length !== im.rows * im.cols || im.rows < 1 || im.cols < 1) {
      throw new TypeError(
        `Cannot draw image grid: image ${i} must hold rows * cols = ${
          im.rows * im.cols
        } values: found ${im.data.length}`,
      );
    }
  });
  const tw = opts.tileWidth ?? 120, th = opts.tileHeight ?? 90, gap = 6;
  const captions = images.some((im) => im.label);
  const cellH = th + gap + (captions ? 12 : 0);
  const gridRows = Math.ceil(images.length / gridCols);
  const labelW = opts.rowLabels ? Math.max(...opts.rowLabels.map((s) => textWidth(s))) + 12 : 0;
  const top = opts.title ? 36 : 8;
  // Wide enough for the title (scale 2) when the tiles are fewer than its letters.
  const titleW = opts.title ? textWidth(opts.title, 2) + 16 : 0;
  const width = Math.max(labelW + gridCols * (tw + gap) + gap, titleW);
  const height = top + gridRows * cellH + gap;
  const canvas = new Canvas(width, height);
  if (opts.title) canvas.text(opts.title, width / 2, 10, BLACK, { scale: 2, align: "center" });
  let glo = Infinity, ghi = -Infinity;
  if (opts.sharedScale) {
    for (const im of images) {
      for (const v of im.data) {
        if (!Number.isFinite(v)) continue;
        glo = Math.min(glo, v);
        ghi = Math.max(ghi, v);
      }
    }
  }
  const lower = opts.originLower ?? true;
  images.forEach((im, i) => {
    const gr = Math.floor(i / gridCols), gc = i % gridCols;
    const x0 = labelW + gap + gc * (tw + gap), y0 = top + gr * cellH;
    let lo = glo, hi = ghi;
    if (!opts.sharedScale) {
      lo = Infinity;
      hi = -Infinity;
      for (const v of im.data) {
        if (!Number.isFinite(v)) continue;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
    const span = hi > lo ? hi - lo : 1;
    for (let py = 0; py < th; py++) {
      const rr = Math.min(im.rows - 1, Math.floor((py * im.rows) / th));
      const r = lower ? im.rows - 1 - rr : rr;
      for (let px = 0; px < tw; px++) {
        const c = Math.min(im.cols - 1, Math.floor((px * im.cols) / tw));
        canvas.set(x0 + px, y0 + py, viridis((im.data[r * im.cols + c] - lo) / span));
      }
    }
    if (im.label) {
      canvas.text(fitText(im.label, tw), x0 + tw / 2, y0 + th + 3, BLACK, { align: "center" });
    }
  });
  opts.rowLabels?.forEach((s, r) => {
    if (r < gridRows) canvas.text(s, 6, top + r * cellH + th / 2, BLACK, { valign: "middle" });
  });
  return canvas.toPng();
}

/** `s` cut to at most `width` pixels at scale 1, ending in ".." when cut (a caption under a tile). */
function fitText(s: string, width: number): string {
  if (textWidth(s) <= width) return s;
  const chars = [...s];
  while (chars.length > 0 && textWidth(chars.join("") + "..") > width) chars.pop();
  return chars.join("") + "..";
}
