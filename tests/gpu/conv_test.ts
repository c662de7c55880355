/**
 * The WebGPU convolution kernels (conv2d.wgsl, conv_transpose2d.wgsl,
 * conv_weight_grad.wgsl, bias_grad.wgsl) against the Float64
 * reference in lib/cpu, through the backend primitives on "webgpu" tensors.
 */
import * as C from "../../lib/cpu/mod.ts";
import * as K from "../../lib/gpu/kernels.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";
import { assert, assertEquals } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import {
  accTol,
  close,
  dirtyPool,
  gt,
  nanScratch,
  numel,
  rand,
  readAll,
  webgpu,
  withTuning,
} from "./_util.ts";
import { profileRun } from "../../lib/bench/profile.ts";
import { adamSteps } from "./_train.ts";
import {
  checkConv2d,
  checkConvT,
  checkInputAct,
  CONV_CASES,
  type ConvCase,
  CONVT_CASES,
  type P2,
  SLOPE,
  T,
  webgpuBackend,
} from "./_conv.ts";
import {
  type BufRef,
  type GpuRuntime,
  type ProfiledDispatch,
  TEXTURE_BUDGET,
  TEXTURE_ROW,
  textureFits,
} from "../../lib/gpu/runtime.ts";

/**
 * Runs `work` with every dispatch timed and returns the dispatches (kernel and defines), or
 * null, after running it untimed, where the adapter has no timestamp-query feature.
 */
async function dispatchesOf(
  rt: GpuRuntime,
  work: () => Promise<void>,
): Promise<ProfiledDispatch[] | null> {
  if (!rt.device.features.has("timestamp-query")) {
    await work();
    return null;
  }
  return await profileRun(rt, work);
}

/** The seed autoencoder's convolutions at batch 2 (input [2, 1, 87, 67]). */
const SEED_ENCODER: ConvCase[] = [
  [1, 8, 87, 67],
  [8, 16, 44, 34],
  [16, 32, 22, 17],
  [32, 64, 11, 9],
  [64, 128, 6, 5],
].map(([ci, co, h, w], i) => ({
  name: `e${i}`,
  x: [2, ci, h, w],
  w: [co, ci, 3, 3],
  stride: [2, 2],
  padding: [1, 1],
  bias: true,
  slope: SLOPE,
}));

const SEED_DECODER: ConvCase[] = (
  [
    [128, 64, 3, 3, [1, 1]],
    [64, 32, 5, 5, [0, 1]],
    [32, 16, 11, 9, [0, 1]],
    [16, 8, 23, 17, [1, 0]],
    [8, 1, 45, 35, [1, 1]],
  ] as [number, number, number, number, P2][]
).map(([a, b, h, w, p], i) => ({
  name: `d${i + 1}`,
  x: [2, a, h, w],
  w: [a, b, 3, 3],
  stride: [2, 2],
  padding: p,
  bias: true,
  slope: SLOPE,
}));

/** The seed table's output shapes of the layers above. */
const SEED_OUT: Record<string, number[]> = {
  e0: [2, 8, 44, 34],
  e1: [2, 16, 22, 17],
  e2: [2, 32, 11, 9],
  e3: [2, 64, 6, 5],
  e4: [2, 128, 3, 3],
  d1: [2, 64, 5, 5],
  d2: [2, 32, 11, 9],
  d3: [2, 16, 23, 17],
  d4: [2, 8, 45, 35],
  d5: [2, 1, 89, 69],
};

CONV_CASES.forEach((c, i) => {
  gpuTest(`conv2d forward and gradients match reference: ${c.name}`, async () => {
    await webgpu();
    await checkConv2d(c, 100 + 10 * i);
  });
});

gpuTest(
  "conv2d as an implicit GEMM (convGemm) matches reference on awkward shapes, the seed's encoder and a transposed conv's input gradient",
  async () => {
    const rt = await webgpu();
    const ran: string[] = [];
    const dispatch = rt.dispatch;
    rt.dispatch = function (def, params, bufs, wg) {
      if (def.name.startsWith("conv2d")) ran.push(def.name);
      return dispatch.call(this, def, params, bufs, wg);
    };
    try {
      await withTuning({ convGemm: true, foldActGrad: false }, async () => {
        // Past one workgroup tile both ways (Co 37 > 16, N·Ho·Wo 3·11·13 > 64) and K = 5·2·3 = 30,
        // not a multiple of the 16-value step.
        const wide: ConvCase = {
          name: "Co 37, Ci 5, kernel 2x3, stride 1, padding (0,1), batch 3",
          x: [3, 5, 12, 13],
          w: [37, 5, 2, 3],
          stride: [1, 1],
          padding: [0, 1],
          bias: true,
          slope: SLOPE,
        };
        for (const [i, c] of [...CONV_CASES, wide, ...SEED_ENCODER].entries()) {
          ran.length = 0;
          await checkConv2d(c, 4000 + 10 * i);
          assert(ran.includes("conv2d_gemm"), `${c.name}: the forward ran conv2d_gemm: ${ran}`);
        }
        // A transposed conv's input gradient is a conv2d without epilogue: the GEMM too.
        ran.length = 0;
        await checkConvT(CONVT_CASES[3], 4500);
        assert(ran.includes("conv2d_gemm"), `transposed conv input gradient: ${ran}`);
      });
    } finally {
      rt.dispatch = dispatch;
    }
  },
);

CONVT_CASES.forEach((c, i) => {
  gpuTest(`conv_transpose2d forward and gradients match reference: ${c.name}`, async () => {
    await webgpu();
    await checkConvT(c, 200 + 10 * i);
  });
});

gpuTest(
  "input gradients with the producing layer's leaky ReLU and bias backward folded in match the reference",
  async () => {
    await webgpu();
    // conv2d's input gradient runs conv_transpose2d (or, with few channels, its phase
    // kernel); conv_transpose2d's runs conv2d. Awkward shapes, then the seed's layers (e1's
    // input gradient takes the phase kernel with 8 channels).
    for (const [i, c] of CONV_CASES.entries()) await checkInputAct(c, false, 1100 + 10 * i);
    for (const [i, c] of CONVT_CASES.entries()) await checkInputAct(c, true, 1200 + 10 * i);
    for (const [i, c] of SEED_ENCODER.slice(1).entries()) {
      await checkInputAct(c, false, 1300 + 10 * i);
    }
    for (const [i, c] of SEED_DECODER.entries()) await checkInputAct(c, true, 1400 + 10 * i);
    // Without a bias to sum: the mask alone.
    await checkInputAct(CONV_CASES[2], false, 1500, false);
    await checkInputAct(CONVT_CASES[0], true, 1510, false);
    // Integer data: exact sums, so a pixel missing from a bias partial shows.
    for (const [i, c] of SEED_ENCODER.slice(1).entries()) {
      await checkInputAct(c, false, 1700 + 10 * i, true, true);
    }
    for (const [i, c] of SEED_DECODER.entries()) {
      await checkInputAct(c, true, 1750 + 10 * i, true, true);
    }
    await checkInputAct(CONV_CASES[0], false, 1790, true, true);
  },
);

