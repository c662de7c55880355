/**
 * SEISDEC_TUNING (lib/tensor/backends.ts): the per-adapter tuning override read from the
 * environment, with clear errors for bad values; switching tunings in a running process.
 */
import { activeTuning, defaultTuning } from "../../lib/gpu/kernels.ts";
import { adapterSummary } from "../../lib/gpu/device.ts";
import { UserError } from "../../lib/util/errors.ts";
import { ConvAutoencoder } from "../../lib/nn/autoencoder.ts";
import { Adam } from "../../lib/optim/optimizers.ts";
import {
  gpuRuntime,
  gpuTuning,
  gpuTuningSource,
  initBackend,
  isSoftwareAdapter,
  parseTuning,
  resolveTuning,
  retuneGpu,
  stepsInFlight,
  tuningOverride,
} from "../../lib/tensor/backends.ts";
import { Tensor, tidy } from "../../lib/tensor/tensor.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";

function withEnv(value: string | undefined, fn: () => void): void {
  const old = Deno.env.get("SEISDEC_TUNING");
  if (value === undefined) Deno.env.delete("SEISDEC_TUNING");
  else Deno.env.set("SEISDEC_TUNING", value);
  try {
    fn();
  } finally {
    if (old === undefined) Deno.env.delete("SEISDEC_TUNING");
    else Deno.env.set("SEISDEC_TUNING", old);
  }
}

Deno.test("SEISDEC_TUNING overrides known tuning fields and nothing when unset", () => {
  withEnv(undefined, () => assertEquals(tuningOverride(), {}));
  withEnv(
    '{"convTile": 8, "weightGradTile": 1}',
    () => assertEquals(tuningOverride(), { convTile: 8, weightGradTile: 1 }),
  );
});

Deno.test("SEISDEC_TUNING refuses bad JSON, non-objects and unknown fields, naming them", () => {
  withEnv(
    "{convTile: 8}",
    () => assertThrows(() => tuningOverride(), Error, "SEISDEC_TUNING is not JSON"),
  );
  withEnv("[8]", () => assertThrows(() => tuningOverride(), Error, "must be a JSON object"));
  withEnv(
    '{"convTiles": 8}',
    () => assertThrows(() => tuningOverride(), Error, 'unknown field "convTiles"'),
  );
});

Deno.test("a tuning with a field of the wrong type is refused, naming the field and the type", () => {
  assertThrows(() => parseTuning('{"convTlie": 8}', "x"), Error, 'unknown field "convTlie"');
  assertThrows(() => parseTuning('{"uniformWeights": 1}', "x"), Error, "must be a boolean");
  assertThrows(() => parseTuning('{"inFlight": "4"}', "x"), Error, "must be a number");
  assertThrows(() => parseTuning('{"matmul": "fast"}', "x"), Error, '"tiled" or "blocked"');
  assertThrows(() => parseTuning("[1]", "x"), Error, "must be a JSON object");
  // Numbers count things: 0, fractions and negatives were accepted and then rounded or clamped
  // where used (convTile 0 ran as 4, inferBatch 0 as 1), so tune timed and stored them as read.
  for (
    const [raw, what] of [
      ['{"convTile": 0}', "a positive integer"],
      ['{"inferBatch": 0}', "a positive integer"],
      ['{"splitTarget": -256}', "a positive integer"],
      ['{"inFlight": 2.5}', "a positive integer"],
      ['{"convTile": 6}', "a multiple of 4"],
      ['{"convTransposeTile": 2}', "a multiple of 4"],
      ['{"matmulCols": 6}', "a multiple of 4"],
      ['{"matmulRows": 0}', "a positive integer"],
      ['{"splitLanes": 12}', "a power of two up to 64"],
      ['{"splitLanes": 128}', "a power of two up to 64"],
      // Register tiles past these held lavapipe's shader compiler for minutes (convTile 1024:
      // over 10 minutes).
      ['{"convTile": 1024}', "at most 64"],
      ['{"convTransposeTile": 68}', "at most 64"],
      ['{"convPixels": 33}', "at most 32"],
      ['{"convTransposePixels": 64}', "at most 32"],
      ['{"convPatchPixels": 65}', "at most 64"],
      ['{"weightGradTile": 17}', "at most 16"],
      ['{"weightGradCoTile": 32}', "at most 16"],
    ]
  ) {
    const field = raw.split('"')[1];
    assertThrows(
      () => parseTuning(raw, "SEISDEC_TUNING"),
      Error,
      `field "${field}" must be ${what}`,
    );
  }
  // A conv invocation's accumulators, channels × pixels, within one tuning.
  assertThrows(
    () => parseTuning('{"convTile": 64, "convPixels": 12}', "x"),
    Error,
    "x: convTile × convPixels must hold at most 512: found 64 × 12",
  );
  assertThrows(
    () => parseTuning('{"convTransposeTile": 32, "convPixels": 32}', "x"),
    Error,
    "convTransposeTile × convTransposePixels must hold at most 512: found 32 × 32",
  );
  assertEquals(parseTuning('{"convTile": 32, "convPixels": 16}', "x").convPixels, 16);
  // Patch tiles (2 × convPixels unless given, so only a given one can pass the cap) and the
  // weight gradient's quads.
  assertThrows(
    () => parseTuning('{"convTile": 64, "convPatch": true, "convPatchPixels": 64}', "x"),
    Error,
    "convTile × convPatchPixels must hold at most 1024: found 64 × 64",
  );
  assertThrows(
    () => parseTuning('{"convTile": 32, "convPatchPixels": 40}', "x"),
    Error,
    "convTile × convPatchPixels must hold at most 1024: found 32 × 40",
  );
  assertThrows(
    () => parseTuning('{"weightGradTile": 16, "weightGradCoTile": 16}', "x"),
    Error,
    "weightGradTile × weightGradCoTile must hold at most 64: found 16 × 16",
  );
  // The software default (convTile 32, convPixels 12: patches of 24) passes.
  parseTuning(JSON.stringify(defaultTuning(true)), "x");
  // The matmul block as a whole (a field left out counts at its default of 4).
  for (
    const [raw, what] of [
      ['{"matmulRows": 32, "matmulCols": 16}', "found 32 × 16"],
      ['{"matmulRows": 128}', "found 128 × 4"],
    ]
  ) {
    assertThrows(
      () => parseTuning(raw, "SEISDEC_TUNING"),
      Error,
      `SEISDEC_TUNING: the matmul block matmulRows × matmulCols must hold at most 256 values: ${what}`,
    );
  }
  assertEquals(parseTuning('{"matmulRows": 16, "matmulCols": 16}', "x"), {
    matmulRows: 16,
    matmulCols: 16,
  });
  assertEquals(
    parseTuning('{"convTile": 20, "splitLanes": 1, "inferBatch": 7, "splitTarget": 4}', "x"),
    { convTile: 20, splitLanes: 1, inferBatch: 7, splitTarget: 4 },
  );
  assertEquals(parseTuning('{"matmul": "tiled", "foldActGrad": false}', "x"), {
    matmul: "tiled",
    foldActGrad: false,
  });
});

