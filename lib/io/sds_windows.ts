/**
 * Samples at regular times from the continuous data of an SDS archive, without picks: for
 * tremor, icequakes, noise and whatever else a catalogue of picks leaves out. Window i of a
 * channel has reference time `start + i·step` (every one before `end`); extract crops it as it
 * crops a pick's sample, `spectrogram.before` s before to `spectrogram.after` s after, so a
 * window and a pick's sample at the same time give the same spectrogram: bit for bit where the
 * window is preprocessed on its own (`chunk` 0, or where the data do not cover its chunk), else
 * to rounding (the windows of a chunk are cut from one preprocessed trace of it; see extract's
 * `windowChunks`).
 *
 * Labels, where known, come from a CSV of intervals (`start,end,label`, ISO 8601 UTC): a window
 * takes the label of the interval that fills the largest share of the shorter of the two (its
 * crop or the interval), the shorter interval on a tie ({@linkcode intervalLabeller}), or none.
 *
 * @module
 */
import { basename } from "node:path";
import { parseCsv, refuseRepeatedColumns } from "./csv.ts";
import {
  checkSdsRoot,
  fileExists,
  findSdsFiles,
  notAFileAmong,
  parseUtc,
  type SampleTask,
  type SdsLookup,
  sdsPaths,
} from "./manifest.ts";
import { UserError } from "../util/errors.ts";
import {
  checkTrigger,
  coincident,
  type Detection,
  type DetectionProblem,
  type SdsTrigger,
} from "./sds_triggers.ts";
import { readFailure, readInputText } from "./input_file.ts";

/** `input.windows` of an SDS config: when the samples are cut, from which channels. */
export interface SdsWindows {
  /** First reference time, ISO 8601 UTC. */
  start: string;
  /** Reference times stop before this, ISO 8601 UTC. */
  end: string;
  /** Seconds from one reference time to the next; null with `trigger`. */
  step: number | null;
  /**
   * Samples at STA/LTA triggers instead of every `step` seconds: each channel's onsets from
   * `start` until `end` are its reference times (lib/io/sds_triggers.ts); null: at
   * regular times.
   */
  trigger: SdsTrigger | null;
  /**
   * Channels as `NET.STA.LOC.CHA` (LOC may be empty: `XX.STA..HHZ`); `*` and `?` match any codes
   * the archive holds (`XX.*.*.HHZ`). With components, the last letter of CHA is replaced by
   * each (`XX.STA..HHZ` with Z, N, E reads HHZ, HHN and HHE).
   */
  channels: string[];
  /** CSV of labelled intervals (`start,end,label`), or null. */
  labels: string | null;
  /**
   * Seconds of window times preprocessed together (default 1800): the windows of a chunk are
   * cut from one preprocessed trace of the chunk with minutes of margin each side, instead of
   * each from its own 11 minutes; 0: each window on its own (then equal to a pick's sample bit
   * for bit).
   */
  chunk: number;
}

/** A labelled time interval, ms since 1970 UTC. */
export interface LabelInterval {
  /** Start, ms since 1970 UTC. */
  start: number;
  /** End (after start), ms since 1970 UTC. */
  end: number;
  /** The class of what the interval holds. */
  label: string;
}

/**
 * Fewest triggers of a channel in one chunk for the chunk to be preprocessed for them: a
 * 30-minute chunk with its margins costs about as much as five 11-minute windows cut on their
 * own (a synthetic day's 191 triggers, about 2 per chunk: 8.3 s all chunked, 4.4–4.7 s all on
 * their own, 4.6 s with this rule), so a chunk pays only where triggers crowd (an aftershock
 * sequence, a swarm).
 */
export const MIN_CHUNK_TRIGGERS = 8;

/** At most this many windows (channels × times) per run: their task list takes ~1.9 GB. */
export const MAX_WINDOWS = 5_000_000;

