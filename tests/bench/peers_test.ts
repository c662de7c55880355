// Bench-only packages are imported inline, not through deno.json's import map, so that
// seisdec itself ("nodeModulesDir": "auto") installs 38 MB of packages, not 405 MB.
// deno-lint-ignore no-import-prefix
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
import { assert, assertClose, assertEquals, assertThrows } from "../_assert.ts";
import {
  activateTfjsBackend,
  buildTfjsAutoencoder,
  conv2dBackpropFilterFromOps,
  conv2dTorch,
  convTranspose2dTorch,
  type LayerShape,
  type PeerResult,
} from "../../bench/peers/tfjs_autoencoder.ts";
import { type BenchResultFile, writeBenchResults } from "../../bench/_results.ts";
import { formatReport, loadResults } from "../../bench/report.ts";
import { timedSteps } from "../../lib/bench/seisdec_timing.ts";
import {
  formatPeerTable,
  parsePeersConfig,
  peerFigures,
  peerName,
  type PeerTimer,
  runPeers,
} from "../../bench/peers/peers.ts";

// tfjs keeps global engine state and the wasm module alive between tests.
const tfTest = (name: string, fn: () => Promise<void> | void) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

/** Seeded values on [-2, 2] (tinygrad's op-test range), exact in float32. */
function seeded(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.fround((s / 2 ** 32) * 4 - 2);
  });
}

/** A float32 tfjs tensor from Float64 values. */
const t4 = (v: Float64Array, shape: number[]): tf.Tensor4D =>
  tf.tensor4d(Float32Array.from(v), shape as [number, number, number, number]);

/** PyTorch Conv2d in Float64, NHWC input, filter [kh, kw, inC, outC]. */
function conv2dRef(
  x: Float64Array,
  [n, h, w, c]: number[],
  f: Float64Array,
  [kh, kw, , o]: number[],
  s: number,
  p: number,
): { y: Float64Array; shape: number[] } {
  const oh = Math.floor((h + 2 * p - kh) / s) + 1, ow = Math.floor((w + 2 * p - kw) / s) + 1;
  const y = new Float64Array(n * oh * ow * o);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        for (let k = 0; k < o; k++) {
          let acc = 0;
          for (let u = 0; u < kh; u++) {
            for (let v = 0; v < kw; v++) {
              const yy = i * s - p + u, xx = j * s - p + v;
              if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
              for (let ci = 0; ci < c; ci++) {
                acc += x[((b * h + yy) * w + xx) * c + ci] * f[((u * kw + v) * c + ci) * o + k];
              }
            }
          }
          y[((b * oh + i) * ow + j) * o + k] = acc;
        }
      }
    }
  }
  return { y, shape: [n, oh, ow, o] };
}

/**
 * PyTorch ConvTranspose2d in Float64 from its definition (scatter), NHWC input, filter
 * [kh, kw, outC, inC]: out[i*s - ph + u, j*s - pw + v] += x[i, j] * w[u, v].
 */
function convTransposeRef(
  x: Float64Array,
  [n, h, w, c]: number[],
  f: Float64Array,
  [kh, kw, o]: number[],
  s: number,
  [ph, pw]: number[],
): { y: Float64Array; shape: number[] } {
  const oh = (h - 1) * s - 2 * ph + kh, ow = (w - 1) * s - 2 * pw + kw;
  const y = new Float64Array(n * oh * ow * o);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        for (let u = 0; u < kh; u++) {
          for (let v = 0; v < kw; v++) {
            const yy = i * s - ph + u, xx = j * s - pw + v;
            if (yy < 0 || yy >= oh || xx < 0 || xx >= ow) continue;
            for (let k = 0; k < o; k++) {
              let acc = 0;
              for (let ci = 0; ci < c; ci++) {
                acc += x[((b * h + i) * w + j) * c + ci] * f[((u * kw + v) * o + k) * c + ci];
              }
              y[((b * oh + yy) * ow + xx) * o + k] += acc;
            }
          }
        }
      }
    }
  }
  return { y, shape: [n, oh, ow, o] };
}

