/**
 * Typed dispatchers for the WGSL kernels in `kernels/`: one function per
 * kernel entry, taking buffer slices and shapes, validating them and computing
 * the grid. They record into the runtime's current command buffer; nothing is
 * submitted here.
 *
 * @module
 */
import { convPackDef, MAX_PACK_JOBS, packCache, type PackLayout, recordPacks } from "./packs.ts";
import {
  MAX_SPLIT_JOBS,
  partialsLimit,
  splitSumJobsDef,
  type SplitSums,
  splitSums,
} from "./split_sums.ts";
import {
  type BufRef,
  type GpuRuntime,
  type KernelDef,
  loadSource,
  type Param,
  textureFits,
} from "./runtime.ts";
import { sha256Hex } from "../util/hash.ts";

const WG = 64;
const groups = (invocations: number) => Math.ceil(invocations / WG);

/**
 * The most iterations one invocation's loops may run, by the sizes the host chooses (rows per
 * split-K chunk, partials per lane, K per matmul split). Mesa's llvmpipe and lavapipe (gallivm)
 * end a shader invocation's loops after 65,535 iterations, counted over all its loops
 * together, and return what was summed so far, with no error: a bias gradient summing 71,200
 * partials in one lane came out 8 % low, a weight gradient over a 70,000-pixel row and a
 * 70,000-long scalar dot product far off (tests/gpu/loop_limit_test.ts). A quarter of that
 * leaves room for a kernel's other loops; on GPUs it only adds parallel work where a
 * reduction was that long.
 */
export const SERIAL_MAX = 16384;

/**
 * Lanes per output of a split-K sum of `splits` partials: the largest power of two up to the
 * active tuning's `splitLanes` that leaves each lane at least 4 partials, and more (up to 64)
 * where a lane would otherwise loop over more than {@linkcode SERIAL_MAX} partials.
 *
 * @throws {RangeError} when even 64 lanes would (more than 2^20 partials per output).
 */
function splitLanes(splits: number): number {
  const most = Math.min(64, tuningValue(active, "splitLanes"));
  let lanes = 1;
  while (lanes * 2 <= most && lanes * 8 <= splits) lanes *= 2;
  while (lanes < 64 && Math.ceil(splits / lanes) > SERIAL_MAX) lanes *= 2;
  if (Math.ceil(splits / lanes) > SERIAL_MAX) {
    throw new RangeError(
      `Cannot sum ${splits} partials per output: at most ${64 * SERIAL_MAX} (64 lanes of ` +
        `${SERIAL_MAX}, the loop one invocation may run: see SERIAL_MAX)`,
    );
  }
  return lanes;
}

/** Every kernel entry, by name. */
export const KERNELS = {
  /** conv2d as an implicit GEMM through workgroup memory, for GPUs (tuning `convGemm`). */
  conv2dGemm: {
    name: "conv2d_gemm",
    file: "conv2d_gemm.wgsl",
    storage: ["read", "read", "read", "rw"],
    workgroupSize: WG,
  },
  biasGrad: {
    name: "bias_grad",
    file: "bias_grad.wgsl",
    storage: ["read", "read", "rw", "rw"],
    workgroupSize: WG,
  },
  biasGradRows: {
    name: "bias_grad_rows",
    file: "bias_grad.wgsl",
    entry: "rows",
    storage: ["read", "read", "rw", "rw"],
    workgroupSize: WG,
  },
  /** conv_weight_grad with 4 × 4 channels per invocation (see {@linkcode convWeightGradDef}). */
  convWeightGrad: {
    name: "conv_weight_grad",
    file: "conv_weight_grad.wgsl",
    storage: ["read", "read", "rw"],
    workgroupSize: WG,
    defines: { TQ: 1, TC: 1, TQ4: 4, JT: 1, XT: 0 },
  },
  matmulTiled: {
    name: "matmul_tiled",
    file: "matmul.wgsl",
    entry: "tiled",
    storage: ["read", "read", "read", "rw"],
    workgroupSize: WG,
    defines: { XT: 0, SB: 1, VA: 0, TM: 4, TN4: 1 },
  },
  matmulBlocked: {
    name: "matmul_blocked",
    file: "matmul.wgsl",
    entry: "blocked",
    storage: ["read", "read", "read", "rw"],
    workgroupSize: WG,
    defines: { XT: 0, SB: 1, VA: 0, TM: 4, TN4: 1 },
  },
  leaky: {
    name: "leaky",
    file: "elementwise.wgsl",
    entry: "leaky",
    storage: ["read", "rw"],
    workgroupSize: WG,
    defines: { V4: 0 },
  },
  scale: {
    name: "scale",
    file: "elementwise.wgsl",
    entry: "scale",
    storage: ["read", "rw"],
    workgroupSize: WG,
    defines: { V4: 0 },
  },
  crop: {
    name: "crop",
    file: "elementwise.wgsl",
    entry: "crop",
    storage: ["read", "rw"],
    workgroupSize: WG,
    defines: { V4: 0 },
  },
  cropGrad: {
    name: "crop_grad",
    file: "elementwise.wgsl",
    entry: "crop_grad",
    storage: ["read", "rw"],
    workgroupSize: WG,
    defines: { V4: 0 },
  },
  leakyGrad: {
    name: "leaky_grad",
    file: "elementwise3.wgsl",
    entry: "leaky_grad",
    storage: ["read", "read", "rw"],
    workgroupSize: WG,
    defines: { V4: 0 },
  },
  axpby: {
    name: "axpby",
    file: "elementwise3.wgsl",
    entry: "axpby",
    storage: ["read", "read", "rw"],
    workgroupSize: WG,
    defines: { V4: 0 },
  },
  fill: {
    name: "fill",
    file: "elementwise3.wgsl",
    entry: "fill",
    storage: [null, null, "rw"],
    workgroupSize: WG,
    defines: { V4: 0 },
  },
  mseGrad: {
    name: "mse_grad",
    file: "mse.wgsl",
    entry: "main",
    storage: ["read", "read", "read", "rw"],
    workgroupSize: WG,
  },
  broadcast: {
    name: "broadcast",
    file: "mse.wgsl",
    entry: "broadcast",
    storage: [null, null, "read", "rw"],
    workgroupSize: WG,
  },
  cropSqdiff: {
    name: "crop_sqdiff",
    file: "mse.wgsl",
    entry: "crop_sqdiff",
    storage: ["read", "read", null, "rw"],
    workgroupSize: WG,
  },
  cropMseGrad: {
    name: "crop_mse_grad",
    file: "mse.wgsl",
    entry: "crop_mse_grad",
    storage: ["read", "read", "read", "rw"],
    workgroupSize: WG,
  },
  cropMseGradAct: {
    name: "crop_mse_grad_act",
    file: "mse.wgsl",
    entry: "crop_mse_grad_act",
    storage: ["read", "read", "read", "rw", "rw"],
    workgroupSize: WG,
  },
  splitSum: {
    name: "split_sum",
    file: "reduce.wgsl",
    entry: "split_sum",
    storage: ["read", null, "rw"],
    workgroupSize: WG,
  },
  splitSumAct: {
    name: "split_sum_act",
    file: "reduce.wgsl",
    entry: "split_sum_act",
    storage: ["read", "read", "rw"],
    workgroupSize: WG,
  },
  sumPartial: {
    name: "sum_partial",
    file: "reduce.wgsl",
    entry: "sum_partial",
    storage: ["read", null, "rw"],
    workgroupSize: WG,
  },
  sqdiffPartial: {
    name: "sqdiff_partial",
    file: "reduce.wgsl",
    entry: "sqdiff_partial",
    storage: ["read", "read", "rw"],
    workgroupSize: WG,
  },
  finish: {
    name: "finish",
    file: "reduce.wgsl",
    entry: "finish",
    storage: ["read", null, "rw"],
    workgroupSize: WG,
  },
  softAssign: {
    name: "soft_assign",
    file: "dec.wgsl",
    entry: "soft_assign",
    storage: ["read", "read", null, null, null, "rw"],
    workgroupSize: WG,
  },
  colSum: {
    name: "col_sum",
    file: "dec.wgsl",
    entry: "col_sum",
    storage: [null, null, null, "read", null, "rw"],
    workgroupSize: WG,
  },
  target: {
    name: "target",
    file: "dec.wgsl",
    entry: "target_dist",
    storage: [null, null, "read", "read", null, "rw"],
    workgroupSize: WG,
  },
  klRows: {
    name: "kl_rows",
    file: "dec.wgsl",
    entry: "kl_rows",
    storage: [null, null, "read", "read", null, "rw"],
    workgroupSize: WG,
  },
  klCoef: {
    name: "kl_coef",
    file: "dec.wgsl",
    entry: "kl_coef",
    storage: ["read", "read", "read", "read", null, "rw"],
    workgroupSize: WG,
  },
  klGradZ: {
    name: "kl_grad_z",
    file: "dec.wgsl",
    entry: "grad_z",
    storage: ["read", "read", "read", null, "read", "rw"],
    workgroupSize: WG,
  },
  klGradMu: {
    name: "kl_grad_mu",
    file: "dec.wgsl",
    entry: "grad_mu",
    storage: ["read", "read", "read", null, "read", "rw"],
    workgroupSize: WG,
  },
  adam: {
    name: "adam",
    file: "optim.wgsl",
    entry: "adam",
    storage: ["read", "rw", "rw", "rw"],
    workgroupSize: WG,
  },
  sgd: {
    name: "sgd",
    file: "optim.wgsl",
    entry: "sgd",
    storage: ["read", "rw", "rw", null],
    workgroupSize: WG,
  },
} satisfies Record<string, KernelDef>;

/**
 * conv_weight_grad with `tq` quads of output channels × `tc` quads of input channels × `jt`
 * column taps per invocation (one pipeline per triple).
 *
 * @param tq Output-channel quads per invocation.
 * @param tc Input-channel quads per invocation (default 1).
 * @param jt Column taps per invocation, sharing each gy load (default 1).
 * @param textureInputs Read x and gy from textures (`textureInputs`; kernels/_x_input.wgsl).
 * @returns the kernel definition.
 */
export function convWeightGradDef(tq: number, tc = 1, jt = 1, textureInputs = false): KernelDef {
  return {
    name: "conv_weight_grad",
    file: "conv_weight_grad.wgsl",
    storage: textureInputs ? ["texture", "texture", "rw"] : ["read", "read", "rw"],
    workgroupSize: WG,
    defines: { TQ: tq, TC: tc, TQ4: 4 * tq, JT: jt, XT: textureInputs ? 1 : 0 },
  };
}

/**
 * Column taps per invocation of conv_weight_grad: 3 where the input-channel tile is narrow
 * (at most 8 channels), so that one gy load feeds 3 taps; 1 elsewhere, where the tile's
 * accumulators would no longer fit (measured on llvmpipe: 0.74–0.81× for e1 and d4's weight
 * gradients with 3, 1.13–1.23× for the 16-channel tiles).
 *
 * @param tc Input-channel quads per invocation.
 * @param kw Kernel width.
 * @returns the taps per invocation.
 */
export function weightGradTaps(tc: number, kw: number): number {
  return tc <= 2 && kw >= 3 ? 3 : 1;
}

/**
 * conv_weight_grad_row (3 kh × 3 kw taps × 4·`tq` co × `cit` ci per invocation), used for
 * layers with fewer than 4 input channels.
 *
 * @param cit Input channels per invocation.
 * @param tq Output-channel quads per invocation (default 1).
 * @param textureInputs Read x and gy from textures (`textureInputs`; kernels/_x_input.wgsl).
 * @returns the kernel definition.
 */
export function convWeightGradRowDef(cit: number, tq = 1, textureInputs = false): KernelDef {
  return {
    name: "conv_weight_grad_row",
    file: "conv_weight_grad_row.wgsl",
    storage: textureInputs ? ["texture", "texture", "rw"] : ["read", "read", "rw"],
    workgroupSize: WG,
    defines: { CIT: cit, TQ: tq, XT: textureInputs ? 1 : 0 },
  };
}

