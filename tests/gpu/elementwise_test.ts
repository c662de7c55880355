/**
 * The elementwise, crop, reduction and MSE kernels (elementwise.wgsl, elementwise3.wgsl,
 * reduce.wgsl, mse.wgsl) against the Float64 reference, on "webgpu" tensors.
 */
import * as C from "../../lib/cpu/mod.ts";
import * as K from "../../lib/gpu/kernels.ts";
import { backendNamed } from "../../lib/tensor/backends.ts";
import * as ops from "../../lib/tensor/ops.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import {
  accTol,
  close,
  dirtyPool,
  gt,
  numel,
  rand,
  readAll,
  sumTol,
  U32,
  webgpu,
} from "./_util.ts";

const SLOPE = 0.02;
// One f32 multiply-add of values <= 2 in magnitude: error <= 2 roundings of a value <= 8.
const ELEMENTWISE_ATOL = 2 * U32 * 8;

gpuTest("leaky relu and its gradient match reference (odd size, zeros included)", async () => {
  await webgpu();
  const be = backendNamed("webgpu");
  const n = 1001;
  const x = rand(n, 2000);
  x[0] = 0;
  x[7] = -0;
  const gy = rand(n, 2001);
  dirtyPool(n);
  const X = gt(x, [7, 11, 13]), GY = gt(gy, [7, 11, 13]);
  const y = ops.leakyRelu(X, SLOPE);
  const gx = be.leakyGrad(y, GY, SLOPE);
  const [yo, gxo] = await readAll([y, gx]);
  for (const t of [X, GY, y, gx]) t.dispose();
  const yRef = C.leakyRelu(x, SLOPE);
  close(yo, yRef, ELEMENTWISE_ATOL, "leaky y");
  // PyTorch's rule: the slope applies at x = 0; the kernel decides from y, so y = 0 also
  // takes the slope branch.
  close(gxo, C.leakyReluGrad(x, gy, SLOPE), ELEMENTWISE_ATOL, "leaky gx");
  assertEquals(gxo[0], Math.fround(SLOPE * gy[0]), "gradient at x = 0 uses the slope");
});

gpuTest("crop2d and its gradient match reference (asymmetric crop, zero border)", async () => {
  await webgpu();
  const be = backendNamed("webgpu");
  const crops: [number, number, number, number][] = [[1, 1, 1, 1], [0, 2, 3, 0], [2, 0, 0, 1]];
  const xs = [2, 3, 9, 7];
  for (const [i, c] of crops.entries()) {
    const x = rand(numel(xs), 2010 + i);
    const ys = [2, 3, 9 - c[0] - c[1], 7 - c[2] - c[3]];
    const gy = rand(numel(ys), 2020 + i);
    dirtyPool(numel(ys), numel(xs));
    const X = gt(x, xs), GY = gt(gy, ys);
    const y = ops.crop2d(X, c);
    const gx = be.cropGrad(GY, xs, c);
    const [yo, gxo] = await readAll([y, gx]);
    for (const t of [X, GY, y, gx]) t.dispose();
    assertEquals([...y.shape], ys, `crop [${c}] shape`);
    // Pure copies: exact.
    close(yo, C.crop2d(x, xs, c), 0, `crop [${c}] y`);
    close(gxo, C.crop2dGrad(gy, xs, c), 0, `crop [${c}] gx`);
  }
});

gpuTest("axpby, fill and scale match reference", async () => {
  const rt = await webgpu();
  const be = backendNamed("webgpu");
  const n = 4099;
  const a = rand(n, 2030), b = rand(n, 2031);
  dirtyPool(n);
  const A = gt(a, [n]), B = gt(b, [n]);
  const z = ops.axpby(A, B, 0.75, -1.5);
  const f = be.fill([n], -3.25);
  const s = be.fill([n], 0);
  K.scale(rt, A.ref, s.ref, n, -2.5);
  const [zo, fo, so] = await readAll([z, f, s]);
  for (const t of [A, B, z, f, s]) t.dispose();
  close(zo, a.map((v, i) => 0.75 * v - 1.5 * b[i]), ELEMENTWISE_ATOL, "axpby");
  close(fo, new Float64Array(n).fill(-3.25), 0, "fill");
  close(so, a.map((v) => -2.5 * v), ELEMENTWISE_ATOL, "scale");
});

