/**
 * Gradient checks of every differentiable op on WebGPU: the gradients autograd computes
 * (`backward` on "webgpu" tensors, read from the leaves' `.grad`) against central finite
 * differences of L = Σ y ⊙ r (r fixed and random) taken over the Float64 reference forward.
 */
import * as C from "../../lib/cpu/mod.ts";
import * as ops from "../../lib/tensor/ops.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";
import { assert, assertEquals } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import {
  accTol,
  close,
  dot,
  gpuDefaultTuning,
  gt,
  maxAbs,
  numel,
  rand,
  readAll,
  webgpu,
  withTuning,
} from "../gpu/_util.ts";

const SLOPE = 0.02;
type P2 = [number, number];

interface Leaf {
  name: string;
  data: Float64Array;
  shape: number[];
}

/**
 * Runs `gpu` on WebGPU leaves, back-propagates the seed r from its output and compares each
 * leaf's gradient with numericGrad of Σ ref(...)·r in Float64.
 *
 * Tolerances: the central difference with eps = 1e-6 is exact up to rounding for L linear
 * or quadratic in each input (truncation error O(eps²·L''') vanishes, leaky kinks aside),
 * leaving ~1e-16·Σ|terms of L|/1e-6 ≈ 1e-8; the f32 backward is the larger error, bounded by
 * `atol` from {@linkcode accTol} for the longest reduction in the gradient, plus rtol 1e-5.
 */
async function checkBackward(
  tag: string,
  leaves: Leaf[],
  gpu: (ts: Tensor[]) => Tensor,
  ref: (xs: Float64Array[]) => ArrayLike<number>,
  atol: number,
  seed: number,
): Promise<void> {
  await webgpu();
  const ts = leaves.map((l) => gt(l.data, l.shape, true));
  const y = gpu(ts);
  const r = rand(y.size, seed);
  y.backward(gt(r, y.shape));
  const grads = await readAll(ts.map((t) => t.grad!));
  for (const t of ts) {
    t.grad!.dispose();
    t.dispose();
  }
  y.dispose();
  leaves.forEach((l, i) => {
    assertEquals(ts[i].grad!.shape, ts[i].shape, `${tag}: grad shape of ${l.name}`);
    const xs: Float64Array[] = leaves.map((m) => m.data.slice());
    const num = C.numericGrad((v) => {
      xs[i] = v;
      return dot(ref(xs), r);
    }, xs[i]);
    assert(maxAbs(num) > 0, `${tag}: numeric gradient of ${l.name} is zero`);
    close(grads[i], num, atol, `${tag}: dL/d${l.name}`, 1e-5);
  });
}

const leaf = (name: string, shape: number[], seed: number): Leaf => ({
  name,
  shape,
  data: rand(numel(shape), seed),
});

for (
  const [pad, stride] of [[[1, 0], [2, 1]], [[0, 1], [2, 2]]] as [P2, P2][]
) {
  gpuTest(
    `conv2d with fused leaky: gradients wrt x, w, b (stride [${stride}], padding [${pad}])`,
    async () => {
      const xs = [2, 3, 7, 5], ws = [5, 3, 3, 2];
      const p = { stride, padding: pad };
      const ys = C.conv2dOutputShape(xs, ws, p);
      await checkBackward(
        "conv2d",
        [leaf("x", xs, 5000), leaf("w", ws, 5001), leaf("b", [5], 5002)],
        ([x, w, b]) => ops.conv2d(x, w, b, { ...p, slope: SLOPE }),
        ([x, w, b]) => C.leakyRelu(C.conv2d(x, xs, w, ws, b, p), SLOPE),
        // Longest reduction: gw and gb over N·Ho·Wo, terms <= 4.
        accTol(ys[0] * ys[2] * ys[3], 4),
        5003,
      );
    },
  );
}

for (
  const [pad, op] of [[[0, 1], [1, 0]], [[1, 0], [0, 1]], [[1, 1], [1, 1]]] as [P2, P2][]
) {
  gpuTest(
    `conv_transpose2d with fused leaky: gradients wrt x, w, b (padding [${pad}], output padding [${op}])`,
    async () => {
      const xs = [2, 4, 4, 3], ws = [4, 3, 3, 3];
      const p = { stride: [2, 2] as P2, padding: pad, outputPadding: op };
      const ys = C.convTranspose2dOutputShape(xs, ws, p);
      await checkBackward(
        "conv_transpose2d",
        [leaf("x", xs, 5010), leaf("w", ws, 5011), leaf("b", [3], 5012)],
        ([x, w, b]) => ops.convTranspose2d(x, w, b, { ...p, slope: SLOPE }),
        ([x, w, b]) => C.leakyRelu(C.convTranspose2d(x, xs, w, ws, b, p), SLOPE),
        accTol(ys[0] * ys[2] * ys[3], 4),
        5013,
      );
    },
  );
}

