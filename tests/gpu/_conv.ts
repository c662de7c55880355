/**
 * Shared checks of the convolution kernels against the Float64 reference in lib/cpu: forward,
 * input, weight and bias gradients of a conv2d or transposed conv case, and an input gradient
 * with the producing layer's leaky/bias backward folded in. Used by conv_test.ts (the
 * adapter's own tuning) and gpu_tuning_reference_test.ts (a GPU's tuning on any adapter).
 *
 * @module
 */
import * as C from "../../lib/cpu/mod.ts";
import { backendNamed } from "../../lib/tensor/backends.ts";
import * as ops from "../../lib/tensor/ops.ts";
import { assertEquals } from "../_assert.ts";
import { accTol, close, dirtyPool, gt, numel, rand, readAll } from "./_util.ts";

/** A pair of per-axis values [h, w]. */
export type P2 = [number, number];
/** One convolution case: shapes, stride, padding, bias and the leaky slope. */
export interface ConvCase {
  name: string;
  x: [number, number, number, number];
  /** Conv2d: [Co, Ci, KH, KW]. ConvTranspose2d: [A, B, KH, KW]. */
  w: [number, number, number, number];
  stride: P2;
  padding: P2;
  outputPadding?: P2;
  bias: boolean;
  slope: number;
}

/** The seed's leaky ReLU slope. */
export const SLOPE = 0.02;
// Inputs, weights, biases and output gradients are all on [-2, 2], so one product is <= 4.
export const T = 4;

/** The WebGPU backend. */
export const webgpuBackend = () => backendNamed("webgpu");

/** Convolution cases on awkward shapes (batch 1, odd widths with stride 2, 1 channel, ...). */
export const CONV_CASES: ConvCase[] = [
  {
    name: "batch 1, Ci 3 Co 5, odd width 7 with stride 2, kernel 3x2, padding (1,0)",
    x: [1, 3, 9, 7],
    w: [5, 3, 3, 2],
    stride: [2, 2],
    padding: [1, 0],
    bias: true,
    slope: SLOPE,
  },
  {
    name: "Ci 1 Co 1, kernel 1x3, stride (1,2), padding (0,1), no bias",
    x: [2, 1, 5, 11],
    w: [1, 1, 1, 3],
    stride: [1, 2],
    padding: [0, 1],
    bias: false,
    slope: 1,
  },
  {
    // N·Ho·Wo = 3·6·7 = 126: pixel tiles of 4 straddle image boundaries.
    name: "batch 3, Ci 5 Co 7, kernel 5x3, stride (2,1), padding (2,1), tiles across images",
    x: [3, 5, 11, 7],
    w: [7, 5, 5, 3],
    stride: [2, 1],
    padding: [2, 1],
    bias: true,
    slope: SLOPE,
  },
  {
    // Ho = floor((10 − 2)/3) + 1 = 3 covers rows 0..7: rows 8, 9 get no gradient.
    name: "stride 3 with kernel 2 drops trailing rows and columns",
    x: [2, 2, 10, 11],
    w: [3, 2, 2, 2],
    stride: [3, 3],
    padding: [0, 0],
    bias: true,
    slope: 1,
  },
];

/** Transposed convolution cases (the weight is [A, B, KH, KW]). */
export const CONVT_CASES: ConvCase[] = [
  {
    name: "k3 s2 padding (0,1) as the seed's d2, A 5 B 3",
    x: [2, 5, 5, 5],
    w: [5, 3, 3, 3],
    stride: [2, 2],
    padding: [0, 1],
    bias: true,
    slope: SLOPE,
  },
  {
    name: "k3 s2 padding (1,0) with output padding (1,0), batch 1, B 1",
    x: [1, 3, 6, 4],
    w: [3, 1, 3, 3],
    stride: [2, 2],
    padding: [1, 0],
    outputPadding: [1, 0],
    bias: true,
    slope: SLOPE,
  },
  {
    name: "stride (2,3), kernel 3x5, padding (0,1), output padding (1,2)",
    x: [2, 3, 4, 5],
    w: [3, 5, 3, 5],
    stride: [2, 3],
    padding: [0, 1],
    outputPadding: [1, 2],
    bias: true,
    slope: 1,
  },
  {
    // kh0 = 1 for odd output rows: those phases receive no tap at all (bias only).
    name: "kernel 1x1 with stride 2: phases without taps",
    x: [2, 3, 3, 5],
    w: [3, 5, 1, 1],
    stride: [2, 2],
    padding: [0, 0],
    outputPadding: [1, 1],
    bias: true,
    slope: SLOPE,
  },
  {
    // Few output channels with sh·sw <= 4 take conv_transpose2d_phase.wgsl (B <= 3, or
    // <= 8 on software adapters; the cases below with B 5 and 7 too): a 5-row window offset range,
    // block positions running across images (batch 3), an odd output padding.
    name:
      "phase kernel: B 2, stride (1,2), kernel 5x3, padding (2,1), output padding (0,1), batch 3",
    x: [3, 4, 5, 6],
    w: [4, 2, 5, 3],
    stride: [1, 2],
    padding: [2, 1],
    outputPadding: [0, 1],
    bias: true,
    slope: SLOPE,
  },
  {
    name: "phase kernel: B 1, kernel 1x1 with stride 2: phases without taps",
    x: [2, 3, 3, 5],
    w: [3, 1, 1, 1],
    stride: [2, 2],
    padding: [0, 0],
    outputPadding: [1, 1],
    bias: true,
    slope: SLOPE,
  },
  {
    name: "phase kernel: B 3, stride 1, kernel 2x2, no padding",
    x: [2, 5, 4, 7],
    w: [5, 3, 2, 2],
    stride: [1, 1],
    padding: [0, 0],
    bias: false,
    slope: 1,
  },
  {
    name: "B 6, A 9, stride 2, kernel 3x3, padding (1,0), output padding (0,1), batch 3",
    x: [3, 9, 4, 5],
    w: [9, 6, 3, 3],
    stride: [2, 2],
    padding: [1, 0],
    outputPadding: [0, 1],
    bias: true,
    slope: SLOPE,
  },
  {
    name: "stride 1, kernel 2x3, padding (1,1), A 6 B 7",
    x: [1, 6, 5, 4],
    w: [6, 7, 2, 3],
    stride: [1, 1],
    padding: [1, 1],
    bias: false,
    slope: 1,
  },
];

