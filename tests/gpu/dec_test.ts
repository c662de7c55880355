/**
 * The DEC kernels (dec.wgsl): soft assignment, target distribution, KL loss and its
 * gradients with respect to z and mu, against the Float64 reference.
 */
import * as C from "../../lib/cpu/mod.ts";
import { backendNamed } from "../../lib/tensor/backends.ts";
import * as ops from "../../lib/tensor/ops.ts";
import { assert } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import { close, dirtyPool, gt, rand, readAll, webgpu } from "./_util.ts";

// WGSL's f32 exp and log are accurate to a few ULP (exp: 3 + 2|x| ULP, |x| <= ~10 here), so q
// and p carry a relative error of ~25·2^-23 ≈ 3e-6 at worst; they lie in [0, 1], hence
// atol 4e-6 for them. The KL loss sums N·K terms p·(log p − log q) of size <= ~5 with the
// same relative error: rtol 1e-4 with a small atol for losses near zero.
const Q_ATOL = 4e-6;

/** Cases [N, K, D, alpha, spread of z]: N not a multiple of 64, K and D not multiples of 4. */
const CASES: [number, number, number, number, number][] = [
  [70, 5, 9, 1, 2],
  [1, 3, 2, 1, 2],
  [131, 7, 3, 2.5, 2],
  // Many rows: col_sum and grad_mu reduce 16 rows per invocation, then across 64.
  [1000, 6, 10, 1, 2],
  // Far points: log-space normalisation must keep rows finite and normalised.
  [9, 4, 5, 1, 200],
];

gpuTest("soft assignment and target distribution match reference; rows sum to 1", async () => {
  await webgpu();
  for (const [c, [n, k, d, alpha, spread]] of CASES.entries()) {
    const z = rand(n * d, 3000 + 10 * c, -spread, spread), mu = rand(k * d, 3001 + 10 * c);
    dirtyPool(n * k);
    const Z = gt(z, [n, d]), MU = gt(mu, [k, d]);
    const q = ops.softAssign(Z, MU, alpha);
    const p = ops.targetDistribution(q);
    const [qo, po] = await readAll([q, p]);
    for (const t of [Z, MU, q, p]) t.dispose();
    const tag = `N ${n} K ${k} D ${d} alpha ${alpha} spread ${spread}`;
    const qRef = C.softAssign(z, mu, n, k, d, alpha);
    close(qo, qRef, Q_ATOL, `${tag}: q`);
    // p from the GPU's own q, so that only the target kernel is under test here.
    close(po, C.targetDistribution(qo, n, k), Q_ATOL, `${tag}: p`);
    for (let i = 0; i < n; i++) {
      let sq = 0, sp = 0;
      for (let j = 0; j < k; j++) {
        sq += qo[i * k + j];
        sp += po[i * k + j];
      }
      assert(Math.abs(sq - 1) < 1e-5 && Math.abs(sp - 1) < 1e-5, `${tag}: row ${i} sums`);
    }
  }
});

gpuTest("target distribution sharpens q: each row's largest share grows", async () => {
  await webgpu();
  const [n, k, d] = [40, 4, 3];
  const q = ops.softAssign(gt(rand(n * d, 3100), [n, d]), gt(rand(k * d, 3101), [k, d]), 1);
  const p = ops.targetDistribution(q);
  const [qo, po] = await readAll([q, p]);
  let sharper = 0;
  for (let i = 0; i < n; i++) {
    const row = (a: Float32Array) => Array.from(a.subarray(i * k, i * k + k));
    if (Math.max(...row(po)) > Math.max(...row(qo))) sharper++;
  }
  // p_ij ∝ q_ij²/f_j: squaring sharpens every row unless the column frequencies f
  // counteract it, which random data does for few rows.
  assert(sharper >= 0.9 * n, `only ${sharper} of ${n} rows got sharper`);
});

