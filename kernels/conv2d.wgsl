// conv2d: direct convolution (cross-correlation, PyTorch semantics) with fused bias and
// leaky ReLU.
//
//   y[n,co,oh,ow] = act(b[co] + Σ_{ci,kh,kw} x[n,ci,oh·sh−ph+kh, ow·sw−pw+kw] · w[co,ci,kh,kw])
//   act(v) = v if v > 0 else slope·v   (slope = 1 gives no activation)
//
// Layouts (row-major): x [N,Ci,H,W], b [Co], y [N,Co,Ho,Wo], and the weight packed by
// conv_pack.wgsl channel-last in vec4s of output channels: wp [Ci,KH,KW,CO4P] of vec4f,
// wp[ci,kh,kw,q] = w[4q..4q+3, ci, kh, kw] (zero past Co; CO4P is a multiple of TQ).
// Bindings: 0 params, 1 x (a texture with XT = 1: _x_input.wgsl), 2 wp, 3 b (read only when
// has_bias = 1; m when GM = 1), 4 y, 5 part (GM = 1 only), 6–9 the further weight chunks (NU > 1).
//
// Where the weight is read from (lib/gpu/kernels.ts, weightBinding): a storage buffer (UW = 0),
// or (UW = 1, software adapters) uniform buffers, where llvmpipe loads far more cheaply. A
// uniform binding holds 64 KiB (4,096 vec4s); a larger weight is split into NU chunks of CPU
// whole input channels, each chunk a slice of wp bound at 2, 6, 7, … (the slices start on the
// uniform offset alignment), and the Ci loop runs chunk by chunk, each with its own binding
// (Wp#u, unrolled by the preprocessor; the bindings and that loop are the fragments
// _conv_weights.wgsl and _conv_channels.wgsl, which both kernels include). On llvmpipe the 8 dispatches of the seed autoencoder
// whose weights span 2 or 5 chunks took 0.83–0.88× as long as from storage (in-step profile,
// batch 64).
//
// The same kernel is the input gradient of ConvTranspose2d: for a transposed conv with
// weight [A,B,KH,KW], dL/dx = conv2d(dL/dy, w) with Co = A and Ci = B, no bias, slope 1.
//
// One invocation computes TP consecutive output pixels of the flattened (n, oh, ow) index ×
// TQ quads of output channels (TP and TQ are compile-time defines chosen per adapter by
// measurement, see lib/gpu/kernels.ts). Per input channel and tap it loads TP values of x
// and TQ vec4s of wp for 4·TP·TQ FMAs. On a software adapter (llvmpipe) every
// per-invocation load is a per-lane loop, and a vec4 load costs far less than four scalar
// ones, so loads per FMA decide the speed. Consecutive invocations take consecutive pixel
// tiles of the same channel tile, so the weight loads are uniform across a SIMD group. Taps
// (kh, kw) are the outer loops: the bounds test runs once per tap, not once per multiply.
//
// Every loop over the tile (p, q, k) is unrolled by the preprocessor (lib/gpu/wgsl.ts), so
// the accumulators stay in registers. Outside the FMA loop, what costs on a CPU adapter is
// integer division (scalarised per lane) and any buffer access, so the tile's pixel
// coordinates are stepped from its first pixel without divisions, and the bias is loaded
// once per invocation rather than once per stored value (together 8–25 % per layer on
// llvmpipe, most on the 1-channel layers, where stores weigh most).
//
// With the define VS = 1 (the host sets it when Ho·Wo and TP are multiples of 4) y is written
// as vec4s: four consecutive pixels of a tile are then consecutive in one image, and one vec4
// store replaces four scalar ones. On llvmpipe, where a store is a per-lane loop and costs
// about as much as a load, that made e0 (1 input channel, stores a third of its time) 0.80×
// as long. TP4 = TP / 4.
//
// With the define GM = 1 (gradient mask; used as ConvTranspose2d's input gradient, no bias;
// the fragment _conv_grad_epilogue.wgsl, which conv_transpose2d.wgsl includes too)
// the epilogue is the backward of the leaky ReLU of the layer that produced the transposed
// conv's input, and of that layer's bias: binding 3 is then that layer's output m (laid out
// as y), y = v · (m > 0 ? 1 : slope), and binding 5 receives partial bias gradients, which
// split_sum adds up. That saves the separate bias_grad pass over the gradient (read m and g,
// write the masked g) and its dispatch. GM variants store scalars (VS = 0). A workgroup's 64
// invocations share one channel tile (the pixel tiles are padded to a multiple of 64) and add
// their sums in workgroup memory (a fixed tree, so a fixed order): part[row·Co + co] =
// Σ_{pixels of the 64 tiles} y[., co] for row = pt / 64, ceil(tiles / 64) rows. On GPUs,
// whose tiles are one pixel, a partial per invocation would be as large as the gradient.
//
// With the define PT = 1 (tuning `convPatch`, PatchTile in lib/gpu/kernels.ts) a tile is TR
// rows × TC columns of one image (TP = TR·TC; tiles on the last row and column may overhang the
// plane, and those pixels are not stored) instead of TP consecutive pixels: per input channel
// it loads the input patch the tile reads, PH × PW = ((TR − 1)·SH + KH) × ((TC − 1)·SW + KW)
// values, each once, where the flat tile loads KH·KW per pixel. KH, KW, SH, SW are defines and
// every tap is unrolled, so a patch pipeline compiles about KH·KW times as much code as a flat
// one (on llvmpipe 0.75–3.3 s each): off by default. The channel's weights are read into
// registers first, from its chunk's binding by a uniform branch, so that the FMAs are compiled
// once rather than once per uniform chunk (e4's 5 chunks: 15.8 → 1.9 s to compile on llvmpipe).
// PT stores scalars (VS = 0).
//
// Dispatch: ceil(ceil(N·Ho·Wo / TP) · (CO4P / TQ) / 64) workgroups of 64 (PT: N·ceil(Ho / TR)·
// ceil(Wo / TC) pixel tiles in place of ceil(N·Ho·Wo / TP)) (GM: ceil(ceil(N·Ho·Wo
// / TP) / 64) · CO4P / TQ), linear grid (workgroup index = wid.x + wid.y · nwg.x).

