/**
 * Sample lists for `extract`: a CSV manifest, the ESEC directory layout, or the
 * PhaseNet NPZ directory, all turned into {@linkcode SampleTask}s.
 *
 * Manifest CSV, one row per sample, header required:
 *
 * | column | content |
 * |---|---|
 * | `id` | unique sample id |
 * | `waveform` | miniSEED path(s), `;`-separated, relative to the manifest |
 * | `response` | StationXML or SAC pole-zero path(s), `;`-separated, relative to the manifest (empty: none) |
 * | `network`, `station`, `location`, `channel` | SEED codes; `channel` may end in `?` (e.g. `HH?`) when components are stacked |
 * | `reference_time` | ISO 8601 UTC P pick or origin time; empty: look up the P pick in the config's QuakeML |
 * | `event_id` | optional: the QuakeML event (public id, or its last part) whose P pick to use |
 * | `label` | optional class label |
 *
 * A row with a field too few or too many, or an unreadable `reference_time`, fails its sample
 * alone (the task carries the error); a missing column or a duplicate id fails the manifest.
 *
 * @module
 */
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { csvRecords, parseCsv, parseCsvRecords, refuseRepeatedColumns } from "./csv.ts";
import { type BadPick, type PhasePick, readQuakeMlFile } from "./quakeml.ts";
import { UserError } from "../util/errors.ts";
import { compareText, nearestName } from "../util/names.ts";
import { isLeapYear, utcTime, YEAR_10000 } from "../util/utc.ts";
import type { FailureReason } from "./sample_error.ts";
import { readFailure, readInputText } from "./input_file.ts";

/** One sample to extract. */
export interface SampleTask {
  /** Sample id. */
  id: string;
  /** SEED network code. */
  network: string;
  /** SEED station code. */
  station: string;
  /** SEED location code. */
  location: string;
  /** Channel code, or a pattern like `HH?` whose last letter is replaced by each component. */
  channel: string;
  /** miniSEED files (absolute); empty for NPZ input. */
  waveforms: string[];
  /** StationXML or SAC pole-zero file (absolute), or null; the first of `responses`. */
  response: string | null;
  /**
   * Where a manifest row lists several response files (`a.pz;b.pz;c.pz`, one per channel):
   * all of them, absolute; each channel takes the one that holds it (`responseFileFor` in
   * extract.ts).
   */
  responses?: string[];
  /** Reference time, ms since 1970 UTC, or null when unknown (see `pickTimes`). */
  referenceTime: number | null;
  /**
   * When `referenceTime` is null: the P picks at this station of several events, one per
   * event (its earliest), ascending; the extractor takes the one whose window the waveform
   * covers (`choosePick` in extract.ts).
   */
  pickTimes?: { time: number; eventId: string; sTime?: number }[];
  /** Why this sample cannot be used, found while reading its row; the extractor reports it. */
  error?: { reason: FailureReason; message: string };
  /** SDS day files the sample's span needs that do not exist (named when it fails). */
  missingFiles?: string[];
  /**
   * SDS windows: the span (ms) preprocessed once for all the windows of a chunk, from which
   * this sample is cut, instead of its own crop with 5 minutes each side ({@linkcode
   * SampleTask.referenceTime} lies inside it).
   */
  preprocessSpan?: [number, number];
  /**
   * SDS windows at STA/LTA triggers: the trigger's onset and end (ms since 1970 UTC) and its
   * largest ratio (the reference time is its onset, or the AIC pick near it).
   */
  detection?: { trigger: number; off: number; peak: number };
  /**
   * The S arrival of the sample's event at its station, ms since 1970 UTC, where the input
   * gives one: the QuakeML's S pick of the same event and station (SDS with P picks), or a
   * PhaseNet row's `its`. samples.csv's `s_minus_p` is its time after the reference (P).
   */
  sTime?: number;
  /**
   * A regular window or a window at an STA/LTA trigger (`--windows`, `--trigger`): its
   * reference time is the window's, not a pick's.
   */
  window?: true;
  /** Class label, or null when unknown. */
  label: string | null;
  /**
   * The event the sample records, where the input names it: a QuakeML event's public id (SDS
   * with picks, or a manifest placed by picks), a manifest's `event_id`, an ESEC `eventid`, or
   * the associated event of a trigger; samples.csv's `event` column.
   */
  event?: string;
  /** Manifest input: the task's row (the header is row 1), named where its file is missing. */
  row?: number;
  /** NPZ input: the file, its sampling rate and P index. */
  npz?: { path: string; samplingRate: number; itp: number; startTime: number };
}

/** Manifest columns, in the order `synth` writes them. */
export const MANIFEST_HEADER = [
  "id",
  "waveform",
  "response",
  "network",
  "station",
  "location",
  "channel",
  "reference_time",
  "label",
] as const;

/** Every column a manifest may have: {@linkcode MANIFEST_HEADER}'s and the optional ones. */
const MANIFEST_COLUMNS: readonly string[] = [...MANIFEST_HEADER, "event_id", "s_time"];

