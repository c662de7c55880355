import { assert, assertAlmostEquals, assertClose, assertEquals, assertThrows } from "../_assert.ts";
import { klDivergence, klGrad, Q_MIN, softAssign, targetDistribution } from "../../lib/cpu/dec.ts";
import { checkGrad, randomArray } from "../../lib/cpu/gradcheck.ts";
import { Rng } from "../../lib/util/rng.ts";

// KL(p ‖ softAssign(z, mu)) is smooth in z and mu with O(1) derivatives on inputs in [−2, 2]:
// central differences with eps 1e-6 have truncation error ~eps²·|f'''| ≈ 1e-12 and rounding
// error ~2^-52·|L| / eps ≈ 1e-10, so 1e-7 absolute is a safe margin (yet 4 orders below any
// real mistake, e.g. a missing q term or a wrong (α+1)/α factor, which changes gradients by O(0.1)).
const GRAD = { eps: 1e-6, atol: 1e-7, rtol: 1e-6 };

function entropy(row: ArrayLike<number>): number {
  let h = 0;
  for (let i = 0; i < row.length; i++) if (row[i] > 0) h -= row[i] * Math.log(row[i]);
  return h;
}

const rowOf = (a: Float64Array, i: number, k: number) => a.subarray(i * k, (i + 1) * k);

Deno.test("softAssign with alpha 1 matches a hand-computed 2x2 example", () => {
  // z = [[0, 0], [2, 0]], mu = [[0, 0], [1, 0]], kernel (1 + d²)^-1:
  // row 0: d² = 0, 1 → kernels 1, 1/2 → q = [2/3, 1/3];
  // row 1: d² = 4, 1 → kernels 1/5, 1/2 → q = [0.2/0.7, 0.5/0.7] = [2/7, 5/7].
  const q = softAssign([0, 0, 2, 0], [0, 0, 1, 0], 2, 2, 2, 1);
  assertClose(q, [2 / 3, 1 / 3, 2 / 7, 5 / 7], 1e-15, 0);
});

Deno.test("softAssign and targetDistribution with alpha 0.5 and 3 match hand-computed values", () => {
  // z = [[0, 0], [2, 0]], mu = [[0, 0], [1, 0]]: d² = [[0, 1], [4, 1]].
  // alpha 3: kernel (1 + d²/3)^-2: row 0: 1, 9/16 → q = [16/25, 9/25];
  //   row 1: 9/49, 9/16 → q = [16/65, 49/65]. (alpha 1 would give [2/3, 1/3], [2/7, 5/7].)
  // alpha 0.5: kernel (1 + 2d²)^-3/4 with a = 3^-3/4: row 0: 1, a; row 1: 9^-3/4 = a², a.
  const a = 3 ** -0.75;
  const cases: [number, number[]][] = [
    [3, [16 / 25, 9 / 25, 16 / 65, 49 / 65]],
    [0.5, [1 / (1 + a), a / (1 + a), a / (a + 1), 1 / (a + 1)]],
  ];
  for (const [alpha, want] of cases) {
    const q = softAssign([0, 0, 2, 0], [0, 0, 1, 0], 2, 2, 2, alpha);
    assertClose(q, want, 1e-15, 0, `q at alpha ${alpha}`);
    // p_ij = (q_ij²/f_j) / Σ_j' (q_ij'²/f_j'), f_j = Σ_i q_ij.
    const f = [want[0] + want[2], want[1] + want[3]];
    const pWant: number[] = [];
    for (const r of [0, 2]) {
      const u = want[r] ** 2 / f[0], v = want[r + 1] ** 2 / f[1];
      pWant.push(u / (u + v), v / (u + v));
    }
    assertClose(targetDistribution(q, 2, 2), pWant, 1e-15, 0, `p at alpha ${alpha}`);
  }
});

