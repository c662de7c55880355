/**
 * Backend registry: `initBackend()` brings up WebGPU (loading the kernel sources;
 * each kernel compiles at its first dispatch) or the CPU backend, and installs the
 * hooks the Tensor class needs.
 *
 * @module
 */
import { type BackendName, checkBackendName, defaultBackend } from "../backend.ts";
import {
  adapterLabel,
  type AdapterSummary,
  adapterSummary,
  DeviceLostError,
  lostText,
} from "../gpu/device.ts";
import { type TensorLimit, tensorLimit } from "../gpu/pool.ts";
import { gpu, type GpuRuntime } from "../gpu/runtime.ts";
import {
  defaultTuning,
  INFER_BATCH,
  loadKernels,
  type Tuning,
  tuningValue,
} from "../gpu/kernels.ts";
import { parseTuning, readStoredTuning } from "../gpu/tuning_store.ts";
import { UserError } from "../util/errors.ts";
import { optionalEnv } from "../util/env.ts";
import { plainSoftware, type Software } from "../util/software.ts";
import type { Backend } from "./backend.ts";
import { cpuBackend } from "./cpu_backend.ts";
import { createGpuBackend } from "./gpu_backend.ts";
import { setTensorHooks, type Tensor } from "./tensor.ts";

export { parseTuning };

let gpuBackend: Backend | null = null;
let runtime: GpuRuntime | null = null;
let tuning: Tuning | null = null;
let source: TuningSource | null = null;

/** Where the active WebGPU tuning's fields came from, for `cli.ts info`. */
export interface TuningSource {
  /** The default it starts from: the software adapters' or the GPUs'. */
  default: "software" | "gpu";
  /** The stored tuning merged over it (`cli.ts tune`), if any. */
  stored: {
    path: string;
    date: string;
    deno?: string;
    kernels?: string;
    fields: Partial<Tuning>;
  } | null;
  /** The fields SEISDEC_TUNING set last (empty when unset). */
  env: Partial<Tuning>;
}

/**
 * Whether an adapter runs on the CPU (llvmpipe, lavapipe, SwiftShader, Windows' WARP, "Microsoft
 * Basic Render Driver"): it takes the software default tuning.
 *
 * @param info The adapter.
 * @returns true for a software adapter.
 */
export function isSoftwareAdapter(
  info: Pick<AdapterSummary, "isFallbackAdapter" | "description">,
): boolean {
  return info.isFallbackAdapter ||
    /llvmpipe|lavapipe|swiftshader|microsoft basic render|\bwarp\b/i.test(info.description);
}

/**
 * Tuning fields from the SEISDEC_TUNING environment variable (JSON, e.g.
 * `{"convTile": 8}`), for measuring other choices on an adapter.
 *
 * @returns the fields to override (none when unset).
 * @throws {UserError} when the variable is not a JSON object of known fields, each of its
 *   kind (see {@linkcode parseTuning}).
 */
export function tuningOverride(): Partial<Tuning> {
  const raw = optionalEnv("SEISDEC_TUNING");
  if (!raw) return {};
  try {
    return parseTuning(raw, "SEISDEC_TUNING");
  } catch (e) {
    // The user's setting: one line and status 2 from the CLI, not a stack trace.
    throw new UserError((e as Error).message);
  }
}

/**
 * The tuning WebGPU runs with on an adapter: the adapter kind's default, then the adapter's
 * stored tuning (`cli.ts tune`, lib/gpu/tuning_store.ts), then SEISDEC_TUNING.
 *
 * @param info The adapter.
 * @returns the tuning and where its fields came from.
 * @throws {UserError} when the stored tuning file or SEISDEC_TUNING is malformed.
 */
export async function resolveTuning(
  info: AdapterSummary,
): Promise<{ tuning: Tuning; source: TuningSource }> {
  const software = isSoftwareAdapter(info);
  const stored = await readStoredTuning(adapterLabel(info));
  const override = tuningOverride();
  const tuning = { ...defaultTuning(software), ...stored?.stored.tuning, ...override };
  // Fields that pass alone may not together (a conv's channel tile × pixel tile).
  try {
    parseTuning(
      JSON.stringify(tuning),
      "the tuning (the adapter's default, its stored tuning and SEISDEC_TUNING)",
    );
  } catch (e) {
    throw new UserError(
      `${(e as Error).message}: change SEISDEC_TUNING, or run \`cli.ts tune --reset\``,
    );
  }
  return {
    tuning,
    source: {
      default: software ? "software" : "gpu",
      stored: stored
        ? {
          path: stored.path,
          date: stored.stored.date,
          deno: stored.stored.deno,
          kernels: stored.stored.kernels,
          fields: stored.stored.tuning,
        }
        : null,
      env: override,
    },
  };
}

