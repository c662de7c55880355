/**
 * `cli.ts tune`'s trial worker (lib/bench/trial_worker.ts): one child process times several
 * tunings, each in force for its trial, and is replaced after a failed or timed-out trial.
 */
import type { TuningWorkload } from "../../lib/bench/seisdec_timing.ts";
import { lastError, timeInFreshProcess, TrialWorker } from "../../lib/bench/trial_worker.ts";
import { adapterName, adapterSummary } from "../../lib/gpu/device.ts";
import { defaultTuning } from "../../lib/gpu/kernels.ts";
import { TUNING_FORMAT, writeStoredTuning } from "../../lib/gpu/tuning_store.ts";
import { isSoftwareAdapter } from "../../lib/tensor/backends.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";

/** A 1×24×20 autoencoder at batch 4, briefly timed. */
const SMALL: TuningWorkload = { batches: [4], config: { inputShape: [1, 24, 20] }, seconds: 0.1 };

gpuTest(
  "a trial worker times tunings one after another in one child, restarting after failures",
  async () => {
    const w = new TrialWorker();
    try {
      const a = await w.time({ convTile: 8, inFlight: 2 }, SMALL, 300);
      const b = await w.time({ convTile: 4 }, SMALL, 300);
      assertEquals(w.starts, 1, "both trials in one child");
      assertEquals(a.adapter, await adapterName());
      // Each point reports the tuning in force: the fields over the adapter kind's default.
      assertEquals([a.tuning.convTile, a.tuning.inFlight], [8, 2]);
      assertEquals(b.tuning.convTile, 4);
      assert(b.tuning.inFlight !== 2, "a trial's fields do not carry over to the next");
      for (const p of [a, b]) {
        assertEquals(p.train.map((t) => t.batch), [4]);
        assert(p.train[0].stepMs > 0 && p.infer.ms > 0, JSON.stringify(p));
      }
      // A trial the child refuses fails with the child's message; the next runs in a new child.
      await assertRejects(
        () => w.time({ convTiles: 8 } as never, SMALL, 300),
        Error,
        'the trial\'s tuning has an unknown field "convTiles"',
      );
      const c = await w.time({}, SMALL, 300);
      assertEquals(w.starts, 2);
      assert(c.train[0].stepMs > 0);
      // A trial past its timeout is killed; so is its child.
      await assertRejects(
        () => w.time({}, { ...SMALL, seconds: 5 }, 0.5),
        Error,
        "killed after 0.5 s",
      );
      const d = await w.time({ convTile: 8 }, SMALL, 300);
      assertEquals(w.starts, 3);
      assertEquals(d.tuning.convTile, 8);
    } finally {
      await w.close();
    }
  },
);

gpuTest("a tuning timed in a fresh process (tune --isolate) is in force there", async () => {
  const p = await timeInFreshProcess({ convTile: 4, inFlight: 3 }, SMALL, 300);
  assertEquals(p.adapter, await adapterName());
  assertEquals([p.tuning.convTile, p.tuning.inFlight], [4, 3]);
  assert(p.train[0].stepMs > 0 && p.infer.ms > 0, JSON.stringify(p));
  await assertRejects(
    () => timeInFreshProcess({ convTiles: 8 } as never, SMALL, 300),
    Error,
    'unknown field "convTiles"',
  );
});

gpuTest(
  "a trial times the adapter kind's default with its fields, never the parent's stored tuning",
  async () => {
    const dir = await Deno.makeTempDir();
    const before = Deno.env.get("SEISDEC_TUNING_DIR");
    const w = new TrialWorker();
    try {
      const info = await adapterSummary();
      const base = defaultTuning(isSoftwareAdapter(info));
      // The parent's stored tuning for this adapter: a child that read it would time inFlight 3.
      await writeStoredTuning({
        format: TUNING_FORMAT,
        adapter: await adapterName(),
        deno: Deno.version.deno,
        date: "2026-12-05T00:00:00.000Z",
        tuning: { inFlight: 3 },
        workload: { inputShape: [1, 24, 20], latentDim: 9, batches: [4] },
        speedup: 1,
        trials: [],
      }, dir);
      Deno.env.set("SEISDEC_TUNING_DIR", dir);
      const p = await timeInFreshProcess({ convTile: 4 }, SMALL, 300);
      assertEquals(p.tuning, { ...base, convTile: 4 });
      const q = await w.time({}, SMALL, 300);
      assertEquals(q.tuning, base);
    } finally {
      await w.close();
      if (before === undefined) Deno.env.delete("SEISDEC_TUNING_DIR");
      else Deno.env.set("SEISDEC_TUNING_DIR", before);
      await Deno.remove(dir, { recursive: true });
    }
  },
);

gpuTest("a trial is killed at its timeout in seconds, not sooner", async () => {
  // A workload no trial finishes: each is killed at 1.5 s, which a lower bound on the time
  // it ran tells from a timeout read as tenths or ms (no slow machine can make it run shorter).
  const endless: TuningWorkload = { ...SMALL, seconds: 1000 };
  const w = new TrialWorker();
  try {
    for (
      const time of [
        () => timeInFreshProcess({}, endless, 1.5),
        () => w.time({}, endless, 1.5),
      ]
    ) {
      const t0 = performance.now();
      await assertRejects(time, Error, "killed after 1.5 s (--timeout)");
      const ran = performance.now() - t0;
      assert(ran >= 1490, `killed after ${ran} ms`);
    }
  } finally {
    await w.close();
  }
});

Deno.test("a crashed child's message is Deno's error line, without its colours, the caret under the source line or a Rust backtrace", async () => {
  // What Deno prints for an uncaught error and for a module it cannot load, run as trials are
  // (stderr piped, colours on, RUST_BACKTRACE=1).
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/throws.ts`,
      'function f() {\n  throw new Error("boom");\n}\nf();\n',
    );
    await Deno.writeTextFile(`${dir}/missing.ts`, 'import "./nope.ts";\n');
    const said: string[] = [];
    for (const f of ["throws.ts", "missing.ts"]) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-lock", `${dir}/${f}`],
        env: { RUST_BACKTRACE: "1" },
        stderr: "piped",
      }).output();
      assert(!out.success);
      said.push(lastError(new TextDecoder().decode(out.stderr).split("\n")));
    }
    assertEquals(said, [
      "Uncaught (in promise) Error: boom",
      `Module not found "file://${dir}/nope.ts".`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const coloured = "\x1b[0m\x1b[1m\x1b[31merror\x1b[0m: Uncaught Error: boom";
  assertEquals(
    lastError([coloured, "  throw e;", "\x1b[0m\x1b[31m    ^\x1b[0m"]),
    "Uncaught Error: boom",
  );
  // Without an error line: the last line that is none of those.
  assertEquals(
    lastError(["out of memory", "    at x (y.ts:1:1)", "  ^^^", "Stack backtrace:"]),
    "out of memory",
  );
  assertEquals(lastError(["", "   0: <unknown>"]), "no message");
});
