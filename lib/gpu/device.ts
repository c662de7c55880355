/**
 * WebGPU adapter and device acquisition.
 *
 * One device serves the whole process. {@linkcode getDevice} asks for the
 * adapter's own limits (not the WebGPU defaults), because the default 128 MiB
 * storage-buffer binding is too small for batch-256 activations. Once that device
 * is lost (a driver reset, a watchdog timeout, `destroy()`), the next call requests
 * a new adapter and device.
 *
 * @module
 */

import { optionalEnv } from "../util/env.ts";
import { fnv1aHex } from "../util/hash.ts";

/** What an adapter says about itself, for logs, benchmarks and `cli.ts info`. */
export interface AdapterSummary {
  /** Human-readable adapter name, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  description: string;
  /** Vendor, as the adapter reports it. */
  vendor: string;
  /** Architecture, as the adapter reports it. */
  architecture: string;
  /** Device, as the adapter reports it. */
  device: string;
  /**
   * Graphics API under wgpu ("vulkan", "metal", "dx12", "gl"), as {@linkcode backendOf} derives
   * it; "unknown" where Deno's adapter info cannot tell (Vulkan or D3D12 on Windows).
   */
  backend: string;
  /** True for software adapters such as llvmpipe. */
  isFallbackAdapter: boolean;
  /** Features of the device, sorted. */
  features: string[];
  /** Numeric limits of the device, by name. */
  limits: Record<string, number>;
}

let devicePromise: Promise<GPUDevice> | null = null;
let adapterRef: GPUAdapter | null = null;

/** Thrown when WebGPU or an adapter is missing. */
export class NoAdapterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NoAdapterError";
  }
}

/**
 * WebGPU reported that the GPU ran out of memory (a buffer it could not allocate): the step that
 * needed it did not run. The runtime has destroyed the buffers it kept for reuse by then, so a
 * caller may go on with smaller batches.
 */
export class GpuOutOfMemoryError extends Error {
  /** What ran out, as a clause: "the GPU ran out of memory (WebGPU: ...) with ...". */
  readonly detail: string;

  /**
   * Creates the error.
   *
   * @param detail What ran out, as a clause.
   */
  constructor(detail: string) {
    super(`Cannot continue on the GPU: ${detail}`);
    this.name = "GpuOutOfMemoryError";
    this.detail = detail;
  }
}

/**
 * The WebGPU device was lost (a driver reset, a watchdog timeout such as Windows' TDR, the GPU
 * running out of memory, or `destroy()`): nothing recorded since can run, and every buffer,
 * tensor and pipeline made on it is gone. The next `gpu()` or `initBackend("webgpu")` requests a
 * new device; tensors must be recreated on it.
 */
export class DeviceLostError extends Error {
  /** The device's `lost` info: its reason ("destroyed" or "unknown") and message. */
  readonly info: { reason: string; message: string };

  /**
   * Creates the error.
   *
   * @param message What could not be done, and why.
   * @param info The device's `lost` info.
   */
  constructor(message: string, info: { reason: string; message: string }) {
    super(message);
    this.name = "DeviceLostError";
    this.info = { reason: info.reason, message: info.message };
  }
}

/**
 * How a lost device's reason and message read in errors.
 *
 * @param info The device's `lost` info (its reason, "destroyed" or "unknown", and message).
 * @returns e.g. "destroyed: device was lost".
 * @example
 * ```ts
 * import { lostText } from "./device.ts";
 * if (lostText({ reason: "unknown", message: "" }) !== "unknown: no message") throw new Error();
 * ```
 */
export function lostText(info: { reason: string; message: string }): string {
  return `${info.reason}: ${info.message || "no message"}`;
}

/** @returns true when `navigator.gpu` exists in this runtime. */
export function hasWebGpu(): boolean {
  return typeof navigator !== "undefined" && "gpu" in navigator && !!navigator.gpu;
}

/**
 * Returns the process-wide WebGPU device, requesting it on first use.
 *
 * @returns the device, with the adapter's maximum buffer and workgroup limits.
 * @throws {NoAdapterError} when WebGPU is unavailable or no adapter is found.
 */
export function getDevice(): Promise<GPUDevice> {
  if (!devicePromise) {
    devicePromise = requestDevice().catch((e) => {
      devicePromise = null;
      throw e;
    });
  }
  return devicePromise;
}

async function requestDevice(): Promise<GPUDevice> {
  if (!hasWebGpu()) {
    throw new NoAdapterError(
      "Cannot start WebGPU: navigator.gpu is missing in this runtime: use Deno 2 or pass --cpu",
    );
  }
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) {
    throw new NoAdapterError(
      "Cannot start WebGPU: no adapter found: install a Vulkan driver (e.g. mesa-vulkan-drivers) or pass --cpu",
    );
  }
  adapterRef = adapter;
  const features: GPUFeatureName[] = [];
  if (adapter.features.has("timestamp-query")) features.push("timestamp-query");
  const device = await deviceOf(adapter, features);
  const p = devicePromise;
  device.lost.then((info) => {
    if (info.reason !== "destroyed") console.error(`WebGPU device lost: ${info.message}`);
    // A request made since (for a device lost earlier) is not this one's to drop.
    if (devicePromise === p) devicePromise = null;
  });
  return device;
}

