/**
 * Pieces shared by the training commands: opening a dataset with a clear
 * error, the backend chosen by `--cpu`, and the `--seed` flag.
 *
 * @module
 */
import { defaultBackend } from "../backend.ts";
import { type Dataset, openDataset } from "../io/dataset.ts";
import type { Device } from "../tensor/tensor.ts";
import { UserError } from "../util/errors.ts";
import { intFlag, type Values } from "./_command.ts";

/**
 * Opens the dataset named by the first positional argument.
 *
 * @param positionals Positional arguments.
 * @param cmd Command name, for the error.
 * @returns the dataset, which holds at least one sample.
 */
export async function datasetArg(positionals: string[], cmd: string): Promise<Dataset> {
  const dir = positionals[0];
  if (!dir) {
    throw new UserError(`Cannot run ${cmd}: expected a dataset directory as the first argument`);
  }
  if (positionals.length > 1) {
    throw new UserError(
      `Cannot run ${cmd}: unexpected arguments: ${positionals.slice(1).join(" ")}`,
    );
  }
  let ds: Dataset;
  try {
    ds = await openDataset(dir);
  } catch (e) {
    throw datasetError(dir, e);
  }
  // Nothing to train on, encode or cluster: before, encode and cluster wrote empty outputs and
  // reported "0 samples in 5 clusters".
  if (ds.count === 0) {
    ds.close();
    throw new UserError(
      `Cannot run ${cmd} on ${dir}: the dataset has no samples (an extraction whose every ` +
        `sample failed keeps one: its failures.csv says why)`,
    );
  }
  return ds;
}

/**
 * @param dir The dataset directory given.
 * @param e What opening it threw.
 * @returns a UserError naming the directory once (openDataset's own messages already do).
 */
export function datasetError(dir: string, e: unknown): UserError {
  if (e instanceof UserError) return e;
  const m = (e as Error).message;
  return new UserError(
    m.startsWith("Cannot open dataset") ? m : `Cannot open dataset ${dir}: ${m}`,
  );
}

/** @returns the backend for new tensors ("cpu" under --cpu). */
export function device(): Device {
  return defaultBackend();
}

/** @returns the --seed value, or undefined. */
export function seedFlag(values: Values): number | undefined {
  const seed = intFlag(values, "seed");
  // Seeds are 32-bit (lib/util/rng.ts): a larger one wrapped round to another without a word.
  if (seed !== undefined && !(seed >= 0 && seed <= 0xffff_ffff)) {
    throw new UserError(`Cannot read --seed: expected 0 to 4294967295: found ${seed}`);
  }
  return seed;
}

/**
 * Reads a required string flag.
 *
 * @param or What may stand in its place, named in the error (`--raw for ...`).
 * @throws {UserError} when absent.
 */
export function required(values: Values, name: string, cmd: string, or?: string): string {
  const v = values[name];
  if (typeof v !== "string" || !v) {
    throw new UserError(`Cannot run ${cmd}: --${name} is required${or ? ` (or ${or})` : ""}`);
  }
  return v;
}

/**
 * Reads an enum flag.
 *
 * @throws {UserError} when the value is not allowed.
 */
export function enumFlag<T extends string>(
  values: Values,
  name: string,
  allowed: readonly T[],
): T | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !allowed.includes(v as T)) {
    throw new UserError(
      `Cannot read --${name}: expected one of ${allowed.join(", ")}: found '${v}'`,
    );
  }
  return v as T;
}

/**
 * Refuses a label holding a line break: a quoted field over several lines is valid CSV but no
 * label; it is a stray '"' closed by another one later, which merged the rows between.
 *
 * @param label The label as read.
 * @param source The labels file, for the message.
 * @param row Its row in the file (1-based; the header is row 1 where there is one).
 * @throws {UserError} naming the file and the row.
 */
export function refuseLineBreak(label: string, source: string, row: number): void {
  if (/[\r\n]/.test(label)) {
    throw new UserError(
      `Cannot read labels ${source}: the label on row ${row} holds a line break (a quoted ` +
        `field running over several lines): expected one line per row; a stray '"'?`,
    );
  }
}

/** `--svg` of the commands that draw figures. */
export const svgFlag = {
  type: "boolean" as const,
  description: "Also write each figure as an SVG vector figure (NAME.svg) beside its PNG.",
};

/**
 * A word (a path) as a POSIX shell reads it back: as it is where it holds only characters no
 * shell treats specially (letters and digits of any script, `_ - . / , : @ % + =`), else in
 * single quotes (a space, `~`, `$`, `*`, a quote: `it's` -> `'it'\''s'`).
 *
 * @param word The word.
 * @returns it, quoted where it needs to be.
 * @example
 * ```ts
 * import { shellWord } from "./_shared.ts";
 * if (shellWord("work/dür") !== "work/dür" || shellWord("my set") !== "'my set'") {
 *   throw new Error();
 * }
 * ```
 */
export function shellWord(word: string): string {
  if (/^[\p{L}\p{N}_\-.\/,:@%+=]+$/u.test(word)) return word;
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/**
 * A path as a word of a command line that seisdec's own flags read: {@linkcode shellWord}, with a
 * relative path that starts with `-` written `./-x` (a flag's value may not start with a dash).
 *
 * @param path The path.
 * @returns the word.
 * @example
 * ```ts
 * import { pathWord } from "./_shared.ts";
 * if (pathWord("-x/extract.json") !== "./-x/extract.json") throw new Error();
 * if (pathWord("a b") !== "'a b'") throw new Error();
 * ```
 */
export function pathWord(path: string): string {
  return shellWord(path.startsWith("-") ? `./${path}` : path);
}

/**
 * The settings a stage's checkpoint was trained with (`config` of its `state.json`), where it can
 * be read: a resume takes them for the flags it is not given, so that `pretrain --resume` after
 * `--epochs 100` goes on to 100, not to the default 30 (and `finetune --resume` to its
 * `--max-iter`). A missing or damaged file gives undefined: the stage's own check names it.
 *
 * @param stateJson The checkpoint's `state.json`.
 * @param fields The stage's settings schema's fields (`schema.shape`): other fields, and values
 *   a field refuses, are left out.
 * @returns the settings, or undefined.
 */
export async function checkpointSettings(
  stateJson: string,
  fields: Readonly<Record<string, { safeParse(v: unknown): { success: boolean } }>>,
): Promise<Record<string, unknown> | undefined> {
  try {
    const st = JSON.parse(await Deno.readTextFile(stateJson));
    const c = st?.config;
    if (c === null || typeof c !== "object" || Array.isArray(c)) return undefined;
    // Only the settings this version has (an older checkpoint may hold others), each with a
    // value it takes (an older or hand-edited one may not: then the flag's or the default
    // stands, and the stage's own check names what differs).
    return Object.fromEntries(
      Object.entries(c).filter(([k, v]) =>
        Object.hasOwn(fields, k) && fields[k].safeParse(v).success
      ),
    );
  } catch {
    return undefined;
  }
}
