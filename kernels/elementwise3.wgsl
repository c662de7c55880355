// elementwise3: the two-input elementwise kernels, and fill. One invocation per element;
// dispatch ceil(count / 64) workgroups, linear grid. Bindings: 0 params, 1 and 2 inputs,
// 3 output (fill binds only 3).
//
//   leaky_grad  gx = gy · (y > 0 ? 1 : slope)   1 y, 2 gy, 3 gx
//               y is the layer's OUTPUT: with slope > 0, sign(y) = sign(x), so the
//               pre-activation need not be kept (PyTorch's rule: slope at x = 0).
//   axpby       z = alpha·x + beta·y            1 x, 2 y, 3 z
//   fill        y = alpha                       3 y
//
// With the define V4 = 1 (the host sets it where count is a multiple of 4) every binding is
// read and written as vec4s and count is in vec4s, with the scalar kernels' arithmetic per
// lane (see elementwise.wgsl).

struct Params {
  count: u32, _p0: u32, _p1: u32, _p2: u32,
  alpha: f32, beta: f32, slope: f32, coef: f32,
}

@group(0) @binding(0) var<uniform> P: Params;
/*if V4*/
alias E = vec4f;
/*else*/
alias E = f32;
/*endif*/
@group(0) @binding(1) var<storage, read> B1: array<E>;
@group(0) @binding(2) var<storage, read> B2: array<E>;
@group(0) @binding(3) var<storage, read_write> B3: array<E>;

fn linear_id(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * 64u + lid;
}

@compute @workgroup_size(64)
fn leaky_grad(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) lid: u32) {
  let i = linear_id(wid, nwg, lid);
  if (i >= P.count) { return; }
  B3[i] = select(E(P.slope), E(1.0), B1[i] > E(0.0)) * B2[i];
}

@compute @workgroup_size(64)
fn axpby(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let i = linear_id(wid, nwg, lid);
  if (i >= P.count) { return; }
  B3[i] = P.alpha * B1[i] + P.beta * B2[i];
}

@compute @workgroup_size(64)
fn fill(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_id(wid, nwg, lid);
  if (i >= P.count) { return; }
  B3[i] = E(P.alpha);
}
