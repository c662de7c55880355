import { assertEquals, assertThrows } from "../_assert.ts";
import { nearestNeighbours } from "../../lib/cluster/similar.ts";

Deno.test("nearestNeighbours: nearest first, the query left out, ties to the lower row", () => {
  // Row 0 at the origin; rows 1 and 3 both at distance 1 (tie), row 2 at 5, row 4 at 2.
  const x = new Float64Array([0, 0, 1, 0, 3, 4, 0, 1, 0, 2]);
  const nn = nearestNeighbours(x, 5, 2, 0, 10);
  assertEquals(nn, [
    { index: 1, distance: 1 },
    { index: 3, distance: 1 },
    { index: 4, distance: 2 },
    { index: 2, distance: 5 },
  ]);
  assertEquals(nearestNeighbours(x, 5, 2, 2, 1), [{ index: 4, distance: Math.sqrt(13) }]);
  // No count (0 or less) is none, not all but the farthest.
  assertEquals(nearestNeighbours(x, 5, 2, 0, 0), []);
  assertEquals(nearestNeighbours(x, 5, 2, 0, -1), []);
  assertThrows(() => nearestNeighbours(x, 5, 2, 5, 1), RangeError, "expected a row in [0, 5)");
  assertThrows(() => nearestNeighbours(x, 5, 2, 1.5, 1), RangeError, "expected a row in [0, 5)");
  assertThrows(() => nearestNeighbours(x, 4, 2, 0, 1), RangeError, "expected 4×2 values");
});
