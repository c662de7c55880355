/**
 * The GPU runtime (lib/gpu/runtime.ts) and buffer pool (lib/gpu/pool.ts): compile errors,
 * grids beyond maxComputeWorkgroupsPerDimension, the pipeline and bind group caches, pool
 * counters and the one-submit-per-step contract.
 */
import { bucketSize } from "../../lib/gpu/pool.ts";
import { compileAll, conv2dDef, KERNELS } from "../../lib/gpu/kernels.ts";
import * as K from "../../lib/gpu/kernels.ts";
import { DeviceLostError, GpuOutOfMemoryError } from "../../lib/gpu/device.ts";
import { BindingSizeError, gpu, GpuRuntime, type KernelDef } from "../../lib/gpu/runtime.ts";
import { ConvAutoencoder } from "../../lib/nn/autoencoder.ts";
import { Adam } from "../../lib/optim/optimizers.ts";
import {
  backendNamed,
  deviceLost,
  gpuRuntime,
  initBackend,
  releaseCachedMemory,
} from "../../lib/tensor/backends.ts";
import { MemoryDataset } from "../../lib/cluster/data.ts";
import { pretrain, PRETRAIN_DEFAULTS } from "../../lib/cluster/pretrain.ts";
import * as ops from "../../lib/tensor/ops.ts";
import { Tensor, tidy } from "../../lib/tensor/tensor.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import { readAll, webgpu } from "./_util.ts";

/** A fixture kernel; `file` is resolved against kernels/, so it climbs back to tests/. */
const fixture = (name: string, defines?: Record<string, string>): KernelDef => ({
  name,
  file: "../tests/gpu/_fixtures/fill_value.wgsl",
  storage: ["rw"],
  workgroupSize: 64,
  defines,
});

gpuTest("a WGSL error surfaces with the kernel's name and the compiler's message", async () => {
  const rt = await webgpu();
  const e = await assertRejects(
    () => rt.compile(fixture("test_broken", { VALUE: "1.0 +* 2" })),
    Error,
    "Cannot compile kernel test_broken",
  );
  // The compiler's diagnostic follows: it names an error and quotes the offending source.
  assert(/error/i.test(e.message), `compiler message missing: ${e.message}`);
  assert(e.message.includes("+*"), `offending source not quoted: ${e.message}`);
  await assertRejects(
    () => rt.compile(fixture("test_undefined")),
    Error,
    "Cannot compile kernel test_undefined: define VALUE has no value",
  );
});

gpuTest("defines are substituted; a failed compile fails again when retried", async () => {
  const rt = await webgpu();
  await assertRejects(
    () => rt.compile(fixture("test_broken", { VALUE: "1.0 +* 2" })),
    Error,
    "Cannot compile kernel test_broken",
  );
  const good = fixture("test_broken", { VALUE: "2.5" });
  await rt.compile(good);
  const n = 1000;
  const y = backendNamed("webgpu").fill([n], 0);
  rt.dispatch(good, [n, 0, 0, 0], [y.ref], Math.ceil(n / 64));
  const [out] = await readAll([y]);
  y.dispose();
  assert(out.every((v) => v === 2.5), "every element holds the substituted literal");
});

gpuTest("start-up compiles nothing; a kernel compiles at its first dispatch", async () => {
  // A fresh process: this file's runtime has already compiled kernels for earlier tests.
  const code = `
    import { gpuRuntime, initBackend } from ${
    JSON.stringify(
      new URL("../../lib/tensor/backends.ts", import.meta.url).href,
    )
  };
    import { leakyRelu } from ${
    JSON.stringify(new URL("../../lib/tensor/ops.ts", import.meta.url).href)
  };
    import { Tensor } from ${
    JSON.stringify(new URL("../../lib/tensor/tensor.ts", import.meta.url).href)
  };
    await initBackend("webgpu");
    const rt = gpuRuntime();
    const start = rt.stats().pipelines;
    const y = leakyRelu(Tensor.fromArray(new Float32Array([1, -2, 3]), [3], "webgpu"), 0.5);
    const out = await y.data();
    console.log(JSON.stringify({ start, after: rt.stats().pipelines, out: [...out] }));
    Deno.exit(0);`;
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(r.stderr);
  assert(r.success, `subprocess failed: ${err}`);
  const lines = new TextDecoder().decode(r.stdout).trim().split("\n");
  const got = JSON.parse(lines[lines.length - 1]);
  assertEquals(got.start, 0, "no pipeline compiled by initBackend");
  assert(got.after >= 1, `the leaky ReLU compiled its kernel at dispatch: ${got.after}`);
  assertEquals(got.out, [1, -1, 3]);
});