const TP: u32 = {{TP}}u;
const TQ: u32 = {{TQ}}u;
const CPU: u32 = {{CPU}}u;
/*if PT*/
const TR: u32 = {{TR}}u;
const TC: u32 = {{TC}}u;
const KH: u32 = {{KH}}u;
const KW: u32 = {{KW}}u;
const SH: u32 = {{SH}}u;
const SW: u32 = {{SW}}u;
const PH: u32 = {{PH}}u;
const PW: u32 = {{PW}}u;
/*endif*/

/*include _conv2d_params.wgsl*/
/*include _x_input.wgsl*/
/*include _conv_weights.wgsl*/
/*include _b_input.wgsl*/
/*if VS*/
@group(0) @binding(4) var<storage, read_write> Y: array<vec4f>;
/*else*/
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
/*include _conv_store.wgsl*/
/*endif*/
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
  let hw_out = P.ho * P.wo;
  let np = P.n * hw_out;
/*if PT*/
  // Patch tiles: TR × TC pixels of one image, ceil(Ho / TR) × ntc tiles per image.
  let ntc = (P.wo + TC - 1u) / TC;
  let tiles_img = (P.ho + TR - 1u) / TR * ntc;
  let pix_tiles = P.n * tiles_img;
/*else*/
  let pix_tiles = (np + TP - 1u) / TP;
/*endif*/
/*if GM*/
  // Pixel tiles padded to whole workgroups, so that one workgroup shares a channel tile and
  // its bias partials add up in workgroup memory (the return is per workgroup: uniform).
  // Tiles past the end compute nothing and store nothing.
  let pix_pad = (pix_tiles + 63u) / 64u * 64u;
  let wg = wid.x + wid.y * nwg.x;
  if (wg >= pix_pad / 64u * (P.co4p / TQ)) { return; }
  let pt = idx % pix_pad;
  let q0 = (idx / pix_pad) * TQ;
  let c_n = select(0u, P.ci, pt < pix_tiles);
