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
 * | `response` | StationXML path, relative to the manifest (empty: none) |
 * | `network`, `station`, `location`, `channel` | SEED codes; `channel` may end in `?` (e.g. `HH?`) when components are stacked |
 * | `reference_time` | ISO 8601 UTC P pick or origin time; empty: look up the P pick in the config's QuakeML |
 * | `label` | optional class label |
 *
 * @module
 */
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { parseCsv, parseCsvRecords } from "./csv.ts";
import { readQuakeMlFile } from "./quakeml.ts";
import { UserError } from "../util/errors.ts";

/** One sample to extract. */
export interface SampleTask {
  id: string;
  network: string;
  station: string;
  location: string;
  /** Channel code, or a pattern like `HH?` whose last letter is replaced by each component. */
  channel: string;
  /** miniSEED files (absolute); empty for NPZ input. */
  waveforms: string[];
  /** StationXML file (absolute), or null. */
  response: string | null;
  /** Reference time, ms since 1970 UTC, or null when unknown. */
  referenceTime: number | null;
  label: string | null;
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

/**
 * Parses an ISO 8601 time as UTC (a missing zone means UTC).
 *
 * @param s The time text.
 * @returns ms since 1970, or null when empty or invalid.
 */
export function parseUtc(s: string): number | null {
  const t = s.trim();
  if (t === "") return null;
  const withZone = /([zZ]|[+-]\d\d:?\d\d)$/.test(t) ? t : t + "Z";
  const ms = Date.parse(withZone);
  return Number.isFinite(ms) ? ms : null;
}

/**
 * Reads a manifest.
 *
 * @param path The CSV file.
 * @param picksPath Optional QuakeML; its first P pick per NET.STA fills empty reference times.
 * @returns one task per row.
 * @throws {UserError} when the file cannot be read or lacks required columns.
 */
export async function readManifest(
  path: string,
  picksPath: string | null = null,
): Promise<SampleTask[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new UserError(`Cannot read manifest ${path}: ${(e as Error).message}`);
  }
  const head = parseCsv(text)[0]?.map((h) => h.trim()) ?? [];
  for (const col of ["id", "waveform", "network", "station", "channel"]) {
    if (!head.includes(col)) {
      throw new UserError(
        `Cannot read manifest ${path}: expected a column '${col}': found ${
          head.join(",") || "no header"
        }`,
      );
    }
  }
  let picks: Map<string, number> | null = null;
  if (picksPath) {
    const q = await readQuakeMlFile(picksPath).catch((e) => {
      throw new UserError((e as Error).message);
    });
    picks = new Map();
    for (const p of q.picks) {
      if (!p.phase.toUpperCase().startsWith("P")) continue;
      const k = `${p.network}.${p.station}`;
      if (!picks.has(k) || p.time < picks.get(k)!) picks.set(k, p.time);
    }
  }
  const base = dirname(resolve(path));
  const abs = (p: string) => (isAbsolute(p) ? p : join(base, p));
  const ids = new Set<string>();
  return parseCsvRecords(text).map((r, i) => {
    const id = r.id || `row${i + 1}`;
    if (ids.has(id)) {
      throw new UserError(`Cannot read manifest ${path}: duplicate id '${id}' on row ${i + 2}`);
    }
    ids.add(id);
    let ref = parseUtc(r.reference_time ?? "");
    if (ref === null && picks) ref = picks.get(`${r.network}.${r.station}`) ?? null;
    return {
      id,
      network: r.network,
      station: r.station,
      location: r.location === "--" ? "" : (r.location ?? ""),
      channel: r.channel,
      waveforms: r.waveform.split(";").map((s) => s.trim()).filter((s) => s).map(abs),
      response: r.response ? abs(r.response) : null,
      referenceTime: ref,
      label: r.label ? r.label : null,
    };
  });
}

/**
 * Parses an ESEC catalog time `YYYY_MM_DD HHMMSS` (UTC).
 *
 * @param s The time text.
 * @returns ms since 1970, or null.
 */
