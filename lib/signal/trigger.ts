/**
 * STA/LTA event detection, as ObsPy's `obspy.signal.trigger`: a characteristic function (the
 * ratio of a short-term to a long-term average of the squared trace) and the onsets where it
 * rises above one threshold until it falls below another.
 *
 * - {@linkcode classicStaLta}: the mean of x² over the last `nsta` samples over the mean over
 *   the last `nlta` (ObsPy's `classic_sta_lta`).
 * - {@linkcode recursiveStaLta}: exponentially weighted averages with time constants `nsta` and
 *   `nlta` samples (ObsPy's `recursive_sta_lta`), cheaper and without a hard window edge.
 * - {@linkcode triggerOnsets}: on where the ratio exceeds `on`, off where it then falls below
 *   `off` (ObsPy's `trigger_onset`).
 *
 * Both ratios are 0 where the long-term average is not yet formed: the first `nlta − 1`
 * samples (classic) or `nlta` samples (recursive), as ObsPy's.
 *
 * @module
 */

/** One trigger of {@linkcode triggerOnsets}, as sample indices. */
export interface TriggerSpan {
  /** First sample whose ratio exceeds the `on` threshold. */
  on: number;
  /** First sample after `on` whose ratio is below the `off` threshold (or the last sample). */
  off: number;
  /** Largest ratio from `on` to `off`. */
  peak: number;
  /** Index of that largest ratio. */
  peakIndex: number;
}

function checkLengths(what: string, nsta: number, nlta: number): void {
  if (!(Number.isInteger(nsta) && nsta >= 1 && Number.isInteger(nlta) && nlta > nsta)) {
    throw new RangeError(
      `Cannot compute ${what}: expected whole numbers of samples 1 <= nsta < nlta: found ` +
        `nsta ${nsta}, nlta ${nlta}`,
    );
  }
}

/**
 * Classic STA/LTA: at sample i ≥ nlta − 1 (where the long window is full), the mean of x² over
 * samples i − nsta + 1 … i over the mean over i − nlta + 1 … i; 0 before (ObsPy's
 * `classic_sta_lta`). A zero long-term average
 * (a flat stretch) gives 0. The running sums are recomputed from scratch every `nlta` samples,
 * so rounding cannot build up over a day of data.
 *
 * @param x Samples.
 * @param nsta Short window, samples (≥ 1).
 * @param nlta Long window, samples (> nsta).
 * @returns the ratio per sample.
 * @throws {RangeError} when the windows are not whole numbers with 1 ≤ nsta < nlta.
 * @example
 * ```ts
 * import { classicStaLta } from "./trigger.ts";
 * const x = new Float64Array(200).fill(1);
 * x.fill(3, 150); // amplitude ×3: energy ×9
 * const r = classicStaLta(x, 5, 100);
 * if (r[99] !== 1 || Math.abs(r[154] - 9 / (1 + 8 * 5 / 100)) > 1e-12) throw new Error();
 * ```
 */
export function classicStaLta(x: Float64Array, nsta: number, nlta: number): Float64Array {
  checkLengths("classic STA/LTA", nsta, nlta);
  const n = x.length;
  const out = new Float64Array(n);
  let sSta = 0, sLta = 0;
  for (let i = 0; i < n; i++) {
    if (i % nlta === 0 && i >= nlta) {
      // Fresh sums of the windows ending at i − 1.
      sSta = 0;
      sLta = 0;
      for (let j = i - nlta; j < i; j++) {
        const e = x[j] * x[j];
        sLta += e;
        if (j >= i - nsta) sSta += e;
      }
    }
    const e = x[i] * x[i];
    sSta += e;
    sLta += e;
    if (i >= nsta) sSta -= x[i - nsta] * x[i - nsta];
    if (i >= nlta) sLta -= x[i - nlta] * x[i - nlta];
    if (i >= nlta - 1) {
      out[i] = sLta > 0 ? (Math.max(sSta, 0) / nsta) / (sLta / nlta) : 0;
    }
  }
  return out;
}

/**
 * Recursive STA/LTA (ObsPy's `recursive_sta_lta`): sta ← x²/nsta + (1 − 1/nsta)·sta and
 * lta ← x²/nlta + (1 − 1/nlta)·lta from zero, the ratio sta/lta, and 0 over the first `nlta`
 * samples (and where lta is 0).
 *
 * @param x Samples.
 * @param nsta Short time constant, samples (≥ 1).
 * @param nlta Long time constant, samples (> nsta).
 * @returns the ratio per sample.
 * @throws {RangeError} when the lengths are not whole numbers with 1 ≤ nsta < nlta.
 * @example
 * ```ts
 * import { recursiveStaLta } from "./trigger.ts";
 * const x = new Float64Array(400).fill(1);
 * x.fill(4, 300);
 * const r = recursiveStaLta(x, 5, 50);
 * if (r[49] !== 0 || !(r[299] > 0.99 && r[299] < 1.01) || !(r[305] > 4)) throw new Error();
 * ```
 */
