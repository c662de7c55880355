/**
 * Autoencoder pretraining (MSE, Adam) with seeded shuffling, an optional
 * validation split, a learning curve, a checkpoint every epoch and exact
 * resume: weights, Adam moments, the step count, the epoch and the RNG state
 * are all saved, and the GPU kernels sum in a fixed order, so an interrupted
 * and resumed run ends with the same weights as an uninterrupted one.
 *
 * @module
 */
import { join } from "node:path";
import {
  type AutoencoderConfig,
  autoencoderParamShapes,
  ConvAutoencoder,
  SEED_CHANNELS,
  SEED_SLOPE,
} from "../nn/autoencoder.ts";
import { Adam } from "../optim/optimizers.ts";
import {
  bindingLimit,
  initBackend,
  passBatch,
  passesInFlight,
  releaseCachedMemory,
  softwareOf,
  stepsInFlight,
  tensorLimitOf,
} from "../tensor/backends.ts";
import { runsRecord, type Software, withRun } from "../util/software.ts";
import { type Device, noGrad, Tensor, tidy } from "../tensor/tensor.ts";
import { Rng } from "../util/rng.ts";
import { InFlight, pipelined } from "../util/pipeline.ts";
import {
  downstreamOf,
  encodeWeights,
  exists,
  fileDigest,
  loadWeights,
  readCheckpointState,
  readJson,
  readWeightsHeader,
  refuseDownstream,
  saveCheckpointDir,
  setOutputsAside,
  type Weights,
  writeJson,
} from "../io/checkpoint.ts";
import { UserError } from "../util/errors.ts";
import { issueLines } from "../util/zod_issues.ts";
import { defaultBackend } from "../backend.ts";
import { checkSettings, pretrainSchema } from "./schemas.ts";
import { z } from "../deps.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { lineChart, writeFigure } from "../plot/mod.ts";
import {
  datasetDigest,
  datasetFingerprint,
  type DatasetLike,
  datasetRecord,
  type Normalize,
  readModelBatch,
  settingsChanges,
} from "./data.ts";

/** Pretraining settings. */
export interface PretrainConfig {
  /** Passes over the training samples. */
  epochs: number;
  /** Samples per batch. */
  batchSize: number;
  /** Adam learning rate. */
  lr: number;
  /** Adam β1, β2. */
  betas: [number, number];
  /** Adam weight decay. */
  weightDecay: number;
  /** Fraction of samples held out for validation, in [0, 0.9]. */
  valSplit: number;
  /** Size of the latent code. */
  latentDim: number;
  /**
   * Encoder channels per stride-2 convolution, the decoder mirroring them (absent: the seed's
   * [8, 16, 32, 64, 128]); their count is the depth.
   */
  channels?: number[];
  /** Slope of the leaky ReLUs, > 0 (absent: the seed's 0.02). */
  slope?: number;
  /** Per-sample normalisation of the spectrograms. */
  normalize: Normalize;
  /** Random seed of the weights, the validation split and the batch order. */
  seed: number;
}

/** Defaults (Adam lr 1e-3, batch 64, as the seed). */
export const PRETRAIN_DEFAULTS: PretrainConfig = {
  epochs: 30,
  batchSize: 64,
  lr: 1e-3,
  betas: [0.9, 0.999],
  weightDecay: 0,
  valSplit: 0,
  latentDim: 9,
  normalize: "maxabs",
  seed: 0,
};

/** Fewest Adam steps in which the seed autoencoder's codes reliably separate (see below). */
export const MIN_PRETRAIN_STEPS = 500;

/**
 * Warns when pretraining would take too few optimizer steps for the codes to form: a small
 * dataset at the default batch size gets a few steps per epoch (200 synthetic samples at batch
 * 64: 120 steps in 30 epochs, and the DEC pipeline reached ACC 0.52; at batch 8, 750 steps,
 * it reached 0.985).
 *
 * @param samples Samples in the dataset.
 * @param cfg The pretraining settings.
 * @returns a sentence to print as a warning, or null when the steps suffice.
 * @example
 * ```ts
 * import { PRETRAIN_DEFAULTS, pretrainStepsWarning } from "./pretrain.ts";
 * const w = pretrainStepsWarning(200, PRETRAIN_DEFAULTS);
 * if (!w?.includes("--batch-size 8")) throw new Error(String(w));
 * if (pretrainStepsWarning(20_000, PRETRAIN_DEFAULTS) !== null) throw new Error();
 * // Enough steps only at batch 1: more epochs is the advice, not one sample a step.
 * const e = pretrainStepsWarning(303, { ...PRETRAIN_DEFAULTS, epochs: 3, batchSize: 8 });
 * if (!e?.endsWith("give --epochs 14")) throw new Error(String(e));
 * if (!e.includes("(3 epochs of 38 batches of 8 from ")) throw new Error(e); // not "epoches"
 * ```
 */
export function pretrainStepsWarning(samples: number, cfg: PretrainConfig): string | null {
  const train = samples - Math.round(samples * cfg.valSplit);
  if (train <= 0) return null;
  const steps = (bs: number) => cfg.epochs * Math.ceil(train / bs);
  if (steps(cfg.batchSize) >= MIN_PRETRAIN_STEPS) return null;
  let bs = cfg.batchSize;
  while (bs > 1 && steps(bs) < MIN_PRETRAIN_STEPS) bs = Math.max(1, Math.floor(bs / 2));
  const epochs = Math.ceil(MIN_PRETRAIN_STEPS / Math.ceil(train / cfg.batchSize));
  // A batch below 4 (one sample a step) is not advice worth giving: more epochs instead.
  const smaller = steps(bs) >= MIN_PRETRAIN_STEPS && bs >= 4
    ? `--batch-size ${bs} (${steps(bs)} steps) or `
    : "";
  const plural = (n: number, what: string) =>
    `${n} ${what}${n === 1 ? "" : /(tch|sh|ss|x)$/.test(what) ? "es" : "s"}`;
  const batches = Math.ceil(train / cfg.batchSize);
  // A batch holds at most the samples there are.
  const size = Math.min(cfg.batchSize, train);
  return `pretraining takes only ${plural(steps(cfg.batchSize), "Adam step")} (` +
    `${plural(cfg.epochs, "epoch")} of ${plural(batches, "batch")} of ${size} from ${train} ` +
    `samples): the latent codes may not separate the classes; give ${smaller}--epochs ${epochs}`;
}