/**
 * Splits a channel given as `NET.STA.LOC.CHA`.
 *
 * @param s The text.
 * @param where What it came from, for messages (e.g. `input.windows.channels[2]`).
 * @returns [network, station, location, channel].
 * @throws {UserError} when it is not of that form.
 * @example
 * ```ts
 * import { parseChannelId } from "./sds_windows.ts";
 * const [net, sta, loc, cha] = parseChannelId("XX.ABC..HHZ", "channel");
 * if (net !== "XX" || sta !== "ABC" || loc !== "" || cha !== "HHZ") throw new Error();
 * ```
 */
export function parseChannelId(s: string, where: string): [string, string, string, string] {
  const p = s.trim().split(".");
  if (p.length !== 4 || !p[0] || !p[1] || !p[3] || p.some((x) => /[\s/\\]/.test(x))) {
    throw new UserError(
      `Cannot read ${where}: expected a channel as NET.STA.LOC.CHA (LOC may be empty, as in ` +
        `XX.ABC..HHZ; * and ? match any codes, as in XX.*.*.HHZ): found '${s}'`,
    );
  }
  return [p[0], p[1], p[2], p[3]];
}

/** Whether a code has the wildcards `*` (any run of characters) or `?` (one character). */
const isPattern = (code: string) => /[*?]/.test(code);

/** A code pattern (`*`, `?`) as a whole-string regular expression. */
function codeRegex(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*")
    .replaceAll("?", ".");
  return new RegExp(`^${body}$`);
}

function listDir(path: string): string[] {
  try {
    return [...Deno.readDirSync(path)].map((e) => e.name);
  } catch {
    return []; // no such directory: nothing there
  }
}

/**
 * The channels of an SDS archive that match a `NET.STA.LOC.CHA` pattern (`*` any run of
 * characters, `?` one, in any of the four codes) in the years of a span, from its directories
 * and day-file names; a pattern without wildcards is itself.
 *
 * @param dir The archive root.
 * @param id The pattern, split ({@linkcode parseChannelId}).
 * @param start Start of the span, ms.
 * @param end End of the span, ms.
 * @returns the channels found, sorted.
 */
export function expandChannelPattern(
  dir: string,
  id: readonly [string, string, string, string],
  start: number,
  end: number,
): [string, string, string, string][] {
  if (!id.some(isPattern)) return [[...id] as [string, string, string, string]];
  const [net, sta, loc, cha] = id.map(codeRegex);
  const found = new Set<string>();
  const y0 = new Date(start).getUTCFullYear(), y1 = new Date(end).getUTCFullYear();
  for (let y = y0; y <= y1; y++) {
    for (const n of listDir(`${dir}/${y}`).filter((x) => net.test(x))) {
      for (const s of listDir(`${dir}/${y}/${n}`).filter((x) => sta.test(x))) {
        for (const c of listDir(`${dir}/${y}/${n}/${s}`)) {
          if (!c.endsWith(".D") || !cha.test(c.slice(0, -2))) continue;
          for (const f of listDir(`${dir}/${y}/${n}/${s}/${c}`)) {
            // NET.STA.LOC.CHA.D.YEAR.DOY
            const parts = f.split(".");
            if (
              parts.length === 7 && parts[0] === n && parts[1] === s &&
              parts[3] === c.slice(0, -2) &&
              loc.test(parts[2])
            ) found.add(parts.slice(0, 4).join("."));
          }
        }
      }
    }
  }
  return [...found].sort().map((x) => x.split(".") as [string, string, string, string]);
}

/**
 * Refuses a channel named in full that has no day file at all in the span (the day before and
 * after included, which its first and last windows may read): a mistyped location code, a
 * station of another network or a span outside the archive, which would otherwise fail every
 * window alone. The message says what the archive holds instead: the channel's own days, or the
 * station's other channels.
 */
