// matmul: C = act(op(A) · op(B) + bias), the Linear layer and its gradients.
//
//   op(A) is A [M,K], or Aᵀ when ta = 1 (A stored [K,M]);
//   op(B) is B [K,N], or Bᵀ when tb = 1 (B stored [N,K]);
//   bias [N] is added when has_bias = 1; act(v) = v > 0 ? v : slope·v (slope 1 = none).
//
// Linear y = x·Wᵀ + b (W [out,in]): A = x, B = W, tb = 1.  dL/dx = gy·W: A = gy, B = W.
// dL/dW = gyᵀ·x: A = gy with ta = 1, B = x.
// Bindings: 0 params, 1 A, 2 B, 3 bias, 4 C. With the define XT = 1 (tuning `textureInputs`,
// software adapters) A and B are textures the runtime copies them into, laid out as
// _x_input.wgsl's x (aat, bat).
//
// Split-K: with splits = S > 1 the K axis is cut into chunks of kc, split s covers
// [s·kc, min(K, (s+1)·kc)), and each split writes its raw partial product (no bias, no
// activation) to C[s·M·N + i·N + j]; `split_sum_act` (reduce.wgsl) adds the S partials, the
// bias and the activation. The host splits when M·N alone gives too few invocations to fill
// the adapter, as for the latent Linear (M = batch, N = 9, K = 1152): unsplit, that is one
// workgroup on one CPU thread of llvmpipe, or one SM of a GPU.
//
// Two entry points, chosen per adapter by measurement (lib/gpu/kernels.ts, defaultTuning):
// - `tiled`: a workgroup of 8×8 invocations computes a 32×32 tile of C, staging 32×16 tiles
//   of op(A) and op(B) through workgroup memory; each invocation keeps a 4×4 block of C in
//   registers. Dispatch: ceil(M/32)·ceil(N/32)·S workgroups, linear grid.
// - `blocked`: no workgroup memory; each invocation computes a 4×4 block straight from
//   storage. Software adapters (llvmpipe), where workgroup memory is ordinary memory and
//   barriers are costly, run this faster. Dispatch: ceil(ceil(M/4)·ceil(N/4)·S/64) workgroups.

