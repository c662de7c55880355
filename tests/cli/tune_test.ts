/**
 * `cli.ts tune` end to end on the adapter at hand: a small search that stores its result, a
 * resumed search that replays the trials an interrupted one left, and the refusals.
 */
import { join } from "node:path";
import { main } from "../../cli.ts";
import { adapterName, adapterSummary } from "../../lib/gpu/device.ts";
import { defaultTuning, kernelsDigest, tuningValue } from "../../lib/gpu/kernels.ts";
import { candidateValues, costOf } from "../../lib/gpu/autotune.ts";
import { isSoftwareAdapter } from "../../lib/tensor/backends.ts";
import { tensorLimit } from "../../lib/gpu/pool.ts";
import { ConvAutoencoder } from "../../lib/nn/autoencoder.ts";
import { storedTuningPath, TUNING_FORMAT, tuningFileStem } from "../../lib/gpu/tuning_store.ts";
import { assert, assertEquals } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import { HAS_PROC } from "../_proc.ts";
import { fileExists } from "../../lib/io/manifest.ts";

/** Sets an environment variable (unset: undefined) and returns a function that restores it. */
function setEnv(name: string, value: string | undefined): () => void {
  const before = Deno.env.get(name);
  if (value === undefined) Deno.env.delete(name);
  else Deno.env.set(name, value);
  return () => before === undefined ? Deno.env.delete(name) : Deno.env.set(name, before);
}

/** Runs cli.ts in this process with SEISDEC_TUNING_DIR set to `dir`, capturing its output. */
async function tune(dir: string, ...args: string[]) {
  const out: string[] = [], err: string[] = [];
  const { log, error, warn } = console;
  const before = Deno.env.get("SEISDEC_TUNING_DIR");
  Deno.env.set("SEISDEC_TUNING_DIR", dir);
  console.log = (...a: unknown[]) => out.push(a.map(String).join(" "));
  console.error = console.warn = (...a: unknown[]) => err.push(a.map(String).join(" "));
  try {
    const code = await main(["tune", ...args]);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    Object.assign(console, { log, error, warn });
    if (before === undefined) Deno.env.delete("SEISDEC_TUNING_DIR");
    else Deno.env.set("SEISDEC_TUNING_DIR", before);
  }
}

/** A small workload: each trial compiles and times a 1×24×20 autoencoder at batch 4. */
const SMALL = ["--input-shape", "1,24,20", "--batch-size", "4", "--seconds", "0.2"];

gpuTest(
  "cli: tune times the start and each candidate, stores the best, and --reset removes it",
  async () => {
    const dir = await Deno.makeTempDir();
    const adapter = await adapterName();
    // Nothing to resume: said, where it started afresh without a word before.
    const r = await tune(dir, ...SMALL, "--fields", "packCache", "--resume");
    assertEquals(r.code, 0, r.err);
    const progress = join(dir, `${tuningFileStem(adapter)}.progress.json`);
    assert(
      r.err.includes(
        `note: --resume found no interrupted search in ${progress}: starting from the first trial`,
      ),
      r.err,
    );
    assert(r.out.includes("the trials in a child process"), r.out);
    const path = storedTuningPath(adapter, dir)!;
    assert(r.out.includes(`stored ${path}`), r.out);
    assert(
      /best: \{.*\} over the default, [\d.]+× the start's speed \(\d+ trials\)/.test(r.out),
      r.out,
    );
    const s = JSON.parse(await Deno.readTextFile(path));
    assertEquals(s.format, TUNING_FORMAT);
    assertEquals(s.adapter, adapter);
    assertEquals(s.kernels, await kernelsDigest(), "the kernels it measured");
    assertEquals(s.workload, { inputShape: [1, 24, 20], latentDim: 9, batches: [4] });
    // The software default keeps packed weights: the one candidate is packCache=false.
    assertEquals(s.trials[0].tuning, {});
    assertEquals(s.trials[1].tuning, { packCache: false });
    // The start and the candidate; if the candidate looked faster, both twice more.
    assert(s.trials.length === 2 || s.trials.length === 6, `${s.trials.length} trials`);
    for (const t of s.trials) {
      assert(t.error === undefined, t.error);
      assert(t.trainMs.length === 1 && t.trainMs[0] > 0 && t.inferMs > 0, JSON.stringify(t));
    }
    // Speeds are relative to the start's fastest timing.
    const starts = s.trials.filter((t: { tuning: object }) => Object.keys(t.tuning).length === 0);
    assertEquals(Math.max(...starts.map((t: { speed: number }) => t.speed)), 1);
    assert([{}, { packCache: false }].some((x) => JSON.stringify(x) === JSON.stringify(s.tuning)));
    assert(s.speedup >= 1, `the best is no slower than the start: ${s.speedup}`);
    const files = [...Deno.readDirSync(dir)].map((e) => e.name);
    assertEquals(files, [`${tuningFileStem(adapter)}.json`], "no progress file left");
    const gone = await tune(dir, "--reset");
    assertEquals(gone.code, 0, gone.err);
    assert(gone.out.includes(`removed ${path}`), gone.out);
    assertEquals([...Deno.readDirSync(dir)].length, 0);
    await Deno.remove(dir, { recursive: true });
  },
);

