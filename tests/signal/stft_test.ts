import { assert, assertClose, assertEquals, assertThrows } from "../_assert.ts";
import { besselI0, kaiser, spectrogram } from "../../lib/signal/stft.ts";
import { Rng } from "../../lib/util/rng.ts";

/** I0 from its integral form, (1/π)∫₀^π exp(x cos θ) dθ, by the trapezoid rule (spectrally exact for periodic integrands). */
function i0Integral(x: number): number {
  const m = 2000;
  let s = 0;
  for (let k = 0; k < m; k++) s += Math.exp(x * Math.cos(Math.PI * (k + 0.5) / m));
  return s / m;
}

Deno.test("besselI0 matches its integral form and known values", () => {
  for (const x of [0, 0.5, 1, 3.7, 5.654866776461628, 12]) {
    // Both are accurate to ~1e-15 relative; 1e-12 leaves room for summation order.
    assertClose([besselI0(x)], [i0Integral(x)], 0, 1e-12, `I0(${x})`);
  }
  assertClose([besselI0(1)], [1.2660658777520084], 0, 1e-15, "I0(1) tabulated");
});

Deno.test("kaiser window matches the closed form I0(β√(1−(2k/(M−1)−1)²))/I0(β)", () => {
  const beta = 1.8 * Math.PI;
  for (const n of [1, 2, 7, 257]) {
    const sym = kaiser(n, beta, { periodic: false });
    const want = new Float64Array(n).map((_, k) =>
      n === 1 ? 1 : i0Integral(beta * Math.sqrt(1 - (2 * k / (n - 1) - 1) ** 2)) / i0Integral(beta)
    );
    assertClose(sym, want, 1e-13, 1e-12, `symmetric n=${n}`);
    // Periodic (SciPy get_window default): the first n points of the symmetric n+1 window
    // (for n >= 2; one sample is [1], below).
    if (n === 1) continue;
    const per = kaiser(n, beta);
    assertClose(
      per,
      kaiser(n + 1, beta, { periodic: false }).subarray(0, n),
      0,
      0,
      `periodic n=${n}`,
    );
  }
  assertThrows(() => kaiser(0, 1), RangeError, "length must be >= 1");
  // One sample is [1], periodic or symmetric (SciPy's get_window); β past I0's float64 range
  // (about 713) is refused rather than giving NaN.
  assertEquals(Array.from(kaiser(1, 8)), [1]);
  assertEquals(Array.from(kaiser(1, 8, { periodic: false })), [1]);
  for (const beta of [800, -701, NaN, Infinity]) {
    assertThrows(
      () => kaiser(4, beta),
      RangeError,
      `|beta| must be <= 700: current value is ${beta}`,
    );
  }
  assertClose(kaiser(9, -3), kaiser(9, 3), 0, 0, "even in beta");
});

function naiveDft(x: ArrayLike<number>, nfft: number, k: number): [number, number] {
  let re = 0, im = 0;
  for (let n = 0; n < x.length; n++) {
    const a = -2 * Math.PI * k * n / nfft;
    re += x[n] * Math.cos(a);
    im += x[n] * Math.sin(a);
  }
  return [re, im];
}

Deno.test("spectrogram matches a naive DFT of each detrended, windowed segment", () => {
  const rng = new Rng(3);
  const fs = 50, nperseg = 33, noverlap = 20, nfft = 64;
  const x = new Float64Array(300).map(() => rng.uniform(-2, 2));
  const w = kaiser(nperseg, 1.8 * Math.PI);
  const s = spectrogram(x, fs, { nperseg, noverlap, nfft, window: w });
  const hop = nperseg - noverlap;
  const nt = Math.floor((x.length - nperseg) / hop) + 1;
  assertEquals(s.times.length, nt);
  assertEquals(s.freqs.length, nfft / 2 + 1);
  let wss = 0;
  for (const v of w) wss += v * v;
  const want = new Float64Array((nfft / 2 + 1) * nt);
  for (let j = 0; j < nt; j++) {
    const seg = x.slice(j * hop, j * hop + nperseg);
    const mean = seg.reduce((a, b) => a + b, 0) / nperseg;
    const xw = seg.map((v, i) => (v - mean) * w[i]);
    for (let k = 0; k <= nfft / 2; k++) {
      const [re, im] = naiveDft(xw, nfft, k);
      const c = k === 0 || k === nfft / 2 ? 1 : 2;
      want[k * nt + j] = c * (re * re + im * im) / (fs * wss);
    }
  }
  // Float64 FFT vs direct sum over 33 terms: rounding ~1e-15 relative to the largest bin.
  const peak = Math.max(...want);
  assertClose(s.psd, want, 1e-12 * peak, 1e-10, "psd");
  // SciPy's segment times: (nperseg/2 + j·hop)/fs.
  assertClose(
    s.times,
    new Float64Array(nt).map((_, j) => (nperseg / 2 + j * hop) / fs),
    1e-12,
    0,
    "times",
  );
});

