import { assert, assertAlmostEquals, assertClose, assertEquals, assertThrows } from "../_assert.ts";
import { pca2, symmetricEigen } from "../../lib/cluster/pca.ts";
import { Rng } from "../../lib/util/rng.ts";

Deno.test("symmetricEigen satisfies A v = lambda v with orthonormal vectors, values descending", () => {
  const r = new Rng(4);
  const d = 6, b = new Float64Array(d * d).map(() => r.normal());
  const a = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      for (let t = 0; t < d; t++) a[i * d + j] += b[i * d + t] * b[j * d + t];
    }
  }
  const { values, vectors } = symmetricEigen(a, d);
  for (let e = 0; e < d; e++) {
    if (e > 0) assert(values[e] <= values[e - 1]);
    const av = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) av[i] += a[i * d + j] * vectors[e * d + j];
    }
    // Float64 Jacobi converges to ~1e-15 relative; 1e-9 absolute leaves room for |A| ~ 10.
    assertClose(av, vectors.subarray(e * d, e * d + d).map((v) => v * values[e]), 1e-9, 0);
    for (let f = 0; f < d; f++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += vectors[e * d + j] * vectors[f * d + j];
      assertAlmostEquals(dot, e === f ? 1 : 0, 1e-12);
    }
  }
});

Deno.test("pca2 finds the direction of largest spread of points on a tilted line", () => {
  const r = new Rng(2);
  const n = 200, x = new Float32Array(n * 3);
  const ts = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = 10 * r.normal(), s = 0.1 * r.normal();
    ts[i] = t;
    // Along (0.6, 0.8, 0) with spread 10, across along (0, 0, 1) with spread 0.1.
    x[i * 3] = 0.6 * t + 5;
    x[i * 3 + 1] = 0.8 * t - 2;
    x[i * 3 + 2] = s;
  }
  const mean = ts.reduce((a, b) => a + b, 0) / n;
  const p = pca2(x, n, 3);
  // The first axis is (0.6, 0.8, 0) up to sign (Float32 input: ~1e-5 relative error).
  const sign = Math.sign(p.x[0] * (ts[0] - mean));
  assertClose(p.x.map((v) => v * sign), ts.map((t) => t - mean), 1e-3, 0);
  for (let i = 0; i < n; i++) {
    assertAlmostEquals(Math.abs(p.y[i]), Math.abs(x[i * 3 + 2] - 0), 0.05);
  }
});

Deno.test("pca2 rejects a wrong array length", () => {
  assertThrows(() => pca2(new Float64Array(0), 3, 0), RangeError, "n and d must be >= 1");
  assertThrows(() => pca2(new Float32Array(5), 2, 3), TypeError, "n * d");
});

Deno.test("pca2 on wide data (d > 64, power iteration) finds the dominant axis and the next, orthogonal one", () => {
  // Points along one direction u in 200-D (spread 5) plus a second direction w (spread 1) and
  // small noise: the first coordinate must be the projection on u, up to sign.
  const rng = new Rng(7), n = 120, d = 200;
  const u = Float64Array.from({ length: d }, () => rng.normal());
  const w = Float64Array.from({ length: d }, () => rng.normal());
  const nu = Math.hypot(...u);
  u.forEach((v, i) => (u[i] = v / nu));
  const x = new Float64Array(n * d), s = new Float64Array(n), ts = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s[i] = 5 * rng.normal();
    const t = ts[i] = rng.normal();
    for (let k = 0; k < d; k++) x[i * d + k] = s[i] * u[k] + 0.2 * t * w[k] + 0.01 * rng.normal();
  }
  const p = pca2(x, n, d);
  let dot = 0, nx = 0, ns = 0;
  const ms = s.reduce((a, b) => a + b, 0) / n;
  for (let i = 0; i < n; i++) {
    dot += p.x[i] * (s[i] - ms);
    nx += p.x[i] ** 2;
    ns += (s[i] - ms) ** 2;
  }
  // |corr| > 0.999: the noise and the second direction perturb the axis by < 1e-3.
  assert(
    Math.abs(dot) / Math.sqrt(nx * ns) > 0.999,
    `first axis correlation ${dot / Math.sqrt(nx * ns)}`,
  );
  // The second axis is deflated against the first: the two coordinates are uncorrelated
  // (exactly, up to the 1e-7 convergence of the axes) and the second follows t.
  const corr = (a: Float64Array, b: Float64Array) => {
    const ma = a.reduce((q, v) => q + v, 0) / n, mb = b.reduce((q, v) => q + v, 0) / n;
    let ab = 0, aa = 0, bb = 0;
    for (let i = 0; i < n; i++) {
      ab += (a[i] - ma) * (b[i] - mb);
      aa += (a[i] - ma) ** 2;
      bb += (b[i] - mb) ** 2;
    }
    return ab / Math.sqrt(aa * bb);
  };
  assertAlmostEquals(corr(p.x, p.y), 0, 1e-5);
  assert(Math.abs(corr(p.y, ts)) > 0.99, `second axis correlation ${corr(p.y, ts)}`);
});

