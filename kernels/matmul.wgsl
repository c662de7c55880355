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
// _x_input.wgsl's x (aat, bat); see below for the other two ways.
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
// - `blocked`: no workgroup memory; each invocation computes a TM × 4·TN4 block of C (defines;
//   tunings `matmulRows`, `matmulCols`, default 4 × 4) straight from its inputs, the block in
//   registers (every tile loop unrolled). Software adapters (llvmpipe), where workgroup memory
//   is ordinary memory and barriers are costly, run this faster. Dispatch:
//   ceil(ceil(M/TM)·ceil(N/(4·TN4))·S/64) workgroups.
//
// Where A and B come from (one of three defines is 1): XT textures (above), SB scalar storage
// loads, or VA (`blocked` only; tuning `matmulVec4`, the host's choice where ta = tb = 0 and
// K, N and kc are multiples of 4) storage read as vec4s: per 4 steps of k one vec4 of each of
// the block's rows of A, and per step one vec4 of each column quad of B. On llvmpipe, where
// every storage load is a per-lane loop, a 1024³ product ran at 15.5–17.7 GFLOP/s that way with
// blocks of 8×8 to 16×8 and 8.1 with 4×4, against 2.3 (4×4) and 5.5–7.8 (8×12) GFLOP/s with scalar
// texture loads.
// Each output adds its K products in the same order of k whatever the block or the loads, so
// the variants give bit-identical results; only a different split of K changes the rounding.

const TM: u32 = {{TM}}u;
const TN4: u32 = {{TN4}}u;

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
/*endif*/
/*if SB*/
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;

fn aat(i: u32) -> f32 {
  return A[i];
}

fn bat(i: u32) -> f32 {
  return B[i];
}
/*endif*/
/*if VA*/
@group(0) @binding(1) var<storage, read> A4: array<vec4f>;
@group(0) @binding(2) var<storage, read> B4: array<vec4f>;

fn aat(i: u32) -> f32 {
  return A4[i / 4u][i % 4u];
}

fn bat(i: u32) -> f32 {
  return B4[i / 4u][i % 4u];
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
  let tn = (P.n + 4u * TN4 - 1u) / (4u * TN4);
  let tm = (P.m + TM - 1u) / TM;
  if (gid >= tm * tn * P.splits) { return; }
  let s = gid / (tm * tn);
  let idx = gid % (tm * tn);
  let kbeg = s * P.kc;
  let kend = min(P.k, kbeg + P.kc);
  // Consecutive invocations walk along n, sharing the rows of op(A).
  let i0 = (idx / tn) * TM;
  let j0 = (idx % tn) * 4u * TN4;
  // Element (i, k) of op(A) is at a_off[r] + k·a_step; (k, j) of op(B) at b_off[q][c] + k·b_step
  // (rows and columns past the end are clamped to the last one and not stored).
  let a_step = select(1u, P.m, P.ta == 1u);
  let b_step = select(P.n, 1u, P.tb == 1u);
  var a_off: array<u32, TM>;
  /*unroll*/ for (var r = 0u; r < {{TM}}u; r++) {
    let i = min(i0 + r, P.m - 1u);
    a_off[r] = select(i * P.k, i, P.ta == 1u) + kbeg * a_step;
  }
  var b_off: array<vec4u, TN4>;
  /*unroll*/ for (var q = 0u; q < {{TN4}}u; q++) {
    let jv = min(vec4u(j0 + 4u * q) + vec4u(0u, 1u, 2u, 3u), vec4u(P.n - 1u));
    b_off[q] = select(jv, jv * P.k, P.tb == 1u) + vec4u(kbeg * b_step);
  }
  var acc: array<vec4f, TM * TN4>;
/*if VA*/
  // A [M,K] and B [K,N] read as vec4s (K, N and kc multiples of 4): per 4 steps of k, one vec4
  // of each row of A and one of each column quad of B per step.
  var a4: array<u32, TM>;
  /*unroll*/ for (var r = 0u; r < {{TM}}u; r++) {
    a4[r] = a_off[r] / 4u;
  }
  var b4: array<u32, TN4>;
  /*unroll*/ for (var q = 0u; q < {{TN4}}u; q++) {
    b4[q] = b_off[q].x / 4u;
  }
  let n4 = P.n / 4u;
  for (var k = kbeg; k < kend; k += 4u) {
    var av: array<vec4f, TM>;
    /*unroll*/ for (var r = 0u; r < {{TM}}u; r++) {
      av[r] = A4[a4[r]];
      a4[r] += 1u;
    }
    /*unroll*/ for (var kk = 0u; kk < 4u; kk++) {
      var bv: array<vec4f, TN4>;
      /*unroll*/ for (var q = 0u; q < {{TN4}}u; q++) {
        bv[q] = B4[b4[q]];
        b4[q] += n4;
      }
      /*unroll*/ for (var r = 0u; r < {{TM}}u; r++) {
        /*unroll*/ for (var q = 0u; q < {{TN4}}u; q++) {
          acc[r * TN4 + q] += av[r][kk] * bv[q];
        }
      }
    }
  }
/*else*/
  for (var k = kbeg; k < kend; k++) {
    var bv: array<vec4f, TN4>;
    /*unroll*/ for (var q = 0u; q < {{TN4}}u; q++) {
      let o = b_off[q];
      bv[q] = vec4f(bat(o.x), bat(o.y), bat(o.z), bat(o.w));
      b_off[q] = o + vec4u(b_step);
    }
    /*unroll*/ for (var r = 0u; r < {{TM}}u; r++) {
      let a = aat(a_off[r]);
      a_off[r] += a_step;
      /*unroll*/ for (var q = 0u; q < {{TN4}}u; q++) {
        acc[r * TN4 + q] += a * bv[q];
      }
    }
  }
/*endif*/
  /*unroll*/ for (var r = 0u; r < {{TM}}u; r++) {
    /*unroll*/ for (var q = 0u; q < {{TN4}}u; q++) {
      let v = acc[r * TN4 + q];
      let j = j0 + 4u * q;
      store(s, i0 + r, j, v.x);
      store(s, i0 + r, j + 1u, v.y);
      store(s, i0 + r, j + 2u, v.z);
      store(s, i0 + r, j + 3u, v.w);
    }
  }
}
