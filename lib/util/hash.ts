/**
 * Content hashes for recognising the same inputs again (a resumed extraction's task list, a
 * kept day of detections).
 *
 * @module
 */

/**
 * SHA-256 of a text (UTF-8), as lowercase hex.
 *
 * @param text The text.
 * @returns 64 hex digits.
 * @example
 * ```ts
 * import { sha256Hex } from "./hash.ts";
 * const h = await sha256Hex("abc");
 * if (!h.startsWith("ba7816bf")) throw new Error(h);
 * ```
 */
export async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * FNV-1a, 32 bits, of a text's UTF-8 bytes, as 8 hex digits: a short name for a longer text
 * (an adapter's in file names, a tuning's in `info`), not a content check.
 *
 * @param text The text.
 * @returns 8 hex digits.
 * @example
 * ```ts
 * import { fnv1aHex } from "./hash.ts";
 * if (fnv1aHex("") !== "811c9dc5" || fnv1aHex("a") !== "e40c292c") throw new Error();
 * ```
 */
export function fnv1aHex(text: string): string {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(text)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}
