/**
 * 2-D convolution and transposed convolution in Float64, with their gradients.
 *
 * Layouts are PyTorch's, dense and row-major: activations `[batch, channels, height, width]`,
 * Conv2d weights `[outChannels, inChannels, kh, kw]`, ConvTranspose2d weights
 * `[inChannels, outChannels, kh, kw]`. Only groups = 1 and dilation = 1 are supported.
 * Padding is per axis `[ph, pw]` and applied on both sides of that axis.
 *
 * conv2d and its gradients run as im2col/col2im plus a matrix multiply. convTranspose2d is
 * written separately, straight from its scatter definition, so that it and
 * {@linkcode conv2dInputGrad} (to which it is mathematically equal) check each other.
 *
 * @module
 */

import { checkLength, checkShape, f64, fmtShape, numel, output } from "./_check.ts";
import { gemm } from "./_gemm.ts";

/** A 4-D shape `[n, c, h, w]`. */
export type Shape4 = [number, number, number, number];

/** Options of {@linkcode conv2d}: per-axis `[h, w]` stride and zero padding. */
export interface Conv2dParams {
  /** Step between kernel positions `[sh, sw]`, each >= 1. */
  stride: [number, number];
  /** Zeros added on both sides of each axis `[ph, pw]`, each >= 0. */
  padding: [number, number];
}

/** Options of {@linkcode convTranspose2d}, as in PyTorch's ConvTranspose2d. */
export interface ConvTranspose2dParams {
  /** Stride of the matching forward convolution `[sh, sw]`, each >= 1. */
  stride: [number, number];
  /** Padding of the matching forward convolution `[ph, pw]`, each >= 0 (removes output). */
  padding: [number, number];
  /** Extra rows/columns added at the bottom/right of the output `[oph, opw]`, each < stride. */
  outputPadding?: [number, number];
}

interface Geom {
  sh: number;
  sw: number;
  ph: number;
  pw: number;
}

function pair(op: string, name: string, v: unknown, min: number): [number, number] {
  if (!Array.isArray(v) || v.length !== 2) {
    throw new TypeError(`Cannot run ${op}: ${name} must be a pair [h, w]: current value is ${v}`);
  }
  for (const x of v) {
    if (!Number.isInteger(x) || x < min) {
      throw new RangeError(`Cannot run ${op}: ${name} must be >= ${min}: current value is ${x}`);
    }
  }
  return [v[0], v[1]];
}

function geom(op: string, p: Conv2dParams | ConvTranspose2dParams): Geom {
  if (p === null || typeof p !== "object") {
    throw new TypeError(`Cannot run ${op}: params must be an object: current value is ${p}`);
  }
  const [sh, sw] = pair(op, "stride", p.stride, 1);
  const [ph, pw] = pair(op, "padding", p.padding, 0);
  return { sh, sw, ph, pw };
}

/**
 * Output shape of {@linkcode conv2d}: `Ho = floor((H + 2ph − Kh) / sh) + 1`, likewise `Wo`.
 *
 * @param xs Input shape `[N, C, H, W]`.
 * @param ws Weight shape `[Co, C, Kh, Kw]`.
 * @param p Stride and padding.
 * @returns the output shape `[N, Co, Ho, Wo]`.
 * @throws {TypeError} if the shapes do not fit together or the kernel exceeds the padded input.
 * @throws {RangeError} if a stride is < 1 or a padding < 0.
 * @example
 * ```ts
 * import { conv2dOutputShape } from "./conv.ts";
 * const s = conv2dOutputShape([2, 1, 87, 67], [8, 1, 3, 3], { stride: [2, 2], padding: [1, 1] });
 * if (s.join() !== "2,8,44,34") throw new Error(String(s));
 * ```
 */
export function conv2dOutputShape(
  xs: readonly number[],
  ws: readonly number[],
  p: Conv2dParams,
): Shape4 {
  return convShape("conv2d", xs, ws, geom("conv2d", p));
}