gpuTest(
  "elementwise kernels run as vec4s where the count is a multiple of 4: same bits as the scalar kernels, tails past the last workgroup",
  async () => {
    const rt = await webgpu();
    const be = backendNamed("webgpu");
    // 4,100 values: 1,025 vec4 invocations, 17 workgroups with 1 invocation in the last; 1,028
    // and 4,099, 1,026 and 4,098 (scalar: not multiples of 4; the last two even).
    for (const [i, n] of [4100, 1028, 4099, 1026, 4098].entries()) {
      const a = rand(n, 2060 + i), b = rand(n, 2070 + i);
      a[0] = 0;
      dirtyPool(n, n, n, n, n, n, n);
      const A = gt(a, [n]), B = gt(b, [n]);
      const seen: number[] = [];
      const dispatch = rt.dispatch;
      rt.dispatch = (def, params, bufs, wgs) => {
        seen.push(Number(def.defines?.V4 ?? -1));
        dispatch.call(rt, def, params, bufs, wgs);
      };
      let outs: Float32Array[];
      const ts = [];
      try {
        const y = be.leaky(A, SLOPE), gx = be.leakyGrad(A, B, SLOPE);
        const z = ops.axpby(A, B, 0.75, -1.5);
        const f = be.fill([n], -3.25);
        const s4 = be.fill([n], 0), s1 = be.fill([n], 0);
        K.scale(rt, A.ref, s4.ref, n, -2.5);
        K.scale(rt, A.ref, s1.ref, n, -2.5, false);
        ts.push(y, gx, z, f, s4, s1);
        outs = await readAll(ts);
      } finally {
        rt.dispatch = dispatch;
      }
      const v4 = n % 4 === 0 ? 1 : 0;
      // leaky, leaky_grad, axpby, fill −3.25, scale, scale with vec4 off (zero fills clear the
      // buffer: no dispatch).
      assertEquals(seen, [v4, v4, v4, v4, v4, 0], `n = ${n}: V4 of each dispatch`);
      for (const t of [A, B, ...ts]) t.dispose();
      const [yo, gxo, zo, fo, s4o, s1o] = outs;
      close(yo, C.leakyRelu(a, SLOPE), ELEMENTWISE_ATOL, `leaky, n = ${n}`);
      close(gxo, C.leakyReluGrad(a, b, SLOPE), ELEMENTWISE_ATOL, `leaky gx, n = ${n}`);
      close(zo, a.map((v, j) => 0.75 * v - 1.5 * b[j]), ELEMENTWISE_ATOL, `axpby, n = ${n}`);
      close(fo, new Float64Array(n).fill(-3.25), 0, `fill, n = ${n}`);
      close(s1o, a.map((v) => -2.5 * v), ELEMENTWISE_ATOL, `scale, n = ${n}`);
      // The vec4 kernel does each lane's scalar arithmetic: the same bits.
      assertEquals([...s4o], [...s1o], `scale vec4 = scalar, n = ${n}`);
    }
  },
);

gpuTest("a fill of a few values goes through the queue: right values, no dispatch", async () => {
  const rt = await webgpu();
  const be = backendNamed("webgpu");
  dirtyPool(1024, 7);
  const before = rt.stats().dispatches;
  const a = be.fill([1024], 1.5), b = be.fill([7], -2);
  assertEquals(rt.stats().dispatches - before, 0, "no dispatch up to 1,024 values");
  const c = be.fill([1025], 0.5);
  assertEquals(rt.stats().dispatches - before, 1, "a dispatch above");
  const [ao, bo, co] = await readAll([a, b, c]);
  for (const t of [a, b, c]) t.dispose();
  close(ao, new Float64Array(1024).fill(1.5), 0, "1,024 values");
  close(bo, new Float64Array(7).fill(-2), 0, "7 values");
  close(co, new Float64Array(1025).fill(0.5), 0, "1,025 values");
});

