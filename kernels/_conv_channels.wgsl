      // Fragment of conv2d.wgsl and conv_transpose2d.wgsl, which include it: one tap's sum
      // over the input channels, chunk by chunk, each chunk's weights in binding
      // Wp<u> (_conv_weights.wgsl; NU chunks of CPU channels, one chunk of all of them unless
      // the weight is split). Uses the kernel's c_n (channels to add, 0 for a padding tile),
      // w0 (the tap's first weight index: (kh·KW + kw)·O4P + q0), wstep (KH·KW·O4P), off and m
      // (the tile's x offsets and bounds masks at this tap), hw_in, X and acc.
      var c = 0u;
      /*unroll*/ for (var u = 0u; u < {{NU}}u; u++) {
        var wi = w0;
        let c_end = min(c_n, (u + 1u) * CPU);
        while (c < c_end) {
          var xv: array<vec4f, TP>;
          /*unroll*/ for (var p = 0u; p < {{TP}}u; p++) {
            xv[p] = vec4f(xat(off[p]) * m[p]);
            off[p] += hw_in;
          }
          /*unroll*/ for (var q = 0u; q < {{TQ}}u; q++) {
            let wv = Wp#u[wi + q];
            /*unroll*/ for (var p = 0u; p < {{TP}}u; p++) {
              acc[p * TQ + q] = fma(xv[p], wv, acc[p * TQ + q]);
            }
          }
          wi += wstep;
          c++;
        }
      }
