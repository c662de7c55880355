/**
 * Samples at the events an STA/LTA trigger finds in an SDS archive's continuous data: no
 * catalogue needed, and each sample starts where its signal does (regular windows put a
 * signal anywhere in the crop, and the clusters then group partly by where it lies).
 *
 * Each channel is read an hour at a time (with 10 LTAs before it, so that the averages there
 * are those of the continuous data, and two minutes after it, so that a trigger near its end
 * ends; only the miniSEED records of that span are decoded), demeaned, tapered over 2 s at
 * each end of each contiguous run, band-pass filtered
 * (causal Butterworth, 4 poles per corner) and turned into an STA/LTA ratio
 * (lib/signal/trigger.ts). A trigger starts where the ratio exceeds `on` and ends where it
 * falls below `off`; its onset is the sample's reference time, cropped as a pick's. An onset
 * less than `dead` seconds after the last one kept is dropped (an S phase, a coda, a second
 * burst of the same event). With `aic`, each onset is refined by an AIC pick near it. With
 * `coincidence`, a trigger is kept only where enough stations trigger within seconds of it
 * ({@linkcode coincident}).
 *
 * @module
 */
import {
  crc32c,
  decodeBetween,
  indexRecords,
  mergeRuns,
  miniseedVersion,
  type RecordSpan,
  type Segment,
  segmentEnd,
} from "./mseed.ts";
import { basename, join } from "node:path";
import { fileExists, notAFile, notAFileAmong, sdsPaths } from "./manifest.ts";
import { isSac, readSac, sacOtherVersion } from "./sac.ts";
import { type FailureReason, SampleError } from "./sample_error.ts";
import { demean } from "../signal/detrend.ts";
import { cosineTaper } from "../signal/taper.ts";
import { butterBandpass, sosfilt } from "../signal/filter.ts";
import { aicOnset, classicStaLta, recursiveStaLta, triggerOnsets } from "../signal/trigger.ts";
import { UserError } from "../util/errors.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { sha256Hex } from "../util/hash.ts";
import { readInputFile } from "./input_file.ts";

/** `input.windows.trigger`: samples at STA/LTA triggers instead of at regular times. */
export interface SdsTrigger {
  /** `recursive` (exponential averages; default) or `classic` (moving windows). */
  method: "recursive" | "classic";
  /** Short-term average length, s (default 1). */
  sta: number;
  /** Long-term average length, s (default 20). */
  lta: number;
  /** Ratio that starts a trigger (default 4). */
  on: number;
  /** Ratio below which it ends (default 1.5). */
  off: number;
  /**
   * Band-pass before the ratio, [freqmin, freqmax] Hz, or null: the spectrogram's band
   * (`spectrogram.fmin`, at least 0.5 Hz, to `spectrogram.fmax`); freqmax is lowered to
   * 0.45 × a channel's sampling rate where it is above.
   */
  band: [number, number] | null;
  /**
   * Seconds after an onset kept during which later onsets on the channel are dropped, or null:
   * `spectrogram.after` (one sample per event, the next starting after its crop).
   */
  dead: number | null;
  /**
   * Network coincidence, or null: a channel's trigger is kept only where triggers at no fewer
   * than `stations` stations (NET.STA, its own included) have onsets within `window` seconds
   * of its own; what one station alone sees (a spike, a passing truck) is dropped.
   */
  coincidence: { stations: number; window: number } | null;
  /**
   * Refine each onset by Maeda's AIC picker (lib/signal/trigger.ts `aicOnset`) on the filtered
   * trace from `before` seconds before the STA/LTA onset to `after` seconds after it, or null:
   * the STA/LTA onset, which lags a signal's start by the time the ratio takes to rise.
   */
  aic: { before: number; after: number } | null;
}

/**
 * The trigger spec's defaults (the config schema's, and `--trigger 1/20/4/1.5`'s): recursive
 * STA/LTA of 1 s and 20 s, on at 4, off below 1.5, the spectrogram's band, a dead time of the
 * crop after the onset, no coincidence, no AIC refinement.
 */
export const TRIGGER_DEFAULTS: Readonly<SdsTrigger> = Object.freeze({
  method: "recursive",
  sta: 1,
  lta: 20,
  on: 4,
  off: 1.5,
  band: null,
  dead: null,
  coincidence: null,
  aic: null,
});

/** A trigger found on a channel, ms since 1970 UTC (whole milliseconds). */
export interface Detection {
  /** Onset: the AIC pick with `aic`, else the trigger's. */
  on: number;
  /** The trigger's onset: the first sample whose ratio exceeds `on`. */
  trigger: number;
  /** End: the first sample after it whose ratio is below `off` (or the data's end). */
  off: number;
  /** Largest ratio of the trigger. */
  peak: number;
}

/** A day file, or part of a channel, that detection could not use, and why. */
export interface DetectionProblem {
  /** The day file (or the channel, for a band the data cannot carry). */
  source: string;
  /** Short reason, as a sample's failure. */
  reason: FailureReason;
  /** What went wrong, naming the file. */
  message: string;
}

/** Milliseconds of onsets detected from one read of the data (an hour). */
const PIECE_MS = 3_600_000;
/**
 * LTAs of data read before each piece, so that the averages there are those of the data
 * before it to e^-10 (the recursive LTA's memory), after the taper.
 */
