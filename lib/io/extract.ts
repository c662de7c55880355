/**
 * Spectrogram extraction: one sample = one station's components around a
 * reference time. {@linkcode processSample} reads, preprocesses and crops one
 * sample; {@linkcode runExtract} runs all samples in Deno Web Workers, streams
 * the spectrograms into a dataset and reports every failure with its reason.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import {
  type CorruptRecord,
  decodeBetween,
  decodeSegments,
  indexRecords,
  type Join,
  mergeSegments,
  miniseedVersion,
  type RecordSpan,
  type Segment,
  segmentEnd,
  type Trace,
} from "./mseed.ts";
import {
  type ChannelEpoch,
  type Coordinates,
  epochChangesIn,
  epochOverlapNote,
  findCoordinates,
  findOrientation,
  findResponse,
  readStationXml,
  sampleRateWarning,
} from "./stationxml.ts";
import {
  isSac,
  isSacPoleZero,
  parseSacPoleZero,
  readSac,
  sacDip,
  type SacMarker,
  sacOtherVersion,
  type SacPoleZeroComments,
  sacPoleZeroComments,
} from "./sac.ts";
import type { InstrumentResponse } from "../signal/response.ts";
import { npyToFloat64, readNpz } from "./npy.ts";
import { type FailureReason, SampleError } from "./sample_error.ts";
import { esecTasks, npzTasks, readManifest, type SampleTask, sdsTasks } from "./manifest.ts";
import { type SdsWindows, sdsWindowTasks, windowSpan } from "./sds_windows.ts";
import {
  type DetectionCache,
  detectionCacheChannel,
  detectionPool,
  triggerDefaults,
} from "./sds_triggers.ts";
import { associateTriggers, eventsToQuakeMl, type NetworkEvent } from "../cluster/events.ts";
import {
  type ExtractConfig,
  marginOf,
  type SpectrogramGeometry,
  spectrogramGeometry,
  stationFiles,
  TRIM_PAD_S,
  workerCount,
} from "./extract_config.ts";
import { DatasetWriter, removeStrayProgress, type SampleInfo } from "./dataset.ts";
import { type Clipping, clipping } from "../signal/clip.ts";
import { preprocessTrace } from "../signal/preprocess.ts";
import { kaiser, spectrogram } from "../signal/stft.ts";
import { directionZne, type Orientation, rotateToZne, zneMatrix } from "../signal/rotate.ts";
import { formatCsv } from "./csv.ts";
import { Progress } from "../util/progress.ts";
import { UserError } from "../util/errors.ts";
import {
  checkOutputTarget,
  keepOnInterrupt,
  writeFailure,
  writeFileAtomic,
} from "../util/atomic.ts";
import { ByteLru } from "../util/lru.ts";
import { sha256Hex } from "../util/hash.ts";
import { Rng } from "../util/rng.ts";
import { notRegularFile, readFailure, readInputFile, readInputText } from "./input_file.ts";
import { isoExact } from "./quakeml.ts";

export { isoExact };

/** The codes of one channel. */
export interface ChannelId {
  /** SEED network code. */
  network: string;
  /** SEED station code. */
  station: string;
  /** SEED location code ("" when empty). */
  location: string;
  /** SEED channel code. */
  channel: string;
}

/**
 * What a response file gives for one channel: a StationXML inventory's epochs of that
 * channel (empty when it has none), or a SAC pole-zero file's one response, with what its
 * comments say of its channel (`sacPz`: codes, epoch and orientation).
 */
export type ChannelResponses =
  | ChannelEpoch[]
  | (InstrumentResponse & {
    sacPz?: SacPoleZeroComments;
  });

/** Where {@linkcode processSample} finds responses: a channel's epochs in a response file. */
export interface ResponseSource {
  /**
   * Looks up one channel in a response file.
   *
   * @param path StationXML or SAC pole-zero file.
   * @param id The channel.
   * @returns the channel's epochs in the inventory, or the pole-zero file's response.
   * @throws {SampleError} when the file cannot be read or parsed.
   */
  lookup(path: string, id: ChannelId): Promise<ChannelResponses>;
}

/** A parsed response file: an inventory's channel epochs by channel code, or one response. */
type ParsedResponseFile =
  | Map<string, ChannelEpoch[]>
  | InstrumentResponse & { sacPz: SacPoleZeroComments };

const channelKey = (id: ChannelId) => `${id.network}.${id.station}.${id.location}.${id.channel}`;

async function readResponseFile(path: string): Promise<ParsedResponseFile> {
  let text: string;
  try {
    text = await readInputText(path);
  } catch (e) {
    throw new SampleError("unreadable", `Cannot read ${path}: ${readFailure(e)}`);
  }
  if (isSacPoleZero(text)) {
    return { ...await parseSacPoleZero(text, path), sacPz: sacPoleZeroComments(text) };
  }
  // Neither (a waveform, a CSV given as the response): say so rather than an XML parser's words.
  if (!text.replace(/^\uFEFF/, "").trimStart().startsWith("<")) {
    throw new SampleError(
      "bad response",
      `Cannot read ${path}: expected StationXML or a SAC pole-zero file (ZEROS, POLES, ` +
        `CONSTANT): found ${JSON.stringify(text.trimStart().slice(0, 16))}...`,
    );
  }
  const byChannel = new Map<string, ChannelEpoch[]>();
  // Only the plain channel epochs are kept (the XML DOM is dropped once parsed).
  for (const e of await readStationXml(text, path)) {
    const k = channelKey(e);
    const list = byChannel.get(k);
    if (list) list.push(e);
    else byChannel.set(k, [e]);
  }
  return byChannel;
}

/**
 * Parses response files (StationXML inventories, SAC pole-zero files) once per path and
 * holds their channel epochs indexed by channel. `extract` keeps one in the main thread;
 * its workers ask it for the channels they need ({@linkcode WorkerInventory}), so an
 * inventory is parsed once whatever the number of workers.
 */
export class InventoryCache implements ResponseSource {
  #map = new Map<string, Promise<ParsedResponseFile>>();
  /** Paths parsed (or being parsed). */
  get paths(): string[] {
    return [...this.#map.keys()];
  }
  /**
   * Looks up one channel, parsing the file on its first use.
   *
   * @param path StationXML or SAC pole-zero file.
   * @param id The channel.
   * @returns the channel's epochs in the inventory (empty when it has none), or the
   *   pole-zero file's response.
   * @throws {SampleError} when the file cannot be read or parsed.
   */
  async lookup(path: string, id: ChannelId): Promise<ChannelResponses> {
    let p = this.#map.get(path);
    if (!p) {
      p = readResponseFile(path);
      this.#map.set(path, p);
    }
    const file = await p;
    return file instanceof Map ? file.get(channelKey(id)) ?? [] : file;
  }
}

/** A worker's question to the main thread's {@linkcode InventoryCache}. */
export interface LookupRequest {
  type: "lookup";
  key: number;
  path: string;
  id: ChannelId;
}

/** The main thread's answer to a {@linkcode LookupRequest}. */
export type LookupReply =
  & { type: "lookup"; key: number }
  & (
    | { ok: true; result: ChannelResponses }
    | { ok: false; reason: string | null; message: string }
  );

/** Answers a worker's {@linkcode LookupRequest} from the main thread's cache. */
async function answerLookup(inv: InventoryCache, m: LookupRequest): Promise<LookupReply> {
  try {
    return { type: "lookup", key: m.key, ok: true, result: await inv.lookup(m.path, m.id) };
  } catch (e) {
    return {
      type: "lookup",
      key: m.key,
      ok: false,
      reason: e instanceof SampleError ? e.reason : null,
      message: (e as Error)?.message ?? String(e),
    };
  }
}

/**
 * A worker's {@linkcode ResponseSource}: asks the main thread for one channel's epochs
 * and keeps the answers, so a worker holds only the channels of its samples.
 */
export class WorkerInventory implements ResponseSource {
  #cache: ByteLru<Promise<ChannelResponses>>;
  #waiting = new Map<number, (r: LookupReply) => void>();
  #next = 0;
  readonly #post: (m: LookupRequest) => void;
  /**
   * @param post Sends a request to the main thread.
   * @param capacity Channels kept (default 4,096, the most recently used): a catalogue of
   *   tens of thousands of stations would otherwise keep every one in every worker.
   */
  constructor(post: (m: LookupRequest) => void, capacity = 4096) {
    this.#post = post;
    this.#cache = new ByteLru(capacity);
  }
  /**
   * Asks the main thread for one channel, once per path and channel while it is kept.
   *
   * @param path StationXML or SAC pole-zero file.
   * @param id The channel.
   * @returns the main thread's answer.
   */
  lookup(path: string, id: ChannelId): Promise<ChannelResponses> {
    const k = `${path}\n${channelKey(id)}`;
    let p = this.#cache.get(k);
    if (!p) {
      const key = this.#next++;
      p = new Promise<LookupReply>((resolve) => this.#waiting.set(key, resolve)).then((r) => {
        if (r.ok) return r.result;
        throw r.reason === null
          ? new Error(r.message)
          : new SampleError(r.reason as FailureReason, r.message);
      });
      this.#cache.set(k, p, 1);
      this.#post({
        type: "lookup",
        key,
        path,
        id: {
          network: id.network,
          station: id.station,
          location: id.location,
          channel: id.channel,
        },
      });
    }
    return p;
  }
  /**
   * Asks for the channels a task names (its channel, or with a pattern such as `HH?` each of
   * `components`) in each of its response files, before the task runs: their answers then come
   * while the worker computes the task before. A trace of another channel asks for its own when
   * it runs; a failed answer is thrown to the task, when it asks.
   *
   * @param task The task.
   * @param components The config's components (`channel`, or the component letters).
   */
  prefetch(task: SampleTask, components: ExtractConfig["components"]): void {
    const paths = task.responses ?? (task.response ? [task.response] : []);
    const pattern = task.channel.endsWith("?") && components !== "channel";
    const channels = pattern
      ? components.map((c) => task.channel.slice(0, -1) + c)
      : [task.channel];
    for (const path of paths) {
      for (const channel of channels) {
        this.lookup(path, { ...task, channel }).catch(() => {});
      }
    }
  }
  /** Delivers the main thread's answer. */
  answer(r: LookupReply): void {
    const resolve = this.#waiting.get(r.key);
    this.#waiting.delete(r.key);
    resolve?.(r);
  }
}

/** Seconds of data kept on each side of the crop window (with its half STFT windows). */
export { TRIM_PAD_S };

/**
 * A trace cut to the samples within [t0, t1] (ms), or the trace itself when it lies within.
 *
 * @param tr The trace.
 * @param t0 Start, ms since 1970.
 * @param t1 End, ms since 1970.
 * @returns the trace or a view of its samples.
 */
export function trimAround(tr: Trace, t0: number, t1: number): Trace {
  const fs = tr.samplingRate;
  const i0 = Math.max(0, Math.floor(((t0 - tr.startTime) / 1000) * fs));
  const i1 = Math.min(tr.data.length, Math.ceil(((t1 - tr.startTime) / 1000) * fs) + 1);
  if (i0 === 0 && i1 === tr.data.length) return tr;
  return { ...tr, startTime: tr.startTime + (i0 * 1000) / fs, data: tr.data.subarray(i0, i1) };
}

/**
 * @param task A task.
 * @param components Config components.
 * @returns the channel codes the sample stacks.
 */
export function channelCodes(task: SampleTask, components: ExtractConfig["components"]): string[] {
  if (components === "channel") return [task.channel];
  const base = task.channel.length >= 2 ? task.channel.slice(0, 2) : task.channel;
  return components.map((c) => base + c);
}

/**
 * The identity written to samples.csv for a task.
 *
 * @param task A task.
 * @param components Config components.
 * @returns the sample info.
 */
export function sampleInfo(task: SampleTask, components: ExtractConfig["components"]): SampleInfo {
  const codes = channelCodes(task, components);
  return {
    id: task.id,
    network: task.network,
    station: task.station,
    location: task.location,
    channel: codes.length === 1 ? codes[0] : codes[0].slice(0, 2) + "?",
    referenceTime: task.referenceTime === null ? "" : isoExact(task.referenceTime),
    label: task.label,
    ...(task.event ? { event: task.event } : {}),
    // S − P in s, to the millisecond.
    ...(task.sTime !== undefined && task.referenceTime !== null
      ? { sMinusP: Math.round(task.sTime - task.referenceTime) / 1000 }
      : {}),
  };
}

/**
 * A processed task with the reference time its worker chose: where several events' picks were
 * candidates ({@linkcode SampleTask.pickTimes}), its event and S arrival are the chosen
 * pick's; an S arrival not after the reference time is dropped (a SAC marker placed later).
 *
 * @param task The task.
 * @param referenceTime The sample's reference time, ms since 1970 UTC.
 * @returns the task as samples.csv records it.
 */
export function placedTask(task: SampleTask, referenceTime: number): SampleTask {
  const chosen = task.pickTimes?.find((p) => p.time === referenceTime);
  const event = task.event ?? chosen?.eventId;
  const { sTime: own, ...rest } = task;
  const sTime = own ?? chosen?.sTime;
  return {
    ...rest,
    referenceTime,
    ...(event ? { event } : {}),
    ...(sTime !== undefined && sTime > referenceTime ? { sTime } : {}),
  };
}

async function loadNpzTraces(task: SampleTask, codes: string[]): Promise<Trace[]> {
  const npz = task.npz!;
  let arrays;
  try {
    arrays = await readNpz(await readInputFile(npz.path));
  } catch (e) {
    throw new SampleError(
      "unreadable",
      `Cannot read ${npz.path}: ${readFailure(e, "listed in waveform.csv")}`,
    );
  }
  const d = arrays.data;
  if (
    !d || !(d.data instanceof Float64Array || d.data instanceof Float32Array) ||
    d.shape.length !== 2
  ) {
    throw new SampleError(
      "unreadable",
      `Cannot read ${npz.path}: expected a 2-D float 'data' array`,
    );
  }
  const [n, c] = d.shape;
  // numpy writes np.stack([e, n, z]).T, PhaseNet's [npts, 3], in Fortran order.
  const flat = npyToFloat64(d);
  const names = arrays.channels && Array.isArray(arrays.channels.data)
    ? String(arrays.channels.data[0]).split("_")
    : ["E", "N", "Z"].map((x) => task.channel.slice(0, 2) + x);
  // A transposed or cut array would read as a trace of 3 samples, or the wrong columns.
  // PhaseNet's single-component windows name one channel (EHZ) in a [npts, 3] array.
  if (n === 0 || (c !== names.length && c !== 3)) {
    throw new SampleError(
      "unreadable",
      `Cannot read ${npz.path}: its 'data' array has shape [${n}, ${c}]: expected ` +
        `[samples, ${names.length}], samples > 0 and a column for each of ${names.join(", ")}`,
    );
  }
  return codes.map((code) => {
    const j = names.findIndex((nm) => nm.at(-1) === code.at(-1));
    if (j < 0 || j >= c) {
      throw new SampleError(
        "missing channel",
        `Cannot find ${code} in ${npz.path}: it holds ${names.join(", ")}`,
      );
    }
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = flat[i * c + j];
    return {
      network: task.network,
      station: task.station,
      location: task.location,
      channel: code,
      startTime: npz.startTime,
      samplingRate: npz.samplingRate,
      data: x,
    };
  });
}

/** A SAC file's channel and its header's CMPAZ and CMPINC (degrees, when set). */
interface SacHeaderOrientation extends ChannelId {
  file: string;
  cmpaz?: number;
  cmpinc?: number;
}

/**
 * The segments of a task's waveform files, miniSEED or SAC (told apart by their content), with
 * the SAC files' time markers (the first file's that sets each marker) and orientations.
 */
