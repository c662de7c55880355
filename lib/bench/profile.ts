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
  /** Its total GPU time over the dispatches that were timed, ms (0 when none was). */
  ms: number;
  /** Its dispatches without a usable time (timestamps zero or out of order), left out of `ms`. */
  untimed: number;
  /** Fraction of the timed total, 0..1. */
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
 * Sums a profile by kernel name, largest first. Dispatches without a time (see
 * `timestampMs` in lib/gpu/runtime.ts) are counted as untimed, not as 0 ms.
 *
 * @param p Profiled dispatches.
 * @returns one row per kernel name.
 * @example
 * ```ts
 * import { byKernel } from "./profile.ts";
 * const d = { index: 0, defines: {}, workgroups: 1 };
 * const k = byKernel([
 *   { ...d, kernel: "conv2d", ms: 3 },
 *   { ...d, kernel: "conv2d", ms: null },
 *   { ...d, kernel: "adam", ms: 1 },
 * ]);
 * if (k[0].kernel !== "conv2d" || k[0].ms !== 3 || k[0].untimed !== 1 || k[0].share !== 0.75) {
 *   throw new Error(JSON.stringify(k));
 * }
 * ```
 */
export function byKernel(p: readonly ProfiledDispatch[]): KernelShare[] {
  const total = p.reduce((s, d) => s + (d.ms ?? 0), 0);
  const m = new Map<string, { n: number; ms: number; untimed: number }>();
  for (const d of p) {
    const e = m.get(d.kernel) ?? { n: 0, ms: 0, untimed: 0 };
    e.n++;
    if (d.ms === null) e.untimed++;
    else e.ms += d.ms;
    m.set(d.kernel, e);
  }
  return [...m].map(([kernel, e]) => ({
    kernel,
    dispatches: e.n,
    ms: e.ms,
    untimed: e.untimed,
    share: total > 0 ? e.ms / total : 0,
  })).sort((a, b) => b.ms - a.ms);
}

/**
 * A per-kernel profile as a Markdown table, for bench output: a kernel none of whose dispatches
 * got a time shows "n/a", one with some untimed says how many, and the heading's total is over
 * the timed dispatches only.
 *
 * @param profile Rows from {@linkcode byKernel}.
 * @param title What was profiled, e.g. "one training step at batch 64".
 * @returns the lines (heading, table).
 * @example
 * ```ts
 * import { profileTable } from "./profile.ts";
 * const lines = profileTable([
 *   { kernel: "conv2d", dispatches: 4, ms: 3, untimed: 1, share: 1 },
 *   { kernel: "adam", dispatches: 2, ms: 0, untimed: 2, share: 0 },
 * ], "one step");
 * if (lines.at(-1) !== "| adam | 2 | n/a (2 untimed) | n/a |") throw new Error(lines.join("\n"));
 * ```
 */
export function profileTable(profile: readonly KernelShare[], title: string): string[] {
  const total = profile.reduce((s, k) => s + k.ms, 0);
  const untimed = profile.reduce((s, k) => s + k.untimed, 0);
  const missing = untimed
    ? ` (${untimed} dispatches without a usable timestamp, left out: zero or out of order)`
    : "";
  const lines = [
    `GPU time per kernel in ${title} (timestamp queries, one pass per dispatch): ${
      total.toFixed(1)
    } ms${missing}`,
    "| kernel | dispatches | ms | share |",
    "| --- | ---: | ---: | ---: |",
  ];
  for (const k of profile) {
    const none = k.untimed === k.dispatches;
    const ms = none ? "n/a" : k.ms.toFixed(2);
    const note = k.untimed ? ` (${k.untimed} untimed)` : "";
    const share = none ? "n/a" : `${(100 * k.share).toFixed(1)} %`;
    lines.push(`| ${k.kernel} | ${k.dispatches} | ${ms}${note} | ${share} |`);
  }
  return lines;
}

/**
 * A markdown table of a short run's dispatches in order (e.g. one encoder pass: a row per
 * layer), with each one's tile defines, workgroups and GPU time.
 *
 * @param p Profiled dispatches, in order.
 * @param title What was profiled, e.g. "one encoder pass at batch 256".
 * @returns the lines of the table, the first a heading with the timed total.
 * @example
 * ```ts
 * import { dispatchTable } from "./profile.ts";
 * const t = dispatchTable([
 *   { index: 0, kernel: "conv2d", defines: { TP: 8 }, workgroups: 12, ms: 1.5 },
 *   { index: 1, kernel: "matmul", defines: {}, workgroups: 1, ms: null },
 * ], "one pass");
 * if (t[3] !== "| 0 | conv2d | TP=8 | 12 | 1.50 | 100.0 % |" || !t[4].includes("n/a")) {
 *   throw new Error(t.join("\n"));
 * }
 * ```
 */
export function dispatchTable(p: readonly ProfiledDispatch[], title: string): string[] {
  const total = p.reduce((s, d) => s + (d.ms ?? 0), 0);
  const untimed = p.filter((d) => d.ms === null).length;
  const lines = [
    `GPU time per dispatch in ${title} (timestamp queries, one pass per dispatch): ${
      total.toFixed(1)
    } ms${untimed ? ` (${untimed} without a usable timestamp, left out)` : ""}`,
    "| # | kernel | defines | workgroups | ms | share |",
    "| ---: | --- | --- | ---: | ---: | ---: |",
  ];
  for (const d of p) {
    const defines = Object.entries(d.defines).map(([k, v]) => `${k}=${v}`).join(" ");
    const ms = d.ms === null ? "n/a" : d.ms.toFixed(2);
    const share = d.ms === null || !(total > 0) ? "n/a" : `${(100 * d.ms / total).toFixed(1)} %`;
    lines.push(`| ${d.index} | ${d.kernel} | ${defines} | ${d.workgroups} | ${ms} | ${share} |`);
  }
  return lines;
}
