/**
 * Deep Embedded Clustering: centre initialisation on the latent codes
 * (k-means or GMM), then fine-tuning of the encoder and the centres by
 * minimising KL(p‖q), with q the Student's t soft assignment and p the
 * sharpened target distribution. An IDEC mode keeps the decoder and
 * minimises MSE + γ·KL (Guo et al. 2017). Training stops when fewer than `tol` % of the hard
 * labels change between two checks.
 *
 * @module
 */
import { join } from "node:path";
import { gmmAsync, relativeRegCovar } from "./gmm.ts";
import { kmeansAsync, nearestCentres } from "./kmeans.ts";
import { K_SELECTION_FILES } from "./select_k.ts";
import {
  datasetDigest,
  datasetFingerprint,
  type DatasetLike,
  datasetRecord,
  type Normalize,
  readModelBatch,
  settingsChanges,
} from "./data.ts";
import {
  checkStageRecord,
  checkTrainingBatch,
  countSchema,
  encodeAll,
  inferBatchFor,
  latentScale as modelLatentScale,
  loadAutoencoder,
  readModelInfo,
  rngStateSchema,
} from "./pretrain.ts";
import type { ConvAutoencoder } from "../nn/autoencoder.ts";
import { Adam, Sgd } from "../optim/optimizers.ts";
import {
  backendOf,
  passesInFlight,
  releaseCachedMemory,
  softwareOf,
  stepsInFlight,
} from "../tensor/backends.ts";
import { runsRecord, type Software, withRun } from "../util/software.ts";
import {
  softAssign as cpuSoftAssign,
  targetDistribution as cpuTargetDistribution,
} from "../cpu/dec.ts";
import { axpby, decKlLoss, softAssign, targetDistribution } from "../tensor/ops.ts";
import { type Device, noGrad, Tensor, tidy } from "../tensor/tensor.ts";
import { Rng } from "../util/rng.ts";
import { InFlight, pipelined } from "../util/pipeline.ts";
import {
  downstreamOf,
  encodeWeights,
  exists,
  loadWeights,
  readCheckpointState,
  refuseDownstream,
  saveCheckpointDir,
  saveWeights,
  setOutputsAside,
  type Weights,
  writeJson,
} from "../io/checkpoint.ts";
import { UserError } from "../util/errors.ts";
import { defaultBackend } from "../backend.ts";
import { checkSettings, finetuneSchema, initSchema } from "./schemas.ts";
import { z } from "../deps.ts";
import { writeFileAtomic } from "../util/atomic.ts";

/** Centre initialisation settings. */
export interface InitConfig {
  /** Number of clusters. */
  k: number;
  /** Clustering of the latent codes: k-means or a Gaussian mixture. */
  method: "kmeans" | "gmm";
  /**
   * Restarts: k-means++ seedings, or for a GMM full EM runs (each from one k-means run), the
   * best kept. "auto" (INIT_DEFAULTS'): {@linkcode KMEANS_N_INIT} for k-means,
   * {@linkcode GMM_N_INIT} for a GMM, as the CLI's `init` ({@linkcode nInitOf}).
   */
  nInit: number | "auto";
  /** Maximum iterations per restart (Lloyd or EM). */
  maxIter: number;
  /** Convergence tolerance (k-means: relative centre shift; GMM: change of mean log-likelihood). */
  tol: number;
  /** GMM covariance: diagonal or full. */
  covariance: "diag" | "full";
  /**
   * "auto" rescales the latent codes (exactly, see rescaleLatent) so that the RMS distance
   * to the nearest centre is 1 when it is smaller; "none" keeps them as pretrained.
   */
  latentScale: "none" | "auto";
  /** Random seed. */
  seed: number;
}

/** Restarts of a GMM initialisation when none are asked for (each one a whole EM run). */
export const GMM_N_INIT = 10;

/** Restarts of a k-means initialisation when none are asked for (k-means++ seedings). */
export const KMEANS_N_INIT = 100;

/**
 * The restarts an initialisation runs: the configured number, or for "auto"
 * {@linkcode KMEANS_N_INIT} (100) for k-means and {@linkcode GMM_N_INIT} (10) for a GMM, whose
 * every restart is a whole EM run.
 *
 * @param cfg Settings.
 * @returns the restarts, ≥ 1.
 * @example
 * ```ts
 * import { INIT_DEFAULTS, nInitOf } from "./dec.ts";
 * if (nInitOf(INIT_DEFAULTS) !== 100) throw new Error();
 * if (nInitOf({ ...INIT_DEFAULTS, method: "gmm" }) !== 10) throw new Error();
 * if (nInitOf({ ...INIT_DEFAULTS, method: "gmm", nInit: 3 }) !== 3) throw new Error();
 * ```
 */
export function nInitOf(cfg: Pick<InitConfig, "method" | "nInit">): number {
  if (cfg.nInit !== "auto") return cfg.nInit;
  return cfg.method === "gmm" ? GMM_N_INIT : KMEANS_N_INIT;
}

/**
 * Defaults: k-means, n_init "auto" (100 for k-means, 10 for a GMM), max_iter 1000
 * (scikit-learn-like tol).
 */
export const INIT_DEFAULTS: InitConfig = {
  k: 5,
  method: "kmeans",
  nInit: "auto",
  maxIter: 1000,
  tol: 1e-4,
  covariance: "diag",
  latentScale: "none",
  seed: 0,
};