function noDayFiles(
  dir: string,
  id: readonly [string, string, string, string],
  start: number,
  end: number,
  where: string,
  band: boolean,
): void {
  const day = 86_400_000;
  // With components, the id stands for its band (HHZ: HHZ, HHN, HHE, or HH1, HH2, HH3 to rotate).
  const ids = band
    ? [
      id,
      ...expandChannelPattern(dir, [id[0], id[1], id[2], `${id[3].slice(0, -1)}?`], start, end),
    ]
    : [id];
  if (ids.some((x) => sdsPaths(dir, x, start - day, end + day).some(fileExists))) return;
  const [net, sta, , cha] = id;
  const name = id.join(".");
  const iso = (t: number) => new Date(t).toISOString().slice(0, 10);
  // The channel's days in any year of the archive, else the station's channels in the span's.
  const days = listDir(dir).filter((y) => /^\d{4}$/.test(y)).flatMap((y) =>
    listDir(`${dir}/${y}/${net}/${sta}/${cha}.D`).filter((f) => f.startsWith(`${name}.D.`)).map((
      f,
    ) => f.slice(name.length + 3))
  ).sort();
  const others = days.length ? [] : expandChannelPattern(dir, [net, sta, "*", "*"], start, end)
    .map((x) => x.join("."));
  // A day file of the span in place but not a file (a directory, a link to nothing) is named as
  // such: its name alone made the message say the archive held the very days it lacked.
  const inPlace = notAFileAmong(sdsPaths(dir, id, start - day, end + day));
  if (inPlace) {
    throw new UserError(
      `Cannot use ${where}: the archive ${dir} holds no day file of ${name} from ${iso(start)} ` +
        `to ${iso(end)}: ${inPlace}`,
    );
  }
  throw new UserError(
    `Cannot use ${where}: the archive ${dir} holds no day file of ${name} from ${iso(start)} to ${
      iso(end)
    }: ${
      days.length
        ? `it holds ${name} from ${days[0]} to ${days.at(-1)} (YEAR.DOY)`
        : others.length
        ? `it holds ${others.slice(0, 6).join(", ")}${others.length > 6 ? ", ..." : ""} of ` +
          `${net}.${sta}`
        : `it holds no channel of ${net}.${sta} in those years`
    }`,
  );
}

/**
 * How many window times {@linkcode windowTimes} lists for a span, counted without listing them.
 *
 * @param start First time, ms.
 * @param end Times stop before this, ms.
 * @param stepMs Step, ms (> 0).
 * @returns the count of i ≥ 0 with `start + i·step` before `end`.
 * @example
 * ```ts
 * import { windowCount } from "./sds_windows.ts";
 * if (windowCount(0, 100_000, 43_000) !== 3) throw new Error();
 * ```
 */
export function windowCount(start: number, end: number, stepMs: number): number {
  if (!(start < end)) return 0;
  let n = Math.ceil((end - start) / stepMs);
  // The division rounds; windowTimes' own test decides the last one.
  while (n > 0 && !(start + (n - 1) * stepMs < end)) n--;
  while (start + n * stepMs < end) n++;
  return n;
}

/**
 * The window times of a span: `start + i·step` for every i ≥ 0 that falls before `end`.
 *
 * @param start First time, ms.
 * @param end Times stop before this, ms.
 * @param stepMs Step, ms (> 0).
 * @returns the times, ascending.
 * @example
 * ```ts
 * import { windowTimes } from "./sds_windows.ts";
 * if (windowTimes(0, 100_000, 43_000).join() !== "0,43000,86000") throw new Error();
 * ```
 */
export function windowTimes(start: number, end: number, stepMs: number): number[] {
  const n = windowCount(start, end, stepMs);
  if (n > MAX_WINDOWS) {
    throw new RangeError(
      `Cannot list the window times: ${n} is more than ${MAX_WINDOWS} (count them first)`,
    );
  }
  const out: number[] = [];
  for (let i = 0;; i++) {
    const t = start + i * stepMs;
    if (!(t < end)) return out;
    out.push(t);
  }
}

/**
 * The times of a windows spec, checked: start and end are ISO times, end after start, and
 * either a step of at least a millisecond or a trigger (not both).
 *
 * @param w The spec.
 * @param where Its field, for messages (`input.windows`).
 * @returns start and end (ms) and the step (ms; null with a trigger).
 * @throws {UserError} naming the field.
 */
