/**
 * The DEC pipeline in lib/cluster: pretrain (with exact resume), centre
 * initialisation, fine-tuning, applying a model, its warnings and its config
 * validation, on small synthetic sets of 16×16 images so that each test takes
 * seconds on a software GPU.
 */
import { join } from "node:path";
import { MemoryDataset, type Normalize } from "../../lib/cluster/data.ts";
import {
  checkStageRecord,
  type EpochRecord,
  loadAutoencoder,
  type ModelInfo,
  pretrain,
  PRETRAIN_DEFAULTS,
} from "../../lib/cluster/pretrain.ts";
import {
  argmaxRows,
  assignAll,
  encodeForInit,
  finetune,
  FINETUNE_DEFAULTS,
  INIT_DEFAULTS,
  initCentroids,
  updateIntervalOf,
} from "../../lib/cluster/dec.ts";
import { applyModel } from "../../lib/cluster/assign.ts";
import { nearestCentres } from "../../lib/cluster/kmeans.ts";
import { klDivergence, softAssign, targetDistribution } from "../../lib/cpu/dec.ts";
import { loadWeights } from "../../lib/io/checkpoint.ts";
import { openDataset } from "../../lib/io/dataset.ts";
import {
  fileKs,
  readConfigFile,
  resolveFinetune,
  resolveInit,
  resolvePretrain,
} from "../../lib/cluster/config.ts";
import { backendNamed } from "../../lib/tensor/backends.ts";
import { UserError } from "../../lib/util/errors.ts";
import { Rng } from "../../lib/util/rng.ts";
import { assert, assertClose, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { gpuAvailable, gpuTest } from "../_gpu.ts";
import { webgpu } from "../gpu/_util.ts";
import { redoneDatasets } from "./_redone.ts";

const H = 16, W = 16;

/**
 * `classes` classes of 16×16 images: each class is a fixed smooth template (three Gaussian
 * bumps), a sample is a random gain times its template mixed with up to `mix` of another
 * class's template, plus white noise of standard deviation `noise`.
 */
export function templateSet(
  perClass: number,
  classes: number,
  opts: { noise?: number; mix?: number; seed?: number } = {},
): { ds: MemoryDataset; truth: Int32Array } {
  const { noise = 0.2, mix = 0.5, seed = 1 } = opts;
  const rng = new Rng(seed);
  const P = H * W, n = perClass * classes;
  const templates = Array.from({ length: classes }, () => {
    const t = new Float32Array(P);
    for (let b = 0; b < 3; b++) {
      const r = rng.uniform(2, 14), c = rng.uniform(2, 14), a = rng.uniform(0.5, 1);
      for (let h = 0; h < H; h++) {
        for (let w = 0; w < W; w++) {
          t[h * W + w] += a * Math.exp(-((h - r) ** 2 + (w - c) ** 2) / 6);
        }
      }
    }
    return t;
  });
  const x = new Float32Array(n * P), truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    truth[i] = c;
    const o = (c + 1 + rng.int(classes - 1)) % classes;
    const m = rng.uniform(0, mix), a = rng.uniform(0.7, 1.3);
    for (let p = 0; p < P; p++) {
      x[i * P + p] = a * ((1 - m) * templates[c][p] + m * templates[o][p]) + noise * rng.normal();
    }
  }
  const samples = Array.from({ length: n }, (_, i) => ({ id: String(i), label: `c${truth[i]}` }));
  return { ds: new MemoryDataset(x, [1, H, W], samples), truth };
}

/** Purity: Σ over clusters of the count of its most frequent class, over N. */
export function purity(truth: ArrayLike<number>, pred: ArrayLike<number>): number {
  const counts = new Map<number, Map<number, number>>();
  for (let i = 0; i < truth.length; i++) {
    const m = counts.get(pred[i]) ?? new Map<number, number>();
    m.set(truth[i], (m.get(truth[i]) ?? 0) + 1);
    counts.set(pred[i], m);
  }
  let s = 0;
  for (const m of counts.values()) s += Math.max(...m.values());
  return s / truth.length;
}

Deno.test("purity helper: 1 for a relabelled partition, max-class share otherwise", () => {
  assertEquals(purity([0, 0, 1, 1], [5, 5, 2, 2]), 1);
  // Cluster 0 holds classes {0, 0, 1}: 2; cluster 1 holds {1}: 1 → 3/4.
  assertEquals(purity([0, 0, 1, 1], [0, 0, 0, 1]), 0.75);
});

Deno.test("updateIntervalOf: auto is one epoch counting the last partial batch, at most 140 batches, at least 1", () => {
  const at = (n: number, batchSize: number) =>
    updateIntervalOf({ ...FINETUNE_DEFAULTS, batchSize }, n);
  // 303 samples at batch 64: 4 full batches and one of 47, 5 batches an epoch.
  assertEquals(at(303, 64), 5);
  assertEquals(at(256, 64), 4);
  assertEquals(at(257, 64), 5);
  assertEquals(at(65, 64), 2);
  assertEquals(at(10, 64), 1);
  assertEquals(at(140 * 64, 64), 140);
  assertEquals(at(140 * 64 + 1, 64), 140);
  assertEquals(at(70000, 256), 140);
  assertEquals(updateIntervalOf({ ...FINETUNE_DEFAULTS, updateInterval: 7 }, 303), 7);
});

/** Small, fast settings: 6 steps an epoch at 48 samples, latent 4. */
const PRE = { ...PRETRAIN_DEFAULTS, epochs: 2, batchSize: 8, latentDim: 4 };
const INIT = { ...INIT_DEFAULTS, k: 3, nInit: 5 };
const FT = { ...FINETUNE_DEFAULTS, batchSize: 8, updateInterval: 6, maxIter: 12, tol: 0 };

gpuTest(
  "finetune's auto update interval checks labels once an epoch on a small set; minIter holds the stop back",
  async () => {
    // 48 samples at batch 8: 6 batches an epoch, so "auto" checks every 6 (140 would check only
    // at the start and the end of these 12 batches).
    const { ds } = templateSet(16, 3);
    const dir = await Deno.makeTempDir();
    await pretrain(ds, dir, PRE, { device: "webgpu" });
    await initCentroids(dir, ds, INIT, "webgpu");
    const r = await finetune(dir, ds, { ...FT, updateInterval: "auto" }, "webgpu");
    assertEquals(r.log.map((l) => l.iteration), [0, 6, 12]);
    // The label-change test cannot stop training before minIter batches: with tol 100 % every
    // check after the first would stop it, so it stops at the first check at or past minIter.
    const always = { ...FT, updateInterval: 2, maxIter: 40, tol: 100 };
    for (const [minIter, last] of [[0, 2], [4, 4], [5, 6], [140, 40]]) {
      await Deno.remove(join(dir, "dec.safetensors"));
      await Deno.remove(join(dir, "finetune_checkpoint"), { recursive: true });
      const m = await finetune(dir, ds, { ...always, minIter }, "webgpu");
      assertEquals(m.log.at(-1)!.iteration, last, `minIter ${minIter}`);
      assertEquals(m.converged, minIter < 40, `minIter ${minIter}`);
    }
    // --max-iter 41, not a multiple of the interval: the last check, at 41, covers 1 batch, so
    // its small change is logged but is not convergence (model.json says max-iter stopped it).
    await Deno.remove(join(dir, "dec.safetensors"));
    await Deno.remove(join(dir, "finetune_checkpoint"), { recursive: true });
    const odd = await finetune(dir, ds, { ...always, maxIter: 41, minIter: 41 }, "webgpu");
    assertEquals(odd.log.slice(-2).map((l) => l.iteration), [40, 41]);
    assert(odd.log.at(-1)!.changedPct! < 100, "the last check's change is below tol");
    assertEquals(odd.converged, false);
    const rec = JSON.parse(await Deno.readTextFile(join(dir, "model.json"))).finetune;
    assertEquals([rec.converged, rec.stoppedBy], [false, "max-iter"]);
    await Deno.remove(dir, { recursive: true });
  },
);

gpuTest(
  "finetune logs the labels changed between checks in percent, and tol is compared in percent",
  async () => {
    // One check after 6 batches: the check at 0 gives the k-means labels (Student's t assignment
    // with the initial encoder and centres is nearest-centre), the check at 6 the final labels.
    // lr 1e-3 moves enough of the 48 samples for the two to differ.
    const { ds } = templateSet(16, 3);
    const dir = await Deno.makeTempDir();
    await pretrain(ds, dir, PRE, { device: "webgpu" });
    const init = await initCentroids(dir, ds, INIT, "webgpu");
    const cfg = { ...FT, lr: 1e-3, maxIter: 6, minIter: 0 };
    const steps: number[] = [];
    const r = await finetune(dir, ds, cfg, "webgpu", {
      onStep: (_it, _max, loss) => steps.push(loss),
    });
    assertEquals(r.log.map((l) => l.iteration), [0, 6]);
    // Each check logs the loss of the batch before it (none before the first).
    assertEquals(steps.length, 6);
    assert(Number.isNaN(r.log[0].loss), String(r.log[0].loss));
    assertEquals(r.log[1].loss, steps[5]);
    let changed = 0;
    for (let i = 0; i < ds.count; i++) if (r.labels[i] !== init.labels[i]) changed++;
    assert(changed > 0 && changed < ds.count, `${changed} labels changed: the test needs some`);
    const pct = 100 * changed / ds.count;
    // changedPct is a count over 48 in % (one label is 2.083 %), not a fraction.
    assertClose([r.log[1].changedPct!], [pct], 1e-12, 1e-12, "changedPct");
    assertEquals(r.log[0].changedPct, null);
    // The stop test is changedPct < tol, both in %: the same run stops at tol just above pct,
    // not at tol = pct.
    for (const [tol, converged] of [[pct, false], [pct + 0.01, true]] as const) {
      await Deno.remove(join(dir, "dec.safetensors"));
      await Deno.remove(join(dir, "finetune_checkpoint"), { recursive: true });
      const m = await finetune(dir, ds, { ...cfg, tol }, "webgpu");
      assertEquals(m.labels, r.labels, `tol ${tol}: same run`);
      assertEquals(m.converged, converged, `tol ${tol}`);
    }
    await Deno.remove(dir, { recursive: true });
  },
);

