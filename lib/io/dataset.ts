/**
 * The spectrogram dataset store: one directory per dataset.
 *
 * | file | content |
 * |---|---|
 * | `spectrograms.npy` | f32 little-endian, C order, `[N, C, F, T]` |
 * | `samples.csv` | `id,network,station,location,channel,reference_time,label,event,latitude,longitude,elevation,s_minus_p` (label, event, the station's coordinates and S − P empty when unknown) |
 * | `freqs.npy` | f64 `[F]`, Hz |
 * | `times.npy` | f64 `[T]`, seconds relative to the reference time |
 * | `meta.json` | `{ format, version, shape, components, scaling, config, created }` |
 * | `failures.csv` | (extract only) `id,reason,message` for every skipped sample |
 * | `clipped.csv` | (extract only, when any) `id,channel,max,min,samples` of the channels whose raw counts in the crop window look clipped (lib/signal/clip.ts) |
 * | `rotations.csv` | (extract only, when any) `id,channels,azimuths,dips,sources` of the samples whose Z, N, E were rotated from other channels (sources: `stationxml`, `sac` or `sac_pz` per channel) |
 *
 * {@linkcode Dataset.readBatch} reads only the requested samples (seek + read),
 * so a training loop never holds the whole array in memory.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import {
  checkOutputTarget,
  keepOnInterrupt,
  liveTemporary,
  movedAsideNote,
  moveIntoPlace,
  processAlive,
  releaseTemporary,
  writeDirAtomic,
  writeFailure,
  writeFileAtomic,
  writeOutputListing,
} from "../util/atomic.ts";
import { UserError } from "../util/errors.ts";
import { plainSoftware, type Software } from "../util/software.ts";
import { encodeNpy, NpyWriter, readNpyFile, readNpyHeader } from "./npy.ts";
import { formatCsv, parseCsvRecords } from "./csv.ts";
import { notRegularFile, readFailure } from "./input_file.ts";
import { parseUtc } from "./manifest.ts";

/** One sample's identity. */
export interface SampleInfo {
  /** Sample id. */
  id: string;
  /** SEED network code. */
  network: string;
  /** SEED station code. */
  station: string;
  /** SEED location code. */
  location: string;
  /** SEED channel code. */
  channel: string;
  /** ISO 8601 UTC time the spectrogram's time axis is relative to. */
  referenceTime: string;
  /** Class label, or null when unknown. */
  label: string | null;
  /**
   * The event the sample records (a catalogue's event id, or a trigger's associated event), or
   * undefined when unknown: samples.csv's `event` column, empty then (and absent in datasets
   * written before the column existed, which read as naming no events).
   */
  event?: string;
  /**
   * The station's latitude, degrees north (WGS84), from the sample's StationXML; undefined
   * without one (NPZ windows, SAC pole-zero files, no response file), and in datasets written
   * before the column existed.
   */
  latitude?: number;
  /** The station's longitude, degrees east (as `latitude`). */
  longitude?: number;
  /** The station's elevation, m (as `latitude`; NaN where the StationXML has none). */
  elevation?: number;
  /**
   * The S arrival's time after the reference time (the P pick), s, where the input gives an S
   * pick of the sample's event at its station (QuakeML S picks, PhaseNet's `its`): a distance
   * measure, about 8 s per 100 km for crustal paths. Undefined otherwise.
   */
  sMinusP?: number;
}

/** What a dataset's values are (`meta.json`'s `scaling`). */
export const DATASET_SCALINGS: readonly string[] = Object.freeze(["psd", "log10", "db", "none"]);

/** Contents of `meta.json`. */
export interface DatasetMeta {
  /** File format tag. */
  format: "seisdec-dataset";
  /** Format version. */
  version: 1;
  /** `[N, C, F, T]`. */
  shape: [number, number, number, number];
  /** Component names, one per channel C (e.g. `["Z"]`). */
  components: string[];
  /** `psd`, `log10`, `db`, or `none` for imported arrays. */
  scaling: string;
  /** The configuration that made the dataset. */
  config: unknown;
  /** ISO 8601 creation time. */
  created: string;
  /**
   * The seisdec and Deno that wrote it ({@linkcode Software}; `backend` null: no model runs
   * here). Absent in datasets written before it was recorded.
   */
  software?: Software;
}

/** Per-sample normalisation applied at load time. */
export type Normalize = "maxabs" | "l2" | "minmax" | "none";

/** Every {@linkcode Normalize}. */
const NORMALIZE_MODES: readonly string[] = [
  "maxabs",
  "l2",
  "minmax",
  "none",
] satisfies Normalize[];

/**
 * The per-sample normalisation a dataset gets when none is named (pretrain's and cluster --raw's default):
 * min-max for dB or log10 spectrograms, whose values are mostly negative and span a narrow band
 * of their largest magnitude (max-abs would squeeze them into about [-1, -0.7]); max-abs, the
 * seed's, for linear PSD and anything else.
 *
 * `PRETRAIN_DEFAULTS.normalize` is max-abs; a program that pretrains on a dataset from disk
 * gets the CLI's choice with `{ ...PRETRAIN_DEFAULTS, normalize: defaultNormalize(ds.meta.scaling) }`.
 *
 * @param scaling The dataset's `meta.json` scaling.
 * @returns the normalisation.
 * @example
 * ```ts
 * import { defaultNormalize } from "./dataset.ts";
 * if (defaultNormalize("db") !== "minmax" || defaultNormalize("psd") !== "maxabs") throw new Error();
 * // A log10 PSD is a level too (bels).
 * if (defaultNormalize("log10") !== "minmax") throw new Error();
 * ```
 */
export function defaultNormalize(scaling: string): Normalize {
  return scaling === "db" || scaling === "log10" ? "minmax" : "maxabs";
}

/** Header of `samples.csv`. */
export const SAMPLES_HEADER = [
  "id",
  "network",
  "station",
  "location",
  "channel",
  "reference_time",
  "label",
  "event",
  "latitude",
  "longitude",
  "elevation",
  "s_minus_p",
] as const;

/**
 * A sample's identifying fields, the first columns of `samples.csv` and of `cluster`'s
 * `labels.csv`: id, network, station, location, channel, reference_time.
 *
 * @param s The sample.
 * @returns the six fields.
 */
export function sampleKeyFields(s: SampleInfo): string[] {
  return [s.id, s.network, s.station, s.location, s.channel, s.referenceTime];
}

