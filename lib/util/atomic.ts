/**
 * Atomic output: write to a temporary sibling, then rename over the target, so
 * that an interrupted run never leaves a half-written file or dataset.
 *
 * The temporaries are named `.NAME.PID.TAG.tmp` beside the target. The CLI removes this
 * process's own on Ctrl-C or SIGTERM ({@linkcode removeLiveTemporaries}); those of a process
 * killed outright are removed by the next write of the same target
 * ({@linkcode removeStaleTemporaries}).
 *
 * @module
 */
import { basename, dirname, join, resolve, sep } from "node:path";
import { UserError } from "./errors.ts";

/** Temporaries this process is writing now. */
const live = new Set<string>();

function siblingName(path: string, suffix: string): string {
  const tag = `${Deno.pid}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}`;
  return join(dirname(path), `.${basename(path)}.${tag}.${suffix}`);
}

/**
 * A new temporary name beside `path` (`.NAME.PID.TAG.tmp`), registered as live so that Ctrl-C
 * removes it; call {@linkcode releaseTemporary} once it is renamed or removed.
 *
 * @param path The destination it will become.
 * @returns the temporary path (not yet created).
 */
export function liveTemporary(path: string): string {
  const tmp = siblingName(path, "tmp");
  live.add(tmp);
  return tmp;
}

/**
 * The temporaries this process has registered and not yet released ({@linkcode liveTemporary}),
 * for tests and diagnostics.
 *
 * @returns their paths.
 */
export function liveTemporaryPaths(): string[] {
  return [...live];
}

/**
 * Removes every temporary file or directory this process is writing now, and the kept
 * unfinished outputs with nothing worth resuming, synchronously, for a signal handler that is
 * about to exit.
 *
 * @returns the paths removed.
 */
export function removeLiveTemporaries(): string[] {
  // What was set aside for a rename not yet made goes back first, out of the temporaries that
  // are removed below: the stop leaves the outputs as they were before the run's last write.
  for (const back of [...putBacks].toReversed()) {
    if (!putBacks.delete(back)) continue; // put back by another's restore already
    try {
      back();
    } catch (e) {
      putBackFailures.push((e as Error).message);
    }
  }
  for (const stop of stops) {
    try {
      stop();
    } catch {
      // Already exited.
    }
  }
  stops.clear();
  const gone: string[] = [];
  for (const [path, note] of kept) {
    // One inside a temporary (a demo's dataset) goes with it: no note may name it as kept.
    const inside = [...live].some((t) => path.startsWith(t + sep));
    if (note() !== null && !inside) continue;
    kept.delete(path);
    live.add(path);
  }
  for (const tmp of live) {
    // A file that an asynchronous write creates inside a temporary directory while it is
    // being removed makes its removal fail (not empty): try again, a few times.
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        Deno.removeSync(tmp, { recursive: true });
        gone.push(tmp);
        break;
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) break; // already renamed into place
      }
    }
  }
  live.clear();
  for (const lock of locks) {
    try {
      Deno.removeSync(lock);
    } catch {
      // Already released.
    }
  }
  locks.clear();
  return gone;
}

/** What an interruption stops first: the child processes this process started. */
const stops = new Set<() => void>();

/**
 * Registers something for Ctrl-C, SIGTERM or SIGHUP to stop before the process exits
 * ({@linkcode removeLiveTemporaries}): a child process, which would otherwise live on (reparented,
 * still computing) where the signal reached this process alone (`kill`, `timeout`, systemd).
 *
 * @param stop Stops it (e.g. `() => child.kill("SIGKILL")`); errors are ignored.
 * @returns a function that unregisters it (call once the child has exited).
 * @example
 * ```ts
 * import { stopOnInterrupt } from "./atomic.ts";
 * const done = stopOnInterrupt(() => {});
 * done();
 * ```
 */
export function stopOnInterrupt(stop: () => void): () => void {
  stops.add(stop);
  return () => stops.delete(stop);
}

/** What an interruption puts back before it removes the temporaries: outputs set aside. */
const putBacks = new Set<() => void>();

/** What could not be put back on an interruption, for {@linkcode interruptNotes}. */
const putBackFailures: string[] = [];

/**
 * Registers something for Ctrl-C, SIGTERM or SIGHUP to put back before the temporaries are
 * removed ({@linkcode removeLiveTemporaries}): outputs moved aside for a rename that has not
 * happened yet ({@linkcode setAside}), which would otherwise be removed with the temporaries
 * while the file that makes them stale never took its place. It runs synchronously; what it
 * throws is printed among the notes ({@linkcode interruptNotes}).
 *
 * @param back Puts it back (and unregisters nothing: it is unregistered before it runs).
 * @returns a function that unregisters it (once the rename is made, or it was put back).
 */