/** The limits {@linkcode getDevice} asks for at the adapter's values. */
const WANTED_LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxStorageBuffersPerShaderStage",
] as const;

/**
 * The limits to request of an adapter: its own values of {@linkcode WANTED_LIMITS}, each made a
 * safe integer (some drivers report a 64-bit maximum, u64::MAX for `maxBufferSize`, which
 * `requestDevice` rejects as out of range, or as a bigint); a limit the adapter does not report
 * is left at WebGPU's default.
 *
 * @param limits The adapter's limits.
 */
export function requiredLimitsOf(limits: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of WANTED_LIMITS) {
    const v = (limits as unknown as Record<string, unknown>)[k];
    if (typeof v !== "number" && typeof v !== "bigint") continue;
    const n = Math.min(Number(v), Number.MAX_SAFE_INTEGER);
    if (n > 0) out[k] = n;
  }
  return out;
}

/**
 * Requests a device of an adapter with the adapter's own limits ({@linkcode requiredLimitsOf});
 * where the adapter refuses them (a driver that reports limits it does not grant), warns once
 * and takes WebGPU's default limits instead, with which every kernel runs (the portability
 * tests run seisdec so). `SEISDEC_DEFAULT_LIMITS=1` asks for the defaults from the start.
 *
 * @param adapter The adapter.
 * @param requiredFeatures The features to request.
 */
export async function deviceOf(
  adapter: Pick<GPUAdapter, "limits" | "requestDevice">,
  requiredFeatures: GPUFeatureName[] = [],
): Promise<GPUDevice> {
  // SEISDEC_DEFAULT_LIMITS=1 keeps WebGPU's default limits, as the least capable adapter
  // offers them, to check that seisdec runs there too.
  if (optionalEnv("SEISDEC_DEFAULT_LIMITS") === "1") {
    return await adapter.requestDevice({ requiredFeatures });
  }
  const requiredLimits = requiredLimitsOf(adapter.limits);
  try {
    return await adapter.requestDevice({ requiredLimits, requiredFeatures });
  } catch (e) {
    console.error(
      `warning: the WebGPU adapter refused its own limits (${
        e instanceof Error ? e.message : String(e)
      }): running with WebGPU's default limits (128 MiB storage bindings: large batches ` +
        `are split or refused)`,
    );
    return await adapter.requestDevice({ requiredFeatures });
  }
}

/**
 * Describes the adapter behind {@linkcode getDevice}.
 *
 * @returns adapter name, vendor, backend, fallback flag, features and limits.
 */