gpuTest("a WGSL error in a kernel compiled at dispatch surfaces at the next submit", async () => {
  const rt = await webgpu();
  await rt.load(fixture("test_lazy"));
  const y = backendNamed("webgpu").fill([64], 0);
  const broken = fixture("test_lazy_broken", { VALUE: "1.0 +* 2" });
  const e = await assertRejects(async () => {
    rt.dispatch(broken, [64, 0, 0, 0], [y.ref], 1);
    await rt.sync();
  }, Error);
  assert(e.message.includes("test_lazy_broken"), `kernel not named: ${e.message}`);
  // The runtime stays usable: a good define set of the same file compiles and runs.
  const good = fixture("test_lazy_good", { VALUE: "4.0" });
  rt.dispatch(good, [64, 0, 0, 0], [y.ref], 1);
  const [out] = await readAll([y]);
  y.dispose();
  assert(out.every((v) => v === 4), "the good variant ran");
});

gpuTest("a grid of more than 65535 workgroups is split over y and stays correct", async () => {
  const rt = await webgpu();
  const max = rt.device.limits.maxComputeWorkgroupsPerDimension;
  const n = (max + 1) * 64 + 7; // 65537 workgroups for max = 65535: 4,194,375 floats
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (i % 1999) - 999;
  const X = Tensor.fromArray(x, [n], "webgpu");
  const Y = backendNamed("webgpu").fill([n], NaN);
  K.scale(rt, X.ref, Y.ref, n, -0.5);
  const [out] = await readAll([Y]);
  X.dispose();
  Y.dispose();
  let bad = 0, firstBad = -1;
  for (let i = 0; i < n; i++) {
    if (out[i] !== -0.5 * x[i]) {
      if (firstBad < 0) firstBad = i;
      bad++;
    }
  }
  assertEquals(bad, 0, `wrong elements (first at ${firstBad} of ${n})`);
});

gpuTest("a grid beyond maxComputeWorkgroupsPerDimension² is refused", async () => {
  const rt = await webgpu();
  const max = rt.device.limits.maxComputeWorkgroupsPerDimension;
  const y = backendNamed("webgpu").fill([64], 0);
  assertThrows(
    () => rt.dispatch(KERNELS.scale, [0], [y.ref, y.ref], max * max + 1),
    RangeError,
    "workgroups exceed",
  );
  await rt.sync();
  y.dispose();
});

gpuTest(
  "a binding past maxStorageBufferBindingSize is refused when recorded, naming the kernel",
  async () => {
    const rt = await webgpu();
    const limit = rt.device.limits.maxStorageBufferBindingSize;
    const y = backendNamed("webgpu").fill([64], 0);
    // The size alone is checked before the bind group is made: no buffer that large is needed.
    const e = assertThrows(
      () => rt.dispatch(KERNELS.scale, [0], [y.ref, { ...y.ref, size: limit + 4 }], 1),
      BindingSizeError,
      `binding 2 is ${limit + 4} bytes`,
    ) as BindingSizeError;
    assert(e.message.includes("kernel scale") && e.message.includes("smaller batch"), e.message);
    assertEquals([e.kernel, e.binding, e.bytes, e.limit], ["scale", 2, limit + 4, limit]);
    await rt.sync(); // nothing invalid was recorded
    y.dispose();
  },
);

