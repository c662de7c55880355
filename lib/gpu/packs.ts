/**
 * Packed convolution weights, kept between dispatches.
 *
 * The conv kernels read their weight repacked (kernels/conv_pack.wgsl): channel-last in
 * vec4s of output channels, or by output phase for conv_transpose2d_phase. Packing used to be
 * one dispatch before every convolution: 19 of the seed autoencoder's 97 dispatches per
 * training step, and 5 of an encoder pass's 12, though the weights change only when the
 * optimizer writes them.
 *
 * {@linkcode PackCache} keeps each packed weight in a store buffer per weight buffer and
 * repacks it only when the weight buffer's write generation ({@linkcode GpuRuntime.generation})
 * has moved: an inference loop packs once. At every submit it repacks, in one dispatch per
 * weight buffer, every packed weight used since the last submit whose weights were written
 * since (the optimizer's update, recorded last in a step): a training step then records one
 * packing dispatch instead of 19, and its convolutions find their weights packed. When the
 * weight buffer goes back to the pool, its store goes with it.
 *
 * @module
 */
import type { BufRef, GpuRuntime, KernelDef, Param } from "./runtime.ts";
import { tensorLimit } from "./pool.ts";

/** Jobs in one packing dispatch (the length of the job table in its uniform). */
export const MAX_PACK_JOBS = 32;

/** Weight buffers whose packed weights are kept at once (oldest dropped first). */
export const MAX_STORES = 256;

/**
 * conv_pack with room for `jobs` jobs in its uniform table.
 *
 * @param jobs 1 or {@linkcode MAX_PACK_JOBS}.
 * @returns the kernel definition.
 */
export function convPackDef(jobs: number): KernelDef {
  return {
    name: "conv_pack",
    file: "conv_pack.wgsl",
    storage: ["read", "rw"],
    workgroupSize: 64,
    defines: { MAXJ: jobs },
  };
}

/** One weight's packing (see kernels/conv_pack.wgsl for the layouts). */
export interface PackLayout {
  /**
   * 0: channel quads, fields [o, i, kk, o4p, so, si]; 1: output phases, fields
   * [a, b, kh, kw, sh, sw, ph, pw, dh0, dw0, wh, ww].
   */
  kind: 0 | 1;
  /** The layout's fields, in the order above (dh0, dw0 may be negative). */
  fields: number[];
  /** vec4s written. */
  vec4s: number;
  /** Bytes the packed weight occupies: vec4s · 16, or the 64 KiB of a uniform binding. */
  bytes: number;
}

/** One job of a packing dispatch: the weight (a slice of `src`), its layout, the output. */
export interface PackJob {
  /** Weight slice. */
  w: BufRef;
  layout: PackLayout;
  /** Byte offset of the output in the destination buffer (a multiple of 16). */
  out: number;
}

const JOB_WORDS = 20;

/**
 * Invocations of a packing: one per input channel and tap (layout 0) or per input channel and
 * window offset (layout 1), each writing the run of vec4s of its output channels.
 */
function packRuns(l: PackLayout): number {
  const f = l.fields;
  return l.kind === 0 ? f[1] * f[2] : f[0] * f[10] * f[11];
}

/**
 * Records the packing of several weights held in one buffer into one destination buffer, in
 * as few dispatches as the job table allows (jobs of {@linkcode MAX_PACK_JOBS} each).
 *
 * @param rt Runtime.
 * @param jobs Jobs; every `w` in one buffer.
 * @param dst Destination buffer.
 */
export function recordPacks(rt: GpuRuntime, jobs: PackJob[], dst: GPUBuffer): void {
  const align = rt.device.limits.minStorageBufferOffsetAlignment;
  for (let c = 0; c < jobs.length; c += MAX_PACK_JOBS) {
    const chunk = jobs.slice(c, c + MAX_PACK_JOBS);
    const max = chunk.length === 1 ? 1 : MAX_PACK_JOBS;
    const srcLo = Math.floor(Math.min(...chunk.map((j) => j.w.offset)) / align) * align;
    const srcHi = Math.max(...chunk.map((j) => j.w.offset + j.w.size));
    const dstLo = Math.floor(Math.min(...chunk.map((j) => j.out)) / align) * align;
    const dstHi = Math.max(...chunk.map((j) => j.out + j.layout.vec4s * 16));
    const params: Param[] = new Array(4 + max * JOB_WORDS).fill(0);
    params[0] = chunk.length;
    // Unused rows of the table start past every workgroup, so the kernel never picks them.
    for (let k = chunk.length; k < max; k++) params[4 + k * JOB_WORDS + 1] = 0xffffffff;
    let wg = 0;
    chunk.forEach((j, k) => {
      const f = j.layout.fields.map((v) => v >>> 0);
      const at = 4 + k * JOB_WORDS;
      const runs = packRuns(j.layout);
      const words = [j.layout.kind, wg, runs, (j.out - dstLo) / 16];
      words.push((j.w.offset - srcLo) / 4, ...f);
      words.forEach((v, i) => params[at + i] = v);
      wg += Math.ceil(runs / 64);
    });
    rt.dispatch(
      convPackDef(max),
      params,
      [
        { buffer: chunk[0].w.buffer, offset: srcLo, size: srcHi - srcLo },
        { buffer: dst, offset: dstLo, size: dstHi - dstLo },
      ],
      wg,
    );
  }
}

