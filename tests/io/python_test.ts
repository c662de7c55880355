/**
 * lib/io/seisdec.py, the Python reader of datasets and models, against seisdec itself: its
 * decoder plan against decoderPlan's, and the codes, soft assignments and reconstructions it
 * computes in NumPy from a model trained by the CLI against the ones seisdec wrote (`cluster`,
 * `encode`) or computes (the autoencoder's forward pass), for every stage. The PyTorch module
 * it builds is checked the same way where a Python with torch is at hand
 * (`SEISDEC_TORCH_PYTHON`, else `python3`); the NumPy checks need only python3 with NumPy.
 */
import { isAbsolute, join } from "node:path";
import { run } from "../cli/_run.ts";
import { decoderPlan } from "../../lib/nn/autoencoder.ts";
import { loadAutoencoder, readModelInfo } from "../../lib/cluster/pretrain.ts";
import { normalizeSamples, openDataset, writeDataset } from "../../lib/io/dataset.ts";
import { backendNamed } from "../../lib/tensor/backends.ts";
import { noGrad } from "../../lib/tensor/tensor.ts";
import { encodeNpy, readNpyFile } from "../../lib/io/npy.ts";
import { loadWeights } from "../../lib/io/checkpoint.ts";
import { parseCsvRecords } from "../../lib/io/csv.ts";
import { Rng } from "../../lib/util/rng.ts";
import { softAssign } from "../../lib/cpu/dec.ts";
import { assert, assertEquals } from "../_assert.ts";
import { gpuAvailable } from "../_gpu.ts";
import { numpyPython, PY_MODULE_DIR, runPython as python, torchPython } from "../_python.ts";

Deno.test({
  name:
    "seisdec.py decoder_plan agrees with decoderPlan on 3,360 sizes (heights 1 to 40, widths 1 to 40 in steps of 3) at depths 1 to 6",
  ignore: !numpyPython,
  fn: async () => {
    const cases: [number, number, number][] = [];
    for (let depth = 1; depth <= 6; depth++) {
      for (let h = 1; h <= 40; h++) for (let w = 1; w <= 40; w += 3) cases.push([h, w, depth]);
    }
    const out = await python(
      numpyPython!,
      `import json, seisdec
cases = json.loads(sys.argv[1])
print(json.dumps([seisdec.decoder_plan(h, w, d) for h, w, d in cases]))`,
      JSON.stringify(cases),
    );
    const plans = JSON.parse(out) as Record<string, unknown>[];
    assertEquals(plans.length, cases.length);
    let outputPadded = 0;
    cases.forEach(([h, w, depth], i) => {
      const want = decoderPlan(h, w, depth);
      const got = plans[i];
      const at = `${h}x${w}, depth ${depth}`;
      assertEquals(got.encoder_sizes, want.encoderSizes, at);
      assertEquals(got.paddings, want.paddings, at);
      assertEquals(got.output_paddings, want.outputPaddings, at);
      assertEquals(got.decoder_sizes, want.decoderSizes, at);
      assertEquals(got.crop, want.crop, at);
      if (want.outputPaddings.flat().some((v) => v > 0)) outputPadded++;
    });
    // The grid holds plans with an output padding, so that branch is compared too.
    assert(outputPadded > 0, "no case with an output padding");
  },
});