async function readTaskSegments(
  task: SampleTask,
  keep: (path: string) => boolean,
  span?: readonly [number, number],
): Promise<{
  segs: Segment[];
  markers: Partial<Record<SacMarker, number>>;
  sac: boolean;
  sacOrientations: SacHeaderOrientation[];
  /** The files' data from first to last record, where they were decoded only in part. */
  dataSpan: [number, number] | null;
  /** Damaged records left out (gaps in `segs`). */
  corrupt: CorruptRecord[];
}> {
  if (task.waveforms.length === 0) {
    throw new SampleError("unreadable", `Cannot read sample ${task.id}: no waveform file given`);
  }
  const segs: Segment[] = [];
  const markers: Partial<Record<SacMarker, number>> = {};
  const sacOrientations: SacHeaderOrientation[] = [];
  let sac = false;
  let dataSpan: [number, number] | null = null;
  const corrupt: CorruptRecord[] = [];
  for (const f of task.waveforms) {
    const listed = task.row ? `the manifest's waveform, row ${task.row}` : undefined;
    const file = await decodedFile(f, keep(f), span, listed);
    segs.push(...file.segs);
    corrupt.push(...file.corrupt);
    if (file.dataSpan) {
      dataSpan = dataSpan
        ? [Math.min(dataSpan[0], file.dataSpan[0]), Math.max(dataSpan[1], file.dataSpan[1])]
        : file.dataSpan;
    }
    for (const [m, t] of Object.entries(file.markers)) markers[m as SacMarker] ??= t;
    sac ||= file.sac;
    if (file.orientation) {
      const t = file.segs[0];
      sacOrientations.push({
        file: f,
        network: t.network,
        station: t.station,
        location: t.location,
        channel: t.channel,
        ...file.orientation,
      });
    }
  }
  return { segs, markers, sac, sacOrientations, dataSpan, corrupt };
}

interface DecodedFile {
  segs: Segment[];
  /** Damaged records left out of `segs` (gaps), for the samples whose windows need them. */
  corrupt: CorruptRecord[];
  /**
   * Where only the records around a span were decoded: the whole file's data, from its first
   * record's start to its last record's end (ms), for messages about a time outside it.
   */
  dataSpan?: [number, number];
  markers: Partial<Record<SacMarker, number>>;
  sac: boolean;
  /** A SAC file's CMPAZ and CMPINC (each when set). */
  orientation?: { cmpaz?: number; cmpinc?: number };
}

/** A miniSEED file read but not decoded: its bytes and where its records lie. */
interface IndexedFile {
  bytes: Uint8Array;
  records: RecordSpan[];
  /** Damaged bytes between records, skipped (gaps). */
  damaged: CorruptRecord[];
}

/**
 * Waveform files of this worker, up to 192 MiB (none over half of it): a continuous record (a
 * day-long file) holds many events or windows, and each of its samples would otherwise read
 * and decode the whole file again (0.45 s for a day at 100 Hz). A miniSEED file read for a
 * sample whose time is known is kept as its bytes and record index ({@linkcode IndexedFile}),
 * and each sample decodes only the records of its minutes; others are kept decoded.
 */
const decoded = new ByteLru<DecodedFile | IndexedFile>(192 << 20, 96 << 20);

/**
 * Segments decoded for a span of a file (an SDS window's chunk), for the other windows of the
 * chunk: keyed by the file's key and the span.
 */
const spanSegments = new ByteLru<DecodedFile>(64 << 20, 32 << 20);

/**
 * The largest preprocessed chunk trace kept for its windows (bytes, float64): 32 MiB, 4.2 million
 * samples ({@linkcode windowChunks} makes chunks that fit).
 */
export const PREPROCESSED_ITEM_BYTES = 32 << 20;

/** Preprocessed traces of SDS windows' chunks, shared by the chunk's windows (this worker's). */
const preprocessed = new ByteLru<Float64Array>(64 << 20, PREPROCESSED_ITEM_BYTES);

/** Whether chunks' samples are all finite, by chunk (files, channel, start, length). */
const finiteChunks = new ByteLru<boolean>(4096);

function chunkFinite(task: SampleTask, tr: Trace): boolean {
  const key = JSON.stringify([
    task.waveforms,
    `${tr.network}.${tr.station}.${tr.location}.${tr.channel}`,
    tr.startTime,
    tr.data.length,
  ]);
  let ok = finiteChunks.get(key);
  if (ok === undefined) {
    ok = tr.data.every(Number.isFinite);
    finiteChunks.set(key, ok, 1);
  }
  return ok;
}

/** A number per response object (one per channel epoch, as the inventories hand them out). */
const responseIds = new WeakMap<object, number>();
let nextResponseId = 0;
function responseId(r: object): number {
  let id = responseIds.get(r);
  if (id === undefined) {
    id = nextResponseId++;
    responseIds.set(r, id);
  }
  return id;
}

/**
 * Whether this thread holds `path`, decoded or indexed (for tests: `extract` keeps only files
 * that more than one sample reads).
 *
 * @param path A waveform file.
 * @returns true when its current version is in the cache.
 */
export async function isDecodedKept(path: string): Promise<boolean> {
  const key = decodedKey(path, await Deno.stat(path).catch(() => null));
  return key !== null &&
    (decoded.get(key) !== undefined || decoded.get(`index\0${key}`) !== undefined);
}

function decodedKey(f: string, info: Deno.FileInfo | null): string | null {
  // Keyed by the file's size and modification time too, so that a rewritten file is read anew.
  return info ? `${f}\0${info.size}\0${info.mtime?.getTime() ?? ""}` : null;
}

/**
 * A waveform file's segments: all of them, or with `span` (ms), for a miniSEED file, those of
 * the records that hold that span ({@linkcode recordsBetween}). `listed`: where the input
 * names the file, said where it is missing.
 */
async function decodedFile(
  f: string,
  keep: boolean,
  span?: readonly [number, number],
  listed?: string,
): Promise<DecodedFile> {
  const info = await Deno.stat(f).catch(() => null);
  const key = decodedKey(f, info);
  const hit = key === null ? undefined : decoded.get(key);
  if (hit) return hit as DecodedFile;
  const indexed = key === null ? undefined : decoded.get(`index\0${key}`) as IndexedFile;
  if (indexed && span) return await decodeSpan(indexed, f, span, key!);
  let bytes: Uint8Array;
  try {
    // The key's stat also tells whether it is a regular file: no second stat.
    bytes = indexed?.bytes ?? await readInputFile(f, info);
  } catch (e) {
    throw new SampleError("unreadable", `Cannot read ${f}: ${readFailure(e, listed)}`);
  }
  let file: DecodedFile;
  // miniSEED first: its record header is distinctive, while SAC's version word (byte 304) is
  // sample data in a miniSEED file and may well hold 6.
  const mseed = miniseedVersion(bytes) !== 0;
  if (!mseed && (isSac(bytes) || sacOtherVersion(bytes) !== null)) {
    const s = readSac(bytes, f);
    file = {
      segs: [s.trace],
      corrupt: [],
      markers: s.markers,
      sac: true,
      orientation: s.orientation,
    };
  } else if (mseed && span) {
    const damaged: CorruptRecord[] = [];
    const ix = { bytes, records: await indexRecords(bytes, f, (d) => damaged.push(d)), damaged };
    if (key !== null && keep) decoded.set(`index\0${key}`, ix, bytes.byteLength);
    return await decodeSpan(ix, f, span, keep ? key : null);
  } else {
    const corrupt: CorruptRecord[] = [];
    const segs = await decodeSegments(bytes, f, { onCorrupt: (r) => corrupt.push(r) });
    file = { segs, corrupt, markers: {}, sac: false };
  }
  if (key !== null && keep) {
    decoded.set(key, file, file.segs.reduce((u, x) => u + x.data.byteLength, 0));
  }
  return file;
}

async function decodeSpan(
  ix: IndexedFile,
  f: string,
  span: readonly [number, number],
  key: string | null,
): Promise<DecodedFile> {
  // Kept for the next sample of the same span (the windows of one chunk share theirs).
  const k = key === null ? null : `${key}\0${span[0]}\0${span[1]}`;
  const hit = k === null ? undefined : spanSegments.get(k);
  if (hit) return hit;
  const corrupt: CorruptRecord[] = [...ix.damaged];
  const segs = await decodeBetween(ix.bytes, ix.records, span[0], span[1], f, (r) => {
    corrupt.push(r);
  });
  let first = Infinity, last = -Infinity;
  for (const r of ix.records) [first, last] = [Math.min(first, r.start), Math.max(last, r.end)];
  const file: DecodedFile = {
    segs,
    corrupt,
    markers: {},
    sac: false,
    ...(ix.records.length ? { dataSpan: [first, last] as [number, number] } : {}),
  };
  if (k !== null) spanSegments.set(k, file, segs.reduce((u, x) => u + x.data.byteLength, 0));
  return file;
}

/**
 * Whether a record left out of a file (damaged, or in an encoding seisdec cannot decode) is of
 * one of a task's channels; one of unknown channel (damaged framing) may be.
 */
function ownRecord(r: CorruptRecord, task: SampleTask, codes: readonly string[]): boolean {
  if (r.channel === undefined) return true;
  const [net, sta, loc, cha] = r.channel.split(".");
  return sta === task.station && loc === task.location && codes.includes(cha) &&
    (task.network === "" || net === task.network);
}

/** The segments of one of a task's channels, by start time. */
function channelSegments(task: SampleTask, code: string, segs: readonly Segment[]): Segment[] {
  return segs.filter((t) =>
    t.channel === code && t.station === task.station &&
    (task.network === "" || t.network === task.network) && t.location === task.location
  ).sort((a, b) => a.startTime - b.startTime);
}

/** One merged trace per channel code, keeping the run that covers `window` (ms). */
function channelTraces(
  task: SampleTask,
  codes: string[],
  segs: readonly Segment[],
  gapTolerance: number,
  window: readonly [number, number],
  rotate: ExtractConfig["rotate"],
): Trace[] {
  const source = task.waveforms.join(", ");
  // Every missing component named at once (BHN and BHE, not BHN alone).
  const missing = codes.filter((code) => channelSegments(task, code, segs).length === 0);
  if (missing.length) {
    const id = (code: string) => `${task.network}.${task.station}.${task.location}.${code}`;
    throw new SampleError(
      "missing channel",
      `Cannot find ${missing.map(id).join(" or ")} in ${source}: found ${
        [...new Set(segs.map((t) => `${t.network}.${t.station}.${t.location}.${t.channel}`))]
          .join(", ") || "no traces"
      }${orientationHint(task, missing[0], segs, rotate)}`,
    );
  }
  return codes.map((code) =>
    mergeSegments(channelSegments(task, code, segs), gapTolerance, source, window)
  );
}

/**
 * For a missing N or E (1 or 2) component whose station has the other pair of horizontals: how
 * to get them. 1 and 2 are horizontals in the sensor's own orientation (azimuths in the
 * StationXML), which `rotate` turns to north and east, given the vertical too.
 */
function orientationHint(
  task: SampleTask,
  code: string,
  segs: readonly Segment[],
  rotate: ExtractConfig["rotate"],
): string {
  const other: Record<string, string> = { N: "1", E: "2", "1": "N", "2": "E" };
  const alt = other[code.at(-1)!];
  if (alt === undefined) return "";
  const has = (c: string) => channelSegments(task, code.slice(0, -1) + c, segs).length > 0;
  if (!has(alt)) return "";
  if (alt === "N" || alt === "E") {
    return ` (this station's horizontals are N and E: give components Z, N, E)`;
  }
  if (rotate === "never") {
    return ` (this station's horizontals are 1 and 2, unrotated: set rotate to auto ` +
      `(--rotate auto) to rotate Z, 1, 2 to Z, N, E by their StationXML Azimuth and Dip or SAC ` +
      `CMPAZ and CMPINC, or ` +
      `give components Z, 1, 2)`;
  }
  const lack = ["Z", "1", "2"].filter((c) => !has(c)).map((c) => code.slice(0, -1) + c);
  if (lack.length === 0) return "";
  return ` (this station's horizontals are 1 and 2: rotating them to N and E needs ` +
    `${code.slice(0, -1)}Z, 1 and 2, and ${lack.join(", ")} is missing; or give components ` +
    `Z, 1, 2)`;
}

/**
 * The three channels (vertical first, where there is one) that a sample's Z, N and E are
 * rotated from, or null when its components are read as they are. With `rotate` `auto`: Z, 1, 2
 * where N or E is asked for and missing and the station has all three; else U, V, W (three
 * inclined components, the Galperin arrangement, no vertical), else 1, 2, 3 (three components
 * in other directions, SEED's code for them), where Z, N or E is asked for and missing; `always`: also Z, N, E where N or E is asked for and the station has them (to correct
 * N and E whose StationXML azimuths are not 0 and 90); `never`: none.
 *
 * @param task The task.
 * @param components Config components.
 * @param rotate Config rotate.
 * @param has Whether the task's waveforms hold a channel code.
 * @returns the channel codes, or null.
 */
export function rotationChannels(
  task: SampleTask,
  components: ExtractConfig["components"],
  rotate: ExtractConfig["rotate"],
  has: (code: string) => boolean,
): [string, string, string] | null {
  if (rotate === "never" || components === "channel") return null;
  const asked = components.filter((c) => "ZNE".includes(c));
  if (asked.length === 0) return null;
  const base = channelCodes(task, ["Z"])[0].slice(0, -1);
  const set = (a: string, b: string, c: string): [string, string, string] | null =>
    has(base + a) && has(base + b) && has(base + c) ? [base + a, base + b, base + c] : null;
  const horizontals = asked.includes("N") || asked.includes("E");
  if (rotate === "always" && horizontals) {
    return set("Z", "N", "E") ?? set("Z", "1", "2") ?? set("U", "V", "W") ?? set("1", "2", "3");
  }
  if (!asked.some((c) => !has(base + c))) return null;
  // Z, 1, 2 for missing horizontals; U, V, W (a sensor in the Galperin arrangement, three
  // inclined components and no vertical) or 1, 2, 3 (three components in other directions) for
  // anything missing.
  return (horizontals ? set("Z", "1", "2") : null) ?? set("U", "V", "W") ?? set("1", "2", "3");
}

/** What {@linkcode processSample} rotated to make a sample's Z, N and E. */
export interface Rotation {
  /** The three channels rotated (vertical first), e.g. `["BHZ", "BH1", "BH2"]`. */
  channels: string[];
  /** Their azimuths, degrees clockwise from north. */
  azimuths: number[];
  /** Their dips, degrees down from the horizontal. */
  dips: number[];
  /**
   * Where each channel's direction came from: `stationxml`, `sac` (the SAC file's CMPAZ and
   * CMPINC) or `sac_pz` (the SAC pole-zero file's AZIMUTH and DIP comments).
   */
  sources: OrientationSource[];
}

/** Where a channel's direction came from (see {@linkcode Rotation.sources}). */
export type OrientationSource = "stationxml" | "sac" | "sac_pz";

/**
 * Largest angle, degrees, between two sources' directions of one channel (a SAC header and a
 * SAC pole-zero file, or two SAC files) still taken as the same: both are written to 0.1° or
 * so, and 1° moves a rotated horizontal by under 2 % of the motion across it.
 */
export const ORIENTATION_TOLERANCE_DEG = 1;

/** One source's direction of a channel (SEED convention), and how it was written. */
interface FoundOrientation extends Orientation {
  /** The file and the fields, as written, for messages. */
  from: string;
  /** The convention of the fields, for a message when they contradict the channel code. */
  convention: string;
}

/** The angle between two directions, degrees. */
function angleBetween(a: Orientation, b: Orientation): number {
  const u = directionZne(a), v = directionZne(b);
  const c = u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
  return Math.acos(Math.min(1, Math.max(-1, c))) * 180 / Math.PI;
}

const CMPINC_CONVENTION = "CMPINC is degrees from the upward vertical (0 for Z, 90 for " +
  "horizontals, 180 for a downward Z), SEED's dip plus 90";

