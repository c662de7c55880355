/**
 * Kernel benchmark with a roofline: every WGSL kernel family that a training step of the
 * seed autoencoder uses, at the seed's layer shapes and batch 64 and 256, plus square
 * matmuls (the adapter's compute peak) and a large elementwise copy (its bandwidth peak).
 *
 * Each case is set up, run once (warm-up: pipeline and buffer creation happen outside the
 * timed region) and checked against the Float64 CPU reference in lib/cpu: a fast wrong
 * kernel makes the bench throw. It is then timed from the first dispatch to
 * `device.queue.onSubmittedWorkDone()`, with R dispatches recorded into one command buffer
 * per timed iteration (R is picked so an iteration lasts ~100 ms), so the ~11 ms submit round
 * trip of llvmpipe is amortised; the time per dispatch is the iteration time divided by R.
 * Where the adapter has the `timestamp-query` feature, each case is also timed on the GPU
 * itself (`gpuMs`: the timestamps around each of its dispatches, summed per call, median of
 * several calls; lib/bench/profile.ts), and on hardware adapters the roofline uses that time.
 * On a fast GPU the wall time of even 256 dispatches per submit also holds the host's recording
 * and Deno's ~10 ms wait (on an H100 every small dispatch came out near 0.1 ms by the clock,
 * whatever its work); on llvmpipe wall time stays the measure (see {@linkcode roofMs}). These timings
 * feed the printed roofline table and bench/results/kernels-<adapter>.json (both times, and
 * the `clock` the roofline used). The same cases are also registered as `Deno.bench`
 * groups, one per kernel and shape, with the CPU reference as the baseline where it is cheap;
 * `Deno.bench` reports the time of one iteration, i.e. of R dispatches (R is in the name).
 *
 * FLOPs count 2 per multiply-add over the dense (nominal) loop nest, padding included; bytes
 * are the minimum traffic: every input, weight and output once.
 *
 * ```sh
 * deno bench -A --lock=bench/deno.lock bench/kernels_bench.ts
 * SEISDEC_BENCH_BATCHES=64 deno bench -A --lock=bench/deno.lock bench/kernels_bench.ts   # batch 64 only
 * ```
 *
 * @module
 */
import * as cpu from "../lib/cpu/mod.ts";
import { adapterLabel, adapterSummary } from "../lib/gpu/device.ts";
import * as K from "../lib/gpu/kernels.ts";
import { type BufRef, gpu, type GpuRuntime } from "../lib/gpu/runtime.ts";
import { Rng } from "../lib/util/rng.ts";
import { median } from "../lib/bench/seisdec_timing.ts";
import { type BenchFigure, writeBenchResults } from "./_results.ts";
import { profileRun } from "../lib/bench/profile.ts";
import { isSoftwareAdapter, resolveTuning, type TuningSource } from "../lib/tensor/backends.ts";

/** One benchmarked kernel at one shape. */
interface Case {
  /** Kernel family, e.g. "conv2d fwd". */
  family: string;
  /** Layer or shape tag, e.g. "e1" or "512³". */
  layer: string;
  batch: number | null;
  /** Shape in words, e.g. "[64,8,44,34]→[64,16,22,17]". */
  shape: string;
  /** Variant within a group, e.g. "blocked"; "" when there is one. */
  variant: string;
  flops: number;
  bytes: number;
  /** Records one dispatch (or the dispatches of one call) into the command buffer. */
  record(): void;
  /** Reads the result back and compares it with the CPU reference; throws when wrong. */
  check(): Promise<void>;
  /** CPU reference of the same call for the `Deno.bench` baseline, or null when too slow. */
  cpu: (() => void) | null;
  /** Why there is no CPU baseline, shown in the bench name. */
  cpuNote?: string;
  /** Filled by the timing loop. */
  reps?: number;
  /** Wall time per call: recording, GPU work and the submit's share of the wait, ms. */
  ms?: number;
  /** GPU time per call from timestamp queries (all its dispatches), ms; null without them. */
  gpuMs?: number | null;
}

const SLOPE = 0.02;
const BATCHES = (Deno.env.get("SEISDEC_BENCH_BATCHES") ?? "64,256").split(",").map(Number);
/** Target wall time of one timed iteration (R dispatches and one submit), ms. */
const ITER_MS = 100;
const TIMED_ITERS = 5;
/** A CPU baseline iteration (R calls) longer than this is skipped, ms. */
const CPU_BASELINE_MAX_MS = 400;

const fmt = (s: readonly number[]) => `[${s.join(",")}]`;
const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