gpuTest("sum and mean match reference across reduction chunks (sizes > 4096)", async () => {
  await webgpu();
  // 1 and 63 (under a workgroup), 4096 (exactly one chunk), 4097 (one element into a second
  // chunk), 3·4096 + 5 and 300,007 (73 chunks: the finish pass loops over > 64 partials).
  for (const [i, n] of [1, 63, 4096, 4097, 3 * 4096 + 5, 300007].entries()) {
    const x = rand(n, 2040 + i);
    const X = gt(x, [n]);
    const s = ops.sum(X), m = ops.mean(X), s3 = ops.sum(X, -3), again = ops.sum(X);
    const out = await readAll([s, m, s3, again]);
    for (const t of [X, s, m, s3, again]) t.dispose();
    // The summation order is fixed: the same input gives the same bits.
    assertEquals(out[3][0], out[0][0], `sum of ${n} is deterministic`);
    const ref = C.sum(x);
    const tol = sumTol(n, 2);
    close(out[0], [ref], tol, `sum of ${n}`);
    close(out[1], [ref / n], tol / n + U32, `mean of ${n}`);
    close(out[2], [-3 * ref], 3 * tol, `sum·(−3) of ${n}`);
  }
});

gpuTest("mse loss and its gradient match reference, with an upstream gradient", async () => {
  await webgpu();
  const be = backendNamed("webgpu");
  for (const [i, n] of [5, 4097, 9 * 87 * 67].entries()) {
    const a = rand(n, 2050 + i), b = rand(n, 2060 + i);
    dirtyPool(n);
    const A = gt(a, [n]), B = gt(b, [n]), GL = gt([0.37], [1]);
    const loss = ops.mseLoss(A, B);
    const g = be.mseGrad(A, B, GL);
    const [lo, go] = await readAll([loss, g]);
    for (const t of [A, B, GL, loss, g]) t.dispose();
    // Positive terms: no cancellation, so the relative error is at most the number of
    // sequential f32 additions (64 per lane, 6 tree levels, <= 64 per finish lane) times u,
    // ~134·u ≈ 8e-6; rtol 1e-5.
    close(lo, [C.mseLoss(a, b)], 0, `mse of ${n}`, 1e-5);
    close(go, C.mseLossGrad(a, b, 0.37), 4 * U32 * 4 * 2 / n, `mse grad of ${n}`);
  }
});

gpuTest(
  "cropped mse loss and gradient match reference and the unfused crop path bit for bit",
  async () => {
    await webgpu();
    const be = backendNamed("webgpu");
    // Asymmetric crops, a crop of nothing, one of whole rows only, and the seed decoder's.
    const cases: [number[], [number, number, number, number]][] = [
      [[2, 3, 7, 9], [1, 2, 0, 3]],
      [[1, 2, 5, 4], [0, 0, 0, 0]],
      [[3, 1, 6, 5], [2, 1, 0, 0]],
      [[4, 1, 89, 69], [1, 1, 1, 1]],
    ];
    for (const [i, [s, c]] of cases.entries()) {
      const ts = [s[0], s[1], s[2] - c[0] - c[1], s[3] - c[2] - c[3]];
      const a = rand(numel(s), 2070 + i), b = rand(numel(ts), 2080 + i);
      dirtyPool(numel(s));
      const A = gt(a, s), B = gt(b, ts), GL = gt([0.37], [1]);
      const loss = be.cropMse(A, B, c);
      const g = be.cropMseGrad(A, B, GL, c);
      const cropped = be.crop(A, c);
      const unfused = be.cropGrad(be.mseGrad(cropped, B, GL), s, c);
      const [lo, go, uo] = await readAll([loss, g, unfused]);
      for (const t of [A, B, GL, loss, g, cropped, unfused]) t.dispose();
      const ca = C.crop2d(a, s, c);
      // Positive terms: relative error at most (row length + 64 finish additions)·u; rtol 1e-5.
      close(lo, [C.mseLoss(ca, b)], 0, `cropped mse of [${s}] by [${c}]`, 1e-5);
      const gRef = C.crop2dGrad(C.mseLossGrad(ca, b, 0.37), s, c);
      close(go, gRef, 4 * U32 * 4 * 2 / numel(ts), `cropped mse grad of [${s}] by [${c}]`);
      // Same formula and operation order as mse_grad then crop_grad: identical f32 values,
      // and exact zeros outside the window.
      assertEquals(go, uo, `fused vs unfused gradient of [${s}] by [${c}]`);
    }
    const A = gt(rand(2 * 5 * 4, 1), [2, 1, 5, 4]);
    assertThrows(
      () => ops.croppedMseLoss(A, A, [1, 1, 0, 0]),
      TypeError,
      "cropped by [1,1,0,0] must match target [2,1,5,4]",
    );
    A.dispose();
  },
);