const WARM_LTAS = 10;
/** Seconds of data read after each piece, so that a trigger near its end can end. */
const TAIL_S = 120;
/** Triggers from two pieces this close (ms) are one seen twice. */
const SAME_TRIGGER_MS = 100;
/** Seconds tapered at each end of a contiguous run. */
const TAPER_S = 2;

/**
 * Checks a trigger spec, naming the field.
 *
 * @param t The spec.
 * @param where Its field, for messages (`input.windows.trigger`).
 * @throws {UserError} for lengths or thresholds out of range.
 */
export function checkTrigger(t: SdsTrigger, where = "input.windows.trigger"): void {
  const bad = (field: string, expected: string, found: unknown) =>
    new UserError(`Cannot use ${where}.${field}: expected ${expected}: found ${found}`);
  if (!(t.sta > 0)) throw bad("sta", "seconds > 0", t.sta);
  if (!(t.lta > t.sta)) throw bad("lta", `seconds > sta (${t.sta})`, t.lta);
  if (!(t.on > 0 && Number.isFinite(t.on))) throw bad("on", "a ratio > 0", t.on);
  if (!(t.off > 0 && t.off <= t.on)) throw bad("off", `a ratio > 0 and <= on (${t.on})`, t.off);
  if (t.band !== null && !(t.band[0] > 0 && t.band[1] > t.band[0])) {
    throw bad("band", "[freqmin, freqmax] with 0 < freqmin < freqmax", JSON.stringify(t.band));
  }
  if (t.dead !== null && !(t.dead >= 0)) throw bad("dead", "seconds >= 0", t.dead);
  const c = t.coincidence;
  if (c && !(Number.isInteger(c.stations) && c.stations >= 1)) {
    throw bad("coincidence.stations", "a whole number >= 1", c.stations);
  }
  if (c && !(c.window >= 0)) throw bad("coincidence.window", "seconds >= 0", c.window);
  const a = t.aic;
  if (a && !(a.before >= 0 && a.after >= 0 && a.before + a.after > 0)) {
    throw bad("aic", "seconds before and after >= 0, not both 0", JSON.stringify(a));
  }
}

/**
 * A trigger spec with its defaults filled in from the spectrogram's settings: the band from
 * `fmin` (at least 0.5 Hz) to `fmax`, and a dead time of `after` seconds.
 *
 * @param t The spec.
 * @param sc The spectrogram's band and crop.
 * @returns the spec with `band` and `dead` set.
 * @example
 * ```ts
 * import { triggerDefaults } from "./sds_triggers.ts";
 * const t = triggerDefaults(
 *   {
 *     method: "recursive",
 *     sta: 1,
 *     lta: 20,
 *     on: 4,
 *     off: 1.5,
 *     band: null,
 *     dead: null,
 *     coincidence: null,
 *     aic: null,
 *   },
 *   { fmin: 0, fmax: 18, after: 66 },
 * );
 * if (t.band.join() !== "0.5,18" || t.dead !== 66) throw new Error();
 * ```
 */
export function triggerDefaults(
  t: SdsTrigger,
  sc: { fmin: number; fmax: number; after: number },
): SdsTrigger & { band: [number, number]; dead: number } {
  return { ...t, band: t.band ?? [Math.max(sc.fmin, 0.5), sc.fmax], dead: t.dead ?? sc.after };
}

/**
 * Where a channel's detections are kept between runs, one UTC day at a time: a directory with a
 * file per channel and calendar month (`NET.STA.LOC.CHA.YYYY-MM.jsonl`, a line per day; months
 * detected on different workers write different files). A day is taken from it when the
 * trigger spec (all but `dead` and `coincidence`, applied afterwards), the gap tolerance, the
 * span and the size and modification time of every day file the day reads are those it was
 * detected with; otherwise it is detected again. `extract` keeps one in the dataset
 * (`detections/`), so that `--resume`, `report` and `--inspect` do not detect again.
 */
export interface DetectionCache {
  /** The directory (created when written). */
  dir: string;
  /** Add the days detected here to it (false: only read it, as `report` does). */
  write: boolean;
}

/** A day's detection as kept in a {@linkcode DetectionCache}. */
export interface DetectionDay {
  /** The day's first millisecond (UTC). */
  day: number;
  /** What it was detected with (SHA-256, hex). */
  key: string;
  /** Whether any day file it read exists. */
  found: boolean;
  /** [on, trigger, off, peak] per trigger, before the dead time. */
  triggers: [number, number, number, number][];
  /** The problems of the files it read, and of its runs. */
  problems: DetectionProblem[];
  /**
   * Where no continuous stretch of the data it read was longer than the LTA (the ratio was never
   * formed): the longest, s. Absent otherwise (and on days kept before it was recorded).
   */
  short?: number;
}

const DAY_MS = 86_400_000;

/**
 * The name of a {@linkcode DetectionCache}'s file of one channel and month.
 *
 * @param id The channel, `NET.STA.LOC.CHA`.
 * @param day A millisecond of the month (UTC).
 * @returns e.g. `XX.ABC.00.HHZ.2024-01.jsonl`.
 */
