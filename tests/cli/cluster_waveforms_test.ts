/**
 * `cluster`'s example_waveforms.png: the waveforms of each cluster's most confident members,
 * rebuilt from the dataset's extract input. A small synthetic set, extracted in the main thread
 * and clustered by `--raw` k-means: no model or adapter needed.
 */
import { join } from "node:path";
import { run } from "./_run.ts";
import { writeSynth } from "../../lib/io/synth.ts";
import { buildTasks, processSample } from "../../lib/io/extract.ts";
import { parseExtractConfig, readExtractConfig } from "../../lib/io/extract_config.ts";
import { runExtract } from "../../lib/io/extract.ts";
import { openDataset } from "../../lib/io/dataset.ts";
import { encodeNpy, readNpyFile } from "../../lib/io/npy.ts";
import { parseCsvRecords } from "../../lib/io/csv.ts";
import { decodePng } from "../plot/_decode_png.ts";
import { replaySvg } from "../plot/_replay_svg.ts";
import { clusterMembers } from "../../lib/cluster/summary.ts";
import { memberWaveforms, memberWaveformsPng } from "../../lib/cluster/member_waveforms.ts";
import { assert, assertEquals } from "../_assert.ts";

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

/** 6 synthetic samples of 2 classes (Z only), extracted to `root/ds`. */
async function extracted(root: string): Promise<{ syn: string; ds: string }> {
  const syn = join(root, "syn"), ds = join(root, "ds");
  await writeSynth(syn, { perClass: 3, seed: 4, classes: ["local_earthquake", "explosion"] });
  const config = await readExtractConfig(join(syn, "extract.json"));
  const s = await runExtract({ ...config, workers: 0 }, ds, { quiet: true });
  assertEquals(s.ok, 6);
  return { syn, ds };
}

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir();
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("cluster draws example_waveforms.png: each member's waveform is the one processSample gives its task", async () => {
  await withRoot(async (root) => {
    const { ds: dsDir } = await extracted(root);
    const out = join(root, "c");
    const r = await run(
      "cluster",
      dsDir,
      "--raw",
      "--k",
      "2",
      "--out",
      out,
      "--umap-points",
      "0",
      "--quiet",
    );
    assertEquals(r.code, 0, r.err.join("\n"));
    assert(!r.err.some((l) => l.startsWith("note:")), r.err.join("\n"));
    const png = decodePng(await Deno.readFile(join(out, "example_waveforms.png")));
    assert(png.width > 600 && png.height > 150, `${png.width} x ${png.height}`);
    assertEquals((await run("report", out, "--quiet")).code, 0);
    const html = await Deno.readTextFile(join(out, "report.html"));
    assert(html.includes(`<img src="example_waveforms.png"`), "report links example_waveforms.png");
    // How the dataset's spectrograms were made, as info says it.
    assert(html.includes("<td>spectrograms</td><td>100 Hz; response removed to VEL"), html);
    // Hours in each station's local mean solar time (the synthetic stations lie near 120° W:
    // about 8 h before UTC), recorded in result.json and named in the report.
    const solar = join(root, "solar");
    const rs = await run(
      "cluster",
      dsDir,
      "--raw",
      "--k",
      "2",
      "--out",
      solar,
      "--utc-offset",
      "solar",
      "--no-plots",
      "--quiet",
    );
    assertEquals(rs.code, 0, rs.err.join("\n"));
    assertEquals(
      JSON.parse(await Deno.readTextFile(join(solar, "result.json"))).utcOffset,
      "solar",
    );
    assertEquals((await run("report", solar, "--quiet")).code, 0);
    const solarHtml = await Deno.readTextFile(join(solar, "report.html"));
    assert(solarHtml.includes("busiest hour (local mean solar time)"), solarHtml);
    const hoursOf = async (dir: string) =>
      parseCsvRecords(await Deno.readTextFile(join(dir, "clusters.csv"))).map((r) => r.peak_hour);
    const [utc, local] = [await hoursOf(out), await hoursOf(solar)];
    // Each cluster's busiest hour, recomputed from samples.csv: each sample at its reference
    // time plus its station's longitude / 15 h (about −8 h here), the earliest of tied hours.
    const rows = parseCsvRecords(await Deno.readTextFile(join(dsDir, "samples.csv")));
    const cl = parseCsvRecords(await Deno.readTextFile(join(solar, "labels.csv")));
    const want = utc.map((_, c) => {
      const n = new Array(24).fill(0);
      for (const [i, r] of rows.entries()) {
        if (Number(cl[i].cluster) !== c) continue;
        const h = Date.parse(r.reference_time) / 3.6e6 + Number(r.longitude) / 15;
        n[Math.floor(((h % 24) + 24) % 24)]++;
      }
      return String(n.indexOf(Math.max(...n)));
    });
    assertEquals(local, want);
    assert(want.some((h, c) => h !== utc[c]), `${utc} ${want}`);
    // Without station longitudes (as from SAC pole-zero files): refused, naming the column;
    // with some: a note that counts those left out.
    const noLon = join(root, "nolon");
    await Deno.mkdir(noLon);
    for (const e of Deno.readDirSync(dsDir)) {
      if (e.isFile) await Deno.copyFile(join(dsDir, e.name), join(noLon, e.name));
    }
    const csv = await Deno.readTextFile(join(dsDir, "samples.csv"));
    const blank = (lines: string[], upTo: number) =>
      lines.map((l, i) => {
        if (i === 0 || i > upTo) return l;
        const f = l.split(",");
        f[9] = "";
        return f.join(",");
      }).join("\n");
    const lines = csv.trimEnd().split("\n");
    await Deno.writeTextFile(join(noLon, "samples.csv"), blank(lines, lines.length) + "\n");
    const refused = await run(
      "cluster",
      noLon,
      "--raw",
      "--k",
      "2",
      "--out",
      join(root, "s2"),
      "--utc-offset",
      "solar",
      "--quiet",
    );
    assertEquals(refused.code, 2);
    assert(
      refused.err[0].includes("no sample of") && refused.err[0].includes("longitude"),
      refused.err[0],
    );
    await Deno.writeTextFile(join(noLon, "samples.csv"), blank(lines, 2) + "\n");
    const some = await run(
      "cluster",
      noLon,
      "--raw",
      "--k",
      "2",
      "--out",
      join(root, "s3"),
      "--utc-offset",
      "solar",
      "--no-plots",
      "--quiet",
    );
    assertEquals(some.code, 0, some.err.join("\n"));
    assert(
      some.err.some((l) => l.startsWith("note: 2 of 6 samples have no station longitude")),
      some.err.join("\n"),
    );

    // The data drawn, from the cluster's labels, against processSample run here on each task.
    const ds = await openDataset(dsDir);
    try {
      const rows = parseCsvRecords(await Deno.readTextFile(join(out, "labels.csv")));
      const labels = Int32Array.from(rows, (x) => Number(x.cluster));
      const w = await memberWaveforms(ds, labels, 2, null, 2);
      assert(!("skipped" in w), JSON.stringify(w));
      assertEquals(w.units, "m/s");
      assertEquals(w.failures, []);
      assertEquals(w.window, [ds.times[0], ds.times.at(-1)!]);
      // Each cluster's size is all its members, not the 2 drawn.
      const sizes = [0, 1].map((j) => labels.filter((l) => l === j).length);
      assert(Math.max(...sizes) > 2, `${sizes}`);
      assertEquals(w.clusters.map((c) => c.size), sizes);
      const config = parseExtractConfig(ds.meta.config);
      const tasks = await buildTasks(config);
      const fs = config.preprocess.samplingRate;
      let checked = 0;
      for (const cl of w.clusters) {
        // The first 2 of clusterMembers' order (without q: dataset order).
        assertEquals(
          cl.members.map((m) => m.index),
          clusterMembers(labels, 2, null, cl.cluster).slice(0, 2),
        );
        for (const m of cl.members) {
          const s = m.sample;
          assert(!("reason" in s), JSON.stringify(s));
          assertEquals(s.info.id, ds.samples[m.index].id);
          const task = tasks.find((t) => t.id === s.info.id)!;
          const ref = await processSample(task, config, undefined, undefined, {
            keepWaveform: true,
          });
          assertEquals(s.waveform.length, 1);
          assertEquals(Array.from(s.waveform[0]), Array.from(ref.waveform![0]));
          // The time axis: half an STFT window before the first frame's centre (-before), at fs.
          const nperseg = Math.round(config.spectrogram.windowLength * fs) + 1;
          const t0 = -config.spectrogram.before - Math.floor(nperseg / 2) / fs;
          assert(Math.abs(s.waveformTimes[0] - t0) < 1e-9, `${s.waveformTimes[0]} vs ${t0}`);
          assert(Math.abs(s.waveformTimes[1] - s.waveformTimes[0] - 1 / fs) < 1e-9);
          // A preprocessed velocity of a synthetic event: not all zero, and no larger than 1 m/s.
          const peak = Math.max(...s.waveform[0].map(Math.abs));
          assert(peak > 0 && peak < 1, `peak ${peak}`);
          checked++;
        }
      }
      assertEquals(checked, 4);
      assert(memberWaveformsPng(w, ds, 2).length > 100);
    } finally {
      ds.close();
    }

    // --no-plots: no figure, and the waveforms are not rebuilt at all.
    const np = await run(
      "cluster",
      dsDir,
      "--raw",
      "--k",
      "2",
      "--out",
      join(root, "np"),
      "--no-plots",
    );
    assertEquals(np.code, 0, np.err.join("\n"));
    assert(!(await exists(join(root, "np", "example_waveforms.png"))));
    assert(!np.err.some((l) => l.startsWith("note:")), np.err.join("\n"));
  });
});