/** Result of {@linkcode initCentroids}. */
export interface InitResult {
  /** Centres, [K, D]. */
  centroids: Float32Array;
  /** Label of each sample, [N]. */
  labels: Int32Array;
  /** Latent codes, [N, D] (scaled with `latentScale`). */
  latent: Float32Array;
  /** k-means inertia or GMM mean log-likelihood. */
  score: number;
  /**
   * Mean over the samples of their largest soft assignment q (Student's t, α = 1, the
   * fine-tuning default) to the new centres, in the scaled latent space: 1/k when q is uniform,
   * 1 when every code sits on its centre. {@linkcode nearlyUniform} says when it is too flat.
   */
  meanMaxQ: number;
  /** The factor the codes and centres were scaled by (`latentScale`; 1: none). */
  latentScale: number;
  /**
   * GMM only: how many samples' posterior cluster is not their nearest mean's. `labels` are the
   * nearest means' (where DEC starts them), not the posteriors.
   */
  gmmMoved?: number;
}

/**
 * Whether soft assignments whose mean largest value is `meanMaxQ` over `k` clusters are nearly
 * uniform: within a tenth of the way from uniform (1/k) to certain (1). Then the codes lie so
 * close to the centres, against Student's t's unit width, that q hardly tells the clusters
 * apart and DEC has little to sharpen (measured: a 40-sample model pretrained for 3 epochs gave
 * q = 0.2500 for every sample and cluster at k = 4; `--latent-scale auto` gave 0.61–0.74).
 *
 * @param meanMaxQ Mean largest q per sample ({@linkcode InitResult.meanMaxQ}).
 * @param k Clusters.
 * @returns true when nearly uniform.
 * @example
 * ```ts
 * import { nearlyUniform } from "./dec.ts";
 * if (!nearlyUniform(0.2500, 4) || nearlyUniform(0.4, 5)) throw new Error();
 * // For k = 5 the line is at 0.2 + 0.1 × 0.8 = 0.28.
 * if (!nearlyUniform(0.279, 5) || nearlyUniform(0.281, 5)) throw new Error();
 * ```
 */
export function nearlyUniform(meanMaxQ: number, k: number): boolean {
  return k > 1 && meanMaxQ < 1 / k + 0.1 * (1 - 1 / k);
}

/**
 * `init --latent-scale auto`'s factor: codes smaller than Student's t's unit width are scaled
 * up so that the RMS distance to the nearest centre is 1 (Student's t with α = 1 has unit width,
 * and codes much smaller than that make q nearly uniform, which DEC then "sharpens" by pulling
 * clusters apart and merging them; measured on an undertrained synthetic-set model: ACC 0.665 →
 * 0.490 at Adam 1e-4 without, 0.665 kept with). Codes already that wide are left as they are
 * (1), and so are codes all at their centres. The rescaling is exact for the autoencoder (see
 * rescaleLatent).
 *
 * @param latent Codes [n, d].
 * @param centroids Centres [k, d].
 * @param n Samples.
 * @param k Centres.
 * @param d Dimensions.
 * @returns the factor, at least 1.
 * @example
 * ```ts
 * import { autoLatentScale } from "./dec.ts";
 * // Codes 0.5 from their centre are scaled by 2; codes 3 from it are left.
 * if (autoLatentScale([0.5, -0.5], [0], 2, 1, 1) !== 2) throw new Error();
 * if (autoLatentScale([3, -3], [0], 2, 1, 1) !== 1) throw new Error();
 * ```
 */
export function autoLatentScale(
  latent: ArrayLike<number>,
  centroids: ArrayLike<number>,
  n: number,
  k: number,
  d: number,
): number {
  let ss = 0;
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    for (let j = 0; j < k; j++) {
      let dd = 0;
      for (let t = 0; t < d; t++) dd += (latent[i * d + t] - centroids[j * d + t]) ** 2;
      best = Math.min(best, dd);
    }
    ss += best;
  }
  const rms = Math.sqrt(ss / n);
  return rms > 0 && rms < 1 ? 1 / rms : 1;
}

/**
 * The latent codes of a dataset under a model directory's pretrained encoder, as
 * {@linkcode initCentroids} clusters them.
 *
 * @param dir Model directory (with autoencoder.safetensors).
 * @param ds Dataset.
 * @param device Backend.
 * @param onBatch Called after every pass with the samples it encoded (a progress bar's tick).
 * @returns codes [N, D].
 */
export async function encodeForInit(
  dir: string,
  ds: DatasetLike,
  device: Device,
  onBatch?: (done: number) => void,
): Promise<Float32Array> {
  const { ae, info } = await loadAutoencoder(dir, device, undefined, { dataset: ds });
  try {
    return await encodeAll(ae, ds, info.normalize, device, undefined, onBatch);
  } finally {
    ae.params.dispose();
    releaseCachedMemory();
  }
}

/**
 * Encodes the dataset with the pretrained encoder and clusters the codes.
 *
 * @param dir Model directory (with autoencoder.safetensors).
 * @param ds Dataset.
 * @param cfg Settings.
 * @param device Backend (default: the default backend, `setDefaultBackend` or SEISDEC_BACKEND).
 * @param opts `latent`: the codes, when already computed ({@linkcode encodeForInit}; it is
 *   scaled in place with `latentScale`); `record`: fields added to `model.json`'s `init`;
 *   `onBatch`: called after every encoding pass with its sample count (not when `latent` is given);
 *   `datasetPath`: where `ds` was read from, recorded (absolute) in `model.json`'s `init` with
 *   its fingerprint (default: `ds.dir`);
 *   `force`: allow a directory that holds a fine-tuned model (dec.safetensors,
 *   finetune_checkpoint, finetune_log.csv), which new centres make stale and which is deleted.
 *   Without `force` such a directory is refused before any work, as the CLI refuses it without
 *   `--force`.
 * @returns centres [K, D], labels and the latent codes.
 * @throws {UserError} when `dir` holds outputs of finetune and `force` is not set.
 */
