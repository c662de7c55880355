/**
 * The seed autoencoder (lib/nn/autoencoder.ts): its layer table, parameter names and count,
 * PyTorch default initialisation, and the decoder plan for other input sizes.
 */
import { autoencoderParamShapes, ConvAutoencoder, decoderPlan } from "../../lib/nn/autoencoder.ts";
import { LeakyReLU, type Module, type Sequential } from "../../lib/nn/layers.ts";
import { initBackend } from "../../lib/tensor/backends.ts";
import { mseLoss } from "../../lib/tensor/ops.ts";
import { noGrad, Tensor, tidy } from "../../lib/tensor/tensor.ts";
import { Rng } from "../../lib/util/rng.ts";
import {
  assert,
  assertAlmostEquals,
  assertClose,
  assertEquals,
  assertNotEquals,
  assertThrows,
} from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import { close } from "../gpu/_util.ts";

await initBackend("cpu");

const SEED_SHAPE: [number, number, number] = [1, 87, 67];

/** The seed's table (PyTorch NCHW) at batch N = 2. */
const SEED_TABLE: [string, number[]][] = [
  ["input", [2, 1, 87, 67]],
  ["encoder Conv2d", [2, 8, 44, 34]], // e0
  ["encoder Conv2d", [2, 16, 22, 17]], // e1
  ["encoder Conv2d", [2, 32, 11, 9]], // e2
  ["encoder Conv2d", [2, 64, 6, 5]], // e3
  ["encoder Conv2d", [2, 128, 3, 3]], // e4
  ["encoder Flatten", [2, 1152]], // e5
  ["encoder Linear", [2, 9]],
  ["decoder Linear", [2, 1152]], // d0
  ["decoder Reshape", [2, 128, 3, 3]],
  ["decoder ConvTranspose2d", [2, 64, 5, 5]], // d1
  ["decoder ConvTranspose2d", [2, 32, 11, 9]], // d2
  ["decoder ConvTranspose2d", [2, 16, 23, 17]], // d3
  ["decoder ConvTranspose2d", [2, 8, 45, 35]], // d4
  ["decoder ConvTranspose2d", [2, 1, 89, 69]], // d5
  ["decoder Crop2d", [2, 1, 87, 67]],
];

/** The layers of the encoder or decoder Sequential. */
function layers(m: Module): Module[] {
  return (m.children[0][1] as Sequential).layers;
}

Deno.test("seed autoencoder: layer table matches the seed exactly", () => {
  const ae = new ConvAutoencoder({ inputShape: SEED_SHAPE });
  assertEquals(ae.shapeTable(2), SEED_TABLE);
  assertEquals(ae.plan.paddings, [[1, 1], [0, 1], [0, 1], [1, 0], [1, 1]]);
  assertEquals(ae.plan.outputPaddings, [[0, 0], [0, 0], [0, 0], [0, 0], [0, 0]]);
  assertEquals(ae.plan.crop, [1, 1, 1, 1], "crop [1:-1, 1:-1]");
});

Deno.test("seed autoencoder: a leaky ReLU of slope 0.02 follows every layer, the latent Linear and the last transposed conv included", () => {
  const kinds = (m: Module, slope: number) =>
    layers(m).map((l) => {
      if (!(l instanceof LeakyReLU)) return l.constructor.name;
      assertEquals(l.slope, slope);
      return "act";
    });
  for (const slope of [0.02, 0.3]) {
    const ae = new ConvAutoencoder(
      slope === 0.02 ? { inputShape: SEED_SHAPE } : { inputShape: SEED_SHAPE, slope },
    );
    assertEquals(ae.config.slope, slope);
    assertEquals(kinds(ae.encoder, slope), [
      ...Array(5).fill(["Conv2d", "act"]).flat(),
      "Flatten",
      "Linear",
      "act",
    ]);
    assertEquals(kinds(ae.decoder, slope), [
      "Linear",
      "act",
      "Reshape",
      ...Array(5).fill(["ConvTranspose2d", "act"]).flat(),
      "Crop2d",
    ]);
  }
  // The forward pass fuses each activation into the layer before it: with the layer's slope.
  const ae = new ConvAutoencoder({ inputShape: [1, 8, 8], channels: [4, 8], slope: 0.3 }, 2);
  ae.build("cpu");
  const rng = new Rng(9);
  const x = Tensor.fromArray(
    Float32Array.from({ length: 2 * 64 }, () => rng.uniform(-2, 2)),
    [2, 1, 8, 8],
    "cpu",
  );
  noGrad(() => {
    const { z, recon } = ae.forward(x);
    let h = x;
    for (const m of layers(ae.encoder)) h = m.forward(h);
    assertClose(z.array, h.array, 1e-6, 1e-6, "codes");
    assert(h.array.some((v) => v < 0), "some codes are negative");
    for (const m of layers(ae.decoder)) h = m.forward(h);
    assertClose(recon.array, h.array, 1e-6, 1e-6, "reconstruction");
  });
  ae.params.dispose();
});

