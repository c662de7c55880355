/**
 * Where a training step's time goes on the adapter at hand: the host's recording (autograd,
 * bind groups, dispatch calls), the synchronous part of the loss read-back (submit), the
 * steady-state time per step with the tuning's steps in flight, and the time per step of a
 * burst of steps submitted back to back with every loss read at the end (the most the host
 * and GPU can do together). Also the cost of one small dispatch within a long command buffer
 * (host recording and GPU completion). Prints one JSON line.
 *
 * ```sh
 * deno run -A bench/gpu/anatomy.ts 64,256
 * ```
 *
 * @module
 */
import { median, steadyStepMs } from "../../lib/bench/seisdec_timing.ts";
import { adapterName } from "../../lib/gpu/device.ts";
import { fill, matmul } from "../../lib/gpu/kernels.ts";
import { gpu } from "../../lib/gpu/runtime.ts";
import { ConvAutoencoder } from "../../lib/nn/autoencoder.ts";
import { Adam } from "../../lib/optim/optimizers.ts";
import { backendNamed, initBackend, stepsInFlight } from "../../lib/tensor/backends.ts";
import { Tensor, tidy } from "../../lib/tensor/tensor.ts";
import { Rng } from "../../lib/util/rng.ts";

const batches = (Deno.args[0] ?? "64,256").split(",").map(Number);
await initBackend("webgpu");
const rt = await gpu();
const out: Record<string, unknown> = { adapter: await adapterName() };

for (const b of batches) {
  const ae = new ConvAutoencoder({ inputShape: [1, 87, 67] }, 1);
  const set = ae.build("webgpu");
  const adam = new Adam(set, { lr: 1e-3 });
  const rng = new Rng(1);
  const x = Tensor.fromArray(
    Float32Array.from({ length: b * 87 * 67 }, () => rng.next()),
    [b, 1, 87, 67],
    "webgpu",
  ).keep();
  const record = () =>
    tidy(() => {
      set.zeroGrad();
      const l = ae.reconstructionLoss(x);
      l.backward();
      adam.update();
      return l;
    });
  const step = () => {
    const l = record();
    return l.item().finally(() => l.dispose());
  };
  for (let i = 0; i < 5; i++) await step();
  const rec: number[] = [], sub: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    const l = record();
    const t1 = performance.now();
    const p = l.item();
    sub.push(performance.now() - t1);
    rec.push(t1 - t0);
    await p;
    l.dispose();
  }
  const inFlight = await steadyStepMs(step, 64, stepsInFlight("webgpu"));
  const burst = async (n: number) => {
    const t0 = performance.now();
    const ps: Promise<number>[] = [];
    for (let i = 0; i < n; i++) ps.push(step());
    const tRec = performance.now() - t0;
    await Promise.all(ps);
    return { perStepMs: (performance.now() - t0) / n, recordPerStepMs: tRec / n };
  };
  await burst(5);
  const bu = await burst(40);
  out[`b${b}`] = {
    recordMs: +median(rec).toFixed(3),
    readbackSyncMs: +median(sub).toFixed(3),
    inFlightMs: +inFlight.toFixed(3),
    burstPerStepMs: +bu.perStepMs.toFixed(3),
    burstRecordPerStepMs: +bu.recordPerStepMs.toFixed(3),
  };
  x.dispose();
  adam.dispose();
  set.dispose();
}

// One small dispatch (a fill of 4,096 floats) repeated in one command buffer.
{
  const be = backendNamed("webgpu");
  const t = be.fill([4096], 0);
  for (const reps of [10, 1000]) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) {
      fill(rt, t.ref, 4096, i);
    }
    const t1 = performance.now();
    rt.submit();
    await rt.device.queue.onSubmittedWorkDone();
    const t2 = performance.now();
    out[`fill x${reps}`] = {
      recordPerDispatchUs: +((1000 * (t1 - t0)) / reps).toFixed(2),
      totalPerDispatchUs: +((1000 * (t2 - t0)) / reps).toFixed(2),
    };
  }
  t.dispose();
}
// Does waiting block the host? About 20 ms of GPU work (1024³ matmuls) is submitted, then a
// read-back's mapAsync (or queue.onSubmittedWorkDone) is called: the time spent inside that
// call, before it returns its promise, is host time the next step cannot be recorded in.
{
  const be = backendNamed("webgpu");
  const n = 1024;
  const a = be.fill([n * n], 1), b = be.fill([n * n], 1), c = be.fill([n * n], 0);
  const st = rt.device.createBuffer({
    size: 16,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  matmul(rt, a.ref, b.ref, c.ref, n, n, n);
  await rt.sync();
  const t0 = performance.now();
  matmul(rt, a.ref, b.ref, c.ref, n, n, n);
  await rt.sync();
  const one = performance.now() - t0;
  const reps = Math.max(1, Math.min(200, Math.round(20 / Math.max(0.05, one - 11))));
  /** Submits `reps` matmuls, then a copy of their result into the staging buffer. */
  const workThenCopy = () => {
    for (let i = 0; i < reps; i++) matmul(rt, a.ref, b.ref, c.ref, n, n, n);
    rt.submit();
    const enc = rt.device.createCommandEncoder();
    enc.copyBufferToBuffer(c.ref.buffer, 0, st, 0, 16);
    rt.device.queue.submit([enc.finish()]);
  };
  for (const mode of ["mapAsync", "onSubmittedWorkDone", "mapAsync", "onSubmittedWorkDone"]) {
    const t0 = performance.now();
    workThenCopy();
    const t1 = performance.now();
    const p = mode === "mapAsync"
      ? st.mapAsync(GPUMapMode.READ)
      : rt.device.queue.onSubmittedWorkDone();
    const t2 = performance.now();
    await p;
    const t3 = performance.now();
    if (mode === "mapAsync") st.unmap();
    (out.blocking as unknown[] ?? (out.blocking = [])).push({
      mode,
      reps,
      recordSubmitMs: +(t1 - t0).toFixed(2),
      callMs: +(t2 - t1).toFixed(2),
      resolveMs: +(t3 - t2).toFixed(2),
    });
  }
  // Which work does the wait cover? Work A with a copy to the staging buffer, then work B as
  // long: a mapAsync of A's copy that waits for A alone returns after about half the time of
  // one that waits for everything submitted.
  for (let k = 0; k < 2; k++) {
    const t0 = performance.now();
    workThenCopy();
    for (let i = 0; i < reps; i++) matmul(rt, a.ref, b.ref, c.ref, n, n, n);
    rt.submit();
    const t1 = performance.now();
    const p = st.mapAsync(GPUMapMode.READ);
    const t2 = performance.now();
    await p;
    st.unmap();
    await rt.sync();
    (out.waitScope as unknown[] ?? (out.waitScope = [])).push({
      reps,
      recordSubmitMs: +(t1 - t0).toFixed(2),
      callMsFirstOfTwo: +(t2 - t1).toFixed(2),
    });
  }
  for (const t of [a, b, c]) t.dispose();
  st.destroy();
}
console.log(JSON.stringify(out));
