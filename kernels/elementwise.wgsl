// elementwise: the one-input kernels. One invocation per output element, linear grid of
// 64-wide workgroups (workgroup index = wid.x + wid.y · nwg.x).
// Dispatch for every entry: ceil(count / 64) workgroups, count = elements written.
// Bindings: 0 params, 1 input, 2 output.
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

@group(0) @binding(1) var<storage, read> B1: array<f32>;
@group(0) @binding(2) var<storage, read_write> B2: array<f32>;

@compute @workgroup_size(64)
fn leaky(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let i = linear_id(wid, nwg, lid);
  if (i >= P.count) { return; }
  let v = B1[i];
  B2[i] = select(P.slope * v, v, v > 0.0);
}

@compute @workgroup_size(64)
fn scale(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let i = linear_id(wid, nwg, lid);
  if (i >= P.count) { return; }
  B2[i] = P.alpha * B1[i];
}

@compute @workgroup_size(64)
fn crop(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_id(wid, nwg, lid);
  if (i >= P.count) { return; }
  let plane = i / (P.ho * P.wo);
  let r = i % (P.ho * P.wo);
  let oh = r / P.wo;
  let ow = r % P.wo;
  B2[i] = B1[plane * P.h * P.w + (oh + P.top) * P.w + ow + P.left];
}

@compute @workgroup_size(64)
fn crop_grad(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) lid: u32) {
  let i = linear_id(wid, nwg, lid);
  if (i >= P.count) { return; }
  let plane = i / (P.h * P.w);
  let r = i % (P.h * P.w);
  let ih = r / P.w;
  let iw = r % P.w;
  var v = 0.0;
  if (ih >= P.top && ih < P.top + P.ho && iw >= P.left && iw < P.left + P.wo) {
    v = B1[plane * P.ho * P.wo + (ih - P.top) * P.wo + iw - P.left];
  }
  B2[i] = v;
}