/** One row of the learning curve. */
export interface EpochRecord {
  /** The epoch, from 1. */
  epoch: number;
  /** Mean training MSE over the epoch. */
  trainLoss: number;
  /** Validation MSE; null without a validation split. */
  valLoss: number | null;
  /** Wall time of the epoch, s. */
  seconds: number;
  /** Training throughput, samples/s. */
  samplesPerSec: number;
}

/** `model.json` of a model directory. */
export interface ModelInfo {
  /** File format tag. */
  format: "seisdec-model";
  /** Format version. */
  version: 1;
  /** The autoencoder's configuration. */
  autoencoder: Required<AutoencoderConfig>;
  /** Per-sample normalisation the model was trained with. */
  normalize: Normalize;
  /** Path of the dataset trained on, when given. */
  dataset?: string;
  /**
   * The scaling of the spectrograms trained on (the dataset's `meta.json` `scaling`: `db`,
   * `log10`, `psd`, ...), when known: a dataset of another scaling is refused.
   */
  scaling?: string;
  /**
   * The settings that made the training dataset's values ({@linkcode DatasetLike.settings}:
   * its processing, spectrogram and axes), when known: a dataset made otherwise gets a warning
   * naming the fields that differ where the model is applied to it (absent in older model
   * directories).
   */
  datasetSettings?: Record<string, string>;
  /**
   * Pretraining settings, the epochs done and the digest of the autoencoder.safetensors they
   * made (`weights`; absent in older model directories).
   */
  pretrain?: PretrainConfig & {
    epochsDone: number;
    weights?: string;
    /** Absolute path of the dataset pretrained on, when known (absent in older models). */
    dataset?: string;
    /** Its {@linkcode datasetFingerprint} (absent in older models). */
    datasetFingerprint?: string;
    /** The software that finished it (absent in older models). */
    software?: Software;
    /** Other software that ran part of it before a resume ({@linkcode runsRecord}). */
    softwareBefore?: (Software | null)[];
  };
  /**
   * Record of the centre initialisation: its settings, `weights` (the digest of
   * centroids.safetensors), `dataset` (absolute path, when known) and `datasetFingerprint` of
   * the dataset encoded, which may be another than pretrain's.
   */
  init?: Record<string, unknown>;
  /** Record of the fine-tuning, with `weights`, `dataset` and `datasetFingerprint` as init's. */
  finetune?: Record<string, unknown>;
}

interface TrainState {
  epoch: number;
  rng: number[];
  adamStep: number;
  trainIdx: number[];
  valIdx: number[];
  history: EpochRecord[];
  config: PretrainConfig;
  /** {@linkcode datasetFingerprint} of the dataset trained on (absent in older checkpoints). */
  dataset?: string;
  /** {@linkcode datasetDigest} of its values (absent in older checkpoints). */
  datasetDigest?: string;
  /**
   * The settings that made the dataset's values ({@linkcode DatasetLike.settings}; absent in
   * older checkpoints and for datasets that do not tell them).
   */
  datasetSettings?: Record<string, string>;
  /**
   * A checkpoint taken inside an epoch (`checkpointEvery`): the steps of epoch `epoch + 1`
   * done, their loss sum, the RNG state before the epoch's shuffle (which the resume repeats)
   * and the seconds it had run. Absent at an epoch's end.
   */
  step?: number;
  lossSum?: number;
  epochRng?: number[];
  epochSeconds?: number;
  /** The loss of the run's first step (absent in older checkpoints), for the divergence warning. */
  firstLoss?: number;
  /** The software of the runs that wrote this checkpoint ({@linkcode withRun}; absent in older ones). */
  software?: (Software | null)[];
}

/** A count or an index in a checkpoint's state. */
export const countSchema = z.number().int().min(0);
const count = countSchema;
const word = z.number().int().min(0).max(2 ** 32 - 1);
/** `Rng.getState()` as JSON: four state words, then the spare normal (NaN, saved as null). */
export const rngStateSchema = z.tuple([word, word, word, word, z.number().nullable()])
  .transform((s) => s.map((v) => v ?? NaN));

/** What `checkpoint/state.json` must hold (the config is compared field by field later). */
const trainStateSchema: z.ZodType<TrainState> = z.looseObject({
  epoch: count,
  rng: rngStateSchema,
  adamStep: count,
  trainIdx: z.array(count),
  valIdx: z.array(count),
  history: z.array(z.looseObject({
    epoch: count,
    trainLoss: z.number(),
    valLoss: z.number().nullable(),
    seconds: z.number(),
    samplesPerSec: z.number().nullable().transform((v) => v ?? NaN),
  })),
  config: z.looseObject({}).transform((c) => c as unknown as PretrainConfig),
  dataset: z.string().optional(),
  datasetDigest: z.string().optional(),
  datasetSettings: z.record(z.string(), z.string()).optional(),
  step: count.optional(),
  lossSum: z.number().optional(),
  epochRng: rngStateSchema.optional(),
  epochSeconds: z.number().optional(),
  firstLoss: z.number().optional(),
});

/** Hooks for progress reporting. */
export interface PretrainHooks {
  /**
   * Called as each epoch starts, before its first step is read or submitted, with the 1-based
   * epoch, its number of steps and those of its steps done before (by the run a checkpoint
   * inside the epoch resumes; else 0): a progress bar made here times the first step too.
   */
  onEpochStart?(epoch: number, stepsPerEpoch: number, stepsDone?: number): void;
  /** Called after every step, with the 1-based step in the epoch and its loss. */
  onStep?(step: number, stepsPerEpoch: number, loss: number): void;
  /** Called after every epoch. */
  onEpoch?(r: EpochRecord): void;
  /** Stop after this many epochs of this call (for tests of resume). */
  stopAfterEpochs?: number;
  /**
   * Stop after this many steps of this call, with a checkpoint inside the epoch, as a time-based
   * one (`checkpointEvery`) would leave it (for tests of resume).
   */
  stopAfterSteps?: number;
  /** Called after a checkpoint inside an epoch, with the 1-based epoch and the steps done. */
  onCheckpoint?(epoch: number, step: number): void;
}

