/**
 * Profiles with timestamps an adapter could not give (lib/gpu/runtime.ts `timestampMs`,
 * lib/bench/profile.ts): WebGPU lets an implementation return zero timestamps and timestamps
 * out of order (Metal does, across passes), which must not become negative or absurd times.
 *
 * @module
 */
import { assert, assertEquals } from "../_assert.ts";
import { byKernel, dispatchTable, profileRun, profileTable } from "../../lib/bench/profile.ts";
import { type GpuRuntime, type ProfiledDispatch, timestampMs } from "../../lib/gpu/runtime.ts";

// Resolved query pairs as a read-back could hold them (ns): in order, reversed, a start never
// written (0), both zero, and an end equal to its start.
const PAIRS: [bigint, bigint][] = [
  [5_000_000_000n, 5_002_500_000n],
  [5_003_000_000n, 5_001_000_000n],
  [0n, 5_004_000_000n],
  [0n, 0n],
  [5_006_000_000n, 5_006_000_000n],
];

Deno.test("timestampMs gives ms for ordered pairs and null for zero or reversed ones", () => {
  assertEquals(PAIRS.map(([a, b]) => timestampMs(a, b)), [2.5, null, null, null, 0]);
  // Unsigned 64-bit values near the top: no precision lost in the difference.
  assertEquals(timestampMs(2n ** 64n - 1_000_001n, 2n ** 64n - 1n), 1);
});

Deno.test("byKernel leaves untimed dispatches out of the times and shares, and counts them", () => {
  const kernels = ["conv2d", "conv2d", "adam", "adam", "scale"];
  const p: ProfiledDispatch[] = PAIRS.map(([a, b], i) => ({
    index: i,
    kernel: kernels[i],
    defines: {},
    workgroups: 1,
    ms: timestampMs(a, b),
  }));
  const k = byKernel(p);
  assertEquals(k.map((r) => [r.kernel, r.dispatches, r.ms, r.untimed]), [
    ["conv2d", 2, 2.5, 1],
    ["adam", 2, 0, 2],
    ["scale", 1, 0, 0],
  ]);
  for (const r of k) assert(r.ms >= 0 && r.share >= 0 && r.share <= 1, JSON.stringify(r));
  assertEquals(k[0].share, 1, "the timed total is 2.5 ms, all conv2d's");
  const lines = profileTable(k, "one step");
  assert(lines[0].includes("2.5 ms (3 dispatches without a usable timestamp"), lines[0]);
  assertEquals(lines.slice(3), [
    "| conv2d | 2 | 2.50 (1 untimed) | 100.0 % |",
    "| adam | 2 | n/a (2 untimed) | n/a |",
    "| scale | 1 | 0.00 | 0.0 % |",
  ]);
  // Every dispatch untimed: no share is made up, no NaN.
  const none = byKernel(p.map((d) => ({ ...d, ms: null })));
  assert(none.every((r) => r.ms === 0 && r.share === 0 && r.untimed === r.dispatches));
  assert(!profileTable(none, "x").some((l) => l.includes("NaN")));
});

Deno.test("dispatchTable lists dispatches in order with shares of the timed total", () => {
  const p: ProfiledDispatch[] = [
    { index: 0, kernel: "conv2d", defines: { TP: 24, TQ: 2 }, workgroups: 250, ms: 3 },
    { index: 1, kernel: "conv2d", defines: { TP: 12 }, workgroups: 33, ms: null },
    { index: 2, kernel: "matmul_blocked", defines: {}, workgroups: 9, ms: 1 },
  ];
  const t = dispatchTable(p, "one encoder pass at batch 256");
  assert(t[0].includes("batch 256") && t[0].includes(": 4.0 ms (1 without a usable"), t[0]);
  assertEquals(t.slice(3), [
    "| 0 | conv2d | TP=24 TQ=2 | 250 | 3.00 | 75.0 % |",
    "| 1 | conv2d | TP=12 | 33 | n/a | n/a |",
    "| 2 | matmul_blocked |  | 9 | 1.00 | 25.0 % |",
  ]);
  // Nothing timed: no share made up, no NaN.
  const none = dispatchTable(p.map((d) => ({ ...d, ms: null })), "x");
  assert(!none.some((l) => l.includes("NaN")) && none[3].endsWith("| n/a | n/a |"), none[3]);
});

Deno.test("byKernel lists kernels by their timed total, largest first, whatever the dispatch order", () => {
  const d = { defines: {}, workgroups: 1 };
  const k = byKernel([
    { ...d, index: 0, kernel: "adam", ms: 0.5 },
    { ...d, index: 1, kernel: "conv2d", ms: 2 },
    { ...d, index: 2, kernel: "matmul", ms: 1 },
    { ...d, index: 3, kernel: "adam", ms: 0.75 },
  ]);
  assertEquals(k.map((r) => [r.kernel, r.dispatches, r.ms, r.share]), [
    ["conv2d", 1, 2, 2 / 4.25],
    ["adam", 2, 1.25, 1.25 / 4.25],
    ["matmul", 1, 1, 1 / 4.25],
  ]);
});

Deno.test("dispatchTable gives no share when the timed dispatches add up to 0 ms", () => {
  const t = dispatchTable([{ index: 0, kernel: "scale", defines: {}, workgroups: 1, ms: 0 }], "x");
  assertEquals(
    t[0],
    "GPU time per dispatch in x (timestamp queries, one pass per dispatch): 0.0 ms",
  );
  assertEquals(t[3], "| 0 | scale |  | 1 | 0.00 | n/a |");
});

Deno.test("profileRun leaves profiling mode when the work throws, and passes the error on", async () => {
  const calls: string[] = [];
  const rt = {
    startProfile: () => void calls.push("start"),
    stopProfile: () => {
      calls.push("stop");
      return Promise.resolve([]);
    },
  } as unknown as GpuRuntime;
  const err = await profileRun(rt, () => Promise.reject(new Error("lost"))).catch((e) => e);
  assertEquals([calls, (err as Error).message], [["start", "stop"], "lost"]);
  calls.length = 0;
  assertEquals(await profileRun(rt, () => Promise.resolve(1)), []);
  assertEquals(calls, ["start", "stop"]);
});