function convShape(op: string, xs: readonly number[], ws: readonly number[], g: Geom): Shape4 {
  checkShape(op, "x shape", xs, 4);
  checkShape(op, "w shape", ws, 4);
  const [n, c, h, w] = xs, [co, ci, kh, kw] = ws;
  if (ci !== c) {
    throw new TypeError(
      `Cannot run ${op}: w must have ${c} input channels to match x shape ${fmtShape(xs)}: ` +
        `current w shape is ${fmtShape(ws)}`,
    );
  }
  if (h + 2 * g.ph < kh || w + 2 * g.pw < kw) {
    throw new TypeError(
      `Cannot run ${op}: kernel ${kh}x${kw} must fit the padded input ` +
        `${h + 2 * g.ph}x${w + 2 * g.pw}: current x shape is ${fmtShape(xs)}`,
    );
  }
  return [
    n,
    co,
    Math.floor((h + 2 * g.ph - kh) / g.sh) + 1,
    Math.floor((w + 2 * g.pw - kw) / g.sw) + 1,
  ];
}

function sameShape(op: string, name: string, actual: readonly number[], expected: Shape4): void {
  checkShape(op, name, actual, 4);
  for (let i = 0; i < 4; i++) {
    if (actual[i] !== expected[i]) {
      throw new TypeError(
        `Cannot run ${op}: ${name} must be ${fmtShape(expected)}: current value is ${
          fmtShape(actual)
        }`,
      );
    }
  }
}

// Range [lo, hi) of output positions o with 0 <= o*stride - pad + k < inLen, o in [0, outLen).
function lowBound(stride: number, pad: number, k: number): number {
  return Math.max(0, Math.ceil((pad - k) / stride));
}
function highBound(outLen: number, inLen: number, stride: number, pad: number, k: number): number {
  return Math.min(outLen, Math.floor((inLen - 1 + pad - k) / stride) + 1);
}

// col[(c*kh + i)*kw + j, oh*wo + ow] = x[c, oh*sh - ph + i, ow*sw - pw + j] (0 outside x).
function im2col(
  x: Float64Array,
  xOff: number,
  c: number,
  h: number,
  w: number,
  kh: number,
  kw: number,
  g: Geom,
  ho: number,
  wo: number,
  col: Float64Array,
): void {
  const { sh, sw, ph, pw } = g;
  const plane = ho * wo;
  let r = 0;
  for (let ci = 0; ci < c; ci++) {
    const xc = xOff + ci * h * w;
    for (let i = 0; i < kh; i++) {
      const ohLo = lowBound(sh, ph, i), ohHi = highBound(ho, h, sh, ph, i);
      for (let j = 0; j < kw; j++, r++) {
        const owLo = lowBound(sw, pw, j), owHi = Math.max(owLo, highBound(wo, w, sw, pw, j));
        const row = r * plane;
        for (let oh = 0; oh < ho; oh++) {
          const dst = row + oh * wo;
          if (oh < ohLo || oh >= ohHi) {
            col.fill(0, dst, dst + wo);
            continue;
          }
          const src = xc + (oh * sh - ph + i) * w - pw + j;
          for (let ow = 0; ow < owLo; ow++) col[dst + ow] = 0;
          for (let ow = owLo; ow < owHi; ow++) col[dst + ow] = x[src + ow * sw];
          for (let ow = owHi; ow < wo; ow++) col[dst + ow] = 0;
        }
      }
    }
  }
}

// Adjoint of im2col: x[c, oh*sh - ph + i, ow*sw - pw + j] += col[(c*kh + i)*kw + j, oh*wo + ow].
function col2imAdd(
  col: Float64Array,
  c: number,
  h: number,
  w: number,
  kh: number,
  kw: number,
  g: Geom,
  ho: number,
  wo: number,
  x: Float64Array,
  xOff: number,
): void {
  const { sh, sw, ph, pw } = g;
  const plane = ho * wo;
  let r = 0;
  for (let ci = 0; ci < c; ci++) {
    const xc = xOff + ci * h * w;
    for (let i = 0; i < kh; i++) {
      const ohLo = lowBound(sh, ph, i), ohHi = highBound(ho, h, sh, ph, i);
      for (let j = 0; j < kw; j++, r++) {
        const owLo = lowBound(sw, pw, j), owHi = highBound(wo, w, sw, pw, j);
        const row = r * plane;
        for (let oh = ohLo; oh < ohHi; oh++) {
          const src = row + oh * wo;
          const dst = xc + (oh * sh - ph + i) * w - pw + j;
          for (let ow = owLo; ow < owHi; ow++) x[dst + ow * sw] += col[src + ow];
        }
      }
    }
  }
}

