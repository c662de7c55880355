/**
 * SAC binary files (Seismic Analysis Code, header version 6, or 7 read as 6), the other format
 * seismologists keep waveforms in: a 632-byte header (70 floats, 40 integers,
 * 8- and 16-character strings) and the samples as 32-bit floats, in either byte
 * order (told apart by the header version, word 76). Hand-written: seisplotjs
 * reads SAC pole-zero files but not SAC waveforms. Also SAC pole-zero responses
 * (through seisplotjs's `SacPoleZero.parse`).
 *
 * Times follow SAC: the reference time is NZYEAR/NZJDAY/NZHOUR/NZMIN/NZSEC/NZMSEC,
 * the first sample lies B seconds after it, and the markers O (origin), A (first
 * arrival) and T0–T9 are seconds after it too.
 *
 * Orientation follows SAC too: CMPAZ is the component's azimuth (degrees clockwise from
 * north) and CMPINC its angle from the upward vertical (0 up, 90 horizontal, 180 down), so
 * the SEED dip (degrees down from the horizontal) is CMPINC − 90. IRIS's SAC_PZ files give
 * the same two in their comments: `* AZIMUTH` and `* DIP`, the latter, despite its name, as
 * SAC's angle from vertical (0 for a BHZ, 90 for a BH1), and ObsPy's as `* DIP (SEED)`.
 *
 * @module
 */
import { SampleError } from "./sample_error.ts";
import { MAX_SAMPLING_RATE, type Segment } from "./mseed.ts";
import type { InstrumentResponse } from "../signal/response.ts";
import { seisplotjs } from "./_seisplotjs.ts";
import { readFailure, readInputFile } from "./input_file.ts";
import { isLeapYear, utcTime, YEAR_10000 } from "../util/utc.ts";

/** A SAC time marker: origin, first arrival or a user pick. */
export type SacMarker =
  | "O"
  | "A"
  | "T0"
  | "T1"
  | "T2"
  | "T3"
  | "T4"
  | "T5"
  | "T6"
  | "T7"
  | "T8"
  | "T9";

/** The markers, in header order (O at word 7, A at 8, T0–T9 at 10–19). */
export const SAC_MARKERS: readonly SacMarker[] = [
  "O",
  "A",
  "T0",
  "T1",
  "T2",
  "T3",
  "T4",
  "T5",
  "T6",
  "T7",
  "T8",
  "T9",
];
const MARKER_WORD: Record<SacMarker, number> = {
  O: 7,
  A: 8,
  T0: 10,
  T1: 11,
  T2: 12,
  T3: 13,
  T4: 14,
  T5: 15,
  T6: 16,
  T7: 17,
  T8: 18,
  T9: 19,
};

/** A decoded SAC file. */
export interface SacFile {
  /** The samples as one continuous segment. */
  trace: Segment;
  /** The markers that are set, as absolute times (ms since 1970 UTC). */
  markers: Partial<Record<SacMarker, number>>;
  /** Station and event coordinates when set (degrees, m for elevation, km for depth). */
  coordinates: {
    stla?: number;
    stlo?: number;
    stel?: number;
    evla?: number;
    evlo?: number;
    evdp?: number;
  };
  /** CMPAZ and CMPINC when set, degrees (see {@linkcode sacDip}). */
  orientation: { cmpaz?: number; cmpinc?: number };
}

/**
 * The SEED dip (degrees down from the horizontal: −90 for a vertical sensor pointing up) of a
 * SAC component incidence angle (CMPINC, degrees from the upward vertical).
 *
 * @param cmpinc Degrees from the upward vertical, 0 to 180.
 * @returns CMPINC − 90.
 * @example
 * ```ts
 * import { sacDip } from "./sac.ts";
 * if (sacDip(0) !== -90 || sacDip(90) !== 0) throw new Error();
 * ```
 */
export function sacDip(cmpinc: number): number {
  return cmpinc - 90;
}

const HEADER = 632;
const UNDEF = -12345;