/** Adapter-dependent choices, measured rather than assumed (see bench/). */
export interface Tuning {
  /** Matmul entry: "tiled" (workgroup memory) or "blocked" (registers only). */
  matmul: "tiled" | "blocked";
  /** Invocations a split-K reduction aims for: enough to fill the adapter. */
  splitTarget: number;
  /** Rows of C per invocation of the `blocked` matmul (default 4). */
  matmulRows?: number;
  /** Columns of C per invocation of the `blocked` matmul, a multiple of 4 (default 4). */
  matmulCols?: number;
  /**
   * The `blocked` matmul reads A and B as vec4s from storage where neither is transposed and
   * K and N are multiples of 4 (default true; for the other layouts it reads scalars, from
   * textures with `textureInputs`). On llvmpipe a 1024³ product ran at 8.1 GFLOP/s this way
   * against 2.3 with scalar texture loads (4 × 4 blocks; 17.7 against 5.5–7.8 with larger
   * blocks, see kernels/matmul.wgsl).
   */
  matmulVec4?: boolean;
  /**
   * Output channels per invocation in conv2d, a multiple of 4 (4 × the TQ define of
   * conv2d.wgsl); layers with fewer channels take more pixels instead (see {@linkcode convTiles}).
   */
  convTile: number;
  /** Output pixels per invocation in conv2d (default 4). */
  convPixels?: number;
  /** Output positions per invocation in conv_transpose2d (default convPixels). */
  convTransposePixels?: number;
  /** Channel quads per invocation, for both co and ci, in conv_weight_grad (default 2). */
  weightGradTile?: number;
  /** Output-channel (co) quads per invocation in conv_weight_grad (default weightGradTile). */
  weightGradCoTile?: number;
  /**
   * Transposed convs with few output channels (see convTransposePhaseChannels) and
   * sh·sw <= 4 run conv_transpose2d_phase.wgsl, vectorised over output phases (default true).
   */
  convTransposePhase?: boolean;
  /** The most output channels a transposed conv may have to run the phase kernel (default 3). */
  convTransposePhaseChannels?: number;
  /**
   * CPU threads a software adapter spreads workgroups over. When set, a conv dispatch with
   * few workgroups per thread may take a smaller pixel tile that evens out the threads' work
   * (see {@linkcode balancedPixels}); unset (GPUs): the tile is used as it is.
   */
  balanceThreads?: number;
  /**
   * Output channels per invocation in conv_transpose2d, a multiple of 4 (default 4; see
   * {@linkcode defaultTuning} for what llvmpipe measured).
   */
  convTransposeTile?: number;
  /**
   * conv2d writes vec4s of 4 pixels where the output plane's size is a multiple of 4
   * (default true).
   */
  convVectorStores?: boolean;
  /**
   * conv2d tiles its output by patches of rows × columns of one image ({@linkcode patchTile})
   * instead of runs of consecutive pixels, so that neighbouring pixels' taps share their input
   * loads; it then stores scalars (`convVectorStores` gives way). Default false: on llvmpipe
   * an encoder pass at batch 256 took 132–134 ms against 112–116 ms flat (e0–e2 gain, e4 with
   * 5 uniform weight chunks takes 47 against 20 ms), and each patch pipeline unrolls KH·KW
   * times as much code as a flat one (0.45–5.6 s each to create there); for GPUs, where it
   * is not yet measured, it is an A/B in bench/gpu.
   */
  convPatch?: boolean;
  /**
   * Patch tiles (as `convPatch`) for the conv2d layers with one input channel only: e0's
   * forward and the input gradient of a decoder's last layer, where an x value loaded feeds few
   * FMAs, so the loads the patch saves weigh most, and the pipeline stays small (one channel:
   * no chunked channel loop). Default false; software adapters true (see defaultTuning).
   */
  convPatchOneChannel?: boolean;
  /**
   * conv2d forward (no gradient epilogue) runs as an implicit GEMM through workgroup memory
   * (kernels/conv2d_gemm.wgsl: 64 pixels × 16 channels per workgroup, 16 values of
   * Ci·KH·KW per step, the weight read unpacked) instead of the direct kernel (default false:
   * written for GPUs, where tiles staged in workgroup memory are the usual way to feed a
   * convolution, and not yet measured on one; on llvmpipe, where workgroup memory is ordinary
   * memory and barriers are costly, it is slower).
   */
  convGemm?: boolean;
  /** The most output pixels of a conv2d patch tile (`convPatch`; default 2 × convPixels). */
  convPatchPixels?: number;
  /**
   * Keep packed conv weights between dispatches and repack them, all in one dispatch, only
   * after their weights were written (lib/gpu/packs.ts; default true). Off: one packing
   * dispatch before every convolution.
   */
  packCache?: boolean;
  /**
   * Defer the split-K sums of weight and bias gradients and record them together, one
   * dispatch for a whole backward pass (lib/gpu/split_sums.ts; default true). Off: one
   * `split_sum` dispatch per gradient.
   */
  batchSplitSums?: boolean;
  /**
   * A conv's input gradient also does the backward of the leaky ReLU and bias of the layer
   * that produced its input, when that output feeds only the conv ({@linkcode ActGrad};
   * default true), in convs whose batch has at least `foldMinBatch` samples. Off: a bias_grad
   * pass (and dispatch) per layer.
   */
  foldActGrad?: boolean;
  /**
   * The least batch at which the convs fold (`foldActGrad`; default 1). The folded
   * input-gradient kernels are pipelines of their own, which software adapters compile on the
   * CPU (about 4 s for the seed autoencoder's 8 on llvmpipe, 30 s with a cold Mesa shader
   * cache), while the fold gains there only from batch 32–64 on: software adapters take 64.
   */
  foldMinBatch?: number;
  /**
   * The conv kernels read packed weights from uniform buffers instead of a storage buffer:
   * one of 64 KiB, or up to 5 chunks of whole input channels for a larger weight (default
   * false; see {@linkcode UNIFORM_WEIGHT_VEC4S} and {@linkcode weightBinding}).
   */
  uniformWeights?: boolean;
  /**
   * The conv kernels (conv2d, conv_transpose2d, conv_transpose2d_phase) read their input x from
   * a texture, copied from its buffer before each dispatch, instead of from a storage buffer
   * (kernels/_x_input.wgsl; an input too large for a texture is read from storage). On
   * llvmpipe a texel fetch is a vector gather and a storage load a per-lane loop (default
   * false).
   */
  textureInputs?: boolean;
  /**
   * The most invocations (a power of two ≤ 64) that add up one output of a split-K sum
   * (`split_sum` in reduce.wgsl), each taking every lanes-th partial; the dispatcher uses
   * fewer where there are fewer than 4 partials per lane (default 1: one serial sum per
   * output, as on llvmpipe).
   */
  splitLanes?: number;
  /**
   * The fewest output pixels (rows × Wo) a chunk of a split-K conv weight gradient sums
   * (default 1: the split target alone decides). Software adapters take 64: at small batches
   * the target split a layer into chunks of a few rows whose partials cost more to write and
   * add up than the chunks to compute (see {@linkcode weightGradSplits}).
   */
  splitMinPixels?: number;
  /**
   * Training and encoding steps kept in flight (submitted before the oldest result is read
   * back; see lib/util/pipeline.ts): enough to hide Deno's ~11 ms read-back latency behind
   * the GPU's work (default 1).
   */
  inFlight?: number;
  /**
   * Inference passes kept in flight by the loops that only encode or assign (validation,
   * `encode`, `init`, `cluster`, DEC's label checks; default inFlight). A pass holds little
   * besides its input batch, and each wait costs Deno ~10 ms however much it covers; on the
   * H100, 32 in flight encoded a batch of 256 in 0.75 ms against 1.10–1.46 ms with 16.
   */
  inferInFlight?: number;
  /**
   * Samples per pass in the loops that only encode or assign (`encode`, `cluster`, `init`,
   * DEC's label checks; default 256). Each pass costs a submit and a read-back besides its
   * kernels: on the H100 a pass of 256 ran about 0.3 ms of kernels in 0.75–1.1 ms, so larger
   * passes may pay off there (the `ab` step of bench/gpu/run.sh times 1024 and 4096); on
   * llvmpipe the kernels dominate and it changes nothing.
   */
  inferBatch?: number;
  /**
   * Read-backs call mapAsync from a later task (a zero timeout), after the caller has recorded
   * and submitted its next steps: Deno's mapAsync (and onSubmittedWorkDone) blocks the calling
   * thread until the GPU has finished the submitted work, so called at once it keeps the host
   * from recording while the GPU runs (default false).
   */
  deferMap?: boolean;
}

/** The kind of value each {@linkcode Tuning} field takes. */
export type TuningKinds = {
  [K in keyof Tuning]-?: Tuning[K] extends boolean | undefined ? "boolean"
    : Tuning[K] extends number | undefined ? "number"
    : "matmul";
};

/**
 * Every field of {@linkcode Tuning} with the kind of value it takes; the compiler checks that
 * every field is here and of its kind (SEISDEC_TUNING is read against this).
 */
export const TUNING_KINDS: TuningKinds = {
  matmul: "matmul",
  splitTarget: "number",
  matmulRows: "number",
  matmulCols: "number",
  matmulVec4: "boolean",
  convTile: "number",
  convPixels: "number",
  convTransposeTile: "number",
  convTransposePixels: "number",
  weightGradTile: "number",
  weightGradCoTile: "number",
  convTransposePhase: "boolean",
  convTransposePhaseChannels: "number",
  balanceThreads: "number",
  uniformWeights: "boolean",
  textureInputs: "boolean",
  convVectorStores: "boolean",
  convPatch: "boolean",
  convPatchOneChannel: "boolean",
  convGemm: "boolean",
  convPatchPixels: "number",
  packCache: "boolean",
  batchSplitSums: "boolean",
  foldActGrad: "boolean",
  foldMinBatch: "number",
  splitLanes: "number",
  splitMinPixels: "number",
  inFlight: "number",
  inferInFlight: "number",
  inferBatch: "number",
  deferMap: "boolean",
};

/** Samples per inference pass unless the tuning says otherwise (`inferBatch`). */
export const INFER_BATCH = 256;

/** A {@linkcode Tuning} field that has a value when a tuning leaves it out. */
export type ValuedField = Exclude<keyof Tuning, "balanceThreads">;

/**
 * What each field means when a tuning leaves it out: the defaults documented on
 * {@linkcode Tuning}, in one place for the dispatchers and the tuning search.
 */
const FALLBACKS: { [K in ValuedField]-?: (t: Tuning) => NonNullable<Tuning[K]> } = {
  matmul: (t) => t.matmul,
  splitTarget: (t) => t.splitTarget,
  matmulRows: () => 4,
  matmulCols: () => 4,
  matmulVec4: () => true,
  convTile: (t) => t.convTile,
  convPixels: () => 4,
  convTransposeTile: () => 4,
  convTransposePixels: (t) => tuningValue(t, "convPixels"),
  weightGradTile: () => 2,
  weightGradCoTile: (t) => tuningValue(t, "weightGradTile"),
  convTransposePhase: () => true,
  convTransposePhaseChannels: () => 3,
  uniformWeights: () => false,
  textureInputs: () => false,
  convVectorStores: () => true,
  convPatch: () => false,
  convPatchOneChannel: () => false,
  convGemm: () => false,
  convPatchPixels: (t) => 2 * tuningValue(t, "convPixels"),
  packCache: () => true,
  batchSplitSums: () => true,
  foldActGrad: () => true,
  foldMinBatch: () => 1,
  splitLanes: () => 1,
  splitMinPixels: () => 1,
  inFlight: () => 1,
  inferInFlight: (t) => tuningValue(t, "inFlight"),
  inferBatch: () => INFER_BATCH,
  deferMap: () => false,
};

/**
 * The value a field takes in a tuning: its own, else what leaving it out means.
 *
 * @param t A tuning.
 * @param f A field.
 * @returns the value in force.
 * @example
 * ```ts
 * import { tuningValue } from "./kernels.ts";
 * const t = { matmul: "tiled" as const, splitTarget: 512, convTile: 8, convPixels: 2 };
 * if (tuningValue(t, "convTransposePixels") !== 2 || tuningValue(t, "packCache") !== true) {
 *   throw new Error();
 * }
 * ```
 */
export function tuningValue<K extends ValuedField>(t: Tuning, f: K): NonNullable<Tuning[K]> {
  return (t[f] ?? FALLBACKS[f](t)) as NonNullable<Tuning[K]>;
}

/** Every field of {@linkcode Tuning}. */
export const TUNING_FIELDS = Object.keys(TUNING_KINDS) as (keyof Tuning)[];

/**
 * conv2d with `tc` output channels × `tp` pixels per invocation (one pipeline per pair).
 *
 * @param tc Channel tile, a multiple of 4.
 * @param tp Pixel tile.
 * @param vectorStores Write y as vec4s of 4 pixels (needs tp and Ho·Wo multiples of 4).
 * @param weights Where the packed weight is read from ({@linkcode weightBinding}; default
 *   storage).
 * @param gradMask The gradient epilogue ({@linkcode ActGrad}): mask by binding 3, bias partials
 *   to binding 5.
 * @param textureInput Read x from a texture (`textureInputs`; kernels/_x_input.wgsl).
 * @param maskTexture With gradMask, read the mask source m from a texture too
 *   (kernels/_b_input.wgsl).
 * @param patch Patch tiles ({@linkcode PatchTile}, `convPatch`) of rows × columns pixels, in
 *   place of `tp`; null: `tp` consecutive pixels of the flattened (n, oh, ow) index.
 * @returns the kernel definition.
 */
export function conv2dDef(
  tc: number,
  tp = 4,
  vectorStores = false,
  weights: WeightBinding = STORAGE_WEIGHTS,
  gradMask = false,
  textureInput = false,
  maskTexture = false,
  patch: PatchTile | null = null,
): KernelDef {
  if (patch && vectorStores) {
    throw new RangeError("Cannot build conv2d: patch tiles store scalars, not vec4s");
  }
  if (patch) tp = patch.tr * patch.tc;
  if (vectorStores && tp % 4 !== 0) {
    throw new RangeError(
      `Cannot build conv2d: vector stores need a pixel tile that is a multiple of 4: found ${tp}`,
    );
  }
  if (vectorStores && gradMask) {
    throw new RangeError("Cannot build conv2d: the gradient epilogue stores scalars, not vec4s");
  }
  return {
    name: "conv2d",
    file: "conv2d.wgsl",
    storage: convStorage(weights.chunks, gradMask, textureInput, gradMask && maskTexture),
    workgroupSize: WG,
    defines: {
      TP: tp,
      TQ: Math.max(1, Math.round(tc / 4)),
      VS: vectorStores ? 1 : 0,
      TP4: vectorStores ? tp / 4 : 0,
      ...weightDefines(weights),
      GM: gradMask ? 1 : 0,
      SE: vectorStores || gradMask ? 0 : 1,
      XT: textureInput ? 1 : 0,
      MT: gradMask && maskTexture ? 1 : 0,
      PT: patch ? 1 : 0,
      ...(patch
        ? {
          TR: patch.tr,
          TC: patch.tc,
          KH: patch.kh,
          KW: patch.kw,
          SH: patch.sh,
          SW: patch.sw,
          PH: (patch.tr - 1) * patch.sh + patch.kh,
          PW: (patch.tc - 1) * patch.sw + patch.kw,
          KK: patch.kh * patch.kw,
        }
        : {}),
    },
  };
}