/**
 * Samples per inference pass (encoding, assignment) of a model on a backend: the backend's
 * {@linkcode passBatch}, lowered to the most whose activations each fit one tensor of the
 * adapter ({@linkcode bindingLimit}: large spectrograms on a 128 MiB adapter).
 *
 * @param ae The autoencoder.
 * @param device Backend (initialised).
 * @returns the batch size, ≥ 1.
 * @throws {UserError} where not even one sample's activations fit the adapter.
 */
export function inferBatchFor(ae: ConvAutoencoder, device: Device): number {
  const most = ae.maxBatch(bindingLimit(device));
  if (most === 0) {
    throw new UserError(
      `Cannot run the model on this adapter: ${
        ae.batchOverLimit(1, tensorLimitOf(device))!.reason
      }: ` +
        TOO_BIG_ADVICE,
    );
  }
  return Math.min(passBatch(device), most);
}

/** What to do where one sample does not fit the adapter. */
const TOO_BIG_ADVICE = "run it on the CPU backend (--cpu), or make the spectrograms smaller " +
  "(a narrower crop in time or frequency, a larger STFT hop)";

/**
 * Refuses a training batch whose largest activation would not fit one tensor of the adapter
 * (one buffer, bound whole: `maxStorageBufferBindingSize` and `maxBufferSize`), before any
 * work, naming the limit and the largest batch that fits.
 *
 * @param ae The autoencoder.
 * @param batch Samples per training step (the flag's value, or the dataset's size if smaller).
 * @param device Backend (initialised).
 * @param what What is being run, e.g. "pretrain".
 * @param asked The `--batch-size` given, for the message (default `batch`).
 * @throws {UserError} when the batch is too large.
 */
export function checkTrainingBatch(
  ae: ConvAutoencoder,
  batch: number,
  device: Device,
  what: string,
  asked: number = batch,
): void {
  const over = ae.batchOverLimit(batch, tensorLimitOf(device));
  if (over) {
    throw new UserError(
      `Cannot ${what} with --batch-size ${asked}: ${over.reason}: ` +
        (over.most === 0 ? TOO_BIG_ADVICE : `use --batch-size ${over.most} or less`),
    );
  }
}

/**
 * Refuses an architecture one of whose parameters would not fit one tensor of the adapter
 * (the latent Linear's weight is latentDim × the last conv's features), before anything is
 * built: no batch size helps there, and `--latent-dim 100000` trained for seconds before it
 * failed with advice to lower the batch.
 *
 * @param config The architecture.
 * @param device Backend (initialised).
 * @param what What is being run, e.g. "pretrain".
 * @throws {UserError} naming the parameter, what sets its size, and the adapter's limit.
 */
export function checkParameterSizes(
  config: AutoencoderConfig,
  device: Device,
  what: string,
): void {
  const limit = tensorLimitOf(device);
  const bytes = (shape: number[]) => 4 * shape.reduce((a, b) => a * b, 1);
  const largest = autoencoderParamShapes(config)
    .reduce((a, b) => (bytes(b.shape) > bytes(a.shape) ? b : a));
  if (bytes(largest.shape) <= limit.bytes) return;
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  throw new UserError(
    `Cannot ${what}: the weight ${largest.name} [${largest.shape.join(", ")}] (${
      largest.from.filter((f) => f !== null).join("; ")
    }) is ${mib(bytes(largest.shape))} MiB, past this adapter's ${limit.name} (${
      mib(limit.bytes)
    } MiB) at any batch size: lower --latent-dim or the last of --channels, or make the ` +
      "spectrograms smaller (a narrower crop, a larger STFT hop), or train on the CPU backend " +
      "(--cpu)",
  );
}

/**
 * Pretrains the autoencoder on a dataset, writing into a model directory.
 *
 * @param ds Dataset.
 * @param dir Model directory (created).
 * @param cfg Settings.
 * @param opts `resume` continues from `dir/checkpoint` (at an epoch's end, or inside an epoch
 *   where a checkpoint was taken there); `device` picks the backend (default: the default
 *   backend, `setDefaultBackend` or SEISDEC_BACKEND, else WebGPU); `checkpointEvery`: seconds
 *   between checkpoints inside an epoch (0 or absent: at each epoch's end only); `force`: allow
 *   a run into a directory that holds outputs of init or finetune (centroids.safetensors,
 *   dec.safetensors, ...), which are deleted when new weights are written (new weights that
 *   equal the old, a finished checkpoint resumed, keep them). Without `force` such a directory
 *   is refused before any work, as the CLI refuses it without `--force`; `svg`: write
 *   learning_curve.svg beside learning_curve.png (else an older one is removed: it would be stale).
 * @returns the learning curve.
 * @throws {UserError} when `dir` holds outputs of the later stages and `force` is not set.
 */