gpuTest("dispatch checks that the kernel was compiled and gets its buffers", async () => {
  const rt = await webgpu();
  const y = backendNamed("webgpu").fill([4], 0);
  // A file never loaded cannot be compiled synchronously at dispatch (a new define set of a
  // loaded file can: see wgsl_test.ts).
  assertThrows(
    () =>
      rt.dispatch(
        { ...fixture("test_never_compiled"), file: "../tests/gpu/_fixtures/never_loaded.wgsl" },
        [4],
        [y.ref],
        1,
      ),
    Error,
    "its source was not loaded first",
  );
  assertThrows(() => rt.dispatch(KERNELS.scale, [4], [y.ref], 1), TypeError, "expected 2 buffers");
  y.dispose();
});

gpuTest("pipelines are compiled once and cached", async () => {
  const rt = await webgpu();
  await compileAll(rt);
  const before = rt.stats().pipelines;
  assert(before >= Object.keys(KERNELS).length, `compileAll compiled every kernel: ${before}`);
  await compileAll(rt);
  assertEquals(rt.stats().pipelines, before, "a second compileAll compiles nothing");
  const a = await rt.compile(conv2dDef(8)), b = await rt.compile({ ...conv2dDef(8) });
  assert(a === b, "the same pipeline object is returned for an equal definition");
});

gpuTest("pool counters: live buffers and bytes, reuse only after a submit", async () => {
  const rt = await webgpu();
  const pool = rt.pool;
  rt.submit();
  const s0 = pool.stats();
  // 12,292 bytes: just above 1.5·2^13 = 12,288, so the bucket is 1.75·2^13 = 14,336.
  const bytes = 3 * 4096 + 4;
  const size = bucketSize(bytes);
  assertEquals(size, 14336, "bucket of 12,292 bytes: 2^13·1.75");
  const a = pool.acquire(bytes);
  assertEquals(a.size, size);
  let s = pool.stats();
  assertEquals(s.liveBuffers, s0.liveBuffers + 1);
  assertEquals(s.liveBytes, s0.liveBytes + size);
  pool.release(a);
  s = pool.stats();
  assertEquals(s.liveBuffers, s0.liveBuffers);
  assertEquals(s.liveBytes, s0.liveBytes);
  // Released but not yet submitted: a new request of the same bucket gets another buffer,
  // as the recorded commands may still read the old one.
  const b = pool.acquire(bytes);
  assert(b !== a, "not reused before the submit");
  pool.release(b);
  rt.submit();
  const c = pool.acquire(bytes);
  assert(c === a || c === b, "reused after the submit");
  pool.release(c);
  rt.submit();
  assertEquals(bucketSize(1), 256, "minimum bucket");
  assertEquals(bucketSize(4097), 5120, "2^12·1.25");
  assertEquals(bucketSize(1 << 20), 1 << 20, "powers of two are their own bucket");
});

gpuTest("a training step submits once, with the loss read", async () => {
  const rt = await webgpu();
  const ae = new ConvAutoencoder({ inputShape: [1, 87, 67] }, 2);
  const set = ae.build("webgpu");
  const opt = new Adam(set);
  const x = Tensor.full([2, 1, 87, 67], 0.5, "webgpu");
  await rt.sync();
  for (let s = 0; s < 2; s++) {
    const before = rt.stats();
    const loss = tidy(() => {
      set.zeroGrad();
      const l = ops.mseLoss(ae.forward(x).recon, x);
      l.backward();
      opt.update();
      return l;
    });
    assertEquals(rt.stats().submits, before.submits, "nothing submitted while recording");
    const v = await loss.item();
    loss.dispose();
    const after = rt.stats();
    assert(Number.isFinite(v), "finite loss");
    assertEquals(after.submits - before.submits, 1, `step ${s}: submits`);
    assertEquals(after.readbacks - before.readbacks, 1, `step ${s}: read-backs`);
    assert(after.dispatches - before.dispatches > 30, "the whole step was recorded");
  }
  x.dispose();
  opt.dispose();
  set.dispose();
});

