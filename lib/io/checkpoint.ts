/**
 * Model directories: weights in safetensors with PyTorch-style names, the
 * architecture and training state in JSON, all written atomically.
 *
 * Layout of a model directory:
 * - `model.json`: architecture, dataset, normalisation, and what each stage did;
 * - `autoencoder.safetensors`: pretrained weights (`encoder.encoder.0.weight`, ...);
 * - `checkpoint/`: the last pretraining epoch (weights, Adam moments, RNG state);
 * - `centroids.safetensors`: initial cluster centres from `init` (`centroids`, [K, D]);
 * - `finetune_checkpoint/`: the last label check of fine-tuning (weights and centres,
 *   optimizer state, labels, iteration, RNG state);
 * - `dec.safetensors`: fine-tuned encoder (+ decoder in IDEC) and `centroids`;
 * - `finetune_log.csv`: one row per label check;
 * - `.seisdec.lock`: while a training command writes into the directory, which process that is
 *   ({@linkcode lockModelDir}).
 *
 * Each stage's outputs depend on the stage before: new pretrained weights make the
 * centres and the fine-tuned model stale, new centres make the fine-tuned model stale.
 * {@linkcode downstreamOf} names them and {@linkcode setOutputsAside} deletes them as the new
 * weights take their place.
 *
 * @module
 */
import { join, resolve } from "node:path";
import {
  decodeSafetensors,
  encodeSafetensors,
  parseSafetensorsHeader,
  type SafetensorsDtype,
  safetensorsHeaderLength,
  type SafetensorsTensor,
} from "./safetensors.ts";
import {
  keepOnInterrupt,
  liveTemporary,
  processAlive,
  putBackOnInterrupt,
  readListing,
  releaseTemporary,
  removeLockOnInterrupt,
  removeStaleTemporaries,
  type SetAside,
  setAside,
  writeDirAtomic,
  writeFailure,
  writeFileAtomic,
} from "../util/atomic.ts";
import { UserError } from "../util/errors.ts";
import { issueLines } from "../util/zod_issues.ts";
import { readFailure } from "./input_file.ts";
import type { z } from "../deps.ts";

/** Named f32 arrays with shapes. */
export type Weights = Map<string, { shape: number[]; data: Float32Array }>;

/**
 * Writes weights as safetensors (F32), atomically.
 *
 * @param path Destination file.
 * @param w Weights by name.
 * @param metadata String metadata stored in the header.
 * @returns the file's digest (`sha256:` and 64 hex digits), for `model.json` to record which
 *   weights it describes.
 */
export async function saveWeights(
  path: string,
  w: Weights,
  metadata: Record<string, string> = {},
): Promise<string> {
  const { bytes, digest } = await encodeWeights(w, metadata);
  await writeFileAtomic(path, bytes);
  return digest;
}

/**
 * Weights as the bytes of a safetensors file (F32) and their digest, as
 * {@linkcode saveWeights} writes and returns them: for a caller that must act between knowing
 * the new weights and writing them (pretrain deletes what they make stale only if they differ
 * from the file they replace).
 *
 * @param w Weights by name.
 * @param metadata String metadata stored in the header.
 */
export async function encodeWeights(
  w: Weights,
  metadata: Record<string, string> = {},
): Promise<{ bytes: Uint8Array; digest: string }> {
  const t: Record<string, SafetensorsTensor> = {};
  for (const [name, { shape, data }] of w) t[name] = { dtype: "F32", shape, data };
  const bytes = encodeSafetensors(t, { format: "pt", ...metadata });
  return { bytes, digest: await digestOf(bytes) };
}

/**
 * The digest of a file as {@linkcode saveWeights} returns it, or null where there is no file.
 *
 * @param path The file.
 */
export async function fileDigest(path: string): Promise<string | null> {
  const bytes = await Deno.readFile(path).catch((e) => {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  });
  return bytes && await digestOf(bytes);
}