Deno.test("cluster leaves example_waveforms.png out with a note when the extract input moved, or leaves out a member whose file is gone", async () => {
  await withRoot(async (root) => {
    const { syn, ds } = await extracted(root);
    // One member's waveform file deleted: the figure leaves it out, says so, and cluster goes on.
    const manifest = parseCsvRecords(await Deno.readTextFile(join(syn, "manifest.csv")));
    await Deno.remove(join(syn, manifest[0].waveform));
    const part = await run(
      "cluster",
      ds,
      "--raw",
      "--k",
      "2",
      "--out",
      join(root, "c1"),
      "--quiet",
    );
    assertEquals(part.code, 0, part.err.join("\n"));
    assert(await exists(join(root, "c1", "example_waveforms.png")));
    const partNote = part.err.filter((l) => l.startsWith("note:"));
    assertEquals(partNote.length, 1, part.err.join("\n"));
    assert(
      partNote[0].includes("leaves out 1 member(s)") && partNote[0].includes(manifest[0].id) &&
        partNote[0].includes("unreadable"),
      partNote[0],
    );
    // A stored spectrogram its input no longer gives (files changed since extract): left out too.
    const spec = await readNpyFile(join(ds, "spectrograms.npy"));
    const values = Float32Array.from(spec.data as Float32Array);
    const second = manifest[1].id, sampleSize = values.length / spec.shape[0];
    const samplesOrder = parseCsvRecords(await Deno.readTextFile(join(ds, "samples.csv")))
      .map((x) => x.id);
    const at = samplesOrder.indexOf(second);
    values[at * sampleSize + 5] += 1;
    await Deno.writeFile(join(ds, "spectrograms.npy"), encodeNpy(values, spec.shape));
    const opened = await openDataset(ds);
    try {
      const w = await memberWaveforms(opened, new Int32Array(6), 1, null);
      assert(!("skipped" in w), JSON.stringify(w));
      assertEquals(w.failures.map((f) => [f.id, f.reason]), [
        [manifest[0].id, "unreadable"],
        [second, "changed"],
      ]);
      assert(w.failures[1].message.includes("differs by 1.00 at element 5"), w.failures[1].message);
      // Two of three members left out: the figure still draws the third.
      const first = samplesOrder.indexOf(manifest[0].id);
      const good = [0, 1, 2].find((i) => i !== first && i !== at)!;
      const three = Int32Array.from(samplesOrder, (_, i) => [first, at, good].includes(i) ? 0 : 1);
      const w3 = await memberWaveforms(opened, three, 1, null);
      assert(!("skipped" in w3), JSON.stringify(w3));
      assertEquals(w3.failures.length, 2);
      assertEquals(w3.clusters[0].members.filter((m) => !("reason" in m.sample)).length, 1);
    } finally {
      opened.close();
    }
    // A change of 1 % of a sample's largest value is a change too (the check allows 1e-4).
    const third = samplesOrder.indexOf(manifest[2].id);
    const sample3 = values.subarray(third * sampleSize, (third + 1) * sampleSize);
    sample3[7] += 0.01 * Math.max(...sample3.map(Math.abs));
    await Deno.writeFile(join(ds, "spectrograms.npy"), encodeNpy(values, spec.shape));
    const reopened = await openDataset(ds);
    try {
      const w = await memberWaveforms(reopened, new Int32Array(6), 1, null);
      assert(!("skipped" in w), JSON.stringify(w));
      assertEquals(w.failures.map((f) => [f.id, f.reason]), [
        [manifest[0].id, "unreadable"],
        [second, "changed"],
        [manifest[2].id, "changed"],
      ]);
      assert(w.failures[2].message.includes("at element 7"), w.failures[2].message);
    } finally {
      reopened.close();
    }
    // The whole input moved: no figure, one note naming the missing input, the rest written.
    await Deno.rename(syn, join(root, "moved"));
    const moved = await run(
      "cluster",
      ds,
      "--raw",
      "--k",
      "2",
      "--out",
      join(root, "c2"),
      "--quiet",
    );
    assertEquals(moved.code, 0, moved.err.join("\n"));
    assert(!(await exists(join(root, "c2", "example_waveforms.png"))));
    for (const f of ["examples.png", "labels.csv", "cluster_means.png"]) {
      assert(await exists(join(root, "c2", f)), f);
    }
    const note = moved.err.filter((l) => l.startsWith("note:"));
    assertEquals(note.length, 1, moved.err.join("\n"));
    assert(
      note[0].startsWith("note: no example_waveforms.png: its extract input cannot be read") &&
        note[0].includes(join(syn, "manifest.csv")),
      note[0],
    );
  });
});