Deno.test("softAssign rows sum to 1 for several alphas", () => {
  const n = 9, k = 4, d = 3;
  const z = randomArray(n * d, 1), mu = randomArray(k * d, 2);
  for (const alpha of [0.5, 1, 2.5, 100]) {
    const q = softAssign(z, mu, n, k, d, alpha);
    for (let i = 0; i < n; i++) {
      // k terms each rounded once in the division: |Σ − 1| <= k·2^-52.
      let s = 0;
      for (let j = 0; j < k; j++) {
        assert(q[i * k + j] > 0 && q[i * k + j] < 1, `q out of (0, 1) at alpha ${alpha}`);
        s += q[i * k + j];
      }
      assertAlmostEquals(s, 1, 1e-15, `row ${i} at alpha ${alpha}`);
    }
  }
});

Deno.test("softAssign survives distances whose kernels underflow", () => {
  // alpha 9: kernel (1 + d²/9)^-5. With z = 1e40 and centroids at 0 and 3e40, d² = 1e80 and
  // 4e80, both kernels underflow to 0 (so a direct computation gives 0/0), but their ratio is
  // 4^-5 to within 1e-80, so q = [1024/1025, 1/1025].
  assert(Math.pow(1 + 1e80 / 9, -5) === 0, "the direct kernel should underflow");
  const q = softAssign([1e40], [0, 3e40], 1, 2, 1, 9);
  assertClose(q, [1024 / 1025, 1 / 1025], 1e-15, 1e-13);
});

Deno.test("softAssign is invariant to a common translation of z and mu", () => {
  const n = 7, k = 3, d = 5;
  const z = randomArray(n * d, 3), mu = randomArray(k * d, 4), c = randomArray(d, 5, -50, 50);
  const zt = z.map((v, i) => v + c[i % d]), mut = mu.map((v, i) => v + c[i % d]);
  // Translating by |c| <= 50 perturbs each difference by ~50·2^-52 ≈ 1e-14 relative to O(1)
  // distances; q moves by about as much.
  for (const alpha of [1, 3]) {
    assertClose(softAssign(zt, mut, n, k, d, alpha), softAssign(z, mu, n, k, d, alpha), 1e-12, 0);
  }
});

Deno.test("targetDistribution sharpens every row when clusters are balanced", () => {
  // Three centroids on an equilateral triangle and points that are the three rotations of
  // random base points: by symmetry every column of q sums to the same f, so p ∝ q², which has
  // a larger maximum and a lower entropy than q (the escort distribution of power 2).
  const k = 3, d = 2, base = 5, n = base * k;
  const rot = (x: number, y: number, j: number): [number, number] => {
    const t = (2 * Math.PI * j) / 3;
    return [x * Math.cos(t) - y * Math.sin(t), x * Math.sin(t) + y * Math.cos(t)];
  };
  const mu = new Float64Array(k * d), z = new Float64Array(n * d);
  for (let j = 0; j < k; j++) mu.set(rot(1, 0, j), j * d);
  const b = randomArray(base * d, 6, -1.5, 1.5);
  for (let j = 0; j < k; j++) {
    for (let l = 0; l < base; l++) z.set(rot(b[2 * l], b[2 * l + 1], j), (j * base + l) * d);
  }
  for (const alpha of [1, 2]) {
    const q = softAssign(z, mu, n, k, d, alpha), p = targetDistribution(q, n, k);
    for (let i = 0; i < n; i++) {
      const qi = rowOf(q, i, k), pi = rowOf(p, i, k);
      assertAlmostEquals(pi.reduce((s, v) => s + v, 0), 1, 1e-15);
      // Strict, by a margin far above rounding (f_j are equal up to ~1e-16): no base point
      // is equidistant from all centroids, so squaring really sharpens, and p = q would fail.
      assert(
        entropy(pi) < entropy(qi) - 1e-6,
        `row ${i}: H(p) ${entropy(pi)} >= H(q) ${entropy(qi)}`,
      );
      assert(Math.max(...pi) > Math.max(...qi) + 1e-6, `row ${i}: max p <= max q`);
    }
  }
});

