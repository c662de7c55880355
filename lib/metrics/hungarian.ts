/**
 * Minimum-cost assignment (Hungarian algorithm with potentials, O(r²c)).
 *
 * @module
 */

/**
 * Solves the linear assignment problem on a rectangular cost matrix: picks at
 * most one column per row and one row per column, as many pairs as
 * min(rows, cols), minimising the total cost (like SciPy's
 * `linear_sum_assignment`).
 *
 * @param cost Cost matrix, `rows × cols`, finite numbers; rows may be fewer or
 *   more than columns.
 * @returns for each row, the index of its assigned column, or -1 when the row
 *   is left unassigned (only when rows > cols).
 * @example
 * ```ts
 * import { hungarian } from "./hungarian.ts";
 * const a = hungarian([[4, 1, 3], [2, 0, 5], [3, 2, 2]]);
 * if (a.join() !== "1,0,2") throw new Error(a.join());
 * ```
 */
export function hungarian(cost: number[][]): number[] {
  const rows = cost.length;
  if (rows === 0) return [];
  const cols = cost[0].length;
  for (let i = 0; i < rows; i++) {
    if (cost[i].length !== cols) {
      throw new TypeError(
        `Cannot solve assignment: every row must have ${cols} columns: row ${i} has ${
          cost[i].length
        }`,
      );
    }
    for (let j = 0; j < cols; j++) {
      if (!Number.isFinite(cost[i][j])) {
        throw new RangeError(
          `Cannot solve assignment: costs must be finite: cost[${i}][${j}] is ${cost[i][j]}`,
        );
      }
    }
  }
  if (cols === 0) return new Array(rows).fill(-1);
  if (rows > cols) {
    // Solve the transpose, where the rows are the fewer side.
    const t = Array.from({ length: cols }, (_, j) => cost.map((r) => r[j]));
    const colToRow = solve(t, cols, rows);
    const out = new Array(rows).fill(-1);
    colToRow.forEach((r, c) => out[r] = c);
    return out;
  }
  return solve(cost, rows, cols);
}

/** Shortest augmenting paths with row/column potentials; requires n <= m. */
function solve(a: number[][], n: number, m: number): number[] {
  // 1-based arrays; p[j] is the row matched to column j (0 = none).
  const u = new Float64Array(n + 1), v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1), way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Infinity, j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = a[i0 - 1][j - 1] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 !== 0);
  }
  const out = new Array(n).fill(-1);
  for (let j = 1; j <= m; j++) if (p[j] !== 0) out[p[j] - 1] = j - 1;
  return out;
}