const ISO_TIME =
  /^(\d{4})-(?:(\d{2})-(\d{2})|(\d{3}))(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?([zZ]|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * A sample's reference time as samples.csv gives it (ISO 8601 UTC, to the microsecond where it
 * has a part below the millisecond), in ms with that part kept (`Date.parse` drops it), or NaN
 * where there is none or it is no time.
 *
 * @param s The text, or nothing.
 * @returns ms since 1970 UTC, or NaN.
 * @example
 * ```ts
 * import { sampleTime } from "./manifest.ts";
 * if (sampleTime("2024-01-01T00:09:20.790875Z") !== Date.UTC(2024, 0, 1, 0, 9, 20) + 790.875) {
 *   throw new Error();
 * }
 * ```
 */
export function sampleTime(s: string | null | undefined): number {
  if (!s) return NaN;
  try {
    return parseUtc(s) ?? NaN;
  } catch {
    return NaN;
  }
}

/**
 * Parses an ISO 8601 time as UTC: `YYYY-MM-DD` or `YYYY-DDD` (day of year, as ObsPy's
 * UTCDateTime reads it), optionally `THH:MM[:SS[.fraction]]` (a space may replace the `T`)
 * and a zone `Z` or `±HH[:MM]`; a missing zone means UTC. Fractions finer than a millisecond
 * are kept as fractional milliseconds. Every field is range-checked (no 30 February, no hour
 * 24, no leap second).
 *
 * @param s The time text.
 * @returns ms since 1970 UTC, or null when `s` is empty.
 * @throws {RangeError} naming the text when it is not such a time.
 * @example
 * ```ts
 * import { parseUtc } from "./manifest.ts";
 * if (parseUtc("2020-032T12:00:00.5") !== Date.UTC(2020, 1, 1, 12, 0, 0, 500)) throw new Error();
 * ```
 */
export function parseUtc(s: string): number | null {
  const t = s.trim();
  if (t === "") return null;
  const bad = (why: string) =>
    new RangeError(
      `Cannot read the time '${t}': expected ISO 8601 UTC such as 2020-01-31T12:00:00.5Z: ${why}`,
    );
  const m = ISO_TIME.exec(t);
  if (!m) throw bad("not of that form");
  const [, y, mo, d, doy, hh = "0", mi = "0", ss = "0", frac = "", zone = "Z"] = m;
  const year = Number(y);
  const leap = isLeapYear(year);
  // Month index and day of that month; day n of January is day of year n (Date.UTC rolls on).
  let month0: number, day: number;
  if (doy !== undefined) {
    [month0, day] = [0, Number(doy)];
    if (day < 1 || day > (leap ? 366 : 365)) {
      throw bad(`day of year ${day} does not exist in ${year}`);
    }
  } else {
    [month0, day] = [Number(mo) - 1, Number(d)];
    const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month0];
    if (!days) throw bad(`month ${month0 + 1} does not exist`);
    if (day < 1 || day > days) throw bad(`day ${day} does not exist in ${y}-${mo}`);
  }
  const [h, min, sec] = [Number(hh), Number(mi), Number(ss)];
  if (h > 23 || min > 59 || sec > 59) throw bad("hour, minute or second out of range");
  let offsetMin = 0;
  if (zone !== "Z" && zone !== "z") {
    const zm = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    const [zh, zmin] = [Number(zm[2]), Number(zm[3] ?? "0")];
    if (zh > 23 || zmin > 59) throw bad(`zone ${zone} out of range`);
    offsetMin = (zm[1] === "-" ? -1 : 1) * (zh * 60 + zmin);
  }
  // Microseconds, so that 0.123 s gives exactly 123 ms.
  const ms = frac ? Math.round(Number(`0.${frac}`) * 1e6) / 1e3 : 0;
  const time = utcTime(year, month0, day, h, min, sec) + ms - offsetMin * 60_000;
  // 9999-12-31T23:30-01:00 is in the year 10000, which samples.csv cannot write.
  if (time >= YEAR_10000) {
    throw bad("it falls in the year 10000 (UTC), past what samples.csv can write");
  }
  return time;
}

/** P picks of one QuakeML file, by `NET.STA`, for {@linkcode readManifest}. */
interface PickIndex {
  source: string;
  /** Earliest P pick per event, by NET.STA, ascending. */
  byStation: Map<string, { time: number; eventId: string }[]>;
  /** P picks without a valid time, by NET.STA, to name in messages. */
  bad: Map<string, { eventId: string; text: string }[]>;
  /** Earliest S pick per event, by NET.STA (for samples.csv's `s_minus_p`). */
  sByStation: Map<string, { time: number; eventId: string }[]>;
}

/**
 * A picks file that cannot be read or parsed, named as the option it came from (the reader's
 * message without its own "Cannot read FILE: ", which would name the file twice).
 */
function picksError(path: string, e: unknown): UserError {
  const msg = (e as Error).message, own = `Cannot read ${path}: `;
  return new UserError(
    `Cannot read the picks ${path} (--picks, input.picks): ${
      msg.startsWith(own) ? msg.slice(own.length) : msg
    }`,
  );
}

async function readPickIndex(path: string): Promise<PickIndex> {
  const q = await readQuakeMlFile(path).catch(async (e) => {
    // A CSV or other text where QuakeML belongs: say what the option takes.
    const start = await readInputText(path).then((t) => t.trimStart().slice(0, 20), () => "<");
    if (start.startsWith("<")) throw picksError(path, e);
    throw new UserError(
      `Cannot read picks ${path}: expected QuakeML (XML; --picks and input.picks take QuakeML ` +
        `only): found text starting ${JSON.stringify(start)}; for picks in a table, give each ` +
        `sample's time in the manifest's reference_time column`,
    );
  });
  const byStation = new Map<string, { time: number; eventId: string }[]>();
  for (const p of earliestPicks(q.picks, "P")) {
    const k = `${p.network}.${p.station}`;
    if (!byStation.has(k)) byStation.set(k, []);
    byStation.get(k)!.push({ time: p.time, eventId: p.eventId });
  }
  for (const list of byStation.values()) list.sort((a, b) => a.time - b.time);
  const sByStation = new Map<string, { time: number; eventId: string }[]>();
  for (const p of earliestPicks(q.picks, "S")) {
    const k = `${p.network}.${p.station}`;
    if (!sByStation.has(k)) sByStation.set(k, []);
    sByStation.get(k)!.push({ time: p.time, eventId: p.eventId });
  }
  const bad = new Map<string, { eventId: string; text: string }[]>();
  for (const p of q.badPicks) {
    if (!isPhase(p.phase, "P")) continue;
    const k = `${p.network}.${p.station}`;
    if (!bad.has(k)) bad.set(k, []);
    bad.get(k)!.push({ eventId: p.eventId, text: badPickText(p) });
  }
  return { source: path, byStation, bad, sByStation };
}

