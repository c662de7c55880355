/**
 * Shared helpers of the WebGPU tests: seeded f32-exact inputs, tensors on the
 * WebGPU backend, batched read-backs and the f32 accumulation tolerance.
 *
 * @module
 */
import { randomArray } from "../../lib/cpu/gradcheck.ts";
import { backendNamed, gpuRuntime, initBackend } from "../../lib/tensor/backends.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertClose } from "../_assert.ts";
import type { BufRef, GpuRuntime } from "../../lib/gpu/runtime.ts";
import * as K from "../../lib/gpu/kernels.ts";

/** Unit roundoff of f32 (2^-24). */
export const U32 = 2 ** -24;

/**
 * Seeded values uniform on [lo, hi), rounded to f32, so the WebGPU kernel and the
 * Float64 reference see exactly the same numbers.
 *
 * @param n Count.
 * @param seed Seed.
 * @param lo Lower bound (default -2).
 * @param hi Upper bound (default 2).
 * @returns the values as a Float64Array.
 */
export function rand(n: number, seed: number, lo = -2, hi = 2): Float64Array {
  return Float64Array.from(Float32Array.from(randomArray(n, seed, lo, hi)));
}

/**
 * Tolerance of a Float32 reduction of length k whose terms are bounded by `term`.
 *
 * Recursive f32 summation rounds each partial sum with relative error <= u = 2^-24. For
 * random-sign terms of size <= T the partial sums grow like sqrt(j)·T, so the accumulated
 * error has a standard deviation of ~u·T·sqrt(Σ_j j) ≈ u·T·k/√6. We allow 8·u·k·T (+2u·T for
 * a final bias add or activation): about 20 standard deviations, so a correct kernel does
 * not fail by chance (the largest observed ratio error/tolerance over all tests here is
 * ~0.1), while for every shape used here (k <= 2,992 products of size <= 4) the tolerance
 * stays <= 6e-3, far below the error of one missing, doubled or misplaced term (~1).
 * Mutation checks (a swapped padding axis, a dropped row of a split, a wrong transposed
 * stride) all fail by orders of magnitude.
 *
 * @param k Reduction length (terms summed per output).
 * @param term Bound of one term's magnitude.
 * @returns the absolute tolerance.
 */
export function accTol(k: number, term: number): number {
  return 8 * U32 * k * term + 2 * U32 * term;
}

/**
 * Tolerance of a chunked tree sum of n terms bounded by `term` (reduce.wgsl): each of 64
 * lanes adds at most chunk/64 = 64 terms, then a 6-level tree and the partial sums of the
 * chunks; rounding errors add like a random walk, ~u·term·sqrt(n) per level. We allow
 * 1e-5·sqrt(n)·term (about 170·u·sqrt(n)·term): far above the observed error, yet 100 times
 * below one misplaced or dropped term (~term/2) for every n used here (n <= 3·10⁵).
 *
 * @param n Terms summed.
 * @param term Bound of one term's magnitude.
 * @returns the absolute tolerance.
 */
export function sumTol(n: number, term: number): number {
  return 1e-5 * Math.sqrt(n) * term;
}

/** Starts the WebGPU backend (idempotent) and returns the runtime. */
export async function webgpu(): Promise<GpuRuntime> {
  await initBackend("webgpu");
  return gpuRuntime()!;
}

/**
 * A WebGPU tensor holding `a` (as f32).
 *
 * @param a Values.
 * @param shape Shape.
 * @param requiresGrad Whether it is a leaf that collects a gradient.
 * @returns the tensor.
 */
export function gt(a: ArrayLike<number>, shape: readonly number[], requiresGrad = false): Tensor {
  const t = Tensor.fromArray(Float32Array.from(a), shape, "webgpu");
  t.requiresGrad = requiresGrad;
  return t;
}

/**
 * Reads several WebGPU tensors in one submit.
 *
 * @param ts Tensors.
 * @returns their values.
 */
export function readAll(ts: Tensor[]): Promise<Float32Array[]> {
  return backendNamed("webgpu").read(ts);
}

/**
 * Hands the pool a NaN-filled buffer for each size, so that the next allocation of that
 * size bucket gets garbage: a kernel that leaves part of its output unwritten then fails.
 *
 * @param sizes Float counts.
 */
export function dirtyPool(...sizes: number[]): void {
  const ts = sizes.map((n) => Tensor.full([n], NaN, "webgpu"));
  for (const t of ts) t.dispose();
  gpuRuntime()!.submit();
}

/**
 * A scratch allocator for the kernels' split-K partials: NaN-filled slices (a partial left
 * unwritten then shows), uploaded through the queue, so they record no dispatch.
 *
 * @param kept Receives each slice's tensor, for the caller to dispose.
 * @returns the allocator.
 */
export function nanScratch(kept: Tensor[]): (floats: number) => BufRef {
  return (floats) => {
    const t = Tensor.fromArray(new Float32Array(floats).fill(NaN), [floats], "webgpu");
    kept.push(t);
    return t.ref;
  };
}

/** Product of a shape. */
export const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Σ a·b in Float64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** max |a| in Float64. */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/**
 * assertClose with an absolute tolerance; with SEISDEC_TOL_DEBUG=1 it also logs the ratio of
 * the worst error to the tolerance, to show the margin of each check.
 *
 * @param actual Values under test.
 * @param expected Reference.
 * @param atol Absolute tolerance.
 * @param msg Context.
 * @param rtol Relative tolerance (default 0).
 */
export function close(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  msg: string,
  rtol = 0,
): void {
  if (Deno.env.get("SEISDEC_TOL_DEBUG")) {
    let worst = 0;
    for (let i = 0; i < actual.length; i++) {
      const err = Math.abs(actual[i] - expected[i]);
      worst = Math.max(worst, err === 0 ? 0 : err / (atol + rtol * Math.abs(expected[i])));
    }
    console.log(`tol ${msg}: worst error / tolerance = ${worst.toExponential(2)}`);
  }
  assertClose(actual, expected, atol, rtol, msg);
}

/**
 * Runs `fn` with `override` merged over the active tuning (kernels compile lazily), and
 * restores the tuning afterwards.
 *
 * @param override Tuning fields.
 * @param fn The work.
 * @returns its result.
 */
export async function withTuning<T>(override: Partial<K.Tuning>, fn: () => Promise<T>): Promise<T> {
  const rt = await webgpu();
  const saved = K.activeTuning();
  await K.loadKernels(rt, { ...saved, ...override });
  try {
    return await fn();
  } finally {
    await K.loadKernels(rt, saved);
  }
}

/**
 * A GPU's default tuning as a whole: `defaultTuning(false)` with every field that the software
 * default sets given the GPU's value, so that merging it over this adapter's tuning (as
 * {@linkcode withTuning}, SEISDEC_TUNING and the tests' training runs do) leaves nothing of the
 * software tuning behind.
 *
 * @returns the tuning.
 */
export function gpuDefaultTuning(): K.Tuning {
  const gpu = K.defaultTuning(false);
  const t: Record<string, unknown> = { ...gpu, balanceThreads: 1 };
  for (const k of Object.keys(K.defaultTuning(true, 2)) as (keyof K.Tuning)[]) {
    if (k !== "balanceThreads") t[k] = K.tuningValue(gpu, k);
  }
  return t as unknown as K.Tuning;
}
