/**
 * A small RGBA raster canvas: rectangles, thick lines, dots and 5×7 bitmap
 * text (horizontal or rotated), enough to draw charts without dependencies.
 *
 * @module
 */

import { glyph, GLYPH_HEIGHT, GLYPH_WIDTH } from "./_font.ts";
import { encodePng } from "./png.ts";

/** An RGB colour, each channel 0–255. */
export type Rgb = readonly [number, number, number];

/** How {@linkcode Surface.text} places and sizes its text. */
export interface TextOptions {
  /** Integer pixel size of the 5×7 font (default 1). */
  scale?: number;
  /** Which point of the text the anchor is, along it (default "left"). */
  align?: "left" | "center" | "right";
  /** Which point of the text the anchor is, across it (default "top"). */
  valign?: "top" | "middle" | "bottom";
  /** Read bottom to top, for a y-axis label. */
  rotate?: boolean;
}

/**
 * What charts draw on: {@linkcode Canvas} (a raster, written as PNG) or `SvgCanvas`
 * (lib/plot/svg.ts, written as SVG). Coordinates are pixels from the top-left.
 */
export interface Surface {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Paints one pixel. */
  set(x: number, y: number, c: Rgb, alpha?: number): void;
  /** Fills the rectangle [x, x + w) × [y, y + h). */
  fillRect(x: number, y: number, w: number, h: number, c: Rgb, alpha?: number): void;
  /** Outlines a rectangle, one pixel wide. */
  strokeRect(x: number, y: number, w: number, h: number, c: Rgb): void;
  /** A straight line, `thickness` pixels wide. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness?: number): void;
  /** A filled disc. */
  dot(cx: number, cy: number, r: number, c: Rgb, alpha?: number): void;
  /** Text in the 5×7 font's layout (see {@linkcode Canvas.text}). */
  text(
    s: string,
    x: number,
    y: number,
    c: Rgb,
    opts?: TextOptions,
  ): void;
  /** @returns the finished figure's file bytes (PNG or SVG). */
  toBytes(): Uint8Array;
}

/** An RGBA raster image. */
export class Canvas implements Surface {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Pixels, row-major from the top-left, 4 bytes each. */
  readonly rgba: Uint8Array;

