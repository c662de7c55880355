/**
 * Timing of seisdec's own autoencoder training step and encoder inference, for the peers
 * benchmark (bench/peers_bench.ts).
 *
 * PLACEHOLDER: the seisdec model is not built yet, so {@linkcode timeSeisdec} returns a row
 * with no figures and says why. The real implementation replaces this file and keeps the
 * signature.
 *
 * @module
 */
import type { PeerResult, TimingOptions } from "../../bench/peers/tfjs_autoencoder.ts";

export type { PeerResult, TimingOptions };

/**
 * Times seisdec's autoencoder: warm-up steps, then the median of at least 5 timed training
 * steps (forward + backward + Adam) at `batch`, and encoder inference at `opts.inferBatch`.
 *
 * @param backend "webgpu" or "cpu".
 * @param batch Training batch size.
 * @param opts Steps, warm-up and inference batch.
 * @returns the row for the peers table; `error` says why figures are missing.
 * @example
 * ```ts
 * import { timeSeisdec } from "./seisdec_timing.ts";
 * const row = await timeSeisdec("cpu", 64, {});
 * if (row.name !== "seisdec cpu") throw new Error("unexpected row name");
 * ```
 */
export function timeSeisdec(
  backend: "webgpu" | "cpu",
  batch: number,
  opts: TimingOptions = {},
): Promise<PeerResult> {
  return Promise.resolve({
    name: `seisdec ${backend}`,
    backend,
    batch,
    inferBatch: opts.inferBatch ?? 256,
    trainSamplesPerSec: null,
    inferSamplesPerSec: null,
    error: "seisdec model not built yet",
  });
}