gpuTest(
  "the cropped mse gradient with the leaky ReLU backward of the layer that made the prediction (crop_mse_grad_act)",
  async () => {
    await webgpu();
    const be = backendNamed("webgpu");
    const slope = 0.02;
    const cases: [number[], [number, number, number, number]][] = [
      [[2, 3, 7, 9], [1, 2, 0, 3]],
      [[3, 1, 6, 5], [2, 1, 0, 0]],
      [[4, 1, 89, 69], [1, 1, 1, 1]],
    ];
    for (const [i, [s, c]] of cases.entries()) {
      const ts = [s[0], s[1], s[2] - c[0] - c[1], s[3] - c[2] - c[3]];
      const a = rand(numel(s), 2170 + i), b = rand(numel(ts), 2180 + i);
      // Predictions of exactly 0 take the slope, as PyTorch's leaky_relu backward (x > 0).
      for (let j = 0; j < a.length; j += 5) a[j] = 0;
      dirtyPool(numel(s));
      const A = gt(a, s), B = gt(b, ts), GL = gt([0.37], [1]);
      // The bias slot starts as NaN: a channel the row partials miss shows.
      const gb = gt(new Float32Array(s[1]).fill(NaN), [s[1]]);
      const g = be.cropMseGrad(A, B, GL, c, { y: A, slope, gb });
      const [sep, sepB] = be.leakyGradBias(A, be.cropMseGrad(A, B, GL, c), slope);
      const [go, gbo, so] = await readAll([g, gb, sep]);
      await readAll([sepB]);
      for (const t of [A, B, GL, g, gb, sep, sepB]) t.dispose();
      const gRef = C.leakyReluGrad(
        a,
        C.crop2dGrad(C.mseLossGrad(C.crop2d(a, s, c), b, 0.37), s, c),
        slope,
      );
      // Terms |2(a − b)/n · 0.37| <= 4·2·0.37/n; the bias sums N·H·W of them.
      const term = 4 * 2 * 0.37 / numel(ts);
      close(go, gRef, 4 * U32 * term, `masked gradient of [${s}] by [${c}]`);
      close(gbo, C.biasGrad(gRef, s), accTol(s[0] * s[2] * s[3], term), `bias of [${s}]`);
      // The same product as crop_mse_grad then bias_grad's mask: identical f32 values.
      assertEquals(go, so, `fused vs separate masked gradient of [${s}] by [${c}]`);
    }
    const A = gt(rand(2 * 5 * 4, 3), [2, 1, 5, 4]), B = gt(rand(2 * 3 * 4, 4), [2, 1, 3, 4]);
    const GL = gt([1], [1]);
    assertThrows(
      () => be.cropMseGrad(A, B, GL, [1, 1, 0, 0], { y: B, slope, gb: null }),
      TypeError,
      "a folded activation must be a's own",
    );
    for (const t of [A, B, GL]) t.dispose();
  },
);

gpuTest("broadcast (the gradient of a scaled sum) fills scale·gl", async () => {
  await webgpu();
  const be = backendNamed("webgpu");
  const GL = gt([1.5], [1]);
  const g = be.broadcast(GL, [3, 5, 7], -0.25);
  const [go] = await readAll([g]);
  GL.dispose();
  g.dispose();
  close(go, new Float64Array(105).fill(-0.375), 0, "broadcast");
});
