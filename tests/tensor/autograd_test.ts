/**
 * The autograd engine and tensor memory management of lib/tensor/tensor.ts: topological
 * order, gradient accumulation, noGrad, tidy, dispose and views. Graph logic runs on both
 * backends; the memory checks read the WebGPU buffer pool's counters.
 */
import { ParameterSet } from "../../lib/nn/params.ts";
import { backendNamed } from "../../lib/tensor/backends.ts";
import * as ops from "../../lib/tensor/ops.ts";
import { type Device, noGrad, Tensor, tidy } from "../../lib/tensor/tensor.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import { close, webgpu, withTuning } from "../gpu/_util.ts";

const SLOPE = 0.1;

/** Registers a test on the CPU backend (plain Deno.test) and on WebGPU (gpuTest). */
function bothBackends(name: string, fn: (device: Device) => Promise<void>): void {
  Deno.test(`[cpu] ${name}`, () => fn("cpu"));
  gpuTest(name, async () => {
    await webgpu();
    await fn("webgpu");
  });
}

const leafOn = (device: Device, data: number[], shape = [data.length]) => {
  const t = Tensor.fromArray(Float32Array.from(data), shape, device);
  t.requiresGrad = true;
  return t;
};

/** Wraps every node's backward in the graph below `t` to log its name when it runs. */
function traceBackward(t: Tensor, log: string[], seen = new Set<Tensor>()): void {
  if (seen.has(t) || !t.node) return;
  seen.add(t);
  const node = t.node;
  const inner = node.backward;
  node.backward = (gy, into) => {
    log.push(node.name + (t.name ? `:${t.name}` : ""));
    return inner(gy, into);
  };
  for (const i of node.inputs) traceBackward(i, log, seen);
}

bothBackends("backward visits a diamond graph in topological order, each node once", async (d) => {
  // x → h = leaky(x) → {p = leaky(h), q = axpby(h, h, 3, 0)} → s = p + q → L = Σ s.
  const xv = [-2, -0.5, 0.25, 1.5, 3];
  const x = leafOn(d, xv);
  const h = ops.leakyRelu(x, SLOPE);
  h.name = "h";
  const p = ops.leakyRelu(h, SLOPE);
  p.name = "p";
  const q = ops.axpby(h, h, 3, 0);
  q.name = "q";
  const s = ops.axpby(p, q);
  s.name = "s";
  const L = ops.sum(s);
  const log: string[] = [];
  traceBackward(L, log);
  L.backward();
  assertEquals(log.length, 5, `each node runs once: ${log}`);
  assertEquals(log[0], "sum");
  assertEquals(log[1], "axpby:s");
  assertEquals(log.slice(2, 4).sort(), ["axpby:q", "leaky_relu:p"]);
  assertEquals(log[4], "leaky_relu:h", "h runs after both of its consumers");
  // dL/dx = leaky'(x)·(leaky'(h) + 3), leaky' = 1 for positive values, else the slope.
  const dl = (v: number) => (v > 0 ? 1 : SLOPE);
  const want = xv.map((v) => dl(v) * (dl(v) + 3));
  close(await x.grad!.data(), want, 1e-6, "dL/dx through the diamond");
});

bothBackends("gradients accumulate into a leaf used twice and across backward calls", async (d) => {
  const x = leafOn(d, [1, -2, 3]);
  ops.sum(ops.axpby(x, x, 2, 3)).backward();
  close(await x.grad!.data(), [5, 5, 5], 0, "one backward: 2 + 3");
  ops.sum(ops.axpby(x, x, 2, 3), 0.5).backward();
  close(await x.grad!.data(), [7.5, 7.5, 7.5], 0, "a second backward adds 2.5");
});

bothBackends("axpby gives each input a gradient in its own shape", async (d) => {
  // a [2, 3] and b [6]: z = 2a + 3b takes a's shape; the seed 1..6 gives dL/da = 2·seed in
  // [2, 3] and dL/db = 3·seed in [6], exact in f32.
  const a = leafOn(d, [1, 2, 3, 4, 5, 6], [2, 3]), b = leafOn(d, [6, 5, 4, 3, 2, 1]);
  const seed = Tensor.fromArray(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3], d);
  ops.axpby(a, b, 2, 3).backward(seed);
  assertEquals(a.grad!.shape, [2, 3]);
  assertEquals(b.grad!.shape, [6]);
  close(await a.grad!.data(), [2, 4, 6, 8, 10, 12], 0, "dL/da");
  close(await b.grad!.data(), [3, 6, 9, 12, 15, 18], 0, "dL/db");
  for (const t of [a, b, seed]) t.dispose();
});

