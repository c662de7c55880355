import { assert, assertClose, assertEquals, assertThrows } from "../_assert.ts";
import { resample } from "../../lib/signal/resample.ts";
import { besselI0, spectrogram } from "../../lib/signal/stft.ts";
import { Rng } from "../../lib/util/rng.ts";

function fitSine(y: Float64Array, fs: number, f: number, i0: number, i1: number): number {
  // Least-squares amplitude of a sine + cosine at frequency f on [i0, i1).
  let ss = 0, sc = 0, cc = 0, ys = 0, yc = 0;
  for (let i = i0; i < i1; i++) {
    const s = Math.sin(2 * Math.PI * f * i / fs), c = Math.cos(2 * Math.PI * f * i / fs);
    ss += s * s, sc += s * c, cc += c * c, ys += y[i] * s, yc += y[i] * c;
  }
  const det = ss * cc - sc * sc;
  const a = (ys * cc - yc * sc) / det, b = (yc * ss - ys * sc) / det;
  return Math.hypot(a, b);
}

Deno.test("resampling keeps a sine's frequency and amplitude (40, 50, 120 -> 100 Hz, 100 -> 40 Hz)", () => {
  for (
    const [fsIn, fsOut, f] of [[40, 100, 7.3], [50, 100, 12.1], [120, 100, 17], [100, 40, 3.3], [
      40,
      100,
      15,
    ]]
  ) {
    const n = Math.round(60 * fsIn);
    const x = new Float64Array(n).map((_, i) => 2.5 * Math.sin(2 * Math.PI * f * i / fsIn + 0.4));
    const y = resample(x, fsIn, fsOut);
    assertEquals(y.length, Math.floor((n - 1) * fsOut / fsIn + 1e-9) + 1, "length");
    // Away from the ends (kernel and filter edge effects), the sine is reproduced:
    // 48-lobe Kaiser sinc interpolation errs below 1e-3 relative for f <= 0.75·Nyquist.
    const i0 = Math.round(5 * fsOut), i1 = y.length - i0;
    const amp = fitSine(y, fsOut, f, i0, i1);
    const tol = fsOut < fsIn ? 5e-3 : 1e-3; // anti-alias low-pass gain ripple when decimating
    assertClose([amp], [2.5], 0, tol, `${fsIn}->${fsOut} Hz amplitude at ${f} Hz`);
    let maxErr = 0;
    for (let j = i0; j < i1; j++) {
      maxErr = Math.max(maxErr, Math.abs(y[j] - 2.5 * Math.sin(2 * Math.PI * f * j / fsOut + 0.4)));
    }
    if (fsOut > fsIn) assert(maxErr < 2.5 * 2e-3, `${fsIn}->${fsOut}: pointwise error ${maxErr}`);
    // Frequency: the spectrum peaks at the same bin.
    const s = spectrogram(y, fsOut, { nperseg: 257, noverlap: 128, nfft: 512 });
    const nt = s.times.length, j = Math.floor(nt / 2);
    let best = 0;
    for (let k = 1; k < s.freqs.length; k++) if (s.psd[k * nt + j] > s.psd[best * nt + j]) best = k;
    assertEquals(best, Math.round(f * 512 / fsOut), "peak bin");
  }
});

Deno.test("upsampling keeps the passband flat up to 0.95 of the input Nyquist", () => {
  // 40 Hz channels carry signal to ~18 Hz (their FIR cascades roll off from ~16 Hz, which
  // response removal undoes), and the default band reaches 18 Hz: the interpolation kernel must
  // not eat into it. The 16-sample kernel lost 0.28 dB at 18 Hz and 1.8 dB at 19 Hz.
  for (const [fsIn, f, tolDb] of [[40, 18, 0.002], [40, 19, 0.01], [50, 23.75, 0.01]]) {
    const x = new Float64Array(60 * fsIn).map((_, i) => Math.sin(2 * Math.PI * f * i / fsIn));
    const y = resample(x, fsIn, 100);
    const db = 20 * Math.log10(fitSine(y, 100, f, 1000, y.length - 1000));
    assert(Math.abs(db) < tolDb, `${fsIn} -> 100 Hz at ${f} Hz: ${db.toFixed(4)} dB`);
  }
});