/** A bad pick for messages: its id, its time as written and why that is no time. */
function badPickText(p: BadPick): string {
  return `pick ${p.pickId || "(no id)"}${p.text ? ` at '${p.text}'` : ""} (${p.why})`;
}

/**
 * Whether a pick's phase hint is of `phase`: P takes P, Pg, Pn, PKP, ..., and a bare `p`, but
 * not the depth phases pP, pwP or sP (case matters in phase names).
 */
function isPhase(hint: string, phase: string): boolean {
  // The phase asked for (`--phase p` means P): its capital, as phase names write it.
  const ph = phase.toUpperCase();
  return hint.startsWith(ph) || hint === ph.toLowerCase();
}

/**
 * One pick of `phase` per event and station (NET.STA): one that the event's preferred origin
 * uses if any (a catalogue may hold automatic picks it did not), else the earliest.
 *
 * @param picks The picks of a QuakeML file (rejected ones already left out).
 * @param phase `P` or `S`: P takes P, Pg, Pn, PKP, ... but not the depth phases pP or sP.
 * @returns the chosen picks, by time.
 */
export function earliestPicks(picks: readonly PhasePick[], phase: string): PhasePick[] {
  const first = new Map<string, PhasePick>();
  for (const p of picks) {
    if (!isPhase(p.phase, phase)) continue;
    const key = `${p.eventId}\0${p.network}.${p.station}`;
    const had = first.get(key);
    const better = !had || (p.inOrigin && !had.inOrigin) ||
      (p.inOrigin === had.inOrigin && p.time < had.time);
    if (better) first.set(key, p);
  }
  return [...first.values()].sort((a, b) => a.time - b.time);
}

/** Whether a QuakeML public id names the event a manifest's `event_id` gives. */
function sameEvent(publicId: string, eventId: string): boolean {
  return publicId === eventId || publicId.endsWith(`/${eventId}`) ||
    publicId.endsWith(`=${eventId}`);
}

/**
 * Reads a manifest.
 *
 * Rows without `reference_time` take a P pick from `picksPath` at their NET.STA: the earliest
 * P pick of the event named in `event_id`, or, without one, of the only event picked there.
 * Where several events were picked at the station the task lists them all (`pickTimes`) and
 * the extractor uses the one whose window its waveform covers.
 *
 * The S arrival (`sTime`, for samples.csv's `s_minus_p`) is the row's `s_time`, else the
 * QuakeML's earliest S pick at the station of the row's event (`event_id`, or that of the
 * P pick placing it); one not after the reference time is dropped, and an `s_time` not after
 * `reference_time` fails the row as a bad time.
 *
 * @param path The CSV file.
 * @param picksPath Optional QuakeML whose P picks fill empty reference times (and whose S
 *   picks give S − P).
 * @returns one task per row; a row that cannot be used carries its `error`.
 * @throws {UserError} when the file cannot be read, lacks required columns or repeats an id.
 */