export async function initCentroids(
  dir: string,
  ds: DatasetLike,
  cfg: InitConfig,
  device: Device = defaultBackend(),
  opts: {
    latent?: Float32Array;
    record?: Record<string, unknown>;
    onBatch?: (done: number) => void;
    force?: boolean;
    datasetPath?: string;
  } = {},
): Promise<InitResult> {
  cfg = checkSettings("init", initSchema as z.ZodType<InitConfig>, cfg);
  if (!opts.force) await refuseDownstream(dir, "init");
  const latent = opts.latent ?? await encodeForInit(dir, ds, device, opts.onBatch);
  const d = (await readModelInfo(dir)).autoencoder.latentDim, n = ds.count;
  if (latent.length !== n * d) {
    throw new TypeError(
      `Cannot initialise centres: expected ${n} × ${d} latent values: found ${latent.length}`,
    );
  }
  if (cfg.k > n) {
    throw new RangeError(`Cannot initialise ${cfg.k} clusters: the dataset has only ${n} samples`);
  }
  let centroids: Float32Array, labels: Int32Array, score: number, gmmMoved: number | undefined;
  if (cfg.method === "kmeans") {
    const r = await kmeansAsync(latent, n, d, {
      k: cfg.k,
      nInit: nInitOf(cfg),
      maxIter: cfg.maxIter,
      tol: cfg.tol,
      seed: cfg.seed,
    });
    centroids = Float32Array.from(r.centers);
    labels = r.labels;
    score = r.inertia;
  } else {
    const r = await gmmAsync(latent, n, d, {
      k: cfg.k,
      covariance: cfg.covariance,
      // In proportion to the codes' spread: the fit must not depend on their scale.
      regCovar: relativeRegCovar(latent, n, d),
      maxIter: cfg.maxIter,
      tol: cfg.tol,
      nInit: nInitOf(cfg),
      seed: cfg.seed,
    });
    centroids = Float32Array.from(r.means);
    // The labels DEC starts from (and cluster --stage init gives): each code's nearest mean,
    // which is where Student's t puts it; the posteriors weigh covariances and weights that do
    // not carry over. How many differ is reported.
    labels = nearestCentres(latent, centroids, n, d);
    gmmMoved = labels.reduce((m, l, i) => m + (l !== r.labels[i] ? 1 : 0), 0);
    score = r.logLikelihood;
  }
  const latentScale = cfg.latentScale === "auto"
    ? autoLatentScale(latent, centroids, n, cfg.k, d)
    : 1;
  for (let i = 0; i < centroids.length; i++) centroids[i] *= latentScale;
  for (let i = 0; i < latent.length; i++) latent[i] *= latentScale;
  // A fine-tuned model (and its checkpoint) from the old centres is stale now, and so is their
  // k selection: they go once the new centres are on the disk beside the old ones, after the
  // fits, so that a run stopped before (Ctrl-C in the fit of 100 restarts) or a write that
  // fails (a full disk) leaves the old centres with both, and before the new centres take the
  // old ones' place (set aside, and put back where that rename fails); a caller writes a new k
  // selection after.
  const { bytes, digest: weights } = await encodeWeights(
    new Map([["centroids", { shape: [cfg.k, d], data: centroids }]]),
    { method: cfg.method, latentScale: String(latentScale) },
  );
  await writeFileAtomic(
    join(dir, "centroids.safetensors"),
    bytes,
    async () => setOutputsAside(dir, await downstreamOf(dir, "init"), K_SELECTION_FILES),
  );
  // Read after setOutputsAside, which drops the stale finetune record from model.json.
  const mi = await readModelInfo(dir);
  await writeJson(join(dir, "model.json"), {
    ...mi,
    init: {
      ...cfg,
      nInit: nInitOf(cfg),
      score,
      latentScale,
      ...opts.record,
      weights,
      ...datasetRecord(ds, opts.datasetPath),
      software: await softwareOf(device),
    },
  });
  // Mean largest soft assignment (Student's t, α = 1) to the centres, as DEC will start.
  const q = cpuSoftAssign(latent, centroids, n, cfg.k, d, 1);
  let sumMax = 0;
  for (let i = 0; i < n; i++) sumMax += Math.max(...q.subarray(i * cfg.k, (i + 1) * cfg.k));
  const meanMaxQ = n ? sumMax / n : 1;
  return { centroids, labels, latent, score, meanMaxQ, latentScale, gmmMoved };
}

/** Fine-tuning settings. */
export interface FinetuneConfig {
  /** "dec": encoder + centres; "idec": also the decoder, loss MSE + γ·KL (Guo et al. 2017). */
  mode: "dec" | "idec";
  /** Student's t degrees of freedom. */
  alpha: number;
  /** "dataset": p over the whole dataset every updateInterval batches (DEC paper); "batch": p per batch (seed). */
  target: "dataset" | "batch";
  /**
   * Batches between label checks (and target updates with target "dataset"); "auto": 140 (the
   * DEC paper's) or one epoch, whichever is shorter ({@linkcode updateIntervalOf}).
   */
  updateInterval: number | "auto";
  /** Stop when fewer than tol % of labels change between checks. */
  tol: number;
  /**
   * Batches before that test may stop training (default 140, the DEC paper's interval): with
   * the short intervals of "auto" on a small set, the first check after one epoch at lr 1e-5
   * finds next to no label changed, and DEC would stop before it has moved (on the demo's 200
   * samples: after 4 batches, ACC 0.980 kept; run to 140 batches: 0.985).
   */
  minIter: number;
  /** Most iterations (batches) to run. */
  maxIter: number;
  /** Samples per batch. */
  batchSize: number;
  /** Optimizer of the encoder and centres. */
  optimizer: "adam" | "sgd";
  /** Learning rate. */
  lr: number;
  /** SGD momentum (unused by Adam). */
  momentum: number;
  /** Weight γ of the KL term in IDEC's loss (unused by "dec"). */
  gamma: number;
  /** Random seed of the batch order. */
  seed: number;
  /** A cluster holding more than this fraction of samples triggers a collapse warning. */
  collapseFraction: number;
}

