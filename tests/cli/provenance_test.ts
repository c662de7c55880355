/**
 * What each stage's outputs record of how they were made: the dataset each training stage ran
 * on (model.json's `init` and `finetune` may name another than pretrain's), and `info` shows it.
 */
import { join, resolve } from "node:path";
import { encodeNpy } from "../../lib/io/npy.ts";
import { run } from "./_run.ts";
import { datasetFingerprint } from "../../lib/cluster/data.ts";
import { openDataset } from "../../lib/io/dataset.ts";
import { assert, assertEquals } from "../_assert.ts";

/** Imports n samples [1, 12, 10] whose values depend on `phase`, as dataset `name`. */
async function importSet(p: (s: string) => string, name: string, n: number, phase: number) {
  const x = Float32Array.from({ length: n * 120 }, (_, i) => Math.sin(0.3 * i + phase));
  await Deno.writeFile(p(`${name}.npy`), encodeNpy(x, [n, 1, 12, 10]));
  const r = await run("import", p(`${name}.npy`), "--out", p(name), "--quiet");
  assertEquals(r.code, 0, r.err.join("\n"));
}

/** The dataset's fingerprint, as the training stages record it. */
async function fingerprintOf(dir: string): Promise<string> {
  const ds = await openDataset(dir);
  try {
    return datasetFingerprint(ds);
  } finally {
    ds.close();
  }
}

Deno.test("init and finetune record the dataset they ran on (path and fingerprint) in model.json, and info shows it beside pretrain's", async () => {
  const root = await Deno.makeTempDir();
  const p = (s: string) => join(root, s);
  try {
    await importSet(p, "a", 8, 0);
    await importSet(p, "b", 10, 1);
    const ok = async (...args: string[]) => {
      const r = await run(...args, "--model", p("m"), "--cpu", "--quiet");
      assertEquals(r.code, 0, `${args[0]}: ${r.err.join("\n")}`);
    };
    await ok("pretrain", p("a"), "--epochs", "1", "--batch-size", "4");
    await ok("init", p("b"), "--k", "2", "--n-init", "2");
    await ok("finetune", p("b"), "--max-iter", "2", "--min-iter", "1", "--batch-size", "4");
    const m = JSON.parse(await Deno.readTextFile(p("m/model.json")));
    const [fa, fb] = [await fingerprintOf(p("a")), await fingerprintOf(p("b"))];
    assert(fa !== fb, fa);
    assertEquals(m.dataset, resolve(p("a")), "the top level stays pretrain's");
    assertEquals([m.pretrain.dataset, m.pretrain.datasetFingerprint], [resolve(p("a")), fa]);
    assertEquals([m.init.dataset, m.init.datasetFingerprint], [resolve(p("b")), fb]);
    assertEquals([m.finetune.dataset, m.finetune.datasetFingerprint], [resolve(p("b")), fb]);
    const text = (await run("info", p("m"))).out.join("\n");
    const line = (stage: string) => text.split("\n").find((l) => l.startsWith(`${stage}:`)) ?? "";
    assert(line("pretrain").includes(`dataset ${resolve(p("a"))}, datasetFingerprint ${fa}`), text);
    for (const stage of ["init", "finetune"]) {
      assert(line(stage).includes(`dataset ${resolve(p("b"))}, datasetFingerprint ${fb}`), text);
    }
    const json = JSON.parse((await run("info", p("m"), "--json")).out.join("\n"));
    assertEquals([json.init.dataset, json.finetune.datasetFingerprint], [resolve(p("b")), fb]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("info on a model whose records name no dataset (an older model.json) shows none, as before", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      join(dir, "model.json"),
      JSON.stringify({
        normalize: "maxabs",
        dataset: "/old",
        pretrain: { epochsDone: 1, epochs: 1, batchSize: 4, lr: 0.001 },
        init: { k: 2, method: "kmeans", nInit: 2 },
      }),
    );
    const json = JSON.parse((await run("info", dir, "--json")).out.join("\n"));
    assertEquals(json.dataset, "/old");
    assertEquals("dataset" in json.init || "datasetFingerprint" in json.init, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
