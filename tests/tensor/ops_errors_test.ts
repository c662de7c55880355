/**
 * The tensor ops refuse bad input before any backend sees it, with an error that names the op,
 * the argument and what was expected: wrong ranks, channel counts, strides, paddings, output
 * paddings, bias shapes, empty outputs and crops that do not fit, mismatched shapes for the
 * losses and DEC's ops, and tensors on two devices. On the CPU backend (no adapter needed), but
 * for the last, which needs a WebGPU tensor.
 */
import * as ops from "../../lib/tensor/ops.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { setDefaultBackend } from "../../lib/backend.ts";
import { initBackend } from "../../lib/tensor/backends.ts";
import { gpuTest } from "../_gpu.ts";
import { webgpu } from "../gpu/_util.ts";

const t = (...shape: number[]) =>
  Tensor.fromArray(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5), shape, "cpu");
const P = { stride: [1, 1] as [number, number], padding: [0, 0] as [number, number] };

Deno.test("conv2d and conv_transpose2d refuse bad shapes, strides, paddings and biases, naming the op and what was expected", () => {
  const x = t(2, 3, 5, 5), w = t(4, 3, 3, 3), wt = t(3, 4, 3, 3);
  const cases: [() => unknown, typeof TypeError | typeof RangeError, string][] = [
    [
      () => ops.conv2d(t(3, 5, 5), w, null, P),
      TypeError,
      "conv2d: x must be [N,C,H,W]: found [3,5,5]",
    ],
    [
      () => ops.conv2d(x, t(4, 3, 3), null, P),
      TypeError,
      "conv2d: weight must be 4-D: found [4,3,3]",
    ],
    [
      () => ops.conv2d(t(2, 2, 5, 5), w, null, P),
      TypeError,
      "conv2d: x has 2 channels: weight expects 3",
    ],
    [
      () => ops.conv2d(x, w, null, { ...P, stride: [1, 1.5] }),
      TypeError,
      "conv2d: stride must be [h, w] integers: found [1,1.5]",
    ],
    [
      () => ops.conv2d(x, w, null, { ...P, padding: [1] as unknown as [number, number] }),
      TypeError,
      "conv2d: padding must be [h, w] integers: found [1]",
    ],
    [
      () => ops.conv2d(x, w, null, { ...P, stride: [0, 1] }),
      RangeError,
      "stride must be >= 1: current value is [0,1]",
    ],
    [
      () => ops.conv2d(x, w, null, { ...P, padding: [-1, 0] }),
      RangeError,
      "padding must be >= 0: current value is [-1,0]",
    ],
    [() => ops.conv2d(x, w, t(3), P), TypeError, "conv2d: bias must be [4]: found [3]"],
    [
      () => ops.conv2d(t(2, 3, 2, 5), w, null, P),
      RangeError,
      "input [2,3,2,5] is smaller than the kernel [4,3,3,3]",
    ],
    [
      () => ops.conv2d(x, w, null, { ...P, slope: 0 }),
      RangeError,
      "conv2d: slope must be > 0: current value is 0",
    ],
    // The transposed conv's weight is [A, B, KH, KW]: x's channels must be A, the bias [B].
    [
      () => ops.convTranspose2d(x, t(4, 3, 3, 3), null, P),
      TypeError,
      "conv_transpose2d: x has 3 channels: weight expects 4",
    ],
    [
      () => ops.convTranspose2d(x, wt, t(3), P),
      TypeError,
      "conv_transpose2d: bias must be [4]: found [3]",
    ],
    [
      () =>
        ops.convTranspose2d(x, wt, null, {
          stride: [2, 2],
          padding: [0, 0],
          outputPadding: [2, 0],
        }),
      RangeError,
      "output padding must be in [0, stride): current value is [2,0]",
    ],
    [
      () =>
        ops.convTranspose2d(t(1, 3, 1, 1), t(3, 4, 1, 1), null, {
          stride: [1, 1],
          padding: [1, 1],
        }),
      RangeError,
      "conv_transpose2d: output size [-1, -1] is empty",
    ],
  ];
  for (const [f, cls, msg] of cases) assertThrows(f, cls, msg);
});

