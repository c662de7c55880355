/**
 * `info DIR`: the text summary rounds what is measured, `--json` keeps it exact.
 */
import { join } from "node:path";
import { run } from "./_run.ts";
import { fileDigest } from "../../lib/io/checkpoint.ts";
import {
  describeDir,
  formatSummary,
  inputOf,
  limitOf,
  processingOf,
  settingsProcessing,
} from "../../lib/cli/describe.ts";
import { parseExtractConfig } from "../../lib/io/extract_config.ts";
import { type DatasetMeta, datasetSettings, writeDataset } from "../../lib/io/dataset.ts";
import { assert, assertEquals } from "../_assert.ts";
import { ConvAutoencoder } from "../../lib/nn/autoencoder.ts";
import { DETECTIONS_DIR } from "../../lib/io/extract.ts";
import { gpuTest } from "../_gpu.ts";
import { adapterLabel, adapterSummary } from "../../lib/gpu/device.ts";
import { storedTuningPath, TUNING_FORMAT, writeStoredTuning } from "../../lib/gpu/tuning_store.ts";
import { isSoftwareAdapter } from "../../lib/tensor/backends.ts";
import { tuningDigest } from "../../lib/util/software.ts";
import { kernelsDigest } from "../../lib/gpu/kernels.ts";