export async function pretrain(
  ds: DatasetLike,
  dir: string,
  cfg: PretrainConfig,
  opts: {
    resume?: boolean;
    device?: Device;
    hooks?: PretrainHooks;
    datasetPath?: string;
    checkpointEvery?: number;
    force?: boolean;
    svg?: boolean;
  } = {},
): Promise<EpochRecord[]> {
  const device = opts.device ?? defaultBackend();
  cfg = checkSettings("pretrain", pretrainSchema as z.ZodType<PretrainConfig>, cfg);
  if (ds.count === 0) throw new UserError("Cannot pretrain: the dataset has no samples");
  if (!opts.force) await refuseDownstream(dir, "pretrain");
  await initBackend(device);
  const arch: AutoencoderConfig = {
    inputShape: [...ds.sampleShape],
    latentDim: cfg.latentDim,
    ...(cfg.channels !== undefined ? { channels: cfg.channels } : {}),
    ...(cfg.slope !== undefined ? { slope: cfg.slope } : {}),
  };
  checkParameterSizes(arch, device, "pretrain");
  await Deno.mkdir(dir, { recursive: true });
  const ae = new ConvAutoencoder(arch, cfg.seed);
  checkTrainingBatch(ae, Math.min(cfg.batchSize, ds.count), device, "pretrain", cfg.batchSize);
  const set = ae.build(device);
  const adam = new Adam(set, { lr: cfg.lr, betas: cfg.betas, weightDecay: cfg.weightDecay });
  // The model's and the optimizer's buffers go back to the pool however this ends (a refused
  // resume, a diverging loss), so that a long-lived caller does not lose them.
  try {
    const rng = new Rng(cfg.seed);
    let state: TrainState;
    const ckDir = join(dir, "checkpoint");
    if (opts.resume && await exists(join(ckDir, "state.json"))) {
      state = await readCheckpointState(ckDir, trainStateSchema, "pretrain");
      // The split holds every sample index once; older checkpoints have no fingerprint.
      const here = datasetFingerprint(ds);
      const split = new Uint8Array(ds.count);
      for (const i of [...state.trainIdx, ...state.valIdx]) if (i < ds.count) split[i]++;
      if (state.dataset === here && !split.every((c) => c === 1)) {
        throw new UserError(
          `Cannot resume from ${join(ckDir, "state.json")}: trainIdx and valIdx ` +
            `(${state.trainIdx.length} + ${state.valIdx.length} indices) do not hold each of the ` +
            `dataset's ${ds.count} samples once: expected a checkpoint as pretrain writes it ` +
            `(damaged or edited?): pass --force to start over`,
        );
      }
      if (
        state.trainIdx.length + state.valIdx.length !== ds.count ||
        (state.dataset !== undefined && state.dataset !== here)
      ) {
        throw new UserError(
          `Cannot resume pretraining in ${dir}: the checkpoint was trained on another dataset (${
            state.dataset ?? `${state.trainIdx.length + state.valIdx.length} samples`
          }; this one: ${here}): resume with the same dataset, or pass --force to start over`,
        );
      }
      // Same ids, other values: a dataset re-extracted with other settings.
      const redone = state.datasetSettings && ds.settings
        ? settingsChanges(state.datasetSettings, ds.settings)
        : [];
      if (redone.length) {
        throw new UserError(
          `Cannot resume pretraining in ${dir}: the dataset was made with other settings than ` +
            `the one the checkpoint was trained on (${redone.join("; ")}): resume with that ` +
            `dataset, or pass --force to start over`,
        );
      }
      // A resume stops where the checkpoint already is: fewer epochs would label its later
      // weights as an earlier epoch's (model.json said epochs 5, epochsDone 9).
      const reached = state.epoch + (state.step !== undefined ? 1 : 0);
      if (cfg.epochs < reached) {
        throw new UserError(
          `Cannot resume pretraining in ${dir}: the checkpoint is ${
            state.step !== undefined
              ? `inside epoch ${reached}`
              : `at the end of epoch ${state.epoch}`
          }, past --epochs ${cfg.epochs}: resume with --epochs ${reached} or more`,
        );
      }
      // Same ids and settings, other values: waveforms downloaded again, a response corrected,
      // another synthetic draw. One pass over the data, where training goes on from here.
      if (
        state.datasetDigest !== undefined && (cfg.epochs > state.epoch || state.step !== undefined)
      ) {
        const digest = datasetDigest(ds);
        if (state.datasetDigest !== digest) {
          throw new UserError(
            `Cannot resume pretraining in ${dir}: the dataset's values differ from those the ` +
              `checkpoint was trained on (the same ${ds.count} sample ids, other spectrograms: ` +
              `digest ${state.datasetDigest} then, ${digest} now): resume with that dataset, or ` +
              `pass --force to start over`,
          );
        }
      }
      // An older checkpoint learns its dataset now, so that later resumes check it.
      state.dataset ??= here;
      state.datasetSettings ??= ds.settings && { ...ds.settings };
      const changed = changedSettings(state.config, cfg);
      if (changed.length) {
        throw new UserError(
          `Cannot resume pretraining in ${dir}: the checkpoint was trained with other settings (${
            changed.join("; ")
          }): resume with the same settings (only --epochs may change), or pass --force to start over`,
        );
      }
      // The epochs this run trains to, for a later resume that gives none (as model.json's).
      state.config = { ...state.config, epochs: cfg.epochs };
      // Loaded once the checks pass: another architecture's weights would not fit the model.
      set.load((await loadWeights(join(ckDir, "weights.safetensors"))).weights, "checkpoint");
      const mom = (await loadWeights(join(ckDir, "adam.safetensors"))).weights;
      adam.load({
        kind: "adam",
        step: state.adamStep,
        buffers: [mom.get("m")!.data, mom.get("v")!.data],
      });
      rng.setState(state.rng);
    } else {
      const perm = [...rng.permutation(ds.count)];
      const nVal = Math.round(ds.count * cfg.valSplit);
      state = {
        epoch: 0,
        rng: rng.getState(),
        adamStep: 0,
        trainIdx: perm.slice(nVal),
        valIdx: perm.slice(0, nVal),
        history: [],
        config: cfg,
        dataset: datasetFingerprint(ds),
        datasetSettings: ds.settings && { ...ds.settings },
        software: [],
      };
      if (state.trainIdx.length === 0) {
        throw new RangeError(
          "Cannot pretrain: no training samples left after the validation split",
        );
      }
    }
    // Which software ran this stage: this run, and the runs before it that a resume continues.
    const here = await softwareOf(device);
    state.software = withRun(state.software, here);
    const info: ModelInfo = {
      format: "seisdec-model",
      version: 1,
      autoencoder: ae.config,
      normalize: cfg.normalize,
      dataset: datasetRecord(ds, opts.datasetPath).dataset,
      ...(scalingOf(ds) !== undefined ? { scaling: scalingOf(ds) } : {}),
      ...(ds.settings ? { datasetSettings: { ...ds.settings } } : {}),
    };
    const shape = ds.sampleShape;
    const bs = cfg.batchSize;
    let epochsThisCall = 0;
    let stepsThisCall = 0, stopped = false;
    const every = (opts.checkpointEvery ?? 0) * 1000;
    // The weights a checkpoint keeps must still give a finite loss: no step's loss measures the
    // update after it, and a learning rate far too high leaves weights of 1e30 whose codes are
    // NaN while every loss printed was finite.
    // The validation loss, where there is one, serves.
    const probe = async (where: string, valLoss: number | null = null) => {
      const v = valLoss ?? await evalLoss(ae, ds, state.trainIdx.slice(0, bs), cfg, device);
      if (!Number.isFinite(v)) {
        throw new UserError(
          `Cannot pretrain: the weights after ${where} give a loss of ${v} on the ${
            valLoss === null ? "first training batch" : "validation samples"
          }: lower --lr (${ckDir} keeps the last weights that gave a finite loss, if any)`,
        );
      }
    };
    while (state.epoch < cfg.epochs) {
      // Inside an epoch (a checkpoint taken there): its shuffle again from the RNG state before
      // it, and its steps, loss and time so far.
      const mid = state.step !== undefined && state.epochRng !== undefined;
      if (mid) rng.setState(state.epochRng!);
      const epochRng = rng.getState();
      const t0 = performance.now() - (mid ? (state.epochSeconds ?? 0) * 1000 : 0);
      const order = [...state.trainIdx];
      rng.shuffle(order);
      const steps = Math.ceil(order.length / bs);
      const start = mid ? Math.min(state.step!, steps) : 0;
      opts.hooks?.onEpochStart?.(state.epoch + 1, steps, start);
      let lossSum = mid ? state.lossSum ?? 0 : 0;
      let saved = performance.now();
      const saveInside = async (s: number) => {
        await probe(`step ${s} of epoch ${state.epoch + 1}`);
        Object.assign(state, {
          step: s,
          lossSum,
          epochRng,
          epochSeconds: (performance.now() - t0) / 1000,
          rng: rng.getState(),
          adamStep: adam.step,
        });
        await saveCheckpoint(ckDir, set.stateDict(), adam, state, ds);
        opts.hooks?.onCheckpoint?.(state.epoch + 1, s);
      };
      // Steps in flight: step s + 1 (up to s + depth) is read from disk, recorded and
      // submitted before step s's loss comes back (see lib/util/pipeline.ts). A checkpoint
      // inside the epoch first lets them all come back.
      const inFlight = new InFlight<number>(stepsInFlight(device));
      const issue = (s: number) => {
        const idx = order.slice(s * bs, (s + 1) * bs);
        const batch = readModelBatch(ds, idx, cfg.normalize, "pretrain");
        const loss = tidy(() => {
          const x = Tensor.fromArray(batch, [idx.length, ...shape], device);
          set.zeroGrad();
          const l = ae.reconstructionLoss(x);
          l.backward();
          adam.update();
          return l;
        });
        return loss.item().finally(() => loss.dispose());
      };
      const take = (v: number, s: number) => {
        if (!Number.isFinite(v)) {
          throw new UserError(
            `Cannot pretrain: loss became ${v} at epoch ${state.epoch + 1}, step ${
              s + 1
            }: lower --lr`,
          );
        }
        lossSum += v * Math.min(bs, order.length - s * bs);
        // The run's first loss (kept in the checkpoint), against which the last epoch's is held.
        state.firstLoss ??= v;
        opts.hooks?.onStep?.(s + 1, steps, v);
      };
      for (let s = start; s < steps; s++) {
        const stop = opts.hooks?.stopAfterSteps !== undefined &&
          stepsThisCall >= opts.hooks.stopAfterSteps;
        if (s > start && (stop || (every > 0 && performance.now() - saved >= every))) {
          await inFlight.settle();
          await saveInside(s);
          saved = performance.now();
        }
        if (stop) {
          stopped = true;
          break;
        }
        await inFlight.push(issue(s), (v) => take(v, s));
        stepsThisCall++;
      }
      await inFlight.settle();
      if (stopped) break;
      const valLoss = state.valIdx.length
        ? await evalLoss(ae, ds, state.valIdx, cfg, device)
        : null;
      const seconds = (performance.now() - t0) / 1000;
      await probe(`epoch ${state.epoch + 1}`, valLoss);
      state.epoch++;
      const rec: EpochRecord = {
        epoch: state.epoch,
        trainLoss: lossSum / order.length,
        valLoss,
        seconds,
        samplesPerSec: order.length / seconds,
      };
      state.history.push(rec);
      state.rng = rng.getState();
      state.adamStep = adam.step;
      for (const k of ["step", "lossSum", "epochRng", "epochSeconds"] as const) delete state[k];
      await saveCheckpoint(ckDir, set.stateDict(), adam, state, ds);
      await writeCurve(dir, state.history, opts.svg ?? false);
      opts.hooks?.onEpoch?.(rec);
      epochsThisCall++;
      if (opts.hooks?.stopAfterEpochs && epochsThisCall >= opts.hooks.stopAfterEpochs) break;
    }
    if (state.epoch >= cfg.epochs) {
      const last = state.history.at(-1)?.trainLoss, first = state.firstLoss;
      if (first !== undefined && first > 0 && last !== undefined && last > 10 * first) {
        // 3 significant digits, as the losses: a ratio of 2.2e28 printed in full is noise.
        const ratio = last / first;
        console.error(
          `warning: pretraining ends with a training loss of ${last.toPrecision(3)}, ` +
            `${ratio < 1e3 ? Math.round(ratio) : ratio.toPrecision(3)} times its first step's ` +
            `(${first.toPrecision(3)}): ` +
            `the weights diverged: lower --lr and pretrain again with --force`,
        );
      }
      const path = join(dir, "autoencoder.safetensors");
      const { bytes, digest: weights } = await encodeWeights(await set.stateDict(), {
        epochs: String(state.epoch),
      });
      // New encoder weights make the directory's centres and fine-tuned model stale. They go
      // only once the weights that replace them are on the disk beside the old ones, so that a
      // run stopped before (Ctrl-C, a crash, a lost device) or a write that fails (a full disk)
      // leaves the old model whole beside its checkpoint; and before the new weights take the
      // old ones' place, so that no crash leaves them beside old centres. They are set aside,
      // and put back where that rename fails (a directory at its path).
      const changed = weights !== await fileDigest(path);
      await writeFileAtomic(
        path,
        bytes,
        changed ? async () => setOutputsAside(dir, await downstreamOf(dir, "pretrain")) : undefined,
      );
      // The same weights again (a finished checkpoint resumed) keep the records of the stages
      // made from them.
      const { init, finetune } = !changed && await exists(join(dir, "model.json"))
        ? await readJson<ModelInfo>(dir, "model.json")
        : {};
      await writeJson(join(dir, "model.json"), {
        ...info,
        pretrain: {
          ...cfg,
          epochsDone: state.epoch,
          weights,
          ...datasetRecord(ds, opts.datasetPath),
          ...runsRecord(state.software, here),
        },
        init,
        finetune,
      });
    }
    return state.history;
  } finally {
    adam.dispose();
    set.dispose();
    releaseCachedMemory();
  }
}

