/**
 * The kernel variants a GPU's default tuning selects (conv2d TQ2/TP1 and TQ1/TP2 from
 * storage, conv_transpose2d TQ1/TP1 from storage, the phase kernel from storage with the
 * gradient epilogue, conv_weight_grad TQ1/TC1, 64 split lanes through split_sum_jobs, matmul
 * "tiled") against the Float64 CPU reference. Otherwise these variants run only in training
 * runs compared GPU path against GPU path (tests/tensor/grad_test.ts also checks a GPU-tuned
 * conv stack against central differences).
 */
import * as C from "../../lib/cpu/mod.ts";
import * as ops from "../../lib/tensor/ops.ts";
import type { KernelDef, Param } from "../../lib/gpu/runtime.ts";
import { assert } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import {
  accTol,
  close,
  gpuDefaultTuning,
  gt,
  numel,
  rand,
  readAll,
  webgpu,
  withTuning,
} from "./_util.ts";
import {
  checkConv2d,
  checkConvT,
  checkInputAct,
  CONV_CASES,
  type ConvCase,
  CONVT_CASES,
  SLOPE,
  webgpuBackend,
} from "./_conv.ts";

// Cases conv_test.ts also runs under the adapter's tuning, then ones that pick a GPU's own
// variants (a partial channel quad, the seed layers at batch 1, 40 channels).
const CONV: ConvCase[] = [
  CONV_CASES[0], // b1 Ci3 Co5 7 wide s2 k3x2
  CONV_CASES[1], // Ci1 Co1 k1x3 (TQ1 TP2)
  CONV_CASES[2], // b3 Ci5 Co7 k5x3
  {
    name: "Ci6 Co11 (TQ2 TP1, partial quad)",
    x: [2, 6, 9, 10],
    w: [11, 6, 3, 3],
    stride: [2, 2],
    padding: [1, 1],
    bias: true,
    slope: SLOPE,
  },
  {
    name: "seed e1 batch 1",
    x: [1, 8, 44, 34],
    w: [16, 8, 3, 3],
    stride: [2, 2],
    padding: [1, 1],
    bias: true,
    slope: SLOPE,
  },
];
const CONVT: ConvCase[] = [
  CONVT_CASES[0], // k3 s2 A5 B3 (phase)
  CONVT_CASES[7], // B6 A9 s2 op(0,1) (TQ1 TP1 channel kernel)
  CONVT_CASES[2], // s(2,3) k3x5 B5
  CONVT_CASES[8], // s1 k2x3 A6 B7
  {
    name: "seed d3 batch 1",
    x: [1, 32, 11, 9],
    w: [32, 16, 3, 3],
    stride: [2, 2],
    padding: [0, 1],
    bias: true,
    slope: SLOPE,
  },
];

/** Kernel name + defines of every conv-family dispatch, to show which variants ran. */
async function traced<T>(f: () => Promise<T>): Promise<{ r: T; seen: Set<string> }> {
  const rt = await webgpu();
  const seen = new Set<string>();
  const dispatch = rt.dispatch;
  rt.dispatch = function (def: KernelDef, params: Param[], bufs, wg) {
    if (
      def.name.startsWith("conv") || def.name.startsWith("split") || def.name.startsWith("matmul")
    ) {
      const d = def.defines ?? {};
      const keep = ["TQ", "TP", "TC", "JT", "TB", "UW", "NU", "GM", "CIT"].filter((k) => k in d)
        .map((k) => `${k}${d[k]}`).join(" ");
      const lanes = def.name.startsWith("split_sum") && !def.name.includes("jobs")
        ? ` lanes${params[5]}`
        : "";
      seen.add(`${def.name} ${keep}${lanes}`);
    }
    return dispatch.call(this, def, params, bufs, wg);
  };
  try {
    return { r: await f(), seen };
  } finally {
    rt.dispatch = dispatch;
  }
}

