/**
 * `cli.ts tune` end to end on the adapter at hand: a small search that stores its result, a
 * resumed search that replays the trials an interrupted one left, and the refusals.
 */
import { join } from "node:path";
import { main } from "../../cli.ts";
import { adapterName, adapterSummary } from "../../lib/gpu/device.ts";
import { kernelsDigest } from "../../lib/gpu/kernels.ts";
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
    const r = await tune(dir, ...SMALL, "--fields", "packCache");
    assertEquals(r.code, 0, r.err);
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
