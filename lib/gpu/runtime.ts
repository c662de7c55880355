/**
 * The GPU runtime: kernel pipelines compiled once and cached, a recorder that
 * encodes every dispatch of a step into one command buffer and submits once,
 * a uniform arena for kernel parameters, uploads and read-backs.
 *
 * Kernel binding convention, shared by every file in `kernels/`: binding 0 is a
 * uniform `Params` struct of 4-byte scalars; bindings 1.. are storage buffers in
 * the order the {@linkcode KernelDef} lists them (or uniform buffers, or a buffer's copy as a
 * texture: {@linkcode TEXTURE_ROW}). Grids are linear: the kernel
 * computes its workgroup index as `wid.x + wid.y * nwg.x`, so a grid larger than
 * `maxComputeWorkgroupsPerDimension` is split over y.
 *
 * @module
 */
import { DeviceLostError, getDevice, GpuOutOfMemoryError, lostText } from "./device.ts";
import { BufferPool } from "./pool.ts";
import { preprocess, resolveIncludes, workgroupBytes } from "./wgsl.ts";
import { eventLoopRan } from "../util/events.ts";
import { optionalEnv } from "../util/env.ts";

/** A slice of a GPU buffer (offsets and sizes in bytes). */
export interface BufRef {
  /** The buffer. */
  buffer: GPUBuffer;
  /** Start of the slice, bytes. */
  offset: number;
  /** Size of the slice, bytes. */
  size: number;
}

/** A compute kernel: one entry point of one WGSL file. */
export interface KernelDef {
  /** Name for errors and profiles, e.g. "conv2d". */
  name: string;
  /** File in `kernels/`, e.g. "conv2d.wgsl". */
  file: string;
  /** Entry point, default "main". */
  entry?: string;
  /**
   * Bindings 1.., in order: "read" or "rw" storage, "uniform" (a uniform buffer, such as
   * packed weights of at most 64 KiB), "texture" (the buffer slice's f32s, copied into an
   * r32float texture before the dispatch: {@linkcode TEXTURE_ROW}), or null where this entry
   * binds nothing.
   */
  storage: ("read" | "rw" | "uniform" | "texture" | null)[];
  /** Workgroup size the WGSL declares (x only), for grid arithmetic. */
  workgroupSize: number;
  /** Textual substitutions applied to the source before compiling, e.g. {TM: 4}. */
  defines?: Record<string, string | number>;
}

/** A parameter value: `u32`, `i32` or `f32`, each 4 bytes. */
export type Param = number | { f32: number } | { i32: number };

/** A compiled kernel ({@linkcode GpuRuntime.compile}). */
export interface Compiled {
  /** The compute pipeline. */
  pipeline: GPUComputePipeline;
  /** Its bind group layout. */
  layout: GPUBindGroupLayout;
  /** Bind groups made for this pipeline, by parameter size and storage slices (see dispatch). */
  groups: Map<string, GPUBindGroup>;
}

/** Bind groups kept per runtime before the cache is emptied (a bound on memory, not a limit). */
const BIND_GROUP_CACHE = 8192;

/**
 * Texels per row of the r32float texture a "texture" binding reads ({@linkcode KernelDef}):
 * the slice's f32 `i` is at column `i % TEXTURE_ROW`, row `floor(i / TEXTURE_ROW)`
 * (kernels/_x_input.wgsl). A slice takes at most `TEXTURE_ROW × maxTextureDimension2D` f32s
 * (32 Mi under WebGPU's default limit; {@linkcode textureFits}).
 */
export const TEXTURE_ROW = 4096;

/**
 * Bytes of textures a runtime keeps for "texture" bindings before it drops them all, at the
 * next submit. Each buffer slice gets its own texture, copied into only when the buffer was
 * written since (an activation is read as a texture by the next layer's conv, its weight
 * gradient and the gradient mask: one copy, not three). Past the budget, slices share one
 * texture per row count and binding, copied into by every dispatch.
 */
export const TEXTURE_BUDGET = 512 * 2 ** 20;

/**
 * Whether a slice of `floats` f32s fits the texture of a "texture" binding on a device.
 *
 * @param floats The slice's length in f32s.
 * @param limits The device's limits.
 * @returns whether it takes at most maxTextureDimension2D rows of {@linkcode TEXTURE_ROW}.
 * @example
 * ```ts
 * import { textureFits } from "./runtime.ts";
 * const limits = { maxTextureDimension2D: 8192 } as GPUSupportedLimits;
 * if (!textureFits(4096 * 8192, limits) || textureFits(4096 * 8192 + 1, limits)) {
 *   throw new Error();
 * }
 * ```
 */
export function textureFits(floats: number, limits: GPUSupportedLimits): boolean {
  return Math.ceil(floats / TEXTURE_ROW) <= limits.maxTextureDimension2D;
}

/**
 * A texture kept for "texture" bindings: its view, an id for bind-group keys, and the write
 * generation of the buffer whose slice it holds ({@linkcode GpuRuntime.generation}; -1 for
 * a shared texture, copied into by every dispatch).
 */
interface BindingTexture {
  texture: GPUTexture;
  view: GPUTextureView;
  id: number;
  bytes: number;
  generation: number;
}

const raws = new Map<string, Promise<string>>();
const sources = new Map<string, Promise<string>>();

/** A file of `kernels/` as stored (from disk, or fetched when seisdec is imported by URL). */
function loadRaw(file: string): Promise<string> {
  let p = raws.get(file);
  if (!p) {
    const url = new URL(`../../kernels/${file}`, import.meta.url);
    p = url.protocol === "file:" ? Deno.readTextFile(url) : fetch(url).then((r) => {
      if (!r.ok) throw new Error(`Cannot load kernel source ${url}: HTTP ${r.status}`);
      return r.text();
    });
    raws.set(file, p);
  }
  return p;
}

