/**
 * Training end to end: the seed autoencoder learns on WebGPU, agrees with the CPU backend
 * step by step, and a long run neither leaks buffers nor submits more than once per step.
 */
import { ConvAutoencoder } from "../../lib/nn/autoencoder.ts";
import { ParameterSet } from "../../lib/nn/params.ts";
import { Adam } from "../../lib/optim/optimizers.ts";
import { initBackend } from "../../lib/tensor/backends.ts";
import * as ops from "../../lib/tensor/ops.ts";
import { type Device, noGrad, Tensor, tidy } from "../../lib/tensor/tensor.ts";
import { Rng } from "../../lib/util/rng.ts";
import { assert, assertEquals } from "../_assert.ts";
import { gpuAvailable, gpuTest } from "../_gpu.ts";
import { close, rand, webgpu } from "../gpu/_util.ts";
import { runPython, torchPython } from "../_python.ts";
import { encodeNpy, readNpyFile } from "../../lib/io/npy.ts";

const SHAPE: [number, number, number] = [1, 87, 67];
const BATCH = 4;
const STEPS = 6;

/** Fixed seeded batch on [0, 1), like normalised spectrograms. */
function batch(): Float32Array {
  const rng = new Rng(3);
  return Float32Array.from({ length: BATCH * 87 * 67 }, () => rng.uniform(0, 1));
}

/** What {@linkcode train} returns. */
interface TrainRun {
  /** The loss of every step, before its update. */
  losses: number[];
  /** Every parameter after the last step, flat in the set's layout. */
  weights: Float32Array;
  /** The initial parameters by name, in creation order. */
  initial: Map<string, { shape: number[]; data: Float32Array }>;
  /** The final parameters by name. */
  final: Map<string, { shape: number[]; data: Float32Array }>;
}

/** STEPS Adam steps of the seed autoencoder on one batch; returns losses and weights. */
async function train(device: Device): Promise<TrainRun> {
  if (device === "webgpu") await webgpu();
  else await initBackend("cpu");
  const ae = new ConvAutoencoder({ inputShape: SHAPE }, 1);
  const set = ae.build(device);
  const initial = await set.stateDict();
  const opt = new Adam(set, { lr: 1e-3 });
  const x = Tensor.fromArray(batch(), [BATCH, ...SHAPE], device);
  const losses: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    const loss = tidy(() => {
      set.zeroGrad();
      const l = ops.mseLoss(ae.forward(x).recon, x);
      l.backward();
      opt.update();
      return l;
    });
    losses.push(await loss.item());
    loss.dispose();
  }
  const weights = await set.values.data();
  const final = await set.stateDict();
  x.dispose();
  opt.dispose();
  set.dispose();
  return { losses, weights, initial, final };
}

let gpuRun: TrainRun | null = null;

gpuTest(`seed autoencoder: ${STEPS} Adam steps at batch ${BATCH} lower the loss`, async () => {
  gpuRun = await train("webgpu");
  const l = gpuRun.losses;
  for (let i = 1; i < l.length; i++) {
    assert(l[i] < l[i - 1], `loss rose at step ${i}: ${l[i - 1]} → ${l[i]}`);
  }
  assert(l[l.length - 1] < 0.97 * l[0], `loss fell too little: ${l}`);
});

gpuTest("seed autoencoder: WebGPU and CPU backends agree on losses and weights", async () => {
  const g = gpuRun ?? await train("webgpu");
  const c = await train("cpu");
  // Every layer's f32 output differs between the backends by the f32 accumulation error
  // (<= ~1e-6 relative, see tests/gpu/conv_test.ts); through 12 layers and a mean over
  // 23k values the loss agrees to ~1e-6 relative: rtol 2e-5.
  close(g.losses, c.losses, 0, "losses", 2e-5);
  // Adam's update lr·m̂/(√v̂ + eps) is smooth in the gradient and bounded by ~lr: a relative
  // gradient difference δ moves it by <= ~lr·δ. Allowing δ = 1e-3 (generous for the smallest
  // gradients, whose relative f32 error is largest) over 6 steps at lr 1e-3: atol 6e-6.
  close(g.weights, c.weights, STEPS * 1e-3 * 1e-3, "weights after training");
});

/** Named tensors' values end to end, in the order of `names` (as the Python side reads them). */
function flatten(m: Map<string, { data: Float32Array }>, names: readonly string[]): Float32Array {
  return Float32Array.from(names.flatMap((n) => [...m.get(n)!.data]));
}

/**
 * The same steps in PyTorch eager (CPU), from the same initial weights, through lib/io/seisdec.py's
 * module: `torch.optim.Adam(lr=1e-3)` and `F.mse_loss` of the cropped reconstruction. Writes the
 * final weights in the given order, flat, as .npy; prints the losses as JSON.
 */
