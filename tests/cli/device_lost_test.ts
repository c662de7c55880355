/**
 * A long CLI run whose WebGPU device is lost (destroy() here, as a driver reset, a watchdog
 * timeout or running out of GPU memory would on a real GPU) stops with one line naming the
 * loss, its last checkpoint and the flag that continues from it; the resumed run, in the same
 * process on a new device, ends with the weights of an uninterrupted run. One that runs out of
 * GPU memory says what to lower.
 */
import { join } from "node:path";
import { run } from "./_run.ts";
import { loadWeights } from "../../lib/io/checkpoint.ts";
import { encodeNpy } from "../../lib/io/npy.ts";
import { gpuRuntime, gpuTuning } from "../../lib/tensor/backends.ts";
import { tuningValue } from "../../lib/gpu/kernels.ts";
import { assert, assertEquals } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";

/**
 * Loses the process-wide WebGPU device at the first submit for which `when()` holds (once),
 * until the returned function puts WebGPU's submit back.
 */
function loseDeviceWhen(when: () => boolean): () => void {
  const submit = GPUQueue.prototype.submit;
  let armed = true;
  GPUQueue.prototype.submit = function (this: GPUQueue, buffers: GPUCommandBuffer[]) {
    if (armed && when()) {
      armed = false;
      gpuRuntime()!.device.destroy();
    }
    return submit.call(this, buffers);
  };
  return () => {
    GPUQueue.prototype.submit = submit;
  };
}

/** A number field of a checkpoint's state.json, or -1 while there is none. */
function stateField(ckDir: string, field: string): number {
  try {
    return JSON.parse(Deno.readTextFileSync(join(ckDir, "state.json")))[field];
  } catch {
    return -1;
  }
}

/** Every tensor of two safetensors files, compared exactly. */
async function assertSameWeights(a: string, b: string): Promise<void> {
  const [wa, wb] = [(await loadWeights(a)).weights, (await loadWeights(b)).weights];
  assertEquals([...wa.keys()], [...wb.keys()]);
  for (const [k, v] of wa) assertEquals(v.data, wb.get(k)!.data, `${k} of ${a} and ${b}`);
}

const LOST = "error: Cannot finish {cmd}: the WebGPU device was lost (destroyed: device was " +
  "lost), as a driver reset, a GPU watchdog timeout (TDR) or running out of GPU memory does: ";

