/**
 * Stored tunings (lib/gpu/tuning_store.ts): the file per adapter, what is refused with the
 * file's name, and that WebGPU starts from the stored tuning (in a child process, since the
 * tuning is fixed per process).
 */
import { basename, join } from "node:path";
import {
  parseTuning,
  readStoredTuning,
  removeStoredTuning,
  type StoredTuning,
  storedTuningPath,
  TUNING_FORMAT,
  tuningDir,
  tuningFileStem,
  writeStoredTuning,
} from "../../lib/gpu/tuning_store.ts";
import { adapterLabel } from "../../lib/gpu/device.ts";
import { UserError } from "../../lib/util/errors.ts";
import { assert, assertEquals } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";

const ADAPTER = "Some GPU 80GB [vulkan]";

function entry(adapter = ADAPTER): StoredTuning {
  return {
    format: TUNING_FORMAT,
    adapter,
    deno: Deno.version.deno,
    date: "2026-12-05T00:00:00.000Z",
    tuning: { inFlight: 3, matmul: "blocked" },
    workload: { inputShape: [1, 87, 67], latentDim: 9, batches: [64] },
    speedup: 1.2,
    trials: [{ tuning: {}, trainMs: [10], inferMs: 5, speed: 1 }],
  };
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert(e instanceof UserError, `a UserError, not ${e}`);
    return e.message;
  }
  throw new Error("expected a refusal");
}

