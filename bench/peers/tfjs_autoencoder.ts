/**
 * The seed autoencoder written in TensorFlow.js (tfjs-core ops + `tf.train.adam`), and
 * the timing of one training step (forward + backward + Adam) and of encoder inference
 * on the tfjs `webgpu`, `wasm` and `cpu` backends, for the peers benchmark.
 *
 * The model mirrors the PyTorch reference layer by layer. tfjs is NHWC, so the
 * activations are `[batch, freq, time, channels]`; the shapes match PyTorch's
 * `[batch, channels, freq, time]` after that transposition. Two details differ only by a
 * fixed permutation of weights, which changes neither the cost nor the function class:
 * `Flatten` flattens `[3, 3, 128]` in HWC order instead of CHW, and filters are
 * `[kh, kw, in, out]` (conv) and `[kh, kw, out, in]` (transposed conv).
 *
 * `tf.conv2dTranspose` has no per-axis asymmetric padding, so each `ConvTranspose2d`
 * with padding `(ph, pw)` is a `'valid'` transposed convolution (full output
 * `(h - 1) * s + k`) followed by a slice that drops `ph` rows from the top and bottom and
 * `pw` columns from the left and right: exactly PyTorch's definition of that padding.
 *
 * @module
 */
// Bench-only packages are imported inline, not through deno.json's import map, so that
// seisdec itself ("nodeModulesDir": "auto") installs 38 MB of packages, not 405 MB.
// deno-lint-ignore no-import-prefix
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
// The node bundle of tfjs-core (what Deno resolves) registers no gradients, and its ESM
// register_all_gradients.js uses extensionless imports Deno cannot load. The union package
// @tensorflow/tfjs registers them all, on the same tfjs-core instance, as a side effect.
// deno-lint-ignore no-import-prefix
import "npm:@tensorflow/tfjs@4.22.0";
// deno-lint-ignore no-import-prefix
import "npm:@tensorflow/tfjs-backend-cpu@4.22.0";
// deno-lint-ignore no-import-prefix
import "npm:@tensorflow/tfjs-backend-webgpu@4.22.0";
// deno-lint-ignore no-import-prefix
import { setWasmPaths } from "npm:@tensorflow/tfjs-backend-wasm@4.22.0";
import { adapterName } from "../../lib/gpu/device.ts";

/** The tfjs-core module, as passed to {@linkcode buildTfjsAutoencoder}. */
export type Tf = typeof tf;

/** A tfjs backend the peers benchmark times. */
export type TfjsBackendName = "webgpu" | "wasm" | "cpu";

import type { PeerResult, TimingOptions } from "../../lib/bench/types.ts";
import { median, steadyStepMs, timedSteps } from "../../lib/bench/seisdec_timing.ts";

export { median };

export type { PeerResult, TimingOptions };

/** Input shape `[freq, time]` of one spectrogram. */
export const INPUT_HW: readonly [number, number] = [87, 67];
/** Slope of every LeakyReLU in the model. */
export const LEAKY_SLOPE = 0.02;
/** Adam learning rate. */
export const LEARNING_RATE = 1e-3;
/** Latent size. */
export const LATENT = 9;

const ENCODER_CHANNELS = [1, 8, 16, 32, 64, 128] as const;
/** Decoder transposed convolutions: channels in/out and PyTorch padding (ph, pw). */
const DECODER = [
  { name: "d1", inC: 128, outC: 64, pad: [1, 1] },
  { name: "d2", inC: 64, outC: 32, pad: [0, 1] },
  { name: "d3", inC: 32, outC: 16, pad: [0, 1] },
  { name: "d4", inC: 16, outC: 8, pad: [1, 0] },
  { name: "d5", inC: 8, outC: 1, pad: [1, 1] },
] as const;

/** The output shape of one layer, NHWC, as recorded by {@linkcode TfjsAutoencoder.forward}. */
export interface LayerShape {
  layer: string;
  shape: number[];
}

