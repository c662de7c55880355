/**
 * Charts rendered to PNG or SVG (`format`): line charts (learning curves), scatter plots
 * (2-D PCA of latent codes), heat maps (spectrograms, confusion matrices) and
 * image grids (example spectrograms per cluster).
 *
 * @module
 */

import { Canvas, type Rgb, type Surface, textWidth } from "./canvas.ts";
import { SvgCanvas } from "./svg.ts";
import { GLYPH_HEIGHT as GLYPH_ROW } from "./_font.ts";
import { categoryColor, viridis } from "./colors.ts";

const BLACK: Rgb = [0, 0, 0];
const GREY: Rgb = [110, 110, 110];
const GRID: Rgb = [230, 230, 230];
const WHITE: Rgb = [255, 255, 255];

/** The file format a chart is drawn in: a PNG raster or an SVG vector figure. */
export type FigureFormat = "png" | "svg";

/** @returns a blank white drawing surface of the format. */
function surface(format: FigureFormat | undefined, width: number, height: number): Surface {
  return format === "svg" ? new SvgCanvas(width, height) : new Canvas(width, height);
}

/** Common chart options. */
export interface ChartOptions {
  /** "png" (default) or "svg": what the chart's bytes are. */
  format?: FigureFormat;
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
  /**
   * The x values are times in ms since 1970-01-01 UTC: ticks fall on calendar years, months, days,
   * hours, minutes or seconds, whichever suits the span ({@linkcode dateTicks}). Scatter charts only.
   */
  xDates?: boolean;
  /**
   * The y axis's extent [low, high] instead of the data's range with a margin (e.g. [−0.5,
   * k − 0.5] for rows of k categories, so that every row's tick shows). Scatter charts only.
   */
  yRange?: [number, number];
}

/** A point a {@linkcode lineChart} marks, e.g. the chosen k on a k-selection chart. */
export interface ChartMark {
  /** Abscissa: a dashed vertical line is drawn there, across the plot. */
  x: number;
  /** Ordinate: a ring is drawn around (x, y) when given (and finite). */
  y?: number;
  /** Text beside the line's top, e.g. `k = 5`. */
  label?: string;
}

/** Options of {@linkcode lineChart}. */
export interface LineChartOptions extends ChartOptions {
  /** Logarithmic y axis; non-positive values are skipped. */
  logY?: boolean;
  /** A point to mark, drawn in {@linkcode LINE_MARK_COLOR}. */
  mark?: ChartMark;
}

/** Colour of a {@linkcode lineChart}'s mark (in no series' palette). */
export const LINE_MARK_COLOR: Rgb = [40, 40, 40];

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

const SECOND = 1000, MINUTE = 60 * SECOND, HOUR = 60 * MINUTE, DAY = 24 * HOUR;

/** `YYYY-MM-DD` of a time in ms since 1970, UTC. */
function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * Calendar ticks in UTC for a time axis, chosen as matplotlib's `AutoDateLocator` does: the
 * coarsest unit (years, months, days, hours, minutes, seconds) of which the span holds at least
 * three, at the smallest of that unit's steps that gives at most `target` ticks. Years label as
 * `2008`, months as `2008-06`, days as `2008-06-15`; hours, minutes and seconds as `14:00` (or
 * `14:00:05`), with a second line giving the date under the first tick and under each tick that
 * starts a new day.
 *
 * @param lo Start of the axis, ms since 1970-01-01 UTC.
 * @param hi End of the axis (> lo), ms since 1970-01-01 UTC.
 * @param target Largest number of ticks wanted.
 * @returns the ticks within [lo, hi] (`pos` in ms), labels possibly of two lines (`\n`).
 * @example
 * ```ts
 * import { dateTicks } from "./charts.ts";
 * const t = dateTicks(Date.UTC(2005, 5, 30), Date.UTC(2021, 2, 1), 7);
 * if (t.map((x) => x.label).join() !== "2008,2012,2016,2020") throw new Error();
 * ```
 */
export function dateTicks(lo: number, hi: number, target = 6): { pos: number; label: string }[] {
  const span = hi - lo, max = Math.max(2, target);
  const d0 = new Date(lo);
  const years = span / (365.25 * DAY), months = span / (30.44 * DAY);
  const pick = (steps: number[], n: number) => steps.find((s) => n / s <= max) ?? steps.at(-1)!;
  const out: { pos: number; label: string }[] = [];
  const push = (pos: number, label: string) => {
    if (pos >= lo && pos <= hi) out.push({ pos, label });
  };
  if (years >= 3) {
    const step = pick([1, 2, 4, 5, 10, 20, 25, 50, 100, 200, 500, 1000], years);
    for (let y = Math.ceil(d0.getUTCFullYear() / step) * step; Date.UTC(y, 0, 1) <= hi; y += step) {
      push(Date.UTC(y, 0, 1), String(y));
    }
    return out;
  }
  if (months >= 3) {
    const step = pick([1, 2, 3, 4, 6], months);
    for (let y = d0.getUTCFullYear(); Date.UTC(y, 0, 1) <= hi; y++) {
      for (let m = 0; m < 12; m += step) {
        push(Date.UTC(y, m, 1), `${y}-${String(m + 1).padStart(2, "0")}`);
      }
    }
    return out;
  }
  if (span >= 3 * DAY) {
    const step = pick([1, 2, 3, 7, 14], span / DAY);
    // Days of the month from the 1st, as matplotlib does; weekly steps stop at the 22nd so
    // that no tick sits a day or two before the next month's 1st.
    for (let m = Date.UTC(d0.getUTCFullYear(), d0.getUTCMonth(), 1); m <= hi;) {
      const next = new Date(m);
      next.setUTCMonth(next.getUTCMonth() + 1);
      const inMonth = Math.round((next.getTime() - m) / DAY);
      const last = step >= 7 ? 28 : step > 1 ? inMonth - 1 : inMonth;
      for (let d = 1; d <= last; d += step) push(m + (d - 1) * DAY, isoDay(m + (d - 1) * DAY));
      m = next.getTime();
    }
    return out;
  }
  // Below three days every unit is a whole number of ms in UTC (no leap seconds in Date).
  const [unit, steps] = span >= 3 * HOUR
    ? [HOUR, [1, 2, 3, 4, 6, 12]]
    : span >= 3 * MINUTE
    ? [MINUTE, [1, 2, 5, 10, 15, 30]]
    : [SECOND, [1, 2, 5, 10, 15, 30]];
  const step = pick(steps, span / unit) * unit;
  let prevDay = "";
  for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) {
    const iso = new Date(t).toISOString();
    const clock = unit === SECOND ? iso.slice(11, 19) : iso.slice(11, 16);
    const day = iso.slice(0, 10);
    push(t, day === prevDay ? clock : `${clock}\n${day}`);
    prevDay = day;
  }
  return out;
}