gpuTest(
  "cli: tune --resume replays an interrupted search's trials; without it tune refuses",
  async () => {
    const dir = await Deno.makeTempDir();
    const adapter = await adapterName();
    const progress = join(dir, `${tuningFileStem(adapter)}.progress.json`);
    const slow = { trainMs: [1e6], inferMs: 1e6, inferBatch: 256, cost: 1e6 };
    await Deno.writeTextFile(
      progress,
      JSON.stringify({
        adapter,
        workload: {
          batches: [4],
          config: { inputShape: [1, 24, 20], latentDim: 9 },
          seconds: 0.2,
        },
        base: {},
        // The second trial failed when the search was stopped: it is timed again.
        trials: [{ tuning: {}, timing: slow }, { tuning: { packCache: false }, error: "exit 130" }],
      }),
    );
    const refused = await tune(dir, ...SMALL, "--fields", "packCache");
    assertEquals(refused.code, 2);
    assert(refused.err.includes(progress) && refused.err.includes("--resume"), refused.err);
    const other = await tune(dir, ...SMALL, "--batch-size", "8", "--resume");
    assertEquals(other.code, 2);
    assert(other.err.includes("Cannot resume") && other.err.includes("same flags"), other.err);
    const r = await tune(dir, ...SMALL, "--fields", "packCache", "--resume", "--dry-run");
    assertEquals(r.code, 0, r.err);
    assert(r.out.includes("resuming: 1 trials"), r.out);
    // The start's timing is the replayed one, not a new one.
    assert(/^ {2}start\s+b4 1000000\.0 ms {2}infer 1000000\.0 ms$/m.test(r.out), r.out);
    assert(/^ {2}packCache=false\s+b4 \d+\.\d ms/m.test(r.out) && !r.out.includes("failed"), r.out);
    // The timed trial's cost is per sample, inference passes divided by their batch: its speed
    // against the replayed start (1e6 ms per sample) follows from the figures it prints.
    const [, train, infer, rel] = r.out.match(
      /^ {2}packCache=false\s+b4 ([\d.]+) ms {2}infer ([\d.]+) ms {2}([\d.]+)× the best/m,
    )!.map(Number);
    const batch = tuningValue(
      defaultTuning(isSoftwareAdapter(await adapterSummary())),
      "inferBatch",
    );
    // The figures are printed rounded (ms to 0.1, the speed to 0.001): a fast adapter's few ms
    // are a few % off, so the speed must lie where the printed figures' roundings allow.
    const speed = (t: number, i: number) => 1e6 / costOf([t], [4], i, batch);
    const lo = speed(train + 0.05, infer + 0.05);
    const hi = speed(Math.max(0, train - 0.05), Math.max(0, infer - 0.05));
    assert(
      rel >= lo * (1 - 1e-9) - 0.0005 && rel <= hi * (1 + 1e-9) + 0.0005,
      `${rel}× the best, not ${lo}× to ${hi}×`,
    );
    assert(r.out.includes("not stored (--dry-run)"), r.out);
    assertEquals([...Deno.readDirSync(dir)].length, 0, "nothing stored, the progress file gone");
    await Deno.remove(dir, { recursive: true });
  },
);

