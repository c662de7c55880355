/**
 * What a seisdec directory holds, for `cli.ts info DIR`: a dataset (meta.json), a
 * model (model.json) or the output of `cluster`/`encode` (result.json).
 *
 * @module
 */
import { join } from "node:path";
import { openDataset } from "../io/dataset.ts";
import {
  type AutoencoderConfig,
  autoencoderParamShapes,
  ConvAutoencoder,
} from "../nn/autoencoder.ts";
import { parseCsvRecords } from "../io/csv.ts";
import { detectionCacheChannel } from "../io/sds_triggers.ts";
import { DETECTIONS_DIR } from "../io/extract.ts";
import { parseJsonFile, UserError } from "../util/errors.ts";
import { type ExtractConfig, spectrogramGeometry } from "../io/extract_config.ts";
import { fileDigest, isDirectory, LOCK_FILE } from "../io/checkpoint.ts";
import { softwareText } from "../util/software.ts";
import { checkWeightsRecord, readModelInfo } from "../cluster/pretrain.ts";

/** A directory's summary: its kind and the figures worth knowing about it. */
export interface DirSummary {
  kind: "dataset" | "model" | "clusters" | "encoding" | "unfinished pretrain";
  path: string;
  [field: string]: unknown;
}

/** The most parameters of a network `info` builds for its `batchLimit` (2^28: 1 GiB of float32). */
const MAX_DESCRIBED_PARAMS = 2 ** 28;

/** WebGPU's default `maxStorageBufferBindingSize` (what every adapter offers at least). */
const DEFAULT_BINDING = 128 * 2 ** 20;

/**
 * The most samples per batch whose largest activation fits one buffer binding of WebGPU's
 * default size (`cli.ts info` prints the adapter's own `maxStorageBufferBindingSize`).
 */
function batchLimit(config: AutoencoderConfig): Record<string, unknown> {
  // The network is built (its weights allocated) only where it is of a size a model can be: a
  // damaged or hostile model.json or meta.json could declare one of billions of parameters.
  const params = autoencoderParamShapes(config)
    .reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  if (!(params <= MAX_DESCRIBED_PARAMS)) {
    return {
      at128MiB: null,
      note: `the architecture makes ${params} parameters, over ${MAX_DESCRIBED_PARAMS}: not built`,
    };
  }
  const ae = new ConvAutoencoder(config);
  const a = ae.largestActivation();
  return {
    at128MiB: ae.maxBatch(DEFAULT_BINDING),
    layer: `${a.layer} ${a.shape.join("×")}`,
    bytesPerSample: 4 * a.floats,
  };
}

/**
 * {@linkcode batchLimit} of a model directory's network: one that model.json declares wrongly
 * (`"inputShape": "1x87x67"`) is named by the field, as the commands that load it name it
 * (readModelInfo), not by the layer that failed to build.
 */
async function modelBatchLimit(
  dir: string,
  config: AutoencoderConfig,
): Promise<Record<string, unknown>> {
  try {
    return batchLimit(config);
  } catch (e) {
    await readModelInfo(dir);
    throw e;
  }
}

async function readText(path: string): Promise<string | null> {
  return await Deno.readTextFile(path).catch(() => null);
}

function counts(values: readonly string[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const v of values) c[v] = (c[v] ?? 0) + 1;
  return Object.fromEntries(Object.entries(c).sort((a, b) => b[1] - a[1]));
}

/**
 * The sample limit a dataset was extracted with (`--limit`, `--subset`, `--subset-seed`), for
 * `info`: nothing when it took every sample.
 *
 * @param config The dataset's `meta.json` config.
 * @returns `{ limit: { samples, subset, seed } }` (seed for a random subset only), or `{}`.
 */
export function limitOf(
  config: unknown,
): { limit?: { samples: number; subset: string; seed?: number } } {
  const c = config as { limit?: unknown; subset?: unknown; subsetSeed?: unknown } | null;
  if (typeof c?.limit !== "number") return {};
  const subset = c.subset === "random" ? "random" : "first";
  return {
    limit: {
      samples: c.limit,
      subset,
      ...(subset === "random" && typeof c.subsetSeed === "number" ? { seed: c.subsetSeed } : {}),
    },
  };
}

