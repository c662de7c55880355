import { assertClose, assertEquals, assertThrows } from "../_assert.ts";
import {
  biasGrad,
  conv2d,
  conv2dInputGrad,
  conv2dOutputShape,
  type Conv2dParams,
  conv2dWeightGrad,
  convTranspose2d,
  convTranspose2dInputGrad,
  convTranspose2dOutputShape,
  type ConvTranspose2dParams,
  convTranspose2dWeightGrad,
} from "../../lib/cpu/conv.ts";
import { checkGrad, randomArray } from "../../lib/cpu/gradcheck.ts";

// Tolerances.
// Forward comparisons: both sides are Float64 sums of at most C·Kh·Kw <= 54 products of
// magnitude <= 4, added in different orders; the rounding difference is ~54·4·2^-52 ≈ 5e-14.
const FWD_ATOL = 1e-12, FWD_RTOL = 1e-12;
// Gradient checks use L = Σ r ⊙ y with a fixed random r, so gy = r. L is linear in each of
// x, w and b, so the central difference has no truncation error; what remains is rounding,
// about 2^-52·Σ|terms of L| / eps ≈ 2e-16·300/1e-6 ≈ 1e-7 at worst here.
const GRAD = { eps: 1e-6, atol: 1e-6, rtol: 1e-5 };

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

/** Direct 7-loop conv2d (plus batch), straight from the definition, for comparison. */
function naiveConv2d(
  x: ArrayLike<number>,
  [n, c, h, w]: number[],
  wt: ArrayLike<number>,
  [co, , kh, kw]: number[],
  b: ArrayLike<number> | null,
  { stride: [sh, sw], padding: [ph, pw] }: Conv2dParams,
): Float64Array {
  const ho = Math.floor((h + 2 * ph - kh) / sh) + 1, wo = Math.floor((w + 2 * pw - kw) / sw) + 1;
  const y = new Float64Array(n * co * ho * wo);
  for (let bn = 0; bn < n; bn++) {
    for (let o = 0; o < co; o++) {
      for (let oh = 0; oh < ho; oh++) {
        for (let ow = 0; ow < wo; ow++) {
          let s = b ? b[o] : 0;
          for (let ci = 0; ci < c; ci++) {
            for (let i = 0; i < kh; i++) {
              for (let j = 0; j < kw; j++) {
                const ih = oh * sh - ph + i, iw = ow * sw - pw + j;
                if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                s += x[((bn * c + ci) * h + ih) * w + iw] * wt[((o * c + ci) * kh + i) * kw + j];
              }
            }
          }
          y[((bn * co + o) * ho + oh) * wo + ow] = s;
        }
      }
    }
  }
  return y;
}

/**
 * Direct transposed convolution written as a gather (the implementation scatters):
 * y[n,o,a,b] = Σ x[n,c,ih,iw]·w[c,o,i,j] over ih = (a + ph − i)/sh, iw = (b + pw − j)/sw
 * when those are whole numbers inside x.
 */
function naiveConvTranspose2d(
  x: ArrayLike<number>,
  [n, c, h, w]: number[],
  wt: ArrayLike<number>,
  [, co, kh, kw]: number[],
  b: ArrayLike<number> | null,
  { stride: [sh, sw], padding: [ph, pw], outputPadding: [oph, opw] = [0, 0] }:
    ConvTranspose2dParams,
): Float64Array {
  const ho = (h - 1) * sh - 2 * ph + kh + oph, wo = (w - 1) * sw - 2 * pw + kw + opw;
  const y = new Float64Array(n * co * ho * wo);
  for (let bn = 0; bn < n; bn++) {
    for (let o = 0; o < co; o++) {
      for (let a = 0; a < ho; a++) {
        for (let bb = 0; bb < wo; bb++) {
          let s = b ? b[o] : 0;
          for (let ci = 0; ci < c; ci++) {
            for (let i = 0; i < kh; i++) {
              for (let j = 0; j < kw; j++) {
                const th = a + ph - i, tw = bb + pw - j;
                if (th % sh !== 0 || tw % sw !== 0) continue;
                const ih = th / sh, iw = tw / sw;
                if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                s += x[((bn * c + ci) * h + ih) * w + iw] * wt[((ci * co + o) * kh + i) * kw + j];
              }
            }
          }
          y[((bn * co + o) * ho + a) * wo + bb] = s;
        }
      }
    }
  }
  return y;
}

interface ConvCase {
  name: string;
  xs: number[];
  ws: number[];
  p: Conv2dParams;
}