gpuTest(
  "cli: tune refuses the CPU backend, unknown fields, and reports a start that fails",
  async () => {
    const dir = await Deno.makeTempDir();
    const cpu = await tune(dir, "--cpu");
    assertEquals(cpu.code, 2);
    assert(cpu.err.includes("--cpu is not a flag of 'tune': it tunes the WebGPU kernels"), cpu.err);
    const bad = await tune(dir, "--fields", "convTile,tileSize");
    assertEquals(bad.code, 2);
    assert(bad.err.includes("'tileSize'") && bad.err.includes("convPixels"), bad.err);
    const passes = await tune(dir, "--passes", "0");
    assertEquals(passes.code, 2);
    assert(passes.err.includes("--passes"), passes.err);
    const both = await tune(dir, "--resume", "--force");
    assertEquals(both.code, 2);
    assert(both.err.includes("Cannot use --resume with --force"), both.err);
    // A training batch past what one tensor may hold on the adapter is refused before any trial.
    const { maxStorageBufferBindingSize, maxBufferSize } = (await adapterSummary()).limits;
    const limit = tensorLimit({ maxStorageBufferBindingSize, maxBufferSize }).bytes;
    const most = new ConvAutoencoder({ inputShape: [1, 1024, 1024] }).maxBatch(limit);
    const big = await tune(
      dir,
      "--input-shape",
      "1,1024,1024",
      "--batch-size",
      `4,${most + 1}`,
    );
    assertEquals(big.code, 2);
    assert(
      big.err.includes(`--batch-size ${most + 1}`) &&
        big.err.includes(`use --batch-size ${most} or less`),
      big.err,
    );
    const shape = await tune(dir, "--input-shape", "1,24");
    assertEquals(shape.code, 2);
    assert(shape.err.includes("C,F,T"), shape.err);
    for (const isolate of [[], ["--isolate"]]) {
      const killed = await tune(dir, ...SMALL, "--timeout", "0.05", ...isolate);
      assert(killed.code !== 0, killed.out);
      assert(
        killed.err.includes("starting tuning failed") && killed.err.includes("--timeout"),
        killed.err,
      );
    }
    assertEquals([...Deno.readDirSync(dir)].length, 0, "no progress file after a failed start");
    await Deno.remove(dir, { recursive: true });
  },
);

