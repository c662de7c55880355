/**
 * miniSEED 2 and 3 reading and miniSEED 3 writing, by npm:seisplotjs. The
 * reader validates the bytes first (empty, text, truncated) so that every bad
 * file fails with a message naming it, then merges each channel's segments across
 * gaps up to a tolerance.
 *
 * @module
 */
import { seisplotjs } from "./_seisplotjs.ts";
import { SampleError } from "./sample_error.ts";
import { readFailure, readInputFile } from "./input_file.ts";
import { compareText } from "../util/names.ts";
import { isLeapYear } from "../util/utc.ts";

/** One continuous channel of samples. */
export interface Trace {
  /** SEED network code. */
  network: string;
  /** SEED station code. */
  station: string;
  /** SEED location code. */
  location: string;
  /** SEED channel code. */
  channel: string;
  /** Time of the first sample, ms since 1970-01-01 UTC. */
  startTime: number;
  /** Samples per second, Hz. */
  samplingRate: number;
  /** Samples (counts as stored). */
  data: Float64Array;
  /**
   * Where merging within the gap tolerance made samples up or left some out: gaps filled by
   * linear interpolation, and overlaps whose later samples differed from those kept (exact
   * repeats, a duplicated record, are not listed). Absent where there were none.
   */
  joins?: Join[];
}

/** A gap filled, or an overlap resolved, when segments were merged ({@linkcode Trace.joins}). */
export interface Join {
  /** What: "gap" (samples made by linear interpolation) or "overlap" (later samples dropped). */
  kind: "gap" | "overlap";
  /** Time of its first sample, ms since 1970 UTC. */
  start: number;
  /** How many samples. */
  samples: number;
}

/** A continuous piece of a channel as decoded (one record or a run of records). */
export interface Segment {
  /** SEED network code. */
  network: string;
  /** SEED station code. */
  station: string;
  /** SEED location code. */
  location: string;
  /** SEED channel code. */
  channel: string;
  /** Time of the first sample, ms since 1970 UTC. */
  startTime: number;
  /** Samples per second, Hz. */
  samplingRate: number;
  /** Samples (counts as stored). */
  data: Float64Array;
}

/** Options of {@linkcode readMiniseed}. */
export interface ReadMiniseedOptions {
  /**
   * Largest gap (or overlap) between segments that is merged, in seconds
   * (default 0: only half a sample of timing jitter). Gaps are filled by linear
   * interpolation; overlaps keep the earlier samples.
   */
  gapTolerance?: number;
  /**
   * Times the caller needs, [start, end] in ms since 1970: a gap or overlap beyond the
   * tolerance outside them keeps the contiguous part that covers them instead of failing
   * (see {@linkcode mergeSegments}).
   */
  window?: readonly [number, number];
}

function nslc(s: { network: string; station: string; location: string; channel: string }): string {
  return `${s.network}.${s.station}.${s.location}.${s.channel}`;
}

/**
 * @param bytes File bytes.
 * @returns 2 or 3 for a miniSEED record header, 0 otherwise.
 */
export function miniseedVersion(bytes: Uint8Array): 0 | 2 | 3 {
  if (bytes.length >= 40 && bytes[0] === 77 && bytes[1] === 83 && bytes[2] === 3) return 3;
  if (bytes.length >= 48) {
    const seqOk = [0, 1, 2, 3, 4, 5].every((i) =>
      (bytes[i] >= 48 && bytes[i] <= 57) || bytes[i] === 32 || bytes[i] === 0
    );
    const q = String.fromCharCode(bytes[6]);
    if (seqOk && "DRQM".includes(q) && (bytes[7] === 32 || bytes[7] === 0)) return 2;
  }
  return 0;
}

/** A miniSEED 2 fixed header's data quality indicator (byte 6): D, R, Q or M. */
const QUALITY = new Set([68, 82, 81, 77]);

/**
 * Whether miniSEED 2 bytes may hold miniSEED 3 records: `MS\x03` at a 64-byte boundary, where
 * the first miniSEED 3 record after miniSEED 2 records starts (their lengths are powers of 2).
 */
function holdsMiniseed3(bytes: Uint8Array): boolean {
  for (let k = 64; k + 40 <= bytes.length; k += 64) {
    if (bytes[k] === 77 && bytes[k + 1] === 83 && bytes[k + 2] === 3) return true;
  }
  return false;
}

/** A damaged record that {@linkcode decodeSegments} left out. */
export interface CorruptRecord {
  /** Byte offset of the record in its file. */
  offset: number;
  /** Its time span, ms since 1970 UTC (its header's start and its samples' end). */
  start: number;
  /** End of its time span, ms. */
  end: number;
  /**
   * Why: reason "corrupt" (or "unsupported" for an encoding seisdec cannot decode, "truncated"
   * for a file's cut last record), naming the file, the byte offset, the channel and the start.
   */
  error: SampleError;
  /** Its channel, `NET.STA.LOC.CHA`, where its header could be read. */
  channel?: string;
}

/** Options of {@linkcode decodeSegments}. */
export interface DecodeOptions {
  /**
   * The file offset of each record of the bytes, in order, where they are a selection of a
   * file's records ({@linkcode recordsBetween}): messages then name the file's offsets.
   */
  fileOffsets?: readonly number[];
  /**
   * With it, a damaged record (one that fails its Steim integrity check or CRC-32C, or whose
   * data do not decode) is left out, a gap in its channel, and reported here; without it, it
   * fails the whole call.
   */
  onCorrupt?: (record: CorruptRecord) => void;
}

/**
 * Decodes the records of miniSEED bytes into per-channel segments (as
 * {@linkcode readMiniseedSegments}).
 *
 * @param bytes The file's bytes.
 * @param source The file's name, for messages.
 * @param options Where damaged records go (left out and reported, or an error) and the
 *   records' file offsets.
 * @returns the segments, sorted by channel then time.
 * @throws {SampleError} for empty, non-miniSEED or truncated bytes, and for a damaged record
 *   without `onCorrupt`.
 */
