/**
 * demean and detrendLinear (lib/signal/detrend.ts) against exact least-squares residuals,
 * computed once with Python's fractions (numpy.polyfit(arange(n), x, 1) agrees to 1e-15 on the
 * well-conditioned cases; on the 1e9 offset its normal equations lose 1e-7).
 */
import { assertClose, assertEquals, assertThrows } from "../_assert.ts";
import { demean, detrendLinear } from "../../lib/signal/detrend.ts";

/** [name, samples, exact residuals x − (a + b·i)]. */
const CASES: [string, number[], number[]][] = [
  ["odd length 7 (slope 2/7)", [3, -1, 4, 1, -5, 9, 2], [
    2.0,
    -2.2857142857142856,
    2.4285714285714284,
    -0.8571428571428571,
    -7.142857142857143,
    6.571428571428571,
    -0.7142857142857143,
  ]],
  ["even length 6 (slope 79/140)", [0.5, 2.25, -1.75, 3, 8.5, -0.25], [
    -0.13095238095238096,
    1.0547619047619048,
    -3.5095238095238095,
    0.6761904761904762,
    5.6119047619047615,
    -3.7023809523809526,
  ]],
  ["length 3 (slope 3/2)", [2, -1, 5], [1.5, -3, 1.5]],
  // A large offset (counts of a digitiser with a DC level): the fit is centred, so the offset
  // costs no precision beyond the samples' own rounding (ulp(1e9) = 1.2e-7).
  ["offset 1e9, length 5 (slope 11/40)", [1e9 + 1, 1e9 + 3.5, 1e9 - 2, 1e9 + 7.25, 1e9 + 0.5], [
    -0.5,
    1.725,
    -4.05,
    4.925,
    -2.1,
  ]],
];

for (const [name, x, want] of CASES) {
  Deno.test(`detrendLinear removes the exact least-squares line: ${name}`, () => {
    const a = Float64Array.from(x);
    const out = detrendLinear(a);
    assertEquals(out, a, "in place");
    // Rounding of a few operations on values of size |x|: a few ulp of the largest sample.
    const tol = 8 * Number.EPSILON * Math.max(...x.map(Math.abs));
    assertClose(out, want, tol, 0, name);
    // Residuals of a least-squares line are orthogonal to 1 and to the index.
    let s = 0, st = 0;
    for (let i = 0; i < out.length; i++) [s, st] = [s + out[i], st + i * out[i]];
    assertClose([s, st], [0, 0], tol * out.length ** 2, 0, `${name}: normal equations`);
  });
}

Deno.test("detrendLinear of a line plus a constant leaves 0; of 1 and 2 samples leaves 0", () => {
  const line = Float64Array.from({ length: 101 }, (_, i) => -7.5 + 0.03 * i);
  assertClose(detrendLinear(line), new Float64Array(101), 1e-13, 0, "line");
  assertEquals(Array.from(detrendLinear(Float64Array.of(5))), [0], "one sample: its mean");
  assertClose(detrendLinear(Float64Array.of(1, 4)), [0, 0], 1e-15, 0, "two: the line through them");
  assertEquals(detrendLinear(new Float64Array(0)).length, 0, "empty");
});

Deno.test("detrendLinear and demean refuse NaN and infinite samples, naming the sample", () => {
  for (const [i, bad] of [[2, NaN], [0, Infinity], [4, -Infinity]] as const) {
    const x = Float64Array.of(1, 2, 3, 4, 5);
    x[i] = bad;
    assertThrows(
      () => detrendLinear(x.slice()),
      RangeError,
      `Cannot detrend: sample ${i} of 5 is ${bad}: expected finite values`,
    );
    assertThrows(() => demean(x.slice()), RangeError, `Cannot demean: sample ${i} of 5 is ${bad}`);
  }
  assertThrows(() => detrendLinear(Float64Array.of(NaN)), RangeError, "sample 0 of 1 is NaN");
});