Deno.test("info on a cluster directory prints scores as evaluate does, and exact in --json", async () => {
  const dir = await Deno.makeTempDir();
  const evaluation = {
    acc: 0.6237623762376238,
    nmi: 0.07592270701232423,
    ari: -0.004781882385180879,
    silhouette: 0.5275917849975506,
  };
  await Deno.writeTextFile(
    join(dir, "result.json"),
    JSON.stringify({
      stage: "dec",
      n: 303,
      k: 2,
      dim: 9,
      normalize: "minmax",
      dataset: "/d",
      model: "/m",
      created: "2026-01-01T00:00:00.000Z",
    }),
  );
  await Deno.writeTextFile(join(dir, "clusters.csv"), "cluster,size\n0,200\n1,103\n");
  await Deno.writeTextFile(join(dir, "evaluation.json"), JSON.stringify(evaluation));
  try {
    const text = await run("info", dir);
    assertEquals(text.code, 0, text.err.join("\n"));
    const line = text.out.join("\n").split("\n").find((l) => l.startsWith("evaluation:"));
    assertEquals(line, "evaluation:     acc 0.6238, nmi 0.0759, ari -0.0048, silhouette 0.5276");
    assert(text.out.join("\n").includes("sizes:          [200, 103]"), text.out.join("\n"));
    const json = JSON.parse((await run("info", dir, "--json")).out.join("\n"));
    assertEquals(json.evaluation, evaluation);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("info on a model prints losses and rates with 4 significant digits, exact in --json", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    join(dir, "model.json"),
    JSON.stringify({
      normalize: "minmax",
      pretrain: { epochsDone: 3, epochs: 3, batchSize: 32, lr: 0.001 },
      finetune: { mode: "dec", iterations: 30, converged: false, lr: 1e-5 },
    }),
  );
  await Deno.writeTextFile(
    join(dir, "learning_curve.csv"),
    "epoch,train_loss,val_loss\n1,0.5,\n2,0.3113498938555765,0.00000123456789\n",
  );
  try {
    const text = (await run("info", dir)).out.join("\n");
    assert(
      text.includes(
        "pretrain:       epochsDone 3, epochs 3, batchSize 32, lr 0.001, trainLoss 0.3113, valLoss 0.000001235",
      ),
      text,
    );
    assert(text.includes("finetune:       mode dec, iterations 30, converged false, lr 0.00001"));
    const json = JSON.parse((await run("info", dir, "--json")).out.join("\n"));
    assertEquals([json.pretrain.trainLoss, json.pretrain.valLoss], [
      0.3113498938555765,
      0.00000123456789,
    ]);
    // A pretraining checkpoint (kept by a stopped run) is named as such, not as fine-tuning's.
    assertEquals([json.files.pretrainCheckpoint, json.files.finetuneCheckpoint], [false, false]);
    await Deno.mkdir(join(dir, "checkpoint"));
    const withCk = JSON.parse((await run("info", dir, "--json")).out.join("\n"));
    assertEquals([withCk.files.pretrainCheckpoint, withCk.files.finetuneCheckpoint], [true, false]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("formatSummary names what a dataset's counts count, not a model's layer widths", () => {
  const model = formatSummary({ kind: "model", path: "m", channels: [8, 16, 32, 64, 128] });
  assertEquals(model.split("\n")[2], "channels:       [8, 16, 32, 64, 128]");
  const ds = formatSummary({ kind: "dataset", path: "ds", stations: 2, channels: 4 });
  assertEquals(ds.split("\n").slice(2), [
    "stations:       2 (distinct NET.STA)",
    "channels:       4 (distinct NET.STA.LOC.CHA)",
  ]);
});

Deno.test("formatSummary rounds ranges and leaves integers and text alone", () => {
  const text = formatSummary({
    kind: "dataset",
    path: "ds",
    shape: [303, 1, 87, 67],
    freqsHz: [1.171875, 17.96875],
    timesS: [-20, 65.14],
    created: "2026-01-01T00:00:00.000Z",
  });
  assertEquals(text.split("\n").slice(2), [
    "shape:          [303, 1, 87, 67]",
    "freqsHz:        1.172 to 17.97",
    "timesS:         -20 to 65.14",
    "created:        2026-01-01T00:00:00.000Z",
  ]);
});

Deno.test("info on a dataset counts stations (NET.STA) and channels (NET.STA.LOC.CHA) apart", async () => {
  const dir = join(await Deno.makeTempDir(), "ds");
  // Single-channel samples, as ESEC's: 2 stations, 4 channels (one with a location code, one
  // sample without station or channel, as after import).
  const codes = [
    ["XX", "A", "", "BHZ"],
    ["XX", "A", "", "BHN"],
    ["XX", "A", "", "BHZ"],
    ["XX", "A", "10", "BHZ"],
    ["YY", "A", "", "HHE"],
    ["", "", "", ""],
  ];
  const samples = codes.map(([network, station, location, channel], i) => ({
    id: `s${i}`,
    network,
    station,
    location,
    channel,
    referenceTime: "2020-01-01T00:00:00.000Z",
    label: null,
  }));
  await writeDataset(
    dir,
    { shape: [6, 1, 2, 2], components: ["channel"], scaling: "psd", config: {} },
    samples,
    new Float32Array(24),
    new Float64Array([1, 2]),
    new Float64Array([0, 1]),
  );
  try {
    const text = (await run("info", dir)).out.join("\n").split("\n");
    assert(text.includes("stations:       2 (distinct NET.STA)"), text.join("\n"));
    assert(text.includes("channels:       4 (distinct NET.STA.LOC.CHA)"), text.join("\n"));
    const json = JSON.parse((await run("info", dir, "--json")).out.join("\n"));
    assertEquals([json.stations, json.channels], [2, 4]);
    // Failures by reason, most first; triggers written and in all (one failed).
    await Deno.writeTextFile(
      join(dir, "failures.csv"),
      "id,reason,message\nf1,flat,x\nf2,gap,y\nf3,gap,z\n",
    );
    await Deno.writeTextFile(
      join(dir, "triggers.csv"),
      "id,event,on,trigger,off,duration,peak,label,status\n" +
        "s0,E1,t,t,t,1,5,,ok\ns1,E1,t,t,t,1,5,,ok\nf2,E2,t,t,t,1,5,,gap\n",
    );
    const more = JSON.parse((await run("info", dir, "--json")).out.join("\n"));
    assertEquals(more.failed, { total: 3, byReason: { gap: 2, flat: 1 } });
    assertEquals(Object.keys(more.failed.byReason), ["gap", "flat"]);
    assertEquals(more.triggers, { total: 3, events: 2, ok: 2 });
  } finally {
    await Deno.remove(join(dir, ".."), { recursive: true });
  }
});

Deno.test("info names what a dataset's samples came from: the format, and an SDS archive's picks, windows or triggers with their settings", () => {
  const sds = (windows: unknown) => ({ input: { format: "sds", dir: "/a", windows } });
  assertEquals(inputOf({ input: { format: "esec", dir: "/e" } }), "esec");
  assertEquals(inputOf(null), "unknown");
  assertEquals(inputOf(sds(null)), "sds picks");
  assertEquals(inputOf(sds({ step: 43, trigger: null })), "sds windows every 43 s");
  const trigger = { method: "recursive", sta: 1, lta: 20, on: 4, off: 1.5, aic: null };
  assertEquals(inputOf(sds({ step: null, trigger })), "sds triggers (recursive 1/20/4/1.5)");
  assertEquals(
    inputOf(sds({
      step: null,
      trigger: {
        ...trigger,
        method: "classic",
        aic: { before: 5, after: 1 },
        coincidence: { stations: 2, window: 10 },
      },
    })),
    "sds triggers (classic 1/20/4/1.5, aic 5/1, coincidence 2 within 10 s)",
  );
  assertEquals(
    inputOf(sds({ step: null, trigger: { ...trigger, band: [2, 15], dead: 0 } })),
    "sds triggers (recursive 1/20/4/1.5, band 2-15 Hz, dead time 0 s)",
  );
});

Deno.test("info gives the sample limit a dataset was extracted with: none, the first N, or a random N with its seed", () => {
  assertEquals(limitOf({ limit: null, subset: "first", subsetSeed: 0 }), {});
  assertEquals(limitOf(null), {});
  assertEquals(limitOf({ limit: 10, subset: "first", subsetSeed: 4 }), {
    limit: { samples: 10, subset: "first" },
  });
  // A dataset made before --subset existed took the first N.
  assertEquals(limitOf({ limit: 10 }), { limit: { samples: 10, subset: "first" } });
  assertEquals(limitOf({ limit: 20, subset: "random", subsetSeed: 3 }), {
    limit: { samples: 20, subset: "random", seed: 3 },
  });
  assertEquals(
    formatSummary({
      kind: "dataset",
      path: "ds",
      ...limitOf({ limit: 20, subset: "random", subsetSeed: 3 }),
    }),
    [
      "kind:           dataset",
      "path:           ds",
      "limit:          samples 20, subset random, seed 3",
    ]
      .join("\n"),
  );
});

Deno.test("info says how a dataset's spectrograms were made: rate, response, band-pass, STFT, crop", () => {
  const c = parseExtractConfig({ input: { format: "esec", dir: "/e" } });
  assertEquals(
    processingOf(c),
    "100 Hz; response removed to VEL, pre-filter 0.2/0.5/18.5/19.8 Hz; band-pass 1-18 Hz; " +
      "STFT 2.56 s (257 samples), 50 % overlap, nfft 512; crop 1-18 Hz, -20 to 66 s",
  );
  const other = parseExtractConfig({
    input: { format: "esec", dir: "/e" },
    preprocess: {
      samplingRate: 20,
      response: { preFilt: null, waterLevel: 60, output: "ACC" },
      bandpass: null,
    },
    spectrogram: { windowLength: 10, overlap: 0.75, nfft: 512, fmin: 0.5, fmax: 5 },
  });
  assertEquals(
    processingOf(other),
    "20 Hz; response removed to ACC, no pre-filter, water level 60 dB; no band-pass; " +
      "STFT 10 s (201 samples), 75 % overlap, nfft 512; crop 0.5-5 Hz, -20 to 66 s",
  );
  assertEquals(
    processingOf({ ...c, preprocess: { ...c.preprocess, response: { remove: false } } }),
    "100 Hz; response not removed; band-pass 1-18 Hz; STFT 2.56 s (257 samples), 50 % " +
      "overlap, nfft 512; crop 1-18 Hz, -20 to 66 s",
  );
  // An imported array has no config.
  assertEquals(processingOf(null), null);
});

Deno.test("info, evaluate and report name a damaged result.json, evaluation.json or model.json in one line", async () => {
  const dir = await Deno.makeTempDir();
  const c = join(dir, "c"), m = join(dir, "m");
  await Deno.mkdir(c);
  await Deno.mkdir(m);
  await Deno.writeTextFile(join(c, "labels.csv"), "id,cluster\na,0\nb,1\n");
  try {
    // Before, each of these was a SyntaxError with its stack.
    const cases: [string[], string, string, string][] = [
      [["info", c], join(c, "result.json"), '{"k": 2', "the result.json cluster or encode writes"],
      [["evaluate", c], join(c, "result.json"), '{"k": 2', "the result.json cluster writes"],
      [["report", c], join(c, "result.json"), '{"k": 2', "the result.json cluster"],
      [["info", c], join(c, "evaluation.json"), "[0.5", "the evaluation.json evaluate writes"],
      [["report", c], join(c, "evaluation.json"), "[0.5", "the evaluation.json evaluate writes"],
      [["info", m], join(m, "model.json"), "{", "the model.json pretrain writes"],
    ];
    for (const [args, file, text, expected] of cases) {
      await Deno.writeTextFile(join(c, "result.json"), JSON.stringify({ stage: "dec", k: 2 }));
      await Deno.remove(join(c, "evaluation.json")).catch(() => {});
      await Deno.writeTextFile(file, text);
      const r = await run(...args);
      assertEquals(r.code, 2, `${args.join(" ")}: ${r.err.join("\n")}`);
      assertEquals(r.err.length, 1, r.err.join("\n"));
      assert(r.err[0].startsWith(`error: Cannot read ${file}: expected ${expected}`), r.err[0]);
      assert(r.err[0].includes("it is not JSON"), r.err[0]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("info on a model names how its training data was made, from model.json's datasetSettings", () => {
  const c = parseExtractConfig({ input: { format: "esec", dir: "/e" } });
  const meta: DatasetMeta = {
    format: "seisdec-dataset",
    version: 1,
    shape: [1, 1, 2, 1],
    components: ["Z"],
    scaling: "db",
    config: c,
    created: "2026-01-01T00:00:00Z",
  };
  const settings = datasetSettings(meta, new Float64Array([1, 2]), new Float64Array([0]));
  // Which samples fail is no setting of their values: a model compares none of it.
  assert(!("config.preprocess.response.stageCheck" in settings));
  assertEquals(settingsProcessing(settings), `${processingOf(c)}; components Z; scaling db`);
  assert(settingsProcessing(settings)!.startsWith("100 Hz; response removed to VEL"));
  // An older model.json, or an imported array's settings: nothing to say.
  assertEquals(settingsProcessing(undefined), null);
  assertEquals(settingsProcessing({ scaling: '"none"', components: '["Z"]' }), null);
});

gpuTest(
  "info shows the adapter even when its tuning cannot be used, then names the fault and exits 2",
  async () => {
    const cli = new URL("../../cli.ts", import.meta.url).pathname;
    for (const json of [false, true]) {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", cli, "info", ...(json ? ["--json"] : [])],
        env: { SEISDEC_TUNING_DIR: "none", SEISDEC_TUNING: '{"convTile": 64, "convPixels": 16}' },
      }).output();
      const out = new TextDecoder().decode(r.stdout), err = new TextDecoder().decode(r.stderr);
      assertEquals(r.code, 2, err);
      const fault = "convTile × convPixels must hold at most 512: found 64 × 16";
      assert(err.includes(`error: SEISDEC_TUNING: ${fault}`), err);
      if (json) {
        const j = JSON.parse(out);
        assert(typeof j.description === "string" && j.limits.maxStorageBufferBindingSize > 0, out);
        assertEquals(j.tuning, null);
        assert(j.tuningError.includes(fault), out);
      } else {
        assert(out.includes("adapter:  ") && out.includes("maxStorageBufferBindingSize"), out);
        assert(out.trimEnd().endsWith("tuning:   unusable (below)"), out);
      }
    }
  },
);

gpuTest(
  "info says when the stored tuning was measured under another Deno or other kernels, or is not read",
  async () => {
    const cli = new URL("../../cli.ts", import.meta.url).pathname;
    const dir = await Deno.makeTempDir();
    try {
      const adapter = adapterLabel(await adapterSummary());
      const stored = {
        format: TUNING_FORMAT as typeof TUNING_FORMAT,
        adapter,
        date: "2026-01-02T03:04:05.000Z",
        tuning: { inFlight: 2 },
        workload: { inputShape: [1, 87, 67], latentDim: 9, batches: [64] },
        speedup: 1.1,
        trials: [],
      };
      const info = async (deno: string | undefined, kernels?: string) => {
        await writeStoredTuning({ ...stored, deno: deno!, kernels }, dir);
        const r = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", cli, "info"],
          env: { SEISDEC_TUNING_DIR: dir },
        }).output();
        assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
        const lines = new TextDecoder().decode(r.stdout).split("\n");
        // The tuning's digest is that of the tuning printed (as `info DIR` prints a record's).
        const [, active, digest] = lines.find((l) => l.startsWith("tuning:"))!
          .match(/^tuning: {3}(\{.*\}) \(digest ([0-9a-f]{8})\)$/)!;
        assertEquals(digest, tuningDigest(JSON.parse(active)));
        return lines.find((l) => l.includes("from:"))!;
      };
      const old = await info("1.40.0");
      assert(
        old.includes(`{"inFlight":2} stored by \`tune\` on 2026-01-02`) &&
          old.includes(
            `under Deno 1.40.0, not this ${Deno.version.deno}: \`cli.ts tune\` measures it again`,
          ),
        old,
      );
      // Measured under this Deno, with no kernels' digest stored (an older file): no warning; the
      // default named for this adapter's kind, and no SEISDEC_TUNING where none is set.
      const same = await info(Deno.version.deno);
      const kind = isSoftwareAdapter(await adapterSummary()) ? "software adapters'" : "GPUs'";
      assertEquals(
        same,
        `  from:   the ${kind} default, then {"inFlight":2} stored by \`tune\` on 2026-01-02 ` +
          `(${storedTuningPath(adapter, dir)})`,
      );
      // The kernels' digest: named where it differs, silent where it matches (or was not stored).
      const now = await kernelsDigest();
      const other = await info(Deno.version.deno, "0123456789abcdef");
      assert(
        other.includes(
          `for other kernels (digest 0123456789abcdef, now ${now}: seisdec changed since): ` +
            "`cli.ts tune` measures it again",
        ) && !other.includes("under Deno"),
        other,
      );
      assert(!(await info(Deno.version.deno, now)).includes("measures it again"));
      // A file that names no Deno (written by hand) is not said to be another's.
      assertEquals(await info(undefined, now), same);
      const both = await info("1.40.0", "0123456789abcdef");
      assert(both.includes(`not this ${Deno.version.deno}, and for other kernels`), both);
      // SEISDEC_TUNING_DIR=none reads none, though one is stored, and `tune` could store none.
      const off = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", cli, "info"],
        env: { SEISDEC_TUNING_DIR: "none" },
      }).output();
      assertEquals(
        new TextDecoder().decode(off.stdout).split("\n").find((l) => l.includes("from:")),
        `  from:   the ${kind} default, no stored tuning read (SEISDEC_TUNING_DIR=none)`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("info --cpu --json prints JSON; --kernels with a directory or --cpu is refused", async () => {
  const r = await run("info", "--cpu", "--json");
  assertEquals(r.code, 0, r.err.join("\n"));
  const j = JSON.parse(r.out.join("\n"));
  assertEquals([j.deno, j.backend], [Deno.version.deno, "cpu"]);
  const dir = await Deno.makeTempDir();
  try {
    for (const args of [["info", dir, "--kernels"], ["info", "--cpu", "--kernels"]]) {
      const b = await run(...args);
      assertEquals(b.code, 2, args.join(" "));
      assert(b.err.join("\n").includes("Cannot use --kernels with"), b.err.join("\n"));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("info on a model.json that declares an enormous network says so without building it", async () => {
  const { describeDir } = await import("../../lib/cli/describe.ts");
  const dir = await Deno.makeTempDir();
  try {
    // channels [4, 1e8]: building it for its batchLimit allocated gigabytes.
    await Deno.writeTextFile(
      join(dir, "model.json"),
      JSON.stringify({
        format: "seisdec-model",
        version: 1,
        autoencoder: { inputShape: [1, 87, 67], channels: [4, 100000000], latentDim: 9 },
        normalize: "maxabs",
      }),
    );
    const s = await describeDir(dir);
    assertEquals(s.kind, "model");
    const lim = s.batchLimit as { at128MiB: null; note: string };
    assertEquals(lim.at128MiB, null);
    assert(lim.note.endsWith("parameters, over 268435456: not built"), lim.note);
    // The seed network is described as before.
    const seed = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
    seed.autoencoder.channels = [8, 16, 32, 64, 128];
    await Deno.writeTextFile(join(dir, "model.json"), JSON.stringify(seed));
    const ok = (await describeDir(dir)).batchLimit as { at128MiB: number };
    assert(ok.at128MiB > 0, JSON.stringify(ok));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("info on a model.json whose network cannot be built names the field, as cluster does, not the layer that failed", async () => {
  const dir = await Deno.makeTempDir();
  const ae = { inputShape: [1, 87, 67], channels: [8, 16], latentDim: 9, slope: 0.02 };
  const model = { format: "seisdec-model", version: 1, autoencoder: ae, normalize: "maxabs" };
  const fix = "expected a model.json as pretrain writes it";
  try {
    for (
      const [change, msg] of [
        [{ inputShape: "1x87x67" }, "autoencoder.inputShape: Invalid input: expected tuple"],
        [{ slope: "x" }, "autoencoder.slope: Invalid input: expected number, received string"],
        [{ channels: [8, -16] }, "autoencoder.channels.1: Too small: expected number to be >=1"],
      ] as const
    ) {
      await Deno.writeTextFile(
        join(dir, "model.json"),
        JSON.stringify({ ...model, autoencoder: { ...ae, ...change } }),
      );
      const r = await run("info", dir);
      assertEquals(r.code, 2, JSON.stringify(change));
      assert(
        r.err[0].startsWith(`error: Cannot load ${join(dir, "model.json")}: ${msg}`) &&
          r.err[0].endsWith(fix),
        r.err.join("\n"),
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("processingOf gives the overlap to 0.1 %; settingsProcessing lists the components comma-spaced", () => {
  const c = parseExtractConfig({
    input: { format: "esec", dir: "/e" },
    spectrogram: { overlap: 0.625 },
  });
  const line = processingOf(c)!;
  assert(line.includes(", 62.5 % overlap,"), line);
  const meta: DatasetMeta = {
    format: "seisdec-dataset",
    version: 1,
    shape: [1, 3, 2, 1],
    components: ["Z", "N", "E"],
    scaling: "db",
    config: c,
    created: "2026-01-01T00:00:00Z",
  };
  const settings = datasetSettings(meta, new Float64Array([1, 2]), new Float64Array([0]));
  assertEquals(settingsProcessing(settings), `${line}; components Z, N, E; scaling db`);
});

Deno.test("describeDir on a dataset: the last frequency and time, events named, channel-days of complete lines, bytes per sample", async () => {
  const dir = join(await Deno.makeTempDir(), "ds");
  const events = ["E1", "E1", "", "E2"];
  const samples = events.map((event, i) => ({
    id: `s${i}`,
    network: "XX",
    station: "A",
    location: "",
    // Sample 2 names no channel: it is no channel of the count.
    channel: i === 2 ? "" : "BHZ",
    referenceTime: `2020-01-0${i + 1}T00:00:00.000Z`,
    label: null,
    ...(event ? { event } : {}),
  }));
  await writeDataset(
    dir,
    { shape: [4, 1, 3, 4], components: ["Z"], scaling: "psd", config: {} },
    samples,
    new Float32Array(48),
    new Float64Array([1, 2, 4]),
    new Float64Array([-1, 0, 1, 2.5]),
  );
  // Two days kept for one channel, a torn last line (an interrupted write) not counted.
  await Deno.mkdir(join(dir, DETECTIONS_DIR));
  await Deno.writeTextFile(
    join(dir, DETECTIONS_DIR, "XX.A..BHZ.2020-01.jsonl"),
    '{"day":1}\n{"day":2}\n{"day":3,"tri',
  );
  try {
    const s = await describeDir(dir);
    assertEquals([s.freqsHz, s.timesS], [[1, 4], [-1, 2.5]]);
    assertEquals([s.stations, s.channels], [1, 1]);
    assertEquals(s.events, { samples: 3, events: 2 });
    // No sample has a label.
    assertEquals([s.labelled, s.classes], [0, {}]);
    assertEquals(s.detectionsKept, { channels: 1, channelDays: 2 });
    const limit = s.batchLimit as { bytesPerSample: number };
    const floats = new ConvAutoencoder({ inputShape: [1, 3, 4] }).largestActivation().floats;
    assertEquals(limit.bytesPerSample, 4 * floats);
  } finally {
    await Deno.remove(join(dir, ".."), { recursive: true });
  }
});

Deno.test("describeDir on a model: no val loss where the last epoch has none, the chosen k, the software of a resumed run", async () => {
  const dir = await Deno.makeTempDir();
  const sw = { seisdec: "1.0", deno: "2.0", backend: "cpu" };
  await Deno.writeTextFile(
    join(dir, "model.json"),
    JSON.stringify({
      pretrain: { epochsDone: 2, epochs: 2, software: sw, softwareBefore: [] },
      init: {
        k: 4,
        method: "kmeans",
        kSelection: { candidates: [2, 6], criterion: "bic", chosen: 5 },
      },
      finetune: { mode: "dec", software: sw, softwareBefore: [null, sw] },
    }),
  );
  await Deno.writeFile(join(dir, "dec.safetensors"), new Uint8Array(8));
  await Deno.writeTextFile(
    join(dir, "learning_curve.csv"),
    "epoch,train_loss,val_loss\n1,0.5,0.4\n2,0.25,\n",
  );
  try {
    const s = await describeDir(dir) as unknown as {
      pretrain: Record<string, unknown>;
      init: Record<string, unknown>;
      finetune: Record<string, unknown>;
    };
    assertEquals([s.pretrain.trainLoss, s.pretrain.valLoss], [0.25, null]);
    assertEquals([s.init.k, s.init.chosen], [4, 5]);
    const files = (s as unknown as { files: Record<string, boolean> }).files;
    assertEquals([files.autoencoder, files.centroids, files.dec], [false, false, true]);
    // A run that was not resumed names no earlier software; a record from before they were kept,
    // "unknown".
    assert(!("resumedFrom" in s.pretrain), JSON.stringify(s.pretrain));
    assertEquals(s.finetune.resumedFrom, ["unknown", "seisdec 1.0, Deno 2.0, cpu"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("describeDir on a model notes weights that are not the files model.json's records describe, as cluster refuses them", async () => {
  const dir = await Deno.makeTempDir();
  const ae = new Uint8Array([1, 2, 3]), centres = new Uint8Array([4, 5, 6]);
  await Deno.writeFile(join(dir, "autoencoder.safetensors"), ae);
  await Deno.writeFile(join(dir, "centroids.safetensors"), centres);
  const record = async (init: string) =>
    await Deno.writeTextFile(
      join(dir, "model.json"),
      JSON.stringify({
        pretrain: {
          epochsDone: 1,
          epochs: 1,
          weights: await fileDigest(join(dir, "autoencoder.safetensors")),
        },
        init: { k: 2, method: "kmeans", weights: init },
      }),
    );
  try {
    await record((await fileDigest(join(dir, "centroids.safetensors")))!);
    assert(!("note" in await describeDir(dir)), "a note for weights that match their records");
    // A run killed between its centres and model.json: the record is the earlier centres'.
    const earlier = "sha256:" + "0".repeat(64);
    await record(earlier);
    const s = await describeDir(dir);
    const now = (await fileDigest(join(dir, "centroids.safetensors")))!;
    assertEquals(
      s.note,
      `Cannot use ${join(dir, "centroids.safetensors")}: it is not the file model.json's init ` +
        `record describes (${now.slice(0, 19)}…, recorded ${earlier.slice(0, 19)}…): init did ` +
        "not finish writing, or the file was replaced: run init again",
    );
    assert(formatSummary(s).includes("\nnote:           Cannot use "), formatSummary(s));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("describeDir on a cluster directory gives the per-event scores evaluate wrote", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "result.json"), JSON.stringify({ stage: "dec", n: 6, k: 2 }));
  await Deno.writeTextFile(
    join(dir, "evaluation.json"),
    JSON.stringify({
      acc: 0.5,
      nmi: 0.1,
      ari: 0,
      silhouette: 0.2,
      events: { n: 3, acc: 0.75, nmi: 0.5 },
    }),
  );
  try {
    const s = await describeDir(dir);
    assertEquals(s.events, { n: 3, acc: 0.75, nmi: 0.5 });
    assertEquals(s.sizes, null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("formatSummary shows an empty record as '-'", () => {
  assertEquals(
    formatSummary({ kind: "model", path: "m", files: {} }).split("\n")[2],
    "files:          -",
  );
});

Deno.test("describeDir calls a result of k = 0 an encoding, without sizes or scores", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    join(dir, "result.json"),
    JSON.stringify({ stage: "encode", n: 6, k: 0, dim: 9 }),
  );
  try {
    const s = await describeDir(dir);
    assertEquals([s.kind, s.n, s.dim, "sizes" in s], ["encoding", 6, 9, false]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("info on an interrupted pretrain (checkpoint/, no model.json) says how far it got and how to resume", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(join(dir, "checkpoint"));
  const state = {
    epoch: 3,
    config: { epochs: 50, batchSize: 8 },
    history: [{ epoch: 1, trainLoss: 0.3362 }, { epoch: 3, trainLoss: 0.12313441097736359 }],
    dataset: "200 [1,87,67] ids 5f0f9e59",
  };
  await Deno.writeTextFile(join(dir, "checkpoint", "state.json"), JSON.stringify(state));
  try {
    const text = await run("info", dir);
    assertEquals(text.code, 0, text.err.join("\n"));
    assertEquals(text.out.join("\n").split("\n"), [
      "kind:           unfinished pretrain",
      `path:           ${dir}`,
      "done:           epoch 3 of 50",
      "trainLoss:      0.1231",
      "dataset:        200 [1,87,67] ids 5f0f9e59",
      `resume:         deno run -A cli.ts pretrain <dataset-dir> --model ${dir} --resume`,
    ]);
    // Inside an epoch, and while a pretrain holds the directory's lock.
    await Deno.writeTextFile(
      join(dir, "checkpoint", "state.json"),
      JSON.stringify({ ...state, step: 1 }),
    );
    await Deno.writeTextFile(join(dir, ".seisdec.lock"), "");
    const s = await describeDir(dir);
    assertEquals(s.done, "epoch 3 of 50 and 1 step of epoch 4");
    assertEquals(s.note, ".seisdec.lock is there: a pretrain may still be running in it");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