gpuTest(
  "retuneGpu refuses what a stored tuning may not hold, and keeps the tuning in force",
  async () => {
    await initBackend("webgpu");
    const before = gpuTuning()!;
    for (
      const [field, value, want] of [
        ["convTile", 7, 'field "convTile" must be a multiple of 4: found 7'],
        ["inFlight", 0, 'field "inFlight" must be a positive integer: found 0'],
        ["splitLanes", 6, 'field "splitLanes" must be a power of two up to 64: found 6'],
        ["matmul", "fast", 'field "matmul" must be "tiled" or "blocked": found "fast"'],
      ] as const
    ) {
      await assertRejects(
        () => retuneGpu({ ...before, [field]: value }),
        Error,
        `Cannot retune WebGPU: the tuning: ${want}`,
      );
      assertEquals(gpuTuning(), before, `${field} ${value} left the tuning as it was`);
    }
  },
);

gpuTest("retuneGpu switches the dispatchers, the pipelining and the backend in place", async () => {
  await initBackend("webgpu");
  const rt = gpuRuntime()!;
  const before = gpuTuning()!;
  const source = gpuTuningSource()!;
  const ae = new ConvAutoencoder({ inputShape: [1, 24, 20] }, 1);
  const set = ae.build("webgpu");
  const adam = new Adam(set, { lr: 1e-3 });
  const x = Tensor.fromArray(
    Float32Array.from({ length: 4 * 24 * 20 }, (_, i) => Math.sin(i)),
    [4, 1, 24, 20],
    "webgpu",
  ).keep();
  // Dispatches and loss of one training step.
  const step = async () => {
    const d0 = rt.stats().dispatches;
    const l = tidy(() => {
      set.zeroGrad();
      const l = ae.reconstructionLoss(x);
      l.backward();
      adam.update();
      return l;
    });
    const loss = await l.item();
    l.dispose();
    return { dispatches: rt.stats().dispatches - d0, loss };
  };
  try {
    await retuneGpu({ ...before, packCache: true, inFlight: 3 });
    assertEquals(stepsInFlight("webgpu"), 3);
    assertEquals(gpuTuningSource()!.env.inFlight, 3);
    await step();
    const cached = await step();
    await retuneGpu({ ...before, packCache: false, inFlight: 5 });
    assertEquals(activeTuning().packCache, false);
    assertEquals(stepsInFlight("webgpu"), 5);
    const packing = await step();
    // Without the cache every convolution packs its weight (one dispatch each, 19 in a step of
    // this autoencoder), with it one dispatch packs them all after the update.
    assert(
      packing.dispatches >= cached.dispatches + 10,
      `${packing.dispatches} vs ${cached.dispatches}`,
    );
    assert(Number.isFinite(packing.loss) && packing.loss < cached.loss, JSON.stringify(packing));
  } finally {
    await retuneGpu(before, source);
    x.dispose();
    adam.dispose();
    set.dispose();
  }
  assertEquals(gpuTuning(), before);
  assertEquals(gpuTuningSource(), source);
});

gpuTest(
  "the merged tuning is checked as a whole: SEISDEC_TUNING's pixels on the default's channel tile",
  async () => {
    const info = await adapterSummary();
    const base = defaultTuning(isSoftwareAdapter(info));
    // convPixels 32 passes alone; with the default's channel tile it may not.
    const old = Deno.env.get("SEISDEC_TUNING");
    Deno.env.set("SEISDEC_TUNING", '{"convPixels": 32}');
    try {
      if (base.convTile * 32 > 512) {
        const e = await assertRejects(() => resolveTuning(info), UserError);
        assert(
          e.message.includes(
            `convTile × convPixels must hold at most 512: found ${base.convTile} × 32`,
          ) && e.message.includes("cli.ts tune --reset"),
          e.message,
        );
      } else {
        assertEquals((await resolveTuning(info)).tuning.convPixels, 32);
      }
    } finally {
      if (old === undefined) Deno.env.delete("SEISDEC_TUNING");
      else Deno.env.set("SEISDEC_TUNING", old);
    }
  },
);