/**
 * The update interval a fine-tuning uses: the configured one, or for "auto" 140 batches (the
 * DEC paper's, chosen for MNIST's 70,000 samples: half an epoch at batch 256) or one epoch,
 * whichever is shorter. On a small set 140 batches are many epochs with a stale target p: on
 * the 303 ESEC traces at batch 64 (28 epochs per update) DEC drifted from ACC 0.604 at its
 * k-means initialisation to 0.502 in 1,400 batches, one cluster shrinking from 95 to 19
 * members; with one epoch (5 batches) it converged after 35 batches and kept 0.604.
 *
 * @param cfg Settings.
 * @param n Samples.
 * @returns batches between label checks.
 * @example
 * ```ts
 * import { FINETUNE_DEFAULTS, updateIntervalOf } from "./dec.ts";
 * if (updateIntervalOf(FINETUNE_DEFAULTS, 303) !== 5) throw new Error(); // batch 64
 * if (updateIntervalOf(FINETUNE_DEFAULTS, 70000) !== 140) throw new Error();
 * ```
 */
export function updateIntervalOf(cfg: FinetuneConfig, n: number): number {
  if (cfg.updateInterval !== "auto") return cfg.updateInterval;
  return Math.max(1, Math.min(140, Math.ceil(n / cfg.batchSize)));
}

/**
 * Defaults: update interval "auto" (140 batches as in the DEC paper, or one epoch when that
 * is shorter) and tol 0.1 % (DEC paper); Adam at lr 1e-5.
 * Adam normalises step sizes, so with the small KL gradients every weight still moves
 * about lr per step: at 1e-4 the encoder drifts away from the pretrained codes (ACC fell
 * on the synthetic set), at 1e-5 DEC sharpened the clusters without collapsing them.
 */
export const FINETUNE_DEFAULTS: FinetuneConfig = {
  mode: "dec",
  alpha: 1,
  target: "dataset",
  updateInterval: "auto",
  tol: 0.1,
  minIter: 140,
  maxIter: 20000,
  batchSize: 64,
  optimizer: "adam",
  lr: 1e-5,
  momentum: 0.9,
  gamma: 0.1,
  seed: 0,
  collapseFraction: 0.9,
};

/**
 * A cluster that falls below this fraction of its size at the run's first check, from at least
 * 1 % of the samples, is said to shrink (once): DEC absorbing a cluster of the initialisation.
 */
export const SHRINK_WARN_FRACTION = 0.25;

/**
 * The warnings of one label check: every empty cluster, a cluster above `collapseFraction` of
 * the samples, and, once per cluster (recorded in `shrunk`), one that fell below
 * {@linkcode SHRINK_WARN_FRACTION} of its size at the run's first check from at least 1 % of
 * the samples.
 *
 * @param sizes Cluster sizes now.
 * @param first Cluster sizes at the run's first check.
 * @param shrunk Clusters already said to shrink (updated).
 * @param collapseFraction The config's `collapseFraction`.
 * @param iteration The batch count, for the messages.
 * @returns the messages.
 * @example
 * ```ts
 * import { clusterSizeWarnings } from "./dec.ts";
 * const shrunk = new Set<number>();
 * const m = clusterSizeWarnings([14, 500, 486], [270, 400, 330], shrunk, 0.9, 1700);
 * if (m.length !== 1 || !m[0].startsWith("cluster 0 has shrunk to 14 samples from 270")) {
 *   throw new Error(m.join("; "));
 * }
 * if (clusterSizeWarnings([10, 500, 490], [270, 400, 330], shrunk, 0.9, 1763).length) {
 *   throw new Error("said twice");
 * }
 * ```
 */
export function clusterSizeWarnings(
  sizes: readonly number[],
  first: readonly number[],
  shrunk: Set<number>,
  collapseFraction: number,
  iteration: number,
): string[] {
  const n = sizes.reduce((a, b) => a + b, 0), k = sizes.length;
  const out: string[] = [];
  sizes.forEach((s, j) => {
    if (s === 0) out.push(`cluster ${j} is empty at iteration ${iteration}`);
    else if (k > 1 && s > collapseFraction * n) {
      out.push(
        `cluster ${j} holds ${
          (100 * s / n).toFixed(1)
        } % of the samples at iteration ${iteration}: the clustering may be collapsing`,
      );
    }
    const was = first[j] ?? 0;
    if (
      !shrunk.has(j) && s > 0 && was >= 0.01 * n && s < SHRINK_WARN_FRACTION * was
    ) {
      shrunk.add(j);
      out.push(
        `cluster ${j} has shrunk to ${s} samples from ${was} at the start of fine-tuning (${
          (100 * s / was).toFixed(0)
        } %) at iteration ${iteration}: DEC is absorbing it into others; compare with ` +
          "`cluster --stage init`, or stop earlier (--max-iter)",
      );
    }
  });
  return out;
}

/** One check of the fine-tuning log. */
export interface FinetuneRecord {
  /** Iteration (batches done) at the check. */
  iteration: number;
  /** Loss of the last batch before the check (NaN at iteration 0). */
  loss: number;
  /** Fraction of labels changed since the previous check, in %; null at the first check. */
  changedPct: number | null;
  /** Samples per cluster. */
  sizes: number[];
}

