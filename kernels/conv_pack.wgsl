// conv_pack: repacks convolution weights for the conv kernels, several weights per dispatch.
// Each job of the table in the uniform packs one weight into a run of vec4s of the output
// buffer; a training step refreshes all of its packed weights in one dispatch after the
// optimizer has written them (lib/gpu/packs.ts).
//
// Kind 0, for conv2d.wgsl and conv_transpose2d.wgsl: channel-last in vec4s of output
// channels, so that one vec4 load feeds 4 output channels:
//
//   wp[(i·KK + tap)·O4P + q] = (w[4q, i, tap], w[4q+1, i, tap], w[4q+2, i, tap], w[4q+3, i, tap])
//
// where w[o, i, tap] = W[o·so + i·si + tap] and channels o >= O read as 0. O4P >= ceil(O/4)
// pads the quads so that kernels reading a tile of quads never go past the end.
// conv2d weight [Co,Ci,KH,KW]: O = Co, I = Ci, so = Ci·KK, si = KK.
// conv_transpose2d weight [A,B,KH,KW] (output channel b): O = B, I = A, so = KK, si = B·KK.
//
// Kind 1, for conv_transpose2d_phase.wgsl: a ConvTranspose2d weight w [A,B,KH,KW] by input
// window offset, with the output phases in the lanes of a vec4:
//
//   wq[((a·WH + i)·WW + j)·B + b][l] = w[a, b, qh + ph − sh·(dh0 + i), qw + pw − sw·(dw0 + j)]
//
// with (qh, qw) = (l / sw, l % sw), and zero where that tap falls outside the kernel or
// l >= sh·sw (see conv_transpose2d_phase.wgsl for dh0, WH, dw0, WW).
//
// Job fields (u32; dh0 and dw0 are i32 bit patterns):
//   h = (kind, first workgroup, invocations, output offset in vec4s)
//   kind 0: p = (weight offset in floats, o, i, kk), q = (o4p, so, si, -)
//   kind 1: p = (weight offset in floats, a, b, kh), q = (kw, sh, sw, ph), r = (pw, dh0, dw0, wh),
//           s = (ww, -, -, -)
// Bindings: 0 params, 1 W (the weights' buffer), 2 Wp. The jobs cover consecutive
// workgroups of a linear grid, in table order. An invocation writes a run of vec4s (all
// output-channel quads of one input channel and tap, or all output channels of one input
// channel and window offset), stepping through it without integer divisions: with the
// fields read from the table rather than inlined as constants, each division is a loop over
// the lanes on llvmpipe, and one invocation per vec4 made a packing 3–4× slower there.

struct Job {
  h: vec4u, p: vec4u, q: vec4u, r: vec4u, s: vec4u,
}

struct Params {
  jobs: u32, _p0: u32, _p1: u32, _p2: u32, // jobs: rows of the table in use
  job: array<Job, {{MAXJ}}>,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read_write> Wp: array<vec4f>;

// Kind 0: invocation r = i·KK + tap writes the O4P quads of its (input channel, tap).
fn pack_quads(J: Job, r: u32) {
  let kk = J.p.w;
  let o4p = J.q.x;
  let so = J.q.y;
  let src = J.p.x + (r / kk) * J.q.z + r % kk;
  let dst = J.h.w + r * o4p;
  for (var q = 0u; q < o4p; q++) {
    var v = vec4f(0.0);
    for (var k = 0u; k < 4u; k++) {
      let o = q * 4u + k;
      if (o < J.p.y) { v[k] = W[o * so + src]; }
    }
    Wp[dst + q] = v;
  }
}

// Kind 1: invocation r = (a·WH + i)·WW + j writes the B vec4s of its (input channel, window
// offset).
fn pack_phases(J: Job, r: u32) {
  let nb = J.p.z;
  let kh_ = J.p.w;
  let kw_ = J.q.x;
  let sh = J.q.y;
  let sw = J.q.z;
  let ph = J.q.w;
  let pw = J.r.x;
  let dh0 = bitcast<i32>(J.r.y);
  let dw0 = bitcast<i32>(J.r.z);
  let wh = J.r.w;
  let ww = J.s.x;
  let jj = r % ww;
  let i = (r / ww) % wh;
  let a = r / (ww * wh);
  for (var b = 0u; b < nb; b++) {
    var v = vec4f(0.0);
    for (var l = 0u; l < 4u; l++) {
      let kh = i32(l / sw + ph) - i32(sh) * (dh0 + i32(i));
      let kw = i32(l % sw + pw) - i32(sw) * (dw0 + i32(jj));
      if (l < sh * sw && kh >= 0 && kh < i32(kh_) && kw >= 0 && kw < i32(kw_)) {
        v[l] = W[J.p.x + ((a * nb + b) * kh_ + u32(kh)) * kw_ + u32(kw)];
      }
    }
    Wp[J.h.w + r * nb + b] = v;
  }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * nwg.x;
  var j = 0u;
  // A fixed trip count: unused rows start past every workgroup. Bounded by P.jobs instead,
  // the loop made the packing of the seed's 19 weights 8–10× slower on lavapipe (15 ms
  // against 1.5; one dispatch per weight took 2 ms).
  for (var k = 1u; k < {{MAXJ}}u; k++) {
    if (g >= P.job[k].h.y) { j = k; }
  }
  let J = P.job[j];
  let r = (g - J.h.y) * 64u + lid;
  if (r >= J.h.z) { return; }
  if (J.h.x == 0u) {
    pack_quads(J, r);
  } else {
    pack_phases(J, r);
  }
}
