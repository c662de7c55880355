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
// Bindings: 0 params, 1 x (a texture with XT = 1: _x_input.wgsl), 2 wp, 3 bias (read only when
// has_bias = 1; m when GM = 1), 4 y, 5 part (GM = 1 only), 6–9 the further weight chunks (NU > 1).
//
// Where the weight is read from (lib/gpu/kernels.ts, weightBinding): a storage buffer (UW = 0),
// or (UW = 1, software adapters) uniform buffers, where llvmpipe loads far more cheaply. A
// uniform binding holds 64 KiB (4,096 vec4s); a larger weight is split into NU chunks of CPU
// whole input channels, each chunk a slice of wp bound at 2, 6, 7, … (the slices start on the
// uniform offset alignment), and the A loop runs chunk by chunk, each with its own binding
// (Wp#u, unrolled by the preprocessor; the bindings and that loop are the fragments
// _conv_weights.wgsl and _conv_channels.wgsl, which both kernels include). On llvmpipe the 8 dispatches of the seed autoencoder
// whose weights span 2 or 5 chunks took 0.83–0.88× as long as from storage (in-step profile,
// batch 64).
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
// One invocation computes TP output positions of one phase (the flattened (n, jh, jw) index
// of that phase, so tiles run across rows and images and no lane idles at a row's end) × TQ
// quads of output channels (TP, TQ compile-time defines chosen per adapter, see
// lib/gpu/kernels.ts): per input channel and tap it loads TP values of x and TQ vec4s of wp
// for 4·TP·TQ FMAs. The tile loops are unrolled by the preprocessor (lib/gpu/wgsl.ts), so
// the accumulators stay in registers. As in conv2d.wgsl, the tile's coordinates are stepped
// without integer divisions and the bias is loaded once per invocation.
// With the define GM = 1 (used as Conv2d's input gradient, no bias; the fragment
// _conv_grad_epilogue.wgsl, shared with conv2d.wgsl) the epilogue is the
// backward of the leaky ReLU and bias of the layer that produced the conv's input, as in
// conv2d.wgsl: binding 3 is that layer's output m, y = v · (m > 0 ? 1 : slope), and binding 5
// receives part[(phase·R + pt/64)·B + b] = Σ_{positions of the workgroup} y[., b], added in
// workgroup memory (position tiles padded to R·64 per phase) and then over the R·sh·sw rows by
// split_sum.
// Grid order, fastest first: position tile, phase (qh, qw), channel tile.
// Dispatch: ceil(ceil(N · ceil(Ho/sh) · ceil(Wo/sw) / TP) · sh·sw · (B4P/TQ) / 64) workgroups.

const TP: u32 = {{TP}}u;
const TQ: u32 = {{TQ}}u;
const CPU: u32 = {{CPU}}u;

