/**
 * Reader and writer of the safetensors format (https://github.com/huggingface/safetensors):
 *
 * - 8 bytes: N, the header size, unsigned 64-bit little-endian;
 * - N bytes: a UTF-8 JSON object mapping each tensor name to
 *   `{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}` (byte offsets into the
 *   data buffer) plus an optional `"__metadata__"` map of strings to strings, padded with
 *   spaces so that the data starts on an 8-byte boundary;
 * - the data buffer: the tensors' little-endian, row-major bytes, back to back, no holes.
 *
 * The writer orders tensors like the reference implementation: by descending dtype (I64, F64,
 * F32, I32, U8, which also keeps every tensor aligned to its element size), then by name.
 *
 * @module
 */

/** The supported element types. */
export type SafetensorsDtype = "F32" | "F64" | "I32" | "I64" | "U8";

/** Typed array of each dtype. */
export type SafetensorsData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/** One tensor: element type, shape and row-major data. */
export interface SafetensorsTensor {
  /** Element type. */
  dtype: SafetensorsDtype;
  /** Dimensions; `[]` is a scalar (one element). */
  shape: number[];
  /** Row-major elements; its type matches `dtype`. */
  data: SafetensorsData;
}

const DTYPES: Record<
  SafetensorsDtype,
  // deno-lint-ignore no-explicit-any
  { size: number; rank: number; ctor: any }
> = {
  I64: { size: 8, rank: 4, ctor: BigInt64Array },
  F64: { size: 8, rank: 3, ctor: Float64Array },
  F32: { size: 4, rank: 2, ctor: Float32Array },
  I32: { size: 4, rank: 1, ctor: Int32Array },
  U8: { size: 1, rank: 0, ctor: Uint8Array },
};

/** Largest header accepted, as in the reference implementation (100 MB). */
const MAX_HEADER = 100_000_000;

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function checkShape(shape: unknown, where: string): number[] {
  if (
    !Array.isArray(shape) || !shape.every((v) => typeof v === "number" && Number.isSafeInteger(v))
  ) {
    throw new TypeError(
      `${where}: shape must be an array of integers: found ${JSON.stringify(shape)}`,
    );
  }
  if (shape.some((v) => v < 0)) {
    throw new RangeError(`${where}: shape entries must be >= 0: found ${JSON.stringify(shape)}`);
  }
  return shape as number[];
}

/**
 * Serialises tensors and optional string metadata to safetensors bytes.
 *
 * @param tensors Tensors by name (a name must not be `__metadata__`).
 * @param metadata Free-form string pairs stored under `__metadata__`.
 * @returns the file contents.
 * @example
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors({ w: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) } });
 * const { tensors } = decodeSafetensors(bytes);
 * if (tensors.w.data[1] !== 2) throw new Error();
 * ```
 */