function isPointwise(kh: number, kw: number, g: Geom): boolean {
  return kh === 1 && kw === 1 && g.sh === 1 && g.sw === 1 && g.ph === 0 && g.pw === 0;
}

// y[n, co, oh, ow] = b[co] + Σ x[n, c, oh*sh-ph+i, ow*sw-pw+j]·w[co, c, i, j], for the given
// output size (ho, wo) — which callers other than conv2d may choose (convTranspose2dInputGrad).
function convCore(
  x: Float64Array,
  n: number,
  c: number,
  h: number,
  w: number,
  wt: Float64Array,
  co: number,
  kh: number,
  kw: number,
  g: Geom,
  ho: number,
  wo: number,
  bias: Float64Array | null,
  y: Float64Array,
): void {
  const k = c * kh * kw, plane = ho * wo;
  const direct = isPointwise(kh, kw, g);
  const col = direct ? x : new Float64Array(k * plane);
  for (let b = 0; b < n; b++) {
    if (!direct) im2col(x, b * c * h * w, c, h, w, kh, kw, g, ho, wo, col);
    const yOff = b * co * plane;
    gemm(co, plane, k, wt, 0, false, col, direct ? b * c * h * w : 0, false, y, yOff, false);
    if (bias) {
      for (let o = 0; o < co; o++) {
        const bv = bias[o], s = yOff + o * plane;
        for (let q = 0; q < plane; q++) y[s + q] += bv;
      }
    }
  }
}

// gw[co, c, i, j] = Σ_{n,oh,ow} gy[n, co, oh, ow]·x[n, c, oh*sh-ph+i, ow*sw-pw+j].
function weightGradCore(
  x: Float64Array,
  n: number,
  c: number,
  h: number,
  w: number,
  gy: Float64Array,
  co: number,
  ho: number,
  wo: number,
  kh: number,
  kw: number,
  g: Geom,
  gw: Float64Array,
): void {
  const k = c * kh * kw, plane = ho * wo;
  const direct = isPointwise(kh, kw, g);
  const col = direct ? x : new Float64Array(k * plane);
  gw.fill(0);
  for (let b = 0; b < n; b++) {
    if (!direct) im2col(x, b * c * h * w, c, h, w, kh, kw, g, ho, wo, col);
    gemm(
      co,
      k,
      plane,
      gy,
      b * co * plane,
      false,
      col,
      direct ? b * c * h * w : 0,
      true,
      gw,
      0,
      true,
    );
  }
}

/**
 * 2-D cross-correlation, like `torch.nn.functional.conv2d` (groups 1, dilation 1):
 * `y[n,o,oh,ow] = b[o] + Σ_{c,i,j} x[n,c,oh·sh−ph+i, ow·sw−pw+j] · w[o,c,i,j]`, with x read as
 * 0 outside its bounds.
 *
 * @param x Input values, `xs` row-major.
 * @param xs Input shape `[N, C, H, W]`.
 * @param w Weights, `ws` row-major.
 * @param ws Weight shape `[Co, C, Kh, Kw]`.
 * @param b Bias of length Co, or null for none.
 * @param p Stride and padding.
 * @param out Optional destination of the output's length, overwritten; must not alias inputs.
 * @returns y with shape {@linkcode conv2dOutputShape}`(xs, ws, p)`.
 * @throws {TypeError} on a shape or length mismatch.
 * @throws {RangeError} on a bad stride or padding.
 * @example
 * ```ts
 * import { conv2d } from "./conv.ts";
 * // 1x1x3x3 input 1..9, 2x2 kernel [[1, 0], [0, 1]]: each output is a diagonal pair sum.
 * const y = conv2d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3], [1, 0, 0, 1], [1, 1, 2, 2], null, {
 *   stride: [1, 1],
 *   padding: [0, 0],
 * });
 * if (y.join() !== "6,8,12,14") throw new Error(String(y));
 * ```
 */