/** A sample's `samples.csv` fields, in {@linkcode SAMPLES_HEADER} order. */
function samplesFields(s: SampleInfo): string[] {
  const num = (v: number | undefined) => v === undefined || Number.isNaN(v) ? "" : String(v);
  return [
    ...sampleKeyFields(s),
    s.label ?? "",
    s.event ?? "",
    num(s.latitude),
    num(s.longitude),
    num(s.elevation),
    num(s.sMinusP),
  ];
}

/** The first line of a text file (its first 64 KiB at most), "" when it cannot be read. */
async function firstLine(path: string): Promise<string> {
  const f = await Deno.open(path, { read: true }).catch(() => null);
  if (!f) return "";
  try {
    const buf = new Uint8Array(1 << 16);
    const n = await f.read(buf) ?? 0;
    return new TextDecoder().decode(buf.subarray(0, n)).split(/\r?\n/)[0];
  } finally {
    f.close();
  }
}

function samplesCsv(samples: readonly SampleInfo[]): string {
  return formatCsv([SAMPLES_HEADER, ...samples.map(samplesFields)]);
}

/**
 * Normalises samples in place.
 *
 * @param data `[B, sampleSize]` contiguous.
 * @param sampleSize Elements per sample (C·F·T).
 * @param mode `maxabs` divides each sample by its largest |value|, `l2` by its L2
 *   norm, `minmax` maps it onto [0, 1] (for log or dB spectrograms), `none` leaves it;
 *   an all-zero (or, for minmax, constant) sample becomes zero.
 * @throws {RangeError} for another mode (a JavaScript caller's "zscore" would otherwise get L2).
 */
export function normalizeSamples(data: Float32Array, sampleSize: number, mode: Normalize): void {
  if (!NORMALIZE_MODES.includes(mode)) {
    throw new RangeError(
      `Cannot normalise samples: expected ${NORMALIZE_MODES.join(", ")}: found ${
        typeof mode === "string" ? JSON.stringify(mode) : String(mode)
      }`,
    );
  }
  if (mode === "none") return;
  for (let off = 0; off < data.length; off += sampleSize) {
    if (mode === "minmax") {
      let lo = Infinity, hi = -Infinity;
      for (let i = off; i < off + sampleSize; i++) {
        if (data[i] < lo) lo = data[i];
        if (data[i] > hi) hi = data[i];
      }
      const r = hi - lo;
      for (let i = off; i < off + sampleSize; i++) data[i] = r > 0 ? (data[i] - lo) / r : 0;
      continue;
    }
    let s = 0;
    if (mode === "maxabs") {
      for (let i = off; i < off + sampleSize; i++) {
        const a = Math.abs(data[i]);
        if (a > s) s = a;
      }
    } else {
      for (let i = off; i < off + sampleSize; i++) s += data[i] * data[i];
      s = Math.sqrt(s);
    }
    if (s > 0 && Number.isFinite(s)) {
      const inv = 1 / s;
      for (let i = off; i < off + sampleSize; i++) data[i] *= inv;
    }
  }
}

/**
 * @param meta A dataset's `meta.json`.
 * @returns true when its `freqs.npy` and `times.npy` hold bin indices rather than Hz and
 *   seconds: a dataset made by `import` (its `config` is `{ import: ... }`).
 */
export function axesInBins(meta: DatasetMeta): boolean {
  const c = meta.config;
  return typeof c === "object" && c !== null && "import" in c;
}

/**
 * Fields of a dataset's `config` that do not change its values: where it was written and read
 * from (the same recordings moved elsewhere make the same dataset), how many workers made it,
 * and the sample limit and subset (the sample count and ids are checked on their own).
 */
const NOT_SETTINGS = new Set([
  "output",
  "workers",
  "limit",
  "subset",
  "subsetSeed",
  "input.path",
  "input.dir",
  "input.picks",
  "input.windows",
  "input.stations",
  "import.source",
  "import.labels",
  // Which samples fail, not what a sample's values are.
  "preprocess.response.stageCheck",
]);

/**
 * The settings that made a dataset's values, for a checkpoint to tell a dataset re-extracted
 * with other settings (another `--scaling`, `--fmax`, pre-filter...) from the one it was
 * trained on: `scaling`, `components`, every field of `config` as `config.FIELD` (but where the
 * files were read from and written to, the workers and the limit), and the two axes as
 * `axes.freqs` and `axes.times` (`N from FIRST to LAST`). Not the creation time.
 *
 * @param meta The dataset's `meta.json`.
 * @param freqs Its frequency axis.
 * @param times Its time axis.
 * @returns each field's JSON value, by field name.
 * @example
 * ```ts
 * import { datasetSettings, type DatasetMeta } from "./dataset.ts";
 * const meta: DatasetMeta = {
 *   format: "seisdec-dataset",
 *   version: 1,
 *   shape: [1, 1, 2, 1],
 *   components: ["Z"],
 *   scaling: "db",
 *   config: { output: "/x", spectrogram: { fmax: 18 } },
 *   created: "2026-01-01T00:00:00Z",
 * };
 * const s = datasetSettings(meta, new Float64Array([1, 2]), new Float64Array([0]));
 * if (s["config.spectrogram.fmax"] !== "18" || "config.output" in s) throw new Error();
 * if (s["axes.freqs"] !== "2 from 1 to 2") throw new Error();
 * ```
 */
export function datasetSettings(
  meta: DatasetMeta,
  freqs: Float64Array,
  times: Float64Array,
): Record<string, string> {
  const out: Record<string, string> = {
    scaling: JSON.stringify(meta.scaling),
    components: JSON.stringify(meta.components),
  };
  const walk = (v: unknown, path: string) => {
    if (NOT_SETTINGS.has(path.slice(path.indexOf(".") + 1))) return;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      for (const [key, w] of Object.entries(v)) walk(w, `${path}.${key}`);
    } else out[path] = JSON.stringify(v ?? null);
  };
  walk(meta.config ?? {}, "config");
  const axis = (a: Float64Array) => a.length ? `${a.length} from ${a[0]} to ${a.at(-1)}` : "0";
  out["axes.freqs"] = axis(freqs);
  out["axes.times"] = axis(times);
  return out;
}

