import { assertEquals } from "../_assert.ts";
import { join } from "node:path";
import { writeFigure } from "../../lib/plot/figure.ts";

Deno.test("writeFigure writes the PNG, the SVG only when asked, removing an older SVG; nothing for a null figure", async () => {
  const dir = await Deno.makeTempDir();
  const base = join(dir, "fig");
  const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
  try {
    const draw = (f: "png" | "svg") => new TextEncoder().encode(f);
    assertEquals(await writeFigure(base, draw, true), true);
    assertEquals(await Deno.readTextFile(`${base}.png`), "png");
    assertEquals(await Deno.readTextFile(`${base}.svg`), "svg");
    // Drawn again without --svg: the older SVG would no longer match the PNG.
    assertEquals(await writeFigure(base, draw, false), true);
    assertEquals([await exists(`${base}.png`), await exists(`${base}.svg`)], [true, false]);
    assertEquals(await writeFigure(join(dir, "none"), () => null, true), false);
    assertEquals(await exists(join(dir, "none.png")), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