Deno.test("linear, matmul, crop2d and axpby refuse mismatched shapes, naming the op and both shapes", () => {
  assertThrows(
    () => ops.linear(t(2, 3), t(4, 5), null),
    TypeError,
    "Cannot run linear: expected x [N, in] and weight [out, in]: found [2,3] and [4,5]",
  );
  assertThrows(
    () => ops.linear(t(2, 3), t(4, 3), t(3)),
    TypeError,
    "linear: bias must be [4]: found [3]",
  );
  assertThrows(() => ops.linear(t(2, 3), t(4, 3), null, -1), RangeError, "slope must be > 0");
  assertThrows(
    () => ops.matmul(t(2, 3), t(4, 5)),
    TypeError,
    "Cannot run matmul: expected [M, K]·[K, N]: found [2,3]·[4,5]",
  );
  assertThrows(
    () => ops.crop2d(t(3, 5, 5), [0, 0, 0, 0]),
    TypeError,
    "crop2d: x must be [N,C,H,W]: found [3,5,5]",
  );
  assertThrows(
    () => ops.crop2d(t(1, 1, 5, 5), [3, 2, 0, 0]),
    RangeError,
    "crop2d: crop [3,2,0,0] does not fit [1,1,5,5]",
  );
  assertThrows(
    // Sizes are compared (a [2,3] and a [3,2] add as flat arrays); these differ.
    () => ops.axpby(t(2, 3), t(7)),
    TypeError,
    "Cannot add: [2,3] and [7] differ in size (6 against 7 values)",
  );
});

Deno.test("the losses and DEC's ops refuse mismatched shapes and a bad alpha", () => {
  assertThrows(
    () => ops.mseLoss(t(2, 3), t(7)),
    TypeError,
    "mse_loss: prediction [2,3] and target [7] differ in size",
  );
  assertThrows(
    () => ops.softAssign(t(4, 3), t(2, 5)),
    TypeError,
    "soft assignment: expected z [N, D] and mu [K, D]: found [4,3] and [2,5]",
  );
  assertThrows(
    () => ops.softAssign(t(4, 3), t(2, 3), 0),
    RangeError,
    "alpha must be > 0: current value is 0",
  );
  assertThrows(
    () => ops.targetDistribution(t(4)),
    TypeError,
    "target distribution: q must be [N, K]: found [4]",
  );
  assertThrows(
    () => ops.decKlLoss(t(4, 3), t(2, 3), t(4, 3)),
    TypeError,
    "dec_kl_loss: p must be [4, 2]: found [4,3]",
  );
});

Deno.test("a tensor's shape must be integers >= 0, and conv options stride and padding must be given", () => {
  for (const shape of [[-1, -5], [2.5, 2], [-2], [NaN]]) {
    assertThrows(
      () => Tensor.fromArray(new Float32Array(5), shape, "cpu"),
      TypeError,
      `Cannot create tensor: shape must be a list of integers >= 0: found [${shape}]`,
    );
  }
  assertThrows(
    () => Tensor.full([-2], 0, "cpu"),
    TypeError,
    "Cannot create tensor: shape must be a list of integers >= 0: found [-2]",
  );
  assertEquals(Tensor.full([0, 3], 1, "cpu").size, 0);
  const x = t(1, 1, 4, 4), w = t(1, 1, 3, 3);
  assertThrows(
    () => ops.conv2d(x, w, null, { stride: [1, 1] } as never),
    TypeError,
    "Cannot run conv2d: padding must be [h, w] integers: found undefined",
  );
  assertThrows(
    () => ops.conv2d(x, w, null, undefined as never),
    TypeError,
    "Cannot run conv2d: stride must be [h, w] integers: found undefined",
  );
  assertThrows(
    () => ops.convTranspose2d(x, w, null, { ...P, stride: [2, 2], outputPadding: [1] as never }),
    TypeError,
    "Cannot run conv_transpose2d: output padding must be [h, w] integers: found [1]",
  );
});

Deno.test("a backend name that is not a backend's is refused, naming the valid ones", async () => {
  const want = 'expected a backend, "webgpu" or "cpu": found "gpu"';
  assertThrows(() => Tensor.fromArray(new Float32Array(2), [2], "gpu" as never), TypeError, want);
  assertThrows(() => Tensor.full([2], 1, "gpu" as never), TypeError, want);
  assertThrows(() => setDefaultBackend("gpu" as never), TypeError, want);
  await assertRejects(() => initBackend("gpu" as never), TypeError, want);
});

gpuTest("an op refuses tensors on two devices, naming both", async () => {
  await webgpu();
  const g = Tensor.fromArray(new Float32Array(6), [2, 3], "webgpu");
  try {
    assertThrows(
      () => ops.matmul(t(4, 2), g),
      TypeError,
      "Cannot run matmul: all tensors must be on one device: found cpu and webgpu",
    );
  } finally {
    g.dispose();
  }
});
