import { assert, assertClose, assertEquals, assertThrows } from "../_assert.ts";
import {
  applyResponse,
  evaluateResponse,
  groundUnits,
  type InstrumentResponse,
  removeResponse,
} from "../../lib/signal/response.ts";
import { cosineSpectralTaper, cosineTaper } from "../../lib/signal/taper.ts";
import { demean, detrendLinear } from "../../lib/signal/detrend.ts";
import { geophone } from "./_responses.ts";

Deno.test("response removal recovers a known signal passed through a poles-and-zeros response", () => {
  const fs = 100, n = 12000;
  const comps = [[2, 3e-6, 0.3], [5, 1e-6, 1.1], [11, 2e-6, 2.0]] as const;
  // Analytic steady-state recording: each sine scaled by |H(f)| and shifted by arg H(f).
  // This forward model does not use the FFT path under test.
  const counts = new Float64Array(n);
  const truth = new Float64Array(n);
  for (const [f, a, ph] of comps) {
    const [hr, hi] = evaluateResponse(geophone, f);
    const g = Math.hypot(hr, hi), phi = Math.atan2(hi, hr);
    for (let i = 0; i < n; i++) {
      counts[i] += a * g * Math.sin(2 * Math.PI * f * i / fs + ph + phi);
      truth[i] += a * Math.sin(2 * Math.PI * f * i / fs + ph);
    }
  }
  const x = cosineTaper(Float64Array.from(counts), 0.05);
  const v = removeResponse(x, fs, geophone, { preFilt: [0.5, 1, 20, 30], output: "VEL" });
  // Inside the untapered middle, the 3 sines (all inside the pre-filter's flat band) come back.
  // Spectral leakage of the tapered ends into the middle stays below 1 % of the amplitude.
  assertClose(v.subarray(1500, n - 1500), truth.subarray(1500, n - 1500), 6e-8, 0, "velocity");
});

Deno.test("applyResponse then removeResponse is the identity inside the pre-filter band", () => {
  const fs = 50, n = 6000;
  const x = new Float64Array(n).map((_, i) =>
    Math.sin(2 * Math.PI * 3 * i / fs) * Math.exp(-(((i - 3000) / 400) ** 2))
  );
  const c = applyResponse(x, fs, geophone);
  const y = removeResponse(c, fs, geophone, { preFilt: [0.2, 0.5, 20, 24] });
  // A Gaussian-windowed 3 Hz burst has no energy near the taper corners: error ~1e-6 relative.
  assertClose(y, x, 1e-5, 0, "round trip");
});

Deno.test("evaluateResponse equals the sensitivity at the sensitivity frequency and converts units", () => {
  const [re, im] = evaluateResponse(geophone, 5);
  assertClose([Math.hypot(re, im)], [6.3e8], 0, 1e-12, "sensitivity");
  // Output DISP from a velocity sensor integrates: a 2 Hz velocity sine of amplitude a has displacement a/(2π·2).
  const fs = 100, n = 8000, f = 2;
  const counts = new Float64Array(n);
  const [hr, hi] = evaluateResponse(geophone, f);
  for (let i = 0; i < n; i++) {
    counts[i] = Math.hypot(hr, hi) * Math.sin(2 * Math.PI * f * i / fs + Math.atan2(hi, hr));
  }
  const d = removeResponse(cosineTaper(counts, 0.05), fs, geophone, {
    preFilt: [0.5, 1, 20, 30],
    output: "DISP",
  });
  const mid = d.subarray(2000, 6000);
  const amp = Math.sqrt(2 * mid.reduce((a, v) => a + v * v, 0) / mid.length);
  assertClose([amp], [1 / (2 * Math.PI * f)], 0, 1e-3, "displacement amplitude");
  assertThrows(
    () => removeResponse(counts, fs, { ...geophone, inputUnits: "PA" }, { output: "VEL" }),
    RangeError,
    "PA",
  );
  assertThrows(
    () => removeResponse(counts, fs, geophone, { preFilt: [1, 0.5, 3, 4] }),
    RangeError,
    "increasing",
  );
  // A first corner at 0 Hz is a valid pre-filter (ObsPy's too): the taper starts at DC.
  const d0 = removeResponse(counts, fs, geophone, { preFilt: [0, 1, 20, 30], output: "DISP" });
  assert(d0.every(Number.isFinite), "pre_filt from 0 Hz");
});

