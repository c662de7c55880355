import { assertEquals } from "../_assert.ts";
import { synthComponentsValid } from "../../lib/io/synth.ts";

Deno.test("synthComponentsValid: letters from Z, N, E, or Z, 1, 2 with 1 and 2 together and neither N nor E, or U, V, W together and alone", () => {
  for (const ok of ["Z", "ZNE", "NE", "E", "Z12", "12", "UVW"]) {
    assertEquals(synthComponentsValid([...ok]), true, ok);
  }
  for (const bad of ["Z12E", "Z12N", "12E", "Z1", "2", "UVWZ", "UV", "ZX"]) {
    assertEquals(synthComponentsValid([...bad]), false, bad);
  }
});
