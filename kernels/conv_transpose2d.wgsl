// conv_transpose2d: transposed convolution (PyTorch ConvTranspose2d semantics, per-axis
// stride and padding, asymmetric such as (0,1)) with fused bias and leaky ReLU.
//
//   y[n,b,oh,ow] = act(bias[b] + Σ_{a,kh,kw : oh = ih·sh − ph + kh, ow = iw·sw − pw + kw}
//                                x[n,a,ih,iw] · w[a,b,kh,kw])
//
// Layouts: x [N,A,H,W], bias [B], y [N,B,Ho,Wo] with Ho = (H − 1)·sh − 2·ph + KH +
// output_padding_h (the host passes Ho, Wo), and the weight w [A,B,KH,KW] (PyTorch's
// ConvTranspose2d weight) packed by conv_pack.wgsl channel-last in vec4s of output channels:
// wp [A,KH,KW,B4P] of vec4f, wp[a,kh,kw,q] = w[a, 4q..4q+3, kh, kw] (zero past B; B4P is a
// multiple of TQ).
// Bindings: 0 params, 1 x, 2 wp, 3 bias (read only when has_bias = 1), 4 y.
//
// The same kernel is the input gradient of Conv2d: for a conv with weight [Co,Ci,KH,KW],
// dL/dx = conv_transpose2d(dL/dy, w) with A = Co, B = Ci, Ho/Wo = the conv's input size.
//
// Written as a gather, split by output phase (sub-pixel convolution): an output row oh with
// q = oh mod sh receives exactly the taps kh ≡ (q + ph) mod sh, from input row
// ih = (q + ph − kh0)/sh + jh − t for tap kh = kh0 + t·sh, where oh = q + sh·jh. Invocations
// are ordered so that a SIMD group shares one phase, so no lane tests taps it cannot use
// (a naive gather tests all KH·KW taps and keeps 1/(sh·sw) of them).
//
// One invocation computes TQ quads of output channels (4·TQ channels, TQ a compile-time
// define) × 4 outputs of one row and phase (ow spaced sw): per input channel and tap it
// loads 4 values of x and TQ vec4s of wp for 16·TQ FMAs.
// Grid order, fastest first: column tile, jh, n, phase (qh, qw), channel tile.
// Dispatch: ceil(ceil(ceil(Wo/sw)/4) · ceil(Ho/sh) · N · sh·sw · (B4P/TQ) / 64) workgroups.

const TQ: u32 = {{TQ}}u;

struct Params {
  n: u32, a: u32, h: u32, w: u32,
  b: u32, ho: u32, wo: u32, kh: u32,
  kw: u32, sh: u32, sw: u32, ph: u32,
  pw: u32, has_bias: u32, slope: f32, b4p: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Wp: array<vec4f>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;

fn act(v: f32) -> f32 {
  return select(P.slope * v, v, v > 0.0);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  var idx = (wid.x + wid.y * nwg.x) * 64u + lid;
  let jh_n = (P.ho + P.sh - 1u) / P.sh;
  let jw_n = (P.wo + P.sw - 1u) / P.sw;
  let jw_tiles = (jw_n + 3u) / 4u;
  let phases = P.sh * P.sw;
  let b_tiles = P.b4p / TQ;
  if (idx >= jw_tiles * jh_n * P.n * phases * b_tiles) { return; }
  let jwt = idx % jw_tiles; idx /= jw_tiles;
  let jh = idx % jh_n; idx /= jh_n;
  let n = idx % P.n; idx /= P.n;
  let phase = idx % phases;
  let q0 = (idx / phases) * TQ;
  let qh = phase / P.sw;
  let qw = phase % P.sw;
  let oh = qh + P.sh * jh;
  if (oh >= P.ho) { return; }

  let kh0 = (qh + P.ph) % P.sh;
  let kw0 = (qw + P.pw) % P.sw;
  let bh = i32((qh + P.ph - kh0) / P.sh) + i32(jh);
  let jw = vec4u(jwt * 4u) + vec4u(0u, 1u, 2u, 3u);
  let ow = vec4u(qw) + jw * P.sw;
  let ovalid = ow < vec4u(P.wo);
  let bw = vec4i(vec4u((qw + P.pw - kw0) / P.sw) + jw);

  let hw_in = P.h * P.w;
  let xplane = n * P.a * hw_in;
  let wstep = P.kh * P.kw * P.b4p;

  var acc: array<vec4f, 4 * TQ>;
  for (var kh = kh0; kh < P.kh; kh += P.sh) {
    let ih = bh - i32((kh - kh0) / P.sh);
    if (ih < 0 || ih >= i32(P.h)) { continue; }
    let xrow = xplane + u32(ih) * P.w;
    for (var kw = kw0; kw < P.kw; kw += P.sw) {
      let iw = bw - vec4i(i32((kw - kw0) / P.sw));
      let ok = (iw >= vec4i(0)) & (iw < vec4i(i32(P.w))) & ovalid;
      let m = select(vec4f(0.0), vec4f(1.0), ok);
      var xo = select(vec4u(xrow), vec4u(xrow) + vec4u(iw), ok);
      var wi = (kh * P.kw + kw) * P.b4p + q0;
      for (var c = 0u; c < P.a; c++) {
        let xv = vec4f(X[xo.x], X[xo.y], X[xo.z], X[xo.w]) * m;
        /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
          let wv = Wp[wi + q];
          acc[q] = fma(vec4f(xv.x), wv, acc[q]);
          acc[TQ + q] = fma(vec4f(xv.y), wv, acc[TQ + q]);
          acc[2u * TQ + q] = fma(vec4f(xv.z), wv, acc[2u * TQ + q]);
          acc[3u * TQ + q] = fma(vec4f(xv.w), wv, acc[3u * TQ + q]);
        }
        xo += vec4u(hw_in);
        wi += wstep;
      }
    }
  }

  let hw_out = P.ho * P.wo;
  let obase = n * P.b * hw_out + oh * P.wo;
  /*unroll*/ for (var p = 0u; p < 4u; p++) {
    if (ovalid[p]) {
      let o = obase + ow[p];
      /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
        let v = acc[p * TQ + q];
        /*unroll*/ for (var k = 0u; k < 4u; k++) {
          let b = (q0 + q) * 4u + k;
          if (b < P.b) {
            var bias = 0.0;
            if (P.has_bias == 1u) { bias = Bias[b]; }
            Y[o + b * hw_out] = act(v[k] + bias);
          }
        }
      }
    }
  }
}
