/**
 * `cli.ts info`: the WebGPU adapter, its limits and features.
 *
 * @module
 */
import type { Command } from "./_command.ts";
import { adapterSummary } from "../gpu/device.ts";

/** The `info` command. */
export const info: Command = {
  name: "info",
  summary:
    "Print the WebGPU adapter (name, vendor, backend, fallback flag), its limits and features.",
  flags: {
    json: { type: "boolean", description: "Print JSON instead of text." },
  },
  async run(values) {
    const deno = `Deno ${Deno.version.deno} (V8 ${Deno.version.v8})`;
    if (values.cpu) {
      console.log(`${deno}\nbackend: cpu (forced by --cpu); WebGPU not used`);
      return;
    }
    const s = await adapterSummary();
    if (values.json) {
      console.log(JSON.stringify({ deno: Deno.version.deno, ...s }, null, 2));
      return;
    }
    const lines = [
      deno,
      `adapter:  ${s.description}`,
      `vendor:   ${s.vendor || "?"}  device: ${s.device || "?"}  architecture: ${
        s.architecture || "?"
      }`,
      `backend:  ${s.backend}`,
      `fallback: ${s.isFallbackAdapter}`,
      `features: ${s.features.join(", ") || "(none)"}`,
      "limits:",
      ...Object.entries(s.limits).map(([k, v]) => `  ${k.padEnd(44)} ${v}`),
    ];
    console.log(lines.join("\n"));
  },
};