export function conv2d(
  x: ArrayLike<number>,
  xs: readonly number[],
  w: ArrayLike<number>,
  ws: readonly number[],
  b: ArrayLike<number> | null,
  p: Conv2dParams,
  out?: Float64Array,
): Float64Array {
  const op = "conv2d", g = geom(op, p);
  const ys = convShape(op, xs, ws, g);
  checkLength(op, "x", x, numel(xs), `shape ${fmtShape(xs)}`);
  checkLength(op, "w", w, numel(ws), `shape ${fmtShape(ws)}`);
  if (b !== null && b !== undefined) checkLength(op, "b", b, ws[0], "the output channels");
  const y = output(op, out, numel(ys));
  convCore(
    f64(x),
    xs[0],
    xs[1],
    xs[2],
    xs[3],
    f64(w),
    ws[0],
    ws[2],
    ws[3],
    g,
    ys[2],
    ys[3],
    b ? f64(b) : null,
    y,
  );
  return y;
}

/**
 * Gradient of {@linkcode conv2d} with respect to its input:
 * `gx[n,c,h,w] = Σ gy[n,o,oh,ow] · w[o,c,i,j]` over all (o, oh, ow, i, j) with
 * `oh·sh−ph+i = h` and `ow·sw−pw+j = w`.
 *
 * @param gy Gradient of the loss with respect to the conv2d output.
 * @param gys Shape of gy, which must equal conv2dOutputShape(xs, ws, p).
 * @param w Weights `[Co, C, Kh, Kw]`.
 * @param ws Weight shape.
 * @param xs Shape of the forward input `[N, C, H, W]` (not recoverable from gys when the
 *   stride drops trailing rows or columns).
 * @param p Stride and padding of the forward call.
 * @param out Optional destination, overwritten.
 * @returns gx with shape xs.
 * @throws {TypeError} on a shape or length mismatch.
 * @throws {RangeError} on a bad stride or padding.
 */
export function conv2dInputGrad(
  gy: ArrayLike<number>,
  gys: readonly number[],
  w: ArrayLike<number>,
  ws: readonly number[],
  xs: readonly number[],
  p: Conv2dParams,
  out?: Float64Array,
): Float64Array {
  const op = "conv2dInputGrad", g = geom(op, p);
  const ys = convShape(op, xs, ws, g);
  sameShape(op, "gy shape", gys, ys);
  checkLength(op, "gy", gy, numel(ys), `shape ${fmtShape(ys)}`);
  checkLength(op, "w", w, numel(ws), `shape ${fmtShape(ws)}`);
  const [n, c, h, wd] = xs, [co, , kh, kw] = ws, ho = ys[2], wo = ys[3];
  const gx = output(op, out, numel(xs));
  gx.fill(0);
  const GY = f64(gy), W = f64(w);
  const k = c * kh * kw, plane = ho * wo;
  if (isPointwise(kh, kw, g)) {
    for (let b = 0; b < n; b++) {
      gemm(c, plane, co, W, 0, true, GY, b * co * plane, false, gx, b * c * plane, false);
    }
    return gx;
  }
  const gcol = new Float64Array(k * plane);
  for (let b = 0; b < n; b++) {
    gemm(k, plane, co, W, 0, true, GY, b * co * plane, false, gcol, 0, false);
    col2imAdd(gcol, c, h, wd, kh, kw, g, ho, wo, gx, b * c * h * wd);
  }
  return gx;
}

/**
 * Gradient of {@linkcode conv2d} with respect to its weights:
 * `gw[o,c,i,j] = Σ_{n,oh,ow} gy[n,o,oh,ow] · x[n,c,oh·sh−ph+i, ow·sw−pw+j]`.
 *
 * @param x Forward input `[N, C, H, W]`.
 * @param xs Shape of x.
 * @param gy Gradient with respect to the conv2d output.
 * @param gys Shape of gy, which must equal conv2dOutputShape(xs, ws, p).
 * @param ws Weight shape `[Co, C, Kh, Kw]`.
 * @param p Stride and padding of the forward call.
 * @param out Optional destination, overwritten (not accumulated into).
 * @returns gw with shape ws.
 * @throws {TypeError} on a shape or length mismatch.
 * @throws {RangeError} on a bad stride or padding.
 */
