  // Fragment of conv2d.wgsl and conv_transpose2d.wgsl, which include it in their GM variant:
  // the backward of the leaky ReLU of the layer whose output m (binding 3, B) this kernel's
  // input gradient y has the layout of, y = v · (m > 0 ? 1 : slope), stored, and the bias
  // partials of that layer: the workgroup's sums by channel, added by a fixed tree in workgroup
  // memory (Red), one row per workgroup: Part[prow · nch + ch]. Uses the kernel's acc, q0, ob,
  // hw_out, lid, valid (the tile's positions to store), nch (channels of y) and prow (the
  // workgroup's partial row).
  var bs: array<vec4f, TQ>;
  /*unroll*/ for (var p = 0u; p < {{TP}}u; p++) {
    if (valid[p]) {
      var v: array<vec4f, TQ>;
      /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
        v[q] = acc[p * TQ + q];
      }
      grad_pixel(&v, ob[p], q0, nch, hw_out);
      /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
        bs[q] += v[q];
      }
    }
  }
  /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
    Red[lid * TQ + q] = bs[q];
  }
  for (var h = 32u; h > 0u; h >>= 1u) {
    workgroupBarrier();
    if (lid < h) {
      /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
        Red[lid * TQ + q] += Red[(lid + h) * TQ + q];
      }
    }
  }
  if (lid == 0u) {
    /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
      /*unroll*/ for (var k = 0u; k < 4u; k++) {
        let ch = (q0 + q) * 4u + k;
        if (ch < nch) { Part[prow * nch + ch] = Red[q][k]; }
      }
    }
  }