gpuTest(
  "folded input gradients under a GPU's tiles (one pixel per invocation: many workgroups of bias partials)",
  async () => {
    // The GPU default's conv fields: tiles of one pixel, so a layer's bias partials come from
    // every workgroup of 64 pixels (padded at the end), and 64 lanes per sum.
    const { convTile, convPixels, splitLanes, splitTarget } = K.defaultTuning(false);
    const gpuTiles = {
      convTile,
      convPixels,
      convTransposeTile: convTile,
      convTransposePixels: convPixels,
      splitLanes,
      splitTarget,
      convTransposePhaseChannels: 3,
    };
    await withTuning(gpuTiles, async () => {
      await checkInputAct(SEED_ENCODER[1], false, 1600); // 2·44·34 pixels, 8 channels
      await checkInputAct(SEED_ENCODER[3], false, 1610);
      await checkInputAct(SEED_DECODER[4], true, 1620); // d5's input gradient: 2·45·35, 8
      await checkInputAct(CONV_CASES[2], false, 1630);
      await checkInputAct(CONV_CASES[0], false, 1640); // Ci = 3: the phase kernel
    });
  },
);

gpuTest(
  "training with the leaky backward folded: 8 fewer bias_grad dispatches per step, the same losses",
  async () => {
    // Four Adam steps of the seed autoencoder (tests/gpu/_train.ts) under a GPU's tiles, so the
    // folded bias partials come from many workgroups. Folding reorders 8 bias-gradient sums,
    // so the runs agree to rounding, not bit for bit.
    const { convTile, convPixels, splitLanes, splitTarget } = K.defaultTuning(false);
    const gpuTiles = { convTile, convPixels, splitLanes, splitTarget };
    const isBiasGrad = (d: { name: string }) => d.name.startsWith("bias_grad");
    const on = await adamSteps({ ...gpuTiles, foldActGrad: true, foldMinBatch: 1 }, isBiasGrad);
    const off = await adamSteps({ ...gpuTiles, foldActGrad: false }, isBiasGrad);
    assertEquals(off.counted.map((n, i) => n - on.counted[i]), [8, 8, 8, 8], "bias_grad passes");
    // In all (from the second step: in the first, the deferred sums' partials buffer grows,
    // which records the pending sums early).
    assertEquals(off.perStep.map((n, i) => n - on.perStep[i]).slice(1), [8, 8, 8], "dispatches");
    close(on.losses, off.losses, 0, "losses", 1e-5);
  },
);

gpuTest(
  "weight gradients split into chunks of at least splitMinPixels pixels match the reference",
  async () => {
    // No floor (1: the split target alone, chunks of a few rows at batch 2), llvmpipe's 64, and a
    // floor past every layer's pixels (one chunk: no partials at all). Awkward shapes and the
    // seed's e1 and d4 (conv_weight_grad) and e0 (conv_weight_grad_row, 1 input channel).
    for (const [i, floor] of [1, 64, 1e9].entries()) {
      await withTuning({ splitMinPixels: floor }, async () => {
        await checkConv2d(CONV_CASES[1], 3000 + 100 * i);
        await checkConvT(CONVT_CASES[1], 3010 + 100 * i);
        await checkConv2d(SEED_ENCODER[0], 3020 + 100 * i);
        await checkConv2d(SEED_ENCODER[1], 3030 + 100 * i);
        await checkConvT(SEED_DECODER[3], 3040 + 100 * i);
      });
    }
  },
);

gpuTest("with the phase kernel off, B < 4 takes the channel kernel and matches too", async () => {
  await withTuning({ convTransposePhase: false }, async () => {
    for (const [i, c] of CONVT_CASES.entries()) await checkConvT(c, 250 + 10 * i);
    await checkConvT(SEED_DECODER[SEED_DECODER.length - 1], 490);
  });
});

gpuTest(
  "conv tiles shrunk to even out CPU threads (balanceThreads) match the reference",
  async () => {
    const rt = await webgpu();
    const tuning = {
      convTile: 32,
      convPixels: 12,
      convTransposeTile: 32,
      convTransposePixels: 12,
      balanceThreads: 2,
    };
    // conv2d: 4·18·16 = 1152 pixels × 2 channel tiles (Co 40) make 3 workgroups at 12 pixels;
    // 9 pixels make 4. conv_transpose2d: 2·12·12 = 288 block positions × 4 phases × 2 channel
    // tiles, likewise.
    const conv: ConvCase = {
      name: "Ci 3 Co 40, 3 workgroups at 12 pixels",
      x: [4, 3, 36, 32],
      w: [40, 3, 3, 3],
      stride: [2, 2],
      padding: [1, 1],
      bias: true,
      slope: SLOPE,
    };
    const convT: ConvCase = {
      name: "A 5 B 40, 3 workgroups at 12 positions",
      x: [2, 5, 12, 12],
      w: [5, 40, 3, 3],
      stride: [2, 2],
      padding: [1, 1],
      outputPadding: [1, 1],
      bias: true,
      slope: SLOPE,
    };
    assertEquals(K.balancedPixels(1152, 12, 8, 2, 2), 9);
    assertEquals(K.balancedPixels(288, 12, 8, 8, 2), 9);
    // One thread, 8+ workgroups per thread, or 5 workgroups where 9 pixels would make 7 (the
    // seed's e3 at batch 64: the model keeps 12): the tile stays.
    assertEquals(K.balancedPixels(1152, 12, 8, 2, 1), 12);
    assertEquals(K.balancedPixels(100_000, 12, 8, 2, 2), 12);
    assertEquals(K.balancedPixels(64 * 6 * 5, 12, 8, 2, 2), 12);
    await withTuning(tuning, async () => {
      const pixels = async (check: () => Promise<void>, kernel: string): Promise<number[]> => {
        const p = await dispatchesOf(rt, check);
        return p ? p.filter((d) => d.kernel === kernel).map((d) => Number(d.defines.TP)) : [9];
      };
      assertEquals((await pixels(() => checkConv2d(conv, 450), "conv2d"))[0], 9);
      assertEquals((await pixels(() => checkConvT(convT, 460), "conv_transpose2d"))[0], 9);
    });
  },
);