Deno.test("seed autoencoder: running each layer gives the table's shapes", () => {
  const ae = new ConvAutoencoder({ inputShape: SEED_SHAPE }, 3);
  ae.build("cpu");
  const got: number[][] = [];
  noGrad(() => {
    let h = Tensor.full([2, ...SEED_SHAPE], 0.5, "cpu");
    got.push([...h.shape]);
    for (const m of [...layers(ae.encoder), ...layers(ae.decoder)]) {
      h = m.forward(h);
      if (m.constructor.name !== "LeakyReLU") got.push([...h.shape]);
    }
  });
  assertEquals(got, SEED_TABLE.map(([, s]) => s));
  const { z, recon } = noGrad(() => ae.forward(Tensor.full([2, ...SEED_SHAPE], 0.5, "cpu")));
  assertEquals([...z.shape], [2, 9]);
  assertEquals([...recon.shape], [2, 1, 87, 67]);
  ae.params.dispose();
});

Deno.test("seed autoencoder: 218,250 parameters with PyTorch state_dict names", () => {
  const ae = new ConvAutoencoder({ inputShape: SEED_SHAPE });
  assertEquals(ae.parameterCount(), 218250);
  const specs = ae.specs();
  const names = specs.map((s) => s.name);
  const expected: [string, number[]][] = [];
  const enc = [[8, 1], [16, 8], [32, 16], [64, 32], [128, 64]];
  enc.forEach(([co, ci], i) => {
    expected.push([`encoder.encoder.${2 * i}.weight`, [co, ci, 3, 3]]);
    expected.push([`encoder.encoder.${2 * i}.bias`, [co]]);
  });
  expected.push(["encoder.encoder.11.weight", [9, 1152]], ["encoder.encoder.11.bias", [9]]);
  expected.push(["decoder.decoder.0.weight", [1152, 9]], ["decoder.decoder.0.bias", [1152]]);
  const dec = [[128, 64], [64, 32], [32, 16], [16, 8], [8, 1]];
  dec.forEach(([a, b], i) => {
    expected.push([`decoder.decoder.${3 + 2 * i}.weight`, [a, b, 3, 3]]);
    expected.push([`decoder.decoder.${3 + 2 * i}.bias`, [b]]);
  });
  assertEquals(names, expected.map(([n]) => n));
  assertEquals(specs.map((s) => s.shape), expected.map(([, s]) => s));
  for (const s of specs) {
    assertEquals(s.init.length, s.shape.reduce((a, b) => a * b, 1), `${s.name} init length`);
  }
  const set = ae.build("cpu");
  assertEquals(set.count, 218250);
  assertEquals([...set.byName.keys()], names);
  set.dispose();
});