export function putBackOnInterrupt(back: () => void): () => void {
  putBacks.add(back);
  return () => putBacks.delete(back);
}

/** Lock files this process holds, which an interruption removes (without a word). */
const locks = new Set<string>();

/**
 * Registers (or, with `false`, unregisters) a lock file this process holds, for Ctrl-C or
 * SIGTERM to remove ({@linkcode removeLiveTemporaries}) so that the next run is not refused.
 *
 * @param path The lock file.
 * @param held Whether this process holds it now.
 */
export function removeLockOnInterrupt(path: string, held: boolean): void {
  if (held) locks.add(path);
  else locks.delete(path);
}

/** Unfinished outputs kept on an interruption (resumable), each with what to tell the user. */
const kept = new Map<string, () => string | null>();

/**
 * Registers (or, with null, unregisters) an unfinished output that an interruption keeps, such
 * as a resumable dataset, with the note the signal handler prints for it. Where the note is
 * null (nothing worth resuming yet), the interruption removes the output like a temporary.
 *
 * @param path The kept path.
 * @param note Returns the note (e.g. how many samples it holds and how to resume), or null.
 */
export function keepOnInterrupt(path: string, note: (() => string | null) | null): void {
  if (note) kept.set(path, note);
  else kept.delete(path);
}

/**
 * @returns the notes of the kept unfinished outputs, for a signal handler that is about to
 *   exit (call after {@linkcode removeLiveTemporaries}, which removes those without a note).
 */
export function interruptNotes(): string[] {
  const notes = [...kept.values()].map((f) => f()).filter((n): n is string => n !== null);
  return [...putBackFailures.splice(0), ...notes];
}

/**
 * Whether process `pid` runs on this machine; null where that cannot be told. Where there is no
 * /proc (macOS, Windows), signal 0 tells whether a process of that pid exists (`Deno.kill`, with
 * --allow-run; without it, null): none is false, one is true without `since` and null with it
 * (a later process reusing the pid cannot be told apart there). A zombie (killed, but not yet
 * reaped by its parent: in a container without an init process, a `kill -9`ed run can stay
 * one for good) does not run. With `since`, a time at
 * which the process in question was running (it wrote something then), a process that
 * holds the same pid but started later is another one (the pid was reused, as after a
 * reboot or a container's restart), and the one in question does not run.
 *
 * @param pid Process id.
 * @param since Milliseconds since the epoch at which the process was known to run.
 * @returns true, false, or null when unknown.
 */
export function processAlive(
  pid: number,
  since?: number,
  proc: boolean = hasProc(),
): boolean | null {
  if (!proc) {
    // A process of that pid exists; with `since`, it may be a later one that reuses the pid,
    // which only /proc tells: unknown then.
    const exists = since === undefined ? true : null;
    try {
      Deno.kill(pid, 0);
      return exists;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return false; // ESRCH: no such process
      // EPERM: it exists, another user's; anything else (no --allow-run): unknown.
      return e instanceof Deno.errors.PermissionDenied ? exists : null;
    }
  }
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return false;
  }
  // "pid (comm) S ...": the state follows the last ")" (comm may itself hold one).
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  if (state === "Z" || state === "X") return false;
  if (since !== undefined) {
    const started = processStartMs(stat);
    // A second of slack for the clock's granularity (boot time in whole seconds).
    if (started !== null && started > since + 2000) return false;
  }
  return true;
}

/** Whether this system has Linux's /proc. */
function hasProc(): boolean {
  try {
    Deno.statSync("/proc/self");
    return true;
  } catch {
    return false;
  }
}

/** The boot time (ms since the epoch) that /proc's start times count from; null if unknown. */
let bootMs: number | null | undefined;

/**
 * When the process of a `/proc/PID/stat` line started, in ms since the epoch; null where that
 * cannot be told, or where this process's own start time from /proc comes out later than the
 * clock says it started (a container whose /proc/stat shows a later boot time), so that a live
 * process is never taken for a younger one.
 */
function processStartMs(stat: string): number | null {
  const ticks = (line: string) => Number(line.slice(line.lastIndexOf(")") + 2).split(" ")[19]);
  if (bootMs === undefined) {
    bootMs = null;
    try {
      const btime = /^btime (\d+)$/m.exec(Deno.readTextFileSync("/proc/stat"));
      // Start times count clock ticks since boot, at Linux's fixed USER_HZ of 100.
      const self = Number(btime?.[1]) * 1000 + ticks(Deno.readTextFileSync("/proc/self/stat")) * 10;
      // This process started before its clock's origin: a boot time that puts its start later
      // would make every process look younger, and so a live writer look like another process.
      if (self <= Date.now() - performance.now() + 2000) bootMs = Number(btime![1]) * 1000;
    } catch {
      // No /proc/stat: unknown.
    }
  }
  const t = ticks(stat);
  return bootMs === null || !Number.isFinite(t) ? null : bootMs + t * 10;
}

