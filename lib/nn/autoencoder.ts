/**
 * The seed's fully convolutional autoencoder, for any input size and channel
 * count.
 *
 * Encoder: five Conv2d (k3, s2, p1) with channels 8, 16, 32, 64, 128, then
 * Flatten and Linear to the latent size. Decoder: Linear back, reshape, five
 * ConvTranspose2d (k3, s2) and a final crop. Leaky ReLU (slope 0.02) follows
 * every layer, the latent Linear and the last transposed conv included.
 *
 * The decoder's paddings are derived so that the output has the input's exact
 * shape ({@linkcode decoderPlan}); for an 87×67 input this reproduces the
 * seed's table: paddings (1,1), (0,1), (0,1), (1,0), (1,1) and crop [1:-1, 1:-1].
 *
 * @module
 */
import { Rng } from "../util/rng.ts";
import { croppedMseLoss } from "../tensor/ops.ts";
import type { Device, Tensor } from "../tensor/tensor.ts";
import {
  Conv2d,
  ConvTranspose2d,
  Crop2d,
  Flatten,
  LeakyReLU,
  Linear,
  Module,
  Reshape,
  Sequential,
} from "./layers.ts";
import { ParameterSet, type ParamSpec } from "./params.ts";

/** The seed's encoder channels per convolution. */
export const SEED_CHANNELS: readonly number[] = Object.freeze([8, 16, 32, 64, 128]);

/** The seed's leaky ReLU slope. */
export const SEED_SLOPE = 0.02;

/** Architecture of the autoencoder. */
export interface AutoencoderConfig {
  /** Input [channels, freq, time] of one sample. */
  inputShape: [number, number, number];
  /** Latent size (default 9). */
  latentDim?: number;
  /** Encoder channels per conv (default [8, 16, 32, 64, 128]). */
  channels?: number[];
  /** Leaky ReLU slope (default 0.02). */
  slope?: number;
}

/** Derived decoder geometry. */
export interface DecoderPlan {
  /** Spatial size after each encoder conv, per axis: [[h0,w0], ...]. */
  encoderSizes: [number, number][];
  /** Per transposed conv: padding [h, w]. */
  paddings: [number, number][];
  /** Per transposed conv: output padding [h, w] (zero for the seed's shapes). */
  outputPaddings: [number, number][];
  /** Decoder spatial size after each transposed conv. */
  decoderSizes: [number, number][];
  /** Final crop [top, bottom, left, right]. */
  crop: [number, number, number, number];
}

/**
 * Derives the decoder paddings and final crop for an input size (k3, s2 throughout).
 *
 * Rule, per axis: the first transposed conv uses padding 1 (mirroring the
 * encoder; not when it is the only one); each later one takes padding 1 if that already reaches the encoder's
 * size at its level, else padding 0 (and output padding 1 if even that falls
 * short); the last one aims at the input size, and the surplus is cropped, the
 * odd row or column from the end.
 *
 * @param h Input height (frequency bins).
 * @param w Input width (time frames).
 * @param depth Number of conv layers (default 5).
 * @returns the plan.
 */