/** A case's Float64 inputs. */
export interface Inputs {
  x: Float64Array;
  w: Float64Array;
  b: Float64Array | null;
  gy: Float64Array;
}

/** Seeded inputs of a case on [-2, 2]. */
export function inputs(c: ConvCase, ys: readonly number[], seed: number): Inputs {
  return {
    x: rand(numel(c.x), seed),
    w: rand(numel(c.w), seed + 1),
    b: c.bias ? rand(ys[1], seed + 2) : null,
    gy: rand(numel(ys), seed + 3),
  };
}

/**
 * Runs forward, input grad, weight grad and bias grad of a conv2d case on WebGPU (one read)
 * and compares each with the Float64 reference.
 */
export async function checkConv2d(
  c: ConvCase,
  seed: number,
  expectShape?: number[],
): Promise<void> {
  const p = { stride: c.stride, padding: c.padding };
  const ys = C.conv2dOutputShape(c.x, c.w, p);
  if (expectShape) assertEquals([...ys], expectShape, `${c.name} output shape`);
  const d = inputs(c, ys, seed);
  const be = webgpuBackend();
  dirtyPool(numel(ys), numel(c.x), numel(c.w));
  const x = gt(d.x, c.x), w = gt(d.w, c.w), b = d.b ? gt(d.b, [c.w[0]]) : null, gy = gt(d.gy, ys);
  const y = ops.conv2d(x, w, b, { ...p, slope: c.slope });
  const gx = be.conv2dInputGrad(gy, w, c.x, p);
  const gw = be.conv2dWeightGrad(x, gy, c.w, p);
  const gb = be.biasGrad(gy);
  const out = await readAll([y, gx, gw, gb]);
  for (const t of [x, w, b, gy, y, gx, gw, gb]) t?.dispose();
  assertEquals([...y.shape], [...ys], `${c.name}: y shape`);

  const [co, ci, kh, kw] = c.w;
  const yRef = C.leakyRelu(C.conv2d(d.x, c.x, d.w, c.w, d.b, p), c.slope);
  // y sums Ci·KH·KW products (+ bias); gx sums at most Co·KH·KW (fewer with stride > 1);
  // gw sums N·Ho·Wo; gb sums N·Ho·Wo values of size <= 2.
  const kY = ci * kh * kw + 1, kX = co * kh * kw, kW = ys[0] * ys[2] * ys[3];
  close(out[0], yRef, accTol(kY, T), `${c.name}: conv2d y`);
  close(out[1], C.conv2dInputGrad(d.gy, ys, d.w, c.w, c.x, p), accTol(kX, T), `${c.name}: gx`);
  close(out[2], C.conv2dWeightGrad(d.x, c.x, d.gy, ys, c.w, p), accTol(kW, T), `${c.name}: gw`);
  close(out[3], C.biasGrad(d.gy, ys), accTol(kW, 2), `${c.name}: gb`);
}