/**
 * A conv2d patch tile (`convPatch`): `tr` × `tc` output pixels of one image, for a kernel of
 * `kh` × `kw` taps at strides `sh`, `sw` (compile-time in the pipeline). Per input channel the
 * tile loads its input patch, ((tr − 1)·sh + kh) × ((tc − 1)·sw + kw) values, each once, where
 * a flat tile loads kh·kw per pixel: for the seed's k3 s2 layers 9 × 13 = 117 loads for 4 × 6
 * pixels against 216.
 */
export interface PatchTile {
  tr: number;
  tc: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
}

/**
 * The patch tile of a conv2d layer (`convPatch`): of the shapes of at most `tp` pixels (rows ≤
 * Ho, columns ≤ Wo), the one with the least estimated cost per image, tiles × (patch loads +
 * weight loads + FMAs / 4), where the tiles cover the output plane (the last row and column of
 * tiles may overhang it, their FMAs wasted) and a weight vec4 or 4 vec4 FMAs cost about one
 * input load. Among equal costs the first found wins (fewer rows).
 *
 * @param g Geometry of the layer.
 * @param tp The most pixels per tile.
 * @param tq Channel quads per invocation.
 * @returns the tile.
 * @example
 * ```ts
 * import { patchTile } from "./kernels.ts";
 * // The seed's e3 (output 6 × 5, k3 s2) with 8 channel quads and up to 16 pixels: 3 × 5.
 * const g = { n: 64, ci: 32, h: 11, w: 9, co: 64, ho: 6, wo: 5, kh: 3, kw: 3 };
 * const t = patchTile({ ...g, stride: [2, 2], padding: [1, 1] }, 16, 8);
 * if (t.tr !== 3 || t.tc !== 5) throw new Error(`${t.tr}×${t.tc}`);
 * ```
 */
export function patchTile(g: ConvGeom, tp: number, tq: number): PatchTile {
  const [sh, sw] = g.stride;
  let best = { tr: 1, tc: 1, cost: Infinity };
  for (let tr = 1; tr <= Math.min(tp, g.ho); tr++) {
    for (let tc = Math.min(g.wo, Math.floor(tp / tr)); tc >= 1; tc--) {
      const tiles = Math.ceil(g.ho / tr) * Math.ceil(g.wo / tc);
      const loads = ((tr - 1) * sh + g.kh) * ((tc - 1) * sw + g.kw);
      const cost = tiles * (loads + g.kh * g.kw * tq * (1 + tr * tc / 4));
      if (cost < best.cost) best = { tr, tc, cost };
    }
  }
  return { tr: best.tr, tc: best.tc, kh: g.kh, kw: g.kw, sh, sw };
}

/**
 * conv_transpose2d with `tc` output channels × `tp` output positions per invocation (one
 * pipeline per pair).
 *
 * @param tc Channel tile, a multiple of 4.
 * @param tp Position tile.
 * @param weights Where the packed weight is read from ({@linkcode weightBinding}; default
 *   storage).
 * @param gradMask The gradient epilogue ({@linkcode ActGrad}): mask by binding 3, bias partials
 *   to binding 5.
 * @param textureInput Read x from a texture (`textureInputs`; kernels/_x_input.wgsl).
 * @param maskTexture With gradMask, read the mask source m from a texture too
 *   (kernels/_b_input.wgsl).
 * @returns the kernel definition.
 */
export function convTranspose2dDef(
  tc: number,
  tp = 4,
  weights: WeightBinding = STORAGE_WEIGHTS,
  gradMask = false,
  textureInput = false,
  maskTexture = false,
): KernelDef {
  return {
    name: "conv_transpose2d",
    file: "conv_transpose2d.wgsl",
    storage: convStorage(weights.chunks, gradMask, textureInput, gradMask && maskTexture),
    workgroupSize: WG,
    defines: {
      TP: tp,
      TQ: Math.max(1, Math.round(tc / 4)),
      ...weightDefines(weights),
      GM: gradMask ? 1 : 0,
      XT: textureInput ? 1 : 0,
      MT: gradMask && maskTexture ? 1 : 0,
    },
  };
}

/**
 * Where a conv kernel (conv2d.wgsl, conv_transpose2d.wgsl) reads its packed weight from.
 * `chunks` 0: a storage buffer. Otherwise uniform buffers of 64 KiB (bindings 2, then 6, 7, …),
 * which llvmpipe reads far more cheaply: one for a weight that fits, else `chunks` of
 * `perChunk` input channels each (each chunk a slice of the packed weight; 0 for one chunk).
 */
export interface WeightBinding {
  chunks: number;
  perChunk: number;
}

/** Packed weights read from a storage buffer. */
export const STORAGE_WEIGHTS: WeightBinding = { chunks: 0, perChunk: 0 };

/** The most uniform chunks a conv's packed weight is split into (bindings 2 and 6–9). */
export const MAX_UNIFORM_CHUNKS = 5;

/** The defines UW, NU, CPU and NU2..NU5 of a weight binding. */
function weightDefines(wb: WeightBinding): Record<string, number> {
  const nu = Math.max(1, wb.chunks);
  const d: Record<string, number> = {
    UW: wb.chunks > 0 ? 1 : 0,
    NU: nu,
    // One chunk takes every channel: one constant, so that layers share the pipeline.
    CPU: nu > 1 ? wb.perChunk : 0x40000000,
  };
  for (let k = 2; k <= MAX_UNIFORM_CHUNKS; k++) d[`NU${k}`] = nu >= k ? 1 : 0;
  return d;
}

/**
 * Bindings 1– of a conv kernel: x (from storage, or a texture), the packed weight (its first
 * chunk), bias (or m, from storage or a texture), y, part with GM (nothing at binding 5 otherwise), then the weight's
 * further uniform chunks.
 */
function convStorage(
  chunks: number,
  gradMask: boolean,
  texture: boolean,
  maskTexture = false,
): KernelDef["storage"] {
  const s: KernelDef["storage"] = [
    texture ? "texture" : "read",
    chunks > 0 ? "uniform" : "read",
    maskTexture ? "texture" : "read",
    "rw",
  ];
  if (gradMask || chunks > 1) s.push(gradMask ? "rw" : null);
  for (let k = 1; k < chunks; k++) s.push("uniform");
  return s;
}

/**
 * conv_transpose2d_phase for `b` (< 4) output channels × `tp` block positions per invocation.
 *
 * @param b Output channels of the layer.
 * @param tp Block positions per invocation.
 * @param uniformWeights Read the packed weight from a 64 KiB uniform buffer (it must fit).
 * @param gradMask The gradient epilogue ({@linkcode ActGrad}): mask by binding 3, bias partials
 *   to binding 5.
 * @param textureInput Read x from a texture (`textureInputs`; kernels/_x_input.wgsl).
 * @param maskTexture With gradMask, read the mask source m from a texture too
 *   (kernels/_b_input.wgsl).
 * @returns the kernel definition.
 */
export function convTranspose2dPhaseDef(
  b: number,
  tp: number,
  uniformWeights = false,
  gradMask = false,
  textureInput = false,
  maskTexture = false,
): KernelDef {
  return {
    name: "conv_transpose2d_phase",
    file: "conv_transpose2d_phase.wgsl",
    storage: convStorage(uniformWeights ? 1 : 0, gradMask, textureInput, gradMask && maskTexture),
    workgroupSize: WG,
    defines: {
      TP: tp,
      TB: b,
      UW: uniformWeights ? 1 : 0,
      GM: gradMask ? 1 : 0,
      XT: textureInput ? 1 : 0,
      MT: gradMask && maskTexture ? 1 : 0,
    },
  };
}

/** Block positions per invocation of conv_transpose2d_phase for `b` output channels. */
function phaseTile(b: number): number {
  return b === 2 || b === 3 ? 8 : 16;
}

/**
 * The input window of conv_transpose2d_phase along one axis: first offset and length.
 *
 * @param k Kernel size.
 * @param s Stride.
 * @param p Padding.
 * @returns [d0, length].
 */
export function phaseWindow(k: number, s: number, p: number): [number, number] {
  const d0 = Math.ceil((p - k + 1) / s) || 0; // no -0
  return [d0, Math.floor((s - 1 + p) / s) - d0 + 1];
}

/**
 * The conv2d tile for a layer: `tc` channels (rounded up to 4) × `tp` pixels, narrowed to
 * the layer's channels, with the pixels widened in proportion (up to 2·tp) so that an
 * invocation keeps about the same work.
 *
 * @param tc Channel tile of the tuning.
 * @param co Output channels of the layer.
 * @param tp Pixel tile of the tuning.
 * @returns [channels, pixels] per invocation.
 */
export function convTiles(tc: number, co: number, tp = 4): [number, number] {
  const tq = Math.max(1, Math.round(tc / 4));
  const q = Math.min(tq, Math.ceil(co / 4));
  return [4 * q, Math.min(2 * tp, tp * Math.ceil(tq / q))];
}

/**
 * The pixel (or position) tile for a conv dispatch on a software adapter, where each CPU
 * thread runs whole workgroups one after another and a workgroup of 64 invocations costs
 * about its number of busy 8-lane SIMD groups × the tile's cost. With only a few workgroups
 * per thread, the last ones can leave a thread idle: the seed's e4 at batch 64 (12 pixels per
 * invocation) makes 3 workgroups for 2 threads. This tries `tp`, ¾·`tp` and ½·`tp` and keeps
 * the one with the shortest estimated run: the busiest thread's SIMD groups × (tile + `tq`),
 * the per-invocation loads of a tile of that many pixels × `tq` channel quads (each load,
 * a per-lane loop on llvmpipe, costs far more than an FMA). On e4 that picks 9 pixels
 * (4 workgroups), 0.84× as long as 12; 6 pixels (6 workgroups) measured 1.02×, as the model
 * predicts. A dispatch with fewer workgroups than threads, or 8 or more per thread, keeps `tp`.
 *
 * @param positions Pixels (or block positions) to cover.
 * @param tp The tuning's tile.
 * @param tq Channel quads (or channels) per invocation.
 * @param perTile Invocations per pixel tile (channel tiles × phases).
 * @param threads The adapter's CPU threads (1 where the tuning sets none, as on GPUs: `tp` stays).
 * @returns the tile to use.
 */
export function balancedPixels(
  positions: number,
  tp: number,
  tq: number,
  perTile: number,
  threads: number,
): number {
  const workgroups = (t: number) => Math.ceil(Math.ceil(positions / t) * perTile / WG);
  const w0 = workgroups(tp);
  if (threads < 2 || w0 < threads || w0 >= 8 * threads) return tp;
  const cost = (t: number): number => {
    const inv = Math.ceil(positions / t) * perTile;
    const load = new Array<number>(threads).fill(0);
    for (let i = 0; i * WG < inv; i++) {
      let k = 0;
      for (let j = 1; j < threads; j++) if (load[j] < load[k]) k = j;
      load[k] += Math.ceil(Math.min(WG, inv - i * WG) / 8);
    }
    return Math.max(...load) * (t + tq);
  };
  let best = tp;
  let bestCost = cost(tp);
  for (const t of [Math.round(tp * 3 / 4), Math.round(tp / 2)]) {
    const c = t >= 2 ? cost(t) : Infinity;
    if (c < bestCost) [best, bestCost] = [t, c];
  }
  return best;
}

let active: Tuning = { matmul: "blocked", splitTarget: 2048, convTile: 16 };

/** @returns the tuning the dispatchers use by default. */
export function activeTuning(): Tuning {
  return active;
}

/**
 * Every kernel definition start-up may compile for a tuning: the fixed kernels and the tile
 * variants the seed autoencoder's channel counts (4–128) ask for. The wider phase tiles (4–8
 * channels on software adapters, 0.4–1.3 s each to compile on llvmpipe) are left out; like
 * any other variant they compile when first dispatched.
 *
 * @param tuning Adapter choices.
 * @returns the definitions (some share a pipeline key; the runtime compiles each key once).
 */
