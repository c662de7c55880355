/**
 * Stored tunings: what `cli.ts tune` measured best on an adapter, kept in a JSON file per
 * adapter and merged over the adapter's default tuning whenever WebGPU starts on that adapter
 * (before SEISDEC_TUNING, which still overrides it; see lib/tensor/backends.ts).
 *
 * The files live in `SEISDEC_TUNING_DIR`, else `$XDG_CACHE_HOME/seisdec/tunings`, else
 * `~/.cache/seisdec/tunings` (`%LOCALAPPDATA%\seisdec\tunings` on Windows), one per adapter,
 * named by its slug and a hash of its whole name
 * (`llvmpipe-llvm-15-0-6-256-bits-vulkan-fallback-1a2b3c4d.json`, {@linkcode tuningFileStem}).
 * `SEISDEC_TUNING_DIR=none` reads and writes none (the test task runs that way, so tests see
 * the defaults).
 *
 * @module
 */
import { join } from "node:path";
import { adapterFileStem, adapterSlug } from "./device.ts";
import { MATMUL_BLOCK_MAX, type Tuning, TUNING_FIELDS, TUNING_KINDS } from "./kernels.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { UserError } from "../util/errors.ts";
import { optionalEnv as env } from "../util/env.ts";

/**
 * Reads tuning fields written as JSON (SEISDEC_TUNING, a line of bench/gpu/tunings.txt).
 *
 * @param raw JSON text, e.g. `{"convTile": 8}`.
 * @param where What the text is, for errors.
 * @returns the fields.
 * @throws Error when the text is not a JSON object of known fields, each of the type the
 *   {@linkcode Tuning} field takes; a number must be a positive integer (`convTile` and
 *   `convTransposeTile` multiples of 4, `splitLanes` a power of two up to 64).
 * @example
 * ```ts
 * import { parseTuning } from "./tuning_store.ts";
 * if (parseTuning('{"inFlight": 4}', "test").inFlight !== 4) throw new Error();
 * ```
 */