gpuTest(
  "applyModel after init and after finetune: q rows sum to 1 and labels are argmax q",
  async () => {
    const { ds } = templateSet(16, 3);
    const dir = await Deno.makeTempDir();
    await pretrain(ds, dir, PRE, { device: "webgpu" });
    // Codes rescaled to unit distance from their centres, where alpha shapes q.
    const init = await initCentroids(dir, ds, { ...INIT, latentScale: "auto" }, "webgpu");
    for (const stage of ["init", "dec"] as const) {
      // alpha 2.5: applyModel must take the fine-tuned centres' alpha from model.json.
      if (stage === "dec") await finetune(dir, ds, { ...FT, alpha: 2.5 }, "webgpu");
      const a = await applyModel(dir, ds, "webgpu", stage);
      const file = stage === "dec" ? "dec.safetensors" : "centroids.safetensors";
      const mu = (await loadWeights(join(dir, file))).weights.get("centroids")!.data;
      const want = softAssign(a.latent, mu, ds.count, a.k, a.dim, stage === "dec" ? 2.5 : 1);
      // f32 kernel on O(1) codes against Float64: 1e-5 absolute is many ulp of margin.
      assertClose(a.q!, want, 1e-5, 1e-5, `q against the Float64 reference (${stage})`);
      assertEquals(a.stage, stage);
      // "auto" takes the latest stage: DEC's weights once they exist, the centres before.
      const auto = await applyModel(dir, ds, "webgpu");
      assertEquals([auto.stage, auto.labels], [stage, a.labels]);
      assertEquals([a.k, a.dim, a.q!.length, a.latent.length], [3, 4, 48 * 3, 48 * 4]);
      for (let i = 0; i < ds.count; i++) {
        let s = 0;
        for (let j = 0; j < a.k; j++) {
          const v = a.q![i * a.k + j];
          assert(v >= 0 && v <= 1, `q[${i}, ${j}] = ${v} outside [0, 1]`);
          s += v;
        }
        // Float32 normalisation of 3 terms: |Σ − 1| ≤ a few ulp (1.2e-7 each); 1e-5 leaves margin.
        assert(Math.abs(s - 1) <= 1e-5, `row ${i} of q sums to ${s} (${stage})`);
      }
      assertEquals(a.labels, argmaxRows(a.q!, ds.count, a.k));
      // With the pretrained encoder and the k-means centres, Student's t assignment is nearest-centre.
      if (stage === "init") {
        assertEquals(a.labels, init.labels);
        // init's mean largest q (Float64, alpha 1) is the mean row maximum of this q.
        let m = 0;
        for (let i = 0; i < ds.count; i++) m += Math.max(...a.q!.subarray(i * a.k, (i + 1) * a.k));
        assertClose([m / ds.count], [init.meanMaxQ], 1e-5, 0, "mean largest q");
        assert(init.meanMaxQ > 1 / a.k && init.meanMaxQ <= 1, `mean largest q ${init.meanMaxQ}`);
      }
    }
    await Deno.remove(dir, { recursive: true });
  },
);

/** Full pretrain → init → finetune in a fresh directory; returns labels and the weight files. */
async function fullRun(ds: MemoryDataset) {
  const dir = await Deno.makeTempDir();
  await pretrain(ds, dir, { ...PRE, seed: 7 }, { device: "webgpu" });
  const init = await initCentroids(dir, ds, { ...INIT, seed: 7 }, "webgpu");
  const ft = await finetune(dir, ds, { ...FT, seed: 7 }, "webgpu");
  const files = await Promise.all(
    ["autoencoder.safetensors", "centroids.safetensors", "dec.safetensors"].map((f) =>
      Deno.readFile(join(dir, f))
    ),
  );
  await Deno.remove(dir, { recursive: true });
  return { initLabels: init.labels, labels: ft.labels, log: ft.log, files };
}

gpuTest("the same seed gives the same labels and bit-identical weights twice", async () => {
  const { ds } = templateSet(16, 3);
  const a = await fullRun(ds);
  const b = await fullRun(ds);
  assertEquals(a.initLabels, b.initLabels);
  assertEquals(a.labels, b.labels);
  assertEquals(a.log, b.log);
  a.files.forEach((f, i) => assertEquals(f, b.files[i], `weight file ${i}`));
});

/** Learning-curve rows without the timing columns. */
function curve(h: EpochRecord[]) {
  return h.map((r) => [r.epoch, r.trainLoss, r.valLoss]);
}

gpuTest(
  "pretrain --resume after an interruption ends with the same weights and curve",
  async () => {
    const named = (d: MemoryDataset, p: string) =>
      new MemoryDataset(
        d.readBatch([...Array(d.count).keys()]),
        [1, H, W],
        Array.from({ length: d.count }, (_, i) => ({ id: `${p}${i}`, label: null })),
      );
    const ds = named(templateSet(10, 3).ds, "a");
    const cfg = { ...PRE, epochs: 4, valSplit: 0.2, seed: 3 };
    const full = await Deno.makeTempDir(), cut = await Deno.makeTempDir();
    const hFull = await pretrain(ds, full, cfg, { device: "webgpu" });
    const hCut = await pretrain(ds, cut, cfg, { device: "webgpu", hooks: { stopAfterEpochs: 2 } });
    assertEquals(hCut.length, 2);
    // An interrupted run leaves a checkpoint but no final model.
    await assertRejects(
      () => Deno.stat(join(cut, "autoencoder.safetensors")),
      Deno.errors.NotFound,
    );
    const state = JSON.parse(await Deno.readTextFile(join(cut, "checkpoint", "state.json")));
    assertEquals(state.epoch, 2);
    // Another dataset, of another size or of the same size with other sample ids, is refused:
    // the checkpoint's split and state belong to the first one.
    for (const other of [named(templateSet(9, 3).ds, "a"), named(templateSet(10, 3).ds, "b")]) {
      await assertRejects(
        () => pretrain(other, cut, cfg, { device: "webgpu", resume: true }),
        UserError,
        "the checkpoint was trained on another dataset (30 [1,16,16] ids ",
      );
    }
    // The same ids with other values (another draw of the templates: re-extracted data) too.
    await assertRejects(
      () =>
        pretrain(named(templateSet(10, 3, { seed: 2 }).ds, "a"), cut, cfg, {
          device: "webgpu",
          resume: true,
        }),
      UserError,
      "the dataset's values differ from those the checkpoint was trained on (the same 30 sample ids",
    );
    // Fewer --epochs than the checkpoint has done: refused (model.json said epochs 1, epochsDone 2).
    await assertRejects(
      () => pretrain(ds, cut, { ...cfg, epochs: 1 }, { device: "webgpu", resume: true }),
      UserError,
      "the checkpoint is at the end of epoch 2, past --epochs 1: resume with --epochs 2 or more",
    );
    // A damaged or edited state.json is refused, naming the field, and left as it is.
    const statePath = join(cut, "checkpoint", "state.json");
    const text = await Deno.readTextFile(statePath);
    const damaged: [Record<string, unknown>, string][] = [
      [{ epoch: "2" }, "epoch: Invalid input: expected number, received string"],
      [{ rng: state.rng.slice(0, 4) }, "rng: "],
      [{ adamStep: -1 }, "adamStep: Too small"],
      [{ trainIdx: state.trainIdx.slice(1) }, "do not hold each of the dataset's 30 samples once"],
      [
        { trainIdx: [state.trainIdx[1], ...state.trainIdx.slice(1)] },
        "trainIdx and valIdx (24 + 6 indices) do not hold each",
      ],
      [{ history: [{ epoch: 1 }] }, "history.0.trainLoss: Invalid input"],
    ];
    try {
      for (const [edit, want] of damaged) {
        await Deno.writeTextFile(statePath, JSON.stringify({ ...state, ...edit }));
        const e = await assertRejects(
          () => pretrain(ds, cut, cfg, { device: "webgpu", resume: true }),
          UserError,
          `Cannot resume from ${statePath}: `,
        );
        assert(e.message.includes(want) && e.message.includes("--force"), e.message);
      }
    } finally {
      await Deno.writeTextFile(statePath, text);
    }
    const hRes = await pretrain(ds, cut, cfg, { device: "webgpu", resume: true });
    assertEquals(curve(hRes), curve(hFull));
    assertEquals(
      await Deno.readFile(join(cut, "autoencoder.safetensors")),
      await Deno.readFile(join(full, "autoencoder.safetensors")),
    );
    const csv = async (d: string) =>
      (await Deno.readTextFile(join(d, "learning_curve.csv"))).trim().split("\n").map((l) =>
        l.split(",").slice(0, 3).join(",")
      );
    assertEquals(await csv(cut), await csv(full));
    assertEquals((await csv(full)).length, 5);
    // Not trivially equal: the loss fell, so the 4 epochs did change the weights.
    assert(hFull[3].trainLoss < hFull[0].trainLoss, "training loss did not fall over 4 epochs");
    for (const d of [full, cut]) await Deno.remove(d, { recursive: true });
  },
);

