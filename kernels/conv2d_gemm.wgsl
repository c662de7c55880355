// conv2d_gemm: conv2d (cross-correlation, PyTorch semantics) with fused bias and leaky ReLU, as an
// implicit GEMM through workgroup memory, for GPUs (tuning `convGemm`; off by default until a GPU
// run measures it against the direct kernel, conv2d.wgsl):
//
//   Y[m, co] = act(b[co] + Σ_k X[m, k] · W[k, co]),  m = (n, oh, ow), k = (ci, kh, kw),
//   X[m, k] = x[n, ci, oh·sh − ph + kh, ow·sw − pw + kw] (0 in the padding), W[k, co] = w[co, ci, kh, kw].
//
// So M = N·Ho·Wo, K = Ci·KH·KW, and the columns are the Co output channels. X is never formed
// (im2col on the fly): a workgroup gathers its BK × BM slice of X from x straight into workgroup
// memory. The weight is read in PyTorch's own layout [Co, Ci, KH, KW] (no packing pass).
//
// Layouts (row-major): x [N,Ci,H,W], w [Co,Ci,KH,KW], b [Co], y [N,Co,Ho,Wo].
// Bindings: 0 params (the same as conv2d.wgsl's), 1 x, 2 w, 3 b (read only when has_bias = 1), 4 y.
//
// A workgroup of 64 invocations computes a tile of BM = 64 pixels × BN = 16 channels: per step of
// BK = 16 values of k, invocation t gathers pixel t's 16 values of X (its (n, oh, ow) decomposed
// once per workgroup tile, each k's (ci, kh, kw) once per step, the same for every invocation),
// and 4 of the tile's 256 weights; after a barrier, each invocation adds the products for 4
// pixels × one quad of 4 channels (16 accumulators). k runs in ascending order (ci, then kh,
// then kw), the Float64 reference's order, but not the direct kernel's (taps outer, channels
// inner), so the two kernels agree to rounding, not bit for bit.
//
// Dispatch: ceil(N·Ho·Wo / 64) · ceil(Co / 16) workgroups of 64, linear grid (workgroup index =
// wid.x + wid.y · nwg.x; the pixel tile varies fastest).

/*include _conv2d_params.wgsl*/
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;

const BM: u32 = 64u;
const BN: u32 = 16u;
const BK: u32 = 16u;

var<workgroup> Xs: array<f32, 1024>; // [BK][BM]
var<workgroup> Ws: array<f32, 256>; // [BK][BN]

fn act(v: f32) -> f32 {
  return select(P.slope * v, v, v > 0.0);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let hw_out = P.ho * P.wo;
  let m_total = P.n * hw_out;
  let taps = P.kh * P.kw;
  let k_total = P.ci * taps;
  let tiles_m = (m_total + BM - 1u) / BM;
  let tiles_n = (P.co + BN - 1u) / BN;
  let wg = wid.x + wid.y * nwg.x;
  // Workgroups past the end return together (the index is uniform across the workgroup).
  if (wg >= tiles_m * tiles_n) { return; }
  let m0 = (wg % tiles_m) * BM;
  let c0 = (wg / tiles_m) * BN;

  // The pixel this invocation gathers: its image and top-left input row and column.
  let gm = m0 + lid;
  let g_ok = gm < m_total;
  let g_n = min(gm, m_total - 1u) / hw_out;
  let g_r = min(gm, m_total - 1u) - g_n * hw_out;
  let ih0 = i32(g_r / P.wo * P.sh) - i32(P.ph);
  let iw0 = i32(g_r % P.wo * P.sw) - i32(P.pw);
  let xbase = g_n * P.ci * P.h * P.w;

  // This invocation's outputs: pixels m0 + 4·py .. +3, channels c0 + 4·qx .. +3.
  let qx = lid % 4u;
  let py = lid / 4u;
  var acc: array<vec4f, 4>;

  for (var k0 = 0u; k0 < k_total; k0 += BK) {
    /*unroll*/ for (var kk = 0u; kk < 16u; kk++) {
      let k = k0 + kk;
      let ci = k / taps;
      let t = k - ci * taps;
      let kh = t / P.kw;
      let ih = ih0 + i32(kh);
      let iw = iw0 + i32(t - kh * P.kw);
      let ok = g_ok && k < k_total && ih >= 0 && ih < i32(P.h) && iw >= 0 && iw < i32(P.w);
      var v = 0.0;
      if (ok) { v = X[xbase + (ci * P.h + u32(ih)) * P.w + u32(iw)]; }
      Xs[kk * BM + lid] = v;
    }
    for (var e = lid; e < BK * BN; e += 64u) {
      let kk = e / BN;
      let c = c0 + e % BN;
      let k = k0 + kk;
      var v = 0.0;
      if (c < P.co && k < k_total) { v = Wt[c * k_total + k]; }
      Ws[e] = v;
    }
    workgroupBarrier();
    /*unroll*/ for (var kk = 0u; kk < 16u; kk++) {
      let wv = vec4f(Ws[kk * BN + qx * 4u], Ws[kk * BN + qx * 4u + 1u], Ws[kk * BN + qx * 4u + 2u],
                     Ws[kk * BN + qx * 4u + 3u]);
      /*unroll*/ for (var i = 0u; i < 4u; i++) {
        acc[i] += Xs[kk * BM + py * 4u + i] * wv;
      }
    }
    workgroupBarrier();
  }

  /*unroll*/ for (var i = 0u; i < 4u; i++) {
    let m = m0 + py * 4u + i;
    if (m < m_total) {
      let n = m / hw_out;
      let r = m - n * hw_out;
      let base = n * P.co * hw_out + r;
      /*unroll*/ for (var j = 0u; j < 4u; j++) {
        let co = c0 + qx * 4u + j;
        if (co < P.co) {
          var v = acc[i][j];
          if (P.has_bias == 1u) { v += B[co]; }
          Y[base + co * hw_out] = act(v);
        }
      }
    }
  }
}
