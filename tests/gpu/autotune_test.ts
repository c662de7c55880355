/**
 * The tuning search (lib/gpu/autotune.ts) against made-up costs: which fields it keeps,
 * when it times again, and what it does with failures and its deadline.
 */
import {
  candidateValues,
  costOf,
  searchTuning,
  type Timing,
  TUNE_FIELDS,
  tuningKey,
} from "../../lib/gpu/autotune.ts";
import { defaultTuning, type Tuning, TUNING_FIELDS, tuningValue } from "../../lib/gpu/kernels.ts";
import { assert, assertEquals } from "../_assert.ts";

const GPU: Tuning = defaultTuning(false);

/** A timing whose cost is `cost` (one batch of 1, inference of 1). */
function timing(cost: number): Timing {
  return { trainMs: [cost], inferMs: cost, inferBatch: 1, cost: costOf([cost], [1], cost, 1) };
}

/** Costs that multiply per field value: 1 unless listed. */
function separable(factors: Record<string, number>) {
  const calls: Partial<Tuning>[] = [];
  const measure = (t: Partial<Tuning>) => {
    calls.push(t);
    let c = 10;
    for (const [k, v] of Object.entries(t)) c *= factors[`${k}=${v}`] ?? 1;
    return Promise.resolve(timing(c));
  };
  return { calls, measure };
}

Deno.test("autotune: every searched field is a Tuning field, and none is tried at its own value", () => {
  for (const f of TUNE_FIELDS) assert(TUNING_FIELDS.includes(f), f);
  const soft = defaultTuning(true, 2);
  for (const t of [GPU, soft]) {
    for (const f of TUNE_FIELDS) {
      const vs = candidateValues(t, f);
      assert(vs.length >= 1, `${f}: no candidates`);
      assert(!vs.includes(tuningValue(t, f)), `${f}: tries ${tuningValue(t, f)} again`);
      assertEquals(new Set(vs).size, vs.length, `${f}: a value twice`);
    }
  }
  // Unset fields follow the fields they default to.
  assertEquals(tuningValue({ ...GPU, convPixels: 8 }, "convTransposePixels"), 8);
  assertEquals(tuningValue({ ...GPU, inFlight: 32 }, "inferInFlight"), 32);
  assertEquals(tuningValue(soft, "inferInFlight"), 1);
  // Conv tiles stay multiples of 4; split lanes powers of two.
  for (const v of candidateValues(GPU, "convTile")) assertEquals((v as number) % 4, 0);
  for (const v of candidateValues(GPU, "splitLanes")) {
    assertEquals(Math.log2(v as number) % 1, 0);
  }
});

Deno.test("autotune: costOf is the geometric mean of ms per sample", () => {
  // Training 64 ms for 64 samples (1 ms each) and 4 ms for 256 (1/64 ms each): mean 1/8.
  assert(Math.abs(costOf([64], [64], 4, 256) - 1 / 8) < 1e-15);
  // Two batch sizes and inference: (1 · 2 · 4)^(1/3) = 2.
  assert(Math.abs(costOf([8, 32], [8, 16], 4, 1) - 2) < 1e-12);
});

