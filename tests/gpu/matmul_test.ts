/**
 * matmul.wgsl (both entry points, every transposition) and the Linear op against the
 * Float64 reference, including the seed's latent layers e5 (1152 → 9) and d0 (9 → 1152).
 */
import * as C from "../../lib/cpu/mod.ts";
import * as K from "../../lib/gpu/kernels.ts";
import { backendNamed } from "../../lib/tensor/backends.ts";
import * as ops from "../../lib/tensor/ops.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";
import { assertEquals } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import type { KernelDef } from "../../lib/gpu/runtime.ts";
import { adamSteps } from "./_train.ts";
import {
  accTol,
  close,
  dirtyPool,
  gpuDefaultTuning,
  gt,
  nanScratch,
  rand,
  readAll,
  webgpu,
  withTuning,
} from "./_util.ts";

const SLOPE = 0.02;

/** Reference act(op(A)·op(B) + bias) in Float64. */
function refMatmul(
  a: Float64Array,
  b: Float64Array,
  m: number,
  n: number,
  k: number,
  ta: boolean,
  tb: boolean,
  bias: Float64Array | null,
  slope: number,
): Float64Array {
  const y = C.matmul(a, b, m, k, n, { transA: ta, transB: tb });
  if (bias) { for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) y[i * n + j] += bias[j]; }
  return C.leakyRelu(y, slope);
}

/** Both entry points, each reading A and B from storage and from textures (`textureInputs`). */
const VARIANTS = [
  ["blocked", false],
  ["blocked", true],
  ["tiled", false],
  ["tiled", true],
] as const;

// Sizes: none a multiple of 4 or of the tiled kernel's 32×32 tile or 16-deep k step; m = 1 is
// the batch-1 case; k = 1 a rank-one product; 70×45 spans several tiles in both directions.
const SHAPES: [number, number, number][] = [[37, 45, 70], [1, 9, 13], [5, 1, 3], [70, 33, 1]];

/**
 * Runs one matmul case on fresh random inputs against the Float64 reference; with `split`, the
 * K axis split (a huge split target) and two dispatches asserted.
 */
async function checkMatmulCase(
  variant: "blocked" | "tiled",
  [m, n, k]: [number, number, number],
  ta: boolean,
  tb: boolean,
  withBias: boolean,
  slope: number,
  seed: number,
  split: boolean,
): Promise<void> {
  const rt = await webgpu();
  const a = rand(m * k, seed), b = rand(k * n, seed + 1);
  const bias = withBias ? rand(n, seed + 2) : null;
  dirtyPool(m * n);
  const A = gt(a, [m * k]), B = gt(b, [k * n]), Bi = bias ? gt(bias, [n]) : null;
  const Cm = backendNamed("webgpu").fill([m * n], 0);
  const scratch: Tensor[] = [];
  const before = rt.stats().dispatches;
  K.matmul(rt, A.ref, B.ref, Cm.ref, m, n, k, {
    ta,
    tb,
    bias: Bi?.ref ?? null,
    slope,
    variant,
    ...(split ? { splitTarget: 1 << 20, scratch: nanScratch(scratch) } : {}),
  });
  // The product and the split sum (the scratch slices record no dispatch).
  if (split) assertEquals(rt.stats().dispatches - before, 2, "split into two passes");
  const [out] = await readAll([Cm]);
  for (const t of [A, B, Bi, Cm, ...scratch]) t?.dispose();
  // Each output sums k products of size <= 4 (+ a bias <= 2).
  close(
    out,
    refMatmul(a, b, m, n, k, ta, tb, bias, slope),
    accTol(k + 1, 4),
    `${variant}${split ? " split" : ""} m ${m} n ${n} k ${k} ta ${ta} tb ${tb} bias ${withBias}`,
  );
}

const from = (textureInputs: boolean) => `A and B from ${textureInputs ? "textures" : "storage"}`;

for (const [variant, textureInputs] of VARIANTS) {
  gpuTest(
    `matmul ${variant} matches reference for all transpositions, bias and leaky (${
      from(textureInputs)
    })`,
    () =>
      withTuning({ textureInputs }, async () => {
        let seed = textureInputs ? 1500 : 1000;
        for (const [m, n, k] of SHAPES) {
          for (const ta of [false, true]) {
            for (const tb of [false, true]) {
              const withBias = (m + n + (ta ? 1 : 0) + (tb ? 2 : 0)) % 2 === 0;
              const slope = tb ? SLOPE : 1;
              await checkMatmulCase(variant, [m, n, k], ta, tb, withBias, slope, seed, false);
              seed += 3;
            }
          }
        }
      }),
  );
}

