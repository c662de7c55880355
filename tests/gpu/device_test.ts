/**
 * The adapter summary (lib/gpu/device.ts): the graphics API under wgpu, which Deno's
 * GPUAdapterInfo does not report, derived from what each wgpu backend fills in, and the
 * adapter names that stored tunings are filed under.
 *
 * @module
 */
import { assert, assertEquals } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import {
  adapterLabel,
  adapterSummary,
  backendOf,
  deviceOf,
  requiredLimitsOf,
} from "../../lib/gpu/device.ts";
import { tuningFileStem } from "../../lib/gpu/tuning_store.ts";
import { isSoftwareAdapter } from "../../lib/tensor/backends.ts";

// GPUAdapterInfo as Deno 2.9 reports it (vendor and device are PCI ids in decimal), for
// adapters seen on each backend: lavapipe (Vulkan) and llvmpipe (GL) here, the H100 of the
// committed bench results (Vulkan, its subgroup size 32), and what wgpu's Metal backend
// reports (no PCI ids, subgroups 4 to 64) and its GL backend (subgroups 4 to 128, WebGPU's
// bounds).
const LLVMPIPE = "llvmpipe (LLVM 15.0.6, 256 bits)";
const lavapipe = {
  vendor: "65541",
  device: "0",
  description: LLVMPIPE,
  subgroupMinSize: 8,
  subgroupMaxSize: 8,
};
const llvmpipeGl = { ...lavapipe, subgroupMinSize: 4, subgroupMaxSize: 128 };
const h100 = {
  vendor: "4318",
  device: "9008",
  description: "NVIDIA H100 80GB HBM3",
  subgroupMinSize: 32,
  subgroupMaxSize: 32,
};
const appleMetal = {
  vendor: "0",
  device: "0",
  description: "Apple M2 Pro",
  subgroupMinSize: 4,
  subgroupMaxSize: 64,
};
const radeonDx12 = {
  vendor: "4098",
  device: "29772",
  description: "AMD Radeon RX 7900 XTX",
  subgroupMinSize: 32,
  subgroupMaxSize: 64,
};

Deno.test("backendOf: Linux adapters are Vulkan unless they report GL's subgroup bounds", () => {
  assertEquals(backendOf(lavapipe, "linux"), "vulkan");
  assertEquals(backendOf(h100, "linux"), "vulkan");
  assertEquals(backendOf(llvmpipeGl, "linux"), "gl");
  // Adreno's Vulkan driver reports 64 to 128: the 128 alone is not GL's mark.
  assertEquals(
    backendOf({ ...h100, subgroupMinSize: 64, subgroupMaxSize: 128 }, "android"),
    "vulkan",
  );
  // A Deno without subgroup sizes: as before, llvmpipe's 128 meant GL, anything else Vulkan.
  const old = { vendor: "65541", device: "0", description: LLVMPIPE };
  assertEquals(backendOf({ ...old, subgroupMaxSize: 128 }, "linux"), "gl");
  assertEquals(backendOf(old, "linux"), "vulkan");
});

Deno.test("backendOf: Metal on macOS, and Windows says unknown where Vulkan and D3D12 look alike", () => {
  assertEquals(backendOf(appleMetal, "darwin"), "metal");
  // MoltenVK reports PCI ids: on macOS that can only be Vulkan.
  assertEquals(
    backendOf({ ...appleMetal, vendor: "4203", subgroupMaxSize: 32 }, "darwin"),
    "vulkan",
  );
  assertEquals(backendOf(radeonDx12, "windows"), "unknown");
  assertEquals(backendOf(llvmpipeGl, "windows"), "gl");
  // Metal is not built into Deno on Windows: vendor 0 proves nothing there.
  assertEquals(backendOf({ ...appleMetal, subgroupMaxSize: 32 }, "windows"), "unknown");
});

Deno.test("backendOf: DENO_WEBGPU_BACKEND narrows the choice to what wgpu was allowed", () => {
  assertEquals(backendOf(radeonDx12, "windows", ["dx12"]), "dx12");
  assertEquals(backendOf(radeonDx12, "windows", ["vulkan"]), "vulkan");
  assertEquals(backendOf(radeonDx12, "windows", ["vulkan", "dx12"]), "unknown");
  assertEquals(backendOf(radeonDx12, "windows", ["dx12", "gl"]), "dx12");
  assertEquals(backendOf(llvmpipeGl, "linux", ["gl"]), "gl");
  // A backend Deno lacks on this OS, or none it knows: no adapter could come from it.
  assertEquals(backendOf(appleMetal, "linux", ["metal"]), "unknown");
  assertEquals(backendOf(appleMetal, "darwin", []), "unknown");
});

