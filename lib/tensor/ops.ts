/**
 * Differentiable ops. Each computes its output with the tensor's backend and,
 * when gradients are wanted, attaches a {@linkcode Node} whose backward closure
 * sits a few lines below the forward call.
 *
 * @module
 */
import { backendOf } from "./backends.ts";
import type { Backend, ConvOpts } from "./backend.ts";
import { type BackwardFold, isGradEnabled, type Node, type Tensor } from "./tensor.ts";

function record(
  y: Tensor,
  name: string,
  inputs: (Tensor | null)[],
  backward: Node["backward"],
  fused?: Pick<Node, "act" | "foldsInputAct">,
): Tensor {
  const ins = inputs.filter((t): t is Tensor => t !== null);
  if (isGradEnabled() && ins.some((t) => t.requiresGrad)) {
    y.requiresGrad = true;
    // Inputs that are null (absent bias) are dropped; backward returns grads for the kept ones.
    y.node = { name, inputs: ins, backward, ...fused };
  }
  return y;
}

/**
 * What a conv records for {@linkcode BackwardFold}: its own leaky ReLU (if any), and whether
 * its input gradient can do the backward of its input's.
 */
function convFusion(
  k: Backend,
  x: Tensor,
  slope: number,
  b: Tensor | null,
): Pick<Node, "act" | "foldsInputAct"> {
  return {
    act: slope !== 1 ? { slope, bias: b } : undefined,
    foldsInputAct: k.foldsInputAct(x.shape[0]),
  };
}

function checkDevice(op: string, ...ts: (Tensor | null)[]): void {
  const d = ts.find((t) => t)!.device;
  for (const t of ts) {
    if (t && t.device !== d) {
      throw new TypeError(
        `Cannot run ${op}: all tensors must be on one device: found ${d} and ${t.device}`,
      );
    }
  }
}

/**
 * Refuses tensors with a zero dimension, on every backend alike: the CPU reference refuses
 * them, and on WebGPU they reached the kernels as empty bindings and NaN grids, which failed
 * with WebGPU's messages (or, for some ops, gave NaN) instead of naming the op.
 */
function checkNotEmpty(op: string, ...named: [string, Tensor | null][]): void {
  for (const [name, t] of named) {
    if (t && t.shape.some((d) => d === 0)) {
      throw new TypeError(
        `Cannot run ${op}: ${name} must not be empty (a zero dimension): found [${t.shape}]`,
      );
    }
  }
}

function checkConv(
  op: string,
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  o: ConvOpts,
  wCh: number,
): void {
  if (x.shape.length !== 4) {
    throw new TypeError(`Cannot run ${op}: x must be [N,C,H,W]: found [${x.shape}]`);
  }
  if (w.shape.length !== 4) {
    throw new TypeError(`Cannot run ${op}: weight must be 4-D: found [${w.shape}]`);
  }
  if (x.shape[1] !== w.shape[wCh]) {
    throw new TypeError(
      `Cannot run ${op}: x has ${x.shape[1]} channels: weight expects ${w.shape[wCh]}`,
    );
  }
  // Options left out (no padding given) are named as missing, not read as undefined.
  const named = [["stride", o?.stride], ["padding", o?.padding]] as [string, unknown][];
  if (o && "outputPadding" in o && o.outputPadding !== undefined) {
    named.push(["output padding", o.outputPadding]);
  }
  for (const [k, v] of named) {
    if (!Array.isArray(v)) {
      throw new TypeError(`Cannot run ${op}: ${k} must be [h, w] integers: found ${v}`);
    }
    if (v.length !== 2 || !v.every((s) => Number.isInteger(s))) {
      throw new TypeError(`Cannot run ${op}: ${k} must be [h, w] integers: found [${v}]`);
    }
  }
  if (o.stride.some((s) => s < 1)) {
    throw new RangeError(`Cannot run ${op}: stride must be >= 1: current value is [${o.stride}]`);
  }
  if (o.padding.some((p) => p < 0)) {
    throw new RangeError(`Cannot run ${op}: padding must be >= 0: current value is [${o.padding}]`);
  }
  const outCh = wCh === 1 ? w.shape[0] : w.shape[1];
  if (b && (b.shape.length !== 1 || b.shape[0] !== outCh)) {
    throw new TypeError(`Cannot run ${op}: bias must be [${outCh}]: found [${b.shape}]`);
  }
  checkNotEmpty(op, ["x", x], ["weight", w]);
}