gpuTest(
  "bind groups are reused across training steps on the same buffers; trim drops them",
  async () => {
    const rt = await webgpu();
    const ae = new ConvAutoencoder({ inputShape: [1, 87, 67] }, 3);
    const set = ae.build("webgpu");
    const opt = new Adam(set);
    const x = Tensor.full([2, 1, 87, 67], 0.25, "webgpu");
    const losses: number[] = [];
    const step = async () => {
      const loss = tidy(() => {
        set.zeroGrad();
        const l = ops.mseLoss(ae.forward(x).recon, x);
        l.backward();
        opt.update();
        return l;
      });
      losses.push(await loss.item());
      loss.dispose();
    };
    const first = rt.stats();
    await step();
    assert(rt.stats().bindGroups - first.bindGroups > 30, "the first step makes its bind groups");
    await step();
    await step();
    // From here on the pool hands out the same buffers for the same tensors every step (its
    // free lists are in creation order), so the bind groups are found in the cache.
    const before = rt.stats();
    await step();
    await step();
    const mid = rt.stats();
    assertEquals(mid.bindGroups - before.bindGroups, 0, "no bind group created in repeat steps");
    assert(mid.dispatches - before.dispatches > 60, "the steps dispatched");
    // The parameters travel as dynamic offsets: with the groups reused, each step still reads
    // its own parameters (Adam's step count changes every step), so the loss keeps falling.
    for (let i = 1; i < losses.length; i++) assert(losses[i] < losses[i - 1], `losses: ${losses}`);
    // A trimmed pool destroys its free buffers: every cached group is dropped and remade.
    rt.pool.trim();
    await step();
    assert(rt.stats().bindGroups - mid.bindGroups > 30, "bind groups made again after a trim");
    assert(losses[5] < losses[4], `training goes on after the trim: ${losses}`);
    x.dispose();
    opt.dispose();
    set.dispose();
  },
);

gpuTest("profiling times each dispatch in order and then records as before", async () => {
  const rt = await webgpu();
  const { byKernel, profileRun } = await import("../../lib/bench/profile.ts");
  assertEquals(await rt.stopProfile(), [], "stopping without a start returns nothing");
  if (!rt.device.features.has("timestamp-query")) {
    assertThrows(() => rt.startProfile(), Error, "no timestamp-query feature");
    return;
  }
  const be = backendNamed("webgpu");
  const a = be.fill([1000], 1), b = be.fill([1000], 2);
  const p = await profileRun(rt, async () => {
    const c = ops.axpby(a, b, 1, 1), d = ops.leakyRelu(c, 0.5);
    await d.data();
    c.dispose();
    d.dispose();
  });
  assert(p.length >= 2, `one entry per dispatch: ${JSON.stringify(p)}`);
  assertEquals(p.map((d) => d.index), p.map((_, i) => i), "in dispatch order");
  for (const d of p) {
    assert(d.kernel.length > 0 && d.workgroups >= 1, JSON.stringify(d));
    // lavapipe's timestamps are in order; a null here would be this adapter's, not WebGPU's.
    assert(d.ms !== null && d.ms >= 0 && d.ms < 10_000, `plausible time: ${d.ms}`);
  }
  const k = byKernel(p);
  assertEquals(k.reduce((s, r) => s + r.dispatches, 0), p.length, "every dispatch counted once");
  assert(Math.abs(k.reduce((s, r) => s + r.share, 0) - 1) < 1e-9 || k.every((r) => r.ms === 0));
  // Profiling is off again: a step goes back to one pass and no timestamps.
  const c = ops.axpby(a, b, 1, 1);
  assertEquals(Array.from(await c.data()).slice(0, 2), [3, 3]);
  assertEquals(await rt.stopProfile(), []);
  for (const t of [a, b, c]) t.dispose();
});

