/**
 * Dense (fully connected) algebra in Float64: matrix multiply and PyTorch `Linear` with its
 * gradients. Matrices are row-major; Linear weights are `[outFeatures, inFeatures]`.
 *
 * @module
 */

import { checkLength, checkSize, f64, output } from "./_check.ts";
import { gemm } from "./_gemm.ts";

/** Transposition flags of {@linkcode matmul}. */
export interface MatmulOptions {
  /** Read `a` as stored `[k, m]` and use its transpose. */
  transA?: boolean;
  /** Read `b` as stored `[n, k]` and use its transpose. */
  transB?: boolean;
}

/**
 * Matrix product `C = op(A)·op(B)` with op(A) `[m, k]` and op(B) `[k, n]`.
 *
 * @param a A, stored `[m, k]` (or `[k, m]` when `opts.transA`).
 * @param b B, stored `[k, n]` (or `[n, k]` when `opts.transB`).
 * @param m Rows of C.
 * @param k Inner dimension.
 * @param n Columns of C.
 * @param opts Transposition flags.
 * @param out Optional destination of length m·n, overwritten; must not alias a or b.
 * @returns C, `[m, n]`.
 * @throws {TypeError} if a size is not a positive integer or a length does not match.
 * @example
 * ```ts
 * import { matmul } from "./dense.ts";
 * const c = matmul([1, 2, 3, 4], [5, 6, 7, 8], 2, 2, 2); // [[1,2],[3,4]]·[[5,6],[7,8]]
 * if (c.join() !== "19,22,43,50") throw new Error(String(c));
 * ```
 */
export function matmul(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
  opts: MatmulOptions = {},
  out?: Float64Array,
): Float64Array {
  const op = "matmul";
  checkSize(op, "m", m);
  checkSize(op, "k", k);
  checkSize(op, "n", n);
  checkLength(op, "a", a, m * k, opts.transA ? `[${k},${m}]` : `[${m},${k}]`);
  checkLength(op, "b", b, k * n, opts.transB ? `[${n},${k}]` : `[${k},${n}]`);
  const c = output(op, out, m * n);
  gemm(m, n, k, f64(a), 0, !!opts.transA, f64(b), 0, !!opts.transB, c, 0, false);
  return c;
}

/**
 * PyTorch `Linear`: `y = x·wᵀ + b`, `y[i,o] = b[o] + Σ_f x[i,f]·w[o,f]`.
 *
 * @param x Input `[n, inF]`.
 * @param w Weights `[outF, inF]`.
 * @param b Bias of length outF, or null.
 * @param n Batch size (rows of x).
 * @param inF Input features.
 * @param outF Output features.
 * @param out Optional destination of length n·outF, overwritten.
 * @returns y, `[n, outF]`.
 * @throws {TypeError} if a size is not a positive integer or a length does not match.
 * @example
 * ```ts
 * import { linear } from "./dense.ts";
 * const y = linear([1, 2], [1, 1, 1, -1, 0, 2], [0, 10, 100], 1, 2, 3);
 * if (y.join() !== "3,9,104") throw new Error(String(y));
 * ```
 */
export function linear(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number> | null,
  n: number,
  inF: number,
  outF: number,
  out?: Float64Array,
): Float64Array {
  const op = "linear";
  checkSizes(op, n, inF, outF);
  checkLength(op, "x", x, n * inF, `[${n},${inF}]`);
  checkLength(op, "w", w, outF * inF, `[${outF},${inF}]`);
  if (b !== null && b !== undefined) checkLength(op, "b", b, outF, "the output features");
  const y = output(op, out, n * outF);
  gemm(n, outF, inF, f64(x), 0, false, f64(w), 0, true, y, 0, false);
  if (b) {
    const B = f64(b);
    for (let i = 0; i < n; i++) {
      const r = i * outF;
      for (let o = 0; o < outF; o++) y[r + o] += B[o];
    }
  }
  return y;
}

/**
 * Gradient of {@linkcode linear} with respect to its input: `gx = gy·w`.
 *
 * @param gy Gradient with respect to y, `[n, outF]`.
 * @param w Weights `[outF, inF]`.
 * @param n Batch size.
 * @param inF Input features.
 * @param outF Output features.
 * @param out Optional destination of length n·inF, overwritten.
 * @returns gx, `[n, inF]`.
 * @throws {TypeError} if a size is not a positive integer or a length does not match.
 */
export function linearInputGrad(
  gy: ArrayLike<number>,
  w: ArrayLike<number>,
  n: number,
  inF: number,
  outF: number,
  out?: Float64Array,
): Float64Array {
  const op = "linearInputGrad";
  checkSizes(op, n, inF, outF);
  checkLength(op, "gy", gy, n * outF, `[${n},${outF}]`);
  checkLength(op, "w", w, outF * inF, `[${outF},${inF}]`);
  const gx = output(op, out, n * inF);
  gemm(n, inF, outF, f64(gy), 0, false, f64(w), 0, false, gx, 0, false);
  return gx;
}

/**
 * Gradient of {@linkcode linear} with respect to its weights: `gw = gyᵀ·x`.
 *
 * @param x Forward input `[n, inF]`.
 * @param gy Gradient with respect to y, `[n, outF]`.
 * @param n Batch size.
 * @param inF Input features.
 * @param outF Output features.
 * @param out Optional destination of length outF·inF, overwritten.
 * @returns gw, `[outF, inF]`.
 * @throws {TypeError} if a size is not a positive integer or a length does not match.
 */
export function linearWeightGrad(
  x: ArrayLike<number>,
  gy: ArrayLike<number>,
  n: number,
  inF: number,
  outF: number,
  out?: Float64Array,
): Float64Array {
  const op = "linearWeightGrad";
  checkSizes(op, n, inF, outF);
  checkLength(op, "x", x, n * inF, `[${n},${inF}]`);
  checkLength(op, "gy", gy, n * outF, `[${n},${outF}]`);
  const gw = output(op, out, outF * inF);
  gemm(outF, inF, n, f64(gy), 0, true, f64(x), 0, false, gw, 0, false);
  return gw;
}

/**
 * Column sums of a `[rows, cols]` matrix: `s[j] = Σ_i a[i,j]`. This is the bias gradient of
 * {@linkcode linear} (with rows = n, cols = outF).
 *
 * @param a Matrix `[rows, cols]`.
 * @param rows Number of rows.
 * @param cols Number of columns.
 * @param out Optional destination of length cols, overwritten.
 * @returns s of length cols.
 * @throws {TypeError} if a size is not a positive integer or the length does not match.
 * @example
 * ```ts
 * import { sumRows } from "./dense.ts";
 * if (sumRows([1, 2, 3, 4, 5, 6], 2, 3).join() !== "5,7,9") throw new Error();
 * ```
 */
export function sumRows(
  a: ArrayLike<number>,
  rows: number,
  cols: number,
  out?: Float64Array,
): Float64Array {
  const op = "sumRows";
  checkSize(op, "rows", rows);
  checkSize(op, "cols", cols);
  checkLength(op, "a", a, rows * cols, `[${rows},${cols}]`);
  const s = output(op, out, cols);
  s.fill(0);
  const A = f64(a);
  for (let i = 0; i < rows; i++) {
    const r = i * cols;
    for (let j = 0; j < cols; j++) s[j] += A[r + j];
  }
  return s;
}

function checkSizes(op: string, n: number, inF: number, outF: number): void {
  checkSize(op, "n", n);
  checkSize(op, "inF", inF);
  checkSize(op, "outF", outF);
}