/** A SAC header's direction of its channel, or why it gives none. */
function sacHeaderOrientation(h: SacHeaderOrientation): FoundOrientation | string {
  const { cmpaz, cmpinc, file } = h;
  const az = cmpaz === undefined ? "undefined" : cmpaz;
  if (cmpinc === undefined) {
    return `${file} leaves CMPINC undefined (CMPAZ ${az}): the component's angle from vertical ` +
      `is needed`;
  }
  if (!(cmpinc >= 0 && cmpinc <= 180)) {
    return `${file} has CMPINC ${cmpinc}: expected 0 to 180 degrees from the upward vertical`;
  }
  // A vertical component's azimuth does not matter: its direction has no horizontal part.
  if (cmpaz === undefined && cmpinc !== 0 && cmpinc !== 180) {
    return `${file} leaves CMPAZ undefined (CMPINC ${cmpinc}): the azimuth of a component ` +
      `that is not vertical is needed`;
  }
  return {
    azimuth: cmpaz ?? 0,
    dip: sacDip(cmpinc),
    from: `${file} (SAC header CMPAZ ${az}, CMPINC ${cmpinc})`,
    convention: CMPINC_CONVENTION,
  };
}

/** Whether a SAC pole-zero file's comments name channel `id` (codes they leave out match). */
function pzNames(pz: SacPoleZeroComments, id: ChannelId): boolean {
  return (["network", "station", "location", "channel"] as const).every((k) =>
    pz[k] === undefined || pz[k] === id[k]
  );
}

/** A SAC pole-zero file's direction of a channel (from its comments), or why it gives none. */
function sacPzOrientation(
  pz: SacPoleZeroComments,
  id: ChannelId,
  time: number,
  path: string,
  what: string,
): FoundOrientation | string {
  const code = channelKey(id);
  if (pz.channel === undefined) {
    return `${path} names no channel (no '* CHANNEL' comment), so its orientation cannot be ` +
      `told to be ${code}'s`;
  }
  if (!pzNames(pz, id)) {
    const named = [pz.network, pz.station, pz.location, pz.channel].map((c) => c ?? "?");
    return `${path} is the response of ${named.join(".")}, not ${code}`;
  }
  if ((pz.start !== undefined && time < pz.start) || (pz.end !== undefined && time >= pz.end)) {
    return `${path}'s epoch ${pz.start === undefined ? "" : isoTime(pz.start)} .. ${
      pz.end === undefined ? "" : isoTime(pz.end)
    } does not hold ${isoTime(time)}`;
  }
  if (pz.azimuth === undefined || (pz.incidence === undefined && pz.seedDip === undefined)) {
    return `${path} has no '* AZIMUTH' and '* DIP' comments`;
  }
  const bad = (msg: string) => new SampleError("bad orientation", `${what}: ${path}: ${msg}`);
  if (pz.incidence !== undefined && !(pz.incidence >= 0 && pz.incidence <= 180)) {
    throw bad(
      `'* DIP ${pz.incidence}' is outside 0 to 180: it is read as SAC's angle from the ` +
        `upward vertical, as IRIS writes it; write SEED's dip as '* DIP (SEED)'`,
    );
  }
  if (pz.seedDip !== undefined && !(Math.abs(pz.seedDip) <= 90)) {
    throw bad(`'* DIP (SEED) ${pz.seedDip}' is outside -90 to 90`);
  }
  if (
    pz.incidence !== undefined && pz.seedDip !== undefined &&
    Math.abs(sacDip(pz.incidence) - pz.seedDip) > ORIENTATION_TOLERANCE_DEG
  ) {
    throw bad(
      `'* DIP ${pz.incidence}' (from vertical) and '* DIP (SEED) ${pz.seedDip}' disagree: ` +
        `expected DIP = DIP (SEED) + 90`,
    );
  }
  const seed = pz.seedDip !== undefined;
  return {
    azimuth: pz.azimuth,
    dip: seed ? pz.seedDip! : sacDip(pz.incidence!),
    from: `${path} (SAC_PZ comments AZIMUTH ${pz.azimuth}, ${
      seed ? `DIP (SEED) ${pz.seedDip}` : `DIP ${pz.incidence}`
    })`,
    convention: seed
      ? "'* DIP (SEED)' is SEED's dip (-90 for Z, 0 for horizontals)"
      : "'* DIP' is read as SAC's angle from the upward vertical, as IRIS writes it (0 for " +
        "Z, 90 for horizontals); write SEED's dip as '* DIP (SEED)'",
  };
}

/**
 * A SAC header or pole-zero file whose direction contradicts the channel code (a Z within 45°
 * of horizontal, or an N, E, 1 or 2 within 45° of vertical) most likely holds the other
 * convention's dip, 90° off: refused rather than rotated wrong.
 */
function checkAgainstCode(o: FoundOrientation, id: ChannelId, what: string): void {
  const letter = id.channel.at(-1)!;
  const expected = letter === "Z" ? true : "NE12".includes(letter) ? false : null;
  const vertical = Math.abs(o.dip) >= 45;
  if (expected === null || expected === vertical) return;
  const kind = (v: boolean) => (v ? "vertical" : "horizontal");
  throw new SampleError(
    "bad orientation",
    `${what}: ${o.from} makes ${id.channel} ${kind(vertical)} (SEED dip ${o.dip}), but its ` +
      `code says ${kind(expected)}: ${o.convention}`,
  );
}

/**
 * The response file of one of a task's channels at a time, and what it holds for it. With one
 * file, that file (as it always was: a StationXML without the channel or an epoch at the time,
 * or a SAC pole-zero file of another channel, says so later), unless it is a SAC pole-zero file
 * whose `* START` .. `* END` does not hold the time. With several (`a.pz;b.pz;c.pz` in a
 * manifest row), the first that holds the channel then: a StationXML with an epoch of it that
 * holds the time, or a SAC pole-zero file whose comments (`* NETWORK`, `* STATION`,
 * `* LOCATION`, `* CHANNEL`) name it and whose `* START` .. `* END` (where given) holds the time.
 *
 * @param time The reference time, ms since 1970 UTC.
 * @returns null when the task names no response file.
 * @throws {SampleError} ("no response") when no file holds the channel at the time, naming
 *   each file and what it holds instead.
 */
async function responseFileFor(
  task: SampleTask,
  id: ChannelId,
  time: number,
  inventories: ResponseSource,
): Promise<{ path: string; file: ChannelResponses } | null> {
  const paths = task.responses ?? (task.response ? [task.response] : []);
  if (paths.length === 0) return null;
  const one = paths.length === 1;
  // An open end (none given, or an unreadable epoch's ±Infinity) is left blank.
  const at = (t?: number) => (t !== undefined && Number.isFinite(t) ? isoTime(t) : "");
  const span = (start?: number, end?: number) => `${at(start)} .. ${at(end)}`;
  // What each file holds instead, for the message.
  const misses: string[] = [];
  for (const path of paths) {
    const file = await inventories.lookup(path, id);
    if (Array.isArray(file)) {
      if (one || file.some((e) => e.startDate <= time && time < e.endDate)) return { path, file };
      misses.push(
        file.length
          ? `${path} has epochs ${file.map((e) => span(e.startDate, e.endDate)).join(", ")}`
          : `${path} has no epoch of it`,
      );
      continue;
    }
    const pz = file.sacPz ?? {};
    const names = one || (pz.channel !== undefined && pzNames(pz, id));
    const holds = (pz.start === undefined || pz.start <= time) &&
      (pz.end === undefined || time < pz.end);
    if (names && holds) return { path, file };
    misses.push(
      !names
        ? pz.channel === undefined
          ? `${path} names no channel`
          : `${path} is ${
            [pz.network, pz.station, pz.location, pz.channel].map((c) => c ?? "?")
              .join(".")
          }'s`
        : `${path} has epoch ${span(pz.start, pz.end)}`,
    );
  }
  throw new SampleError(
    "no response",
    `Cannot find the response of ${channelKey(id)} at ${isoTime(time)}: ${
      one ? "its file does not hold it then" : "none of its files holds it then"
    } (${misses.join("; ")}; a SAC pole-zero file is matched by its '* NETWORK', '* STATION', ` +
      `'* LOCATION' and '* CHANNEL' comments, and its '* START' and '* END')`,
  );
}

/**
 * The direction of one channel to rotate: from the StationXML when it has one, else from the
 * SAC file's header (CMPAZ, CMPINC) and the SAC pole-zero file's comments (AZIMUTH, DIP),
 * which must agree within {@linkcode ORIENTATION_TOLERANCE_DEG} when both give it.
 */
async function orientationOf(
  task: SampleTask,
  tr: Trace,
  tref: number,
  inventories: ResponseSource,
  headers: readonly SacHeaderOrientation[],
  what: string,
): Promise<Orientation & { source: OrientationSource }> {
  const code = channelKey(tr);
  const whys: string[] = [];
  let pz: FoundOrientation | undefined;
  // A channel none of several response files holds may still be oriented by its SAC header.
  const rf = await responseFileFor(task, tr, tref, inventories).catch((e) => {
    if (!(e instanceof SampleError) || e.reason !== "no response") throw e;
    whys.push(e.message);
    return undefined;
  });
  if (rf) {
    const { path, file } = rf;
    if (Array.isArray(file)) {
      try {
        return { ...findOrientation(file, tr, tref, path), source: "stationxml" };
      } catch (e) {
        if (!(e instanceof SampleError)) throw e;
        whys.push(e.message);
      }
    } else {
      const r = sacPzOrientation(file.sacPz ?? {}, tr, tref, path, what);
      if (typeof r === "string") whys.push(r);
      else pz = r;
    }
  } else if (rf === null) whys.push("no StationXML or SAC pole-zero file given");
  const own = headers.filter((h) => channelKey(h) === code);
  if (own.length === 0) whys.push(`no SAC file holds ${code} (miniSEED has no orientation)`);
  let header: FoundOrientation | undefined;
  for (const h of own) {
    const r = sacHeaderOrientation(h);
    if (typeof r === "string") {
      whys.push(r);
      continue;
    }
    checkAgainstCode(r, tr, what);
    if (header && angleBetween(header, r) > ORIENTATION_TOLERANCE_DEG) {
      throw new SampleError(
        "bad orientation",
        `${what}: the SAC files of ${code} disagree on its direction by ${
          angleBetween(header, r).toFixed(2)
        }° (more than ${ORIENTATION_TOLERANCE_DEG}°): ${header.from} against ${r.from}`,
      );
    }
    header ??= r;
  }
  if (pz) checkAgainstCode(pz, tr, what);
  if (header && pz && angleBetween(header, pz) > ORIENTATION_TOLERANCE_DEG) {
    throw new SampleError(
      "bad orientation",
      `${what}: the SAC header and the SAC pole-zero file disagree on ${code}'s direction by ${
        angleBetween(header, pz).toFixed(2)
      }° (more than ${ORIENTATION_TOLERANCE_DEG}°): ${header.from} against ${pz.from}`,
    );
  }
  const found = header ?? pz;
  if (found) {
    return { azimuth: found.azimuth, dip: found.dip, source: header ? "sac" : "sac_pz" };
  }
  throw new SampleError(
    "bad orientation",
    `${what}: no orientation of ${code} (its Azimuth and Dip, or CMPAZ and CMPINC): ${
      whys.join("; ")
    }`,
  );
}

/**
 * The orientations of the channels to rotate (see {@linkcode orientationOf}), checked to be
 * independent.
 *
 * @throws {SampleError} "bad orientation" naming the channels: no StationXML, SAC header or
 *   SAC pole-zero comments that give a channel's Azimuth and Dip, a SAC header and pole-zero
 *   file that disagree, or directions nearly linearly dependent.
 */
async function rotationOf(
  task: SampleTask,
  traces: readonly Trace[],
  tref: number,
  inventories: ResponseSource,
  headers: readonly SacHeaderOrientation[],
): Promise<Rotation> {
  const what = `Cannot rotate ${traces.map(channelKey).join(", ")} of sample ${task.id} to Z, N, E`;
  const o: (Orientation & { source: OrientationSource })[] = [];
  for (const tr of traces) {
    o.push(await orientationOf(task, tr, tref, inventories, headers, what));
  }
  try {
    zneMatrix(o as Orientation[] as [Orientation, Orientation, Orientation]);
  } catch (e) {
    if (e instanceof RangeError) {
      throw new SampleError(
        "bad orientation",
        `${what} (${task.response ?? task.waveforms.join(", ")}): ${e.message}`,
      );
    }
    throw e;
  }
  return {
    channels: traces.map((t) => t.channel),
    azimuths: o.map((x) => x.azimuth),
    dips: o.map((x) => x.dip),
    sources: o.map((x) => x.source),
  };
}

const isoTime = (ms: number) => new Date(ms).toISOString();

/**
 * Chooses, among P picks of several events at a task's station, the one whose crop window
 * (`before` ms before it to `after` ms after it) the waveform covers on every channel.
 *
 * @param task The task; its `pickTimes` are the candidates, ascending.
 * @param codes The sample's channel codes.
 * @param segs The task's miniSEED segments.
 * @param before ms the window needs before the pick.
 * @param after ms the window needs after the pick.
 * @returns the pick's time: the only one whose window is covered, else the first that lies
 *   inside the waveform at all (its crop then fails as too short, saying by how much).
 * @throws {SampleError} "ambiguous pick" when the waveform covers the windows of several
 *   events' picks, "pick outside trace" when it holds none of the picks.
 */
export function choosePick(
  task: SampleTask,
  codes: string[],
  segs: readonly Segment[],
  before: number,
  after: number,
): number {
  const picks = task.pickTimes ?? [];
  const spans = codes.map((code) => channelSegments(task, code, segs))
    .filter((p) => p.length > 0)
    .map((p) => [p[0].startTime, Math.max(...p.map(segmentEnd))]);
  if (spans.length === 0) return picks[0].time; // no channel at all: the merge names what is there
  const covers = (lo: number, hi: number) => spans.every(([s, e]) => s <= lo && e >= hi);
  const listed = (ps: typeof picks) =>
    ps.map((p) => `${p.eventId || "(no event id)"} at ${isoTime(p.time)}`).join(", ");
  const k = `${task.network}.${task.station}`;
  const full = picks.filter((p) => covers(p.time - before, p.time + after));
  if (full.length === 1) return full[0].time;
  if (full.length > 1) {
    throw new SampleError(
      "ambiguous pick",
      `Cannot place sample ${task.id}: its waveform covers the windows of P picks of ${full.length} ` +
        `events at ${k} (${listed(full)}): name the event in an event_id column, or give ` +
        `reference_time`,
    );
  }
  const inside = picks.find((p) => covers(p.time, p.time));
  if (inside) return inside.time;
  const lo = Math.min(...spans.map((x) => x[0])), hi = Math.max(...spans.map((x) => x[1]));
  throw new SampleError(
    "pick outside trace",
    `Cannot place sample ${task.id}: none of the P picks of ${picks.length} events at ${k} ` +
      `(${listed(picks)}) lies inside its waveform ${isoTime(lo)} .. ${isoTime(hi)}`,
  );
}

/** A dead channel (every sample the same value) would become an all-zero spectrogram. */
function checkNotFlat(x: Float64Array, what: string): void {
  for (let i = 1; i < x.length; i++) if (x[i] !== x[0]) return;
  throw new SampleError(
    "flat",
    `Cannot use ${what}: all ${x.length} samples equal ${x[0]} (a dead channel)`,
  );
}

/** Fewest equal samples in a row that can count as filler (recorded noise repeats a few). */
const MIN_FILL_SAMPLES = 20;

/**
 * Missing data filled with one value (zero-padded NPZ or SAC windows, a gap a data centre filled)
 * would enter the spectrogram as a silent stretch: a run of equal samples inside the crop window
 * longer than the gap tolerance (and than {@linkcode MIN_FILL_SAMPLES}) fails the sample as a gap.
 *
 * @param tr The trace.
 * @param window The crop window with its half STFT windows, ms since 1970.
 * @param tref The reference time, ms.
 * @param gapTolerance Longest gap accepted, s.
 * @param what The trace and sample, for the message.
 */
