// elementwise: the one-input kernels. Linear grid of 64-wide workgroups (workgroup index =
// wid.x + wid.y · nwg.x). leaky and scale: one invocation per output element, dispatch
// ceil(count / 64) workgroups (count = elements written); crop and crop_grad: 8 elements per
// invocation (see below).
// Bindings: 0 params, 1 input, 2 output.
//
// With the define V4 = 1 (the host sets it where count is a multiple of 4) leaky and scale
// read and write vec4s, count is in vec4s, and crop is not compiled. Each lane's arithmetic
// is the scalar kernel's, so the results are the same; what changes is one vector access for
// four scalar ones. On llvmpipe, where every storage access is a per-lane loop, a 32 MiB
// scale ran at 3.2–3.5 GB/s against 1.6–1.7 (the kernels bench's "scale (copy)", scalar and
// vec4); on a GPU, 16-byte accesses per lane are as coalesced as 4-byte ones and a quarter
// as many.
//
//   leaky      y = x > 0 ? x : slope·x
//   scale      y = alpha·x
//   crop       y[p,h,w] = x[p, h + top, w + left]          x [P,H,W], y [P,Ho,Wo] (P = N·C)
//   crop_grad  gx[p,h,w] = gy[p, h − top, w − left] inside the window, else 0
//              (gy [P,Ho,Wo], gx [P,H,W]); it is the adjoint of crop.

struct Params {
  count: u32, h: u32, w: u32, ho: u32,
  wo: u32, top: u32, left: u32, _pad: u32,
  alpha: f32, slope: f32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> P: Params;

fn linear_id(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * 64u + lid;
}

/*if V4*/
alias E = vec4f;
/*else*/
alias E = f32;
/*endif*/
@group(0) @binding(1) var<storage, read> B1: array<E>;
@group(0) @binding(2) var<storage, read_write> B2: array<E>;

@compute @workgroup_size(64)
fn leaky(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let i = linear_id(wid, nwg, lid);
  if (i >= P.count) { return; }
  let v = B1[i];
  B2[i] = select(P.slope * v, v, v > E(0.0));
}

@compute @workgroup_size(64)
fn scale(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let i = linear_id(wid, nwg, lid);
  if (i >= P.count) { return; }
  B2[i] = P.alpha * B1[i];
}

/*if V4*/
/*else*/
// crop and crop_grad: CE consecutive elements per invocation, whose (plane, row, column) is
// divided out once and then stepped (a vector integer division is a per-lane loop on a CPU
// adapter and cost as much as the copy itself). Dispatch: ceil(count / (64·CE)).
const CE: u32 = 8u; // the bound of the unrolled loops below

// The (plane, row, column) after pos in a [planes, rows, cols] layout.
fn next_pos(pos: vec3u, rows: u32, cols: u32) -> vec3u {
  let wrap = pos.z + 1u == cols;
  let r = pos.y + select(0u, 1u, wrap);
  let wrap2 = r == rows;
  return vec3u(pos.x + select(0u, 1u, wrap2), select(r, 0u, wrap2), select(pos.z + 1u, 0u, wrap));
}

@compute @workgroup_size(64)
fn crop(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i0 = linear_id(wid, nwg, lid) * CE;
  if (i0 >= P.count) { return; }
  let hw = P.ho * P.wo;
  var pos = vec3u(i0 / hw, (i0 % hw) / P.wo, i0 % P.wo); // (plane, oh, ow)
  /*unroll*/ for (var e = 0u; e < 8u; e++) {
    if (i0 + e < P.count) {
      B2[i0 + e] = B1[pos.x * P.h * P.w + (pos.y + P.top) * P.w + pos.z + P.left];
    }
    pos = next_pos(pos, P.ho, P.wo);
  }
}

@compute @workgroup_size(64)
fn crop_grad(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) lid: u32) {
  let i0 = linear_id(wid, nwg, lid) * CE;
  if (i0 >= P.count) { return; }
  let hw = P.h * P.w;
  var pos = vec3u(i0 / hw, (i0 % hw) / P.w, i0 % P.w); // (plane, ih, iw)
  /*unroll*/ for (var e = 0u; e < 8u; e++) {
    if (i0 + e < P.count) {
      let ih = pos.y;
      let iw = pos.z;
      let inside = ih >= P.top && ih < P.top + P.ho && iw >= P.left && iw < P.left + P.wo;
      var v = 0.0;
      if (inside) {
        v = B1[pos.x * P.ho * P.wo + (ih - P.top) * P.wo + iw - P.left];
      }
      B2[i0 + e] = v;
    }
    pos = next_pos(pos, P.h, P.w);
  }
}
/*endif*/