bothBackends("mseLoss, croppedMseLoss, sum and mean forward values", async (d) => {
  // pred 1..6 in [1, 1, 2, 3], target 0: Σ squares = 91 over 6 = 15.1666… (f32 tolerance
  // 1e-6 relative); the crop [1, 0, 1, 0] keeps 5 and 6: (25 + 36) / 2 = 30.5, exact.
  const p = Tensor.fromArray(Float32Array.of(1, 2, 3, 4, 5, 6), [1, 1, 2, 3], d);
  const z = Tensor.fromArray(new Float32Array(6), [1, 1, 2, 3], d);
  const z2 = Tensor.fromArray(new Float32Array(2), [1, 1, 1, 2], d);
  const l = ops.mseLoss(p, z), lc = ops.croppedMseLoss(p, z2, [1, 0, 1, 0]);
  close(await l.data(), [91 / 6], 0, "mse_loss", 1e-6);
  close(await lc.data(), [30.5], 0, "cropped_mse_loss");
  // Σ = 21: sum with scale 0.5 is 10.5, exact in f32; mean 3.5 (scale 1/6 is rounded to f32
  // first: 1e-6 relative).
  const s = ops.sum(p, 0.5), m = ops.mean(p);
  close(await s.data(), [10.5], 0, "sum · 0.5");
  close(await m.data(), [3.5], 0, "mean", 1e-6);
  for (const t of [p, z, z2, l, lc, s, m]) t.dispose();
});

bothBackends("parameter gradients accumulate until zeroGrad", async (d) => {
  const set = new ParameterSet([
    { name: "w", shape: [2, 2], init: Float32Array.of(1, 2, 3, 4) },
  ], d);
  const w = set.byName.get("w")!;
  ops.sum(ops.leakyRelu(w, SLOPE), 2).backward();
  ops.sum(ops.leakyRelu(w, SLOPE), 3).backward();
  close(await w.grad!.data(), [5, 5, 5, 5], 0, "2 + 3 accumulated");
  set.zeroGrad();
  ops.sum(ops.leakyRelu(w, SLOPE), 1).backward();
  close(await w.grad!.data(), [1, 1, 1, 1], 0, "after zeroGrad the gradient is overwritten");
  set.dispose();
});

bothBackends(
  "a parameter used once takes its gradient straight into its slot; used twice, the sum",
  async (d) => {
    const w0 = Float32Array.from({ length: 18 }, (_, i) => Math.sin(i + 1));
    const b0 = Float32Array.of(0.25, -0.5);
    const xv = Float32Array.from({ length: 2 * 25 }, (_, i) => Math.cos(0.7 * i));
    const conv = { stride: [2, 2] as [number, number], padding: [1, 1] as [number, number] };
    const set = new ParameterSet([
      { name: "w", shape: [2, 1, 3, 3], init: w0 },
      { name: "b", shape: [2], init: b0 },
    ], d);
    const w = set.byName.get("w")!, b = set.byName.get("b")!;
    const x = Tensor.fromArray(xv, [2, 1, 5, 5], d);
    // The same graph on plain leaves (no slots): gradients made fresh and handed over.
    const wl = leafOn(d, Array.from(w0), [2, 1, 3, 3]), bl = leafOn(d, Array.from(b0));
    const loss = (wt: Tensor, bt: Tensor) =>
      ops.sum(ops.conv2d(x, wt, bt, { ...conv, slope: SLOPE }), 0.5);

    const L = loss(w, b);
    let seen: readonly (Tensor | null)[] | undefined;
    const inner = L.node!.inputs[0].node!.backward;
    L.node!.inputs[0].node!.backward = (gy, into) => (seen = into, inner(gy, into));
    L.backward();
    loss(wl, bl).backward();
    assert(seen?.[1] === w.grad && seen?.[2] === b.grad, "the conv was offered both slots");
    assertEquals(Array.from(await w.grad!.data()), Array.from(await wl.grad!.data()), "gw");
    assertEquals(Array.from(await b.grad!.data()), Array.from(await bl.grad!.data()), "gb");

    // A second backward without zeroGrad adds to the slot (not offered: it holds a value).
    const L2 = loss(w, b);
    let seen2: readonly (Tensor | null)[] | undefined = [];
    const inner2 = L2.node!.inputs[0].node!.backward;
    L2.node!.inputs[0].node!.backward = (gy, into) => (seen2 = into, inner2(gy, into));
    L2.backward();
    assertEquals(seen2, undefined, "a defined slot is not offered");
    const once = await wl.grad!.data();
    assertEquals(Array.from(await w.grad!.data()), Array.from(once, (v) => 2 * v), "2·gw");

    // Used by two ops in one graph: neither may overwrite the slot; the gradients add up.
    set.zeroGrad();
    const twice = ops.axpby(loss(w, b), loss(w, b));
    twice.backward();
    assertEquals(Array.from(await w.grad!.data()), Array.from(once, (v) => 2 * v), "w twice");
    assertEquals(
      Array.from(await b.grad!.data()),
      Array.from(await bl.grad!.data(), (v) => 2 * v),
      "b twice",
    );
    for (const t of [x, wl, bl]) t.dispose();
    set.dispose();
  },
);