export async function decodeSegments(
  bytes: Uint8Array,
  source: string,
  options: DecodeOptions = {},
): Promise<Segment[]> {
  if (bytes.length === 0) {
    throw new SampleError("empty file", `Cannot read ${source}: the file is empty`);
  }
  const version = miniseedVersion(bytes);
  if (version === 0) {
    throw new SampleError(
      "not miniseed",
      `Cannot read ${source}: expected a miniSEED 2 or 3 record header (or a SAC file): found ${
        JSON.stringify(new TextDecoder().decode(bytes.subarray(0, 8)))
      }`,
    );
  }
  let fileOffsets = options.fileOffsets;
  // A whole file whose damaged records are to be left out: its framing first, skipping damaged
  // headers to the next good record, then the good records alone.
  if (options.onCorrupt && !fileOffsets) {
    let skipped = false;
    const spans = await indexRecords(bytes, source, (d) => {
      skipped = true;
      options.onCorrupt!(d);
    });
    if (skipped) {
      if (spans.length === 0) return [];
      fileOffsets = spans.map((r) => r.offset);
      bytes = concatRecords(bytes, spans);
    }
  }
  const fileOffset = (i: number, at: number) => fileOffsets?.[i] ?? at;
  // The records' framing (headers only), where some may be miniSEED 3: a record cut short or
  // bytes that are not a record are named with their byte offset, as for miniSEED 2.
  const framing = version === 3 || holdsMiniseed3(bytes) ? await indexRecords(bytes, source) : null;
  // A file mixing miniSEED 2 and 3 records (each record's version is its own header's): each
  // version's records decoded apart, where the first record's version hid the others.
  const three = framing?.map((r) => miniseedVersion(bytes.subarray(r.offset)) === 3) ?? [];
  const nThree = three.filter((t) => t).length;
  if (framing && nThree > 0 && nThree < framing.length) {
    const part = async (want: boolean) => {
      const at = framing.map((_, i) => i).filter((i) => three[i] === want);
      return await decodeSegments(concatRecords(bytes, at.map((i) => framing[i])), source, {
        fileOffsets: at.map((i) => fileOffset(i, framing[i].offset)),
        onCorrupt: options.onCorrupt,
      });
    };
    const out = [...await part(false), ...await part(true)];
    out.sort((a, b) => compareText(nslc(a), nslc(b)) || a.startTime - b.startTime);
    return out;
  }
  const sp = await seisplotjs();
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const out: Segment[] = [];
  try {
    if (version === 2) {
      const records = [];
      let offset = 0;
      for (let index = 0; offset < buf.byteLength; index++) {
        if (buf.byteLength - offset < 48) {
          throw new SampleError(
            "truncated",
            `Cannot read ${source}: file is truncated: ${
              buf.byteLength - offset
            } bytes after the last record`,
          );
        }
        // The header first, for the record's size: a record cut short is then named as such,
        // where seisplotjs's record parser failed on its data ("Invalid DataView length").
        const framed = header2(sp, bytes, offset, source);
        if (framed instanceof SampleError) throw framed;
        const size = framed.size;
        const fh = framed.h;
        // Text records (encoding 0: a datalogger's LOG, ACE or OCF channels) and records without
        // samples hold no data: left out, as libmseed reads them apart from the data channels.
        if (fh.encoding === 0 || fh.numSamples === 0) {
          offset += size;
          continue;
        }
        if (!DECODABLE.has(fh.encoding)) {
          const id = recordId2(fh);
          const at = fileOffset(index, offset);
          const error = unsupportedEncoding(source, at, id, fh.startTime.toISO(), fh.encoding);
          if (!options.onCorrupt) throw error;
          const start = exactStart2(fh);
          const fs = fh.sampleRate > 0 ? fh.sampleRate : 0;
          options.onCorrupt({
            offset: at,
            start,
            end: start + (fs > 0 ? fh.numSamples * 1000 / fs : 0),
            error,
            channel: id,
          });
          offset += size;
          continue;
        }
        const rateError = badRate(
          source,
          fileOffset(index, offset),
          recordId2(fh),
          fh.startTime.toISO(),
          fh.sampleRate,
        );
        if (rateError) {
          if (!options.onCorrupt) throw rateError;
          const start = exactStart2(fh);
          options.onCorrupt({
            offset: fileOffset(index, offset),
            start,
            end: start,
            error: rateError,
            channel: recordId2(fh),
          });
          offset += size;
          continue;
        }
        let rec;
        try {
          rec = sp.miniseed.parseSingleDataRecord(new DataView(buf, offset, size));
        } catch (e) {
          throw new SampleError(
            "corrupt",
            `Cannot read ${source}: the record at byte ${offset} does not parse: ${
              (e as Error).message
            }`,
          );
        }
        const h = rec.header;
        try {
          const y = checkSteim(
            h.encoding,
            () => rec.decompress(),
            new DataView(buf, offset + h.dataOffset, size - h.dataOffset),
            h.littleEndian,
            h.numSamples,
            () =>
              `${source}: record at byte ${
                fileOffset(index, offset)
              } (${h.netCode}.${h.staCode}.${h.locCode}.${h.chanCode}, ${h.startTime.toISO()})`,
            fileOffset(index, offset) + h.dataOffset,
          );
          records.push({ rec, y });
        } catch (e) {
          if (!(e instanceof SampleError && options.onCorrupt)) throw e;
          const fs = h.sampleRate > 0 ? h.sampleRate : 0;
          const t0 = exactStart2(h);
          options.onCorrupt({
            offset: fileOffset(index, offset),
            start: t0,
            end: t0 + (fs > 0 ? h.numSamples * 1000 / fs : 0),
            error: e,
            channel: recordId2(h),
          });
        }
        offset += size;
      }
      if (records.length === 0) return [];
      out.push(...joinRecords(
        records.map(({ rec, y }) => ({
          seg: sp.miniseed.createSeismogramSegment(rec),
          start: exactStart2(rec.header),
          y,
        })),
        source,
      ));
    } else {
      const spans = framing!;
      // deno-lint-ignore no-explicit-any
      const segments: { seg: any; start: number; y: ArrayLike<number> }[] = [];
      const good = spans.filter((r, i) => {
        const at = fileOffset(i, r.offset);
        let error: SampleError | null = null;
        let channel: string | undefined;
        try {
          checkCrc32c(bytes, r, at, source);
        } catch (e) {
          if (!(e instanceof SampleError)) throw e;
          error = e;
        }
        // The data encoding (byte 15 of the fixed header) before seisplotjs meets it; a record
        // without samples (bytes 24-27), such as an opaque one (100), is left out below.
        const enc = bytes[r.offset + 15];
        const samples = new DataView(bytes.buffer, bytes.byteOffset + r.offset + 24, 4)
          .getUint32(0, true);
        if (!error && enc !== 0 && samples > 0 && !DECODABLE.has(enc)) {
          const id = bytes.subarray(r.offset + 40, r.offset + 40 + bytes[r.offset + 33]);
          channel = sourceIdChannel(new TextDecoder().decode(id));
          error = unsupportedEncoding(source, at, channel, new Date(r.start).toISOString(), enc);
        }
        if (!error && enc !== 0 && samples > 0) {
          const rate = new DataView(bytes.buffer, bytes.byteOffset + r.offset + 16, 8)
            .getFloat64(0, true);
          const fs = rate < 0 ? -1 / rate : rate;
          const id = bytes.subarray(r.offset + 40, r.offset + 40 + bytes[r.offset + 33]);
          const ch = sourceIdChannel(new TextDecoder().decode(id));
          error = badRate(source, at, ch, new Date(r.start).toISOString(), fs);
          if (error) channel = ch;
        }
        // Each record parsed and decoded on its own: one that passes its CRC but that seisplotjs
        // cannot read (a source id without 'FDSN:', extra headers that are not JSON, a leap
        // second) failed the whole file, naming neither the record nor its byte.
        // Text records (encoding 0) and records without samples hold no data (as above).
        if (!error && enc !== 0 && samples > 0) {
          try {
            const [rec] = sp.mseed3.parseMSeed3Records(
              bytes.slice(r.offset, r.offset + r.size).buffer,
            );
            const h = rec.header;
            const t = Date.UTC(h.year, 0, h.dayOfYear, h.hour, h.minute, h.second);
            const seg = sp.mseed3.createSeismogramSegment(rec);
            segments.push({ seg, start: t + h.nanosecond / 1e6, y: seg.y });
          } catch (e) {
            error = new SampleError(
              "corrupt",
              `Cannot read ${source}: the record at byte ${at} (${r.channel}, ${
                new Date(r.start).toISOString()
              }) does not decode: ${(e as Error).message}`,
            );
          }
        }
        if (!error) return true;
        if (!options.onCorrupt) throw error;
        options.onCorrupt({
          offset: at,
          start: r.start,
          end: r.end,
          error,
          ...(channel ? { channel } : {}),
        });
        return false;
      });
      if (good.length === 0) return [];
      out.push(...joinRecords(segments, source));
    }
  } catch (e) {
    if (e instanceof SampleError) throw e;
    throw new SampleError(
      "corrupt",
      `Cannot read ${source}: cannot decode miniSEED ${version} records: ${(e as Error).message}`,
    );
  }
  out.sort((a, b) => compareText(nslc(a), nslc(b)) || a.startTime - b.startTime);
  return out;
}

/**
 * Decodes a Steim 1 or 2 record (encoding 10 or 11; other encodings pass) and checks it as
 * libmseed does: the last sample must equal the reverse integration constant X(n), word 2 of
 * the first frame. A flipped bit in the data frames changes the differences after it and so
 * the last sample; seisplotjs decodes without this check.
 *
 * @returns the samples decoded (so that they are not decoded again), or null for a record that
 *   is not Steim or has no samples.
 *
 * @param dataAt The file byte of the record's data, for messages.
 * @throws {SampleError} "corrupt", naming the record, when it does not decode or fails the check.
 */