Deno.test("cluster leaves example_waveforms.png out with a note for an imported dataset", async () => {
  await withRoot(async (root) => {
    const x = Float32Array.from({ length: 6 * 4 * 5 }, (_, i) => Math.sin(i * 0.37) + (i % 7));
    await Deno.writeFile(join(root, "x.npy"), encodeNpy(x, [6, 1, 4, 5]));
    assertEquals(
      (await run("import", join(root, "x.npy"), "--out", join(root, "ds"), "--quiet")).code,
      0,
    );
    const r = await run(
      "cluster",
      join(root, "ds"),
      "--raw",
      "--k",
      "2",
      "--out",
      join(root, "c"),
      "--quiet",
    );
    assertEquals(r.code, 0, r.err.join("\n"));
    assert(await exists(join(root, "c", "examples.png")));
    assert(!(await exists(join(root, "c", "example_waveforms.png"))));
    assertEquals(
      r.err.filter((l) => l.startsWith("note:")),
      ["note: no example_waveforms.png: the dataset was imported from arrays, so it has no waveforms to rebuild"],
    );
  });
});

Deno.test("report names how the model's training data was made beside the dataset's", async () => {
  await withRoot(async (root) => {
    const { ds } = await extracted(root);
    const m = join(root, "m"), c = join(root, "c");
    for (
      const args of [
        ["pretrain", ds, "--model", m, "--epochs", "1", "--batch-size", "3", "--latent-dim", "3"],
        ["init", ds, "--model", m, "--k", "2"],
        ["cluster", ds, "--model", m, "--out", c, "--no-plots"],
        ["report", c],
      ]
    ) {
      const r = await run(...args, ...(args[0] === "report" ? [] : ["--cpu"]), "--quiet");
      assertEquals(r.code, 0, `${args[0]}: ${r.err.join("\n")}`);
    }
    const html = await Deno.readTextFile(join(c, "report.html"));
    const dataset = /<td>spectrograms<\/td><td>([^<]*)<\/td>/.exec(html)?.[1];
    const model = /<td>model trained on<\/td><td>([^<]*)<\/td>/.exec(html)?.[1];
    assert(dataset?.startsWith("100 Hz; response removed to VEL"), html);
    // The same processing, then the components and scaling the model was trained on.
    assertEquals(model, `${dataset}; components Z; scaling psd`);
  });
});