/** The autoencoder's variables and forward functions. */
export interface TfjsAutoencoder {
  /** Trainable variables in layer order (weight, bias per layer). */
  params: tf.Variable[];
  /** Number of scalar parameters (218,250). */
  paramCount: number;
  /**
   * Encodes `[batch, 87, 67, 1]` to the latent `[batch, 9]`.
   *
   * @param x Input batch.
   * @param shapes When given, receives each layer's output shape.
   * @returns the latent codes.
   */
  encode(x: tf.Tensor4D, shapes?: LayerShape[]): tf.Tensor2D;
  /**
   * Encodes then decodes.
   *
   * @param x Input batch `[batch, 87, 67, 1]`.
   * @param shapes When given, receives each layer's output shape.
   * @returns the reconstruction, same shape as `x`.
   */
  forward(x: tf.Tensor4D, shapes?: LayerShape[]): tf.Tensor4D;
  /**
   * Mean squared reconstruction error.
   *
   * @param x Input batch.
   * @returns the scalar loss.
   */
  loss(x: tf.Tensor4D): tf.Scalar;
  /** Frees the variables. */
  dispose(): void;
}

/**
 * PyTorch's `Conv2d(stride, padding)` in NHWC: every side padded by `pad` (tf's `'same'`
 * would pad 0 on top and 1 at the bottom for even sizes, a different function).
 *
 * @param tfm The tfjs-core module.
 * @param x Input `[batch, h, w, inC]`.
 * @param w Filter `[kh, kw, inC, outC]`.
 * @param stride Stride on both axes.
 * @param pad Zero padding on every side.
 * @returns `[batch, floor((h + 2p - kh) / s) + 1, floor((w + 2p - kw) / s) + 1, outC]`.
 */
export function conv2dTorch(
  tfm: Tf,
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  stride: number,
  pad: number,
): tf.Tensor4D {
  return tfm.conv2d(x, w, stride, pad);
}

/**
 * PyTorch's `ConvTranspose2d(stride, padding=(ph, pw))` in NHWC (no output padding, no
 * dilation): a `'valid'` transposed convolution, whose full output is
 * `(h - 1) * s + k`, then a slice dropping `ph` rows at the top and bottom and `pw`
 * columns at the left and right.
 *
 * @param tfm The tfjs-core module.
 * @param x Input `[batch, h, w, inC]`.
 * @param w Filter `[kh, kw, outC, inC]` (tfjs's transposed-convolution layout).
 * @param stride Stride on both axes.
 * @param pad PyTorch padding `[ph, pw]`.
 * @returns `[batch, (h - 1) * s + kh - 2 ph, (w - 1) * s + kw - 2 pw, outC]`.
 */
export function convTranspose2dTorch(
  tfm: Tf,
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  stride: number,
  pad: [number, number],
): tf.Tensor4D {
  const [n, h, wd] = x.shape;
  const [kh, kw, outC] = w.shape;
  const full: [number, number, number, number] = [
    n,
    (h - 1) * stride + kh,
    (wd - 1) * stride + kw,
    outC,
  ];
  const [ph, pw] = pad;
  if (full[1] - 2 * ph < 1 || full[2] - 2 * pw < 1) {
    throw new RangeError(
      `Cannot run convTranspose2d: padding must leave an output: current value is [${ph}, ${pw}]`,
    );
  }
  const t = tfm.conv2dTranspose(x, w, full, stride, "valid");
  return tfm.slice(t, [0, ph, pw, 0], [n, full[1] - 2 * ph, full[2] - 2 * pw, outC]);
}

/**
 * Builds the seed autoencoder with PyTorch's default initialisation:
 * weights and biases uniform on `±1 / sqrt(fanIn)`, where a transposed convolution's
 * `fanIn` is `outC * k * k` (PyTorch computes it from dimension 1 of the weight).
 *
 * @param tfm The tfjs-core module (its current backend holds the variables).
 * @param seed Seed of the initial weights.
 * @returns the model.
 * @example
 * ```ts
 * import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
 * import "npm:@tensorflow/tfjs-backend-cpu@4.22.0";
 * import { buildTfjsAutoencoder } from "./tfjs_autoencoder.ts";
 * await tf.setBackend("cpu");
 * const model = buildTfjsAutoencoder(tf, 1);
 * if (model.paramCount !== 218250) throw new Error("wrong parameter count");
 * model.dispose();
 * ```
 */
