import {
  assert,
  assertAlmostEquals,
  assertClose,
  assertEquals,
  assertNotEquals,
  assertThrows,
} from "../_assert.ts";
import { gmm, relativeRegCovar } from "../../lib/cluster/gmm.ts";
import { kmeans } from "../../lib/cluster/kmeans.ts";
import { Rng } from "../../lib/util/rng.ts";

/** 180 points from N(-3, 1) then 420 from N(4, 0.5²): weights 0.3 / 0.7 exactly. */
function mixture1d() {
  const r = new Rng(21);
  const x = new Float64Array(600);
  for (let i = 0; i < 600; i++) x[i] = i < 180 ? -3 + r.normal() : 4 + 0.5 * r.normal();
  return x;
}

function stats(x: Float64Array, lo: number, hi: number): { mean: number; variance: number } {
  let s = 0;
  for (let i = lo; i < hi; i++) s += x[i];
  const mean = s / (hi - lo);
  let v = 0;
  for (let i = lo; i < hi; i++) v += (x[i] - mean) ** 2;
  return { mean, variance: v / (hi - lo) };
}

Deno.test("gmm recovers means, variances and weights of a two-component 1-D mixture", () => {
  const x = mixture1d();
  for (const covariance of ["diag", "full"] as const) {
    const r = gmm(x, 600, 1, { k: 2, covariance, seed: 1 });
    const lo = r.means[0] < r.means[1] ? 0 : 1, hi = 1 - lo;
    // The components are 7 / 0.5 = 14 sd apart, so the posteriors are 0 or 1 to ~1e-9 and EM
    // converges to the per-group sample statistics.
    const a = stats(x, 0, 180), b = stats(x, 180, 600);
    assertAlmostEquals(r.weights[lo], 0.3, 1e-6, covariance);
    assertAlmostEquals(r.weights[hi], 0.7, 1e-6, covariance);
    assertAlmostEquals(r.means[lo], a.mean, 1e-6);
    assertAlmostEquals(r.means[hi], b.mean, 1e-6);
    assertAlmostEquals(r.covariances[lo], a.variance + 1e-6, 1e-6);
    assertAlmostEquals(r.covariances[hi], b.variance + 1e-6, 1e-6);
    // And near the generating values: 4 standard errors, 1/sqrt(180) = 0.075, 0.5/sqrt(420) = 0.024.
    assertAlmostEquals(r.means[lo], -3, 0.3);
    assertAlmostEquals(r.means[hi], 4, 0.1);
    assert(r.converged);
  }
});

Deno.test("gmm with k = 1 gives the sample mean, the biased covariance and its log-likelihood", () => {
  const x = new Float64Array([1, 2, 3, 5, 2, 1, 0, 4]); // 4 points in 2-D
  const r = gmm(x, 4, 2, { k: 1, covariance: "full", regCovar: 0 });
  assertClose(r.means, [1.5, 3], 1e-12, 0);
  // Deviations (-0.5,-1) (1.5,2) (0.5,-2) (-1.5,1): sums of products / 4.
  const cxx = (0.25 + 2.25 + 0.25 + 2.25) / 4, cyy = (1 + 4 + 4 + 1) / 4;
  const cxy = (0.5 + 3 - 1 - 1.5) / 4;
  assertClose(r.covariances, [cxx, cxy, cxy, cyy], 1e-12, 0);
  // Mean log N(x; mu, S) = -log(2 pi) - log|S| / 2 - tr(S^-1 S) / 2 = -log(2 pi) - log|S| / 2 - 1.
  const det = cxx * cyy - cxy * cxy;
  assertAlmostEquals(r.logLikelihood, -Math.log(2 * Math.PI) - Math.log(det) / 2 - 1, 1e-12);
  assertEquals(r.weights[0], 1);
});

