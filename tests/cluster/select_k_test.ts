import {
  bestK,
  gmmParameters,
  type KScore,
  kSelectionCsv,
  kSelectionSeries,
  parseKList,
  selectK,
  writeKSelection,
} from "../../lib/cluster/select_k.ts";
import { LINE_MARK_COLOR, lineChart } from "../../lib/plot/charts.ts";
import { join } from "node:path";
import { countColor, decodePng } from "../plot/_decode_png.ts";
import { gmm, relativeRegCovar } from "../../lib/cluster/gmm.ts";
import { kmeans, nearestCentres } from "../../lib/cluster/kmeans.ts";
import { withinClusterSS } from "../../lib/metrics/internal.ts";
import { silhouette } from "../../lib/metrics/silhouette.ts";
import { Rng } from "../../lib/util/rng.ts";
import { assert, assertClose, assertEquals, assertRejects, assertThrows } from "../_assert.ts";

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
  for (const bad of ["", "2-6", "a", "2:", "3.5", "6:2", "5:4", "0,2"]) {
    assertThrows(() => parseKList(bad), RangeError, "Cannot read k");
  }
});

Deno.test("selectK finds four separated groups by every index", async () => {
  const x = blobs([[0, 0], [8, 0], [0, 8], [8, 8]], 30, 0.7, 3);
  const opts = { nInit: 5, maxIter: 200, tol: 1e-4, seed: 1 } as const;
  for (const criterion of ["silhouette", "calinski-harabasz", "davies-bouldin"] as const) {
    const r = await selectK(x, 120, 2, [2, 3, 4, 5, 6, 7], {
      method: "kmeans",
      criterion,
      ...opts,
    });
    assertEquals(r.best, 4, criterion);
    assertEquals(r.scores.map((s) => s.k), [2, 3, 4, 5, 6, 7]);
    assert(r.scores.every((s) => s.bic === null && s.empty === 0));
    // The elbow: inertia falls steeply up to 4, slowly after.
    const dropTo4 = r.scores[1].inertia - r.scores[2].inertia;
    assert(dropTo4 > 10 * (r.scores[2].inertia - r.scores[3].inertia), "elbow at 4");
  }
  const g = await selectK(x, 120, 2, [2, 3, 4, 5, 6], {
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

Deno.test("selectK refuses candidates it cannot score and BIC without a GMM", async () => {
  const x = blobs([[0, 0], [5, 5]], 3, 0.1, 1);
  const opts = { method: "kmeans", nInit: 2, maxIter: 50, tol: 1e-4, seed: 0 } as const;
  await assertRejects(() => selectK(x, 6, 2, [1, 2], opts), RangeError, "2..5");
  await assertRejects(() => selectK(x, 6, 2, [2, 6], opts), RangeError, "n = 6 samples");
  await assertRejects(
    () => selectK(x, 6, 2, [2, 3], { ...opts, criterion: "bic" }),
    RangeError,
    "gmm",
  );
});

Deno.test("selectK scores k without a silhouette when the silhouette's sample misses a cluster", async () => {
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
  const at2 = await Promise.all(Array.from({ length: 8 }, async (_, seed) => {
    const r = await selectK(x, 241, 2, [2, 3], { ...opts, seed });
    assert(Number.isFinite(r.scores[0].calinskiHarabasz) && r.scores[0].empty === 0);
    assert(r.scores.every((s) => Number.isFinite(s.daviesBouldin)));
    return r.scores[0].silhouette;
  }));
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

Deno.test("selectK falls back to another index when no k has the criterion, and refuses when none has any", async () => {
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
    const r = await selectK(x, 203, 2, [2], { ...opts, seed });
    if (r.scores.every((s) => Number.isNaN(s.silhouette))) {
      fellBack++;
      assertEquals([r.unscored, r.criterion, r.best], ["silhouette", "calinski-harabasz", 2]);
    } else assertEquals(r.unscored, undefined);
  }
  assert(fellBack > 0, "no seed missed the small cluster");
  // Every point equal: every GMM fit puts them all in one component, so no index has a value.
  const same = new Float64Array(20).fill(1);
  await assertRejects(
    () => selectK(same, 10, 2, [2, 3], { ...opts, method: "gmm", seed: 0 }),
    RangeError,
    "no candidate could be scored",
  );
});

Deno.test("selectK's fallback index picks its own best k, not the first candidate", async () => {
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
    const r = await selectK(x, 206, 2, [2, 3], { ...opts, seed });
    if (r.unscored === undefined) continue;
    fellBack++;
    assertEquals([r.unscored, r.criterion, r.best], ["silhouette", "calinski-harabasz", 3]);
    assert(r.scores[1].calinskiHarabasz > r.scores[0].calinskiHarabasz);
  }
  assert(fellBack > 0, "no seed missed both small groups");
});

/** Scores of k = 2..6 where each index prefers another k. */
function mixedScores(): KScore[] {
  const s = (k: number, sil: number, ch: number, db: number, inertia: number): KScore => ({
    k,
    inertia,
    silhouette: sil,
    calinskiHarabasz: ch,
    daviesBouldin: db,
    bic: null,
    empty: 0,
  });
  return [
    s(2, 0.30, 50, 0.90, 100),
    s(3, 0.55, 80, 0.70, 60),
    s(4, 0.40, 120, 0.45, 40),
    s(5, 0.35, 90, 0.60, 30),
    s(6, NaN, 70, 0.80, 25), // a fit whose silhouette could not be computed
  ];
}

const r12 = (v: number) => Math.round(v * 1e12) / 1e12;

Deno.test("kSelectionSeries scales every index so that 1 is its best k, lower-is-better negated", () => {
  const scores = mixedScores();
  for (
    const [criterion, best] of [["silhouette", 3], ["calinski-harabasz", 4], [
      "davies-bouldin",
      4,
    ]] as const
  ) {
    assertEquals(bestK(scores, criterion), best, criterion);
    const c = kSelectionSeries({ scores, criterion, best });
    const [sil, ch, db, inertia] = c.series;
    // Each named with its raw range, which scaling to [0, 1] hides.
    assertEquals(c.series.map((s) => s.name), [
      "silhouette 0.3 to 0.55",
      "Calinski-Harabasz 50 to 120",
      "Davies-Bouldin (lower) 0.45 to 0.9",
      "inertia (elbow) 25 to 100",
    ]);
    // Higher is better: the silhouette's best (k = 3, 0.55) is 1, its worst (k = 2, 0.30) 0.
    assertEquals(sil.y.slice(0, 4).map(r12), [0, 1, 0.4, 0.2]);
    // The NaN silhouette of k = 6 is not drawn, and in particular not as the best.
    assert(Number.isNaN(sil.y[4]), `silhouette at k = 6 is ${sil.y[4]}`);
    assertClose(ch.y, [0, 30 / 70, 1, 40 / 70, 20 / 70], 1e-12, 0);
    // Lower is better: the least Davies–Bouldin (k = 4, 0.45) is 1, the largest (k = 2) 0.
    assertClose(db.y, [0, 0.2 / 0.45, 1, 0.3 / 0.45, 0.1 / 0.45], 1e-12, 0);
    assertEquals(inertia.y[4], 1);
    assertEquals(inertia.y[0], 0);
    // The mark: the chosen k, on the criterion's line, at its best (1).
    assertEquals(c.mark, { x: best, y: 1, label: `k = ${best}` });
    assertEquals(c.series[c.criterionSeries].y[scores.findIndex((s) => s.k === best)], 1);
  }
  // BIC (lower is better) gets a fifth line when the fits were GMMs.
  const gmmScores = scores.map((s, i) => ({ ...s, bic: [500, 420, 380, 400, 450][i] }));
  assertEquals(bestK(gmmScores, "bic"), 4);
  const g = kSelectionSeries({ scores: gmmScores, criterion: "bic", best: 4 });
  assertEquals(g.series[g.criterionSeries].name, "BIC (lower) 380 to 500");
  assertEquals(g.series[g.criterionSeries].y[0], 0);
  assertEquals(g.mark, { x: 4, y: 1, label: "k = 4" });
  // A criterion that fell back (no silhouette at any k): the mark is on the index used.
  const fell = kSelectionSeries({
    scores: scores.map((s) => ({ ...s, silhouette: NaN })),
    criterion: "calinski-harabasz",
    best: 4,
    unscored: "silhouette",
  });
  assertEquals(fell.series[fell.criterionSeries].name, "Calinski-Harabasz 50 to 120");
  assertEquals(fell.mark, { x: 4, y: 1, label: "k = 4" });
  // An index that could not be computed at any k stays undrawn (it was all 1s, "best").
  const none = scores.map((s) => ({ ...s, silhouette: NaN }));
  const n = kSelectionSeries({ scores: none, criterion: "davies-bouldin", best: 4 });
  assert(n.series[0].y.every(Number.isNaN), `${n.series[0].y}`);
});

Deno.test("k_selection.png marks the chosen k on its criterion's line", async () => {
  const dir = await Deno.makeTempDir();
  const scores = mixedScores();
  const sel = { scores, criterion: "davies-bouldin" as const, best: 4 };
  await writeKSelection(dir, sel);
  const png = decodePng(await Deno.readFile(join(dir, "k_selection.png")));
  // The dashed line and the ring; the mark's colour is in no series' palette.
  assert(countColor(png.rgba, LINE_MARK_COLOR) > 100, "the mark is drawn");
  // It is where lineChart draws the same series with that mark, and nowhere else.
  const { series, mark } = kSelectionSeries(sel);
  const without = decodePng(lineChart(series, {
    title: `k selection: k = 4 by davies-bouldin (each index scaled, 1 = best)`,
    xLabel: "k",
    yLabel: "scaled index",
  }));
  assertEquals(countColor(without.rgba, LINE_MARK_COLOR), 0);
  assertEquals(mark.x, 4);
  const withMark = decodePng(lineChart(series, {
    title: `k selection: k = 4 by davies-bouldin (each index scaled, 1 = best)`,
    xLabel: "k",
    yLabel: "scaled index",
    mark,
  }));
  assert(png.rgba.every((v, i) => v === withMark.rgba[i]), "k_selection.png is that chart");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("selectK's GMM scores: diag by default, at most 10 restarts, exact silhouette up to 4000 points", async () => {
  // 450 points of one wide Gaussian: restarts 11-30 find higher likelihoods than the first 10.
  const r = new Rng(1);
  const n = 450, x = new Float64Array(n * 2).map(() => 4 * r.normal());
  const opts = { method: "gmm", nInit: 30, maxIter: 100, tol: 1e-3, seed: 2 } as const;
  const sel = await selectK(x, n, 2, [3, 5], opts);
  for (const s of sel.scores) {
    const g = gmm(x, n, 2, {
      k: s.k,
      covariance: "diag",
      nInit: 10,
      maxIter: 100,
      tol: 1e-3,
      seed: 2,
      regCovar: relativeRegCovar(x, n, 2),
    });
    assertEquals(s.bic, -2 * g.logLikelihood * n + gmmParameters(s.k, 2, "diag") * Math.log(n));
    // Scored by each point's nearest mean, where DEC would start it, not by the posteriors.
    const labels = nearestCentres(x, g.means, n, 2);
    assertEquals(s.inertia, withinClusterSS(x, n, 2, labels));
    assertEquals(s.silhouette, silhouette(x, n, 2, labels, { sampleSize: n }));
  }
});

Deno.test("selectK counts the clusters a fit leaves empty", async () => {
  // Three distinct values and k = 4: two GMM components share the four zeros, and the heavier
  // one is every zero's most likely component, so the other labels none.
  const x = new Float64Array([0, 0, 0, 0, 5, 5, 5, 10, 10]);
  const sel = await selectK(x, 9, 1, [2, 4], {
    method: "gmm",
    nInit: 2,
    maxIter: 50,
    tol: 1e-4,
    seed: 0,
  });
  assertEquals(sel.scores.map((s) => s.empty), [0, 1]);
});

Deno.test("a GMM's choice of k and its clusters do not depend on the codes' scale (regCovar in proportion to their spread)", async () => {
  const x = blobs([[0, 0], [8, 0], [0, 8]], 30, 0.7, 7);
  const truth = Array.from({ length: 90 }, (_, i) => Math.floor(i / 30));
  const opts = {
    method: "gmm",
    criterion: "bic",
    nInit: 3,
    maxIter: 200,
    tol: 1e-4,
    seed: 2,
  } as const;
  for (const covariance of ["diag", "full"] as const) {
    const picks = [];
    // Codes as an undertrained encoder gives them: a spread of 7e-5 around centres 8e-4 apart,
    // where scikit-learn's absolute 1e-6 added to every variance (5e-9) drowned the clusters.
    for (const s of [1, 1e-4, 1e4]) {
      const xs = x.map((v) => v * s);
      const r = await selectK(xs, 90, 2, [2, 3, 4, 5], { ...opts, covariance });
      picks.push(r.best);
      const g = gmm(xs, 90, 2, {
        k: 3,
        covariance,
        nInit: 3,
        seed: 2,
        regCovar: relativeRegCovar(xs, 90, 2),
      });
      // The same partition as the truth, up to the clusters' order.
      const pairs = new Set(Array.from(g.labels, (l, i) => `${l}:${truth[i]}`));
      assertEquals(pairs.size, 3, `scale ${s} ${covariance}`);
    }
    assertEquals(picks, [3, 3, 3], covariance);
  }
  assertEquals(relativeRegCovar(new Float64Array(6).fill(7), 3, 2), 1e-6, "no spread: 1e-6");
});

Deno.test("selectK's k-means silhouette is exact for 3000 points, below its default sample of 4000", async () => {
  // Overlapping groups, so that a sample's silhouette differs from the exact one.
  const x = blobs([[0, 0], [2, 0], [1, 2]], 1000, 1, 4);
  const n = 3000;
  const opts = { method: "kmeans", nInit: 2, maxIter: 50, tol: 1e-4, seed: 3 } as const;
  const sel = await selectK(x, n, 2, [3], opts);
  const { labels } = kmeans(x, n, 2, { k: 3, nInit: 2, maxIter: 50, tol: 1e-4, seed: 3 });
  const exact = silhouette(x, n, 2, labels, { sampleSize: n });
  assertEquals(sel.scores[0].silhouette, exact);
  // A sample of 2000 would not have given it.
  assert(silhouette(x, n, 2, labels, { sampleSize: 2000, seed: 3 }) !== exact);
});
