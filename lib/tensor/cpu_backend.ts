/**
 * The CPU backend (`--cpu`): every primitive calls the Float64 reference in
 * lib/cpu, written from the math, and stores the result as f32. It is the test
 * oracle for the WebGPU backend and a fallback where no adapter exists.
 *
 * @module
 */
import * as C from "../cpu/mod.ts";
import { Storage, Tensor } from "./tensor.ts";
import type { AdamHyper, Backend, ConvOpts, InputAct, SgdHyper } from "./backend.ts";

function make(data: Float32Array, shape: readonly number[]): Tensor {
  return new Tensor(new Storage(null, data, null), shape, "cpu");
}

const f32 = (a: Float64Array, shape: readonly number[]) => make(Float32Array.from(a), shape);
/** f32, or the values written into `into` (a gradient slot; see Backend) and `into` itself. */
const f32Into = (a: Float64Array, shape: readonly number[], into: Tensor | null | undefined) => {
  if (!into) return f32(a, shape);
  into.array.set(a);
  return into;
};

function leakyInPlace(y: Float64Array, slope: number): Float64Array {
  if (slope !== 1) { for (let i = 0; i < y.length; i++) if (!(y[i] > 0)) y[i] *= slope; }
  return y;
}

/** g = gy · (y > 0 ? 1 : slope) (y is the activation's output: its sign is the input's). */
function masked(y: Tensor, gy: ArrayLike<number>, slope: number): Tensor {
  return f32(C.leakyReluGrad(y.array, gy, slope), y.shape);
}

/** Σ g over every axis but 1 (into `into` when given). */
function biasOf(g: Tensor, into: Tensor | null | undefined): Tensor {
  const s = g.shape;
  const inner = s.slice(2).reduce((a, b) => a * b, 1);
  return f32Into(C.biasGrad(g.array, [s[0], s[1], inner, 1]), [s[1]], into);
}

/**
 * An input gradient (of a conv, or of the cropped MSE's prediction) as f32, then, with `act`,
 * the producing layer's leaky ReLU backward and bias gradient ({@linkcode InputAct}), rounded
 * as leakyGradBias rounds them.
 */
function inputGrad(gx: Float64Array, shape: readonly number[], act?: InputAct | null): Tensor {
  if (!act) return f32(gx, shape);
  const g = masked(act.y, Float32Array.from(gx), act.slope);
  if (act.gb) biasOf(g, act.gb);
  return g;
}

