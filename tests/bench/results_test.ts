/** Bench result files (bench/_results.ts) and how bench/report.ts reads them. */
import { join } from "node:path";
import { type BenchResultFile, RESULTS_DIR, writeBenchResults } from "../../bench/_results.ts";
import { formatReport, loadResults } from "../../bench/report.ts";
import { adapterFileStem, adapterSlug } from "../../lib/gpu/device.ts";
import type { Tuning } from "../../lib/gpu/kernels.ts";
import { assert, assertEquals } from "../_assert.ts";

const fig = (value: number) => [{ name: "train", shape: "[64]", value, unit: "samples/s" }];
const deno = { deno: "2.9.6", v8: "13", typescript: "5" };

Deno.test("bench result files of two adapters whose names share the slug's first 60 characters do not overwrite each other", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const long = "Vendor Graphics Accelerator Extreme Edition With A Very Long Marketing Name";
    const [a, b] = [`${long} 80GB`, `${long} 40GB`];
    assertEquals(adapterSlug(a), adapterSlug(b)); // the cut slug alone would name one file
    const pa = await writeBenchResults("train", fig(1), { dir, adapter: { description: a } });
    const pb = await writeBenchResults("train", fig(2), { dir, adapter: { description: b } });
    assert(pa !== pb, pa);
    assertEquals(pa, join(dir, `train-${adapterFileStem(a)}.json`));
    const loaded = await loadResults(dir);
    assertEquals(loaded.map((r) => r.file.adapter.description).sort(), [b, a]);
    // One column each, in file-name order, with its own figure.
    const md = formatReport(loaded);
    const cells = loaded.map((r) => (r.file.adapter.description === a ? "1.00" : "2.00"));
    assert(md.includes(`| train | train | [64] | samples/s | ${cells.join(" | ")} |`), md);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeBenchResults removes its adapter's file of the slug-only naming, not another adapter's", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const legacy = join(dir, "peers-gpu-a.json");
    const old = (description: string): BenchResultFile => ({
      bench: "peers",
      adapter: { description },
      deno,
      date: "2025-01-01T00:00:00.000Z",
      figures: fig(1),
    });
    // Another adapter of the same slug owns the old file: it stays.
    await Deno.writeTextFile(legacy, JSON.stringify(old("GPU-A")));
    await writeBenchResults("peers", fig(2), { dir, adapter: { description: "GPU A" } });
    assert(await Deno.stat(legacy).then(() => true), "another adapter's file was removed");
    // The same adapter's old file is replaced by the new one.
    await Deno.writeTextFile(legacy, JSON.stringify(old("GPU A")));
    const path = await writeBenchResults("peers", fig(3), {
      dir,
      adapter: { description: "GPU A" },
    });
    assertEquals(await Deno.stat(legacy).catch(() => null), null);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), [path.split("/").pop()!]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bench:report reads old and new file names; of two files of one bench and adapter, the later run counts", () => {
  const file = (date: string, value: number): BenchResultFile => ({
    bench: "train",
    adapter: { description: "GPU A" },
    deno,
    date,
    figures: fig(value),
  });
  // Sorted by name, the old name comes last: the date, not the order, decides.
  const md = formatReport([
    { path: `r/train-${adapterFileStem("GPU A")}.json`, file: file("2026-02-01T00:00:00Z", 20) },
    { path: "r/train-gpu-a.json", file: file("2025-01-01T00:00:00Z", 10) },
  ]);
  assert(md.includes("| train | train | [64] | samples/s | 20.0 |"), md);
});

Deno.test("the committed bench/results files are named <bench>-<adapter slug>-<hash>.json, and bench:report reads them all", async () => {
  const loaded = await loadResults(RESULTS_DIR);
  assert(loaded.length >= 6, `${loaded.length} result files`);
  for (const { path, file } of loaded) {
    const want = `${file.bench}-${adapterFileStem(file.adapter.description)}.json`;
    assertEquals(path.split("/").pop(), want);
  }
});

const python = await new Deno.Command("python3", { args: ["-V"] }).output()
  .then((o) => o.success).catch(() => false);

Deno.test({
  name: "pytorch_autoencoder.py --out-dir names its file as the Deno benches do",
  ignore: !python,
  fn: async () => {
    const script = new URL("../../bench/pytorch_autoencoder.py", import.meta.url).pathname;
    // Only the naming function, without importing torch.
    const code = `import ast, re, sys
tree = ast.parse(open(sys.argv[1]).read())
fn = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "adapter_file_stem"]
ns = {"re": re}
exec(compile(ast.Module(body=fn, type_ignores=[]), sys.argv[1], "exec"), ns)
for name in sys.argv[2:]:
    print(ns["adapter_file_stem"](name))`;
    const names = ["NVIDIA H100 80GB HBM3", "cpu", "Ünïcode GPU (rev. 2) ", "x".repeat(70) + "-y"];
    const out = await new Deno.Command("python3", { args: ["-c", code, script, ...names] })
      .output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    assertEquals(
      new TextDecoder().decode(out.stdout).trim().split("\n"),
      names.map(adapterFileStem),
    );
  },
});

Deno.test("bench:report takes an adapter's Deno version, tuning and latest-run date from its newest file, whatever the files' name order", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const active = { matmul: "tiled", splitTarget: 1, convTile: 8 } as Tuning;
    const file = (date: string, version: string, stored: string | null): BenchResultFile => ({
      bench: "train",
      adapter: { description: "GPU A" },
      deno: { ...deno, deno: version },
      date,
      figures: fig(1),
      tuning: {
        active,
        source: {
          default: "gpu",
          stored: stored ? { path: "t.json", date: stored, fields: { convTile: 8 } } : null,
          env: {},
        },
      },
    });
    // By name, the newer run is read first and the older last.
    const write = (name: string, f: BenchResultFile) =>
      Deno.writeTextFile(join(dir, name), JSON.stringify(f));
    await write("a-newer.json", file("2026-03-01T00:00:00Z", "2.9.6", "2026-02-20T00:00:00Z"));
    await write("b-older.json", file("2025-01-01T00:00:00Z", "2.1.0", null));
    const loaded = await loadResults(dir);
    assertEquals(loaded.map((r) => r.path.split("/").pop()), ["a-newer.json", "b-older.json"]);
    const md = formatReport(loaded);
    assert(
      md.includes(
        "| GPU A | 2.9.6 | stored 2026-02-20 | 2026-03-01T00:00:00Z | a-newer.json, b-older.json |",
      ),
      md,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
