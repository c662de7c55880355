/**
 * The WebGPU backend: each primitive records WGSL dispatches into the
 * runtime's current command buffer; nothing is submitted until a read-back or
 * an explicit sync.
 *
 * The six convolution primitives share three kernels: conv2d's input gradient
 * is conv_transpose2d of the output gradient, conv_transpose2d's input gradient
 * is conv2d, and both weight gradients are conv_weight_grad with roles swapped.
 *
 * @module
 */
import type { BufRef, GpuRuntime } from "../gpu/runtime.ts";
import * as K from "../gpu/kernels.ts";
import { Storage, Tensor } from "./tensor.ts";
import type { AdamHyper, Backend, ConvOpts, InputAct, SgdHyper } from "./backend.ts";

function conv4(what: string, s: readonly number[]): [number, number, number, number] {
  if (s.length !== 4) {
    throw new TypeError(`Cannot run ${what}: expected a 4-D tensor: found shape [${s}]`);
  }
  return s as [number, number, number, number];
}

/** Values up to which `fill` writes through the queue instead of dispatching `fill`. */
const SMALL_FILL = 1024;

/**
 * Creates the WebGPU backend over a runtime. Every tuning field it uses (the split target, the
 * matmul variant, the folding of activation gradients) is read from the dispatchers' active
 * tuning ({@linkcode K.loadKernels}) at each call, so switching the tuning switches it all.
 */
