/**
 * Elementwise ops, reductions, the MSE loss and 2-D cropping in Float64, with gradients.
 *
 * @module
 */

import { checkFinite, checkLength, checkShape, fmtShape, numel, output } from "./_check.ts";

function checkSame(op: string, a: ArrayLike<number>, b: ArrayLike<number>, an: string, bn: string) {
  checkLength(op, bn, b, a.length, `${an} of length ${a.length}`);
}

/**
 * Leaky ReLU: `y = x` where x > 0, else `slope·x`.
 *
 * @param x Input.
 * @param slope Negative slope (0.02 in the seed autoencoder).
 * @param out Optional destination of the same length, overwritten (may be x itself).
 * @returns y.
 * @throws {RangeError} if slope is not finite.
 * @example
 * ```ts
 * import { leakyRelu } from "./elementwise.ts";
 * if (leakyRelu([-2, 0, 3], 0.5).join() !== "-1,0,3") throw new Error();
 * ```
 */
export function leakyRelu(x: ArrayLike<number>, slope: number, out?: Float64Array): Float64Array {
  const op = "leakyRelu";
  checkFinite(op, "slope", slope);
  const y = output(op, out, x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    y[i] = v > 0 ? v : slope * v;
  }
  return y;
}

/**
 * Gradient of {@linkcode leakyRelu}, with PyTorch's convention at 0:
 * `gx = gy` where x > 0, else `slope·gy` (so x = 0 takes the slope).
 *
 * @param x Forward input.
 * @param gy Gradient with respect to the output.
 * @param slope Negative slope.
 * @param out Optional destination of the same length, overwritten (may be gy itself).
 * @returns gx.
 * @throws {TypeError} if x and gy differ in length.
 * @throws {RangeError} if slope is not finite.
 * @example
 * ```ts
 * import { leakyReluGrad } from "./elementwise.ts";
 * if (leakyReluGrad([-1, 0, 2], [4, 4, 4], 0.5).join() !== "2,2,4") throw new Error();
 * ```
 */
export function leakyReluGrad(
  x: ArrayLike<number>,
  gy: ArrayLike<number>,
  slope: number,
  out?: Float64Array,
): Float64Array {
  const op = "leakyReluGrad";
  checkFinite(op, "slope", slope);
  checkSame(op, x, gy, "x", "gy");
  const gx = output(op, out, x.length);
  for (let i = 0; i < x.length; i++) gx[i] = x[i] > 0 ? gy[i] : slope * gy[i];
  return gx;
}

/**
 * Mean squared error `Σ (pred − target)² / numel` (PyTorch `mse_loss`, reduction "mean").
 *
 * @param pred Predictions.
 * @param target Targets, same length.
 * @returns the loss.
 * @throws {TypeError} if the lengths differ or are 0.
 * @example
 * ```ts
 * import { mseLoss } from "./elementwise.ts";
 * if (mseLoss([1, 2], [1, 4]) !== 2) throw new Error();
 * ```
 */
export function mseLoss(pred: ArrayLike<number>, target: ArrayLike<number>): number {
  const op = "mseLoss";
  checkSame(op, pred, target, "pred", "target");
  checkNonEmpty(op, "pred", pred);
  let s = 0;
  for (let i = 0; i < pred.length; i++) {
    const d = pred[i] - target[i];
    s += d * d;
  }
  return s / pred.length;
}

/**
 * Gradient of {@linkcode mseLoss} with respect to pred: `2·(pred − target)/numel · gLoss`.
 *
 * @param pred Predictions.
 * @param target Targets, same length.
 * @param gLoss Gradient of the final objective with respect to the loss (default 1).
 * @param out Optional destination of the same length, overwritten.
 * @returns the gradient with respect to pred.
 * @throws {TypeError} if the lengths differ or are 0.
 * @example
 * ```ts
 * import { mseLossGrad } from "./elementwise.ts";
 * if (mseLossGrad([1, 2], [1, 4]).join() !== "0,-2") throw new Error();
 * ```
 */
export function mseLossGrad(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  gLoss = 1,
  out?: Float64Array,
): Float64Array {
  const op = "mseLossGrad";
  checkSame(op, pred, target, "pred", "target");
  checkNonEmpty(op, "pred", pred);
  checkFinite(op, "gLoss", gLoss);
  const g = output(op, out, pred.length);
  const c = 2 * gLoss / pred.length;
  for (let i = 0; i < pred.length; i++) g[i] = c * (pred[i] - target[i]);
  return g;
}

function checkNonEmpty(op: string, name: string, a: ArrayLike<number>): void {
  if (a.length === 0) {
    throw new TypeError(`Cannot run ${op}: ${name} must not be empty: current length is 0`);
  }
}

/**
 * @param x Values.
 * @returns Σ x (0 for an empty array).
 * @example
 * ```ts
 * import { sum } from "./elementwise.ts";
 * if (sum([1, 2, 3.5]) !== 6.5) throw new Error();
 * ```
 */
