import { assert, assertAlmostEquals, assertClose, assertThrows } from "../_assert.ts";
import {
  bandpass,
  butterBandpass,
  butterHighpass,
  butterLowpass,
  sosfilt,
  sosfiltfilt,
  sosfiltfiltPadded,
  sosfiltZi,
  sosResponse,
} from "../../lib/signal/filter.ts";

const mag = (h: [number, number]) => Math.hypot(h[0], h[1]);
const db = (h: [number, number]) => 20 * Math.log10(mag(h));

Deno.test("Butterworth band-pass gain is −3 dB at both corners, 0 dB at the centre", () => {
  for (
    const [f1, f2, fs, order] of [[1, 18, 100, 4], [0.5, 8, 40, 4], [2, 20, 120, 2], [1, 10, 50, 6]]
  ) {
    const sos = butterBandpass(f1, f2, fs, order);
    assert(sos.length === order, `order ${order} band-pass has ${order} sections`);
    // Prewarped bilinear design: exact −3.0103 dB at the corners up to float64 rounding.
    assertClose([db(sosResponse(sos, f1, fs))], [-3.0103], 1e-3, 0, `lower corner ${f1} Hz`);
    assertClose([db(sosResponse(sos, f2, fs))], [-3.0103], 1e-3, 0, `upper corner ${f2} Hz`);
    const fc = fs / Math.PI * Math.atan(
      Math.sqrt(Math.tan(Math.PI * f1 / fs) * Math.tan(Math.PI * f2 / fs)),
    );
    assertClose([mag(sosResponse(sos, fc, fs))], [1], 1e-12, 0, "centre gain");
    // Maximally flat: well inside the band the gain stays within 0.1 dB.
    assert(Math.abs(db(sosResponse(sos, Math.sqrt(f1 * f2), fs))) < 0.1, "flat passband");
    // Roll-off: an order-n band-pass falls ~6n dB/octave outside the band.
    assert(db(sosResponse(sos, f1 / 4, fs)) < -6 * order * 2 + 6, "stop band below");
  }
});

Deno.test("Butterworth low- and high-pass gains are −3 dB at the corner", () => {
  for (const order of [2, 4, 5, 8]) {
    assertClose(
      [db(sosResponse(butterLowpass(20, 100, order), 20, 100))],
      [-3.0103],
      1e-3,
      0,
      `lp ${order}`,
    );
    assertClose(
      [db(sosResponse(butterHighpass(2, 100, order), 2, 100))],
      [-3.0103],
      1e-3,
      0,
      `hp ${order}`,
    );
    assertClose([mag(sosResponse(butterLowpass(20, 100, order), 0, 100))], [1], 1e-12, 0, "lp DC");
  }
});

Deno.test("time-domain filtering of a sine matches the designed gain", () => {
  const fs = 100, f = 18;
  const sos = butterBandpass(1, 18, fs, 4);
  const x = new Float64Array(20000).map((_, i) => Math.sin(2 * Math.PI * f * i / fs));
  sosfilt(sos, x);
  // Steady state after the transient: amplitude = |H(f)| = 1/√2 at the corner.
  const tail = x.subarray(10000);
  const amp = Math.sqrt(2 * tail.reduce((a, v) => a + v * v, 0) / tail.length);
  assertClose([amp], [Math.SQRT1_2], 2e-3, 0, "amplitude at the corner");
  // Zero-phase: gain squared, −6 dB at the corner.
  const y = new Float64Array(20000).map((_, i) => Math.sin(2 * Math.PI * f * i / fs));
  bandpass(y, fs, 1, 18, { zerophase: true });
  const mid = y.subarray(5000, 15000);
  const amp2 = Math.sqrt(2 * mid.reduce((a, v) => a + v * v, 0) / mid.length);
  assertClose([amp2], [0.5], 2e-3, 0, "zero-phase amplitude at the corner");
});

Deno.test("zero-phase band-pass of a centred impulse is symmetric about it", () => {
  const n = 4001, c = 2000;
  const y = new Float64Array(n);
  y[c] = 1;
  bandpass(y, 100, 1, 18, { order: 4, zerophase: true });
  let peak = 0;
  for (const v of y) peak = Math.max(peak, Math.abs(v));
  // The forward and backward passes make the response even; the ends (20 s away) have decayed
  // below 1e-20 of the peak, so the mirrored halves agree to rounding (1e-9 leaves margin). A
  // second pass run forward again would double the phase instead of cancelling it.
  for (let k = 1; k < c; k++) {
    assert(Math.abs(y[c + k] - y[c - k]) <= 1e-9 * peak, `lag ${k}: ${y[c + k]} vs ${y[c - k]}`);
  }
  // The peak stays at the impulse: no delay.
  assert(Math.abs(y[c]) === peak, `peak ${peak} is not at the impulse (${y[c]})`);
});