export function windowSpan(
  w: Pick<SdsWindows, "start" | "end" | "step"> & { trigger?: SdsTrigger | null },
  where = "input.windows",
): { start: number; end: number; stepMs: number | null } {
  const time = (field: "start" | "end") => {
    try {
      const t = parseUtc(w[field]);
      if (t === null) throw new RangeError("it is empty");
      return t;
    } catch (e) {
      throw new UserError(`Cannot use ${where}.${field}: ${(e as Error).message}`);
    }
  };
  const start = time("start"), end = time("end");
  if (!(end > start)) {
    throw new UserError(
      `Cannot use ${where}: end (${w.end}) must be after start (${w.start})`,
    );
  }
  const trigger = w.trigger ?? null;
  if ((w.step === null) === (trigger === null)) {
    throw new UserError(
      `Cannot use ${where}: give step (a sample every step seconds) or trigger (a sample at ` +
        `each STA/LTA trigger): found ${trigger ? "both" : "neither"}`,
    );
  }
  if (trigger) {
    checkTrigger(trigger, `${where}.trigger`);
    return { start, end, stepMs: null };
  }
  if (!(w.step! >= 0.001)) {
    throw new UserError(`Cannot use ${where}.step: expected at least 0.001 s: found ${w.step}`);
  }
  // Counted before any list is made: a 1 ms step over a year would list 3·10¹⁰ times.
  const n = windowCount(start, end, w.step! * 1000);
  if (n > MAX_WINDOWS) {
    // Rounded up to 3 digits, so that the step it names is enough.
    const exact = (end - start) / 1000 / MAX_WINDOWS;
    const unit = 10 ** (Math.floor(Math.log10(exact)) - 2);
    const least = Math.ceil(exact / unit) * unit;
    throw new UserError(
      `Cannot use ${where}.step: ${w.step} s from ${w.start} to ${w.end} makes ${n} windows a ` +
        `channel: expected at most ${MAX_WINDOWS} in one run (a step of at least ` +
        `${Number(least.toPrecision(3))} s over this span): use a longer step or a shorter span ` +
        `(start, end), and run again for the rest`,
    );
  }
  return { start, end, stepMs: w.step! * 1000 };
}

/** Refuses a run of more than {@linkcode MAX_WINDOWS} windows. */
function tooMany(channels: number, total: number, stepMs: number | null): never {
  throw new UserError(
    `Cannot list the windows: ${channels} channel(s) give ${total} samples, more than ` +
      `${MAX_WINDOWS} in one run: extract a shorter span (start, end)${
        stepMs === null ? ", raise the trigger's on threshold" : " or use a longer step"
      }, and run again for the rest`,
  );
}

/**
 * Reads a CSV of labelled intervals: columns `start`, `end` (ISO 8601 UTC) and `label`, one
 * interval per row, end after start. Intervals may overlap.
 *
 * @param path The file.
 * @returns the intervals, in file order.
 * @throws {UserError} naming the file, the line and the field.
 */
export async function readLabelIntervals(path: string): Promise<LabelInterval[]> {
  let text: string;
  try {
    text = await readInputText(path);
  } catch (e) {
    throw new UserError(`Cannot read the window labels ${path}: ${readFailure(e)}`);
  }
  const rows = parseCsv(text, ",", { keepEmptyLines: true, source: `window labels ${path}` });
  const header = (rows[0] ?? []).map((h) => h.trim());
  refuseRepeatedColumns(header, `window labels ${path}`, ["start", "end", "label"]);
  const col = { start: header.indexOf("start"), end: header.indexOf("end") };
  const labelCol = header.indexOf("label");
  if (col.start < 0 || col.end < 0 || labelCol < 0) {
    throw new UserError(
      `Cannot read the window labels ${path}: expected columns start,end,label: found ${
        header.join(",") || "nothing"
      }`,
    );
  }
  const out: LabelInterval[] = [];
  for (const [i, r] of rows.entries()) {
    if (i === 0 || r.every((f) => f.trim() === "")) continue;
    const line = i + 1;
    const time = (name: "start" | "end") => {
      let t: number | null;
      try {
        t = parseUtc(r[col[name]] ?? "");
      } catch (e) {
        throw new UserError(`Cannot read ${path}, line ${line}, ${name}: ${(e as Error).message}`);
      }
      if (t === null) throw new UserError(`Cannot read ${path}, line ${line}: ${name} is empty`);
      return t;
    };
    const start = time("start"), end = time("end");
    if (!(end > start)) {
      throw new UserError(
        `Cannot read ${path}, line ${line}: end (${r[col.end]}) must be after start (${
          r[col.start]
        })`,
      );
    }
    const label = (r[labelCol] ?? "").trim();
    if (!label) throw new UserError(`Cannot read ${path}, line ${line}: label is empty`);
    out.push({ start, end, label });
  }
  return out;
}