/**
 * The start of a layer's backward: the gradient before its leaky ReLU, and the bias gradient
 * when the bias wants one (null otherwise, or when the op after wrote it: {@linkcode
 * BackwardFold}). With an activation and a bias both come from one fused pass.
 */
function leakyBias(
  k: Backend,
  y: Tensor,
  gy: Tensor,
  slope: number,
  b: Tensor | null,
  gbInto: Tensor | null | undefined,
  fold?: BackwardFold,
): [Tensor, Tensor | null] {
  const wantBias = b?.requiresGrad ?? false;
  // The op after did the ReLU's backward (and the bias gradient unless it is left).
  if (fold?.folded) return [gy, fold.folded.biasLeft && wantBias ? k.biasGrad(gy, gbInto) : null];
  if (slope === 1) return [gy, wantBias ? k.biasGrad(gy, gbInto) : null];
  if (wantBias) return k.leakyGradBias(y, gy, slope, gbInto);
  return [k.leakyGrad(y, gy, slope), null];
}

/** Options of {@linkcode conv2d}. */
export interface Conv2dOptions extends ConvOpts {
  /** Slope of a fused leaky ReLU after the bias; 1 (default) for none. */
  slope?: number;
}

/**
 * 2-D convolution (PyTorch `conv2d`, groups 1) with optional fused leaky ReLU.
 *
 * @param x Input [N, Ci, H, W].
 * @param w Weight [Co, Ci, KH, KW].
 * @param b Bias [Co] or null.
 * @param o Stride and padding per axis, and the activation slope.
 * @returns y [N, Co, Ho, Wo].
 */
export function conv2d(x: Tensor, w: Tensor, b: Tensor | null, o: Conv2dOptions): Tensor {
  checkDevice("conv2d", x, w, b);
  checkConv("conv2d", x, w, b, o, 1);
  const slope = checkSlope("conv2d", o.slope ?? 1);
  const ho = Math.floor((x.shape[2] + 2 * o.padding[0] - w.shape[2]) / o.stride[0]) + 1;
  const wo = Math.floor((x.shape[3] + 2 * o.padding[1] - w.shape[3]) / o.stride[1]) + 1;
  if (ho < 1 || wo < 1) {
    throw new RangeError(
      `Cannot run conv2d: input [${x.shape}] is smaller than the kernel [${w.shape}]`,
    );
  }
  const k = backendOf(x);
  const y = k.conv2d(x, w, b, o, slope);
  return record(y, "conv2d", [x, w, b], (gy, into, fold) => {
    const [g, gb] = leakyBias(k, y, gy, slope, b, into?.[2], fold);
    const out = [
      x.requiresGrad ? k.conv2dInputGrad(g, w, x.shape, o, fold?.inputAct) : null,
      w.requiresGrad ? k.conv2dWeightGrad(x, g, w.shape, o, into?.[1]) : null,
      ...(b ? [gb] : []),
    ];
    if (g !== gy) g.dispose();
    return out;
  }, convFusion(k, x, slope, b));
}

/** Options of {@linkcode convTranspose2d}. */
export interface ConvTranspose2dOptions extends ConvOpts {
  /** Extra rows/cols added to one side of the output (PyTorch output_padding). */
  outputPadding?: [number, number];
  /** Slope of a fused leaky ReLU after the bias; 1 (default) for none. */
  slope?: number;
}

/**
 * Transposed 2-D convolution (PyTorch `ConvTranspose2d` semantics) with optional
 * fused leaky ReLU: Ho = (H − 1)·sh − 2·ph + KH + output_padding_h.
 *
 * @param x Input [N, A, H, W].
 * @param w Weight [A, B, KH, KW].
 * @param b Bias [B] or null.
 * @param o Stride, padding, output padding and activation slope.
 * @returns y [N, B, Ho, Wo].
 */
