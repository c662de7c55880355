/**
 * The command line end to end, in one process through cli.ts's `main()`:
 * import → pretrain → init → finetune → cluster → evaluate on a tiny set, `encode`
 * on data the model never saw, the `--raw` baseline, every command's `--help`,
 * and user errors (exit status 2, one `error:` line, no stack trace).
 */
import { join } from "node:path";
import { run } from "./_run.ts";
import { KERNELS } from "../../lib/gpu/kernels.ts";
import { downstreamOf, exists as pathExists, loadWeights } from "../../lib/io/checkpoint.ts";
import { parseCsv } from "../../lib/io/csv.ts";
import { encodeNpy, readNpyFile } from "../../lib/io/npy.ts";
import { writeDataset } from "../../lib/io/dataset.ts";
import { Rng } from "../../lib/util/rng.ts";
import { assert, assertEquals } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import { countLineInTiles, decodePng, findText } from "../plot/_decode_png.ts";
import { MARK_COLOR } from "../../lib/plot/charts.ts";
import { valueLabel } from "../../lib/cluster/summary.ts";

/** `n` samples [1, 12, 10]: class a bright in the top rows, class b in the bottom rows. */
async function writeNpy(path: string, n: number, seed: number): Promise<string[]> {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 120);
  const labels: string[] = [];
  for (let i = 0; i < n; i++) {
    const top = i % 2 === 0;
    labels.push(top ? "a" : "b");
    for (let h = 0; h < 12; h++) {
      for (let w = 0; w < 10; w++) {
        x[i * 120 + h * 10 + w] = ((h < 6) === top ? 1 : 0.1) + 0.1 * rng.normal();
      }
    }
  }
  await Deno.writeFile(path, encodeNpy(x, [n, 1, 12, 10]));
  return labels;
}

const COMMANDS = [
  "info",
  "tune",
  "synth",
  "extract",
  "import",
  "pretrain",
  "init",
  "finetune",
  "encode",
  "cluster",
  "demo",
  "evaluate",
  "report",
  "similar",
];

/** The commands that make random choices, and so take --seed. */
const SEEDED = ["synth", "pretrain", "init", "finetune", "cluster", "demo", "evaluate"];

/** The commands that compute on a backend (or name it, as info does), and so take --cpu. */
const GPU = ["info", "pretrain", "init", "finetune", "encode", "cluster", "demo"];

Deno.test("cli: every command's --help prints its usage and exits 0", async () => {
  const top = await run("--help");
  assertEquals(top.code, 0);
  const list = top.out.join("\n").split("\n");
  for (const line of list) assert(line.length <= 100, `longer than 100 characters: ${line}`);
  for (const c of COMMANDS) {
    // The command list shows each command's own summary: the third line of its --help.
    const summary = (await run(c, "--help")).out.join("\n").split("\n")[2];
    const row = list.find((l) => l.trimStart().startsWith(`${c} `));
    assert(row !== undefined, `${c} missing from --help`);
    assertEquals(row.slice(2 + c.length).trim(), summary, `${c}: --help list and own --help`);
  }
  for (const c of COMMANDS) {
    const r = await run(c, "--help");
    assertEquals(r.code, 0, `${c} --help`);
    const text = r.out.join("\n");
    assert(text.startsWith(`Usage: deno run -A cli.ts ${c} [flags]`), `${c}: ${text.slice(0, 80)}`);
    assert(text.includes("--help") && text.includes("--quiet"), `${c}: common flags missing`);
    // --seed only where the command makes random choices, --cpu only where it uses a backend.
    assertEquals(text.includes("--seed"), SEEDED.includes(c), `${c}: --seed in its help`);
    assertEquals(text.includes("--cpu"), GPU.includes(c), `${c}: --cpu in its help`);
    // Every --out is also -o.
    assertEquals(/^ {2}-o, --out /m.test(text), /--out /.test(text), `${c}: -o for --out`);
    assertEquals(r.err, []);
  }
  for (const c of COMMANDS.filter((c) => !SEEDED.includes(c))) {
    const r = await run(c, "--seed", "1");
    assertEquals([r.code, r.err.length], [2, 1], `${c} --seed 1: ${r.err.join("\n")}`);
    const why = c === "extract" ? "its one random choice" : "it makes no random choices";
    assert(r.err[0].includes(`--seed is not a flag of '${c}': ${why}`), r.err[0]);
  }
  for (const c of COMMANDS.filter((c) => !GPU.includes(c))) {
    const r = await run(c, "--cpu");
    assertEquals([r.code, r.err.length], [2, 1], `${c} --cpu: ${r.err.join("\n")}`);
    const why = c === "tune" ? "it tunes the WebGPU kernels" : "it does no WebGPU work";
    assert(r.err[0].includes(`--cpu is not a flag of '${c}': ${why}`), r.err[0]);
  }
  const bad = await run("nosuchcommand");
  assertEquals(bad.code, 2);
  assertEquals(bad.err.length, 1);
  assert(bad.err[0].startsWith("error: ") && bad.err[0].includes("no such command"), bad.err[0]);
});

Deno.test("cli: every command refuses positional arguments beyond those its usage line names", async () => {
  // How many each takes: info [DIR], tune [<dataset-dir>], the others one directory or file, or
  // none (synth, extract, demo).
  const takes = (c: string) => ["synth", "extract", "demo"].includes(c) ? 0 : 1;
  for (const c of COMMANDS) {
    const given = takes(c) ? ["/nonexistent/in"] : [];
    // demo's --out: a run the refusal does not stop fails at once there.
    const out = c === "demo" ? ["--out", "/nonexistent/x"] : [];
    const r = await run(c, ...given, "bogus", "extra", ...out, "--quiet");
    assertEquals([r.code, r.err.length], [2, 1], `${c}: ${r.err.join("\n")}`);
    const want = `error: Cannot run ${c}: unexpected arguments: bogus extra: expected ` +
      (takes(c) ? "only " : "no positional argument (usage: deno run -A cli.ts ");
    assert(r.err[0].startsWith(want), r.err[0]);
    // --help still helps.
    assertEquals((await run(c, ...given, "bogus", "--help")).code, 0, `${c} bogus --help`);
  }
  const ev = await run("evaluate", "/nonexistent/c", "bogus", "--json");
  assertEquals(
    ev.err,
    [
      "error: Cannot run evaluate: unexpected arguments: bogus: expected only <cluster-dir> " +
      "(usage: deno run -A cli.ts evaluate [flags] <cluster-dir>)",
    ],
  );
});

Deno.test("cli: --help usage lines name the flags a command needs, and README names every flag", async () => {
  const usage = async (c: string) => (await run(c, "--help")).out.join("\n").split("\n")[0];
  const needs: Record<string, string[]> = {
    pretrain: ["<dataset-dir>", "--model DIR"],
    init: ["<dataset-dir>", "--model DIR"],
    finetune: ["<dataset-dir>", "--model DIR"],
    encode: ["<dataset-dir>", "--model DIR", "--out DIR"],
    cluster: ["<dataset-dir>", "--model DIR", "--raw", "--out DIR"],
    similar: ["<cluster-or-encode-dir>", "--id ID"],
    extract: ["--manifest CSV", "--esec DIR", "--npz DIR", "--sds DIR", "--out DIR"],
    synth: ["--out DIR"],
    import: ["<array.npy>", "--out DIR"],
  };
  for (const [c, parts] of Object.entries(needs)) {
    const line = await usage(c);
    for (const p of parts) assert(line.includes(p), `${c}: '${p}' missing from '${line}'`);
  }
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  for (const c of COMMANDS) {
    const text = (await run(c, "--help")).out.join("\n");
    for (const [, flag] of text.matchAll(/^ {2}(?:-\w, | {4})(--[\w-]+)/gm)) {
      assert(readme.includes(flag), `${c} ${flag} is not in README.md`);
    }
  }
});