export async function readManifest(
  path: string,
  picksPath: string | null = null,
): Promise<SampleTask[]> {
  let text: string;
  try {
    text = await readInputText(path);
  } catch (e) {
    throw new UserError(`Cannot read manifest ${path}: ${readFailure(e)}`);
  }
  const table = parseCsv(text, ",", { source: `manifest ${path}` });
  const head = table[0]?.map((h) => h.trim()) ?? [];
  // A repeat of a column seisdec reads is refused; of another, it is warned of as unknown below.
  refuseRepeatedColumns(head, `manifest ${path}`, MANIFEST_COLUMNS);
  for (const col of ["id", "waveform", "network", "station", "channel"]) {
    if (!head.includes(col)) {
      throw new UserError(
        `Cannot read manifest ${path}: expected a column '${col}': found ${
          head.join(",") || "no header"
        }`,
      );
    }
  }
  // A column seisdec does not read is ignored, with a warning: a misspelt 'reference_time'
  // would otherwise fail every sample as having no reference time, without a word about why.
  const known = MANIFEST_COLUMNS;
  // Each name once: a repeated unknown column is one column to the user.
  const unknown = [...new Set(head.filter((h) => h !== "" && !known.includes(h)))];
  if (unknown.length) {
    console.error(
      `warning: manifest ${path}: ignoring column${unknown.length > 1 ? "s" : ""} ${
        unknown.map((h) => {
          const near = nearestName(h, known);
          return `'${h}'${near ? ` (did you mean '${near}'?)` : ""}`;
        }).join(", ")
      }: the columns read are ${known.join(", ")}`,
    );
  }
  const picks = picksPath ? await readPickIndex(picksPath) : null;
  const base = dirname(resolve(path));
  const abs = (p: string) => (isAbsolute(p) ? p : join(base, p));
  const ids = new Set<string>();
  return table.slice(1).map((fields, i) => {
    const row = i + 2;
    const r: Record<string, string> = Object.fromEntries(
      head.map((h, j) => [h, fields[j] ?? ""]),
    );
    // A quoted field spanning lines is valid CSV but no manifest value: a stray '"' closed by
    // another one rows later, which would silently merge the rows between into one field.
    const broken = fields.findIndex((f) => /[\r\n]/.test(f));
    if (broken >= 0) {
      throw new UserError(
        `Cannot read manifest ${path}: row ${row}, ${
          head[broken] ? `column '${head[broken]}'` : `field ${broken + 1}`
        } holds a line ` +
          `break (a quoted field running over several lines): expected one line per row; a ` +
          `stray '"'?`,
      );
    }
    const id = r.id?.trim() || `row${i + 1}`;
    if (/\s/.test(id)) {
      throw new UserError(
        `Cannot read manifest ${path}: id '${id}' on row ${row} contains white space: ` +
          `events.csv lists an event's sample ids separated by spaces; use '_' or '.' instead`,
      );
    }
    if (ids.has(id)) {
      throw new UserError(`Cannot read manifest ${path}: duplicate id '${id}' on row ${row}`);
    }
    ids.add(id);
    // Codes and label trimmed as id and paths are: 'XX, STA' written with a space after the
    // comma must not look for station ' STA' or make a class 'quake ' beside 'quake'.
    const location = (r.location ?? "").trim();
    const label = (r.label ?? "").trim();
    const task: SampleTask = {
      id,
      network: r.network.trim(),
      station: r.station.trim(),
      location: location === "--" ? "" : location,
      channel: r.channel.trim(),
      waveforms: r.waveform.split(";").map((s) => s.trim()).filter((s) => s).map(abs),
      response: null,
      referenceTime: null,
      label: label ? label : null,
      row,
    };
    if ((r.event_id ?? "").trim()) task.event = r.event_id.trim();
    const responses = (r.response ?? "").split(";").map((s) => s.trim()).filter((s) => s).map(abs);
    task.response = responses[0] ?? null;
    if (responses.length > 1) task.responses = responses;
    if (fields.length !== head.length) {
      task.error = {
        reason: "bad row",
        message: `Cannot read row ${row} of ${path}: expected ${head.length} fields (${
          head.join(",")
        }): found ${fields.length} (an unquoted comma, or a field left out?)`,
      };
      return task;
    }
    let sTime: number | null = null;
    for (const col of ["reference_time", "s_time"] as const) {
      try {
        const t = parseUtc(r[col] ?? "");
        if (col === "reference_time") task.referenceTime = t;
        else sTime = t;
      } catch (e) {
        task.error = {
          reason: "bad time",
          message: `Cannot read ${col} on row ${row} of ${path}: ${(e as Error).message}`,
        };
        return task;
      }
    }
    const eventId = (r.event_id ?? "").trim();
    if (task.referenceTime === null && picks) placeByPicks(task, eventId, picks);
    else if (picks && eventId && task.referenceTime !== null) {
      // A row with its own time and event: the event's S pick at the station, if any.
      const s = sPickOf(picks, task, eventId);
      if (s !== undefined) task.sTime = s;
    }
    if (sTime !== null) {
      // The row's own S time stands before any pick's.
      if (task.referenceTime !== null && sTime <= task.referenceTime) {
        task.error = {
          reason: "bad time",
          message: `Cannot read row ${row} of ${path}: s_time ${r.s_time.trim()} is not after ` +
            `the reference time ${new Date(task.referenceTime).toISOString()} (${
              (r.reference_time ?? "").trim() ? "reference_time" : `the P pick in ${picks!.source}`
            }): the S arrival follows it`,
        };
        return task;
      }
      task.sTime = sTime;
      if (task.pickTimes) task.pickTimes = task.pickTimes.map(({ sTime: _s, ...p }) => p);
    }
    if (
      task.sTime !== undefined && task.referenceTime !== null && task.sTime <= task.referenceTime
    ) {
      delete task.sTime;
    }
    return task;
  });
}

/** The time of an event's S pick at a task's station, if the QuakeML has one. */
function sPickOf(picks: PickIndex, task: SampleTask, eventId: string): number | undefined {
  return picks.sByStation.get(`${task.network}.${task.station}`)
    ?.find((p) => p.eventId === eventId || sameEvent(p.eventId, eventId))?.time;
}

/** Fills a task's reference time (or its candidate picks, or its error) from QuakeML picks. */
function placeByPicks(task: SampleTask, eventId: string, picks: PickIndex): void {
  const k = `${task.network}.${task.station}`;
  let found = picks.byStation.get(k) ?? [];
  if (eventId) found = found.filter((p) => sameEvent(p.eventId, eventId));
  const bad = (picks.bad.get(k) ?? []).filter((p) => !eventId || sameEvent(p.eventId, eventId))
    .map((p) => p.text);
  if (found.length === 1) {
    task.referenceTime = found[0].time;
    // The manifest's own event_id names the event where it gives one; else the pick's event.
    if (found[0].eventId && !task.event) task.event = found[0].eventId;
    const s = sPickOf(picks, task, found[0].eventId);
    if (s !== undefined) task.sTime = s;
  } else if (found.length > 1) {
    task.pickTimes = found.map((p) => {
      const s = sPickOf(picks, task, p.eventId);
      return s !== undefined && s > p.time ? { ...p, sTime: s } : p;
    });
  } else {
    task.error = {
      reason: bad.length ? "bad time" : "no reference time",
      message:
        `Cannot place sample ${task.id}: ${picks.source} has no ${
          bad.length ? "valid " : ""
        }P pick at ${k}${eventId ? ` for event ${eventId}` : ""}` +
        (bad.length ? `: the time of ${bad.join(", ")} is not a valid date` : ""),
    };
  }
}

/**
 * Parses an ESEC catalog time `YYYY_MM_DD HHMMSS` (UTC).
 *
 * @param s The time text.
 * @returns ms since 1970, or null.
 */
