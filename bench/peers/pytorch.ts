/**
 * The PyTorch peer of the peers benchmark: runs `bench/pytorch_autoencoder.py` (the same seed
 * autoencoder in PyTorch eager, the reference design's stack) on the CPU in a child Python
 * process, and reads its figures back as a table row. Python and torch are not seisdec's
 * dependencies, so a machine without them gets a row that says why.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import type { PeerResult, TimingOptions } from "../../lib/bench/types.ts";

/** The PyTorch script the peer runs. */
export const PYTORCH_SCRIPT: string = fileURLToPath(
  new URL("../pytorch_autoencoder.py", import.meta.url),
);

/** One figure of the script's JSON (the schema of bench/_results.ts). */
interface ScriptFigure {
  name: string;
  value: number;
  extra?: Record<string, unknown>;
}

/** What the script's child process gave back. */
export interface ScriptRun {
  /** Exit status. */
  code: number;
  /** Its standard error, as text. */
  stderr: string;
  /** The JSON it wrote, when it wrote one. */
  json: string | null;
}

/** Runs the script with arguments; the default spawns `python` as a child process. */
export type ScriptRunner = (python: string, args: string[]) => Promise<ScriptRun>;

/**
 * Spawns the script in `python` and collects what it wrote to `--out`.
 *
 * @param python The interpreter.
 * @param args The script's arguments (without `--out`).
 * @returns the run's status, standard error and JSON.
 */
export async function runScript(python: string, args: string[]): Promise<ScriptRun> {
  const dir = await Deno.makeTempDir({ prefix: "seisdec-pytorch-" });
  const out = `${dir}/figures.json`;
  try {
    const res = await new Deno.Command(python, {
      args: [PYTORCH_SCRIPT, ...args, "--out", out],
      stdout: "null",
      stderr: "piped",
    }).output();
    let json: string | null = null;
    try {
      json = await Deno.readTextFile(out);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    return { code: res.code, stderr: new TextDecoder().decode(res.stderr), json };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The last non-empty line of a text (a Python traceback's message), cut at 300 characters. */
function lastLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  return (lines.at(-1) ?? "").slice(0, 300);
}

/**
 * Times PyTorch eager on the CPU at one batch: `warmup` untimed steps, then the faster of the
 * median of `steps` steps run one at a time and the steady state of three bursts of at least
 * `steps` steps and `minSeconds` seconds (the script's own two timings; on the CPU they agree to
 * a few percent), and the same for encoder inference when `opts.infer`. Never throws: a missing
 * Python or torch, or a failed run, lands in `error`.
 *
 * @param batch Training batch size.
 * @param opts Steps, warm-up, least seconds and inference batch.
 * @param python The interpreter (`PEERS_PYTHON`, else `python3`).
 * @param run Runs the script (a test's stand-in).
 * @returns the row for the peers table.
 * @example
 * ```ts
 * import { timePytorch } from "./pytorch.ts";
 * const row = await timePytorch(64, { steps: 5 }, "no-such-python-here");
 * if (row.trainSamplesPerSec !== null || !row.error?.includes("not found")) throw new Error();
 * ```
 */
export async function timePytorch(
  batch: number,
  opts: TimingOptions = {},
  python: string = Deno.env.get("PEERS_PYTHON") ?? "python3",
  run: ScriptRunner = runScript,
): Promise<PeerResult> {
  const steps = opts.steps ?? 5;
  const inferBatch = opts.inferBatch ?? 256;
  const result: PeerResult = {
    name: "pytorch cpu",
    backend: "cpu",
    batch,
    inferBatch,
    trainSamplesPerSec: null,
    inferSamplesPerSec: null,
  };
  const args = [
    "--device",
    "cpu",
    "--batches",
    String(batch),
    "--infer-batch",
    String(inferBatch),
    "--steps",
    String(steps),
    "--warmup",
    String(Math.max(1, opts.warmup ?? 1)),
    "--burst",
    String(steps),
    "--min-s",
    String(opts.minSeconds ?? 2),
    "--seed",
    String(opts.seed ?? 1),
    ...(opts.infer ?? true ? [] : ["--no-encode"]),
  ];
  let ran: ScriptRun;
  try {
    ran = await run(python, args);
  } catch (e) {
    result.error = e instanceof Deno.errors.NotFound
      ? `Cannot run PyTorch: ${python} not found (set PEERS_PYTHON to a Python with torch)`
      : `Cannot run PyTorch: ${(e as Error).message}`;
    return result;
  }
  if (ran.code !== 0 || ran.json === null) {
    const why = lastLine(ran.stderr) || `exit status ${ran.code}`;
    result.error = why.includes("No module named 'torch'")
      ? `Cannot run PyTorch: ${python} has no torch (pip install torch, or set PEERS_PYTHON)`
      : `Cannot run PyTorch (${python} ${PYTORCH_SCRIPT}): ${why}`;
    return result;
  }
  let figures: ScriptFigure[];
  try {
    figures = (JSON.parse(ran.json) as { figures: ScriptFigure[] }).figures;
  } catch (e) {
    result.error = `Cannot read PyTorch's figures: ${(e as Error).message}`;
    return result;
  }
  const train = figures.find((f) => f.name === "pytorch cpu train");
  const encode = figures.find((f) => f.name === "pytorch cpu encode");
  const extra = train?.extra ?? encode?.extra ?? {};
  const threads = typeof extra.threads === "number" ? extra.threads : undefined;
  result.backend = `cpu (${extra.mkldnn ? "oneDNN, " : ""}${threads ?? "?"} thread${
    threads === 1 ? "" : "s"
  })`;
  if (typeof extra.torch === "string") result.note = `torch ${extra.torch}`;
  const ms = (f: ScriptFigure | undefined, a: string, b: string): number | undefined => {
    const x = f?.extra?.[a], y = f?.extra?.[b];
    return typeof x === "number" && typeof y === "number" ? Math.min(x, y) : undefined;
  };
  result.stepMs = ms(train, "medianStepMs", "steadyStepMs");
  if (result.stepMs) result.trainSamplesPerSec = batch / (result.stepMs / 1000);
  result.inferMs = ms(encode, "medianInferMs", "steadyInferMs");
  if (result.inferMs) result.inferSamplesPerSec = inferBatch / (result.inferMs / 1000);
  if (!result.stepMs) result.error = "PyTorch wrote no training figure";
  return result;
}
