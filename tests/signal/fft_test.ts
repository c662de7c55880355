import { assert, assertEquals } from "../_assert.ts";
import { irfftComplex, irfftReal, rfftFull } from "../../lib/signal/_fft.ts";
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