Deno.test("cosine spectral taper, time taper and detrend behave as ObsPy's", () => {
  const pf = [1, 2, 10, 20];
  assert(
    cosineSpectralTaper(0.5, pf) === 0 && cosineSpectralTaper(5, pf) === 1 &&
      cosineSpectralTaper(25, pf) === 0,
    "bands",
  );
  assertClose(
    [cosineSpectralTaper(1.5, pf), cosineSpectralTaper(15, pf)],
    [0.5, 0.5],
    1e-15,
    0,
    "mid-slope",
  );
  const x = cosineTaper(new Float64Array(200).fill(1), 0.05);
  assert(x[0] === 0 && x[199] === 0 && x[10] === 1 && x[100] === 1, "taper 5 % each end");
  // The whole window: 0.05 of 200 = 10 samples at each end rise as 0.5·(1 − cos(π·i/10)).
  const want = new Float64Array(200).fill(1);
  for (let i = 0; i < 10; i++) want[i] = want[199 - i] = 0.5 * (1 - Math.cos(Math.PI * i / 10));
  assertClose(x, want, 1e-15, 0, "taper shape");
  // ObsPy's Trace.taper(0.05) (type "hann") of 200 ones: scipy.signal.windows.hann(21)[:10].
  const hann21 = [
    0.0,
    0.024471741852423234,
    0.09549150281252633,
    0.2061073738537635,
    0.34549150281252633,
    0.5,
    0.6545084971874737,
    0.7938926261462366,
    0.9045084971874737,
    0.9755282581475768,
  ];
  assertClose(x.subarray(0, 10), hann21, 1e-15, 0, "left taper");
  assertClose(x.subarray(190).reverse(), hann21, 1e-15, 0, "right taper");
  const y = detrendLinear(demean(new Float64Array(50).map((_, i) => 3 + 0.2 * i)));
  assertClose(y, new Float64Array(50), 1e-12, 0, "line removed");
});

Deno.test("demean and detrendLinear match SciPy's detrend (constant, linear)", () => {
  const x = [1, 4, 2, 8, 5, 7, 3];
  // scipy.signal.detrend(x, type='constant') and type='linear'
  const constant = [
    -3.2857142857142856,
    -0.2857142857142856,
    -2.2857142857142856,
    3.7142857142857144,
    0.7142857142857144,
    2.7142857142857144,
    -1.2857142857142856,
  ];
  const linear = [
    -1.678571428571428,
    0.785714285714286,
    -1.7499999999999996,
    3.7142857142857144,
    0.17857142857142794,
    1.6428571428571423,
    -2.892857142857144,
  ];
  assertClose(demean(Float64Array.from(x)), Float64Array.from(constant), 1e-14, 0, "demean");
  assertClose(detrendLinear(Float64Array.from(x)), Float64Array.from(linear), 1e-14, 0, "linear");
  // One sample: the mean is removed (SciPy gives 0, or 1.8e-15 for linear).
  assertEquals(detrendLinear(new Float64Array([5])), new Float64Array([0]));
  assertEquals(demean(new Float64Array([5])), new Float64Array([0]));
  assertEquals(demean(new Float64Array(0)), new Float64Array(0));
});

// A 40 Hz channel: the geophone, then three digital stages with closed-form magnitudes at their
// own input rates (θ = 2πf/fs_in): a 3-tap FIR [¼, ½, ¼] at 160 Hz, |H| = cos²(θ/2); an IIR
// 1/(1 − 0.5 z⁻¹) at 80 Hz, |H| = 1/√(1.25 − cos θ); a z-plane zero at −1 at 40 Hz, |H| = 2|cos(θ/2)|.
const digitalChain: InstrumentResponse = {
  ...geophone,
  digital: [
    { kind: "coefficients", inputSampleRate: 160, numerator: [0.25, 0.5, 0.25], denominator: [] },
    { kind: "coefficients", inputSampleRate: 80, numerator: [1], denominator: [1, -0.5] },
    { kind: "polesZeros", inputSampleRate: 40, zeros: [[-1, 0]], poles: [] },
  ],
};
const digitalMag = (f: number) => {
  const th = (fs: number) => 2 * Math.PI * f / fs;
  return Math.cos(th(160) / 2) ** 2 / Math.sqrt(1.25 - Math.cos(th(80))) *
    2 * Math.abs(Math.cos(th(40) / 2));
};

