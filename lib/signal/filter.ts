/**
 * Butterworth IIR filters as second-order sections, designed like SciPy's
 * `butter(..., output="sos")`: analog prototype poles, frequency transform with
 * prewarped corners, bilinear transform. Filtering is causal (one pass) or
 * zero-phase (forward then backward, as ObsPy's `zerophase=True`, which squares
 * the magnitude response); `sosfiltfiltPadded` is SciPy's `sosfiltfilt`, which also pads the
 * ends and starts from the steady state (the resampler's anti-alias filter).
 *
 * @module
 */

/** One biquad: `b0 + b1 z^-1 + b2 z^-2` over `1 + a1 z^-1 + a2 z^-2`. */
export interface Sos {
  /** Numerator coefficient of z^0. */
  b0: number;
  /** Numerator coefficient of z^-1. */
  b1: number;
  /** Numerator coefficient of z^-2. */
  b2: number;
  /** Denominator coefficient of z^-1. */
  a1: number;
  /** Denominator coefficient of z^-2. */
  a2: number;
}

type C = [number, number];
const cmul = (a: C, b: C): C => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]];
const cdiv = (a: C, b: C): C => {
  const d = b[0] * b[0] + b[1] * b[1];
  return [(a[0] * b[0] + a[1] * b[1]) / d, (a[1] * b[0] - a[0] * b[1]) / d];
};
const csqrt = (a: C): C => {
  const r = Math.hypot(a[0], a[1]);
  const re = Math.sqrt((r + a[0]) / 2);
  const im = Math.sign(a[1] || 1) * Math.sqrt(Math.max(0, (r - a[0]) / 2));
  return [re, im];
};

/** Bilinear transform of an analog pole (or zero) s at sampling rate fs. */
function bilinear(s: C, fs: number): C {
  const k = 2 * fs;
  return cdiv([k + s[0], s[1]], [k - s[0], -s[1]]);
}

function prototypePoles(order: number): C[] {
  const p: C[] = [];
  for (let k = 0; k < order; k++) {
    const theta = Math.PI * (2 * k + order + 1) / (2 * order);
    p.push([Math.cos(theta), Math.sin(theta)]);
  }
  return p;
}

function checkCorners(name: string, corners: number[], fs: number): void {
  const nyq = fs / 2;
  for (const f of corners) {
    if (!(f > 0 && f < nyq)) {
      throw new RangeError(
        `Cannot design ${name} filter: corner frequencies must be in (0, ${nyq}) Hz ` +
          `(the Nyquist frequency of ${fs} Hz sampling): current value is ${f} Hz`,
      );
    }
  }
}

/** Turns digital poles (upper half-plane members of conjugate pairs, or real) into biquads. */
function sections(poles: C[], zeroPair: [number, number, number]): Sos[] {
  const out: Sos[] = [];
  const complex = poles.filter((p) => p[1] > 1e-14);
  const real = poles.filter((p) => Math.abs(p[1]) <= 1e-14);
  for (const p of complex) {
    out.push({
      b0: zeroPair[0],
      b1: zeroPair[1],
      b2: zeroPair[2],
      a1: -2 * p[0],
      a2: p[0] * p[0] + p[1] * p[1],
    });
  }
  for (let i = 0; i < real.length; i += 2) {
    const p1 = real[i][0], p2 = i + 1 < real.length ? real[i + 1][0] : 0;
    out.push({ b0: zeroPair[0], b1: zeroPair[1], b2: zeroPair[2], a1: -(p1 + p2), a2: p1 * p2 });
  }
  return out;
}

/**
 * Evaluates a filter's complex frequency response.
 *
 * @param sos Sections.
 * @param f Frequency, Hz.
 * @param fs Sampling rate, Hz.
 * @returns `[re, im]` of H(e^{iω}).
 */
export function sosResponse(sos: readonly Sos[], f: number, fs: number): [number, number] {
  const w = 2 * Math.PI * f / fs;
  const z1: C = [Math.cos(w), -Math.sin(w)];
  const z2: C = cmul(z1, z1);
  let h: C = [1, 0];
  for (const s of sos) {
    const num: C = [s.b0 + s.b1 * z1[0] + s.b2 * z2[0], s.b1 * z1[1] + s.b2 * z2[1]];
    const den: C = [1 + s.a1 * z1[0] + s.a2 * z2[0], s.a1 * z1[1] + s.a2 * z2[1]];
    h = cmul(h, cdiv(num, den));
  }
  return h;
}

