/**
 * Minimal assertions (jsr:@std/assert is not reachable from this build
 * environment), plus array comparison with stated tolerances.
 *
 * @module
 */

/** Thrown by a failed assertion. */
export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

/** Asserts that a condition is truthy. */
export function assert(cond: unknown, msg = "Assertion failed"): asserts cond {
  if (!cond) throw new AssertionError(msg);
}

function eq(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = a as unknown as ArrayLike<unknown>, y = b as unknown as ArrayLike<unknown>;
    if (x.length !== y.length || a.constructor !== b.constructor) return false;
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
    return true;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => eq((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Asserts deep equality. */
export function assertEquals(actual: unknown, expected: unknown, msg?: string): void {
  if (!eq(actual, expected)) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}values are not equal:\n  actual:   ${fmt(actual)}\n  expected: ${
        fmt(expected)
      }`,
    );
  }
}

/** Asserts deep inequality. */
export function assertNotEquals(actual: unknown, expected: unknown, msg?: string): void {
  if (eq(actual, expected)) {
    throw new AssertionError(`${msg ? msg + ": " : ""}values are equal: ${fmt(actual)}`);
  }
}

/** Asserts |actual - expected| <= tolerance. */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance = 1e-7,
  msg?: string,
): void {
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}expected ${actual} to be within ${tolerance} of ${expected} (diff ${
        Math.abs(actual - expected)
      })`,
    );
  }
}

/** Asserts that a function throws an error of the given class whose message includes `includes`. */
export function assertThrows(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  cls?: new (...args: any[]) => Error,
  includes?: string,
): Error {
  try {
    fn();
  } catch (e) {
    checkError(e, cls, includes);
    return e as Error;
  }
  throw new AssertionError("Expected function to throw");
}

/** Async version of {@linkcode assertThrows}. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  cls?: new (...args: any[]) => Error,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    checkError(e, cls, includes);
    return e as Error;
  }
  throw new AssertionError("Expected promise to reject");
}

// deno-lint-ignore no-explicit-any
function checkError(e: unknown, cls?: new (...args: any[]) => Error, includes?: string): void {
  if (cls && !(e instanceof cls)) {
    throw new AssertionError(
      `Expected error of class ${cls.name}: got ${(e as Error)?.name}: ${(e as Error)?.message}`,
    );
  }
  if (includes && !String((e as Error)?.message).includes(includes)) {
    throw new AssertionError(
      `Expected error message to include '${includes}': got '${(e as Error)?.message}'`,
    );
  }
}

/**
 * Asserts elementwise closeness, |a - b| <= atol + rtol * |b|, and reports the worst element.
 *
 * @param actual Values under test.
 * @param expected Reference values.
 * @param atol Absolute tolerance.
 * @param rtol Relative tolerance.
 * @param msg Context for the failure message.
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol: number,
  msg = "",
): void {
  if (actual.length !== expected.length) {
    throw new AssertionError(`${msg}: length ${actual.length} != expected ${expected.length}`);
  }
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], b = expected[i];
    const excess = Math.abs(a - b) - (atol + rtol * Math.abs(b));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
      if (Number.isNaN(excess)) break;
    }
  }
  if (worst >= 0) {
    throw new AssertionError(
      `${msg}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
        `(|diff| ${
          Math.abs(actual[worst] - expected[worst]).toExponential(3)
        } > atol ${atol} + rtol ${rtol}·|expected|)`,
    );
  }
}

function fmt(v: unknown): string {
  try {
    return JSON.stringify(
      v,
      (_k, x) => ArrayBuffer.isView(x) ? Array.from(x as unknown as ArrayLike<number>) : x,
    )
      ?.slice(0, 400) ?? String(v);
  } catch {
    return String(v);
  }
}