export function parseEsecTime(s: string): number | null {
  const m = /^(\d{4})_(\d{2})_(\d{2}) (\d{2})(\d{2})(\d{2})$/.exec(s.trim());
  return m ? isoOrNull(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : null;
}

/** {@linkcode parseUtc} of a time text built from fields, or null where they name no time. */
function isoOrNull(iso: string): number | null {
  try {
    return parseUtc(iso);
  } catch {
    return null;
  }
}

/**
 * Lists the ESEC traces as tasks: one per waveform file, reference time =
 * catalog `starttime`, label = `subtype`. Event rows come from
 * `esec_subset_events.csv`, else from `IRISExoticEventCatalog.txt`.
 *
 * With `stacked`, one task per event and station instead (`NET.STA.LOC` and band code, such
 * as `BH`), holding all of that station's files for the event, with channel `BH?`: for
 * configs that stack components (`components: ["Z", "N", "E"]`). A station that lacks one
 * of the components then fails its sample as "missing channel".
 *
 * @param dir The esec_massmovements directory.
 * @param stacked One task per event and station instead of one per file.
 * @param labelColumn The catalogue column the labels come from: `subtype` (default) or the
 *   finer `type`.
 * @returns the tasks, sorted by event id then file name.
 * @throws {UserError} when the directory or its catalog cannot be read.
 */
export async function esecTasks(
  dir: string,
  stacked = false,
  labelColumn: "subtype" | "type" = "subtype",
): Promise<SampleTask[]> {
  const events = new Map<string, { start: number | null; subtype: string }>();
  const subset = join(dir, "esec_subset_events.csv");
  const full = join(dir, "IRISExoticEventCatalog.txt");
  let text: string;
  let catalog = subset;
  try {
    text = await readInputText(subset);
  } catch (e) {
    // Only a subset that is not there is passed over for the full catalogue: one that cannot be
    // read (a directory in its place) was, without a word.
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new UserError(`Cannot read the ESEC catalog ${subset}: ${readFailure(e)}`);
    }
    catalog = full;
    try {
      text = await readInputText(full);
    } catch (e) {
      throw new UserError(
        `Cannot read the ESEC catalog: expected ${subset} or ${full}: ${readFailure(e)}`,
      );
    }
  }
  // A damaged catalogue is refused, not passed over for the other one.
  const delimiter = catalog === subset ? "," : "|";
  const options = {
    source: `the ESEC catalog ${catalog}`,
    // The columns read: a repeat of any of the catalogue's other 50-odd harms nothing.
    columns: ["eventid", "starttime", "subtype", "type"],
  };
  // The rows as parsed too: how many fields each holds (a row cut short, below).
  const [head = [], ...fields] = parseCsv(text, delimiter, options);
  const rows = csvRecords([head, ...fields], options);
  const missing = ["eventid", "starttime", labelColumn].filter((c) =>
    rows.length && !(c in rows[0])
  );
  if (missing.length) {
    throw new UserError(
      `Cannot read the ESEC catalog ${catalog}: expected the columns eventid, starttime and ` +
        `subtype: ${missing.join(", ")} missing (found ${Object.keys(rows[0]).join(", ")})`,
    );
  }
  const badTimes = new Map<string, string>();
  // Rows cut short before a column read (a damaged catalogue): their events' samples fail as
  // bad rows, not as a starttime '' that is no time.
  const needed = 1 + Math.max(
    ...["eventid", "starttime", labelColumn].map((c) => head.findIndex((h) => h.trim() === c)),
  );
  const shortRows = new Map<string, number>();
  const rowOf = new Map<string, number>();
  for (const [k, r] of rows.entries()) {
    if (fields[k].length < needed) shortRows.set(r.eventid.trim(), k);
    const id = r.eventid.trim(), start = parseEsecTime(r.starttime);
    // A second row of an event would silently replace its time and label.
    if (rowOf.has(id)) {
      throw new UserError(
        `Cannot read the ESEC catalog ${catalog}: eventid ${id} is listed twice (rows ${
          rowOf.get(id)! + 2
        } and ${k + 2}): expected each event once`,
      );
    }
    rowOf.set(id, k);
    events.set(id, { start, subtype: r[labelColumn].trim() });
    if (start === null) badTimes.set(id, r.starttime);
  }
  const wdir = join(dir, "waveforms");
  const tasks: SampleTask[] = [];
  let evDirs: string[];
  try {
    evDirs = [...Deno.readDirSync(wdir)].filter((e) => e.isDirectory).map((e) => e.name);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "no such directory" : (e as Error).message;
    throw new UserError(`Cannot list ${wdir}: ${why}`);
  }
  evDirs.sort((a, b) => Number(a) - Number(b) || compareText(a, b));
  for (const ev of evDirs) {
    const files = [...Deno.readDirSync(join(wdir, ev))].map((e) => e.name)
      .filter((n) => n.endsWith(".mseed")).sort();
    const info = events.get(ev);
    const byId = new Map<string, SampleTask>();
    for (const f of files) {
      const codes = basename(f).split("__")[0].split(".");
      const [network, station, location = "", channel = ""] = codes;
      const chan = stacked ? channel.slice(0, 2) + "?" : channel;
      const id = `${ev}.${network}.${station}.${location}.${chan}`;
      const task = byId.get(id);
      if (task) {
        task.waveforms.push(join(wdir, ev, f));
        continue;
      }
      const t: SampleTask = {
        id,
        network,
        station,
        location,
        channel: chan,
        waveforms: [join(wdir, ev, f)],
        response: join(dir, "stations", ev, `${network}.${station}.xml`),
        referenceTime: info?.start ?? null,
        label: info?.subtype || null,
        event: ev,
      };
      if (!info) {
        // Before, "no reference time (pick or origin)", without a word about the catalogue.
        t.error = {
          reason: "no reference time",
          message:
            `Cannot place sample ${id}: event ${ev} (${
              join(wdir, ev)
            }) is not in ${catalog}: expected a row with eventid ${ev}, whose starttime is the ` +
            `reference time`,
        };
      } else if (shortRows.has(ev)) {
        const k = shortRows.get(ev)!;
        t.error = {
          reason: "bad row",
          message:
            `Cannot place sample ${id}: row ${k + 2} of ${catalog} (event ${ev}) holds ${
              fields[k].length
            } fields: expected ${head.length} (${head.slice(0, needed).join(delimiter)},...; a ` +
            `damaged catalogue?)`,
        };
      } else if (badTimes.has(ev)) {
        t.error = {
          reason: "bad time",
          message: `Cannot place sample ${id}: the starttime of event ${ev} in ${catalog}, '${
            badTimes.get(ev)
          }', is not a valid 'YYYY_MM_DD HHMMSS' UTC time`,
        };
      }
      byId.set(id, t);
      tasks.push(t);
    }
  }
  return tasks;
}