Deno.test("targetDistribution sharpens every row of well-separated, equal-sized clusters", () => {
  // Typical DEC input: 4 clusters of 6 points around well-separated centroids. Not a theorem
  // row by row (see the next test), but it holds here because the cluster frequencies are close.
  const k = 4, d = 3, per = 6, n = k * per, rng = new Rng(11);
  const mu = randomArray(k * d, 7, -6, 6), z = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < d; t++) z[i * d + t] = mu[(i % k) * d + t] + 0.5 * rng.normal();
  }
  const q = softAssign(z, mu, n, k, d, 1), p = targetDistribution(q, n, k);
  for (let i = 0; i < n; i++) {
    const qi = rowOf(q, i, k), pi = rowOf(p, i, k);
    assert(entropy(pi) <= entropy(qi), `row ${i}: H(p) ${entropy(pi)} > H(q) ${entropy(qi)}`);
    assert(Math.max(...pi) >= Math.max(...qi), `row ${i}: max p < max q`);
  }
});

Deno.test("targetDistribution divides by cluster frequency, so an uneven split can flatten a row", () => {
  // q = [[0.6, 0.4], [a, 1 − a]] with a = 2.55/3.25 makes f1 = 0.6 + a = 2.25·f2 = 2.25·(1.4 − a).
  // Row 0: p ∝ [0.36/f1, 0.16/f2] = [0.16/f2, 0.16/f2], so p0 = [0.5, 0.5], flatter than q0.
  const a = 2.55 / 3.25;
  const p = targetDistribution([0.6, 0.4, a, 1 - a], 2, 2);
  assertClose(p.subarray(0, 2), [0.5, 0.5], 1e-15, 0);
  // Row 1: p ∝ [a²/f1, (1 − a)²/f2].
  const f1 = 0.6 + a, f2 = 1.4 - a, u = a * a / f1, v = (1 - a) ** 2 / f2;
  assertClose(p.subarray(2), [u / (u + v), v / (u + v)], 1e-15, 0);
});

Deno.test("klDivergence matches hand values and ignores zero targets", () => {
  // Row 0: 1·(log 1 − log 0.5) = log 2; row 1: p = q contributes 0; batchmean divides by 2.
  assertAlmostEquals(
    klDivergence([1, 0, 0.3, 0.7], [0.5, 0.5, 0.3, 0.7], 2, 2),
    Math.log(2) / 2,
    1e-16,
  );
  // 0.25·log(0.25/0.5) + 0.75·log(0.75/0.5).
  const expected = 0.25 * Math.log(0.5) + 0.75 * Math.log(1.5);
  assertAlmostEquals(klDivergence([0.25, 0.75], [0.5, 0.5], 1, 2), expected, 1e-16);
  assertAlmostEquals(klDivergence([1, 0], [1, 0], 1, 2), 0, 0);
});

