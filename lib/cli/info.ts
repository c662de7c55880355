/**
 * `cli.ts info`: the WebGPU adapter, its limits and features.
 *
 * @module
 */
import type { Command } from "./_command.ts";
import { adapterSummary } from "../gpu/device.ts";
import { compileAll, kernelsDigest } from "../gpu/kernels.ts";
import { tuningDir } from "../gpu/tuning_store.ts";
import { gpuRuntime, gpuTuning, gpuTuningSource, initBackend } from "../tensor/backends.ts";
import { UserError } from "../util/errors.ts";
import { tuningDigest } from "../util/software.ts";
import { describeDir, formatSummary } from "./describe.ts";

/**
 * Compiles every kernel for the adapter's tuning, as a check that this adapter takes all of
 * seisdec's WGSL (normally each kernel compiles at its first dispatch).
 *
 * @returns the number of pipelines and the time taken.
 */
async function compileKernels(): Promise<{ pipelines: number; ms: number }> {
  await initBackend("webgpu");
  const rt = gpuRuntime()!;
  const tuning = gpuTuning()!;
  const t0 = performance.now();
  await compileAll(rt, tuning);
  await rt.sync();
  return { pipelines: rt.stats().pipelines, ms: Math.round(performance.now() - t0) };
}

/** The `info` command. */
/**
 * What sets a stored tuning's measurement apart from this run: another Deno, or kernels that
 * changed since (both are still applied; `tune` measures again). Empty when neither.
 */
function staleness(stored: { deno?: string; kernels?: string }, kernels: string): string {
  const why = [
    ...(stored.deno && stored.deno !== Deno.version.deno
      ? [`under Deno ${stored.deno}, not this ${Deno.version.deno}`]
      : []),
    ...(stored.kernels && stored.kernels !== kernels
      ? [`for other kernels (digest ${stored.kernels}, now ${kernels}: seisdec changed since)`]
      : []),
  ];
  return why.length ? ` ${why.join(", and ")}: \`cli.ts tune\` measures it again` : "";
}

export const info: Command = {
  name: "info",
  gpu: true,
  summary: "Print the WebGPU adapter, its limits and features; or what a seisdec directory holds.",
  usage: "[DIR]",
  details: [
    "The adapter's name, vendor, backend and fallback flag, its limits, features and tuning.",
    "With DIR (a dataset, a model directory or the output of cluster/encode), summarise it instead.",
  ].join("\n"),
  flags: {
    json: { type: "boolean", description: "Print JSON instead of text." },
    kernels: {
      type: "boolean",
      description:
        "Also compile every kernel for this adapter's tuning and print how many and how long.",
    },
  },
  async run(values, positionals) {
    if (positionals[0] !== undefined) {
      if (values.kernels) {
        throw new UserError(
          "Cannot use --kernels with a directory: it compiles the adapter's kernels (`info " +
            "--kernels` alone)",
        );
      }
      const s = await describeDir(positionals[0]);
      console.log(values.json ? JSON.stringify(s, null, 2) : formatSummary(s));
      return;
    }
    const deno = `Deno ${Deno.version.deno} (V8 ${Deno.version.v8})`;
    if (values.cpu) {
      if (values.kernels) {
        throw new UserError("Cannot use --kernels with --cpu: the CPU backend compiles no kernels");
      }
      console.log(
        values.json
          ? JSON.stringify(
            { deno: Deno.version.deno, v8: Deno.version.v8, backend: "cpu", forced: "--cpu" },
            null,
            2,
          )
          : `${deno}\nbackend: cpu (forced by --cpu); WebGPU not used`,
      );
      return;
    }
    const s = await adapterSummary();
    // A stored tuning that cannot be used stops every WebGPU command; info still shows the
    // adapter, then names the tuning's fault (exit 2).
    let fault: UserError | null = null;
    try {
      await initBackend("webgpu");
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      fault = e;
    }
    const kernels = values.kernels && !fault ? await compileKernels() : undefined;
    const tuning = fault ? null : { active: gpuTuning()!, ...gpuTuningSource()! };
    if (values.json) {
      console.log(
        JSON.stringify(
          {
            deno: Deno.version.deno,
            kernelsDigest: await kernelsDigest(),
            ...s,
            tuning,
            ...(fault ? { tuningError: fault.message } : {}),
            kernels,
          },
          null,
          2,
        ),
      );
      if (fault) throw fault;
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
    if (!tuning) {
      console.log([...lines, "tuning:   unusable (below)"].join("\n"));
      throw fault!;
    }
    lines.push(
      // The digest `info DIR` prints for the tuning a model or result.json records.
      `tuning:   ${JSON.stringify(tuning.active)} (digest ${tuningDigest(tuning.active)})`,
      `  from:   the ${tuning.default === "software" ? "software adapters'" : "GPUs'"} default` +
        (tuning.stored
          ? `, then ${JSON.stringify(tuning.stored.fields)} stored by \`tune\` on ` +
            `${tuning.stored.date.slice(0, 10)} (${tuning.stored.path})` +
            staleness(tuning.stored, await kernelsDigest())
          : tuningDir() === null
          // Not "no stored tuning": one may be stored, and `tune` cannot store one now.
          ? ", no stored tuning read (SEISDEC_TUNING_DIR=none)"
          : ", no stored tuning (`cli.ts tune` measures one)") +
        (Object.keys(tuning.env).length
          ? `, then SEISDEC_TUNING ${JSON.stringify(tuning.env)}`
          : ""),
    );
    if (kernels) {
      lines.push(`kernels:  ${kernels.pipelines} pipelines compiled in ${kernels.ms} ms`);
    }
    console.log(lines.join("\n"));
  },
};