/**
 * The settings of a resumed pretraining that differ from its checkpoint's, other than the
 * number of epochs (which a resume may raise).
 *
 * @returns "field: checkpoint → now" for each difference.
 */
function changedSettings(saved: PretrainConfig, now: PretrainConfig): string[] {
  const out: string[] = [];
  // The architecture's fields as built: absent (a checkpoint from before they could be set)
  // is the seed's.
  const built = (c: PretrainConfig) => ({
    ...c,
    channels: c.channels ?? [...SEED_CHANNELS],
    slope: c.slope ?? SEED_SLOPE,
  });
  const [was, is] = [built(saved), built(now)];
  for (const key of Object.keys(is) as (keyof PretrainConfig)[]) {
    if (key === "epochs") continue;
    const a = JSON.stringify(was[key]), b = JSON.stringify(is[key]);
    if (a !== b) out.push(`${key}: ${a} → ${b}`);
  }
  return out;
}

async function evalLoss(
  ae: ConvAutoencoder,
  ds: DatasetLike,
  idx: number[],
  cfg: PretrainConfig,
  device: Device,
): Promise<number> {
  let sum = 0;
  const bs = cfg.batchSize;
  await pipelined(Math.ceil(idx.length / bs), (s) => {
    const b = idx.slice(s * bs, (s + 1) * bs);
    const batch = readModelBatch(ds, b, cfg.normalize, "pretrain");
    const l = noGrad(() =>
      tidy(() => {
        const x = Tensor.fromArray(batch, [b.length, ...ds.sampleShape], device);
        return ae.reconstructionLoss(x);
      })
    );
    return l.item().then((v) => v * b.length).finally(() => l.dispose());
  }, (v) => {
    sum += v;
  }, passesInFlight(device));
  return sum / idx.length;
}

