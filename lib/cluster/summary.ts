/**
 * What each cluster looks like, in the terms a seismologist checks a
 * clustering by: its mean spectrogram and mean spectrum (with the peak
 * frequency), how sure the model is of its members, which stations and which
 * span of time they come from, and when in the day they occur (quarry blasts
 * keep working hours, earthquakes do not; cultural noise follows the day).
 *
 * {@linkcode clusterProfiles} computes the figures in one streamed pass over
 * the dataset; {@linkcode profilesCsv} and the `*Png` functions turn them into
 * `cluster` command outputs.
 *
 * @module
 */
import type { DatasetLike, Normalize } from "./data.ts";
import {
  type FigureFormat,
  heatmap,
  imageGrid,
  lineChart,
  scatterChart,
  stationChart,
  type StationMark,
  type TileAxis,
} from "../plot/mod.ts";
import { csvField } from "../io/csv.ts";
import { normalizeSamples } from "../io/dataset.ts";
import { median } from "../util/median.ts";

/** A dataset with the optional metadata {@linkcode clusterProfiles} uses when present. */
export interface ProfileDataset extends DatasetLike {
  /** Frequencies of the spectrogram rows, Hz, `[F]`. */
  readonly freqs?: Float64Array;
  /** Times of the spectrogram columns relative to the reference time, s, `[T]`. */
  readonly times?: Float64Array;
  /**
   * True when `freqs` and `times` are bin indices, not Hz and s (a dataset from `import`): the
   * profiles then give rows and columns, as without `freqs` and `times`.
   */
  readonly axesInBins?: boolean;
  /** Per-sample metadata; `referenceTime` (ISO 8601) and `network`/`station` when known. */
  readonly samples?: readonly (MemberSample & { sMinusP?: number })[];
}

/** One cluster's profile. */
export interface ClusterProfile {
  /** Cluster index. */
  cluster: number;
  /** Members. */
  size: number;
  /** Mean over members of the largest soft assignment max_j q_ij; null without q or members. */
  meanConfidence: number | null;
  /**
   * Mean over members of the largest q less the second largest: how clearly a member's cluster
   * wins (0: a tie with another cluster, 1: certain), which the largest q alone does not say
   * (its floor is 1/k); null without q or members.
   */
  meanMargin: number | null;
  /** Mean of the members' normalised spectrograms, `[C, F, T]`; NaN where the cluster is empty. */
  meanSpectrogram: Float64Array;
  /** {@linkcode meanSpectrogram} averaged over components and time, `[F]`. */
  meanSpectrum: Float64Array;
  /**
   * Where the cluster's signal stands out, Hz (a row index without `freqs`); null when empty.
   * With a physical scaling and a window holding times before and after the reference time: the
   * frequency of the largest {@linkcode snrSpectrum}; with one but no such window, of the
   * largest {@linkcode levelSpectrum}; otherwise of the largest value of the normalised mean
   * spectrogram (averaged over components).
   */
  peakFrequency: number | null;
  /**
   * When, s from the reference time (a column index without `times`): with a physical scaling,
   * the time of the highest mean level after the reference at {@linkcode peakFrequency} (without
   * a noise window, of the highest mean level over all frequencies); otherwise the time of the
   * normalised mean spectrogram's largest value.
   */
  peakTime: number | null;
  /**
   * Mean absolute level per frequency, dB (the members' values in dB, `10·log10` of a PSD,
   * `10×` a log10 PSD, averaged over members, components and times); null without a physical
   * scaling (`ProfileOptions.scaling`) or members. Unlike {@linkcode meanSpectrum} it is not
   * normalised per sample, so a loud cluster lies above a quiet one.
   */
  levelSpectrum: Float64Array | null;
  /**
   * Per frequency, the highest mean level after the reference time (t ≥ 0) less the mean level
   * before it (t < 0), dB: the signal-to-noise ratio of the cluster's mean; null where the window
   * holds no times on one side, or as {@linkcode levelSpectrum}.
   */
  snrSpectrum: Float64Array | null;
  /** The largest value of {@linkcode snrSpectrum}, dB; null without it. */
  peakSnr: number | null;
  /** Earliest member reference time (ISO 8601), null when no member has a valid one. */
  firstTime: string | null;
  /** Latest member reference time (ISO 8601), null when no member has a valid one. */
  lastTime: string | null;
  /** Distinct `NET.STA` among members with a station code. */
  stations: number;
  /**
   * Records per hour of the day, 24 bins, in UTC shifted by the `utcOffset` option: an event
   * (samples.csv's `event`) once however many of its traces the cluster holds, a sample without
   * one once.
   */
  hours: number[];
  /** Whether {@linkcode ClusterProfile.hours} counts events (some samples name one). */
  hoursByEvent: boolean;
  /**
   * Median S − P of the members that have one (samples.csv's `s_minus_p`), s: how far the
   * cluster's sources are from the stations (about 8 s per 100 km); null when none has one.
   */
  medianSMinusP: number | null;
}

/**
 * How hours of the day are told: hours added to UTC (a time zone's offset, in [-12, 14]), or
 * `solar`, each sample's local mean solar time at its station (UTC plus the station's longitude
 * / 15 h), for a network that spans time zones.
 */
export type HourClock = number | "solar";

