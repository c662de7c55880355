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
import { median, seisdecTrainer, steadyStepMs } from "../../lib/bench/seisdec_timing.ts";
import { adapterName } from "../../lib/gpu/device.ts";
import { gpu } from "../../lib/gpu/runtime.ts";
import {
  initBackend,
  passBatch,
  passesInFlight,
  stepsInFlight,
} from "../../lib/tensor/backends.ts";

const batches = (Deno.args[0] ?? "64,256").split(",").map(Number);
const steps = Number(Deno.env.get("SEISDEC_TUNE_STEPS") ?? 64);
const out: Record<string, unknown> = {
  adapter: await adapterName(),
  tuning: Deno.env.get("SEISDEC_TUNING") ?? "{}",
};
await initBackend("webgpu"); // the tuning, SEISDEC_TUNING included
const rt = await gpu();
for (const b of batches) {
  // Encoder inference at the tuning's pass size (inferBatch, default 256).
  const tr = await seisdecTrainer("webgpu", b, passBatch("webgpu"));
  const t0 = performance.now();
  await tr.step();
  const firstMs = performance.now() - t0;
  for (let i = 0; i < 3; i++) await tr.step();
  const ms = await steadyStepMs(() => tr.step(), steps, stepsInFlight("webgpu"));
  const alone: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    await tr.step();
    alone.push(performance.now() - t);
  }
  const s0 = rt.stats();
  await tr.step();
  const s1 = rt.stats();
  out[`b${b}`] = {
    firstStepMs: +firstMs.toFixed(1),
    stepMs: +ms.toFixed(3),
    aloneMs: +median(alone).toFixed(3),
    samplesPerSec: +(b / (ms / 1000)).toFixed(1),
    dispatches: s1.dispatches - s0.dispatches,
  };
  if (b === batches.at(-1)) {
    for (let i = 0; i < 2; i++) await tr.infer();
    const im = await steadyStepMs(() => tr.infer(), steps, passesInFlight("webgpu"));
    const ib = passBatch("webgpu");
    out.infer = { batch: ib, ms: +im.toFixed(3), samplesPerSec: +(ib / (im / 1000)).toFixed(1) };
  }
  tr.dispose();
}
console.log(JSON.stringify(out));
