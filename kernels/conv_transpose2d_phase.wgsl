// conv_transpose2d_phase: transposed convolution for layers with few output channels
// (B <= 3 by default, such as the seed decoder's last layer d5; B <= 8 on software adapters,
// see defaultTuning in lib/gpu/kernels.ts), vectorised over the output phases instead of
// over output channels. Same semantics as conv_transpose2d.wgsl (PyTorch ConvTranspose2d,
// fused bias and leaky ReLU), for sh·sw <= 4.
//
// An output pixel (oh, ow) = (sh·jh + qh, sw·jw + qw) has phase l = qh·sw + qw. It receives
// input (ih, iw) = (jh + dih, jw + diw) through tap kh = qh + ph − sh·dih, kw = qw + pw − sw·diw
// when 0 <= kh < KH and 0 <= kw < KW. So one block position (jh, jw) needs only the input
// window dih in [dh0, dh0 + WH), diw in [dw0, dw0 + WW) for all its sh·sw outputs:
//   dh0 = ceil((ph − KH + 1)/sh), WH = floor((sh − 1 + ph)/sh) − dh0 + 1 (likewise for w).
// One invocation computes TP block positions (flattened (n, jh, jw)) × TB output channels ×
// the sh·sw phases in the lanes of a vec4: per input channel and window offset it loads TP
// values of x (each feeding all phases) and TB vec4s of phase weights, for TP·TB vec4 FMAs.
// With B = 1, 3 × 3 taps and stride 2 that is 4 input loads per 9 products instead of 9
// (the channel-vectorised kernel also leaves 3 of its 4 lanes idle when B = 1). With B = 8
// it still loads 4 inputs per 9 products where the channel kernel loads 9, at the price of
// 16 phase-lane FMAs per 9 products; on llvmpipe, where loads cost far more than FMAs, that
// made the seed's 8-channel layers 0.64–0.80× as long.
//
// Layouts: x [N,A,H,W], bias [B], y [N,B,Ho,Wo]; the weight packed by conv_pack_phase.wgsl:
// wq[((a·WH + i)·WW + j)·B + b][l] = w[a, b, kh, kw] for window offset (dh0 + i, dw0 + j) and
// phase l (zero where the phase has no tap there, or l >= sh·sw).
// Bindings: 0 params, 1 x (a texture with XT = 1: _x_input.wgsl), 2 wq, 3 bias (read only when
// has_bias = 1; m when GM = 1), 4 y, 5 part (GM = 1 only).
// The tile loops are unrolled by the preprocessor (lib/gpu/wgsl.ts); TB equals B. As in
// conv2d.wgsl, the block coordinates are stepped without integer divisions and the bias is
// loaded once per invocation.
// With the define GM = 1 (used as Conv2d's input gradient, no bias) the epilogue is the
// backward of the leaky ReLU and bias of the layer that produced the conv's input, as in
// conv2d.wgsl: binding 3 is that layer's output m, y = v · (m > 0 ? 1 : slope), and binding 5
// receives part[w·B + b] = Σ_{outputs of workgroup w} y[., b] (added in workgroup memory by a
// fixed tree), then over the workgroups by split_sum.
// Dispatch: ceil(ceil(N · ceil(Ho/sh) · ceil(Wo/sw) / TP) / 64) workgroups.

const TP: u32 = {{TP}}u;
const TB: u32 = {{TB}}u;

