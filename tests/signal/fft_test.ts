import { assert, assertEquals } from "../_assert.ts";
import { irfftComplex, irfftReal, nextPow2, rfftFull, rfftHalf } from "../../lib/signal/_fft.ts";
import { removeResponse } from "../../lib/signal/response.ts";
import { SYNTH_RESPONSE } from "../../lib/io/synth.ts";
import { Rng } from "../../lib/util/rng.ts";

Deno.test("irfftReal (half-size complex transform) equals the full complex inverse and inverts rfftFull", () => {
  const rng = new Rng(2);
  for (const n of [4, 8, 64, 1024, 32768]) {
    const x = Float64Array.from({ length: n }, () => rng.normal());
    const spec = rfftFull(x, n);
    const a = irfftReal(spec, n), b = irfftComplex(spec, n);
    let worst = 0, scale = 0;
    for (let i = 0; i < n; i++) {
      worst = Math.max(worst, Math.abs(a[i] - b[i]), Math.abs(a[i] - x[i]));
      scale = Math.max(scale, Math.abs(x[i]));
    }
    // Rounding of O(log n) butterfly stages on O(1) values: well under 1e-13.
    assert(worst < 1e-13 * scale, `n ${n}: ${worst}`);
  }
});

Deno.test("removeResponse's cached inverse filter: the same inputs give the same output, any changed setting another", () => {
  const rng = new Rng(5);
  const x = Float64Array.from({ length: 3001 }, () => rng.normal());
  const opts = { preFilt: [0.2, 0.5, 18, 19], waterLevel: null, output: "VEL" as const };
  const a = removeResponse(x, 100, SYNTH_RESPONSE, opts);
  assertEquals(removeResponse(x, 100, SYNTH_RESPONSE, opts), a, "a second call (cached)");
  const pole = structuredClone(SYNTH_RESPONSE);
  pole.stages[0].poles[0] = [-4.5, 4.443];
  const variants = [
    removeResponse(x, 100, { ...SYNTH_RESPONSE, sensitivity: 6.4e8 }, opts),
    removeResponse(x, 100, pole, opts),
    removeResponse(x, 100, SYNTH_RESPONSE, { ...opts, preFilt: [0.2, 0.6, 18, 19] }),
    removeResponse(x, 100, SYNTH_RESPONSE, { ...opts, waterLevel: 10 }),
    removeResponse(x, 100, SYNTH_RESPONSE, { ...opts, output: "DISP" }),
    removeResponse(x, 50, SYNTH_RESPONSE, { ...opts, preFilt: [0.2, 0.5, 18, 19] }),
  ];
  variants.forEach((v, i) => assert(v.some((y, j) => y !== a[j]), `variant ${i} reused a filter`));
});

Deno.test("nextPow2 is the least power of two >= n (at least 2): a power of two is its own", () => {
  assertEquals([1, 2, 3, 256, 257, 1000].map(nextPow2), [2, 2, 4, 256, 512, 1024]);
});

Deno.test("rfftHalf zero-pads a shorter input, whatever a longer one left in its reused buffer", () => {
  const rng = new Rng(4);
  const long = Float64Array.from({ length: 16 }, () => rng.normal());
  const short = Float64Array.from({ length: 5 }, () => rng.normal());
  rfftHalf(long, 16);
  const half = rfftHalf(short, 16).slice(0, 18); // bins 0..8, re and im
  const full = rfftFull(short, 16).slice(0, 18);
  for (let i = 0; i < 18; i++) {
    assert(Math.abs(half[i] - full[i]) < 1e-12, `${i}: ${half[i]} vs ${full[i]}`);
  }
});

Deno.test("irfftReal ignores the imaginary parts of the DC and Nyquist bins (numpy's irfft), and takes n = 2", () => {
  const rng = new Rng(6);
  for (const n of [4, 16]) {
    const spec = rfftFull(Float64Array.from({ length: n }, () => rng.normal()), n);
    const plain = irfftReal(spec, n);
    // A response's value at fs/2 is complex: its product keeps an imaginary Nyquist bin.
    spec[1] = 0.7;
    spec[n + 1] = -0.3;
    assertEquals(irfftReal(spec, n), plain);
  }
  assertEquals(irfftReal(Float64Array.from([3, 0, 1, 0]), 2), Float64Array.from([2, 1]));
});