/**
 * {@linkcode processingOf} of the config that a dataset's settings record (model.json's
 * `datasetSettings`: `config.FIELD` to its JSON value), then its components and scaling, or
 * null without them.
 *
 * @param settings The settings, or undefined.
 * @returns the line, or null.
 */
export function settingsProcessing(settings: unknown): string | null {
  if (!settings || typeof settings !== "object") return null;
  const config: Record<string, unknown> = {};
  for (const [field, json] of Object.entries(settings as Record<string, string>)) {
    if (!field.startsWith("config.")) continue;
    const path = field.slice("config.".length).split(".");
    let at = config;
    for (const key of path.slice(0, -1)) {
      at = (at[key] ??= {}) as Record<string, unknown>;
    }
    try {
      at[path.at(-1)!] = JSON.parse(json);
    } catch {
      return null;
    }
  }
  const line = processingOf(config);
  if (line === null) return null;
  // What else makes the values: the components and the scaling (a dB model refuses PSD).
  const top = settings as Record<string, string>;
  const value = (k: string) => {
    try {
      return top[k] === undefined ? undefined : JSON.parse(top[k]);
    } catch {
      return undefined;
    }
  };
  const components = value("components"), scaling = value("scaling");
  return line +
    (Array.isArray(components) ? `; components ${components.join(", ")}` : "") +
    (typeof scaling === "string" ? `; scaling ${scaling}` : "");
}

/**
 * How a dataset's spectrograms were made, in one line, from its extract config (meta.json's
 * `config`): the target rate, the response removal, the band-pass, the STFT and the crop,
 * such as `100 Hz; response removed to VEL, pre-filter 0.2/0.5/18.5/19.8 Hz; band-pass 1-18
 * Hz; STFT 2.56 s (257 samples), 50 % overlap, nfft 512; crop 1-18 Hz, -20 to 66 s`; null
 * for a dataset without one (an imported array).
 *
 * @param config The config, as stored.
 * @returns the line, or null.
 */
export function processingOf(config: unknown): string | null {
  const c = config as Partial<ExtractConfig> | null;
  if (!c?.preprocess || !c.spectrogram) return null;
  try {
    const p = c.preprocess, s = c.spectrogram, r = p.response;
    const g = spectrogramGeometry(c as ExtractConfig);
    const parts = [`${p.samplingRate} Hz`];
    parts.push(
      !r.remove
        ? "response not removed"
        : `response removed to ${r.output}, ${
          r.preFilt ? `pre-filter ${r.preFilt.join("/")} Hz` : "no pre-filter"
        }${r.waterLevel === null ? "" : `, water level ${r.waterLevel} dB`}`,
    );
    parts.push(
      p.bandpass ? `band-pass ${p.bandpass.freqmin}-${p.bandpass.freqmax} Hz` : "no band-pass",
    );
    parts.push(
      `STFT ${s.windowLength} s (${g.nperseg} samples), ${+(100 * s.overlap).toFixed(1)} % ` +
        `overlap, nfft ${g.nfft}`,
    );
    parts.push(`crop ${s.fmin}-${s.fmax} Hz, -${s.before} to ${s.after} s`);
    return parts.join("; ");
  } catch {
    // A config from another version that no longer reads: say nothing rather than fail.
    return null;
  }
}

/**
 * What a dataset's samples came from, in a few words, from its config: the input format and,
 * for an SDS archive, picks, regular windows or triggers with their settings.
 *
 * @param config The dataset's `meta.json` config.
 * @returns e.g. `sds triggers (recursive 1/20/4/1.5, aic 5/1, coincidence 2 within 10 s)`; a band
 *   and a dead time are named where the config sets them (else the spectrogram's band and crop).
 */
