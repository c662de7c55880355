/**
 * Tuning search for `cli.ts tune`: coordinate descent over the {@linkcode Tuning} fields, one
 * field at a time in {@linkcode TUNE_FIELDS} order, each value of {@linkcode candidateValues}
 * timed over the best tuning so far. A candidate that looks faster by more than the margin is
 * timed again (twice by default), each time right after the best so far is timed again, and
 * kept only if its fastest timing beats the best's fastest by the margin. Noise on a shared
 * machine only slows a run down (this VM drifts 10–20 % over minutes), so each tuning's fastest
 * timing is its estimate, and the second look keeps one slow timing of the best from letting a
 * slower candidate win. A pass that keeps a change is followed by another (up to `passes`),
 * since a field tried before the change may have a better value after it (a conv tile and its
 * pixel tile, say); a candidate already timed against the same best is not timed again.
 *
 * The search only decides; timing a tuning (in a child process, lib/bench/trial_worker.ts) is
 * the caller's `measure`.
 *
 * @module
 */
import { type Tuning, tuningValue } from "./kernels.ts";

/** The fields the search tries, in order: pipelining first, then tiles, then switches. */
export const TUNE_FIELDS = [
  "inFlight",
  "deferMap",
  "matmul",
  "convTile",
  "convPixels",
  "convTransposeTile",
  "convTransposePixels",
  "convVectorStores",
  "convPatchOneChannel",
  "convGemm",
  "convTransposePhase",
  "convTransposePhaseChannels",
  "uniformWeights",
  "textureInputs",
  "weightGradTile",
  "weightGradCoTile",
  "splitLanes",
  "splitTarget",
  "packCache",
  "batchSplitSums",
  "foldActGrad",
  "inferInFlight",
  "inferBatch",
] as const satisfies readonly (keyof Tuning)[];

/** A field the search tries. */
export type TuneField = (typeof TUNE_FIELDS)[number];

/** A value of a tuned field. */
export type Value = Tuning[TuneField];

/**
 * The values the search tries for a field, the one in force left out.
 *
 * @param t The tuning searched from (the best so far).
 * @param f A field.
 * @returns the other values to time.
 * @example
 * ```ts
 * import { candidateValues } from "./autotune.ts";
 * const t = { matmul: "tiled" as const, splitTarget: 512, convTile: 8 };
 * if (candidateValues(t, "convTile").join() !== "4,16,32") throw new Error();
 * if (candidateValues(t, "splitTarget").join() !== "128,2048") throw new Error();
 * if (candidateValues(t, "packCache").join() !== "false") throw new Error();
 * ```
 */
export function candidateValues(t: Tuning, f: TuneField): Value[] {
  const all: readonly Value[] = f === "splitTarget"
    ? [Math.max(64, Math.round(t.splitTarget / 4)), t.splitTarget * 4]
    : VALUES[f] ?? [true, false];
  const now = tuningValue(t, f);
  return all.filter((v) => v !== now);
}

/** The values tried per numeric or string field (splitTarget: ÷4 and ×4; switches: both). */
const VALUES: Partial<Record<TuneField, readonly Value[]>> = {
  matmul: ["tiled", "blocked"],
  convTile: [4, 8, 16, 32],
  convTransposeTile: [4, 8, 16, 32],
  convPixels: [1, 2, 4, 8, 12],
  convTransposePixels: [1, 2, 4, 8, 12],
  weightGradTile: [1, 2, 4],
  weightGradCoTile: [1, 2, 4, 8],
  convTransposePhaseChannels: [1, 3, 8],
  splitLanes: [1, 8, 32, 64],
  inFlight: [1, 4, 16, 32],
  inferInFlight: [1, 4, 16, 32],
  inferBatch: [256, 1024, 4096],
};

/** What one timing of a tuning gave. */
export interface Timing {
  /** Ms per training step, one per batch size of the workload. */
  trainMs: number[];
  /** Ms per inference pass. */
  inferMs: number;
  /** Samples per inference pass. */
  inferBatch: number;
  /** Ms per sample, the geometric mean over the training batch sizes and inference. */
  cost: number;
}

