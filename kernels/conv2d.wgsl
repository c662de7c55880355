// conv2d: direct convolution (cross-correlation, PyTorch semantics) with fused bias and
// leaky ReLU.
//
//   y[n,co,oh,ow] = act(b[co] + Σ_{ci,kh,kw} x[n,ci,oh·sh−ph+kh, ow·sw−pw+kw] · w[co,ci,kh,kw])
//   act(v) = v if v > 0 else slope·v   (slope = 1 gives no activation)
//
// Layouts (row-major): x [N,Ci,H,W], w [Co,Ci,KH,KW], b [Co], y [N,Co,Ho,Wo].
// Bindings: 0 params, 1 x, 2 w, 3 b (read only when has_bias = 1), 4 y.
//
// The same kernel is the input gradient of ConvTranspose2d: for a transposed conv with
// weight [A,B,KH,KW], dL/dx = conv2d(dL/dy, w) with Co = A and Ci = B, no bias, slope 1.
//
// One invocation computes a tile of TC output channels × 4 consecutive output pixels of the
// flattened (n, oh, ow) index (TC is a compile-time define, chosen per adapter by
// measurement, see lib/gpu/kernels.ts), so each loaded input value feeds TC FMAs and each
// weight 4. On a software adapter every per-invocation load is a gather, so FMAs per load
// decide the speed.
// Consecutive invocations take consecutive pixel tiles of the same channel tile, so the
// weight loads are uniform across a SIMD group. Taps (kh, kw) are the outer loops: the
// bounds test runs once per tap, not once per multiply.
//
// Dispatch: ceil(ceil(N·Ho·Wo / 4) · ceil(Co / TC) / 64) workgroups of 64, linear grid
// (workgroup index = wid.x + wid.y · nwg.x).

const TC: u32 = {{TC}}u;

struct Params {
  n: u32, ci: u32, h: u32, w: u32,
  co: u32, ho: u32, wo: u32, kh: u32,
  kw: u32, sh: u32, sw: u32, ph: u32,
  pw: u32, has_bias: u32, slope: f32, _pad: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;

fn act(v: f32) -> f32 {
  return select(P.slope * v, v, v > 0.0);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 64u + lid;
  let hw_out = P.ho * P.wo;
  let np = P.n * hw_out;
  let pix_tiles = (np + 3u) / 4u;
  let co_tiles = (P.co + TC - 1u) / TC;
  if (idx >= pix_tiles * co_tiles) { return; }
  let pt = idx % pix_tiles;
  let co0 = (idx / pix_tiles) * TC;

  let hw_in = P.h * P.w;
  let kk = P.kh * P.kw;
  // Per pixel of the tile: input plane base, top-left input row/col, validity.
  let pix = vec4u(pt * 4u) + vec4u(0u, 1u, 2u, 3u);
  let pvalid = pix < vec4u(np);
  let pixc = min(pix, vec4u(np - 1u));
  let nimg = pixc / hw_out;
  let rem = pixc % hw_out;
  let ih0 = vec4i(rem / P.wo) * i32(P.sh) - i32(P.ph);
  let iw0 = vec4i(rem % P.wo) * i32(P.sw) - i32(P.pw);
  let xbase = nimg * (P.ci * hw_in);

  // Weight row of the first output channel of the tile; channel co0 + j is TC rows further
  // per j (rows past Co are clamped and their results discarded).
  let wstride = P.ci * kk;
  var wrow: array<u32, TC>;
  for (var j = 0u; j < TC; j++) { wrow[j] = min(co0 + j, P.co - 1u) * wstride; }

  var acc: array<vec4f, TC>;
  for (var kh = 0u; kh < P.kh; kh++) {
    let ih = ih0 + vec4i(i32(kh));
    let rowok = (ih >= vec4i(0)) & (ih < vec4i(i32(P.h)));
    for (var kw = 0u; kw < P.kw; kw++) {
      let iw = iw0 + vec4i(i32(kw));
      let ok = rowok & (iw >= vec4i(0)) & (iw < vec4i(i32(P.w)));
      let m = select(vec4f(0.0), vec4f(1.0), ok);
      let off = select(vec4u(0u), xbase + vec4u(ih) * P.w + vec4u(iw), ok);
      let tap = kh * P.kw + kw;
      var xo = off;
      var wo = tap;
      for (var c = 0u; c < P.ci; c++) {
        let xv = vec4f(X[xo.x], X[xo.y], X[xo.z], X[xo.w]) * m;
        for (var j = 0u; j < TC; j++) {
          acc[j] += Wt[wrow[j] + wo] * xv;
        }
        xo += vec4u(hw_in);
        wo += kk;
      }
    }
  }

  let obase = nimg * (P.co * hw_out) + rem;
  for (var j = 0u; j < TC; j++) {
    let co = co0 + j;
    if (co >= P.co) { break; }
    var bias = 0.0;
    if (P.has_bias == 1u) { bias = B[co]; }
    let v = acc[j];
    let o = obase + vec4u(co * hw_out);
    if (pvalid.x) { Y[o.x] = act(v.x + bias); }
    if (pvalid.y) { Y[o.y] = act(v.y + bias); }
    if (pvalid.z) { Y[o.z] = act(v.z + bias); }
    if (pvalid.w) { Y[o.w] = act(v.w + bias); }
  }
}