export function convTranspose2d(
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  o: ConvTranspose2dOptions,
): Tensor {
  checkDevice("conv_transpose2d", x, w, b);
  checkConv("conv_transpose2d", x, w, b, o, 0);
  const op = o.outputPadding ?? [0, 0];
  if (op.some((v, i) => v < 0 || v >= Math.max(o.stride[i], 1))) {
    throw new RangeError(
      `Cannot run conv_transpose2d: output padding must be in [0, stride): current value is [${op}]`,
    );
  }
  const ho = (x.shape[2] - 1) * o.stride[0] - 2 * o.padding[0] + w.shape[2] + op[0];
  const wo = (x.shape[3] - 1) * o.stride[1] - 2 * o.padding[1] + w.shape[3] + op[1];
  if (ho < 1 || wo < 1) {
    throw new RangeError(`Cannot run conv_transpose2d: output size [${ho}, ${wo}] is empty`);
  }
  const slope = checkSlope("conv_transpose2d", o.slope ?? 1);
  const conv = { stride: o.stride, padding: o.padding };
  const k = backendOf(x);
  const y = k.convTranspose2d(x, w, b, conv, [ho, wo], slope);
  return record(y, "conv_transpose2d", [x, w, b], (gy, into, fold) => {
    const [g, gb] = leakyBias(k, y, gy, slope, b, into?.[2], fold);
    const out = [
      x.requiresGrad ? k.convTranspose2dInputGrad(g, w, x.shape, conv, fold?.inputAct) : null,
      w.requiresGrad ? k.convTranspose2dWeightGrad(x, g, w.shape, conv, into?.[1]) : null,
      ...(b ? [gb] : []),
    ];
    if (g !== gy) g.dispose();
    return out;
  }, convFusion(k, x, slope, b));
}

/**
 * y = act(x·Wᵀ + b) (PyTorch `Linear`), optional fused leaky ReLU.
 *
 * @param x Input [N, in].
 * @param w Weight [out, in].
 * @param b Bias [out] or null.
 * @param slope Leaky ReLU slope; 1 for none.
 * @returns y [N, out].
 */
export function linear(x: Tensor, w: Tensor, b: Tensor | null, slope = 1): Tensor {
  checkDevice("linear", x, w, b);
  if (x.shape.length !== 2 || w.shape.length !== 2 || x.shape[1] !== w.shape[1]) {
    throw new TypeError(
      `Cannot run linear: expected x [N, in] and weight [out, in]: found [${x.shape}] and [${w.shape}]`,
    );
  }
  const [n, inF] = x.shape, outF = w.shape[0];
  if (b && (b.shape.length !== 1 || b.shape[0] !== outF)) {
    throw new TypeError(`Cannot run linear: bias must be [${outF}]: found [${b.shape}]`);
  }
  checkNotEmpty("linear", ["x", x], ["weight", w]);
  checkSlope("linear", slope);
  const k = backendOf(x);
  const y = k.matmul(x, w, n, outF, inF, false, true, b, slope);
  return record(y, "linear", [x, w, b], (gy, into) => {
    const [g, gb] = leakyBias(k, y, gy, slope, b, into?.[2]);
    const out = [
      x.requiresGrad ? k.matmul(g, w, n, inF, outF, false, false, null, 1) : null,
      w.requiresGrad ? k.matmul(g, x, outF, inF, n, true, false, null, 1, into?.[1]) : null,
      ...(b ? [gb] : []),
    ];
    if (g !== gy) g.dispose();
    return out;
  });
}

/**
 * C = A·B for 2-D tensors.
 *
 * @param a [M, K].
 * @param b [K, N].
 * @returns [M, N].
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  checkDevice("matmul", a, b);
  if (a.shape.length !== 2 || b.shape.length !== 2 || a.shape[1] !== b.shape[0]) {
    throw new TypeError(
      `Cannot run matmul: expected [M, K]·[K, N]: found [${a.shape}]·[${b.shape}]`,
    );
  }
  checkNotEmpty("matmul", ["a", a], ["b", b]);
  const [m, kk] = a.shape, n = b.shape[1];
  const k = backendOf(a);
  const y = k.matmul(a, b, m, n, kk, false, false, null, 1);
  return record(y, "matmul", [a, b], (gy) => [
    a.requiresGrad ? k.matmul(gy, b, m, kk, n, false, true, null, 1) : null,
    b.requiresGrad ? k.matmul(a, gy, kk, n, m, true, false, null, 1) : null,
  ]);
}

/**
 * A leaky ReLU's slope, checked: the backward tells the branch by the output's sign, which
 * only a positive slope keeps.
 */
function checkSlope(op: string, slope: number): number {
  if (!(slope > 0)) {
    throw new RangeError(`Cannot run ${op}: slope must be > 0: current value is ${slope}`);
  }
  return slope;
}

/**
 * Leaky ReLU: x if x > 0 else slope·x.
 *
 * @param x Input.
 * @param slope Negative slope, > 0.
 * @returns y.
 */
