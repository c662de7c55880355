/**
 * The design card's "import as a Deno module by URL": serves this checkout over
 * HTTP the way raw.githubusercontent.com does (every file `text/plain`), and
 * runs a script in another process, outside the repository and with
 * `--no-config` (so no import map or lockfile of ours can help), that imports
 * `mod.ts` by URL and runs synth → extract (its worker module also comes over
 * HTTP) → pretrain → init → applyModel on WebGPU, whose WGSL is then fetched
 * over HTTP too.
 *
 * @module
 */
import { assert, assertEquals } from "./_assert.ts";
import { gpuAvailable } from "./_gpu.ts";

const root = new URL("../", import.meta.url);

/**
 * Serves the checkout on an ephemeral port, under a path of its own per run; records every
 * path requested (without that prefix). The prefix makes every URL new to Deno's module cache:
 * an ephemeral port is reused sooner or later, and a cached module of an earlier checkout
 * served on the same port once came back (kernels.ts from before its conv2d took the `GM`
 * define, with today's WGSL): Deno 2.9.6 ignores `--reload=<prefix>` when the prefix ends in
 * "/" (`--reload=http://host:port/` reloads nothing, `--reload=http://host:port` reloads).
 */
function serveRepo(): { server: Deno.HttpServer; base: Promise<string>; requested: string[] } {
  const requested: string[] = [];
  const prefix = `/run-${crypto.randomUUID()}`;
  let resolve!: (s: string) => void;
  const base = new Promise<string>((r) => resolve = r);
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => resolve(`http://127.0.0.1:${port}${prefix}/`),
  }, async (req) => {
    const full = decodeURIComponent(new URL(req.url).pathname);
    if (!full.startsWith(`${prefix}/`)) return new Response("not found", { status: 404 });
    const path = full.slice(prefix.length);
    requested.push(path);
    if (path.split("/").includes("..")) return new Response("bad path", { status: 400 });
    try {
      const body = await Deno.readFile(new URL(`.${path}`, root));
      return new Response(body, { headers: { "content-type": "text/plain; charset=utf-8" } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return { server, base, requested };
}

const SCRIPT = (base: string, device: string) => `
import * as m from "${base}mod.ts";
const dir = await Deno.makeTempDir({ prefix: "seisdec-url-" });
try {
  await m.writeSynth(dir + "/synth", { perClass: 3, seed: 1 });
  const cfg = await m.readExtractConfig(dir + "/synth/extract.json");
  const ex = await m.runExtract(cfg, dir + "/ds", { quiet: true });
  const ds = await m.openDataset(dir + "/ds");
  await m.pretrain(ds, dir + "/model", { ...m.PRETRAIN_DEFAULTS, epochs: 1, batchSize: 5 },
    { device: "${device}", quiet: true });
  await m.initCentroids(dir + "/model", ds, { ...m.INIT_DEFAULTS, k: 3, nInit: 2 }, "${device}");
  const a = await m.applyModel(dir + "/model", ds, "${device}");
  console.log(JSON.stringify({
    ok: ex.ok, shape: ex.shape, labels: Array.from(a.labels ?? []),
    latentFinite: Array.from(a.latent).every(Number.isFinite), dim: a.latent.length / ex.ok,
  }));
} finally {
  await Deno.remove(dir, { recursive: true });
}
`;

async function runByUrl(device: "webgpu" | "cpu"): Promise<string[]> {
  const { server, base, requested } = serveRepo();
  const dir = await Deno.makeTempDir({ prefix: "seisdec-url-test-" });
  try {
    const url = await base;
    await Deno.writeTextFile(`${dir}/main.ts`, SCRIPT(url, device));
    const out = await new Deno.Command(Deno.execPath(), {
      // Without the trailing "/", which Deno's --reload would not match.
      args: [
        "run",
        "-A",
        "--no-config",
        "--quiet",
        `--reload=${url.replace(/\/$/, "")}`,
        "main.ts",
      ],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, `the script importing mod.ts by URL failed:\n${stderr}\n${stdout}`);
    const r = JSON.parse(stdout.trim().split("\n").at(-1)!);
    assertEquals(r.ok, 15, "all 15 synthetic samples extracted");
    assertEquals(r.shape, [15, 1, 87, 67]);
    assertEquals(r.labels.length, 15);
    assert(r.labels.every((l: number) => l >= 0 && l < 3), `labels in 0..2: ${r.labels}`);
    assertEquals(r.dim, 9);
    assert(r.latentFinite, "latent codes are finite");
    return requested;
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

// WebGPU where an adapter exists (under CI=true one must), else the CPU backend; the WGSL
// sources come over HTTP only in the first case.
Deno.test({
  name: `mod.ts imported by URL runs extract → pretrain → init → assign on ${
    gpuAvailable ? "WebGPU, WGSL over HTTP" : "the CPU backend"
  }`,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const requested = await runByUrl(gpuAvailable ? "webgpu" : "cpu");
    assert(requested.includes("/mod.ts"));
    assert(requested.includes("/lib/io/_extract_worker.ts"), "the extract worker came over HTTP");
    assert(!requested.includes("/deno.json"), "nothing reads our deno.json");
    if (gpuAvailable) {
      const wgsl = requested.filter((p) => p.startsWith("/kernels/") && p.endsWith(".wgsl"));
      assert(wgsl.length >= 3, `WGSL sources fetched over HTTP: ${wgsl.join(", ")}`);
      const fragments = ["_conv_weights", "_conv_channels", "_conv_grad_epilogue"];
      for (const fragment of fragments.map((f) => `/kernels/${f}.wgsl`)) {
        assert(wgsl.includes(fragment), `the conv kernels' fragment ${fragment} came over HTTP`);
      }
    }
  },
});
