/**
 * Instrument response evaluation and removal, as ObsPy's
 * `Trace.remove_response(pre_filt=..., water_level=..., output=...)`.
 *
 * The response is the product of the analog poles-and-zeros stages, scaled so
 * that its magnitude at the sensitivity frequency equals the overall
 * `InstrumentSensitivity`. Digital FIR stages are left out: their passband is
 * flat to within a fraction of a dB below ~80 % of the Nyquist frequency, which
 * the band-pass and the pre-filter keep us within.
 *
 * @module
 */
import { irfftReal, nextPow2, rfftFull } from "./_fft.ts";
import { cosineSpectralTaper } from "./taper.ts";

/** One analog poles-and-zeros stage. */
export interface PolesZerosStage {
  /** `radians` (LAPLACE (RADIANS/SECOND)): s = 2πif; `hertz` (LAPLACE (HERTZ)): s = if. */
  type: "radians" | "hertz";
  /** Zeros as `[re, im]`. */
  zeros: [number, number][];
  /** Poles as `[re, im]`. */
  poles: [number, number][];
  /** A0 (informational: the scaling below uses the sensitivity). */
  normalizationFactor: number;
}

/** A channel's response in the terms response removal needs. */
export interface InstrumentResponse {
  /** Overall sensitivity, output units (counts) per input unit. */
  sensitivity: number;
  /** Frequency at which the sensitivity holds, Hz. */
  sensitivityFrequency: number;
  /** Physical input units, e.g. `M/S`. */
  inputUnits: string;
  /** Analog poles-and-zeros stages (may be empty: a flat response). */
  stages: PolesZerosStage[];
}

/** Ground-motion output of {@linkcode removeResponse}. */
export type GroundOutput = "DISP" | "VEL" | "ACC";

/**
 * @param units StationXML unit name.
 * @returns 0 displacement, 1 velocity, 2 acceleration, or null when not ground motion.
 */
export function unitsOrder(units: string): number | null {
  const u = units.toUpperCase().replaceAll(" ", "");
  if (u === "M" || u === "NM" || u === "CM" || u === "MM") return 0;
  if (/^(M|NM|CM|MM)\/(S|SEC)$/.test(u)) return 1;
  if (/^(M|NM|CM|MM)\/(S|SEC)(\*\*2|\^2|2|\/S|\/SEC)$/.test(u)) return 2;
  return null;
}

function stageAt(stage: PolesZerosStage, f: number): [number, number] {
  const s: [number, number] = stage.type === "hertz" ? [0, f] : [0, 2 * Math.PI * f];
  let re = 1, im = 0;
  const mul = (a: number, b: number) => {
    const r = re * a - im * b;
    im = re * b + im * a;
    re = r;
  };
  for (const z of stage.zeros) mul(s[0] - z[0], s[1] - z[1]);
  for (const p of stage.poles) {
    const a = s[0] - p[0], b = s[1] - p[1];
    const d = a * a + b * b;
    mul(a / d, -b / d);
  }
  return [re, im];
}

/**
 * Evaluates the response at a frequency.
 *
 * @param resp The response.
 * @param f Frequency, Hz.
 * @returns `[re, im]` of H(f), counts per input unit.
 * @example
 * ```ts
 * import { evaluateResponse } from "./response.ts";
 * const resp = {
 *   sensitivity: 1000, sensitivityFrequency: 5, inputUnits: "M/S",
 *   stages: [{ type: "radians" as const, zeros: [[0, 0], [0, 0]] as [number, number][],
 *     poles: [[-4.44, 4.44], [-4.44, -4.44]] as [number, number][], normalizationFactor: 1 }],
 * };
 * const [re, im] = evaluateResponse(resp, 5);
 * if (Math.abs(Math.hypot(re, im) - 1000) > 1e-9) throw new Error();
 * ```
 */
export function evaluateResponse(resp: InstrumentResponse, f: number): [number, number] {
  let re = 1, im = 0, nre = 1, nim = 0;
  for (const st of resp.stages) {
    const [a, b] = stageAt(st, f);
    const r = re * a - im * b;
    im = re * b + im * a;
    re = r;
    const [c, d] = stageAt(st, resp.sensitivityFrequency);
    const q = nre * c - nim * d;
    nim = nre * d + nim * c;
    nre = q;
  }
  const g = resp.sensitivity / Math.hypot(nre, nim);
  return [re * g, im * g];
}

/** Options of {@linkcode removeResponse}. */
export interface RemoveResponseOptions {
  /** `[f1, f2, f3, f4]` Hz cosine pre-filter taper, or null for none. */
  preFilt?: readonly number[] | null;
  /** Water level in dB below the response maximum, or null for none (default null). */
  waterLevel?: number | null;
  /** Ground-motion output (default: the sensor's own input units). */
  output?: GroundOutput;
}