function checkNoFill(
  tr: Trace,
  window: readonly [number, number],
  tref: number,
  gapTolerance: number,
  what: string,
): void {
  const fs = tr.samplingRate, x = tr.data;
  const i0 = Math.max(0, Math.floor((window[0] - tr.startTime) / 1000 * fs));
  const i1 = Math.min(x.length, Math.ceil((window[1] - tr.startTime) / 1000 * fs) + 1);
  let best = 0, bestAt = i0;
  for (let i = i0; i < i1;) {
    let j = i + 1;
    while (j < i1 && x[j] === x[i]) j++;
    if (j - i > best) [best, bestAt] = [j - i, i];
    i = j;
  }
  if (best <= MIN_FILL_SAMPLES || best / fs <= gapTolerance) return;
  const rel = (i: number) => (tr.startTime + i * 1000 / fs - tref) / 1000;
  const sec = (v: number) => `${v >= 0 ? "+" : ""}${v.toFixed(2)} s`;
  throw new SampleError(
    "gap",
    `Cannot use ${what}: its ${best} samples from ${sec(rel(bestAt))} to ${
      sec(rel(bestAt + best - 1))
    } (relative to the reference time) all equal ${x[bestAt]}: zero-padded or missing data ` +
      `inside the crop window, longer than the gap tolerance ${gapTolerance} s`,
  );
}

/**
 * The cosine tapers before response removal (`preprocess.taper` of the trace as read) and after
 * the band-pass (`preprocess.postTaper` of the resampled one) scale the ends of the trace down:
 * a crop window (with its half STFT windows) reaching into them would give frames silently
 * attenuated (17 dB in a PhaseNet window cropped from 28 s before its P pick at 30 s, inside the
 * 4.5 s taper), so such a sample fails as too short.
 *
 * @param tr The trace as read (after the cut to the window plus the margin each side).
 * @param m Samples after resampling.
 * @param s0 First sample of the crop, at the target rate.
 * @param need Samples in the crop.
 * @param config The extract config.
 * @param what The trace and sample, for the message.
 */
function checkOutsideTapers(
  tr: Trace,
  m: number,
  s0: number,
  need: number,
  config: ExtractConfig,
  what: string,
): void {
  const pp = config.preprocess, fs = pp.samplingRate, n = tr.data.length, fsIn = tr.samplingRate;
  const pre = Math.floor(pp.taper * n) / fsIn, post = Math.floor(pp.postTaper * m) / fs;
  const taper = Math.max(pre, post);
  if (taper === 0) return;
  const first = s0 / fs, last = (s0 + need - 1) / fs;
  const end = Math.min((n - 1) / fsIn - pre, (m - 1) / fs - post);
  const eps = 1e-9;
  if (first >= taper - eps && last <= end + eps) return;
  const which = pre >= post
    ? `preprocess.taper ${pp.taper} of the ${((n - 1) / fsIn).toFixed(2)} s trace`
    : `preprocess.postTaper ${pp.postTaper} of the ${((m - 1) / fs).toFixed(2)} s trace`;
  const where = first < taper - eps
    ? `starts ${first.toFixed(2)} s into the trace, inside the ${taper.toFixed(2)} s cosine ` +
      `taper at its start`
    : `ends ${((m - 1) / fs - last).toFixed(2)} s before the trace's end, inside the ${
      taper.toFixed(2)
    } s cosine taper there`;
  throw new SampleError(
    "too short",
    `Cannot crop ${what}: the window (with half an STFT window each side) ${where} (${which}): ` +
      `its frames would be scaled down; give a smaller preprocess.taper or postTaper (a ` +
      `fraction of the whole trace, which preprocess.margin ${marginOf(config)} s each side of ` +
      `the crop makes long: a smaller margin, --margin, shortens the tapers with it), a smaller ` +
      `spectrogram.before or after, or a longer trace`,
  );
}

function checkFinite(x: Float64Array, what: string): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      throw new SampleError("nan", `Cannot use ${what}: sample ${i} is ${x[i]}`);
    }
  }
}

/** One sample as {@linkcode processSample} makes it. */
export interface ExtractedSample {
  /** `[C, F, T]` spectrogram values. */
  data: Float32Array;
  /** The reference time used, ms since 1970 UTC (the chosen pick where there were several). */
  referenceTime: number;
  /**
   * With `keepWaveform`: per component, the preprocessed trace at the target rate that the STFT
   * read (ground motion in SI units, or counts without response removal), from half a window
   * before the first frame's centre to half a window after the last one's.
   */
  waveform?: Float64Array[];
  /** Where Z, N and E were rotated from other channels (`rotate`): which, and how. */
  rotation?: Rotation;
  /** The station's coordinates, from the sample's StationXML (absent without one). */
  coords?: Coordinates;
  /**
   * The lowest rate the sample's channels were recorded at, Hz, before resampling: above its
   * Nyquist frequency, rows of the spectrogram hold no signal.
   */
  recordedRate: number;
  /**
   * Warnings about what the sample was made from (a channel whose stage gains disagree with its
   * sensitivity, under `stageCheck: "warn"`), for the run to print once each.
   */
  warnings?: string[];
  /** The channels whose raw samples in the crop window look clipped ({@linkcode clipping}). */
  clipped?: ClippedChannel[];
  /**
   * The channels whose crop window holds samples that merging within `gapTolerance` made up
   * (gaps filled) or chose between (overlaps of differing samples): `joined.csv`.
   */
  joined?: JoinedChannel[];
}

/** A channel of a sample whose crop window holds gaps filled or overlaps resolved. */
export interface JoinedChannel {
  /** `NET.STA.LOC.CHA`. */
  channel: string;
  /** Gaps filled by linear interpolation in the crop window. */
  gaps: number;
  /** Their samples (inside the crop window). */
  gapSamples: number;
  /** Overlaps whose later samples differed from those kept (and were dropped). */
  overlaps: number;
  /** Their samples (inside the crop window). */
  overlapSamples: number;
}

/** {@linkcode JoinedChannel} with its sample's id. */
export interface JoinedSample extends JoinedChannel {
  /** Sample id. */
  id: string;
}

/** A channel of a sample whose raw samples look clipped (`clipped.csv`). */
export interface ClippedChannel extends Clipping {
  /** `NET.STA.LOC.CHA`. */
  channel: string;
}

/** {@linkcode ClippedChannel} with its sample's id. */
export interface ClippedSample extends ClippedChannel {
  /** Sample id. */
  id: string;
}

/**
 * The top of the band a recording holds, as a fraction of its rate: its digitiser's anti-alias
 * filter cuts below the Nyquist frequency (the bundled 40 Hz channels' FIR cascades: −8 to −20
 * dB at 18 Hz, −44 to −59 dB at 19.5 Hz).
 */
export const RECORDED_BAND = 0.45;

/**
 * The top of a recording's band ({@linkcode RECORDED_BAND} × its rate), rounded down to 3
 * significant figures: an `fmax` to suggest that does not pass it again.
 *
 * @param rate The recording's rate, Hz.
 * @returns the band's top, Hz.
 * @example
 * ```ts
 * import { recordedBandTop } from "./extract.ts";
 * // 0.45 × 125 = 56.25: 56.2, where 56.3 would pass it.
 * if (recordedBandTop(125) !== 56.2 || recordedBandTop(40) !== 18) throw new Error();
 * ```
 */
export function recordedBandTop(rate: number): number {
  const x = RECORDED_BAND * rate, unit = 10 ** (Math.floor(Math.log10(x)) - 2);
  return +(Math.floor(x / unit + 1e-9) * unit).toPrecision(3);
}

/**
 * A rate or frequency for a message: at most 6 significant digits, so that a rate computed from a
 * header's factor and multiplier (0.1 × 0.1) reads 0.01 Hz, not 0.010000000000000002 Hz.
 *
 * @param hz Hz.
 * @returns the number as text.
 * @example
 * ```ts
 * import { formatHz } from "./extract.ts";
 * if (formatHz(0.1 * 0.1) !== "0.01" || formatHz(100 / 3) !== "33.3333") throw new Error();
 * ```
 */
export function formatHz(hz: number): string {
  return String(Number(hz.toPrecision(6)));
}

/**
 * Refuses a channel recorded too slowly to hold any of the band: its Nyquist frequency at or
 * below the band-pass's lower corner (the crop's `fmin` without a band-pass). Its spectrogram
 * would be the filters' stopband, near zero everywhere (a 1 Hz or 0.01 Hz channel under the
 * default 1-18 Hz band), and it would join a cluster of such samples.
 *
 * @throws {SampleError} ("rate too low") naming the channel, its rate and the band.
 */
function checkRateCoversBand(rate: number, config: ExtractConfig, what: string): void {
  const bp = config.preprocess.bandpass, sc = config.spectrogram;
  const low = bp ? bp.freqmin : sc.fmin;
  if (rate / 2 > low) return;
  const band = bp
    ? `the band-pass ${formatHz(bp.freqmin)}-${formatHz(bp.freqmax)} Hz ` +
      `(preprocess.bandpass.freqmin ${formatHz(low)} Hz)`
    : `the crop ${formatHz(sc.fmin)}-${formatHz(sc.fmax)} Hz (spectrogram.fmin ${
      formatHz(low)
    } Hz)`;
  throw new SampleError(
    "rate too low",
    `Cannot use ${what}: it is recorded at ${formatHz(rate)} Hz, whose Nyquist frequency ` +
      `${formatHz(rate / 2)} Hz is at or below the lower edge of ${band}: it holds nothing of ` +
      `the band (its spectrogram would be near zero); expected a rate above ${
        formatHz(2 * low)
      } Hz`,
  );
}

/** Options of {@linkcode processSample}. */
export interface ProcessSampleOptions {
  /** Also return the preprocessed samples the STFT read ({@linkcode ExtractedSample.waveform}). */
  keepWaveform?: boolean;
  /**
   * Which of the sample's waveform files to keep decoded for later samples, within the
   * thread's budget (default: every one). `extract` keeps only the files that another sample
   * reads too (a continuous record's, not an event file's).
   */
  keepDecoded?: (path: string) => boolean;
}

/**
 * Reads, preprocesses and crops one sample.
 *
 * @param task The sample.
 * @param config The extract config.
 * @param inventories StationXML cache.
 * @param geometry Precomputed {@linkcode spectrogramGeometry} (optional).
 * @param options `keepWaveform` also returns the preprocessed samples the STFT read.
 * @returns the `[C, F, T]` spectrogram and the reference time it is cropped around.
 * @throws {SampleError} with the reason the sample cannot be used.
 */
export async function processSample(
  task: SampleTask,
  config: ExtractConfig,
  inventories: ResponseSource = new InventoryCache(),
  geometry: SpectrogramGeometry = spectrogramGeometry(config),
  options: ProcessSampleOptions = {},
): Promise<ExtractedSample> {
  const seen: CorruptSeen = { records: [], span: null };
  try {
    return await processSampleBody(task, config, inventories, geometry, options, seen);
  } catch (e) {
    // Data missing where a damaged record was left out (a gap that cut the trace short, or
    // left the window or its preprocessing margin without data): the record is the reason.
    const span = seen.span;
    const hit = span && seen.records.find((r) => r.end > span[0] && r.start < span[1]);
    if (!(e instanceof SampleError) || !hit || e.reason === hit.error.reason) throw e;
    if (!["gap", "too short", "pick outside trace", "missing channel"].includes(e.reason)) throw e;
    throw new SampleError(
      hit.error.reason,
      `${hit.error.message}; sample ${task.id} needs the data they held (${e.message})`,
    );
  }
}

/** The STFT window of the last geometry asked for: the same for every sample of a run. */
let lastWindow: { n: number; beta: number; w: Float64Array } | null = null;

/** {@linkcode kaiser}(n, beta), kept for the next sample (the STFT only reads it). */
function kaiserWindow(n: number, beta: number): Float64Array {
  if (lastWindow?.n !== n || lastWindow.beta !== beta) lastWindow = { n, beta, w: kaiser(n, beta) };
  return lastWindow.w;
}

/** The damaged records a sample's files held, and the span its preprocessing reads (ms). */
interface CorruptSeen {
  records: CorruptRecord[];
  span: [number, number] | null;
}

/**
 * How a manifest sample gets its reference time, for the message of one that has none (the
 * other inputs give every sample a time, or say why not where they read it).
 */
function referenceHint(config: ExtractConfig): string {
  return config.input.format === "manifest"
    ? ": give it a reference_time in the manifest, or a QuakeML pick for its station (--picks)"
    : "";
}

