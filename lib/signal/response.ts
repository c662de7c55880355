/**
 * Instrument response evaluation and removal, as ObsPy's
 * `Trace.remove_response(pre_filt=..., water_level=..., output=...)`.
 *
 * The response is the product of every filter stage: the analog
 * poles-and-zeros stages (complex, s = 2πif or if) and the digital stages (FIR,
 * Coefficients, DIGITAL (Z-TRANSFORM) poles and zeros), each digital stage
 * evaluated at its own input sample rate (z = exp(2πif/fs_in)), as evalresp
 * does. Digital stages enter by their magnitude only (zero phase): data time
 * stamps are already corrected for the digital filters' delay, as ObsPy
 * assumes. The product is scaled so that its magnitude at the sensitivity
 * frequency equals the overall `InstrumentSensitivity` (the digital stages'
 * magnitude there is ~1). The product of the stage gains is not used, as in SAC
 * poles-and-zeros files: where a file's sensitivity and stage gains disagree
 * (by up to 0.52 % in the ESEC files), the level differs from evalresp's by that; the
 * StationXML reader fails a channel whose stages disagree with it by more than 10 %, or whose
 * first stage takes other input units.
 *
 * Input units in NM, CM or MM (per S, per S**2) are converted to SI, as
 * evalresp's unit scale factors do; the output is in m, m/s or m/s².
 *
 * @module
 */
import { irfftReal, irfftRealInto, nextPow2, rfftFull, rfftHalf } from "./_fft.ts";
import { ByteLru } from "../util/lru.ts";
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

/**
 * One digital filter stage, evaluated by its magnitude at z = exp(2πif/inputSampleRate).
 *
 * - `coefficients` (StationXML `FIR`, with any `EVEN`/`ODD` symmetry already expanded
 *   to all taps, or `Coefficients` with `DIGITAL` transfer function):
 *   |Σ b_k z^-k / Σ a_k z^-k|; an empty list stands for 1.
 * - `polesZeros` (`PolesZeros` with `DIGITAL (Z-TRANSFORM)`): |Π (z − z_k) / Π (z − p_k)|.
 */
export type DigitalStage =
  | {
    kind: "coefficients";
    /** The stage's input sample rate, Hz (StationXML `Decimation/InputSampleRate`). */
    inputSampleRate: number;
    /** b_0 … b_n, the coefficients of z^0 … z^-n. */
    numerator: number[];
    /** a_0 … a_m, the coefficients of z^0 … z^-m (empty: 1, an FIR filter). */
    denominator: number[];
  }
  | {
    kind: "polesZeros";
    /** The stage's input sample rate, Hz (StationXML `Decimation/InputSampleRate`). */
    inputSampleRate: number;
    /** Zeros in the z plane as `[re, im]`. */
    zeros: [number, number][];
    /** Poles in the z plane as `[re, im]`. */
    poles: [number, number][];
  };

/** A channel's response in the terms response removal needs. */
export interface InstrumentResponse {
  /** Overall sensitivity, output units (counts) per input unit. */
  sensitivity: number;
  /** Frequency at which the sensitivity holds, Hz. */
  sensitivityFrequency: number;
  /**
   * Physical input units: ground motion in M, NM, CM or MM, optionally per S or
   * per S**2 (`M/S`, `nm/s`, `CM/S**2`, `M/S/S`, ...); see {@linkcode groundUnits}.
   */
  inputUnits: string;
  /** Analog poles-and-zeros stages (may be empty: a flat response). */
  stages: PolesZerosStage[];
  /** Digital filter stages, magnitude only (absent or empty: none). */
  digital?: DigitalStage[];
  /** What the response belongs to, for error messages, e.g. `TA.S06C..BHZ in TA.S06C.xml`. */
  source?: string;
  /**
   * Why the stages contradict the sensitivity (the StationXML's product of stage gains more
   * than 10 % from its InstrumentSensitivity Value), where they do: the response is then the
   * sensitivity's, and `extract` fails its samples unless `preprocess.response.stageCheck` is
   * `warn`.
   */
  disagreement?: string;
}

/** Ground-motion output of {@linkcode removeResponse}. */
export type GroundOutput = "DISP" | "VEL" | "ACC";