/**
 * The clock's name for titles and headers: `UTC`, `UTC+2`, `UTC-5.5` or `local mean solar time`.
 *
 * @param clock The clock.
 * @returns its name.
 */
export function clockName(clock: HourClock): string {
  if (clock === "solar") return "local mean solar time";
  return clock === 0 ? "UTC" : `UTC${clock > 0 ? "+" : "-"}${Math.abs(clock)}`;
}

/** Options of {@linkcode clusterProfiles}. */
export interface ProfileOptions {
  /**
   * The clock of the hour-of-day bins: hours added to UTC (local time), in [-12, 14], or
   * `solar` (each sample's station longitude / 15 h; a sample without a longitude is left out
   * of the bins). Default 0.
   */
  utcOffset?: HourClock;
  /**
   * What the dataset's values are (`meta.json`'s `scaling`): with `psd`, `log10` or `db` the
   * profiles also give absolute levels in dB ({@linkcode ClusterProfile.levelSpectrum}) and
   * the peak frequency from the signal-to-noise ratio; otherwise (`none`, an imported array)
   * the peaks are those of the normalised mean spectrogram.
   */
  scaling?: string;
  /** Samples read per batch. Default 256. */
  batch?: number;
  /** Called after every batch with the samples it read (a progress bar's tick). */
  onBatch?: (done: number) => void;
}

/**
 * Profiles every cluster in one streamed pass over the dataset.
 *
 * @param ds The dataset the labels belong to.
 * @param labels Cluster of each sample, in [0, k).
 * @param k Number of clusters.
 * @param q Soft assignments `[N, k]`, or null (k-means on raw spectrograms).
 * @param normalize Per-sample normalisation to average under (the one the model saw).
 * @param opts Hour-of-day offset and batch size.
 * @returns one profile per cluster, in cluster order.
 * @throws {RangeError} for a label outside [0, k), mismatched lengths or a bad offset.
 * @example
 * ```ts
 * import { MemoryDataset } from "./data.ts";
 * import { clusterProfiles } from "./summary.ts";
 * // Two 2×1 "spectrograms" per cluster: cluster 0 peaks in row 0, cluster 1 in row 1.
 * const ds = new MemoryDataset(new Float32Array([1, 0, 3, 1, 0, 1, 1, 2]), [1, 2, 1]);
 * const p = clusterProfiles(ds, new Int32Array([0, 0, 1, 1]), 2, null, "none");
 * if (p[0].peakFrequency !== 0 || p[1].peakFrequency !== 1 || p[1].meanSpectrum[1] !== 1.5) {
 *   throw new Error();
 * }
 * ```
 */