/** `sha256:` and the 64 hex digits of the bytes' SHA-256. */
async function digestOf(bytes: Uint8Array): Promise<string> {
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return "sha256:" + Array.from(h, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Reads F32 weights from a safetensors file.
 *
 * @param path Source file.
 * @returns weights by name, the header metadata and the file's digest (as
 *   {@linkcode saveWeights} returns it).
 * @throws {UserError} when the file is missing, not F32 safetensors, or holds a value that is
 *   not finite.
 */
export async function loadWeights(
  path: string,
): Promise<{ weights: Weights; metadata: Record<string, string>; digest: string }> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new UserError(`Cannot read weights ${path}: ${readFailure(e)}`);
  }
  let dec;
  try {
    dec = decodeSafetensors(bytes);
  } catch (e) {
    throw new UserError(`Cannot read weights ${path}: ${(e as Error).message}`);
  }
  const weights: Weights = new Map();
  for (const [name, t] of Object.entries(dec.tensors)) {
    if (!(t.data instanceof Float32Array)) {
      throw new UserError(
        `Cannot read weights ${path}: tensor ${name} must be F32: found ${t.dtype}`,
      );
    }
    // A NaN or infinite weight (written from Python, say) would make every code NaN, found
    // only later, as k-means' NaN codes.
    const bad = t.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new UserError(
        `Cannot read weights ${path}: tensor ${name} holds ${
          t.data[bad]
        } at element ${bad}: expected finite weights`,
      );
    }
    weights.set(name, { shape: t.shape, data: t.data });
  }
  return { weights, metadata: dec.metadata, digest: await digestOf(bytes) };
}

/**
 * Reads the header of a safetensors file alone (not its data): each tensor's dtype and shape,
 * checked as {@linkcode loadWeights} checks them (offsets that tile the file's data), so that
 * what the file holds can be compared with what it should hold before anything is built.
 *
 * @param path Source file.
 * @returns dtype and shape by tensor name, in file order.
 * @throws {UserError} when the file is missing or its header is not a valid safetensors header.
 */
export async function readWeightsHeader(
  path: string,
): Promise<Map<string, { dtype: SafetensorsDtype; shape: number[] }>> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (e) {
    throw new UserError(`Cannot read weights ${path}: ${readFailure(e)}`);
  }
  try {
    const size = (await file.stat()).size;
    const readFull = async (n: number) => {
      const buf = new Uint8Array(n);
      let got = 0;
      while (got < n) {
        const r = await file.read(buf.subarray(got));
        if (r === null) break;
        got += r;
      }
      return buf.subarray(0, got);
    };
    const first8 = await readFull(Math.min(8, size));
    const n = safetensorsHeaderLength(first8, size);
    const header = await readFull(n);
    const { entries } = parseSafetensorsHeader(header, size - 8 - n);
    return new Map(entries.map((e) => [e.name, { dtype: e.dtype, shape: e.shape }]));
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`Cannot read weights ${path}: ${(e as Error).message}`);
  } finally {
    file.close();
  }
}

/** The command that writes each file of a model directory that the others read first. */
const WRITTEN_BY: Record<string, string> = { "model.json": "pretrain" };

/**
 * Reads a JSON file of a model directory.
 *
 * @param dir Model directory.
 * @param name File name.
 * @returns the parsed value.
 * @throws {UserError} when it is missing or not JSON.
 */
export async function readJson<T>(dir: string, name: string): Promise<T> {
  const path = join(dir, name);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    // A mistyped directory is not a stage left to run, and an interrupted pretrain (its
    // checkpoint/ without model.json, written at the end) is one to resume, not to run again.
    const stage = WRITTEN_BY[name];
    // Another command's output given as a model directory is no stage left to run either.
    const other = await otherOutput(dir);
    throw new UserError(
      !(await isDirectory(dir))
        ? `Cannot read ${path}: the directory ${dir} does not exist`
        : other
        ? `Cannot read ${path}: no such file: ${dir} is ${other}, not a model directory: give ` +
          `the directory pretrain wrote (--model)`
        : name === "model.json" && await isDirectory(join(dir, "checkpoint"))
        ? `Cannot read ${path}: no such file: pretrain stopped before it finished (it left ` +
          `${join(dir, "checkpoint")}): run pretrain <dataset-dir> --model ${dir} --resume to ` +
          `finish it`
        : `Cannot read ${path}: no such file: run ${
          stage ? `${stage} first (it writes ${name})` : "the stage that writes it first"
        }`,
    );
  }
  try {
    // A byte-order mark (model.json saved by a Windows editor) is no part of the JSON.
    return JSON.parse(text.replace(/^\uFEFF/, "")) as T;
  } catch (e) {
    throw new UserError(`Cannot parse ${path}: ${(e as Error).message}`);
  }
}