export function detectionCacheFile(id: string, day: number): string {
  return `${id}.${new Date(day).toISOString().slice(0, 7)}.jsonl`;
}

/**
 * The channel of a {@linkcode DetectionCache}'s file name ({@linkcode detectionCacheFile}).
 *
 * @param name A file name.
 * @returns `NET.STA.LOC.CHA`, or null for a name that is not a cache file's.
 */
export function detectionCacheChannel(name: string): string | null {
  return name.match(/^(.+)\.\d{4}-\d\d\.jsonl$/)?.[1] ?? null;
}

/** Adds a problem to a list unless the same one (source and message) is there. */
function addProblem(list: DetectionProblem[], p: DetectionProblem): void {
  if (!list.some((q) => q.source === p.source && q.message === p.message)) list.push(p);
}

/**
 * Whether a cache line parsed as JSON is a day's detection: a line damaged into other valid JSON
 * (a field renamed, a trigger that is no number) is skipped as a torn one is, and its day detected
 * again, where its key alone let it in and the run stopped on JavaScript's 'Cannot read
 * properties of undefined'.
 */
function isDetectionDay(e: unknown): e is DetectionDay {
  const d = e as DetectionDay;
  return typeof d === "object" && d !== null && Number.isFinite(d.day) &&
    typeof d.key === "string" && typeof d.found === "boolean" && Array.isArray(d.triggers) &&
    d.triggers.every((t) =>
      Array.isArray(t) && t.length === 4 && t.every((x) => typeof x === "number" && isFinite(x))
    ) &&
    (d.short === undefined || Number.isFinite(d.short)) && Array.isArray(d.problems) &&
    d.problems.every((p) =>
      typeof p === "object" && p !== null && typeof p.source === "string" &&
      typeof p.reason === "string" && typeof p.message === "string"
    );
}

/** The fields of a cache line written before lines carried digests. */
const OLD_KEYS = new Set(["day", "key", "found", "triggers", "problems", "short"]);

/** The digest of a cache line's JSON (without it): CRC-32C, 8 hex digits. */
function lineDigest(json: string): string {
  return crc32c(new TextEncoder().encode(json)).toString(16).padStart(8, "0");
}

/**
 * A day's line of a cache file: its JSON with the digest of that JSON ({@linkcode lineDigest})
 * as its last field, `"digest"`, so that a line damaged into other valid JSON whose fields still
 * check (a flipped digit moved a trigger by 40 s) is found.
 */
function cacheLine(e: DetectionDay): string {
  const json = JSON.stringify(e);
  return `${json.slice(0, -1)},"digest":"${lineDigest(json)}"}\n`;
}

/**
 * Reads a cache file's entries by day (the last line of a day wins). A torn line, or one whose
 * digest ({@linkcode cacheLine}) is missing or wrong, is skipped, and its day detected again.
 * A file none of whose lines carries a digest was written before they were (by seisdec before
 * 2026-12-08): its days are used as they are (`old`), so that an older dataset's report,
 * --inspect and an interrupted run's resume find the times its samples were cut at. A line with
 * a field those never had is no such line (damage hit its digest's key: `"digesu"`), and is
 * skipped: a file of that line alone is not taken for an old one.
 */
async function readCacheFile(
  path: string,
): Promise<{ entries: Map<number, DetectionDay>; lines: number; old: boolean }> {
  const entries = new Map<number, DetectionDay>();
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  let lines = 0, digested = false;
  const undigested = new Map<number, DetectionDay>();
  for (const line of text.split("\n")) {
    if (!line) continue;
    lines++;
    try {
      const e = JSON.parse(line);
      if (typeof e === "object" && e !== null && "digest" in e) {
        digested = true;
        const m = /^(\{.*),"digest":"([0-9a-f]{8})"\}$/.exec(line);
        if (!m || lineDigest(`${m[1]}}`) !== m[2]) continue;
        delete e.digest;
        if (isDetectionDay(e)) entries.set(e.day, e);
      } else if (isDetectionDay(e) && Object.keys(e).every((k) => OLD_KEYS.has(k))) {
        undigested.set(e.day, e);
      }
    } catch {
      // An interrupted append; that day is detected again.
    }
  }
  const old = !digested && undigested.size > 0;
  return { entries: old ? undigested : entries, lines, old };
}

/** A day file's size and modification time (ms), `"missing"`, or null where unknown. */
type FileStat = [number, number] | "missing" | null;

/** A file's {@linkcode FileStat} now. */
async function statNow(path: string): Promise<FileStat> {
  try {
    const s = await Deno.stat(path);
    return s.mtime ? [s.size, s.mtime.getTime()] : null;
  } catch (e) {
    return e instanceof Deno.errors.NotFound ? "missing" : null;
  }
}

/**
 * What a day's detection depends on, as a cache key; null when a file's time is unknown.
 * `statOf` gives each day file's size and time: as they were when its bytes were read, where
 * they were, so that a key describes the bytes detected (a file that grew after it was read,
 * for the day before's tail, gets a key of its old size, and is detected again next run).
 */