/** An open dataset. Call {@linkcode Dataset.close} when done. */
export class Dataset {
  /** Dataset directory. */
  readonly dir: string;
  /** Parsed `meta.json`. */
  readonly meta: DatasetMeta;
  /** Parsed `samples.csv`. */
  readonly samples: SampleInfo[];
  /** Number of samples N. */
  readonly count: number;
  /** `[C, F, T]`. */
  readonly sampleShape: [number, number, number];
  /** Frequencies, Hz, `[F]` (row indices 0, 1, ... where {@linkcode axesInBins}). */
  readonly freqs: Float64Array;
  /** Times relative to the reference time, s, `[T]` (column indices where {@linkcode axesInBins}). */
  readonly times: Float64Array;
  /**
   * True when `freqs` and `times` are bin indices, not Hz and seconds: a dataset made by
   * `import` from a bare array.
   */
  readonly axesInBins: boolean;
  /** {@linkcode datasetSettings}: the settings that made its values, by field. */
  readonly settings: Readonly<Record<string, string>>;
  #file: Deno.FsFile | null;
  #dataOffset: number;
  #sampleSize: number;
  /** Samples whose values were found finite (1) at a read. */
  #checked: Uint8Array;

  /** @internal Use {@linkcode openDataset}. */
  constructor(
    dir: string,
    meta: DatasetMeta,
    samples: SampleInfo[],
    freqs: Float64Array,
    times: Float64Array,
    file: Deno.FsFile,
    dataOffset: number,
  ) {
    this.dir = dir;
    this.meta = meta;
    this.samples = samples;
    this.count = meta.shape[0];
    this.sampleShape = [meta.shape[1], meta.shape[2], meta.shape[3]];
    this.freqs = freqs;
    this.times = times;
    this.axesInBins = axesInBins(meta);
    this.settings = datasetSettings(meta, freqs, times);
    this.#file = file;
    this.#dataOffset = dataOffset;
    this.#sampleSize = meta.shape[1] * meta.shape[2] * meta.shape[3];
    this.#checked = new Uint8Array(this.count);
  }

  /**
   * Labels of the samples, in order.
   *
   * @returns each sample's label, null when unknown.
   */
  labels(): (string | null)[] {
    return this.samples.map((s) => s.label);
  }

  /**
   * Reads samples by index.
   *
   * @param indices Sample indices in [0, N), in any order, repeats allowed.
   * @param normalize Per-sample normalisation (default `none`).
   * @returns `[B, C, F, T]` contiguous, in the order of `indices`.
   * @throws {RangeError} for an index out of range.
   */
  readBatch(indices: ArrayLike<number>, normalize: Normalize = "none"): Float32Array {
    if (!this.#file) throw new TypeError(`Cannot read ${this.dir}: the dataset is closed`);
    const ss = this.#sampleSize;
    const out = new Float32Array(indices.length * ss);
    const bytes = new Uint8Array(out.buffer);
    const sb = ss * 4;
    let b = 0;
    while (b < indices.length) {
      const idx = indices[b];
      if (!Number.isInteger(idx) || idx < 0 || idx >= this.count) {
        throw new RangeError(
          `Cannot read sample ${idx} of ${this.dir}: expected an index in [0, ${this.count})`,
        );
      }
      // Merge runs of consecutive indices into one read.
      let run = 1;
      while (b + run < indices.length && indices[b + run] === idx + run) run++;
      this.#file.seekSync(this.#dataOffset + idx * sb, Deno.SeekMode.Start);
      const dst = bytes.subarray(b * sb, (b + run) * sb);
      let off = 0;
      while (off < dst.length) {
        const n = this.#file.readSync(dst.subarray(off));
        if (n === null || n === 0) {
          throw new RangeError(`Cannot read sample ${idx} of ${this.dir}: file is truncated`);
        }
        off += n;
      }
      b += run;
    }
    // extract and import write finite values only: anything else was changed since, and would
    // turn the training loss into NaN far from its cause. Each sample is checked at its first
    // read in this process, not at every epoch's.
    for (let b = 0; b < indices.length; b++) {
      const idx = indices[b];
      if (this.#checked[idx]) continue;
      for (let i = b * ss; i < (b + 1) * ss; i++) {
        if (!Number.isFinite(out[i])) {
          throw new RangeError(
            `Cannot read sample ${this.samples[idx]?.id ?? idx} (index ${idx}) of ${this.dir}: ` +
              `element ${i - b * ss} is ${out[i]}: expected finite values`,
          );
        }
      }
      this.#checked[idx] = 1;
    }
    normalizeSamples(out, ss, normalize);
    return out;
  }

  /**
   * Reads every sample.
   *
   * @param normalize Per-sample normalisation (default `none`).
   * @returns `[N, C, F, T]`.
   */
  readAll(normalize: Normalize = "none"): Float32Array {
    const idx = new Uint32Array(this.count);
    for (let i = 0; i < idx.length; i++) idx[i] = i;
    return this.readBatch(idx, normalize);
  }

  /** Closes the spectrogram file. */
  close(): void {
    this.#file?.close();
    this.#file = null;
  }
}

/**
 * Refuses sample ids that are empty, hold white space or repeat: they key labels, events
 * (space-separated in events.csv) and every output's rows.
 *
 * @param ids The ids, in order.
 * @param where The start of the message, before the position: `... row` or `... sample`.
 * @param first The position of the first id (2 for a CSV's rows after its header).
 * @throws {TypeError} naming the position and the id.
 */
function checkSampleIds(ids: readonly (string | undefined)[], where: string, first = 0): void {
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    const at = `${where} ${i + first}`;
    if (!id || /\s/.test(id)) {
      throw new TypeError(
        `${at}: id '${id ?? ""}' is ${id ? "not one word (it contains white space)" : "empty"}: ` +
          `expected a unique id without white space`,
      );
    }
    if (seen.has(id)) throw new TypeError(`${at}: id '${id}' is listed twice`);
    seen.add(id);
  });
}

/**
 * The samples a `samples.csv` describes (its header's columns, as {@linkcode writeDataset}
 * writes them; `id` the only one required, the others empty or absent where unknown).
 *
 * @param records The file's rows by column name.
 * @param where The start of a message naming the file.
 * @returns one sample per row, in order.
 * @throws {TypeError} naming the row, for an empty, repeated or spaced id, a reference time
 *   that is no time, a latitude, longitude, elevation or S − P that is no number, or an S − P
 *   below 0; for a file without an id column.
 */