async function processSampleBody(
  task: SampleTask,
  config: ExtractConfig,
  inventories: ResponseSource,
  geometry: SpectrogramGeometry,
  options: ProcessSampleOptions,
  seen: CorruptSeen,
): Promise<ExtractedSample> {
  const g = geometry;
  const pp = config.preprocess;
  const sc = config.spectrogram;
  if (task.error) throw new SampleError(task.error.reason, task.error.message);
  const sacRef = config.input.format === "manifest" ? config.input.sacReference : null;
  if (task.referenceTime === null && !task.pickTimes?.length && (sacRef === null || task.npz)) {
    throw new SampleError(
      "no reference time",
      `Cannot place sample ${task.id}: it has no reference time (pick or origin)${
        referenceHint(config)
      }`,
    );
  }
  const codes = channelCodes(task, config.components);
  // A gap or overlap outside the crop (with its half windows) does not cost the sample.
  const pad = g.nperseg / 2 / g.samplingRate;
  const [before, after] = [(sc.before + pad) * 1000, (sc.after + pad) * 1000];
  // The channels read: those asked for, but where Z, N and E are rotated from three channels
  // (rotationChannels), those three instead of the Z, N and E asked for.
  let readCodes = codes;
  let rotated: [string, string, string] | null = null;
  let traces: Trace[], tref: number;
  // Where only the records around the sample were decoded: the files' whole data span.
  let dataSpan: [number, number] | null = null;
  // The decoded segments (for a message naming the gap a time falls in).
  let decoded: readonly Segment[] = [];
  let sacHeaders: SacHeaderOrientation[] = [];
  if (task.npz) {
    tref = task.referenceTime!;
    traces = await loadNpzTraces(task, codes);
  } else {
    // With its time known, a sample decodes only the records of the minutes it keeps (below),
    // and a second more each side: a day file's 5 minutes, not its day.
    const t = task.referenceTime;
    const pre = task.preprocessSpan;
    const span = pre ? [pre[0] - 1000, pre[1] + 1000] as const : t === null ? undefined : [
      t - before - (marginOf(config) + 1) * 1000,
      t + after + (marginOf(config) + 1) * 1000,
    ] as const;
    const read = await readTaskSegments(task, options.keepDecoded ?? (() => true), span);
    const { segs, markers, sac, sacOrientations } = read;
    decoded = segs;
    dataSpan = read.dataSpan;
    sacHeaders = sacOrientations;
    rotated = rotationChannels(
      task,
      config.components,
      config.rotate,
      (code) => channelSegments(task, code, segs).length > 0,
    );
    if (rotated) {
      readCodes = [...rotated, ...codes.filter((c) => !"ZNE".includes(c.at(-1)!))];
    }
    if (task.referenceTime !== null) tref = task.referenceTime;
    else if (task.pickTimes?.length) tref = choosePick(task, readCodes, segs, before, after);
    else if (sacRef !== null && markers[sacRef] !== undefined) tref = markers[sacRef]!;
    else {
      throw new SampleError(
        "no reference time",
        `Cannot place sample ${task.id}: it has no reference time (pick or origin)${
          sac && sacRef !== null ? `, and no SAC file of it sets the ${sacRef} marker` : ""
        }${referenceHint(config)}`,
      );
    }
    // A damaged record left out of the files (a gap) fails the samples whose crop (with its
    // half windows) it held, as 'corrupt', naming it; like any gap outside the crop, it costs
    // the file's other samples nothing.
    // Only the sample's own channels' records count: a damaged record of another channel in the
    // same file (or one whose channel is unknown: damaged framing, which may be any) costs it
    // nothing.
    const mine = read.corrupt.filter((r) => ownRecord(r, task, readCodes));
    const hit = mine.find((r) => r.end > tref - before && r.start < tref + after);
    if (hit) {
      throw new SampleError(
        hit.error.reason,
        `${hit.error.message}; sample ${task.id} needs the data they held`,
      );
    }
    // Nearer than the preprocessing margin, it may cut the trace short (processSample).
    seen.records = mine;
    seen.span = [tref - before - marginOf(config) * 1000, tref + after + marginOf(config) * 1000];
    traces = channelTraces(
      task,
      readCodes,
      segs,
      config.gapTolerance,
      [tref - before, tref + after],
      config.rotate,
    );
  }
  // Rotation needs each channel's Azimuth and Dip (StationXML, else SAC header and SAC_PZ
  // comments): looked up before the costly preprocessing.
  const rotation = rotated
    ? await rotationOf(task, traces.slice(0, 3), tref, inventories, sacHeaders)
    : null;
  const window = kaiserWindow(g.nperseg, sc.beta);
  const C = codes.length, F = g.nFreqs, T = g.nTimes;
  // What the run should say once (ExtractedSample.warnings).
  const warnings: string[] = [];
  const clipped: ClippedChannel[] = [];
  const joined: JoinedChannel[] = [];
  const fs = pp.samplingRate;
  const half = Math.floor(g.nperseg / 2);
  const need = (T - 1) * g.hop + g.nperseg;
  const src = task.npz?.path ?? task.waveforms.join(", ");
  // Per channel read: the preprocessed samples the STFT reads.
  const crops: Float64Array[] = [];
  // With rotation: the instant of the vertical's first crop sample, ms.
  let gridStart = 0;
  for (let c = 0; c < readCodes.length; c++) {
    const full = traces[c];
    const what =
      `${full.network}.${full.station}.${full.location}.${full.channel} of sample ${task.id}`;
    checkRateCoversBand(full.samplingRate, config, `${what} (${src})`);
    const fullEnd = full.startTime + (full.data.length - 1) * 1000 / full.samplingRate;
    if (tref < full.startTime || tref > fullEnd) {
      // A time outside the file's data is named with the file's span; one inside it but
      // outside the trace around it falls in a gap. A regular window or a trigger has no pick.
      const iso = (t: number) => new Date(t).toISOString();
      const outside = dataSpan !== null && (tref < dataSpan[0] || tref > dataSpan[1]);
      const [t0, t1] = outside ? dataSpan! : [full.startTime, fullEnd];
      const windowed = task.window === true;
      // Inside the data: the gap it falls in, from the channel's last data before it to its
      // first after it.
      const mine = decoded.filter((s) =>
        s.network === full.network && s.station === full.station &&
        s.location === full.location && s.channel === full.channel
      );
      const lastBefore = Math.max(...mine.map(segmentEnd).filter((e) => e <= tref));
      const firstAfter = Math.min(...mine.map((s) => s.startTime).filter((b) => b > tref));
      const gap = !outside && Number.isFinite(lastBefore) && Number.isFinite(firstAfter);
      throw new SampleError(
        windowed ? "too short" : "pick outside trace",
        `Cannot place ${what} (${src}): ${windowed ? "window at" : "reference time"} ${
          iso(tref)
        } ` + (gap
          ? `falls in a gap of the data, from ${iso(lastBefore)} to ${iso(firstAfter)}`
          : `is outside ${outside ? "the data of the file, which covers" : "the trace"} ` +
            `${iso(t0)} .. ${iso(t1)}`),
      );
    }
    // A long record (a day-long file) is cut to the crop window plus TRIM_PAD_S on each side
    // first: the taper, the response removal and the filters then see minutes, not a day. An
    // SDS window is cut to its chunk's span instead, preprocessed once for all its windows.
    // Where the data do not cover the chunk (the archive's first or last minutes, a gap), the
    // window is cut on its own, as without chunks: a chunk cut short would have its tapers
    // nearer the window.
    const ps = task.preprocessSpan;
    const chunkTrace = ps ? trimAround(traces[c], ps[0], ps[1]) : null;
    const dt = 1000 / traces[c].samplingRate;
    // A chunk holding a NaN or an infinity (float data) would spread it over all its windows:
    // they are cut on their own too. Checked once per chunk.
    const chunked = chunkTrace !== null && chunkTrace.startTime <= ps![0] + dt &&
      chunkTrace.startTime + (chunkTrace.data.length - 1) * dt >= ps![1] - dt &&
      chunkFinite(task, chunkTrace);
    const own = trimAround(
      traces[c],
      tref - before - marginOf(config) * 1000,
      tref + after + marginOf(config) * 1000,
    );
    const tr = chunked ? chunkTrace : own;
    const end = tr.startTime + (tr.data.length - 1) * 1000 / tr.samplingRate;
    // The checks look at the window's own minutes, chunk or not (the same verdict either way).
    checkFinite(own.data, `${what} (${src})`);
    checkNotFlat(own.data, `${what} (${src})`);
    checkNoFill(own, [tref - before, tref + after], tref, config.gapTolerance, `${what} (${src})`);
    // Clipping in the crop window, in the raw counts (the response removal would smooth it).
    const clip = clipping(
      own.data.subarray(
        Math.max(0, Math.round((tref - before - own.startTime) / dt)),
        Math.max(0, Math.round((tref + after - own.startTime) / dt) + 1),
      ),
    );
    if (clip) {
      clipped.push({
        channel: `${full.network}.${full.station}.${full.location}.${full.channel}`,
        ...clip,
      });
    }
    // Gaps filled and overlaps resolved within the tolerance, counted in the crop window.
    const j = joinsIn(full.joins ?? [], tref - before, tref + after, dt);
    if (j.gaps || j.overlaps) {
      joined.push({
        channel: `${full.network}.${full.station}.${full.location}.${full.channel}`,
        ...j,
      });
    }
    let response = null;
    // What the response came from, for the chunk memo: the epoch's object, or the SAC_PZ file's.
    let responseFrom: object | null = null;
    if (pp.response.remove) {
      const found = await responseFileFor(task, tr, tref, inventories);
      if (!found) {
        // How this input names one (an SDS archive's --stations, a manifest row's column).
        const give = config.input.format === "sds"
          ? "give one with --stations FILE, input.stations; "
          : config.input.format === "manifest"
          ? "name one in the row's response column; "
          : "";
        throw new SampleError(
          "no response",
          `Cannot remove the response of ${what}: no StationXML or SAC pole-zero file given ` +
            `(${give}for data without one, such as PhaseNet NPZ windows, pass --no-response: ` +
            `preprocess.response.remove false)`,
        );
      }
      const { path, file } = found;
      responseFrom = file;
      response = Array.isArray(file) ? findResponse(file, tr, tref, path) : {
        ...file,
        source: `${tr.network}.${tr.station}.${tr.location}.${tr.channel} in ${path}`,
      };
      const rate = Array.isArray(file)
        ? sampleRateWarning(file, response, tr.samplingRate, path)
        : null;
      if (rate) warnings.push(rate);
      const overlap = Array.isArray(file) ? epochOverlapNote(file, tr, tref, response, path) : null;
      if (overlap) warnings.push(overlap);
      // A crop across the start or end of an epoch: the instrument (or its response) may have
      // changed inside it, and the reference time's response is removed from all of it.
      const changes = Array.isArray(file)
        ? epochChangesIn(file, tr, tref - before, tref + after)
        : [];
      if (changes.length) {
        warnings.push(
          `warning: the crop of sample ${task.id} spans a change of the channel epochs of ${tr.network}.${tr.station}.${tr.location}.${tr.channel} in ${path} at ${
            changes.map((t) => new Date(t).toISOString()).join(", ")
          }: the response of the epoch at its reference time, ${
            new Date(tref).toISOString()
          }, is removed from all of it`,
        );
      }
      if (response.disagreement) {
        const where = `${tr.network}.${tr.station}.${tr.location}.${tr.channel} in ${path}`;
        if (pp.response.stageCheck !== "warn") {
          throw new SampleError(
            "bad response",
            `Cannot use the response of ${where}: ${response.disagreement} (with ` +
              `preprocess.response.stageCheck "warn", the sensitivity is used and the run goes on)`,
          );
        }
        // Printed once per channel by runExtract (workers each see the channel anew).
        warnings.push(
          `warning: ${where}: ${response.disagreement}; removing the response as the ` +
            `InstrumentSensitivity says (stageCheck "warn")`,
        );
      }
    }
    // First segment starts so that frame j is centred at tref - before + j·hop/fs. Each
    // channel's crop starts on its own nearest sample (within half a sample of that time), but
    // channels rotated together must be sampled at the same instants: the vertical's crop
    // starts as any other, and the horizontals' resampling starts the fraction of a sample
    // later that puts their samples on the vertical's instants (none when they share them).
    let at = ((tref - tr.startTime) / 1000 - sc.before) * fs - half;
    let s0 = Math.round(at), offset = 0;
    if (rotated && c === 0) gridStart = tr.startTime + s0 * 1000 / fs;
    else if (rotated && c < 3) {
      at = (gridStart - tr.startTime) / 1000 * fs;
      s0 = Math.round(at);
      if (Math.abs(at - s0) > 1e-6) {
        s0 = Math.floor(at);
        offset = (at - s0) / fs;
      }
    }
    let y: Float64Array;
    // The windows of one chunk share its preprocessed trace: the same samples (channel, start,
    // length) of the same files, the same response, the same resampling offset.
    const memoKey = chunked
      ? JSON.stringify([
        task.waveforms,
        `${tr.network}.${tr.station}.${tr.location}.${tr.channel}`,
        tr.startTime,
        tr.samplingRate,
        tr.data.length,
        offset,
        response ? responseId(Array.isArray(responseFrom) ? response : responseFrom!) : null,
      ])
      : null;
    const memo = memoKey === null ? undefined : preprocessed.get(memoKey);
    try {
      y = memo ?? preprocessTrace(tr.data, tr.samplingRate, {
        samplingRate: pp.samplingRate,
        detrend: pp.detrend,
        taper: pp.taper,
        response,
        preFilt: pp.response.preFilt,
        waterLevel: pp.response.waterLevel,
        output: pp.response.output,
        resampleOffset: offset,
        bandpass: pp.bandpass,
        postTaper: pp.postTaper,
      });
    } catch (e) {
      if (e instanceof RangeError) {
        throw new SampleError("bad response", `Cannot preprocess ${what}: ${e.message}`);
      }
      throw e;
    }
    if (!memo) {
      checkFinite(y, `${what} after preprocessing`);
      if (memoKey !== null) preprocessed.set(memoKey, y, y.byteLength);
    }
    if (s0 < 0 || s0 + need > y.length) {
      throw new SampleError(
        "too short",
        // What the STFT frames read: from half a window before the first frame's time to the
        // last sample of the last frame (the last frame may end short of `after`).
        `Cannot crop ${what} (${src}): the window needs ${
          (sc.before + half / fs).toFixed(2)
        } s before and ` +
          `${
            ((need - 1 - half) / fs - sc.before).toFixed(2)
          } s after the reference time: the trace has ` +
          `${((tref - tr.startTime) / 1000).toFixed(2)} s before and ${
            ((end - tref) / 1000).toFixed(2)
          } s after (the STFT frames are centred from spectrogram.before ${sc.before} s ` +
          `before to ${((T - 1) * g.hop / fs - sc.before).toFixed(2)} s after, the last within ` +
          `spectrogram.after ${sc.after} s, --before/--after, and each reads half an STFT ` +
          `window, ${(half / fs).toFixed(2)} s, --window-length, each side)`,
      );
    }
    checkOutsideTapers(tr, y.length, s0, need, config, `${what} (${src})`);
    crops.push(y.subarray(s0, s0 + need));
  }
  // Rotation after the response removal, as ObsPy users do it (remove_response, then
  // rotate("->ZNE")): each channel's own response is removed first, so channels with
  // different gains or transfer functions are combined in the same ground-motion units. The
  // band-pass and tapers after it are the same linear filter on every channel, and the crop
  // lies outside the tapers (checkOutsideTapers), so they commute with the rotation.
  let zne: Float64Array[] | null = null;
  if (rotation) {
    zne = rotateToZne(
      crops.slice(0, 3) as [Float64Array, Float64Array, Float64Array],
      [0, 1, 2].map((k) => ({
        azimuth: rotation.azimuths[k],
        dip: rotation.dips[k],
      })) as [Orientation, Orientation, Orientation],
    );
  }
  const out = new Float32Array(C * F * T);
  const waveform: Float64Array[] = [];
  for (let c = 0; c < C; c++) {
    const letter = codes[c].at(-1)!;
    const k = zne ? "ZNE".indexOf(letter) : -1;
    const x = k >= 0 ? zne![k] : crops[readCodes.indexOf(codes[c])];
    const t = k >= 0 ? traces[0] : traces[readCodes.indexOf(codes[c])];
    const what = `${t.network}.${t.station}.${t.location}.${codes[c]} of sample ${task.id}` +
      (k >= 0 ? ` (rotated from ${rotation!.channels.join(", ")})` : "");
    if (options.keepWaveform) waveform.push(Float64Array.from(x));
    const s = spectrogram(x, fs, {
      nperseg: g.nperseg,
      noverlap: g.noverlap,
      nfft: g.nfft,
      window,
    });
    const nt = s.times.length;
    const floor = psdFloor(s.psd, g.k0, F, T, nt, sc.scaling, `${what} (${src})`, g.freqs, g.times);
    for (let f = 0; f < F; f++) {
      const row = (g.k0 + f) * nt;
      for (let t = 0; t < T; t++) {
        let v = s.psd[row + t];
        if (sc.scaling === "log10") v = Math.log10(Math.max(v, floor));
        else if (sc.scaling === "db") v = 10 * Math.log10(Math.max(v, floor));
        out[(c * F + f) * T + t] = v;
      }
    }
  }
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) {
      throw new SampleError(
        "nan",
        `Cannot use sample ${task.id}: its spectrogram holds ${out[i]} at element ${i}`,
      );
    }
  }
  // Where the station is: the first channel's StationXML epoch at the reference time, where
  // the sample has a StationXML (a lookup the response removal has usually made already).
  const coords = task.npz ? null : await coordinatesOf(task, traces[0], tref, inventories);
  return {
    data: out,
    referenceTime: tref,
    recordedRate: Math.min(...traces.map((t) => t.samplingRate)),
    ...(warnings.length ? { warnings } : {}),
    ...(clipped.length ? { clipped } : {}),
    ...(joined.length ? { joined } : {}),
    ...(options.keepWaveform ? { waveform } : {}),
    ...(rotation ? { rotation } : {}),
    ...(coords ? { coords } : {}),
  };
}

/**
 * A channel's coordinates from the sample's StationXML at a time, or null without one (no
 * response file, a SAC pole-zero file, no epoch of the channel then, or no latitude and
 * longitude in it).
 */
async function coordinatesOf(
  task: SampleTask,
  id: ChannelId,
  tref: number,
  inventories: ResponseSource,
): Promise<Coordinates | null> {
  const rf = await responseFileFor(task, id, tref, inventories).catch(() => null);
  return rf && Array.isArray(rf.file) ? findCoordinates(rf.file, id, tref) : null;
}

/** One sample with the waveform its spectrogram was computed from (see {@linkcode inspectSample}). */
export interface InspectedSample {
  /** The sample's identity as `samples.csv` would record it. */
  info: SampleInfo;
  /** Channel codes, one per component. */
  channels: string[];
  /** Units of {@linkcode InspectedSample.waveform}: `m`, `m/s`, `m/s**2` or `counts`. */
  units: string;
  /** Sampling rate of the waveform, Hz (the config's target rate). */
  samplingRate: number;
  /** `[C][S]`: the preprocessed samples the STFT read, per component. */
  waveform: Float64Array[];
  /**
   * `[S]`, s relative to the reference time: the time each waveform sample stands for (each
   * component's crop starts on its nearest sample, so within half a sample of this).
   */
  waveformTimes: Float64Array;
  /** `[C, F, T]` spectrogram, as in `spectrograms.npy`. */
  spectrogram: Float32Array;
  /** Where Z, N and E were rotated from other channels: which, and how. */
  rotation?: Rotation;
}

