/**
 * The error a sample fails with during extraction: a short machine-readable
 * reason (for the failure summary) and a message that names the file.
 *
 * @module
 */

/** Reasons a sample can be skipped. */
export type FailureReason =
  | "unreadable"
  | "empty file"
  | "not miniseed"
  | "truncated"
  | "corrupt"
  | "unsupported"
  | "bad time"
  | "gap"
  | "missing channel"
  | "no response"
  | "bad response"
  | "bad orientation"
  | "nan"
  | "flat"
  | "out of range"
  | "pick outside trace"
  | "ambiguous pick"
  | "bad row"
  | "too short"
  | "rate too low"
  | "no reference time"
  | "error";

/** A sample that cannot be used; extraction skips it and reports the reason. */
export class SampleError extends Error {
  /** Short reason, used to count failures. */
  readonly reason: FailureReason;

  /**
   * @param reason Short reason.
   * @param message Sentence-case message naming the file.
   */
  constructor(reason: FailureReason, message: string) {
    super(message);
    this.name = "SampleError";
    this.reason = reason;
  }
}