/** The creation time (ms since the epoch) in a temporary's TAG (`PID.TIME.RANDOM`). */
function tagTime(tag: string): number {
  return parseInt(tag, 36);
}

/**
 * Whether the tail `PID.TAG.tmp` of a temporary's name ({@linkcode liveTemporary}) is that of
 * another process, one no longer running (killed while writing).
 */
function staleTemporary(tail: string): boolean {
  const m = /^(\d+)\.([0-9a-z]+)\.[0-9a-z]+\.tmp$/.exec(tail);
  return !!m && Number(m[1]) !== Deno.pid && processAlive(Number(m[1]), tagTime(m[2])) === false;
}

/**
 * Removes the temporaries of `path` that a process no longer running left behind (killed
 * while writing it). Only where the system tells whether a process runs
 * ({@linkcode processAlive}); elsewhere nothing is removed.
 *
 * @param path The target file or directory.
 * @returns the paths removed.
 */
export async function removeStaleTemporaries(path: string): Promise<string[]> {
  const prefix = `.${basename(path)}.`;
  const gone: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dirname(path)));
  } catch {
    return gone;
  }
  for (const e of entries) {
    if (!e.name.startsWith(prefix) || !staleTemporary(e.name.slice(prefix.length))) continue;
    const p = join(dirname(path), e.name);
    await Deno.remove(p, { recursive: true }).catch(() => {});
    gone.push(p);
  }
  return gone;
}

/**
 * The errno codes of a write that cannot succeed where it is, each with what to do: no room,
 * no writing at all, no permission, or a name too long once the temporary's suffix is added.
 */
export const CANNOT_WRITE_HERE: Readonly<Record<string, string>> = {
  ENOSPC: "free space there, or choose another output path",
  EDQUOT: "free space there, or choose another output path",
  EROFS: "the file system is read-only: choose another output path",
  EACCES: "no permission to write there: choose another output path",
  EPERM: "no permission to write there: choose another output path",
  ENAMETOOLONG: "seisdec's temporaries add about 30 characters to a name " +
    "(.NAME.PID.TAG.tmp): choose a shorter name",
};

/**
 * The error to report for a failed write of an output: a full disk, an exhausted quota, a
 * read-only file system, no permission or a name too long (found on the error or its cause)
 * becomes a {@linkcode UserError} naming the output and what to do, which the CLI prints as one
 * line; any other error is returned as it is.
 *
 * @param path The output the user asked for (file or directory).
 * @param e What the write threw.
 * @returns the error to throw.
 * @example
 * ```ts
 * import { writeFailure } from "./atomic.ts";
 * const full = Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" });
 * const e = writeFailure("out/ds", full) as Error;
 * if (!e.message.startsWith("Cannot write out/ds: No space left on device")) throw new Error();
 * ```
 */
export function writeFailure(path: string, e: unknown): unknown {
  const root = refusedWrite(e);
  if (!root) return e;
  return new UserError(
    `Cannot write ${path}: ${root.message}: ${CANNOT_WRITE_HERE[root.code]}`,
    { cause: root },
  );
}

/**
 * The write the file system refused ({@linkcode CANNOT_WRITE_HERE}'s codes) that an error is,
 * or wraps (up to 4 causes deep), or null.
 *
 * @param e An error.
 * @returns the refused write's error, or null.
 */
export function refusedWrite(e: unknown): (Error & { code: string }) | null {
  for (let i = 0; i < 4 && e instanceof Error; i++, e = e.cause) {
    const code = (e as { code?: string }).code;
    if (code !== undefined && code in CANNOT_WRITE_HERE) return e as Error & { code: string };
  }
  return null;
}

/**
 * Removes a file where it exists; a missing one is no error, any other failure is thrown.
 *
 * @param path The file.
 * @example
 * ```ts
 * import { removeIfPresent } from "./atomic.ts";
 * await removeIfPresent(`${await Deno.makeTempDir()}/never-written.txt`);
 * ```
 */
export async function removeIfPresent(path: string): Promise<void> {
  await Deno.remove(path).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
}

