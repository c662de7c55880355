/**
 * The spectrogram dataset store: one directory per dataset.
 *
 * | file | content |
 * |---|---|
 * | `spectrograms.npy` | f32 little-endian, C order, `[N, C, F, T]` |
 * | `samples.csv` | `id,network,station,location,channel,reference_time,label` (label empty when unknown) |
 * | `freqs.npy` | f64 `[F]`, Hz |
 * | `times.npy` | f64 `[T]`, seconds relative to the reference time |
 * | `meta.json` | `{ format, version, shape, components, scaling, config, created }` |
 * | `failures.csv` | (extract only) `id,reason,message` for every skipped sample |
 *
 * {@linkcode Dataset.readBatch} reads only the requested samples (seek + read),
 * so a training loop never holds the whole array in memory.
 *
 * @module
 */
import { join } from "node:path";
import { writeDirAtomic } from "../util/atomic.ts";
import { encodeNpy, NpyWriter, readNpyFile, readNpyHeader } from "./npy.ts";
import { formatCsv, parseCsvRecords } from "./csv.ts";

/** One sample's identity. */
export interface SampleInfo {
  id: string;
  network: string;
  station: string;
  location: string;
  channel: string;
  /** ISO 8601 UTC time the spectrogram's time axis is relative to. */
  referenceTime: string;
  label: string | null;
}

/** Contents of `meta.json`. */
export interface DatasetMeta {
  format: "seisdec-dataset";
  version: 1;
  /** `[N, C, F, T]`. */
  shape: [number, number, number, number];
  /** Component names, one per channel C (e.g. `["Z"]`). */
  components: string[];
  /** `psd`, `log10`, `db`, or `none` for imported arrays. */
  scaling: string;
  /** The configuration that made the dataset. */
  config: unknown;
  /** ISO 8601 creation time. */
  created: string;
}

/** Per-sample normalisation applied at load time. */
export type Normalize = "maxabs" | "l2" | "minmax" | "none";

/** Header of `samples.csv`. */
export const SAMPLES_HEADER = [
  "id",
  "network",
  "station",
  "location",
  "channel",
  "reference_time",
  "label",
] as const;

function samplesCsv(samples: readonly SampleInfo[]): string {
  return formatCsv([
    SAMPLES_HEADER,
    ...samples.map((s) => [
      s.id,
      s.network,
      s.station,
      s.location,
      s.channel,
      s.referenceTime,
      s.label ?? "",
    ]),
  ]);
}

/**
 * Normalises samples in place.
 *
 * @param data `[B, sampleSize]` contiguous.
 * @param sampleSize Elements per sample (C·F·T).
 * @param mode `maxabs` divides each sample by its largest |value|, `l2` by its L2
 *   norm, `minmax` maps it onto [0, 1] (for log or dB spectrograms), `none` leaves it;
 *   an all-zero (or, for minmax, constant) sample becomes zero.
 */
export function normalizeSamples(data: Float32Array, sampleSize: number, mode: Normalize): void {
  if (mode === "none") return;
  for (let off = 0; off < data.length; off += sampleSize) {
    if (mode === "minmax") {
      let lo = Infinity, hi = -Infinity;
      for (let i = off; i < off + sampleSize; i++) {
        if (data[i] < lo) lo = data[i];
        if (data[i] > hi) hi = data[i];
      }
      const r = hi - lo;
      for (let i = off; i < off + sampleSize; i++) data[i] = r > 0 ? (data[i] - lo) / r : 0;
      continue;
    }
    let s = 0;
    if (mode === "maxabs") {
      for (let i = off; i < off + sampleSize; i++) {
        const a = Math.abs(data[i]);
        if (a > s) s = a;
      }
    } else {
      for (let i = off; i < off + sampleSize; i++) s += data[i] * data[i];
      s = Math.sqrt(s);
    }
    if (s > 0 && Number.isFinite(s)) {
      const inv = 1 / s;
      for (let i = off; i < off + sampleSize; i++) data[i] *= inv;
    }
  }
}