// Split-K: K long against few outputs (the latent Linear at batch 1..37), K not a multiple of
// the 64-value minimum chunk or of the tiled kernel's 16-deep step.
const SPLIT_SHAPES: [number, number, number][] = [[5, 7, 1000], [37, 9, 1152], [1, 3, 130]];

for (const [variant, textureInputs] of VARIANTS) {
  gpuTest(
    `matmul ${variant} split over K matches reference for all transpositions, bias and leaky (${
      from(textureInputs)
    })`,
    () =>
      withTuning({ textureInputs }, async () => {
        let seed = textureInputs ? 1600 : 1100;
        for (const shape of SPLIT_SHAPES) {
          for (const ta of [false, true]) {
            for (const tb of [false, true]) {
              const withBias = !ta || tb;
              const slope = ta ? 1 : SLOPE;
              await checkMatmulCase(variant, shape, ta, tb, withBias, slope, seed, true);
              seed += 3;
            }
          }
        }
      }),
  );
}

// Register blocks other than 4×4 (tunings `matmulRows`, `matmulCols`): 1 row, rows that do
// not divide any M here, and wide column blocks past N = 1 and 9.
for (const [rows, cols] of [[8, 12], [12, 8], [1, 4], [3, 16]] as const) {
  for (const textureInputs of [false, true]) {
    gpuTest(
      `matmul blocked with ${rows}×${cols} register blocks matches reference for all transpositions, split or not (${
        from(textureInputs)
      })`,
      () =>
        withTuning({ textureInputs, matmulRows: rows, matmulCols: cols }, async () => {
          let seed = 1700 + rows * 10 + cols + (textureInputs ? 500 : 0);
          for (const [shapes, split] of [[SHAPES, false], [SPLIT_SHAPES, true]] as const) {
            for (const shape of shapes) {
              for (const ta of [false, true]) {
                for (const tb of [false, true]) {
                  const withBias = (shape[0] + (ta ? 1 : 0) + (tb ? 2 : 0)) % 2 === 0;
                  const slope = tb ? SLOPE : 1;
                  await checkMatmulCase("blocked", shape, ta, tb, withBias, slope, seed, split);
                  seed += 3;
                }
              }
            }
          }
        }),
    );
  }
}

/** Runs `f` with every matmul dispatch's defines recorded. */
async function matmulDefines<T>(f: () => Promise<T>): Promise<{ r: T; defines: string[] }> {
  const rt = await webgpu();
  const defines: string[] = [];
  const dispatch = rt.dispatch;
  rt.dispatch = function (def, params, bufs, wg) {
    if (def.name.startsWith("matmul")) defines.push(JSON.stringify(def.defines ?? {}));
    return dispatch.call(this, def, params, bufs, wg);
  };
  try {
    return { r: await f(), defines };
  } finally {
    rt.dispatch = dispatch;
  }
}