tfTest("tfjs autoencoder layer shapes match the PyTorch seed model in NHWC", async () => {
  await activateTfjsBackend("cpu");
  const model = buildTfjsAutoencoder(tf, 1);
  const shapes: LayerShape[] = [];
  const y = tf.tidy(() => model.forward(tf.zeros([2, 87, 67, 1]) as tf.Tensor4D, shapes));
  // The PyTorch shapes [N, C, H, W], written here as [N, H, W, C].
  assertEquals(shapes, [
    { layer: "e0", shape: [2, 44, 34, 8] },
    { layer: "e1", shape: [2, 22, 17, 16] },
    { layer: "e2", shape: [2, 11, 9, 32] },
    { layer: "e3", shape: [2, 6, 5, 64] },
    { layer: "e4", shape: [2, 3, 3, 128] },
    { layer: "e5", shape: [2, 9] },
    { layer: "d0", shape: [2, 3, 3, 128] },
    { layer: "d1", shape: [2, 5, 5, 64] },
    { layer: "d2", shape: [2, 11, 9, 32] },
    { layer: "d3", shape: [2, 23, 17, 16] },
    { layer: "d4", shape: [2, 45, 35, 8] },
    { layer: "d5", shape: [2, 89, 69, 1] },
    { layer: "crop", shape: [2, 87, 67, 1] },
  ]);
  assertEquals(y.shape, [2, 87, 67, 1]);
  y.dispose();
  model.dispose();
});

tfTest("tfjs autoencoder has 218,250 parameters", async () => {
  await activateTfjsBackend("cpu");
  const model = buildTfjsAutoencoder(tf, 1);
  assertEquals(model.paramCount, 218250);
  // 5 convs + latent + d0 + 5 transposed convs, each a weight and a bias.
  assertEquals(model.params.length, 24);
  model.dispose();
});

tfTest(
  "conv2dTorch matches PyTorch Conv2d (pad 1 on every side) on even and odd sizes",
  async () => {
    await activateTfjsBackend("cpu");
    for (const [h, w] of [[9, 7], [8, 6]]) {
      const xs = [2, h, w, 3], fs = [3, 3, 3, 4];
      const x = seeded(2 * h * w * 3, h), f = seeded(9 * 12, w);
      const ref = conv2dRef(x, xs, f, fs, 2, 1);
      const y = tf.tidy(() => conv2dTorch(tf, t4(x, xs), t4(f, fs), 2, 1));
      assertEquals(y.shape, ref.shape);
      // Float32 sums of 27 products of values <= 2 in magnitude: error well under 1e-4.
      assertClose(await y.data(), ref.y, 1e-4, 1e-5, `conv2d ${h}x${w}`);
      y.dispose();
    }
  },
);

tfTest(
  "convTranspose2dTorch matches PyTorch ConvTranspose2d for the decoder's paddings",
  async () => {
    await activateTfjsBackend("cpu");
    for (const pad of [[1, 1], [0, 1], [1, 0], [0, 0]]) {
      const xs = [2, 4, 3, 3], fs = [3, 3, 2, 3];
      const x = seeded(2 * 4 * 3 * 3, pad[0] + 10), f = seeded(9 * 6, pad[1] + 20);
      const ref = convTransposeRef(x, xs, f, fs, 2, pad);
      const y = tf.tidy(() =>
        convTranspose2dTorch(
          tf,
          t4(x, xs),
          t4(f, fs),
          2,
          pad as [number, number],
        )
      );
      assertEquals(y.shape, ref.shape, `pad ${pad}`);
      // At most 4 taps x 3 channels summed in float32: 1e-4 is ample.
      assertClose(await y.data(), ref.y, 1e-4, 1e-5, `convTranspose pad ${pad}`);
      y.dispose();
    }
    assertThrows(
      () => convTranspose2dTorch(tf, tf.zeros([1, 1, 1, 1]), tf.zeros([3, 3, 1, 1]), 2, [2, 0]),
      RangeError,
    );
  },
);