struct Params {
  n: u32, a: u32, h: u32, w: u32,
  b: u32, ho: u32, wo: u32, sh: u32,
  sw: u32, has_bias: u32, slope: f32, dh0: i32,
  dw0: i32, wh: u32, ww: u32, _p0: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
/*include _x_input.wgsl*/
/*if UW*/
@group(0) @binding(2) var<uniform> Wq: array<vec4f, 4096>;
/*else*/
@group(0) @binding(2) var<storage, read> Wq: array<vec4f>;
/*endif*/
/*include _b_input.wgsl*/
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
/*if GM*/
@group(0) @binding(5) var<storage, read_write> Part: array<f32>;
var<workgroup> Red: array<f32, 64 * TB>;
/*endif*/

fn act(v: f32) -> f32 {
  return select(P.slope * v, v, v > 0.0);
}

// The tile's FMAs and each block position's stores are functions of their own rather than
// unrolled inside main (see _conv_store.wgsl: a shader module's creation time grows with
// the square of a function's size). Every sum adds in the same order as before.

// One input channel at one window offset: acc[p·TB + b] += xv[p] · wv[b] (phases in lanes).
fn phase_fma(
  acc: ptr<function, array<vec4f, TP * TB>>,
  xv: ptr<function, array<vec4f, TP>>,
  wv: ptr<function, array<vec4f, TB>>,
) {
  /*unroll*/ for (var b = 0u; b < {{TB}}u; b++) {
    /*unroll*/ for (var p = 0u; p < {{TP}}u; p++) {
      (*acc)[p * TB + b] = fma((*xv)[p], (*wv)[b], (*acc)[p * TB + b]);
    }
  }
}

// A block position of the tile: (jh, jw), its image's output base, and whether it is stored.
struct Block {
  jh: u32,
  jw: u32,
  ob: u32,
  valid: bool,
}

// One block position's outputs, its TB channels × sh·sw phases (lh, lw: each phase's row and
// column offset): through bias and activation, or (GM) the backward of m's leaky ReLU, with
// the stored values added to the bias partials bs.
fn store_block(
  v: ptr<function, array<vec4f, TB>>,
  bias: ptr<function, array<f32, TB>>,
  bs: ptr<function, array<f32, TB>>,
  lh: ptr<function, array<u32, 4>>,
  lw: ptr<function, array<u32, 4>>,
  at: Block,
  phases: u32,
  hw_out: u32,
) {
  /*unroll*/ for (var b = 0u; b < {{TB}}u; b++) {
    let vb = (*v)[b];
    /*unroll*/ for (var l = 0u; l < 4u; l++) {
      let oh = P.sh * at.jh + (*lh)[l];
      let ow = P.sw * at.jw + (*lw)[l];
      if (at.valid && l < phases && oh < P.ho && ow < P.wo) {
        let o = at.ob + b * hw_out + oh * P.wo + ow;
/*if GM*/
        let r = select(P.slope * vb[l], vb[l], bat(o) > 0.0);
        Y[o] = r;
        (*bs)[b] += r;
/*else*/
        Y[o] = act(vb[l] + (*bias)[b]);
/*endif*/
      }
    }
  }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let pt = (wid.x + wid.y * nwg.x) * 64u + lid;
  let jh_n = (P.ho + P.sh - 1u) / P.sh;
  let jw_n = (P.wo + P.sw - 1u) / P.sw;
  let per_image = jh_n * jw_n;
  let np = P.n * per_image;
/*if GM*/
  // Whole workgroups (a uniform return), for the bias partials' sum in workgroup memory; tiles
  // past the end compute nothing and store nothing.
  let tiles = (np + TP - 1u) / TP;
  if (wid.x + wid.y * nwg.x >= (tiles + 63u) / 64u) { return; }
  let a_n = select(0u, P.a, pt < tiles);
/*else*/
  if (pt >= (np + TP - 1u) / TP) { return; }
  let a_n = P.a;
/*endif*/

  let hw_in = P.h * P.w;
  let hw_out = P.ho * P.wo;
  var jh: array<u32, TP>;
  var jw: array<u32, TP>;
  var xb: array<u32, TP>;
  var ob: array<u32, TP>;
  var valid: array<bool, TP>;
  // (n, jh, jw) of the tile's first block, then stepped without divisions.
  let pix0 = pt * TP;
  var n = pix0 / per_image;
  var h = (pix0 % per_image) / jw_n;
  var w = pix0 % jw_n;
  /*unroll*/ for (var p = 0u; p < {{TP}}u; p++) {
    let nn = min(n, P.n - 1u);
    jh[p] = h;
    jw[p] = w;
    xb[p] = nn * P.a * hw_in;
    ob[p] = nn * P.b * hw_out;
    valid[p] = pix0 + p < np;
    w += 1u;
    let wrap = w == jw_n;
    w = select(w, 0u, wrap);
    h += select(0u, 1u, wrap);
    let wrap2 = h == jh_n;
    h = select(h, 0u, wrap2);
    n += select(0u, 1u, wrap2);
  }

  var bias: array<f32, TB>;
  /*unroll*/ for (var b = 0u; b < {{TB}}u; b++) {
    bias[b] = select(0.0, bat(b), P.has_bias == 1u);
  }

  var acc: array<vec4f, TP * TB>;
  let wstep = P.wh * P.ww * TB;
  for (var i = 0u; i < P.wh; i++) {
    for (var j = 0u; j < P.ww; j++) {
      var off: array<u32, TP>;
      var m: array<f32, TP>;
      /*unroll*/ for (var p = 0u; p < {{TP}}u; p++) {
        let ih = i32(jh[p]) + P.dh0 + i32(i);
        let iw = i32(jw[p]) + P.dw0 + i32(j);
        let ok = ih >= 0 && ih < i32(P.h) && iw >= 0 && iw < i32(P.w);
        m[p] = select(0.0, 1.0, ok);
        off[p] = select(0u, xb[p] + u32(ih) * P.w + u32(iw), ok);
      }
      var wi = (i * P.ww + j) * TB;
      for (var c = 0u; c < a_n; c++) {
        var xv: array<vec4f, TP>;
        /*unroll*/ for (var p = 0u; p < {{TP}}u; p++) {
          xv[p] = vec4f(xat(off[p]) * m[p]);
          off[p] += hw_in;
        }
        var wv: array<vec4f, TB>;
        /*unroll*/ for (var b = 0u; b < {{TB}}u; b++) {
          wv[b] = Wq[wi + b];
        }
        phase_fma(&acc, &xv, &wv);
        wi += wstep;
      }
    }
  }

  let phases = P.sh * P.sw;
  var lh: array<u32, 4>;
  var lw: array<u32, 4>;
  /*unroll*/ for (var l = 0u; l < 4u; l++) {
    lh[l] = l / P.sw;
    lw[l] = l % P.sw;
  }
  // Bias partials (GM only).
  var bs: array<f32, TB>;
  /*unroll*/ for (var p = 0u; p < {{TP}}u; p++) {
    var v: array<vec4f, TB>;
    /*unroll*/ for (var b = 0u; b < {{TB}}u; b++) {
      v[b] = acc[p * TB + b];
    }
    let at = Block(jh[p], jw[p], ob[p], valid[p]);
    store_block(&v, &bias, &bs, &lh, &lw, at, phases, hw_out);
  }
/*if GM*/
  /*unroll*/ for (var b = 0u; b < {{TB}}u; b++) {
    Red[lid * TB + b] = bs[b];
  }
  for (var h = 32u; h > 0u; h >>= 1u) {
    workgroupBarrier();
    if (lid < h) {
      /*unroll*/ for (var b = 0u; b < {{TB}}u; b++) {
        Red[lid * TB + b] += Red[(lid + h) * TB + b];
      }
    }
  }
  if (lid == 0u) {
    /*unroll*/ for (var b = 0u; b < {{TB}}u; b++) {
      Part[(pt / 64u) * TB + b] = Red[b];
    }
  }
/*endif*/
}