interface Frame {
  canvas: Surface;
  left: number;
  top: number;
  w: number;
  h: number;
}

function frame(opts: ChartOptions, rightExtra = 0): Frame {
  const width = opts.width ?? 800, height = opts.height ?? 500;
  const canvas = surface(opts.format, width, height);
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

function drawAxes(
  f: Frame,
  ax: Axis,
  ay: Axis,
  grid = true,
  yIntegers = false,
  xDates = false,
  xLabel?: (v: number, label: string) => string,
): void {
  const { canvas, left, top, w, h } = f;
  const xTarget = Math.max(2, Math.floor(w / 90));
  const xt = (xDates ? dateTicks(ax.lo, ax.hi, xTarget) : axisTicks(ax, xTarget))
    .map((t) => (xLabel ? { ...t, label: xLabel(t.pos, t.label) } : t));
  const yt = axisTicks(ay, Math.max(2, Math.floor(h / 50)), yIntegers);
  for (const t of xt) {
    const px = left + ((t.pos - ax.lo) / (ax.hi - ax.lo)) * (w - 1);
    if (grid) canvas.fillRect(px, top, 1, h, GRID);
    canvas.fillRect(px, top + h, 1, 5, BLACK);
    t.label.split("\n").forEach((line, i) => {
      canvas.text(line, px, top + h + 8 + 10 * i, BLACK, { align: "center" });
    });
  }
  for (const t of yt) {
    const py = top + h - 1 - ((t.pos - ay.lo) / (ay.hi - ay.lo)) * (h - 1);
    if (grid) canvas.fillRect(left, py, w, 1, GRID);
    canvas.fillRect(left - 5, py, 5, 1, BLACK);
    canvas.text(t.label, left - 8, py, BLACK, { align: "right", valign: "middle" });
  }
  canvas.strokeRect(left - 1, top - 1, w + 2, h + 2, BLACK);
}

/** A legend's entries and the size of its box in pixels. */
interface LegendBox {
  entries: { name: string; color: Rgb }[];
  marker: "line" | "dot";
  w: number;
  h: number;
}

const LEGEND_MAX = 20;

function legendBox(entries: { name: string; color: Rgb }[], marker: "line" | "dot"): LegendBox {
  const shown = entries.slice(0, LEGEND_MAX);
  const w = shown.length ? Math.max(...shown.map((e) => textWidth(e.name))) + 34 : 0;
  // "+N more" under the box when entries were left out.
  const h = shown.length ? shown.length * 14 + 8 + (entries.length > shown.length ? 14 : 0) : 0;
  return { entries, marker, w, h };
}

/**
 * Where a legend box goes inside a plot area, as matplotlib's `loc="best"` chooses: the first of
 * the corners and edge midpoints (upper right, upper left, lower left, lower right, then centre
 * right, centre left, upper centre, lower centre) whose box, 8 pixels in from the frame, covers
 * none of the data's marks.
 *
 * @param plot The plot area, in pixels.
 * @param box Legend width and height, in pixels.
 * @param marks Pixel positions the data cover, as x, y pairs (line samples or point centres).
 * @param pad How far a mark reaches around its position (a dot's radius, half a line's width).
 * @returns the legend's top-left corner, or null where every spot covers a mark (the legend
 *   then goes outside the plot area).
 */
export function placeLegend(
  plot: { left: number; top: number; w: number; h: number },
  box: { w: number; h: number },
  marks: ArrayLike<number>,
  pad = 2,
): { x: number; y: number } | null {
  const m = 8;
  const xs = [plot.left + plot.w - box.w - m, plot.left + m, plot.left + (plot.w - box.w) / 2];
  const ys = [plot.top + m, plot.top + plot.h - box.h - m, plot.top + (plot.h - box.h) / 2];
  // [x index, y index]: right/left/centre and top/bottom/middle, in matplotlib's order.
  const spots = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 2], [1, 2], [2, 0], [2, 1]];
  for (const [i, j] of spots) {
    const x = Math.round(xs[i]), y = Math.round(ys[j]);
    if (x < plot.left || y < plot.top) continue;
    const x0 = x - pad, x1 = x + box.w + pad, y0 = y - pad, y1 = y + box.h + pad;
    let free = true;
    for (let k = 0; k + 1 < marks.length && free; k += 2) {
      const px = marks[k], py = marks[k + 1];
      free = !(px >= x0 && px <= x1 && py >= y0 && py <= y1);
    }
    if (free) return { x, y };
  }
  return null;
}

function drawLegend(canvas: Surface, box: LegendBox, x: number, y: number): void {
  const shown = box.entries.slice(0, LEGEND_MAX);
  const lh = shown.length * 14 + 8;
  canvas.fillRect(x, y, box.w, lh, WHITE, 0.85);
  canvas.strokeRect(x, y, box.w, lh, GREY);
  shown.forEach((e, i) => {
    const cy = y + 10 + i * 14;
    if (box.marker === "line") canvas.line(x + 6, cy, x + 22, cy, e.color, 2);
    else canvas.dot(x + 14, cy, 3, e.color);
    canvas.text(e.name, x + 28, cy, BLACK, { valign: "middle" });
  });
  if (box.entries.length > shown.length) {
    canvas.text(`+${box.entries.length - shown.length} more`, x + 4, y + lh + 4, GREY);
  }
}

/**
 * Draws a chart with a legend where it hides no data ({@linkcode placeLegend}); where every spot
 * inside would, the plot area narrows and the legend sits to its right.
 *
 * @param draw Draws axes and data into a frame; returns the marks' pixel positions (x, y pairs).
 */
