/**
 * The parent's side of `cli.ts tune`'s trials: each tuning is timed in a child process
 * (lib/bench/tune_point.ts), never in the process that searches, so that a tuning that hangs,
 * crashes or loses the device costs one trial, not the search.
 *
 * {@linkcode TrialWorker} keeps one child for every trial (`--serve`): the child switches
 * tunings in place, so each kernel variant compiles once. After a trial that fails or passes
 * its timeout, the child is killed and the next trial starts a new one.
 * {@linkcode timeInFreshProcess} runs one child per trial (`cli.ts tune --isolate`).
 *
 * @module
 */
import type { Tuning } from "../gpu/kernels.ts";
import { readLines } from "../util/lines.ts";
import type { TrialReply, TrialRequest } from "./tune_point.ts";
import type { TuningPoint, TuningWorkload } from "./seisdec_timing.ts";
import { stopOnInterrupt } from "../util/atomic.ts";

/** The child script. */
const POINT_SCRIPT = new URL("./tune_point.ts", import.meta.url).href;

/**
 * How the child is run. Its npm packages (through lib/deps.ts) are those of the node_modules the
 * parent's own run has installed, or bench/gpu/run.sh unpacked: `manual` keeps Deno from trying
 * to install them, on a host without network as anywhere else.
 */
const CHILD_FLAGS = ["run", "--node-modules-dir=manual", "-A"];

/** The child's environment: no stored tuning (the parent sends every field). */
const CHILD_ENV = { SEISDEC_TUNING_DIR: "none" };

/** Lines of the child's stderr kept for error messages. */
const STDERR_LINES = 20;

/**
 * What a failed child said of its failure, from its last stderr lines: Deno's last `error: ...`
 * line (its colours removed, the prefix dropped), else the last line that is no stack frame, no
 * caret under a source line and no Rust backtrace (`Stack backtrace:`, `0: <unknown>`, with
 * RUST_BACKTRACE set).
 *
 * @param lines The child's last stderr lines.
 * @returns one line for the user.
 * @example
 * ```ts
 * import { lastError } from "./trial_worker.ts";
 * const said = ["\x1b[0m\x1b[1m\x1b[31merror\x1b[0m: Uncaught Error: boom", "  throw e;", "  ^"];
 * if (lastError(said) !== "Uncaught Error: boom") throw new Error();
 * ```
 */
export function lastError(lines: readonly string[]): string {
  // deno-lint-ignore no-control-regex
  const plain = lines.map((l) => l.replace(/\x1b\[[0-9;]*m/g, "").trim());
  const error = plain.findLast((l) => l.startsWith("error: "));
  if (error) return error.slice("error: ".length);
  const noise = /^(at |\^+$|Stack backtrace:$|\d+: )/;
  return plain.findLast((l) => l && !noise.test(l)) ?? "no message";
}

/**
 * Times one tuning in a child process of its own (the tuning in SEISDEC_TUNING).
 *
 * @param fields The tuning's fields over the adapter kind's default.
 * @param w What to time.
 * @param timeoutS Seconds before the child is killed.
 * @returns the child's figures.
 * @throws Error with the child's last error line when it fails or passes the timeout.
 */
export async function timeInFreshProcess(
  fields: Partial<Tuning>,
  w: TuningWorkload,
  timeoutS: number,
): Promise<TuningPoint> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutS * 1000);
  const unregister = stopOnInterrupt(() => ac.abort());
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [...CHILD_FLAGS, POINT_SCRIPT, JSON.stringify(w)],
      env: { ...CHILD_ENV, SEISDEC_TUNING: JSON.stringify(fields) },
      stdout: "piped",
      stderr: "piped",
      signal: ac.signal,
    }).output();
    if (ac.signal.aborted) throw new Error(`killed after ${timeoutS} s (--timeout)`);
    const lines = (s: Uint8Array) =>
      new TextDecoder().decode(s).split("\n").map((l) => l.trim()).filter((l) => l);
    if (!out.success) throw new Error(`exit ${out.code}: ${lastError(lines(out.stderr))}`);
    const last = lines(out.stdout).at(-1);
    if (!last) throw new Error("the child printed nothing");
    return JSON.parse(last) as TuningPoint;
  } finally {
    clearTimeout(timer);
    unregister();
  }
}

