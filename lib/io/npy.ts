/**
 * NumPy `.npy` and `.npz` files: reading (any common dtype, either byte order),
 * writing (little-endian, C order), and a streaming writer whose first dimension
 * grows as samples are appended.
 *
 * Format: a 6-byte magic `\x93NUMPY`, a 2-byte version, a header length (2 bytes
 * in version 1, 4 in 2 and 3), a Python dict literal with `descr`, `fortran_order`
 * and `shape` padded with spaces to a multiple of 64 bytes, then the raw data.
 * An `.npz` is a zip of `.npy` files; entries may be stored or deflated.
 *
 * @module
 */
import { writeFileAtomic } from "../util/atomic.ts";
import { readInputFile } from "./input_file.ts";
import { crc32 } from "../plot/png.ts";

/** The typed arrays a numeric dtype decodes to. */
export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

/** A decoded `.npy` array. */
export interface NpyArray {
  /** NumPy dtype string as stored, e.g. `<f4`, `<f8`, `<i8`, `|u1`, `<U11`. */
  dtype: string;
  /** Array shape; `[]` for a scalar. */
  shape: number[];
  /** True when the data is in Fortran (column-major) order. */
  fortranOrder: boolean;
  /** Elements in file order, converted to native byte order. */
  data: NumericArray | string[] | boolean[];
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/** Numeric typed arrays that {@linkcode encodeNpy} writes. */
export type NpyData = Float32Array | Float64Array | Int32Array | Uint8Array;

function descrOf(data: NpyData): string {
  if (data instanceof Float32Array) return "<f4";
  if (data instanceof Float64Array) return "<f8";
  if (data instanceof Int32Array) return "<i4";
  if (data instanceof Uint8Array) return "|u1";
  throw new TypeError(
    "Cannot encode npy: expected Float32Array, Float64Array, Int32Array or Uint8Array",
  );
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function headerText(descr: string, shape: readonly number[], minLen = 0): string {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Preamble (10 bytes) + dict + padding + "\n" must be a multiple of 64.
  let total = 10 + Math.max(dict.length + 1, minLen);
  total = Math.ceil(total / 64) * 64;
  return dict.padEnd(total - 10 - 1, " ") + "\n";
}

function preamble(header: string): Uint8Array {
  const out = new Uint8Array(10 + header.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  return out;
}

/**
 * Encodes an array as `.npy` bytes (version 1.0, little-endian, C order).
 *
 * @param data Elements in C order.
 * @param shape Array shape; its product must equal `data.length`.
 * @returns the file's bytes.
 * @example
 * ```ts
 * import { encodeNpy, readNpy } from "./npy.ts";
 * const a = readNpy(encodeNpy(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]));
 * if (a.shape.join() !== "2,3" || a.dtype !== "<f4") throw new Error();
 * ```
 */
export function encodeNpy(data: NpyData, shape: number[]): Uint8Array {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new TypeError(
      `Cannot encode npy: shape [${shape}]: every dimension must be an integer >= 0`,
    );
  }
  if (product(shape) !== data.length) {
    throw new TypeError(
      `Cannot encode npy: shape [${shape}] holds ${product(shape)} elements: found ${data.length}`,
    );
  }
  const head = preamble(headerText(descrOf(data), shape));
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/**
 * Writes a `.npy` file atomically.
 *
 * @param path Destination file.
 * @param data Elements in C order.
 * @param shape Array shape.
 */
export async function writeNpyFile(path: string, data: NpyData, shape: number[]): Promise<void> {
  await writeFileAtomic(path, encodeNpy(data, shape));
}

/** The parsed header of a `.npy` file. */
export interface NpyHeader {
  dtype: string;
  shape: number[];
  fortranOrder: boolean;
  /** Byte offset of the data from the start of the file. */
  dataOffset: number;
}

/**
 * Parses the header of a `.npy` file.
 *
 * @param bytes At least the first bytes of the file, through the header.
 * @returns dtype, shape, order and where the data starts.
 * @throws {TypeError} when the bytes are not a `.npy` file.
 */
export function readNpyHeader(bytes: Uint8Array): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw new TypeError("Cannot read npy: expected the magic bytes \\x93NUMPY: found other bytes");
  }
  const major = bytes[6];
  if (major < 1 || major > 3 || bytes[7] !== 0) {
    throw new TypeError(
      `Cannot read npy: expected format version 1.0, 2.0 or 3.0: found ${major}.${bytes[7]}`,
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (bytes.length < start + headerLen) {
    throw new TypeError(
      `Cannot read npy: header of ${headerLen} bytes is truncated at ${bytes.length} bytes`,
    );
  }
  const text = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(start, start + headerLen),
  );
  // A Python dict literal, padded with spaces and a newline: one cut short (no closing brace)
  // or with something after it is not the header NumPy writes, nor one it reads.
  const dict = text.trim();
  if (!dict.startsWith("{") || !dict.endsWith("}")) {
    const end = dict.length > 60 ? `...${dict.slice(-40)}` : dict;
    throw new TypeError(
      `Cannot read npy: expected the header to be a dict from '{' to '}' (then spaces): ` +
        `found ${dict.startsWith("{") ? "no closing '}'" : "no opening '{'"} in ${
          JSON.stringify(end)
        }`,
    );
  }
  const fields = /'descr'\s*:\s*(\[.*\])\s*,\s*'/.exec(text);
  if (fields) {
    throw new TypeError(
      `Cannot read npy: expected a numeric dtype (f2, f4, f8, i1..i8, u1..u8): found a structured dtype ${
        fields[1]
      }`,
    );
  }
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) {
    throw new TypeError(`Cannot read npy: expected descr, fortran_order and shape: found ${text}`);
  }
  return {
    dtype: descr[1],
    fortranOrder: fortran[1] === "True",
    shape: shape[1].split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number),
    dataOffset: start + headerLen,
  };
}

