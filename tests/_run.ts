/**
 * `deno task test`: runs the suite (`deno test -A --lock=bench/deno.lock --doc --permit-no-files
 * mod.ts lib/ tests/`, with any further arguments) in two child processes, one after the other,
 * and ends with the first status that is not 0, with one exception.
 *
 * The first child runs the test files two at a time (`--parallel`, `DENO_JOBS` 2 unless set): on
 * llvmpipe much of a file's time is one JavaScript thread (loading modules, CPU references, CLI
 * child processes), so a second file keeps the second core busy. The second runs the few files
 * that change the process's environment or directory (`tests/_serial.ts`) one at a time.
 *
 * In about 1 of 20 full runs on llvmpipe, glibc aborts the test process after the suite has
 * finished and printed its summary: `corrupted size vs. prev_size in fastbins`, then SIGABRT
 * (status 134) while the process exits (README, "Limitations": the cause, in the runtime's or
 * the driver's teardown, is not found). When the child died of SIGABRT, its JUnit report
 * (written when the suite ends) says that every test ran and none failed, and its stderr holds
 * glibc's heap message, this prints what happened and counts that child's run as passed. Any other
 * failure, or an abort before the report, keeps the child's status.
 *
 * @module
 */

import { suiteRuns } from "./_serial.ts";
import { verdict } from "./_verdict.ts";

/** Runs `deno test` with `args`; its status by `verdict`, and its JUnit report. */
async function runSuite(args: string[], report: string): Promise<[number, string]> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    env: { DENO_JOBS: Deno.env.get("DENO_JOBS") || "2" },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  // stderr goes on to ours as it comes; its last 16 KiB are kept to look for glibc's message.
  let tail = new Uint8Array(0);
  for await (const chunk of child.stderr) {
    let off = 0;
    while (off < chunk.length) off += Deno.stderr.writeSync(chunk.subarray(off));
    const joined = new Uint8Array(tail.length + chunk.length);
    joined.set(tail);
    joined.set(chunk, tail.length);
    tail = joined.subarray(Math.max(0, joined.length - 16384));
  }
  const status = await child.status;
  const xml = await Deno.readTextFile(report).catch(() => "");
  await Deno.remove(report).catch(() => {});
  return [verdict(status, xml, new TextDecoder().decode(tail)), xml];
}

const reports: [string, string] = [
  await Deno.makeTempFile({ prefix: "seisdec-junit-", suffix: ".xml" }),
  await Deno.makeTempFile({ prefix: "seisdec-junit-", suffix: ".xml" }),
];
const runs = suiteRuns(reports, Deno.args);
const results: [number, string][] = [];
for (let i = 0; i < runs.length; i++) results.push(await runSuite(runs[i], reports[i]));
// One line for the whole suite, after each child's summary (JUnit lists tests left out by
// --filter as skipped, as it does ignored ones, so only failures are counted here).
const count = (xml: string, name: string) =>
  Number(new RegExp(`<testsuites\\b[^>]*\\b${name}="(\\d+)"`).exec(xml)?.[1] ?? 0);
const failed = results.reduce((s, [, x]) => s + count(x, "failures") + count(x, "errors"), 0);
console.log(`test: both runs ended, ${failed} failed (each run's summary is above)`);
Deno.exit(results.find(([code]) => code !== 0)?.[0] ?? 0);
