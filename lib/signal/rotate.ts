/**
 * Rotation of three arbitrarily oriented components to vertical, north and east, from
 * each component's azimuth and dip (what ObsPy's `rotate2zne` does).
 *
 * Convention (SEED, StationXML, and ObsPy's documented one): the azimuth is in degrees
 * clockwise from north; the dip is in degrees down from the horizontal, so a vertical
 * sensor whose positive output means ground moving up has dip −90, and one with dip +90
 * points down. A component with azimuth a and dip d then records the ground motion u
 * projected on the unit vector
 *
 *     v = (Z: −sin d, N: cos d · cos a, E: cos d · sin a)
 *
 * with Z positive up. The three recorded components are d_i = v_i · u: u is found by
 * solving that 3 × 3 system (the components need not be orthogonal, only independent).
 * The output Z, N, E are positive up, north and east.
 *
 * @module
 */

/** The direction of one component, SEED convention. */
export interface Orientation {
  /** Degrees clockwise from north. */
  azimuth: number;
  /** Degrees down from the horizontal (−90: up). */
  dip: number;
}

/**
 * Smallest |determinant| of the three unit direction vectors accepted: 1 for orthogonal
 * components, sin 5.7° for two horizontals 5.7° apart. Below it the components are nearly
 * dependent and solving for Z, N, E multiplies their noise by more than 10.
 */
export const MIN_ORIENTATION_DET = 0.1;

/**
 * The unit vector a component records the ground motion along, in (Z up, N, E).
 *
 * @param o Azimuth and dip, degrees.
 * @returns `[z, n, e]`.
 * @example
 * ```ts
 * import { directionZne } from "./rotate.ts";
 * const [z, n, e] = directionZne({ azimuth: 90, dip: 0 }); // an east component
 * if (Math.abs(z) > 1e-15 || Math.abs(n) > 1e-15 || e !== 1) throw new Error();
 * ```
 */
export function directionZne(o: Orientation): [number, number, number] {
  const a = o.azimuth * Math.PI / 180, d = o.dip * Math.PI / 180;
  return [-Math.sin(d), Math.cos(d) * Math.cos(a), Math.cos(d) * Math.sin(a)];
}

/**
 * The matrix that takes three recorded components to Z, N, E: the inverse of the matrix
 * whose rows are their {@linkcode directionZne} vectors.
 *
 * @param o The three components' orientations.
 * @returns `[3][3]`, row k giving output k (Z, N, E) as weights of the three inputs, and the
 *   determinant of the direction matrix (±1 for orthogonal components).
 * @throws {RangeError} for an azimuth or dip that is not finite, or a dip outside [−90, 90];
 *   for directions whose determinant is below {@linkcode MIN_ORIENTATION_DET} in magnitude.
 */
export function zneMatrix(
  o: readonly [Orientation, Orientation, Orientation],
): { matrix: number[][]; det: number } {
  o.forEach((x, i) => {
    if (!Number.isFinite(x.azimuth) || !Number.isFinite(x.dip) || Math.abs(x.dip) > 90) {
      throw new RangeError(
        `Cannot rotate to ZNE: component ${i + 1} has azimuth ${x.azimuth} and dip ${x.dip}: ` +
          `expected finite degrees, the dip within [-90, 90]`,
      );
    }
  });
  const [a, b, c] = o.map(directionZne);
  // Inverse by cofactors: the columns of the inverse are the cross products over the determinant.
  const cross = (u: number[], v: number[]) => [
    u[1] * v[2] - u[2] * v[1],
    u[2] * v[0] - u[0] * v[2],
    u[0] * v[1] - u[1] * v[0],
  ];
  const bc = cross(b, c), ca = cross(c, a), ab = cross(a, b);
  const det = a[0] * bc[0] + a[1] * bc[1] + a[2] * bc[2];
  if (!(Math.abs(det) >= MIN_ORIENTATION_DET)) {
    throw new RangeError(
      `Cannot rotate to ZNE: the three components' directions are nearly linearly dependent ` +
        `(determinant ${det.toFixed(4)}, expected |det| >= ${MIN_ORIENTATION_DET}; 1 when ` +
        `orthogonal): azimuth/dip ${o.map((x) => `${x.azimuth}/${x.dip}`).join(", ")}`,
    );
  }
  const matrix = [0, 1, 2].map((k) => [bc[k] / det, ca[k] / det, ab[k] / det]);
  return { matrix, det };
}

/**
 * Rotates three components, sampled on the same time grid, to Z (up), N and E.
 *
 * @param data The three components, equal lengths.
 * @param o Their orientations, in the same order.
 * @returns `[z, n, e]`, new arrays.
 * @throws {TypeError} for components of unequal lengths.
 * @throws {RangeError} as {@linkcode zneMatrix}.
 * @example
 * ```ts
 * import { rotateToZne } from "./rotate.ts";
 * // Horizontals 1 and 2 at azimuths 30 and 120: a purely northward motion of 1.
 * const c = Math.cos(Math.PI / 6), s = Math.sin(Math.PI / 6);
 * const [z, n, e] = rotateToZne(
 *   [new Float64Array([0]), new Float64Array([c]), new Float64Array([-s])],
 *   [{ azimuth: 0, dip: -90 }, { azimuth: 30, dip: 0 }, { azimuth: 120, dip: 0 }],
 * );
 * if (Math.abs(z[0]) > 1e-12 || Math.abs(n[0] - 1) > 1e-12 || Math.abs(e[0]) > 1e-12) {
 *   throw new Error();
 * }
 * ```
 */
export function rotateToZne(
  data: readonly [Float64Array, Float64Array, Float64Array],
  o: readonly [Orientation, Orientation, Orientation],
): [Float64Array, Float64Array, Float64Array] {
  const n = data[0].length;
  if (data[1].length !== n || data[2].length !== n) {
    throw new TypeError(
      `Cannot rotate to ZNE: the components must have equal lengths: found ${
        data.map((d) => d.length).join(", ")
      }`,
    );
  }
  const { matrix: m } = zneMatrix(o);
  const [x, y, w] = data;
  const out: [Float64Array, Float64Array, Float64Array] = [
    new Float64Array(n),
    new Float64Array(n),
    new Float64Array(n),
  ];
  for (let k = 0; k < 3; k++) {
    const [p, q, r] = m[k], dst = out[k];
    for (let i = 0; i < n; i++) dst[i] = p * x[i] + q * y[i] + r * w[i];
  }
  return out;
}
