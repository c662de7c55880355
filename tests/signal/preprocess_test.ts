/**
 * The preprocessing chain (lib/signal/preprocess.ts): its pre-filter corners per channel.
 */
import { assertEquals } from "../_assert.ts";
import { clipPreFilt, preprocessTrace } from "../../lib/signal/preprocess.ts";
import { removeResponse } from "../../lib/signal/response.ts";
import { demean, detrendLinear } from "../../lib/signal/detrend.ts";
import { cosineTaper } from "../../lib/signal/taper.ts";
import { resample } from "../../lib/signal/resample.ts";
import { bandpass } from "../../lib/signal/filter.ts";
import { geophone } from "./_responses.ts";

Deno.test("clipPreFilt keeps corners below a channel's Nyquist and squeezes those above it, keeping the taper's shape", () => {
  const pf = [0.2, 0.5, 18.5, 19.8];
  assertEquals(clipPreFilt(pf, 100), pf);
  assertEquals(clipPreFilt(pf, 39.6), pf); // 19.8 Hz is the Nyquist: kept
  // 25 Hz: Nyquist 12.5, the flat band's top at 0.9 × 12.5.
  assertEquals(clipPreFilt(pf, 25), [0.2, 0.5, 11.25, 12.5]);
  // 30 Hz: 18.5 Hz is above 0.9 × 15 too.
  assertEquals(clipPreFilt(pf, 30), [0.2, 0.5, 13.5, 15]);
  // A flat band's lower corner above the squeezed top moves below it.
  assertEquals(clipPreFilt([1, 14, 18.5, 19.8], 25), [1, 11.25 * 0.99, 11.25, 12.5]);
  assertEquals(clipPreFilt(null, 25), null);
});

Deno.test("preprocessTrace removes a 25 Hz channel's response with the pre-filter squeezed below its Nyquist", () => {
  const fs = 25, n = 2000;
  const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i / 3) * 1e3 + ((i * 7919) % 97));
  const y = preprocessTrace(x, fs, {
    samplingRate: 25,
    response: geophone,
    preFilt: [0.2, 0.5, 18.5, 19.8],
    output: "VEL",
    bandpass: null,
    postTaper: 0,
  });
  const want = Float64Array.from(x);
  demean(want);
  detrendLinear(want);
  cosineTaper(want, 0.05);
  const v = resample(
    removeResponse(want, fs, geophone, { preFilt: [0.2, 0.5, 11.25, 12.5], output: "VEL" }),
    fs,
    25,
  );
  assertEquals(y, v);
});

Deno.test("preprocessTrace passes the water level and resampling offset on, and defaults to a zero-phase order-4 band-pass and a 5 % post-taper", () => {
  // The documented chain written out step by step with the library's own pieces: demean, linear
  // detrend, 5 % taper, response removal (water level 30 dB), resampling 50 -> 20 Hz 0.013 s
  // later, band-pass 1–5 Hz (zero phase, order 4), 5 % taper. Bit for bit.
  const fs = 50, n = 3000;
  const x = Float64Array.from(
    { length: n },
    (_, i) => Math.sin(i / 4) * 1e3 + 2e3 * Math.sin(i / 90) + ((i * 7919) % 97) + 0.4 * i,
  );
  const y = preprocessTrace(x, fs, {
    samplingRate: 20,
    response: geophone,
    preFilt: [0.2, 0.5, 18.5, 19.8],
    waterLevel: 30,
    output: "DISP",
    resampleOffset: 0.013,
    bandpass: { freqmin: 1, freqmax: 5 },
  });
  const want = Float64Array.from(x);
  demean(want);
  detrendLinear(want);
  cosineTaper(want, 0.05);
  const v = resample(
    removeResponse(want, fs, geophone, {
      preFilt: [0.2, 0.5, 18.5, 19.8],
      waterLevel: 30,
      output: "DISP",
    }),
    fs,
    20,
    { offset: 0.013 },
  );
  bandpass(v, 20, 1, 5, { order: 4, zerophase: true });
  cosineTaper(v, 0.05);
  assertEquals(y, v);
});
