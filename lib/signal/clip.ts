/**
 * Clipping: a record that reached its digitiser's (or amplifier's) full scale holds the same
 * value, the rail, for as long as the signal stays beyond it. Its spectrogram then shows the
 * clipping's harmonics rather than the ground motion, and a cluster may gather the clipped
 * records of several kinds of event.
 *
 * @module
 */

/** Consecutive samples at a record's extreme value that mark it clipped. */
export const CLIP_RUN = 5;

/**
 * Distinct values a record must take before its extremes are judged: a quiet channel's few
 * quantisation levels repeat its largest and smallest values without any clipping.
 */
export const CLIP_MIN_LEVELS = 100;

/** What {@linkcode clipping} finds. */
export interface Clipping {
  /** The record's largest and smallest values, the rails where it was clipped. */
  max: number;
  /** See `max`. */
  min: number;
  /** Samples in runs of at least {@linkcode CLIP_RUN} at either value. */
  samples: number;
}

/**
 * Finds the runs of {@linkcode CLIP_RUN} or more consecutive samples at a record's largest or
 * smallest value that the record steps onto or off by at least half its mean step: a signal
 * whose values change from sample to sample does not stay on its extreme value, a clipped one
 * jumps onto the rail and stays (often a power of two in counts: ±8,388,607 for 24 bits), and a
 * smooth peak of a long period creeps onto its top. Records of fewer than
 * {@linkcode CLIP_MIN_LEVELS} distinct values are not judged. Clipping before a digitiser's FIR
 * filter (which rings instead of holding the rail) is not found.
 *
 * @param x The raw samples (counts, before any processing).
 * @returns the extremes and the samples in runs at them, or null where there is no such run.
 * @example
 * ```ts
 * import { clipping } from "./clip.ts";
 * const x = Float64Array.from({ length: 400 }, (_, i) => Math.max(-700, Math.min(700, Math.round(1000 * Math.sin(i / 9)))));
 * const c = clipping(x);
 * if (c === null || c.max !== 700 || c.min !== -700) throw new Error(JSON.stringify(c));
 * if (clipping(Float64Array.from({ length: 400 }, (_, i) => Math.round(1000 * Math.sin(i / 9)))) !== null) throw new Error();
 * ```
 */
export function clipping(x: ArrayLike<number>): Clipping | null {
  const n = x.length;
  let max = -Infinity, min = Infinity, moved = 0;
  for (let i = 0; i < n; i++) {
    if (x[i] > max) max = x[i];
    if (x[i] < min) min = x[i];
    if (i > 0) moved += Math.abs(x[i] - x[i - 1]);
  }
  if (!(max > min)) return null;
  // A run counts where the record steps onto or off the rail: by at least half its mean step.
  // A smooth, noise-free peak of a long period creeps onto its largest value (steps of a count
  // or less) and is not clipping.
  const steep = 0.5 * moved / (n - 1);
  let samples = 0;
  for (const rail of [max, min]) {
    for (let i = 0; i < n;) {
      if (x[i] !== rail) {
        i++;
        continue;
      }
      let j = i;
      while (j < n && x[j] === rail) j++;
      const into = i > 0 ? Math.abs(x[i] - x[i - 1]) : 0;
      const out = j < n ? Math.abs(x[j] - x[j - 1]) : 0;
      if (j - i >= CLIP_RUN && Math.max(into, out) >= steep) samples += j - i;
      i = j;
    }
  }
  if (samples === 0) return null;
  const levels = new Set<number>();
  for (let i = 0; i < n && levels.size < CLIP_MIN_LEVELS; i++) levels.add(x[i]);
  return levels.size < CLIP_MIN_LEVELS ? null : { max, min, samples };
}
