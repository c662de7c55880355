/** The progress reporting of `cli.ts pretrain` (lib/cli/train.ts), its --channels and betas. */
import { basename, join, relative, resolve } from "node:path";
import { encodeNpy } from "../../lib/io/npy.ts";
import { run } from "./_run.ts";
import {
  finetuneCommand,
  keptOnFullDisk,
  pretrainCommand,
  pretrainProgress,
} from "../../lib/cli/train.ts";
import {
  exists,
  keepCheckpointOnInterrupt,
  loadWeights,
  LOCK_FILE,
  lockModelDir,
} from "../../lib/io/checkpoint.ts";
import { interruptNotes } from "../../lib/util/atomic.ts";
import { UserError } from "../../lib/util/errors.ts";
import type { ProgressOutput } from "../../lib/util/progress.ts";
import { assert, assertEquals } from "../_assert.ts";
import { decodePng } from "../plot/_decode_png.ts";
import { replaySvg } from "../plot/_replay_svg.ts";

/** An output that records each line written, as a pipe does. */
function recorder(): ProgressOutput & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    writeSync(p: Uint8Array) {
      lines.push(new TextDecoder().decode(p).trimEnd());
      return p.length;
    },
    isTerminal: () => false,
  };
}

/**
 * Runs the CLI as {@linkcode run} does, with what it writes to stderr beside console.error (the
 * progress bars, as off a terminal) as lines.
 */
async function runWithBars(...args: string[]) {
  const bars = recorder();
  const { writeSync, isTerminal } = Deno.stderr;
  Object.assign(Deno.stderr, { writeSync: bars.writeSync, isTerminal: bars.isTerminal });
  try {
    return { ...await run(...args), bars: bars.lines };
  } finally {
    Object.assign(Deno.stderr, { writeSync, isTerminal });
  }
}

Deno.test("pretrain's epoch bar counts every step from the first, and its total time and rate include the first step", () => {
  let t = 0;
  const out = recorder();
  const hooks = pretrainProgress(2, null, { now: () => t, output: out });
  for (const epoch of [1, 2]) {
    t = (epoch - 1) * 10_000;
    hooks.onEpochStart!(epoch, 4);
    // The first step carries the start-up (2 s); the other three take 0.1 s each.
    for (const [step, at] of [[1, 2000], [2, 2100], [3, 2200], [4, 2300]]) {
      t = (epoch - 1) * 10_000 + at;
      hooks.onStep!(step, 4, 0.5);
    }
    hooks.onEpoch!({ epoch, trainLoss: 0.5, valLoss: null, seconds: 2.3, samplesPerSec: 7 });
  }
  const counts = out.lines.map((l) => /(\d+)\/4/.exec(l)?.[1]);
  // Per epoch: one line per step off a terminal (each is a new tenth of 4), then the final one.
  assertEquals(counts, ["1", "2", "3", "4", "4", "1", "2", "3", "4", "4"]);
  // 4 steps in 2.3 s (the bar made after the first step said 13/s over 0.3 s).
  for (const i of [4, 9]) {
    assert(out.lines[i].includes("4/4 1.74/s 2.3s total"), out.lines[i]);
  }
  assert(out.lines[9].endsWith("epoch 2/2 train 5.000e-1 7.0 samples/s"), out.lines[9]);
});

Deno.test("pretrain's bar in an epoch resumed from a checkpoint inside it counts the steps left to the run, as finetune's does", () => {
  const out = recorder();
  const hooks = pretrainProgress(3, null, { now: () => 0, output: out });
  // Epoch 2 of 5 steps, resumed after its step 2: steps 3 to 5 are run.
  hooks.onEpochStart!(2, 5, 2);
  for (const step of [3, 4, 5]) hooks.onStep!(step, 5, 0.5);
  hooks.onEpoch!({ epoch: 2, trainLoss: 0.5, valLoss: null, seconds: 1, samplesPerSec: 7 });
  // Before, 3/5: an epoch ended as if two of its steps were skipped, its ETA two steps long.
  assertEquals(out.lines.map((l) => /(\d+)\/(\d+)/.exec(l)?.[0]), ["1/3", "2/3", "3/3", "3/3"]);
});

Deno.test("pretrainProgress says its warning once, after the first step and before the bar's first line", () => {
  const errs: string[] = [];
  const out = recorder();
  const { error } = console;
  console.error = (...a: unknown[]) => errs.push(`${out.lines.length} lines: ${a.join(" ")}`);
  try {
    const hooks = pretrainProgress(2, "only 8 Adam steps", { output: out });
    // A run that fails in its first step says only its error.
    hooks.onEpochStart!(1, 4);
    assertEquals(errs, []);
    for (const epoch of [1, 2]) {
      if (epoch === 2) hooks.onEpochStart!(2, 4);
      for (const step of [1, 2, 3, 4]) hooks.onStep!(step, 4, 0.5);
    }
  } finally {
    console.error = error;
  }
  assertEquals(errs, ["0 lines: warning: only 8 Adam steps"]);
});