gpuTest(
  "cli: import → pretrain → init → finetune → cluster → evaluate, encode, --raw",
  async () => {
    const root = await Deno.makeTempDir();
    const p = (s: string) => join(root, s);
    const labels = await writeNpy(p("x.npy"), 40, 1);
    await Deno.writeTextFile(
      p("labels.csv"),
      "id,label\n" + labels.map((l, i) => `${i},${l}`).join("\n") + "\n",
    );
    const ok = async (...args: string[]) => {
      const r = await run(...args, "--quiet");
      assertEquals(r.code, 0, `${args[0]} failed: ${r.err.join("\n")}`);
      return r;
    };
    await ok("import", p("x.npy"), "--out", p("ds"), "--labels", p("labels.csv"));
    const pre = [
      p("ds"),
      "--model",
      p("m"),
      "--epochs",
      "2",
      "--batch-size",
      "8",
      "--latent-dim",
      "3",
    ];
    const first = await ok("pretrain", ...pre);
    // 2 epochs of 5 batches: far too few Adam steps, and the warning says what to change.
    assertEquals(
      first.err.filter((l) => l.startsWith("warning: pretraining takes only 10 Adam steps")).length,
      1,
      first.err.join("\n"),
    );
    assert(first.err.join("\n").includes("--epochs 100"), first.err.join("\n"));
    const info = JSON.parse(await Deno.readTextFile(p("m/model.json")));
    assertEquals(info.format, "seisdec-model");
    assertEquals(info.autoencoder.inputShape, [1, 12, 10]);
    assertEquals(info.pretrain.epochsDone, 2);
    // Unnamed, the normalisation is max-abs for linear values (an imported array's "none") and
    // min-max for dB or log10 spectrograms; a flag overrides it.
    assertEquals(info.normalize, "maxabs");
    await Deno.mkdir(p("db"));
    for (const f of Deno.readDirSync(p("ds"))) {
      await Deno.copyFile(p(`ds/${f.name}`), p(`db/${f.name}`));
    }
    const meta = JSON.parse(await Deno.readTextFile(p("db/meta.json")));
    await Deno.writeTextFile(p("db/meta.json"), JSON.stringify({ ...meta, scaling: "db" }));
    const dbPre = ["pretrain", p("db"), "--epochs", "1", "--batch-size", "8", "--latent-dim", "3"];
    for (const [extra, want] of [[[], "minmax"], [["--normalize", "maxabs"], "maxabs"]] as const) {
      await ok(...dbPre, "--model", p(`m_${want}`), ...extra);
      assertEquals(JSON.parse(await Deno.readTextFile(p(`m_${want}/model.json`))).normalize, want);
    }
    // model.json records the scaling trained on; a dataset of another scaling is refused (a dB
    // model on linear values put every sample in one cluster).
    assertEquals(JSON.parse(await Deno.readTextFile(p("m_minmax/model.json"))).scaling, "db");
    const otherScale = await run("encode", p("ds"), "--model", p("m_minmax"), "--out", p("eS"));
    assert(
      otherScale.code === 2 &&
        otherScale.err[0].includes(
          `Cannot use model ${p("m_minmax")}: it was trained on db spectrograms: the dataset's ` +
            `are none (extract it with --scaling db, or train a model on it)`,
        ),
      otherScale.err.join("\n"),
    );
    const ae = (await loadWeights(p("m/autoencoder.safetensors"))).weights;
    // PyTorch names of the seed's nn.Sequential modules.
    assertEquals(ae.get("encoder.encoder.0.weight")?.shape, [8, 1, 3, 3]);
    assertEquals(ae.get("encoder.encoder.11.weight")?.shape[0], 3);
    assert(ae.has("decoder.decoder.0.bias"), [...ae.keys()].join(","));
    assertEquals((await Deno.readTextFile(p("m/learning_curve.csv"))).trim().split("\n").length, 3);

    // A second pretrain into the same directory needs --resume or --force.
    const again = await run("pretrain", ...pre, "--quiet");
    assertEquals(again.code, 2);
    assertEquals(again.err.length, 1);
    assert(again.err[0].startsWith("error: ") && again.err[0].includes("--resume"), again.err[0]);
    await ok("pretrain", ...pre, "--force");
    // Clustering with a model that has no centres yet is refused before the encoding pass.
    const noCen = await run("cluster", p("ds"), "--model", p("m"), "--out", p("c0"), "--quiet");
    assertEquals(noCen.code, 2);
    assert(noCen.err[0].includes("it holds no centroids: run 'init'"), noCen.err.join("\n"));
    const noCenFt = await run("finetune", p("ds"), "--model", p("m"), "--quiet");
    assertEquals(noCenFt.code, 2);
    assert(
      noCenFt.err[0].includes("it holds no centroids.safetensors: run init first"),
      noCenFt.err.join("\n"),
    );

    // k chosen among 2..4 by the silhouette: the table, the CSV and PNG, model.json, centres.
    const sel = await run("init", p("ds"), "--model", p("m"), "--k", "2:4", "--n-init", "3");
    assertEquals(sel.code, 0, sel.err.join("\n"));
    const csv = (await Deno.readTextFile(p("m/k_selection.csv"))).trim().split("\n");
    assertEquals(csv[0], "k,inertia,silhouette,calinski_harabasz,davies_bouldin,bic,empty,chosen");
    assertEquals(csv.slice(1).map((r) => r.split(",")[0]), ["2", "3", "4"]);
    const chosen = csv.slice(1).filter((r) => r.endsWith(",1")).map((r) => Number(r.split(",")[0]));
    assertEquals(chosen.length, 1, csv.join("\n"));
    const sil = csv.slice(1).map((r) => Number(r.split(",")[2]));
    assertEquals(chosen[0], 2 + sil.indexOf(Math.max(...sil)), "the highest silhouette");
    assert(
      sel.out.some((l) => l.includes(`chose k = ${chosen[0]} by silhouette`)),
      sel.out.join("\n"),
    );
    assert((await Deno.stat(p("m/k_selection.png"))).size > 1000);
    const selInfo = JSON.parse(await Deno.readTextFile(p("m/model.json"))).init;
    assertEquals([selInfo.k, selInfo.kSelection], [chosen[0], {
      candidates: [2, 3, 4],
      criterion: "silhouette",
      chosen: chosen[0],
    }]);
    assertEquals(
      (await loadWeights(p("m/centroids.safetensors"))).weights.get("centroids")?.shape,
      [chosen[0], 3],
    );
    // The selection is init's output: a new pretraining makes it stale with the centres.
    assertEquals(await downstreamOf(p("m"), "pretrain"), [
      "centroids.safetensors",
      "k_selection.csv",
      "k_selection.png",
    ]);
    // A later init with one k drops the selection its centres no longer come from.
    await ok("init", p("ds"), "--model", p("m"), "--k", "2", "--n-init", "5");
    assert(
      !(await pathExists(p("m/k_selection.csv"))) && !(await pathExists(p("m/k_selection.png"))),
    );
    const cen = (await loadWeights(p("m/centroids.safetensors"))).weights.get("centroids");
    assertEquals(cen?.shape, [2, 3]);
    // The config file's init.k and init.kCriterion choose as --k and --k-criterion do, and the
    // flag wins over the file.
    const initCfg = { init: { k: "2:3", kCriterion: "davies-bouldin", nInit: 2 } };
    await Deno.writeTextFile(p("init.json"), JSON.stringify(initCfg));
    await ok("init", p("ds"), "--model", p("m"), "--config", p("init.json"));
    const fromFile = JSON.parse(await Deno.readTextFile(p("m/model.json"))).init;
    assertEquals(
      [fromFile.kSelection.candidates, fromFile.kSelection.criterion, fromFile.nInit],
      [[2, 3], "davies-bouldin", 2],
    );
    assert(await pathExists(p("m/k_selection.csv")));
    await ok("init", p("ds"), "--model", p("m"), "--config", p("init.json"), "--k", "2");
    assertEquals(JSON.parse(await Deno.readTextFile(p("m/model.json"))).init.kSelection, undefined);
    assert(!(await pathExists(p("m/k_selection.csv"))));
    // A GMM restart is a whole EM run: 10 by default, and --n-init is honoured as given.
    // Its summary line names what the fit's figure is: k-means' inertia, a GMM's log-likelihood.
    assert(
      (await ok("init", p("ds"), "--model", p("m"), "--k", "2", "--n-init", "2", "--force")).out
        .some((l) =>
          /^init: kmeans with k = 2, inertia [0-9.e+-]+, mean largest q [01]\.[0-9]{3} \(uniform 0\.500\); centroids in /
            .test(l)
        ),
    );
    const gmmInit = async (...extra: string[]) => {
      const r = await ok(
        "init",
        p("ds"),
        "--model",
        p("m"),
        "--k",
        "2",
        "--method",
        "gmm",
        ...extra,
      );
      assert(r.out.some((l) => l.includes("init: gmm with k = 2, mean log-likelihood ")), r.out[0]);
      return JSON.parse(await Deno.readTextFile(p("m/model.json"))).init;
    };
    assertEquals(((await gmmInit()) as { nInit: number }).nInit, 10);
    const g = await gmmInit("--n-init", "13", "--covariance", "full");
    assertEquals([g.method, g.nInit, g.covariance], ["gmm", 13, "full"]);
    await ok("init", p("ds"), "--model", p("m"), "--k", "2", "--n-init", "5");
    const ft = (maxIter: string) =>
      ["finetune", p("ds"), "--model", p("m"), "--max-iter", maxIter, "--update-interval", "5"]
        .concat(["--batch-size", "8", "--tol", "0"]);
    await ok(...ft("10"));
    const dec = (await loadWeights(p("m/dec.safetensors"))).weights;
    assertEquals(dec.get("centroids")?.shape, [2, 3]);
    assert(dec.has("encoder.encoder.11.bias"));
    assert(![...dec.keys()].some((k) => k.startsWith("decoder.")), "DEC mode saved the decoder");
    const mi = JSON.parse(await Deno.readTextFile(p("m/model.json")));
    assertEquals([mi.init.k, mi.finetune.mode], [2, "dec"]);
    // What a stage made is not replaced by running it, or an earlier stage, again by mistake.
    for (
      const [args, want] of [
        [["finetune", p("ds"), "--model", p("m")], "--resume to continue or --force"],
        [["init", p("ds"), "--model", p("m")], "dec.safetensors"],
        [["pretrain", ...pre], "--resume"],
      ] as [string[], string][]
    ) {
      const r = await run(...args, "--quiet");
      assertEquals(r.code, 2, args.join(" "));
      assert(r.err.length === 1 && r.err[0].includes(want), r.err.join("\n"));
    }
    const stale = await run("pretrain", ...pre, "--resume", "--quiet");
    assertEquals(stale.code, 2);
    assert(stale.err[0].includes("centroids.safetensors, dec.safetensors"), stale.err[0]);
    // Fine-tuning continues past its --max-iter from finetune_checkpoint/.
    await ok(...ft("15"), "--resume");
    const log = (await Deno.readTextFile(p("m/finetune_log.csv"))).trim().split("\n");
    assertEquals(log.map((l) => l.split(",")[0]).slice(1), ["0", "5", "10", "15"]);
    // A dataset of other samples ([1, 10, 12]) is refused before finetune --force clears the
    // finished model's record and checkpoint, and before init or cluster encode anything.
    await Deno.writeFile(p("t.npy"), encodeNpy(new Float32Array(6 * 120).fill(1), [6, 1, 10, 12]));
    await ok("import", p("t.npy"), "--out", p("dsT"));
    const before = await Deno.readTextFile(p("m/model.json"));
    for (
      const args of [
        ["finetune", p("dsT"), "--model", p("m"), "--force"],
        ["init", p("dsT"), "--model", p("m"), "--force", "--k", "2"],
        ["cluster", p("dsT"), "--model", p("m"), "--out", p("cT")],
        ["encode", p("dsT"), "--model", p("m"), "--out", p("cT")],
      ]
    ) {
      const r = await run(...args, "--quiet");
      assertEquals(r.code, 2, args.join(" "));
      assert(
        r.err.length === 1 &&
          r.err[0].includes(
            `Cannot use model ${
              p("m")
            }: it was trained on samples [1, 12, 10]: the dataset's are [1, 10, 12]`,
          ),
        r.err.join("\n"),
      );
    }
    // An output directory that may not be replaced is refused before the model is used.
    for (const cmd of ["cluster", "encode"]) {
      const r = await run(cmd, p("dsT"), "--model", p("m"), "--out", p("dsT"), "--quiet");
      assertEquals(r.code, 2, cmd);
      assert(r.err[0].includes(`Cannot write ${p("dsT")}: it already exists`), r.err.join("\n"));
    }
    assertEquals(await Deno.readTextFile(p("m/model.json")), before);
    assert(await pathExists(p("m/dec.safetensors")) && !(await pathExists(p("cT"))));
    assert(await pathExists(p("m/finetune_checkpoint/state.json")));

    await ok("cluster", p("ds"), "--model", p("m"), "--out", p("c"));
    const rows = (await Deno.readTextFile(p("c/labels.csv"))).trim().split("\n");
    assertEquals(rows.length, 41);
    const head = rows[0].split(",");
    const ci = head.indexOf("cluster"), li = head.indexOf("label");
    rows.slice(1).forEach((r, i) => {
      const f = r.split(",");
      assertEquals(f[0], String(i));
      assert(f[ci] === "0" || f[ci] === "1", r);
      assertEquals(f[li], labels[i]);
    });
    const lat = await readNpyFile(p("c/latent.npy"));
    assertEquals(lat.shape, [40, 3]);
    const q = await readNpyFile(p("c/q.npy"));
    assertEquals(q.shape, [40, 2]);
    const qd = q.data as Float32Array;
    // Float32 soft assignments: each row sums to 1 within a few ulp.
    for (let i = 0; i < 40; i++) {
      assert(
        Math.abs(qd[2 * i] + qd[2 * i + 1] - 1) < 1e-5,
        `q row ${i}`,
      );
    }
    // confidence is the largest q, margin it less the second (k = 2: |q0 − q1|), both to 6 places.
    const conf = head.indexOf("confidence"), mg = head.indexOf("margin");
    rows.slice(1).forEach((r, i) => {
      const f = r.split(",");
      const [a, b] = [qd[2 * i], qd[2 * i + 1]];
      assertEquals(f[conf], Math.max(a, b).toFixed(6), r);
      assertEquals(f[mg], Math.abs(a - b).toFixed(6), r);
    });
    for (const f of ["latent_pca.png", "examples.png", "result.json"]) await Deno.stat(p(`c/${f}`));
    const count = (c: string) => rows.slice(1).filter((r) => r.split(",")[ci] === c).length;
    // examples.png: an imported array's axes are bins, so rows and columns are named, no line
    // marks a reference time, and the colour bar says what the values are after the model's
    // normalisation; each tile names its sample (id, then label).
    const ex = decodePng(await Deno.readFile(p("c/examples.png")));
    const { normalize } = JSON.parse(await Deno.readTextFile(p("c/result.json")));
    assertEquals(findText(ex, "row (bin)", { rotate: true }).length, 1);
    assertEquals(findText(ex, "column (bin)").length, 1);
    assertEquals(findText(ex, "frequency (Hz)", { rotate: true }).length, 0);
    assertEquals(countLineInTiles(ex, MARK_COLOR), 0);
    assertEquals(findText(ex, valueLabel("none", null, normalize)).length, 1);
    let captioned = 0;
    for (let i = 0; i < 40; i++) {
      // Centred one line (10 px) above the other, on the same baseline; a lone digit inside a
      // longer id sits off centre.
      const mid = (t: { x: number; w: number }) => t.x + t.w / 2;
      const label = findText(ex, labels[i]);
      for (const c of findText(ex, String(i))) {
        const under = (l: { y: number; h: number }) => l.y + l.h === c.y + c.h + 10;
        if (label.some((l) => under(l) && Math.abs(mid(l) - mid(c)) <= 1)) {
          captioned++;
        }
      }
    }
    assertEquals(captioned, Math.min(6, count("0")) + Math.min(6, count("1")));
    // clusters.csv profiles each cluster: its sizes are labels.csv's counts; the imported set
    // has no reference times, so no hour-of-day or timeline figure and empty time fields; its
    // axes are bin indices, so the peak is a row and a column, not Hz and s.
    const prof = (await Deno.readTextFile(p("c/clusters.csv"))).trim().split("\n");
    assertEquals(prof[0].split(",").slice(0, 5), [
      "cluster",
      "size",
      "mean_confidence",
      "peak_row",
      "peak_column",
    ]);
    assertEquals(prof.slice(1).map((r) => r.split(",")[1]), [
      String(count("0")),
      String(count("1")),
    ]);
    assertEquals(prof.slice(1).map((r) => r.split(",")[5]), ["", ""]);
    for (const f of ["cluster_means.png", "cluster_spectra.png", "latent_umap.png"]) {
      await Deno.stat(p(`c/${f}`));
    }
    // umap.csv: every sample (40 <= 5000) with its UMAP coordinates and cluster.
    const um = (await Deno.readTextFile(p("c/umap.csv"))).trim().split("\n");
    assertEquals(um[0], "id,umap_x,umap_y,cluster");
    assertEquals(
      um.slice(1).map((r) => r.split(",")[3]),
      rows.slice(1).map((r) => r.split(",")[ci]),
    );
    // A subset (--umap-points 12 of 40): each row is its own sample's cluster.
    await ok("cluster", p("ds"), "--model", p("m"), "--out", p("cu"), "--umap-points", "12");
    const clusterOf = new Map(rows.slice(1).map((r) => r.split(",")).map((f) => [f[0], f[ci]]));
    const subset = (await Deno.readTextFile(p("cu/umap.csv"))).trim().split("\n").slice(1);
    assertEquals(subset.length, 12);
    assert(new Set(subset.map((r) => r.split(",")[3])).size > 1, "both clusters in the subset");
    for (const r of subset) {
      const [id, , , c] = r.split(",");
      assertEquals(c, clusterOf.get(id), `umap.csv's cluster of ${id}`);
    }
    for (const f of ["hour_of_day.png", "timeline.png"]) {
      assert(!(await pathExists(p(`c/${f}`))), f);
    }

    // info DIR says what a dataset, a model and a cluster directory hold.
    const infoOf = async (dir: string) =>
      JSON.parse((await ok("info", dir, "--json")).out.join("\n"));
    const dsInfo = await infoOf(p("ds"));
    assertEquals([dsInfo.kind, dsInfo.shape, dsInfo.labelled], ["dataset", [40, 1, 12, 10], 40]);
    assertEquals(dsInfo.stations, 0, "imported samples name no station");
    assertEquals(Object.values(dsInfo.classes).reduce((u: number, v) => u + (v as number), 0), 40);
    const mInfo = await infoOf(p("m"));
    assertEquals([mInfo.kind, mInfo.latentDim, mInfo.init.k, mInfo.finetune.mode], [
      "model",
      3,
      2,
      "dec",
    ]);
    assertEquals(mInfo.files.dec, true);
    // The largest batch whose largest activation fits WebGPU's default 128 MiB binding: the
    // same for the model as for the dataset it was trained on.
    const lim = dsInfo.batchLimit;
    assertEquals(mInfo.batchLimit, lim);
    assert(/^decoder ConvTranspose2d \d+×\d+×\d+$/.test(lim.layer), lim.layer);
    const perSample = 4 *
      lim.layer.split(" ").at(-1).split("×").reduce((a: number, b: string) => a * Number(b), 1);
    assertEquals(lim.bytesPerSample, perSample);
    assertEquals(lim.at128MiB, Math.floor(128 * 2 ** 20 / perSample));
    const cInfo = await infoOf(p("c"));
    assertEquals([cInfo.kind, cInfo.stage, cInfo.n, cInfo.k], ["clusters", "dec", 40, 2]);
    assertEquals(cInfo.sizes, [count("0"), count("1")]);
    const text = (await ok("info", p("m"))).out.join("\n");
    assert(text.includes("latentDim:      3"), text);
    const none = await run("info", root, "--quiet");
    assertEquals(none.code, 2);
    assert(none.err[0].includes("holds no meta.json"), none.err[0]);

    const ev = await ok("evaluate", p("c"));
    assert(ev.out.join("\n").length > 0);
    const rep = JSON.parse(await Deno.readTextFile(p("c/evaluation.json")));
    assertEquals(rep.labelsFrom, "dataset");
    // similar: the nearest codes to sample 0, nearest first, as computed from latent.npy.
    const sim = JSON.parse(
      (await ok("similar", p("c"), "--id", "0", "--n", "3", "--json")).out.join("\n"),
    );
    assertEquals(sim.query.id, "0");
    // Typed as evaluation.json's: the cluster a number, absent fields null.
    const labels0 = parseCsv(await Deno.readTextFile(p("c/labels.csv")));
    const cl = labels0[0].indexOf("cluster");
    assertEquals(sim.query.cluster, Number(labels0[1][cl]));
    assert(sim.neighbours.every((x: { cluster: unknown }) => typeof x.cluster === "number"));
    assert(
      sim.query.label === null || typeof sim.query.label === "string",
      String(sim.query.label),
    );
    const ld = lat.data as Float32Array;
    const dist = (i: number) =>
      Math.sqrt([0, 1, 2].reduce((u, j) => u + (ld[i * 3 + j] - ld[j]) ** 2, 0));
    const want = Array.from({ length: 39 }, (_, i) => i + 1).sort((a, b) =>
      dist(a) - dist(b) || a - b
    )
      .slice(0, 3);
    assertEquals(sim.neighbours.map((x: { id: string }) => x.id), want.map(String));
    assert(Math.abs(sim.neighbours[0].distance - dist(want[0])) < 1e-12);
    // A neighbour at distance 0 (a duplicate code) prints its distance; only the query has "-".
    await Deno.mkdir(p("dup"));
    for (const f of ["labels.csv", "result.json"]) await Deno.copyFile(p(`c/${f}`), p(`dup/${f}`));
    const dup = ld.slice();
    dup.set(ld.subarray(0, 3), 3);
    await Deno.writeFile(p("dup/latent.npy"), encodeNpy(dup, [40, 3]));
    const table = (await ok("similar", p("dup"), "--id", "0", "--n", "1")).out.join("\n").split(
      "\n",
    );
    assert(
      /^ {3}=\s+0\s+-\s/.test(table[1]) && /^ {3}1\s+1\s+0\.0000\s/.test(table[2]),
      table.join("\n"),
    );
    // Columns widen to the longest id (a window's runs to 36 characters): the distances still
    // end under their header.
    const longId = "SY.S0000.00.HHZ.20240101T000351.910Z";
    const lab = (await Deno.readTextFile(p("dup/labels.csv"))).split("\n");
    lab[1] = lab[1].replace(/^0,/, `${longId},`);
    await Deno.writeTextFile(p("dup/labels.csv"), lab.join("\n"));
    const wide = (await ok("similar", p("dup"), "--id", longId, "--n", "2")).out.join("\n")
      .split("\n");
    const end = wide[0].indexOf("distance") + "distance".length;
    for (const row of wide.slice(1)) {
      assert(row[end - 1] !== " " && row[end] === " ", wide.join("\n"));
    }
    const noId = await run("similar", p("c"), "--id", "nope", "--quiet");
    assert(noId.code === 2 && noId.err[0].includes("no sample has id 'nope'"), noId.err.join());
    // report: one page with the tables and every figure, linked by relative path.
    await ok("report", p("c"));
    const html = await Deno.readTextFile(p("c/report.html"));
    assert(html.startsWith("<!doctype html>") && html.includes("<h2>Evaluation</h2>"), html);
    assert(html.includes("<p>Against the dataset&#39;s labels.</p>"), html);
    for (const img of ["cluster_means.png", "latent_umap.png", "../m/learning_curve.png"]) {
      assert(html.includes(`<img src="${img}"`), `report links ${img}`);
    }
    // The output files linked; the dataset and model named relative to the page, not by this
    // machine's absolute paths; the clusters table's headers readable, with units.
    for (const f of ["labels.csv", "clusters.csv", "latent.npy", "q.npy", "evaluation.json"]) {
      assert(html.includes(`<a href="${f}">${f}</a>`), `report links ${f}`);
    }
    assert(!html.includes(root), "an absolute path in the page");
    assert(html.includes("<td>../ds</td>") && html.includes("<td>../m</td>"), html);
    // The model's latent dimensions (3), not its clusters (2).
    assert(html.includes("<td>latent dimensions</td><td>3</td>"), html);
    // An imported array says nothing of how it was made (cluster_waveforms_test: extracted).
    assert(!html.includes("<td>spectrograms</td>"), html);
    assert(html.includes("<th>busiest hour (UTC)</th>"), html);
    // No S picks in an imported array: no S − P column, as the console shows none.
    assert(!html.includes("median S − P"), html);
    assert(html.includes("<th>mean largest q</th>"), html);
    // Links are URLs: a directory named 'c #%1' is percent-encoded, not cut at '#'.
    await Deno.rename(p("c"), p("c #%1"));
    try {
      await ok("report", p("c #%1"), "--out", p("r.html"));
      const page = await Deno.readTextFile(p("r.html"));
      assert(page.includes(`<img src="c%20%23%251/cluster_means.png"`), page);
    } finally {
      await Deno.rename(p("c #%1"), p("c"));
    }
    // --out replaces a report, never another file (a CSV, a model's model.json) or a directory.
    await ok("report", p("c"), "--out", p("r.html"));
    await Deno.writeTextFile(p("notes.csv"), "a,b\n");
    for (
      const [target, want] of [[p("notes.csv"), "it exists and is not a seisdec report"], [
        p("m/model.json"),
        "it exists and is not a seisdec report",
      ], [p("m"), "it is a directory"]]
    ) {
      const r = await run("report", p("c"), "--out", target, "--quiet");
      assert(r.code === 2 && r.err[0].includes(`Cannot write ${target}: ${want}`), r.err.join());
    }
    assertEquals(await Deno.readTextFile(p("notes.csv")), "a,b\n");
    // What evaluate and report wrote into the cluster directory joins its listing, so that
    // cluster --force may still replace it.
    const listed = JSON.parse(await Deno.readTextFile(p("c/.seisdec-output.json"))).entries;
    assert(listed.includes("report.html") && listed.includes("evaluation.json"), listed.join());
    const notClusters = await run("report", p("ds"), "--quiet");
    assert(notClusters.code === 2 && notClusters.err[0].includes("it is a dataset directory"));
    // --against: the agreement of two clusterings by sample id; a clustering agrees with itself
    // (ACC, NMI, ARI 1) and the directory's own evaluation.json is left as it was.
    const self = await ok("evaluate", p("c"), "--against", p("c"), "--json");
    const agree = JSON.parse(self.out.join("\n"));
    assertEquals([agree.acc, agree.nmi, agree.ari, agree.labelled], [1, 1, 1, 40]);
    assertEquals(JSON.parse(await Deno.readTextFile(p("c/evaluation.json"))), rep);
    assertEquals([rep.n, rep.k, rep.labelled], [40, 2, 40]);
    assert(rep.acc >= 0.5 && rep.acc <= 1 && rep.nmi >= 0 && rep.nmi <= 1, JSON.stringify(rep));
    assertEquals(rep.sizes.reduce((a: number, b: number) => a + b, 0), 40);

    // encode: 7 new samples the model never saw, without labels.
    await writeNpy(p("new.npy"), 7, 99);
    await ok("import", p("new.npy"), "--out", p("ds2"));
    await ok("encode", p("ds2"), "--model", p("m"), "--out", p("e"));
    assertEquals((await readNpyFile(p("e/latent.npy"))).shape, [7, 3]);
    assertEquals((await Deno.readTextFile(p("e/samples.csv"))).trim().split("\n").length, 8);
    // --stage auto took the fine-tuned encoder; --stage init gives init's codes, the ones
    // cluster --stage init clusters (codes only: no q, k 0).
    const eJson = async (d: string) => JSON.parse(await Deno.readTextFile(p(`${d}/result.json`)));
    assertEquals((await eJson("e")).stage, "dec");
    await ok("encode", p("ds2"), "--model", p("m"), "--out", p("ei"), "--stage", "init");
    await ok(
      "cluster",
      p("ds2"),
      "--model",
      p("m"),
      "--out",
      p("ci"),
      "--stage=init",
      "--no-plots",
    );
    assertEquals([(await eJson("ei")).stage, (await eJson("ei")).k], ["init", 0]);
    assert(!(await pathExists(p("ei/q.npy"))));
    // info says what encode wrote: codes, not clusters (no k, sizes or scores).
    const eInfo = JSON.parse((await ok("info", p("ei"), "--json")).out.join("\n"));
    assertEquals([eInfo.kind, eInfo.stage, eInfo.n, eInfo.dim], ["encoding", "init", 7, 3]);
    assertEquals(["k", "sizes", "evaluation"].filter((f) => f in eInfo), []);
    assertEquals(
      Array.from((await readNpyFile(p("ei/latent.npy"))).data as Float32Array),
      Array.from((await readNpyFile(p("ci/latent.npy"))).data as Float32Array),
    );
    // Clustering new data with the trained model works too.
    await ok("cluster", p("ds2"), "--model", p("m"), "--out", p("c2"), "--no-plots");
    assertEquals((await readNpyFile(p("c2/q.npy"))).shape, [7, 2]);
    await ok("cluster", p("ds2"), "--model", p("m"), "--out", p("c3"), "--umap-points", "0");
    assert(!(await pathExists(p("c3/umap.csv"))) && (await pathExists(p("c3/latent_pca.png"))));
    // --no-plots: the profiles as text, no figure.
    assert(await pathExists(p("c2/clusters.csv")));
    assert(
      !(await pathExists(p("c2/cluster_means.png"))) && !(await pathExists(p("c2/examples.png"))),
    );

    // --raw baseline: k-means on the spectrograms, no model; the two classes are far apart.
    await ok("cluster", p("ds"), "--raw", "--k", "2", "--out", p("raw"), "--no-plots");
    const raw = JSON.parse(await Deno.readTextFile(p("raw/result.json")));
    assertEquals([raw.stage, raw.normalize], ["raw", "maxabs"]);
    // Unnamed, --raw normalises a dB dataset min-max, as pretrain does.
    await ok("cluster", p("db"), "--raw", "--k", "2", "--out", p("rawdb"), "--no-plots");
    assertEquals(JSON.parse(await Deno.readTextFile(p("rawdb/result.json"))).normalize, "minmax");
    await ok("evaluate", p("raw"));
    assertEquals(JSON.parse(await Deno.readTextFile(p("raw/evaluation.json"))).acc, 1);
    // result.json says what made the directory; --normalize reaches the raw features.
    await ok(
      "cluster",
      p("ds"),
      "--raw",
      "--k",
      "2",
      "--normalize",
      "l2",
      "--out",
      p("raw2"),
      "--no-plots",
    );
    const r2 = JSON.parse(await Deno.readTextFile(p("raw2/result.json")));
    assertEquals(
      [r2.stage, r2.n, r2.k, r2.normalize, r2.model, r2.dataset],
      ["raw", 40, 2, "l2", null, p("ds")],
    );
    const f2 = await readNpyFile(p("raw2/latent.npy"));
    const [n2, d2] = f2.shape;
    for (let i = 0; i < n2; i++) {
      let ss = 0;
      for (let j = 0; j < d2; j++) ss += (f2.data[i * d2 + j] as number) ** 2;
      assert(Math.abs(Math.sqrt(ss) - 1) < 1e-5, `row ${i} has L2 norm ${Math.sqrt(ss)}`);
    }
    const c2 = JSON.parse(await Deno.readTextFile(p("c2/result.json")));
    assertEquals([c2.stage, c2.normalize, c2.model], ["dec", "maxabs", p("m")]);
    const noRaw = await run(
      "cluster",
      p("ds"),
      "--model",
      p("m"),
      "--normalize",
      "l2",
      "--out",
      p("x"),
    );
    assertEquals(noRaw.code, 2);
    assert(noRaw.err.join("\n").includes("Cannot use --normalize without --raw"), noRaw.err.join());
    // --k and --n-init choose the raw k-means; with a model they were ignored without a word.
    for (const [flag, v] of [["--k", "3"], ["--n-init", "4"]]) {
      const r = await run("cluster", p("ds"), "--model", p("m"), flag, v, "--out", p("x"));
      assertEquals(r.code, 2, flag);
      assert(r.err.join("\n").includes(`Cannot use ${flag} without --raw`), r.err.join());
    }
    // --model and --stage choose the model; with --raw they were ignored without a word.
    for (const [flag, v] of [["--model", p("m")], ["--stage", "dec"]]) {
      const r = await run("cluster", p("ds"), "--raw", "--k", "2", flag, v, "--out", p("x"));
      assertEquals(r.code, 2, flag);
      assert(r.err.join("\n").includes(`Cannot use ${flag} with --raw`), r.err.join());
    }
    // The output directory is not replaced without --force.
    const exists = await run("cluster", p("ds"), "--raw", "--k", "2", "--out", p("raw"), "--quiet");
    assertEquals(exists.code, 2);

    await Deno.remove(root, { recursive: true });
  },
);