Deno.test("gmm full covariance recovers a correlated component's sample covariance", () => {
  const r = new Rng(5);
  const n = 400, x = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    const u = r.normal(), v = r.normal();
    // Sigma = L L^T with L = [[1.4, 0], [0.8, 0.6]] for the first half, shifted by (12, 0) after.
    x[i * 2] = 1.4 * u + (i < n / 2 ? 0 : 12);
    x[i * 2 + 1] = 0.8 * u + 0.6 * v;
  }
  const res = gmm(x, n, 2, { k: 2, covariance: "full", seed: 3 });
  const c = res.means[0] < res.means[2] ? 0 : 1;
  let mx = 0, my = 0;
  for (let i = 0; i < n / 2; i++) {
    mx += x[i * 2] / (n / 2);
    my += x[i * 2 + 1] / (n / 2);
  }
  let sxx = 0, sxy = 0, syy = 0;
  for (let i = 0; i < n / 2; i++) {
    const a = x[i * 2] - mx, b = x[i * 2 + 1] - my;
    sxx += a * a / (n / 2);
    sxy += a * b / (n / 2);
    syy += b * b / (n / 2);
  }
  // Components 12 / 1.4 = 8.6 sd apart: posterior leak below 1e-6 of a point.
  assertClose(res.covariances.subarray(c * 4, c * 4 + 4), [sxx, sxy, sxy, syy], 1e-4, 0);
  // Sample correlation near the generating 0.8 * 1.4 / (1.4 * 1) = 0.8.
  assertAlmostEquals(sxy / Math.sqrt(sxx * syy), 0.8, 0.05);
});

Deno.test("gmm diag and full agree on axis-aligned data", () => {
  const r = new Rng(8);
  const n = 500, x = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    const second = i % 5 < 2; // 40 % in the second component
    x[i * 2] = (second ? 6 : 0) + (second ? 0.5 : 1.5) * r.normal();
    x[i * 2 + 1] = (second ? 5 : 0) + (second ? 1.2 : 0.4) * r.normal();
  }
  const dg = gmm(x, n, 2, { k: 2, covariance: "diag", seed: 2 });
  const fl = gmm(x, n, 2, { k: 2, covariance: "full", seed: 2 });
  const p = dg.means[0] < dg.means[2] ? [0, 1] : [1, 0];
  const q = fl.means[0] < fl.means[2] ? [0, 1] : [1, 0];
  for (let j = 0; j < 2; j++) {
    // The fitted off-diagonal is only sampling noise (~1/sqrt(n_j)); it shifts the fit slightly.
    assertAlmostEquals(dg.weights[p[j]], fl.weights[q[j]], 0.01);
    assertClose(
      dg.means.subarray(p[j] * 2, p[j] * 2 + 2),
      fl.means.subarray(q[j] * 2, q[j] * 2 + 2),
      0.05,
      0,
    );
    const fv = fl.covariances.subarray(q[j] * 4, q[j] * 4 + 4);
    assertClose(dg.covariances.subarray(p[j] * 2, p[j] * 2 + 2), [fv[0], fv[3]], 0.05, 0.05);
    assert(Math.abs(fv[1]) < 0.15, `off-diagonal ${fv[1]}`);
  }
  let same = 0;
  for (let i = 0; i < n; i++) if (p[dg.labels[i]] === q[fl.labels[i]]) same++;
  assert(same >= n - 2, `labels agree on ${same} of ${n}`);
  assert(fl.logLikelihood >= dg.logLikelihood - 1e-9, "full has more freedom");
});

Deno.test("gmm responsibilities are rows summing to 1 and labels are their argmax", () => {
  const r = new Rng(1);
  const n = 90, d = 3, x = new Float64Array(n * d).map((_, i) => r.normal() + (i % 2) * 2);
  const res = gmm(x, n, d, { k: 3, covariance: "full", seed: 4 });
  for (let i = 0; i < n; i++) {
    let s = 0, arg = 0;
    for (let j = 0; j < 3; j++) {
      s += res.resp[i * 3 + j];
      if (res.resp[i * 3 + j] > res.resp[i * 3 + arg]) arg = j;
    }
    assertAlmostEquals(s, 1, 1e-12);
    assertEquals(res.labels[i], arg);
  }
  assertAlmostEquals(res.weights.reduce((a, b) => a + b, 0), 1, 1e-12);
});