/**
 * Reads a checkpoint's `state.json` and checks it against its schema: a damaged or hand-edited
 * state would otherwise resume from nonsense (an iteration that is not a number ends a
 * fine-tuning at once as "converged").
 *
 * @param dir Checkpoint directory.
 * @param schema The state's schema.
 * @param writer The command that writes it, for the message.
 * @returns the state.
 * @throws {UserError} naming the file, the fields that are wrong, and `--force`.
 */
export async function readCheckpointState<T>(
  dir: string,
  schema: z.ZodType<T>,
  writer: string,
): Promise<T> {
  const raw = await readJson<unknown>(dir, "state.json");
  const r = schema.safeParse(raw);
  if (!r.success) {
    const what = issueLines(schema, r.error).slice(0, 3);
    throw new UserError(
      `Cannot resume from ${join(dir, "state.json")}: ${what.join("; ")}: expected a checkpoint ` +
        `as ${writer} writes it (damaged or edited?): pass --force to start over`,
    );
  }
  return r.data;
}

/**
 * Writes a JSON file atomically.
 *
 * @param path Destination.
 * @param value Value to serialise.
 */
export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** @returns whether a path exists. */
export async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** @returns whether a path exists and is a directory. */
export async function isDirectory(path: string): Promise<boolean> {
  return await Deno.stat(path).then((st) => st.isDirectory, () => false);
}

/** The training stages that write into a model directory. */
export type Stage = "pretrain" | "init" | "finetune";

const OUTPUTS: Record<Stage, string[]> = {
  pretrain: [
    "autoencoder.safetensors",
    "checkpoint",
    "learning_curve.csv",
    "learning_curve.png",
    "learning_curve.svg",
  ],
  init: ["centroids.safetensors", "k_selection.csv", "k_selection.png", "k_selection.svg"],
  finetune: ["dec.safetensors", "finetune_checkpoint", "finetune_log.csv"],
};

/**
 * The outputs of the stages after `stage` that exist in a model directory: the files a new
 * run of `stage` makes stale.
 *
 * @param dir Model directory.
 * @param stage The stage about to write new outputs.
 * @returns the existing stale outputs' names, in stage order.
 */
export async function downstreamOf(dir: string, stage: Stage): Promise<string[]> {
  const later: Stage[] = stage === "pretrain"
    ? ["init", "finetune"]
    : stage === "init"
    ? ["finetune"]
    : [];
  const names = later.flatMap((s) => OUTPUTS[s]);
  const found: string[] = [];
  for (const n of names) if (await exists(join(dir, n))) found.push(n);
  return found;
}

/**
 * Refuses a new run of a stage into a model directory that holds outputs of the later stages
 * ({@linkcode downstreamOf}), which the run would make stale and delete: the library's rule for
 * what the CLI refuses without `--force`. Called unless the caller passed `{ force: true }`.
 *
 * @param dir Model directory.
 * @param stage The stage about to run: "pretrain" or "init".
 * @throws {UserError} naming the files and the option.
 */
export async function refuseDownstream(dir: string, stage: "pretrain" | "init"): Promise<void> {
  const stale = await downstreamOf(dir, stage);
  if (!stale.length) return;
  throw new UserError(
    stage === "pretrain"
      ? `Cannot pretrain into ${dir}: it holds ${stale.join(", ")}, made from the current ` +
        "encoder, which new pretraining would make stale: pass { force: true } to replace them " +
        "(they are deleted when the new weights are written)"
      : `Cannot initialise centres in ${dir}: it holds ${stale.join(", ")}, fine-tuned from ` +
        "the current centres, which new centres would make stale: pass { force: true } to " +
        "delete them",
  );
}

