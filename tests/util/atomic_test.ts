import { assert, assertEquals } from "../_assert.ts";
import {
  removeLiveTemporaries,
  removeStaleTemporaries,
  writeDirAtomic,
  writeFileAtomic,
} from "../../lib/util/atomic.ts";

const hasProc = (() => {
  try {
    Deno.statSync("/proc/self");
    return true;
  } catch {
    return false;
  }
})();

// Above Linux's largest pid_max (2^22): never a running process.
const DEAD = 99_999_999;

Deno.test({
  name:
    "a killed run's temporaries are removed by the next write; live ones and moved-aside outputs stay",
  ignore: !hasProc,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const names = [
        `.ds.${DEAD}.m1a2b3.x9y8z7.tmp`, // a killed run's: removed
        `.ds.${Deno.pid}.m1a2b3.x9y8z7.tmp`, // this process's: kept
        `.ds.1.m1a2b3.x9y8z7.tmp`, // a running process's (init): kept
        `.ds.${DEAD}.m1a2b3.x9y8z7.old`, // a replaced output moved aside: kept
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