Deno.test("gmm posteriors and log-likelihood weigh each component's density by its mixing weight", () => {
  // Overlapping components of unequal weight (300 from N(0, 1), 100 from N(3, 0.7²)): the
  // returned resp and logLikelihood must be Bayes' rule and the mixture density under the
  // returned parameters, w_j·N(x; μ_j, σ_j²) / Σ_j' and mean log Σ_j w_j·N(x; μ_j, σ_j²).
  const r = new Rng(3);
  const n = 400,
    x = new Float64Array(n).map((_, i) => i < 300 ? r.normal() : 3 + 0.7 * r.normal());
  for (const covariance of ["diag", "full"] as const) {
    const g = gmm(x, n, 1, { k: 2, covariance, seed: 2 });
    // Unequal weights, or leaving them out would not show.
    assert(Math.abs(g.weights[0] - g.weights[1]) > 0.2, `${covariance}: weights ${g.weights}`);
    let ll = 0;
    for (let i = 0; i < n; i++) {
      const dens = [0, 1].map((j) =>
        g.weights[j] * Math.exp(-0.5 * (x[i] - g.means[j]) ** 2 / g.covariances[j]) /
        Math.sqrt(2 * Math.PI * g.covariances[j])
      );
      const tot = dens[0] + dens[1];
      ll += Math.log(tot);
      // Float64 densities of moderate size: 1e-12 absolute on probabilities in [0, 1].
      assertClose(g.resp.subarray(2 * i, 2 * i + 2), dens.map((v) => v / tot), 1e-12, 0, `${i}`);
    }
    assertAlmostEquals(g.logLikelihood, ll / n, 1e-12, covariance);
  }
});

Deno.test("gmm rejects bad k, covariance type and values that are not finite", () => {
  assertThrows(() => gmm(new Float64Array(4), 2, 2, { k: 3 }), RangeError, "k must be");
  assertThrows(
    // deno-lint-ignore no-explicit-any
    () => gmm(new Float64Array(4), 2, 2, { k: 1, covariance: "tied" as any }),
    RangeError,
    "covariance",
  );
  assertThrows(
    () => gmm(new Float64Array([0, 1, Infinity, 3]), 4, 1, { k: 2 }),
    RangeError,
    "Cannot fit GMM: the value at row 2, column 0 is Infinity",
  );
});

Deno.test("gmm rejects a bad init, regCovar, maxIter or nInit, and a singular covariance at regCovar 0", () => {
  const x = new Float64Array([0, 1, 5, 6]);
  assertThrows(
    () => gmm(x, 4, 1, { k: 2, init: "random" as unknown as "kmeans" }),
    RangeError,
    'init must be "kmeans"',
  );
  assertThrows(() => gmm(x, 4, 1, { k: 2, regCovar: -1e-6 }), RangeError, "regCovar must be >= 0");
  assertThrows(() => gmm(x, 4, 1, { k: 2, maxIter: 2.5 }), RangeError, "maxIter must be >= 1");
  assertThrows(() => gmm(x, 4, 1, { k: 2, maxIter: 0 }), RangeError, "maxIter must be >= 1");
  assertThrows(() => gmm(x, 4, 1, { k: 2, nInit: 0 }), RangeError, "nInit must be >= 1");
  assertThrows(() => gmm(x, 4, 1, { k: 2, nInit: 1.5 }), RangeError, "nInit must be >= 1");
  // Three 2-D points at the origin: the means and the covariance are exactly 0.
  assertThrows(
    () => gmm(new Float64Array(6), 3, 2, { k: 1, regCovar: 0 }),
    RangeError,
    "covariance of component 0 is not positive definite: increase regCovar (pivot 0 is 0)",
  );
});