bothBackends("a Linear layer's parameters take their gradients into their slots too", async (d) => {
  const w0 = Float32Array.from({ length: 8 * 5 }, (_, i) => Math.sin(0.3 * i + 1));
  const b0 = Float32Array.from({ length: 8 }, (_, i) => 0.1 * i - 0.4);
  const set = new ParameterSet([
    { name: "w", shape: [8, 5], init: w0 },
    { name: "b", shape: [8], init: b0 },
  ], d);
  const w = set.byName.get("w")!, b = set.byName.get("b")!;
  const x = Tensor.fromArray(
    Float32Array.from({ length: 6 * 5 }, (_, i) => Math.cos(i)),
    [6, 5],
    d,
  );
  const wl = leafOn(d, Array.from(w0), [8, 5]), bl = leafOn(d, Array.from(b0));
  const L = ops.sum(ops.linear(x, w, b, SLOPE), 0.25);
  let seen: readonly (Tensor | null)[] | undefined;
  const inner = L.node!.inputs[0].node!.backward;
  L.node!.inputs[0].node!.backward = (gy, into) => (seen = into, inner(gy, into));
  L.backward();
  ops.sum(ops.linear(x, wl, bl, SLOPE), 0.25).backward();
  assert(seen?.[1] === w.grad && seen?.[2] === b.grad, "the linear was offered both slots");
  assertEquals(Array.from(await w.grad!.data()), Array.from(await wl.grad!.data()), "gw");
  assertEquals(Array.from(await b.grad!.data()), Array.from(await bl.grad!.data()), "gb");
  for (const t of [x, wl, bl]) t.dispose();
  set.dispose();
});

bothBackends("noGrad records no graph", async (d) => {
  const x = leafOn(d, [1, -2, 3, 4]);
  const y = noGrad(() => ops.leakyRelu(ops.axpby(x, x).reshape([2, 2]), SLOPE));
  assertEquals(y.node, null);
  assertEquals(y.requiresGrad, false);
  const z = ops.leakyRelu(x, SLOPE);
  assert(z.node !== null && z.requiresGrad, "recording resumes after noGrad");
  assertThrows(() => y.backward(), Error, "does not require grad");
  await Promise.resolve();
});

bothBackends("backward of a non-scalar needs a seed", async (d) => {
  const x = leafOn(d, [1, 2]);
  assertThrows(() => ops.leakyRelu(x, SLOPE).backward(), TypeError, "pass a seed gradient");
  const y = ops.leakyRelu(x, SLOPE);
  y.backward(Tensor.fromArray([0.5, -1], [2], d));
  close(await x.grad!.data(), [0.5, -1], 0, "seeded gradient");
});

gpuTest("tidy disposes intermediates and keeps the returned and kept tensors", async () => {
  const rt = await webgpu();
  const x = Tensor.fromArray([1, -2, 3, -4, 5, -6], [2, 3], "webgpu");
  const before = rt.pool.stats().liveBuffers;
  let kept: Tensor | null = null;
  const out = tidy(() => {
    const a = ops.leakyRelu(x, SLOPE);
    const b = ops.axpby(a, a, 2, -1);
    kept = ops.leakyRelu(b, SLOPE).keep();
    const inner = tidy(() => ops.axpby(b, a).reshape([3, 2]));
    return { c: ops.axpby(inner, inner.reshape([3, 2]), 1, 1), list: [a] };
  });
  // Alive: out.c, out.list[0] (= a) and kept; b, inner, and the views are gone.
  assertEquals(rt.pool.stats().liveBuffers, before + 3, "only returned/kept tensors stay live");
  assert(!out.c.disposed && !out.list[0].disposed && !kept!.disposed, "survivors");
  const [c, k] = await Promise.all([out.c.data(), kept!.data()]);
  close(c, [2, -0.4, 6, -0.8, 10, -1.2].map((v) => 2 * v), 1e-6, "returned values");
  close(k, [1, -0.02, 3, -0.04, 5, -0.06], 1e-6, "kept values");
  for (const t of [out.c, out.list[0], kept!]) t.dispose();
  assertEquals(rt.pool.stats().liveBuffers, before, "everything released");
  x.dispose();
});

