/**
 * Layers: Conv2d, ConvTranspose2d, Linear, LeakyReLU, Flatten, Reshape, Crop2d
 * and Sequential, with PyTorch's parameter names and default initialisation.
 *
 * A layer declares its parameters as {@linkcode ParamSpec}s when built; a model
 * then places them all in one {@linkcode ParameterSet} and binds the tensors
 * back (see {@linkcode Module.bind}). Sequential fuses a Conv2d,
 * ConvTranspose2d or Linear followed by a LeakyReLU into one kernel call.
 *
 * @module
 */
import * as ops from "../tensor/ops.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { Rng } from "../util/rng.ts";
import { fanIn, uniform } from "./init.ts";
import type { ParameterSet, ParamSpec } from "./params.ts";

/** A layer or a container of layers. */
export abstract class Module {
  /** Child modules by attribute name (PyTorch-style naming). */
  readonly children: [string, Module][] = [];
  /** Own parameter shapes by attribute name ("weight", "bias"). */
  readonly paramShapes: [string, number[]][] = [];
  /** Own parameter tensors, bound from a ParameterSet. */
  readonly params: Map<string, Tensor> = new Map();
  #init = new Map<string, Float32Array>();

  /** Declares an own parameter with its initial values. */
  protected declare_(name: string, shape: number[], init: Float32Array): void {
    this.paramShapes.push([name, shape]);
    this.#init.set(name, init);
  }

  /**
   * Lists the parameters to create for this module.
   *
   * @param prefix Name prefix, e.g. "encoder.".
   * @returns every parameter spec of this module and its children, PyTorch-named.
   */
  specs(prefix = ""): ParamSpec[] {
    const out: ParamSpec[] = this.paramShapes.map(([n, s]) => ({
      name: prefix + n,
      shape: s,
      init: this.#init.get(n)!,
    }));
    for (const [n, c] of this.children) out.push(...c.specs(`${prefix}${n}.`));
    return out;
  }

  /**
   * Binds parameter tensors from a set (after it is created from {@linkcode Module.specs}).
   *
   * @param set The parameter set.
   * @param prefix Name prefix.
   */
  bind(set: ParameterSet, prefix = ""): void {
    for (const [n] of this.paramShapes) {
      const t = set.byName.get(prefix + n);
      if (!t) throw new Error(`Cannot bind parameters: ${prefix + n} is missing`);
      this.params.set(n, t);
    }
    for (const [n, c] of this.children) c.bind(set, `${prefix}${n}.`);
  }

  /** Runs the layer. */
  abstract forward(x: Tensor): Tensor;

  /** Output shape for an input shape (batch included). */
  abstract outputShape(input: readonly number[]): number[];
}

/** A layer that can fuse a following leaky ReLU into its kernel. */
export interface Fusable {
  /** Runs the layer with a leaky ReLU of negative slope `slope` fused in (1: none). */
  forwardAct(x: Tensor, slope: number): Tensor;
}

function isFusable(m: Module): m is Module & Fusable {
  return "forwardAct" in m;
}

function pair(v: number | [number, number]): [number, number] {
  return typeof v === "number" ? [v, v] : v;
}

/** Options of {@linkcode Conv2d}. */
export interface Conv2dConfig {
  kernelSize: number | [number, number];
  stride?: number | [number, number];
  padding?: number | [number, number];
  bias?: boolean;
}

/** 2-D convolution, weight [Co, Ci, KH, KW], bias [Co]. */
export class Conv2d extends Module implements Fusable {
  /** Stride [h, w]. */
  readonly stride: [number, number];
  /** Zero padding [h, w]. */
  readonly padding: [number, number];
  /** Kernel size [h, w]. */
  readonly kernel: [number, number];