export function clusterProfiles(
  ds: ProfileDataset,
  labels: Int32Array,
  k: number,
  q: Float32Array | null,
  normalize: Normalize,
  opts: ProfileOptions = {},
): ClusterProfile[] {
  const n = ds.count;
  const [C, F, T] = ds.sampleShape;
  const per = C * F * T;
  const utcOffset = opts.utcOffset ?? 0;
  const batch = Math.max(1, opts.batch ?? 256);
  if (labels.length !== n) {
    throw new RangeError(
      `Cannot profile clusters: expected ${n} labels, one per sample: found ${labels.length}`,
    );
  }
  if (q && q.length !== n * k) {
    throw new RangeError(
      `Cannot profile clusters: expected q of ${n}×${k} values: found ${q.length}`,
    );
  }
  if (
    utcOffset !== "solar" && !(Number.isFinite(utcOffset) && utcOffset >= -12 && utcOffset <= 14)
  ) {
    throw new RangeError(
      `Cannot profile clusters: the UTC offset must be in [-12, 14] hours: found ${utcOffset}`,
    );
  }
  const sums = Array.from({ length: k }, () => new Float64Array(per));
  // Absolute levels in dB, where the values are a PSD: summed per component, frequency and time.
  const toDb = dbOf(opts.scaling);
  const dbSums = toDb ? Array.from({ length: k }, () => new Float64Array(per)) : null;
  const size = new Array<number>(k).fill(0);
  const conf = new Array<number>(k).fill(0);
  const margin = new Array<number>(k).fill(0);
  const first = new Array<number>(k).fill(Infinity);
  const last = new Array<number>(k).fill(-Infinity);
  const stations = Array.from({ length: k }, () => new Set<string>());
  const hours = Array.from({ length: k }, () => new Array<number>(24).fill(0));
  const sMinusP = Array.from({ length: k }, () => [] as number[]);
  const counted = new Set<string>();
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0 || c >= k) {
      throw new RangeError(
        `Cannot profile clusters: sample ${i} has label ${c}: expected an integer in [0, ${k})`,
      );
    }
    size[c]++;
    if (q) {
      const [m, second] = topTwo(q, i, k);
      conf[c] += m;
      margin[c] += m - second;
    }
    const s = ds.samples?.[i];
    if (s?.station) stations[c].add(`${s.network ?? ""}.${s.station}`);
    if (s?.sMinusP !== undefined && Number.isFinite(s.sMinusP)) sMinusP[c].push(s.sMinusP);
    const t = s?.referenceTime ? Date.parse(s.referenceTime) : NaN;
    if (Number.isFinite(t)) {
      first[c] = Math.min(first[c], t);
      last[c] = Math.max(last[c], t);
      // An event counts once per cluster, not once per trace: an ESEC event's dozen channels
      // would otherwise make one event a busy hour.
      const key = s?.event ? `${c} ${s.event}` : null;
      // Local mean solar time: the station's longitude, 15° an hour east of Greenwich.
      const offset = utcOffset === "solar"
        ? (Number.isFinite(s?.longitude) ? s!.longitude! / 15 : NaN)
        : utcOffset;
      if (Number.isFinite(offset) && (key === null || !counted.has(key))) {
        if (key !== null) counted.add(key);
        const h = Math.floor((((t / 3.6e6 + offset) % 24) + 24) % 24);
        hours[c][h]++;
      }
    }
  }
  const idx: number[] = [];
  for (let b0 = 0; b0 < n; b0 += batch) {
    idx.length = 0;
    for (let i = b0; i < Math.min(n, b0 + batch); i++) idx.push(i);
    // One read: the levels from the values as stored, then the same values normalised in place
    // (as readBatch(idx, normalize) would return them).
    const x = ds.readBatch(idx, "none");
    if (toDb && dbSums) {
      idx.forEach((i, r) => {
        const acc = dbSums[labels[i]];
        const off = r * per;
        for (let e = 0; e < per; e++) acc[e] += toDb(x[off + e]);
      });
    }
    normalizeSamples(x, per, normalize);
    idx.forEach((i, r) => {
      const acc = sums[labels[i]];
      const off = r * per;
      for (let e = 0; e < per; e++) acc[e] += x[off + e];
    });
    opts.onBatch?.(idx.length);
  }
  return sums.map((acc, c) => {
    const m = size[c];
    for (let e = 0; e < per; e++) acc[e] = m > 0 ? acc[e] / m : NaN;
    const spectrum = new Float64Array(F);
    for (let f = 0; f < F; f++) {
      let s = 0;
      for (let ch = 0; ch < C; ch++) {
        for (let t = 0; t < T; t++) s += acc[(ch * F + f) * T + t];
      }
      spectrum[f] = s / (C * T);
    }
    let peakF: number | null = null, peakT: number | null = null;
    const levels = dbSums && m > 0 ? dbLevels(dbSums[c], m, [C, F, T], ds) : null;
    if (levels) {
      // Where the signal stands out most above the noise before the reference time, and when
      // it peaks there; without a noise window, the loudest frequency and time.
      const f = argmax(levels.snr ?? levels.spectrum);
      peakF = axisValue(ds.freqs, ds.axesInBins, f);
      peakT = axisValue(ds.times, ds.axesInBins, levels.snrTime?.[f] ?? argmax(levels.overTime));
    } else if (m > 0) {
      let best = -Infinity, bf = 0, bt = 0;
      for (let f = 0; f < F; f++) {
        for (let t = 0; t < T; t++) {
          let v = 0;
          for (let ch = 0; ch < C; ch++) v += acc[(ch * F + f) * T + t];
          if (v > best) [best, bf, bt] = [v, f, t];
        }
      }
      peakF = ds.freqs && !ds.axesInBins ? ds.freqs[bf] : bf;
      peakT = ds.times && !ds.axesInBins ? ds.times[bt] : bt;
    }
    return {
      cluster: c,
      size: m,
      meanConfidence: q && m > 0 ? conf[c] / m : null,
      meanMargin: q && m > 0 ? margin[c] / m : null,
      meanSpectrogram: acc,
      meanSpectrum: spectrum,
      peakFrequency: peakF,
      peakTime: peakT,
      levelSpectrum: levels?.spectrum ?? null,
      snrSpectrum: levels?.snr ?? null,
      peakSnr: levels?.snr ? Math.max(...levels.snr) : null,
      firstTime: Number.isFinite(first[c]) ? new Date(first[c]).toISOString() : null,
      lastTime: Number.isFinite(last[c]) ? new Date(last[c]).toISOString() : null,
      stations: stations[c].size,
      hours: hours[c],
      hoursByEvent: counted.size > 0,
      medianSMinusP: sMinusP[c].length ? median(sMinusP[c]) : null,
    };
  });
}

/**
 * A value in dB of a dataset's scaling, or null where the values are no PSD (an imported
 * array): a PSD as `10·log10` (floored at 1e-30), a log10 PSD times 10, dB as they are.
 */
function dbOf(scaling: string | undefined): ((v: number) => number) | null {
  if (scaling === "db") return (v) => v;
  if (scaling === "log10") return (v) => 10 * v;
  if (scaling === "psd") return (v) => 10 * Math.log10(Math.max(v, 1e-30));
  return null;
}

/** Index of the largest value (the first of ties). */
function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

/** An axis' value at an index: Hz or s, or the index itself for bins or no axis. */
function axisValue(axis: Float64Array | undefined, inBins: boolean | undefined, i: number): number {
  return axis && !inBins ? axis[i] : i;
}

/**
 * A cluster's mean levels from its summed dB values `[C, F, T]` over `m` members: per frequency
 * (over components and times), per time (over components and frequencies), and, where the
 * window has times on both sides of the reference, per frequency the highest mean level after
 * it less the mean level before it (`snr`, with the time of that highest level in `snrTime`).
 */