export function kernelDefs(tuning: Tuning): KernelDef[] {
  // The gradient-epilogue (GM) variants, where the tuning folds the leaky backward.
  const gm = (def: () => KernelDef): KernelDef[] =>
    tuningValue(tuning, "foldActGrad") ? [def()] : [];
  const xt = tuningValue(tuning, "textureInputs");
  return [
    ...Object.values(KERNELS).map((k) => k as KernelDef),
    ...[KERNELS.leaky, KERNELS.scale, KERNELS.leakyGrad, KERNELS.axpby, KERNELS.fill].map((k) =>
      elementwiseDef(k, true)
    ),
    ...(xt ? [matmulDef(true, true), matmulDef(false, true, matmulBlock(tuning))] : []),
    ...(tuningValue(tuning, "matmulVec4")
      ? [matmulDef(false, false, matmulBlock(tuning), true)]
      : []),
    convPackDef(1),
    convPackDef(MAX_PACK_JOBS),
    splitSumJobsDef(1),
    splitSumJobsDef(MAX_SPLIT_JOBS),
    convWeightGradRowDef(1, 1, xt),
    convWeightGradRowDef(1, 2, xt),
    ...[1, 2, 3].map((b) =>
      convTranspose2dPhaseDef(b, phaseTile(b), tuningValue(tuning, "uniformWeights"), false, xt)
    ),
    ...[4, 8, 16, 32, 64, 128].flatMap((co) =>
      [4, 8, 16, 32, 64].map((ci) => {
        const [tq, tc] = weightGradTiles(co, ci);
        return convWeightGradDef(tq, tc, weightGradTaps(tc, 3), xt);
      })
    ),
    ...[4, 8, 16, 32, 64].map((co) =>
      convTiles(tuning.convTile, co, tuningValue(tuning, "convPixels"))
    )
      .flatMap((
        [tc, tp],
      ) => [
        conv2dDef(tc, tp, false, STORAGE_WEIGHTS, false, xt),
        ...gm(() => conv2dDef(tc, tp, false, STORAGE_WEIGHTS, true, xt, xt)),
      ]),
    ...[4, 8, 16, 32, 64].map((co) =>
      convTiles(
        tuningValue(tuning, "convTransposeTile"),
        co,
        tuningValue(tuning, "convTransposePixels"),
      )
    ).flatMap((
      [tc, tp],
    ) => [
      convTranspose2dDef(tc, tp, STORAGE_WEIGHTS, false, xt),
      ...gm(() => convTranspose2dDef(tc, tp, STORAGE_WEIGHTS, true, xt, xt)),
    ]),
    // The gradient epilogue's phase variant for 1–3 channels (e0's input gradient).
    ...[1, 2, 3].flatMap((b) =>
      gm(() =>
        convTranspose2dPhaseDef(
          b,
          phaseTile(b),
          tuningValue(tuning, "uniformWeights"),
          true,
          xt,
          xt,
        )
      )
    ),
  ];
}

/**
 * A digest of the WGSL that seisdec compiles: every kernel file either adapter kind's default
 * tuning uses, with its fragments included. A stored tuning records it (`cli.ts tune`), so that
 * `cli.ts info` can say when the kernels changed since it was measured: the tuning still applies
 * (its fields are checked as any other), but it was chosen for other code.
 *
 * @returns 16 hex digits.
 * @example
 * ```ts
 * import { kernelsDigest } from "./kernels.ts";
 * const d = await kernelsDigest();
 * if (!/^[0-9a-f]{16}$/.test(d)) throw new Error(d);
 * ```
 */
export async function kernelsDigest(): Promise<string> {
  const files = [
    ...new Set([true, false].flatMap((f) => kernelDefs(defaultTuning(f)).map((d) => d.file))),
  ].sort();
  const texts = await Promise.all(files.map((f) => loadSource(f)));
  return (await sha256Hex(files.map((f, i) => `${f}\0${texts[i]}`).join("\0"))).slice(0, 16);
}

/**
 * Loads every kernel file's source and makes a tuning the dispatchers' default, compiling
 * nothing: each kernel (any tile variant included) then compiles, synchronously, at its first
 * dispatch. This is what {@linkcode initBackend} does, so a process pays only for the kernels
 * it runs: on llvmpipe compiling everything takes about 3 s, most of it tile variants a given
 * model never uses. A WGSL error in a kernel compiled this way surfaces at the next submit.
 *
 * @param rt The runtime.
 * @param tuning Adapter choices (default: the active tuning).
 */
export async function loadKernels(rt: GpuRuntime, tuning: Tuning = active): Promise<void> {
  active = tuning;
  const byFile = new Map(kernelDefs(tuning).map((d) => [d.file, d]));
  await Promise.all([...byFile.values()].map((d) => rt.load(d)));
}

/**
 * Compiles every kernel for a tuning (each once; the runtime caches pipelines) and makes
 * that tuning the dispatchers' default. Compiling up front, inside error scopes, reports a
 * WGSL error with the kernel's name before any work starts (`cli.ts info --kernels`).
 *
 * @param rt The runtime.
 * @param tuning Adapter choices (default: the active tuning).
 */
export async function compileAll(rt: GpuRuntime, tuning: Tuning = active): Promise<void> {
  active = tuning;
  await Promise.all(kernelDefs(tuning).map((d) => rt.compile(d)));
}

/**
 * Picks the tuning for an adapter. Software adapters (llvmpipe) run one
 * workgroup per CPU thread with SIMD across invocations: workgroup memory is
 * plain memory there, so the register-blocked matmul wins, and a few workgroups
 * per thread already fill the machine. The split-K weight gradients aim for four
 * workgroups of 64 per CPU thread (llvmpipe starts one thread per CPU): more splits
 * only add partial sums to write and add up. On 2 cores, 512 invocations instead of
 * 2048 made the ten weight gradients of the seed autoencoder (with their sums) 0.85×
 * as long at batch 64 and 0.97× at batch 256 (interleaved A/B in one command buffer).
 *
 * The conv tiles hold about 96 vec4 accumulators per invocation: 8 channel quads × 12
 * pixels (or 4 × 24, 2 × 24 where the layer has fewer channels). On llvmpipe they live
 * on the stack either way; what the tile size changes is how many weight loads (per-lane
 * loops there) each x load is shared with. Against the previous 4 quads × 8 positions,
 * conv_transpose2d took 0.73–0.95× as long on every layer of the seed autoencoder (0.84×
 * summed at batch 64, 0.86× at 256); conv2d with 12 pixels instead of 8 took 0.95× at
 * batch 64 and 0.90× at 256. Larger tiles were slower: 4 × 28 or 4 × 32 took 1.1–1.25×
 * as long as 4 × 24 (interleaved A/B dispatches; the whole step: 0.94× at both batches).
 * conv_weight_grad takes 8 co quads × 4 ci quads (was 4 × 4): 0.86–0.94× per layer at
 * batch 64, 0.82–0.89× at 256; 8 × 8 and 16 × 4 were 1.06–1.32× as long as 8 × 4.
 * Transposed convs with up to 8 output channels (d4 and e1's input gradient) run the phase
 * kernel, 16 block positions per invocation: 0.64–0.80× as long as the channel kernel at
 * batch 64, 0.72–0.75× at 256 (with 16 channels it took 1.35–1.5×, so 8 is the limit).
 *
 * Every adapter folds the leaky ReLU backward into the convs (`foldActGrad`): 8 fewer
 * dispatches of a step (54 → 46), and the gradient between two layers is read and written
 * twice, not 4 times. On llvmpipe that paid only once the epilogue's mask, a scalar gather per
 * value, came from a texture like x (define MT, with `textureInputs`): from storage, the 8
 * folded epilogues cost about what the bias_grad passes they replace did (+8.2 against −8.0 ms
 * at batch 64 on one VM; on a slower one +15.7 against −25.3 ms); from textures +3.5 against
 * −25.3 ms, and a batch-64 step took 0.92× as long, 0.93–0.95× at batch 256, 0.95–0.97× at
 * batch 32 and 0.98–1.0× at batch 8 (alternating runs). Software adapters fold only from batch
 * 64 (`foldMinBatch`): the folded kernels are 8 more pipelines to compile, and the first step
 * of a process took 7.9–8.8 s against 4.2–4.5 s (65 against 35 s with Mesa's shader cache
 * empty), which the fold wins back only after a few hundred steps.
 *
 * GPUs (measured on an NVIDIA H100 through Vulkan, bench/gpu/sweep.sh; seed autoencoder,
 * median step time with steps in flight): the split-K sums take 64 lanes per output (with
 * one, they were 72 % of a step's GPU time at batch 256: 17.0 → 10.0 ms per step); 4 steps
 * in flight hide Deno's ~11 ms read-back latency (1 in flight: 10.6 ms at batch 256, 4: 7.9
 * ms, 8: no better); after bind groups were cached, weight gradients with one channel quad
 * per invocation (weightGradTile 1) and convs with one pixel per invocation (convPixels 1)
 * give the GPU's thousands of lanes enough invocations on these small layers: 5.3 → 3.9 ms
 * at batch 256 and 5.6 → 3.3 ms at batch 64 (median intervals). Deno's mapAsync blocks the
 * host until all submitted work is done, and its promise resolves only at the next poll,
 * ~10 ms later, with host and GPU idle: so read-backs wait from a later task (deferMap), the
 * host records `inFlight` steps while the GPU runs them, and one wait covers them all. The
 * figures for these two fields are in the README's GPU section (wall time of 64-step runs).
 *
 * @param isFallback Whether the adapter is a software fallback.
 * @param threads CPU threads of a software adapter (default: `navigator.hardwareConcurrency`).
 * @returns the tuning.
 */
export function defaultTuning(
  isFallback: boolean,
  threads: number = navigator.hardwareConcurrency ?? 2,
): Tuning {
  return isFallback
    ? {
      matmul: "blocked",
      splitTarget: 256 * Math.max(1, Math.floor(threads)),
      convTile: 32,
      convPixels: 12,
      convTransposeTile: 32,
      convTransposePixels: 12,
      weightGradTile: 4,
      weightGradCoTile: 8,
      convTransposePhaseChannels: 8,
      balanceThreads: Math.max(1, Math.floor(threads)),
      uniformWeights: true,
      textureInputs: true,
      convPatchOneChannel: true,
      foldMinBatch: 64,
      splitMinPixels: 64,
    }
    : {
      matmul: "tiled",
      splitTarget: 65536,
      convTile: 8,
      convPixels: 1,
      weightGradTile: 1,
      splitLanes: 64,
      inFlight: 16,
      deferMap: true,
    };
}

/** Geometry of a 2-D convolution, per axis [h, w]. */
export interface ConvGeom {
  n: number;
  /** Input channels of the conv (x channels). */
  ci: number;
  h: number;
  w: number;
  /** Output channels of the conv (y channels). */
  co: number;
  ho: number;
  wo: number;
  kh: number;
  kw: number;
  stride: [number, number];
  padding: [number, number];
}

/**
 * The geometry of a kernel call that reads `xs` (its input, channels ci) with weights `ws`
 * and writes `ys` (channels co); the gradient primitives pass tensors in swapped roles.
 *
 * @param xs Input shape [N, Ci, H, W].
 * @param ws Weight shape [., ., KH, KW].
 * @param ys Output shape [N, Co, Ho, Wo].
 * @param o Stride and padding per axis.
 * @returns the geometry.
 */
export function convGeom(
  xs: readonly number[],
  ws: readonly number[],
  ys: readonly number[],
  o: { stride: [number, number]; padding: [number, number] },
): ConvGeom {
  return {
    n: xs[0],
    ci: xs[1],
    h: xs[2],
    w: xs[3],
    co: ys[1],
    ho: ys[2],
    wo: ys[3],
    kh: ws[2],
    kw: ws[3],
    stride: o.stride,
    padding: o.padding,
  };
}

/**
 * The backward of a leaky ReLU, and of the bias before it, folded into the conv that computes
 * the gradient of that ReLU's output (the GM variants of conv2d.wgsl, conv_transpose2d.wgsl
 * and conv_transpose2d_phase.wgsl). A layer y = act(z + b) feeds a conv; the conv's input
 * gradient kernel, computing g = dL/dy, then writes dL/dz = g · (y > 0 ? 1 : slope) instead,
 * and one partial sum of it per channel and workgroup (added in workgroup memory), which the
 * deferred split sums add into dL/db like a split-K weight gradient. That replaces a bias_grad
 * pass (and dispatch) per layer. crop_mse_grad_act does the same for the layer before the
 * cropped MSE, with one partial per row ({@linkcode cropMseGrad}).
 */
export interface ActGrad {
  /** The layer's output y (the mask's source), laid out as the conv's output. */
  m: BufRef;
  /** Leaky ReLU slope. */
  slope: number;
  /** The layer's bias gradient [C] (written), or null for none. */
  gb: BufRef | null;
  /** Allocates a temporary slice of the given float count; it is released by the caller. */
  scratch: (floats: number) => BufRef;
}

/** A conv given an {@linkcode ActGrad}: m covers the output, and there is no bias or ReLU. */
function checkActGrad(
  grad: ActGrad,
  b: BufRef | null,
  slope: number,
  outFloats: number,
  kernel: string,
): void {
  need(grad.m, outFloats, "m", kernel);
  if (b || slope !== 1) {
    throw new TypeError(`Cannot run ${kernel}: a gradient epilogue takes no bias and slope 1`);
  }
}

/**
 * Where an {@linkcode ActGrad} conv writes its `rows` partial bias gradients of `count`
 * channels, and the sum to record once it has: into gb (or, with one row, gb itself), or,
 * without a bias, scratch that nothing reads.
 */
function actPartials(
  rt: GpuRuntime,
  grad: ActGrad,
  rows: number,
  count: number,
  kernel: string,
): { part: BufRef; finish: () => void } {
  const gb = grad.gb;
  if (!gb) return { part: grad.scratch(rows * count), finish: () => {} };
  need(gb, count, "gb", kernel);
  const { part, sums } = splitPartials(rt, rows, count, gb, grad.scratch);
  return { part, finish: () => sumSplits(rt, part, gb, count, rows, sums) };
}

function convParams(g: ConvGeom): number[] {
  return [
    g.n,
    g.ci,
    g.h,
    g.w,
    g.co,
    g.ho,
    g.wo,
    g.kh,
    g.kw,
    g.stride[0],
    g.stride[1],
    g.padding[0],
    g.padding[1],
  ];
}

function need(ref: BufRef, floats: number, what: string, kernel: string): void {
  if (ref.size < floats * 4) {
    throw new TypeError(
      `Cannot run ${kernel}: ${what} must hold ${floats} values: found ${ref.size / 4}`,
    );
  }
}

/** {@linkcode need} for a convolution's input x, weight w and output y of geometry g. */
function needConv(g: ConvGeom, x: BufRef, w: BufRef, y: BufRef, kernel: string): void {
  need(x, g.n * g.ci * g.h * g.w, "x", kernel);
  need(w, g.co * g.ci * g.kh * g.kw, "w", kernel);
  need(y, g.n * g.co * g.ho * g.wo, "y", kernel);
}

