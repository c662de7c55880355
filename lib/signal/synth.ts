/**
 * Synthetic seismograms of five physically distinct source classes, on
 * realistic coloured background noise. Ground velocity in m/s.
 *
 * | class | what the spectrogram shows |
 * |---|---|
 * | `local_earthquake` | impulsive P (4–12 Hz), S 2–8 s later and 3–5× stronger (2–8 Hz), exponential coda |
 * | `regional_event` | emergent, low-frequency (0.7–3 Hz) Pn, Lg 20–40 s later, a minute long |
 * | `explosion` | very impulsive high-frequency P (6–16 Hz), weak S, short |
 * | `tremor` | emergent, tens of seconds, harmonic lines (f0 1.5–3 Hz and overtones) |
 * | `noise` | background only |
 *
 * The noise has a 1/f-like power spectrum plus a secondary-microseism peak
 * near 0.2 Hz, as a quiet broadband station shows.
 *
 * @module
 */
import { Rng } from "../util/rng.ts";
import { butterBandpass, sosfilt } from "./filter.ts";
import { irfftReal, nextPow2, rfftFull } from "./_fft.ts";

/** Class names, in label order. */
export const SYNTH_CLASSES = [
  "local_earthquake",
  "regional_event",
  "explosion",
  "tremor",
  "noise",
] as const;

/** One synthetic class. */
export type SynthClass = typeof SYNTH_CLASSES[number];

/**
 * Background noise with a 1/f-like power spectrum and a microseism peak.
 *
 * @param n Number of samples.
 * @param fs Sampling rate, Hz.
 * @param rng Random source.
 * @returns noise with unit RMS in the 1–18 Hz band (before scaling).
 */
export function coloredNoise(n: number, fs: number, rng: Rng): Float64Array {
  const nfft = nextPow2(n);
  const white = new Float64Array(nfft).map(() => rng.normal());
  const spec = rfftFull(white, nfft);
  const fm = 0.15 + 0.1 * rng.next();
  for (let k = 0; k <= nfft / 2; k++) {
    const f = Math.max(k * fs / nfft, 0.02);
    // Amplitude: f^-0.5 (power 1/f) plus a Gaussian secondary-microseism bump.
    const a = f ** -0.5 + 30 * Math.exp(-0.5 * ((f - fm) / 0.06) ** 2);
    spec[2 * k] *= a;
    spec[2 * k + 1] *= a;
    if (k > 0 && k < nfft / 2) {
      spec[2 * (nfft - k)] = spec[2 * k];
      spec[2 * (nfft - k) + 1] = -spec[2 * k + 1];
    }
  }
  spec[1] = 0;
  spec[nfft + 1] = 0;
  const x = irfftReal(spec, nfft).slice(0, n);
  const r = bandRms(x, fs, 0, n);
  return x.map((v) => v / r);
}

/**
 * RMS of a 1–18 Hz band-passed copy over samples [i0, i1).
 *
 * @param x Samples.
 * @param fs Sampling rate, Hz.
 * @param i0 First sample.
 * @param i1 End sample (exclusive).
 * @returns the RMS.
 */
export function bandRms(x: Float64Array, fs: number, i0: number, i1: number): number {
  const y = sosfilt(butterBandpass(1, Math.min(18, 0.45 * fs), fs, 2), Float64Array.from(x));
  let s = 0;
  const a = Math.max(0, i0), b = Math.min(x.length, i1);
  for (let i = a; i < b; i++) s += y[i] * y[i];
  return Math.sqrt(s / Math.max(1, b - a));
}

/** Band-limited Gaussian noise: white noise through a 2nd-order Butterworth band-pass. */
function bandNoise(n: number, fs: number, f1: number, f2: number, rng: Rng): Float64Array {
  const x = new Float64Array(n).map(() => rng.normal());
  return sosfilt(butterBandpass(f1, Math.min(f2, 0.45 * fs), fs, 2), x);
}

/** Adds `amp · env(t − t0) · burst` where env rises over `rise` s and decays with `tau` s. */
function addPhase(
  out: Float64Array,
  fs: number,
  t0: number,
  amp: number,
  rise: number,
  tau: number,
  f1: number,
  f2: number,
  rng: Rng,
): void {
  const burst = bandNoise(out.length, fs, f1, f2, rng);
  // Normalise the burst to unit RMS so `amp` is the phase's RMS amplitude.
  let s = 0;
  for (const v of burst) s += v * v;
  const norm = Math.sqrt(out.length / s);
  const i0 = Math.max(0, Math.ceil(t0 * fs));
  for (let i = i0; i < out.length; i++) {
    const t = i / fs - t0;
    const env = (t < rise ? t / rise : 1) * Math.exp(-Math.max(0, t - rise) / tau);
    if (env < 1e-6 && t > rise) break;
    out[i] += amp * env * burst[i] * norm;
  }
}

/** Component-dependent weight: P is strongest on Z, S on the horizontals. */
function weights(component: string): { p: number; s: number } {
  return component === "Z" ? { p: 1, s: 0.6 } : { p: 0.45, s: 1 };
}

