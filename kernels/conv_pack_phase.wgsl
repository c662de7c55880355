// conv_pack_phase: packs a ConvTranspose2d weight w [A,B,KH,KW] for
// conv_transpose2d_phase.wgsl, by input window offset with the output phases in the lanes of
// a vec4:
//
//   wq[((a·WH + i)·WW + j)·B + b][l] = w[a, b, qh + ph − sh·(dh0 + i), qw + pw − sw·(dw0 + j)]
//
// with (qh, qw) = (l / sw, l % sw), and zero where that tap falls outside the kernel or
// l >= sh·sw (see conv_transpose2d_phase.wgsl for dh0, WH, dw0, WW).
// Bindings: 0 params, 1 w, 2 wq. One invocation per vec4.
// Dispatch: ceil(A · WH · WW · B / 64) workgroups of 64, linear grid.

struct Params {
  a: u32, b: u32, kh: u32, kw: u32,
  sh: u32, sw: u32, ph: u32, pw: u32,
  dh0: i32, dw0: i32, wh: u32, ww: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read_write> Wq: array<vec4f>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (idx >= P.a * P.wh * P.ww * P.b) { return; }
  let b = idx % P.b;
  var rest = idx / P.b;
  let j = rest % P.ww;
  rest /= P.ww;
  let i = rest % P.wh;
  let a = rest / P.wh;
  var v = vec4f(0.0);
  for (var l = 0u; l < 4u; l++) {
    let kh = i32(l / P.sw + P.ph) - i32(P.sh) * (P.dh0 + i32(i));
    let kw = i32(l % P.sw + P.pw) - i32(P.sw) * (P.dw0 + i32(j));
    if (l < P.sh * P.sw && kh >= 0 && kh < i32(P.kh) && kw >= 0 && kw < i32(P.kw)) {
      v[l] = W[((a * P.b + b) * P.kh + u32(kh)) * P.kw + u32(kw)];
    }
  }
  Wq[idx] = v;
}