/** Ground-motion units: their derivative order and their size in SI units. */
export interface GroundUnits {
  /** 0 displacement, 1 velocity, 2 acceleration. */
  order: number;
  /** One input unit in SI units (m, m/s, m/s²): 1 for M, 1e-2 CM, 1e-3 MM, 1e-9 NM. */
  scale: number;
}

const UNIT_SCALE: Record<string, number> = { M: 1, CM: 1e-2, MM: 1e-3, NM: 1e-9 };

/**
 * Parses ground-motion units and their SI scale, as evalresp does: length M, CM, MM or NM, then
 * nothing (displacement), `/S` (velocity) or `/S**2`, `/S^2`, `/S2`, `/S/S`
 * (acceleration); `SEC` for `S`; any case, spaces ignored.
 *
 * @param units StationXML unit name.
 * @returns the order and SI scale, or null when not understood.
 * @example
 * ```ts
 * import { groundUnits } from "./response.ts";
 * const u = groundUnits("NM/S");
 * if (u?.order !== 1 || u.scale !== 1e-9) throw new Error();
 * ```
 */
export function groundUnits(units: string): GroundUnits | null {
  const u = String(units).toUpperCase().replaceAll(" ", "");
  const m = /^(M|NM|CM|MM)(?:\/(?:S|SEC)((?:\*\*2|\^2|2|\/S|\/SEC))?)?$/.exec(u);
  if (!m) return null;
  const order = !u.includes("/") ? 0 : m[2] === undefined ? 1 : 2;
  return { order, scale: UNIT_SCALE[m[1]] };
}

/**
 * @param units StationXML unit name.
 * @returns 0 displacement, 1 velocity, 2 acceleration, or null when not ground
 *   motion (see {@linkcode groundUnits}).
 */
export function unitsOrder(units: string): number | null {
  return groundUnits(units)?.order ?? null;
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

/** |Σ c_k w^k| with w = (wr, wi), by Horner's rule; an empty list is 1. */
function polyAbs(c: readonly number[], wr: number, wi: number): number {
  if (c.length === 0) return 1;
  let re = c[c.length - 1], im = 0;
  for (let k = c.length - 2; k >= 0; k--) {
    const r = re * wr - im * wi + c[k];
    im = re * wi + im * wr;
    re = r;
  }
  return Math.hypot(re, im);
}

/** |H| of a digital stage at frequency f, Hz. */
function digitalAbs(stage: DigitalStage, f: number): number {
  const th = 2 * Math.PI * f / stage.inputSampleRate;
  const c = Math.cos(th), s = Math.sin(th);
  if (stage.kind === "coefficients") {
    // z^-1 = exp(-iθ).
    return polyAbs(stage.numerator, c, -s) / polyAbs(stage.denominator, c, -s);
  }
  let g = 1;
  for (const z of stage.zeros) g *= Math.hypot(c - z[0], s - z[1]);
  for (const p of stage.poles) g /= Math.hypot(c - p[0], s - p[1]);
  return g;
}

/** The analog stages' complex product at frequency f, Hz. */
function analogAt(resp: InstrumentResponse, f: number): [number, number] {
  let re = 1, im = 0;
  for (const st of resp.stages) {
    const [a, b] = stageAt(st, f);
    const r = re * a - im * b;
    im = re * b + im * a;
    re = r;
  }
  return [re, im];
}

/** H(f) without the scaling to the sensitivity. */
function rawResponse(resp: InstrumentResponse, f: number): [number, number] {
  const [re, im] = analogAt(resp, f);
  let g = 1;
  for (const st of resp.digital ?? []) g *= digitalAbs(st, f);
  return [re * g, im * g];
}

/** The factor that scales {@linkcode rawResponse} to the sensitivity at its frequency. */
function sensitivityScale(resp: InstrumentResponse): number {
  const [nre, nim] = rawResponse(resp, resp.sensitivityFrequency);
  return resp.sensitivity / Math.hypot(nre, nim);
}

/**
 * @returns f ↦ H(f), with the scaling to the sensitivity computed once.
 */
function responseAt(resp: InstrumentResponse): (f: number) => [number, number] {
  const g = sensitivityScale(resp);
  return (f) => {
    const [re, im] = rawResponse(resp, f);
    return [re * g, im * g];
  };
}

/**
 * {@linkcode polyAbs} at every point `(wr[k], −ws[k])`. Four points are evaluated together:
 * each Horner's rule is a chain of dependent steps, and four chains side by side keep the CPU
 * busy where one waited on each step (an FIR stage has hundreds of coefficients, and a trace
 * thousands of frequencies). Each point's arithmetic is the same as alone: the same values.
 */
function polyAbsAll(c: readonly number[], wr: Float64Array, ws: Float64Array): Float64Array {
  const n = wr.length;
  const out = new Float64Array(n);
  if (c.length === 0) return out.fill(1);
  const top = c[c.length - 1];
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const ar = wr[k], ai = -ws[k], br = wr[k + 1], bi = -ws[k + 1];
    const cr = wr[k + 2], ci = -ws[k + 2], dr = wr[k + 3], di = -ws[k + 3];
    let re0 = top, im0 = 0, re1 = top, im1 = 0, re2 = top, im2 = 0, re3 = top, im3 = 0;
    for (let q = c.length - 2; q >= 0; q--) {
      const cq = c[q];
      const r0 = re0 * ar - im0 * ai + cq;
      im0 = re0 * ai + im0 * ar;
      re0 = r0;
      const r1 = re1 * br - im1 * bi + cq;
      im1 = re1 * bi + im1 * br;
      re1 = r1;
      const r2 = re2 * cr - im2 * ci + cq;
      im2 = re2 * ci + im2 * cr;
      re2 = r2;
      const r3 = re3 * dr - im3 * di + cq;
      im3 = re3 * di + im3 * dr;
      re3 = r3;
    }
    out[k] = Math.hypot(re0, im0);
    out[k + 1] = Math.hypot(re1, im1);
    out[k + 2] = Math.hypot(re2, im2);
    out[k + 3] = Math.hypot(re3, im3);
  }
  for (; k < n; k++) out[k] = polyAbs(c, wr[k], -ws[k]);
  return out;
}

