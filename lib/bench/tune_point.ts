/**
 * Times WebGPU tunings for `cli.ts tune`, in a process of its own, with SEISDEC_TUNING_DIR set
 * to none. Two modes:
 *
 * - one tuning (`--isolate`): the tuning's fields in SEISDEC_TUNING, the workload as the
 *   argument; prints one JSON line ({@linkcode TuningPoint});
 * - `--serve` (the default trial worker): reads one {@linkcode TrialRequest} per line on stdin,
 *   switches to its tuning in this process ({@linkcode retuneGpu}) and answers each with one
 *   {@linkcode TrialReply} line on stdout. Kernel variants compile once, at their first trial,
 *   not at every trial.
 *
 * ```sh
 * SEISDEC_TUNING_DIR=none SEISDEC_TUNING='{"convTile":16}' \
 *   deno run -A lib/bench/tune_point.ts '{"batches":[64],"seconds":1}'
 * echo '{"fields":{"convTile":8},"workload":{"batches":[64],"seconds":1}}' |
 *   SEISDEC_TUNING_DIR=none deno run -A lib/bench/tune_point.ts --serve
 * ```
 *
 * @module
 */
import { adapterSummary } from "../gpu/device.ts";
import { defaultTuning, type Tuning } from "../gpu/kernels.ts";
import { parseTuning } from "../gpu/tuning_store.ts";
import { initBackend, isSoftwareAdapter, retuneGpu } from "../tensor/backends.ts";
import { readLines } from "../util/lines.ts";
import { measureTuning, type TuningPoint, type TuningWorkload } from "./seisdec_timing.ts";

export type { TuningPoint };

/** One trial for the worker: the tuning's fields over the adapter's default, and what to time. */
export interface TrialRequest {
  fields: Partial<Tuning>;
  workload: TuningWorkload;
}

/** The worker's answer to a {@linkcode TrialRequest}: the figures, or why it failed. */
export type TrialReply = { point: TuningPoint } | { error: string };

/**
 * Serves trials: each request line's tuning (the adapter kind's default with the request's
 * fields; no stored tuning, no SEISDEC_TUNING) is made this process's tuning, timed, and
 * answered with one line. A trial that throws is answered with its message; the worker goes
 * on (its caller may restart it instead).
 *
 * @param input Request lines (JSON).
 * @param write Writes one reply line (JSON, no line end).
 */
export async function serveTrials(
  input: ReadableStream<Uint8Array>,
  write: (line: string) => Promise<void>,
): Promise<void> {
  await initBackend("webgpu");
  const base = defaultTuning(isSoftwareAdapter(await adapterSummary()));
  for await (const line of readLines(input)) {
    if (!line.trim()) continue;
    let reply: TrialReply;
    try {
      const req = JSON.parse(line) as TrialRequest;
      const fields = parseTuning(JSON.stringify(req.fields ?? {}), "the trial's tuning");
      await retuneGpu({ ...base, ...fields });
      reply = { point: await measureTuning(req.workload) };
    } catch (e) {
      reply = { error: (e as Error).message };
    }
    await write(JSON.stringify(reply));
  }
}

if (import.meta.main) {
  try {
    if (Deno.args[0] === "--serve") {
      const enc = new TextEncoder();
      await serveTrials(Deno.stdin.readable, async (line) => {
        const bytes = enc.encode(line + "\n");
        for (let n = 0; n < bytes.length;) n += await Deno.stdout.write(bytes.subarray(n));
      });
    } else {
      const w = JSON.parse(Deno.args[0] ?? "{}") as TuningWorkload;
      console.log(JSON.stringify(await measureTuning(w)));
    }
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(1);
  }
}
