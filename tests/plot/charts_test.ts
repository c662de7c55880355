import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { heatmap, imageGrid, lineChart, niceTicks, scatterChart } from "../../lib/plot/charts.ts";
import { Canvas, textWidth } from "../../lib/plot/canvas.ts";
import { categoryColor, viridis } from "../../lib/plot/colors.ts";
import { glyph } from "../../lib/plot/_font.ts";
import { countColor, decodePng } from "./_decode_png.ts";

Deno.test("niceTicks steps by 1, 2 or 5 times a power of ten inside the range", () => {
  assertEquals(niceTicks(0, 10).ticks, [0, 2, 4, 6, 8, 10]);
  // Raw step 0.15 / 5 = 0.03 rounds up to 0.05; ticks stay inside the range.
  assertEquals(niceTicks(-0.03, 0.12).ticks, [0, 0.05, 0.1]);
  assertEquals(niceTicks(0.1, 0.35, 4).ticks, [0.1, 0.2, 0.3]);
  // An axis of categories (clusters 0 to 3, jittered): whole numbers only, not 0.5 steps.
  assertEquals(niceTicks(-0.4, 3.4, 9).ticks, [0, 0.5, 1, 1.5, 2, 2.5, 3]);
  assertEquals(niceTicks(-0.4, 3.4, 9, true).ticks, [0, 1, 2, 3]);
});

Deno.test("font covers printable ASCII and text draws the glyph pixels", () => {
  for (let c = 32; c < 127; c++) assertEquals(glyph(String.fromCharCode(c)).length, 5);
  // 'I' is columns 00 41 7f 41 00: 2 + 7 + 2 = 11 lit pixels.
  const cv = new Canvas(10, 10);
  cv.text("I", 1, 1, [0, 0, 0]);
  assertEquals(countColor(cv.rgba, [0, 0, 0]), 11);
  assertEquals(textWidth("abc"), 17);
  // Typographic dashes, the minus sign and × draw as their ASCII look-alikes, not '?'.
  for (const [u, a] of [["\u2013", "-"], ["\u2212", "-"], ["\u00d7", "x"], ["\u00b5", "u"]]) {
    assertEquals(glyph(u), glyph(a), `U+${u.charCodeAt(0).toString(16)}`);
  }
  assertEquals(glyph("\u2192"), glyph("?"));
  // Scale 2 quadruples the pixels; rotation keeps them.
  const c2 = new Canvas(30, 30);
  c2.text("I", 2, 20, [0, 0, 0], { scale: 2, rotate: true });
  assertEquals(countColor(c2.rgba, [0, 0, 0]), 44);
});

Deno.test("lineChart returns a PNG of the requested size that contains each series colour", () => {
  const png = lineChart([
    { name: "train", x: [1, 2, 3, 4], y: [1, 0.5, 0.2, 0.1] },
    { name: "val", x: [1, 2, 3, 4], y: [1.2, 0.7, NaN, 0.3] },
  ], { title: "Loss", xLabel: "epoch", yLabel: "loss", logY: true, width: 400, height: 300 });
  const d = decodePng(png);
  assertEquals([d.width, d.height], [400, 300]);
  assert(countColor(d.rgba, categoryColor(0)) > 100, "train line drawn");
  assert(countColor(d.rgba, categoryColor(1)) > 50, "val line drawn");
  assertThrows(() => lineChart([{ name: "a", x: [1], y: [] }]), TypeError, "y values");
});

Deno.test("scatterChart colours points by group", () => {
  const x = new Float64Array([0, 1, 2, 3]), y = new Float64Array([0, 1, 0, 1]);
  const d = decodePng(
    scatterChart({ x, y, groups: new Int32Array([0, 0, 2, 2]) }, { width: 300, height: 200 }),
  );
  assert(countColor(d.rgba, categoryColor(0)) > 0);
  assert(countColor(d.rgba, categoryColor(2)) > 0);
  // Group 1 has no points but appears in the legend with its marker.
  assert(countColor(d.rgba, categoryColor(1)) > 0);
  assertEquals(countColor(d.rgba, categoryColor(3)), 0);
});

Deno.test("heatmap puts row 0 at the bottom by default and at the top with originLower false", () => {
  // 2 x 1: row 0 = 0 (dark), row 1 = 1 (yellow). No colour bar, no labels: plot area only.
  const v = new Float32Array([0, 1]);
  const opts = { width: 200, height: 200, colorbar: false };
  for (const originLower of [true, false]) {
    const d = decodePng(heatmap(v, 2, 1, { ...opts, originLower }));
    // Sample the plot area's middle column, a quarter and three quarters down (top 16, bottom 36).
    const xMid = 66 + 57, yTop = 16 + 37, yBot = 16 + 111;
    const px = (y: number) =>
      Array.from(d.rgba.subarray((y * 200 + xMid) * 4, (y * 200 + xMid) * 4 + 3));
    const top = originLower ? viridis(1) : viridis(0),
      bottom = originLower ? viridis(0) : viridis(1);
    assertEquals(px(yTop), [...top], `originLower ${originLower} top`);
    assertEquals(px(yBot), [...bottom], `originLower ${originLower} bottom`);
  }
});

Deno.test("imageGrid lays out tiles by gridCols with the given tile size", () => {
  const im = { data: new Float32Array([0, 1, 2, 3, 4, 5]), rows: 2, cols: 3 };
  const d = decodePng(imageGrid([im, im, im], 2, { tileWidth: 30, tileHeight: 20 }));
  // Width: 2 tiles of 30 + 3 gaps of 6; height: top 8 + 2 rows of (20 + 6) + 6.
  assertEquals([d.width, d.height], [78, 66]);
  assert(countColor(d.rgba, viridis(1)) > 0 && countColor(d.rgba, viridis(0)) > 0);
  // A title longer than the tiles widens the image to hold it (scale 2 letters + 16 margin).
  const title = "A title wider than one tile";
  const t = decodePng(imageGrid([im], 1, { tileWidth: 30, tileHeight: 20, title }));
  assertEquals(t.width, textWidth(title, 2) + 16);
  assertThrows(
    () => imageGrid([{ data: new Float32Array(3), rows: 2, cols: 2 }], 1),
    TypeError,
    "rows * cols",
  );
});

Deno.test("imageGrid cuts a caption longer than its tile so that it stays under its own tile", () => {
  const im = { data: new Float32Array([0, 1, 2, 3]), rows: 2, cols: 2 };
  const long = { ...im, label: "Lahar/debris flow/outburst flood" };
  // Tiles 30 wide at x 6..35 and 42..71; captions drawn from y = 8 + 20 + 3 = 31, 7 px high.
  const d = decodePng(imageGrid([long, im], 2, { tileWidth: 30, tileHeight: 20 }));
  const black = (x0: number, x1: number) => {
    let n = 0;
    for (let y = 31; y < 38; y++) {
      for (let x = x0; x < x1; x++) {
        const o = (y * d.width + x) * 4;
        if (d.rgba[o] === 0 && d.rgba[o + 1] === 0 && d.rgba[o + 2] === 0) n++;
      }
    }
    return n;
  };
  assert(black(6, 36) > 0, "the caption is drawn under its tile");
  assertEquals(black(0, 6) + black(36, d.width), 0, "nothing of it spills beside the tile");
});