async function dayKey(
  dir: string,
  codes: readonly [string, string, string, string],
  from: number,
  to: number,
  t: SdsTrigger & { band: [number, number] },
  gapTolerance: number,
  statOf: (path: string) => Promise<FileStat> = statNow,
): Promise<string | null> {
  const files: [string, number, number][] = [];
  for (const path of sdsPaths(dir, codes, ...readSpan(from, to, t))) {
    const s = await statOf(path);
    if (s === null) return null;
    if (s !== "missing") files.push([basename(path), s[0], s[1]]);
  }
  const { method, sta, lta, on, off, band, aic } = t;
  const text = JSON.stringify({
    // Days kept with times to the millisecond (before they were kept to the microsecond) are
    // used as they are: a dataset's report, --inspect and an interrupted run's resume must find
    // the times its samples were cut at.
    v: 1,
    from,
    to,
    spec: { method, sta, lta, on, off, band, aic },
    gapTolerance,
    files,
  });
  return await sha256Hex(text);
}

/**
 * A time in ms rounded to the microsecond, but never across the millisecond that the exact time
 * rounds to: a sample id (windowStamp) rounds the kept time to the millisecond, and
 * an exact 0.4996 ms past it, kept as 0.500, became the next millisecond's id (0.499 is kept).
 */
function toMicrosecond(ms: number): number {
  const us = Math.round(ms * 1000) / 1000;
  return Math.round(us) === Math.round(ms) ? us : us - 0.001;
}

/** The span of data the pieces of onsets from `from` until `to` read. */
function readSpan(from: number, to: number, t: SdsTrigger): [number, number] {
  return [from - (WARM_LTAS * t.lta + TAPER_S) * 1000, to + TAIL_S * 1000];
}

/**
 * The triggers of one channel from `start` until `end`: onsets in that span, in time order,
 * with the dead time applied. Day files that are missing are skipped (their windows have no
 * triggers), but a channel without any in the span is a `missing channel` problem; files that
 * cannot be decoded, and runs of a sampling rate too low for the band, are reported in
 * `problems` and skipped. The span is detected a UTC day at a time, each day an hour at a time
 * (the same triggers as one pass); with `options.cache`, days detected before with the same
 * spec and files are taken from it ({@linkcode DetectionCache}).
 *
 * @param dir The archive root.
 * @param codes [network, station, location, channel].
 * @param start First onset kept, ms since 1970 UTC.
 * @param end Onsets stop before this, ms since 1970 UTC.
 * @param t The spec, with `band` and `dead` given.
 * @param gapTolerance Largest gap merged (linear interpolation), s; a larger one splits the data
 *   into runs, each detected on its own.
 * @param options `cache`: where days detected before are kept; `onDay`: called as each UTC day
 *   of the span is done, with true where it was taken from the cache.
 * @returns the triggers and the problems met (and `longest`, where the LTA is longer than every
 *   continuous stretch of the data).
 */
export async function detectSdsTriggers(
  dir: string,
  codes: readonly [string, string, string, string],
  start: number,
  end: number,
  t: SdsTrigger & { band: [number, number]; dead: number },
  gapTolerance: number,
  options: { cache?: DetectionCache | null; onDay?: (kept: boolean) => void } = {},
): Promise<DetectionResult> {
  const days = await detectSdsDays(dir, codes, start, end, t, gapTolerance, options);
  return finishDetection(dir, codes, start, end, t, days);
}

/**
 * The first part of {@linkcode detectSdsTriggers}: each UTC day's triggers of one channel from
 * `start` until `end` (before the dead time), whether a day file it read exists, and the
 * problems of the files it read. Spans detected apart (a worker each) and joined in order give
 * what one span does.
 *
 * @param dir The archive root.
 * @param codes [network, station, location, channel].
 * @param start First onset kept, ms since 1970 UTC.
 * @param end Onsets stop before this, ms since 1970 UTC.
 * @param t The spec, with `band` given.
 * @param gapTolerance Largest gap merged, s.
 * @param options `cache` and `onDay`, as {@linkcode detectSdsTriggers}'s.
 * @returns the days, in time order.
 */
