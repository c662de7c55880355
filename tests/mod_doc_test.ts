/**
 * `deno doc --lint mod.ts`: every public symbol documented and every type a public signature
 * names exported (the config types are written out, checked against their zod schemas at
 * compile time in lib/io/extract_config.ts and lib/cluster/config.ts).
 *
 * @module
 */
import { assert } from "./_assert.ts";

Deno.test("deno doc --lint mod.ts finds no error", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", "mod.ts"],
    cwd: new URL("../", import.meta.url),
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  assert(out.success, `deno doc --lint mod.ts failed:\n${text.slice(0, 4000)}`);
});
