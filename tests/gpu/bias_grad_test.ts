/**
 * The fused leaky-ReLU-backward + bias-gradient kernel (bias_grad.wgsl) against the Float64
 * reference (leakyReluGrad, then biasGrad), on "webgpu" tensors, and the CPU backend's
 * matching method.
 */
import * as C from "../../lib/cpu/mod.ts";
import { backendNamed } from "../../lib/tensor/backends.ts";
import { assertEquals } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import { close, dirtyPool, gt, numel, rand, readAll, sumTol, U32, webgpu } from "./_util.ts";

const SLOPE = 0.02;
// One f32 multiply of values <= 2: one rounding of a value <= 2.
const MASK_ATOL = 2 * U32 * 2;

// Shapes: one channel with rows split into 3 segments (inner 600 > 256, not a multiple), the
// linear case (inner 1) with channels not a multiple of 4, odd channels with a single short
// segment, rows of odd length (not starting on a vec4) split into 5 segments, and the linear
// case with quads of channels (the `rows` entry): one segment of rows, and 150 rows in 3
// segments of at most 64.
const SHAPES = [
  [3, 1, 20, 30],
  [5, 37],
  [2, 7, 5, 3],
  [4, 3, 257],
  [2, 3, 29, 37],
  [3, 8],
  [150, 36],
];

for (const s of SHAPES) {
  gpuTest(`leakyGradBias and biasGrad match reference (shape [${s}])`, async () => {
    await webgpu();
    const be = backendNamed("webgpu");
    const n = numel(s), c = s[1], inner = n / (s[0] * c);
    const y = rand(n, 2100), gy = rand(n, 2101);
    y[0] = 0;
    dirtyPool(n, c);
    const Y = gt(y, s), GY = gt(gy, s);
    const [g, gb] = be.leakyGradBias(Y, GY, SLOPE);
    const plain = be.biasGrad(GY);
    const [go, gbo, po] = await readAll([g, gb, plain]);
    for (const t of [Y, GY, g, gb, plain]) t.dispose();
    const gRef = C.leakyReluGrad(y, gy, SLOPE);
    close(go, gRef, MASK_ATOL, "g");
    assertEquals(
      go[0],
      Math.fround(Math.fround(SLOPE) * Math.fround(gy[0])),
      "gradient at y = 0 uses the slope",
    );
    // Sums of s[0]·inner terms <= 2 (masked terms are the f32 values of g).
    const tol = sumTol(s[0] * inner, 2);
    close(gbo, C.biasGrad(go, [s[0], c, inner, 1]), tol, "gb");
    close(po, C.biasGrad(gy, [s[0], c, inner, 1]), tol, "biasGrad");

    const cpu = backendNamed("cpu");
    const [cg, cgb] = cpu.leakyGradBias(
      cpu.fromArray(Float32Array.from(y), s),
      cpu.fromArray(Float32Array.from(gy), s),
      SLOPE,
    );
    const [cgo, cgbo] = await cpu.read([cg, cgb]);
    close(cgo, gRef, MASK_ATOL, "cpu g");
    close(cgbo, C.biasGrad(gRef, [s[0], c, inner, 1]), tol, "cpu gb");
  });
}
