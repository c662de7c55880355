/**
 * What an interrupted or mistaken training run leaves of the user's work: a finished model is
 * not replaced without --force, --resume needs a checkpoint, a checkpoint that a killed run had
 * moved aside comes back, Ctrl-C keeps the last checkpoint and says how to resume, and a second
 * run into a model directory that a running one writes is refused.
 */
import { join } from "node:path";
import { run } from "./_run.ts";
import { encodeNpy } from "../../lib/io/npy.ts";
import { Rng } from "../../lib/util/rng.ts";
import { assert, assertEquals } from "../_assert.ts";
import { DEAD_PID as DEAD, HAS_PROC as hasProc } from "../_proc.ts";
import { interruptNotes } from "../../lib/util/atomic.ts";

/** A dataset of 16 samples [1, 12, 10] from `import`. */
async function tinyDataset(root: string): Promise<string> {
  const rng = new Rng(3);
  const x = new Float32Array(16 * 120).map(() => rng.normal());
  await Deno.writeFile(join(root, "x.npy"), encodeNpy(x, [16, 1, 12, 10]));
  const r = await run("import", join(root, "x.npy"), "--out", join(root, "ds"), "--quiet");
  assertEquals(r.code, 0, r.err.join("\n"));
  return join(root, "ds");
}

const PRE = ["--batch-size", "8", "--latent-dim", "3", "--cpu", "--quiet"];

const sha = async (path: string) =>
  Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", await Deno.readFile(path))))
    .map((b) => b.toString(16).padStart(2, "0")).join("");

Deno.test("cli: pretrain never replaces a finished model without --force, and --resume needs a checkpoint", async () => {
  const root = await Deno.makeTempDir();
  try {
    const ds = await tinyDataset(root);
    const m = join(root, "m");
    const pre = (...extra: string[]) => run("pretrain", ds, "--model", m, ...PRE, ...extra);
    // Nothing to resume: refused (as finetune does), not a silent fresh start; in a new
    // directory, missing or empty, there is nothing to start over.
    const none = await pre("--epochs", "1", "--resume");
    assertEquals([none.code, none.err], [2, [
      `error: Cannot resume pretraining in ${m}: no checkpoint/ there: run pretrain without ` +
      "--resume to start",
    ]]);
    assert(!(await Deno.stat(m).catch(() => null)), "a refused resume made the directory");
    await Deno.mkdir(m);
    assertEquals((await pre("--epochs", "1", "--resume")).err.at(-1)?.endsWith(" to start"), true);
    // One that holds an earlier run's files (its checkpoint deleted) has.
    await Deno.writeTextFile(join(m, "learning_curve.csv"), "epoch,train_loss,val_loss\n");
    assertEquals(
      (await pre("--epochs", "1", "--resume")).err.at(-1)?.endsWith(" to start over"),
      true,
    );
    await Deno.remove(m, { recursive: true });

    assertEquals((await pre("--epochs", "1")).code, 0);
    const before = await sha(join(m, "autoencoder.safetensors"));
    // The checkpoint deleted to save space: the model is still the user's.
    await Deno.remove(join(m, "checkpoint"), { recursive: true });
    for (const extra of [[], ["--resume"]]) {
      const r = await pre("--epochs", "2", ...extra);
      assertEquals(r.code, 2, extra.join(" "));
      assertEquals(r.err.length, 1);
      assert(
        r.err[0].includes("it holds a pretrained model") && r.err[0].includes("--force"),
        r.err[0],
      );
    }
    assertEquals(await sha(join(m, "autoencoder.safetensors")), before);
    assertEquals((await pre("--epochs", "2", "--force")).code, 0);
    assert(await sha(join(m, "autoencoder.safetensors")) !== before);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name:
    "cli: a checkpoint a killed run had moved aside to replace it is put back, and --resume ends as an uninterrupted run",
  ignore: !hasProc,
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      const ds = await tinyDataset(root);
      const pre = (m: string, ...extra: string[]) =>
        run("pretrain", ds, "--model", join(root, m), ...PRE, ...extra);
      assertEquals((await pre("whole", "--epochs", "3")).code, 0);
      assertEquals((await pre("cut", "--epochs", "2")).code, 0);
      // Killed between the two renames of the swap: checkpoint/ gone, the old one aside.
      const aside = join(root, "cut", `.checkpoint.${DEAD}.m1a2b3c4.x9y8z7.old`);
      await Deno.rename(join(root, "cut", "checkpoint"), aside);
      const r = await pre("cut", "--epochs", "3", "--resume");
      assertEquals(r.code, 0, r.err.join("\n"));
      assert(
        r.err.some((l) => l.includes(`put back ${join(root, "cut", "checkpoint")}`)),
        r.err[0],
      );
      assertEquals(
        await sha(join(root, "cut", "autoencoder.safetensors")),
        await sha(join(root, "whole", "autoencoder.safetensors")),
      );
      assertEquals(
        [...Deno.readDirSync(join(root, "cut"))].map((e) => e.name).filter((n) =>
          n.startsWith(".")
        ),
        [],
      );
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

/**
 * Runs the CLI in a subprocess, sends SIGINT (or `signal`) once `ready(stderr so far)`, and
 * returns its stderr.
 */
async function interrupt(
  args: string[],
  ready: (err: string) => boolean,
  signal: "SIGINT" | "SIGHUP" = "SIGINT",
): Promise<string> {
  const cli = new URL("../../cli.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args],
    stdout: "null",
    stderr: "piped",
    env: { SEISDEC_TUNING_DIR: "none" },
  }).spawn();
  // stderr as it comes, so that `ready` can wait for a line (a progress bar's) as well.
  let err = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of child.stderr) err += decoder.decode(chunk, { stream: true });
  })();
  for (let i = 0; i < 1200 && !ready(err); i++) await new Promise((r) => setTimeout(r, 50));
  const got = ready(err);
  child.kill(signal);
  const { code } = await child.status;
  await reading;
  assert(got, `${args[0]} never checkpointed: ${err}`);
  assertEquals(code, signal === "SIGINT" ? 130 : 129, err);
  return err;
}