export function leakyRelu(x: Tensor, slope: number): Tensor {
  checkSlope("leaky_relu", slope);
  const k = backendOf(x);
  const y = k.leaky(x, slope);
  return record(y, "leaky_relu", [x], (gy) => [k.leakyGrad(y, gy, slope)]);
}

/**
 * Crops a [N,C,H,W] tensor: x[:, :, top:H−bottom, left:W−right].
 *
 * @param x Input.
 * @param c [top, bottom, left, right], each >= 0.
 * @returns the crop.
 */
export function crop2d(x: Tensor, c: [number, number, number, number]): Tensor {
  if (x.shape.length !== 4) {
    throw new TypeError(`Cannot run crop2d: x must be [N,C,H,W]: found [${x.shape}]`);
  }
  if (
    c.some((v) => !Number.isInteger(v) || v < 0) || c[0] + c[1] >= x.shape[2] ||
    c[2] + c[3] >= x.shape[3]
  ) {
    throw new RangeError(`Cannot run crop2d: crop [${c}] does not fit [${x.shape}]`);
  }
  checkNotEmpty("crop2d", ["x", x]);
  const k = backendOf(x);
  const y = k.crop(x, c);
  return record(y, "crop2d", [x], (gy) => [k.cropGrad(gy, x.shape, c)]);
}

/**
 * z = alpha·a + beta·b, elementwise over the flat values (the same size; z takes a's shape, and
 * b's gradient comes back in b's shape).
 *
 * @param a First term.
 * @param b Second term, of a's size.
 * @param alpha Weight of a.
 * @param beta Weight of b.
 * @returns z.
 */
export function axpby(a: Tensor, b: Tensor, alpha = 1, beta = 1): Tensor {
  checkDevice("add", a, b);
  if (a.size !== b.size) {
    throw new TypeError(
      `Cannot add: [${a.shape}] and [${b.shape}] differ in size (${a.size} against ${b.size} values)`,
    );
  }
  const k = backendOf(a);
  const z = k.axpby(a, b, alpha, beta);
  return record(z, "axpby", [a, b], (gy) => {
    const f = backendOf(gy);
    // The gradient in the input's shape: a view of the scaled gy, which is then let go (the
    // view holds its buffer), or the buffer outlives the view outside a tidy.
    const scaled = (w: number, shape: readonly number[]) => {
      const g = f.axpby(gy, gy, w, 0), v = g.reshape(shape);
      g.dispose();
      return v;
    };
    return [
      a.requiresGrad ? scaled(alpha, a.shape) : null,
      b.requiresGrad ? scaled(beta, b.shape) : null,
    ];
  });
}

/**
 * Sum of all elements, times `scale`.
 *
 * @param x Input.
 * @param scale Factor (1/numel gives the mean).
 * @returns a [1] tensor.
 */
export function sum(x: Tensor, scale = 1): Tensor {
  const k = backendOf(x);
  const y = k.sum(x, scale);
  return record(y, "sum", [x], (gy) => [k.broadcast(gy, x.shape, scale)]);
}

/**
 * Mean of all elements.
 *
 * @param x Input.
 * @returns a [1] tensor.
 */
export function mean(x: Tensor): Tensor {
  return sum(x, 1 / x.size);
}

/**
 * Mean squared error, mean over all elements (PyTorch `mse_loss`). The target
 * gets no gradient.
 *
 * @param pred Prediction.
 * @param target Target, same size.
 * @returns a [1] tensor.
 */
export function mseLoss(pred: Tensor, target: Tensor): Tensor {
  checkDevice("mse_loss", pred, target);
  if (pred.size !== target.size) {
    throw new TypeError(
      `Cannot run mse_loss: prediction [${pred.shape}] and target [${target.shape}] differ in size`,
    );
  }
  checkNotEmpty("mse_loss", ["prediction", pred]);
  const k = backendOf(pred);
  const y = k.mse(pred, target);
  return record(y, "mse_loss", [pred], (gy) => [k.mseGrad(pred, target, gy)]);
}

/**
 * Mean squared error between a cropped prediction and a target, without materialising the
 * crop: mseLoss(crop2d(pred, c), target) in one pass each way (the decoder's output is
 * cropped to the input's size, and training needs only the loss and its gradient).
 *
 * @param pred Uncropped prediction [N, C, H, W].
 * @param target Target [N, C, H − top − bottom, W − left − right].
 * @param c Crop [top, bottom, left, right].
 * @returns the loss [1].
 */