/**
 * The weight packed in vec4s of output channels (conv_pack.wgsl, kind 0), see
 * {@linkcode packed}.
 *
 * @param rt Runtime.
 * @param w Weight.
 * @param o Output channels.
 * @param i Input channels.
 * @param kk Taps KH·KW.
 * @param o4p Quads of output channels to pack (>= ceil(o / 4)).
 * @param transposed Whether w is [I,O,KH,KW] (conv_transpose2d) rather than [O,I,KH,KW].
 * @param weights How it is bound: uniform bindings need whole 64 KiB slices.
 * @returns the packed weight.
 */
function packWeight(
  rt: GpuRuntime,
  w: BufRef,
  o: number,
  i: number,
  kk: number,
  o4p: number,
  transposed: boolean,
  weights: WeightBinding,
): BufRef {
  const [so, si] = transposed ? [kk, o * kk] : [i * kk, kk];
  const vec4s = i * kk * o4p;
  // Uniform chunks: the last one's binding takes a whole 64 KiB.
  const bytes = weights.chunks > 1
    ? (weights.chunks - 1) * weights.perChunk * kk * o4p * 16 + UNIFORM_WEIGHT_VEC4S * 16
    : weights.chunks === 1
    ? UNIFORM_WEIGHT_VEC4S * 16
    : vec4s * 16;
  return packed(rt, w, { kind: 0, fields: [o, i, kk, o4p, so, si] }, vec4s, bytes);
}

/**
 * A conv's weight packed (conv_pack.wgsl, kind 0) and bound as {@linkcode weightBinding} says
 * for this device: binding 2's slice (the packed weight from storage or one uniform buffer, else
 * the first 64 KiB chunk) and the further chunks' slices (bindings 6..), each starting
 * `perChunk` input channels on.
 *
 * @param rt Runtime.
 * @param g Geometry (`ci` the input channels of the kernel, `co` its output channels).
 * @param w Weight.
 * @param o4p Quads of output channels to pack.
 * @param transposed Whether w is [I,O,KH,KW] (conv_transpose2d) rather than [O,I,KH,KW].
 * @returns the binding and the slices.
 */
function convWeights(
  rt: GpuRuntime,
  g: ConvGeom,
  w: BufRef,
  o4p: number,
  transposed: boolean,
): { wb: WeightBinding; wp: BufRef; more: BufRef[] } {
  const kk = g.kh * g.kw;
  const perCi = kk * o4p;
  const l = rt.device.limits;
  const wb = weightBinding(
    g.ci,
    perCi,
    l.minUniformBufferOffsetAlignment,
    l.maxUniformBuffersPerShaderStage,
  );
  const wp = packWeight(rt, w, g.co, g.ci, kk, o4p, transposed, wb);
  if (wb.chunks <= 1) return { wb, wp, more: [] };
  const chunk = (u: number): BufRef => ({
    buffer: wp.buffer,
    offset: wp.offset + u * wb.perChunk * perCi * 16,
    size: UNIFORM_WEIGHT_VEC4S * 16,
  });
  return { wb, wp: chunk(0), more: Array.from({ length: wb.chunks - 1 }, (_, u) => chunk(u + 1)) };
}

/**
 * A weight packed for a conv kernel: from the runtime's packed-weight cache (lib/gpu/packs.ts),
 * which repacks only weights written since, or, with the tuning's `packCache` off, packed by a
 * dispatch into a pool buffer released at once (the pool holds it until the submit, after the
 * kernel that reads it). `bytes` (>= vec4s · 16) is the slice's size: for a uniform binding, at
 * least the whole 64 KiB that a kernel declaring `array<vec4f, 4096>` there binds.
 */
function packed(
  rt: GpuRuntime,
  w: BufRef,
  layout: Omit<PackLayout, "vec4s" | "bytes">,
  vec4s: number,
  bytes: number,
): BufRef {
  const full: PackLayout = { ...layout, vec4s, bytes };
  if (tuningValue(active, "packCache")) return packCache(rt).get(w, full);
  const buffer = rt.pool.acquire(full.bytes);
  recordPacks(rt, [{ w, layout: full, out: 0 }], buffer);
  rt.pool.release(buffer);
  return { buffer, offset: 0, size: full.bytes };
}

/**
 * Packed conv weights (vec4s) that fit the 64 KiB uniform buffer the conv kernels read with
 * the UW define. On llvmpipe a storage load is a per-lane loop with a bounds test, a uniform
 * load with a varying index one gather: with the weights there, the seed's layers whose
 * packed weights fit took 0.82–0.94× as long (e1, e2, d3, d4's and e2's input gradients), the
 * 8-channel phase kernels (d4, e1's input gradient) 0.85–0.88×; the 1-channel layers, where
 * weight loads are few, 0.97–1.02× (interleaved A/B dispatches at batch 64). Larger weights go
 * in chunks of whole input channels ({@linkcode weightBinding}): the seed's 8 dispatches whose
 * weights take 2 or 5 chunks (e3, e4, d1, d2 and their input gradients) took 0.83–0.88× as
 * long as from storage, 28.1 → 24.2 ms of a batch-64 step (in-step profile).
 *
 * What a load costs on llvmpipe (65,536 invocations each adding 256 floats, 2 cores): from
 * storage 10–17 ms over an empty loop, the same whether read as 256 scalars or 64 vec4s, at an
 * address the same for the whole workgroup or different per lane, and from workgroup memory
 * too; from a uniform buffer 5 ms. So only uniform buffers, or fewer values loaded per lane,
 * make loads cheaper there; a weight-gradient kernel that read x and gy as vec4s along rows
 * (the same values per FMA) measured 1.0–2.3× as long as conv_weight_grad.wgsl.
 */
export const UNIFORM_WEIGHT_VEC4S = 4096;

/** Whether a conv with `vec4s` packed weight vec4s reads them from a uniform buffer. */
function uniformWeights(vec4s: number): boolean {
  return tuningValue(active, "uniformWeights") && vec4s <= UNIFORM_WEIGHT_VEC4S;
}

/**
 * Where conv2d.wgsl or conv_transpose2d.wgsl reads a packed weight of `ci` input channels ×
 * `perCi` vec4s from ({@linkcode WeightBinding}): storage unless the tuning's `uniformWeights`
 * is on; one uniform buffer where it fits in 64 KiB; else chunks of as many whole input
 * channels as fit, each starting on the device's uniform offset alignment, where at most
 * {@linkcode MAX_UNIFORM_CHUNKS} (and the device's uniform buffers, one kept for the
 * parameters) cover it; else storage.
 *
 * @param ci Input channels.
 * @param perCi vec4s per input channel (taps · output quads).
 * @param align The device's minUniformBufferOffsetAlignment.
 * @param maxUniforms The device's maxUniformBuffersPerShaderStage.
 * @param uniform Whether to use uniform buffers at all (default: the active tuning's
 *   `uniformWeights`).
 * @returns the binding.
 * @example
 * ```ts
 * import { weightBinding } from "./kernels.ts";
 * // e4 of the seed at conv tiles of 8 quads: 64 channels of 9 taps × 32 quads, 14 per chunk.
 * const wb = weightBinding(64, 288, 256, 12, true);
 * if (wb.chunks !== 5 || wb.perChunk !== 14) throw new Error(JSON.stringify(wb));
 * ```
 */
export function weightBinding(
  ci: number,
  perCi: number,
  align: number,
  maxUniforms: number,
  uniform: boolean = tuningValue(active, "uniformWeights"),
): WeightBinding {
  if (!uniform) return STORAGE_WEIGHTS;
  if (ci * perCi <= UNIFORM_WEIGHT_VEC4S) return { chunks: 1, perChunk: 0 };
  let per = Math.floor(UNIFORM_WEIGHT_VEC4S / perCi);
  while (per > 0 && (per * perCi * 16) % align !== 0) per--;
  const chunks = per > 0 ? Math.ceil(ci / per) : Infinity;
  return chunks <= Math.min(MAX_UNIFORM_CHUNKS, maxUniforms - 1)
    ? { chunks, perChunk: per }
    : STORAGE_WEIGHTS;
}

/**
 * conv2d forward: y = act(conv(x, w) + b), x [N,Ci,H,W], w [Co,Ci,KH,KW], y [N,Co,Ho,Wo].
 * Records the convolution, after the weight's packing unless the packed copy is current
 * (lib/gpu/packs.ts).
 *
 * @param rt Runtime.
 * @param g Geometry.
 * @param x Input.
 * @param w Weight.
 * @param b Bias [Co] or null.
 * @param y Output.
 * @param slope Leaky ReLU slope, 1 for none.
 * @param tc Output channels per invocation (a multiple of 4; see {@linkcode convTiles}).
 * @param grad As a transposed conv's input gradient: the backward of the leaky ReLU and bias
 *   of the layer that produced that conv's input (b null, slope 1).
 */
export function conv2d(
  rt: GpuRuntime,
  g: ConvGeom,
  x: BufRef,
  w: BufRef,
  b: BufRef | null,
  y: BufRef,
  slope = 1,
  tc = active.convTile,
  grad: ActGrad | null = null,
): void {
  needConv(g, x, w, y, "conv2d");
  if (grad) checkActGrad(grad, b, slope, g.n * g.co * g.ho * g.wo, "conv2d");
  if (!grad && tuningValue(active, "convGemm")) return conv2dGemm(rt, g, x, w, b, y, slope);
  const [tcl, tp0] = convTiles(
    tc,
    g.co,
    tc === active.convTile ? tuningValue(active, "convPixels") : undefined,
  );
  const tq = tcl / 4;
  const co4p = Math.ceil(g.co / tcl) * tq;
  const tp = balancedPixels(g.n * g.ho * g.wo, tp0, tq, co4p / tq, active.balanceThreads ?? 1);
  const { wb, wp, more } = convWeights(rt, g, w, co4p, false);
  const patch = tuningValue(active, "convPatch") ||
      (g.ci === 1 && tuningValue(active, "convPatchOneChannel"))
    ? patchTile(g, tuningValue(active, "convPatchPixels"), tq)
    : null;
  // vec4 stores when 4 consecutive pixels of a tile always share an image (conv2d.wgsl).
  const vs = !grad && !patch && tuningValue(active, "convVectorStores") && tp % 4 === 0 &&
    (g.ho * g.wo) % 4 === 0 && y.offset % 16 === 0;
  const pixTiles = patch
    ? g.n * Math.ceil(g.ho / patch.tr) * Math.ceil(g.wo / patch.tc)
    : Math.ceil(g.n * g.ho * g.wo / tp);
  // With a gradient epilogue the pixel tiles come in whole workgroups, one partial row each.
  const rows = Math.ceil(pixTiles / WG);
  const ep = grad && actPartials(rt, grad, rows, g.co, "conv2d");
  const xi = inputBinding(rt, x, g.n * g.ci * g.h * g.w);
  const mi = grad && inputBinding(rt, grad.m, g.n * g.co * g.ho * g.wo);
  rt.dispatch(
    conv2dDef(tcl, tp, vs, wb, !!grad, xi.texture, !!mi?.texture, patch),
    [...convParams(g), b ? 1 : 0, { f32: grad?.slope ?? slope }, co4p],
    [xi.x, wp, mi?.x ?? b ?? x, y, ...(ep ? [ep.part] : more.length ? [null] : []), ...more],
    groups(grad ? rows * WG * (co4p / tq) : pixTiles * (co4p / tq)),
  );
  ep?.finish();
}

/**
 * conv2d as an implicit GEMM (kernels/conv2d_gemm.wgsl; what {@linkcode conv2d} runs without a
 * gradient epilogue where the tuning has `convGemm`): y [N,Co,Ho,Wo] = act(conv(x, w) + b),
 * the weight read in its own layout [Co,Ci,KH,KW], nothing packed.
 *
 * @param rt Runtime.
 * @param g Geometry.
 * @param x Input [N,Ci,H,W].
 * @param w Weight [Co,Ci,KH,KW].
 * @param b Bias [Co] or null.
 * @param y Output.
 * @param slope Leaky ReLU slope (1: none).
 */
export function conv2dGemm(
  rt: GpuRuntime,
  g: ConvGeom,
  x: BufRef,
  w: BufRef,
  b: BufRef | null,
  y: BufRef,
  slope = 1,
): void {
  needConv(g, x, w, y, "conv2d_gemm");
  const tiles = Math.ceil(g.n * g.ho * g.wo / 64) * Math.ceil(g.co / 16);
  rt.dispatch(
    KERNELS.conv2dGemm,
    [...convParams(g), b ? 1 : 0, { f32: slope }, 0],
    [x, w, b ?? x, y],
    tiles,
  );
}

/**
 * Transposed conv: y [N,B,Ho,Wo] from x [N,A,H,W] and w [A,B,KH,KW].
 * Records the convolution, after the weight's packing unless the packed copy is current
 * (lib/gpu/packs.ts).
 *
 * @param rt Runtime.
 * @param g Geometry with ci = A (x channels), co = B (y channels).
 * @param x Input.
 * @param w Weight [A,B,KH,KW].
 * @param b Bias [B] or null.
 * @param y Output.
 * @param slope Leaky ReLU slope, 1 for none.
 * @param tc Output channels per invocation (a multiple of 4; narrowed to B by
 *   {@linkcode convTiles}).
 * @param grad As a conv's input gradient: the backward of the leaky ReLU and bias of the layer
 *   that produced that conv's input (b null, slope 1).
 */
