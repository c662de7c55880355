import { assert, assertEquals, assertThrows } from "../_assert.ts";
import {
  aicOnset,
  classicStaLta,
  recursiveStaLta,
  triggerOnsets,
  type TriggerSpan,
} from "../../lib/signal/trigger.ts";
import { Rng } from "../../lib/util/rng.ts";

/** Noise with bursts ×20 and a flat stretch: every case the ratio meets. */
function signal(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.normal();
  for (const at of [Math.floor(n * 0.3), Math.floor(n * 0.71)]) {
    for (let i = at; i < Math.min(n, at + 40); i++) x[i] *= 20;
  }
  x.fill(0, Math.floor(n * 0.5), Math.floor(n * 0.5) + 30);
  return x;
}

/** The largest difference relative to the value (or to 1 below 1). */
function worst(a: Float64Array, b: Float64Array): number {
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i] - b[i]) / Math.max(1, b[i]));
  return w;
}

Deno.test("classicStaLta equals the means of x² over its two windows, summed afresh at every sample (awkward lengths, sums refreshed across 7 LTAs)", () => {
  for (const [n, nsta, nlta] of [[3001, 7, 401], [500, 1, 2], [997, 13, 97]]) {
    const x = signal(n, n);
    const got = classicStaLta(x, nsta, nlta);
    const want = new Float64Array(n);
    for (let i = nlta - 1; i < n; i++) {
      let s = 0, l = 0;
      for (let j = i - nlta + 1; j <= i; j++) {
        l += x[j] * x[j];
        if (j > i - nsta) s += x[j] * x[j];
      }
      want[i] = l > 0 ? (s / nsta) / (l / nlta) : 0;
    }
    // Running sums against fresh ones: rounding of a few ulps of the burst's energy.
    assert(worst(got, want) < 1e-11, `n ${n}: ${worst(got, want)}`);
    assertEquals(got.subarray(0, nlta - 1), new Float64Array(nlta - 1));
  }
});

Deno.test("recursiveStaLta equals its exponentially weighted sums written out, and is 0 over the first nlta samples", () => {
  const n = 1200, nsta = 9, nlta = 151;
  const x = signal(n, 3);
  const got = recursiveStaLta(x, nsta, nlta);
  const avg = (c: number, i: number) => {
    let s = 0;
    for (let k = 0; k <= i; k++) s += c * (1 - c) ** (i - k) * x[k] * x[k];
    return s;
  };
  const want = new Float64Array(n);
  for (let i = nlta; i < n; i++) want[i] = avg(1 / nsta, i) / avg(1 / nlta, i);
  assert(worst(got, want) < 1e-12, String(worst(got, want)));
  assertEquals(got.subarray(0, nlta), new Float64Array(nlta));
  // A burst ×20 (energy ×400) lifts the ratio far above the noise's ~1.
  assert(got[Math.floor(n * 0.3) + 5] > 8 && got[Math.floor(n * 0.3) - 1] < 3);
});

Deno.test("STA/LTA refuses windows that are not whole numbers with 1 <= nsta < nlta", () => {
  const x = new Float64Array(10);
  for (const [s, l] of [[0, 5], [5, 5], [6, 5], [1.5, 5]]) {
    assertThrows(() => classicStaLta(x, s, l), RangeError, "1 <= nsta < nlta");
    assertThrows(() => recursiveStaLta(x, s, l), RangeError, "1 <= nsta < nlta");
  }
});

/** triggerOnsets written as a state machine over indices, the obvious way. */
function reference(cf: Float64Array, on: number, off: number, maxLength: number): TriggerSpan[] {
  const out: TriggerSpan[] = [];
  let i = 0;
  while (i < cf.length) {
    if (!(cf[i] > on)) {
      i++;
      continue;
    }
    const start = i;
    let j = i + 1;
    while (j < cf.length && !(cf[j] < off) && j - start < maxLength) j++;
    const end = Math.min(j, cf.length - 1);
    let peakIndex = start;
    for (let k = start; k < (j < cf.length ? end : cf.length); k++) {
      if (cf[k] > cf[peakIndex]) peakIndex = k;
    }
    out.push({ on: start, off: end, peak: cf[peakIndex], peakIndex });
    // The sample that ended it may start the next one.
    i = j < cf.length ? end : cf.length;
  }
  return out;
}

Deno.test("triggerOnsets equals a plain state machine on random ratios (with and without a longest trigger), and keeps a trigger still on at the end", () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 200; trial++) {
    const cf = Float64Array.from(
      { length: 1 + Math.floor(rng.next() * 60) },
      () => Math.floor(rng.next() * 8),
    );
    const on = 3 + Math.floor(rng.next() * 4), off = 1 + Math.floor(rng.next() * on);
    const maxLength = trial % 2 ? Infinity : 1 + Math.floor(rng.next() * 6);
    assertEquals(
      triggerOnsets(cf, on, off, maxLength),
      reference(cf, on, off, maxLength),
      JSON.stringify({ cf: [...cf], on, off, maxLength }),
    );
  }
  assertEquals(triggerOnsets(Float64Array.of(0, 5, 6), 4, 2), [
    { on: 1, off: 2, peak: 6, peakIndex: 2 },
  ]);
  // Equal to the threshold does not start a trigger, nor end one.
  assertEquals(triggerOnsets(Float64Array.of(4, 5, 2, 1), 4, 2), [
    { on: 1, off: 3, peak: 5, peakIndex: 1 },
  ]);
  assertThrows(() => triggerOnsets(new Float64Array(3), 2, 3), RangeError, "off <= on");
  assertThrows(() => triggerOnsets(new Float64Array(3), NaN, 1), RangeError, "finite");
  assertThrows(() => triggerOnsets(new Float64Array(3), 2, 1, 0), RangeError, "maxLength");
});

