import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { drain, drainAsync, letEventsIn } from "../../lib/util/events.ts";
import { kmeans, kmeansAsync } from "../../lib/cluster/kmeans.ts";
import { gmm, gmmAsync } from "../../lib/cluster/gmm.ts";
import { Rng } from "../../lib/util/rng.ts";

/** Blocks this thread for `ms` milliseconds, as a synchronous computation does. */
function busy(ms: number): void {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) { /* computing */ }
}

Deno.test("letEventsIn lets timers run during a busy loop; an await on a resolved promise does not", async () => {
  let fired = false;
  const timer = setTimeout(() => fired = true, 0);
  for (let i = 0; i < 10; i++) {
    busy(30);
    await Promise.resolve();
  }
  assert(!fired, "a resolved promise let the timer run");
  for (let i = 0; i < 20 && !fired; i++) {
    busy(30);
    await letEventsIn(50);
  }
  clearTimeout(timer);
  assert(fired, "the timer never ran");
});

Deno.test("drain and drainAsync return a generator's value; drainAsync lets the event loop run between its steps", async () => {
  function* steps(n: number, ms: number): Generator<void, number> {
    let s = 0;
    for (let i = 0; i < n; i++) {
      busy(ms);
      s += i;
      yield;
    }
    return s;
  }
  assertEquals(drain(steps(5, 0)), 10);
  let fired = false;
  const timer = setTimeout(() => fired = true, 0);
  // 30 steps of 20 ms: more than the 200 ms between turns of the event loop.
  assertEquals(await drainAsync(steps(30, 20)), 435);
  clearTimeout(timer);
  assert(fired, "the timer never ran during drainAsync");
  const failing = function* (): Generator<void, number> {
    yield;
    throw new RangeError("Cannot go on");
  };
  await assertRejects(() => drainAsync(failing()), RangeError, "Cannot go on");
});

Deno.test("kmeansAsync and gmmAsync give kmeans's and gmm's results, serve timers during a long run, and reject bad arguments", async () => {
  const rng = new Rng(5);
  const n = 20_000, d = 8;
  const x = Float64Array.from({ length: n * d }, (_, i) => rng.normal() + (i % 3));
  let fired = 0;
  const timer = setInterval(() => fired++, 1);
  const opts = { k: 6, nInit: 30, seed: 3 };
  const a = await kmeansAsync(x, n, d, opts);
  const seenDuring = fired;
  clearInterval(timer);
  const b = kmeans(x, n, d, opts);
  assertEquals([a.inertia, a.nIter, a.labels, a.centers], [
    b.inertia,
    b.nIter,
    b.labels,
    b.centers,
  ]);
  assert(seenDuring > 0, "no timer ran during kmeansAsync");
  const small = x.subarray(0, 2000 * d);
  const g = { k: 3, covariance: "full" as const, nInit: 2, seed: 1 };
  const ga = await gmmAsync(small, 2000, d, g), gb = gmm(small, 2000, d, g);
  assertEquals([ga.logLikelihood, ga.labels, ga.means], [gb.logLikelihood, gb.labels, gb.means]);
  await assertRejects(() => kmeansAsync(x, n, d, { k: 0 }), RangeError, "k must be");
  await assertRejects(() => gmmAsync(x, n, d, { k: 0 }), RangeError, "k must be");
});