function checkSteim(
  encoding: number,
  decode: () => ArrayLike<number>,
  data: DataView,
  littleEndian: boolean,
  numSamples: number,
  where: () => string,
  dataAt: number,
): ArrayLike<number> | null {
  if ((encoding !== 10 && encoding !== 11) || numSamples === 0) return null;
  let y: ArrayLike<number>;
  try {
    y = decode();
  } catch (e) {
    throw new SampleError(
      "corrupt",
      `Cannot read ${where()}: its Steim ${encoding - 9} data do not decode: ${
        steimFailure((e as Error).message, encoding - 9, dataAt)
      }`,
    );
  }
  const xn = data.byteLength >= 12 ? data.getInt32(8, littleEndian) : NaN;
  const last = y.length === numSamples ? y[numSamples - 1] : NaN;
  if (last !== xn) {
    throw new SampleError(
      "corrupt",
      `Cannot read ${where()}: it fails the Steim ${
        encoding - 9
      } integrity check: its ${y.length} samples end at ${last}, its reverse integration constant says ${xn} (a damaged data frame)`,
    );
  }
  return y;
}

/**
 * seisplotjs's Steim decoder's errors in the record's terms ("Unknown case currNibble=3 dnib=3
 * for chunk 0 offset 0, ..." names no byte): the frame, word and file byte, and what is wrong.
 */
function steimFailure(message: string, steim: number, dataAt: number): string {
  const code = /^Unknown case currNibble=(\d+) dnib=(\d+) for chunk (\d+) offset (\d+)/.exec(
    message,
  );
  if (code) {
    const [nibble, dnib, word, frame] = code.slice(1).map(Number);
    return `data frame ${frame / 64}, word ${word} (byte ${dataAt + frame + 4 * word}): nibble ` +
      `${nibble} with dnib ${dnib} is not a valid Steim ${steim} code (a damaged data frame, or ` +
      `data in another encoding or word order than blockette 1000 gives)`;
  }
  const count = /^Number of samples decompressed doesn't match number in header: (\d+) !== (\d+)/
    .exec(message);
  if (count) {
    return `its frames hold ${count[1]} samples: the header declares ${count[2]} (a damaged ` +
      `header or data frame)`;
  }
  const frames = /^encoded data length is not multiple of 64 bytes \((\d+)\)/.exec(message);
  if (frames) {
    return `its ${frames[1]} bytes of data (from the data offset, bytes 44-45, to the record's ` +
      `end) are not whole 64-byte frames (a damaged header)`;
  }
  return message;
}

let crcTables: Uint32Array | null = null;

/**
 * The tables of CRC-32C by slicing-by-8: table t (entries 256·t … 256·t + 255) gives the CRC
 * of a byte followed by t zero bytes, so that eight bytes are folded in per step.
 */
function crc32cTables(): Uint32Array {
  if (crcTables) return crcTables;
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82F63B78 : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let k = 1; k < 8; k++) {
      t[256 * k + i] = t[t[256 * (k - 1) + i] & 0xFF] ^ (t[256 * (k - 1) + i] >>> 8);
    }
  }
  return crcTables = t;
}

/**
 * Continues a CRC-32C (the register, before its final inversion) over `bytes[from, to)`,
 * eight bytes a step.
 */
function crc32cUpdate(crc: number, bytes: Uint8Array, from: number, to: number): number {
  const t = crc32cTables();
  let i = from;
  for (; i + 8 <= to; i += 8) {
    const lo = crc ^ (bytes[i] | bytes[i + 1] << 8 | bytes[i + 2] << 16 | bytes[i + 3] << 24);
    crc = t[1792 + (lo & 0xFF)] ^ t[1536 + ((lo >>> 8) & 0xFF)] ^
      t[1280 + ((lo >>> 16) & 0xFF)] ^ t[1024 + (lo >>> 24)] ^
      t[768 + bytes[i + 4]] ^ t[512 + bytes[i + 5]] ^ t[256 + bytes[i + 6]] ^ t[bytes[i + 7]];
  }
  for (; i < to; i++) crc = t[(crc ^ bytes[i]) & 0xFF] ^ (crc >>> 8);
  return crc;
}

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as miniSEED 3 records carry. */
export function crc32c(bytes: Uint8Array): number {
  return (crc32cUpdate(0xFFFFFFFF, bytes, 0, bytes.length) ^ 0xFFFFFFFF) >>> 0;
}

/** Four zero bytes: the CRC field of a miniSEED 3 record, as its CRC is computed. */
const ZERO4 = new Uint8Array(4);

/**
 * Checks a miniSEED 3 record's CRC-32C (bytes 28–31, little-endian, computed over the whole
 * record with those bytes zero). A stored 0 means no CRC and passes.
 *
 * @throws {SampleError} "corrupt", naming the record's byte offset.
 */
function checkCrc32c(bytes: Uint8Array, r: RecordSpan, at: number, source: string): void {
  const o = r.offset;
  const stored =
    (bytes[o + 28] | bytes[o + 29] << 8 | bytes[o + 30] << 16 | bytes[o + 31] << 24) >>>
    0;
  if (stored === 0) return;
  // The record in three pieces, its CRC field read as zero (no copy of the record).
  let c = crc32cUpdate(0xFFFFFFFF, bytes, o, o + 28);
  c = crc32cUpdate(c, ZERO4, 0, 4);
  c = crc32cUpdate(c, bytes, o + 32, o + r.size);
  const crc = (c ^ 0xFFFFFFFF) >>> 0;
  if (crc !== stored) {
    const rec = bytes.subarray(o, o + r.size);
    // The identifier (FDSN source id) as written, if its length byte is sane.
    const n = rec[33];
    const id = 40 + n <= rec.length ? new TextDecoder().decode(rec.subarray(40, 40 + n)) : "?";
    throw new SampleError(
      "corrupt",
      `Cannot read ${source}: the record at byte ${at} (${id}, ${
        new Date(r.start).toISOString()
      }) fails its CRC-32C check: stored 0x${stored.toString(16).padStart(8, "0")}, computed 0x${
        crc.toString(16).padStart(8, "0")
      } (damaged bytes)`,
    );
  }
}

/** The bytes of some records of a file, in order. */
function concatRecords(bytes: Uint8Array, keep: readonly RecordSpan[]): Uint8Array {
  const out = new Uint8Array(keep.reduce((n, r) => n + r.size, 0));
  let o = 0;
  for (const r of keep) {
    out.set(bytes.subarray(r.offset, r.offset + r.size), o);
    o += r.size;
  }
  return out;
}

/** Where one record of a miniSEED file lies, in the file and in time (not decompressed). */
export interface RecordSpan {
  /** Byte offset of the record in the file. */
  offset: number;
  /** Its length in bytes. */
  size: number;
  /** Time of its first sample, ms since 1970 UTC. */
  start: number;
  /** Time one sample period after its last sample, ms. */
  end: number;
  /** Its channel (NET.STA.LOC.CHA; miniSEED 3's source id), where known. */
  channel?: string;
}

type Seisplotjs = Awaited<ReturnType<typeof seisplotjs>>;

/**
 * The miniSEED 2 record header at `offset` and its record length, or why the bytes there frame
 * no record: a header that does not parse or gives an impossible length ("corrupt"), or a
 * record that runs past the end of the file ("truncated"). At least 48 bytes must remain.
 */