/** The later stages (init, finetune) that some of the outputs named belong to. */
function stagesOf(names: string[]): ("init" | "finetune")[] {
  return (["init", "finetune"] as const).filter((s) => OUTPUTS[s].some((o) => names.includes(o)));
}

/**
 * Deletes outputs of a model directory (files or directories) and the sections of `model.json`
 * that the removed stages wrote, for a {@linkcode writeFileAtomic} hook, whose rename may yet
 * fail: the outputs are set aside ({@linkcode setAside}) and the sections of `model.json` dropped,
 * then put back, `model.json` as it was, where the rename fails (a directory at the weights'
 * path) or Ctrl-C stops the run before it, and removed once it succeeded.
 *
 * @param dir Model directory.
 * @param names Output names, as returned by {@linkcode downstreamOf}.
 * @param more Other outputs to set aside, whose stage's section stays (init's k selection,
 *   which its new centres replace).
 * @returns what puts them back or removes them.
 */
export async function setOutputsAside(
  dir: string,
  names: string[],
  more: readonly string[] = [],
): Promise<SetAside> {
  const info = join(dir, "model.json");
  const drop = stagesOf(names);
  // A copy of model.json as it was, which a failed rename renames back over the new one.
  let saved: string | null = null;
  if (drop.length && await exists(info)) {
    saved = liveTemporary(info);
    Deno.copyFileSync(info, saved);
  }
  const aside = setAside([...names, ...more].map((n) => join(dir, n)));
  // Ctrl-C before the rename puts model.json back as well as the outputs (this restore does both).
  const unregister = putBackOnInterrupt(() => restore(new Error("interrupted")));
  const restore = (why: Error) => {
    unregister();
    let e = why;
    try {
      aside.restore(why);
    } catch (both) {
      e = both as Error;
    }
    if (saved) {
      releaseTemporary(saved);
      try {
        Deno.renameSync(saved, info);
      } catch (m) {
        e = new Error(
          `${e.message}; putting back ${info} failed (${(m as Error).message}): it is at ${saved}`,
          { cause: why },
        );
      }
      saved = null;
    }
    if (e !== why) throw e;
  };
  if (saved) {
    try {
      const mi = await readJson<Record<string, unknown>>(dir, "model.json");
      for (const s of drop) delete mi[s];
      await writeJson(info, mi);
    } catch (e) {
      restore(e as Error);
      throw e;
    }
  }
  return {
    restore,
    settle() {
      unregister();
      aside.settle();
    },
    async discard() {
      unregister();
      await aside.discard();
      if (saved) {
        await Deno.remove(saved).catch(() => {});
        releaseTemporary(saved);
      }
    },
  };
}

/**
 * Writes a training checkpoint directory in one step: every file goes into a temporary
 * directory that then replaces `dir`, so the checkpoint is always one consistent state
 * (never new weights beside an old `state.json`).
 *
 * @param dir Checkpoint directory.
 * @param weights Safetensors files to write, by file name.
 * @param state The JSON state, written as `state.json`.
 */
export async function saveCheckpointDir(
  dir: string,
  weights: Record<string, Weights>,
  state: unknown,
): Promise<void> {
  await writeDirAtomic(dir, async (tmp) => {
    for (const [name, w] of Object.entries(weights)) await saveWeights(join(tmp, name), w);
    await writeJson(join(tmp, "state.json"), state);
  }, { force: true });
}