export function decoderPlan(h: number, w: number, depth = 5): DecoderPlan {
  if (!(h >= 1 && w >= 1)) {
    throw new RangeError(`Cannot plan decoder: input size must be >= 1: found ${h}×${w}`);
  }
  if (!(Number.isInteger(depth) && depth >= 1)) {
    throw new RangeError(
      `Cannot plan decoder: the encoder needs at least one conv layer: found ${depth}`,
    );
  }
  const enc: [number, number][] = [];
  let s: [number, number] = [h, w];
  for (let i = 0; i < depth; i++) {
    s = [Math.floor((s[0] + 2 - 3) / 2) + 1, Math.floor((s[1] + 2 - 3) / 2) + 1];
    enc.push(s);
  }
  const paddings: [number, number][] = [],
    ops: [number, number][] = [],
    dec: [number, number][] = [];
  let cur = enc[depth - 1];
  for (let i = 0; i < depth; i++) {
    const target: [number, number] = i === depth - 1 ? [h, w] : enc[depth - 2 - i];
    const p: [number, number] = [1, 1],
      op: [number, number] = [0, 0],
      out: [number, number] = [0, 0];
    for (const a of [0, 1] as const) {
      const with1 = 2 * cur[a] - 1;
      // The first one mirrors the encoder, unless it is also the last (depth 1) and must reach
      // the input size: 2·ceil(h/2) − 1 falls one short of an even h.
      if ((i === 0 && depth > 1) || with1 >= target[a]) p[a] = 1;
      else {
        p[a] = 0;
        if (with1 + 2 < target[a]) op[a] = 1;
      }
      out[a] = 2 * cur[a] + 1 - 2 * p[a] + op[a];
    }
    paddings.push(p);
    ops.push(op);
    dec.push(out);
    cur = out;
  }
  const exH = cur[0] - h, exW = cur[1] - w;
  if (exH < 0 || exW < 0) {
    throw new RangeError(
      `Cannot plan decoder: output ${cur[0]}×${cur[1]} is smaller than input ${h}×${w}`,
    );
  }
  return {
    encoderSizes: enc,
    paddings,
    outputPaddings: ops,
    decoderSizes: dec,
    crop: [
      Math.floor(exH / 2),
      exH - Math.floor(exH / 2),
      Math.floor(exW / 2),
      exW - Math.floor(exW / 2),
    ],
  };
}

/** A parameter of the autoencoder as its architecture shapes it, before anything is built. */
export interface ParamShape {
  /** PyTorch-style name, as {@linkcode ConvAutoencoder.specs} names it. */
  name: string;
  /** Its shape. */
  shape: number[];
  /**
   * Which setting of the architecture gives each dimension, with its value (`channels[1] is
   * 16`, `latentDim is 9`, ...), or null for a fixed one (the 3×3 kernel).
   */
  from: (string | null)[];
}

/**
 * The parameters' names and shapes that {@linkcode ConvAutoencoder} would build for a
 * configuration, computed without building (or allocating) anything: to check a model's
 * architecture against the shapes in its weights file's header before the network is made.
 *
 * @param config Architecture (defaults filled in as the constructor fills them).
 * @returns the parameters in the order {@linkcode ConvAutoencoder.specs} lists them.
 * @example The seed autoencoder's latent Linear
 * ```ts
 * import { autoencoderParamShapes } from "./autoencoder.ts";
 * const p = autoencoderParamShapes({ inputShape: [1, 87, 67] });
 * const lin = p.find((q) => q.name === "encoder.encoder.11.weight")!;
 * if (lin.shape.join() !== "9,1152") throw new Error(lin.shape.join());
 * ```
 */
export function autoencoderParamShapes(config: AutoencoderConfig): ParamShape[] {
  const channels = config.channels ?? [...SEED_CHANNELS];
  const latentDim = config.latentDim ?? 9;
  const [cin, h, w] = config.inputShape;
  const n = channels.length;
  const plan = decoderPlan(h, w, n);
  const [hl, wl] = plan.encoderSizes[n - 1];
  const last = channels[n - 1];
  const flat = last * hl * wl;
  const chan = (i: number) => `channels[${i}] is ${channels[i]}`;
  const input0 = `inputShape[0] is ${cin}`;
  const flatFrom = `inputShape [${config.inputShape.join(", ")}] with channels[${n - 1}] ` +
    `${last} makes ${last} × ${hl} × ${wl} = ${flat} features`;
  const latent = `latentDim is ${latentDim}`;
  const out: ParamShape[] = [];
  const add = (name: string, weight: number[], from: (string | null)[], bias: number) => {
    out.push({ name: `${name}.weight`, shape: weight, from });
    out.push({ name: `${name}.bias`, shape: [weight[bias]], from: [from[bias]] });
  };
  channels.forEach((co, i) => {
    add(
      `encoder.encoder.${2 * i}`,
      [co, i === 0 ? cin : channels[i - 1], 3, 3],
      [chan(i), i === 0 ? input0 : chan(i - 1), null, null],
      0,
    );
  });
  add(`encoder.encoder.${2 * n + 1}`, [latentDim, flat], [latent, flatFrom], 0);
  add("decoder.decoder.0", [flat, latentDim], [flatFrom, latent], 0);
  for (let j = 0; j < n; j++) {
    const ci = channels[n - 1 - j];
    const co = j < n - 1 ? channels[n - 2 - j] : cin;
    add(
      `decoder.decoder.${3 + 2 * j}`,
      [ci, co, 3, 3],
      [chan(n - 1 - j), j < n - 1 ? chan(n - 2 - j) : input0, null, null],
      1,
    );
  }
  return out;
}