// Awkward shapes: batch 1 and 3, odd sizes, stride 2 with odd widths, asymmetric per-axis
// padding, non-square kernels, the 1x1 fast path and a strided 1x1 that is not.
const convCases: ConvCase[] = [
  {
    name: "stride 2, padding [0,1], 3x2 kernel, odd width",
    xs: [1, 2, 5, 7],
    ws: [3, 2, 3, 2],
    p: { stride: [2, 2], padding: [0, 1] },
  },
  {
    name: "batch 3, stride [1,2], padding [1,0], 2x3 kernel",
    xs: [3, 3, 6, 5],
    ws: [2, 3, 2, 3],
    p: { stride: [1, 2], padding: [1, 0] },
  },
  {
    name: "batch 3, 3x3 stride 2 padding 1 on 7x9 (seed layer geometry)",
    xs: [3, 1, 7, 9],
    ws: [4, 1, 3, 3],
    p: { stride: [2, 2], padding: [1, 1] },
  },
  {
    name: "1x1 kernel, stride 1 (pointwise path)",
    xs: [2, 3, 4, 3],
    ws: [2, 3, 1, 1],
    p: { stride: [1, 1], padding: [0, 0] },
  },
  {
    name: "1x1 kernel, stride 2, padding [1,0]",
    xs: [1, 2, 5, 5],
    ws: [3, 2, 1, 1],
    p: { stride: [2, 2], padding: [1, 0] },
  },
  {
    name: "padding larger than kernel, stride [3,1]",
    xs: [1, 2, 3, 4],
    ws: [2, 2, 2, 2],
    p: { stride: [3, 1], padding: [2, 3] },
  },
  {
    name: "kernel as large as the input",
    xs: [2, 2, 3, 4],
    ws: [3, 2, 3, 4],
    p: { stride: [1, 1], padding: [0, 0] },
  },
];

for (const [ci, cse] of convCases.entries()) {
  const { name, xs, ws, p } = cse;
  const x = randomArray(prod(xs), 10 + ci), w = randomArray(prod(ws), 20 + ci);
  const b = randomArray(ws[0], 30 + ci);
  const ys = conv2dOutputShape(xs, ws, p);
  const r = randomArray(prod(ys), 40 + ci);

  Deno.test(`conv2d matches the direct 7-loop reference: ${name}`, () => {
    assertClose(conv2d(x, xs, w, ws, b, p), naiveConv2d(x, xs, w, ws, b, p), FWD_ATOL, FWD_RTOL);
    assertClose(
      conv2d(x, xs, w, ws, null, p),
      naiveConv2d(x, xs, w, ws, null, p),
      FWD_ATOL,
      FWD_RTOL,
    );
  });

  Deno.test(`conv2d input gradient matches central differences: ${name}`, () => {
    const gx = conv2dInputGrad(r, ys, w, ws, xs, p);
    checkGrad((xv) => dot(r, conv2d(xv, xs, w, ws, b, p)), gx, x.slice(), GRAD);
  });

  Deno.test(`conv2d weight gradient matches central differences: ${name}`, () => {
    const gw = conv2dWeightGrad(x, xs, r, ys, ws, p);
    checkGrad((wv) => dot(r, conv2d(x, xs, wv, ws, b, p)), gw, w.slice(), GRAD);
  });

  Deno.test(`conv2d bias gradient matches central differences: ${name}`, () => {
    const gb = biasGrad(r, ys);
    checkGrad((bv) => dot(r, conv2d(x, xs, w, ws, bv, p)), gb, b.slice(), GRAD);
  });
}

interface ConvTCase {
  name: string;
  xs: number[];
  ws: number[];
  p: ConvTranspose2dParams;
}

