/**
 * Timing of seisdec's own autoencoder training step (forward + backward + Adam,
 * one submit) and encoder inference, for the peers benchmark and `deno bench`.
 *
 * Steps are timed as the training loop runs them, with the backend's steps in flight
 * (`stepsInFlight`: 1 on llvmpipe and the CPU, the tuning's `inFlight`, 16 by default, on
 * GPUs): step i + 1 is recorded and submitted before step i's loss is read back
 * ({@linkcode pipelined}). A step's time is the wall time of a run of steps, from the first
 * step's issue to the last step's loss, divided by their number ({@linkcode steadyStepMs}), so
 * the GPU work, the host's recording and the read-backs are all inside it. Warm-up steps
 * (pipeline compilation, buffer pool growth) run outside the timed region.
 *
 * @module
 */
import { adapterName } from "../gpu/device.ts";
import { type AutoencoderConfig, ConvAutoencoder } from "../nn/autoencoder.ts";
import { Adam } from "../optim/optimizers.ts";
import type { Tuning } from "../gpu/kernels.ts";
import {
  gpuRuntime,
  gpuTuning,
  initBackend,
  passesInFlight,
  stepsInFlight,
  tensorLimitOf,
} from "../tensor/backends.ts";
import { noGrad, Tensor, tidy } from "../tensor/tensor.ts";
import { inferBatchFor } from "../cluster/pretrain.ts";
import { pipelined } from "../util/pipeline.ts";
import { Rng } from "../util/rng.ts";
import { median } from "../util/median.ts";
import type { PeerResult, TimingOptions } from "./types.ts";

export type { PeerResult, TimingOptions };

export { median };

/**
 * Times `steps` steps run with `depth` steps in flight, as the training loop runs them: the
 * intervals between successive results, i.e. the steady-state time per step.
 *
 * @param issue Records and submits one step; returns a promise of its result.
 * @param steps Number of intervals to time (`steps + 1` steps run).
 * @param depth Steps in flight (default 1).
 * @returns the intervals in milliseconds.
 * @example
 * ```ts
 * import { stepIntervals } from "./seisdec_timing.ts";
 * // A queue that runs one 2 ms step after another, like a GPU queue.
 * let queue: Promise<unknown> = Promise.resolve();
 * const issue = () => (queue = queue.then(() => new Promise((r) => setTimeout(r, 2))));
 * const ts = await stepIntervals(issue, 5);
 * if (ts.length !== 5 || ts.some((t) => t < 1.5)) throw new Error();
 * ```
 */
export async function stepIntervals(
  issue: () => Promise<unknown>,
  steps: number,
  depth = 1,
): Promise<number[]> {
  const ts: number[] = [];
  let last = -1;
  await pipelined(steps + 1, issue, () => {
    const now = performance.now();
    if (last >= 0) ts.push(now - last);
    last = now;
  }, depth);
  return ts;
}

/**
 * The wall time per step of a run of `steps` steps with `depth` steps in flight, as the
 * training loop runs them: from the first step's issue to the last step's result, divided by
 * `steps`. It includes filling and draining the pipeline once, so it errs on the slow side
 * (by about one read-back latency over the run; use `steps` of several times `depth`).
 * Intervals between results are no measure here: with steps in flight, results arrive in
 * bunches (one wait of Deno's WebGPU covers every submitted step), and the mean or median of
 * the intervals after the first result leaves the first bunch's work out.
 *
 * @param issue Records and submits one step; returns a promise of its result.
 * @param steps Number of steps to time.
 * @param depth Steps in flight (default 1).
 * @returns milliseconds per step.
 * @example
 * ```ts
 * import { steadyStepMs } from "./seisdec_timing.ts";
 * // A queue that runs one 2 ms step after another, like a GPU queue.
 * let queue: Promise<unknown> = Promise.resolve();
 * const issue = () => (queue = queue.then(() => new Promise((r) => setTimeout(r, 2))));
 * if (await steadyStepMs(issue, 5, 2) < 1.5) throw new Error();
 * ```
 */
export async function steadyStepMs(
  issue: () => Promise<unknown>,
  steps: number,
  depth = 1,
): Promise<number> {
  const t0 = performance.now();
  let last = t0;
  await pipelined(steps, issue, () => {
    last = performance.now();
  }, depth);
  return (last - t0) / steps;
}

/**
 * How many steps to time: at least `steps`, and enough that they last about `minSeconds` at
 * the warm step's pace (at most 2,000). Five steps of a 3 s tfjs-webgpu step span 15 s of
 * this machine's noise, five of seisdec's 0.14 s step 0.7 s: one slow stretch then moved
 * seisdec's figure by 20 % (137 against 168 ms per step in two runs of one day) while tfjs's
 * stayed within 1 %.
 *
 * @param steps The least number of steps.
 * @param warmMs Wall time of one warm step, in ms.
 * @param minSeconds Least timed work, in seconds.
 * @returns the number of steps to time.
 * @example
 * ```ts
 * import { timedSteps } from "./seisdec_timing.ts";
 * if (timedSteps(5, 3000, 2) !== 5 || timedSteps(5, 100, 2) !== 20) throw new Error();
 * ```
 */