export function conv2dWeightGrad(
  x: ArrayLike<number>,
  xs: readonly number[],
  gy: ArrayLike<number>,
  gys: readonly number[],
  ws: readonly number[],
  p: Conv2dParams,
  out?: Float64Array,
): Float64Array {
  const op = "conv2dWeightGrad", g = geom(op, p);
  const ys = convShape(op, xs, ws, g);
  sameShape(op, "gy shape", gys, ys);
  checkLength(op, "x", x, numel(xs), `shape ${fmtShape(xs)}`);
  checkLength(op, "gy", gy, numel(ys), `shape ${fmtShape(ys)}`);
  const gw = output(op, out, numel(ws));
  weightGradCore(
    f64(x),
    xs[0],
    xs[1],
    xs[2],
    xs[3],
    f64(gy),
    ws[0],
    ys[2],
    ys[3],
    ws[2],
    ws[3],
    g,
    gw,
  );
  return gw;
}

/**
 * Gradient with respect to a per-channel bias added to a `[N, C, H, W]` output (conv2d or
 * convTranspose2d): `gb[c] = Σ_{n,h,w} gy[n,c,h,w]`.
 *
 * @param gy Gradient with respect to the output.
 * @param gys Shape of gy `[N, C, H, W]`.
 * @param out Optional destination of length C, overwritten.
 * @returns gb of length C.
 * @throws {TypeError} on a shape or length mismatch.
 * @example
 * ```ts
 * import { biasGrad } from "./conv.ts";
 * const gb = biasGrad([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 1, 2]);
 * if (gb.join() !== "14,22") throw new Error(String(gb)); // 1+2+5+6, 3+4+7+8
 * ```
 */
export function biasGrad(
  gy: ArrayLike<number>,
  gys: readonly number[],
  out?: Float64Array,
): Float64Array {
  const op = "biasGrad";
  checkShape(op, "gy shape", gys, 4);
  checkLength(op, "gy", gy, numel(gys), `shape ${fmtShape(gys)}`);
  const [n, c, h, w] = gys, plane = h * w;
  const gb = output(op, out, c);
  const G = f64(gy);
  for (let o = 0; o < c; o++) {
    let s = 0;
    for (let b = 0; b < n; b++) {
      const off = (b * c + o) * plane;
      for (let q = 0; q < plane; q++) s += G[off + q];
    }
    gb[o] = s;
  }
  return gb;
}

// Output channels from which convTranspose2d scatters channels-last (see there).
const CHANNELS_LAST_MIN_CO = 8;

function transGeom(op: string, p: ConvTranspose2dParams): [Geom, number, number] {
  const g = geom(op, p);
  let oph = 0, opw = 0;
  if (p.outputPadding !== undefined) [oph, opw] = pair(op, "outputPadding", p.outputPadding, 0);
  if (oph >= g.sh || opw >= g.sw) {
    throw new RangeError(
      `Cannot run ${op}: outputPadding must be smaller than stride ${fmtShape([g.sh, g.sw])}: ` +
        `current value is ${fmtShape([oph, opw])}`,
    );
  }
  return [g, oph, opw];
}

function transShape(
  op: string,
  xs: readonly number[],
  ws: readonly number[],
  g: Geom,
  oph: number,
  opw: number,
): Shape4 {
  checkShape(op, "x shape", xs, 4);
  checkShape(op, "w shape", ws, 4);
  const [n, c, h, w] = xs, [ci, co, kh, kw] = ws;
  if (ci !== c) {
    throw new TypeError(
      `Cannot run ${op}: w must have ${c} input channels (first dimension) to match x shape ` +
        `${fmtShape(xs)}: current w shape is ${fmtShape(ws)}`,
    );
  }
  const ho = (h - 1) * g.sh - 2 * g.ph + kh + oph, wo = (w - 1) * g.sw - 2 * g.pw + kw + opw;
  if (ho < 1 || wo < 1) {
    throw new TypeError(
      `Cannot run ${op}: output size must be positive: current value is ${ho}x${wo} for x shape ` +
        `${fmtShape(xs)} and w shape ${fmtShape(ws)}`,
    );
  }
  return [n, co, ho, wo];
}

