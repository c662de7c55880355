import { fmtTime, Progress, type ProgressOutput } from "../../lib/util/progress.ts";
import { assert, assertEquals } from "../_assert.ts";

Deno.test("Progress.log prints a message line between bar lines, without blank lines, off a terminal", async () => {
  // stderr is a pipe here, so the bar prints one line per 10 % and log() one line of its own.
  const url = new URL("../../lib/util/progress.ts", import.meta.url).href;
  const code = `import { Progress } from "${url}";
const bar = new Progress("finetune", 4);
bar.tick(1, "KL 1");
bar.tick(1, "KL 2");
bar.log("check @2: labels changed 1.00 %");
bar.tick(2, "KL 3");
bar.done();
new Progress("quiet", 2, { quiet: true }).log("not shown");`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const lines = new TextDecoder().decode(out.stderr).trimEnd().split("\n");
  assertEquals(lines.filter((l) => l.trim() === "").length, 0, lines.join("\n"));
  assertEquals(lines.filter((l) => l.startsWith("finetune ")).length, 4);
  assertEquals(lines[2], "check @2: labels changed 1.00 %");
  assertEquals(lines.some((l) => l.includes("not shown")), false);
});

/** An output that records what is written, as a terminal or as a pipe. */
function recorder(tty: boolean): ProgressOutput & { text: () => string } {
  const chunks: Uint8Array[] = [];
  return {
    writeSync(p: Uint8Array) {
      chunks.push(p.slice());
      return p.length;
    },
    isTerminal: () => tty,
    text: () => chunks.map((c) => new TextDecoder().decode(c)).join(""),
  };
}

Deno.test("Progress shows no rate or ETA until steps after the first have been timed", () => {
  // 10 s of start-up (kernel compilation) in the first step, then 0.2 s per step.
  let t = 0;
  const out = recorder(false);
  const bar = new Progress("finetune", 10, { now: () => t, output: out });
  t = 10_000;
  bar.tick(1, "KL 1");
  for (let i = 2; i <= 10; i++) {
    t += 200;
    bar.tick(1, `KL ${i}`);
  }
  bar.done();
  const lines = out.text().trimEnd().split("\n");
  assertEquals(lines.length, 11, lines.join("\n"));
  // Step 1 and step 2 (one step of 0.2 s after the first): nothing to estimate from yet.
  for (const l of lines.slice(0, 2)) assert(!l.includes("/s") && !l.includes("ETA"), l);
  assert(lines[0].endsWith(" 1/10 KL 1"), lines[0]);
  // From step 3: 5 steps/s, measured after the first step; 7 steps left take 1.4 s.
  assert(lines[2].endsWith(" 3/10 5.00/s ETA 1.4s KL 3"), lines[2]);
  assert(lines[9].endsWith(" 10/10 5.00/s ETA 0.0s KL 10"), lines[9]);
  // The final line is the whole run's average, start-up included: 10 steps in 11.8 s.
  assert(lines[10].endsWith(" 10/10 0.85/s 11.8s total KL 10"), lines[10]);
});

Deno.test("Progress shows a rate after one slow step past the first, and none for a bar made just before its first tick", () => {
  let t = 0;
  const out = recorder(false);
  const bar = new Progress("pretrain", 5, { now: () => t, output: out });
  t = 0.02; // made right before the first tick: the old figure was 50,000/s
  bar.tick();
  t += 4000;
  bar.tick();
  const lines = out.text().trimEnd().split("\n");
  assertEquals(lines.length, 2, lines.join("\n"));
  assert(!lines[0].includes("/s"), lines[0]);
  assert(lines[1].endsWith(" 2/5 0.25/s ETA 12.0s"), lines[1]);
});

Deno.test("Progress redraws in place at most every 100 ms on a terminal", () => {
  let t = 0;
  const out = recorder(true);
  const bar = new Progress("extract", 1000, { now: () => t, output: out });
  for (let i = 0; i < 1000; i++) {
    t += 1;
    bar.tick();
  }
  bar.done();
  const draws = out.text().split("\r\x1b[K").filter(Boolean);
  // The first tick, then one draw per 100 ms of the 1 s after it, then the final line.
  assertEquals(draws.length, 1 + 9 + 1, draws.join("|"));
  assert(draws.at(-1)!.endsWith(" 1000/1000 1000/s 1.0s total\n"), draws.at(-1));
  assert(draws.at(-2)!.includes(" 1000/s ETA "), draws.at(-2));
});

Deno.test("Progress stops writing to an output that is a closed pipe, and the work goes on", () => {
  let writes = 0;
  const out: ProgressOutput = {
    writeSync(p) {
      writes++;
      if (writes > 1) throw new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
      return p.length;
    },
    isTerminal: () => false,
  };
  const bar = new Progress("finetune", 10, { output: out });
  for (let i = 0; i < 10; i++) bar.tick();
  bar.log("check @10");
  bar.done();
  // One line written, one refused; nothing tried after that.
  assertEquals(writes, 2);
  // Any other failure to write is not swallowed.
  const failing = new Progress("x", 1, {
    output: {
      writeSync: () => {
        throw new Deno.errors.PermissionDenied("no");
      },
      isTerminal: () => false,
    },
  });
  let thrown = false;
  try {
    failing.tick();
  } catch (e) {
    thrown = e instanceof Deno.errors.PermissionDenied;
  }
  assert(thrown);
});