gpuTest(
  "finetune warns of empty and collapsing clusters when k exceeds the distinct points",
  async () => {
    // Two distinct images, each repeated 12 times, and k = 3: at least one cluster stays empty
    // and no split of two points gives every cluster a member.
    const base = templateSet(1, 2, { noise: 0 }).ds.readBatch([0, 1]);
    const x = new Float32Array(24 * H * W);
    for (let i = 0; i < 24; i++) {
      x.set(
        base.subarray((i % 2) * H * W, (i % 2 + 1) * H * W),
        i * H * W,
      );
    }
    const ds = new MemoryDataset(x, [1, H, W]);
    const dir = await Deno.makeTempDir();
    await pretrain(ds, dir, { ...PRE, epochs: 1 }, { device: "webgpu" });
    await initCentroids(dir, ds, { ...INIT, k: 3 }, "webgpu");
    const warnings: string[] = [];
    const r = await finetune(dir, ds, { ...FT, maxIter: 3, updateInterval: 3 }, "webgpu", {
      onWarn: (m) => warnings.push(m),
    });
    assert(r.log[0].sizes.includes(0), `sizes ${r.log[0].sizes}`);
    assert(warnings.some((m) => /cluster \d is empty at iteration 0/.test(m)), warnings.join("; "));
    // Collapse: one cluster above collapseFraction (here 0.4 of 24 samples, while each image is 1/2).
    const w2: string[] = [];
    await finetune(dir, ds, { ...FT, maxIter: 1, collapseFraction: 0.4 }, "webgpu", {
      onWarn: (m) => w2.push(m),
    });
    assert(
      w2.some((m) => m.includes("% of the samples") && m.includes("collapsing")),
      w2.join("; "),
    );
    await Deno.remove(dir, { recursive: true });
  },
);

Deno.test("config: a bad field in a config file is a UserError naming the field", async () => {
  const dir = await Deno.makeTempDir();
  const write = async (o: unknown) => {
    const p = join(dir, "c.json");
    await Deno.writeTextFile(p, JSON.stringify(o));
    return p;
  };
  await assertRejects(
    async () => readConfigFile(await write({ finetune: { tol: -1 } })),
    UserError,
    "finetune.tol",
  );
  await assertRejects(
    async () => readConfigFile(await write({ pretrain: { epochs: 1.5 } })),
    UserError,
    "pretrain.epochs",
  );
  await assertRejects(
    async () => readConfigFile(await write({ init: { method: "dbscan" } })),
    UserError,
    "init.method",
  );
  // Unknown keys inside a section are refused (the sections are strict): typos do not pass silently.
  await assertRejects(
    async () => readConfigFile(await write({ finetune: { tolerance: 1 } })),
    UserError,
    "tolerance",
  );
  // So is an unknown section: a typo in "pretrain" would otherwise run the defaults.
  await assertRejects(
    async () => readConfigFile(await write({ pretrian: { epochs: 3 } })),
    UserError,
    "pretrian",
  );
  await Deno.writeTextFile(join(dir, "bad.json"), "{ not json");
  await assertRejects(() => readConfigFile(join(dir, "bad.json")), UserError, "bad.json");
  // init.k as init --k takes it: one number, a range, a list (text or array); and kCriterion.
  const ks = async (k: unknown) =>
    fileKs((await readConfigFile(await write({ init: { k } }))).init!.k);
  assertEquals(await ks(4), [4]);
  assertEquals(await ks("2:5"), [2, 3, 4, 5]);
  assertEquals(await ks("3,5,8"), [3, 5, 8]);
  assertEquals(await ks([6, 3]), [3, 6]);
  assertEquals(fileKs(undefined), undefined);
  await assertRejects(async () => await ks("5:4"), UserError, "init.k");
  await assertRejects(async () => await ks([2, 0]), UserError, "init.k");
  await assertRejects(async () => await ks(2.5), UserError, "init.k");
  const crit = await readConfigFile(await write({ init: { kCriterion: "davies-bouldin" } }));
  assertEquals(crit.init?.kCriterion, "davies-bouldin");
  await assertRejects(
    async () => readConfigFile(await write({ init: { kCriterion: "gap" } })),
    UserError,
    "init.kCriterion",
  );
  // A good file merges over the defaults and flags override the file.
  const ok = await readConfigFile(await write({ finetune: { tol: 0.5, lr: 0.01 } }));
  const cfg = resolveFinetune(ok.finetune, { lr: 0.02 });
  assertEquals([cfg.tol, cfg.lr, cfg.updateInterval], [
    0.5,
    0.02,
    FINETUNE_DEFAULTS.updateInterval,
  ]);
  assertEquals(FINETUNE_DEFAULTS.updateInterval, "auto");
  assertEquals(resolveFinetune({ updateInterval: 7 }, {}).updateInterval, 7);
  assertThrows(
    () => resolveFinetune({ updateInterval: "often" as unknown as number }, {}),
    UserError,
    "finetune.updateInterval",
  );
  // Flags are validated the same way, and named as flags.
  assertThrows(
    () => resolveInit({}, { k: 0 }),
    UserError,
    "Cannot read --k: expected an integer >= 2: one cluster holds every sample (DEC's loss is " +
      "then 0): found 0",
  );
  assertThrows(
    () => resolvePretrain({}, { valSplit: 0.95 }),
    UserError,
    "Cannot read --val-split: expected <= 0.9: found 0.95",
  );
  assertThrows(
    () => resolvePretrain({ epochs: 3 }, { betas: [0.9, 1] }),
    UserError,
    "Cannot read --beta2: expected < 1: found 1",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name:
    "[webgpu] DEC fine-tuning on the synthetic seismic set sharpens q and keeps purity within 2 % of its k-means init",
  // The demo end to end (synth → extract → pretrain at batch 8 → k-means → DEC at Adam 1e-5),
  // 200 samples. Measured on llvmpipe, purity/ACC k-means init → DEC:
  //   first kernels:                       0.990 → 0.995 (one local earthquake fixed)
  //   unrolled kernels, first tiles:       0.995 → 0.995
  //   unrolled kernels, final tiles:       0.995 → 0.990 (NMI 0.985 → 0.975)
  //   previous round (55 dispatches):      0.980 → 0.985
  //   the same with foldActGrad on:        0.995 → 0.980 (NMI 0.985 → 0.950)
  //   textured inputs, foldActGrad off:    0.980 → 0.985 (NMI 0.950 → 0.961)
  //   the same with foldActGrad on:        0.995 → 0.985 (NMI 0.985 → 0.961)
  //   chunks of >= 64 pixels, fold off:    0.990 → 0.985 (NMI 0.971 → 0.961; splitMinPixels)
  // The kernels' tiles change split-K partitions and so the rounding, and that moves a few
  // ambiguous samples of 200 either way: the rows of a pair differ only in the order in which
  // eight bias gradients are summed (foldActGrad; llvmpipe folds from batch 64 only, and the
  // demo pretrains at batch 8), and they move the init by 3 samples and
  // DEC's result by up to 1. With the init this close to perfect, a strict gain (or no
  // loss) is not a property of DEC but of the rounding. What DEC must do whatever the start is
  // asserted instead: sharpen the soft assignments (mean max q rises), keep purity and ACC
  // within 2 % (4 samples) of the init, and leave a clustering far above chance (ACC >= 0.98,
  // NMI >= 0.95). On one adapter the run repeats exactly (seeded, fixed summation order).
  // History: with pretraining at batch 32 (about 200 Adam steps) the codes were undertrained,
  // tiny next to the Student's t kernel, and DEC at Adam 1e-4 lowered ACC (0.825 → 0.655);
  // see `init --latent-scale auto` and the README's "Limitations". About 1 min on llvmpipe.
  ignore: !gpuAvailable,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { main } = await import("../../cli.ts");
    const { openDataset } = await import("../../lib/io/dataset.ts");
    const { evaluateClustering } = await import("../../lib/metrics/mod.ts");
    const out = await Deno.makeTempDir();
    await Deno.remove(out);
    assertEquals(await main(["demo", "--out", out, "--quiet"]), 0);
    const ds = await openDataset(join(out, "dataset"));
    const truth = ds.labels();
    const init = await applyModel(join(out, "model"), ds, "webgpu", "init");
    const dec = await applyModel(join(out, "model"), ds, "webgpu", "dec");
    const codes = Int32Array.from(
      truth.map((l) =>
        ["explosion", "local_earthquake", "noise", "regional_event", "tremor"].indexOf(l!)
      ),
    );
    const p0 = purity(codes, init.labels!), p1 = purity(codes, dec.labels!);
    assert(p0 < 1, `the k-means init is already perfect (${p0}): the test would prove nothing`);
    const slack = 0.02;
    assert(p1 >= p0 - slack - 1e-12, `DEC purity ${p1} lost more than 2 % from ${p0}`);
    const sharpness = (q: Float32Array) => {
      let s = 0;
      for (let i = 0; i < q.length; i += 5) s += Math.max(...q.subarray(i, i + 5));
      return s / (q.length / 5);
    };
    const s0 = sharpness(init.q!), s1 = sharpness(dec.q!);
    // Measured 0.394 → 0.398: DEC stops early, once fewer than tol % of labels change.
    assert(s1 > s0, `DEC did not sharpen q: mean max q ${s1} vs ${s0} at its init`);
    const ev = (pred: Int32Array) => evaluateClustering({ pred, k: 5, truth });
    const e0 = ev(init.labels!), e1 = ev(dec.labels!);
    assert(
      e1.acc! >= e0.acc! - slack - 1e-12,
      `DEC ACC ${e1.acc} lost more than 2 % from ${e0.acc}`,
    );
    assert(e1.acc! >= 0.98 && e1.nmi! >= 0.95, `DEC ACC ${e1.acc} / NMI ${e1.nmi} too low`);
    // Its k selection is recorded in model.json as init records one, beside k_selection.csv.
    const model = JSON.parse(await Deno.readTextFile(join(out, "model", "model.json")));
    const chosen = (await Deno.readTextFile(join(out, "model", "k_selection.csv"))).trim()
      .split("\n").slice(1).map((l) => l.split(",")).find((c) => c.at(-1) === "1")![0];
    assertEquals(model.init.kSelection, {
      candidates: [2, 3, 4, 5, 6, 7, 8, 9],
      criterion: "silhouette",
      chosen: Number(chosen),
    });
    // The demo's cluster directory profiles the clusters; the synthetic events are timed, one
    // per hour over 200 hours, so the time figures are there and the profiles span 8 days.
    const clusters = join(out, "clusters");
    for (
      const f of [
        "clusters.csv",
        "cluster_means.png",
        "hour_of_day.png",
        "timeline.png",
        "report.html",
      ]
    ) {
      await Deno.stat(join(clusters, f));
    }
    const prof = (await Deno.readTextFile(join(clusters, "clusters.csv"))).trim().split("\n");
    const sizes = prof.slice(1).map((r) => Number(r.split(",")[1]));
    assertEquals(sizes, Array.from(e1.sizes), "clusters.csv sizes are the DEC labels' sizes");
    const span = prof.slice(1).map((r) => r.split(",").slice(5, 7).map(Date.parse));
    assert(span.every(([a, b]) => b - a > 5 * 86_400_000), `each cluster spans days: ${prof}`);
    ds.close();
    await Deno.remove(out, { recursive: true });
  },
});