function normalizeGain(sos: Sos[], f: number, fs: number): Sos[] {
  const h = sosResponse(sos, f, fs);
  const g = 1 / Math.hypot(h[0], h[1]);
  sos[0] = { ...sos[0], b0: sos[0].b0 * g, b1: sos[0].b1 * g, b2: sos[0].b2 * g };
  return sos;
}

/**
 * Designs a Butterworth band-pass filter.
 *
 * @param freqmin Lower corner (−3 dB), Hz.
 * @param freqmax Upper corner (−3 dB), Hz.
 * @param fs Sampling rate, Hz.
 * @param order Prototype order (default 4; the band-pass has 2·order poles).
 * @returns second-order sections with unit gain at the band centre.
 * @throws {RangeError} when a corner is not inside (0, Nyquist) or freqmin >= freqmax.
 * @example
 * ```ts
 * import { butterBandpass, sosResponse } from "./filter.ts";
 * const sos = butterBandpass(1, 10, 100);
 * const [re, im] = sosResponse(sos, 10, 100);
 * if (Math.abs(Math.hypot(re, im) - Math.SQRT1_2) > 1e-9) throw new Error();
 * ```
 */
export function butterBandpass(freqmin: number, freqmax: number, fs: number, order = 4): Sos[] {
  checkCorners("band-pass", [freqmin, freqmax], fs);
  if (!(freqmin < freqmax)) {
    throw new RangeError(
      `Cannot design band-pass filter: freqmin must be below freqmax: found ${freqmin} >= ${freqmax} Hz`,
    );
  }
  if (!(Number.isInteger(order) && order >= 1)) {
    throw new RangeError(
      `Cannot design band-pass filter: order must be >= 1: current value is ${order}`,
    );
  }
  const w1 = 2 * fs * Math.tan(Math.PI * freqmin / fs);
  const w2 = 2 * fs * Math.tan(Math.PI * freqmax / fs);
  const bw = w2 - w1, w0sq = w1 * w2;
  // Digital poles: one per conjugate pair (upper half-plane), and the two real ones that the
  // real prototype pole of an odd order gives on a wide band. Told apart by construction,
  // not by a tolerance on the imaginary part: a real pole pair near z = ±1 can come out of
  // the arithmetic with an imaginary part of 1e-13, and was then taken for a double pole.
  const upper: C[] = [], real: number[] = [];
  for (const p of prototypePoles(order)) {
    const isReal = Math.abs(p[1]) < 1e-12;
    if (!isReal && p[1] < 0) continue; // the conjugate of an upper prototype pole
    // s^2 - p·bw·s + w0^2 = 0
    const pb: C = [p[0] * bw, isReal ? 0 : p[1] * bw];
    const d2: C = [pb[0] * pb[0] - pb[1] * pb[1] - 4 * w0sq, 2 * pb[0] * pb[1]];
    const disc = csqrt(d2);
    const roots = [1, -1].map((sgn) =>
      bilinear([(pb[0] + sgn * disc[0]) / 2, (pb[1] + sgn * disc[1]) / 2], fs)
    );
    if (isReal && d2[0] >= 0) real.push(roots[0][0], roots[1][0]);
    else if (isReal) upper.push(roots[0][1] >= 0 ? roots[0] : roots[1]);
    else for (const r of roots) upper.push(r[1] >= 0 ? r : [r[0], -r[1]]);
  }
  const fc = fs / Math.PI * Math.atan(Math.sqrt(w0sq) / (2 * fs));
  return bandpassSections(upper, real, order, fc, fs);
}

/**
 * The band-pass's sections, paired and ordered as SciPy's zpk2sos ("nearest") does, so that
 * the cascade keeps its intermediate values bounded: its `order` zeros at z = 1 and `order` at
 * z = -1 go in pairs to the poles nearest them (the low-frequency poles take the zeros at 1,
 * the high-frequency ones those at -1; one section takes one of each when `order` is odd), the
 * sections with poles nearest the unit circle come last, and each is scaled to unit gain at
 * the band centre. The product, and so the response, is that of one zero of each kind per
 * section with the whole gain on the first, which turned white noise of ±0.5 into values of
 * 3.6e5 through an order-12 band-pass of 1–49.9 Hz at 100 Hz (SciPy: below 1).
 */
