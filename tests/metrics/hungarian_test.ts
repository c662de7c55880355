import { assertEquals, assertThrows } from "../_assert.ts";
import { hungarian } from "../../lib/metrics/hungarian.ts";
import { Rng } from "../../lib/util/rng.ts";

function total(cost: number[][], a: number[]): number {
  return a.reduce((s, j, i) => s + (j >= 0 ? cost[i][j] : 0), 0);
}

/** Minimum total cost over all injective maps of the smaller side, by enumeration. */
function bruteForce(cost: number[][]): number {
  const rows = cost.length, cols = cost[0].length;
  const pairs = Math.min(rows, cols);
  let best = Infinity;
  const usedR = new Array(rows).fill(false), usedC = new Array(cols).fill(false);
  // Assign each of the `pairs` smaller-side items in turn.
  const rec = (t: number, s: number) => {
    if (t === pairs) {
      best = Math.min(best, s);
      return;
    }
    if (rows <= cols) {
      for (let j = 0; j < cols; j++) {
        if (usedC[j]) continue;
        usedC[j] = true;
        rec(t + 1, s + cost[t][j]);
        usedC[j] = false;
      }
    } else {
      for (let i = 0; i < rows; i++) {
        if (usedR[i]) continue;
        usedR[i] = true;
        rec(t + 1, s + cost[i][t]);
        usedR[i] = false;
      }
    }
  };
  rec(0, 0);
  return best;
}

Deno.test("hungarian solves a hand-worked 3x3 matrix", () => {
  // The six permutations cost 6, 9, 5, 7, 11, 6: the minimum 5 is rows -> columns 1, 0, 2.
  const cost = [[4, 1, 3], [2, 0, 5], [3, 2, 2]];
  const a = hungarian(cost);
  assertEquals(a, [1, 0, 2]);
  assertEquals(total(cost, a), 5);
});

Deno.test("hungarian handles more columns than rows and more rows than columns", () => {
  // 2x3: row 0 -> column 2 (1), row 1 -> column 0 (2); total 3.
  assertEquals(hungarian([[5, 4, 1], [2, 3, 9]]), [2, 0]);
  // 3x2: the transpose problem; row 1 is left out.
  assertEquals(hungarian([[5, 2], [4, 4], [1, 9]]), [1, -1, 0]);
  assertEquals(hungarian([]), []);
});

Deno.test("hungarian matches brute-force enumeration on seeded random matrices", () => {
  const r = new Rng(12);
  for (const [rows, cols] of [[5, 5], [4, 6], [6, 3], [1, 4], [7, 7]]) {
    for (let rep = 0; rep < 5; rep++) {
      const cost = Array.from(
        { length: rows },
        () => Array.from({ length: cols }, () => r.int(20) - 5),
      );
      const a = hungarian(cost);
      assertEquals(a.filter((j) => j >= 0).length, Math.min(rows, cols));
      assertEquals(new Set(a.filter((j) => j >= 0)).size, Math.min(rows, cols));
      assertEquals(total(cost, a), bruteForce(cost), `${rows}x${cols} rep ${rep}`);
    }
  }
});

Deno.test("hungarian rejects ragged rows and non-finite costs", () => {
  assertThrows(() => hungarian([[1, 2], [3]]), TypeError, "columns");
  assertThrows(() => hungarian([[1, Infinity]]), RangeError, "finite");
});

Deno.test("hungarian refuses a non-finite cost in any column and names its row and column", () => {
  assertThrows(() => hungarian([[NaN, 1], [2, 3]]), RangeError, "cost[0][0] is NaN");
  assertThrows(
    () => hungarian([[1, 2, 3], [4, 5, -Infinity]]),
    RangeError,
    "cost[1][2] is -Infinity",
  );
  assertThrows(
    () => hungarian([[1, 2], [3]]),
    TypeError,
    "every row must have 2 columns: row 1 has 1",
  );
});

Deno.test("hungarian breaks ties as SciPy's linear_sum_assignment does on these matrices", () => {
  // Equal costs: row i takes column i, on every shape (scipy 1.17 gives the same).
  assertEquals(hungarian([[0, 0, 0], [0, 0, 0], [0, 0, 0]]), [0, 1, 2]);
  assertEquals(hungarian([[1, 1, 1], [1, 1, 1]]), [0, 1]);
  assertEquals(hungarian([[0, 0], [0, 0], [0, 0]]), [0, 1, -1]);
  assertEquals(hungarian([[1, 1], [0, 0]]), [0, 1]);
});
