// conv_weight_grad: weight gradient of Conv2d, and (with roles swapped) of ConvTranspose2d.
//
//   gw[co,ci,kh,kw] = Σ_{n,oh,ow} gy[n,co,oh,ow] · x[n,ci, oh·sh − ph + kh, ow·sw − pw + kw]
//
// Layouts: x [N,Ci,H,W], gy [N,Co,Ho,Wo], partial [S,Co,Ci,KH,KW], gw [Co,Ci,KH,KW].
// ConvTranspose2d with x_t [N,A,H,W], gy_t [N,B,Ho,Wo], weight [A,B,KH,KW]: its weight
// gradient is this kernel with x = gy_t (Ci = B, H = Ho_t), gy = x_t (Co = A, Ho = H_t).
//
// The reduction runs over N·Ho·Wo (up to ~10⁵ at batch 64) while gw may hold only 72 values,
// so the rows r = n·Ho + oh are split into S chunks (split-K); this kernel writes one partial
// per chunk and `split_sum` in reduce.wgsl sums the S partials (skipped when S = 1). S is
// chosen on the host so that invocations ≈ the adapter's parallel width.
//
// One invocation computes a 4·TQ (co) × 4·TC (ci) tile at JT column taps (kh, kw0 .. kw0 +
// JT − 1) over one chunk (TQ, TC and JT are defines): per output pixel it loads 4·TQ values
// of gy and 4·TC·JT of x for 16·TQ·TC·JT FMAs (on llvmpipe each load is a per-lane loop, so
// loads per FMA decide the speed). JT = 3 shares each gy load among a row's 3 taps; the host
// uses it where the ci tile is narrow (TC <= 2), since with wider tiles the accumulators no
// longer fit. The ow loop runs over the union of the taps' valid ranges, computed once per
// invocation; a tap outside [0, W) (or past KW) loads x at column 0 × 0. The tile loops are
// unrolled by the preprocessor (lib/gpu/wgsl.ts).
// Bindings: 0 params, 1 x, 2 gy (textures with XT = 1: _x_input.wgsl, _gy_input.wgsl), 3 partial
// (gw itself when S = 1).
// Dispatch: ceil(ceil(Co/(4·TQ)) · ceil(Ci/(4·TC)) · KH · ceil(KW/JT) · S / 64) workgroups.

const TQ: u32 = {{TQ}}u;
const TC: u32 = {{TC}}u;
const JT: u32 = {{JT}}u;

struct Params {
  n: u32, ci: u32, h: u32, w: u32,
  co: u32, ho: u32, wo: u32, kh: u32,
  kw: u32, sh: u32, sw: u32, ph: u32,
  pw: u32, splits: u32, rows_per_split: u32, _pad: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
/*include _x_input.wgsl*/
/*include _gy_input.wgsl*/
@group(0) @binding(3) var<storage, read_write> Part: array<f32>;

// The FMAs of one output pixel and the partials' stores are functions of their own rather than
// unrolled inside main (see _conv_store.wgsl: a shader module's creation time grows with
// the square of a function's size). Every sum adds in the same order as before.

// One output pixel: acc[(j·4·TQ + 4q + k)·TC + t] += g[q][k] · xv[j·TC + t].
fn wgrad_fma(
  acc: ptr<function, array<vec4f, 4 * JT * TQ * TC>>,
  g: ptr<function, array<vec4f, TQ>>,
  xv: ptr<function, array<vec4f, JT * TC>>,
) {
  /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
    /*unroll*/ for (var k = 0u; k < 4u; k++) {
      /*unroll*/ for (var j = 0u; j < {{JT}}u; j++) {
        /*unroll*/ for (var t = 0u; t < {{TC}}u; t++) {
          let a = (j * 4u * TQ + 4u * q + k) * TC + t;
          (*acc)[a] = fma(vec4f((*g)[q][k]), (*xv)[j * TC + t], (*acc)[a]);
        }
      }
    }
  }
}