export function recursiveStaLta(x: Float64Array, nsta: number, nlta: number): Float64Array {
  checkLengths("recursive STA/LTA", nsta, nlta);
  const n = x.length;
  const out = new Float64Array(n);
  const cs = 1 / nsta, cl = 1 / nlta;
  const ks = 1 - cs, kl = 1 - cl;
  let sta = 0, lta = 0;
  // The first nlta ratios are 0 (the array's own zeros).
  const head = Math.min(n, nlta);
  for (let i = 0; i < head; i++) {
    const e = x[i] * x[i];
    sta = cs * e + ks * sta;
    lta = cl * e + kl * lta;
  }
  for (let i = head; i < n; i++) {
    const e = x[i] * x[i];
    sta = cs * e + ks * sta;
    lta = cl * e + kl * lta;
    out[i] = lta > 0 ? sta / lta : 0;
  }
  return out;
}

/**
 * The triggers of a characteristic function: each starts at a sample above `on` (while not
 * triggered) and ends at the first later sample below `off`, or at the last sample; a trigger
 * longer than `maxLength` samples ends there (ObsPy's `trigger_onset` with `max_len`).
 *
 * @param cf The ratio per sample.
 * @param on Threshold that starts a trigger.
 * @param off Threshold below which it ends (at most `on`).
 * @param maxLength Longest trigger, samples (default: no limit).
 * @returns the triggers in time order.
 * @throws {RangeError} when `off` exceeds `on` or a threshold is not a finite number.
 * @example
 * ```ts
 * import { triggerOnsets } from "./trigger.ts";
 * const t = triggerOnsets(Float64Array.of(0, 1, 5, 7, 3, 1, 0, 6, 1), 4, 2);
 * if (JSON.stringify(t.map((s) => [s.on, s.off, s.peak])) !== "[[2,5,7],[7,8,6]]") {
 *   throw new Error();
 * }
 * ```
 */
export function triggerOnsets(
  cf: Float64Array,
  on: number,
  off: number,
  maxLength = Infinity,
): TriggerSpan[] {
  if (!(Number.isFinite(on) && Number.isFinite(off) && off <= on)) {
    throw new RangeError(
      `Cannot find triggers: expected finite thresholds with off <= on: found on ${on}, off ${off}`,
    );
  }
  if (!(maxLength >= 1)) {
    throw new RangeError(`Cannot find triggers: maxLength must be >= 1: found ${maxLength}`);
  }
  const out: TriggerSpan[] = [];
  let start = -1, peak = 0, peakIndex = 0;
  for (let i = 0; i < cf.length; i++) {
    const v = cf[i];
    if (start < 0) {
      if (v > on) {
        start = i;
        peak = v;
        peakIndex = i;
      }
      continue;
    }
    if (v < off || i - start >= maxLength) {
      out.push({ on: start, off: i, peak, peakIndex });
      start = -1;
      // A sample that ends one trigger can start the next only past `on` (off ≤ on).
      if (v > on) {
        start = i;
        peak = v;
        peakIndex = i;
      }
      continue;
    }
    if (v > peak) {
      peak = v;
      peakIndex = i;
    }
  }
  if (start >= 0) out.push({ on: start, off: cf.length - 1, peak, peakIndex });
  return out;
}

/**
 * Maeda's AIC onset picker on the samples `i0 … i1 − 1` of a trace: with N samples there, for a
 * split into the first m and the other N − m, AIC(m) = m·ln var(first) + (N − m)·ln var(other),
 * and the onset is the first sample of the other part (index i0 + m) at the smallest AIC, the
 * earliest on a tie. Each part holds at least `minPart` samples; a part's variance counts as at
 * least 1e-12 of the window's, so a flat stretch before a signal still picks its start.
 *
 * @param x Samples (band-pass filtered, as a trigger's).
 * @param i0 First sample of the window.
 * @param i1 End of the window (exclusive).
 * @param minPart Fewest samples in each part (default 10).
 * @returns the onset's index in `x`, or -1 when the window is shorter than 2·minPart.
 * @example
 * ```ts
 * import { aicOnset } from "./trigger.ts";
 * const x = Float64Array.from({ length: 200 }, (_, i) => (i % 2 ? 1 : -1) * (i < 120 ? 1 : 30));
 * if (aicOnset(x, 0, 200) !== 120) throw new Error();
 * ```
 */
export function aicOnset(x: Float64Array, i0: number, i1: number, minPart = 10): number {
  i0 = Math.max(0, i0);
  i1 = Math.min(x.length, i1);
  const n = i1 - i0;
  if (n < 2 * minPart) return -1;
  // Prefix sums of the window, centred on its mean against cancellation.
  let mean = 0;
  for (let i = i0; i < i1; i++) mean += x[i];
  mean /= n;
  const s1 = new Float64Array(n + 1), s2 = new Float64Array(n + 1);
  for (let j = 0; j < n; j++) {
    const v = x[i0 + j] - mean;
    s1[j + 1] = s1[j] + v;
    s2[j + 1] = s2[j] + v * v;
  }
  const variance = (a: number, b: number) => {
    const m = b - a, s = s1[b] - s1[a];
    return Math.max(0, (s2[b] - s2[a] - s * s / m) / m);
  };
  const floor = Math.max(variance(0, n) * 1e-12, Number.MIN_VALUE);
  let best = Infinity, at = -1;
  for (let m = minPart; m <= n - minPart; m++) {
    const a = Math.max(variance(0, m), floor), b = Math.max(variance(m, n), floor);
    const aic = m * Math.log(a) + (n - m) * Math.log(b);
    if (aic < best) {
      best = aic;
      at = m;
    }
  }
  return i0 + at;
}
