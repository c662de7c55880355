// split_sum_jobs: the split-K sums of several outputs in one dispatch. A backward pass splits
// its weight and bias gradients over rows or segments (conv_weight_grad*.wgsl,
// bias_grad.wgsl) and used to add each one's partials with a `split_sum` of its own (22 of a
// seed training step's 77 dispatches); lib/gpu/split_sums.ts defers those sums until something
// reads their outputs (the optimizer, usually) and records them here, all at once.
//
//   job j:  Out[out_j + i] = Σ_{s < splits_j} A[part_j + s·count_j + i],   i < count_j
//
// Per job, lanes_j invocations (a power of two ≤ 64, 0 = 1) add up one output, each every
// lanes_j-th partial, then a tree over the lanes in workgroup memory: split_sum's order
// (reduce.wgsl), so the results are bit-identical with it. A workgroup serves one job and
// holds 64 / lanes_j consecutive outputs of it; the jobs cover consecutive workgroups of a
// linear grid, in table order.
//
// A job whose count is a multiple of 4 (and whose partials start on a vec4) reads them as
// vec4s, 4 consecutive outputs per invocation, each still added in the order above: on
// llvmpipe a vec4 load costs about twice a scalar one, not four times, and the loads are all
// this kernel does.
//
// Job fields (u32, offsets in floats from the start of each binding):
//   a = (part, out, count, splits), b = (lanes, first workgroup, vec4, -)
// Unused rows of the table start past every workgroup, so the search never picks them (a
// fixed trip count: see conv_pack.wgsl for why not P.jobs).
// Bindings: 0 params, 1 A (the partials), 2 Out, 3 A4 (the same partials, read as vec4s).

struct Job { a: vec4u, b: vec4u }

struct Params {
  jobs: u32, _p0: u32, _p1: u32, _p2: u32, // jobs: rows of the table in use
  job: array<Job, {{MAXJ}}>,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read_write> Out: array<f32>;
@group(0) @binding(3) var<storage, read> A4: array<vec4f>;

var<workgroup> sh: array<vec4f, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * nwg.x;
  var j = 0u;
  for (var k = 1u; k < {{MAXJ}}u; k++) {
    if (g >= P.job[k].b.y) { j = k; }
  }
  let J = P.job[j];
  let v4 = J.b.z == 1u;
  let width = select(1u, 4u, v4);
  let count = J.a.z / width; // outputs, or vec4s of outputs
  let splits = J.a.w;
  let lanes = max(J.b.x, 1u);
  let per = 64u / lanes;
  let lane = lid / per;
  let i = (g - J.b.y) * per + lid % per;
  var s = vec4f(0.0);
  if (i < count) {
    if (v4) {
      let base = J.a.x / 4u;
      for (var k = lane; k < splits; k += lanes) { s += A4[base + k * count + i]; }
    } else {
      for (var k = lane; k < splits; k += lanes) { s.x += A[J.a.x + k * count + i]; }
    }
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
  if (lane == 0u && i < count) {
    let o = J.a.y + i * width;
    Out[o] = s.x;
    if (v4) {
      Out[o + 1u] = s.y;
      Out[o + 2u] = s.z;
      Out[o + 3u] = s.w;
    }
  }
}
