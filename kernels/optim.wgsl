// optim: in-place optimizer updates, one invocation per parameter element; dispatch
// ceil(count/64) workgroups, linear grid. All parameters of a model live in one buffer
// (and their gradients and moments in matching buffers), so one dispatch updates the whole
// model.
//
//   adam  torch.optim.Adam (amsgrad off). Bindings: 1 grad (read), 2 param, 3 m, 4 v.
//         g = grad + wd·param;  m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;
//         param −= (lr / bc1) · m / (sqrt(v) / sqrt(bc2) + eps),  bc = 1 − β^t
//         1 − β1, 1 − β2 and the bias corrections come from the host in double precision:
//         1 − f32(0.999) in f32 is 200 ulps off 0.001 (PyTorch computes it in double).
//   sgd   torch.optim.SGD. Bindings: 1 grad (read), 2 param, 3 buf.
//         g = grad + wd·param;  buf = first ? g : momentum·buf + (1 − dampening)·g;
//         d = nesterov ? g + momentum·buf : buf (d = g when momentum = 0);  param −= lr·d

struct Params {
  count: u32, first: u32, nesterov: u32, _p0: u32,
  lr: f32, beta1: f32, beta2: f32, eps: f32,
  wd: f32, bc1: f32, sqrt_bc2: f32, momentum: f32,
  dampening: f32, one_m_beta1: f32, one_m_beta2: f32, _p3: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> W: array<f32>;
@group(0) @binding(3) var<storage, read_write> M: array<f32>;
@group(0) @binding(4) var<storage, read_write> V: array<f32>;

@compute @workgroup_size(64)
fn adam(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.count) { return; }
  let g = G[i] + P.wd * W[i];
  let m = P.beta1 * M[i] + P.one_m_beta1 * g;
  let v = P.beta2 * V[i] + P.one_m_beta2 * g * g;
  M[i] = m;
  V[i] = v;
  W[i] -= (P.lr / P.bc1) * m / (sqrt(v) / P.sqrt_bc2 + P.eps);
}

@compute @workgroup_size(64)
fn sgd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
       @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.count) { return; }
  let g = G[i] + P.wd * W[i];
  var d = g;
  if (P.momentum != 0.0) {
    var b = g;
    if (P.first == 0u) { b = P.momentum * M[i] + (1.0 - P.dampening) * g; }
    M[i] = b;
    if (P.nesterov == 1u) { d = g + P.momentum * b; } else { d = b; }
  }
  W[i] -= P.lr * d;
}
