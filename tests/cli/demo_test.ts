import { assert, assertEquals } from "../_assert.ts";
import { gpuAvailable } from "../_gpu.ts";
import { join } from "node:path";
import { run } from "./_run.ts";
import { parseCsvRecords } from "../../lib/io/csv.ts";
import { DEAD_PID, HAS_PROC } from "../_proc.ts";

Deno.test({
  name:
    "[webgpu] demo --continuous: a continuous archive, samples at its triggers, DEC and the events' votes, in one command",
  ignore: !gpuAvailable,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const out = await Deno.makeTempDir();
    await Deno.remove(out);
    try {
      // One hour at two stations and two epochs: the pipeline, not the clustering's quality.
      const r = await run(
        "demo",
        "--continuous",
        "--hours",
        "1",
        "--stations",
        "2",
        "--epochs",
        "2",
        "--out",
        out,
        "--quiet",
        "--svg",
      );
      assertEquals(r.code, 0, r.err.join("\n"));
      const line = r.out.find((l) => l.includes("arrivals found"))!;
      const [, found, all, wrong] = line.match(/(\d+) of (\d+) arrivals found, (\d+) false/)!
        .map(Number);
      assert(found >= 0.9 * all && wrong <= 1, line);
      assert(r.out.some((l) => l.includes("DEC, per event (vote)")), r.out.join("\n"));
      const events = parseCsvRecords(await Deno.readTextFile(join(out, "clusters", "events.csv")));
      const ev = JSON.parse(await Deno.readTextFile(join(out, "clusters", "evaluation.json")));
      assertEquals(ev.events.n, events.length);
      assertEquals(ev.labelsFrom, "dataset"); // as evaluate writes it
      // As many clusters as the archive has event classes (its labels besides noise).
      const labels = parseCsvRecords(await Deno.readTextFile(join(out, "archive", "labels.csv")));
      const classes = new Set(labels.map((r) => r.label).filter((l) => l !== "noise")).size;
      assertEquals([ev.k, ev.events.k], [classes, classes]);
      for (const f of ["report.html", "labels.csv", "clusters.csv"]) {
        await Deno.stat(join(out, "clusters", f));
      }
      await Deno.stat(join(out, "dataset", "triggers.csv"));
      // --svg: every figure also as an SVG, the learning curve's included, linked by the report.
      const figs = [...Deno.readDirSync(join(out, "clusters"))].map((e) => e.name);
      const pngs = figs.filter((f) => f.endsWith(".png"));
      assert(pngs.length >= 5, figs.join(" "));
      for (const png of pngs) assert(figs.includes(png.replace(/png$/, "svg")), png);
      await Deno.stat(join(out, "model", "learning_curve.svg"));
      const report = await Deno.readTextFile(join(out, "clusters", "report.html"));
      assert(report.includes('href="latent_pca.svg"'), "report links the SVGs");
      // Flags of the other demo are refused with --continuous, and the other way round.
      const bad = await run("demo", "--continuous", "--per-class", "5", "--out", out);
      assertEquals(bad.code, 2);
      assert(bad.err.join("\n").includes("--per-class with --continuous"), bad.err.join("\n"));
      const bad2 = await run("demo", "--hours", "5", "--out", out);
      assertEquals(bad2.code, 2);
      assert(bad2.err.join("\n").includes("applies to demo --continuous"), bad2.err.join("\n"));
    } finally {
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "[webgpu] demo --out: refuses a directory it did not make and a symbolic link; replaces one it made once the new demo is complete, leaving it as it was where the demo stops before",
  ignore: !gpuAvailable,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const out = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(join(out, "mine.txt"), "x");
      // Each would stop at once were it not refused (no samples; a short archive).
      for (const args of [["--per-class", "0"], ["--continuous", "--hours", "0.001"]]) {
        const r = await run("demo", ...args, "--out", out, "--quiet");
        assertEquals(r.code, 2, r.err.join("\n"));
        assert(
          r.err.join("\n").includes(`Cannot run the demo in ${out}: it exists and was not made`),
          r.err.join("\n"),
        );
      }
      assertEquals([...Deno.readDirSync(out)].map((e) => e.name), ["mine.txt"], "left alone");
      // A value that is no number is refused before an earlier demo's directory is emptied
      // (before, it was emptied, and --epochs x after synth and extract had run).
      await Deno.writeTextFile(join(out, ".seisdec-demo"), "");
      for (const flag of ["--per-class", "--epochs"]) {
        for (const more of [[], ["--continuous", "--hours", "0.01"]]) {
          if (flag === "--per-class" && more.length) continue;
          const r = await run("demo", ...more, flag, "x", "--out", out, "--quiet");
          assertEquals([r.code, r.err.at(-1)], [
            2,
            `error: Cannot read ${flag}: expected an integer in decimal digits: found 'x'`,
          ]);
          const names = [...Deno.readDirSync(out)].map((e) => e.name).sort();
          assertEquals(names, [".seisdec-demo", "mine.txt"], [flag, ...more].join(" "));
        }
      }
      await Deno.remove(join(out, "mine.txt"));
      // The demo's marker: an earlier demo's directory, which the new demo replaces whole once
      // it is complete. No samples per class stop this run at its extraction: the earlier demo
      // stays as it was (before, it was emptied as the demo started), twice over, and a killed
      // demo's temporary beside it is removed.
      // A name that JSON writes escaped (a quote; Windows allows none, and escapes its
      // separators), which the records' paths must still name.
      const name = Deno.build.os === "windows" ? "demo" : 'de"mo';
      const demo = join(out, name);
      await Deno.mkdir(demo);
      await Deno.writeTextFile(join(demo, ".seisdec-demo"), "");
      await Deno.writeTextFile(join(demo, "stray"), "earlier");
      const dead = join(out, `.${name}.${DEAD_PID}.m1a2b3.x9y8z7.tmp`);
      if (HAS_PROC) await Deno.mkdir(join(dead, "synth"), { recursive: true });
      const beside = () => [...Deno.readDirSync(out)].filter((e) => e.name.startsWith(`.${name}.`));
      for (let i = 0; i < 2; i++) {
        const r = await run("demo", "--out", demo, "--per-class", "0", "--quiet");
        assertEquals(r.code, 2, r.err.join("\n"));
        assert(r.err.join("\n").includes("Cannot extract"), r.err.join("\n"));
        if (HAS_PROC && i === 0) {
          assert(r.err.includes(`note: removed ${dead}, left by an interrupted run`), r.err[0]);
        }
        const names = [...Deno.readDirSync(demo)].map((e) => e.name).sort();
        assertEquals(names, [".seisdec-demo", "stray"]);
        assertEquals(await Deno.readTextFile(join(demo, "stray")), "earlier");
        assertEquals(beside(), []);
      }
      // A demo that completes takes the earlier one's place, nothing of it left, and its records
      // name the paths where it is, not those of the temporary it was built in.
      const done = await run("demo", "--out", demo, "--per-class", "2", "--epochs", "1", "--quiet");
      assertEquals(done.code, 0, done.err.join("\n"));
      assertEquals([...Deno.readDirSync(demo)].map((e) => e.name).sort(), [
        ".seisdec-demo",
        "clusters",
        "dataset",
        "model",
        "synth",
      ]);
      assertEquals(beside(), []);
      const result = JSON.parse(await Deno.readTextFile(join(demo, "clusters", "result.json")));
      assertEquals([result.dataset, result.model], [join(demo, "dataset"), join(demo, "model")]);
      const model = JSON.parse(await Deno.readTextFile(join(demo, "model", "model.json")));
      assertEquals(model.finetune.dataset, join(demo, "dataset"));
      const said = done.out.join("\n");
      assert(said.includes(`\noutputs: ${join(demo, "clusters")} (`), said);
      // An empty directory, made with mkdir for the output, is taken as every output's is.
      const empty = join(out, "empty");
      await Deno.mkdir(empty);
      const r = await run("demo", "--out", empty, "--per-class", "0", "--quiet");
      assertEquals(r.code, 2, r.err.join("\n"));
      assert(r.err.join("\n").includes("Cannot extract"), r.err.join("\n"));
      assertEquals([...Deno.readDirSync(empty)].map((e) => e.name), []);
      // A symbolic link is refused as every output's is, naming its target, which is left alone.
      const target = join(out, "target"), link = join(out, "link");
      await Deno.mkdir(target);
      await Deno.symlink(target, link);
      const linked = await run("demo", "--out", link, "--per-class", "0", "--quiet");
      assertEquals([linked.code, linked.err], [2, [
        `error: Cannot write ${link}: it is a symbolic link (to ${target}): give the directory ` +
        `itself, --out ${target}`,
      ]]);
      assertEquals([...Deno.readDirSync(target)], []);
      // --continuous's numbers are checked before anything is written.
      for (
        const [flag, v, want] of [
          ["--hours", "0", "Cannot read --hours: expected > 0: found 0"],
          ["--stations", "1", "Cannot read --stations: expected >= 2 (a coincidence): found 1"],
        ]
      ) {
        const o = join(out, "c");
        const r = await run("demo", "--continuous", flag, v, "--out", o, "--quiet");
        assertEquals(r.code, 2, r.err.join("\n"));
        assert(r.err.join("\n").includes(want), r.err.join("\n"));
        assertEquals(await Deno.stat(o).catch(() => null), null);
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
