/**
 * Packed conv weights (kernels/conv_pack.wgsl, lib/gpu/packs.ts): the multi-job packing
 * kernel against a TypeScript reference, and the cache that keeps packed weights between
 * dispatches: repacked after every kind of write to the weight, refreshed in one dispatch at
 * the submit after an optimizer step, dropped with the weight's buffer, and a training run
 * bit-identical to one that packs before every convolution.
 */
import * as C from "../../lib/cpu/mod.ts";
import * as K from "../../lib/gpu/kernels.ts";
import {
  MAX_PACK_JOBS,
  MAX_STORES,
  packCache,
  type PackJob,
  recordPacks,
} from "../../lib/gpu/packs.ts";
import type { GpuRuntime } from "../../lib/gpu/runtime.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";
import { assert, assertEquals } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import { adamSteps } from "./_train.ts";
import { accTol, close, gt, numel, rand, readAll, webgpu } from "./_util.ts";

/** Layout 0 (channel quads) of conv_pack.wgsl, in plain TypeScript. */
function packQuads(
  w: ArrayLike<number>,
  [o, i, kk, o4p, so, si]: number[],
): Float32Array {
  const out = new Float32Array(i * kk * o4p * 4);
  for (let ii = 0; ii < i; ii++) {
    for (let tap = 0; tap < kk; tap++) {
      for (let q = 0; q < o4p; q++) {
        for (let k = 0; k < 4; k++) {
          const oc = 4 * q + k;
          out[((ii * kk + tap) * o4p + q) * 4 + k] = oc < o ? w[oc * so + ii * si + tap] : 0;
        }
      }
    }
  }
  return out;
}

/** Layout 1 (output phases) of conv_pack.wgsl, in plain TypeScript. */
function packPhases(
  w: ArrayLike<number>,
  [a, b, kh, kw, sh, sw, ph, pw, dh0, dw0, wh, ww]: number[],
): Float32Array {
  const out = new Float32Array(a * wh * ww * b * 4);
  for (let ai = 0; ai < a; ai++) {
    for (let i = 0; i < wh; i++) {
      for (let j = 0; j < ww; j++) {
        for (let bi = 0; bi < b; bi++) {
          for (let l = 0; l < 4; l++) {
            const th = Math.floor(l / sw) + ph - sh * (dh0 + i);
            const tw = (l % sw) + pw - sw * (dw0 + j);
            const inside = l < sh * sw && th >= 0 && th < kh && tw >= 0 && tw < kw;
            out[(((ai * wh + i) * ww + j) * b + bi) * 4 + l] = inside
              ? w[((ai * b + bi) * kh + th) * kw + tw]
              : 0;
          }
        }
      }
    }
  }
  return out;
}

/** The fields of layout 1 for a transposed conv with weight [a, b, kh, kw]. */
function phaseFields(
  [a, b, kh, kw]: number[],
  [sh, sw]: number[],
  [ph, pw]: number[],
): number[] {
  const [dh0, wh] = K.phaseWindow(kh, sh, ph);
  const [dw0, ww] = K.phaseWindow(kw, sw, pw);
  return [a, b, kh, kw, sh, sw, ph, pw, dh0, dw0, wh, ww];
}

interface Weight {
  kind: 0 | 1;
  fields: number[];
  numel: number;
  vec4s: number;
}

/** Weights of awkward shapes, each packing one way. */
function weights(): Weight[] {
  const q = (o: number, i: number, kk: number, o4p: number, transposed: boolean): Weight => {
    const [so, si] = transposed ? [kk, o * kk] : [i * kk, kk];
    return { kind: 0, fields: [o, i, kk, o4p, so, si], numel: o * i * kk, vec4s: i * kk * o4p };
  };
  const p = (w: number[], s: number[], pad: number[]): Weight => {
    const f = phaseFields(w, s, pad);
    return { kind: 1, fields: f, numel: numel(w), vec4s: w[0] * f[10] * f[11] * w[1] };
  };
  return [
    q(5, 3, 9, 2, false), // conv2d [5,3,3,3]: the second quad half empty
    q(7, 6, 9, 3, true), // conv_transpose2d [6,7,3,3]: one quad of padding beyond ceil(7/4)
    q(1, 11, 6, 1, false), // conv2d [1,11,2,3]
    p([3, 2, 3, 3], [2, 2], [1, 1]),
    p([4, 1, 3, 3], [2, 2], [0, 1]), // negative window offsets
    p([2, 3, 3, 2], [2, 1], [1, 0]), // 2 phases of 4 lanes
  ];
}

