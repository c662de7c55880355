/**
 * `cli.ts tune`: measures which WebGPU tuning (tile sizes, pipelining, kernel variants) trains
 * and encodes fastest on this adapter, and stores it, so that every later run on this adapter
 * starts from it (lib/gpu/tuning_store.ts). The search is lib/gpu/autotune.ts; the tunings are
 * timed in a child process that switches from one to the next, or one child per tuning with
 * `--isolate` (lib/bench/trial_worker.ts).
 *
 * @module
 */
import { join } from "node:path";
import type { Command, Values } from "./_command.ts";
import { intFlag, numFlag, strFlag } from "./_command.ts";
import { adapterName, adapterSummary } from "../gpu/device.ts";
import { defaultTuning, kernelsDigest, type Tuning } from "../gpu/kernels.ts";
import { tensorLimit } from "../gpu/pool.ts";
import {
  costOf,
  searchTuning,
  type Timing,
  type Trial,
  TUNE_FIELDS,
  type TuneField,
  tuningKey,
} from "../gpu/autotune.ts";
import {
  readStoredTuning,
  removeStoredTuning,
  type StoredTrial,
  type StoredTuning,
  storedTuningPath,
  TUNING_FORMAT,
  tuningDir,
  tuningFileStem,
  writeStoredTuning,
} from "../gpu/tuning_store.ts";
import { isSoftwareAdapter, tuningOverride } from "../tensor/backends.ts";
import { SEED_INPUT, type TuningWorkload } from "../bench/seisdec_timing.ts";
import { timeInFreshProcess, TrialWorker } from "../bench/trial_worker.ts";
import { openDataset } from "../io/dataset.ts";
import { datasetError } from "./_shared.ts";
import { ConvAutoencoder } from "../nn/autoencoder.ts";
import { keepOnInterrupt, writeFileAtomic } from "../util/atomic.ts";
import { UserError } from "../util/errors.ts";
import { compareText } from "../util/names.ts";

function intList(values: Values, name: string, fallback: number[]): number[] {
  const v = strFlag(values, name);
  if (v === undefined) return fallback;
  const xs = v.split(",").map((s) => Number(s.trim()));
  if (!xs.length || xs.some((x) => !Number.isInteger(x) || x < 1)) {
    throw new UserError(
      `Cannot read --${name}: expected positive integers separated by commas: found '${v}'`,
    );
  }
  return xs;
}

function fieldList(values: Values): TuneField[] | undefined {
  const v = strFlag(values, "fields");
  if (v === undefined) return undefined;
  const known: readonly string[] = TUNE_FIELDS;
  const fs = v.split(",").map((s) => s.trim()).filter((s) => s);
  for (const f of fs) {
    if (!known.includes(f)) {
      throw new UserError(
        `Cannot read --fields: unknown field '${f}': expected some of ${TUNE_FIELDS.join(", ")}`,
      );
    }
  }
  if (!fs.length) throw new UserError("Cannot read --fields: expected at least one field");
  return fs as TuneField[];
}

/**
 * What to time: the sample shape (a dataset's, `--input-shape`, or the seed's), the latent size,
 * the training batch sizes and the least timed work per figure.
 *
 * @param values Parsed flags.
 * @param positionals An optional dataset directory.
 * @returns the workload.
 * @throws {UserError} on a bad flag or dataset.
 */
async function readWorkload(
  values: Values,
  positionals: string[],
): Promise<TuningWorkload & { config: { inputShape: [number, number, number] } }> {
  if (positionals.length > 1) {
    throw new UserError(
      `Cannot run tune: unexpected arguments: ${positionals.slice(1).join(" ")}`,
    );
  }
  let inputShape: [number, number, number] = SEED_INPUT;
  if (positionals[0] !== undefined) {
    if (values["input-shape"] !== undefined) {
      throw new UserError("Cannot run tune: give a dataset or --input-shape, not both");
    }
    const ds = await openDataset(positionals[0]).catch((e) => {
      throw datasetError(positionals[0], e);
    });
    inputShape = [...ds.sampleShape] as [number, number, number];
  } else if (values["input-shape"] !== undefined) {
    const s = intList(values, "input-shape", []);
    if (s.length !== 3) {
      throw new UserError(
        `Cannot read --input-shape: expected C,F,T (3 numbers): found '${values["input-shape"]}'`,
      );
    }
    inputShape = s as [number, number, number];
  }
  const latentDim = intFlag(values, "latent-dim") ?? 9;
  if (latentDim < 1) {
    throw new UserError(`Cannot read --latent-dim: expected ≥ 1: found ${latentDim}`);
  }
  return {
    batches: intList(values, "batch-size", [64]),
    config: { inputShape, latentDim },
    seconds: numFlag(values, "seconds") ?? 1.5,
  };
}

