/**
 * Test helpers for WebGPU: find the adapter once, print its name, and decide
 * whether GPU tests run. Without an adapter they fail under `CI=true` and are
 * skipped with a visible message otherwise.
 *
 * @module
 */
import { adapterName, getDevice } from "../lib/gpu/device.ts";

let probed: Promise<string | null> | null = null;

/** @returns the adapter name, or null when no adapter exists (outside CI). */
export function probeAdapter(): Promise<string | null> {
  if (!probed) {
    probed = (async () => {
      try {
        await getDevice();
        const name = await adapterName();
        console.log(`WebGPU adapter: ${name}`);
        return name;
      } catch (e) {
        if (Deno.env.get("CI") === "true") {
          throw new Error(`WebGPU adapter required under CI=true: ${(e as Error).message}`);
        }
        console.warn(`SKIPPING GPU tests: ${(e as Error).message}`);
        return null;
      }
    })();
  }
  return probed;
}

/** True when GPU tests can run; resolved once at module load. */
export const gpuAvailable: boolean = (await probeAdapter()) !== null;

/**
 * Registers a test that needs WebGPU; it is ignored (with a message) when no
 * adapter exists outside CI.
 *
 * @param name Test name.
 * @param fn Test body.
 */
export function gpuTest(name: string, fn: (t: Deno.TestContext) => Promise<void> | void): void {
  Deno.test({
    name: `[webgpu] ${name}`,
    ignore: !gpuAvailable,
    fn,
    sanitizeResources: false,
    sanitizeOps: false,
  });
}