/**
 * Runs one sample of an extraction by its id, keeping the preprocessed waveform, so that the
 * chain (response removal, resampling, filters, crop) can be checked against other tools.
 *
 * Samples at triggers take the triggers detected by the extraction from the dataset
 * (`options.dataset`, else `config.output`), rather than detect them again.
 *
 * @param config The extract config.
 * @param id The sample's id (as `samples.csv` and `failures.csv` list it).
 * @param options `dataset`: the dataset the config made (see {@linkcode inspectSamples}).
 * @returns the sample's spectrogram and the waveform it was computed from.
 * @throws {UserError} when no sample has that id, or the sample fails (naming the reason).
 */
export async function inspectSample(
  config: ExtractConfig,
  id: string,
  options: { dataset?: string | null } = {},
): Promise<InspectedSample> {
  const [r] = await inspectSamples(config, [id], {
    dataset: options.dataset ?? config.output,
  });
  if ("reason" in r) {
    throw new UserError(
      r.reason === "not in input"
        ? `Cannot inspect sample ${id}: ${r.message}`
        : `Cannot inspect sample ${id}: ${r.reason}: ${r.message}`,
    );
  }
  return r;
}

/** A sample {@linkcode inspectSamples} could not rebuild, and why. */
export interface InspectFailure {
  /** The sample's id. */
  id: string;
  /** `not in input`, or the {@linkcode SampleError} reason (`unreadable`, `too short`...). */
  reason: string;
  /** What went wrong, naming the file or channel. */
  message: string;
}

/**
 * {@linkcode inspectSample} for a few samples of a large input: the task list is built once,
 * and only the samples asked for are read and processed (each as `extract` did it).
 *
 * @param config The extract config.
 * @param ids The samples' ids.
 * @param options `dataset`: the dataset the config made, whose kept detections
 *   (`detections/`, {@linkcode DETECTIONS_DIR}) are used instead of detecting the triggers again
 *   (only read; days not there are detected).
 * @returns per id, in order, the sample with its waveform, or why it could not be rebuilt.
 * @throws {UserError} when the input itself cannot be read (a manifest or directory missing).
 */
export async function inspectSamples(
  config: ExtractConfig,
  ids: readonly string[],
  options: { dataset?: string | null } = {},
): Promise<(InspectedSample | InspectFailure)[]> {
  const tasks = await buildTasks({ ...config, limit: null, subset: "first" }, {
    quiet: true,
    detectionCache: options.dataset
      ? { dir: join(options.dataset, DETECTIONS_DIR), write: false }
      : null,
  });
  nameTriggerEvents(tasks, config);
  const byId = new Map<string, SampleTask>();
  for (const t of tasks) if (!byId.has(t.id)) byId.set(t.id, t);
  const g = spectrogramGeometry(config);
  const inventories = new InventoryCache();
  const out: (InspectedSample | InspectFailure)[] = [];
  for (const id of ids) {
    const task = byId.get(id);
    if (!task) {
      out.push({
        id,
        reason: "not in input",
        message: `the input lists no sample with that id: found ${tasks.length} samples, e.g. ${
          tasks.slice(0, 3).map((t) => t.id).join(", ")
        }`,
      });
      continue;
    }
    let r: ExtractedSample;
    try {
      r = await processSample(task, config, inventories, g, { keepWaveform: true });
    } catch (e) {
      if (e instanceof SampleError) {
        out.push({ id, reason: e.reason, message: e.message });
        continue;
      }
      throw e;
    }
    out.push(inspected(task, config, g, r));
  }
  return out;
}

/** A processed sample as {@linkcode InspectedSample}: its units and the waveform's time axis. */
function inspected(
  task: SampleTask,
  config: ExtractConfig,
  g: SpectrogramGeometry,
  r: ExtractedSample,
): InspectedSample {
  const pp = config.preprocess;
  const units = pp.response.remove
    ? { DISP: "m", VEL: "m/s", ACC: "m/s**2" }[pp.response.output]
    : "counts";
  const fs = g.samplingRate, half = Math.floor(g.nperseg / 2);
  const n = r.waveform![0].length;
  const t0 = -config.spectrogram.before - half / fs;
  return {
    info: { ...sampleInfo(placedTask(task, r.referenceTime), config.components), ...r.coords },
    channels: channelCodes(task, config.components),
    units,
    samplingRate: fs,
    waveform: r.waveform!,
    waveformTimes: new Float64Array(n).map((_, i) => t0 + i / fs),
    spectrogram: r.data,
    ...(r.rotation ? { rotation: r.rotation } : {}),
  };
}

/** The largest finite float32, and the smallest normal one. */
const F32_MAX = 3.4028234663852886e38, F32_MIN_NORMAL = 1.1754943508222875e-38;

/**
 * The floor a cropped PSD is clipped to before its logarithm, and the checks that it can be
 * stored as float32. The floor is 1e-30 (−300 dB), or 300 dB below the crop's peak where that
 * peak is below 1: data in small units (1e-30 m/s) keep their spectrogram instead of flattening
 * to a constant −300 dB. A PSD that overflowed float64 (amplitudes beyond ~1e150), a crop with
 * no power at all, and for the linear `psd` scaling a peak beyond float32's range or below its
 * normal range (all but zeros after the cast), are refused, naming the channel and the bin.
 *
 * @returns the floor.
 * @throws {SampleError} "out of range".
 */
function psdFloor(
  psd: Float64Array,
  k0: number,
  F: number,
  T: number,
  nt: number,
  scaling: string,
  what: string,
  freqs: Float64Array,
  times: Float64Array,
): number {
  let peak = 0, pf = 0, pt = 0;
  for (let f = 0; f < F; f++) {
    for (let t = 0; t < T; t++) {
      const v = psd[(k0 + f) * nt + t];
      if (!(v <= peak)) [peak, pf, pt] = [v, f, t]; // NaN and Infinity win, to be reported
    }
  }
  const at = `${freqs[pf].toPrecision(4)} Hz, ${times[pt].toFixed(2)} s`;
  if (!Number.isFinite(peak)) {
    throw new SampleError(
      "out of range",
      `Cannot use ${what}: its PSD is ${peak} at ${at}: the amplitudes overflow float64 when squared`,
    );
  }
  if (peak === 0) {
    throw new SampleError("flat", `Cannot use ${what}: its PSD is 0 throughout the crop`);
  }
  if (scaling === "psd" && (peak > F32_MAX || peak < F32_MIN_NORMAL)) {
    throw new SampleError(
      "out of range",
      `Cannot use ${what}: its PSD peaks at ${peak.toPrecision(3)} (${at}), ${
        peak > F32_MAX
          ? "beyond float32's largest value 3.4e38"
          : "below float32's normal range (1.2e-38)"
      }, so the spectrogram cannot be stored: use "scaling": "db" or "log10" (--scaling), or data in other units`,
    );
  }
  return Math.min(1e-30, peak * 1e-30);
}

/**
 * The span an SDS window's chunk is preprocessed over, or undefined where windows are
 * preprocessed one by one (`chunk` 0, or tapers of 45 % or more). The windows whose times fall
 * in `[start + i·chunk, start + (i + 1)·chunk)` share chunk i: their crops (with half an STFT
 * window each side) and a margin `p` each side, wide enough that the tapers (a fraction `f` of
 * the whole) end TRIM_PAD_S before the nearest crop: p(1 − 2f) ≥ f·(chunk + crop) + TRIM_PAD_S.
 *
 * @param config The config.
 * @param w Its windows.
 * @returns the span of a window time's chunk (ms), or undefined.
 */
export function windowChunks(
  config: ExtractConfig,
  w: SdsWindows,
): ((t: number) => [number, number]) | undefined {
  const f = Math.max(config.preprocess.taper, config.preprocess.postTaper);
  if (!(w.chunk > 0) || f >= 0.45) return undefined;
  const g = spectrogramGeometry(config), sc = config.spectrogram;
  const half = g.nperseg / 2 / g.samplingRate;
  const [b, a] = [(sc.before + half) * 1000, (sc.after + half) * 1000];
  const trim = marginOf(config) * 1000;
  const margin = (c: number) => Math.max(trim, (f * (c + a + b) + trim) / (1 - 2 * f));
  // A chunk's preprocessed trace must fit one item of the cache that keeps it for the chunk's
  // windows (PREPROCESSED_ITEM_BYTES): one that does not was preprocessed again for every
  // window (at 4 kHz, an 1800 s chunk: 252 s for 38 windows, against 30 s cut one by one). The
  // chunk is halved until it fits, and where a halved chunk would be shorter than two steps
  // (or a second) its windows are cut on their own. (Chunked windows equal windows cut alone to
  // about 1e-9, not bit for bit; a chunk that fits is used as given.)
  const bytes = (c: number) => (c + a + b + 2 * margin(c)) / 1000 * g.samplingRate * 8;
  let c = w.chunk * 1000;
  while (c > 0 && bytes(c) > PREPROCESSED_ITEM_BYTES) c = Math.floor(c / 2);
  if (c < w.chunk * 1000 && (c < 2 * (w.step ?? 0) * 1000 || c < 1000)) return undefined;
  const p = margin(c);
  const { start } = windowSpan(w);
  return (t) => {
    const c0 = start + Math.floor((t - start) / c) * c;
    return [c0 - b - p, c0 + c + a + p];
  };
}

/**
 * Builds the task list of a config's input.
 *
 * With `limit` N, the list runs to the Nth sample that can be tried: one whose files exist and
 * whose input row is not already known to fail (a bad row or time, no reference time, a channel
 * missing from an SDS archive). The rows skipped on the way stay in the list, so that they fail
 * with their reason in failures.csv, but do not count: a catalogue with missing files still
 * gives N samples to extract. A sample that fails while processed (gap, flat, too short...)
 * counts, since only processing it tells. With `subset: "random"` the N are drawn at random
 * instead ({@linkcode randomSubset}).
 *
 * SDS triggers are detected first, channel by channel on `workers` Web Workers, with a
 * progress bar (`detect`) unless `quiet`; with `detectionCache`, the days detected before are
 * taken from it.
 *
 * @param config The config.
 * @param options `quiet` hides the detection's progress bar; `detectionCache`: where detected
 *   days are kept; `onTriggers`: with a coincidence, called with the triggers found before it;
 *   `onLtaTooLong`: where the LTA is longer than every continuous stretch of the channels' data,
 *   called with the longest, s.
 * @returns the tasks (up to the `limit`th that can be tried, when set).
 */
export async function buildTasks(
  config: ExtractConfig,
  options: {
    quiet?: boolean;
    detectionCache?: DetectionCache | null;
    onTriggers?: (found: number) => void;
    onLtaTooLong?: (longest: number) => void;
  } = {},
): Promise<SampleTask[]> {
  const inp = config.input;
  let tasks: SampleTask[];
  if (inp.format === "manifest") tasks = await readManifest(inp.path, inp.picks);
  else if (inp.format === "esec") {
    tasks = await esecTasks(inp.dir, config.components !== "channel", inp.label);
  } else if (inp.format === "sds") {
    // A missing response file would fail every sample, one by one after trigger detection,
    // and be named only in failures.csv: refused up front, as a missing --picks is.
    const stationList = inp.stations ? stationFiles(inp.stations) : [];
    for (const f of stationList) {
      const why = await Deno.stat(f).then(() => notRegularFile(f), (e) => readFailure(e));
      if (why) {
        throw new UserError(
          `Cannot read the stations ${f} (--stations, input.stations): ${why}: expected a ` +
            `StationXML or SAC pole-zero file`,
        );
      }
    }
    // The day files that hold the crop window with its half STFT windows and the minutes
    // processSample keeps around it.
    const g = spectrogramGeometry(config), sc = config.spectrogram;
    const pad = g.nperseg / 2 / g.samplingRate + marginOf(config);
    const codesOf = (channel: string) => channelCodes({ channel } as SampleTask, config.components);
    const span = [(sc.before + pad) * 1000, (sc.after + pad) * 1000] as const;
    // A station without N or E may have Z, 1 and 2 to rotate, and one without Z, N or E
    // U, V and W, or 1, 2 and 3 (rotationChannels).
    const alternates = (code: string) => {
      const letter = code.at(-1)!;
      if (config.rotate === "never" || !"ZNE".includes(letter)) return [];
      return (letter === "Z" ? ["U", "V", "W", "1", "2", "3"] : ["Z", "1", "2", "U", "V", "W", "3"])
        .map((c) => code.slice(0, -1) + c);
    };
    // Triggers are detected channel by channel on the extraction's workers.
    const nDetect = workerCount(config.workers);
    const pool = inp.windows?.trigger ? detectionPool(nDetect) : null;
    let progress: Progress | undefined;
    tasks = inp.windows
      ? await sdsWindowTasks(
        inp.windows,
        inp.stations,
        { dir: inp.dir, codesOf, alternates },
        span,
        [sc.before, sc.after],
        {
          oneChannelPerBand: config.components !== "channel",
          chunkSpan: windowChunks(config, inp.windows),
          detect: pool
            ? (codes, start, end, onDay) =>
              pool.detect({
                dir: inp.dir,
                codes,
                start,
                end,
                spec: triggerDefaults(inp.windows!.trigger!, config.spectrogram),
                gapTolerance: config.gapTolerance,
                cache: options.detectionCache ?? null,
              }, onDay)
            : undefined,
          detectConcurrency: Math.max(1, nDetect),
          onTriggers: options.onTriggers,
          onLtaTooLong: options.onLtaTooLong,
          onDetected: (done, total, kept) => {
            const note = kept ? `${kept} kept from an earlier run` : undefined;
            if (done === 0) progress = new Progress("detect", total, { quiet: options.quiet });
            else progress?.tick(1, note);
            if (done === total) {
              progress?.done(`${total} channel-day(s)${note ? `, ${note}` : ""}`);
            }
          },
        },
      ).finally(() => pool?.close())
      : await sdsTasks(inp.dir, inp.picks!, inp.stations, inp.phase, codesOf, span, alternates);
    // Several response files: each channel takes the first that holds it (as a manifest row's).
    for (const t of stationList.length ? tasks : []) {
      if (t.response !== inp.stations) continue;
      t.response = stationList[0];
      if (stationList.length > 1) t.responses = stationList;
    }
  } else tasks = await npzTasks(inp.dir, inp.samplingRate);
  uniqueIds(tasks);
  if (!config.limit) return tasks;
  if (config.subset === "random") return randomSubset(tasks, config.limit, config.subsetSeed);
  let end = 0;
  for (let tried = 0; end < tasks.length && tried < config.limit; end++) {
    if (await canTry(tasks[end])) tried++;
  }
  return tasks.slice(0, end);
}

/**
 * Makes every task's id one word and unique, in place: white space becomes `_`, and an id seen
 * before gets `_2`, `_3`, ... (as events.xml names events). Ids built from parts can collide:
 * two catalogues' events whose ids end alike (`smi:a/event/42`, `smi:b/event/42`) give the
 * same `42.NET.STA`, an NPZ list may name a file twice; a dataset with a repeated id is not
 * opened (its labels, events and outputs are keyed by id), so it must not be written.
 *
 * @param tasks The tasks, in input order (the first keeps its id).
 * @example
 * ```ts
 * import { uniqueIds } from "./extract.ts";
 * const t = [{ id: "42.XX.A" }, { id: "42.XX.A" }, { id: "a b" }] as { id: string }[];
 * uniqueIds(t as never);
 * if (t.map((x) => x.id).join() !== "42.XX.A,42.XX.A_2,a_b") throw new Error();
 * ```
 */
export function uniqueIds(tasks: { id: string }[]): void {
  const word = (id: string) => id.replace(/\s+/g, "_");
  // A repeat takes the first `_n` that no task holds as its own id and none took before.
  const own = new Set(tasks.map((t) => word(t.id)));
  const used = new Set<string>();
  for (const t of tasks) {
    const base = word(t.id);
    let id = base;
    for (let n = 2; used.has(id) || (id !== base && own.has(id)); n++) id = `${base}_${n}`;
    used.add(id);
    t.id = id;
  }
}