class Named extends Module {
  constructor(name: string, readonly seq: Sequential) {
    super();
    this.children.push([name, seq]);
  }
  forward(x: Tensor): Tensor {
    return this.seq.forward(x);
  }
  outputShape(s: readonly number[]): number[] {
    return this.seq.outputShape(s);
  }
}

/**
 * The convolutional autoencoder. Parameter names follow a PyTorch module with
 * `encoder.encoder` and `decoder.decoder` Sequentials, e.g. `encoder.encoder.0.weight`.
 */
export class ConvAutoencoder {
  /** The configuration with defaults filled in. */
  readonly config: Required<AutoencoderConfig>;
  /** The decoder's paddings and final crop for the input shape. */
  readonly plan: DecoderPlan;
  /** The encoder: [N, C, H, W] → [N, latentDim]. */
  readonly encoder: Module;
  /** The decoder: [N, latentDim] → [N, C, H, W]. */
  readonly decoder: Module;
  /** The decoder's layers without the final crop (same layer objects, same parameters). */
  #decoderBody: Sequential;
  #params: ParameterSet | null = null;

  /**
   * Builds the layers and draws PyTorch-default initial weights.
   *
   * @param config Architecture.
   * @param seed Seed of the initialisation.
   */
  constructor(config: AutoencoderConfig, seed = 0) {
    const c: Required<AutoencoderConfig> = {
      latentDim: 9,
      channels: [...SEED_CHANNELS],
      slope: SEED_SLOPE,
      ...config,
    };
    if (!(c.slope > 0)) {
      throw new RangeError(
        `Cannot build autoencoder: the leaky ReLU slope must be > 0: current value is ${c.slope}`,
      );
    }
    if (!c.channels.every((v) => Number.isInteger(v) && v >= 1)) {
      throw new RangeError(
        `Cannot build autoencoder: channels must be positive integers: found [${c.channels}]`,
      );
    }
    const [cin, h, w] = c.inputShape;
    if (![cin, h, w].every((v) => Number.isInteger(v) && v >= 1)) {
      throw new RangeError(
        `Cannot build autoencoder: input shape must be positive integers: found [${c.inputShape}]`,
      );
    }
    this.config = c;
    const plan = this.plan = decoderPlan(h, w, c.channels.length);
    const rng = new Rng(seed);
    const enc: Module[] = [];
    let ch = cin;
    for (const co of c.channels) {
      enc.push(
        new Conv2d(ch, co, { kernelSize: 3, stride: 2, padding: 1 }, rng),
        new LeakyReLU(c.slope),
      );
      ch = co;
    }
    const [hl, wl] = plan.encoderSizes[plan.encoderSizes.length - 1];
    const flat = ch * hl * wl;
    enc.push(new Flatten(), new Linear(flat, c.latentDim, rng), new LeakyReLU(c.slope));
    this.encoder = new Named("encoder", new Sequential(enc));

    const dec: Module[] = [
      new Linear(c.latentDim, flat, rng),
      new LeakyReLU(c.slope),
      new Reshape([ch, hl, wl]),
    ];
    const outs = [...c.channels].reverse().slice(1).concat([cin]);
    outs.forEach((co, i) => {
      dec.push(
        new ConvTranspose2d(ch, co, {
          kernelSize: 3,
          stride: 2,
          padding: plan.paddings[i],
          outputPadding: plan.outputPaddings[i],
        }, rng),
        new LeakyReLU(c.slope),
      );
      ch = co;
    });
    this.#decoderBody = new Sequential([...dec]);
    dec.push(new Crop2d(plan.crop));
    this.decoder = new Named("decoder", new Sequential(dec));
  }