gpuTest(
  "profiling: the dispatch that fills the timestamp queries runs with its own parameters",
  async () => {
    // 2,048 dispatches in one profiled run: the queries run out after 1,024 and the runtime
    // submits. A dispatch whose parameters were written before that submit, and recorded after
    // it, once ran with a later dispatch's (here: those of the 320-byte parameter blocks).
    const rt = await webgpu();
    if (!rt.device.features.has("timestamp-query")) return;
    const def: KernelDef = {
      name: "test_param_write",
      file: "../tests/gpu/_fixtures/param_write.wgsl",
      storage: ["rw"],
      workgroupSize: 64,
    };
    await rt.compile(def);
    const n = 2048;
    const y = backendNamed("webgpu").fill([n], -1);
    rt.startProfile();
    for (let i = 0; i < n; i++) {
      rt.dispatch(def, i <= 1024 ? [i, i, 0, 0] : [i, i, ...new Array(78).fill(0)], [y.ref], 1);
    }
    assertEquals((await rt.stopProfile()).length, n);
    const out = await y.data();
    y.dispose();
    const wrong = [...out.keys()].filter((i) => out[i] !== i);
    assertEquals(wrong, []);
  },
);

gpuTest(
  "a lost device fails the next read and submit with an error that says so, not with data",
  async () => {
    // A real GPU can lose its device (a driver reset, a watchdog timeout); destroy() loses it
    // the same way here. Reads must not hand back data from it, and work recorded after the
    // loss must not be submitted as if it ran.
    const adapter = (await navigator.gpu.requestAdapter())!;
    const device = await adapter.requestDevice();
    const rt = new GpuRuntime(device);
    const x = { buffer: rt.pool.acquire(16), offset: 0, size: 16 };
    rt.write(x, new Float32Array([1, 2, 3, 4]));
    assertEquals(Array.from((await rt.read([x]))[0]), [1, 2, 3, 4]);
    device.destroy();
    rt.write(x, new Float32Array([5, 6, 7, 8]));
    await assertRejects(
      () => rt.read([x]),
      DeviceLostError,
      "the WebGPU device was lost (destroyed",
    );
    rt.clear(x);
    assertThrows(() => rt.submit(), Error, "Cannot submit GPU work: the WebGPU device was lost");
    await assertRejects(() => rt.sync(), Error, "the WebGPU device was lost");
  },
);

/** One seeded training step of a small autoencoder on the process-wide device: its loss. */
async function trainingStepLoss(): Promise<number> {
  const ae = new ConvAutoencoder({ inputShape: [1, 20, 17] }, 2);
  const set = ae.build("webgpu");
  const opt = new Adam(set);
  const x = Tensor.fromArray(Float32Array.from({ length: 2 * 20 * 17 }, (_, i) => (i % 7) / 7), [
    2,
    1,
    20,
    17,
  ], "webgpu");
  try {
    const step = () =>
      tidy(() => {
        set.zeroGrad();
        const l = ops.mseLoss(ae.forward(x).recon, x);
        l.backward();
        opt.update();
        return l;
      });
    step().dispose();
    const loss = step(); // the second step runs on weights and packs the first one wrote
    const v = await loss.item();
    loss.dispose();
    return v;
  } finally {
    x.dispose();
    opt.dispose();
    set.dispose();
  }
}