/** As {@linkcode checkConv2d}, for a transposed convolution. */
export async function checkConvT(c: ConvCase, seed: number, expectShape?: number[]): Promise<void> {
  const p = { stride: c.stride, padding: c.padding, outputPadding: c.outputPadding ?? [0, 0] };
  const ys = C.convTranspose2dOutputShape(c.x, c.w, p);
  if (expectShape) assertEquals([...ys], expectShape, `${c.name} output shape`);
  const d = inputs(c, ys, seed);
  const be = webgpuBackend();
  dirtyPool(numel(ys), numel(c.x), numel(c.w));
  const [a, bch, kh, kw] = c.w;
  const x = gt(d.x, c.x), w = gt(d.w, c.w), b = d.b ? gt(d.b, [bch]) : null, gy = gt(d.gy, ys);
  const y = ops.convTranspose2d(x, w, b, { ...p, slope: c.slope });
  const conv = { stride: c.stride, padding: c.padding };
  const gx = be.convTranspose2dInputGrad(gy, w, c.x, conv);
  const gw = be.convTranspose2dWeightGrad(x, gy, c.w, conv);
  const gb = be.biasGrad(gy);
  const out = await readAll([y, gx, gw, gb]);
  for (const t of [x, w, b, gy, y, gx, gw, gb]) t?.dispose();
  assertEquals([...y.shape], [...ys], `${c.name}: y shape`);

  const yRef = C.leakyRelu(C.convTranspose2d(d.x, c.x, d.w, c.w, d.b, p), c.slope);
  // An output of a transposed conv sums at most A·ceil(KH/sh)·ceil(KW/sw) <= A·KH·KW
  // products; gx sums B·KH·KW; gw sums N·H·W (the input pixels); gb N·Ho·Wo.
  const kY = a * kh * kw + 1, kX = bch * kh * kw, kW = c.x[0] * c.x[2] * c.x[3];
  const kB = ys[0] * ys[2] * ys[3];
  close(out[0], yRef, accTol(kY, T), `${c.name}: conv_transpose2d y`);
  close(
    out[1],
    C.convTranspose2dInputGrad(d.gy, ys, d.w, c.w, c.x, p),
    accTol(kX, T),
    `${c.name}: gx`,
  );
  close(
    out[2],
    C.convTranspose2dWeightGrad(d.x, c.x, d.gy, ys, c.w, p),
    accTol(kW, T),
    `${c.name}: gw`,
  );
  close(out[3], C.biasGrad(d.gy, ys), accTol(kB, 2), `${c.name}: gb`);
}

/**
 * The input gradient of a case with the epilogue of the layer that produced its input
 * (InputAct): masked by a random output y of that layer (both signs, x's shape) and summed into
 * that layer's bias gradient, against the Float64 reference (mask, then sum). The bias slot
 * starts as NaN, so a channel the partials miss shows.
 *
 * With `exact`, w and gy are integers in −2..2 and the slope 1/4: every product and sum is then
 * exact in f32 (quarters below 2^22), so both results must equal the reference exactly, and a single
 * pixel left out of (or added twice to) a bias partial fails, which the worst-case rounding
 * tolerance of the random data (about 0.8 for e1) could not tell from rounding.
 */
export async function checkInputAct(
  c: ConvCase,
  transposed: boolean,
  seed: number,
  withBias = true,
  exact = false,
): Promise<void> {
  const conv = { stride: c.stride, padding: c.padding };
  const p = { ...conv, outputPadding: c.outputPadding ?? [0, 0] as P2 };
  const ys = transposed
    ? C.convTranspose2dOutputShape(c.x, c.w, p)
    : C.conv2dOutputShape(c.x, c.w, conv);
  const d = inputs(c, ys, seed);
  const slope = exact ? 0.25 : SLOPE;
  if (exact) {
    d.w = d.w.map((v) => Math.round(v));
    d.gy = d.gy.map((v) => Math.round(v));
  }
  const yPrev = rand(numel(c.x), seed + 7);
  // Exact zeros too: there the slope applies (PyTorch's y > 0 rule), not the identity.
  for (let i = 0; i < yPrev.length; i += 5) yPrev[i] = 0;
  const be = webgpuBackend();
  dirtyPool(numel(ys), numel(c.x), numel(c.w));
  const w = gt(d.w, c.w), gy = gt(d.gy, ys), m = gt(yPrev, c.x);
  const gb = withBias ? gt(new Float32Array(c.x[1]).fill(NaN), [c.x[1]]) : null;
  const act = { y: m, slope, gb };
  const g = transposed
    ? be.convTranspose2dInputGrad(gy, w, c.x, conv, act)
    : be.conv2dInputGrad(gy, w, c.x, conv, act);
  const out = await readAll(gb ? [g, gb] : [g]);
  for (const t of [w, gy, m, g, gb]) t?.dispose();

  const gx = transposed
    ? C.convTranspose2dInputGrad(d.gy, ys, d.w, c.w, c.x, p)
    : C.conv2dInputGrad(d.gy, ys, d.w, c.w, c.x, conv);
  const gRef = C.leakyReluGrad(yPrev, gx, slope);
  // gx sums at most (channels of gy)·KH·KW products of size <= T; the bias gradient sums
  // N·H·W of those, one accumulation over all their products.
  const kX = ys[1] * c.w[2] * c.w[3];
  const plane = c.x[0] * c.x[2] * c.x[3];
  const what = `${c.name} (${transposed ? "conv_transpose2d" : "conv2d"} input gradient)${
    exact ? ", integer data" : ""
  }`;
  // Multiples of 1/4 (the slope) are exact in f32 below 2^22.
  if (exact && plane * kX * 4 >= 2 ** 22) {
    throw new Error(`${what}: sums could reach 2^22, where f32 stops being exact for quarters`);
  }
  close(out[0], gRef, exact ? 0 : accTol(kX, T), `${what}: masked gradient`);
  if (gb) {
    close(out[1], C.biasGrad(gRef, c.x), exact ? 0 : accTol(plane * kX, T), `${what}: bias`);
  }
}
