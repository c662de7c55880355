/**
 * What a program that imports `mod.ts` must grant: reading and writing its own files only.
 * The optional environment variables (SEISDEC_BACKEND, SEISDEC_TUNING_DIR, HOME, ...) count
 * as unset where `--allow-env` does not grant them, and a stored tuning that `--allow-read`
 * does not reach counts as none: run in another process with `--no-prompt`, where anything
 * else throws.
 *
 * @module
 */
import { join } from "node:path";
import { assertEquals } from "./_assert.ts";

const root = new URL("../", import.meta.url);

const SCRIPT = (work: string) => `
import * as m from ${JSON.stringify(new URL("mod.ts", root).href)};
import { defaultBackend } from ${JSON.stringify(new URL("lib/backend.ts", root).href)};
import { deviceOf } from ${JSON.stringify(new URL("lib/gpu/device.ts", root).href)};
const tunings = Deno.args[0];
const out = {
  backend: defaultBackend(),
  tuningDir: m.tuningDir(),
  stored: (await m.readStoredTuning("Some GPU", tunings)) !== null,
  // SEISDEC_DEFAULT_LIMITS=1 asks for no limits; unread, the adapter's own are asked for.
  limits: Object.keys((await deviceOf({
    limits: { maxBufferSize: 1024 },
    requestDevice: (d) => Promise.resolve(d),
  })).requiredLimits ?? {}),
  epochs: 0,
};
const ds = new m.MemoryDataset(Float32Array.from({ length: 4 * 64 }, (_, i) => i % 7), [1, 8, 8]);
const dir = ${JSON.stringify(join(work, "model"))};
out.epochs = (await m.pretrain(ds, dir, { ...m.PRETRAIN_DEFAULTS, epochs: 1, batchSize: 2, latentDim: 2 },
  { device: "cpu" })).length;
console.log(JSON.stringify(out));
`;

async function run(allowEnv: boolean, readTunings = false) {
  const work = await Deno.makeTempDir({ prefix: "seisdec-perm-" });
  const tunings = await Deno.makeTempDir({ prefix: "seisdec-perm-tunings-" });
  try {
    await Deno.writeTextFile(join(work, "main.ts"), SCRIPT(work));
    await Deno.writeTextFile(
      join(
        tunings,
        `${(await import("../lib/gpu/tuning_store.ts")).tuningFileStem("Some GPU")}.json`,
      ),
      JSON.stringify({ format: "seisdec-tuning/1", adapter: "Some GPU", tuning: { inFlight: 2 } }),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--quiet",
        // No config, no lockfile: as a program outside this repository imports it.
        "--no-config",
        "--no-lock",
        `--allow-read=${new URL(".", root).pathname},${work}${readTunings ? `,${tunings}` : ""}`,
        `--allow-write=${work}`,
        ...(allowEnv ? ["--allow-env"] : []),
        join(work, "main.ts"),
        tunings,
      ],
      cwd: new URL(".", root).pathname,
      env: {
        SEISDEC_BACKEND: "cpu",
        SEISDEC_TUNING_DIR: tunings,
        SEISDEC_DEFAULT_LIMITS: "1",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, `the script failed:\n${stderr}`);
    return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  } finally {
    await Deno.remove(work, { recursive: true });
    await Deno.remove(tunings, { recursive: true });
  }
}

Deno.test("mod.ts runs without --allow-env: its variables count as unset, a stored tuning outside --allow-read as none", async () => {
  assertEquals(await run(false), {
    backend: "webgpu",
    tuningDir: null,
    stored: false,
    limits: ["maxBufferSize"],
    epochs: 1,
  });
});

Deno.test("with --allow-env the variables are read when used, not at import; with --allow-read the stored tuning is read", async () => {
  const r = await run(true);
  assertEquals([r.backend, r.limits, r.stored], ["cpu", [], false]);
  assertEquals(r.tuningDir !== null, true);
  // Granted, the same file is the stored tuning.
  assertEquals((await run(true, true)).stored, true);
});
