/**
 * What each stage's outputs record of how they were made: the dataset each training stage ran
 * on (model.json's `init` and `finetune` may name another than pretrain's), the software,
 * backend, adapter and tuning (`software`: meta.json, model.json's stages, result.json,
 * evaluation.json), and `info` shows them.
 */
import { join, resolve } from "node:path";
import { encodeNpy } from "../../lib/io/npy.ts";
import { run } from "./_run.ts";
import { datasetFingerprint } from "../../lib/cluster/data.ts";
import { openDataset } from "../../lib/io/dataset.ts";
import { assert, assertEquals } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import { SEISDEC_VERSION, type Software } from "../../lib/util/software.ts";
import { adapterSummary } from "../../lib/gpu/device.ts";
import { gpuTuning, initBackend } from "../../lib/tensor/backends.ts";
import { setDefaultBackend } from "../../lib/backend.ts";
import denoJson from "../../deno.json" with { type: "json" };

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

/** The record of work that ran no model, or ran it on the CPU backend. */
const plain = (backend: "cpu" | null): Software => ({
  seisdec: denoJson.version,
  deno: Deno.version.deno,
  backend,
  adapter: null,
  tuning: null,
});

async function readJsonFile(path: string) {
  return JSON.parse(await Deno.readTextFile(path));
}

Deno.test("SEISDEC_VERSION, which the records carry, is deno.json's version (cli.ts --version's)", () => {
  assertEquals(SEISDEC_VERSION, denoJson.version);
});

