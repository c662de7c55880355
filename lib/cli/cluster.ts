/**
 * `cli.ts encode`, `cli.ts cluster` and `cli.ts evaluate`.
 *
 * @module
 */
import { episodesCsv, windowEpisodes } from "../cluster/episodes.ts";
import {
  associateTriggers,
  eventsByIds,
  eventsCsv,
  eventsQuakeMl,
  eventTruth,
  eventVotes,
  type NetworkEvent,
  type TriggerOnset,
} from "../cluster/events.ts";
import { EVENT_WINDOW_S } from "../io/extract.ts";
import { basename, join, resolve } from "node:path";
import type { Command } from "./_command.ts";
import { intFlag, parseDecimal, strFlag } from "./_command.ts";
import {
  datasetArg,
  device,
  enumFlag,
  refuseLineBreak,
  required,
  seedFlag,
  svgFlag,
} from "./_shared.ts";
import {
  applyModel,
  type Assignment,
  rawKmeans,
  type RawKmeansSettings,
} from "../cluster/assign.ts";
import { readModelInfo } from "../cluster/pretrain.ts";
import { exists } from "../io/checkpoint.ts";
import { pca2 } from "../cluster/pca.ts";
import { umap2 } from "../cluster/embed.ts";
import { nearestNeighbours } from "../cluster/similar.ts";
import { memberWaveforms, memberWaveformsPng } from "../cluster/member_waveforms.ts";
import {
  clusterMeansPng,
  type ClusterProfile,
  clusterProfiles,
  clusterSpectraPng,
  examplesPng,
  type HourClock,
  hourOfDayPng,
  peakHour,
  profilesCsv,
  psdUnit,
  referenceName,
  stationMapPng,
  timelinePng,
  topTwo,
  valueLabel,
} from "../cluster/summary.ts";
import { type Dataset, defaultNormalize, type SampleInfo, sampleKeyFields } from "../io/dataset.ts";
import { encodeNpy, readNpyFile } from "../io/npy.ts";
import { readFailure } from "../io/input_file.ts";
import { sampleTime } from "../io/manifest.ts";
import {
  csvField,
  formatCsv,
  parseCsv,
  parseCsvRecords,
  refuseRepeatedColumns,
} from "../io/csv.ts";
import { evaluateClustering, type EvaluationReport, formatReport } from "../metrics/mod.ts";
import { type FigureFormat, scatterChart, writeFigure } from "../plot/mod.ts";
import {
  checkOutputTarget,
  movedAsideNote,
  writeDirAtomic,
  writeIntoOutput,
} from "../util/atomic.ts";
import { parseJsonFile, UserError } from "../util/errors.ts";
import { plainSoftware, type Software } from "../util/software.ts";
import { Progress } from "../util/progress.ts";

/** `result.json` of `cluster` and `encode`: what the directory holds and how it was made. */
export interface ClusterResult {
  /** Weights used: `dec`, `init`, `pretrain` (encode only) or `raw` (k-means on spectrograms). */
  stage: Assignment["stage"];
  /** Samples. */
  n: number;
  /** Clusters (0 for encode). */
  k: number;
  /** Columns of latent.npy: the latent size, or F·T·C for `raw`. */
  dim: number;
  /** Per-sample normalisation of the spectrograms. */
  normalize: Assignment["normalize"];
  /** Absolute path of the dataset. */
  dataset: string;
  /** Absolute path of the model directory, null for `raw`. */
  model: string | null;
  /** When it was written, ISO 8601 UTC. */
  created: string;
  /**
   * Hours added to UTC for `peak_hour` and `hour_of_day.png`, or `solar` for each station's
   * local mean solar time (`--utc-offset`; absent in older results, which used 0).
   */
  utcOffset?: HourClock;
  /**
   * The software, backend, adapter and tuning that computed the codes ({@linkcode Software};
   * backend null for `raw`); null where the assignment did not say; absent in older results.
   */
  software?: Software | null;
  /**
   * The weights the codes and clusters came from: each file's digest (`sha256:...`, as
   * `model.json`'s stage records hold them), by name ({@linkcode Assignment.weights}); absent
   * for `raw` and in older results. A later retraining in the model directory changes them.
   */
  weights?: Record<string, string>;
  /**
   * `cluster`'s `--seed`: the UMAP embedding's (its layout, the subset of a larger set) and, for
   * `raw`, the k-means seedings' (absent for encode and in older results).
   */
  seed?: number;
  /** `cluster`'s `--umap-points` (absent for encode and in older results). */
  umapPoints?: number;
  /** Whether `cluster` drew the figures and UMAP (false: `--no-plots`; absent for encode). */
  plots?: boolean;
  /** The k-means of `raw`: k, `--n-init`, its iteration cap, tolerance and seed. */
  kmeans?: RawKmeansSettings;
}

/**
 * The window step and crop of a dataset that `extract` cut from an SDS archive's continuous data
 * (`input.windows`), or null for any other.
 *
 * @param config The dataset's `meta.json` config.
 * @returns the step (ms) and the crop (s before and after), or null.
 */
export function windowsOfDataset(
  config: unknown,
): { stepMs: number; crop: [number, number] } | null {
  const c = config as {
    input?: { format?: string; windows?: { step?: number } | null };
    spectrogram?: { before?: number; after?: number };
  } | null;
  const step = c?.input?.format === "sds" ? c.input.windows?.step : undefined;
  const [b, a] = [c?.spectrogram?.before, c?.spectrogram?.after];
  if (typeof step !== "number" || typeof b !== "number" || typeof a !== "number") return null;
  return { stepMs: step * 1000, crop: [b, a] };
}

/**
 * The association window of a dataset that `extract` cut at STA/LTA triggers of an SDS archive
 * (`input.windows.trigger`): its coincidence window, else {@linkcode EVENT_WINDOW_S}; or null
 * for any other dataset.
 *
 * @param config The dataset's `meta.json` config.
 * @returns seconds between consecutive onsets of one event, or null.
 */