Deno.test("example waveforms are skipped, saying why, for a dataset whose extract config no longer reads (a water level of 0 from before it was refused)", async () => {
  await withRoot(async (root) => {
    const { ds: dsDir } = await extracted(root);
    const meta = JSON.parse(await Deno.readTextFile(join(dsDir, "meta.json")));
    meta.config.preprocess.response.waterLevel = 0;
    await Deno.writeTextFile(join(dsDir, "meta.json"), JSON.stringify(meta));
    const ds = await openDataset(dsDir);
    try {
      const w = await memberWaveforms(ds, new Int32Array(ds.count), 1, null, 2);
      assert("skipped" in w, JSON.stringify(w));
      assert(
        w.skipped.startsWith("the dataset's extract config does not read as one (") &&
          w.skipped.includes("preprocess.response.waterLevel"),
        w.skipped,
      );
    } finally {
      ds.close();
    }
  });
});

Deno.test("cluster --svg writes each figure as an SVG too, drawing the PNG's very pixels; report links them", async () => {
  await withRoot(async (root) => {
    const { ds: dsDir } = await extracted(root);
    const out = join(root, "c");
    const args = ["cluster", dsDir, "--raw", "--k", "2", "--umap-points", "0", "--quiet"];
    const r = await run(...args, "--out", out, "--svg");
    assertEquals(r.code, 0, r.err.join("\n"));
    const names = [...Deno.readDirSync(out)].map((e) => e.name).sort();
    const figs = (ext: string) =>
      names.filter((n) => n.endsWith(ext)).map((n) => n.slice(0, -ext.length));
    assertEquals(figs(".svg"), figs(".png"));
    assertEquals(figs(".png"), [
      "cluster_means",
      "cluster_spectra",
      "example_waveforms",
      "examples",
      "hour_of_day",
      "latent_pca",
      "stations",
      "timeline",
    ]);
    for (const f of figs(".png")) {
      const png = decodePng(await Deno.readFile(join(out, `${f}.png`)));
      const { canvas } = replaySvg(await Deno.readTextFile(join(out, `${f}.svg`)));
      assertEquals([canvas.width, canvas.height], [png.width, png.height], f);
      assert(canvas.rgba.every((v, i) => v === png.rgba[i]), `${f}.svg draws ${f}.png`);
    }
    assertEquals((await run("report", out, "--quiet")).code, 0);
    const html = await Deno.readTextFile(join(out, "report.html"));
    assert(html.includes(`(<a href="examples.svg">SVG</a>)`), html);
    // Without --svg: PNGs only, and the report links none.
    const plain = join(root, "plain");
    assertEquals((await run(...args, "--out", plain)).code, 0);
    assert(![...Deno.readDirSync(plain)].some((e) => e.name.endsWith(".svg")));
    assertEquals((await run("report", plain, "--quiet")).code, 0);
    assert(!(await Deno.readTextFile(join(plain, "report.html"))).includes(">SVG</a>"));
  });
});