/**
 * `subset: "random"`: `limit` of the tasks that can be tried ({@linkcode canTry}), drawn
 * uniformly without replacement by a generator seeded with `seed`, and every task that cannot
 * be tried (so that failures.csv lists it with its reason), all in input order. All of them
 * when fewer can be tried. The same input and seed give the same subset.
 */
async function randomSubset(
  tasks: SampleTask[],
  limit: number,
  seed: number,
): Promise<SampleTask[]> {
  const ok: number[] = [];
  const keep = new Array<boolean>(tasks.length).fill(true);
  for (const [i, t] of tasks.entries()) {
    if (await canTry(t)) {
      ok.push(i);
      keep[i] = false;
    }
  }
  const order = new Rng(seed).permutation(ok.length);
  for (let j = 0; j < Math.min(limit, ok.length); j++) keep[ok[order[j]]] = true;
  return tasks.filter((_, i) => keep[i]);
}

/**
 * The directory of a dataset made at triggers that keeps each channel's detections by day
 * (lib/io/sds_triggers.ts {@linkcode DetectionCache}): `--resume`, `report` and `--inspect`
 * take them from there instead of detecting again. During the extraction it is
 * `.NAME.detections` beside the dataset (kept if the run stops, and taken up by the next run).
 */
export const DETECTIONS_DIR = "detections";

/**
 * Where an extraction into `out` keeps its detections until it is finished:
 * `.NAME.detections` beside it.
 *
 * @param out The dataset directory.
 * @returns the path.
 */
export function detectionsPath(out: string): string {
  return join(dirname(out), `.${basename(out)}.detections`);
}

/** Seconds between consecutive onsets of one event, without a coincidence window. */
export const EVENT_WINDOW_S = 10;

/** The tasks of an extraction at triggers, with the events they associate into. */
export interface TriggerEvents {
  /** The tasks with a trigger, in task order. */
  triggers: SampleTask[];
  /** The events (`associateTriggers` in lib/cluster/events.ts), by start. */
  events: NetworkEvent[];
  /** Each trigger's event index. */
  eventOf: Int32Array;
}

/**
 * Associates the triggers of an extraction at STA/LTA triggers into events: the triggers of any
 * station whose reference times follow one another within `window` s.
 *
 * @param tasks The tasks (those without a trigger are left out).
 * @param window Seconds between consecutive onsets of one event.
 * @returns the triggers and their events.
 */
export function triggerEvents(tasks: readonly SampleTask[], window: number): TriggerEvents {
  const triggers = tasks.filter((t) => t.detection);
  const { events, eventOf } = associateTriggers(
    triggers.map((t) => ({
      network: t.network,
      station: t.station,
      time: t.referenceTime!,
      channel: [t.network, t.station, t.location, t.channel].join("."),
    })),
    window,
  );
  return { triggers, events, eventOf };
}

/**
 * Names each trigger task's event (its `event`): the event {@linkcode triggerEvents} associates
 * it into with the config's coincidence window, as triggers.csv gives it. Tasks without a
 * detection are left as they are.
 *
 * @param tasks The tasks (changed in place).
 * @param config The extract config.
 * @returns the triggers and their events (for triggers.csv and detections.xml), or null where no
 *   task is a trigger.
 */
export function nameTriggerEvents(
  tasks: SampleTask[],
  config: ExtractConfig,
): TriggerEvents | null {
  if (!tasks.some((t) => t.detection)) return null;
  const co = config.input.format === "sds" ? config.input.windows?.trigger?.coincidence : null;
  const te = triggerEvents(tasks, co?.window ?? EVENT_WINDOW_S);
  te.triggers.forEach((t, i) => t.event = te.events[te.eventOf[i]].id);
  return te;
}

/**
 * The triggers as a CSV (`triggers.csv`): one row per trigger with its sample id, its event,
 * reference time (`on`: the AIC pick, or the trigger's onset), the trigger's onset and end
 * (ISO 8601 UTC, to the microsecond where a time has a part below the millisecond), its length
 * (s, to the millisecond: onset to end), largest STA/LTA ratio, label, and `ok`
 * where its sample was written, else the failure's reason.
 *
 * @param te The triggers and their events ({@linkcode triggerEvents}).
 * @param failures The failed samples.
 * @returns the CSV text.
 */
export function triggersCsv(te: TriggerEvents, failures: readonly Failure[]): string {
  const failed = new Map(failures.map((f) => [f.id, f.reason]));
  return formatCsv([
    ["id", "event", "on", "trigger", "off", "duration", "peak", "label", "status"],
    ...te.triggers.map((t, i) => [
      t.id,
      te.events[te.eventOf[i]].id,
      isoExact(t.referenceTime!),
      isoExact(t.detection!.trigger),
      isoExact(t.detection!.off),
      ((t.detection!.off - t.detection!.trigger) / 1000).toFixed(3),
      t.detection!.peak.toFixed(2),
      t.label ?? "",
      failed.get(t.id) ?? "ok",
    ]),
  ]);
}

/**
 * The triggers as QuakeML 1.2 (`detections.xml`): one event per associated event (as in
 * `triggers.csv`), without origin or type, with an automatic P pick per trigger at its
 * reference time (the AIC pick or the trigger's onset), on the sample's channel. `extract
 * --picks detections.xml` cuts the same samples from the archive again, and ObsPy or SeisComP
 * read it as a detection list.
 *
 * @param te The triggers and their events ({@linkcode triggerEvents}).
 * @returns the XML text.
 */
export function detectionsXml(te: TriggerEvents): string {
  return eventsToQuakeMl(
    te.events,
    te.triggers.map((t) => ({
      network: t.network,
      station: t.station,
      location: t.location,
      channel: t.channel,
      time: t.referenceTime!,
    })),
  );
}

/** Whether a task's files exist and its input row is not already known to fail. */
async function canTry(task: SampleTask): Promise<boolean> {
  if (task.error) return false;
  const files = task.npz ? [task.npz.path] : task.waveforms;
  if (files.length === 0) return false;
  for (const f of files) {
    const info = await Deno.stat(f).catch(() => null);
    if (!info?.isFile) return false;
  }
  return true;
}

/** A failed sample. */
export interface Failure {
  /** Sample id. */
  id: string;
  /** Why it failed (a {@linkcode FailureReason}). */
  reason: string;
  /** What went wrong. */
  message: string;
}

/** Result of {@linkcode runExtract}. */
export interface ExtractSummary {
  /** Dataset directory written. */
  out: string;
  /**
   * Samples to extract: the input's, or with `limit` up to the `limit`th that can be tried
   * (the rows with missing files before it included, as failures).
   */
  total: number;
  /** Samples written. */
  ok: number;
  /** The failed samples. */
  failures: Failure[];
  /** Failures per reason. */
  byReason: Record<string, number>;
  /** Wall time, s. */
  seconds: number;
  /** Shape of the dataset written, [N, C, F, T]. */
  shape: [number, number, number, number];
  /** Input samples (written or failed) taken over from an interrupted run, 0 when it started afresh. */
  resumed: number;
  /** Samples written whose Z, N and E were rotated from other channels (`rotate`). */
  rotated: number;
  /**
   * Samples written that were recorded at a rate whose band ends below the crop's
   * `spectrogram.fmax` ({@linkcode RECORDED_BAND} × the rate), by that rate (Hz, as text to 6
   * significant digits, {@linkcode formatHz}): their
   * rows above it hold no signal, so that clusters may follow the sampling rate. Empty when
   * there are none.
   */
  aboveNyquist: Record<string, number>;
  /**
   * The channels of the samples written whose raw samples in the crop window look clipped
   * ({@linkcode clipping}), as `clipped.csv` lists them. Empty when there are none.
   */
  clipped: ClippedSample[];
  /**
   * The channels of the samples written whose crop window holds gaps filled, or overlaps of
   * differing samples resolved, within `gapTolerance`, as `joined.csv` lists them. Empty when
   * there are none.
   */
  joined: JoinedSample[];
}

/** Options of {@linkcode runExtract}. */
export interface ExtractOptions {
  /** Replace an existing dataset, or start an interrupted one over. */
  force?: boolean;
  /**
   * Hide the progress bar, which runExtract otherwise draws on stderr as `cli.ts extract` does
   * (on a terminal one line redrawn; elsewhere a line at each tenth of the samples).
   */
  quiet?: boolean;
  /** Continue an interrupted extraction into the same `out` from its last checkpoint. */
  resume?: boolean;
  /** Seconds between checkpoints of the unfinished dataset (default 10; 0: after every sample). */
  checkpointSeconds?: number;
  /** Stop with an error after this many samples of this call, as an interruption would (tests). */
  stopAfter?: number;
  /**
   * The response files' cache (default: a new one). The main thread parses each file once
   * into it; workers ask it for their channels.
   */
  inventories?: InventoryCache;
  /**
   * At triggers: another dataset made at triggers whose kept detections (`detections/`) start
   * this one's; its days detected with the same trigger settings from the same day files are
   * not detected again (another crop or spectrogram of the same archive).
   */
  detectionsFrom?: string;
}

type WorkerReply =
  | {
    index: number;
    ok: true;
    data: Float32Array;
    referenceTime: number;
    rotation?: Rotation;
    coords?: Coordinates;
    recordedRate: number;
    warnings?: string[];
    clipped?: ClippedChannel[];
    joined?: JoinedChannel[];
  }
  | { index: number; ok: false; reason: string; message: string };

/** What a checkpoint of an extraction records besides the samples: where to go on. */
interface ExtractState {
  /** Tasks done (written or failed), in task order. */
  next: number;
  /** The failures among them. */
  failures: Failure[];
  /** The samples written whose Z, N, E were rotated, with how (absent in older checkpoints). */
  rotations?: RotatedSample[];
  /** {@linkcode ExtractSummary.aboveNyquist} so far (absent in older checkpoints). */
  aboveNyquist?: Record<string, number>;
  /** {@linkcode ExtractSummary.clipped} so far (absent in older checkpoints). */
  clipped?: ClippedSample[];
  /** {@linkcode ExtractSummary.joined} so far (absent in older checkpoints). */
  joined?: JoinedSample[];
}

/** A sample whose Z, N and E were rotated from other channels (`rotations.csv`). */
export interface RotatedSample extends Rotation {
  /** Sample id. */
  id: string;
}

/**
 * Runs a whole extraction into a dataset directory. The unfinished dataset lives in
 * `.NAME.partial` beside `out` and is checkpointed every `checkpointSeconds`; an
 * interruption (Ctrl-C, a crash, a killed process) keeps it, and `resume` continues from
 * its last checkpoint to the same dataset an uninterrupted run writes. The finished
 * directory is renamed into place at the end, so `out` is never half-written.
 *
 * @param config The config.
 * @param out Output directory.
 * @param options `force` replaces an existing directory (or an interrupted one); `resume`
 *   continues an interrupted one; `quiet` hides the progress bar.
 * @returns counts, failures by reason, time and the output shape.
 * @throws {Deno.errors.AlreadyExists} when `out` exists without `force`.
 * @throws {UserError} when an interrupted extraction is in the way without `resume` or
 *   `force`, or was made with other settings or another input list.
 */
export async function runExtract(
  config: ExtractConfig,
  out: string,
  options: ExtractOptions = {},
): Promise<ExtractSummary> {
  // Triggers are kept by day beside the dataset while it is made: a run stopped during (or
  // after) detection takes them up again.
  const atTriggers = config.input.format === "sds" && !!config.input.windows?.trigger;
  const detections = atTriggers ? detectionsPath(out) : null;
  if (!detections) {
    if (options.detectionsFrom) {
      throw new UserError(
        `Cannot take the detections of ${options.detectionsFrom}: this extraction is not at ` +
          `triggers (input.windows.trigger)`,
      );
    }
    return await extractInto(config, out, options, null);
  }
  if (options.detectionsFrom) await seedDetections(options.detectionsFrom, detections);
  else if (
    options.force &&
    await Deno.stat(join(out, DETECTIONS_DIR)).then((s) => s.isDirectory, () => false)
  ) {
    // Replacing a dataset made at triggers (the hourly rerun of a growing archive) starts from
    // its kept detections, as --detections OUT would: only days whose key differs (changed day
    // files, other settings) are detected again.
    await seedDetections(out, detections);
  }
  keepOnInterrupt(detections, () => {
    try {
      const n = new Set(
        [...Deno.readDirSync(detections)].map((e) => detectionCacheChannel(e.name)),
      ).size;
      return n
        ? `note: kept the triggers detected so far (${n} channel(s)) in ${detections}: ` +
          `the same extraction takes them up`
        : null;
    } catch {
      return null;
    }
  });
  try {
    return await extractInto(config, out, options, detections);
  } finally {
    keepOnInterrupt(detections, null);
  }
}

/**
 * Copies a dataset's kept detections into `to` (the channels `to` has already stay).
 *
 * @throws {UserError} when the dataset has none.
 */
async function seedDetections(dataset: string, to: string): Promise<void> {
  const from = join(dataset, DETECTIONS_DIR);
  let names: string[];
  try {
    names = [...Deno.readDirSync(from)]
      .filter((e) => e.isFile && detectionCacheChannel(e.name) !== null).map((e) => e.name);
  } catch (e) {
    // A file there (not a directory) gave the system's 'Not a directory (os error 20): readdir'.
    if (e instanceof Deno.errors.NotADirectory) {
      throw new UserError(
        `Cannot take the detections of ${dataset}: ${from} is not a directory: expected the ` +
          `${DETECTIONS_DIR}/ of a dataset made at triggers`,
      );
    }
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    throw new UserError(
      `Cannot take the detections of ${dataset}: it has no ${DETECTIONS_DIR}/ (not a dataset ` +
        `made at triggers, or made before detections were kept)`,
    );
  }
  await Deno.mkdir(to, { recursive: true });
  for (const name of names) {
    const dest = join(to, name);
    if (await Deno.stat(dest).then(() => true, () => false)) continue;
    await writeFileAtomic(dest, await Deno.readFile(join(from, name)));
  }
}

/**
 * Why an extraction has no samples to try, for its error: with STA/LTA triggers, that the
 * detector found none, on which channels, over which span and with which settings (the usual
 * cause: an ON ratio too high for the data), or that the network coincidence kept none of the
 * `found` triggers.
 *
 * @param config The config.
 * @param found With a coincidence: the triggers found before it.
 * @param kept Where the detections are kept for the next run (`.NAME.detections`), or null.
 * @param longest Where the LTA is longer than every continuous stretch of the data (the ratio was
 *   never formed, whatever ON): the longest, s; else null.
 * @returns the message.
 */
export function noSamplesMessage(
  config: ExtractConfig,
  found = 0,
  kept: string | null = null,
  longest: number | null = null,
): string {
  const w = config.input.format === "sds" ? config.input.windows : null;
  if (w?.trigger) {
    const t = w.trigger;
    const settings = `STA/LTA (${t.method}, STA ${t.sta} s, LTA ${t.lta} s, ON ${t.on}, ` +
      `OFF ${t.off})`;
    const keptNote = kept
      ? `; the detections are kept in ${kept} for the next run (which detects again only the ` +
        `days whose trigger settings or day files differ)`
      : "";
    if (t.coincidence && found > 0) {
      return `Cannot extract: ${settings} found ${found} trigger${found > 1 ? "s" : ""} on ` +
        `${w.channels.join(", ")} from ${w.start} to ${w.end}, and the coincidence of ` +
        `${t.coincidence.stations} stations within ${t.coincidence.window} s kept none: lower ` +
        `the stations needed or widen the window (--coincidence N/S), or lower ON (--trigger ` +
        `STA/LTA/ON/OFF) for more triggers at each station${keptNote}`;
    }
    const co = t.coincidence
      ? `, ${t.coincidence.stations} stations within ${t.coincidence.window} s`
      : "";
    if (longest !== null) {
      return `Cannot extract: STA/LTA (${t.method}, STA ${t.sta} s, LTA ${t.lta} s, ON ${t.on}, ` +
        `OFF ${t.off}${co}) found no triggers on ${w.channels.join(", ")} from ${w.start} to ` +
        `${w.end}: the LTA of ${t.lta} s is longer than any continuous stretch of data there ` +
        `(the longest: ${+longest.toFixed(2)} s), so the ratio was never formed: use a shorter ` +
        `LTA (--trigger STA/LTA/ON/OFF)${keptNote}`;
    }
    return `Cannot extract: STA/LTA (${t.method}, STA ${t.sta} s, LTA ${t.lta} s, ON ${t.on}, ` +
      `OFF ${t.off}${co}) found no triggers on ${w.channels.join(", ")} from ${w.start} to ` +
      `${w.end}: lower ON (--trigger STA/LTA/ON/OFF)${
        t.coincidence ? " or the stations needed" : ""
      }, ` +
      `or check that the archive holds these channels in that span${keptNote}`;
  }
  return `Cannot extract: the input lists no samples`;
}

