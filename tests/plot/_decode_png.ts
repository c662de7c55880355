import { inflateSync } from "node:zlib";

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