Deno.test("band-pass corners at or above Nyquist fail with a clear RangeError", () => {
  assertThrows(() => butterBandpass(1, 50, 100), RangeError, "Nyquist frequency of 100 Hz");
  assertThrows(() => butterBandpass(1, 60, 100), RangeError, "current value is 60 Hz");
  assertThrows(() => butterBandpass(10, 5, 100), RangeError, "freqmin must be below freqmax");
  assertThrows(() => butterBandpass(0, 5, 100), RangeError, "(0, 50) Hz");
});

Deno.test("band-pass cascades of any order stay bounded and give the designed gain near Nyquist", () => {
  // Analog prototype (bilinear, prewarped): |H| = 1/√(1 + ((ω² − ω0²)/(ω·B))^(2n)).
  const fs = 100, lo = 1, hi = 49.9;
  const warp = (f: number) => 2 * fs * Math.tan(Math.PI * f / fs);
  const [w1, w2] = [warp(lo), warp(hi)];
  const gain = (f: number, n: number) => {
    const w = warp(f);
    return 1 / Math.sqrt(1 + ((w * w - w1 * w2) / (w * (w2 - w1))) ** (2 * n));
  };
  for (const order of [1, 3, 4, 5, 12]) {
    const sos = butterBandpass(lo, hi, fs, order);
    // The response itself, at a few frequencies (the old sections took a real pole pair for a
    // double pole on odd orders).
    for (const f of [0.5, 1, 5, 30, 49]) {
      assertClose(
        [mag(sosResponse(sos, f, fs))],
        [gain(f, order)],
        1e-9,
        1e-9,
        `|H(${f})| n=${order}`,
      );
    }
    // A 10 Hz sine through the cascade: steady amplitude |H(10 Hz)|, no blow-up (order 12 once
    // reached 3.6e5 on white noise of ±0.5).
    const x = new Float64Array(20000).map((_, i) => Math.sin(2 * Math.PI * 10 * i / fs));
    sosfilt(sos, x);
    const tail = x.subarray(10000);
    const amp = Math.sqrt(2 * tail.reduce((a, v) => a + v * v, 0) / tail.length);
    assertClose([amp], [gain(10, order)], 1e-3, 0, `amplitude at 10 Hz, n=${order}`);
    assert(Math.max(...x.map(Math.abs)) < 2, `bounded, n=${order}`);
  }
});

Deno.test("sosfiltfiltPadded matches SciPy's sosfiltfilt (odd padding, steady-state start)", () => {
  // scipy.signal.butter(4, 10, fs=100, output="sos") and sosfiltfilt(sos, x) (SciPy 1.10).
  const sos = [
    { b0: 0.004824343357716228, b1: 0.009648686715432456, b2: 0.004824343357716228 },
    { b0: 1, b1: 2, b2: 1 },
  ].map((b, i) => ({
    ...b,
    a1: [-1.0485995763626117, -1.3209134308194264][i],
    a2: [0.2961403575616696, 0.6327387928852766][i],
  }));
  const x = Float64Array.from(
    { length: 30 },
    (_, i) => Math.sin(i / 3) + 0.05 * i + (i % 7 === 0 ? 0.5 : 0),
  );
  const scipy = [
    0.498150354888063,
    0.682245552643328,
    0.862514623982792,
    1.02903617488106,
    1.16243028510422,
    1.23712918756671,
    1.22949551968751,
    1.12724860670042,
    0.93609689713475,
    0.68062178239738,
    0.399045072511649,
    0.134322999125969,
    -0.0746647582384027,
    -0.198870177149398,
    -0.220959179456403,
    -0.134646177143123,
    0.0563017317334503,
    0.338107208407219,
    0.686685232107024,
    1.0687487836924,
    1.4455482109444,
    1.77884864141752,
    2.03714128096709,
    2.19963378648538,
    2.25682326208099,
    2.20857523581989,
    2.06189829119659,
    1.83014594130749,
    1.53373284076513,
    1.20081587452809,
  ];
  const y = sosfiltfiltPadded(sos, x);
  assert(y === x, "filters in place");
  assertClose(y, scipy, 1e-12, 0, "sosfiltfilt");
});

Deno.test("sosfiltZi is the steady state of a unit step; a padded low-pass keeps a constant", () => {
  const sos = butterLowpass(8, 100, 8);
  // A long unit step from zero state ends in the state sosfiltZi gives.
  const zi = sosfiltZi(sos);
  const step = sosfilt(sos, new Float64Array(4000).fill(1));
  assertAlmostEquals(step[3999], 1, 1e-12, "DC gain 1");
  // Starting from zi (one sample in), the output is 1 at once: no transient.
  const c = sosfiltfiltPadded(sos, new Float64Array(200).fill(-2.5));
  assertClose(c, new Float64Array(200).fill(-2.5), 1e-9, 0, "constant");
  // A linear trend nearly (the odd extension continues it): at both ends within 20 % of a
  // sample's step, where zero state (sosfiltfilt, ObsPy's) starts and ends near 0.
  const ramp = () => Float64Array.from({ length: 300 }, (_, i) => 0.1 * i);
  const r = sosfiltfiltPadded(sos, ramp()), z = sosfiltfilt(sos, ramp());
  for (const i of [0, 1, 2, 297, 298, 299]) assertAlmostEquals(r[i], 0.1 * i, 2e-2, `ramp ${i}`);
  assert(Math.abs(z[299] - 29.9) > 10, `zero state ends at ${z[299]}`);
  // Traces shorter than the padding.
  assertAlmostEquals(sosfiltfiltPadded(sos, new Float64Array([3]))[0], 3, 1e-12, "one sample");
  assertClose(sosfiltfiltPadded(sos, new Float64Array([1, 1, 1])), [1, 1, 1], 1e-9, 0, "3 samples");
  assert(zi.length === 2 * sos.length && zi.every(Number.isFinite), "two states per section");
});