export function samplesOfRecords(
  records: readonly Record<string, string>[],
  where: string,
): SampleInfo[] {
  // Every row was said to have an empty id.
  if (records.length > 0 && !("id" in records[0])) {
    throw new TypeError(
      `${where} has no id column: expected a header line that names it, as ` +
        `${SAMPLES_HEADER.slice(0, 3).join(",")},...`,
    );
  }
  checkSampleIds(records.map((r) => r.id), `${where} row`, 2);
  // A time or coordinate that is no such value (hand-edited, or written by another program)
  // was read as unknown without a word: the sample fell out of the time figures, the events,
  // the station map and the solar hours.
  records.forEach((r, i) => {
    const at = `${where} row ${i + 2} (id ${r.id})`;
    const t = r.reference_time ?? "";
    try {
      // A year past 9999 is written as JavaScript's toISOString writes it (+010000-...).
      if (!(/^[+-]\d{6}-/.test(t) && Number.isFinite(Date.parse(t)))) parseUtc(t);
    } catch (e) {
      throw new TypeError(
        `${at}: reference_time: ${(e as Error).message} (or empty where unknown)`,
      );
    }
    for (const col of ["latitude", "longitude"]) {
      const v = r[col] ?? "";
      if (v !== "" && !Number.isFinite(Number(v))) {
        throw new TypeError(
          `${at}: ${col} '${v}' is not a number: expected degrees (WGS84), or empty where unknown`,
        );
      }
    }
    const elevation = r.elevation ?? "";
    if (elevation !== "" && !Number.isFinite(Number(elevation))) {
      throw new TypeError(
        `${at}: elevation '${elevation}' is not a number: expected metres above sea level, or ` +
          "empty where unknown",
      );
    }
    // Extract writes S - P to the millisecond: an S pick within 0.5 ms of the P is written as 0.
    const sMinusP = r.s_minus_p ?? "";
    if (sMinusP !== "" && !(Number.isFinite(Number(sMinusP)) && Number(sMinusP) >= 0)) {
      throw new TypeError(
        `${at}: s_minus_p '${sMinusP}' is ${
          Number(sMinusP) < 0 && Number.isFinite(Number(sMinusP)) ? "negative" : "not a number"
        }: expected the seconds from the P to the S arrival (0 or more), or empty where unknown`,
      );
    }
  });
  return records.map((r) => ({
    id: r.id,
    network: r.network ?? "",
    station: r.station ?? "",
    location: r.location ?? "",
    channel: r.channel ?? "",
    referenceTime: r.reference_time ?? "",
    label: (r.label ?? "") === "" ? null : r.label,
    ...(r.event ? { event: r.event } : {}),
    ...(r.latitude && r.longitude
      ? {
        latitude: Number(r.latitude),
        longitude: Number(r.longitude),
        elevation: r.elevation ? Number(r.elevation) : NaN,
      }
      : {}),
    ...(r.s_minus_p ? { sMinusP: Number(r.s_minus_p) } : {}),
  }));
}

/**
 * Opens a dataset directory.
 *
 * @param dir The directory.
 * @returns the dataset, with `spectrograms.npy` open for batched reads.
 * @throws {TypeError} when a file is missing or its shape disagrees with `meta.json`.
 * @example
 * ```ts
 * import { openDataset, writeDataset } from "./dataset.ts";
 * const root = await Deno.makeTempDir();
 * const dir = `${root}/ds`;
 * const s = { network: "XX", station: "A", location: "", channel: "HHZ", referenceTime: "" };
 * await writeDataset(
 *   dir,
 *   { shape: [2, 1, 2, 2], components: ["Z"], scaling: "psd", config: {} },
 *   [{ ...s, id: "a", label: "x" }, { ...s, id: "b", label: null }],
 *   new Float32Array([1, 2, 3, 4, 0, 0, 0, -2]),
 *   new Float64Array([1, 2]),
 *   new Float64Array([0, 1]),
 * );
 * const ds = await openDataset(dir);
 * const x = ds.readBatch([1], "maxabs");
 * if (x[3] !== -1 || ds.labels()[1] !== null) throw new Error();
 * ds.close();
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function openDataset(dir: string): Promise<Dataset> {
  const read = async (name: string) => {
    try {
      return await Deno.readTextFile(join(dir, name));
    } catch (e) {
      // A directory without meta.json is not a dataset (a synth or waveform directory given
      // where extract's output belongs): say so, and what makes one.
      if (name === "meta.json" && e instanceof Deno.errors.NotFound) {
        const isDir = (await Deno.stat(dir).catch(() => null))?.isDirectory;
        throw new TypeError(
          isDir
            ? `Cannot open dataset ${dir}: it holds no meta.json, so it is not a seisdec dataset: ` +
              `make one with extract (from waveforms) or import (from a .npy array)`
            : `Cannot open dataset ${dir}: no such directory${await movedAsideNote(dir)}`,
        );
      }
      throw new TypeError(
        `Cannot open dataset ${dir}: cannot read ${name}: ${readFailure(e)}`,
      );
    }
  };
  const meta = metaOf(await read("meta.json"), dir);
  if (meta.format !== "seisdec-dataset" || meta.version !== 1) {
    throw new TypeError(
      // JSON: a version written "1" (text) showed as 1, the number it expected.
      `Cannot open dataset ${dir}: expected format seisdec-dataset version 1: found ${meta.format} ${
        JSON.stringify(meta.version)
      }`,
    );
  }
  const samples = samplesOfRecords(
    parseCsvRecords(await read("samples.csv"), ",", { source: join(dir, "samples.csv") }),
    `Cannot open dataset ${dir}: samples.csv`,
  );
  // A file missing or not a file is named once, as samples.csv is (Deno's message names the
  // path again, and a plain Error came out of info as a stack trace).
  const unreadable = (name: string, e: unknown) =>
    e instanceof TypeError
      ? e
      : new TypeError(`Cannot open dataset ${dir}: cannot read ${name}: ${readFailure(e)}`);
  const npyOf = (name: string) =>
    readNpyFile(join(dir, name)).catch((e) => {
      throw unreadable(name, e);
    });
  const freqs = await npyOf("freqs.npy");
  const times = await npyOf("times.npy");
  // The axes give clusters.csv's peak frequencies and times, the figures' axes and info's.
  const axes = [
    ["freqs.npy", freqs.data, "frequencies (Hz)"],
    ["times.npy", times.data, "times (s from the reference time)"],
  ] as const;
  for (const [name, values, what] of axes) {
    const k = (values as Float64Array).findIndex((v) => !Number.isFinite(v));
    if (k >= 0) {
      throw new TypeError(
        `Cannot open dataset ${dir}: ${name} holds ${values[k]} at index ${k}: expected finite ` +
          what,
      );
    }
  }
  const path = join(dir, "spectrograms.npy");
  const why = await notRegularFile(path);
  if (why) throw unreadable("spectrograms.npy", new Error(why));
  const file = await Deno.open(path, { read: true }).catch((e) => {
    throw unreadable("spectrograms.npy", e);
  });
  const head = new Uint8Array(4096);
  const n = await file.read(head) ?? 0;
  let h: ReturnType<typeof readNpyHeader>;
  try {
    h = readNpyHeader(head.subarray(0, n));
  } catch (e) {
    file.close();
    throw new TypeError(`${(e as Error).message} (file ${path})`);
  }
  const [N, , F, T] = meta.shape;
  if (
    h.dtype !== "<f4" || h.fortranOrder || h.shape.join() !== meta.shape.join() ||
    samples.length !== N || freqs.shape[0] !== F || times.shape[0] !== T
  ) {
    file.close();
    throw new TypeError(
      `Cannot open dataset ${dir}: expected <f4 [${meta.shape}] in C order with ${N} samples, ` +
        `${F} freqs, ${T} times: found ${h.dtype} [${h.shape}]${
          h.fortranOrder ? " in Fortran order" : ""
        }, ${samples.length} samples, ${freqs.shape[0]} freqs, ${times.shape[0]} times${
          h.fortranOrder
            ? " (save it with numpy.save(path, numpy.ascontiguousarray(x)), or import it)"
            : ""
        }`,
    );
  }
  // A file cut short (a copy or a download that stopped) is named here, not at the first read
  // of a missing sample, deep in a run.
  const sampleBytes = 4 * meta.shape.slice(1).reduce((a, b) => a * b, 1);
  const have = (await file.stat()).size - h.dataOffset;
  if (have < N * sampleBytes) {
    file.close();
    throw new TypeError(
      `Cannot open dataset ${dir}: spectrograms.npy is truncated: it holds ${have} bytes of ` +
        `samples, [${meta.shape}] needs ${N * sampleBytes} (${
          Math.max(0, Math.floor(have / sampleBytes))
        } whole samples of ${N}): copy or extract it again`,
    );
  }
  return new Dataset(
    dir,
    meta,
    samples,
    Float64Array.from(freqs.data as Float64Array),
    Float64Array.from(times.data as Float64Array),
    file,
    h.dataOffset,
  );
}

/**
 * A dataset's meta.json, checked where the readers rely on it: a damaged or hand-edited file
 * is named (a shape written as `"20x1x87x67"` crashed `info` and `pretrain` deep inside).
 *
 * @throws {TypeError} "Cannot open dataset DIR: meta.json ..." naming what is wrong.
 */