/**
 * Writes a file atomically (a temporary beside it, then a rename), first removing the
 * temporaries of the same file that killed processes left.
 *
 * @param path Destination file.
 * @param data Bytes or text to write.
 * @param beforeRename Run once the new bytes are on the disk beside `path`, just before they
 *   replace it: for what the new file makes stale, which a write that fails (a full disk) must
 *   leave, and which no crash may leave beside the new file. Its errors are thrown as they are
 *   (the temporary removed, `path` as it was). What it returns ({@linkcode setAside}) is put
 *   back where the rename then fails (a directory at `path`), and removed once it succeeded.
 * @example
 * ```ts
 * import { writeFileAtomic } from "./atomic.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a.txt`, "hello");
 * if (await Deno.readTextFile(`${dir}/a.txt`) !== "hello") throw new Error();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  beforeRename?: () => Promise<SetAside | void>,
): Promise<void> {
  // A killed writer of the same file left its temporary: this write supersedes it.
  await removeStaleTemporaries(path);
  const tmp = liveTemporary(path);
  let hookFailed = false;
  let aside: SetAside | void = undefined;
  try {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    // Created synchronously, in the same turn that registered it: an asynchronous create runs on
    // another thread and could make the file after Ctrl-C's handler removed the live
    // temporaries and while the process exits, leaving it behind (a clean-clone CI run of the
    // interrupt test once found `.learning_curve.png.PID.TAG.tmp` left in the model directory).
    const file = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    try {
      let off = 0;
      while (off < bytes.length) off += await file.write(bytes.subarray(off));
      // On the disk before the rename makes it the file: otherwise a crash soon after can
      // leave the new name on an empty or partial file (ext4 without auto_da_alloc, XFS).
      await file.syncData();
    } finally {
      file.close();
    }
    if (beforeRename) {
      hookFailed = true;
      aside = await beforeRename();
      hookFailed = false;
    }
    try {
      // Synchronously, and settled in the same turn: Ctrl-C's handler, which runs only between
      // awaits, puts what the hook set aside back before the rename and removes it after.
      Deno.renameSync(tmp, path);
    } catch (e) {
      // What the hook set aside goes back: the file it was stale beside is still there.
      if (aside) aside.restore(e as Error);
      throw e;
    }
    if (aside) aside.settle();
    await syncDir(dirname(path));
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw hookFailed ? e : writeFailure(path, e);
  } finally {
    live.delete(tmp);
  }
  if (aside) await aside.discard();
}

/**
 * What {@linkcode setAside} moved out of the way, for a {@linkcode writeFileAtomic} hook.
 */
export interface SetAside {
  /**
   * Puts everything back, in reverse order; what cannot go back is named in the error thrown
   * (`why`'s message, then where it is).
   */
  restore(why: Error): void;
  /**
   * The rename that made them stale is made: from now on an interruption removes them (they
   * are temporaries) instead of putting them back.
   */
  settle(): void;
  /** Removes everything (a failure to is ignored: the new file is in place). */
  discard(): Promise<void>;
}

/**
 * Moves files or directories aside, each to a temporary beside it (`.NAME.PID.TAG.tmp`, which
 * Ctrl-C removes as it removes the live temporaries, and the next write of NAME removes where a
 * killed run left it), so that they can be put back: for a {@linkcode writeFileAtomic} hook
 * whose rename may yet fail. A path that does not exist is passed over.
 *
 * @param paths The files or directories.
 * @returns what puts them back or removes them.
 * @example
 * ```ts
 * import { setAside } from "./atomic.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.csv`, "1");
 * const aside = setAside([`${dir}/a.csv`, `${dir}/none.csv`]);
 * aside.restore(new Error("the rename failed"));
 * if (await Deno.readTextFile(`${dir}/a.csv`) !== "1") throw new Error();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function setAside(paths: readonly string[]): SetAside {
  const moved: [string, string][] = [];
  // Until the rename is made (settle), Ctrl-C puts them back rather than removing them as
  // temporaries: the stop leaves them as they were.
  const unregister = putBackOnInterrupt(() => restore(new Error("interrupted")));
  // Synchronously, here and below: Ctrl-C's handler runs only between awaits, so it never finds
  // a path moved but not registered, nor some put back and the others not.
  const restore = (why: Error) => {
    unregister();
    const stuck: string[] = [];
    for (const [p, tmp] of moved.toReversed()) {
      // Put back, or kept for the user: no longer a temporary that Ctrl-C removes.
      live.delete(tmp);
      try {
        Deno.renameSync(tmp, p);
      } catch (e) {
        stuck.push(`${p} failed (${(e as Error).message}): it is at ${tmp}`);
      }
    }
    moved.length = 0;
    if (stuck.length) {
      throw new Error(`${why.message}; putting back ${stuck.join(", ")}`, { cause: why });
    }
  };
  for (const p of paths) {
    const tmp = liveTemporary(p);
    try {
      Deno.renameSync(p, tmp);
    } catch (e) {
      live.delete(tmp);
      if (e instanceof Deno.errors.NotFound) continue;
      restore(e as Error);
      throw e;
    }
    moved.push([p, tmp]);
  }
  return {
    restore,
    settle: unregister,
    async discard() {
      unregister();
      for (const [, tmp] of moved) {
        await Deno.remove(tmp, { recursive: true }).catch(() => {});
        live.delete(tmp);
      }
      moved.length = 0;
    },
  };
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
 *   directory must hold to be replaced (e.g. `meta.json` for a dataset); `replace` is what
 *   the caller's own {@linkcode checkOutputTarget} before its work returned, which then
 *   stands: an output that another run wrote since is that run's, refused at the rename.
 */