/** A key for a tuning's fields, whatever their order. */
function keyOf(t: Partial<Tuning>): string {
  return JSON.stringify(Object.entries(t).sort(([a], [b]) => compareText(a, b)));
}

function label(t: Trial): string {
  if (t.field === null) return Object.keys(t.tuning).length ? "best so far" : "start";
  return `${t.field}=${t.value}`;
}

/** A progress file: the trials timed so far, to resume an interrupted search. */
interface ProgressFile {
  adapter: string;
  workload: TuningWorkload;
  base: Partial<Tuning>;
  trials: { tuning: Partial<Tuning>; timing?: Timing; error?: string }[];
}

/**
 * Reads the progress file an interrupted search left, for `--resume`.
 *
 * @param progressPath The file.
 * @param values Parsed flags (`--resume`, `--force`, `--quiet`).
 * @param workload What this run times.
 * @param override This run's SEISDEC_TUNING fields.
 * @returns the trials to replay, by tuning, in the order they ran (empty: start afresh).
 * @throws {UserError} when a search was interrupted and neither `--resume` nor `--force` is
 *   given, or when it timed another workload.
 */
async function openProgress(
  progressPath: string,
  values: Values,
  workload: TuningWorkload,
  override: Partial<Tuning>,
): Promise<Map<string, ProgressFile["trials"]>> {
  const replay = new Map<string, ProgressFile["trials"]>();
  let old: ProgressFile | null = null;
  try {
    old = JSON.parse(await Deno.readTextFile(progressPath));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound) && !values.force) {
      throw new UserError(
        `Cannot resume from ${progressPath}: ${(e as Error).message}; pass --force to discard it`,
      );
    }
  }
  if (!old && values.resume) {
    // As extract says it: a search killed before its first trial was timed left nothing.
    console.error(
      `note: --resume found no interrupted search in ${progressPath}: starting from the first trial`,
    );
  }
  if (old && !values.force) {
    if (!values.resume) {
      throw new UserError(
        `Cannot run tune: an interrupted search left ${old.trials.length} trials in ` +
          `${progressPath}: pass --resume to continue it or --force to start over`,
      );
    }
    if (
      JSON.stringify([old.workload, old.base]) !== JSON.stringify([workload, override])
    ) {
      throw new UserError(
        `Cannot resume from ${progressPath}: it timed ${JSON.stringify(old.workload)} with ` +
          `SEISDEC_TUNING ${JSON.stringify(old.base)}; this run asks for ` +
          `${JSON.stringify(workload)} with ${JSON.stringify(override)}: ` +
          "pass the same flags, or --force to start over",
      );
    }
    // Failed trials are timed again: Ctrl-C reaches the trial's process too, and may fail it
    // before this process stops.
    const timed = old.trials.filter((t) => t.timing !== undefined);
    for (const t of timed) {
      const k = keyOf(t.tuning);
      replay.set(k, [...(replay.get(k) ?? []), t]);
    }
    if (!values.quiet) console.log(`resuming: ${timed.length} trials from ${progressPath}`);
  }
  return replay;
}

