import { assertAlmostEquals, assertEquals, assertNotEquals } from "../_assert.ts";
import { Rng } from "../../lib/util/rng.ts";

Deno.test("Rng gives the same stream for the same seed and another for another seed", () => {
  const a = new Rng(7), b = new Rng(7), c = new Rng(8);
  const xa = Array.from({ length: 5 }, () => a.nextU32());
  assertEquals(xa, Array.from({ length: 5 }, () => b.nextU32()));
  assertNotEquals(xa, Array.from({ length: 5 }, () => c.nextU32()));
});

Deno.test("Rng normal variates have mean 0 and variance 1 within sampling error", () => {
  const r = new Rng(1);
  const n = 200_000;
  let s = 0, s2 = 0;
  for (let i = 0; i < n; i++) {
    const x = r.normal();
    s += x;
    s2 += x * x;
  }
  // Standard errors: 1/sqrt(n) = 0.0022 for the mean, sqrt(2/n) = 0.0032 for the variance.
  assertAlmostEquals(s / n, 0, 0.01);
  assertAlmostEquals(s2 / n - (s / n) ** 2, 1, 0.015);
});

Deno.test("Rng state restores to the same continuation", () => {
  const r = new Rng(3);
  r.normal();
  const st = r.getState();
  const x = [r.next(), r.normal(), r.nextU32()];
  r.setState(st);
  assertEquals([r.next(), r.normal(), r.nextU32()], x);
});
