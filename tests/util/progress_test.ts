import { assertEquals } from "../_assert.ts";

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
