import { assertAlmostEquals, assertEquals, assertThrows } from "../_assert.ts";
import { adamStep, sgdStep } from "../../lib/cpu/optim.ts";

// Hand-computed steps are compared to 1e-15 absolute: each value is a handful of Float64
// operations on O(1) numbers, so rounding is a few ulp (~1e-16).
const TOL = 1e-15;

Deno.test("adamStep matches hand-computed first two steps", () => {
  // lr 0.1, β1 0.9, β2 0.999, eps 1e-8, no weight decay, param 1, gradients 0.5 then 0.2.
  // t=1: m = 0.1·0.5 = 0.05, v = 0.001·0.25 = 0.00025, m̂ = 0.05/0.1 = 0.5,
  //      v̂ = 0.00025/0.001 = 0.25, param = 1 − 0.1·0.5/(0.5 + 1e-8) = 0.900000001999999960.
  // t=2: m = 0.045 + 0.02 = 0.065, v = 0.999·0.00025 + 0.001·0.04 = 0.00028975,
  //      m̂ = 0.065/0.19, v̂ = 0.00028975/0.001999, param = 0.81014248390292758594.
  const p = new Float64Array([1]), m = new Float64Array(1), v = new Float64Array(1);
  const opts = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
  adamStep(p, [0.5], m, v, 1, opts);
  assertAlmostEquals(m[0], 0.05, TOL);
  assertAlmostEquals(v[0], 0.00025, TOL);
  assertAlmostEquals(p[0], 0.90000000199999996, TOL);
  adamStep(p, [0.2], m, v, 2, opts);
  assertAlmostEquals(m[0], 0.065, TOL);
  assertAlmostEquals(v[0], 0.00028975, TOL);
  assertAlmostEquals(p[0], 0.81014248390292758594, TOL);
});

Deno.test("adamStep applies L2 weight decay to the gradient as torch.optim.Adam does", () => {
  // lr 0.01, β1 0.8, β2 0.99, eps 1e-3, weight decay 0.1, param −2, gradients −1 then 3.
  // t=1: g = −1 + 0.1·(−2) = −1.2, m = 0.2·(−1.2) = −0.24, v = 0.01·1.44 = 0.0144,
  //      m̂ = −1.2, v̂ = 1.44, param = −2 + 0.01·1.2/(1.2 + 0.001) = −1.99000832639467110741.
  // t=2: g = 3 + 0.1·param = 2.800999167360532889, m = −0.192 + 0.2·g = 0.36819983347210657785,
  //      v = 0.99·0.0144 + 0.01·g² = 0.09271196335554398534, param = −1.99474461955335053327.
  const p = new Float64Array([-2]), m = new Float64Array(1), v = new Float64Array(1);
  const opts = { lr: 0.01, beta1: 0.8, beta2: 0.99, eps: 1e-3, weightDecay: 0.1 };
  adamStep(p, [-1], m, v, 1, opts);
  assertAlmostEquals(m[0], -0.24, TOL);
  assertAlmostEquals(v[0], 0.0144, TOL);
  assertAlmostEquals(p[0], -1.99000832639467110741, TOL);
  adamStep(p, [3], m, v, 2, opts);
  assertAlmostEquals(m[0], 0.36819983347210657785, TOL);
  assertAlmostEquals(v[0], 0.09271196335554398534, TOL);
  assertAlmostEquals(p[0], -1.99474461955335053327, TOL);
});

Deno.test("adamStep minimises an ill-conditioned quadratic, in Float64 and Float32", () => {
  // f(x) = Σ a_i (x_i − c_i)² with curvatures spanning 1e-2..1e2; Adam's per-coordinate
  // scaling should bring every coordinate to c within 1e-3 in 3000 steps.
  const a = [0.01, 0.3, 1, 7, 100], c = [1.5, -2, 0.25, 3, -0.7];
  for (
    const make of [
      (n: number): Float64Array | Float32Array => new Float64Array(n),
      (n: number): Float64Array | Float32Array => new Float32Array(n),
    ]
  ) {
    const x = make(5), m = make(5), v = make(5), g = new Float64Array(5);
    const f = () => Array.from(x).reduce((s, xi, i) => s + a[i] * (xi - c[i]) ** 2, 0);
    const f0 = f();
    for (let t = 1; t <= 3000; t++) {
      for (let i = 0; i < 5; i++) g[i] = 2 * a[i] * (x[i] - c[i]);
      adamStep(x, g, m, v, t, { lr: 0.05 });
    }
    for (let i = 0; i < 5; i++) assertAlmostEquals(x[i], c[i], 1e-3, `coordinate ${i}`);
    assertEquals(f() < 1e-6 * f0, true, `loss ${f()} from ${f0}`);
  }
});