gpuTest("KL loss and its gradients wrt z and mu match reference", async () => {
  await webgpu();
  const be = backendNamed("webgpu");
  for (const [c, [n, k, d, alpha, spread]] of CASES.slice(0, 4).entries()) {
    const z = rand(n * d, 3200 + 10 * c, -spread, spread), mu = rand(k * d, 3201 + 10 * c);
    // p: a target distribution of perturbed assignments, so p ≠ q and the gradient is not 0.
    const pRef = C.targetDistribution(
      C.softAssign(z.map((v) => 0.8 * v), mu, n, k, d, alpha),
      n,
      k,
    );
    const Z = gt(z, [n, d], true), MU = gt(mu, [k, d], true), P = gt(pRef, [n, k]);
    const { loss, q } = ops.decKlLoss(Z, MU, P, alpha);
    loss.backward();
    const GL = gt([-0.5], [1]);
    const [gz2, gmu2] = be.klGrad(Z, MU, P, q, GL, alpha, true, true);
    const out = await readAll([loss, q, Z.grad!, MU.grad!, gz2!, gmu2!]);
    for (const t of [Z, MU, P, loss, q, GL, gz2!, gmu2!, Z.grad!, MU.grad!]) t.dispose();
    const tag = `N ${n} K ${k} D ${d} alpha ${alpha}`;
    // Reference: with p rounded to f32 as the GPU sees it, and q from the reference.
    const p32 = Float64Array.from(Float32Array.from(pRef));
    const qRef = C.softAssign(z, mu, n, k, d, alpha);
    const klRef = C.klDivergence(p32, qRef, n, k);
    close(out[0], [klRef], 1e-6, `${tag}: KL`, 1e-4);
    close(out[1], qRef, Q_ATOL, `${tag}: q`);
    const { gz, gmu } = C.klGrad(z, mu, p32, qRef, n, k, d, alpha);
    // gz sums K terms and gmu N terms of size <= c·|z − mu| ≈ ((α+1)/α)/N·4 with the
    // relative error of q; atol: 1e-4 of the largest gradient entry (a relative 1e-4 from
    // the ~6e-6 relative error of q plus the N-term f32 sum of gmu), rtol 1e-4.
    const scale = (a: Float64Array) => 1e-4 * Math.max(...a.map(Math.abs));
    close(out[2], gz, scale(gz), `${tag}: dKL/dz (backward)`, 1e-4);
    close(out[3], gmu, scale(gmu), `${tag}: dKL/dmu (backward)`, 1e-4);
    close(out[4], gz.map((v) => -0.5 * v), scale(gz), `${tag}: dKL/dz with gl = −0.5`, 1e-4);
    close(out[5], gmu.map((v) => -0.5 * v), scale(gmu), `${tag}: dKL/dmu with gl = −0.5`, 1e-4);
  }
});

gpuTest("target distribution of a q with an all-zero column: p is 0 there, not NaN", async () => {
  await webgpu();
  // Column 1 underflowed for every sample (a far centre with a large alpha).
  const n = 67, k = 3;
  const q = new Float64Array(n * k);
  const r = rand(n, 3200, 0.05, 0.95);
  for (let i = 0; i < n; i++) [q[i * k], q[i * k + 2]] = [r[i], Math.fround(1 - r[i])];
  const Q = gt(q, [n, k]);
  const p = ops.targetDistribution(Q);
  const [po] = await readAll([p]);
  for (const t of [Q, p]) t.dispose();
  close(po, C.targetDistribution(q, n, k), Q_ATOL, "p with f_1 = 0");
  for (let i = 0; i < n; i++) assert(po[i * k + 1] === 0, `p[${i}, 1] = ${po[i * k + 1]}`);
});