Deno.test("seed autoencoder: PyTorch default init bounds (ConvTranspose2d fan_in from weight.shape[1])", () => {
  const ae = new ConvAutoencoder({ inputShape: SEED_SHAPE }, 7);
  const specs = ae.specs();
  // fan_in as torch.nn.init._calculate_fan_in_and_fan_out: weight.shape[1]·KH·KW for both
  // Conv2d [Co, Ci, KH, KW] and ConvTranspose2d [A, B, KH, KW] (so B·KH·KW for the latter),
  // in_features for Linear; the bias shares its weight's bound 1/sqrt(fan_in).
  let bound = 0;
  for (const s of specs) {
    if (s.name.endsWith(".weight")) {
      const fanIn = s.shape.slice(1).reduce((a, b) => a * b, 1);
      bound = 1 / Math.sqrt(fanIn);
    }
    let max = 0;
    for (const v of s.init) max = Math.max(max, Math.abs(v));
    assert(max <= bound, `${s.name}: max |w| ${max} exceeds 1/sqrt(fan_in) = ${bound}`);
    // Uniform draws fill the interval: with n >= 64 values the largest is within 10 % of
    // the bound unless the bound itself is wrong (P(all n inside 0.9·bound) = 0.9^n < 0.2 %).
    if (s.init.length >= 64) {
      assert(max > 0.9 * bound, `${s.name}: max |w| ${max} is far below the bound ${bound}`);
    }
  }
  // The decoder's d1 weight [128, 64, 3, 3]: fan_in = 64·9, not 128·9.
  const d1 = specs.find((s) => s.name === "decoder.decoder.3.weight")!;
  const d1max = d1.init.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  assert(d1max > 0.9 / Math.sqrt(576), `d1 bound uses fan_in 576: max ${d1max}`);
});

Deno.test("seed autoencoder: same seed gives the same weights, another seed others", () => {
  const a = new ConvAutoencoder({ inputShape: SEED_SHAPE }, 42).specs();
  const b = new ConvAutoencoder({ inputShape: SEED_SHAPE }, 42).specs();
  const c = new ConvAutoencoder({ inputShape: SEED_SHAPE }, 43).specs();
  a.forEach((s, i) => {
    assertEquals(s.init, b[i].init, `${s.name} with the same seed`);
    assertNotEquals(s.init, c[i].init, `${s.name} with another seed`);
  });
});

const OTHER_SHAPES: [number, number, number][] = [
  [1, 28, 28],
  [3, 28, 28],
  [1, 64, 64],
  [3, 33, 100],
  [1, 5, 7],
  [3, 100, 33],
  [1, 1, 1],
  [1, 129, 2],
];

for (const shape of OTHER_SHAPES) {
  Deno.test(`decoder plan reconstructs the exact input shape [${shape}]`, () => {
    const [c, h, w] = shape;
    const plan = decoderPlan(h, w);
    for (const [i, op] of plan.outputPaddings.entries()) {
      assert(op.every((v) => v === 0 || v === 1), `output padding ${i} < stride 2: [${op}]`);
    }
    assert(plan.crop.every((v) => v >= 0 && v <= 2), `small crop: [${plan.crop}]`);
    const ae = new ConvAutoencoder({ inputShape: shape }, 1);
    const table = ae.shapeTable(1);
    assertEquals(table[table.length - 1][1], [1, c, h, w], "planned output shape");
    // And a real forward pass (CPU backend) produces it.
    ae.build("cpu");
    const x = Tensor.full([1, c, h, w], 0.25, "cpu");
    const { z, recon } = noGrad(() => ae.forward(x));
    assertEquals([...z.shape], [1, 9]);
    assertEquals([...recon.shape], [1, c, h, w], "recon shape");
    ae.params.dispose();
  });
}

