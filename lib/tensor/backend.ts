/**
 * The compute interface every backend implements: one method per primitive,
 * tensors in and new tensors out. The WebGPU backend maps the six convolution
 * primitives onto three WGSL kernels; the CPU backend calls the Float64
 * reference in lib/cpu for each one directly.
 *
 * @module
 */
import type { Tensor } from "./tensor.ts";

/** Per-axis [h, w] stride and padding. */
export interface ConvOpts {
  /** Stride [h, w]. */
  stride: [number, number];
  /** Zero padding [h, w]. */
  padding: [number, number];
}

/** Hyper-parameters of an Adam step (PyTorch semantics); t is the 1-based step. */
export interface AdamHyper {
  /** Learning rate. */
  lr: number;
  /** Decay rate of the first moment estimate. */
  beta1: number;
  /** Decay rate of the second moment estimate. */
  beta2: number;
  /** Added to the denominator for stability. */
  eps: number;
  /** L2 penalty added to the gradient. */
  weightDecay: number;
  /** The step, from 1 (for the bias corrections). */
  t: number;
}

/** Hyper-parameters of an SGD step (PyTorch semantics). */
export interface SgdHyper {
  /** Learning rate. */
  lr: number;
  /** Momentum factor. */
  momentum: number;
  /** Dampening of the momentum. */
  dampening: number;
  /** L2 penalty added to the gradient. */
  weightDecay: number;
  /** Nesterov momentum. */
  nesterov: boolean;
  /** True on the first step, when the momentum buffer is initialised to the gradient. */
  first: boolean;
}

/**
 * The backward of the leaky ReLU (and bias) of the layer whose output y is a conv's input,
 * done by that conv's input-gradient primitive: it returns dL/dz = dL/dy · (y > 0 ? 1 : slope)
 * for z = y's pre-activation, and writes Σ dL/dz over every axis but 1 into `gb` when given.
 * On WebGPU this is the conv kernels' epilogue ({@linkcode ActGrad} in lib/gpu/kernels.ts).
 */
export interface InputAct {
  /** The producing layer's output (the conv's input x). */
  y: Tensor;
  /** Negative slope of that layer's leaky ReLU. */
  slope: number;
  /** The producing layer's bias-gradient slot [C], or null. */
  gb: Tensor | null;
}

/** Primitive kernels of one backend. */
export interface Backend {
  /** Which backend this is. */
  readonly name: "webgpu" | "cpu";
  /**
   * Whether the conv ops fold the leaky ReLU backward of the layer before into their input
   * gradients ({@linkcode InputAct}); decided when an op is recorded.
   *
   * @param batch The conv's batch (samples of its input).
   */
  foldsInputAct(batch: number): boolean;
  /** Uploads values as a new tensor of `shape`. */
  fromArray(data: Float32Array, shape: readonly number[]): Tensor;
  /** A new tensor of `shape` filled with `value`. */
  fill(shape: readonly number[], value: number): Tensor;
  /** Reads tensors back, in order. */
  read(ts: Tensor[]): Promise<Float32Array[]>;
  /** dst = src (same size; dst is overwritten in place). */
  copyInto(src: Tensor, dst: Tensor): void;
  /** Zeroes a tensor in place. */
  zeroInto(dst: Tensor): void;