/**
 * Decodes `.npy` bytes.
 *
 * @param bytes The whole file.
 * @returns dtype, shape, order and the elements.
 * @throws {TypeError} on a bad header, an unsupported dtype or truncated data.
 */
export function readNpy(bytes: Uint8Array): NpyArray {
  const h = readNpyHeader(bytes);
  const n = product(h.shape);
  const order = h.dtype[0];
  const kind = h.dtype[1];
  const size = Number(h.dtype.slice(2));
  const little = order !== ">";
  const body = bytes.subarray(h.dataOffset);
  const need = kind === "U" ? n * size * 4 : n * size;
  if (body.length < need) {
    throw new TypeError(
      `Cannot read npy: shape [${h.shape}] of ${h.dtype} needs ${need} bytes: found ${body.length}`,
    );
  }
  const dv = new DataView(body.buffer, body.byteOffset, need);
  const base = { dtype: h.dtype, shape: h.shape, fortranOrder: h.fortranOrder };
  const read = elementReader(`${kind}${size}`, dv, little);
  if (read) {
    const Out = ARRAYS[`${kind}${size}`];
    const out = new Out(n);
    for (let i = 0; i < n; i++) out[i] = read(i * size) as never;
    return { ...base, data: out as NpyArray["data"] };
  }
  if (kind === "b" && size === 1) {
    const out: boolean[] = [];
    for (let i = 0; i < n; i++) out.push(dv.getUint8(i) !== 0);
    return { ...base, data: out };
  }
  if (kind === "U") {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      // NumPy strips trailing NULs only: a NUL inside the string is kept.
      let end = size;
      while (end > 0 && dv.getUint32((i * size + end - 1) * 4, little) === 0) end--;
      let s = "";
      for (let j = 0; j < end; j++) {
        s += String.fromCodePoint(dv.getUint32((i * size + j) * 4, little));
      }
      out.push(s);
    }
    return { ...base, data: out };
  }
  if (kind === "S") {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      let end = size;
      while (end > 0 && dv.getUint8(i * size + end - 1) === 0) end--;
      let s = "";
      for (let j = 0; j < end; j++) s += String.fromCharCode(dv.getUint8(i * size + j));
      out.push(s);
    }
    return { ...base, data: out };
  }
  throw new TypeError(`Cannot read npy: unsupported dtype: found '${h.dtype}'`);
}

/** Typed arrays that hold each numeric dtype as {@linkcode readNpy} returns it. */
const ARRAYS: Record<string, new (n: number) => NumericArray> = {
  f2: Float32Array,
  f4: Float32Array,
  f8: Float64Array,
  i1: Int8Array,
  i2: Int16Array,
  i4: Int32Array,
  i8: BigInt64Array,
  u1: Uint8Array,
  u2: Uint16Array,
  u4: Uint32Array,
  u8: BigUint64Array,
};

