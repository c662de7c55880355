import { assertEquals } from "./_assert.ts";
import { verdict } from "./_verdict.ts";

const report = (tests: number, failures: number, errors = 0) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="deno test" tests="${tests}" ` +
  `failures="${failures}" errors="${errors}" time="1.0">\n</testsuites>\n`;
const HEAP = "corrupted size vs. prev_size in fastbins\n";

Deno.test("deno task test: an abort at exit after a suite that passed whole is a pass; anything else keeps the child's status", async () => {
  // A real process that dies of SIGABRT after printing glibc's message.
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", `console.error(${JSON.stringify(HEAP.trim())}); Deno.kill(Deno.pid, "SIGABRT")`],
    stdout: "null",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  const abort: Deno.CommandStatus = { success: out.success, code: out.code, signal: out.signal };
  assertEquals([abort.success, abort.signal === "SIGABRT" || abort.code === 134], [false, true]);
  const errors: string[] = [];
  const { error } = console;
  console.error = (...a: unknown[]) => errors.push(a.join(" "));
  try {
    assertEquals(verdict(abort, report(902, 0), stderr), 0);
    assertEquals(errors.length, 1);
    assertEquals(errors[0].startsWith("test: all 902 tests passed; the test process then"), true);
    // Not a pass: a failed test, an error, no report (aborted before the suite ended), no
    // tests, another signal, no heap message.
    assertEquals(verdict(abort, report(902, 1), stderr), abort.code);
    assertEquals(verdict(abort, report(902, 0, 1), stderr), abort.code);
    assertEquals(verdict(abort, "", stderr), abort.code);
    assertEquals(verdict(abort, report(0, 0), stderr), abort.code);
    assertEquals(
      verdict({ success: false, code: 137, signal: "SIGKILL" }, report(9, 0), HEAP),
      137,
    );
    assertEquals(verdict(abort, report(902, 0), "error: Test failed\n"), abort.code);
    assertEquals(verdict({ success: false, code: 1, signal: null }, report(902, 0), HEAP), 1);
    assertEquals(errors.length, 1);
  } finally {
    console.error = error;
  }
  assertEquals(verdict({ success: true, code: 0, signal: null }, "", ""), 0);
});
