// conv_weight_grad_row: conv_weight_grad.wgsl (same math, layouts, roles and split-K) for
// layers with fewer than 4 input channels, whose 4 (co) × 4 (ci) tiles would mostly compute
// clamped duplicates (the 1-channel e0 and d5 layers of the autoencoder).
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
// One invocation computes a 4·TQ (co) × CIT (ci) × 3 (kh) × 3 (kw) tile over one chunk: per
// output pixel it loads 4·TQ gy values and 9·CIT x values for 36·TQ·CIT FMAs (on llvmpipe
// every load is a per-lane loop, so loads per FMA decide the speed: one tap per invocation
// needed 4 + CIT loads for 4·CIT FMAs, one row of 3 taps 4·TQ + 3·CIT for 12·TQ·CIT).
// TQ and CIT are defines; CIT = 1 is used (with CIT = 4 this kernel measured ~2× slower than
// conv_weight_grad.wgsl on llvmpipe), TQ = 2 where there are at least 8 output channels. The
// tile loops are unrolled by the preprocessor (lib/gpu/wgsl.ts). The ow loop runs over the
// union of the 3 column taps' valid ranges; a tap outside the input (or past KH, KW) loads
// x[0] × 0.
// Bindings: 0 params, 1 x, 2 gy (textures with XT = 1: _x_input.wgsl, _gy_input.wgsl), 3 partial
// (gw itself when S = 1).
// Dispatch: ceil(ceil(Co/(4·TQ)) · ceil(Ci/CIT) · ceil(KH/3) · ceil(KW/3) · S / 64) workgroups.

const CIT: u32 = {{CIT}}u;
const TQ: u32 = {{TQ}}u;

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

// First ow whose column ow·sw − pw + kw is >= 0, and last one whose column is < W.
fn ow_first(kw: u32) -> i32 {
  let lo_num = i32(P.pw) - i32(kw);
  if (lo_num > 0) { return (lo_num + i32(P.sw) - 1) / i32(P.sw); }
  return 0;
}
fn ow_last(kw: u32) -> i32 {
  let hi_num = i32(P.w) - 1 + i32(P.pw) - i32(kw);
  if (hi_num < 0) { return -1; }
  return min(i32(P.wo) - 1, hi_num / i32(P.sw));
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  var idx = (wid.x + wid.y * nwg.x) * 64u + lid;
  let co_tiles = (P.co + 4u * TQ - 1u) / (4u * TQ);
  let ci_tiles = (P.ci + CIT - 1u) / CIT;
  let kh_groups = (P.kh + 2u) / 3u;
  let kw_groups = (P.kw + 2u) / 3u;
  if (idx >= co_tiles * ci_tiles * kh_groups * kw_groups * P.splits) { return; }
  let co0 = (idx % co_tiles) * 4u * TQ; idx /= co_tiles;
  let ci0 = (idx % ci_tiles) * CIT; idx /= ci_tiles;
  let kh0 = (idx % kh_groups) * 3u; idx /= kh_groups;
  let kw0 = (idx % kw_groups) * 3u;
  let s = idx / kw_groups;
  let nrow = min(3u, P.kh - kh0);
  let ntap = min(3u, P.kw - kw0);

  let hw_in = P.h * P.w;
  let hw_out = P.ho * P.wo;
  // Channels past the end are clamped to the last one (their sums are not stored).
  var gyoff: array<vec4u, TQ>;
  /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
    gyoff[q] = min(vec4u(co0 + 4u * q) + vec4u(0u, 1u, 2u, 3u), vec4u(P.co - 1u)) * hw_out;
  }
  var xoff: array<u32, CIT>;
  /*unroll*/ for (var c = 0u; c < {{CIT}}u; c++) { xoff[c] = min(ci0 + c, P.ci - 1u) * hw_in; }

  // Union of the valid ow ranges of the taps kw0 .. kw0 + ntap − 1.
  let ow_lo = ow_first(kw0 + ntap - 1u);
  let ow_hi = ow_last(kw0);

  // acc[((i·3 + j)·CIT + c)·TQ + q][k] = partial gw[co0 + 4q + k, ci0 + c, kh0 + i, kw0 + j].
  var acc: array<vec4f, 9 * CIT * TQ>;
  let r_begin = s * P.rows_per_split;
  let r_end = min(r_begin + P.rows_per_split, P.n * P.ho);
  for (var r = r_begin; r < r_end; r++) {
    let n = r / P.ho;
    let oh = r % P.ho;
    let gyrow = n * P.co * hw_out + oh * P.wo;
    // The 3 input rows of the row taps: offset and mask (0 outside the input or past KH).
    var xrow: array<u32, 3>;
    var mrow: array<bool, 3>;
    /*unroll*/ for (var i = 0u; i < 3u; i++) {
      let ih = i32(oh * P.sh) - i32(P.ph) + i32(kh0 + i);
      mrow[i] = i < nrow && ih >= 0 && ih < i32(P.h);
      xrow[i] = select(0u, n * P.ci * hw_in + u32(ih) * P.w, mrow[i]);
    }
    if (!(mrow[0] || mrow[1] || mrow[2])) { continue; }
    for (var ow = ow_lo; ow <= ow_hi; ow++) {
      var g: array<vec4f, TQ>;
      /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
        let go = gyoff[q] + vec4u(gyrow + u32(ow));
        g[q] = vec4f(gyat(go.x), gyat(go.y), gyat(go.z), gyat(go.w));
      }
      let iw0 = ow * i32(P.sw) - i32(P.pw) + i32(kw0);
      /*unroll*/ for (var j = 0u; j < 3u; j++) {
        let iw = iw0 + i32(j);
        let okw = j < ntap && iw >= 0 && iw < i32(P.w);
        /*unroll*/ for (var i = 0u; i < 3u; i++) {
          let ok = okw && mrow[i];
          let m = select(0.0, 1.0, ok);
          let xi = select(0u, xrow[i] + u32(iw), ok);
          /*unroll*/ for (var c = 0u; c < {{CIT}}u; c++) {
            let xv = vec4f(xat(xi + xoff[c]) * m);
            /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
              let a = ((i * 3u + j) * CIT + c) * TQ + q;
              acc[a] = fma(g[q], xv, acc[a]);
            }
          }
        }
      }
    }
  }

  let kk = P.kh * P.kw;
  let total = P.co * P.ci * kk;
  /*unroll*/ for (var i = 0u; i < 3u; i++) {
    /*unroll*/ for (var j = 0u; j < 3u; j++) {
      if (i < nrow && j < ntap) {
        let tap = (kh0 + i) * P.kw + kw0 + j;
        /*unroll*/ for (var c = 0u; c < {{CIT}}u; c++) {
          let ci = ci0 + c;
          /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
            let v = acc[((i * 3u + j) * CIT + c) * TQ + q];
            /*unroll*/ for (var k = 0u; k < 4u; k++) {
              let co = co0 + 4u * q + k;
              if (ci < P.ci && co < P.co) {
                Part[s * total + (co * P.ci + ci) * kk + tap] = v[k];
              }
            }
          }
        }
      }
    }
  }
}