export function createGpuBackend(rt: GpuRuntime): Backend {
  const pool = rt.pool;
  const alloc = (shape: readonly number[]): Tensor => {
    const n = shape.reduce((a, b) => a * b, 1);
    const buffer = pool.acquire(Math.max(4, n * 4));
    const st = new Storage(
      { buffer, offset: 0, size: buffer.size },
      null,
      () => pool.release(buffer),
      rt,
    );
    return new Tensor(st, shape, "webgpu");
  };
  // Scratch slices are released right after recording: the pool holds them until the submit.
  const scratch: BufRef[] = [];
  const tmp = (floats: number): BufRef => {
    const buffer = pool.acquire(Math.max(4, floats * 4));
    const r = { buffer, offset: 0, size: floats * 4 };
    scratch.push(r);
    return r;
  };
  const freeScratch = () => {
    for (const r of scratch.splice(0)) pool.release(r.buffer);
  };

  const actGrad = (act: InputAct | null | undefined): K.ActGrad | null =>
    act ? { m: act.y.ref, slope: act.slope, gb: act.gb?.ref ?? null, scratch: tmp } : null;

  const convOut = (xs: readonly number[], ws: readonly number[], o: ConvOpts): number[] => [
    xs[0],
    ws[0],
    Math.floor((xs[2] + 2 * o.padding[0] - ws[2]) / o.stride[0]) + 1,
    Math.floor((xs[3] + 2 * o.padding[1] - ws[3]) / o.stride[1]) + 1,
  ];

  return {
    name: "webgpu",
    foldsInputAct(batch) {
      const t = K.activeTuning();
      return K.tuningValue(t, "foldActGrad") && batch >= K.tuningValue(t, "foldMinBatch");
    },
    fromArray(data, shape) {
      const t = alloc(shape);
      if (data.length) rt.write(t.ref, data);
      return t;
    },
    fill(shape, value) {
      const t = alloc(shape);
      if (value === 0) rt.clear(t.ref);
      // A few values (the seed gradient of a loss) go in with the queue, not a dispatch; a
      // fresh pool buffer is never one that recorded commands still use (see BufferPool).
      else if (t.size <= SMALL_FILL) rt.write(t.ref, new Float32Array(t.size).fill(value));
      else K.fill(rt, t.ref, t.size, value);
      return t;
    },
    async read(ts) {
      return await rt.read(ts.map((t) => t.ref));
    },
    copyInto(src, dst) {
      rt.copy(src.ref, dst.ref, src.size * 4);
    },
    zeroInto(dst) {
      rt.clear(dst.ref);
    },
    conv2d(x, w, b, o, slope) {
      const xs = conv4("conv2d", x.shape), ws = conv4("conv2d", w.shape);
      const ys = convOut(xs, ws, o);
      const y = alloc(ys);
      K.conv2d(rt, K.convGeom(xs, ws, ys, o), x.ref, w.ref, b?.ref ?? null, y.ref, slope);
      return y;
    },
    conv2dInputGrad(gy, w, xShape, o, act) {
      // dL/dx[n,ci] = Σ gy[n,co] ⋆ᵀ w[co,ci]: a transposed conv with A = Co, B = Ci.
      const gx = alloc(xShape);
      const gs = gy.shape;
      K.convTranspose2d(
        rt,
        K.convGeom(gs, w.shape, xShape, o),
        gy.ref,
        w.ref,
        null,
        gx.ref,
        1,
        undefined,
        actGrad(act),
      );
      freeScratch();
      return gx;
    },
    conv2dWeightGrad(x, gy, wShape, o, into) {
      const gw = into ?? alloc(wShape);
      K.convWeightGrad(
        rt,
        K.convGeom(x.shape, wShape, gy.shape, o),
        x.ref,
        gy.ref,
        gw.ref,
        K.activeTuning().splitTarget,
        tmp,
      );
      freeScratch();
      return gw;
    },
    convTranspose2d(x, w, b, o, outHW, slope) {
      const xs = conv4("conv_transpose2d", x.shape), ws = conv4("conv_transpose2d", w.shape);
      const ys = [xs[0], ws[1], outHW[0], outHW[1]];
      const y = alloc(ys);
      K.convTranspose2d(rt, K.convGeom(xs, ws, ys, o), x.ref, w.ref, b?.ref ?? null, y.ref, slope);
      return y;
    },
    convTranspose2dInputGrad(gy, w, xShape, o, act) {
      // dL/dx[n,a] = Σ_b gy[n,b] ⋆ w[a,b]: a conv2d of gy with weight [A,B,KH,KW] read as [Co=A, Ci=B].
      const gx = alloc(xShape);
      const gs = gy.shape;
      K.conv2d(
        rt,
        K.convGeom(gs, w.shape, xShape, o),
        gy.ref,
        w.ref,
        null,
        gx.ref,
        1,
        undefined,
        actGrad(act),
      );
      freeScratch();
      return gx;
    },
    convTranspose2dWeightGrad(x, gy, wShape, o, into) {
      // gw[a,b] = Σ x[n,a] · gy[n,b] shifted: conv_weight_grad with x := gy (Ci = B), gy := x (Co = A).
      const gw = into ?? alloc(wShape);
      const xs = x.shape, gs = gy.shape;
      K.convWeightGrad(
        rt,
        K.convGeom(gs, wShape, xs, o),
        gy.ref,
        x.ref,
        gw.ref,
        K.activeTuning().splitTarget,
        tmp,
      );
      freeScratch();
      return gw;
    },
    biasGrad(g, into) {
      const c = g.shape[1];
      const inner = g.shape.slice(2).reduce((a, b) => a * b, 1);
      const out = into ?? alloc([c]);
      K.biasGrad(rt, null, g.ref, null, out.ref, g.shape[0], c, inner, 1, tmp);
      freeScratch();
      return out;
    },
    leakyGradBias(y, gy, slope, gbInto) {
      const c = y.shape[1];
      const inner = y.shape.slice(2).reduce((a, b) => a * b, 1);
      const g = alloc(y.shape);
      const gb = gbInto ?? alloc([c]);
      K.biasGrad(rt, y.ref, gy.ref, g.ref, gb.ref, y.shape[0], c, inner, slope, tmp);
      freeScratch();
      return [g, gb];
    },
    matmul(a, b, m, n, k, ta, tb, bias, slope, into) {
      const c = into ?? alloc([m, n]);
      K.matmul(rt, a.ref, b.ref, c.ref, m, n, k, {
        ta,
        tb,
        bias: bias?.ref ?? null,
        slope,
        variant: K.activeTuning().matmul,
        splitTarget: K.activeTuning().splitTarget,
        scratch: tmp,
        // A weight gradient into its arena slot: its split sum waits with the others.
        deferSum: !!into,
      });
      freeScratch();
      return c;
    },
    leaky(x, slope) {
      const y = alloc(x.shape);
      K.leaky(rt, x.ref, y.ref, x.size, slope);
      return y;
    },
    leakyGrad(y, gy, slope) {
      const gx = alloc(y.shape);
      K.leakyGrad(rt, y.ref, gy.ref, gx.ref, y.size, slope);
      return gx;
    },
    axpby(x, y, alpha, beta) {
      const z = alloc(x.shape);
      K.axpby(rt, x.ref, y.ref, z.ref, x.size, alpha, beta);
      return z;
    },
    crop(x, c) {
      const win = K.cropWindow(x.shape, c, "crop2d");
      const y = alloc([x.shape[0], x.shape[1], win.ho, win.wo]);
      K.crop(rt, x.ref, y.ref, win);
      return y;
    },
    cropGrad(gy, xShape, c) {
      const gx = alloc(xShape);
      K.cropGrad(rt, gy.ref, gx.ref, K.cropWindow(xShape, c, "crop2d"));
      return gx;
    },
    sum(x, scale) {
      const out = alloc([1]);
      K.sum(rt, x.ref, null, out.ref, x.size, scale, tmp);
      freeScratch();
      return out;
    },
    mse(a, b) {
      const out = alloc([1]);
      K.sum(rt, a.ref, b.ref, out.ref, a.size, 1 / a.size, tmp);
      freeScratch();
      return out;
    },
    broadcast(gl, shape, scale) {
      const g = alloc(shape);
      K.broadcast(rt, gl.ref, g.ref, g.size, scale);
      return g;
    },
    mseGrad(a, b, gl) {
      const g = alloc(a.shape);
      K.mseGrad(rt, a.ref, b.ref, gl.ref, g.ref, a.size);
      return g;
    },
    cropMse(a, b, c) {
      const out = alloc([1]);
      K.cropMse(rt, a.ref, b.ref, out.ref, K.cropWindow(a.shape, c, "crop_mse"), tmp);
      freeScratch();
      return out;
    },
    cropMseGrad(a, b, gl, c, act) {
      if (act && act.y !== a) {
        throw new TypeError("Cannot run crop_mse_grad: a folded activation must be a's own");
      }
      const g = alloc(a.shape);
      const ag = actGrad(act);
      K.cropMseGrad(
        rt,
        a.ref,
        b.ref,
        gl.ref,
        g.ref,
        K.cropWindow(a.shape, c, "crop_mse_grad"),
        ag && { ...ag, channels: a.shape[1] },
      );
      freeScratch();
      return g;
    },
    softAssign(z, mu, alpha) {
      const [n, d] = z.shape, k = mu.shape[0];
      const q = alloc([n, k]);
      K.softAssign(rt, z.ref, mu.ref, q.ref, n, k, d, alpha);
      return q;
    },
    targetDistribution(q) {
      const [n, k] = q.shape;
      const p = alloc([n, k]);
      K.targetDistribution(rt, q.ref, tmp(k), p.ref, n, k);
      freeScratch();
      return p;
    },
    klDivergence(p, q) {
      const [n, k] = q.shape;
      const out = alloc([1]);
      K.klLoss(rt, p.ref, q.ref, out.ref, n, k, tmp);
      freeScratch();
      return out;
    },
    klGrad(z, mu, p, q, gl, alpha, needZ, needMu) {
      const [n, d] = z.shape, k = mu.shape[0];
      const gz = needZ ? alloc(z.shape) : null;
      const gmu = needMu ? alloc(mu.shape) : null;
      K.klGrad(
        rt,
        z.ref,
        mu.ref,
        p.ref,
        q.ref,
        gl.ref,
        gz?.ref ?? null,
        gmu?.ref ?? null,
        n,
        k,
        d,
        alpha,
        tmp,
      );
      freeScratch();
      return [gz, gmu];
    },
    adam(grad, param, m, v, h: AdamHyper) {
      K.adam(rt, grad.ref, param.ref, m.ref, v.ref, param.size, h);
    },
    sgd(grad, param, buf, h: SgdHyper) {
      K.sgd(rt, grad.ref, param.ref, buf.ref, param.size, h);
    },
  };
}
