// dec: Deep Embedded Clustering. z [N,D] embeddings, mu [K,D] centroids, q/p [N,K].
// Bindings: 0 params, 1 Z, 2 MU, 3 PM, 4 QM, 5 GL (read), 6 OUT (read_write); each entry binds
// the subset it names. Workgroups are 64 wide; linear grid (wid.x + wid.y · nwg.x).
//
//   soft_assign  q[i,j] = (1 + |z_i − mu_j|²/α)^(−(α+1)/2) / Σ_j'(...)     binds 1, 2, 6
//                Student's t kernel, normalised in log space (row max subtracted), so far
//                points do not underflow to 0/0; q ≥ 2^-126 (f32's smallest normal), so
//                log q stays finite. One invocation per row; ceil(N/64).
//   col_sum      f[j] = Σ_i q[i,j]; one workgroup per j (K workgroups): its 64
//                invocations take every 64th row, then a tree in workgroup memory. binds 4, 6
//   target_dist  p[i,j] = (q[i,j]²/f_j) / Σ_j' (q[i,j']²/f_j'); per row.   binds 4 (q), 3 (f), 6
//   kl_rows      r[i] = Σ_j p[i,j]·(log p[i,j] − log q[i,j]) (0 where p = 0); per row.
//                The loss KL(p‖q) = (1/N)·Σ_i r[i] (PyTorch kl_div, reduction "batchmean")
//                is finished by reduce.wgsl.                                binds 3, 4, 6
//   kl_coef      C[i,j] = w_ij (p_ij − s_i·q_ij), with w_ij = 1/(1 + |z_i − mu_j|²/α) and
//                s_i = Σ_j p_ij (1 for a target distribution); per row.     binds 1..4, 6
//   grad_z       gz[i,d] = gl·c·Σ_j C[i,j] (z_id − mu_jd); one invocation per element,
//                ceil(N·D/64) workgroups.                           binds 1, 2, 3 (C), 5, 6
//   grad_mu      gmu[j,d] = −gl·c·Σ_i C[i,j] (z_id − mu_jd): a sum over the N rows, one
//                workgroup per element (K·D workgroups), reduced as col_sum's, so that a
//                large batch is not N serial steps of a few threads.     binds 1, 2, 3 (C), 5, 6
//                c = (α+1)/(α·N), gl = GL[0] the upstream gradient of the loss; p is held
//                constant (the DEC target). C is computed once per (i, j), so each gradient
//                element costs K or N multiply-adds, not as many distances.