function bandpassSections(
  upperPoles: C[],
  real: number[],
  order: number,
  fc: number,
  fs: number,
): Sos[] {
  // Lowest frequency (angle) first.
  const upper = [...upperPoles].sort((a, b) => Math.atan2(a[1], a[0]) - Math.atan2(b[1], b[0]));
  // Two real poles (one near 1, one near -1) take one zero of each kind.
  const half = Math.floor(order / 2);
  // Double zero at 1: (1 - z^-1)^2; at -1: (1 + z^-1)^2; one of each: (1 - z^-2).
  const AT_ONE = [1, -2, 1], AT_MINUS_ONE = [1, 2, 1], MIXED = [1, 0, -1];
  const sos: Sos[] = upper.map((p, i) => {
    const zeros = i < half ? AT_ONE : i >= upper.length - half ? AT_MINUS_ONE : MIXED;
    return {
      b0: zeros[0],
      b1: zeros[1],
      b2: zeros[2],
      a1: -2 * p[0],
      a2: p[0] * p[0] + p[1] * p[1],
    };
  });
  if (real.length === 2) {
    const [p1, p2] = real;
    sos.push({ b0: 1, b1: 0, b2: -1, a1: -(p1 + p2), a2: p1 * p2 });
  }
  return sos.sort((a, b) => a.a2 - b.a2).map((s) => {
    const [re, im] = sosResponse([s], fc, fs);
    const g = 1 / Math.hypot(re, im);
    return { ...s, b0: s.b0 * g, b1: s.b1 * g, b2: s.b2 * g };
  });
}

/**
 * Designs a Butterworth low-pass filter.
 *
 * @param freq Corner (−3 dB), Hz.
 * @param fs Sampling rate, Hz.
 * @param order Filter order (default 8).
 * @returns second-order sections with unit gain at 0 Hz.
 * @throws {RangeError} when the corner is not inside (0, Nyquist).
 */
export function butterLowpass(freq: number, fs: number, order = 8): Sos[] {
  checkCorners("low-pass", [freq], fs);
  const wc = 2 * fs * Math.tan(Math.PI * freq / fs);
  const digital = prototypePoles(order).map((p) => bilinear([p[0] * wc, p[1] * wc], fs));
  const sos = sections(digital, [1, 2, 1]);
  // An odd order leaves one real pole alone: its section has a single zero at z = -1.
  if (order % 2 === 1) {
    const last = sos[sos.length - 1];
    sos[sos.length - 1] = { ...last, b0: 1, b1: 1, b2: 0, a2: 0 };
  }
  return normalizeGain(sos, 0, fs);
}

/**
 * Designs a Butterworth high-pass filter.
 *
 * @param freq Corner (−3 dB), Hz.
 * @param fs Sampling rate, Hz.
 * @param order Filter order (default 4).
 * @returns second-order sections with unit gain at Nyquist.
 */
export function butterHighpass(freq: number, fs: number, order = 4): Sos[] {
  checkCorners("high-pass", [freq], fs);
  const wc = 2 * fs * Math.tan(Math.PI * freq / fs);
  const digital = prototypePoles(order).map((p) => bilinear(cdiv([wc, 0], p), fs));
  const sos = sections(digital, [1, -2, 1]);
  if (order % 2 === 1) {
    const last = sos[sos.length - 1];
    sos[sos.length - 1] = { ...last, b0: 1, b1: -1, b2: 0, a2: 0 };
  }
  return normalizeGain(sos, fs / 2, fs);
}

/**
 * Filters in place, causally (direct form II transposed, zero initial state).
 *
 * @param sos Sections.
 * @param x Samples.
 * @returns the same array.
 */
export function sosfilt(sos: readonly Sos[], x: Float64Array): Float64Array {
  return filtFrom(sos, x, null);
}

