/**
 * Provenance: which seisdec, Deno, backend, adapter and WebGPU tuning wrote an output. The
 * backend and the tuning change the bits (WebGPU and the CPU backend round differently; on a
 * software adapter the CPU count sets the split-K sizes of `defaultTuning`; a tuning stored by
 * `cli.ts tune` changes the summation order), so `meta.json`, `model.json`, `result.json` and
 * `evaluation.json` each record one {@linkcode Software}. The WebGPU side
 * ({@linkcode softwareOf}) lives in lib/tensor/backends.ts; this module imports no GPU code.
 *
 * @module
 */
import type { Tuning } from "../gpu/kernels.ts";
import { fnv1aHex } from "./hash.ts";

/**
 * seisdec's version, deno.json's `version` (a test keeps the two equal; `cli.ts --version`
 * prints it). Not read from deno.json here: the library is also imported by URL, where a JSON
 * import of a file served as text would fail.
 */
export const SEISDEC_VERSION = "0.1.0";

/** What made an output: the software, the backend and, on WebGPU, the adapter and its tuning. */
export interface Software {
  /** seisdec's version ({@linkcode SEISDEC_VERSION}). */
  seisdec: string;
  /** Deno's version (`Deno.version.deno`). */
  deno: string;
  /**
   * The compute backend that ran the model: `webgpu` or `cpu` (`--cpu`); null where no model
   * ran (extract, import, evaluate, `cluster --raw`).
   */
  backend: "webgpu" | "cpu" | null;
  /** The WebGPU adapter's description, as `cli.ts info` prints it; null off WebGPU. */
  adapter: string | null;
  /**
   * The WebGPU tuning in effect (every field, as `cli.ts info` prints it: the adapter kind's
   * default, then a stored `tune` result, then SEISDEC_TUNING); null off WebGPU.
   */
  tuning: Tuning | null;
}

/**
 * The provenance of an output that no backend computed (or the CPU backend, which has no
 * adapter or tuning).
 *
 * @param backend `cpu`, or null where no model ran.
 * @returns the record.
 * @example
 * ```ts
 * import { plainSoftware, SEISDEC_VERSION } from "./software.ts";
 * const s = plainSoftware(null);
 * if (s.seisdec !== SEISDEC_VERSION || s.backend !== null || s.tuning !== null) throw new Error();
 * ```
 */
export function plainSoftware(backend: "cpu" | null): Software {
  return {
    seisdec: SEISDEC_VERSION,
    deno: Deno.version.deno,
    backend,
    adapter: null,
    tuning: null,
  };
}

/** JSON with every object's keys sorted, so that field order does not change a digest. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${
      Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) =>
        `${JSON.stringify(k)}:${canonical(o[k])}`
      ).join(",")
    }}`;
  }
  return JSON.stringify(v);
}

/**
 * A short digest of a tuning, for `info` to tell two apart at a glance (the records keep every
 * field).
 *
 * @param tuning The tuning.
 * @returns 8 hex digits (FNV-1a of its JSON, keys sorted).
 * @example
 * ```ts
 * import { tuningDigest } from "./software.ts";
 * const a = tuningDigest({ matmul: "tiled", splitTarget: 1, convTile: 8 });
 * if (a !== tuningDigest({ convTile: 8, splitTarget: 1, matmul: "tiled" })) throw new Error();
 * if (a === tuningDigest({ matmul: "tiled", splitTarget: 2, convTile: 8 })) throw new Error();
 * ```
 */
export function tuningDigest(tuning: unknown): string {
  return fnv1aHex(canonical(tuning));
}

/**
 * A provenance record as one line, for `info`: `seisdec 0.1.0, Deno 2.9.6, webgpu on ADAPTER
 * (tuning 1a2b3c4d)`, `..., cpu` or `..., no backend`. Fields an older or hand-written record
 * lacks read `?`.
 *
 * @param s A record as read from a file.
 * @returns the line, or null for none.
 * @example
 * ```ts
 * import { softwareText } from "./software.ts";
 * const s = { seisdec: "0.1.0", deno: "2.9.6", backend: "cpu", adapter: null, tuning: null };
 * if (softwareText(s) !== "seisdec 0.1.0, Deno 2.9.6, cpu") throw new Error(softwareText(s)!);
 * ```
 */
export function softwareText(s: unknown): string | null {
  if (s === null || typeof s !== "object") return null;
  const r = s as Partial<Record<keyof Software, unknown>>;
  const head = `seisdec ${r.seisdec ?? "?"}, Deno ${r.deno ?? "?"}`;
  if (r.backend === "webgpu") {
    return `${head}, webgpu on ${r.adapter ?? "?"}${
      r.tuning ? ` (tuning ${tuningDigest(r.tuning)})` : ""
    }`;
  }
  return `${head}, ${typeof r.backend === "string" ? r.backend : "no backend"}`;
}

/**
 * Whether two records agree in every field (seisdec, Deno, backend, adapter, tuning): a
 * resumed run on other software says so in `model.json` and `info`.
 *
 * @param a One record (null: unknown, a checkpoint from before records were kept).
 * @param b The other.
 * @returns true when they agree.
 * @example
 * ```ts
 * import { plainSoftware, sameSoftware } from "./software.ts";
 * if (!sameSoftware(plainSoftware("cpu"), plainSoftware("cpu"))) throw new Error();
 * if (sameSoftware(plainSoftware("cpu"), plainSoftware(null))) throw new Error();
 * ```
 */
export function sameSoftware(a: Software | null, b: Software | null): boolean {
  return canonical(a) === canonical(b);
}

/**
 * The runs a checkpointed stage (pretrain, finetune) kept in its checkpoint, with this run's
 * added: each distinct record once, in the order first seen.
 *
 * @param runs The checkpoint's list: `[]` for a fresh run, undefined (or not a list) for a
 *   checkpoint from before runs were recorded, whose earlier runs count as one unknown, null.
 * @param here This run's record.
 * @returns the list to keep in the checkpoint.
 * @example
 * ```ts
 * import { plainSoftware, withRun } from "./software.ts";
 * const cpu = plainSoftware("cpu");
 * if (withRun([cpu], cpu).length !== 1 || withRun(undefined, cpu)[0] !== null) throw new Error();
 * ```
 */
export function withRun(runs: unknown, here: Software): (Software | null)[] {
  const list = Array.isArray(runs)
    ? runs.map((r) => (r !== null && typeof r === "object" ? r as Software : null))
    : [null];
  return list.some((r) => sameSoftware(r, here)) ? list : [...list, here];
}

/**
 * What a stage's `model.json` record says of the software that made it: `software`, this run's,
 * and `softwareBefore`, where the stage was resumed from a checkpoint that other software (another
 * backend, adapter, tuning or version) wrote part of: those records (null: a run from before
 * records were kept). Absent where every run agreed.
 *
 * @param runs The runs of the stage ({@linkcode withRun}).
 * @param here This run's record.
 * @returns the fields to add to the stage's record.
 */
export function runsRecord(
  runs: readonly (Software | null)[],
  here: Software,
): { software: Software; softwareBefore?: (Software | null)[] } {
  const before = runs.filter((r) => !sameSoftware(r, here));
  return { software: here, ...(before.length ? { softwareBefore: before } : {}) };
}
