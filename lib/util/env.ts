/**
 * Optional settings from environment variables, read only where `--allow-env` grants them.
 *
 * @module
 */

/**
 * An environment variable that tunes seisdec but that a program need not grant: read when it
 * is used (never at import), and only where the permission to read it is granted already, so
 * that a program run without `--allow-env` neither fails nor prompts; then it counts as unset.
 *
 * @param name The variable.
 * @returns its value; undefined when unset or not granted.
 * @example
 * ```ts
 * import { optionalEnv } from "./env.ts";
 * Deno.env.set("SEISDEC_EXAMPLE", "1");
 * if (optionalEnv("SEISDEC_EXAMPLE") !== "1") throw new Error();
 * Deno.env.delete("SEISDEC_EXAMPLE");
 * if (optionalEnv("SEISDEC_EXAMPLE") !== undefined) throw new Error();
 * ```
 */
export function optionalEnv(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}