const TORCH_TRAIN = `import json, numpy as np, torch, seisdec
spec = json.load(open(sys.argv[1]))
flat = np.load(spec["init"])
weights, off = {}, 0
for name, shape in zip(spec["names"], spec["shapes"]):
    n = int(np.prod(shape))
    weights[name] = flat[off:off + n].reshape(shape)
    off += n
m = seisdec.Model({"autoencoder": spec["autoencoder"]}, "pretrain", weights, None, 1.0)
ae = seisdec.torch_autoencoder(m)
x = torch.from_numpy(np.load(spec["x"]))
opt = torch.optim.Adam(ae.parameters(), lr=1e-3)
losses = []
for _ in range(spec["steps"]):
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(ae(x), x)
    loss.backward()
    opt.step()
    losses.append(loss.item())
state = ae.state_dict()
np.save(spec["out"], np.concatenate([state[n].numpy().ravel() for n in spec["names"]]))
print(json.dumps(losses))`;

Deno.test({
  name:
    "[webgpu] seed autoencoder: WebGPU agrees with PyTorch eager on losses and weights (needs torch)",
  ignore: !gpuAvailable || !torchPython,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const g = gpuRun ?? await train("webgpu");
    const dir = await Deno.makeTempDir();
    const names = [...g.initial.keys()];
    const cat = (m: Map<string, { data: Float32Array }>) => flatten(m, names);
    const init = cat(g.initial);
    await Deno.writeFile(`${dir}/init.npy`, encodeNpy(init, [init.length]));
    await Deno.writeFile(`${dir}/x.npy`, encodeNpy(batch(), [BATCH, ...SHAPE]));
    await Deno.writeTextFile(
      `${dir}/spec.json`,
      JSON.stringify({
        autoencoder: { inputShape: SHAPE },
        names,
        shapes: names.map((n) => g.initial.get(n)!.shape),
        init: `${dir}/init.npy`,
        x: `${dir}/x.npy`,
        out: `${dir}/final.npy`,
        steps: STEPS,
      }),
    );
    const losses = JSON.parse(await runPython(torchPython!, TORCH_TRAIN, `${dir}/spec.json`));
    const torchFinal = (await readNpyFile(`${dir}/final.npy`)).data as Float32Array;
    // Both sides compute in f32 and sum in their own orders (oneDNN's convolutions against
    // WGSL). Measured with torch 2.13 on llvmpipe: losses 1.6e-7 apart (relative), weights
    // 9.3e-8 (absolute) after the 6 steps. Allowed: about ten times that, rtol 2e-6 and atol
    // 1e-6, well below the WebGPU/CPU test's bound above. Adam's eps at 1e-6 instead of 1e-8 in
    // PyTorch moves the losses by 2.3e-3 and the weights by 6.3e-3.
    const fin = cat(g.final);
    close(g.losses, losses, 0, "losses against PyTorch", 2e-6);
    close(fin, torchFinal, 1e-6, "weights against PyTorch");
    // And the steps moved the weights by far more than that tolerance, so it is not vacuous.
    let moved = 0;
    for (let i = 0; i < init.length; i++) moved = Math.max(moved, Math.abs(fin[i] - init[i]));
    assert(moved > 1000 * 1e-6, `weights moved by ${moved} at most`);
    await Deno.remove(dir, { recursive: true });
  },
});

/** One DEC loss and its gradients on WebGPU, with everything PyTorch needs to recompute them. */
interface DecGrads {
  loss: number;
  /** Encoder weights and centroids by name (the decoder takes no part). */
  weights: Map<string, { shape: number[]; data: Float32Array }>;
  /** Their gradients. */
  grads: Map<string, Float32Array>;
  /** The batch. */
  x: Float32Array;
  /** The centres the target p is computed from. */
  muP: Float32Array;
}

const DEC_SHAPE: [number, number, number] = [1, 20, 14];
const DEC_BATCH = 8, DEC_K = 3, DEC_D = 4;

/**
 * The DEC loss as `finetune` computes it, on WebGPU: the encoder's codes z, Student's-t q(z, mu)
 * with `alpha`, KL(p‖q) (batch mean) against a fixed target p, and the gradients of the encoder's
 * weights and the centroids. p is the target distribution of q(z, muP) for centres muP moved
 * away from mu, so that p and q differ clearly (DEC's own p = target(q) starts within ~1e-5 of
 * q, where the loss is a difference of nearly equal numbers).
 */
