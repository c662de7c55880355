import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { umap2 } from "../../lib/cluster/embed.ts";
import { Rng } from "../../lib/util/rng.ts";
import { UMAP } from "../../lib/deps.ts";

/** Three Gaussian blobs of `per` points in 9-D, centres 6 apart, unit spread. */
function blobs(per: number, seed = 3): { x: Float64Array; labels: number[] } {
  const rng = new Rng(seed), d = 9, x = new Float64Array(3 * per * d), labels: number[] = [];
  for (let i = 0; i < 3 * per; i++) {
    const c = i % 3;
    labels.push(c);
    for (let j = 0; j < d; j++) x[i * d + j] = (j === c ? 6 : 0) + rng.normal();
  }
  return { x, labels };
}

Deno.test("umap2: well-separated groups stay separated (nearest embedded neighbour in the same group)", async () => {
  const { x, labels } = blobs(40);
  const e = await umap2(x, 120, 9, { seed: 1 });
  assertEquals(e.index.length, 120);
  let same = 0;
  for (let i = 0; i < 120; i++) {
    let best = -1, bd = Infinity;
    for (let j = 0; j < 120; j++) {
      const dd = (e.x[i] - e.x[j]) ** 2 + (e.y[i] - e.y[j]) ** 2;
      if (j !== i && dd < bd) [best, bd] = [j, dd];
    }
    if (labels[best] === labels[i]) same++;
  }
  assert(same >= 118, `${same} of 120 nearest neighbours in the same group`);
});

Deno.test("umap2: reproducible for a seed; a seeded subset of at most maxPoints rows", async () => {
  const { x } = blobs(20);
  const a = await umap2(x, 60, 9, { seed: 5, maxPoints: 25 });
  const b = await umap2(x, 60, 9, { seed: 5, maxPoints: 25 });
  const c = await umap2(x, 60, 9, { seed: 6, maxPoints: 25 });
  assertEquals([Array.from(a.x), Array.from(a.y)], [Array.from(b.x), Array.from(b.y)]);
  assertEquals(Array.from(a.index), Array.from(b.index));
  assert(Array.from(a.index).join() !== Array.from(c.index).join(), "another seed, another subset");
  assertEquals(a.index.length, 25);
  assert(a.index.every((v, i) => v < 60 && (i === 0 || v > a.index[i - 1])), "ascending rows");
  await assertRejects(() => umap2(new Float64Array(4), 2, 2), RangeError, "at least 3 points");
});

Deno.test("umap2: onEpoch counts every optimisation epoch, and the embedding is umap-js's fit()", async () => {
  const { x } = blobs(20);
  const calls: [number, number][] = [];
  const a = await umap2(x, 60, 9, { seed: 5, onEpoch: (done, total) => calls.push([done, total]) });
  // umap-js runs 500 epochs on sets under 10,000 points.
  assertEquals(calls.length, 500);
  assert(calls.every(([done, total], i) => done === i + 1 && total === 500), "1..500 of 500");
  // The same seed through umap-js's own fit(): the same coordinates.
  const rows = Array.from({ length: 60 }, (_, i) => Array.from(x.subarray(i * 9, i * 9 + 9)));
  const rng = new Rng(5);
  const u = new UMAP({ nComponents: 2, nNeighbors: 15, minDist: 0.1, random: () => rng.next() });
  const e = u.fit(rows);
  assertEquals(Array.from(a.x), e.map((p) => p[0]));
  assertEquals(Array.from(a.y), e.map((p) => p[1]));
});

Deno.test("umap2: fewer points than the default 15 neighbours (8, 3, or maxPoints 5 of 60) still embed every point at finite coordinates", async () => {
  const { x } = blobs(20);
  for (const [n, maxPoints] of [[8, undefined], [3, undefined], [60, 5]] as const) {
    const e = await umap2(x.subarray(0, n * 9), n, 9, { seed: 2, maxPoints });
    const m = Math.min(n, maxPoints ?? n);
    assertEquals([e.x.length, e.y.length, e.index.length], [m, m, m]);
    assert([...e.x, ...e.y].every(Number.isFinite), `n ${n}: ${[...e.x]} ${[...e.y]}`);
    // Not all on one spot.
    assert(new Set(e.x).size > 1, `n ${n}: distinct positions`);
  }
});

Deno.test("umap2: maxPoints under 3 still embeds 3 points, and maxPoints equal to the points embeds them all as without a limit", async () => {
  const { x } = blobs(20);
  const few = await umap2(x, 60, 9, { seed: 4, maxPoints: 1 });
  assertEquals(few.index.length, 3);
  assert([...few.x, ...few.y].every(Number.isFinite), `${[...few.x]} ${[...few.y]}`);
  // No subset to draw: the seed goes to UMAP alone, as with the default limit.
  const all = await umap2(x, 60, 9, { seed: 4, maxPoints: 60, epochs: 50 });
  const free = await umap2(x, 60, 9, { seed: 4, epochs: 50 });
  assertEquals(Array.from(all.index), Array.from(free.index));
  assertEquals([Array.from(all.x), Array.from(all.y)], [Array.from(free.x), Array.from(free.y)]);
});