function dbLevels(
  sum: Float64Array,
  m: number,
  [C, F, T]: [number, number, number],
  ds: ProfileDataset,
): {
  spectrum: Float64Array;
  overTime: Float64Array;
  snr: Float64Array | null;
  snrTime: Int32Array | null;
} {
  const spectrum = new Float64Array(F), overTime = new Float64Array(T);
  const times = ds.times && !ds.axesInBins ? ds.times : null;
  const before = times ? [...times].filter((t) => t < 0).length : 0;
  const both = before > 0 && before < T;
  const snr = both ? new Float64Array(F) : null, snrTime = both ? new Int32Array(F) : null;
  for (let f = 0; f < F; f++) {
    let all = 0, pre = 0, best = -Infinity, at = 0;
    for (let t = 0; t < T; t++) {
      let v = 0;
      for (let ch = 0; ch < C; ch++) v += sum[(ch * F + f) * T + t] / (m * C);
      all += v;
      overTime[t] += v / F;
      if (times && times[t] < 0) pre += v;
      else if (v > best) [best, at] = [v, t];
    }
    spectrum[f] = all / T;
    if (snr && snrTime) [snr[f], snrTime[f]] = [best - pre / before, at];
  }
  return { spectrum, overTime, snr, snrTime };
}

/**
 * The largest and the second largest soft assignment of sample `i`: its confidence and, their
 * difference, its margin.
 *
 * @param q Soft assignments `[N, k]`.
 * @param i The sample.
 * @param k Clusters.
 * @returns `[largest, second]` (second 0 where k = 1).
 * @example
 * ```ts
 * import { topTwo } from "./summary.ts";
 * if (topTwo(new Float32Array([0.2, 0.5, 0.3]), 0, 3).join() !== "0.5,0.30000001192092896") {
 *   throw new Error();
 * }
 * ```
 */
export function topTwo(q: Float32Array, i: number, k: number): [number, number] {
  let m = 0, second = 0;
  for (let j = 0; j < k; j++) {
    const v = q[i * k + j];
    if (v > m) [m, second] = [v, m];
    else if (v > second) second = v;
  }
  return [m, second];
}

/**
 * @param p A profile.
 * @returns the hour of the day holding most of its members, or null without times.
 */
export function peakHour(p: ClusterProfile): number | null {
  return p.hours.some((v) => v > 0) ? p.hours.indexOf(Math.max(...p.hours)) : null;
}

/**
 * `clusters.csv`: one row per cluster,
 * `cluster,size,mean_confidence,peak_frequency_hz,peak_time_s,first_time,last_time,stations,peak_hour,median_s_minus_p,peak_snr_db,mean_margin`
 * (the peaks as {@linkcode ClusterProfile.peakFrequency} and `peakTime` say; `peak_hour`: the
 * hour of the day holding most members, empty without times; `median_s_minus_p`: the members'
 * median S − P in s, empty where none has one; `peak_snr_db`: the largest mean signal-to-noise
 * ratio, dB, empty without one; `mean_margin`: the members' mean largest q less the second
 * largest, empty without q). With `axesInBins`
 * (profiles of a dataset whose axes are bin indices) the peak columns are `peak_row,peak_column`.
 *
 * @param profiles From {@linkcode clusterProfiles}.
 * @param axesInBins Whether the profiles' peaks are a row and a column rather than Hz and s.
 * @returns the CSV text, newline-terminated.
 */
export function profilesCsv(profiles: ClusterProfile[], axesInBins = false): string {
  const peak = axesInBins ? "peak_row,peak_column" : "peak_frequency_hz,peak_time_s";
  const rows = [
    `cluster,size,mean_confidence,${peak},first_time,last_time,stations,peak_hour,median_s_minus_p,peak_snr_db,mean_margin`,
  ];
  for (const p of profiles) {
    rows.push(
      [
        p.cluster,
        p.size,
        p.meanConfidence === null ? "" : p.meanConfidence.toFixed(6),
        p.peakFrequency === null ? "" : +p.peakFrequency.toPrecision(6),
        p.peakTime === null ? "" : +p.peakTime.toPrecision(6),
        p.firstTime ?? "",
        p.lastTime ?? "",
        p.stations,
        peakHour(p) ?? "",
        p.medianSMinusP === null ? "" : +p.medianSMinusP.toPrecision(6),
        p.peakSnr === null ? "" : +p.peakSnr.toFixed(2),
        p.meanMargin === null ? "" : p.meanMargin.toFixed(6),
      ].map((v) => csvField(String(v))).join(","),
    );
  }
  return rows.join("\n") + "\n";
}

/**
 * @param config A dataset's `meta.json` `config` (what made it).
 * @returns the unit of its PSD values before any log scaling (`(m/s)^2/Hz` for velocity after
 *   response removal, `m^2/Hz` for displacement, `(m/s^2)^2/Hz` for acceleration, `counts^2/Hz`
 *   without response removal), or null when the config does not say (e.g. `import`).
 * @example
 * ```ts
 * import { psdUnit } from "./summary.ts";
 * const cfg = { preprocess: { response: { remove: true, output: "VEL" } } };
 * if (psdUnit(cfg) !== "(m/s)^2/Hz" || psdUnit({ import: {} }) !== null) throw new Error();
 * ```
 */
