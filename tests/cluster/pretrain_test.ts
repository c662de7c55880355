/**
 * Pretraining's bookkeeping on the CPU backend: which samples each epoch reads and in what
 * order (the validation split, a fresh shuffle every epoch), how the learning curve's losses
 * weigh the batches, and which datasets a checkpoint resumes on.
 */
import { join } from "node:path";
import { type DatasetLike, MemoryDataset, type Normalize } from "../../lib/cluster/data.ts";
import {
  datasetDifferences,
  loadAutoencoder,
  pretrain,
  PRETRAIN_DEFAULTS,
  type PretrainConfig,
  readModelInfo,
} from "../../lib/cluster/pretrain.ts";
import { Rng } from "../../lib/util/rng.ts";
import { UserError } from "../../lib/util/errors.ts";
import { setDefaultBackend } from "../../lib/backend.ts";
import {
  finetune,
  FINETUNE_DEFAULTS,
  INIT_DEFAULTS,
  initCentroids,
} from "../../lib/cluster/dec.ts";
import { applyModel } from "../../lib/cluster/assign.ts";
import { gpuRuntime, initBackend, tensorLimitOf } from "../../lib/tensor/backends.ts";
import { gpuTest } from "../_gpu.ts";
import { assert, assertClose, assertEquals, assertRejects } from "../_assert.ts";
import { redoneDatasets } from "./_redone.ts";

/** A dataset that records every readBatch call's indices. */
class Recording implements DatasetLike {
  readonly reads: number[][] = [];
  constructor(readonly inner: MemoryDataset) {}
  get count(): number {
    return this.inner.count;
  }
  get sampleShape(): readonly [number, number, number] {
    return this.inner.sampleShape;
  }
  readBatch(indices: ArrayLike<number>, normalize?: Normalize): Float32Array {
    this.reads.push(Array.from(indices));
    return this.inner.readBatch(indices, normalize);
  }
}

const SHAPE = [1, 8, 8] as const;
const sorted = (a: number[]) => a.slice().sort((x, y) => x - y);

