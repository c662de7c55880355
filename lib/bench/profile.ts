/**
 * Per-kernel GPU time of one training step, from the runtime's timestamp profile
 * ({@linkcode GpuRuntime.startProfile}): what to optimise first on an adapter.
 *
 * @module
 */
import type { GpuRuntime, ProfiledDispatch } from "../gpu/runtime.ts";

/** GPU time of one kernel family (one kernel name, all its variants) within a run. */
export interface KernelShare {
  /** Kernel name (all its variants together). */
  kernel: string;
  /** Dispatches of it in the run. */
  dispatches: number;
  /** Its total GPU time, ms. */
  ms: number;
  /** Fraction of the profiled total, 0..1. */
  share: number;
}

/**
 * Runs `fn` with every dispatch timed on the GPU.
 *
 * @param rt The runtime (its device needs the "timestamp-query" feature).
 * @param fn The work, e.g. one training step.
 * @returns the profiled dispatches, in order.
 */
export async function profileRun(
  rt: GpuRuntime,
  fn: () => Promise<unknown>,
): Promise<ProfiledDispatch[]> {
  rt.startProfile();
  try {
    await fn();
  } catch (e) {
    await rt.stopProfile(); // leave profiling mode before passing the error on
    throw e;
  }
  return await rt.stopProfile();
}

/**
 * Sums a profile by kernel name, largest first.
 *
 * @param p Profiled dispatches.
 * @returns one row per kernel name.
 */
export function byKernel(p: readonly ProfiledDispatch[]): KernelShare[] {
  const total = p.reduce((s, d) => s + d.ms, 0);
  const m = new Map<string, { n: number; ms: number }>();
  for (const d of p) {
    const e = m.get(d.kernel) ?? { n: 0, ms: 0 };
    e.n++;
    e.ms += d.ms;
    m.set(d.kernel, e);
  }
  return [...m].map(([kernel, e]) => ({
    kernel,
    dispatches: e.n,
    ms: e.ms,
    share: total > 0 ? e.ms / total : 0,
  })).sort((a, b) => b.ms - a.ms);
}
