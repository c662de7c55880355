/**
 * seisdec: unsupervised clustering of seismic signals by Deep Embedded
 * Clustering (DEC) of STFT spectrograms with a fully convolutional
 * autoencoder, computed by hand-written WGSL kernels on WebGPU.
 *
 * @example
 * ```ts
 * import { Rng } from "./mod.ts";
 * const rng = new Rng(1);
 * console.log(rng.next());
 * ```
 *
 * @module
 */
export { Rng } from "./lib/util/rng.ts";
export { adapterSummary, getDevice } from "./lib/gpu/device.ts";
export type { AdapterSummary } from "./lib/gpu/device.ts";