bothBackends(
  "a backward() inside tidy leaves the gradient of a leaf made outside it alive, and accumulates into it",
  async (d) => {
    const w = leafOn(d, [1, -2, 3]);
    tidy(() => ops.sum(ops.leakyRelu(w, 0.1)).backward());
    assert(!w.grad!.disposed, "the leaf's gradient was disposed with the scope");
    // f32 values of 0.1 and 0.2: 1e-7.
    close(await w.grad!.data(), [1, 0.1, 1], 1e-7, "first gradient");
    tidy(() => ops.sum(ops.leakyRelu(w, 0.1)).backward());
    close(await w.grad!.data(), [2, 0.2, 2], 1e-7, "accumulated");
    // A leaf made inside the scope: its gradient goes with it, or with it leaves the scope.
    let inner: Tensor | null = null;
    const out = tidy(() => {
      inner = leafOn(d, [4]);
      const kept = leafOn(d, [5]);
      ops.sum(ops.leakyRelu(ops.axpby(inner, kept, 1, 1), 0.1)).backward();
      return kept;
    });
    assert(inner!.disposed && inner!.grad!.disposed, "a disposed leaf's gradient is disposed");
    assert(!out.disposed && !out.grad!.disposed, "a returned leaf keeps its gradient");
    close(await out.grad!.data(), [1], 0, "returned leaf's gradient");
    for (const t of [w.grad!, w, out.grad!, out]) t.dispose();
  },
);

Deno.test("tidy and noGrad refuse an async function, which would end their scope at its first await", async () => {
  const x = Tensor.fromArray([1, 2], [2], "cpu");
  for (const [name, run] of [["tidy", tidy], ["noGrad", noGrad]] as const) {
    let after = false;
    const f = async () => {
      await Promise.resolve();
      after = true;
      return x;
    };
    assertThrows(
      () => run(f),
      TypeError,
      `Cannot run ${name}: the function returned a promise: expected a synchronous function`,
    );
    await Promise.resolve();
    await Promise.resolve();
    assert(after, "the callback itself ran on");
  }
  // A callback that uses, after its await, a tensor the refused tidy has disposed: it fails,
  // and that failure is handled (an unhandled rejection would end this test's process).
  let failed: unknown = null;
  assertThrows(
    () =>
      tidy(async () => {
        const t = Tensor.fromArray([1, 2], [2], "cpu");
        await Promise.resolve();
        try {
          return ops.leakyRelu(t, 0.1);
        } catch (e) {
          failed = e;
          throw e;
        }
      }),
    TypeError,
    "Cannot run tidy: the function returned a promise",
  );
  for (let i = 0; i < 4; i++) await Promise.resolve();
  assert(String(failed).includes("it was disposed"), String(failed));
  // noGrad recorded nothing while it ran, and records again after its refusal.
  x.requiresGrad = true;
  assert(ops.leakyRelu(x, 0.1).node !== null, "grad mode restored after a refused noGrad");
  x.dispose();
});

gpuTest("tidy releases the whole graph of a forward and backward pass", async () => {
  const rt = await webgpu();
  const set = new ParameterSet([
    { name: "w", shape: [3, 4], init: Float32Array.from({ length: 12 }, (_, i) => i / 10 - 0.5) },
  ], "webgpu");
  const x = Tensor.fromArray(Float32Array.from({ length: 8 }, (_, i) => i - 4), [2, 4], "webgpu");
  const before = rt.pool.stats();
  const loss = tidy(() => {
    set.zeroGrad();
    const y = ops.linear(x, set.byName.get("w")!, null, SLOPE);
    const l = ops.mean(ops.leakyRelu(y, SLOPE));
    l.backward();
    return l;
  });
  const after = rt.pool.stats();
  assertEquals(after.liveBuffers, before.liveBuffers + 1, "only the loss stays live");
  await loss.item();
  loss.dispose();
  assertEquals(rt.pool.stats().liveBytes, before.liveBytes, "live bytes back to start");
  set.dispose();
  x.dispose();
});

