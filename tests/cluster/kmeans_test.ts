import {
  assert,
  assertAlmostEquals,
  assertClose,
  assertEquals,
  assertNotEquals,
  assertThrows,
} from "../_assert.ts";
import { kmeans, nearestCentres, relocateEmpty, Workspace } from "../../lib/cluster/kmeans.ts";
import { Rng } from "../../lib/util/rng.ts";

/** `perBlob` points around each centre with unit-variance normal noise; returns points and truth. */
function blobs(centres: number[][], perBlob: number, seed: number) {
  const r = new Rng(seed);
  const d = centres[0].length, n = centres.length * perBlob;
  const x = new Float32Array(n * d), truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % centres.length;
    truth[i] = c;
    for (let t = 0; t < d; t++) x[i * d + t] = centres[c][t] + r.normal();
  }
  return { x, truth, n, d };
}

Deno.test("kmeans recovers well-separated blobs exactly", () => {
  // Centres 30 apart with unit noise: no point is nearer another blob's centre.
  const { x, truth, n, d } = blobs([[0, 0, 0], [30, 0, 0], [0, 30, 0], [0, 0, 30]], 60, 1);
  const { labels, centers } = kmeans(x, n, d, { k: 4, nInit: 5, seed: 3 });
  const map = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    if (!map.has(truth[i])) map.set(truth[i], labels[i]);
    assertEquals(labels[i], map.get(truth[i]), `point ${i}`);
  }
  assertEquals(new Set(map.values()).size, 4);
  // Each centre is the mean of its blob: within 4 standard errors (1 / sqrt(60) = 0.13) of truth.
  const c0 = map.get(1)!;
  assertClose(centers.subarray(c0 * d, c0 * d + d), [30, 0, 0], 0.52, 0);
});

Deno.test("kmeans gives the same labels and centres twice with the same seed", () => {
  const { x, n, d } = blobs([[0, 0], [3, 0], [0, 3]], 100, 2);
  const a = kmeans(x, n, d, { k: 5, nInit: 4, seed: 11 });
  const b = kmeans(x, n, d, { k: 5, nInit: 4, seed: 11 });
  assertEquals(a.labels, b.labels);
  assertEquals(a.centers, b.centers);
  assertEquals(a.inertia, b.inertia);
});

Deno.test("kmeans on a hand-worked 1-D case finds centres 1 and 11 and inertia 4", () => {
  const x = new Float64Array([0, 1, 2, 10, 11, 12]);
  const r = kmeans(x, 6, 1, { k: 2, nInit: 3, seed: 0 });
  const cs = Array.from(r.centers).sort((a, b) => a - b);
  assertClose(cs, [1, 11], 1e-12, 0);
  assertAlmostEquals(r.inertia, 4, 1e-12);
  assertEquals(r.labels[0] === r.labels[2] && r.labels[3] === r.labels[5], true);
  assert(r.labels[0] !== r.labels[3]);
});

Deno.test("kmeans inertia equals the sum of squared distances to the returned centres", () => {
  const { x, n, d } = blobs([[0, 0], [2, 1]], 80, 4);
  const r = kmeans(x, n, d, { k: 3, nInit: 2, seed: 5 });
  let s = 0;
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    for (let c = 0; c < 3; c++) {
      let q = 0;
      for (let t = 0; t < d; t++) q += (x[i * d + t] - r.centers[c * d + t]) ** 2;
      best = Math.min(best, q);
      if (c === r.labels[i]) s += q;
    }
    // Labels are the nearest centres (consistent with the final assignment).
    let own = 0;
    for (let t = 0; t < d; t++) own += (x[i * d + t] - r.centers[r.labels[i] * d + t]) ** 2;
    assertAlmostEquals(own, best, 1e-9);
  }
  assertAlmostEquals(r.inertia, s, 1e-9 * s);
});

Deno.test("kmeans++ with k = n puts a centre on every point: zero inertia", () => {
  const r = new Rng(9);
  const x = new Float64Array(14 * 3).map(() => r.normal());
  const res = kmeans(x, 14, 3, { k: 14, nInit: 2, seed: 1 });
  assertEquals(res.inertia, 0);
  assertEquals(new Set(res.labels).size, 14);
});

