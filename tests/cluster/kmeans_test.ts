import { assert, assertAlmostEquals, assertClose, assertEquals, assertThrows } from "../_assert.ts";
import { kmeans } from "../../lib/cluster/kmeans.ts";
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