tfTest(
  "conv2dBackpropFilterFromOps matches the cpu kernel for the model's convolutions",
  async () => {
    await activateTfjsBackend("cpu");
    const cases: { x: number[]; f: number[]; s: number; pad: "valid" | "same" | number }[] = [
      { x: [2, 87, 67, 1], f: [3, 3, 1, 8], s: 2, pad: 1 }, // e0
      { x: [2, 44, 34, 8], f: [3, 3, 8, 16], s: 2, pad: 1 }, // e1: even size
      { x: [2, 7, 7, 5], f: [3, 3, 5, 4], s: 2, pad: "valid" }, // a transposed conv's filter grad
      { x: [2, 91, 71, 3], f: [3, 3, 3, 2], s: 2, pad: "valid" }, // d5-like, odd
      { x: [2, 10, 8, 3], f: [3, 3, 3, 2], s: 2, pad: "same" }, // asymmetric padding
      { x: [1, 6, 5, 2], f: [3, 3, 2, 3], s: 1, pad: 1 }, // stride 1
    ];
    for (const c of cases) {
      const x = t4(seeded(c.x.reduce((a, b) => a * b), 3), c.x);
      const w = t4(seeded(c.f.reduce((a, b) => a * b), 4), c.f);
      const outShape = tf.conv2d(x, w, c.s, c.pad).shape;
      const dy = t4(seeded(outShape.reduce((a, b) => a * b), 5), outShape);
      // Reference: the cpu backend's own Conv2DBackpropFilter, reached through the gradient
      // of sum(conv2d(x, w) * dy) with respect to w.
      const ref = tf.grad((wv) => tf.sum(tf.mul(tf.conv2d(x, wv as tf.Tensor4D, c.s, c.pad), dy)))(
        w,
      );
      const got = conv2dBackpropFilterFromOps(
        tf,
        x,
        dy,
        c.f as [number, number, number, number],
        c.s,
        c.pad,
      );
      assertEquals(got.shape, c.f);
      // Each entry sums up to 2*44*34 float32 products of values <= 2 (|sum| ~ 100):
      // float32 accumulation error stays below 1e-3 absolute.
      assertClose(await got.data(), await ref.data(), 1e-3, 1e-5, JSON.stringify(c));
      tf.dispose([x, w, dy, ref, got]);
    }
  },
);

tfTest(
  "tfjs wasm trains with the registered Conv2DBackpropFilter and matches cpu gradients",
  async () => {
    const grads = async (backend: "cpu" | "wasm") => {
      const { note } = await activateTfjsBackend(backend);
      const model = buildTfjsAutoencoder(tf, 3);
      const x = tf.randomUniform([2, 87, 67, 1], 0, 1, "float32", 11) as tf.Tensor4D;
      const { value, grads } = tf.variableGrads(() => model.loss(x), model.params);
      const out = {
        note,
        loss: (await value.data())[0],
        grads: await Promise.all(model.params.map((p) => grads[p.name].data())),
      };
      tf.dispose([x, value, ...Object.values(grads)]);
      model.dispose();
      return out;
    };
    const cpu = await grads("cpu");
    const wasm = await grads("wasm");
    assert(wasm.note?.includes("Conv2DBackpropFilter"), `wasm note: ${wasm.note}`);
    assertClose([wasm.loss], [cpu.loss], 1e-6, 1e-4, "loss");
    wasm.grads.forEach((g, i) => {
      const scale = Math.max(...Array.from(cpu.grads[i], Math.abs));
      // XNNPACK and plain JS sum in different orders in float32 through 12 layers: allow
      // 1e-3 of the largest gradient entry of that parameter.
      assertClose(g, cpu.grads[i], 1e-3 * scale + 1e-9, 1e-3, `param ${i}`);
    });
  },
);

