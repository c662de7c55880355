import { assert, assertClose, assertThrows } from "../_assert.ts";
import {
  applyResponse,
  evaluateResponse,
  type InstrumentResponse,
  removeResponse,
} from "../../lib/signal/response.ts";
import { cosineSpectralTaper, cosineTaper } from "../../lib/signal/taper.ts";
import { demean, detrendLinear } from "../../lib/signal/detrend.ts";

const geophone: InstrumentResponse = {
  sensitivity: 6.3e8,
  sensitivityFrequency: 5,
  inputUnits: "M/S",
  stages: [{
    type: "radians",
    zeros: [[0, 0], [0, 0]],
    poles: [[-4.443, 4.443], [-4.443, -4.443]],
    normalizationFactor: 1,
  }],
};

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
  const y = detrendLinear(demean(new Float64Array(50).map((_, i) => 3 + 0.2 * i)));
  assertClose(y, new Float64Array(50), 1e-12, 0, "line removed");
});
