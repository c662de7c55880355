/**
 * Lets the event loop run from inside long computations, so that Ctrl-C (cli.ts's signal
 * listeners), timers and progress bars are served while the CPU works. A promise that is
 * already resolved does not do it: `await` on one returns through the microtask queue without
 * the event loop polling signals or timers, so a training epoch on the CPU backend, or k-means
 * restarts on a large dataset, used to hold off Ctrl-C until they ended (minutes at 50,000
 * samples).
 *
 * @module
 */

/**
 * Resolves after the runtime has waited for events: a zero-delay timer, about 2–3 ms here. A
 * cheaper message through a `MessageChannel` (about 12 µs) is not enough: with work always
 * ready, Deno's runtime polls for signals only every 61st turn (in a `pretrain --cpu` epoch a
 * Ctrl-C was seen after 58 steps, 50 s, with such a message after every step).
 *
 * @returns a promise that resolves once the event loop has run.
 */
export function macrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

let last = performance.now();

/**
 * Records that the runtime has just waited for events (a GPU read-back did), so that
 * {@linkcode letEventsIn} need not wait again soon.
 */
export function eventLoopRan(): void {
  last = performance.now();
}

/**
 * Lets the event loop run ({@linkcode macrotask}) when `everyMs` milliseconds have passed since
 * it last did here (or since {@linkcode eventLoopRan}); otherwise returns at once. At the default
 * of 200 ms, the wait costs at most about 1 % of a computation's time.
 *
 * @param everyMs Milliseconds between turns of the event loop (default 200).
 * @returns a promise that resolves when the caller may go on.
 * @example
 * ```ts
 * import { letEventsIn } from "./events.ts";
 * let ticks = 0;
 * const timer = setInterval(() => ticks++, 1);
 * const t0 = performance.now();
 * while (performance.now() - t0 < 200) await letEventsIn(10); // busy, yet timers run
 * clearInterval(timer);
 * if (ticks === 0) throw new Error("the event loop never ran");
 * ```
 */
export async function letEventsIn(everyMs = 200): Promise<void> {
  if (performance.now() - last < everyMs) return;
  await macrotask();
  last = performance.now();
}

/**
 * Runs a generator to its end, letting the event loop run between its steps (at most every
 * 200 ms): the asynchronous form of a computation written as a generator whose synchronous form
 * drains it at once ({@linkcode drain}).
 *
 * @param steps The computation; each `yield` marks a point where it may pause.
 * @returns its return value.
 */
export async function drainAsync<R>(steps: Generator<unknown, R>): Promise<R> {
  for (let r = steps.next();; r = steps.next()) {
    if (r.done) return r.value;
    await letEventsIn();
  }
}

/**
 * Runs a generator to its end at once.
 *
 * @param steps The computation.
 * @returns its return value.
 */
export function drain<R>(steps: Generator<unknown, R>): R {
  for (let r = steps.next();; r = steps.next()) if (r.done) return r.value;
}
