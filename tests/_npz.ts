/**
 * NPZ archives edited in place by the tests: the CRC-32s that readNpz checks, made to match the
 * edited bytes again.
 */

import { crc32 } from "../lib/plot/png.ts";

/**
 * Writes each stored (not deflated) entry's CRC-32 of its bytes as they are now into its local
 * header and its central directory record, so that an archive whose data were changed in place
 * reads as one written so.
 *
 * @param bytes The archive, changed in place.
 * @returns `bytes`.
 */
export function restoreNpzCrcs(bytes: Uint8Array): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = bytes.length - 22;
  while (eocd >= 0 && dv.getUint32(eocd, true) !== 0x06054b50) eocd--;
  let p = dv.getUint32(eocd + 16, true);
  for (let e = dv.getUint16(eocd + 10, true); e > 0; e--) {
    const size = dv.getUint32(p + 20, true), local = dv.getUint32(p + 42, true);
    if (dv.getUint16(p + 10, true) === 0) {
      const start = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
      const crc = crc32(bytes.subarray(start, start + size));
      dv.setUint32(local + 14, crc, true);
      dv.setUint32(p + 16, crc, true);
    }
    p += 46 + dv.getUint16(p + 28, true) + dv.getUint16(p + 30, true) + dv.getUint16(p + 32, true);
  }
  return bytes;
}
