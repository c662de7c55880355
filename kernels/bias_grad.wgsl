// bias_grad: the bias gradient of a layer, optionally fused with the backward of its leaky
// ReLU, in one pass over gy.
//
//   g[n,c,s]  = gy[n,c,s] · (y[n,c,s] > 0 ? 1 : slope)       (written when write_g = 1)
//   part[(n·segs + j)·C + c] = Σ_{s in segment j} g[n,c,s]
//
// Layouts: y, gy, g [N, C, inner]; part [N·segs, C], summed over its first axis by
// `split_sum` (reduce.wgsl) into the bias gradient [C]. With slope = 1 the mask is skipped
// and y is not read (bind gy there).
// Why one pass: separate leaky_grad and per-channel sum passes each read the whole gradient,
// and a one-workgroup-per-channel sum reduces a 1-channel layer on one thread.
// Here every invocation sums one segment of `seg` values of one (n, c) row, so the work
// spreads over N·C·segs invocations whatever C is.
// Bindings: 0 params, 1 y, 2 gy, 3 g, 4 part.
// One invocation per (n, j, c); dispatch ceil(N·segs·C / 64) workgroups, linear grid.

struct Params {
  outer: u32, c: u32, inner: u32, seg: u32,
  segs: u32, write_g: u32, slope: f32, _pad: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Y: array<f32>;
@group(0) @binding(2) var<storage, read> GY: array<f32>;
@group(0) @binding(3) var<storage, read_write> G: array<f32>;
@group(0) @binding(4) var<storage, read_write> Part: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (idx >= P.outer * P.segs * P.c) { return; }
  let c = idx % P.c;
  let r = idx / P.c;
  let j = r % P.segs;
  let n = r / P.segs;
  let s0 = j * P.seg;
  let s1 = min(s0 + P.seg, P.inner);
  let base = (n * P.c + c) * P.inner;
  var acc = 0.0;
  if (P.write_g == 1u) {
    for (var s = s0; s < s1; s++) {
      let i = base + s;
      let v = select(P.slope, 1.0, Y[i] > 0.0) * GY[i];
      G[i] = v;
      acc += v;
    }
  } else {
    for (var s = s0; s < s1; s++) { acc += GY[base + s]; }
  }
  Part[idx] = acc;
}