struct Params {
  m: u32, n: u32, k: u32, ta: u32,
  tb: u32, has_bias: u32, slope: f32, splits: u32,
  kc: u32, _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
/*if XT*/
@group(0) @binding(1) var ATEX: texture_2d<f32>;
@group(0) @binding(2) var BTEX: texture_2d<f32>;

fn aat(i: u32) -> f32 {
  return textureLoad(ATEX, vec2u(i & 4095u, i >> 12u), 0).x;
}

fn bat(i: u32) -> f32 {
  return textureLoad(BTEX, vec2u(i & 4095u, i >> 12u), 0).x;
}
/*else*/
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;

fn aat(i: u32) -> f32 {
  return A[i];
}

fn bat(i: u32) -> f32 {
  return B[i];
}
/*endif*/
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<f32>;

fn a_at(i: u32, k: u32, kend: u32) -> f32 {
  if (i >= P.m || k >= kend) { return 0.0; }
  if (P.ta == 1u) { return aat(k * P.m + i); }
  return aat(i * P.k + k);
}

fn b_at(k: u32, j: u32, kend: u32) -> f32 {
  if (k >= kend || j >= P.n) { return 0.0; }
  if (P.tb == 1u) { return bat(j * P.k + k); }
  return bat(k * P.n + j);
}

// Stores C[i, j] of split s: act(v + bias) unsplit, the raw partial otherwise.
fn store(s: u32, i: u32, j: u32, v: f32) {
  if (i >= P.m || j >= P.n || s >= P.splits) { return; }
  if (P.splits > 1u) {
    C[(s * P.m + i) * P.n + j] = v;
    return;
  }
  var r = v;
  if (P.has_bias == 1u) { r += Bias[j]; }
  C[i * P.n + j] = select(P.slope * r, r, r > 0.0);
}

var<workgroup> As: array<f32, 512>; // [16 k][32 m]
var<workgroup> Bs: array<f32, 512>; // [16 k][32 n]

@compute @workgroup_size(64)
fn tiled(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let wg = wid.x + wid.y * nwg.x;
  let tiles_n = (P.n + 31u) / 32u;
  let tiles = ((P.m + 31u) / 32u) * tiles_n;
  let s = wg / tiles;
  let tile_m = (wg % tiles) / tiles_n;
  let tile_n = wg % tiles_n;
  let kbeg = s * P.kc;
  let kend = min(P.k, kbeg + P.kc);
  // A workgroup past the end still joins the barriers; it just stores nothing.
  let i0 = tile_m * 32u;
  let j0 = tile_n * 32u;
  let ty = lid / 8u;
  let tx = lid % 8u;
  var acc: array<vec4f, 4>;
  for (var k0 = kbeg; k0 < kend; k0 += 16u) {
    for (var e = lid; e < 512u; e += 64u) {
      let kk = e / 32u;
      let mm = e % 32u;
      As[e] = a_at(i0 + mm, k0 + kk, kend);
      Bs[e] = b_at(k0 + kk, j0 + mm, kend);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let av = vec4f(As[kk * 32u + ty * 4u], As[kk * 32u + ty * 4u + 1u],
                     As[kk * 32u + ty * 4u + 2u], As[kk * 32u + ty * 4u + 3u]);
      let bv = vec4f(Bs[kk * 32u + tx * 4u], Bs[kk * 32u + tx * 4u + 1u],
                     Bs[kk * 32u + tx * 4u + 2u], Bs[kk * 32u + tx * 4u + 3u]);
      acc[0] += av.x * bv;
      acc[1] += av.y * bv;
      acc[2] += av.z * bv;
      acc[3] += av.w * bv;
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let i = i0 + ty * 4u + r;
    let v = acc[r];
    store(s, i, j0 + tx * 4u, v.x);
    store(s, i, j0 + tx * 4u + 1u, v.y);
    store(s, i, j0 + tx * 4u + 2u, v.z);
    store(s, i, j0 + tx * 4u + 3u, v.w);
  }
}

@compute @workgroup_size(64)
fn blocked(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let gid = (wid.x + wid.y * nwg.x) * 64u + lid;
  let tn = (P.n + 3u) / 4u;
  let tm = (P.m + 3u) / 4u;
  if (gid >= tm * tn * P.splits) { return; }
  let s = gid / (tm * tn);
  let idx = gid % (tm * tn);
  let kbeg = s * P.kc;
  let kend = min(P.k, kbeg + P.kc);
  // Consecutive invocations walk along n, sharing the rows of op(A).
  let i0 = (idx / tn) * 4u;
  let j0 = (idx % tn) * 4u;
  let iv = min(vec4u(i0) + vec4u(0u, 1u, 2u, 3u), vec4u(P.m - 1u));
  let jv = min(vec4u(j0) + vec4u(0u, 1u, 2u, 3u), vec4u(P.n - 1u));
  // Element (i, k) of op(A) is at a_row[i] + k·a_step; (k, j) of op(B) at b_col[j] + k·b_step.
  var a_off: vec4u;
  var a_step: u32;
  if (P.ta == 1u) { a_off = iv; a_step = P.m; } else { a_off = iv * P.k; a_step = 1u; }
  var b_off: vec4u;
  var b_step: u32;
  if (P.tb == 1u) { b_off = jv * P.k; b_step = 1u; } else { b_off = jv; b_step = P.n; }
  a_off += vec4u(kbeg * a_step);
  b_off += vec4u(kbeg * b_step);
  var c0 = vec4f(0.0);
  var c1 = vec4f(0.0);
  var c2 = vec4f(0.0);
  var c3 = vec4f(0.0);
  for (var k = kbeg; k < kend; k++) {
    let av = vec4f(aat(a_off.x), aat(a_off.y), aat(a_off.z), aat(a_off.w));
    let bv = vec4f(bat(b_off.x), bat(b_off.y), bat(b_off.z), bat(b_off.w));
    c0 += av.x * bv;
    c1 += av.y * bv;
    c2 += av.z * bv;
    c3 += av.w * bv;
    a_off += vec4u(a_step);
    b_off += vec4u(b_step);
  }
  var acc = array<vec4f, 4>(c0, c1, c2, c3);
  for (var r = 0u; r < 4u; r++) {
    let v = acc[r];
    store(s, i0 + r, j0, v.x);
    store(s, i0 + r, j0 + 1u, v.y);
    store(s, i0 + r, j0 + 2u, v.z);
    store(s, i0 + r, j0 + 3u, v.w);
  }
}
