import { assert, assertClose, assertEquals, assertThrows } from "../_assert.ts";
import { categoryColor } from "../../lib/plot/colors.ts";
import {
  heatmap,
  imageGrid,
  lineChart,
  scatterChart,
  STATION_BAR,
  stationChart,
  traceGrid,
} from "../../lib/plot/charts.ts";
import { escapeXml, SvgCanvas } from "../../lib/plot/svg.ts";
import { Canvas, type Surface } from "../../lib/plot/canvas.ts";
import { decodePng } from "./_decode_png.ts";
import { replaySvg } from "./_replay_svg.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const assertStringIncludes = (s: string, part: string) =>
  assert(s.includes(part), `expected ${JSON.stringify(part)} in the SVG`);

/** Draws a chart both ways; the SVG, replayed, must give the PNG's every pixel. */
function samePixels(
  name: string,
  draw: (format: "png" | "svg") => Uint8Array,
): Record<string, number> {
  const png = decodePng(draw("png"));
  const svg = text(draw("svg"));
  assert(svg.startsWith("<?xml"), `${name}: an XML document`);
  const { canvas, counts } = replaySvg(svg);
  assertEquals([canvas.width, canvas.height], [png.width, png.height], name);
  let differ = 0, first = -1;
  for (let i = 0; i < png.rgba.length; i++) {
    if (png.rgba[i] !== canvas.rgba[i]) {
      differ++;
      if (first < 0) first = i;
    }
  }
  const at = first < 0
    ? ""
    : ` first at pixel (${(first >> 2) % png.width}, ${
      Math.floor((first >> 2) / png.width)
    }): png ${png.rgba.subarray(first & ~3, (first & ~3) + 4)} svg ${
      canvas.rgba.subarray(first & ~3, (first & ~3) + 4)
    }`;
  assertEquals(differ, 0, `${name}: ${differ} bytes differ${at}`);
  return counts;
}

Deno.test("every chart's SVG replays to the pixels of its PNG: line chart with a mark and a legend", () => {
  const x = Array.from({ length: 40 }, (_, i) => i + 1);
  const counts = samePixels("lineChart", (format) =>
    lineChart([
      { name: "train", x, y: x.map((v) => 1 / v) },
      { name: "validation", x, y: x.map((v, i) => (i === 7 ? NaN : 1.3 / v)) },
    ], {
      title: "Learning curve",
      xLabel: "epoch",
      yLabel: "MSE",
      logY: true,
      mark: { x: 20, y: 0.05, label: "best" },
      format,
    }));
  // Polylines, not one element per segment: train is one path, validation two (broken at NaN);
  // the legend draws one short line per entry.
  assertEquals(counts.path, 5, JSON.stringify(counts));
  // The dashed mark and the ring are pixels, embedded as images.
  assert(counts.image >= 1 && counts.text >= 8, JSON.stringify(counts));
});

Deno.test("every chart's SVG replays to the pixels of its PNG: scatter with dates and a legend outside", () => {
  const n = 400, t0 = Date.UTC(2024, 0, 1);
  const counts = samePixels("scatterChart", (format) =>
    scatterChart({
      x: Float64Array.from({ length: n }, (_, i) => t0 + i * 3_600_000),
      y: Float64Array.from({ length: n }, (_, i) => Math.sin(i / 9) * 3 + (i % 7)),
      groups: Int32Array.from({ length: n }, (_, i) => i % 5),
    }, { title: "Timeline", xDates: true, yIntegers: true, format, width: 500, height: 320 }));
  assert(counts.circle >= n, JSON.stringify(counts));
});

Deno.test("every chart's SVG replays to the pixels of its PNG: heat map with labels, annotations and a colour bar", () => {
  const rows = 5, cols = 24;
  const v = Float64Array.from({ length: rows * cols }, (_, i) => (i * 7) % 13);
  v[3] = NaN;
  const counts = samePixels("heatmap", (format) =>
    heatmap(v, rows, cols, {
      title: "Hour of day",
      rowLabels: ["cluster 0 (13 events)", "c1", "c2", "c3", "c4"],
      colLabels: Array.from({ length: cols }, (_, i) => String(i)),
      annotate: true,
      colorbarLabel: "share (%)",
      xLabel: "hour",
      format,
    }));
  assertEquals(counts.image, 1, "the cells are one embedded image");
});