/** {@linkcode runExtract}, its detections kept in `detections` (null: not at triggers). */
async function extractInto(
  config: ExtractConfig,
  out: string,
  options: ExtractOptions,
  detections: string | null,
): Promise<ExtractSummary> {
  const g = spectrogramGeometry(config);
  // An output in the way is refused before the tasks are built (trigger detection can take
  // long on a large archive), as DatasetWriter.create refuses it after.
  if (options.force) await removeStrayProgress(out);
  await checkOutputTarget(out, { force: options.force, marker: "meta.json" });
  let found = 0, longest: number | null = null;
  const tasks = await buildTasks(config, {
    quiet: options.quiet,
    detectionCache: detections ? { dir: detections, write: true } : null,
    onTriggers: (n) => found = n,
    onLtaTooLong: (s) => longest = s,
  });
  if (tasks.length === 0) {
    // Kept for the next run, as after Ctrl-C: said so, not left beside the output without a word.
    const kept = detections &&
        await Deno.stat(detections).then((s) => s.isDirectory, () => false)
      ? detections
      : null;
    throw new UserError(noSamplesMessage(config, found, kept, longest));
  }
  const te = nameTriggerEvents(tasks, config);
  const C = config.components === "channel" ? 1 : config.components.length;
  const componentNames = config.components === "channel" ? ["channel"] : config.components;
  // What the samples depend on: every setting but the workers and the output path, and the
  // task list, hashed in parts so that a refused resume names what changed: the ids and files
  // (with the day files found missing and the rows found unusable), the channels and their
  // response files, the reference times and picks, the labels.
  const { workers: _w, output: _o, ...settings } = config;
  const hash = (f: (t: SampleTask) => unknown) =>
    sha256Hex(tasks.map((t) => JSON.stringify(f(t))).join("\n"));
  const key = {
    ...settings,
    inputCount: tasks.length,
    inputList: await hash((t) => [t.id, t.waveforms, t.missingFiles ?? [], t.error ?? null]),
    inputChannels: await hash((t) => [
      t.network,
      t.station,
      t.location,
      t.channel,
      t.responses ?? t.response,
      t.npz ?? null,
    ]),
    // The S arrival too: samples.csv's s_minus_p comes from it.
    inputPicks: await hash((t) => [t.referenceTime, t.pickTimes ?? null, t.sTime ?? null]),
    inputLabels: await hash((t) => t.label),
    inputEvents: await hash((t) => t.event ?? null),
  };
  const writer = await DatasetWriter.create(out, [C, g.nFreqs, g.nTimes], {
    force: options.force,
    resumable: {
      key: JSON.parse(JSON.stringify(key)),
      resume: !!options.resume,
      // The input hashes, said in words (their values, hash prefixes, say nothing).
      changed: {
        inputList: "the sample ids or waveform files (or those found missing) changed since the " +
          "interrupted run",
        inputChannels: "the channels or response files changed since the interrupted run",
        inputPicks: "the reference times or picks changed since the interrupted run",
        inputLabels: "the labels changed since the interrupted run",
        inputEvents: "the events changed since the interrupted run",
      },
    },
  });
  const resumed = (writer.resumedState as ExtractState | null) ?? { next: 0, failures: [] };
  const start = resumed.next;
  const failures: Failure[] = [...resumed.failures];
  const rotations: RotatedSample[] = [...resumed.rotations ?? []];
  // Samples written whose recording's band ends below the crop's top, by their rate.
  const aboveNyquist: Record<string, number> = { ...resumed.aboveNyquist };
  const clipped: ClippedSample[] = [...resumed.clipped ?? []];
  const joined: JoinedSample[] = [...resumed.joined ?? []];
  // Warnings of the samples (ExtractedSample.warnings), each printed once.
  const warned = new Set<string>();
  const t0 = performance.now();
  const progress = new Progress("extract", tasks.length, { quiet: options.quiet });
  if (start > 0) progress.tick(start, "resumed");
  const every = (options.checkpointSeconds ?? 10) * 1000;
  let lastCheckpoint = performance.now();
  let next = start;
  let checkpointing: Promise<void> = Promise.resolve();
  const checkpoint = () => {
    checkpointing = writer.checkpoint(
      {
        next,
        failures: [...failures],
        rotations: [...rotations],
        aboveNyquist: { ...aboveNyquist },
        clipped: [...clipped],
        joined: [...joined],
      } satisfies ExtractState,
    );
    // Awaited later; a failed write must not end the process as an unhandled rejection first.
    checkpointing.catch(() => {});
    lastCheckpoint = performance.now();
  };
  try {
    const pending = new Map<number, WorkerReply>();
    const flush = () => {
      while (pending.has(next)) {
        const r = pending.get(next)!;
        pending.delete(next);
        if (r.ok) {
          const task = placedTask(tasks[r.index], r.referenceTime);
          writer.append({ ...sampleInfo(task, config.components), ...r.coords }, r.data);
          if (r.rotation) rotations.push({ id: task.id, ...r.rotation });
          for (const c of r.clipped ?? []) clipped.push({ id: task.id, ...c });
          for (const c of r.joined ?? []) joined.push({ id: task.id, ...c });
          for (const w of r.warnings ?? []) {
            if (!warned.has(w)) {
              warned.add(w);
              console.error(w);
            }
          }
          if (config.spectrogram.fmax > RECORDED_BAND * r.recordedRate) {
            const rate = formatHz(r.recordedRate);
            aboveNyquist[rate] = (aboveNyquist[rate] ?? 0) + 1;
          }
        } else failures.push({ id: tasks[r.index].id, reason: r.reason, message: r.message });
        next++;
        if (options.stopAfter !== undefined && next - start >= options.stopAfter) {
          checkpoint();
          throw new Error(`extract stopped after ${options.stopAfter} samples (stopAfter)`);
        }
      }
      if (performance.now() - lastCheckpoint >= every) checkpoint();
    };
    const onReply = (r: WorkerReply) => {
      pending.set(r.index, r);
      flush();
      progress.tick(1, failures.length ? `${failures.length} failed` : "");
    };
    const nWorkers = Math.min(workerCount(config.workers), tasks.length - start);
    // A decoded file is kept for later samples only where another sample reads it too: the
    // files of one event each would fill every thread's cache for nothing.
    const readers = new Map<string, number>();
    for (const t of tasks) for (const f of t.waveforms) readers.set(f, (readers.get(f) ?? 0) + 1);
    const sharedFiles = (t: SampleTask) => t.waveforms.filter((f) => readers.get(f)! > 1);
    const inv = options.inventories ?? new InventoryCache();
    if (nWorkers === 0) {
      for (let i = start; i < tasks.length; i++) {
        onReply(await runOne(i, tasks[i], config, inv, g, sharedFiles(tasks[i])));
      }
    } else {
      await runInWorkers(tasks, start, config, nWorkers, inv, onReply, sharedFiles);
    }
    await checkpointing;
    progress.done(`${writer.count} ok, ${failures.length} failed`);
    await Deno.writeTextFile(
      join(writer.tmpDir, "failures.csv"),
      formatCsv([["id", "reason", "message"], ...failures.map((f) => [f.id, f.reason, f.message])]),
    );
    if (te) {
      await Deno.writeTextFile(join(writer.tmpDir, "triggers.csv"), triggersCsv(te, failures));
      await Deno.writeTextFile(join(writer.tmpDir, "detections.xml"), detectionsXml(te));
    }
    if (clipped.length) {
      await Deno.writeTextFile(
        join(writer.tmpDir, "clipped.csv"),
        formatCsv([
          ["id", "channel", "max", "min", "samples"],
          ...clipped.map((c) => [c.id, c.channel, c.max, c.min, c.samples].map(String)),
        ]),
      );
    }
    if (joined.length) {
      await Deno.writeTextFile(
        join(writer.tmpDir, "joined.csv"),
        formatCsv([
          ["id", "channel", "gaps", "gap_samples", "overlaps", "overlap_samples"],
          ...joined.map((c) =>
            [c.id, c.channel, c.gaps, c.gapSamples, c.overlaps, c.overlapSamples].map(String)
          ),
        ]),
      );
    }
    if (rotations.length) {
      await Deno.writeTextFile(
        join(writer.tmpDir, "rotations.csv"),
        formatCsv([
          ["id", "channels", "azimuths", "dips", "sources"],
          ...rotations.map((r) => [
            r.id,
            r.channels.join(" "),
            r.azimuths.join(" "),
            r.dips.join(" "),
            r.sources.join(" "),
          ]),
        ]),
      );
    }
    // The detections go with the dataset (report and --inspect read them there).
    if (detections) {
      const kept = join(writer.tmpDir, DETECTIONS_DIR);
      await Deno.remove(kept, { recursive: true }).catch(() => {});
      await Deno.rename(detections, kept).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
    await writer.commit(
      {
        components: componentNames,
        scaling: config.spectrogram.scaling,
        config: { ...config, output: out },
      },
      g.freqs,
      g.times,
    );
  } catch (e) {
    await checkpointing.catch(() => {});
    if (await writer.abort()) {
      console.error(
        `note: kept ${writer.tmpDir} (${
          (writer.checkpointedState as ExtractState | null)?.next ?? 0
        } of ${tasks.length} samples done at the last ` +
          `checkpoint): run the same extraction with --resume to continue it`,
      );
    }
    throw writeFailure(out, e);
  }
  const byReason: Record<string, number> = {};
  for (const f of failures) byReason[f.reason] = (byReason[f.reason] ?? 0) + 1;
  return {
    out,
    total: tasks.length,
    ok: tasks.length - failures.length,
    failures,
    byReason,
    seconds: (performance.now() - t0) / 1000,
    shape: [tasks.length - failures.length, C, g.nFreqs, g.nTimes],
    resumed: start,
    rotated: rotations.length,
    aboveNyquist,
    clipped,
    joined,
  };
}

/**
 * How many of a trace's joins ({@linkcode Join}) lie in `[t0, t1]` (ms), and their samples there.
 *
 * @param joins The trace's joins.
 * @param t0 Start of the window, ms.
 * @param t1 End of it, ms.
 * @param dt Sample interval, ms.
 * @returns the gaps and overlaps counted, with their samples inside the window.
 */
function joinsIn(
  joins: readonly Join[],
  t0: number,
  t1: number,
  dt: number,
): Omit<JoinedChannel, "channel"> {
  const r = { gaps: 0, gapSamples: 0, overlaps: 0, overlapSamples: 0 };
  for (const j of joins) {
    const a = Math.max(j.start, t0), b = Math.min(j.start + (j.samples - 1) * dt, t1);
    if (b < a) continue;
    const n = Math.floor((b - a) / dt + 1e-9) + 1;
    if (j.kind === "gap") [r.gaps, r.gapSamples] = [r.gaps + 1, r.gapSamples + n];
    else [r.overlaps, r.overlapSamples] = [r.overlaps + 1, r.overlapSamples + n];
  }
  return r;
}

/** Most tasks of one chunk handed to one worker in a row (bounds the replies held back). */
const RUN_MOST = 64;

/** The end of the run of tasks from `i` that share `i`'s chunk (see runInWorkers). */
function runEnd(tasks: readonly SampleTask[], i: number): number {
  const key = (t: SampleTask) =>
    t.preprocessSpan
      ? `${t.network}.${t.station}.${t.location}.${t.channel}@${t.preprocessSpan[0]}`
      : null;
  const k = key(tasks[i]);
  let j = i + 1;
  if (k === null) return j;
  while (j < tasks.length && j - i < RUN_MOST && key(tasks[j]) === k) j++;
  return j;
}

/**
 * Runs one task, turning its error into a failure reply.
 *
 * @param index Task index.
 * @param task The task.
 * @param config The config.
 * @param inv StationXML cache.
 * @param g Geometry.
 * @param shared The task's waveform files that other tasks read too, kept decoded for them
 *   (default: all of them).
 * @returns the reply.
 */
export async function runOne(
  index: number,
  task: SampleTask,
  config: ExtractConfig,
  inv: ResponseSource,
  g: SpectrogramGeometry,
  shared: readonly string[] = task.waveforms,
): Promise<WorkerReply> {
  try {
    const keepDecoded = (f: string) => shared.includes(f);
    return { index, ok: true, ...await processSample(task, config, inv, g, { keepDecoded }) };
  } catch (e) {
    if (e instanceof SampleError) {
      // Day files of an SDS task that do not exist explain a short or broken trace.
      const why = task.missingFiles?.length && (e.reason === "too short" || e.reason === "gap")
        ? `; missing day file(s): ${task.missingFiles.join(", ")}`
        : "";
      return { index, ok: false, reason: e.reason, message: e.message + why };
    }
    return {
      index,
      ok: false,
      reason: "error",
      message: `Cannot process sample ${task.id}: ${(e as Error)?.message ?? String(e)}`,
    };
  }
}

function runInWorkers(
  tasks: SampleTask[],
  start: number,
  config: ExtractConfig,
  n: number,
  inv: InventoryCache,
  onReply: (r: WorkerReply) => void,
  sharedFiles: (t: SampleTask) => string[],
): Promise<void> {
  return new Promise((resolve, reject) => {
    let next = start, done = start;
    const workers: Worker[] = [];
    let closed = false;
    const finish = (err?: unknown) => {
      closed = true;
      for (const w of workers) w.terminate();
      if (err) reject(err);
      else resolve();
    };
    // Tasks are handed out in runs: the consecutive windows of one chunk (at most RUN_MOST)
    // go to one worker, which preprocesses the chunk once; any other task is a run of one.
    // Replies then come out of order, and onReply holds them until their turn.
    const cursor = new Map<Worker, { i: number; end: number }>();
    const feed = (w: Worker) => {
      let c = cursor.get(w);
      if (!c || c.i >= c.end) {
        if (next >= tasks.length) return;
        c = { i: next, end: runEnd(tasks, next) };
        next = c.end;
        cursor.set(w, c);
      }
      const i = c.i++;
      w.postMessage({ type: "task", index: i, task: tasks[i], shared: sharedFiles(tasks[i]) });
    };
    for (let k = 0; k < n; k++) {
      const w = new Worker(new URL("./_extract_worker.ts", import.meta.url).href, {
        type: "module",
      });
      workers.push(w);
      w.onmessage = (ev: MessageEvent<WorkerReply | LookupRequest>) => {
        if ("type" in ev.data) {
          answerLookup(inv, ev.data).then((r) => {
            if (!closed) w.postMessage(r);
          });
          return;
        }
        try {
          onReply(ev.data as WorkerReply);
        } catch (e) {
          finish(e);
          return;
        }
        done++;
        if (done === tasks.length) finish();
        else feed(w);
      };
      w.onerror = (ev) => {
        ev.preventDefault();
        finish(new Error(`Extract worker failed: ${ev.message}`));
      };
      w.postMessage({ type: "init", config });
      // Two tasks in flight per worker hide the message latency.
      feed(w);
      feed(w);
    }
  });
}