export function triggersOfDataset(config: unknown): number | null {
  const c = config as {
    input?: {
      format?: string;
      windows?: { trigger?: { coincidence?: { window?: number } | null } | null } | null;
    };
  } | null;
  const t = c?.input?.format === "sds" ? c.input.windows?.trigger : null;
  if (!t) return null;
  const w = t.coincidence?.window;
  return typeof w === "number" ? w : EVENT_WINDOW_S;
}

/**
 * The phase of a dataset's reference times, for `events.xml`'s picks: the picked phase where
 * they are picks (QuakeML picks of an SDS archive: `P`, or the phase `--phase` asked for; STA/LTA
 * triggers on the vertical: `P`; NPZ windows' P index), none where they are not phase arrivals
 * (an ESEC catalogue's start times of emergent mass movements, regular windows) or may not be (a
 * manifest's reference times: picks or origin times).
 *
 * @param config The dataset's extract configuration (meta.json).
 * @returns `P`, another phase name, or "".
 */
export function referencePhase(config: unknown): string {
  const input = (config as {
    input?: { format?: string; phase?: string; windows?: { trigger?: unknown } | null };
  } | null)?.input;
  if (input?.format === "npz") return "P";
  if (input?.format !== "sds") return "";
  // Triggers on the vertical are taken as P; picks are of the configured phase (`--phase S`
  // cuts at S picks), named as the config names it.
  if (input.windows) return input.windows.trigger ? "P" : "";
  const ph = input.phase ?? "P";
  return ph.length === 1 ? ph.toUpperCase() : ph; // `--phase p` means P, as extract reads it
}

/** The samples as onsets: station, reference time (NaN without one) and channel. */
function sampleOnsets(samples: readonly SampleInfo[]): TriggerOnset[] {
  return samples.map((s) => ({
    network: s.network,
    station: s.station,
    time: sampleTime(s.referenceTime),
    channel: [s.network, s.station, s.location, s.channel].join("."),
  }));
}

/**
 * The events of a dataset: as its samples name them (samples.csv's `event` column: a
 * catalogue's ids, or at triggers the associated events, {@linkcode catalogueEvents}); for a
 * dataset of triggers written before that column, as its `triggers.csv` groups them (column
 * `event`) where the file has them, else associated afresh from the samples' times; else none.
 *
 * @param ds The dataset.
 * @param window A dataset of triggers: seconds between consecutive onsets of one event; null
 *   for any other dataset.
 * @returns the events, their members sample indices; null where the dataset has none.
 */