  /** Parameter specs of encoder and decoder, PyTorch-named. */
  specs(): ParamSpec[] {
    return [...this.encoder.specs("encoder."), ...this.decoder.specs("decoder.")];
  }

  /**
   * Places the parameters on a device (plus any extra parameters, e.g. DEC
   * centroids, in the same arena) and binds them to the layers.
   *
   * @param device Where to train.
   * @param extra Additional parameters.
   * @returns the parameter set.
   */
  build(device: Device, extra: ParamSpec[] = []): ParameterSet {
    this.#params?.dispose();
    const set = new ParameterSet([...this.specs(), ...extra], device);
    this.encoder.bind(set, "encoder.");
    this.decoder.bind(set, "decoder.");
    this.#params = set;
    return set;
  }

  /** The parameter set (after {@linkcode ConvAutoencoder.build}). */
  get params(): ParameterSet {
    if (!this.#params) throw new Error("Cannot use the autoencoder: call build(device) first");
    return this.#params;
  }

  /**
   * Names of the latent Linear (encoder) and the first decoder Linear. Leaky ReLU is
   * positively homogeneous, so multiplying the first pair by c and the decoder weight by
   * 1/c rescales the latent codes by c and leaves the reconstruction unchanged.
   *
   * @returns the parameter names.
   */
  latentParamNames(): { encoderWeight: string; encoderBias: string; decoderWeight: string } {
    const i = 2 * this.config.channels.length + 1;
    return {
      encoderWeight: `encoder.encoder.${i}.weight`,
      encoderBias: `encoder.encoder.${i}.bias`,
      decoderWeight: "decoder.decoder.0.weight",
    };
  }

  /**
   * Counts the trainable values.
   *
   * @returns the number of trainable values (218,250 for the seed).
   */
  parameterCount(): number {
    return this.specs().reduce((a, s) => a + s.init.length, 0);
  }

  /**
   * Encodes a batch.
   *
   * @param x Batch [N, C, H, W].
   * @returns latent codes [N, latentDim].
   */
  encode(x: Tensor): Tensor {
    this.#checkInput(x);
    return this.encoder.forward(x);
  }

  /**
   * Decodes latent codes.
   *
   * @param z Latent codes [N, latentDim].
   * @returns reconstructions [N, C, H, W].
   */
  decode(z: Tensor): Tensor {
    return this.decoder.forward(z);
  }

  /**
   * The reconstruction loss mean((decode(z) − x)²) of a batch, computed from the decoder's
   * uncropped output ({@linkcode croppedMseLoss}): equal to
   * `mseLoss(forward(x).recon, x)` without the crop's copy and its gradient's.
   *
   * @param x Batch [N, C, H, W].
   * @param z Its latent codes when already computed (default: `encode(x)`).
   * @returns the loss [1].
   */
  reconstructionLoss(x: Tensor, z: Tensor = this.encode(x)): Tensor {
    this.#checkInput(x);
    return croppedMseLoss(this.#decoderBody.forward(z), x, this.plan.crop);
  }

  /**
   * Encodes a batch and decodes the codes.
   *
   * @param x Batch [N, C, H, W].
   * @returns latent codes and reconstructions.
   */
  forward(x: Tensor): { z: Tensor; recon: Tensor } {
    const z = this.encode(x);
    return { z, recon: this.decode(z) };
  }

  /**
   * Layer-by-layer output shapes for a batch size, for docs and tests.
   *
   * @param batch Batch size.
   * @returns rows of [name, shape].
   */
  shapeTable(batch: number): [string, number[]][] {
    const rows: [string, number[]][] = [];
    let s = [batch, ...this.config.inputShape];
    rows.push(["input", s]);
    const walk = (seq: Module, tag: string) => {
      for (const [, m] of seq.children[0][1].children) {
        s = m.outputShape(s);
        if (!(m instanceof LeakyReLU)) rows.push([`${tag} ${m.constructor.name}`, s]);
      }
    };
    walk(this.encoder, "encoder");
    walk(this.decoder, "decoder");
    return rows;
  }

  /**
   * The largest tensor a training step or an encoder pass holds per sample: the one that
   * limits the batch an adapter can hold (`maxStorageBufferBindingSize`, `maxBufferSize`), since
   * each activation and its gradient is one buffer, bound whole.
   *
   * @returns the layer (as in {@linkcode ConvAutoencoder.shapeTable}), its output shape and
   *   floats per sample.
   *
   * @example The seed autoencoder
   * ```ts
   * import { ConvAutoencoder } from "./autoencoder.ts";
   * const a = new ConvAutoencoder({ inputShape: [1, 87, 67] }).largestActivation();
   * if (a.floats !== 8 * 45 * 35) throw new Error(JSON.stringify(a)); // d4's output
   * ```
   */
  largestActivation(): { layer: string; shape: number[]; floats: number } {
    let best = { layer: "input", shape: [] as number[], floats: 0 };
    for (const [layer, s] of this.shapeTable(1)) {
      const floats = s.reduce((a, b) => a * b, 1);
      if (floats > best.floats) best = { layer, shape: s.slice(1), floats };
    }
    return best;
  }

  /**
   * The largest batch whose every activation fits one tensor of `tensorBytes`.
   *
   * @param tensorBytes The most bytes one tensor may hold: the adapter's
   *   `maxStorageBufferBindingSize`, or the smaller of it and `maxBufferSize`
   *   (`tensorLimit` in lib/gpu/pool.ts; Infinity: no limit).
   * @returns the batch size (0 where not even one sample fits; Infinity without a limit).
   */
  maxBatch(tensorBytes: number): number {
    return Math.floor(tensorBytes / (4 * this.largestActivation().floats));
  }

  /**
   * Why `batch` samples would not fit the adapter's tensors, for an error message (the caller
   * says what to do), or null when they fit.
   *
   * @param batch Samples per step or pass.
   * @param limit The most bytes one tensor may hold and the adapter limit that sets it
   *   (`tensorLimit` in lib/gpu/pool.ts), or bytes alone, taken as `maxStorageBufferBindingSize`.
   * @returns the largest batch that fits and the reason, or null.
   */
  batchOverLimit(
    batch: number,
    limit: number | { bytes: number; name: string },
  ): { most: number; reason: string } | null {
    const { bytes, name } = typeof limit === "number"
      ? { bytes: limit, name: "maxStorageBufferBindingSize" }
      : limit;
    const most = this.maxBatch(bytes);
    if (batch <= most) return null;
    const a = this.largestActivation();
    const mib = (b: number, digits: number) => (b / 2 ** 20).toFixed(digits);
    return {
      most,
      reason: most === 0
        ? `not even one sample fits: the ${a.layer} output (${a.shape.join("×")}, ${
          mib(4 * a.floats, 1)
        } MiB a sample) would not fit this adapter's ${name} (${mib(bytes, 0)} MiB)`
        : `the ${a.layer} output (${a.shape.join("×")} per sample, ${
          mib(4 * a.floats * batch, 1)
        } MiB at this batch) would not fit this adapter's ${name} (${mib(bytes, 0)} MiB)`,
    };
  }

  #checkInput(x: Tensor): void {
    const [c, h, w] = this.config.inputShape;
    if (x.shape.length !== 4 || x.shape[1] !== c || x.shape[2] !== h || x.shape[3] !== w) {
      throw new TypeError(
        `Cannot encode: expected input [N, ${c}, ${h}, ${w}]: found [${x.shape}]`,
      );
    }
  }
}
