/**
 * A pool of GPU storage buffers, bucketed by size, with live-buffer and
 * live-byte counters.
 *
 * Buffers released while commands are still being recorded are held back
 * until the next submit: a later `queue.writeBuffer` into a reused buffer would
 * otherwise land before the recorded dispatches that still read its old
 * contents (writes are queue operations, recorded dispatches are not yet).
 *
 * @module
 */

/** Counters for leak checks and memory benchmarks. */
export interface PoolStats {
  /** Buffers handed out and not yet released. */
  liveBuffers: number;
  /** Bytes of the buffers handed out and not yet released. */
  liveBytes: number;
  /** Buffers kept for reuse. */
  freeBuffers: number;
  /** Bytes kept for reuse. */
  freeBytes: number;
  /** Buffers ever created by the pool. */
  created: number;
}

const USAGE = 0x80 /* STORAGE */ | 0x40 /* UNIFORM */ | 0x4 /* COPY_SRC */ | 0x8 /* COPY_DST */;

/**
 * Rounds a byte size up to its bucket: multiples of 256 below 4 KiB, otherwise
 * the next of 2^k, 1.25·2^k, 1.5·2^k, 1.75·2^k (at most 25 % waste).
 *
 * @param bytes Requested size in bytes.
 * @returns the bucket size.
 */
export function bucketSize(bytes: number): number {
  const b = Math.max(256, Math.ceil(bytes));
  if (b <= 4096) return Math.ceil(b / 256) * 256;
  const p = 2 ** Math.floor(Math.log2(b));
  for (const f of [1, 1.25, 1.5, 1.75, 2]) if (p * f >= b) return p * f;
  return 2 * p;
}

/**
 * The largest bucket size (see {@linkcode bucketSize}) of at most `bytes`: a buffer the pool
 * hands out for a request of at most this size is no larger than `bytes`.
 *
 * @param bytes A limit, >= 256.
 * @returns the bucket size.
 * @example
 * ```ts
 * import { bucketFloor } from "./pool.ts";
 * if (bucketFloor(73728) !== 65536 || bucketFloor(3000) !== 2816) throw new Error();
 * ```
 */
export function bucketFloor(bytes: number): number {
  const b = Math.max(256, Math.floor(bytes));
  if (b <= 4096) return Math.floor(b / 256) * 256;
  const p = 2 ** Math.floor(Math.log2(b));
  return Math.max(...[1, 1.25, 1.5, 1.75].map((f) => p * f).filter((x) => x <= b));
}

/**
 * The size of the buffer the pool makes for a request: its bucket ({@linkcode bucketSize}), or,
 * where the bucket would pass the device's `maxBufferSize`, the request itself (rounded up to
 * 4 bytes), so that every request the device can hold gets a buffer and the limit a caller
 * checks against ({@linkcode tensorLimit}) is the device's own.
 *
 * @param bytes Requested size in bytes.
 * @param maxBufferSize The device's `maxBufferSize`.
 * @returns the buffer size, at most `maxBufferSize`.
 * @throws {RangeError} when `bytes` itself is past `maxBufferSize`.
 * @example
 * ```ts
 * import { allocationSize } from "./pool.ts";
 * if (allocationSize(12292, 2 ** 31) !== 14336) throw new Error(); // its bucket
 * // 2 GiB - 8: the bucket, 2 GiB, would pass a maxBufferSize of 2 GiB - 1.
 * if (allocationSize(2 ** 31 - 8, 2 ** 31 - 1) !== 2 ** 31 - 8) throw new Error();
 * ```
 */
export function allocationSize(bytes: number, maxBufferSize: number): number {
  const size = bucketSize(bytes);
  if (size <= maxBufferSize) return size;
  const exact = Math.ceil(bytes / 4) * 4;
  if (exact > maxBufferSize) {
    throw new RangeError(
      `Cannot allocate GPU buffer: size must be <= maxBufferSize ${maxBufferSize}: requested ${bytes} bytes`,
    );
  }
  return exact;
}

/** The most bytes one tensor may hold on a device, and the limit that sets it. */
export interface TensorLimit {
  /** Bytes (Infinity: no limit). */
  bytes: number;
  /** The device limit that sets it, for messages. */
  name: "maxStorageBufferBindingSize" | "maxBufferSize";
}

/**
 * The most bytes one tensor may hold on a device: each is one pooled buffer (at most
 * `maxBufferSize`, see {@linkcode allocationSize}) bound whole (at most
 * `maxStorageBufferBindingSize`).
 *
 * @param limits The device's limits.
 * @returns the smaller of the two (a multiple of 4), with its name.
 * @example
 * ```ts
 * import { tensorLimit } from "./pool.ts";
 * const l = tensorLimit({ maxStorageBufferBindingSize: 2 ** 31 - 4, maxBufferSize: 2 ** 30 });
 * if (l.bytes !== 2 ** 30 || l.name !== "maxBufferSize") throw new Error();
 * ```
 */
