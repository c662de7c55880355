/**
 * Runs a sequence of GPU steps with steps in flight: step i + 1 (up to step i + depth) is
 * recorded and submitted before the result of step i is awaited.
 *
 * A read-back waits for the GPU to finish and then for Deno's WebGPU to notice: it polls the
 * device about every 10 ms, so a read-back costs about 11 ms on any adapter (11.3 ms for an
 * empty copy on llvmpipe; the same on an H100), whatever the work's length. During that time
 * the GPU sits idle when the host waits before recording the next step. With the next step
 * already queued, the GPU works through that latency and through the host's recording time
 * and file reads. On llvmpipe a step lasts 100 ms or more and one step in flight hides it;
 * on a GPU whose step lasts a few ms, several steps in flight do (the backend's
 * {@linkcode stepsInFlight}). Queue order keeps the results exact: step i + 1 reads what
 * step i wrote.
 *
 * `issue` must submit its work before it returns (seisdec's `Tensor.data()` and
 * `Tensor.item()` submit synchronously and return a promise of the read-back).
 *
 * @module
 */
import { letEventsIn } from "./events.ts";

/**
 * Up to `depth` steps in flight (default 1), for loops that {@linkcode pipelined} does not fit
 * (DEC fine-tuning drains it before each label check): {@linkcode InFlight.push} puts a
 * submitted step in flight, first handing the oldest step's result to its consumer when
 * `depth` steps are already in flight; {@linkcode InFlight.settle} drains them all, in order.
 *
 * @example
 * ```ts
 * import { InFlight } from "./pipeline.ts";
 * const taken: number[] = [];
 * const q = new InFlight<number>();
 * await q.push(Promise.resolve(1), (v) => { taken.push(v); });
 * await q.push(Promise.resolve(2), (v) => { taken.push(v); });
 * if (taken.join() !== "1") throw new Error();
 * await q.settle();
 * if (taken.join() !== "1,2") throw new Error();
 * ```
 */
export class InFlight<T> {
  #pending: { value: Promise<T>; take: (value: T) => void | Promise<void> }[] = [];
  /** The most steps in flight. */
  readonly depth: number;

  /**
   * Creates an empty queue.
   *
   * @param depth The most steps in flight (an integer ≥ 1).
   */
  constructor(depth = 1) {
    if (!Number.isInteger(depth) || depth < 1) {
      throw new RangeError(`Cannot pipeline: depth must be an integer >= 1: found ${depth}`);
    }
    this.depth = depth;
  }

  /**
   * Puts a step in flight: first, while `depth` steps are in flight, waits for the oldest and
   * hands its result to its `take` (which may throw to stop the run; the steps still in flight
   * then finish on the GPU and their results are dropped).
   *
   * @param value The submitted step's result.
   * @param take Consumes it, when later steps are pushed or on {@linkcode InFlight.settle}.
   */
  async push(value: Promise<T>, take: (value: T) => void | Promise<void>): Promise<void> {
    // Its rejection is handled where it is awaited; this keeps it from counting as
    // unhandled when an earlier step's `take` throws first.
    value.catch(() => {});
    // A step on the CPU backend resolves at once, and an epoch of them would otherwise never
    // let the event loop run (Ctrl-C, progress bars) until the epoch's file writes.
    await letEventsIn();
    while (this.#pending.length >= this.depth) await this.#takeOldest();
    this.#pending.push({ value, take });
  }

  /** Waits for every step in flight, oldest first, and hands each result to its `take`. */
  async settle(): Promise<void> {
    while (this.#pending.length) await this.#takeOldest();
  }

  async #takeOldest(): Promise<void> {
    const p = this.#pending.shift()!;
    try {
      await p.take(await p.value);
    } catch (e) {
      // The run stops: drop the later steps' results (their rejections are already caught).
      this.#pending = [];
      throw e;
    }
  }
}

/**
 * Runs `count` steps with the next step issued before the previous result is taken; with
 * `depth` > 1, up to `depth` steps are in flight (step i + depth is issued before step i's
 * result is taken).
 *
 * @param count Number of steps.
 * @param issue Records and submits step `i`; returns a promise of its result.
 * @param take Consumes step `i`'s result, in order; it may throw to stop the run (the step
 *   in flight then finishes on the GPU and its result is dropped).
 * @param depth The most steps in flight (default 1).
 * @example
 * ```ts
 * import { pipelined } from "./pipeline.ts";
 * const order: string[] = [];
 * await pipelined(3, (i) => {
 *   order.push(`issue ${i}`);
 *   return Promise.resolve(i * 10);
 * }, (v, i) => {
 *   order.push(`take ${i}=${v}`);
 * });
 * if (order.join() !== "issue 0,issue 1,take 0=0,issue 2,take 1=10,take 2=20") throw new Error();
 * ```
 */
export async function pipelined<T>(
  count: number,
  issue: (i: number) => Promise<T>,
  take: (value: T, i: number) => void | Promise<void>,
  depth = 1,
): Promise<void> {
  const q = new InFlight<T>(depth);
  for (let i = 0; i < count; i++) await q.push(issue(i), (v) => take(v, i));
  await q.settle();
}