Deno.test("keptOnFullDisk keeps a training run's checkpoint note where a write was refused (the CLI's error names it), and ends it otherwise", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ck = `${dir}/checkpoint`;
    await Deno.mkdir(ck);
    await Deno.writeTextFile(`${ck}/state.json`, JSON.stringify({ epoch: 1 }));
    const full = Object.assign(new Error("No space left on device (os error 28)"), {
      code: "ENOSPC",
    });
    const cases: [Promise<unknown>, boolean][] = [
      [Promise.reject(new UserError("Cannot write m/checkpoint", { cause: full })), true],
      [Promise.reject(new UserError("Cannot pretrain: loss became NaN")), false],
      [Promise.resolve(3), false],
    ];
    for (const [run, kept] of cases) {
      keepCheckpointOnInterrupt(ck, (st) => `epoch ${st.epoch} of 3 done`);
      await keptOnFullDisk(ck, run).catch(() => {});
      assertEquals(
        interruptNotes(),
        kept
          ? [`kept ${ck}: epoch 1 of 3 done; run the same command with --resume to continue`]
          : [],
      );
      keepCheckpointOnInterrupt(ck, null);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pretrain --channels builds that encoder (the decoder mirrors it), recorded in model.json; a bad list exits 2 naming the flag", async () => {
  const root = await Deno.makeTempDir();
  const p = (s: string) => join(root, s);
  try {
    const x = Float32Array.from({ length: 8 * 120 }, (_, i) => Math.sin(0.3 * i));
    await Deno.writeFile(p("x.npy"), encodeNpy(x, [8, 1, 12, 10]));
    assertEquals((await run("import", p("x.npy"), "--out", p("ds"), "--quiet")).code, 0);
    // The dataset given relative to the working directory: model.json records it absolute.
    const rel = relative(Deno.cwd(), p("ds"));
    const pre = [rel, "--model", p("m"), "--cpu", "--epochs", "1", "--batch-size", "4"];
    const r = await run("pretrain", ...pre, "--channels", "4,6,8", "--quiet");
    assertEquals(r.code, 0, r.err.join("\n"));
    const info = JSON.parse(await Deno.readTextFile(p("m/model.json")));
    assertEquals([info.autoencoder.channels, info.pretrain.channels], [[4, 6, 8], [4, 6, 8]]);
    assertEquals(info.dataset, resolve(p("ds")));
    for (const list of ["4,x", "4,,8", "0x10", "4,1e1", "4,0"]) {
      const bad = await run("pretrain", ...pre, "--channels", list, "--force");
      assertEquals([bad.code, bad.err], [2, [
        "error: Cannot read --channels: expected positive integers separated by commas, such as " +
        `8,16,32,64,128: found '${list}'`,
      ]]);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("pretrain --beta1 or --beta2 replaces its half of a --config file's betas and keeps the file's other", async () => {
  await withTwelve(async (p, ok) => {
    await Deno.writeTextFile(
      p("config.json"),
      JSON.stringify({ pretrain: { betas: [0.8, 0.95] } }),
    );
    const pre = ["pretrain", p("ds"), "--model", p("m"), "--epochs", "1", "--latent-dim", "3"];
    const betas = async () => JSON.parse(await Deno.readTextFile(p("m/model.json"))).pretrain.betas;
    await ok(...pre, "--config", p("config.json"), "--beta1", "0.7");
    assertEquals(await betas(), [0.7, 0.95]);
    await ok(...pre, "--config", p("config.json"), "--beta2", "0.9", "--force");
    assertEquals(await betas(), [0.8, 0.9]);
    // Without a file, the defaults'.
    await ok(...pre, "--beta1", "0.7", "--force");
    assertEquals(await betas(), [0.7, 0.999]);
  });
});

Deno.test("pretrain --svg and init --svg write learning_curve.svg and k_selection.svg, which a run without --svg removes as stale", async () => {
  await withTwelve(async (p, ok) => {
    const pre = ["pretrain", p("ds"), "--model", p("m"), "--epochs", "2", "--batch-size", "4"];
    await ok(...pre, "--latent-dim", "3", "--svg");
    const init = ["init", p("ds"), "--model", p("m"), "--k", "2:3", "--n-init", "2"];
    await ok(...init, "--svg");
    for (const f of ["learning_curve", "k_selection"]) {
      const png = decodePng(await Deno.readFile(p(`m/${f}.png`)));
      const { canvas } = replaySvg(await Deno.readTextFile(p(`m/${f}.svg`)));
      assert(canvas.rgba.every((v, i) => v === png.rgba[i]), `${f}.svg draws ${f}.png`);
    }
    // Again without --svg: an SVG left from before would no longer match its PNG.
    await ok(...init, "--force");
    assert(await exists(p("m/k_selection.png")) && !(await exists(p("m/k_selection.svg"))));
    await ok(...pre, "--latent-dim", "3", "--force");
    assert(
      await exists(p("m/learning_curve.png")) && !(await exists(p("m/learning_curve.svg"))),
    );
  });
});

Deno.test("init --force takes the earlier k selection away as its new centres take their place, so a stop between them and the new selection leaves none of the old beside them", async () => {
  await withTwelve(async (p, ok) => {
    const pre = ["pretrain", p("ds"), "--model", p("m"), "--epochs", "1", "--latent-dim", "3"];
    await ok(...pre);
    const init = ["init", p("ds"), "--model", p("m"), "--k", "2:3", "--n-init", "2"];
    await ok(...init, "--svg");
    const files = ["k_selection.csv", "k_selection.png", "k_selection.svg"];
    for (const f of files) assert(await exists(p(`m/${f}`)), `${f} missing before the test`);
    // What is beside the new centres the moment their rename is made.
    let beside: string[] | null = null;
    const { renameSync } = Deno;
    const there = (f: string) => {
      try {
        return Deno.lstatSync(p(`m/${f}`)).isFile;
      } catch {
        return false;
      }
    };
    Deno.renameSync = (from, to) => {
      renameSync(from, to);
      if (String(to) === p("m/centroids.safetensors")) {
        beside = files.filter(there);
      }
    };
    try {
      await ok(...init, "--force");
    } finally {
      Deno.renameSync = renameSync;
    }
    assertEquals(beside, []);
    // The new selection, written after them (no --svg: no SVG).
    assert(await exists(p("m/k_selection.png")) && !(await exists(p("m/k_selection.svg"))));
  });
});

Deno.test("init warns when the latent codes take fewer distinct values than k", async () => {
  const root = await Deno.makeTempDir();
  const p = (s: string) => join(root, s);
  try {
    // Twelve copies of one sample: one code, whatever the encoder.
    const one = Float32Array.from({ length: 120 }, (_, i) => Math.sin(0.3 * i));
    const x = new Float32Array(12 * 120).map((_, i) => one[i % 120]);
    await Deno.writeFile(p("x.npy"), encodeNpy(x, [12, 1, 12, 10]));
    assertEquals((await run("import", p("x.npy"), "--out", p("ds"), "--quiet")).code, 0);
    const pre = await run(
      "pretrain",
      p("ds"),
      "--model",
      p("m"),
      "--cpu",
      "--epochs",
      "1",
      "--latent-dim",
      "3",
      "--quiet",
    );
    assertEquals(pre.code, 0, pre.err.join("\n"));
    const r = await run("init", p("ds"), "--model", p("m"), "--k", "3", "--cpu", "--quiet");
    assertEquals(r.code, 0, r.err.join("\n"));
    assert(
      r.err.some((l) =>
        l.startsWith(
          "warning: the 12 samples' latent codes take only 1 distinct value, fewer than k = 3:",
        )
      ),
      r.err.join("\n"),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("finetune warns that --target batch with batches of one sample cannot train", async () => {
  await withTwelve(async (p, ok) => {
    await ok("pretrain", p("ds"), "--model", p("m"), "--epochs", "1", "--latent-dim", "3");
    await ok("init", p("ds"), "--model", p("m"), "--k", "2", "--n-init", "2");
    const ft = ["finetune", p("ds"), "--model", p("m"), "--max-iter", "2", "--min-iter", "1"];
    const one = await ok(...ft, "--target", "batch", "--batch-size", "1");
    const warned = (r: { err: string[] }) =>
      r.err.some((l) => l.startsWith("warning: with --target batch a batch of 1 sample makes"));
    assert(warned(one), one.err.join("\n"));
    assert(one.err.some((l) => l.includes("and DEC does not train")), one.err.join("\n"));
    // IDEC: the clustering does not train either, the reconstruction term alone does.
    const idec = await ok(
      ...ft,
      "--target",
      "batch",
      "--batch-size",
      "1",
      "--mode",
      "idec",
      "--force",
    );
    assert(
      warned(idec) && idec.err.some((l) => l.includes("IDEC's reconstruction term alone")),
      idec.err.join("\n"),
    );
    // Batches of two, or the dataset's target, train: no warning.
    assert(!warned(await ok(...ft, "--target", "batch", "--batch-size", "2", "--force")));
    assert(!warned(await ok(...ft, "--batch-size", "1", "--force")));
    // One batch is a batch, not "1 batches".
    const each = await run(...ft, "--update-interval", "1", "--max-iter", "1", "--force", "--cpu");
    assertEquals(each.code, 0, each.err.join("\n"));
    assert(
      each.err.includes("finetune: labels checked and target p updated every batch"),
      each.err.join("\n"),
    );
    assert(
      each.out.at(-1)!.includes(" after 1 batch; weights in "),
      each.out.join("\n"),
    );
  });
});

Deno.test("pretrain's epoch line gives the validation loss where there is one", () => {
  const out = recorder();
  const hooks = pretrainProgress(1, null, { now: () => 0, output: out });
  hooks.onEpochStart!(1, 1);
  hooks.onStep!(1, 1, 0.5);
  hooks.onEpoch!({ epoch: 1, trainLoss: 0.5, valLoss: 0.25, seconds: 1, samplesPerSec: 7 });
  assert(out.lines.at(-1)!.endsWith("epoch 1/1 train 5.000e-1 val 2.500e-1 7.0 samples/s"));
});

Deno.test("a training command refused its model directory names --model in its advice", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = join(dir, "m"), file = join(dir, "notadir");
    await Deno.writeTextFile(file, "");
    const release = await lockModelDir(m, "pretrain ds --model m");
    const since = new Date(JSON.parse(await Deno.readTextFile(join(m, LOCK_FILE))).started);
    try {
      const held = await run("init", join(dir, "ds"), "--model", m, "--k", "2", "--cpu", "--quiet");
      assertEquals([held.code, held.err], [2, [
        `error: Cannot write model directory ${m}: process ${Deno.pid} (pretrain ds --model m) ` +
        `is writing it, since ${since.toISOString()}: wait for it to finish or stop it, or ` +
        "choose another --model directory",
      ]]);
    } finally {
      await release();
    }
    const onFile = await run("pretrain", join(dir, "ds"), "--model", file, "--cpu", "--quiet");
    assertEquals([onFile.code, onFile.err], [2, [
      `error: Cannot use ${file} as the model directory: it is a file, not a directory: give ` +
      "--model a directory (it is made if missing)",
    ]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Every file under a directory, by its path there, with its SHA-256: its state byte for byte. */
async function snapshot(dir: string, under = ""): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(join(dir, under))) {
    const rel = join(under, e.name);
    if (e.isDirectory) Object.assign(out, await snapshot(dir, rel));
    else {
      const h = await crypto.subtle.digest("SHA-256", await Deno.readFile(join(dir, rel)));
      out[rel] = Array.from(new Uint8Array(h), (b) => b.toString(16).padStart(2, "0")).join("");
    }
  }
  return out;
}

/** The names in a model directory that a checkpoint's replacement leaves where it fails. */
async function leftovers(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).filter((n) =>
    n.includes("checkpoint.")
  );
}

Deno.test("pretrain --force keeps the old checkpoint until its own first replaces it: a run that fails before leaves the model directory byte for byte, which --resume continues; one that finishes leaves only its own", async () => {
  await withTwelve(async (p, ok) => {
    const pre = ["pretrain", p("ds"), "--model", p("m"), "--latent-dim", "3"];
    await ok(...pre, "--epochs", "1");
    // The first epoch's record marked: a run started over measures its time anew.
    const st = p("m/checkpoint/state.json");
    const state = JSON.parse(await Deno.readTextFile(st));
    state.history[0].seconds = 1234.5;
    await Deno.writeTextFile(st, JSON.stringify(state));
    const before = await snapshot(p("m"));
    // A NaN in sample 5 (edited after import): the new run fails at its first batch.
    const good = await Deno.readFile(p("ds/spectrograms.npy"));
    const npy = good.slice();
    const body = npy.length - 12 * 120 * 4;
    new DataView(npy.buffer).setFloat32(body + 5 * 120 * 4, NaN, true);
    await Deno.writeFile(p("ds/spectrograms.npy"), npy);
    const r = await run(...pre, "--epochs", "1", "--force", "--cpu", "--quiet");
    assertEquals(r.code, 2, r.err.join("\n"));
    assert(
      r.err.at(-1)!.endsWith(`; the earlier run's ${p("m/checkpoint")} is kept as it was`),
      r.err.at(-1),
    );
    assertEquals(await snapshot(p("m")), before);
    // --resume continues the earlier run: its first epoch's record kept, a second added.
    await Deno.writeFile(p("ds/spectrograms.npy"), good);
    await ok(...pre, "--epochs", "2", "--resume");
    const resumed = JSON.parse(await Deno.readTextFile(st));
    assertEquals(resumed.history.map((h: { seconds: number }) => h.seconds)[0], 1234.5);
    assertEquals(resumed.history.length, 2);
    // A forced run that finishes: its own checkpoint alone, nothing of the earlier one's beside.
    await ok(...pre, "--epochs", "1", "--force");
    const fresh = JSON.parse(await Deno.readTextFile(st));
    assertEquals([fresh.epoch, fresh.history.length], [1, 1]);
    assert(fresh.history[0].seconds !== 1234.5, "the earlier run's record outlived --force");
    assertEquals(await leftovers(p("m")), []);
    assertEquals(
      (await Array.fromAsync(Deno.readDir(p("m/checkpoint")))).map((e) => e.name).sort(),
      ["adam.safetensors", "state.json", "weights.safetensors"],
    );
  });
});

Deno.test("init --force and pretrain --force whose new weights cannot be written (a full disk) leave the outputs those weights would make stale", async () => {
  await withTwelve(async (p, ok) => {
    const m = p("m");
    await ok("pretrain", p("ds"), "--model", m, "--epochs", "1", "--latent-dim", "3");
    await ok("init", p("ds"), "--model", m, "--k", "2,3", "--n-init", "2");
    await ok("finetune", p("ds"), "--model", m, "--max-iter", "2");
    // The model directory's files (checkpoint/ and finetune_checkpoint/ aside), by name.
    const files = async () => {
      const out: Record<string, Uint8Array> = {};
      for await (const e of Deno.readDir(m)) {
        if (e.isFile) out[e.name] = await Deno.readFile(join(m, e.name));
      }
      return out;
    };
    const before = await files();
    for (const f of ["dec.safetensors", "finetune_log.csv", "k_selection.csv"]) {
      assert(f in before, `${f} missing before the test`);
    }
    const { openSync } = Deno;
    // The disk fills as the new weights' temporary is written.
    const fullAt = (name: string) => {
      Deno.openSync = (path, options) => {
        if (basename(String(path)).startsWith(`.${name}.`)) {
          throw Object.assign(new Error("No space left on device (os error 28)"), {
            code: "ENOSPC",
          });
        }
        return openSync(path, options);
      };
    };
    try {
      fullAt("centroids.safetensors");
      const init = await run("init", p("ds"), "--model", m, "--k", "3", "--n-init", "2", "--force");
      assertEquals(init.code, 2, init.err.join("\n"));
      assertEquals(await files(), before, "init --force lost outputs to a write that failed");
      fullAt("autoencoder.safetensors");
      const pre = ["pretrain", p("ds"), "--model", m, "--epochs", "1", "--latent-dim", "3"];
      const again = await run(...pre, "--seed", "7", "--force", "--cpu", "--quiet");
      assertEquals(again.code, 2, again.err.join("\n"));
      // Its learning curve and log, written as it trains, are its own; the rest is as it was.
      const after = await files();
      for (const own of ["learning_curve.png", "learning_curve.csv"]) delete after[own];
      for (const own of ["learning_curve.png", "learning_curve.csv"]) delete before[own];
      assertEquals(after, before, "pretrain --force lost outputs to a write that failed");
    } finally {
      Deno.openSync = openSync;
    }
  });
});

Deno.test("pretrain --force whose first checkpoint cannot be written (a full disk) names the earlier run's checkpoint kept once, in the note of the refused write", async () => {
  await withTwelve(async (p, ok) => {
    const pre = ["pretrain", p("ds"), "--model", p("m"), "--epochs", "1", "--latent-dim", "3"];
    await ok(...pre);
    const { mkdirSync } = Deno;
    Deno.mkdirSync = (path, options) => {
      if (basename(String(path)).startsWith(".checkpoint.")) {
        throw Object.assign(new Error("No space left on device (os error 28)"), {
          code: "ENOSPC",
        });
      }
      return mkdirSync(path, options);
    };
    let r;
    try {
      r = await run(...pre, "--force", "--cpu", "--quiet");
    } finally {
      Deno.mkdirSync = mkdirSync;
    }
    // The line names this checkpoint's note (after any an earlier test's full disk left
    // registered in this process), and no second word on it.
    const ck = p("m/checkpoint");
    const line = r.err.at(-1)!;
    assertEquals(r.code, 2, r.err.join("\n"));
    assert(
      line.startsWith(
        `error: Cannot write ${ck}: No space left on device (os error 28): free space there, ` +
          "or choose another output path; ",
      ) &&
        line.endsWith(
          `; kept ${ck}: the earlier run's, epoch 1 of 1 done (this run had written no ` +
            "checkpoint yet): rerun the same command to start over, or add --resume to continue " +
            "the earlier run, with its settings",
        ) && line.split(ck).length === 3,
      line,
    );
  });
});

Deno.test("init --force and pretrain --force whose new weights cannot take their place (a directory there, a rename that fails) leave the outputs those weights would make stale byte for byte", async () => {
  await withTwelve(async (p, ok) => {
    const m = p("m");
    await ok("pretrain", p("ds"), "--model", m, "--epochs", "1", "--latent-dim", "3");
    await ok("init", p("ds"), "--model", m, "--k", "2,3", "--n-init", "2");
    await ok("finetune", p("ds"), "--model", m, "--max-iter", "2");
    // A directory where the new centres go: their rename fails.
    await Deno.rename(p("m/centroids.safetensors"), p("centroids.safetensors"));
    await Deno.mkdir(p("m/centroids.safetensors/in"), { recursive: true });
    const before = await snapshot(m);
    for (const f of ["dec.safetensors", "finetune_log.csv", "k_selection.csv", "model.json"]) {
      assert(f in before, `${f} missing before the test`);
    }
    const init = await run("init", p("ds"), "--model", m, "--k", "3", "--n-init", "2", "--force");
    assertEquals(init.code, 2, init.err.join("\n"));
    assertEquals(await snapshot(m), before, "init --force lost outputs to a rename that failed");
    assertEquals(
      (await Array.fromAsync(Deno.readDir(m))).filter((e) => e.name.startsWith(".")),
      [],
    );
    await Deno.remove(p("m/centroids.safetensors"), { recursive: true });
    await Deno.rename(p("centroids.safetensors"), p("m/centroids.safetensors"));
    // The new encoder weights' rename fails as onto a directory (a real one there fails
    // pretrain before, as it reads the old weights).
    const before2 = await snapshot(m);
    const { renameSync } = Deno;
    Deno.renameSync = (from, to) => {
      if (basename(String(from)).startsWith(".autoencoder.safetensors.")) {
        throw new Deno.errors.IsADirectory(`Is a directory (os error 21): rename ${to}`);
      }
      renameSync(from, to);
    };
    try {
      const pre = ["pretrain", p("ds"), "--model", m, "--epochs", "1", "--latent-dim", "3"];
      const again = await run(...pre, "--seed", "7", "--force", "--cpu", "--quiet");
      assertEquals(again.code, 2, again.err.join("\n"));
    } finally {
      Deno.renameSync = renameSync;
    }
    // Its learning curve and checkpoint, written as it trains, are its own; the rest is as it
    // was.
    const after = await snapshot(m);
    for (const snap of [after, before2]) {
      for (const own of Object.keys(snap)) {
        if (own.startsWith("learning_curve.") || own.startsWith("checkpoint/")) delete snap[own];
      }
    }
    assertEquals(after, before2, "pretrain --force lost outputs to a rename that failed");
    assertEquals(
      (await Array.fromAsync(Deno.readDir(m))).filter((e) => e.name.startsWith(".")),
      [],
    );
  });
});

Deno.test("finetune --force keeps the old checkpoint until its own first replaces it: a run that fails before leaves the model directory byte for byte, which --resume continues; one that finishes leaves only its own", async () => {
  await withTwelve(async (p, ok) => {
    const m = p("m");
    await ok("pretrain", p("ds"), "--model", m, "--epochs", "1", "--latent-dim", "3");
    await ok("init", p("ds"), "--model", m, "--k", "2", "--n-init", "2");
    const ft = ["finetune", p("ds"), "--model", m, "--batch-size", "4", "--update-interval", "2"];
    await ok(...ft, "--max-iter", "2");
    const before = await snapshot(m);
    // A learning rate that makes the weights infinite: the new run fails before its first
    // label check, and so before its first checkpoint.
    const r = await run(...ft, "--max-iter", "4", "--lr", "1e308", "--force", "--cpu", "--quiet");
    assertEquals(r.code, 2, r.err.join("\n"));
    assert(
      r.err.at(-1)!.endsWith(`; the earlier run's ${p("m/finetune_checkpoint")} is kept as it was`),
      r.err.at(-1),
    );
    assertEquals(await snapshot(m), before);
    const st = p("m/finetune_checkpoint/state.json");
    const iteration = async () => JSON.parse(await Deno.readTextFile(st)).iteration;
    // --resume continues the earlier run.
    const resumed = await run(...ft, "--max-iter", "4", "--resume", "--cpu");
    assertEquals(resumed.code, 0, resumed.err.join("\n"));
    assert(resumed.err.includes("finetune: resuming at iteration 2"), resumed.err.join("\n"));
    assertEquals(await iteration(), 4);
    // A forced run that finishes: its own checkpoint alone.
    await ok(...ft, "--max-iter", "2", "--force");
    assertEquals(await iteration(), 2);
    assertEquals(await leftovers(m), []);
  });
});

Deno.test("Ctrl-C's note in finetune --force names the earlier run's checkpoint, until this run's first replaces it, as one to start over from or continue with --resume, and then this run's as the one --resume continues", async () => {
  await withTwelve(async (p, ok) => {
    const m = p("m");
    await ok("pretrain", p("ds"), "--model", m, "--epochs", "1", "--latent-dim", "3");
    await ok("init", p("ds"), "--model", m, "--k", "2", "--n-init", "2");
    const ft = ["finetune", p("ds"), "--model", m, "--batch-size", "4", "--update-interval", "2"];
    await ok(...ft, "--max-iter", "2");
    // What Ctrl-C would say of this checkpoint at each rename of the forced run (its
    // checkpoints' among them), but between the two renames of a checkpoint's swap, which run
    // back to back. (An earlier test's full disk leaves its own note registered.)
    const ck = p("m/finetune_checkpoint");
    const seen: string[] = [];
    const note = () => {
      for (const n of interruptNotes()) if (n.includes(ck) && !seen.includes(n)) seen.push(n);
    };
    const { rename, renameSync } = Deno;
    Deno.rename = (from, to) => (note(), rename(from, to));
    Deno.renameSync = (from, to) => {
      if (!basename(String(from)).startsWith(".finetune_checkpoint.")) note();
      renameSync(from, to);
    };
    try {
      await ok(...ft, "--max-iter", "4", "--force");
    } finally {
      Object.assign(Deno, { rename, renameSync });
    }
    assertEquals(seen, [
      `kept ${ck}: the earlier run's, iteration 2 of at most 2 (this run had written no ` +
      "checkpoint yet): rerun the same command to start over, or add --resume to continue the " +
      "earlier run, with its settings",
      `kept ${ck}: iteration 2 of at most 4; run the same command with --resume to continue`,
      `kept ${ck}: iteration 4 of at most 4; run the same command with --resume to continue`,
    ]);
    // --resume --force continues that checkpoint: it is this run's from the start.
    seen.length = 0;
    Deno.rename = (from, to) => (note(), rename(from, to));
    Deno.renameSync = (from, to) => {
      if (!basename(String(from)).startsWith(".finetune_checkpoint.")) note();
      renameSync(from, to);
    };
    try {
      await ok(...ft, "--max-iter", "6", "--resume", "--force");
    } finally {
      Object.assign(Deno, { rename, renameSync });
    }
    assertEquals(seen, [
      `kept ${ck}: iteration 4 of at most 6; run the same command with --resume to continue`,
      `kept ${ck}: iteration 6 of at most 6; run the same command with --resume to continue`,
    ]);
  });
});

Deno.test("pretrain --resume and init name --force where the model directory holds outputs of the later stages", async () => {
  await withTwelve(async (p, ok) => {
    const m = p("m");
    const pre = ["pretrain", p("ds"), "--model", m, "--epochs", "1", "--latent-dim", "3"];
    await ok(...pre);
    await ok("init", p("ds"), "--model", m, "--k", "2", "--n-init", "2");
    const again = await run(...pre.slice(0, -4), "--epochs", "2", "--resume", "--cpu", "--quiet");
    assertEquals([again.code, again.err], [2, [
      `error: Cannot pretrain into ${m}: it holds centroids.safetensors, made from the current ` +
      "encoder, which new pretraining would make stale: pass --force to replace them (they are " +
      "deleted when the new weights are written; a run stopped before leaves them)",
    ]]);
    await ok("finetune", p("ds"), "--model", m, "--max-iter", "2");
    const init = await run("init", p("ds"), "--model", m, "--k", "2", "--cpu", "--quiet");
    assertEquals([init.code, init.err], [2, [
      `error: Cannot initialise centres in ${m}: it holds dec.safetensors, finetune_checkpoint, ` +
      "finetune_log.csv, fine-tuned from the current centres, which new centres would make " +
      "stale: pass --force to delete them",
    ]]);
  });
});

Deno.test("init takes --k equal to the number of samples, and a --config file's kCriterion applies to candidates, not to a single --k", async () => {
  await withTwelve(async (p, ok) => {
    await ok("pretrain", p("ds"), "--model", p("m"), "--epochs", "1", "--latent-dim", "3");
    const init = ["init", p("ds"), "--model", p("m"), "--n-init", "2"];
    await ok(...init, "--k", "12");
    assertEquals(JSON.parse(await Deno.readTextFile(p("m/model.json"))).init.k, 12);
    await Deno.writeTextFile(p("bic.json"), JSON.stringify({ init: { kCriterion: "bic" } }));
    await ok(...init, "--k", "2", "--config", p("bic.json"));
    assertEquals(JSON.parse(await Deno.readTextFile(p("m/model.json"))).init.k, 2);
    // Candidates it does choose among: BIC needs GMM, from the file as from the flag.
    const bic = await run(...init, "--k", "2:3", "--config", p("bic.json"), "--cpu", "--quiet");
    assertEquals([bic.code, bic.err], [2, [
      "error: Cannot choose k by BIC with k-means: BIC needs --method gmm",
    ]]);
  });
});

Deno.test("init warns of fewer distinct codes than the largest candidate k, and not where they are as many as k", async () => {
  const root = await Deno.makeTempDir();
  const p = (s: string) => join(root, s);
  try {
    // Six copies each of two samples: two codes.
    const x = new Float32Array(12 * 120).map((_, i) =>
      Math.floor(i / 120) % 2 ? Math.sin(0.3 * (i % 120)) : Math.cos(0.7 * (i % 120)) + 1
    );
    await Deno.writeFile(p("x.npy"), encodeNpy(x, [12, 1, 12, 10]));
    assertEquals((await run("import", p("x.npy"), "--out", p("ds"), "--quiet")).code, 0);
    const pre = ["pretrain", p("ds"), "--model", p("m"), "--cpu", "--epochs", "1", "--quiet"];
    assertEquals((await run(...pre, "--latent-dim", "3")).code, 0);
    const init = ["init", p("ds"), "--model", p("m"), "--n-init", "2", "--cpu", "--quiet"];
    const warned = (r: { err: string[] }) =>
      r.err.filter((l) => l.startsWith("warning: the 12 samples' latent codes take only"));
    const two = await run(...init, "--k", "2");
    assertEquals([two.code, warned(two)], [0, []]);
    const range = await run(...init, "--k", "2:3", "--force");
    assertEquals(range.code, 0, range.err.join("\n"));
    assertEquals(warned(range).length, 1, range.err.join("\n"));
    assert(warned(range)[0].includes("take only 2 distinct values, fewer than k = 3:"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("after a lost device, pretrain and finetune name what their checkpoint holds, the epoch under way, or that there is none", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ck = join(dir, "checkpoint"), fck = join(dir, "finetune_checkpoint");
    const advice = (c: typeof pretrainCommand) => c.afterDeviceLoss!({ model: dir }, ["ds"]);
    // A directory without its state.json (not a checkpoint) is none.
    await Deno.mkdir(ck);
    assertEquals(
      await advice(pretrainCommand),
      `no epoch had finished, so there is no checkpoint in ${ck}: rerun the same command to ` +
        "start again",
    );
    await Deno.writeTextFile(
      join(ck, "state.json"),
      JSON.stringify({ epoch: 2, step: 1, config: { epochs: 5 } }),
    );
    assertEquals(
      await advice(pretrainCommand),
      `${ck} holds the weights after epoch 2 of 5 and 1 step of epoch 3: rerun the same ` +
        "command with --resume to continue from there",
    );
    await Deno.mkdir(fck);
    await Deno.writeTextFile(
      join(fck, "state.json"),
      JSON.stringify({ iteration: 40, config: { maxIter: 100 } }),
    );
    assertEquals(
      await advice(finetuneCommand),
      `${fck} holds the state after 40 of at most 100 batches: rerun the same command with ` +
        "--resume to continue from there",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("finetune --resume needs a fine-tuning checkpoint, and says from which iteration it resumes, the first included", async () => {
  await withTwelve(async (p, ok) => {
    const m = p("m");
    await ok("pretrain", p("ds"), "--model", m, "--epochs", "1", "--latent-dim", "3");
    await ok("init", p("ds"), "--model", m, "--k", "2", "--n-init", "2");
    const ft = ["finetune", p("ds"), "--model", m, "--update-interval", "1", "--tol", "0"];
    // (--max-iter 2: were it not refused, it would start afresh and stop soon.)
    const none = await run(...ft, "--max-iter", "2", "--resume", "--cpu", "--quiet");
    assertEquals([none.code, none.err], [2, [
      `error: Cannot resume fine-tuning in ${m}: no finetune_checkpoint/ there: run finetune ` +
      "without --resume",
    ]]);
    await ok(...ft, "--max-iter", "1");
    const again = await runWithBars(...ft, "--max-iter", "3", "--resume", "--cpu");
    assertEquals(again.code, 0, again.err.join("\n"));
    assert(again.err.includes("finetune: resuming at iteration 1"), again.err.join("\n"));
    // The bar counts the iterations left to this run (2/2), not those of --max-iter (2/3).
    assert(/^finetune █+ 2\/2 /.test(again.bars.at(-1)!), again.bars.join("\n"));
  });
});

Deno.test("finetune warns that --target batch cannot train on a dataset of one sample, whatever --batch-size", async () => {
  await withTwelve(async (p, ok) => {
    await ok("pretrain", p("ds"), "--model", p("m"), "--epochs", "1", "--latent-dim", "3");
    await ok("init", p("ds"), "--model", p("m"), "--k", "2", "--n-init", "2");
    // One sample of the same shape: each batch holds it alone, at the default --batch-size 64.
    const x = Float32Array.from({ length: 120 }, (_, i) => Math.sin(0.3 * i));
    await Deno.writeFile(p("one.npy"), encodeNpy(x, [1, 1, 12, 10]));
    assertEquals((await run("import", p("one.npy"), "--out", p("one"), "--quiet")).code, 0);
    const r = await ok(
      "finetune",
      p("one"),
      "--model",
      p("m"),
      "--target",
      "batch",
      "--max-iter",
      "1",
    );
    assert(
      r.err.some((l) => l.startsWith("warning: with --target batch a batch of 1 sample makes")),
      r.err.join("\n"),
    );
  });
});

Deno.test("finetune refuses a dataset of another scaling before it says how often it checks the labels", async () => {
  await withTwelve(async (p, ok) => {
    await ok("pretrain", p("ds"), "--model", p("m"), "--epochs", "1", "--latent-dim", "3");
    await ok("init", p("ds"), "--model", p("m"), "--k", "2", "--n-init", "2");
    await Deno.mkdir(p("db"));
    for (const f of Deno.readDirSync(p("ds"))) {
      await Deno.copyFile(p(`ds/${f.name}`), p(`db/${f.name}`));
    }
    const meta = JSON.parse(await Deno.readTextFile(p("db/meta.json")));
    await Deno.writeTextFile(p("db/meta.json"), JSON.stringify({ ...meta, scaling: "db" }));
    const r = await run("finetune", p("db"), "--model", p("m"), "--max-iter", "1", "--cpu");
    assertEquals([r.code, r.err], [2, [
      `error: Cannot use model ${p("m")}: it was trained on none spectrograms: the dataset's ` +
      "are db (extract it with --scaling none, or train a model on it)",
    ]]);
  });
});

Deno.test("init --k 2:3 fits the k it chose, not the first candidate", async () => {
  const root = await Deno.makeTempDir();
  const p = (s: string) => join(root, s);
  try {
    // Four copies each of three samples: three codes, so k = 3 splits them perfectly.
    const shapes = [(j: number) => Math.sin(0.3 * j), (j: number) => Math.cos(0.7 * j) + 1];
    shapes.push((j: number) => (j % 10) / 5 - 1);
    const x = new Float32Array(12 * 120).map((_, i) => shapes[Math.floor(i / 120) % 3](i % 120));
    await Deno.writeFile(p("x.npy"), encodeNpy(x, [12, 1, 12, 10]));
    assertEquals((await run("import", p("x.npy"), "--out", p("ds"), "--quiet")).code, 0);
    const pre = ["pretrain", p("ds"), "--model", p("m"), "--cpu", "--epochs", "1", "--quiet"];
    assertEquals((await run(...pre, "--latent-dim", "3")).code, 0);
    const r = await run("init", p("ds"), "--model", p("m"), "--k", "2:3", "--n-init", "2", "--cpu");
    assertEquals(r.code, 0, r.err.join("\n"));
    assert(r.out.includes("init: chose k = 3 by silhouette"), r.out.join("\n"));
    const info = JSON.parse(await Deno.readTextFile(p("m/model.json"))).init;
    assertEquals([info.k, info.kSelection.chosen], [3, 3]);
    const cen = (await loadWeights(p("m/centroids.safetensors"))).weights.get("centroids")!;
    assertEquals(cen.shape, [3, 3]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/**
 * Runs `fn` in a temporary directory holding `ds`, an imported dataset of 12 varied samples of
 * [1, 12, 10], with `ok`, which runs a command on the CPU backend and asserts it succeeds.
 */
async function withTwelve(
  fn: (
    p: (s: string) => string,
    ok: (...args: string[]) => Promise<{ code: number; out: string[]; err: string[] }>,
  ) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir();
  const p = (s: string) => join(root, s);
  try {
    const x = Float32Array.from({ length: 12 * 120 }, (_, i) => Math.sin(0.3 * i) + (i % 7));
    await Deno.writeFile(p("x.npy"), encodeNpy(x, [12, 1, 12, 10]));
    assertEquals((await run("import", p("x.npy"), "--out", p("ds"), "--quiet")).code, 0);
    await fn(p, async (...args: string[]) => {
      const r = await run(...args, "--cpu", "--quiet");
      assertEquals(r.code, 0, r.err.join("\n"));
      return r;
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}