gpuTest("GPU default tuning's conv variants match the Float64 reference", async () => {
  await webgpu();
  const { seen } = await traced(() =>
    withTuning(gpuDefaultTuning(), async () => {
      for (const [i, c] of CONV.entries()) await checkConv2d(c, 9000 + 10 * i);
      for (const [i, c] of CONVT.entries()) await checkConvT(c, 9100 + 10 * i);
      for (const [i, c] of CONV.entries()) await checkInputAct(c, false, 9200 + 10 * i);
      for (const [i, c] of CONVT.entries()) await checkInputAct(c, true, 9300 + 10 * i);
    })
  );
  // The variants this test is for actually ran.
  for (
    const v of [
      "conv2d TQ2 TP1 UW0 NU1 GM0",
      "conv2d TQ1 TP2 UW0 NU1 GM0",
      "conv2d TQ2 TP1 UW0 NU1 GM1",
      "conv_transpose2d TQ1 TP1 UW0 NU1 GM0",
      "conv_transpose2d TQ1 TP1 UW0 NU1 GM1",
      "conv_weight_grad TQ1 TC1 JT3",
    ]
  ) assert(seen.has(v), `variant ran: ${v}`);
});

gpuTest(
  "GPU tuning: linear backward at batch 130 (split-K, 64 lanes), bias_grad, crop_mse_grad_act",
  async () => {
    await webgpu();
    const { seen } = await traced(() =>
      withTuning(gpuDefaultTuning(), async () => {
        // Linear through autograd: gw = gyᵀ·x splits K = 130 (deferred sum, 64-lane jobs).
        for (const [n, inF, outF, seed] of [[130, 37, 5, 9600], [257, 9, 1152, 9610]]) {
          const xd = rand(n * inF, seed),
            wd = rand(outF * inF, seed + 1),
            bd = rand(outF, seed + 2);
          const r = rand(n * outF, seed + 3);
          const x = gt(xd, [n, inF], true), w = gt(wd, [outF, inF], true), b = gt(bd, [outF], true);
          const y = ops.linear(x, w, b, SLOPE);
          y.backward(gt(r, [n, outF]));
          const [yo, gx, gw, gb] = await readAll([y, x.grad!, w.grad!, b.grad!]);
          const yRef = C.leakyRelu(C.linear(xd, wd, bd, n, inF, outF), SLOPE);
          const g = C.leakyReluGrad(yRef, r, SLOPE);
          const tag = `linear ${n}×${inF}→${outF}`;
          close(yo, yRef, accTol(inF + 1, 4), `${tag} y`);
          close(gx, C.linearInputGrad(g, wd, n, inF, outF), accTol(outF, 8), `${tag} gx`);
          close(gw, C.linearWeightGrad(xd, g, n, inF, outF), accTol(n, 8), `${tag} gw`);
          close(gb, C.sumRows(g, n, outF), accTol(n, 4), `${tag} gb`);
          for (const t of [x.grad!, w.grad!, b.grad!, x, w, b, y]) t.dispose();
        }
        // bias_grad (both entries) with the GPU's lanes.
        for (
          const [i, s] of [[3, 1, 20, 30], [5, 37], [4, 3, 257], [150, 36], [300, 8]].entries()
        ) {
          const n = numel(s), c = s[1], inner = n / (s[0] * c);
          const y = rand(n, 9700 + i), gy = rand(n, 9710 + i);
          const Y = gt(y, s), GY = gt(gy, s);
          const [g, gb] = webgpuBackend().leakyGradBias(Y, GY, SLOPE);
          const [go, gbo] = await readAll([g, gb]);
          for (const t of [Y, GY, g, gb]) t.dispose();
          const gRef = C.leakyReluGrad(y, gy, SLOPE);
          close(go, gRef, 4 * 2 ** -24 * 2, `bias_grad [${s}] g`);
          close(
            gbo,
            C.biasGrad(gRef, [s[0], c, inner, 1]),
            accTol(s[0] * inner, 2),
            `bias_grad [${s}] gb`,
          );
        }
        // crop_mse_grad_act with the GPU's lanes.
        for (
          const [i, [s, c]] of ([[[2, 3, 7, 9], [1, 2, 0, 3]], [[8, 1, 89, 69], [1, 1, 1, 1]]] as [
            number[],
            [number, number, number, number],
          ][]).entries()
        ) {
          const ts = [s[0], s[1], s[2] - c[0] - c[1], s[3] - c[2] - c[3]];
          const a = rand(numel(s), 9800 + i), b = rand(numel(ts), 9810 + i);
          const A = gt(a, s), B = gt(b, ts), GL = gt([0.37], [1]);
          const gb = gt(new Float32Array(s[1]).fill(NaN), [s[1]]);
          const g = webgpuBackend().cropMseGrad(A, B, GL, c, { y: A, slope: SLOPE, gb });
          const [go, gbo] = await readAll([g, gb]);
          for (const t of [A, B, GL, g, gb]) t.dispose();
          const gRef = C.leakyReluGrad(
            a,
            C.crop2dGrad(C.mseLossGrad(C.crop2d(a, s, c), b, 0.37), s, c),
            SLOPE,
          );
          const term = 4 * 2 * 0.37 / numel(ts);
          close(go, gRef, 4 * 2 ** -24 * term, `crop_mse_grad_act [${s}] g`);
          close(
            gbo,
            C.biasGrad(gRef, s),
            accTol(s[0] * s[2] * s[3], term),
            `crop_mse_grad_act [${s}] gb`,
          );
        }
      })
    );
    assert([...seen].some((s) => s.startsWith("matmul_tiled")), "tiled matmul ran");
  },
);