/**
 * Removes an instrument response: spectral division with a cosine pre-filter and
 * an optional water level, then conversion to the requested ground motion.
 *
 * @param x Samples in counts (demeaned, detrended and tapered beforehand).
 * @param fs Sampling rate, Hz.
 * @param resp The channel's response.
 * @param options Pre-filter, water level and output.
 * @returns ground motion in SI units (m, m/s or m/s²).
 * @throws {RangeError} for bad pre-filter corners, a zero sensitivity, or an output
 *   conversion from non-ground-motion units.
 */
export function removeResponse(
  x: Float64Array,
  fs: number,
  resp: InstrumentResponse,
  options: RemoveResponseOptions = {},
): Float64Array {
  const pre = options.preFilt ?? null;
  if (pre !== null) {
    if (
      pre.length !== 4 || !(pre[0] >= 0 && pre[0] < pre[1] && pre[1] < pre[2] && pre[2] < pre[3])
    ) {
      throw new RangeError(
        `Cannot remove response: pre_filt must be 4 increasing frequencies: found [${pre}]`,
      );
    }
  }
  if (!(Number.isFinite(resp.sensitivity) && resp.sensitivity !== 0)) {
    throw new RangeError(
      `Cannot remove response: sensitivity must be non-zero: found ${resp.sensitivity}`,
    );
  }
  let diff = 0;
  if (options.output) {
    const inOrder = unitsOrder(resp.inputUnits);
    if (inOrder === null) {
      throw new RangeError(
        `Cannot remove response: cannot convert input units '${resp.inputUnits}' to ${options.output}`,
      );
    }
    diff = { DISP: 0, VEL: 1, ACC: 2 }[options.output] - inOrder;
  }
  const n = x.length;
  const nfft = nextPow2(2 * n);
  const spec = rfftFull(x, nfft);
  const half = nfft / 2;
  const h = new Float64Array(2 * (half + 1));
  let hmax = 0;
  for (let k = 0; k <= half; k++) {
    const [re, im] = evaluateResponse(resp, k * fs / nfft);
    h[2 * k] = re;
    h[2 * k + 1] = im;
    hmax = Math.max(hmax, Math.hypot(re, im));
  }
  const wl = options.waterLevel == null ? 0 : hmax * 10 ** (-options.waterLevel / 20);
  for (let k = 0; k <= half; k++) {
    const f = k * fs / nfft;
    let re = h[2 * k], im = h[2 * k + 1];
    const mag = Math.hypot(re, im);
    if (mag < wl && mag > 0) {
      re *= wl / mag;
      im *= wl / mag;
    }
    const d = re * re + im * im;
    const taper = pre ? cosineSpectralTaper(f, pre) : 1;
    // 1/H = conj(H)/|H|^2, times (iω)^diff.
    let ir = d > 0 ? taper * re / d : 0, ii = d > 0 ? -taper * im / d : 0;
    const w = 2 * Math.PI * f;
    for (let p = 0; p < Math.abs(diff); p++) {
      if (diff > 0) [ir, ii] = [-ii * w, ir * w];
      else if (w === 0) [ir, ii] = [0, 0];
      else [ir, ii] = [ii / w, -ir / w];
    }
    const sr = spec[2 * k], si = spec[2 * k + 1];
    const yr = sr * ir - si * ii, yi = sr * ii + si * ir;
    spec[2 * k] = yr;
    spec[2 * k + 1] = yi;
    if (k > 0 && k < half) {
      spec[2 * (nfft - k)] = yr;
      spec[2 * (nfft - k) + 1] = -yi;
    }
  }
  spec[2 * half + 1] = 0;
  return irfftReal(spec, nfft).slice(0, n);
}

/**
 * Passes ground motion through an instrument response (the forward model, used
 * by the synthetic generator): multiplies the spectrum by H(f).
 *
 * @param x Ground motion in the response's input units.
 * @param fs Sampling rate, Hz.
 * @param resp The response.
 * @returns the recorded trace in counts (not rounded).
 */
export function applyResponse(x: Float64Array, fs: number, resp: InstrumentResponse): Float64Array {
  const n = x.length;
  const nfft = nextPow2(2 * n);
  const spec = rfftFull(x, nfft);
  const half = nfft / 2;
  for (let k = 0; k <= half; k++) {
    const [hr, hi] = evaluateResponse(resp, k * fs / nfft);
    const sr = spec[2 * k], si = spec[2 * k + 1];
    const yr = sr * hr - si * hi, yi = sr * hi + si * hr;
    spec[2 * k] = yr;
    spec[2 * k + 1] = yi;
    if (k > 0 && k < half) {
      spec[2 * (nfft - k)] = yr;
      spec[2 * (nfft - k) + 1] = -yi;
    }
  }
  spec[2 * half + 1] = 0;
  return irfftReal(spec, nfft).slice(0, n);
}