  /** y = act(conv2d(x, w) + b), act = leaky ReLU with `slope` (1 = identity). */
  conv2d(x: Tensor, w: Tensor, b: Tensor | null, o: ConvOpts, slope: number): Tensor;
  /** dL/dx, or with `act` the gradient before the leaky ReLU that made x ({@linkcode InputAct}). */
  conv2dInputGrad(
    gy: Tensor,
    w: Tensor,
    xShape: readonly number[],
    o: ConvOpts,
    act?: InputAct | null,
  ): Tensor;
  /**
   * The weight gradient. The primitives that make a parameter's gradient take an optional
   * `into` (the parameter's gradient slot, of the result's shape): they then write the
   * result there and return `into` itself.
   */
  conv2dWeightGrad(
    x: Tensor,
    gy: Tensor,
    wShape: readonly number[],
    o: ConvOpts,
    into?: Tensor | null,
  ): Tensor;
  /** Transposed conv with output size [Ho, Wo] given (it carries output_padding). */
  convTranspose2d(
    x: Tensor,
    w: Tensor,
    b: Tensor | null,
    o: ConvOpts,
    outHW: [number, number],
    slope: number,
  ): Tensor;
  /** As {@linkcode Backend.conv2dInputGrad}, for a transposed conv. */
  convTranspose2dInputGrad(
    gy: Tensor,
    w: Tensor,
    xShape: readonly number[],
    o: ConvOpts,
    act?: InputAct | null,
  ): Tensor;
  /** As {@linkcode Backend.conv2dWeightGrad}, for a transposed conv. */
  convTranspose2dWeightGrad(
    x: Tensor,
    gy: Tensor,
    wShape: readonly number[],
    o: ConvOpts,
    into?: Tensor | null,
  ): Tensor;
  /** Sum of g [N, C, ...] over every axis but 1 (written to `into` when given). */
  biasGrad(g: Tensor, into?: Tensor | null): Tensor;
  /**
   * The leaky ReLU backward and the bias gradient together: g = leakyGrad(y, gy, slope) and
   * biasGrad(g), in one pass on the GPU (the bias gradient written to `gbInto` when given).
   */
  leakyGradBias(
    y: Tensor,
    gy: Tensor,
    slope: number,
    gbInto?: Tensor | null,
  ): [Tensor, Tensor];
  /** C [m,n] = act(op(A)·op(B) + bias[n]) (written to `into` when given). */
  matmul(
    a: Tensor,
    b: Tensor,
    m: number,
    n: number,
    k: number,
    ta: boolean,
    tb: boolean,
    bias: Tensor | null,
    slope: number,
    into?: Tensor | null,
  ): Tensor;
  /** y = leaky ReLU of x with negative slope `slope`. */
  leaky(x: Tensor, slope: number): Tensor;
  /** gx = gy·(y > 0 ? 1 : slope), y the activation's output. */
  leakyGrad(y: Tensor, gy: Tensor, slope: number): Tensor;
  /** alpha·x + beta·y, elementwise. */
  axpby(x: Tensor, y: Tensor, alpha: number, beta: number): Tensor;
  /** x [N,C,H,W] → x[:, :, top:H−bottom, left:W−right]. */
  crop(x: Tensor, c: [number, number, number, number]): Tensor;
  /** The gradient of {@linkcode Backend.crop}: gy placed in the window of a zero tensor of `xShape`. */
  cropGrad(gy: Tensor, xShape: readonly number[], c: [number, number, number, number]): Tensor;
  /** [1]: scale·Σx. */
  sum(x: Tensor, scale: number): Tensor;
  /** [1]: mean((a − b)²). */
  mse(a: Tensor, b: Tensor): Tensor;
  /** A tensor of `shape` filled with scale·gl[0] (the gradient of scale·Σx). */
  broadcast(gl: Tensor, shape: readonly number[], scale: number): Tensor;
  /** 2(a − b)/numel · gl[0]. */
  mseGrad(a: Tensor, b: Tensor, gl: Tensor): Tensor;
  /** [1]: mean((crop(a) − b)²) for a [N,C,H,W] and b the crop's shape, without the crop's copy. */
  cropMse(a: Tensor, b: Tensor, c: [number, number, number, number]): Tensor;
  /**
   * The gradient of cropMse for a: 2(a − b)/numel(b) · gl[0] inside the window, 0 outside;
   * with `act` (whose `y` is a) the gradient before the leaky ReLU that made a.
   */
  cropMseGrad(
    a: Tensor,
    b: Tensor,
    gl: Tensor,
    c: [number, number, number, number],
    act?: InputAct | null,
  ): Tensor;
  /** Student's t soft assignment q [N, K] of codes z [N, D] to centres mu [K, D]. */
  softAssign(z: Tensor, mu: Tensor, alpha: number): Tensor;
  /** DEC target distribution p [N, K] of q [N, K]. */
  targetDistribution(q: Tensor): Tensor;
  /** [1]: KL(p‖q), batch mean. */
  klDivergence(p: Tensor, q: Tensor): Tensor;
  /** Gradients of KL(p‖q) · gl[0] for z and mu (null where not needed). */
  klGrad(
    z: Tensor,
    mu: Tensor,
    p: Tensor,
    q: Tensor,
    gl: Tensor,
    alpha: number,
    needZ: boolean,
    needMu: boolean,
  ): [Tensor | null, Tensor | null];
  /** One Adam step, updating `param`, `m` and `v` in place. */
  adam(grad: Tensor, param: Tensor, m: Tensor, v: Tensor, h: AdamHyper): void;
  /** One SGD step, updating `param` and the momentum buffer `buf` in place. */
  sgd(grad: Tensor, param: Tensor, buf: Tensor, h: SgdHyper): void;
}