// One output channel's partials at one tap for the tile's 4·TC input channels from ci0
// (those below Ci): v[t][l] to Part[base + (4t + l)·kk].
fn store_taps(v: ptr<function, array<vec4f, TC>>, base: u32, ci0: u32, kk: u32) {
  /*unroll*/ for (var t = 0u; t < {{TC}}u; t++) {
    /*unroll*/ for (var l = 0u; l < 4u; l++) {
      if (ci0 + 4u * t + l < P.ci) { Part[base + (4u * t + l) * kk] = (*v)[t][l]; }
    }
  }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  var idx = (wid.x + wid.y * nwg.x) * 64u + lid;
  let co_tiles = (P.co + 4u * TQ - 1u) / (4u * TQ);
  let ci_tiles = (P.ci + 4u * TC - 1u) / (4u * TC);
  let kk = P.kh * P.kw;
  let kwg = (P.kw + JT - 1u) / JT;
  let groups = P.kh * kwg;
  if (idx >= co_tiles * ci_tiles * groups * P.splits) { return; }
  let co0 = (idx % co_tiles) * 4u * TQ; idx /= co_tiles;
  let ci0 = (idx % ci_tiles) * 4u * TC; idx /= ci_tiles;
  let tg = idx % groups;
  let s = idx / groups;
  let kh = tg / kwg;
  let kw0 = (tg % kwg) * JT;
  let ntap = min(JT, P.kw - kw0);

  let hw_in = P.h * P.w;
  let hw_out = P.ho * P.wo;
  // Channels past the end are clamped to the last one (their sums are discarded).
  var gyoff: array<vec4u, TQ>;
  /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
    gyoff[q] = min(vec4u(co0 + 4u * q) + vec4u(0u, 1u, 2u, 3u), vec4u(P.co - 1u)) * hw_out;
  }
  var xoff: array<vec4u, TC>;
  /*unroll*/ for (var t = 0u; t < {{TC}}u; t++) {
    xoff[t] = min(vec4u(ci0 + 4u * t) + vec4u(0u, 1u, 2u, 3u), vec4u(P.ci - 1u)) * hw_in;
  }

  // Union of the taps' valid ow ranges: iw = ow·sw − pw + kw inside [0, W).
  let lo_num = i32(P.pw) - i32(kw0 + ntap - 1u);
  var ow_lo = 0i;
  if (lo_num > 0) { ow_lo = (lo_num + i32(P.sw) - 1) / i32(P.sw); }
  let hi_num = i32(P.w) - 1 + i32(P.pw) - i32(kw0);
  var ow_hi = -1i;
  if (hi_num >= 0) { ow_hi = min(i32(P.wo) - 1, hi_num / i32(P.sw)); }

  // acc[(j·4·TQ + 4q + k)·TC + t][l] = partial gw[co0 + 4q + k, ci0 + 4t + l, kh, kw0 + j].
  var acc: array<vec4f, 4 * JT * TQ * TC>;
  let r_begin = s * P.rows_per_split;
  let r_end = min(r_begin + P.rows_per_split, P.n * P.ho);
  for (var r = r_begin; r < r_end; r++) {
    let n = r / P.ho;
    let oh = r % P.ho;
    let ih = i32(oh * P.sh) - i32(P.ph) + i32(kh);
    if (ih < 0 || ih >= i32(P.h)) { continue; }
    let gyrow = n * P.co * hw_out + oh * P.wo;
    let xrow = n * P.ci * hw_in + u32(ih) * P.w;
    for (var ow = ow_lo; ow <= ow_hi; ow++) {
      var xv: array<vec4f, JT * TC>;
      /*unroll*/ for (var j = 0u; j < {{JT}}u; j++) {
        let iwi = ow * i32(P.sw) - i32(P.pw) + i32(kw0 + j);
        let ok = j < ntap && iwi >= 0 && iwi < i32(P.w);
        let m = select(0.0, 1.0, ok);
        let iw = select(0u, u32(iwi), ok);
        /*unroll*/ for (var t = 0u; t < {{TC}}u; t++) {
          let xo = xoff[t] + vec4u(xrow + iw);
          xv[j * TC + t] = vec4f(xat(xo.x), xat(xo.y), xat(xo.z), xat(xo.w)) * m;
        }
      }
      var g: array<vec4f, TQ>;
      /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
        let go = gyoff[q] + vec4u(gyrow + u32(ow));
        g[q] = vec4f(gyat(go.x), gyat(go.y), gyat(go.z), gyat(go.w));
      }
      wgrad_fma(&acc, &g, &xv);
    }
  }

  let total = P.co * P.ci * kk;
  /*unroll*/ for (var j = 0u; j < {{JT}}u; j++) {
    /*unroll*/ for (var i = 0u; i < {{TQ4}}u; i++) {
      let co = co0 + i;
      if (co < P.co && j < ntap) {
        var v: array<vec4f, TC>;
        /*unroll*/ for (var t = 0u; t < {{TC}}u; t++) {
          v[t] = acc[(j * 4u * TQ + i) * TC + t];
        }
        store_taps(&v, s * total + (co * P.ci + ci0) * kk + kh * P.kw + kw0 + j, ci0, kk);
      }
    }
  }
}