gpuTest(
  "pixel tiles that only balanceThreads picks at run time (TP 6, 9, 18) match the reference",
  async () => {
    await webgpu();
    const extra: ConvCase[] = [
      {
        name: "Ci3 Co40",
        x: [2, 3, 13, 12],
        w: [40, 3, 3, 3],
        stride: [2, 2],
        padding: [1, 1],
        bias: true,
        slope: SLOPE,
      },
    ];
    const extraT: ConvCase[] = [
      {
        name: "A5 B40",
        x: [2, 5, 6, 5],
        w: [5, 40, 3, 3],
        stride: [2, 2],
        padding: [1, 1],
        outputPadding: [1, 0],
        bias: true,
        slope: SLOPE,
      },
    ];
    const all = new Set<string>();
    for (const tp of [6, 9]) {
      const { seen } = await traced(() =>
        withTuning({ convPixels: tp, convTransposePixels: tp, balanceThreads: 1 }, async () => {
          for (const [i, c] of [...CONV, ...extra].entries()) {
            await checkConv2d(c, 9900 + 10 * i + tp);
          }
          for (const [i, c] of [...CONVT, ...extraT].entries()) {
            await checkConvT(c, 9950 + 10 * i + tp);
          }
        })
      );
      for (const s of seen) all.add(s);
    }
    const tps = [...all].filter((s) => /^conv(2d|_transpose2d) /.test(s)).sort();
    for (const v of ["TP6", "TP9", "TP18"]) assert(tps.some((s) => s.includes(` ${v} `)), v);
  },
);

gpuTest(
  "GPU tuning: a conv and a transposed conv of more than 65,535 workgroups (a grid over y) match the reference",
  async () => {
    // One pixel per invocation: 2,100² pixels of one channel quad are 68,907 workgroups of 64,
    // past maxComputeWorkgroupsPerDimension, so the runtime dispatches a 65,535 × 2 grid and the
    // kernels must skip the workgroups past the end (an encoder pass at inferBatch 4,096 does).
    const rt = await webgpu();
    let most = 0;
    const dispatch = rt.dispatch;
    rt.dispatch = function (def, params, bufs, wg) {
      if (def.name.startsWith("conv")) most = Math.max(most, wg);
      return dispatch.call(this, def, params, bufs, wg);
    };
    try {
      await withTuning(gpuDefaultTuning(), async () => {
        const big = (w: ConvCase["w"]): ConvCase => ({
          name: `2100² k1 w [${w}]`,
          x: [1, 1, 2100, 2100],
          w,
          stride: [1, 1],
          padding: [0, 0],
          bias: true,
          slope: SLOPE,
        });
        await checkConv2d(big([4, 1, 1, 1]), 9990);
        await checkConvT(big([1, 4, 1, 1]), 9995);
      });
    } finally {
      rt.dispatch = dispatch;
    }
    assert(most > rt.device.limits.maxComputeWorkgroupsPerDimension, `${most} workgroups at most`);
  },
);