function header2(
  sp: Seisplotjs,
  bytes: Uint8Array,
  offset: number,
  source: string,
) {
  let h;
  try {
    h = sp.miniseed.parseSingleDataRecordHeader(
      new DataView(bytes.buffer, bytes.byteOffset + offset, bytes.length - offset),
    );
  } catch (e) {
    // Reading past the bytes there are, where the first blockette's offset (bytes 46-47, in
    // either byte order) is a plausible one: the file ends inside the header's blockettes. An
    // offset far past any header is a damaged header.
    const left = bytes.length - offset;
    const first = left >= 48
      ? Math.min(
        bytes[offset + 46] << 8 | bytes[offset + 47],
        bytes[offset + 47] << 8 | bytes[offset + 46],
      )
      : 48;
    if (e instanceof RangeError && first < 256 && left < first + 64) {
      return new SampleError(
        "truncated",
        `Cannot read ${source}: file is truncated: the record at byte ${offset} ends inside ` +
          `its header (${bytes.length - offset} bytes remain)`,
      );
    }
    // The field at fault, where seisplotjs's words name none ("Invalid DataView length -47").
    const fault = blocketteFault(bytes, offset);
    return new SampleError(
      "corrupt",
      `Cannot read ${source}: the record at byte ${offset} does not parse: ${
        fault ? `${fault} (a damaged header)` : (e as Error).message
      }`,
    );
  }
  // deno-lint-ignore no-explicit-any
  const blockettes: number[] = (h.blocketteList ?? []).map((b: any) => b.type);
  const at = () =>
    `the record at byte ${offset} (${recordId2(h)}, ${h.startTime?.toISO?.() ?? "?"})`;
  if (!blockettes.includes(1000)) {
    return new SampleError(
      "corrupt",
      `Cannot read ${source}: ${at()} has no blockette 1000, so its record length and data ` +
        "encoding are unknown (miniSEED 2 requires one)",
    );
  }
  if (
    h.numSamples > 0 && h.encoding !== 0 && (h.sampRateFac === 0 || h.sampRateMul === 0) &&
    !blockettes.includes(100)
  ) {
    return new SampleError(
      "corrupt",
      `Cannot read ${source}: ${at()} gives a sample rate factor of ${h.sampRateFac} and ` +
        `multiplier of ${h.sampRateMul}: no sampling rate for its ${h.numSamples} samples`,
    );
  }
  const size = h.recordSize;
  if (!(size >= 64 && size <= 1 << 20)) {
    return new SampleError(
      "corrupt",
      `Cannot read ${source}: the record at byte ${offset} gives a record length of ${size} ` +
        `bytes: expected 64 to 1,048,576 (a damaged header)`,
    );
  }
  if (offset + size > bytes.length) {
    return new SampleError(
      "truncated",
      `Cannot read ${source}: file is truncated: record at byte ${offset} needs ${size} bytes, ${
        bytes.length - offset
      } remain`,
    );
  }
  // A channel code of other than 3 characters failed the whole file in seisplotjs ('channel
  // code must be length 3 ...'), naming no record.
  if (h.encoding !== 0 && h.numSamples !== 0 && h.chanCode.length !== 3) {
    return new SampleError(
      "corrupt",
      `Cannot read ${source}: the record at byte ${offset} (${recordId2(h)}) gives channel ` +
        `code '${h.chanCode}' (bytes 15-17): expected 3 characters (a damaged header)`,
    );
  }
  // Data that would start outside the record: seisplotjs read a negative length of data.
  if (h.numSamples !== 0 && h.encoding !== 0 && !(h.dataOffset >= 48 && h.dataOffset < size)) {
    return new SampleError(
      "corrupt",
      `Cannot read ${source}: the record at byte ${offset} (${recordId2(h)}) gives a data ` +
        `offset (bytes 44-45) of ${h.dataOffset}: expected 48 to ${size - 1}, inside its ` +
        `${size}-byte record (a damaged header)`,
    );
  }
  // The count is unsigned (seisplotjs reads it signed: 65535 as -1).
  const declared = h.numSamples < 0 ? h.numSamples + 65536 : h.numSamples;
  const most = maxSamples(h.encoding, size - h.dataOffset);
  if (most !== null && declared > most) {
    return new SampleError(
      "corrupt",
      `Cannot read ${source}: ${
        tooMany(offset, recordId2(h), declared, size - h.dataOffset, h.encoding, most)
      }`,
    );
  }
  const b = h.startBTime;
  // The year is unsigned too (seisplotjs reads 65535 as -1).
  const noTime = badStart(
    b.year < 0 ? b.year + 65536 : b.year,
    b.jday,
    b.hour,
    b.min,
    b.sec,
    b.tenthMilli / 10,
  );
  if (noTime) {
    return new SampleError(
      "bad time",
      `Cannot read ${source}: the record at byte ${offset} (${recordId2(h)}) gives a start ` +
        `time that is no time: ${noTime} (a damaged header)`,
    );
  }
  return { h, size };
}

/**
 * Which field of a miniSEED 2 header frames no blockettes where seisplotjs's header parser
 * failed ("Invalid DataView length -47"): the first blockette's offset (bytes 46-47), a
 * blockette's next offset, the data offset (bytes 44-45) after the last one, or the count
 * (byte 39), each read as seisplotjs reads it (in the byte order its start year gives).
 *
 * @param bytes The file's bytes.
 * @param offset The record's byte (at least 48 bytes remain).
 * @returns the field, its value and what was expected; null where none of these is at fault.
 */
function blocketteFault(bytes: Uint8Array, offset: number): string | null {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, bytes.length - offset);
  // seisplotjs's checkByteSwap: a big-endian year outside 1960-2055 means little-endian.
  const year = dv.getInt16(20, false);
  const le = !(year === 1900 && dv.getInt16(22, false) === 1) && (year < 1960 || year > 2055);
  const order = le
    ? ` (read little-endian, as its start year, bytes 20-21, is ${year} big-endian)`
    : "";
  const u16 = (at: number) => dv.getUint16(at, le);
  const count = dv.getUint8(39), dataOffset = u16(44);
  let at = u16(46);
  for (let i = 1; i <= count; i++) {
    const where = i === 1
      ? `its first blockette's offset (bytes 46-47) is ${at}`
      : dataOffset > 0 && at >= dataOffset
      ? `byte 39 declares ${count} blockettes: blockette ${i} would start at byte ${at}, in the ` +
        `data (the data offset, bytes 44-45, is ${dataOffset})`
      : `blockette ${i - 1} gives the next at byte ${at}`;
    if (where.startsWith("byte 39")) return where + order;
    if (at < 48 || at + 8 > dv.byteLength) {
      return `${where}: expected 48 or more, with the blockette inside the record${order}`;
    }
    const next = u16(at + 2);
    const end = next || dataOffset || at;
    if (end < at + 8) {
      return next
        ? `blockette ${i} at byte ${at} gives the next at byte ${next}: expected ${at + 8} or ` +
          `more${order}`
        : `the data offset (bytes 44-45) is ${dataOffset}: expected ${at + 8} or more, past the ` +
          `last blockette, at byte ${at}${order}`;
    }
    if (end > dv.byteLength) {
      return `blockette ${i} at byte ${at} ${
        next ? `gives the next at byte ${next}` : `ends at the data offset (bytes 44-45), ${end}`
      }: past the end of the file, ${dv.byteLength} bytes on${order}`;
    }
    at = end;
  }
  return null;
}

/**
 * The most samples `bytes` bytes of data in encoding `enc` can hold (Steim: 15 words of each
 * 64-byte frame, 4 or 7 differences a word), or null for another encoding.
 */
function maxSamples(enc: number, bytes: number): number | null {
  const per = { 1: 2, 3: 4, 4: 4, 5: 8, 32: 2 }[enc as 1 | 3 | 4 | 5 | 32];
  if (per) return Math.floor(bytes / per);
  if (enc === 10 || enc === 11) return Math.floor(bytes / 64) * 15 * (enc === 10 ? 4 : 7);
  return null;
}

/** A record that declares more samples than its data can hold ({@linkcode maxSamples}). */
function tooMany(
  offset: number,
  channel: string,
  n: number,
  bytes: number,
  enc: number,
  most: number,
): string {
  return `the record at byte ${offset} (${channel}) declares ${n} samples: its ${bytes} bytes ` +
    `of data (${ENCODINGS[enc]}) hold at most ${most} (a damaged header)`;
}

/**
 * Why a record header's start time fields are no time (day 367, hour 25, year 10000: a damaged
 * header, which Date.UTC would roll over to another day), or null. A second of 60 (a leap second)
 * passes here.
 *
 * @param ms The milliseconds (miniSEED 2's 0.1 ms ticks / 10, miniSEED 3's ns / 1e6).
 */
function badStart(
  year: number,
  doy: number,
  hour: number,
  min: number,
  sec: number,
  ms: number,
): string | null {
  // libmseed's miniSEED 2 header check starts at 1900; past 9999 no ISO 8601 time (samples.csv)
  // can be written.
  const yearOk = year >= 1900 && year <= 9999;
  if (
    // Hour, minute and second are signed bytes in miniSEED 2: -128 is no hour either.
    yearOk && doy >= 1 && doy <= (isLeapYear(year) ? 366 : 365) && hour >= 0 && hour <= 23 &&
    min >= 0 &&
    min <= 59 && sec >= 0 && sec <= 60 && ms >= 0 && ms < 1000
  ) {
    return null;
  }
  const two = (v: number) => String(v).padStart(2, "0");
  return `year ${year}, day ${doy}, ${two(hour)}:${two(min)}:${two(sec)} and ${ms} ms${
    yearOk ? "" : " (expected a year from 1900 to 9999)"
  }`;
}