Deno.test("downsampling removes content above the new Nyquist (anti-alias)", () => {
  const fsIn = 120, fsOut = 40, f = 35; // 35 Hz would alias to 5 Hz at 40 Hz
  const x = new Float64Array(120 * 60).map((_, i) => Math.sin(2 * Math.PI * f * i / fsIn));
  const y = resample(x, fsIn, fsOut);
  const mid = y.subarray(200, y.length - 200);
  const rms = Math.sqrt(mid.reduce((a, v) => a + v * v, 0) / mid.length);
  assert(rms < 1e-3, `aliased residue RMS ${rms} must be < 1e-3 of the 0.707 input RMS`);
});

Deno.test("downsampling: an order-8 zero-phase Butterworth at 0.9 of the new Nyquist, then a sinc cut at it", () => {
  // 120 -> 40 Hz: the anti-alias low-pass (18 Hz, applied forward and backward) gives
  // 1 / (1 + r^16) with r = tan(πf/fs) / tan(π·18/fs) (bilinear Butterworth); the sinc kernel
  // then removes what the low-pass leaves above 20 Hz (22 Hz would alias to 18 Hz).
  const fsIn = 120, fsOut = 40;
  for (const [f, want, tol] of [[17, null, 1e-3], [10, null, 1e-3], [22, 0, 1e-4]] as const) {
    const x = new Float64Array(fsIn * 60).map((_, i) => Math.sin(2 * Math.PI * f * i / fsIn));
    const y = resample(x, fsIn, fsOut);
    const r = Math.tan(Math.PI * f / fsIn) / Math.tan(Math.PI * 18 / fsIn);
    const amp = fitSine(y, fsOut, f > 20 ? fsOut - f : f, 200, y.length - 200);
    assertClose([amp], [want ?? 1 / (1 + r ** 16)], tol, 0, `${f} Hz`);
  }
});

Deno.test("resampling a constant gives the constant at every sample, the ends included", () => {
  // The kernel is cut short at the ends and renormalised there; inside it sums to 1 within 5e-5.
  // Downsampling low-passes first, from the steady state with padded ends (SciPy's
  // sosfiltfilt), so the filter adds no start-up transient at either end.
  for (const [fsIn, fsOut] of [[40, 100], [50, 100], [100, 40], [120, 50], [200, 100]]) {
    const y = resample(new Float64Array(fsIn * 10).fill(3), fsIn, fsOut);
    for (let i = 0; i < y.length; i++) {
      assert(Math.abs(y[i] - 3) < 3 * 5e-5, `${fsIn} -> ${fsOut} Hz: y[${i}] = ${y[i]}`);
    }
  }
  // Traces shorter than the filter's padding.
  assertClose(resample(new Float64Array([3]), 100, 40), [3], 1e-12, 0, "one sample");
  assertClose(resample(new Float64Array(5).fill(1), 100, 40), [1, 1], 1e-9, 0, "five samples");
});

Deno.test("resampling is the Kaiser-windowed sinc sum at every output sample (40 -> 97.31 Hz)", () => {
  // Reference, sample by sample: output j sits at t = j·fsIn/fsOut input samples; input i
  // weighs cut·sinc(cut·(t − i))·I0(β√(1 − r²))/I0(β), r = cut·(t − i)/a (0 for |r| >= 1), with
  // cut = 1 (upsampling), a = 48, β = 8, over the 2·48 inputs from floor(t) − 47; where that
  // span leaves the trace the sum is divided by its weights. The rate ratio 4000/9731 puts
  // outputs at fractions between inputs as close as 1e-4 (the taps are cached by fraction).
  const fsIn = 40, fsOut = 97.31, a = 48, beta = 8;
  const r = new Rng(2);
  const x = new Float64Array(300).map(() => r.normal());
  const y = resample(x, fsIn, fsOut);
  assertEquals(y.length, Math.floor(299 * fsOut / fsIn) + 1);
  const want = new Float64Array(y.length);
  for (let j = 0; j < y.length; j++) {
    const t = j * fsIn / fsOut, c = Math.floor(t + 1e-9);
    let acc = 0, wsum = 0;
    for (let i = c - a + 1; i <= c + a; i++) {
      if (i < 0 || i >= x.length) continue;
      const d = t - i, q = d / a;
      if (Math.abs(q) >= 1) continue;
      const w = (d === 0 ? 1 : Math.sin(Math.PI * d) / (Math.PI * d)) *
        besselI0(beta * Math.sqrt(1 - q * q)) / besselI0(beta);
      acc += w * x[i];
      wsum += w;
    }
    want[j] = c - a + 1 < 0 || c + a > x.length - 1 ? acc / wsum : acc;
  }
  assertClose(y, want, 1e-12, 0, "resampled");
});

