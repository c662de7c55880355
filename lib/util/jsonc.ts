/**
 * JSON with comments, as the README's config examples are written: `//` line comments and
 * `/* … *\/` block comments outside strings are dropped (each replaced by spaces, newlines
 * kept, so that a parse error's position still points into the file as written), and so are
 * trailing commas.
 *
 * @module
 */

/**
 * The text with its comments blanked out.
 *
 * @param text JSON text that may hold comments.
 * @returns the same text, every comment character but newlines replaced by a space.
 * @throws {SyntaxError} when a block comment is not closed.
 * @example
 * ```ts
 * import { stripJsonComments } from "./jsonc.ts";
 * const t = stripJsonComments('{"a": "//x", // note\n "b": 1 /* c *\/}');
 * if (JSON.stringify(JSON.parse(t)) !== '{"a":"//x","b":1}') throw new Error(t);
 * ```
 */
export function stripJsonComments(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      // A string, escapes included, copied as it is.
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === "/" && text[i + 1] === "/") {
      let j = i;
      while (j < text.length && text[j] !== "\n") j++;
      out += " ".repeat(j - i);
      i = j;
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) throw new SyntaxError(`Unterminated comment at position ${i}`);
      out += text.slice(i, end + 2).replace(/[^\n]/g, " ");
      i = end + 2;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/**
 * The text with each trailing comma (one before a closing `}` or `]`, outside strings) blanked
 * out, as JSONC allows them; positions are kept.
 *
 * @param text JSON text without comments.
 * @returns the same text, trailing commas replaced by spaces.
 * @example
 * ```ts
 * import { stripTrailingCommas } from "./jsonc.ts";
 * const t = stripTrailingCommas('{"a": [1, 2,], "b": ",}",\n}');
 * if (JSON.stringify(JSON.parse(t)) !== '{"a":[1,2],"b":",}"}') throw new Error(t);
 * ```
 */
export function stripTrailingCommas(text: string): string {
  const out = text.split("");
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    } else if (text[i] === ",") {
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j])) j++;
      // Only after a value: "[,]" stays an error.
      let k = i - 1;
      while (k >= 0 && /\s/.test(text[k])) k--;
      const afterValue = k >= 0 && !"[{,".includes(text[k]);
      if (afterValue && (text[j] === "}" || text[j] === "]")) out[i] = " ";
    }
  }
  return out.join("");
}

/**
 * Parses JSON that may hold comments ({@linkcode stripJsonComments}) and trailing commas
 * ({@linkcode stripTrailingCommas}), as VS Code's JSONC does.
 *
 * @param text The text.
 * @returns the value.
 * @throws {SyntaxError} as JSON.parse, for an unterminated comment, or for a key given twice
 *   in one object (JSON.parse keeps the last without a word), naming its path and both values.
 */
export function parseJsonc(text: string): unknown {
  // A UTF-8 byte-order mark (Windows editors, PowerShell 5's Out-File) is no JSON.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const json = stripTrailingCommas(stripJsonComments(body));
  const value = JSON.parse(json);
  refuseRepeatedKeys(json, 0, []);
  return value;
}

/**
 * Walks one value of valid JSON from `i`, refusing an object that gives a key twice.
 *
 * @returns the index just past the value.
 * @throws {SyntaxError} naming the key's path and both values.
 */
function refuseRepeatedKeys(t: string, i: number, path: string[]): number {
  const ws = (j: number) => {
    while (/\s/.test(t[j] ?? "")) j++;
    return j;
  };
  const stringEnd = (j: number) => {
    j++;
    while (t[j] !== '"') j += t[j] === "\\" ? 2 : 1;
    return j + 1;
  };
  i = ws(i);
  if (t[i] === '"') return stringEnd(i);
  if (t[i] !== "{" && t[i] !== "[") {
    while (i < t.length && !/[\s,}\]]/.test(t[i])) i++;
    return i;
  }
  const close = t[i] === "{" ? "}" : "]";
  const seen = new Map<string, string>();
  i = ws(i + 1);
  for (let n = 0; t[i] !== close; n++) {
    let key = String(n);
    if (close === "}") {
      const end = stringEnd(i);
      key = JSON.parse(t.slice(i, end));
      i = ws(end) + 1;
    }
    const start = ws(i);
    i = refuseRepeatedKeys(t, start, [...path, key]);
    const shown = t.slice(start, i).replace(/\s+/g, " ");
    const v = shown.length > 40 ? `${shown.slice(0, 40)}...` : shown;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      throw new SyntaxError(
        `key ${[...path, key].join(".")} appears twice: expected each key once in its object: ` +
          `found ${earlier}, then ${v}`,
      );
    }
    seen.set(key, v);
    i = ws(i);
    if (t[i] === ",") i = ws(i + 1);
  }
  return i + 1;
}