gpuTest("DEC: a NaN code makes the loss NaN (not 0); tiny q keeps its target share", async () => {
  await webgpu();
  // One code is NaN (a diverged encoder): the loss must say so, or training goes on with NaN
  // centres while it reads 0.
  const z = gt([0, 0, NaN, 1, 2, 2], [3, 2]), mu = gt([0, 0, 2, 2], [2, 2]);
  const q = ops.softAssign(z, mu, 1);
  const p = ops.targetDistribution(q);
  const { loss, q: q2 } = ops.decKlLoss(z, mu, p, 1);
  const [l] = await readAll([loss]);
  assert(Number.isNaN(l[0]), `loss ${l[0]}`);
  // q² underflows f32 below 1e-19, but p = q²/f (renormalised) is representable.
  const qt = gt([1e-30, 1, 1e-30, 1], [2, 2]);
  const pt = ops.targetDistribution(qt);
  const [po] = await readAll([pt]);
  close(po, C.targetDistribution([1e-30, 1, 1e-30, 1], 2, 2), 1e-36, "p of tiny q", 1e-5);
  assert(po[0] > 0, `p[0, 0] = ${po[0]}`);
  for (const t of [z, mu, q, p, loss, q2, qt, pt]) t.dispose();
});

gpuTest(
  "DEC: a q below f32's smallest normal is 2^-126 on both backends, so the KL loss against a stale target stays finite",
  async () => {
    await webgpu();
    // alpha 200: kernel (1 + d²/200)^-100.5. z = 0, centres at 0 and at d² = 2000: the far one's
    // q is 11^-100.5 ≈ 3e-105, far below f32 (a GPU that flushes subnormals makes even 1e-40 0).
    const z = [0, 0], mu = [0, 0, Math.sqrt(1000), Math.sqrt(1000)];
    const Z = gt(z, [1, 2]), MU = gt(mu, [2, 2]);
    // A stale target (dataset mode) that still gives the far centre a share.
    const P = gt([0.9, 0.1], [1, 2]);
    const q = ops.softAssign(Z, MU, 200);
    const { loss, q: q2 } = ops.decKlLoss(Z, MU, P, 200);
    const [qo, lo] = await readAll([q, loss]);
    for (const t of [Z, MU, P, q, loss, q2]) t.dispose();
    const qRef = C.softAssign(z, mu, 1, 2, 2, 200);
    assert(
      qRef[1] === C.Q_MIN && qo[1] === Math.fround(C.Q_MIN),
      `q ${qo[1]}, reference ${qRef[1]}`,
    );
    const klRef = C.klDivergence([0.9, Math.fround(0.1)], qRef, 1, 2);
    assert(Number.isFinite(lo[0]), `loss ${lo[0]}`);
    close(lo, [klRef], 1e-6, "KL with q at 2^-126", 1e-5);
  },
);

/** q by the textbook formula, in Float64, without the reference's log-space normalisation. */
function handQ(z: Float64Array, mu: Float64Array, n: number, k: number, d: number, a: number) {
  const q = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < k; j++) {
      let d2 = 0;
      for (let t = 0; t < d; t++) d2 += (z[i * d + t] - mu[j * d + t]) ** 2;
      q[i * k + j] = Math.pow(1 + d2 / a, -(a + 1) / 2);
      s += q[i * k + j];
    }
    for (let j = 0; j < k; j++) q[i * k + j] /= s;
  }
  return q;
}

/** KL(p ‖ q) summed over rows and divided by N, from the textbook q. */
function handKl(p: Float64Array, q: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) if (p[i] > 0) s += p[i] * Math.log(p[i] / q[i]);
  return s / n;
}