struct Params {
  n: u32, a: u32, h: u32, w: u32,
  b: u32, ho: u32, wo: u32, kh: u32,
  kw: u32, sh: u32, sw: u32, ph: u32,
  pw: u32, has_bias: u32, slope: f32, b4p: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
/*include _x_input.wgsl*/
/*include _conv_weights.wgsl*/
/*include _b_input.wgsl*/
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
/*include _conv_store.wgsl*/
/*if GM*/
@group(0) @binding(5) var<storage, read_write> Part: array<f32>;
var<workgroup> Red: array<vec4f, 64 * TQ>;
/*endif*/

fn act(v: f32) -> f32 {
  return select(P.slope * v, v, v > 0.0);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 64u + lid;
  let jh_n = (P.ho + P.sh - 1u) / P.sh;
  let jw_n = (P.wo + P.sw - 1u) / P.sw;
  let per_image = jh_n * jw_n;
  let np = P.n * per_image;
  let pix_tiles = (np + TP - 1u) / TP;
  let phases = P.sh * P.sw;
/*if GM*/
  // Position tiles padded to whole workgroups, so that one workgroup shares a phase and a
  // channel tile and its bias partials add up in workgroup memory (a uniform return).
  let pix_pad = (pix_tiles + 63u) / 64u * 64u;
  let wg = wid.x + wid.y * nwg.x;
  if (wg >= pix_pad / 64u * phases * (P.b4p / TQ)) { return; }
  let pt = idx % pix_pad;
  let rest = idx / pix_pad;
  let c_n = select(0u, P.a, pt < pix_tiles);
/*else*/
  if (idx >= pix_tiles * phases * (P.b4p / TQ)) { return; }
  let pt = idx % pix_tiles;
  let rest = idx / pix_tiles;
  let c_n = P.a;
/*endif*/
  let phase = rest % phases;
  let q0 = (rest / phases) * TQ;
  let qh = phase / P.sw;
  let qw = phase % P.sw;
  let kh0 = (qh + P.ph) % P.sh;
  let kw0 = (qw + P.pw) % P.sw;
  let bh0 = i32((qh + P.ph - kh0) / P.sh);
  let bw0 = i32((qw + P.pw - kw0) / P.sw);

  let hw_in = P.h * P.w;
  let hw_out = P.ho * P.wo;
  // Per position: top input row/col of the first tap, image base, output offset and
  // validity (positions past the end or past Ho/Wo in this phase are computed on a clamped
  // position and not stored).
  var bh: array<i32, TP>;
  var bw: array<i32, TP>;
  var xb: array<u32, TP>;
  var ob: array<u32, TP>;
  var valid: array<bool, TP>;
  // (n, jh, jw) of the tile's first position, then stepped without divisions.
  let pix0 = pt * TP;
  var n = pix0 / per_image;
  var jh = (pix0 % per_image) / jw_n;
  var jw = pix0 % jw_n;
  /*unroll*/ for (var p = 0u; p < {{TP}}u; p++) {
    let nn = min(n, P.n - 1u);
    let oh = qh + P.sh * jh;
    let ow = qw + P.sw * jw;
    bh[p] = bh0 + i32(jh);
    bw[p] = bw0 + i32(jw);
    xb[p] = nn * P.a * hw_in;
    ob[p] = nn * P.b * hw_out + oh * P.wo + ow;
    valid[p] = pix0 + p < np && oh < P.ho && ow < P.wo;
    jw += 1u;
    let wrap = jw == jw_n;
    jw = select(jw, 0u, wrap);
    jh += select(0u, 1u, wrap);
    let wrap2 = jh == jh_n;
    jh = select(jh, 0u, wrap2);
    n += select(0u, 1u, wrap2);
  }

  // Bias of the tile's channels, loaded once (zero past B or without bias).
  var bv: array<vec4f, TQ>;
  /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
    /*unroll*/ for (var k = 0u; k < 4u; k++) {
      let b = (q0 + q) * 4u + k;
      bv[q][k] = select(0.0, bat(min(b, P.b - 1u)), P.has_bias == 1u && b < P.b);
    }
  }

  var acc: array<vec4f, TP * TQ>;
  let wstep = P.kh * P.kw * P.b4p;
  for (var kh = kh0; kh < P.kh; kh += P.sh) {
    let dh = i32((kh - kh0) / P.sh);
    for (var kw = kw0; kw < P.kw; kw += P.sw) {
      let dw = i32((kw - kw0) / P.sw);
      var off: array<u32, TP>;
      var m: array<f32, TP>;
      /*unroll*/ for (var p = 0u; p < {{TP}}u; p++) {
        let ih = bh[p] - dh;
        let iw = bw[p] - dw;
        let ok = ih >= 0 && ih < i32(P.h) && iw >= 0 && iw < i32(P.w);
        m[p] = select(0.0, 1.0, ok);
        off[p] = select(0u, xb[p] + u32(ih) * P.w + u32(iw), ok);
      }
      let w0 = (kh * P.kw + kw) * P.b4p + q0;
/*include _conv_channels.wgsl*/
    }
  }

/*if GM*/
  let nch = P.b;
  let prow = phase * (pix_pad / 64u) + pt / 64u;
/*include _conv_grad_epilogue.wgsl*/
/*else*/
  /*unroll*/ for (var p = 0u; p < {{TP}}u; p++) {
    if (valid[p]) {
      var v: array<vec4f, TQ>;
      /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
        v[q] = acc[p * TQ + q] + bv[q];
      }
      store_pixel(&v, ob[p], q0, P.b, hw_out);
    }
  }
/*endif*/
}