/**
 * The product of the digital stages' |H| at the bins k·fs/nfft, k < count: for each bin, the
 * value {@linkcode rawResponse} multiplies by (the same operations, in the same order), with
 * each stage's coefficients evaluated at four bins at a time ({@linkcode polyAbsAll}).
 */
function digitalGains(
  resp: InstrumentResponse,
  fs: number,
  nfft: number,
  count: number,
): Float64Array {
  const g = new Float64Array(count).fill(1);
  for (const st of resp.digital ?? []) {
    const c = new Float64Array(count), s = new Float64Array(count);
    for (let k = 0; k < count; k++) {
      const th = 2 * Math.PI * (k * fs / nfft) / st.inputSampleRate;
      c[k] = Math.cos(th);
      s[k] = Math.sin(th);
    }
    if (st.kind === "coefficients") {
      const num = polyAbsAll(st.numerator, c, s), den = polyAbsAll(st.denominator, c, s);
      for (let k = 0; k < count; k++) g[k] *= num[k] / den[k];
      continue;
    }
    for (let k = 0; k < count; k++) {
      let d = 1;
      for (const z of st.zeros) d *= Math.hypot(c[k] - z[0], s[k] - z[1]);
      for (const p of st.poles) d /= Math.hypot(c[k] - p[0], s[k] - p[1]);
      g[k] *= d;
    }
  }
  return g;
}

/**
 * Evaluates the response at a frequency: the analog stages' complex product
 * times the digital stages' magnitudes, scaled so that |H| at the sensitivity
 * frequency is the sensitivity.
 *
 * @param resp The response.
 * @param f Frequency, Hz.
 * @returns `[re, im]` of H(f), counts per input unit (the sensor's own units, not SI).
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
  return responseAt(resp)(f);
}

/** Options of {@linkcode removeResponse}. */
export interface RemoveResponseOptions {
  /** `[f1, f2, f3, f4]` Hz cosine pre-filter taper, or null for none. */
  preFilt?: readonly number[] | null;
  /**
   * Water level in dB (>= 0) below the maximum of the response expressed in the output
   * units (H·(iω)^k, as ObsPy's `remove_response` passes to `invert_spectrum`),
   * or null for none (default null).
   */
  waterLevel?: number | null;
  /** Ground-motion output (default: the sensor's own kind of ground motion). */
  output?: GroundOutput;
}