gpuTest(
  "cli: pretrain and finetune that lose the device say where the checkpoint is, and --resume ends as an uninterrupted run",
  async () => {
    const root = await Deno.makeTempDir();
    const p = (s: string) => join(root, s);
    const n = 24;
    const x = Float32Array.from({ length: n * 120 }, (_, i) => 0.5 + 0.4 * Math.sin(i * 0.37));
    await Deno.writeFile(p("x.npy"), encodeNpy(x, [n, 1, 12, 10]));
    assertEquals((await run("import", p("x.npy"), "--out", p("ds"), "--quiet")).code, 0);
    const ok = async (...args: string[]) => {
      const r = await run(...args, "--quiet");
      assertEquals(r.code, 0, `${args.join(" ")} failed: ${r.err.join("\n")}`);
    };
    /** Runs a command that loses the device when `when()` holds: its one error line. */
    const lose = async (when: () => boolean, ...args: string[]) => {
      const restore = loseDeviceWhen(when);
      let r;
      try {
        r = await run(...args, "--quiet");
      } finally {
        restore();
      }
      assertEquals(r.code, 1, r.err.join("\n"));
      const errors = r.err.filter((l) => !l.startsWith("warning: "));
      assertEquals(errors.length, 1, r.err.join("\n")); // one line, no stack
      return errors[0];
    };
    const pre = (m: string, epochs = "3") =>
      ["pretrain", p("ds"), "--model", p(m), "--epochs", epochs, "--batch-size", "8"]
        .concat(["--latent-dim", "3"]);

    // Lost before the first epoch ended: nothing to resume, and the same command starts again.
    const early = await lose(() => true, ...pre("m0", "1"));
    assertEquals(
      early,
      LOST.replace("{cmd}", "pretrain") +
        `no epoch had finished, so there is no checkpoint in ${
          p("m0/checkpoint")
        }: rerun the same command to start again`,
    );
    await ok(...pre("m0", "1"));
    // Lost in a --force run before its first checkpoint: the earlier run's is kept, and said so.
    assertEquals(
      await lose(() => true, ...pre("m0", "1"), "--force"),
      LOST.replace("{cmd}", "pretrain") + `${p("m0/checkpoint")} holds the weights after epoch ` +
        "1 of 1 (the earlier run's, kept; this run had written no checkpoint yet): rerun the " +
        "same command to start over, or add --resume to continue the earlier run, with its settings",
    );

    // Lost after epoch 1 of 3: --resume continues from its checkpoint on a new device.
    await ok(...pre("ref"));
    const ck = p("m/checkpoint");
    const msg = await lose(() => stateField(ck, "epoch") >= 1, ...pre("m"));
    assertEquals(
      msg,
      LOST.replace("{cmd}", "pretrain") + `${ck} holds the weights after epoch 1 of 3: ` +
        "rerun the same command with --resume to continue from there",
    );
    assertEquals(stateField(ck, "epoch"), 1);
    await ok(...pre("m"), "--resume");
    await assertSameWeights(p("m/autoencoder.safetensors"), p("ref/autoencoder.safetensors"));

    // Fine-tuning lost after its check at batch 5 of 15 resumes from finetune_checkpoint/.
    const ft = (m: string) =>
      ["finetune", p("ds"), "--model", p(m), "--max-iter", "15", "--update-interval", "5"]
        .concat(["--batch-size", "8", "--tol", "0"]);
    for (const m of ["ref", "m"]) await ok("init", p("ds"), "--model", p(m), "--k", "2");
    await ok(...ft("ref"));
    const fck = p("m/finetune_checkpoint");
    const fmsg = await lose(() => stateField(fck, "iteration") >= 5, ...ft("m"));
    assertEquals(
      fmsg,
      LOST.replace("{cmd}", "finetune") + `${fck} holds the state after 5 of at most 15 ` +
        "batches: rerun the same command with --resume to continue from there",
    );
    await ok(...ft("m"), "--resume");
    await assertSameWeights(p("m/dec.safetensors"), p("ref/dec.safetensors"));
    assertEquals(
      await Deno.readTextFile(p("m/finetune_log.csv")),
      await Deno.readTextFile(p("ref/finetune_log.csv")),
    );
    assert(!gpuRuntime()!.lost, "the process is left with a working device");
    await Deno.remove(root, { recursive: true });
  },
);

gpuTest(
  "cli: a command that runs out of GPU memory suggests an inferBatch below the one in force",
  async () => {
    const root = await Deno.makeTempDir();
    const p = (s: string) => join(root, s);
    const x = Float32Array.from({ length: 16 * 120 }, (_, i) => 0.5 + 0.4 * Math.sin(i * 0.37));
    await Deno.writeFile(p("x.npy"), encodeNpy(x, [16, 1, 12, 10]));
    assertEquals((await run("import", p("x.npy"), "--out", p("ds"), "--quiet")).code, 0);
    // WebGPU reports the first submit out of memory, as a real GPU whose memory is full does.
    const submit = GPUQueue.prototype.submit;
    let armed = true;
    GPUQueue.prototype.submit = function (this: GPUQueue, buffers: GPUCommandBuffer[]) {
      if (armed) {
        armed = false;
        gpuRuntime()!.device.dispatchEvent(
          new GPUUncapturedErrorEvent("uncapturederror", {
            error: new GPUOutOfMemoryError("full"),
          }),
        );
      }
      return submit.call(this, buffers);
    };
    const args = ["pretrain", p("ds"), "--model", p("m"), "--epochs", "1", "--batch-size", "8"];
    let r;
    try {
      r = await run(...args, "--latent-dim", "3", "--quiet");
    } finally {
      GPUQueue.prototype.submit = submit;
    }
    assertEquals(r.code, 1, r.err.join("\n"));
    const line = r.err.filter((l) => !l.startsWith("warning: ")).join("\n");
    const now = tuningValue(gpuTuning()!, "inferBatch");
    const hint = line.match(/SEISDEC_TUNING='\{"inferBatch":(\d+)\}'/);
    assert(hint, line);
    // The example lowers the passes: the default's own 256 would change nothing.
    assertEquals(Number(hint[1]), Math.floor(now / 2), line);
    await Deno.remove(root, { recursive: true });
  },
);