gpuTest(
  "DEC at alpha 0.5 and 3: q, p, KL and its gradients match the textbook formulas",
  async () => {
    await webgpu();
    const [n, k, d] = [13, 4, 3];
    for (const alpha of [0.5, 3]) {
      const z = rand(n * d, 3300 + alpha * 10), mu = rand(k * d, 3301 + alpha * 10);
      const tag = `alpha ${alpha}`;
      // Textbook q and p, independent of lib/cpu/dec.ts.
      const qHand = handQ(z, mu, n, k, d, alpha);
      const f = new Float64Array(k);
      for (let i = 0; i < n * k; i++) f[i % k] += qHand[i];
      const pHand = new Float64Array(n * k);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < k; j++) s += pHand[i * k + j] = qHand[i * k + j] ** 2 / f[j];
        for (let j = 0; j < k; j++) pHand[i * k + j] /= s;
      }
      // The reference agrees with the textbook to rounding; alpha 1 differs by far more.
      close(C.softAssign(z, mu, n, k, d, alpha), qHand, 1e-14, `${tag}: reference q`);
      close(C.targetDistribution(qHand, n, k), pHand, 1e-14, `${tag}: reference p`);
      const q1 = handQ(z, mu, n, k, d, 1);
      assert(q1.some((v, i) => Math.abs(v - qHand[i]) > 1e-3), `${tag}: q differs from alpha 1`);

      const Z = gt(z, [n, d], true), MU = gt(mu, [k, d], true);
      const q = ops.softAssign(Z, MU, alpha);
      const p = ops.targetDistribution(q);
      // p for the loss: the target of codes moved by 0.7, so that p ≠ q and the gradient is not 0.
      const pT = C.targetDistribution(handQ(z.map((v) => 0.7 * v), mu, n, k, d, alpha), n, k);
      const p32 = Float64Array.from(Float32Array.from(pT));
      const P = gt(p32, [n, k]);
      const { loss, q: q2 } = ops.decKlLoss(Z, MU, P, alpha);
      loss.backward();
      const [qo, po, lo, gz, gmu] = await readAll([q, p, loss, Z.grad!, MU.grad!]);
      for (const t of [Z, MU, q, p, P, loss, q2, Z.grad!, MU.grad!]) t.dispose();
      close(qo, qHand, Q_ATOL, `${tag}: q`);
      close(po, pHand, 2 * Q_ATOL, `${tag}: p`);
      close(lo, [handKl(p32, qHand, n)], 1e-6, `${tag}: KL`, 1e-4);
      // Central differences of the textbook loss in Float64 (eps 1e-5: truncation ~1e-10,
      // rounding ~1e-11); the GPU's f32 gradients carry ~1e-5 of the largest entry (see above).
      const fd = (vary: "z" | "mu") => {
        const base = vary === "z" ? z : mu;
        const g = new Float64Array(base.length);
        for (let e = 0; e < base.length; e++) {
          const at = (h: number) => {
            const v = base.slice();
            v[e] += h;
            const qq = vary === "z" ? handQ(v, mu, n, k, d, alpha) : handQ(z, v, n, k, d, alpha);
            return handKl(p32, qq, n);
          };
          g[e] = (at(1e-5) - at(-1e-5)) / 2e-5;
        }
        return g;
      };
      const gzFd = fd("z"), gmuFd = fd("mu");
      const scale = (a: Float64Array) => 1e-4 * Math.max(...a.map(Math.abs));
      close(gz, gzFd, scale(gzFd), `${tag}: dKL/dz vs finite differences`, 1e-4);
      close(gmu, gmuFd, scale(gmuFd), `${tag}: dKL/dmu vs finite differences`, 1e-4);
      // The finite differences would catch a kernel that ignores alpha (uses 1).
      const g1 = C.klGrad(z, mu, p32, C.softAssign(z, mu, n, k, d, 1), n, k, d, 1);
      assert(
        g1.gz.some((v, i) => Math.abs(v - gzFd[i]) > 100 * scale(gzFd)),
        `${tag}: gradients at alpha 1 are not distinguishable`,
      );
    }
  },
);

gpuTest(
  "KL loss with zeros in p (a cluster that holds no sample's target): finite, as the reference's 0 · log 0 = 0",
  async () => {
    await webgpu();
    const n = 67, k = 4, d = 3, alpha = 1;
    const z = rand(n * d, 3300, -2, 2), mu = rand(k * d, 3301);
    // p from the reference's q, with column 2 zeroed and each row normalised again.
    const p = C.targetDistribution(C.softAssign(z, mu, n, k, d, alpha), n, k);
    for (let i = 0; i < n; i++) {
      const s = 1 - p[i * k + 2];
      p[i * k + 2] = 0;
      for (let j = 0; j < k; j++) p[i * k + j] /= s;
    }
    const Z = gt(z, [n, d]), MU = gt(mu, [k, d]), P = gt(p, [n, k]);
    const { loss, q } = ops.decKlLoss(Z, MU, P, alpha);
    const [lo] = await readAll([loss]);
    for (const t of [Z, MU, P, loss, q]) t.dispose();
    assert(Number.isFinite(lo[0]), `loss ${lo[0]}`);
    const p32 = Float64Array.from(Float32Array.from(p));
    close(lo, [C.klDivergence(p32, C.softAssign(z, mu, n, k, d, alpha), n, k)], 1e-6, "KL", 1e-4);
  },
);