gpuTest("dispose is idempotent and releases the buffer once", async () => {
  const rt = await webgpu();
  const before = rt.pool.stats();
  const t = Tensor.fromArray([1, 2, 3], [3], "webgpu");
  assertEquals(rt.pool.stats().liveBuffers, before.liveBuffers + 1);
  t.dispose();
  t.dispose();
  assertEquals(rt.pool.stats().liveBuffers, before.liveBuffers, "released exactly once");
  assertEquals(rt.pool.stats().liveBytes, before.liveBytes);
  assert(t.disposed);
});

bothBackends("using a disposed tensor throws a clear error", async (d) => {
  const t = Tensor.fromArray([1, 2, 3, 4], [2, 2], d);
  t.dispose();
  const msg = "it was disposed";
  assertThrows(() => t.data(), Error, msg);
  assertThrows(() => ops.leakyRelu(t, SLOPE), Error, msg);
  assertThrows(() => t.reshape([4]), Error, msg);
  const named = Tensor.fromArray([1], [1], d);
  named.name = "encoder.encoder.0.weight";
  named.dispose();
  assertThrows(() => named.data(), Error, "Cannot use tensor encoder.encoder.0.weight");
  await Promise.resolve();
});

gpuTest(
  "reshape is a view sharing storage; the buffer lives until the last view goes",
  async () => {
    const rt = await webgpu();
    const before = rt.pool.stats().liveBuffers;
    const x = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3], "webgpu");
    const v = x.reshape([3, -1]);
    assertEquals([...v.shape], [3, 2]);
    assert(v.storage === x.storage, "same storage object");
    assertEquals(rt.pool.stats().liveBuffers, before + 1, "a view allocates nothing");
    x.dispose();
    assertEquals(rt.pool.stats().liveBuffers, before + 1, "the view keeps the buffer");
    close(await v.data(), [1, 2, 3, 4, 5, 6], 0, "view data after the base is disposed");
    v.dispose();
    assertEquals(rt.pool.stats().liveBuffers, before, "released with the last view");
    assertThrows(() => Tensor.fromArray([1, 2, 3], [3], "webgpu").reshape([2, 2]), TypeError);
  },
);

/** Four leaky-ReLU conv layers (conv, conv, transposed, transposed) and a loss. */
const FOLD_LAYERS = [
  { name: "e0", w: [4, 2, 3, 3], t: false },
  { name: "e1", w: [6, 4, 3, 3], t: false },
  { name: "d1", w: [6, 3, 3, 3], t: true },
  { name: "d2", w: [3, 2, 3, 3], t: true },
] as const;

/** The parameters of {@linkcode FOLD_LAYERS}, seeded. */
function foldParams(): { name: string; shape: number[]; init: Float32Array }[] {
  return FOLD_LAYERS.flatMap((l, i) => {
    const w = Float32Array.from(
      { length: l.w.reduce((a: number, b: number) => a * b, 1) },
      (_, k) => 0.4 * Math.sin(1.3 * k + i),
    );
    const c = l.t ? l.w[1] : l.w[0];
    const b = Float32Array.from({ length: c }, (_, k) => 0.3 * Math.cos(k + 2 * i));
    return [
      { name: `${l.name}.w`, shape: [...l.w], init: w },
      { name: `${l.name}.b`, shape: [c], init: b },
    ];
  });
}

/**
 * The loss of {@linkcode FOLD_LAYERS} on x [2, 2, 11, 9]: each layer with its leaky ReLU fused
 * (`fused`), or as a plain conv followed by a separate leakyRelu op (nothing to fold).
 * `tap` adds a second use of e0's output to the loss; `cropped` takes the MSE through
 * croppedMseLoss (an empty crop), whose gradient pass folds the last layer's ReLU.
 */
function foldLoss(
  x: Tensor,
  target: Tensor,
  p: (name: string) => Tensor,
  fused: boolean,
  tap = false,
  cropped = false,
): Tensor {
  const s2 = { stride: [2, 2] as [number, number], padding: [1, 1] as [number, number] };
  let h = x;
  let h0: Tensor | null = null;
  for (const l of FOLD_LAYERS) {
    const w = p(`${l.name}.w`), b = p(`${l.name}.b`);
    const slope = fused ? SLOPE : 1;
    h = l.t
      ? ops.convTranspose2d(h, w, b, { ...s2, outputPadding: [0, 0], slope })
      : ops.conv2d(h, w, b, { ...s2, slope });
    if (!fused) h = ops.leakyRelu(h, SLOPE);
    h0 ??= h;
  }
  const loss = cropped ? ops.croppedMseLoss(h, target, [0, 0, 0, 0]) : ops.mseLoss(h, target);
  return tap ? ops.axpby(loss, ops.sum(h0!, 0.01)) : loss;
}

