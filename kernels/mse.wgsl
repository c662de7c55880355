// mse: the gradient of the mean squared error (the loss itself is `sqdiff` in reduce.wgsl),
// and the loss and gradient of the MSE of a cropped prediction, without the crop's copy.
//
//   main            g[i] = coef · (a[i] − b[i]) · gl[0]      coef = 2 / numel
//   broadcast       g[i] = coef · gl[0]           (the gradient of a scaled sum)
//   crop_sqdiff     part[p·ho + r] = Σ_c (a[p, top + r, left + c] − b[p, r, c])²
//   crop_mse_grad   g[p, i, j] = coef · (a[p, i, j] − b[p, i − top, j − left]) · gl[0]
//                   inside the window, 0 outside                  coef = 2 / numel(b)
//   crop_mse_grad_act  the same times (a > 0 ? 1 : slope): the backward of the leaky ReLU that
//                   made a (a is its output), done here; and each row's sum of it in
//                   part[(n·h + i)·C + c] for plane p = n·C + c, which split_sum adds up into
//                   that layer's bias gradient (the decoder's last layer: one pass and one
//                   dispatch instead of two)
//
// gl holds the upstream gradient of the scalar loss (1 for `loss.backward()`), so the
// scale stays on the GPU and no read-back is needed.
// The crop entries take a [planes, h, w] and b [planes, ho, wo] (the window at (top, left)).
// A decoder whose output is cropped to the input's size then needs neither the cropped copy
// nor the copy's gradient: one pass each way instead of three (crop + sqdiff, mse_grad +
// crop_grad). One invocation per row (of b for crop_sqdiff, of a for crop_mse_grad), so the
// (plane, row) split costs one division per row, not per value; crop_sqdiff's row sums are
// added by `finish` (reduce.wgsl).
// Bindings: 0 params, 1 a, 2 b, 3 gl, 4 g (part for crop_sqdiff), 5 part (crop_mse_grad_act).
// main and the crop entries dispatch ceil(count / 64) workgroups (count: values, or rows),
// linear grid.

struct Params {
  count: u32, ch: u32, coef: f32, slope: f32,
  h: u32, w: u32, ho: u32, wo: u32,
  top: u32, left: u32, _p2: u32, _p3: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read> GL: array<f32>;
@group(0) @binding(4) var<storage, read_write> G: array<f32>;
@group(0) @binding(5) var<storage, read_write> Part: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.count) { return; }
  G[i] = P.coef * (A[i] - B[i]) * GL[0];
}

@compute @workgroup_size(64)
fn broadcast(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.count) { return; }
  G[i] = P.coef * GL[0];
}

// count = planes · ho rows of b.
@compute @workgroup_size(64)
fn crop_sqdiff(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.count) { return; }
  let p = i / P.ho;
  let r = i - p * P.ho;
  let ab = (p * P.h + P.top + r) * P.w + P.left;
  let bb = i * P.wo;
  var s = 0.0;
  for (var c = 0u; c < P.wo; c++) {
    let d = A[ab + c] - B[bb + c];
    s = fma(d, d, s);
  }
  G[i] = s;
}

// One row i of g (of planes · h): the gradient, times the leaky ReLU's backward when `act`;
// returns the row's sum (0 without `act`). Both crop_mse_grad entries inline it with `act` a
// constant.
fn crop_grad_row(i: u32, act: bool) -> f32 {
  let p = i / P.h;
  let row = i - p * P.h;
  let gb = i * P.w;
  let inside = row >= P.top && row < P.top + P.ho;
  let right = select(0u, P.left + P.wo, inside);
  for (var c = 0u; c < select(P.w, P.left, inside); c++) { G[gb + c] = 0.0; }
  var s = 0.0;
  if (inside) {
    let bb = (p * P.ho + row - P.top) * P.wo;
    for (var c = 0u; c < P.wo; c++) {
      let j = gb + P.left + c;
      let a = A[j];
      var g = P.coef * (a - B[bb + c]) * GL[0];
      if (act) {
        g = select(P.slope * g, g, a > 0.0);
        s += g;
      }
      G[j] = g;
    }
    for (var c = right; c < P.w; c++) { G[gb + c] = 0.0; }
  }
  return s;
}

// count = planes · h rows of a (and of g).
@compute @workgroup_size(64)
fn crop_mse_grad(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.count) { return; }
  crop_grad_row(i, false);
}

// count = planes · h rows of a (and of g); ch = channels C.
@compute @workgroup_size(64)
fn crop_mse_grad_act(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.count) { return; }
  let s = crop_grad_row(i, true);
  let p = i / P.h;
  let n = p / P.ch;
  Part[(n * P.h + i - p * P.h) * P.ch + (p - n * P.ch)] = s;
}