Deno.test("a run whose stdout and stderr readers go away (cmd 2>&1 | head) finishes its work", async () => {
  // The child draws a bar on stderr and prints on stdout; after its first line the parent
  // closes both pipes, then lets the child go on. It must finish and exit 0.
  const url = new URL("../../lib/util/progress.ts", import.meta.url).href;
  const dir = await Deno.makeTempDir();
  const done = `${dir}/done`;
  const code = `import { Progress } from "${url}";
const bar = new Progress("finetune", 20);
bar.tick(1, "KL 1");
console.log("started");
// Wait until the parent has closed our stdout and stderr.
await Deno.stdin.readable.pipeTo(new WritableStream());
for (let i = 2; i <= 20; i++) {
  bar.tick(1, "KL " + i);
  if (i % 5 === 0) bar.log("check @" + i);
  console.log("step", i);
  console.error("note", i);
}
bar.done();
Deno.writeTextFileSync(${JSON.stringify(done)}, "finished");`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", code],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const err = child.stderr.getReader(), out = child.stdout.getReader();
  const first = await err.read();
  assert(new TextDecoder().decode(first.value).startsWith("finetune "));
  assertEquals(new TextDecoder().decode((await out.read()).value), "started\n");
  // Closing the read ends: every later write of the child meets a broken pipe.
  await err.cancel();
  await out.cancel();
  await child.stdin.close();
  const status = await child.status;
  assertEquals(status.code, 0);
  assertEquals(await Deno.readTextFile(done), "finished");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Progress.status shows how far a long pass inside a step has come without counting a step", () => {
  // finetune's label check: a pass over the whole dataset between two training batches.
  let t = 0;
  const out = recorder(true);
  const bar = new Progress("finetune", 4, { now: () => t, output: out });
  bar.tick(1, "KL 1");
  t += 500;
  bar.status("labels 256/20000");
  const last = out.text().split("\r\x1b[K").at(-1)!;
  assert(last.includes(" 1/4") && last.endsWith(" labels 256/20000"), JSON.stringify(last));
  // Off a terminal it prints nothing new within the same 10 % (logs stay short).
  const pipe = recorder(false);
  const quiet = new Progress("finetune", 4, { now: () => t, output: pipe });
  quiet.tick(1, "KL 1");
  const before = pipe.text();
  quiet.status("labels 256/20000");
  assertEquals(pipe.text(), before);
  // A status is not a step: the rate and the count are the training batches'.
  t += 500;
  bar.tick(1, "KL 2");
  bar.done();
  const fin = out.text().split("\r\x1b[K").at(-1)!;
  assert(fin.includes(" 2/4 ") && fin.endsWith("KL 2\n"), JSON.stringify(fin));
});

Deno.test("fmtTime: seconds to a tenth below a minute, then minutes and seconds, then hours and minutes", () => {
  const cases: [number, string][] = [
    [59.94, "59.9s"],
    [59.95, "1m00s"],
    [59.96, "1m00s"],
    [60, "1m00s"],
    [3599, "59m59s"],
    [3600, "1h00m"],
    [7384, "2h03m"],
    [Infinity, "?"],
  ];
  for (const [s, text] of cases) assertEquals(fmtTime(s), text, String(s));
});

Deno.test("Progress: the bar's cells are rounded, a rate of 10/s is whole, and a total of 0 counts as 1", () => {
  let t = 0;
  const out = recorder(false);
  const bar = new Progress("x", 10, { now: () => t, output: out });
  t = 1000;
  bar.tick();
  t += 100;
  bar.tick();
  t += 100;
  bar.tick(); // 2 steps in 0.2 s after the first: 10/s, 7 left take 0.7 s
  const lines = out.text().trimEnd().split("\n");
  assertEquals(lines[2], `x ${"█".repeat(7)}${"░".repeat(17)} 3/10 10/s ETA 0.7s`);
  // 1 of 48: half a cell of 24, rounded up.
  const half = recorder(false);
  new Progress("y", 48, { now: () => 0, output: half }).tick();
  assertEquals(half.text(), `y █${"░".repeat(23)} 1/48\n`);
  const none = recorder(false);
  new Progress("z", 0, { now: () => 0, output: none }).done();
  assert(none.text().startsWith(`z ${"░".repeat(24)} 0/1 `), none.text());
});

Deno.test("Progress on a terminal redraws the bar at once after a logged line, which wrote over it", () => {
  let t = 0;
  const out = recorder(true);
  const bar = new Progress("extract", 10, { now: () => t, output: out });
  bar.tick();
  t = 10;
  bar.log("note: a sample failed");
  t = 20; // within 100 ms of the last draw, but the bar's line now holds the message
  bar.tick();
  assertEquals(out.text().split("\r\x1b[K").filter(Boolean).map((d) => d.split(" ")[0]), [
    "extract",
    "note:",
    "extract",
  ]);
});