/**
 * The reader of one element of a numeric dtype (kind and size, e.g. `f4`) at a byte offset,
 * or undefined for other dtypes. 64-bit integers read as bigints.
 */
function elementReader(
  type: string,
  dv: DataView,
  little: boolean,
): ((o: number) => number | bigint) | undefined {
  switch (type) {
    case "f2":
      return (o) => halfToFloat(dv.getUint16(o, little));
    case "f4":
      return (o) => dv.getFloat32(o, little);
    case "f8":
      return (o) => dv.getFloat64(o, little);
    case "i1":
      return (o) => dv.getInt8(o);
    case "i2":
      return (o) => dv.getInt16(o, little);
    case "i4":
      return (o) => dv.getInt32(o, little);
    case "i8":
      return (o) => dv.getBigInt64(o, little);
    case "u1":
      return (o) => dv.getUint8(o);
    case "u2":
      return (o) => dv.getUint16(o, little);
    case "u4":
      return (o) => dv.getUint32(o, little);
    case "u8":
      return (o) => dv.getBigUint64(o, little);
  }
  return undefined;
}

/**
 * Whether a dtype is one {@linkcode decodeNumeric} reads (floats, signed and unsigned integers,
 * either byte order).
 *
 * @param dtype A NumPy dtype string, e.g. `<f4`.
 * @returns true for a numeric dtype.
 */
export function isNumericDtype(dtype: string): boolean {
  return Object.hasOwn(ARRAYS, dtype.slice(1));
}

/**
 * Decodes raw elements of a numeric dtype into numbers (for streaming a large `.npy` in pieces).
 *
 * @param bytes Whole elements, C order.
 * @param dtype Their dtype, e.g. `<f4`, `>i2`, `|u1`.
 * @param out Receives `bytes.length / size` values from index 0.
 * @returns the number of elements decoded.
 * @throws {TypeError} for a dtype {@linkcode isNumericDtype} refuses.
 * @example
 * ```ts
 * import { decodeNumeric } from "./npy.ts";
 * const out = new Float32Array(2);
 * decodeNumeric(new Uint8Array([1, 0, 255, 255]), "<i2", out);
 * if (out[0] !== 1 || out[1] !== -1) throw new Error();
 * ```
 */
export function decodeNumeric(
  bytes: Uint8Array,
  dtype: string,
  out: Float32Array | Float64Array,
): number {
  if (!isNumericDtype(dtype)) {
    throw new TypeError(`Cannot decode npy elements: unsupported dtype: found '${dtype}'`);
  }
  const size = Number(dtype.slice(2));
  const n = Math.floor(bytes.length / size);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, n * size);
  const read = elementReader(dtype.slice(1), dv, dtype[0] !== ">")!;
  for (let i = 0; i < n; i++) out[i] = Number(read(i * size));
  return n;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/**
 * Reads a `.npy` file.
 *
 * @param path The file.
 * @returns the decoded array.
 */
export async function readNpyFile(path: string): Promise<NpyArray> {
  const bytes = await readInputFile(path);
  try {
    return readNpy(bytes);
  } catch (e) {
    throw new TypeError(`${(e as Error).message} (file ${path})`);
  }
}

/**
 * Converts a numeric array to Float64 values, in C order.
 *
 * @param a A decoded array.
 * @returns the elements as numbers.
 * @throws {TypeError} for string or Fortran-order arrays.
 */