gpuTest(
  "latent rescaling is exact: codes ×c, same reconstruction; init --latent-scale auto records c",
  async () => {
    const { ds } = templateSet(8, 2);
    const dir = await Deno.makeTempDir();
    await pretrain(ds, dir, { ...PRE, epochs: 1 }, { device: "webgpu" });
    const { ConvAutoencoder } = await import("../../lib/nn/autoencoder.ts");
    const { rescaleLatent } = await import("../../lib/cluster/pretrain.ts");
    const { Tensor, noGrad } = await import("../../lib/tensor/tensor.ts");
    const info = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
    const w = (await loadWeights(join(dir, "autoencoder.safetensors"))).weights;
    const run = async (weights: typeof w) => {
      const ae = new ConvAutoencoder(info.autoencoder);
      const set = ae.build("webgpu");
      set.load(weights);
      const x = Tensor.fromArray(ds.readBatch([0, 1, 2, 3], "maxabs"), [4, 1, 16, 16], "webgpu");
      const { z, recon } = noGrad(() => ae.forward(x));
      const out = [await z.data(), await recon.data()];
      set.dispose();
      return { out, names: ae.latentParamNames() };
    };
    const a = await run(w);
    const scaled = new Map(w);
    rescaleLatent(scaled, a.names, 7, true);
    const b = await run(scaled);
    // z scales exactly up to f32 rounding of the scaled weights (a few ulp of |z|); the
    // reconstruction matches to f32 accumulation error of the unchanged layers.
    assertClose(b.out[0], a.out[0].map((v) => 7 * v), 1e-5, 1e-5, "codes ×7");
    assertClose(b.out[1], a.out[1], 1e-5, 1e-4, "same reconstruction");
    await initCentroids(dir, ds, { ...INIT, k: 2, latentScale: "none" }, "webgpu");
    const none = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
    assertEquals(none.init.latentScale, 1, "latentScale none leaves the codes as they are");
    const r = await initCentroids(dir, ds, { ...INIT, k: 2, latentScale: "auto" }, "webgpu");
    const mi = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
    assert(mi.init.latentScale > 1, `latent scale recorded: ${mi.init.latentScale}`);
    // The scaled codes lie at an RMS distance of 1 from their nearest centre (f32 codes).
    let ss = 0;
    for (let i = 0; i < ds.count; i++) {
      let best = Infinity;
      for (let j = 0; j < 2; j++) {
        let dd = 0;
        for (let t = 0; t < 4; t++) dd += (r.latent[i * 4 + t] - r.centroids[j * 4 + t]) ** 2;
        best = Math.min(best, dd);
      }
      ss += best;
    }
    assertClose([Math.sqrt(ss / ds.count)], [1], 1e-5, 0, "RMS distance to the nearest centre");
    // applyModel's "init" stage gives the scaled codes, its "pretrain" stage the pretrained
    // encoder's own (c times smaller).
    const c = mi.init.latentScale;
    const atInit = await applyModel(dir, ds, "webgpu", "init");
    assertClose(atInit.latent, r.latent, 1e-5, 1e-5, "init stage: scaled codes");
    const atPre = await applyModel(dir, ds, "webgpu", "pretrain");
    assertClose(atPre.latent, r.latent.map((v) => v / c), 1e-5, 1e-5, "pretrain stage: codes / c");
    // assignAll in passes of 3 samples (16 samples: 6 passes) puts every pass's codes and q
    // where one pass puts them.
    const { ae } = await loadAutoencoder(dir, "webgpu", "autoencoder.safetensors", {
      scaled: true,
    });
    const mu = Tensor.fromArray(r.centroids, [2, 4], "webgpu");
    const one = await assignAll(ae, mu, ds, info.normalize, 1, "webgpu", ds.count);
    const three = await assignAll(ae, mu, ds, info.normalize, 1, "webgpu", 3);
    assertClose(one.latent, r.latent, 1e-5, 1e-5, "one pass: the init codes");
    assertClose(three.latent, one.latent, 1e-6, 0, "passes of 3: codes");
    assertClose(three.q, one.q, 1e-6, 0, "passes of 3: q");
    assertEquals(three.labels, one.labels);
    mu.dispose();
    ae.params.dispose();
    await Deno.remove(dir, { recursive: true });
  },
);

/** The files of a model directory that a fine-tuning run writes, as bytes or text. */
async function finetuneOutputs(dir: string) {
  return {
    dec: await Deno.readFile(join(dir, "dec.safetensors")),
    log: await Deno.readTextFile(join(dir, "finetune_log.csv")),
  };
}