/**
 * Labels spans by the intervals they share the most with: an interval scores the fraction of
 * the shorter of the two (the span or the interval) that their overlap fills, and on a tie the
 * shorter interval wins (the more specific: an earthquake inside a tremor episode), then the
 * one listed first. So an event wholly inside a window labels it, however short (score 1, where
 * the background noise around it scores less, or, if one interval of noise covers the window,
 * as much but longer); a window wholly inside a tremor episode takes its label; and a window
 * across a boundary, the side that fills more of it.
 *
 * @param intervals The intervals (any order; overlapping allowed).
 * @returns a function from a span [t0, t1] to the label of the interval with the highest score,
 *   or null where none overlaps it.
 * @example
 * ```ts
 * import { intervalLabeller } from "./sds_windows.ts";
 * const at = intervalLabeller([
 *   { start: 0, end: 100, label: "noise" },
 *   { start: 40, end: 50, label: "explosion" },
 *   { start: 100, end: 300, label: "tremor" },
 * ]);
 * // [20, 80]: all 10 s of the explosion and all of the window in the noise; the explosion is
 * // shorter. [90, 150]: 50 of its 60 s in the tremor.
 * if (at(20, 80) !== "explosion" || at(90, 150) !== "tremor" || at(400, 500) !== null) {
 *   throw new Error();
 * }
 * ```
 */
export function intervalLabeller(
  intervals: readonly LabelInterval[],
): (t0: number, t1: number) => string | null {
  const order = intervals.map((iv, i) => ({ ...iv, i })).sort((a, b) =>
    a.start - b.start || a.i - b.i
  );
  // The latest end among the first j intervals by start: walking back from the last one that
  // starts before t1, none earlier can overlap once this is at or before t0.
  const maxEnd: number[] = [];
  order.forEach((iv, j) => maxEnd.push(Math.max(iv.end, j ? maxEnd[j - 1] : -Infinity)));
  return (t0, t1) => {
    let lo = 0, hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (order[mid].start < t1) lo = mid + 1;
      else hi = mid;
    }
    let best: (typeof order)[number] | null = null, bestScore = 0;
    for (let j = lo - 1; j >= 0 && maxEnd[j] > t0; j--) {
      const iv = order[j];
      const len = Math.min(iv.end, t1) - Math.max(iv.start, t0);
      if (!(len > 0)) continue;
      const score = len / Math.min(iv.end - iv.start, t1 - t0);
      const tie = best !== null && score === bestScore;
      const shorter = tie && iv.end - iv.start < best!.end - best!.start;
      const same = tie && iv.end - iv.start === best!.end - best!.start;
      if (score > bestScore || shorter || (same && iv.i < best!.i)) {
        best = iv;
        bestScore = score;
      }
    }
    return best?.label ?? null;
  };
}

/**
 * A window's id part for its time: `20240101T000043Z`, with milliseconds where not whole; a
 * time below the millisecond (a trigger's onset at 4 kHz) rounded to the nearest, so that ids
 * stay those of the onsets rounded to the millisecond before they were kept to the microsecond.
 */
