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
// y, gy and g are read and written as vec4s, aligned in the flat array: a row of `inner`
// values need not start on a vec4, so the first and last vec4 of a segment are masked to the
// segment (and g's are written component by component, leaving the neighbour segment's
// values alone). On llvmpipe a vec4 load costs about twice a scalar one, not four times.
// The host binds each buffer rounded up to whole vec4s (pool buffers are 256-byte buckets).
// Bindings: 0 params, 1 y, 2 gy, 3 g, 4 part.
// main: one invocation per (n, j, c); dispatch ceil(N·segs·C / 64) workgroups, linear grid.
//
// rows: the same for a Linear layer's g [N, C] (inner 1) with C a multiple of 4, where main
// would give each invocation a segment of one value. Each invocation adds a quad of 4
// channels as vec4s over a segment of `seg` rows: part[j·C + c] for segment j (segs =
// ceil(N / seg)). One invocation per (quad, j); dispatch ceil(segs·C/4 / 64) workgroups. The
// decoder's first Linear ([64, 1152] at batch 64) took 0.9 ms on llvmpipe through main.

struct Params {
  outer: u32, c: u32, inner: u32, seg: u32,
  segs: u32, write_g: u32, slope: f32, _pad: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Y: array<vec4f>;
@group(0) @binding(2) var<storage, read> GY: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> G: array<vec4f>;
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
  let base = (n * P.c + c) * P.inner;
  let e0 = base + j * P.seg;                       // first value of the segment
  let e1 = base + min((j + 1u) * P.seg, P.inner);  // one past its last
  let q0 = e0 / 4u;
  let q1 = (e1 + 3u) / 4u;
  let lane = vec4u(0u, 1u, 2u, 3u);
  var acc = vec4f(0.0);
  if (P.write_g == 1u) {
    for (var q = q0; q < q1; q++) {
      let v = select(vec4f(P.slope), vec4f(1.0), Y[q] > vec4f(0.0)) * GY[q];
      let e = 4u * q;
      if (e >= e0 && e + 4u <= e1) {
        G[q] = v;
        acc += v;
      } else {
        let m = (vec4u(e) + lane >= vec4u(e0)) & (vec4u(e) + lane < vec4u(e1));
        acc += select(vec4f(0.0), v, m);
        for (var k = 0u; k < 4u; k++) {
          if (m[k]) { G[q][k] = v[k]; }
        }
      }
    }
  } else {
    for (var q = q0; q < q1; q++) {
      let e = 4u * q;
      let m = (vec4u(e) + lane >= vec4u(e0)) & (vec4u(e) + lane < vec4u(e1));
      acc += select(vec4f(0.0), GY[q], m);
    }
  }
  Part[idx] = (acc.x + acc.y) + (acc.z + acc.w);
}

@compute @workgroup_size(64)
fn rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 64u + lid;
  let quads = P.c / 4u;
  if (idx >= P.segs * quads) { return; }
  let c4 = idx % quads;
  let j = idx / quads;
  let n1 = min((j + 1u) * P.seg, P.outer);
  var acc = vec4f(0.0);
  for (var n = j * P.seg; n < n1; n++) {
    let q = n * quads + c4;
    if (P.write_g == 1u) {
      let v = select(vec4f(P.slope), vec4f(1.0), Y[q] > vec4f(0.0)) * GY[q];
      G[q] = v;
      acc += v;
    } else {
      acc += GY[q];
    }
  }
  let o = j * P.c + 4u * c4;
  Part[o] = acc.x;
  Part[o + 1u] = acc.y;
  Part[o + 2u] = acc.z;
  Part[o + 3u] = acc.w;
}
