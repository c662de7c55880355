/**
 * Split-K sums recorded together (kernels/split_sum_jobs.wgsl).
 *
 * A weight gradient too small to fill the adapter is computed in splits, each writing a
 * partial gradient, and the partials are then added up; a bias gradient likewise over
 * segments. That was one `split_sum` dispatch per gradient: 22 of a seed training step's 77
 * dispatches, each of them tiny. {@linkcode SplitSums} keeps the partials of every such sum in
 * one buffer of its own and, instead of dispatching each sum, defers it
 * ({@linkcode GpuRuntime.defer}) until a command touches its partials or its output, or the
 * step is submitted: a backward pass whose gradients all land in one parameter-gradient arena
 * then adds up all of its partials in one dispatch, just before the optimizer reads them.
 * The order of each sum is `split_sum`'s, so the gradients are bit-identical either way.
 *
 * @module
 */
import { bucketFloor } from "./pool.ts";
import type { BufRef, GpuRuntime, KernelDef, Param } from "./runtime.ts";

/** Sums in one dispatch (the length of the job table in its uniform). */
export const MAX_SPLIT_JOBS = 32;

const JOB_WORDS = 8;

/**
 * split_sum_jobs with room for `jobs` jobs in its uniform table.
 *
 * @param jobs 1 or {@linkcode MAX_SPLIT_JOBS}.
 * @returns the kernel definition.
 */
export function splitSumJobsDef(jobs: number): KernelDef {
  return {
    name: "split_sum_jobs",
    file: "split_sum_jobs.wgsl",
    storage: ["read", "rw", "read"],
    workgroupSize: 64,
    defines: { MAXJ: jobs },
  };
}

/** One deferred sum: out[i] = Σ_s part[s·count + i]. */
export interface SplitJob {
  /** The partials, `splits · count` floats. */
  part: BufRef;
  /** The output, `count` floats. */
  out: BufRef;
  count: number;
  splits: number;
  /** Invocations per output (a power of two ≤ 64). */
  lanes: number;
}

/**
 * Records sums whose partials all lie in one buffer and whose outputs all lie in another, in
 * as few dispatches as the job table allows.
 *
 * @param rt Runtime.
 * @param jobs The sums; every `part` in one buffer, every `out` in one buffer.
 */
export function recordSplitSums(rt: GpuRuntime, jobs: readonly SplitJob[]): void {
  const align = rt.device.limits.minStorageBufferOffsetAlignment;
  for (let c = 0; c < jobs.length; c += MAX_SPLIT_JOBS) {
    const chunk = jobs.slice(c, c + MAX_SPLIT_JOBS);
    const max = chunk.length === 1 ? 1 : MAX_SPLIT_JOBS;
    const lo = (f: (j: SplitJob) => BufRef) =>
      Math.floor(Math.min(...chunk.map((j) => f(j).offset)) / align) * align;
    const hi = (f: (j: SplitJob) => BufRef, floats: (j: SplitJob) => number) =>
      Math.max(...chunk.map((j) => f(j).offset + 4 * floats(j)));
    const partLo = lo((j) => j.part), outLo = lo((j) => j.out);
    const params: Param[] = new Array(4 + max * JOB_WORDS).fill(0);
    params[0] = chunk.length;
    for (let k = chunk.length; k < max; k++) params[4 + k * JOB_WORDS + 5] = 0xffffffff;
    let wg = 0;
    chunk.forEach((j, k) => {
      const at = 4 + k * JOB_WORDS;
      const part = (j.part.offset - partLo) / 4;
      // vec4 reads where the outputs come in whole vec4s and the partials start on one.
      const v4 = j.count % 4 === 0 && part % 4 === 0;
      const words = [part, (j.out.offset - outLo) / 4, j.count, j.splits, j.lanes, wg, v4 ? 1 : 0];
      words.forEach((v, i) => params[at + i] = v);
      wg += Math.ceil(((v4 ? j.count / 4 : j.count) * j.lanes) / 64);
    });
    const partHi = hi((j) => j.part, (j) => j.count * j.splits);
    const parts = { buffer: chunk[0].part.buffer, offset: partLo, size: partHi - partLo };
    // The vec4 view of the partials: whole vec4s, which a pool buffer (256-byte buckets) holds.
    // (Only a scalar job can end off a vec4, and it never reads A4: clamping to the buffer is safe.)
    const parts4 = {
      ...parts,
      size: Math.min(Math.ceil(parts.size / 16) * 16, parts.buffer.size - partLo),
    };
    rt.dispatch(
      splitSumJobsDef(max),
      params,
      [
        parts,
        {
          buffer: chunk[0].out.buffer,
          offset: outLo,
          size: hi((j) => j.out, (j) => j.count) - outLo,
        },
        parts4,
      ],
      wg,
    );
  }
}

/** The deferred split-K sums of one runtime (see the module documentation). */
export class SplitSums {
  #rt: GpuRuntime;
  #align: number;
  #buffer: GPUBuffer | null = null;
  /** Bytes of the partials buffer taken by pending sums. */
  #used = 0;
  #jobs: SplitJob[] = [];
  /** A slice handed out by partials() and not yet added: it outlives a flush. */
  #outstanding: BufRef | null = null;
  #flush = () => this.#record();

  /** The most bytes of partials that one dispatch binds, and so the largest buffer made. */
  #limit: number;