export async function detectSdsDays(
  dir: string,
  codes: readonly [string, string, string, string],
  start: number,
  end: number,
  t: SdsTrigger & { band: [number, number] },
  gapTolerance: number,
  options: { cache?: DetectionCache | null; onDay?: (kept: boolean) => void } = {},
): Promise<DetectionDay[]> {
  // Day files as their bytes and record index (null: missing or unusable) and the problem they
  // gave; each piece decodes only the records of its span. Shared by the days, so that a day
  // file is read once; each day reports the problems of every file it reads.
  type File = {
    data: { bytes: Uint8Array; records: RecordSpan[] } | null;
    /** A SAC day file's trace (its `records`: one spanning it). */
    sac?: Segment;
    exists: boolean;
    problem?: DetectionProblem;
    /** Damaged bytes between its records, skipped (gaps), with the time they leave out. */
    damaged: (DetectionProblem & { start: number; end: number })[];
  };
  const files = new Map<string, File>();
  // Each file's size and time as they were just before its bytes were read (kept after the
  // file leaves `files`): the cache keys describe the bytes detected.
  const readStats = new Map<string, FileStat>();
  const statOf = async (path: string) => readStats.get(path) ?? await statNow(path);
  const fileOf = async (path: string): Promise<File> => {
    const had = files.get(path);
    if (had) return had;
    const file: File = { data: null, exists: false, damaged: [] };
    let bytes: Uint8Array | null = null;
    // Before the read: a file that grows in between has newer bytes than its key says, and is
    // detected again next run rather than kept with old bytes under a new key.
    readStats.set(path, await statNow(path));
    try {
      bytes = await readInputFile(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        file.problem = {
          source: path,
          reason: "unreadable",
          message: `Cannot read ${path}: ${(e as Error).message}`,
        };
      }
    }
    if (bytes) {
      file.exists = true;
      try {
        // A SAC day file, as extract reads one (miniSEED first: see readWaveform).
        if (miniseedVersion(bytes) === 0 && (isSac(bytes) || sacOtherVersion(bytes) !== null)) {
          const sac = readSac(bytes, path).trace;
          const span = { offset: 0, size: bytes.length, start: sac.startTime };
          file.data = { bytes: new Uint8Array(0), records: [{ ...span, end: segmentEnd(sac) }] };
          file.sac = sac;
          bytes = null;
        }
      } catch (e) {
        if (!(e instanceof SampleError)) throw e;
        file.problem = { source: path, reason: e.reason, message: e.message };
        bytes = null;
      }
    }
    if (bytes) {
      try {
        const records = await indexRecords(bytes, path, (d) => {
          file.damaged.push({
            source: path,
            // corrupt or bad time (a damaged header), or truncated: the file's cut last record
            reason: d.error.reason,
            message: d.error.message,
            start: d.start,
            end: d.end,
          });
        });
        file.data = { bytes, records };
      } catch (e) {
        if (!(e instanceof SampleError)) throw e;
        file.problem = { source: path, reason: e.reason, message: e.message };
      }
    }
    // A piece reads at most three day files (the day before, its own, the next).
    if (files.size >= 3) files.delete(files.keys().next().value!);
    files.set(path, file);
    return file;
  };
  const id = codes.join(".");
  const detectDay = async (from: number, to: number, day: number): Promise<DetectionDay> => {
    const entry: DetectionDay = { day, key: "", found: false, triggers: [], problems: [] };
    const problem = (p: DetectionProblem) => addProblem(entry.problems, p);
    // The day's own file, whether it held any of the channel's data in [from, to), and the
    // channels it held instead: one of another station or day must not pass for a quiet day.
    const own = sdsPaths(dir, codes, day, day)[0];
    let ownData = false, overlapListed = false;
    // Whether any run was long enough for the LTA, and the longest stretch read (s) where none was.
    let formed = false, longest = 0;
    const ownOthers = new Set<string>();
    for (let h0 = Math.floor(from / PIECE_MS) * PIECE_MS; h0 < to; h0 += PIECE_MS) {
      const p0 = Math.max(h0, from), p1 = Math.min(h0 + PIECE_MS, to);
      const [t0, t1] = readSpan(p0, p1, t);
      const segs: Segment[] = [];
      for (const path of sdsPaths(dir, codes, t0, t1)) {
        const file = await fileOf(path);
        entry.found ||= file.exists;
        if (file.problem) problem(file.problem);
        // Reported by the day whose data they leave out.
        for (const d of file.damaged) {
          if (d.end >= p0 && d.start < p1) {
            problem({ source: d.source, reason: d.reason, message: d.message });
          }
        }
        if (!file.data) continue;
        let decoded: Segment[];
        try {
          // A damaged record is left out (a gap: no triggers there) and reported once; the
          // rest of the day is read on.
          decoded = file.sac ? [file.sac] : await decodeBetween(
            file.data.bytes,
            file.data.records,
            t0,
            t1,
            path,
            (r) => {
              problem({ source: path, reason: r.error.reason, message: r.error.message });
            },
          );
        } catch (e) {
          if (!(e instanceof SampleError)) throw e;
          file.problem = { source: path, reason: e.reason, message: e.message };
          file.data = null;
          problem(file.problem);
          continue;
        }
        for (const s of decoded) {
          const mine = s.network === codes[0] && s.station === codes[1] &&
            s.location === codes[2] && s.channel === codes[3];
          if (mine && s.startTime < t1 && segmentEnd(s) > t0) segs.push(s);
          if (path !== own) continue;
          if (!mine) ownOthers.add(`${s.network}.${s.station}.${s.location}.${s.channel}`);
          else if (s.startTime < to && segmentEnd(s) > from) ownData = true;
        }
      }
      segs.sort((a, b) => a.startTime - b.startTime);
      // A change of sampling rate or an overlap beyond the tolerance in this piece's span is
      // listed, as windows list it (a gap is not: the data simply stop there); each side is
      // detected on its own. Overlaps are listed once a day: a damaged header can make every
      // record overlap the next.
      const runs = mergeRuns(segs, gapTolerance, own, (b) => {
        if (b.kind === "gap" || !(b.time >= p0 && b.time < p1)) return;
        const overlap = b.kind === "overlap";
        if (overlap && overlapListed) return;
        overlapListed ||= overlap;
        problem({
          source: own,
          reason: "gap",
          message: `${b.message} (each side detected on its own: no triggers within an LTA after ` +
            `it${overlap ? "; later overlaps that day are not listed" : ""})`,
        });
      });
      for (const run of runs) {
        const fs = run.samplingRate, dt = 1000 / fs;
        const i0 = Math.max(0, Math.ceil((t0 - run.startTime) / dt));
        const i1 = Math.min(run.data.length, Math.floor((t1 - run.startTime) / dt) + 1);
        const nsta = Math.max(1, Math.round(t.sta * fs)), nlta = Math.round(t.lta * fs);
        if (i1 - i0 <= nlta || nlta <= nsta) {
          longest = Math.max(longest, (i1 - i0) / fs);
          continue;
        }
        formed = true;
        const fmax = Math.min(t.band[1], 0.45 * fs);
        if (!(t.band[0] < fmax)) {
          problem({
            source: id,
            reason: "out of range",
            message: `Cannot detect triggers on ${id}: its ${fs} Hz data cannot ` +
              `carry the trigger band from ${t.band[0]} Hz (below 0.45 × the sampling rate)`,
          });
          continue;
        }
        const x = run.data.slice(i0, i1);
        demean(x);
        cosineTaper(x, Math.min(0.5, TAPER_S * fs / x.length));
        sosfilt(butterBandpass(t.band[0], fmax, fs, 4), x);
        const cf = t.method === "classic"
          ? classicStaLta(x, nsta, nlta)
          : recursiveStaLta(x, nsta, nlta);
        const tStart = run.startTime + i0 * dt;
        for (const s of triggerOnsets(cf, t.on, t.off)) {
          // Times to the microsecond, as samples.csv, triggers.csv and QuakeML write them (to
          // the millisecond, a 4 kHz geophone's onset moved by up to 2 samples).
          const trigger = toMicrosecond(tStart + s.on * dt);
          if (!(trigger >= p0 && trigger < p1)) continue;
          const k = t.aic
            ? aicOnset(
              x,
              s.on - Math.round(t.aic.before * fs),
              s.on + Math.round(t.aic.after * fs) + 1,
            )
            : -1;
          const on = k >= 0 ? toMicrosecond(tStart + k * dt) : trigger;
          entry.triggers.push([on, trigger, toMicrosecond(tStart + s.off * dt), s.peak]);
        }
      }
    }
    // (A file whose data end before a span past them is not meant: the archive may not reach it.)
    const ownFile = files.get(own);
    const ofDay = (r: RecordSpan) => r.start < day + DAY_MS && r.end > day;
    if (
      ownFile?.data && !ownData && (ownOthers.size || !ownFile.data.records.some(ofDay)) &&
      !entry.problems.some((p) => p.source === own)
    ) {
      const span = `from ${new Date(from).toISOString()} to ${new Date(to).toISOString()}`;
      problem({
        source: own,
        reason: "missing channel",
        message: `Cannot detect triggers on ${id} ${span}: its day file ${own} holds none of its ` +
          `data (${
            ownOthers.size
              ? `it holds ${[...ownOthers].sort().join(", ")}`
              : ownFile.data.records.length
              ? `its records lie outside that day: ${
                new Date(ownFile.data.records.reduce((a, r) => Math.min(a, r.start), Infinity))
                  .toISOString()
              } to ${
                new Date(ownFile.data.records.reduce((a, r) => Math.max(a, r.end), -Infinity))
                  .toISOString()
              }`
              : "it holds no records"
          }; no triggers there)`,
      });
    }
    if (!formed && longest > 0) entry.short = longest;
    return entry;
  };
  // The cache's files, one per calendar month (so that months detected on different workers
  // write different files): their days, and how many lines they hold.
  const cache = options.cache ?? null;
  const monthFiles = new Map<
    string,
    { entries: Map<number, DetectionDay>; lines: number; old: boolean; appended: number }
  >();
  const monthFile = async (day: number) => {
    const path = join(cache!.dir, detectionCacheFile(id, day));
    let f = monthFiles.get(path);
    if (!f) monthFiles.set(path, f = { ...await readCacheFile(path), appended: 0 });
    return { path, f };
  };
  if (cache?.write) await Deno.mkdir(cache.dir, { recursive: true });
  const days: DetectionDay[] = [];
  for (let d0 = Math.floor(start / DAY_MS) * DAY_MS; d0 < end; d0 += DAY_MS) {
    const from = Math.max(d0, start), to = Math.min(d0 + DAY_MS, end);
    const key = cache ? await dayKey(dir, codes, from, to, t, gapTolerance, statOf) : null;
    const month = cache ? await monthFile(d0) : null;
    const had = month?.f.entries.get(d0);
    if (key !== null && had?.key === key) {
      days.push(had);
      options.onDay?.(true);
      continue;
    }
    const entry = await detectDay(from, to, d0);
    days.push(entry);
    // The key of the bytes detected (the files as they were read), not of the files now.
    const stored = cache ? await dayKey(dir, codes, from, to, t, gapTolerance, statOf) : null;
    if (stored !== null && month && cache?.write) {
      entry.key = stored;
      month.f.entries.set(d0, entry);
      await Deno.writeTextFile(month.path, cacheLine(entry), { append: true });
      month.f.appended++;
    }
    options.onDay?.(false);
  }
  // A file grown by days detected again (another spec, changed files) is rewritten with one
  // line per day, and so is one written before lines carried digests, its lines with them.
  for (const [path, f] of monthFiles) {
    if (!cache?.write || (f.lines + f.appended <= f.entries.size && !f.old)) continue;
    const text = [...f.entries.values()].sort((a, b) => a.day - b.day).map(cacheLine).join("");
    await writeFileAtomic(path, text);
  }
  return days;
}