Deno.test("autotune: keeps every change that is faster by the margin, field by field", async () => {
  // The GPU default keeps 16 steps in flight: 1, 4 and 32 are tried.
  const { calls, measure } = separable({
    "inFlight=4": 0.6,
    "inFlight=32": 0.5,
    "convTile=16": 0.9,
    "packCache=false": 0.99, // 1 % faster: under the 3 % margin
  });
  const r = await searchTuning(GPU, measure, {
    fields: ["inFlight", "convTile", "packCache"],
    passes: 1,
  });
  assertEquals(r.best, { inFlight: 32, convTile: 16 });
  assert(Math.abs(r.speedup - 1 / (0.5 * 0.9)) < 1e-9, `speedup ${r.speedup}`);
  assertEquals(r.stopped, null);
  // Later fields are tried over the best so far.
  assert(calls.some((c) => c.inFlight === 32 && c.convTile === 4));
  assert(calls.some((c) => c.inFlight === 32 && c.convTile === 16 && c.packCache === false));
  // Each candidate once; each win timed again, after the best before it.
  const tries = r.trials.filter((t) => t.role === "try");
  assertEquals(tries.length, 3 + 3 + 1);
  // Each win: the best and the candidate timed twice more each (confirm 2, the default).
  assertEquals(r.trials.filter((t) => t.role === "recheck").length, 3 * 4);
  assertEquals(tries.filter((t) => t.kept).map((t) => `${t.field}=${t.value}`), [
    "inFlight=4",
    "inFlight=32",
    "convTile=16",
  ]);
  assertEquals(r.trials[0].role, "base");
});

Deno.test("autotune: a pass that keeps a change is followed by another, which skips what it timed", async () => {
  // convTile 4 pays only with 4-pixel tiles: the first pass keeps convPixels 4, the second then
  // finds convTile 4 (the GPU default: convTile 8, convPixels 1).
  const cost = (t: Partial<Tuning>) => {
    const tile = t.convTile ?? 8, px = t.convPixels ?? 1;
    if (px === 4) return tile === 4 ? 6 : 8;
    return tile === 4 ? 12 : 10;
  };
  const calls: Partial<Tuning>[] = [];
  const measure = (t: Partial<Tuning>) => {
    calls.push(t);
    return Promise.resolve(timing(cost(t)));
  };
  const passes: number[] = [];
  const r = await searchTuning(GPU, measure, {
    fields: ["convTile", "convPixels"],
    onTrial: (t) => passes.push(t.pass),
  });
  assertEquals(r.best, { convPixels: 4, convTile: 4 });
  assert(Math.abs(r.speedup - 10 / 6) < 1e-9, `speedup ${r.speedup}`);
  const tries = r.trials.filter((t) => t.role === "try");
  const tried = (pass: number) =>
    tries.filter((t) => t.pass === pass).map((t) => JSON.stringify(t.tuning));
  assertEquals(tried(1), [
    '{"convTile":4}',
    '{"convTile":16}',
    '{"convTile":32}',
    '{"convPixels":2}',
    '{"convPixels":4}',
    '{"convPixels":8}',
    '{"convPixels":12}',
  ]);
  // The second pass: convTile over convPixels 4 (each timed before only over 1-pixel tiles),
  // then convPixels over convTile 4.
  assertEquals(tried(2), [
    '{"convPixels":4,"convTile":4}',
    '{"convPixels":4,"convTile":16}',
    '{"convPixels":4,"convTile":32}',
    '{"convPixels":1,"convTile":4}',
    '{"convPixels":2,"convTile":4}',
    '{"convPixels":8,"convTile":4}',
    '{"convPixels":12,"convTile":4}',
  ]);
  // No third pass (default 2), though the second kept a change.
  assertEquals(Math.max(...passes), 2);
  assertEquals(tried(3), []);
  // A third pass has nothing left to time: every candidate around this best was timed against
  // it in the second pass (convTile 16 and 32 after convTile 4 was kept), and convTile 8 is the
  // best that convTile 4 beat.
  const three = await searchTuning(GPU, measure, {
    fields: ["convTile", "convPixels"],
    passes: 3,
  });
  assertEquals(three.best, { convPixels: 4, convTile: 4 });
  assertEquals(three.trials.length, r.trials.length);
  // With one pass, convTile 4 is never found.
  const one = await searchTuning(GPU, measure, { fields: ["convTile", "convPixels"], passes: 1 });
  assertEquals(one.best, { convPixels: 4 });
});