const convTCases: ConvTCase[] = [
  // Co >= 8 and Co >= W select the channels-last scatter inside convTranspose2d.
  {
    name: "9 output channels (channels-last scatter), batch 2, output padding [0,1]",
    xs: [2, 3, 3, 2],
    ws: [3, 9, 3, 2],
    p: { stride: [2, 2], padding: [1, 0], outputPadding: [0, 1] },
  },
  {
    name: "16 output channels (channels-last scatter), stride [1,2], padding [0,1]",
    xs: [1, 2, 4, 5],
    ws: [2, 16, 2, 3],
    p: { stride: [1, 2], padding: [0, 1] },
  },
  {
    name: "stride 2, padding [0,1]",
    xs: [1, 2, 3, 4],
    ws: [2, 3, 3, 3],
    p: { stride: [2, 2], padding: [0, 1] },
  },
  {
    name: "batch 3, stride [2,1], padding [1,0], output padding [1,0], 2x3 kernel",
    xs: [3, 3, 4, 3],
    ws: [3, 2, 2, 3],
    p: { stride: [2, 1], padding: [1, 0], outputPadding: [1, 0] },
  },
  {
    name: "stride 2, padding [1,1], output padding [1,1]",
    xs: [1, 2, 3, 3],
    ws: [2, 2, 3, 3],
    p: { stride: [2, 2], padding: [1, 1], outputPadding: [1, 1] },
  },
  {
    name: "stride 2, padding [1,0] (seed d4 geometry), odd sizes",
    xs: [1, 2, 5, 3],
    ws: [2, 1, 3, 3],
    p: { stride: [2, 2], padding: [1, 0] },
  },
  {
    name: "1x1 kernel, stride 1",
    xs: [2, 2, 3, 3],
    ws: [2, 3, 1, 1],
    p: { stride: [1, 1], padding: [0, 0] },
  },
  {
    name: "stride 3 larger than the kernel (gaps in the output)",
    xs: [1, 1, 2, 3],
    ws: [1, 2, 2, 2],
    p: { stride: [3, 3], padding: [0, 0], outputPadding: [2, 1] },
  },
];

for (const [ci, cse] of convTCases.entries()) {
  const { name, xs, ws, p } = cse;
  const x = randomArray(prod(xs), 50 + ci), w = randomArray(prod(ws), 60 + ci);
  const b = randomArray(ws[1], 70 + ci);
  const ys = convTranspose2dOutputShape(xs, ws, p);
  const r = randomArray(prod(ys), 80 + ci);

  Deno.test(`convTranspose2d matches the direct gather reference: ${name}`, () => {
    assertClose(
      convTranspose2d(x, xs, w, ws, b, p),
      naiveConvTranspose2d(x, xs, w, ws, b, p),
      FWD_ATOL,
      FWD_RTOL,
    );
  });

  Deno.test(`convTranspose2d equals conv2dInputGrad of the same weights: ${name}`, () => {
    // Mathematical identity: the transposed convolution is the adjoint of conv2d in its input.
    // conv2d maps shape ys to xs here because outputPadding < stride.
    assertEquals(conv2dOutputShape(ys, ws, p), xs);
    assertClose(
      convTranspose2d(x, xs, w, ws, null, p),
      conv2dInputGrad(x, xs, w, ws, ys, p),
      FWD_ATOL,
      FWD_RTOL,
    );
  });

  Deno.test(`convTranspose2d input gradient matches central differences: ${name}`, () => {
    const gx = convTranspose2dInputGrad(r, ys, w, ws, xs, p);
    checkGrad((xv) => dot(r, convTranspose2d(xv, xs, w, ws, b, p)), gx, x.slice(), GRAD);
  });

  Deno.test(`convTranspose2d weight gradient matches central differences: ${name}`, () => {
    const gw = convTranspose2dWeightGrad(x, xs, r, ys, ws, p);
    checkGrad((wv) => dot(r, convTranspose2d(x, xs, wv, ws, b, p)), gw, w.slice(), GRAD);
  });

  Deno.test(`convTranspose2d bias gradient matches central differences: ${name}`, () => {
    const gb = biasGrad(r, ys);
    checkGrad((bv) => dot(r, convTranspose2d(x, xs, w, ws, bv, p)), gb, b.slice(), GRAD);
  });
}