async function datasetEvents(ds: Dataset, window: number | null): Promise<NetworkEvent[] | null> {
  if (ds.samples.some((s) => s.event)) return catalogueEvents(ds.samples);
  if (window === null) return null;
  const onsets = sampleOnsets(ds.samples);
  let rows: Record<string, string>[] = [];
  try {
    const path = join(ds.dir, "triggers.csv");
    rows = parseCsvRecords(await Deno.readTextFile(path), ",", { source: path });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (rows.length && "event" in rows[0]) {
    const eventOfId = new Map(rows.map((r) => [r.id, r.event]));
    return eventsByIds(onsets, ds.samples.map((s) => eventOfId.get(s.id))).events;
  }
  return associateTriggers(onsets, window).events;
}

/**
 * The events of a dataset whose samples name theirs (samples.csv's `event` column: a catalogue's
 * event ids, or the associated events of triggers); samples without one, or without a
 * reference time, belong to none.
 *
 * @param samples The dataset's samples.
 * @returns the events by first reference time, their members sample indices.
 */
export function catalogueEvents(samples: readonly SampleInfo[]): NetworkEvent[] {
  return eventsByIds(sampleOnsets(samples), samples.map((s) => s.event || undefined)).events;
}

/** How {@linkcode writeResults} writes a cluster or encode output. */
export interface WriteResultsOptions {
  /** Replace an earlier output of cluster/encode. */
  force: boolean;
  /** Write the PNGs. */
  plots: boolean;
  /** Hours added to UTC for the hour-of-day profile (local time), or `solar` (default 0). */
  utcOffset?: HourClock;
  /**
   * With `plots`, embed at most this many codes by UMAP (latent_umap.png and umap.csv; 0: none;
   * only for codes of at most 64 dimensions, not `--raw` spectrograms; default 5000).
   */
  umapPoints?: number;
  /** Seed of the UMAP embedding (its initial layout, the subset of a larger set; default 0). */
  seed?: number;
  /** Without a progress bar over the profiles' pass over the dataset (default true). */
  quiet?: boolean;
  /** With `plots`, write each figure as an SVG vector figure too, beside its PNG. */
  svg?: boolean;
  /**
   * What the caller's check of `out` before its work returned (see {@linkcode writeDirAtomic}):
   * an output another run wrote since is refused as that run's.
   */
  replace?: boolean;
}

/**
 * Writes the output directory of `cluster` or `encode` atomically: latent.npy, labels.csv
 * (samples.csv for encode), q.npy, result.json, clusters.csv (the cluster profiles) and, with
 * `plots`, latent_pca.png, examples.png, example_waveforms.png (for a dataset made by `extract`
 * whose input is still there: see {@linkcode memberWaveforms}; else a `note:` on stderr says
 * why not), cluster_means.png, cluster_spectra.png and, when the samples have reference times,
 * hour_of_day.png and timeline.png, and stations.png where two or more stations have coordinates;
 * for SDS windows (`extract --windows`), episodes.csv
 * ({@linkcode windowEpisodes}); for SDS triggers (`extract --trigger`) or samples that name
 * their event, events.csv and events.xml (the clusters' vote per event: {@linkcode eventVotes}).
 *
 * @param out Output directory.
 * @param ds The dataset the assignment belongs to.
 * @param a The assignment.
 * @param opts How to write them ({@linkcode WriteResultsOptions}).
 * @returns the cluster profiles (empty for encode).
 */
export async function writeResults(
  out: string,
  ds: Dataset,
  a: Assignment,
  opts: WriteResultsOptions,
): Promise<ClusterProfile[]> {
  const { force, plots, utcOffset = 0, umapPoints = 5000, seed = 0, quiet = true } = opts;
  const { svg = false, replace } = opts;
  let profiles: ClusterProfile[] = [];
  if (a.labels) {
    const bar = new Progress("cluster: profiles", ds.count, { quiet });
    profiles = clusterProfiles(ds, a.labels, a.k, a.q, a.normalize, {
      utcOffset,
      scaling: ds.meta.scaling,
      onBatch: (m) => bar.tick(m),
    });
    bar.done();
  }
  await writeDirAtomic(out, async (tmp) => {
    // Each figure as name.png, and name.svg with `svg`.
    const figure = (name: string, draw: (format: FigureFormat) => Uint8Array | null) =>
      writeFigure(join(tmp, name), draw, svg);
    await Deno.writeFile(join(tmp, "latent.npy"), encodeNpy(a.latent, [ds.count, a.dim]));
    const rows = [
      "id,network,station,location,channel,reference_time,cluster,confidence,label,event,margin",
    ];
    ds.samples.forEach((s, i) => {
      // confidence: the largest q (its floor is 1/k); margin: it less the second largest, how
      // clearly the cluster wins (0: a tie).
      let conf = "", margin = "";
      if (a.q) {
        const [m, second] = topTwo(a.q, i, a.k);
        conf = m.toFixed(6);
        margin = (m - second).toFixed(6);
      }
      rows.push(
        [
          ...sampleKeyFields(s),
          a.labels ? String(a.labels[i]) : "",
          conf,
          s.label ?? "",
          s.event ?? "",
          margin,
        ].map(csvField).join(","),
      );
    });
    await Deno.writeTextFile(
      join(tmp, a.labels ? "labels.csv" : "samples.csv"),
      rows.join("\n") + "\n",
    );
    if (a.q) await Deno.writeFile(join(tmp, "q.npy"), encodeNpy(a.q, [ds.count, a.k]));
    // Windows of continuous data: runs of consecutive windows in one cluster, as episodes.
    const win = windowsOfDataset(ds.meta.config);
    if (a.labels && win) {
      const episodes = windowEpisodes(ds.samples, a.labels, a.k, a.q, win.stepMs, win.crop);
      await Deno.writeTextFile(join(tmp, "episodes.csv"), episodesCsv(episodes));
    }
    // Events (triggers associated across stations, or a catalogue's): the samples of one event
    // vote on its cluster.
    const trig = triggersOfDataset(ds.meta.config);
    const events = a.labels ? await datasetEvents(ds, trig) : null;
    if (a.labels && events) {
      const votes = eventVotes(events, a.labels, a.k, a.q);
      await Deno.writeTextFile(
        join(tmp, "events.csv"),
        eventsCsv(votes, ds.samples.map((s) => s.id)),
      );
      await Deno.writeTextFile(
        join(tmp, "events.xml"),
        eventsQuakeMl(votes, ds.samples, {
          catalogue: trig === null,
          phase: referencePhase(ds.meta.config),
        }),
      );
    }
    const result: ClusterResult = {
      stage: a.stage,
      n: ds.count,
      k: a.k,
      dim: a.dim,
      normalize: a.normalize,
      dataset: resolve(ds.dir),
      model: a.model === null ? null : resolve(a.model),
      created: new Date().toISOString(),
      utcOffset,
      software: a.software ?? null,
      ...(a.weights ? { weights: a.weights } : {}),
      // What else decides the output: the seeds and restarts (encode has neither).
      ...(a.labels ? { seed, umapPoints, plots } : {}),
      ...(a.kmeans ? { kmeans: a.kmeans } : {}),
    };
    await Deno.writeTextFile(join(tmp, "result.json"), JSON.stringify(result, null, 2) + "\n");
    // The figures' axes and colour bar: an imported array's axes are bin indices, so its figures
    // name rows and columns.
    const reference = referenceName(ds.meta.config);
    const axes = ds.axesInBins ? {} : { freqs: ds.freqs, times: ds.times, reference };
    const value = datasetValueLabel(ds, a.normalize);
    if (plots && a.labels && ds.count >= 2) {
      const { x, y, explained } = pca2(a.latent, ds.count, a.dim);
      const share = (f: number) => `${(100 * f).toFixed(f < 0.095 ? 1 : 0)} % of variance`;
      const labels = a.labels;
      await figure("latent_pca", (format) =>
        scatterChart({ x, y, groups: labels }, {
          format,
          title: `Latent codes (PCA), ${a.k} clusters`,
          xLabel: `PC 1 (${share(explained[0])})`,
          yLabel: `PC 2 (${share(explained[1])})`,
        }));
      await figure("examples", (format) =>
        examplesPng(ds, labels, a.k, a.q, a.normalize, {
          components: ds.meta.components,
          ...axes,
          valueLabel: value,
          format,
        }));
      const w = await memberWaveforms(ds, a.labels, a.k, a.q);
      if ("skipped" in w) console.error(`note: no example_waveforms.png: ${w.skipped}`);
      else {
        await figure(
          "example_waveforms",
          (format) => memberWaveformsPng(w, ds, 6, reference, format),
        );
        if (w.failures.length) {
          const f = w.failures[0];
          console.error(
            `note: example_waveforms.png leaves out ${w.failures.length} member(s) whose ` +
              `waveforms could not be rebuilt, e.g. ${f.id}: ${f.reason}: ${f.message}`,
          );
        }
      }
    }
    if (a.labels) {
      await Deno.writeTextFile(join(tmp, "clusters.csv"), profilesCsv(profiles, ds.axesInBins));
    }
    if (plots && a.labels) {
      const labels = a.labels;
      await figure("cluster_means", (format) =>
        clusterMeansPng(profiles, ds.sampleShape, {
          components: ds.meta.components,
          ...axes,
          normalize: a.normalize,
          valueLabel: value,
          format,
        }));
      await figure(
        "cluster_spectra",
        (format) =>
          clusterSpectraPng(profiles, axes.freqs, a.normalize, psdUnit(ds.meta.config), format),
      );
      await figure("hour_of_day", (format) => hourOfDayPng(profiles, utcOffset, format));
      await figure("timeline", (format) => timelinePng(ds, labels, a.k, format));
      await figure("stations", (format) => stationMapPng(ds, labels, a.k, format));
      if (umapPoints > 0 && a.dim <= 64 && ds.count >= 3) {
        let umapBar: Progress | null = null, last = 0;
        const e = await umap2(a.latent, ds.count, a.dim, {
          maxPoints: umapPoints,
          seed,
          onEpoch: (done, total) => {
            umapBar ??= new Progress("cluster: UMAP epochs", total, { quiet });
            umapBar.tick(done - last);
            last = done;
          },
        });
        (umapBar as Progress | null)?.done();
        const groups = Int32Array.from(e.index, (i) => a.labels![i]);
        const sub = e.index.length < ds.count ? `, ${e.index.length} of ${ds.count} samples` : "";
        await figure("latent_umap", (format) =>
          scatterChart({ x: e.x, y: e.y, groups }, {
            format,
            title: `Latent codes (UMAP${sub}), ${a.k} clusters`,
            xLabel: "UMAP 1",
            yLabel: "UMAP 2",
          }));
        await Deno.writeTextFile(
          join(tmp, "umap.csv"),
          formatCsv([
            ["id", "umap_x", "umap_y", "cluster"],
            ...Array.from(e.index, (i, r) => [
              ds.samples[i].id,
              e.x[r].toPrecision(6),
              e.y[r].toPrecision(6),
              groups[r],
            ]),
          ]),
        );
      }
    }
  }, { force, marker: "result.json", replace });
  return profiles;
}

/**
 * The cluster profiles as a text table: size, confidence, the mean spectrogram's peak (frequency
 * and time), stations, busiest hour (UTC unless `utcOffset` says otherwise), and the median
 * S − P where some member has one.
 *
 * @param profiles From {@linkcode clusterProfiles}.
 * @param axesInBins Whether the peaks are a row and a column (an imported array) rather than Hz and s.
 * @returns the table, one line per cluster after a header.
 */
export function formatProfiles(profiles: ClusterProfile[], axesInBins = false): string {
  // The median S − P column only where some member has an S pick.
  const sp = profiles.some((p) => p.medianSMinusP !== null);
  const snr = profiles.some((p) => p.peakSnr !== null);
  const lines = [
    `cluster   size  confidence ${axesInBins ? "peak row   col" : " peak Hz  at s"}${
      snr ? "  SNR dB" : ""
    }  stations  busiest hour${sp ? "  S-P s" : ""}`,
  ];
  for (const p of profiles) {
    lines.push(
      [
        String(p.cluster).padStart(7),
        String(p.size).padStart(6),
        (p.meanConfidence === null ? "" : p.meanConfidence.toFixed(3)).padStart(11),
        (p.peakFrequency === null ? "" : p.peakFrequency.toFixed(axesInBins ? 0 : 2)).padStart(8),
        (p.peakTime === null ? "" : p.peakTime.toFixed(axesInBins ? 0 : 1)).padStart(5),
        ...(snr ? [(p.peakSnr === null ? "" : p.peakSnr.toFixed(1)).padStart(7)] : []),
        String(p.stations).padStart(9),
        String(peakHour(p) ?? "").padStart(13),
        ...(sp ? [(p.medianSMinusP === null ? "" : p.medianSMinusP.toFixed(2)).padStart(6)] : []),
      ].join(" "),
    );
  }
  return lines.join("\n");
}

/** What the dataset's values are after `normalize`, with their unit, for a colour bar. */
function datasetValueLabel(ds: Dataset, normalize: Assignment["normalize"]): string {
  return valueLabel(ds.meta.scaling, ds.axesInBins ? null : psdUnit(ds.meta.config), normalize);
}

const outFlag = {
  type: "string" as const,
  arg: "DIR",
  description: "Output directory (written atomically).",
};
const forceFlag = {
  type: "boolean" as const,
  description: "Replace an existing output directory.",
};

/**
 * {@linkcode applyModel} with a progress bar over the samples: on a large dataset the pass that
 * encodes (and assigns) every sample is the long part of `cluster` and `encode`.
 */
async function applyWithProgress(
  command: string,
  model: string,
  ds: Dataset,
  stage: "auto" | "dec" | "init" | "pretrain",
  quiet: boolean,
  codesOnly = false,
): Promise<Assignment> {
  const bar = new Progress(`${command}: encoding`, ds.count, { quiet });
  const a = await applyModel(model, ds, device(), stage, (m) => bar.tick(m), { codesOnly });
  bar.done();
  return a;
}

/**
 * The text of a cluster directory's labels.csv; the error tells a missing directory, a file
 * and a directory without labels.csv apart.
 */
async function labelsCsvOf(dir: string, cannot: string): Promise<string> {
  const path = join(dir, "labels.csv");
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) {
      throw new UserError(`${cannot}: cannot read ${path}: ${(e as Error).message}`);
    }
    const isDir = await Deno.stat(dir).then((st) => st.isDirectory, () => null);
    throw new UserError(
      isDir === null
        ? `${cannot}: no such directory${await movedAsideNote(dir)}`
        : isDir
        ? `${cannot}: labels.csv is missing: run 'cluster' first`
        : `${cannot}: it is a file: expected the output directory of 'cluster'`,
    );
  }
}