bothBackends(
  "a conv's input gradient does the leaky ReLU and bias backward of the layer before it",
  // On WebGPU under foldActGrad at any batch (software adapters fold from batch 64 by default).
  (d) =>
    d === "webgpu"
      ? withTuning({ foldActGrad: true, foldMinBatch: 1 }, () => checkFold(d))
      : checkFold(d),
);

/** The body of the test above. */
async function checkFold(d: Device): Promise<void> {
  const be = backendNamed(d);
  const xv = Float32Array.from({ length: 2 * 2 * 11 * 9 }, (_, i) => Math.sin(0.37 * i));
  const x = Tensor.fromArray(xv, [2, 2, 11, 9], d);
  // Output of the stack: 11×9 → 6×5 → 3×3 → 5×5 → 9×9.
  const tv = Float32Array.from({ length: 2 * 2 * 9 * 9 }, (_, i) => 0.2 * Math.cos(0.11 * i));
  const target = Tensor.fromArray(tv, [2, 2, 9, 9], d);
  const specs = foldParams();
  const leaves = new Map(specs.map((s) => [s.name, leafOn(d, Array.from(s.init), s.shape)]));
  const reference = async (tap: boolean) => {
    for (const t of leaves.values()) t.grad = null;
    foldLoss(x, target, (n) => leaves.get(n)!, false, tap).backward();
    return new Map(
      await Promise.all([...leaves].map(async ([n, t]) => [n, await t.grad!.data()] as const)),
    );
  };
  // Counts the backend calls of one backward and the input gradients given an InputAct.
  const counted = (fn: () => void) => {
    const calls = { leakyGradBias: 0, biasGrad: 0, folds: 0 };
    const saved = { ...be };
    const b = be as unknown as Record<string, unknown>;
    b.leakyGradBias = (...a: Parameters<typeof be.leakyGradBias>) => (
      calls.leakyGradBias++, saved.leakyGradBias(...a)
    );
    b.biasGrad = (
      ...a: Parameters<typeof be.biasGrad>
    ) => (calls.biasGrad++, saved.biasGrad(...a));
    b.conv2dInputGrad = (...a: Parameters<typeof be.conv2dInputGrad>) => (
      calls.folds += a[4] ? 1 : 0, saved.conv2dInputGrad(...a)
    );
    b.convTranspose2dInputGrad = (...a: Parameters<typeof be.convTranspose2dInputGrad>) => (
      calls.folds += a[4] ? 1 : 0, saved.convTranspose2dInputGrad(...a)
    );
    b.cropMseGrad = (...a: Parameters<typeof be.cropMseGrad>) => (
      calls.folds += a[4] ? 1 : 0, saved.cropMseGrad(...a)
    );
    try {
      fn();
    } finally {
      Object.assign(b, saved);
    }
    return calls;
  };
  // On WebGPU the masked gradients, hence the weight gradients, are bit-equal to the
  // separate ops'; the bias gradients sum N·H·W values in another order. On the CPU a fused
  // ReLU rounds once where a separate op rounds twice, so the forward differs in the last
  // bit already: there all gradients agree to 1e-5.
  const check = async (
    got: Map<string, Tensor>,
    ref: Map<string, Float32Array>,
    what: string,
  ) => {
    for (const [n, t] of got) {
      const g = await t.grad!.data();
      if (d === "webgpu" && n.endsWith(".w")) {
        assertEquals(Array.from(g), Array.from(ref.get(n)!), `${what}: ${n} bit-equal`);
      } else close(g, ref.get(n)!, 1e-7, `${what}: ${n}`, 1e-5);
    }
  };
  const ref = await reference(false);

  // Parameters with slots: e1, d1 and d2 fold the ReLUs of e0, e1 and d1 and write their
  // bias gradients; only d2's own ReLU (before the loss) takes the separate pass.
  const set = new ParameterSet(specs, d);
  const calls = counted(() => foldLoss(x, target, (n) => set.byName.get(n)!, true).backward());
  assertEquals(calls, { leakyGradBias: 1, biasGrad: 0, folds: 3 }, "calls with slots");
  await check(set.byName, ref, "with slots");

  // Plain leaves (no slots): the folded layers then sum their bias gradients from gy.
  const fresh = new Map(specs.map((s) => [s.name, leafOn(d, Array.from(s.init), s.shape)]));
  const calls2 = counted(() => foldLoss(x, target, (n) => fresh.get(n)!, true).backward());
  assertEquals(calls2, { leakyGradBias: 1, biasGrad: 3, folds: 3 }, "calls on plain leaves");
  await check(fresh, ref, "plain leaves");

  // e0's output also feeds the loss: its ReLU's backward is not folded (2 uses).
  const refTap = await reference(true);
  set.zeroGrad();
  const calls3 = counted(() =>
    foldLoss(x, target, (n) => set.byName.get(n)!, true, true).backward()
  );
  assertEquals(calls3, { leakyGradBias: 2, biasGrad: 0, folds: 2 }, "calls with a second use");
  await check(set.byName, refTap, "e0's output used twice");

  // The cropped MSE's gradient pass folds d2's ReLU too: no separate pass is left.
  set.zeroGrad();
  const calls4 = counted(() =>
    foldLoss(x, target, (n) => set.byName.get(n)!, true, false, true).backward()
  );
  assertEquals(calls4, { leakyGradBias: 0, biasGrad: 0, folds: 4 }, "calls with croppedMseLoss");
  await check(set.byName, ref, "croppedMseLoss");

  // A second backward without zeroGrad accumulates: every gradient doubles, the bias gradients
  // that the folded passes wrote straight into their slots included (each slot must then be
  // marked defined, or the second pass overwrites it).
  foldLoss(x, target, (n) => set.byName.get(n)!, true, false, true).backward();
  const ref2 = new Map([...ref].map(([n, g]) => [n, g.map((v) => 2 * v)]));
  await check(set.byName, ref2, "a second backward accumulates");

  for (const t of [x, target, ...leaves.values(), ...fresh.values()]) t.dispose();
  set.dispose();
}