Deno.test("conv2d matches a hand-computed 1x1x3x3 input with a 2x2 kernel", () => {
  // x = [[1,2,3],[4,5,6],[7,8,9]], w = [[1,2],[3,4]].
  const x = [1, 2, 3, 4, 5, 6, 7, 8, 9], w = [1, 2, 3, 4];
  // Stride 1, no padding: y00 = 1·1 + 2·2 + 4·3 + 5·4 = 37, y01 = 2 + 6 + 15 + 24 = 47,
  // y10 = 4 + 10 + 21 + 32 = 67, y11 = 5 + 12 + 24 + 36 = 77; bias 0.5 added to each.
  const y = conv2d(x, [1, 1, 3, 3], w, [1, 1, 2, 2], [0.5], { stride: [1, 1], padding: [0, 0] });
  assertEquals(Array.from(y), [37.5, 47.5, 67.5, 77.5]);
  // Stride 2, padding 1: padded input is 5x5, Ho = Wo = floor((3 + 2 − 2)/2) + 1 = 2.
  // y00 sees rows/cols -1..0: only x00·w11 = 1·4 = 4.
  // y01 sees rows -1..0, cols 1..2: x01·w10 + x02·w11 = 2·3 + 3·4 = 18.
  // y10 sees rows 1..2, cols -1..0: x10·w01 + x20·w11 = 4·2 + 7·4 = 36.
  // y11 sees rows 1..2, cols 1..2: 5·1 + 6·2 + 8·3 + 9·4 = 77.
  const y2 = conv2d(x, [1, 1, 3, 3], w, [1, 1, 2, 2], null, { stride: [2, 2], padding: [1, 1] });
  assertEquals(Array.from(y2), [4, 18, 36, 77]);
  // Asymmetric padding [0, 1] (columns only), stride 1: 2x4 output. Column 0 sees cols -1..0,
  // so y00 = x00·w01 + x10·w11 = 1·2 + 4·4 = 18 and y10 = x10·w01 + x20·w11 = 8 + 28 = 36;
  // column 3 sees cols 2..3, so y03 = x02·w00 + x12·w10 = 3 + 18 = 21 and
  // y13 = x12·w00 + x22·w10 = 6 + 27 = 33; columns 1 and 2 are the unpadded 37, 47 / 67, 77.
  const y3 = conv2d(x, [1, 1, 3, 3], w, [1, 1, 2, 2], null, { stride: [1, 1], padding: [0, 1] });
  assertEquals(conv2dOutputShape([1, 1, 3, 3], [1, 1, 2, 2], { stride: [1, 1], padding: [0, 1] }), [
    1,
    1,
    2,
    4,
  ]);
  assertEquals(Array.from(y3), [18, 37, 47, 21, 36, 67, 77, 33]);
});

Deno.test("convTranspose2d matches hand-computed scatters of a 2x2 input", () => {
  // x = [[1,2],[3,4]], w = [[1,0],[0,1]] (identity diagonal).
  const x = [1, 2, 3, 4], w = [1, 0, 0, 1];
  // Stride 2: each x places x·w in its own 2x2 block of a 4x4 output.
  const y = convTranspose2d(x, [1, 1, 2, 2], w, [1, 1, 2, 2], null, {
    stride: [2, 2],
    padding: [0, 0],
  });
  assertEquals(Array.from(y), [1, 0, 2, 0, 0, 1, 0, 2, 3, 0, 4, 0, 0, 3, 0, 4]);
  // Stride 1: 3x3 output where the blocks overlap; y11 = x11·w00 + x00·w11 = 4 + 1 = 5.
  const y1 = convTranspose2d(x, [1, 1, 2, 2], w, [1, 1, 2, 2], [10], {
    stride: [1, 1],
    padding: [0, 0],
  });
  assertEquals(Array.from(y1), [11, 12, 10, 13, 15, 12, 10, 13, 14]);
  // Stride 2 with padding [1, 0]: the first and last output rows of the 4x4 are removed.
  const y2 = convTranspose2d(x, [1, 1, 2, 2], w, [1, 1, 2, 2], null, {
    stride: [2, 2],
    padding: [1, 0],
  });
  assertEquals(Array.from(y2), [0, 1, 0, 2, 3, 0, 4, 0]);
});

Deno.test("conv ops give the same result for Float32Array and Float64Array inputs", () => {
  const xs = [2, 2, 5, 4], ws = [3, 2, 3, 3], p: Conv2dParams = { stride: [2, 1], padding: [1, 0] };
  // Values exactly representable in Float32 so both paths see identical inputs.
  const x32 = Float32Array.from(randomArray(prod(xs), 1), (v) => Math.round(v * 64) / 64);
  const w32 = Float32Array.from(randomArray(prod(ws), 2), (v) => Math.round(v * 64) / 64);
  assertEquals(
    conv2d(x32, xs, w32, ws, null, p),
    conv2d(Float64Array.from(x32), xs, Float64Array.from(w32), ws, null, p),
  );
  const tws = [2, 3, 3, 3];
  const tw32 = Float32Array.from(randomArray(prod(tws), 3), (v) => Math.round(v * 64) / 64);
  assertEquals(
    convTranspose2d(x32, xs, tw32, tws, null, p),
    convTranspose2d(Float64Array.from(x32), xs, Float64Array.from(tw32), tws, null, p),
  );
});

