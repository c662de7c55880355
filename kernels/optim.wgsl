// optim: in-place optimizer updates, one invocation per vec4 of parameters; dispatch
// ceil(ceil(count/4)/64) workgroups, linear grid. All parameters of a model live in one
// buffer (and their gradients and moments in matching buffers), so one dispatch updates the
// whole model. Buffers are bound as vec4s (on llvmpipe a vec4 access costs about twice a
// scalar one, not four times); the host rounds each binding up to whole vec4s, and the
// lanes past `count` in the last vec4 write back what they read.
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
@group(0) @binding(1) var<storage, read> G: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> W: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> M: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> V: array<vec4f>;

// Which of the 4 values of vec4 i are parameters (the last vec4 may run past count).
fn live(i: u32) -> vec4<bool> {
  return vec4u(4u * i) + vec4u(0u, 1u, 2u, 3u) < vec4u(P.count);
}

@compute @workgroup_size(64)
fn adam(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= (P.count + 3u) / 4u) { return; }
  let on = live(i);
  let w = W[i];
  let m0 = M[i];
  let v0 = V[i];
  let g = G[i] + P.wd * w;
  let m = P.beta1 * m0 + P.one_m_beta1 * g;
  let v = P.beta2 * v0 + P.one_m_beta2 * g * g;
  M[i] = select(m0, m, on);
  V[i] = select(v0, v, on);
  W[i] = select(w, w - (P.lr / P.bc1) * m / (sqrt(v) / P.sqrt_bc2 + P.eps), on);
}

@compute @workgroup_size(64)
fn sgd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
       @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= (P.count + 3u) / 4u) { return; }
  let on = live(i);
  let w = W[i];
  let g = G[i] + P.wd * w;
  var d = g;
  if (P.momentum != 0.0) {
    let b0 = M[i];
    var b = g;
    if (P.first == 0u) { b = P.momentum * b0 + (1.0 - P.dampening) * g; }
    M[i] = select(b0, b, on);
    if (P.nesterov == 1u) { d = g + P.momentum * b; } else { d = b; }
  }
  W[i] = select(w, w - P.lr * d, on);
}
