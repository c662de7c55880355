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

Deno.test("Rng.nextU32 is xoshiro128** (the reference C from state {1, 2, 3, 4}); next() takes 27 + 26 bits", () => {
  const r = new Rng();
  r.setState([1, 2, 3, 4, NaN]);
  // Outputs of Blackman and Vigna's xoshiro128starstar.c seeded with s = {1, 2, 3, 4}.
  assertEquals([r.nextU32(), r.nextU32()], [11520, 0]);
  // next() from the following two outputs, 5927040 and 70819200: (hi >>> 5) * 2^26 + (lo >>> 6).
  assertEquals(r.next(), ((5927040 >>> 5) * 2 ** 26 + (70819200 >>> 6)) / 2 ** 53);
  assertEquals(r.nextU32(), 2031721883);
});

Deno.test("Rng.permutation draws all n! orderings evenly, the identity included; int(n) stays in [0, n)", () => {
  const r = new Rng(11);
  const counts = new Map<string, number>();
  const m = 60_000;
  for (let i = 0; i < m; i++) {
    const key = r.permutation(3).join("");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assertEquals([...counts.keys()].sort(), ["012", "021", "102", "120", "201", "210"]);
  // Each ordering has p = 1/6: sd sqrt(m p (1 - p)) = 91; 5 sd = 456.
  for (const [k, c] of counts) assertAlmostEquals(c, m / 6, 456, k);
  const hist = [0, 0, 0];
  for (let i = 0; i < m; i++) hist[r.int(3)]++;
  // int(3) outside [0, 3) would write past hist; each value p = 1/3: sd 115, 5 sd = 577.
  assertEquals(hist.length, 3);
  for (const c of hist) assertAlmostEquals(c, m / 3, 577);
});

Deno.test("Rng(0)'s stream is fixed: the seed's mixing decides every seeded run (--seed reproduces across versions)", () => {
  const r = new Rng(0);
  assertEquals([r.nextU32(), r.nextU32(), r.nextU32()], [1292791899, 1284423797, 2013314966]);
  assertEquals(new Rng(0).next(), 0.30100156589637106);
});

Deno.test("Rng.normal is Marsaglia's polar method: a pair u·m, v·m from one accepted (u, v)", () => {
  const r = new Rng(5);
  const raw = new Rng();
  raw.setState(r.getState());
  const expected: number[] = [];
  while (expected.length < 4) {
    const u = 2 * raw.next() - 1, v = 2 * raw.next() - 1, s = u * u + v * v;
    if (s >= 1 || s === 0) continue;
    const m = Math.sqrt(-2 * Math.log(s) / s);
    expected.push(u * m, v * m);
  }
  assertEquals([r.normal(), r.normal(), r.normal(), r.normal()], expected);
  assertEquals(expected, [
    1.4815329183347128,
    1.7091084266402565,
    0.2964565978384201,
    0.8645671735223545,
  ]);
});

Deno.test("Rng.uniform(lo, hi) is lo + (hi − lo)·next()", () => {
  const r = new Rng(12), same = new Rng(12);
  for (let i = 0; i < 5; i++) assertEquals(r.uniform(2, 5), 2 + 3 * same.next());
});