/**
 * The cost of a timing: the geometric mean of the ms per sample of each training batch size
 * and of inference, so that training and encoding count alike whatever their batch sizes.
 *
 * @param trainMs Ms per training step, per batch size.
 * @param batches The training batch sizes.
 * @param inferMs Ms per inference pass.
 * @param inferBatch Samples per inference pass.
 * @returns ms per sample (lower is faster).
 * @example
 * ```ts
 * import { costOf } from "./autotune.ts";
 * // 2 ms per sample in training, 0.5 in inference: geometric mean 1.
 * if (Math.abs(costOf([128], [64], 128, 256) - 1) > 1e-12) throw new Error();
 * ```
 */
export function costOf(
  trainMs: number[],
  batches: number[],
  inferMs: number,
  inferBatch: number,
): number {
  const per = [...trainMs.map((ms, i) => ms / batches[i]), inferMs / inferBatch];
  return Math.exp(per.reduce((a, x) => a + Math.log(x), 0) / per.length);
}

/** One timing the search asked for. */
export interface Trial {
  /** The fields over the base tuning. */
  tuning: Partial<Tuning>;
  /** "base": the starting tuning; "try": a candidate; "recheck": a second timing. */
  role: "base" | "try" | "recheck";
  /** The field and value tried (null for the base). */
  field: TuneField | null;
  /** The value tried (null for the base). */
  value: Value | null;
  /** The timing, unless the trial failed. */
  timing?: Timing;
  /** Why the trial failed, when it did. */
  error?: string;
  /** Whether the candidate became the best so far (on its recheck). */
  kept?: boolean;
  /** The pass over the fields, from 1. */
  pass: number;
}

/** How the search runs. */
export interface SearchOptions {
  /** The fields to try, in {@linkcode TUNE_FIELDS} order (default all). */
  fields?: readonly TuneField[];
  /** Least gain to keep a change, as a fraction (default 0.03). */
  margin?: number;
  /**
   * How many more times a candidate that looks faster, and the best so far, are each timed,
   * alternately, before the fastest timings of both decide (default 2, at least 1).
   */
  confirm?: number;
  /**
   * Most passes over the fields (default 2, at least 1); a pass runs only when the one before
   * kept a change.
   */
  passes?: number;
  /** No trial starts after this time (ms since the epoch). */
  deadline?: number;
  /**
   * Called after every trial with the trial, the best fields before it and the best's cost
   * before it (its fastest timing so far).
   */
  onTrial?: (trial: Trial, best: Partial<Tuning>, bestCost: number) => void;
}

/** What the search found. */
export interface SearchResult {
  /** The best fields over the base tuning (empty: the base was best). */
  best: Partial<Tuning>;
  /** The best's speed over the base tuning's (> 1: the best is faster), on their fastest timings. */
  speedup: number;
  /** The base tuning's cost: its fastest timing. */
  baseCost: number;
  /** Every trial, in order. */
  trials: Trial[];
  /** Why it stopped early, or null when every candidate was timed. */
  stopped: "deadline" | null;
}

/**
 * A key for the tuning that `fields` over `base` put in force, as far as the searched fields
 * go: a field set to what leaving it out means gives the key of the field left out.
 *
 * @param base The tuning the fields apply over.
 * @param fields Fields over `base`.
 * @returns the key.
 * @example
 * ```ts
 * import { tuningKey } from "./autotune.ts";
 * import { defaultTuning } from "./kernels.ts";
 * const base = defaultTuning(false);
 * if (tuningKey(base, { inFlight: base.inFlight }) !== tuningKey(base, {})) throw new Error();
 * ```
 */
export function tuningKey(base: Tuning, fields: Partial<Tuning>): string {
  const full: Tuning = { ...base, ...fields };
  return JSON.stringify(TUNE_FIELDS.map((f) => tuningValue(full, f)));
}

/**
 * Searches for the fastest tuning, field by field.
 *
 * @param base The tuning to start from (the adapter's default and any SEISDEC_TUNING).
 * @param measure Times a tuning given as fields over `base`; throws when it cannot run.
 * @param opts Fields, margin, deadline, progress.
 * @returns the best fields found and every trial.
 * @throws Error when the base tuning itself cannot run.
 */
