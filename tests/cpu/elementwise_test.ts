import { assertAlmostEquals, assertClose, assertEquals, assertThrows } from "../_assert.ts";
import {
  add,
  axpy,
  crop2d,
  crop2dGrad,
  leakyRelu,
  leakyReluGrad,
  mean,
  mseLoss,
  mseLossGrad,
  mul,
  scale,
  sub,
  sum,
  sumAxis,
} from "../../lib/cpu/elementwise.ts";
import { checkGrad, randomArray } from "../../lib/cpu/gradcheck.ts";

// Gradient tolerances: the losses below are linear or quadratic in their input, so central
// differences have no truncation error (the third derivative is 0) and only rounding remains,
// ~2^-52·|L| / eps ≈ 1e-9 here. Leaky ReLU is piecewise linear; no input lies within eps of
// its kink at 0 (asserted), so the same holds.
const GRAD = { eps: 1e-6, atol: 1e-6, rtol: 1e-5 };

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

Deno.test("leakyRelu and its gradient follow PyTorch, taking the slope at 0", () => {
  assertEquals(Array.from(leakyRelu([-3, -0.5, 0, 0.5, 3], 0.02)), [-0.06, -0.01, 0, 0.5, 3]);
  assertEquals(Array.from(leakyReluGrad([-3, 0, 3], [1, 1, 1], 0.02)), [0.02, 0.02, 1]);
});

Deno.test("leakyRelu gradient matches central differences", () => {
  const x = randomArray(101, 1), r = randomArray(101, 2);
  assertEquals(x.every((v) => Math.abs(v) > 1e-4), true, "an input is too close to the kink");
  checkGrad((v) => dot(r, leakyRelu(v, 0.02)), leakyReluGrad(x, r, 0.02), x.slice(), GRAD);
});

Deno.test("mseLoss and its gradient match hand values and central differences", () => {
  // ((1 − 0)² + (2 − 4)² + (−1 − 0)²)/3 = 2; gradient 2·[1, −2, −1]/3, scaled by gLoss 1.5.
  assertEquals(mseLoss([1, 2, -1], [0, 4, 0]), 2);
  assertClose(mseLossGrad([1, 2, -1], [0, 4, 0], 1.5), [1, -2, -1], 1e-15, 0);
  const pred = randomArray(37, 3), target = randomArray(37, 4);
  checkGrad((v) => mseLoss(v, target), mseLossGrad(pred, target), pred.slice(), GRAD);
  checkGrad((v) => 0.7 * mseLoss(v, target), mseLossGrad(pred, target, 0.7), pred.slice(), GRAD);
});

Deno.test("crop2d removes [top, bottom, left, right] like x[:, :, t:H-b, l:W-r]", () => {
  // shape [2, 1, 3, 4], values 0..23; crop [1, 0, 1, 2] keeps rows 1..2 and column 1.
  const x = Float64Array.from({ length: 24 }, (_, i) => i);
  assertEquals(Array.from(crop2d(x, [2, 1, 3, 4], [1, 0, 1, 2])), [5, 9, 17, 21]);
  // The seed autoencoder crop [1:-1, 1:-1] of an 89x69 output gives 87x67.
  const y = crop2d(new Float64Array(89 * 69), [1, 1, 89, 69], [1, 1, 1, 1]);
  assertEquals(y.length, 87 * 67);
});

Deno.test("crop2d gradient matches central differences and zero-pads the border", () => {
  const shape = [3, 2, 5, 4], crop = [1, 2, 0, 1];
  const x = randomArray(3 * 2 * 5 * 4, 5), r = randomArray(3 * 2 * 2 * 3, 6);
  const gx = crop2dGrad(r, shape, crop);
  checkGrad((v) => dot(r, crop2d(v, shape, crop)), gx, x.slice(), GRAD);
  assertEquals(gx[0], 0); // row 0 is cropped away
  assertEquals(gx[4], r[0]); // row 1, column 0 is the first kept element
});

Deno.test("sumAxis matches direct sums on every axis of a 3-D tensor", () => {
  const shape = [2, 3, 4], x = randomArray(24, 7);
  const at = (i: number, j: number, k: number) => x[(i * 3 + j) * 4 + k];
  const e0 = [], e1 = [], e2 = [];
  for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) e0.push(at(0, j, k) + at(1, j, k));
  for (let i = 0; i < 2; i++) {
    for (let k = 0; k < 4; k++) e1.push(at(i, 0, k) + at(i, 1, k) + at(i, 2, k));
  }
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 3; j++) e2.push(at(i, j, 0) + at(i, j, 1) + at(i, j, 2) + at(i, j, 3));
  }
  assertClose(sumAxis(x, shape, 0), e0, 1e-15, 0);
  assertClose(sumAxis(x, shape, 1), e1, 1e-15, 0);
  assertClose(sumAxis(x, shape, 2), e2, 1e-15, 0);
  assertClose(sumAxis(x, shape, -1), e2, 1e-15, 0);
  assertThrows(() => sumAxis(x, shape, 3), RangeError, "axis must be an integer in [-3, 2]");
});

Deno.test("sum, mean and vector arithmetic give hand-computed values", () => {
  assertEquals(sum([1, 2, 3.5]), 6.5);
  assertEquals(mean([1, 2, 6]), 3);
  assertEquals(Array.from(add([1, 2], [3, 4])), [4, 6]);
  assertEquals(Array.from(sub([1, 2], [3, 5])), [-2, -3]);
  assertEquals(Array.from(mul([1, 2], [3, 4])), [3, 8]);
  assertEquals(Array.from(scale([1, 2], -2)), [-2, -4]);
  const y = new Float32Array([1, 1]);
  axpy(0.5, [2, 4], y);
  assertEquals(Array.from(y), [2, 3]);
  // out may alias an input for elementwise ops.
  const a = new Float64Array([1, 2]);
  assertEquals(add(a, [1, 1], a) === a, true);
  assertAlmostEquals(a[1], 3, 0);
});

Deno.test("elementwise ops reject mismatched lengths and bad crops", () => {
  assertThrows(() => add([1, 2], [1]), TypeError, "Cannot run add: b must have 2 elements");
  assertThrows(() => mseLoss([], []), TypeError, "must not be empty");
  assertThrows(() => leakyRelu([1], NaN), RangeError, "slope must be a finite number");
  assertThrows(
    () => crop2d(new Float64Array(9), [1, 1, 3, 3], [1, 2, 0, 0]),
    RangeError,
    "at least one row",
  );
  assertThrows(
    () => crop2d(new Float64Array(9), [1, 1, 3, 3], [-1, 0, 0, 0]),
    RangeError,
    "crop must be >= 0",
  );
  assertThrows(
    () => crop2dGrad(new Float64Array(3), [1, 1, 3, 3], [1, 0, 0, 0]),
    TypeError,
    "gy must have 6",
  );
});

Deno.test("crop2dGrad overwrites a non-zero out: the cropped-away border is zero", () => {
  // [1, 1, 3, 3] cropped by [1, 0, 0, 1] keeps rows 1–2, columns 0–1: gy [[1, 2], [3, 4]]
  // lands there and every other value is 0, even with out starting at 9.
  const out = new Float64Array(9).fill(9);
  assertEquals(Array.from(crop2dGrad([1, 2, 3, 4], [1, 1, 3, 3], [1, 0, 0, 1], out)), [
    0,
    0,
    0,
    1,
    2,
    0,
    3,
    4,
    0,
  ]);
});
