/**
 * Training-step benchmark of the seed autoencoder (input [N, 1, 87, 67]): one full step
 * (forward, backward, Adam; one submit; the loss read back) in samples/s at batch 64 and 256
 * on WebGPU, and one encoder-only inference pass at batch 256; the same on the CPU backend at
 * batch 64 (training) and 256 (inference) with fewer steps. It also records the GPU work of
 * one step (dispatches, submits, read-backs from the runtime's counters) and the buffer pool
 * after it (live buffers and bytes), and the GPU time per kernel of one more step and per
 * dispatch (layer) of one more encoder pass, measured with timestamp queries
 * (lib/bench/profile.ts) where the adapter has them.
 *
 * It times at module load (a step takes ~1 s on a software adapter, too long for
 * `Deno.bench`'s repeated sampling): warm-up steps outside the timed region, then the
 * steady-state time per step (the mean over the timed steps, `steadyStepMs` in
 * lib/bench/seisdec_timing.ts). It prints a table and writes
 * bench/results/train-<adapter>.json. Steps are timed with the backend's steps in flight
 * (the tuning's `inFlight`), as the training loop runs them (lib/util/pipeline.ts); on
 * WebGPU the median time of a step run alone (recording to read-back) is recorded too, as
 * `stepAloneMs`. Each measurement is
 * also registered as a `Deno.bench` case (one step per iteration, few iterations) so that
 * `deno bench` lists it.
 *
 * ```sh
 * deno bench -A --lock=bench/deno.lock bench/train_bench.ts
 * SEISDEC_BENCH_BATCHES=64 deno bench -A --lock=bench/deno.lock bench/train_bench.ts   # batch 64 only
 * ```
 *
 * @module
 */
import {
  median,
  type SeisdecTrainer,
  seisdecTrainer,
  steadyStepMs,
  timedSteps,
} from "../lib/bench/seisdec_timing.ts";
import {
  byKernel,
  dispatchTable,
  type KernelShare,
  profileRun,
  profileTable,
} from "../lib/bench/profile.ts";
import type { ProfiledDispatch } from "../lib/gpu/runtime.ts";
import { adapterName } from "../lib/gpu/device.ts";
import { gpu } from "../lib/gpu/runtime.ts";
import { passesInFlight, stepsInFlight } from "../lib/tensor/backends.ts";
import { type BenchFigure, writeBenchResults } from "./_results.ts";

const BATCHES = (Deno.env.get("SEISDEC_BENCH_BATCHES") ?? "64,256").split(",").map(Number);
const INFER_BATCH = 256;
const shape = (n: number) => `x [${n}, 1, 87, 67]`;

/**
 * Steady-state step time (mean, see steadyStepMs) with the backend's steps in flight (the training loop's way, see
 * lib/util/pipeline.ts), after `warmup` steps run one at a time; with `alone`, also the
 * median time of a step run alone, from recording to its read-back.
 */
async function timed(
  f: () => Promise<unknown>,
  warmup: number,
  iters: number,
  alone = false,
  depth = 1,
): Promise<{ ms: number; aloneMs?: number }> {
  let warmMs = 0;
  for (let i = 0; i < warmup; i++) {
    const t0 = performance.now();
    await f();
    warmMs = performance.now() - t0;
  }
  // At least `iters` steps and 2 s of them, as the peers bench (timedSteps).
  const n = timedSteps(iters, warmMs, 2);
  const ms = await steadyStepMs(f, n, depth);
  if (!alone) return { ms };
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await f();
    ts.push(performance.now() - t0);
  }
  return { ms, aloneMs: median(ts) };
}

interface Row {
  what: string;
  backend: "webgpu" | "cpu";
  batch: number;
  ms: number;
  extra: Record<string, unknown>;
}

const rows: Row[] = [];
const profiles: { batch: number; profile: KernelShare[] }[] = [];
/** One encoder pass with every dispatch timed (where the adapter has timestamps). */
let encoderProfile: ProfiledDispatch[] = [];
const trainers: { backend: "webgpu" | "cpu"; batch: number; tr: SeisdecTrainer }[] = [];

let adapter: string | null = null;
try {
  adapter = await adapterName();
} catch (e) {
  if (Deno.env.get("CI") === "true") throw e;
  console.log(`train: no WebGPU adapter, CPU only: ${(e as Error).message}`);
}
console.log(`train: adapter ${adapter ?? "none"}; seed autoencoder, input [N, 1, 87, 67]`);