Deno.test("spectrogram satisfies Parseval: Σ psd·Δf = Σ (x·w)² / Σ w² per segment", () => {
  const rng = new Rng(9);
  const fs = 100, nperseg = 257, nfft = 512;
  const x = new Float64Array(2000).map(() => rng.normal());
  const w = kaiser(nperseg, 1.8 * Math.PI);
  const s = spectrogram(x, fs, { nperseg, noverlap: 128, nfft, window: w });
  const nt = s.times.length, df = fs / nfft;
  let wss = 0;
  for (const v of w) wss += v * v;
  for (let j = 0; j < nt; j++) {
    let lhs = 0;
    for (let k = 0; k < s.freqs.length; k++) lhs += s.psd[k * nt + j] * df;
    const seg = x.slice(j * 129, j * 129 + nperseg);
    const mean = seg.reduce((a, b) => a + b, 0) / nperseg;
    let rhs = 0;
    for (let i = 0; i < nperseg; i++) rhs += ((seg[i] - mean) * w[i]) ** 2;
    // Exact identity; float64 rounding over 512 terms stays below 1e-12 relative.
    assertClose([lhs], [rhs / wss], 0, 1e-12, `segment ${j}`);
  }
});

Deno.test("a pure sine peaks at bin round(f·nfft/fs)", () => {
  const fs = 100, nperseg = 257, nfft = 512;
  for (const f of [1.3, 5, 12.34, 33.3, 47]) {
    const x = new Float64Array(3000).map((_, i) => 3 * Math.sin(2 * Math.PI * f * i / fs + 0.3));
    const s = spectrogram(x, fs, { nperseg, noverlap: 128, nfft });
    const nt = s.times.length;
    for (const j of [0, Math.floor(nt / 2), nt - 1]) {
      let best = 0;
      for (let k = 1; k < s.freqs.length; k++) {
        if (s.psd[k * nt + j] > s.psd[best * nt + j]) best = k;
      }
      assertEquals(best, Math.round(f * nfft / fs), `f=${f} segment ${j}`);
    }
  }
});

Deno.test("spectrogram defaults: noverlap floor(nperseg/8), nfft nextPow2(1.2·nperseg), periodic Kaiser β = 1.8π", () => {
  // nperseg 120: SciPy's noverlap 120 // 8 = 15 (hop 105), nfft the power of two >= 144, 256
  // (not 128, the one >= nperseg).
  const rng = new Rng(5);
  const fs = 40, nperseg = 120;
  const x = new Float64Array(1000).map(() => rng.normal());
  const d = spectrogram(x, fs, { nperseg });
  const w = kaiser(nperseg, 1.8 * Math.PI, { periodic: true });
  const e = spectrogram(x, fs, { nperseg, noverlap: 15, nfft: 256, window: w, detrend: true });
  assertEquals(d.nfft, 256);
  assertEquals(d.times.length, Math.floor((1000 - 120) / 105) + 1);
  assertEquals(d.times, e.times);
  // The same arithmetic in the same order: bit-identical.
  assertEquals(d.psd, e.psd);
  // Bin k is k·fs/nfft Hz (SciPy's rfftfreq(nfft, 1/fs)), not k·fs/nperseg: 129 bins to fs/2.
  assertEquals(d.freqs.length, 129);
  assertEquals([d.freqs[1], d.freqs[128]], [40 / 256, 20]);
});

Deno.test("spectrogram rejects bad lengths with RangeError", () => {
  const x = new Float64Array(100);
  assertThrows(() => spectrogram(x, 10, { nperseg: 200 }), RangeError, "shorter than one segment");
  // One sample short of a segment: refused too, not an empty spectrogram.
  assertThrows(() => spectrogram(x, 10, { nperseg: 101 }), RangeError, "shorter than one segment");
  assertThrows(() => spectrogram(x, 10, { nperseg: 20, nfft: 24 }), RangeError, "power of two");
  assertThrows(() => spectrogram(x, 10, { nperseg: 20, noverlap: 20 }), RangeError, "noverlap");
  // A fractional nperseg is named as such (not as the default window's length).
  assertThrows(
    () => spectrogram(x, 10, { nperseg: 20.5 }),
    RangeError,
    "nperseg must be >= 2: current value is 20.5",
  );
  assertThrows(() => spectrogram(x, 10, { nperseg: 1 }), RangeError, "nperseg must be >= 2");
  // nfft NaN got past the power-of-two test (NaN & x is 0) to fft.js's own error; a rate of 0
  // gave an infinite PSD.
  assertThrows(
    () => spectrogram(x, 10, { nperseg: 20, nfft: NaN }),
    RangeError,
    "nfft must be a power of two >= nperseg (20): current value is NaN",
  );
  for (const fs of [0, -100, NaN, Infinity]) {
    assertThrows(
      () => spectrogram(x, fs, { nperseg: 20 }),
      RangeError,
      `the sampling rate must be a positive number of Hz: current value is ${fs}`,
    );
  }
  assertThrows(() => spectrogram(x, 10, { nperseg: 20, noverlap: 2.5 }), RangeError, "noverlap");
  assertThrows(() => spectrogram(x, 10, { nperseg: 20, noverlap: -1 }), RangeError, "noverlap");
  assertThrows(
    () => spectrogram(x, 10, { nperseg: 20, window: new Float64Array(19) }),
    TypeError,
    "window length 19 != nperseg 20",
  );
  assertThrows(
    () => spectrogram(x, 10, { nperseg: 20, window: new Float64Array(21) }),
    TypeError,
    "window length 21 != nperseg 20",
  );
  assert(spectrogram(x, 10, { nperseg: 20 }).nfft === 32, "default nfft = nextpow2(1.2·nperseg)");
});