Deno.test("sgdStep matches hand-computed first two steps with momentum, dampening and decay", () => {
  // lr 0.1, momentum 0.9, dampening 0.1, weight decay 0.01, param 1, gradients 0.5 then 0.2.
  // t=1: g = 0.5 + 0.01 = 0.51, buf = g = 0.51 (first step: no dampening), param = 0.949.
  // t=2: g = 0.2 + 0.00949 = 0.20949, buf = 0.9·0.51 + 0.9·0.20949 = 0.647541,
  //      param = 0.949 − 0.0647541 = 0.8842459.
  const p = new Float64Array([1]), buf = new Float64Array(1);
  const opts = { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01, nesterov: false };
  sgdStep(p, [0.5], buf, { ...opts, first: true });
  assertAlmostEquals(buf[0], 0.51, TOL);
  assertAlmostEquals(p[0], 0.949, TOL);
  sgdStep(p, [0.2], buf, { ...opts, first: false });
  assertAlmostEquals(buf[0], 0.647541, TOL);
  assertAlmostEquals(p[0], 0.8842459, TOL);
});

Deno.test("sgdStep with Nesterov momentum matches hand-computed first two steps", () => {
  // lr 0.1, momentum 0.9, param 1, gradients 0.5 then 0.2.
  // t=1: buf = 0.5, step g + 0.9·buf = 0.95, param = 0.905.
  // t=2: buf = 0.45 + 0.2 = 0.65, step 0.2 + 0.585 = 0.785, param = 0.8265.
  const p = new Float64Array([1]), buf = new Float64Array(1);
  const opts = { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: true };
  sgdStep(p, [0.5], buf, { ...opts, first: true });
  assertAlmostEquals(p[0], 0.905, TOL);
  sgdStep(p, [0.2], buf, { ...opts, first: false });
  assertAlmostEquals(buf[0], 0.65, TOL);
  assertAlmostEquals(p[0], 0.8265, TOL);
});

Deno.test("sgdStep without momentum is param −= lr·(grad + wd·param) on Float32 params", () => {
  const p = new Float32Array([1, -2]);
  sgdStep(p, [0.5, 0.25], null, { lr: 0.5, weightDecay: 0.5 });
  // 1 − 0.5·(0.5 + 0.5) = 0.5; −2 − 0.5·(0.25 − 1) = −1.625 (exact in Float32).
  assertEquals(Array.from(p), [0.5, -1.625]);
});

Deno.test("optimiser steps reject bad hyperparameters and lengths", () => {
  const p = new Float64Array(2), z = new Float64Array(2);
  assertThrows(
    () => adamStep(p, z, z, z, 0, { lr: 0.1 }),
    RangeError,
    "step must be an integer >= 1",
  );
  assertThrows(
    () => adamStep(p, z, z, z, 1, { lr: 0.1, beta1: 1 }),
    RangeError,
    "beta1 must be in [0, 1)",
  );
  assertThrows(
    () => adamStep(p, z, new Float64Array(3), z, 1, { lr: 0.1 }),
    TypeError,
    "m must have 2",
  );
  assertThrows(
    () => sgdStep(p, z, null, { lr: 0.1, momentum: 0.9 }),
    TypeError,
    "buf must be an array",
  );
  assertThrows(
    () => sgdStep(p, z, z, { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }),
    RangeError,
    "nesterov needs momentum > 0 and dampening 0",
  );
  assertThrows(() => sgdStep(p, z, null, { lr: -1 }), RangeError, "lr must be in [0, Infinity)");
});

Deno.test("sgdStep accepts dampening 1 (torch.optim.SGD's closed range): later gradients drop out", () => {
  // lr 0.5, momentum 0.5, dampening 1, param 1, gradients 2 then 4.
  // t=1: buf = 2 (first step: no dampening), param = 1 − 0.5·2 = 0.
  // t=2: buf = 0.5·2 + 0·4 = 1, param = 0 − 0.5·1 = −0.5.
  const p = new Float64Array([1]), buf = new Float64Array(1);
  const opts = { lr: 0.5, momentum: 0.5, dampening: 1 };
  sgdStep(p, [2], buf, { ...opts, first: true });
  assertAlmostEquals(p[0], 0, TOL);
  sgdStep(p, [4], buf, { ...opts, first: false });
  assertAlmostEquals(buf[0], 1, TOL);
  assertAlmostEquals(p[0], -0.5, TOL);
});
