import { assertEquals, assertRejects } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import { pipelined } from "../../lib/util/pipeline.ts";
import { seisdecTrainer } from "../../lib/bench/seisdec_timing.ts";

/** A queue that runs one step after another, like a GPU queue. */
function serialQueue() {
  let tail: Promise<unknown> = Promise.resolve();
  const log: string[] = [];
  const run = <T>(name: string, v: T, fail = false): Promise<T> => {
    const p = tail.then(async () => {
      await new Promise((r) => setTimeout(r, 1));
      log.push(`done ${name}`);
      if (fail) throw new Error(`step ${name} failed`);
      return v;
    });
    tail = p.catch(() => {});
    return p;
  };
  return { run, log };
}

Deno.test("pipelined issues step i + 1 before taking step i, and takes every result in order", async () => {
  const q = serialQueue();
  const events: string[] = [];
  await pipelined(4, (i) => {
    events.push(`issue ${i}`);
    return q.run(String(i), i * i);
  }, (v, i) => {
    events.push(`take ${i}=${v}`);
  });
  assertEquals(events, [
    "issue 0",
    "issue 1",
    "take 0=0",
    "issue 2",
    "take 1=1",
    "issue 3",
    "take 2=4",
    "take 3=9",
  ]);
  assertEquals(q.log, ["done 0", "done 1", "done 2", "done 3"]);
});

Deno.test("pipelined runs nothing for zero steps and one step without overlap", async () => {
  const events: string[] = [];
  await pipelined(0, () => Promise.resolve(0), () => {
    events.push("take");
  });
  assertEquals(events, []);
  await pipelined(1, () => Promise.resolve(7), (v, i) => {
    events.push(`take ${i}=${v}`);
  });
  assertEquals(events, ["take 0=7"]);
});

Deno.test("pipelined stops at the first error of a take, and the step in flight does not leak a rejection", async () => {
  const q = serialQueue();
  const issued: number[] = [];
  await assertRejects(
    () =>
      pipelined(5, (i) => {
        issued.push(i);
        return q.run(String(i), i, i === 1); // step 1, in flight when take 0 throws, fails too
      }, (v) => {
        if (v === 0) throw new Error("loss became NaN at step 1");
      }),
    Error,
    "loss became NaN at step 1",
  );
  assertEquals(issued, [0, 1]);
  // Let step 1 fail on the queue: an unhandled rejection would fail this test.
  await new Promise((r) => setTimeout(r, 20));
  assertEquals(q.log, ["done 0", "done 1"]);
});

Deno.test("pipelined passes a failed step's error on", async () => {
  const q = serialQueue();
  await assertRejects(
    () => pipelined(3, (i) => q.run(String(i), i, i === 2), () => {}),
    Error,
    "step 2 failed",
  );
});

gpuTest(
  "training with one step in flight gives bit-identical losses to one step at a time",
  async () => {
    const run = async (inFlight: boolean): Promise<number[]> => {
      const tr = await seisdecTrainer("webgpu", 3, 2, 5);
      try {
        const losses: number[] = [];
        if (inFlight) {
          await pipelined(5, () => tr.step(), (v) => {
            losses.push(v);
          });
        } else {
          for (let i = 0; i < 5; i++) losses.push(await tr.step());
        }
        return losses;
      } finally {
        tr.dispose();
      }
    };
    const seq = await run(false);
    const pipe = await run(true);
    assertEquals(pipe, seq);
    // Adam moves the weights: each step's loss is a new value, so a step that read stale
    // weights or a reused buffer would show.
    assertEquals(new Set(seq).size, seq.length);
  },
);
