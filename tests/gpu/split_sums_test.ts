/**
 * The batched split-K sums (kernels/split_sum_jobs.wgsl, lib/gpu/split_sums.ts): one dispatch
 * of many jobs against a Float64 reference and bit-for-bit against one `split_sum` per job;
 * the deferral (a sum runs before any command that touches its partials or output, and at
 * submit, but not before unrelated work); and a training step with the sums batched against
 * one with a `split_sum` per gradient; the partials buffer kept within one binding's limit.
 */
import * as K from "../../lib/gpu/kernels.ts";
import type { BufRef, KernelDef } from "../../lib/gpu/runtime.ts";
import {
  partialsLimit,
  recordSplitSums,
  type SplitJob,
  SplitSums,
} from "../../lib/gpu/split_sums.ts";
import { backendNamed } from "../../lib/tensor/backends.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";
import { assert, assertEquals } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import { adamSteps } from "./_train.ts";
import { close, gpuDefaultTuning, gt, rand, readAll, sumTol, U32, webgpu } from "./_util.ts";

/** Float64 Σ_k a[off + k·count + i]. */
function refSum(a: Float64Array, off: number, count: number, splits: number): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let s = 0;
    for (let k = 0; k < splits; k++) s += a[off + k * count + i];
    out[i] = s;
  }
  return out;
}

/** Jobs of awkward sizes: counts 1 to 1,152, splits 1 to 1,537, lanes 1 to 64. */
function jobShapes(n: number): { count: number; splits: number; lanes: number }[] {
  // 64, 8 and 1152 read their partials as vec4s, the others one float at a time.
  const counts = [1, 3, 37, 130, 64, 5, 8, 1152];
  const splits = [1, 2, 9, 100, 1537, 33, 4];
  const lanes = [1, 4, 16, 64, 2];
  return Array.from({ length: n }, (_, j) => ({
    count: counts[j % counts.length],
    splits: splits[(j * 3) % splits.length],
    lanes: lanes[(j * 7) % lanes.length],
  }));
}

/**
 * Lays out partials for the jobs in one buffer (256-byte aligned slices, uneven gaps) and
 * outputs in another (gaps filled with a sentinel), and returns both with the jobs.
 */
function layout(shapes: { count: number; splits: number; lanes: number }[], seed: number) {
  const be = backendNamed("webgpu");
  let p = 0, o = 0;
  const at = shapes.map((s, j) => {
    const part = p, out = o + (j % 3);
    p = Math.ceil((p + s.count * s.splits + 17) / 64) * 64;
    o = out + s.count + 2;
    return { part, out };
  });
  const a = rand(p, seed);
  const A = gt(a, [p]);
  const O = be.fill([o], -7);
  const jobs: SplitJob[] = shapes.map((s, j) => ({
    part: {
      buffer: A.ref.buffer,
      offset: A.ref.offset + 4 * at[j].part,
      size: 4 * s.count * s.splits,
    },
    out: { buffer: O.ref.buffer, offset: O.ref.offset + 4 * at[j].out, size: 4 * s.count },
    ...s,
  }));
  return { a, A, O, jobs, at, outFloats: o };
}