/**
 * Packs `ws` (placed in one buffer at odd float offsets) into one output buffer through
 * `recordPacks`, and checks every packed weight against the reference and every gap
 * between them untouched.
 */
async function checkPacks(rt: GpuRuntime, ws: Weight[], seed: number): Promise<number> {
  const srcOff: number[] = [];
  let n = 3;
  for (const w of ws) {
    srcOff.push(n);
    n += w.numel + 5;
  }
  const src = rand(n, seed);
  const outOff: number[] = [];
  let m = 4;
  for (const w of ws) {
    outOff.push(m);
    m += w.vec4s * 4 + 8;
  }
  const sentinel = -7.25;
  const s = gt(src, [n]), d = gt(new Float32Array(m).fill(sentinel), [m]);
  const jobs: PackJob[] = ws.map((w, k) => ({
    w: { buffer: s.ref.buffer, offset: s.ref.offset + srcOff[k] * 4, size: w.numel * 4 },
    layout: { kind: w.kind, fields: w.fields, vec4s: w.vec4s, bytes: w.vec4s * 16 },
    out: d.ref.offset + outOff[k] * 4,
  }));
  const before = rt.stats().dispatches;
  recordPacks(rt, jobs, d.ref.buffer);
  const dispatches = rt.stats().dispatches - before;
  const [out] = await readAll([d]);
  const expect = new Float32Array(m).fill(sentinel);
  ws.forEach((w, k) => {
    const wk = src.subarray(srcOff[k], srcOff[k] + w.numel);
    expect.set(w.kind === 0 ? packQuads(wk, w.fields) : packPhases(wk, w.fields), outOff[k]);
  });
  // Packing copies values: exact.
  assertEquals(Array.from(out), Array.from(expect), "packed weights and untouched gaps");
  s.dispose();
  d.dispose();
  return dispatches;
}

gpuTest("conv_pack packs weights of both layouts from one buffer in one dispatch", async () => {
  const rt = await webgpu();
  assertEquals(await checkPacks(rt, weights(), 11), 1, "one dispatch for six weights");
  assertEquals(await checkPacks(rt, weights().slice(4, 5), 12), 1, "a single job");
});

gpuTest(`conv_pack splits more than ${MAX_PACK_JOBS} jobs over dispatches`, async () => {
  const rt = await webgpu();
  const ws = Array.from({ length: MAX_PACK_JOBS + 3 }, (_, k) => weights()[k % 6]);
  assertEquals(await checkPacks(rt, ws, 13), 2, `${ws.length} jobs`);
});

const X = [2, 6, 9, 7], W = [10, 6, 3, 3];
const P = { stride: [2, 1] as [number, number], padding: [1, 1] as [number, number] };
const YS = C.conv2dOutputShape(X, W, P);
const GEOM = K.convGeom(X, W, YS, P);
const TOL = accTol(6 * 9, 4);

/** Records a conv2d of x with w into a new tensor; returns it and the dispatches recorded. */
function conv(rt: GpuRuntime, x: Tensor, w: Tensor): { y: Tensor; dispatches: number } {
  const y = gt(new Float32Array(numel(YS)), YS);
  const before = rt.stats().dispatches;
  K.conv2d(rt, GEOM, x.ref, w.ref, null, y.ref);
  return { y, dispatches: rt.stats().dispatches - before };
}