gpuTest(
  "foldActGrad and foldMinBatch decide, when a conv is recorded, whether its backward folds",
  async () => {
    // A batch of 2.
    const x = Tensor.fromArray(new Float32Array(2 * 2 * 11 * 9).fill(0.5), [2, 2, 11, 9], "webgpu");
    const set = new ParameterSet(foldParams(), "webgpu");
    const folds = (on: boolean, least = 1) =>
      withTuning({ foldActGrad: on, foldMinBatch: least }, () => {
        const y = ops.conv2d(x, set.byName.get("e0.w")!, set.byName.get("e0.b")!, {
          stride: [2, 2],
          padding: [1, 1],
          slope: SLOPE,
        });
        const node = y.node!;
        y.dispose();
        return Promise.resolve([node.foldsInputAct, node.act?.slope]);
      });
    assertEquals(await folds(true), [true, SLOPE]);
    assertEquals(await folds(false), [false, SLOPE]);
    assertEquals(await folds(true, 2), [true, SLOPE], "a batch of foldMinBatch folds");
    assertEquals(await folds(true, 3), [false, SLOPE], "a batch under foldMinBatch does not");
    x.dispose();
    set.dispose();
  },
);

gpuTest(
  "tidy disposes what it made when its function throws; axpby's backward leaves only the gradients",
  async () => {
    const rt = await webgpu();
    const x = Tensor.fromArray([1, -2, 3, -4], [2, 2], "webgpu");
    const before = rt.pool.stats().liveBuffers;
    let kept: Tensor | null = null;
    for (let i = 0; i < 3; i++) {
      assertThrows(
        () =>
          tidy(() => {
            const a = ops.leakyRelu(x, SLOPE);
            ops.axpby(a, a, 2, -1);
            if (i === 2) kept = a.keep();
            throw new RangeError("Cannot go on: a test error");
          }),
        RangeError,
        "a test error",
      );
    }
    assertEquals(rt.pool.stats().liveBuffers, before + 1, "only the kept tensor survives");
    kept!.dispose();
    assertEquals(rt.pool.stats().liveBuffers, before);
    // Outside any tidy: the backward of axpby keeps exactly a.grad and b.grad alive.
    const a = leafOn("webgpu", [1, 2, 3, 4], [2, 2]), b = leafOn("webgpu", [5, 6, 7, 8]);
    for (let i = 0; i < 5; i++) {
      const z = ops.axpby(a, b, 2, 3), y = ops.sum(z);
      y.backward();
      y.dispose();
      z.dispose();
      a.grad!.dispose();
      b.grad!.dispose();
      a.grad = b.grad = null;
    }
    assertEquals(rt.pool.stats().liveBuffers, before + 2, "a and b only");
    for (const t of [a, b, x]) t.dispose();
  },
);