/*else*/
  if (idx >= pix_tiles * (P.co4p / TQ)) { return; }
  let pt = idx % pix_tiles;
  let q0 = (idx / pix_tiles) * TQ;
  let c_n = P.ci;
/*endif*/

  let hw_in = P.h * P.w;
  // Per pixel of the tile: where its output goes, and whether it is stored.
  var ob: array<u32, TP>;
  var valid: array<bool, TP>;
/*if PT*/
  // The tile's image and first output row and column (one division per invocation), and the
  // input patch it reads: PH rows × PW columns from (oh0·SH − ph, ow0·SW − pw), as row offsets
  // and column offsets with their bounds masks (0 outside the image: the padding). Pixels
  // past the image's last row or column (a tile may overhang it) are computed, not stored.
  let n = pt / tiles_img;
  let rem = pt - n * tiles_img;
  let oh0 = rem / ntc * TR;
  let ow0 = (rem % ntc) * TC;
  let nn = min(n, P.n - 1u);
  /*unroll*/ for (var r = 0u; r < {{TR}}u; r++) {
    /*unroll*/ for (var s = 0u; s < {{TC}}u; s++) {
      valid[r * TC + s] = n < P.n && oh0 + r < P.ho && ow0 + s < P.wo;
      ob[r * TC + s] = nn * P.co * hw_out + (oh0 + r) * P.wo + ow0 + s;
    }
  }
  var roff: array<u32, PH>;
  var rmask: array<f32, PH>;
  /*unroll*/ for (var r = 0u; r < {{PH}}u; r++) {
    let ih = i32(oh0 * SH + r) - i32(P.ph);
    let ok = ih >= 0 && ih < i32(P.h);
    rmask[r] = select(0.0, 1.0, ok);
    roff[r] = nn * P.ci * hw_in + select(0u, u32(ih) * P.w, ok);
  }
  var coff: array<u32, PW>;
  var cmask: array<f32, PW>;
  /*unroll*/ for (var s = 0u; s < {{PW}}u; s++) {
    let iw = i32(ow0 * SW + s) - i32(P.pw);
    let ok = iw >= 0 && iw < i32(P.w);
    cmask[s] = select(0.0, 1.0, ok);
    coff[s] = select(0u, u32(iw), ok);
  }
/*else*/
  // Per pixel of the tile: top-left input row/col and image base (pixels past the end
  // are clamped to the last one and their results discarded).
  var ih0: array<i32, TP>;
  var iw0: array<i32, TP>;
  var xb: array<u32, TP>;
  // (n, oh, ow) of the tile's first pixel, then stepped along the flattened index without
  // divisions (a vector integer division is a scalar loop on a CPU adapter).
  let pix0 = pt * TP;
  var n = pix0 / hw_out;
  var oh = (pix0 % hw_out) / P.wo;
  var ow = pix0 % P.wo;
  /*unroll*/ for (var p = 0u; p < {{TP}}u; p++) {
    let nn = min(n, P.n - 1u);
    ih0[p] = i32(oh) * i32(P.sh) - i32(P.ph);
    iw0[p] = i32(ow) * i32(P.sw) - i32(P.pw);
    xb[p] = nn * P.ci * hw_in;
    ob[p] = nn * P.co * hw_out + oh * P.wo + ow;
    valid[p] = pix0 + p < np;
    ow += 1u;
    let wrap = ow == P.wo;
    ow = select(ow, 0u, wrap);
    oh += select(0u, 1u, wrap);
    let wrap2 = oh == P.ho;
    oh = select(oh, 0u, wrap2);
    n += select(0u, 1u, wrap2);
  }
/*endif*/

  // Bias of the tile's channels, loaded once (zero past Co or without bias).
  var bv: array<vec4f, TQ>;
  /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
    /*unroll*/ for (var k = 0u; k < 4u; k++) {
      let co = (q0 + q) * 4u + k;
      bv[q][k] = select(0.0, bat(min(co, P.co - 1u)), P.has_bias == 1u && co < P.co);
    }
  }

  var acc: array<vec4f, TP * TQ>;
  let wstep = P.kh * P.kw * P.co4p;
