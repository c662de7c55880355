/**
 * Batches and the adapter's binding limit (lib/cluster/pretrain.ts): a training batch whose
 * largest activation cannot be bound is refused before any work, naming the batch that fits;
 * inference passes shrink to fit, with the codes that one sample at a time gives.
 */
import { MemoryDataset } from "../../lib/cluster/data.ts";
import {
  checkTrainingBatch,
  encodeAll,
  inferBatchFor,
  pretrain,
  PRETRAIN_DEFAULTS,
} from "../../lib/cluster/pretrain.ts";
import { ConvAutoencoder } from "../../lib/nn/autoencoder.ts";
import { bindingLimit, initBackend, passBatch } from "../../lib/tensor/backends.ts";
import { UserError } from "../../lib/util/errors.ts";
import { Rng } from "../../lib/util/rng.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import { close } from "../gpu/_util.ts";

/** Spectrograms of a long window: 257 frequencies × 400 frames (d4 outputs 8×129×201). */
const LONG: [number, number, number] = [1, 257, 400];

gpuTest(
  "pretrain refuses a batch past the adapter's binding limit, naming the most that fits",
  async () => {
    await initBackend("webgpu");
    const ae = new ConvAutoencoder({ inputShape: LONG });
    const most = ae.maxBatch(bindingLimit("webgpu"));
    assert(Number.isFinite(most) && most >= 1, `${most}`);
    checkTrainingBatch(ae, most, "webgpu", "pretrain"); // fits
    checkTrainingBatch(ae, 10 * most, "cpu", "pretrain"); // no binding limit on the CPU
    // A dataset that must not be read: the batch is refused first.
    const unread = {
      count: most + 1,
      sampleShape: LONG,
      readBatch(): Float32Array {
        throw new Error("read before the batch was checked");
      },
    };
    const dir = await Deno.makeTempDir();
    try {
      const e = await assertRejects(
        () => pretrain(unread, dir, { ...PRETRAIN_DEFAULTS, batchSize: most + 1 }),
        UserError,
        `use --batch-size ${most} or less`,
      );
      assert(e.message.includes(`--batch-size ${most + 1}`), e.message);
      assert(e.message.includes("decoder ConvTranspose2d output (8×129×201"), e.message);
      // A --batch-size past the dataset's size is named as given: the batch is the whole set.
      await assertRejects(
        () => pretrain(unread, dir, { ...PRETRAIN_DEFAULTS, batchSize: 4 * most }),
        UserError,
        `with --batch-size ${4 * most}:`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

gpuTest(
  "inference passes shrink to what the adapter binds, with the codes of single samples",
  async () => {
    await initBackend("webgpu");
    const ae = new ConvAutoencoder({ inputShape: LONG }, 3);
    const most = ae.maxBatch(bindingLimit("webgpu"));
    const per = inferBatchFor(ae, "webgpu");
    assertEquals(per, Math.min(passBatch("webgpu"), most));
    // 128 MiB (WebGPU's default limit, llvmpipe's): 161 samples, not the 256 a pass takes.
    if (bindingLimit("webgpu") === 128 * 2 ** 20) assertEquals(per, 161);
    const n = per + 2, size = LONG[1] * LONG[2];
    const rng = new Rng(5);
    const data = Float32Array.from({ length: n * size }, () => rng.next() - 0.5);
    const ds = new MemoryDataset(data, LONG);
    const set = ae.build("webgpu");
    try {
      const z = await encodeAll(ae, ds, "none", "webgpu");
      const d = ae.config.latentDim;
      assertEquals(z.length, n * d);
      // The first and last sample of the first pass and the last sample, one at a time.
      for (const i of [0, per - 1, n - 1]) {
        const one = new MemoryDataset(data.slice(i * size, (i + 1) * size), LONG);
        const zi = await encodeAll(ae, one, "none", "webgpu", 1);
        close(z.subarray(i * d, (i + 1) * d), zi, 1e-5, `sample ${i}`, 1e-4);
      }
    } finally {
      set.dispose();
    }
  },
);

gpuTest(
  "a model whose one sample does not fit the adapter is refused before any work, saying to use --cpu",
  async () => {
    await initBackend("webgpu");
    // d4 outputs 8 × (H/2 + 1)²: past the adapter's binding limit for one sample.
    const h = 2 * Math.ceil(Math.sqrt(bindingLimit("webgpu") / 32)) + 2;
    const ae = new ConvAutoencoder({ inputShape: [1, h, h] });
    assertEquals(ae.maxBatch(bindingLimit("webgpu")), 0);
    const unread = {
      count: 3,
      sampleShape: [1, h, h] as [number, number, number],
      readBatch(): Float32Array {
        throw new Error("read before the batch was checked");
      },
    };
    const dir = await Deno.makeTempDir();
    try {
      const e = await assertRejects(
        () => pretrain(unread, dir, { ...PRETRAIN_DEFAULTS, batchSize: 1 }),
        UserError,
        "with --batch-size 1: not even one sample fits",
      );
      assert(e.message.includes("run it on the CPU backend (--cpu)"), e.message);
      let err: unknown = null;
      try {
        inferBatchFor(ae, "webgpu");
      } catch (x) {
        err = x;
      }
      assert(err instanceof UserError, String(err));
      assert(
        (err as Error).message.startsWith(
          "Cannot run the model on this adapter: not even one sample fits",
        ) && (err as Error).message.includes("--cpu"),
        (err as Error).message,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
