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