export async function searchTuning(
  base: Tuning,
  measure: (fields: Partial<Tuning>) => Promise<Timing>,
  opts: SearchOptions = {},
): Promise<SearchResult> {
  const margin = opts.margin ?? 0.03;
  const confirm = Math.max(1, Math.floor(opts.confirm ?? 2));
  const fields = TUNE_FIELDS.filter((f) => !opts.fields || opts.fields.includes(f));
  const trials: Trial[] = [];
  let best: Partial<Tuning> = {};
  // The values in force of the searched fields (the only ones that differ between tunings
  // here), so that a field set to what leaving it out means matches the field left out.
  const keyOf = (t: Partial<Tuning>) => tuningKey(base, t);
  const baseKey = keyOf({});
  // Every timing of the base tuning, however a trial spelled it; its cost is the fastest.
  const baseCosts: number[] = [];
  const run = async (trial: Trial): Promise<Timing | null> => {
    try {
      trial.timing = await measure(trial.tuning);
    } catch (e) {
      trial.error = (e as Error).message;
    }
    trials.push(trial);
    if (trial.timing && keyOf(trial.tuning) === baseKey) baseCosts.push(trial.timing.cost);
    return trial.timing ?? null;
  };
  const first = await run({ tuning: {}, role: "base", field: null, value: null, pass: 1 });
  if (!first) throw new Error(`Cannot tune: the starting tuning failed: ${trials[0].error}`);
  // Every timing of the best so far; a tuning's cost is its fastest.
  let bestCosts = [first.cost];
  const least = (a: number[]) => Math.min(...a);
  const report = (t: Trial) => opts.onTrial?.(t, best, least(bestCosts));
  report(trials[0]);
  let stopped: SearchResult["stopped"] = null;
  const passes = Math.max(1, Math.floor(opts.passes ?? 2));
  // Candidates timed and not kept, each with the best it was timed against.
  const rejected = new Set<string>();
  let pass = 1, keptInPass = true;
  outer: for (; pass <= passes && keptInPass; pass++) {
    keptInPass = false;
    for (const f of fields) {
      for (const value of candidateValues({ ...base, ...best }, f)) {
        const tuning = { ...best, [f]: value } as Partial<Tuning>;
        const seen = `${keyOf(best)} ${keyOf(tuning)}`;
        if (rejected.has(seen)) continue;
        if (opts.deadline !== undefined && Date.now() > opts.deadline) {
          stopped = "deadline";
          break outer;
        }
        const before = best;
        if (await tryCandidate(f, value, tuning)) {
          keptInPass = true;
          rejected.add(`${keyOf(best)} ${keyOf(before)}`); // the old best just lost to it
        } else rejected.add(seen);
      }
    }
  }
  return {
    best,
    speedup: least(baseCosts) / least(bestCosts),
    baseCost: least(baseCosts),
    trials,
    stopped,
  };

  /** Times one candidate (and rechecks it); true when it became the best. */
  async function tryCandidate(
    f: TuneField,
    value: Value,
    tuning: Partial<Tuning>,
  ): Promise<boolean> {
    {
      const tryIt: Trial = { tuning, role: "try", field: f, value, pass };
      const t = await run(tryIt);
      if (!t || t.cost >= least(bestCosts) * (1 - margin)) {
        tryIt.kept = false;
        report(tryIt);
        return false;
      }
      report(tryIt);
      // Looks faster: time the best so far and the candidate again, alternately.
      const candCosts = [t.cost];
      let failed = false;
      for (let r = 1; r <= confirm; r++) {
        const again = await run({
          tuning: best,
          role: "recheck",
          field: null,
          value: null,
          pass,
        });
        report(trials.at(-1)!);
        if (again) bestCosts = [...bestCosts, again.cost];
        const recheck: Trial = { tuning, role: "recheck", field: f, value, pass };
        const t2 = await run(recheck);
        if (t2) candCosts.push(t2.cost);
        else failed = true;
        if (r === confirm) {
          recheck.kept = tryIt.kept = !failed &&
            least(candCosts) < least(bestCosts) * (1 - margin);
        }
        report(recheck);
      }
      if (!tryIt.kept) return false;
      best = tuning;
      bestCosts = candCosts;
      return true;
    }
  }
}