/**
 * Locates the records of miniSEED 2 or 3 bytes without decompressing their data: reading a day
 * file's headers takes a fraction of decoding it, and {@linkcode recordsBetween} then decodes
 * only the minutes a sample needs.
 *
 * Bytes where a record header should start but none does (a damaged header, or a record
 * length that runs past the next record) fail the call, unless `onDamaged` is given: then the
 * reader looks for the next good record at any byte (miniSEED 3: the next `MS\x03` whose record
 * fits and passes its CRC-32C; miniSEED 2: the next header of the same channel whose record
 * fits), reports the bytes skipped, and goes on. A file that ends inside
 * its last record fails as truncated without `onDamaged`; with it, its complete records are
 * returned and the rest is reported as truncated, from the last good record's end on.
 *
 * @param bytes The file's bytes.
 * @param source The file's name, for messages.
 * @param onDamaged Where skipped bytes go: their offset and length, the time between the good
 *   records around them, and the error ("corrupt").
 * @returns the records, in file order.
 * @throws {SampleError} for empty, non-miniSEED or truncated bytes, and for damaged framing
 *   without `onDamaged`.
 */
export async function indexRecords(
  bytes: Uint8Array,
  source: string,
  onDamaged?: (d: CorruptRecord & { size: number }) => void,
): Promise<RecordSpan[]> {
  if (bytes.length === 0) {
    throw new SampleError("empty file", `Cannot read ${source}: the file is empty`);
  }
  const version = miniseedVersion(bytes);
  if (version === 0) return await decodeSegments(bytes, source).then(() => []); // its error
  const out: RecordSpan[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const truncated = (offset: number, need: number) =>
    new SampleError(
      "truncated",
      `Cannot read ${source}: file is truncated: record at byte ${offset} needs ${need} bytes, ${
        bytes.length - offset
      } remain`,
    );
  const sp = await seisplotjs();
  // A record's span at `offset`, or why there is none.
  const frame2 = (offset: number): RecordSpan & { id: string } | SampleError => {
    if (bytes.length - offset < 48) return truncated(offset, 48);
    const r = header2(sp!, bytes, offset, source);
    if (r instanceof SampleError) return r;
    const { h, size } = r;
    const start = exactStart2(h);
    const fs = h.sampleRate;
    return {
      offset,
      size,
      start,
      end: start + (fs > 0 ? h.numSamples * 1000 / fs : 0),
      id: `${h.netCode}.${h.staCode}.${h.locCode}.${h.chanCode}`,
    };
  };
  const frame3 = (offset: number): RecordSpan & { id: string } | SampleError => {
    if (bytes.length - offset < 40) return truncated(offset, 40);
    if (bytes[offset] !== 77 || bytes[offset + 1] !== 83 || bytes[offset + 2] !== 3) {
      return new SampleError(
        "corrupt",
        `Cannot read ${source}: expected a miniSEED 3 record header at byte ${offset}`,
      );
    }
    const at = (k: number) => offset + k;
    const size = 40 + view.getUint8(at(33)) + view.getUint16(at(34), true) +
      view.getUint32(at(36), true);
    if (offset + size > bytes.length) return truncated(offset, size);
    const id = new TextDecoder().decode(bytes.subarray(at(40), at(40) + view.getUint8(at(33))));
    const noTime = badStart(
      view.getUint16(at(8), true),
      view.getUint16(at(10), true),
      view.getUint8(at(12)),
      view.getUint8(at(13)),
      view.getUint8(at(14)),
      view.getUint32(at(4), true) / 1e6,
    );
    const enc = view.getUint8(at(15)), n = view.getUint32(at(24), true);
    const dataBytes = view.getUint32(at(36), true);
    const most = maxSamples(enc, dataBytes);
    if (most !== null && n > most) {
      return new SampleError(
        "corrupt",
        `Cannot read ${source}: ${tooMany(offset, id, n, dataBytes, enc, most)}`,
      );
    }
    if (noTime) {
      return new SampleError(
        "bad time",
        `Cannot read ${source}: the record at byte ${offset} (${id}) gives a start time that is ` +
          `no time: ${noTime} (a damaged header)`,
      );
    }
    const start = Date.UTC(
      view.getUint16(at(8), true),
      0,
      view.getUint16(at(10), true),
      view.getUint8(at(12)),
      view.getUint8(at(13)),
      view.getUint8(at(14)),
    ) + view.getUint32(at(4), true) / 1e6;
    const rate = view.getFloat64(at(16), true);
    const fs = rate > 0 ? rate : rate < 0 ? -1 / rate : 0;
    return { offset, size, start, end: start + (fs > 0 ? n * 1000 / fs : 0), id };
  };
  // Each record in its own version (its header's `MS\x03`, or a miniSEED 2 fixed header): a
  // file appended to by two writers mixes them, and the first record's version hid the others.
  // Bytes that are neither are damaged, named as in a file of the first record's version.
  const frame = (offset: number) => {
    const v = miniseedVersion(bytes.subarray(offset));
    return (v || version) === 2 ? frame2(offset) : frame3(offset);
  };
  // The next good record after damaged bytes at `from`, of either version, at any byte (a
  // miniSEED 3 record's length is no multiple of 64, so a miniSEED 2 record after one can start
  // off the 64-byte grid), or null: a header's signature first, then the whole header.
  const resync = (from: number, id: string | null): number | null => {
    const channel = id?.startsWith("FDSN:") ? sourceIdChannel(id) : id;
    for (let k = from + 1; k + 40 <= bytes.length; k++) {
      if (bytes[k] === 77 && bytes[k + 1] === 83 && bytes[k + 2] === 3) {
        const r = frame3(k);
        if (r instanceof SampleError) continue;
        try {
          checkCrc32c(bytes, r, k, source);
          return k;
        } catch {
          // a chance "MS\x03" in the data, or another damaged record
        }
      } else if (
        QUALITY.has(bytes[k + 6]) && (bytes[k + 7] === 32 || bytes[k + 7] === 0) &&
        miniseedVersion(bytes.subarray(k, k + 48)) === 2
      ) {
        const r = frame2(k);
        if (!(r instanceof SampleError) && (channel === null || r.id === channel)) return k;
      }
    }
    return null;
  };
  const damaged: {
    offset: number;
    size: number;
    error: SampleError;
    before: number;
    cut?: boolean;
  }[] = [];
  let lastId: string | null = null;
  for (let offset = 0; offset < bytes.length;) {
    const r = frame(offset);
    if (!(r instanceof SampleError)) {
      out.push({ offset: r.offset, size: r.size, start: r.start, end: r.end, channel: r.id });
      lastId = r.id;
      offset += r.size;
      continue;
    }
    if (!onDamaged) throw r;
    const next = resync(offset, lastId);
    // Nothing good after it: a file cut short (a real-time file still being written, a download
    // cut off, a stray byte at the end) keeps its complete records; the rest, whose time is
    // unknown, is left out from the last good record's end on (a sample that needs data there
    // fails as truncated, naming the byte).
    if (next === null && r.reason === "truncated") {
      damaged.push({
        offset,
        size: bytes.length - offset,
        error: r,
        before: out.length,
        cut: true,
      });
      break;
    }
    const size = (next ?? bytes.length) - offset;
    const error = r.reason === "corrupt" || r.reason === "bad time" ? r : new SampleError(
      "corrupt",
      `Cannot read ${source}: the record at byte ${offset} runs past the next good record`,
    );
    damaged.push({ offset, size, error, before: out.length });
    if (next === null) break;
    offset = next;
  }
  for (const d of damaged) {
    // The time between the good records around the damaged bytes.
    const prev = out[d.before - 1], next = out[d.before];
    const start = prev?.end ?? next?.start ?? 0;
    if (d.cut) {
      const error = new SampleError(
        "truncated",
        `${d.error.message}; the last ${d.size} bytes left out${
          prev ? ` (the data after ${new Date(start).toISOString()})` : ""
        }`,
      );
      onDamaged!({ offset: d.offset, size: d.size, start, end: Infinity, error });
      continue;
    }
    const end = next?.start ?? prev?.end ?? 0;
    // With a good record on one side only, the time on the other is unknown (not T .. T).
    const iso = (t: number) => new Date(t).toISOString();
    // Between two channels' records, the bytes may be of either: their time is unknown too.
    const missing = prev && next && prev.channel !== next.channel
      ? ` (their time unknown: between ${prev.channel}'s data ending ${iso(start)} and ` +
        `${next.channel}'s starting ${iso(end)})`
      : prev && next
      ? ` (${iso(start)} .. ${iso(end)} missing)`
      : next
      ? ` (the data before ${iso(end)} missing)`
      : prev
      ? ` (the data after ${iso(start)} missing)`
      : "";
    const error = new SampleError(
      d.error.reason,
      `${d.error.message}; ${d.size} bytes skipped${missing}`,
    );
    onDamaged!({ offset: d.offset, size: d.size, start, end, error });
  }
  return out;
}

/**
 * The records of a file that hold data of `[t0, t1]`: those that overlap it, and, for a channel
 * none of whose records does, its last one before it and its first one after it (so that a
 * sample there still learns where the data stop). Decoding them gives what decoding a copy of
 * the file cut to those records would.
 *
 * @param bytes The file's bytes.
 * @param records Its records ({@linkcode indexRecords}).
 * @param t0 Start of the time needed, ms.
 * @param t1 End of it, ms.
 * @returns the records' bytes, in file order, or `bytes` itself when that is every record.
 */
export function recordsBetween(
  bytes: Uint8Array,
  records: readonly RecordSpan[],
  t0: number,
  t1: number,
): Uint8Array {
  const keep = spansBetween(records, t0, t1);
  return wholeFile(bytes, keep) ? bytes : concatRecords(bytes, keep);
}

/** Whether records are every byte of the file (none left out, no damaged bytes between). */
function wholeFile(bytes: Uint8Array, keep: readonly RecordSpan[]): boolean {
  return keep.reduce((n, r) => n + r.size, 0) === bytes.length;
}

/** The records {@linkcode recordsBetween} keeps (all of them where it keeps none). */
function spansBetween(records: readonly RecordSpan[], t0: number, t1: number): RecordSpan[] {
  const over = records.filter((r) => r.end > t0 && r.start < t1);
  // Per channel: one channel's records alone left the file's other channels unread, and their
  // samples failed as missing channels rather than as outside their data.
  const covered = new Set(over.map((r) => r.channel));
  const before = new Map<string | undefined, RecordSpan>();
  const after = new Map<string | undefined, RecordSpan>();
  for (const r of records) {
    if (covered.has(r.channel)) continue;
    const b = before.get(r.channel), a = after.get(r.channel);
    if (r.end <= t0 && (!b || r.end > b.end)) before.set(r.channel, r);
    if (r.start >= t1 && (!a || r.start < a.start)) after.set(r.channel, r);
  }
  const chosen = new Set([...over, ...before.values(), ...after.values()]);
  const keep = records.filter((r) => chosen.has(r));
  return keep.length === 0 ? [...records] : keep;
}

/**
 * Decodes the records of a file that hold data of `[t0, t1]` ({@linkcode recordsBetween}),
 * with messages naming the records' offsets in the whole file.
 *
 * @param bytes The file's bytes.
 * @param records Its records ({@linkcode indexRecords}).
 * @param t0 Start of the time needed, ms.
 * @param t1 End of it, ms.
 * @param source The file's name, for messages.
 * @param onCorrupt Where damaged records go ({@linkcode DecodeOptions.onCorrupt}).
 * @returns the segments.
 */
export async function decodeBetween(
  bytes: Uint8Array,
  records: readonly RecordSpan[],
  t0: number,
  t1: number,
  source: string,
  onCorrupt?: (record: CorruptRecord) => void,
): Promise<Segment[]> {
  // No complete record (a file whose every record is damaged, reported by indexRecords's
  // onDamaged): nothing to decode; before, the empty selection failed as "the file is empty".
  if (records.length === 0) return [];
  const keep = spansBetween(records, t0, t1);
  const sel = wholeFile(bytes, keep) ? bytes : concatRecords(bytes, keep);
  return await decodeSegments(sel, source, { fileOffsets: keep.map((r) => r.offset), onCorrupt });
}

/**
 * One segment per run of a channel's contiguous records, joined as libmseed (and so ObsPy)
 * joins them: each record placed at its own exact start (its header's 0.1 ms, blockette 1001's
 * µs and, for miniSEED 2, its own time correction), and a record joins the run before it only at
 * the same sampling rate (within 0.01 %) and where it starts within half a sample of that run's
 * next sample. seisplotjs's merge compares neither rates nor corrected times, so a rate that
 * changes between records, or a time correction that changes, was read as one run. Larger gaps
 * and overlaps are {@linkcode mergeSegments}'s, with its tolerance.
 *
 * @param recs Each record as seisplotjs's one-record segment, with its exact start (ms).
 * @param source File name for messages.
 * @returns the runs, sorted by channel then time.
 */
function joinRecords(
  // deno-lint-ignore no-explicit-any
  recs: { seg: any; start: number; y?: ArrayLike<number> | null }[],
  source: string,
): Segment[] {
  const segs = recs.map(({ seg, start, y }) => {
    const s = toSegment(seg, source, y ?? null);
    s.startTime = start;
    return { key: nslc(s), s };
  }).filter(({ s }) => s.data.length > 0);
  // Stable: records of one start keep their file order (a duplicate after its original).
  segs.sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : a.s.startTime - b.s.startTime);
  const out: Segment[] = [];
  let run: Segment[] = [];
  let key = "";
  let next = NaN;
  const flush = () => {
    if (run.length === 0) return;
    if (run.length === 1) out.push(run[0]);
    else {
      const data = new Float64Array(run.reduce((n, r) => n + r.data.length, 0));
      let k = 0;
      for (const r of run) {
        data.set(r.data, k);
        k += r.data.length;
      }
      out.push({ ...run[0], data });
    }
  };
  for (const { key: k, s } of segs) {
    const fs = run[0]?.samplingRate;
    const joins = run.length > 0 && k === key &&
      Math.abs(1 - s.samplingRate / fs) < 1e-4 && Math.abs(s.startTime - next) <= 500 / fs;
    if (!joins) {
      flush();
      run = [];
      key = k;
    }
    run.push(s);
    next = s.startTime + s.data.length * 1000 / s.samplingRate;
  }
  flush();
  return out;
}