Deno.test("decoder plan reaches every input size 1..64 at depths 1 to 6, exactly after its crop", () => {
  for (let depth = 1; depth <= 6; depth++) {
    for (let h = 1; h <= 64; h++) {
      const plan = decoderPlan(h, 2 * h + 1, depth);
      const [hd, wd] = plan.decoderSizes.at(-1)!;
      const [top, bottom, left, right] = plan.crop;
      assertEquals(
        [hd - top - bottom, wd - left - right],
        [h, 2 * h + 1],
        `depth ${depth}, h ${h}`,
      );
    }
  }
  // One conv layer on an even size (28 → 14 → 28 with padding 0 and output padding 1; padding 1
  // gave 27 and threw).
  const ae = new ConvAutoencoder({ inputShape: [1, 28, 28], channels: [16] }, 1);
  assertEquals(ae.shapeTable(1).at(-1)![1], [1, 1, 28, 28]);
  assertThrows(
    () => new ConvAutoencoder({ inputShape: [1, 28, 28], channels: [] }),
    RangeError,
    "at least one conv layer",
  );
  assertThrows(
    () => new ConvAutoencoder({ inputShape: [1, 28, 28], channels: [8, 0] }),
    RangeError,
    "channels must be positive integers",
  );
  // The fused leaky backward tells the branch by the output's sign: only slopes > 0 work.
  assertThrows(
    () => new ConvAutoencoder({ inputShape: [1, 28, 28], slope: -0.5 }),
    RangeError,
    "slope must be > 0",
  );
});

for (const device of ["cpu", "webgpu"] as const) {
  const run = device === "webgpu"
    ? gpuTest
    : (name: string, fn: () => Promise<void>) => Deno.test(name, fn);
  run(
    `reconstructionLoss equals mse of the cropped reconstruction, with the same gradients (${device})`,
    async () => {
      await initBackend(device);
      const ae = new ConvAutoencoder({ inputShape: SEED_SHAPE }, 3);
      const set = ae.build(device);
      const rng = new Rng(4);
      const x = Tensor.fromArray(
        Float32Array.from({ length: 2 * 87 * 67 }, () => rng.next()),
        [2, ...SEED_SHAPE],
        device,
      );
      const lossAndGrads = async (fused: boolean): Promise<[number, Float32Array]> => {
        set.zeroGrad();
        const l = tidy(() => {
          const l = fused ? ae.reconstructionLoss(x) : mseLoss(ae.forward(x).recon, x);
          l.backward();
          return l;
        });
        const v = await l.item();
        l.dispose();
        return [v, await set.grads.data()];
      };
      const [lf, gf] = await lossAndGrads(true);
      const [lu, gu] = await lossAndGrads(false);
      // The last layer's bias, whose gradient the fused loss's gradient pass sums (BackwardFold).
      const lastBias = set.offsets.get([...set.offsets.keys()].at(-1)!)!;
      x.dispose();
      set.dispose();
      // The loss sums in another order (row sums instead of the crop's chunks): f32 rounding.
      assertAlmostEquals(lf, lu, 1e-6 * lu);
      // The gradient reaching the decoder is the same f32 values (the fused loss's gradient
      // pass also does the last layer's leaky ReLU backward, with the same product), so all
      // gradients are equal; but on WebGPU the last bias's, which adds the 89·69·2 values by
      // rows rather than by bias_grad's segments: within f32 rounding there.
      if (device === "webgpu") {
        close([gf[lastBias]], [gu[lastBias]], 0, "the last layer's bias gradient", 1e-5);
        gf[lastBias] = gu[lastBias];
      }
      assertEquals(gf, gu);
    },
  );
}

Deno.test("the largest activation bounds the batch an adapter can bind", () => {
  const seed = new ConvAutoencoder({ inputShape: SEED_SHAPE });
  // d4's output, 8×45×35 before d5 and the crop, is larger than e0's 8×44×34.
  assertEquals(seed.largestActivation(), {
    layer: "decoder ConvTranspose2d",
    shape: [8, 45, 35],
    floats: 12600,
  });
  assertEquals(seed.maxBatch(128 * 2 ** 20), Math.floor(128 * 2 ** 20 / (4 * 12600))); // 2,663
  assertEquals(seed.maxBatch(Infinity), Infinity);
  assertEquals(seed.maxBatch(1000), 0, "not even one sample");
  assertEquals(seed.maxBatch(4 * 12600), 1);
  assert(seed.batchOverLimit(1, 1000)!.reason.startsWith("not even one sample fits"));
  // A long window: 257 frequencies × 400 frames; d4 outputs 8×129×201.
  const big = new ConvAutoencoder({ inputShape: [1, 257, 400] });
  assertEquals(big.largestActivation().shape, [8, 129, 201]);
  assertEquals(big.maxBatch(128 * 2 ** 20), 161);
});