gpuTest(
  "split_sum_jobs: 40 jobs of awkward sizes in two dispatches match Float64 and split_sum bit for bit",
  async () => {
    const rt = await webgpu();
    const be = backendNamed("webgpu");
    const shapes = jobShapes(40);
    const { a, A, O, jobs, at, outFloats } = layout(shapes, 4100);
    const before = rt.stats().dispatches;
    recordSplitSums(rt, jobs);
    assertEquals(rt.stats().dispatches - before, 2, "32 jobs per dispatch: 40 jobs take 2");
    // One split_sum per job, same lanes: the batched kernel must add in the same order.
    const singles = jobs.map((j) => {
      const t = be.fill([j.count], NaN);
      const part: BufRef = j.part;
      rt.dispatch(
        K.KERNELS.splitSum,
        [j.count, j.splits, 0, 0, 0, j.lanes, { f32: 1 }, 0],
        [part, null, t.ref],
        Math.ceil((j.count * j.lanes) / 64),
      );
      return t;
    });
    const [out, ...one] = await readAll([O, ...singles]);
    const written = new Set<number>();
    shapes.forEach((s, j) => {
      const got = out.subarray(at[j].out, at[j].out + s.count);
      const what = `job ${j}: count ${s.count}, splits ${s.splits}, lanes ${s.lanes}`;
      close(got, refSum(a, at[j].part, s.count, s.splits), sumTol(s.splits, 2) + 4 * U32, what);
      assertEquals(Array.from(got), Array.from(one[j]), `${what}: bit-identical with split_sum`);
      for (let i = 0; i < s.count; i++) written.add(at[j].out + i);
    });
    for (let i = 0; i < outFloats; i++) {
      if (!written.has(i)) assertEquals(out[i], -7, `output float ${i} between jobs is untouched`);
    }
    for (const t of [A, O, ...singles]) t.dispose();
  },
);

gpuTest(
  "split_sum_jobs: partials that do not start on a vec4 are read as floats, even where the count is a multiple of 4",
  async () => {
    const rt = await webgpu();
    const be = backendNamed("webgpu");
    // Counts 8 and 64 (whole vec4s of outputs) with partials at floats 1 and 259 of their
    // buffer: vec4 reads there would take the partials from the vec4 before, 1 or 3 floats off.
    const shapes = [{ count: 8, splits: 9, lanes: 4 }, { count: 64, splits: 33, lanes: 16 }];
    const parts = [1, 259], outs = [0, 8];
    const a = rand(259 + 64 * 33, 4150);
    const A = gt(a, [a.length]), O = be.fill([72], -7);
    const jobs: SplitJob[] = shapes.map((s, j) => ({
      part: {
        buffer: A.ref.buffer,
        offset: A.ref.offset + 4 * parts[j],
        size: 4 * s.count * s.splits,
      },
      out: { buffer: O.ref.buffer, offset: O.ref.offset + 4 * outs[j], size: 4 * s.count },
      ...s,
    }));
    recordSplitSums(rt, jobs);
    const [out] = await readAll([O]);
    for (const t of [A, O]) t.dispose();
    shapes.forEach((s, j) => {
      const got = out.subarray(outs[j], outs[j] + s.count);
      const what = `job ${j}: count ${s.count}, partials at float ${parts[j]}`;
      close(got, refSum(a, parts[j], s.count, s.splits), sumTol(s.splits, 2) + 4 * U32, what);
    });
  },
);