export async function writeDirAtomic(
  path: string,
  fill: (tmpDir: string) => Promise<void>,
  options: { force?: boolean; marker?: string; replace?: boolean } = {},
): Promise<void> {
  const exists = options.replace ?? await checkOutputTarget(path, options);
  const tmp = liveTemporary(path);
  try {
    // Synchronously, as writeFileAtomic creates its file: no moment where it is registered but
    // could still be made after Ctrl-C's cleanup.
    Deno.mkdirSync(tmp);
    await fill(tmp);
    if (options.marker) await writeOutputListing(tmp, options.marker);
    await moveIntoPlace(tmp, path, exists);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw writeFailure(path, e);
  } finally {
    live.delete(tmp);
  }
}

/**
 * The file in an output directory that lists what seisdec wrote there: its kind (the marker
 * file of {@linkcode writeDirAtomic}) and its top-level entries. `--force` replaces a directory
 * only while it holds nothing else, so that what a user put there (a model, notes) survives.
 */
export const OUTPUT_LISTING = ".seisdec-output.json";

/**
 * Writes {@linkcode OUTPUT_LISTING} into a finished output directory (before it is moved into
 * place): `kind` and the names of its entries.
 *
 * @param dir The directory, complete.
 * @param kind Its marker file's name (`result.json`, `meta.json`, ...).
 * @param leave Entries not to list (a checkpoint removed once the directory is in place).
 */
export async function writeOutputListing(
  dir: string,
  kind: string,
  leave: readonly string[] = [],
): Promise<void> {
  const entries: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.name !== OUTPUT_LISTING && !leave.includes(e.name)) entries.push(e.name);
  }
  entries.sort();
  await Deno.writeTextFile(join(dir, OUTPUT_LISTING), JSON.stringify({ kind, entries }) + "\n");
}

/**
 * Writes a file into an existing output directory (`evaluate`'s evaluation.json, `report`'s
 * report.html) atomically, and adds it to the directory's {@linkcode OUTPUT_LISTING} where it
 * has one, so that `--force` may still replace the directory.
 *
 * @param dir The output directory.
 * @param name The file's name in it.
 * @param content What to write.
 */
export async function writeIntoOutput(
  dir: string,
  name: string,
  content: string | Uint8Array,
): Promise<void> {
  // Listed before it is written: a run stopped between the two leaves a listing that names a
  // file not there (harmless), never a file the listing does not name, which --force refuses
  // to delete as the user's.
  const listing = await readListing(dir);
  if (listing && !listing.entries.includes(name)) {
    const entries = [...listing.entries, name].sort();
    await writeFileAtomic(
      join(dir, OUTPUT_LISTING),
      JSON.stringify({ kind: listing.kind, entries }) + "\n",
    );
  }
  await writeFileAtomic(join(dir, name), content);
}

/**
 * Reads a directory's {@linkcode OUTPUT_LISTING}.
 *
 * @param dir The directory.
 * @returns its kind and entries, or null where it has no listing that reads.
 */
export async function readListing(
  dir: string,
): Promise<{ kind: unknown; entries: string[] } | null> {
  try {
    const l = JSON.parse(await Deno.readTextFile(join(dir, OUTPUT_LISTING)));
    return Array.isArray(l?.entries) ? { kind: l.kind, entries: l.entries.map(String) } : null;
  } catch {
    return null;
  }
}

/**
 * Refuses an output path that is a symbolic link, naming its target: replacing the output
 * renames the link away (its target left as it was), and a rename onto it fails; the output is
 * written where the user names its directory itself.
 *
 * @param path Destination directory.
 * @throws {Deno.errors.AlreadyExists} when `path` is a symbolic link.
 */
export async function refuseLinkOutput(path: string): Promise<void> {
  const link = await Deno.lstat(path).catch(() => null);
  if (link?.isSymlink) {
    const target = await Deno.realPath(path).catch(() => Deno.readLinkSync(path));
    throw new Deno.errors.AlreadyExists(
      `Cannot write ${path}: it is a symbolic link (to ${target}): give the directory itself, ` +
        `--out ${target}`,
    );
  }
}

/**
 * Checks that an output directory may be written: absent, or (with `force`) a directory this
 * kind of output wrote; creates its parent and removes the temporaries of dead processes.
 *
 * @param path Destination directory.
 * @param options `force` allows replacing; `marker` names a file the directory must hold.
 * @returns whether `path` exists and will be replaced (not where it is an empty directory).
 * @throws {Deno.errors.AlreadyExists} when it may not be written.
 */
