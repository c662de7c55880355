/**
 * The CPU backend through the tensor ops: forward values against the Float64 references in
 * lib/cpu, and the gradients that `backward` leaves on the leaves against central finite
 * differences of Σ ref(...)·r, for the ops whose shapes the backend works out itself (crop,
 * cropped MSE, transposed convolution with output padding).
 */
import * as C from "../../lib/cpu/mod.ts";
import { numericGrad } from "../../lib/cpu/gradcheck.ts";
import * as ops from "../../lib/tensor/ops.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertClose, assertEquals } from "../_assert.ts";

/** Seeded values on [-2, 2], exact in Float32 so that both sides see the same inputs. */
function rand(n: number, seed: number): Float64Array {
  return Float64Array.from(Float32Array.from(C.randomArray(n, seed)));
}

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/**
 * Checks op(leaves) on the CPU backend: forward against ref, and each leaf's gradient of
 * Σ y·r against numericGrad of Σ ref·r. Tolerances: the backend computes in Float64 and
 * stores Float32, so values carry ~6e-8 relative error; the finite differences of these
 * linear or quadratic functions are exact to ~1e-9. atol 1e-5 and rtol 1e-5 leave margin.
 */
async function check(
  shapes: number[][],
  op: (ts: Tensor[]) => Tensor,
  ref: (xs: Float64Array[]) => ArrayLike<number>,
  seed: number,
): Promise<void> {
  const xs = shapes.map((s, i) => rand(numel(s), seed + i));
  const ts = xs.map((x, i) => {
    const t = Tensor.fromArray(Float32Array.from(x), shapes[i], "cpu");
    t.requiresGrad = true;
    return t;
  });
  const y = op(ts);
  const want = ref(xs);
  assertClose(await y.data(), want, 1e-5, 1e-5, "forward");
  const r = rand(want.length, seed + 100);
  y.backward(Tensor.fromArray(Float32Array.from(r), y.shape, "cpu"));
  for (let i = 0; i < xs.length; i++) {
    const g = numericGrad((v) => {
      const args = xs.slice();
      args[i] = v;
      const out = ref(args);
      let s = 0;
      for (let j = 0; j < out.length; j++) s += out[j] * r[j];
      return s;
    }, xs[i].slice());
    assertClose(await ts[i].grad!.data(), g, 1e-5, 1e-5, `gradient of leaf ${i}`);
  }
}

Deno.test("[cpu] crop2d with a different crop on each side: values, shape and gradient", async () => {
  const s = [2, 3, 7, 8], c: [number, number, number, number] = [1, 2, 0, 3];
  const y = ops.crop2d(Tensor.fromArray(new Float32Array(numel(s)), s, "cpu"), c);
  assertEquals(y.shape, [2, 3, 4, 5]);
  await check([s], ([x]) => ops.crop2d(x, c), ([x]) => C.crop2d(x, s, c), 10);
});

Deno.test("[cpu] croppedMseLoss: loss and gradient wrt the uncropped prediction", async () => {
  const s = [2, 2, 6, 7], c: [number, number, number, number] = [1, 2, 2, 1];
  const ts = [2, 2, 3, 4];
  const target = rand(numel(ts), 20);
  const T = Tensor.fromArray(Float32Array.from(target), ts, "cpu");
  await check(
    [s],
    ([p]) => ops.croppedMseLoss(p, T, c),
    ([p]) => [C.mseLoss(C.crop2d(p, s, c), target)],
    21,
  );
});

Deno.test("[cpu] convTranspose2d with unequal strides, paddings and output paddings: values and gradients", async () => {
  const xs = [2, 3, 4, 3], ws = [3, 2, 3, 4];
  const p = {
    stride: [2, 3] as [number, number],
    padding: [1, 0] as [number, number],
    outputPadding: [1, 2] as [number, number],
  };
  const slope = 0.1;
  // Ho = 3·2 − 2 + 3 + 1 = 8, Wo = 2·3 − 0 + 4 + 2 = 12.
  assertEquals(C.convTranspose2dOutputShape(xs, ws, p), [2, 2, 8, 12]);
  await check(
    [xs, ws, [2]],
    ([x, w, b]) => ops.convTranspose2d(x, w, b, { ...p, slope }),
    ([x, w, b]) => C.leakyRelu(C.convTranspose2d(x, xs, w, ws, b, p), slope),
    30,
  );
});

Deno.test("[cpu] decKlLoss: KL(p‖q) and its gradients to the codes and the centres, scaled by the gradient handed down (IDEC weighs it by γ)", async () => {
  // A fixed target p (rows summing to 1); the random upstream gradient of check() is the γ
  // that `axpby(mse, kl, 1, γ)` hands down: a backward that ignored it would give γ = 1.
  const n = 5, k = 3, d = 2, alpha = 1.5;
  const P = C.targetDistribution(
    C.softAssign(rand(n * d, 40), rand(k * d, 41), n, k, d, alpha),
    n,
    k,
  );
  const p = Tensor.fromArray(Float32Array.from(P), [n, k], "cpu");
  const P32 = Float64Array.from(Float32Array.from(P));
  await check(
    [[n, d], [k, d]],
    ([z, mu]) => ops.decKlLoss(z, mu, p, alpha).loss,
    ([z, mu]) => [C.klDivergence(P32, C.softAssign(z, mu, n, k, d, alpha), n, k)],
    42,
  );
});

Deno.test("[cpu] linear with a bias and a leaky ReLU: values and gradients of x, the weight and the bias", async () => {
  const n = 3, inF = 4, outF = 5, slope = 0.1;
  await check(
    [[n, inF], [outF, inF], [outF]],
    ([x, w, b]) => ops.linear(x, w, b, slope),
    ([x, w, b]) => C.leakyRelu(C.linear(x, w, b, n, inF, outF), slope),
    50,
  );
});
