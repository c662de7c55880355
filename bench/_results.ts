/**
 * Benchmark result files: each bench writes its figures to
 * `bench/results/<bench name>-<adapter slug>-<hash>.json` (the adapter part named as the
 * stored tunings name theirs: {@linkcode adapterFileStem}), so runs on different GPUs sit side
 * by side, even GPUs whose names differ only past the slug's cut, and `deno task bench:report`
 * can put them in one table.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  adapterFileStem,
  adapterSlug,
  type AdapterSummary,
  adapterSummary,
} from "../lib/gpu/device.ts";
import type { Tuning } from "../lib/gpu/kernels.ts";
import { gpuTuning, gpuTuningSource, type TuningSource } from "../lib/tensor/backends.ts";
import { writeFileAtomic } from "../lib/util/atomic.ts";

export { adapterFileStem, adapterSlug };

/** One measured figure. */
export interface BenchFigure {
  /** What was measured, e.g. "tfjs wasm train". */
  name: string;
  /** The shape it was measured at, e.g. "x [64, 1, 87, 67]". */
  shape: string;
  /** The value; NaN (stored as null) when the measurement failed. */
  value: number;
  /** Unit of `value`, e.g. "samples/s" or "ms". */
  unit: string;
  /** Anything else worth keeping (median ms, error text, backend...). */
  extra?: Record<string, unknown>;
}

/** The adapter part of a result file: an adapter summary, or `{ description: "cpu" }`. */
export type ResultAdapter = Partial<AdapterSummary> & { description: string };

/** The content of one result file. */
export interface BenchResultFile {
  /** Bench name, e.g. "peers". */
  bench: string;
  adapter: ResultAdapter;
  /** `Deno.version` of the run. */
  deno: { deno: string; v8: string; typescript: string };
  /** ISO 8601 time of the run. */
  date: string;
  figures: (Omit<BenchFigure, "value"> & { value: number | null })[];
  /** The WebGPU tuning the figures ran with, and where its fields came from (absent: no WebGPU). */
  tuning?: { active: Tuning; source?: TuningSource };
}

/** The folder holding the result files: bench/results beside this module. */
export const RESULTS_DIR: string = fileURLToPath(new URL("./results/", import.meta.url));

/**
 * Describes the WebGPU adapter in use, or `{ description: "cpu" }` when there is none.
 *
 * @returns the adapter part of a result file.
 */
export async function currentAdapter(): Promise<ResultAdapter> {
  try {
    return await adapterSummary();
  } catch {
    return { description: "cpu" };
  }
}

/**
 * Writes a bench's figures to `<dir>/<name>-<adapter slug>-<hash>.json` (atomically,
 * replacing an earlier run on the same adapter, and removing that adapter's file of the
 * slug-only naming of earlier versions, `<name>-<adapter slug>.json`, if there is one).
 *
 * @param name Bench name, e.g. "peers".
 * @param figures The figures.
 * @param opts `dir` (default bench/results), `adapter` (default: the WebGPU adapter
 *   in use, or "cpu") and `tuning` (default: the WebGPU backend's, when it was started).
 * @returns the path written.
 * @example
 * ```ts
 * import { writeBenchResults } from "./_results.ts";
 * const dir = await Deno.makeTempDir();
 * const path = await writeBenchResults("demo", [
 *   { name: "step", shape: "[64, 1, 87, 67]", value: 12.5, unit: "ms" },
 * ], { dir, adapter: { description: "Test GPU" } });
 * if (!/demo-test-gpu-[0-9a-f]{8}\.json$/.test(path)) throw new Error(path);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeBenchResults(
  name: string,
  figures: BenchFigure[],
  opts: { dir?: string; adapter?: ResultAdapter; tuning?: BenchResultFile["tuning"] } = {},
): Promise<string> {
  if (!/^[a-z0-9_-]+$/i.test(name)) {
    throw new RangeError(
      `Cannot write bench results: name must be letters, digits, '-' or '_': found "${name}"`,
    );
  }
  const dir = opts.dir ?? RESULTS_DIR;
  const adapter = opts.adapter ?? await currentAdapter();
  const file: BenchResultFile = {
    bench: name,
    adapter,
    deno: { ...Deno.version },
    date: new Date().toISOString(),
    figures: figures.map((f) => ({ ...f, value: Number.isFinite(f.value) ? f.value : null })),
  };
  const active = gpuTuning();
  const tuning = opts.tuning ??
    (active ? { active, source: gpuTuningSource() ?? undefined } : undefined);
  if (tuning) file.tuning = tuning;
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, `${name}-${adapterFileStem(adapter.description)}.json`);
  await writeFileAtomic(path, JSON.stringify(file, null, 2) + "\n");
  await removeLegacyResult(join(dir, `${name}-${adapterSlug(adapter.description)}.json`), file);
  return path;
}

/**
 * Removes a result file of the slug-only naming when it holds the same bench on the same
 * adapter: the new file replaces it. Another adapter whose name shares the slug may own the
 * file, and then it stays.
 */
async function removeLegacyResult(path: string, file: BenchResultFile): Promise<void> {
  let old: Partial<BenchResultFile>;
  try {
    old = JSON.parse(await Deno.readTextFile(path));
  } catch {
    return; // none, or not a result file: not ours to remove
  }
  if (old.bench === file.bench && old.adapter?.description === file.adapter.description) {
    await Deno.remove(path).catch(() => {});
  }
}