/** An open dataset. Call {@linkcode Dataset.close} when done. */
export class Dataset {
  /** Dataset directory. */
  readonly dir: string;
  /** Parsed `meta.json`. */
  readonly meta: DatasetMeta;
  /** Parsed `samples.csv`. */
  readonly samples: SampleInfo[];
  /** Number of samples N. */
  readonly count: number;
  /** `[C, F, T]`. */
  readonly sampleShape: [number, number, number];
  /** Frequencies, Hz, `[F]`. */
  readonly freqs: Float64Array;
  /** Times relative to the reference time, s, `[T]`. */
  readonly times: Float64Array;
  #file: Deno.FsFile | null;
  #dataOffset: number;
  #sampleSize: number;

  /** @internal Use {@linkcode openDataset}. */
  constructor(
    dir: string,
    meta: DatasetMeta,
    samples: SampleInfo[],
    freqs: Float64Array,
    times: Float64Array,
    file: Deno.FsFile,
    dataOffset: number,
  ) {
    this.dir = dir;
    this.meta = meta;
    this.samples = samples;
    this.count = meta.shape[0];
    this.sampleShape = [meta.shape[1], meta.shape[2], meta.shape[3]];
    this.freqs = freqs;
    this.times = times;
    this.#file = file;
    this.#dataOffset = dataOffset;
    this.#sampleSize = meta.shape[1] * meta.shape[2] * meta.shape[3];
  }

  /** @returns each sample's label, null when unknown. */
  labels(): (string | null)[] {
    return this.samples.map((s) => s.label);
  }