/** Progress and warning hooks. */
export interface FinetuneHooks {
  /** Called once, with the first iteration to run (above 0 when resuming). */
  onStart?(iteration: number, maxIter: number): void;
  /** Called at every label check. */
  onCheck?(r: FinetuneRecord): void;
  /** Called with warnings (empty or collapsing clusters). */
  onWarn?(msg: string): void;
  /** Called after every batch, with the 1-based iteration and its loss. */
  onStep?(iteration: number, maxIter: number, loss: number): void;
  /**
   * Called during each label check's pass over the whole dataset, after every batch of it, with
   * the samples assigned so far and the dataset's size (a pass can take minutes on a large set).
   */
  onAssign?(done: number, total: number): void;
}

/** Fine-tuning options besides the settings. */
export interface FinetuneOptions {
  /**
   * Continue from `finetune_checkpoint/` (written before every label check) instead of
   * starting from the pretrained weights and the initial centres.
   */
  resume?: boolean;
  /** Stop after this many iterations of this call, as an interruption would (for tests). */
  stopAfter?: number;
  /**
   * Where the dataset was read from, recorded (absolute) in `model.json`'s `finetune` with its
   * fingerprint (default: the dataset's own `dir`).
   */
  datasetPath?: string;
}

/** What `finetune_checkpoint/state.json` holds. */
interface FinetuneState {
  format: "seisdec-finetune-checkpoint";
  /** The next iteration to run. */
  iteration: number;
  /** RNG state before the current permutation was drawn, and the position in it. */
  rngAtPermutation: number[];
  position: number;
  lastLoss: number | null;
  optimizerStep: number;
  /** Labels of the last check (in labels.safetensors). */
  hasLabels: boolean;
  /** The target distribution p of the last check (in target.safetensors). */
  hasTarget: boolean;
  log: { iteration: number; loss: number | null; changedPct: number | null; sizes: number[] }[];
  samples: number;
  /** {@linkcode datasetFingerprint} of the dataset (absent in older checkpoints). */
  dataset?: string;
  /** {@linkcode datasetDigest} of its values (absent in older checkpoints). */
  datasetDigest?: string;
  /**
   * The settings that made the dataset's values ({@linkcode DatasetLike.settings}; absent in
   * older checkpoints and for datasets that do not tell them).
   */
  datasetSettings?: Record<string, string>;
  config: FinetuneConfig;
  /** The software of the runs that wrote this checkpoint ({@linkcode withRun}; absent in older ones). */
  software?: (Software | null)[];
}

const count = countSchema;
const nanable = z.number().nullable();

/** What `finetune_checkpoint/state.json` must hold (the config is compared field by field). */
const finetuneStateSchema: z.ZodType<FinetuneState> = z.looseObject({
  format: z.literal("seisdec-finetune-checkpoint"),
  iteration: count,
  rngAtPermutation: rngStateSchema,
  position: count,
  lastLoss: nanable,
  optimizerStep: count,
  hasLabels: z.boolean(),
  hasTarget: z.boolean(),
  log: z.array(z.looseObject({
    iteration: count,
    loss: nanable,
    changedPct: nanable,
    sizes: z.array(count),
  })),
  samples: count,
  dataset: z.string().optional(),
  datasetDigest: z.string().optional(),
  datasetSettings: z.record(z.string(), z.string()).optional(),
  config: z.looseObject({}).transform((c) => c as unknown as FinetuneConfig),
});

/** Settings a resumed fine-tuning may change: they do not alter the trajectory. */
const RESUMABLE_CHANGES: (keyof FinetuneConfig)[] = [
  "maxIter",
  "minIter",
  "tol",
  "collapseFraction",
];

const CHECKPOINT_DIR = "finetune_checkpoint";

/**
 * Runs DEC (or IDEC) fine-tuning from a model directory with centroids. Before every label
 * check (every `updateInterval` batches) and at the end, `finetune_checkpoint/` receives
 * the weights and centres, the optimizer state, the last check's labels, the iteration and
 * the RNG state, in one atomic step; with `resume` the run continues from there and ends
 * with exactly the weights and log of an uninterrupted run. Without `resume`, an older run's
 * checkpoint stays until this run's first one replaces it.
 *
 * @param dir Model directory (autoencoder.safetensors, centroids.safetensors).
 * @param ds Dataset.
 * @param cfg Settings.
 * @param device Backend (default: the default backend, `setDefaultBackend` or SEISDEC_BACKEND).
 * @param hooks Progress hooks.
 * @param opts Resume options.
 * @returns the check log, the final labels and whether the labels settled below `tol`.
 */
