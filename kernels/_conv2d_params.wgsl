// Fragment of conv2d.wgsl and conv2d_gemm.wgsl: binding 0, the parameters both take in one
// layout (the host's convParams in lib/gpu/kernels.ts, then has_bias, slope and co4p; co4p is
// unused by the GEMM).
struct Params {
  n: u32, ci: u32, h: u32, w: u32,
  co: u32, ho: u32, wo: u32, kh: u32,
  kw: u32, sh: u32, sw: u32, ph: u32,
  pw: u32, has_bias: u32, slope: f32, co4p: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
