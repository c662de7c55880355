/**
 * One point of a tuning sweep: times seisdec's seed-autoencoder training step on WebGPU under
 * the tuning in SEISDEC_TUNING (merged over the adapter's default, lib/tensor/backends.ts) and
 * prints one JSON line. A tuning is fixed per process, so a sweep runs this once per tuning
 * (bench/gpu/sweep.sh).
 *
 * ```sh
 * SEISDEC_TUNING='{"convTile":4,"convPixels":2}' deno run -A bench/gpu/tune.ts 64,256
 * ```
 *
 * Per batch: the steady-state step time with the tuning's steps in flight (as training runs), the median time
 * of a step run alone, and the GPU work of one step; then encoder inference at the tuning's
 * `inferBatch` (256 unless set).
 *
 * @module
 */
import { measureTuning } from "../../lib/bench/seisdec_timing.ts";

const batches = (Deno.args[0] ?? "64,256").split(",").map(Number);
const steps = Number(Deno.env.get("SEISDEC_TUNE_STEPS") ?? 64);
const p = await measureTuning({ batches, steps, seconds: 0, extras: true });
const out: Record<string, unknown> = {
  adapter: p.adapter,
  tuning: Deno.env.get("SEISDEC_TUNING") ?? "{}",
};
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
