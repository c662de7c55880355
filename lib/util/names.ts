/**
 * The name a mistyped one most likely meant, for "did you mean ...?" in errors about unknown
 * flags, commands and config fields.
 *
 * @module
 */

/**
 * Edit distance of two short strings: insertions, deletions, substitutions and swaps of two
 * adjacent letters (`modle` is one edit from `model`).
 */
export function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j], before[j - 2] + 1);
      }
    }
    [before, prev] = [prev, row];
  }
  return prev[b.length];
}

/**
 * The name a mistyped one most likely meant: the only name it is a prefix of, else the nearest
 * by edit distance, within a third of its length (at least 1 edit); case is ignored.
 *
 * @param given The unknown name.
 * @param names The known names.
 * @returns the known name, or null when none is near (or `given` is one letter).
 */
export function nearestName(given: string, names: readonly string[]): string | null {
  const g = given.toLowerCase();
  if (g.length < 2) return null;
  const prefixed = names.filter((f) => f.toLowerCase().startsWith(g));
  if (prefixed.length === 1) return prefixed[0];
  let best: string | null = null, bestD = Math.max(1, Math.floor(g.length / 3)) + 1;
  for (const f of names) {
    const d = editDistance(g, f.toLowerCase());
    if (d < bestD) [best, bestD] = [f, d];
  }
  return best;
}

/**
 * Compares two strings by UTF-16 code units, as `Array.prototype.sort` does by default: the
 * order outputs are written in must not depend on the user's locale (`localeCompare` follows
 * `LANG`: in Danish collation `AAB` sorts after `BSD`, which reordered `episodes.csv`).
 *
 * @param a A string.
 * @param b Another.
 * @returns negative, 0 or positive.
 * @example
 * ```ts
 * import { compareText } from "./names.ts";
 * if (["b", "B", "a"].sort(compareText).join() !== "B,a,b") throw new Error();
 * ```
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