/** Population variance of x[a, b), in two passes. */
function variance(x: Float64Array, a: number, b: number): number {
  let m = 0;
  for (let i = a; i < b; i++) m += x[i];
  m /= b - a;
  let v = 0;
  for (let i = a; i < b; i++) v += (x[i] - m) ** 2;
  return v / (b - a);
}

/**
 * The AIC split of x[i0, i1) by brute force: the m (at least `margin` samples from either end)
 * of smallest m·ln var(first m) + (N − m)·ln var(rest), the earliest on a tie; as an index of x.
 */
function bruteAic(x: Float64Array, i0: number, i1: number, margin: number): number {
  let best = Infinity, at = -1;
  for (let m = margin; m <= i1 - i0 - margin; m++) {
    const a = m * Math.log(variance(x, i0, i0 + m)) +
      (i1 - i0 - m) * Math.log(variance(x, i0 + m, i1));
    if (at < 0 || a < best - 1e-9 * Math.abs(best)) [best, at] = [a, i0 + m];
  }
  return at;
}

Deno.test("aicOnset: the split of smallest m·ln var(first m) + (N − m)·ln var(rest), as two-pass variances find it; within 5 samples of a step ×10 in the noise; at the start of a signal after flat data", () => {
  const rng = new Rng(21);
  for (let trial = 0; trial < 40; trial++) {
    const n = 60 + rng.int(200), step = 15 + rng.int(n - 30);
    const x = Float64Array.from({ length: n }, (_, i) => 1000 + rng.normal() * (i < step ? 1 : 10));
    const [i0, i1] = [rng.int(10), n - rng.int(10)];
    const at = bruteAic(x, i0, i1, 10);
    assertEquals(aicOnset(x, i0, i1), at, `trial ${trial}`);
    if (step - i0 >= 20 && i1 - step >= 20) {
      assert(Math.abs(at - step) <= 5, `trial ${trial}: ${at} for a step at ${step}`);
    }
  }
  // Flat (zero variance) before a signal: its first sample.
  const y = new Float64Array(300);
  for (let i = 170; i < 300; i++) y[i] = rng.normal();
  assertEquals(aicOnset(y, 0, 300), 170);
  // Clipped to the trace; too short a window gives -1.
  assertEquals(aicOnset(y, -50, 400), 170);
  assertEquals(aicOnset(y, 100, 119), -1);
  assertEquals(aicOnset(y, 100, 120, 10), 110);
});

Deno.test("aicOnset takes the earliest split on a tie: a window symmetric in time (quiet, loud, quiet) has equal AIC at 15 and 45", () => {
  // Integer samples with an integer mean: every sum is exact, so AIC(m) = AIC(60 − m) exactly.
  const x = Float64Array.from({ length: 60 }, (_, j) => {
    const k = Math.min(j, 59 - j);
    return (k % 2 ? 1 : -1) * (k < 15 ? 1 : 31);
  });
  assertEquals(x.reduce((a, b) => a + b, 0) % 60, 0);
  assertEquals(aicOnset(x, 0, 60), 15);
  // The same window inside a longer trace: the onset's index in the trace.
  const padded = Float64Array.from([...Array(7).fill(0), ...x, ...Array(5).fill(0)]);
  assertEquals(aicOnset(padded, 7, 67), 22);
});

Deno.test("aicOnset on weak onsets in short windows is still the plain formula's split (population variances, weight N − m), and a flat stretch at a non-zero level picks the signal's start", () => {
  // A step of ×1.3 in 24–80 samples: the minimum is shallow, so weighting the second part by
  // N − m − 1 or taking variances over m − 1 moves it in many trials.
  const rng = new Rng(5);
  for (let trial = 0; trial < 200; trial++) {
    const n = 24 + rng.int(57), step = 10 + rng.int(n - 20);
    const x = Float64Array.from({ length: n }, () => rng.normal());
    for (let i = step; i < n; i++) x[i] *= 1.3;
    assertEquals(aicOnset(x, 0, n, 5), bruteAic(x, 0, n, 5), `trial ${trial}`);
  }
  // 150 samples at 1000.1, then noise: the flat part's variance from the prefix sums is rounding
  // (~1e-13, not 0), floored to 1e-12 of the window's variance, so the split is at the first
  // noisy sample.
  const y = Float64Array.from({ length: 300 }, (_, i) => 1000.1 + (i < 150 ? 0 : rng.normal()));
  assertEquals(aicOnset(y, 0, 300), 150);
});

Deno.test("both STA/LTA ratios are 0 where the long-term average is 0 (a dead channel), not 1 or NaN", () => {
  assertEquals(classicStaLta(new Float64Array(300), 10, 100), new Float64Array(300));
  assertEquals(recursiveStaLta(new Float64Array(300), 10, 100), new Float64Array(300));
});