Deno.test("digital stages enter by their magnitude at their own input rate, scaled to the sensitivity", () => {
  const fr = [0.5, 1, 5, 10, 16, 17, 18, 19];
  const got = fr.map((f) => evaluateResponse(digitalChain, f));
  const pz = fr.map((f) => evaluateResponse(geophone, f)); // analog part, |pz(5)| = sensitivity
  // |H(f)| = |PZ(f)| · D(f) / D(5 Hz), D the closed-form product; the phase is the analog phase.
  assertClose(
    got.map(([re, im]) => Math.hypot(re, im)),
    pz.map(([re, im], i) => Math.hypot(re, im) * digitalMag(fr[i]) / digitalMag(5)),
    0,
    1e-12,
    "magnitude",
  );
  assertClose(
    got.map(([re, im]) => Math.atan2(im, re)),
    pz.map(([re, im]) => Math.atan2(im, re)),
    1e-12,
    0,
    "phase (digital stages are zero phase)",
  );
  const [re, im] = evaluateResponse(digitalChain, 5);
  assertClose([Math.hypot(re, im)], [6.3e8], 0, 1e-12, "sensitivity at 5 Hz");
});

Deno.test("response removal undoes the digital stages' roll-off near Nyquist (40 Hz channel)", () => {
  const fs = 40, n = 8000;
  const comps = [[3, 2e-6, 0.3], [11, 1e-6, 1.1], [17, 2e-6, 2.0], [18, 1e-6, 0.7]] as const;
  // Analytic recording: each sine scaled by |H(f)| (D(17 Hz)/D(5 Hz) = 0.129, D(18)/D(5) = 0.082)
  // and shifted by the analog phase only; the digital stages are zero phase (delay-corrected).
  const counts = new Float64Array(n), truth = new Float64Array(n);
  for (const [f, a, ph] of comps) {
    const [hr, hi] = evaluateResponse(geophone, f);
    const g = Math.hypot(hr, hi) * digitalMag(f) / digitalMag(5), phi = Math.atan2(hi, hr);
    for (let i = 0; i < n; i++) {
      counts[i] += a * g * Math.sin(2 * Math.PI * f * i / fs + ph + phi);
      truth[i] += a * Math.sin(2 * Math.PI * f * i / fs + ph);
    }
  }
  // The geophone alone, removed first with the same settings, must not hand its cached inverse
  // filter to the chain that adds digital stages to it.
  removeResponse(cosineTaper(counts, 0.05), fs, geophone, {
    preFilt: [0.2, 0.5, 18.5, 19.8],
    output: "VEL",
  });
  const v = removeResponse(cosineTaper(counts, 0.05), fs, digitalChain, {
    preFilt: [0.2, 0.5, 18.5, 19.8],
    output: "VEL",
  });
  // Middle of the trace, away from the 5 % tapers: measured error 5e-14 m/s on a 6e-6 peak;
  // leaving the digital stages out gives 3.0e-6.
  assertClose(v.subarray(1000, n - 1000), truth.subarray(1000, n - 1000), 1e-11, 0, "velocity");
});