let rt: GpuRuntime;
let tuning: K.Tuning;
let tuningSource: TuningSource | undefined;
let adapter = "";
/** A software adapter: the roofline keeps wall time there (see {@linkcode roofMs}). */
let software = false;
/** Time to compile every kernel of the tuning, and how many pipelines that made. */
let compile = { ms: NaN, pipelines: 0 };
try {
  rt = await gpu();
  const info = await adapterSummary();
  software = isSoftwareAdapter(info);
  // The adapter's tuning, as training gets it (its default, a stored tuning, SEISDEC_TUNING),
  // made the dispatchers' default: the tiles, split-K lanes and weight layout the step runs with.
  ({ tuning, source: tuningSource } = await resolveTuning(info));
  // Every kernel variant of the tuning, compiled up front: Deno's shader-module creation (WGSL
  // parsing, validation, SPIR-V) and the driver's pipeline creation, what each process pays once.
  const t0 = performance.now();
  await K.compileAll(rt, tuning);
  compile = { ms: performance.now() - t0, pipelines: rt.stats().pipelines };
  adapter = adapterLabel(info);
} catch (e) {
  if (Deno.env.get("CI") === "true") throw e;
  console.log(`kernels: skipped: no WebGPU adapter: ${(e as Error).message}`);
}

const rng = new Rng(7);
function rand(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = 2 * rng.next() - 1;
  return a;
}
/** A GPU buffer holding `data` (or `floats` undefined values); kept for the whole run. */
function buf(data: Float32Array | number): BufRef {
  const floats = typeof data === "number" ? data : data.length;
  const buffer = rt.pool.acquire(Math.max(4, floats * 4));
  const ref = { buffer, offset: 0, size: floats * 4 };
  if (typeof data !== "number") rt.write(ref, data);
  return ref;
}
/** Scratch (split-K, DEC coefficients): released right after recording, reused after the submit. */
const scratchList: GPUBuffer[] = [];
function scratch(floats: number): BufRef {
  const buffer = rt.pool.acquire(Math.max(4, floats * 4));
  scratchList.push(buffer);
  return { buffer, offset: 0, size: floats * 4 };
}
function freeScratch(): void {
  for (const b of scratchList.splice(0)) rt.pool.release(b);
}

/**
 * Compares a GPU result with the Float64 reference: max |gpu − ref| must stay below
 * `rtol · max |ref|`. The sums here run over up to ~400k float32 terms (conv weight grads at
 * batch 256), whose rounding error stays well under 1e-3 of the result's scale, while a wrong
 * index or a missed term gives errors of order 1.
 */