async function decGrads(alpha: number): Promise<DecGrads> {
  await webgpu();
  const rng = new Rng(11);
  const x = Float32Array.from({ length: DEC_BATCH * 20 * 14 }, () => rng.uniform(0, 1));
  const ae = new ConvAutoencoder({ inputShape: DEC_SHAPE, latentDim: DEC_D }, 2);
  const X = Tensor.fromArray(x, [DEC_BATCH, ...DEC_SHAPE], "webgpu");
  // A fresh encoder maps every sample to nearly the same code: its latent Linear is scaled up
  // (as init's latent scale does) to spread the codes, and the centres sit at three samples'
  // codes, moved a little, so q is neither flat nor one-hot.
  const probe = ae.build("webgpu");
  const w = await probe.stateDict();
  const names = ae.latentParamNames();
  for (const n of [names.encoderWeight, names.encoderBias]) {
    w.set(n, { ...w.get(n)!, data: w.get(n)!.data.map((v) => 40 * v) });
  }
  probe.load(w);
  const z0 = await noGrad(() => ae.encode(X)).data();
  probe.dispose();
  const cen = Float32Array.from({ length: DEC_K * DEC_D }, (_, i) => z0[i] + 0.2 * rng.normal());
  const muP = cen.map((v) => v + 0.5 * rng.normal());
  const set = ae.build("webgpu", [{ name: "centroids", shape: [DEC_K, DEC_D], init: cen }]);
  set.load(new Map([...w, ["centroids", { shape: [DEC_K, DEC_D], data: cen }]]));
  const mu = set.byName.get("centroids")!;
  const MuP = Tensor.fromArray(muP, [DEC_K, DEC_D], "webgpu");
  const p = noGrad(() => ops.targetDistribution(ops.softAssign(ae.encode(X), MuP, alpha))).keep();
  set.zeroGrad();
  const l = ops.decKlLoss(ae.encode(X), mu, p, alpha).loss;
  l.backward();
  const loss = await l.item();
  const all = await set.grads.data();
  const weights = new Map(
    [...await set.stateDict()].filter(([n]) => n.startsWith("encoder.") || n === "centroids"),
  );
  const grads = new Map<string, Float32Array>();
  for (const [n, v] of weights) {
    const o = set.offsets.get(n)!;
    grads.set(n, all.slice(o, o + v.data.length));
  }
  for (const t of [X, MuP, p, l]) t.dispose();
  set.dispose();
  return { loss, weights, grads, x, muP };
}

/**
 * The same loss in PyTorch autograd: `F.kl_div(q.log(), p, reduction="batchmean")` with q and
 * p written out from the DEC paper; prints the loss and writes the gradients, flat, in order.
 */
const TORCH_DEC = `import json, numpy as np, torch
from torch import nn
spec = json.load(open(sys.argv[1]))
flat = np.load(spec["weights"])
params, off = {}, 0
for name, shape in zip(spec["names"], spec["shapes"]):
    n = int(np.prod(shape))
    params[name] = torch.tensor(flat[off:off + n].reshape(shape), requires_grad=True)
    off += n
x = torch.from_numpy(np.load(spec["x"]))
mu_p = torch.from_numpy(np.load(spec["mu_p"]))
alpha, depth = spec["alpha"], 5

def encode(h):
    for i in range(depth):
        h = nn.functional.conv2d(h, params[f"encoder.encoder.{2 * i}.weight"],
                                 params[f"encoder.encoder.{2 * i}.bias"], stride=2, padding=1)
        h = nn.functional.leaky_relu(h, 0.02)
    h = nn.functional.linear(h.flatten(1), params[f"encoder.encoder.{2 * depth + 1}.weight"],
                             params[f"encoder.encoder.{2 * depth + 1}.bias"])
    return nn.functional.leaky_relu(h, 0.02)

def soft_assign(z, mu):
    d2 = ((z[:, None, :] - mu[None, :, :]) ** 2).sum(-1)
    q = (1 + d2 / alpha) ** (-(alpha + 1) / 2)
    return q / q.sum(1, keepdim=True)

with torch.no_grad():
    q_p = soft_assign(encode(x), mu_p)
    p = q_p ** 2 / q_p.sum(0)
    p = p / p.sum(1, keepdim=True)
loss = nn.functional.kl_div(soft_assign(encode(x), params["centroids"]).log(), p, reduction="batchmean")
loss.backward()
np.save(spec["out"], np.concatenate([params[n].grad.numpy().ravel() for n in spec["names"]]))
print(json.dumps(loss.item()))`;