/**
 * The second part of {@linkcode detectSdsTriggers}: a channel's days joined into its triggers,
 * with the dead time applied, and its problems, each once (a channel without any day file in
 * the span is a `missing channel` problem).
 *
 * @param dir The archive root.
 * @param codes [network, station, location, channel].
 * @param start First onset kept, ms since 1970 UTC.
 * @param end Onsets stop before this, ms since 1970 UTC.
 * @param t The spec, with `dead` given.
 * @param days The channel's days from start until end ({@linkcode detectSdsDays}), in order.
 * @returns the triggers and the problems (and `longest`: {@linkcode DetectionResult}).
 */
export function finishDetection(
  dir: string,
  codes: readonly [string, string, string, string],
  start: number,
  end: number,
  t: { dead: number },
  days: readonly DetectionDay[],
): DetectionResult {
  const id = codes.join(".");
  const problems: DetectionProblem[] = [];
  for (const p of days.flatMap((d) => d.problems)) addProblem(problems, p);
  if (days.some((d) => d.found)) {
    // A whole day inside the span whose own day file is missing (where others exist) has no
    // triggers: listed, so that it does not pass for a quiet day. (A day the span only touches
    // at its ends may be one the archive does not reach yet.)
    for (const d of days) {
      const path = sdsPaths(dir, codes, d.day, d.day)[0];
      if (d.day < start || d.day + DAY_MS > end || fileExists(path)) continue;
      const what = notAFile(path);
      problems.push({
        source: path,
        reason: "missing channel",
        message: `Cannot detect triggers on ${id} on ${
          new Date(d.day).toISOString().slice(0, 10)
        }: its day file ${path} ${what ? `is ${what}` : "does not exist"} (no triggers that day)`,
      });
    }
  } else {
    // A directory or a link to nothing at a day file's path is named as such.
    const inPlace = notAFileAmong(sdsPaths(dir, codes, start, end - 1));
    const span = `from ${new Date(start).toISOString()} to ${new Date(end).toISOString()}`;
    problems.push({
      source: id,
      reason: "missing channel",
      message: inPlace
        ? `Cannot detect triggers on ${id}: ${dir} holds no day file of it ${span}: ${inPlace}`
        : `Cannot detect triggers on ${id}: ${dir} holds no day file of it ${span} (e.g. ${
          sdsPaths(dir, codes, start, start)[0]
        }); a station that records U, V, W or 1, 2, 3 without Z triggers on a channel listed ` +
          `as one of those`,
    });
  }
  const all = days.flatMap((d) =>
    d.triggers.map(([on, trigger, off, peak]) => ({ on, trigger, off, peak }))
  );
  all.sort((a, b) => a.on - b.on);
  const detections: Detection[] = [];
  for (const det of all) {
    const last = detections.at(-1);
    if (last && det.on - last.on < t.dead * 1000) continue;
    if (last && Math.abs(det.trigger - last.trigger) <= SAME_TRIGGER_MS) continue;
    detections.push(det);
  }
  // The LTA longer than every stretch of data read (the ratio never formed): its cause of no
  // triggers, for extract's message, rather than an ON too high.
  const read = days.filter((d) => d.found);
  if (!detections.length && read.length && read.every((d) => d.short !== undefined)) {
    return { detections, problems, longest: Math.max(...read.map((d) => d.short!)) };
  }
  return { detections, problems };
}

