import {
  bestK,
  gmmParameters,
  type KScore,
  kSelectionCsv,
  parseKList,
  selectK,
} from "../../lib/cluster/select_k.ts";
import { Rng } from "../../lib/util/rng.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";

/** `per` points around each of `centres` (2-D), spread `sd`. */
function blobs(centres: number[][], per: number, sd: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const x = new Float64Array(centres.length * per * 2);
  centres.forEach((c, j) => {
    for (let i = 0; i < per; i++) {
      x[(j * per + i) * 2] = c[0] + sd * rng.normal();
      x[(j * per + i) * 2 + 1] = c[1] + sd * rng.normal();
    }
  });
  return x;
}

Deno.test("parseKList reads a count, a range and a list, and refuses anything else", () => {
  assertEquals(parseKList("5"), [5]);
  assertEquals(parseKList("2:6"), [2, 3, 4, 5, 6]);
  assertEquals(parseKList("5:5"), [5]);
  assertEquals(parseKList(" 8, 3 ,3 "), [3, 8]);
  for (const bad of ["", "2-6", "a", "2:", "3.5", "6:2", "0,2"]) {
    assertThrows(() => parseKList(bad), RangeError, "Cannot read k");
  }
});

Deno.test("selectK finds four separated groups by every index", () => {
  const x = blobs([[0, 0], [8, 0], [0, 8], [8, 8]], 30, 0.7, 3);
  const opts = { nInit: 5, maxIter: 200, tol: 1e-4, seed: 1 } as const;
  for (const criterion of ["silhouette", "calinski-harabasz", "davies-bouldin"] as const) {
    const r = selectK(x, 120, 2, [2, 3, 4, 5, 6, 7], { method: "kmeans", criterion, ...opts });
    assertEquals(r.best, 4, criterion);
    assertEquals(r.scores.map((s) => s.k), [2, 3, 4, 5, 6, 7]);
    assert(r.scores.every((s) => s.bic === null && s.empty === 0));
    // The elbow: inertia falls steeply up to 4, slowly after.
    const dropTo4 = r.scores[1].inertia - r.scores[2].inertia;
    assert(dropTo4 > 10 * (r.scores[2].inertia - r.scores[3].inertia), "elbow at 4");
  }
  const g = selectK(x, 120, 2, [2, 3, 4, 5, 6], {
    method: "gmm",
    covariance: "full",
    criterion: "bic",
    ...opts,
  });
  assertEquals(g.best, 4);
  // BIC = −2·(total log-likelihood) + p·ln n with p = 6k − 1 for full 2-D covariances.
  assertEquals(gmmParameters(4, 2, "full"), 4 * 2 + 4 * 3 + 3);
  assertEquals(gmmParameters(4, 2, "diag"), 4 * 2 + 4 * 2 + 3);
  assert(g.scores.every((s) => s.bic !== null && Number.isFinite(s.bic)));
});

Deno.test("selectK refuses candidates it cannot score and BIC without a GMM", () => {
  const x = blobs([[0, 0], [5, 5]], 3, 0.1, 1);
  const opts = { method: "kmeans", nInit: 2, maxIter: 50, tol: 1e-4, seed: 0 } as const;
  assertThrows(() => selectK(x, 6, 2, [1, 2], opts), RangeError, "2..5");
  assertThrows(() => selectK(x, 6, 2, [2, 6], opts), RangeError, "n = 6 samples");
  assertThrows(() => selectK(x, 6, 2, [2, 3], { ...opts, criterion: "bic" }), RangeError, "gmm");
});

Deno.test("selectK scores k without a silhouette when the silhouette's sample misses a cluster", () => {
  // Two blobs and one far outlier: at k = 2 the outlier is a cluster of its own, which a
  // 60-point silhouette sample of 241 points misses 3 times in 4; the other indices remain.
  const x = new Float64Array([...blobs([[0, 0], [5, 5]], 120, 0.3, 2), 1e4, 1e4]);
  const opts = {
    method: "kmeans",
    nInit: 2,
    maxIter: 50,
    tol: 1e-4,
    silhouetteSample: 60,
  } as const;
  const at2 = Array.from({ length: 8 }, (_, seed) => {
    const r = selectK(x, 241, 2, [2, 3], { ...opts, seed });
    assert(Number.isFinite(r.scores[0].calinskiHarabasz) && r.scores[0].empty === 0);
    assert(r.scores.every((s) => Number.isFinite(s.daviesBouldin)));
    return r.scores[0].silhouette;
  });
  assert(at2.some(Number.isNaN) && at2.some(Number.isFinite), at2.join(" "));
});