export function sum(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s;
}

/**
 * @param x Values, at least one.
 * @returns Σ x / length.
 * @throws {TypeError} if x is empty.
 * @example
 * ```ts
 * import { mean } from "./elementwise.ts";
 * if (mean([1, 2, 6]) !== 3) throw new Error();
 * ```
 */
export function mean(x: ArrayLike<number>): number {
  checkNonEmpty("mean", "x", x);
  return sum(x) / x.length;
}

/**
 * Sum over one axis of a row-major tensor; the result has that axis removed
 * (like `torch.sum(x, axis)`).
 *
 * @param x Values, `shape` row-major.
 * @param shape Shape of x (any rank >= 1).
 * @param axis Axis to reduce, 0 <= axis < rank (negative counts from the end).
 * @param out Optional destination with the reduced size, overwritten.
 * @returns the sums, shape `shape` without `axis`.
 * @throws {TypeError} on a bad shape or length.
 * @throws {RangeError} on a bad axis.
 * @example
 * ```ts
 * import { sumAxis } from "./elementwise.ts";
 * const x = [1, 2, 3, 4, 5, 6]; // [2, 3]
 * if (sumAxis(x, [2, 3], 0).join() !== "5,7,9") throw new Error();
 * if (sumAxis(x, [2, 3], -1).join() !== "6,15") throw new Error();
 * ```
 */
export function sumAxis(
  x: ArrayLike<number>,
  shape: readonly number[],
  axis: number,
  out?: Float64Array,
): Float64Array {
  const op = "sumAxis";
  if (!Array.isArray(shape) || shape.length < 1) {
    throw new TypeError(
      `Cannot run ${op}: shape must have at least 1 dimension: current shape is ${fmtShape(shape)}`,
    );
  }
  checkShape(op, "shape", shape, shape.length);
  checkLength(op, "x", x, numel(shape), `shape ${fmtShape(shape)}`);
  const rank = shape.length;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new RangeError(
      `Cannot run ${op}: axis must be an integer in [${-rank}, ${
        rank - 1
      }]: current value is ${axis}`,
    );
  }
  const ax = axis < 0 ? axis + rank : axis;
  const outer = numel(shape.slice(0, ax)), len = shape[ax], inner = numel(shape.slice(ax + 1));
  const y = output(op, out, outer * inner);
  y.fill(0);
  for (let o = 0; o < outer; o++) {
    const yo = o * inner;
    for (let a = 0; a < len; a++) {
      const xo = (o * len + a) * inner;
      for (let i = 0; i < inner; i++) y[yo + i] += x[xo + i];
    }
  }
  return y;
}

/**
 * Elementwise sum `a + b`.
 *
 * @param a First operand.
 * @param b Second operand, same length.
 * @param out Optional destination, overwritten (may be a or b).
 * @returns a + b.
 * @throws {TypeError} if the lengths differ.
 */
export function add(a: ArrayLike<number>, b: ArrayLike<number>, out?: Float64Array): Float64Array {
  const op = "add";
  checkSame(op, a, b, "a", "b");
  const y = output(op, out, a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i] + b[i];
  return y;
}

/**
 * Elementwise difference `a − b`.
 *
 * @param a First operand.
 * @param b Second operand, same length.
 * @param out Optional destination, overwritten (may be a or b).
 * @returns a − b.
 * @throws {TypeError} if the lengths differ.
 */
export function sub(a: ArrayLike<number>, b: ArrayLike<number>, out?: Float64Array): Float64Array {
  const op = "sub";
  checkSame(op, a, b, "a", "b");
  const y = output(op, out, a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i] - b[i];
  return y;
}

/**
 * Elementwise product `a·b`.
 *
 * @param a First operand.
 * @param b Second operand, same length.
 * @param out Optional destination, overwritten (may be a or b).
 * @returns a·b.
 * @throws {TypeError} if the lengths differ.
 */
export function mul(a: ArrayLike<number>, b: ArrayLike<number>, out?: Float64Array): Float64Array {
  const op = "mul";
  checkSame(op, a, b, "a", "b");
  const y = output(op, out, a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i] * b[i];
  return y;
}

/**
 * Scalar multiple `s·x`.
 *
 * @param x Values.
 * @param s Factor.
 * @param out Optional destination, overwritten (may be x).
 * @returns s·x.
 * @example
 * ```ts
 * import { scale } from "./elementwise.ts";
 * if (scale([1, -2], 3).join() !== "3,-6") throw new Error();
 * ```
 */
export function scale(x: ArrayLike<number>, s: number, out?: Float64Array): Float64Array {
  const y = output("scale", out, x.length);
  for (let i = 0; i < x.length; i++) y[i] = s * x[i];
  return y;
}