function metaOf(text: string, dir: string): DatasetMeta {
  const bad = (why: string) =>
    new TypeError(`Cannot open dataset ${dir}: meta.json ${why} (damaged or edited?)`);
  const written = "expected the meta.json extract or import writes";
  let v: unknown;
  try {
    // A byte-order mark (a Windows editor's) is no part of the JSON, as in samples.csv.
    v = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (e) {
    throw bad(`is not JSON (${(e as Error).message}): ${written}`);
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw bad(`is not a JSON object: ${written}`);
  }
  const m = v as Record<string, unknown>;
  const shape = m.shape;
  if (
    !Array.isArray(shape) || shape.length !== 4 ||
    !shape.every((d) => Number.isInteger(d) && d >= 0)
  ) {
    throw bad(`has shape ${JSON.stringify(shape)}: expected [N, C, F, T], four whole numbers`);
  }
  if (
    !Array.isArray(m.components) || !m.components.every((c) => typeof c === "string") ||
    m.components.length !== shape[1]
  ) {
    throw bad(
      `has components ${JSON.stringify(m.components)}: expected ${shape[1]} names, one per ` +
        `channel of the shape`,
    );
  }
  // What the values are decides a model's default normalisation (defaultNormalize): another
  // word ("linear") was taken as none without a word.
  if (!DATASET_SCALINGS.includes(m.scaling as string)) {
    throw bad(`has scaling ${JSON.stringify(m.scaling)}: expected psd, log10, db or none`);
  }
  return m as unknown as DatasetMeta;
}

/**
 * Writes a whole dataset atomically.
 *
 * @param dir Destination directory.
 * @param meta Shape, components, scaling and config.
 * @param samples One entry per sample.
 * @param data `[N, C, F, T]` contiguous.
 * @param freqs `[F]`, Hz.
 * @param times `[T]`, s.
 * @param options `force` replaces an existing directory.
 */
export async function writeDataset(
  dir: string,
  meta: Omit<DatasetMeta, "format" | "version" | "created">,
  samples: SampleInfo[],
  data: Float32Array,
  freqs: Float64Array,
  times: Float64Array,
  options: { force?: boolean } = {},
): Promise<void> {
  const [N, C, F, T] = meta.shape;
  if (
    data.length !== N * C * F * T || samples.length !== N || freqs.length !== F ||
    times.length !== T
  ) {
    throw new TypeError(
      `Cannot write dataset ${dir}: shape [${meta.shape}] needs ${N} samples, ${F} freqs and ` +
        `${T} times: found ${samples.length}, ${freqs.length}, ${times.length} and ${data.length} values`,
    );
  }
  // A dataset openDataset would refuse is not written, nor one every reader would refuse.
  checkSampleIds(samples.map((x) => x.id), `Cannot write dataset ${dir}: sample`);
  if (!DATASET_SCALINGS.includes(meta.scaling)) {
    throw new TypeError(
      `Cannot write dataset ${dir}: scaling ${JSON.stringify(meta.scaling)}: expected psd, ` +
        "log10, db or none",
    );
  }
  const per = C * F * T;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      const n = Math.floor(i / per);
      throw new TypeError(
        `Cannot write dataset ${dir}: sample ${n} (${samples[n].id}) holds ${data[i]} at element ` +
          `${
            i - n * per
          }: expected finite values (the training and clustering commands refuse them)`,
      );
    }
  }
  if (options.force) await removeStrayProgress(dir);
  await writeDirAtomic(dir, async (tmp) => {
    await Deno.writeFile(join(tmp, "spectrograms.npy"), encodeNpy(data, [N, C, F, T]));
    await writeMetaFiles(tmp, meta, samples, freqs, times);
  }, { ...options, marker: "meta.json" });
}