export function inputOf(config: unknown): string {
  const inp = (config as { input?: Record<string, unknown> } | null)?.input;
  const format = typeof inp?.format === "string" ? inp.format : "unknown";
  if (format !== "sds") return format;
  const w = inp!.windows as {
    step?: number | null;
    trigger?: {
      method: string;
      sta: number;
      lta: number;
      on: number;
      off: number;
      band?: [number, number] | null;
      dead?: number | null;
      aic?: { before: number; after: number } | null;
      coincidence?: { stations: number; window: number } | null;
    } | null;
  } | null;
  if (!w) return "sds picks";
  const t = w.trigger;
  if (!t) return `sds windows every ${w.step} s`;
  const parts = [`${t.method} ${t.sta}/${t.lta}/${t.on}/${t.off}`];
  if (t.band) parts.push(`band ${t.band[0]}-${t.band[1]} Hz`);
  if (t.dead != null) parts.push(`dead time ${t.dead} s`);
  if (t.aic) parts.push(`aic ${t.aic.before}/${t.aic.after}`);
  if (t.coincidence) {
    parts.push(`coincidence ${t.coincidence.stations} within ${t.coincidence.window} s`);
  }
  return `sds triggers (${parts.join(", ")})`;
}

/**
 * The dataset a stage of a model ran on, as its `model.json` record names it (`dataset`, the
 * absolute path, and `datasetFingerprint`): init and finetune may run on another dataset than
 * pretrain's, which the model's top-level `dataset` names. And the software that ran it
 * (`software`, one line) and, where a resume continued a checkpoint that other software had
 * written part of, that software (`resumedFrom`; `unknown` for a run from before records were
 * kept). Nothing for what a record from before these fields lacks.
 */
function ranOn(
  rec: {
    dataset?: unknown;
    datasetFingerprint?: unknown;
    software?: unknown;
    softwareBefore?: unknown;
  },
): Record<string, unknown> {
  const software = softwareText(rec.software);
  return {
    ...(typeof rec.dataset === "string" ? { dataset: rec.dataset } : {}),
    ...(typeof rec.datasetFingerprint === "string"
      ? { datasetFingerprint: rec.datasetFingerprint }
      : {}),
    ...(software === null ? {} : { software }),
    ...(Array.isArray(rec.softwareBefore) && rec.softwareBefore.length
      ? { resumedFrom: rec.softwareBefore.map((s) => softwareText(s) ?? "unknown") }
      : {}),
  };
}

/** `{ software }`: the one-line {@linkcode softwareText} of an output's record, where it has one. */
function softwareOfFile(rec: { software?: unknown }): { software?: string } {
  const text = softwareText(rec.software);
  return text === null ? {} : { software: text };
}

/**
 * Summarises a seisdec directory.
 *
 * @param dir A dataset, model or cluster output directory.
 * @returns its summary.
 * @throws {UserError} when the directory holds none of meta.json, model.json, result.json.
 */