/**
 * Prepares a backend. For WebGPU this requests the device, picks the adapter's tuning (its
 * default, then the adapter's stored tuning from `cli.ts tune` (lib/gpu/tuning_store.ts), then
 * SEISDEC_TUNING) and loads the kernel sources, once per process; each kernel compiles at its first
 * dispatch (`compileAll` in `lib/gpu/kernels.ts` compiles them all up front). Once the device is
 * lost (see {@linkcode deviceLost}), the next call does all this again on a new device; tensors
 * made on the old one cannot be used on it and must be recreated.
 *
 * @param name "webgpu" or "cpu"; default from `--cpu` / SEISDEC_BACKEND.
 * @returns the backend.
 * @throws {TypeError} for any other name.
 */
export async function initBackend(name: BackendName = defaultBackend()): Promise<Backend> {
  if (checkBackendName(name, "initialise a backend") === "cpu") return cpuBackend;
  if (!gpuBackend || runtime?.lost) {
    gpuBackend = null;
    const rt = await gpu();
    ({ tuning, source } = await resolveTuning(await adapterSummary()));
    // Loads the kernel sources and makes the tuning the dispatchers' default.
    await loadKernels(rt, tuning);
    rt.deferMap = tuningValue(tuning, "deferMap");
    runtime = rt;
    gpuBackend = createGpuBackend(rt);
  }
  return gpuBackend;
}

/**
 * Switches the running process to another WebGPU tuning, so that several tunings can be timed
 * in one process (`cli.ts tune`'s trial worker, lib/bench/tune_point.ts) and each kernel
 * variant compiles once, however many trials use it. Waits for the work in flight, then makes
 * `t` the dispatchers' default (which the backend reads at each call) and the pipelining's;
 * buffers, pool and compiled pipelines are kept. Tensors made before stay valid; a
 * model's packed weights are repacked for the new layouts as they are used. Call it between
 * runs, never while a training step or pass is being recorded.
 *
 * @param t The complete tuning (e.g. `{ ...defaultTuning(software), ...fields }`).
 * @param from Where its fields came from, for `cli.ts info` (default: the same default kind,
 *   every field of `t` counted as set by the caller, like SEISDEC_TUNING's).
 * @throws Error when WebGPU is not initialised, or when `t` fails the checks of a stored or
 *   SEISDEC_TUNING tuning ({@linkcode parseTuning}: a known field of its kind each, counts
 *   positive integers, conv tiles multiples of 4, ...), which the dispatchers would otherwise
 *   round or clamp while {@linkcode gpuTuning} reported the value given.
 */
export async function retuneGpu(t: Tuning, from?: TuningSource): Promise<void> {
  if (!runtime || !source) {
    throw new Error('Cannot retune WebGPU: call `await initBackend("webgpu")` first');
  }
  parseTuning(JSON.stringify(t), "Cannot retune WebGPU: the tuning");
  await runtime.sync();
  await loadKernels(runtime, t);
  runtime.deferMap = tuningValue(t, "deferMap");
  tuning = t;
  source = from ?? { default: source.default, stored: null, env: t };
}

/**
 * The backend of a tensor.
 *
 * @param t A tensor.
 * @returns its backend.
 */
export function backendOf(t: Tensor): Backend {
  if (t.device === "cpu") return cpuBackend;
  if (!gpuBackend) throw new Error("Cannot run a WebGPU op: call `await initBackend()` first");
  // A tensor of the lost device says so, naming itself (its ref getter throws).
  if (runtime!.lost) void t.ref;
  return live(gpuBackend, "run a WebGPU op");
}

/** The WebGPU backend, or the error that its device was lost. */
function live(b: Backend, action: string): Backend {
  const l = runtime!.lost;
  if (!l) return b;
  throw new DeviceLostError(
    `Cannot ${action}: the WebGPU device was lost (${lostText(l)}): call ` +
      '`await initBackend("webgpu")` for a new device, and recreate the tensors on it',
    l,
  );
}

/**
 * A backend by name (must have been initialised for WebGPU).
 *
 * @param name Backend name.
 * @returns the backend.
 * @throws {TypeError} for a name that is not a backend's.
 */
export function backendNamed(name: BackendName): Backend {
  if (checkBackendName(name, "use a backend") === "cpu") return cpuBackend;
  if (!gpuBackend) throw new Error("Cannot use WebGPU: call `await initBackend()` first");
  return live(gpuBackend, "use WebGPU");
}

/**
 * How the WebGPU device was lost (a driver reset, a watchdog timeout, the GPU running out of
 * memory, `destroy()`), or null while it works or before WebGPU is initialised. WebGPU reports a
 * loss a task after it happens at the earliest; after it, every GPU tensor and WebGPU op throws
 * a `DeviceLostError`, until {@linkcode initBackend} brings up a new device.
 *
 * @returns the device's lost info, or null.
 */
export function deviceLost(): GPUDeviceLostInfo | null {
  return runtime?.lost ?? null;
}

/**
 * Destroys the WebGPU buffers kept for reuse (nothing on the CPU backend or before WebGPU is
 * initialised). The pool keeps each size's peak for the
 * life of the process; a stage (pretraining, fine-tuning, an encoding pass) calls this when it
 * ends, so that the next, at other batch sizes, does not hold its peak on top of this one's.
 */
