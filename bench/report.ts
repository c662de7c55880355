/**
 * `deno task bench:report`: reads every bench/results/*.json written by the benches (whatever
 * its name: `<bench>-<adapter slug>-<hash>.json`, or the slug-only names of earlier versions) and
 * prints one markdown table, one row per (bench, figure, shape) and one column per adapter,
 * so GPUs can be compared. It also writes the table to bench/results/REPORT.md.
 *
 * ```sh
 * deno task bench:report              # bench/results
 * deno task bench:report --dir other/ # another folder of result files
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type BenchResultFile, type ResultAdapter, RESULTS_DIR } from "./_results.ts";
import { writeFileAtomic } from "../lib/util/atomic.ts";

/** A result file and where it was read from. */
export interface LoadedResult {
  path: string;
  file: BenchResultFile;
}

/**
 * Reads every `*.json` result file of a folder, sorted by name. Files that are not
 * result files are skipped with a warning.
 *
 * @param dir Folder to read.
 * @returns the result files.
 */
export async function loadResults(dir: string): Promise<LoadedResult[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(".json")) names.push(e.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  names.sort();
  const out: LoadedResult[] = [];
  for (const name of names) {
    const path = join(dir, name);
    try {
      const file = JSON.parse(await Deno.readTextFile(path)) as BenchResultFile;
      if (!file.adapter?.description || !Array.isArray(file.figures)) {
        throw new TypeError("adapter.description or figures is missing");
      }
      file.bench ??= name.replace(/\.json$/, "");
      out.push({ path, file });
    } catch (e) {
      console.warn(`Skipping ${path}: not a bench result file: ${(e as Error).message}`);
    }
  }
  return out;
}

/**
 * The column title of an adapter: its description alone, so that one GPU's WebGPU
 * results and its PyTorch (CUDA) results share a column.
 *
 * @param a Adapter part of a result file.
 * @returns e.g. "llvmpipe (LLVM 15.0.6, 256 bits)".
 */
export function adapterLabel(a: ResultAdapter): string {
  return a.description;
}

/**
 * Formats a figure for a table cell with about three significant digits.
 *
 * @param v The value, or null when it was not measured.
 * @returns e.g. "3395", "11.2", "0.0421" or "n/a".
 */