export function timedSteps(steps: number, warmMs: number, minSeconds: number): number {
  if (!(warmMs > 0)) return steps;
  return Math.max(steps, Math.min(2000, Math.ceil((minSeconds * 1000) / warmMs)));
}

/** A training-step timer for the seed autoencoder on one backend. */
export interface SeisdecTrainer {
  /** Records and submits one step; resolves with the loss once it is read back. */
  step(): Promise<number>;
  /** Records and submits one encoder pass over `inferBatch` samples; resolves once read back. */
  infer(): Promise<void>;
  dispose(): void;
}

/** The seed autoencoder's input: one channel of 87 frequencies × 67 frames. */
export const SEED_INPUT: [number, number, number] = [1, 87, 67];

/**
 * Builds an autoencoder (by default the seed's) on a backend with seeded random data.
 *
 * @param backend "webgpu" or "cpu".
 * @param batch Training batch size.
 * @param inferBatch Inference batch size.
 * @param seed Seed of weights and data.
 * @param config The autoencoder (default: the seed's, input {@linkcode SEED_INPUT}).
 * @returns the trainer.
 */
export async function seisdecTrainer(
  backend: "webgpu" | "cpu",
  batch: number,
  inferBatch = 256,
  seed = 1,
  config: AutoencoderConfig = { inputShape: SEED_INPUT },
): Promise<SeisdecTrainer> {
  await initBackend(backend);
  const ae = new ConvAutoencoder(config, seed);
  for (const [what, b] of [["training batch", batch], ["inference batch", inferBatch]] as const) {
    const over = ae.batchOverLimit(b, tensorLimitOf(backend));
    if (over) {
      throw new RangeError(
        `Cannot time a ${what} of ${b}: ${over.reason}: at most ${over.most} samples fit`,
      );
    }
  }
  const set = ae.build(backend);
  const adam = new Adam(set, { lr: 1e-3 });
  const rng = new Rng(seed);
  const shape = config.inputShape;
  const n = shape[0] * shape[1] * shape[2];
  const random = (b: number) =>
    Tensor.fromArray(Float32Array.from({ length: b * n }, () => rng.next()), [b, ...shape], backend)
      .keep();
  const x = random(batch);
  const xi = random(inferBatch);
  return {
    async step() {
      const l = tidy(() => {
        set.zeroGrad();
        const loss = ae.reconstructionLoss(x);
        loss.backward();
        adam.update();
        return loss;
      });
      const v = await l.item();
      l.dispose();
      return v;
    },
    async infer() {
      const z = noGrad(() => tidy(() => ae.encode(xi)));
      await z.data();
      z.dispose();
    },
    dispose() {
      x.dispose();
      xi.dispose();
      adam.dispose();
      set.dispose();
    },
  };
}

/**
 * Times seisdec's autoencoder: warm-up steps, then the steady-state time per step over at
 * least 5 timed training steps at `batch` ({@linkcode steadyStepMs}), and encoder inference
 * at `opts.inferBatch`.
 *
 * @param backend "webgpu" or "cpu".
 * @param batch Training batch size.
 * @param opts Steps, warm-up and inference batch.
 * @returns the row for the peers table.
 */
export async function timeSeisdec(
  backend: "webgpu" | "cpu",
  batch: number,
  opts: TimingOptions = {},
): Promise<PeerResult> {
  const steps = Math.max(5, opts.steps ?? 5),
    minSeconds = opts.minSeconds ?? 2,
    warmup = opts.warmup ?? 1,
    inferBatch = opts.inferBatch ?? 256;
  const row: PeerResult = {
    name: `seisdec ${backend}`,
    backend: backend === "webgpu"
      ? "WebGPU (hand-written WGSL)"
      : "CPU reference (plain TypeScript, Float64)",
    batch,
    inferBatch,
    trainSamplesPerSec: null,
    inferSamplesPerSec: null,
  };
  try {
    if (backend === "webgpu") row.adapter = await adapterName();
    const tr = await seisdecTrainer(backend, batch, inferBatch, opts.seed ?? 1);
    try {
      if (opts.train ?? true) {
        const t0 = performance.now();
        for (let i = 0; i < warmup; i++) await tr.step();
        const warm = (performance.now() - t0) / 1000 / Math.max(1, warmup);
        if (opts.maxStepSeconds && warm > opts.maxStepSeconds) {
          row.error = `a step took ${warm.toFixed(1)} s, over the ${opts.maxStepSeconds} s limit`;
        } else {
          const depth = stepsInFlight(backend);
          const n = timedSteps(Math.max(steps, 4 * depth), warm * 1000, minSeconds);
          row.stepMs = await steadyStepMs(() => tr.step(), n, depth);
          row.trainSamplesPerSec = batch / (row.stepMs / 1000);
        }
      }
      if (opts.infer ?? true) {
        const t0 = performance.now();
        await tr.infer();
        const warmMs = performance.now() - t0;
        const depth = passesInFlight(backend);
        const n = timedSteps(Math.max(5, 4 * depth), warmMs, minSeconds);
        row.inferMs = await steadyStepMs(() => tr.infer(), n, depth);
        row.inferSamplesPerSec = inferBatch / (row.inferMs / 1000);
      }
    } finally {
      tr.dispose();
    }
  } catch (e) {
    row.error = (e as Error).message;
  }
  return row;
}