export function psdUnit(config: unknown): string | null {
  const r = (config as { preprocess?: { response?: { remove?: unknown; output?: unknown } } })
    ?.preprocess?.response;
  if (!r || typeof r.remove !== "boolean") return null;
  if (!r.remove) return "counts^2/Hz";
  const ground: Record<string, string> = { DISP: "m^2/Hz", VEL: "(m/s)^2/Hz", ACC: "(m/s^2)^2/Hz" };
  return ground[String(r.output)] ?? null;
}

/**
 * What a spectrogram's values are, for a colour bar: the quantity with its unit, then the
 * per-sample normalisation the values went through.
 *
 * @param scaling The dataset's `meta.json` `scaling`: `psd`, `log10`, `db` or `none` (imported).
 * @param unit The PSD unit from {@linkcode psdUnit}, or null when unknown.
 * @param normalize The per-sample normalisation.
 * @returns e.g. `PSD (dB re 1 (m/s)^2/Hz), min-max scaled per sample`.
 * @example
 * ```ts
 * import { valueLabel } from "./summary.ts";
 * if (valueLabel("psd", "counts^2/Hz", "none") !== "PSD (counts^2/Hz)") throw new Error();
 * ```
 */
export function valueLabel(scaling: string, unit: string | null, normalize: Normalize): string {
  const quantity = scaling === "psd"
    ? `PSD${unit ? ` (${unit})` : ""}`
    : scaling === "log10"
    ? `log10 PSD${unit ? ` (PSD in ${unit})` : ""}`
    : scaling === "db"
    ? `PSD (dB${unit ? ` re 1 ${unit}` : ""})`
    : "value";
  const how: Record<Normalize, string> = {
    none: "",
    maxabs: ", divided by each sample's max |value|",
    l2: ", divided by each sample's L2 norm",
    minmax: ", min-max scaled per sample",
  };
  return quantity + how[normalize];
}

/**
 * What a dataset's t = 0 is, for the figures' time axes, from its extract configuration: the P
 * (or other) pick, an STA/LTA trigger's onset, a catalogue's time, a window's time.
 *
 * @param config The dataset's `meta.json` `config`.
 * @returns e.g. "the P pick"; "the reference time" where the config does not say.
 * @example
 * ```ts
 * import { referenceName } from "./summary.ts";
 * if (referenceName({ input: { format: "esec" } }) !== "the catalogue time") throw new Error();
 * ```
 */
export function referenceName(config: unknown): string {
  const input = (config as {
    input?: {
      format?: string;
      phase?: string;
      picks?: string | null;
      windows?: { trigger?: unknown } | null;
    };
  } | null)?.input;
  switch (input?.format) {
    case "npz":
      return "the P pick";
    case "esec":
      return "the catalogue time";
    case "sds": {
      if (input.windows) return input.windows.trigger ? "the trigger onset" : "the window's time";
      const ph = input.phase ?? "P";
      return `the ${ph.length === 1 ? ph.toUpperCase() : ph} pick`;
    }
    case "manifest":
      // Picks fill only the rows that give no time of their own.
      return input.picks ? "the manifest's time or P pick" : "the manifest's reference time";
    default:
      return "the reference time";
  }
}

/**
 * The tile axes of a spectrogram grid: frequency in Hz up and time in s from the reference time
 * across, with a line at t = 0 (the reference time: P pick or catalogue time) where the window
 * holds it; row and column indices, and no line, when `freqs` or `times` is absent (an imported
 * array's axes are bins).
 *
 * @param shape `[C, F, T]`.
 * @param axes `freqs` (Hz, `[F]`) and `times` (s, `[T]`), or neither; `reference`: what t = 0
 *   is, for the label ({@linkcode referenceName}; "the reference time" without it).
 * @returns `xAxis` and `yAxis` for {@linkcode imageGrid}.
 * @example
 * ```ts
 * import { spectrogramTileAxes } from "./summary.ts";
 * const a = spectrogramTileAxes([1, 2, 3], {
 *   freqs: new Float64Array([1, 2]), times: new Float64Array([-1, 0, 1]),
 * });
 * if (a.xAxis.marks?.[0] !== 0 || spectrogramTileAxes([1, 2, 3], {}).xAxis.marks) throw new Error();
 * ```
 */
export function spectrogramTileAxes(
  shape: readonly [number, number, number],
  axes: { freqs?: Float64Array; times?: Float64Array; reference?: string },
): { xAxis: TileAxis; yAxis: TileAxis } {
  const [, F, T] = shape;
  const { freqs, times } = axes;
  if (freqs && times && freqs.length === F && times.length === T) {
    return {
      yAxis: { extent: [freqs[0], freqs[F - 1]], label: "frequency (Hz)" },
      xAxis: {
        extent: [times[0], times[T - 1]],
        label: `time from ${axes.reference ?? "the reference time"} (s); dashed line: t = 0`,
        marks: [0],
      },
    };
  }
  return {
    yAxis: { extent: [0, F - 1], label: "row (bin)" },
    xAxis: { extent: [0, T - 1], label: "column (bin)" },
  };
}