gpuTest(
  "packed weights come from a uniform buffer, in 64 KiB chunks where they do not fit one",
  async () => {
    const rt = await webgpu();
    const uwOf = async (): Promise<string[]> => {
      // e2 packs 16·9·8 = 1,152 vec4s (fits), e3 32·9·16 = 4,608 (2 chunks of 28 channels); d5
      // runs the phase kernel (one buffer, no NU define).
      const p = await dispatchesOf(rt, async () => {
        await checkConv2d(SEED_ENCODER[2], 520);
        await checkConv2d(SEED_ENCODER[3], 530);
        await checkConvT(SEED_DECODER[4], 540);
      });
      return (p ?? []).filter((d) => d.defines.UW !== undefined).map((d) =>
        `${d.defines.UW}/${d.defines.NU ?? "-"}`
      );
    };
    const on = await withTuning({ convTile: 32, uniformWeights: true }, uwOf);
    if (on.length) {
      // e2: forward (conv2d), input gradient (conv_transpose2d); e3 likewise; d5: forward
      // (phase kernel), input gradient (conv2d).
      assertEquals(on, ["1/1", "1/1", "1/2", "1/2", "1/-", "1/1"]);
    }
    await withTuning({ convTile: 32, uniformWeights: false }, async () => {
      const off = await uwOf();
      if (off.length) assertEquals(off, ["0/1", "0/1", "0/1", "0/1", "0/-", "0/1"]);
      for (const [i, c] of CONV_CASES.slice(0, 3).entries()) await checkConv2d(c, 550 + 10 * i);
      for (const [i, c] of CONVT_CASES.entries()) await checkConvT(c, 590 + 10 * i);
    });
  },
);

gpuTest(
  "weights in uniform chunks: uneven chunks, aligned starts, and storage past 5 chunks match",
  async () => {
    const rt = await webgpu();
    const [align, maxU] = [
      rt.device.limits.minUniformBufferOffsetAlignment,
      rt.device.limits.maxUniformBuffersPerShaderStage,
    ];
    // Co = 20 with 20-channel tiles: 5 quads × 9 taps = 45 vec4s per input channel. 91
    // channels would fill 64 KiB, but a chunk must start on the uniform alignment (256 bytes:
    // 45 · 16 · c a multiple of 256 needs c a multiple of 16), so chunks hold 80: Ci = 170
    // makes 80 + 80 + 10. Ci = 420 would need 6 chunks and reads storage.
    const base = (ci: number, transposed: boolean): ConvCase => ({
      name: `Ci ${ci}`,
      x: [2, ci, 5, 4],
      w: transposed ? [ci, 20, 3, 3] : [20, ci, 3, 3],
      stride: [2, 1],
      padding: [1, 1],
      bias: true,
      slope: SLOPE,
    });
    await withTuning({ convTile: 20, convTransposeTile: 20, uniformWeights: true }, async () => {
      assertEquals(K.weightBinding(170, 45, 256, 12), { chunks: 3, perChunk: 80 });
      assertEquals(K.weightBinding(420, 45, 256, 12), K.STORAGE_WEIGHTS);
      assertEquals(K.weightBinding(170, 45, 256, 3), K.STORAGE_WEIGHTS, "too few uniform slots");
      assertEquals(K.weightBinding(170, 45, 256, 12, false), K.STORAGE_WEIGHTS, "tuning off");
      assertEquals(K.weightBinding(20, 45, 256, 12), { chunks: 1, perChunk: 0 }, "fits one");
      // The input gradients pack the other way round: 20 input channels of 9 taps × 45 quads
      // (405 vec4s), no whole number of which fills a 256-byte-aligned chunk: storage.
      assertEquals(K.weightBinding(20, 405, 256, 12), K.STORAGE_WEIGHTS);
      for (const [ci, fwd] of [[170, [1, 3]], [420, [0, 1]]] as const) {
        const p = await dispatchesOf(rt, async () => {
          await checkConv2d(base(ci, false), 700 + ci);
          await checkConvT(base(ci, true), 710 + ci);
        });
        if (p && align === 256 && maxU >= 4) {
          // conv2d forward, its input gradient (conv_transpose2d), then the reverse.
          const convs = p.filter((d) => d.defines.NU !== undefined)
            .map((d) => [d.defines.UW, d.defines.NU]);
          assertEquals(convs, [fwd, [0, 1], fwd, [0, 1]], `Ci ${ci}`);
        }
      }
    });
  },
);

/**
 * A 1×1 conv with weight 1, no bias and slope 1 (conv2d, x from a texture under
 * `textureInputs`): y = x, so y shows what the kernel read.
 */
function copyConv(rt: GpuRuntime, w: BufRef, x: BufRef, y: BufRef): void {
  const n = x.size / 4;
  const g: K.ConvGeom = {
    n: 1,
    ci: 1,
    h: 1,
    w: n,
    co: 1,
    ho: 1,
    wo: n,
    kh: 1,
    kw: 1,
    stride: [1, 1],
    padding: [0, 0],
  };
  K.conv2d(rt, g, x, w, null, y);
}

/** Buffers for the texture tests: the unit weight and `count` outputs of `n` floats. */
function textureTestBuffers(rt: GpuRuntime, count: number, n: number) {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const big = rt.device.createBuffer({ size: 1 << 18, usage });
  const wb = rt.device.createBuffer({ size: 256, usage });
  const w = { buffer: wb, offset: 0, size: 4 };
  rt.write(w, new Float32Array([1]));
  const outs = Array.from({ length: count }, () => rt.device.createBuffer({ size: 4 * n, usage }));
  return {
    big,
    w,
    ys: outs.map((b) => ({ buffer: b, offset: 0, size: 4 * n })),
    destroy: () => [big, wb, ...outs].forEach((b) => b.destroy()),
  };
}

/** Asserts that each output read back equals its expected values exactly. */
function assertCopies(got: Float32Array[], want: Float32Array[], what: string[]): void {
  for (const [i, g] of got.entries()) {
    assertEquals(g.length, want[i].length, what[i]);
    const bad = g.findIndex((v, j) => v !== want[i][j]);
    assertEquals(bad, -1, `${what[i]}: first wrong value at ${bad}`);
  }
}