gpuTest("cli: bad flags exit 2 with one clear error line and no stack trace", async () => {
  const root = await Deno.makeTempDir();
  await writeNpy(join(root, "x.npy"), 8, 2);
  assertEquals((await run("import", join(root, "x.npy"), "--out", join(root, "ds"), "-q")).code, 0);
  const ds = join(root, "ds"), m = join(root, "m");
  await Deno.writeTextFile(join(root, "epochs0.json"), '{ "pretrain": { "epochs": 0 } }');
  await Deno.writeTextFile(join(root, "k54.json"), '{ "init": { "k": "5:4" } }');
  const cases: [string[], string][] = [
    [
      ["pretrain", ds, "--model", m, "--epochs", "abc"],
      "--epochs: expected an integer in decimal digits: found 'abc'",
    ],
    [["pretrain", ds, "--model", m, "--lr", "fast"], "--lr: expected a number"],
    [["pretrain", ds, "--model", m, "--bogus"], "Cannot parse arguments of 'pretrain'"],
    [["pretrain", ds], "--model is required"],
    [["init", ds], "--model is required"],
    [["init", ds, "--model", m, "--k", "2:x"], "Cannot read --k"],
    [
      ["finetune", ds, "--model", m, "--update-interval", "often"],
      "--update-interval: expected an integer in decimal digits or auto: found 'often'",
    ],
    [["init", ds, "--model", m, "--k", "5:2"], "A <= B"],
    [["init", ds, "--model", m, "--k", "3", "--k-criterion", "silhouette"], "give --k a range"],
    [["init", ds, "--model", m, "--k", "2:4", "--k-criterion", "gap"], "--k-criterion: expected"],
    [["init", ds, "--model", m, "--k", "2:4", "--k-criterion", "bic"], "BIC needs --method gmm"],
    [
      ["finetune", ds, "--model", m, "--optimizer", "lbfgs"],
      "--optimizer: expected one of adam, sgd",
    ],
    // The directory is named once, not "Cannot open dataset X: Cannot open dataset X: ...".
    [
      ["pretrain", join(root, "nope"), "--model", m],
      `error: Cannot open dataset ${join(root, "nope")}: no such directory`,
    ],
    // A directory that is not a dataset (a synth or waveform directory) says what makes one.
    [
      ["pretrain", root, "--model", m],
      `error: Cannot open dataset ${root}: it holds no meta.json, so it is not a seisdec ` +
      `dataset: make one with extract (from waveforms) or import (from a .npy array)`,
    ],
    [["pretrain", "--model", m], "expected a dataset directory"],
    // A flag's value the settings' schema refuses is named by the flag, as the flags' own
    // checks name theirs; a config file's by its key.
    [
      ["pretrain", ds, "--model", m, "--epochs", "0"],
      "error: Cannot read --epochs: expected >= 1: found 0",
    ],
    [
      ["pretrain", ds, "--model", m, "--beta2", "1"],
      "error: Cannot read --beta2: expected < 1: found 1",
    ],
    [
      ["init", ds, "--model", m, "--n-init", "0"],
      "error: Cannot read --n-init: expected >= 1: found 0",
    ],
    [
      ["finetune", ds, "--model", m, "--batch-size", "0"],
      "error: Cannot read --batch-size: expected >= 1: found 0",
    ],
    [
      ["pretrain", ds, "--model", m, "--config", join(root, "epochs0.json")],
      "epochs0.json: pretrain.epochs: Too small: expected number to be >=1",
    ],
    [["init", ds, "--model", m], "model.json"],
    // A mistyped model directory is named as missing, not as a stage left to run.
    [
      ["cluster", ds, "--model", join(root, "nomodel"), "--out", join(root, "c2")],
      `the directory ${join(root, "nomodel")} does not exist`,
    ],
    [
      ["finetune", ds, "--model", join(root, "nomodel")],
      `the directory ${join(root, "nomodel")} does not exist`,
    ],
    [["info", join(root, "nope")], `Cannot describe ${join(root, "nope")}: no such directory`],
    [
      ["info", join(root, "x.npy")],
      `Cannot describe ${join(root, "x.npy")}: it is a file: expected a directory (a dataset, a ` +
      "model directory or the output of cluster or encode)",
    ],
    // A directory without a model: the stage that makes one is named.
    [
      ["cluster", ds, "--model", root, "--out", join(root, "c3")],
      `Cannot read ${join(root, "model.json")}: no such file: run pretrain first (it writes ` +
      "model.json)",
    ],
    [
      ["cluster", ds, "--out", join(root, "c")],
      "Cannot run cluster: --model is required (or --raw for k-means on the spectrograms)",
    ],
    [
      ["cluster", ds, "--raw", "--out", join(root, "c"), "--utc-offset=15"],
      "--utc-offset 15: expected hours in [-12, 14]",
    ],
    [
      ["extract", "--manifest", join(root, "m.csv"), "--out", m, "--checkpoint-every=-1"],
      "--checkpoint-every: expected seconds >= 0",
    ],
    [["evaluate", join(root, "none")], `Cannot evaluate ${join(root, "none")}: no such directory`],
    [["evaluate", ds], "labels.csv is missing: run 'cluster' first"],
    [["evaluate", join(root, "x.npy")], "it is a file"],
    // k: 2 or more, and no more than the samples (8), refused before the encoding pass (the
    // model directory m does not exist: these fail before it is read).
    // One prefix, the flag's (not "Cannot read --k: Cannot read k 0: ...").
    [
      ["init", ds, "--model", m, "--k", "0"],
      "error: Cannot read --k: counts must be >= 2 (one cluster holds every sample): found '0'",
    ],
    [
      ["init", ds, "--model", m, "--config", join(root, "k54.json")],
      "k54.json: init.k: a range A:B needs A <= B: found '5:4'",
    ],
    [
      ["init", ds, "--model", m, "--k", "9"],
      "Cannot initialise 9 clusters: the dataset has only 8",
    ],
    // The range as given, not its every candidate.
    [
      ["init", ds, "--model", m, "--k", "2:8"],
      "error: Cannot choose k among 2:8: each candidate must lie in 2..7 (n = 8 samples)",
    ],
    [["cluster", ds, "--raw", "--k", "1", "--out", join(root, "c")], "--k 1: expected 2..8"],
    // A file where a model directory belongs: a file-system error, not a stack trace.
    [["pretrain", ds, "--model", join(root, "x.npy")], "x.npy"],
    // --force replaces only an output of the same kind, never a dataset or a file.
    [["cluster", ds, "--raw", "--k", "2", "--out", ds, "--force"], "holds no result.json"],
    [["cluster", ds, "--raw", "--k", "2", "--out", join(root, "x.npy"), "--force"], "is a file"],
    [["import", join(root, "x.npy"), "--out", root, "--force"], "holds no meta.json"],
    // node:util's three-line message for a value that starts with a dash, in one line.
    [
      ["synth", "--out", join(root, "s"), "--per-class", "-1"],
      "--per-class needs a value: found '-1'; a value that starts with a dash is written --per-class=-1",
    ],
    // A forgotten value: the next flag is not taken as it, and named as a flag (not advised as
    // --out=--seed).
    [
      ["synth", "--out", "--seed", "3"],
      "Cannot read --out: it needs a value (DIR): found the flag --seed after it",
    ],
    [["synth", "--out", "-q"], "Cannot read --out: it needs a value (DIR): found the flag -q"],
    // A diverging run: a user's setting, not a bug (no stack trace). The first epoch's steps
    // print finite losses; the weights after it give NaN.
    [
      ["pretrain", ds, "--model", join(root, "m_lr"), "--lr", "1e12", "--epochs", "500"],
      "the weights after epoch 1 give a loss of NaN on the first training batch: lower --lr",
    ],
    // Several steps an epoch: the second step's own loss is already NaN.
    [
      [
        "pretrain",
        ds,
        "--model",
        join(root, "m_lr2"),
        "--lr",
        "1e12",
        "--epochs",
        "500",
        "--batch-size",
        "2",
      ],
      "loss became NaN at epoch 1, step 2: lower --lr",
    ],
  ];
  for (const [args, msg] of cases) {
    const r = await run(...args, "--quiet");
    const line = r.err.join("\n");
    assertEquals(r.code, 2, `${args.join(" ")}: ${line}`);
    assertEquals(r.err.length, 1, `${args.join(" ")}: ${line}`);
    assert(line.startsWith("error: "), line);
    assert(line.includes(msg), `${args.join(" ")}: expected '${msg}' in '${line}'`);
    assert(!/\n\s+at /.test(line), `stack trace in ${line}`);
  }
  // A value flag last on the line (every case above ends in --quiet).
  assertEquals((await run("pretrain", ds, "--epochs")).err, [
    "error: Cannot read --epochs: it needs a value (N)",
  ]);
  assert(
    (await Deno.stat(join(ds, "spectrograms.npy"))).isFile &&
      (await Deno.stat(join(root, "x.npy"))).isFile,
    "a refused --force deleted nothing",
  );
  // An empty dataset (an extraction whose every sample failed keeps one) is refused before
  // anything is written; import refuses an array of no samples.
  await Deno.writeFile(join(root, "empty.npy"), encodeNpy(new Float32Array(0), [0, 1, 12, 10]));
  const noSamples = await run("import", join(root, "empty.npy"), "--out", join(root, "e"), "-q");
  assert(
    noSamples.code === 2 && noSamples.err[0].includes("it holds no samples"),
    noSamples.err[0],
  );
  await writeDataset(
    join(root, "e"),
    { shape: [0, 1, 12, 10], components: ["Z"], scaling: "none", config: {} },
    [],
    new Float32Array(0),
    new Float64Array(12),
    new Float64Array(10),
  );
  for (
    const args of [
      ["pretrain", join(root, "e"), "--model", join(root, "me")],
      ["cluster", join(root, "e"), "--raw", "--k", "2", "--out", join(root, "ce")],
      ["encode", join(root, "e"), "--model", m, "--out", join(root, "ee")],
    ]
  ) {
    const empty = await run(...args, "-q");
    assertEquals(empty.code, 2, empty.err.join("\n"));
    assert(
      empty.err[0].includes(
        `Cannot run ${args[0]} on ${join(root, "e")}: the dataset has no samples`,
      ),
      empty.err[0],
    );
    assert(!(await pathExists(args.at(-1)!)), `${args[0]} wrote ${args.at(-1)}`);
  }
  // A value that is not finite in a dataset's spectrograms (edited after extract or import)
  // names the sample, rather than turning the loss into NaN.
  const npy = await Deno.readFile(join(ds, "spectrograms.npy"));
  const body = npy.length - 8 * 120 * 4; // the data of 8 samples [1, 12, 10] ends the file
  new DataView(npy.buffer).setFloat32(body + (5 * 120 + 7) * 4, NaN, true);
  await Deno.writeFile(join(ds, "spectrograms.npy"), npy);
  const nan = await run("pretrain", ds, "--model", join(root, "m_nan"), "-q");
  assertEquals(nan.code, 2, nan.err.join("\n"));
  assert(nan.err[0].includes("Cannot read sample 5 (index 5)"), nan.err[0]);
  assert(nan.err[0].includes("element 7 is NaN: expected finite values"), nan.err[0]);
  // A model.json without the fields the later stages read names them.
  await Deno.mkdir(join(root, "bm"));
  await Deno.writeTextFile(
    join(root, "bm", "model.json"),
    JSON.stringify({ format: "seisdec-model", version: 1 }),
  );
  const bm = await run("cluster", ds, "--model", join(root, "bm"), "--out", join(root, "cb"), "-q");
  assertEquals(bm.code, 2, bm.err.join("\n"));
  assert(
    bm.err.length === 1 && bm.err[0].includes("bm/model.json: autoencoder: ") &&
      bm.err[0].includes("expected a model.json as pretrain writes it"),
    bm.err[0],
  );
  // A bad config file names the field.
  await Deno.writeTextFile(join(root, "cfg.json"), JSON.stringify({ finetune: { tol: -1 } }));
  const r = await run("finetune", ds, "--model", m, "--config", join(root, "cfg.json"), "-q");
  assertEquals(r.code, 2);
  assert(r.err[0].includes("finetune.tol"), r.err[0]);
  await Deno.remove(root, { recursive: true });
});