Deno.test("autotune: the second pass does not time again the tuning a kept change beat", async () => {
  // The GPU default leaves packCache unset (on); turning it off is kept in the first pass. The
  // second pass's only packCache candidate, on, is that default: it is not timed again.
  const { calls, measure } = separable({ "packCache=false": 0.5 });
  const r = await searchTuning(GPU, measure, { fields: ["packCache"] });
  assertEquals(r.best, { packCache: false });
  // The start, the candidate, then the start and the candidate twice more (confirm 2).
  const off = '{"packCache":false}';
  assertEquals(calls.map((c) => JSON.stringify(c)), ["{}", off, "{}", off, "{}", off]);
  assert(r.trials.every((t) => t.pass === 1), "the second pass timed nothing");
});

Deno.test("autotune: a pass that keeps nothing ends the search", async () => {
  const { calls, measure } = separable({});
  const r = await searchTuning(GPU, measure, { fields: ["convTile"], passes: 5 });
  assertEquals(r.best, {});
  assertEquals(calls.length, 1 + 3, "the start and each convTile candidate once");
  assert(r.trials.every((t) => t.pass === 1));
});

Deno.test("autotune: one slow timing of the best does not let a slower candidate win", async () => {
  let starts = 0;
  const measure = (t: Partial<Tuning>) => {
    // The start is slow the first time only (13, then 10); every candidate takes 12.
    if (Object.keys(t).length === 0) return Promise.resolve(timing(starts++ ? 10 : 13));
    return Promise.resolve(timing(12));
  };
  const r = await searchTuning(GPU, measure, { fields: ["convTile"], confirm: 1 });
  assertEquals(r.best, {});
  assertEquals(r.speedup, 1);
  // convTile=4 looked 8 % faster than the first start: both were timed again, and it lost.
  assertEquals(r.trials.map((t) => [t.role, JSON.stringify(t.tuning)]), [
    ["base", "{}"],
    ["try", '{"convTile":4}'],
    ["recheck", "{}"],
    ["recheck", '{"convTile":4}'],
    ["try", '{"convTile":16}'],
    ["try", '{"convTile":32}'],
  ]);
  assert(r.trials.every((t) => t.kept !== true));
});

Deno.test("autotune: failed candidates are recorded and skipped; a failed start is an error", async () => {
  const measure = (t: Partial<Tuning>) =>
    t.matmul === "blocked"
      ? Promise.reject(new Error("pipeline failed"))
      : Promise.resolve(timing(10));
  const r = await searchTuning(GPU, measure, { fields: ["matmul"] });
  assertEquals(r.best, {});
  const f = r.trials.find((t) => t.field === "matmul")!;
  assertEquals(f.error, "pipeline failed");
  assertEquals(f.kept, false);
  // Fast once, then failing: not kept.
  let n = 0;
  const flaky = (t: Partial<Tuning>) =>
    t.convTile === 16 && n++ > 0
      ? Promise.reject(new Error("device lost"))
      : Promise.resolve(timing(t.convTile === 16 ? 5 : 10));
  const f2 = await searchTuning(GPU, flaky, { fields: ["convTile"] });
  assertEquals(f2.best, {});
  assertEquals(f2.trials.filter((t) => t.error === "device lost").length, 2);
  let msg = "";
  await searchTuning(GPU, () => Promise.reject(new Error("no adapter"))).catch((e) =>
    msg = e.message
  );
  assert(msg.includes("starting tuning failed") && msg.includes("no adapter"), msg);
});

Deno.test("autotune: no trial starts after the deadline", async () => {
  const { measure } = separable({ "inFlight=4": 0.5 });
  const seen: string[] = [];
  const r = await searchTuning(GPU, measure, {
    deadline: Date.now() - 1,
    onTrial: (t) => seen.push(t.role),
  });
  assertEquals(r.stopped, "deadline");
  assertEquals(r.trials.length, 1);
  assertEquals(seen, ["base"]);
  assertEquals(r.best, {});
});