export function buildTfjsAutoencoder(tfm: Tf, seed: number): TfjsAutoencoder {
  let nextSeed = seed * 1000;
  const uniform = (shape: number[], fanIn: number): tf.Variable => {
    const bound = 1 / Math.sqrt(fanIn);
    return tfm.tidy(() =>
      tfm.variable(tfm.randomUniform(shape, -bound, bound, "float32", nextSeed++), true)
    );
  };
  const enc: { w: tf.Variable; b: tf.Variable }[] = [];
  for (let i = 0; i < 5; i++) {
    const inC = ENCODER_CHANNELS[i], outC = ENCODER_CHANNELS[i + 1];
    enc.push({ w: uniform([3, 3, inC, outC], inC * 9), b: uniform([outC], inC * 9) });
  }
  const flat = 3 * 3 * 128;
  const latW = uniform([flat, LATENT], flat), latB = uniform([LATENT], flat);
  const d0W = uniform([LATENT, flat], LATENT), d0B = uniform([flat], LATENT);
  const dec = DECODER.map((d) => ({
    ...d,
    w: uniform([3, 3, d.outC, d.inC], d.outC * 9),
    b: uniform([d.outC], d.outC * 9),
  }));
  const params: tf.Variable[] = [
    ...enc.flatMap((l) => [l.w, l.b]),
    latW,
    latB,
    d0W,
    d0B,
    ...dec.flatMap((l) => [l.w, l.b]),
  ];
  const paramCount = params.reduce((s, p) => s + p.size, 0);
  const leaky = <T extends tf.Tensor>(t: T): T => tfm.leakyRelu(t, LEAKY_SLOPE);
  const record = (shapes: LayerShape[] | undefined, layer: string, t: tf.Tensor) => {
    shapes?.push({ layer, shape: [...t.shape] });
  };

  const encode = (x: tf.Tensor4D, shapes?: LayerShape[]): tf.Tensor2D => {
    let h = x;
    enc.forEach((l, i) => {
      h = leaky(tfm.add(conv2dTorch(tfm, h, l.w as tf.Tensor4D, 2, 1), l.b));
      record(shapes, `e${i}`, h);
    });
    const n = x.shape[0];
    const z = leaky(tfm.add(tfm.matMul(tfm.reshape(h, [n, flat]), latW as tf.Tensor2D), latB));
    record(shapes, "e5", z);
    return z as tf.Tensor2D;
  };

  const forward = (x: tf.Tensor4D, shapes?: LayerShape[]): tf.Tensor4D => {
    const n = x.shape[0];
    const z = encode(x, shapes);
    let h = tfm.reshape(
      leaky(tfm.add(tfm.matMul(z, d0W as tf.Tensor2D), d0B)),
      [n, 3, 3, 128],
    ) as tf.Tensor4D;
    record(shapes, "d0", h);
    for (const l of dec) {
      const t = convTranspose2dTorch(tfm, h, l.w as tf.Tensor4D, 2, [l.pad[0], l.pad[1]]);
      h = leaky(tfm.add(t, l.b));
      record(shapes, l.name, h);
    }
    // PyTorch crops [1:-1, 1:-1] after the last layer: [89, 69] -> [87, 67].
    const [, hh, ww] = h.shape;
    const out = tfm.slice(h, [0, 1, 1, 0], [n, hh - 2, ww - 2, 1]);
    record(shapes, "crop", out);
    return out;
  };

  return {
    params,
    paramCount,
    encode,
    forward,
    loss: (x) => tfm.mean(tfm.squaredDifference(forward(x), x)) as tf.Scalar,
    dispose: () => params.forEach((p) => p.dispose()),
  };
}