/**
 * Has Ctrl-C (or SIGTERM) keep a training checkpoint directory and say what it holds and how
 * to resume: the note reads `state.json` when the signal comes, so it names the checkpoint on
 * the disk even when the signal arrives while a newer one is being put in place. Call with
 * null when the run ends.
 *
 * @param ckDir The checkpoint directory.
 * @param progress What the state holds, e.g. `epoch 12 of 30 done`; null for a state it cannot read.
 * @param earlier Whether the checkpoint is still that of an earlier run, which this one (started
 *   over with `--force`) has not yet replaced: the same command with `--resume` would continue
 *   that run, not this one, so the note says so.
 */
export function keepCheckpointOnInterrupt(
  ckDir: string,
  progress: ((state: Record<string, unknown>) => string) | null,
  earlier?: () => boolean,
): void {
  if (!progress) return keepOnInterrupt(ckDir, null);
  keepOnInterrupt(ckDir, () => {
    let state: Record<string, unknown>;
    try {
      state = JSON.parse(Deno.readTextFileSync(join(ckDir, "state.json")));
    } catch {
      // Never null: that would have the checkpoint directory removed.
      return `no checkpoint in ${ckDir} yet: run the same command without --resume to start again`;
    }
    return earlier?.()
      ? `kept ${ckDir}: ${progress(state)} (this run had written no checkpoint yet): rerun the ` +
        `same command to start over, or add --resume to continue the earlier run, with its settings`
      : `kept ${ckDir}: ${progress(state)}; run the same command with --resume to continue`;
  });
}

/** The lock file a training command holds in its model directory while it runs. */
export const LOCK_FILE = ".seisdec.lock";

/** What {@linkcode LOCK_FILE} holds. */
interface LockRecord {
  format: "seisdec-lock";
  /** The process writing the directory. */
  pid: number;
  /** Its command, e.g. `pretrain ds --model m`. */
  command: string;
  /** When it took the lock, ms since the epoch. */
  started: number;
}

/** The lock files this process holds or is taking (absolute paths), with how many calls. */
const heldLocks = new Map<string, number>();

/** What each kind of output directory is, by its marker file (its listing's `kind`). */
const OUTPUT_KINDS: Record<string, string> = {
  "meta.json": "a dataset (extract or import wrote it)",
  "result.json": "the output of cluster or encode",
  "inspect.json": "the output of extract --inspect",
};

/**
 * What another command's output directory is, for a model directory that is one: by its
 * listing's kind, or, where it has no listing that reads (an output of an earlier version), by
 * its marker file. {@linkcode readJson} and {@linkcode lockModelDir} both ask it, so that a
 * directory refused by the one is named alike by the other.
 *
 * @param dir The directory.
 * @returns what it is (e.g. `a dataset (extract or import wrote it)`), or null where it is no
 *   output of another command.
 */
async function otherOutput(dir: string): Promise<string | null> {
  const listing = await readListing(dir);
  if (listing) {
    const kind = String(listing.kind);
    return OUTPUT_KINDS[kind] ?? `an output of seisdec (${kind})`;
  }
  for (const [marker, kind] of Object.entries(OUTPUT_KINDS)) {
    if (await exists(join(dir, marker))) return kind;
  }
  return null;
}

