/**
 * Backend registry: `initBackend()` brings up WebGPU (loading the kernel sources;
 * each kernel compiles at its first dispatch) or the CPU backend, and installs the
 * hooks the Tensor class needs.
 *
 * @module
 */
import { type BackendName, defaultBackend } from "../backend.ts";
import { adapterSummary } from "../gpu/device.ts";
import { gpu, type GpuRuntime } from "../gpu/runtime.ts";
import {
  defaultTuning,
  loadKernels,
  type Tuning,
  TUNING_FIELDS,
  TUNING_KINDS,
} from "../gpu/kernels.ts";
import type { Backend } from "./backend.ts";
import { cpuBackend } from "./cpu_backend.ts";
import { createGpuBackend } from "./gpu_backend.ts";
import { setTensorHooks, type Tensor } from "./tensor.ts";

let gpuBackend: Backend | null = null;
let runtime: GpuRuntime | null = null;
let tuning: Tuning | null = null;

/**
 * Tuning fields from the SEISDEC_TUNING environment variable (JSON, e.g.
 * `{"convTile": 8}`), for measuring other choices on an adapter.
 *
 * @returns the fields to override (none when unset).
 * @throws Error when the variable is not a JSON object of known fields.
 */
export function tuningOverride(): Partial<Tuning> {
  let raw: string | undefined;
  try {
    raw = Deno.env.get("SEISDEC_TUNING");
  } catch {
    return {};
  }
  return raw ? parseTuning(raw, "SEISDEC_TUNING") : {};
}

/**
 * Reads tuning fields written as JSON (SEISDEC_TUNING, a line of bench/gpu/tunings.txt).
 *
 * @param raw JSON text, e.g. `{"convTile": 8}`.
 * @param where What the text is, for errors.
 * @returns the fields.
 * @throws Error when the text is not a JSON object of known fields, each of the type the
 *   {@linkcode Tuning} field takes.
 * @example
 * ```ts
 * import { parseTuning } from "./backends.ts";
 * if (parseTuning('{"inFlight": 4}', "test").inFlight !== 4) throw new Error();
 * ```
 */
export function parseTuning(raw: string, where: string): Partial<Tuning> {
  const known: readonly string[] = TUNING_FIELDS;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new Error(`${where} is not JSON (${(e as Error).message}): ${raw}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new Error(`${where} must be a JSON object such as {"convTile": 8}: found ${raw}`);
  }
  for (const [k, x] of Object.entries(v)) {
    if (!known.includes(k)) {
      throw new Error(`${where} has an unknown field "${k}": expected one of ${known.join(", ")}`);
    }
    const kind = TUNING_KINDS[k as keyof Tuning];
    if (kind === "matmul" ? x !== "tiled" && x !== "blocked" : typeof x !== kind) {
      throw new Error(
        `${where}: field "${k}" must be ${
          kind === "matmul" ? '"tiled" or "blocked"' : `a ${kind}`
        }: found ${JSON.stringify(x)}`,
      );
    }
  }
  return v as Partial<Tuning>;
}

/**
 * Prepares a backend. For WebGPU this requests the device, picks the adapter's tuning
 * and loads the kernel sources, once per process; each kernel compiles at its first
 * dispatch (`compileAll` in `lib/gpu/kernels.ts` compiles them all up front).
 *
 * @param name "webgpu" or "cpu"; default from `--cpu` / SEISDEC_BACKEND.
 * @returns the backend.
 */
export async function initBackend(name: BackendName = defaultBackend()): Promise<Backend> {
  if (name === "cpu") return cpuBackend;
  if (!gpuBackend) {
    const rt = await gpu();
    const info = await adapterSummary();
    tuning = {
      ...defaultTuning(
        info.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader/i.test(info.description),
      ),
      ...tuningOverride(),
    };
    // Loads the kernel sources and makes the tuning the dispatchers' default.
    await loadKernels(rt, tuning);
    rt.deferMap = tuning.deferMap ?? false;
    runtime = rt;
    gpuBackend = createGpuBackend(rt, tuning);
  }
  return gpuBackend;
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
  return gpuBackend;
}

/**
 * A backend by name (must have been initialised for WebGPU).
 *
 * @param name Backend name.
 * @returns the backend.
 */
export function backendNamed(name: BackendName): Backend {
  if (name === "cpu") return cpuBackend;
  if (!gpuBackend) throw new Error("Cannot use WebGPU: call `await initBackend()` first");
  return gpuBackend;
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
  return Math.max(1, Math.floor(tuning?.inFlight ?? 1));
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
  return Math.max(1, Math.floor(tuning?.inferInFlight ?? stepsInFlight(name)));
}

/** Samples per inference pass unless the WebGPU tuning says otherwise. */
export const INFER_BATCH = 256;

/**
 * Samples per pass of the loops that only encode or assign: the WebGPU tuning's `inferBatch`,
 * else {@linkcode INFER_BATCH}.
 *
 * @param name Backend name.
 * @returns the batch size, ≥ 1.
 */
export function passBatch(name: BackendName): number {
  if (name === "cpu") return INFER_BATCH;
  return Math.max(1, Math.floor(tuning?.inferBatch ?? INFER_BATCH));
}

/** @returns the active GPU tuning, or null before WebGPU is initialised. */
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