export async function describeDir(dir: string): Promise<DirSummary> {
  if (await readText(join(dir, "meta.json")) !== null) {
    const ds = await openDataset(dir);
    try {
      const labels = ds.samples.map((s) => s.label).filter((l): l is string => l !== null);
      const times = ds.samples.map((s) => Date.parse(s.referenceTime)).filter(Number.isFinite);
      let t0 = Infinity, t1 = -Infinity;
      for (const t of times) [t0, t1] = [Math.min(t0, t), Math.max(t1, t)];
      const failures = await readText(join(dir, "failures.csv"));
      const failed = failures === null
        ? null
        : parseCsvRecords(failures, ",", { source: join(dir, "failures.csv") }).map((r) =>
          r.reason
        );
      // Samples whose Z, N, E were rotated from other channels (extract's rotations.csv).
      const rotations = await readText(join(dir, "rotations.csv"));
      // SDS triggers: the detections and their events (extract's triggers.csv).
      const triggers = await readText(join(dir, "triggers.csv"));
      const trig = triggers === null
        ? null
        : parseCsvRecords(triggers, ",", { source: join(dir, "triggers.csv") });
      // The detections kept by day (extract's detections/, a file per channel and month):
      // channels and channel-days.
      let kept: { channels: number; channelDays: number } | null = null;
      try {
        const channels = new Set<string>();
        kept = { channels: 0, channelDays: 0 };
        for (const e of Deno.readDirSync(join(dir, DETECTIONS_DIR))) {
          const channel = detectionCacheChannel(e.name);
          if (!e.isFile || channel === null) continue;
          const text = await readText(join(dir, DETECTIONS_DIR, e.name)) ?? "";
          channels.add(channel);
          kept.channelDays += text.split("\n").filter((l) => l.endsWith("}")).length;
        }
        kept.channels = channels.size;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
        kept = null;
      }
      return {
        kind: "dataset",
        path: dir,
        input: inputOf(ds.meta.config),
        ...limitOf(ds.meta.config),
        ...(processingOf(ds.meta.config) === null
          ? {}
          : { processing: processingOf(ds.meta.config) }),
        shape: ds.meta.shape,
        components: ds.meta.components,
        scaling: ds.meta.scaling,
        created: ds.meta.created,
        ...softwareOfFile(ds.meta),
        // An imported array's axes are bin indices, not Hz and s: named as rows and columns.
        [ds.axesInBins ? "freqRows" : "freqsHz"]: ds.freqs.length
          ? [ds.freqs[0], ds.freqs[ds.freqs.length - 1]]
          : [],
        [ds.axesInBins ? "timeColumns" : "timesS"]: ds.times.length
          ? [ds.times[0], ds.times[ds.times.length - 1]]
          : [],
        // Samples without a station or channel code (e.g. from import) name none. A sample is
        // one channel (BHZ) or one instrument's components (BH?), so channels are not stations.
        stations: new Set(
          ds.samples.filter((s) => s.station).map((s) => `${s.network}.${s.station}`),
        ).size,
        channels: new Set(
          ds.samples.filter((s) => s.station && s.channel).map((s) =>
            `${s.network}.${s.station}.${s.location}.${s.channel}`
          ),
        ).size,
        referenceTimes: times.length
          ? [new Date(t0).toISOString(), new Date(t1).toISOString()]
          : null,
        labelled: labels.length,
        classes: counts(labels),
        // Samples that name their event (samples.csv's event column), and how many events.
        ...(ds.samples.some((s) => s.event)
          ? {
            events: {
              samples: ds.samples.filter((s) => s.event).length,
              events: new Set(ds.samples.map((s) => s.event).filter(Boolean)).size,
            },
          }
          : {}),
        failed: failed === null ? null : { total: failed.length, byReason: counts(failed) },
        ...(rotations === null ? {} : {
          rotated: parseCsvRecords(rotations, ",", { source: join(dir, "rotations.csv") }).length,
        }),
        ...(trig === null ? {} : {
          triggers: {
            total: trig.length,
            events: new Set(trig.map((r) => r.event)).size,
            ok: trig.filter((r) => r.status === "ok").length,
          },
        }),
        ...(kept === null ? {} : { detectionsKept: kept }),
        batchLimit: batchLimit({ inputShape: [...ds.sampleShape] }),
      };
    } finally {
      ds.close();
    }
  }
  const model = await readText(join(dir, "model.json"));
  if (model !== null) {
    // deno-lint-ignore no-explicit-any
    const m: any = parseJsonFile(model, join(dir, "model.json"), "the model.json pretrain writes");
    const curve = await readText(join(dir, "learning_curve.csv"));
    const last = curve === null
      ? undefined
      : parseCsvRecords(curve, ",", { source: join(dir, "learning_curve.csv") }).at(-1);
    const has = async (f: string) => (await Deno.stat(join(dir, f)).catch(() => null)) !== null;
    // Weights that are not the file their stage's record describes (a run killed between
    // writing them and model.json, or a file copied in), which cluster and finetune refuse.
    const stale: string[] = [];
    for (const file of ["autoencoder.safetensors", "centroids.safetensors", "dec.safetensors"]) {
      const digest = await fileDigest(join(dir, file)).catch(() => null);
      try {
        if (digest !== null) checkWeightsRecord(dir, m, file, digest);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        stale.push(e.message);
      }
    }
    return {
      kind: "model",
      path: dir,
      inputShape: m.autoencoder?.inputShape,
      channels: m.autoencoder?.channels,
      latentDim: m.autoencoder?.latentDim,
      normalize: m.normalize,
      dataset: m.dataset,
      // How the training data's spectrograms were made (model.json's datasetSettings), so that
      // a dataset to apply the model to can be made alike after the training data is gone.
      ...(settingsProcessing(m.datasetSettings) === null
        ? {}
        : { trainedOn: settingsProcessing(m.datasetSettings) }),
      pretrain: m.pretrain
        ? {
          epochsDone: m.pretrain.epochsDone,
          epochs: m.pretrain.epochs,
          batchSize: m.pretrain.batchSize,
          lr: m.pretrain.lr,
          trainLoss: last ? Number(last.train_loss) : null,
          valLoss: last?.val_loss ? Number(last.val_loss) : null,
          ...ranOn(m.pretrain),
        }
        : null,
      init: m.init
        ? {
          k: m.init.k,
          method: m.init.method,
          nInit: m.init.nInit,
          chosenFrom: m.init.kSelection?.candidates ?? null,
          criterion: m.init.kSelection?.criterion ?? null,
          // The k the criterion chose: the demo, which fits k = its classes, may differ from k.
          chosen: m.init.kSelection?.chosen ?? null,
          ...ranOn(m.init),
        }
        : null,
      finetune: m.finetune
        ? {
          mode: m.finetune.mode,
          iterations: m.finetune.iterations,
          converged: m.finetune.converged,
          lr: m.finetune.lr,
          ...ranOn(m.finetune),
        }
        : null,
      batchLimit: m.autoencoder?.inputShape ? await modelBatchLimit(dir, m.autoencoder) : null,
      files: {
        autoencoder: await has("autoencoder.safetensors"),
        centroids: await has("centroids.safetensors"),
        dec: await has("dec.safetensors"),
        pretrainCheckpoint: await has("checkpoint"),
        finetuneCheckpoint: await has("finetune_checkpoint"),
      },
      ...(stale.length ? { note: stale.join("; ") } : {}),
    };
  }
  const result = await readText(join(dir, "result.json"));
  if (result !== null) {
    // deno-lint-ignore no-explicit-any
    const r: any = parseJsonFile(
      result,
      join(dir, "result.json"),
      "the result.json cluster or encode writes",
    );
    const profiles = await readText(join(dir, "clusters.csv"));
    const evaluation = await readText(join(dir, "evaluation.json"));
    // deno-lint-ignore no-explicit-any
    const ev: any = evaluation === null ? null : parseJsonFile(
      evaluation,
      join(dir, "evaluation.json"),
      "the evaluation.json evaluate writes",
    );
    const what = {
      dim: r.dim,
      normalize: r.normalize,
      dataset: r.dataset,
      model: r.model,
      created: r.created,
      ...softwareOfFile(r),
    };
    // encode writes k 0: latent codes without clusters, sizes or scores.
    if (r.k === 0) return { kind: "encoding", path: dir, stage: r.stage, n: r.n, ...what };
    return {
      kind: "clusters",
      path: dir,
      stage: r.stage,
      n: r.n,
      k: r.k,
      ...what,
      sizes: profiles === null
        ? null
        : parseCsvRecords(profiles, ",", { source: join(dir, "clusters.csv") }).map((p) =>
          Number(p.size)
        ),
      evaluation: ev
        ? {
          acc: ev.acc,
          nmi: ev.nmi,
          ari: ev.ari,
          silhouette: ev.silhouette,
          ...(typeof ev.labelsFrom === "string" ? { labelsFrom: ev.labelsFrom } : {}),
        }
        : null,
      ...(ev?.events ? { events: { n: ev.events.n, acc: ev.events.acc, nmi: ev.events.nmi } } : {}),
    };
  }
  // A pretrain stopped before its end: its checkpoint, and no model.json (written at the end).
  const ckState = await readText(join(dir, "checkpoint", "state.json"));
  if (ckState !== null) {
    // deno-lint-ignore no-explicit-any
    const st: any = parseJsonFile(
      ckState,
      join(dir, "checkpoint", "state.json"),
      "the checkpoint state.json pretrain writes",
    );
    const epoch = typeof st.epoch === "number" ? st.epoch : NaN;
    const epochs = typeof st.config?.epochs === "number" ? st.config.epochs : NaN;
    const last = Array.isArray(st.history) ? st.history.at(-1) : undefined;
    const locked = (await Deno.lstat(join(dir, LOCK_FILE)).catch(() => null)) !== null;
    return {
      kind: "unfinished pretrain",
      path: dir,
      // As the Ctrl-C note says it: epoch 3 of 30 done (and 120 steps of epoch 4).
      done: `epoch ${epoch} of ${epochs}` +
        (typeof st.step === "number"
          ? ` and ${st.step} step${st.step === 1 ? "" : "s"} of epoch ${epoch + 1}`
          : ""),
      trainLoss: typeof last?.trainLoss === "number" ? last.trainLoss : null,
      dataset: st.dataset,
      resume: `deno run -A cli.ts pretrain <dataset-dir> --model ${dir} --resume`,
      // A running pretrain holds the lock; one killed outright leaves it (taken over on resume).
      ...(locked ? { note: `${LOCK_FILE} is there: a pretrain may still be running in it` } : {}),
    };
  }
  if (!(await isDirectory(dir))) {
    const file = await Deno.stat(dir).then((s) => s.isFile, () => false);
    throw new UserError(
      file
        ? `Cannot describe ${dir}: it is a file: expected a directory (a dataset, a model ` +
          `directory or the output of cluster or encode)`
        : `Cannot describe ${dir}: no such directory`,
    );
  }
  throw new UserError(
    `Cannot describe ${dir}: it holds no meta.json (dataset), model.json (model) or result.json ` +
      `(cluster or encode output)`,
  );
}