async function saveCheckpoint(
  ckDir: string,
  weights: Promise<Weights>,
  adam: Adam,
  state: TrainState,
  ds: DatasetLike,
): Promise<void> {
  // The dataset's digest, once, where the first checkpoint needs it (a pass over the data).
  state.datasetDigest ??= datasetDigest(ds);
  const st = await adam.state();
  const mom: Weights = new Map([
    ["m", { shape: [st.buffers[0].length], data: st.buffers[0] }],
    ["v", { shape: [st.buffers[1].length], data: st.buffers[1] }],
  ]);
  // One directory replaced in one step: state.json always names the weights beside it.
  await saveCheckpointDir(
    ckDir,
    { "weights.safetensors": await weights, "adam.safetensors": mom },
    state,
  );
}

async function writeCurve(dir: string, h: EpochRecord[], svg: boolean): Promise<void> {
  const csv = "epoch,train_loss,val_loss,seconds,samples_per_sec\n" +
    h.map((r) =>
      `${r.epoch},${r.trainLoss},${r.valLoss ?? ""},${r.seconds.toFixed(3)},${
        r.samplesPerSec.toFixed(2)
      }`
    )
      .join("\n") +
    "\n";
  await writeFileAtomic(join(dir, "learning_curve.csv"), csv);
  const series = [{ name: "train", x: h.map((r) => r.epoch), y: h.map((r) => r.trainLoss) }];
  if (h.some((r) => r.valLoss !== null)) {
    series.push({
      name: "validation",
      x: h.map((r) => r.epoch),
      y: h.map((r) => r.valLoss ?? NaN),
    });
  }
  if (h.length >= 1) {
    await writeFigure(
      join(dir, "learning_curve"),
      (format) =>
        lineChart(series, {
          format,
          title: "Autoencoder pretraining",
          xLabel: "epoch",
          yLabel: "MSE",
          logY: true,
        }),
      svg,
    );
  }
}

const positiveInt = z.number().int().min(1);
/** What the later stages need of `model.json`; other fields are kept as they are. */
const modelInfoSchema = z.object({
  format: z.literal("seisdec-model"),
  version: z.literal(1),
  autoencoder: z.object({
    inputShape: z.tuple([positiveInt, positiveInt, positiveInt]),
    latentDim: positiveInt,
    channels: z.array(positiveInt).min(1),
    slope: z.number(),
  }),
  normalize: z.enum(["maxabs", "l2", "minmax", "none"]),
});

/**
 * Reads and checks a model directory's `model.json`.
 *
 * @param dir Model directory.
 * @returns its contents.
 * @throws {UserError} naming the file and the first fields that are missing or wrong.
 */
export async function readModelInfo(dir: string): Promise<ModelInfo> {
  const info = await readJson<ModelInfo>(dir, "model.json");
  const r = modelInfoSchema.safeParse(info);
  if (!r.success) {
    const what = issueLines(modelInfoSchema, r.error).slice(0, 3);
    throw new UserError(
      `Cannot load ${join(dir, "model.json")}: ${what.join("; ")}: expected a model.json as ` +
        `pretrain writes it`,
    );
  }
  return info;
}

/**
 * Loads a pretrained (or fine-tuned) autoencoder from a model directory.
 *
 * @param dir Model directory.
 * @param device Backend.
 * @param file Weights file (default autoencoder.safetensors).
 * @param opts `scaled`: with init's latent scale; `sampleShape`: the dataset's [C, F, T], refused
 *   (before anything is built or loaded) when the model was trained on other samples.
 * @returns the model (built on `device`), its info and the digest of `file` as loaded
 *   (`sha256:...`, what `model.json`'s record of its stage holds, where it holds one).
 */