export async function checkOutputTarget(
  path: string,
  options: { force?: boolean; marker?: string } = {},
): Promise<boolean> {
  const back = await restoreMovedAside(path);
  if (back) console.error(`note: put back ${path} from ${back}, left by an interrupted run`);
  await refuseLinkOutput(path);
  const info = await Deno.stat(path).catch(() => null);
  if (info?.isDirectory) {
    // Replacing renames it away: not possible for the working directory or one holding it.
    // Both as real paths (macOS's /tmp is /private/tmp; the working directory is one already),
    // case-folded where the file system ignores case (macOS, Windows).
    const fold = (s: string) => Deno.build.os === "linux" ? s : s.toLowerCase();
    const [p, here] = [
      fold(await Deno.realPath(path).catch(() => resolve(path))),
      fold(await Deno.realPath(Deno.cwd()).catch(() => Deno.cwd())),
    ];
    if (here === p || here.startsWith(p.endsWith(sep) ? p : p + sep)) {
      throw new Deno.errors.AlreadyExists(
        `Cannot replace ${path}: it ${here === p ? "is" : "holds"} the current directory: ` +
          "run from outside it, or choose another output path",
      );
    }
  }
  // A path ending in "." or ".." names its directory by way of another: the temporary would be
  // made inside the output itself and the rename onto such a name fails (a stack trace of
  // "Device or resource busy" before), and a missing "new/.." would create "new".
  const last = basename(path);
  if (last === "." || last === "..") {
    const real = info ? await Deno.realPath(path).catch(() => null) : null;
    throw new Deno.errors.AlreadyExists(
      `Cannot write ${path}: it ends in '${last}': name the directory itself` +
        (real ? ` (--out ${real})` : ""),
    );
  }
  if (info && !info.isDirectory) {
    throw new Deno.errors.AlreadyExists(
      `Cannot write ${path}: it is a file, not an output directory: choose another path`,
    );
  }
  // An empty directory (made with mkdir for the output) holds nothing to lose: it is filled
  // without --force (before, it needed --force, which then refused it for lacking the marker).
  // It is not "replaced": the finished directory is renamed onto it, which succeeds only while
  // it is still empty (so a rival's output written there meanwhile is refused, not deleted).
  const replace = info !== null && !(await emptyDir(path));
  if (replace && !options.force) {
    throw new Deno.errors.AlreadyExists(
      `Cannot write ${path}: it already exists: pass --force to replace it`,
    );
  }
  if (
    replace && options.marker && !(await Deno.stat(join(path, options.marker)).catch(() => null))
  ) {
    throw new Deno.errors.AlreadyExists(
      `Cannot replace ${path}: it holds no ${options.marker}, so this command did not write it ` +
        `(a dataset, a model or other data?): choose another output directory or remove it yourself`,
    );
  }
  if (replace && options.marker) await checkListing(path, options.marker);
  await Deno.mkdir(dirname(path), { recursive: true });
  for (const p of await removeStaleTemporaries(path)) {
    console.error(`note: removed ${p}, left by an interrupted run`);
  }
  return replace;
}

/**
 * Files a desktop writes into folders a user browses, on the system whose desktop writes them
 * (macOS's Finder `.DS_Store`; Windows's Explorer `Thumbs.db` and `desktop.ini`; none elsewhere):
 * as plain files, not the user's data, so they neither keep a directory from being replaced nor
 * count against it being empty.
 */
const SYSTEM_FILES: ReadonlySet<string> = new Set(
  Deno.build.os === "darwin"
    ? [".DS_Store"]
    : Deno.build.os === "windows"
    ? ["Thumbs.db", "desktop.ini"]
    : [],
);

/**
 * Whether a directory is empty but for {@linkcode SYSTEM_FILES} (plain files).
 *
 * @param path The directory.
 * @returns true where it holds nothing else.
 * @example
 * ```ts
 * import { emptyDir } from "./atomic.ts";
 * const dir = await Deno.makeTempDir();
 * if (!(await emptyDir(dir))) throw new Error();
 * await Deno.writeTextFile(`${dir}/notes.txt`, "x");
 * if (await emptyDir(dir)) throw new Error();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function emptyDir(path: string): Promise<boolean> {
  for await (const e of Deno.readDir(path)) {
    if (!e.isFile || !SYSTEM_FILES.has(e.name)) return false;
  }
  return true;
}

/**
 * Removes the {@linkcode SYSTEM_FILES} of a directory that holds nothing else, just before a
 * finished output is renamed onto it (which succeeds only while it is empty).
 */
async function clearSystemFiles(path: string): Promise<void> {
  // Not a directory, or gone: the rename says what it is.
  if (SYSTEM_FILES.size === 0 || !(await emptyDir(path).catch(() => false))) return;
  for (const n of SYSTEM_FILES) await Deno.remove(join(path, n)).catch(() => {});
}