export function convTranspose2d(
  rt: GpuRuntime,
  g: ConvGeom,
  x: BufRef,
  w: BufRef,
  b: BufRef | null,
  y: BufRef,
  slope = 1,
  tc = tuningValue(active, "convTransposeTile"),
  grad: ActGrad | null = null,
): void {
  needConv(g, x, w, y, "conv_transpose2d");
  if (grad) checkActGrad(grad, b, slope, g.n * g.co * g.ho * g.wo, "conv_transpose2d");
  const [sh, sw] = g.stride;
  if (
    tuningValue(active, "convTransposePhase") &&
    g.co <= tuningValue(active, "convTransposePhaseChannels") &&
    sh * sw <= 4
  ) {
    convTranspose2dPhase(rt, g, x, w, b, y, slope, grad);
    return;
  }
  const [tcl, tp0] = convTiles(
    tc,
    g.co,
    tc === tuningValue(active, "convTransposeTile")
      ? tuningValue(active, "convTransposePixels")
      : undefined,
  );
  const tq = tcl / 4;
  const b4p = Math.ceil(g.co / tcl) * tq;
  const { wb, wp, more } = convWeights(rt, g, w, b4p, true);
  const positions = g.n * Math.ceil(g.ho / sh) * Math.ceil(g.wo / sw);
  const tp = balancedPixels(positions, tp0, tq, sh * sw * (b4p / tq), active.balanceThreads ?? 1);
  // With a gradient epilogue the position tiles of a phase come in whole workgroups, one
  // partial row each.
  const rows = Math.ceil(Math.ceil(positions / tp) / WG);
  const inv = grad
    ? rows * WG * sh * sw * (b4p / tq)
    : Math.ceil(positions / tp) * sh * sw * (b4p / tq);
  const ep = grad && actPartials(rt, grad, rows * sh * sw, g.co, "conv_transpose2d");
  const xi = inputBinding(rt, x, g.n * g.ci * g.h * g.w);
  const mi = grad && inputBinding(rt, grad.m, g.n * g.co * g.ho * g.wo);
  rt.dispatch(
    convTranspose2dDef(tcl, tp, wb, !!grad, xi.texture, !!mi?.texture),
    [...convParams(g), b ? 1 : 0, { f32: grad?.slope ?? slope }, b4p],
    [xi.x, wp, mi?.x ?? b ?? x, y, ...(ep ? [ep.part] : more.length ? [null] : []), ...more],
    groups(inv),
  );
  ep?.finish();
}

/**
 * The matmul kernel of a variant, reading A and B from storage or (`textureInputs`) textures.
 *
 * @param tiled The `tiled` entry, else `blocked`.
 * @param textureInputs A and B from textures.
 * @returns the kernel definition.
 */
export function matmulDef(
  tiled: boolean,
  textureInputs = false,
  block: [number, number] = [4, 4],
  vec4 = false,
): KernelDef {
  const base = tiled ? KERNELS.matmulTiled : KERNELS.matmulBlocked;
  const [tm, tn] = tiled ? [4, 4] : block;
  if (!textureInputs && !vec4 && tm === 4 && tn === 4) return base;
  const xt = textureInputs && !vec4;
  return {
    ...base,
    ...(xt ? { storage: ["texture", "texture", "read", "rw"] } : {}),
    defines: { XT: xt ? 1 : 0, SB: xt || vec4 ? 0 : 1, VA: vec4 ? 1 : 0, TM: tm, TN4: tn / 4 },
  };
}

/**
 * A conv or matmul kernel's input binding: from a texture where the tuning has
 * `textureInputs` and x fits one ({@linkcode textureFits}), the slice cut to x's f32s (only
 * they are copied), else the storage slice as it is.
 *
 * @param rt Runtime.
 * @param x The input slice.
 * @param floats x's f32s (n·ci·h·w).
 * @returns the slice to bind and whether it is read as a texture.
 */
function inputBinding(rt: GpuRuntime, x: BufRef, floats: number): { x: BufRef; texture: boolean } {
  if (!tuningValue(active, "textureInputs") || !textureFits(floats, rt.device.limits)) {
    return { x, texture: false };
  }
  return { x: { buffer: x.buffer, offset: x.offset, size: floats * 4 }, texture: true };
}

/**
 * Transposed conv vectorised over output phases (conv_transpose2d_phase.wgsl), for few
 * output channels (B <= convTransposePhaseChannels) and sh·sw <= 4. Records the convolution,
 * after the weight's packing unless the packed copy is current (lib/gpu/packs.ts).
 */
function convTranspose2dPhase(
  rt: GpuRuntime,
  g: ConvGeom,
  x: BufRef,
  w: BufRef,
  b: BufRef | null,
  y: BufRef,
  slope: number,
  grad: ActGrad | null,
): void {
  const [sh, sw] = g.stride;
  const [ph, pw] = g.padding;
  const [dh0, wh] = phaseWindow(g.kh, sh, ph);
  const [dw0, ww] = phaseWindow(g.kw, sw, pw);
  const uw = uniformWeights(g.ci * wh * ww * g.co);
  const wq = packed(
    rt,
    w,
    { kind: 1, fields: [g.ci, g.co, g.kh, g.kw, sh, sw, ph, pw, dh0, dw0, wh, ww] },
    g.ci * wh * ww * g.co,
    uw ? UNIFORM_WEIGHT_VEC4S * 16 : g.ci * wh * ww * g.co * 16,
  );
  const blocks = g.n * Math.ceil(g.ho / sh) * Math.ceil(g.wo / sw);
  const tp = balancedPixels(blocks, phaseTile(g.co), g.co, 1, active.balanceThreads ?? 1);
  const ep = grad &&
    actPartials(rt, grad, Math.ceil(Math.ceil(blocks / tp) / WG), g.co, "conv_transpose2d_phase");
  const xi = inputBinding(rt, x, g.n * g.ci * g.h * g.w);
  const mi = grad && inputBinding(rt, grad.m, g.n * g.co * g.ho * g.wo);
  rt.dispatch(
    convTranspose2dPhaseDef(g.co, tp, uw, !!grad, xi.texture, !!mi?.texture),
    [
      g.n,
      g.ci,
      g.h,
      g.w,
      g.co,
      g.ho,
      g.wo,
      sh,
      sw,
      b ? 1 : 0,
      { f32: grad?.slope ?? slope },
      { i32: dh0 },
      { i32: dw0 },
      wh,
      ww,
      0,
    ],
    [xi.x, wq, mi?.x ?? b ?? x, y, ...(ep ? [ep.part] : [])],
    groups(Math.ceil(blocks / tp)),
  );
  ep?.finish();
}

/**
 * The conv_weight_grad tile for a layer: [co quads, ci quads] per invocation, each the
 * largest power of two ≤ {@linkcode Tuning.weightGradCoTile} (co) or
 * {@linkcode Tuning.weightGradTile} (ci) that the layer's channels fill.
 *
 * @param co Output channels.
 * @param ci Input channels.
 * @returns [tq, tc].
 */
export function weightGradTiles(co: number, ci: number): [number, number] {
  const t = tuningValue(active, "weightGradTile");
  const pick = (c: number, tile: number) =>
    2 ** Math.floor(Math.log2(Math.max(1, Math.min(tile, Math.floor(c / 4)))));
  return [pick(co, tuningValue(active, "weightGradCoTile")), pick(ci, t)];
}

/**
 * Weight gradient of conv2d: gw [Co,Ci,KH,KW] from x [N,Ci,H,W] and gy [N,Co,Ho,Wo],
 * split over rows when the weight alone cannot fill the adapter.
 *
 * @param rt Runtime.
 * @param g Geometry.
 * @param x Input.
 * @param gy Output gradient.
 * @param gw Weight gradient (written).
 * @param splitTarget Invocations to aim for.
 * @param scratch Allocates a temporary slice of the given float count; it is released by the caller.
 */
export function convWeightGrad(
  rt: GpuRuntime,
  g: ConvGeom,
  x: BufRef,
  gy: BufRef,
  gw: BufRef,
  splitTarget: number,
  scratch: (floats: number) => BufRef,
): void {
  const count = g.co * g.ci * g.kh * g.kw;
  need(gw, count, "gw", "conv_weight_grad");
  // Fewer than 4 input channels: the row kernel (no duplicated ci lanes, 3 taps per x row).
  const row = g.ci < 4;
  const [tq, tc] = weightGradTiles(g.co, g.ci);
  const rowTq = g.co >= 8 ? 2 : 1;
  const jt = weightGradTaps(tc, g.kw);
  const tiles = row
    ? Math.ceil(g.co / (4 * rowTq)) * g.ci * Math.ceil(g.kh / 3) * Math.ceil(g.kw / 3)
    : Math.ceil(g.co / (4 * tq)) * Math.ceil(g.ci / (4 * tc)) * g.kh * Math.ceil(g.kw / jt);
  const rows = g.n * g.ho;
  // No more partials than one binding holds (a GPU's split target on a 128 MiB adapter).
  const most = Math.floor(partialsLimit(rt) / (4 * count));
  const [perSplit, s] = weightGradSplits(
    rows,
    g.wo,
    tiles,
    splitTarget,
    most,
    tuningValue(active, "splitMinPixels"),
  );
  const { part, sums } = splitPartials(rt, s, count, gw, scratch);
  const xi = inputBinding(rt, x, g.n * g.ci * g.h * g.w);
  const gi = inputBinding(rt, gy, g.n * g.co * g.ho * g.wo);
  const xt = xi.texture && gi.texture;
  rt.dispatch(
    row ? convWeightGradRowDef(1, rowTq, xt) : convWeightGradDef(tq, tc, jt, xt),
    [...convParams(g), s, perSplit, 0],
    [xt ? xi.x : x, xt ? gi.x : gy, part],
    groups(tiles * s),
  );
  sumSplits(rt, part, gw, count, s, sums);
}

/**
 * How a conv weight gradient splits its rows (n, oh) into chunks, each summed by its own
 * invocations into one partial of the weight (split-K): enough chunks that tiles × chunks
 * reaches the split target, but at most `most` (the partials binding), and chunks of at least
 * `minPixels` output pixels (`splitMinPixels`), but never so long that an invocation loops more
 * than {@linkcode SERIAL_MAX} times (rows × (pixels + 1)). On llvmpipe at batch 8, where the target had
 * cut layers into chunks of about 3 rows, a floor of 64 pixels took the seed's weight
 * gradients and their sums from 19.7 to 13.2 ms of a 51 ms step (in-step GPU profiles, two
 * alternating runs; 128 and 256 pixels left too few invocations: 15.3–16.8 ms); at batch 64
 * it changes nothing.
 *
 * @param rows Rows to sum over (N·Ho).
 * @param wo Output pixels per row.
 * @param tiles Invocations per chunk.
 * @param target Invocations to aim for (`splitTarget`).
 * @param most The most chunks.
 * @param minPixels The fewest pixels per chunk (1: no floor).
 * @returns rows per chunk and the number of chunks.
 * @example
 * ```ts
 * import { weightGradSplits } from "./kernels.ts";
 * // 352 rows of 17 pixels, 4 tiles, a target of 512: 118 chunks of 3 rows (the last of 1).
 * const [per, n] = weightGradSplits(352, 17, 4, 512, 1e9, 1);
 * // With a floor of 64 pixels: 88 chunks of 4 rows (68 pixels).
 * const [per2, n2] = weightGradSplits(352, 17, 4, 512, 1e9, 64);
 * if (per !== 3 || n !== 118 || per2 !== 4 || n2 !== 88) throw new Error(`${per} ${n} ${per2} ${n2}`);
 * ```
 */
export function weightGradSplits(
  rows: number,
  wo: number,
  tiles: number,
  target: number,
  most: number,
  minPixels: number,
): [number, number] {
  // Each invocation loops over its chunk's rows and each row's pixels: at most SERIAL_MAX.
  if (wo + 1 > SERIAL_MAX) {
    throw new RangeError(
      `Cannot split a conv weight gradient: output rows of ${wo} pixels: at most ` +
        `${SERIAL_MAX - 1} (the loop one invocation may run: see SERIAL_MAX)`,
    );
  }
  const longest = Math.floor(SERIAL_MAX / (wo + 1));
  const byPixels = Math.max(1, Math.floor(rows * wo / Math.max(1, minPixels)));
  let splits = Math.max(1, Math.min(rows, byPixels, Math.round(target / tiles), most));
  splits = Math.max(splits, Math.ceil(rows / longest));
  if (splits > most) {
    throw new RangeError(
      `Cannot split a conv weight gradient of ${rows} rows of ${wo} pixels into chunks of at ` +
        `most ${longest} rows: that needs ${splits} partials of the weight, more than the ` +
        `${most} one binding holds; use a smaller batch`,
    );
  }
  const perSplit = Math.ceil(rows / splits);
  return [perSplit, Math.ceil(rows / perSplit)];
}

/**
 * Where a gradient computed in `splits` pieces writes them: `out` itself for one piece, else
 * the deferred sums' partials buffer (the tuning's `batchSplitSums`, default on) or scratch.
 */
function splitPartials(
  rt: GpuRuntime,
  splits: number,
  count: number,
  out: BufRef,
  scratch: (floats: number) => BufRef,
): { part: BufRef; sums: SplitSums | null } {
  if (splits === 1) return { part: out, sums: null };
  const sums = tuningValue(active, "batchSplitSums") ? splitSums(rt) : null;
  return { part: sums ? sums.partials(splits * count) : scratch(splits * count), sums };
}

/**
 * out[i] = Σ_{k<splits} part[k·count + i]: one `split_sum` dispatch, or, with `sums`, deferred
 * and recorded with the other pending sums (lib/gpu/split_sums.ts); nothing for one split,
 * whose part is out itself ({@linkcode splitPartials}).
 */