const deno = { deno: "2.9.6", v8: "13", typescript: "5" };

tfTest("bench:report puts two adapters' result files in one table", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await writeBenchResults("peers", [
      { name: "tfjs wasm train", shape: "x [64, 1, 87, 67]", value: 128.4, unit: "samples/s" },
      { name: "tfjs webgpu train", shape: "x [64, 1, 87, 67]", value: NaN, unit: "samples/s" },
    ], { dir, adapter: { description: "llvmpipe (LLVM 15.0.6, 256 bits)", backend: "vulkan" } });
    assert(a.endsWith("peers-llvmpipe-llvm-15-0-6-256-bits-6dcb758b.json"), a);
    const b: BenchResultFile = {
      bench: "peers",
      adapter: { description: "NVIDIA H100" },
      deno,
      date: "2025-06-01T00:00:00.000Z",
      figures: [
        { name: "tfjs webgpu train", shape: "x [64, 1, 87, 67]", value: 5400, unit: "samples/s" },
        { name: "pytorch cuda train", shape: "x [64, 1, 87, 67]", value: 21000, unit: "samples/s" },
      ],
      tuning: {
        active: { matmul: "tiled", splitTarget: 65536, convTile: 16 },
        source: {
          default: "gpu",
          stored: { path: "t.json", date: "2025-05-30T10:00:00.000Z", fields: { convTile: 16 } },
          env: {},
        },
      },
    };
    await Deno.writeTextFile(`${dir}/peers-nvidia-h100.json`, JSON.stringify(b));
    await Deno.writeTextFile(`${dir}/notes.json`, "[1, 2]"); // not a result file: skipped
    const results = await loadResults(dir);
    assertEquals(results.length, 2);
    const md = formatReport(results);
    const lines = md.split("\n");
    const header = lines.find((l) => l.startsWith("| bench |"))!;
    assertEquals(
      header,
      "| bench | figure | shape | unit | llvmpipe (LLVM 15.0.6, 256 bits) | NVIDIA H100 |",
    );
    const row = (name: string) => lines.find((l) => l.includes(`| ${name} |`));
    assertEquals(
      row("tfjs wasm train"),
      "| peers | tfjs wasm train | x [64, 1, 87, 67] | samples/s | 128 |  |",
    );
    assertEquals(
      row("tfjs webgpu train"),
      "| peers | tfjs webgpu train | x [64, 1, 87, 67] | samples/s | n/a | 5400 |",
    );
    assertEquals(
      row("pytorch cuda train"),
      "| peers | pytorch cuda train | x [64, 1, 87, 67] | samples/s |  | 21000 |",
    );
    assert(
      md.includes(
        "| NVIDIA H100 | 2.9.6 | stored 2025-05-30 | 2025-06-01T00:00:00.000Z | peers-nvidia-h100.json |",
      ),
      md,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const row = (
  name: string,
  batch: number,
  train: number | null,
  infer: number | null,
  error?: string,
): PeerResult => ({
  name,
  backend: name.split(" ")[1],
  batch,
  inferBatch: 256,
  trainSamplesPerSec: train,
  inferSamplesPerSec: infer,
  ...(error ? { error } : {}),
});

tfTest(
  "formatPeerTable divides the baseline by each peer at the same batch and shows errors",
  () => {
    const md = formatPeerTable([
      row("seisdec webgpu", 64, 300, 6000),
      row("seisdec webgpu", 256, 400, 6000),
      row("tfjs wasm", 64, 100, 3000),
      row("tfjs wasm", 256, 200, 3000),
      row("tfjs cpu", 64, null, 400, "Cannot train on tfjs cpu: out of memory"),
    ]);
    const lines = md.split("\n");
    assertEquals(lines.length, 7);
    assert(
      lines[4].includes("| tfjs wasm | wasm | 64 | 100 | n/a | 3.00x | 3000 | 2.00x |"),
      lines[4],
    );
    assert(
      lines[5].includes("| tfjs wasm | wasm | 256 | 200 | n/a | 2.00x | 3000 | 2.00x |"),
      lines[5],
    );
    assert(
      lines[6].includes(
        "| n/a | n/a | n/a | 400 | 15.00x | Cannot train on tfjs cpu: out of memory |",
      ),
      lines[6],
    );
    const noBase = formatPeerTable([row("tfjs wasm", 64, 100, 3000)]);
    assert(noBase.includes("| 100 | n/a | n/a | 3000 | n/a |"), noBase);
  },
);

tfTest("formatPeerTable's step ms column shows a 250 ms step as 250, in milliseconds", () => {
  const md = formatPeerTable([
    { ...row("seisdec webgpu", 64, 256, 6000), stepMs: 250 },
    { ...row("tfjs wasm", 64, 128, 3000), stepMs: 500.4 },
  ]);
  const lines = md.split("\n");
  assert(lines[0].includes("| train samples/s | step ms |"), lines[0]);
  assert(lines[2].includes("| seisdec webgpu | webgpu | 64 | 256 | 250 | 1.00x |"), lines[2]);
  assert(lines[3].includes("| tfjs wasm | wasm | 64 | 128 | 500 | 2.00x |"), lines[3]);
});

tfTest("runPeers times inference once per peer and skips a batch predicted too slow", async () => {
  const calls: string[] = [];
  const timer: PeerTimer = (id, batch, opts) => {
    calls.push(`${id}@${batch}${opts.infer ? "+infer" : ""}`);
    return Promise.resolve({
      ...row(id.replace("-", " "), batch, batch / (id === "tfjs-cpu" ? 50 : 0.5), 1000),
      stepMs: id === "tfjs-cpu" ? 50_000 : 500,
      inferSamplesPerSec: opts.infer ? 1000 : null,
    });
  };
  const config = parsePeersConfig(
    ["--peers=tfjs-wasm,tfjs-cpu", "--max-step-s=120"],
    () => undefined,
  );
  const rows = await runPeers(config, timer, () => {});
  assertEquals(calls, ["tfjs-wasm@64+infer", "tfjs-wasm@256", "tfjs-cpu@64+infer"]);
  assertEquals(rows.length, 4);
  assertEquals(rows[1].inferSamplesPerSec, 1000);
  assertEquals(rows[3].trainSamplesPerSec, null);
  assert(rows[3].error?.includes("~200 s per step expected from batch 64"), rows[3].error);
  const figures = peerFigures(rows);
  assertEquals(figures.map((f) => f.name), [
    "tfjs wasm train",
    "tfjs wasm encode",
    "tfjs wasm train",
    "tfjs cpu train",
    "tfjs cpu encode",
    "tfjs cpu train",
  ]);
  assert(Number.isNaN(figures[5].value));
});

tfTest("runPeers times seisdec webgpu again after the peers and reports the mean", async () => {
  const calls: string[] = [];
  let run = 0;
  const timer: PeerTimer = (id, batch, opts) => {
    calls.push(`${id}@${batch}${opts.infer ? "+infer" : ""}`);
    // seisdec: 100 ms a step the first time, 300 ms the second (the machine slowed down).
    const stepMs = id === "seisdec-webgpu" ? (run++ === 0 ? 100 : 300) : 1000;
    return Promise.resolve({
      ...row(peerName(id), batch, (batch * 1000) / stepMs, opts.infer ? 1000 : 0),
      stepMs,
      inferMs: opts.infer ? (id === "seisdec-webgpu" ? 10 * run : 50) : undefined,
    });
  };
  const config = parsePeersConfig(
    ["--peers=seisdec-webgpu,tfjs-wasm", "--batches=64"],
    () => undefined,
  );
  const rows = await runPeers(config, timer, () => {});
  assertEquals(calls, ["seisdec-webgpu@64+infer", "tfjs-wasm@64+infer", "seisdec-webgpu@64+infer"]);
  assertEquals(rows[0].stepMs, 200);
  assertEquals(rows[0].trainSamplesPerSec, 320);
  assertEquals(rows[0].inferMs, 15);
  assert(rows[0].note?.includes("before (640 samples/s) and after (213)"), rows[0].note);
  // The encode figure carries the encoder's own before/after, not the training step's.
  assert(rows[0].inferNote?.includes("before (1.00e+3 samples/s) and after"), rows[0].inferNote);
  const [train, encode] = peerFigures(rows).filter((f) => f.name.startsWith("seisdec webgpu"));
  assertEquals([train.extra?.note, encode.extra?.note], [rows[0].note, rows[0].inferNote]);
  // --no-bracket (or PEERS_BRACKET=0) times it once.
  calls.length = 0;
  run = 0;
  await runPeers(
    parsePeersConfig(
      ["--peers=seisdec-webgpu,tfjs-wasm", "--batches=64", "--no-bracket"],
      () => undefined,
    ),
    timer,
    () => {},
  );
  assertEquals(calls.length, 2);
});

Deno.test("timedSteps times short steps more often, up to 2,000, and never fewer than asked", () => {
  assertEquals(timedSteps(5, 3000, 2), 5); // tfjs-webgpu on llvmpipe: 5 steps are 15 s
  assertEquals(timedSteps(5, 140, 2), 15); // seisdec on llvmpipe: 15 steps are 2.1 s
  assertEquals(timedSteps(64, 3, 2), 667); // a GPU step
  assertEquals(timedSteps(5, 0.01, 2), 2000);
  assertEquals(timedSteps(5, 140, 0), 5);
  assertEquals(timedSteps(5, NaN, 2), 5);
});

tfTest("parsePeersConfig reads flags and env, and --quick drops tfjs-cpu with a reason", () => {
  const d = parsePeersConfig([], () => undefined);
  assertEquals(d.batches, [64, 256]);
  assertEquals(d.steps, 5);
  assertEquals(d.minSeconds, 2);
  assertEquals(parsePeersConfig(["--min-s=0"], () => undefined).minSeconds, 0);
  assertEquals(d.peers, [
    "seisdec-webgpu",
    "seisdec-cpu",
    "pytorch-cpu",
    "tfjs-webgpu",
    "tfjs-wasm",
    "tfjs-cpu",
  ]);
  const q = parsePeersConfig([], (n) => n === "PEERS_QUICK" ? "1" : undefined);
  assertEquals(q.batches, [64]);
  assert(!q.peers.includes("tfjs-cpu") && q.skipped.has("tfjs-cpu"));
  assertThrows(() => parsePeersConfig(["--steps=3"], () => undefined), RangeError, "steps");
  assertThrows(() => parsePeersConfig(["--peers=tfjs-gl"], () => undefined), RangeError, "tfjs-gl");
});

Deno.test("bench:report names Deno's version beside a later PyTorch run's, not in its place", () => {
  const fig = { name: "train", shape: "[64]", value: 1, unit: "samples/s" };
  const gpu = { description: "NVIDIA H100" };
  const md = formatReport([
    {
      path: "r/train-nvidia-h100.json",
      file: {
        bench: "train",
        adapter: gpu,
        deno,
        date: "2025-06-01T00:00:00.000Z",
        figures: [fig],
      },
    },
    {
      path: "r/pytorch-nvidia-h100.json",
      file: {
        bench: "pytorch",
        adapter: gpu,
        deno: { deno: "python 3.12.3", v8: "", typescript: "", torch: "2.11.0" } as typeof deno,
        date: "2025-06-02T00:00:00.000Z",
        figures: [{ ...fig, name: "pytorch cuda train" }],
      },
    },
  ]);
  assert(
    md.includes(
      "| NVIDIA H100 | 2.9.6 (python 3.12.3, torch 2.11.0) |  | 2025-06-02T00:00:00.000Z | " +
        "train-nvidia-h100.json, pytorch-nvidia-h100.json |",
    ),
    md,
  );
});