/**
 * The weight gradient of a 2-D convolution (NHWC, dilation 1), built from other tf ops
 * without im2col and without strided slices (tfjs-wasm's StridedSlice is a slow
 * per-element loop):
 *
 * `dW[i, j, c, o] = sum over (n, y, x) of xPad[n, y*sh + i, x*sw + j, c] * dy[n, y, x, o]`.
 *
 * Pad the input so its height and width are multiples of the strides, and view it as
 * `[batch, Hp/sh, sh * Wp * inC]`: row `a*sh + p` and column `b*sw + q` sit in row group
 * `a` at offset `p * Wp * inC + (b*sw + q) * inC`. For filter row `i = a0*sh + p` and
 * column block `b0`, the pixels that taps `j = b0*sw + q` (all `q < sw`) saw form one
 * contiguous slice `[batch, outH, outW * sw * inC]`, i.e. `[batch*outH*outW, sw*inC]`, and
 * one matmul of `dy` as `[outC, batch*outH*outW]` with it gives those `sw` taps at once. With a
 * 3x3 filter and stride 2 that is 6 plain slices and 6 matmuls (12 taps computed, 9 kept).
 *
 * @param tfm The tfjs-core module.
 * @param x Convolution input `[batch, inH, inW, inC]`.
 * @param dy Gradient of the convolution output `[batch, outH, outW, outC]`.
 * @param filterShape `[kh, kw, inC, outC]`.
 * @param strides Stride, one number or `[sh, sw]`.
 * @param pad Padding as tf.conv2d takes it.
 * @param dimRoundingMode Rounding of the output size, as tf.conv2d takes it.
 * @returns the filter gradient, shape `filterShape`.
 */
export function conv2dBackpropFilterFromOps(
  tfm: Tf,
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding,
  dimRoundingMode?: "floor" | "round" | "ceil",
): tf.Tensor4D {
  const info = tfm.backend_util.computeConv2DInfo(
    x.shape,
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { batchSize: n, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const [kh, kw, inC, outC] = filterShape;
  if (dy.shape[0] !== n || dy.shape[1] !== oh || dy.shape[2] !== ow || dy.shape[3] !== outC) {
    throw new TypeError(
      `Cannot compute conv2d filter gradient: dy must be [${n}, ${oh}, ${ow}, ${outC}]: ` +
        `found [${dy.shape.join(", ")}]`,
    );
  }
  const [, h, w] = x.shape;
  const { top, left } = info.padInfo;
  const colBlocks = Math.ceil(kw / sw);
  // Row groups and column blocks of the padded input: enough to hold the input and to
  // serve every tap's slice.
  const hq = Math.max(Math.ceil((h + top) / sh), Math.floor((kh - 1) / sh) + oh);
  const wq = Math.max(Math.ceil((w + left) / sw), colBlocks - 1 + ow);
  const rowLen = wq * sw * inC;
  return tfm.tidy(() => {
    const xp = tfm.pad(x, [[0, 0], [top, hq * sh - h - top], [left, wq * sw - w - left], [0, 0]]);
    const xr = tfm.reshape(xp, [n, hq, sh * rowLen]);
    const m = n * oh * ow;
    // dy^T once, so every matmul is a plain [outC, m] x [m, sw*inC]: tfjs-wasm's
    // transposeA path is a naive loop, 5-10x slower than XNNPACK's plain one.
    const dyT = tfm.transpose(tfm.reshape(dy, [m, outC])) as tf.Tensor2D;
    const rows: tf.Tensor3D[] = [];
    for (let i = 0; i < kh; i++) {
      const a0 = Math.floor(i / sh), p = i % sh;
      const blocks: tf.Tensor2D[] = [];
      for (let b0 = 0; b0 < colBlocks; b0++) {
        const s = tfm.slice(xr, [0, a0, p * rowLen + b0 * sw * inC], [n, oh, ow * sw * inC]);
        blocks.push(tfm.matMul(dyT, tfm.reshape(s, [m, sw * inC]) as tf.Tensor2D));
      }
      const all = tfm.reshape(tfm.concat(blocks, 1), [outC, colBlocks * sw, inC]);
      rows.push(tfm.slice(all, [0, 0, 0], [outC, kw, inC]) as tf.Tensor3D);
    }
    // [kh, outC, kw, inC] -> [kh, kw, inC, outC]
    return tfm.transpose(tfm.stack(rows), [0, 2, 3, 1]) as tf.Tensor4D;
  });
}

/**
 * Registers `Conv2DBackpropFilter` for a backend that lacks it (tfjs-backend-wasm 4.22
 * has none, so it cannot train a convolution). The kernel is
 * {@linkcode conv2dBackpropFilterFromOps}: tf ops on the same backend, not the cpu
 * backend's plain-JS kernel, so the data never leaves the backend. Ops run inside a
 * kernel are not recorded on the gradient tape, and a kernel may return a Tensor.
 *
 * @param tfm The tfjs-core module.
 * @param backendName Backend to complete, e.g. "wasm".
 * @returns "native" when the backend already had the kernel, "registered" otherwise.
 */
export function ensureConv2dBackpropFilter(tfm: Tf, backendName: string): "native" | "registered" {
  if (tfm.getKernel("Conv2DBackpropFilter", backendName)) return "native";
  tfm.registerKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName,
    kernelFunc: ({ inputs, attrs }) => {
      const asTensor = (t: tf.TensorInfo): tf.Tensor4D =>
        ((t as tf.Tensor).rank != null
          ? t
          : tfm.engine().makeTensorFromTensorInfo(t)) as tf.Tensor4D;
      const x = asTensor(inputs.x!), dy = asTensor(inputs.dy!);
      const a = attrs as unknown as {
        strides: [number, number];
        pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
        dataFormat: "NHWC" | "NCHW";
        dimRoundingMode?: "floor" | "round" | "ceil";
        filterShape: [number, number, number, number];
      };
      if (a.dataFormat !== "NHWC") {
        throw new TypeError(
          `Cannot compute conv2d filter gradient: dataFormat must be NHWC: found ${a.dataFormat}`,
        );
      }
      const out = conv2dBackpropFilterFromOps(
        tfm,
        x,
        dy,
        a.filterShape,
        a.strides,
        a.pad,
        a.dimRoundingMode,
      );
      if (x !== inputs.x) x.dispose();
      if (dy !== inputs.dy) dy.dispose();
      return out;
    },
  });
  return "registered";
}