/**
 * Points s_i·u + t_i·w (u, w orthonormal) in d dimensions, with s and t centred, uncorrelated
 * and of spreads about 5 and 1, so that the principal axes are exactly u and w (up to sign).
 */
function plane(n: number, d: number, u: number[], w: number[], seed: number) {
  const rng = new Rng(seed);
  const centre = (a: Float64Array) => {
    const m = a.reduce((p, q) => p + q, 0) / n;
    return a.map((v) => v - m);
  };
  const s = centre(Float64Array.from({ length: n }, () => 5 * rng.normal()));
  let t = centre(Float64Array.from({ length: n }, () => rng.normal()));
  const dot = (a: Float64Array, b: Float64Array) => a.reduce((p, v, i) => p + v * b[i], 0);
  const c = dot(t, s) / dot(s, s);
  t = t.map((v, i) => v - c * s[i]);
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) x[i * d + k] = s[i] * (u[k] ?? 0) + t[i] * (w[k] ?? 0);
  }
  return { x, s, t };
}

for (const d of [6, 64, 65, 300]) {
  Deno.test(`pca2 signs each axis so that its largest |entry| is positive, d = ${d}`, () => {
    // u's largest entry (index 4) is negative, w's (index 2) positive; index 4 is where the
    // power iteration's start vector sin(1 + t) is negative, so an unsigned axis comes out −u.
    const u = [0, 0.3, 0, 0.4, -0.8, Math.sqrt(0.11)];
    const w = [0.6, 0, 0.8, 0, 0, 0];
    const n = 80;
    const { x, s, t } = plane(n, d, u, w, 40 + d);
    const p = pca2(x, n, d);
    // The axes are −u and +w exactly (the data has no other spread): coordinates −s and +t.
    assertClose(p.x, s.map((v) => -v), 1e-6, 1e-6, `d ${d}: first axis is −u`);
    assertClose(p.y, t, 1e-6, 1e-6, `d ${d}: second axis is +w`);
    // Mirrored data gives mirrored coordinates (the axes, a property of the covariance, stay).
    const m = pca2(x.map((v) => -v), n, d);
    assertClose(m.x, s, 1e-6, 1e-6, `d ${d}: mirrored data, first axis`);
    assertClose(m.y, t.map((v) => -v), 1e-6, 1e-6, `d ${d}: mirrored data, second axis`);
  });
}

