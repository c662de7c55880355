// Long reductions against their references past 65,535 loop iterations: Mesa's llvmpipe and
// lavapipe end an invocation's loops there (all its loops together) and return the partial
// result with no error, so the host splits every size-driven loop to at most SERIAL_MAX
// iterations (lib/gpu/kernels.ts). Each case failed before that split, on this adapter:
// a bias gradient 8 % low, a weight gradient off by 490 against a tolerance of 0.18, a dot
// product off by 374 against 0.13.
import * as C from "../../lib/cpu/mod.ts";
import * as K from "../../lib/gpu/kernels.ts";
import * as ops from "../../lib/tensor/ops.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";
import { assertThrows } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import {
  accTol,
  close,
  gt,
  nanScratch,
  numel,
  rand,
  readAll,
  webgpu,
  withTuning,
} from "./_util.ts";
import { webgpuBackend } from "./_conv.ts";

gpuTest(
  "bias gradient folded into the cropped MSE at batch 800 of the seed's output: 71,200 row partials summed in lanes of at most SERIAL_MAX",
  async () => {
    await webgpu();
    const be = webgpuBackend();
    const n = 800, s = [n, 1, 89, 69], ts = [n, 1, 87, 67];
    const crop: [number, number, number, number] = [1, 1, 1, 1];
    const a = rand(numel(s), 3), b = rand(numel(ts), 4);
    const A = gt(a, s), B = gt(b, ts), GL = gt([1], [1]);
    const gb = gt(new Float32Array(1).fill(NaN), [1]);
    const g = be.cropMseGrad(A, B, GL, crop, { y: A, slope: 0.02, gb });
    const [, gbo] = await readAll([g, gb]);
    const gRef = C.leakyReluGrad(
      a,
      C.crop2dGrad(C.mseLossGrad(C.crop2d(a, s, crop), b, 1), s, crop),
      0.02,
    );
    // Terms of size <= 2·2/numel(b) (|a − b| <= 2), n·89·69 of them.
    close(gbo, C.biasGrad(gRef, s), accTol(n * 89 * 69, 4 / numel(ts)), "gb");
    for (const t of [A, B, GL, g, gb]) t.dispose();
  },
);

gpuTest("bias gradient of [2800, 1, 89, 69]: 67,200 segment partials", async () => {
  await webgpu();
  const s = [2800, 1, 89, 69];
  const g = rand(numel(s), 11);
  const G = gt(g, s);
  const gb = webgpuBackend().biasGrad(G);
  const [o] = await readAll([gb]);
  close(o, C.biasGrad(g, s), accTol(numel(s), 2), "gb");
  G.dispose();
  gb.dispose();
});

gpuTest(
  "conv weight gradient of the seed's first layer at batch 64 in one chunk (no split target): chunks capped at SERIAL_MAX pixel steps",
  async () => {
    const rt = await webgpu();
    await withTuning({ splitMinPixels: 1e9 }, async () => {
      const xs: [number, number, number, number] = [64, 1, 87, 67], ws = [8, 1, 3, 3];
      const p = { stride: [2, 2] as [number, number], padding: [1, 1] as [number, number] };
      const ys = C.conv2dOutputShape(xs, ws, p);
      const x = rand(numel(xs), 12), gy = rand(numel(ys), 13);
      const X = gt(x, xs), GY = gt(gy, ys);
      const gw = webgpuBackend().fill(ws, NaN);
      const scratch: Tensor[] = [];
      // A split target of 1e9 asks for as few chunks as the pixel floor allows: one.
      K.convWeightGrad(
        rt,
        K.convGeom(xs, ws, ys, p),
        X.ref,
        GY.ref,
        gw.ref,
        1e9,
        nanScratch(scratch),
      );
      const [o] = await readAll([gw]);
      close(o, C.conv2dWeightGrad(x, xs, gy, ys, ws, p), accTol(64 * ys[2] * ys[3], 4), "gw");
      for (const t of [X, GY, gw, ...scratch]) t.dispose();
    });
  },
);

gpuTest(
  "a conv weight gradient over output rows of 16,384 pixels or more is refused, naming the limit",
  async () => {
    await webgpu();
    const xs: [number, number, number, number] = [1, 1, 1, 20000], ws = [4, 1, 1, 3];
    const p = { stride: [1, 1] as [number, number], padding: [0, 1] as [number, number] };
    const X = gt(rand(numel(xs), 1), xs), GY = gt(rand(4 * 20000, 2), [1, 4, 1, 20000]);
    assertThrows(
      () => webgpuBackend().conv2dWeightGrad(X, GY, ws, p),
      RangeError,
      "output rows of 20000 pixels: at most 16383",
    );
    X.dispose();
    GY.dispose();
  },
);

gpuTest(
  "matmul and linear with K = 70,000: K split so that no invocation loops over more than SERIAL_MAX",
  async () => {
    await webgpu();
    const [m, n, k] = [128, 64, 70000];
    const a = rand(m * k, 5), b = rand(k * n, 6), w = rand(n * k, 10);
    const A = gt(a, [m, k]), B = gt(b, [k, n]), W = gt(w, [n, k]);
    // A·B (vec4 loads) and x·Wᵀ (the scalar k loop).
    const y = ops.matmul(A, B), z = ops.linear(A, W, null, 1);
    const [yo, zo] = await readAll([y, z]);
    close(yo, C.matmul(a, b, m, k, n), accTol(k, 4), "A·B");
    close(zo, C.linear(a, w, null, m, k, n), accTol(k, 4), "x·Wᵀ");
    for (const t of [A, B, W, y, z]) t.dispose();
  },
);

gpuTest("DEC gradient wrt the centres at a batch of 4,096", async () => {
  await webgpu();
  const [n, k, d, alpha] = [4096, 10, 9, 1];
  const z = rand(n * d, 7), mu = rand(k * d, 8);
  const p = C.targetDistribution(C.softAssign(z.map((v) => 0.8 * v), mu, n, k, d, alpha), n, k);
  const Z = gt(z, [n, d], true), MU = gt(mu, [k, d], true), P = gt(p, [n, k]);
  const { loss, q } = ops.decKlLoss(Z, MU, P, alpha);
  loss.backward();
  const [gmu] = await readAll([MU.grad!]);
  const p32 = Float64Array.from(Float32Array.from(p));
  const ref = C.klGrad(z, mu, p32, C.softAssign(z, mu, n, k, d, alpha), n, k, d, alpha).gmu;
  // As dec_test's: 1e-4 of the largest entry, rtol 1e-4.
  close(gmu, ref, 1e-4 * Math.max(...ref.map(Math.abs)), "dKL/dmu", 1e-4);
  for (const t of [Z, MU, P, loss, q, Z.grad!, MU.grad!]) t.dispose();
});