export async function loadAutoencoder(
  dir: string,
  device: Device,
  file = "autoencoder.safetensors",
  opts: { scaled?: boolean; sampleShape?: readonly number[]; dataset?: DatasetLike } = {},
): Promise<{ ae: ConvAutoencoder; info: ModelInfo; digest: string }> {
  await initBackend(device);
  const info = await readModelInfo(dir);
  const want = info.autoencoder.inputShape;
  const got = opts.sampleShape ?? opts.dataset?.sampleShape;
  if (got && (got.length !== want.length || got.some((v, i) => v !== want[i]))) {
    throw new UserError(
      `Cannot use model ${dir}: it was trained on samples [${want.join(", ")}]: the dataset's ` +
        `are [${got.join(", ")}]`,
    );
  }
  const scaling = opts.dataset && scalingOf(opts.dataset);
  if (info.scaling !== undefined && scaling !== undefined && scaling !== info.scaling) {
    throw new UserError(
      `Cannot use model ${dir}: it was trained on ${info.scaling} spectrograms: the dataset's ` +
        `are ${scaling} (extract it with --scaling ${info.scaling}, or train a model on it)`,
    );
  }
  const differ = info.datasetSettings && opts.dataset?.settings
    ? datasetDifferences(info.datasetSettings, opts.dataset.settings)
    : [];
  if (differ.length) {
    console.error(
      `warning: model ${dir} was trained on spectrograms made otherwise than this dataset's ` +
        `(${differ.slice(0, 4).join("; ")}${
          differ.length > 4 ? `; and ${differ.length - 4} more` : ""
        }): its rows and columns may not mean what the model learnt; extract the dataset as the ` +
        `training data was (info DIR shows both), or train a model on it`,
    );
  }
  // The network is built from model.json only once the weights files' headers hold its every
  // parameter with its shape: a model.json that declares another (or an enormous) network is
  // refused before anything is allocated for it.
  await checkArchitecture(dir, info, file);
  const ae = new ConvAutoencoder(info.autoencoder);
  const set = ae.build(device);
  const { weights, digest } = await loadWeights(join(dir, file));
  checkWeightsRecord(dir, info, file, digest);
  const own = new Map(
    [...weights].filter(([k]) => k.startsWith("encoder.") || k.startsWith("decoder.")),
  );
  const c = latentScale(info);
  const names = ae.latentParamNames();
  // Pretrained weights are stored as trained; `init` records the latent scale c it chose, and
  // fine-tuning works on the rescaled (functionally identical) model.
  if (opts.scaled && file === "autoencoder.safetensors" && c !== 1) {
    rescaleLatent(own, names, c, true);
  }
  // A DEC file holds the (rescaled) encoder only; fill the decoder from the pretrained weights.
  if (![...own.keys()].some((k) => k.startsWith("decoder."))) {
    const preFile = await loadWeights(join(dir, "autoencoder.safetensors"));
    checkWeightsRecord(dir, info, "autoencoder.safetensors", preFile.digest);
    const pre = preFile.weights;
    for (const [k, v] of pre) if (k.startsWith("decoder.")) own.set(k, v);
    if (c !== 1) rescaleLatent(own, names, c, false);
  }
  set.load(own, join(dir, file));
  return { ae, info, digest };
}

/**
 * Checks model.json's architecture against the tensor shapes in the header of the weights file
 * (read alone, not the data), before the network is built: every parameter the architecture
 * makes must be in the file with its shape, and the file may hold no other encoder or decoder
 * tensor. A file without the decoder (DEC's encoder-only dec.safetensors) is checked with
 * autoencoder.safetensors's decoder, as {@linkcode loadAutoencoder} fills it from there.
 *
 * @param dir Model directory.
 * @param info Its model.json.
 * @param file The weights file to load.
 * @throws {UserError} naming model.json's field, the file and the tensor that disagree.
 */
async function checkArchitecture(dir: string, info: ModelInfo, file: string): Promise<void> {
  const want = autoencoderParamShapes(info.autoencoder);
  const header = await readWeightsHeader(join(dir, file));
  const own = (k: string) => k.startsWith("encoder.") || k.startsWith("decoder.");
  const headers: [string, Map<string, { shape: number[] }>][] = [[file, header]];
  if (![...header.keys()].some((k) => k.startsWith("decoder."))) {
    const pre = "autoencoder.safetensors";
    headers.push([pre, file === pre ? header : await readWeightsHeader(join(dir, pre))]);
  }
  const cannot = `Cannot load model ${dir}`;
  const fix = `expected model.json and the weights of one model (as pretrain writes them)`;
  const n = info.autoencoder.channels.length;
  const depth = `model.json's channels has ${n} ${n === 1 ? "entry" : "entries"}`;
  for (const [i, [name, h]] of headers.entries()) {
    // The decoder's tensors come from the second file where there is one.
    const part = headers.length === 1 ? null : i === 0 ? "encoder." : "decoder.";
    const mine = (k: string) => part === null ? own(k) : k.startsWith(part);
    for (const p of want.filter((p) => mine(p.name))) {
      const got = h.get(p.name);
      if (!got) {
        throw new UserError(`${cannot}: ${depth} but ${name} has no ${p.name}: ${fix}`);
      }
      const shape = `${name}'s ${p.name} has shape [${got.shape.join(", ")}]`;
      if (got.shape.length !== p.shape.length) {
        throw new UserError(
          `${cannot}: ${shape}: model.json makes it [${p.shape.join(", ")}]: ${fix}`,
        );
      }
      const d = p.shape.findIndex((v, i) => v !== got.shape[i]);
      if (d >= 0) {
        const says = p.from[d] === null
          ? `3×3 kernels make ${p.name} [${p.shape.join(", ")}]`
          : `model.json's ${p.from[d]}`;
        throw new UserError(`${cannot}: ${says} but ${shape}: ${fix}`);
      }
    }
    const names = new Set(want.map((p) => p.name));
    const extra = [...h.keys()].find((k) => mine(k) && !names.has(k));
    if (extra !== undefined) {
      throw new UserError(
        `${cannot}: ${depth} but ${name} holds ${extra}, which that network does not have: ${fix}`,
      );
    }
  }
}

/**
 * What differs between the dataset a model was trained on and another, of what makes a
 * sample's values: the processing and spectrogram settings, the components and the axes (not
 * the input's format, the picks or the phase: a model may well cluster another catalogue's
 * events; the scaling is refused apart). Nothing where either does not say how it was made
 * (an imported array).
 *
 * @param trained The training dataset's settings (model.json's `datasetSettings`).
 * @param other The other dataset's.
 * @returns one `field: then → now` each.
 */
export function datasetDifferences(
  trained: Readonly<Record<string, string>>,
  other: Readonly<Record<string, string>>,
): string[] {
  const made = (f: string) =>
    /^(config\.(preprocess|spectrogram|rotate|gapTolerance)\b|components$|axes\.)/.test(f);
  const pick = (r: Readonly<Record<string, string>>) =>
    Object.fromEntries(Object.entries(r).filter(([f]) => made(f)));
  // A dataset that does not say how it was made (an imported array, its axes bin indices)
  // cannot be compared, nor one compared against it.
  const told = (r: Readonly<Record<string, string>>) =>
    Object.keys(r).some((f) => /^config\.(preprocess|spectrogram)\./.test(f));
  if (!told(trained) || !told(other)) return [];
  return settingsChanges(pick(trained), pick(other));
}