/**
 * @returns the response's units; throws a RangeError naming the channel and the units.
 */
function inputGroundUnits(resp: InstrumentResponse, verb: string): GroundUnits {
  const u = groundUnits(resp.inputUnits);
  if (u === null) {
    throw new RangeError(
      `Cannot ${verb} the response of ${resp.source ?? "the channel"}: input units '${
        String(resp.inputUnits)
      }' are not understood: expected ground motion in M, CM, MM or NM, optionally per S or per S**2 ` +
        `(e.g. M/S, NM/S, CM/S**2)`,
    );
  }
  return u;
}

/**
 * Inverse filters by response, rate, FFT size and options: at most 64 MiB (a 110 s trace's is
 * 256 KiB), none over 16 MiB.
 */
const inverseCache = new ByteLru<Float64Array>(64 << 20, 16 << 20);

/**
 * The spectral inverse filter of a response at the bins k·fs/nfft, k = 0..nfft/2, interleaved
 * `[re, im]`: taper(f) / H_out(f), with H_out = H / scale · (iω)^(in − out) clipped from below
 * by the water level, and 0 where H_out is 0. Catalogues hold thousands of traces of one
 * channel (or of identical sensors), so the filter is cached by the response's content and the
 * settings: evaluating it cost about as much as the two FFTs of a 110 s trace.
 */
function inverseFilter(
  resp: InstrumentResponse,
  units: GroundUnits,
  fs: number,
  nfft: number,
  pre: readonly number[] | null,
  options: RemoveResponseOptions,
): Float64Array {
  const key = JSON.stringify([
    resp.sensitivity,
    resp.sensitivityFrequency,
    resp.inputUnits,
    resp.stages,
    resp.digital ?? [],
    fs,
    nfft,
    pre,
    options.waterLevel ?? null,
    options.output ?? null,
  ]);
  const hit = inverseCache.get(key);
  if (hit) return hit;
  const diff = options.output ? { DISP: 0, VEL: 1, ACC: 2 }[options.output] - units.order : 0;
  const half = nfft / 2;
  // H_out(f) = H(f) / scale · (iω)^(-diff): counts per SI unit of the output.
  const h = new Float64Array(2 * (half + 1));
  // H(f) as responseAt gives it: the analog product times the digital gains, times the scale.
  const scale = sensitivityScale(resp);
  const digital = digitalGains(resp, fs, nfft, half + 1);
  let hmax = 0;
  for (let k = 0; k <= half; k++) {
    const f = k * fs / nfft;
    const [ar, ai] = analogAt(resp, f);
    let re = ar * digital[k] * scale, im = ai * digital[k] * scale;
    re /= units.scale;
    im /= units.scale;
    const w = 2 * Math.PI * f;
    for (let p = 0; p < Math.abs(diff); p++) {
      if (w === 0) [re, im] = [0, 0];
      else if (diff < 0) [re, im] = [-im * w, re * w]; // × iω
      else [re, im] = [im / w, -re / w]; // ÷ iω
    }
    h[2 * k] = re;
    h[2 * k + 1] = im;
    hmax = Math.max(hmax, Math.sqrt(re * re + im * im));
  }
  const wl = options.waterLevel == null ? 0 : hmax * 10 ** (-options.waterLevel / 20);
  for (let k = 0; k <= half; k++) {
    const f = k * fs / nfft;
    let re = h[2 * k], im = h[2 * k + 1];
    const mag = Math.sqrt(re * re + im * im);
    if (mag < wl && mag > 0) {
      re *= wl / mag;
      im *= wl / mag;
    }
    const d = re * re + im * im;
    const taper = pre ? cosineSpectralTaper(f, pre) : 1;
    // 1/H_out = conj(H_out)/|H_out|^2 (0 where H_out is 0).
    h[2 * k] = d > 0 ? taper * re / d : 0;
    h[2 * k + 1] = d > 0 ? -taper * im / d : 0;
  }
  inverseCache.set(key, h, h.byteLength);
  return h;
}