Deno.test("every chart's SVG replays to the pixels of its PNG: image grid and trace grid", () => {
  const rows = 9, cols = 41;
  const data = Float32Array.from({ length: rows * cols }, (_, i) => Math.cos(i / 17));
  const images = [0, 1, 2].map((i) => ({ data, rows, cols, label: `sample ${i}\nclass ${i}` }));
  samePixels("imageGrid", (format) =>
    imageGrid(images, 2, {
      title: "Examples",
      rowLabels: ["cluster 0", "cluster 1"],
      xAxis: { extent: [-10, 30], label: "time (s)", marks: [0] },
      yAxis: { extent: [1, 9], label: "frequency (Hz)" },
      sharedScale: true,
      colorbarLabel: "PSD (dB)",
      format,
    }));
  const x = Float64Array.from({ length: 1001 }, (_, i) => -1 + i / 100);
  const y = x.map((t) => Math.sin(t * 9) * Math.exp(-Math.abs(t - 2)));
  samePixels(
    "traceGrid",
    (format) =>
      traceGrid([{ x, y, label: "CH.STA1" }, null, { x, y: y.map((v) => -2 * v) }], 2, {
        title: "Waveforms",
        rowLabels: ["cluster 0", "cluster 1"],
        xLabel: "time (s)",
        yLabel: "counts",
        marks: [0],
        window: [0, 8],
        format,
      }),
  );
});

Deno.test("SVG text is escaped, kept whole and given the bitmap font's width", () => {
  const svg = text(
    lineChart([{ name: `a < b & "c"`, x: [0, 1], y: [0, 1] }], {
      title: "P\u2013S <& 'x'",
      format: "svg",
    }),
  );
  assertStringIncludes(svg, "a &#60; b &#38; &#34;c&#34;");
  // The en dash is kept (the bitmap font draws '-'), and the width is the 10 glyphs' at scale 2.
  assertStringIncludes(svg, `textLength="118" lengthAdjust="spacingAndGlyphs"`);
  assertStringIncludes(svg, ">P\u2013S &#60;&#38; &#39;x&#39;</text>");
  assertEquals(escapeXml("a\u0001b\tc"), "a?b\tc");
  // The document parses strictly (the replay throws on malformed XML) with the text intact.
  replaySvg(svg);
});