export function npyToFloat64(a: NpyArray): Float64Array {
  if (Array.isArray(a.data)) {
    throw new TypeError(`Cannot convert npy to numbers: dtype is '${a.dtype}'`);
  }
  const d = a.data;
  const out = new Float64Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
  if (!a.fortranOrder || a.shape.length < 2) return out;
  // Fortran order: transpose into C order.
  const shape = a.shape, nd = shape.length;
  const c = new Float64Array(out.length);
  const idx = new Array(nd).fill(0);
  for (let f = 0; f < out.length; f++) {
    let ci = 0;
    for (let k = 0; k < nd; k++) ci = ci * shape[k] + idx[k];
    c[ci] = out[f];
    for (let k = 0; k < nd; k++) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  return c;
}

/**
 * Decodes an `.npz` archive (zip of `.npy` files; stored or deflated entries), checking each
 * entry's CRC-32.
 *
 * @param bytes The whole archive.
 * @returns arrays by name, without the `.npy` suffix.
 * @throws {TypeError} when the bytes are not a zip of `.npy` files, or an entry fails its CRC.
 */
export async function readNpz(bytes: Uint8Array): Promise<Record<string, NpyArray>> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Find the end-of-central-directory record.
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 65557); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new TypeError("Cannot read npz: expected a zip archive: no end record");
  const count = dv.getUint16(eocd + 10, true);
  let p = dv.getUint32(eocd + 16, true);
  const out: Record<string, NpyArray> = {};
  for (let e = 0; e < count; e++) {
    if (dv.getUint32(p, true) !== 0x02014b50) {
      throw new TypeError(`Cannot read npz: bad central directory entry ${e}`);
    }
    const method = dv.getUint16(p + 10, true);
    const crc = dv.getUint32(p + 16, true);
    let compSize = dv.getUint32(p + 20, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    let local = dv.getUint32(p + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // Zip64 extra field: sizes and offset may live there.
    if (compSize === 0xffffffff || local === 0xffffffff) {
      let q = p + 46 + nameLen;
      const end = q + extraLen;
      while (q < end) {
        const id = dv.getUint16(q, true), sz = dv.getUint16(q + 2, true);
        if (id === 1) {
          let r = q + 4;
          if (dv.getUint32(p + 24, true) === 0xffffffff) r += 8;
          if (compSize === 0xffffffff) compSize = Number(dv.getBigUint64(r, true)), r += 8;
          if (local === 0xffffffff) local = Number(dv.getBigUint64(r, true));
        }
        q += 4 + sz;
      }
    }
    p += 46 + nameLen + extraLen + commentLen;
    const lNameLen = dv.getUint16(local + 26, true);
    const lExtraLen = dv.getUint16(local + 28, true);
    const start = local + 30 + lNameLen + lExtraLen;
    let data = bytes.subarray(start, start + compSize);
    if (method === 8) {
      const ds = new Blob([data.slice()]).stream().pipeThrough(
        new DecompressionStream("deflate-raw"),
      );
      data = new Uint8Array(await new Response(ds).arrayBuffer());
    } else if (method !== 0) {
      throw new TypeError(
        `Cannot read npz entry ${name}: unsupported compression method ${method}`,
      );
    }
    // As NumPy's zipfile checks it: a flipped bit in the data reads as other values.
    const found = crc32(data);
    if (found !== crc) {
      const hex = (v: number) => `0x${v.toString(16).padStart(8, "0")}`;
      throw new TypeError(
        `Cannot read npz entry ${name}: its bytes fail the archive's CRC-32 check (stored ${
          hex(crc)
        }, computed ${hex(found)}): damaged bytes`,
      );
    }
    try {
      out[name.replace(/\.npy$/, "")] = readNpy(data);
    } catch (err) {
      throw new TypeError(`Cannot read npz entry ${name}: ${(err as Error).message}`);
    }
  }
  return out;
}

/**
 * Writes a little-endian, C-order `.npy` file sample by sample, without
 * holding the array in memory. The header reserves room for the first
 * dimension, which {@linkcode NpyWriter.close} patches to the number of samples
 * appended.
 *
 * @example
 * ```ts
 * import { NpyWriter, readNpyFile } from "./npy.ts";
 * const dir = await Deno.makeTempDir();
 * const w = NpyWriter.open(`${dir}/a.npy`, "<f4", [2]);
 * w.append(new Float32Array([1, 2]));
 * w.append(new Float32Array([3, 4]));
 * w.close();
 * const a = await readNpyFile(`${dir}/a.npy`);
 * if (a.shape.join() !== "2,2") throw new Error();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class NpyWriter {
  #file: Deno.FsFile;
  #dtype: string;
  #sampleShape: number[];
  #sampleSize: number;
  #headerLen: number;
  #count = 0;
  #closed = false;

  private constructor(file: Deno.FsFile, dtype: string, sampleShape: number[], headerLen: number) {
    this.#file = file;
    this.#dtype = dtype;
    this.#sampleShape = sampleShape;
    this.#sampleSize = product(sampleShape);
    this.#headerLen = headerLen;
  }

  /**
   * Creates (or truncates) the file and writes a provisional header.
   *
   * @param path Destination file.
   * @param dtype `<f4` (Float32Array samples) or `<f8` (Float64Array samples).
   * @param sampleShape Shape of one sample; the file's shape is `[N, ...sampleShape]`.
   * @returns the writer.
   */
  static open(path: string, dtype: "<f4" | "<f8", sampleShape: number[]): NpyWriter {
    const file = Deno.openSync(path, { write: true, create: true, truncate: true });
    // Reserve 20 characters for the first dimension.
    const header = headerText(dtype, [0, ...sampleShape], 0);
    const padded = headerText(dtype, [0, ...sampleShape], header.length + 20);
    const pre = preamble(padded);
    writeAll(file, pre);
    return new NpyWriter(file, dtype, sampleShape, padded.length);
  }

  /**
   * Reopens a file an earlier writer left unclosed (a resumed extraction): keeps its first
   * `count` samples, drops anything after them, and appends from there.
   *
   * @param path The file.
   * @param dtype Its dtype.
   * @param sampleShape Shape of one sample.
   * @param count Samples to keep.
   * @returns the writer.
   * @throws {TypeError} when the file's dtype or sample shape differ.
   * @throws {RangeError} when it holds fewer than `count` samples.
   */
  static resume(
    path: string,
    dtype: "<f4" | "<f8",
    sampleShape: number[],
    count: number,
  ): NpyWriter {
    const file = Deno.openSync(path, { read: true, write: true });
    try {
      const head = new Uint8Array(4096);
      const n = file.readSync(head) ?? 0;
      const h = readNpyHeader(head.subarray(0, n));
      if (h.dtype !== dtype || h.fortranOrder || h.shape.slice(1).join() !== sampleShape.join()) {
        throw new TypeError(
          `Cannot resume ${path}: expected ${dtype} samples of [${sampleShape}]: found ` +
            `${h.dtype} [${h.shape.slice(1)}]`,
        );
      }
      const end = h.dataOffset + count * product(sampleShape) * (dtype === "<f4" ? 4 : 8);
      const size = file.statSync().size;
      if (size < end) {
        throw new RangeError(
          `Cannot resume ${path}: expected at least ${count} samples (${end} bytes): found ${size} bytes`,
        );
      }
      file.truncateSync(end);
      file.seekSync(end, Deno.SeekMode.Start);
      const w = new NpyWriter(file, dtype, sampleShape, h.dataOffset - 10);
      w.#count = count;
      return w;
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** Number of samples appended so far. */
  get count(): number {
    return this.#count;
  }

  /** Flushes the appended samples to the disk (for a checkpoint). */
  sync(): void {
    this.#file.syncDataSync();
  }

  /**
   * Appends one or more samples.
   *
   * @param sample Elements in C order; a multiple of the sample size.
   */
  append(sample: Float32Array | Float64Array): void {
    if (this.#closed) throw new TypeError("Cannot append to npy: the writer is closed");
    const want = this.#dtype === "<f4" ? Float32Array : Float64Array;
    if (!(sample instanceof want) || sample.length % this.#sampleSize !== 0) {
      throw new TypeError(
        `Cannot append to npy: expected ${want.name} of a multiple of ${this.#sampleSize} ` +
          `elements: found ${sample.constructor.name} of ${sample.length}`,
      );
    }
    writeAll(this.#file, new Uint8Array(sample.buffer, sample.byteOffset, sample.byteLength));
    this.#count += sample.length / this.#sampleSize;
  }

  /** Patches the header with the final first dimension and closes the file. */
  close(): void {
    if (this.#closed) return;
    const h = headerText(this.#dtype, [this.#count, ...this.#sampleShape], this.#headerLen);
    if (h.length !== this.#headerLen) {
      throw new RangeError(`Cannot close npy: header grew to ${h.length} bytes`);
    }
    this.#file.seekSync(0, Deno.SeekMode.Start);
    writeAll(this.#file, preamble(h));
    this.#file.close();
    this.#closed = true;
  }
}

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}