gpuTest(
  "conv2d with fused leaky, one output channel of 525 pixels: gradients wrt x, w, b",
  async () => {
    // One channel with rows longer than a bias_grad segment (256): the fused leaky + bias
    // backward sums several segment partials per row.
    const xs = [2, 2, 21, 25], ws = [1, 2, 3, 3];
    const p = { stride: [1, 1] as P2, padding: [1, 1] as P2 };
    const ys = C.conv2dOutputShape(xs, ws, p);
    await checkBackward(
      "conv2d 1-channel",
      [leaf("x", xs, 5040), leaf("w", ws, 5041), leaf("b", [1], 5042)],
      ([x, w, b]) => ops.conv2d(x, w, b, { ...p, slope: SLOPE }),
      ([x, w, b]) => C.leakyRelu(C.conv2d(x, xs, w, ws, b, p), SLOPE),
      accTol(ys[0] * ys[2] * ys[3], 4),
      5043,
    );
  },
);

// Under llvmpipe's tiles with the fold on at any batch (its default tuning folds from batch 64
// only, foldMinBatch), and under a GPU's default tuning, which folds at any batch, with its own
// tiles (one pixel per invocation, weights in storage buffers, inputs and masks from storage).
for (
  const [tuningName, tuning] of [
    ["software tiles", { foldActGrad: true, foldMinBatch: 1 }],
    ["a GPU's default tuning", gpuDefaultTuning()],
  ] as const
) {
  gpuTest(
    `stacked leaky convs (conv → transposed → conv): gradients with each ReLU's backward done by the next conv, ${tuningName}`,
    async () => {
      // Each layer's output feeds only the next conv, so the next conv's input gradient applies
      // the mask and the bias gradient is summed from it (BackwardFold; plain leaves have no
      // gradient slots, so the biases are summed by bias_grad from the masked gradient).
      const xs = [2, 3, 9, 7], w1s = [4, 3, 3, 3], w2s = [4, 5, 3, 3], w3s = [2, 5, 3, 3];
      const p1 = { stride: [2, 2] as P2, padding: [1, 1] as P2 };
      const p2 = { stride: [2, 2] as P2, padding: [1, 1] as P2, outputPadding: [0, 0] as P2 };
      const p3 = { stride: [1, 1] as P2, padding: [1, 1] as P2 };
      const h1s = C.conv2dOutputShape(xs, w1s, p1); // [2, 4, 5, 4]
      const h2s = C.convTranspose2dOutputShape(h1s, w2s, p2); // [2, 5, 9, 7]
      const small = (name: string, shape: number[], seed: number): Leaf => ({
        name,
        shape,
        data: rand(numel(shape), seed, -0.5, 0.5),
      });
      await withTuning(tuning, () =>
        checkBackward(
          "conv stack",
          [
            small("x", xs, 5060),
            small("w1", w1s, 5061),
            small("b1", [4], 5062),
            small("w2", w2s, 5063),
            small("b2", [5], 5064),
            small("w3", w3s, 5065),
            small("b3", [2], 5066),
          ],
          ([x, w1, b1, w2, b2, w3, b3]) => {
            const h1 = ops.conv2d(x, w1, b1, { ...p1, slope: SLOPE });
            const h2 = ops.convTranspose2d(h1, w2, b2, { ...p2, slope: SLOPE });
            return ops.conv2d(h2, w3, b3, { ...p3, slope: SLOPE });
          },
          ([x, w1, b1, w2, b2, w3, b3]) => {
            const h1 = C.leakyRelu(C.conv2d(x, xs, w1, w1s, b1, p1), SLOPE);
            const h2 = C.leakyRelu(C.convTranspose2d(h1, h1s, w2, w2s, b2, p2), SLOPE);
            return C.leakyRelu(C.conv2d(h2, h2s, w3, w3s, b3, p3), SLOPE);
          },
          // Longest chain: gw1 sums N·5·4 = 40 pixels of h1's gradient, each a sum of up to 45
          // products (5 channels × 9 taps): 1,800 products. Values <= 0.5, r <= 2, and the
          // activations stay <= 1.1 (measured), so each product is <= 1.1.
          accTol(40 * 45, 1.1),
          5067,
        ));
    },
  );
}

