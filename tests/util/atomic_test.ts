import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import {
  checkOutputTarget,
  interruptNotes,
  keepOnInterrupt,
  liveTemporaryPaths,
  OUTPUT_LISTING,
  processAlive,
  removeLiveTemporaries,
  removeLockOnInterrupt,
  removeStaleTemporaries,
  restoreMovedAside,
  setAside,
  writeDirAtomic,
  writeFailure,
  writeFileAtomic,
  writeIntoOutput,
  writeOutputListing,
} from "../../lib/util/atomic.ts";
import { UserError } from "../../lib/util/errors.ts";
import { DEAD_PID as DEAD, HAS_PROC as hasProc, spawnZombie } from "../_proc.ts";

Deno.test({
  name:
    "a killed run's temporaries are removed by the next write; live ones and moved-aside outputs stay",
  ignore: !hasProc,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const now = Date.now().toString(36);
    try {
      const names = [
        `.ds.${DEAD}.m1a2b3.x9y8z7.tmp`, // a killed run's: removed
        `.ds.${Deno.pid}.m1a2b3.x9y8z7.tmp`, // this process's: kept
        `.ds.1.${now}.x9y8z7.tmp`, // a running process's (init): kept
        `.ds.1.${now}.x9y8z7.old`, // an output a running process is replacing: kept
        `.dsx.${DEAD}.m1a2b3.x9y8z7.tmp`, // another target's: kept
      ];
      for (const n of names) await Deno.mkdir(`${dir}/${n}`);
      await writeDirAtomic(`${dir}/ds`, (tmp) => Deno.writeTextFile(`${tmp}/meta.json`, "{}"));
      const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
      assertEquals(left, ["ds", ...names.slice(1)].sort());
      assertEquals(await removeStaleTemporaries(`${dir}/ds`), []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "writeFileAtomic removes a killed writer's temporary of the same file, and only that",
  ignore: !hasProc,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const stale = `.model.json.${DEAD}.m1a2b3.x9y8z7.tmp`;
      const other = `.log.csv.${DEAD}.m1a2b3.x9y8z7.tmp`;
      for (const n of [stale, other]) await Deno.writeTextFile(`${dir}/${n}`, "half");
      await writeFileAtomic(`${dir}/model.json`, "{}");
      const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
      assertEquals(left, [other, "model.json"].sort());
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "a killed process that nobody reaped (a zombie) counts as dead: its temporaries are removed",
  ignore: !hasProc,
  fn: async () => {
    const z = await spawnZombie(5);
    const zombie = z.pid, child = z.parent;
    const dir = await Deno.makeTempDir();
    try {
      assert(Deno.statSync(`/proc/${zombie}`).isDirectory, "the zombie is still listed");
      assertEquals(processAlive(zombie), false);
      assertEquals(processAlive(Deno.pid), true);
      assertEquals(processAlive(child.pid), true);
      const stale = `${dir}/.ds.${zombie}.m1a2b3.x9y8z7.tmp`;
      await Deno.mkdir(stale);
      assertEquals(await removeStaleTemporaries(`${dir}/ds`), [stale]);
    } finally {
      await z.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("removeLiveTemporaries removes the directory being written, and only it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let removed: string[] = [];
    await writeDirAtomic(`${dir}/ds`, async (tmp) => {
      await Deno.writeTextFile(`${tmp}/half.npy`, "partial");
      removed = removeLiveTemporaries(); // what the CLI's Ctrl-C handler calls
      assertEquals(removed, [tmp]);
      // The fill goes on to fail, as the process would have exited.
      throw new Error("interrupted");
    }).catch((e) => assert((e as Error).message !== "", String(e)));
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), []);
    assertEquals(removeLiveTemporaries(), []);
    assertEquals(removed.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("removeLiveTemporaries tries a temporary's removal 3 times: one failed twice (not empty: a file made inside it as it went) goes at the third, one failed 3 times is left, without an error", async () => {
  const dir = await Deno.makeTempDir();
  const { removeSync } = Deno;
  try {
    for (const [failures, removed] of [[2, true], [3, false]] as const) {
      let left = failures;
      let tmp = "", there: boolean | null = null;
      Deno.removeSync = (path, options) => {
        if (path === tmp && left-- > 0) {
          // As Linux fails a recursive removal where a file appears in a directory it emptied.
          throw Object.assign(new Error(`Directory not empty (os error 39): remove '${path}'`), {
            code: "ENOTEMPTY",
          });
        }
        removeSync(path, options);
      };
      await writeDirAtomic(`${dir}/ds`, async (t) => {
        tmp = t;
        await Deno.writeTextFile(`${tmp}/half.npy`, "partial");
        assertEquals(removeLiveTemporaries(), removed ? [tmp] : [], `${failures} failures`);
        there = await Deno.stat(tmp).then(() => true, () => false);
        throw new Error("interrupted");
      }).catch((e) => assert((e as Error).message !== "", String(e)));
      Deno.removeSync = removeSync;
      assertEquals(there, !removed, `${failures} failures`);
    }
  } finally {
    Deno.removeSync = removeSync;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("removeLiveTemporaries removes an unfinished output kept inside a temporary with it, and no note names it as kept", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let notes: string[] = [];
    await writeDirAtomic(`${dir}/demo`, async (tmp) => {
      // A resumable dataset inside a demo being built.
      await Deno.mkdir(`${tmp}/.dataset.partial`);
      keepOnInterrupt(`${tmp}/.dataset.partial`, () => "kept the dataset: resume it");
      removeLiveTemporaries();
      notes = interruptNotes();
      throw new Error("interrupted");
    }).catch((e) => assert((e as Error).message !== "", String(e)));
    assertEquals(notes, []);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Whether strace can trace a child here (it needs ptrace, which containers may refuse). */
const straceWorks = (() => {
  try {
    const args = ["-o", "/dev/null", "true"];
    return new Deno.Command("strace", { args, stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
})();

Deno.test({
  name:
    "writeFileAtomic and writeDirAtomic flush the data before the rename and the directory after (strace)",
  ignore: !straceWorks,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const atomic = new URL("../../lib/util/atomic.ts", import.meta.url).href;
      const script = `${dir}/write.ts`;
      await Deno.writeTextFile(
        script,
        `import { writeDirAtomic, writeFileAtomic } from ${JSON.stringify(atomic)};\n` +
          `await writeFileAtomic(${JSON.stringify(`${dir}/out/x.json`)}, "{}");\n` +
          `await writeDirAtomic(${JSON.stringify(`${dir}/out/ds`)}, ` +
          `(tmp) => Deno.writeTextFile(tmp + "/meta.json", "{}"));\n`,
      );
      await Deno.mkdir(`${dir}/out`);
      const log = `${dir}/strace.txt`;
      const calls = "openat,fsync,fdatasync,rename,renameat,renameat2";
      const out = await new Deno.Command("strace", {
        args: ["-f", "-e", `trace=${calls}`, "-o", log, Deno.execPath(), "run", "-A", script],
        stdout: "null",
        stderr: "piped",
      }).output();
      assert(out.success, new TextDecoder().decode(out.stderr));
      // The calls in order, as tokens; the syncs are told apart by their order only (Deno
      // duplicates descriptors, so their numbers do not match the openat's).
      const o = `${dir}/out`;
      const tokens: string[] = [];
      for (const line of (await Deno.readTextFile(log)).split("\n")) {
        if (/\bfdatasync\(/.test(line)) tokens.push("datasync");
        else if (/\bfsync\(/.test(line)) tokens.push("sync");
        else if (/\brename(at2?)?\(/.test(line) && line.includes(`"${o}/x.json"`)) {
          tokens.push("rename x.json");
        } else if (/\brename(at2?)?\(/.test(line) && line.includes(`"${o}/ds"`)) {
          tokens.push("rename ds");
        } else if (line.includes(`"${o}/.x.json.`) && line.includes("O_CREAT")) {
          tokens.push("create x.json");
        } else if (/"[^"]*\/\.ds\.[^"]*\/meta\.json"/.test(line) && !line.includes("O_CREAT")) {
          tokens.push("reopen meta.json");
        } else if (/"[^"]*\/\.ds\.[^"/]*\.tmp", O_RDONLY/.test(line) && !/O_DIRECTORY/.test(line)) {
          tokens.push("open ds/"); // opened to be flushed, not listed
        } else if (line.includes(`"${o}", O_RDONLY`)) tokens.push("open out/");
      }
      const at = (t: string, from = 0) => {
        const i = tokens.indexOf(t, from);
        assert(i >= 0, `no "${t}" after call ${from} in [${tokens.join(", ")}]`);
        return i;
      };
      // The file: created, its data flushed, renamed, then its directory flushed.
      const created = at("create x.json");
      const renamed = at("rename x.json", created);
      assert(tokens.slice(created, renamed).includes("datasync"), tokens.join(", "));
      at("sync", at("open out/", renamed));
      // The directory: its file flushed before the rename, the parent after.
      const renamedDs = at("rename ds", renamed);
      at("datasync", at("reopen meta.json", renamed));
      assert(tokens.lastIndexOf("datasync", renamedDs) > renamed, tokens.join(", "));
      // The new directory itself too, so that the names of its files survive a crash.
      assert(at("sync", at("open ds/", renamed)) < renamedDs, tokens.join(", "));
      at("sync", at("open out/", renamedDs));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("writeFileAtomic writes all of a large file, and a failed write leaves no temporary", async () => {
  const dir = await Deno.makeTempDir();
  const big = new Uint8Array(300_000).map((_, i) => (i * 31) % 251);
  await writeFileAtomic(`${dir}/big.bin`, big);
  assertEquals(await Deno.readFile(`${dir}/big.bin`), big);
  // The rename onto a non-empty directory fails: the error passes on, the temporary goes.
  await Deno.mkdir(`${dir}/taken/sub`, { recursive: true });
  await assertRejects(() => writeFileAtomic(`${dir}/taken`, "x"));
  const names = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
  assertEquals(names, ["big.bin", "taken"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeFileAtomic's beforeRename runs with the new bytes on the disk beside the old file, just before they replace it; its error passes on as it is, leaving the old file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/w.bin`;
  await writeFileAtomic(path, "old");
  const seen: string[] = [];
  await writeFileAtomic(path, "new", async () => {
    seen.push(await Deno.readTextFile(path));
    for await (const e of Deno.readDir(dir)) {
      if (e.name !== "w.bin") seen.push(await Deno.readTextFile(`${dir}/${e.name}`));
    }
  });
  assertEquals([seen, await Deno.readTextFile(path)], [["old", "new"], "new"]);
  const why = new Error("stale outputs could not be removed");
  const e = await assertRejects(() => writeFileAtomic(path, "newer", () => Promise.reject(why)));
  assert(e === why, `not the hook's own error: ${e}`);
  // A write of the hook's own that the disk refused names its file, not the one written here.
  const full = writeFailure(
    `${dir}/model.json`,
    Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" }),
  );
  const e2 = await assertRejects(() => writeFileAtomic(path, "newer", () => Promise.reject(full)));
  assert(e2 === full, `not the hook's own error: ${e2}`);
  assertEquals(await Deno.readTextFile(path), "new");
  assertEquals((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["w.bin"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Ctrl-C after a writeFileAtomic hook set outputs aside and before the rename puts them back (the file as it was); after the rename it removes them", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/w.bin`;
  await writeFileAtomic(path, "old");
  await Deno.writeTextFile(`${dir}/stale.csv`, "made from old");
  await Deno.mkdir(`${dir}/stale_dir`);
  await Deno.writeTextFile(`${dir}/stale_dir/x`, "x");
  const stop = new Error("exited"); // the handler exits: nothing after it runs
  const e = await assertRejects(() =>
    writeFileAtomic(path, "new", () => {
      setAside([`${dir}/stale.csv`, `${dir}/stale_dir`]);
      removeLiveTemporaries(); // what the CLI's Ctrl-C handler calls, between two awaits
      return Promise.reject(stop);
    })
  );
  assert(e === stop, `${e}`);
  assertEquals(interruptNotes(), []);
  const names = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
  assertEquals(names, ["stale.csv", "stale_dir", "w.bin"]);
  assertEquals(
    [
      await Deno.readTextFile(path),
      await Deno.readTextFile(`${dir}/stale.csv`),
      await Deno.readTextFile(`${dir}/stale_dir/x`),
    ],
    ["old", "made from old", "x"],
  );
  // Settled (the rename made): an interruption removes them as the temporaries they are.
  const aside = setAside([`${dir}/stale.csv`]);
  aside.settle();
  removeLiveTemporaries();
  assertEquals((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(), [
    "stale_dir",
    "w.bin",
  ]);
  // One that cannot go back (something took its name meanwhile) is named among the notes,
  // before those of the outputs kept, and stays where its note says: no longer a temporary.
  setAside([`${dir}/stale_dir`]);
  await Deno.mkdir(`${dir}/stale_dir/sub`, { recursive: true });
  keepOnInterrupt(`${dir}/kept`, () => `kept ${dir}/kept`);
  removeLiveTemporaries();
  const [note, ...more] = interruptNotes();
  keepOnInterrupt(`${dir}/kept`, null);
  assertEquals(more, [`kept ${dir}/kept`]);
  assert(
    note.startsWith(`interrupted; putting back ${dir}/stale_dir failed (`) &&
      note.includes(`): it is at ${dir}/.stale_dir.`),
    note,
  );
  assertEquals(await Deno.readTextFile(`${note.slice(note.lastIndexOf(" ") + 1)}/x`), "x");
  assertEquals(interruptNotes(), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeFileAtomic settles what its hook set aside in the turn of its rename: Ctrl-C at its next await (flushing the directory) removes them beside the new file, and puts nothing back", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/w.bin`;
  await writeFileAtomic(path, "old");
  await Deno.writeTextFile(`${dir}/stale.csv`, "made from old");
  const { open, rename } = Deno;
  let stopped = 0;
  // What the CLI's Ctrl-C handler calls, run where the write awaits after its rename: at the
  // directory's flush (syncDir), or where a rename would resolve.
  const stop = () => (stopped++, removeLiveTemporaries());
  Deno.open = (p, o) => (p === dir && stop(), open(p, o));
  Deno.rename = (a, b) => rename(a, b).then(() => void stop());
  try {
    await writeFileAtomic(path, "new", () => Promise.resolve(setAside([`${dir}/stale.csv`])));
  } finally {
    Object.assign(Deno, { open, rename });
  }
  assertEquals(stopped, 1);
  assertEquals(interruptNotes(), []);
  assertEquals((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["w.bin"]);
  assertEquals(await Deno.readTextFile(path), "new");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeFileAtomic removes what its hook set aside once the new file is in place, and where the rename fails and they cannot go back either, its error says where they are", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/w.bin`;
  await writeFileAtomic(path, "old");
  await Deno.writeTextFile(`${dir}/stale.csv`, "made from old");
  await writeFileAtomic(path, "new", () => Promise.resolve(setAside([`${dir}/stale.csv`])));
  assertEquals((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["w.bin"]);
  // A directory where the new file goes (its rename fails), and one where the stale output was.
  await Deno.remove(path);
  await Deno.mkdir(`${path}/in`, { recursive: true });
  await Deno.writeTextFile(`${dir}/stale.csv`, "made from old");
  const e = await assertRejects(() =>
    writeFileAtomic(path, "newer", async () => {
      const aside = setAside([`${dir}/stale.csv`]);
      await Deno.mkdir(`${dir}/stale.csv/in`, { recursive: true });
      return aside;
    })
  );
  const at = e.message.match(/; putting back (.+) failed \(.+\): it is at (.+)$/);
  assert(at && at[1] === `${dir}/stale.csv`, e.message);
  assertEquals(await Deno.readTextFile(at[2]), "made from old");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("setAside passes over a path that does not exist and moves the ones after it", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/a.csv`, "a");
  await Deno.writeTextFile(`${dir}/c.csv`, "c");
  const aside = setAside([`${dir}/a.csv`, `${dir}/none.csv`, `${dir}/c.csv`]);
  const names = () => Array.from(Deno.readDirSync(dir), (e) => e.name).sort();
  assertEquals(names().filter((n) => !n.startsWith(".")), []);
  aside.restore(new Error("the rename failed"));
  assertEquals(names(), ["a.csv", "c.csv"]);
  assertEquals([Deno.readTextFileSync(`${dir}/a.csv`), Deno.readTextFileSync(`${dir}/c.csv`)], [
    "a",
    "c",
  ]);
  // Discarded (the new file in place): removed, and no longer temporaries of this process.
  const done = setAside([`${dir}/a.csv`]);
  done.settle();
  await done.discard();
  assertEquals(names(), ["c.csv"]);
  assertEquals(liveTemporaryPaths().filter((t) => t.startsWith(dir)), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("setAside that cannot move a path (no permission) puts back the ones it had moved and throws that error", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/a.csv`, "a");
  await Deno.writeTextFile(`${dir}/b.csv`, "b");
  const { renameSync } = Deno;
  const denied = new Deno.errors.PermissionDenied("Permission denied (os error 13)");
  Deno.renameSync = (from, to) => {
    if (String(from) === `${dir}/b.csv`) throw denied;
    renameSync(from, to);
  };
  try {
    const e = assertThrows(() => setAside([`${dir}/a.csv`, `${dir}/b.csv`]));
    assert(e === denied, `${e}`);
  } finally {
    Deno.renameSync = renameSync;
  }
  assertEquals(Array.from(Deno.readDirSync(dir), (e) => e.name).sort(), ["a.csv", "b.csv"]);
  assertEquals(liveTemporaryPaths().filter((t) => t.startsWith(dir)), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeDirAtomic told to replace an output that is gone by the time of the swap (removed meanwhile) writes it there", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/ds`;
  await writeDirAtomic(out, (tmp) => Deno.writeTextFile(`${tmp}/meta.json`, "1"));
  const replace = await checkOutputTarget(out, { force: true });
  assertEquals(replace, true);
  await writeDirAtomic(out, async (tmp) => {
    await Deno.remove(out, { recursive: true });
    await Deno.writeTextFile(`${tmp}/meta.json`, "2");
  }, { force: true, replace });
  assertEquals(await Deno.readTextFile(`${out}/meta.json`), "2");
  assertEquals(Array.from(Deno.readDirSync(dir), (e) => e.name), ["ds"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeDirAtomic with force replaces the old directory and leaves nothing beside it; a failed fill leaves nothing", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/out`;
  const fill = (v: string) => (t: string) => Deno.writeTextFile(`${t}/result.json`, v);
  await writeDirAtomic(out, fill("1"), { marker: "result.json" });
  await writeDirAtomic(out, fill("2"), { force: true, marker: "result.json" });
  assertEquals(await Deno.readTextFile(`${out}/result.json`), "2");
  await assertRejects(
    () => writeDirAtomic(`${dir}/other`, () => Promise.reject(new Error("fill failed"))),
    Error,
    "fill failed",
  );
  const names = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name);
  assertEquals(names, ["out"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("force replaces an output directory only while it holds what its listing names: a file or directory a user added there, or no listing, is refused by name", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/out`;
  const fill = (t: string) =>
    Promise.all([
      Deno.writeTextFile(`${t}/result.json`, "{}"),
      Deno.mkdir(`${t}/figures`),
    ]).then(() => {});
  await writeDirAtomic(out, fill, { marker: "result.json" });
  assertEquals(JSON.parse(await Deno.readTextFile(`${out}/${OUTPUT_LISTING}`)), {
    kind: "result.json",
    entries: ["figures", "result.json"],
  });
  // A model trained into it and notes beside it: --force would delete them.
  await Deno.mkdir(`${out}/model`);
  await Deno.writeTextFile(`${out}/notes.txt`, "mine");
  await assertRejects(
    () => writeDirAtomic(out, fill, { force: true, marker: "result.json" }),
    Deno.errors.AlreadyExists,
    `Cannot replace ${out}: it holds model, notes.txt, which seisdec did not write there and ` +
      `--force would delete: move them out, or choose another output directory`,
  );
  assertEquals(await Deno.readTextFile(`${out}/notes.txt`), "mine");
  // Six of them: five named, then how many more.
  for (const f of ["a", "b", "c", "d"]) await Deno.writeTextFile(`${out}/${f}.txt`, f);
  await assertRejects(
    () => writeDirAtomic(out, fill, { force: true, marker: "result.json" }),
    Deno.errors.AlreadyExists,
    `it holds a.txt, b.txt, c.txt, d.txt, model and 1 more, which seisdec did not write`,
  );
  for (const f of ["a", "b", "c", "d"]) await Deno.remove(`${out}/${f}.txt`);
  await Deno.remove(`${out}/model`);
  await Deno.remove(`${out}/notes.txt`);
  await writeDirAtomic(out, fill, { force: true, marker: "result.json" });
  // A directory that only holds a file of the marker's name (another program's result.json):
  // refused, as is an output of another kind.
  await Deno.mkdir(`${dir}/theirs`);
  await Deno.writeTextFile(`${dir}/theirs/result.json`, "{}");
  await assertRejects(
    () => writeDirAtomic(`${dir}/theirs`, fill, { force: true, marker: "result.json" }),
    Deno.errors.AlreadyExists,
    `it holds result.json but no ${OUTPUT_LISTING} of this kind`,
  );
  await assertRejects(
    () => writeDirAtomic(out, fill, { force: true, marker: "meta.json" }),
    Deno.errors.AlreadyExists,
    "it holds no meta.json",
  );
  assert((await Deno.stat(`${dir}/theirs/result.json`)).isFile);
  // A listing of another kind of output that names the marker: refused all the same.
  await Deno.mkdir(`${dir}/mixed`);
  await Deno.writeTextFile(`${dir}/mixed/meta.json`, "{}");
  await Deno.writeTextFile(
    `${dir}/mixed/${OUTPUT_LISTING}`,
    JSON.stringify({ kind: "result.json", entries: ["meta.json"] }),
  );
  await assertRejects(
    () => writeDirAtomic(`${dir}/mixed`, fill, { force: true, marker: "meta.json" }),
    Deno.errors.AlreadyExists,
    `it holds meta.json but no ${OUTPUT_LISTING} of this kind`,
  );
  assertEquals(await Deno.readTextFile(`${dir}/mixed/meta.json`), "{}");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a full disk fails a directory's write with one error naming the output; the old one stays whole", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/checkpoint`;
  try {
    await writeDirAtomic(out, (t) => Deno.writeTextFile(`${t}/state.json`, "old"));
    const full = () =>
      Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" });
    for (
      const thrown of [
        full(),
        // As a nested writeFileAtomic reports it, naming the temporary: the target is named.
        new UserError("Cannot write x/.tmp/w: no space", { cause: full() }),
      ]
    ) {
      const e = await assertRejects(
        () =>
          writeDirAtomic(out, async (t) => {
            await Deno.writeTextFile(`${t}/state.json`, "new");
            throw thrown;
          }, { force: true }),
        UserError,
      );
      assertEquals(
        e.message,
        `Cannot write ${out}: No space left on device (os error 28): free space there, ` +
          "or choose another output path",
      );
    }
    assertEquals(await Deno.readTextFile(`${out}/state.json`), "old");
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["checkpoint"]);
    // Other errors pass on as they are.
    const other = new Error("disk on fire");
    assertEquals(writeFailure(out, other), other);
    // Each with what to do about it: a read-only disk is not helped by freeing space.
    for (
      const [code, text, advice] of [
        ["EROFS", "Read-only file system (os error 30)", "the file system is read-only"],
        ["ENAMETOOLONG", "File name too long (os error 36)", "seisdec's temporaries add"],
        ["EACCES", "Permission denied (os error 13)", "no permission to write there"],
      ]
    ) {
      const err = writeFailure(out, Object.assign(new Error(text), { code }));
      assert(err instanceof UserError, code);
      assert(err.message.startsWith(`Cannot write ${out}: ${text}: ${advice}`), err.message);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "an output a killed run had moved aside to replace it is put back (the newest), and stale leftovers go",
  ignore: !hasProc,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const out = `${dir}/checkpoint`;
      const aside = (t: number, v: string) => {
        const p = `${dir}/.checkpoint.${DEAD}.${t.toString(36)}.x9y8z7.old`;
        Deno.mkdirSync(p);
        Deno.writeTextFileSync(`${p}/state.json`, v);
        return p;
      };
      const older = aside(1_700_000_000_000, "older");
      const newer = aside(1_700_000_000_500, "newer");
      const live = `${dir}/.checkpoint.${Deno.pid}.m1a2b3.x9y8z7.old`;
      Deno.mkdirSync(live);
      assertEquals(await restoreMovedAside(out), newer);
      assertEquals(await Deno.readTextFile(`${out}/state.json`), "newer");
      assert(!(await Deno.stat(older).catch(() => null)), "the older one stays");
      assert(await Deno.stat(live), "this process's own swap was touched");
      // With the output in place, a dead run's leftover is removed and nothing is put back.
      aside(1_700_000_001_000, "leftover");
      assertEquals(await restoreMovedAside(out), null);
      assertEquals(await Deno.readTextFile(`${out}/state.json`), "newer");
      assertEquals(
        [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
        [
          live.slice(dir.length + 1),
          "checkpoint",
        ].sort(),
      );
      // A write of the output puts it back first, so --force replaces it and nothing is lost.
      await Deno.remove(out, { recursive: true });
      aside(1_700_000_002_000, "put back");
      await assertRejects(
        () => writeDirAtomic(out, (t) => Deno.writeTextFile(`${t}/state.json`, "x")),
        Deno.errors.AlreadyExists,
      );
      assertEquals(await Deno.readTextFile(`${out}/state.json`), "put back");
      // A symbolic link made where the output was (dangling, or to another directory) is the
      // user's: the output moved aside is kept, not removed as a leftover, and the write is
      // refused as for any link; once the link is gone, it is put back.
      await Deno.remove(out, { recursive: true });
      const kept = aside(1_700_000_003_000, "kept");
      await Deno.symlink(`${dir}/nowhere`, out);
      assertEquals(await restoreMovedAside(out), null);
      await assertRejects(
        () => writeDirAtomic(out, (t) => Deno.writeTextFile(`${t}/state.json`, "x")),
        Deno.errors.AlreadyExists,
        "it is a symbolic link",
      );
      assertEquals(await Deno.readTextFile(`${kept}/state.json`), "kept");
      await Deno.remove(out);
      assertEquals(await restoreMovedAside(out), kept);
      assertEquals(await Deno.readTextFile(`${out}/state.json`), "kept");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "a temporary whose pid now belongs to a process started after it was made (pid reused) is stale",
  ignore: !hasProc,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const other = new Deno.Command("sleep", { args: ["30"] }).spawn();
    try {
      const tag = (ms: number) => `${other.pid}.${ms.toString(36)}.x9y8z7`;
      const old = `.ds.${tag(Date.now() - 3600_000)}.tmp`; // an hour before it started
      const now = `.ds.${tag(Date.now() + 1000)}.tmp`; // while it runs: may be its own
      for (const n of [old, now]) await Deno.mkdir(`${dir}/${n}`);
      assertEquals(processAlive(other.pid, Date.now() - 3600_000), false);
      assertEquals(processAlive(other.pid, Date.now()), true);
      assertEquals(await removeStaleTemporaries(`${dir}/ds`), [`${dir}/${old}`]);
      assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), [now]);
    } finally {
      other.kill("SIGKILL");
      await other.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a registered temporary exists from the moment it is registered, so Ctrl-C's cleanup never races its creation", async () => {
  const dir = await Deno.makeTempDir();
  let writes: Promise<unknown> = Promise.resolve();
  try {
    const exists = (p: string) => {
      try {
        Deno.statSync(p);
        return true;
      } catch {
        return false;
      }
    };
    const data = new Uint8Array(1 << 20).fill(7);
    let checks = 0;
    for (let i = 0; i < 20; i++) {
      const target = `${dir}/f${i}.bin`;
      const dirTarget = `${dir}/d${i}`;
      let done = false;
      writes = Promise.all([
        writeFileAtomic(target, data),
        writeDirAtomic(dirTarget, async (tmp) => {
          await Deno.writeFile(`${tmp}/a.bin`, data);
          await Deno.writeFile(`${tmp}/b.bin`, data);
        }),
      ]).then(() => done = true);
      // Every turn of the event loop in which a signal handler could run: each live temporary
      // is on the disk (or already renamed into place). An asynchronous create, on another
      // thread, left a moment where it was registered but not yet made.
      while (!done) {
        for (const t of liveTemporaryPaths()) {
          const into = t.includes(`.f${i}.bin.`) ? target : dirTarget;
          assert(exists(t) || exists(into), `${t} is registered but neither it nor ${into} exists`);
          checks++;
        }
        // An op of its own, so that the checks run among the writers' op completions.
        await Deno.stat(dir);
      }
      await writes;
    }
    assert(checks > 20, `only ${checks} checks`);
    assertEquals(liveTemporaryPaths(), []);
  } finally {
    await writes.catch(() => {}); // a failed check leaves them running
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an output made by another process while this one writes it, or one that is (or holds) the working directory, is refused by name, not with a stack trace", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/out`;
  const fill = (t: string) => Deno.writeTextFile(`${t}/result.json`, "1");
  // A rival writes `out` between this writer's check and its rename.
  const e = await assertRejects(
    () =>
      writeDirAtomic(out, async (t) => {
        await fill(t);
        await writeDirAtomic(out, fill, { marker: "result.json" });
      }, { marker: "result.json" }),
    Deno.errors.AlreadyExists,
    `Cannot write ${out}: another process wrote it while this one ran`,
  );
  assert(e.message.includes("--force"), e.message);
  assertEquals((await Array.fromAsync(Deno.readDir(dir))).map((x) => x.name), ["out"]);
  // --out . (and a directory holding the working one) cannot be renamed away.
  const here = Deno.cwd();
  try {
    Deno.chdir(out);
    for (const [p, what] of [[".", "is"], [dir, "holds"]]) {
      await assertRejects(
        () => writeDirAtomic(p, fill, { force: true, marker: "result.json" }),
        Deno.errors.AlreadyExists,
        `it ${what} the current directory`,
      );
    }
  } finally {
    Deno.chdir(here);
  }
  // A sibling whose name begins with the output's (out2 beside out) holds nothing of it.
  await Deno.mkdir(`${dir}/out2`);
  try {
    Deno.chdir(`${dir}/out2`);
    await writeDirAtomic(out, fill, { force: true, marker: "result.json" });
  } finally {
    Deno.chdir(here);
  }
  await Deno.remove(`${dir}/out2`);
  assertEquals(await Deno.readTextFile(`${out}/result.json`), "1");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("an output another run wrote after the caller's own check, during its work, is refused as that run's, with --force too, and left whole", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/out`;
  const fill = (t: string) => Deno.writeTextFile(`${t}/result.json`, "mine");
  const rival = (t: string) => Deno.writeTextFile(`${t}/result.json`, "rival");
  // cluster and encode check before their long work (absent: nothing to replace), then a
  // rival run with the same --out finishes first.
  for (const force of [false, true]) {
    const replace = await checkOutputTarget(out, { force, marker: "result.json" });
    assertEquals(replace, false);
    await writeDirAtomic(out, rival, { marker: "result.json" });
    await assertRejects(
      () => writeDirAtomic(out, fill, { force, marker: "result.json", replace }),
      Deno.errors.AlreadyExists,
      `Cannot write ${out}: another process wrote it while this one ran`,
    );
    assertEquals(await Deno.readTextFile(`${out}/result.json`), "rival");
    await Deno.remove(out, { recursive: true });
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("an empty directory is filled without --force; a file is named as one at once; a directory of another kind is refused", async () => {
  const dir = await Deno.makeTempDir();
  const fill = (t: string) => Deno.writeTextFile(`${t}/result.json`, "1");
  await Deno.mkdir(`${dir}/empty`);
  await writeDirAtomic(`${dir}/empty`, fill, { marker: "result.json" });
  assertEquals(await Deno.readTextFile(`${dir}/empty/result.json`), "1");
  // Two writers into one empty directory: the second to finish is refused, and the first's
  // output stays whole (the empty directory is not replaced: a rename onto it while empty).
  await Deno.mkdir(`${dir}/both`);
  const rival = (t: string) => Deno.writeTextFile(`${t}/result.json`, "rival");
  await assertRejects(
    () =>
      writeDirAtomic(`${dir}/both`, async (t) => {
        await fill(t);
        await writeDirAtomic(`${dir}/both`, rival, { marker: "result.json" });
      }, { marker: "result.json" }),
    Deno.errors.AlreadyExists,
    "another process wrote it while this one ran",
  );
  assertEquals(await Deno.readTextFile(`${dir}/both/result.json`), "rival");
  await Deno.writeTextFile(`${dir}/afile`, "x");
  await assertRejects(
    () => writeDirAtomic(`${dir}/afile`, fill, { marker: "result.json" }),
    Deno.errors.AlreadyExists,
    "it is a file, not an output directory",
  );
  await Deno.remove(dir, { recursive: true });
});

/** Writes `path` with --force; it must be refused as a symbolic link to `target`, before the work. */
async function assertLinkRefused(path: string, target: string): Promise<void> {
  let filled = false;
  await assertRejects(
    () =>
      writeDirAtomic(path, () => {
        filled = true;
        return Promise.resolve();
      }, { force: true, marker: "result.json" }),
    Deno.errors.AlreadyExists,
    `it is a symbolic link (to ${target})`,
  );
  assert(!filled, "refused before the work");
}

Deno.test("an output that is a symbolic link is refused, naming its target, before any work", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/real`);
    await Deno.symlink(`${dir}/real`, `${dir}/link`);
    await assertLinkRefused(`${dir}/link`, await Deno.realPath(`${dir}/real`));
    assert((await Deno.lstat(`${dir}/link`)).isSymlink, "the link stays");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an output that is a dangling symbolic link (its target gone) is refused too, naming the target it points to, and stays", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.symlink(`${dir}/gone`, `${dir}/link`);
    await assertLinkRefused(`${dir}/link`, `${dir}/gone`);
    assertEquals(Deno.readLinkSync(`${dir}/link`), `${dir}/gone`);
    assert(!(await Deno.stat(`${dir}/gone`).catch(() => null)), "nothing written at the target");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an output path ending in '..' or '.' is refused, naming the directory it means, and nothing is made or moved", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fill = (t: string) => Deno.writeTextFile(`${t}/result.json`, "new");
    await writeDirAtomic(`${dir}/out`, (t) => Deno.writeTextFile(`${t}/result.json`, "old"), {
      marker: "result.json",
    });
    await Deno.mkdir(`${dir}/out/sub`);
    const real = await Deno.realPath(`${dir}/out`);
    const cases = [[`${dir}/out/sub/..`, ".."], [`${dir}/out/.`, "."], [
      `${dir}/out/sub/../`,
      "..",
    ]];
    for (const [p, last] of cases) {
      await assertRejects(
        () => writeDirAtomic(p, fill, { force: true, marker: "result.json" }),
        Deno.errors.AlreadyExists,
        `Cannot write ${p}: it ends in '${last}': name the directory itself (--out ${real})`,
      );
    }
    // A missing directory's '..' made that directory before (mkdir of the parent).
    await assertRejects(
      () => writeDirAtomic(`${dir}/new/..`, fill, { marker: "result.json" }),
      Deno.errors.AlreadyExists,
      `Cannot write ${dir}/new/..: it ends in '..': name the directory itself`,
    );
    assertEquals(await Deno.readTextFile(`${dir}/out/result.json`), "old");
    assertEquals((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["out"]);
    assertEquals(
      (await Array.fromAsync(Deno.readDir(`${dir}/out`))).map((e) => e.name).sort(),
      [".seisdec-output.json", "result.json", "sub"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("processAlive without /proc (macOS, Windows) asks the system by signal 0: a dead pid is dead, this process alive, and unknown where a later process may reuse the pid", () => {
  assertEquals(processAlive(DEAD, undefined, false), false);
  assertEquals(processAlive(Deno.pid, undefined, false), true);
  assertEquals(processAlive(Deno.pid, Date.now() - 3600_000, false), null);
});

Deno.test("a desktop's own files (macOS .DS_Store; Windows Thumbs.db, desktop.ini) neither keep an output from being replaced nor an empty directory from being filled, on that system alone and as plain files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fill = (v: string) => (t: string) => Deno.writeTextFile(`${t}/result.json`, v);
    const os = Deno.build.os;
    const desktop = os === "darwin" ? ".DS_Store" : os === "windows" ? "Thumbs.db" : null;
    await writeDirAtomic(`${dir}/out`, fill("1"), { marker: "result.json" });
    // Elsewhere (Linux) such a name is a user's file like any other.
    const name = desktop ?? ".DS_Store";
    await Deno.writeTextFile(`${dir}/out/${name}`, "desktop");
    const force = () =>
      writeDirAtomic(`${dir}/out`, fill("2"), { force: true, marker: "result.json" });
    if (desktop) {
      await force();
      assertEquals(await Deno.readTextFile(`${dir}/out/result.json`), "2");
      await Deno.mkdir(`${dir}/empty`);
      await Deno.writeTextFile(`${dir}/empty/${desktop}`, "desktop");
      await writeDirAtomic(`${dir}/empty`, fill("3"), { marker: "result.json" });
      assertEquals(await Deno.readTextFile(`${dir}/empty/result.json`), "3");
      // As a directory it is the user's.
      await Deno.mkdir(`${dir}/out/${desktop}.d`);
      await Deno.mkdir(`${dir}/out2`);
      await Deno.mkdir(`${dir}/out2/${desktop}`);
      await assertRejects(
        () => writeDirAtomic(`${dir}/out2`, fill("4"), { marker: "result.json" }),
        Deno.errors.AlreadyExists,
      );
    } else {
      await assertRejects(force, Deno.errors.AlreadyExists, name);
      assertEquals(await Deno.readTextFile(`${dir}/out/${name}`), "desktop");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a swap whose new directory cannot take its place puts the old one back", async () => {
  const dir = await Deno.makeTempDir();
  const renameSync = Deno.renameSync;
  try {
    const fill = (v: string) => (t: string) => Deno.writeTextFile(`${t}/result.json`, v);
    await writeDirAtomic(`${dir}/out`, fill("1"), { marker: "result.json" });
    // The second rename of the swap (the new directory into place) fails, as a file held open
    // by another program makes it fail on Windows.
    let n = 0;
    Deno.renameSync = (from, to) => {
      if (++n === 2) throw new Deno.errors.PermissionDenied("Access is denied. (os error 5)");
      renameSync(from, to);
    };
    await assertRejects(
      () => writeDirAtomic(`${dir}/out`, fill("2"), { force: true, marker: "result.json" }),
      Deno.errors.PermissionDenied,
      "Access is denied",
    );
    Deno.renameSync = renameSync;
    assertEquals(await Deno.readTextFile(`${dir}/out/result.json`), "1");
    assertEquals((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["out"]);
    // Where putting it back fails too, the error says where the previous output is.
    n = 0;
    Deno.renameSync = (from, to) => {
      if (++n >= 2) throw new Deno.errors.PermissionDenied(`denied ${n}`);
      renameSync(from, to);
    };
    const e = await assertRejects(
      () => writeDirAtomic(`${dir}/out`, fill("3"), { force: true, marker: "result.json" }),
      Error,
      "denied 2; putting the previous output back failed too (denied 3): it is at ",
    );
    Deno.renameSync = renameSync;
    const old = e.message.slice(e.message.lastIndexOf("it is at ") + 9);
    assertEquals(await Deno.readTextFile(`${old}/result.json`), "1");
  } finally {
    Deno.renameSync = renameSync;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the working directory named through a symbolic link is still refused as the output", async () => {
  const dir = await Deno.makeTempDir();
  const here = Deno.cwd();
  try {
    await Deno.mkdir(`${dir}/real/out`, { recursive: true });
    await Deno.symlink(`${dir}/real`, `${dir}/link`);
    Deno.chdir(`${dir}/real/out`);
    await assertRejects(
      () =>
        writeDirAtomic(`${dir}/link/out`, (t) => Deno.writeTextFile(`${t}/result.json`, "1"), {
          force: true,
          marker: "result.json",
        }),
      Deno.errors.AlreadyExists,
      "it is the current directory",
    );
  } finally {
    Deno.chdir(here);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeIntoOutput names a file it adds in the output's listing once, the names sorted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/out`;
    await writeDirAtomic(out, async (t) => {
      await Deno.writeTextFile(`${t}/result.json`, "{}");
    }, { marker: "result.json" });
    await writeIntoOutput(out, "evaluation.json", "1");
    await writeIntoOutput(out, "evaluation.json", "2");
    assertEquals(JSON.parse(await Deno.readTextFile(`${out}/${OUTPUT_LISTING}`)), {
      kind: "result.json",
      entries: ["evaluation.json", "result.json"],
    });
    assertEquals(await Deno.readTextFile(`${out}/evaluation.json`), "2");
    // Listed again: the listing never names itself.
    await writeOutputListing(out, "result.json");
    assertEquals(JSON.parse(await Deno.readTextFile(`${out}/${OUTPUT_LISTING}`)).entries, [
      "evaluation.json",
      "result.json",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an output that evaluate or report was stopped while writing into is still replaced by --force: the file is listed before it is written, and a killed writer's temporaries of its files go with it", async () => {
  const dir = await Deno.makeTempDir();
  const { renameSync } = Deno;
  try {
    const out = `${dir}/out`;
    const fill = (t: string) => Deno.writeTextFile(`${t}/result.json`, "{}");
    await writeDirAtomic(out, fill, { marker: "result.json" });
    const replace = () => checkOutputTarget(out, { force: true, marker: "result.json" });
    // Stopped at the listing's rename (killed there, or the write failing): before, the file
    // was written first, and --force then refused it as not seisdec's ('it holds
    // evaluation.json, which seisdec did not write there').
    Deno.renameSync = (from, to) => {
      if (String(to).endsWith(OUTPUT_LISTING)) throw new Error("stopped");
      renameSync(from, to);
    };
    await assertRejects(() => writeIntoOutput(out, "evaluation.json", "1"), Error, "stopped");
    Deno.renameSync = renameSync;
    assertEquals(await replace(), true);
    // A writer killed between its temporary and the rename leaves the temporary in the output
    // (`.evaluation.json.PID.TAG.tmp`, the listing's own too): seisdec's, not the user's.
    await writeIntoOutput(out, "evaluation.json", "1");
    const tag = `${Date.now().toString(36)}.a1b2c3.tmp`;
    await Deno.writeTextFile(`${out}/.evaluation.json.${DEAD}.${tag}`, "1");
    await Deno.writeTextFile(`${out}/.${OUTPUT_LISTING}.${DEAD}.${tag}`, "{}");
    assertEquals(await replace(), true);
    // A live writer's, or one of a file that the listing does not name, is still refused.
    for (const name of [`.evaluation.json.${Deno.pid}.${tag}`, `.notes.txt.${DEAD}.${tag}`]) {
      await Deno.writeTextFile(`${out}/${name}`, "1");
      await assertRejects(replace, Deno.errors.AlreadyExists, `it holds ${name}, which seisdec`);
      await Deno.remove(`${out}/${name}`);
    }
  } finally {
    Deno.renameSync = renameSync;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "processAlive reads the state after the last ')' of /proc/PID/stat: a live process named 'x) Z y' is alive",
  ignore: !hasProc,
  fn: async () => {
    // A shell that names itself "x) Z y" (writing its own /proc/PID/comm), says so, and waits on
    // its stdin: no copy of a binary to run (a multi-call coreutils or busybox `sleep` does not
    // run under another name, and a temporary directory may be mounted noexec).
    const child = new Deno.Command("sh", {
      args: ["-c", 'printf %s "x) Z y" > /proc/$$/comm && echo named && read _'],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      const reader = child.stdout.getReader();
      const { value } = await reader.read();
      reader.releaseLock();
      assertEquals(new TextDecoder().decode(value).trim(), "named");
      // Its stat reads "PID (x) Z y) S ...": the first ')' would make it look a zombie (Z).
      const stat = Deno.readTextFileSync(`/proc/${child.pid}/stat`);
      assert(stat.startsWith(`${child.pid} (x) Z y) `), stat);
      assertEquals(processAlive(child.pid), true);
    } finally {
      child.kill("SIGKILL");
      await child.status;
      await child.stdin.close().catch(() => {});
      await child.stdout.cancel().catch(() => {});
    }
  },
});

Deno.test("a lock released is not removed on Ctrl-C (another process may hold it by then); one held is", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lock = `${dir}/.lock`;
    removeLockOnInterrupt(lock, true);
    removeLockOnInterrupt(lock, false);
    await Deno.writeTextFile(lock, "another process's");
    removeLiveTemporaries();
    assertEquals(await Deno.readTextFile(lock), "another process's");
    removeLockOnInterrupt(lock, true);
    removeLiveTemporaries();
    assert(!(await Deno.stat(lock).catch(() => null)), "the held lock stays");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