function sumSplits(
  rt: GpuRuntime,
  part: BufRef,
  out: BufRef,
  count: number,
  splits: number,
  sums: SplitSums | null,
): void {
  if (splits === 1) return;
  const lanes = splitLanes(splits);
  if (sums) sums.add({ part, out, count, splits, lanes });
  else {
    rt.dispatch(
      KERNELS.splitSum,
      [count, splits, 0, 0, 0, lanes, { f32: 1 }, 0],
      [part, null, out],
      groups(count * lanes),
    );
  }
}

/** Rows one invocation of bias_grad's `rows` entry adds up (a Linear layer's [N, C]). */
const BIAS_ROWS_SEG = 64;

/**
 * Bias gradient gb [C] = Σ_{n,s} g[n,c,s] of g [outer, C, inner], where g = gy when `y` is
 * null, else g = gy · (y > 0 ? 1 : slope) (the leaky ReLU backward), which is then also
 * written to `g`. One pass over gy spread over segments of each (n, c) row, then a
 * `split_sum` of the segment partials (bias_grad.wgsl).
 *
 * @param rt Runtime.
 * @param y Activation output [outer, C, inner], or null for no activation.
 * @param gy Output gradient [outer, C, inner].
 * @param g Masked gradient (written when y is given; ignored otherwise).
 * @param gb Bias gradient [C] (written).
 * @param outer Leading size (batch).
 * @param c Channels.
 * @param inner Trailing size (pixels).
 * @param slope Leaky ReLU slope.
 * @param scratch Allocates a temporary slice of the given float count; it is released by the caller.
 * @param seg Values one invocation sums (default 256).
 */
export function biasGrad(
  rt: GpuRuntime,
  y: BufRef | null,
  gy: BufRef,
  g: BufRef | null,
  gb: BufRef,
  outer: number,
  c: number,
  inner: number,
  slope: number,
  scratch: (floats: number) => BufRef,
  seg = 256,
): void {
  const count = outer * c * inner;
  need(gy, count, "gy", "bias_grad");
  need(gb, c, "gb", "bias_grad");
  if (y) {
    need(y, count, "y", "bias_grad");
    if (!g) throw new TypeError("Cannot run bias_grad: g is required when y is given: found null");
    need(g, count, "g", "bias_grad");
  }
  // A Linear layer's [N, C]: quads of channels over segments of rows (the `rows` entry).
  const rows = inner === 1 && c % 4 === 0;
  let sl = rows ? Math.max(1, Math.min(BIAS_ROWS_SEG, outer)) : Math.max(1, Math.min(seg, inner));
  // Longer segments where their partials would be more than 64 lanes of SERIAL_MAX can sum.
  if (!rows && outer * Math.ceil(inner / sl) > 64 * SERIAL_MAX) {
    const want = Math.ceil(inner / Math.max(1, Math.floor(64 * SERIAL_MAX / outer)));
    sl = Math.min(inner, Math.ceil(want / 4) * 4);
  }
  const segs = Math.ceil((rows ? outer : inner) / sl);
  if (!rows && sl < inner && sl % 4 !== 0) {
    throw new RangeError(`Cannot run bias_grad: seg must be a multiple of 4: found ${seg}`);
  }
  const s = rows ? segs : outer * segs;
  const { part, sums } = splitPartials(rt, s, c, gb, scratch);
  const gy4 = vec4View(gy, "gy", "bias_grad");
  rt.dispatch(
    rows ? KERNELS.biasGradRows : KERNELS.biasGrad,
    [outer, c, inner, sl, segs, y ? 1 : 0, { f32: slope }, 0],
    [
      y ? vec4View(y, "y", "bias_grad") : gy4,
      gy4,
      vec4View(y ? g! : scratch(1), "g", "bias_grad"),
      part,
    ],
    groups(rows ? (s * c) / 4 : s * c),
  );
  sumSplits(rt, part, gb, c, s, sums);
}

/**
 * A slice bound as `array<vec4f>`: its size rounded up to whole vec4s, which the pool's
 * 256-byte buckets always hold. The kernel masks the values past the slice's end.
 *
 * @param r The slice (offset a multiple of 16).
 * @param what Its name, for the error.
 * @param kernel The kernel, for the error.
 * @returns the widened slice.
 */
export function vec4View(r: BufRef, what: string, kernel: string): BufRef {
  const size = Math.ceil(r.size / 16) * 16;
  if (r.offset % 16 !== 0 || r.offset + size > r.buffer.size) {
    throw new RangeError(
      `Cannot run ${kernel}: ${what} must start on 16 bytes with room for whole vec4s: ` +
        `found offset ${r.offset}, ${r.size} bytes in a ${r.buffer.size}-byte buffer`,
    );
  }
  return size === r.size ? r : { ...r, size };
}

/** Options of {@linkcode matmul}. */
export interface MatmulOptions {
  ta?: boolean;
  tb?: boolean;
  bias?: BufRef | null;
  slope?: number;
  variant?: "tiled" | "blocked";
  /**
   * The `blocked` entry's register block, [rows, columns] of C per invocation, columns a
   * multiple of 4 (default: the tuning's `matmulRows` and `matmulCols`).
   */
  block?: [number, number];
  /** Read A and B as vec4s where the layout allows (default: the tuning's `matmulVec4`). */
  vec4?: boolean;
  /**
   * Invocations to aim for (the tuning's `splitTarget`): when M·N alone gives fewer, the K
   * axis is split (at least 64 per split) and a `split_sum_act` adds the partials, the bias
   * and the activation. Needs `scratch`. Default: no split.
   */
  splitTarget?: number;
  /** Allocates the partials of a split-K product (released by the caller). */
  scratch?: (floats: number) => BufRef;
  /**
   * Without bias or activation, add a split product's partials like a split weight gradient's
   * (deferred with the backward pass's other sums when the tuning's `batchSplitSums` is on,
   * lib/gpu/split_sums.ts) instead of by a `split_sum_act` of its own: for a weight gradient
   * written into the gradient arena, which nothing reads before the optimizer. Default false.
   */
  deferSum?: boolean;
}

/**
 * @param t A tuning.
 * @returns the `blocked` matmul's register block, [rows, columns] of C per invocation.
 */
function matmulBlock(t: Tuning): [number, number] {
  return [tuningValue(t, "matmulRows"), tuningValue(t, "matmulCols")];
}

/** The most values a `blocked` matmul's register block holds (`matmulRows` × `matmulCols`). */
export const MATMUL_BLOCK_MAX = 256;

/** Fewest values of K per split of a split-K matmul. */
const MATMUL_MIN_KC = 64;

/**
 * C [M,N] = act(op(A)·op(B) + bias).
 *
 * @param rt Runtime.
 * @param a A [M,K] or [K,M] when ta.
 * @param b B [K,N] or [N,K] when tb.
 * @param c Output.
 * @param m Rows of C.
 * @param n Columns of C.
 * @param k Reduction length.
 * @param o Options.
 */
export function matmul(
  rt: GpuRuntime,
  a: BufRef,
  b: BufRef,
  c: BufRef,
  m: number,
  n: number,
  k: number,
  o: MatmulOptions = {},
): void {
  need(a, m * k, "A", "matmul");
  need(b, k * n, "B", "matmul");
  need(c, m * n, "C", "matmul");
  const tiled = (o.variant ?? "blocked") === "tiled";
  const [bm, bn] = o.block ?? matmulBlock(active);
  // vec4 loads (matmul.wgsl, VA) need rows of A and B that start on whole vec4s; a storage
  // binding's offset is a multiple of minStorageBufferOffsetAlignment (>= 32 bytes) anyway.
  const va = (o.vec4 ?? tuningValue(active, "matmulVec4")) && !tiled && !o.ta && !o.tb &&
    k % 4 === 0 && n % 4 === 0;
  if (!tiled && !(bm >= 1 && bn >= 4 && bn % 4 === 0 && bm * bn <= MATMUL_BLOCK_MAX)) {
    throw new RangeError(
      `Cannot run matmul: the block must be rows >= 1 by columns a multiple of 4, at most ` +
        `${MATMUL_BLOCK_MAX} values: found ${bm}×${bn}`,
    );
  }
  // Invocations without a split: 64 per 32×32 tile, or one per block.
  const tiles = tiled
    ? Math.ceil(m / 32) * Math.ceil(n / 32)
    : Math.ceil(m / bm) * Math.ceil(n / bn);
  const invocations = tiled ? 64 * tiles : tiles;
  let splits = 1;
  if (o.splitTarget && o.scratch && invocations < o.splitTarget) {
    splits = Math.max(
      1,
      Math.min(Math.floor(k / MATMUL_MIN_KC), Math.round(o.splitTarget / invocations)),
    );
  }
  // No invocation loops over more than SERIAL_MAX values of K.
  if (k > SERIAL_MAX) {
    if (!o.scratch) {
      throw new RangeError(
        `Cannot run matmul: K = ${k} needs a split (at most ${SERIAL_MAX} per invocation: see ` +
          `SERIAL_MAX), and no scratch was given for the partials`,
      );
    }
    splits = Math.max(splits, Math.ceil(k / SERIAL_MAX));
  }
  const kc = va ? Math.ceil(k / splits / 4) * 4 : Math.ceil(k / splits);
  splits = Math.ceil(k / kc);
  const slope = o.slope ?? 1;
  const params = [m, n, k, o.ta ? 1 : 0, o.tb ? 1 : 0, o.bias ? 1 : 0, { f32: slope }, splits];
  params.push(kc, 0, 0, 0);
  // A plain product's split sum can wait with the other split gradients (same order of adds
  // as split_sum_act's without bias and activation, so bit-identical).
  const deferred = o.deferSum && !o.bias && slope === 1 && splits > 1
    ? splitPartials(rt, splits, m * n, c, o.scratch!)
    : null;
  const out = deferred ? deferred.part : splits > 1 ? o.scratch!(splits * m * n) : c;
  // A and B from textures where the tuning says so and both fit (textureInputs).
  const ai = inputBinding(rt, a, m * k), bi = inputBinding(rt, b, k * n);
  const xt = !va && ai.texture && bi.texture;
  const bufs = [xt ? ai.x : a, xt ? bi.x : b, o.bias ?? a, out];
  const def = matmulDef(tiled, xt, [bm, bn], va);
  rt.dispatch(def, params, bufs, tiled ? tiles * splits : groups(tiles * splits));
  if (deferred) sumSplits(rt, deferred.part, c, m * n, splits, deferred.sums);
  else if (splits > 1) {
    const lanes = splitLanes(splits);
    rt.dispatch(
      KERNELS.splitSumAct,
      [m * n, splits, 0, n, o.bias ? 1 : 0, lanes, { f32: slope }, 0],
      [out, o.bias ?? out, c],
      groups(m * n * lanes),
    );
  }
}

/** Parameters of the one-input elementwise kernels (elementwise.wgsl). */
function ew1(
  count: number,
  o: {
    h?: number;
    w?: number;
    ho?: number;
    wo?: number;
    top?: number;
    left?: number;
    alpha?: number;
    slope?: number;
  } = {},
) {
  return [
    count,
    o.h ?? 0,
    o.w ?? 0,
    o.ho ?? 0,
    o.wo ?? 0,
    o.top ?? 0,
    o.left ?? 0,
    0,
    { f32: o.alpha ?? 0 },
    { f32: o.slope ?? 0 },
    0,
    0,
  ];
}

const VEC4_DEFS = new Map<KernelDef, KernelDef>();

/**
 * An elementwise kernel's vec4 variant (define V4, elementwise.wgsl), or the kernel itself.
 *
 * @param def The scalar kernel (a KERNELS entry of elementwise.wgsl or elementwise3.wgsl).
 * @param vec4 Whether to take the vec4 variant.
 * @returns the kernel to dispatch.
 */
export function elementwiseDef(def: KernelDef, vec4: boolean): KernelDef {
  if (!vec4) return def;
  let v = VEC4_DEFS.get(def);
  if (!v) VEC4_DEFS.set(def, v = { ...def, defines: { ...def.defines, V4: 1 } });
  return v;
}

/**
 * Dispatches an elementwise kernel over `count` values: as vec4s (count / 4 invocations) where
 * count is a multiple of 4 and `vec4` allows, else one invocation per value.
 */
function elementwise(
  rt: GpuRuntime,
  def: KernelDef,
  count: number,
  params: (count: number) => Param[],
  bufs: (BufRef | null)[],
  vec4: boolean,
): void {
  const v4 = vec4 && count % 4 === 0;
  const n = v4 ? count / 4 : count;
  rt.dispatch(elementwiseDef(def, v4), params(n), bufs, groups(n));
}

/** y = leaky(x). */
export function leaky(rt: GpuRuntime, x: BufRef, y: BufRef, count: number, slope: number): void {
  elementwise(rt, KERNELS.leaky, count, (n) => ew1(n, { slope }), [x, y], true);
}

/**
 * y = alpha·x (the kernels bench's copy).
 *
 * @param vec4 Read and write vec4s where count allows (default true); false: one value per
 *   invocation, the bench's scalar variant.
 */
export function scale(
  rt: GpuRuntime,
  x: BufRef,
  y: BufRef,
  count: number,
  alpha: number,
  vec4 = true,
): void {
  elementwise(rt, KERNELS.scale, count, (n) => ew1(n, { alpha }), [x, y], vec4);
}

/** A crop window: planes [P,H,W] and the window [P,Ho,Wo] in them, at (top, left). */
export interface CropWindow {
  planes: number;
  h: number;
  w: number;
  ho: number;
  wo: number;
  top: number;
  left: number;
}

