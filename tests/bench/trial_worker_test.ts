/**
 * `cli.ts tune`'s trial worker (lib/bench/trial_worker.ts): one child process times several
 * tunings, each in force for its trial, and is replaced after a failed or timed-out trial.
 */
import type { TuningWorkload } from "../../lib/bench/seisdec_timing.ts";
import { timeInFreshProcess, TrialWorker } from "../../lib/bench/trial_worker.ts";
import { adapterName } from "../../lib/gpu/device.ts";
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
        'unknown field "convTiles"',
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