/** The CPU backend. */
export const cpuBackend: Backend = {
  name: "cpu",
  foldsInputAct() {
    return true;
  },
  fromArray(data, shape) {
    return make(data.slice(), shape);
  },
  fill(shape, value) {
    const n = shape.reduce((a, b) => a * b, 1);
    return make(new Float32Array(n).fill(value), shape);
  },
  read(ts) {
    return Promise.resolve(ts.map((t) => t.array.slice()));
  },
  copyInto(src, dst) {
    dst.array.set(src.array);
  },
  zeroInto(dst) {
    dst.array.fill(0);
  },
  conv2d(x, w, b, o: ConvOpts, slope) {
    const ys = C.conv2dOutputShape(x.shape, w.shape, o);
    return f32(
      leakyInPlace(C.conv2d(x.array, x.shape, w.array, w.shape, b?.array ?? null, o), slope),
      ys,
    );
  },
  conv2dInputGrad(gy, w, xShape, o, act) {
    return inputGrad(
      C.conv2dInputGrad(gy.array, gy.shape, w.array, w.shape, xShape, o),
      xShape,
      act,
    );
  },
  conv2dWeightGrad(x, gy, wShape, o, into) {
    return f32Into(
      C.conv2dWeightGrad(x.array, x.shape, gy.array, gy.shape, wShape, o),
      wShape,
      into,
    );
  },
  convTranspose2d(x, w, b, o, outHW, slope) {
    const full = C.convTranspose2dOutputShape(x.shape, w.shape, o);
    const op: [number, number] = [outHW[0] - full[2], outHW[1] - full[3]];
    const p = { ...o, outputPadding: op };
    const ys = [x.shape[0], w.shape[1], outHW[0], outHW[1]];
    return f32(
      leakyInPlace(
        C.convTranspose2d(x.array, x.shape, w.array, w.shape, b?.array ?? null, p),
        slope,
      ),
      ys,
    );
  },
  convTranspose2dInputGrad(gy, w, xShape, o, act) {
    const full = C.convTranspose2dOutputShape(xShape, w.shape, o);
    const p = {
      ...o,
      outputPadding: [gy.shape[2] - full[2], gy.shape[3] - full[3]] as [number, number],
    };
    return inputGrad(
      C.convTranspose2dInputGrad(gy.array, gy.shape, w.array, w.shape, xShape, p),
      xShape,
      act,
    );
  },
  convTranspose2dWeightGrad(x, gy, wShape, o, into) {
    const full = C.convTranspose2dOutputShape(x.shape, wShape, o);
    const p = {
      ...o,
      outputPadding: [gy.shape[2] - full[2], gy.shape[3] - full[3]] as [number, number],
    };
    return f32Into(
      C.convTranspose2dWeightGrad(x.array, x.shape, gy.array, gy.shape, wShape, p),
      wShape,
      into,
    );
  },
  biasGrad(g, into) {
    return biasOf(g, into);
  },
  leakyGradBias(y, gy, slope, gbInto) {
    const g = masked(y, gy.array, slope);
    return [g, biasOf(g, gbInto)];
  },
  matmul(a, b, m, n, k, ta, tb, bias, slope, into) {
    const y = C.matmul(a.array, b.array, m, k, n, { transA: ta, transB: tb });
    if (bias) {
      const bb = bias.array;
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) y[i * n + j] += bb[j];
    }
    return f32Into(leakyInPlace(y, slope), [m, n], into);
  },
  leaky(x, slope) {
    return f32(C.leakyRelu(x.array, slope), x.shape);
  },
  leakyGrad(y, gy, slope) {
    // y > 0 ⇔ x > 0 for slope > 0, so the output decides the branch as in PyTorch.
    return masked(y, gy.array, slope);
  },
  axpby(x, y, alpha, beta) {
    const a = x.array, b = y.array, z = new Float32Array(a.length);
    for (let i = 0; i < a.length; i++) z[i] = alpha * a[i] + beta * b[i];
    return make(z, x.shape);
  },
  crop(x, c) {
    const s = x.shape;
    return f32(C.crop2d(x.array, s, c), [s[0], s[1], s[2] - c[0] - c[1], s[3] - c[2] - c[3]]);
  },
  cropGrad(gy, xShape, c) {
    return f32(C.crop2dGrad(gy.array, xShape, c), xShape);
  },
  sum(x, scale) {
    return make(Float32Array.of(C.sum(x.array) * scale), [1]);
  },
  mse(a, b) {
    return make(Float32Array.of(C.mseLoss(a.array, b.array)), [1]);
  },
  broadcast(gl, shape, scale) {
    const n = shape.reduce((a, b) => a * b, 1);
    return make(new Float32Array(n).fill(scale * gl.array[0]), shape);
  },
  mseGrad(a, b, gl) {
    return f32(C.mseLossGrad(a.array, b.array, gl.array[0]), a.shape);
  },
  cropMse(a, b, c) {
    return make(Float32Array.of(C.mseLoss(C.crop2d(a.array, a.shape, c), b.array)), [1]);
  },
  cropMseGrad(a, b, gl, c, act) {
    const g = C.mseLossGrad(C.crop2d(a.array, a.shape, c), b.array, gl.array[0]);
    return inputGrad(C.crop2dGrad(g, a.shape, c), a.shape, act);
  },
  softAssign(z, mu, alpha) {
    const [n, d] = z.shape, k = mu.shape[0];
    return f32(C.softAssign(z.array, mu.array, n, k, d, alpha), [n, k]);
  },
  targetDistribution(q) {
    const [n, k] = q.shape;
    return f32(C.targetDistribution(q.array, n, k), [n, k]);
  },
  klDivergence(p, q) {
    const [n, k] = q.shape;
    return make(Float32Array.of(C.klDivergence(p.array, q.array, n, k)), [1]);
  },
  klGrad(z, mu, p, q, gl, alpha, needZ, needMu) {
    const [n, d] = z.shape, k = mu.shape[0];
    const { gz, gmu } = C.klGrad(z.array, mu.array, p.array, q.array, n, k, d, alpha);
    const s = gl.array[0];
    const sc = (a: Float64Array) => a.map((v) => v * s);
    return [needZ ? f32(sc(gz), z.shape) : null, needMu ? f32(sc(gmu), mu.shape) : null];
  },
  adam(grad, param, m, v, h: AdamHyper) {
    C.adamStep(param.array, grad.array, m.array, v.array, h.t, {
      lr: h.lr,
      beta1: h.beta1,
      beta2: h.beta2,
      eps: h.eps,
      weightDecay: h.weightDecay,
    });
  },
  sgd(grad, param, buf, h: SgdHyper) {
    C.sgdStep(param.array, grad.array, buf.array, {
      lr: h.lr,
      momentum: h.momentum,
      dampening: h.dampening,
      weightDecay: h.weightDecay,
      nesterov: h.nesterov,
      first: h.first,
    });
  },
};
