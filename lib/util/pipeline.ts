/**
 * Runs a sequence of GPU steps with one step in flight: step i + 1 is recorded and
 * submitted before the result of step i is awaited.
 *
 * A read-back waits for the GPU to finish and then for the driver to say so. That notice
 * costs a fixed latency per wait (about 11.5 ms on llvmpipe through Deno's WebGPU,
 * whatever the work's length), during which the GPU sits idle when the host waits before
 * recording the next step. With the next step already queued, the GPU works through that
 * latency and through the host's recording time and file reads. Queue order keeps the
 * results exact: step i + 1 reads what step i wrote.
 *
 * `issue` must submit its work before it returns (seisdec's `Tensor.data()` and
 * `Tensor.item()` submit synchronously and return a promise of the read-back).
 *
 * @module
 */

/**
 * At most one step in flight, for loops that {@linkcode pipelined} does not fit (DEC fine-tuning
 * drains it before each label check): {@linkcode InFlight.push} puts a submitted step in flight
 * after handing the previous one's result to its consumer; {@linkcode InFlight.settle} drains.
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
  #pending: { value: Promise<T>; take: (value: T) => void | Promise<void> } | null = null;

  /**
   * Puts a step in flight: first waits for the step already in flight and hands its result to
   * its `take` (which may throw to stop the run; the new step then finishes on the GPU and its
   * result is dropped).
   *
   * @param value The submitted step's result.
   * @param take Consumes it, when the next step is pushed or on {@linkcode InFlight.settle}.
   */
  async push(value: Promise<T>, take: (value: T) => void | Promise<void>): Promise<void> {
    // Its rejection is handled where it is awaited; this keeps it from counting as
    // unhandled when the previous step's `take` throws first.
    value.catch(() => {});
    await this.settle();
    this.#pending = { value, take };
  }

  /** Waits for the step in flight, if any, and hands its result to its `take`. */
  async settle(): Promise<void> {
    const p = this.#pending;
    if (!p) return;
    this.#pending = null;
    await p.take(await p.value);
  }
}

/**
 * Runs `count` steps with the next step issued before the previous result is taken.
 *
 * @param count Number of steps.
 * @param issue Records and submits step `i`; returns a promise of its result.
 * @param take Consumes step `i`'s result, in order; it may throw to stop the run (the step
 *   in flight then finishes on the GPU and its result is dropped).
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
): Promise<void> {
  const q = new InFlight<T>();
  for (let i = 0; i < count; i++) await q.push(issue(i), (v) => take(v, i));
  await q.settle();
}