export function formatValue(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "n/a";
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

const cell = (s: string) => s.replaceAll("|", "\\|");

/**
 * Says where a result file's WebGPU tuning came from, for the adapters table.
 *
 * @param t The file's `tuning`.
 * @returns e.g. "default", "stored 2026-12-05" or "default + SEISDEC_TUNING {"inFlight":4}".
 * @example
 * ```ts
 * import { tuningLabel } from "./report.ts";
 * const active = { matmul: "tiled" as const, splitTarget: 1, convTile: 8 };
 * const stored = { path: "x.json", date: "2026-12-05T01:00:00Z", fields: { convTile: 16 } };
 * if (tuningLabel({ active, source: { default: "gpu", stored: null, env: {} } }) !== "default") {
 *   throw new Error();
 * }
 * const s = tuningLabel({ active, source: { default: "gpu", stored, env: { inFlight: 4 } } });
 * if (s !== 'stored 2026-12-05 + SEISDEC_TUNING {"inFlight":4}') throw new Error(s);
 * ```
 */
export function tuningLabel(t: NonNullable<BenchResultFile["tuning"]>): string {
  if (!t.source) return "";
  const env = Object.keys(t.source.env).length
    ? ` + SEISDEC_TUNING ${JSON.stringify(t.source.env)}`
    : "";
  return (t.source.stored ? `stored ${t.source.stored.date.slice(0, 10)}` : "default") + env;
}

/**
 * Builds the markdown report: a list of the adapters (with Deno version and date of
 * their latest result) and one table with a column per adapter.
 *
 * @param results The result files.
 * @returns markdown text.
 * @example
 * ```ts
 * import { formatReport } from "./report.ts";
 * const deno = { deno: "2.9.6", v8: "", typescript: "" };
 * const md = formatReport([
 *   { path: "a.json", file: { bench: "peers", adapter: { description: "GPU A" }, deno,
 *     date: "2025-01-01T00:00:00Z",
 *     figures: [{ name: "train", shape: "[64]", value: 10, unit: "samples/s" }] } },
 * ]);
 * if (!md.includes("| peers | train | [64] | samples/s | 10.0 |")) throw new Error(md);
 * ```
 */
export function formatReport(results: LoadedResult[]): string {
  const columns: string[] = [];
  const adapterInfo = new Map<
    string,
    {
      deno: string;
      denoDate: string;
      others: Set<string>;
      date: string;
      files: string[];
      tuning: string;
      tuningDate: string;
    }
  >();
  const rows = new Map<
    string,
    { key: string[]; cells: Map<string, number | null>; dates: Map<string, string> }
  >();
  for (const { path, file } of results) {
    const col = adapterLabel(file.adapter);
    if (!adapterInfo.has(col)) {
      columns.push(col);
      adapterInfo.set(col, {
        deno: "",
        denoDate: "",
        others: new Set(),
        date: "",
        files: [],
        tuning: "",
        tuningDate: "",
      });
    }
    const info = adapterInfo.get(col)!;
    info.files.push(path.split("/").pop()!);
    if (file.date > info.date) info.date = file.date;
    // The PyTorch script writes its Python and torch versions where Deno's would be.
    const version = file.deno?.deno ?? "?";
    const torch = (file.deno as { torch?: string } | undefined)?.torch;
    const runtime = torch ? `${version}, torch ${torch}` : version;
    if (version.startsWith("python")) info.others.add(runtime);
    else if (file.date >= info.denoDate) {
      info.deno = runtime;
      info.denoDate = file.date;
    }
    if (file.tuning && file.date >= info.tuningDate) {
      info.tuning = tuningLabel(file.tuning);
      info.tuningDate = file.date;
    }
    for (const f of file.figures) {
      const key = [file.bench, f.name, f.shape, f.unit];
      const id = JSON.stringify(key);
      if (!rows.has(id)) rows.set(id, { key, cells: new Map(), dates: new Map() });
      const row = rows.get(id)!;
      // Two files of one bench on one adapter (a copy under another name, or one of the
      // slug-only names of earlier versions beside its successor): the later run's figure.
      if ((row.dates.get(col) ?? "") > file.date) continue;
      row.cells.set(col, f.value);
      row.dates.set(col, file.date);
    }
  }
  const lines: string[] = ["# Benchmark results", ""];
  if (results.length === 0) {
    lines.push("No result files found: run `deno task bench` first.", "");
    return lines.join("\n");
  }
  lines.push(
    "| adapter | Deno | WebGPU tuning | latest run | files |",
    "| --- | --- | --- | --- | --- |",
  );
  for (const col of columns) {
    const i = adapterInfo.get(col)!;
    const runtimes = [i.deno || "none", ...[...i.others].map((o) => `(${o})`)].join(" ");
    lines.push(
      `| ${cell(col)} | ${runtimes} | ${cell(i.tuning)} | ${i.date} | ${i.files.join(", ")} |`,
    );
  }
  lines.push("");
  lines.push(`| bench | figure | shape | unit | ${columns.map(cell).join(" | ")} |`);
  lines.push(`| --- | --- | --- | --- | ${columns.map(() => "---:").join(" | ")} |`);
  for (const { key, cells } of rows.values()) {
    const values = columns.map((c) => cells.has(c) ? formatValue(cells.get(c)) : "");
    lines.push(`| ${key.map(cell).join(" | ")} | ${values.join(" | ")} |`);
  }
  lines.push("");
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { dir: { type: "string" } } });
  const dir = values.dir ?? RESULTS_DIR;
  const md = formatReport(await loadResults(dir));
  console.log(md);
  await Deno.mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, "REPORT.md"), md);
  console.log(`Wrote ${join(dir, "REPORT.md")}`);
}