Deno.test("conv ops write into out when it is given and return it", () => {
  const xs = [1, 2, 4, 4], ws = [2, 2, 3, 3], p: Conv2dParams = { stride: [1, 1], padding: [1, 1] };
  const x = randomArray(prod(xs), 1), w = randomArray(prod(ws), 2);
  const out = new Float64Array(prod(conv2dOutputShape(xs, ws, p))).fill(123);
  const y = conv2d(x, xs, w, ws, null, p, out);
  assertEquals(y === out, true);
  assertEquals(out, conv2d(x, xs, w, ws, null, p));
  const gx = new Float64Array(prod(xs)).fill(7);
  conv2dInputGrad(out, conv2dOutputShape(xs, ws, p), w, ws, xs, p, gx);
  assertEquals(gx, conv2dInputGrad(out, conv2dOutputShape(xs, ws, p), w, ws, xs, p));
  const gw = new Float64Array(prod(ws)).fill(7);
  conv2dWeightGrad(x, xs, out, conv2dOutputShape(xs, ws, p), ws, p, gw);
  assertEquals(gw, conv2dWeightGrad(x, xs, out, conv2dOutputShape(xs, ws, p), ws, p));
  assertThrows(
    () => conv2d(x, xs, w, ws, null, p, new Float64Array(3)),
    TypeError,
    "out must have 32 elements",
  );
});

Deno.test("conv ops reject bad shapes with TypeError and bad values with RangeError", () => {
  const x = new Float64Array(16), w = new Float64Array(9);
  const ok: Conv2dParams = { stride: [1, 1], padding: [0, 0] };
  assertThrows(
    () => conv2d(x, [1, 1, 4, 4], w, [1, 1, 3, 3], null, { stride: [0, 1], padding: [0, 0] }),
    RangeError,
    "Cannot run conv2d: stride must be >= 1: current value is 0",
  );
  assertThrows(
    () => conv2d(x, [1, 1, 4, 4], w, [1, 1, 3, 3], null, { stride: [1, 1], padding: [0, -1] }),
    RangeError,
    "Cannot run conv2d: padding must be >= 0: current value is -1",
  );
  assertThrows(
    () => conv2d(x, [1, 1, 4, 4], w, [1, 2, 3, 3], null, ok),
    TypeError,
    "input channels",
  );
  assertThrows(() => conv2d(x, [1, 1, 4], w, [1, 1, 3, 3], null, ok), TypeError, "4 dimensions");
  assertThrows(
    () => conv2d(x, [1, 1, 4, 5], w, [1, 1, 3, 3], null, ok),
    TypeError,
    "x must have 20 elements",
  );
  assertThrows(
    () => conv2d(x, [1, 1, 4, 4], w, [1, 1, 3, 3], [1, 2], ok),
    TypeError,
    "b must have 1",
  );
  assertThrows(
    () => conv2d(x, [1, 1, 2, 8], w, [1, 1, 3, 3], null, ok),
    TypeError,
    "must fit the padded input",
  );
  assertThrows(
    () =>
      conv2dInputGrad(new Float64Array(4), [1, 1, 2, 2], w, [1, 1, 3, 3], [1, 1, 4, 4], {
        stride: [1, 1],
        padding: [1, 1],
      }),
    TypeError,
    "gy shape must be [1,1,4,4]",
  );
  assertThrows(
    () =>
      convTranspose2d(x, [1, 1, 4, 4], w, [1, 1, 3, 3], null, {
        stride: [2, 2],
        padding: [0, 0],
        outputPadding: [2, 0],
      }),
    RangeError,
    "outputPadding must be smaller than stride",
  );
  assertThrows(
    () =>
      convTranspose2d(x, [1, 1, 4, 4], w, [2, 1, 3, 3], null, { stride: [1, 1], padding: [0, 0] }),
    TypeError,
    "input channels",
  );
  assertThrows(
    () =>
      convTranspose2dOutputShape([1, 1, 1, 1], [1, 1, 1, 1], { stride: [1, 1], padding: [1, 0] }),
    TypeError,
    "output size must be positive",
  );
  assertThrows(() => biasGrad(x, [1, 1, 4, 3]), TypeError, "gy must have 12 elements");
});

