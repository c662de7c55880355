/**
 * Test helpers for the checks that run Python: which interpreter has NumPy (CI's python3 does)
 * and which has PyTorch (`SEISDEC_TORCH_PYTHON`, else python3; CI has none, so those tests are
 * listed as ignored there), and running code with lib/io (seisdec.py) on the module path.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { assertEquals } from "./_assert.ts";

/** lib/io, where seisdec.py lives. */
export const PY_MODULE_DIR: string = fileURLToPath(new URL("../lib/io/", import.meta.url));

/**
 * @param python An interpreter.
 * @param modules Modules it must import.
 * @returns whether it runs and imports them.
 */
export async function pythonWith(python: string, modules: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(python, {
      args: ["-c", modules.map((m) => `import ${m}`).join("; ")],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** python3 when it has NumPy, else null. */
export const numpyPython: string | null = (await pythonWith("python3", ["numpy"]))
  ? "python3"
  : null;

const torchCandidate = Deno.env.get("SEISDEC_TORCH_PYTHON") ?? "python3";
/** An interpreter with NumPy and PyTorch (`SEISDEC_TORCH_PYTHON`, else python3), or null. */
export const torchPython: string | null = (await pythonWith(torchCandidate, ["numpy", "torch"]))
  ? torchCandidate
  : null;

/**
 * Runs Python code with lib/io on its module path; fails the test with its stderr.
 *
 * @param exe The interpreter.
 * @param code The code (`sys` is imported).
 * @param args Its `sys.argv[1:]`.
 * @returns its standard output.
 */
export async function runPython(exe: string, code: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(exe, {
    args: [
      "-c",
      `import sys; sys.path.insert(0, ${JSON.stringify(PY_MODULE_DIR)})\n${code}`,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}