async function expectClose(
  what: string,
  got: BufRef,
  want: ArrayLike<number>,
  rtol = 2e-3,
): Promise<void> {
  const [g] = await rt.read([{ ...got, size: want.length * 4 }]);
  let scale = 0, err = 0, at = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    const e = Math.abs(g[i] - want[i]);
    if (!(e <= err)) [err, at] = [e, i];
  }
  if (!(err <= rtol * Math.max(scale, 1e-30))) {
    throw new Error(
      `Cannot trust kernel ${what}: result must match the CPU reference within ${rtol} of ` +
        `max |ref| = ${scale.toPrecision(3)}: max error ${err.toPrecision(3)} at ${at} ` +
        `(got ${g[at]}, want ${want[at]})`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The seed autoencoder's convolutions (k3, s2).

interface Layer {
  tag: string;
  /** Conv input [N, Ci, H, W] (x of the conv, or x of the transposed conv). */
  cin: number;
  cout: number;
  hw: [number, number];
  ohw: [number, number];
  padding: [number, number];
  transposed: boolean;
}

const LAYERS: Layer[] = [
  { tag: "e0", cin: 1, cout: 8, hw: [87, 67], ohw: [44, 34], padding: [1, 1], transposed: false },
  { tag: "e1", cin: 8, cout: 16, hw: [44, 34], ohw: [22, 17], padding: [1, 1], transposed: false },
  { tag: "e2", cin: 16, cout: 32, hw: [22, 17], ohw: [11, 9], padding: [1, 1], transposed: false },
  { tag: "e3", cin: 32, cout: 64, hw: [11, 9], ohw: [6, 5], padding: [1, 1], transposed: false },
  { tag: "e4", cin: 64, cout: 128, hw: [6, 5], ohw: [3, 3], padding: [1, 1], transposed: false },
  { tag: "d1", cin: 128, cout: 64, hw: [3, 3], ohw: [5, 5], padding: [1, 1], transposed: true },
  { tag: "d2", cin: 64, cout: 32, hw: [5, 5], ohw: [11, 9], padding: [0, 1], transposed: true },
  { tag: "d3", cin: 32, cout: 16, hw: [11, 9], ohw: [23, 17], padding: [0, 1], transposed: true },
  { tag: "d4", cin: 16, cout: 8, hw: [23, 17], ohw: [45, 35], padding: [1, 0], transposed: true },
  { tag: "d5", cin: 8, cout: 1, hw: [45, 35], ohw: [89, 69], padding: [1, 1], transposed: true },
];

/** CPU baselines of convs at batch 256 take seconds per call: only batch 64 gets one. */
const CPU_CONV_MAX_BATCH = 64;

function convCases(l: Layer, n: number): Case[] {
  const stride: [number, number] = [2, 2];
  const p = { stride, padding: l.padding };
  const xs = [n, l.cin, ...l.hw], ys = [n, l.cout, ...l.ohw];
  // Conv weights are [Co, Ci, 3, 3]; transposed-conv weights [Ci(A), Co(B), 3, 3].
  const ws = l.transposed ? [l.cin, l.cout, 3, 3] : [l.cout, l.cin, 3, 3];
  const x = rand(numel(xs)), w = rand(numel(ws)), b = rand(l.cout), gy = rand(numel(ys));
  const xb = buf(x), wb = buf(w), bb = buf(b), gyb = buf(gy);
  const yb = buf(numel(ys)), gxb = buf(numel(xs)), gwb = buf(numel(ws));
  // Dense MACs: each (small-side pixel, ci, co, tap) once.
  const small = l.transposed ? l.hw : l.ohw;
  const flops = 2 * n * l.cin * l.cout * 9 * small[0] * small[1];
  const bytesX = 4 * numel(xs), bytesY = 4 * numel(ys), bytesW = 4 * numel(ws);
  const cpuOk = n <= CPU_CONV_MAX_BATCH;
  const cpuNote = cpuOk ? undefined : `no CPU baseline above batch ${CPU_CONV_MAX_BATCH}`;
  const shapeF = `${fmt(xs)}→${fmt(ys)}`, shapeB = `${fmt(ys)}→${fmt(xs)}`;
  const shapeW = `${fmt(xs)},${fmt(ys)}→${fmt(ws)}`;
  // The geometry of the forward layer, in conv terms (x side, y side).
  const g: K.ConvGeom = {
    n,
    ci: l.cin,
    h: l.hw[0],
    w: l.hw[1],
    co: l.cout,
    ho: l.ohw[0],
    wo: l.ohw[1],
    kh: 3,
    kw: 3,
    stride,
    padding: l.padding,
  };
  // The same layer seen from its output side: input-grad geometry (x := gy).
  const gBack: K.ConvGeom = {
    ...g,
    ci: l.cout,
    h: l.ohw[0],
    w: l.ohw[1],
    co: l.cin,
    ho: l.hw[0],
    wo: l.hw[1],
  };
  // One case of this layer: its family, shape and bytes, what it records, and the Float64
  // reference its output `got` is checked against (and the CPU baseline times).
  const convCase = (
    family: string,
    shape: string,
    bytes: number,
    record: () => void,
    what: string,
    got: BufRef,
    ref: () => ArrayLike<number>,
  ): Case => ({
    family,
    layer: l.tag,
    batch: n,
    shape,
    variant: "",
    flops,
    bytes,
    record,
    check: () => expectClose(`${what} ${l.tag}`, got, ref()),
    cpu: cpuOk ? ref : null,
    cpuNote,
  });
  const bytesF = bytesX + bytesW + 4 * l.cout + bytesY, bytesB = bytesY + bytesW + bytesX;
  const bytesG = bytesX + bytesY + bytesW;
  // The conv2d kernel's two uses also as an implicit GEMM (conv2d_gemm.wgsl, tuning `convGemm`),
  // so that a GPU run compares the two per layer.
  const gemm = (c: Case, record: () => void): Case => ({ ...c, variant: "gemm", record });
  if (!l.transposed) {
    const fwd = convCase(
      "conv2d fwd",
      shapeF,
      bytesF,
      () => K.conv2d(rt, g, xb, wb, bb, yb, SLOPE),
      "conv2d",
      yb,
      () => cpu.leakyRelu(cpu.conv2d(x, xs, w, ws, b, p), SLOPE),
    );
    return [
      fwd,
      gemm(fwd, () => K.conv2dGemm(rt, g, xb, wb, bb, yb, SLOPE)),
      convCase(
        "conv2d input grad (conv_transpose2d)",
        shapeB,
        bytesB,
        () => K.convTranspose2d(rt, gBack, gyb, wb, null, gxb, 1),
        "conv2d input grad",
        gxb,
        () => cpu.conv2dInputGrad(gy, ys, w, ws, xs, p),
      ),
      convCase(
        "conv2d weight grad (split-K)",
        shapeW,
        bytesG,
        () => {
          K.convWeightGrad(rt, g, xb, gyb, gwb, tuning.splitTarget, scratch);
          freeScratch();
        },
        "conv2d weight grad",
        gwb,
        () => cpu.conv2dWeightGrad(x, xs, gy, ys, ws, p),
      ),
    ];
  }
  const inputGrad = convCase(
    "conv_transpose2d input grad (conv2d)",
    shapeB,
    bytesB,
    () => K.conv2d(rt, gBack, gyb, wb, null, gxb, 1),
    "conv_transpose2d input grad",
    gxb,
    () => cpu.convTranspose2dInputGrad(gy, ys, w, ws, xs, p),
  );
  return [
    convCase(
      "conv_transpose2d fwd",
      shapeF,
      bytesF,
      () => K.convTranspose2d(rt, g, xb, wb, bb, yb, SLOPE),
      "conv_transpose2d",
      yb,
      () => cpu.leakyRelu(cpu.convTranspose2d(x, xs, w, ws, b, p), SLOPE),
    ),
    inputGrad,
    gemm(inputGrad, () => K.conv2dGemm(rt, gBack, gyb, wb, null, gxb, 1)),
    convCase(
      "conv_transpose2d weight grad (split-K)",
      shapeW,
      bytesG,
      () => {
        // gw[a,b] = Σ x[n,a]·gy[n,b] shifted: conv_weight_grad with gy as its input.
        K.convWeightGrad(
          rt,
          { ...gBack, ci: l.cout, co: l.cin },
          gyb,
          xb,
          gwb,
          tuning.splitTarget,
          scratch,
        );
        freeScratch();
      },
      "conv_transpose2d weight grad",
      gwb,
      () => cpu.convTranspose2dWeightGrad(x, xs, gy, ys, ws, p),
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// Matmuls: the latent Linear layers (forward and both gradients), and square ones.

interface MatmulShape {
  layer: string;
  m: number;
  n: number;
  k: number;
  ta?: boolean;
  tb?: boolean;
  bias?: boolean;
  /** Entries of C checked against a Float64 dot product (all when omitted). */
  sample?: number;
  cpu: boolean;
}

function linearShapes(batch: number): MatmulShape[] {
  const f = 1152, z = 9;
  return [
    { layer: `e5 fwd`, m: batch, n: z, k: f, tb: true, bias: true, cpu: true },
    { layer: `e5 grad x`, m: batch, n: f, k: z, cpu: true },
    { layer: `e5 grad W`, m: z, n: f, k: batch, ta: true, cpu: true },
    { layer: `d0 fwd`, m: batch, n: f, k: z, tb: true, bias: true, cpu: true },
    { layer: `d0 grad x`, m: batch, n: z, k: f, cpu: true },
    { layer: `d0 grad W`, m: f, n: z, k: batch, ta: true, cpu: true },
  ];
}

/**
 * Register blocks [rows, columns] of the blocked matmul also timed on the square products,
 * around the best of a sweep on llvmpipe (12×8 and 16×8 at 15–18 GFLOP/s against 9–16 for 8×8
 * and 8×12, 4×16 and 16×4 slower).
 */
const PEAK_BLOCKS: [number, number][] = [[8, 8], [12, 8], [16, 8]];

function matmulCases(s: MatmulShape, batch: number | null): Case[] {
  const { m, n, k } = s;
  const a = rand(m * k), b = rand(k * n), bias = rand(n);
  const ab = buf(a), bb = buf(b), biasb = buf(bias);
  const opts = { transA: s.ta, transB: s.tb };
  const ref = () => {
    const c = cpu.matmul(a, b, m, k, n, opts);
    if (s.bias) {
      for (let i = 0; i < c.length; i++) c[i] = cpu.leakyRelu([c[i] + bias[i % n]], SLOPE)[0];
    }
    return c;
  };
  const as = s.ta ? `${fmt([k, m])}ᵀ` : fmt([m, k]), bs = s.tb ? `${fmt([n, k])}ᵀ` : fmt([k, n]);
  const shape = `${as}·${bs}→${fmt([m, n])}`;
  const out: Case[] = [];
  // The tuning's two entries, and for the square products (the peak) the blocked entry with
  // scalar loads and with larger register blocks: the best of them is the adapter's peak.
  const variants: {
    variant: string;
    entry: "tiled" | "blocked";
    block?: [number, number];
    vec4?: boolean;
  }[] = [
    { variant: "tiled", entry: "tiled" },
    { variant: "blocked", entry: "blocked" },
    ...(s.sample
      ? [
        { variant: "blocked scalar", entry: "blocked" as const, vec4: false },
        ...PEAK_BLOCKS.map((block) => ({
          variant: `blocked ${block.join("×")}`,
          entry: "blocked" as const,
          block,
        })),
      ]
      : []),
  ];
  for (const { variant, entry, block, vec4 } of variants) {
    const cb = buf(m * n);
    const o: K.MatmulOptions = {
      ta: s.ta,
      tb: s.tb,
      bias: s.bias ? biasb : null,
      slope: s.bias ? SLOPE : 1,
      variant: entry,
      block,
      vec4,
      // The latent layers as the training step runs them: split over K when M·N alone gives
      // too few invocations (the square matmuls never split).
      ...(batch === null ? {} : { splitTarget: tuning.splitTarget, scratch }),
    };
    out.push({
      family: "matmul",
      layer: s.layer,
      batch,
      shape,
      variant,
      flops: 2 * m * n * k,
      bytes: 4 * (m * k + k * n + m * n + (s.bias ? n : 0)),
      record: () => {
        K.matmul(rt, ab, bb, cb, m, n, k, o);
        freeScratch();
      },
      check: async () => {
        if (!s.sample) return await expectClose(`matmul ${variant} ${shape}`, cb, ref());
        // Square matmuls: check sampled entries of C against Float64 dot products.
        const [c] = await rt.read([cb]);
        const r = new Rng(3);
        for (let t = 0; t < s.sample; t++) {
          const i = r.int(m), j = r.int(n);
          let want = 0, scale = 0;
          for (let q = 0; q < k; q++) {
            const v = a[i * k + q] * b[q * n + j];
            want += v;
            scale += Math.abs(v);
          }
          if (!(Math.abs(c[i * n + j] - want) <= 1e-4 * scale)) {
            throw new Error(
              `Cannot trust kernel matmul ${variant} ${shape}: C[${i},${j}] must be ${want}: found ${
                c[i * n + j]
              }`,
            );
          }
        }
      },
      cpu: s.cpu ? ref : null,
      cpuNote: s.cpu ? undefined : "no CPU baseline (too slow)",
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Memory-bound kernels, DEC, Adam.

function memoryCases(): Case[] {
  const count = 8 << 20; // 32 MiB per operand: far beyond any cache
  const x = rand(count), y = rand(count);
  const xb = buf(x), yb = buf(y), zb = buf(count), sb = buf(count);
  const e0 = 256 * 8 * 44 * 34, le = rand(e0), leb = buf(le), lyb = buf(e0);
  const sample = (n: number) => (a: ArrayLike<number>) => Array.from({ length: n }, (_, i) => a[i]);
  const head = sample(1 << 16);
  return [
    {
      family: "scale (copy)",
      layer: "32 MiB",
      batch: null,
      shape: fmt([count]),
      variant: "",
      flops: count,
      bytes: 8 * count,
      record: () => K.scale(rt, xb, sb, count, 0.5),
      check: () => expectClose("scale", sb, head(cpu.scale(x.subarray(0, 1 << 16), 0.5)), 1e-6),
      cpu: () => cpu.scale(x, 0.5),
    },
    {
      family: "scale (copy)",
      layer: "32 MiB",
      batch: null,
      shape: fmt([count]),
      variant: "scalar",
      flops: count,
      bytes: 8 * count,
      record: () => K.scale(rt, xb, sb, count, 0.5, false),
      check: () => expectClose("scale", sb, head(cpu.scale(x.subarray(0, 1 << 16), 0.5)), 1e-6),
      cpu: () => cpu.scale(x, 0.5),
    },
    {
      family: "axpby",
      layer: "32 MiB",
      batch: null,
      shape: fmt([count]),
      variant: "",
      flops: 3 * count,
      bytes: 12 * count,
      record: () => K.axpby(rt, xb, yb, zb, count, 0.5, -2),
      check: () => {
        const want = new Float64Array(1 << 16);
        for (let i = 0; i < want.length; i++) want[i] = 0.5 * x[i] - 2 * y[i];
        return expectClose("axpby", zb, want, 1e-6);
      },
      cpu: () => {
        const z = new Float64Array(count);
        for (let i = 0; i < count; i++) z[i] = 0.5 * x[i] - 2 * y[i];
      },
    },
    {
      family: "leaky",
      layer: "e0 out",
      batch: 256,
      shape: fmt([256, 8, 44, 34]),
      variant: "",
      flops: e0,
      bytes: 8 * e0,
      record: () => K.leaky(rt, leb, lyb, e0, SLOPE),
      check: () => expectClose("leaky", lyb, cpu.leakyRelu(le, SLOPE), 1e-6),
      cpu: () => cpu.leakyRelu(le, SLOPE),
    },
  ];
}

function decCases(): Case[] {
  const n = 256, k = 10, d = 9, alpha = 1;
  const z = rand(n * d), mu = rand(k * d);
  const zb = buf(z), mub = buf(mu), qb = buf(n * k), pb = buf(n * k), fb = buf(k);
  const gzb = buf(n * d), gmub = buf(k * d), glb = buf(new Float32Array([1]));
  const q = cpu.softAssign(z, mu, n, k, d, alpha);
  const p = cpu.targetDistribution(q, n, k);
  const qf = Float32Array.from(q), pf = Float32Array.from(p);
  const qinb = buf(qf), pinb = buf(pf);
  const shape = `z ${fmt([n, d])}, mu ${fmt([k, d])}`;
  return [
    {
      family: "dec soft assign",
      layer: "N=256 K=10 D=9",
      batch: n,
      shape: `${shape}→q ${fmt([n, k])}`,
      variant: "",
      flops: n * k * (3 * d + 6),
      bytes: 4 * (n * d + k * d + n * k),
      record: () => K.softAssign(rt, zb, mub, qb, n, k, d, alpha),
      check: () => expectClose("soft assign", qb, q, 1e-5),
      cpu: () => cpu.softAssign(z, mu, n, k, d, alpha),
    },
    {
      family: "dec target",
      layer: "N=256 K=10",
      batch: n,
      shape: `q ${fmt([n, k])}→p ${fmt([n, k])}`,
      variant: "",
      flops: 5 * n * k,
      bytes: 8 * n * k,
      record: () => K.targetDistribution(rt, qinb, fb, pb, n, k),
      check: () => expectClose("target", pb, p, 1e-5),
      cpu: () => cpu.targetDistribution(qf, n, k),
    },
    {
      family: "dec KL grad",
      layer: "N=256 K=10 D=9",
      batch: n,
      shape: `${shape}, p, q→gz, gmu`,
      variant: "",
      flops: 2 * n * k * (4 * d + 6),
      bytes: 4 * (2 * n * d + 2 * k * d + 2 * n * k),
      record: () => {
        K.klGrad(rt, zb, mub, pinb, qinb, glb, gzb, gmub, n, k, d, alpha, scratch);
        freeScratch();
      },
      check: async () => {
        const g = cpu.klGrad(z, mu, pf, qf, n, k, d, alpha);
        await expectClose("KL grad z", gzb, g.gz, 1e-4);
        await expectClose("KL grad mu", gmub, g.gmu, 1e-4);
      },
      cpu: () => cpu.klGrad(z, mu, pf, qf, n, k, d, alpha),
    },
  ];
}

function adamCase(): Case {
  const count = 218_250; // parameters of the seed autoencoder
  const g = rand(count), p0 = rand(count);
  const m0 = rand(count).map((v) => 0.1 * v), v0 = rand(count).map((v) => 0.01 * v * v);
  const gb = buf(g), pb = buf(p0), mb = buf(m0), vb = buf(v0);
  const step = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, t: 3 };
  return {
    family: "adam",
    layer: "seed AE",
    batch: null,
    shape: fmt([count]),
    variant: "",
    flops: 16 * count,
    bytes: 28 * count,
    // In place: repeated steps keep moving the same parameters, which costs the same.
    record: () => K.adam(rt, gb, pb, mb, vb, count, step),
    check: async () => {
      // The warm-up already stepped once from (p0, m0, v0): compare with one CPU step.
      const p = Float64Array.from(p0), m = Float64Array.from(m0), v = Float64Array.from(v0);
      cpu.adamStep(p, g, m, v, step.t, step);
      await expectClose("adam param", pb, p, 1e-5);
      await expectClose("adam m", mb, m, 1e-5);
      await expectClose("adam v", vb, v, 1e-5);
    },
    cpu: () => {
      const p = Float64Array.from(p0), m = Float64Array.from(m0), v = Float64Array.from(v0);
      cpu.adamStep(p, g, m, v, step.t, step);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Timing.

async function timeOnce(c: Case, reps: number): Promise<number> {
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) c.record();
  await rt.sync();
  return performance.now() - t0;
}

async function measure(c: Case): Promise<void> {
  c.record();
  await rt.sync();
  await c.check();
  // Per-dispatch time from the slope between 1 and 4 dispatches per submit; a dispatch that
  // alone fills an iteration is timed one per submit.
  const t1 = await timeOnce(c, 1);
  let per = t1;
  if (t1 < ITER_MS) {
    const t4 = await timeOnce(c, 4);
    per = Math.max((t4 - t1) / 3, t4 / 4 / 8, 0.01);
  }
  c.reps = Math.max(1, Math.min(256, Math.round(ITER_MS / per)));
  const ts: number[] = [];
  const iters = per > ITER_MS / 2 ? 3 : TIMED_ITERS;
  for (let i = 0; i < iters; i++) ts.push(await timeOnce(c, c.reps));
  c.ms = median(ts) / c.reps;
  c.gpuMs = await gpuTime(c, Math.max(3, Math.min(TIMED_ITERS + 2, c.reps)));
}

/**
 * GPU time per call from timestamp queries: `calls` calls recorded into one profiled submit,
 * the GPU times of each call's dispatches summed, the median of the calls whose dispatches all
 * got a time. Null where the adapter has no timestamp queries or timed no call whole.
 */
async function gpuTime(c: Case, calls: number): Promise<number | null> {
  if (!rt.device.features.has("timestamp-query")) return null;
  const p = await profileRun(rt, async () => {
    for (let i = 0; i < calls; i++) c.record();
    await rt.sync();
  });
  if (p.length === 0 || p.length % calls !== 0) {
    throw new Error(
      `Cannot time ${caseTitle(c)} on the GPU: ${p.length} profiled dispatches for ${calls} calls`,
    );
  }
  const per = p.length / calls;
  // A call with an untimed dispatch (timestamps zero or out of order) has no sum: left out.
  const sums = Array.from({ length: calls }, (_, i) => p.slice(i * per, (i + 1) * per))
    .filter((ds) => ds.every((d) => d.ms !== null))
    .map((ds) => ds.reduce((s, d) => s + d.ms!, 0));
  return sums.length ? median(sums) : null;
}

/**
 * The time the roofline uses: GPU timestamps on hardware adapters that have them, else wall
 * time. On llvmpipe the GPU's work is the CPU's, wall time is what a caller waits, and the
 * timestamps disagree with it by up to 1.9× either way (a 1024³ matmul: 613 ms by timestamps,
 * 1,140 ms by the clock), so there wall time stays the measure and `gpuMs` is only recorded.
 */
const roofMs = (c: Pick<Case, "ms" | "gpuMs">) => (software ? c.ms! : c.gpuMs ?? c.ms!);

const cases: Case[] = [];
if (adapter) {
  console.log(`kernels: adapter ${adapter}`);
  console.log(
    `kernels: tuning ${JSON.stringify(tuning!)}; ~${ITER_MS} ms per timed submit, median of ` +
      `${TIMED_ITERS}; batches ${BATCHES.join(", ")}`,
  );
  // Peaks first, so the others can be read against them.
  cases.push(...memoryCases());
  cases.push(
    ...matmulCases({ layer: "512³", m: 512, n: 512, k: 512, sample: 64, cpu: true }, null),
  );
  cases.push(
    ...matmulCases({ layer: "1024³", m: 1024, n: 1024, k: 1024, sample: 64, cpu: false }, null),
  );
  for (const n of BATCHES) {
    for (const l of LAYERS) cases.push(...convCases(l, n));
    for (const s of linearShapes(n)) cases.push(...matmulCases(s, n));
  }
  cases.push(...decCases(), adamCase());
  const t0 = performance.now();
  for (const c of cases) await measure(c);
  // Other processes may load the machine unevenly over the run: time the peak cases again at
  // the end and keep their faster run, so the peaks are not understated.
  for (const c of cases.filter(isPeakCase)) {
    const first = { ms: c.ms!, reps: c.reps!, gpuMs: c.gpuMs };
    await measure(c);
    if (roofMs(first) < roofMs(c)) Object.assign(c, first);
  }
  console.log(
    `kernels: ${cases.length} cases checked and timed in ${
      ((performance.now() - t0) / 1000).toFixed(0)
    } s`,
  );
  await report();
  registerDenoBench();
}

/** The variant of a conv case that the tuning's training step runs ("gemm" or ""). */
function convVariant(c: Case): string {
  const conv2dKernel = c.family === "conv2d fwd" ||
    c.family === "conv_transpose2d input grad (conv2d)";
  return conv2dKernel && K.tuningValue(tuning, "convGemm") ? "gemm" : "";
}

function isPeakCase(c: Case): boolean {
  return (c.family === "matmul" && c.layer === "1024³") || c.family === "scale (copy)" ||
    c.family === "axpby";
}

function caseTitle(c: Case): string {
  return `${c.family} ${c.layer}${c.variant ? ` ${c.variant}` : ""}`;
}

async function report(): Promise<void> {
  const gf = (c: Case) => c.flops / (roofMs(c) * 1e6);
  const gb = (c: Case) => c.bytes / (roofMs(c) * 1e6);
  const clock = !software && cases[0]?.gpuMs != null ? "GPU timestamps" : "wall time";
  const big = cases.filter((c) => isPeakCase(c) && c.family === "matmul");
  const peakF = Math.max(...big.map(gf));
  const copies = cases.filter((c) => isPeakCase(c) && c.family !== "matmul");
  const peakB = Math.max(...copies.map(gb));
  const bestMm = big.reduce((a, b) => (gf(a) >= gf(b) ? a : b));
  const bestCopy = copies.reduce((a, b) => (gb(a) >= gb(b) ? a : b));
  console.log(
    `\nroofline: peak compute ${peakF.toFixed(1)} GFLOP/s (${caseTitle(bestMm)}), ` +
      `peak bandwidth ${peakB.toFixed(1)} GB/s (${caseTitle(bestCopy)}); ` +
      `ridge ${(peakF / peakB).toFixed(2)} FLOP/byte; rates from ${clock}`,
  );
  console.log(
    `kernels: compileAll made ${compile.pipelines} pipelines in ${compile.ms.toFixed(0)} ms`,
  );
  const rows = [
    ["kernel", "shape", "R", "ms", "GPU ms", "GFLOP/s", "GB/s", "FLOP/B", "% roof", "% mm"],
  ];
  for (const c of cases) {
    const ai = c.flops / c.bytes;
    const roof = Math.min(peakF, ai * peakB);
    const isConv = c.family.startsWith("conv");
    rows.push([
      caseTitle(c) + (c.batch ? ` @${c.batch}` : ""),
      c.shape,
      String(c.reps),
      c.ms!.toPrecision(3),
      c.gpuMs != null ? c.gpuMs.toPrecision(3) : "n/a",
      gf(c).toFixed(2),
      gb(c).toFixed(2),
      ai.toFixed(2),
      (100 * gf(c) / roof).toFixed(0),
      isConv ? (100 * gf(c) / peakF).toFixed(0) : "",
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const [i, r] of rows.entries()) {
    console.log(r.map((s, j) => (j < 2 ? s.padEnd(widths[j]) : s.padStart(widths[j]))).join("  "));
    if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
  console.log(
    `ms = wall time per call; GPU ms = timestamps; GFLOP/s and GB/s from ${clock}; ` +
      "% roof = achieved GFLOP/s / min(peak compute, FLOP/B · peak bandwidth); " +
      "% mm = conv GFLOP/s / best matmul GFLOP/s at 1024³ (target ≥ 50 %)",
  );
  stepBreakdown();
  const figures: BenchFigure[] = [
    {
      name: "peak compute (best matmul 1024³)",
      shape: bestMm.shape,
      value: peakF,
      unit: "GFLOP/s",
      extra: { kernel: caseTitle(bestMm), clock },
    },
    {
      name: "peak bandwidth (best copy)",
      shape: bestCopy.shape,
      value: peakB,
      unit: "GB/s",
      extra: { kernel: caseTitle(bestCopy), clock },
    },
    {
      name: "compile all kernels (compileAll)",
      shape: `${compile.pipelines} pipelines`,
      value: compile.ms,
      unit: "ms",
      extra: { pipelines: compile.pipelines },
    },
    ...cases.map((c) => ({
      name: caseTitle(c),
      shape: c.shape,
      value: roofMs(c),
      unit: "ms",
      extra: {
        wallMs: c.ms!,
        gflops: gf(c),
        gbs: gb(c),
        flops: c.flops,
        bytes: c.bytes,
        reps: c.reps,
        gpuMs: c.gpuMs ?? null,
        clock,
        pctBestMatmul: c.family.startsWith("conv") ? 100 * gf(c) / peakF : undefined,
      },
    })),
  ];
  const path = await writeBenchResults("kernels", figures, {
    tuning: { active: tuning!, source: tuningSource },
  });
  console.log(`kernels: wrote ${path}`);
}

/**
 * The kernels of one training step at each batch, ranked by time: the conv and matmul
 * kernels of the chosen matmul variant, Adam, and each layer's fused leaky/bias forward.
 * Elementwise backward kernels (leaky grad, bias sums, MSE) are not benchmarked here.
 */
function stepBreakdown(): void {
  for (const n of BATCHES) {
    const inStep = cases.filter((c) =>
      (c.batch === n && c.family.startsWith("conv") && c.variant === convVariant(c) &&
        !(c.layer === "e0" && c.family.startsWith("conv2d input"))) || // input needs no grad
      (c.batch === n && c.family === "matmul" && c.variant === tuning.matmul) ||
      c.family === "adam"
    );
    const total = inStep.reduce((s, c) => s + roofMs(c), 0);
    inStep.sort((a, b) => roofMs(b) - roofMs(a));
    console.log(
      `\nper training step at batch ${n}: ${inStep.length} benchmarked kernels sum to ` +
        `${total.toFixed(1)} ms; slowest:`,
    );
    for (const c of inStep.slice(0, 8)) {
      console.log(
        `  ${roofMs(c).toFixed(2).padStart(8)} ms  ${
          (100 * roofMs(c) / total).toFixed(0).padStart(3)
        } %  ` +
          `${caseTitle(c)} ${c.shape}`,
      );
    }
  }
}

function registerDenoBench(): void {
  for (const c of cases) {
    const group = `${c.family} ${c.layer} ${c.shape}`;
    Deno.bench({
      name: `${group} webgpu${c.variant ? ` ${c.variant}` : ""} ×${c.reps}`,
      group,
      n: 2,
      warmup: 1,
      async fn(b) {
        b.start();
        for (let r = 0; r < c.reps!; r++) c.record();
        await rt.sync();
        b.end();
      },
    });
    // One CPU baseline per group: not again for the other matmul blocks or the GEMM conv.
    if (c.variant.startsWith("blocked") || c.variant === "gemm") continue;
    let note = c.cpuNote;
    if (c.cpu) {
      // The baseline must do the same work as one webgpu iteration: `reps` calls.
      const t0 = performance.now();
      c.cpu();
      const cpuMs = (performance.now() - t0) * c.reps!;
      if (cpuMs > CPU_BASELINE_MAX_MS) {
        note = `${c.reps} calls ≈ ${(cpuMs / 1000).toFixed(1)} s: too slow`;
      } else {
        const run = c.cpu, reps = c.reps!;
        Deno.bench({
          name: `${group} cpu ×${reps}`,
          group,
          baseline: true,
          n: 1,
          warmup: 1,
          fn() {
            for (let r = 0; r < reps; r++) run();
          },
        });
        continue;
      }
    }
    // Deno.bench has no notes column: say why in an ignored case.
    Deno.bench({ name: `${group} cpu (${note})`, group, ignore: true, fn() {} });
  }
}