Deno.test("autotune: every timing of the start counts for its cost, however a trial spells it", async () => {
  // The start (inFlight 16, the GPU default) is timed at 10 three times; inFlight 1 (9) and then
  // 32 (5) are kept; the second pass times {inFlight: 16}, the start's own tuning, at 8.
  let startTimings = 0;
  const measure = (f: Partial<Tuning>) => {
    const v = f.inFlight ?? 16;
    if (v === 16) return Promise.resolve(timing(++startTimings <= 3 ? 10 : 8));
    return Promise.resolve(timing(({ 1: 9, 4: 9.5, 32: 5 } as Record<number, number>)[v]));
  };
  const r = await searchTuning(GPU, measure, { fields: ["inFlight"], passes: 2 });
  assertEquals(r.best, { inFlight: 32 });
  assert(
    r.trials.some((t) =>
      t.pass === 2 && t.tuning.inFlight === 16 && Math.abs(t.timing!.cost - 8) < 1e-9
    ),
    "the second pass timed the start's tuning",
  );
  assert(Math.abs(r.baseCost - 8) < 1e-9, `baseCost ${r.baseCost}`);
  assert(Math.abs(r.speedup - 8 / 5) < 1e-9, `speedup ${r.speedup}`);
  assertEquals(tuningKey(GPU, { inFlight: 16 }), tuningKey(GPU, {}));
});

Deno.test("autotune: the fields, and the values tried for each, from the GPU and the software defaults", () => {
  assertEquals(TUNE_FIELDS, [
    "inFlight",
    "deferMap",
    "matmul",
    "convTile",
    "convPixels",
    "convTransposeTile",
    "convTransposePixels",
    "convVectorStores",
    "convPatchOneChannel",
    "convGemm",
    "convTransposePhase",
    "convTransposePhaseChannels",
    "uniformWeights",
    "textureInputs",
    "weightGradTile",
    "weightGradCoTile",
    "splitLanes",
    "splitTarget",
    "packCache",
    "batchSplitSums",
    "foldActGrad",
    "inferInFlight",
    "inferBatch",
  ]);
  const soft = defaultTuning(true, 1);
  const tried = (t: Tuning) =>
    Object.fromEntries(TUNE_FIELDS.map((f) => [f, candidateValues(t, f).join(",")]));
  const numeric = (t: Tuning) =>
    Object.fromEntries(
      Object.entries(tried(t)).filter(([, v]) =>
        v !== "true,false" && v !== "false" && v !== "true"
      ),
    );
  assertEquals(numeric(GPU), {
    inFlight: "1,4,32",
    matmul: "blocked",
    convTile: "4,16,32",
    convPixels: "2,4,8,12",
    convTransposeTile: "8,16,32",
    convTransposePixels: "2,4,8,12",
    convTransposePhaseChannels: "1,8",
    weightGradTile: "2,4",
    weightGradCoTile: "2,4,8",
    splitLanes: "1,8,32",
    splitTarget: "16384,262144",
    inferInFlight: "1,4,32",
    inferBatch: "1024,4096",
  });
  // The switches too, from the software default (splitTarget 256 on one thread: a quarter, at
  // least 64, and four times).
  assertEquals(tried(soft), {
    inFlight: "4,16,32",
    deferMap: "true",
    matmul: "tiled",
    convTile: "4,8,16",
    convPixels: "1,2,4,8",
    convTransposeTile: "4,8,16",
    convTransposePixels: "1,2,4,8",
    convVectorStores: "false",
    convPatchOneChannel: "false",
    convGemm: "true",
    convTransposePhase: "false",
    convTransposePhaseChannels: "1,3",
    uniformWeights: "false",
    textureInputs: "false",
    weightGradTile: "1,2",
    weightGradCoTile: "1,2,4",
    splitLanes: "8,32,64",
    splitTarget: "64,1024",
    packCache: "false",
    batchSplitSums: "false",
    foldActGrad: "false",
    inferInFlight: "4,16,32",
    inferBatch: "1024,4096",
  });
  assertEquals(candidateValues({ ...soft, splitTarget: 128 }, "splitTarget"), [64, 512]);
  assertEquals(candidateValues({ ...GPU, inferBatch: 1024 }, "inferBatch"), [256, 4096]);
});

