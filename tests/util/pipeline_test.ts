import { assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import { InFlight, pipelined } from "../../lib/util/pipeline.ts";
import { seisdecTrainer } from "../../lib/bench/seisdec_timing.ts";
import { gpuRuntime } from "../../lib/tensor/backends.ts";

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
  "training with 1, 4 or 16 steps in flight gives bit-identical losses to one step at a time",
  async () => {
    const run = async (depth: number): Promise<number[]> => {
      const tr = await seisdecTrainer("webgpu", 3, 2, 5);
      try {
        const losses: number[] = [];
        if (depth > 0) {
          await pipelined(20, () => tr.step(), (v) => {
            losses.push(v);
          }, depth);
        } else {
          for (let i = 0; i < 20; i++) losses.push(await tr.step());
        }
        return losses;
      } finally {
        tr.dispose();
      }
    };
    const seq = await run(0);
    assertEquals(await run(1), seq, "one step in flight");
    assertEquals(await run(4), seq, "four steps in flight");
    // The GPU tuning's way: read-backs wait from a later task, 16 steps in flight.
    const rt = gpuRuntime()!;
    rt.deferMap = true;
    try {
      assertEquals(await run(16), seq, "sixteen steps in flight, deferred read-backs");
    } finally {
      rt.deferMap = false;
    }
    // Adam moves the weights: each step's loss is a new value, so a step that read stale
    // weights or a reused buffer would show.
    assertEquals(new Set(seq).size, seq.length);
  },
);

Deno.test("pipelined with depth 3 keeps three steps in flight and takes every result in order", async () => {
  const q = serialQueue();
  const events: string[] = [];
  await pipelined(5, (i) => {
    events.push(`issue ${i}`);
    return q.run(String(i), 10 * i);
  }, (v, i) => {
    events.push(`take ${i}=${v}`);
  }, 3);
  assertEquals(events, [
    "issue 0",
    "issue 1",
    "issue 2",
    "issue 3",
    "take 0=0",
    "issue 4",
    "take 1=10",
    "take 2=20",
    "take 3=30",
    "take 4=40",
  ]);
});

Deno.test("InFlight with depth 2: a throwing take drops the later steps and settle then has nothing", async () => {
  const q = serialQueue();
  const f = new InFlight<number>(2);
  const taken: number[] = [];
  const take = (v: number) => {
    if (v === 1) throw new Error("stop at 1");
    taken.push(v);
  };
  await f.push(q.run("0", 0), take);
  await f.push(q.run("1", 1), take);
  await f.push(q.run("2", 2, true), take); // takes 0
  await assertRejects(() => f.push(q.run("3", 3), take), Error, "stop at 1");
  await f.settle();
  assertEquals(taken, [0]);
  // Step 2 fails on the queue after the run stopped: no unhandled rejection.
  await new Promise((r) => setTimeout(r, 20));
  assertThrows(() => new InFlight(0), RangeError, "depth must be an integer >= 1");
});

Deno.test("InFlight: a later step that rejects after an earlier take threw is no unhandled rejection", async () => {
  const unhandled: unknown[] = [];
  const note = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    unhandled.push(e.reason);
  };
  globalThis.addEventListener("unhandledrejection", note);
  try {
    const f = new InFlight<number>(2);
    let fail!: (e: Error) => void;
    const later = new Promise<number>((_, reject) => fail = reject);
    await f.push(Promise.resolve(0), () => {
      throw new Error("take 0 failed");
    });
    await f.push(later, () => {});
    await assertRejects(() => f.push(Promise.resolve(2), () => {}), Error, "take 0 failed");
    fail(new Error("step 1 failed"));
    await new Promise((r) => setTimeout(r, 20));
  } finally {
    globalThis.removeEventListener("unhandledrejection", note);
  }
  assertEquals(unhandled, []);
});

Deno.test("InFlight refuses a depth that is not a whole number (1.5, NaN): its queue would have no bound", () => {
  assertThrows(() => new InFlight(1.5), RangeError, "depth must be an integer >= 1: found 1.5");
  assertThrows(() => new InFlight(NaN), RangeError, "depth must be an integer >= 1: found NaN");
});