/**
 * Lists the PhaseNet NPZ windows as tasks (components E, N, Z; reference = P).
 * The start time comes from the file name `NET_STA_YYYYMMDDHHMMSScc`.
 *
 * @param dir The phasenet_ncedc directory.
 * @param samplingRate Sampling rate of the arrays, Hz.
 * @returns one task per file listed in waveform.csv (a missing one fails when read).
 */
export async function npzTasks(dir: string, samplingRate: number): Promise<SampleTask[]> {
  let text: string;
  try {
    text = await readInputText(join(dir, "waveform.csv"));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      // The windows' own folder (waveform_train/) given for the one that lists them.
      const up = dirname(resolve(dir));
      const listed = await Deno.stat(join(up, "waveform.csv")).then((s) => s.isFile, () => false);
      throw new UserError(
        `Cannot read ${join(dir, "waveform.csv")}: no such file: --npz (input.dir) names the ` +
          `folder that holds waveform.csv, beside waveform_train/` +
          (listed ? `: give --npz ${up}` : ""),
      );
    }
    throw new UserError(`Cannot read ${join(dir, "waveform.csv")}: ${(e as Error).message}`);
  }
  const rows = parseCsvRecords(text, ",", {
    source: join(dir, "waveform.csv"),
    columns: ["fname", "itp", "its", "channels"],
  });
  const missing = ["fname", "itp"].filter((c) => rows.length && !(c in rows[0]));
  if (missing.length) {
    throw new UserError(
      `Cannot read ${join(dir, "waveform.csv")}: expected the columns fname and itp (and ` +
        `channels): ${missing.join(", ")} missing`,
    );
  }
  const tasks: SampleTask[] = [];
  // A listed file that is missing becomes a task too: it fails as unreadable, in failures.csv.
  for (const r of rows) {
    const [network, station, stamp] = r.fname.replace(/\.npz$/, "").split("_");
    const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)/.exec(stamp ?? "");
    const start =
      (m ? isoOrNull(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`) : null) ?? NaN;
    const itp = r.itp.trim() === "" ? NaN : Number(r.itp);
    const chan = ((r.channels ?? "").split("_")[0] || "HHZ").slice(0, 2) + "?";
    const id = r.fname.replace(/\.npz$/, "");
    const task: SampleTask = {
      id,
      network,
      station,
      location: "",
      channel: chan,
      waveforms: [],
      response: null,
      referenceTime: start + itp * 1000 / samplingRate,
      label: null,
      npz: { path: join(dir, "waveform_train", r.fname), samplingRate, itp, startTime: start },
    };
    // The S index, where the row has one after P.
    const its = (r.its ?? "").trim() === "" ? NaN : Number(r.its);
    if (Number.isInteger(its) && Number.isInteger(itp) && its > itp) {
      task.sTime = start + its * 1000 / samplingRate;
    }
    if (!Number.isFinite(start) || !Number.isInteger(itp) || itp < 0) {
      task.error = {
        reason: "bad time",
        message: `Cannot place sample ${id} of ${join(dir, "waveform.csv")}: ${
          Number.isFinite(start)
            ? `itp '${r.itp}' is not a sample index`
            : `its file name holds no valid start time (NET_STA_YYYYMMDDHHMMSScc, UTC)`
        }`,
      };
    }
    tasks.push(task);
  }
  return tasks;
}

/**
 * The SDS (SeisComP Data Structure) day files of one channel that cover a time span:
 * `YEAR/NET/STA/CHAN.D/NET.STA.LOC.CHAN.D.YEAR.DOY`, one per UTC day the span touches.
 *
 * @param dir The archive root.
 * @param codes Network, station, location and channel codes.
 * @param t0 Start of the span, ms since 1970 UTC.
 * @param t1 End of the span, ms since 1970 UTC.
 * @returns the paths, in time order (whether or not they exist).
 * @example
 * ```ts
 * import { sdsPaths } from "./manifest.ts";
 * const t = Date.UTC(2024, 11, 31, 23, 59); // a span across New Year
 * const p = sdsPaths("/sds", ["XX", "ABC", "00", "HHZ"], t, t + 120_000);
 * if (p[0] !== "/sds/2024/XX/ABC/HHZ.D/XX.ABC.00.HHZ.D.2024.366") throw new Error(p[0]);
 * if (p[1] !== "/sds/2025/XX/ABC/HHZ.D/XX.ABC.00.HHZ.D.2025.001") throw new Error(p[1]);
 * ```
 */
export function sdsPaths(
  dir: string,
  codes: readonly [string, string, string, string],
  t0: number,
  t1: number,
): string[] {
  const [net, sta, loc, cha] = codes;
  const day = 86_400_000;
  const out: string[] = [];
  for (let d = Math.floor(t0 / day); d <= Math.floor(t1 / day); d++) {
    const date = new Date(d * day);
    const year = date.getUTCFullYear();
    const doy = d - Math.floor(Date.UTC(year, 0, 1) / day) + 1;
    out.push(
      join(
        dir,
        String(year),
        net,
        sta,
        `${cha}.D`,
        `${net}.${sta}.${loc}.${cha}.D.${year}.${String(doy).padStart(3, "0")}`,
      ),
    );
  }
  return out;
}

/**
 * Refuses an SDS archive root that is not a directory, before any sample: one that is not there
 * would fail every sample as 'missing channel', one by one.
 *
 * @param dir The archive root.
 * @throws {UserError} naming it, when it does not exist or is a file.
 */
export async function checkSdsRoot(dir: string): Promise<void> {
  const root = await Deno.stat(dir).catch(() => null);
  if (!root?.isDirectory) {
    throw new UserError(
      `Cannot read the SDS archive ${dir}: ${root ? "it is a file" : "no such directory"}`,
    );
  }
}

/**
 * Lists the samples of an SDS archive: one per event and station of a QuakeML, at the
 * station's pick of `phase` ({@linkcode earliestPicks}), labelled with the event's
 * type (`earthquake`, `quarry blast`, ...). Each sample reads the day files of its
 * components that cover the crop window (and the 5 minutes extract keeps on each side),
 * across midnight when it must; the location code is the pick's, or else the one the
 * archive holds for that station and channel. Day files that do not exist are listed in
 * `missingFiles`, so that a sample left too short names them.
 *
 * @param dir The archive root.
 * @param quakeml The QuakeML file with the picks.
 * @param stations Response file for every sample, or null.
 * @param phase Phase prefix, e.g. `P`.
 * @param codesOf The channel codes a sample stacks, from its channel (see extract's `channelCodes`).
 * @param span Milliseconds of data needed before and after the pick.
 * @param alternates The channels read instead of one that the archive lacks (extract's
 *   `rotate`: BH1 and BH2 for a missing BHN or BHE), or none.
 * @returns the tasks, by pick time, then a failed one per event and station whose pick of
 *   `phase` has no valid time (a leap second, say; {@linkcode BadPick}).
 * @throws {UserError} when the QuakeML cannot be read or holds no such pick.
 */
export async function sdsTasks(
  dir: string,
  quakeml: string,
  stations: string | null,
  phase: string,
  codesOf: (channel: string) => string[],
  span: readonly [number, number],
  alternates?: (code: string) => string[],
): Promise<SampleTask[]> {
  await checkSdsRoot(dir);
  let q;
  try {
    q = await readQuakeMlFile(quakeml);
  } catch (e) {
    throw picksError(quakeml, e);
  }
  const picks = earliestPicks(q.picks, phase);
  // With P picks, each event's S pick at the station, for samples.csv's s_minus_p.
  const sPicks = isPhase("P", phase)
    ? new Map(
      earliestPicks(q.picks, "S").map((p) => [`${p.eventId}\0${p.network}.${p.station}`, p.time]),
    )
    : new Map<string, number>();
  // A station's pick of an event whose time is no date (a leap second, say) makes a sample
  // that fails as "bad time", naming the file and the pick, unless a valid one stands in.
  const placed = new Set(picks.map((p) => `${p.eventId}\0${p.network}.${p.station}`));
  const unplaced = new Map<string, BadPick>();
  for (const p of q.badPicks) {
    const key = `${p.eventId}\0${p.network}.${p.station}`;
    if (isPhase(p.phase, phase) && !placed.has(key) && !unplaced.has(key)) unplaced.set(key, p);
  }
  if (picks.length === 0 && unplaced.size === 0) {
    throw new UserError(`Cannot list samples: ${quakeml} holds no pick of phase ${phase}`);
  }
  // The last part of a catalogue's event id (a URI), white space made '_' (sample ids are one
  // word: see the manifest's check).
  const short = (id: string) =>
    (id.split(/[/=]/).filter(Boolean).at(-1) ?? id).replace(/\s+/g, "_");
  const tasks: SampleTask[] = [];
  const failed: SampleTask[] = [];
  // A pick's sample: one per event and station, with the waveforms still to find.
  const taskOf = (
    p: {
      eventId: string;
      network: string;
      station: string;
      location: string;
      channel: string;
      eventType?: string | null;
    },
    referenceTime: number | null,
  ): SampleTask => ({
    id: `${short(p.eventId)}.${p.network}.${p.station}`,
    network: p.network,
    station: p.station,
    location: p.location,
    channel: p.channel,
    waveforms: [],
    response: stations,
    referenceTime,
    label: p.eventType || null,
    ...(p.eventId ? { event: p.eventId } : {}),
  });
  for (const p of unplaced.values()) {
    const task = taskOf(p, null);
    task.error = {
      reason: "bad time",
      message: `Cannot place sample ${task.id}: the time of ${badPickText(p)} in ${quakeml} is ` +
        `not a valid date`,
    };
    failed.push(task);
  }
  for (const p of picks) {
    const task = taskOf(p, p.time);
    const s = sPicks.get(`${p.eventId}\0${p.network}.${p.station}`);
    if (s !== undefined && s > p.time) task.sTime = s;
    if (!p.channel) {
      task.error = {
        reason: "missing channel",
        message: `Cannot find the data of pick ${p.pickId}: it names no channel`,
      };
      tasks.push(task);
      continue;
    }
    // The codes become directory and file names of the archive: one that is not a name there
    // (a path separator, `.` or `..`) would read files elsewhere.
    const unsafe = sdsCodeProblem(p);
    if (unsafe) {
      task.error = {
        reason: "missing channel",
        message: `Cannot find the data of pick ${p.pickId} in ${quakeml}: ${unsafe}`,
      };
      tasks.push(task);
      continue;
    }
    findSdsFiles(task, p.time - span[0], p.time + span[1], { dir, codesOf, alternates });
    tasks.push(task);
  }
  // Those without a time last: the rest are by pick time.
  tasks.push(...failed);
  return tasks;
}

/**
 * Why a pick's codes cannot name SDS directories and files (SDS paths are built from them): a
 * code holding `/`, `\\` or a control character, or a network, station or channel code that is
 * empty, `.` or `..`; or null.
 *
 * @param p The pick's codes.
 * @returns the problem, naming the code, or null.
 */
export function sdsCodeProblem(
  p: { network: string; station: string; location: string; channel: string },
): string | null {
  const fields = [
    ["network", p.network],
    ["station", p.station],
    ["location", p.location],
    ["channel", p.channel],
  ] as const;
  for (const [name, code] of fields) {
    // deno-lint-ignore no-control-regex
    if (/[/\\\x00-\x1f]/.test(code) || code === "." || code === "..") {
      return `its ${name} code ${JSON.stringify(code)} cannot name a directory or file of an ` +
        "SDS archive (it holds a path separator or a control character, or is . or ..)";
    }
    if (name !== "location" && code === "") {
      return `it names no ${name} code, which an SDS archive's paths need`;
    }
  }
  return null;
}