/** Parameters drawn for one synthetic event. */
export interface SynthEvent {
  cls: SynthClass;
  /** S − P time, s (local earthquake, explosion, regional Lg − Pn); 0 when none. */
  sMinusP: number;
  /** Other per-event draws, for reproducibility of all components. */
  seed: number;
}

/**
 * Draws an event's parameters.
 *
 * @param cls The class.
 * @param rng Random source.
 * @returns the parameters.
 */
export function drawEvent(cls: SynthClass, rng: Rng): SynthEvent {
  const sMinusP = cls === "local_earthquake"
    ? rng.uniform(2, 8)
    : cls === "explosion"
    ? rng.uniform(1, 4)
    : cls === "regional_event"
    ? rng.uniform(20, 40)
    : 0;
  return { cls, sMinusP, seed: rng.nextU32() };
}

/**
 * The source signal (no noise) of one component, unit scale.
 *
 * @param ev The event.
 * @param component `Z`, `N` or `E`.
 * @param n Samples.
 * @param fs Sampling rate, Hz.
 * @param tRef Onset time from the first sample, s.
 * @param rng Random source (per component).
 * @returns the signal.
 */
export function eventSignal(
  ev: SynthEvent,
  component: string,
  n: number,
  fs: number,
  tRef: number,
  rng: Rng,
): Float64Array {
  const out = new Float64Array(n);
  const w = weights(component);
  const shape = new Rng(ev.seed);
  switch (ev.cls) {
    case "local_earthquake": {
      const sAmp = shape.uniform(3, 5);
      const coda = shape.uniform(4, 8);
      addPhase(out, fs, tRef, w.p, 0.05, 0.8, 4, 12, rng);
      addPhase(out, fs, tRef + ev.sMinusP, w.s * sAmp, 0.2, coda, 2, 8, rng);
      break;
    }
    case "regional_event": {
      addPhase(out, fs, tRef, w.p, 2.5, 15, 0.8, 3, rng);
      addPhase(out, fs, tRef + ev.sMinusP, 2 * w.s, 4, 20, 0.7, 2, rng);
      break;
    }
    case "explosion": {
      addPhase(out, fs, tRef, 1.5 * w.p, 0.02, 0.4, 6, 16, rng);
      addPhase(out, fs, tRef + ev.sMinusP, 0.3 * w.s, 0.1, 0.8, 3, 8, rng);
      break;
    }
    case "tremor": {
      const f0 = shape.uniform(1.5, 3);
      const rise = shape.uniform(6, 12),
        plateau = shape.uniform(30, 45),
        fall = shape.uniform(6, 12);
      const glide = shape.uniform(-0.005, 0.005);
      const phases = [0, 1, 2, 3].map(() => rng.uniform(0, 2 * Math.PI));
      const am = bandNoise(n, fs, 0.02, 0.2, rng);
      let amMax = 0;
      for (const v of am) amMax = Math.max(amMax, Math.abs(v));
      const broad = bandNoise(n, fs, 1.5, 5, rng);
      let bs = 0;
      for (const v of broad) bs += v * v;
      const bnorm = Math.sqrt(n / bs);
      let phase = 0;
      for (let i = 0; i < n; i++) {
        const t = i / fs - tRef;
        if (t < 0) continue;
        const env = t < rise
          ? 0.5 * (1 - Math.cos(Math.PI * t / rise))
          : t < rise + plateau
          ? 1
          : t < rise + plateau + fall
          ? 0.5 * (1 + Math.cos(Math.PI * (t - rise - plateau) / fall))
          : 0;
        if (env === 0) continue;
        phase += 2 * Math.PI * f0 * (1 + glide * t) / fs;
        let v = 0;
        for (let h = 1; h <= 4; h++) v += Math.sin(h * phase + phases[h - 1]) / h;
        const mod = 1 + 0.5 * am[i] / (amMax || 1);
        out[i] = 0.8 * env * mod * (v + 0.3 * broad[i] * bnorm);
      }
      break;
    }
    case "noise":
      break;
  }
  return out;
}

/**
 * A complete synthetic trace: background noise plus the event scaled to an SNR.
 *
 * SNR = RMS of the event signal over [tRef, tRef + 10 s] / RMS of the noise over
 * the whole trace, both in the 1–18 Hz band.
 *
 * @param ev The event.
 * @param component `Z`, `N` or `E`.
 * @param n Samples.
 * @param fs Sampling rate, Hz.
 * @param tRef Onset from the first sample, s.
 * @param snr Signal-to-noise ratio (amplitude).
 * @param noiseLevel Noise RMS in the band, m/s.
 * @param rng Random source.
 * @returns ground velocity, m/s.
 */
export function synthTrace(
  ev: SynthEvent,
  component: string,
  n: number,
  fs: number,
  tRef: number,
  snr: number,
  noiseLevel: number,
  rng: Rng,
): Float64Array {
  const noise = coloredNoise(n, fs, rng);
  const sig = eventSignal(ev, component, n, fs, tRef, rng);
  const i0 = Math.round(tRef * fs);
  const sr = ev.cls === "noise" ? 0 : bandRms(sig, fs, i0, i0 + Math.round(10 * fs));
  const g = sr > 0 ? snr / sr : 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = noiseLevel * (noise[i] + g * sig[i]);
  return out;
}