Deno.test("kmeans with duplicate points and an empty cluster keeps finite centres", () => {
  // Three equal points and one other, k = 3: two centres must coincide, one cluster empties.
  for (let seed = 0; seed < 10; seed++) {
    const r = kmeans(new Float64Array([0, 0, 0, 5]), 4, 1, { k: 3, nInit: 1, seed });
    assertEquals(r.inertia, 0);
    assert(r.centers.every(Number.isFinite), `seed ${seed}: ${r.centers}`);
  }
});

Deno.test("kmeans gives a far outlier its own cluster", () => {
  // Merging the outlier costs inertia > 1000; the best split, {0, 0.1} {0.2, 0.3} {100}, has 0.01.
  const x = new Float64Array([0, 0.1, 0.2, 0.3, 100]);
  const r = kmeans(x, 5, 1, { k: 3, nInit: 10, seed: 2 });
  const cs = Array.from(r.centers).sort((a, b) => a - b);
  assertEquals(cs[2], 100);
  assertAlmostEquals(r.inertia, 0.01, 1e-12);
});

Deno.test("kmeans rejects k > n, n = 0 and a wrong array length", () => {
  assertThrows(() => kmeans(new Float64Array(4), 2, 2, { k: 3 }), RangeError, "k must be");
  assertThrows(() => kmeans(new Float64Array(0), 0, 2, { k: 1 }), RangeError, "n must be");
  assertThrows(() => kmeans(new Float64Array(5), 2, 2, { k: 1 }), TypeError, "n * d");
  assertThrows(() => kmeans(new Float64Array(4), 2, 2, { k: 0 }), RangeError, "k must be");
});

Deno.test("kmeans names the first value that is not finite instead of returning NaN centres", () => {
  const x = new Float32Array([0, 0, 1, 1, 5, NaN, 6, 6]);
  assertThrows(() => kmeans(x, 4, 2, { k: 2 }), RangeError, "row 2, column 1 is NaN");
  x[5] = 5;
  x[6] = -Infinity;
  assertThrows(() => kmeans(x, 4, 2, { k: 2 }), RangeError, "row 3, column 0 is -Infinity");
});

Deno.test("kmeans++ seeds one centre in each of four small far blobs beside a large one", () => {
  // 200 points around the origin and 5 around each of four centres 60–92 away (unit noise),
  // k = 5, one restart. D² seeding draws a point of an uncovered far blob with probability
  // > 0.99 per candidate (the covered blobs hold about 4 of the ~10^5 potential per point
  // of theirs against ~5·3600 per far blob), and keeps the best of 3 candidates, so every seed
  // covers all five blobs and Lloyd finds them. Uniform seeding would mostly pick points of
  // the large blob, and seeding against the first centre only would repeat a far blob; both
  // leave Lloyd in a local minimum that merges two far blobs (inertia > 10^4).
  const far = [[60, 0], [0, 80], [-70, 10], [20, -90]];
  const r = new Rng(21);
  const n = 200 + 5 * far.length, d = 2;
  const x = new Float64Array(n * d), truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const b = i < 200 ? -1 : Math.floor((i - 200) / 5);
    truth[i] = b + 1;
    for (let t = 0; t < d; t++) x[i * d + t] = (b < 0 ? 0 : far[b][t]) + r.normal();
  }
  for (let seed = 0; seed < 20; seed++) {
    const res = kmeans(x, n, d, { k: 5, nInit: 1, seed });
    // The right partition's inertia is about (n − 5)·d ≈ 430 (unit variance per coordinate).
    assert(res.inertia < 1000, `seed ${seed}: inertia ${res.inertia}`);
    const map = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      if (!map.has(truth[i])) map.set(truth[i], res.labels[i]);
      assertEquals(res.labels[i], map.get(truth[i]), `seed ${seed}, point ${i}`);
    }
    assertEquals(new Set(map.values()).size, 5, `seed ${seed}`);
  }
});

/** `n` points uniform in [0, 10)^d: no cluster structure, so restarts end in different minima. */
function uniform(n: number, d: number, seed: number): Float64Array {
  const r = new Rng(seed);
  return new Float64Array(n * d).map(() => 10 * r.next());
}

