// Shared argument validation and array coercion for the CPU reference ops.
// Private: error messages follow "Cannot <action>: <expected>: <found>".

/** Throws a TypeError unless `shape` has `rank` positive integer dimensions. */
export function checkShape(op: string, name: string, shape: readonly number[], rank: number): void {
  if (!Array.isArray(shape) || shape.length !== rank) {
    throw new TypeError(
      `Cannot run ${op}: ${name} must have ${rank} dimensions: current shape is ${fmtShape(shape)}`,
    );
  }
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 1) {
      throw new TypeError(
        `Cannot run ${op}: ${name} dimensions must be positive integers: current shape is ${
          fmtShape(shape)
        }`,
      );
    }
  }
}

/** Throws a TypeError unless `a.length === expected`. */
export function checkLength(
  op: string,
  name: string,
  a: ArrayLike<number>,
  expected: number,
  what = "",
): void {
  if (a == null || typeof a.length !== "number") {
    throw new TypeError(
      `Cannot run ${op}: ${name} must be an array of numbers: current value is ${a}`,
    );
  }
  if (a.length !== expected) {
    throw new TypeError(
      `Cannot run ${op}: ${name} must have ${expected} elements${what ? " for " + what : ""}: ` +
        `current length is ${a.length}`,
    );
  }
}

/** Throws a TypeError unless `n` is a positive integer (a size). */
export function checkSize(op: string, name: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new TypeError(
      `Cannot run ${op}: ${name} must be a positive integer: current value is ${n}`,
    );
  }
}

/** Throws a RangeError unless `v` is an integer >= `min`. */
export function checkIntMin(op: string, name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) {
    throw new RangeError(
      `Cannot run ${op}: ${name} must be an integer >= ${min}: current value is ${v}`,
    );
  }
}

/** Throws a RangeError unless `v` is a finite number. */
export function checkFinite(op: string, name: string, v: number): void {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new RangeError(
      `Cannot run ${op}: ${name} must be a finite number: current value is ${v}`,
    );
  }
}

/**
 * Returns `a` itself when it is a Float64Array, else a Float64Array copy. Hot loops then see
 * only Float64Array element access, which keeps them monomorphic (and fast) in V8.
 */
export function f64(a: ArrayLike<number>): Float64Array {
  return a instanceof Float64Array ? a : Float64Array.from(a);
}

/** Returns `out` (checked for length) or a new zeroed Float64Array of `size` elements. */
export function output(op: string, out: Float64Array | undefined, size: number): Float64Array {
  if (out === undefined) return new Float64Array(size);
  if (!(out instanceof Float64Array)) {
    throw new TypeError(`Cannot run ${op}: out must be a Float64Array: current value is ${out}`);
  }
  checkLength(op, "out", out, size);
  return out;
}

/** Product of the dimensions. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Formats a shape as `[a,b,c]` for messages. */
export function fmtShape(shape: unknown): string {
  return Array.isArray(shape) ? `[${shape.join(",")}]` : String(shape);
}
