/**
 * A tuning sweep: times seisdec's seed-autoencoder training step and encoder inference on
 * WebGPU under each tuning of a file (one JSON object of lib/gpu/kernels.ts's Tuning fields per
 * line, merged over the adapter kind's default; "{}" is the default itself; blank lines and
 * lines starting with # are skipped) and prints one JSON line per tuning. bench/gpu/sweep.sh
 * runs it over bench/gpu/tunings.txt and bench/gpu/ab.txt.
 *
 * ```sh
 * deno run -A bench/gpu/tune.ts 64,256 bench/gpu/ab.txt
 * ```
 *
 * The tunings are timed one after another in one child process that switches between them in
 * place (lib/bench/trial_worker.ts, as `cli.ts tune` does), so each kernel variant compiles
 * once for the whole sweep; a tuning that fails or passes 120 s is reported in its line and
 * the next starts a new child. No line starts after SEISDEC_SWEEP_DEADLINE (epoch seconds, set
 * by bench/gpu/run.sh). SEISDEC_TUNE_STEPS (64) steps are timed per figure.
 *
 * Per batch: the steady-state step time with the tuning's steps in flight (as training runs),
 * the median time of a step run alone, and the GPU work of one step; then encoder inference at
 * the tuning's `inferBatch` (256 unless set; fewer where they would not fit one binding).
 *
 * @module
 */
import { TrialWorker } from "../../lib/bench/trial_worker.ts";
import { parseTuning } from "../../lib/gpu/tuning_store.ts";

/** Seconds before a tuning's trial (its child's start and compiles included) is killed. */
const TRIAL_TIMEOUT_S = 120;

const batches = (Deno.args[0] ?? "64,256").split(",").map(Number);
const file = Deno.args[1] ?? "bench/gpu/tunings.txt";
const steps = Number(Deno.env.get("SEISDEC_TUNE_STEPS") ?? 64);
const deadline = Number(Deno.env.get("SEISDEC_SWEEP_DEADLINE") ?? Infinity);
const lines = (await Deno.readTextFile(file)).split("\n").map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));

const worker = new TrialWorker();
try {
  for (const line of lines) {
    if (Date.now() / 1000 > deadline) {
      console.log(JSON.stringify({ tuning: line, error: "skipped: past the deadline" }));
      continue;
    }
    try {
      const fields = parseTuning(line, `${file}: tuning`);
      const p = await worker.time(
        fields,
        { batches, steps, seconds: 0, extras: true },
        TRIAL_TIMEOUT_S,
      );
      const out: Record<string, unknown> = { adapter: p.adapter, tuning: line };
      for (const t of p.train) {
        out[`b${t.batch}`] = {
          firstStepMs: +t.firstStepMs.toFixed(1),
          stepMs: +t.stepMs.toFixed(3),
          aloneMs: +t.aloneMs!.toFixed(3),
          samplesPerSec: +t.samplesPerSec.toFixed(1),
          dispatches: t.dispatches,
        };
      }
      out.infer = {
        batch: p.infer.batch,
        ms: +p.infer.ms.toFixed(3),
        samplesPerSec: +p.infer.samplesPerSec.toFixed(1),
      };
      console.log(JSON.stringify(out));
    } catch (e) {
      console.log(JSON.stringify({ tuning: line, error: (e as Error).message }));
    }
  }
} finally {
  await worker.close();
}