gpuTest(
  "matmul blocked reads vec4s only where A and B are untransposed and K and N multiples of 4: the reference, bit-identical with scalar loads",
  async () => {
    const rt = await webgpu();
    const be = backendNamed("webgpu");
    let seed = 2300;
    // [m, n, k]: M not a multiple of any block; K = 4 a single vec4 step; N = 4 one quad.
    for (const [m, n, k] of [[37, 44, 68], [5, 4, 4], [13, 12, 132]] as const) {
      for (const block of [[4, 4], [12, 8], [3, 16]] as [number, number][]) {
        const a = rand(m * k, seed++), b = rand(k * n, seed++), bias = rand(n, seed++);
        const A = gt(a, [m * k]), B = gt(b, [k * n]), Bi = gt(bias, [n]);
        const run = async (vec4: boolean) => {
          const Cm = be.fill([m * n], NaN);
          const { defines } = await matmulDefines(() => {
            K.matmul(rt, A.ref, B.ref, Cm.ref, m, n, k, {
              bias: Bi.ref,
              slope: SLOPE,
              block,
              vec4,
            });
            return Promise.resolve();
          });
          const [out] = await readAll([Cm]);
          Cm.dispose();
          return { out, va: defines.map((d) => JSON.parse(d).VA) };
        };
        const v = await run(true), sc = await run(false);
        const tag = `m ${m} n ${n} k ${k} block ${block.join("×")}`;
        assertEquals(v.va, [1], `${tag}: the vec4 pipeline ran`);
        assertEquals(sc.va, [0], `${tag}: the scalar pipeline ran`);
        close(v.out, refMatmul(a, b, m, n, k, false, false, bias, SLOPE), accTol(k + 1, 4), tag);
        // Every output adds the same products in the same order of k either way.
        assertEquals(Array.from(v.out), Array.from(sc.out), `${tag}: bit-identical`);
        for (const t of [A, B, Bi]) t.dispose();
      }
    }
    // Split over K with vec4 loads: each split's chunk a multiple of 4 (K = 1000 in 15 chunks
    // of 68, the last 48), against the reference.
    for (const block of [[4, 4], [12, 8]] as [number, number][]) {
      const m = 13, n = 12, k = 1000;
      const a = rand(m * k, seed++), b = rand(k * n, seed++);
      const A = gt(a, [m * k]), B = gt(b, [k * n]);
      const scratch: Tensor[] = [];
      const Cm = be.fill([m * n], NaN);
      const before = rt.stats().dispatches;
      const { defines } = await matmulDefines(() => {
        K.matmul(rt, A.ref, B.ref, Cm.ref, m, n, k, {
          block,
          vec4: true,
          splitTarget: 1 << 20,
          scratch: nanScratch(scratch),
        });
        return Promise.resolve();
      });
      const [out] = await readAll([Cm]);
      assertEquals(defines.map((d) => JSON.parse(d).VA), [1], "a vec4 product");
      assertEquals(rt.stats().dispatches - before, 2, "split: the product and its sum");
      close(out, refMatmul(a, b, m, n, k, false, false, null, 1), accTol(k, 4), `split ${block}`);
      for (const t of [A, B, Cm, ...scratch]) t.dispose();
    }
    // Layouts that must fall back to scalar loads even with vec4 asked for: a transposed
    // operand, K or N not a multiple of 4.
    const m = 9, n = 8, k = 12;
    const a = rand(m * k, seed++), b = rand(k * n, seed++);
    const A = gt(a, [m * k]), B = gt(b, [k * n]);
    const cases: [string, () => Float64Array, (c: Tensor) => void][] = [
      [
        "ta",
        () => refMatmul(a, b, m, n, k, true, false, null, 1),
        (c) => K.matmul(rt, A.ref, B.ref, c.ref, m, n, k, { ta: true, vec4: true }),
      ],
      [
        "tb",
        () => refMatmul(a, b, m, n, k, false, true, null, 1),
        (c) => K.matmul(rt, A.ref, B.ref, c.ref, m, n, k, { tb: true, vec4: true }),
      ],
      [
        "K 11",
        () =>
          refMatmul(a.subarray(0, m * 11), b.subarray(0, 11 * n), m, n, 11, false, false, null, 1),
        (c) => K.matmul(rt, A.ref, B.ref, c.ref, m, n, 11, { vec4: true }),
      ],
      [
        "N 6",
        () => refMatmul(a, b.subarray(0, k * 6), m, 6, k, false, false, null, 1),
        (c) => K.matmul(rt, A.ref, B.ref, c.ref, m, 6, k, { vec4: true }),
      ],
    ];
    for (const [tag, ref, record] of cases) {
      const want = ref();
      const Cm = be.fill([want.length], NaN);
      const { defines } = await matmulDefines(() => Promise.resolve(record(Cm)));
      const [out] = await readAll([Cm]);
      Cm.dispose();
      assertEquals(defines.map((d) => JSON.parse(d).VA), [0], `${tag}: scalar loads`);
      close(out, want, accTol(k, 4), tag);
    }
    for (const t of [A, B]) t.dispose();
  },
);

for (const batched of [true, false]) {
  gpuTest(
    `matmul split over K with deferSum (batchSplitSums ${batched}): the reference, bit-identical with split_sum_act`,
    async () => {
      const rt = await webgpu();
      const be = backendNamed("webgpu");
      await withTuning({ batchSplitSums: batched }, async () => {
        let seed = 1200;
        for (const variant of ["blocked", "tiled"] as const) {
          for (const [m, n, k] of SPLIT_SHAPES) {
            // A weight gradient's shape: gw = gyᵀ·x.
            const a = rand(m * k, seed++), b = rand(k * n, seed++);
            const A = gt(a, [k, m]), B = gt(b, [k, n]);
            const scratch: Tensor[] = [];
            const run = (deferSum: boolean) => {
              const Cm = be.fill([m * n], NaN);
              const before = rt.stats().dispatches;
              K.matmul(rt, A.ref, B.ref, Cm.ref, m, n, k, {
                ta: true,
                variant,
                splitTarget: 1 << 20,
                scratch: nanScratch(scratch),
                deferSum,
              });
              return { Cm, dispatches: rt.stats().dispatches - before };
            };
            const now = run(false);
            const later = run(true);
            const tag = `${variant} m ${m} n ${n} k ${k}`;
            assertEquals(now.dispatches, 2, `${tag}: product and split_sum_act`);
            // Batched: the sum waits (recorded at the read-back below); else a split_sum.
            assertEquals(later.dispatches, batched ? 1 : 2, `${tag}: dispatches with deferSum`);
            const [o1, o2] = await readAll([now.Cm, later.Cm]);
            close(o2, refMatmul(a, b, m, n, k, true, false, null, 1), accTol(k, 4), tag);
            assertEquals(Array.from(o2), Array.from(o1), `${tag}: bit-identical`);
            for (const t of [A, B, now.Cm, later.Cm, ...scratch]) t.dispose();
          }
        }
      });
    },
  );
}

