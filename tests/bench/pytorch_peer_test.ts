import { assert, assertEquals } from "../_assert.ts";
import { PYTORCH_SCRIPT, type ScriptRun, timePytorch } from "../../bench/peers/pytorch.ts";

/** The script's JSON for one batch, as bench/pytorch_autoencoder.py writes it. */
function scriptJson(batch: number, encode: boolean): string {
  const extra = { torch: "2.13.0+cpu", device: "cpu", threads: 2, mkldnn: true };
  const figures: unknown[] = [{
    name: "pytorch cpu train",
    shape: `x [${batch}, 1, 87, 67]`,
    value: 0,
    unit: "samples/s",
    extra: { ...extra, medianStepMs: 80, steadyStepMs: 64 },
  }];
  if (encode) {
    figures.push({
      name: "pytorch cpu encode",
      shape: "x [256, 1, 87, 67]",
      value: 0,
      unit: "samples/s",
      extra: { ...extra, medianInferMs: 12.8, steadyInferMs: 16 },
    });
  }
  return JSON.stringify({ bench: "pytorch", figures });
}

Deno.test("timePytorch passes the timing options to the script and reads its faster timing back", async () => {
  const calls: string[][] = [];
  const run = (python: string, args: string[]): Promise<ScriptRun> => {
    calls.push([python, ...args]);
    const batch = Number(args[args.indexOf("--batches") + 1]);
    return Promise.resolve({
      code: 0,
      stderr: "",
      json: scriptJson(batch, !args.includes("--no-encode")),
    });
  };
  const first = await timePytorch(
    64,
    { steps: 7, warmup: 2, minSeconds: 3, inferBatch: 256 },
    "py",
    run,
  );
  assertEquals(calls[0], [
    "py",
    "--device",
    "cpu",
    "--batches",
    "64",
    "--infer-batch",
    "256",
    "--steps",
    "7",
    "--warmup",
    "2",
    "--burst",
    "7",
    "--min-s",
    "3",
    "--seed",
    "1",
  ]);
  assertEquals(first.name, "pytorch cpu");
  assertEquals(first.backend, "cpu (oneDNN, 2 threads)");
  assertEquals(first.note, "torch 2.13.0+cpu");
  // The faster of the median one at a time (80 ms) and the steady state (64 ms).
  assertEquals(first.stepMs, 64);
  assertEquals(first.trainSamplesPerSec, 1000);
  assertEquals(first.inferMs, 12.8);
  assertEquals(first.inferSamplesPerSec, 20_000);
  assertEquals(first.error, undefined);

  const second = await timePytorch(256, { steps: 5, infer: false, warmup: 0 }, "py", run);
  assert(calls[1].includes("--no-encode"), calls[1].join(" "));
  // PyTorch's first step allocates and picks its kernels: at least one warm-up step always.
  assertEquals(calls[1][calls[1].indexOf("--warmup") + 1], "1");
  assertEquals(second.trainSamplesPerSec, 4000);
  assertEquals(second.inferSamplesPerSec, null);
});

Deno.test("timePytorch says why in its row when Python, torch or the run fails", async () => {
  const missing = await timePytorch(64, {}, "/no/such/python-for-seisdec");
  assertEquals(missing.trainSamplesPerSec, null);
  assertEquals(
    missing.error,
    "Cannot run PyTorch: /no/such/python-for-seisdec not found (set PEERS_PYTHON to a Python with torch)",
  );

  const failing = (stderr: string, json: string | null = null) => () =>
    Promise.resolve({ code: json === null ? 1 : 0, stderr, json });
  const noTorch = await timePytorch(
    64,
    {},
    "python3",
    failing(
      "Traceback (most recent call last):\n  ...\nModuleNotFoundError: No module named 'torch'\n",
    ),
  );
  assertEquals(
    noTorch.error,
    "Cannot run PyTorch: python3 has no torch (pip install torch, or set PEERS_PYTHON)",
  );
  const crash = await timePytorch(
    64,
    {},
    "python3",
    failing("RuntimeError: loss is not finite: nan\n\n"),
  );
  assertEquals(
    crash.error,
    `Cannot run PyTorch (python3 ${PYTORCH_SCRIPT}): RuntimeError: loss is not finite: nan`,
  );
  const garbled = await timePytorch(64, {}, "python3", failing("", "{not json"));
  assert(garbled.error?.startsWith("Cannot read PyTorch's figures: "), garbled.error);
  const empty = await timePytorch(64, {}, "python3", failing("", '{"figures": []}'));
  assertEquals(empty.error, "PyTorch wrote no training figure");
  assertEquals(empty.trainSamplesPerSec, null);
});