Deno.test("resample returns a copy at equal rates, refuses a rate <= 0, and low-passes any downsampling", () => {
  const x = new Float64Array([1, 2, 3]);
  const same = resample(x, 50, 50);
  assertEquals(same, x);
  assert(same !== x, "a copy");
  // An empty trace resamples to an empty one, up or down.
  assertEquals(resample(new Float64Array(0), 40, 100), new Float64Array(0));
  assertEquals(resample(new Float64Array(0), 100, 40), new Float64Array(0));
  for (const [fsIn, fsOut] of [[100, 0], [100, -40], [0, 100], [NaN, 100], [Infinity, 40]]) {
    assertThrows(
      () => resample(x, fsIn, fsOut),
      RangeError,
      `sampling rates must be positive and finite: found ${fsIn} Hz -> ${fsOut} Hz`,
    );
  }
  // 100 -> 60 Hz (a ratio above 1/2 too): the order-8 zero-phase Butterworth at 27 Hz takes a
  // 28.5 Hz sine to 1 / (1 + r^16), r = tan(π·28.5/100) / tan(π·27/100), about 0.27, below the
  // sinc's 30 Hz cut.
  const fsIn = 100, fsOut = 60, f = 28.5;
  const s = new Float64Array(fsIn * 60).map((_, i) => Math.sin(2 * Math.PI * f * i / fsIn));
  const rr = Math.tan(Math.PI * f / fsIn) / Math.tan(Math.PI * 27 / fsIn);
  const amp = fitSine(resample(s, fsIn, fsOut), fsOut, f, 300, 60 * 60 - 300);
  assertClose([amp], [1 / (1 + rr ** 16)], 2e-3, 0, "28.5 Hz");
});

Deno.test("resample with an offset samples the input a fraction of a sample later (100 -> 100, 50 -> 100, 200 -> 100 Hz)", () => {
  // Interior samples (150 from each end, beyond the kernel's reach) of a sine against the sine
  // at offset + j / fsOut: the windowed-sinc kernel's error there measured 1.0e-5 at most.
  for (
    const [fsIn, fsOut, f, offset] of [[100, 100, 7, 0.0043], [50, 100, 7, 0.0031], [
      200,
      100,
      11,
      0.0071,
    ]]
  ) {
    const n = 2000;
    const x = new Float64Array(n).map((_, i) => Math.sin(2 * Math.PI * f * i / fsIn + 0.3));
    const y = resample(x, fsIn, fsOut, { offset });
    assertEquals(y.length, Math.floor((n - 1 - offset * fsIn) * fsOut / fsIn) + 1);
    const want = y.map((_, j) => Math.sin(2 * Math.PI * f * (offset + j / fsOut) + 0.3));
    assertClose(y.subarray(150, -150), want.subarray(150, -150), 3e-5, 0, `${fsIn} -> ${fsOut}`);
    // Without the offset the same samples are a phase 2π·f·offset away: far outside.
    const plain = resample(x, fsIn, fsOut);
    assert(Math.abs(plain[500] - want[500]) > 1e-2, `${fsIn} -> ${fsOut}: offset ignored`);
  }
  assertThrows(
    () => resample(new Float64Array(4), 100, 100, { offset: -0.001 }),
    RangeError,
    "offset",
  );
});

Deno.test("an offset at equal rates interpolates without an anti-alias low-pass: a sine at 0.88 of Nyquist keeps its amplitude", () => {
  // 100 -> 100 Hz, offset 0.5 sample, 44 Hz: the kernel alone (cut at Nyquist) keeps the sine
  // within 1e-3; the order-8 zero-phase low-pass at 45 Hz of a downsampling would take 4.9 % off
  // (|H|² = 1/(1 + (tan(0.44π)/tan(0.45π))^16) = 0.951).
  const n = 3000, fs = 100, f = 44, offset = 0.005;
  const x = new Float64Array(n).map((_, i) => Math.sin(2 * Math.PI * f * i / fs + 0.3));
  const y = resample(x, fs, fs, { offset });
  const want = y.map((_, j) => Math.sin(2 * Math.PI * f * (offset + j / fs) + 0.3));
  assertClose(y.subarray(300, -300), want.subarray(300, -300), 1e-3, 0, "44 Hz at offset");
});