Deno.test("pretrain holds out round(N·valSplit) samples, reads each sample once an epoch, and reshuffles every epoch", async () => {
  const rng = new Rng(5);
  const N = 20, P = 64;
  const ds = new Recording(
    new MemoryDataset(Float32Array.from({ length: N * P }, () => rng.uniform(0, 1)), SHAPE),
  );
  const dir = await Deno.makeTempDir();
  const cfg = { ...PRETRAIN_DEFAULTS, epochs: 3, batchSize: 4, latentDim: 3, valSplit: 0.23 };
  const steps: [number, number][] = [];
  const h = await pretrain(ds, dir, cfg, {
    device: "cpu",
    hooks: { onStep: (s, _n, loss) => steps.push([s, loss]) },
  });
  const state = JSON.parse(await Deno.readTextFile(join(dir, "checkpoint", "state.json")));
  // 23 % of 20 is 4.6: 5 validation samples, 15 training samples; together every sample once.
  assertEquals(state.valIdx.length, 5);
  assertEquals(sorted([...state.trainIdx, ...state.valIdx]), [...Array(N).keys()]);
  // An epoch: 4 training batches (4, 4, 4, 3), then the validation set in batches (4, 1); after
  // the first, one read of every sample for the first checkpoint's datasetDigest.
  assertEquals(ds.reads[6], [...Array(N).keys()]);
  const reads = [...ds.reads.slice(0, 6), ...ds.reads.slice(7)];
  assertEquals(reads.length, 3 * 6);
  const orders: number[][] = [];
  for (let e = 0; e < 3; e++) {
    const r = reads.slice(e * 6, e * 6 + 6);
    assertEquals(r.map((b) => b.length), [4, 4, 4, 3, 4, 1], `epoch ${e + 1}`);
    const train = r.slice(0, 4).flat();
    assertEquals(sorted(train), sorted(state.trainIdx), `epoch ${e + 1}: the training set`);
    assertEquals(r.slice(4).flat(), state.valIdx, `epoch ${e + 1}: the validation set`);
    orders.push(train);
  }
  for (const [a, b] of [[0, 1], [1, 2], [0, 2]]) {
    assert(orders[a].join() !== orders[b].join(), `epochs ${a + 1} and ${b + 1}: same order`);
  }
  // The epoch's training loss weighs each step's mean loss by its batch size (the last has 3).
  for (let e = 0; e < 3; e++) {
    const s = steps.slice(e * 4, e * 4 + 4);
    assertEquals(s.map(([i]) => i), [1, 2, 3, 4]);
    const want = (4 * (s[0][1] + s[1][1] + s[2][1]) + 3 * s[3][1]) / 15;
    assertClose([h[e].trainLoss], [want], 0, 1e-12, `epoch ${e + 1} train loss`);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("pretrain calls onEpochStart before each epoch's first step, with its steps", async () => {
  const rng = new Rng(7);
  const ds = new MemoryDataset(
    Float32Array.from({ length: 10 * 64 }, () => rng.uniform(0, 1)),
    SHAPE,
  );
  const dir = await Deno.makeTempDir();
  const cfg = { ...PRETRAIN_DEFAULTS, epochs: 2, batchSize: 4, latentDim: 3, valSplit: 0 };
  const events: string[] = [];
  await pretrain(ds, dir, cfg, {
    device: "cpu",
    hooks: {
      onEpochStart: (e, n) => events.push(`start ${e} of ${n} steps`),
      onStep: (s) => events.push(`step ${s}`),
      onEpoch: (r) => events.push(`end ${r.epoch}`),
    },
  });
  const epoch = (e: number) => [`start ${e} of 3 steps`, "step 1", "step 2", "step 3", `end ${e}`];
  assertEquals(events, [...epoch(1), ...epoch(2)]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("pretrain's validation loss is the mean over samples, not over batches", async () => {
  // Identical samples and weights that do not move: every sample's reconstruction MSE is the
  // same L, so the training and the validation loss both equal L, whatever the batch sizes
  // (validation: 4 + 1). The settings refuse lr 0; the smallest double moves no weight (an
  // Adam step of about lr is below half an ulp of any weight).
  const rng = new Rng(6);
  const one = Float32Array.from({ length: 64 }, () => rng.uniform(0, 1));
  const x = new Float32Array(20 * 64);
  for (let i = 0; i < 20; i++) x.set(one, i * 64);
  const dir = await Deno.makeTempDir();
  const cfg = {
    ...PRETRAIN_DEFAULTS,
    epochs: 1,
    batchSize: 4,
    latentDim: 3,
    valSplit: 0.25,
    lr: Number.MIN_VALUE,
  };
  const [r] = await pretrain(new MemoryDataset(x, SHAPE), dir, cfg, { device: "cpu" });
  assert(r.trainLoss > 0);
  // Float32 means of equal values differ by a few ulp between batch sizes.
  assertClose([r.valLoss!], [r.trainLoss], 0, 1e-5, "validation vs training loss");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("pretrain --resume refuses a dataset of the same ids made with other settings, naming the field; an older checkpoint resumes unchecked", async () => {
  const root = await Deno.makeTempDir();
  const { a, b, c } = await redoneDatasets(root);
  try {
    const dir = join(root, "m");
    const cfg = { ...PRETRAIN_DEFAULTS, epochs: 3, batchSize: 4, latentDim: 3, seed: 2 };
    await pretrain(a, dir, cfg, { device: "cpu", hooks: { stopAfterEpochs: 1 } });
    const statePath = join(dir, "checkpoint", "state.json");
    const state = () => JSON.parse(Deno.readTextFileSync(statePath));
    assertEquals(state().datasetSettings["config.spectrogram.fmax"], "18");
    let err: unknown = null;
    await pretrain(b, dir, cfg, { device: "cpu", resume: true }).catch((e) => (err = e));
    assert(err instanceof UserError, String(err));
    assert(
      err.message.includes(
        `Cannot resume pretraining in ${dir}: the dataset was made with other settings`,
      ) &&
        err.message.includes("(config.spectrogram.fmax: 18 → 10)"),
      err.message,
    );
    assertEquals(state().epoch, 1, "a refused resume changed the checkpoint");
    // Written elsewhere, from another input directory, by other workers: the same settings.
    await pretrain(c, dir, cfg, { device: "cpu", resume: true, hooks: { stopAfterEpochs: 1 } });
    assertEquals(state().epoch, 2);
    // A checkpoint from before the settings were recorded resumes on either, and learns them.
    const older = state();
    delete older.datasetSettings;
    await Deno.writeTextFile(statePath, JSON.stringify(older));
    await pretrain(b, dir, cfg, { device: "cpu", resume: true });
    assertEquals(state().epoch, 3);
    assertEquals(state().datasetSettings["config.spectrogram.fmax"], "10");
  } finally {
    for (const d of [a, b, c]) d.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("pretrain refuses a directory with centres or a fine-tuned model unless forced, and deletes them only when its new weights are written: a stopped run leaves them", async () => {
  const rng = new Rng(11);
  const ds = new MemoryDataset(
    Float32Array.from({ length: 12 * 64 }, () => rng.uniform(0, 1)),
    SHAPE,
  );
  const dir = await Deno.makeTempDir();
  try {
    const cfg = { ...PRETRAIN_DEFAULTS, epochs: 1, batchSize: 4, latentDim: 3, valSplit: 0 };
    await pretrain(ds, dir, cfg, { device: "cpu" });
    // What init and finetune would have made from these weights, with their records.
    const later = ["centroids.safetensors", "k_selection.csv", "dec.safetensors"];
    for (const n of later) await Deno.writeTextFile(join(dir, n), "made from epoch 1");
    const info = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
    await Deno.writeTextFile(
      join(dir, "model.json"),
      JSON.stringify({ ...info, init: { k: 2 }, finetune: { mode: "dec" } }),
    );
    const has = async () => {
      const mi = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
      const files = [];
      for (const n of later) if (await Deno.stat(join(dir, n)).catch(() => null)) files.push(n);
      return [files, "init" in mi, "finetune" in mi];
    };
    const kept = [later, true, true];
    const more = { ...cfg, epochs: 3, seed: 9 };
    // Without force the directory is refused before any work, naming the files and the option,
    // as the CLI refuses it without --force.
    for (const resume of [false, true]) {
      const e = await pretrain(ds, dir, more, { device: "cpu", resume }).then(
        () => null,
        (e) => e,
      );
      assert(e instanceof UserError, `resume ${resume}: ${e}`);
      for (const part of [...later, "{ force: true }"]) {
        assert(e.message.includes(part), `${part} not named: ${e.message}`);
      }
      assertEquals(await has(), kept, "refused: nothing deleted");
    }
    // Resuming the finished checkpoint writes the same weights: nothing is stale.
    await pretrain(ds, dir, cfg, { device: "cpu", resume: true, force: true });
    assertEquals(await has(), kept, "the same weights rewritten");
    // A new pretraining stopped after one of three epochs (as Ctrl-C would): the old model is
    // whole, its checkpoint the new run's.
    await pretrain(ds, dir, more, { device: "cpu", hooks: { stopAfterEpochs: 1 }, force: true });
    assertEquals(await has(), kept, "stopped before its weights");
    assertEquals(JSON.parse(await Deno.readTextFile(join(dir, "model.json"))).pretrain.epochs, 1);
    // Finished: the new weights replace the old, and what came from the old goes with them.
    await pretrain(ds, dir, more, { device: "cpu", resume: true, force: true });
    assertEquals(await has(), [[], false, false], "new weights written");
    assertEquals(JSON.parse(await Deno.readTextFile(join(dir, "model.json"))).pretrain.epochs, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pretrain checkpoints inside an epoch, and a resume from there ends with the weights and losses of an uninterrupted run", async () => {
  const rng = new Rng(13);
  const ds = new MemoryDataset(
    Float32Array.from({ length: 22 * 64 }, () => rng.uniform(0, 1)),
    SHAPE,
  );
  const root = await Deno.makeTempDir();
  try {
    // 22 samples, 2 held out, batch 4: 5 steps an epoch (the last of 4).
    const cfg = { ...PRETRAIN_DEFAULTS, epochs: 3, batchSize: 4, latentDim: 3, valSplit: 0.1 };
    const whole = await pretrain(ds, join(root, "whole"), cfg, { device: "cpu" });
    const cut = join(root, "cut");
    const state = () => JSON.parse(Deno.readTextFileSync(join(cut, "checkpoint", "state.json")));
    const seen: [number, number][] = [];
    await pretrain(ds, cut, cfg, {
      device: "cpu",
      hooks: { stopAfterSteps: 7, onCheckpoint: (e, s) => seen.push([e, s]) },
    });
    // Epoch 1 done and 2 steps of epoch 2.
    assertEquals(seen, [[2, 2]]);
    assertEquals([state().epoch, state().step, state().history.length], [1, 2, 1]);
    // Each epoch starts with its steps and those done before the resume (a bar's start).
    const starts: [number, number, number | undefined][] = [];
    await pretrain(ds, cut, cfg, {
      device: "cpu",
      resume: true,
      hooks: { stopAfterSteps: 4, onEpochStart: (e, n, done) => starts.push([e, n, done]) },
    });
    assertEquals(starts, [[2, 5, 2], [3, 5, 0]]);
    assertEquals([state().epoch, state().step], [2, 1]);
    // A time-based checkpoint after every step on the way to the end changes nothing either.
    const h = await pretrain(ds, cut, cfg, { device: "cpu", resume: true, checkpointEvery: 1e-9 });
    assertEquals(h.map((r) => r.trainLoss), whole.map((r) => r.trainLoss));
    assertEquals(h.map((r) => r.valLoss), whole.map((r) => r.valLoss));
    assertEquals(state().step, undefined, "an epoch's end clears the inside-epoch fields");
    const bytes = (d: string) => Deno.readFileSync(join(root, d, "autoencoder.safetensors"));
    assertEquals(bytes("cut"), bytes("whole"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("pretrain, init, finetune and applyModel without a device run on the default backend (setDefaultBackend); pretrain refuses a name that is not a backend's", async () => {
  const rng = new Rng(3);
  const ds = new MemoryDataset(
    Float32Array.from({ length: 6 * 64 }, () => rng.uniform(0, 1)),
    SHAPE,
  );
  const dir = await Deno.makeTempDir();
  const cfg = { ...PRETRAIN_DEFAULTS, epochs: 1, batchSize: 3, latentDim: 2 };
  try {
    // This file runs nothing on WebGPU: a pretraining there would start it.
    assertEquals(gpuRuntime(), null);
    setDefaultBackend("cpu");
    assertEquals((await pretrain(ds, dir, cfg)).length, 1);
    assertEquals(gpuRuntime(), null, "pretrain started WebGPU though the default is the CPU");
    // So do the later stages, given no device.
    await initCentroids(dir, ds, { ...INIT_DEFAULTS, k: 2, nInit: 2 });
    await finetune(dir, ds, { ...FINETUNE_DEFAULTS, maxIter: 2, batchSize: 3 });
    assertEquals((await applyModel(dir, ds)).stage, "dec");
    assertEquals(gpuRuntime(), null, "a later stage started WebGPU though the default is the CPU");
    const e = await pretrain(ds, join(dir, "other"), cfg, { device: "gpu" as never }).then(
      () => null,
      (e) => e,
    );
    assert(e instanceof TypeError, String(e));
    assertEquals(
      e.message,
      'Cannot initialise a backend: expected a backend, "webgpu" or "cpu": found "gpu"',
    );
    assertEquals(gpuRuntime(), null);
  } finally {
    setDefaultBackend("webgpu");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pretrain builds the architecture asked for (channels, slope), records it in model.json, and a resume refuses another", async () => {
  const rng = new Rng(4);
  const ds = new MemoryDataset(
    Float32Array.from({ length: 6 * 64 }, () => rng.uniform(0, 1)),
    SHAPE,
  );
  const dir = await Deno.makeTempDir();
  const cfg = { ...PRETRAIN_DEFAULTS, epochs: 1, batchSize: 3, latentDim: 2 };
  try {
    await pretrain(ds, dir, { ...cfg, channels: [4, 8], slope: 0.1 }, { device: "cpu" });
    const info = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
    assertEquals([info.autoencoder.channels, info.autoencoder.slope], [[4, 8], 0.1]);
    assertEquals([info.pretrain.channels, info.pretrain.slope], [[4, 8], 0.1]);
    const { ae } = await loadAutoencoder(dir, "cpu", undefined, { dataset: ds });
    assertEquals(ae.params.list.length, 2 * 2 + 2 + 2 + 2 * 2, "2 convs, 2 linears, 2 deconvs");
    ae.params.dispose();
    const e = await pretrain(ds, dir, { ...cfg, epochs: 2, channels: [4, 16], slope: 0.1 }, {
      device: "cpu",
      resume: true,
    }).then(() => null, (e) => e);
    assert(e instanceof UserError && e.message.includes("channels: [4,8] → [4,16]"), String(e));
    // Absent is the seed's architecture: a checkpoint from before these fields resumes as such.
    const dflt = join(dir, "default");
    await pretrain(ds, dflt, cfg, { device: "cpu" });
    await pretrain(ds, dflt, { ...cfg, epochs: 2, channels: [8, 16, 32, 64, 128], slope: 0.02 }, {
      device: "cpu",
      resume: true,
    });
    await assertRejectsUser(
      () => pretrain(ds, dir, { ...cfg, channels: [] }, { device: "cpu", force: true }),
      "pretrain.channels",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a model.json that declares another network than its weights is refused before the network is built, naming the field and the tensor", async () => {
  const rng = new Rng(4);
  const ds = new MemoryDataset(
    Float32Array.from({ length: 6 * 64 }, () => rng.uniform(0, 1)),
    SHAPE,
  );
  const dir = await Deno.makeTempDir();
  const cfg = { ...PRETRAIN_DEFAULTS, epochs: 1, batchSize: 3, latentDim: 2 };
  try {
    await pretrain(ds, dir, { ...cfg, channels: [4, 8] }, { device: "cpu" });
    const path = join(dir, "model.json");
    const info = JSON.parse(await Deno.readTextFile(path));
    const fix = "expected model.json and the weights of one model (as pretrain writes them)";
    const cases: [Record<string, unknown>, string][] = [
      // Built first, these allocated gigabytes (or threw a RangeError from new Linear).
      [
        { latentDim: 2000000000 },
        `model.json's latentDim is 2000000000 but autoencoder.safetensors's ` +
        `encoder.encoder.5.weight has shape [2, 32]: ${fix}`,
      ],
      [
        { channels: [4, 100000000] },
        `model.json's channels[1] is 100000000 but autoencoder.safetensors's ` +
        `encoder.encoder.2.weight has shape [8, 4, 3, 3]: ${fix}`,
      ],
      [
        { inputShape: [1, 4000, 4000] },
        `model.json's inputShape [1, 4000, 4000] with channels[1] 8 makes 8 × 1000 × 1000 = ` +
        `8000000 features but autoencoder.safetensors's encoder.encoder.5.weight has shape [2, 32]`,
      ],
      [
        { channels: [4, 8, 16] },
        `model.json's channels has 3 entries but autoencoder.safetensors has no ` +
        `encoder.encoder.4.weight: ${fix}`,
      ],
      [
        { channels: [4] },
        `model.json's channels has 1 entry but autoencoder.safetensors has no ` +
        `encoder.encoder.3.weight: ${fix}`,
      ],
    ];
    for (const [change, part] of cases) {
      await Deno.writeTextFile(
        path,
        JSON.stringify({ ...info, autoencoder: { ...info.autoencoder, ...change } }),
      );
      const e = await loadAutoencoder(dir, "cpu").then(() => null, (e) => e);
      assert(e instanceof UserError && e.message.includes(part), String(e));
      assert(e.message.startsWith(`Cannot load model ${dir}: `), e.message);
    }
    // model.json as pretrain wrote it loads.
    await Deno.writeTextFile(path, JSON.stringify(info));
    (await loadAutoencoder(dir, "cpu", undefined, { dataset: ds })).ae.params.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readModelInfo names a model.json that is no object as such, without an empty field name, and refuses another version", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "model.json");
  const info = {
    format: "seisdec-model",
    version: 1,
    autoencoder: { inputShape: [1, 8, 8], latentDim: 2, channels: [4], slope: 0.02 },
    normalize: "maxabs",
  };
  const fix = "expected a model.json as pretrain writes it";
  try {
    for (
      const [text, part] of [
        ["[]", `${path}: (top level): Invalid input: expected object, received array: ${fix}`],
        [
          JSON.stringify({ ...info, version: 7 }),
          `${path}: version: Invalid input: expected 1: ${fix}`,
        ],
      ]
    ) {
      await Deno.writeTextFile(path, text);
      const e = await readModelInfo(dir).then(() => null, (e) => e);
      assert(e instanceof UserError, String(e));
      assertEquals(e.message, `Cannot load ${part}`);
    }
    await Deno.writeTextFile(path, JSON.stringify(info));
    assertEquals((await readModelInfo(dir)).normalize, "maxabs");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function assertRejectsUser(f: () => Promise<unknown>, part: string): Promise<void> {
  const e = await f().then(() => null, (e) => e);
  assert(e instanceof UserError && e.message.includes(part), String(e));
}

Deno.test("a model applied to a dataset made otherwise than its training data warns, naming the fields; the same settings written elsewhere do not", async () => {
  const root = await Deno.makeTempDir();
  const { a, b, c } = await redoneDatasets(root);
  const errs: string[] = [];
  const { error } = console;
  try {
    const dir = join(root, "m");
    const cfg = { ...PRETRAIN_DEFAULTS, epochs: 1, batchSize: 4, latentDim: 3, seed: 2 };
    await pretrain(a, dir, cfg, { device: "cpu" });
    const info = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
    assertEquals(info.datasetSettings["config.spectrogram.fmax"], "18");
    console.error = (...x: unknown[]) => errs.push(x.join(" "));
    await loadAutoencoder(dir, "cpu", undefined, { dataset: c });
    assertEquals(errs, []);
    await loadAutoencoder(dir, "cpu", undefined, { dataset: b });
    assertEquals(errs.length, 1);
    assert(
      errs[0].startsWith(
        `warning: model ${dir} was trained on spectrograms made otherwise than this dataset's ` +
          `(config.spectrogram.fmax: 18 → 10)`,
      ),
      errs[0],
    );
    // A model from before the settings were recorded says nothing.
    delete info.datasetSettings;
    await Deno.writeTextFile(join(dir, "model.json"), JSON.stringify(info));
    await loadAutoencoder(dir, "cpu", undefined, { dataset: b });
    assertEquals(errs.length, 1);
  } finally {
    console.error = error;
    for (const d of [a, b, c]) d.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("datasetDifferences compares what makes a sample's values, not where the samples came from, and nothing for a dataset that does not say", () => {
  const trained = {
    scaling: '"db"',
    components: '["Z"]',
    "config.input.format": '"esec"',
    "config.input.phase": '"P"',
    "config.preprocess.samplingRate": "100",
    "config.spectrogram.fmax": "18",
    "axes.freqs": "87 from 1.17 to 17.97",
  };
  const other = {
    ...trained,
    "config.input.format": '"manifest"',
    "config.preprocess.samplingRate": "40",
    components: '["Z","N","E"]',
  };
  assertEquals(datasetDifferences(trained, other), [
    'components: ["Z"] → ["Z","N","E"]',
    "config.preprocess.samplingRate: 100 → 40",
  ]);
  // An imported array: its axes are bin indices, and nothing says how it was made.
  const imported = { scaling: '"none"', components: '["Z"]', "axes.freqs": "87 from 0 to 86" };
  assertEquals(datasetDifferences(trained, imported), []);
  assertEquals(datasetDifferences(imported, trained), []);
});

Deno.test("pretrain stops when the weights it would keep give a non-finite loss, and warns when the loss ends far above its first step's", async () => {
  const rng = new Rng(3);
  const N = 12, P = 64;
  const ds = new MemoryDataset(
    Float32Array.from({ length: N * P }, () => rng.uniform(0, 1)),
    SHAPE,
  );
  const cfg = { ...PRETRAIN_DEFAULTS, epochs: 1, batchSize: 16, latentDim: 3 };
  // One Adam step of 1e30: every loss printed (the step's, before its update) is finite, but the
  // weights after it give NaN codes. Nothing is written.
  const dir = await Deno.makeTempDir();
  let err: unknown = null;
  await pretrain(ds, dir, { ...cfg, lr: 1e30 }, { device: "cpu" }).catch((e) => err = e);
  assert(err instanceof UserError, String(err));
  assert(
    /^Cannot pretrain: the weights after epoch 1 give a loss of (NaN|Infinity) on the first training batch: lower --lr/
      .test((err as Error).message),
    (err as Error).message,
  );
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), []);
  // The same inside an epoch: the checkpoint there is not written either.
  err = null;
  await pretrain(ds, dir, { ...cfg, lr: 1e30, batchSize: 4 }, {
    device: "cpu",
    hooks: { stopAfterSteps: 1 },
  }).catch((e) => err = e);
  assert(
    String(err).includes("the weights after step 1 of epoch 1 give a loss of"),
    String(err),
  );
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), []);
  // Diverged but finite (lr 1): the model is written, with a warning.
  const warnings: string[] = [];
  const error = console.error;
  console.error = (...a: unknown[]) => warnings.push(a.join(" "));
  try {
    const h = await pretrain(ds, dir, { ...cfg, lr: 1, epochs: 3, batchSize: 4 }, {
      device: "cpu",
    });
    assert(h[2].trainLoss > 1e3, JSON.stringify(h));
  } finally {
    console.error = error;
  }
  assertEquals(warnings.length, 1, warnings.join("\n"));
  assert(
    /^warning: pretraining ends with a training loss of \S+, (\d{2,3}|\d\.\d\de\+\d+) times its first step's \(\S+\): the weights diverged: lower --lr/
      .test(warnings[0]),
    warnings[0],
  );
  // The first step's loss is kept in the checkpoint: a run stopped after its first epoch and
  // resumed is held against it too, not against the resumed call's first (diverged) step.
  const resumed: string[] = [];
  console.error = (...a: unknown[]) => resumed.push(a.join(" "));
  try {
    const cfg3 = { ...cfg, lr: 1, epochs: 3, batchSize: 4 };
    await pretrain(ds, join(dir, "r"), cfg3, { device: "cpu", hooks: { stopAfterEpochs: 1 } });
    await pretrain(ds, join(dir, "r"), cfg3, { device: "cpu", resume: true });
  } finally {
    console.error = error;
  }
  assertEquals(
    resumed.filter((w) => w.includes("the weights diverged")).length,
    1,
    resumed.join("\n"),
  );
  assertEquals(resumed.length, 1, resumed.join("\n"));
  // A normal run says nothing.
  const calm: string[] = [];
  console.error = (...a: unknown[]) => calm.push(a.join(" "));
  try {
    await pretrain(ds, join(dir, "ok"), { ...cfg, epochs: 3, batchSize: 4 }, { device: "cpu" });
  } finally {
    console.error = error;
  }
  assertEquals(calm, []);
  await Deno.remove(dir, { recursive: true });
});

/** Twelve random samples of [1, 8, 8]. */
function twelve(seed: number): MemoryDataset {
  const rng = new Rng(seed);
  return new MemoryDataset(Float32Array.from({ length: 12 * 64 }, () => rng.uniform(0, 1)), SHAPE);
}

Deno.test("pretrain --resume refuses a checkpoint taken inside epoch 2 with --epochs 1, naming the epoch and --epochs, and writes no model; --epochs 2 finishes it", async () => {
  const ds = twelve(21);
  const dir = await Deno.makeTempDir();
  try {
    // 12 samples at batch 4: 3 steps an epoch; 5 steps are epoch 1 and 2 steps of epoch 2.
    const cfg = { ...PRETRAIN_DEFAULTS, epochs: 3, batchSize: 4, latentDim: 3 };
    await pretrain(ds, dir, cfg, { device: "cpu", hooks: { stopAfterSteps: 5 } });
    const state = () => JSON.parse(Deno.readTextFileSync(join(dir, "checkpoint", "state.json")));
    assertEquals([state().epoch, state().step], [1, 2]);
    const e = await pretrain(ds, dir, { ...cfg, epochs: 1 }, { device: "cpu", resume: true })
      .then(() => null, (e) => e);
    assert(e instanceof UserError, String(e));
    assertEquals(
      e.message,
      `Cannot resume pretraining in ${dir}: the checkpoint is inside epoch 2, past --epochs 1: ` +
        `resume with --epochs 2 or more`,
    );
    // Its half-trained weights were not saved as a finished model of 1 epoch.
    assertEquals(await Deno.stat(join(dir, "autoencoder.safetensors")).catch(() => null), null);
    assertEquals([state().epoch, state().step], [1, 2]);
    const h = await pretrain(ds, dir, { ...cfg, epochs: 2 }, { device: "cpu", resume: true });
    assertEquals(h.map((r) => r.epoch), [1, 2]);
    const info = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
    assertEquals([info.pretrain.epochs, info.pretrain.epochsDone], [2, 2]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pretrain stopped at an epoch's end leaves that epoch's checkpoint, not one at step 0 of the next: --epochs 1 finishes it", async () => {
  const ds = twelve(21);
  const dir = await Deno.makeTempDir();
  try {
    // 12 samples at batch 4: 3 steps are exactly epoch 1.
    const cfg = { ...PRETRAIN_DEFAULTS, epochs: 3, batchSize: 4, latentDim: 3 };
    await pretrain(ds, dir, cfg, { device: "cpu", hooks: { stopAfterSteps: 3 } });
    const state = JSON.parse(await Deno.readTextFile(join(dir, "checkpoint", "state.json")));
    assertEquals([state.epoch, state.step, state.history.length], [1, undefined, 1]);
    const h = await pretrain(ds, dir, { ...cfg, epochs: 1 }, { device: "cpu", resume: true });
    assertEquals(h.map((r) => r.epoch), [1]);
    const info = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
    assertEquals([info.pretrain.epochs, info.pretrain.epochsDone], [1, 1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a resume that raises the epochs records them in its checkpoint: stopped again, a resume that gives none goes on to them", async () => {
  const ds = twelve(23);
  const dir = await Deno.makeTempDir();
  try {
    const cfg = { ...PRETRAIN_DEFAULTS, epochs: 1, batchSize: 4, latentDim: 3 };
    await pretrain(ds, dir, cfg, { device: "cpu" });
    // Trained on to 3 epochs, and stopped after epoch 2.
    await pretrain(ds, dir, { ...cfg, epochs: 3 }, {
      device: "cpu",
      resume: true,
      hooks: { stopAfterEpochs: 1 },
    });
    const state = JSON.parse(await Deno.readTextFile(join(dir, "checkpoint", "state.json")));
    assertEquals([state.epoch, state.config.epochs], [2, 3]);
    // The CLI's --resume without --epochs takes the checkpoint's (before: 1, refused as past).
    const h = await pretrain(ds, dir, { ...cfg, ...state.config }, { device: "cpu", resume: true });
    assertEquals(h.map((r) => r.epoch), [1, 2, 3]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pretrain --resume refuses every setting but the epochs changed from the checkpoint's, naming the field, its value then and now", async () => {
  const ds = twelve(22);
  const dir = await Deno.makeTempDir();
  try {
    const cfg: PretrainConfig = {
      ...PRETRAIN_DEFAULTS,
      epochs: 1,
      batchSize: 4,
      latentDim: 3,
      valSplit: 0.25,
      channels: [4, 8],
      slope: 0.1,
    };
    await pretrain(ds, dir, cfg, { device: "cpu" });
    const changes: { [K in keyof PretrainConfig]-?: PretrainConfig[K] } = {
      epochs: 1,
      batchSize: 3,
      lr: 2e-3,
      betas: [0.9, 0.99],
      weightDecay: 1e-4,
      valSplit: 0.5,
      latentDim: 2,
      channels: [4, 6],
      slope: 0.2,
      normalize: "l2",
      seed: 7,
    };
    // Every field of the settings but the epochs (which a resume may raise) is tried.
    const fields = Object.keys(changes).filter((k) => k !== "epochs");
    assertEquals(fields.length, Object.keys(changes).length - 1);
    for (const key of fields as (keyof PretrainConfig)[]) {
      const now = { ...cfg, [key]: changes[key] };
      const e = await pretrain(ds, dir, now, { device: "cpu", resume: true })
        .then(() => null, (e) => e);
      assert(e instanceof UserError, `${key} changed: ${e}`);
      const part = `(${key}: ${JSON.stringify(cfg[key])} → ${JSON.stringify(changes[key])})`;
      assert(
        e.message.startsWith(
          `Cannot resume pretraining in ${dir}: the checkpoint was trained with other settings ${part}`,
        ) && e.message.includes("(only --epochs may change)"),
        e.message,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("learning_curve.csv leaves a row's val_loss empty without a validation split, and holds the validation loss with one", async () => {
  const ds = twelve(23);
  const root = await Deno.makeTempDir();
  try {
    for (const valSplit of [0, 0.25]) {
      const dir = join(root, `v${valSplit}`);
      const cfg = { ...PRETRAIN_DEFAULTS, epochs: 2, batchSize: 4, latentDim: 3, valSplit };
      const h = await pretrain(ds, dir, cfg, { device: "cpu" });
      const lines = (await Deno.readTextFile(join(dir, "learning_curve.csv"))).trimEnd()
        .split("\n");
      assertEquals(lines[0], "epoch,train_loss,val_loss,seconds,samples_per_sec");
      const rows = lines.slice(1).map((l) => l.split(","));
      assertEquals(rows.map((r) => r.length), [5, 5]);
      assertEquals(
        rows.map((r) => [Number(r[0]), Number(r[1])]),
        h.map((r) => [r.epoch, r.trainLoss]),
      );
      assertEquals(
        rows.map((r) => r[2]),
        valSplit ? h.map((r) => String(r.valLoss)) : ["", ""],
        `valSplit ${valSplit}`,
      );
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("pretrain warns of divergence when the last epoch's loss is 20 times the first step's (2.22e+28 times: 3 significant digits), and not at 5 times", async () => {
  const ds = twelve(24);
  const dir = await Deno.makeTempDir();
  const { error } = console;
  try {
    const cfg = { ...PRETRAIN_DEFAULTS, epochs: 1, batchSize: 4, latentDim: 3 };
    const [r] = await pretrain(ds, dir, cfg, { device: "cpu" });
    // The checkpoint's first-step loss set to a 20th (a 5th) of the epoch's: a resume of the
    // finished checkpoint ends as a run whose loss grew 20 (5) times; one grown 2.2e28 times
    // is said to 3 significant digits, as the losses are.
    const path = join(dir, "checkpoint", "state.json");
    const state = JSON.parse(await Deno.readTextFile(path));
    for (const times of [20, 2.223984538274675e28, 5]) {
      const first = r.trainLoss / times;
      await Deno.writeTextFile(path, JSON.stringify({ ...state, firstLoss: first }));
      const warned: string[] = [];
      console.error = (...a: unknown[]) => warned.push(a.join(" "));
      try {
        await pretrain(ds, dir, cfg, { device: "cpu", resume: true });
      } finally {
        console.error = error;
      }
      assertEquals(
        warned,
        times > 5
          ? [
            `warning: pretraining ends with a training loss of ${r.trainLoss.toPrecision(3)}, ` +
            `${times === 20 ? "20" : "2.22e+28"} times its first step's ` +
            `(${first.toPrecision(3)}): the weights diverged: lower --lr and pretrain again ` +
            `with --force`,
          ]
          : [],
        `${times} times`,
      );
    }
  } finally {
    console.error = error;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("new pretrained weights drop model.json's init and finetune records even when their files are gone", async () => {
  const ds = twelve(5);
  const dir = await Deno.makeTempDir();
  try {
    const cfg = { ...PRETRAIN_DEFAULTS, epochs: 1, batchSize: 4, latentDim: 3, valSplit: 0 };
    await pretrain(ds, dir, cfg, { device: "cpu" });
    // Records of an init and a finetune whose files were deleted: a stale latentScale would
    // rescale the new encoder's codes.
    const info = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
    await Deno.writeTextFile(
      join(dir, "model.json"),
      JSON.stringify({ ...info, init: { k: 2, latentScale: 2 }, finetune: { mode: "dec" } }),
    );
    await pretrain(ds, dir, { ...cfg, seed: 9 }, { device: "cpu" });
    const mi = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
    assertEquals([mi.pretrain.seed, "init" in mi, "finetune" in mi], [9, false, false]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

gpuTest(
  "pretrain refuses a latent Linear too large for one tensor of the adapter before building anything, naming the weight and --latent-dim, not the batch",
  async () => {
    await initBackend("webgpu");
    const limit = tensorLimitOf("webgpu");
    // [N, 1, 8, 8] with one conv of 4 channels: 4 × 4 × 4 = 64 features into the latent Linear.
    const latentDim = Math.floor(limit.bytes / (4 * 64)) + 1;
    const root = await Deno.makeTempDir();
    const dir = join(root, "m");
    try {
      const x = new Float32Array(2 * 64).fill(1);
      const cfg = { ...PRETRAIN_DEFAULTS, epochs: 1, batchSize: 2, latentDim, channels: [4] };
      const e = await assertRejects(
        () => pretrain(new MemoryDataset(x, [1, 8, 8]), dir, cfg, { device: "webgpu" }),
        UserError,
      );
      assert(
        e.message.startsWith(
          `Cannot pretrain: the weight encoder.encoder.3.weight [${latentDim}, 64] (latentDim is ` +
            `${latentDim}; inputShape [1, 8, 8] with channels[0] 4 makes 4 × 4 × 4 = 64 features) ` +
            `is ${
              (4 * 64 * latentDim / 2 ** 20).toFixed(1)
            } MiB, past this adapter's ${limit.name}`,
        ),
        e.message,
      );
      assert(e.message.includes("at any batch size: lower --latent-dim"), e.message);
      assertEquals(await Deno.stat(dir).then(() => true, () => false), false, "nothing made");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);
