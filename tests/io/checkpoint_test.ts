import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { encodeSafetensors } from "../../lib/io/safetensors.ts";
import { z } from "../../lib/deps.ts";
import {
  downstreamOf,
  fileDigest,
  keepCheckpointOnInterrupt,
  loadWeights,
  LOCK_FILE,
  lockHooks,
  lockModelDir,
  readCheckpointState,
  readJson,
  readWeightsHeader,
  refuseDownstream,
  saveWeights,
  setOutputsAside,
} from "../../lib/io/checkpoint.ts";
import { interruptNotes, removeLiveTemporaries } from "../../lib/util/atomic.ts";
import { UserError } from "../../lib/util/errors.ts";
import { DEAD_PID as DEAD, HAS_PROC as hasProc, spawnZombie } from "../_proc.ts";

/** Runs `f` capturing console.error's lines. */
async function stderrOf(f: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [], error = console.error;
  console.error = (...a: unknown[]) => lines.push(a.map(String).join(" "));
  try {
    await f();
  } finally {
    console.error = error;
  }
  return lines;
}

Deno.test("keepCheckpointOnInterrupt: Ctrl-C keeps the checkpoint and names what is on the disk then", async () => {
  const dir = await Deno.makeTempDir();
  const ck = `${dir}/checkpoint`;
  try {
    keepCheckpointOnInterrupt(ck, (st) => `epoch ${st.epoch} of 30 done`);
    // Before the first checkpoint: nothing kept, nothing removed, said so.
    assertEquals(removeLiveTemporaries(), []);
    assertEquals(interruptNotes(), [
      `no checkpoint in ${ck} yet: run the same command without --resume to start again`,
    ]);
    await Deno.mkdir(ck);
    await Deno.writeTextFile(`${ck}/state.json`, JSON.stringify({ epoch: 3 }));
    // A newer checkpoint put in place since: the note reads it, not the one of registration.
    await Deno.writeTextFile(`${ck}/state.json`, JSON.stringify({ epoch: 4 }));
    assertEquals(removeLiveTemporaries(), []);
    assertEquals(interruptNotes(), [
      `kept ${ck}: epoch 4 of 30 done; run the same command with --resume to continue`,
    ]);
    assert((await Deno.stat(`${ck}/state.json`)).isFile, "the checkpoint was removed");
    keepCheckpointOnInterrupt(ck, null);
    assertEquals(interruptNotes(), []);
  } finally {
    keepCheckpointOnInterrupt(ck, null);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lockModelDir on a read-only disk names the model directory and what to do, not the lock's temporary", async () => {
  const dir = await Deno.makeTempDir();
  const { writeTextFileSync } = Deno;
  try {
    Deno.writeTextFileSync = (path) => {
      throw Object.assign(new Error(`Read-only file system (os error 30): writefile '${path}'`), {
        code: "EROFS",
      });
    };
    // Before, Deno's line alone ('Read-only file system (os error 30): writefile
    // m/..seisdec.lock.PID.TAG.tmp').
    await assertRejects(
      () => lockModelDir(dir, "init ds --model m"),
      UserError,
      `Cannot write ${dir}: Read-only file system (os error 30): writefile '${dir}/..seisdec.lock.`,
    );
  } finally {
    Deno.writeTextFileSync = writeTextFileSync;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lockModelDir: a second command into a locked model directory is refused, naming it and the holder; release removes the lock and a directory it made", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = join(root, "m");
    const release = await lockModelDir(dir, "pretrain ds --model m");
    const lock = JSON.parse(await Deno.readTextFile(join(dir, LOCK_FILE)));
    assertEquals([lock.pid, lock.command], [Deno.pid, "pretrain ds --model m"]);
    // This process holds it (a library caller running two stages at once): refused too.
    await assertRejects(
      () => lockModelDir(dir, "finetune ds --model m"),
      UserError,
      `Cannot write model directory ${dir}: process ${Deno.pid} (pretrain ds --model m) is writing it`,
    );
    await release();
    await release();
    // Nothing was written into it: the directory it made goes with the lock.
    assertEquals(await Deno.stat(dir).catch(() => null), null);
    // Three at once, whichever goes first: exactly one gets it.
    let won: () => Promise<void> = async () => {};
    for (let round = 0; round < 5; round++) {
      const three = await Promise.allSettled(["a", "b", "c"].map((c) => lockModelDir(dir, c)));
      const got = three.filter((r) => r.status === "fulfilled");
      assertEquals(got.length, 1, `round ${round}`);
      won = (got[0] as PromiseFulfilledResult<() => Promise<void>>).value;
      if (round < 4) await won();
    }
    await Deno.writeTextFile(join(dir, "model.json"), "{}");
    await won();
    // The directory holds the run's work: it stays, without the lock.
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["model.json"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("lockModelDir: Ctrl-C removes the lock (removeLiveTemporaries), so the next run is not refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const release = await lockModelDir(dir, "pretrain");
    // Not listed among the unfinished outputs removed: it is no output.
    assertEquals(removeLiveTemporaries(), []);
    assertEquals(await Deno.stat(join(dir, LOCK_FILE)).catch(() => null), null);
    await release();
    await (await lockModelDir(dir, "pretrain"))();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "lockModelDir: a running process's lock is refused; one of an exited process, a zombie, a pid taken by a later process or an earlier process of this pid is taken over with a note",
  ignore: !hasProc,
  fn: async () => {
    const z = await spawnZombie(30);
    const zombie = z.pid, child = z.parent;
    const dir = await Deno.makeTempDir();
    try {
      const lockPath = join(dir, LOCK_FILE);
      const leave = (pid: number, started: number) =>
        Deno.writeTextFile(
          lockPath,
          JSON.stringify({ format: "seisdec-lock", pid, command: "pretrain old", started }),
        );
      // Running (it started before it took the lock): refused, the lock left alone.
      await leave(child.pid, Date.now());
      await assertRejects(
        () => lockModelDir(dir, "pretrain new"),
        UserError,
        `process ${child.pid} (pretrain old) is writing it, since `,
      );
      assertEquals(JSON.parse(await Deno.readTextFile(lockPath)).pid, child.pid);
      const cases: [string, number, number][] = [
        ["exited", DEAD, Date.now()],
        ["a zombie", zombie, Date.now()],
        // The lock is an hour older than the process that has its pid now.
        ["a reused pid", child.pid, Date.now() - 3_600_000],
        // This process's pid, but not a lock it holds: an earlier process's (a container restarted).
        ["this pid", Deno.pid, Date.now()],
      ];
      for (const [what, pid, started] of cases) {
        await leave(pid, started);
        let release: () => Promise<void> = async () => {};
        const err = await stderrOf(async () => release = await lockModelDir(dir, "pretrain new"));
        assertEquals(
          err,
          [`note: took over ${lockPath} from process ${pid} (pretrain old), which no longer runs`],
          what,
        );
        assertEquals(JSON.parse(await Deno.readTextFile(lockPath)).command, "pretrain new", what);
        await release();
      }
      await Deno.writeTextFile(lockPath, "");
      const err = await stderrOf(async () => await (await lockModelDir(dir, "pretrain new"))());
      assertEquals(err, [`note: took over ${lockPath}, which could not be read`]);
      assertEquals([...Deno.readDirSync(dir)], []);
    } finally {
      await z.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "lockModelDir: of two calls that find the same stale lock, one takes it over and the other is refused; a takeover lock left by a dead process is cleared",
  ignore: !hasProc,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const lockPath = join(dir, LOCK_FILE), guard = `${lockPath}.takeover`;
    const record = (pid: number, command: string, started: number) =>
      JSON.stringify({ format: "seisdec-lock", pid, command, started });
    try {
      await Deno.writeTextFile(lockPath, record(DEAD, "pretrain old", Date.now()));
      // a finds the lock stale; before it takes it over, b finds it stale too and takes it.
      let b: Promise<() => Promise<void>> | null = null;
      lockHooks.afterStale = () => {
        lockHooks.afterStale = undefined;
        b = lockModelDir(dir, "b");
        return b.then(() => {});
      };
      const notes = await stderrOf(async () => {
        await assertRejects(
          () => lockModelDir(dir, "a"),
          UserError,
          `process ${Deno.pid} (b) is writing it`,
        );
      });
      assertEquals(notes, [
        `note: took over ${lockPath} from process ${DEAD} (pretrain old), which no longer runs`,
      ]);
      assertEquals(JSON.parse(await Deno.readTextFile(lockPath)).command, "b");
      await (await b!)();
      assertEquals([...Deno.readDirSync(dir)], []);
      // A takeover lock of a dead process, or an old one, does not block the takeover.
      for (const g of [record(DEAD, "takeover", Date.now()), record(Deno.pid, "takeover", 0)]) {
        await Deno.writeTextFile(lockPath, record(DEAD, "pretrain old", Date.now()));
        await Deno.writeTextFile(guard, g);
        const err = await stderrOf(async () => await (await lockModelDir(dir, "c"))());
        assertEquals(err.length, 1, err.join("\n"));
        assertEquals([...Deno.readDirSync(dir)], []);
      }
    } finally {
      lockHooks.afterStale = undefined;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("lockModelDir: a model path that is a file is refused, naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "notadir");
    await Deno.writeTextFile(file, "");
    await assertRejects(() => lockModelDir(file, "pretrain"), UserError, "it is a file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadWeights refuses a tensor holding NaN or an infinity, naming it and the element", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const bad of [NaN, Infinity]) {
      const data = new Float32Array([1, 2, bad, 4]);
      await saveWeights(`${dir}/w.safetensors`, new Map([["enc.0.weight", { shape: [4], data }]]));
      await assertRejects(
        () => loadWeights(`${dir}/w.safetensors`),
        UserError,
        `Cannot read weights ${dir}/w.safetensors: tensor enc.0.weight holds ${bad} at element 2: ` +
          `expected finite weights`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "lockModelDir names a model directory it may not make, as the other writers do, not as a bare file-system error",
  // sysfs refuses a new directory even to root; elsewhere there is no such place to try.
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const e = await assertRejects(
      () => lockModelDir("/sys/seisdec_test_model", "pretrain"),
      UserError,
    );
    assert(
      e.message.startsWith("Cannot write /sys/seisdec_test_model: ") &&
        // EPERM here; a container that mounts /sys read-only says EROFS.
        /(no permission to write there|the file system is read-only): choose another output path$/
          .test(e.message),
      e.message,
    );
  },
});

Deno.test("lockModelDir refuses another command's output as a model directory, naming what it is", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/meta.json`, "{}");
    await Deno.writeTextFile(
      `${dir}/.seisdec-output.json`,
      JSON.stringify({ kind: "meta.json", entries: ["meta.json"] }),
    );
    await assertRejects(
      () => lockModelDir(dir, "pretrain ds --model ds"),
      UserError,
      `Cannot use ${dir} as the model directory: it is a dataset (extract or import wrote it)`,
    );
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      ".seisdec-output.json",
      "meta.json",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lockModelDir's refusals name no option of the CLI unless the caller gives one (the CLI's --model)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = join(dir, "m"), file = join(dir, "notadir"), ds = join(dir, "ds");
    await Deno.writeTextFile(file, "");
    await Deno.mkdir(ds);
    await Deno.writeTextFile(
      join(ds, ".seisdec-output.json"),
      JSON.stringify({ kind: "meta.json", entries: [] }),
    );
    const release = await lockModelDir(m, "pretrain");
    for (
      const [flag, own, give] of [[undefined, "model", "give a"], [
        "--model",
        "--model",
        "give --model a",
      ]]
    ) {
      const options = flag ? { flag } : undefined;
      const held = await assertRejects(() => lockModelDir(m, "init", options), UserError);
      assert(
        held.message.endsWith(
          `wait for it to finish or stop it, or choose another ${own} directory`,
        ),
        held.message,
      );
      await assertRejects(
        () => lockModelDir(file, "init", options),
        UserError,
        `it is a file, not a directory: ${give} directory (it is made if missing)`,
      );
      await assertRejects(
        () => lockModelDir(ds, "init", options),
        UserError,
        `it is a dataset (extract or import wrote it): ${give} directory of its own (it is made if missing)`,
      );
    }
    await release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readWeightsHeader reads the shapes from the header alone and refuses a header that does not describe the file or a missing file, as loadWeights does", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/w.safetensors`;
  try {
    await saveWeights(
      path,
      new Map([
        ["a.weight", { shape: [2, 3], data: new Float32Array(6) }],
        ["a.bias", { shape: [2], data: new Float32Array(2) }],
      ]),
    );
    assertEquals(
      [...await readWeightsHeader(path)].sort(),
      [["a.bias", { dtype: "F32", shape: [2] }], ["a.weight", { dtype: "F32", shape: [2, 3] }]],
    );
    // Cut off in the data: the header's offsets reach past the end.
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(path, bytes.subarray(0, bytes.length - 4));
    await assertRejects(() => readWeightsHeader(path), UserError, `Cannot read weights ${path}:`);
    await Deno.writeFile(path, bytes.subarray(0, 5));
    await assertRejects(
      () => readWeightsHeader(path),
      UserError,
      "file is truncated: expected at least 8 bytes: found 5",
    );
    // A missing file is named once ('no such file', not Deno's text naming it again), by both.
    for (const read of [readWeightsHeader, loadWeights]) {
      const e = await assertRejects(() => read(`${dir}/none`), UserError);
      assertEquals(e.message, `Cannot read weights ${dir}/none: no such file`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("saveWeights replaces the file by a new one (a link to the old keeps its bytes) and records format pt beside the metadata", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/w.safetensors`;
  try {
    const w = (v: number) =>
      new Map([["a.weight", { shape: [2], data: new Float32Array([v, -v]) }]]);
    await saveWeights(path, w(1));
    // A reader holding the old file (here a hard link) sees it whole, never the new bytes.
    await Deno.link(path, `${dir}/old.safetensors`);
    await saveWeights(path, w(2), { epochs: "3" });
    const old = await loadWeights(`${dir}/old.safetensors`);
    assertEquals(old.weights.get("a.weight")!.data, new Float32Array([1, -1]));
    const now = await loadWeights(path);
    assertEquals(now.weights.get("a.weight")!.data, new Float32Array([2, -2]));
    assertEquals(now.metadata, { format: "pt", epochs: "3" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fileDigest is sha256: and 64 hex digits (those below 0x10 with their 0), null for a missing file, and throws for a directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/w.safetensors`;
    const digest = await saveWeights(
      path,
      new Map([["a", { shape: [3], data: new Float32Array([1, 2, 3]) }]]),
    );
    const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", await Deno.readFile(path)));
    // The bytes chosen hash to some bytes below 0x10: the digest keeps their leading 0.
    assert(hash.some((b) => b < 0x10));
    const hex = Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
    assertEquals([digest, await fileDigest(path)], [`sha256:${hex}`, `sha256:${hex}`]);
    assertEquals((await loadWeights(path)).digest, `sha256:${hex}`);
    assertEquals(await fileDigest(`${dir}/none`), null);
    // Not a file that is missing: a file that cannot be read is an error, not "no weights".
    await assertRejects(() => fileDigest(dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadWeights refuses a tensor that is not F32 and a non-finite value at the first element", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/w.safetensors`;
  try {
    await Deno.writeFile(
      path,
      encodeSafetensors({ c: { dtype: "F64", shape: [1], data: new Float64Array([1]) } }),
    );
    await assertRejects(
      () => loadWeights(path),
      UserError,
      `Cannot read weights ${path}: tensor c must be F32: found F64`,
    );
    await saveWeights(path, new Map([["c", { shape: [2], data: new Float32Array([NaN, 1]) }]]));
    await assertRejects(
      () => loadWeights(path),
      UserError,
      `Cannot read weights ${path}: tensor c holds NaN at element 0: expected finite weights`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("downstreamOf names the later stages' outputs present, in stage order; setOutputsAside moves them and the sections of model.json of their stages out of the way, which Ctrl-C before the rename puts back and discard deletes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const init = ["centroids.safetensors", "k_selection.csv", "k_selection.png", "k_selection.svg"];
    const finetune = ["dec.safetensors", "finetune_checkpoint", "finetune_log.csv"];
    for (const f of [...init, ...finetune]) {
      if (f === "finetune_checkpoint") await Deno.mkdir(join(dir, f, "x"), { recursive: true });
      else await Deno.writeTextFile(join(dir, f), "");
    }
    const info = { pretrain: { epochs: 2 }, init: { k: 2 }, finetune: { mode: "dec" } };
    await Deno.writeTextFile(join(dir, "model.json"), JSON.stringify(info));
    assertEquals(await downstreamOf(dir, "pretrain"), [...init, ...finetune]);
    assertEquals(await downstreamOf(dir, "init"), finetune);
    assertEquals(await downstreamOf(dir, "finetune"), []);
    await assertRejects(
      () => refuseDownstream(dir, "init"),
      UserError,
      `Cannot initialise centres in ${dir}: it holds ${finetune.join(", ")}, fine-tuned from`,
    );
    // Ctrl-C between the hook and the rename: everything as it was, no temporary left.
    await setOutputsAside(dir, await downstreamOf(dir, "init"));
    assertEquals(await downstreamOf(dir, "init"), []);
    removeLiveTemporaries();
    assertEquals(interruptNotes(), []);
    assertEquals(await downstreamOf(dir, "init"), finetune);
    assertEquals(JSON.parse(await Deno.readTextFile(join(dir, "model.json"))), info);
    const names = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name);
    assertEquals(names.filter((n) => n.startsWith(".")), []);
    const removeOutputs = async (names: string[]) => {
      const aside = await setOutputsAside(dir, names);
      aside.settle(); // the rename made
      await aside.discard();
    };
    // The fine-tuning's outputs alone: its section goes, init's stays.
    await removeOutputs(await downstreamOf(dir, "init"));
    const text = await Deno.readTextFile(join(dir, "model.json"));
    assert(text.endsWith("}\n"), "model.json ends with a newline");
    assertEquals(JSON.parse(text), { pretrain: { epochs: 2 }, init: { k: 2 } });
    assertEquals(await downstreamOf(dir, "init"), []);
    await refuseDownstream(dir, "init");
    // One of init's outputs is enough to drop its section.
    await removeOutputs(["k_selection.svg"]);
    assertEquals(JSON.parse(await Deno.readTextFile(join(dir, "model.json"))), {
      pretrain: { epochs: 2 },
    });
    assertEquals(await downstreamOf(dir, "pretrain"), init.slice(0, 3));
    // Outputs set aside beside the stale ones (init's k selection, which its new centres
    // replace) keep their stage's section.
    const kept = { pretrain: { epochs: 2 }, init: { k: 3 } };
    await Deno.writeTextFile(join(dir, "model.json"), JSON.stringify(kept));
    const aside = await setOutputsAside(dir, [], ["k_selection.csv"]);
    aside.settle();
    await aside.discard();
    assertEquals(JSON.parse(await Deno.readTextFile(join(dir, "model.json"))), kept);
    assertEquals(await downstreamOf(dir, "pretrain"), [init[0], init[2]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("setOutputsAside once settled (the new weights renamed into place): Ctrl-C removes what it set aside and the earlier model.json's copy, puts nothing back, and after discard it has nothing to say", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const info = { pretrain: { epochs: 2 }, init: { k: 2 }, finetune: { mode: "dec" } };
    const setUp = async () => {
      await Deno.writeTextFile(join(dir, "dec.safetensors"), "dec");
      await Deno.writeTextFile(join(dir, "model.json"), JSON.stringify(info));
    };
    const names = () => Array.from(Deno.readDirSync(dir), (e) => e.name).sort();
    const dropped = { pretrain: { epochs: 2 }, init: { k: 2 } };
    // Ctrl-C after the rename, before discard: the stale outputs go, model.json stays the new one.
    await setUp();
    const aside = await setOutputsAside(dir, ["dec.safetensors"]);
    aside.settle();
    removeLiveTemporaries();
    assertEquals(interruptNotes(), []);
    assertEquals(names(), ["model.json"]);
    assertEquals(JSON.parse(await Deno.readTextFile(join(dir, "model.json"))), dropped);
    await aside.discard();
    // Discarded as the write ends: nothing left beside, and a later Ctrl-C in the same process
    // (the demo runs every stage) has nothing to put back and no note.
    await setUp();
    const done = await setOutputsAside(dir, ["dec.safetensors"]);
    done.settle();
    await done.discard();
    assertEquals(names(), ["model.json"]);
    removeLiveTemporaries();
    assertEquals(interruptNotes(), []);
    assertEquals(JSON.parse(await Deno.readTextFile(join(dir, "model.json"))), dropped);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("setOutputsAside whose model.json cannot be read leaves the outputs where they were, and one that Ctrl-C cannot put back is named and kept where the note says", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "dec.safetensors"), "dec");
    await Deno.writeTextFile(join(dir, "model.json"), "{ not json");
    await assertRejects(() => setOutputsAside(dir, ["dec.safetensors"]));
    const names = () => Array.from(Deno.readDirSync(dir), (e) => e.name).sort();
    assertEquals(names(), ["dec.safetensors", "model.json"]);
    assertEquals(await Deno.readTextFile(join(dir, "dec.safetensors")), "dec");
    // Ctrl-C before the rename, where something took the names of the output and model.json
    // meanwhile (directories with a file in them): both are named in one note, each kept where
    // the note says.
    const info = JSON.stringify({ pretrain: { epochs: 2 }, finetune: { mode: "dec" } });
    await Deno.writeTextFile(join(dir, "model.json"), info);
    await setOutputsAside(dir, ["dec.safetensors"]);
    await Deno.remove(join(dir, "model.json"));
    for (const n of ["dec.safetensors", "model.json"]) {
      await Deno.mkdir(join(dir, n, "in"), { recursive: true });
    }
    removeLiveTemporaries();
    const [note, ...more] = interruptNotes();
    assertEquals(more, []);
    const [why, ...back] = note.split("; putting back ");
    assertEquals(why, "interrupted", note);
    assertEquals(back.length, 2, note);
    const kept: string[] = [];
    for (const [i, n] of ["dec.safetensors", "model.json"].entries()) {
      const at = back[i].match(/^(.+) failed \(.+\): it is at (.+)$/);
      assert(at && at[1] === join(dir, n), note);
      kept.push(await Deno.readTextFile(at[2]));
    }
    assertEquals(kept, ["dec", info]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lockModelDir's release leaves a lock that is not its own (this pid, another start), and a lock of another format counts as unreadable", async () => {
  const dir = await Deno.makeTempDir();
  const lockPath = join(dir, LOCK_FILE);
  try {
    const release = await lockModelDir(dir, "pretrain");
    const other = { format: "seisdec-lock", pid: Deno.pid, command: "other", started: 1 };
    await Deno.writeTextFile(lockPath, JSON.stringify(other));
    await release();
    assertEquals(JSON.parse(await Deno.readTextFile(lockPath)), other);
    await Deno.writeTextFile(
      lockPath,
      JSON.stringify({ format: "other", pid: DEAD, command: "x", started: Date.now() }),
    );
    const err = await stderrOf(async () => await (await lockModelDir(dir, "pretrain"))());
    assertEquals(err, [`note: took over ${lockPath}, which could not be read`]);
    assertEquals([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "lockModelDir clears a takeover lock of this process older than 2 s",
  ignore: !hasProc,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const lockPath = join(dir, LOCK_FILE);
    try {
      const record = (pid: number, command: string, started: number) =>
        JSON.stringify({ format: "seisdec-lock", pid, command, started });
      await Deno.writeTextFile(lockPath, record(DEAD, "pretrain old", Date.now()));
      // Left 5 s ago by this pid (so not cleared as a dead process's): a takeover takes ms.
      await Deno.writeTextFile(
        `${lockPath}.takeover`,
        record(Deno.pid, "takeover", Date.now() - 5000),
      );
      const err = await stderrOf(async () => await (await lockModelDir(dir, "c"))());
      assertEquals(err, [
        `note: took over ${lockPath} from process ${DEAD} (pretrain old), which no longer runs`,
      ]);
      assertEquals([...Deno.readDirSync(dir)], []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("readJson of a missing model.json says to resume an interrupted pretrain where checkpoint/ is, else to run pretrain", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "model.json");
    let e = await assertRejects(() => readJson(dir, "model.json"), UserError);
    assertEquals(
      e.message,
      `Cannot read ${path}: no such file: run pretrain first (it writes model.json)`,
    );
    await Deno.mkdir(join(dir, "checkpoint"));
    e = await assertRejects(() => readJson(dir, "model.json"), UserError);
    assertEquals(
      e.message,
      `Cannot read ${path}: no such file: pretrain stopped before it finished (it left ` +
        `${join(dir, "checkpoint")}): run pretrain <dataset-dir> --model ${dir} --resume to ` +
        "finish it",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readJson reads a model.json that starts with a byte-order mark (a Windows editor's)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "model.json"), '\uFEFF{"version": 1}\n');
    assertEquals(await readJson(dir, "model.json"), { version: 1 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readJson of a missing model.json in another command's output names what the directory is, not a stage to run", async () => {
  // cluster --model CLUSTERS_DIR said 'run pretrain first', which would not have helped.
  for (
    const [marker, kind] of [
      ["meta.json", "a dataset (extract or import wrote it)"],
      ["result.json", "the output of cluster or encode"],
      ["inspect.json", "the output of extract --inspect"],
    ]
  ) {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(join(dir, marker), "{}");
      const e = await assertRejects(() => readJson(dir, "model.json"), UserError);
      assertEquals(
        e.message,
        `Cannot read ${join(dir, "model.json")}: no such file: ${dir} is ${kind}, not a model ` +
          "directory: give the directory pretrain wrote (--model)",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("readJson and lockModelDir name another command's output alike: by its listing, or by its marker file where it has no listing that reads", async () => {
  const listing = (kind: string) => JSON.stringify({ kind, entries: [] });
  for (
    const [files, what] of [
      // synth's output: lockModelDir named it, readJson said to run pretrain first.
      [{ ".seisdec-output.json": listing("manifest.csv") }, "an output of seisdec (manifest.csv)"],
      // A dataset without a listing (an earlier version's): readJson named it, lockModelDir
      // took it as a model directory; and a listing that is not JSON threw a SyntaxError there.
      [{ "meta.json": "{}" }, "a dataset (extract or import wrote it)"],
      [
        { "meta.json": "{}", ".seisdec-output.json": "{" },
        "a dataset (extract or import wrote it)",
      ],
      [
        { "result.json": "{}", ".seisdec-output.json": listing("result.json") },
        "the output of cluster or encode",
      ],
    ] as const
  ) {
    const dir = await Deno.makeTempDir();
    try {
      for (const [name, text] of Object.entries(files)) {
        await Deno.writeTextFile(join(dir, name), text);
      }
      const read = await assertRejects(() => readJson(dir, "model.json"), UserError);
      assertEquals(
        read.message,
        `Cannot read ${join(dir, "model.json")}: no such file: ${dir} is ${what}, not a model ` +
          "directory: give the directory pretrain wrote (--model)",
      );
      const lock = await assertRejects(() => lockModelDir(dir, "pretrain"), UserError);
      assertEquals(
        lock.message,
        `Cannot use ${dir} as the model directory: it is ${what}: give a directory of its own ` +
          "(it is made if missing)",
      );
      assertEquals(await Deno.stat(join(dir, LOCK_FILE)).catch(() => null), null);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("readCheckpointState names up to three wrong fields of a damaged state.json, the writer and --force", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const schema = z.object({ a: z.number(), b: z.number(), c: z.number(), d: z.number() });
    await Deno.writeTextFile(join(dir, "state.json"), JSON.stringify({ a: 1, b: 2, c: 3, d: 4 }));
    assertEquals(await readCheckpointState(dir, schema, "pretrain"), { a: 1, b: 2, c: 3, d: 4 });
    await Deno.writeTextFile(
      join(dir, "state.json"),
      JSON.stringify({ a: "1", b: "2", c: "3", d: "4" }),
    );
    const e = await assertRejects(() => readCheckpointState(dir, schema, "pretrain"), UserError);
    assert(e.message.startsWith(`Cannot resume from ${join(dir, "state.json")}: a: `), e.message);
    assert(e.message.includes("; b: ") && e.message.includes("; c: "), e.message);
    assert(!e.message.includes("; d: "), e.message);
    assert(
      e.message.endsWith(
        "expected a checkpoint as pretrain writes it (damaged or edited?): pass --force to start over",
      ),
      e.message,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "lockModelDir refuses a lock that is a broken link, naming it, rather than trying to take it forever",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const lockPath = join(dir, LOCK_FILE);
    try {
      // Its name exists (no lock can be linked there) and reading it finds no file.
      await Deno.symlink(join(dir, "nowhere"), lockPath);
      await assertRejects(
        () => lockModelDir(dir, "pretrain"),
        UserError,
        `Cannot lock model directory ${dir}: ${lockPath} exists but cannot be read (a broken ` +
          "link?): delete it",
      );
      assertEquals((await Deno.lstat(lockPath)).isSymlink, true);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