gpuTest(
  "deferred split sums run before a command that touches them, and not before others",
  async () => {
    const rt = await webgpu();
    const be = backendNamed("webgpu");
    const sums = new SplitSums(rt);
    try {
      const count = 37, splits = 9;
      const a = rand(count * splits, 4200);
      const src = gt(a, [count * splits]);
      const out = be.fill([count + 5], 0);
      const other = be.fill([64], 0);
      const part = sums.partials(count * splits);
      rt.copy(src.ref, part);
      sums.add({ part, out: { ...out.ref, size: 4 * count }, count, splits, lanes: 4 });
      assertEquals(sums.pending, 1);
      // Unrelated work, and a copy into the output buffer past the job's output, do not flush it.
      K.fill(rt, other.ref, 64, 3);
      rt.copy({ ...src.ref, size: 20 }, {
        ...out.ref,
        offset: out.ref.offset + 4 * count,
        size: 20,
      });
      assertEquals(sums.pending, 1, "disjoint ranges leave the sum pending");
      // A dispatch that reads the output (y = 2·out) records the sum first.
      const twice = be.fill([count], 0);
      K.axpby(rt, { ...out.ref, size: 4 * count }, out.ref, twice.ref, count, 1, 1);
      assertEquals(sums.pending, 0, "a reader of the output flushes");
      const [o, t] = await readAll([out, twice]);
      const ref = refSum(a, 0, count, splits);
      close(o.subarray(0, count), ref, sumTol(splits, 2), "the sum");
      assertEquals(
        Array.from(o.subarray(count)),
        Array.from(a.subarray(0, 5)),
        "the tail copied after it",
      );
      close(t, Array.from(ref, (v) => 2 * v), 2 * sumTol(splits, 2), "read after the sum");

      // Overwriting the partials (a clear) also flushes; so does a submit.
      const part2 = sums.partials(count * splits);
      rt.copy(src.ref, part2);
      sums.add({ part: part2, out: { ...out.ref, size: 4 * count }, count, splits, lanes: 1 });
      rt.clear(part2);
      assertEquals(sums.pending, 0, "a clear of the partials flushes");
      const part3 = sums.partials(count * splits);
      rt.copy(src.ref, part3);
      sums.add({ part: part3, out: { ...other.ref, size: 4 * count }, count, splits, lanes: 1 });
      rt.submit();
      assertEquals(sums.pending, 0, "a submit flushes");
      const [o2] = await readAll([other]);
      close(o2.subarray(0, count), ref, sumTol(splits, 2), "summed at the submit");

      // A queue write into a pending sum's output lands after the sum (recorded and submitted
      // first), as recorded: the written values stay.
      const pw = sums.partials(count * splits);
      rt.copy(src.ref, pw);
      sums.add({ part: pw, out: { ...other.ref, size: 4 * count }, count, splits, lanes: 1 });
      const submits = rt.stats().submits;
      rt.write({ ...other.ref, size: 4 * count }, new Float32Array(count).fill(5));
      assertEquals(rt.stats().submits - submits, 1, "the write submitted the sum first");
      const [ow] = await readAll([other]);
      assertEquals(Array.from(ow.subarray(0, count)), new Array(count).fill(5), "the write wins");

      // A sum whose output changes buffer flushes the pending ones before it is added: its
      // own partials, already written, must survive the buffer's reuse from the start.
      const p4 = sums.partials(count * splits);
      rt.copy(src.ref, p4);
      sums.add({ part: p4, out: { ...out.ref, size: 4 * count }, count, splits, lanes: 1 });
      const p5 = sums.partials(count * splits);
      rt.copy(src.ref, p5);
      sums.add({ part: p5, out: { ...other.ref, size: 4 * count }, count, splits, lanes: 1 });
      assertEquals(sums.pending, 1, "the change of output buffer flushed the first");
      const p6 = sums.partials(3 * count * splits);
      K.fill(rt, p6, 3 * count * splits, 1e6);
      const [o3] = await readAll([other]);
      close(o3.subarray(0, count), ref, sumTol(splits, 2), "partials written before the flush");
      for (const x of [src, out, other, twice]) x.dispose();
    } finally {
      sums.dispose();
    }
  },
);

gpuTest("two deferred sums into the same output: the later one wins", async () => {
  const rt = await webgpu();
  const be = backendNamed("webgpu");
  const sums = new SplitSums(rt);
  try {
    const count = 36, splits = 5;
    const a = rand(count * splits, 4250), b = rand(count * splits, 4251);
    const A = gt(a, [a.length]), B = gt(b, [b.length]);
    const out = be.fill([count], NaN);
    for (const src of [A, B]) {
      const part = sums.partials(count * splits);
      rt.copy(src.ref, part);
      sums.add({ part, out: { ...out.ref, size: 4 * count }, count, splits, lanes: 2 });
    }
    assertEquals(sums.pending, 1, "the second sum recorded the first before it");
    const [o] = await readAll([out]);
    close(o, refSum(b, 0, count, splits), sumTol(splits, 2), "the second sum");
    for (const t of [A, B, out]) t.dispose();
  } finally {
    sums.dispose();
  }
});