let wasmPathsSet = false;
let wasmFilterGradFromOps = false;

/**
 * Activates a tfjs backend and describes it.
 *
 * @param backend Backend name.
 * @returns the backend in words, the adapter name (webgpu) and a note.
 */
export async function activateTfjsBackend(
  backend: TfjsBackendName,
): Promise<{ description: string; adapter?: string; note?: string }> {
  if (backend === "wasm") {
    if (!wasmPathsSet) {
      // Deno resolves npm packages into node_modules ("nodeModulesDir": "auto"); tfjs-wasm
      // reads its .wasm binaries from this directory with fs, since Deno looks like Node.
      const dir = new URL(
        "../../node_modules/@tensorflow/tfjs-backend-wasm/dist/",
        import.meta.url,
      );
      setWasmPaths(dir.protocol === "file:" ? dir.pathname : dir.href);
      wasmPathsSet = true;
    }
  }
  if (!(await tf.setBackend(backend)) || tf.getBackend() !== backend) {
    throw new Error(`Cannot start tfjs backend ${backend}: setBackend returned false`);
  }
  await tf.ready();
  if (backend === "wasm") {
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    const threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
    if (ensureConv2dBackpropFilter(tf, "wasm") === "registered") wasmFilterGradFromOps = true;
    return {
      description: `wasm (${simd ? "SIMD" : "no SIMD"}, ${threads ? "threads" : "1 thread"})`,
      note: wasmFilterGradFromOps
        ? "Conv2DBackpropFilter built from tf ops (slice + matmul per filter row)"
        : undefined,
    };
  }
  if (backend === "webgpu") {
    let adapter: string | undefined;
    try {
      adapter = await adapterName();
    } catch {
      adapter = undefined;
    }
    return { description: "webgpu", adapter };
  }
  return { description: "cpu (plain JS)" };
}

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split("\n")[0].slice(0, 300);
}

/**
 * Times the tfjs autoencoder on one backend: `warmup` untimed training steps, then the
 * mean of `steps` timed steps (more where they would not last `minSeconds`, see timedSteps) (forward + backward + Adam, ending with a read of the
 * loss so queued GPU work is inside the timed region), and the same for encoder
 * inference at `inferBatch`. Never throws: a failure lands in `error`.
 *
 * @param backend "webgpu", "wasm" or "cpu".
 * @param batch Training batch size.
 * @param opts Steps, warm-up and inference batch.
 * @returns the row for the peers table.
 */