export async function finetune(
  dir: string,
  ds: DatasetLike,
  cfg: FinetuneConfig,
  device: Device = defaultBackend(),
  hooks: FinetuneHooks = {},
  opts: FinetuneOptions = {},
): Promise<{ log: FinetuneRecord[]; labels: Int32Array; converged: boolean }> {
  cfg = checkSettings("finetune", finetuneSchema as z.ZodType<FinetuneConfig>, cfg);
  if (!(await exists(join(dir, "centroids.safetensors")))) {
    await readModelInfo(dir); // a missing or mistyped directory is named as such
    throw new UserError(
      `Cannot fine-tune ${dir}: it holds no centroids.safetensors: run init first`,
    );
  }
  // A dataset of other samples is refused here, before any work.
  const { ae, info } = await loadAutoencoder(dir, device, "autoencoder.safetensors", {
    scaled: true,
    dataset: ds,
  });
  // The model's and the optimizer's buffers go back to the pool however this ends (refused
  // centres, a diverging loss).
  let opt: Adam | Sgd | undefined;
  try {
    const pre = await ae.params.stateDict();
    const cenFile = await loadWeights(join(dir, "centroids.safetensors"));
    checkStageRecord(dir, info, "centroids.safetensors", cenFile.metadata, cenFile.digest);
    const cen = cenFile.weights.get("centroids");
    if (!cen) {
      throw new TypeError(
        `Cannot fine-tune: ${dir}/centroids.safetensors has no 'centroids': run init first`,
      );
    }
    const [k, d] = cen.shape;
    if (d !== ae.config.latentDim) {
      throw new TypeError(
        `Cannot fine-tune: centroids have dimension ${d}: the encoder's latent size is ${ae.config.latentDim}`,
      );
    }
    checkTrainingBatch(ae, Math.min(cfg.batchSize, ds.count), device, "fine-tune", cfg.batchSize);
    // One arena for the encoder, decoder and centres: one optimizer dispatch per step.
    const set = ae.build(device, [{ name: "centroids", shape: [k, d], init: cen.data }]);
    set.load(new Map([...pre, ["centroids", cen]]));
    const mu = set.byName.get("centroids")!;
    // `opt` for the finally below; `optimizer`, never undefined, for the closures.
    const optimizer = opt = cfg.optimizer === "adam"
      ? new Adam(set, { lr: cfg.lr })
      : new Sgd(set, { lr: cfg.lr, momentum: cfg.momentum });
    const rng = new Rng(cfg.seed);
    const n = ds.count, shape = ds.sampleShape, norm: Normalize = info.normalize;
    const interval = updateIntervalOf(cfg, n);
    const ckDir = join(dir, CHECKPOINT_DIR);
    let log: FinetuneRecord[] = [];
    let prev: Int32Array | null = null;
    let pAll: Float32Array | null = null;
    let rngAtPermutation = rng.getState();
    let order = rng.permutation(n), pos = 0;
    let converged = false;
    let lastLoss = NaN;
    let start = 0;
    // Which software ran this stage: this run, and the runs before it that a resume continues.
    const here = await softwareOf(device);
    let runs = withRun([], here);
    // The dataset's digest, computed once (one pass over the data) where a checkpoint needs it.
    let digest: string | undefined;
    const digestOf = () => digest ??= datasetDigest(ds);
    if (opts.resume && await exists(join(ckDir, "state.json"))) {
      const st = await readCheckpointState(ckDir, finetuneStateSchema, "finetune");
      checkResumable(ckDir, st, cfg, n, datasetFingerprint(ds), ds.settings);
      // Same ids and settings, other values (waveforms downloaded again, another draw).
      if (st.datasetDigest !== undefined && st.datasetDigest !== digestOf()) {
        throw new UserError(
          `Cannot resume from ${ckDir}: the dataset's values differ from those it was ` +
            `fine-tuned on (the same ${n} sample ids, other spectrograms: digest ` +
            `${st.datasetDigest} then, ${digestOf()} now): resume with that dataset, or pass ` +
            `--force to start over`,
        );
      }
      runs = withRun(st.software, here);
      set.load((await loadWeights(join(ckDir, "weights.safetensors"))).weights, "checkpoint");
      const ob = (await loadWeights(join(ckDir, "optimizer.safetensors"))).weights;
      optimizer.load({
        kind: cfg.optimizer,
        step: st.optimizerStep,
        buffers: [...ob.keys()].sort().map((name) => ob.get(name)!.data),
      });
      if (st.hasLabels) {
        const l = (await loadWeights(join(ckDir, "labels.safetensors"))).weights.get("labels")!;
        prev = Int32Array.from(l.data);
      }
      if (st.hasTarget) {
        pAll = (await loadWeights(join(ckDir, "target.safetensors"))).weights.get("p")!.data;
      }
      rng.setState(st.rngAtPermutation);
      rngAtPermutation = st.rngAtPermutation;
      order = rng.permutation(n);
      pos = st.position;
      lastLoss = st.lastLoss ?? NaN;
      log = st.log.map((r) => ({ ...r, loss: r.loss ?? NaN }));
      start = st.iteration;
    } else {
      // Every sample is read first (the digest the checkpoints record): one that cannot be
      // used (NaN) refuses the run before it trains. An older run's checkpoint stays until this
      // run's first one replaces it (in one step, at the first label check after the start):
      // a run that fails before then leaves it, and model.json's record of its
      // dec.safetensors, for a resume.
      digestOf();
    }
    hooks.onStart?.(start, cfg.maxIter);

    const csv = (): string =>
      [
        "iteration,loss,changed_pct,sizes",
        ...log.map((r) =>
          `${r.iteration},${Number.isFinite(r.loss) ? r.loss : ""},${r.changedPct ?? ""},${
            r.sizes.join(" ")
          }`
        ),
      ].join("\n") + "\n";

    const save = async (iteration: number): Promise<void> => {
      const os = await optimizer.state();
      const ob: Weights = new Map(
        os.buffers.map((b, i) => [`b${i}`, { shape: [b.length], data: b }]),
      );
      const weights = await set.stateDict();
      // A step can leave weights that are not finite while its loss was (a learning rate far
      // too high): kept, a resume would refuse them, and the label check failed on NaN codes.
      for (const [name, t] of weights) {
        const bad = t.data.findIndex((v) => !Number.isFinite(v));
        if (bad >= 0) {
          throw new UserError(
            `Cannot fine-tune: the weights after iteration ${iteration} are not finite (${name} ` +
              `holds ${t.data[bad]}): lower --lr (${ckDir} keeps the last finite ones, if any)`,
          );
        }
      }
      const files: Record<string, Weights> = {
        "weights.safetensors": weights,
        "optimizer.safetensors": ob,
      };
      if (prev) {
        files["labels.safetensors"] = new Map([["labels", {
          shape: [n],
          data: Float32Array.from(prev),
        }]]);
      }
      // The stored target p: a run resumed between two checks (after an earlier --max-iter)
      // goes on with the p of the last check, as the uninterrupted run does.
      if (pAll) files["target.safetensors"] = new Map([["p", { shape: [n, k], data: pAll }]]);
      const st: FinetuneState = {
        format: "seisdec-finetune-checkpoint",
        iteration,
        rngAtPermutation,
        position: pos,
        lastLoss: Number.isFinite(lastLoss) ? lastLoss : null,
        optimizerStep: os.step,
        hasLabels: prev !== null,
        hasTarget: pAll !== null,
        log: log.map((r) => ({ ...r, loss: Number.isFinite(r.loss) ? r.loss : null })),
        samples: n,
        dataset: datasetFingerprint(ds),
        datasetDigest: digestOf(),
        datasetSettings: ds.settings && { ...ds.settings },
        config: cfg,
        software: runs,
      };
      await saveCheckpointDir(ckDir, files, st);
      await writeFileAtomic(join(dir, "finetune_log.csv"), csv());
    };

    // The cluster sizes at this run's first check, and the clusters already said to shrink.
    let firstSizes: number[] | null = null;
    const shrunk = new Set<number>();
    const check = async (iteration: number): Promise<boolean> => {
      let assigned = 0;
      const { q, labels } = await assignAll(ae, mu, ds, norm, cfg.alpha, device, undefined, (m) => {
        assigned += m;
        hooks.onAssign?.(assigned, n);
      });
      // p over the whole dataset on the host (N×K is small), with the Float64 reference.
      if (cfg.target === "dataset") pAll = Float32Array.from(cpuTargetDistribution(q, n, k));
      const sizes = new Array(k).fill(0);
      for (const l of labels) sizes[l]++;
      let changed = 0;
      if (prev) { for (let i = 0; i < n; i++) if (prev[i] !== labels[i]) changed++; }
      const rec: FinetuneRecord = {
        iteration,
        loss: lastLoss,
        changedPct: prev ? 100 * changed / n : null,
        sizes,
      };
      log.push(rec);
      hooks.onCheck?.(rec);
      firstSizes ??= sizes;
      for (
        const m of clusterSizeWarnings(sizes, firstSizes, shrunk, cfg.collapseFraction, iteration)
      ) {
        hooks.onWarn?.(m);
      }
      const stop = rec.changedPct !== null && rec.changedPct < cfg.tol && iteration >= cfg.minIter;
      prev = labels;
      return stop;
    };

    // Steps in flight: iteration it + 1 (up to it + depth) is recorded and submitted before
    // iteration it's loss is read back (see lib/util/pipeline.ts); a label check first drains
    // them.
    const inFlight = new InFlight<number>(stepsInFlight(device));
    let it = start;
    for (; it < cfg.maxIter; it++) {
      if (opts.stopAfter !== undefined && it - start >= opts.stopAfter) break;
      if (it % interval === 0) {
        await inFlight.settle();
        if (it !== start) await save(it);
        if (await check(it)) {
          converged = true;
          break;
        }
      }
      if (pos >= n) {
        rngAtPermutation = rng.getState();
        order = rng.permutation(n);
        pos = 0;
      }
      // The last batch of a pass is shorter when n is not a multiple of the batch size.
      const idx = [...order.subarray(pos, Math.min(n, pos + cfg.batchSize))];
      pos += idx.length;
      const batch = readModelBatch(ds, idx, norm, "finetune");
      let pBatch: Float32Array | null = null;
      if (cfg.target === "dataset") {
        pBatch = new Float32Array(idx.length * k);
        idx.forEach((i, b) => pBatch!.set(pAll!.subarray(i * k, (i + 1) * k), b * k));
      }
      const iteration = it;
      const loss = tidy(() => {
        const x = Tensor.fromArray(batch, [idx.length, ...shape], device);
        set.zeroGrad();
        const z = ae.encode(x);
        const p = pBatch
          ? Tensor.fromArray(pBatch, [idx.length, k], device)
          : noGrad(() => targetDistribution(softAssign(z, mu, cfg.alpha)));
        let l = decKlLoss(z, mu, p, cfg.alpha).loss;
        // IDEC (Guo et al. 2017): reconstruction MSE + γ · KL(p‖q).
        if (cfg.mode === "idec") l = axpby(ae.reconstructionLoss(x, z), l, 1, cfg.gamma);
        l.backward();
        optimizer.update();
        return l;
      });
      await inFlight.push(loss.item().finally(() => loss.dispose()), (v) => {
        lastLoss = v;
        hooks.onStep?.(iteration + 1, cfg.maxIter, v);
        if (!Number.isFinite(v)) {
          throw new UserError(
            `Cannot fine-tune: loss became ${v} at iteration ${iteration + 1}: lower --lr`,
          );
        }
      });
    }
    await inFlight.settle();
    if (opts.stopAfter !== undefined && it < cfg.maxIter && !converged) {
      // Interrupted on purpose: leave the checkpoint as an interruption would.
      return { log, labels: prev ?? new Int32Array(n), converged: false };
    }
    if (!converged) {
      if (cfg.maxIter !== start) await save(cfg.maxIter);
      // The last check is logged, but its label change counts as convergence only over a whole
      // interval: with --max-iter not a multiple of it (20000 at 140: 120 batches; 141: one
      // batch), a small change over the remainder says little.
      const before = log.at(-1)?.iteration;
      const stop = await check(cfg.maxIter);
      converged = stop && before !== undefined && cfg.maxIter - before >= interval;
    }
    const w = await set.stateDict();
    const keep: typeof w = new Map();
    for (const [name, v] of w) {
      if (cfg.mode === "idec" || !name.startsWith("decoder.")) keep.set(name, v);
    }
    const weights = await saveWeights(join(dir, "dec.safetensors"), keep, {
      mode: cfg.mode,
      alpha: String(cfg.alpha),
      latentScale: String(modelLatentScale(info)),
    });
    await writeFileAtomic(join(dir, "finetune_log.csv"), csv());
    const mi = await readModelInfo(dir);
    await writeJson(join(dir, "model.json"), {
      ...mi,
      finetune: {
        ...cfg,
        converged,
        stoppedBy: converged ? "tol" : "max-iter",
        iterations: log.at(-1)?.iteration,
        weights,
        ...datasetRecord(ds, opts.datasetPath),
        ...runsRecord(runs, here),
      },
    });
    return { log, labels: prev!, converged };
  } finally {
    opt?.dispose();
    ae.params.dispose();
    releaseCachedMemory();
  }
}