/**
 * A summary as text, one `field: value` line per figure.
 *
 * @param s From {@linkcode describeDir}.
 * @returns the text.
 */
export function formatSummary(s: DirSummary): string {
  const ranges = new Set(["freqsHz", "timesS", "freqRows", "timeColumns", "referenceTimes"]);
  const show = (v: unknown, range = false, key = ""): string =>
    v === null || v === undefined
      ? "-"
      : Array.isArray(v)
      ? range ? v.map((x) => show(x)).join(" to ") : `[${v.map((x) => show(x)).join(", ")}]`
      : typeof v === "object"
      ? Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k} ${show(x, false, k)}`)
        .join(", ") || "-"
      : typeof v === "number"
      ? formatNumber(v, key)
      : String(v);
  return Object.entries(s).map(([k, v]) =>
    `${(k + ":").padEnd(16)}${show(v, ranges.has(k), k)}${
      // A dataset's counts; a model's `channels` are its layers' widths, a list.
      k in UNITS && typeof v === "number" ? ` ${UNITS[k]}` : ""}`
  ).join("\n");
}

/** What a dataset's count counts, after it in the text summary. */
const UNITS: Record<string, string> = {
  stations: "(distinct NET.STA)",
  channels: "(distinct NET.STA.LOC.CHA)",
};

/** Clustering scores, printed as `evaluate` prints them. */
const SCORES = new Set(["acc", "nmi", "ari", "silhouette"]);

/**
 * A number for the text summary: integers as they are, the clustering scores with 4 decimals
 * (as `evaluate` prints them), any other fraction with 4 significant digits (a loss, a
 * learning rate, a frequency). `--json` keeps the full values.
 *
 * @param v The number.
 * @param key Its field name.
 * @returns the text.
 */
function formatNumber(v: number, key: string): string {
  if (Number.isInteger(v) || !Number.isFinite(v)) return String(v);
  if (SCORES.has(key)) return v.toFixed(4);
  return String(Number(v.toPrecision(4)));
}
