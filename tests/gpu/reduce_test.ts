/**
 * The split-K sums of reduce.wgsl (`split_sum`, `split_sum_act`) with several lanes per output
 * against a Float64 reference, on awkward counts and split numbers, and the `splitLanes`
 * tuning reaching the dispatchers (bias gradient, conv weight gradient, split-K matmul), and the
 * chunk partials of a sum on a grid split over y.
 */
import * as C from "../../lib/cpu/mod.ts";
import * as K from "../../lib/gpu/kernels.ts";
import type { KernelDef, Param } from "../../lib/gpu/runtime.ts";
import { backendNamed } from "../../lib/tensor/backends.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";
import { assertEquals } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import { close, gt, nanScratch, rand, readAll, sumTol, U32, webgpu } from "./_util.ts";

const SLOPE = 0.02;

/** Float64 Σ_k a[k·count + i], then the optional bias and leaky ReLU of split_sum_act. */
function refSplit(
  a: Float64Array,
  count: number,
  splits: number,
  bias?: { b: Float64Array; inner: number; slope: number },
): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let s = 0;
    for (let k = 0; k < splits; k++) s += Math.fround(a[k * count + i]);
    if (bias) {
      s += Math.fround(bias.b[i % bias.inner]);
      if (!(s > 0)) s *= Math.fround(bias.slope);
    }
    out[i] = s;
  }
  return out;
}

// Counts: 1 (one output, the bias of a 1-channel layer), 3, 37 and 130 (not multiples of any
// lane group); splits from 1 to 1,537 (a bias gradient at batch 256).
const COUNTS = [1, 3, 37, 130];
const SPLITS = [1, 2, 9, 100, 1537];
const LANES = [0, 1, 2, 8, 64];

gpuTest(
  "split_sum and split_sum_act with 1 to 64 lanes per output match the Float64 sum",
  async () => {
    const rt = await webgpu();
    const be = backendNamed("webgpu");
    let seed = 3000;
    for (const count of COUNTS) {
      for (const splits of SPLITS) {
        const a = rand(count * splits, seed++);
        const inner = Math.min(count, 7);
        const b = rand(inner, seed++);
        const A = gt(a, [count * splits]), B = gt(b, [inner]);
        const outs: Tensor[] = [];
        for (const lanes of LANES) {
          const o = be.fill([count], NaN), oa = be.fill([count], NaN);
          const l = Math.max(1, lanes);
          rt.dispatch(
            K.KERNELS.splitSum,
            [count, splits, 0, 0, 0, lanes, { f32: 1 }, 0],
            [A.ref, null, o.ref],
            Math.ceil((count * l) / 64),
          );
          rt.dispatch(
            K.KERNELS.splitSumAct,
            [count, splits, 0, inner, 1, lanes, { f32: SLOPE }, 0],
            [A.ref, B.ref, oa.ref],
            Math.ceil((count * l) / 64),
          );
          outs.push(o, oa);
        }
        const got = await readAll(outs);
        for (const t of [A, B, ...outs]) t.dispose();
        const ref = refSplit(a, count, splits);
        const refAct = refSplit(a, count, splits, { b, inner, slope: SLOPE });
        // Sums of `splits` terms ≤ 2 in a fixed order (serial per lane, then a tree).
        const tol = sumTol(splits + 1, 2) + 4 * U32;
        for (const [j, lanes] of LANES.entries()) {
          const what = `count ${count}, splits ${splits}, lanes ${lanes}`;
          close(got[2 * j], ref, tol, `split_sum ${what}`);
          close(got[2 * j + 1], refAct, tol, `split_sum_act ${what}`);
        }
        // One lane is the serial sum, in the same order as lanes = 0.
        assertEquals(got[2], got[0], `lanes 1 = lanes 0 (count ${count}, splits ${splits})`);
      }
    }
  },
);

/**
 * Runs `f` with the active tuning's splitLanes set to `lanes`, recording the lanes parameter
 * (params[5]) and workgroup count of every split_sum / split_sum_act dispatch. The sums are
 * dispatched one by one (batchSplitSums off); tests/gpu/split_sums_test.ts checks that the
 * batched ones take the same lanes.
 */
async function withLanes(
  lanes: number,
  f: () => Promise<void>,
): Promise<{ kernel: string; count: number; splits: number; lanes: number; groups: number }[]> {
  const rt = await webgpu();
  const saved = K.activeTuning();
  // No floor on a weight gradient's chunks (splitMinPixels), so that small layers split per row.
  await K.loadKernels(rt, {
    ...saved,
    splitLanes: lanes,
    batchSplitSums: false,
    splitMinPixels: 1,
  });
  const seen: { kernel: string; count: number; splits: number; lanes: number; groups: number }[] =
    [];
  const dispatch = rt.dispatch;
  rt.dispatch = function (def: KernelDef, params: Param[], buffers, workgroups) {
    if (def.name === "split_sum" || def.name === "split_sum_act") {
      seen.push({
        kernel: def.name,
        count: params[0] as number,
        splits: params[1] as number,
        lanes: params[5] as number,
        groups: workgroups,
      });
    }
    return dispatch.call(this, def, params, buffers, workgroups);
  };
  try {
    await f();
  } finally {
    rt.dispatch = dispatch;
    await K.loadKernels(rt, saved);
  }
  return seen;
}