/**
 * A kernel file with its `/*include*\/` fragments expanded (lib/gpu/wgsl.ts), before its
 * defines are applied.
 *
 * @param file The file's name in `kernels/`.
 */
export function loadSource(file: string): Promise<string> {
  let p = sources.get(file);
  if (!p) {
    p = loadRaw(file).then((code) => resolveIncludes(code, loadRaw, file));
    sources.set(file, p);
  }
  return p;
}

const ARENA_BYTES = 1 << 20;
/** Timestamp queries per profiled submit (two per dispatch). */
const PROFILE_QUERIES = 2048;
const SLOT = 256;

/** One dispatch of a profiled run: kernel, its defines, grid and GPU time. */
export interface ProfiledDispatch {
  /** Position in the run, from 0. */
  index: number;
  /** Kernel name, e.g. "conv2d". */
  kernel: string;
  /** Defines of the variant, e.g. {TP: 8, TQ: 8}. */
  defines: Record<string, string | number>;
  /** Workgroups dispatched. */
  workgroups: number;
  /**
   * GPU time between the start and end timestamps of the dispatch's pass, in ms; null where
   * the adapter gave no usable pair ({@linkcode timestampMs}).
   */
  ms: number | null;
}

/**
 * The time between two timestamp queries, or null when they cannot be trusted: WebGPU lets an
 * implementation return 0 for a timestamp, and timestamps out of order (Metal under Dawn and
 * wgpu may, across passes; a query never written resolves to 0), so an end before its start or
 * a zero timestamp would give a negative or an absurd time. The caller counts such a dispatch as
 * untimed rather than as 0 ms.
 *
 * @param start The start timestamp, ns.
 * @param end The end timestamp, ns.
 * @returns the time in ms, or null.
 * @example
 * ```ts
 * import { timestampMs } from "./runtime.ts";
 * if (timestampMs(1_000_000n, 3_500_000n) !== 2.5) throw new Error();
 * if (timestampMs(3_500_000n, 1_000_000n) !== null || timestampMs(0n, 5n) !== null) {
 *   throw new Error();
 * }
 * ```
 */
export function timestampMs(start: bigint, end: bigint): number | null {
  if (start === 0n || end === 0n || end < start) return null;
  return Number(end - start) / 1e6;
}

/** Counters of GPU work, for benchmarks and tests. */
export interface RuntimeStats {
  /** Command buffers submitted. */
  submits: number;
  /** Kernel dispatches. */
  dispatches: number;
  /** Read-backs (each one submit and one wait). */
  readbacks: number;
  /** Pipelines compiled. */
  pipelines: number;
  /** Bind groups created (dispatches on buffers already bound reuse theirs). */
  bindGroups: number;
  /**
   * Slices copied into the textures of "texture" bindings (a slice read again before its
   * buffer is written reuses its copy).
   */
  textureCopies: number;
}

/**
 * A dispatch would bind more bytes than the adapter allows in one binding
 * (`maxStorageBufferBindingSize`, 128 MiB by default; `maxUniformBufferBindingSize`): thrown
 * when the dispatch is recorded, before WebGPU would report an invalid bind group at the submit.
 * Usually a batch too large for the adapter: the caller can name the batch and the most that fits.
 */
export class BindingSizeError extends RangeError {
  /**
   * @param kernel The kernel's name.
   * @param binding The binding's number in the kernel.
   * @param bytes The bytes it was asked to bind.
   * @param limit The adapter's limit.
   * @param uniform Whether it is a uniform binding.
   */
  constructor(
    readonly kernel: string,
    readonly binding: number,
    readonly bytes: number,
    readonly limit: number,
    uniform: boolean,
  ) {
    super(
      `Cannot dispatch kernel ${kernel}: binding ${binding} is ${bytes} bytes, past this ` +
        `adapter's ${uniform ? "maxUniformBufferBindingSize" : "maxStorageBufferBindingSize"} ` +
        `(${limit} bytes): use a smaller batch`,
    );
    this.name = "BindingSizeError";
  }
}

/**
 * Whether `SEISDEC_GPU_DEBUG=1` asks for WebGPU errors to be traced to their dispatch (see
 * {@linkcode GpuRuntime.debug}).
 */
function debugFromEnv(): boolean {
  return optionalEnv("SEISDEC_GPU_DEBUG") === "1";
}

