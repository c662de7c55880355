// reduce: sums. Bindings: 0 params, 1 A (read), 2 B (read), 3 Out (read_write); each entry
// binds the subset it names. Workgroups are 64 wide; workgroup index = wid.x + wid.y · nwg.x.
//
//   split_sum       Out[i] = Σ_{s<splits} A[s·count + i]          (split-K partials)
//                   one invocation per i; dispatch ceil(count/64).            binds 1, 3
//   split_sum_act   Out[i] = act(Σ_{s<splits} A[s·count + i] + B[i mod inner])
//                   (bias added when chunk = 1; act(v) = v > 0 ? v : scale·v, scale 1 =
//                   none): the end of a split-K matmul (matmul.wgsl). As split_sum.
//                                                                             binds 1, 2, 3
//   sum_partial     Out[g] = Σ A[g·chunk .. (g+1)·chunk) ∩ [0, count)
//                   one workgroup per chunk; dispatch ceil(count/chunk).       binds 1, 3
//   sqdiff_partial  as sum_partial, of (A[i] − B[i])²                          binds 1, 2, 3
//   finish          Out[0] = scale · Σ_{i<count} A[i], one workgroup; dispatch 1.  binds 1, 3
//
// Summation order is fixed, so results are deterministic run to run.

struct Params {
  count: u32, splits: u32, outer: u32, inner: u32,
  chunk: u32, _p0: u32, scale: f32, _p1: u32,
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

// Σ over the P.splits partials of output i (partial k at A[k · count + i]).
fn split_total(i: u32) -> f32 {
  var s = 0.0;
  for (var k = 0u; k < P.splits; k++) { s += A[k * P.count + i]; }
  return s;
}

@compute @workgroup_size(64)
fn split_sum(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.count) { return; }
  Out[i] = split_total(i);
}

@compute @workgroup_size(64)
fn split_sum_act(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= P.count) { return; }
  var s = split_total(i);
  if (P.chunk == 1u) { s += B[i % P.inner]; }
  Out[i] = select(P.scale * s, s, s > 0.0);
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
  if (lid == 0u) { Out[g] = r; }
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
  if (lid == 0u) { Out[g] = r; }
}

@compute @workgroup_size(64)
fn finish(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < P.count; i += 64u) { s += A[i]; }
  sh[lid] = s;
  let r = tree(lid);
  if (lid == 0u) { Out[0] = P.scale * r; }
}
