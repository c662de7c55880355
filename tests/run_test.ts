import { assertEquals } from "./_assert.ts";
import { SERIAL_FILES, suiteRuns } from "./_serial.ts";

const root = new URL("../", import.meta.url);

/** Every .ts file under `dir` (a path from the repository root). */
async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(new URL(dir, root))) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await tsFiles(path));
    else if (e.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

Deno.test("deno task test runs alone every file that changes the process's environment or directory, and the rest two at a time", async () => {
  // Written apart so that this file does not match itself.
  const changes = new RegExp(["Deno\\.env\\.(set|delete)", "Deno\\.chdir"].join("|") + "\\(");
  const files = [...await tsFiles("lib"), ...await tsFiles("tests"), "mod.ts"];
  const found: string[] = [];
  for (const f of files) {
    if (changes.test(await Deno.readTextFile(new URL(f, root)))) found.push(f);
  }
  assertEquals(found.sort(), [...SERIAL_FILES].sort());
  const [parallel, serial] = suiteRuns(["a.xml", "b.xml"], ["--filter", "x"]);
  assertEquals(parallel.slice(-7), [
    `--ignore=${SERIAL_FILES.join(",")}`,
    "--junit-path=a.xml",
    "mod.ts",
    "lib/",
    "tests/",
    "--filter",
    "x",
  ]);
  assertEquals(parallel.includes("--parallel"), true);
  assertEquals(serial.includes("--parallel"), false);
  assertEquals(serial.slice(-SERIAL_FILES.length - 3), [
    "--junit-path=b.xml",
    ...SERIAL_FILES,
    "--filter",
    "x",
  ]);
});