/** One channel's detection, as {@linkcode detectSdsTriggers} takes it (a worker's job). */
export interface DetectionJob {
  /** The archive root. */
  dir: string;
  /** [network, station, location, channel]. */
  codes: [string, string, string, string];
  /** First onset kept, ms since 1970 UTC. */
  start: number;
  /** Onsets stop before this, ms since 1970 UTC. */
  end: number;
  /** The spec, with `band` and `dead` given. */
  spec: SdsTrigger & { band: [number, number]; dead: number };
  /** Largest gap merged, s. */
  gapTolerance: number;
  /** Where days detected before are kept, or null. */
  cache?: DetectionCache | null;
}

/** What {@linkcode detectSdsTriggers} returns for one channel. */
export type DetectionResult = {
  detections: Detection[];
  problems: DetectionProblem[];
  /**
   * Where no day's data held a continuous stretch longer than the LTA (so none triggered): the
   * longest stretch, s.
   */
  longest?: number;
};

/**
 * The calendar months of a span: [start, end) cut at the first millisecond of each month.
 *
 * @param start Span start, ms since 1970 UTC.
 * @param end Span end, ms.
 * @returns the pieces, in order.
 */
export function monthSpans(start: number, end: number): [number, number][] {
  const out: [number, number][] = [];
  for (let a = start; a < end;) {
    const d = new Date(a);
    const b = Math.min(end, Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
    out.push([a, b]);
    a = b;
  }
  return out;
}

/**
 * Runs detection jobs on `workers` Web Workers (lib/io/_detect_worker.ts); with 0 workers, in
 * this thread. A channel's job is cut into calendar months ({@linkcode monthSpans}), detected
 * one month per worker at a time ({@linkcode detectSdsDays}), and joined in order
 * ({@linkcode finishDetection}): a year of one channel keeps every worker busy, and the
 * triggers are those of one pass. `close` ends the workers.
 *
 * @param workers Number of workers (0: this thread).
 * @returns `detect` (one channel's result; its `onDay` is called as each UTC day of the job's
 *   span is done) and `close`.
 */
export function detectionPool(workers: number): {
  detect: (job: DetectionJob, onDay?: (kept: boolean) => void) => Promise<DetectionResult>;
  close: () => void;
} {
  type Waiting = {
    job: DetectionJob;
    onDay?: (kept: boolean) => void;
    resolve: (r: DetectionDay[]) => void;
    reject: (e: Error) => void;
  };
  const queue: Waiting[] = [];
  const idle: Worker[] = [];
  const all: Worker[] = [];
  const busy = new Map<Worker, Waiting>();
  const next = () => {
    while (idle.length && queue.length) {
      const w = idle.pop()!, item = queue.shift()!;
      busy.set(w, item);
      w.postMessage(item.job);
    }
  };
  const spawn = () => {
    const w = new Worker(new URL("./_detect_worker.ts", import.meta.url).href, { type: "module" });
    w.onmessage = (
      ev: MessageEvent<
        { day: boolean } | { ok: true; result: DetectionDay[] } | {
          ok: false;
          message: string;
          user: boolean;
          name: string;
          code?: string;
        }
      >,
    ) => {
      const item = busy.get(w)!;
      if ("day" in ev.data) {
        item.onDay?.(ev.data.day);
        return;
      }
      busy.delete(w);
      idle.push(w);
      const m = ev.data;
      if (m.ok) item.resolve(m.result);
      else {
        const errors = Deno.errors as unknown as Record<string, ErrorConstructor | undefined>;
        const e = new (m.user ? UserError : errors[m.name] ?? Error)(m.message);
        item.reject(m.code === undefined ? e : Object.assign(e, { code: m.code }));
      }
      next();
    };
    w.onerror = (ev) => {
      ev.preventDefault();
      busy.get(w)?.reject(new Error(`Cannot detect triggers: a worker failed: ${ev.message}`));
      busy.delete(w);
    };
    all.push(w);
    idle.push(w);
  };
  const days = (job: DetectionJob, onDay?: (kept: boolean) => void): Promise<DetectionDay[]> =>
    workers <= 0
      ? detectSdsDays(job.dir, job.codes, job.start, job.end, job.spec, job.gapTolerance, {
        cache: job.cache,
        onDay,
      })
      : new Promise((resolve, reject) => {
        if (all.length < workers && idle.length === 0) spawn();
        queue.push({ job, onDay, resolve, reject });
        next();
      });
  return {
    detect: async (job, onDay) => {
      const parts = monthSpans(job.start, job.end)
        .map(([start, end]) => days({ ...job, start, end }, onDay));
      // Every part settles before the first error is thrown: none is left writing the cache.
      const settled = await Promise.allSettled(parts);
      const failed = settled.find((r) => r.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
      const joined = settled.flatMap((r) => (r as PromiseFulfilledResult<DetectionDay[]>).value);
      return finishDetection(job.dir, job.codes, job.start, job.end, job.spec, joined);
    },
    close: () => {
      for (const w of all) w.terminate();
    },
  };
}

/**
 * Network coincidence: which triggers have triggers at `stations` or more stations (their own
 * included) with onsets within `window` seconds of theirs.
 *
 * @param channels Each channel's station (e.g. `NET.STA`) and its triggers' onsets (ms).
 * @param stations Stations needed.
 * @param window Seconds either side of an onset.
 * @returns per channel, per trigger, whether it is kept.
 * @example
 * ```ts
 * import { coincident } from "./sds_triggers.ts";
 * const keep = coincident([
 *   { station: "XX.A", onsets: [0, 60_000] },
 *   { station: "XX.B", onsets: [2_000] },
 *   { station: "XX.C", onsets: [30_000] },
 * ], 2, 5);
 * if (JSON.stringify(keep) !== "[[true,false],[true],[false]]") throw new Error();
 * ```
 */
export function coincident(
  channels: readonly { station: string; onsets: readonly number[] }[],
  stations: number,
  window: number,
): boolean[][] {
  const all = channels.flatMap((c) => c.onsets.map((t) => ({ t, station: c.station })))
    .sort((a, b) => a.t - b.t);
  const w = window * 1000;
  let lo = 0, hi = 0;
  const near = (t: number) => {
    while (lo < all.length && all[lo].t < t - w) lo++;
    while (hi < all.length && all[hi].t <= t + w) hi++;
    const seen = new Set<string>();
    for (let i = lo; i < hi && seen.size < stations; i++) seen.add(all[i].station);
    return seen.size >= stations;
  };
  // Asked in time order over all channels, so that the two pointers only move forward.
  const asks = channels.flatMap((c, i) => c.onsets.map((t, j) => ({ t, i, j })))
    .sort((a, b) => a.t - b.t);
  const out = channels.map((c) => c.onsets.map(() => false));
  for (const a of asks) out[a.i][a.j] = near(a.t);
  return out;
}