gpuTest(
  "splitLanes reaches the bias gradient: up to 64 lanes, at least 4 partials each",
  async () => {
    const be = backendNamed("webgpu");
    // [40, 3, 300]: inner 300 > 256 gives 2 segments per row, so 80 partials of 3 channels.
    const s = [40, 3, 300];
    const gy = rand(40 * 3 * 300, 3100);
    let got: Float32Array | undefined;
    const seen = await withLanes(64, async () => {
      const G = gt(gy, s);
      const gb = be.biasGrad(G);
      [got] = await readAll([gb]);
      G.dispose();
      gb.dispose();
    });
    // 80 partials: 16 lanes leave 5 each (32 would leave 2.5).
    assertEquals(seen, [{ kernel: "split_sum", count: 3, splits: 80, lanes: 16, groups: 1 }]);
    close(got!, C.biasGrad(gy, [40, 3, 300, 1]), sumTol(40 * 300, 2), "gb with 16 lanes");
  },
);

gpuTest("splitLanes reaches the conv weight gradient and the split-K matmul", async () => {
  const rt = await webgpu();
  const be = backendNamed("webgpu");
  const seen = await withLanes(8, async () => {
    // Conv weight gradient with many splits (one per row of N·Ho = 4·12 = 48 rows).
    const xs = [4, 2, 23, 9], ws = [3, 2, 3, 3];
    const p = { stride: [2, 2] as [number, number], padding: [1, 1] as [number, number] };
    const ys = C.conv2dOutputShape(xs, ws, p);
    const xd = rand(4 * 2 * 23 * 9, 3200), gyd = rand(ys.reduce((a, b) => a * b, 1), 3201);
    const x = gt(xd, xs), gy = gt(gyd, ys), gw = be.fill(ws, 0);
    const scratch: Tensor[] = [];
    K.convWeightGrad(
      rt,
      K.convGeom(xs, ws, ys, p),
      x.ref,
      gy.ref,
      gw.ref,
      1e6,
      nanScratch(scratch),
    );
    const [out] = await readAll([gw]);
    for (const t of [x, gy, gw, ...scratch]) t.dispose();
    close(out, C.conv2dWeightGrad(xd, xs, gyd, ys, ws, p), sumTol(48 * 9 * 2, 4), "gw");

    // Split-K matmul of [3, 640] · [640, 5] with bias and leaky ReLU: 10 splits of 64.
    const a = rand(3 * 640, 3202), b = rand(640 * 5, 3203), bias = rand(5, 3204);
    const A = gt(a, [3, 640]), B = gt(b, [640, 5]), Bi = gt(bias, [5]), Cc = be.fill([3, 5], NaN);
    const mm: Tensor[] = [];
    K.matmul(rt, A.ref, B.ref, Cc.ref, 3, 5, 640, {
      bias: Bi.ref,
      slope: SLOPE,
      splitTarget: 1 << 20,
      scratch: nanScratch(mm),
    });
    const [c] = await readAll([Cc]);
    for (const t of [A, B, Bi, Cc, ...mm]) t.dispose();
    const ref = new Float64Array(15);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 5; j++) {
        let s = bias[j];
        for (let k = 0; k < 640; k++) s += a[i * 640 + k] * b[k * 5 + j];
        ref[i * 5 + j] = s > 0 ? s : SLOPE * s;
      }
    }
    close(c, ref, sumTol(640, 4) + 640 * 4 * U32, "split-K matmul");
  });
  assertEquals(seen.map((d) => [d.kernel, d.lanes, d.groups]), [
    // 48 splits of 54 outputs: the tuning's 8 lanes (6 partials each; 16 would exceed the
    // tuning) in ceil(54·8/64) = 7 workgroups.
    ["split_sum", 8, 7],
    // 10 splits of 15 outputs: 2 lanes (10 ≥ 8 but < 16).
    ["split_sum_act", 2, 1],
  ]);
  assertEquals(seen.map((d) => d.splits), [48, 10]);
});

gpuTest(
  "sum_partial and sqdiff_partial on a grid over y (more than 65,535 chunks) write only their chunks' partials",
  async () => {
    // A loss of more than 65,535 · 4,096 floats (1 GiB, reachable where an adapter binds 2 GiB)
    // has more chunks than one grid row holds: the runtime dispatches a 65,535 × 2 grid, and the
    // workgroups past the last chunk must not store. A 1-float chunk gets there with 70,000
    // floats. The partials are bound with room after them, so that a stray store is seen here
    // (a store past a binding is dropped by lavapipe, but may land inside it on other GPUs).
    const rt = await webgpu();
    const be = backendNamed("webgpu");
    const max = rt.device.limits.maxComputeWorkgroupsPerDimension;
    const count = max + 4465;
    const x = new Float32Array(count).map((_, i) => (i % 7) - 3);
    const y = new Float32Array(count).map((_, i) => (i % 5) - 2);
    const X = gt(x, [count]), Y = gt(y, [count]);
    for (
      const [name, def] of [["sum", K.KERNELS.sumPartial], [
        "sqdiff",
        K.KERNELS.sqdiffPartial,
      ]] as const
    ) {
      const room = 2 * max + 64;
      const out = be.fill([room], NaN);
      rt.dispatch(
        def,
        [count, 0, 0, 0, 1, 0, { f32: 1 }, 0],
        [X.ref, name === "sqdiff" ? Y.ref : null, out.ref],
        count,
      );
      const [got] = await readAll([out]);
      out.dispose();
      let wrong = 0;
      for (let i = 0; i < count; i++) {
        const want = name === "sqdiff" ? (x[i] - y[i]) ** 2 : x[i];
        if (got[i] !== want) wrong++;
      }
      assertEquals(wrong, 0, `${name}: partials wrong`);
      const stray = got.subarray(count).findIndex((v) => !Number.isNaN(v));
      assertEquals(stray, -1, `${name}: a workgroup past the end stored at ${count + stray}`);
    }
    X.dispose();
    Y.dispose();
  },
);