export function parseTuning(raw: string, where: string): Partial<Tuning> {
  const known: readonly string[] = TUNING_FIELDS;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new Error(`${where} is not JSON (${(e as Error).message}): ${raw}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new Error(`${where} must be a JSON object such as {"convTile": 8}: found ${raw}`);
  }
  for (const [k, x] of Object.entries(v)) {
    if (!known.includes(k)) {
      throw new Error(`${where} has an unknown field "${k}": expected one of ${known.join(", ")}`);
    }
    const kind = TUNING_KINDS[k as keyof Tuning];
    const type: string = typeof x;
    if (kind === "matmul" ? x !== "tiled" && x !== "blocked" : type !== kind) {
      throw new Error(
        `${where}: field "${k}" must be ${
          kind === "matmul" ? '"tiled" or "blocked"' : `a ${kind}`
        }: found ${JSON.stringify(x)}`,
      );
    }
    if (kind === "number") checkCount(k, x as number, where);
  }
  const t = v as Partial<Tuning>;
  // A conv invocation's accumulators: channels × pixels (defaults as tuningValue gives them).
  // The patch tiles (convPatch, convPatchOneChannel) hold channels × patch pixels, twice the
  // pixel tile by default (llvmpipe's default, 32 × 24, is 768); the weight gradient's
  // accumulators grow with its ci and co quads' product.
  for (
    const [tile, pixels, defTile, defPixels, most] of [
      ["convTile", "convPixels", 16, 4, CONV_ACCUMULATORS_MAX],
      ["convTransposeTile", "convTransposePixels", 4, t.convPixels ?? 4, CONV_ACCUMULATORS_MAX],
      ["convTile", "convPatchPixels", 16, 2 * (t.convPixels ?? 4), 2 * CONV_ACCUMULATORS_MAX],
      ["weightGradTile", "weightGradCoTile", 2, t.weightGradTile ?? 2, WEIGHT_GRAD_QUADS_MAX],
    ] as const
  ) {
    if (t[tile] === undefined && t[pixels] === undefined) continue;
    const c = t[tile] ?? defTile, px = t[pixels] ?? defPixels;
    if (c * px > most) {
      throw new Error(
        `${where}: ${tile} × ${pixels} must hold at most ${most}: found ${c} × ${px}`,
      );
    }
  }
  // The matmul's register block, with a field left out at its default of 4 (matmul()'s limit).
  if (t.matmulRows !== undefined || t.matmulCols !== undefined) {
    const rows = t.matmulRows ?? 4, cols = t.matmulCols ?? 4;
    if (rows * cols > MATMUL_BLOCK_MAX) {
      throw new Error(
        `${where}: the matmul block matmulRows × matmulCols must hold at most ` +
          `${MATMUL_BLOCK_MAX} values: ` +
          `found ${rows} × ${cols}`,
      );
    }
  }
  return t;
}

/**
 * Refuses a numeric tuning field that no dispatcher can use as written: each counts
 * something (invocations, channels, pixels, steps, samples), so it must be a positive
 * integer; the channel tiles and the matmul's block columns are multiples of 4 and the
 * split-K lanes a power of two ≤ 64.
 * Before, 0 or 6 was accepted and quietly rounded or clamped where used, so that `cli.ts tune`
 * timed and stored a tuning that did not run as it read.
 */
function checkCount(k: string, x: number, where: string): void {
  const fail = (what: string) => {
    throw new Error(`${where}: field "${k}" must be ${what}: found ${x}`);
  };
  if (!Number.isInteger(x) || x < 1) fail("a positive integer");
  if ((k === "convTile" || k === "convTransposeTile" || k === "matmulCols") && x % 4 !== 0) {
    fail("a multiple of 4");
  }
  if (k === "splitLanes" && (x > 64 || (x & (x - 1)) !== 0)) fail("a power of two up to 64");
  // Register tiles the kernels unroll: past these a shader takes minutes to compile (a convTile
  // of 1024 held lavapipe's compiler for over 10 minutes, deaf to Ctrl-C).
  const most = TILE_MAX[k];
  if (most !== undefined && x > most) fail(`at most ${most}`);
}

/** The largest value of each register-tile field (`cli.ts tune` tries up to half of these). */
const TILE_MAX: Record<string, number> = {
  convTile: 64,
  convTransposeTile: 64,
  convPixels: 32,
  convTransposePixels: 32,
  convPatchPixels: 64,
  weightGradTile: 16,
  weightGradCoTile: 16,
};

/** The most accumulators a conv invocation may hold: channel tile × pixel tile. */
export const CONV_ACCUMULATORS_MAX = 512;

/** The most ci quads × co quads of a weight-gradient invocation (`cli.ts tune` tries up to 32). */
export const WEIGHT_GRAD_QUADS_MAX = 64;

/** The `format` field of a stored tuning file. */
export const TUNING_FORMAT = "seisdec-tuning/1";

/** One trial of a tuning search, as stored (see lib/gpu/autotune.ts). */
export interface StoredTrial {
  /** The fields tried over the base tuning. */
  tuning: Partial<Tuning>;
  /** Ms per training step at each batch size, then ms per inference pass. */
  trainMs?: number[];
  /** Ms per inference pass. */
  inferMs?: number;
  /** Speed relative to the starting tuning's fastest timing (> 1: faster; see autotune.ts). */
  speed?: number;
  /** Why the trial failed, when it did. */
  error?: string;
}

/** A stored tuning file. */
export interface StoredTuning {
  /** Always {@linkcode TUNING_FORMAT}. */
  format: typeof TUNING_FORMAT;
  /** The adapter it was measured on, as `adapterName()` gives it. */
  adapter: string;
  /** Deno version of the measurement. */
  deno: string;
  /**
   * Digest of the kernels measured (`kernelsDigest` in lib/gpu/kernels.ts); absent in tunings
   * stored before seisdec recorded it.
   */
  kernels?: string;
  /** ISO date of the measurement. */
  date: string;
  /** Fields merged over the adapter's default tuning. */
  tuning: Partial<Tuning>;
  /** What was timed: input shape, latent size, training batch sizes, inference batch. */
  workload: { inputShape: number[]; latentDim: number; batches: number[] };
  /** Speed of the stored tuning over the adapter's default (> 1: faster). */
  speedup: number;
  /** Every trial of the search, in order. */
  trials: StoredTrial[];
}

/**
 * The directory of stored tunings.
 *
 * @returns the directory, or null when `SEISDEC_TUNING_DIR=none` (or no home directory is known;
 *   a variable that `--allow-env` does not grant counts as unset).
 * @example
 * ```ts
 * import { tuningDir } from "./tuning_store.ts";
 * const before = Deno.env.get("SEISDEC_TUNING_DIR");
 * try {
 *   Deno.env.set("SEISDEC_TUNING_DIR", "/tmp/t");
 *   if (tuningDir() !== "/tmp/t") throw new Error();
 *   Deno.env.set("SEISDEC_TUNING_DIR", "none");
 *   if (tuningDir() !== null) throw new Error();
 * } finally {
 *   if (before === undefined) Deno.env.delete("SEISDEC_TUNING_DIR");
 *   else Deno.env.set("SEISDEC_TUNING_DIR", before);
 * }
 * ```
 */
export function tuningDir(): string | null {
  const set = env("SEISDEC_TUNING_DIR");
  if (set !== undefined && set !== "") return set === "none" ? null : set;
  const xdg = env("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "seisdec", "tunings");
  const local = Deno.build.os === "windows" ? env("LOCALAPPDATA") : undefined;
  if (local) return join(local, "seisdec", "tunings");
  const home = env("HOME") ?? env("USERPROFILE");
  return home ? join(home, ".cache", "seisdec", "tunings") : null;
}

/**
 * The name of an adapter's tuning files without extension: its slug (readable, cut at 60
 * characters) and a hash of its whole name, so that adapters whose names differ only past the
 * cut, or only in case or punctuation, get files of their own ({@linkcode adapterFileStem}, as
 * bench result files).
 *
 * @param adapter The adapter, as `adapterName()` gives it.
 * @returns e.g. `some-gpu-80gb-vulkan-0f1e2d3c`.
 * @example
 * ```ts
 * import { tuningFileStem } from "./tuning_store.ts";
 * const a = tuningFileStem("GPU A [vulkan]"), b = tuningFileStem("gpu-a [vulkan]");
 * if (!/^gpu-a-vulkan-[0-9a-f]{8}$/.test(a) || a === b) throw new Error(`${a} ${b}`);
 * ```
 */
export function tuningFileStem(adapter: string): string {
  return adapterFileStem(adapter);
}

/**
 * Where an adapter's stored tuning lives.
 *
 * @param adapter The adapter, as `adapterName()` gives it.
 * @param dir The directory (default {@linkcode tuningDir}).
 * @returns the file's path, or null when tunings are off.
 */
export function storedTuningPath(adapter: string, dir = tuningDir()): string | null {
  return dir === null ? null : join(dir, `${tuningFileStem(adapter)}.json`);
}

/** Where versions before the hash kept it (slug only): still read, and replaced on a write. */
function legacyTuningPath(adapter: string, dir: string): string {
  return join(dir, `${adapterSlug(adapter)}.json`);
}

/**
 * Reads an adapter's stored tuning.
 *
 * @param adapter The adapter, as `adapterName()` gives it.
 * @param dir The directory (default {@linkcode tuningDir}).
 * @returns the file and its contents; null when there is none, when `--allow-read` does not
 *   grant reading it, or when the file with this adapter's name was written for another adapter.
 * @throws {UserError} naming the file when it is not a stored tuning or holds a bad field.
 */
export async function readStoredTuning(
  adapter: string,
  dir = tuningDir(),
): Promise<{ path: string; stored: StoredTuning } | null> {
  const path = storedTuningPath(adapter, dir);
  if (path === null || dir === null) return null;
  return await readTuningFile(path, adapter) ??
    await readTuningFile(legacyTuningPath(adapter, dir), adapter);
}

/** One stored tuning file, if it exists and was written for `adapter`. */
async function readTuningFile(
  path: string,
  adapter: string,
): Promise<{ path: string; stored: StoredTuning } | null> {
  let text: string;
  try {
    // A program not granted reading there runs with the default tuning, without a prompt.
    if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") return null;
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotCapable) return null;
    throw new UserError(`Cannot read the stored tuning ${path}: ${(e as Error).message}`);
  }
  const fix = "run `cli.ts tune` again, or `cli.ts tune --reset` to remove it";
  let v: Partial<StoredTuning>;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UserError(
      `Cannot use the stored tuning ${path}: not JSON (${(e as Error).message}); ${fix}`,
    );
  }
  if (typeof v !== "object" || v === null || v.format !== TUNING_FORMAT) {
    throw new UserError(
      `Cannot use the stored tuning ${path}: expected "format": "${TUNING_FORMAT}"; ${fix}`,
    );
  }
  if (v.adapter !== adapter) return null;
  try {
    parseTuning(JSON.stringify(v.tuning ?? null), "its tuning");
  } catch (e) {
    throw new UserError(`Cannot use the stored tuning ${path}: ${(e as Error).message}; ${fix}`);
  }
  return { path, stored: v as StoredTuning };
}

/**
 * Writes an adapter's stored tuning (atomically, replacing the one before).
 *
 * @param stored The tuning and its measurement.
 * @param dir The directory (default {@linkcode tuningDir}).
 * @returns the file's path.
 * @throws {UserError} when tunings are off (`SEISDEC_TUNING_DIR=none`).
 */
export async function writeStoredTuning(stored: StoredTuning, dir = tuningDir()): Promise<string> {
  const path = storedTuningPath(stored.adapter, dir);
  if (path === null || dir === null) {
    throw new UserError(
      "Cannot store a tuning: SEISDEC_TUNING_DIR is none (or no home directory is known); " +
        "set SEISDEC_TUNING_DIR to a directory",
    );
  }
  await Deno.mkdir(dir, { recursive: true });
  await writeFileAtomic(path, JSON.stringify(stored, null, 2) + "\n");
  await removeLegacy(stored.adapter, dir);
  return path;
}

/** Removes this adapter's file of the slug-only naming, if there is one; returns its path. */
async function removeLegacy(adapter: string, dir: string): Promise<string | null> {
  const legacy = legacyTuningPath(adapter, dir);
  // Only this adapter's: another adapter of the same slug may own the file.
  const mine = await readTuningFile(legacy, adapter).catch(() => null);
  if (!mine) return null;
  await Deno.remove(legacy).catch(() => {});
  return legacy;
}

/**
 * Removes an adapter's stored tuning.
 *
 * @param adapter The adapter, as `adapterName()` gives it.
 * @param dir The directory (default {@linkcode tuningDir}).
 * @returns the removed file's path, or null when there was none.
 */
export async function removeStoredTuning(
  adapter: string,
  dir = tuningDir(),
): Promise<string | null> {
  const path = storedTuningPath(adapter, dir);
  if (path === null || dir === null) return null;
  const legacy = await removeLegacy(adapter, dir);
  try {
    await Deno.remove(path);
    return path;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return legacy;
    throw e;
  }
}