Deno.test({
  name:
    "[webgpu] the DEC loss KL(p‖q) and its gradients (alpha 1 and 2) agree with PyTorch autograd (needs torch)",
  ignore: !gpuAvailable || !torchPython,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    for (const alpha of [1, 2]) {
      const g = await decGrads(alpha);
      const dir = await Deno.makeTempDir();
      const names = [...g.weights.keys()];
      const flat = flatten(g.weights, names);
      await Deno.writeFile(`${dir}/w.npy`, encodeNpy(flat, [flat.length]));
      await Deno.writeFile(`${dir}/x.npy`, encodeNpy(g.x, [DEC_BATCH, ...DEC_SHAPE]));
      await Deno.writeFile(`${dir}/mu_p.npy`, encodeNpy(g.muP, [DEC_K, DEC_D]));
      await Deno.writeTextFile(
        `${dir}/spec.json`,
        JSON.stringify({
          names,
          shapes: names.map((n) => g.weights.get(n)!.shape),
          weights: `${dir}/w.npy`,
          x: `${dir}/x.npy`,
          mu_p: `${dir}/mu_p.npy`,
          out: `${dir}/grads.npy`,
          alpha,
        }),
      );
      const loss = JSON.parse(await runPython(torchPython!, TORCH_DEC, `${dir}/spec.json`));
      const tg = (await readNpyFile(`${dir}/grads.npy`)).data as Float32Array;
      const tag = `alpha ${alpha}`;
      // The KL is about 0.1 here, not a difference of nearly equal numbers. Measured 2.5e-7
      // apart (relative) at most; allowed rtol 2e-6.
      assert(loss > 0.01, `${tag}: KL ${loss} is too small to compare`);
      close([g.loss], [loss], 0, `${tag}: KL against PyTorch`, 2e-6);
      let off = 0;
      for (const n of names) {
        const mine = g.grads.get(n)!, theirs = tg.subarray(off, off + mine.length);
        off += mine.length;
        // Gradients through 6 layers in f32, summed in other orders. Measured: at most 5.4e-7
        // of the tensor's largest entry (torch 2.13, llvmpipe); allowed 5e-6 of it.
        const big = Math.max(...theirs.map(Math.abs));
        assert(big > 0, `${tag}: ${n} has no gradient in PyTorch`);
        if (Deno.env.get("SEISDEC_TOL_DEBUG")) {
          let worst = 0;
          mine.forEach((v, i) => worst = Math.max(worst, Math.abs(v - theirs[i]) / big));
          console.log(`${tag} ${n}: largest |grad| ${big}, worst diff / largest ${worst}`);
        }
        close(mine, theirs, 5e-6 * big, `${tag}: dKL/d${n} against PyTorch`);
      }
      await Deno.remove(dir, { recursive: true });
    }
  },
});

gpuTest(
  "1,000 optimizer steps: pool counters constant after warm-up, one submit per step",
  async () => {
    const rt = await webgpu();
    const set = new ParameterSet([
      { name: "0.weight", shape: [8, 16], init: Float32Array.from(rand(128, 6000, -0.25, 0.25)) },
      { name: "0.bias", shape: [8], init: new Float32Array(8) },
      { name: "1.weight", shape: [16, 8], init: Float32Array.from(rand(128, 6001, -0.35, 0.35)) },
      { name: "1.bias", shape: [16], init: new Float32Array(16) },
    ], "webgpu");
    const p = (n: string) => set.byName.get(n)!;
    const opt = new Adam(set, { lr: 1e-2 });
    const x = Tensor.fromArray(Float32Array.from(rand(4 * 16, 6002)), [4, 16], "webgpu");
    const step = () =>
      tidy(() => {
        set.zeroGrad();
        const h = ops.linear(x, p("0.weight"), p("0.bias"), 0.02);
        const l = ops.mseLoss(ops.linear(h, p("1.weight"), p("1.bias")), x);
        l.backward();
        opt.update();
        return l;
      });
    const TOTAL = 1000, WARMUP = 10;
    let first = NaN, last = NaN;
    let warm = rt.pool.stats(), stats0 = rt.stats();
    for (let s = 0; s < TOTAL; s++) {
      if (s === WARMUP) {
        warm = rt.pool.stats();
        stats0 = rt.stats();
      }
      const loss = step();
      if (s % 100 === 0 || s === TOTAL - 1) {
        // A read-back submits the step's work (one submit) and waits.
        const v = await loss.item();
        if (s === 0) first = v;
        last = v;
      } else {
        rt.submit();
      }
      loss.dispose();
    }
    const end = rt.pool.stats(), stats1 = rt.stats();
    assertEquals(end.liveBuffers, warm.liveBuffers, "live buffers after warm-up vs at the end");
    assertEquals(end.liveBytes, warm.liveBytes, "live bytes after warm-up vs at the end");
    assertEquals(end.created, warm.created, "no buffer created after warm-up (all reused)");
    assertEquals(stats1.submits - stats0.submits, TOTAL - WARMUP, "one submit per step");
    assertEquals(stats1.pipelines, stats0.pipelines, "no pipeline compiled while training");
    assert(last < 0.5 * first, `the small autoencoder learns: loss ${first} → ${last}`);
    x.dispose();
    opt.dispose();
    set.dispose();
  },
);
