/**
 * Which compute backend new tensors use: "webgpu" (default) or "cpu" (`--cpu`).
 *
 * @module
 */
import { optionalEnv } from "./util/env.ts";

/** A compute backend. */
export type BackendName = "webgpu" | "cpu";

/** The backends' names. */
const NAMES: readonly string[] = ["webgpu", "cpu"] satisfies BackendName[];

/**
 * Refuses a name that is not a backend's (a JavaScript caller's "gpu" would otherwise run on
 * WebGPU, whatever it meant).
 *
 * @param name The name given.
 * @param action What it was given for, e.g. "initialise a backend".
 * @returns the name.
 * @throws {TypeError} naming the valid names.
 * @example
 * ```ts
 * import { checkBackendName } from "./backend.ts";
 * if (checkBackendName("cpu", "test") !== "cpu") throw new Error();
 * try {
 *   checkBackendName("gpu", "initialise a backend");
 *   throw new Error("accepted");
 * } catch (e) {
 *   if (!(e instanceof TypeError)) throw e;
 * }
 * ```
 */
export function checkBackendName(name: unknown, action: string): BackendName {
  if (typeof name === "string" && NAMES.includes(name)) return name as BackendName;
  throw new TypeError(
    `Cannot ${action}: expected a backend, "webgpu" or "cpu": found ${
      typeof name === "string" ? JSON.stringify(name) : String(name)
    }`,
  );
}

/** Set by {@linkcode setDefaultBackend}; until then SEISDEC_BACKEND's, read when first asked. */
let current: BackendName | undefined;

/**
 * Sets the backend used when none is given explicitly.
 *
 * @param name "webgpu" or "cpu".
 * @throws {TypeError} for any other name.
 */
export function setDefaultBackend(name: BackendName): void {
  current = checkBackendName(name, "set the default backend");
}

/**
 * @returns the backend used when none is given explicitly: the last {@linkcode setDefaultBackend},
 *   else "cpu" where SEISDEC_BACKEND=cpu (read only where `--allow-env` grants it), else "webgpu".
 */
export function defaultBackend(): BackendName {
  return current ??= optionalEnv("SEISDEC_BACKEND") === "cpu" ? "cpu" : "webgpu";
}
