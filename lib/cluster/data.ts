/**
 * What the training loops need from a dataset: a count, a sample shape and
 * batched reads with per-sample normalisation. The on-disk dataset
 * (lib/io/dataset.ts) satisfies it, and {@linkcode MemoryDataset} wraps arrays.
 *
 * @module
 */

import { resolve } from "node:path";
import { type Normalize, normalizeSamples } from "../io/dataset.ts";

export type { Normalize };

/** A source of samples [C, F, T]. */
export interface DatasetLike {
  /** Number of samples. */
  readonly count: number;
  /** Shape of one sample, [C, F, T]. */
  readonly sampleShape: readonly [number, number, number];
  /**
   * Reads samples by index, normalised per sample.
   *
   * @param indices Sample indices.
   * @param normalize Per-sample normalisation.
   * @returns the samples, [B, C, F, T] contiguous.
   */
  readBatch(indices: ArrayLike<number>, normalize?: Normalize): Float32Array;
  /** Sample ids and labels, when known. */
  readonly samples?: readonly { id: string; label: string | null }[];
  /**
   * The settings that made the samples' values, by field (a dataset on disk: its extraction
   * settings, `datasetSettings` of lib/io/dataset.ts), when known: a checkpoint records them,
   * and a resume on a dataset made with other settings is refused.
   */
  readonly settings?: Readonly<Record<string, string>>;
  /**
   * The directory it was read from, when on disk (lib/io/dataset.ts `Dataset`): the training
   * stages record it, made absolute, in `model.json` ({@linkcode datasetRecord}).
   */
  readonly dir?: string;
}

/** The largest finite float32. */
const F32_MAX = 3.4028234663852886e38;

/**
 * Reads a batch for the model and checks that float32 can train on it: every value finite,
 * and small enough that the batch's sum of squared errors (the reconstruction loss, summed in
 * float32 before it is divided by the batch's size) cannot overflow: `max|x|² · values < 3.4e38 / 16`.
 * Without the check, spectrograms of linear PSD in counts (1e38) with `--normalize none` made
 * the loss Infinity at the first step, reported as a learning rate too large.
 *
 * @param ds The dataset.
 * @param indices Sample indices.
 * @param normalize Per-sample normalisation.
 * @param op What reads it, for the error (e.g. "pretrain").
 * @returns the batch, as {@linkcode DatasetLike.readBatch}.
 * @throws {RangeError} naming the first sample (id and index) that breaks either rule, its
 *   value, and the normalisations that bring it to [−1, 1].
 */
export function readModelBatch(
  ds: DatasetLike,
  indices: ArrayLike<number>,
  normalize: Normalize,
  op: string,
): Float32Array {
  const x = ds.readBatch(indices, normalize);
  const per = x.length / Math.max(1, indices.length);
  const limit = Math.sqrt(F32_MAX / 16 / Math.max(1, x.length));
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (Number.isFinite(v) && Math.abs(v) <= limit) continue;
    const b = Math.floor(i / per), idx = indices[b];
    const name = `sample ${ds.samples?.[idx]?.id ?? idx} (index ${idx})`;
    const how = normalize === "none" ? "without normalisation" : `after --normalize ${normalize}`;
    throw new RangeError(
      Number.isFinite(v)
        ? `Cannot ${op}: ${name} holds ${v} at element ${i - b * per} ${how}: the model's ` +
          `float32 loss overflows past |x| = ${limit.toPrecision(3)} for a batch of ` +
          `${indices.length}: use --normalize maxabs, l2 or minmax (or --scaling db at extract)`
        : `Cannot ${op}: ${name} holds ${v} at element ${i - b * per}: expected finite values`,
    );
  }
  return x;
}

/** An in-memory dataset over a Float32Array [N, C, F, T]. */
export class MemoryDataset implements DatasetLike {
  /** Number of samples. */
  readonly count: number;
  /** Shape of one sample, [C, F, T]. */
  readonly sampleShape: readonly [number, number, number];
  readonly samples?: readonly { id: string; label: string | null }[];
  #data: Float32Array;
  #per: number;