for (const budget of [TEXTURE_BUDGET, 0]) {
  gpuTest(
    `inputs read from textures: slices at offsets with a partial last row${
      budget ? "" : ", past the texture budget (shared textures)"
    }`,
    async () => {
      const rt = await webgpu();
      // Three inputs in one command buffer: two of the same row count and one longer, each a
      // slice at a nonzero offset whose last texture row is partial. Within the budget each
      // slice has its texture; past it (budget 0), slices of a row count share one, copied
      // into before each dispatch.
      const row = TEXTURE_ROW;
      const lengths = [2 * row + 123, 2 * row + 7, 3 * row + 1];
      const bufs = textureTestBuffers(rt, 0, 0);
      const ys: BufRef[] = [];
      const ins: Float32Array[] = [];
      rt.textureBudget = budget;
      try {
        await withTuning({ textureInputs: true }, async () => {
          let at = 256;
          for (const [i, n] of lengths.entries()) {
            const x = { buffer: bufs.big, offset: at, size: 4 * n };
            ins.push(Float32Array.from(rand(n, 2300 + i)));
            rt.write(x, ins[i]);
            at += Math.ceil((4 * n + 1) / 256) * 256;
            const y = rt.device.createBuffer({
              size: 4 * n,
              usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
            });
            ys.push({ buffer: y, offset: 0, size: 4 * n });
            copyConv(rt, bufs.w, x, ys[i]);
          }
          assertCopies(await rt.read(ys), ins, lengths.map((n, i) => `input ${i} (${n} floats)`));
        });
      } finally {
        rt.textureBudget = TEXTURE_BUDGET;
        bufs.destroy();
        for (const y of ys) y.buffer.destroy();
      }
    },
  );
}