/**
 * Takes a model directory for one training command, so that a second one into the same
 * directory is refused rather than interleaving its checkpoints and outputs with this one's.
 * The lock is {@linkcode LOCK_FILE} in the directory (created if missing), made whole in a
 * temporary and then linked into place, which fails where a lock is there: so of two commands
 * that start at once, only one gets it. A lock whose process no longer runs (killed outright;
 * a zombie; its pid now another, later process's: {@linkcode processAlive}) is taken over with
 * a note. Ctrl-C and SIGTERM remove it (`removeLiveTemporaries`). The CLI's training commands
 * hold it for their whole run; `pretrain()`, `initCentroids()` and `finetune()` do not take it,
 * so that a program may run them one after another on one directory: such a program that may
 * run beside the CLI takes it itself.
 *
 * @param dir The model directory.
 * @param command What is writing it, for another command's error, e.g. `pretrain ds --model m`.
 * @param options `flag`: the option that named the directory (the CLI's `--model`), for the
 *   advice of a refusal; without it the advice names no option.
 * @returns a function that releases the lock (and removes the directory if this call created
 *   it and it is still empty).
 * @throws {UserError} naming the directory, the other process's pid and its command, where a
 *   running process (or one whose state this system cannot tell) holds the lock.
 * @example
 * ```ts
 * import { lockModelDir } from "./checkpoint.ts";
 * const dir = await Deno.makeTempDir();
 * const release = await lockModelDir(dir, "my training");
 * let refused = false;
 * await lockModelDir(dir, "another").catch(() => refused = true);
 * await release();
 * if (!refused) throw new Error();
 * await (await lockModelDir(dir, "another"))();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function lockModelDir(
  dir: string,
  command: string,
  options: { flag?: string } = {},
): Promise<() => Promise<void>> {
  const path = resolve(join(dir, LOCK_FILE));
  // A program's caller has no --model to change.
  const give = options.flag ? `give ${options.flag} a directory` : "give a directory";
  const made = !(await exists(dir));
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    // A read-only or forbidden place is the user's to change, named as the other writers do.
    if (!(e instanceof Deno.errors.AlreadyExists)) throw writeFailure(dir, e);
    throw new UserError(
      `Cannot use ${dir} as the model directory: it is a file, not a directory: ${give} ` +
        "(it is made if missing)",
    );
  }
  // Another command's output (a dataset, a cluster directory: otherOutput says which) is no
  // model directory: training into it mixed a model's files into it, which its next --force
  // then named as files seisdec did not write.
  const what = await otherOutput(dir);
  if (what !== null) {
    throw new UserError(
      `Cannot use ${dir} as the model directory: it is ${what}: ${give} of its own (it is ` +
        "made if missing)",
    );
  }
  // The temporary of a locker killed while linking it.
  await removeStaleTemporaries(path);
  const mine: LockRecord = { format: "seisdec-lock", pid: Deno.pid, command, started: Date.now() };
  // Counted before the first try: of two calls of this process at once, each sees the other.
  const count = (by: number) => {
    const n = (heldLocks.get(path) ?? 0) + by;
    if (n > 0) heldLocks.set(path, n);
    else heldLocks.delete(path);
  };
  count(1);
  try {
    await takeLock(dir, path, JSON.stringify(mine) + "\n", options.flag);
  } catch (e) {
    count(-1);
    // Refused before writing anything: the directory it made goes too.
    if (made) await Deno.remove(dir).catch(() => {});
    // A directory that cannot be written (a read-only disk, a full one) is named, as the
    // outputs' writes name theirs, not by the lock's temporary.
    throw writeFailure(dir, e);
  }
  removeLockOnInterrupt(path, true);
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    count(-1);
    if (!heldLocks.has(path)) removeLockOnInterrupt(path, false);
    const now = await readLock(path);
    if (now !== "gone" && now?.pid === mine.pid && now.started === mine.started) {
      await Deno.remove(path).catch(() => {});
    }
    // Only when empty: a command refused before writing anything leaves no directory.
    if (made) await Deno.remove(dir).catch(() => {});
  };
}

/**
 * Test hooks of the lock (not part of the API): `afterStale` runs when a call has found the
 * lock stale and before it takes it over, so that a test can run a rival call in between.
 */
export const lockHooks: { afterStale?: () => Promise<void> } = {};

/**
 * Creates the lock file `path` holding `text`, taking over a stale one.
 *
 * @param flag The option that named `dir`, for the advice of a refusal.
 * @throws {UserError} where a running process holds it.
 */
