/**
 * Portability: seisdec's WGSL must run on the least capable WebGPU adapter, whose limits are
 * the specification's defaults (256 invocations and 16 KiB of workgroup memory per
 * workgroup, 8 storage buffers per stage, 128 MiB per binding, ...), not only on the adapter
 * at hand, which the runtime asks for its maximum limits. The pipeline also runs with a GPU's
 * default tuning, whose kernel variants CI (llvmpipe) would otherwise only compile.
 *
 * @module
 */
import { assert, assertEquals } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import { GpuRuntime, loadSource } from "../../lib/gpu/runtime.ts";
import {
  compileAll,
  conv2dDef,
  defaultTuning,
  kernelDefs,
  STORAGE_WEIGHTS,
} from "../../lib/gpu/kernels.ts";
import { preprocess, workgroupBytes } from "../../lib/gpu/wgsl.ts";
import { gpuDefaultTuning } from "./_util.ts";
import { main } from "../../cli.ts";

gpuTest(
  "every kernel compiles under WebGPU's default limits, with the GPU and the software tunings",
  async () => {
    const adapter = (await navigator.gpu.requestAdapter())!;
    const device = await adapter.requestDevice(); // no requiredLimits: the defaults
    assertEquals(device.limits.maxComputeInvocationsPerWorkgroup, 256);
    assertEquals(device.limits.maxComputeWorkgroupStorageSize, 16384);
    assertEquals(device.limits.maxStorageBuffersPerShaderStage, 8);
    try {
      const rt = new GpuRuntime(device);
      for (
        const tuning of [defaultTuning(false), defaultTuning(true, 2), defaultTuning(true, 16)]
      ) {
        await compileAll(rt, tuning);
        assert(kernelDefs(tuning).length > 50, "the tuning defines the kernels");
      }
      // Workgroup memory counted here: wgpu does not check it (a kernel of 256 KiB ran on this
      // device), and a real GPU's driver may fail the pipeline or the device.
      for (
        const tuning of [defaultTuning(false), defaultTuning(true, 2), defaultTuning(true, 16)]
      ) {
        for (const def of kernelDefs(tuning)) {
          const code = preprocess(await loadSource(def.file), def.defines ?? {}, def.name);
          const bytes = workgroupBytes(code, def.name);
          assert(bytes <= 16384, `${def.name}: ${bytes} bytes of workgroup memory`);
        }
      }
      // A tuning whose tiles need more is refused at compile, naming the kernel and the limit.
      // (conv2d with a 128-channel tile and the folded gradient: 64 × 32 vec4s.)
      const conv = conv2dDef(128, 1, false, STORAGE_WEIGHTS, true);
      let refused: unknown = null;
      await rt.compile(conv).catch((e) => (refused = e));
      assert(
        refused instanceof Error &&
          refused.message.startsWith(
            `Cannot compile kernel ${conv.name} (conv2d.wgsl): it needs 32768 bytes of workgroup memory and this device allows 16384`,
          ),
        String(refused),
      );
      // The check bites: this device refuses a workgroup over the default 256 invocations.
      device.pushErrorScope("validation");
      device.createComputePipeline({
        layout: "auto",
        compute: {
          module: device.createShaderModule({
            code: "@compute @workgroup_size(512) fn main() {}",
          }),
          entryPoint: "main",
        },
      });
      const err = await device.popErrorScope();
      assert(err !== null, "a 512-invocation workgroup passed under the default limits");
    } finally {
      device.destroy();
    }
  },
);

for (
  const [what, tuning] of [
    ["this adapter's tuning", null],
    ["a GPU's default tuning", JSON.stringify(gpuDefaultTuning())],
  ] as const
) {
  gpuTest(
    `the whole pipeline runs on a device with WebGPU's default limits (SEISDEC_DEFAULT_LIMITS=1), with ${what}`,
    async () => {
      const root = await Deno.makeTempDir();
      try {
        const cli = new URL("../../cli.ts", import.meta.url).pathname;
        // Runs the CLI in a child whose device has the default limits; returns its stdout.
        const run = async (...args: string[]) => {
          const r = await new Deno.Command(Deno.execPath(), {
            args: ["run", "-A", cli, ...args, "--quiet"],
            env: { SEISDEC_DEFAULT_LIMITS: "1", ...(tuning ? { SEISDEC_TUNING: tuning } : {}) },
            stdout: "piped",
            stderr: "piped",
          }).output();
          assertEquals(r.code, 0, `${args[0]}: ${new TextDecoder().decode(r.stderr)}`);
          return new TextDecoder().decode(r.stdout);
        };
        const info = JSON.parse(await run("info", "--json"));
        const limits = info.limits;
        assertEquals(
          [limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupStorageSize],
          [256, 16384],
          "the child's device has the default limits",
        );
        if (tuning) {
          const t = info.tuning.active;
          assertEquals(
            [t.splitTarget, t.convPixels, t.textureInputs, t.uniformWeights],
            [65536, 1, false, false],
            `the child runs the GPU's tuning: ${JSON.stringify(info.tuning)}`,
          );
        }
        assertEquals(await main(["synth", "--out", `${root}/s`, "--per-class", "4", "--quiet"]), 0);
        await run("extract", "--config", `${root}/s/extract.json`, "--out", `${root}/ds`);
        const model = [`${root}/ds`, "--model", `${root}/m`];
        await run("pretrain", ...model, "--epochs", "1", "--batch-size", "8");
        await run("init", ...model, "--k", "5", "--n-init", "3");
        await run("finetune", ...model, "--max-iter", "6", "--min-iter", "0");
        await run("cluster", ...model, "--out", `${root}/c`, "--no-plots");
        assert((await Deno.stat(`${root}/c/labels.csv`)).isFile);
      } finally {
        await Deno.remove(root, { recursive: true });
      }
    },
  );
}