/** Where and how {@linkcode findSdsFiles} looks for a sample's day files. */
export interface SdsLookup {
  /** The archive root. */
  dir: string;
  /** The channel codes a sample stacks, from its channel (see extract's `channelCodes`). */
  codesOf: (channel: string) => string[];
  /** The channels read instead of one that the archive lacks (BH1 and BH2 for BHN), or none. */
  alternates?: (code: string) => string[];
  /** Whether a file exists (default: asks the file system each time). */
  exists?: (path: string) => boolean;
  /**
   * Where the task's location has no day file of a channel, take the one the archive holds
   * (default true: a pick that names no location). False keeps the task's location.
   */
  anyLocation?: boolean;
  /** One string object per path, for many tasks that share day files (default: as built). */
  intern?: (path: string) => string;
}

/**
 * Finds the day files of a sample's channels that cover `[t0, t1]` in an SDS archive: fills
 * its `waveforms`, `location` and `missingFiles`, or sets its `error` (`missing channel`,
 * naming the files expected) when a channel has none and nothing stands in for it.
 *
 * @param task The sample (its network, station, location and channel are read).
 * @param t0 Start of the data needed, ms since 1970 UTC.
 * @param t1 End of it.
 * @param look The archive and the channels to look for.
 */
export function findSdsFiles(task: SampleTask, t0: number, t1: number, look: SdsLookup): void {
  const { dir, codesOf, alternates } = look;
  const present = look.exists ?? fileExists;
  const intern = look.intern ?? ((p: string) => p);
  const net = task.network, sta = task.station, loc0 = task.location;
  // A channel's day files: at the task's location, or else the archive's for that channel.
  const find = (code: string) => {
    let loc = loc0;
    let paths = sdsPaths(dir, [net, sta, loc, code], t0, t1).map(intern);
    if ((look.anyLocation ?? true) && !paths.some(present)) {
      // The pick names no location (or another one): take the archive's for this channel.
      // Every day's directory: across New Year the first may not exist.
      const found = [
        ...new Set(paths.flatMap((f) => locationsOf(dirname(f), net, sta, code))),
      ].sort();
      if (found.length) {
        loc = found[0];
        paths = sdsPaths(dir, [net, sta, loc, code], t0, t1).map(intern);
      }
    }
    return { code, loc, paths, present: paths.filter(present) };
  };
  const add = (f: ReturnType<typeof find>) => {
    task.location = f.loc;
    task.waveforms.push(...f.present);
    const absent = f.paths.filter((x) => !f.present.includes(x));
    if (absent.length) task.missingFiles = [...(task.missingFiles ?? []), ...absent];
  };
  const codes = codesOf(task.channel);
  const taken = new Set(codes), stoodIn = new Set<string>();
  for (const code of codes) {
    const f = find(code);
    if (f.present.length === 0) {
      // Channels that stand in for it (BH1 and BH2 rotated to BHN and BHE).
      const alts = alternates?.(code) ?? [];
      const fresh = alts.filter((a) => !taken.has(a)).map((a) => {
        taken.add(a);
        return find(a);
      }).filter((a) => a.present.length > 0);
      fresh.forEach(add);
      fresh.forEach((a) => stoodIn.add(a.code));
      if (alts.some((a) => stoodIn.has(a))) continue;
      // A directory or a link to nothing at a day file's path is named as such.
      const inPlace = notAFileAmong(f.paths);
      task.error = {
        reason: "missing channel",
        message: `Cannot find ${net}.${sta}.${f.loc}.${code} in ${dir}: ${
          inPlace || `expected ${f.paths.join(" or ")}`
        }`,
      };
      return;
    }
    add(f);
  }
}