Deno.test({
  name:
    "cli: SIGHUP (the terminal closed) stops a run as Ctrl-C does: the unfinished output removed, status 129",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      const out = join(root, "syn");
      const err = await interrupt(
        ["synth", "--per-class", "400", "--out", out],
        // Under way once its temporary directory exists.
        () => [...Deno.readDirSync(root)].some((e) => e.name.startsWith(".syn.")),
        "SIGHUP",
      );
      assert(err.includes("interrupted (SIGHUP): removed the unfinished"), err);
      assertEquals([...Deno.readDirSync(root)].map((e) => e.name), []);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

/** A field of a checkpoint's state.json, or 0 before there is one. */
function stateField(ckDir: string, field: string): number {
  try {
    return JSON.parse(Deno.readTextFileSync(join(ckDir, "state.json")))[field];
  } catch {
    return 0;
  }
}

Deno.test({
  name:
    "cli: Ctrl-C stops pretrain on the CPU backend in the middle of an epoch (no checkpoint yet), not at its end",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      // An epoch of 125 steps that takes about 10 s on the CPU backend here.
      const rng = new Rng(4);
      const x = new Float32Array(2000 * 1600).map(() => rng.normal());
      await Deno.writeFile(join(root, "x.npy"), encodeNpy(x, [2000, 1, 40, 40]));
      const imported = await run("import", join(root, "x.npy"), "--out", join(root, "ds"));
      assertEquals(imported.code, 0, imported.err.join("\n"));
      const m = join(root, "m");
      let seen = 0;
      const err = await interrupt(
        ["pretrain", join(root, "ds"), "--model", m, "--epochs", "1", "--batch-size", "16"]
          .concat(["--latent-dim", "3", "--cpu"]),
        // Training is under way once the progress bar has drawn its first tenth of the epoch
        // (a line on a pipe), and a second after the model directory appeared (the first
        // alone came too early on a loaded machine: no progress line yet).
        (text) => {
          try {
            if (!seen && Deno.statSync(m).isDirectory) seen = Date.now();
          } catch {
            // not yet
          }
          return seen > 0 && Date.now() - seen > 1000 && text.includes("pretrain ");
        },
      );
      assert(err.includes(`no checkpoint in ${join(m, "checkpoint")} yet`), err);
      assertEquals(stateField(join(m, "checkpoint"), "epoch"), 0);
      // The progress bar (a line per tenth of the epoch on a pipe) stopped before the end: the
      // signal was not held off until the epoch's checkpoint was written.
      assert(err.includes("pretrain ") && !err.includes("125/125"), err);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "cli: Ctrl-C stops pretrain and finetune with status 130, keeps the last checkpoint and says how to resume",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      const ds = await tinyDataset(root);
      const m = join(root, "m");
      const ck = join(m, "checkpoint");
      const pre = ["pretrain", ds, "--model", m, ...PRE];
      let err = await interrupt([...pre, "--epochs", "100000"], () => stateField(ck, "epoch") >= 2);
      const epoch = stateField(ck, "epoch");
      assert(err.includes(`kept ${ck}: epoch ${epoch} of 100000 done`), err);
      assert(err.includes("run the same command with --resume to continue"), err);
      // The kept checkpoint resumes (here to a smaller total: it is already there).
      let r = await run(...pre, "--epochs", String(epoch), "--resume");
      assertEquals(r.code, 0, r.err.join("\n"));

      r = await run("init", ds, "--model", m, "--k", "2", "--n-init", "2", "--cpu", "--quiet");
      assertEquals(r.code, 0, r.err.join("\n"));
      const fck = join(m, "finetune_checkpoint");
      const ft = ["finetune", ds, "--model", m, "--batch-size", "8", "--update-interval", "2"]
        .concat(["--tol", "0", "--cpu", "--quiet"]);
      err = await interrupt(
        [...ft, "--max-iter", "1000000"],
        () => stateField(fck, "iteration") >= 4,
      );
      const it = stateField(fck, "iteration");
      assert(err.includes(`kept ${fck}: iteration ${it} of at most 1000000`), err);
      assert(err.includes("--resume"), err);
      r = await run(...ft, "--max-iter", String(it + 2), "--resume");
      assertEquals(r.code, 0, r.err.join("\n"));
      assert(await Deno.stat(join(m, "dec.safetensors")));
      assertEquals([...Deno.readDirSync(m)].filter((e) => e.name.startsWith(".")), []);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "cli: pretrain, init and finetune refuse a model directory that a running command writes, naming its pid and command; a dead run's lock is taken over",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      const ds = await tinyDataset(root);
      const m = join(root, "m");
      const ck = join(m, "checkpoint");
      const pre = ["pretrain", ds, "--model", m, ...PRE];
      const cli = new URL("../../cli.ts", import.meta.url).pathname;
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", cli, ...pre, "--epochs", "100000"],
        stdout: "null",
        stderr: "piped",
        env: { SEISDEC_TUNING_DIR: "none" },
      }).spawn();
      let err = "";
      try {
        for (let i = 0; i < 1200 && stateField(ck, "epoch") < 1; i++) {
          await new Promise((r) => setTimeout(r, 50));
        }
        assert(stateField(ck, "epoch") >= 1, "pretrain never checkpointed");
        const holder = `process ${child.pid} (pretrain ${ds} --model ${m})`;
        for (
          const args of [
            [...pre, "--epochs", "3", "--resume"],
            [...pre, "--epochs", "3", "--force"],
            ["init", ds, "--model", m, "--k", "2", "--cpu", "--quiet"],
            ["finetune", ds, "--model", m, "--cpu", "--quiet"],
          ]
        ) {
          const r = await run(...args);
          assertEquals(r.code, 2, `${args.join(" ")}: ${r.err.join("\n")}`);
          assertEquals(r.err.length, 1, r.err.join("\n"));
          assert(
            r.err[0].startsWith(
              `error: Cannot write model directory ${m}: ${holder} is writing it`,
            ),
            r.err[0],
          );
        }
        // The running one went on untouched.
        assert(stateField(ck, "epoch") >= 1);
      } finally {
        child.kill("SIGINT");
        const { code, stderr } = await child.output();
        err = new TextDecoder().decode(stderr);
        assertEquals(code, 130, err);
      }
      // Ctrl-C removed its lock: the next run goes ahead.
      assertEquals([...Deno.readDirSync(m)].filter((e) => e.name.startsWith(".")), [], err);
      const r = await run(...pre, "--epochs", String(stateField(ck, "epoch") + 1), "--resume");
      assertEquals(r.code, 0, r.err.join("\n"));
      // A run killed outright left its lock: taken over, with a note.
      const lock = join(m, ".seisdec.lock");
      await Deno.writeTextFile(
        lock,
        JSON.stringify({ format: "seisdec-lock", pid: DEAD, command: "pretrain x", started: 0 }),
      );
      const again = await run("init", ds, "--model", m, "--k", "2", "--n-init", "2", "--cpu");
      assertEquals(again.code, 0, again.err.join("\n"));
      assert(
        again.err.includes(
          `note: took over ${lock} from process ${DEAD} (pretrain x), which no longer runs`,
        ),
        again.err.join("\n"),
      );
      assertEquals(await Deno.stat(lock).catch(() => null), null);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "cli: init stopped before its centres are written leaves the earlier centres and their k selection as they were",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      const ds = await tinyDataset(root);
      const m = join(root, "m");
      assertEquals((await run("pretrain", ds, "--model", m, ...PRE, "--epochs", "1")).code, 0);
      const init = ["init", ds, "--model", m, "--k", "2:3", "--cpu"];
      assertEquals((await run(...init, "--n-init", "2", "--quiet")).code, 0);
      const kept = ["centroids.safetensors", "k_selection.csv", "k_selection.png", "model.json"];
      const before = await Promise.all(kept.map((f) => sha(join(m, f))));
      // Ctrl-C a second after k is chosen, in the final fit (a million restarts): before, the
      // earlier k selection was deleted as that fit began, and the earlier centres outlived it.
      let chosen = 0;
      await interrupt([...init, "--n-init", "1000000"], (err) => {
        if (!chosen && /choosing k .* total/.test(err)) chosen = Date.now();
        return chosen > 0 && Date.now() - chosen > 1000;
      });
      const after = kept.map((f) => sha(join(m, f)).catch(() => `${f} missing`));
      assertEquals(await Promise.all(after), before);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("cli: pretrain --resume without --epochs or --batch-size goes on with the checkpoint's, not the defaults", async () => {
  const root = await Deno.makeTempDir();
  try {
    const ds = await tinyDataset(root);
    const m = join(root, "m");
    assertEquals(
      (await run(
        "pretrain",
        ds,
        "--model",
        m,
        ...PRE,
        "--epochs",
        "2",
        "--lr",
        "0.002",
        "--channels",
        "4,8",
      )).code,
      0,
    );
    // Before, the default 30 epochs trained a finished 2-epoch run on to 30, and the default
    // batch size and learning rate were refused as changed settings.
    const r = await run("pretrain", ds, "--model", m, "--cpu", "--quiet", "--resume");
    assertEquals(r.code, 0, r.err.join("\n"));
    const info = JSON.parse(await Deno.readTextFile(join(m, "model.json")));
    assertEquals([info.pretrain.epochs, info.pretrain.epochsDone], [2, 2]);
    assertEquals([info.pretrain.batchSize, info.pretrain.lr], [8, 0.002]);
    assertEquals(info.autoencoder.channels, [4, 8]);
    // A flag still overrides: --epochs 3 trains one epoch more.
    const more = await run(
      "pretrain",
      ds,
      "--model",
      m,
      "--cpu",
      "--quiet",
      "--resume",
      "--epochs",
      "3",
    );
    assertEquals(more.code, 0, more.err.join("\n"));
    assertEquals(JSON.parse(await Deno.readTextFile(join(m, "model.json"))).pretrain.epochsDone, 3);
    // finetune --resume likewise takes the checkpoint's --batch-size, --lr and --max-iter.
    assertEquals((await run("init", ds, "--model", m, "--k", "2", "--cpu", "--quiet")).code, 0);
    const ft = ["finetune", ds, "--model", m, "--cpu", "--quiet"];
    const first = await run(...ft, "--max-iter", "6", "--batch-size", "4", "--lr", "0.0002");
    assertEquals(first.code, 0, first.err.join("\n"));
    const again = await run(...ft, "--resume");
    assertEquals(again.code, 0, again.err.join("\n"));
    const f = JSON.parse(await Deno.readTextFile(join(m, "model.json"))).finetune;
    assertEquals([f.lr, f.maxIter, f.batchSize], [0.0002, 6, 4]);
    // A checkpoint value this version refuses (hand-edited, or from an older version) is left
    // out: the default or a flag stands (tol may change on a resume).
    const st = join(m, "finetune_checkpoint", "state.json");
    const state = JSON.parse(await Deno.readTextFile(st));
    await Deno.writeTextFile(
      st,
      JSON.stringify({ ...state, config: { ...state.config, tol: 150 } }),
    );
    const edited = await run(...ft, "--resume");
    assertEquals(edited.code, 0, edited.err.join("\n"));
    // A checkpoint a killed run had moved aside is put back before its settings are read (the
    // defaults stood in, and the resume was refused as changed settings).
    if (hasProc) {
      await Deno.writeTextFile(st, JSON.stringify(state));
      await Deno.rename(
        join(m, "finetune_checkpoint"),
        join(m, `.finetune_checkpoint.${DEAD}.m1a2b3c4.x9y8z7.old`),
      );
      const back = await run(...ft, "--resume");
      assertEquals(back.code, 0, back.err.join("\n"));
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** Runs `cli.ts <command> <ds> --model <m> ...args`, asserting that it succeeds. */
async function ok(
  command: string,
  ds: string,
  m: string,
  ...args: string[]
): Promise<{ out: string[]; err: string[] }> {
  const r = await run(command, ds, "--model", m, ...args);
  assertEquals(r.code, 0, `${command}: ${r.err.join("\n")}`);
  return r;
}

const INIT = ["--k", "2", "--n-init", "2", "--cpu", "--quiet"];

Deno.test("cli: on --resume a --config file's settings win over the checkpoint's: pretrain's epochs, finetune's maxIter", async () => {
  const root = await Deno.makeTempDir();
  try {
    const ds = await tinyDataset(root);
    const m = join(root, "m");
    const config = join(root, "config.json");
    const file = { pretrain: { epochs: 2 }, finetune: { maxIter: 6 } };
    await Deno.writeTextFile(config, JSON.stringify(file));
    await ok("pretrain", ds, m, ...PRE, "--epochs", "1");
    await ok("pretrain", ds, m, "--cpu", "--quiet", "--resume", "--config", config);
    const info = () => JSON.parse(Deno.readTextFileSync(join(m, "model.json")));
    // The file's epochs; the checkpoint's batch size (the file gives none).
    const { epochs, epochsDone, batchSize } = info().pretrain;
    assertEquals([epochs, epochsDone, batchSize], [2, 2, 8]);
    await ok("init", ds, m, ...INIT);
    const first = ["--max-iter", "4", "--batch-size", "4", "--tol", "0"];
    await ok("finetune", ds, m, ...first, "--cpu", "--quiet");
    const again = await ok("finetune", ds, m, "--resume", "--config", config, "--cpu", "--quiet");
    assert(again.out.at(-1)!.includes("stopped at max-iter after 6 batches"), again.out.join("\n"));
    assertEquals([info().finetune.maxIter, info().finetune.batchSize], [6, 4]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cli: pretrain --resume keeps the checkpoint's --normalize without the flag, and a --config file's normalize stands where no flag gives one", async () => {
  const root = await Deno.makeTempDir();
  try {
    const ds = await tinyDataset(root);
    const m = join(root, "m");
    await ok("pretrain", ds, m, ...PRE, "--epochs", "1", "--normalize", "l2");
    // Not the dataset's default (maxabs for an imported array), which the resume would refuse.
    await ok("pretrain", ds, m, "--cpu", "--quiet", "--resume", "--epochs", "2");
    const info = JSON.parse(await Deno.readTextFile(join(m, "model.json")));
    assertEquals([info.normalize, info.pretrain.normalize, info.pretrain.epochsDone], [
      "l2",
      "l2",
      2,
    ]);
    const config = join(root, "config.json");
    await Deno.writeTextFile(config, JSON.stringify({ pretrain: { normalize: "minmax" } }));
    const c = join(root, "c");
    await ok("pretrain", ds, c, ...PRE, "--epochs", "1", "--config", config);
    assertEquals(JSON.parse(await Deno.readTextFile(join(c, "model.json"))).normalize, "minmax");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cli: pretrain --resume --force continues the checkpoint (its history kept) rather than starting over", async () => {
  const root = await Deno.makeTempDir();
  try {
    const ds = await tinyDataset(root);
    const m = join(root, "m");
    await ok("pretrain", ds, m, ...PRE, "--epochs", "1");
    // Init's centres, which the new weights make stale: what --force is given for on a resume.
    await ok("init", ds, m, ...INIT);
    // The first epoch's record marked: a run started over makes the same weights and losses
    // (seeded), but measures the epoch's time anew.
    const st = join(m, "checkpoint", "state.json");
    const state = JSON.parse(await Deno.readTextFile(st));
    state.history[0].seconds = 1234.5;
    await Deno.writeTextFile(st, JSON.stringify(state));
    await ok("pretrain", ds, m, ...PRE, "--epochs", "2", "--resume", "--force");
    const rows = (await Deno.readTextFile(join(m, "learning_curve.csv"))).trimEnd().split("\n")
      .slice(1).map((l) => l.split(","));
    assertEquals(rows.map((row) => row[0]), ["1", "2"]);
    assertEquals(rows[0][3], "1234.500", "the first epoch's record");
    assertEquals(JSON.parse(await Deno.readTextFile(st)).history[0].seconds, 1234.5);
    assertEquals(await Deno.stat(join(m, "centroids.safetensors")).catch(() => null), null);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cli: finetune never replaces a fine-tuned model without --force, also once its checkpoint was deleted", async () => {
  const root = await Deno.makeTempDir();
  try {
    const ds = await tinyDataset(root);
    const m = join(root, "m");
    await ok("pretrain", ds, m, ...PRE, "--epochs", "1");
    await ok("init", ds, m, ...INIT);
    const ft = ["--max-iter", "2", "--cpu", "--quiet"];
    await ok("finetune", ds, m, ...ft);
    const before = await sha(join(m, "dec.safetensors"));
    // The checkpoint deleted to save space: the fine-tuned model is still the user's.
    await Deno.remove(join(m, "finetune_checkpoint"), { recursive: true });
    const r = await run("finetune", ds, "--model", m, ...ft, "--seed", "5");
    assertEquals([r.code, r.err], [2, [
      `error: Cannot fine-tune in ${m}: it holds a fine-tuned model (dec.safetensors): pass ` +
      `--resume to continue or --force to start over`,
    ]]);
    assertEquals(await sha(join(m, "dec.safetensors")), before);
    await ok("finetune", ds, m, ...ft, "--seed", "5", "--force");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/**
 * Runs `fn` with a `performance.now` that moves `jumpMs` on at each read from
 * lib/cluster/pretrain.ts (whose timer takes the checkpoints inside an epoch), calling `onRead`
 * after each such read.
 */
async function withJumpingClock<T>(
  jumpMs: number,
  onRead: () => void,
  fn: () => Promise<T>,
): Promise<T> {
  const own = Object.getOwnPropertyDescriptor(performance, "now");
  const real = performance.now.bind(performance);
  let offset = 0;
  Object.defineProperty(performance, "now", {
    configurable: true,
    writable: true,
    value: () => {
      // The caller's frame: "Error", this function, then the caller.
      const caller = new Error().stack?.split("\n")[2] ?? "";
      if (!caller.includes("/lib/cluster/pretrain.ts:")) return real() + offset;
      offset += jumpMs;
      onRead();
      return real() + offset;
    },
  });
  try {
    return await fn();
  } finally {
    if (own) Object.defineProperty(performance, "now", own);
    else delete (performance as { now?: unknown }).now;
  }
}

Deno.test("cli: pretrain checkpoints inside an epoch once 300 s have passed by default (every second step where 299 s pass a step), at epochs' ends only with --checkpoint-every 0, and Ctrl-C's note names the epoch under way, and the earlier run's checkpoint that --force has not yet replaced", async () => {
  const root = await Deno.makeTempDir();
  try {
    const ds = await tinyDataset(root);
    // 16 samples at batch 4: 4 steps an epoch.
    const args = ["--batch-size", "4", "--latent-dim", "3", "--epochs", "2", "--cpu", "--quiet"];
    let jump = 300_000;
    // What Ctrl-C would say at each of pretrain's reads of the clock (`jump` ms on at each).
    const notes = async (m: string, ...extra: string[]) => {
      const seen: string[] = [];
      await withJumpingClock(jump, () => {
        for (const n of interruptNotes()) if (!seen.includes(n)) seen.push(n);
      }, () => ok("pretrain", ds, m, ...args, ...extra));
      return seen;
    };
    const ck = join(root, "m", "checkpoint");
    const kept = (what: string) =>
      `kept ${ck}: ${what}; run the same command with --resume to continue`;
    assertEquals(await notes(join(root, "m")), [
      `no checkpoint in ${ck} yet: run the same command without --resume to start again`,
      kept("epoch 0 of 2 done and 1 step of epoch 1"),
      kept("epoch 0 of 2 done and 2 steps of epoch 1"),
      kept("epoch 0 of 2 done and 3 steps of epoch 1"),
      kept("epoch 1 of 2 done"),
      kept("epoch 1 of 2 done and 1 step of epoch 2"),
      kept("epoch 1 of 2 done and 2 steps of epoch 2"),
      kept("epoch 1 of 2 done and 3 steps of epoch 2"),
    ]);
    // 299 s (and a step's milliseconds) between two steps' reads of the clock: short of the
    // default, so inside an epoch every second step only.
    jump = 299_000;
    const early = join(root, "e", "checkpoint");
    const keptEarly = (what: string) =>
      `kept ${early}: ${what}; run the same command with --resume to continue`;
    assertEquals(await notes(join(root, "e")), [
      `no checkpoint in ${early} yet: run the same command without --resume to start again`,
      keptEarly("epoch 0 of 2 done and 2 steps of epoch 1"),
      keptEarly("epoch 1 of 2 done"),
      keptEarly("epoch 1 of 2 done and 2 steps of epoch 2"),
    ]);
    jump = 300_000;
    // --checkpoint-every 0: at each epoch's end only.
    const zero = join(root, "z", "checkpoint");
    assertEquals(await notes(join(root, "z"), "--checkpoint-every", "0"), [
      `no checkpoint in ${zero} yet: run the same command without --resume to start again`,
      `kept ${zero}: epoch 1 of 2 done; run the same command with --resume to continue`,
    ]);
    // --force: the earlier run's checkpoint, named as such (its epochs, not this run's), until
    // the first of this run's.
    const force = ["--checkpoint-every", "0", "--force", "--epochs", "3"];
    assertEquals(await notes(join(root, "z"), ...force), [
      `kept ${zero}: the earlier run's, epoch 2 of 2 done (this run had written no checkpoint ` +
      "yet): rerun the same command to start over, or add --resume to continue the earlier run, " +
      "with its settings",
      `kept ${zero}: epoch 1 of 3 done; run the same command with --resume to continue`,
      `kept ${zero}: epoch 2 of 3 done; run the same command with --resume to continue`,
    ]);
    // --resume --force continues that checkpoint: it is this run's from the start.
    assertEquals(await notes(join(root, "z"), ...force, "--resume", "--epochs", "4"), [
      `kept ${zero}: epoch 3 of 4 done; run the same command with --resume to continue`,
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