interface Child {
  proc: Deno.ChildProcess;
  stdin: WritableStreamDefaultWriter<Uint8Array>;
  stdout: AsyncGenerator<string>;
  stderr: string[];
  /** Resolves when stderr has been read to its end. */
  stderrDone: Promise<void>;
  /** Unregisters it from the processes an interruption kills ({@linkcode stopOnInterrupt}). */
  unregister: () => void;
}

/**
 * One child process that times tuning after tuning (lib/bench/tune_point.ts `--serve`),
 * restarted after a failure. Call {@linkcode TrialWorker.close} when done.
 */
export class TrialWorker {
  #child: Child | null = null;
  #starts = 0;

  /** Child processes started so far (1 + restarts). */
  get starts(): number {
    return this.#starts;
  }

  #start(): Child {
    const proc = new Deno.Command(Deno.execPath(), {
      args: [...CHILD_FLAGS, POINT_SCRIPT, "--serve"],
      env: CHILD_ENV,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr: string[] = [];
    const stderrDone = (async () => {
      for await (const l of readLines(proc.stderr)) {
        stderr.push(l);
        if (stderr.length > STDERR_LINES) stderr.shift();
      }
    })();
    this.#starts++;
    return {
      proc,
      unregister: stopOnInterrupt(() => proc.kill("SIGKILL")),
      stdin: proc.stdin.getWriter(),
      stdout: readLines(proc.stdout),
      stderr,
      stderrDone,
    };
  }

  /**
   * Times one tuning.
   *
   * @param fields The tuning's fields over the adapter kind's default.
   * @param w What to time.
   * @param timeoutS Seconds before the child is killed (its start and compiles included).
   * @returns the figures.
   * @throws Error with the child's message when the trial fails, the child dies or passes
   * the timeout; the next trial then starts a new child.
   */
  async time(fields: Partial<Tuning>, w: TuningWorkload, timeoutS: number): Promise<TuningPoint> {
    const c = this.#child ??= this.#start();
    const req: TrialRequest = { fields, workload: w };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((r) => {
      timer = setTimeout(() => r("timeout"), timeoutS * 1000);
    });
    try {
      // The child's exit, with its last error line.
      const died = async () => {
        const status = await c.proc.status;
        await c.stderrDone;
        return new Error(`exit ${status.code}: ${lastError(c.stderr)}`);
      };
      try {
        await c.stdin.write(new TextEncoder().encode(JSON.stringify(req) + "\n"));
      } catch {
        throw await died(); // its stdin closed: it has exited
      }
      while (true) {
        const next = await Promise.race([c.stdout.next(), timedOut]);
        if (next === "timeout") throw new Error(`killed after ${timeoutS} s (--timeout)`);
        if (next.done) throw await died();
        let reply: TrialReply;
        try {
          reply = JSON.parse(next.value);
        } catch {
          continue; // not a reply: something the child printed
        }
        if (typeof reply !== "object" || reply === null) continue;
        if ("point" in reply) return reply.point;
        if ("error" in reply) throw new Error(reply.error);
      }
    } catch (e) {
      await this.close(); // a failed trial may leave the child's device in any state: a new one
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the child, if any, and waits until it has exited and its output is read. */
  async close(): Promise<void> {
    const c = this.#child;
    if (!c) return;
    this.#child = null;
    try {
      c.proc.kill("SIGKILL");
    } catch {
      // already exited
    }
    await c.stdin.close().catch(() => {});
    await c.proc.status;
    c.unregister();
    // Drain stdout so its resource closes (a pending read ends at the child's exit).
    for await (const _ of c.stdout) { /* discard */ }
    await c.stderrDone;
  }
}