Deno.test("cluster --raw on a dataset of one sample says it needs two, not 'expected 2..1'", async () => {
  await withRoot(async (root) => {
    await Deno.writeFile(join(root, "x.npy"), encodeNpy(new Float32Array(12).fill(1), [1, 3, 4]));
    const ds = join(root, "ds");
    assertEquals((await run("import", join(root, "x.npy"), "--out", ds, "--quiet")).code, 0);
    const r = await run("cluster", ds, "--raw", "--k", "1", "--out", join(root, "c"));
    assertEquals([r.code, r.err], [2, [
      `error: Cannot cluster ${ds} with --raw: it holds 1 sample: expected at least 2`,
    ]]);
  });
});

Deno.test("a rebuilt log10 spectrogram (all values negative) within 1e-4 of its largest |value| counts as unchanged", async () => {
  await withRoot(async (root) => {
    const syn = join(root, "syn"), dsDir = join(root, "ds");
    await writeSynth(syn, { perClass: 3, seed: 4, classes: ["local_earthquake", "explosion"] });
    const config = await readExtractConfig(join(syn, "extract.json"));
    const spectrogram = { ...config.spectrogram, scaling: "log10" as const };
    assertEquals(
      (await runExtract({ ...config, spectrogram, workers: 0 }, dsDir, { quiet: true })).ok,
      6,
    );
    const spec = await readNpyFile(join(dsDir, "spectrograms.npy"));
    const values = Float32Array.from(spec.data as Float32Array);
    const first = values.subarray(0, values.length / spec.shape[0]);
    assert(first.every((v) => v < 0), "log10 of a PSD below 1");
    // 1e-6 of the largest |value|: what another machine's rounding could give, well within 1e-4.
    first[3] += 1e-6 * Math.max(...first.map(Math.abs));
    await Deno.writeFile(join(dsDir, "spectrograms.npy"), encodeNpy(values, spec.shape));
    const ds = await openDataset(dsDir);
    try {
      const w = await memberWaveforms(ds, new Int32Array(6), 1, null);
      assert(!("skipped" in w), JSON.stringify(w));
      assertEquals(w.failures, []);
    } finally {
      ds.close();
    }
  });
});