export async function timeTfjs(
  backend: TfjsBackendName,
  batch: number,
  opts: TimingOptions = {},
): Promise<PeerResult> {
  const steps = opts.steps ?? 5;
  if (steps < 5) {
    throw new RangeError(`Cannot time tfjs: steps must be >= 5: current value is ${steps}`);
  }
  const warmup = opts.warmup ?? 1;
  const minSeconds = opts.minSeconds ?? 2;
  const inferBatch = opts.inferBatch ?? 256;
  const seed = opts.seed ?? 1;
  const result: PeerResult = {
    name: `tfjs ${backend}`,
    backend,
    batch,
    inferBatch,
    trainSamplesPerSec: null,
    inferSamplesPerSec: null,
  };
  let model: TfjsAutoencoder | null = null;
  let optimizer: tf.Optimizer | null = null;
  let tensorsBefore: number | null = null;
  try {
    const { description, adapter, note } = await activateTfjsBackend(backend);
    result.backend = description;
    if (adapter) result.adapter = adapter;
    if (note) result.note = note;
    tensorsBefore = tf.memory().numTensors;
    model = buildTfjsAutoencoder(tf, seed);
    const [h, w] = INPUT_HW;
    if (opts.train ?? true) {
      const x = tf.randomUniform([batch, h, w, 1], 0, 1, "float32", seed + 7) as tf.Tensor4D;
      // Adam as seisdec's and PyTorch's: betas 0.9/0.999, eps 1e-8 (tfjs defaults eps to the
      // backend's epsilon, 1e-7).
      optimizer = tf.train.adam(LEARNING_RATE, 0.9, 0.999, 1e-8);
      const m = model;
      const step = async (): Promise<number> => {
        const loss = optimizer!.minimize(() => m.loss(x), true, m.params)!;
        // Reading the loss submits everything queued (the Adam updates were queued before
        // the read's copy), and a queue runs in order, so the step's GPU work is done.
        const v = (await loss.data())[0];
        loss.dispose();
        return v;
      };
      try {
        let warmMs = 0;
        for (let i = 0; i < warmup; i++) {
          const t0 = performance.now();
          const v = await step();
          warmMs = performance.now() - t0;
          if (!Number.isFinite(v)) throw new Error(`loss is not finite: ${v}`);
        }
        if (opts.maxStepSeconds !== undefined && warmMs > opts.maxStepSeconds * 1000) {
          result.error = `training skipped: warm-up step took ${(warmMs / 1000).toFixed(0)} s > ` +
            `${opts.maxStepSeconds} s limit`;
        } else {
          result.stepMs = await steadyStepMs(step, timedSteps(steps, warmMs, minSeconds));
          result.trainSamplesPerSec = batch / (result.stepMs / 1000);
        }
      } catch (e) {
        result.error = `Cannot train on tfjs ${backend}: ${errorText(e)}`;
      } finally {
        x.dispose();
      }
    }
    if (opts.infer ?? true) {
      const x = tf.randomUniform([inferBatch, h, w, 1], 0, 1, "float32", seed + 8) as tf.Tensor4D;
      const m = model;
      const infer = async () => {
        const z = tf.tidy(() => m.encode(x));
        await z.data();
        z.dispose();
      };
      try {
        let warmMs = 0;
        for (let i = 0; i < warmup; i++) {
          const t0 = performance.now();
          await infer();
          warmMs = performance.now() - t0;
        }
        result.inferMs = await steadyStepMs(infer, timedSteps(steps, warmMs, minSeconds));
        result.inferSamplesPerSec = inferBatch / (result.inferMs / 1000);
      } catch (e) {
        const msg = `Cannot run the encoder on tfjs ${backend}: ${errorText(e)}`;
        result.error = result.error ? `${result.error}; ${msg}` : msg;
      } finally {
        x.dispose();
      }
    }
  } catch (e) {
    const msg = errorText(e);
    result.error = result.error ? `${result.error}; ${msg}` : msg;
  } finally {
    optimizer?.dispose();
    model?.dispose();
  }
  const leaked = tensorsBefore === null ? 0 : tf.memory().numTensors - tensorsBefore;
  if (leaked > 0) {
    result.note = [result.note, `${leaked} tensors leaked`].filter(Boolean).join("; ");
  }
  // Drop the backend's instance and its memory (the factories stay, so setBackend starts a
  // fresh one): the peers run in seisdec's process, which times itself again after them.
  tf.engine().reset();
  return result;
}
