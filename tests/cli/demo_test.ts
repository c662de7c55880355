import { assert, assertEquals } from "../_assert.ts";
import { gpuAvailable } from "../_gpu.ts";
import { join } from "node:path";
import { run } from "./_run.ts";
import { parseCsvRecords } from "../../lib/io/csv.ts";

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