function withLegend(
  opts: ChartOptions,
  box: LegendBox,
  pad: number,
  draw: (f: Frame) => ArrayLike<number>,
): Uint8Array {
  let f = frame(opts);
  const marks = draw(f);
  if (box.entries.length === 0) return f.canvas.toBytes();
  let at = placeLegend(f, box, marks, pad);
  if (!at) {
    f = frame(opts, box.w + 10);
    draw(f);
    at = { x: f.left + f.w + 12, y: f.top };
  }
  drawLegend(f.canvas, box, at.x, at.y);
  return f.canvas.toBytes();
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
 * @param opts Title, axis labels, log y axis, size and a point to mark.
 * @returns the chart's file bytes: PNG, or SVG with `format: "svg"`.
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
  const ax = range(series.flatMap((s) => s.x), false);
  const ay = range(series.flatMap((s) => s.y), opts.logY ?? false);
  const box = legendBox(series.map((s, k) => ({ name: s.name, color: categoryColor(k) })), "line");
  const mark = opts.mark;
  return withLegend(opts, box, 2, (f) => {
    drawAxes(f, ax, ay);
    const mx = mapper(ax, f.left, f.w, false), my = mapper(ay, f.top, f.h, true);
    // Points along every segment (and the mark), at most 2 pixels apart, for placing the legend.
    const marks: number[] = [];
    const markX = mark ? Math.round(mx(mark.x)) : NaN;
    if (Number.isFinite(markX)) {
      // Dashed, so that the lines crossing it stay visible.
      for (let py = f.top; py < f.top + f.h; py++) {
        if (py % 8 < 5) f.canvas.set(markX, py, LINE_MARK_COLOR);
        if (py % 2 === 0) marks.push(markX, py);
      }
      if (mark!.label) {
        const lx = markX + 4, ly = f.top + 2, lw = textWidth(mark!.label);
        f.canvas.text(mark!.label, lx, ly, LINE_MARK_COLOR);
        for (let x = lx; x <= lx + lw; x += 2) marks.push(x, ly, x, ly + GLYPH_ROW);
      }
    }
    series.forEach((s, k) => {
      const c = categoryColor(k);
      let prev: [number, number] | null = null;
      for (let i = 0; i < s.x.length; i++) {
        const px = mx(s.x[i]), py = my(s.y[i]);
        if (!Number.isFinite(px) || !Number.isFinite(py)) {
          prev = null;
          continue;
        }
        if (prev) {
          f.canvas.line(prev[0], prev[1], px, py, c, 2);
          const n = Math.ceil(Math.hypot(px - prev[0], py - prev[1]) / 2);
          for (let j = 1; j <= n; j++) {
            marks.push(prev[0] + (px - prev[0]) * j / n, prev[1] + (py - prev[1]) * j / n);
          }
        } else {
          if (i + 1 >= s.x.length || !Number.isFinite(my(s.y[i + 1]))) f.canvas.dot(px, py, 2, c);
          marks.push(px, py);
        }
        prev = [px, py];
      }
    });
    if (Number.isFinite(markX) && mark!.y !== undefined) {
      const cy = Math.round(my(mark!.y));
      if (Number.isFinite(cy)) {
        ring(f.canvas, markX, cy, 7, LINE_MARK_COLOR);
        // The ring's outline too: the legend goes where it hides neither.
        for (let a = 0; a < 24; a++) {
          marks.push(markX + 7 * Math.cos(a * Math.PI / 12), cy + 7 * Math.sin(a * Math.PI / 12));
        }
      }
    }
    return marks;
  });
}

/** A circle outline, 2 pixels wide, of radius r around (cx, cy). */
function ring(canvas: Surface, cx: number, cy: number, r: number, c: Rgb): void {
  for (let dy = -r - 1; dy <= r + 1; dy++) {
    for (let dx = -r - 1; dx <= r + 1; dx++) {
      const d = Math.hypot(dx, dy);
      if (d >= r - 1 && d <= r + 0.5) canvas.set(cx + dx, cy + dy, c);
    }
  }
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
 * @returns the chart's file bytes: PNG, or SVG with `format: "svg"`.
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
  if (opts.yRange && !(opts.yRange[1] > opts.yRange[0])) {
    throw new RangeError(
      `Cannot draw scatter chart: yRange must rise: found [${opts.yRange.join(", ")}]`,
    );
  }
  const ax = range(x, false);
  const ay = opts.yRange ? { lo: opts.yRange[0], hi: opts.yRange[1], log: false } : range(y, false);
  let t0 = Infinity, t1 = -Infinity;
  if (opts.xDates) {
    for (const v of x) {
      if (!Number.isFinite(v)) continue;
      t0 = Math.min(t0, v);
      t1 = Math.max(t1, v);
    }
  }
  if (t1 >= t0 && t1 - t0 < 2 * MINUTE) {
    // Samples at (nearly) one instant: an hour around them, not range()'s ±10 % of the time
    // since 1970.
    const mid = (t0 + t1) / 2;
    ax.lo = mid - 30 * MINUTE;
    ax.hi = mid + 30 * MINUTE;
  }
  let nGroups = 0;
  const counts = new Map<number, number>();
  for (let i = 0; i < groups.length; i++) {
    nGroups = Math.max(nGroups, groups[i] + 1);
    counts.set(groups[i], (counts.get(groups[i]) ?? 0) + 1);
  }
  const names = points.groupNames ?? [];
  const entries = [];
  for (let g = 0; g < Math.max(nGroups, names.length); g++) {
    const name = names[g] ?? `cluster ${g}`;
    entries.push({ name: `${name} (${counts.get(g) ?? 0})`, color: categoryColor(g) });
  }
  // Small translucent dots so that dense regions stay readable.
  const r = x.length > 5000 ? 1.5 : 2.5, alpha = x.length > 5000 ? 0.5 : 0.8;
  return withLegend(opts, legendBox(entries, "dot"), Math.ceil(r), (f) => {
    drawAxes(f, ax, ay, true, opts.yIntegers, opts.xDates);
    const mx = mapper(ax, f.left, f.w, false), my = mapper(ay, f.top, f.h, true);
    const marks = new Float64Array(2 * x.length).fill(NaN);
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) continue;
      marks[2 * i] = mx(x[i]);
      marks[2 * i + 1] = my(y[i]);
      f.canvas.dot(marks[2 * i], marks[2 * i + 1], r, categoryColor(groups[i]), alpha);
    }
    return marks;
  });
}