  /**
   * @param rt The runtime whose commands the sums are recorded among.
   * @param limitBytes The largest partials buffer (default: the device's storage-binding and
   *   buffer size limits, the least of them); tests pass a small one.
   */
  constructor(rt: GpuRuntime, limitBytes?: number) {
    this.#rt = rt;
    this.#align = Math.max(256, rt.device.limits.minStorageBufferOffsetAlignment);
    // A pool bucket (the pool rounds a request up to one), on the offset alignment.
    this.#limit = Math.floor(bucketFloor(limitBytes ?? partialsLimit(rt)) / this.#align) *
      this.#align;
  }

  /** The largest partials buffer, in bytes: no pending sums bind more than that. */
  get limit(): number {
    return this.#limit;
  }

  /** Sums recorded but not yet dispatched. */
  get pending(): number {
    return this.#jobs.length;
  }

  /** Bytes of the partials buffer (0 before the first sum). */
  get capacity(): number {
    return this.#buffer?.size ?? 0;
  }

  /**
   * A slice for the partials of one sum, to be passed to {@linkcode SplitSums.add} once the
   * dispatch that writes them is recorded. When the buffer is full the pending sums are
   * recorded first, and the next slices come from a new buffer that would have held them all
   * and this one too (twice the old one at least; the old goes back to the pool), so that a
   * training loop settles on one dispatch per backward pass after a step or two.
   *
   * @param floats `splits · count`.
   * @returns the slice (offset a multiple of 256 bytes).
   */
  partials(floats: number): BufRef {
    const bytes = Math.max(4, floats * 4);
    if (bytes > this.#limit) {
      throw new RangeError(
        `Cannot hold split partials of ${floats} floats (${bytes} bytes): past this adapter's ` +
          `limit of ${this.#limit} bytes per binding; use fewer splits`,
      );
    }
    let offset = Math.ceil(this.#used / this.#align) * this.#align;
    if (!this.#buffer || offset + bytes > this.#buffer.size) {
      // Full: record the pending sums, then start over in a buffer that would have held them
      // all and this one too, so that the next pass of the same shapes fits; but no larger
      // than one binding may be (then a pass takes a dispatch per buffer-full of partials).
      this.#rt.flushDeferred();
      const old = this.#buffer;
      const size = Math.min(
        this.#limit,
        Math.max(offset + bytes, 2 * (old?.size ?? 0), Math.min(1 << 20, this.#limit)),
      );
      // At the limit already, the same buffer serves again from its start (the sums just
      // recorded read it before anything recorded later writes it).
      if (!old || old.size < size || this.#outstanding) {
        this.#buffer = this.#rt.pool.acquire(size);
        // The pool holds a released buffer until the submit: recorded sums may still read it.
        if (old) this.#rt.pool.release(old);
      }
      offset = 0;
    }
    this.#used = offset + bytes;
    return this.#outstanding = { buffer: this.#buffer!, offset, size: bytes };
  }

  /**
   * Defers one sum (see the module documentation). An output in another buffer than the
   * pending sums', or overlapping one of theirs, records those first.
   *
   * @param job The sum; `part` from {@linkcode SplitSums.partials}.
   */
  add(job: SplitJob): void {
    if (job.part.buffer !== this.#buffer) {
      throw new TypeError("Cannot defer a split sum: its partials must come from partials()");
    }
    // Pending sums write another buffer, or (an output written twice, the later must win) the
    // same floats: record them first. One dispatch runs its jobs in no particular order.
    const end = job.out.offset + 4 * job.count;
    if (
      this.#jobs.length &&
      (this.#jobs[0].out.buffer !== job.out.buffer ||
        this.#jobs.some((j) => j.out.offset < end && job.out.offset < j.out.offset + 4 * j.count))
    ) this.#rt.flushDeferred();
    this.#outstanding = null;
    this.#jobs.push(job);
    this.#rt.defer([job.part, { ...job.out, size: 4 * job.count }], this.#flush);
    if (this.#jobs.length === MAX_SPLIT_JOBS) this.#rt.flushDeferred();
  }

  /** Records the pending sums (the runtime calls it; see {@linkcode GpuRuntime.defer}). */
  #record(): void {
    const jobs = this.#jobs.splice(0);
    // Later partials reuse the buffer from its start (their writes run after these sums),
    // but not over a slice already handed out and written.
    const o = this.#outstanding;
    this.#used = o ? o.offset + o.size : 0;
    if (jobs.length) recordSplitSums(this.#rt, jobs);
  }

  /** Returns the partials buffer to the pool (after recording any pending sum). */
  dispose(): void {
    this.#rt.flushDeferred();
    if (this.#buffer) this.#rt.pool.release(this.#buffer);
    this.#buffer = null;
  }
}

/**
 * @param rt A runtime.
 * @returns the most bytes of split partials one buffer (and binding) may hold on its device.
 */
export function partialsLimit(rt: GpuRuntime): number {
  const l = rt.device.limits;
  // The largest pool bucket within it, so the pool never rounds past it.
  return bucketFloor(Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize));
}

const batches = new WeakMap<GpuRuntime, SplitSums>();

/**
 * @param rt A runtime.
 * @returns its deferred split-K sums (made on first use).
 */
export function splitSums(rt: GpuRuntime): SplitSums {
  let s = batches.get(rt);
  if (!s) batches.set(rt, s = new SplitSums(rt));
  return s;
}
