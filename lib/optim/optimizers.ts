/**
 * Optimizers over a {@linkcode ParameterSet}: one update dispatch for all
 * parameters, with PyTorch semantics. State (moments, step count) can be saved
 * into a checkpoint and restored.
 *
 * @module
 */
import { backendNamed } from "../tensor/backends.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { ParameterSet } from "../nn/params.ts";

/** Adam hyper-parameters (torch.optim.Adam defaults). */
export interface AdamConfig {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** β1, β2: decay rates of the moment estimates (default [0.9, 0.999]). */
  betas?: [number, number];
  /** Added to the denominator for stability (default 1e-8). */
  eps?: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
}

/** Serialisable optimizer state. */
export interface OptimizerState {
  /** Which optimizer saved it. */
  kind: "adam" | "sgd";
  /** Updates taken. */
  step: number;
  /** Moment buffers, flat in the parameter arena's layout. */
  buffers: Float32Array[];
}

/** torch.optim.Adam (amsgrad off, L2 weight decay added to the gradient). */
export class Adam {
  /** Learning rate. */
  readonly lr: number;
  /** Decay rate of the first moment estimate. */
  readonly beta1: number;
  /** Decay rate of the second moment estimate. */
  readonly beta2: number;
  /** Added to the denominator for stability. */
  readonly eps: number;
  /** L2 penalty added to the gradient. */
  readonly weightDecay: number;
  #set: ParameterSet;
  #m: Tensor;
  #v: Tensor;
  #t = 0;

  /**
   * Allocates zeroed moment buffers for the parameters.
   *
   * @param set Parameters to update.
   * @param cfg Hyper-parameters.
   */
  constructor(set: ParameterSet, cfg: AdamConfig = {}) {
    this.lr = cfg.lr ?? 1e-3;
    [this.beta1, this.beta2] = cfg.betas ?? [0.9, 0.999];
    this.eps = cfg.eps ?? 1e-8;
    this.weightDecay = cfg.weightDecay ?? 0;
    for (
      const [k, v] of [["lr", this.lr], ["eps", this.eps], [
        "weight decay",
        this.weightDecay,
      ]] as const
    ) {
      if (!(v >= 0)) {
        throw new RangeError(`Cannot create Adam: ${k} must be >= 0: current value is ${v}`);
      }
    }
    for (const b of [this.beta1, this.beta2]) {
      if (!(b >= 0 && b < 1)) {
        throw new RangeError(`Cannot create Adam: betas must be in [0, 1): current value is ${b}`);
      }
    }
    this.#set = set;
    const be = backendNamed(set.device);
    this.#m = be.fill(set.values.shape, 0).keep();
    this.#v = be.fill(set.values.shape, 0).keep();
  }

  /** Steps taken so far. */
  get step(): number {
    return this.#t;
  }

  /** Applies one update from the accumulated gradients (one dispatch). */
  update(): void {
    this.#t++;
    backendNamed(this.#set.device).adam(this.#set.grads, this.#set.values, this.#m, this.#v, {
      lr: this.lr,
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
      weightDecay: this.weightDecay,
      t: this.#t,
    });
  }

  /**
   * Reads the step count and moment buffers back.
   *
   * @returns the state for a checkpoint.
   */
  async state(): Promise<OptimizerState> {
    const [m, v] = await backendNamed(this.#set.device).read([this.#m, this.#v]);
    return { kind: "adam", step: this.#t, buffers: [m, v] };
  }

  /** Restores a saved state. */
  load(s: OptimizerState): void {
    if (
      s.kind !== "adam" || s.buffers.length !== 2 || s.buffers[0].length !== this.#m.size ||
      s.buffers[1].length !== this.#v.size
    ) {
      throw new TypeError(
        `Cannot restore Adam: checkpoint holds ${s.kind} state of another model size`,
      );
    }
    const be = backendNamed(this.#set.device);
    for (const [src, dst] of [[s.buffers[0], this.#m], [s.buffers[1], this.#v]] as const) {
      const t = be.fromArray(src, dst.shape);
      be.copyInto(t, dst);
      t.dispose();
    }
    this.#t = s.step;
  }

  /** Frees the moment buffers. */
  dispose(): void {
    this.#m.dispose();
    this.#v.dispose();
  }
}

/** SGD hyper-parameters (torch.optim.SGD). */
export interface SgdConfig {
  /** Learning rate. */
  lr: number;
  /** Momentum factor (default 0). */
  momentum?: number;
  /** Dampening of the momentum (default 0). */
  dampening?: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
  /** Nesterov momentum (default false). */
  nesterov?: boolean;
}

/** torch.optim.SGD with momentum, dampening, Nesterov and weight decay. */
export class Sgd {
  /** The hyper-parameters with defaults filled in. */
  readonly cfg: Required<SgdConfig>;
  #set: ParameterSet;
  #buf: Tensor;
  #t = 0;

  /**
   * Allocates a zeroed momentum buffer for the parameters.
   *
   * @param set Parameters to update.
   * @param cfg Hyper-parameters.
   */
  constructor(set: ParameterSet, cfg: SgdConfig) {
    this.cfg = { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...cfg };
    if (!(this.cfg.lr >= 0)) {
      throw new RangeError(`Cannot create SGD: lr must be >= 0: current value is ${cfg.lr}`);
    }
    if (this.cfg.nesterov && (this.cfg.momentum <= 0 || this.cfg.dampening !== 0)) {
      throw new RangeError(
        "Cannot create SGD: Nesterov momentum requires momentum > 0 and dampening 0",
      );
    }
    this.#set = set;
    this.#buf = backendNamed(set.device).fill(set.values.shape, 0).keep();
  }

  /** Steps taken so far. */
  get step(): number {
    return this.#t;
  }

  /** Applies one update (one dispatch). */
  update(): void {
    backendNamed(this.#set.device).sgd(this.#set.grads, this.#set.values, this.#buf, {
      ...this.cfg,
      first: this.#t === 0,
    });
    this.#t++;
  }

  /**
   * Reads the step count and momentum buffer back.
   *
   * @returns the state for a checkpoint.
   */
  async state(): Promise<OptimizerState> {
    const [b] = await backendNamed(this.#set.device).read([this.#buf]);
    return { kind: "sgd", step: this.#t, buffers: [b] };
  }

  /** Restores a saved state. */
  load(s: OptimizerState): void {
    if (s.kind !== "sgd" || s.buffers[0]?.length !== this.#buf.size) {
      throw new TypeError(
        `Cannot restore SGD: checkpoint holds ${s.kind} state of another model size`,
      );
    }
    const be = backendNamed(this.#set.device);
    const t = be.fromArray(s.buffers[0], this.#buf.shape);
    be.copyInto(t, this.#buf);
    t.dispose();
    this.#t = s.step;
  }

  /** Frees the momentum buffer. */
  dispose(): void {
    this.#buf.dispose();
  }
}