async function takeLock(dir: string, path: string, text: string, flag?: string): Promise<void> {
  for (let tries = 0; !(await createWhole(path, text)); tries++) {
    const other = await readLock(path);
    if (other === "gone") {
      // Gone between the two calls, and the next try takes it; a name that exists and is no
      // file (a broken link) would be tried forever.
      if (tries >= 100) {
        throw new UserError(
          `Cannot lock model directory ${dir}: ${path} exists but cannot be read (a broken ` +
            `link?): delete it`,
        );
      }
      continue;
    }
    let alive: boolean | null = false;
    if (other !== null) {
      // This process's pid: a lock another call holds or is taking, or an earlier process's.
      alive = other.pid === Deno.pid
        ? heldLocks.get(path)! > 1
        : processAlive(other.pid, other.started);
    }
    if (alive !== false && other !== null) {
      throw new UserError(
        `Cannot write model directory ${dir}: process ${other.pid} (${other.command}) is ` +
          `writing it, since ${new Date(other.started).toISOString()}: wait for it to finish ` +
          `or stop it, or choose another ${flag ? `${flag} ` : "model "}directory` +
          (alive === null
            ? ` (this system cannot tell whether that process still runs: if it does not, ` +
              `delete ${path})`
            : ""),
      );
    }
    if (tries >= 100) {
      throw new UserError(`Cannot lock model directory ${dir}: ${path} keeps coming back`);
    }
    await lockHooks.afterStale?.();
    if (await removeStaleLock(path, other)) {
      console.error(
        `note: took over ${path}` +
          (other
            ? ` from process ${other.pid} (${other.command}), which no longer runs`
            : ", which could not be read"),
      );
    }
  }
}

/**
 * Removes the stale lock `path` if it is still `stale`, under a second lock
 * (`path.takeover`): of two processes that found the same stale lock, the second would
 * otherwise remove the lock the first has just taken, and both would write the directory.
 * Where another call holds the takeover lock, waits a little instead (the caller tries
 * again); a takeover lock left by a process that died holding it is removed.
 *
 * @returns whether it removed the stale lock.
 */
async function removeStaleLock(path: string, stale: LockRecord | null): Promise<boolean> {
  const guard = `${path}.takeover`;
  const mine: LockRecord = {
    format: "seisdec-lock",
    pid: Deno.pid,
    command: "takeover",
    started: Date.now(),
  };
  if (!(await createWhole(guard, JSON.stringify(mine) + "\n"))) {
    // A takeover takes milliseconds: one older than 2 s, or of a process that no longer runs,
    // was left by a process that died holding it.
    const g = await readLock(guard);
    const left = g === null || (g !== "gone" && (
      Date.now() - g.started > 2000 ||
      (g.pid !== Deno.pid && processAlive(g.pid, g.started) === false)
    ));
    if (left) {
      await Deno.remove(guard).catch(() => {});
    } else await new Promise((r) => setTimeout(r, 10));
    return false;
  }
  try {
    const now = await readLock(path);
    const same = now === null
      ? stale === null
      : now !== "gone" && stale !== null && now.pid === stale.pid &&
        now.started === stale.started && now.command === stale.command;
    if (!same) return false;
    await Deno.remove(path).catch(() => {});
    return true;
  } finally {
    await Deno.remove(guard).catch(() => {});
  }
}

/**
 * Creates `path` holding `text`, whole, unless it exists: a temporary linked to it (a link
 * fails where the name exists), or, on a file system without links, an exclusive create.
 *
 * @returns false where `path` exists.
 */
async function createWhole(path: string, text: string): Promise<boolean> {
  const tmp = liveTemporary(path);
  try {
    // Synchronously, in the turn that registered it (see writeFileAtomic): a small file.
    Deno.writeTextFileSync(tmp, text);
    try {
      await Deno.link(tmp, path);
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists) return false;
      try {
        await Deno.writeTextFile(path, text, { createNew: true });
      } catch (e2) {
        if (e2 instanceof Deno.errors.AlreadyExists) return false;
        throw e2;
      }
    }
    return true;
  } finally {
    await Deno.remove(tmp).catch(() => {});
    releaseTemporary(tmp);
  }
}

/** A lock file's record: "gone" where there is no file, null where it cannot be read as one. */
async function readLock(path: string): Promise<LockRecord | null | "gone"> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "gone";
    return null;
  }
  try {
    const r = JSON.parse(text) as LockRecord;
    return r.format === "seisdec-lock" && Number.isInteger(r.pid) && Number.isFinite(r.started)
      ? r
      : null;
  } catch {
    return null;
  }
}