Deno.test("kmeans keeps the restart of lowest inertia; nInit defaults to 100", () => {
  // The restarts draw from one Rng in turn (only k-means++ seeding draws), so nInit runs from
  // Rng(s) are the single runs that share one Rng(s) object.
  const n = 300, d = 2, k = 6;
  const x = uniform(n, d, 4);
  const shared = new Rng(7);
  const singles = Array.from({ length: 100 }, () => kmeans(x, n, d, { k, nInit: 1, rng: shared }));
  const inertias = singles.map((s) => s.inertia);
  const min = Math.min(...inertias), first = inertias.indexOf(min);
  assert(new Set(inertias.map((v) => v.toFixed(6))).size > 3, "restarts differ");
  assert(first >= 10, `the best restart is number ${first}`); // so nInit 10 would miss it
  const best = kmeans(x, n, d, { k, nInit: 100, rng: new Rng(7) });
  assertEquals(best.inertia, min);
  assertEquals(best.labels, singles[first].labels);
  assertEquals(best.centers, singles[first].centers);
  // Unset: 100 restarts, from seed 0.
  const defaults = { nInit: 100, seed: 0, maxIter: 1000, tol: 1e-4 };
  assertEquals(kmeans(x, n, d, { k }), kmeans(x, n, d, { k, ...defaults }));
  assertNotEquals(kmeans(x, n, d, { k }), kmeans(x, n, d, { k, ...defaults, tol: 1e-1 }));
});

Deno.test("kmeans stops at a Lloyd fixed point: nearest-centre labels, centres the means", () => {
  // The last case needs the Elkan lower bound of a point to drop by the largest shift of the
  // other centres (a bound loosened by less kept a point on a farther centre there).
  for (
    const [n, d, k, seed] of [[400, 3, 8, 1], [400, 3, 8, 2], [400, 3, 8, 3], [300, 2, 15, 25]]
  ) {
    const x = uniform(n, d, seed);
    const res = kmeans(x, n, d, { k, nInit: 1, seed, tol: 0 });
    for (let i = 0; i < n; i++) {
      let best = -1, bestD = Infinity;
      for (let c = 0; c < k; c++) {
        let s = 0;
        for (let t = 0; t < d; t++) s += (x[i * d + t] - res.centers[c * d + t]) ** 2;
        if (s < bestD) [best, bestD] = [c, s];
      }
      assertEquals(res.labels[i], best, `seed ${seed}, point ${i}`);
    }
    for (let c = 0; c < k; c++) {
      const members = [...res.labels.keys()].filter((i) => res.labels[i] === c);
      assert(members.length > 0, `seed ${seed}: cluster ${c} is empty`);
      for (let t = 0; t < d; t++) {
        const mean = members.reduce((s, i) => s + x[i * d + t], 0) / members.length;
        assertAlmostEquals(res.centers[c * d + t], mean, 1e-12);
      }
    }
    // With tol 0 the run stops at the first iteration whose labels do not change: one
    // iteration fewer leaves the same labels, two fewer do not.
    const N = res.nIter;
    assert(N >= 3, `seed ${seed}: ${N} iterations`);
    const at = (maxIter: number) => kmeans(x, n, d, { k, nInit: 1, seed, tol: 0, maxIter });
    assertEquals(at(N - 1).labels, res.labels);
    assert(at(N - 2).labels.some((l, i) => l !== res.labels[i]), `seed ${seed}`);
    assertEquals(at(N - 1).nIter, N - 1);
  }
});

Deno.test("kmeans is scale invariant: tol is relative to the data's variance", () => {
  // Scaling by 2^10 is exact in every step, so a tolerance relative to the variance stops at
  // the same iteration with the same labels and centres x 1024.
  const n = 500, d = 2, k = 7;
  const x = uniform(n, d, 11);
  const big = x.map((v) => v * 1024);
  for (const tol of [1e-4, 1e-2]) {
    const a = kmeans(x, n, d, { k, nInit: 3, seed: 5, tol });
    const b = kmeans(big, n, d, { k, nInit: 3, seed: 5, tol });
    assertEquals(b.nIter, a.nIter);
    assertEquals(b.labels, a.labels);
    assertEquals(b.centers, a.centers.map((v) => v * 1024));
  }
});