/**
 * Output shape of {@linkcode convTranspose2d}: `Ho = (H − 1)·sh − 2·ph + Kh + oph`, likewise Wo.
 *
 * @param xs Input shape `[N, Ci, H, W]`.
 * @param ws Weight shape `[Ci, Co, Kh, Kw]` (PyTorch ConvTranspose2d layout).
 * @param p Stride, padding and output padding.
 * @returns the output shape `[N, Co, Ho, Wo]`.
 * @throws {TypeError} if the shapes do not fit together or the output would be empty.
 * @throws {RangeError} on a bad stride, padding or output padding.
 * @example
 * ```ts
 * import { convTranspose2dOutputShape } from "./conv.ts";
 * const s = convTranspose2dOutputShape([1, 64, 5, 5], [64, 32, 3, 3], { stride: [2, 2], padding: [0, 1] });
 * if (s.join() !== "1,32,11,9") throw new Error(String(s));
 * ```
 */
export function convTranspose2dOutputShape(
  xs: readonly number[],
  ws: readonly number[],
  p: ConvTranspose2dParams,
): Shape4 {
  const op = "convTranspose2d";
  const [g, oph, opw] = transGeom(op, p);
  return transShape(op, xs, ws, g, oph, opw);
}

/**
 * 2-D transposed convolution, like `torch.nn.functional.conv_transpose2d` (groups 1,
 * dilation 1), computed directly from its scatter definition:
 * `y[n,o,ih·sh−ph+i, iw·sw−pw+j] += x[n,c,ih,iw] · w[c,o,i,j]` (targets outside y dropped),
 * then `y[n,o,·,·] += b[o]`.
 *
 * Two loop orders of the same scatter are used: plane by plane, or, when there are at least 8
 * output channels and no fewer than input columns, each input value into all output channels
 * of a channels-last scratch plane (longer inner loops; the tests cover both).
 *
 * Mathematically `convTranspose2d(x, w)` equals {@linkcode conv2dInputGrad} with x as gy and
 * the same w (whose `[Co, Ci, ...]` conv layout is this op's `[Ci, Co, ...]`); the two are
 * coded independently so that each tests the other.
 *
 * @param x Input `[N, Ci, H, W]`.
 * @param xs Shape of x.
 * @param w Weights `[Ci, Co, Kh, Kw]`.
 * @param ws Shape of w.
 * @param b Bias of length Co, or null.
 * @param p Stride, padding and output padding.
 * @param out Optional destination, overwritten; must not alias inputs.
 * @returns y with shape {@linkcode convTranspose2dOutputShape}`(xs, ws, p)`.
 * @throws {TypeError} on a shape or length mismatch.
 * @throws {RangeError} on a bad stride, padding or output padding.
 * @example
 * ```ts
 * import { convTranspose2d } from "./conv.ts";
 * // A single 1 scattered with stride 2 places a copy of the 2x2 kernel.
 * const y = convTranspose2d([1, 0], [1, 1, 1, 2], [1, 2, 3, 4], [1, 1, 2, 2], null, {
 *   stride: [2, 2],
 *   padding: [0, 0],
 * });
 * if (y.join() !== "1,2,0,0,3,4,0,0") throw new Error(String(y)); // shape [1, 1, 2, 4]
 * ```
 */
