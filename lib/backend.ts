/**
 * Which compute backend new tensors use: "webgpu" (default) or "cpu" (`--cpu`).
 *
 * @module
 */

/** A compute backend. */
export type BackendName = "webgpu" | "cpu";

let current: BackendName = Deno.env.get("SEISDEC_BACKEND") === "cpu" ? "cpu" : "webgpu";

/**
 * Sets the backend used when none is given explicitly.
 *
 * @param name "webgpu" or "cpu".
 */
export function setDefaultBackend(name: BackendName): void {
  current = name;
}

/** @returns the backend used when none is given explicitly. */
export function defaultBackend(): BackendName {
  return current;
}
