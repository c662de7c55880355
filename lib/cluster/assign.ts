/**
 * Applying a trained model to a dataset (seen or new): latent codes, soft
 * assignments q and hard labels per sample, plus a baseline k-means on the raw
 * spectrograms.
 *
 * @module
 */
import { join } from "node:path";
import { exists, loadWeights } from "../io/checkpoint.ts";
import { backendNamed, releaseCachedMemory, softwareOf } from "../tensor/backends.ts";
import { plainSoftware, type Software } from "../util/software.ts";
import type { Device } from "../tensor/tensor.ts";
import type { DatasetLike, Normalize } from "./data.ts";
import { assignAll } from "./dec.ts";
import { kmeansAsync } from "./kmeans.ts";

/** `kmeansAsync`'s defaults, which the raw baseline runs with (recorded in `result.json`). */
const KMEANS_MAX_ITER = 1000, KMEANS_TOL = 1e-4;
import { checkStageRecord, encodeAll, loadAutoencoder } from "./pretrain.ts";
import { UserError } from "../util/errors.ts";
import { defaultBackend } from "../backend.ts";

/** Per-sample results. */
export interface Assignment {
  /** Latent codes, [N, dim]. */
  latent: Float32Array;
  /** Latent dimension (for the raw baseline: values per spectrogram). */
  dim: number;
  /** Soft assignments, [N, k]; null for the "pretrain" and "raw" stages. */
  q: Float32Array | null;
  /** Number of clusters (0 for the "pretrain" stage). */
  k: number;
  /** Hard label of each sample, [N]; null for the "pretrain" stage. */
  labels: Int32Array | null;
  /** Which weights were used: "dec", "init" (pretrained encoder + initial centres) or "pretrain". */
  stage: "dec" | "init" | "pretrain" | "raw";
  /** The per-sample normalisation the spectrograms were read with. */
  normalize: Normalize;
  /** The model directory, or null for the raw baseline. */
  model: string | null;
  /**
   * The software, backend and adapter that computed it ({@linkcode Software}; backend null for
   * the raw baseline, which runs no model), which `result.json` records.
   */
  software?: Software;
  /**
   * The digests of the weights files the codes and assignments came from (`sha256:...`, as
   * `model.json`'s stage records hold them), by file name: `autoencoder.safetensors` (and
   * `centroids.safetensors` for the `init` stage), or `dec.safetensors`; absent for `raw`.
   */
  weights?: Record<string, string>;
  /** The k-means that made the `raw` baseline's clusters: its settings, for `result.json`. */
  kmeans?: RawKmeansSettings;
}

/** The settings of the `raw` baseline's k-means (k-means++ seeding, Lloyd iterations). */
export interface RawKmeansSettings {
  /** Clusters. */
  k: number;
  /** Restarts (k-means++ seedings), the best inertia kept. */
  nInit: number;
  /** Most Lloyd iterations per restart. */
  maxIter: number;
  /** Convergence tolerance (relative to the data's variance, as scikit-learn's). */
  tol: number;
  /** Seed of the seedings. */
  seed: number;
}

/**
 * Encodes a dataset and, when centres exist, assigns clusters.
 *
 * @param dir Model directory.
 * @param ds Dataset (its sample shape must match the model's input).
 * @param device Backend (default: the default backend, `setDefaultBackend` or SEISDEC_BACKEND).
 * @param stage "auto" uses dec.safetensors when present, else the initial centres, else codes only.
 * @param onBatch Called after every pass over a batch with its sample count (a progress bar's tick).
 * @param opts `codesOnly`: the stage's latent codes without soft assignments or labels (`encode`:
 *   q null, k 0), the same codes as with them.
 * @returns codes, q and labels.
 */