gpuTest("a packed weight is kept until its buffer is written, by any means", async () => {
  const rt = await webgpu();
  const xd = rand(numel(X), 21);
  const x = gt(xd, X);
  let wd = rand(numel(W), 22);
  const w = gt(wd, W);
  const ref = () => C.conv2d(xd, X, wd, W, null, P);

  const a = conv(rt, x, w);
  assertEquals(a.dispatches, 2, "first use: packing and conv2d");
  const b = conv(rt, x, w);
  assertEquals(b.dispatches, 1, "second use: conv2d only");
  for (const [y] of [await readAll([a.y]), await readAll([b.y])]) close(y, ref(), TOL, "kept");

  // A queue write.
  wd = rand(numel(W), 23);
  rt.write(w.ref, Float32Array.from(wd));
  const c = conv(rt, x, w);
  assertEquals(c.dispatches, 2, "after a queue write: repacked");
  close((await readAll([c.y]))[0], ref(), TOL, "after a queue write");

  // A dispatch writing the buffer (w = -0.5 t), then a copy into it, each followed by a conv
  // in the same command buffer as the conv before the write: the repacking in place must not
  // reach the earlier conv, which runs before it.
  const td = rand(numel(W), 24), t2d = rand(numel(W), 25);
  const t = gt(td, W), t2 = gt(t2d, W);
  const before = conv(rt, x, w);
  K.scale(rt, t.ref, w.ref, numel(W), -0.5);
  const afterScale = conv(rt, x, w);
  rt.copy(t2.ref, w.ref);
  const afterCopy = conv(rt, x, w);
  assertEquals([afterScale.dispatches, afterCopy.dispatches], [2, 2], "repacked after each");
  const [y0, y1, y2] = await readAll([before.y, afterScale.y, afterCopy.y]);
  close(y0, ref(), TOL, "the conv recorded before the write");
  wd = Float64Array.from(td, (v) => Math.fround(-0.5 * v));
  close(y1, ref(), TOL, "after a dispatch wrote the weight");
  wd = t2d;
  close(y2, ref(), TOL, "after a copy into the weight");
  for (const z of [x, w, t, t2, a.y, b.y, c.y, before.y, afterScale.y, afterCopy.y]) z.dispose();
});

gpuTest("a submit repacks, in one dispatch, the packed weights written since", async () => {
  const rt = await webgpu();
  rt.submit();
  const xd = rand(numel(X), 31), td = rand(numel(W), 33);
  const x = gt(xd, X), w = gt(rand(numel(W), 32), W), t = gt(td, W);
  const y0 = conv(rt, x, w).y;
  let before = rt.stats().dispatches;
  rt.submit();
  assertEquals(rt.stats().dispatches - before, 0, "nothing written: nothing repacked");

  // As an optimizer step: the weight is used, then written, then the step is submitted.
  const y1 = conv(rt, x, w).y;
  K.scale(rt, t.ref, w.ref, numel(W), 1.5);
  before = rt.stats().dispatches;
  rt.submit();
  assertEquals(rt.stats().dispatches - before, 1, "the submit repacked the weight");
  const y2 = conv(rt, x, w);
  assertEquals(y2.dispatches, 1, "the next use finds it packed");
  const [r2] = await readAll([y2.y]);
  const wd = Float64Array.from(td, (v) => Math.fround(1.5 * v));
  close(r2, C.conv2d(xd, X, wd, W, null, P), TOL, "with the written weight");
  for (const z of [x, w, t, y0, y1, y2.y]) z.dispose();
});

gpuTest("a weight's packed copies go back to the pool with the weight", async () => {
  const rt = await webgpu();
  rt.submit();
  const cache = packCache(rt);
  const x = gt(rand(numel(X), 41), X);
  const live0 = rt.pool.stats().liveBuffers, stores0 = cache.stores;
  const w = gt(rand(numel(W), 42), W);
  const y = conv(rt, x, w).y;
  assertEquals(cache.stores, stores0 + 1, "a store for the weight's buffer");
  assertEquals(rt.pool.stats().liveBuffers, live0 + 3, "w, y and the store");
  w.dispose();
  y.dispose();
  assertEquals(cache.stores, stores0, "the store is dropped");
  assertEquals(rt.pool.stats().liveBuffers, live0, "and its buffer released");
  x.dispose();
});