  /**
   * Reads samples by index.
   *
   * @param indices Sample indices in [0, N), in any order, repeats allowed.
   * @param normalize Per-sample normalisation (default `none`).
   * @returns `[B, C, F, T]` contiguous, in the order of `indices`.
   * @throws {RangeError} for an index out of range.
   */
  readBatch(indices: ArrayLike<number>, normalize: Normalize = "none"): Float32Array {
    if (!this.#file) throw new TypeError(`Cannot read ${this.dir}: the dataset is closed`);
    const ss = this.#sampleSize;
    const out = new Float32Array(indices.length * ss);
    const bytes = new Uint8Array(out.buffer);
    const sb = ss * 4;
    let b = 0;
    while (b < indices.length) {
      const idx = indices[b];
      if (!Number.isInteger(idx) || idx < 0 || idx >= this.count) {
        throw new RangeError(
          `Cannot read sample ${idx} of ${this.dir}: expected an index in [0, ${this.count})`,
        );
      }
      // Merge runs of consecutive indices into one read.
      let run = 1;
      while (b + run < indices.length && indices[b + run] === idx + run) run++;
      this.#file.seekSync(this.#dataOffset + idx * sb, Deno.SeekMode.Start);
      const dst = bytes.subarray(b * sb, (b + run) * sb);
      let off = 0;
      while (off < dst.length) {
        const n = this.#file.readSync(dst.subarray(off));
        if (n === null || n === 0) {
          throw new RangeError(`Cannot read sample ${idx} of ${this.dir}: file is truncated`);
        }
        off += n;
      }
      b += run;
    }
    normalizeSamples(out, ss, normalize);
    return out;
  }

  /**
   * Reads every sample.
   *
   * @param normalize Per-sample normalisation (default `none`).
   * @returns `[N, C, F, T]`.
   */
  readAll(normalize: Normalize = "none"): Float32Array {
    const idx = new Uint32Array(this.count);
    for (let i = 0; i < idx.length; i++) idx[i] = i;
    return this.readBatch(idx, normalize);
  }

  /** Closes the spectrogram file. */
  close(): void {
    this.#file?.close();
    this.#file = null;
  }
}

/**
 * Opens a dataset directory.
 *
 * @param dir The directory.
 * @returns the dataset, with `spectrograms.npy` open for batched reads.
 * @throws {TypeError} when a file is missing or its shape disagrees with `meta.json`.
 * @example
 * ```ts
 * import { openDataset, writeDataset } from "./dataset.ts";
 * const root = await Deno.makeTempDir();
 * const dir = `${root}/ds`;
 * const s = { network: "XX", station: "A", location: "", channel: "HHZ", referenceTime: "" };
 * await writeDataset(
 *   dir,
 *   { shape: [2, 1, 2, 2], components: ["Z"], scaling: "psd", config: {} },
 *   [{ ...s, id: "a", label: "x" }, { ...s, id: "b", label: null }],
 *   new Float32Array([1, 2, 3, 4, 0, 0, 0, -2]),
 *   new Float64Array([1, 2]),
 *   new Float64Array([0, 1]),
 * );
 * const ds = await openDataset(dir);
 * const x = ds.readBatch([1], "maxabs");
 * if (x[3] !== -1 || ds.labels()[1] !== null) throw new Error();
 * ds.close();
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function openDataset(dir: string): Promise<Dataset> {
  const read = async (name: string) => {
    try {
      return await Deno.readTextFile(join(dir, name));
    } catch (e) {
      throw new TypeError(
        `Cannot open dataset ${dir}: cannot read ${name}: ${(e as Error).message}`,
      );
    }
  };
  const meta = JSON.parse(await read("meta.json")) as DatasetMeta;
  if (meta.format !== "seisdec-dataset" || meta.version !== 1) {
    throw new TypeError(
      `Cannot open dataset ${dir}: expected format seisdec-dataset version 1: found ${meta.format} ${meta.version}`,
    );
  }
  const samples: SampleInfo[] = parseCsvRecords(await read("samples.csv")).map((r) => ({
    id: r.id,
    network: r.network,
    station: r.station,
    location: r.location,
    channel: r.channel,
    referenceTime: r.reference_time,
    label: r.label === "" ? null : r.label,
  }));
  const freqs = await readNpyFile(join(dir, "freqs.npy"));
  const times = await readNpyFile(join(dir, "times.npy"));
  const path = join(dir, "spectrograms.npy");
  const file = await Deno.open(path, { read: true });
  const head = new Uint8Array(4096);
  const n = await file.read(head) ?? 0;
  const h = readNpyHeader(head.subarray(0, n));
  const [N, , F, T] = meta.shape;
  if (
    h.dtype !== "<f4" || h.fortranOrder || h.shape.join() !== meta.shape.join() ||
    samples.length !== N || freqs.shape[0] !== F || times.shape[0] !== T
  ) {
    file.close();
    throw new TypeError(
      `Cannot open dataset ${dir}: expected <f4 [${meta.shape}] with ${N} samples, ${F} freqs, ` +
        `${T} times: found ${h.dtype} [${h.shape}], ${samples.length} samples, ` +
        `${freqs.shape[0]} freqs, ${times.shape[0]} times`,
    );
  }
  return new Dataset(
    dir,
    meta,
    samples,
    Float64Array.from(freqs.data as Float64Array),
    Float64Array.from(times.data as Float64Array),
    file,
    h.dataOffset,
  );
}

/**
 * Writes a whole dataset atomically.
 *
 * @param dir Destination directory.
 * @param meta Shape, components, scaling and config.
 * @param samples One entry per sample.
 * @param data `[N, C, F, T]` contiguous.
 * @param freqs `[F]`, Hz.
 * @param times `[T]`, s.
 * @param options `force` replaces an existing directory.
 */
export async function writeDataset(
  dir: string,
  meta: Omit<DatasetMeta, "format" | "version" | "created">,
  samples: SampleInfo[],
  data: Float32Array,
  freqs: Float64Array,
  times: Float64Array,
  options: { force?: boolean } = {},
): Promise<void> {
  const [N, C, F, T] = meta.shape;
  if (
    data.length !== N * C * F * T || samples.length !== N || freqs.length !== F ||
    times.length !== T
  ) {
    throw new TypeError(
      `Cannot write dataset ${dir}: shape [${meta.shape}] needs ${N} samples, ${F} freqs and ` +
        `${T} times: found ${samples.length}, ${freqs.length}, ${times.length} and ${data.length} values`,
    );
  }
  await writeDirAtomic(dir, async (tmp) => {
    await Deno.writeFile(join(tmp, "spectrograms.npy"), encodeNpy(data, [N, C, F, T]));
    await writeMetaFiles(tmp, meta, samples, freqs, times);
  }, { ...options, marker: "meta.json" });
}

async function writeMetaFiles(
  dir: string,
  meta: Omit<DatasetMeta, "format" | "version" | "created">,
  samples: readonly SampleInfo[],
  freqs: Float64Array,
  times: Float64Array,
): Promise<void> {
  const full: DatasetMeta = {
    format: "seisdec-dataset",
    version: 1,
    shape: meta.shape,
    components: meta.components,
    scaling: meta.scaling,
    config: meta.config,
    created: new Date().toISOString(),
  };
  await Deno.writeTextFile(join(dir, "samples.csv"), samplesCsv(samples));
  await Deno.writeFile(join(dir, "freqs.npy"), encodeNpy(freqs, [freqs.length]));
  await Deno.writeFile(join(dir, "times.npy"), encodeNpy(times, [times.length]));
  await Deno.writeTextFile(join(dir, "meta.json"), JSON.stringify(full, null, 2) + "\n");
}

/**
 * Streams a dataset to disk sample by sample (used by `extract`). It writes into
 * a temporary directory, which {@linkcode DatasetWriter.commit} renames into
 * place; {@linkcode DatasetWriter.abort} removes it.
 */
export class DatasetWriter {
  #tmp: string;
  #npy: NpyWriter;
  #samples: SampleInfo[] = [];
  #sampleShape: [number, number, number];
  #resolve: () => void = () => {};
  #reject: (e: unknown) => void = () => {};
  #done: Promise<void>;

