/**
 * An SVG surface with the drawing calls of {@linkcode Canvas}, so that every chart can be written
 * as a vector figure (for papers and slides) as well as a PNG: rectangles, lines, dots and text
 * become SVG elements at the same pixel coordinates, and what the charts paint pixel by pixel
 * (heat-map cells, dashed marks, rings) is gathered into PNG images embedded where it was drawn,
 * in drawing order, as matplotlib embeds `imshow` images in its SVG output.
 *
 * Text keeps the layout of the bitmap font: each string is set in a monospace font stretched
 * (`textLength`) to the width {@linkcode textWidth} gives, its baseline at the bottom of where the
 * 5×7 glyphs would be.
 *
 * @module
 */

import { type Rgb, type Surface, textAnchor, type TextOptions } from "./canvas.ts";
import { encodePng } from "./png.ts";

/** Font size (px) per unit of text scale: a monospace font's capitals are then ~7 px tall. */
export const SVG_FONT_PX = 9.6;

function hex(c: Rgb): string {
  return "#" + c.map((v) => Math.max(0, Math.min(255, Math.round(v))).toString(16).padStart(2, "0"))
    .join("");
}

function num(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** @returns `s` with the characters XML gives meaning to escaped (for text and attributes). */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)
    // Control characters are not allowed in XML 1.0: shown as '?', as the bitmap font does.
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "?");
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** A polyline being extended while each new segment starts where the last ended. */
interface OpenPath {
  color: Rgb;
  thickness: number;
  d: string[];
  x: number;
  y: number;
}

/**
 * A drawing surface that records SVG. It takes the same calls as {@linkcode Canvas} (the charts
 * draw on either) and {@linkcode SvgCanvas.toSvg} returns the document.
 *
 * @example
 * ```ts
 * import { SvgCanvas } from "./svg.ts";
 * const s = new SvgCanvas(40, 20);
 * s.line(0, 0, 39, 19, [255, 0, 0], 2);
 * s.text("hi", 2, 2, [0, 0, 0]);
 * if (!s.toSvg().includes("<text")) throw new Error();
 * ```
 */
export class SvgCanvas implements Surface {
  /** Width in pixels (SVG user units). */
  readonly width: number;
  /** Height in pixels (SVG user units). */
  readonly height: number;
  #parts: string[] = [];
  #path: OpenPath | null = null;
  /** Pixels set one by one since the last vector element, RGBA (alpha 0: untouched). */
  #raster: Uint8Array | null = null;
  #box = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };

  /**
   * Creates a surface filled with a background colour.
   *
   * @param width Width in pixels.
   * @param height Height in pixels.
   * @param background Fill colour (white by default).
   */
  constructor(width: number, height: number, background: Rgb = [255, 255, 255]) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new RangeError(
        `Cannot create SVG surface: width and height must be integers >= 1: found ${width} x ${height}`,
      );
    }
    this.width = width;
    this.height = height;
    this.fillRect(0, 0, width, height, background);
  }

  /** Paints one pixel (composited over the pixels set before it, like {@linkcode Canvas.set}). */
  set(x: number, y: number, c: Rgb, alpha = 1): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.#endPath();
    const p = this.#raster ??= new Uint8Array(this.width * this.height * 4);
    const o = (y * this.width + x) * 4;
    const a = Math.max(0, Math.min(1, alpha));
    const under = p[o + 3] / 255;
    const out = a + under * (1 - a);
    for (let i = 0; i < 3; i++) {
      p[o + i] = out > 0 ? Math.round((c[i] * a + p[o + i] * under * (1 - a)) / out) : 0;
    }
    p[o + 3] = Math.round(out * 255);
    const b = this.#box;
    if (x < b.x0) b.x0 = x;
    if (y < b.y0) b.y0 = y;
    if (x > b.x1) b.x1 = x;
    if (y > b.y1) b.y1 = y;
  }

  /** Fills the rectangle [x, x + w) × [y, y + h) (rounded and clipped as {@linkcode Canvas}). */
  fillRect(x: number, y: number, w: number, h: number, c: Rgb, alpha = 1): void {
    const x0 = Math.max(0, Math.round(x)), y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w)),
      y1 = Math.min(this.height, Math.round(y + h));
    if (x1 <= x0 || y1 <= y0) return;
    this.#flush();
    this.#parts.push(
      `<rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" fill="${hex(c)}"${
        alpha < 1 ? ` fill-opacity="${num(Math.max(0, alpha))}"` : ""
      }/>`,
    );
  }

  /** Outlines a rectangle one pixel wide, on the same pixels as {@linkcode Canvas.strokeRect}. */
  strokeRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    const x0 = Math.round(x), y0 = Math.round(y), x1 = Math.round(x + w), y1 = Math.round(y + h);
    if (x1 <= x0 || y1 <= y0) return;
    // An outline 1 or 2 pixels across covers its whole box (SVG draws no stroke of width 0).
    if (x1 - x0 <= 2 || y1 - y0 <= 2) return this.fillRect(x0, y0, x1 - x0, y1 - y0, c);
    this.#flush();
    this.#parts.push(
      `<rect x="${x0 + 0.5}" y="${y0 + 0.5}" width="${x1 - x0 - 1}" height="${
        y1 - y0 - 1
      }" fill="none" stroke="${hex(c)}"/>`,
    );
  }

  /**
   * A straight line between pixel centres, `thickness` wide with square caps; consecutive lines
   * of one colour that join end to start become one polyline.
   */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness = 1): void {
    if (![x0, y0, x1, y1].every(Number.isFinite)) return;
    x0 = Math.round(x0);
    y0 = Math.round(y0);
    x1 = Math.round(x1);
    y1 = Math.round(y1);
    // Canvas stamps a square of `thickness` pixels whose top-left is floor((t - 1) / 2) up-left.
    const off = 0.5 - Math.floor((thickness - 1) / 2) + (thickness - 1) / 2;
    const p = this.#path;
    if (
      p && p.thickness === thickness && p.x === x0 && p.y === y0 &&
      p.color.every((v, i) => v === c[i])
    ) {
      p.d.push(`L${num(x1 + off)} ${num(y1 + off)}`);
    } else {
      this.#flush();
      this.#path = {
        color: c,
        thickness,
        d: [`M${num(x0 + off)} ${num(y0 + off)}`, `L${num(x1 + off)} ${num(y1 + off)}`],
        x: x1,
        y: y1,
      };
    }
    this.#path!.x = x1;
    this.#path!.y = y1;
  }

  /** A filled disc, covering the pixels {@linkcode Canvas.dot} colours. */
  dot(cx: number, cy: number, r: number, c: Rgb, alpha = 1): void {
    if (!Number.isFinite(cx) || !Number.isFinite(cy)) return;
    this.#flush();
    this.#parts.push(
      `<circle cx="${Math.round(cx) + 0.5}" cy="${Math.round(cy) + 0.5}" r="${
        num(r + 0.5)
      }" fill="${hex(c)}"${alpha < 1 ? ` fill-opacity="${num(Math.max(0, alpha))}"` : ""}/>`,
    );
  }

  /** Text anchored as {@linkcode Canvas.text} anchors it, the same width as the bitmap's. */
  text(
    s: string,
    x: number,
    y: number,
    c: Rgb,
    opts: TextOptions = {},
  ): void {
    if (s.length === 0 || !Number.isFinite(x) || !Number.isFinite(y)) return;
    const { scale, w, h, along, across } = textAnchor(s, opts);
    this.#flush();
    const font = `font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="${
      num(SVG_FONT_PX * scale)
    }"`;
    // Spaces kept as typed (XML would merge them), so that the letters sit where the bitmap's do.
    const fit = `textLength="${w}" lengthAdjust="spacingAndGlyphs" xml:space="preserve"`;
    const body = escapeXml(s);
    if (opts.rotate) {
      // Reads bottom to top from (x, y), as Canvas draws it: glyph pixel (u, v) at (x + v, y - u).
      this.#parts.push(
        `<text transform="translate(${Math.round(x)} ${
          Math.round(y)
        }) rotate(-90)" x="${along}" y="${across + h}" ${font} ${fit} fill="${
          hex(c)
        }">${body}</text>`,
      );
    } else {
      this.#parts.push(
        `<text x="${num(Math.round(x) + along)}" y="${
          num(Math.round(y) + across + h)
        }" ${font} ${fit} fill="${hex(c)}">${body}</text>`,
      );
    }
  }

  /** @returns the SVG document (UTF-8 text), `width` × `height` user units, one per pixel. */
  toSvg(): string {
    this.#flush();
    return [
      `<?xml version="1.0" encoding="UTF-8"?>`,
      `<svg xmlns="http://www.w3.org/2000/svg" width="${this.width}" height="${this.height}" ` +
      `viewBox="0 0 ${this.width} ${this.height}">`,
      `<style>rect{shape-rendering:crispEdges}image{image-rendering:pixelated}text{white-space:pre}</style>`,
      ...this.#parts,
      `</svg>`,
      ``,
    ].join("\n");
  }

  /** @returns {@linkcode SvgCanvas.toSvg} as UTF-8 bytes. */
  toBytes(): Uint8Array {
    return new TextEncoder().encode(this.toSvg());
  }

  #endPath(): void {
    const p = this.#path;
    if (!p) return;
    this.#path = null;
    this.#parts.push(
      `<path d="${p.d.join(" ")}" fill="none" stroke="${
        hex(p.color)
      }" stroke-width="${p.thickness}" ` +
        `stroke-linecap="square" stroke-linejoin="round"/>`,
    );
  }

  /** Writes out the open polyline and the pixels set since the last element, in that order. */
  #flush(): void {
    this.#endPath();
    const b = this.#box, p = this.#raster;
    if (!p || b.x1 < b.x0) return;
    const w = b.x1 - b.x0 + 1, h = b.y1 - b.y0 + 1;
    const crop = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++) {
      const from = ((b.y0 + y) * this.width + b.x0) * 4;
      crop.set(p.subarray(from, from + w * 4), y * w * 4);
      p.fill(0, from, from + w * 4);
    }
    this.#parts.push(
      `<image x="${b.x0}" y="${b.y0}" width="${w}" height="${h}" ` +
        `href="data:image/png;base64,${base64(encodePng(crop, w, h))}"/>`,
    );
    this.#box = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
  }
}