gpuTest(
  "cli: pretrain → init → finetune with the GPU pipelining (16 in flight, deferred read-backs, passes of 7) is bit-identical",
  async () => {
    const root = await Deno.makeTempDir();
    const p = (s: string) => join(root, s);
    await writeNpy(p("x.npy"), 36, 5);
    assertEquals((await run("import", p("x.npy"), "--out", p("ds"), "--quiet")).code, 0);
    const steps = (m: string) => [
      [
        "pretrain",
        p("ds"),
        "--model",
        m,
        "--epochs",
        "2",
        "--batch-size",
        "4",
        "--latent-dim",
        "3",
      ],
      ["init", p("ds"), "--model", m, "--k", "2", "--n-init", "3"],
      ["finetune", p("ds"), "--model", m, "--max-iter", "24", "--update-interval", "10"]
        .concat(["--batch-size", "4", "--tol", "0"]),
    ];
    // This process: the adapter's own tuning (one step in flight on llvmpipe).
    for (const args of steps(p("a"))) {
      const r = await run(...args, "--quiet");
      assertEquals(r.code, 0, `${args[0]}: ${r.err.join("\n")}`);
    }
    // A child process with the GPU default's pipelining: 9 pretraining steps per epoch and
    // 10 fine-tuning steps between label checks, all in flight at once, and up to 32 inference
    // passes (validation, init's encoding, DEC's label checks) of 7 samples (inferBatch; the
    // last pass of the 36 holds one).
    for (const args of steps(p("b"))) {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("../../cli.ts", import.meta.url).pathname, ...args, "--quiet"],
        env: {
          SEISDEC_TUNING: JSON.stringify({
            inFlight: 16,
            inferInFlight: 32,
            inferBatch: 7,
            deferMap: true,
          }),
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(r.code, 0, `${args[0]}: ${new TextDecoder().decode(r.stderr)}`);
    }
    for (const f of ["autoencoder.safetensors", "centroids.safetensors", "dec.safetensors"]) {
      assertEquals(
        await Deno.readFile(p(`b/${f}`)),
        await Deno.readFile(p(`a/${f}`)),
        `${f} is the same`,
      );
    }
    const cols = async (m: string) =>
      (await Deno.readTextFile(p(`${m}/finetune_log.csv`))).trim().split("\n")
        .map((l) => l.split(",").slice(0, 3).join(","));
    assertEquals(await cols("b"), await cols("a"), "fine-tuning log");
    await Deno.remove(root, { recursive: true });
  },
);