export function encodeSafetensors(
  tensors: Record<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = Object.keys(tensors);
  for (const name of names) {
    const where = `Cannot encode safetensors: tensor "${name}"`;
    if (name === "__metadata__") {
      throw new RangeError(
        `Cannot encode safetensors: "__metadata__" is reserved as a tensor name`,
      );
    }
    const t = tensors[name];
    const info = DTYPES[t.dtype];
    if (!info) {
      throw new TypeError(
        `${where}: dtype must be one of ${Object.keys(DTYPES).join(", ")}: found ${t.dtype}`,
      );
    }
    if (!(t.data instanceof info.ctor)) {
      throw new TypeError(
        `${where}: dtype ${t.dtype} needs a ${info.ctor.name}: found ${t.data?.constructor?.name}`,
      );
    }
    const shape = checkShape(t.shape, where);
    if (numel(shape) !== t.data.length) {
      throw new TypeError(
        `${where}: shape [${shape}] holds ${numel(shape)} elements: data has ${t.data.length}`,
      );
    }
  }
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") {
        throw new TypeError(
          `Cannot encode safetensors: metadata values must be strings: "${k}" is ${typeof v}`,
        );
      }
    }
  }
  const order = names.slice().sort((a, b) => {
    const ra = DTYPES[tensors[a].dtype].rank, rb = DTYPES[tensors[b].dtype].rank;
    return ra !== rb ? rb - ra : a < b ? -1 : a > b ? 1 : 0;
  });
  // deno-lint-ignore no-explicit-any
  const header: Record<string, any> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of order) {
    const t = tensors[name];
    const bytes = t.data.length * DTYPES[t.dtype].size;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let pos = 8 + padded;
  for (const name of order) {
    const d = tensors[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

/** One tensor's entry in a safetensors header: dtype, shape and byte range in the data buffer. */
export interface SafetensorsEntry {
  /** Tensor name. */
  name: string;
  /** Element type. */
  dtype: SafetensorsDtype;
  /** Dimensions. */
  shape: number[];
  /** First byte in the data buffer. */
  begin: number;
  /** One past the last byte in the data buffer. */
  end: number;
}

/**
 * The length of a safetensors file's header, from its first 8 bytes, checked against the
 * largest header accepted and the file's size.
 *
 * @param first8 The file's first 8 bytes (or more).
 * @param fileSize The file's size in bytes.
 * @returns N, the header's size in bytes (the data buffer starts at byte 8 + N).
 * @throws {RangeError} when the file is too short or the size is out of range.
 */
export function safetensorsHeaderLength(first8: Uint8Array, fileSize: number): number {
  const fail = (what: string) => new RangeError(`Cannot decode safetensors: ${what}`);
  if (first8.length < 8 || fileSize < 8) {
    throw fail(`file is truncated: expected at least 8 bytes: found ${fileSize}`);
  }
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) throw fail(`header size must be <= ${MAX_HEADER}: found ${n}`);
  const headerLen = Number(n);
  if (8 + headerLen > fileSize) {
    throw fail(
      `file is truncated: header of ${headerLen} bytes needs ${
        8 + headerLen
      } bytes: found ${fileSize}`,
    );
  }
  return headerLen;
}

/**
 * Parses and validates a safetensors header without its data: a JSON object, known dtypes,
 * data offsets that match the shapes and tile the data buffer with no hole or overlap. What
 * {@linkcode decodeSafetensors} checks, for a caller that reads the header alone (to compare
 * the shapes with what they should be before reading, or allocating, anything else).
 *
 * @param header The header's bytes (after the 8-byte length, as long as that says).
 * @param dataLen The size of the data buffer: the file's size less 8 and the header's.
 * @returns the tensors' entries in file order, and the metadata.
 * @throws {RangeError} when the header is malformed or does not describe the data buffer.
 */
export function parseSafetensorsHeader(
  header: Uint8Array,
  dataLen: number,
): { entries: SafetensorsEntry[]; metadata: Record<string, string> } {
  const fail = (what: string) => new RangeError(`Cannot decode safetensors: ${what}`);
  let parsed: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(header);
    if (!text.startsWith("{")) throw new Error("the header does not start with '{'");
    parsed = JSON.parse(text);
  } catch (e) {
    throw fail(`header must be a UTF-8 JSON object: ${(e as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw fail(`header must be a JSON object: found ${JSON.stringify(parsed)?.slice(0, 80)}`);
  }
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        throw fail(`__metadata__ must be an object of strings: found ${JSON.stringify(raw)}`);
      }
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== "string") {
          throw fail(`__metadata__ values must be strings: "${k}" is ${JSON.stringify(v)}`);
        }
        metadata[k] = v;
      }
      continue;
    }
    const where = `Cannot decode safetensors: tensor "${name}"`;
    const t = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t !== "object" || t === null) {
      throw new RangeError(`${where}: entry must be an object: found ${JSON.stringify(raw)}`);
    }
    const dtype = t.dtype as SafetensorsDtype;
    if (typeof dtype !== "string" || !Object.hasOwn(DTYPES, dtype)) {
      throw new RangeError(
        `${where}: dtype must be one of ${Object.keys(DTYPES).join(", ")}: found ${
          JSON.stringify(t.dtype)
        }`,
      );
    }
    const shape = checkShape(t.shape, where);
    const off = t.data_offsets;
    if (
      !Array.isArray(off) || off.length !== 2 ||
      !off.every((v) => Number.isSafeInteger(v) && v >= 0)
    ) {
      throw new RangeError(
        `${where}: data_offsets must be two integers >= 0: found ${JSON.stringify(off)}`,
      );
    }
    const [begin, end] = off as number[];
    if (begin > end || end > dataLen) {
      throw new RangeError(
        `${where}: bad data_offsets [${begin}, ${end}]: the data buffer holds ${dataLen} bytes` +
          (end > dataLen ? " (file truncated?)" : ""),
      );
    }
    const expected = numel(shape) * DTYPES[dtype].size;
    if (end - begin !== expected) {
      throw new RangeError(
        `${where}: bad data_offsets [${begin}, ${end}]: shape [${shape}] of ${dtype} needs ${expected} bytes: found ${
          end - begin
        }`,
      );
    }
    entries.push({ name, dtype, shape, begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const e of entries) {
    if (e.begin !== covered) {
      throw fail(
        `bad data_offsets: tensor "${e.name}" starts at byte ${e.begin}: expected ${covered} ` +
          (e.begin < covered ? "(overlap)" : "(hole)"),
      );
    }
    covered = e.end;
  }
  if (covered !== dataLen) {
    throw fail(`data buffer holds ${dataLen} bytes: the tensors cover ${covered}`);
  }
  return { entries, metadata };
}

/**
 * Parses safetensors bytes, validating the header against the spec: header size
 * within the file, a JSON object, known dtypes, data offsets that match the
 * shapes and tile the data buffer with no hole or overlap.
 *
 * @param bytes The file contents.
 * @returns the tensors by name, in file order (data copied, so aligned), and the metadata.
 * @example
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors({}, { epoch: "3" });
 * if (decodeSafetensors(bytes).metadata.epoch !== "3") throw new Error();
 * ```
 */
export function decodeSafetensors(
  bytes: Uint8Array,
): { tensors: Record<string, SafetensorsTensor>; metadata: Record<string, string> } {
  const headerLen = safetensorsHeaderLength(bytes, bytes.length);
  const dataStart = 8 + headerLen;
  const { entries, metadata } = parseSafetensorsHeader(
    bytes.subarray(8, dataStart),
    bytes.length - dataStart,
  );
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const e of entries) {
    const info = DTYPES[e.dtype];
    const copy = bytes.slice(dataStart + e.begin, dataStart + e.end);
    tensors[e.name] = {
      dtype: e.dtype,
      shape: e.shape,
      data: new info.ctor(copy.buffer, 0, (e.end - e.begin) / info.size),
    };
  }
  return { tensors, metadata };
}