Deno.test("backendOf: Linux/Vulkan adapters keep the names their stored tunings are filed under", () => {
  // Committed results and users' tuning files name lavapipe and the H100 "[vulkan...]".
  const label = (info: typeof lavapipe, fallback: boolean) =>
    adapterLabel({
      description: info.description,
      backend: backendOf(info, "linux"),
      isFallbackAdapter: fallback,
    });
  assertEquals(label(lavapipe, true), `${LLVMPIPE} [vulkan, fallback]`);
  assertEquals(
    tuningFileStem(label(lavapipe, true)),
    tuningFileStem("llvmpipe (LLVM 15.0.6, 256 bits) [vulkan, fallback]"),
  );
  assertEquals(label(h100, false), "NVIDIA H100 80GB HBM3 [vulkan]");
});

gpuTest(
  "adapterSummary names this adapter's backend; with DENO_WEBGPU_BACKEND=gl, GL",
  async () => {
    const s = await adapterSummary();
    // Deno builds Vulkan and GL into Linux: one of them, never a guess between them.
    if (Deno.build.os === "linux") assert(["vulkan", "gl"].includes(s.backend), s.backend);
    // A child restricted to wgpu's GL backend (llvmpipe here, when Mesa's EGL is installed).
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { adapterSummary } from "${new URL("../../lib/gpu/device.ts", import.meta.url)}";` +
        "console.log(JSON.stringify(await adapterSummary()))",
      ],
      env: { DENO_WEBGPU_BACKEND: "gl" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (r.code !== 0) {
      console.warn(`no GL adapter here: ${new TextDecoder().decode(r.stderr).slice(0, 200)}`);
      return;
    }
    assertEquals(JSON.parse(new TextDecoder().decode(r.stdout)).backend, "gl");
  },
);

Deno.test("requiredLimitsOf makes a 64-bit limit (a number past 2^53 or a bigint) a safe integer, and leaves out what the adapter does not report", () => {
  const limits = {
    maxBufferSize: 2 ** 64,
    maxStorageBufferBindingSize: 18446744073709551615n,
    maxComputeWorkgroupStorageSize: 32768,
    maxComputeInvocationsPerWorkgroup: 256,
  } as unknown as GPUSupportedLimits;
  assertEquals(requiredLimitsOf(limits), {
    maxBufferSize: Number.MAX_SAFE_INTEGER,
    maxStorageBufferBindingSize: Number.MAX_SAFE_INTEGER,
    maxComputeWorkgroupStorageSize: 32768,
    maxComputeInvocationsPerWorkgroup: 256,
  });
});

Deno.test("deviceOf asks for the adapter's limits, and where the adapter refuses them warns once and takes the defaults", async () => {
  const asked: (Record<string, number> | undefined)[] = [];
  const fake = (refuse: boolean) => ({
    limits: { maxBufferSize: 2 ** 40 } as unknown as GPUSupportedLimits,
    requestDevice: (d?: GPUDeviceDescriptor) => {
      const req = d?.requiredLimits as Record<string, number> | undefined;
      asked.push(req);
      if (refuse && req) return Promise.reject(new TypeError("limit out of range"));
      return Promise.resolve({ label: "device" } as GPUDevice);
    },
  });
  const warnings: string[] = [];
  const error = console.error;
  console.error = (m: string) => warnings.push(m);
  try {
    assertEquals((await deviceOf(fake(false))).label, "device");
    assertEquals(asked, [{ maxBufferSize: 2 ** 40 }]);
    assertEquals(warnings, []);
    asked.length = 0;
    assertEquals((await deviceOf(fake(true))).label, "device");
    assertEquals(asked, [{ maxBufferSize: 2 ** 40 }, undefined]);
    assertEquals(warnings.length, 1);
    assert(
      warnings[0].includes("refused its own limits (limit out of range)") &&
        warnings[0].includes("default limits"),
      warnings[0],
    );
  } finally {
    console.error = error;
  }
});

Deno.test("isSoftwareAdapter: CPU adapters by name (Mesa's, SwiftShader, Windows' WARP) or the fallback flag take the software tuning; GPUs do not", () => {
  const sw = (description: string, isFallbackAdapter = false) =>
    isSoftwareAdapter({ description, isFallbackAdapter });
  for (
    const d of [
      LLVMPIPE,
      "lavapipe",
      "SwiftShader Device (Subzero)",
      "Microsoft Basic Render Driver",
      "WARP",
    ]
  ) assert(sw(d), d);
  assert(sw("Some Adapter", true), "the fallback flag");
  for (
    const d of ["NVIDIA H100 80GB HBM3", "Apple M2 Pro", "AMD Radeon RX 7900 XTX (RADV NAVI31)"]
  ) {
    assert(!sw(d), d);
  }
});