gpuTest(
  "cli: tune starts from SEISDEC_TUNING's fields, varies the others from them, and stores them",
  async () => {
    const dir = await Deno.makeTempDir();
    const adapter = await adapterName();
    // packCache is searched (the software default is true: the override flips the start);
    // inferBatch is not, and shows in the start's inference passes, timed by the child.
    const env = { packCache: false, inferBatch: 1024 };
    const restore = setEnv("SEISDEC_TUNING", JSON.stringify(env));
    try {
      const r = await tune(dir, ...SMALL, "--fields", "packCache");
      assertEquals(r.code, 0, r.err);
      assert(r.out.includes(`with SEISDEC_TUNING ${JSON.stringify(env)}`), r.out);
      assert(
        /^ {2}start: training b4 [\d,]+\/s, inference [\d,]+\/s \(passes of 1024\)$/m.test(r.out),
        r.out,
      );
      const s = JSON.parse(await Deno.readTextFile(storedTuningPath(adapter, dir)!));
      // The start is the override itself; the one candidate is packCache's other value, true
      // (without the override it would be false, the default's other value).
      assertEquals(s.trials[0].tuning, {});
      assertEquals(s.trials[1].tuning, { packCache: true });
      // The stored tuning is the override with the best over it: a later run without
      // SEISDEC_TUNING gets the same.
      assertEquals(s.tuning.inferBatch, 1024);
      assert(s.tuning.packCache === false || s.tuning.packCache === true, JSON.stringify(s.tuning));
      const best = s.tuning.packCache ? { packCache: true } : {};
      assert(
        r.out.includes(`best: ${JSON.stringify({ ...env, ...best })} over the default`),
        r.out,
      );

      // A search interrupted under another SEISDEC_TUNING is not resumed under this one.
      const progress = join(dir, `${tuningFileStem(adapter)}.progress.json`);
      await Deno.writeTextFile(
        progress,
        JSON.stringify({
          adapter,
          workload: {
            batches: [4],
            config: { inputShape: [1, 24, 20], latentDim: 9 },
            seconds: 0.2,
          },
          base: {},
          trials: [],
        }),
      );
      const other = await tune(dir, ...SMALL, "--fields", "packCache", "--resume", "--dry-run");
      assertEquals(other.code, 2, other.out);
      assert(
        other.err.includes("Cannot resume") && other.err.includes(`with ${JSON.stringify(env)}`),
        other.err,
      );
      await Deno.remove(progress);

      // A field no dispatcher can use as written is refused before any trial, naming it.
      setEnv("SEISDEC_TUNING", '{"convTile": 0}');
      const bad = await tune(dir, ...SMALL, "--dry-run");
      assertEquals(bad.code, 2, bad.out);
      assert(
        bad.err.includes('SEISDEC_TUNING: field "convTile" must be a positive integer: found 0'),
        bad.err,
      );
      assert(!bad.out.includes("start"), bad.out);
    } finally {
      restore();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

gpuTest(
  "cli: tune interrupted by a signal to itself alone kills its trial process and keeps its progress, naming --resume",
  async () => {
    if (!HAS_PROC) return; // the children are found through /proc
    const dir = await Deno.makeTempDir();
    try {
      const cli = new URL("../../cli.ts", import.meta.url).pathname;
      const parent = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", cli, "tune", ...SMALL, "--fields", "packCache", "--dry-run"],
        env: { SEISDEC_TUNING_DIR: dir },
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const progress = join(dir, `${tuningFileStem(await adapterName())}.progress.json`);
      for (let i = 0; i < 1200 && !fileExists(progress); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert(fileExists(progress), "the first trial was timed");
      // Its children, by their parent's pid (/proc/PID/stat field 4).
      const children = [...Deno.readDirSync("/proc")].filter((e) => /^\d+$/.test(e.name))
        .map((e) => {
          try {
            const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
            return {
              pid: Number(e.name),
              ppid: Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]),
            };
          } catch {
            return { pid: 0, ppid: 0 };
          }
        }).filter((p) => p.ppid === parent.pid).map((p) => p.pid);
      assert(children.length >= 1, "a trial process runs");
      parent.kill("SIGINT"); // the parent alone, as kill, timeout or systemd send it
      const { code } = await parent.status;
      const err = new TextDecoder().decode(await new Response(parent.stderr).arrayBuffer());
      assertEquals(code, 130, err);
      assert(err.includes(`kept ${progress}`) && err.includes("`cli.ts tune --resume`"), err);
      assert(fileExists(progress));
      // The trial process is gone (or a zombie awaiting its reaper), not computing on.
      const alive = (pid: number) => {
        try {
          const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
          return s.slice(s.lastIndexOf(")") + 2)[0] !== "Z";
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 40 && children.some(alive); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assertEquals(children.filter(alive), [], "trial processes left running");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

/** A replayed timing whose cost is `c` ms per sample, at training batch 64 and inference 256. */
function costing(c: number) {
  return { trainMs: [64 * c], inferMs: 256 * c, inferBatch: 256, cost: c };
}

/**
 * matmul's one candidate over this adapter's default: tiled on a software adapter (whose default
 * multiplies blocked), blocked on a GPU (tiled).
 */
async function matmulCandidate(): Promise<string> {
  const c = candidateValues(defaultTuning(isSoftwareAdapter(await adapterSummary())), "matmul");
  assertEquals(c.length, 1, `${c}`);
  return String(c[0]);
}

/** The default workload (no flags), as the progress file records it. */
const DEFAULT_WORKLOAD = {
  batches: [64],
  config: { inputShape: [1, 87, 67], latentDim: 9 },
  seconds: 1.5,
};

gpuTest(
  "cli: tune decides on the timings it replays: the margin, the rechecks, the speeds it stores and prints",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const adapter = await adapterName();
      const progress = join(dir, `${tuningFileStem(adapter)}.progress.json`);
      // matmul's one candidate, alt (on a software adapter tiled, as the comments name it);
      // --fields in another order is searched in TUNE_FIELDS order, matmul first.
      const alt = await matmulCandidate();
      // matmul=tiled looks 4 % faster, and keeps the 3 % margin over the start's fastest (9.9)
      // on its fastest (9.5). packCache=false over it looks 5 % faster (9), but a recheck of the
      // best gives 9.2: not 3 % faster. The second pass has nothing left to time. Every trial is
      // replayed: no child times anything.
      const costs: [Record<string, unknown>, number][] = [
        [{}, 10],
        [{ matmul: alt }, 9.6],
        [{}, 10.4],
        [{ matmul: alt }, 9.5],
        [{}, 9.9],
        [{ matmul: alt }, 9.7],
        [{ matmul: alt, packCache: false }, 9],
        [{ matmul: alt }, 9.2],
        [{ matmul: alt, packCache: false }, 9.3],
        [{ matmul: alt }, 9.6],
        [{ matmul: alt, packCache: false }, 9.4],
      ];
      const write = (trials = costs) =>
        Deno.writeTextFile(
          progress,
          JSON.stringify({
            adapter,
            workload: DEFAULT_WORKLOAD,
            base: {},
            trials: trials.map(([tuning, c]) => ({ tuning, timing: costing(c) })),
          }),
        );
      await write();
      const args = ["--fields", "packCache,matmul", "--resume", "--timeout", "5"];
      const r = await tune(dir, ...args);
      assertEquals(r.code, 0, r.err);
      assert(r.out.includes(`resuming: 11 trials from ${progress}`), r.out);
      const path = storedTuningPath(adapter, dir)!;
      const s = JSON.parse(await Deno.readTextFile(path));
      assertEquals(s.tuning, { matmul: alt });
      assertEquals(s.speedup, 9.9 / 9.2);
      assertEquals(s.workload, { inputShape: [1, 87, 67], latentDim: 9, batches: [64] });
      assertEquals(
        s.trials,
        costs.map(([tuning, c]) => ({
          tuning,
          trainMs: [64 * c],
          inferMs: 256 * c,
          speed: 9.9 / c,
        })),
      );
      const lines = r.out.split("\n");
      assertEquals(lines.filter((l) => l.startsWith("  ")).map((l) => l.replace(/ +/g, " ")), [
        " start b64 640.0 ms infer 2560.0 ms",
        ` matmul=${alt} b64 614.4 ms infer 2457.6 ms 1.042× the best, timing both again`,
        " again start b64 665.6 ms infer 2662.4 ms 0.962× the best",
        ` again matmul=${alt} b64 608.0 ms infer 2432.0 ms 1.053× the best, timing both again`,
        " again start b64 633.6 ms infer 2534.4 ms 1.010× the best",
        ` again matmul=${alt} b64 620.8 ms infer 2483.2 ms 1.021× the best, kept`,
        " packCache=false b64 576.0 ms infer 2304.0 ms 1.056× the best, timing both again",
        " again best so far b64 588.8 ms infer 2355.2 ms 1.033× the best",
        " again packCache=false b64 595.2 ms infer 2380.8 ms 0.989× the best, timing both again",
        " again best so far b64 614.4 ms infer 2457.6 ms 0.958× the best",
        " again packCache=false b64 601.6 ms infer 2406.4 ms 0.979× the best",
        // The fastest timing of each, in samples per second: the start 64 / 633.6 ms, the best
        // 64 / 588.8 ms (a recheck of it).
        " start: training b64 101/s, inference 101/s (passes of 256)",
        " best: training b64 109/s, inference 109/s (passes of 256)",
      ]);
      assert(
        r.out.includes(
          `best: {"matmul":"${alt}"} over the default, ${(9.9 / 9.2).toFixed(3)}× the start's ` +
            "speed (11 trials)\n",
        ),
        r.out,
      );
      assert(r.out.endsWith(`stored ${path}`), r.out);
      assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), [
        `${tuningFileStem(adapter)}.json`,
      ]);

      // Again, with a 5 % margin: matmul=tiled looks 4 % faster, is not timed again, and
      // packCache=false is tried over the start (and is slower): the start stays best.
      await write([...costs.slice(0, 2), [{ packCache: false }, 10.2]]);
      const m = await tune(dir, ...args, "--margin", "5", "--dry-run");
      assertEquals(m.code, 0, m.err);
      assert(
        m.out.includes("best: {} over the default, 1.000× the start's speed (3 trials)"),
        m.out,
      );
      assert(m.out.includes(`  matmul=${alt}`) && !m.out.includes("again"), m.out);
      // A budget already spent: the start alone is timed.
      await write();
      const spent = await tune(dir, ...args, "--budget=-1", "--dry-run");
      assertEquals(spent.code, 0, spent.err);
      assert(
        spent.out.includes(
          "best: {} over the default, 1.000× the start's speed (1 trials; " +
            "stopped at --budget)",
        ),
        spent.out,
      );
      // A third run replaces the stored tuning.
      await write();
      const again = await tune(dir, ...args);
      assertEquals(again.code, 0, again.err);
      assert(again.out.endsWith(`replaced ${path}`), again.out);
      // A tuning stored under the slug-only name of older versions is replaced too (and goes).
      const legacy = join(dir, `${tuningFileStem(adapter).replace(/-[0-9a-f]{8}$/, "")}.json`);
      await Deno.rename(path, legacy);
      await write();
      const old = await tune(dir, ...args);
      assertEquals(old.code, 0, old.err);
      assert(old.out.endsWith(`replaced ${path}`), old.out);
      assertEquals(await Deno.stat(legacy).catch(() => null), null, "the slug-only file is gone");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

gpuTest("cli: tune refuses bad flags before any trial, naming them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ds = join(dir, "ds");
    for (
      const [args, want] of [
        [["--batch-size", "0"], "Cannot read --batch-size: expected positive integers"],
        [["--batch-size", "4,"], "Cannot read --batch-size: expected positive integers"],
        [["--fields", " , "], "Cannot read --fields: expected at least one field"],
        [[ds, "extra"], "Cannot run tune: unexpected arguments: extra"],
        [[ds, "--input-shape", "1,24,20"], "give a dataset or --input-shape, not both"],
        [["--latent-dim", "0"], "Cannot read --latent-dim: expected ≥ 1: found 0"],
        [["--confirm", "0"], "Cannot read --confirm: expected ≥ 1: found 0"],
        [["--margin", "100"], "Cannot read --margin: expected 0 to 100: found 100"],
        [["--margin=-1"], "Cannot read --margin: expected 0 to 100: found -1"],
        [["--timeout", "0"], "Cannot read --timeout: expected > 0: found 0"],
      ] as const
    ) {
      // Were it not refused, the start would fail at once: no long trial.
      const r = await tune(dir, "--dry-run", "--timeout", "0.05", ...args);
      assertEquals(r.code, 2, `${args.join(" ")}: ${r.out}`);
      assert(r.err.includes(want), `${args.join(" ")}: ${r.err}`);
    }
    // With tunings off, only --dry-run may run (a child's failed start ends it here).
    const off = await tune("none", ...SMALL, "--timeout", "0.05");
    assertEquals(off.code, 2, off.out);
    assert(
      off.err.includes("SEISDEC_TUNING_DIR is none") && off.err.includes("--dry-run"),
      off.err,
    );
    const dry = await tune("none", ...SMALL, "--dry-run", "--timeout", "0.05");
    assert(dry.code !== 0 && dry.err.includes("starting tuning failed"), dry.err);
    assertEquals([...Deno.readDirSync(dir)].length, 0, "nothing written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

gpuTest(
  "cli: tune --force starts over from an interrupted search's file, even an unreadable one",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const adapter = await adapterName();
      const progress = join(dir, `${tuningFileStem(adapter)}.progress.json`);
      const old = JSON.stringify({
        adapter,
        workload: { batches: [8], config: { inputShape: [1, 24, 20], latentDim: 9 }, seconds: 1 },
        base: {},
        trials: [{ tuning: {}, timing: costing(1) }],
      });
      for (const text of [old, "{not json"]) {
        await Deno.writeTextFile(progress, text);
        const refused = await tune(dir, ...SMALL);
        assertEquals(refused.code, 2, refused.out);
        assert(refused.err.includes(progress) && refused.err.includes("--force"), refused.err);
        // --force: the search starts (its start fails at once here), nothing is replayed, and
        // the file is gone.
        const r = await tune(dir, ...SMALL, "--force", "--timeout", "0.05");
        assert(r.code !== 0 && r.err.includes("starting tuning failed"), r.err);
        assert(!r.out.includes("resuming"), r.out);
        assertEquals([...Deno.readDirSync(dir)].length, 0, "the interrupted search's file is gone");
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

gpuTest(
  "cli: tune --budget is in seconds: a 600 s budget outlasts a trial killed at 1.5 s, 1 s does not",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const adapter = await adapterName();
      const alt = await matmulCandidate();
      // A workload no trial finishes (1000 s of timed work per figure): the one trial not
      // replayed, matmul=tiled, is killed at --timeout 1.5; had the budget been read as ms, no
      // trial would start after it, and had 1 s been read as minutes or hours, the replayed
      // packCache=false would.
      for (
        const [budget, want] of [
          ["600", "the start's speed (3 trials, 1 failed)\n"],
          ["1", "the start's speed (2 trials, 1 failed; stopped at --budget)\n"],
        ]
      ) {
        await Deno.writeTextFile(
          join(dir, `${tuningFileStem(adapter)}.progress.json`),
          JSON.stringify({
            adapter,
            workload: {
              batches: [4],
              config: { inputShape: [1, 24, 20], latentDim: 9 },
              seconds: 1000,
            },
            base: {},
            trials: [
              { tuning: {}, timing: costing(10) },
              { tuning: { packCache: false }, timing: costing(10.2) },
            ],
          }),
        );
        const r = await tune(
          dir,
          ...["--input-shape", "1,24,20", "--batch-size", "4", "--seconds", "1000"],
          ...["--fields", "matmul,packCache", "--resume", "--dry-run"],
          ...["--timeout", "1.5", "--budget", budget],
        );
        assertEquals(r.code, 0, r.err);
        const killed = new RegExp(
          `^ {2}matmul=${alt}\\s+failed: killed after 1\\.5 s \\(--timeout\\)$`,
          "m",
        );
        assert(killed.test(r.out), r.out);
        assert(r.out.includes(want), `--budget ${budget}: ${r.out}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
