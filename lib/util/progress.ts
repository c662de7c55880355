/**
 * A terminal progress bar with rate and ETA, written to stderr. It redraws in
 * place on a terminal and prints a line every 10 % otherwise, so logs stay short.
 *
 * @module
 */

/** Progress over a known number of steps. */
export class Progress {
  #label: string;
  #total: number;
  #done = 0;
  #start = performance.now();
  #lastDraw = 0;
  #lastDecile = -1;
  #tty: boolean;
  #quiet: boolean;
  #extra = "";

  /**
   * @param label Shown before the bar, e.g. "extract".
   * @param total Number of steps.
   * @param options `quiet` disables all output.
   */
  constructor(label: string, total: number, options: { quiet?: boolean } = {}) {
    this.#label = label;
    this.#total = Math.max(1, total);
    this.#quiet = options.quiet ?? false;
    this.#tty = Deno.stderr.isTerminal();
  }

  /**
   * Advances the bar.
   *
   * @param n Steps done since the last call.
   * @param extra Short status text, e.g. "loss 0.0123".
   */
  tick(n = 1, extra?: string): void {
    this.#done += n;
    if (extra !== undefined) this.#extra = extra;
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
    const text = this.#tty ? `\r\x1b[K${message}\n` : `${message}\n`;
    Deno.stderr.writeSync(new TextEncoder().encode(text));
    this.#lastDraw = 0;
  }

  /** Finishes the bar and prints the final line. */
  done(extra?: string): void {
    if (extra !== undefined) this.#extra = extra;
    this.#done = Math.max(this.#done, 0);
    this.#draw(true);
  }

  #draw(final: boolean): void {
    if (this.#quiet) return;
    const now = performance.now();
    const frac = Math.min(1, this.#done / this.#total);
    const decile = Math.floor(frac * 10);
    if (!final) {
      if (this.#tty && now - this.#lastDraw < 100) return;
      if (!this.#tty && decile === this.#lastDecile) return;
    }
    this.#lastDraw = now;
    this.#lastDecile = decile;
    const elapsed = (now - this.#start) / 1000;
    const rate = this.#done / Math.max(elapsed, 1e-9);
    const eta = rate > 0 ? (this.#total - this.#done) / rate : Infinity;
    const width = 24;
    const fill = Math.round(frac * width);
    const bar = "█".repeat(fill) + "░".repeat(width - fill);
    const line = `${this.#label} ${bar} ${this.#done}/${this.#total} ${fmtRate(rate)} ` +
      `${final ? `${fmtTime(elapsed)} total` : `ETA ${fmtTime(eta)}`}` +
      (this.#extra ? ` ${this.#extra}` : "");
    const enc = new TextEncoder();
    if (this.#tty) {
      Deno.stderr.writeSync(enc.encode(`\r\x1b[K${line}${final ? "\n" : ""}`));
    } else {
      Deno.stderr.writeSync(enc.encode(line + "\n"));
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
  if (s >= 60) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${s.toFixed(1)}s`;
}
