// Fragment of the conv kernels conv2d, conv_transpose2d and conv_transpose2d_phase (define MT):
// binding 3, the bias or, in the GM variants, the mask source m, and bat(i) = b[i]. MT = 0: a
// storage buffer. MT = 1 (GM with `textureInputs`, on software adapters): an r32float texture
// laid out as _x_input.wgsl's, so that the epilogue's mask, a gather of one value per output
// across channel planes, is a texel fetch and not a per-lane storage load.
/*if MT*/
@group(0) @binding(3) var BTEX: texture_2d<f32>;

fn bat(i: u32) -> f32 {
  return textureLoad(BTEX, vec2u(i & 4095u, i >> 12u), 0).x;
}
/*else*/
@group(0) @binding(3) var<storage, read> B: array<f32>;

fn bat(i: u32) -> f32 {
  return B[i];
}
/*endif*/