/**
 * What stands at a day file's path that is not a regular file: SDS lookups that find no day
 * file name it, where its name alone made the message say the archive held the very day it
 * lacked.
 *
 * @param path A day file's path.
 * @returns e.g. `a directory, not a day file`, or "" where nothing, or a file, is there.
 */
export function notAFile(path: string): string {
  try {
    const st = Deno.statSync(path);
    return st.isFile ? "" : st.isDirectory ? "a directory, not a day file" : "not a regular file";
  } catch {
    try {
      return Deno.lstatSync(path).isSymlink
        ? `a symbolic link to ${Deno.readLinkSync(path)}, which does not exist`
        : "";
    } catch {
      return ""; // nothing there
    }
  }
}

/**
 * The first of some day files' paths at which something other than a file stands, named with
 * what it is ({@linkcode notAFile}).
 *
 * @param paths Day files' paths.
 * @returns e.g. `PATH is a directory, not a day file`, or "" where there is none.
 */
export function notAFileAmong(paths: readonly string[]): string {
  for (const p of paths) {
    const what = notAFile(p);
    if (what) return `${p} is ${what}`;
  }
  return "";
}

/**
 * @param path A path.
 * @returns whether it is a file (synchronously: SDS lookups ask it for many day files).
 */
export function fileExists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Location codes present in an SDS channel directory for a station and channel, sorted. */
function locationsOf(chanDir: string, net: string, sta: string, cha: string): string[] {
  const out = new Set<string>();
  try {
    for (const e of Deno.readDirSync(chanDir)) {
      const parts = e.name.split(".");
      if (parts.length === 7 && parts[0] === net && parts[1] === sta && parts[3] === cha) {
        out.add(parts[2]);
      }
    }
  } catch {
    // No such directory: no data.
  }
  return [...out].sort();
}