/**
 * Mean spectrogram of each cluster on one colour scale, low frequencies at the
 * bottom: one tile per cluster (one grid row up to 5 clusters, else 4 per row) for one component, else
 * one grid row per cluster and one column per component. Frequency ticks (Hz) left of the first
 * column, time ticks (s from the reference time) under the bottom tiles, a line at t = 0 and a
 * colour bar; rows and columns by index, and no line, without `freqs` and `times`.
 *
 * @param profiles From {@linkcode clusterProfiles}.
 * @param shape `[C, F, T]`.
 * @param opts Component names, the axes (`freqs` in Hz, `times` in s), the normalisation, and what
 *   the values are for the colour bar (`valueLabel`, e.g. from {@linkcode valueLabel}; default
 *   "value" and the normalisation), and the `format` ("png", default, or "svg").
 * @returns PNG (or SVG) bytes.
 */
export function clusterMeansPng(
  profiles: ClusterProfile[],
  shape: readonly [number, number, number],
  opts: {
    components?: string[];
    freqs?: Float64Array;
    times?: Float64Array;
    reference?: string;
    normalize?: Normalize;
    valueLabel?: string;
    format?: FigureFormat;
  } = {},
): Uint8Array {
  const [C, F, T] = shape;
  const images = [];
  for (const p of profiles) {
    for (let ch = 0; ch < C; ch++) {
      images.push({
        data: Float32Array.from(p.meanSpectrogram.subarray(ch * F * T, (ch + 1) * F * T)),
        rows: F,
        cols: T,
        label: C > 1
          ? (opts.components?.[ch] ?? `channel ${ch}`)
          : `cluster ${p.cluster} (${p.size})`,
      });
    }
  }
  const value = opts.valueLabel ?? valueLabel("none", null, opts.normalize ?? "none");
  return imageGrid(images, C > 1 ? C : profiles.length <= 5 ? profiles.length : 4, {
    format: opts.format,
    title: "Mean spectrogram per cluster",
    rowLabels: C > 1 ? profiles.map((p) => `cluster ${p.cluster} (${p.size})`) : undefined,
    sharedScale: true,
    tileWidth: 180,
    tileHeight: 135,
    ...spectrogramTileAxes(shape, opts),
    colorbarLabel: `cluster mean of ${value}`,
  });
}

/**
 * The members of cluster `j`, most confident first (by their `q` for `j`; in dataset order
 * without `q`, or where two are equally sure): the order {@linkcode examplesPng} and the
 * `cluster` command's waveform figure take their first members in.
 *
 * @param labels Cluster of each sample.
 * @param k Number of clusters.
 * @param q Soft assignments `[N, k]`, or null.
 * @param j The cluster.
 * @param samples The samples: with them, one member per event (or per station and reference
 *   time) comes first, the rest after, so that a figure's first few are distinct records.
 * @returns the sample indices.
 * @example
 * ```ts
 * import { clusterMembers } from "./summary.ts";
 * const q = new Float32Array([0.6, 0.4, 0.9, 0.1, 0.2, 0.8]);
 * const m = clusterMembers(new Int32Array([0, 0, 1]), 2, q, 0);
 * if (m.join() !== "1,0") throw new Error();
 * ```
 */
export function clusterMembers(
  labels: Int32Array,
  k: number,
  q: Float32Array | null,
  j: number,
  samples?: readonly MemberSample[],
): number[] {
  const members = [...labels.keys()].filter((i) => labels[i] === j);
  if (q) members.sort((u, v) => q[v * k + j] - q[u * k + j]);
  if (!samples) return members;
  // One record per event first: the same event's other channels and stations (an ESEC event's
  // BHE, BHN and BHZ at one station) go after every event's first, in the same order.
  const seen = new Set<string>();
  const first: number[] = [], again: number[] = [];
  for (const i of members) {
    const s = samples[i];
    const key = s?.event
      ? `event ${s.event}`
      : s?.referenceTime && s.station
      ? `${s.network}.${s.station} ${s.referenceTime}`
      : `sample ${i}`;
    (seen.has(key) ? again : first).push(i);
    seen.add(key);
  }
  return [...first, ...again];
}

/** What {@linkcode clusterMembers} and {@linkcode memberCaption} read of a sample. */
export interface MemberSample {
  /** Sample id. */
  id: string;
  /** Class label, or null when unknown. */
  label: string | null;
  /** SEED network code. */
  network?: string;
  /** SEED station code. */
  station?: string;
  /** SEED channel code. */
  channel?: string;
  /** ISO 8601 UTC reference time. */
  referenceTime?: string;
  /** The event the sample records, where known. */
  event?: string;
  /** The station's longitude, degrees east, where known (for local mean solar time). */
  longitude?: number;
  /** The station's latitude, degrees north, where known (for the station map). */
  latitude?: number;
}

/**
 * A member tile's caption, short enough for a tile: its codes (`NET.STA.CHA`) and label, then its
 * reference time in UTC (month, day and time: the year is the timeline's) and q; the sample id,
 * then its label, where it has no station (an imported array).
 *
 * @param s The sample.
 * @param q Its soft assignment to its cluster, or null.
 * @returns two lines.
 * @example
 * ```ts
 * import { memberCaption } from "./summary.ts";
 * const c = memberCaption({ id: "x", label: "eq", network: "XX", station: "A", channel: "HHZ",
 *   referenceTime: "2024-01-01T02:03:04.500Z" }, 0.91);
 * if (c !== "XX.A.HHZ eq\n01-01 02:03:04 q.91") throw new Error(c);
 * ```
 */