export async function adapterSummary(): Promise<AdapterSummary> {
  const device = await getDevice();
  const info = adapterRef!.info;
  const limits: Record<string, number> = {};
  // GPUSupportedLimits exposes its fields as prototype getters.
  for (const key in device.limits) {
    const v = (device.limits as unknown as Record<string, unknown>)[key];
    if (typeof v === "number") limits[key] = v;
  }
  const description = info.description || info.device || "unknown adapter";
  const backend = backendOf(info, Deno.build.os, envBackends());
  return {
    description,
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    backend,
    isFallbackAdapter: (info as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter ??
      false,
    features: [...device.features].sort(),
    limits,
  };
}

/** What {@linkcode backendOf} reads of an adapter's `GPUAdapterInfo`. */
export interface BackendClues {
  /** PCI vendor id in decimal, as Deno reports it ("0" where wgpu knows none). */
  vendor: string;
  /** PCI device id in decimal ("0" where wgpu knows none). */
  device: string;
  /** Adapter name. */
  description: string;
  /** Smallest subgroup size (absent before Deno exposed it). */
  subgroupMinSize?: number;
  /** Largest subgroup size (absent before Deno exposed it). */
  subgroupMaxSize?: number;
}

/** The wgpu backends Deno builds in, by OS (its ext/webgpu Cargo.toml). */
function compiledBackends(os: string): string[] {
  if (os === "windows") return ["vulkan", "dx12", "gl"];
  if (os === "darwin") return ["metal", "vulkan"]; // Vulkan only through MoltenVK
  return ["vulkan", "gl"];
}

/** wgpu's names for backends in DENO_WEBGPU_BACKEND (`Backends::from_comma_list`). */
const BACKEND_ALIASES: Record<string, string> = {
  vulkan: "vulkan",
  vk: "vulkan",
  dx12: "dx12",
  d3d12: "dx12",
  metal: "metal",
  mtl: "metal",
  opengl: "gl",
  gles: "gl",
  gl: "gl",
};

/**
 * The backends DENO_WEBGPU_BACKEND restricts wgpu to.
 *
 * @returns their names ("vulkan", "dx12", "metal", "gl"), or undefined when it is unset or
 *   cannot be read (no --allow-env).
 */
function envBackends(): string[] | undefined {
  const raw = optionalEnv("DENO_WEBGPU_BACKEND");
  if (!raw) return undefined;
  return raw.toLowerCase().split(",").map((b) => BACKEND_ALIASES[b.trim()]).filter((b) => b);
}

/**
 * The graphics API wgpu runs an adapter on. Deno's `GPUAdapterInfo` does not say (wgpu's
 * `AdapterInfo.backend` is not exposed), so it is derived from what each backend reports:
 * wgpu's GL backend knows no subgroup sizes and reports WebGPU's bounds, 4 and 128; its Metal
 * backend knows no PCI ids and reports vendor and device 0, where Vulkan and D3D12 report the
 * real ones. Of the backends Deno builds in on `os` (narrowed by DENO_WEBGPU_BACKEND), those
 * ruled out by these go; one left is the answer, else "unknown" (Vulkan or D3D12 on Windows,
 * which report alike: set DENO_WEBGPU_BACKEND to one of them to name it).
 *
 * @param info The adapter's info.
 * @param os `Deno.build.os`.
 * @param allowed The backends DENO_WEBGPU_BACKEND names (undefined: all).
 * @returns "vulkan", "metal", "dx12", "gl" or "unknown".
 * @example
 * ```ts
 * import { backendOf } from "./device.ts";
 * const h100 = { vendor: "4318", device: "9008", description: "NVIDIA H100 80GB HBM3" };
 * if (backendOf({ ...h100, subgroupMinSize: 32, subgroupMaxSize: 32 }, "linux") !== "vulkan") {
 *   throw new Error();
 * }
 * const m2 = { vendor: "0", device: "0", description: "Apple M2", subgroupMinSize: 4 };
 * if (backendOf({ ...m2, subgroupMaxSize: 64 }, "darwin") !== "metal") throw new Error();
 * if (backendOf({ ...h100, subgroupMinSize: 32, subgroupMaxSize: 32 }, "windows") !== "unknown") {
 *   throw new Error();
 * }
 * ```
 */
export function backendOf(info: BackendClues, os: string, allowed?: readonly string[]): string {
  let left = compiledBackends(os).filter((b) => !allowed || allowed.includes(b));
  if (left.length <= 1) return left[0] ?? "unknown";
  const gl = info.subgroupMinSize === undefined
    // Deno before subgroup sizes: only llvmpipe's GL adapter was known by its 128.
    ? /llvmpipe/i.test(info.description) && info.subgroupMaxSize === 128
    : info.subgroupMinSize === 4 && info.subgroupMaxSize === 128;
  if (gl && left.includes("gl")) return "gl";
  left = left.filter((b) => b !== "gl");
  const noPciIds = info.vendor === "0" && info.device === "0";
  if (noPciIds && left.includes("metal")) return "metal";
  left = left.filter((b) => b !== "metal");
  return left.length === 1 ? left[0] : "unknown";
}

/**
 * A one-line adapter name for test and benchmark output.
 *
 * @returns e.g. "llvmpipe (LLVM 15.0.6, 256 bits) [vulkan, fallback]".
 */
export async function adapterName(): Promise<string> {
  return adapterLabel(await adapterSummary());
}

/**
 * The one-line name of a described adapter ({@linkcode adapterName}).
 *
 * @param s The adapter.
 * @returns e.g. "llvmpipe (LLVM 15.0.6, 256 bits) [vulkan, fallback]".
 * @example
 * ```ts
 * import { adapterLabel } from "./device.ts";
 * const s = { description: "GPU X", backend: "vulkan", isFallbackAdapter: false };
 * if (adapterLabel(s) !== "GPU X [vulkan]") throw new Error();
 * ```
 */
export function adapterLabel(
  s: Pick<AdapterSummary, "description" | "backend" | "isFallbackAdapter">,
): string {
  return `${s.description} [${s.backend}${s.isFallbackAdapter ? ", fallback" : ""}]`;
}

/**
 * Turns an adapter description into a file-name part (bench results, stored tunings).
 *
 * @param description e.g. "llvmpipe (LLVM 15.0.6, 256 bits)".
 * @returns e.g. "llvmpipe-llvm-15-0-6-256-bits".
 * @example
 * ```ts
 * import { adapterSlug } from "./device.ts";
 * if (adapterSlug("NVIDIA H100 80GB HBM3") !== "nvidia-h100-80gb-hbm3") throw new Error();
 * ```
 */
export function adapterSlug(description: string): string {
  const slug = description.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return slug.slice(0, 60).replace(/-+$/, "") || "unknown";
}

/**
 * The adapter part of a file name (stored tunings, bench results): its slug (readable, cut at
 * 60 characters) and a hash of its whole name, so that adapters whose names differ only past
 * the cut, or only in case or punctuation, get files of their own.
 *
 * @param name The adapter's name or description.
 * @returns e.g. `nvidia-h100-80gb-hbm3-4bc2c3d8`.
 * @example
 * ```ts
 * import { adapterFileStem } from "./device.ts";
 * const a = adapterFileStem("GPU A [vulkan]"), b = adapterFileStem("gpu-a [vulkan]");
 * if (!/^gpu-a-vulkan-[0-9a-f]{8}$/.test(a) || a === b) throw new Error(`${a} ${b}`);
 * ```
 */
export function adapterFileStem(name: string): string {
  return `${adapterSlug(name)}-${fnv1aHex(name)}`;
}