gpuTest(
  "deferred split sums: a full table, a change of output buffer and a growing partials buffer",
  async () => {
    const rt = await webgpu();
    const be = backendNamed("webgpu");
    const sums = new SplitSums(rt);
    try {
      const shapes = jobShapes(45);
      const outA = be.fill([45 * 1152], NaN), outB = be.fill([45 * 1152], NaN);
      const a = rand(shapes.reduce((s, j) => s + j.count * j.splits, 0), 4300);
      const src = gt(a, [a.length]);
      const before = rt.stats().dispatches;
      let off = 0, grew = 0, cap = 0;
      const refs: { out: Tensor; at: number; ref: Float64Array }[] = [];
      shapes.forEach((s, j) => {
        const n = s.count * s.splits;
        const part = sums.partials(n);
        if (sums.capacity > cap) grew++, cap = sums.capacity;
        rt.copy({ ...src.ref, offset: src.ref.offset + 4 * off, size: 4 * n }, part);
        // Jobs 0–34 write outA (a full table of 32 flushes once), 35–44 outB (a change of
        // buffer flushes the rest).
        const out = j < 35 ? outA : outB;
        const at = j * 1152;
        sums.add({
          part,
          out: { ...out.ref, offset: out.ref.offset + 4 * at, size: 4 * s.count },
          ...s,
        });
        refs.push({ out, at, ref: refSum(a, off, s.count, s.splits) });
        off += n;
      });
      rt.flushDeferred();
      assert(grew >= 2, `the partials buffer grew (${grew} sizes, last ${cap} bytes)`);
      const dispatches = rt.stats().dispatches - before;
      assert(dispatches >= 3 && dispatches < 12, `few dispatches for 45 sums: ${dispatches}`);
      const [ga, gb] = await readAll([outA, outB]);
      refs.forEach((r, j) => {
        const s = shapes[j];
        const got = (r.out === outA ? ga : gb).subarray(r.at, r.at + s.count);
        close(got, r.ref, sumTol(s.splits, 2) + 4 * U32, `job ${j}`);
      });
      for (const t of [outA, outB, src]) t.dispose();
    } finally {
      sums.dispose();
    }
  },
);

gpuTest(
  "training with batched split sums is bit-identical and sums in one dispatch per step",
  async () => {
    const isSum = (d: KernelDef) => d.name === "split_sum" || d.name === "split_sum_jobs";
    const on = await adamSteps({ batchSplitSums: true }, isSum);
    const off = await adamSteps({ batchSplitSums: false }, isSum);
    assertEquals(on.losses, off.losses, "losses");
    assert(on.losses[3] < on.losses[0], "the run trains");
    assertEquals(Array.from(on.weights), Array.from(off.weights), "final weights");
    assert(off.counted[1] >= 10, `a split_sum per split gradient without batching: ${off.counted}`);
    assertEquals(on.counted[1], 1, `one split_sum_jobs per step: ${on.counted}`);
    assertEquals(
      off.perStep[1] - on.perStep[1],
      off.counted[1] - 1,
      `dispatches per step ${on.perStep}`,
    );
    assertEquals(on.perStep[1], on.perStep[3], "steady");
  },
);

gpuTest(
  "with a GPU's split choices (split target 65,536, 64 lanes) the batched sums stay bit-identical",
  async () => {
    // The GPU default's split fields (lib/gpu/kernels.ts defaultTuning): many more splits per
    // gradient, and lanes > 1 inside split_sum_jobs, which llvmpipe's own tuning never uses.
    const gpuSplits = { splitTarget: 65536, splitLanes: 64 };
    const isSum = (d: KernelDef) => d.name === "split_sum" || d.name === "split_sum_jobs";
    const on = await adamSteps({ ...gpuSplits, batchSplitSums: true }, isSum);
    const off = await adamSteps({ ...gpuSplits, batchSplitSums: false }, isSum);
    assertEquals(on.losses, off.losses, "losses");
    assertEquals(Array.from(on.weights), Array.from(off.weights), "final weights");
    assertEquals(on.counted[1], 1, `one split_sum_jobs per step: ${on.counted}`);
    assert(off.counted[1] >= 10, `split sums without batching: ${off.counted}`);
  },
);