gpuTest("linear with fused leaky: gradients wrt x, w, b", async () => {
  const [n, inF, outF] = [3, 10, 7];
  await checkBackward(
    "linear",
    [leaf("x", [n, inF], 5020), leaf("w", [outF, inF], 5021), leaf("b", [outF], 5022)],
    ([x, w, b]) => ops.linear(x, w, b, SLOPE),
    ([x, w, b]) => C.leakyRelu(C.linear(x, w, b, n, inF, outF), SLOPE),
    accTol(outF, 4),
    5023,
  );
});

gpuTest("matmul: gradients wrt both factors", async () => {
  await checkBackward(
    "matmul",
    [leaf("a", [5, 6], 5030), leaf("b", [6, 3], 5031)],
    ([a, b]) => ops.matmul(a, b),
    ([a, b]) => C.matmul(a, b, 5, 6, 3),
    accTol(6, 4),
    5032,
  );
});

gpuTest("leaky relu: gradient wrt x", async () => {
  await checkBackward(
    "leaky_relu",
    [leaf("x", [3, 37], 5040)],
    ([x]) => ops.leakyRelu(x, SLOPE),
    ([x]) => C.leakyRelu(x, SLOPE),
    accTol(1, 2),
    5041,
  );
});

gpuTest("crop2d: gradient wrt x", async () => {
  const xs = [2, 3, 7, 6], c: [number, number, number, number] = [1, 2, 0, 1];
  await checkBackward(
    "crop2d",
    [leaf("x", xs, 5050)],
    ([x]) => ops.crop2d(x, c),
    ([x]) => C.crop2d(x, xs, c),
    accTol(1, 2),
    5051,
  );
});

gpuTest("axpby: gradients wrt both terms", async () => {
  await checkBackward(
    "axpby",
    [leaf("a", [4, 5], 5060), leaf("b", [20], 5061)],
    ([a, b]) => ops.axpby(a, b.reshape([4, 5]), 0.3, -1.7),
    ([a, b]) => a.map((v, i) => 0.3 * v - 1.7 * b[i]),
    accTol(1, 4),
    5062,
  );
});

gpuTest(
  "cropped mse loss: gradient wrt the uncropped prediction, zero outside the window",
  async () => {
    const s = [2, 2, 6, 7], c: [number, number, number, number] = [1, 2, 2, 1];
    const ts = [2, 2, 3, 4];
    const target = rand(numel(ts), 5075);
    await webgpu();
    const T = gt(target, ts);
    await checkBackward(
      "cropped_mse_loss",
      [leaf("pred", s, 5076)],
      ([p]) => ops.croppedMseLoss(p, T, c),
      ([p]) => [C.mseLoss(C.crop2d(p, s, c), target)],
      accTol(1, 8) / numel(ts),
      5077,
    );
    T.dispose();
  },
);

gpuTest("mse loss: gradient wrt the prediction (the target gets none)", async () => {
  const target = rand(77, 5070);
  await webgpu();
  const T = gt(target, [7, 11], true);
  await checkBackward(
    "mse_loss",
    [leaf("pred", [7, 11], 5071)],
    ([p]) => ops.mseLoss(p, T),
    ([p]) => [C.mseLoss(p, target)],
    accTol(1, 8) / 77,
    5072,
  );
  assertEquals(T.grad, null, "target gradient");
  T.dispose();
});

gpuTest("sum and mean: gradients wrt x (size > 4096)", async () => {
  const n = 4099;
  await checkBackward(
    "sum",
    [leaf("x", [n], 5080)],
    ([x]) => ops.sum(x, 0.5),
    ([x]) => [0.5 * C.sum(x)],
    accTol(1, 2),
    5081,
  );
  await checkBackward(
    "mean",
    [leaf("x", [n], 5082)],
    ([x]) => ops.mean(x),
    ([x]) => [C.mean(x)],
    accTol(1, 2) / n,
    5083,
  );
});

gpuTest("reshape and flatten: gradients flow through views (conv → flatten → linear)", async () => {
  const xs = [2, 2, 5, 4], ws = [3, 2, 3, 3];
  const p = { stride: [2, 2] as P2, padding: [1, 1] as P2 };
  const ys = C.conv2dOutputShape(xs, ws, p);
  const flat = numel(ys) / 2;
  await checkBackward(
    "flatten",
    [leaf("x", xs, 5090), leaf("w", ws, 5091), leaf("lw", [4, flat], 5092)],
    ([x, w, lw]) => {
      const h = ops.flatten(ops.conv2d(x, w, null, { ...p, slope: SLOPE }));
      return ops.linear(h.reshape([2, 1, flat]).reshape([2, flat]), lw, null);
    },
    ([x, w, lw]) =>
      C.linear(C.leakyRelu(C.conv2d(x, xs, w, ws, null, p), SLOPE), lw, null, 2, flat, 4),
    // The gradient of h sums 4 products of size <= 4·2·...: bound each term by 64.
    accTol(numel(ys), 64),
    5093,
  );
});