async function writeMetaFiles(
  dir: string,
  meta: Omit<DatasetMeta, "format" | "version" | "created">,
  samples: readonly SampleInfo[] | null,
  freqs: Float64Array,
  times: Float64Array,
): Promise<void> {
  const full: DatasetMeta = {
    format: "seisdec-dataset",
    version: 1,
    shape: meta.shape,
    components: meta.components,
    scaling: meta.scaling,
    config: meta.config,
    created: new Date().toISOString(),
    software: meta.software ?? plainSoftware(null),
  };
  if (samples) await Deno.writeTextFile(join(dir, "samples.csv"), samplesCsv(samples));
  await Deno.writeFile(join(dir, "freqs.npy"), encodeNpy(freqs, [freqs.length]));
  await Deno.writeFile(join(dir, "times.npy"), encodeNpy(times, [times.length]));
  await Deno.writeTextFile(join(dir, "meta.json"), JSON.stringify(full, null, 2) + "\n");
}

/** Options of {@linkcode DatasetWriter.create}. */
export interface DatasetWriterOptions {
  /** Replace an existing dataset directory (and start over an unfinished resumable one). */
  force?: boolean;
  /**
   * Write resumably: the unfinished dataset lives in `.NAME.partial` beside the destination,
   * survives an interruption, and {@linkcode DatasetWriter.checkpoint} records how far it got.
   * `key` identifies the work (a resumed run must bring the same key); `resume` continues an
   * unfinished dataset of the same key (without one it starts afresh). `changed`: what a
   * refused resume says of a key field whose values mean nothing to the user (a hash), in
   * place of its values then and now.
   */
  resumable?: { key: Record<string, unknown>; resume: boolean; changed?: Record<string, string> };
}

/** `progress.json` of an unfinished resumable dataset. */
interface Progress {
  format: "seisdec-partial-dataset";
  version: 1;
  /** What the dataset is made from (the writer's `key`). */
  key: Record<string, unknown>;
  /** Samples in spectrograms.npy at the checkpoint. */
  count: number;
  /** Bytes of samples.csv at the checkpoint. */
  samplesBytes: number;
  /** The caller's state at the checkpoint. */
  state: unknown;
  /** Process writing it. */
  pid: number;
  /** ISO 8601 time of the checkpoint. */
  updated: string;
}

const PROGRESS = "progress.json";

/**
 * An unfinished dataset's checkpoint, or null where there is none or it cannot be used: a
 * damaged progress.json (cut short by a full disk, say, or edited) is no resumable work, so a
 * fresh run replaces the directory (before, it crashed every later `extract --out` to the same
 * place, --force included).
 *
 * @param tmp The unfinished dataset's directory.
 * @param note Print a note naming a damaged file.
 */
async function readProgress(tmp: string, note: boolean): Promise<Progress | null> {
  const path = join(tmp, PROGRESS);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return null;
  }
  let why: string | null = null;
  let p: Partial<Progress> | null = null;
  try {
    p = JSON.parse(text);
  } catch (e) {
    why = `it is not JSON (${(e as Error).message})`;
  }
  const whole = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  if (
    why === null &&
    (p === null || typeof p !== "object" || p.format !== "seisdec-partial-dataset" ||
      p.version !== 1 || !whole(p.count) || !whole(p.samplesBytes) || !whole(p.pid) ||
      p.key === null || typeof p.key !== "object" || !("state" in p))
  ) {
    why = "it is not a checkpoint as extract writes it";
  }
  if (why === null) return p as Progress;
  if (note) {
    console.error(
      `note: ignoring ${path}: ${why}: no resumable work there; the unfinished dataset is ` +
        `started afresh`,
    );
  }
  return null;
}

/**
 * Removes the checkpoint that an extraction killed between putting its finished dataset in
 * place and removing its `progress.json` left in `dir` (the dataset is whole): unlisted, it
 * would keep `--force` from replacing the dataset, as a file seisdec did not write there.
 *
 * @param dir A dataset directory about to be replaced.
 */
export async function removeStrayProgress(dir: string): Promise<void> {
  const prog = await readProgress(dir, false);
  const meta = await Deno.stat(join(dir, "meta.json")).catch(() => null);
  if (!prog || prog.pid === Deno.pid || !meta?.isFile) return;
  const wrote = Date.parse(prog.updated);
  if (processAlive(prog.pid, Number.isFinite(wrote) ? wrote : undefined) !== false) return;
  await Deno.remove(join(dir, PROGRESS));
  console.error(
    `note: removed ${join(dir, PROGRESS)}, left by an extraction killed as it finished (its ` +
      "dataset is whole)",
  );
}

/**
 * The dotted paths at which two JSON values differ, e.g. `["spectrogram.fmax"]`.
 *
 * @param a One value.
 * @param b The other.
 * @param at Path prefix.
 * @returns the differing paths (the whole value's `at` when they differ at the top).
 */
