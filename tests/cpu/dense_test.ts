import { assertClose, assertEquals, assertThrows } from "../_assert.ts";
import { linear, linearInputGrad, linearWeightGrad, matmul, sumRows } from "../../lib/cpu/dense.ts";
import { checkGrad, randomArray } from "../../lib/cpu/gradcheck.ts";

// Products of k <= 13 terms of magnitude <= 4 summed in different orders: rounding ~1e-14.
const FWD_ATOL = 1e-12, FWD_RTOL = 1e-12;
// L = Σ r ⊙ y is linear in x, w and b: central differences carry only rounding error,
// ~2^-52·Σ|terms| / eps ≈ 2e-16·100 / 1e-6 = 2e-8.
const GRAD = { eps: 1e-6, atol: 1e-6, rtol: 1e-5 };

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

function naiveMatmul(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
  ta: boolean,
  tb: boolean,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        s += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
      }
      c[i * n + j] = s;
    }
  }
  return c;
}

Deno.test("matmul matches the triple loop for every transposition and odd sizes", () => {
  // k = 7 and 13 exercise both the 4-way unrolled part and the remainder; n = 5, 9 likewise.
  for (const [m, k, n] of [[3, 7, 5], [1, 13, 9], [6, 1, 1], [4, 4, 4]]) {
    const a = randomArray(m * k, m + k), b = randomArray(k * n, k + n);
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        assertClose(
          matmul(a, b, m, k, n, { transA: ta, transB: tb }),
          naiveMatmul(a, b, m, k, n, ta, tb),
          FWD_ATOL,
          FWD_RTOL,
          `m ${m} k ${k} n ${n} transA ${ta} transB ${tb}`,
        );
      }
    }
  }
});

Deno.test("linear matches a hand-computed example", () => {
  // x = [[1, 2], [−1, 0.5]], w = [[1, 1], [1, −1], [0, 2]], b = [0, 10, 100]:
  // row 0: [1 + 2, 1 − 2 + 10, 4 + 100] = [3, 9, 104]; row 1: [−0.5, 8.5, 101].
  const y = linear([1, 2, -1, 0.5], [1, 1, 1, -1, 0, 2], [0, 10, 100], 2, 2, 3);
  assertEquals(Array.from(y), [3, 9, 104, -0.5, 8.5, 101]);
});

for (const [n, inF, outF] of [[1, 5, 3], [3, 7, 2], [4, 13, 9]]) {
  const x = randomArray(n * inF, 1 + n), w = randomArray(outF * inF, 2 + n);
  const b = randomArray(outF, 3 + n), r = randomArray(n * outF, 4 + n);
  const tag = `n ${n}, ${inF} → ${outF}`;

  Deno.test(`linear matches matmul with transposed weights plus bias: ${tag}`, () => {
    const ref = naiveMatmul(x, w, n, inF, outF, false, true);
    for (let i = 0; i < n; i++) for (let o = 0; o < outF; o++) ref[i * outF + o] += b[o];
    assertClose(linear(x, w, b, n, inF, outF), ref, FWD_ATOL, FWD_RTOL);
  });

  Deno.test(`linear gradients match central differences: ${tag}`, () => {
    checkGrad(
      (v) => dot(r, linear(v, w, b, n, inF, outF)),
      linearInputGrad(r, w, n, inF, outF),
      x.slice(),
      GRAD,
    );
    checkGrad(
      (v) => dot(r, linear(x, v, b, n, inF, outF)),
      linearWeightGrad(x, r, n, inF, outF),
      w.slice(),
      GRAD,
    );
    checkGrad((v) => dot(r, linear(x, w, v, n, inF, outF)), sumRows(r, n, outF), b.slice(), GRAD);
  });
}

Deno.test("dense ops write into out and reject bad sizes", () => {
  const out = new Float64Array(4).fill(9);
  assertEquals(matmul([1, 2, 3, 4], [1, 0, 0, 1], 2, 2, 2, {}, out) === out, true);
  assertEquals(Array.from(out), [1, 2, 3, 4]);
  assertThrows(() => matmul([1, 2, 3], [1], 2, 2, 1), TypeError, "a must have 4 elements");
  assertThrows(() => matmul([1], [1], 0, 1, 1), TypeError, "m must be a positive integer");
  assertThrows(() => linear([1, 2], [1, 2], [1, 2], 1, 2, 1), TypeError, "b must have 1");
  assertThrows(() => sumRows([1, 2, 3], 2, 2), TypeError, "a must have 4 elements");
});

Deno.test("linear's gradients overwrite a non-zero out instead of adding to it", () => {
  // x = [[1, 2]], gy = [[3]], w = [[5, 7]] (n 1, inF 2, outF 1): by hand gw = gyᵀ·x = [3, 6]
  // and gx = gy·w = [15, 21], exact in Float64; out starts at 100 to show any accumulation.
  const gw = new Float64Array(2).fill(100), gx = new Float64Array(2).fill(100);
  assertEquals(Array.from(linearWeightGrad([1, 2], [3], 1, 2, 1, gw)), [3, 6]);
  assertEquals(Array.from(linearInputGrad([3], [5, 7], 1, 2, 1, gx)), [15, 21]);
  const gs = new Float64Array(2).fill(100);
  assertEquals(Array.from(sumRows([1, 2, 3, 4], 2, 2, gs)), [4, 6]);
});
