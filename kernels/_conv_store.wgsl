// Fragment of conv2d.wgsl (its scalar-store variants) and conv_transpose2d.wgsl: one output
// pixel's stores, in functions of their own rather than unrolled TP times inside main, where
// they were most of the code. Creating a shader module (Deno's WebGPU: WGSL parsing and
// validation, then SPIR-V) takes time that grows with the square of a function's size, not
// with the module's: 4,000 statements took 1.1 s in one function and 0.14 s in 16 (see
// lib/gpu/wgsl.ts). Every sum adds in the same order as before.
//
// store_pixel: v[q] (bias added) through the activation into Y[o + ch·hw_out] for the tile's
// channels ch = 4·(q0 + q) + k below nch.
fn store_pixel(v: ptr<function, array<vec4f, TQ>>, o: u32, q0: u32, nch: u32, hw_out: u32) {
  /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
    /*unroll*/ for (var k = 0u; k < 4u; k++) {
      let ch = (q0 + q) * 4u + k;
      if (ch < nch) {
        Y[o + ch * hw_out] = act((*v)[q][k]);
      }
    }
  }
}

// grad_pixel (GM variants, _conv_grad_epilogue.wgsl): the backward of the leaky ReLU whose
// output m (binding 3) has y's layout, v[q][k] · (m > 0 ? 1 : slope), stored and left in v for
// the bias partials; values past nch stay as they were (zero: no weight reaches them).
fn grad_pixel(v: ptr<function, array<vec4f, TQ>>, o: u32, q0: u32, nch: u32, hw_out: u32) {
  /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
    /*unroll*/ for (var k = 0u; k < 4u; k++) {
      let ch = (q0 + q) * 4u + k;
      if (ch < nch) {
        let i = o + ch * hw_out;
        let g = select(P.slope * (*v)[q][k], (*v)[q][k], bat(i) > 0.0);
        (*v)[q][k] = g;
        Y[i] = g;
      }
    }
  }
}