/**
 * sosfilt from the state `zi` (two values per section, all scaled by the input's x[0]) or from
 * zero state. `backward` runs from the last sample to the first (the second pass of a zero-phase
 * filter, without reversing the array twice), x[0] then meaning the last sample.
 *
 * The sections run together, sample by sample (four a pass, then two, then one): each section's recurrence
 * is a chain of dependent multiplications and additions, and interleaving sections lets the
 * CPU overlap them, where one pass per section waited on each chain in turn. Every section
 * does the same operations in the same order as before, so the output is the same, bit for bit.
 */
function filtFrom(
  sos: readonly Sos[],
  x: Float64Array,
  zi: Float64Array | null,
  backward = false,
): Float64Array {
  const n = x.length;
  if (n === 0) return x;
  const x0 = backward ? x[n - 1] : x[0];
  const first = backward ? n - 1 : 0, step = backward ? -1 : 1;
  let k = 0;
  // Four sections a pass: a band-pass of order 4, or the resampling's order-8 low-pass.
  for (; k + 4 <= sos.length; k += 4) {
    const s = sos[k], t = sos[k + 1], u = sos[k + 2], v = sos[k + 3];
    const b0 = s.b0, b1 = s.b1, b2 = s.b2, a1 = s.a1, a2 = s.a2;
    const c0 = t.b0, c1 = t.b1, c2 = t.b2, d1 = t.a1, d2 = t.a2;
    const e0 = u.b0, e1 = u.b1, e2 = u.b2, f1 = u.a1, f2 = u.a2;
    const g0 = v.b0, g1 = v.b1, g2 = v.b2, h1 = v.a1, h2 = v.a2;
    let z1 = zi ? zi[2 * k] * x0 : 0, z2 = zi ? zi[2 * k + 1] * x0 : 0;
    let w1 = zi ? zi[2 * k + 2] * x0 : 0, w2 = zi ? zi[2 * k + 3] * x0 : 0;
    let p1 = zi ? zi[2 * k + 4] * x0 : 0, p2 = zi ? zi[2 * k + 5] * x0 : 0;
    let q1 = zi ? zi[2 * k + 6] * x0 : 0, q2 = zi ? zi[2 * k + 7] * x0 : 0;
    for (let j = 0, i = first; j < n; j++, i += step) {
      const xi = x[i];
      const y = b0 * xi + z1;
      z1 = b1 * xi - a1 * y + z2;
      z2 = b2 * xi - a2 * y;
      const y2 = c0 * y + w1;
      w1 = c1 * y - d1 * y2 + w2;
      w2 = c2 * y - d2 * y2;
      const y3 = e0 * y2 + p1;
      p1 = e1 * y2 - f1 * y3 + p2;
      p2 = e2 * y2 - f2 * y3;
      const y4 = g0 * y3 + q1;
      q1 = g1 * y3 - h1 * y4 + q2;
      q2 = g2 * y3 - h2 * y4;
      x[i] = y4;
    }
  }
  for (; k + 2 <= sos.length; k += 2) {
    const s = sos[k], t = sos[k + 1];
    const b0 = s.b0, b1 = s.b1, b2 = s.b2, a1 = s.a1, a2 = s.a2;
    const c0 = t.b0, c1 = t.b1, c2 = t.b2, d1 = t.a1, d2 = t.a2;
    let z1 = zi ? zi[2 * k] * x0 : 0, z2 = zi ? zi[2 * k + 1] * x0 : 0;
    let w1 = zi ? zi[2 * k + 2] * x0 : 0, w2 = zi ? zi[2 * k + 3] * x0 : 0;
    for (let j = 0, i = first; j < n; j++, i += step) {
      const xi = x[i];
      const y = b0 * xi + z1;
      z1 = b1 * xi - a1 * y + z2;
      z2 = b2 * xi - a2 * y;
      const v = c0 * y + w1;
      w1 = c1 * y - d1 * v + w2;
      w2 = c2 * y - d2 * v;
      x[i] = v;
    }
  }
  for (; k < sos.length; k++) {
    const { b0, b1, b2, a1, a2 } = sos[k];
    let z1 = zi ? zi[2 * k] * x0 : 0, z2 = zi ? zi[2 * k + 1] * x0 : 0;
    for (let j = 0, i = first; j < n; j++, i += step) {
      const xi = x[i];
      const y = b0 * xi + z1;
      z1 = b1 * xi - a1 * y + z2;
      z2 = b2 * xi - a2 * y;
      x[i] = y;
    }
  }
  return x;
}