Deno.test("pca2 gives the same coordinates for data with and without 70 zero columns", () => {
  // d = 6 takes the exact Jacobi path, d = 76 power iteration: same axes, same signs.
  const rng = new Rng(3), n = 60, d0 = 6, d1 = 76;
  const a = new Float64Array(n * d0).map(() => rng.normal());
  for (let i = 0; i < n; i++) a[i * d0 + 4] *= 6; // the dominant direction is ±e4
  const b = new Float64Array(n * d1);
  for (let i = 0; i < n; i++) b.set(a.subarray(i * d0, (i + 1) * d0), i * d1);
  const pa = pca2(a, n, d0), pb = pca2(b, n, d1);
  assertClose(pb.x, pa.x, 1e-5, 1e-5, "first coordinate");
  assertClose(pb.y, pa.y, 1e-4, 1e-4, "second coordinate");
});

Deno.test("symmetricEigen with equal diagonal entries (θ = 0), each vector's largest component positive", () => {
  // [[2, 1], [1, 2]]: eigenvalues 3 and 1 along (1, 1) and (1, −1); the first rotation has
  // θ = (a_qq − a_pp) / (2 a_pq) = 0 and must still turn by 45°. A vector whose components
  // tie in magnitude is signed by its first.
  const { values, vectors } = symmetricEigen(new Float64Array([2, 1, 1, 2]), 2);
  assertClose(values, [3, 1], 1e-14, 0);
  assertClose(vectors, [Math.SQRT1_2, Math.SQRT1_2, Math.SQRT1_2, -Math.SQRT1_2], 1e-14, 0);
  // diag(1, 5, 3) with a negative start: rows of the identity, signed +.
  const d = symmetricEigen(new Float64Array([-1, 0, 0, 0, -5, 0, 0, 0, -3]), 3);
  assertClose(d.values, [-1, -3, -5], 0, 0);
  assertClose(d.vectors, [1, 0, 0, 0, 0, 1, 0, 1, 0], 0, 0);
  // A rotated diagonal: vectors come back with their largest-magnitude component positive.
  const c = Math.cos(0.3), s = Math.sin(0.3);
  // R diag(4, 1) Rᵀ with R = [[c, −s], [s, c]]: axes (c, s) and (−s, c).
  const a = new Float64Array([4 * c * c + s * s, 3 * c * s, 3 * c * s, 4 * s * s + c * c]);
  const r = symmetricEigen(a, 2);
  assertClose(r.values, [4, 1], 1e-14, 0);
  assertClose(r.vectors, [c, s, s, -c].map((v, i) => i < 2 ? v : -v), 1e-14, 0);
  // And on seeded random symmetric 4 x 4 matrices.
  const rng = new Rng(17);
  for (let rep = 0; rep < 20; rep++) {
    const m = new Float64Array(16);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j <= i; j++) m[i * 4 + j] = m[j * 4 + i] = rng.normal();
    }
    const { vectors: v } = symmetricEigen(m, 4);
    for (let row = 0; row < 4; row++) {
      const comps = Array.from(v.subarray(row * 4, row * 4 + 4));
      const big = comps.reduce((b, x) => (Math.abs(x) > Math.abs(b) ? x : b), 0);
      assert(big > 0, `rep ${rep}, vector ${row}: ${comps}`);
    }
  }
});

Deno.test("pca2 of 1-D points: the centred values on x, zeros on y; no points refused", () => {
  const p = pca2(new Float64Array([1, 4, 7]), 3, 1);
  assertClose(p.x, [-3, 0, 3], 1e-15, 0);
  assertClose(p.y, [0, 0, 0], 0, 0);
  assertThrows(() => pca2(new Float64Array(0), 0, 3), RangeError, "n and d must be >= 1");
});

