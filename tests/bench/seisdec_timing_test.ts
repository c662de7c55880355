/**
 * lib/bench/seisdec_timing.ts: the step timers on a stubbed clock, and the throughput and
 * step-time limit arithmetic of `timeSeisdec` and `measureTuning`.
 */
import {
  measureTuning,
  steadyStepMs,
  stepIntervals,
  timeSeisdec,
} from "../../lib/bench/seisdec_timing.ts";
import { assert, assertEquals } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";

/**
 * Runs `fn` with `performance.now` reading a fake clock, and an `issue` that queues steps of
 * `stepMs` each, as a GPU queue runs them: a step ends `stepMs` after the later of its issue and
 * the previous step's end, and awaiting its result moves the clock to that end (the clock moves
 * only then: recording and submitting take no time).
 */
async function onFakeClock<T>(
  stepMs: number,
  fn: (issue: () => Promise<number>) => Promise<T>,
): Promise<T> {
  let now = 1000, queueEnd = 0;
  const issue = () => {
    const end = queueEnd = Math.max(now, queueEnd) + stepMs;
    // A thenable, not a promise, so that the clock moves when the result is awaited.
    const result = {
      then<R1, R2>(ok?: (v: number) => R1, fail?: (e: unknown) => R2) {
        now = Math.max(now, end);
        return Promise.resolve(0).then(ok, fail);
      },
      catch: () => result,
    };
    return result as unknown as Promise<number>;
  };
  const own = Object.getOwnPropertyDescriptor(performance, "now");
  Object.defineProperty(performance, "now", { value: () => now, configurable: true });
  try {
    return await fn(issue);
  } finally {
    if (own) Object.defineProperty(performance, "now", own);
    else delete (performance as { now?: unknown }).now;
  }
}

Deno.test("steadyStepMs of 10 steps that each take 7 ms on a stubbed clock is exactly 7 ms", async () => {
  for (const depth of [1, 3]) {
    const ms = await onFakeClock(7, (issue) => steadyStepMs(issue, 10, depth));
    assertEquals(ms, 7, `depth ${depth}`);
  }
});

Deno.test("stepIntervals(issue, 5) on a stubbed clock gives 5 intervals, each the step's 7 ms", async () => {
  for (const depth of [1, 3]) {
    const ts = await onFakeClock(7, (issue) => stepIntervals(issue, 5, depth));
    assertEquals(ts, [7, 7, 7, 7, 7], `depth ${depth}`);
  }
});

Deno.test("timeSeisdec on the CPU reports batch / step seconds as samples/s, and a step-seconds limit far above the step does not skip it", async () => {
  const opts = { minSeconds: 0, inferBatch: 1, seed: 3 };
  const free = await timeSeisdec("cpu", 2, opts);
  assertEquals(free.error, undefined);
  assert(free.stepMs! > 0 && free.inferMs! > 0, JSON.stringify(free));
  const rel = (a: number, b: number) => Math.abs(a - b) / b;
  assert(rel(free.trainSamplesPerSec!, (2 * 1000) / free.stepMs!) < 1e-12, JSON.stringify(free));
  assert(rel(free.inferSamplesPerSec!, 1000 / free.inferMs!) < 1e-12, JSON.stringify(free));
  // A limit 200 times the steady step, in seconds: the warm-up step (in seconds) stays under it;
  // the same step counted in milliseconds would be 1,000 times over.
  const maxStepSeconds = (200 * free.stepMs!) / 1000;
  const capped = await timeSeisdec("cpu", 2, { ...opts, infer: false, maxStepSeconds });
  assertEquals(capped.error, undefined, `limit ${maxStepSeconds} s`);
  assert(capped.stepMs! > 0, JSON.stringify(capped));
  assert(rel(capped.trainSamplesPerSec!, (2 * 1000) / capped.stepMs!) < 1e-12);
  // A limit under the step does skip it, with the reason.
  const skipped = await timeSeisdec("cpu", 2, { ...opts, infer: false, maxStepSeconds: 1e-9 });
  assertEquals(skipped.stepMs, undefined);
  assertEquals(skipped.trainSamplesPerSec, null);
  assert(skipped.error?.includes("over the 1e-9 s limit"), skipped.error);
});

gpuTest(
  "measureTuning reports batch / step seconds as samples/s, for training and encoding",
  async () => {
    const p = await measureTuning({
      batches: [4],
      config: { inputShape: [1, 24, 20] },
      seconds: 0,
    });
    const rel = (a: number, b: number) => Math.abs(a - b) / b;
    const t = p.train[0];
    assert(t.stepMs > 0 && rel(t.samplesPerSec, (4 * 1000) / t.stepMs) < 1e-12, JSON.stringify(t));
    assert(rel(p.infer.samplesPerSec, (p.infer.batch * 1000) / p.infer.ms) < 1e-12);
  },
);
