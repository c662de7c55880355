/**
 * Times one tuning, in a process of its own (a tuning is fixed per process): `cli.ts tune`
 * runs this once per trial with the trial's fields in SEISDEC_TUNING and SEISDEC_TUNING_DIR set
 * to none, and reads the one JSON line it prints ({@linkcode TuningPoint}).
 *
 * ```sh
 * SEISDEC_TUNING_DIR=none SEISDEC_TUNING='{"convTile":16}' \
 *   deno run -A lib/bench/tune_point.ts '{"batches":[64],"seconds":1}'
 * ```
 *
 * The argument is a {@linkcode TuningWorkload} as JSON.
 *
 * @module
 */
import { measureTuning, type TuningPoint, type TuningWorkload } from "./seisdec_timing.ts";

export type { TuningPoint };

if (import.meta.main) {
  try {
    const w = JSON.parse(Deno.args[0] ?? "{}") as TuningWorkload;
    console.log(JSON.stringify(await measureTuning(w)));
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(1);
  }
}