  /**
   * Creates a canvas filled with a background colour.
   *
   * @param width Width in pixels.
   * @param height Height in pixels.
   * @param background Fill colour (white by default).
   */
  constructor(width: number, height: number, background: Rgb = [255, 255, 255]) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new RangeError(
        `Cannot create canvas: width and height must be integers >= 1: found ${width} x ${height}`,
      );
    }
    this.width = width;
    this.height = height;
    this.rgba = new Uint8Array(width * height * 4);
    this.fillRect(0, 0, width, height, background);
  }

  /**
   * Blends a colour into one pixel; coordinates outside the canvas are ignored.
   *
   * @param x Column.
   * @param y Row (0 at the top).
   * @param c Colour.
   * @param alpha Opacity in [0, 1].
   */
  set(x: number, y: number, c: Rgb, alpha = 1): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const o = (y * this.width + x) * 4, p = this.rgba;
    if (alpha >= 1) {
      p[o] = c[0];
      p[o + 1] = c[1];
      p[o + 2] = c[2];
    } else {
      p[o] = Math.round(p[o] + (c[0] - p[o]) * alpha);
      p[o + 1] = Math.round(p[o + 1] + (c[1] - p[o + 1]) * alpha);
      p[o + 2] = Math.round(p[o + 2] + (c[2] - p[o + 2]) * alpha);
    }
    p[o + 3] = 255;
  }

  /**
   * Fills the rectangle [x, x + w) × [y, y + h), clipped to the canvas.
   *
   * @param x Left column.
   * @param y Top row.
   * @param w Width.
   * @param h Height.
   * @param c Colour.
   * @param alpha Opacity in [0, 1].
   */
  fillRect(x: number, y: number, w: number, h: number, c: Rgb, alpha = 1): void {
    const x0 = Math.max(0, Math.round(x)), y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w)),
      y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) this.set(xx, yy, c, alpha);
  }

  /**
   * Draws the outline of a rectangle, one pixel wide.
   *
   * @param x Left column.
   * @param y Top row.
   * @param w Width.
   * @param h Height.
   * @param c Colour.
   */
  strokeRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    this.fillRect(x, y, w, 1, c);
    this.fillRect(x, y + h - 1, w, 1, c);
    this.fillRect(x, y, 1, h, c);
    this.fillRect(x + w - 1, y, 1, h, c);
  }

  /**
   * Draws a straight line of the given thickness (Bresenham steps stamped with a square).
   *
   * @param x0 Start column.
   * @param y0 Start row.
   * @param x1 End column.
   * @param y1 End row.
   * @param c Colour.
   * @param thickness Line width in pixels.
   */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness = 1): void {
    if (![x0, y0, x1, y1].every(Number.isFinite)) return;
    x0 = Math.round(x0);
    y0 = Math.round(y0);
    x1 = Math.round(x1);
    y1 = Math.round(y1);
    const dx = Math.abs(x1 - x0), dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    const lo = -Math.floor((thickness - 1) / 2), hi = lo + thickness;
    let err = dx + dy;
    // Guard against pathological lengths far outside the canvas.
    for (let steps = 0; steps < 100_000; steps++) {
      for (let a = lo; a < hi; a++) for (let b = lo; b < hi; b++) this.set(x0 + a, y0 + b, c);
      if (x0 === x1 && y0 === y1) break;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  }

  /**
   * Draws a filled disc.
   *
   * @param cx Centre column.
   * @param cy Centre row.
   * @param r Radius in pixels.
   * @param c Colour.
   * @param alpha Opacity in [0, 1].
   */
  dot(cx: number, cy: number, r: number, c: Rgb, alpha = 1): void {
    cx = Math.round(cx);
    cy = Math.round(cy);
    const ri = Math.ceil(r);
    for (let dy = -ri; dy <= ri; dy++) {
      for (let dx = -ri; dx <= ri; dx++) {
        if (dx * dx + dy * dy <= r * r + r * 0.5) this.set(cx + dx, cy + dy, c, alpha);
      }
    }
  }

  /**
   * Draws text in the 5×7 font.
   *
   * @param s The text (printable ASCII; others show as '?').
   * @param x Anchor column.
   * @param y Anchor row (top of the glyphs, or see `baseline`).
   * @param c Colour.
   * @param opts `scale` (integer pixel size, default 1), `align` of the anchor
   *   ("left", "center", "right"), `valign` ("top", "middle", "bottom") and
   *   `rotate` (true: reads bottom to top, for a y-axis label).
   */
  text(
    s: string,
    x: number,
    y: number,
    c: Rgb,
    opts: TextOptions = {},
  ): void {
    const { scale, along, across: off } = textAnchor(s, opts);
    let pen = along;
    for (const ch of s) {
      const cols = glyph(ch);
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
          if (!((cols[gx] >> gy) & 1)) continue;
          const u = pen + gx * scale, v = off + gy * scale;
          if (opts.rotate) this.fillRect(x + v, y - u - scale, scale, scale, c);
          else this.fillRect(x + u, y + v, scale, scale, c);
        }
      }
      pen += (GLYPH_WIDTH + 1) * scale;
    }
  }

  /** @returns the canvas as PNG bytes. */
  toPng(): Uint8Array {
    return encodePng(this.rgba, this.width, this.height);
  }

  /** @returns the canvas as PNG bytes ({@linkcode Canvas.toPng}). */
  toBytes(): Uint8Array {
    return this.toPng();
  }
}

/**
 * Where {@linkcode Surface.text} puts a string: its size and the offsets, in whole pixels, of its
 * top-left corner from the anchor (along the text, and across it).
 *
 * @param s Text.
 * @param opts Scale and alignment.
 * @returns the scale, width and height, and the offsets.
 */
export function textAnchor(
  s: string,
  opts: TextOptions = {},
): { scale: number; w: number; h: number; along: number; across: number } {
  const scale = opts.scale ?? 1;
  const w = textWidth(s, scale), h = GLYPH_HEIGHT * scale;
  const along = Math.round(opts.align === "center" ? -w / 2 : opts.align === "right" ? -w : 0);
  const across = Math.round(opts.valign === "middle" ? -h / 2 : opts.valign === "bottom" ? -h : 0);
  return { scale, w, h, along, across };
}

/**
 * @param s Text.
 * @param scale Integer pixel size.
 * @returns the width in pixels of `s` drawn by {@linkcode Canvas.text}.
 */
export function textWidth(s: string, scale = 1): number {
  const n = [...s].length;
  return n === 0 ? 0 : (n * (GLYPH_WIDTH + 1) - 1) * scale;
}