gpuTest("cli: info --kernels compiles every kernel for the adapter's tuning", async () => {
  const r = await run("info", "--kernels", "--json");
  assertEquals(r.code, 0, r.err.join("\n"));
  const info = JSON.parse(r.out.join("\n"));
  assert(typeof info.description === "string" && info.description.length > 0, "adapter named");
  assert(
    info.kernels.pipelines >= Object.keys(KERNELS).length,
    `every kernel compiled: ${info.kernels.pipelines} pipelines`,
  );
  assert(info.kernels.ms > 0 && typeof info.tuning.active.convTile === "number");
  assertEquals(info.tuning.stored, null, "the test task runs with SEISDEC_TUNING_DIR=none");
});

Deno.test("cli: evaluate scores 150,000 rows and names a bad cluster value's row", async () => {
  const dir = await Deno.makeTempDir();
  const n = 150_000;
  const rows = ["id,cluster,label"];
  for (let i = 0; i < n; i++) {
    rows.push(`${i},${i % 3},${["a", "b", "c"][(i + (i % 7 === 0 ? 1 : 0)) % 3]}`);
  }
  await Deno.writeTextFile(join(dir, "labels.csv"), rows.join("\n") + "\n");
  await Deno.writeTextFile(join(dir, "result.json"), JSON.stringify({ k: 4 }));
  const r = await run("evaluate", dir, "--quiet");
  assertEquals(r.code, 0, r.err.join("\n"));
  const rep = JSON.parse(await Deno.readTextFile(join(dir, "evaluation.json")));
  assertEquals([rep.n, rep.k, rep.labelled], [n, 4, n]);
  // Every 7th sample carries the next class's label: ACC = 1 − ⌈n/7⌉/n.
  assertEquals(rep.acc, 1 - Math.ceil(n / 7) / n);
  rows[3] = "2,x,c";
  await Deno.writeTextFile(join(dir, "labels.csv"), rows.join("\n") + "\n");
  const bad = await run("evaluate", dir, "--quiet");
  assertEquals(bad.code, 2);
  assert(
    bad.err[0].includes("row 4 (id 2): cluster must be an integer >= 0: found 'x'"),
    bad.err[0],
  );
  rows[3] = "2,2,c";
  await Deno.writeTextFile(join(dir, "labels.csv"), rows.join("\n") + "\n");
  // --labels FILE (id,label) replaces the label column; a file whose ids name no sample, or
  // without those columns, is refused rather than scored as unlabelled.
  const truth = Array.from({ length: n }, (_, i) => `${i},${["a", "b", "c"][i % 3]}`);
  await Deno.writeTextFile(join(dir, "truth.csv"), ["ID, Label", ...truth].join("\n") + "\n");
  assertEquals((await run("evaluate", dir, "--labels", join(dir, "truth.csv"), "-q")).code, 0);
  const scored = JSON.parse(await Deno.readTextFile(join(dir, "evaluation.json")));
  // Where the classes came from, so that a score against another file's classes says so.
  assertEquals([scored.acc, scored.labelsFrom], [1, join(dir, "truth.csv")]);
  for (
    const [text, msg] of [
      ["id,label\nsyn1,a\nsyn2,b\n", "none of its 2 ids names a sample"],
      // The ids match, but no row gives a label: said so, not that the ids differ.
      [
        "id,label\n0,\n1\n",
        `other.csv: row 2 (id '0') has no label value, nor has any other row of a sample of ${dir}: ` +
        "expected id,label with each sample's class",
      ],
      ["sample,class\n0,a\n", "expected columns id and label: found sample,class"],
      ["id,label\n0,a\n1,b\n 0,c\n", "id '0' is listed twice (rows 2 and 4)"],
      // A stray quote (before, the rest of the file was one label); one closed rows later.
      ['id,label\n0,a\n1,"b\n2,c\n', "the quoted field opened by '\"' on line 3"],
      ['id,label\n0,"a\n1,b"\n2,c\n', "the label on row 2 holds a line break"],
      // Before, evaluate took the first 'label' column and a manifest the last.
      ["id,label,label\n0,a,b\n", "column 'label' is named twice (columns 2 and 3)"],
    ]
  ) {
    await Deno.writeTextFile(join(dir, "other.csv"), text);
    const r = await run("evaluate", dir, "--labels", join(dir, "other.csv"), "-q");
    assertEquals(r.code, 2);
    assert(r.err.length === 1 && r.err[0].includes(msg), r.err.join("\n"));
  }
  // The refused runs left the last evaluation as it was.
  assertEquals(JSON.parse(await Deno.readTextFile(join(dir, "evaluation.json"))).acc, 1);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("cli: evaluate names a latent.npy it cannot read or whose rows do not match labels.csv, and counts --labels ids it leaves out", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      join(dir, "labels.csv"),
      "id,cluster,label\na,0,x\nb,0,x\nc,1,y\nd,1,y\n",
    );
    await Deno.writeTextFile(join(dir, "result.json"), JSON.stringify({ k: 2 }));
    const latent = encodeNpy(new Float32Array([0, 0, 0, 1, 5, 5, 5, 6]), [4, 2]);
    await Deno.writeFile(join(dir, "latent.npy"), latent);
    const ok = await run("evaluate", dir, "--json");
    assertEquals(ok.code, 0, ok.err.join("\n"));
    assert(JSON.parse(ok.out.join("\n")).silhouette !== null, "scored in the latent space");
    // --json prints what evaluation.json holds, where the classes came from included.
    assertEquals(
      JSON.parse(ok.out.join("\n")),
      JSON.parse(await Deno.readTextFile(join(dir, "evaluation.json"))),
    );
    // Cut short: before, left out without a word.
    await Deno.writeFile(join(dir, "latent.npy"), latent.subarray(0, latent.length - 6));
    const cut = await run("evaluate", dir, "--json");
    assertEquals(cut.code, 0, cut.err.join("\n"));
    assertEquals(JSON.parse(cut.out.join("\n")).silhouette, null);
    assert(
      cut.err.some((l) => l.startsWith(`warning: cannot read ${join(dir, "latent.npy")} (`)),
      cut.err.join("\n"),
    );
    // Missing (deleted by hand): named too, not left out without a word.
    await Deno.remove(join(dir, "latent.npy"));
    const gone = await run("evaluate", dir, "--json");
    assertEquals(gone.code, 0, gone.err.join("\n"));
    assertEquals(JSON.parse(gone.out.join("\n")).silhouette, null);
    assert(
      gone.err.includes(
        `warning: cannot read ${join(dir, "latent.npy")} (no such file): the silhouette and ` +
          "the other scores of the latent space are left out",
      ),
      gone.err.join("\n"),
    );
    // Rows of another run: both files named.
    await Deno.writeFile(join(dir, "latent.npy"), encodeNpy(new Float32Array(6), [3, 2]));
    const other = await run("evaluate", dir);
    assertEquals(other.code, 2);
    assert(
      other.err[0].includes(
        `${join(dir, "latent.npy")} holds [3,2] for the 4 rows of ${join(dir, "labels.csv")}`,
      ),
      other.err[0],
    );
    await Deno.writeFile(join(dir, "latent.npy"), latent);
    // --labels with ids of samples this clustering does not hold: counted.
    await Deno.writeTextFile(join(dir, "truth.csv"), "id,label\na,x\nc,y\nzz,x\nyy,y\n");
    const extra = await run("evaluate", dir, "--labels", join(dir, "truth.csv"), "-q");
    assertEquals(extra.code, 0, extra.err.join("\n"));
    assert(
      extra.err.some((l) =>
        l.startsWith(
          `note: 2 of the 4 ids in ${join(dir, "truth.csv")} name no sample of ` +
            `${join(dir, "labels.csv")} (such as 'zz'): left out`,
        )
      ),
      extra.err.join("\n"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
