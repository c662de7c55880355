import { assertAlmostEquals, assertEquals, assertThrows } from "../_assert.ts";
import { checkGrad, numericGrad, randomArray } from "../../lib/cpu/gradcheck.ts";

const f = (x: Float64Array) => Math.sin(x[0]) * x[1] + x[2] ** 3;
const grad = (x: Float64Array) =>
  new Float64Array([Math.cos(x[0]) * x[1], Math.sin(x[0]), 3 * x[2] ** 2]);

Deno.test("numericGrad matches an analytic gradient and restores x exactly", () => {
  const x = randomArray(3, 5), x0 = x.slice();
  const g = numericGrad(f, x);
  // Central differences with eps 1e-6 on O(1) smooth functions: error ~1e-10 (see JSDoc).
  const exact = grad(x);
  for (let i = 0; i < 3; i++) assertAlmostEquals(g[i], exact[i], 1e-8);
  assertEquals(x, x0);
});

Deno.test("checkGrad passes a correct gradient and throws on a wrong one", () => {
  const x = randomArray(3, 6);
  const ok = checkGrad(f, grad(x), x);
  assertEquals(ok.maxAbsErr < 1e-8, true);
  const bad = grad(x);
  bad[1] += 1e-3;
  assertThrows(() => checkGrad(f, bad, x), Error, "Gradient check failed: coordinate 1");
  // A loose tolerance accepts it and reports the error.
  const r = checkGrad(f, bad, x, { atol: 1e-2 });
  assertEquals(r.worstIndex, 1);
  assertAlmostEquals(r.maxAbsErr, 1e-3, 1e-8);
});

Deno.test("checkGrad with sample checks only that many seeded coordinates", () => {
  const n = 50, x = randomArray(n, 7);
  let calls = 0;
  const g = (v: Float64Array) => {
    calls++;
    return v.reduce((s, t) => s + t * t, 0);
  };
  const analytic = x.map((t) => 2 * t);
  checkGrad(g, analytic, x, { sample: 8 });
  assertEquals(calls, 16);
  // Corrupting a coordinate is caught when the whole vector is checked.
  analytic[3] = 0;
  assertThrows(() => checkGrad(g, analytic, x), Error, "coordinate 3");
});

Deno.test("randomArray is seeded and bounded", () => {
  assertEquals(randomArray(10, 3), randomArray(10, 3));
  const a = randomArray(1000, 4, 5, 6);
  assertEquals(a.every((v) => v >= 5 && v < 6), true);
  assertThrows(() => numericGrad(f, randomArray(3, 1), 0), RangeError, "eps must be > 0");
});

Deno.test("checkGrad passes an error of exactly atol (the bound is inclusive)", () => {
  // f(x) = x at x = 0 with eps 0.5: the central difference is (0.5 − (−0.5)) / 1 = 1 exactly,
  // so analytic 1.5 is off by exactly 0.5 = atol (rtol 0), and 1.5 + 2^-52 is just beyond it.
  const f = (x: Float64Array) => x[0];
  const r = checkGrad(f, [1.5], new Float64Array([0]), { eps: 0.5, atol: 0.5, rtol: 0 });
  assertEquals(r.maxAbsErr, 0.5);
  assertThrows(
    () => checkGrad(f, [1.5 + 2 ** -51], new Float64Array([0]), { eps: 0.5, atol: 0.5, rtol: 0 }),
    Error,
    "Gradient check failed",
  );
});

Deno.test("checkGrad scales rtol by the numeric gradient, not the analytic one", () => {
  // f(x) = x at x = 0, eps 0.5: numeric 1 exactly. Analytic 1.5 is off by 0.5, more than
  // rtol 0.4·|numeric| = 0.4 (atol 0), though less than 0.4·|analytic| = 0.6: it fails.
  const f = (x: Float64Array) => x[0];
  assertThrows(
    () => checkGrad(f, [1.5], new Float64Array([0]), { eps: 0.5, atol: 0, rtol: 0.4 }),
    Error,
    "Gradient check failed",
  );
  // Analytic 0.7 is off by 0.3 <= 0.4: it passes (0.4·|analytic| = 0.28 would not).
  checkGrad(f, [0.7], new Float64Array([0]), { eps: 0.5, atol: 0, rtol: 0.4 });
});