/**
 * Checks that a fine-tuning checkpoint belongs to this dataset and these settings.
 *
 * @throws {UserError} naming what differs.
 */
function checkResumable(
  ckDir: string,
  st: FinetuneState,
  cfg: FinetuneConfig,
  n: number,
  dataset: string,
  settings: Readonly<Record<string, string>> | undefined,
): void {
  if (st.format !== "seisdec-finetune-checkpoint") {
    throw new UserError(`Cannot resume from ${ckDir}: state.json is not a fine-tuning checkpoint`);
  }
  if (st.samples !== n) {
    throw new UserError(
      `Cannot resume from ${ckDir}: it was fine-tuned on ${st.samples} samples: this dataset has ${n}`,
    );
  }
  if (st.position > n) {
    throw new UserError(
      `Cannot resume from ${join(ckDir, "state.json")}: position ${st.position} is past the ` +
        `${n} samples of an epoch: expected a checkpoint as finetune writes it (damaged or ` +
        `edited?): pass --force to start over`,
    );
  }
  if (st.dataset !== undefined && st.dataset !== dataset) {
    throw new UserError(
      `Cannot resume from ${ckDir}: it was fine-tuned on another dataset (${st.dataset}; this one: ${dataset}): resume with the same dataset, or pass --force to start over`,
    );
  }
  // Same ids, other values: a dataset re-extracted with other settings.
  const redone = st.datasetSettings && settings
    ? settingsChanges(st.datasetSettings, settings)
    : [];
  if (redone.length) {
    throw new UserError(
      `Cannot resume from ${ckDir}: the dataset was made with other settings than the one it ` +
        `was fine-tuned on (${redone.join("; ")}): resume with that dataset, or pass --force ` +
        `to start over`,
    );
  }
  const changed: string[] = [];
  for (const key of Object.keys(cfg) as (keyof FinetuneConfig)[]) {
    if (RESUMABLE_CHANGES.includes(key)) continue;
    const a = JSON.stringify(st.config[key]), b = JSON.stringify(cfg[key]);
    if (a !== b) changed.push(`${key}: ${a} → ${b}`);
  }
  if (st.iteration > cfg.maxIter) {
    // Stopping there would relabel the later weights, optimizer and RNG state as that
    // iteration's, and a further resume would replay the batches in between.
    throw new UserError(
      `Cannot resume from ${ckDir}: it is at iteration ${st.iteration}, past --max-iter ${cfg.maxIter}: resume with --max-iter ${st.iteration} or more`,
    );
  }
  if (changed.length) {
    throw new UserError(
      `Cannot resume from ${ckDir}: the checkpoint was fine-tuned with other settings (${
        changed.join("; ")
      }): resume with the same settings (only --max-iter, --min-iter and --tol may change), or pass --force to start over`,
    );
  }
}