/**
 * Refuses to replace an output directory unless its {@linkcode OUTPUT_LISTING} says this kind
 * of output wrote it and it holds nothing the listing does not name: a file or directory a user
 * added (a model trained into a cluster directory, notes) would go with it.
 */
async function checkListing(path: string, kind: string): Promise<void> {
  const listing = await readListing(path);
  const named = listing?.kind === kind ? new Set(listing.entries) : null;
  if (!named) {
    throw new Deno.errors.AlreadyExists(
      `Cannot replace ${path}: it holds ${kind} but no ${OUTPUT_LISTING} of this kind, so ` +
        `seisdec cannot tell that it wrote what is there: choose another output directory or ` +
        `remove it yourself`,
    );
  }
  const extra: string[] = [];
  for await (const e of Deno.readDir(path)) {
    const system = e.isFile && SYSTEM_FILES.has(e.name);
    if (e.name === OUTPUT_LISTING || named.has(e.name) || system) continue;
    // A temporary of one of its files (`.evaluation.json.PID.TAG.tmp`) that a killed writer
    // left: seisdec's own, which goes with the directory.
    const own = /^\.(.+)\.(\d+\.[0-9a-z]+\.[0-9a-z]+\.tmp)$/.exec(e.name);
    if (own && (own[1] === OUTPUT_LISTING || named.has(own[1])) && staleTemporary(own[2])) continue;
    extra.push(e.name);
  }
  if (extra.length) {
    extra.sort();
    throw new Deno.errors.AlreadyExists(
      `Cannot replace ${path}: it holds ${extra.slice(0, 5).join(", ")}${
        extra.length > 5 ? ` and ${extra.length - 5} more` : ""
      }, which seisdec did not write there and --force would delete: move ${
        extra.length > 1 ? "them" : "it"
      } out, or choose another output directory`,
    );
  }
}

/**
 * Renames a finished directory to its destination, replacing what is there when `replace`.
 * The replaced output is moved aside (`.NAME.PID.TAG.old`) for the moment of the swap, and a
 * run killed between the two renames leaves it there, for {@linkcode restoreMovedAside} to put
 * back. Every file in the directory is
 * flushed to the disk first, and the rename after ({@linkcode syncTree}, {@linkcode syncDir}),
 * so that a crash never leaves the finished name on files the disk has not received.
 *
 * @param tmp The finished directory.
 * @param path Destination.
 * @param replace Whether `path` exists and is to be replaced.
 */
export async function moveIntoPlace(tmp: string, path: string, replace: boolean): Promise<void> {
  await syncTree(tmp);
  await moveTree(tmp, path, replace);
  await syncDir(dirname(path));
}

async function moveTree(tmp: string, path: string, replace: boolean): Promise<void> {
  try {
    await swapTree(tmp, path, replace);
  } catch (e) {
    // Another process made `path` between the check and this rename (two runs with the same
    // --out): a message, not a stack trace; the finished temporary is removed by the caller.
    const code = (e as { code?: string }).code;
    if (
      e instanceof Deno.errors.AlreadyExists || code === "ENOTEMPTY" || code === "EEXIST" ||
      (e instanceof Deno.errors.NotFound && await Deno.stat(tmp).then(() => true, () => false))
    ) {
      throw new Deno.errors.AlreadyExists(
        `Cannot write ${path}: another process wrote it while this one ran (two runs with the ` +
          "same output?): run again with --force to replace it, or choose another output path",
      );
    }
    throw e;
  }
}

async function swapTree(tmp: string, path: string, replace: boolean): Promise<void> {
  if (replace && await Deno.stat(path).catch(() => null)) {
    const old = siblingName(path, "old");
    // Back to back, synchronously: a Ctrl-C handler runs only between awaits, so it never
    // exits with `path` missing. A kill between the two is undone by restoreMovedAside.
    Deno.renameSync(path, old);
    try {
      Deno.renameSync(tmp, path);
    } catch (e) {
      // The new one could not take its place (on Windows, a file in it held open by another
      // program): the old one goes back, rather than leaving `path` missing.
      try {
        Deno.renameSync(old, path);
      } catch (back) {
        throw new Error(
          `${(e as Error).message}; putting the previous output back failed too ` +
            `(${(back as Error).message}): it is at ${old}`,
          { cause: e },
        );
      }
      throw e;
    }
    await Deno.remove(old, { recursive: true });
  } else {
    try {
      // POSIX renames a directory onto an empty one; a non-empty one fails (ENOTEMPTY).
      await clearSystemFiles(path);
      await Deno.rename(tmp, path);
    } catch (e) {
      // Windows renames onto no directory: an empty one is removed (not recursively: only
      // while it is still empty) and the rename tried again.
      if (Deno.build.os !== "windows") throw e;
      const info = await Deno.lstat(path).catch(() => null);
      // Anything but a directory there (nothing at all: another failure) is the rename's error.
      if (!info?.isDirectory) throw e;
      // Not empty any more: a rival's output, refused as on POSIX (moveTree names it).
      await Deno.remove(path).catch(() => {
        throw new Deno.errors.AlreadyExists((e as Error).message);
      });
      await Deno.rename(tmp, path);
    }
  }
}