Deno.test("tuning store: writes one file per adapter and reads it back", async () => {
  const dir = await Deno.makeTempDir();
  const sub = join(dir, "a", "b");
  assertEquals(await readStoredTuning(ADAPTER, sub), null, "no directory yet: none stored");
  const path = await writeStoredTuning(entry(), sub);
  assert(/\/some-gpu-80gb-vulkan-[0-9a-f]{8}\.json$/.test(path), path);
  assertEquals(join(sub, basename(path)), path);
  assertEquals(storedTuningPath(ADAPTER, sub), path);
  const got = await readStoredTuning(ADAPTER, sub);
  assertEquals(got?.path, path);
  assertEquals(got?.stored, entry());
  // Another adapter whose name makes the same file name does not take it.
  assertEquals(await readStoredTuning("Some GPU 80GB (vulkan)", sub), null);
  assertEquals(await removeStoredTuning(ADAPTER, sub), path);
  assertEquals(await removeStoredTuning(ADAPTER, sub), null);
  assertEquals(await readStoredTuning(ADAPTER, sub), null);
  // Off: nothing read, nothing written.
  assertEquals(storedTuningPath(ADAPTER, null), null);
  assertEquals(await readStoredTuning(ADAPTER, null), null);
  assert((await refusal(writeStoredTuning(entry(), null))).includes("SEISDEC_TUNING_DIR"));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("tuning store: a broken file is refused with its name and what is wrong", async () => {
  const dir = await Deno.makeTempDir();
  const path = storedTuningPath(ADAPTER, dir)!;
  const cases: [string, string][] = [
    ["{not json", "not JSON"],
    ['{"format": "something-else"}', `"format": "${TUNING_FORMAT}"`],
    [
      JSON.stringify({ ...entry(), tuning: { convTile: "8" } }),
      'field "convTile" must be a number',
    ],
    [JSON.stringify({ ...entry(), tuning: { tileSize: 8 } }), 'unknown field "tileSize"'],
    [JSON.stringify({ ...entry(), tuning: [1] }), "must be a JSON object"],
    // A file without its tuning is no stored tuning either.
    [JSON.stringify({ ...entry(), tuning: undefined }), "must be a JSON object"],
  ];
  for (const [text, want] of cases) {
    await Deno.writeTextFile(path, text);
    const msg = await refusal(readStoredTuning(ADAPTER, dir));
    assert(msg.includes(path) && msg.includes(want) && msg.includes("tune --reset"), msg);
  }
  await Deno.remove(dir, { recursive: true });
});

/** Runs `cli.ts info --json` in a child process with this environment. */
async function infoIn(env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../cli.ts", import.meta.url).pathname, "info", "--json"],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, out: dec.decode(out.stdout), err: dec.decode(out.stderr) };
}

gpuTest(
  "tuning store: WebGPU starts from the adapter's stored tuning, under SEISDEC_TUNING",
  async () => {
    const dir = await Deno.makeTempDir();
    const first = await infoIn({ SEISDEC_TUNING_DIR: dir });
    assertEquals(first.code, 0, first.err);
    const info = JSON.parse(first.out);
    assertEquals(info.tuning.stored, null);
    const adapter = adapterLabel(info);
    const path = await writeStoredTuning(
      { ...entry(adapter), tuning: { inFlight: 3, convTile: 4 } },
      dir,
    );
    const r = await infoIn({ SEISDEC_TUNING_DIR: dir, SEISDEC_TUNING: '{"convTile": 16}' });
    assertEquals(r.code, 0, r.err);
    const t = JSON.parse(r.out).tuning;
    assertEquals(t.active.inFlight, 3, "the stored field");
    assertEquals(t.active.convTile, 16, "SEISDEC_TUNING over the stored field");
    assertEquals(t.active.matmul, info.tuning.active.matmul, "the default's other fields");
    assertEquals(t.stored.path, path);
    assertEquals(t.stored.fields, { inFlight: 3, convTile: 4 });
    assertEquals(t.env, { convTile: 16 });
    // SEISDEC_TUNING_DIR=none: the default.
    const none = JSON.parse((await infoIn({ SEISDEC_TUNING_DIR: "none" })).out).tuning;
    assertEquals(none.stored, null);
    assertEquals(none.active, info.tuning.active);
    // A broken stored file stops the run with its name (exit 2, a user error).
    await Deno.writeTextFile(path, '{"format": "seisdec-tuning/1", "adapter": "x"');
    const bad = await infoIn({ SEISDEC_TUNING_DIR: dir });
    assertEquals(bad.code, 2, bad.err);
    assert(bad.err.includes(path) && bad.err.includes("not JSON"), bad.err);
    await Deno.remove(dir, { recursive: true });
  },
);

Deno.test("tuning store: adapters whose names differ only past the slug's cut keep files of their own", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // The same first 60 slug characters; then the driver versions differ.
    const a =
      "NVIDIA Graphics Device Super Long Marketing Name Edition (driver 550.54.15) [vulkan]";
    const b =
      "NVIDIA Graphics Device Super Long Marketing Name Edition (driver 555.42.02) [vulkan]";
    // Or only in case and punctuation, which the slug folds.
    const c = "Some GPU 80GB (vulkan)";
    for (const [x, y] of [[a, b], [ADAPTER, c]]) {
      assert(storedTuningPath(x, dir) !== storedTuningPath(y, dir), `${x} / ${y}`);
      const px = await writeStoredTuning(entry(x), dir);
      const py = await writeStoredTuning(entry(y), dir);
      assertEquals((await readStoredTuning(x, dir))?.path, px, "the first survives the second");
      assertEquals((await readStoredTuning(y, dir))?.stored.adapter, y);
      assertEquals(await removeStoredTuning(x, dir), px);
      assertEquals((await readStoredTuning(y, dir))?.path, py, "removing one keeps the other");
    }
    assert(tuningFileStem(a).length <= 60 + 9, tuningFileStem(a));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tuning store: a file of the slug-only naming is still read, and a write replaces it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const legacy = join(dir, "some-gpu-80gb-vulkan.json");
    await Deno.writeTextFile(legacy, JSON.stringify(entry()));
    assertEquals((await readStoredTuning(ADAPTER, dir))?.path, legacy);
    // Another adapter of the same slug neither reads nor removes it.
    const other = "Some GPU 80GB (vulkan)";
    assertEquals(await readStoredTuning(other, dir), null);
    await writeStoredTuning(entry(other), dir);
    assertEquals((await readStoredTuning(ADAPTER, dir))?.path, legacy);
    // This adapter's write moves it to the new name.
    const path = await writeStoredTuning(entry(), dir);
    assertEquals((await readStoredTuning(ADAPTER, dir))?.path, path);
    assertEquals(await Deno.stat(legacy).catch(() => null), null, "the old file is gone");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tuning store: the hashed file wins over a slug-only one; SEISDEC_TUNING_DIR=none turns storing off, else XDG_CACHE_HOME places it", async () => {
  const dir = await Deno.makeTempDir();
  const saved = ["SEISDEC_TUNING_DIR", "XDG_CACHE_HOME"].map((k) => [k, Deno.env.get(k)] as const);
  try {
    // An older seisdec wrote the slug-only file after this one wrote its own.
    const path = await writeStoredTuning(entry(), dir);
    await Deno.writeTextFile(
      join(dir, "some-gpu-80gb-vulkan.json"),
      JSON.stringify({ ...entry(), tuning: { inFlight: 1 } }),
    );
    const got = await readStoredTuning(ADAPTER, dir);
    assertEquals([got?.path, got?.stored.tuning.inFlight], [path, 3]);
    Deno.env.set("SEISDEC_TUNING_DIR", "none");
    assertEquals([tuningDir(), storedTuningPath(ADAPTER)], [null, null]);
    assertEquals(await readStoredTuning(ADAPTER), null);
    Deno.env.delete("SEISDEC_TUNING_DIR");
    Deno.env.set("XDG_CACHE_HOME", dir);
    assertEquals(tuningDir(), join(dir, "seisdec", "tunings"));
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tuning store: --reset removes a file of the slug-only naming, and says which", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const legacy = join(dir, "some-gpu-80gb-vulkan.json");
    await Deno.writeTextFile(legacy, JSON.stringify(entry()));
    assertEquals(await removeStoredTuning(ADAPTER, dir), legacy);
    assertEquals(await Deno.stat(legacy).catch(() => null), null, "the old file is gone");
    assertEquals(await readStoredTuning(ADAPTER, dir), null);
    assertEquals(await removeStoredTuning(ADAPTER, dir), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tuning store: an empty SEISDEC_TUNING_DIR counts as unset; without XDG_CACHE_HOME, ~/.cache holds it", () => {
  const saved = ["SEISDEC_TUNING_DIR", "XDG_CACHE_HOME", "HOME"].map((k) =>
    [k, Deno.env.get(k)] as const
  );
  try {
    Deno.env.set("SEISDEC_TUNING_DIR", "");
    Deno.env.set("XDG_CACHE_HOME", "/cache");
    assertEquals(tuningDir(), join("/cache", "seisdec", "tunings"));
    if (Deno.build.os !== "windows") {
      Deno.env.delete("XDG_CACHE_HOME");
      Deno.env.set("HOME", "/home/someone");
      assertEquals(tuningDir(), join("/home/someone", ".cache", "seisdec", "tunings"));
    }
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
});

Deno.test("parseTuning: a weight-gradient tile given alone counts its co tile at its own value", () => {
  // weightGradCoTile follows weightGradTile: 16 alone is 16 × 16 quads.
  let msg = "";
  try {
    parseTuning('{"weightGradTile": 16}', "x");
  } catch (e) {
    msg = (e as Error).message;
  }
  assertEquals(msg, "x: weightGradTile × weightGradCoTile must hold at most 64: found 16 × 16");
  assertEquals(parseTuning('{"weightGradTile": 8}', "x"), { weightGradTile: 8 });
});