/**
 * The window that crop [top, bottom, left, right] cuts from x [N,C,H,W].
 *
 * @param shape Shape of the uncropped tensor.
 * @param c Crop [top, bottom, left, right].
 * @param kernel The kernel, for the error.
 * @returns the window.
 * @throws RangeError when x is not 4-D or the window is empty or does not fit.
 */
export function cropWindow(
  shape: readonly number[],
  [top, bottom, left, right]: readonly [number, number, number, number],
  kernel: string,
): CropWindow {
  if (shape.length !== 4) {
    throw new RangeError(`Cannot run ${kernel}: expected [N,C,H,W]: found [${shape}]`);
  }
  const [n, c, h, w] = shape;
  const win = { planes: n * c, h, w, ho: h - top - bottom, wo: w - left - right, top, left };
  if (top < 0 || left < 0 || win.ho < 1 || win.wo < 1) {
    throw new RangeError(
      `Cannot run ${kernel}: a ${win.ho}×${win.wo} window at (${top}, ${left}) does not fit ${h}×${w}`,
    );
  }
  return win;
}

/** Records crop or crop_grad over `count` written elements (8 per invocation, elementwise.wgsl). */
function cropPass(
  rt: GpuRuntime,
  def: KernelDef,
  src: BufRef,
  dst: BufRef,
  count: number,
  { h, w, ho, wo, top, left }: CropWindow,
): void {
  rt.dispatch(def, ew1(count, { h, w, ho, wo, top, left }), [src, dst], groups(count / 8));
}

/** Crop planes: x [P,H,W] → y [P,Ho,Wo], the window `win`. */
export function crop(rt: GpuRuntime, x: BufRef, y: BufRef, win: CropWindow): void {
  cropPass(rt, KERNELS.crop, x, y, win.planes * win.ho * win.wo, win);
}

/** Adjoint of {@linkcode crop}: gy [P,Ho,Wo] → gx [P,H,W], zero outside the window. */
export function cropGrad(rt: GpuRuntime, gy: BufRef, gx: BufRef, win: CropWindow): void {
  cropPass(rt, KERNELS.cropGrad, gy, gx, win.planes * win.h * win.w, win);
}

function ew3(count: number, alpha = 0, beta = 0, slope = 0) {
  return [count, 0, 0, 0, { f32: alpha }, { f32: beta }, { f32: slope }, 0];
}

/** gx = gy · (y > 0 ? 1 : slope). */
export function leakyGrad(
  rt: GpuRuntime,
  y: BufRef,
  gy: BufRef,
  gx: BufRef,
  count: number,
  slope: number,
): void {
  elementwise(rt, KERNELS.leakyGrad, count, (n) => ew3(n, 0, 0, slope), [y, gy, gx], true);
}

/** z = alpha·x + beta·y (z must not alias x or y). */
export function axpby(
  rt: GpuRuntime,
  x: BufRef,
  y: BufRef,
  z: BufRef,
  count: number,
  alpha: number,
  beta: number,
): void {
  elementwise(rt, KERNELS.axpby, count, (n) => ew3(n, alpha, beta), [x, y, z], true);
}

/** y = alpha everywhere. */
export function fill(rt: GpuRuntime, y: BufRef, count: number, alpha: number): void {
  elementwise(rt, KERNELS.fill, count, (n) => ew3(n, alpha), [null, null, y], true);
}

/** g = (2/count)·(a − b)·gl[0]. */
export function mseGrad(
  rt: GpuRuntime,
  a: BufRef,
  b: BufRef,
  gl: BufRef,
  g: BufRef,
  count: number,
): void {
  rt.dispatch(KERNELS.mseGrad, mseParams(count, 2 / count), [a, b, gl, g], groups(count));
}

/** g = coef·gl[0] everywhere (the gradient of coef·Σx). */
export function broadcast(
  rt: GpuRuntime,
  gl: BufRef,
  g: BufRef,
  count: number,
  coef: number,
): void {
  rt.dispatch(KERNELS.broadcast, mseParams(count, coef), [null, null, gl, g], groups(count));
}

function mseParams(count: number, coef: number, win?: CropWindow): Param[] {
  const c = win ? [win.h, win.w, win.ho, win.wo, win.top, win.left] : [0, 0, 0, 0, 0, 0];
  return [count, 0, { f32: coef }, 0, ...c, 0, 0];
}

/**
 * out[0] = mean((crop(a) − b)²) for a [planes, h, w] and b [planes, ho, wo], the window `win`:
 * one pass of row sums (crop_sqdiff, mse.wgsl), then `finish`.
 *
 * @param rt Runtime.
 * @param a Uncropped prediction.
 * @param b Target.
 * @param out Loss [1].
 * @param win The crop window ({@linkcode cropWindow}).
 * @param scratch Temporary allocator.
 */
export function cropMse(
  rt: GpuRuntime,
  a: BufRef,
  b: BufRef,
  out: BufRef,
  win: CropWindow,
  scratch: (floats: number) => BufRef,
): void {
  need(a, win.planes * win.h * win.w, "a", "crop_mse");
  need(b, win.planes * win.ho * win.wo, "b", "crop_mse");
  const rows = win.planes * win.ho;
  const part = scratch(rows);
  rt.dispatch(KERNELS.cropSqdiff, mseParams(rows, 0, win), [a, b, null, part], groups(rows));
  rt.dispatch(
    KERNELS.finish,
    [rows, 0, 0, 0, 0, 0, { f32: 1 / (rows * win.wo) }, 0],
    [part, null, out],
    1,
  );
}

/**
 * The gradient of {@linkcode cropMse} with respect to a: g [planes, h, w] =
 * 2(a − b)/numel(b) · gl[0] inside the window, 0 outside (crop_mse_grad, mse.wgsl).
 *
 * @param rt Runtime.
 * @param a Uncropped prediction.
 * @param b Target.
 * @param gl Upstream gradient of the loss [1].
 * @param g Gradient, shaped as a (written).
 * @param win The crop window ({@linkcode cropWindow}).
 * @param act The backward of the leaky ReLU whose output a is, and of its bias
 *   ({@linkcode ActGrad}; `m` is a itself, planes are images of `channels` channels): g is then
 *   the gradient before that ReLU (crop_mse_grad_act).
 */
export function cropMseGrad(
  rt: GpuRuntime,
  a: BufRef,
  b: BufRef,
  gl: BufRef,
  g: BufRef,
  win: CropWindow,
  act: (ActGrad & { channels: number }) | null = null,
): void {
  need(a, win.planes * win.h * win.w, "a", "crop_mse_grad");
  need(b, win.planes * win.ho * win.wo, "b", "crop_mse_grad");
  need(g, win.planes * win.h * win.w, "g", "crop_mse_grad");
  const rows = win.planes * win.h;
  const params = mseParams(rows, 2 / (win.planes * win.ho * win.wo), win);
  if (!act) {
    rt.dispatch(KERNELS.cropMseGrad, params, [a, b, gl, g], groups(rows));
    return;
  }
  if (win.planes % act.channels !== 0) {
    throw new RangeError(
      `Cannot run crop_mse_grad_act: ${win.planes} planes are not whole images of ${act.channels} channels`,
    );
  }
  // One partial per row of each plane: [N·h rows, C].
  const ep = actPartials(rt, act, rows / act.channels, act.channels, "crop_mse_grad_act");
  params[1] = act.channels;
  params[3] = { f32: act.slope };
  rt.dispatch(KERNELS.cropMseGradAct, params, [a, b, gl, g, ep.part], groups(rows));
  ep.finish();
}

const CHUNK = 4096;

/**
 * out[0] = scale · Σ x (or Σ (x − y)² when y is given), in two passes.
 *
 * @param rt Runtime.
 * @param x Values.
 * @param y Second operand for a squared difference, or null.
 * @param out Output [1].
 * @param count Elements.
 * @param scale Factor (1/count for a mean).
 * @param scratch Temporary allocator.
 */
export function sum(
  rt: GpuRuntime,
  x: BufRef,
  y: BufRef | null,
  out: BufRef,
  count: number,
  scale: number,
  scratch: (floats: number) => BufRef,
): void {
  const parts = Math.max(1, Math.ceil(count / CHUNK));
  const part = scratch(parts);
  const p = [count, 0, 0, 0, CHUNK, 0, { f32: 1 }, 0];
  if (y) rt.dispatch(KERNELS.sqdiffPartial, p, [x, y, part], parts);
  else rt.dispatch(KERNELS.sumPartial, p, [x, null, part], parts);
  rt.dispatch(KERNELS.finish, [parts, 0, 0, 0, 0, 0, { f32: scale }, 0], [part, null, out], 1);
}

function decParams(n: number, k: number, d: number, alpha: number) {
  return [n, k, d, 0, { f32: alpha }, 0, 0, 0];
}

/** q [N,K] = Student's t soft assignment of z [N,D] to mu [K,D]. */
export function softAssign(
  rt: GpuRuntime,
  z: BufRef,
  mu: BufRef,
  q: BufRef,
  n: number,
  k: number,
  d: number,
  alpha: number,
): void {
  need(z, n * d, "z", "soft_assign");
  need(mu, k * d, "mu", "soft_assign");
  rt.dispatch(
    KERNELS.softAssign,
    decParams(n, k, d, alpha),
    [z, mu, null, null, null, q],
    groups(n),
  );
}

/** p [N,K] = target distribution of q, using column sums f [K] (computed here into `f`). */
export function targetDistribution(
  rt: GpuRuntime,
  q: BufRef,
  f: BufRef,
  p: BufRef,
  n: number,
  k: number,
): void {
  // One workgroup per column.
  rt.dispatch(KERNELS.colSum, decParams(n, k, 0, 1), [null, null, null, q, null, f], k);
  rt.dispatch(KERNELS.target, decParams(n, k, 0, 1), [null, null, f, q, null, p], groups(n));
}

/** out[0] = KL(p‖q) = (1/N) Σ p log(p/q). */
export function klLoss(
  rt: GpuRuntime,
  p: BufRef,
  q: BufRef,
  out: BufRef,
  n: number,
  k: number,
  scratch: (floats: number) => BufRef,
): void {
  const rows = scratch(n);
  rt.dispatch(KERNELS.klRows, decParams(n, k, 0, 1), [null, null, p, q, null, rows], groups(n));
  sum(rt, rows, null, out, n, 1 / n, scratch);
}

/**
 * gz [N,D] and gmu [K,D] of KL(p‖q) with p held constant, scaled by gl[0]: the coefficients
 * C [N,K] once (`kl_coef`, into scratch), then each gradient from them.
 */
export function klGrad(
  rt: GpuRuntime,
  z: BufRef,
  mu: BufRef,
  p: BufRef,
  q: BufRef,
  gl: BufRef,
  gz: BufRef | null,
  gmu: BufRef | null,
  n: number,
  k: number,
  d: number,
  alpha: number,
  scratch: (floats: number) => BufRef,
): void {
  if (!gz && !gmu) return;
  const params = decParams(n, k, d, alpha);
  const c = scratch(n * k);
  rt.dispatch(KERNELS.klCoef, params, [z, mu, p, q, null, c], groups(n));
  if (gz) rt.dispatch(KERNELS.klGradZ, params, [z, mu, c, null, gl, gz], groups(n * d));
  // One workgroup per element of gmu.
  if (gmu) rt.dispatch(KERNELS.klGradMu, params, [z, mu, c, null, gl, gmu], k * d);
}

/** Hyper-parameters of one Adam step (PyTorch semantics). */
export interface AdamStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step number after increment. */
  t: number;
}

/** One Adam update of `count` parameters in place. */
export function adam(
  rt: GpuRuntime,
  grad: BufRef,
  param: BufRef,
  m: BufRef,
  v: BufRef,
  count: number,
  s: AdamStep,
): void {
  const bc1 = 1 - s.beta1 ** s.t, bc2 = 1 - s.beta2 ** s.t;
  rt.dispatch(
    KERNELS.adam,
    [
      count,
      0,
      0,
      0,
      { f32: s.lr },
      { f32: s.beta1 },
      { f32: s.beta2 },
      { f32: s.eps },
      { f32: s.weightDecay },
      {
        f32: bc1,
      },
      { f32: Math.sqrt(bc2) },
      { f32: 0 },
      { f32: 0 },
      { f32: 1 - s.beta1 },
      { f32: 1 - s.beta2 },
      0,
    ],
    [grad, param, m, v].map((r, i) => vec4View(r, ["grad", "param", "m", "v"][i], "adam")),
    groups(Math.ceil(count / 4)),
  );
}

/** Hyper-parameters of one SGD step (PyTorch semantics). */
export interface SgdStep {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  first: boolean;
}

/** One SGD update of `count` parameters in place. */
export function sgd(
  rt: GpuRuntime,
  grad: BufRef,
  param: BufRef,
  buf: BufRef,
  count: number,
  s: SgdStep,
): void {
  rt.dispatch(
    KERNELS.sgd,
    [
      count,
      s.first ? 1 : 0,
      s.nesterov ? 1 : 0,
      0,
      { f32: s.lr },
      { f32: 0 },
      { f32: 0 },
      { f32: 0 },
      {
        f32: s.weightDecay,
      },
      { f32: 1 },
      { f32: 1 },
      { f32: s.momentum },
      { f32: s.dampening },
      0,
      0,
      0,
    ],
    [
      vec4View(grad, "grad", "sgd"),
      vec4View(param, "param", "sgd"),
      vec4View(buf, "buf", "sgd"),
      null,
    ],
    groups(Math.ceil(count / 4)),
  );
}