export function memberCaption(s: MemberSample, q: number | null): string {
  const conf = q === null ? "" : ` q${q >= 0.995 ? "1.0" : q.toFixed(2).slice(1)}`;
  const label = s.label ? ` ${s.label}` : "";
  if (!s.station) return `${s.id}\n${s.label ?? ""}`;
  const t = s.referenceTime && Number.isFinite(Date.parse(s.referenceTime))
    ? new Date(Date.parse(s.referenceTime)).toISOString().slice(5, 19).replace("T", " ")
    : s.id;
  return `${s.network}.${s.station}.${s.channel ?? ""}${label}\n${t}${conf}`;
}

/**
 * The most confident members of each cluster, as the model saw them (its normalisation, one colour
 * scale), with frequency and time axes, a line at the reference time and a colour bar; each tile
 * names its sample (id, then label or NET.STA). One grid row per cluster; with several components
 * (Z, N, E), one row per cluster and component, the component named after the cluster, since the
 * model clustered all of them together and S and surface waves often show best on the
 * horizontals.
 *
 * @param ds The dataset.
 * @param labels Cluster of each sample.
 * @param k Number of clusters.
 * @param q Soft assignments `[N, k]`, to rank members by confidence; null: dataset order.
 * @param normalize Per-sample normalisation the model used.
 * @param opts Component names, `freqs` (Hz) and `times` (s), the colour bar's label and the number
 *   of members per cluster (default 6), and the `format` ("png", default, or "svg").
 * @returns PNG (or SVG) bytes.
 */
export function examplesPng(
  ds: ProfileDataset,
  labels: Int32Array,
  k: number,
  q: Float32Array | null,
  normalize: Normalize,
  opts: {
    components?: string[];
    freqs?: Float64Array;
    times?: Float64Array;
    reference?: string;
    valueLabel?: string;
    perCluster?: number;
    format?: FigureFormat;
  } = {},
): Uint8Array {
  const [C, F, T] = ds.sampleShape;
  const per = opts.perCluster ?? 6;
  const images = [];
  const rowLabels = [];
  const component = (c: number) => opts.components?.[c] ?? `channel ${c}`;
  for (let j = 0; j < k; j++) {
    const members = clusterMembers(labels, k, q, j, ds.samples);
    const data = ds.readBatch(members.slice(0, per), normalize);
    for (let c = 0; c < C; c++) {
      rowLabels.push(`cluster ${j} (${members.length})${C > 1 ? ` ${component(c)}` : ""}`);
      for (let m = 0; m < per; m++) {
        const i = members[m];
        if (i === undefined) {
          images.push({ data: new Float32Array(F * T).fill(NaN), rows: F, cols: T, label: "" });
          continue;
        }
        const s = ds.samples?.[i];
        const at = (m * C + c) * F * T;
        images.push({
          data: data.subarray(at, at + F * T),
          rows: F,
          cols: T,
          label: s ? memberCaption(s, q ? q[i * k + j] : null) : String(i),
        });
      }
    }
  }
  const names = C > 1
    ? `, components ${Array.from({ length: C }, (_, c) => component(c)).join(", ")}`
    : "";
  return imageGrid(images, per, {
    format: opts.format,
    title: `Most confident members per cluster${names}`,
    rowLabels,
    sharedScale: true,
    ...spectrogramTileAxes(ds.sampleShape, opts),
    colorbarLabel: opts.valueLabel ?? valueLabel("none", null, normalize),
  });
}

/**
 * Mean spectrum of each cluster (mean over components and time) against frequency: the absolute
 * level in dB ({@linkcode ClusterProfile.levelSpectrum}) where the profiles have it, else the
 * normalised values.
 *
 * @param profiles From {@linkcode clusterProfiles}.
 * @param freqs Frequencies, Hz (row indices when absent).
 * @param normalize The normalisation named in the axis label.
 * @param unit The PSD unit ({@linkcode psdUnit}), for the level's axis label.
 * @param format "png" (default) or "svg".
 * @returns PNG (or SVG) bytes.
 */
export function clusterSpectraPng(
  profiles: ClusterProfile[],
  freqs: Float64Array | undefined,
  normalize: Normalize,
  unit: string | null = null,
  format: FigureFormat = "png",
): Uint8Array {
  // Absolute levels where the profiles have them (a loud cluster above a quiet one); the
  // per-sample normalised values otherwise, which say nothing of loudness.
  const level = profiles.some((p) => p.levelSpectrum);
  const series = profiles.filter((p) => p.size > 0).map((p) => {
    const y = level ? p.levelSpectrum! : p.meanSpectrum;
    return {
      name: `cluster ${p.cluster} (${p.size})`,
      x: Array.from(y, (_, f) => freqs ? freqs[f] : f),
      y: Array.from(y),
    };
  });
  return lineChart(series, {
    format,
    title: level ? "Mean level per cluster" : "Mean spectrum per cluster",
    xLabel: freqs ? "frequency (Hz)" : "frequency row",
    yLabel: level
      ? `mean PSD (dB${unit ? ` re 1 ${unit}` : ""})`
      : `mean value (${normalize}, per sample)`,
  });
}