gpuTest(
  "after the process-wide device is lost, initBackend brings up a new one, and a tensor of the old one says it must be recreated",
  async () => {
    // A real GPU loses its device to a driver reset, a watchdog timeout (TDR) or running out of
    // memory; destroy() loses it the same way. A library user's next job must get a working
    // device, and what was made on the old one must say so rather than reach the new device.
    const rt = await webgpu();
    const before = await trainingStepLoss();
    const old = Tensor.fromArray([1, 2, 3, 4], [4], "webgpu");
    const ae = new ConvAutoencoder({ inputShape: [1, 20, 17] }, 2);
    const oldSet = ae.build("webgpu");
    const oldWeight = oldSet.list[0]; // a view into the parameters' flat buffer
    assertEquals(Array.from(await old.data()), [1, 2, 3, 4]);
    rt.device.destroy();
    await rt.device.lost; // Deno settles it a task after destroy()
    assertEquals(deviceLost()?.reason, "destroyed");
    // Before a new device is asked for: WebGPU work says the device is lost, and how to go on.
    assertThrows(
      () => Tensor.fromArray([1], [1], "webgpu"),
      DeviceLostError,
      'Cannot use WebGPU: the WebGPU device was lost (destroyed: device was lost): call `await initBackend("webgpu")`',
    );
    await assertRejects(() => old.data(), DeviceLostError, "Cannot use tensor [4]");

    const rt2 = await webgpu();
    assert(rt2 !== rt && rt2.device !== rt.device, "a new runtime on a new device");
    assertEquals([rt2.lost, deviceLost()], [null, null]);
    assert((await gpu()) === rt2, "gpu() hands out the new runtime");
    // The new job runs: the same seeded step gives the same loss as on the old device.
    assertEquals(await trainingStepLoss(), before);
    // An old tensor, or an old model's weight, on the new device: the loss, not a wgpu
    // validation error about buffers of another device.
    for (const [t, name] of [[old, "[4]"], [oldWeight, oldWeight.name]] as const) {
      const fresh = Tensor.full(t.shape, 1, "webgpu");
      const e = assertThrows(() => ops.axpby(fresh, t), DeviceLostError);
      fresh.dispose();
      assertEquals(
        e.message,
        `Cannot use tensor ${name}: the WebGPU device it was made on was lost (destroyed: ` +
          "device was lost), and its values with it: recreate the tensor (after " +
          'initBackend("webgpu"), which requests a new device)',
      );
    }
    await assertRejects(() => old.data(), DeviceLostError, "recreate the tensor");
    // Letting go of what the old device held needs no device.
    old.dispose();
    oldSet.dispose();
    await rt2.sync();
  },
);

gpuTest(
  "a dispatch with a NaN or negative grid is refused at the call, naming the kernel",
  async () => {
    const rt = await webgpu();
    const def = fixture("test_grid", { VALUE: "1.0" });
    await rt.compile(def);
    const y = backendNamed("webgpu").fill([64], 0);
    for (const bad of [NaN, -1]) {
      assertThrows(
        () => rt.dispatch(def, [64, 0, 0, 0], [y.ref], bad),
        RangeError,
        `Cannot dispatch kernel test_grid: workgroups must be >= 0: current value is ${bad}`,
      );
    }
    rt.dispatch(def, [64, 0, 0, 0], [y.ref], 0); // an empty grid records nothing
    const [out] = await readAll([y]);
    y.dispose();
    assert(out.every((v) => v === 0), "nothing ran");
  },
);

/**
 * Records one dispatch of the fill fixture whose output buffer lacks STORAGE usage (an invalid
 * bind group), on a runtime of its own device so that the error cannot reach other tests, and
 * returns the message of the error that the read-backs after it throw.
 */
async function invalidDispatchError(debug: boolean): Promise<string> {
  const adapter = await navigator.gpu.requestAdapter();
  const device = await adapter!.requestDevice();
  try {
    const rt = new GpuRuntime(device, { debug });
    const def = fixture("test_invalid", { VALUE: "1.0" });
    await rt.compile(def);
    const bad = device.createBuffer({ size: 256, usage: GPUBufferUsage.COPY_DST });
    rt.dispatch(def, [64, 0, 0, 0], [{ buffer: bad, offset: 0, size: 256 }], 1);
    const ok = device.createBuffer({ size: 256, usage: GPUBufferUsage.COPY_SRC });
    // WebGPU reports the error asynchronously: the first read-back or sync after it arrives
    // throws it (in debug mode, the first one).
    for (let i = 0; i < 50; i++) {
      try {
        await rt.read([{ buffer: ok, offset: 0, size: 16 }]);
      } catch (e) {
        return (e as Error).message;
      }
      await new Promise((r) => setTimeout(r, 0));
    }
    throw new Error("no WebGPU error surfaced after 50 read-backs");
  } finally {
    device.destroy();
  }
}

gpuTest("a WebGPU validation error names its kernel, and its dispatch with debug on", async () => {
  // Normal mode: the bind group's label names the kernel; the message says how to learn more.
  const plain = await invalidDispatchError(false);
  assert(plain.includes("'test_invalid'"), plain);
  assert(plain.includes("SEISDEC_GPU_DEBUG=1"), plain);
  // Debug mode: at the first read-back, with the kernel, its file, defines and grid.
  const traced = await invalidDispatchError(true);
  assert(
    traced.startsWith(
      'WebGPU reported an error: kernel test_invalid {"VALUE":"1.0"} ' +
        "(../tests/gpu/_fixtures/fill_value.wgsl), dispatch 0 of this process, 1 workgroups: ",
    ),
    traced,
  );
  assert(/STORAGE/.test(traced), `WebGPU's own message follows: ${traced}`);
});

