/**
 * Error types shared by the library and the CLI.
 *
 * @module
 */

/**
 * A mistake the user can fix: a bad flag, config field or input file. The CLI
 * prints its message without a stack trace and exits with status 2.
 */
export class UserError extends Error {
  /**
   * @param message Sentence-case message: the action, a colon, then the value.
   * @param options Standard error options (cause).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UserError";
  }
}