Deno.test("input units in NM, CM, MM are converted to SI; units not understood fail naming channel and unit", () => {
  const fs = 100, n = 4000;
  const x = cosineTaper(
    new Float64Array(n).map((_, i) => 1e4 * Math.sin(2 * Math.PI * 5 * i / fs)),
  );
  const opt = { preFilt: [0.2, 0.5, 40, 45] };
  const rms = (a: Float64Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
  // The same sensor described per m/s and per nm/s, cm/s, mm/s: sensitivity × 1e-9, 1e-2, 1e-3.
  for (const output of ["VEL", "DISP", "ACC"] as const) {
    const ref = removeResponse(x, fs, geophone, { ...opt, output });
    const tol = 1e-12 * rms(ref); // measured 8e-16 · rms; unscaled units are off by 1e9, 1e2, 1e3
    for (const [units, s] of [["NM/S", 1e-9], ["cm/s", 1e-2], ["MM/SEC", 1e-3]] as const) {
      const r = { ...geophone, inputUnits: units, sensitivity: geophone.sensitivity * s };
      assertClose(
        removeResponse(x, fs, r, { ...opt, output }),
        ref,
        tol,
        0,
        `${units} → ${output}`,
      );
    }
  }
  // Without an output the sensor's own kind of motion comes out, in SI too.
  const nm = { ...geophone, inputUnits: "NM/S", sensitivity: geophone.sensitivity * 1e-9 };
  const v0 = removeResponse(x, fs, geophone, opt);
  assertClose(removeResponse(x, fs, nm, opt), v0, 1e-12 * rms(v0), 0, "NM/S");
  // An accelerometer per cm/s² and per m/s² (and per mm/s/s) gives the same m/s².
  const acc: InstrumentResponse = { ...geophone, inputUnits: "M/S**2", stages: [] };
  const a0 = removeResponse(x, fs, acc, { ...opt, output: "ACC" });
  for (const [units, s] of [["CM/S**2", 1e-2], ["MM/S/S", 1e-3], ["NM/S^2", 1e-9]] as const) {
    const r = { ...acc, inputUnits: units, sensitivity: acc.sensitivity * s };
    assertClose(removeResponse(x, fs, r, { ...opt, output: "ACC" }), a0, 1e-12 * rms(a0), 0, units);
  }
  // Units that are not ground motion in M/CM/MM/NM fail, with or without an output, naming both.
  const pa = { ...geophone, inputUnits: "PA", source: "XX.STA..HDF in st.xml" };
  for (const o of [{ output: "VEL" as const }, {}]) {
    assertThrows(() => removeResponse(x, fs, pa, o), RangeError, "XX.STA..HDF in st.xml");
    assertThrows(() => removeResponse(x, fs, pa, o), RangeError, "input units 'PA'");
  }
  assertThrows(
    () => removeResponse(x, fs, { ...geophone, inputUnits: "KM/S" }, { output: "VEL" }),
    RangeError,
    "'KM/S'",
  );
});

/** A response with no stages: `sensitivity` counts per `inputUnits` (M/S by default) at 1 Hz. */
function flatResponse(sensitivity: number, inputUnits = "M/S"): InstrumentResponse {
  return { sensitivity, sensitivityFrequency: 1, inputUnits, stages: [] };
}

Deno.test("the water level applies to the response in the output units (ObsPy's H·iω for DISP)", () => {
  // A flat velocity response H = S. For DISP the response in output units is S·iω, largest at
  // Nyquist (S·2π·20 Hz); a 20 dB water level clips it below 2 Hz to S·2π·2 Hz. So a 1 Hz
  // velocity sine of amplitude a comes out with amplitude a/(2π·2) (not a/(2π·1)), and a 5 Hz
  // one, above the level, with a/(2π·5); both as −cos (integration's −90°).
  const fs = 40, n = 8000, S = 1e9;
  const flat = flatResponse(S);
  const comps = [[1, 3e-6, 0.4], [5, 2e-6, 1.3]] as const;
  const counts = new Float64Array(n), want = new Float64Array(n);
  for (const [f, a, ph] of comps) {
    const w = 2 * Math.PI * Math.max(f, 2);
    for (let i = 0; i < n; i++) {
      counts[i] += S * a * Math.sin(2 * Math.PI * f * i / fs + ph);
      want[i] -= a / w * Math.cos(2 * Math.PI * f * i / fs + ph);
    }
  }
  const d = removeResponse(cosineTaper(counts, 0.05), fs, flat, {
    preFilt: [0.1, 0.2, 15, 18],
    waterLevel: 20,
    output: "DISP",
  });
  // Peak 3.0e-7 m, measured error 8e-14 m in the middle. A water level on H itself (flat: no
  // clipping) gives the 1 Hz part twice as large, 2.4e-7 m off.
  assertClose(d.subarray(1000, n - 1000), want.subarray(1000, n - 1000), 1e-11, 0, "displacement");
  // Same units in and out: the water level acts on H as before.
  const v = removeResponse(cosineTaper(counts, 0.05), fs, flat, {
    preFilt: [0.1, 0.2, 15, 18],
    waterLevel: 20,
    output: "VEL",
  });
  const vt = new Float64Array(n);
  for (const [f, a, ph] of comps) {
    for (let i = 0; i < n; i++) vt[i] += a * Math.sin(2 * Math.PI * f * i / fs + ph);
  }
  // Measured error 1.7e-12 m/s on a 5e-6 peak.
  assertClose(v.subarray(1000, n - 1000), vt.subarray(1000, n - 1000), 1e-10, 0, "velocity");
  // A negative level lies above the maximum and clips every frequency: the response would be
  // flattened, not removed. Refused, naming the value.
  for (const wl of [-20, 0]) {
    assertThrows(
      () => removeResponse(counts, fs, flat, { waterLevel: wl }),
      RangeError,
      `the water level must be a finite number of dB > 0 below the response maximum: found ${wl}`,
    );
  }
});

Deno.test("response removal and application are not circular: a spike 50 samples before the end leaves the trace's start untouched (FFTs of at least twice the trace, zero-padded)", () => {
  // The filtered inverse response lasts a few seconds after the spike; without zero padding
  // to 2n it wraps around onto the first samples (measured 3e-3 to 9e-3 of the peak there, at
  // n = 4000 and 4096; 2e-7 with the padding: the filter's acausal side from 39 s away).
  for (const n of [4096, 4000]) {
    const x = new Float64Array(n);
    x[n - 50] = 1;
    for (
      const [name, y] of [
        ["remove", removeResponse(x, 100, geophone, { preFilt: [0.5, 1, 20, 30], output: "VEL" })],
        ["apply", applyResponse(x, 100, geophone)],
      ] as const
    ) {
      let head = 0, peak = 0;
      for (let i = 0; i < n; i++) {
        peak = Math.max(peak, Math.abs(y[i]));
        if (i < 300) head = Math.max(head, Math.abs(y[i]));
      }
      assert(head < 1e-5 * peak, `${name} at n = ${n}: ${head / peak} of the peak at the start`);
    }
  }
});

Deno.test("cosineTaper tapers floor(fraction · n) samples at each end, as ObsPy's (210 samples at 0.05: 10, not 11)", () => {
  const x = cosineTaper(new Float64Array(210).fill(1), 0.05);
  assertEquals([x[0], x[209]], [0, 0]);
  assert(x[9] < 1 && x[200] < 1, `${x[9]}, ${x[200]}`);
  assertEquals(Array.from(x.subarray(10, 200)), Array(190).fill(1));
  // The window rises as 0.5·(1 − cos(π i / 10)).
  assertClose([x[5]], [0.5], 1e-15, 0, "half way");
});

Deno.test("evaluateResponse is the closed-form Π(s − z)/Π(s − p), phase included, for a zero off the origin and an unpaired pole", () => {
  // One radians stage, zero −2, pole −1 + 3i: H(f) = S · R(f)/|R(f0)|, R(f) = (s + 2)/(s + 1 − 3i),
  // s = 2πif. A zero's real part taken with the wrong sign keeps |H| (s is imaginary) but not its
  // phase; a pole's imaginary part with the wrong sign moves |H|.
  const S = 1000, f0 = 0.7;
  const resp: InstrumentResponse = {
    sensitivity: S,
    sensitivityFrequency: f0,
    inputUnits: "M/S",
    stages: [{ type: "radians", zeros: [[-2, 0]], poles: [[-1, 3]], normalizationFactor: 1 }],
  };
  const r = (f: number): [number, number] => {
    const w = 2 * Math.PI * f;
    // (2 + iw) / (1 + i(w − 3)) = (2 + iw)(1 − i(w − 3)) / (1 + (w − 3)²)
    const d = 1 + (w - 3) ** 2;
    return [(2 + w * (w - 3)) / d, (w - 2 * (w - 3)) / d];
  };
  const k = S / Math.hypot(...r(f0));
  for (const f of [0.05, 0.3, f0, 1, 2.5, 10]) {
    const [re, im] = r(f);
    assertClose(evaluateResponse(resp, f), [k * re, k * im], 1e-12 * S, 0, `H(${f} Hz)`);
  }
});

Deno.test("without an output, a displacement or acceleration sensor's own motion comes out: a flat response divides by the sensitivity", () => {
  // Stages [], no pre-filter, no water level: 1/H is the constant 1/S at every bin, so the
  // result is x/S to rounding, whatever the sensor measures (an output other than the
  // sensor's own would integrate or differentiate).
  const n = 1000, S = 4e5;
  const x = new Float64Array(n).map((_, i) => Math.sin(i / 7) + 0.3 * Math.cos(i / 3));
  const want = x.map((v) => v / S);
  for (const inputUnits of ["M", "M/S", "M/S**2"]) {
    const flat = flatResponse(S, inputUnits);
    assertClose(removeResponse(x, 50, flat), want, 1e-13 / S, 0, inputUnits);
  }
});

Deno.test("output ACC from a velocity sensor differentiates: a·sin(ωt + φ) in m/s comes out as a·ω·cos(ωt + φ)", () => {
  const fs = 40, n = 8000, S = 1e9;
  const flat = flatResponse(S);
  const comps = [[1, 3e-6, 0.4], [5, 2e-6, 1.3]] as const;
  const counts = new Float64Array(n), want = new Float64Array(n);
  for (const [f, a, ph] of comps) {
    const w = 2 * Math.PI * f;
    for (let i = 0; i < n; i++) {
      counts[i] += S * a * Math.sin(w * i / fs + ph);
      want[i] += a * w * Math.cos(w * i / fs + ph);
    }
  }
  const acc = removeResponse(cosineTaper(counts, 0.05), fs, flat, {
    preFilt: [0.1, 0.2, 15, 18],
    output: "ACC",
  });
  // Peak 7.9e-5 m/s², measured error 9.4e-13; differentiating as −iω (the sign lost) gives −cos:
  // 1.6e-4 off.
  assertClose(
    acc.subarray(1000, n - 1000),
    want.subarray(1000, n - 1000),
    1e-10,
    0,
    "acceleration",
  );
});

Deno.test("applyResponse converts SI ground motion to the sensor's units: a flat 1/(nm/s) response multiplies m/s by S·1e9", () => {
  const n = 500, S = 2.5;
  const x = new Float64Array(n).map((_, i) => 1e-6 * Math.sin(i / 11));
  for (const [inputUnits, scale] of [["NM/S", 1e-9], ["CM/S**2", 1e-2], ["MM", 1e-3]] as const) {
    const flat = flatResponse(S, inputUnits);
    const want = x.map((v) => v * S / scale);
    assertClose(applyResponse(x, 50, flat), want, 1e-12 * S / scale * 1e-6, 0, inputUnits);
  }
});

Deno.test("a DIGITAL (Z-TRANSFORM) stage's poles divide |H| by |e^{iθ} − p|, θ = 2πf/fs_in (a conjugate pair and a lone pole)", () => {
  // Flat analog part (no stages): |H(f)| = S · G(f)/G(f0), G(f) = 1/Π|e^{iθ} − p_k|, computed here
  // from the closed form |e^{iθ} − (a + ib)|² = (cos θ − a)² + (sin θ − b)².
  const S = 5e4, f0 = 1, fsIn = 20;
  for (
    const poles of [[[0.6, 0.3], [0.6, -0.3]], [[0.2, 0.5]]] as [number, number][][]
  ) {
    const resp: InstrumentResponse = {
      sensitivity: S,
      sensitivityFrequency: f0,
      inputUnits: "M/S",
      stages: [],
      digital: [{ kind: "polesZeros", inputSampleRate: fsIn, zeros: [], poles }],
    };
    const g = (f: number) => {
      const th = 2 * Math.PI * f / fsIn;
      return poles.reduce((a, [pr, pi]) => a / Math.hypot(Math.cos(th) - pr, Math.sin(th) - pi), 1);
    };
    for (const f of [0.2, 1, 3, 7, 9.5]) {
      assertClose(
        [Math.hypot(...evaluateResponse(resp, f))],
        [S * g(f) / g(f0)],
        0,
        1e-12,
        `|H(${f} Hz)|, poles ${JSON.stringify(poles)}`,
      );
    }
  }
});

Deno.test("integrating or differentiating leaves the 0 Hz bin at 0 (no pre-filter): a constant's DISP and ACC match NumPy's spectral ÷iω and ×iω", () => {
  // Eight ones, a flat velocity response S = 2 at fs = 1 Hz, FFT of 16 (zero padding to 2n):
  // X = numpy.fft.rfft(numpy.ones(8), 16), ω = 2π·k/16, inverse 1/(S·iω) (DISP) or iω/S (ACC)
  // with 0 at k = 0, y = numpy.fft.irfft(X * inverse, 16)[:8]. Keeping H(0) = S at 0 Hz instead
  // adds X[0]/(16·S) = 0.25 to every sample.
  const flat: InstrumentResponse = {
    sensitivity: 2,
    sensitivityFrequency: 0.25,
    inputUnits: "M/S",
    stages: [],
  };
  const x = new Float64Array(8).fill(1);
  const disp = [
    -0.9053146742700544,
    -0.6092583909255423,
    -0.3863229221628304,
    -0.11519786357127665,
    0.11519786357127662,
    0.3863229221628304,
    0.6092583909255425,
    0.9053146742700544,
  ];
  const acc = [
    0.3497583339752788,
    -0.16332774251323662,
    0.1143524411216613,
    -0.098174770424681,
    0.09817477042468101,
    -0.11435244112166122,
    0.16332774251323656,
    -0.3497583339752788,
  ];
  assertClose(removeResponse(x, 1, flat, { output: "DISP" }), disp, 1e-14, 0, "DISP");
  assertClose(removeResponse(x, 1, flat, { output: "ACC" }), acc, 1e-14, 0, "ACC");
});

Deno.test("cosineTaper accepts a fraction of 0.5 (ObsPy's max_percentage limit): a Hann window over each half", () => {
  // n = 10, m = 5: w_i = 0.5·(1 − cos(πi/5)) for i < 5, mirrored: 0, 0.0955, 0.3455, 0.6545, 0.9045.
  const x = cosineTaper(new Float64Array(10).fill(1), 0.5);
  const half = [0, 1, 2, 3, 4].map((i) => 0.5 * (1 - Math.cos(Math.PI * i / 5)));
  assertClose(x, [...half, ...half.toReversed()], 1e-15, 0, "fraction 0.5");
  assertThrows(() => cosineTaper(new Float64Array(10), 0.51), RangeError, "[0, 0.5]");
});

Deno.test("groundUnits reads every acceleration spelling evalresp does (/S**2, /S^2, /S2, /S/S, SEC), and a zero sensitivity is refused", () => {
  for (const u of ["M/S**2", "M/S^2", "M/S2", "M/S/S", "m/sec/sec", "M/SEC2", "M / S ** 2"]) {
    assertEquals(groundUnits(u), { order: 2, scale: 1 }, u);
  }
  assertEquals(groundUnits("CM/SEC**2"), { order: 2, scale: 1e-2 });
  assertEquals(groundUnits("NM/SEC"), { order: 1, scale: 1e-9 });
  assertEquals(groundUnits("MM"), { order: 0, scale: 1e-3 });
  assertEquals(groundUnits("M/S3"), null);
  assertThrows(
    () => removeResponse(new Float64Array(8), 10, { ...geophone, sensitivity: 0 }),
    RangeError,
    "sensitivity must be non-zero: found 0",
  );
});