export function parseEsecTime(s: string): number | null {
  const m = /^(\d{4})_(\d{2})_(\d{2}) (\d{2})(\d{2})(\d{2})$/.exec(s.trim());
  if (!m) return null;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

/**
 * Lists the ESEC traces as tasks: one per waveform file, reference time =
 * catalog `starttime`, label = `subtype`. Event rows come from
 * `esec_subset_events.csv`, else from `IRISExoticEventCatalog.txt`.
 *
 * @param dir The esec_massmovements directory.
 * @returns one task per miniSEED file, sorted by event id then file name.
 * @throws {UserError} when the directory or its catalog cannot be read.
 */
export async function esecTasks(dir: string): Promise<SampleTask[]> {
  const events = new Map<string, { start: number | null; subtype: string }>();
  const subset = join(dir, "esec_subset_events.csv");
  const full = join(dir, "IRISExoticEventCatalog.txt");
  let rows: Record<string, string>[];
  try {
    rows = parseCsvRecords(await Deno.readTextFile(subset));
  } catch {
    try {
      rows = parseCsvRecords(await Deno.readTextFile(full), "|");
    } catch (e) {
      throw new UserError(
        `Cannot read the ESEC catalog: expected ${subset} or ${full}: ${(e as Error).message}`,
      );
    }
  }
  for (const r of rows) {
    events.set(r.eventid.trim(), { start: parseEsecTime(r.starttime), subtype: r.subtype.trim() });
  }
  const wdir = join(dir, "waveforms");
  const tasks: SampleTask[] = [];
  let evDirs: string[];
  try {
    evDirs = [...Deno.readDirSync(wdir)].filter((e) => e.isDirectory).map((e) => e.name);
  } catch (e) {
    throw new UserError(`Cannot list ${wdir}: ${(e as Error).message}`);
  }
  evDirs.sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
  for (const ev of evDirs) {
    const files = [...Deno.readDirSync(join(wdir, ev))].map((e) => e.name)
      .filter((n) => n.endsWith(".mseed")).sort();
    const info = events.get(ev);
    for (const f of files) {
      const codes = basename(f).split("__")[0].split(".");
      const [network, station, location, channel] = codes;
      tasks.push({
        id: `${ev}.${codes.join(".")}`,
        network,
        station,
        location: location ?? "",
        channel: channel ?? "",
        waveforms: [join(wdir, ev, f)],
        response: join(dir, "stations", ev, `${network}.${station}.xml`),
        referenceTime: info?.start ?? null,
        label: info?.subtype || null,
      });
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
 * @returns one task per file listed in waveform.csv that exists.
 */
export async function npzTasks(dir: string, samplingRate: number): Promise<SampleTask[]> {
  let rows: Record<string, string>[];
  try {
    rows = parseCsvRecords(await Deno.readTextFile(join(dir, "waveform.csv")));
  } catch (e) {
    throw new UserError(`Cannot read ${join(dir, "waveform.csv")}: ${(e as Error).message}`);
  }
  const present = new Set(
    [...Deno.readDirSync(join(dir, "waveform_train"))].map((e) => e.name),
  );
  const tasks: SampleTask[] = [];
  for (const r of rows) {
    if (!present.has(r.fname)) continue;
    const [network, station, stamp] = r.fname.replace(/\.npz$/, "").split("_");
    const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)/.exec(stamp ?? "");
    const start = m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], +m[7] * 10) : 0;
    const itp = Number(r.itp);
    const chan = (r.channels.split("_")[0] ?? "HHZ").slice(0, 2) + "?";
    tasks.push({
      id: r.fname.replace(/\.npz$/, ""),
      network,
      station,
      location: "",
      channel: chan,
      waveforms: [],
      response: null,
      referenceTime: start + itp * 1000 / samplingRate,
      label: null,
      npz: { path: join(dir, "waveform_train", r.fname), samplingRate, itp, startTime: start },
    });
  }
  return tasks;
}
