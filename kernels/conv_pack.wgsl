// conv_pack: repacks a convolution weight channel-last in vec4s of output channels, so that
// one vec4 load in conv2d / conv_transpose2d feeds 4 output channels.
//
//   wp[(i·KK + tap)·O4P + q] = (w[4q, i, tap], w[4q+1, i, tap], w[4q+2, i, tap], w[4q+3, i, tap])
//
// where w[o, i, tap] = W[o·so + i·si + tap] and channels o >= O read as 0. O4P >= ceil(O/4)
// pads the quads so that kernels reading a tile of quads never go past the end.
// conv2d weight [Co,Ci,KH,KW]: O = Co, I = Ci, so = Ci·KK, si = KK.
// conv_transpose2d weight [A,B,KH,KW] (output channel b): O = B, I = A, so = KK, si = B·KK.
// Bindings: 0 params, 1 w, 2 wp. One invocation per vec4.
// Dispatch: ceil(I · KK · O4P / 64) workgroups of 64, linear grid.

struct Params {
  o: u32, i: u32, kk: u32, o4p: u32,
  so: u32, si: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read_write> Wp: array<vec4f>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (idx >= P.i * P.kk * P.o4p) { return; }
  let q = idx % P.o4p;
  let rest = idx / P.o4p;
  let tap = rest % P.kk;
  let i = rest / P.kk;
  let src = i * P.si + tap;
  var v = vec4f(0.0);
  for (var k = 0u; k < 4u; k++) {
    let o = q * 4u + k;
    if (o < P.o) { v[k] = W[o * P.so + src]; }
  }
  Wp[idx] = v;
}