export function croppedMseLoss(
  pred: Tensor,
  target: Tensor,
  c: [number, number, number, number],
): Tensor {
  checkDevice("cropped_mse_loss", pred, target);
  const s = pred.shape;
  const want = s.length === 4 ? [s[0], s[1], s[2] - c[0] - c[1], s[3] - c[2] - c[3]] : null;
  if (
    !want || c.some((v) => !Number.isInteger(v) || v < 0) || want[2] < 1 || want[3] < 1 ||
    target.shape.length !== 4 || target.shape.some((d, i) => d !== want[i])
  ) {
    throw new TypeError(
      `Cannot run cropped_mse_loss: prediction [${s}] cropped by [${c}] must match target [${target.shape}]`,
    );
  }
  checkNotEmpty("cropped_mse_loss", ["prediction", pred]);
  const k = backendOf(pred);
  const y = k.cropMse(pred, target, c);
  // The gradient pass reads every prediction anyway, so it also does the backward of the leaky
  // ReLU that made it, on every adapter (BackwardFold).
  return record(
    y,
    "cropped_mse_loss",
    [pred],
    (gy, _into, fold) => [k.cropMseGrad(pred, target, gy, c, fold?.inputAct)],
    { foldsInputAct: true },
  );
}

/**
 * Student's t soft assignment (DEC): q[i,j] ∝ (1 + |z_i − mu_j|²/α)^(−(α+1)/2).
 * Not differentiable on its own; {@linkcode decKlLoss} fuses it with the loss.
 *
 * @param z Embeddings [N, D].
 * @param mu Centroids [K, D].
 * @param alpha Degrees of freedom, > 0.
 * @returns q [N, K], rows summing to 1.
 */
export function softAssign(z: Tensor, mu: Tensor, alpha = 1): Tensor {
  checkDevice("soft_assign", z, mu);
  checkDec(z, mu, alpha);
  return backendOf(z).softAssign(z, mu, alpha);
}

function checkDec(z: Tensor, mu: Tensor, alpha: number): void {
  if (z.shape.length !== 2 || mu.shape.length !== 2 || z.shape[1] !== mu.shape[1]) {
    throw new TypeError(
      `Cannot run soft assignment: expected z [N, D] and mu [K, D]: found [${z.shape}] and [${mu.shape}]`,
    );
  }
  if (!(alpha > 0)) {
    throw new RangeError(
      `Cannot run soft assignment: alpha must be > 0: current value is ${alpha}`,
    );
  }
  checkNotEmpty("soft assignment", ["z", z], ["mu", mu]);
}

/**
 * DEC target distribution p = (q²/f) renormalised per row, f = column sums of q.
 *
 * @param q Soft assignments [N, K].
 * @returns p [N, K].
 */
export function targetDistribution(q: Tensor): Tensor {
  if (q.shape.length !== 2) {
    throw new TypeError(`Cannot run target distribution: q must be [N, K]: found [${q.shape}]`);
  }
  checkNotEmpty("target distribution", ["q", q]);
  return backendOf(q).targetDistribution(q);
}

/**
 * The DEC loss KL(p‖q(z, mu)), batch mean, with gradients to z and mu (p constant).
 *
 * @param z Embeddings [N, D].
 * @param mu Centroids [K, D].
 * @param p Target distribution [N, K].
 * @param alpha Degrees of freedom.
 * @returns the loss [1] and q [N, K] (q carries no graph).
 */
export function decKlLoss(
  z: Tensor,
  mu: Tensor,
  p: Tensor,
  alpha = 1,
): { loss: Tensor; q: Tensor } {
  checkDevice("dec_kl_loss", z, mu, p);
  checkDec(z, mu, alpha);
  if (p.shape[0] !== z.shape[0] || p.shape[1] !== mu.shape[0]) {
    throw new TypeError(
      `Cannot run dec_kl_loss: p must be [${z.shape[0]}, ${mu.shape[0]}]: found [${p.shape}]`,
    );
  }
  const k = backendOf(z);
  const q = k.softAssign(z, mu, alpha);
  const loss = k.klDivergence(p, q);
  record(
    loss,
    "dec_kl_loss",
    [z, mu],
    (gy) => k.klGrad(z, mu, p, q, gy, alpha, z.requiresGrad, mu.requiresGrad),
  );
  return { loss, q };
}

/**
 * Flattens all axes after the first: [N, ...] → [N, prod(...)].
 *
 * @param x Input.
 * @returns the view.
 */
export function flatten(x: Tensor): Tensor {
  return x.reshape([x.shape[0], -1]);
}
