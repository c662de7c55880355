/**
 * WebGPU adapter and device acquisition.
 *
 * One device serves the whole process. {@linkcode getDevice} asks for the
 * adapter's own limits (not the WebGPU defaults), because the default 128 MiB
 * storage-buffer binding is too small for batch-256 activations.
 *
 * @module
 */

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
  /** Graphics API under wgpu, guessed from the adapter: "vulkan", "gl" or "unknown". */
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
  const want = [
    "maxStorageBufferBindingSize",
    "maxBufferSize",
    "maxComputeWorkgroupStorageSize",
    "maxComputeInvocationsPerWorkgroup",
    "maxComputeWorkgroupSizeX",
    "maxComputeWorkgroupSizeY",
    "maxComputeWorkgroupSizeZ",
    "maxStorageBuffersPerShaderStage",
  ] as const;
  // SEISDEC_DEFAULT_LIMITS=1 keeps WebGPU's default limits, as the least capable adapter
  // offers them, to check that seisdec runs there too.
  const requiredLimits: Record<string, number> = {};
  if (Deno.env.get("SEISDEC_DEFAULT_LIMITS") !== "1") {
    for (const k of want) requiredLimits[k] = adapter.limits[k];
  }
  const features: GPUFeatureName[] = [];
  if (adapter.features.has("timestamp-query")) features.push("timestamp-query");
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures: features });
  device.lost.then((info) => {
    if (info.reason !== "destroyed") console.error(`WebGPU device lost: ${info.message}`);
    devicePromise = null;
  });
  return device;
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
  // wgpu's GL backend reports llvmpipe with subgroup size 128; Vulkan/lavapipe reports the SIMD width.
  const backend = /llvmpipe/i.test(description)
    ? (info.subgroupMaxSize === 128 ? "gl" : "vulkan")
    : "vulkan";
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