export function convTranspose2d(
  x: ArrayLike<number>,
  xs: readonly number[],
  w: ArrayLike<number>,
  ws: readonly number[],
  b: ArrayLike<number> | null,
  p: ConvTranspose2dParams,
  out?: Float64Array,
): Float64Array {
  const op = "convTranspose2d";
  const [g, oph, opw] = transGeom(op, p);
  const ys = transShape(op, xs, ws, g, oph, opw);
  checkLength(op, "x", x, numel(xs), `shape ${fmtShape(xs)}`);
  checkLength(op, "w", w, numel(ws), `shape ${fmtShape(ws)}`);
  if (b !== null && b !== undefined) checkLength(op, "b", b, ws[1], "the output channels");
  const y = output(op, out, numel(ys));
  y.fill(0);
  const X = f64(x), W = f64(w);
  const [n, ci, h, wd] = xs, [, co, kh, kw] = ws, ho = ys[2], wo = ys[3];
  const { sh, sw, ph, pw } = g;
  const inPlane = h * wd, outPlane = ho * wo, kk = kh * kw;
  // Valid input ranges per kernel offset: ih with 0 <= ih*sh - ph + i < ho.
  const ihLo = new Int32Array(kh), ihHi = new Int32Array(kh);
  const iwLo = new Int32Array(kw), iwHi = new Int32Array(kw);
  for (let i = 0; i < kh; i++) {
    ihLo[i] = lowBound(sh, ph, i);
    ihHi[i] = highBound(h, ho, sh, ph, i);
  }
  for (let j = 0; j < kw; j++) {
    iwLo[j] = lowBound(sw, pw, j);
    iwHi[j] = highBound(wd, wo, sw, pw, j);
  }
  if (co >= CHANNELS_LAST_MIN_CO && co >= wd) {
    // Many output channels and short input rows: scatter each input value into all output
    // channels at once, in a channels-last scratch plane, so the innermost loop is long and
    // contiguous; then transpose that plane back into y.
    const wT = new Float64Array(ci * kk * co); // w permuted to [ci, kh, kw, co]
    for (let c = 0; c < ci; c++) {
      for (let o = 0; o < co; o++) {
        for (let q = 0; q < kk; q++) wT[(c * kk + q) * co + o] = W[(c * co + o) * kk + q];
      }
    }
    const yT = new Float64Array(outPlane * co); // [ho, wo, co]
    for (let bn = 0; bn < n; bn++) {
      yT.fill(0);
      for (let c = 0; c < ci; c++) {
        const xPlane = (bn * ci + c) * inPlane;
        for (let ih = 0; ih < h; ih++) {
          for (let iw = 0; iw < wd; iw++) {
            const xv = X[xPlane + ih * wd + iw];
            for (let i = 0; i < kh; i++) {
              const oh = ih * sh - ph + i;
              if (oh < 0 || oh >= ho) continue;
              for (let j = 0; j < kw; j++) {
                const ow = iw * sw - pw + j;
                if (ow < 0 || ow >= wo) continue;
                const yb = (oh * wo + ow) * co, wb = (c * kk + i * kw + j) * co;
                for (let o = 0; o < co; o++) yT[yb + o] += xv * wT[wb + o];
              }
            }
          }
        }
      }
      for (let o = 0; o < co; o++) {
        const yPlane = (bn * co + o) * outPlane;
        for (let q = 0; q < outPlane; q++) y[yPlane + q] = yT[q * co + o];
      }
    }
  } else {
    for (let bn = 0; bn < n; bn++) {
      for (let c = 0; c < ci; c++) {
        const xPlane = (bn * ci + c) * inPlane;
        for (let o = 0; o < co; o++) {
          const yPlane = (bn * co + o) * outPlane, wBase = (c * co + o) * kk;
          for (let i = 0; i < kh; i++) {
            const hLo = ihLo[i], hHi = ihHi[i];
            for (let j = 0; j < kw; j++) {
              const wv = W[wBase + i * kw + j];
              const lo = iwLo[j], hi = iwHi[j];
              for (let ih = hLo; ih < hHi; ih++) {
                const yRow = yPlane + (ih * sh - ph + i) * wo - pw + j;
                const xRow = xPlane + ih * wd;
                for (let iw = lo; iw < hi; iw++) y[yRow + iw * sw] += wv * X[xRow + iw];
              }
            }
          }
        }
      }
    }
  }
  if (b) {
    const B = f64(b);
    for (let bn = 0; bn < n; bn++) {
      for (let o = 0; o < co; o++) {
        const bv = B[o], s = (bn * co + o) * outPlane;
        for (let q = 0; q < outPlane; q++) y[s + q] += bv;
      }
    }
  }
  return y;
}