/** Refuses, before any encoding, a model directory with neither init's nor DEC's centres. */
async function needCentres(model: string): Promise<void> {
  if (
    await exists(join(model, "centroids.safetensors")) ||
    await exists(join(model, "dec.safetensors"))
  ) return;
  await readModelInfo(model); // a missing or mistyped directory is named as such
  throw new UserError(
    `Cannot cluster with ${model}: it holds no centroids: run 'init' (and 'finetune') first`,
  );
}

/** `cli.ts encode`. */
export const encodeCommand: Command = {
  name: "encode",
  gpu: true,
  summary:
    "Write the latent codes of every sample (latent.npy + samples.csv) with a trained model.",
  usage: "<dataset-dir> --model DIR --out DIR",
  flags: {
    model: { type: "string", arg: "DIR", description: "Model directory." },
    out: outFlag,
    stage: {
      type: "string",
      arg: "S",
      description:
        "Weights: auto (dec, else init, else pretrain), dec, init (pretrain with init's latent scale) or pretrain.",
      default: "auto",
    },
    force: forceFlag,
  },
  async run(values, positionals) {
    const ds = await datasetArg(positionals, "encode");
    const model = required(values, "model", "encode"), out = required(values, "out", "encode");
    const stage = enumFlag(values, "stage", ["auto", "dec", "init", "pretrain"] as const) ??
      "auto";
    // An output that may not be written is refused before the encoding pass, not after it.
    const replace = await checkOutputTarget(out, { force: !!values.force, marker: "result.json" });
    const a = await applyWithProgress("encode", model, ds, stage, !!values.quiet, true);
    await writeResults(out, ds, a, { force: !!values.force, plots: false, replace });
    console.log(
      `encode: ${ds.count} samples → ${out}/latent.npy [${ds.count}, ${a.dim}] (${a.stage} weights)`,
    );
  },
};

