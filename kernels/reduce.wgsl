// reduce: sums. Bindings: 0 params, 1 A (read), 2 B (read), 3 Out (read_write); each entry
// binds the subset it names. Workgroups are 64 wide; workgroup index = wid.x + wid.y · nwg.x.
//
//   split_sum       Out[i] = Σ_{s<splits} A[s·count + i]          (split-K partials)
//                   `lanes` (a power of two ≤ 64; 0 = 1) invocations per i, each summing every
//                   lanes-th partial, then a tree over the lanes in workgroup memory; a
//                   workgroup holds 64/lanes consecutive i. Dispatch ceil(count·lanes/64). binds 1, 3
//   split_sum_act   Out[i] = act(Σ_{s<splits} A[s·count + i] + B[i mod inner])
//                   (bias added when chunk = 1; act(v) = v > 0 ? v : scale·v, scale 1 =
//                   none): the end of a split-K matmul (matmul.wgsl). As split_sum, lanes too.
//                                                                             binds 1, 2, 3
//   sum_partial     Out[g] = Σ A[g·chunk .. (g+1)·chunk) ∩ [0, count)
//                   one workgroup per chunk; dispatch max(1, ceil(count/chunk)). binds 1, 3
//   sqdiff_partial  as sum_partial, of (A[i] − B[i])²                          binds 1, 2, 3
//   finish          Out[0] = scale · Σ_{i<count} A[i], one workgroup; dispatch 1.  binds 1, 3
//
// Summation order is fixed, so results are deterministic run to run. Why lanes: a GPU with
// thousands of lanes runs a split_sum of a few outputs (a bias of 8 channels over 1,536
// partials) on a few threads, one dependent load after another: on an H100 the split sums
// took 72 % of a training step's GPU time at batch 256 with one lane per output. llvmpipe,
// where a workgroup runs on one CPU thread, keeps one lane (the serial sum, no barriers).

struct Params {
  count: u32, splits: u32, outer: u32, inner: u32,
  chunk: u32, lanes: u32, scale: f32, _p1: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;

var<workgroup> sh: array<f32, 64>;

fn tree(lid: u32) -> f32 {
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (lid < s) { sh[lid] += sh[lid + s]; }
    workgroupBarrier();
  }
  return sh[0];
}

struct Split { i: u32, s: f32 }

// Σ over the P.splits partials of output i (partial k at A[k · count + i]), summed by
// P.lanes invocations of one workgroup. Returns i and Σ on the lane that holds the total
// (lane 0 of i); i ≥ P.count on the other lanes and past the end.
fn split_total(wid: vec3u, nwg: vec3u, lid: u32) -> Split {
  let lanes = max(P.lanes, 1u);
  let per = 64u / lanes;
  let lane = lid / per;
  let i = (wid.x + wid.y * nwg.x) * per + lid % per;
  var s = 0.0;
  if (i < P.count) {
    for (var k = lane; k < P.splits; k += lanes) { s += A[k * P.count + i]; }
  }
  if (lanes > 1u) {
    sh[lid] = s;
    workgroupBarrier();
    for (var h = lanes >> 1u; h > 0u; h >>= 1u) {
      if (lane < h) { sh[lid] += sh[lid + h * per]; }
      workgroupBarrier();
    }
    s = sh[lid];
  }
  return Split(select(P.count, i, lane == 0u), s);
}

@compute @workgroup_size(64)
fn split_sum(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) lid: u32) {
  let r = split_total(wid, nwg, lid);
  if (r.i < P.count) { Out[r.i] = r.s; }
}

@compute @workgroup_size(64)
fn split_sum_act(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) lid: u32) {
  let r = split_total(wid, nwg, lid);
  let i = r.i;
  if (i >= P.count) { return; }
  var s = r.s;
  if (P.chunk == 1u) { s += B[i % P.inner]; }
  Out[i] = select(P.scale * s, s, s > 0.0);
}

// Partials of sum_partial and sqdiff_partial: ceil(count / chunk), at least 1. A grid split over
// y (more than maxComputeWorkgroupsPerDimension chunks) has workgroups past the last one, which
// must not store: a store past the binding is dropped on some adapters (lavapipe) but may land
// on another element of it on others.
fn chunks() -> u32 {
  return max(1u, (P.count + P.chunk - 1u) / P.chunk);
}

@compute @workgroup_size(64)
fn sum_partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * nwg.x;
  let end = min((g + 1u) * P.chunk, P.count);
  var s = 0.0;
  for (var i = g * P.chunk + lid; i < end; i += 64u) { s += A[i]; }
  sh[lid] = s;
  let r = tree(lid);
  if (lid == 0u && g < chunks()) { Out[g] = r; }
}

@compute @workgroup_size(64)
fn sqdiff_partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * nwg.x;
  let end = min((g + 1u) * P.chunk, P.count);
  var s = 0.0;
  for (var i = g * P.chunk + lid; i < end; i += 64u) {
    let d = A[i] - B[i];
    s += d * d;
  }
  sh[lid] = s;
  let r = tree(lid);
  if (lid == 0u && g < chunks()) { Out[g] = r; }
}

@compute @workgroup_size(64)
fn finish(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < P.count; i += 64u) { s += A[i]; }
  sh[lid] = s;
  let r = tree(lid);
  if (lid == 0u) { Out[0] = P.scale * r; }
}