gpuTest(
  "a GPU-tuned training step at batch 256 sums its Linear weight gradients with the conv ones",
  async () => {
    // Split target 65,536: at batch 256 both Linear layers' weight gradients split K (the
    // batch) in 4; their sums join the backward pass's one split_sum_jobs dispatch instead of
    // a split_sum_act each, and the weights come out bit-identical either way.
    const gpu = gpuDefaultTuning();
    const count = (d: KernelDef) => d.name === "split_sum_act" || d.name === "split_sum_jobs";
    const data = { shape: [1, 27, 21] as [number, number, number], batch: 256 };
    const on = await adamSteps({ ...gpu, batchSplitSums: true }, count, data);
    const off = await adamSteps({ ...gpu, batchSplitSums: false }, count, data);
    assertEquals(on.losses, off.losses, "losses");
    assertEquals(Array.from(on.weights), Array.from(off.weights), "final weights");
    // Left: the forward's latent Linear (bias and activation) and the decoder Linear's input
    // gradient (read at once) keep their split_sum_act; the backward has one split_sum_jobs.
    // (Before, the two weight gradients added a split_sum_act each: 5.)
    assertEquals(on.counted[2], 3, `split_sum_act + split_sum_jobs per step: ${on.counted}`);
  },
);

/** Linear forward (fused leaky) and the three gradients the op's backward computes. */
async function checkLinear(n: number, inF: number, outF: number, seed: number): Promise<void> {
  await webgpu();
  const be = backendNamed("webgpu");
  const xd = rand(n * inF, seed), wd = rand(outF * inF, seed + 1), bd = rand(outF, seed + 2);
  const gyd = rand(n * outF, seed + 3);
  const x = gt(xd, [n, inF]), w = gt(wd, [outF, inF]), b = gt(bd, [outF]);
  const gy = gt(gyd, [n, outF]);
  const y = ops.linear(x, w, b, SLOPE);
  // The primitives ops.linear's backward calls: gx = gy·W, gw = gyᵀ·x, gb = Σ_n gy.
  const gx = be.matmul(gy, w, n, inF, outF, false, false, null, 1);
  const gw = be.matmul(gy, x, outF, inF, n, true, false, null, 1);
  const gb = be.biasGrad(gy);
  const out = await readAll([y, gx, gw, gb]);
  for (const t of [x, w, b, gy, y, gx, gw, gb]) t.dispose();
  assertEquals([...y.shape], [n, outF]);
  const tag = `linear ${inF}→${outF}, batch ${n}`;
  close(
    out[0],
    C.leakyRelu(C.linear(xd, wd, bd, n, inF, outF), SLOPE),
    accTol(inF + 1, 4),
    `${tag} y`,
  );
  close(out[1], C.linearInputGrad(gyd, wd, n, inF, outF), accTol(outF, 4), `${tag} gx`);
  close(out[2], C.linearWeightGrad(xd, gyd, n, inF, outF), accTol(n, 4), `${tag} gw`);
  close(out[3], C.sumRows(gyd, n, outF), accTol(n, 2), `${tag} gb`);
}

gpuTest("linear matches reference on the seed's e5 (1152 → 9, batch 2)", async () => {
  await checkLinear(2, 1152, 9, 1100);
});

gpuTest("linear matches reference on the seed's d0 (9 → 1152, batch 2)", async () => {
  await checkLinear(2, 9, 1152, 1110);
});

gpuTest("linear matches reference at batch 1 with sizes not multiples of 4", async () => {
  await checkLinear(1, 7, 5, 1120);
  await checkLinear(13, 3, 1, 1130);
});

gpuTest("matmul op matches reference (A·B without transposition)", async () => {
  await webgpu();
  const a = rand(6 * 11, 1140), b = rand(11 * 3, 1141);
  const y = ops.matmul(gt(a, [6, 11]), gt(b, [11, 3]));
  const [out] = await readAll([y]);
  close(out, C.matmul(a, b, 6, 11, 3), accTol(11, 4), "matmul 6×11·11×3");
});