for (const d of [5, 80]) {
  Deno.test(`pca2's explained variance is each axis's covariance eigenvalue over their sum, d = ${d}`, () => {
    const r = new Rng(9 + d);
    const n = 300, x = new Float64Array(n * d);
    // Spreads falling off by axis, mixed by a fixed rotation-like blend so that no axis is a
    // coordinate axis.
    for (let i = 0; i < n; i++) {
      const z = Array.from({ length: d }, (_, t) => r.normal() * 3 / (1 + t));
      for (let t = 0; t < d; t++) x[i * d + t] = z[t] + 0.3 * z[(t + 1) % d] + 7;
    }
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) mean[t] += x[i * d + t] / n;
    const cov = new Float64Array(d * d);
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < d; a++) {
        for (let b = 0; b < d; b++) {
          cov[a * d + b] += (x[i * d + a] - mean[a]) * (x[i * d + b] - mean[b]) / (n - 1);
        }
      }
    }
    const { values } = symmetricEigen(cov, d);
    const sum = values.reduce((a, b) => a + b, 0);
    const { explained } = pca2(x, n, d);
    // Power iteration (d > 64) stops at a 1e-7 step, so its axis is good to ~1e-7 and the
    // variance along it to second order in that.
    assertAlmostEquals(explained[0], values[0] / sum, 1e-9);
    assertAlmostEquals(explained[1], values[1] / sum, 1e-9);
    assert(explained[0] > explained[1] && explained[1] > 0);
  });
}

Deno.test("pca2 of points that do not spread explains nothing rather than dividing by zero", () => {
  const { explained } = pca2(new Float32Array([1, 2, 1, 2, 1, 2]), 3, 2);
  assertEquals(explained, [0, 0]);
});

Deno.test("pca2 on wide data fits its axes on rows spread over all the points, not the first 2000", () => {
  // 4000 points in 70-D: the first 2000 spread along column 0 (sd 1), the last 2000 along
  // column 1 (sd 2). Over all points column 1 leads; the first 2000 alone would give column 0.
  const rng = new Rng(3), n = 4000, d = 70;
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    if (i < 2000) x[i * d] = rng.normal();
    else x[i * d + 1] = 2 * rng.normal();
  }
  const p = pca2(x, n, d);
  const column1 = Float64Array.from({ length: n }, (_, i) => x[i * d + 1]);
  const m = column1.reduce((a, b) => a + b, 0) / n;
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < n; i++) {
    ab += p.x[i] * (column1[i] - m);
    aa += p.x[i] ** 2;
    bb += (column1[i] - m) ** 2;
  }
  assert(
    ab / Math.sqrt(aa * bb) > 0.999,
    `first axis against column 1: ${ab / Math.sqrt(aa * bb)}`,
  );
});

Deno.test("pca2's power iteration (d > 64) converges to 1e-7 where the two leading variances are close", () => {
  // Points s_i·u + t_i·w in 70-D with var(t) = 0.8 var(s): the covariance's eigenvectors are u
  // and w exactly, its eigenvalues var(s) and var(t), and power iteration's error shrinks only
  // by 0.8 a step. Stopping at a 1e-7 step leaves the axis within 1e-7 / (1 − 0.8) = 5e-7 of u,
  // each coordinate within 5e-7·|t| ≤ 5e-6 of s (|t| ≤ 9.9): measured 4.3e-6, and 4.6e-4 where
  // the iteration stopped at a 1e-5 step (4e-5 at 1e-6).
  const n = 50, d = 70;
  const u = [0, 0.3, 0, 0.4, 0.8, Math.sqrt(0.11)], w = [0.6, 0, 0.8, 0, 0, 0];
  const { s, t: t0 } = plane(n, d, u, w, 5);
  const ss = s.reduce((a, v) => a + v * v, 0);
  const t = t0.map((v) => v * Math.sqrt(0.8 * ss / t0.reduce((a, q) => a + q * q, 0)));
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 6; k++) x[i * d + k] = s[i] * u[k] + t[i] * w[k];
  }
  const p = pca2(x, n, d);
  assertClose(p.x, s, 1e-5, 0, "first axis is u");
  assertClose(p.y, t, 1e-5, 0, "second axis is w");
  // The variance along an axis is off by the square of its error: measured 2e-14, and 2.5e-10
  // at a 1e-5 step.
  assertAlmostEquals(p.explained[0], 1 / 1.8, 1e-12);
  assertAlmostEquals(p.explained[1], 0.8 / 1.8, 1e-12);
});
