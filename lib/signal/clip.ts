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
 * smallest value: a signal whose values change from sample to sample does not stay on its
 * extreme value, a clipped one stays on the rail (often a power of two in counts: ±8,388,607 for
 * 24 bits). Records of fewer than {@linkcode CLIP_MIN_LEVELS} distinct values are not judged.
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
  let max = -Infinity, min = Infinity;
  for (let i = 0; i < x.length; i++) {
    if (x[i] > max) max = x[i];
    if (x[i] < min) min = x[i];
  }
  if (!(max > min)) return null;
  let samples = 0, runMax = 0, runMin = 0;
  for (let i = 0; i <= x.length; i++) {
    const v = i < x.length ? x[i] : NaN;
    if (v === max) runMax++;
    else {
      if (runMax >= CLIP_RUN) samples += runMax;
      runMax = 0;
    }
    if (v === min) runMin++;
    else {
      if (runMin >= CLIP_RUN) samples += runMin;
      runMin = 0;
    }
  }
  if (samples === 0) return null;
  const levels = new Set<number>();
  for (let i = 0; i < x.length && levels.size < CLIP_MIN_LEVELS; i++) levels.add(x[i]);
  return levels.size < CLIP_MIN_LEVELS ? null : { max, min, samples };
}