gpuTest(
  "WebGPU's out-of-memory error is thrown as GpuOutOfMemoryError, with the pool's figures, after the buffers kept for reuse are released",
  async () => {
    const device = await (await navigator.gpu.requestAdapter())!.requestDevice();
    try {
      const rt = new GpuRuntime(device);
      rt.pool.release(rt.pool.acquire(3 << 20));
      await rt.sync();
      assertEquals(rt.pool.stats().freeBytes, 3 << 20);
      device.dispatchEvent(
        new GPUUncapturedErrorEvent("uncapturederror", { error: new GPUOutOfMemoryError("boom") }),
      );
      const e = await assertRejects(() => rt.sync(), GpuOutOfMemoryError);
      assertEquals(
        e.message,
        "Cannot continue on the GPU: the GPU ran out of memory (WebGPU: boom) with 0 MiB of " +
          "seisdec's buffers in use and 3 MiB kept for reuse (now released)",
      );
      assertEquals(rt.pool.stats().freeBytes, 0);
      // Another error is not taken for one.
      device.dispatchEvent(
        new GPUUncapturedErrorEvent("uncapturederror", { error: new GPUValidationError("bad") }),
      );
      const v = await assertRejects(() => rt.sync(), Error);
      assert(!(v instanceof GpuOutOfMemoryError) && v.message.includes("bad"), v.message);
    } finally {
      device.destroy();
    }
  },
);

gpuTest("a pretraining releases the buffers its pool kept for reuse when it ends", async () => {
  await initBackend("webgpu");
  const pool = gpuRuntime()!.pool;
  const x = Float32Array.from({ length: 12 * 64 }, (_, i) => Math.sin(i));
  const dir = await Deno.makeTempDir();
  let during = 0;
  try {
    const cfg = { ...PRETRAIN_DEFAULTS, epochs: 1, batchSize: 5, latentDim: 3, valSplit: 0 };
    await pretrain(new MemoryDataset(x, [1, 8, 8]), dir, cfg, {
      device: "webgpu",
      hooks: { onEpoch: () => (during = pool.stats().freeBytes) },
    });
    assert(during > 0, "nothing kept for reuse during the epoch");
    assertEquals(pool.stats().freeBytes, 0);
    // The release leaves an error WebGPU reported for the next read to throw: it is not lost.
    const rt = gpuRuntime()!;
    rt.device.dispatchEvent(
      new GPUUncapturedErrorEvent("uncapturederror", { error: new GPUValidationError("late") }),
    );
    releaseCachedMemory();
    const e = await assertRejects(() => rt.sync(), Error);
    assert(e.message.includes("late"), e.message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

gpuTest(
  "more dispatches than the parameter arena holds between submits: it submits on its own when full, and every dispatch keeps its own parameters",
  async () => {
    // The arena holds 1 MiB of 256-byte parameter slots: 4,096 dispatches. 5,000 fills of slices
    // of one buffer, each with its own value, recorded without a submit of ours.
    const rt = await webgpu();
    const be = backendNamed("webgpu");
    const count = 5000, per = 64;
    const out = be.fill([count * per], -1);
    const before = rt.stats().submits;
    for (let i = 0; i < count; i++) {
      K.fill(rt, { ...out.ref, offset: out.ref.offset + 4 * per * i, size: 4 * per }, per, i);
    }
    const submitted = rt.stats().submits - before;
    const [got] = await readAll([out]);
    out.dispose();
    assert(submitted >= 1, `${submitted} submits while recording`);
    const wrong = got.findIndex((v, j) => v !== Math.floor(j / per));
    assertEquals(wrong, -1, `value ${wrong}: ${got[wrong]}`);
  },
);
