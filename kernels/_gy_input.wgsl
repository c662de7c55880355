// Fragment of conv_weight_grad.wgsl and conv_weight_grad_row.wgsl (define XT): binding 2, the
// output gradient gy, and gyat(i) = gy[i], from a storage buffer or (XT = 1) a texture laid
// out as _x_input.wgsl's x.
/*if XT*/
@group(0) @binding(2) var GYTEX: texture_2d<f32>;

fn gyat(i: u32) -> f32 {
  return textureLoad(GYTEX, vec2u(i & 4095u, i >> 12u), 0).x;
}
/*else*/
@group(0) @binding(2) var<storage, read> GY: array<f32>;

fn gyat(i: u32) -> f32 {
  return GY[i];
}
/*endif*/
