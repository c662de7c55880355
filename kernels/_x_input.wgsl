// Fragment of the conv kernels (conv2d, conv_transpose2d, conv_transpose2d_phase, and the weight
// gradients conv_weight_grad and conv_weight_grad_row; define XT): binding 1, the input x, and
// xat(i) = x[i]. XT = 0: x is a storage buffer. XT = 1 (tuning `textureInputs`, on software
// adapters): the runtime copies x into an r32float texture before the dispatch, 4096 texels a
// row (x[i] at column i mod 4096, row i / 4096; TEXTURE_ROW in lib/gpu/runtime.ts), and the
// kernel fetches texels. On llvmpipe a storage load is a per-lane loop with a bounds test and a
// texel fetch a vector gather: about 3.7 against 1.5 ns per lane in a micro-benchmark; conv2d's
// e1 at batch 256 took 0.70× as long, the copy included.
/*if XT*/
@group(0) @binding(1) var XTEX: texture_2d<f32>;

fn xat(i: u32) -> f32 {
  return textureLoad(XTEX, vec2u(i & 4095u, i >> 12u), 0).x;
}
/*else*/
@group(0) @binding(1) var<storage, read> X: array<f32>;

fn xat(i: u32) -> f32 {
  return X[i];
}
/*endif*/
