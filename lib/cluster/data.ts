/**
 * What the training loops need from a dataset: a count, a sample shape and
 * batched reads with per-sample normalisation. The on-disk dataset
 * (lib/io/dataset.ts) satisfies it, and {@linkcode MemoryDataset} wraps arrays.
 *
 * @module
 */

import { type Normalize, normalizeSamples } from "../io/dataset.ts";

export type { Normalize };

/** A source of samples [C, F, T]. */
export interface DatasetLike {
  readonly count: number;
  readonly sampleShape: readonly [number, number, number];
  /**
   * @param indices Sample indices.
   * @param normalize Per-sample normalisation.
   * @returns the samples, [B, C, F, T] contiguous.
   */
  readBatch(indices: ArrayLike<number>, normalize?: Normalize): Float32Array;
  /** Sample ids and labels, when known. */
  readonly samples?: readonly { id: string; label: string | null }[];
}

/** An in-memory dataset over a Float32Array [N, C, F, T]. */
export class MemoryDataset implements DatasetLike {
  readonly count: number;
  readonly sampleShape: readonly [number, number, number];
  readonly samples?: readonly { id: string; label: string | null }[];
  #data: Float32Array;
  #per: number;

  /**
   * @param data Samples, [N, C, F, T] contiguous.
   * @param sampleShape [C, F, T].
   * @param samples Optional ids and labels.
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

  readBatch(indices: ArrayLike<number>, normalize: Normalize = "none"): Float32Array {
    const out = new Float32Array(indices.length * this.#per);
    for (let b = 0; b < indices.length; b++) {
      const i = indices[b];
      if (!(i >= 0 && i < this.count)) {
        throw new RangeError(`Cannot read sample ${i}: index must be in [0, ${this.count})`);
      }
      const s = out.subarray(b * this.#per, (b + 1) * this.#per);
      s.set(this.#data.subarray(i * this.#per, (i + 1) * this.#per));
      normalizeSamples(s, this.#per, normalize);
    }
    return out;
  }
}