/**
 * Soft assignments and hard labels of every sample under the current encoder and centres, in
 * passes of `batchSize` samples (default: {@linkcode inferBatchFor}); `onBatch` is called after
 * every pass with the samples it assigned (a progress bar's tick).
 *
 * @returns q [N, K] and labels [N].
 */
export async function assignAll(
  ae: ConvAutoencoder,
  mu: Tensor,
  ds: DatasetLike,
  normalize: Normalize,
  alpha: number,
  device: Device,
  batchSize = inferBatchFor(ae, device),
  onBatch?: (done: number) => void,
): Promise<{ q: Float32Array; labels: Int32Array; latent: Float32Array }> {
  const n = ds.count, k = mu.shape[0], d = ae.config.latentDim;
  const q = new Float32Array(n * k), latent = new Float32Array(n * d);
  await pipelined(Math.ceil(n / batchSize), (b) => {
    const s = b * batchSize;
    const idx = Array.from({ length: Math.min(batchSize, n - s) }, (_, i) => s + i);
    const batch = readModelBatch(ds, idx, normalize, "assign");
    const [zt, qt] = noGrad(() =>
      tidy(() => {
        const z = ae.encode(Tensor.fromArray(batch, [idx.length, ...ds.sampleShape], device));
        return [z, softAssign(z, mu, alpha)];
      })
    );
    return backendOf(zt).read([zt, qt]).finally(() => {
      zt.dispose();
      qt.dispose();
    });
  }, ([zd, qd], b) => {
    latent.set(zd, b * batchSize * d);
    q.set(qd, b * batchSize * k);
    onBatch?.(zd.length / d);
  }, passesInFlight(device));
  return { q, labels: argmaxRows(q, n, k), latent };
}

/**
 * Index of the largest value in each row.
 *
 * @param q Row-major [n, k].
 * @returns the column of each row's maximum.
 */
export function argmaxRows(q: Float32Array, n: number, k: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let b = 0;
    for (let j = 1; j < k; j++) if (q[i * k + j] > q[i * k + b]) b = j;
    out[i] = b;
  }
  return out;
}