/**
 * A miniSEED 2 record's start time to the header's 0.1 ms (and blockette 1001's µs), in ms
 * since 1970, with the header's time correction added unless activity flag bit 1 says it was
 * applied already, as libmseed (and so ObsPy) reads it. seisplotjs rounds the start to the
 * millisecond and leaves the correction out.
 */
// deno-lint-ignore no-explicit-any
function exactStart2(h: any): number {
  const b = h.startBTime;
  const applied = (h.activityFlags & 0x02) !== 0;
  // Blockette 1001's µs is signed (-50..+49: libmseed's int8_t); seisplotjs reads it unsigned.
  const us = b.microsecond ?? 0;
  return Date.UTC(b.year, 0, b.jday, b.hour, b.min, b.sec) + b.tenthMilli / 10 +
    (us > 127 ? us - 256 : us) / 1000 + (applied ? 0 : (h.timeCorrection ?? 0) / 10);
}

/** A miniSEED 2 record's channel, `NET.STA.LOC.CHA` (location `--` read as empty). */
// deno-lint-ignore no-explicit-any
function recordId2(h: any): string {
  return `${h.netCode}.${h.staCode}.${location(h.locCode)}.${h.chanCode}`;
}

/**
 * A miniSEED 3 record's FDSN source identifier (`FDSN:NET_STA_LOC_B_S_SS`) as `NET.STA.LOC.CHA`
 * (the identifier itself where it is not of that form).
 */
function sourceIdChannel(id: string): string {
  const p = id.replace(/^FDSN:/, "").split("_");
  return p.length === 6 ? `${p[0]}.${p[1]}.${location(p[2])}.${p[3]}${p[4]}${p[5]}` : id;
}

/** A location code as FDSN writes an empty one: `--` (and blanks) read as "". */
function location(code: string | undefined): string {
  const c = (code ?? "").trim();
  return c === "--" ? "" : c;
}