gpuTest(
  "finetune resume after an interruption, or past an earlier --max-iter, matches an uninterrupted run",
  async () => {
    // 50 samples at batch 8: each pass ends with a batch of 2, so the permutation state matters.
    const { ds } = templateSet(17, 3);
    const n = 50;
    const sub = new MemoryDataset(ds.readBatch([...Array(n).keys()]), [1, H, W]);
    const base = await Deno.makeTempDir();
    await pretrain(sub, base, { ...PRE, seed: 5 }, { device: "webgpu" });
    await initCentroids(base, sub, { ...INIT, seed: 5 }, "webgpu");
    const copy = async () => {
      const d = await Deno.makeTempDir();
      for (const f of ["model.json", "autoencoder.safetensors", "centroids.safetensors"]) {
        await Deno.copyFile(join(base, f), join(d, f));
      }
      return d;
    };
    const cfg = { ...FT, updateInterval: 5, maxIter: 17, seed: 5 };
    const full = await copy(), cut = await copy(), short = await copy();
    const rFull = await finetune(full, sub, cfg, "webgpu");
    // Interrupted after 13 iterations: the checkpoint holds iteration 10 (saved before its check).
    await finetune(cut, sub, cfg, "webgpu", {}, { stopAfter: 13 });
    await assertRejects(() => Deno.stat(join(cut, "dec.safetensors")), Deno.errors.NotFound);
    const st = JSON.parse(
      await Deno.readTextFile(join(cut, "finetune_checkpoint", "state.json")),
    );
    assertEquals(st.iteration, 10);
    assertEquals(st.log.map((r: { iteration: number }) => r.iteration), [0, 5]);
    // A resume interrupted before its next check (at 15) leaves the checkpoint as it found it,
    // and a fresh run interrupted before its second check leaves none.
    const stateText = await Deno.readTextFile(join(cut, "finetune_checkpoint", "state.json"));
    await finetune(cut, sub, cfg, "webgpu", {}, { resume: true, stopAfter: 2 });
    assertEquals(
      await Deno.readTextFile(join(cut, "finetune_checkpoint", "state.json")),
      stateText,
    );
    const early = await copy();
    let earlySteps = 0;
    await finetune(early, sub, cfg, "webgpu", { onStep: () => earlySteps++ }, { stopAfter: 3 });
    assertEquals(earlySteps, 3);
    await assertRejects(
      () => Deno.stat(join(early, "finetune_checkpoint")),
      Deno.errors.NotFound,
    );
    await Deno.remove(early, { recursive: true });
    let started = -1;
    const rCut = await finetune(cut, sub, cfg, "webgpu", { onStart: (it) => (started = it) }, {
      resume: true,
    });
    assertEquals(started, 10);
    // A first run to --max-iter 7 (between two checks), resumed to 17.
    await finetune(short, sub, { ...cfg, maxIter: 7 }, "webgpu");
    const rShort = await finetune(short, sub, cfg, "webgpu", {}, { resume: true });
    const want = await finetuneOutputs(full);
    for (
      const [name, d, r] of [["interrupted", cut, rCut], ["--max-iter 7", short, rShort]] as const
    ) {
      assertEquals(r.labels, rFull.labels, `${name}: labels`);
      assertEquals(r.log, rFull.log, `${name}: log`);
      const got = await finetuneOutputs(d);
      assertEquals(got.log, want.log, `${name}: finetune_log.csv`);
      assertEquals(got.dec, want.dec, `${name}: dec.safetensors`);
    }
    // Not trivially equal: the weights moved away from the pretrained encoder.
    const a = (await loadWeights(join(full, "dec.safetensors"))).weights.get("centroids")!.data;
    const b = (await loadWeights(join(base, "centroids.safetensors"))).weights.get("centroids")!
      .data;
    assert(a.some((v, i) => v !== b[i]), "fine-tuning left the centres unchanged");
    // Other settings than --max-iter / --tol are refused, naming the field.
    await assertRejects(
      () => finetune(cut, sub, { ...cfg, lr: 1e-3 }, "webgpu", {}, { resume: true }),
      UserError,
      "lr: 0.00001 → 0.001",
    );
    // The same samples under other ids: another dataset for the checkpoint.
    const renamed = new MemoryDataset(
      sub.readBatch([...Array(n).keys()]),
      [1, H, W],
      Array.from({ length: n }, (_, i) => ({ id: `s${i}`, label: null })),
    );
    await assertRejects(
      () => finetune(cut, renamed, cfg, "webgpu", {}, { resume: true }),
      UserError,
      "it was fine-tuned on another dataset (50 [1,16,16]; this one: 50 [1,16,16] ids ",
    );
    // The same samples (no ids) with one value changed: the values' digest differs.
    const values = sub.readBatch([...Array(n).keys()]);
    values[7] += 0.5;
    await assertRejects(
      () =>
        finetune(cut, new MemoryDataset(values, [1, H, W]), cfg, "webgpu", {}, { resume: true }),
      UserError,
      "the dataset's values differ from those it was fine-tuned on (the same 50 sample ids",
    );
    // A damaged or edited state.json is refused, naming the field.
    const statePath = join(cut, "finetune_checkpoint", "state.json");
    const text = await Deno.readTextFile(statePath);
    const saved = JSON.parse(text);
    const damaged: [Record<string, unknown>, string][] = [
      [{ iteration: "a" }, "iteration: Invalid input: expected number, received string"],
      [{ position: -5 }, "position: Too small"],
      [{ position: n + 1 }, `position ${n + 1} is past the ${n} samples of an epoch`],
      [{ format: "other" }, "format: "],
      [{ log: [{ iteration: 0, loss: null, changedPct: null, sizes: [-1] }] }, "log.0.sizes.0"],
      [{ hasLabels: 1 }, "hasLabels: Invalid input: expected boolean"],
    ];
    try {
      for (const [edit, want] of damaged) {
        await Deno.writeTextFile(statePath, JSON.stringify({ ...saved, ...edit }));
        const e = await assertRejects(
          () => finetune(cut, sub, cfg, "webgpu", {}, { resume: true }),
          UserError,
          `Cannot resume from ${statePath}: `,
        );
        assert(e.message.includes(want) && e.message.includes("--force"), e.message);
      }
    } finally {
      await Deno.writeTextFile(statePath, text);
    }
    // A --max-iter below the checkpoint's iteration is refused, and the checkpoint kept: ending
    // there would label iteration 17's state as iteration 7's.
    await assertRejects(
      () => finetune(cut, sub, { ...cfg, maxIter: 7 }, "webgpu", {}, { resume: true }),
      UserError,
      "it is at iteration 17, past --max-iter 7",
    );
    const kept = JSON.parse(
      await Deno.readTextFile(join(cut, "finetune_checkpoint", "state.json")),
    );
    assertEquals(kept.iteration, 17);
    // --tol, --min-iter and the collapse warning's fraction may change on a resume.
    const again = await finetune(
      short,
      sub,
      { ...cfg, tol: 50, minIter: 3, collapseFraction: 0.5 },
      "webgpu",
      {},
      { resume: true },
    );
    assertEquals(again.log.at(-1)!.iteration, 17);
    for (const d of [base, full, cut, short]) await Deno.remove(d, { recursive: true });
  },
);

gpuTest(
  "finetune trains on every sample once an epoch, the last batch of a pass the shorter one",
  async () => {
    const { ds } = templateSet(17, 3);
    const n = 50;
    const values = ds.readBatch([...Array(n).keys()]);
    const reads: number[][] = [];
    const rec = new class extends MemoryDataset {
      override readBatch(indices: ArrayLike<number>, normalize?: Normalize): Float32Array {
        reads.push(Array.from(indices));
        return super.readBatch(indices, normalize);
      }
    }(values, [1, H, W]);
    const dir = await Deno.makeTempDir();
    await pretrain(rec, dir, { ...PRE, seed: 3 }, { device: "webgpu" });
    await initCentroids(dir, rec, { ...INIT, seed: 3 }, "webgpu");
    reads.length = 0;
    // 50 samples at batch 8: 6 batches of 8 and one of 2 an epoch ("auto": a check every 7).
    await finetune(dir, rec, { ...FT, updateInterval: "auto", maxIter: 14, seed: 3 }, "webgpu");
    // The passes over the whole dataset (label checks, the digest) read all 50 at once.
    const train = reads.filter((r) => r.length <= 8);
    assertEquals(reads.filter((r) => r.length > 8).map((r) => r.length), [50, 50, 50, 50]);
    assertEquals(train.map((r) => r.length), [8, 8, 8, 8, 8, 8, 2, 8, 8, 8, 8, 8, 8, 2]);
    for (const e of [0, 1]) {
      const seen = train.slice(7 * e, 7 * e + 7).flat().sort((a, b) => a - b);
      assertEquals(seen, [...Array(n).keys()], `epoch ${e + 1}`);
    }
    await Deno.remove(dir, { recursive: true });
  },
);

gpuTest("IDEC minimises MSE + γ·KL (Guo et al. 2017), not KL + γ·MSE", async () => {
  const { ds } = templateSet(8, 3);
  const dir = await Deno.makeTempDir();
  await pretrain(ds, dir, { ...PRE, epochs: 1 }, { device: "webgpu" });
  await initCentroids(dir, ds, INIT, "webgpu");
  // The first step's loss of three runs from the same state on the same first batch.
  const first = async (cfg: Partial<typeof FT>) => {
    let loss = NaN;
    await finetune(dir, ds, { ...FT, maxIter: 1, ...cfg }, "webgpu", {
      onStep: (it, _m, v) => {
        if (it === 1) loss = v;
      },
    });
    return loss;
  };
  // dec.safetensors keeps the decoder, which IDEC trains, and only then.
  const decoderKeys = async () =>
    [...(await loadWeights(join(dir, "dec.safetensors"))).weights.keys()]
      .filter((name) => name.startsWith("decoder.")).length;
  const kl = await first({ mode: "dec" });
  assertEquals(await decoderKeys(), 0, "dec");
  const mse = await first({ mode: "idec", gamma: 0 });
  const both = await first({ mode: "idec", gamma: 2.5 });
  assert(await decoderKeys() > 0, "idec: no decoder weights");
  assert(kl > 0 && mse > 0 && Math.abs(kl - mse) > 0.1 * mse, `distinct terms: ${kl}, ${mse}`);
  // f32 sums of a few hundred terms: relative error far below 1e-5.
  assertClose([both], [mse + 2.5 * kl], 1e-5, 1e-9, "MSE + 2.5·KL");
  await Deno.remove(dir, { recursive: true });
});