Deno.test("sosResponse is H(e^{iω}) with z⁻¹ = e^{−iω}: the phase of 1/(1 − 0.5 z⁻¹) and of a zero at −1", () => {
  // 1/(1 − 0.5 e^{−iω}) = (1 − 0.5 cos ω − 0.5 i sin ω) / ((1 − 0.5 cos ω)² + 0.25 sin² ω);
  // (1 + z⁻¹)/2 = e^{−iω/2} cos(ω/2). Evaluated at z⁻¹ = e^{+iω} the phases flip sign.
  const pole = { b0: 1, b1: 0, b2: 0, a1: -0.5, a2: 0 };
  const zero = { b0: 0.5, b1: 0.5, b2: 0, a1: 0, a2: 0 };
  for (const f of [3, 10, 21, 40]) {
    const w = 2 * Math.PI * f / 100;
    const d = (1 - 0.5 * Math.cos(w)) ** 2 + 0.25 * Math.sin(w) ** 2;
    const hp: [number, number] = [(1 - 0.5 * Math.cos(w)) / d, -0.5 * Math.sin(w) / d];
    const hz: [number, number] = [Math.cos(w / 2) ** 2, -Math.sin(w / 2) * Math.cos(w / 2)];
    assertClose(sosResponse([pole], f, 100), hp, 1e-14, 0, `pole at ${f} Hz`);
    assertClose(sosResponse([zero], f, 100), hz, 1e-14, 0, `zero at ${f} Hz`);
    const both: [number, number] = [hp[0] * hz[0] - hp[1] * hz[1], hp[0] * hz[1] + hp[1] * hz[0]];
    assertClose(sosResponse([pole, zero], f, 100), both, 1e-14, 0, `cascade at ${f} Hz`);
  }
});

Deno.test("bandpass defaults to order 4 (causal): a 20 Hz sine through 1–10 Hz at 100 Hz keeps the order-4 gain", () => {
  // Analog prototype after prewarping: |H| = 1/√(1 + ((ω² − ω1ω2)/(ω·B))^(2n)), n = 4: 0.0288
  // (n = 2 would give 0.167).
  const fs = 100;
  const warp = (f: number) => 2 * fs * Math.tan(Math.PI * f / fs);
  const [w1, w2, w] = [warp(1), warp(10), warp(20)];
  const want = 1 / Math.sqrt(1 + ((w * w - w1 * w2) / (w * (w2 - w1))) ** 8);
  const x = new Float64Array(20000).map((_, i) => Math.sin(2 * Math.PI * 20 * i / fs));
  bandpass(x, fs, 1, 10);
  const tail = x.subarray(10000);
  const amp = Math.sqrt(2 * tail.reduce((a, v) => a + v * v, 0) / tail.length);
  assertClose([amp], [want], 0, 1e-6, "amplitude at 20 Hz");
});

Deno.test("sosfiltfiltPadded of a single first-order section pads 6 samples, as SciPy's sosfiltfilt", () => {
  // scipy.signal.butter(1, 10, fs=100, output="sos") and sosfiltfilt(sos, x) (SciPy 1.17.1):
  // padlen 3·(2·1 + 1 − 1) = 6 (a section with b2 = a2 = 0 counts one tap less); 9 gives 5e-4 off.
  const sos = [{
    b0: 0.24523727525278557,
    b1: 0.24523727525278557,
    b2: 0,
    a1: -0.5095254494944288,
    a2: 0,
  }];
  const x = Float64Array.from(
    { length: 12 },
    (_, i) => Math.sin(i / 3) + 0.05 * i + (i % 7 === 0 ? 0.5 : 0),
  );
  const scipy = [
    0.49905232715317116,
    0.5946259146826707,
    0.7380911394833125,
    0.8989025531282213,
    1.026943073693668,
    1.099155589016529,
    1.1152513363659196,
    1.039742870586531,
    0.8398536889889354,
    0.5786651621173062,
    0.31342995426782966,
    0.047606085344484184,
  ];
  assertClose(sosfiltfiltPadded(sos, x), scipy, 1e-12, 0, "sosfiltfilt, one first-order section");
});