Deno.test("autotune: the default margin is 3 %", async () => {
  // 2.5 % faster: not timed again; 3.5 % faster: kept.
  for (const [factor, kept] of [[0.975, false], [0.965, true]] as const) {
    const { calls, measure } = separable({ "packCache=false": factor });
    const r = await searchTuning(GPU, measure, { fields: ["packCache"] });
    assertEquals(r.best, kept ? { packCache: false } : {}, `${factor}`);
    assertEquals(calls.length, kept ? 6 : 2, `${factor}`);
  }
});

Deno.test("autotune: confirm and passes below 1 count as 1; the fields run in TUNE_FIELDS order", async () => {
  const { calls, measure } = separable({ "packCache=false": 0.5, "inFlight=32": 0.5 });
  const r = await searchTuning(GPU, measure, {
    fields: ["packCache", "inFlight"],
    confirm: 0,
    passes: 0,
  });
  assertEquals(r.best, { inFlight: 32, packCache: false });
  assertEquals(calls.map((c) => JSON.stringify(c)), [
    "{}",
    '{"inFlight":1}',
    '{"inFlight":4}',
    '{"inFlight":32}',
    "{}",
    '{"inFlight":32}',
    '{"inFlight":32,"packCache":false}',
    '{"inFlight":32}',
    '{"inFlight":32,"packCache":false}',
  ]);
  assert(r.trials.every((t) => t.pass === 1));
});

/** Times each tuning from its own list of costs (exactly these), one per timing, in order. */
function scripted(costs: Record<string, number[]>) {
  const calls: string[] = [];
  const measure = (t: Partial<Tuning>) => {
    const k = JSON.stringify(t);
    calls.push(k);
    const c = costs[k].shift();
    if (c === undefined) throw new Error(`${k} timed once too often`);
    return Promise.resolve({ trainMs: [c], inferMs: c, inferBatch: 1, cost: c });
  };
  return { calls, measure };
}

Deno.test("autotune: a candidate is kept on its fastest timing against the best's fastest, by the margin", async () => {
  const search = (costs: Record<string, number[]>, opts: { margin?: number; confirm?: number }) =>
    searchTuning(GPU, scripted(costs).measure, { fields: ["packCache"], passes: 1, ...opts });
  const off = '{"packCache":false}';
  // The best's rechecks are 9.2 and 9.9: 9 is faster than 9.2, but not by 3 %.
  let r = await search({ "{}": [10, 9.2, 9.9], [off]: [9, 9.3, 9.1] }, {});
  assertEquals(r.best, {});
  // Its fastest (9), not its last (9.8), beats the best's fastest (10) by 3 %.
  r = await search({ "{}": [10, 10], [off]: [9, 9.8] }, { confirm: 1 });
  assertEquals(r.best, { packCache: false });
  // Every timing of the best counts, the first recheck's too (8: 9 does not beat it).
  r = await search({ "{}": [10, 8, 10], [off]: [9, 9, 9] }, {});
  assertEquals(r.best, {});
  // Exactly at the margin is not faster by it: 5 against 10 at 50 % is not timed again, and
  // 4 against a best recheck of 8 is not kept.
  const at = scripted({ "{}": [10], [off]: [5] });
  r = await searchTuning(GPU, at.measure, { fields: ["packCache"], margin: 0.5 });
  assertEquals([r.best, at.calls.length], [{}, 2]);
  r = await search({ "{}": [10, 8], [off]: [4, 4] }, { margin: 0.5, confirm: 1 });
  assertEquals(r.best, {});
});
