import { assert, assertClose, assertEquals, assertThrows } from "../_assert.ts";
import {
  dateTicks,
  formatTick,
  heatmap,
  imageGrid,
  LINE_MARK_COLOR,
  lineChart,
  MARK_COLOR,
  niceTicks,
  placeLegend,
  scatterChart,
  stationChart,
  traceGrid,
} from "../../lib/plot/charts.ts";
import { Canvas, textWidth } from "../../lib/plot/canvas.ts";
import { categoryColor, viridis } from "../../lib/plot/colors.ts";
import { glyph } from "../../lib/plot/_font.ts";
import { countColor, countLineInTiles, decodePng, findText } from "./_decode_png.ts";

Deno.test("niceTicks steps by 1, 2 or 5 times a power of ten inside the range", () => {
  assertEquals(niceTicks(0, 10).ticks, [0, 2, 4, 6, 8, 10]);
  // Raw step 0.15 / 5 = 0.03 rounds up to 0.05; ticks stay inside the range.
  assertEquals(niceTicks(-0.03, 0.12).ticks, [0, 0.05, 0.1]);
  assertEquals(niceTicks(0.1, 0.35, 4).ticks, [0.1, 0.2, 0.3]);
  // Raw step 13.5 / 5 = 2.7 is below 3: step 2, not 5.
  assertEquals(niceTicks(0, 13.5).step, 2);
  assertEquals(niceTicks(0, 13.5).ticks, [0, 2, 4, 6, 8, 10, 12]);
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

Deno.test("placeLegend takes the first free spot in matplotlib's 'best' order, or none", () => {
  const plot = { left: 0, top: 0, w: 200, h: 100 }, box = { w: 50, h: 30 };
  assertEquals(placeLegend(plot, box, []), { x: 142, y: 8 }, "upper right when nothing is there");
  // A mark in the upper right corner: upper left.
  assertEquals(placeLegend(plot, box, [180, 20]), { x: 8, y: 8 });
  // Marks in the upper corners: lower left, then lower right.
  assertEquals(placeLegend(plot, box, [180, 20, 20, 20]), { x: 8, y: 62 });
  assertEquals(placeLegend(plot, box, [180, 20, 20, 20, 20, 80]), { x: 142, y: 62 });
  // A mark just outside the box still counts within `pad` pixels of it.
  assertEquals(placeLegend(plot, box, [140, 20], 0), { x: 142, y: 8 });
  assertEquals(placeLegend(plot, box, [140, 20], 3), { x: 8, y: 8 });
  // Marks at every corner and edge midpoint: no free spot.
  const everywhere = [20, 20, 100, 20, 180, 20, 20, 50, 180, 50, 20, 80, 100, 80, 180, 80];
  assertEquals(placeLegend(plot, box, everywhere), null);
});

/** Column of the plot area's right border: the rightmost column black over most of its height. */
function frameRight(d: { width: number; height: number; rgba: Uint8Array }): number {
  for (let x = d.width - 1; x >= 0; x--) {
    let run = 0;
    for (let y = 0; y < d.height; y++) {
      const o = (y * d.width + x) * 4;
      if (d.rgba[o] === 0 && d.rgba[o + 1] === 0 && d.rgba[o + 2] === 0) run++;
    }
    if (run > d.height / 2) return x;
  }
  return -1;
}

Deno.test("lineChart puts the legend in a corner the lines leave free", () => {
  // Rising lines fill the upper right corner (as k_selection.png's indices near the largest k)
  // and leave the upper left free.
  const x = [0, 1, 2, 3, 4, 5, 6, 7];
  const d = decodePng(lineChart([
    { name: "rising", x, y: x.map((v) => v * v) },
    { name: "flat top", x, y: x.map((v) => Math.min(v, 3) * 16) },
  ], { width: 400, height: 300 }));
  const at = findText(d, "rising");
  assertEquals(at.length, 1);
  assert(
    at[0].x < 200 && at[0].y < 150,
    `legend in the upper left: found at ${at[0].x}, ${at[0].y}`,
  );
  assert(findText(d, "flat top")[0].x < 200);
});

Deno.test("scatterChart puts the legend outside the plot area where no corner is free", () => {
  const xs: number[] = [], ys: number[] = [];
  for (let i = 0; i <= 20; i++) {
    for (let j = 0; j <= 20; j++) xs.push(i), ys.push(j);
  }
  const points = {
    x: Float64Array.from(xs),
    y: Float64Array.from(ys),
    groups: Int32Array.from(xs, (v) => v % 2),
  };
  const d = decodePng(scatterChart(points, { width: 400, height: 300 }));
  const at = findText(d, "cluster 0 (231)"), right = frameRight(d);
  assertEquals(at.length, 1);
  assert(right > 200, `found the plot area's right border at x = ${right}`);
  assert(at[0].x > right, `legend at x = ${at[0].x}, right of the plot area (${right})`);
  // A corner left free keeps the legend inside, in that corner: here the lower right.
  const keep = xs.map((v, i) => !(v > 9 && ys[i] < 8));
  const sparse = {
    x: Float64Array.from(xs.filter((_, i) => keep[i])),
    y: Float64Array.from(ys.filter((_, i) => keep[i])),
    groups: new Int32Array(keep.filter(Boolean).length),
  };
  const e = decodePng(scatterChart(sparse, { width: 400, height: 300 }));
  const inside = findText(e, `cluster 0 (${sparse.x.length})`);
  assertEquals(inside.length, 1);
  assert(inside[0].x > 200 && inside[0].x < frameRight(e), "lower right, inside the frame");
  assert(inside[0].y > 150);
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

Deno.test("imageGrid cuts a caption longer than its tile so that it stays above its own tile", () => {
  const im = { data: new Float32Array([0, 1, 2, 3]), rows: 2, cols: 2 };
  const long = { ...im, label: "Lahar/debris flow/outburst flood" };
  // Tiles 30 wide at x 6..35 and 42..71; one caption line from y = 8 + 1, 7 px high, above
  // the tiles (which start at y = 8 + 12).
  const d = decodePng(imageGrid([long, im], 2, { tileWidth: 30, tileHeight: 20 }));
  const black = (x0: number, x1: number) => {
    let n = 0;
    for (let y = 9; y < 16; y++) {
      for (let x = x0; x < x1; x++) {
        const o = (y * d.width + x) * 4;
        if (d.rgba[o] === 0 && d.rgba[o + 1] === 0 && d.rgba[o + 2] === 0) n++;
      }
    }
    return n;
  };
  assert(black(6, 36) > 0, "the caption is drawn above its tile");
  assertEquals(black(0, 6) + black(36, d.width), 0, "nothing of it spills beside the tile");
  assertEquals(findText(d, "Lah..").length, 1, "cut to the tile's width, ending in '..'");
});

Deno.test("imageGrid draws shared axes on the outer tiles, marks, captions and a colour bar", () => {
  // 3 tiles in 2 grid columns: tile 0 has tile 2 below it, tile 1 has none.
  const rows = 9, cols = 41;
  const data = Float32Array.from({ length: rows * cols }, (_, i) => i / (rows * cols));
  const images = [0, 1, 2].map((i) => ({ data, rows, cols, label: `sample ${i}\nclass ${i}` }));
  const opts = {
    xAxis: { extent: [-10, 30] as [number, number], label: "time (s)", marks: [0] },
    yAxis: { extent: [1, 9] as [number, number], label: "frequency (Hz)" },
    sharedScale: true,
    colorbarLabel: "PSD (counts^2/Hz)",
  };
  const d = decodePng(imageGrid(images, 2, opts));
  // Axis labels once each; the y label reads bottom to top.
  assertEquals(findText(d, "time (s)").length, 1);
  assertEquals(findText(d, "frequency (Hz)", { rotate: true }).length, 1);
  // x tick labels under the tiles with nothing below (tiles 1 and 2), not under tile 0.
  const x20 = findText(d, "20");
  assertEquals(x20.length, 2, JSON.stringify(x20));
  assert(x20[0].y < x20[1].y, "one under grid row 0 (tile 1), one under grid row 1 (tile 2)");
  assert(x20[0].x > x20[1].x, "tile 1 is in the second grid column, tile 2 in the first");
  // y tick labels left of the first grid column only: tiles 0 and 2.
  const y8 = findText(d, "8");
  assertEquals(y8.length, 2, JSON.stringify(y8));
  assertEquals(y8[0].x, y8[1].x);
  // Two-line captions, above each tile.
  for (let i = 0; i < 3; i++) {
    const a = findText(d, `sample ${i}`), b = findText(d, `class ${i}`);
    assertEquals([a.length, b.length], [1, 1], `caption ${i}`);
    assertEquals(b[0].y - a[0].y, 10);
  }
  assert(findText(d, "sample 0")[0].y < x20[0].y);
  // The t = 0 line crosses each tile (dashed: 4 of every 7 pixels of the 90-pixel height).
  assertEquals(countLineInTiles(d, MARK_COLOR), 3 * (12 * 4 + 4));
  // The colour bar: its gradient, its value ticks (shared scale 0 to 1) and its label.
  assert(countColor(d.rgba, viridis(0)) > 10 && countColor(d.rgba, viridis(1)) > 10);
  assertEquals(findText(d, "PSD (counts^2/Hz)").length, 1);
  assert(findText(d, "PSD (counts^2/Hz)")[0].y > x20[1].y, "the colour bar is under the grid");
  // A window without t = 0 gets no line; one scale per tile gets a bar from "min" to "max".
  const e = decodePng(
    imageGrid(images, 2, {
      ...opts,
      xAxis: { ...opts.xAxis, extent: [1, 41] },
      sharedScale: false,
    }),
  );
  assertEquals(countLineInTiles(e, MARK_COLOR), 0);
  assertEquals([findText(e, "min").length, findText(e, "max").length], [1, 1]);
  assertThrows(
    () => imageGrid(images, 2, { xAxis: { extent: [0, NaN], label: "t" } }),
    RangeError,
    "xAxis.extent",
  );
});

Deno.test("imageGrid keeps neighbouring tiles' x tick labels apart", () => {
  // Ticks at both ends of every tile: labels at the inner edges would touch ("60-20").
  const rows = 2, cols = 87;
  const data = new Float32Array(rows * cols);
  const images = [0, 1, 2].map(() => ({ data, rows, cols }));
  const d = decodePng(
    imageGrid(images, 3, { tileWidth: 180, xAxis: { extent: [-20, 66], label: "t (s)" } }),
  );
  // "-20" only at the grid's left edge, "60" under every tile.
  assertEquals(findText(d, "-20").length, 1);
  assertEquals(findText(d, "60").length, 3);
});

Deno.test("dateTicks puts ticks on UTC calendar boundaries suited to the span", () => {
  const labels = (lo: number, hi: number, target = 7) => {
    const t = dateTicks(lo, hi, target);
    for (const x of t) assert(x.pos >= lo && x.pos <= hi, `${x.label} inside the span`);
    return t.map((x) => x.label);
  };
  // 16 years (the ESEC events): every 4th year's 1 January.
  assertEquals(labels(Date.parse("2005-06-30T01:23:05Z"), Date.UTC(2021, 2, 1)), [
    "2008",
    "2012",
    "2016",
    "2020",
  ]);
  assertEquals(
    dateTicks(Date.UTC(2005, 0, 2), Date.UTC(2021, 0, 1), 7)[0].pos,
    Date.UTC(2008, 0, 1),
  );
  // 8 months: every other month's 1st.
  assertEquals(labels(Date.UTC(2020, 0, 15), Date.UTC(2020, 8, 20)), [
    "2020-03",
    "2020-05",
    "2020-07",
    "2020-09",
  ]);
  // 8 days (the demo): every other day.
  assertEquals(labels(Date.UTC(2024, 0, 1), Date.UTC(2024, 0, 9, 10)), [
    "2024-01-01",
    "2024-01-03",
    "2024-01-05",
    "2024-01-07",
    "2024-01-09",
  ]);
  // 50 days: the 1st and 15th of each month, never the 29th (a day before the next 1st).
  assertEquals(labels(Date.UTC(2024, 0, 20), Date.UTC(2024, 2, 10)), [
    "2024-02-01",
    "2024-02-15",
    "2024-03-01",
  ]);
  // 12 hours across midnight: every 2 h, the date under the first tick and at midnight.
  assertEquals(labels(Date.UTC(2024, 0, 1, 18), Date.UTC(2024, 0, 2, 6)), [
    "18:00\n2024-01-01",
    "20:00",
    "22:00",
    "00:00\n2024-01-02",
    "02:00",
    "04:00",
    "06:00",
  ]);
  // 90 seconds: every 15 s, with seconds.
  assertEquals(labels(Date.UTC(2024, 0, 1, 5, 0, 5), Date.UTC(2024, 0, 1, 5, 1, 35)), [
    "05:00:15\n2024-01-01",
    "05:00:30",
    "05:00:45",
    "05:01:00",
    "05:01:15",
    "05:01:30",
  ]);
});

Deno.test("scatterChart with xDates labels the x axis with calendar dates, not elapsed time", () => {
  const x = Float64Array.from(
    [2005.5, 2009.2, 2014.7, 2020.9],
    (y) => Date.UTC(Math.floor(y), Math.round((y % 1) * 12), 1),
  );
  const y = new Float64Array([0, 1, 0, 1]), groups = new Int32Array([0, 1, 0, 1]);
  const d = decodePng(scatterChart({ x, y, groups }, { xDates: true, width: 600, height: 300 }));
  // Plot area ends at y = 300 - 36; tick labels sit under it.
  for (const year of ["2008", "2012", "2016", "2020"]) {
    const at = findText(d, year);
    assertEquals(at.length, 1, year);
    assert(at[0].y > 300 - 36, `${year} under the plot`);
  }
  // Two points at one instant still get a readable hour-wide axis.
  const t = Date.UTC(2024, 0, 1, 12);
  const one = decodePng(
    scatterChart({
      x: new Float64Array([t, t]),
      y: y.subarray(0, 2),
      groups: groups.subarray(0, 2),
    }, {
      xDates: true,
    }),
  );
  assertEquals(findText(one, "12:00").length, 1);
});

Deno.test("heatmap labels its colour bar", () => {
  const v = Float32Array.from({ length: 24 }, (_, i) => i);
  const d = decodePng(
    heatmap(v, 2, 12, { width: 400, height: 300, colorbarLabel: "% of samples" }),
  );
  const at = findText(d, "% of samples", { rotate: true, scale: 2 });
  assertEquals(at.length, 1);
  // Right of the bar's tick labels: the plot area ends at 400 - 20 - 100.
  assert(at[0].x > 400 - 120 + 16 + 16, `${at[0].x}`);
});

Deno.test("lineChart's mark draws a dashed line and a ring on the marked point", () => {
  // A V whose vertex (5, 0) is the lowest point of the line.
  const opts = { width: 400, height: 300, mark: { x: 5, y: 0, label: "k = 5" } };
  const d = decodePng(lineChart([{ name: "a", x: [2, 5, 9], y: [1, 0, 1] }], opts));
  const px = (i: number) => (i / 4) % d.width, py = (i: number) => Math.floor(i / 4 / d.width);
  const marks: number[] = [], line: number[] = [];
  const [mr, mg, mb] = LINE_MARK_COLOR, [cr, cg, cb] = categoryColor(0);
  for (let i = 0; i < d.rgba.length; i += 4) {
    const [r, g, b] = [d.rgba[i], d.rgba[i + 1], d.rgba[i + 2]];
    if (r === mr && g === mg && b === mb) marks.push(i);
    if (r === cr && g === cg && b === cb) line.push(i);
  }
  // The dashed line: the column with the most mark pixels.
  const perCol = new Map<number, number>();
  for (const i of marks) perCol.set(px(i), (perCol.get(px(i)) ?? 0) + 1);
  const col = [...perCol.entries()].sort((a, b) => b[1] - a[1])[0][0];
  assert(perCol.get(col)! > 100, `dashed line: ${perCol.get(col)} pixels`);
  // The vertex: the line's lowest pixels (largest row), outside the legend at the top.
  const bottom = Math.max(...line.map(py));
  const vx = line.filter((i) => py(i) >= bottom - 1).map(px);
  const vertex = vx.reduce((a, b) => a + b, 0) / vx.length;
  assert(Math.abs(vertex - col) <= 1.5, `the line at column ${col}, the vertex at ${vertex}`);
  // The ring: mark pixels off the line and below the label, centred on the vertex.
  const ring = marks.filter((i) => Math.abs(px(i) - col) > 1 && py(i) > bottom - 20);
  assert(ring.length > 30, `ring: ${ring.length} pixels`);
  const cx = ring.map(px).reduce((a, b) => a + b, 0) / ring.length;
  const cy = ring.map(py).reduce((a, b) => a + b, 0) / ring.length;
  assert(Math.abs(cx - col) <= 1.5 && Math.abs(cy - bottom) <= 2, `ring centre ${cx}, ${cy}`);
  // Without a mark, nothing in its colour.
  const plain = decodePng(
    lineChart([{ name: "a", x: [2, 5, 9], y: [1, 0, 1] }], { ...opts, mark: undefined }),
  );
  assertEquals(countColor(plain.rgba, LINE_MARK_COLOR), 0);
});

Deno.test("lineChart keeps its legend off the mark's line, ring and label", () => {
  // A peak at x = 5 leaves both upper corners free; without a mark the legend takes the right.
  const s = [{ name: "peak", x: [0, 5, 10], y: [0, 1, 0] }];
  const opts = { width: 400, height: 300 };
  const plain = decodePng(lineChart(s, opts));
  const at0 = findText(plain, "peak");
  assertEquals(at0.length, 1);
  assert(at0[0].x > 200 && at0[0].y < 150, `legend in the upper right: ${at0[0].x}, ${at0[0].y}`);
  // A mark at x = 9 crosses that corner: the legend moves to the upper left, and the mark's
  // label is drawn whole in its colour.
  const d = decodePng(lineChart(s, { ...opts, mark: { x: 9, y: 0.2, label: "k = 9" } }));
  const at = findText(d, "peak");
  assertEquals(at.length, 1);
  assert(at[0].x < 200 && at[0].y < 150, `legend in the upper left: ${at[0].x}, ${at[0].y}`);
  assertEquals(findText(d, "k = 9", { color: LINE_MARK_COLOR }).length, 1);
});

Deno.test("traceGrid draws each trace's envelope scaled to its peak, the marks and the shaded edges", () => {
  const x = Float64Array.from({ length: 1001 }, (_, i) => -1 + i / 100);
  const y = x.map((t) => (Math.abs(t - 6) < 1e-9 ? 1 : Math.abs(t - 3) < 1e-9 ? -0.5 : 0));
  // Panel 100 x 60 at (10, 8): x = 10 + 10 (t + 1) px, zero at y 38, the peak 28 px from it.
  const d = decodePng(
    traceGrid([{ x, y }, null], 2, { tileWidth: 100, tileHeight: 60, marks: [0], window: [0, 8] }),
  );
  const px = (u: number, v: number) =>
    Array.from(d.rgba.subarray((v * d.width + u) * 4, (v * d.width + u) * 4 + 3));
  const trace = [20, 40, 120];
  const column = (u: number) => {
    const ys = [];
    for (let v = 8; v < 68; v++) if (px(u, v).join() === trace.join()) ys.push(v);
    return [Math.min(...ys), Math.max(...ys)];
  };
  assertEquals(column(80), [10, 38]); // +1 at t = 6: up to the top margin
  assertEquals(column(50), [38, 52]); // -0.5 at t = 3: half as far down
  assertEquals(column(60), [38, 38]); // 0
  // Dashed line at t = 0 (4 on, 3 off from the panel top; under the peak label at the top).
  assertEquals([px(20, 36), px(20, 40)], [[40, 40, 40], [255, 255, 255]]);
  assertEquals(px(15, 60), [225, 225, 225]); // before the window: shaded
  assertEquals(px(105, 60), [225, 225, 225]); // after it
  assertEquals(px(95, 60), [255, 255, 255]);
  assertEquals(d.width, 10 + 2 * 110);
  assertThrows(() => traceGrid([null], 1), RangeError, "no traces");
  assertThrows(
    () => traceGrid([{ x, y: y.subarray(1) }], 1),
    TypeError,
    "trace 0 has 1001 x values and 1000 y values",
  );
});

Deno.test("charts of degenerate data still draw: non-finite points skipped, one repeated value, nothing finite, a log axis over 20 decades, NaN heatmap cells", () => {
  // A scatter whose NaN and infinite points are skipped; the finite ones drawn.
  const x = new Float64Array([0, NaN, 1, Infinity, 2]), y = new Float64Array([0, 1, NaN, 1, 2]);
  const s = decodePng(
    scatterChart({ x, y, groups: new Int32Array([0, 1, 1, 1, 0]) }, { width: 240, height: 180 }),
  );
  assertEquals([s.width, s.height], [240, 180]);
  assert(countColor(s.rgba, categoryColor(0)) > 0, "the finite points drawn");
  assertThrows(
    () => scatterChart({ x, y: new Float64Array(2), groups: new Int32Array(5) }),
    TypeError,
    "x, y and groups must have equal lengths: found 5, 2, 5",
  );
  // Every value the same (a flat loss), and no finite value at all: axes padded, not 0-wide.
  for (const ys of [[3, 3, 3], [NaN, NaN, NaN]]) {
    const d = decodePng(
      lineChart([{ name: "a", x: [1, 2, 3], y: ys }], { width: 200, height: 150 }),
    );
    assertEquals([d.width, d.height], [200, 150]);
  }
  assert(
    countColor(
      decodePng(lineChart([{ name: "a", x: [1, 2, 3], y: [3, 3, 3] }], { width: 200, height: 150 }))
        .rgba,
      categoryColor(0),
    ) > 20,
    "a flat line is drawn",
  );
  // A log axis over 20 decades labels every few powers of ten.
  const wide = lineChart([{ name: "kl", x: [1, 2, 3], y: [1e-12, 1e-2, 1e8] }], {
    logY: true,
    width: 300,
    height: 220,
  });
  assert(countColor(decodePng(wide).rgba, categoryColor(0)) > 20, "the line over 20 decades");
  // A heatmap with NaN cells leaves them blank; a wrong size is refused.
  const h = decodePng(heatmap(new Float64Array([1, NaN, 3, 4]), 2, 2, { width: 320, height: 260 }));
  assertEquals([h.width, h.height], [320, 260]);
  assertThrows(
    () => heatmap(new Float64Array(3), 2, 2),
    TypeError,
    "expected rows * cols = 2 * 2 values: found 3",
  );
  assertThrows(() => lineChart([], { width: 40, height: 30 }), RangeError, "leave no room");
});

Deno.test("niceTicks moves to a step of 2 from a raw step of 1.5, and formatTick switches to exponents at 1e5 with the step's digits", () => {
  // Raw step 8 / 5 = 1.6: step 2, not 1.
  assertEquals(niceTicks(0, 8).ticks, [0, 2, 4, 6, 8]);
  assertEquals(niceTicks(0, 7.4).ticks, [0, 1, 2, 3, 4, 5, 6, 7]);
  assertEquals([formatTick(1e5, 2e4), formatTick(99999, 2e4)], ["1e5", "99999"]);
  // A step a tenth or less of the value: one decimal in the mantissa.
  assertEquals([formatTick(1.5e5, 5e3), formatTick(2e5, 1e5)], ["1.5e5", "2e5"]);
  // Decimals from the step, up to 6.
  assertEquals(formatTick(0.0015, 0.00005), "0.00150");
  assertEquals(formatTick(0.25, 1e-9), "0.250000");
});

Deno.test("dateTicks: months below three years; every third day from the 1st, none on the 31st a day before the next 1st", () => {
  const labels = (lo: number, hi: number, target = 7) =>
    dateTicks(lo, hi, target).map((x) => x.label);
  // 2.5 years: every 6 months, not yearly.
  assertEquals(labels(Date.UTC(2020, 1, 1), Date.UTC(2022, 7, 1)), [
    "2020-07",
    "2021-01",
    "2021-07",
    "2022-01",
    "2022-07",
  ]);
  // 16 days across the end of January: every third day of each month.
  assertEquals(labels(Date.UTC(2024, 0, 20), Date.UTC(2024, 1, 5)), [
    "2024-01-22",
    "2024-01-25",
    "2024-01-28",
    "2024-02-01",
    "2024-02-04",
  ]);
});

Deno.test("placeLegend counts a mark on the padded box's edge, and takes no spot left of or above the plot", () => {
  const plot = { left: 0, top: 0, w: 200, h: 100 }, box = { w: 50, h: 30 };
  // Upper right spans x 142..192, padded by 2 to 140..194: a mark at x = 140 is on it.
  assertEquals(placeLegend(plot, box, [140, 20], 2), { x: 8, y: 8 });
  assertEquals(placeLegend(plot, box, [139, 20], 2), { x: 142, y: 8 });
  // A box nearly as wide as the plot: the upper right spot would start left of it.
  assertEquals(placeLegend(plot, { w: 195, h: 30 }, []), { x: 8, y: 8 });
});

const svgText = (b: Uint8Array) => new TextDecoder().decode(b);
/** The bodies of an SVG's text elements, in drawing order. */
const texts = (svg: string) => [...svg.matchAll(/<text [^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
/** A text element's x and y by its body (the first with it). */
function textAt(svg: string, body: string): [number, number] {
  const m = [...svg.matchAll(/<text x="([\d.-]+)" y="([\d.-]+)"[^>]*>([^<]*)<\/text>/g)]
    .find((m) => m[3] === body);
  assert(m, `text ${body}`);
  return [Number(m[1]), Number(m[2])];
}
/** Filled rectangles of a size and colour: their x and y. */
const rects = (svg: string, w: number | string, h: number | string, fill: string) =>
  [
    ...svg.matchAll(
      new RegExp(`<rect x="(\\d+)" y="(\\d+)" width="${w}" height="${h}" fill="${fill}"/>`, "g"),
    ),
  ].map((m) => [Number(m[1]), Number(m[2]), Number(m[3] ?? NaN)]);
const hex = (c: readonly number[]) => "#" + c.map((v) => v.toString(16).padStart(2, "0")).join("");

Deno.test("chart frames: 66 px left without a y label, 84 with; 16 px top without a title, 40 with", () => {
  const one = [{ name: "a", x: [0, 1], y: [0, 1] }];
  // The plot outline is the area less margins, 1 pixel out: strokeRect(left - 1, top - 1, ...).
  const frameOf = (svg: string) =>
    svg.match(
      /<rect x="([\d.]+)" y="([\d.]+)" width="(\d+)" height="(\d+)" fill="none" stroke="#000000"\/>/,
    )!
      .slice(1).map(Number);
  assertEquals(frameOf(svgText(lineChart(one, { format: "svg" }))), [65.5, 15.5, 715, 449]);
  assertEquals(
    frameOf(svgText(lineChart(one, { format: "svg", title: "t", xLabel: "x", yLabel: "y" }))),
    [83.5, 39.5, 697, 405],
  );
});

Deno.test("scatterChart: ticks where their values fall on an axis padded 4 %, and points on the ticks of their values", () => {
  const svg = svgText(scatterChart({
    x: Float64Array.of(0, 50, 100),
    y: Float64Array.of(0, 40, 100),
    groups: Int32Array.of(0, 0, 0),
  }, { format: "svg", width: 500 }));
  // Plot area 66..480 × 16..464 (414 × 448); both axes span −4..104.
  const px = (v: number) => Math.round(66 + ((v + 4) / 108) * 413);
  const py = (v: number) => Math.round(16 + 447 - ((v + 4) / 108) * 447);
  // 414 px wide: 4 ticks' room (one per 90 px), so a step of 50.
  assertEquals(rects(svg, 1, 5, "#000000").map((r) => r[0]), [0, 50, 100].map(px));
  assertEquals(rects(svg, 5, 1, "#000000").map((r) => r[1]), [0, 20, 40, 60, 80, 100].map(py));
  const dots = [
    ...svg.matchAll(
      /<circle cx="([\d.]+)" cy="([\d.]+)" r="3" fill="#[0-9a-f]{6}" fill-opacity="0.8"\/>/g,
    ),
  ]
    .map((m) => [Number(m[1]) - 0.5, Number(m[2]) - 0.5]);
  assertEquals(dots, [[px(0), py(0)], [px(50), py(40)], [px(100), py(100)]]);
});

Deno.test("lineChart axes: one repeated value padded by a tenth, a log axis skips values <= 0, 1-2-5 labels up to 2.5 decades, decades every other over 8", () => {
  const at = (y: number[], logY = false) =>
    texts(svgText(lineChart([{ name: "a", x: y.map((_, i) => i), y }], { format: "svg", logY })));
  // 100 twice: 90..110, not 99.5..100.5.
  const flat = at([100, 100]);
  assert(flat.includes("90") && flat.includes("110") && !flat.includes("99.6"), flat.join());
  // A 0 on a log axis is skipped as a NaN is.
  const zero = [{ name: "a", x: [0, 1, 2, 3], y: [0, 1, 10, 100] }];
  const nan = [{ name: "a", x: [0, 1, 2, 3], y: [NaN, 1, 10, 100] }];
  assertEquals(lineChart(zero, { logY: true }), lineChart(nan, { logY: true }));
  // 1 to 200: 2.3 decades, labelled 1, 2 and 5 times each power of ten.
  const y125 = at([1, 200], true);
  for (const l of ["1", "2", "5", "10", "20", "50", "100", "200"]) assert(y125.includes(l), l);
  // 1 to 1e8 on 448 px (8 labels' room): every other decade, 10000 written out, 1e6 not.
  const decades = at([1, 1e8], true).filter((l) => /^1(0*|e\d)$/.test(l));
  assertEquals(decades, ["1", "100", "10000", "1e6", "1e8"]);
});

Deno.test("lineChart: an isolated point gets a dot, the mark's dashes are 5 on 3 off, more than 20 series show '+N more'", () => {
  const svg = svgText(lineChart([{ name: "a", x: [0, 1, 2, 3, 4], y: [1, NaN, 2, NaN, 3] }], {
    format: "svg",
  }));
  assertEquals([...svg.matchAll(/<circle [^>]*fill="#1f77b4"/g)].length, 3);
  // A dashed mark across the 448-pixel plot from y = 16 (a multiple of 8): 56 dashes of 5.
  const png = decodePng(lineChart([{ name: "a", x: [0, 1, 2, 10], y: [0, 1, NaN, 1] }], {
    mark: { x: 5 },
  }));
  assertEquals(countColor(png.rgba, LINE_MARK_COLOR), 56 * 5);
  const many = Array.from({ length: 25 }, (_, k) => ({ name: `s${k}`, x: [0, 1], y: [k, k] }));
  const legend = texts(svgText(lineChart(many, { format: "svg" })));
  assert(
    legend.includes("s19") && !legend.includes("s20") && legend.includes("+5 more"),
    legend.join(),
  );
});

Deno.test("scatterChart with xDates shows an hour around samples under 2 minutes apart", () => {
  const t0 = Date.UTC(2024, 0, 1, 12);
  const svg = svgText(scatterChart({
    x: Float64Array.of(t0, t0 + 90_000),
    y: Float64Array.of(0, 1),
    groups: Int32Array.of(0, 0),
  }, { format: "svg", xDates: true }));
  // 11:30:45 to 12:30:45: every 10 minutes.
  assertEquals(texts(svg).filter((l) => /^\d\d:\d\d$/.test(l)), [
    "11:40",
    "11:50",
    "12:00",
    "12:10",
    "12:20",
    "12:30",
  ]);
});

Deno.test("heatmap: annotations to 3 digits, white below 0.6 of the scale; the colour bar yellow at the top", () => {
  const svg = svgText(
    heatmap(Float64Array.of(0, 0.55, 0.7, 1), 1, 4, { format: "svg", annotate: true }),
  );
  assert(/fill="#ffffff">0\.550<\/text>/.test(svg), "0.55 in white");
  assert(/fill="#000000">0\.700<\/text>/.test(svg), "0.7 in black");
  const bar = [
    ...svg.matchAll(/<rect x="\d+" y="(\d+)" width="16" height="1" fill="(#[0-9a-f]{6})"\/>/g),
  ];
  assertEquals([bar[0][2], bar.at(-1)![2]], [hex(viridis(1)), hex(viridis(0))]);
});

Deno.test("heatmap: column names every other where two would touch, row names every other below 12 px a row, the plot moved right for wide names", () => {
  // 24 columns on 334 px: 13.9 px a column, a name 11 px + 6 wide.
  const cols = Array.from({ length: 24 }, (_, c) => String(c).padStart(2, "0"));
  const c = texts(
    svgText(heatmap(new Float64Array(24), 1, 24, { format: "svg", width: 500, colLabels: cols })),
  );
  assertEquals(c.filter((l) => /^\d\d$/.test(l)), cols.filter((_, i) => i % 2 === 0));
  // 40 rows on 448 px: 11.2 px a row.
  const rows = Array.from({ length: 40 }, (_, r) => `r${r}`);
  const r = texts(
    svgText(heatmap(new Float64Array(40), 40, 1, { format: "svg", rowLabels: rows })),
  );
  assertEquals(r.filter((l) => /^r\d+$/.test(l)), rows.filter((_, i) => i % 2 === 0));
  // A 119-pixel row name: the plot starts 12 px right of it, at 131.
  const wide = svgText(
    heatmap(new Float64Array(1), 1, 1, { format: "svg", rowLabels: ["x".repeat(20)] }),
  );
  assert(wide.includes('<rect x="130.5" y="15.5"'), wide);
});

Deno.test("heatmap: x ticks at the centres of the columns their values fall in", () => {
  const svg = svgText(heatmap(new Float64Array(11), 1, 11, { format: "svg", xExtent: [0, 10] }));
  // 634 px for 11 columns; 7 ticks' room: 0, 2, ..., 10, each at its column's centre.
  const cellW = 634 / 11;
  assertEquals(
    rects(svg, 1, 5, "#000000").map((r) => r[0]),
    [0, 2, 4, 6, 8, 10].map((v) => Math.round(66 + (v + 0.5) * cellW)),
  );
});

Deno.test("imageGrid: y ticks from the bottom with origin lower, 12 px apart at least; marks from the tile's first pixel, none on an empty tile", () => {
  // 10 rows of 9 px: a tick a row would be 9 px apart, so every other row.
  const im = { data: new Float32Array(10).map((_, i) => i), rows: 10, cols: 1 };
  const svg = svgText(imageGrid([im], 1, { format: "svg", yAxis: { extent: [0, 9], label: "f" } }));
  assertEquals(texts(svg).filter((l) => /^\d$/.test(l)), ["0", "2", "4", "6", "8"]);
  assert(textAt(svg, "0")[1] > textAt(svg, "8")[1], "0 below 8");
  // A mark half a column before the first column's value lands on the tile's first pixel.
  const mark = (data: Float32Array) =>
    rects(
      svgText(imageGrid([{ data, rows: 1, cols: 10 }], 1, {
        format: "svg",
        xAxis: { extent: [0, 9], label: "t", marks: [-0.5] },
      })),
      1,
      4,
      hex(MARK_COLOR),
    );
  assert(mark(new Float32Array(10)).length > 0, "mark drawn at the tile's left edge");
  assertEquals(mark(new Float32Array(10).fill(NaN)), []);
});

Deno.test("imageGrid's colour bar: viridis(0) to viridis(1) end to end; min left and max right without a shared scale; a caption as wide as its tile kept whole", () => {
  const im = { data: Float32Array.of(0, 1), rows: 1, cols: 2, label: "x".repeat(20) };
  const svg = svgText(imageGrid([im], 1, { format: "svg", colorbarLabel: "v", tileWidth: 119 }));
  const bar = [
    ...svg.matchAll(/<rect x="\d+" y="\d+" width="1" height="10" fill="(#[0-9a-f]{6})"\/>/g),
  ]
    .map((m) => m[1]);
  assertEquals([bar[0], bar.at(-1)], [hex(viridis(0)), hex(viridis(1))]);
  assert(textAt(svg, "min")[0] < textAt(svg, "max")[0], "min left of max");
  // 20 letters are 119 px: they fit a 119-pixel tile.
  assert(texts(svg).includes("x".repeat(20)), texts(svg).join());
});

Deno.test("traceGrid: shading to the nearest pixel, marks at the pixel they fall in, envelopes joined column to column, the peak to 2 digits, row names only for rows there are", () => {
  // x 0..180 over 180 px: a pixel per unit.
  const x = Float64Array.from({ length: 181 }, (_, i) => i);
  const y = Float64Array.from(x, (v) => (v === 90 ? 0.0123 : 0));
  const svg = svgText(traceGrid([{ x, y }], 1, {
    format: "svg",
    window: [10.6, 170],
    marks: [30.6],
    rowLabels: ["a", "b"],
  }));
  // The tiles start after the gap (10) and the row names (5 px + 12).
  const left = 10 + 5 + 12;
  assertEquals(rects(svg, 11, 70, "#e1e1e1").map((r) => r[0]), [left]);
  assertEquals(rects(svg, 1, 4, hex(LINE_MARK_COLOR)).map((r) => r[0])[0], left + 30);
  const t = texts(svg);
  assert(t.includes("peak 0.012") && t.includes("a") && !t.includes("b"), t.join());
  const small = texts(svgText(traceGrid([{ x, y: y.map((v) => v / 2.46) }], 1, { format: "svg" })));
  assert(small.includes("peak 0.005"), small.join());
  // y alternating 0, 10 at 60 px apart: each column's bar reaches back to the previous sample.
  const zig = svgText(
    traceGrid([{ x: Float64Array.of(0, 1, 2, 3), y: Float64Array.of(0, 10, 0, 10) }], 1, {
      format: "svg",
    }),
  );
  const heights = [
    ...zig.matchAll(/<rect x="\d+" y="\d+" width="1" height="(\d+)" fill="#142878"\/>/g),
  ]
    .map((m) => Number(m[1]));
  assertEquals(heights, [1, 34, 34, 34]);
});

Deno.test("stationChart: one scale at the middle latitude, no latitude past the pole, ticks below -180 read as longitudes east", () => {
  const bars = (svg: string) =>
    [...svg.matchAll(/<rect x="(\d+)" y="(\d+)" width="30" height="8"/g)].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ]);
  const [a, b] = bars(svgText(stationChart([
    { name: "A", longitude: 0, latitude: 0, counts: [1] },
    { name: "B", longitude: 10, latitude: 60, counts: [1] },
  ], { format: "svg" })));
  // 10 degrees of longitude at 30 N against 60 of latitude.
  assertClose([(b[0] - a[0]) / (a[1] - b[1])], [10 * Math.cos(Math.PI / 6) / 60], 0, 0.02);
  const pole = texts(svgText(stationChart([
    // Half a world apart in longitude: the plot spans degrees more latitude than they do.
    { name: "A", longitude: -90, latitude: 89.9, counts: [1] },
    { name: "B", longitude: 90, latitude: 89.95, counts: [1] },
  ], { format: "svg" })));
  // The latitude ticks (the longitude ticks are multiples of 50) end at 90.
  assertEquals(pole.filter((l) => Number(l) > 80 && Number(l) < 100), [
    "83",
    "84",
    "85",
    "86",
    "87",
    "88",
    "89",
    "90",
  ]);
  const west = texts(svgText(stationChart([
    { name: "A", longitude: -179.9, latitude: 0, counts: [1] },
    { name: "B", longitude: -179, latitude: 1, counts: [1] },
  ], { format: "svg" })));
  assert(west.includes("179.5") && !west.some((l) => Number(l) < -180), west.join());
});

Deno.test("glyph draws '~', the last printable ASCII character, not '?'", () => {
  assertEquals(glyph("~"), [0x08, 0x04, 0x08, 0x10, 0x08]);
});

Deno.test("stationChart leaves out a label that would come within 2 pixels of one drawn", () => {
  // A and B on the equator, C 10 degrees east to fix the scale; B moved east until its bar is
  // 24, then 25 pixels right of A's. Labels of 4 letters are 23 px wide: 1 px apart is too close.
  const at = new Map<number, string[]>();
  for (let d = 0.3; d < 0.6 && at.size < 2; d += 0.002) {
    const svg = svgText(stationChart([
      { name: "AAAA", longitude: 0, latitude: 0, counts: [1] },
      { name: "BBBB", longitude: d, latitude: 0, counts: [1] },
      { name: "CCCC", longitude: 10, latitude: 0, counts: [1] },
    ], { format: "svg" }));
    const x = [...svg.matchAll(/<rect x="(\d+)" y="\d+" width="30" height="8"/g)].map((m) =>
      Number(m[1])
    );
    const gap = x[1] - x[0];
    if ((gap === 24 || gap === 25) && !at.has(gap)) at.set(gap, texts(svg));
  }
  assertEquals([...at.keys()].sort(), [24, 25]);
  assert(!at.get(24)!.includes("BBBB") && at.get(24)!.includes("AAAA"), at.get(24)!.join());
  assert(at.get(25)!.includes("BBBB"), at.get(25)!.join());
});

Deno.test("a legend outside sits 12 px right of a plot narrowed by its width and 10 px, 34 px wider than its longest name, rows 14 px apart", () => {
  const xs: number[] = [], ys: number[] = [];
  for (let i = 0; i <= 20; i++) for (let j = 0; j <= 20; j++) xs.push(i), ys.push(j);
  const svg = svgText(scatterChart({
    x: Float64Array.from(xs),
    y: Float64Array.from(ys),
    groups: Int32Array.from(xs, (v) => v % 2),
  }, { format: "svg", width: 400, height: 300 }));
  // "cluster 0 (231)" is 89 px: a box 123 wide, 2 rows of 14 + 8 tall.
  const box = svg.match(
    /<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)" fill="#ffffff" fill-opacity="0.85"\/>/,
  )!
    .slice(1).map(Number);
  assertEquals(box.slice(2), [123, 36]);
  // The plot is 400 − 66 − (20 + 123 + 10) = 181 px wide; the legend 12 px right of it.
  const frame = svg.match(/<rect x="65.5" y="15.5" width="(\d+)"/)!;
  assertEquals(Number(frame[1]), 181 + 1);
  assertEquals(box[0], 66 + 181 + 12);
  assertEquals(textAt(svg, "cluster 1 (210)")[1] - textAt(svg, "cluster 0 (231)")[1], 14);
});

Deno.test("heatmap: flat data at the bottom of the scale, not blank; vmax sets the top", () => {
  const flat = decodePng(heatmap(new Float64Array(4).fill(5), 2, 2));
  assertEquals(countColor(flat.rgba, [128, 128, 128]), 0);
  assert(countColor(flat.rgba, viridis(0)) > 600 * 400, "every cell viridis(0)");
  const top = decodePng(heatmap(Float64Array.of(0, 1), 1, 2, { vmax: 2 }));
  assert(countColor(top.rgba, viridis(0.5)) > 300 * 400, "1 of 0..2 half way up");
});

Deno.test("scatterChart draws more than 5000 points smaller and fainter", () => {
  const n = 5001;
  const svg = svgText(scatterChart({
    x: Float64Array.from({ length: n }, (_, i) => i),
    y: Float64Array.from({ length: n }, (_, i) => i % 7),
    groups: new Int32Array(n),
  }, { format: "svg" }));
  assertEquals(
    [...svg.matchAll(/<circle [^>]*r="2" fill="#1f77b4" fill-opacity="0.5"\/>/g)].length,
    n,
  );
});

Deno.test("lineChart's mark: a ring 2 px wide from radius 6 to 7.5, its label 4 px right of the line", () => {
  const s = [{ name: "a", x: [0, 10], y: [0, 1] }];
  const d = decodePng(lineChart(s, { mark: { x: 5, y: 0.5 } }));
  // The line at x = 5 of −0.4..10.4 on 714 px from 66: column 423.
  const markX = Math.round(66 + (5.4 / 10.8) * 713);
  let off = 0;
  for (let i = 0; i < d.rgba.length; i += 4) {
    const [r, g, b] = d.rgba.subarray(i, i + 3);
    if ((i / 4) % d.width !== markX && r === 40 && g === 40 && b === 40) off++;
  }
  let ring = 0;
  for (let dy = -8; dy <= 8; dy++) {
    for (let dx = -8; dx <= 8; dx++) {
      const h = Math.hypot(dx, dy);
      if (dx !== 0 && h >= 6 && h <= 7.5) ring++;
    }
  }
  assertEquals(off, ring);
  const svg = svgText(lineChart(s, { format: "svg", mark: { x: 5, label: "k = 5" } }));
  assertEquals(textAt(svg, "k = 5")[0], markX + 4);
});

Deno.test("imageGrid labels y ticks left of the first column only", () => {
  const im = { data: Float32Array.of(0, 1, 2, 3), rows: 4, cols: 1 };
  const svg = svgText(
    imageGrid([im, im], 2, { format: "svg", yAxis: { extent: [1, 4], label: "f" } }),
  );
  assertEquals(texts(svg).filter((l) => l === "4").length, 1);
});

Deno.test("dateTicks: minutes below three hours, the coarser step only past target", () => {
  const labels = (lo: number, hi: number) => dateTicks(lo, hi, 7).map((x) => x.label);
  // 2.5 hours: every 30 minutes, not hourly.
  assertEquals(labels(Date.UTC(2024, 0, 1, 12), Date.UTC(2024, 0, 1, 14, 30)), [
    "12:00\n2024-01-01",
    "12:30",
    "13:00",
    "13:30",
    "14:00",
    "14:30",
  ]);
  // 14 days: every other day makes 7 ticks, the most allowed.
  assertEquals(dateTicks(Date.UTC(2024, 0, 2), Date.UTC(2024, 0, 16), 7).length, 7);
});

Deno.test("imageGrid and traceGrid label x ticks that reach a little into the gap, and under a tile with none below", () => {
  // 120 columns on 120 px: the tick at 0 is 0.5 px into the tile; its label 2 px into the gap.
  const im = { data: new Float32Array(120), rows: 1, cols: 120 };
  const svg = svgText(
    imageGrid([im, im], 2, { format: "svg", xAxis: { extent: [0, 119], label: "t" } }),
  );
  assertEquals(texts(svg).filter((l) => l === "0").length, 2);
  // Three traces on two columns: the second has none below it, so its ticks are labelled too.
  const t = { x: Float64Array.of(0, 10), y: Float64Array.of(0, 1) };
  const grid = texts(svgText(traceGrid([t, t, t], 2, { format: "svg" })));
  assertEquals(grid.filter((l) => l === "10").length, 2);
});

Deno.test("imageGrid: 10 px a caption line; ticks as dense as 8 a tile where they fit", () => {
  const im = { data: new Float32Array(11), rows: 1, cols: 11 };
  const h = (label?: string) => decodePng(imageGrid([{ ...im, label }], 1)).height;
  assertEquals(h("a\nb") - h(), 2 * 10 + 2);
  // 0 to 10 over 400 px: a tick per unit fits.
  const svg = svgText(imageGrid([im], 1, {
    format: "svg",
    tileWidth: 400,
    xAxis: { extent: [0, 10], label: "t" },
  }));
  assertEquals(texts(svg).filter((l) => /^\d+$/.test(l)).length, 11);
});

Deno.test("scatterChart lists every named group in the legend, even one without points", () => {
  const svg = svgText(scatterChart({
    x: Float64Array.of(0, 1),
    y: Float64Array.of(0, 1),
    groups: Int32Array.of(0, 0),
    groupNames: ["a", "b", "c"],
  }, { format: "svg" }));
  assert(texts(svg).includes("c (0)") && texts(svg).includes("a (2)"), texts(svg).join());
});

Deno.test("stationChart: labels up to 80 stations, each bar outlined 1 px out", () => {
  const many = Array.from({ length: 50 }, (_, i) => ({
    name: `S${i}`,
    longitude: (i % 10) * 2,
    latitude: Math.floor(i / 10) * 2,
    counts: [1],
  }));
  const svg = svgText(stationChart(many, { format: "svg" }));
  assert(texts(svg).includes("S0"), "labelled");
  const bar = svg.match(/<rect x="(\d+)" y="(\d+)" width="30" height="8" fill="#1f77b4"\/>/)!;
  const [x, y] = [Number(bar[1]), Number(bar[2])];
  assert(
    svg.includes(
      `<rect x="${x - 0.5}" y="${y - 0.5}" width="31" height="9" fill="none" stroke="#6e6e6e"/>`,
    ),
    "outline",
  );
});

Deno.test("traceGrid draws a zero line across each panel", () => {
  const svg = svgText(traceGrid([{ x: Float64Array.of(0, 1), y: Float64Array.of(1, 1) }], 1, {
    format: "svg",
  }));
  assert(svg.includes('width="180" height="1" fill="#e6e6e6"/>'), svg);
});

Deno.test("scatterChart refuses a yRange that does not rise, naming it", () => {
  const pts = { x: Float64Array.of(0, 1), y: Float64Array.of(0, 1), groups: Int32Array.of(0, 0) };
  for (const yRange of [[1, 1], [2, -2], [0, NaN]] as [number, number][]) {
    let msg = "";
    try {
      scatterChart(pts, { yRange });
    } catch (e) {
      msg = (e as Error).message;
    }
    assertEquals(msg, `Cannot draw scatter chart: yRange must rise: found [${yRange.join(", ")}]`);
  }
});
