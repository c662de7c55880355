/**
 * Error types shared by the library and the CLI.
 *
 * @module
 */

/**
 * A mistake the user can fix: a bad flag, config field or input file. The CLI
 * prints its message without a stack trace and exits with status 2; a program tells these
 * (the message is meant for its user) from bugs and failures with `instanceof UserError`.
 *
 * @example
 * ```ts
 * import { UserError } from "./errors.ts";
 * const e: unknown = new UserError("Cannot read --k: expected an integer >= 2: found 1");
 * if (!(e instanceof UserError) || e.name !== "UserError") throw new Error();
 * ```
 */
export class UserError extends Error {
  /**
   * Makes the error, named "UserError".
   *
   * @param message Sentence-case message: the action, a colon, then the value.
   * @param options Standard error options (cause).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UserError";
  }
}

/**
 * Parses the text of a JSON file that seisdec wrote (meta.json, model.json, result.json, ...),
 * so that a damaged or hand-edited one is named rather than thrown as a bare SyntaxError with
 * a stack trace.
 *
 * @param text The file's text.
 * @param path The file, for the message.
 * @param expected What the file should be, e.g. `the result.json cluster writes`.
 * @returns the parsed object.
 * @throws {UserError} naming the file and what was expected, when the text is not JSON or not
 *   a JSON object.
 * @example
 * ```ts
 * import { parseJsonFile } from "./errors.ts";
 * const r = parseJsonFile('{"k": 3}', "c/result.json", "the result.json cluster writes");
 * if (r.k !== 3) throw new Error();
 * ```
 */
export function parseJsonFile(
  text: string,
  path: string,
  expected: string,
): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UserError(
      `Cannot read ${path}: expected ${expected}: it is not JSON (${(e as Error).message}; ` +
        `damaged or edited?)`,
    );
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new UserError(
      `Cannot read ${path}: expected ${expected}, a JSON object: found ${
        Array.isArray(v) ? "an array" : JSON.stringify(v)
      }`,
    );
  }
  return v as Record<string, unknown>;
}