/** A station of a {@linkcode stationChart}. */
export interface StationMark {
  /** Label, e.g. `NET.STA`. */
  name: string;
  /** Longitude, degrees east. */
  longitude: number;
  /** Latitude, degrees north. */
  latitude: number;
  /** The station's records per group (cluster), the bar's segments in group order. */
  counts: number[];
}

/** Options of {@linkcode stationChart}. */
export interface StationChartOptions extends ChartOptions {
  /** Legend name of each group (default "cluster <i>"). */
  groupNames?: string[];
}

/** Width and height of a {@linkcode stationChart}'s bars, pixels. */
export const STATION_BAR: readonly [number, number] = [30, 8];

/**
 * A map of stations, each drawn as a bar split by its records' shares per group (the clusters
 * of its samples), centred on the station and labelled with its name. Longitude and latitude
 * are drawn to one scale at the stations' middle latitude (an equirectangular projection, true
 * to shape for a network of a few hundred km), with degree ticks on both axes.
 *
 * @param stations The stations; those without finite coordinates are left out.
 * @param opts Title, size, group names.
 * @returns the chart's file bytes: PNG, or SVG with `format: "svg"`.
 * @throws {RangeError} when no station has coordinates.
 * @example
 * ```ts
 * import { stationChart } from "./charts.ts";
 * const png = stationChart([
 *   { name: "XX.A", longitude: 7.1, latitude: 46.2, counts: [3, 1] },
 *   { name: "XX.B", longitude: 7.4, latitude: 46.0, counts: [0, 5] },
 * ], { title: "Clusters per station" });
 * if (png[0] !== 137) throw new Error();
 * ```
 */
export function stationChart(stations: StationMark[], opts: StationChartOptions = {}): Uint8Array {
  const placed = stations.filter((s) =>
    Number.isFinite(s.longitude) && Number.isFinite(s.latitude)
  );
  if (placed.length === 0) {
    throw new RangeError(
      "Cannot draw station chart: no station has a finite longitude and latitude",
    );
  }
  // A network across the antimeridian (the Aleutians, Fiji) is one piece: the longitudes west
  // of the widest gap between stations go on past 180, where that gap is not the one round the
  // back of the globe.
  const sorted = [...new Set(placed.map((s) => ((s.longitude + 540) % 360) - 180))].sort((
    a,
    b,
  ) => a - b);
  let cut = Infinity, widest = sorted.length ? sorted[0] + 360 - sorted[sorted.length - 1] : 0;
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] - sorted[i - 1] > widest) [widest, cut] = [sorted[i] - sorted[i - 1], sorted[i]];
  }
  const lonOf = (lon: number) => {
    const l = ((lon + 540) % 360) - 180;
    return cut === Infinity ? lon : l < cut ? l + 360 : l;
  };
  placed.forEach((st, i) => placed[i] = { ...st, longitude: lonOf(st.longitude) });
  const lons = placed.map((s) => s.longitude), lats = placed.map((s) => s.latitude);
  const [lat0, lat1] = [Math.min(...lats), Math.max(...lats)];
  const [lon0, lon1] = [Math.min(...lons), Math.max(...lons)];
  // One scale for both axes at the middle latitude: x = longitude · cos(latitude).
  const c = Math.max(0.05, Math.cos(((lat0 + lat1) / 2) * Math.PI / 180));
  const span = Math.max((lon1 - lon0) * c, lat1 - lat0, 0.02);
  const groups = Math.max(opts.groupNames?.length ?? 0, ...placed.map((s) => s.counts.length));
  const totals = new Array(groups).fill(0);
  for (const s of placed) s.counts.forEach((n, g) => totals[g] += n);
  const entries = totals.map((n, g) => ({
    name: `${opts.groupNames?.[g] ?? `cluster ${g}`} (${n})`,
    color: categoryColor(g),
  }));
  const [bw, bh] = STATION_BAR;
  const labelled = placed.length <= 80;
  const o = { xLabel: "longitude (deg E)", yLabel: "latitude (deg N)", ...opts };
  return withLegend(o, legendBox(entries, "dot"), 2, (f) => {
    // The stations' box, padded by a tenth of its span (and room for the bars and labels), to
    // the plot area's shape at one scale.
    const scale = Math.min(
      (f.w - 2 * bw) / (1.2 * Math.max((lon1 - lon0) * c, span * 0.2)),
      (f.h - 4 * bh - (labelled ? 24 : 0)) / (1.2 * Math.max(lat1 - lat0, span * 0.2)),
    );
    const xc = (lon0 + lon1) / 2 * c, yc = (lat0 + lat1) / 2;
    const ax: Axis = { lo: (xc - f.w / 2 / scale) / c, hi: (xc + f.w / 2 / scale) / c, log: false };
    const ay: Axis = { lo: yc - f.h / 2 / scale, hi: yc + f.h / 2 / scale, log: false };
    // No latitude beyond a pole where the plot area can do without it.
    const shift = ay.hi > 90 ? 90 - ay.hi : ay.lo < -90 ? -90 - ay.lo : 0;
    if (ay.lo + shift >= -90 && ay.hi + shift <= 90) {
      ay.lo += shift;
      ay.hi += shift;
    }
    // Ticks past 180 read as the longitudes they are (190 is -170).
    drawAxes(
      f,
      ax,
      ay,
      true,
      false,
      false,
      (v, label) =>
        v > 180 || v < -180
          ? (((v + 540) % 360) - 180).toFixed(label.split(".")[1]?.length ?? 0)
          : label,
    );
    const mx = mapper(ax, f.left, f.w, false), my = mapper(ay, f.top, f.h, true);
    const marks: number[] = [];
    // The bars first, then their labels over them; a label that would overlap one already
    // drawn is left out (dense networks).
    const at = placed.map((s) => [
      Math.round(mx(s.longitude) - bw / 2),
      Math.round(my(s.latitude) - bh / 2),
    ]);
    placed.forEach((s, i) => {
      const [px, py] = at[i];
      const total = s.counts.reduce((a, b) => a + b, 0);
      let x = 0, done = 0;
      s.counts.forEach((n, g) => {
        if (n <= 0 || total <= 0) return;
        done += n;
        const to = Math.round((done / total) * bw);
        f.canvas.fillRect(px + x, py, to - x, bh, categoryColor(g));
        x = to;
      });
      f.canvas.strokeRect(px - 1, py - 1, bw + 2, bh + 2, GREY);
      for (let x = px - 1; x <= px + bw + 1; x += 4) {
        marks.push(x, py - 1, x, py + bh + 1);
        if (labelled) marks.push(x, py - 12);
      }
    });
    const taken: [number, number, number, number][] = [];
    placed.forEach((s, i) => {
      const [px, py] = at[i];
      const tw = textWidth(s.name), lx = px + bw / 2 - tw / 2, ly = py - 3 - GLYPH_ROW;
      const free = !taken.some(([x0, y0, x1, y1]) =>
        lx < x1 + 2 && lx + tw > x0 - 2 && ly < y1 + 1 && ly + GLYPH_ROW > y0 - 1
      );
      if (labelled && free) {
        taken.push([lx, ly, lx + tw, ly + GLYPH_ROW]);
        f.canvas.text(s.name, px + bw / 2, py - 3, BLACK, { align: "center", valign: "bottom" });
      }
    });
    return marks;
  });
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
  /** What the colours mean, with the unit (e.g. "% of the cluster's samples"), beside the colour bar. */
  colorbarLabel?: string;
}