/** Data encodings seisplotjs decodes: int16, int32, float32, float64, Steim1, Steim2, DWWSSN. */
const DECODABLE = new Set([1, 3, 4, 5, 10, 11, 32]);

/** The error of a record (byte `at`, `channel`, its start `time`) in encoding `enc`, which
 * seisplotjs cannot decode. */
function unsupportedEncoding(
  source: string,
  at: number,
  channel: string,
  time: string,
  enc: number,
): SampleError {
  return new SampleError(
    "unsupported",
    `Cannot read ${source}: the record at byte ${at} (${channel}, ${time}) is in encoding ${enc}${
      ENCODINGS[enc] ? ` (${ENCODINGS[enc]})` : ""
    }, which seisdec cannot decode: it reads int16, int32, float32, float64, Steim1, Steim2 and ` +
      "DWWSSN",
  );
}

/**
 * The highest sampling rate a record may declare, Hz: 1 MHz, above any seismometer, geophone
 * or accelerometer (acoustic-emission sensors aside). A miniSEED 2 header's rate factor and
 * multiplier reach about 1.07 GHz and a miniSEED 3 header's float64 anything; a damaged or
 * hostile header's rate would make a gap of less than `gapTolerance` a fill of billions of
 * samples (memory without bound), and a crop window as many.
 */
export const MAX_SAMPLING_RATE = 1e6;

/**
 * Why a record's declared sampling rate cannot be used (above {@linkcode MAX_SAMPLING_RATE},
 * or not finite), or null.
 */
function badRate(
  source: string,
  at: number,
  channel: string,
  time: string,
  fs: number,
): SampleError | null {
  if (Number.isFinite(fs) && fs <= MAX_SAMPLING_RATE) return null;
  return new SampleError(
    "corrupt",
    `Cannot read ${source}: the record at byte ${at} (${channel}, ${time}) declares a sampling ` +
      `rate of ${fs} Hz: expected at most ${MAX_SAMPLING_RATE} Hz (a damaged header?)`,
  );
}

/** The SEED manual's names of data encodings (blockette 1000, field 3). */
const ENCODINGS: Record<number, string> = {
  0: "ASCII text",
  1: "16-bit integers",
  2: "24-bit integers",
  3: "32-bit integers",
  4: "IEEE float32",
  5: "IEEE float64",
  10: "Steim1",
  11: "Steim2",
  12: "GEOSCOPE 24-bit",
  13: "GEOSCOPE 16-bit, 3-bit exponent",
  14: "GEOSCOPE 16-bit, 4-bit exponent",
  15: "US National Network",
  16: "CDSN 16-bit gain ranged",
  17: "Graefenberg 16-bit gain ranged",
  18: "IPG Strasbourg 16-bit gain ranged",
  19: "Steim3",
  30: "SRO",
  31: "HGLP",
  32: "DWWSSN",
  33: "RSTN 16-bit gain ranged",
};

// deno-lint-ignore no-explicit-any
function toSegment(seg: any, source: string, decoded: ArrayLike<number> | null): Segment {
  const y = decoded ?? seg.y as ArrayLike<number>;
  const startTime = seg.startTime?.toMillis?.() ?? NaN;
  if (!Number.isFinite(startTime)) {
    throw new SampleError(
      "bad time",
      `Cannot read ${source}: a record of ${seg.networkCode}.${seg.stationCode}.${
        seg.locationCode ?? ""
      }.${seg.channelCode} has an invalid start time in its header (${
        seg.startTime?.invalidExplanation ?? "not a date"
      }; records that start in a leap second are not supported either)`,
    );
  }
  return {
    network: seg.networkCode ?? "",
    station: seg.stationCode ?? "",
    location: location(seg.locationCode),
    channel: seg.channelCode ?? "",
    startTime,
    samplingRate: seg.sampleRate,
    data: Float64Array.from(y),
  };
}

/**
 * Merges one channel's time-sorted segments into a trace.
 *
 * Segments join into a contiguous run while the gap or overlap between them is within the
 * tolerance (gaps are filled by linear interpolation, overlaps keep the earlier samples), or
 * while an overlap repeats the samples already there (a duplicated record). A larger gap or
 * overlap, or a change of sampling rate, starts a new run. Without a window every break fails;
 * with a window, the run that covers it is kept, so a gap hours away from the event does not
 * cost the sample, while a break inside the window still fails it.
 *
 * @param segs Segments of one channel, sorted by start time.
 * @param tolerance Largest gap or overlap merged, s.
 * @param source File name for messages.
 * @param window Times the caller needs, [start, end] in ms since 1970 (optional).
 * @returns the merged trace.
 * @throws {SampleError} ("gap") for a break without a window, or one inside the window.
 */
export function mergeSegments(
  segs: readonly Segment[],
  tolerance: number,
  source: string,
  window?: readonly [number, number],
): Trace {
  const { runs, breaks } = splitRuns(segs, tolerance, source);
  if (runs.length === 1) return mergeRun(runs[0].segs);
  if (!window) throw new SampleError("gap", breaks[0].message);
  const [w0, w1] = window;
  const hit = runs.map((r, i) => ({ r, i })).filter(({ r }) =>
    r.segs[0].startTime <= w1 && r.end >= w0
  );
  if (hit.length > 1) throw new SampleError("gap", breaks[hit[0].i].message);
  if (hit.length === 1) return mergeRun(hit[0].r.segs);
  // The window falls in a gap or beyond the data: the nearest run, which the caller will find
  // too short or not holding its reference time.
  const dist = (r: { segs: Segment[]; end: number }) =>
    Math.max(r.segs[0].startTime - w1, w0 - r.end);
  return mergeRun(runs.reduce((a, b) => (dist(b) < dist(a) ? b : a)).segs);
}

/**
 * Every contiguous run of one channel's time-sorted segments, each merged as
 * {@linkcode mergeSegments} merges one: a break (a gap or overlap beyond the tolerance, a
 * change of sampling rate) starts the next run instead of failing.
 *
 * @param segs Segments of one channel, sorted by start time.
 * @param tolerance Largest gap or overlap merged, s.
 * @param source File name for messages.
 * @param onBreak Called with each break: why (as {@linkcode mergeSegments} says it), the start of
 *   the segment that begins the next run (ms since 1970), and its kind (a change of sampling
 *   `rate`, a `gap` or an `overlap` beyond the tolerance).
 * @returns the merged runs, in time order.
 */
export function mergeRuns(
  segs: readonly Segment[],
  tolerance: number,
  source: string,
  onBreak?: (b: RunBreak & { time: number }) => void,
): Trace[] {
  const { runs, breaks } = splitRuns(segs, tolerance, source);
  breaks.forEach((b, i) => onBreak?.({ ...b, time: runs[i + 1].segs[0].startTime }));
  return runs.map((r) => mergeRun(r.segs));
}

/** Why a segment starts a new run: the message, and the kind of break. */
type RunBreak = { message: string; kind: "rate" | "gap" | "overlap" };

/** Splits time-sorted segments into runs at each break, with why each break is one. */
function splitRuns(
  segs: readonly Segment[],
  tolerance: number,
  source: string,
): { runs: { segs: Segment[]; end: number }[]; breaks: RunBreak[] } {
  const runs: { segs: Segment[]; end: number }[] = [];
  const breaks: RunBreak[] = [];
  for (const s of segs) {
    const run = runs.at(-1);
    if (!run) {
      runs.push({ segs: [s], end: segmentEnd(s) });
      continue;
    }
    const why = breakBetween(run.segs, run.end, s, tolerance, source);
    if (why) {
      breaks.push(why);
      runs.push({ segs: [s], end: segmentEnd(s) });
    } else {
      run.segs.push(s);
      run.end = Math.max(run.end, segmentEnd(s));
    }
  }
  return { runs, breaks };
}

/**
 * @param s A segment.
 * @returns the time just after its last sample, ms since 1970.
 */
export function segmentEnd(s: Segment): number {
  return s.startTime + s.data.length * 1000 / s.samplingRate;
}

/**
 * Why segment `s` cannot join a run ending at `end` (ms, after its last sample), or null.
 */