interface Entry {
  w: BufRef;
  layout: PackLayout;
  /** Byte offset in the store. */
  offset: number;
  /** The weight buffer's write generation the packed copy reflects (-1: never packed). */
  gen: number;
  /** Used by a recorded dispatch since the last submit. */
  used: boolean;
}

interface Store {
  buffer: GPUBuffer | null;
  /** Bytes taken. */
  end: number;
  entries: Map<string, Entry>;
}

/** Packed weights of one runtime (see the module documentation). */
export class PackCache {
  #rt: GpuRuntime;
  #stores = new Map<GPUBuffer, Store>();
  #align: number;

  /** @param rt The runtime whose submits and pool this cache follows. */
  constructor(rt: GpuRuntime) {
    this.#rt = rt;
    this.#align = Math.max(
      256,
      rt.device.limits.minStorageBufferOffsetAlignment,
      rt.device.limits.minUniformBufferOffsetAlignment,
    );
    rt.beforeSubmit(() => this.refresh());
    rt.pool.onRelease((b) => this.drop(b));
  }

  /** Weight buffers with packed weights kept. */
  get stores(): number {
    return this.#stores.size;
  }

  /**
   * The packed form of a weight, packing it first (one dispatch) unless the kept copy is
   * current.
   *
   * @param w Weight slice.
   * @param layout Its packing.
   * @returns the packed weight: a slice of `layout.bytes` bytes of the store.
   */
  get(w: BufRef, layout: PackLayout): BufRef {
    let store = this.#stores.get(w.buffer);
    if (!store) {
      if (this.#stores.size >= MAX_STORES) this.drop(this.#stores.keys().next().value!);
      store = { buffer: null, end: 0, entries: new Map() };
      this.#stores.set(w.buffer, store);
    }
    const key = `${w.offset},${w.size},${layout.kind},${layout.fields},${layout.bytes}`;
    let e = store.entries.get(key);
    if (!e) {
      const offset = Math.ceil(store.end / this.#align) * this.#align;
      this.#grow(store, offset + layout.bytes);
      e = { w: { ...w }, layout, offset, gen: -1, used: false };
      store.entries.set(key, e);
      store.end = offset + layout.bytes;
    }
    const gen = this.#rt.generation(w.buffer);
    if (e.gen !== gen) {
      recordPacks(this.#rt, [{ w: e.w, layout, out: e.offset }], store.buffer!);
      e.gen = gen;
    }
    e.used = true;
    return { buffer: store.buffer!, offset: e.offset, size: layout.bytes };
  }

  /**
   * Repacks every packed weight used since the last call whose weight buffer was written
   * since it was packed: one dispatch per weight buffer. Runs at every submit.
   */
  refresh(): void {
    for (const [src, store] of this.#stores) {
      const stale: PackJob[] = [];
      const gen = this.#rt.generation(src);
      for (const e of store.entries.values()) {
        if (e.used && e.gen !== gen) {
          stale.push({ w: e.w, layout: e.layout, out: e.offset });
          e.gen = gen;
        }
        e.used = false;
      }
      if (stale.length) recordPacks(this.#rt, stale, store.buffer!);
    }
  }

  /**
   * Forgets the packed weights of a weight buffer and returns their store to the pool.
   *
   * @param src The weight buffer.
   */
  drop(src: GPUBuffer): void {
    const store = this.#stores.get(src);
    if (!store) return;
    this.#stores.delete(src);
    if (store.buffer) this.#rt.pool.release(store.buffer);
  }

  /** Grows a store to at least `bytes`, keeping its contents (a recorded copy). */
  #grow(store: Store, bytes: number): void {
    if (store.buffer && store.buffer.size >= bytes) return;
    const old = store.buffer;
    // Doubling amortises the copies, but never past what the device can make and bind.
    const cap = tensorLimit(this.#rt.device.limits).bytes;
    store.buffer = this.#rt.pool.acquire(Math.max(bytes, Math.min(2 * (old?.size ?? 0), cap)));
    if (old) {
      if (store.end) {
        this.#rt.copy({ buffer: old, offset: 0, size: store.end }, {
          buffer: store.buffer,
          offset: 0,
          size: store.end,
        });
      }
      this.#rt.pool.release(old);
    }
  }
}

const caches = new WeakMap<GpuRuntime, PackCache>();

/**
 * @param rt A runtime.
 * @returns its packed-weight cache (made on first use).
 */
export function packCache(rt: GpuRuntime): PackCache {
  let c = caches.get(rt);
  if (!c) caches.set(rt, c = new PackCache(rt));
  return c;
}