/**
 * Draws a matrix as a colour image (viridis), e.g. a spectrogram or a confusion matrix.
 *
 * @param values Row-major `[rows, cols]`; non-finite values are grey.
 * @param rows Number of rows.
 * @param cols Number of columns.
 * @param opts Labels, orientation, colour range and annotations.
 * @returns the chart's file bytes: PNG, or SVG with `format: "svg"`.
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
    showBar ? 80 + (opts.colorbarLabel ? 20 : 0) : 0,
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
    const { ticks, step } = niceTicks(lo, lo + span, Math.max(3, Math.floor(h / 40)));
    let labelsRight = bx + bw + 6;
    for (const t of ticks) {
      const py = top + h - 1 - ((t - lo) / span) * (h - 1);
      const label = formatTick(t, step);
      canvas.fillRect(bx + bw, py, 4, 1, BLACK);
      canvas.text(label, bx + bw + 6, py, BLACK, { valign: "middle" });
      labelsRight = Math.max(labelsRight, bx + bw + 6 + textWidth(label));
    }
    if (opts.colorbarLabel) {
      // Rotated like the y label, at scale 2 when it fits along the bar.
      const scale = textWidth(opts.colorbarLabel, 2) <= h ? 2 : 1;
      canvas.text(opts.colorbarLabel, labelsRight + 6, top + h / 2, BLACK, {
        scale,
        align: "center",
        rotate: true,
      });
    }
  }
  return canvas.toBytes();
}

function axisTicksAlong(
  canvas: Surface,
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
  /**
   * Caption above the tile; `\n` starts a new line. Each line is cut to the tile's width (ending
   * in "..") when longer.
   */
  label?: string;
}

/** An axis shared by all tiles of an {@linkcode imageGrid}. */
export interface TileAxis {
  /** Axis values at the centres of the first and the last row (or column), e.g. [1.17, 17.97] Hz. */
  extent: [number, number];
  /** Axis label with its unit, e.g. "frequency (Hz)". */
  label: string;
  /**
   * Values at which to draw a line across every tile, where the tile's span holds them (e.g. 0 s,
   * the reference time).
   */
  marks?: number[];
}

/** Options of {@linkcode imageGrid}. */
export interface ImageGridOptions {
  /** "png" (default) or "svg": what the grid's bytes are. */
  format?: FigureFormat;
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
  /**
   * The tiles' horizontal axis (columns). Tick marks go on every tile, tick labels only under the
   * tiles with no tile below them, and the label once under the grid (as matplotlib's `sharex`).
   */
  xAxis?: TileAxis;
  /**
   * The tiles' vertical axis (rows). Tick marks go on every tile, tick labels only left of the
   * first column, and the label once at the left of the grid (as matplotlib's `sharey`).
   */
  yAxis?: TileAxis;
  /**
   * What the colours mean, with the unit: draws a colour bar under the grid with this label. With
   * `sharedScale` it has the value ticks; else its ends read "min" and "max" (of each tile).
   */
  colorbarLabel?: string;
}

/** Colour of the lines drawn at {@linkcode TileAxis.marks}. */
export const MARK_COLOR: Rgb = [255, 255, 255];

/** Where an axis value falls along a tile of `n` cells spanning `len` pixels; NaN without span. */
function tilePos(ax: TileAxis, n: number, len: number, flip: boolean): (v: number) => number {
  const [e0, e1] = ax.extent;
  return (v: number) => {
    if (n < 2 || e1 === e0) return NaN;
    const u = ((v - e0) / (e1 - e0)) * (n - 1);
    return ((flip ? n - 1 - u : u) + 0.5) * (len / n);
  };
}

/** The most ticks whose labels do not crowd each other along a tile. */
function tileTicks(
  ax: TileAxis,
  n: number,
  len: number,
  across: boolean,
): { pos: number; label: string }[] {
  const [e0, e1] = ax.extent;
  const a = Math.min(e0, e1), b = Math.max(e0, e1);
  if (n < 2 || !(b > a)) return [];
  const pxPerUnit = ((n - 1) * (len / n)) / (b - a);
  let best: { pos: number; label: string }[] = [];
  for (let target = 8; target >= 2; target--) {
    const { ticks, step } = niceTicks(a, b, target);
    const labels = ticks.map((t) => ({ pos: t, label: formatTick(t, step) }));
    const room = across ? Math.max(...labels.map((l) => textWidth(l.label))) + 6 : 12;
    best = labels;
    if (step * pxPerUnit >= room) return labels;
  }
  return best.length > 2 ? [best[0], best.at(-1)!] : best;
}