if (adapter) {
  const rt = await gpu();
  for (const [i, batch] of BATCHES.entries()) {
    const tr = await seisdecTrainer("webgpu", batch, INFER_BATCH);
    trainers.push({ backend: "webgpu", batch, tr });
    const heavy = batch > 64;
    const depth = stepsInFlight("webgpu");
    const { ms, aloneMs } = await timed(
      () => tr.step(),
      heavy ? 1 : 2,
      Math.max(heavy ? 3 : 5, 4 * depth),
      true,
      depth,
    );
    // Counters of one step, after the warm-up (pool grown, pipelines compiled).
    const before = rt.stats();
    await tr.step();
    const after = rt.stats();
    const pool = rt.pool.stats();
    // One more step with every dispatch timed on the GPU (one pass per dispatch).
    let profile: KernelShare[] = [];
    if (rt.device.features.has("timestamp-query")) {
      profile = byKernel(await profileRun(rt, () => tr.step()));
      profiles.push({ batch, profile });
    }
    rows.push({
      what: "train step",
      backend: "webgpu",
      batch,
      ms,
      extra: {
        stepAloneMs: aloneMs,
        inFlight: depth,
        // ms is null where no dispatch of the kernel got a usable timestamp.
        profile: profile.map((k) => ({
          kernel: k.kernel,
          dispatches: k.dispatches,
          ms: k.untimed === k.dispatches ? null : +k.ms.toFixed(3),
          ...(k.untimed ? { untimed: k.untimed } : {}),
        })),
        dispatches: after.dispatches - before.dispatches,
        submits: after.submits - before.submits,
        readbacks: after.readbacks - before.readbacks,
        liveBuffers: pool.liveBuffers,
        liveMiB: pool.liveBytes / 2 ** 20,
        freeMiB: pool.freeBytes / 2 ** 20,
        buffersCreated: pool.created,
      },
    });
    if (i === BATCHES.length - 1) {
      const depth = passesInFlight("webgpu");
      const { ms: inferMs, aloneMs: inferAloneMs } = await timed(
        () => tr.infer(),
        1,
        Math.max(5, 4 * depth),
        true,
        depth,
      );
      const b = rt.stats();
      await tr.infer();
      const a = rt.stats();
      // One more pass with every dispatch timed: the time per layer.
      if (rt.device.features.has("timestamp-query")) {
        encoderProfile = await profileRun(rt, () => tr.infer());
      }
      rows.push({
        what: "encoder inference",
        backend: "webgpu",
        batch: INFER_BATCH,
        ms: inferMs,
        extra: {
          stepAloneMs: inferAloneMs,
          inFlight: depth,
          dispatches: a.dispatches - b.dispatches,
          submits: a.submits - b.submits,
          // ms is null where the dispatch got no usable timestamp.
          profile: encoderProfile.map((d) => ({
            kernel: d.kernel,
            defines: d.defines,
            workgroups: d.workgroups,
            ms: d.ms === null ? null : +d.ms.toFixed(3),
          })),
        },
      });
    }
  }
}

// The CPU reference backend (Float64 TypeScript): training at batch 64 and inference only.
{
  const tr = await seisdecTrainer("cpu", 64, INFER_BATCH);
  trainers.push({ backend: "cpu", batch: 64, tr });
  rows.push({
    what: "train step",
    backend: "cpu",
    batch: 64,
    ms: (await timed(() => tr.step(), 1, 3)).ms,
    extra: {},
  });
  rows.push({
    what: "encoder inference",
    backend: "cpu",
    batch: INFER_BATCH,
    ms: (await timed(() => tr.infer(), 1, 3)).ms,
    extra: {},
  });
}

console.log(
  "\n| what | backend | batch | ms (steady state, steps in flight) | samples/s | ms alone | GPU work per call | pool after |",
);
console.log("| --- | --- | ---: | ---: | ---: | ---: | --- | --- |");
for (const r of rows) {
  const e = r.extra;
  const work = e.dispatches === undefined
    ? ""
    : `${e.dispatches} dispatches, ${e.submits} submits${
      e.readbacks === undefined ? "" : `, ${e.readbacks} read-backs`
    }`;
  const pool = e.liveBuffers === undefined
    ? ""
    : `${e.liveBuffers} live buffers, ${(e.liveMiB as number).toFixed(1)} MiB live, ${
      (e.freeMiB as number).toFixed(1)
    } MiB free`;
  console.log(
    `| ${r.what} | ${r.backend} | ${r.batch} | ${r.ms.toFixed(1)} | ${
      (r.batch / (r.ms / 1000)).toFixed(1)
    } | ${
      e.stepAloneMs === undefined ? "" : (e.stepAloneMs as number).toFixed(1)
    } | ${work} | ${pool} |`,
  );
}

for (const { batch, profile } of profiles) {
  console.log(`\n${profileTable(profile, `one training step at batch ${batch}`).join("\n")}`);
}
if (encoderProfile.length) {
  console.log(
    `\n${dispatchTable(encoderProfile, `one encoder pass at batch ${INFER_BATCH}`).join("\n")}`,
  );
}

const figures: BenchFigure[] = rows.map((r) => ({
  name: `seisdec ${r.backend} ${r.what === "train step" ? "train" : "encode"}`,
  shape: shape(r.batch),
  value: r.batch / (r.ms / 1000),
  unit: "samples/s",
  extra: { stepMs: r.ms, ...r.extra },
}));
console.log(`\ntrain: wrote ${await writeBenchResults("train", figures)}`);

for (const { backend, batch, tr } of trainers) {
  const group = `train step ${shape(batch)}`;
  Deno.bench({
    name: `train step ${backend} ${shape(batch)}`,
    group,
    baseline: backend === "cpu",
    n: backend === "cpu" || batch > 64 ? 1 : 3,
    warmup: 0,
    async fn() {
      await tr.step();
    },
  });
}
const last = trainers.filter((t) => t.backend === "webgpu").at(-1);
for (const t of [last, trainers.find((t) => t.backend === "cpu")]) {
  if (!t) continue;
  Deno.bench({
    name: `encoder inference ${t.backend} ${shape(INFER_BATCH)}`,
    group: "encoder inference",
    baseline: t.backend === "cpu",
    n: t.backend === "cpu" ? 1 : 3,
    warmup: 0,
    async fn() {
      await t.tr.infer();
    },
  });
}
