import { inflateSync } from "node:zlib";
import { Canvas, textWidth } from "../../lib/plot/canvas.ts";

/** Bitwise CRC-32 (reflected polynomial 0xEDB88320), independent of the table in lib/plot/png.ts. */
export function crc32Bitwise(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** Decodes an 8-bit RGBA, non-interlaced PNG with filter-0 rows, checking every chunk CRC. */
export function decodePng(png: Uint8Array): {
  width: number;
  height: number;
  rgba: Uint8Array;
  chunks: string[];
  ihdr: Uint8Array;
} {
  const sig = [137, 80, 78, 71, 13, 10, 26, 10];
  if (!sig.every((b, i) => png[i] === b)) throw new Error("bad PNG signature");
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let o = 8;
  const chunks: string[] = [];
  const idat: Uint8Array[] = [];
  let ihdr = new Uint8Array(0);
  while (o < png.length) {
    const len = view.getUint32(o);
    const type = String.fromCharCode(...png.subarray(o + 4, o + 8));
    const body = png.subarray(o + 8, o + 8 + len);
    const crc = view.getUint32(o + 8 + len);
    if (crc !== crc32Bitwise(png.subarray(o + 4, o + 8 + len))) {
      throw new Error(`bad CRC in ${type}`);
    }
    chunks.push(type);
    if (type === "IHDR") ihdr = body.slice();
    if (type === "IDAT") idat.push(body);
    o += 12 + len;
  }
  const hv = new DataView(ihdr.buffer);
  const width = hv.getUint32(0), height = hv.getUint32(4);
  const all = new Uint8Array(idat.reduce((s, b) => s + b.length, 0));
  let p = 0;
  for (const b of idat) {
    all.set(b, p);
    p += b.length;
  }
  const raw = new Uint8Array(inflateSync(all));
  if (raw.length !== height * (width * 4 + 1)) throw new Error("bad IDAT length");
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    if (raw[y * (width * 4 + 1)] !== 0) throw new Error("unexpected filter type");
    rgba.set(raw.subarray(y * (width * 4 + 1) + 1, (y + 1) * (width * 4 + 1)), y * width * 4);
  }
  return { width, height, rgba, chunks, ihdr };
}

/** Counts the pixels of an exact RGB colour. */
export function countColor(rgba: Uint8Array, c: readonly number[]): number {
  let n = 0;
  for (let i = 0; i < rgba.length; i += 4) {
    if (rgba[i] === c[0] && rgba[i + 1] === c[1] && rgba[i + 2] === c[2]) n++;
  }
  return n;
}

/**
 * Where `text`, drawn in the 5×7 font at `scale` (rotated to read bottom to top with `rotate`), in
 * `color`, appears in an image: every glyph pixel has that colour and no other pixel of the text's
 * box has it. Returns the top-left corners of the text's inked box (of size w × h), in reading
 * order.
 */
export function findText(
  img: { width: number; height: number; rgba: Uint8Array },
  text: string,
  opts: { scale?: number; rotate?: boolean; color?: readonly number[] } = {},
): { x: number; y: number; w: number; h: number }[] {
  const scale = opts.scale ?? 1, color = opts.color ?? [0, 0, 0];
  const w = textWidth(text, scale), side = w + 16 * scale + 4;
  const cv = new Canvas(side, side);
  cv.text(text, 2, opts.rotate ? 2 + w : 2, [0, 0, 0], { scale, rotate: opts.rotate });
  let x0 = side, y0 = side, x1 = -1, y1 = -1;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      if (cv.rgba[(y * side + x) * 4] === 0) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) return [];
  const tw = x1 - x0 + 1, th = y1 - y0 + 1;
  const ink: boolean[] = [];
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) ink.push(cv.rgba[((y + y0) * side + x + x0) * 4] === 0);
  }
  const first = ink.indexOf(true), fx = first % tw, fy = Math.floor(first / tw);
  const is = (x: number, y: number) => {
    const o = (y * img.width + x) * 4;
    return img.rgba[o] === color[0] && img.rgba[o + 1] === color[1] && img.rgba[o + 2] === color[2];
  };
  const found: { x: number; y: number; w: number; h: number }[] = [];
  for (let y = 0; y + th <= img.height; y++) {
    for (let x = 0; x + tw <= img.width; x++) {
      if (!is(x + fx, y + fy)) continue;
      let ok = true;
      for (let k = 0; k < ink.length && ok; k++) {
        ok = is(x + (k % tw), y + Math.floor(k / tw)) === ink[k];
      }
      if (ok) found.push({ x, y, w: tw, h: th });
    }
  }
  return found;
}

/**
 * Counts the pixels of `color` whose left and right neighbours are both coloured (neither white,
 * black nor `color`): a vertical line of `color` drawn across an image tile.
 */
export function countLineInTiles(
  img: { width: number; height: number; rgba: Uint8Array },
  color: readonly number[],
): number {
  const px = (x: number, y: number) =>
    Array.from(img.rgba.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 3));
  const plain = (c: number[]) =>
    c.every((v) => v === 255) || c.every((v) => v === 0) || c.every((v, i) => v === color[i]);
  let n = 0;
  for (let y = 0; y < img.height; y++) {
    for (let x = 1; x + 1 < img.width; x++) {
      if (
        px(x, y).every((v, i) => v === color[i]) && !plain(px(x - 1, y)) && !plain(px(x + 1, y))
      ) n++;
    }
  }
  return n;
}