/**
 * Lays images out in a grid, each scaled to a tile and coloured by viridis,
 * e.g. example spectrograms per cluster (one cluster per grid row), with
 * optional shared axes (ticks on the outer tiles), lines at marked values and a
 * colour bar.
 *
 * @param images The images, filled row by row.
 * @param gridCols Tiles per grid row.
 * @param opts Tile size, captions, axes, colour scaling and colour bar.
 * @returns the grid's file bytes: PNG, or SVG with `format: "svg"`.
 * @example
 * ```ts
 * import { imageGrid } from "./charts.ts";
 * const img = { data: new Float32Array([0, 1, 2, 3]), rows: 2, cols: 2 };
 * const png = imageGrid([img, img, img], 2, {
 *   xAxis: { extent: [-1, 1], label: "time (s)", marks: [0] },
 *   yAxis: { extent: [1, 2], label: "frequency (Hz)" },
 *   sharedScale: true,
 *   colorbarLabel: "PSD (counts^2/Hz)",
 * });
 * if (png.length < 100) throw new Error();
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
  for (const [name, ax] of [["xAxis", opts.xAxis], ["yAxis", opts.yAxis]] as const) {
    if (ax && !ax.extent.every(Number.isFinite)) {
      throw new RangeError(
        `Cannot draw image grid: ${name}.extent must be two finite numbers: found ${ax.extent}`,
      );
    }
  }
  const { xAxis, yAxis } = opts;
  // Wider gaps between tiles with x ticks leave room for the labels at the tiles' edges.
  const tw = opts.tileWidth ?? 120, th = opts.tileHeight ?? 90, gap = xAxis ? 10 : 6, tick = 3;
  const lower = opts.originLower ?? true;
  // Axis ticks from the first image's shape (tiles of other shapes get marks and labels from it too).
  const { rows: nr, cols: nc } = images[0];
  const xt = xAxis ? tileTicks(xAxis, nc, tw, true) : [];
  const yt = yAxis ? tileTicks(yAxis, nr, th, false) : [];
  const xAt = xAxis ? tilePos(xAxis, nc, tw, false) : () => NaN;
  const yAt = yAxis ? tilePos(yAxis, nr, th, lower) : () => NaN;
  const captionLines = Math.max(
    0,
    ...images.map((im) => im.label ? im.label.split("\n").length : 0),
  );
  const capH = captionLines > 0 ? captionLines * 10 + 2 : 0;
  const cellH = capH + th + gap + (xAxis ? tick : 0);
  const gridRows = Math.ceil(images.length / gridCols);
  const yLabelW = yAxis ? GLYPH_ROW + 6 : 0;
  const rowLabelW = opts.rowLabels ? Math.max(...opts.rowLabels.map((s) => textWidth(s))) + 12 : 0;
  const yTickW = yAxis ? Math.max(0, ...yt.map((t) => textWidth(t.label))) + tick + 4 : 0;
  const gridLeft = gap + yLabelW + rowLabelW + yTickW;
  const top = opts.title ? 36 : 8;
  const tilesBottom = top + (gridRows - 1) * cellH + capH + th;
  const barTop = top + gridRows * cellH + (xAxis ? 16 : 0) + 4;
  const barH = 10, barArea = opts.colorbarLabel ? barH + 33 : 0;
  // Wide enough for the title (scale 2) when the tiles are fewer than its letters.
  const titleW = opts.title ? textWidth(opts.title, 2) + 16 : 0;
  const barLabelW = opts.colorbarLabel ? textWidth(opts.colorbarLabel) + 2 * gap : 0;
  const width = Math.max(gridLeft + gridCols * (tw + gap), titleW, gridLeft + barLabelW);
  const height = top + gridRows * cellH + (xAxis ? 16 : 0) + barArea + gap;
  const canvas = surface(opts.format, width, height);
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
  images.forEach((im, i) => {
    const gr = Math.floor(i / gridCols), gc = i % gridCols;
    const x0 = gridLeft + gc * (tw + gap), y0 = top + gr * cellH + capH;
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
    const empty = !im.data.some(Number.isFinite);
    for (let py = 0; py < th; py++) {
      const rr = Math.min(im.rows - 1, Math.floor((py * im.rows) / th));
      const r = lower ? im.rows - 1 - rr : rr;
      for (let px = 0; px < tw; px++) {
        const c = Math.min(im.cols - 1, Math.floor((px * im.cols) / tw));
        canvas.set(x0 + px, y0 + py, viridis((im.data[r * im.cols + c] - lo) / span));
      }
    }
    // Dashed (4 on, 3 off) so that the data under the line still shows.
    for (const v of empty ? [] : xAxis?.marks ?? []) {
      const p = xAt(v);
      if (p >= 0 && p < tw) {
        for (let d = 0; d < th; d += 7) {
          canvas.fillRect(x0 + p, y0 + d, 1, Math.min(4, th - d), MARK_COLOR);
        }
      }
    }
    for (const v of empty ? [] : yAxis?.marks ?? []) {
      const p = yAt(v);
      if (p >= 0 && p < th) {
        for (let d = 0; d < tw; d += 7) {
          canvas.fillRect(x0 + d, y0 + p, Math.min(4, tw - d), 1, MARK_COLOR);
        }
      }
    }
    if (xAxis || yAxis) canvas.strokeRect(x0 - 1, y0 - 1, tw + 2, th + 2, BLACK);
    // Tick labels only where no tile is below (x) or to the left (y), as matplotlib's sharex/sharey.
    const xLabels = i + gridCols >= images.length, yLabels = gc === 0;
    for (const t of xt) {
      const p = x0 + xAt(t.pos);
      canvas.fillRect(p, y0 + th, 1, tick, BLACK);
      // A label reaching into the gap beside a neighbouring tile would run into its labels.
      const half = textWidth(t.label) / 2, reach = gap / 2 - 1;
      const clear = (gc === 0 || p - half >= x0 - reach) &&
        (gc === gridCols - 1 || i === images.length - 1 || p + half <= x0 + tw + reach);
      if (xLabels && clear) {
        canvas.text(t.label, p, y0 + th + tick + 2, BLACK, { align: "center" });
      }
    }
    for (const t of yt) {
      const p = y0 + yAt(t.pos);
      canvas.fillRect(x0 - tick - 1, p, tick, 1, BLACK);
      if (yLabels) {
        canvas.text(t.label, x0 - tick - 3, p, BLACK, { align: "right", valign: "middle" });
      }
    }
    im.label?.split("\n").forEach((line, l) => {
      canvas.text(fitText(line, tw), x0 + tw / 2, y0 - capH + 1 + 10 * l, BLACK, {
        align: "center",
      });
    });
  });
  const tilesRight = gridLeft + Math.min(gridCols, images.length) * (tw + gap) - gap;
  const midX = (gridLeft + tilesRight) / 2;
  gridLabels(canvas, {
    xLabel: xAxis?.label,
    yLabel: yAxis?.label,
    rowLabels: opts.rowLabels,
    midX,
    xLabelY: tilesBottom + tick + 14,
    midY: (top + capH + tilesBottom) / 2,
    gap,
    rowX: gap + yLabelW,
    rowY: (r) => top + r * cellH + capH + th / 2,
    rows: gridRows,
  });
  if (opts.colorbarLabel) {
    const bw = Math.max(120, Math.min(300, tilesRight - gridLeft)), bx = Math.round(midX - bw / 2);
    for (let px = 0; px < bw; px++) {
      canvas.fillRect(bx + px, barTop, 1, barH, viridis(px / (bw - 1)));
    }
    canvas.strokeRect(bx - 1, barTop - 1, bw + 2, barH + 2, BLACK);
    const ticks = opts.sharedScale && ghi >= glo
      ? (() => {
        const span = ghi > glo ? ghi - glo : 1;
        const { ticks, step } = niceTicks(glo, glo + span, Math.max(2, Math.floor(bw / 60)));
        return ticks.map((t) => ({ at: (t - glo) / span, label: formatTick(t, step) }));
      })()
      : [{ at: 0, label: "min" }, { at: 1, label: "max" }];
    for (const t of ticks) {
      const px = bx + t.at * (bw - 1);
      canvas.fillRect(px, barTop + barH, 1, tick, BLACK);
      canvas.text(t.label, px, barTop + barH + tick + 2, BLACK, { align: "center" });
    }
    canvas.text(opts.colorbarLabel, midX, barTop + barH + tick + 14, BLACK, { align: "center" });
  }
  return canvas.toBytes();
}

/** `s` cut to at most `width` pixels at scale 1, ending in ".." when cut (a caption under a tile). */
function fitText(s: string, width: number): string {
  if (textWidth(s) <= width) return s;
  const chars = [...s];
  while (chars.length > 0 && textWidth(chars.join("") + "..") > width) chars.pop();
  return chars.join("") + "..";
}