  /**
   * Wraps samples held in memory (not copied).
   *
   * @param data Samples, [N, C, F, T] contiguous.
   * @param sampleShape [C, F, T].
   * @param samples Optional ids and labels.
   * @throws {TypeError} when `sampleShape` is not three integers >= 1, or `data` does not hold
   *   whole samples.
   * @example
   * ```ts
   * import { MemoryDataset } from "./data.ts";
   * const ds = new MemoryDataset(new Float32Array([1, -4, 2, 2]), [1, 1, 2]);
   * console.log(ds.readBatch([0], "maxabs")); // Float32Array [0.25, -1]
   * ```
   */
  constructor(
    data: Float32Array,
    sampleShape: readonly [number, number, number],
    samples?: { id: string; label: string | null }[],
  ) {
    if (
      !Array.isArray(sampleShape) || sampleShape.length !== 3 ||
      !sampleShape.every((d) => Number.isInteger(d) && d >= 1)
    ) {
      throw new TypeError(
        `Cannot create dataset: sampleShape must be [C, F, T], integers >= 1: found ${
          Array.isArray(sampleShape) ? `[${sampleShape}]` : String(sampleShape)
        }`,
      );
    }
    this.#per = sampleShape[0] * sampleShape[1] * sampleShape[2];
    if (data.length % this.#per !== 0) {
      throw new TypeError(
        `Cannot create dataset: ${data.length} values is not a multiple of the sample size ${this.#per}`,
      );
    }
    this.#data = data;
    this.count = data.length / this.#per;
    this.sampleShape = sampleShape;
    if (samples && samples.length !== this.count) {
      throw new TypeError(
        `Cannot create dataset: ${samples.length} sample records for ${this.count} samples`,
      );
    }
    this.samples = samples;
  }