gpuTest(
  "a new stage deletes the stale outputs of later stages; pretrain resume refuses changed settings",
  async () => {
    const { ds } = templateSet(8, 3);
    const dir = await Deno.makeTempDir();
    const has = async (f: string) => await Deno.stat(join(dir, f)).then(() => true, () => false);
    await pretrain(ds, dir, { ...PRE, epochs: 1 }, { device: "webgpu" });
    await initCentroids(dir, ds, INIT, "webgpu");
    await finetune(dir, ds, { ...FT, maxIter: 7, updateInterval: 5 }, "webgpu");
    for (const f of ["dec.safetensors", "finetune_checkpoint", "finetune_log.csv"]) {
      assert(await has(f), `${f} written`);
    }
    // New centres: the fine-tuned model and its checkpoint came from the old ones.
    await initCentroids(dir, ds, { ...INIT, k: 2 }, "webgpu", { force: true });
    for (const f of ["dec.safetensors", "finetune_checkpoint", "finetune_log.csv"]) {
      assert(!(await has(f)), `${f} left after a new init`);
    }
    let mi = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
    assertEquals([mi.init.k, mi.finetune], [2, undefined]);
    const a = await applyModel(dir, ds, "webgpu", "auto");
    assertEquals([a.stage, a.k], ["init", 2]);
    // A resume with other settings is refused, naming the field.
    await assertRejects(
      () =>
        pretrain(ds, dir, { ...PRE, epochs: 2, normalize: "l2" }, {
          device: "webgpu",
          resume: true,
          force: true,
        }),
      UserError,
      'normalize: "maxabs" → "l2"',
    );
    assert(await has("centroids.safetensors"), "a refused resume deletes nothing");
    // New encoder weights: the centres are stale.
    await pretrain(ds, dir, { ...PRE, epochs: 2 }, { device: "webgpu", resume: true, force: true });
    assert(!(await has("centroids.safetensors")), "centroids left after more pretraining");
    mi = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
    assertEquals([mi.pretrain.epochsDone, mi.init], [2, undefined]);
    await Deno.remove(dir, { recursive: true });
  },
);

