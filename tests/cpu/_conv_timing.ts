// Hand-run timing of the CPU conv reference (not a test, no assertions on time):
//   deno run tests/cpu/_conv_timing.ts
// Prints ms and GFLOP/s (2 flops per multiply-add) per op at the seed autoencoder's e2 shape
// [64,16,22,17] -> [64,32,11,9] and for a full layer sweep of the seed autoencoder.
import {
  conv2d,
  conv2dInputGrad,
  conv2dOutputShape,
  conv2dWeightGrad,
  convTranspose2d,
  convTranspose2dInputGrad,
  convTranspose2dOutputShape,
  convTranspose2dWeightGrad,
} from "../../lib/cpu/conv.ts";
import { randomArray } from "../../lib/cpu/gradcheck.ts";

function time(label: string, flops: number, fn: () => unknown, reps = 5): void {
  fn(); // warm-up (JIT)
  const t: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  const ms = t[Math.floor(reps / 2)];
  console.log(
    `${label.padEnd(58)} ${ms.toFixed(1).padStart(8)} ms ${
      (flops / ms / 1e6).toFixed(2).padStart(6)
    } GFLOP/s`,
  );
}

const N = Number(Deno.args[0] ?? 64);
const s2 = { stride: [2, 2] as [number, number], padding: [1, 1] as [number, number] };
const enc: [number, number, number, number][] = [
  [1, 8, 87, 67],
  [8, 16, 44, 34],
  [16, 32, 22, 17],
  [32, 64, 11, 9],
  [64, 128, 6, 5],
];
for (const [ci, co, h, w] of enc) {
  const xs = [N, ci, h, w], ws = [co, ci, 3, 3];
  const ys = conv2dOutputShape(xs, ws, s2);
  const x = randomArray(N * ci * h * w, 1), wt = randomArray(co * ci * 9, 2);
  const gy = randomArray(ys.reduce((a, b) => a * b), 3);
  const flops = 2 * ys.reduce((a, b) => a * b) * ci * 9;
  const tag = `[${xs}]->[${ys}]`;
  time(`conv2d ${tag}`, flops, () => conv2d(x, xs, wt, ws, null, s2));
  time(`conv2dInputGrad ${tag}`, flops, () => conv2dInputGrad(gy, ys, wt, ws, xs, s2));
  time(`conv2dWeightGrad ${tag}`, flops, () => conv2dWeightGrad(x, xs, gy, ys, ws, s2));
}
const dec: [number, number, number, number, [number, number]][] = [
  [128, 64, 3, 3, [1, 1]],
  [64, 32, 5, 5, [0, 1]],
  [32, 16, 11, 9, [0, 1]],
  [16, 8, 23, 17, [1, 0]],
  [8, 1, 45, 35, [1, 1]],
];
for (const [ci, co, h, w, pad] of dec) {
  const p = { stride: [2, 2] as [number, number], padding: pad };
  const xs = [N, ci, h, w], ws = [ci, co, 3, 3];
  const ys = convTranspose2dOutputShape(xs, ws, p);
  const x = randomArray(N * ci * h * w, 1), wt = randomArray(co * ci * 9, 2);
  const gy = randomArray(ys.reduce((a, b) => a * b), 3);
  const flops = 2 * N * ci * h * w * co * 9; // upper bound: ignores dropped border taps
  const tag = `[${xs}]->[${ys}]`;
  time(`convTranspose2d ${tag}`, flops, () => convTranspose2d(x, xs, wt, ws, null, p));
  time(`convT2dInputGrad ${tag}`, flops, () => convTranspose2dInputGrad(gy, ys, wt, ws, xs, p));
  time(`convT2dWeightGrad ${tag}`, flops, () => convTranspose2dWeightGrad(x, xs, gy, ys, ws, p));
}
