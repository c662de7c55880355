/**
 * A cache bounded by the bytes of its values, least recently used out first: what the
 * front end keeps between samples (decoded waveform files, response inverse filters).
 *
 * @module
 */

/** A map from keys to values of known size, holding at most `budget` bytes. */
export class ByteLru<V> {
  #map = new Map<string, { value: V; bytes: number }>();
  #bytes = 0;
  readonly #budget: number;
  readonly #largest: number;

  /**
   * @param budget Most bytes held.
   * @param largest Largest value kept, bytes (default `budget`); larger ones are not cached.
   */
  constructor(budget: number, largest = budget) {
    this.#budget = budget;
    this.#largest = Math.min(largest, budget);
  }

  /**
   * @param key The key.
   * @returns its value (now the most recently used), or undefined.
   */
  get(key: string): V | undefined {
    const hit = this.#map.get(key);
    if (!hit) return undefined;
    this.#map.delete(key);
    this.#map.set(key, hit);
    return hit.value;
  }

  /**
   * Keeps a value, dropping the least recently used ones beyond the budget; a value larger
   * than `largest` is not kept (and the key's older value goes: it is not the key's now).
   *
   * @param key The key.
   * @param value The value.
   * @param bytes Its size.
   * @example
   * ```ts
   * import { ByteLru } from "./lru.ts";
   * const c = new ByteLru<string>(10);
   * c.set("a", "A", 6);
   * c.set("b", "B", 6); // over 10 bytes: "a" goes
   * if (c.get("a") !== undefined || c.get("b") !== "B") throw new Error();
   * ```
   */
  set(key: string, value: V, bytes: number): void {
    const had = this.#map.get(key);
    if (had) {
      this.#map.delete(key);
      this.#bytes -= had.bytes;
    }
    if (bytes > this.#largest) return;
    while (this.#bytes + bytes > this.#budget) {
      const [oldest, v] = this.#map.entries().next().value!;
      this.#map.delete(oldest);
      this.#bytes -= v.bytes;
    }
    this.#map.set(key, { value, bytes });
    this.#bytes += bytes;
  }
}