gpuTest(
  "a slice's texture is copied once until its buffer is written: by a queue write, a dispatch, a copy or a clear",
  async () => {
    const rt = await webgpu();
    // x: a slice of `big` (partial last row). Six reads of x in one command buffer (but for
    // the queue write, which lands before unsubmitted work), with a write of x before each of
    // the last four; each must see x as it is then, and only a write may cost a copy.
    const n = TEXTURE_ROW + 5;
    const bufs = textureTestBuffers(rt, 6, n);
    const x = { buffer: bufs.big, offset: 512, size: 4 * n };
    // The sources of x's writes in a buffer of their own: a dispatch may not read and write
    // one buffer, nor a copy go from a buffer to itself.
    const zb = rt.device.createBuffer({
      size: 4 * 16384,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    const src = { buffer: zb, offset: 0, size: 4 * n };
    const z = { buffer: zb, offset: 4 * 8192, size: 4 * n };
    const [a, b, c, d] = [2610, 2620, 2630, 2640].map((seed) => Float32Array.from(rand(n, seed)));
    try {
      await withTuning({ textureInputs: true }, async () => {
        rt.write(x, a);
        rt.write(src, d);
        rt.write(z, c);
        await rt.sync();
        const copies = () => rt.stats().textureCopies;
        const counts: number[] = [];
        let before = copies();
        const read = (i: number) => {
          copyConv(rt, bufs.w, x, bufs.ys[i]);
          counts.push(copies() - before);
          before = copies();
        };
        read(0);
        read(1); // unchanged: no copy
        await rt.sync(); // the queue write below lands before unsubmitted work
        rt.write(x, b);
        read(2);
        copyConv(rt, bufs.w, z, x); // a dispatch writes x (z is copied into its own texture)
        before = copies();
        read(3);
        rt.copy(src, x);
        read(4);
        rt.clear(x);
        read(5);
        assertEquals(counts, [1, 0, 1, 1, 1, 1], "texture copies per read of x");
        assertCopies(
          await rt.read(bufs.ys),
          [a, a, b, c, d, new Float32Array(n)],
          [
            "first read",
            "second read",
            "after a queue write",
            "after a dispatch",
            "after a copy",
            "after a clear",
          ],
        );
      });
    } finally {
      bufs.destroy();
      zb.destroy();
    }
  },
);

gpuTest(
  "conv kernels read their inputs from storage or from textures as the tuning says, and both match",
  async () => {
    const rt = await webgpu();
    // Per setting: the forward and gradients of the seed's e2 (conv2d; its input gradient by
    // conv_transpose2d, 16 channels; conv_weight_grad) and d5 (conv_transpose2d_phase, 1
    // channel; conv2d; conv_weight_grad_row, as its weight gradient reads 1 channel); then
    // input gradients with the leaky backward folded in (the GM variants, whose mask source m
    // is read from a texture too: define MT) by conv_transpose2d, conv2d and the phase kernel.
    const run = async (textureInputs: boolean, seed: number): Promise<Set<string>> => {
      const p = await withTuning(
        { textureInputs, foldActGrad: true },
        () =>
          dispatchesOf(rt, async () => {
            await checkConv2d(SEED_ENCODER[2], seed);
            await checkConvT(SEED_DECODER[4], seed + 10);
            await checkInputAct(SEED_ENCODER[2], false, seed + 20);
            await checkInputAct(SEED_DECODER[2], true, seed + 30);
            await checkInputAct(CONV_CASES[0], false, seed + 40); // Ci = 3: the phase kernel
          }),
      );
      return new Set(
        (p ?? []).filter((d) => d.defines.XT !== undefined).flatMap((d) => [
          `${d.kernel} ${d.defines.XT}`,
          ...(d.defines.GM ? [`${d.kernel} GM MT=${d.defines.MT}`] : []),
        ]),
      );
    };
    const storage = await run(false, 2400);
    const textures = await run(true, 2500);
    if (rt.device.features.has("timestamp-query")) {
      const kernels = [
        "conv2d",
        "conv_transpose2d",
        "conv_transpose2d_phase",
        "conv_weight_grad",
        "conv_weight_grad_row",
      ];
      for (const k of kernels) {
        assert(
          storage.has(`${k} 0`) && !storage.has(`${k} 1`),
          `${k} from storage: ${[...storage]}`,
        );
        assert(
          textures.has(`${k} 1`) && !textures.has(`${k} 0`),
          `${k} from textures: ${[...textures]}`,
        );
      }
      for (const k of kernels.slice(0, 3)) {
        assert(
          storage.has(`${k} GM MT=0`) && !storage.has(`${k} GM MT=1`),
          `${k}'s mask from storage: ${[...storage]}`,
        );
        assert(
          textures.has(`${k} GM MT=1`) && !textures.has(`${k} GM MT=0`),
          `${k}'s mask from a texture: ${[...textures]}`,
        );
      }
    }
    // Every awkward shape both ways.
    for (const [textureInputs, seed] of [[true, 2600], [false, 2800]] as const) {
      await withTuning({ textureInputs, foldActGrad: true }, async () => {
        for (const [i, c] of CONV_CASES.entries()) await checkConv2d(c, seed + 10 * i);
        for (const [i, c] of CONVT_CASES.entries()) await checkConvT(c, seed + 100 + 10 * i);
      });
    }
  },
);

Deno.test("textureFits: at most maxTextureDimension2D rows of TEXTURE_ROW floats", () => {
  const limits = { maxTextureDimension2D: 8192 } as GPUSupportedLimits;
  assertEquals(TEXTURE_ROW, 4096);
  assert(textureFits(1, limits) && textureFits(TEXTURE_ROW * 8192, limits));
  assert(!textureFits(TEXTURE_ROW * 8192 + 1, limits));
});

gpuTest(
  "phase kernel: 1,025 block positions make 65 tiles of 16, one past 64 (two workgroups)",
  async () => {
    // B 1, k3 s2 p1 on 25 × 41: Ho × Wo = 49 × 81, ceil(49/2)·ceil(81/2) = 1,025 block positions,
    // 64 whole tiles of 16 and one of a single position, whose 4 outputs need a second
    // workgroup. One thread: the tile stays 16 (balanceThreads).
    const c: ConvCase = {
      name: "B 1, A 2, 25 × 41, k3 s2 p1",
      x: [1, 2, 25, 41],
      w: [2, 1, 3, 3],
      stride: [2, 2],
      padding: [1, 1],
      bias: true,
      slope: SLOPE,
    };
    await withTuning({ balanceThreads: 1 }, () => checkConvT(c, 480, [1, 1, 49, 81]));
  },
);

gpuTest("the phase kernel serves transposed convs up to the tuning's channel limit", async () => {
  const rt = await webgpu();
  if (!rt.device.features.has("timestamp-query")) return;
  const limit = K.activeTuning().convTransposePhaseChannels ?? 3;
  const kernelFor = async (b: number): Promise<string> => {
    const c: ConvCase = {
      name: `B ${b}`,
      x: [2, 3, 4, 5],
      w: [3, b, 3, 3],
      stride: [2, 2],
      padding: [1, 1],
      bias: true,
      slope: SLOPE,
    };
    const p = await dispatchesOf(rt, () => checkConvT(c, 470 + b));
    return p!.find((d) => d.kernel.startsWith("conv_transpose2d"))!.kernel;
  };
  assertEquals(await kernelFor(limit), "conv_transpose2d_phase");
  assertEquals(await kernelFor(limit + 1), "conv_transpose2d");
});

gpuTest(
  "conv2d writes vec4s where Ho·Wo is a multiple of 4, scalars elsewhere, and both match",
  async () => {
    const rt = await webgpu();
    // Ho·Wo = 4·6 = 24 with Co = 5 (a partial channel quad) and 3 images: vec4 stores; then the
    // seed's e0 (44·34 = 1496) and e1 (22·17 = 374, scalar stores), and the same with the
    // vector stores turned off.
    const quad: ConvCase = {
      name: "batch 3, Ci 2 Co 5, Ho·Wo 24",
      x: [3, 2, 8, 11],
      w: [5, 2, 3, 3],
      stride: [2, 2],
      padding: [1, 1],
      bias: true,
      slope: SLOPE,
    };
    const cases = [quad, SEED_ENCODER[0], SEED_ENCODER[1]];
    const storesOf = async (): Promise<number[]> => {
      const p = await dispatchesOf(rt, async () => {
        for (const [i, c] of cases.entries()) await checkConv2d(c, 280 + 10 * i);
      });
      return (p ?? []).filter((d) => d.kernel === "conv2d" && d.defines.TQ !== undefined)
        .map((d) => Number(d.defines.VS));
    };
    // e0 has one input channel: flat tiles here (convPatchOneChannel would patch-tile it, and
    // patch tiles store scalars).
    const on = await withTuning({ convPatchOneChannel: false }, storesOf);
    const off = await withTuning({ convVectorStores: false, convPatchOneChannel: false }, storesOf);
    if (rt.device.features.has("timestamp-query")) {
      // Per case: the forward (conv2d) and the input gradient (conv_transpose2d, not listed).
      assertEquals(on, [1, 1, 0], "vec4 stores where the plane allows them");
      assertEquals(off, [0, 0, 0], "no vec4 stores when turned off");
    }
  },
);

Deno.test("phaseWindow: the input offsets a block of output phases needs", () => {
  // k3 s2 p1 (the seed decoder): offsets 0..1; k3 s2 p0: -1..0; k5 s1 p2: -2..2.
  assertEquals(K.phaseWindow(3, 2, 1), [0, 2]);
  assertEquals(K.phaseWindow(3, 2, 0), [-1, 2]);
  assertEquals(K.phaseWindow(5, 1, 2), [-2, 5]);
  assertEquals(K.phaseWindow(1, 2, 0), [0, 1]);
});

gpuTest(
  "conv2d matches reference on every encoder layer of the seed (e0..e4, batch 2)",
  async () => {
    await webgpu();
    for (const [i, c] of SEED_ENCODER.entries()) {
      await checkConv2d(
        c,
        300 + 10 * i,
        SEED_OUT[c.name],
      );
    }
  },
);

gpuTest(
  "conv_transpose2d matches reference on every decoder layer of the seed (d1..d5, batch 2)",
  async () => {
    await webgpu();
    for (const [i, c] of SEED_DECODER.entries()) {
      await checkConvT(
        c,
        400 + 10 * i,
        SEED_OUT[c.name],
      );
    }
  },
);

/**
 * Calls the conv_weight_grad dispatcher with an explicit split target and returns the
 * gradient and the number of dispatches it recorded (2 when split-K sums partials).
 */
async function weightGradWithSplit(
  c: ConvCase,
  splitTarget: number,
  seed: number,
): Promise<{ gw: Float32Array; ref: Float64Array; dispatches: number; k: number }> {
  const rt = await webgpu();
  const p = { stride: c.stride, padding: c.padding };
  const ys = C.conv2dOutputShape(c.x, c.w, p);
  const xd = rand(numel(c.x), seed), gyd = rand(numel(ys), seed + 1);
  dirtyPool(numel(c.w));
  const x = gt(xd, c.x), gy = gt(gyd, ys);
  const gw = webgpuBackend().fill(c.w, 0);
  const scratch: Tensor[] = [];
  const before = rt.stats().dispatches;
  K.convWeightGrad(
    rt,
    K.convGeom(c.x, c.w, ys, c),
    x.ref,
    gy.ref,
    gw.ref,
    splitTarget,
    nanScratch(scratch),
  );
  const [out] = await readAll([gw]);
  // Counted after the read-back, which records the deferred split sum (batchSplitSums).
  const dispatches = rt.stats().dispatches - before;
  for (const t of [x, gy, gw, ...scratch]) t.dispose();
  return {
    gw: out,
    ref: C.conv2dWeightGrad(xd, c.x, gyd, ys, c.w, p),
    dispatches,
    k: ys[0] * ys[2] * ys[3],
  };
}

// rows = N·Ho = 3·13 = 39. Ci = 3 < 4, so the row kernel (conv_weight_grad_row.wgsl) runs:
// tiles = ceil(Co/4)·Ci·KH·ceil(KW/3) = 2·3·3·1 = 18.
const SPLIT_CASE: ConvCase = {
  name: "split-K",
  x: [3, 3, 25, 9],
  w: [5, 3, 3, 2],
  stride: [2, 2],
  padding: [1, 1],
  bias: false,
  slope: 1,
};

gpuTest("conv_weight_grad with one split (split target below the tile count)", async () => {
  const r = await weightGradWithSplit(SPLIT_CASE, 1, 500);
  assertEquals(r.dispatches, 1, "a single split writes gw directly, with no split_sum");
  close(r.gw, r.ref, accTol(r.k, T), "gw, one split");
});

gpuTest("conv_weight_grad with several uneven splits sums its partials", async () => {
  // round(60 / 18) = 3 splits of ceil(39/3) = 13 rows.
  const r = await weightGradWithSplit(SPLIT_CASE, 60, 510);
  assertEquals(r.dispatches, 2, "split-K records conv_weight_grad and split_sum");
  close(r.gw, r.ref, accTol(r.k, T), "gw, 3 splits");
});

gpuTest("conv_weight_grad with a shorter last split sums only the rows there are", async () => {
  // Without a floor on a chunk's pixels, 39 rows split unevenly: the last chunk is shorter (a
  // chunk that ran its full length would read image N, past x and gy: 0 on lavapipe, whatever
  // is there on other adapters). The kernel's parameters are read from its dispatch.
  const rt = await webgpu();
  const seen: number[][] = [];
  const dispatch = rt.dispatch;
  rt.dispatch = (def, params, bufs, wgs) => {
    if (def.name.startsWith("conv_weight_grad")) seen.push(params.map(Number));
    dispatch.call(rt, def, params, bufs, wgs);
  };
  try {
    await withTuning({ splitMinPixels: 1 }, async () => {
      const r = await weightGradWithSplit(SPLIT_CASE, 72, 515);
      close(r.gw, r.ref, accTol(r.k, T), "gw, the last split shorter");
    });
  } finally {
    rt.dispatch = dispatch;
  }
  assertEquals(seen.length, 1);
  const [splits, perSplit] = [seen[0][13], seen[0][14]];
  assert(splits > 1 && 39 % perSplit !== 0 && (splits - 1) * perSplit < 39, `${seen[0]}`);
});

gpuTest(
  "conv_weight_grad with a shorter last split reads no rows past the batch: shared input textures holding stale values past the slice",
  async () => {
    // Past the texture budget, slices of one row count share a texture (lib/gpu/runtime.ts), and
    // a copy fills only its slice: the rest of the last row keeps what an earlier slice left
    // there. A matmul first fills both shared one-row textures (bindings 1 and 2) with 1s past
    // x's and gy's lengths; a last split that ran its full length would read image N from them
    // (0 from a texture of its own, or from storage on lavapipe). The row kernel (Ci 3) and
    // conv_weight_grad (Ci 4).
    const rt = await webgpu();
    const seen: number[][] = [];
    const dispatch = rt.dispatch;
    rt.dispatch = (def, params, bufs, wgs) => {
      if (def.name.startsWith("conv_weight_grad")) seen.push(params.map(Number));
      dispatch.call(rt, def, params, bufs, wgs);
    };
    rt.textureBudget = 0;
    try {
      await withTuning({ splitMinPixels: 1, textureInputs: true }, async () => {
        for (const [i, ci] of [3, 4].entries()) {
          const c: ConvCase = { ...SPLIT_CASE, x: [3, ci, 25, 9], w: [5, ci, 3, 2] };
          const p = { stride: c.stride, padding: c.padding };
          const ys = C.conv2dOutputShape(c.x, c.w, p);
          const xd = rand(numel(c.x), 530 + i), gyd = rand(numel(ys), 531 + i);
          // 40 × 99 and 99 × 40 (3,960 floats each, one texture row; K odd: no vec4 loads).
          const A = gt(new Float32Array(3960).fill(1), [40, 99]);
          const B = gt(new Float32Array(3960).fill(1), [99, 40]);
          const M = gt(new Float32Array(1600), [40, 40]);
          const x = gt(xd, c.x), gy = gt(gyd, ys), gw = webgpuBackend().fill(c.w, 0);
          K.matmul(rt, A.ref, B.ref, M.ref, 40, 40, 99, { variant: "blocked" });
          seen.length = 0;
          K.convWeightGrad(rt, K.convGeom(c.x, c.w, ys, c), x.ref, gy.ref, gw.ref, 72, () => {
            throw new Error("no scratch: the split sums are deferred");
          });
          const [out] = await readAll([gw]);
          for (const t of [A, B, M, x, gy, gw]) t.dispose();
          const [splits, perSplit] = [seen[0][13], seen[0][14]];
          assert(splits > 1 && 39 % perSplit !== 0, `Ci ${ci}: one uneven split: ${seen[0]}`);
          const ref = C.conv2dWeightGrad(xd, c.x, gyd, ys, c.w, p);
          close(out, ref, accTol(ys[0] * ys[2] * ys[3], T), `Ci ${ci}: gw`);
        }
      });
    } finally {
      rt.dispatch = dispatch;
      rt.textureBudget = TEXTURE_BUDGET;
    }
  },
);

gpuTest("conv_weight_grad with one split per row", async () => {
  const r = await weightGradWithSplit(SPLIT_CASE, 1e6, 520);
  assertEquals(r.dispatches, 2, "split-K records conv_weight_grad and split_sum");
  close(r.gw, r.ref, accTol(r.k, T), "gw, 39 splits");
});

// Input-channel tiles of at most 8 take 3 column taps per invocation (weightGradTaps): KW = 5
// makes groups of 3 and 2 taps, KW = 2 falls back to one tap; Ci = 4 and 8 give TC = 1 and 2.
const TAP_CASES: ConvCase[] = [
  {
    name: "Ci 8 Co 6, KW 5 (3 + 2 taps), stride (1,2), padding (1,2)",
    x: [2, 8, 9, 13],
    w: [6, 8, 3, 5],
    stride: [1, 2],
    padding: [1, 2],
    bias: true,
    slope: SLOPE,
  },
  {
    name: "Ci 4 Co 9, KW 3, stride 2, padding (0,1)",
    x: [3, 4, 11, 10],
    w: [9, 4, 2, 3],
    stride: [2, 2],
    padding: [0, 1],
    bias: true,
    slope: SLOPE,
  },
  {
    name: "Ci 8 Co 5, KW 2 (one tap per invocation)",
    x: [2, 8, 7, 8],
    w: [5, 8, 3, 2],
    stride: [2, 2],
    padding: [1, 0],
    bias: false,
    slope: 1,
  },
];

TAP_CASES.forEach((c, i) => {
  gpuTest(
    `conv_weight_grad with column taps per invocation matches reference: ${c.name}`,
    async () => {
      await webgpu();
      const [, tc] = K.weightGradTiles(c.w[0], c.w[1]);
      assertEquals(K.weightGradTaps(tc, c.w[3]), c.w[3] >= 3 ? 3 : 1, "taps per invocation");
      await checkConv2d(c, 560 + 10 * i);
      for (const target of [1, 1e6]) {
        const r = await weightGradWithSplit(c, target, 600 + 10 * i);
        close(r.gw, r.ref, accTol(r.k, T), `${c.name}: gw, split target ${target}`);
      }
    },
  );
});

// Fewer than 4 input channels take conv_weight_grad_row.wgsl: KW = 5 makes two kw groups,
// the second holding 2 taps; padding 2 puts taps outside the row at both edges.
const ROW_CASES: ConvCase[] = [
  {
    name: "row ci=1",
    x: [3, 1, 11, 13],
    w: [6, 1, 3, 5],
    stride: [1, 2],
    padding: [1, 2],
    bias: false,
    slope: 1,
  },
  {
    // Co >= 8 takes 8 output channels per invocation: Co = 11 clamps part of the second quad.
    name: "row ci=2, co 11",
    x: [2, 2, 7, 9],
    w: [11, 2, 3, 4],
    stride: [2, 2],
    padding: [1, 1],
    bias: false,
    slope: 1,
  },
  {
    name: "row ci=3",
    x: [2, 3, 9, 8],
    w: [5, 3, 2, 4],
    stride: [2, 1],
    padding: [0, 2],
    bias: false,
    slope: 1,
  },
  {
    // KH = 5: two groups of kernel rows, the second with 2 rows.
    name: "row ci=1, kh 5",
    x: [2, 1, 12, 10],
    w: [4, 1, 5, 3],
    stride: [2, 1],
    padding: [2, 1],
    bias: false,
    slope: 1,
  },
];

// >= 8 output channels take 8 per invocation: Co = 11 leaves a partly clamped second quad.
const WIDE_CASE: ConvCase = {
  name: "8-channel tiles, Co 11",
  x: [2, 5, 9, 7],
  w: [11, 5, 3, 3],
  stride: [2, 1],
  padding: [1, 0],
  bias: false,
  slope: 1,
};

// Ci = 18 takes 16 input channels per invocation where the tuning allows 4 quads (llvmpipe):
// the second ci tile holds 2 real channels and 14 clamped ones.
const WIDE_CI_CASE: ConvCase = {
  name: "16-channel ci tiles, Ci 18, Co 11",
  x: [2, 18, 8, 7],
  w: [11, 18, 3, 2],
  stride: [1, 2],
  padding: [1, 1],
  bias: false,
  slope: 1,
};

gpuTest("conv_weight_grad with 8-channel tiles and Co = 11 matches reference", async () => {
  for (const [i, target] of [1, 50, 1e6].entries()) {
    const r = await weightGradWithSplit(WIDE_CASE, target, 560 + 10 * i);
    close(r.gw, r.ref, accTol(r.k, T), `gw, split target ${target}`);
  }
});

gpuTest("conv_weight_grad with wide ci tiles and Ci = 18, Co = 11 matches reference", async () => {
  assertEquals(K.weightGradTiles(11, 18), [2, K.activeTuning().weightGradTile === 4 ? 4 : 2]);
  for (const [i, target] of [1, 50, 1e6].entries()) {
    const r = await weightGradWithSplit(WIDE_CI_CASE, target, 760 + 10 * i);
    close(r.gw, r.ref, accTol(r.k, T), `gw, split target ${target}`);
  }
});

// Co = 37 takes 32 output channels per invocation where the tuning allows 8 co quads
// (llvmpipe): the second co tile holds 5 real channels and 27 clamped ones.
const WIDE_CO_CASE: ConvCase = {
  name: "32-channel co tiles, Ci 6, Co 37",
  x: [3, 6, 7, 9],
  w: [37, 6, 3, 3],
  stride: [2, 1],
  padding: [1, 1],
  bias: false,
  slope: 1,
};

gpuTest("conv_weight_grad with wide co tiles and Co = 37 matches reference", async () => {
  const coTile = K.activeTuning().weightGradCoTile ?? K.activeTuning().weightGradTile ?? 2;
  assertEquals(K.weightGradTiles(37, 6)[0], Math.min(coTile, 8));
  for (const [i, target] of [1, 50, 1e6].entries()) {
    const r = await weightGradWithSplit(WIDE_CO_CASE, target, 860 + 10 * i);
    close(r.gw, r.ref, accTol(r.k, T), `gw, split target ${target}`);
  }
});

for (const c of ROW_CASES) {
  gpuTest(
    `conv_weight_grad_row matches reference (${c.name}, kw ${c.w[3]}, split or not)`,
    async () => {
      for (const [i, target] of [1, 50, 1e6].entries()) {
        const r = await weightGradWithSplit(c, target, 530 + 10 * i);
        close(r.gw, r.ref, accTol(r.k, T), `${c.name}: gw, split target ${target}`);
      }
    },
  );
}

gpuTest("bias gradient sums over batch and pixels for 2-D and 4-D gradients", async () => {
  await webgpu();
  const be = webgpuBackend();
  const cases: number[][] = [[3, 5, 13, 11], [1, 7, 1, 1], [9, 6], [2, 3, 70, 70]];
  for (const [i, s] of cases.entries()) {
    const g = rand(numel(s), 600 + i);
    dirtyPool(s[1]);
    const t = gt(g, s);
    const gb = be.biasGrad(t);
    const [out] = await readAll([gb]);
    t.dispose();
    gb.dispose();
    const s4 = [s[0], s[1], s.length > 2 ? s[2] * s[3] : 1, 1];
    const k = numel(s) / s[1];
    close(out, C.biasGrad(g, s4), accTol(k, 2), `biasGrad [${s}]`);
  }
});

Deno.test("patchTile: a tile of at most tp pixels within the plane, by its estimated loads", () => {
  const geom = (ho: number, wo: number, k: number, s: number): K.ConvGeom => ({
    n: 4,
    ci: 8,
    h: (ho - 1) * s + k,
    w: (wo - 1) * s + k,
    co: 16,
    ho,
    wo,
    kh: k,
    kw: k,
    stride: [s, s],
    padding: [0, 0],
  });
  // The seed's encoder layers (k3 s2) with their channel quads (4 for e1's 16 channels, else 8)
  // and 16 pixels: e1 2 × 6 (17 = 6 + 6 + 5 columns: the last tile overhangs), e2 11 × 1, e3
  // 3 × 5, e4 the whole 3 × 3 plane.
  const seed = [[22, 17, 4], [11, 9, 8], [6, 5, 8], [3, 3, 8]].map(([ho, wo, tq]) => {
    const t = K.patchTile(geom(ho, wo, 3, 2), 16, tq);
    return `${t.tr}x${t.tc}`;
  });
  assertEquals(seed, ["2x6", "11x1", "3x5", "3x3"]);
  for (const [ho, wo, k, s, tp] of [[1, 1, 1, 1, 4], [7, 3, 3, 1, 5], [40, 2, 2, 3, 12]]) {
    const g = geom(ho, wo, k, s);
    const t = K.patchTile(g, tp, 2);
    assert(t.tr * t.tc <= tp && t.tr <= ho && t.tc <= wo, `${ho}×${wo}: ${t.tr}×${t.tc}`);
    assertEquals([t.kh, t.kw, t.sh, t.sw], [k, k, s, s]);
  }
});

gpuTest(
  "conv2d with patch tiles (convPatch) matches the reference: forward, transposed convs' input gradients, folded epilogues",
  async () => {
    const rt = await webgpu();
    // Small channel and pixel tiles keep the unrolled patch pipelines quick to compile on
    // llvmpipe. The awkward shapes (kernels 3×2, 1×3, 5×3 at stride (2,1), stride 3 with
    // kernel 2), the seed's encoder layers (tiles that overhang the plane: e1's 22 × 17 by 2
    // × 3, e2's 11 × 9 by 2 × 3) and, as input gradients of transposed convs (conv2d on the
    // output gradient), the awkward and the seed's decoder layers, with the leaky backward
    // folded in (GM) too.
    const tuning = { convPatch: true, convPatchPixels: 6, convTile: 8, foldMinBatch: 1 };
    const p = await withTuning(tuning, () =>
      dispatchesOf(rt, async () => {
        for (const [i, c] of CONV_CASES.entries()) await checkConv2d(c, 3000 + 10 * i);
        for (const [i, c] of SEED_ENCODER.slice(1).entries()) {
          await checkConv2d(c, 3100 + 10 * i, SEED_OUT[c.name]);
        }
        for (const [i, c] of CONVT_CASES.entries()) {
          await checkConvT(c, 3200 + 10 * i);
          await checkInputAct(c, true, 3250 + 10 * i);
        }
        for (const [i, c] of SEED_DECODER.entries()) await checkInputAct(c, true, 3300 + 10 * i);
      }));
    const e1 = K.patchTile(
      {
        n: 2,
        ci: 8,
        h: 44,
        w: 34,
        co: 16,
        ho: 22,
        wo: 17,
        kh: 3,
        kw: 3,
        stride: [2, 2],
        padding: [1, 1],
      },
      6,
      2,
    );
    assert(22 % e1.tr !== 0 || 17 % e1.tc !== 0, `e1's tile ${e1.tr}×${e1.tc} overhangs the plane`);
    if (p) {
      const conv = p.filter((d) => d.kernel === "conv2d");
      assert(conv.length > 0 && conv.every((d) => d.defines.PT === 1), "every conv2d patch-tiled");
      assert(conv.some((d) => d.defines.GM === 1), "a folded epilogue among them");
      assert(conv.every((d) => d.defines.VS === 0), "patch tiles store scalars");
    }
  },
);

gpuTest(
  "conv2d with patch tiles for one input channel only (convPatchOneChannel): e0's forward and d5's input gradient patch-tiled and right, the other layers flat",
  async () => {
    const rt = await webgpu();
    // e0 and e1 forward, and d5's and d4's input gradients (conv2d on the output gradient:
    // Ci = d5's 1 output channel, then d4's 8), with the leaky backward folded in (GM).
    const tuning = { convPatch: false, convPatchOneChannel: true, foldMinBatch: 1 };
    const run = async () => {
      await checkConv2d(SEED_ENCODER[0], 3400, SEED_OUT.e0);
      await checkConv2d(SEED_ENCODER[1], 3410, SEED_OUT.e1);
      await checkInputAct(SEED_DECODER[4], true, 3420);
      await checkInputAct(SEED_DECODER[3], true, 3430);
    };
    const on = await withTuning(tuning, () => dispatchesOf(rt, run));
    const off = await withTuning(
      { ...tuning, convPatchOneChannel: false },
      () => dispatchesOf(rt, run),
    );
    if (on && off) {
      const pt = (ds: ProfiledDispatch[]) =>
        ds.filter((d) => d.kernel === "conv2d").map((d) => [d.defines.PT ?? 0, d.defines.GM ?? 0]);
      // conv2d dispatches in order: e0 and e1 forward, d5's and d4's input gradients.
      assertEquals(pt(on), [[1, 0], [0, 0], [1, 1], [0, 1]], "one input channel: patch tiles");
      assertEquals(pt(off), [[0, 0], [0, 0], [0, 1], [0, 1]], "off: every layer flat");
    }
  },
);