gpuTest(
  "KL gradients with a p whose rows do not sum to 1 keep the row-sum term s_i (w·(p − s_i·q))",
  async () => {
    await webgpu();
    const be = backendNamed("webgpu");
    const [n, k, d, alpha] = [37, 5, 4, 1];
    const z = rand(n * d, 3400), mu = rand(k * d, 3401);
    // A target distribution with row i scaled by 0.5, 1.25 or 2: s_i ≠ 1, so dropping s_i (a
    // kernel that assumes normalised rows) moves every gradient entry by w·(s_i − 1)·q.
    const p = C.targetDistribution(C.softAssign(z.map((v) => 0.8 * v), mu, n, k, d, alpha), n, k);
    for (let i = 0; i < n * k; i++) p[i] *= [0.5, 1.25, 2][Math.floor(i / k) % 3];
    const p32 = Float64Array.from(Float32Array.from(p));
    const Z = gt(z, [n, d]), MU = gt(mu, [k, d]), P = gt(p32, [n, k]);
    const q = ops.softAssign(Z, MU, alpha);
    const GL = gt([1], [1]);
    const [gz, gmu] = be.klGrad(Z, MU, P, q, GL, alpha, true, true);
    const out = await readAll([gz!, gmu!]);
    for (const t of [Z, MU, P, q, GL, gz!, gmu!]) t.dispose();
    const ref = C.klGrad(z, mu, p32, C.softAssign(z, mu, n, k, d, alpha), n, k, d, alpha);
    // As the KL gradient test above: 1e-4 of the largest entry, rtol 1e-4.
    const scale = (a: Float64Array) => 1e-4 * Math.max(...a.map(Math.abs));
    close(out[0], ref.gz, scale(ref.gz), "dKL/dz, unnormalised p", 1e-4);
    close(out[1], ref.gmu, scale(ref.gmu), "dKL/dmu, unnormalised p", 1e-4);
  },
);

gpuTest(
  "soft assignment of a code far from every centre: q from the row maximum, not 0/0",
  async () => {
    await webgpu();
    // alpha 100: kernel (1 + d²/100)^-50.5. z = 0, centres at d² = 1000 and 1100: both kernels
    // (11^-50.5 ≈ 4e-53, 12^-50.5) underflow f32, so q is finite only relative to the row's
    // largest: q = [1, (12/11)^-50.5] / (1 + (12/11)^-50.5) ≈ [0.988, 0.012].
    const z = [0, 0];
    const mu = [Math.sqrt(500), Math.sqrt(500), Math.sqrt(550), -Math.sqrt(550)];
    const Z = gt(z, [1, 2]), MU = gt(mu, [2, 2]);
    const q = ops.softAssign(Z, MU, 100);
    const [qo] = await readAll([q]);
    for (const t of [Z, MU, q]) t.dispose();
    close(qo, C.softAssign(z, mu, 1, 2, 2, 100), Q_ATOL, "q of a far code");
  },
);

gpuTest(
  "target distribution of a q with a NaN row: every row's p is NaN (f is NaN in every column)",
  async () => {
    await webgpu();
    // Row 1 is NaN (a diverged code): the column frequencies f all are, so p is NaN in every
    // row, not only row 1; rows 0 and 2 must not come out as finite numbers (0, with f_j read as
    // not positive) that a loss on those rows alone would take for a target.
    const Q = gt([0.75, 0.25, NaN, NaN, 0.4, 0.6], [3, 2]);
    const p = ops.targetDistribution(Q);
    const [po] = await readAll([p]);
    for (const t of [Q, p]) t.dispose();
    const finite = Array.from(po).findIndex((v) => !Number.isNaN(v));
    assert(finite === -1, `p[${finite}] = ${po[finite]}: ${Array.from(po)}`);
  },
);
