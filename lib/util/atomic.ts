/**
 * Atomic output: write to a temporary sibling, then rename over the target, so
 * that an interrupted run never leaves a half-written file or dataset.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";

function tmpName(path: string): string {
  const tag = `${Deno.pid}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}`;
  return join(dirname(path), `.${basename(path)}.${tag}.tmp`);
}

/**
 * Writes a file atomically.
 *
 * @param path Destination file.
 * @param data Bytes or text to write.
 * @example
 * ```ts
 * import { writeFileAtomic } from "./atomic.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a.txt`, "hello");
 * if (await Deno.readTextFile(`${dir}/a.txt`) !== "hello") throw new Error();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = tmpName(path);
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Builds a directory atomically: `fill` writes into a temporary directory that
 * is renamed to `path` only when it succeeds. An existing `path` is replaced only
 * when `force` is set.
 *
 * `force` never replaces a file, and with `marker` only a directory holding that file (one
 * this kind of output wrote), so that a mistyped `--out` cannot delete a dataset or a model.
 *
 * @param path Destination directory.
 * @param fill Writes the directory's contents into the temporary directory it is given.
 * @param options `force` replaces an existing directory; `marker` names a file such a
 *   directory must hold to be replaced (e.g. `meta.json` for a dataset).
 */
export async function writeDirAtomic(
  path: string,
  fill: (tmpDir: string) => Promise<void>,
  options: { force?: boolean; marker?: string } = {},
): Promise<void> {
  const info = await Deno.stat(path).catch(() => null);
  const exists = info !== null;
  if (exists && !options.force) {
    throw new Deno.errors.AlreadyExists(
      `Cannot write ${path}: it already exists: pass --force to replace it`,
    );
  }
  if (info && !info.isDirectory) {
    throw new Deno.errors.AlreadyExists(
      `Cannot write ${path}: it is a file, not an output directory: choose another path`,
    );
  }
  if (
    exists && options.marker && !(await Deno.stat(join(path, options.marker)).catch(() => null))
  ) {
    throw new Deno.errors.AlreadyExists(
      `Cannot replace ${path}: it holds no ${options.marker}, so this command did not write it ` +
        `(a dataset, a model or other data?): choose another output directory or remove it yourself`,
    );
  }
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = tmpName(path);
  await Deno.mkdir(tmp);
  try {
    await fill(tmp);
    if (exists) {
      const old = tmpName(path);
      await Deno.rename(path, old);
      await Deno.rename(tmp, path);
      await Deno.remove(old, { recursive: true });
    } else {
      await Deno.rename(tmp, path);
    }
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
}