  /**
   * Declares the weight and bias with PyTorch's default initialisation.
   *
   * @param inChannels Ci.
   * @param outChannels Co.
   * @param cfg Kernel, stride, padding, bias.
   * @param rng Generator for PyTorch's default initialisation.
   */
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    cfg: Conv2dConfig,
    rng: Rng,
  ) {
    super();
    this.kernel = pair(cfg.kernelSize);
    this.stride = pair(cfg.stride ?? 1);
    this.padding = pair(cfg.padding ?? 0);
    const ws = [outChannels, inChannels, ...this.kernel];
    const bound = 1 / Math.sqrt(fanIn(ws));
    this.declare_("weight", ws, uniform(ws.reduce((a, b) => a * b), bound, rng));
    if (cfg.bias ?? true) this.declare_("bias", [outChannels], uniform(outChannels, bound, rng));
  }

  /** Runs the convolution. */
  forward(x: Tensor): Tensor {
    return this.forwardAct(x, 1);
  }

  /** Runs the convolution with a leaky ReLU of negative slope `slope` fused in. */
  forwardAct(x: Tensor, slope: number): Tensor {
    return ops.conv2d(x, this.params.get("weight")!, this.params.get("bias") ?? null, {
      stride: this.stride,
      padding: this.padding,
      slope,
    });
  }

  /** Output shape [N, Co, H', W'] for an input shape [N, Ci, H, W]. */
  outputShape(s: readonly number[]): number[] {
    return [
      s[0],
      this.outChannels,
      Math.floor((s[2] + 2 * this.padding[0] - this.kernel[0]) / this.stride[0]) + 1,
      Math.floor((s[3] + 2 * this.padding[1] - this.kernel[1]) / this.stride[1]) + 1,
    ];
  }
}

/** Options of {@linkcode ConvTranspose2d}. */
export interface ConvTranspose2dConfig extends Conv2dConfig {
  outputPadding?: number | [number, number];
}

/** Transposed 2-D convolution, weight [Ci, Co, KH, KW], bias [Co] (PyTorch layout). */
export class ConvTranspose2d extends Module implements Fusable {
  /** Stride [h, w]. */
  readonly stride: [number, number];
  /** Padding [h, w], removed from the output. */
  readonly padding: [number, number];
  /** Extra size [h, w] added to one side of the output. */
  readonly outputPadding: [number, number];
  /** Kernel size [h, w]. */
  readonly kernel: [number, number];

  /**
   * Declares the weight and bias with PyTorch's default initialisation.
   *
   * @param inChannels Ci.
   * @param outChannels Co.
   * @param cfg Kernel, stride, per-axis padding, output padding, bias.
   * @param rng Generator for PyTorch's default initialisation.
   */
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    cfg: ConvTranspose2dConfig,
    rng: Rng,
  ) {
    super();
    this.kernel = pair(cfg.kernelSize);
    this.stride = pair(cfg.stride ?? 1);
    this.padding = pair(cfg.padding ?? 0);
    this.outputPadding = pair(cfg.outputPadding ?? 0);
    const ws = [inChannels, outChannels, ...this.kernel];
    const bound = 1 / Math.sqrt(fanIn(ws));
    this.declare_("weight", ws, uniform(ws.reduce((a, b) => a * b), bound, rng));
    if (cfg.bias ?? true) this.declare_("bias", [outChannels], uniform(outChannels, bound, rng));
  }

  /** Runs the transposed convolution. */
  forward(x: Tensor): Tensor {
    return this.forwardAct(x, 1);
  }

  /** Runs the transposed convolution with a leaky ReLU of negative slope `slope` fused in. */
  forwardAct(x: Tensor, slope: number): Tensor {
    return ops.convTranspose2d(x, this.params.get("weight")!, this.params.get("bias") ?? null, {
      stride: this.stride,
      padding: this.padding,
      outputPadding: this.outputPadding,
      slope,
    });
  }

  /** Output shape [N, Co, H', W'] for an input shape [N, Ci, H, W]. */
  outputShape(s: readonly number[]): number[] {
    const o = (i: 0 | 1) =>
      (s[2 + i] - 1) * this.stride[i] - 2 * this.padding[i] + this.kernel[i] +
      this.outputPadding[i];
    return [s[0], this.outChannels, o(0), o(1)];
  }
}

