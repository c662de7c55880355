/**
 * Text lines from a byte stream (a child process's stdout, stdin), for line-based protocols.
 *
 * @module
 */

/**
 * Reads a stream of UTF-8 bytes as lines, without their line ends ("\n" or "\r\n"). A last
 * line without a line end is read too. Stopping early (`break`, `return()`) cancels the
 * stream's reader lock only, not the stream.
 *
 * @param stream The bytes.
 * @returns the lines, in order.
 *
 * @example Two lines
 * ```ts
 * import { readLines } from "./lines.ts";
 * const bytes = new TextEncoder().encode("a\r\nb");
 * const got: string[] = [];
 * for await (const l of readLines(new Blob([bytes]).stream())) got.push(l);
 * if (got.join("|") !== "a|b") throw new Error(got.join("|"));
 * ```
 */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let rest = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = rest.indexOf("\n")) >= 0) {
        yield rest.slice(0, nl).replace(/\r$/, "");
        rest = rest.slice(nl + 1);
      }
    }
    rest += decoder.decode();
    if (rest) yield rest.replace(/\r$/, "");
  } finally {
    reader.releaseLock();
  }
}