  private constructor(
    tmp: string,
    npy: NpyWriter,
    sampleShape: [number, number, number],
    done: Promise<void>,
  ) {
    this.#tmp = tmp;
    this.#npy = npy;
    this.#sampleShape = sampleShape;
    this.#done = done;
  }

  /**
   * Starts a dataset. Fails at once when `dir` exists and `force` is not set.
   *
   * @param dir Destination directory.
   * @param sampleShape `[C, F, T]`.
   * @param options `force` replaces an existing directory.
   * @returns the writer.
   */
  static async create(
    dir: string,
    sampleShape: [number, number, number],
    options: { force?: boolean } = {},
  ): Promise<DatasetWriter> {
    let ready!: (w: DatasetWriter) => void;
    let fail!: (e: unknown) => void;
    const writerP = new Promise<DatasetWriter>((res, rej) => {
      ready = res;
      fail = rej;
    });
    // writeDirAtomic runs `fill` and renames afterwards; `fill` waits for commit().
    let finish!: () => void, abort!: (e: unknown) => void;
    const gate = new Promise<void>((res, rej) => {
      finish = res;
      abort = rej;
    });
    const done = writeDirAtomic(dir, async (tmp) => {
      const npy = NpyWriter.open(join(tmp, "spectrograms.npy"), "<f4", sampleShape);
      const w = new DatasetWriter(tmp, npy, sampleShape, Promise.resolve());
      w.#resolve = finish;
      w.#reject = abort;
      ready(w);
      await gate;
      await w.#finishFiles();
    }, { ...options, marker: "meta.json" });
    done.catch(fail);
    const w = await writerP;
    w.#done = done;
    return w;
  }

  /** Temporary directory the files go to until commit (extra files may be added). */
  get tmpDir(): string {
    return this.#tmp;
  }

  /** Number of samples written so far. */
  get count(): number {
    return this.#samples.length;
  }

  /**
   * Appends one sample.
   *
   * @param info Its identity.
   * @param data `[C, F, T]`.
   */
  append(info: SampleInfo, data: Float32Array): void {
    this.#npy.append(data);
    this.#samples.push(info);
  }

  #meta: Omit<DatasetMeta, "format" | "version" | "created" | "shape"> | null = null;
  #freqs: Float64Array = new Float64Array(0);
  #times: Float64Array = new Float64Array(0);

  async #finishFiles(): Promise<void> {
    this.#npy.close();
    const [C, F, T] = this.#sampleShape;
    await writeMetaFiles(
      this.#tmp,
      { ...this.#meta!, shape: [this.#samples.length, C, F, T] },
      this.#samples,
      this.#freqs,
      this.#times,
    );
  }

  /**
   * Writes the metadata files and renames the directory into place.
   *
   * @param meta Components, scaling and config.
   * @param freqs `[F]`, Hz.
   * @param times `[T]`, s.
   */
  async commit(
    meta: Omit<DatasetMeta, "format" | "version" | "created" | "shape">,
    freqs: Float64Array,
    times: Float64Array,
  ): Promise<void> {
    this.#meta = meta;
    this.#freqs = freqs;
    this.#times = times;
    this.#resolve();
    await this.#done;
  }

  /** Discards the temporary directory. */
  async abort(): Promise<void> {
    try {
      this.#npy.close();
    } catch { /* already closed */ }
    this.#reject(new Error("aborted"));
    await this.#done.catch(() => {});
  }
}