export function windowStamp(t: number): string {
  const iso = new Date(Math.round(t)).toISOString().replace(/[-:]/g, "");
  return iso.endsWith(".000Z") ? iso.slice(0, -5) + "Z" : iso;
}

/**
 * Lists the windows of an SDS archive as samples: for every channel, one per window time (or
 * per trigger, with `w.trigger`),
 * with the day files that cover its crop and the minutes `extract` keeps around it. Sample ids
 * are `NET.STA.LOC.CHA.TIME` (e.g. `XX.ABC.00.HHZ.20240101T000043Z`). A window whose day files
 * do not exist fails as `missing channel`, naming them; one that needs two days of which one
 * is missing names it when the trace proves too short.
 *
 * @param w The spec (labels path resolved by the caller).
 * @param stations Response file for every sample, or null.
 * @param look The archive and the channels each sample stacks.
 * @param span Milliseconds of data read before and after each reference time.
 * @param crop Seconds cropped before and after each reference time (for the labels).
 * @param options `oneChannelPerBand`: a pattern's channels that differ only in their last letter
 *   make one sample (the first, sorted), for extract's components, which replace that letter.
 *   `chunkSpan`: the span (ms) a window's chunk is preprocessed over
 *   ({@linkcode SampleTask.preprocessSpan}; its day files are found for it), or null.
 *   `detect`: with `w.trigger`, a channel's triggers from start until end (extract's
 *   `detectSdsTriggers` (lib/io/sds_triggers.ts) with the config's defaults); their onsets are its reference
 *   times, and each problem it meets (a day file it cannot decode) becomes a failed task,
 *   `NET.STA.LOC.CHA.detection.YEAR.DOY`. `detectConcurrency`: channels detected at once
 *   (default 1), each calling `onDay` once per UTC day of the span (true: taken from kept
 *   detections); `onDetected`: called with (0, total, 0) before the first channel, then as each
 *   channel-day's detection ends (done, total, how many of those were kept ones);
 *   `onTriggers`: with a coincidence, called with the count of triggers found before it.
 *   `onLtaTooLong`: where no channel's data held a continuous stretch longer than the LTA (none
 *   triggered), called with the longest stretch, s.
 * @returns the tasks, by channel (in the order given; a pattern's matches sorted), then by time.
 * @throws {UserError} when a field is invalid, the labels cannot be read, or there would be
 *   more than {@linkcode MAX_WINDOWS} windows.
 */