Deno.test("gmm adds regCovar to the covariance's diagonal only", () => {
  const x = new Float64Array([1, 2, 3, 5, 2, 1, 0, 4]); // the k = 1 case above
  const r = gmm(x, 4, 2, { k: 1, covariance: "full", regCovar: 0.5 });
  const cxx = 5 / 4, cyy = 10 / 4, cxy = 1 / 4;
  assertClose(r.covariances, [cxx + 0.5, cxy, cxy, cyy + 0.5], 1e-12, 0);
});

/** Two overlapping 2-D groups: EM needs several iterations, and at k = 4 the second of two
 * restarts from seed 0 ends higher than the first. */
function overlapping2d(): Float64Array {
  const r = new Rng(3);
  const x = new Float64Array(400 * 2);
  for (let i = 0; i < 400; i++) {
    const c = i < 250 ? 0 : 1.8;
    x[i * 2] = c + r.normal();
    x[i * 2 + 1] = c + 0.6 * r.normal() + 0.3 * x[i * 2];
  }
  return x;
}

Deno.test("gmm keeps the restart of highest log-likelihood; defaults are full, 1 restart, tol 1e-3, maxIter 100", () => {
  const x = overlapping2d(), n = 400, d = 2, k = 4;
  // The restarts draw from one Rng in turn (only the k-means initialisation draws).
  const shared = new Rng(3);
  const singles = Array.from({ length: 8 }, () => gmm(x, n, d, { k, rng: shared }));
  const lls = singles.map((s) => s.logLikelihood);
  const best = gmm(x, n, d, { k, nInit: 8, rng: new Rng(3) });
  assert(new Set(lls).size > 1, "restarts differ");
  assertEquals(best.logLikelihood, Math.max(...lls));
  assertEquals(best.means, singles[lls.indexOf(Math.max(...lls))].means);
  const defaults = {
    covariance: "full",
    nInit: 1,
    seed: 0,
    tol: 1e-3,
    maxIter: 100,
    regCovar: 1e-6,
  } as const;
  const plain = gmm(x, n, d, { k });
  assertEquals(plain, gmm(x, n, d, { k, ...defaults }));
  assertEquals(plain.covariances.length, k * d * d);
  assert(plain.nIter > 3 && plain.converged, `${plain.nIter} iterations`);
  assertNotEquals(plain.nIter, gmm(x, n, d, { k, ...defaults, tol: 1e-1 }).nIter);
  assertNotEquals(plain.logLikelihood, gmm(x, n, d, { k, ...defaults, nInit: 2 }).logLikelihood);
});

Deno.test("gmm stopped by maxIter reports maxIter iterations, not converged", () => {
  const x = overlapping2d();
  const r = gmm(x, 400, 2, { k: 4, maxIter: 2, tol: 0 });
  assertEquals(r.nIter, 2);
  assertEquals(r.converged, false);
});

Deno.test("gmm with maxIter 1 runs one EM iteration from the k-means start, as written out in 1-D", () => {
  const x = mixture1d(), n = 600, k = 2, reg = 1e-6;
  // The start: k-means labels from the same generator (gmm's first draw), then an M-step.
  const labels = kmeans(x, n, 1, { k, nInit: 1, rng: new Rng(5) }).labels;
  const mStep = (resp: number[][]) => {
    const nk = [0, 1].map((j) => resp.reduce((s, r) => s + r[j], 0) + 10 * Number.EPSILON);
    const mu = [0, 1].map((j) => resp.reduce((s, r, i) => s + r[j] * x[i], 0) / nk[j]);
    const v = [0, 1].map((j) =>
      resp.reduce((s, r, i) => s + r[j] * (x[i] - mu[j]) ** 2, 0) / nk[j] + reg
    );
    return { w: nk.map((c) => c / n), mu, v };
  };
  const start = mStep(Array.from(labels, (l) => [l === 0 ? 1 : 0, l === 1 ? 1 : 0]));
  // One E-step and one M-step.
  const resp = Array.from(x, (xi) => {
    const p = [0, 1].map((j) =>
      start.w[j] * Math.exp(-0.5 * (xi - start.mu[j]) ** 2 / start.v[j]) /
      Math.sqrt(2 * Math.PI * start.v[j])
    );
    return p.map((pj) => pj / (p[0] + p[1]));
  });
  const one = mStep(resp);
  const r = gmm(x, n, 1, { k, maxIter: 1, tol: 0, rng: new Rng(5), covariance: "diag" });
  assertEquals(r.nIter, 1);
  assertClose(r.means, one.mu, 1e-12, 1e-10, "means after one iteration");
  assertClose(r.covariances, one.v, 1e-12, 1e-10, "variances after one iteration");
  // Not the start's (an EM loop that ran no iteration at maxIter 1).
  assert(Math.abs(r.means[0] - start.mu[0]) > 1e-9 || Math.abs(r.means[1] - start.mu[1]) > 1e-9);
});