/** `cli.ts tune`. */
export const tuneCommand: Command = {
  name: "tune",
  noCpu: "it tunes the WebGPU kernels, which the CPU backend does not run",
  summary: "Find the fastest WebGPU tuning for this adapter by timing candidates; store it.",
  usage: "[<dataset-dir>]",
  details:
    "Times the autoencoder's training step and encoder inference under the adapter's default\n" +
    "tuning, then one field at a time (pipelining, conv tiles, kernel variants, split-K sums,\n" +
    "inference passes), keeping a change only when it is faster by --margin on two timings.\n" +
    "The trials run in one child process (a new one after a trial fails; one per trial with\n" +
    "--isolate). The best is stored per adapter (SEISDEC_TUNING_DIR, default\n" +
    "$XDG_CACHE_HOME/seisdec/tunings, else ~/.cache/seisdec/tunings; %LOCALAPPDATA% on\n" +
    "Windows) and used by every later run on this adapter; SEISDEC_TUNING\n" +
    "still overrides it. With a dataset, its sample shape is timed; else the seed's 1×87×67\n" +
    "(or --input-shape).",
  flags: {
    "batch-size": {
      type: "string",
      arg: "N[,N..]",
      default: "64",
      description: "Training batch sizes to time (the cost weighs each and inference alike).",
    },
    "input-shape": {
      type: "string",
      arg: "C,F,T",
      description: "Sample shape when no dataset is given (default 1,87,67).",
    },
    "latent-dim": { type: "string", arg: "N", default: "9", description: "Latent size." },
    fields: {
      type: "string",
      arg: "LIST",
      description: `Fields to try, comma-separated (default all: ${TUNE_FIELDS.join(", ")}).`,
    },
    margin: {
      type: "string",
      arg: "PCT",
      default: "3",
      description: "Least gain, in %, for a change to be kept.",
    },
    passes: {
      type: "string",
      arg: "N",
      default: "2",
      description: "Most passes over the fields; another runs only after a pass kept a change.",
    },
    confirm: {
      type: "string",
      arg: "N",
      default: "2",
      description: "Times a candidate that looks faster, and the best, are each timed again.",
    },
    seconds: {
      type: "string",
      arg: "S",
      default: "1.5",
      description: "Least timed work per figure of a trial.",
    },
    budget: {
      type: "string",
      arg: "S",
      default: "3600",
      description: "No trial starts after this many seconds; the best so far is kept.",
    },
    timeout: {
      type: "string",
      arg: "S",
      default: "300",
      description: "Seconds before a trial's process is killed (and the trial counted failed).",
    },
    isolate: {
      type: "boolean",
      description: "Time each tuning in a new process (slower: each recompiles its kernels).",
    },
    "dry-run": { type: "boolean", description: "Report the best tuning without storing it." },
    resume: {
      type: "boolean",
      description: "Continue an interrupted search: reuse the trials it timed.",
    },
    force: { type: "boolean", description: "Discard an interrupted search's trials." },
    reset: {
      type: "boolean",
      description: "Remove this adapter's stored tuning (back to the default) and exit.",
    },
  },
  async run(values, positionals) {
    const quiet = !!values.quiet;
    const adapter = await adapterName();
    if (values.reset) {
      const gone = await removeStoredTuning(adapter);
      console.log(gone ? `removed ${gone}` : `no stored tuning for ${adapter}`);
      return;
    }
    const workload = await readWorkload(values, positionals);
    const info = await adapterSummary();
    // Every training batch must fit the adapter's tensors (passes shrink to fit).
    const ae = new ConvAutoencoder(workload.config);
    const { maxStorageBufferBindingSize, maxBufferSize } = info.limits;
    const limit = tensorLimit({ maxStorageBufferBindingSize, maxBufferSize });
    for (const b of workload.batches) {
      const over = ae.batchOverLimit(b, limit);
      if (over) {
        throw new UserError(
          `Cannot tune with --batch-size ${b}: ${over.reason}: ${
            over.most === 0
              ? "tune a model of smaller spectrograms"
              : `use --batch-size ${over.most} or less`
          }`,
        );
      }
    }
    const fields = fieldList(values);
    const margin = (numFlag(values, "margin") ?? 3) / 100;
    const budget = numFlag(values, "budget") ?? 3600;
    const confirm = intFlag(values, "confirm") ?? 2;
    if (confirm < 1) throw new UserError(`Cannot read --confirm: expected ≥ 1: found ${confirm}`);
    const passes = intFlag(values, "passes") ?? 2;
    if (passes < 1) throw new UserError(`Cannot read --passes: expected ≥ 1: found ${passes}`);
    const timeoutS = numFlag(values, "timeout") ?? 300;
    if (!(margin >= 0 && margin < 1)) {
      throw new UserError(`Cannot read --margin: expected 0 to 100: found ${margin * 100}`);
    }
    if (!(timeoutS > 0)) {
      throw new UserError(`Cannot read --timeout: expected > 0: found ${timeoutS}`);
    }
    if (values.resume && values.force) {
      throw new UserError(
        "Cannot use --resume with --force: --resume goes on with an interrupted search's trials, " +
          "--force discards them",
      );
    }
    const dryRun = !!values["dry-run"];
    const isolate = !!values.isolate;
    const dir = tuningDir();
    if (dir === null && !dryRun) {
      throw new UserError(
        "Cannot run tune: SEISDEC_TUNING_DIR is none, so the result could not be stored: " +
          "set it to a directory, or pass --dry-run",
      );
    }

    // Start from the adapter's default with any SEISDEC_TUNING fields, not a stored tuning.
    const override = tuningOverride();
    const base: Tuning = { ...defaultTuning(isSoftwareAdapter(info)), ...override };

    // Resume: replay the trials of an interrupted search with the same workload, in order.
    const progressPath = dir === null
      ? null
      : join(dir, `${tuningFileStem(adapter)}.progress.json`);
    const progress: ProgressFile = { adapter, workload, base: override, trials: [] };
    const replay = progressPath === null
      ? new Map<string, ProgressFile["trials"]>()
      : await openProgress(progressPath, values, workload, override);
    // Ctrl-C keeps the trials timed so far, and says how to go on (the trial's child process is
    // killed with it: stopOnInterrupt in lib/bench/trial_worker.ts).
    if (progressPath !== null) {
      keepOnInterrupt(progressPath, () => {
        try {
          Deno.statSync(progressPath);
        } catch {
          return null; // no trial timed yet
        }
        return `kept ${progressPath}, the trials timed so far: \`cli.ts tune --resume\` with ` +
          "the same flags goes on from there";
      });
    }
    const worker = new TrialWorker();
    const measure = async (fields: Partial<Tuning>): Promise<Timing> => {
      const again = replay.get(keyOf(fields))?.shift();
      let rec: ProgressFile["trials"][number];
      if (again) rec = again;
      else {
        rec = { tuning: fields };
        try {
          const p = isolate
            ? await timeInFreshProcess({ ...override, ...fields }, workload, timeoutS)
            : await worker.time({ ...override, ...fields }, workload, timeoutS);
          if (p.adapter !== adapter) {
            throw new Error(`the child ran on ${p.adapter}, not ${adapter}`);
          }
          const trainMs = p.train.map((t) => t.stepMs);
          rec.timing = {
            trainMs,
            inferMs: p.infer.ms,
            inferBatch: p.infer.batch,
            cost: costOf(trainMs, workload.batches, p.infer.ms, p.infer.batch),
          };
        } catch (e) {
          rec.error = (e as Error).message;
        }
      }
      progress.trials.push(rec);
      if (progressPath !== null) {
        await Deno.mkdir(dir!, { recursive: true });
        await writeFileAtomic(progressPath, JSON.stringify(progress) + "\n");
      }
      if (rec.error !== undefined) throw new Error(rec.error);
      return rec.timing!;
    };

    const shape = workload.config.inputShape.join("×");
    if (!quiet) {
      console.log(
        `tuning ${adapter}: autoencoder ${shape} (latent ${workload.config.latentDim}), training batch ` +
          `${workload.batches.join(", ")}, ${
            isolate ? "each trial in its own process" : "the trials in a child process"
          }`,
      );
      if (Object.keys(override).length) {
        console.log(
          `starting from the ${
            isSoftwareAdapter(info) ? "software" : "GPU"
          } default with SEISDEC_TUNING ${JSON.stringify(override)}`,
        );
      }
    }
    const fmtTiming = (t: Timing) =>
      [
        ...t.trainMs.map((ms, i) => `b${workload.batches[i]} ${ms.toFixed(1)} ms`),
        `infer ${t.inferMs.toFixed(1)} ms`,
      ].join("  ");
    // A failed start leaves nothing worth resuming.
    const dropProgress = () => {
      if (progressPath === null) return Promise.resolve();
      keepOnInterrupt(progressPath, null);
      return Deno.remove(progressPath).catch(() => {});
    };
    let pass = 1;
    const result = await searchTuning(base, measure, {
      fields,
      margin,
      confirm,
      passes,
      deadline: Date.now() + budget * 1000,
      onTrial: (t, best, bestCost) => {
        if (quiet) return;
        if (t.pass !== pass) {
          pass = t.pass;
          console.log(`pass ${pass}: the fields again, over ${JSON.stringify(best)}`);
        }
        const what = `${t.role === "recheck" ? "  again " : ""}${label(t)}`.padEnd(34);
        if (!t.timing) {
          console.log(`  ${what} failed: ${t.error}`);
          return;
        }
        const rel = t.role === "base" ? "" : `  ${(bestCost / t.timing.cost).toFixed(3)}× the best`;
        const verdict = t.kept === true
          ? ", kept"
          : t.kept === undefined && t.field
          ? ", timing both again"
          : "";
        console.log(`  ${what} ${fmtTiming(t.timing)}${rel}${verdict}`);
      },
    }).catch(async (e) => {
      await dropProgress();
      throw new UserError(
        `${(e as Error).message} (the adapter's default tuning: \`cli.ts info --kernels\` ` +
          "checks that every kernel compiles here; a slow adapter may need a larger --timeout)",
      );
    }).finally(() => worker.close());
    const stored: StoredTuning = {
      format: TUNING_FORMAT,
      adapter,
      deno: Deno.version.deno,
      kernels: await kernelsDigest(),
      date: new Date().toISOString(),
      tuning: { ...override, ...result.best },
      workload: {
        inputShape: [...workload.config.inputShape],
        latentDim: workload.config.latentDim ?? 9,
        batches: workload.batches,
      },
      speedup: result.speedup,
      trials: result.trials.map((t): StoredTrial => ({
        tuning: t.tuning,
        ...(t.timing
          ? {
            trainMs: t.timing.trainMs,
            inferMs: t.timing.inferMs,
            speed: result.baseCost / t.timing.cost,
          }
          : { error: t.error }),
      })),
    };
    const failed = result.trials.filter((t) => t.error !== undefined).length;
    console.log(
      `best: ${JSON.stringify(stored.tuning)} over the default, ${result.speedup.toFixed(3)}× ` +
        `the start's speed (${result.trials.length} trials${failed ? `, ${failed} failed` : ""}${
          result.stopped ? "; stopped at --budget" : ""
        })`,
    );
    if (!quiet) {
      // The fastest timing of the start and of the best, in samples per second.
      const perSec = (n: number, ms: number) => Math.round(n / ms * 1000).toLocaleString("en-US");
      const fastest = (t: Partial<Tuning>) =>
        result.trials.filter((x) => x.timing && tuningKey(base, x.tuning) === tuningKey(base, t))
          .map((x) => x.timing!).sort((a, b) => a.cost - b.cost)[0];
      const rates = (t: Timing) =>
        [
          ...t.trainMs.map((ms, i) =>
            `training b${workload.batches[i]} ${perSec(workload.batches[i], ms)}/s`
          ),
          `inference ${perSec(t.inferBatch, t.inferMs)}/s (passes of ${t.inferBatch})`,
        ].join(", ");
      console.log(`  start: ${rates(fastest({}))}`);
      if (Object.keys(result.best).length) console.log(`  best:  ${rates(fastest(result.best))}`);
    }
    if (dryRun) {
      console.log("not stored (--dry-run)");
    } else {
      // A tuning of this adapter's, under today's name or the slug-only one of older versions.
      const prior = await Deno.stat(storedTuningPath(adapter)!).then(() => true, () => false) ||
        (await readStoredTuning(adapter).catch(() => null)) !== null;
      const path = await writeStoredTuning(stored);
      console.log(`${prior ? "replaced" : "stored"} ${path}`);
    }
    await dropProgress();
  },
};
