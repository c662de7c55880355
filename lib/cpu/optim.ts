/**
 * Optimiser steps with PyTorch semantics, applied in place to flat parameter arrays.
 *
 * @module
 */

import { checkLength } from "./_check.ts";

/** A parameter or state array updated in place. */
export type ParamArray = Float64Array | Float32Array;

/** Hyperparameters of {@linkcode adamStep}; defaults are PyTorch's. */
export interface AdamOptions {
  /** Learning rate, >= 0. */
  lr: number;
  /** Decay of the first moment, in [0, 1) (default 0.9). */
  beta1?: number;
  /** Decay of the second moment, in [0, 1) (default 0.999). */
  beta2?: number;
  /** Added to the denominator, >= 0 (default 1e-8). */
  eps?: number;
  /** L2 penalty added to the gradient (not decoupled, unlike AdamW), >= 0 (default 0). */
  weightDecay?: number;
}

function checkRange(op: string, name: string, v: number, lo: number, hi: number, hiOpen: boolean) {
  if (typeof v !== "number" || !(v >= lo) || !(hiOpen ? v < hi : v <= hi)) {
    throw new RangeError(
      `Cannot run ${op}: ${name} must be in [${lo}, ${hi}${
        hiOpen ? ")" : "]"
      }: current value is ${v}`,
    );
  }
}

/**
 * One step of `torch.optim.Adam` (amsgrad = False, maximize = False), in place:
 * `g = grad + wd·param; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
 * param −= lr·(m/(1−β1^t)) / (sqrt(v/(1−β2^t)) + eps)`.
 *
 * @param param Parameters, updated in place.
 * @param grad Gradient, same length.
 * @param m First-moment state (zeros before the first step), updated in place.
 * @param v Second-moment state (zeros before the first step), updated in place.
 * @param step The 1-based step count t, already incremented for this step.
 * @param opts Learning rate and hyperparameters.
 * @throws {TypeError} if the lengths differ.
 * @throws {RangeError} on a bad step or hyperparameter.
 * @example
 * ```ts
 * import { adamStep } from "./optim.ts";
 * const p = new Float64Array([1]), m = new Float64Array(1), v = new Float64Array(1);
 * adamStep(p, [0.5], m, v, 1, { lr: 0.1 });
 * // The first bias-corrected step is lr·sign(g) up to eps.
 * if (Math.abs(p[0] - 0.9) > 1e-7) throw new Error(String(p[0]));
 * ```
 */
export function adamStep(
  param: ParamArray,
  grad: ArrayLike<number>,
  m: ParamArray,
  v: ParamArray,
  step: number,
  opts: AdamOptions,
): void {
  const op = "adamStep";
  const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0 } = opts;
  checkRange(op, "lr", lr, 0, Infinity, true);
  checkRange(op, "beta1", beta1, 0, 1, true);
  checkRange(op, "beta2", beta2, 0, 1, true);
  checkRange(op, "eps", eps, 0, Infinity, true);
  checkRange(op, "weightDecay", weightDecay, 0, Infinity, true);
  if (!Number.isInteger(step) || step < 1) {
    throw new RangeError(
      `Cannot run ${op}: step must be an integer >= 1: current value is ${step}`,
    );
  }
  const len = param.length;
  checkLength(op, "grad", grad, len, "param");
  checkLength(op, "m", m, len, "param");
  checkLength(op, "v", v, len, "param");
  const bc1 = 1 - beta1 ** step, bc2 = 1 - beta2 ** step;
  const stepSize = lr / bc1, sqrtBc2 = Math.sqrt(bc2);
  for (let i = 0; i < len; i++) {
    const g = weightDecay !== 0 ? grad[i] + weightDecay * param[i] : grad[i];
    const mi = beta1 * m[i] + (1 - beta1) * g;
    const vi = beta2 * v[i] + (1 - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] -= stepSize * mi / (Math.sqrt(vi) / sqrtBc2 + eps);
  }
}

/** Hyperparameters of {@linkcode sgdStep}; defaults are PyTorch's. */
export interface SgdOptions {
  /** Learning rate, >= 0. */
  lr: number;
  /** Momentum factor, >= 0 (default 0: plain SGD, no buffer needed). */
  momentum?: number;
  /** Dampening of the momentum, in [0, 1] (default 0). */
  dampening?: number;
  /** L2 penalty added to the gradient, >= 0 (default 0). */
  weightDecay?: number;
  /** Nesterov momentum; needs momentum > 0 and dampening 0 (default false). */
  nesterov?: boolean;
  /** True on the first step, when the momentum buffer is initialised to g (default false). */
  first?: boolean;
}

/**
 * One step of `torch.optim.SGD` (maximize = False), in place:
 * `g = grad + wd·param`; with momentum, `buf = g` on the first step, else
 * `buf = momentum·buf + (1 − dampening)·g`, then `g = g + momentum·buf` (Nesterov) or
 * `g = buf`; finally `param −= lr·g`.
 *
 * @param param Parameters, updated in place.
 * @param grad Gradient, same length.
 * @param buf Momentum buffer, updated in place; may be null when momentum is 0.
 * @param opts Learning rate and hyperparameters.
 * @throws {TypeError} if the lengths differ or momentum > 0 without a buffer.
 * @throws {RangeError} on a bad hyperparameter.
 * @example
 * ```ts
 * import { sgdStep } from "./optim.ts";
 * const p = new Float64Array([1, 2]);
 * sgdStep(p, [10, -10], null, { lr: 0.1 });
 * if (p.join() !== "0,3") throw new Error(String(p));
 * ```
 */
export function sgdStep(
  param: ParamArray,
  grad: ArrayLike<number>,
  buf: ParamArray | null,
  opts: SgdOptions,
): void {
  const op = "sgdStep";
  const {
    lr,
    momentum = 0,
    dampening = 0,
    weightDecay = 0,
    nesterov = false,
    first = false,
  } = opts;
  checkRange(op, "lr", lr, 0, Infinity, true);
  checkRange(op, "momentum", momentum, 0, Infinity, true);
  checkRange(op, "dampening", dampening, 0, 1, false);
  checkRange(op, "weightDecay", weightDecay, 0, Infinity, true);
  if (nesterov && (momentum <= 0 || dampening !== 0)) {
    throw new RangeError(
      `Cannot run ${op}: nesterov needs momentum > 0 and dampening 0: current values are ` +
        `${momentum} and ${dampening}`,
    );
  }
  const len = param.length;
  checkLength(op, "grad", grad, len, "param");
  if (momentum === 0) {
    for (let i = 0; i < len; i++) {
      param[i] -= lr * (weightDecay !== 0 ? grad[i] + weightDecay * param[i] : grad[i]);
    }
    return;
  }
  if (buf === null || buf === undefined) {
    throw new TypeError(
      `Cannot run ${op}: buf must be an array when momentum > 0: current value is ${buf}`,
    );
  }
  checkLength(op, "buf", buf, len, "param");
  for (let i = 0; i < len; i++) {
    const g = weightDecay !== 0 ? grad[i] + weightDecay * param[i] : grad[i];
    const b = first ? g : momentum * buf[i] + (1 - dampening) * g;
    buf[i] = b;
    param[i] -= lr * (nesterov ? g + momentum * b : b);
  }
}