struct Params { n: u32, k: u32, d: u32, _p0: u32, alpha: f32, _p1: u32, _p2: u32, _p3: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Z: array<f32>;
@group(0) @binding(2) var<storage, read> MU: array<f32>;
@group(0) @binding(3) var<storage, read> PM: array<f32>;
@group(0) @binding(4) var<storage, read> QM: array<f32>;
@group(0) @binding(5) var<storage, read> GL: array<f32>;
@group(0) @binding(6) var<storage, read_write> OUT: array<f32>;

fn gid(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * 64u + lid;
}

fn dist2(i: u32, j: u32) -> f32 {
  var s = 0.0;
  for (var t = 0u; t < P.d; t++) {
    let e = Z[i * P.d + t] - MU[j * P.d + t];
    s += e * e;
  }
  return s;
}

// WGSL lets a compiler assume no NaN or infinity, and llvmpipe's comparisons do (NaN != 0 is
// false there): a value is tested by its exponent bits, and a NaN is made at run time (a
// constant NaN is a shader-creation error).
fn finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

fn nan() -> f32 {
  return bitcast<f32>(0x7fc00000u | min(P.n, 0u));
}

const Q_MIN = 1.17549435e-38; // 2^-126

var<workgroup> RED: array<f32, 64>;

// The sum of the 64 invocations' `v` (every invocation of the workgroup must call it): a
// tree in workgroup memory; the result is valid in invocation 0.
fn workgroup_sum(v: f32, lid: u32) -> f32 {
  RED[lid] = v;
  workgroupBarrier();
  for (var w = 32u; w > 0u; w >>= 1u) {
    if (lid < w) { RED[lid] += RED[lid + w]; }
    workgroupBarrier();
  }
  return RED[0];
}

// Linear workgroup index over a 2-D grid.
fn group_index(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

fn row_sum_p(i: u32) -> f32 {
  var s = 0.0;
  for (var j = 0u; j < P.k; j++) { s += PM[i * P.k + j]; }
  return s;
}

@compute @workgroup_size(64)
fn soft_assign(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) lid: u32) {
  let i = gid(wid, nwg, lid);
  if (i >= P.n) { return; }
  let e = -(P.alpha + 1.0) / 2.0;
  var mx = -3.4e38;
  for (var j = 0u; j < P.k; j++) {
    mx = max(mx, e * log(1.0 + dist2(i, j) / P.alpha));
  }
  var s = 0.0;
  for (var j = 0u; j < P.k; j++) {
    let v = exp(e * log(1.0 + dist2(i, j) / P.alpha) - mx);
    OUT[i * P.k + j] = v;
    s += v;
  }
  // A q below f32's smallest normal (2^-126; a far centre at a large α) is raised to it: a GPU
  // that flushes subnormals would make it 0, and log q (the loss) −∞ where a stale target p is
  // not 0. A NaN stays NaN (tested by its bits: see finite()).
  for (var j = 0u; j < P.k; j++) {
    let q = OUT[i * P.k + j] / s;
    OUT[i * P.k + j] = select(q, Q_MIN, finite(q) && q < Q_MIN);
  }
}

@compute @workgroup_size(64)
fn col_sum(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  // The whole workgroup returns together (uniform control flow for the barriers).
  let j = group_index(wid, nwg);
  if (j >= P.k) { return; }
  var s = 0.0;
  for (var i = lid; i < P.n; i += 64u) { s += QM[i * P.k + j]; }
  let total = workgroup_sum(s, lid);
  if (lid == 0u) { OUT[j] = total; }
}

@compute @workgroup_size(64)
fn target_dist(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
          @builtin(local_invocation_index) lid: u32) {
  let i = gid(wid, nwg, lid);
  if (i >= P.n) { return; }
  // A column whose q all underflowed (f_j = 0) gets p = 0, as in the CPU reference. A q or f
  // that is not finite (from a NaN code) makes the row NaN, so that the loss says so and
  // training stops, instead of p = 0 and a loss of 0.
  // q·(q/f), not q²/f: q² underflows below 1e-19 where p itself is representable.
  var s = 0.0;
  var ok = true;
  for (var j = 0u; j < P.k; j++) {
    let q = QM[i * P.k + j];
    ok = ok && finite(q) && finite(PM[j]);
    if (PM[j] > 0.0) { s += q * (q / PM[j]); }
  }
  for (var j = 0u; j < P.k; j++) {
    let q = QM[i * P.k + j];
    var v = 0.0;
    if (!ok) { v = nan(); } else if (PM[j] > 0.0 && s > 0.0) { v = q * (q / PM[j]) / s; }
    OUT[i * P.k + j] = v;
  }
}

@compute @workgroup_size(64)
fn kl_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let i = gid(wid, nwg, lid);
  if (i >= P.n) { return; }
  var s = 0.0;
  for (var j = 0u; j < P.k; j++) {
    let p = PM[i * P.k + j];
    // Terms with p = 0 add 0; a p that is not finite makes the loss NaN, as in the reference.
    if (!finite(p)) {
      s = nan();
      break;
    }
    if (p > 0.0) { s += p * (log(p) - log(QM[i * P.k + j])); }
  }
  OUT[i] = s;
}

@compute @workgroup_size(64)
fn kl_coef(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let i = gid(wid, nwg, lid);
  if (i >= P.n) { return; }
  let si = row_sum_p(i);
  for (var j = 0u; j < P.k; j++) {
    let w = 1.0 / (1.0 + dist2(i, j) / P.alpha);
    OUT[i * P.k + j] = w * (PM[i * P.k + j] - si * QM[i * P.k + j]);
  }
}

@compute @workgroup_size(64)
fn grad_z(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
          @builtin(local_invocation_index) lid: u32) {
  let e = gid(wid, nwg, lid);
  if (e >= P.n * P.d) { return; }
  let i = e / P.d;
  let t = e % P.d;
  var s = 0.0;
  for (var j = 0u; j < P.k; j++) { s += PM[i * P.k + j] * (Z[e] - MU[j * P.d + t]); }
  OUT[e] = GL[0] * (P.alpha + 1.0) / (P.alpha * f32(P.n)) * s;
}

@compute @workgroup_size(64)
fn grad_mu(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  // The whole workgroup returns together (uniform control flow for the barriers).
  let e = group_index(wid, nwg);
  if (e >= P.k * P.d) { return; }
  let j = e / P.d;
  let t = e % P.d;
  var s = 0.0;
  for (var i = lid; i < P.n; i += 64u) { s += PM[i * P.k + j] * (Z[i * P.d + t] - MU[e]); }
  let total = workgroup_sum(s, lid);
  if (lid == 0u) { OUT[e] = -GL[0] * (P.alpha + 1.0) / (P.alpha * f32(P.n)) * total; }
}