for (
  const [n, k, d, alpha] of [[6, 3, 4, 1], [5, 4, 2, 2.5], [1, 2, 3, 0.7], [7, 3, 3, 0.5], [
    4,
    5,
    2,
    3,
  ]]
) {
  const z = randomArray(n * d, 20 + n), mu = randomArray(k * d, 30 + k);
  const q = softAssign(z, mu, n, k, d, alpha);
  const p = targetDistribution(q, n, k);
  const tag = `n ${n}, k ${k}, d ${d}, alpha ${alpha}`;

  Deno.test(`klGrad matches central differences of softAssign → klDivergence: ${tag}`, () => {
    const { gz, gmu } = klGrad(z, mu, p, q, n, k, d, alpha);
    checkGrad((v) => klDivergence(p, softAssign(v, mu, n, k, d, alpha), n, k), gz, z.slice(), GRAD);
    checkGrad(
      (v) => klDivergence(p, softAssign(z, v, n, k, d, alpha), n, k),
      gmu,
      mu.slice(),
      GRAD,
    );
  });

  Deno.test(`klGrad equals the DEC paper formula when rows of p sum to 1: ${tag}`, () => {
    // gz_i = ((α+1)/α)(1/N) Σ_j w_ij (p_ij − q_ij)(z_i − mu_j), gmu_j = −(same summed over i).
    const gz = new Float64Array(n * d), gmu = new Float64Array(k * d);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < k; j++) {
        let d2 = 0;
        for (let t = 0; t < d; t++) d2 += (z[i * d + t] - mu[j * d + t]) ** 2;
        const c = ((alpha + 1) / alpha / n) * (p[i * k + j] - q[i * k + j]) / (1 + d2 / alpha);
        for (let t = 0; t < d; t++) {
          gz[i * d + t] += c * (z[i * d + t] - mu[j * d + t]);
          gmu[j * d + t] -= c * (z[i * d + t] - mu[j * d + t]);
        }
      }
    }
    const g = klGrad(z, mu, p, q, n, k, d, alpha);
    // Only the rounding of Σ_j p_ij (within k ulp of 1) differs: ~1e-16 relative.
    assertClose(g.gz, gz, 1e-14, 1e-12);
    assertClose(g.gmu, gmu, 1e-14, 1e-12);
  });
}

Deno.test("klGrad stays exact for a constant p whose rows do not sum to 1", () => {
  const n = 4, k = 3, d = 2, alpha = 1.5;
  const z = randomArray(n * d, 40), mu = randomArray(k * d, 41), p = randomArray(n * k, 42, 0.1, 1);
  const q = softAssign(z, mu, n, k, d, alpha);
  const { gz, gmu } = klGrad(z, mu, p, q, n, k, d, alpha);
  checkGrad((v) => klDivergence(p, softAssign(v, mu, n, k, d, alpha), n, k), gz, z.slice(), GRAD);
  checkGrad((v) => klDivergence(p, softAssign(z, v, n, k, d, alpha), n, k), gmu, mu.slice(), GRAD);
});

Deno.test("DEC ops reject bad alpha and lengths", () => {
  assertThrows(
    () => softAssign([0], [0], 1, 1, 1, 0),
    RangeError,
    "Cannot run softAssign: alpha must be > 0: current value is 0",
  );
  assertThrows(() => softAssign([0, 1], [0], 1, 1, 1, 1), TypeError, "z must have 1 elements");
  assertThrows(() => targetDistribution([0, 0], 1, 2), RangeError, "row 0 sums to 0");
  assertThrows(() => klGrad([0], [0], [1], [1], 1, 1, 1, -1), RangeError, "alpha must be > 0");
  assertThrows(() => klDivergence([1], [1, 0], 1, 1), TypeError, "q must have 1 elements");
});

Deno.test("targetDistribution: a NaN in q is named, not read as an empty column; tiny q keeps its share", () => {
  assertThrows(
    () => targetDistribution([0.5, 0.5, NaN, 0.5], 2, 2),
    RangeError,
    "q holds NaN in row 1",
  );
  const p = targetDistribution([1e-30, 1, 1e-30, 1], 2, 2);
  assert(Math.abs(p[0] / 1e-30 - 1) < 1e-9, String(p[0]));
});

Deno.test("softAssign: a q below f32's smallest normal is 2^-126 (Q_MIN), as the WGSL kernel gives it, so a KL against a stale target stays finite", () => {
  // alpha 200: kernel (1 + d²/200)^-100.5; z = 0, centres at d² = 0 and 2000: the far one's q
  // is 11^-100.5 ≈ 3e-105, which Float64 holds but f32 (and a GPU flushing subnormals) do not.
  const q = softAssign([0, 0], [0, 0, Math.sqrt(1000), Math.sqrt(1000)], 1, 2, 2, 200);
  assertEquals(q[1], Q_MIN);
  assert(Number.isFinite(klDivergence([0.9, 0.1], q, 1, 2)));
});