Deno.test("gmm stops on the absolute change of the mean log-likelihood: the same iterations for data scaled by 1000 (regCovar scaled with it), whose log-likelihood is shifted", () => {
  const x = overlapping2d(), n = 400, d = 2, k = 4;
  const big = x.map((v) => 1000 * v);
  for (const tol of [1e-2, 1e-3, 1e-4]) {
    const a = gmm(x, n, d, { k, tol, regCovar: 1e-6, seed: 2 });
    const b = gmm(big, n, d, { k, tol, regCovar: 1, seed: 2 });
    // log-likelihood per sample shifted by -d·ln 1000; EM's iterates scaled.
    assertAlmostEquals(b.logLikelihood, a.logLikelihood - d * Math.log(1000), 1e-6);
    assertEquals(b.nIter, a.nIter, `tol ${tol}`);
    assertEquals([...b.labels], [...a.labels]);
    assert(a.converged && a.nIter > 2, `tol ${tol}: ${a.nIter}`);
  }
});

Deno.test("relativeRegCovar is rel times the mean population variance (divided by n, not n - 1) of the columns", () => {
  // Columns [0, 2] and [1, 7]: population variances 1 and 9, mean 5.
  assertEquals(relativeRegCovar(new Float64Array([0, 1, 2, 7]), 2, 2), 1e-6 * 5);
  assertEquals(relativeRegCovar(new Float64Array([0, 1, 2, 7]), 2, 2, 0.5), 2.5);
  // No spread: rel itself.
  assertEquals(relativeRegCovar(new Float64Array([3, 3, 3]), 3, 1), 1e-6);
});

Deno.test("gmm's stop compares the log-likelihood change below tol, strictly: tol 0 never converges", () => {
  // One component: every M step gives the same parameters, so the change is exactly 0 from the
  // second iteration on.
  const x = mixture1d();
  const zero = gmm(x, 600, 1, { k: 1, maxIter: 6, tol: 0 });
  assertEquals([zero.converged, zero.nIter], [false, 6]);
  const tiny = gmm(x, 600, 1, { k: 1, maxIter: 6, tol: 1e-300 });
  assertEquals([tiny.converged, tiny.nIter], [true, 2]);
});

Deno.test("gmm labels a sample whose responsibilities tie by the first of the tied components", () => {
  // Three identical points, three components: equal means, covariances and weights, so every
  // responsibility is exactly 1/3; the label is the first maximum (as argmax and nearestCentres).
  for (const covariance of ["diag", "full"] as const) {
    const r = gmm(new Float64Array([5, 1, 5, 1, 5, 1]), 3, 2, { k: 3, covariance });
    assertEquals(r.resp[0], r.resp[2]);
    assertEquals([...r.labels], [0, 0, 0], covariance);
  }
});

Deno.test("gmm's default maxIter is 100 EM iterations", () => {
  // tol 0 never stops it (see above): the default bound does.
  const r = gmm(mixture1d(), 600, 1, { k: 1, tol: 0 });
  assertEquals([r.converged, r.nIter], [false, 100]);
});