/** One panel of a {@linkcode traceGrid}: a time series. */
export interface GridTrace {
  /** Sample times, increasing (e.g. s from the reference time). */
  x: Float64Array;
  /** Values, as many as `x`. */
  y: Float64Array;
  /** Caption above the panel; `\n` separates lines. */
  label?: string;
}

/** Options of {@linkcode traceGrid}. */
export interface TraceGridOptions {
  /** "png" (default) or "svg": what the grid's bytes are. */
  format?: FigureFormat;
  /** Title above the grid. */
  title?: string;
  /** Panel width in pixels (default 180). */
  tileWidth?: number;
  /** Panel height in pixels (default 70). */
  tileHeight?: number;
  /** Label left of each grid row. */
  rowLabels?: string[];
  /** Label of the shared time axis, under the grid. */
  xLabel?: string;
  /** Label of the amplitude axis, left of the grid (rotated). */
  yLabel?: string;
  /** x values at which a dashed vertical line is drawn (e.g. the reference time, 0). */
  marks?: number[];
  /** `[lo, hi]`: the span of x to keep white; the rest of each panel is shaded grey. */
  window?: [number, number];
}

const SHADE: Rgb = [225, 225, 225];
const TRACE: Rgb = [20, 40, 120];

/**
 * Lays time series out in a grid of panels sharing one time axis (ticks under the bottom
 * panels), e.g. seismograms of example members per cluster (one cluster per grid row). Each
 * panel is scaled to its own peak |value|, written in its top-left corner as `peak P`, with
 * zero at its middle, as record sections are drawn; the series is drawn as its per-pixel
 * minimum-to-maximum envelope, so no peak is lost however many samples a pixel holds.
 *
 * @param traces The panels, filled row by row; null leaves a panel blank, and a trace of no
 *   samples shows its caption only.
 * @param gridCols Panels per grid row.
 * @param opts Panel size, captions, axis labels, marked times and the window kept white.
 * @returns the grid's file bytes: PNG, or SVG with `format: "svg"`.
 * @example
 * ```ts
 * import { traceGrid } from "./charts.ts";
 * const x = Float64Array.from({ length: 500 }, (_, i) => i / 100 - 1);
 * const y = x.map((t) => (t > 0 ? Math.sin(40 * t) * Math.exp(-t) : 0));
 * const png = traceGrid([{ x, y, label: "a" }, null], 2, {
 *   xLabel: "time (s)",
 *   marks: [0],
 *   window: [-0.5, 3.5],
 * });
 * if (png[0] !== 137) throw new Error();
 * ```
 */