Deno.test("every output records the software that made it: meta.json (import, extract), model.json's pretrain, init and finetune, result.json of cluster, encode and cluster --raw, evaluation.json; info shows it", async () => {
  const root = await Deno.makeTempDir();
  const p = (s: string) => join(root, s);
  try {
    await importSet(p, "a", 8, 0);
    assertEquals((await readJsonFile(p("a/meta.json"))).software, plain(null));
    // extract's meta.json too (written by the same code as import's, through DatasetWriter).
    assertEquals((await run("synth", "--out", p("s"), "--per-class", "1", "-q")).code, 0);
    const ex = await run("extract", "--config", p("s/extract.json"), "--out", p("x"), "-q");
    assertEquals(ex.code, 0, ex.err.join("\n"));
    assertEquals((await readJsonFile(p("x/meta.json"))).software, plain(null));
    const info = (await run("info", p("x"))).out.join("\n");
    assert(
      info.includes(
        `software:       seisdec ${denoJson.version}, Deno ${Deno.version.deno}, no backend`,
      ),
      info,
    );

    const ok = async (...args: string[]) => {
      const r = await run(...args, "--cpu", "--quiet");
      assertEquals(r.code, 0, `${args[0]}: ${r.err.join("\n")}`);
    };
    const m = ["--model", p("m")];
    await ok("pretrain", p("a"), ...m, "--epochs", "1", "--batch-size", "4");
    await ok("init", p("a"), ...m, "--k", "2", "--n-init", "2");
    await ok("finetune", p("a"), ...m, "--max-iter", "2", "--min-iter", "1", "--batch-size", "4");
    const model = await readJsonFile(p("m/model.json"));
    for (const stage of ["pretrain", "init", "finetune"]) {
      assertEquals(model[stage].software, plain("cpu"), stage);
      assertEquals(model[stage].softwareBefore, undefined, `${stage}: no resume`);
    }
    await ok("cluster", p("a"), ...m, "--out", p("c"), "--no-plots");
    await ok("encode", p("a"), ...m, "--out", p("e"));
    await ok(
      "cluster",
      p("a"),
      "--raw",
      "--k",
      "2",
      "--n-init",
      "1",
      "--out",
      p("r"),
      "--no-plots",
    );
    assertEquals((await readJsonFile(p("c/result.json"))).software, plain("cpu"));
    assertEquals((await readJsonFile(p("e/result.json"))).software, plain("cpu"));
    assertEquals((await readJsonFile(p("r/result.json"))).software, plain(null), "no model ran");
    assertEquals((await run("evaluate", p("c"))).code, 0);
    assertEquals((await readJsonFile(p("c/evaluation.json"))).software, plain(null));
    const text = (await run("info", p("c"))).out.join("\n");
    assert(
      text.includes(`software:       seisdec ${denoJson.version}, Deno ${Deno.version.deno}, cpu`),
      text,
    );
    const mt = (await run("info", p("m"))).out.join("\n");
    assert(mt.split("\n").find((l) => l.startsWith("init:"))!.endsWith(", cpu"), mt);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a resumed pretrain or finetune whose checkpoint a run from before these records wrote says so (softwareBefore: [null], info: resumedFrom unknown)", async () => {
  const root = await Deno.makeTempDir();
  const p = (s: string) => join(root, s);
  try {
    await importSet(p, "a", 8, 0);
    const ok = async (...args: string[]) => {
      const r = await run(...args, "--model", p("m"), "--cpu", "--quiet");
      assertEquals(r.code, 0, `${args[0]}: ${r.err.join("\n")}`);
    };
    // A checkpoint as an older seisdec left it: no software in its state.json.
    const forget = async (ck: string) => {
      const st = await readJsonFile(p(`m/${ck}/state.json`));
      assertEquals(st.software, [plain("cpu")]);
      delete st.software;
      await Deno.writeTextFile(p(`m/${ck}/state.json`), JSON.stringify(st));
    };
    await ok("pretrain", p("a"), "--epochs", "1", "--batch-size", "4");
    await forget("checkpoint");
    await ok("pretrain", p("a"), "--epochs", "2", "--batch-size", "4", "--resume");
    const pre = (await readJsonFile(p("m/model.json"))).pretrain;
    assertEquals([pre.epochsDone, pre.software, pre.softwareBefore], [2, plain("cpu"), [null]]);
    await ok("init", p("a"), "--k", "2", "--n-init", "2");
    const ft = [
      "finetune",
      p("a"),
      "--min-iter",
      "1",
      "--batch-size",
      "4",
      "--update-interval",
      "1",
    ];
    await ok(...ft, "--max-iter", "2");
    await forget("finetune_checkpoint");
    await ok(...ft, "--max-iter", "4", "--resume");
    const rec = (await readJsonFile(p("m/model.json"))).finetune;
    assertEquals([rec.software, rec.softwareBefore], [plain("cpu"), [null]]);
    const json = JSON.parse((await run("info", p("m"), "--json")).out.join("\n"));
    assertEquals(json.finetune.resumedFrom, ["unknown"]);
    assertEquals(json.init.resumedFrom, undefined);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

gpuTest(
  "a pretrain resumed on WebGPU from a --cpu checkpoint records both: software (webgpu, the adapter as info names it, the tuning in effect) and softwareBefore (cpu); info says resumedFrom",
  async () => {
    const root = await Deno.makeTempDir();
    const p = (s: string) => join(root, s);
    try {
      await importSet(p, "a", 8, 0);
      const pre = ["pretrain", p("a"), "--model", p("m"), "--batch-size", "4", "--quiet"];
      let r = await run(...pre, "--epochs", "1", "--cpu");
      assertEquals(r.code, 0, r.err.join("\n"));
      // In this process --cpu stays the default (cli.ts sets it): the resume runs on WebGPU.
      setDefaultBackend("webgpu");
      r = await run(...pre, "--epochs", "2", "--resume");
      assertEquals(r.code, 0, r.err.join("\n"));
      await initBackend("webgpu");
      const rec = (await readJsonFile(p("m/model.json"))).pretrain;
      assertEquals(rec.software, {
        seisdec: denoJson.version,
        deno: Deno.version.deno,
        backend: "webgpu",
        adapter: (await adapterSummary()).description,
        tuning: JSON.parse(JSON.stringify(gpuTuning())),
      });
      assertEquals(rec.softwareBefore, [plain("cpu")]);
      const text = (await run("info", p("m"))).out.join("\n");
      const line = text.split("\n").find((l) => l.startsWith("pretrain:"))!;
      assert(line.includes(`webgpu on ${rec.software.adapter} (tuning `), line);
      assert(line.includes("resumedFrom [seisdec"), line);
      assert(line.endsWith(", cpu]"), line);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);

Deno.test("result.json records what decides the clusters: --seed, --umap-points, the plots and --raw's k-means (k, --n-init, iterations, tol, seed); evaluation.json its seed", async () => {
  const root = await Deno.makeTempDir();
  const p = (s: string) => join(root, s);
  try {
    await importSet(p, "a", 8, 0);
    const raw = async (out: string, seed: string) => {
      const r = await run(
        "cluster",
        p("a"),
        "--raw",
        "--k",
        "2",
        "--n-init",
        "1",
        "--seed",
        seed,
        "--out",
        p(out),
        "--no-plots",
        "--quiet",
      );
      assertEquals(r.code, 0, r.err.join("\n"));
      return await readJsonFile(p(`${out}/result.json`));
    };
    const [a, b] = [await raw("r0", "0"), await raw("r11", "11")];
    assertEquals(a.kmeans, { k: 2, nInit: 1, maxIter: 1000, tol: 1e-4, seed: 0 });
    assertEquals([a.seed, a.umapPoints, a.plots, a.weights], [0, 5000, false, undefined]);
    assertEquals([b.seed, b.kmeans.seed], [11, 11]);
    // The two runs' records differ in what made them, not only in `created`.
    const differ = Object.keys(a).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
    assertEquals(differ.sort(), ["created", "kmeans", "seed"]);
    const ev = await run("evaluate", p("r0"), "--seed", "5", "--json");
    assertEquals(ev.code, 0, ev.err.join("\n"));
    assertEquals(JSON.parse(ev.out.join("\n")).seed, 5);
    assertEquals((await readJsonFile(p("r0/evaluation.json"))).seed, 5);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("result.json records the digests of the weights it came from, those model.json's records hold, per stage (dec, init, pretrain); a later retrain changes model.json, not them", async () => {
  const root = await Deno.makeTempDir();
  const p = (s: string) => join(root, s);
  try {
    await importSet(p, "a", 8, 0);
    const ok = async (...args: string[]) => {
      const r = await run(...args, "--model", p("m"), "--cpu", "--quiet");
      assertEquals(r.code, 0, `${args[0]}: ${r.err.join("\n")}`);
    };
    await ok("pretrain", p("a"), "--epochs", "1", "--batch-size", "4");
    await ok("init", p("a"), "--k", "2", "--n-init", "2");
    await ok("finetune", p("a"), "--max-iter", "2", "--min-iter", "1", "--batch-size", "4");
    const m = await readJsonFile(p("m/model.json"));
    await ok("cluster", p("a"), "--out", p("c"), "--no-plots", "--seed", "3");
    await ok("cluster", p("a"), "--out", p("ci"), "--no-plots", "--stage", "init");
    await ok("encode", p("a"), "--out", p("e"), "--stage", "pretrain");
    const c = await readJsonFile(p("c/result.json"));
    assertEquals(c.weights, { "dec.safetensors": m.finetune.weights });
    assertEquals([c.seed, c.umapPoints, c.plots, c.kmeans], [3, 5000, false, undefined]);
    assertEquals((await readJsonFile(p("ci/result.json"))).weights, {
      "autoencoder.safetensors": m.pretrain.weights,
      "centroids.safetensors": m.init.weights,
    });
    const e = await readJsonFile(p("e/result.json"));
    assertEquals(e.weights, { "autoencoder.safetensors": m.pretrain.weights });
    assertEquals([e.seed, e.umapPoints, e.plots], [undefined, undefined, undefined]);
    assert(/^sha256:[0-9a-f]{64}$/.test(m.finetune.weights), m.finetune.weights);
    // Retrained with other settings: model.json moves on, the clusters keep naming theirs.
    await ok("pretrain", p("a"), "--epochs", "2", "--batch-size", "4", "--force");
    const again = await readJsonFile(p("m/model.json"));
    assert(again.pretrain.weights !== m.pretrain.weights);
    assertEquals(
      (await readJsonFile(p("ci/result.json"))).weights["autoencoder.safetensors"],
      m.pretrain.weights,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
