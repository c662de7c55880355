/**
 * Which compute backend new tensors use: "webgpu" (default) or "cpu" (`--cpu`).
 *
 * @module
 */
import { optionalEnv } from "./util/env.ts";

/** A compute backend. */
export type BackendName = "webgpu" | "cpu";

/** Set by {@linkcode setDefaultBackend}; until then SEISDEC_BACKEND's, read when first asked. */
let current: BackendName | undefined;

/**
 * Sets the backend used when none is given explicitly.
 *
 * @param name "webgpu" or "cpu".
 */
export function setDefaultBackend(name: BackendName): void {
  current = name;
}

/**
 * @returns the backend used when none is given explicitly: the last {@linkcode setDefaultBackend},
 *   else "cpu" where SEISDEC_BACKEND=cpu (read only where `--allow-env` grants it), else "webgpu".
 */
export function defaultBackend(): BackendName {
  return current ??= optionalEnv("SEISDEC_BACKEND") === "cpu" ? "cpu" : "webgpu";
}