function breakBetween(
  run: readonly Segment[],
  end: number,
  s: Segment,
  tolerance: number,
  source: string,
): RunBreak | null {
  const fs = run[0].samplingRate;
  if (Math.abs(s.samplingRate - fs) > 1e-6 * fs) {
    return {
      message: `Cannot merge ${
        nslc(s)
      } in ${source}: sampling rate changes from ${fs} to ${s.samplingRate} Hz`,
      kind: "rate",
    };
  }
  const dt = 1000 / fs;
  const gapMs = s.startTime - end;
  if (Math.abs(gapMs) <= tolerance * 1000 + dt / 2) return null;
  if (gapMs < 0 && repeats(run, s, dt)) return null;
  const kind = gapMs > 0 ? "gap" : "overlap";
  return {
    message: `Cannot merge ${nslc(s)} in ${source}: ${kind} of ${
      (Math.abs(gapMs) / 1000).toFixed(3)
    } s at ${new Date(end).toISOString()} exceeds the tolerance of ${tolerance} s`,
    kind,
  };
}

/** Whether every sample of `s` that overlaps the run equals the run's sample at that time. */
function repeats(run: readonly Segment[], s: Segment, dt: number): boolean {
  let checked = 0;
  for (let k = 0; k < s.data.length; k++) {
    const t = s.startTime + k * dt;
    const p = run.findLast((r) => r.startTime - dt / 2 <= t && t < segmentEnd(r) - dt / 2);
    if (!p) break;
    if (p.data[Math.round((t - p.startTime) / dt)] !== s.data[k]) return false;
    checked++;
  }
  return checked > 0;
}

/** Joins a run's segments: gaps filled by linear interpolation, overlaps keep earlier samples. */
function mergeRun(segs: readonly Segment[]): Trace {
  const first = segs[0];
  const dt = 1000 / first.samplingRate;
  const parts: Float64Array[] = [];
  let n = 0;
  // The merged trace's last sample so far: a record wholly inside earlier data (a duplicate)
  // adds no samples, and the next gap's fill must still start from the data before it.
  let last: number | undefined;
  const push = (p: Float64Array) => {
    if (p.length === 0) return;
    parts.push(p);
    n += p.length;
    last = p[p.length - 1];
  };
  push(first.data);
  const joins: Join[] = [];
  // Overlaps, checked once the data are whole: [segment, its first sample's index, samples].
  const overlaps: [Segment, number, number][] = [];
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i];
    const gapSamples = Math.round((s.startTime - (first.startTime + n * dt)) / dt);
    if (gapSamples > 0) {
      // Linear interpolation across the gap.
      const a = last ?? s.data[0] ?? 0, b = s.data[0] ?? a;
      const fill = new Float64Array(gapSamples);
      for (let k = 0; k < gapSamples; k++) fill[k] = a + (b - a) * (k + 1) / (gapSamples + 1);
      joins.push({ kind: "gap", start: first.startTime + n * dt, samples: gapSamples });
      push(fill);
    }
    const skip = gapSamples < 0 ? Math.min(-gapSamples, s.data.length) : 0;
    if (skip > 0) overlaps.push([s, n + gapSamples, skip]);
    push(s.data.subarray(skip));
  }
  const data = new Float64Array(n);
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.length;
  }
  for (const [s, at, k] of overlaps) {
    let differ = false;
    for (let j = 0; j < k && !differ; j++) differ = data[at + j] !== s.data[j];
    if (differ) joins.push({ kind: "overlap", start: s.startTime, samples: k });
  }
  joins.sort((a, b) => a.start - b.start);
  return joins.length ? { ...first, data, joins } : { ...first, data };
}

/**
 * Reads miniSEED 2 or 3 bytes into one trace per channel.
 *
 * @param bytes File bytes.
 * @param source File name for messages.
 * @param options Gap tolerance.
 * @returns traces, one per channel.
 * @throws {SampleError} for an empty, non-miniSEED or truncated file, or a gap
 *   beyond the tolerance.
 */
export async function readMiniseed(
  bytes: Uint8Array,
  source: string,
  options: ReadMiniseedOptions = {},
): Promise<Trace[]> {
  return mergeChannels(await decodeSegments(bytes, source), source, options);
}

/** Groups decoded segments by channel and merges each channel (see {@linkcode mergeSegments}). */
function mergeChannels(
  segs: readonly Segment[],
  source: string,
  options: ReadMiniseedOptions = {},
): Trace[] {
  const tol = options.gapTolerance ?? 0;
  const byChan = new Map<string, Segment[]>();
  for (const s of segs) {
    const k = nslc(s);
    if (!byChan.has(k)) byChan.set(k, []);
    byChan.get(k)!.push(s);
  }
  return [...byChan.values()].map((list) =>
    mergeSegments(list.sort((a, b) => a.startTime - b.startTime), tol, source, options.window)
  );
}

/**
 * Reads a miniSEED file's segments without merging them, e.g. to see which times it covers
 * before choosing the window to merge (see {@linkcode mergeSegments}).
 *
 * @param path The file.
 * @returns the decoded segments in file order.
 * @throws {SampleError} for a file that cannot be read, is empty, is not miniSEED or is
 *   truncated.
 */
export async function readMiniseedSegments(path: string): Promise<Segment[]> {
  return await decodeSegments(await readBytes(path), path);
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await readInputFile(path);
  } catch (e) {
    throw new SampleError("unreadable", `Cannot read ${path}: ${readFailure(e)}`);
  }
}

/**
 * Reads a miniSEED file.
 *
 * @param path The file.
 * @param options Gap tolerance.
 * @returns traces, one per channel.
 * @throws {SampleError} ("unreadable") when the file cannot be read, and as
 *   {@linkcode readMiniseed}.
 */
export async function readMiniseedFile(
  path: string,
  options: ReadMiniseedOptions = {},
): Promise<Trace[]> {
  return await readMiniseed(await readBytes(path), path, options);
}

/**
 * Encodes traces as miniSEED 3 records with seisplotjs's writer
 * (`mseed3.toMSeed3` and `MSeed3Record.save`). Integer-valued data is stored as
 * 32-bit integers, anything else as 32-bit floats. Each trace is split into
 * records of at most `recordSamples` samples.
 *
 * @param traces Traces to write.
 * @param recordSamples Samples per record (default 4000).
 * @returns the file's bytes.
 */
export async function encodeMiniseed3(
  traces: readonly Trace[],
  recordSamples = 4000,
): Promise<Uint8Array> {
  const sp = await seisplotjs();
  const { DateTime } = sp.luxon;
  const chunks: Uint8Array[] = [];
  for (const t of traces) {
    const isInt = t.data.every((v) => Number.isInteger(v) && Math.abs(v) < 2 ** 31);
    const sid = sp.fdsnsourceid.FDSNSourceId.fromNslc(t.network, t.station, t.location, t.channel);
    for (let o = 0; o < t.data.length; o += recordSamples) {
      const part = t.data.subarray(o, Math.min(t.data.length, o + recordSamples));
      const y = isInt ? Int32Array.from(part) : Float32Array.from(part);
      // The record's exact start: seisplotjs's header takes a luxon time, to the millisecond,
      // so the part below it goes into the header's nanoseconds afterwards (at 3000 Hz a
      // record of 4000 samples lasts 1333.33 ms: each record's start was cut short, and the
      // file read back with gaps and overlaps of a sample).
      const exact = t.startTime + o * 1000 / t.samplingRate;
      let ms = Math.floor(exact);
      let sub = Math.round((exact - ms) * 1e6);
      if (sub >= 1e6) [ms, sub] = [ms + 1, sub - 1e6];
      const start = DateTime.fromMillis(ms, { zone: "utc" });
      const seg = new sp.seismogramsegment.SeismogramSegment(y, t.samplingRate, start, sid);
      const seis = new sp.seismogram.Seismogram([seg]);
      const recs = sp.mseed3.toMSeed3(seis);
      if (recs.length === 1) recs[0].header.nanosecond += sub;
      for (const rec of recs) {
        const size = rec.calcSize();
        const buf = new ArrayBuffer(size);
        rec.save(new DataView(buf));
        chunks.push(new Uint8Array(buf));
      }
    }
  }
  const total = chunks.reduce((a, c) => a + c.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