/** `cli.ts cluster`. */
export const clusterCommand: Command = {
  name: "cluster",
  gpu: true,
  summary: "Assign clusters with a trained model: latent.npy, q.npy, labels.csv and plots.",
  usage: "<dataset-dir> (--model DIR | --raw) --out DIR",
  details: "With --raw, skip the model and run k-means on the flattened spectrograms (a baseline).",
  seeded: true,
  flags: {
    model: { type: "string", arg: "DIR", description: "Model directory (not needed with --raw)." },
    out: outFlag,
    stage: {
      type: "string",
      arg: "S",
      description: "Weights: auto, dec or init.",
      default: "auto",
    },
    raw: { type: "boolean", description: "Baseline: k-means on the raw normalised spectrograms." },
    normalize: {
      type: "string",
      arg: "MODE",
      description:
        "Per-sample normalisation for --raw: maxabs, l2, minmax, none (default: minmax for dB or log10 spectrograms, else maxabs).",
    },
    k: { type: "string", arg: "N", description: "Clusters for --raw.", default: "5" },
    "n-init": {
      type: "string",
      arg: "N",
      description: "k-means restarts for --raw.",
      default: "10",
    },
    "utc-offset": {
      type: "string",
      arg: "H",
      description:
        "Hours added to UTC for hour_of_day.png and clusters.csv's peak_hour (local time), or " +
        "'solar': each station's local mean solar time, from its longitude.",
      default: "0",
    },
    "umap-points": {
      type: "string",
      arg: "N",
      description: "Embed at most N latent codes by UMAP (latent_umap.png, umap.csv); 0: none.",
      default: "5000",
    },
    "no-plots": {
      type: "boolean",
      description:
        "Skip the PNGs and the rebuilding of the example waveforms (clusters.csv is still written).",
    },
    svg: svgFlag,
    force: forceFlag,
  },
  async run(values, positionals) {
    if (values["no-plots"] && values.svg) {
      throw new UserError("Cannot use --svg with --no-plots: --svg writes the figures as SVG too");
    }
    const clock = strFlag(values, "utc-offset");
    const solar = clock?.trim().toLowerCase() === "solar";
    const hours = clock === undefined || solar ? 0 : parseDecimal(clock);
    if (!(hours >= -12 && hours <= 14)) {
      throw new UserError(
        `Cannot use --utc-offset ${clock}: expected hours in [-12, 14], or solar`,
      );
    }
    const utcOffset: HourClock = solar ? "solar" : hours;
    const umapPoints = intFlag(values, "umap-points") ?? 5000;
    if (umapPoints < 0) {
      throw new UserError(`Cannot use --umap-points ${umapPoints}: expected a count >= 0`);
    }
    const ds = await datasetArg(positionals, "cluster");
    if (utcOffset === "solar") {
      // Local mean solar time needs each station's longitude (samples.csv's, from StationXML).
      const placed = ds.samples.filter((x) => Number.isFinite(x.longitude)).length;
      if (placed === 0) {
        ds.close();
        throw new UserError(
          `Cannot use --utc-offset solar: no sample of ${ds.dir} has its station's longitude ` +
            `(samples.csv's longitude, from a StationXML; none with SAC pole-zero files, NPZ ` +
            `windows or an imported array): give hours instead`,
        );
      }
      if (placed < ds.count) {
        console.error(
          `note: ${ds.count - placed} of ${ds.count} samples have no station longitude: ` +
            `left out of the hours of day (--utc-offset solar)`,
        );
      }
    }
    const out = required(values, "out", "cluster");
    // Refused before the encoding pass or the k-means, not after.
    let replace = false;
    const checkOut = async () => {
      replace = await checkOutputTarget(out, { force: !!values.force, marker: "result.json" });
    };
    let a: Assignment;
    if (values.raw) {
      // A user who names a model must not silently get the baseline.
      for (const f of ["model", "stage"] as const) {
        if (values[f] !== undefined) {
          throw new UserError(
            `Cannot use --${f} with --raw: the baseline runs k-means on the spectrograms ` +
              `themselves, without a model (drop --raw to cluster with the model)`,
          );
        }
      }
      const nInit = intFlag(values, "n-init") ?? 10;
      const k = intFlag(values, "k") ?? 5;
      if (ds.count < 2) {
        throw new UserError(
          `Cannot cluster ${ds.dir} with --raw: it holds ${ds.count} sample${
            ds.count === 1 ? "" : "s"
          }: expected at least 2`,
        );
      }
      if (k < 2 || k > ds.count) {
        throw new UserError(
          `Cannot use --k ${k}: expected 2..${ds.count} (the dataset's samples; one cluster ` +
            `holds every sample)`,
        );
      }
      await checkOut();
      // Each restart runs Lloyd over C·F·T values a sample: seconds apiece on a large set.
      const bar = new Progress("cluster: k-means restarts", nInit, { quiet: !!values.quiet });
      let last = 0;
      a = await rawKmeans(ds, k, {
        nInit,
        seed: seedFlag(values) ?? 0,
        normalize: enumFlag(values, "normalize", ["maxabs", "l2", "minmax", "none"] as const) ??
          defaultNormalize(ds.meta.scaling),
        onRestart: (done) => {
          bar.tick(done - last);
          last = done;
        },
      });
      bar.done();
    } else {
      if (values.normalize !== undefined) {
        throw new UserError(
          `Cannot use --normalize without --raw: a model reads samples with the normalisation ` +
            `it was trained with (model.json)`,
        );
      }
      // A user who asks for 3 clusters must not silently get the model's 4.
      for (const f of ["k", "n-init"] as const) {
        if (values[f] !== undefined) {
          throw new UserError(
            `Cannot use --${f} without --raw: a model's clusters are its centroids, set by ` +
              `'init --k' (run init again with --force, then finetune, for another k)`,
          );
        }
      }
      const stage = enumFlag(values, "stage", ["auto", "dec", "init"] as const) ?? "auto";
      const model = required(values, "model", "cluster", "--raw for k-means on the spectrograms");
      if (stage === "auto") await needCentres(model);
      await checkOut();
      a = await applyWithProgress("cluster", model, ds, stage, !!values.quiet);
    }
    const profiles = await writeResults(out, ds, a, {
      force: !!values.force,
      plots: !values["no-plots"],
      utcOffset,
      umapPoints,
      seed: seedFlag(values) ?? 0,
      quiet: !!values.quiet,
      svg: !!values.svg,
      replace,
    });
    const sizes = new Array(a.k).fill(0);
    for (const l of a.labels!) sizes[l]++;
    if (!values.quiet) console.log(formatProfiles(profiles, ds.axesInBins));
    console.log(
      `cluster: ${ds.count} samples in ${a.k} clusters (${a.stage}), sizes [${sizes}] → ${out}`,
    );
  },
};