export async function applyModel(
  dir: string,
  ds: DatasetLike,
  device: Device = defaultBackend(),
  stage: "auto" | "dec" | "init" | "pretrain" = "auto",
  onBatch?: (done: number) => void,
  opts: { codesOnly?: boolean } = {},
): Promise<Assignment> {
  if (!["auto", "dec", "init", "pretrain"].includes(stage)) {
    throw new TypeError(
      `Cannot apply the model: stage must be "auto", "dec", "init" or "pretrain": found ${
        JSON.stringify(stage)
      }`,
    );
  }
  const hasDec = await exists(join(dir, "dec.safetensors"));
  const hasInit = await exists(join(dir, "centroids.safetensors"));
  const use = stage === "auto" ? (hasDec ? "dec" : hasInit ? "init" : "pretrain") : stage;
  if (use === "dec" && !hasDec) {
    throw new UserError(`Cannot use DEC weights: ${dir}/dec.safetensors is missing: run finetune`);
  }
  if (use === "init" && !hasInit) {
    throw new UserError(`Cannot use centroids: ${dir}/centroids.safetensors is missing: run init`);
  }
  const { ae, info, digest: aeDigest } = await loadAutoencoder(
    dir,
    device,
    use === "dec" ? "dec.safetensors" : "autoencoder.safetensors",
    { scaled: use === "init", dataset: ds },
  );
  const dim = ae.config.latentDim;
  try {
    if (use === "pretrain" || opts.codesOnly) {
      return {
        latent: await encodeAll(ae, ds, info.normalize, device, undefined, onBatch),
        dim,
        q: null,
        k: 0,
        labels: null,
        stage: use,
        normalize: info.normalize,
        model: dir,
        software: await softwareOf(device),
        weights: { [use === "dec" ? "dec.safetensors" : "autoencoder.safetensors"]: aeDigest },
      };
    }
    const file = use === "dec" ? "dec.safetensors" : "centroids.safetensors";
    const { weights, metadata, digest } = await loadWeights(join(dir, file));
    checkStageRecord(dir, info, file, metadata, digest);
    const cen = weights.get("centroids");
    if (!cen) throw new UserError(`Cannot assign clusters: ${join(dir, file)} has no 'centroids'`);
    // Centres from init: alpha 1, the DEC paper's; fine-tuned ones: the alpha they were tuned with.
    const ft = use === "dec" ? info.finetune as { alpha?: number } | undefined : undefined;
    const alpha = Number(ft?.alpha ?? 1);
    const mu = backendNamed(device).fromArray(cen.data, cen.shape).keep();
    let r: Awaited<ReturnType<typeof assignAll>>;
    try {
      r = await assignAll(ae, mu, ds, info.normalize, alpha, device, undefined, onBatch);
    } finally {
      // However the pass ends (a dataset that cannot be read, a lost device), or its buffer
      // stays out of the pool for the life of the process.
      mu.dispose();
    }
    return {
      latent: r.latent,
      dim,
      q: r.q,
      k: cen.shape[0],
      labels: r.labels,
      stage: use,
      normalize: info.normalize,
      model: dir,
      software: await softwareOf(device),
      weights: use === "dec"
        ? { "dec.safetensors": digest }
        : { "autoencoder.safetensors": aeDigest, "centroids.safetensors": digest },
    };
  } finally {
    ae.params.dispose();
    releaseCachedMemory();
  }
}

/**
 * Baseline: k-means directly on the normalised, flattened spectrograms.
 *
 * @param ds Dataset.
 * @param k Clusters.
 * @param opts Restarts, seed and normalisation; `onRestart`, called after every k-means restart
 *   with the number done.
 * @returns features (the flattened spectrograms) and labels.
 */
export async function rawKmeans(
  ds: DatasetLike,
  k: number,
  opts: {
    nInit?: number;
    seed?: number;
    normalize?: Normalize;
    onRestart?: (done: number) => void;
  } = {},
): Promise<Assignment> {
  const idx = Array.from({ length: ds.count }, (_, i) => i);
  const normalize = opts.normalize ?? "maxabs";
  const x = ds.readBatch(idx, normalize);
  const d = x.length / ds.count;
  const kmeans: RawKmeansSettings = {
    k,
    nInit: opts.nInit ?? 10,
    maxIter: KMEANS_MAX_ITER,
    tol: KMEANS_TOL,
    seed: opts.seed ?? 0,
  };
  const r = await kmeansAsync(x, ds.count, d, { ...kmeans, onRestart: opts.onRestart });
  return {
    latent: x,
    dim: d,
    q: null,
    k,
    labels: r.labels,
    stage: "raw",
    normalize,
    model: null,
    software: plainSoftware(null),
    kmeans,
  };
}