/** A dataset's spectrogram scaling, where it is known (a dataset on disk). */
function scalingOf(ds: DatasetLike): string | undefined {
  const s = ds.settings?.scaling;
  if (s === undefined) return undefined;
  try {
    const v = JSON.parse(s);
    return typeof v === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}

/** @returns the latent scale chosen by `init` (1 before init). */
export function latentScale(info: ModelInfo): number {
  const c = (info.init as { latentScale?: number } | undefined)?.latentScale;
  return typeof c === "number" && c > 0 ? c : 1;
}

/**
 * Checks that a model directory's centres or fine-tuned weights were finished together with
 * its `model.json`: each stage writes its weights and then `model.json`, and a run killed
 * between the two renames would leave weights that `model.json` does not describe (centres
 * for another latent scale, DEC weights with another alpha, or none recorded).
 *
 * @param dir Model directory.
 * @param info Its `model.json`.
 * @param file `centroids.safetensors` or `dec.safetensors`.
 * @param metadata That file's safetensors metadata.
 * @throws {UserError} naming the stage to run again.
 */
export function checkStageRecord(
  dir: string,
  info: ModelInfo,
  file: "centroids.safetensors" | "dec.safetensors",
  metadata: Record<string, string>,
  digest?: string,
): void {
  const stage = file === "dec.safetensors" ? "finetune" : "init";
  const fix = stage === "finetune"
    ? "fine-tuning did not finish: run finetune --resume (or finetune --force)"
    : "init did not finish: run init again";
  const ft = info.finetune as { alpha?: number; mode?: string } | undefined;
  if (stage === "finetune" && !ft) {
    throw new UserError(`Cannot use ${join(dir, file)}: model.json records no finetune: ${fix}`);
  }
  if (digest !== undefined) checkWeightsRecord(dir, info, file, digest);
  const want: Record<string, string> = { latentScale: String(latentScale(info)) };
  if (ft) Object.assign(want, { alpha: String(ft.alpha), mode: String(ft.mode) });
  for (const [key, value] of Object.entries(want)) {
    if (stage === "init" && key !== "latentScale") continue;
    // Files from before these fields were recorded carry none: nothing to compare.
    if (metadata[key] !== undefined && metadata[key] !== value) {
      throw new UserError(
        `Cannot use ${join(dir, file)}: it was written with ${key} ${metadata[key]}, model.json ` +
          `records ${value}: ${fix}`,
      );
    }
  }
}

/** The stage whose record in model.json names each weights file. */
const STAGE_OF: Record<string, "pretrain" | "init" | "finetune"> = {
  "autoencoder.safetensors": "pretrain",
  "centroids.safetensors": "init",
  "dec.safetensors": "finetune",
};

/**
 * Checks a weights file against the digest its stage recorded in `model.json` (`weights`), so
 * that weights `model.json` does not describe are refused: a run stopped between writing them
 * and writing `model.json`, or a file copied in from another model. Records without a digest
 * (older model directories, or written by other tools) are not checked.
 *
 * @param dir Model directory.
 * @param info Its `model.json`.
 * @param file The weights file's name.
 * @param digest Its digest ({@linkcode loadWeights}).
 * @throws {UserError} naming the stage to run again.
 */
export function checkWeightsRecord(
  dir: string,
  info: ModelInfo,
  file: string,
  digest: string,
): void {
  const stage = STAGE_OF[file];
  if (!stage) return;
  const recorded = (info[stage] as { weights?: unknown } | undefined)?.weights;
  if (typeof recorded !== "string" || recorded === digest) return;
  throw new UserError(
    `Cannot use ${join(dir, file)}: it is not the file model.json's ${stage} record describes ` +
      `(${digest.slice(0, 19)}…, recorded ${recorded.slice(0, 19)}…): ${stage} did not finish ` +
      `writing, or the file was replaced: run ${stage} again${
        stage === "finetune" ? " (finetune --force)" : stage === "pretrain" ? " (--force)" : ""
      }`,
  );
}

/**
 * Rescales the latent codes by c in place: the latent Linear's weight and bias ×c (when
 * `encoder`), the first decoder Linear's weight ×1/c (always). Leaky ReLU is positively
 * homogeneous, so the autoencoder computes the same reconstruction.
 */
export function rescaleLatent(
  w: Weights,
  names: { encoderWeight: string; encoderBias: string; decoderWeight: string },
  c: number,
  encoder: boolean,
): void {
  const mul = (name: string, f: number) => {
    const e = w.get(name);
    if (!e) return;
    w.set(name, { shape: e.shape, data: e.data.map((v) => v * f) });
  };
  if (encoder) {
    mul(names.encoderWeight, c);
    mul(names.encoderBias, c);
  }
  mul(names.decoderWeight, 1 / c);
}

/**
 * Encodes every sample (no gradients), in batches.
 *
 * @param ae The autoencoder.
 * @param ds Dataset.
 * @param normalize Normalisation used in training.
 * @param device Backend.
 * @param batchSize Samples per pass (default: {@linkcode inferBatchFor}).
 * @param onBatch Progress callback.
 * @returns latent codes [N, D].
 */
export async function encodeAll(
  ae: ConvAutoencoder,
  ds: DatasetLike,
  normalize: Normalize,
  device: Device,
  batchSize = inferBatchFor(ae, device),
  onBatch?: (done: number) => void,
): Promise<Float32Array> {
  const d = ae.config.latentDim;
  const out = new Float32Array(ds.count * d);
  await pipelined(Math.ceil(ds.count / batchSize), (b) => {
    const s = b * batchSize;
    const idx = Array.from({ length: Math.min(batchSize, ds.count - s) }, (_, i) => s + i);
    const batch = readModelBatch(ds, idx, normalize, "encode");
    const z = noGrad(() =>
      tidy(() => ae.encode(Tensor.fromArray(batch, [idx.length, ...ds.sampleShape], device)))
    );
    return z.data().finally(() => z.dispose());
  }, (v, b) => {
    out.set(v, b * batchSize * d);
    onBatch?.(v.length / d);
  }, passesInFlight(device));
  return out;
}