gpuTest(
  `at most ${MAX_STORES} weight buffers keep packed weights; an evicted one repacks`,
  async () => {
    const rt = await webgpu();
    rt.submit();
    const cache = packCache(rt);
    const xs = [1, 1, 5, 4], ws = [4, 1, 3, 3];
    const p = { stride: [1, 1] as [number, number], padding: [1, 1] as [number, number] };
    const ys = C.conv2dOutputShape(xs, ws, p);
    const g = K.convGeom(xs, ws, ys, p);
    const xd = rand(numel(xs), 51);
    const x = gt(xd, xs), y = gt(new Float32Array(numel(ys)), ys);
    const wds = Array.from({ length: MAX_STORES + 4 }, (_, i) => rand(numel(ws), 100 + i));
    const w = wds.map((d) => gt(d, ws));
    for (const t of w) K.conv2d(rt, g, x.ref, t.ref, null, y.ref);
    rt.submit();
    assert(cache.stores <= MAX_STORES, `${cache.stores} stores`);
    // The first weight's store was dropped: its next use packs again, and correctly.
    const before = rt.stats().dispatches;
    K.conv2d(rt, g, x.ref, w[0].ref, null, y.ref);
    assertEquals(rt.stats().dispatches - before, 2, "packing and conv2d");
    close((await readAll([y]))[0], C.conv2d(xd, xs, wds[0], ws, null, p), accTol(9, 4), "w[0]");
    for (const t of [x, y, ...w]) t.dispose();
  },
);

gpuTest("training with kept packed weights is bit-identical and packs once per step", async () => {
  const on = await adamSteps({ packCache: true }), off = await adamSteps({ packCache: false });
  assertEquals(on.losses, off.losses, "losses");
  assert(on.losses[3] < on.losses[0], "the run trains");
  assertEquals(Array.from(on.weights), Array.from(off.weights), "final weights");
  // 5 convs and 5 transposed convs: 10 forward packings and 9 for input gradients (the
  // first conv's input needs none) become one refresh after Adam.
  assertEquals(off.perStep[1] - on.perStep[1], 18, `dispatches per step ${on.perStep}`);
  assertEquals(on.perStep[1], on.perStep[3], "steady");
});

gpuTest(
  "two weights of one buffer: packing the second grows the store and keeps the first's packed copy",
  async () => {
    const rt = await webgpu();
    const xd = rand(numel(X), 41);
    const x = gt(xd, X);
    const n = numel(W);
    // Two weights in one buffer (as a model's parameter arena), the second at a binding offset.
    const off = Math.ceil(4 * n / 256) * 64;
    const both = rand(off + n, 42);
    const buf = gt(both, [off + n]);
    const w1 = { ...buf.ref, size: 4 * n };
    const w2 = { ...buf.ref, offset: buf.ref.offset + 4 * off, size: 4 * n };
    const out = () => gt(new Float32Array(numel(YS)), YS);
    const [a, b, c] = [out(), out(), out()];
    K.conv2d(rt, GEOM, x.ref, w1, null, a.ref);
    rt.submit();
    K.conv2d(rt, GEOM, x.ref, w2, null, b.ref);
    rt.submit();
    const before = rt.stats().dispatches;
    K.conv2d(rt, GEOM, x.ref, w1, null, c.ref);
    assertEquals(rt.stats().dispatches - before, 1, "the first weight is found packed");
    const [ra, rb, rc] = await readAll([a, b, c]);
    const ref1 = C.conv2d(xd, X, both.subarray(0, n), W, null, P);
    close(ra, ref1, TOL, "the first weight");
    close(rb, C.conv2d(xd, X, both.subarray(off, off + n), W, null, P), TOL, "the second weight");
    close(rc, ref1, TOL, "the first weight again, after the store grew");
    for (const z of [x, buf, a, b, c]) z.dispose();
  },
);