export function tensorLimit(
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number },
): TensorLimit {
  const binding = Math.floor(limits.maxStorageBufferBindingSize / 4) * 4;
  const buffer = Math.floor(limits.maxBufferSize / 4) * 4;
  return buffer < binding
    ? { bytes: buffer, name: "maxBufferSize" }
    : { bytes: binding, name: "maxStorageBufferBindingSize" };
}

/**
 * Storage buffers for tensors, reused by size bucket (past the largest bucket the device
 * allows, by exact size: {@linkcode allocationSize}).
 */
export class BufferPool {
  #device: GPUDevice;
  #free = new Map<number, GPUBuffer[]>();
  #held: GPUBuffer[] = [];
  #live = 0;
  #liveBytes = 0;
  #freeCount = 0;
  #freeBytes = 0;
  #created = 0;
  #ids = new WeakMap<GPUBuffer, number>();
  #onDestroy: () => void;
  #onRelease: ((buf: GPUBuffer) => void)[] = [];

  /**
   * Creates an empty pool.
   *
   * @param device The device that owns the buffers.
   * @param onDestroy Called after the pool destroys buffers (the runtime drops the bind
   *   groups that may hold them).
   */
  constructor(device: GPUDevice, onDestroy: () => void = () => {}) {
    this.#device = device;
    this.#onDestroy = onDestroy;
  }

  /**
   * Hands out a buffer of at least `bytes` bytes (contents undefined).
   *
   * @param bytes Minimum size in bytes.
   * @returns a storage buffer usable as copy source and destination.
   * @throws {RangeError} when `bytes` is past the device's `maxBufferSize`.
   */
  acquire(bytes: number): GPUBuffer {
    const size = allocationSize(bytes, this.#device.limits.maxBufferSize);
    const list = this.#free.get(size);
    let buf = list?.pop();
    if (buf) {
      this.#freeCount--;
      this.#freeBytes -= size;
    } else {
      buf = this.#device.createBuffer({ size, usage: USAGE });
      this.#ids.set(buf, this.#created++);
    }
    this.#live++;
    this.#liveBytes += size;
    return buf;
  }

  /**
   * Returns a buffer; it becomes reusable after the next submit.
   *
   * @param buf A buffer from {@linkcode BufferPool.acquire}.
   */
  release(buf: GPUBuffer): void {
    for (const f of this.#onRelease) f(buf);
    this.#live--;
    this.#liveBytes -= buf.size;
    this.#held.push(buf);
  }

  /**
   * Registers a listener called with each buffer as it is released (before anything can
   * reuse it): the packed-weight cache drops what it derived from the buffer.
   *
   * @param f The listener.
   */
  onRelease(f: (buf: GPUBuffer) => void): void {
    this.#onRelease.push(f);
  }

  /**
   * Makes buffers released before a submit reusable; called by the recorder after it submits.
   * Each size's free list is kept in creation order, oldest handed out first, so a loop that
   * acquires and releases the same sizes in the same order every step gets the same buffers
   * for the same tensors every step (the runtime's bind groups then hit its cache).
   */
  afterSubmit(): void {
    if (!this.#held.length) return;
    const touched = new Set<GPUBuffer[]>();
    for (const buf of this.#held) {
      let list = this.#free.get(buf.size);
      if (!list) this.#free.set(buf.size, list = []);
      list.push(buf);
      touched.add(list);
      this.#freeCount++;
      this.#freeBytes += buf.size;
    }
    this.#held.length = 0;
    // Newest first, so pop() hands out the oldest.
    for (const list of touched) list.sort((a, b) => this.#ids.get(b)! - this.#ids.get(a)!);
  }

  /** Destroys every free buffer (live ones are untouched). */
  trim(): void {
    for (const list of this.#free.values()) for (const b of list) b.destroy();
    this.#free.clear();
    this.#freeCount = 0;
    this.#freeBytes = 0;
    this.#onDestroy();
  }

  /**
   * Counts the live and free buffers and bytes.
   *
   * @returns the pool's counters.
   */
  stats(): PoolStats {
    return {
      liveBuffers: this.#live,
      liveBytes: this.#liveBytes,
      freeBuffers: this.#freeCount + this.#held.length,
      freeBytes: this.#freeBytes + this.#held.reduce((s, b) => s + b.size, 0),
      created: this.#created,
    };
  }
}