export function differingPaths(a: unknown, b: unknown, at = ""): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => differingPaths(a[k], b[k], at ? `${at}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [at || "(value)"];
}

/**
 * The value at a path of {@linkcode differingPaths} (`a.b.c`, or `(value)` for the whole), as
 * JSON cut to 60 characters, `(none)` where absent.
 */
function shownAt(v: unknown, path: string): string {
  const x = path === "(value)" ? v : path.split(".").reduce<unknown>(
    (o, k) => (typeof o === "object" && o !== null ? (o as Record<string, unknown>)[k] : undefined),
    v,
  );
  const t = x === undefined ? "(none)" : JSON.stringify(x);
  return t.length > 60 ? `${t.slice(0, 57)}...` : t;
}

/**
 * Streams a dataset to disk sample by sample (used by `extract`). It writes into
 * a temporary directory, which {@linkcode DatasetWriter.commit} renames into
 * place; {@linkcode DatasetWriter.abort} removes it. A resumable writer (option
 * `resumable`) writes into `.NAME.partial` instead, which an interruption or an
 * error keeps once it has a checkpoint, and which a later writer with `resume`
 * continues from its last {@linkcode DatasetWriter.checkpoint}.
 */
export class DatasetWriter {
  #dir: string;
  #tmp: string;
  #replace: boolean;
  #sampleShape: [number, number, number];
  #npy: NpyWriter;
  #samplesFile: Deno.FsFile;
  #samplesBytes: number;
  #count: number;
  #resumable: Record<string, unknown> | null;
  #resumed: unknown;
  #checkpointed = 0;
  #checkpointedState: unknown = null;
  #closed = false;
  #chain: Promise<void> = Promise.resolve();

  private constructor(o: {
    dir: string;
    tmp: string;
    replace: boolean;
    sampleShape: [number, number, number];
    npy: NpyWriter;
    samplesFile: Deno.FsFile;
    samplesBytes: number;
    key: Record<string, unknown> | null;
    resumed: unknown;
  }) {
    this.#dir = o.dir;
    this.#tmp = o.tmp;
    this.#replace = o.replace;
    this.#sampleShape = o.sampleShape;
    this.#npy = o.npy;
    this.#samplesFile = o.samplesFile;
    this.#samplesBytes = o.samplesBytes;
    this.#count = o.npy.count;
    this.#checkpointed = o.npy.count;
    // A resumed dataset's last checkpoint is the one it resumes from.
    this.#checkpointedState = o.resumed;
    this.#resumable = o.key;
    this.#resumed = o.resumed;
  }

  /**
   * Starts a dataset, or continues an unfinished resumable one. Fails at once when `dir`
   * exists and `force` is not set.
   *
   * @param dir Destination directory.
   * @param sampleShape `[C, F, T]`.
   * @param options `force` replaces an existing directory; `resumable` writes resumably.
   * @returns the writer; {@linkcode DatasetWriter.resumedState} holds the state of the
   *   checkpoint it continues from (null when it starts afresh).
   * @throws {Deno.errors.AlreadyExists} when `dir` exists without `force`.
   * @throws {UserError} when an unfinished dataset is in the way (without `resume` or `force`),
   *   was made from another key, or is being written by another live process.
   */
  static async create(
    dir: string,
    sampleShape: [number, number, number],
    options: DatasetWriterOptions = {},
  ): Promise<DatasetWriter> {
    if (options.force) await removeStrayProgress(dir);
    const replace = await checkOutputTarget(dir, { force: options.force, marker: "meta.json" });
    const r = options.resumable;
    if (!r) {
      const tmp = liveTemporary(dir);
      try {
        // Synchronously, in the turn that registered it (see writeFileAtomic).
        Deno.mkdirSync(tmp);
        return await DatasetWriter.#fresh(dir, tmp, replace, sampleShape, null);
      } catch (e) {
        await Deno.remove(tmp, { recursive: true }).catch(() => {});
        releaseTemporary(tmp);
        throw writeFailure(dir, e);
      }
    }
    const tmp = partialPath(dir);
    const prog = await readProgress(tmp, true);
    // The writer ran at its last checkpoint: a process with its pid that started later (the
    // pid reused after a reboot) is another one.
    const wrote = prog ? Date.parse(prog.updated) : NaN;
    if (
      prog && prog.pid !== Deno.pid &&
      processAlive(prog.pid, Number.isFinite(wrote) ? wrote : undefined) === true
    ) {
      throw new UserError(
        `Cannot write dataset ${dir}: process ${prog.pid} is writing it (${tmp}); wait for it ` +
          `or stop it first`,
      );
    }
    let w: DatasetWriter | undefined;
    // What an interruption does with the unfinished dataset: keeps it where a checkpoint (its
    // own, or the one it resumed from) holds work, else removes it. Registered before anything
    // is written, so that no moment leaves it behind unregistered.
    const note = () =>
      w && (w.#checkpointed > 0 || w.#checkpointedState !== null)
        ? `kept ${tmp}: ${w.#checkpointed} samples written at the last checkpoint; run the same ` +
          `command with --resume to continue`
        : null;
    const hasWork = prog !== null && (prog.count > 0 || prog.state !== null);
    if (r.resume && !hasWork) {
      console.error(
        `note: --resume found no unfinished work for ${dir} (${tmp}): starting from the first sample`,
      );
    }
    if (hasWork && !r.resume && !options.force) {
      throw new UserError(
        `Cannot write dataset ${dir}: an interrupted run left ${tmp} with ${prog.count} ` +
          `samples: pass --resume to continue it, or --force to start over`,
      );
    }
    // Without work (a run killed before its first sample) there is nothing to keep: it starts
    // over, as the note says, whatever its key (it was refused as made with other settings).
    if (prog && hasWork && r.resume) {
      const diff = differingPaths(prog.key, r.key);
      if (diff.length) {
        // Each setting with its value then → now (long values cut short), or what changed in
        // words where the values are hashes.
        const said = (d: string) =>
          Object.hasOwn(r.changed ?? {}, d)
            ? r.changed![d]
            : `${shownAt(prog.key, d)} → ${shownAt(r.key, d)}`;
        throw new UserError(
          `Cannot resume dataset ${dir}: ${tmp} was made with other settings (${
            diff.map((d) => `${d}: ${said(d)}`).join(", ")
          }): resume with the same settings, or pass --force instead of --resume to start over`,
        );
      }
      const samplesPath = join(tmp, "samples.csv");
      // Rows are appended to the file as it is: its columns must be this version's.
      const head = await firstLine(samplesPath);
      if (head !== SAMPLES_HEADER.join(",")) {
        throw new UserError(
          `Cannot resume dataset ${dir}: ${samplesPath} has the columns ${head}, written by ` +
            `another version of seisdec, not ${SAMPLES_HEADER.join(",")}: pass --force ` +
            `instead of --resume to start over`,
        );
      }
      const npy = NpyWriter.resume(join(tmp, "spectrograms.npy"), "<f4", sampleShape, prog.count);
      const samplesFile = await Deno.open(samplesPath, { read: true, write: true });
      // Shorter than the checkpoint says (damaged since): truncate would pad it with zeros.
      const size = (await samplesFile.stat()).size;
      if (size < prog.samplesBytes) {
        samplesFile.close();
        npy.close();
        throw new UserError(
          `Cannot resume ${samplesPath}: expected at least ${prog.samplesBytes} bytes ` +
            `(${prog.count} samples): found ${size} bytes: pass --force instead of --resume to ` +
            `start over`,
        );
      }
      await samplesFile.truncate(prog.samplesBytes);
      await samplesFile.seek(prog.samplesBytes, Deno.SeekMode.Start);
      w = new DatasetWriter({
        dir,
        tmp,
        replace,
        sampleShape,
        npy,
        samplesFile,
        samplesBytes: prog.samplesBytes,
        key: r.key,
        resumed: prog.state,
      });
      keepOnInterrupt(tmp, note);
    } else {
      keepOnInterrupt(tmp, note);
      if (hasWork) {
        // --force without --resume: the interrupted run's work goes, which is said.
        console.error(
          `note: --force starts over: removing ${tmp}, an interrupted run's ${prog.count} ` +
            `samples (--resume would have continued it)`,
        );
      }
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      await Deno.mkdir(tmp).catch((e) => {
        throw writeFailure(dir, e);
      });
      w = await DatasetWriter.#fresh(dir, tmp, replace, sampleShape, r.key);
    }
    // The first checkpoint marks the directory as this process's at once.
    await w.checkpoint(w.#resumed);
    return w;
  }

  static async #fresh(
    dir: string,
    tmp: string,
    replace: boolean,
    sampleShape: [number, number, number],
    key: Record<string, unknown> | null,
  ): Promise<DatasetWriter> {
    const npy = NpyWriter.open(join(tmp, "spectrograms.npy"), "<f4", sampleShape);
    const samplesFile = await Deno.open(join(tmp, "samples.csv"), {
      write: true,
      create: true,
      truncate: true,
    });
    const w = new DatasetWriter({
      dir,
      tmp,
      replace,
      sampleShape,
      npy,
      samplesFile,
      samplesBytes: 0,
      key,
      resumed: null,
    });
    w.#writeCsv([SAMPLES_HEADER]);
    return w;
  }

  /** Directory the files go to until commit (extra files may be added). */
  get tmpDir(): string {
    return this.#tmp;
  }

  /** Number of samples written so far (those resumed included). */
  get count(): number {
    return this.#count;
  }

  /** The state of the checkpoint a resumed writer continues from; null when it started afresh. */
  get resumedState(): unknown {
    return this.#resumed;
  }

  /** Samples on the disk at the last finished checkpoint. */
  get checkpointed(): number {
    return this.#checkpointed;
  }

  /** The caller's state at the last finished checkpoint (null before any). */
  get checkpointedState(): unknown {
    return this.#checkpointedState;
  }

  /**
   * Appends one sample.
   *
   * @param info Its identity.
   * @param data `[C, F, T]`.
   */
  append(info: SampleInfo, data: Float32Array): void {
    try {
      this.#npy.append(data);
      this.#writeCsv([samplesFields(info)]);
    } catch (e) {
      throw writeFailure(this.#dir, e);
    }
    this.#count++;
  }

  /** Appends rows to samples.csv. */
  #writeCsv(rows: readonly (readonly string[])[]): void {
    const bytes = new TextEncoder().encode(formatCsv(rows));
    let off = 0;
    while (off < bytes.length) off += this.#samplesFile.writeSync(bytes.subarray(off));
    this.#samplesBytes += bytes.length;
  }

  /**
   * Records, for a resumable writer, that the samples appended so far are on the disk and
   * what the caller's `state` is at this point (JSON); a resumed writer continues from the
   * last checkpoint. The counts are taken when it is called; the writes run in call order.
   * A non-resumable writer ignores it.
   *
   * @param state The caller's progress (e.g. the next task and the failures so far).
   * @returns when the checkpoint is on the disk.
   */
  checkpoint(state: unknown): Promise<void> {
    if (!this.#resumable) return Promise.resolve();
    // The counts are taken now, with the caller's state; the writes follow in order.
    const prog: Progress = {
      format: "seisdec-partial-dataset",
      version: 1,
      key: this.#resumable,
      count: this.#count,
      samplesBytes: this.#samplesBytes,
      state,
      pid: Deno.pid,
      updated: new Date().toISOString(),
    };
    this.#chain = this.#chain.then(async () => {
      this.#npy.sync();
      await this.#samplesFile.syncData();
      await writeFileAtomic(join(this.#tmp, PROGRESS), JSON.stringify(prog) + "\n");
      this.#checkpointed = prog.count;
      this.#checkpointedState = prog.state;
    }).catch((e) => {
      throw writeFailure(this.#dir, e);
    });
    return this.#chain;
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#npy.close();
    this.#samplesFile.close();
  }

  /**
   * Writes the metadata files and renames the directory into place.
   *
   * @param meta Components, scaling and config.
   * @param freqs `[F]`, Hz.
   * @param times `[T]`, s.
   */
  async commit(
    meta: Omit<DatasetMeta, "format" | "version" | "created" | "shape">,
    freqs: Float64Array,
    times: Float64Array,
  ): Promise<void> {
    await this.#chain;
    this.#close();
    const [C, F, T] = this.#sampleShape;
    await writeMetaFiles(this.#tmp, { ...meta, shape: [this.#count, C, F, T] }, null, freqs, times)
      .catch((e) => {
        throw writeFailure(this.#dir, e);
      });
    // Every write of this run is done: a temporary left here is a killed run's.
    for await (const e of Deno.readDir(this.#tmp)) {
      if (e.name.startsWith(".") && e.name.endsWith(".tmp")) {
        await Deno.remove(join(this.#tmp, e.name), { recursive: true }).catch(() => {});
      }
    }
    // progress.json goes after the rename: not listed, so --force would never take a file of
    // that name that the user put there later.
    await writeOutputListing(this.#tmp, "meta.json", [PROGRESS]).catch((e) => {
      throw writeFailure(this.#dir, e);
    });
    // progress.json goes only once the dataset is in place: a run killed before the rename
    // leaves a partial whose checkpoint --resume takes up (without it, a finished partial read
    // as holding nothing and --resume extracted everything again); one killed after it leaves a
    // finished dataset with a stray progress.json, which nothing reads and the next --force
    // removes (removeStrayProgress).
    await moveIntoPlace(this.#tmp, this.#dir, this.#replace);
    await Deno.remove(join(this.#dir, PROGRESS)).catch(() => {});
    this.#release();
  }

  #release(): void {
    releaseTemporary(this.#tmp);
    keepOnInterrupt(this.#tmp, null);
  }

  /**
   * Stops writing. A resumable writer keeps its directory when a checkpoint holds any work
   * (a later run can resume it); otherwise the directory is removed.
   *
   * @returns whether the unfinished directory was kept.
   */
  async abort(): Promise<boolean> {
    await this.#chain.catch(() => {});
    try {
      this.#close();
    } catch { /* already closed */ }
    const prog = this.#resumable ? await readProgress(this.#tmp, false) : null;
    const keep = prog !== null && (prog.count > 0 || prog.state !== null);
    if (!keep) await Deno.remove(this.#tmp, { recursive: true }).catch(() => {});
    this.#release();
    return keep;
  }
}

/**
 * Where a resumable dataset lives until it is finished: `.NAME.partial` beside it.
 *
 * @param dir The dataset's destination.
 * @returns the unfinished dataset's directory.
 */
export function partialPath(dir: string): string {
  return join(dirname(dir), `.${basename(dir)}.partial`);
}