/**
 * In-place `y += alpha·x` (BLAS axpy), e.g. to accumulate gradients.
 *
 * @param alpha Factor.
 * @param x Values added.
 * @param y Accumulator, same length, updated in place.
 * @returns y.
 * @throws {TypeError} if the lengths differ.
 * @example
 * ```ts
 * import { axpy } from "./elementwise.ts";
 * const y = new Float64Array([1, 1]);
 * axpy(2, [3, 4], y);
 * if (y.join() !== "7,9") throw new Error();
 * ```
 */
export function axpy(
  alpha: number,
  x: ArrayLike<number>,
  y: Float64Array | Float32Array,
): Float64Array | Float32Array {
  checkSame("axpy", y, x, "y", "x");
  for (let i = 0; i < x.length; i++) y[i] += alpha * x[i];
  return y;
}

/** Rows and columns removed by {@linkcode crop2d}: `[top, bottom, left, right]`, each >= 0. */
export type Crop2d = [number, number, number, number];

function cropShape(op: string, shape: readonly number[], crop: readonly number[]): number[] {
  checkShape(op, "shape", shape, 4);
  if (!Array.isArray(crop) || crop.length !== 4) {
    throw new TypeError(
      `Cannot run ${op}: crop must be [top, bottom, left, right]: current value is ${
        fmtShape(crop)
      }`,
    );
  }
  for (const c of crop) {
    if (!Number.isInteger(c) || c < 0) {
      throw new RangeError(
        `Cannot run ${op}: crop must be >= 0: current value is ${fmtShape(crop)}`,
      );
    }
  }
  const [n, c, h, w] = shape, [t, b, l, r] = crop;
  if (t + b >= h || l + r >= w) {
    throw new RangeError(
      `Cannot run ${op}: crop must leave at least one row and column of shape ${
        fmtShape(shape)
      }: ` +
        `current value is ${fmtShape(crop)}`,
    );
  }
  return [n, c, h - t - b, w - l - r];
}

/**
 * Crops a `[N, C, H, W]` tensor: `y = x[:, :, top:H−bottom, left:W−right]`.
 *
 * @param x Values, `shape` row-major.
 * @param shape Shape of x `[N, C, H, W]`.
 * @param crop `[top, bottom, left, right]` rows/columns removed.
 * @param out Optional destination with the cropped size, overwritten.
 * @returns y with shape `[N, C, H − top − bottom, W − left − right]`.
 * @throws {TypeError} on a bad shape or length.
 * @throws {RangeError} on a negative crop or one that leaves nothing.
 * @example
 * ```ts
 * import { crop2d } from "./elementwise.ts";
 * // [1, 1, 3, 3] of 1..9 without the first row and last column.
 * if (crop2d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3], [1, 0, 0, 1]).join() !== "4,5,7,8") {
 *   throw new Error();
 * }
 * ```
 */
export function crop2d(
  x: ArrayLike<number>,
  shape: readonly number[],
  crop: readonly number[],
  out?: Float64Array,
): Float64Array {
  const op = "crop2d";
  const [, , ho, wo] = cropShape(op, shape, crop);
  checkLength(op, "x", x, numel(shape), `shape ${fmtShape(shape)}`);
  const [n, c, h, w] = shape, t = crop[0], l = crop[2];
  const y = output(op, out, n * c * ho * wo);
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < ho; i++) {
      const src = (p * h + i + t) * w + l, dst = (p * ho + i) * wo;
      for (let j = 0; j < wo; j++) y[dst + j] = x[src + j];
    }
  }
  return y;
}

/**
 * Gradient of {@linkcode crop2d}: places gy back into a zero tensor of the input shape.
 *
 * @param gy Gradient with respect to the cropped output.
 * @param inShape Shape of the crop2d input `[N, C, H, W]`.
 * @param crop `[top, bottom, left, right]` of the forward call.
 * @param out Optional destination of the input's size, overwritten.
 * @returns gx with shape inShape (zeros in the cropped-away border).
 * @throws {TypeError} on a bad shape or length.
 * @throws {RangeError} on a bad crop.
 */
export function crop2dGrad(
  gy: ArrayLike<number>,
  inShape: readonly number[],
  crop: readonly number[],
  out?: Float64Array,
): Float64Array {
  const op = "crop2dGrad";
  const ys = cropShape(op, inShape, crop);
  checkLength(op, "gy", gy, numel(ys), `shape ${fmtShape(ys)}`);
  const [n, c, h, w] = inShape, ho = ys[2], wo = ys[3], t = crop[0], l = crop[2];
  const gx = output(op, out, numel(inShape));
  gx.fill(0);
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < ho; i++) {
      const dst = (p * h + i + t) * w + l, src = (p * ho + i) * wo;
      for (let j = 0; j < wo; j++) gx[dst + j] = gy[src + j];
    }
  }
  return gx;
}