  /**
   * Copies samples by index, normalised per sample, into [B, C, F, T].
   *
   * @param indices Sample indices: integers in [0, N), in any order, repeats allowed.
   * @param normalize Per-sample normalisation (default `none`).
   * @returns `[B, C, F, T]` contiguous, in the order of `indices`.
   * @throws {RangeError} for an index that is not an integer in range, or an unknown
   *   normalisation.
   */
  readBatch(indices: ArrayLike<number>, normalize: Normalize = "none"): Float32Array {
    const out = new Float32Array(indices.length * this.#per);
    for (let b = 0; b < indices.length; b++) {
      const i = indices[b];
      if (!(i >= 0 && i < this.count)) {
        throw new RangeError(`Cannot read sample ${i}: index must be in [0, ${this.count})`);
      }
      if (!Number.isInteger(i)) {
        throw new RangeError(`Cannot read sample ${i}: index must be an integer`);
      }
      const s = out.subarray(b * this.#per, (b + 1) * this.#per);
      s.set(this.#data.subarray(i * this.#per, (i + 1) * this.#per));
      normalizeSamples(s, this.#per, normalize);
    }
    return out;
  }
}

/**
 * A short fingerprint of a dataset's identity for checkpoints: its sample count, sample shape
 * and, when known, the FNV-1a hash of its sample ids. A resume on another dataset of the same
 * size would otherwise continue silently with the first one's split and state.
 *
 * @param ds The dataset.
 * @returns e.g. `"303 [1,87,67] ids 5f1e0a3b"` (no ids part without sample ids).
 * @example
 * ```ts
 * import { datasetFingerprint, MemoryDataset } from "./data.ts";
 * const a = new MemoryDataset(new Float32Array(2), [1, 1, 1], [{ id: "x", label: null }, { id: "y", label: null }]);
 * if (!datasetFingerprint(a).startsWith("2 [1,1,1] ids ")) throw new Error();
 * ```
 */
export function datasetFingerprint(ds: DatasetLike): string {
  const head = `${ds.count} [${ds.sampleShape.join(",")}]`;
  if (!ds.samples || ds.samples.length !== ds.count) return head;
  let h = 0x811c9dc5;
  for (const s of ds.samples) {
    for (let i = 0; i < s.id.length; i++) {
      h ^= s.id.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    h ^= 10; // a separator, so that ids "ab","c" and "a","bc" differ
    h = Math.imul(h, 0x01000193);
  }
  return `${head} ids ${(h >>> 0).toString(16).padStart(8, "0")}`;
}

/**
 * A digest of a dataset's values (FNV-1a over the float32 bits of every value, unnormalised,
 * read in batches): a checkpoint records it, so that a resume on a dataset with the same
 * samples ids but other values (re-extracted from re-downloaded waveforms or a corrected
 * response, or another synthetic draw) is refused rather than trained on silently. Reads the
 * whole dataset once.
 *
 * @param ds The dataset.
 * @returns 8 hex digits.
 * @example
 * ```ts
 * import { datasetDigest, MemoryDataset } from "./data.ts";
 * const s = [{ id: "x", label: null }];
 * const a = new MemoryDataset(new Float32Array([1]), [1, 1, 1], s);
 * const b = new MemoryDataset(new Float32Array([2]), [1, 1, 1], s);
 * if (datasetDigest(a) === datasetDigest(b)) throw new Error();
 * ```
 */
export function datasetDigest(ds: DatasetLike): string {
  const per = ds.sampleShape[0] * ds.sampleShape[1] * ds.sampleShape[2];
  const batch = Math.max(1, Math.floor((16 << 20) / Math.max(1, per * 4)));
  let h = 0x811c9dc5;
  for (let i0 = 0; i0 < ds.count; i0 += batch) {
    const idx = Array.from({ length: Math.min(batch, ds.count - i0) }, (_, k) => i0 + k);
    const x = ds.readBatch(idx, "none");
    const w = new Uint32Array(x.buffer, x.byteOffset, x.length);
    for (let i = 0; i < w.length; i++) {
      h ^= w[i];
      h = Math.imul(h, 0x01000193);
    }
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

/**
 * What a training stage records in `model.json` of the dataset it ran on: its absolute path
 * (`path`, else the dataset's own {@linkcode DatasetLike.dir}; none for a dataset in memory)
 * and its {@linkcode datasetFingerprint}.
 *
 * @param ds The dataset.
 * @param path Where it was read from, if the caller knows better than `ds.dir`.
 * @returns `{ dataset?, datasetFingerprint }`.
 * @example
 * ```ts
 * import { datasetRecord, MemoryDataset } from "./data.ts";
 * const r = datasetRecord(new MemoryDataset(new Float32Array(2), [1, 1, 1]), "ds");
 * if (!r.dataset!.endsWith("/ds") || r.datasetFingerprint !== "2 [1,1,1]") throw new Error();
 * ```
 */
export function datasetRecord(
  ds: DatasetLike,
  path: string | undefined = ds.dir,
): { dataset?: string; datasetFingerprint: string } {
  return {
    ...(path === undefined ? {} : { dataset: resolve(path) }),
    datasetFingerprint: datasetFingerprint(ds),
  };
}

/**
 * The dataset settings ({@linkcode DatasetLike.settings}) that differ between a checkpoint's
 * dataset and this one, each as `field: then → now` (a field only one of them has reads
 * `(none)` on the other side).
 *
 * @param then The settings a checkpoint recorded.
 * @param now The dataset's settings now.
 * @returns the differences, in field order; empty when they agree.
 * @example
 * ```ts
 * import { settingsChanges } from "./data.ts";
 * const c = settingsChanges({ scaling: '"psd"' }, { scaling: '"db"' });
 * if (c[0] !== 'scaling: "psd" → "db"') throw new Error();
 * ```
 */
export function settingsChanges(
  then: Readonly<Record<string, string>>,
  now: Readonly<Record<string, string>>,
): string[] {
  const fields = [...new Set([...Object.keys(then), ...Object.keys(now)])];
  return fields.filter((f) => then[f] !== now[f])
    .map((f) => `${f}: ${then[f] ?? "(none)"} → ${now[f] ?? "(none)"}`);
}