export function traceGrid(
  traces: (GridTrace | null)[],
  gridCols: number,
  opts: TraceGridOptions = {},
): Uint8Array {
  if (!Number.isInteger(gridCols) || gridCols < 1) {
    throw new RangeError(
      `Cannot draw trace grid: gridCols must be >= 1: current value is ${gridCols}`,
    );
  }
  if (!traces.some((t) => t)) throw new RangeError("Cannot draw trace grid: no traces given");
  traces.forEach((t, i) => {
    if (t && t.x.length !== t.y.length) {
      throw new TypeError(
        `Cannot draw trace grid: trace ${i} has ${t.x.length} x values and ${t.y.length} y values`,
      );
    }
  });
  const tw = opts.tileWidth ?? 180, th = opts.tileHeight ?? 70, gap = 10, tick = 3;
  let x0 = Infinity, x1 = -Infinity;
  for (const t of traces) {
    if (!t || t.x.length === 0) continue;
    x0 = Math.min(x0, t.x[0]);
    x1 = Math.max(x1, t.x[t.x.length - 1]);
  }
  if (!(x1 > x0)) [x0, x1] = [0, 1];
  const axis: TileAxis = { extent: [x0, x1], label: opts.xLabel ?? "" };
  // Pixel column of x, continuous: 0 at x0, tw at x1.
  const col = (v: number) => ((v - x0) / (x1 - x0)) * tw;
  const xt = tileTicks(axis, tw + 1, tw + 1, true);
  const captionLines = Math.max(0, ...traces.map((t) => t?.label ? t.label.split("\n").length : 0));
  const capH = captionLines > 0 ? captionLines * 10 + 2 : 0;
  const cellH = capH + th + gap + tick;
  const gridRows = Math.ceil(traces.length / gridCols);
  const yLabelW = opts.yLabel ? GLYPH_ROW + 6 : 0;
  const rowLabelW = opts.rowLabels ? Math.max(...opts.rowLabels.map((s) => textWidth(s))) + 12 : 0;
  const gridLeft = gap + yLabelW + rowLabelW;
  const top = opts.title ? 36 : 8;
  const titleW = opts.title ? textWidth(opts.title, 2) + 16 : 0;
  const width = Math.max(gridLeft + gridCols * (tw + gap), titleW);
  const height = top + gridRows * cellH + 16 + (opts.xLabel ? 14 : 0) + gap;
  const canvas = surface(opts.format, width, height);
  if (opts.title) canvas.text(opts.title, width / 2, 10, BLACK, { scale: 2, align: "center" });
  traces.forEach((t, i) => {
    const gr = Math.floor(i / gridCols), gc = i % gridCols;
    const left = gridLeft + gc * (tw + gap), y0 = top + gr * cellH + capH;
    t?.label?.split("\n").forEach((line, l) => {
      canvas.text(fitText(line, tw), left + tw / 2, y0 - capH + 1 + 10 * l, BLACK, {
        align: "center",
      });
    });
    // An empty panel keeps its caption (e.g. why the trace is missing).
    if (!t || t.x.length === 0) return;
    if (opts.window) {
      const a = Math.max(0, Math.round(col(opts.window[0])));
      const b = Math.min(tw, Math.round(col(opts.window[1])));
      canvas.fillRect(left, y0, a, th, SHADE);
      if (b < tw) canvas.fillRect(left + b, y0, tw - b, th, SHADE);
    }
    let peak = 0;
    for (const v of t.y) if (Math.abs(v) > peak) peak = Math.abs(v);
    const scale = peak > 0 ? (th / 2 - 2) / peak : 0;
    const mid = y0 + Math.floor(th / 2);
    canvas.fillRect(left, mid, tw, 1, GRID);
    for (const v of opts.marks ?? []) {
      const p = Math.floor(col(v));
      if (p >= 0 && p < tw) {
        for (let d = 0; d < th; d += 7) {
          canvas.fillRect(left + p, y0 + d, 1, Math.min(4, th - d), LINE_MARK_COLOR);
        }
      }
    }
    // Per pixel column: the range of the samples in it, joined to the previous column's last.
    let prev = NaN;
    for (let j = 0, px = -1, lo = 0, hi = 0; j <= t.x.length; j++) {
      const p = j < t.x.length ? Math.min(tw - 1, Math.max(0, Math.floor(col(t.x[j])))) : -2;
      if (p !== px) {
        if (px >= 0) {
          const a = Math.round(mid - hi * scale), b = Math.round(mid - lo * scale);
          canvas.fillRect(left + px, a, 1, b - a + 1, TRACE);
          prev = t.y[j - 1];
        }
        if (p < 0) break;
        px = p;
        lo = hi = Number.isFinite(prev) ? prev : t.y[j];
      }
      const v = t.y[j];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    canvas.strokeRect(left - 1, y0 - 1, tw + 2, th + 2, BLACK);
    if (peak > 0) {
      // On a white ground, so that it reads over the trace.
      const text = `peak ${
        peak >= 1e-3 && peak < 1e5 ? Number(peak.toPrecision(2)) : peak.toExponential(1)
      }`;
      canvas.fillRect(left, y0, textWidth(text) + 4, GLYPH_ROW + 3, WHITE, 0.8);
      canvas.text(text, left + 2, y0 + 2, GREY);
    }
    const xLabels = i + gridCols >= traces.length;
    for (const k of xt) {
      const p = left + Math.min(tw - 1, Math.floor(col(k.pos)));
      canvas.fillRect(p, y0 + th, 1, tick, BLACK);
      const half = textWidth(k.label) / 2, reach = gap / 2 - 1;
      const clear = (gc === 0 || p - half >= left - reach) &&
        (gc === gridCols - 1 || i === traces.length - 1 || p + half <= left + tw + reach);
      if (xLabels && clear) canvas.text(k.label, p, y0 + th + tick + 2, BLACK, { align: "center" });
    }
  });
  const tilesRight = gridLeft + Math.min(gridCols, traces.length) * (tw + gap) - gap;
  const tilesBottom = top + (gridRows - 1) * cellH + capH + th;
  gridLabels(canvas, {
    xLabel: opts.xLabel,
    yLabel: opts.yLabel,
    rowLabels: opts.rowLabels,
    midX: (gridLeft + tilesRight) / 2,
    xLabelY: tilesBottom + tick + 14,
    midY: (top + capH + tilesBottom) / 2,
    gap,
    rowX: gap + yLabelW,
    rowY: (r) => top + r * cellH + capH + th / 2,
    rows: gridRows,
  });
  return canvas.toBytes();
}

/**
 * The labels around a grid of tiles (imageGrid, traceGrid): the x-axis label centred under the
 * tiles, the y-axis label rotated at the left edge, and each row's label left of its row.
 */
function gridLabels(canvas: Surface, g: {
  xLabel?: string;
  yLabel?: string;
  rowLabels?: readonly string[];
  midX: number;
  xLabelY: number;
  midY: number;
  gap: number;
  rowX: number;
  rowY: (row: number) => number;
  rows: number;
}): void {
  if (g.xLabel) canvas.text(g.xLabel, g.midX, g.xLabelY, BLACK, { align: "center" });
  if (g.yLabel) canvas.text(g.yLabel, g.gap, g.midY, BLACK, { align: "center", rotate: true });
  g.rowLabels?.forEach((s, r) => {
    if (r < g.rows) canvas.text(s, g.rowX, g.rowY(r), BLACK, { valign: "middle" });
  });
}