/**
 * Filters in place, forward then backward: zero phase, magnitude squared.
 *
 * @param sos Sections.
 * @param x Samples.
 * @returns the same array.
 */
export function sosfiltfilt(sos: readonly Sos[], x: Float64Array): Float64Array {
  filtFrom(sos, x, null);
  return filtFrom(sos, x, null, true);
}

/**
 * Each section's state after a unit step has run for ever (SciPy's `sosfilt_zi`): two values
 * per section, [z1, z2] of the transposed direct form, each section's scaled by the DC gain
 * of the sections before it. Starting from `zi · x[0]`, a trace that begins at a constant
 * level has no start-up transient.
 *
 * @param sos Sections (none may have a pole at z = 1).
 * @returns 2 · sections values.
 */
export function sosfiltZi(sos: readonly Sos[]): Float64Array {
  const zi = new Float64Array(2 * sos.length);
  let scale = 1;
  sos.forEach(({ b0, b1, b2, a1, a2 }, i) => {
    const g = (b0 + b1 + b2) / (1 + a1 + a2);
    const z2 = b2 - a2 * g;
    zi[2 * i] = scale * (b1 - a1 * g + z2);
    zi[2 * i + 1] = scale * z2;
    scale *= g;
  });
  return zi;
}

/**
 * Zero-phase filtering with SciPy's `sosfiltfilt` defaults, in place: the trace is extended
 * at both ends by its odd reflection (2·x[0] − x[k], 3·(2·sections + 1) samples, fewer where
 * the trace is shorter), filtered forward then backward, each pass from the steady state of
 * its first value (`sosfiltZi`), and the extension cut off. Unlike {@linkcode sosfiltfilt}
 * (ObsPy's zero-phase, from zero state), a constant passes a low-pass unchanged up to the
 * ends, and a trend nearly so.
 *
 * @param sos Sections.
 * @param x Samples.
 * @returns the same array.
 * @example
 * ```ts
 * import { butterLowpass, sosfiltfiltPadded } from "./filter.ts";
 * const x = new Float64Array(50).fill(3);
 * sosfiltfiltPadded(butterLowpass(10, 100, 8), x);
 * if (Math.abs(x[0] - 3) > 1e-9 || Math.abs(x[49] - 3) > 1e-9) throw new Error();
 * ```
 */
export function sosfiltfiltPadded(sos: readonly Sos[], x: Float64Array): Float64Array {
  const n = x.length;
  if (n === 0) return x;
  const firstOrder = Math.min(
    sos.filter((s) => s.b2 === 0).length,
    sos.filter((s) => s.a2 === 0).length,
  );
  const pad = Math.min(3 * (2 * sos.length + 1 - firstOrder), n - 1);
  const e = new Float64Array(n + 2 * pad);
  for (let i = 0; i < pad; i++) {
    e[i] = 2 * x[0] - x[pad - i];
    e[pad + n + i] = 2 * x[n - 1] - x[n - 2 - i];
  }
  e.set(x, pad);
  const zi = sosfiltZi(sos);
  filtFrom(sos, e, zi);
  filtFrom(sos, e, zi, true);
  x.set(e.subarray(pad, pad + n));
  return x;
}

/**
 * Band-pass filters a trace in place, like ObsPy's `filter("bandpass", ...)`.
 *
 * @param x Samples.
 * @param fs Sampling rate, Hz.
 * @param freqmin Lower corner, Hz.
 * @param freqmax Upper corner, Hz.
 * @param options `order` (default 4), `zerophase` (default false).
 * @returns the same array.
 */
export function bandpass(
  x: Float64Array,
  fs: number,
  freqmin: number,
  freqmax: number,
  options: { order?: number; zerophase?: boolean } = {},
): Float64Array {
  const sos = butterBandpass(freqmin, freqmax, fs, options.order ?? 4);
  return options.zerophase ? sosfiltfilt(sos, x) : sosfilt(sos, x);
}