/**
 * Removes an instrument response: spectral division with a cosine pre-filter and
 * an optional water level, then conversion to the requested ground motion in SI
 * units. As ObsPy's `remove_response`, the response is first expressed in the
 * output units, H_out = H / scale · (iω)^(in − out) (scale: one input unit in SI
 * units), and the water level clips |H_out| from below at
 * max|H_out| · 10^(−waterLevel/20) before the division.
 *
 * @param x Samples in counts (demeaned, detrended and tapered beforehand).
 * @param fs Sampling rate, Hz.
 * @param resp The channel's response.
 * @param options Pre-filter, water level and output.
 * @returns ground motion in SI units (m, m/s or m/s²).
 * @throws {RangeError} for bad pre-filter corners, a zero sensitivity, or input
 *   units that are not ground motion in M, CM, MM or NM (per S, per S**2).
 */
export function removeResponse(
  x: Float64Array,
  fs: number,
  resp: InstrumentResponse,
  options: RemoveResponseOptions = {},
): Float64Array {
  const what = resp.source ?? "the channel";
  const pre = options.preFilt ?? null;
  if (pre !== null) {
    if (
      pre.length !== 4 || !(pre[0] >= 0 && pre[0] < pre[1] && pre[1] < pre[2] && pre[2] < pre[3])
    ) {
      throw new RangeError(
        `Cannot remove the response of ${what}: pre_filt must be 4 increasing frequencies: found [${pre}]`,
      );
    }
  }
  if (!(Number.isFinite(resp.sensitivity) && resp.sensitivity !== 0)) {
    throw new RangeError(
      `Cannot remove the response of ${what}: sensitivity must be non-zero: found ${resp.sensitivity}`,
    );
  }
  const wl = options.waterLevel;
  if (wl != null && !(wl > 0 && Number.isFinite(wl))) {
    // At the maximum or above, the level clips every frequency: the response is flattened, not
    // removed.
    throw new RangeError(
      `Cannot remove the response of ${what}: the water level must be a finite number of dB ` +
        `> 0 below the response maximum: found ${wl}`,
    );
  }
  const units = inputGroundUnits(resp, "remove");
  const n = x.length;
  const nfft = nextPow2(2 * n);
  const half = nfft / 2;
  const inv = inverseFilter(resp, units, fs, nfft, pre, options);
  // Bins 0..nfft/2 only: the inverse reads no others (the upper half mirrored them).
  const spec = rfftHalf(x, nfft);
  for (let k = 0; k <= half; k++) {
    const ir = inv[2 * k], ii = inv[2 * k + 1];
    const sr = spec[2 * k], si = spec[2 * k + 1];
    spec[2 * k] = sr * ir - si * ii;
    spec[2 * k + 1] = sr * ii + si * ir;
  }
  spec[2 * half + 1] = 0;
  return irfftRealInto(spec, nfft, new Float64Array(n));
}

/**
 * Passes ground motion through an instrument response (the forward model, used
 * by the synthetic generator): multiplies the spectrum by H(f) (digital stages by
 * their magnitude), after converting SI ground motion to the response's input
 * units, so that {@linkcode removeResponse} undoes it.
 *
 * @param x Ground motion in SI units of the response's kind (m, m/s or m/s²).
 * @param fs Sampling rate, Hz.
 * @param resp The response.
 * @returns the recorded trace in counts (not rounded).
 * @throws {RangeError} for input units that {@linkcode groundUnits} does not understand.
 */
export function applyResponse(x: Float64Array, fs: number, resp: InstrumentResponse): Float64Array {
  const units = inputGroundUnits(resp, "apply");
  const n = x.length;
  const nfft = nextPow2(2 * n);
  const spec = rfftFull(x, nfft);
  const half = nfft / 2;
  const at = responseAt(resp);
  for (let k = 0; k <= half; k++) {
    const [re, im] = at(k * fs / nfft);
    const hr = re / units.scale, hi = im / units.scale;
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