Deno.test("kmeans stops when the squared centre shift is within tol x the mean per-feature variance", () => {
  // Replay one restart iteration by iteration (maxIter = 1, 2, ...) to get the centres after
  // each, hence the squared shift of iteration m >= 2; then tol just above the shift of an
  // iteration m where the labels still change must stop the run there.
  const n = 600, d = 3, k = 9, seed = 4;
  const x = uniform(n, d, 8);
  // Mean over features of the (population) variance, as scikit-learn's tol scaling.
  let mv = 0;
  for (let t = 0; t < d; t++) {
    let m = 0, v = 0;
    for (let i = 0; i < n; i++) m += x[i * d + t] / n;
    for (let i = 0; i < n; i++) v += (x[i * d + t] - m) ** 2 / n;
    mv += v / d;
  }
  const full = kmeans(x, n, d, { k, nInit: 1, seed, tol: 0 });
  assert(full.nIter >= 8, `${full.nIter} iterations`);
  const steps = Array.from(
    { length: full.nIter },
    (_, m) => kmeans(x, n, d, { k, nInit: 1, seed, tol: 0, maxIter: m + 1 }),
  );
  const shift = (m: number) =>
    // squared shift of iteration m (1-based), m >= 2
    steps[m - 1].centers.reduce((s, v, j) => s + (v - steps[m - 2].centers[j]) ** 2, 0);
  // The first iteration m >= 3 whose shift is below every earlier one from 2.
  let m = 3;
  while (shift(m) >= Math.min(...Array.from({ length: m - 2 }, (_, j) => shift(j + 2)))) m++;
  assert(m < full.nIter - 1, `m ${m} of ${full.nIter}`);
  const tol = (shift(m) * 1.000001) / mv;
  const res = kmeans(x, n, d, { k, nInit: 1, seed, tol });
  assertEquals(res.nIter, m);
  assertEquals(res.labels, steps[m - 1].labels);
  // A tol just below it runs on past m.
  assert(kmeans(x, n, d, { k, nInit: 1, seed, tol: (shift(m) * 0.999999) / mv }).nIter > m);
});

Deno.test("kmeans++ keeps the best of 2 + floor(ln k) D² candidates (scikit-learn's greedy seeding)", () => {
  // Replay the seeding with the same Rng calls: the first centre rng.int(n); then per centre,
  // 2 + floor(ln k) candidates, each the first point whose running sum of D² reaches
  // rng.next() * potential, keeping the one that leaves the least potential. One Lloyd step
  // (maxIter 1) then moves each seed to the mean of the points nearest it.
  const n = 200, d = 2, k = 9;
  const x = uniform(n, d, 6);
  const sq = (i: number, j: number) =>
    (x[i * d] - x[j * d]) ** 2 + (x[i * d + 1] - x[j * d + 1]) ** 2;
  for (const seed of [0, 1, 2]) {
    const r = new Rng(seed);
    const seeds = [r.int(n)];
    let closest = Array.from({ length: n }, (_, i) => sq(i, seeds[0]));
    const trials = 2 + Math.floor(Math.log(k));
    assertEquals(trials, 4);
    for (let c = 1; c < k; c++) {
      const pot = closest.reduce((s, v) => s + v, 0);
      const cands = Array.from({ length: trials }, () => {
        const u = r.next() * pot;
        let acc = 0;
        for (let i = 0; i < n; i++) if ((acc += closest[i]) >= u) return i;
        return n - 1;
      });
      let best: number[] = [], bestPot = Infinity, bestC = -1;
      for (const ci of cands) {
        const m = closest.map((v, i) => Math.min(v, sq(i, ci)));
        const p = m.reduce((s, v) => s + v, 0);
        if (p < bestPot) [best, bestPot, bestC] = [m, p, ci];
      }
      closest = best;
      seeds.push(bestC);
    }
    const sums = new Float64Array(k * d), counts = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      let c = 0;
      for (let j = 1; j < k; j++) if (sq(i, seeds[j]) < sq(i, seeds[c])) c = j;
      counts[c]++;
      for (let t = 0; t < d; t++) sums[c * d + t] += x[i * d + t];
    }
    const res = kmeans(x, n, d, { k, nInit: 1, seed, maxIter: 1 });
    for (let j = 0; j < k * d; j++) {
      assertAlmostEquals(
        res.centers[j],
        sums[j] / counts[Math.floor(j / d)],
        1e-12,
        `seed ${seed}`,
      );
    }
  }
});