/** Fully connected layer, weight [out, in], bias [out]. */
export class Linear extends Module implements Fusable {
  /**
   * Declares the weight and bias with PyTorch's default initialisation.
   *
   * @param inFeatures Input size.
   * @param outFeatures Output size.
   * @param rng Generator for PyTorch's default initialisation.
   * @param bias Whether to add a bias.
   */
  constructor(readonly inFeatures: number, readonly outFeatures: number, rng: Rng, bias = true) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.declare_(
      "weight",
      [outFeatures, inFeatures],
      uniform(outFeatures * inFeatures, bound, rng),
    );
    if (bias) this.declare_("bias", [outFeatures], uniform(outFeatures, bound, rng));
  }

  /** Runs the layer. */
  forward(x: Tensor): Tensor {
    return this.forwardAct(x, 1);
  }

  /** Runs the layer with a leaky ReLU of negative slope `slope` fused in. */
  forwardAct(x: Tensor, slope: number): Tensor {
    return ops.linear(x, this.params.get("weight")!, this.params.get("bias") ?? null, slope);
  }

  /** Output shape [N, out] for an input shape [N, in]. */
  outputShape(s: readonly number[]): number[] {
    return [s[0], this.outFeatures];
  }
}

/** Leaky ReLU with a fixed negative slope. */
export class LeakyReLU extends Module {
  /**
   * Creates the activation.
   *
   * @param slope Negative slope (PyTorch's negative_slope).
   */
  constructor(readonly slope = 0.01) {
    super();
  }
  /** Applies the activation. */
  forward(x: Tensor): Tensor {
    return ops.leakyRelu(x, this.slope);
  }
  /** The input shape. */
  outputShape(s: readonly number[]): number[] {
    return [...s];
  }
}

/** [N, ...] → [N, prod(...)]. */
export class Flatten extends Module {
  /** Flattens all axes after the batch axis. */
  forward(x: Tensor): Tensor {
    return ops.flatten(x);
  }
  /** [N, product of the other axes]. */
  outputShape(s: readonly number[]): number[] {
    return [s[0], s.slice(1).reduce((a, b) => a * b, 1)];
  }
}

/** [N, ...] → [N, ...shape]. */
export class Reshape extends Module {
  /**
   * Creates the layer.
   *
   * @param shape Shape without the batch axis.
   */
  constructor(readonly shape: number[]) {
    super();
  }
  /** Reshapes each sample to `shape`. */
  forward(x: Tensor): Tensor {
    return x.reshape([x.shape[0], ...this.shape]);
  }
  /** [N, ...shape]. */
  outputShape(s: readonly number[]): number[] {
    return [s[0], ...this.shape];
  }
}

/** Crops [N,C,H,W] by [top, bottom, left, right]. */
export class Crop2d extends Module {
  /**
   * Creates the layer.
   *
   * @param crop [top, bottom, left, right].
   */
  constructor(readonly crop: [number, number, number, number]) {
    super();
  }
  /** Crops the last two axes. */
  forward(x: Tensor): Tensor {
    return this.crop.every((c) => c === 0) ? x.reshape(x.shape) : ops.crop2d(x, this.crop);
  }
  /** The input shape less the crop. */
  outputShape(s: readonly number[]): number[] {
    const [t, b, l, r] = this.crop;
    return [s[0], s[1], s[2] - t - b, s[3] - l - r];
  }
}

/** Layers applied in order, named "0", "1", ... like torch.nn.Sequential. */
export class Sequential extends Module {
  /**
   * Chains the layers, naming them by position.
   *
   * @param layers The layers.
   */
  constructor(readonly layers: Module[]) {
    super();
    layers.forEach((m, i) => this.children.push([String(i), m]));
  }

  /** Runs the layers in order, fusing a leaky ReLU into the layer before it where it can. */
  forward(x: Tensor): Tensor {
    let h = x;
    for (let i = 0; i < this.layers.length; i++) {
      const m = this.layers[i];
      const next = this.layers[i + 1];
      if (isFusable(m) && next instanceof LeakyReLU) {
        h = m.forwardAct(h, next.slope);
        i++;
      } else {
        h = m.forward(h);
      }
    }
    return h;
  }

  /** The last layer's output shape. */
  outputShape(s: readonly number[]): number[] {
    return this.layers.reduce<number[]>((acc, m) => m.outputShape(acc), [...s]);
  }
}