export async function sdsWindowTasks(
  w: SdsWindows,
  stations: string | null,
  look: SdsLookup,
  span: readonly [number, number],
  crop: readonly [number, number],
  options: {
    oneChannelPerBand?: boolean;
    chunkSpan?: (t: number) => [number, number] | null;
    detect?: (
      codes: [string, string, string, string],
      start: number,
      end: number,
      onDay?: (kept: boolean) => void,
    ) => Promise<{ detections: Detection[]; problems: DetectionProblem[]; longest?: number }>;
    detectConcurrency?: number;
    onDetected?: (done: number, total: number, kept: number) => void;
    onTriggers?: (found: number) => void;
    onLtaTooLong?: (longest: number) => void;
  } = {},
): Promise<SampleTask[]> {
  const where0 = "input.windows";
  const { start, end, stepMs } = windowSpan(w, where0);
  await checkSdsRoot(look.dir);
  const ids: [string, string, string, string][] = [];
  const seen = new Map<string, string>();
  for (const [i, c] of w.channels.entries()) {
    const where = `input.windows.channels[${i}]`;
    const pattern = parseChannelId(c, where);
    if (!pattern.some(isPattern)) {
      noDayFiles(look.dir, pattern, start, end, where, !!options.oneChannelPerBand);
    }
    const matched = expandChannelPattern(look.dir, pattern, start, end);
    if (matched.length === 0) {
      // What the station holds, as noDayFiles says for a channel named in full.
      const others = expandChannelPattern(look.dir, [pattern[0], pattern[1], "*", "*"], start, end)
        .map((x) => x.join("."));
      throw new UserError(
        `Cannot use ${where}: ${c} matches no channel in ${look.dir} in ${
          new Date(start).getUTCFullYear()
        }–${new Date(end).getUTCFullYear()}${
          others.length
            ? `: it holds ${others.slice(0, 6).join(", ")}${others.length > 6 ? ", ..." : ""} ` +
              `of ${pattern[0]}.${pattern[1]}`
            : " (no YEAR/NET/STA/CHA.D/NET.STA.LOC.CHA.D.YEAR.DOY there)"
        }`,
      );
    }
    // A band's vertical first, so that it names the band's sample.
    if (options.oneChannelPerBand) {
      matched.sort((a, b) => Number(b[3].endsWith("Z")) - Number(a[3].endsWith("Z")));
    }
    for (const id of matched) {
      // With components, one sample per station, location and band: HHZ, HHN and HHE matched by
      // HH? make one sample that reads all three.
      const key = options.oneChannelPerBand
        ? `${id.slice(0, 3).join(".")}.${id[3].slice(0, -1)}?`
        : id.join(".");
      const had = seen.get(key);
      if (had !== undefined) {
        if (pattern.some(isPattern)) continue; // a pattern's band, or two patterns, overlap
        throw new UserError(
          `Cannot use ${where}: ${id.join(".")} makes the same samples as ${had}${
            options.oneChannelPerBand ? " (the components replace the last letter)" : ""
          }`,
        );
      }
      seen.set(key, id.join("."));
      ids.push(id);
    }
  }
  // Each channel's reference times: the regular ones, or its triggers' onsets.
  const timesOf: { times: number[]; detections: Detection[] | null }[] = [];
  const problems: { id: string[]; problem: DetectionProblem }[] = [];
  if (stepMs !== null) {
    // Counted before the list is made (windowSpan bounds one channel's, not every channel's).
    const each = windowCount(start, end, stepMs);
    if (each * ids.length > MAX_WINDOWS) tooMany(ids.length, each * ids.length, stepMs);
    const times = windowTimes(start, end, stepMs);
    for (const _ of ids) timesOf.push({ times, detections: null });
  } else {
    if (!options.detect) {
      throw new UserError(`Cannot list the triggers of ${where0}: no detector was given`);
    }
    // A coincidence of more stations than the channels hold keeps no trigger: say so before
    // detecting (over a long span, hours), not after, as "found no triggers".
    const need = w.trigger?.coincidence?.stations ?? 1;
    const have = new Set(ids.map((id) => `${id[0]}.${id[1]}`));
    if (have.size < need) {
      throw new UserError(
        `Cannot use ${where0}.trigger.coincidence: it keeps a trigger where ${need} stations ` +
          `trigger together, but the channels are of ${have.size} (${[...have].join(", ")}): ` +
          `give fewer stations (--coincidence N) or channels of more (--channels)`,
      );
    }
    // Progress in channel-days: a detector calls onDay once per UTC day of the span.
    const day = 86_400_000;
    const total = ids.length * (Math.floor((end - 1) / day) - Math.floor(start / day) + 1);
    // Channels detected `detectConcurrency` at a time (workers), the results kept in order.
    const results: { detections: Detection[]; problems: DetectionProblem[]; longest?: number }[] =
      [];
    let next = 0, done = 0, kept = 0;
    const detect = options.detect;
    const lane = async () => {
      while (next < ids.length) {
        const i = next++;
        results[i] = await detect(ids[i], start, end, (k) => {
          if (k) kept++;
          options.onDetected?.(++done, total, kept);
        });
      }
    };
    options.onDetected?.(0, total, 0);
    await Promise.all(
      Array.from({ length: Math.max(1, options.detectConcurrency ?? 1) }, lane),
    );
    if (results.length && results.every((r) => r.longest !== undefined)) {
      options.onLtaTooLong?.(Math.max(...results.map((r) => r.longest!)));
    }
    for (const [c, r] of results.entries()) {
      timesOf.push({ times: r.detections.map((d) => d.on), detections: r.detections });
      for (const problem of r.problems) problems.push({ id: ids[c], problem });
    }
    const co = w.trigger?.coincidence;
    if (co) {
      options.onTriggers?.(timesOf.reduce((n, t) => n + t.times.length, 0));
      const keep = coincident(
        ids.map((id, c) => ({ station: `${id[0]}.${id[1]}`, onsets: timesOf[c].times })),
        co.stations,
        co.window,
      );
      for (const [c, t] of timesOf.entries()) {
        t.detections = t.detections!.filter((_, j) => keep[c][j]);
        t.times = t.detections.map((d) => d.on);
      }
    }
  }
  const total = timesOf.reduce((n, t) => n + t.times.length, 0);
  if (total > MAX_WINDOWS) tooMany(ids.length, total, stepMs);
  const labelOf = w.labels ? intervalLabeller(await readLabelIntervals(w.labels)) : null;
  // Thousands of windows share a day file: ask the file system once per file.
  const known = new Map<string, boolean>();
  const exists = look.exists ?? ((p: string) => {
    let e = known.get(p);
    if (e === undefined) {
      try {
        e = Deno.statSync(p).isFile;
      } catch {
        e = false;
      }
      known.set(p, e);
    }
    return e;
  });
  const names = new Map<string, string>();
  const intern = (p: string) => {
    const had = names.get(p);
    if (had !== undefined) return had;
    names.set(p, p);
    return p;
  };
  const tasks: SampleTask[] = [];
  const task0 = ([network, station, location, channel]: string[], suffix: string) => ({
    // Joined, not a template: one flat string (66 bytes) instead of a rope of its parts (190).
    id: [network, station, location, channel, suffix].join("."),
    network,
    station,
    location,
    channel,
    waveforms: [],
    response: stations,
  });
  for (const [c, id] of ids.entries()) {
    const { times, detections } = timesOf[c];
    // Triggers are sparse: a chunk is preprocessed only for the channel's chunks that hold at
    // least MIN_CHUNK_TRIGGERS of them; fewer are cheaper cut on their own.
    const perChunk = new Map<number, number>();
    if (detections && options.chunkSpan) {
      for (const t of times) {
        const k = options.chunkSpan(t)?.[0];
        if (k !== undefined) perChunk.set(k, (perChunk.get(k) ?? 0) + 1);
      }
    }
    for (const [j, t] of times.entries()) {
      const task: SampleTask = {
        ...task0(id, windowStamp(t)),
        referenceTime: t,
        window: true,
        label: labelOf ? labelOf(t - crop[0] * 1000, t + crop[1] * 1000) : null,
      };
      if (detections) {
        const d = detections[j];
        task.detection = { trigger: d.trigger, off: d.off, peak: d.peak };
      }
      let chunk = options.chunkSpan?.(t) ?? null;
      if (chunk && detections && perChunk.get(chunk[0])! < MIN_CHUNK_TRIGGERS) chunk = null;
      const lookHere = { ...look, exists, intern, anyLocation: false };
      if (chunk) {
        // The window's own day files decide whether its channel is missing, as without chunks:
        // a chunk's margin may reach into the next day's file where the window's own is absent
        // (before, such a window failed as 'too short' chunked and 'missing channel' not).
        const own: SampleTask = { ...task, waveforms: [] };
        findSdsFiles(own, t - span[0], t + span[1], lookHere);
        if (own.error) {
          tasks.push(own);
          continue;
        }
        task.preprocessSpan = chunk;
      }
      findSdsFiles(task, chunk?.[0] ?? t - span[0], chunk?.[1] ?? t + span[1], lookHere);
      tasks.push(task);
    }
  }
  // A day file detection could not read: listed and skipped, as a failed sample would be.
  for (const { id, problem } of problems) {
    const day = basename(problem.source).match(/\.(\d{4}\.\d{3})$/)?.[1];
    tasks.push({
      ...task0(id, day ? `detection.${day}` : "detection"),
      referenceTime: null,
      label: null,
      error: { reason: problem.reason, message: problem.message },
    });
  }
  return tasks;
}
