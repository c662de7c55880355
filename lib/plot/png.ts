/**
 * Dependency-free PNG encoder: 8-bit RGBA, no interlace, zlib from `node:zlib`.
 *
 * @module
 */

import { deflateSync } from "node:zlib";

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 (ISO 3309 / ITU-T V.42, the one PNG and zlib's `crc32` use).
 *
 * @param bytes Data to checksum.
 * @param crc Running CRC to continue from (0 to start).
 * @returns the CRC as an unsigned 32-bit integer.
 * @example
 * ```ts
 * import { crc32 } from "./png.ts";
 * if (crc32(new TextEncoder().encode("123456789")) !== 0xcbf43926) throw new Error();
 * ```
 */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The 8-byte PNG file signature. */
export const PNG_SIGNATURE: Uint8Array = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]);

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * Encodes an RGBA image as PNG (colour type 6, bit depth 8, filter 0 on every row).
 *
 * @param rgba Pixels, row-major from the top-left, 4 bytes each: `[height, width, 4]`.
 * @param width Image width in pixels (>= 1).
 * @param height Image height in pixels (>= 1).
 * @returns the PNG file bytes.
 * @example
 * ```ts
 * import { encodePng } from "./png.ts";
 * const png = encodePng(new Uint8Array([255, 0, 0, 255]), 1, 1);
 * if (png[1] !== 0x50) throw new Error("not a PNG"); // 'P'
 * ```
 */
export function encodePng(rgba: Uint8Array, width: number, height: number): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(
      `Cannot encode PNG: width and height must be integers >= 1: found ${width} x ${height}`,
    );
  }
  if (rgba.length !== width * height * 4) {
    throw new TypeError(
      `Cannot encode PNG: expected width * height * 4 = ${
        width * height * 4
      } bytes: found ${rgba.length}`,
    );
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type: RGBA
  ihdr[10] = 0; // compression: deflate
  ihdr[11] = 0; // filter method 0
  ihdr[12] = 0; // no interlace
  const stride = width * 4;
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0; // filter type None
    raw.set(rgba.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const idat = new Uint8Array(deflateSync(raw));
  const parts = [
    PNG_SIGNATURE,
    chunk("IHDR", ihdr),
    chunk("IDAT", idat),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