/** The outputs a killed run had moved aside to replace `path`, newest first. */
async function movedAside(path: string): Promise<{ p: string; time: number }[]> {
  const prefix = `.${basename(path)}.`;
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dirname(path)));
  } catch {
    return [];
  }
  const aside: { p: string; time: number }[] = [];
  for (const e of entries) {
    if (!e.name.startsWith(prefix) || !e.name.endsWith(".old")) continue;
    const m = /^(\d+)\.([0-9a-z]+)\.[0-9a-z]+\.old$/.exec(e.name.slice(prefix.length));
    if (!m || Number(m[1]) === Deno.pid) continue;
    if (processAlive(Number(m[1]), tagTime(m[2])) !== false) continue;
    aside.push({ p: join(dirname(path), e.name), time: tagTime(m[2]) });
  }
  return aside.sort((a, b) => b.time - a.time);
}

/**
 * What a reader says of a missing output that a killed run had moved aside to replace it
 * ({@linkcode restoreMovedAside} puts it back at the next write of that output, which a reader
 * does not do).
 *
 * @param path The missing output.
 * @returns `; an interrupted run moved it aside to ...`, or "" where none was.
 */
export async function movedAsideNote(path: string): Promise<string> {
  const [newest] = await movedAside(path);
  return newest
    ? `; an interrupted run moved it aside to ${newest.p}: rerun the command that writes ` +
      `${basename(path)} (it puts it back first), or rename it back yourself`
    : "";
}

/**
 * Puts back an output that a killed run had moved aside (`.NAME.PID.TAG.old`) to replace it
 * and died before the new one took its place, so that `path` is missing: the newest such
 * output of a process no longer running is renamed to `path`. Where `path` exists, such
 * outputs are leftovers of a finished swap (killed while removing them) and are removed.
 * Only where the system tells whether a process runs ({@linkcode processAlive}).
 *
 * @param path The output file or directory.
 * @returns the output put back, or null.
 */
export async function restoreMovedAside(path: string): Promise<string | null> {
  const aside = await movedAside(path);
  if (!aside.length) return null;
  let restored: string | null = null;
  const here = await Deno.lstat(path).catch(() => null);
  // A symbolic link there is the user's, not a finished output (checkOutputTarget refuses it):
  // the moved-aside output stays until the link is gone.
  if (here?.isSymlink) return null;
  if (!here) {
    await Deno.rename(aside[0].p, path);
    restored = aside.shift()!.p;
  }
  for (const a of aside) await Deno.remove(a.p, { recursive: true }).catch(() => {});
  return restored;
}

/**
 * Stops tracking a temporary from {@linkcode liveTemporary}.
 *
 * @param tmp The temporary path.
 */
export function releaseTemporary(tmp: string): void {
  live.delete(tmp);
}

/** Files flushed at once by {@linkcode syncTree}: the disk's queue merges their writes. */
const SYNC_CONCURRENCY = 16;

/**
 * Flushes every file under a directory to the disk (fdatasync), and the directories
 * themselves (their entries) where the platform allows it.
 *
 * @param dir The directory.
 */
export async function syncTree(dir: string): Promise<void> {
  const files: string[] = [];
  const dirs: string[] = [];
  const walk = async (d: string) => {
    dirs.push(d);
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p);
      else if (e.isFile) files.push(p);
    }
  };
  await walk(dir);
  const sync = async (p: string) => {
    // Windows flushes (FlushFileBuffers) only through a handle opened for writing.
    const f = await Deno.open(p, { read: true, write: Deno.build.os === "windows" });
    try {
      await f.syncData();
    } finally {
      f.close();
    }
  };
  for (let i = 0; i < files.length; i += SYNC_CONCURRENCY) {
    await Promise.all(files.slice(i, i + SYNC_CONCURRENCY).map(sync));
  }
  for (const d of dirs) await syncDir(d);
}

/**
 * Flushes a directory's entries (a file created or renamed in it) to the disk. Only where a
 * directory can be opened and synced (not on Windows, nor on a file system that refuses it):
 * elsewhere it does nothing.
 *
 * @param dir The directory.
 */
export async function syncDir(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  let f: Deno.FsFile;
  try {
    f = await Deno.open(dir, { read: true });
  } catch {
    return;
  }
  try {
    await f.sync();
  } catch {
    // EINVAL on file systems that cannot sync a directory: nothing more can be done there.
  } finally {
    f.close();
  }
}
