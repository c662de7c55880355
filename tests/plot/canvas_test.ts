import { assertEquals } from "../_assert.ts";
import { Canvas, textAnchor } from "../../lib/plot/canvas.ts";

/** The pixels of a canvas that are not its background, as "x,y". */
function drawn(c: Canvas, background = [255, 255, 255]): string[] {
  const out: string[] = [];
  for (let y = 0; y < c.height; y++) {
    for (let x = 0; x < c.width; x++) {
      const o = (y * c.width + x) * 4;
      if ([0, 1, 2].some((i) => c.rgba[o + i] !== background[i])) out.push(`${x},${y}`);
    }
  }
  return out;
}

Deno.test("Canvas.set blends a translucent colour to the nearest level", () => {
  const c = new Canvas(1, 1, [0, 0, 0]);
  c.set(0, 0, [255, 255, 255], 0.5);
  assertEquals(Array.from(c.rgba), [128, 128, 128, 255]);
});

Deno.test("Canvas.line: Bresenham's pixels (a tie steps both ways), a 2-pixel line below and right of its path", () => {
  const c = new Canvas(6, 4);
  c.line(0, 0, 4, 2, [0, 0, 0]);
  assertEquals(drawn(c), ["0,0", "1,1", "2,1", "3,2", "4,2"]);
  const t = new Canvas(8, 8);
  t.line(2, 3, 5, 3, [0, 0, 0], 2);
  assertEquals(drawn(t), ["2,3", "3,3", "4,3", "5,3", "6,3", "2,4", "3,4", "4,4", "5,4", "6,4"]);
});

Deno.test("Canvas.dot of radius 2 covers the 21 pixels within sqrt(r² + r/2)", () => {
  const c = new Canvas(9, 9);
  c.dot(4, 4, 2, [0, 0, 0]);
  assertEquals(drawn(c).length, 21);
  assertEquals(drawn(c).includes("5,6") && !drawn(c).includes("6,6"), true);
});

Deno.test("Canvas.text advances a glyph and a space per letter; rotated text reads up from its anchor", () => {
  // "I" is columns 1-3 of its 5 (0x41, 0x7f, 0x41): the second one 6 pixels on.
  const c = new Canvas(14, 9);
  c.text("II", 0, 0, [0, 0, 0]);
  const cols = [...new Set(drawn(c).map((p) => Number(p.split(",")[0])))].sort((a, b) => a - b);
  assertEquals(cols, [1, 2, 3, 7, 8, 9]);
  // Rotated, glyph pixel (u, v) lands at (x + v, y − u − 1): the I's full column u = 2 on row 17.
  const r = new Canvas(30, 30);
  r.text("I", 10, 20, [0, 0, 0], { rotate: true });
  const row17 = drawn(r).filter((p) => p.endsWith(",17"));
  assertEquals(row17, ["10,17", "11,17", "12,17", "13,17", "14,17", "15,17", "16,17"]);
});

Deno.test("textAnchor rounds a centred or middle anchor's half pixel up", () => {
  const a = textAnchor("A", { align: "center", valign: "middle" });
  assertEquals([a.w, a.h, a.along, a.across], [5, 7, -2, -3]);
  assertEquals(textAnchor("AB", { align: "right", valign: "bottom" }).along, -11);
});