export function releaseCachedMemory(): void {
  if (runtime && !runtime.lost) {
    // What the stage released since its last submit becomes free at a submit; WebGPU frees a
    // destroyed buffer only once the submitted work that uses it is done. Quietly: an error
    // WebGPU reported stays for the caller's next read to throw, not this tidy-up's.
    if (runtime.hasPending || runtime.pool.stats().freeBuffers > 0) runtime.submitQuietly();
    runtime.pool.trim();
  }
}

/** @returns the GPU runtime once WebGPU is initialised, else null. */
export function gpuRuntime(): GpuRuntime | null {
  return runtime;
}

/**
 * Steps a training or encoding loop keeps in flight on a backend (see lib/util/pipeline.ts):
 * the WebGPU tuning's `inFlight` (1 before WebGPU is initialised), 1 on the CPU backend.
 *
 * @param name Backend name.
 * @returns the pipeline depth, ≥ 1.
 */
export function stepsInFlight(name: BackendName): number {
  if (name === "cpu") return 1;
  return Math.max(1, Math.floor(tuning ? tuningValue(tuning, "inFlight") : 1));
}

/**
 * How many inference passes (no gradients, no optimizer: encoding, assignment, validation) a
 * loop keeps in flight: the WebGPU tuning's `inferInFlight`, else its `inFlight`; 1 on the CPU
 * backend.
 *
 * @param name Backend name.
 * @returns the pipeline depth, ≥ 1.
 */
export function passesInFlight(name: BackendName): number {
  if (name === "cpu") return 1;
  return Math.max(1, Math.floor(tuning ? tuningValue(tuning, "inferInFlight") : 1));
}

export { INFER_BATCH };

/**
 * Samples per pass of the loops that only encode or assign: the WebGPU tuning's `inferBatch`,
 * else {@linkcode INFER_BATCH}.
 *
 * @param name Backend name.
 * @returns the batch size, ≥ 1.
 */
export function passBatch(name: BackendName): number {
  if (name === "cpu") return INFER_BATCH;
  return Math.max(1, Math.floor(tuning ? tuningValue(tuning, "inferBatch") : INFER_BATCH));
}

/**
 * Bytes one tensor may hold on a backend: on WebGPU the smaller of the adapter's
 * `maxStorageBufferBindingSize` (128 MiB unless the adapter offers more) and its
 * `maxBufferSize` ({@linkcode tensorLimitOf}), which bounds every activation of a batch;
 * Infinity on the CPU backend and before WebGPU is initialised.
 *
 * @param name Backend name.
 * @returns the limit in bytes.
 */
export function bindingLimit(name: BackendName): number {
  return tensorLimitOf(name).bytes;
}

/**
 * The most bytes one tensor may hold on a backend, and the adapter limit that sets it
 * ({@linkcode tensorLimit}); Infinity on the CPU backend and before WebGPU is initialised.
 *
 * @param name Backend name.
 * @returns the limit and its name.
 */
export function tensorLimitOf(name: BackendName): TensorLimit {
  if (name === "cpu" || !runtime) return { bytes: Infinity, name: "maxStorageBufferBindingSize" };
  return tensorLimit(runtime.device.limits);
}

/**
 * The provenance of work on a backend ({@linkcode Software}): seisdec's and Deno's versions,
 * and on WebGPU the adapter's description (as `cli.ts info` prints it) and the tuning in effect
 * (every field). WebGPU is not brought up for it: before {@linkcode initBackend}, adapter and
 * tuning are null.
 *
 * @param name Backend name.
 * @returns the record.
 */
export async function softwareOf(name: BackendName): Promise<Software> {
  if (checkBackendName(name, "describe a backend") === "cpu") return plainSoftware("cpu");
  if (!runtime || !tuning) return { ...plainSoftware(null), backend: "webgpu" };
  return {
    ...plainSoftware(null),
    backend: "webgpu",
    adapter: (await adapterSummary()).description,
    tuning: { ...tuning! },
  };
}

/**
 * Where the active GPU tuning came from.
 *
 * @returns where the active GPU tuning came from, or null before WebGPU is initialised.
 */
export function gpuTuningSource(): TuningSource | null {
  return source;
}

/**
 * The active GPU tuning.
 *
 * @returns the active GPU tuning, or null before WebGPU is initialised.
 */
export function gpuTuning(): Tuning | null {
  return tuning;
}

setTensorHooks({
  read: async (t) => (await backendOf(t).read([t]))[0],
  fromArray: (data, shape, device) => backendNamed(device).fromArray(data, shape),
  fill: (shape, value, device) => backendNamed(device).fill(shape, value),
  accumulate: (into, g, overwrite) => {
    const b = backendOf(into);
    if (overwrite) b.copyInto(g, into);
    else {
      const s = b.axpby(into, g, 1, 1);
      b.copyInto(s, into);
      s.dispose();
    }
  },
  add: (a, b) => backendOf(a).axpby(a, b, 1, 1),
});