Deno.test("autoencoderParamShapes names and shapes the parameters as the built network does, without building it", () => {
  const configs = [
    { inputShape: [1, 87, 67] as [number, number, number] },
    { inputShape: [3, 20, 9] as [number, number, number], channels: [4, 6], latentDim: 5 },
    { inputShape: [2, 5, 5] as [number, number, number], channels: [3], latentDim: 2 },
  ];
  for (const c of configs) {
    assertEquals(
      autoencoderParamShapes(c).map((p) => [p.name, p.shape]),
      new ConvAutoencoder(c).specs().map((s) => [s.name, s.shape]),
    );
  }
  // An enormous network is described, not allocated.
  const big = autoencoderParamShapes({ inputShape: [1, 87, 67], channels: [4, 1e8] });
  assertEquals(big[2], {
    name: "encoder.encoder.2.weight",
    shape: [1e8, 4, 3, 3],
    from: ["channels[1] is 100000000", "channels[0] is 4", null, null],
  });
});

Deno.test("decoder plan crops an odd excess one more at the bottom and right than at the top and left", () => {
  // 28 → 14 → 7 → 4 → 2 → 1 and back up to 29: one row and one column too many, cut at the end.
  assertEquals(decoderPlan(28, 28).crop, [0, 1, 0, 1]);
  // 10×12 decodes to 17×17: 7 rows (3 above, 4 below) and 5 columns (2 left, 3 right).
  assertEquals(decoderPlan(10, 12).decoderSizes.at(-1), [17, 17]);
  assertEquals(decoderPlan(10, 12).crop, [3, 4, 2, 3]);
});

Deno.test("initial weights are symmetric about zero, filling both ends of ±1/sqrt(fan_in)", () => {
  const ae = new ConvAutoencoder({ inputShape: SEED_SHAPE }, 5);
  // The decoder's d1 weight [128, 64, 3, 3]: 73,728 values, bound 1/sqrt(576).
  const d1 = ae.specs().find((s) => s.name === "decoder.decoder.3.weight")!;
  const bound = 1 / Math.sqrt(576);
  let max = -Infinity, min = Infinity, sum = 0;
  for (const v of d1.init) {
    max = Math.max(max, v);
    min = Math.min(min, v);
    sum += v;
  }
  assert(max > 0.9 * bound && max <= bound, `largest ${max} of bound ${bound}`);
  assert(min < -0.9 * bound && min >= -bound, `smallest ${min} of bound ${bound}`);
  // The mean's standard deviation is bound/sqrt(3·73728) ≈ 0.0021·bound.
  const mean = sum / d1.init.length;
  assert(Math.abs(mean) < 0.01 * bound, `mean ${mean} of bound ${bound}`);
});

Deno.test("a batch that exactly fits the tensor limit is allowed, one more is not", () => {
  const seed = new ConvAutoencoder({ inputShape: SEED_SHAPE });
  const bytes = 128 * 2 ** 20, most = seed.maxBatch(bytes);
  assertEquals(seed.batchOverLimit(most, bytes), null);
  assertEquals(seed.batchOverLimit(most + 1, bytes)?.most, most);
  // Exactly one sample's largest activation: one fits.
  assertEquals(seed.batchOverLimit(1, 4 * 12600), null);
});

Deno.test("a leaky ReLU slope of 0 is refused like a negative one", () => {
  assertThrows(
    () => new ConvAutoencoder({ inputShape: [1, 28, 28], slope: 0 }),
    RangeError,
    "slope must be > 0: current value is 0",
  );
});

Deno.test("decoder plan refuses a depth that is not a whole number with a RangeError naming it", () => {
  assertThrows(() => decoderPlan(8, 8, 2.5), RangeError, "at least one conv layer: found 2.5");
  assertThrows(() => decoderPlan(8, 8, 0), RangeError, "at least one conv layer: found 0");
});