/**
 * Whether bytes look like a SAC binary file: header version 6 or 7 at word 76, either byte
 * order. Version 7 (SAC 102 and later) keeps the version 6 header and adds, after the data, a
 * footer of double-precision copies of the time fields; it is read from its header alone.
 *
 * @param bytes The file's bytes (at least its header).
 * @returns true for SAC.
 */
export function isSac(bytes: Uint8Array): boolean {
  return sacByteOrder(bytes) !== null;
}

/**
 * The header version (NVHDR, word 76) of bytes that are a SAC file by their size but whose
 * version is not 6 or 7 (a damaged header, or another version): NPTS (word 79), read in the
 * byte order where LEVEN (word 105) is 0 or 1, gives the file's size, 632 + 4·NPTS bytes (or a
 * version 7 file's, 176 more). A miniSEED file is told apart first (its record header).
 *
 * @param bytes The file's bytes.
 * @returns the version word as found, or null where the bytes are SAC of version 6 or 7, or
 *   not SAC by these signs.
 */
export function sacOtherVersion(bytes: Uint8Array): number | null {
  if (bytes.length < HEADER || sacByteOrder(bytes) !== null) return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const le of [true, false]) {
    const npts = dv.getInt32(79 * 4, le), leven = dv.getInt32(105 * 4, le);
    const data = HEADER + 4 * npts;
    if (
      npts >= 0 && (leven === 0 || leven === 1) &&
      (bytes.length === data || bytes.length === data + 22 * 8)
    ) return dv.getInt32(76 * 4, le);
  }
  return null;
}

/** Little-endian (true) or big-endian (false) by the header version word; null if not SAC. */
function sacByteOrder(bytes: Uint8Array): boolean | null {
  if (bytes.length < HEADER) return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const le of [true, false]) {
    const v = dv.getInt32(76 * 4, le);
    if (v === 6 || v === 7) return le;
  }
  return null;
}

/**
 * A header float32 as the shortest decimal that reads back as the same float32: DELTA 0.01 is
 * stored as 0.0099999998, which a message would otherwise print as 0.009999999776482582.
 */
function float32Text(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  for (let p = 1; p < 9; p++) {
    const t = Number(v.toPrecision(p));
    if (Math.fround(t) === v) return String(t);
  }
  return String(Number(v.toPrecision(9)));
}

function text(bytes: Uint8Array, off: number, len: number): string {
  const s = new TextDecoder("latin1").decode(bytes.subarray(off, off + len)).replace(/\0/g, " ")
    .trim();
  return s === "-12345" ? "" : s;
}

/**
 * Decodes a SAC binary file.
 *
 * @param bytes The file's bytes.
 * @param source The file's name, for messages.
 * @returns the trace, its markers and coordinates.
 * @throws {SampleError} ("empty file", "not miniseed" for no SAC header, "truncated", "bad
 *   time" for an undefined B or an invalid reference time, "corrupt" for a header that does not
 *   describe an evenly sampled time series: IFTYPE not ITIME, LEVEN not 1, NPTS < 0, DELTA
 *   undefined or not > 0, or for a header version other than 6 or 7 in a file whose size fits
 *   its NPTS).
 * @example
 * ```ts
 * import { encodeSac, readSac } from "./sac.ts";
 * const t0 = Date.UTC(2024, 0, 1, 12);
 * const bytes = encodeSac({
 *   network: "XX", station: "ABC", location: "00", channel: "HHZ", startTime: t0,
 *   samplingRate: 100, data: new Float64Array([1, 2, 3]),
 * }, { A: t0 + 10 });
 * const f = readSac(bytes, "x.sac");
 * if (f.trace.station !== "ABC" || f.markers.A !== t0 + 10) throw new Error();
 * ```
 */