Deno.test({
  name:
    "seisdec.py loads a model of another architecture (pretrain --channels 4,6, slope 0.1 from the config file) and encodes as seisdec does",
  ignore: !numpyPython,
  fn: async () => {
    const root = await Deno.makeTempDir();
    const p = (s: string) => join(root, s);
    try {
      await writeSamples(p("x.npy"), 6);
      await ok("import", p("x.npy"), "--out", p("ds"));
      await Deno.writeTextFile(p("cfg.json"), JSON.stringify({ pretrain: { slope: 0.1 } }));
      await ok(
        "pretrain",
        p("ds"),
        ...["--model", p("m"), "--cpu", "--epochs", "1", "--batch-size", "3"],
        ...["--latent-dim", "3", "--channels", "4,6", "--config", p("cfg.json")],
      );
      const out = await python(
        numpyPython!,
        `import json, numpy as np, seisdec
m = seisdec.load_model(sys.argv[1], "pretrain")
x = seisdec.load_dataset(sys.argv[2], normalize=m.normalize)[0]
np.save(sys.argv[3], seisdec.encode(m, x))
print(json.dumps([m.channels, m.slope]))`,
        p("m"),
        p("ds"),
        p("z.npy"),
      );
      assertEquals(JSON.parse(out.trim().split("\n").at(-1)!), [[4, 6], 0.1]);
      const { ae, info } = await loadAutoencoder(p("m"), "cpu");
      const ds = await openDataset(p("ds"));
      try {
        const idx = Array.from({ length: ds.count }, (_, i) => i);
        const x = backendNamed("cpu").fromArray(ds.readBatch(idx, info.normalize), [
          ds.count,
          ...ds.sampleShape,
        ]);
        const z = noGrad(() => ae.encode(x)).array;
        // Two convolutions and a Linear in float32 on either side: agreement to 1e-5.
        assert(maxRelDiff(await npy(p("z.npy")), z, "codes") < 1e-5, "codes differ");
      } finally {
        ae.params.dispose();
        ds.close();
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

/** Runs a CLI command quietly, failing the test with its errors unless it exits 0. */
async function ok(...args: string[]): Promise<void> {
  const r = await run(...args, "--quiet");
  assertEquals(r.code, 0, `${args[0]} failed: ${r.err.join("\n")}`);
}

/** A float32 .npy file's values. */
const npy = async (path: string) => (await readNpyFile(path)).data as Float32Array;

/** Writes `n` samples [1, 20, 14], two classes (bright top or bottom half), as x.npy. */
async function writeSamples(path: string, n: number): Promise<void> {
  const rng = new Rng(3);
  const x = new Float32Array(n * 280);
  for (let i = 0; i < n; i++) {
    for (let h = 0; h < 20; h++) {
      for (let w = 0; w < 14; w++) {
        x[i * 280 + h * 14 + w] = ((h < 10) === (i % 2 === 0) ? 1 : 0.1) + 0.1 * rng.normal();
      }
    }
  }
  await Deno.writeFile(path, encodeNpy(x, [n, 1, 20, 14]));
}

/** The Python side: codes, q and the reconstruction of every stage, saved as .npy in OUT. */
const STAGES_CODE = `import numpy as np, seisdec
model_dir, ds, out, use_torch = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
for stage in ("pretrain", "init", "dec"):
    m = seisdec.load_model(model_dir, stage)
    x, samples, freqs, times, meta = seisdec.load_dataset(ds, normalize=m.normalize)
    if use_torch:
        import torch
        ae = seisdec.torch_autoencoder(m)
        with torch.no_grad():
            xt = torch.from_numpy(x)
            z, r = ae.encoder(xt).numpy(), ae(xt).numpy()
    else:
        z, r = seisdec.encode(m, x), seisdec.reconstruct(m, x)
        # In batches of 5 (the last one short): the same values, to float32 sums in another order.
        for a, b in ((seisdec.encode(m, x, batch=5), z), (seisdec.reconstruct(m, x, batch=5), r)):
            assert a.shape == b.shape and np.allclose(a, b, rtol=1e-5, atol=1e-6), stage
    np.save(f"{out}/{stage}_latent.npy", z)
    np.save(f"{out}/{stage}_recon.npy", r)
    if m.centroids is not None:
        np.save(f"{out}/{stage}_q.npy", seisdec.soft_assign(z, m.centroids, m.alpha))
    print(stage, m.alpha, len(samples))
print("auto", seisdec.load_model(model_dir).stage)`;

/** Largest |a − b| / (1 + |b|) over two arrays of one length. */
function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>, what: string): number {
  assertEquals(a.length, b.length, what);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return m;
}

/** A model trained by the CLI on 24 samples, with a latent scale and fine-tuned centres. */
async function trainedModel(
  mode: "dec" | "idec" = "dec",
): Promise<{ root: string; ds: string; model: string }> {
  const root = await Deno.makeTempDir();
  const p = (s: string) => join(root, s);
  await writeSamples(p("x.npy"), 24);
  await ok("import", p("x.npy"), "--out", p("ds"));
  const m = ["--model", p("m")];
  await ok("pretrain", p("ds"), ...m, "--epochs", "3", "--batch-size", "8", "--latent-dim", "4");
  await ok("init", p("ds"), ...m, "--k", "2", "--n-init", "3", "--latent-scale", "auto");
  await ok(
    "finetune",
    p("ds"),
    ...m,
    ...["--min-iter", "6", "--max-iter", "6", "--batch-size", "8", "--mode", mode],
    // IDEC's run also takes another alpha, which seisdec.py must read from model.json.
    ...(mode === "idec" ? ["--alpha", "2"] : []),
  );
  await ok("cluster", p("ds"), ...m, "--out", p("c"));
  await ok("cluster", p("ds"), ...m, "--stage", "init", "--out", p("c_init"));
  await ok("encode", p("ds"), ...m, "--stage", "pretrain", "--out", p("e_pre"));
  return { root, ds: p("ds"), model: p("m") };
}

/** seisdec's own reconstruction of the dataset with a stage's weights (WebGPU). */
async function seisdecRecon(model: string, ds: string, stage: string): Promise<Float32Array> {
  const file = stage === "dec" ? "dec.safetensors" : "autoencoder.safetensors";
  const { ae, info } = await loadAutoencoder(model, "webgpu", file, { scaled: stage === "init" });
  const data = await openDataset(ds);
  try {
    const idx = Array.from({ length: data.count }, (_, i) => i);
    const x = backendNamed("webgpu").fromArray(data.readBatch(idx, info.normalize), [
      data.count,
      ...data.sampleShape,
    ]);
    const recon = noGrad(() => ae.forward(x).recon);
    const out = await recon.data();
    x.dispose();
    recon.dispose();
    return out;
  } finally {
    data.close();
    ae.params.dispose();
  }
}

/**
 * Compares Python's codes, q and reconstructions with seisdec's, for each stage.
 * Tolerance: |Δ| ≤ 1e-5 · (1 + |seisdec's value|): both sides compute in float32 (NumPy's
 * tensordot, or PyTorch's convolutions, against WGSL) and sum in other orders, a few ulp per
 * layer over 7 to 13 layers; a wrong weight layout, padding, crop or latent scale is off by
 * far more.
 */
async function checkAgainstSeisdec(
  exe: string,
  useTorch: boolean,
  mode: "dec" | "idec" = "dec",
): Promise<void> {
  const { root, ds, model } = await trainedModel(mode);
  const out = join(root, "py");
  await Deno.mkdir(out);
  const printed = await python(exe, STAGES_CODE, model, ds, out, useTorch ? "1" : "0");
  const info = await readModelInfo(model);
  const alpha = (info.finetune as { alpha: number }).alpha;
  assertEquals(printed.trim().split("\n"), [
    "pretrain 1.0 24",
    "init 1.0 24",
    `dec ${alpha.toFixed(1)} 24`,
    "auto dec",
  ]);
  // The test means something only if init chose a latent scale other than 1.
  const scale = (info.init as { latentScale: number }).latentScale;
  assert(scale !== 1, `latent scale ${scale}`);
  const written: Record<string, [string, string | null]> = {
    pretrain: ["e_pre/latent.npy", null],
    init: ["c_init/latent.npy", "c_init/q.npy"],
    dec: ["c/latent.npy", "c/q.npy"],
  };
  for (const [stage, [latent, q]] of Object.entries(written)) {
    const z = await npy(join(out, `${stage}_latent.npy`));
    const dz = maxRelDiff(z, await npy(join(root, latent)), `${stage} codes`);
    assert(dz <= 1e-5, `${stage} codes differ by ${dz}`);
    if (q) {
      const dq = maxRelDiff(
        await npy(join(out, `${stage}_q.npy`)),
        await npy(join(root, q)),
        `${stage} q`,
      );
      assert(dq <= 1e-5, `${stage} q differs by ${dq}`);
    }
    const r = await npy(join(out, `${stage}_recon.npy`));
    const dr = maxRelDiff(r, await seisdecRecon(model, ds, stage), `${stage} reconstruction`);
    assert(dr <= 1e-5, `${stage} reconstruction differs by ${dr}`);
  }
  if (!useTorch && mode === "dec") {
    // Centres that model.json does not describe (init killed between its two writes) are
    // refused, as seisdec refuses them.
    const stale = join(root, "stale");
    await Deno.mkdir(stale);
    for (const f of ["model.json", "autoencoder.safetensors", "centroids.safetensors"]) {
      await Deno.copyFile(join(model, f), join(stale, f));
    }
    await Deno.writeTextFile(
      join(stale, "model.json"),
      JSON.stringify({ ...info, init: { ...info.init, latentScale: 7 } }),
    );
    const refused = await python(
      exe,
      `import seisdec
for stage in ("init", "dec"):
    try:
        seisdec.load_model(sys.argv[1], stage)
    except (ValueError, FileNotFoundError) as e:
        print(e)`,
      stale,
    );
    assertEquals(refused.trim().split("\n"), [
      `Cannot use ${stale}/centroids.safetensors: it was written with latentScale ${scale}, ` +
      "model.json records 7: init did not finish: run init again",
      `Cannot use ${stale}/dec.safetensors: it is missing: run finetune`,
    ]);
    // DEC weights that model.json's finetune record does not describe (no record, another
    // mode), and a model.json of another format or version.
    const { finetune, ...noFinetune } = info;
    const variants: Record<string, unknown> = {
      none: noFinetune,
      mode: { ...info, finetune: { ...(finetune as object), mode: "idec" } },
      format: { ...info, format: "other" },
      version: { ...info, version: 7 },
      // A latent scale 1e-9 of itself off: the centres were made at another scale.
      near: { ...info, init: { ...info.init, latentScale: scale * (1 + 1e-9) } },
    };
    for (const [name, json] of Object.entries(variants)) {
      await Deno.mkdir(join(root, name));
      for (const f of ["autoencoder.safetensors", "centroids.safetensors", "dec.safetensors"]) {
        await Deno.copyFile(join(model, f), join(root, name, f));
      }
      await Deno.writeTextFile(join(root, name, "model.json"), JSON.stringify(json));
    }
    const refusedDec = await python(
      exe,
      `import seisdec
for d in sys.argv[1:]:
    try:
        seisdec.load_model(d, "init" if d.endswith("near") else "dec")
    except ValueError as e:
        print(e)`,
      ...Object.keys(variants).map((v) => join(root, v)),
    );
    const fix = "fine-tuning did not finish: run finetune --resume (or finetune --force)";
    assertEquals(refusedDec.trim().split("\n"), [
      `Cannot use ${root}/none/dec.safetensors: model.json records no finetune: ${fix}`,
      `Cannot use ${root}/mode/dec.safetensors: it was written with mode dec, model.json ` +
      `records idec: ${fix}`,
      `Cannot read ${root}/format/model.json: format is 'other', not 'seisdec-model'`,
      `Cannot read ${root}/version/model.json: version is 7, not 1`,
      `Cannot use ${root}/near/centroids.safetensors: it was written with latentScale ${scale}, ` +
      `model.json records ${scale * (1 + 1e-9)}: init did not finish: run init again`,
    ]);
    // load_clusters reads cluster's directory back: codes, q and labels as written.
    const read = await python(
      exe,
      `import json, numpy as np, seisdec
c = seisdec.load_clusters(sys.argv[1])
print(json.dumps({"latent": list(c["latent"].shape), "q": list(c["q"].shape),
                  "labels": c["labels"].tolist(), "ids": [r["id"] for r in c["rows"]],
                  "events": c["events"], "stage": c["result"]["stage"],
                  "sum": float(np.abs(c["latent"]).sum())}))`,
      join(root, "c"),
    );
    const got = JSON.parse(read);
    const lab = parseCsvRecords(await Deno.readTextFile(join(root, "c/labels.csv")));
    assertEquals(got.latent, [24, 4]);
    assertEquals(got.q, [24, 2]);
    assertEquals(got.labels, lab.map((r) => Number(r.cluster)));
    assertEquals(got.ids, lab.map((r) => r.id));
    assertEquals([got.events, got.stage], [null, "dec"]);
    const z = await npy(join(root, "c/latent.npy"));
    assert(Math.abs(got.sum - z.reduce((a, v) => a + Math.abs(v), 0)) < 1e-3, `${got.sum}`);
    // encode's directory: samples.csv's rows, no q and no labels; load_dataset's indices keep
    // their order.
    const enc = await python(
      exe,
      `import json, numpy as np, seisdec
c = seisdec.load_clusters(sys.argv[1])
x, rows, *_ = seisdec.load_dataset(sys.argv[2], normalize="maxabs")
xi, ri, *_ = seisdec.load_dataset(sys.argv[2], normalize="maxabs", indices=[5, 0, 3])
print(json.dumps({"ids": [r["id"] for r in c["rows"]], "q": c["q"], "labels": c["labels"],
                  "picked": [r["id"] for r in ri], "same": bool((xi == x[[5, 0, 3]]).all()),
                  "first": float(xi[0].sum()), "sixth": float(x[5].sum())}))`,
      join(root, "e_pre"),
      ds,
    );
    const e = JSON.parse(enc);
    const encoded = parseCsvRecords(await Deno.readTextFile(join(root, "e_pre/samples.csv")));
    assertEquals(e.ids, encoded.map((r) => r.id));
    assertEquals(e.ids.length, 24);
    assertEquals([e.q, e.labels], [null, null]);
    assertEquals(e.picked, [5, 0, 3].map((i) => lab[i].id));
    assert(e.same && e.first === e.sixth, JSON.stringify(e));
    // The module's command line: a summary of the codes and the cluster sizes.
    const cmd = await new Deno.Command(exe, {
      args: [join(PY_MODULE_DIR, "seisdec.py"), model, ds],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(cmd.code, 0, new TextDecoder().decode(cmd.stderr));
    const lines = new TextDecoder().decode(cmd.stdout).trim().split("\n");
    assertEquals(
      lines[0],
      "Model(stage='dec', input_shape=[1, 20, 14], latent_dim=4, k=2, normalize='maxabs')",
    );
    assertEquals(lines[1], "24 samples, codes (24, 4)");
    const rows = parseCsvRecords(await Deno.readTextFile(join(root, "c/labels.csv")));
    const sizes = [0, 0];
    for (const r of rows) sizes[Number(r.cluster)]++;
    assertEquals(lines[2], `cluster sizes: ${sizes.join(" ")}`);
  }
  await Deno.remove(root, { recursive: true });
}

Deno.test({
  name: "seisdec.py (NumPy) gives cluster's codes and q and the autoencoder's output, every stage",
  ignore: !numpyPython || !gpuAvailable,
  fn: () => checkAgainstSeisdec(numpyPython!, false),
});

Deno.test({
  name: "seisdec.py (NumPy) after IDEC: the fine-tuned decoder from dec.safetensors, every stage",
  ignore: !numpyPython || !gpuAvailable,
  fn: () => checkAgainstSeisdec(numpyPython!, false, "idec"),
});

Deno.test({
  name: "seisdec.py's PyTorch module gives the same codes and reconstructions (needs torch)",
  ignore: !torchPython || !gpuAvailable,
  fn: () => checkAgainstSeisdec(torchPython!, true),
});

/**
 * The Python side of the round trip: a model directory written by save_model, and the codes
 * Python computes for it (NumPy: the CLI-trained weights with the first conv scaled by 1.25;
 * torch: a new_model trained 3 Adam steps in PyTorch). Prints the refusals it met.
 */
const SAVE_CODE = `import os, numpy as np, seisdec
src, ds, out, use_torch = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
if use_torch:
    import torch
    m = seisdec.new_model([1, 20, 14], latent_dim=4, normalize="maxabs")
    torch.manual_seed(5)
    ae = seisdec.torch_autoencoder(m)
    x, *_ = seisdec.load_dataset(ds, normalize=m.normalize)
    xt = torch.from_numpy(x)
    opt = torch.optim.Adam(ae.parameters(), lr=1e-3)
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.mse_loss(ae(xt), xt).backward()
        opt.step()
    weights = ae
    with torch.no_grad():
        z = ae.encoder(xt).numpy()
else:
    m = seisdec.load_model(src, "pretrain")
    weights = dict(m.weights)
    weights["encoder.encoder.0.weight"] = weights["encoder.encoder.0.weight"] * 1.25
    x, *_ = seisdec.load_dataset(ds, normalize=m.normalize)
    z = seisdec.encode(seisdec.Model(m.config, "pretrain", weights, None, 1.0), x)
seisdec.save_model(f"{out}/model", m, weights, dataset=os.path.relpath(ds), pretrain={"epochsDone": 3, "source": "python"})
np.save(f"{out}/latent.npy", z)
try:
    seisdec.save_model(f"{out}/model", m, weights)
except FileExistsError as e:
    print(e)
try:
    seisdec.save_model(f"{out}/other", m, {"encoder.encoder.0.weight": np.zeros((8, 1, 3, 3))})
except ValueError as e:
    print(e)
items = weights.items() if isinstance(weights, dict) else (
    (k, t.detach().numpy()) for k, t in weights.state_dict().items())
nan = {k: np.array(v, dtype=np.float64) for k, v in items}
nan["decoder.decoder.0.bias"][1] = 1e40  # past float32's range: an infinity there
try:
    seisdec.save_model(f"{out}/nan", m, nan)
except ValueError as e:
    print(e)`;

/** Saves a model from Python, then runs seisdec's encode, init and cluster on it. */
async function checkSavedModel(exe: string, useTorch: boolean): Promise<void> {
  const { root, ds, model } = await trainedModel();
  const out = join(root, "py");
  await Deno.mkdir(out);
  const printed = (await python(exe, SAVE_CODE, model, ds, out, useTorch ? "1" : "0")).trim()
    .split("\n");
  assertEquals(printed, [
    `Cannot save the model: ${out}/model is not empty: choose a new directory`,
    "Cannot save the model: weights must be the autoencoder's 24 tensors: missing " +
    "['encoder.encoder.0.bias', 'encoder.encoder.2.weight', 'encoder.encoder.2.bias'], unexpected []",
    "Cannot save the model: decoder.decoder.0.bias holds a value that is not finite (NaN or an " +
    "infinity, or a float64 past float32's range): expected finite weights",
  ]);
  const saved = join(out, "model");
  const info = await readModelInfo(saved);
  assertEquals(info.autoencoder.inputShape, [1, 20, 14]);
  // The dataset's path as pretrain records it: absolute; and not the source model's record of
  // its training data, which does not describe these weights.
  assertEquals(info.dataset, ds);
  assertEquals(info.datasetSettings, undefined);
  assert(isAbsolute(info.dataset!), info.dataset);
  // The dataset's scaling, recorded as pretrain records it (a dataset of another is refused).
  const dsMeta = JSON.parse(await Deno.readTextFile(join(ds, "meta.json")));
  assertEquals([info.scaling, typeof dsMeta.scaling], [dsMeta.scaling, "string"]);
  // The record given, with the digest of the weights save_model wrote (which seisdec checks).
  const { digest } = await loadWeights(join(saved, "autoencoder.safetensors"));
  assertEquals(info.pretrain as unknown, { epochsDone: 3, source: "python", weights: digest });
  await ok("encode", ds, "--model", saved, "--out", join(root, "e_saved"));
  await ok("init", ds, "--model", saved, "--k", "2", "--n-init", "3");
  await ok("cluster", ds, "--model", saved, "--out", join(root, "c_saved"));
  await ok("info", saved);
  const z = await npy(join(out, "latent.npy"));
  for (const dir of ["e_saved", "c_saved"]) {
    const got = await npy(join(root, dir, "latent.npy"));
    const d = maxRelDiff(got, z, `${dir} codes`);
    assert(d <= 1e-5, `${dir}: seisdec's codes of the saved model differ from Python's by ${d}`);
  }
  await Deno.remove(root, { recursive: true });
}

Deno.test({
  name: "seisdec.py save_model writes a model that encode, init and cluster take (NumPy weights)",
  ignore: !numpyPython || !gpuAvailable,
  fn: () => checkSavedModel(numpyPython!, false),
});

Deno.test({
  name: "seisdec.py: an autoencoder trained in PyTorch, saved, clusters in seisdec (needs torch)",
  ignore: !torchPython || !gpuAvailable,
  fn: () => checkSavedModel(torchPython!, true),
});

Deno.test({
  name:
    "weights model.json does not describe (another init's centres, an older autoencoder) are refused by seisdec and seisdec.py alike, naming the stage to run again",
  ignore: !numpyPython || !gpuAvailable,
  fn: async () => {
    const { root, ds, model } = await trainedModel();
    const p = (s: string) => join(root, s);
    // A second model's init with k = 3: its centres copied over the first model's (k = 2), as a
    // run stopped between the weights and model.json, or a copy from elsewhere, leaves them.
    await Deno.mkdir(p("m3"));
    for (const f of ["model.json", "autoencoder.safetensors"]) {
      await Deno.copyFile(join(model, f), join(p("m3"), f));
    }
    await ok("init", ds, "--model", p("m3"), "--k", "3", "--n-init", "2");
    const info = await readModelInfo(model);
    const recorded = (info.init as { weights: string }).weights;
    assert(/^sha256:[0-9a-f]{64}$/.test(recorded), recorded);
    await Deno.copyFile(
      join(p("m3"), "centroids.safetensors"),
      join(model, "centroids.safetensors"),
    );
    const want = `it is not the file model.json's init record describes`;
    for (const args of [["cluster", ds, "--model", model, "--stage", "init", "--out", p("x")]]) {
      const r = await run(...args, "--quiet");
      assert(r.code === 2 && r.err[0].includes(want) && r.err[0].includes("run init again"));
    }
    const py = await python(
      numpyPython!,
      `import seisdec
for stage in ("init", "pretrain"):
    try:
        seisdec.load_model(sys.argv[1], stage)
        print(stage, "ok")
    except ValueError as e:
        print(stage, e)`,
      model,
    );
    const lines = py.trim().split("\n");
    assert(lines[0].startsWith("init Cannot use") && lines[0].includes(want), lines[0]);
    assertEquals(lines[1], "pretrain ok");
    // An autoencoder from another pretraining: every stage refuses it.
    await ok(
      "pretrain",
      ds,
      "--model",
      p("m2"),
      "--epochs",
      "1",
      "--batch-size",
      "8",
      "--latent-dim",
      "4",
    );
    await Deno.copyFile(
      join(p("m2"), "autoencoder.safetensors"),
      join(model, "autoencoder.safetensors"),
    );
    const r = await run(
      "encode",
      ds,
      "--model",
      model,
      "--stage",
      "pretrain",
      "--out",
      p("y"),
      "--quiet",
    );
    assert(
      r.code === 2 &&
        r.err[0].includes("it is not the file model.json's pretrain record describes"),
      r.err.join(),
    );
    const py2 = await python(
      numpyPython!,
      `import seisdec
try:
    seisdec.load_model(sys.argv[1], "pretrain")
except ValueError as e:
    print(e)`,
      model,
    );
    assertEquals(
      py2.trim(),
      `Cannot use ${model}/autoencoder.safetensors: it is not the file model.json's pretrain ` +
        "record describes: pretrain did not finish writing, or the file was replaced: run " +
        "pretrain again",
    );
    await Deno.remove(root, { recursive: true });
  },
});

Deno.test({
  name:
    "seisdec.py load_model refuses a centroids.safetensors or dec.safetensors without a 'centroids' tensor, naming the file",
  ignore: !numpyPython,
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      // A model directory written by hand: no weights records, latent scale 1, and centres
      // files holding only an encoder tensor (another program's, or a hand-edited one).
      const out = await python(
        numpyPython!,
        `import json, os, numpy as np, seisdec
d = sys.argv[1]
with open(os.path.join(d, "model.json"), "w") as f:
    json.dump({"format": "seisdec-model", "version": 1,
               "autoencoder": {"latentDim": 2, "inputShape": [1, 4, 4]},
               "finetune": {"alpha": 1, "mode": "dec"}}, f)
for name in ("autoencoder", "centroids", "dec"):
    seisdec.write_safetensors(os.path.join(d, name + ".safetensors"), {"encoder.x": np.zeros(2)})
for stage in ("init", "dec"):
    try:
        seisdec.load_model(d, stage)
    except ValueError as e:
        print(e)`,
        root,
      );
      assertEquals(out.trim().split("\n"), [
        `Cannot use ${root}/centroids.safetensors: it has no 'centroids'`,
        `Cannot use ${root}/dec.safetensors: it has no 'centroids'`,
      ]);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "seisdec.py reads a dataset's UTF-8 text (a label 'Éboulement', a meta.json and samples.csv that start with a byte-order mark) under a locale that is not UTF-8, as on Windows",
  ignore: !numpyPython,
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      const ds = join(root, "ds");
      const axes = [new Float64Array(2), new Float64Array(3)] as const;
      const sample = {
        id: "a",
        network: "",
        station: "",
        location: "",
        channel: "",
        referenceTime: "",
        label: "Éboulement",
      };
      const meta = { shape: [1, 1, 2, 3] as [number, number, number, number], components: ["Z"] };
      await writeDataset(
        ds,
        { ...meta, scaling: "db", config: {} },
        [sample],
        new Float32Array(6),
        ...axes,
      );
      for (const name of ["meta.json", "samples.csv"]) {
        const p = join(ds, name);
        await Deno.writeTextFile(p, "\uFEFF" + await Deno.readTextFile(p));
      }
      // Python opens a file without an encoding in the locale's (ASCII here, cp1252 on Windows).
      const out = await new Deno.Command(numpyPython!, {
        args: [
          "-c",
          `import sys; sys.path.insert(0, ${JSON.stringify(PY_MODULE_DIR)})
import seisdec
x, samples, _, _, meta = seisdec.load_dataset(sys.argv[1])
print(ascii(samples[0]["label"]), samples[0]["id"], meta["shape"])`,
          ds,
        ],
        env: { LC_ALL: "C", PYTHONCOERCECLOCALE: "0", PYTHONUTF8: "0" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      assertEquals(new TextDecoder().decode(out.stdout).trim(), "'\\xc9boulement' a [1, 1, 2, 3]");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "seisdec.py load_dataset: a dataset of no samples gives empty arrays; a sample that is not finite is refused, naming it, when normalising",
  ignore: !numpyPython,
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      const s = (id: string) => ({
        id,
        network: "",
        station: "",
        location: "",
        channel: "",
        referenceTime: "",
        label: null,
      });
      const meta = (n: number) => ({
        shape: [n, 1, 2, 3] as [number, number, number, number],
        components: ["Z"],
        scaling: "db",
        config: {},
      });
      const axes = [new Float64Array(2), new Float64Array(3)] as const;
      await writeDataset(join(root, "empty"), meta(0), [], new Float32Array(0), ...axes);
      const x = new Float32Array(12).fill(1);
      await writeDataset(join(root, "nan"), meta(2), [s("a"), s("b")], x, ...axes);
      await writeDataset(join(root, "inf"), meta(2), [s("a"), s("b")], x, ...axes);
      // writeDataset refuses NaN: as a dataset written by another program would hold it.
      x[8] = NaN;
      await Deno.writeFile(join(root, "nan", "spectrograms.npy"), encodeNpy(x, [2, 1, 2, 3]));
      x[8] = 1;
      x[2] = -Infinity;
      await Deno.writeFile(join(root, "inf", "spectrograms.npy"), encodeNpy(x, [2, 1, 2, 3]));
      const out = await python(
        numpyPython!,
        `import seisdec
x, samples, *_ = seisdec.load_dataset(sys.argv[1], normalize="maxabs")
print(x.shape, len(samples))
try:
    seisdec.load_dataset(sys.argv[2], normalize="minmax")
except ValueError as e:
    print(e)
print(seisdec.load_dataset(sys.argv[2])[0].shape)
try:
    seisdec.load_dataset(sys.argv[3], normalize="maxabs")
except ValueError as e:
    print(e)`,
        join(root, "empty"),
        join(root, "nan"),
        join(root, "inf"),
      );
      assertEquals(out.trim().split("\n"), [
        "(0, 1, 2, 3) 0",
        `Cannot read dataset ${join(root, "nan")}: sample b (row 1) holds a value that is not ` +
        "finite: expected finite values",
        "(2, 1, 2, 3)",
        `Cannot read dataset ${join(root, "inf")}: sample a (row 0) holds a value that is not ` +
        "finite: expected finite values",
      ]);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "seisdec.py normalize_samples equals seisdec's normalizeSamples in every mode, on random samples and the edge ones (constant, all zero, negative-led, an infinity)",
  ignore: !numpyPython,
  fn: async () => {
    const rng = new Rng(7), size = 6;
    const rows: number[][] = [
      [3, 3, 3, 3, 3, 3], // constant: minmax gives 0, the others scale it
      [0, 0, 0, 0, 0, 0], // all zero: stays zero
      [-8, 1, 2, -0.5, 4, 0.25], // the largest |value| is negative
      [1, Infinity, 2, 3, 4, 5], // maxabs and l2: left as it is; minmax: NaN from inf - inf
    ];
    for (let i = 0; i < 4; i++) rows.push(Array.from({ length: size }, () => rng.normal() * 5));
    const want: Record<string, (number | null)[][]> = {};
    for (const mode of ["maxabs", "l2", "minmax", "none"] as const) {
      const x = Float32Array.from(rows.flat());
      normalizeSamples(x, size, mode);
      want[mode] = rows.map((_, r) =>
        [...x.subarray(r * size, (r + 1) * size)].map((v) => Number.isFinite(v) ? v : null)
      );
    }
    const out = await python(
      numpyPython!,
      `import json, numpy as np, seisdec
rows = json.loads(sys.argv[1])
x = np.array([[float("inf") if v is None else v for v in r] for r in rows], np.float32)
out = {}
with np.errstate(invalid="ignore"):
    for mode in ("maxabs", "l2", "minmax", "none"):
        y = seisdec.normalize_samples(x.reshape(len(x), 1, 2, 3), mode).reshape(len(x), -1)
        out[mode] = [[float(v) if np.isfinite(v) else None for v in r] for r in y]
print(json.dumps(out))`,
      JSON.stringify(rows.map((r) => r.map((v) => Number.isFinite(v) ? v : null))),
    );
    const got = JSON.parse(out) as typeof want;
    for (const mode of Object.keys(want)) {
      for (let r = 0; r < rows.length; r++) {
        for (let i = 0; i < size; i++) {
          const a = got[mode][r][i], b = want[mode][r][i];
          // float32 rounding: seisdec scales by 1/s in float64, NumPy in float32 (1 ulp each).
          const ok = a === null || b === null ? a === b : Math.abs(a - b) <= 3e-7 * Math.abs(b);
          assert(ok, `${mode} row ${r} value ${i}: seisdec.py ${a}, seisdec ${b}`);
        }
      }
    }
    // The edge rows, spelled out.
    assertEquals(want.minmax[0], [0, 0, 0, 0, 0, 0]);
    assertEquals(want.maxabs[2], [-1, 0.125, 0.25, -0.0625, 0.5, 0.03125]);
    assertEquals(want.maxabs[3], [1, null, 2, 3, 4, 5]);
  },
});

Deno.test({
  name:
    "seisdec.py read_safetensors reads F16 and F32 tensors and refuses a header longer than the file, naming both",
  ignore: !numpyPython,
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      const file = (header: string, body: Uint8Array, claim?: number) => {
        const h = new TextEncoder().encode(header);
        const out = new Uint8Array(8 + h.length + body.length);
        new DataView(out.buffer).setBigUint64(0, BigInt(claim ?? h.length), true);
        out.set(h, 8);
        out.set(body, 8 + h.length);
        return out;
      };
      // F16 1.5 and -2 (0x3E00, 0xC000), then F32 0.25.
      const body = new Uint8Array([0x00, 0x3e, 0x00, 0xc0, 0, 0, 0x80, 0x3e]);
      const header = JSON.stringify({
        h: { dtype: "F16", shape: [2], data_offsets: [0, 4] },
        f: { dtype: "F32", shape: [1, 1], data_offsets: [4, 8] },
        __metadata__: { format: "pt" },
      });
      await Deno.writeFile(join(root, "ok.safetensors"), file(header, body));
      // The header claims one byte more than the file holds after the length.
      const short = file(header, new Uint8Array(0));
      new DataView(short.buffer).setBigUint64(0, BigInt(short.length - 8 + 1), true);
      await Deno.writeFile(join(root, "short.safetensors"), short);
      const out = await python(
        numpyPython!,
        `import seisdec
t, meta = seisdec.read_safetensors(sys.argv[1])
print(t["h"].dtype, t["h"].tolist(), t["f"].dtype, t["f"].tolist(), meta)
try:
    seisdec.read_safetensors(sys.argv[2])
except ValueError as e:
    print(e)`,
        join(root, "ok.safetensors"),
        join(root, "short.safetensors"),
      );
      const n = new TextEncoder().encode(header).length;
      assertEquals(out.trim().split("\n"), [
        "float16 [1.5, -2.0] float32 [[0.25]] {'format': 'pt'}",
        `Cannot read ${join(root, "short.safetensors")}: its header claims ${
          n + 1
        } bytes, more than the file holds`,
      ]);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "seisdec.py new_model + save_model without PyTorch: a small architecture from NumPy weights that seisdec encodes alike; the dataset's scaling recorded, the header sorted and 8-byte aligned; bad shapes and extra tensors refused",
  ignore: !numpyPython || !gpuAvailable,
  fn: async () => {
    const root = await Deno.makeTempDir();
    const p = (s: string) => join(root, s);
    try {
      await writeSamples(p("x.npy"), 5);
      await ok("import", p("x.npy"), "--out", p("ds"), "--scaling", "db");
      const out = await python(
        numpyPython!,
        `import json, struct, numpy as np, seisdec
ds, out = sys.argv[1], sys.argv[2]
for bad in ([1, 0, 14], [20, 14]):
    try:
        seisdec.new_model(bad)
    except ValueError as e:
        print(e)
m = seisdec.new_model([1, 20, 14], latent_dim=3, channels=(2, 3), slope=0.05, normalize="minmax")
plan = seisdec.decoder_plan(20, 14, 2)
hl, wl = plan["encoder_sizes"][-1]
rng = np.random.default_rng(1)
w = {}
for i, (ci, co) in enumerate([(1, 2), (2, 3)]):
    w[f"encoder.encoder.{2 * i}.weight"] = rng.normal(0, 0.5, (co, ci, 3, 3))
    w[f"encoder.encoder.{2 * i}.bias"] = rng.normal(0, 0.1, co)
w["encoder.encoder.5.weight"] = rng.normal(0, 0.3, (3, 3 * hl * wl))
w["encoder.encoder.5.bias"] = rng.normal(0, 0.1, 3)
w["decoder.decoder.0.weight"] = rng.normal(0, 0.3, (3 * hl * wl, 3))
w["decoder.decoder.0.bias"] = rng.normal(0, 0.1, 3 * hl * wl)
for i, (ci, co) in enumerate([(3, 2), (2, 1)]):
    w[f"decoder.decoder.{3 + 2 * i}.weight"] = rng.normal(0, 0.5, (ci, co, 3, 3))
    w[f"decoder.decoder.{3 + 2 * i}.bias"] = rng.normal(0, 0.1, co)
try:
    seisdec.save_model(out + "/extra", m, {**w, "encoder.encoder.9.weight": np.zeros(2)})
except ValueError as e:
    print(e)
seisdec.save_model(out + "/m", m, w, dataset=ds)
raw = open(out + "/m/autoencoder.safetensors", "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
names = list(json.loads(raw[8:8 + n]))
print(n % 8, names[:-1] == sorted(names[:-1]), names[-1])
x, *_ = seisdec.load_dataset(ds, normalize="minmax")
np.save(out + "/z.npy", seisdec.encode(seisdec.Model(m.config, "pretrain", {k: v.astype(np.float32) for k, v in w.items()}, None, 1.0), x))`,
        p("ds"),
        root,
      );
      assertEquals(out.trim().split("\n"), [
        "Cannot make a model: input_shape must be [C, F, T] of positive integers: found [1, 0, 14]",
        "Cannot make a model: input_shape must be [C, F, T] of positive integers: found [20, 14]",
        "Cannot save the model: weights must be the autoencoder's 12 tensors: missing [], " +
        "unexpected ['encoder.encoder.9.weight']",
        "0 True __metadata__",
      ]);
      const info = await readModelInfo(p("m"));
      assertEquals(
        [info.scaling, info.normalize, info.autoencoder.channels, info.autoencoder.slope],
        ["db", "minmax", [2, 3], 0.05],
      );
      await ok("encode", p("ds"), "--model", p("m"), "--out", p("e"));
      const d = maxRelDiff(await npy(p("e/latent.npy")), await npy(p("z.npy")), "codes");
      assert(d <= 1e-5, `seisdec's codes of the saved model differ from Python's by ${d}`);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "seisdec.py soft_assign equals the CPU reference softAssign at alpha 0.5, 1, 3 and 100, with a centre so far its q is floored at 2^-126 and a code whose kernels all underflow",
  ignore: !numpyPython,
  fn: async () => {
    const rng = new Rng(11), n = 5, k = 3, d = 2;
    const z = Array.from({ length: n * d }, () => rng.normal() * 2);
    // A code so far from every centre that at alpha 100 all its kernels underflow: 0/0
    // without the row's largest kernel taken out first.
    z[0] = 1e5;
    // The third centre is so far that its kernel underflows against the others'.
    const mu = [0, 0, 1.5, -1, 1e30, 1e30];
    const out = await python(
      numpyPython!,
      `import json, numpy as np, seisdec
z, mu = np.array(json.loads(sys.argv[1])).reshape(${n}, ${d}), np.array(json.loads(sys.argv[2])).reshape(${k}, ${d})
print(json.dumps({a: seisdec.soft_assign(z, mu, float(a)).ravel().tolist() for a in ("0.5", "1", "3", "100")}))`,
      JSON.stringify(z),
      JSON.stringify(mu),
    );
    const got = JSON.parse(out) as Record<string, number[]>;
    for (const alpha of [0.5, 1, 3, 100]) {
      const want = softAssign(z, mu, n, k, d, alpha);
      const q = got[String(alpha)];
      assertEquals(q.length, n * k);
      for (let i = 0; i < n * k; i++) {
        // Both in float64, the same formula; log1p differs by an ulp between V8 and the C
        // library, times (alpha + 1)/2 = 50.5 in the exponent at alpha 100: 1e-12 of q.
        assert(
          Math.abs(q[i] - want[i]) <= 1e-12 * want[i],
          `alpha ${alpha} q[${i}]: ${q[i]}, ${want[i]}`,
        );
      }
      for (let i = 0; i < n; i++) assertEquals(q[i * k + 2], 2 ** -126);
    }
  },
});