/*if PT*/
  // Per input channel: the patch's PH·PW values, each loaded once, and the channel's KH·KW·TQ
  // weight vec4s (from its chunk's binding, chosen by a uniform branch, so that the FMAs below
  // are compiled once, not once per chunk); then every tap of every pixel from them (KH, KW,
  // SH, SW are defines, so every index is a constant).
  for (var c = 0u; c < c_n; c++) {
    var xp: array<f32, PH * PW>;
    /*unroll*/ for (var r = 0u; r < {{PH}}u; r++) {
      /*unroll*/ for (var s = 0u; s < {{PW}}u; s++) {
        xp[r * PW + s] = xat(roff[r] + coff[s]) * (rmask[r] * cmask[s]);
      }
      roff[r] += hw_in;
    }
    let u = c / CPU;
    let wi = q0 + (c - u * CPU) * wstep;
    var wv: array<vec4f, KH * KW * TQ>;
    /*unroll*/ for (var u2 = 0u; u2 < {{NU}}u; u2++) {
      if (u == u2) {
        /*unroll*/ for (var t = 0u; t < {{KK}}u; t++) {
          /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
            wv[t * TQ + q] = Wp#u2[wi + t * P.co4p + q];
          }
        }
      }
    }
    /*unroll*/ for (var kh = 0u; kh < {{KH}}u; kh++) {
      /*unroll*/ for (var kw = 0u; kw < {{KW}}u; kw++) {
        /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
          /*unroll*/ for (var r = 0u; r < {{TR}}u; r++) {
            /*unroll*/ for (var s = 0u; s < {{TC}}u; s++) {
              acc[(r * TC + s) * TQ + q] = fma(
                vec4f(xp[(r * SH + kh) * PW + s * SW + kw]),
                wv[(kh * KW + kw) * TQ + q],
                acc[(r * TC + s) * TQ + q],
              );
            }
          }
        }
      }
    }
  }
/*else*/
  for (var kh = 0u; kh < P.kh; kh++) {
    for (var kw = 0u; kw < P.kw; kw++) {
      var off: array<u32, TP>;
      var m: array<f32, TP>;
      /*unroll*/ for (var p = 0u; p < {{TP}}u; p++) {
        let ih = ih0[p] + i32(kh);
        let iw = iw0[p] + i32(kw);
        let ok = ih >= 0 && ih < i32(P.h) && iw >= 0 && iw < i32(P.w);
        m[p] = select(0.0, 1.0, ok);
        off[p] = select(0u, xb[p] + u32(ih) * P.w + u32(iw), ok);
      }
      let w0 = (kh * P.kw + kw) * P.co4p + q0;
/*include _conv_channels.wgsl*/
    }
  }
/*endif*/

/*if VS*/
  // Pixels 4g..4g+3 of the tile: consecutive in one image (Ho·Wo and TP multiples of 4), and
  // past np together.
  /*unroll*/ for (var g = 0u; g < {{TP4}}u; g++) {
    if (pix0 + 4u * g < np) {
      /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
        let v0 = acc[(4u * g) * TQ + q] + bv[q];
        let v1 = acc[(4u * g + 1u) * TQ + q] + bv[q];
        let v2 = acc[(4u * g + 2u) * TQ + q] + bv[q];
        let v3 = acc[(4u * g + 3u) * TQ + q] + bv[q];
        /*unroll*/ for (var k = 0u; k < 4u; k++) {
          let co = (q0 + q) * 4u + k;
          if (co < P.co) {
            Y[(ob[4u * g] + co * hw_out) / 4u] =
              vec4f(act(v0[k]), act(v1[k]), act(v2[k]), act(v3[k]));
          }
        }
      }
    }
  }
/*endif*/
/*if SE*/
  /*unroll*/ for (var p = 0u; p < {{TP}}u; p++) {
    if (valid[p]) {
      var v: array<vec4f, TQ>;
      /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
        v[q] = acc[p * TQ + q] + bv[q];
      }
      store_pixel(&v, ob[p], q0, P.co, hw_out);
    }
  }
/*endif*/
/*if GM*/
  // The workgroup's partial row.
  let nch = P.co;
  let prow = pt / 64u;
/*include _conv_grad_epilogue.wgsl*/
/*endif*/
}