/** `cli.ts evaluate`. */
export const evaluateCommand: Command = {
  name: "evaluate",
  summary: "Score a clustering: ACC, NMI, ARI against known labels; internal indices always.",
  usage: "<cluster-dir>",
  details: [
    "With known labels: ACC (Hungarian matching), NMI, ARI and the confusion matrix. Always:",
    "silhouette, Calinski-Harabasz, Davies-Bouldin and the cluster sizes.",
    "Reads labels.csv and latent.npy written by 'cluster'; writes evaluation.json beside them.",
  ].join("\n"),
  seeded: true,
  flags: {
    labels: {
      type: "string",
      arg: "FILE",
      description: "CSV with id,label to use instead of labels.csv's label column.",
    },
    against: {
      type: "string",
      arg: "DIR",
      description:
        "Another cluster directory: score the agreement with its clusters (by sample id) instead of labels; writes nothing.",
    },
    json: { type: "boolean", description: "Print JSON instead of the text report." },
  },
  async run(values, positionals) {
    const dir = positionals[0];
    if (!dir) {
      throw new UserError("Cannot run evaluate: expected the output directory of 'cluster'");
    }
    const text = await labelsCsvOf(dir, `Cannot evaluate ${dir}`);
    const [head = [], ...rows] = parseCsv(text, ",", { source: join(dir, "labels.csv") });
    refuseRepeatedColumns(head, join(dir, "labels.csv"));
    const ci = head.indexOf("cluster"), li = head.indexOf("label"), ii = head.indexOf("id");
    if (ci < 0 || ii < 0) {
      throw new UserError(`Cannot evaluate ${dir}/labels.csv: expected columns id and cluster`);
    }
    refuseRepeatedIds(rows.map((r) => r[ii]), `Cannot evaluate ${dir}/labels.csv`);
    const pred = new Int32Array(rows.length);
    let top = -1;
    rows.forEach((r, i) => {
      const v = Number(r[ci]);
      if (r[ci] === "" || !Number.isInteger(v) || v < 0) {
        throw new UserError(
          `Cannot evaluate ${dir}/labels.csv: row ${i + 2} (id ${
            r[ii]
          }): cluster must be an integer >= 0: found '${r[ci]}'`,
        );
      }
      pred[i] = v;
      if (v > top) top = v;
    });
    let truth: (string | null)[] = rows.map((r) => (li >= 0 && r[li] ? r[li] : null));
    const lf = strFlag(values, "labels");
    if (lf) {
      let text: string;
      try {
        text = await Deno.readTextFile(lf);
      } catch (e) {
        throw new UserError(`Cannot read labels ${lf}: ${readFailure(e)}`);
      }
      const [lh = [], ...lrows] = parseCsv(text, ",", { source: `labels ${lf}` });
      // As import --labels reads its header: trimmed, any case.
      const names = lh.map((h) => h.trim().toLowerCase());
      refuseRepeatedColumns(names, `labels ${lf}`, ["id", "label"]);
      const lid = names.indexOf("id"), llab = names.indexOf("label");
      if (lid < 0 || llab < 0) {
        throw new UserError(
          `Cannot use --labels ${lf}: expected columns id and label: found ${lh.join(",")}`,
        );
      }
      const map = new Map<string, string | null>();
      // Ids trimmed as the header is (ids are one word); a repeated id is refused as import
      // refuses it: the second row would silently win.
      const ids = lrows.map((r) => (r[lid] ?? "").trim());
      refuseRepeatedIds(ids, `Cannot use --labels ${lf}`);
      lrows.forEach((r, k) => {
        refuseLineBreak(r[llab] ?? "", lf, k + 2);
        map.set(ids[k], r[llab]?.trim() || null);
      });
      truth = rows.map((r) => map.get(r[ii]) ?? null);
      // Ids of samples the clustering does not hold are left out: how many, said so.
      const ours = new Set(rows.map((r) => r[ii]));
      const unknown = [...map.keys()].filter((id) => !ours.has(id));
      if (unknown.length && unknown.length < map.size) {
        console.error(
          `note: ${unknown.length} of the ${map.size} ids in ${lf} name no sample of ` +
            `${join(dir, "labels.csv")} (such as '${unknown[0]}'): left out`,
        );
      }
      if (!truth.some((t) => t !== null)) {
        // The ids match, but their rows hold no label: say so, not that the ids differ.
        const k = lrows.findIndex((r) => ours.has((r[lid] ?? "").trim()));
        if (k >= 0) {
          throw new UserError(
            `Cannot use --labels ${lf}: row ${k + 2} (id '${
              lrows[k][lid].trim()
            }') has no label value, nor has any other row of a sample of ${dir}: expected ` +
              `id,label with each sample's class`,
          );
        }
        throw new UserError(
          `Cannot use --labels ${lf}: none of its ${map.size} ids names a sample of ${dir}/labels.csv ` +
            `(its ids look like '${rows[0]?.[ii] ?? ""}', the file's like '${
              lrows[0]?.[lid] ?? ""
            }')`,
        );
      }
    }
    const against = strFlag(values, "against");
    if (against) {
      if (lf) throw new UserError("Cannot use --labels and --against together");
      const other = await labelsCsvOf(against, `Cannot compare with ${against}`);
      const [oh = [], ...orows] = parseCsv(other, ",", {
        source: join(against, "labels.csv"),
      });
      refuseRepeatedColumns(oh, join(against, "labels.csv"));
      const oc = oh.indexOf("cluster"), oi = oh.indexOf("id");
      if (oc < 0 || oi < 0) {
        throw new UserError(
          `Cannot compare with ${against}/labels.csv: expected columns id and cluster`,
        );
      }
      const map = new Map(orows.map((r) => [r[oi], `cluster ${r[oc]}`]));
      truth = rows.map((r) => map.get(r[ii]) ?? null);
      if (!truth.some((t) => t !== null)) {
        throw new UserError(`Cannot compare ${dir} with ${against}: they share no sample id`);
      }
    }
    const meta = await Deno.readTextFile(join(dir, "result.json")).then(
      (t) =>
        parseJsonFile(t, join(dir, "result.json"), "the result.json cluster writes") as {
          k?: number;
        },
      () => ({ k: 0 }),
    );
    // result.json's k bounds the clusters: a cluster past it (labels.csv of another run, or
    // edited) was scored as a cluster of its own, with the k reported raised to fit it.
    if (meta.k !== undefined && !(Number.isInteger(meta.k) && meta.k >= 0)) {
      throw new UserError(
        `Cannot evaluate ${dir}: result.json has k ${JSON.stringify(meta.k)}: expected a whole ` +
          "number (damaged or edited?)",
      );
    }
    if (meta.k && top >= meta.k) {
      const row = pred.indexOf(top);
      throw new UserError(
        `Cannot evaluate ${dir}/labels.csv: row ${row + 2} (id ${rows[row][ii]}) gives cluster ` +
          `${top}: expected 0 to ${meta.k - 1}, as result.json's k is ${meta.k} (files from ` +
          "different runs, or edited?)",
      );
    }
    // No spread into Math.max: catalogues exceed V8's argument limit (about 120,000).
    const k = Math.max(meta.k ?? 0, top + 1);
    // The latent codes, for the silhouette and the other internal scores (cluster and encode
    // always write them): one missing or that cannot be read (cut short, say) is named, not
    // passed over.
    const latPath = join(dir, "latent.npy");
    const lat = await readNpyFile(latPath).catch((e) => {
      console.error(
        `warning: cannot read ${latPath} (${readFailure(e)}): the silhouette and the other ` +
          `scores of the latent space are left out`,
      );
      return null;
    });
    if (lat && (lat.shape.length !== 2 || lat.shape[0] !== rows.length)) {
      throw new UserError(
        `Cannot evaluate ${dir}: ${latPath} holds [${lat.shape}] for the ${rows.length} rows of ` +
          `${join(dir, "labels.csv")}: expected one row of latent codes per sample, ` +
          `[${rows.length}, dim] (files from different runs?)`,
      );
    }
    const seed = seedFlag(values) ?? 0;
    const report = evaluateClustering({
      pred,
      k,
      truth,
      latent: lat ? Float32Array.from(lat.data as Float32Array) : undefined,
      dim: lat ? lat.shape[1] : undefined,
      seed,
    });
    // Triggers (events.csv): each event's vote against its samples' most common class.
    let events: EvaluationReport | null = null;
    const evText = against
      ? null
      : await Deno.readTextFile(join(dir, "events.csv")).catch(() => null);
    if (evText !== null) {
      const rows2 = parseCsvRecords(evText, ",", { source: join(dir, "events.csv") });
      if (rows2.length && "ids" in rows2[0] && "cluster" in rows2[0]) {
        const classOf = new Map(rows.map((r, i) => [r[ii], truth[i]]));
        const e = eventTruth(rows2 as { cluster: string; ids: string }[], classOf);
        if (e.truth.some((t) => t !== null)) events = evaluateClustering({ ...e, k });
      }
    }
    // Where the classes came from: the dataset's labels, or --labels FILE (so that a score
    // against, say, instrument types is not read as one against source classes); --json prints
    // what evaluation.json holds.
    const full = {
      ...report,
      labelsFrom: lf ? resolve(lf) : "dataset",
      ...(events ? { events } : {}),
      // The silhouette's sample of at most 4,000 codes is drawn with it.
      seed,
      software: plainSoftware(null),
    };
    // An agreement between two clusterings is not this directory's evaluation.
    if (!against) {
      await writeIntoOutput(dir, "evaluation.json", JSON.stringify(full, null, 2) + "\n");
    }
    const f = (v: number | null) => (v === null ? "n/a" : v.toFixed(4));
    const eventLine = events
      ? `Events (each its samples' vote): ACC ${f(events.acc)}   NMI ${f(events.nmi)}   ` +
        `ARI ${f(events.ari)} over ${events.labelled} labelled of ${events.n}`
      : null;
    if (values.json) {
      console.log(
        JSON.stringify(against ? (events ? { ...report, events } : report) : full, null, 2),
      );
    } else if (values.quiet) {
      console.log(
        `evaluate: ACC ${f(report.acc)} NMI ${f(report.nmi)} ARI ${f(report.ari)} ` +
          `silhouette ${f(report.silhouette)} sizes [${report.sizes}]` +
          (events ? `; events ACC ${f(events.acc)} NMI ${f(events.nmi)}` : ""),
      );
    } else {
      if (against) console.log(`Agreement with ${against} (its clusters as the classes)`);
      console.log(formatReport(report));
      if (eventLine) console.log(eventLine);
    }
  },
};