/** Figures of one training batch size in {@linkcode measureTuning}. */
export interface TrainPoint {
  /** Samples per training step. */
  batch: number;
  /** The first step: pipeline compilation and buffer allocation included. */
  firstStepMs: number;
  /** Steady-state wall time per step with the tuning's steps in flight. */
  stepMs: number;
  /** Steady-state throughput, samples/s. */
  samplesPerSec: number;
  /** Median time of a step run alone (with `extras`). */
  aloneMs?: number;
  /** Dispatches in one step (with `extras`). */
  dispatches?: number;
}

/** Encoder inference figures in {@linkcode measureTuning}. */
export interface InferPoint {
  /** Samples per pass (the tuning's `inferBatch`, or fewer where they would not fit a binding). */
  batch: number;
  /** Steady-state wall time per pass with the tuning's passes in flight. */
  ms: number;
  /** Steady-state throughput, samples/s. */
  samplesPerSec: number;
}

/** What {@linkcode measureTuning} measured. */
export interface TuningPoint {
  /** The adapter's one-line name ({@linkcode adapterName}). */
  adapter: string;
  /** The tuning in force (the adapter's default, a stored tuning, SEISDEC_TUNING). */
  tuning: Tuning;
  /** One entry per training batch size. */
  train: TrainPoint[];
  /** Encoder inference figures. */
  infer: InferPoint;
}

/** What {@linkcode measureTuning} times. */
export interface TuningWorkload {
  /** Training batch sizes. */
  batches: number[];
  /** The autoencoder (default: the seed's). */
  config?: AutoencoderConfig;
  /** Least number of timed steps (and passes) per figure (default 8). */
  steps?: number;
  /** Least timed work per figure, in seconds (default 1.5; 0: exactly `steps`). */
  seconds?: number;
  /** Also time steps run alone and count a step's dispatches. */
  extras?: boolean;
}

/**
 * Times the training step at each batch size and encoder inference under this process's WebGPU
 * tuning (`cli.ts tune`'s trial worker switches it between calls with `retuneGpu`;
 * `bench/gpu/tune.ts` runs one process per tuning). Warm-up steps run outside the timed region.
 *
 * @param w What to time.
 * @returns the figures.
 */
export async function measureTuning(w: TuningWorkload): Promise<TuningPoint> {
  await initBackend("webgpu");
  const rt = gpuRuntime()!;
  const steps = Math.max(1, w.steps ?? 8), seconds = w.seconds ?? 1.5;
  const config = w.config ?? { inputShape: SEED_INPUT };
  // What encoding runs with: the tuning's pass, or fewer samples where they would not fit.
  const inferBatch = inferBatchFor(new ConvAutoencoder(config), "webgpu");
  const train: TrainPoint[] = [];
  let infer: InferPoint | null = null;
  for (const [i, b] of w.batches.entries()) {
    const tr = await seisdecTrainer("webgpu", b, inferBatch, 1, config);
    try {
      let t0 = performance.now();
      await tr.step();
      const firstStepMs = performance.now() - t0;
      t0 = performance.now();
      for (let k = 0; k < 2; k++) await tr.step();
      const warmMs = (performance.now() - t0) / 2;
      const depth = stepsInFlight("webgpu");
      const n = timedSteps(Math.max(steps, 4 * depth), warmMs, seconds);
      const stepMs = await steadyStepMs(() => tr.step(), n, depth);
      const p: TrainPoint = { batch: b, firstStepMs, stepMs, samplesPerSec: b / (stepMs / 1000) };
      if (w.extras) {
        const alone: number[] = [];
        for (let k = 0; k < n; k++) {
          const t = performance.now();
          await tr.step();
          alone.push(performance.now() - t);
        }
        p.aloneMs = median(alone);
        const s0 = rt.stats();
        await tr.step();
        p.dispatches = rt.stats().dispatches - s0.dispatches;
      }
      train.push(p);
      if (i === w.batches.length - 1) {
        t0 = performance.now();
        for (let k = 0; k < 2; k++) await tr.infer();
        const depth = passesInFlight("webgpu");
        const m = timedSteps(Math.max(steps, 4 * depth), (performance.now() - t0) / 2, seconds);
        const ms = await steadyStepMs(() => tr.infer(), m, depth);
        infer = { batch: inferBatch, ms, samplesPerSec: inferBatch / (ms / 1000) };
      }
    } finally {
      tr.dispose();
    }
  }
  if (!infer) throw new RangeError("Cannot measure a tuning: no training batch size given");
  return { adapter: await adapterName(), tuning: gpuTuning()!, train, infer };
}