/**
 * Gradient of {@linkcode convTranspose2d} with respect to its input:
 * `gx[n,c,ih,iw] = Σ_{o,i,j} gy[n,o,ih·sh−ph+i, iw·sw−pw+j] · w[c,o,i,j]`, which is a conv2d
 * of gy with w read in conv layout `[out = Ci, in = Co, Kh, Kw]`.
 *
 * @param gy Gradient with respect to the convTranspose2d output.
 * @param gys Shape of gy, which must equal convTranspose2dOutputShape(xs, ws, p).
 * @param w Weights `[Ci, Co, Kh, Kw]`.
 * @param ws Shape of w.
 * @param xs Shape of the forward input `[N, Ci, H, W]`.
 * @param p Stride, padding and output padding of the forward call.
 * @param out Optional destination, overwritten.
 * @returns gx with shape xs.
 * @throws {TypeError} on a shape or length mismatch.
 * @throws {RangeError} on a bad stride, padding or output padding.
 */
export function convTranspose2dInputGrad(
  gy: ArrayLike<number>,
  gys: readonly number[],
  w: ArrayLike<number>,
  ws: readonly number[],
  xs: readonly number[],
  p: ConvTranspose2dParams,
  out?: Float64Array,
): Float64Array {
  const op = "convTranspose2dInputGrad";
  const [g, oph, opw] = transGeom(op, p);
  const ys = transShape(op, xs, ws, g, oph, opw);
  sameShape(op, "gy shape", gys, ys);
  checkLength(op, "gy", gy, numel(ys), `shape ${fmtShape(ys)}`);
  checkLength(op, "w", w, numel(ws), `shape ${fmtShape(ws)}`);
  const gx = output(op, out, numel(xs));
  convCore(
    f64(gy),
    ys[0],
    ys[1],
    ys[2],
    ys[3],
    f64(w),
    ws[0],
    ws[2],
    ws[3],
    g,
    xs[2],
    xs[3],
    null,
    gx,
  );
  return gx;
}

/**
 * Gradient of {@linkcode convTranspose2d} with respect to its weights:
 * `gw[c,o,i,j] = Σ_{n,ih,iw} x[n,c,ih,iw] · gy[n,o,ih·sh−ph+i, iw·sw−pw+j]`.
 *
 * @param x Forward input `[N, Ci, H, W]`.
 * @param xs Shape of x.
 * @param gy Gradient with respect to the convTranspose2d output.
 * @param gys Shape of gy, which must equal convTranspose2dOutputShape(xs, ws, p).
 * @param ws Weight shape `[Ci, Co, Kh, Kw]`.
 * @param p Stride, padding and output padding of the forward call.
 * @param out Optional destination, overwritten (not accumulated into).
 * @returns gw with shape ws.
 * @throws {TypeError} on a shape or length mismatch.
 * @throws {RangeError} on a bad stride, padding or output padding.
 */
export function convTranspose2dWeightGrad(
  x: ArrayLike<number>,
  xs: readonly number[],
  gy: ArrayLike<number>,
  gys: readonly number[],
  ws: readonly number[],
  p: ConvTranspose2dParams,
  out?: Float64Array,
): Float64Array {
  const op = "convTranspose2dWeightGrad";
  const [g, oph, opw] = transGeom(op, p);
  const ys = transShape(op, xs, ws, g, oph, opw);
  sameShape(op, "gy shape", gys, ys);
  checkLength(op, "x", x, numel(xs), `shape ${fmtShape(xs)}`);
  checkLength(op, "gy", gy, numel(ys), `shape ${fmtShape(ys)}`);
  const gw = output(op, out, numel(ws));
  // The same sum as conv2dWeightGrad with gy as the conv input and x as its output gradient.
  weightGradCore(
    f64(gy),
    ys[0],
    ys[1],
    ys[2],
    ys[3],
    f64(x),
    xs[1],
    xs[2],
    xs[3],
    ws[2],
    ws[3],
    g,
    gw,
  );
  return gw;
}