for (const alpha of [1, 2.5]) {
  gpuTest(`DEC KL loss: gradients wrt z and mu (alpha ${alpha})`, async () => {
    const [n, k, d] = [13, 4, 5];
    const z0 = rand(n * d, 5100), mu0 = rand(k * d, 5101);
    const p = Float64Array.from(Float32Array.from(
      C.targetDistribution(C.softAssign(z0.map((v) => 0.7 * v), mu0, n, k, d, alpha), n, k),
    ));
    await webgpu();
    const P = gt(p, [n, k]);
    // q is saved by the loss's backward, so it lives until the check is done.
    const qs: Tensor[] = [];
    await checkBackward(
      "dec_kl_loss",
      [{ name: "z", data: z0, shape: [n, d] }, { name: "mu", data: mu0, shape: [k, d] }],
      ([z, mu]) => {
        const { loss, q } = ops.decKlLoss(z, mu, P, alpha);
        qs.push(q);
        return loss;
      },
      ([z, mu]) => [C.klDivergence(p, C.softAssign(z, mu, n, k, d, alpha), n, k)],
      // Non-linear in z and mu: the central difference has a truncation error
      // ~eps²·|L'''| ≈ 1e-12, negligible. The f32 gradient has the relative error of q
      // (~3e-6, see tests/gpu/dec_test.ts) on entries of size ~0.1: atol 1e-6.
      1e-6,
      5102,
    );
    for (const t of [P, ...qs]) t.dispose();
  });
}

gpuTest(
  "composite conv → axpby(h, h) → conv_transpose → crop → mse accumulates gradients",
  async () => {
    // x is consumed twice (axpby(x, x)) and so is the conv output h (axpby(h, h)): each gets
    // the sum of both paths' gradients. b2 enters through the transposed conv only.
    const xs = [2, 2, 9, 7], w1s = [3, 2, 3, 3], w2s = [3, 2, 3, 3];
    const p1 = { stride: [2, 2] as P2, padding: [1, 1] as P2 };
    const p2 = { stride: [2, 2] as P2, padding: [1, 1] as P2, outputPadding: [0, 0] as P2 };
    const hs = C.conv2dOutputShape(xs, w1s, p1);
    const us = C.convTranspose2dOutputShape(hs, w2s, p2);
    const crop: [number, number, number, number] = [0, us[2] - 7, 1, us[3] - 6];
    const target = rand(2 * 2 * 7 * 5, 5110);
    await webgpu();
    const T = gt(target, [2, 2, 7, 5]);
    const refForward = ([x, w1, b1, w2, b2]: Float64Array[]) => {
      const x2 = x.map((v) => 1.5 * v - 0.25 * v);
      const h = C.leakyRelu(C.conv2d(x2, xs, w1, w1s, b1, p1), SLOPE);
      const h2 = h.map((v) => 0.6 * v + 0.9 * v);
      const u = C.leakyRelu(C.convTranspose2d(h2, hs, w2, w2s, b2, p2), SLOPE);
      return [C.mseLoss(C.crop2d(u, us, crop), target)];
    };
    await checkBackward(
      "composite",
      [
        leaf("x", xs, 5111),
        leaf("w1", w1s, 5112),
        leaf("b1", [3], 5113),
        leaf("w2", w2s, 5114),
        leaf("b2", [2], 5115),
      ],
      ([x, w1, b1, w2, b2]) => {
        const h = ops.conv2d(ops.axpby(x, x, 1.5, -0.25), w1, b1, { ...p1, slope: SLOPE });
        const u = ops.convTranspose2d(ops.axpby(h, h, 0.6, 0.9), w2, b2, { ...p2, slope: SLOPE });
        return ops.mseLoss(ops.crop2d(u, crop), T);
      },
      refForward,
      // Gradients are O(1/numel)·products of three factors <= ~8: well under 1e-2 each, with
      // reductions of <= N·Ho·Wo = 2·5·4 and 2·9·7 terms; accTol(126, 1e-1) ≈ 6e-6.
      accTol(126, 1e-1),
      5116,
    );
    T.dispose();
  },
);
