// General matrix multiply on Float64Array views, shared by dense.ts and conv.ts.
// Private. Plain loops; the only tricks are keeping every array a Float64Array (monomorphic
// element access) and unrolling the reduction by 4 so each pass over a row of C does 8 flops
// per load/store of C instead of 2.

/**
 * C[m,n] (+)= op(A)·op(B), all row-major and contiguous from their offsets.
 *
 * op(A) is [m,k]: A is stored [m,k], or [k,m] when `transA`.
 * op(B) is [k,n]: B is stored [k,n], or [n,k] when `transB`.
 * When `accumulate` is false C is overwritten; otherwise the product is added to it.
 * C must not overlap A or B.
 */
export function gemm(
  m: number,
  n: number,
  k: number,
  a: Float64Array,
  aOff: number,
  transA: boolean,
  b: Float64Array,
  bOff: number,
  transB: boolean,
  c: Float64Array,
  cOff: number,
  accumulate: boolean,
): void {
  if (!accumulate) c.fill(0, cOff, cOff + m * n);
  if (k === 0) return;
  if (!transB) {
    // Row of C += A(i,p) · row p of B: inner loop runs along contiguous rows of B and C.
    const sai = transA ? 1 : k; // stride of A(i,·) between rows i
    const sap = transA ? m : 1; // stride of A(·,p) between columns p
    const k4 = k - (k % 4);
    for (let i = 0; i < m; i++) {
      const ci = cOff + i * n;
      const ai = aOff + i * sai;
      let p = 0;
      for (; p < k4; p += 4) {
        const a0 = a[ai + p * sap], a1 = a[ai + (p + 1) * sap];
        const a2 = a[ai + (p + 2) * sap], a3 = a[ai + (p + 3) * sap];
        const b0 = bOff + p * n, b1 = b0 + n, b2 = b1 + n, b3 = b2 + n;
        for (let j = 0; j < n; j++) {
          c[ci + j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
        }
      }
      for (; p < k; p++) {
        const a0 = a[ai + p * sap];
        const b0 = bOff + p * n;
        for (let j = 0; j < n; j++) c[ci + j] += a0 * b[b0 + j];
      }
    }
    return;
  }
  if (!transA) {
    // C(i,j) = dot(row i of A, row j of B): both contiguous. Four dots share each load of A.
    const n4 = n - (n % 4);
    for (let i = 0; i < m; i++) {
      const ci = cOff + i * n;
      const ai = aOff + i * k;
      let j = 0;
      for (; j < n4; j += 4) {
        const b0 = bOff + j * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let p = 0; p < k; p++) {
          const av = a[ai + p];
          s0 += av * b[b0 + p];
          s1 += av * b[b1 + p];
          s2 += av * b[b2 + p];
          s3 += av * b[b3 + p];
        }
        c[ci + j] += s0;
        c[ci + j + 1] += s1;
        c[ci + j + 2] += s2;
        c[ci + j + 3] += s3;
      }
      for (; j < n; j++) {
        const b0 = bOff + j * k;
        let s = 0;
        for (let p = 0; p < k; p++) s += a[ai + p] * b[b0 + p];
        c[ci + j] += s;
      }
    }
    return;
  }
  // Both transposed (rare): C(i,j) = Σ_p A[p,i]·B[j,p].
  for (let i = 0; i < m; i++) {
    const ci = cOff + i * n;
    for (let j = 0; j < n; j++) {
      const b0 = bOff + j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += a[aOff + p * m + i] * b[b0 + p];
      c[ci + j] += s;
    }
  }
}