export function readSac(bytes: Uint8Array, source: string): SacFile {
  if (bytes.length === 0) {
    throw new SampleError("empty file", `Cannot read ${source}: the file is empty`);
  }
  const le = sacByteOrder(bytes);
  const other = le === null ? sacOtherVersion(bytes) : null;
  if (other !== null) {
    throw new SampleError(
      "corrupt",
      `Cannot read ${source}: SAC header version (NVHDR, byte 304) ${other}: expected 6 or 7 ` +
        `(its size fits a SAC file's NPTS: a damaged header, or a version seisdec does not read)`,
    );
  }
  if (le === null) {
    throw new SampleError(
      "not miniseed",
      `Cannot read ${source}: expected a SAC header (version 6 or 7 at byte 304)`,
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const f = (w: number) => dv.getFloat32(w * 4, le);
  const i = (w: number) => dv.getInt32(w * 4, le);
  const set = (v: number) => v !== UNDEF && Number.isFinite(v);
  const npts = i(79), iftype = i(85), leven = i(105), delta = f(0), b = f(5);
  // A header that cannot describe an evenly sampled time series is corrupt (or of another kind
  // of SAC file: spectral, XY, uneven); "unreadable" is kept for a file that cannot be read.
  const shown = (v: number) => (v === UNDEF ? `${v} (undefined)` : float32Text(v));
  if (iftype !== 1 || leven !== 1) {
    throw new SampleError(
      "corrupt",
      `Cannot read ${source}: SAC IFTYPE ${shown(iftype)}, LEVEN ${shown(leven)}: expected an ` +
        `evenly sampled time series (IFTYPE 1 = ITIME, LEVEN 1)`,
    );
  }
  if (!(npts >= 0) || !(delta > 0 && Number.isFinite(delta))) {
    throw new SampleError(
      "corrupt",
      `Cannot read ${source}: SAC NPTS ${shown(npts)}, DELTA ${shown(delta)}: expected NPTS ` +
        `>= 0 and DELTA, the sampling interval, a finite number of seconds > 0`,
    );
  }
  if (1 / delta > MAX_SAMPLING_RATE) {
    throw new SampleError(
      "corrupt",
      `Cannot read ${source}: SAC DELTA ${shown(delta)} s is a sampling rate of ` +
        `${Math.round(1 / delta)} Hz: expected at most ${MAX_SAMPLING_RATE} Hz (a damaged header?)`,
    );
  }
  if (!set(b)) {
    throw new SampleError(
      "bad time",
      `Cannot read ${source}: SAC B ${shown(b)}: expected the first sample's time, seconds ` +
        `after the reference time`,
    );
  }
  if (bytes.length < HEADER + 4 * npts) {
    throw new SampleError(
      "truncated",
      `Cannot read ${source}: file is truncated: NPTS ${npts} needs ${
        HEADER + 4 * npts
      } bytes: found ${bytes.length}`,
    );
  }
  const [year, jday, hour, min, sec, msec] = [70, 71, 72, 73, 74, 75].map(i);
  const days = isLeapYear(year) ? 366 : 365;
  // Day jday of January is day of year jday; the year as written (not 1900 + a year 0-99).
  const ref = utcTime(year, 0, jday, hour, min, sec) + msec;
  if (
    !Number.isFinite(ref) || ![year, jday, hour, min, sec, msec].every((v) => v !== UNDEF) ||
    !(jday >= 1 && jday <= days) || year > 9999 ||
    hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 60 || msec < 0 ||
    msec > 999
  ) {
    throw new SampleError(
      "bad time",
      `Cannot read ${source}: SAC reference time NZYEAR ${year} NZJDAY ${jday} NZHOUR ${hour} ` +
        `NZMIN ${min} NZSEC ${sec} NZMSEC ${msec} is not a valid time`,
    );
  }
  const data = new Float64Array(npts);
  for (let k = 0; k < npts; k++) data[k] = dv.getFloat32(HEADER + 4 * k, le);
  // DELTA is a float32: 0.01 is stored as 0.0099999998. Snap the rate to the nearest
  // thousandth of a hertz when it is within float32 rounding of it.
  let rate = 1 / delta;
  const snapped = Math.round(rate * 1000) / 1000;
  if (Math.abs(snapped - rate) <= 1e-6 * rate) rate = snapped;
  // B or a marker (float32, up to 3.4e38 s) may put a time past JavaScript's dates (±8.64e15
  // ms), which then failed far from here as 'Invalid time value', or past the year 9999.
  const noDate = (name: string, v: number) =>
    new SampleError(
      "bad time",
      `Cannot read ${source}: SAC ${name} ${shown(v)} s after the reference time is ${
        Math.abs(ref + v * 1000) <= 8.64e15 ? "past the year 9999" : "no date"
      }`,
    );
  const dated = (t: number) => Math.abs(t) <= 8.64e15 && t < YEAR_10000;
  if (!dated(ref + b * 1000)) throw noDate("B", b);
  const markers: Partial<Record<SacMarker, number>> = {};
  for (const m of SAC_MARKERS) {
    const v = f(MARKER_WORD[m]);
    if (!set(v)) continue;
    if (!dated(ref + v * 1000)) throw noDate(m, v);
    markers[m] = ref + v * 1000;
  }
  const coord = (w: number) => (set(f(w)) ? f(w) : undefined);
  const coordinates = Object.fromEntries(
    (
      [["stla", 31], ["stlo", 32], ["stel", 33], ["evla", 35], ["evlo", 36], ["evdp", 38]] as const
    ).map(([k, w]) => [k, coord(w)]).filter(([, v]) => v !== undefined),
  );
  const orientation = Object.fromEntries(
    ([["cmpaz", 57], ["cmpinc", 58]] as const).map(([k, w]) => [k, coord(w)])
      .filter(([, v]) => v !== undefined),
  );
  return {
    orientation,
    trace: {
      network: text(bytes, 608, 8),
      station: text(bytes, 440, 8),
      location: text(bytes, 464, 8),
      channel: text(bytes, 600, 8),
      startTime: ref + b * 1000,
      samplingRate: rate,
      data,
    },
    markers,
    coordinates,
  };
}

/**
 * Reads a SAC binary file.
 *
 * @param path The file.
 * @returns as {@linkcode readSac}.
 * @throws {SampleError} ("unreadable") when the file cannot be read, and as {@linkcode readSac}.
 */
export async function readSacFile(path: string): Promise<SacFile> {
  let bytes: Uint8Array;
  try {
    bytes = await readInputFile(path);
  } catch (e) {
    throw new SampleError("unreadable", `Cannot read ${path}: ${readFailure(e)}`);
  }
  return readSac(bytes, path);
}

/**
 * Encodes one trace as a little-endian SAC binary file (header version 6, IFTYPE ITIME, the
 * reference time at the first sample, B = 0), with optional markers and orientation.
 *
 * @param trace The trace (samples stored as float32).
 * @param markers Marker times, ms since 1970 UTC.
 * @param orientation CMPAZ and CMPINC, degrees (left undefined when absent).
 * @returns the file's bytes.
 */
export function encodeSac(
  trace: Segment,
  markers: Partial<Record<SacMarker, number>> = {},
  orientation: { cmpaz?: number; cmpinc?: number } = {},
): Uint8Array {
  const n = trace.data.length;
  const bytes = new Uint8Array(HEADER + 4 * n);
  const dv = new DataView(bytes.buffer);
  for (let w = 0; w < 70; w++) dv.setFloat32(w * 4, UNDEF, true);
  for (let w = 70; w < 110; w++) dv.setInt32(w * 4, UNDEF, true);
  const undefText = new TextEncoder().encode("-12345  ");
  for (let off = 440; off < HEADER; off += 8) bytes.set(undefText, off);
  bytes.set(new TextEncoder().encode("-12345          "), 448); // KEVNM is 16 characters
  const putText = (off: number, s: string, len = 8) => {
    bytes.set(new TextEncoder().encode(s.padEnd(len, " ").slice(0, len)), off);
  };
  // The reference time: the first sample, to the millisecond; B holds the rest.
  const ms = Math.floor(trace.startTime);
  const d = new Date(ms);
  const jday = Math.floor((ms - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1;
  const ints: [number, number][] = [
    [70, d.getUTCFullYear()],
    [71, jday],
    [72, d.getUTCHours()],
    [73, d.getUTCMinutes()],
    [74, d.getUTCSeconds()],
    [75, d.getUTCMilliseconds()],
    [76, 6],
    [79, n],
    [85, 1], // ITIME
    [86, 5], // IUNKN
    [87, 9], // IB: reference at the begin time
    [105, 1], // LEVEN
    [106, 1],
    [107, 1],
    [108, 1],
  ];
  for (const [w, v] of ints) dv.setInt32(w * 4, v, true);
  const b = (trace.startTime - ms) / 1000;
  let lo = Infinity, hi = -Infinity, sum = 0;
  for (const v of trace.data) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
    sum += v;
  }
  const floats: [number, number][] = [
    [0, 1 / trace.samplingRate],
    [1, n ? lo : 0],
    [2, n ? hi : 0],
    [5, b],
    [6, b + (n - 1) / trace.samplingRate],
    [56, n ? sum / n : 0],
    ...(orientation.cmpaz === undefined ? [] : [[57, orientation.cmpaz] as [number, number]]),
    ...(orientation.cmpinc === undefined ? [] : [[58, orientation.cmpinc] as [number, number]]),
  ];
  for (const [w, v] of floats) dv.setFloat32(w * 4, v, true);
  for (const m of SAC_MARKERS) {
    const t = markers[m];
    if (t !== undefined) dv.setFloat32(MARKER_WORD[m] * 4, (t - ms) / 1000, true);
  }
  putText(440, trace.station);
  putText(464, trace.location || "-12345");
  putText(600, trace.channel);
  putText(608, trace.network);
  for (let k = 0; k < n; k++) dv.setFloat32(HEADER + 4 * k, trace.data[k], true);
  return bytes;
}

/**
 * Whether a text is a SAC pole-zero response (ZEROS, POLES and CONSTANT lines).
 *
 * @param text The file's text.
 * @returns true for SAC pole-zero.
 */
export function isSacPoleZero(text: string): boolean {
  return /^\s*ZEROS\s+\d+/m.test(text) && /^\s*POLES\s+\d+/m.test(text) &&
    /^\s*CONSTANT\s+\S+/m.test(text);
}

/** What a SAC pole-zero file's `*` comments say of its channel (IRIS's and ObsPy's style). */
export interface SacPoleZeroComments {
  /** `* NETWORK`: SEED network code. */
  network?: string;
  /** `* STATION`: SEED station code. */
  station?: string;
  /** `* LOCATION`: SEED location code, "" for an empty one (or `--`). */
  location?: string;
  /** `* CHANNEL`: SEED channel code. */
  channel?: string;
  /** `* START`: start of the epoch, ms since 1970 UTC. */
  start?: number;
  /** `* END`: end of the epoch, ms since 1970 UTC. */
  end?: number;
  /** `* AZIMUTH`: degrees clockwise from north. */
  azimuth?: number;
  /** `* DIP`: as IRIS writes it, SAC's angle from the upward vertical (CMPINC), degrees. */
  incidence?: number;
  /** `* DIP (SEED)`: SEED's dip, degrees down from the horizontal (ObsPy writes it). */
  seedDip?: number;
}

/**
 * Reads the `*` comment lines of a SAC pole-zero file: `* KEY [(…)] : value`, as IRIS's
 * web service, rdseed and ObsPy write them. A value of -12345 or an empty one is left out.
 *
 * @param text The file's text.
 * @returns the channel codes, epoch and orientation the comments give.
 * @example
 * ```ts
 * import { sacPoleZeroComments } from "./sac.ts";
 * const c = sacPoleZeroComments("* CHANNEL   (KCMPNM): BH1\n* DIP : 90.0\n* AZIMUTH : 328.0\n");
 * if (c.channel !== "BH1" || c.incidence !== 90 || c.azimuth !== 328) throw new Error();
 * ```
 */
export function sacPoleZeroComments(text: string): SacPoleZeroComments {
  const out: SacPoleZeroComments = {};
  const num = (v: string) => {
    const x = Number(v.split(/\s/)[0]);
    return v !== "" && Number.isFinite(x) && x !== UNDEF ? x : undefined;
  };
  const time = (v: string) => {
    const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : v + "Z");
    return Number.isFinite(t) ? t : undefined;
  };
  for (const line of text.replace(/\r/g, "").split("\n")) {
    const m = /^\s*\*\s*([A-Z][A-Z ]*?)\s*(\([^)]*\))?\s*:(.*)$/i.exec(line);
    if (!m) continue;
    const key = m[1].toUpperCase(), tag = (m[2] ?? "").toUpperCase(), v = m[3].trim();
    if (v === "-12345") continue;
    if (key === "NETWORK") out.network = v;
    else if (key === "STATION") out.station = v;
    else if (key === "LOCATION") out.location = v === "--" ? "" : v;
    else if (key === "CHANNEL") out.channel = v;
    else if (key === "START") out.start = time(v);
    else if (key === "END") out.end = time(v);
    else if (key === "AZIMUTH") out.azimuth = num(v);
    else if (key === "DIP" && tag === "(SEED)") out.seedDip = num(v);
    else if (key === "DIP") out.incidence = num(v);
  }
  for (const k of Object.keys(out) as (keyof SacPoleZeroComments)[]) {
    if (out[k] === undefined || (out[k] === "" && k !== "location")) delete out[k];
  }
  return out;
}

/** The most poles or zeros a SAC pole-zero file may count (`POLES n`, `ZEROS n`). */
const MAX_PZ_COUNT = 1000;
/** A number as SAC_PZ files write it: optional sign, digits, fraction, exponent; nothing after. */
const PZ_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Checks the lines of a SAC pole-zero file before seisplotjs reads it, since its parser drops
 * what does not fit without a word (a pole listed beyond the POLES count is left out, and
 * `parseFloat` reads `-4.443x` as -4.443): besides blank lines and `*` comments, only `ZEROS n`
 * and `POLES n` (n a whole number, at most 1000), each followed by at most n lines of two numbers (the real
 * and imaginary parts; fewer lines leave the rest at the origin, SAC's convention), and
 * `CONSTANT c`.
 *
 * @param text The file's text.
 * @param source The file's name, for messages.
 * @throws {SampleError} ("bad response") naming the file, the line and what was expected.
 * @example
 * ```ts
 * import { checkSacPoleZeroLines } from "./sac.ts";
 * checkSacPoleZeroLines("* IU ANMO\nZEROS 2\n1 0\nPOLES 1\n-1 0\nCONSTANT 2e9\n", "a.pz");
 * let refused = false;
 * try {
 *   checkSacPoleZeroLines("ZEROS 0\nPOLES 1\n-1 0\n-2 0\nCONSTANT 1\n", "b.pz");
 * } catch {
 *   refused = true; // two poles listed after POLES 1
 * }
 * if (!refused) throw new Error();
 * ```
 */
export function checkSacPoleZeroLines(text: string, source: string): void {
  const fail = (line: number, why: string) =>
    new SampleError("bad response", `Cannot read ${source}, line ${line}: ${why}`);
  // The section being read, its count, the lines listed so far and where it began.
  let section: { name: "ZEROS" | "POLES"; count: number; listed: number; line: number } | null =
    null;
  const lines = text.replace(/\r/g, "").split("\n");
  for (const [i, raw] of lines.entries()) {
    const line = i + 1, t = raw.trim();
    if (t === "" || t.startsWith("*")) continue;
    const items = t.split(/\s+/);
    const head = items[0];
    if (head === "ZEROS" || head === "POLES") {
      if (items.length !== 2 || !/^\d+$/.test(items[1])) {
        throw fail(line, `expected '${head} n' with n a whole number: found '${t}'`);
      }
      const count = Number(items[1]);
      // seisplotjs fills the count in at the origin before reading the lines: a damaged count
      // (POLES 1000000000) ran the process out of memory. Responses have tens of poles.
      if (count > MAX_PZ_COUNT) {
        throw fail(
          line,
          `${head} ${items[1]}: expected at most ${MAX_PZ_COUNT} ${head.toLowerCase()} ` +
            `(a damaged file?)`,
        );
      }
      section = { name: head, count, listed: 0, line };
    } else if (head === "CONSTANT") {
      if (items.length !== 2 || !PZ_NUMBER.test(items[1])) {
        throw fail(line, `expected 'CONSTANT c' with c a number: found '${t}'`);
      }
      section = null;
    } else if (section === null) {
      throw fail(line, `expected ZEROS, POLES, CONSTANT or a '*' comment: found '${t}'`);
    } else {
      if (items.length !== 2 || !items.every((x) => PZ_NUMBER.test(x))) {
        throw fail(
          line,
          `expected a ${section.name === "ZEROS" ? "zero" : "pole"} as two numbers (real and ` +
            `imaginary part): found '${t}'`,
        );
      }
      if (++section.listed > section.count) {
        throw fail(
          line,
          `${section.name} ${section.count} on line ${section.line} is followed by more than ` +
            `${section.count} ${section.name.toLowerCase()}: expected at most ${section.count} ` +
            `lines (fewer leave the rest at the origin)`,
        );
      }
    }
  }
}

/**
 * Turns a SAC pole-zero file into a response: H(s) = CONSTANT · Π(s − z) / Π(s − p) with s =
 * 2πif, from displacement in metres to counts (the convention of IRIS's SAC_PZ files and of
 * `rdseed`), as one analog stage and its sensitivity at 1 Hz. Parsed by seisplotjs's
 * `SacPoleZero.parse`.
 *
 * @param text The file's text.
 * @param source The file's name, for messages.
 * @returns the response.
 * @throws {SampleError} ("bad response") when the file holds no usable poles, zeros and constant,
 *   or several pole-zero sets (channels or epochs concatenated, as IRIS's web service answers a
 *   request for several): one file must hold one channel's; or a line that is not as
 *   {@linkcode checkSacPoleZeroLines} expects, naming it.
 */
export async function parseSacPoleZero(text: string, source: string): Promise<InstrumentResponse> {
  if (!isSacPoleZero(text)) {
    throw new SampleError(
      "bad response",
      `Cannot read ${source}: expected a SAC pole-zero file (ZEROS n, POLES n, CONSTANT c lines)`,
    );
  }
  const sets = text.match(/^\s*CONSTANT\s/gm)?.length ?? 0;
  if (sets > 1) {
    throw new SampleError(
      "bad response",
      `Cannot read ${source}: it holds ${sets} pole-zero sets (several channels or epochs): ` +
        `expected one, a file per channel (as IRIS's FetchData writes them)`,
    );
  }
  checkSacPoleZeroLines(text, source);
  const sp = await seisplotjs();
  // seisplotjs splits lines on spaces only; IRIS's files separate the numbers by tabs.
  const pz = sp.sacPoleZero.SacPoleZero.parse(
    text.replace(/\r/g, "").replace(/[ \t]+/g, " ").split("\n").map((l) => l.trim()).join("\n"),
  );
  const zeros = pz.zeros.map((c) => [c.real(), c.imag()] as [number, number]);
  const poles = pz.poles.map((c) => [c.real(), c.imag()] as [number, number]);
  const bad = [...zeros, ...poles].some(([re, im]) => !Number.isFinite(re) || !Number.isFinite(im));
  if (bad || !Number.isFinite(pz.constant) || pz.constant === 0) {
    throw new SampleError(
      "bad response",
      `Cannot read ${source}: its poles, zeros and constant must be finite numbers (and the ` +
        `constant non-zero): found ${zeros.length} zeros, ${poles.length} poles, constant ${pz.constant}`,
    );
  }
  // |H(1 Hz)| = CONSTANT · |Π(s − z)| / |Π(s − p)|.
  let g = Math.abs(pz.constant);
  const w = 2 * Math.PI;
  for (const [re, im] of zeros) g *= Math.hypot(-re, w - im);
  for (const [re, im] of poles) g /= Math.hypot(-re, w - im);
  return {
    sensitivity: g,
    sensitivityFrequency: 1,
    inputUnits: "M",
    stages: [{ type: "radians", zeros, poles, normalizationFactor: 1 }],
    source,
  };
}
