/**
 * Shared types of the peers benchmark: one table row per implementation,
 * backend and batch size, and the timing options.
 *
 * @module
 */

/** One row of the peers table: one implementation on one backend at one batch size. */
export interface PeerResult {
  /** Row name, e.g. "tfjs wasm" or "seisdec webgpu". */
  name: string;
  /** Backend in words, e.g. "wasm (SIMD, 1 thread)". */
  backend: string;
  /** Adapter name for WebGPU rows. */
  adapter?: string;
  /** Training batch size. */
  batch: number;
  /** Training throughput in samples per second (batch / mean step time of a timed run), or null. */
  trainSamplesPerSec: number | null;
  /** Encoder inference throughput in samples per second at `inferBatch`, or null. */
  inferSamplesPerSec: number | null;
  /** Batch size of the encoder inference timing. */
  inferBatch: number;
  /** Why this row has no figures (or only some), when it could not run. */
  error?: string;
  /** Steady-state wall time of one training step in milliseconds (mean over the timed steps). */
  stepMs?: number;
  /** Steady-state wall time of one encoder inference call in milliseconds (mean). */
  inferMs?: number;
  /** Anything a reader should know about how this row was measured. */
  note?: string;
  /** As `note`, for the encoder inference figure (the training note when absent). */
  inferNote?: string;
}

/** Options of `timeTfjs` (and of seisdec's `timeSeisdec`). */
export interface TimingOptions {
  /** Timed training steps (at least 5, default 5); their mean time is reported. */
  steps?: number;
  /**
   * Least timed work per figure, in seconds (default 2): a peer whose warm step is short takes
   * more than `steps` steps, so that every figure averages over a comparable stretch of the
   * machine's noise (see {@linkcode timedSteps} in lib/bench/seisdec_timing.ts).
   */
  minSeconds?: number;
  /** Untimed warm-up steps before the timed ones (default 1). */
  warmup?: number;
  /** Batch size of the encoder inference timing (default 256). */
  inferBatch?: number;
  /** Time training (default true). */
  train?: boolean;
  /** Time encoder inference (default true). */
  infer?: boolean;
  /**
   * Skip the timed training steps when the warm-up step took longer than this, in
   * seconds (default: no limit). The row then reports why in `error`.
   */
  maxStepSeconds?: number;
  /** Seed of the weights and of the input batch (default 1). */
  seed?: number;
}
