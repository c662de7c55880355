/**
 * Reading an input file (waveforms, responses, picks, NPZ) whole, after checking that it is a
 * regular file: a path that names a device (`/dev/zero`, `/dev/random`), a pipe or a socket
 * would be read without end (memory without bound) or block, where a manifest, a pick or a
 * config names a path by mistake or by malice.
 *
 * @module
 */

/**
 * Why `path` is not a regular file (after symbolic links), or null. A path that does not exist
 * or cannot be read is left to the read, whose error names it.
 *
 * @param path The file.
 * @returns the reason, e.g. "it is a character device, not a regular file", or null.
 */
export async function notRegularFile(path: string): Promise<string | null> {
  let s: Deno.FileInfo;
  try {
    s = await Deno.stat(path);
  } catch {
    return null;
  }
  return notRegular(s);
}

/** Why a path of this stat is not a regular file, or null ({@linkcode notRegularFile}). */
function notRegular(s: Deno.FileInfo): string | null {
  if (s.isFile) return null;
  const what = s.isDirectory
    ? "a directory"
    : s.isCharDevice
    ? "a character device"
    : s.isBlockDevice
    ? "a block device"
    : s.isFifo
    ? "a named pipe (FIFO)"
    : s.isSocket
    ? "a socket"
    : "not a file of data";
  return `it is ${what}, not a regular file`;
}

/**
 * Why a file could not be read, for a message that names the file itself: "no such file" (with
 * where the input listed it) in place of Deno's NotFound, which names the path a second time
 * ("...: readfile '/x/a.mseed'"), and "it is a directory, not a regular file" for a directory
 * read as a file (Deno's IsADirectory does the same), else the error's message.
 *
 * @param e The error of the read (or stat).
 * @param listed Where the input names the file, said with "no such file" (optional).
 * @returns the reason.
 */
export function readFailure(e: unknown, listed?: string): string {
  return e instanceof Deno.errors.NotFound
    ? `no such file${listed ? ` (${listed})` : ""}`
    : e instanceof Deno.errors.IsADirectory
    ? "it is a directory, not a regular file"
    : (e as Error).message;
}

/**
 * Reads a regular file's bytes.
 *
 * @param path The file.
 * @param info Its stat, where the caller has just taken it (not taken again); null or
 *   undefined: it is taken here.
 * @returns its bytes.
 * @throws {Error} naming why for a path that is not a regular file; Deno's errors otherwise
 *   (`NotFound`, `PermissionDenied`, ...).
 */
export async function readInputFile(
  path: string,
  info?: Deno.FileInfo | null,
): Promise<Uint8Array> {
  const why = info ? notRegular(info) : await notRegularFile(path);
  if (why) throw new Error(why);
  return await Deno.readFile(path);
}

/**
 * Reads a regular file as UTF-8 text.
 *
 * @param path The file.
 * @returns its text.
 * @throws {Error} as {@linkcode readInputFile}.
 */
export async function readInputText(path: string): Promise<string> {
  const why = await notRegularFile(path);
  if (why) throw new Error(why);
  return await Deno.readTextFile(path);
}
