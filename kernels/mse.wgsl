// mse: the gradient of the mean squared error (the loss itself is `sqdiff` in reduce.wgsl).
//
//   g[i] = coef · (a[i] − b[i]) · gl[0]      coef = 2 / numel
//
// gl holds the upstream gradient of the scalar loss (1 for `loss.backward()`), so the
// scale stays on the GPU and no read-back is needed. Bindings: 0 params, 1 a, 2 b, 3 gl, 4 g.
// One invocation per element; dispatch ceil(count / 64) workgroups.
//
// Entry `broadcast` is the gradient of a scaled sum: g[i] = coef · gl[0] (binds 3, 4).

struct Params { count: u32, _p0: u32, coef: f32, _p1: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read> GL: array<f32>;
@group(0) @binding(4) var<storage, read_write> G: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.count) { return; }
  G[i] = P.coef * (A[i] - B[i]) * GL[0];
}

@compute @workgroup_size(64)
fn broadcast(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.count) { return; }
  G[i] = P.coef * GL[0];
}