Deno.test("fused leaky ReLU slopes must be > 0 (the backward tells the branch by the output's sign)", () => {
  const x = Tensor.fromArray([-1, 0, 1, 2], [1, 1, 2, 2], "cpu");
  const w = Tensor.fromArray([1], [1, 1, 1, 1], "cpu");
  const o = { stride: [1, 1] as [number, number], padding: [0, 0] as [number, number] };
  for (const slope of [-0.5, 0]) {
    assertThrows(() => ops.conv2d(x, w, null, { ...o, slope }), RangeError, "slope must be > 0");
    assertThrows(
      () => ops.convTranspose2d(x, w, null, { ...o, slope }),
      RangeError,
      "slope must be > 0",
    );
    assertThrows(
      () => ops.linear(x.reshape([4, 1]), w.reshape([1, 1]), null, slope),
      RangeError,
      "slope must be > 0",
    );
  }
  for (const t of [x, w]) t.dispose();
});

bothBackends(
  "ops refuse a tensor with a zero dimension at the call, naming the op and the tensor",
  async (device) => {
    const t = (shape: number[], v = 1) =>
      Tensor.fromArray(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(v), shape, device);
    const o = { stride: [1, 1] as [number, number], padding: [0, 0] as [number, number] };
    const cases: [() => unknown, string][] = [
      [() => ops.conv2d(t([0, 2, 5, 5]), t([3, 2, 3, 3]), t([3]), o), "conv2d: x"],
      [() => ops.conv2d(t([2, 2, 5, 5]), t([0, 2, 3, 3]), null, o), "conv2d: weight"],
      [() => ops.convTranspose2d(t([0, 2, 5, 5]), t([2, 3, 3, 3]), null, o), "conv_transpose2d: x"],
      [() => ops.linear(t([0, 4]), t([3, 4]), t([3]), SLOPE), "linear: x"],
      [() => ops.matmul(t([2, 0]), t([0, 3])), "matmul: a"],
      [() => ops.matmul(t([2, 4]), t([4, 0])), "matmul: b"],
      [() => ops.mseLoss(t([0, 4]), t([0, 4])), "mse_loss: prediction"],
      [
        () => ops.croppedMseLoss(t([0, 1, 4, 4]), t([0, 1, 2, 2]), [1, 1, 1, 1]),
        "cropped_mse_loss: prediction",
      ],
      [() => ops.crop2d(t([0, 1, 4, 4]), [1, 1, 1, 1]), "crop2d: x"],
      [() => ops.softAssign(t([2, 3]), t([0, 3])), "soft assignment: mu"],
      [() => ops.decKlLoss(t([0, 3]), t([4, 3]), t([0, 4])), "soft assignment: z"],
      [() => ops.targetDistribution(t([0, 3])), "target distribution: q"],
    ];
    for (const [run, what] of cases) {
      assertThrows(run, TypeError, `Cannot run ${what} must not be empty (a zero dimension)`);
    }
    // Element-wise ops and sums keep PyTorch's meaning on both backends: empty in, empty out.
    const e = t([0, 4]);
    assertEquals([...(await ops.leakyRelu(e, SLOPE).data())], []);
    assertEquals([...(await ops.axpby(e, e, 2, 3).data())], []);
    assertEquals([...(await ops.sum(e).data())], [0]);
  },
);

bothBackends(
  "Tensor.full and Tensor.fromArray make a tensor with a zero dimension, whatever the fill value",
  async (device) => {
    // On WebGPU a fill of few values goes in by a queue write: one of no bytes made Deno panic.
    for (const value of [0, 1, 2.5]) {
      const e = Tensor.full([0, 3], value, device);
      assertEquals(e.shape, [0, 3]);
      assertEquals([...(await e.data())], []);
      assertEquals([...(await ops.leakyRelu(e, SLOPE).data())], []);
      e.dispose();
    }
    const f = Tensor.fromArray(new Float32Array(0), [2, 0], device);
    assertEquals([...(await f.data())], []);
    f.dispose();
  },
);