gpuTest(
  "deferred split sums stay within a binding limit: a buffer-full per dispatch, refused past it",
  async () => {
    const rt = await webgpu();
    const be = backendNamed("webgpu");
    const limit = 64 * 1024;
    // 72 KiB is no pool bucket: the pool would hand out 80 KiB for it, so the limit is rounded
    // down to the bucket below (64 KiB); with 72 KiB the sums bound 80 KiB buffers.
    const sums = new SplitSums(rt, 72 * 1024);
    try {
      assertEquals(sums.limit, limit);
      // 24 sums of 1,152 × 5 floats (22.5 KiB each): two fit in 64 KiB, so 12 buffer-fulls.
      const count = 1152, splits = 5, jobs = 24;
      const a = rand(jobs * count * splits, 4400);
      const src = gt(a, [a.length]);
      const out = be.fill([jobs * count], NaN);
      const bound: number[] = [];
      const dispatch = rt.dispatch;
      rt.dispatch = function (def, params, buffers, workgroups) {
        if (def.name === "split_sum_jobs") bound.push(buffers[0]!.size!);
        return dispatch.call(this, def, params, buffers, workgroups);
      };
      try {
        for (let j = 0; j < jobs; j++) {
          const n = count * splits;
          const part = sums.partials(n);
          assert(sums.capacity <= limit, `partials buffer ${sums.capacity} bytes`);
          rt.copy({ ...src.ref, offset: src.ref.offset + 4 * j * n, size: 4 * n }, part);
          const o = { ...out.ref, offset: out.ref.offset + 4 * j * count, size: 4 * count };
          sums.add({ part, out: o, count, splits, lanes: 4 });
        }
        rt.flushDeferred();
      } finally {
        rt.dispatch = dispatch;
      }
      assertEquals(bound.length, 12, `one dispatch per buffer-full: ${bound}`);
      assert(bound.every((b) => b <= limit), `bound partials within the limit: ${bound}`);
      const [o] = await readAll([out]);
      for (let j = 0; j < jobs; j++) {
        const got = o.subarray(j * count, (j + 1) * count);
        close(got, refSum(a, j * count * splits, count, splits), sumTol(splits, 2), `job ${j}`);
      }
      // One sum larger than a binding cannot be held at all.
      let err: unknown = null;
      try {
        sums.partials(limit / 4 + 1);
      } catch (e) {
        err = e;
      }
      assert(err instanceof RangeError, `refused: ${err}`);
      assert(/65540 bytes\): past this adapter's limit of 65536/.test(err.message), err.message);
      for (const t of [src, out]) t.dispose();
    } finally {
      sums.dispose();
    }
  },
);

gpuTest(
  "a GPU's tuning with 4× its split target trains the seed model at batch 64 within the binding limit",
  async () => {
    // `cli.ts tune` tries the split target ×4 (262,144 on a GPU): at batch 64 the partials of
    // one backward pass then come to about 200 MB, past llvmpipe's 128 MiB per binding (and
    // WebGPU's default). They are summed a buffer-full at a time, bit-identical to a
    // split_sum per gradient.
    const rt = await webgpu();
    const tuning = { ...gpuDefaultTuning(), splitTarget: 4 * 65536 };
    const isJobs = (d: KernelDef) => d.name === "split_sum_jobs";
    const data = { shape: [1, 87, 67] as [number, number, number], batch: 64 };
    const on = await adamSteps({ ...tuning, batchSplitSums: true }, isJobs, data);
    const off = await adamSteps({ ...tuning, batchSplitSums: false }, isJobs, data);
    assertEquals(on.losses, off.losses, "losses");
    assert(on.losses[3] < on.losses[0], `the run trains: ${on.losses}`);
    assertEquals(Array.from(on.weights), Array.from(off.weights), "final weights");
    const limit = partialsLimit(rt);
    const big = limit < 200 * 2 ** 20;
    assert(
      big ? on.counted[3] >= 2 : on.counted[3] === 1,
      `split_sum_jobs per step ${on.counted} with ${limit} bytes per binding`,
    );
  },
);