Deno.test("kmeans reports every restart, in order, and the reports change nothing", () => {
  // cluster --raw's progress bar: one restart on a large set's spectrograms takes seconds.
  const { x, n, d } = blobs([[0, 0], [10, 0], [0, 10]], 20, 4);
  const done: number[] = [];
  const a = kmeans(x, n, d, { k: 3, nInit: 4, seed: 2, onRestart: (m) => void done.push(m) });
  assertEquals(done, [1, 2, 3, 4]);
  const b = kmeans(x, n, d, { k: 3, nInit: 4, seed: 2 });
  assertEquals(a.labels, b.labels);
});

Deno.test("kmeans with more clusters than distinct points (empty clusters relocated from clusters of one point) keeps finite centres", () => {
  // Found by a mutation audit: with seed 14, a relocation that took a cluster's only point
  // left that cluster empty and its centre NaN (0/0).
  const x = new Float64Array([0, 1, 0, 0, 0, 0, 2, 1, 1, 2]);
  for (let seed = 0; seed < 40; seed++) {
    const r = kmeans(x, 10, 1, { k: 9, nInit: 1, seed });
    assert(r.centers.every(Number.isFinite), `seed ${seed}: ${r.centers}`);
    assertEquals(r.inertia, 0, `seed ${seed}`);
  }
});

Deno.test("relocateEmpty moves an empty cluster's centre onto the point farthest from its centre, from a cluster that keeps another point, and updates the donor's mean", () => {
  // 1-D: cluster 0 = {1.5, 0, 2} (mean 7/6), cluster 1 = {10}, whose old centre was 4 (so its
  // point is the farthest of all, 36, but it is the cluster's only one), cluster 2 empty.
  const x = new Float64Array([1.5, 0, 2, 10]);
  const w = new Workspace(4, 1, 3);
  w.labels.set([0, 0, 0, 1]);
  w.counts.set([3, 1, 0]);
  w.newCenters.set([3.5 / 3, 10, 99]);
  w.dist.set([(1.5 - 7 / 6) ** 2, (7 / 6) ** 2, (2 - 7 / 6) ** 2, 36]);
  relocateEmpty(x, 4, 1, 3, w);
  // The point at 0 (the farthest eligible one; not the first, 1.5) becomes cluster 2.
  assertEquals([...w.labels], [0, 2, 0, 1]);
  assertEquals([...w.counts], [2, 1, 1]);
  assertAlmostEquals(w.newCenters[0], 1.75, 1e-12);
  assertEquals([w.newCenters[1], w.newCenters[2]], [10, 0]);
});

Deno.test("nearestCentres gives a point equally near two centres the lower index", () => {
  assertEquals([...nearestCentres([1, 1, 5], [0, 2, 5, 5], 3, 1)], [0, 0, 2]);
});

Deno.test("kmeans's relocation measures each point from its own cluster's centre: with every point on a seed, it takes the first point of a cluster that keeps another", () => {
  // Two distinct values, three clusters: the third seed repeats a value and its cluster starts
  // empty. Every point lies on its own centre (distance 0), so the point relocated is the
  // first one, x[0], whatever value the first seed took; measured from centre 0 instead, the
  // points of the other value would be farthest when centre 0 sits at 0 (seeds 0 and 3).
  const x = new Float64Array([0, 0, 0, 10, 10, 10, 10]);
  for (let seed = 0; seed < 6; seed++) {
    const r = kmeans(x, 7, 1, { k: 3, nInit: 1, seed });
    const [a, b, c] = r.labels;
    assert(a !== b && b === c, `seed ${seed}: ${r.labels}`);
    assertEquals(new Set(r.labels).size, 3, `seed ${seed}`);
    assertEquals(r.inertia, 0, `seed ${seed}`);
  }
});

Deno.test("kmeans's default tol is 1e-4 (of the mean variance), scikit-learn's", () => {
  // Standard normal points in 6 clusters: the stop comes at 12 iterations at tol 1e-4 (and
  // 1e-5), at 9 at 1e-3.
  const r = new Rng(3);
  const x = Float64Array.from({ length: 800 }, () => r.normal());
  const run = (tol?: number) =>
    kmeans(x, 400, 2, { k: 6, nInit: 1, seed: 1, ...(tol === undefined ? {} : { tol }) });
  const plain = run(), at = run(1e-4), loose = run(1e-3);
  assertEquals([plain.nIter, plain.inertia], [at.nIter, at.inertia]);
  assert(loose.nIter < at.nIter, `${loose.nIter} vs ${at.nIter}`);
});
