/**
 * CPU reference implementations of every seisdec compute op, in Float64.
 *
 * Each op is written from its mathematical definition, never translated from a WGSL kernel,
 * so it serves both as the oracle that the GPU kernels are tested against and as the `--cpu`
 * backend. Tensors are dense, row-major (C order) and PyTorch NCHW; shapes are passed
 * explicitly. Inputs are any `ArrayLike<number>` (Float32Array and Float64Array alike);
 * outputs are new Float64Arrays, or the `out` array when one is passed as the last argument.
 * Bad shapes throw TypeError and bad values RangeError, with messages like
 * `Cannot run conv2d: stride must be >= 1: current value is 0`.
 *
 * - conv.ts: conv2d, convTranspose2d and their input/weight/bias gradients.
 * - dense.ts: matmul, Linear and its gradients, column sums.
 * - elementwise.ts: Leaky ReLU, MSE loss, reductions, cropping, vector arithmetic.
 * - dec.ts: DEC soft assignment, target distribution, KL divergence and its gradients.
 * - optim.ts: Adam and SGD steps with PyTorch semantics.
 * - gradcheck.ts: central-difference gradient checks and seeded random inputs.
 *
 * @example
 * ```ts
 * import { checkGrad, conv2d, conv2dWeightGrad, randomArray } from "./mod.ts";
 * const p = { stride: [2, 2] as [number, number], padding: [1, 0] as [number, number] };
 * const x = randomArray(1 * 2 * 5 * 4, 1), w = randomArray(3 * 2 * 3 * 2, 2);
 * // Gradient of sum(y) with respect to w is conv2dWeightGrad with gy = 1.
 * const gy = new Float64Array(1 * 3 * 3 * 2).fill(1);
 * const gw = conv2dWeightGrad(x, [1, 2, 5, 4], gy, [1, 3, 3, 2], [3, 2, 3, 2], p);
 * const f = (wv: Float64Array) => conv2d(x, [1, 2, 5, 4], wv, [3, 2, 3, 2], null, p).reduce((a, b) => a + b);
 * checkGrad(f, gw, w);
 * ```
 *
 * @module
 */

export * from "./conv.ts";
export * from "./dense.ts";
export * from "./elementwise.ts";
export * from "./dec.ts";
export * from "./optim.ts";
export * from "./gradcheck.ts";