/**
 * Share of each cluster's members per hour of the day, in %: rows are clusters, each
 * row sums to 100; null when no sample has a reference time.
 *
 * @param profiles From {@linkcode clusterProfiles}.
 * @param utcOffset The offset the hours were binned with, named in the title.
 * @param format "png" (default) or "svg".
 * @returns PNG (or SVG) bytes, or null.
 */
export function hourOfDayPng(
  profiles: ClusterProfile[],
  utcOffset: HourClock = 0,
  format: FigureFormat = "png",
): Uint8Array | null {
  const k = profiles.length;
  const share = new Float64Array(k * 24);
  let any = false;
  // An hour no cluster has a record in is not 0 %: the data do not cover it (6 h of a day).
  const covered = Array.from({ length: 24 }, (_, h) => profiles.some((p) => p.hours[h] > 0));
  profiles.forEach((p, c) => {
    const total = p.hours.reduce((a, b) => a + b, 0);
    for (let h = 0; h < 24; h++) {
      share[c * 24 + h] = total > 0 && covered[h] ? (100 * p.hours[h]) / total : NaN;
    }
    any ||= total > 0;
  });
  if (!any) return null;
  const zone = clockName(utcOffset);
  const count = (n: number, events: boolean) => events ? `${n} event${n === 1 ? "" : "s"}` : `${n}`;
  // What is counted: each event once (a sample without one counts alone), or each sample.
  const byEvent = profiles.some((p) => p.hoursByEvent);
  const blank = covered.every(Boolean) ? "" : "; blank: no record of any cluster in that hour";
  return heatmap(share, k, 24, {
    format,
    title: `Share of each cluster's ${byEvent ? "events" : "samples"} per hour of day (${zone})`,
    xLabel: `hour (${zone})${blank}`,
    rowLabels: profiles.map((p) =>
      `cluster ${p.cluster} (${count(p.hours.reduce((a, b) => a + b, 0), byEvent)})`
    ),
    colLabels: Array.from({ length: 24 }, (_, h) => String(h)),
    originLower: false,
    vmin: 0,
    colorbarLabel: "% of the cluster's records",
    width: 900,
    height: Math.max(260, 80 + 34 * k),
  });
}

/**
 * `stations.png`: each station's samples per cluster, on a map ({@linkcode stationChart}): a bar
 * per station (`NET.STA`) split by the shares of its samples in each cluster, at its longitude
 * and latitude. Null where fewer than two stations have coordinates (samples.csv's, from
 * StationXML).
 *
 * @param ds The dataset (`samples` with network, station, latitude and longitude).
 * @param labels Cluster of each sample.
 * @param k Number of clusters.
 * @param format "png" (default) or "svg".
 * @returns PNG (or SVG) bytes, or null.
 */
export function stationMapPng(
  ds: ProfileDataset,
  labels: Int32Array,
  k: number,
  format: FigureFormat = "png",
): Uint8Array | null {
  const stations = new Map<string, StationMark>();
  let unplaced = 0;
  for (let i = 0; i < ds.count; i++) {
    const s = ds.samples?.[i];
    if (!s?.station || !Number.isFinite(s.latitude) || !Number.isFinite(s.longitude)) {
      unplaced++;
      continue;
    }
    const name = `${s.network ?? ""}.${s.station}`;
    let st = stations.get(name);
    if (!st) {
      st = { name, longitude: s.longitude!, latitude: s.latitude!, counts: new Array(k).fill(0) };
      stations.set(name, st);
    }
    st.counts[labels[i]]++;
  }
  if (stations.size < 2) return null;
  const left = unplaced ? `; ${unplaced} without coordinates left out` : "";
  return stationChart([...stations.values()], {
    format,
    title: `Samples per cluster at each station (${stations.size} stations, ${
      ds.count - unplaced
    } samples${left})`,
    groupNames: Array.from({ length: k }, (_, j) => `cluster ${j}`),
    width: 900,
    height: 640,
  });
}

/**
 * Reference time of every sample against its cluster (a raster: one dot per
 * sample, jittered within its cluster's row); null with fewer than two timed samples.
 *
 * @param ds The dataset (reference times from `samples`).
 * @param labels Cluster of each sample.
 * @param k Number of clusters.
 * @param format "png" (default) or "svg".
 * @returns PNG (or SVG) bytes, or null.
 */
export function timelinePng(
  ds: ProfileDataset,
  labels: Int32Array,
  k: number,
  format: FigureFormat = "png",
): Uint8Array | null {
  const t: number[] = [], groups: number[] = [];
  for (let i = 0; i < ds.count; i++) {
    const ms = Date.parse(ds.samples?.[i]?.referenceTime ?? "");
    if (Number.isFinite(ms)) {
      t.push(ms);
      groups.push(labels[i]);
    }
  }
  if (t.length < 2) return null;
  // Deterministic jitter (golden-ratio sequence) spreads a cluster's dots over its row.
  const y = Float64Array.from(groups, (g, i) => g + 0.6 * (((i * 0.6180339887) % 1) - 0.5));
  return scatterChart({ x: Float64Array.from(t), y, groups: Int32Array.from(groups) }, {
    format,
    title: `Samples over time by cluster (${k} clusters)`,
    xLabel: "reference time (UTC)",
    xDates: true,
    yLabel: "cluster",
    yIntegers: true,
    // Every cluster's row, whether or not its dots reach its number.
    yRange: [-0.5, k - 0.5],
  });
}
