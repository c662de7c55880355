import { assertEquals } from "../_assert.ts";
import { categoryColor, PALETTE, viridis } from "../../lib/plot/colors.ts";

Deno.test("categoryColor wraps both ways round the palette", () => {
  assertEquals(categoryColor(-1), PALETTE[PALETTE.length - 1]);
  assertEquals(categoryColor(PALETTE.length), PALETTE[0]);
});

Deno.test("viridis clamps to [0, 1] and rounds between its samples", () => {
  assertEquals(viridis(-0.5), viridis(0));
  assertEquals(viridis(1.5), viridis(1));
  assertEquals([viridis(0), viridis(1)], [[0x44, 0x01, 0x54], [0xfd, 0xe7, 0x25]]);
  // Halfway between #440154 and #482475: 70, 18.5 and 100.5, rounded up.
  assertEquals(viridis(0.05), [70, 19, 101]);
  assertEquals(viridis(NaN), [128, 128, 128]);
});
