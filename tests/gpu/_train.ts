/**
 * A short seeded training run of the seed autoencoder under a tuning override, for tests that
 * compare two tunings bit for bit (packed-weight cache, batched split sums) and count the
 * dispatches of a step.
 *
 * @module
 */
import * as K from "../../lib/gpu/kernels.ts";
import type { KernelDef } from "../../lib/gpu/runtime.ts";
import { ConvAutoencoder } from "../../lib/nn/autoencoder.ts";
import { Adam } from "../../lib/optim/optimizers.ts";
import * as ops from "../../lib/tensor/ops.ts";
import { Tensor, tidy } from "../../lib/tensor/tensor.ts";
import { Rng } from "../../lib/util/rng.ts";
import { webgpu } from "./_util.ts";

/** What {@linkcode adamSteps} returns. */
export interface AdamRun {
  /** Loss of each step. */
  losses: number[];
  /** Every parameter after the last step (the flat arena). */
  weights: Float32Array;
  /** Dispatches recorded per step. */
  perStep: number[];
  /** Dispatches per step that `counted` selected. */
  counted: number[];
}

/**
 * Four Adam steps (lr 1e-2) of the seed autoencoder on seeded samples (by default 3 of [1, 29,
 * 23]), with `override` merged over the active tuning (restored afterwards); a submit before
 * and after each step, so a step's dispatches are counted alone.
 *
 * @param override Tuning fields for the run.
 * @param counted Selects the dispatches to count in `counted` (default: none).
 * @param data The sample shape and the batch.
 * @returns losses, final weights and dispatch counts.
 */
export async function adamSteps(
  override: Partial<K.Tuning>,
  counted: (def: KernelDef) => boolean = () => false,
  data: { shape: [number, number, number]; batch: number } = { shape: [1, 29, 23], batch: 3 },
): Promise<AdamRun> {
  const rt = await webgpu();
  const saved = K.activeTuning();
  await K.loadKernels(rt, { ...saved, ...override });
  const dispatch = rt.dispatch;
  let n = 0;
  rt.dispatch = function (def, params, buffers, workgroups) {
    if (counted(def)) n++;
    return dispatch.call(this, def, params, buffers, workgroups);
  };
  try {
    const { shape, batch } = data;
    const ae = new ConvAutoencoder({ inputShape: shape }, 5);
    const set = ae.build("webgpu");
    const opt = new Adam(set, { lr: 1e-2 });
    const rng = new Rng(6);
    const x = Tensor.fromArray(
      Float32Array.from(
        { length: batch * shape[0] * shape[1] * shape[2] },
        () => rng.uniform(0, 1),
      ),
      [batch, ...shape],
      "webgpu",
    );
    const run: AdamRun = { losses: [], weights: new Float32Array(0), perStep: [], counted: [] };
    for (let s = 0; s < 4; s++) {
      rt.submit();
      const before = rt.stats().dispatches;
      n = 0;
      const l = tidy(() => {
        set.zeroGrad();
        const loss = ops.mseLoss(ae.forward(x).recon, x);
        loss.backward();
        opt.update();
        return loss;
      });
      rt.submit();
      run.perStep.push(rt.stats().dispatches - before);
      run.counted.push(n);
      run.losses.push(await l.item());
      l.dispose();
    }
    run.weights = await set.values.data();
    x.dispose();
    opt.dispose();
    set.dispose();
    return run;
  } finally {
    rt.dispatch = dispatch;
    await K.loadKernels(rt, saved);
  }
}