/** The process-wide GPU runtime. Obtain it with {@linkcode gpu}. */
export class GpuRuntime {
  /** The WebGPU device. */
  readonly device: GPUDevice;
  /** The device's buffer pool. */
  readonly pool: BufferPool;
  #pipelines = new Map<string, Compiled>();
  #pending = new Map<string, Promise<Compiled>>();
  #sources = new Map<string, string>();
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #arenaCpu = new ArrayBuffer(ARENA_BYTES);
  #arenaU32 = new Uint32Array(this.#arenaCpu);
  #arenaF32 = new Float32Array(this.#arenaCpu);
  #arenaI32 = new Int32Array(this.#arenaCpu);
  #arenaUsed = 0;
  #arenaGpu: GPUBuffer;
  #staging: GPUBuffer[] = [];
  #errors: string[] = [];
  /** An error since the last throw was WebGPU's GPUOutOfMemoryError. */
  #outOfMemory = false;
  #debugScopes: Promise<void>[] = [];
  #stats: RuntimeStats = {
    submits: 0,
    dispatches: 0,
    readbacks: 0,
    pipelines: 0,
    bindGroups: 0,
    textureCopies: 0,
  };
  #bufferIds = new WeakMap<GPUBuffer, number>();
  #nextBufferId = 0;
  #generations = new WeakMap<GPUBuffer, number>();
  #clock = 0;
  #beforeSubmit: (() => void)[] = [];
  #submitting = false;
  #deferredRanges: BufRef[] = [];
  #deferredFlushes = new Set<() => void>();
  #groupCount = 0;
  #textures = new Map<string, BindingTexture>();
  #textureBytes = 0;
  #nextTextureId = 0;
  #maxGroups: number;
  #lost: GPUDeviceLostInfo | null = null;
  #profile: {
    set: GPUQuerySet;
    resolve: GPUBuffer;
    labels: Omit<ProfiledDispatch, "ms">[];
    used: number;
    pending: Promise<ProfiledDispatch[]>[];
    next: number;
  } | null = null;

  /**
   * Read-backs wait for the GPU from a later task (a zero timeout) instead of at once: see
   * `Tuning.deferMap` in lib/gpu/kernels.ts. Set by the tensor layer from the tuning.
   */
  deferMap = false;

  /**
   * Bytes of textures kept for "texture" bindings (default {@linkcode TEXTURE_BUDGET}, 512 MiB):
   * past it, new slices share a texture per row count and binding, and all are dropped at the
   * next submit.
   */
  textureBudget: number = TEXTURE_BUDGET;

  /**
   * Traces WebGPU errors to their dispatch (`SEISDEC_GPU_DEBUG=1` sets it at start-up). WebGPU
   * reports a validation error asynchronously and for a whole command buffer, so without this
   * it surfaces at a later submit or read-back with only WebGPU's message. With it, every
   * dispatch is recorded alone in its own command buffer, submitted at once inside a validation
   * error scope, and an error names the kernel, its defines, the dispatch's index and its grid;
   * it is thrown by the next {@linkcode GpuRuntime.read} or {@linkcode GpuRuntime.sync}, which
   * wait for the scopes. Much slower (one submit per dispatch): for finding a fault only.
   */
  debug: boolean;

  /**
   * Creates a runtime on a device, with its buffer pool.
   *
   * @param device The WebGPU device.
   * @param options `debug`: see {@linkcode GpuRuntime.debug} (default: `SEISDEC_GPU_DEBUG=1`).
   */
  constructor(device: GPUDevice, options: { debug?: boolean } = {}) {
    this.device = device;
    this.debug = options.debug ?? debugFromEnv();
    this.pool = new BufferPool(device, () => this.forgetBindGroups());
    this.#arenaGpu = device.createBuffer({
      size: ARENA_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.#maxGroups = device.limits.maxComputeWorkgroupsPerDimension;
    device.addEventListener("uncapturederror", (e) => {
      const err = (e as GPUUncapturedErrorEvent).error;
      this.#errors.push(err.message);
      if (typeof GPUOutOfMemoryError === "function" && err instanceof GPUOutOfMemoryError) {
        this.#outOfMemory = true;
      }
    });
    device.lost.then((info) => this.#lost = info);
  }

  /**
   * How the device was lost (a driver reset or watchdog timeout on a real GPU, or destroy()),
   * or null while it works. WebGPU reports a loss a task after it happens at the earliest. A
   * lost runtime stays lost: {@linkcode gpu} then makes a new one on a new device.
   */
  get lost(): GPUDeviceLostInfo | null {
    return this.#lost;
  }

  /**
   * Throws when the device is lost: nothing recorded since can run, and a read would only
   * fail with a bare validation error.
   */
  #checkLost(action: string): void {
    const l = this.#lost;
    if (!l) return;
    throw new DeviceLostError(
      `Cannot ${action}: the WebGPU device was lost (${lostText(l)}): its buffers, tensors and ` +
        'pipelines are gone; gpu() or initBackend("webgpu") requests a new device',
      l,
    );
  }

  /**
   * Compiles a kernel (once; later calls return the cached pipeline). Shader
   * and pipeline creation run inside validation error scopes, so a WGSL error
   * surfaces with its message and the kernel's name.
   *
   * @param def The kernel.
   * @returns the compiled pipeline and its bind group layout.
   */
  compile(def: KernelDef): Promise<Compiled> {
    const key = kernelKey(def);
    const done = this.#pipelines.get(key);
    if (done) return Promise.resolve(done);
    let p = this.#pending.get(key);
    if (!p) {
      p = this.#compile(def, key);
      this.#pending.set(key, p);
    }
    return p;
  }

  /**
   * Loads a kernel file's source without compiling anything, so that the kernel, with any
   * define set, compiles synchronously when first dispatched.
   *
   * @param def A kernel of the file.
   */
  async load(def: KernelDef): Promise<void> {
    if (!this.#sources.has(def.file)) this.#sources.set(def.file, await loadSource(def.file));
  }

  async #compile(def: KernelDef, key: string): Promise<Compiled> {
    const raw = await loadSource(def.file);
    this.#sources.set(def.file, raw);
    const d = this.device;
    d.pushErrorScope("validation");
    let c: Compiled | null = null;
    let failure: unknown = null;
    try {
      c = this.#build(def, raw);
    } catch (e) {
      failure = e;
    }
    const err = await d.popErrorScope();
    if (err || !c) {
      this.#pending.delete(key);
      if (err) throw new Error(`Cannot compile kernel ${def.name} (${def.file}): ${err.message}`);
      throw failure;
    }
    return this.#remember(key, c);
  }

  #remember(key: string, c: Compiled): Compiled {
    this.#pipelines.set(key, c);
    this.#stats.pipelines++;
    return c;
  }

  /** Creates the pipeline of a kernel from its source (no error scope of its own). */
  #build(def: KernelDef, raw: string): Compiled {
    const code = preprocess(raw, def.defines ?? {}, def.name);
    const d = this.device;
    // wgpu (Deno 2.9) does not hold a shader to this limit; a driver may then fail the
    // pipeline, or worse, the device. A tile the tuning set too large fails here, named.
    const shared = workgroupBytes(code, def.name);
    if (shared > d.limits.maxComputeWorkgroupStorageSize) {
      // A RangeError starting "Cannot": the CLI prints it as one line (a tuning's mistake).
      throw new RangeError(
        `Cannot compile kernel ${def.name} (${def.file}): it needs ${shared} bytes of workgroup ` +
          `memory and this device allows ${d.limits.maxComputeWorkgroupStorageSize}: choose ` +
          `smaller tiles in the tuning (SEISDEC_TUNING, or the stored tuning: cli.ts info shows it)`,
      );
    }
    const module = d.createShaderModule({ label: def.name, code });
    // The parameters' slice of the uniform arena is a dynamic offset, so one bind group
    // serves every dispatch of the kernel on the same buffers (see dispatch).
    const entries: GPUBindGroupLayoutEntry[] = [
      {
        binding: 0,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: "uniform", hasDynamicOffset: true },
      },
    ];
    def.storage.forEach((a, i) => {
      if (a === null) return;
      if (a === "texture") {
        entries.push({
          binding: i + 1,
          visibility: GPUShaderStage.COMPUTE,
          texture: { sampleType: "unfilterable-float", viewDimension: "2d" },
        });
        return;
      }
      entries.push({
        binding: i + 1,
        visibility: GPUShaderStage.COMPUTE,
        buffer: {
          type: a === "read" ? "read-only-storage" : a === "uniform" ? "uniform" : "storage",
        },
      });
    });
    const layout = d.createBindGroupLayout({ label: def.name, entries });
    const pipeline = d.createComputePipeline({
      label: def.name,
      layout: d.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: def.entry ?? "main" },
    });
    return { pipeline, layout, groups: new Map() };
  }

  /**
   * The compiled kernel, compiling it now (synchronously) when its file was already loaded
   * by {@linkcode GpuRuntime.load} or {@linkcode GpuRuntime.compile}: the tensor layer loads
   * every file at start-up and compiles each kernel at its first dispatch. A compile error
   * then surfaces at the next submit.
   */
  #pipelineFor(def: KernelDef): Compiled {
    const key = kernelKey(def);
    const c = this.#pipelines.get(key);
    if (c) return c;
    const raw = this.#sources.get(def.file);
    if (raw === undefined) {
      throw new Error(
        `Cannot dispatch kernel ${def.name}: its source was not loaded first (GpuRuntime.load or compile)`,
      );
    }
    return this.#remember(key, this.#build(def, raw));
  }

  /**
   * Records one dispatch into the current command buffer. The kernel's file must have been
   * loaded (see {@linkcode GpuRuntime.load}); it compiles here if it was not compiled yet.
   *
   * @param def The kernel.
   * @param params Scalars for the `Params` uniform, in struct order.
   * @param buffers Storage bindings 1.., in order; null where the kernel binds nothing.
   * @param workgroups Number of workgroups along the linear grid.
   */
  dispatch(def: KernelDef, params: Param[], buffers: (BufRef | null)[], workgroups: number): void {
    if (!(workgroups > 0)) {
      if (workgroups === 0) return;
      // A NaN or negative grid (sizes that reached a kernel unchecked) would fail later with
      // WebGPU's "Argument 0 is not a finite number", naming no kernel.
      throw new RangeError(
        `Cannot dispatch kernel ${def.name}: workgroups must be >= 0: current value is ${workgroups}`,
      );
    }
    if (this.debug) this.#dispatchTraced(def, params, buffers, workgroups);
    else this.#record(def, params, buffers, workgroups);
  }

  /**
   * A dispatch in debug mode: recorded and submitted alone inside a validation error scope, so
   * that an error names it (see {@linkcode GpuRuntime.debug}).
   */
  #dispatchTraced(
    def: KernelDef,
    params: Param[],
    buffers: (BufRef | null)[],
    workgroups: number,
  ): void {
    // What was recorded before goes out first, outside this dispatch's scope. Only the command
    // buffer: deferred work and submit hooks still wait for the next submit, as without debug.
    this.#submitRecorded();
    const index = this.#stats.dispatches;
    const d = this.device;
    d.pushErrorScope("validation");
    try {
      this.#record(def, params, buffers, workgroups);
      this.#submitRecorded();
    } finally {
      const defines = def.defines ? ` ${JSON.stringify(def.defines)}` : "";
      const where = `kernel ${def.name}${defines} (${def.file}), dispatch ${index} of this ` +
        `process, ${workgroups} workgroups`;
      this.#debugScopes.push(
        d.popErrorScope().then((err) => {
          if (err) this.#errors.push(`${where}: ${err.message}`);
        }),
      );
    }
  }

  #record(def: KernelDef, params: Param[], buffers: (BufRef | null)[], workgroups: number): void {
    const c = this.#pipelineFor(def);
    if (buffers.length !== def.storage.length) {
      throw new TypeError(
        `Cannot dispatch kernel ${def.name}: expected ${def.storage.length} buffers: found ${buffers.length}`,
      );
    }
    if (this.#deferredRanges.length) this.#touch(buffers);
    const bytes = Math.max(16, params.length * 4);
    const prof = this.#profile;
    // Make room before the parameters are written: a submit resets the arena, and a dispatch
    // recorded after it must not point at the old offset (later ones would overwrite it).
    if (this.#arenaUsed + bytes > ARENA_BYTES || (prof && prof.used + 2 > PROFILE_QUERIES)) {
      this.submit();
    }
    const off = this.#arenaUsed;
    const w = off / 4;
    for (let i = 0; i < params.length; i++) {
      const p = params[i];
      if (typeof p === "number") this.#arenaU32[w + i] = p;
      else if ("f32" in p) this.#arenaF32[w + i] = p.f32;
      else this.#arenaI32[w + i] = p.i32;
    }
    this.#arenaUsed = off + Math.ceil(bytes / SLOT) * SLOT;
    // Texture bindings: each slice copied into its texture now, ahead of the dispatch.
    const textures = def.storage.includes("texture")
      ? buffers.map((b, i) => def.storage[i] === "texture" ? this.#textureOf(def, b, i) : null)
      : null;
    const bg = this.#bindGroup(def, c, bytes, buffers, textures);
    const x = Math.min(workgroups, this.#maxGroups);
    const y = Math.ceil(workgroups / x);
    if (y > this.#maxGroups) {
      throw new RangeError(
        `Cannot dispatch kernel ${def.name}: ${workgroups} workgroups exceed ${this.#maxGroups}² per dispatch`,
      );
    }
    let pass: GPUComputePassEncoder;
    if (prof) {
      // One pass per dispatch, with timestamps at its start and end.
      this.#endPass();
      pass = this.#commandEncoder().beginComputePass({
        timestampWrites: {
          querySet: prof.set,
          beginningOfPassWriteIndex: prof.used,
          endOfPassWriteIndex: prof.used + 1,
        },
      });
      prof.used += 2;
      prof.labels.push({
        index: prof.next++,
        kernel: def.name,
        defines: { ...def.defines },
        workgroups,
      });
    } else {
      pass = this.#computePass();
    }
    pass.setPipeline(c.pipeline);
    pass.setBindGroup(0, bg, [off]);
    pass.dispatchWorkgroups(x, y, 1);
    if (prof) pass.end();
    this.#stats.dispatches++;
    for (let i = 0; i < buffers.length; i++) {
      if (def.storage[i] === "rw") this.#written(buffers[i]!.buffer);
    }
  }

  /**
   * The bind group of a dispatch: the uniform arena (its slice given as a dynamic offset at
   * dispatch) and the storage slices. Bind groups are cached per pipeline, keyed by the
   * parameter size and each slice's buffer, offset and size: a training loop dispatches the
   * same kernels on the same pooled buffers every step, and creating a bind group per
   * dispatch (and freeing it after the GPU is done) was the largest host cost of a step on an
   * H100 (about 3 of 8 ms at batch 256, plus its release inside the read-back).
   */
  #bindGroup(
    def: KernelDef,
    c: Compiled,
    bytes: number,
    buffers: (BufRef | null)[],
    textures: (BindingTexture | null)[] | null,
  ): GPUBindGroup {
    let key = String(bytes);
    for (let i = 0; i < buffers.length; i++) {
      if (def.storage[i] === null) continue;
      const b = buffers[i];
      if (!b) {
        throw new TypeError(`Cannot dispatch kernel ${def.name}: binding ${i + 1} needs a buffer`);
      }
      const t = textures?.[i];
      key += t ? `|t${t.id}` : `|${this.#bufferId(b.buffer)},${b.offset},${b.size}`;
    }
    const hit = c.groups.get(key);
    if (hit) return hit;
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: this.#arenaGpu, offset: 0, size: bytes } },
    ];
    const lim = this.device.limits;
    for (let i = 0; i < buffers.length; i++) {
      const b = buffers[i];
      if (def.storage[i] === null || !b) continue;
      const t = textures?.[i];
      if (t) {
        entries.push({ binding: i + 1, resource: t.view });
        continue;
      }
      const uniform = def.storage[i] === "uniform";
      const most = uniform ? lim.maxUniformBufferBindingSize : lim.maxStorageBufferBindingSize;
      if (b.size > most) {
        throw new BindingSizeError(def.name, i + 1, b.size, most, uniform);
      }
      entries.push({
        binding: i + 1,
        resource: { buffer: b.buffer, offset: b.offset, size: Math.max(4, b.size) },
      });
    }
    // Labelled with the kernel, so that WebGPU's message about an invalid one names it.
    const bg = this.device.createBindGroup({ label: def.name, layout: c.layout, entries });
    if (++this.#groupCount > BIND_GROUP_CACHE) this.forgetBindGroups();
    c.groups.set(key, bg);
    this.#stats.bindGroups++;
    return bg;
  }

  /**
   * The texture of a "texture" binding for slice `b`: the slice's own texture, as it is when
   * the buffer has not been written since its copy, else with the copy of the slice into it
   * recorded (outside any compute pass, so before the dispatch that reads it): whole rows of
   * {@linkcode TEXTURE_ROW} f32s, then the last, partial row. The queue runs each copy after
   * the dispatches recorded before it, so those still read the texture's previous contents.
   * Past {@linkcode GpuRuntime.textureBudget}, a new slice takes the shared texture of its row count and
   * binding.
   */
  #textureOf(def: KernelDef, b: BufRef | null, i: number): BindingTexture {
    if (!b) {
      throw new TypeError(`Cannot dispatch kernel ${def.name}: binding ${i + 1} needs a buffer`);
    }
    const floats = b.size / 4;
    if (!Number.isInteger(floats) || b.offset % 4 !== 0 || floats === 0) {
      throw new RangeError(
        `Cannot bind a texture for kernel ${def.name}, binding ${i + 1}: the slice must hold ` +
          `whole f32s at a multiple of 4 bytes: found offset ${b.offset}, size ${b.size}`,
      );
    }
    if (!textureFits(floats, this.device.limits)) {
      throw new RangeError(
        `Cannot bind a texture for kernel ${def.name}, binding ${i + 1}: ${floats} f32s take ` +
          `more than ${this.device.limits.maxTextureDimension2D} rows of ${TEXTURE_ROW}`,
      );
    }
    const rows = Math.ceil(floats / TEXTURE_ROW);
    const bytes = rows * TEXTURE_ROW * 4;
    const generation = this.generation(b.buffer);
    let key = `${this.#bufferId(b.buffer)},${b.offset},${b.size}`;
    let t = this.#textures.get(key);
    if (t?.generation === generation) return t; // the slice is unchanged since its copy
    const shared = !t && this.#textureBytes + bytes > this.textureBudget;
    if (shared) {
      key = `shared ${rows}:${i}`;
      t = this.#textures.get(key);
    }
    if (!t) {
      const texture = this.device.createTexture({
        label: `${def.name} binding ${i + 1}`,
        size: [TEXTURE_ROW, rows],
        format: "r32float",
        usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST,
      });
      t = { texture, view: texture.createView(), id: this.#nextTextureId++, bytes, generation };
      this.#textures.set(key, t);
      this.#textureBytes += t.bytes;
    }
    t.generation = shared ? -1 : generation;
    this.#stats.textureCopies++;
    this.#endPass();
    const enc = this.#commandEncoder();
    const full = Math.floor(floats / TEXTURE_ROW);
    const rowBytes = TEXTURE_ROW * 4;
    if (full > 0) {
      enc.copyBufferToTexture(
        { buffer: b.buffer, offset: b.offset, bytesPerRow: rowBytes, rowsPerImage: full },
        { texture: t.texture },
        [TEXTURE_ROW, full, 1],
      );
    }
    const rest = floats - full * TEXTURE_ROW;
    if (rest > 0) {
      enc.copyBufferToTexture(
        { buffer: b.buffer, offset: b.offset + full * rowBytes, bytesPerRow: rowBytes },
        { texture: t.texture, origin: { x: 0, y: full } },
        [rest, 1, 1],
      );
    }
    return t;
  }

  /** Destroys the textures of "texture" bindings (after a submit: none is in a recording). */
  #dropTextures(): void {
    for (const t of this.#textures.values()) t.texture.destroy();
    this.#textures.clear();
    this.#textureBytes = 0;
    this.forgetBindGroups();
  }

  /**
   * Registers work recorded later than asked for: `flush` records it, and runs before any
   * dispatch, copy or clear that touches one of `ranges` (byte ranges that overlap), before a
   * queue write there (with a submit, since a queue write lands before unsubmitted commands),
   * and at the latest at the next submit. Deferred work of several callers can then
   * be recorded as one dispatch (the split-K sums of a backward pass, lib/gpu/split_sums.ts),
   * while every command that reads or overwrites what it reads or writes still sees it done.
   *
   * @param ranges The slices the deferred work reads or writes.
   * @param flush Records it (called once per flush, however many ranges it registered).
   */
  defer(ranges: readonly BufRef[], flush: () => void): void {
    for (const r of ranges) this.#deferredRanges.push(r);
    this.#deferredFlushes.add(flush);
  }

  /** Records all deferred work now (see {@linkcode GpuRuntime.defer}). */
  flushDeferred(): void {
    if (!this.#deferredFlushes.size) return;
    const flushes = [...this.#deferredFlushes];
    this.#deferredFlushes.clear();
    this.#deferredRanges = [];
    for (const f of flushes) f();
  }

  /**
   * Flushes the deferred work when one of `refs` overlaps a range it registered.
   *
   * @returns whether it did.
   */
  #touch(refs: readonly (BufRef | null)[]): boolean {
    for (const r of refs) {
      if (!r) continue;
      for (const d of this.#deferredRanges) {
        if (
          d.buffer === r.buffer && d.offset < r.offset + Math.max(r.size, 1) &&
          r.offset < d.offset + Math.max(d.size, 1)
        ) {
          this.flushDeferred();
          return true;
        }
      }
    }
    return false;
  }

  #written(b: GPUBuffer): void {
    this.#generations.set(b, ++this.#clock);
  }

  /**
   * The write generation of a buffer: it changes whenever a recorded dispatch binds the
   * buffer for writing, or a copy, clear or queue write targets it (in recording order, as the
   * GPU will run them). Caches of values derived from a buffer (packed conv weights) compare
   * it to tell whether the buffer may have changed since.
   *
   * @param b A buffer.
   * @returns its generation (0 if never written through this runtime).
   */
  generation(b: GPUBuffer): number {
    return this.#generations.get(b) ?? 0;
  }

  /**
   * Registers work to record at every submit, just before the command buffer is finished
   * (the packed-weight cache refreshes the weights the optimizer wrote there). A hook that
   * dispatches may overflow the parameter arena; the submit that makes room then runs no hooks.
   *
   * @param hook Called with nothing; may record dispatches.
   */
  beforeSubmit(hook: () => void): void {
    this.#beforeSubmit.push(hook);
  }

  #bufferId(b: GPUBuffer): number {
    let id = this.#bufferIds.get(b);
    if (id === undefined) this.#bufferIds.set(b, id = this.#nextBufferId++);
    return id;
  }

  /**
   * Drops every cached bind group (they hold their buffers); called when the pool destroys
   * buffers and when the cache grows past its bound.
   */
  forgetBindGroups(): void {
    for (const c of this.#pipelines.values()) c.groups.clear();
    this.#groupCount = 0;
  }

  /**
   * Starts timing every dispatch on the GPU (timestamp queries, one compute pass per
   * dispatch, so the per-pass cost is included) until {@linkcode GpuRuntime.stopProfile}.
   *
   * @throws Error when the device lacks the "timestamp-query" feature.
   */
  startProfile(): void {
    if (this.#profile) return;
    if (!this.device.features.has("timestamp-query")) {
      throw new Error(
        "Cannot profile kernels: this adapter has no timestamp-query feature (seisdec info lists the features)",
      );
    }
    this.submit();
    this.#profile = {
      set: this.device.createQuerySet({ type: "timestamp", count: PROFILE_QUERIES }),
      resolve: this.device.createBuffer({
        size: PROFILE_QUERIES * 8,
        usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      }),
      labels: [],
      used: 0,
      pending: [],
      next: 0,
    };
  }

  /**
   * Ends profiling: submits, waits and returns the dispatches since
   * {@linkcode GpuRuntime.startProfile}, in order, with their GPU times (null for a dispatch
   * whose timestamps were zero or out of order: {@linkcode timestampMs}).
   *
   * @returns the profiled dispatches (empty when profiling was not started).
   */
  async stopProfile(): Promise<ProfiledDispatch[]> {
    const prof = this.#profile;
    if (!prof) return [];
    this.submit();
    this.#profile = null;
    const parts = await Promise.all(prof.pending);
    prof.set.destroy();
    prof.resolve.destroy();
    return parts.flat();
  }

  /** Records the resolution of the profile's timestamps; their read-back resolves later. */
  #flushProfile(): void {
    const prof = this.#profile;
    if (!prof || prof.used === 0) return;
    const n = prof.used;
    const labels = prof.labels;
    const stage = this.#stage(n * 8);
    this.#endPass();
    // A new encoder where debug mode submitted the dispatches' own.
    const enc = this.#commandEncoder();
    enc.resolveQuerySet(prof.set, 0, n, prof.resolve, 0);
    enc.copyBufferToBuffer(prof.resolve, 0, stage, 0, n * 8);
    prof.used = 0;
    prof.labels = [];
    prof.pending.push((async () => {
      // Map only after the submit that follows this call (submit() runs synchronously on).
      await Promise.resolve();
      await stage.mapAsync(GPUMapMode.READ, 0, n * 8);
      const t = new BigUint64Array(stage.getMappedRange(0, n * 8).slice(0));
      stage.unmap();
      this.#staging.push(stage);
      return labels.map((l, i) => ({ ...l, ms: timestampMs(t[2 * i], t[2 * i + 1]) }));
    })());
  }

  #computePass(): GPUComputePassEncoder {
    if (!this.#pass) this.#pass = this.#commandEncoder().beginComputePass();
    return this.#pass;
  }

  #commandEncoder(): GPUCommandEncoder {
    if (!this.#encoder) this.#encoder = this.device.createCommandEncoder();
    return this.#encoder;
  }

  #endPass(): void {
    if (this.#pass) {
      this.#pass.end();
      this.#pass = null;
    }
  }

  /**
   * Records a buffer-to-buffer copy.
   *
   * @param src Source slice.
   * @param dst Destination slice (at least as large).
   * @param bytes Bytes to copy (a multiple of 4), default src.size.
   */
  copy(src: BufRef, dst: BufRef, bytes = src.size): void {
    if (bytes === 0) return;
    if (this.#deferredRanges.length) this.#touch([src, dst]);
    this.#written(dst.buffer);
    this.#endPass();
    this.#commandEncoder().copyBufferToBuffer(
      src.buffer,
      src.offset,
      dst.buffer,
      dst.offset,
      bytes,
    );
  }

  /**
   * Records zero-filling of a slice.
   *
   * @param dst The slice; offset and size must be multiples of 4.
   */
  clear(dst: BufRef): void {
    if (dst.size === 0) return;
    if (this.#deferredRanges.length) this.#touch([dst]);
    this.#written(dst.buffer);
    this.#endPass();
    this.#commandEncoder().clearBuffer(dst.buffer, dst.offset, dst.size);
  }

  /** True when commands are recorded but not yet submitted. */
  get hasPending(): boolean {
    return this.#encoder !== null;
  }

  /** Submits the recorded commands (if any) as one command buffer. */
  submit(): void {
    this.submitQuietly();
    this.#raise();
  }

  /**
   * Submits the recorded commands (if any) as {@linkcode GpuRuntime.submit} does, but leaves
   * the WebGPU errors reported so far for the next submit or read to throw: for a caller that
   * only tidies up (the pool's release at the end of a stage), whose errors are not its own.
   */
  submitQuietly(): void {
    this.#checkLost("submit GPU work");
    this.flushDeferred();
    if (!this.#submitting && this.#beforeSubmit.length) {
      this.#submitting = true;
      try {
        for (const hook of this.#beforeSubmit) hook();
      } finally {
        this.#submitting = false;
      }
    }
    this.#flushProfile();
    this.#submitRecorded();
    this.pool.afterSubmit();
    if (this.#textureBytes > this.textureBudget) this.#dropTextures();
  }

  /** Uploads the parameter arena and submits the command buffer recorded so far, if any. */
  #submitRecorded(): void {
    this.#endPass();
    if (this.#arenaUsed > 0) {
      this.device.queue.writeBuffer(this.#arenaGpu, 0, this.#arenaCpu, 0, this.#arenaUsed);
      this.#arenaUsed = 0;
    }
    if (this.#encoder) {
      this.device.queue.submit([this.#encoder.finish()]);
      this.#encoder = null;
      this.#stats.submits++;
    }
  }

  /** Throws the WebGPU errors reported since the last throw, if any. */
  #raise(): void {
    if (!this.#errors.length) return;
    const msg = this.#errors.splice(0).join("; ");
    if (this.#outOfMemory) {
      this.#outOfMemory = false;
      const { liveBytes, freeBytes } = this.pool.stats();
      // What was kept for reuse goes, so that a caller that catches this can go on smaller.
      this.pool.trim();
      const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
      throw new GpuOutOfMemoryError(
        `the GPU ran out of memory (WebGPU: ${msg}) with ${
          mib(liveBytes)
        } of seisdec's buffers in use and ${mib(freeBytes)} kept for reuse (now released)`,
      );
    }
    const hint = this.debug ? "" : " (set SEISDEC_GPU_DEBUG=1 to name the dispatch that caused it)";
    throw new Error(`WebGPU reported an error: ${msg}${hint}`);
  }

  /** In debug mode, waits for the error scopes of the dispatches so far. */
  async #settleScopes(): Promise<void> {
    while (this.#debugScopes.length) await Promise.all(this.#debugScopes.splice(0));
  }

  /** Submits and waits until the GPU has finished all submitted work. */
  async sync(): Promise<void> {
    this.submit();
    await this.device.queue.onSubmittedWorkDone();
    this.#checkLost("finish GPU work");
    await this.#settleScopes();
    this.#raise();
  }

  /**
   * Uploads data into a slice (a queue write, ordered before later submits).
   *
   * @param dst Destination slice.
   * @param data Values to write.
   */
  write(dst: BufRef, data: Float32Array | Uint32Array | Int32Array): void {
    // Deno panics on a queue write of no bytes (the fill of an empty tensor); clear() skips one too.
    if (data.length === 0) return;
    // A queue write lands before any command not yet submitted: deferred work on the slice
    // is recorded and submitted first.
    if (this.#deferredRanges.length && this.#touch([dst])) this.submit();
    this.#written(dst.buffer);
    this.device.queue.writeBuffer(dst.buffer, dst.offset, data as Float32Array<ArrayBuffer>);
  }

  /**
   * Reads slices back: one copy each into staging buffers, one submit, one wait.
   *
   * @param refs Slices to read (sizes multiples of 4).
   * @returns their contents as Float32Arrays (reinterpret for integer data).
   */
  async read(refs: BufRef[]): Promise<Float32Array[]> {
    const stages = refs.map((r) => this.#stage(r.size));
    for (let i = 0; i < refs.length; i++) {
      if (refs[i].size) this.copy(refs[i], { buffer: stages[i], offset: 0, size: refs[i].size });
    }
    this.submit();
    this.#stats.readbacks++;
    // Deno's mapAsync blocks the calling thread until the GPU is done; called from a later
    // task, it lets the caller record and submit the next steps first.
    if (this.deferMap) await new Promise((r) => setTimeout(r, 0));
    let out: Float32Array[];
    try {
      out = await Promise.all(stages.map(async (s, i) => {
        const n = refs[i].size;
        if (!n) return new Float32Array(0);
        await s.mapAsync(GPUMapMode.READ, 0, n);
        const copy = new Float32Array(s.getMappedRange(0, n).slice(0));
        s.unmap();
        return copy;
      }));
    } catch (e) {
      // A lost device fails the map before its `lost` promise settles: look a task later.
      await new Promise((r) => setTimeout(r, 0));
      this.#checkLost("read from the GPU");
      throw e;
    }
    for (const s of stages) this.#staging.push(s);
    // Deno's mapAsync resolves from its device poll: the runtime has just waited for events.
    eventLoopRan();
    await this.#settleScopes();
    this.#raise();
    return out;
  }

  #stage(bytes: number): GPUBuffer {
    const need = Math.max(256, bytes);
    let best = -1;
    for (let i = 0; i < this.#staging.length; i++) {
      const s = this.#staging[i].size;
      if (s >= need && s <= 4 * need && (best < 0 || s < this.#staging[best].size)) best = i;
    }
    if (best >= 0) return this.#staging.splice(best, 1)[0];
    if (this.#staging.length > 16) this.#staging.shift()!.destroy();
    return this.device.createBuffer({
      size: Math.ceil(need / 256) * 256,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
  }

  /**
   * Counts the GPU work done so far.
   *
   * @returns submit, dispatch, read-back and pipeline counters.
   */
  stats(): RuntimeStats {
    return { ...this.#stats };
  }
}

function kernelKey(def: KernelDef): string {
  return def.defines ? `${def.name}|${JSON.stringify(def.defines)}` : def.name;
}

let runtime: Promise<GpuRuntime> | null = null;
let current: GpuRuntime | null = null;

/**
 * Returns the process-wide GPU runtime, creating the device on first use. After the device is
 * lost ({@linkcode GpuRuntime.lost}), the next call requests a new adapter and device and
 * returns a new runtime; whatever was made on the old one (buffers, tensors, pipelines) is
 * gone.
 *
 * @returns the runtime.
 */
export function gpu(): Promise<GpuRuntime> {
  if (current?.lost) runtime = current = null;
  if (!runtime) {
    const p: Promise<GpuRuntime> = runtime = getDevice().then((d) => {
      const rt = new GpuRuntime(d);
      if (runtime === p) current = rt;
      return rt;
    }, (e) => {
      if (runtime === p) runtime = null;
      throw e;
    });
  }
  return runtime;
}