// The seed autoencoder (PyTorch NCHW, Leaky ReLU 0.02 after every layer).
const s2 = (ph: number, pw: number) => ({
  stride: [2, 2] as [number, number],
  padding: [ph, pw] as [number, number],
});
const encoder: { name: string; ws: number[]; out: number[] }[] = [
  { name: "e0", ws: [8, 1, 3, 3], out: [1, 8, 44, 34] },
  { name: "e1", ws: [16, 8, 3, 3], out: [1, 16, 22, 17] },
  { name: "e2", ws: [32, 16, 3, 3], out: [1, 32, 11, 9] },
  { name: "e3", ws: [64, 32, 3, 3], out: [1, 64, 6, 5] },
  { name: "e4", ws: [128, 64, 3, 3], out: [1, 128, 3, 3] },
];
const decoder: { name: string; ws: number[]; pad: [number, number]; out: number[] }[] = [
  { name: "d1", ws: [128, 64, 3, 3], pad: [1, 1], out: [1, 64, 5, 5] },
  { name: "d2", ws: [64, 32, 3, 3], pad: [0, 1], out: [1, 32, 11, 9] },
  { name: "d3", ws: [32, 16, 3, 3], pad: [0, 1], out: [1, 16, 23, 17] },
  { name: "d4", ws: [16, 8, 3, 3], pad: [1, 0], out: [1, 8, 45, 35] },
  { name: "d5", ws: [8, 1, 3, 3], pad: [1, 1], out: [1, 1, 89, 69] },
];

Deno.test("seed autoencoder layer shapes follow from the output-shape functions", () => {
  let s: number[] = [1, 1, 87, 67];
  let params = 0;
  for (const l of encoder) {
    s = conv2dOutputShape(s, l.ws, s2(1, 1));
    assertEquals(s, l.out, l.name);
    params += prod(l.ws) + l.ws[0];
  }
  assertEquals(prod(s.slice(1)), 1152, "e5 flatten");
  params += 1152 * 9 + 9 + 9 * 1152 + 1152; // e5 Linear 1152→9, d0 Linear 9→1152
  s = [1, 128, 3, 3];
  for (const l of decoder) {
    s = convTranspose2dOutputShape(s, l.ws, s2(...l.pad));
    assertEquals(s, l.out, l.name);
    params += prod(l.ws) + l.ws[1];
  }
  assertEquals([s[2] - 2, s[3] - 2], [87, 67], "crop [1:-1, 1:-1]");
  assertEquals(params, 218_250, "parameter count");
});

Deno.test("seed autoencoder conv layers each run at batch 1 and keep their shapes", () => {
  let s: number[] = [1, 1, 87, 67];
  let x: Float64Array = randomArray(prod(s), 1);
  for (const [i, l] of encoder.entries()) {
    const y = conv2d(
      x,
      s,
      randomArray(prod(l.ws), 100 + i, -0.3, 0.3),
      l.ws,
      new Float64Array(l.ws[0]),
      s2(1, 1),
    );
    assertEquals(y.length, prod(l.out), l.name);
    assertEquals(y.every(Number.isFinite), true, l.name);
    [x, s] = [y, l.out];
  }
  for (const [i, l] of decoder.entries()) {
    const y = convTranspose2d(
      x,
      s,
      randomArray(prod(l.ws), 200 + i, -0.3, 0.3),
      l.ws,
      new Float64Array(l.ws[1]),
      s2(...l.pad),
    );
    assertEquals(y.length, prod(l.out), l.name);
    assertEquals(y.every(Number.isFinite), true, l.name);
    [x, s] = [y, l.out];
  }
});

Deno.test("conv2d accepts a kernel that fits only with padding on both sides", () => {
  // x [1, 1, 1, 1] = 2, w [1, 1, 3, 3] = 1..9, padding 1: the 3×3 kernel covers the padded
  // 3×3 input exactly once, and only its centre (5) meets x: y = [[10]]. Grads by hand:
  // gx = w centre = 5, gw = 2 at the centre and 0 elsewhere.
  const p: Conv2dParams = { stride: [1, 1], padding: [1, 1] };
  const w = Float64Array.from({ length: 9 }, (_, i) => i + 1);
  assertEquals(conv2dOutputShape([1, 1, 1, 1], [1, 1, 3, 3], p), [1, 1, 1, 1]);
  assertEquals(Array.from(conv2d([2], [1, 1, 1, 1], w, [1, 1, 3, 3], null, p)), [10]);
  assertEquals(Array.from(conv2dInputGrad([1], [1, 1, 1, 1], w, [1, 1, 3, 3], [1, 1, 1, 1], p)), [
    5,
  ]);
  assertEquals(
    Array.from(conv2dWeightGrad([2], [1, 1, 1, 1], [1], [1, 1, 1, 1], [1, 1, 3, 3], p)),
    [0, 0, 0, 0, 2, 0, 0, 0, 0],
  );
});