/** `cli.ts similar`. */
export const similarCommand: Command = {
  name: "similar",
  summary: "List the samples whose latent codes are nearest to a given sample's.",
  usage: "<cluster-or-encode-dir> --id ID",
  details:
    "Reads latent.npy and labels.csv (or samples.csv) written by 'cluster' or 'encode'; the distance is Euclidean in the latent space.",
  flags: {
    id: { type: "string", arg: "ID", description: "The sample (its id in labels.csv)." },
    n: { type: "string", arg: "N", description: "How many neighbours.", default: "10" },
    json: { type: "boolean", description: "Print JSON instead of a table." },
  },
  async run(values, positionals) {
    const dir = positionals[0];
    if (!dir) {
      throw new UserError(
        "Cannot run similar: expected the output directory of 'cluster' or 'encode'",
      );
    }
    const id = required(values, "id", "similar");
    const count = intFlag(values, "n") ?? 10;
    if (count < 1) throw new UserError(`Cannot use --n ${count}: expected at least 1`);
    let text: string | null = null, source = "";
    for (const f of ["labels.csv", "samples.csv"]) {
      source = join(dir, f);
      text = await Deno.readTextFile(source).catch(() => null);
      if (text !== null) break;
    }
    if (text === null) {
      // A directory that is not there is named as missing (and where a killed run had moved it
      // aside, that copy), not as one without its files.
      const there = await Deno.stat(dir).then(() => true, () => false);
      throw new UserError(
        there
          ? `Cannot search ${dir}: labels.csv or samples.csv is missing: run 'cluster' or 'encode' first`
          : `Cannot search ${dir}: no such directory${await movedAsideNote(dir)}`,
      );
    }
    const [head = [], ...rows] = parseCsv(text, ",", { source });
    const col = (name: string) => head.indexOf(name);
    // A row twice shifts every later row off its latent code.
    if (col("id") >= 0) {
      refuseRepeatedIds(rows.map((r) => r[col("id")]), `Cannot search ${dir}: ${basename(source)}`);
    }
    const query = rows.findIndex((r) => r[col("id")] === id);
    if (query < 0) throw new UserError(`Cannot search ${dir}: no sample has id '${id}'`);
    const lat = await readNpyFile(join(dir, "latent.npy")).catch((e) => {
      // A dataset's samples.csv lists ids too, but only cluster and encode write the codes.
      throw new UserError(
        e instanceof Deno.errors.NotFound
          ? `Cannot search ${dir}: latent.npy is missing: run 'cluster' or 'encode' first`
          : `Cannot search ${dir}: cannot read latent.npy (${(e as Error).message})`,
      );
    });
    const [n, d] = lat.shape;
    if (n !== rows.length) {
      throw new UserError(
        `Cannot search ${dir}: latent.npy holds ${n} rows for ${rows.length} samples`,
      );
    }
    const nn = nearestNeighbours(Float32Array.from(lat.data as Float32Array), n, d, query, count);
    const field = (r: string[], name: string) => (col(name) >= 0 ? r[col(name)] ?? "" : "");
    // A sample is one channel: NET.STA.LOC.CHA (ObsPy's trace id) where the file has the codes.
    const hasChannel = col("location") >= 0 && col("channel") >= 0;
    const describe = (i: number, distance: number) => {
      const r = rows[i];
      const station = field(r, "station") ? `${field(r, "network")}.${field(r, "station")}` : "";
      return {
        id: field(r, "id"),
        distance,
        cluster: field(r, "cluster"),
        station,
        seedId: station && hasChannel && field(r, "channel")
          ? `${station}.${field(r, "location")}.${field(r, "channel")}`
          : "",
        referenceTime: field(r, "reference_time"),
        label: field(r, "label"),
      };
    };
    const out = {
      query: describe(query, 0),
      neighbours: nn.map((x) => describe(x.index, x.distance)),
    };
    if (values.json) {
      // Typed as evaluation.json's: a cluster is a number, and what a sample lacks is null.
      const typed = (x: ReturnType<typeof describe>) => ({
        ...x,
        cluster: x.cluster === "" ? null : Number(x.cluster),
        station: x.station || null,
        seedId: x.seedId || null,
        referenceTime: x.referenceTime || null,
        label: x.label || null,
      });
      console.log(
        JSON.stringify({ query: typed(out.query), neighbours: out.neighbours.map(typed) }, null, 2),
      );
      return;
    }
    // Columns as wide as their longest entry (ids of windows run to 32 characters).
    const shown = [out.query, ...out.neighbours];
    const wId = Math.max(20, ...shown.map((x) => x.id.length));
    const wSeed = Math.max(15, ...shown.map((x) => (x.seedId || x.station).length));
    // Microsecond times (isoExact) are 27 characters, millisecond ones 24.
    const wTime = Math.max(24, ...shown.map((x) => x.referenceTime.length));
    const line = (rank: string, x: ReturnType<typeof describe>) =>
      [
        rank.padStart(4),
        x.id.padEnd(wId),
        (rank === "=" ? "-" : x.distance.toFixed(4)).padStart(9),
        x.cluster.padStart(7),
        (x.seedId || x.station).padEnd(wSeed),
        x.referenceTime.padEnd(wTime),
        x.label,
      ].join("  ");
    console.log(
      [
        `${"rank".padStart(4)}  ${"id".padEnd(wId)}  ${"distance".padStart(9)}  ${
          "cluster".padStart(7)
        }  ${(hasChannel ? "seed_id" : "station").padEnd(wSeed)}  ${
          "reference_time".padEnd(wTime)
        }  label`,
        line("=", out.query),
        ...out.neighbours.map((x, r) => line(String(r + 1), x)),
      ].join("\n"),
    );
  },
};

/**
 * Refuses a labels.csv (or samples.csv, or --labels) that lists a sample twice: its rows pair
 * with latent.npy's by position, so a row copied in pairs every later row with another's code
 * (and of two labels of one sample, the second would silently win).
 *
 * @param ids The file's ids, row by row after its header.
 * @param what The message's start, naming the file.
 * @throws {UserError} naming the id and both rows (counting the header as row 1).
 */
function refuseRepeatedIds(ids: readonly string[], what: string): void {
  const first = new Map<string, number>();
  ids.forEach((id, i) => {
    const seen = first.get(id);
    if (seen !== undefined) {
      throw new UserError(
        `${what}: id '${id}' is listed twice (rows ${seen + 2} and ${i + 2}): expected each ` +
          "sample once",
      );
    }
    first.set(id, i);
  });
}