Deno.test("bestK: the best by each index, the smallest k among ties, never a NaN", () => {
  const s = (k: number, sil: number, ch: number, db: number, bic: number | null): KScore => ({
    k,
    inertia: 10 / k,
    silhouette: sil,
    calinskiHarabasz: ch,
    daviesBouldin: db,
    bic,
    empty: 0,
  });
  const scores = [s(2, 0.5, 10, 0.9, 100), s(3, 0.7, 30, 0.4, 90), s(4, 0.7, 20, 0.6, 95)];
  assertEquals(bestK(scores, "silhouette"), 3); // tie 3 and 4: the smaller
  assertEquals(bestK(scores, "calinski-harabasz"), 3);
  assertEquals(bestK(scores, "davies-bouldin"), 3);
  assertEquals(bestK(scores, "bic"), 3);
  assertEquals(bestK([s(2, NaN, NaN, NaN, null), s(3, 0.1, 1, 2, 5)], "silhouette"), 3);
  const csv = kSelectionCsv({ scores: scores.slice(0, 2), criterion: "silhouette", best: 3 });
  assertEquals(csv.split("\n")[2], "3,3.3333333333333335,0.7,30,0.4,90,0,1");
});

Deno.test("selectK falls back to another index when no k has the criterion, and refuses when none has any", () => {
  // At k = 2 one cluster is the 3 far points: a 4-point silhouette sample of 203 points
  // mostly misses it, so k has no silhouette; Calinski–Harabasz uses all points.
  const x = new Float64Array([
    ...blobs([[0, 0], [5, 5]], 100, 0.3, 2),
    1e4,
    1e4,
    1e4 + 0.1,
    1e4,
    1e4,
    1e4 + 0.1,
  ]);
  const opts = { method: "kmeans", nInit: 3, maxIter: 50, tol: 1e-4, silhouetteSample: 4 } as const;
  let fellBack = 0;
  for (let seed = 0; seed < 6; seed++) {
    const r = selectK(x, 203, 2, [2], { ...opts, seed });
    if (r.scores.every((s) => Number.isNaN(s.silhouette))) {
      fellBack++;
      assertEquals([r.unscored, r.criterion, r.best], ["silhouette", "calinski-harabasz", 2]);
    } else assertEquals(r.unscored, undefined);
  }
  assert(fellBack > 0, "no seed missed the small cluster");
  // Every point equal: every GMM fit puts them all in one component, so no index has a value.
  const same = new Float64Array(20).fill(1);
  assertThrows(
    () => selectK(same, 10, 2, [2, 3], { ...opts, method: "gmm", seed: 0 }),
    RangeError,
    "no candidate could be scored",
  );
});

Deno.test("selectK's fallback index picks its own best k, not the first candidate", () => {
  // 200 points near 0 and two far groups of 3: k = 3 separates all three, which
  // Calinski–Harabasz prefers to k = 2 by orders of magnitude. A 4-point silhouette sample
  // mostly misses both small groups, leaving no silhouette at any k.
  const x = new Float64Array([
    ...blobs([[0, 0]], 200, 0.3, 4),
    ...[1e4, 1e4, 1e4 + 0.1, 1e4, 1e4, 1e4 + 0.1],
    ...[-1e4, 1e4, -1e4 + 0.1, 1e4, -1e4, 1e4 + 0.1],
  ]);
  const opts = { method: "kmeans", nInit: 3, maxIter: 50, tol: 1e-4, silhouetteSample: 4 } as const;
  let fellBack = 0;
  for (let seed = 0; seed < 6; seed++) {
    const r = selectK(x, 206, 2, [2, 3], { ...opts, seed });
    if (r.unscored === undefined) continue;
    fellBack++;
    assertEquals([r.unscored, r.criterion, r.best], ["silhouette", "calinski-harabasz", 3]);
    assert(r.scores[1].calinskiHarabasz > r.scores[0].calinskiHarabasz);
  }
  assert(fellBack > 0, "no seed missed both small groups");
});