Deno.test("SvgCanvas keeps the drawing order of pixels and shapes, and joins only touching lines", () => {
  const s = new SvgCanvas(20, 10);
  s.set(1, 1, [255, 0, 0]);
  s.set(3, 2, [255, 0, 0], 0.5);
  s.fillRect(2, 1, 4, 4, [0, 0, 255]); // covers (3, 2): the pixel must stay under it
  s.set(8, 8, [0, 255, 0]);
  s.line(0, 9, 5, 9, [0, 0, 0]);
  s.line(5, 9, 9, 5, [0, 0, 0]); // joins the first
  s.line(9, 5, 12, 5, [0, 0, 0], 2); // another width: a new path
  const svg = s.toSvg();
  const order = [...svg.matchAll(/<(rect|image|path)\b/g)].map((m) => m[1]);
  assertEquals(order, ["rect", "image", "rect", "image", "path", "path"]);
  assertStringIncludes(svg, `d="M0.5 9.5 L5.5 9.5 L9.5 5.5"`);
  // The first image holds the two pixels in their bounding box (3 x 2), the second just one.
  const images = [...svg.matchAll(/<image x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)"/g)]
    .map((m) => m.slice(1).map(Number));
  assertEquals(images, [[1, 1, 3, 2], [8, 8, 1, 1]]);
  const { canvas } = replaySvg(svg);
  const px = (x: number, y: number) =>
    Array.from(canvas.rgba.subarray((y * 20 + x) * 4, (y * 20 + x) * 4 + 3));
  assertEquals(px(1, 1), [255, 0, 0]);
  assertEquals(px(3, 2), [0, 0, 255]);
  assertEquals(px(8, 8), [0, 255, 0]);
});

Deno.test("stationChart draws each station's bar split by its shares, where it lies, at one scale for longitude and latitude", () => {
  const stations = [
    { name: "XX.A", longitude: 7.0, latitude: 46.0, counts: [3, 1, 0] },
    { name: "XX.B", longitude: 8.0, latitude: 46.5, counts: [0, 0, 4] },
    { name: "XX.C", longitude: NaN, latitude: 46.5, counts: [9, 9, 9] },
  ];
  const svg = text(stationChart(stations, { format: "svg" }));
  const rects = [
    ...svg.matchAll(/<rect x="(\d+)" y="(\d+)" width="(\d+)" height="8" fill="(#[0-9a-f]{6})"\/>/g),
  ]
    .map((m) => ({ x: Number(m[1]), y: Number(m[2]), w: Number(m[3]), fill: m[4] }));
  const hex = (c: readonly number[]) =>
    "#" + c.map((v) => v.toString(16).padStart(2, "0")).join("");
  const [bw] = STATION_BAR;
  // A: 3 of 4 in cluster 0 (23 of 30 px), 1 in cluster 1; B: all 4 in cluster 2; C has no place.
  assertEquals(rects.map((r) => [r.w, r.fill]), [
    [23, hex(categoryColor(0))],
    [7, hex(categoryColor(1))],
    [bw, hex(categoryColor(2))],
  ]);
  assertEquals(rects[1].x, rects[0].x + 23);
  // Bar centres: 1 degree of longitude at 46.25 N is cos(46.25°) of a degree of latitude.
  const dx = rects[2].x + bw / 2 - (rects[0].x + bw / 2), dy = rects[0].y - rects[2].y;
  assertClose([dx / dy], [Math.cos(46.25 * Math.PI / 180) / 0.5], 0, 0.02);
  assert(svg.includes(">XX.A</text>") && svg.includes(">XX.B</text>") && !svg.includes(">XX.C<"));
  // The legend counts the placed stations' samples per cluster.
  assert(svg.includes(">cluster 0 (3)</text>") && svg.includes(">cluster 2 (4)</text>"), svg);
  assertThrows(() => stationChart([stations[2]]), RangeError, "no station has a finite");
});

Deno.test("stationChart keeps a network across the antimeridian in one piece, its ticks read as longitudes", () => {
  const svg = text(stationChart([
    { name: "AK.ADK", longitude: -176.7, latitude: 51.9, counts: [1] },
    { name: "AK.AMKA", longitude: 179.4, latitude: 51.9, counts: [1] },
    { name: "AK.X", longitude: -178.0, latitude: 51.9, counts: [1] },
  ], { format: "svg" }));
  const x = [...svg.matchAll(/<rect x="(\d+)" y="\d+" width="30" height="8"/g)].map((m) =>
    Number(m[1])
  );
  // In input order: ADK, AMKA, X. West to east: AMKA (179.4), X (-178 = 182), ADK (-176.7 = 183.3).
  assert(x[1] < x[2] && x[2] < x[0], String(x));
  assertClose([(x[2] - x[1]) / (x[0] - x[2])], [2.6 / 1.3], 0, 0.05);
  assert(svg.includes(">-179</text>") && !/>18[1-9]<\/text>/.test(svg), svg);
});

Deno.test("SvgCanvas and Canvas draw the same pixels for awkward calls: thin outlines, fractional and rotated text, spaces, alpha", () => {
  const draw = (s: Surface) => {
    s.strokeRect(3, 4, 1, 9, [200, 0, 0]); // one pixel wide: a line
    s.strokeRect(6.4, 4.6, 2, 2, [0, 120, 0]); // two: a filled square
    s.strokeRect(10, 3, 12, 7, [0, 0, 200]);
    s.text("  a  b ", 2.6, 20.4, [0, 0, 0]);
    s.text("Vx", 30.5, 40.5, [90, 0, 90], { rotate: true, align: "center", valign: "middle" });
    s.text("Z", 40.5, 12.5, [0, 0, 0], { scale: 2, align: "right", valign: "bottom" });
    s.fillRect(1, 30, 20, 5, [0, 0, 255], 0.5);
    s.dot(50.4, 30.6, 3, [255, 0, 0], 0.75);
    s.line(45, 2, 58, 9, [10, 10, 10], 3);
  };
  const png = new Canvas(60, 50);
  draw(png);
  const svg = new SvgCanvas(60, 50);
  draw(svg);
  const doc = svg.toSvg();
  assert(/xml:space="preserve"[^>]*> {2}a {2}b <\/text>/.test(doc), doc);
  // A stroked rect of width or height 0 draws nothing in SVG (the replay would draw a line).
  assert(!/<rect [^>]*(width|height)="0"/.test(doc), doc);
  assert(/<text transform="translate\(31 41\) rotate\(-90\)"/.test(doc), doc);
  const { canvas } = replaySvg(doc);
  const differ = canvas.rgba.reduce((n, v, i) => n + (Math.abs(v - png.rgba[i]) > 1 ? 1 : 0), 0);
  assertEquals(differ, 0);
});

Deno.test("SvgCanvas composites a translucent pixel over a translucent one, and continues a path only from where it ended", () => {
  const draw = (s: Surface) => {
    s.set(2, 2, [200, 200, 200], 0.5);
    s.set(2, 2, [0, 0, 0], 0.5);
    s.line(0, 6, 10, 6, [0, 0, 200]);
    // Starts below the last end (same x, another y): a new path, not a segment from (10, 6).
    s.line(10, 9, 18, 9, [0, 0, 200]);
  };
  const png = new Canvas(20, 12);
  draw(png);
  const svg = new SvgCanvas(20, 12);
  draw(svg);
  const doc = svg.toSvg();
  assertEquals([...doc.matchAll(/<path /g)].length, 2);
  const { canvas } = replaySvg(doc);
  const differ = canvas.rgba.reduce((n, v, i) => n + (Math.abs(v - png.rgba[i]) > 1 ? 1 : 0), 0);
  assertEquals(differ, 0);
});

Deno.test("escapeXml turns every control character XML 1.0 forbids into '?', keeping tab, newline and return", () => {
  assertEquals(escapeXml("a\u0001b\u000bc\u000cd\u001be\t\n\r"), "a?b?c?d?e\t\n\r");
});
