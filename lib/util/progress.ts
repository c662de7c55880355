/**
 * A terminal progress bar with rate and ETA, written to stderr. It redraws in
 * place on a terminal and prints a line every 10 % otherwise, so logs stay short.
 *
 * @module
 */

/** Where a {@linkcode Progress} writes: `Deno.stderr` unless a test gives another. */
export interface ProgressOutput {
  /** Writes some of the bytes and returns how many (as `Deno.stderr.writeSync`). */
  writeSync(p: Uint8Array): number;
  /** Whether the output is a terminal (the bar then redraws in place). */
  isTerminal(): boolean;
}

/** Options of {@linkcode Progress}. */
export interface ProgressOptions {
  /** Disables all output. */
  quiet?: boolean;
  /** The clock, in ms (default `performance.now`); tests inject one. */
  now?: () => number;
  /** Where the bar goes (default `Deno.stderr`). */
  output?: ProgressOutput;
}

/** Least time, in ms, that one step after the first must span for a rate to be shown. */
const SLOW_STEP_MS = 1000;

/** Progress over a known number of steps. */
export class Progress {
  #label: string;
  #total: number;
  #done = 0;
  #now: () => number;
  #start: number;
  #lastDraw = -Infinity;
  #lastDecile = -1;
  #out: ProgressOutput;
  #tty: boolean;
  #quiet: boolean;
  #broken = false;
  #extra = "";
  /** Steps done and the time at the first tick, where the rate's window starts. */
  #first: { done: number; t: number } | null = null;
  /** Ticks since the first. */
  #ticksAfterFirst = 0;

  /**
   * @param label Shown before the bar, e.g. "extract".
   * @param total Number of steps.
   * @param options `quiet` disables all output; `now` and `output` replace the clock and stderr.
   */
  constructor(label: string, total: number, options: ProgressOptions = {}) {
    this.#label = label;
    this.#total = Math.max(1, total);
    this.#quiet = options.quiet ?? false;
    this.#now = options.now ?? (() => performance.now());
    this.#start = this.#now();
    this.#out = options.output ?? Deno.stderr;
    this.#tty = this.#out.isTerminal();
  }

  /**
   * Advances the bar.
   *
   * @param n Steps done since the last call.
   * @param extra Short status text, e.g. "loss 0.0123".
   */
  tick(n = 1, extra?: string): void {
    this.#done += n;
    if (this.#first === null) this.#first = { done: this.#done, t: this.#now() };
    else this.#ticksAfterFirst++;
    if (extra !== undefined) this.#extra = extra;
    this.#draw(false);
  }

  /**
   * Replaces the status text without counting a step, e.g. how far a long pass inside a step
   * has come. A terminal shows it at once; elsewhere the next line the bar prints carries it.
   *
   * @param extra Short status text.
   */
  status(extra: string): void {
    this.#extra = extra;
    this.#draw(false);
  }

  /**
   * Prints a message line between updates of the bar: on a terminal it replaces the bar's
   * line, which the next update draws again below it; elsewhere it is one line of its own.
   *
   * @param message The line, without a newline.
   */
  log(message: string): void {
    if (this.#quiet) return;
    this.#write(this.#tty ? `\r\x1b[K${message}\n` : `${message}\n`);
    this.#lastDraw = -Infinity;
  }

  /** Finishes the bar and prints the final line. */
  done(extra?: string): void {
    if (extra !== undefined) this.#extra = extra;
    this.#draw(true);
  }

  /**
   * Steps per second while running, measured from the first tick on: the first step also
   * carries the start-up (kernel compilation, the first pass over the data), and a bar made
   * just before a tick would divide by almost nothing. Null until two more ticks, or one that
   * took a second, make the figure worth showing.
   */
  #rate(now: number): number | null {
    const f = this.#first;
    if (f === null || this.#ticksAfterFirst === 0) return null;
    const ms = now - f.t;
    if (ms <= 0 || (this.#ticksAfterFirst < 2 && ms < SLOW_STEP_MS)) return null;
    return (this.#done - f.done) / (ms / 1000);
  }

  #draw(final: boolean): void {
    if (this.#quiet || this.#broken) return;
    const now = this.#now();
    const frac = Math.min(1, this.#done / this.#total);
    const decile = Math.floor(frac * 10);
    if (!final) {
      if (this.#tty && now - this.#lastDraw < 100) return;
      if (!this.#tty && decile === this.#lastDecile) return;
    }
    this.#lastDraw = now;
    this.#lastDecile = decile;
    const elapsed = (now - this.#start) / 1000;
    let timing: string;
    if (final) {
      // The whole run's average, start-up included: what it took.
      timing = ` ${fmtRate(this.#done / Math.max(elapsed, 1e-9))} ${fmtTime(elapsed)} total`;
    } else {
      const rate = this.#rate(now);
      timing = rate === null || rate <= 0
        ? ""
        : ` ${fmtRate(rate)} ETA ${fmtTime(Math.max(0, this.#total - this.#done) / rate)}`;
    }
    const width = 24;
    const fill = Math.round(frac * width);
    const bar = "█".repeat(fill) + "░".repeat(width - fill);
    const line = `${this.#label} ${bar} ${this.#done}/${this.#total}${timing}` +
      (this.#extra ? ` ${this.#extra}` : "");
    this.#write(this.#tty ? `\r\x1b[K${line}${final ? "\n" : ""}` : line + "\n");
  }

  /**
   * Writes to the output; once it is a closed pipe (`cmd 2>&1 | head`), stops writing rather
   * than throw: a progress bar nobody reads must not end the work it reports on.
   */
  #write(text: string): void {
    if (this.#broken) return;
    const bytes = new TextEncoder().encode(text);
    try {
      for (let n = 0; n < bytes.length;) n += this.#out.writeSync(bytes.subarray(n));
    } catch (e) {
      if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
      this.#broken = true;
    }
  }
}

function fmtRate(r: number): string {
  return r >= 10 ? `${r.toFixed(0)}/s` : `${r.toFixed(2)}/s`;
}

/**
 * @param s Seconds.
 * @returns "1h02m", "3m05s" or "12.3s".
 */
export function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s >= 3600) {
    return `${Math.floor(s / 3600)}h${String(Math.floor(s % 3600 / 60)).padStart(2, "0")}m`;
  }
  // Below 59.95 s a tenth shows; from there "1m00s" (toFixed(1) would round 59.96 to "60.0s").
  if (s < 59.95) return `${s.toFixed(1)}s`;
  const m = Math.max(s, 60);
  return `${Math.floor(m / 60)}m${String(Math.floor(m % 60)).padStart(2, "0")}s`;
}
