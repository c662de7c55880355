/**
 * Minimal RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF line ends.
 *
 * @module
 */
import { UserError } from "../util/errors.ts";

/** Options of {@linkcode parseCsv}. */
export interface CsvOptions {
  /**
   * An empty line is a row of one empty field (where a line stands for a value, as in a file
   * of one label per line) instead of being dropped.
   */
  keepEmptyLines?: boolean;
  /**
   * The file the text came from: errors are then {@linkcode UserError}s naming it (else
   * RangeErrors naming no file, for the caller to wrap).
   */
  source?: string;
  /**
   * The columns the caller reads ({@linkcode parseCsvRecords}): only a repeat of one of these is
   * refused; others are not looked up, so a repeat of them harms nothing. Default: every column.
   */
  columns?: readonly string[];
}

/**
 * Parses CSV text into rows of fields.
 *
 * @param text CSV text.
 * @param delimiter Field separator (default ",").
 * @param options See {@linkcode CsvOptions}.
 * @returns rows; blank lines are dropped unless `keepEmptyLines` is set.
 * @throws {RangeError} (a {@linkcode UserError} with `source`) when a quoted field is never
 *   closed: it would otherwise swallow the rest of the file, naming the line where it opened.
 * @example
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * const rows = parseCsv('a,b\n1,"x, ""y"""\n');
 * if (rows[1][1] !== 'x, "y"') throw new Error();
 * ```
 */
export function parseCsv(
  text: string,
  delimiter = ",",
  options: CsvOptions = {},
): string[][] {
  const keep = options.keepEmptyLines ?? false;
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  // The line being read (1-based), and the one where the open quote began.
  let line = 1, quoteLine = 0;
  let i = 0;
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === "\n" || (c === "\r" && text[i + 1] !== "\n")) line++;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === "") {
      quoted = true;
      quoteLine = line;
    } else if (c === delimiter) {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") {
        i++;
        line++;
      }
      row.push(field);
      field = "";
      if (keep || row.length > 1 || row[0] !== "") rows.push(row);
      row = [];
    } else field += c;
  }
  if (quoted) {
    const why = `the quoted field opened by '"' on line ${quoteLine} is never closed: ` +
      `expected a closing '"' (a stray quote would swallow the rest of the file)`;
    throw options.source === undefined
      ? new RangeError(`Cannot read CSV: ${why}`)
      : new UserError(`Cannot read ${options.source}: ${why}`);
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    if (row.length > 1 || row[0] !== "") rows.push(row);
  }
  return rows;
}

/**
 * Parses CSV text with a header row into records.
 *
 * @param text CSV text whose first row names the columns.
 * @param delimiter Field separator (default ",").
 * @param options See {@linkcode CsvOptions}.
 * @returns one record per data row, keyed by column name ("" for missing fields).
 * @throws as {@linkcode parseCsv} does, and when a column name is repeated (see
 *   {@linkcode refuseRepeatedColumns}).
 */
export function parseCsvRecords(
  text: string,
  delimiter = ",",
  options: CsvOptions = {},
): Record<string, string>[] {
  return csvRecords(parseCsv(text, delimiter, options), options);
}

/**
 * {@linkcode parseCsvRecords} of rows already parsed, for a reader that also needs the rows as
 * they are (how many fields each holds).
 *
 * @param rows Rows from {@linkcode parseCsv}, the header first.
 * @param options `source` and `columns`, as for {@linkcode parseCsvRecords}.
 * @returns one record per data row, keyed by column name ("" for missing fields).
 * @throws {UserError} (RangeError without `source`) when a column name is repeated.
 */
export function csvRecords(
  rows: string[][],
  options: CsvOptions = {},
): Record<string, string>[] {
  if (rows.length === 0) return [];
  const head = rows[0].map((h) => h.trim());
  refuseRepeatedColumns(head, options.source, options.columns);
  return rows.slice(1).map((r) => Object.fromEntries(head.map((h, i) => [h, r[i] ?? ""])));
}

/**
 * Refuses a header that names a column twice: readers keyed by name would take one of them
 * (a record the last, `indexOf` the first) and silently ignore the other. Empty names (a
 * trailing comma) may repeat: no reader looks them up; nor may columns the reader does not read,
 * where it says which it reads (`columns`).
 *
 * @param head The header's names, trimmed.
 * @param source The file, for the message; without it a RangeError names no file.
 * @param columns The columns read (default: all).
 * @throws {UserError} (RangeError without `source`) naming the column and its positions.
 * @example
 * ```ts
 * import { refuseRepeatedColumns } from "./csv.ts";
 * refuseRepeatedColumns(["id", "label", "", ""]); // fine
 * refuseRepeatedColumns(["id", "label", "notes", "notes"], "l.csv", ["id", "label"]); // fine
 * let refused = false;
 * try {
 *   refuseRepeatedColumns(["id", "label", "label"], "l.csv");
 * } catch {
 *   refused = true;
 * }
 * if (!refused) throw new Error();
 * ```
 */
export function refuseRepeatedColumns(
  head: readonly string[],
  source?: string,
  columns?: readonly string[],
): void {
  const seen = new Map<string, number>();
  for (const [j, h] of head.entries()) {
    if (h === "" || (columns && !columns.includes(h))) continue;
    const i = seen.get(h);
    if (i !== undefined) {
      const why = `column '${h}' is named twice (columns ${i + 1} and ${j + 1}): expected ` +
        `each column once`;
      throw source === undefined
        ? new RangeError(`Cannot read CSV: ${why}`)
        : new UserError(`Cannot read ${source}: ${why}`);
    }
    seen.set(h, j);
  }
}

/**
 * Formats one CSV field, quoting it when needed.
 *
 * @param v The value.
 * @returns the field text.
 */
export function csvField(v: string | number | null | undefined): string {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * Formats rows as CSV text.
 *
 * @param rows Rows of fields; the first is usually the header.
 * @returns CSV text with LF line ends and a final newline.
 */
export function formatCsv(
  rows: readonly (readonly (string | number | null | undefined)[])[],
): string {
  return rows.map((r) => r.map(csvField).join(",")).join("\n") + "\n";
}