Deno.test("init refuses a directory with a fine-tuned model unless forced, naming the files and the option, and deletes nothing", async () => {
  const { ds } = templateSet(4, 2);
  const dir = await Deno.makeTempDir();
  const has = async (f: string) => await Deno.stat(join(dir, f)).then(() => true, () => false);
  try {
    await pretrain(ds, dir, { ...PRE, epochs: 1 }, { device: "cpu" });
    const init = { ...INIT, k: 2, nInit: 2 };
    await initCentroids(dir, ds, init, "cpu");
    // What finetune would have made from these centres.
    const later = ["dec.safetensors", "finetune_checkpoint", "finetune_log.csv"];
    for (const f of later) await Deno.writeTextFile(join(dir, f), "from the old centres");
    const before = await Deno.readFile(join(dir, "centroids.safetensors"));
    await assertRejects(
      () => initCentroids(dir, ds, { ...init, seed: 3 }, "cpu"),
      UserError,
      `it holds ${later.join(", ")}, fine-tuned from the current centres, which new centres ` +
        "would make stale: pass { force: true } to delete them",
    );
    for (const f of later) assert(await has(f), `${f} deleted by a refused init`);
    assertEquals(await Deno.readFile(join(dir, "centroids.safetensors")), before);
    await initCentroids(dir, ds, { ...init, seed: 3 }, "cpu", { force: true });
    for (const f of later) assert(!(await has(f)), `${f} left after a forced init`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("finetune whose step leaves weights that are not finite (a learning rate far too high) says to lower --lr, and checkpoints none of them", async () => {
  const { ds } = templateSet(4, 2);
  const dir = await Deno.makeTempDir();
  try {
    await pretrain(ds, dir, { ...PRE, epochs: 1 }, { device: "cpu" });
    await initCentroids(dir, ds, { ...INIT, k: 2, nInit: 2 }, "cpu");
    const cfg = { ...FT, batchSize: 4, updateInterval: 1, maxIter: 4, lr: 1e308 };
    const e = await finetune(dir, ds, cfg, "cpu").then(() => null, (e) => e);
    assert(e instanceof UserError, String(e));
    assert(
      /^Cannot fine-tune: the weights after iteration 1 are not finite \(\S+ holds (NaN|-?Infinity)\): lower --lr/
        .test(e.message),
      e.message,
    );
    assert(
      await Deno.stat(join(dir, "finetune_checkpoint")).then(() => false, () => true),
      "a checkpoint of weights that are not finite was written",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("init's restarts default to the CLI's: 100 for k-means, 10 for a GMM, recorded as run; a number given is kept", async () => {
  const { ds } = templateSet(4, 2);
  const dir = await Deno.makeTempDir();
  const nInit = async () => JSON.parse(await Deno.readTextFile(join(dir, "model.json"))).init.nInit;
  try {
    await pretrain(ds, dir, { ...PRE, epochs: 1 }, { device: "cpu" });
    const cfg = { ...INIT_DEFAULTS, k: 2, maxIter: 20 };
    await initCentroids(dir, ds, { ...cfg, method: "gmm" }, "cpu");
    assertEquals(await nInit(), 10);
    await initCentroids(dir, ds, cfg, "cpu");
    assertEquals(await nInit(), 100);
    await initCentroids(dir, ds, { ...cfg, method: "gmm", nInit: 3 }, "cpu");
    assertEquals(await nInit(), 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkStageRecord: centres or DEC weights that model.json does not describe (a run killed between the two writes) are refused", () => {
  const info = {
    format: "seisdec-model",
    version: 1,
    autoencoder: { inputShape: [1, 16, 16], latentDim: 3, channels: [8], slope: 0.02 },
    normalize: "maxabs",
    init: { latentScale: 5.81 },
    finetune: { alpha: 3, mode: "dec" },
  } as unknown as ModelInfo;
  // Matching records, and files from before the fields were recorded, pass.
  checkStageRecord("m", info, "centroids.safetensors", { latentScale: "5.81", method: "kmeans" });
  checkStageRecord("m", info, "centroids.safetensors", { method: "kmeans" });
  checkStageRecord("m", info, "dec.safetensors", { alpha: "3", mode: "dec", latentScale: "5.81" });
  // init --latent-scale auto killed after its centres: model.json still has the old scale.
  assertThrows(
    () =>
      checkStageRecord("m", { ...info, init: {} }, "centroids.safetensors", {
        latentScale: "5.81",
      }),
    UserError,
    "written with latentScale 5.81, model.json records 1: init did not finish",
  );
  // finetune killed after dec.safetensors: no finetune record, or an older run's.
  assertThrows(
    () =>
      checkStageRecord("m", { ...info, finetune: undefined }, "dec.safetensors", { alpha: "3" }),
    UserError,
    "model.json records no finetune: fine-tuning did not finish: run finetune --resume",
  );
  assertThrows(
    () =>
      checkStageRecord("m", { ...info, finetune: { alpha: 1, mode: "dec" } }, "dec.safetensors", {
        alpha: "3",
        mode: "dec",
      }),
    UserError,
    "written with alpha 3, model.json records 1",
  );
});

gpuTest(
  "pretrain and finetune stopped by a diverging loss, and a failed applyModel, give the model's buffers back",
  async () => {
    const { ds } = templateSet(4, 3);
    const dir = await Deno.makeTempDir();
    const pool = (await webgpu()).pool;
    await pretrain(ds, dir, PRE, { device: "webgpu" });
    await initCentroids(dir, ds, INIT, "webgpu");
    const before = pool.stats().liveBuffers;
    await assertRejects(
      () => pretrain(ds, `${dir}/p2`, { ...PRE, lr: 1e12, epochs: 500 }, { device: "webgpu" }),
      UserError,
      "loss became",
    );
    assertEquals(pool.stats().liveBuffers, before, "after pretrain");
    await assertRejects(
      () => finetune(dir, ds, { ...FT, lr: 1e12, optimizer: "sgd", maxIter: 200 }, "webgpu"),
      UserError,
      "loss became",
    );
    // Steps still in flight when the loss was read give their loss back as their reads end.
    await (await webgpu()).sync();
    for (let i = 0; i < 100 && pool.stats().liveBuffers !== before; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assertEquals(pool.stats().liveBuffers, before, "after finetune");
    // Centres refused before training (written for another latent scale) give them back too.
    const { saveWeights } = await import("../../lib/io/checkpoint.ts");
    const cen = join(dir, "centroids.safetensors");
    const written = await Deno.readFile(cen);
    await saveWeights(cen, (await loadWeights(cen)).weights, { latentScale: "7" });
    await assertRejects(() => finetune(dir, ds, FT, "webgpu"), UserError, "init did not finish");
    assertEquals(pool.stats().liveBuffers, before, "after refused centres");
    // applyModel on a dataset that cannot be read: the model and the centres go back.
    await Deno.writeFile(cen, written);
    const unreadable = {
      count: ds.count,
      sampleShape: ds.sampleShape,
      readBatch(): Float32Array {
        throw new Error("disk gone");
      },
    };
    await assertRejects(() => applyModel(dir, unreadable, "webgpu", "init"), Error, "disk gone");
    assertEquals(pool.stats().liveBuffers, before, "after a failed applyModel");
    await Deno.remove(dir, { recursive: true });
  },
);

gpuTest(
  "finetune's loss is KL(p‖q) with q and p of its alpha, with p from the dataset or from the batch",
  async () => {
    // One step on the whole set (batch 48) at alpha 2.5: the loss read back is KL(p‖q) of the
    // initial codes and centres, q Student's t with 2.5 degrees of freedom, p its target.
    const { ds } = templateSet(16, 3);
    const dir = await Deno.makeTempDir();
    await pretrain(ds, dir, PRE, { device: "webgpu" });
    // Codes rescaled to unit distance from their centres, where alpha shapes q.
    await initCentroids(dir, ds, { ...INIT, latentScale: "auto" }, "webgpu");
    const a = await applyModel(dir, ds, "webgpu", "init");
    const mu =
      (await loadWeights(join(dir, "centroids.safetensors"))).weights.get("centroids")!.data;
    const q = softAssign(a.latent, mu, ds.count, a.k, a.dim, 2.5);
    const want = klDivergence(targetDistribution(q, ds.count, a.k), q, ds.count, a.k);
    // The same model for `target: "batch"` (p from each batch's q), fine-tuned from a copy.
    const copy = await Deno.makeTempDir();
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile) await Deno.copyFile(join(dir, e.name), join(copy, e.name));
    }
    const losses: number[] = [];
    const cfg = { ...FT, batchSize: 48, alpha: 2.5, maxIter: 1, updateInterval: 1, minIter: 0 };
    await finetune(dir, ds, cfg, "webgpu", { onStep: (_it, _max, loss) => losses.push(loss) });
    assertEquals(losses.length, 1);
    // Measured 0.06706 against 0.06706; q of alpha 1 gives 0.131. f32 kernels on O(1) codes
    // against Float64: 1e-4 relative leaves margin.
    assertClose([losses[0]], [want], 1e-6, 1e-4, "loss at alpha 2.5");
    // With the whole set in one batch, the batch's target is the dataset's: the same loss (p = q,
    // which would make the loss and its gradient 0 and DEC train nothing, fails it).
    const batchLosses: number[] = [];
    await finetune(copy, ds, { ...cfg, target: "batch" }, "webgpu", {
      onStep: (_it, _max, loss) => batchLosses.push(loss),
    });
    assertEquals(batchLosses.length, 1);
    assert(want > 0.01, `KL(p‖q) ${want}`);
    assertClose([batchLosses[0]], [want], 1e-6, 1e-4, "loss at alpha 2.5, target batch");
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(copy, { recursive: true });
  },
);

gpuTest(
  "finetune's target p of the dataset is recomputed at every check: step 2's loss is KL(p‖q) of the weights after step 1",
  async () => {
    const { ds } = templateSet(16, 3);
    const base = await Deno.makeTempDir();
    await pretrain(ds, base, PRE, { device: "webgpu" });
    await initCentroids(base, ds, { ...INIT, latentScale: "auto" }, "webgpu");
    const copy = async () => {
      const d = await Deno.makeTempDir();
      for await (const e of Deno.readDir(base)) {
        if (e.isFile) await Deno.copyFile(join(base, e.name), join(d, e.name));
      }
      return d;
    };
    // The whole set in each batch, a check (and with target "dataset" a new p) before each step,
    // and a learning rate that moves q between the two.
    const cfg = { ...FT, batchSize: 48, lr: 1e-4, maxIter: 2, updateInterval: 1, minIter: 2 };
    const one = await copy(), two = await copy();
    await finetune(one, ds, { ...cfg, maxIter: 1 }, "webgpu");
    const a = await applyModel(one, ds, "webgpu", "dec");
    const q1 = softAssign(
      a.latent,
      (await loadWeights(join(one, "dec.safetensors"))).weights
        .get("centroids")!.data,
      ds.count,
      a.k,
      a.dim,
      1,
    );
    const n = ds.count, k = a.k;
    const fresh = klDivergence(targetDistribution(q1, n, k), q1, n, k);
    // The first check's p (of the initial weights) against the same q: what a stale p gives.
    const a0 = await applyModel(base, ds, "webgpu", "init");
    const mu0 = (await loadWeights(join(base, "centroids.safetensors"))).weights.get("centroids")!
      .data;
    const p0 = targetDistribution(softAssign(a0.latent, mu0, n, k, a0.dim, 1), n, k);
    const stale = klDivergence(p0, q1, n, k);
    assert(Math.abs(stale - fresh) > 1e-3 * fresh, `stale ${stale}, fresh ${fresh}`);
    const losses: number[] = [];
    await finetune(two, ds, cfg, "webgpu", { onStep: (_it, _max, loss) => losses.push(loss) });
    assertEquals(losses.length, 2);
    assertClose([losses[1]], [fresh], 1e-6, 1e-4, "step 2's loss");
    for (const d of [base, one, two]) await Deno.remove(d, { recursive: true });
  },
);

Deno.test("finetune without --resume refuses a dataset holding NaN and leaves the last run's checkpoint and record: the fine-tuned model stays usable", async () => {
  const root = await Deno.makeTempDir();
  const { a, b, c } = await redoneDatasets(root);
  try {
    const dir = join(root, "m");
    await pretrain(a, dir, { ...PRE, epochs: 1, batchSize: 4, latentDim: 3 }, { device: "cpu" });
    await initCentroids(dir, a, { ...INIT, k: 2 }, "cpu");
    const cfg = { ...FT, batchSize: 4, updateInterval: 2, maxIter: 4 };
    await finetune(dir, a, cfg, "cpu");
    const before = await Deno.readTextFile(join(dir, "finetune_checkpoint", "state.json"));
    // c: a's samples and settings written elsewhere; its last value edited to NaN.
    c.close();
    const npy = await Deno.readFile(join(root, "c", "spectrograms.npy"));
    new DataView(npy.buffer).setFloat32(npy.length - 4, NaN, true);
    await Deno.writeFile(join(root, "c", "spectrograms.npy"), npy);
    const nan = await openDataset(join(root, "c"));
    try {
      await assertRejects(() => finetune(dir, nan, cfg, "cpu"), RangeError, "is NaN");
    } finally {
      nan.close();
    }
    assertEquals(
      await Deno.readTextFile(join(dir, "finetune_checkpoint", "state.json")),
      before,
    );
    const info = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
    assert(info.finetune, "model.json lost its finetune record");
    (await loadAutoencoder(dir, "cpu", "dec.safetensors")).ae.params.dispose();
  } finally {
    for (const d of [a, b]) d.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("finetune --resume refuses a dataset of the same ids made with other settings, naming the field; an older checkpoint resumes unchecked", async () => {
  const root = await Deno.makeTempDir();
  const { a, b, c } = await redoneDatasets(root);
  try {
    const dir = join(root, "m");
    await pretrain(a, dir, { ...PRE, epochs: 1, batchSize: 4, latentDim: 3 }, { device: "cpu" });
    await initCentroids(dir, a, { ...INIT, k: 2 }, "cpu");
    const cfg = { ...FT, batchSize: 4, updateInterval: 2, maxIter: 6 };
    await finetune(dir, a, cfg, "cpu", {}, { stopAfter: 3 });
    const statePath = join(dir, "finetune_checkpoint", "state.json");
    const state = () => JSON.parse(Deno.readTextFileSync(statePath));
    assertEquals(state().datasetSettings["config.spectrogram.fmax"], "18");
    await assertRejects(
      () => finetune(dir, b, cfg, "cpu", {}, { resume: true }),
      UserError,
      "the dataset was made with other settings than the one it was fine-tuned on " +
        "(config.spectrogram.fmax: 18 → 10)",
    );
    // Written elsewhere, from another input directory, by other workers: the same settings.
    let started = -1;
    await finetune(dir, c, cfg, "cpu", { onStart: (it) => (started = it) }, {
      resume: true,
      stopAfter: 1,
    });
    assertEquals(started, 2);
    // A checkpoint from before the settings were recorded resumes on either.
    const older = state();
    delete older.datasetSettings;
    await Deno.writeTextFile(statePath, JSON.stringify(older));
    const r = await finetune(dir, b, cfg, "cpu", {}, { resume: true });
    assertEquals(r.log.at(-1)?.iteration, 6);
  } finally {
    for (const d of [a, b, c]) d.close();
    await Deno.remove(root, { recursive: true });
  }
});
Deno.test(
  "the passes over the whole dataset report their progress: encoding for init, each label check of finetune, applyModel, assignAll per batch",
  async () => {
    // A catalogue-sized set makes these passes minutes long; the CLI's bars hang on these
    // callbacks, so each must report every sample, the last report being the whole dataset.
    const { ds } = templateSet(16, 3);
    const n = ds.count;
    const dir = await Deno.makeTempDir();
    await pretrain(ds, dir, PRE, { device: "cpu" });
    const sum = () => {
      const seen: number[] = [];
      return { seen, tick: (m: number) => void seen.push(m) };
    };
    const enc = sum();
    const latent = await encodeForInit(dir, ds, "cpu", enc.tick);
    assertEquals(enc.seen.reduce((a, b) => a + b, 0), n, "encodeForInit reports every sample");
    const viaInit = sum();
    const init = await initCentroids(dir, ds, INIT, "cpu", { onBatch: viaInit.tick });
    assertEquals(viaInit.seen.reduce((a, b) => a + b, 0), n, "initCentroids reports its pass");
    // The codes are the same whether init encodes them or the CLI does first.
    const again = await initCentroids(dir, ds, INIT, "cpu", { latent });
    assertEquals(again.labels, init.labels);
    const assigned: [number, number][] = [];
    const r = await finetune(dir, ds, { ...FT, target: "dataset" }, "cpu", {
      onAssign: (done, total) => void assigned.push([done, total]),
    });
    // One pass per check, each ending at [n, n] and rising to it.
    const ends = assigned.filter(([d]) => d === n);
    assertEquals(ends.length, r.log.length, "one full pass per label check");
    assert(assigned.every(([d, t]) => t === n && d > 0 && d <= n), JSON.stringify(assigned));
    for (const stage of ["init", "dec"] as const) {
      const a = sum();
      await applyModel(dir, ds, "cpu", stage, a.tick);
      assertEquals(a.seen.reduce((x, y) => x + y, 0), n, `applyModel ${stage}`);
    }
    // assignAll in passes of 10: one report per pass, of its size.
    const { ae, info } = await loadAutoencoder(dir, "cpu");
    try {
      const cen = (await loadWeights(join(dir, "centroids.safetensors"))).weights.get("centroids")!;
      const mu = backendNamed("cpu").fromArray(cen.data, cen.shape).keep();
      const per = sum();
      await assignAll(ae, mu, ds, info.normalize, 1, "cpu", 10, per.tick);
      mu.dispose();
      assertEquals(per.seen, [10, 10, 10, 10, 8]);
    } finally {
      ae.params.dispose();
    }
    await Deno.remove(dir, { recursive: true });
  },
);

Deno.test("finetune's size warnings: a cluster that falls below a quarter of its first size is said to shrink, once; small clusters and growth are not; empty and collapsing ones every time", async () => {
  const { clusterSizeWarnings } = await import("../../lib/cluster/dec.ts");
  const first = [270, 400, 330, 5]; // 5 of 1,005 is under 1 %
  const shrunk = new Set<number>();
  // 270 -> 68 is 25.2 %: not yet.
  assertEquals(clusterSizeWarnings([68, 500, 436, 1], first, shrunk, 0.9, 63), []);
  const m = clusterSizeWarnings([67, 500, 437, 1], first, shrunk, 0.9, 126);
  assertEquals(m, [
    "cluster 0 has shrunk to 67 samples from 270 at the start of fine-tuning (25 %) at " +
    "iteration 126: DEC is absorbing it into others; compare with `cluster --stage init`, or " +
    "stop earlier (--max-iter)",
  ]);
  assertEquals(clusterSizeWarnings([14, 500, 490, 1], first, shrunk, 0.9, 189), []);
  // Empty and collapsing clusters are said at every check; an emptied one is not "shrunk".
  const w = clusterSizeWarnings([0, 0, 1005, 0], first, shrunk, 0.9, 252);
  assertEquals(w, [
    "cluster 0 is empty at iteration 252",
    "cluster 1 is empty at iteration 252",
    "cluster 2 holds 100.0 % of the samples at iteration 252: the clustering may be collapsing",
    "cluster 3 is empty at iteration 252",
  ]);
  assertEquals(clusterSizeWarnings([1, 99, 905, 0], first, shrunk, 0.9, 315).length, 3);
  assert(shrunk.has(0) && shrunk.has(1) && !shrunk.has(3), [...shrunk].join());
});

Deno.test("finetune's shrink warning needs a cluster strictly below a quarter of its first size; argmaxRows breaks ties by the first column", async () => {
  const { clusterSizeWarnings } = await import("../../lib/cluster/dec.ts");
  // Cluster 0 from 100 to exactly 25 (a quarter): not said to shrink; to 24: said.
  assertEquals(clusterSizeWarnings([25, 475], [100, 400], new Set(), 0.99, 10), []);
  const m = clusterSizeWarnings([24, 476], [100, 400], new Set(), 0.99, 20);
  assertEquals(m.length, 1);
  assert(m[0].startsWith("cluster 0 has shrunk to 24 samples from 100 "), m[0]);
  // A cluster holding exactly collapseFraction of the samples is not said to collapse; above, it is.
  assertEquals(clusterSizeWarnings([90, 10], [90, 10], new Set(), 0.9, 30), []);
  const c = clusterSizeWarnings([91, 9], [90, 10], new Set(), 0.9, 40);
  assertEquals(c.length, 1);
  assert(c[0].startsWith("cluster 0 holds 91.0 % of the samples at iteration 40"), c[0]);
  // nearlyUniform: within a tenth of the way from 1/k to 1 (k = 3: below 1/3 + 1/15 = 0.4).
  const { nearlyUniform } = await import("../../lib/cluster/dec.ts");
  assertEquals([nearlyUniform(0.399, 3), nearlyUniform(0.401, 3)], [true, false]);
  assertEquals([nearlyUniform(0.5, 1), nearlyUniform(0.54, 2), nearlyUniform(0.56, 2)], [
    false,
    true,
    false,
  ]);
  // Rows with tied largest values: the first of them, as numpy's argmax.
  const q = new Float32Array([0.4, 0.4, 0.2, 0.2, 0.4, 0.4, 1 / 3, 1 / 3, 1 / 3]);
  assertEquals([...argmaxRows(q, 3, 3)], [0, 1, 0]);
});

Deno.test(
  "finetune's shrink warnings measure each cluster against its size at the first check, not the previous one",
  async () => {
    // Overlapping classes and k = 4 at lr 3e-4: DEC drains a cluster over several checks. On
    // the CPU backend, whose rounding does not depend on an adapter's threads or tiles.
    const { ds } = templateSet(16, 3, { mix: 0.9, noise: 0.4 });
    const dir = await Deno.makeTempDir();
    await pretrain(ds, dir, PRE, { device: "cpu" });
    await initCentroids(dir, ds, { ...INIT, k: 4 }, "cpu");
    const warns: string[] = [];
    const r = await finetune(
      dir,
      ds,
      { ...FT, updateInterval: 2, maxIter: 30, lr: 3e-4 },
      "cpu",
      { onWarn: (m) => warns.push(m) },
    );
    const first = r.log[0].sizes, n = ds.count;
    const want: string[] = [];
    let gradual = false;
    for (let j = 0; j < first.length; j++) {
      const at = r.log.findIndex((l) =>
        l.sizes[j] > 0 && first[j] >= 0.01 * n && l.sizes[j] < 0.25 * first[j]
      );
      if (at < 0) continue;
      const s = r.log[at].sizes[j];
      want.push(`cluster ${j} has shrunk to ${s} samples from ${first[j]} `);
      // Not below a quarter of the previous check's size: only the first check's tells.
      if (s >= 0.25 * r.log[at - 1].sizes[j]) gradual = true;
    }
    assert(
      gradual,
      `the test needs a cluster that shrinks gradually: ${
        r.log.map((l) => l.sizes.join("/")).join(" ")
      }`,
    );
    const said = warns.filter((m) => m.includes("has shrunk"));
    assertEquals(said.length, want.length, said.join("; "));
    want.forEach((w, i) => assert(said[i].startsWith(w), `${said[i]} ≠ ${w}`));
    await Deno.remove(dir, { recursive: true });
  },
);

Deno.test("init with a GMM labels each sample by its nearest mean, where DEC starts it, and counts those whose posterior differs", async () => {
  // 700 codes in a broad cluster (sd 3) and 300 in a tight one (sd 0.3) 4 apart: the broad
  // component's posterior takes samples nearer the tight mean (a review measured 158 of 1000).
  const rng = new Rng(3);
  const n = 1000, d = 2;
  const latent = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const tight = i >= 700;
    latent[i * d] = (tight ? 4 : 0) + rng.normal() * (tight ? 0.3 : 3);
    latent[i * d + 1] = rng.normal() * (tight ? 0.3 : 3);
  }
  const ds = new MemoryDataset(new Float32Array(n * 64).map(() => rng.uniform(0, 1)), [1, 8, 8]);
  const dir = await Deno.makeTempDir();
  try {
    await pretrain(ds, dir, { ...PRETRAIN_DEFAULTS, epochs: 1, batchSize: 250, latentDim: d }, {
      device: "cpu",
    });
    const cfg = { ...INIT_DEFAULTS, k: 2, method: "gmm" as const, covariance: "diag" as const };
    const r = await initCentroids(dir, ds, cfg, "cpu", { latent });
    assertEquals(Array.from(r.labels), Array.from(nearestCentres(r.latent, r.centroids, n, d)));
    assert((r.gmmMoved ?? 0) > 50, `only ${r.gmmMoved} samples moved`);
    // Exactly the samples whose posterior (the same fit, redone) is not their nearest mean.
    const { gmm, relativeRegCovar } = await import("../../lib/cluster/gmm.ts");
    const g = gmm(latent, n, d, {
      k: 2,
      covariance: "diag",
      regCovar: relativeRegCovar(latent, n, d),
      maxIter: cfg.maxIter,
      tol: cfg.tol,
      nInit: 10,
      seed: cfg.seed,
    });
    assertEquals(Array.from(Float32Array.from(g.means)), Array.from(r.centroids), "the same fit");
    const moved = r.labels.filter((l, i) => l !== g.labels[i]).length;
    assertEquals(r.gmmMoved, moved);
    assert(moved < n / 2, `${moved} moved`);
    // k-means' labels are its nearest centres already: nothing is reported.
    const km = await initCentroids(dir, ds, { ...cfg, method: "kmeans" }, "cpu", { latent });
    assertEquals(km.gmmMoved, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
