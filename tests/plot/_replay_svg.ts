/**
 * Reads an SVG that lib/plot/svg.ts wrote (a strict XML parse: a malformed document throws) and
 * draws its elements back onto a {@linkcode Canvas} with the calls that made them, undoing the
 * SVG's pixel-centre offsets. A chart's SVG replayed so must give the very pixels of its PNG:
 * every element, coordinate, colour and the drawing order survive the round trip.
 */
import { DOMParser, type XmlElement } from "../../lib/deps.ts";
import { Canvas, type Rgb } from "../../lib/plot/canvas.ts";
import { SVG_FONT_PX } from "../../lib/plot/svg.ts";
import { decodePng } from "./_decode_png.ts";

function rgb(hex: string | null): Rgb {
  if (!hex || !/^#[0-9a-f]{6}$/.test(hex)) throw new Error(`bad colour ${hex}`);
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as unknown as Rgb;
}

function n(el: XmlElement, name: string): number {
  const v = el.getAttribute(name);
  if (v === null || !Number.isFinite(Number(v))) throw new Error(`<${el.tagName}> ${name}=${v}`);
  return Number(v);
}

/** Parses `svg` strictly and replays it on a canvas; also returns the count of each element. */
export function replaySvg(svg: string): { canvas: Canvas; counts: Record<string, number> } {
  const errors: string[] = [];
  const doc = new DOMParser({
    onError: (level: string, msg: string) => {
      if (level !== "warning") errors.push(msg);
    },
  }).parseFromString(svg, "image/svg+xml");
  if (errors.length) throw new Error(`malformed SVG: ${errors.join("; ")}`);
  const root = doc.documentElement!;
  if (root.tagName !== "svg" || root.getAttribute("xmlns") !== "http://www.w3.org/2000/svg") {
    throw new Error("not an SVG root");
  }
  const width = n(root, "width"), height = n(root, "height");
  if (root.getAttribute("viewBox") !== `0 0 ${width} ${height}`) throw new Error("viewBox");
  const canvas = new Canvas(width, height, [0, 0, 0]);
  const counts: Record<string, number> = {};
  for (let node = root.firstChild; node; node = node.nextSibling) {
    if (node.nodeType !== 1) continue;
    const el = node as XmlElement;
    counts[el.tagName] = (counts[el.tagName] ?? 0) + 1;
    switch (el.tagName) {
      case "style":
        break;
      case "rect": {
        const x = n(el, "x"), y = n(el, "y"), w = n(el, "width"), h = n(el, "height");
        if (el.getAttribute("fill") === "none") {
          canvas.strokeRect(x - 0.5, y - 0.5, w + 1, h + 1, rgb(el.getAttribute("stroke")));
        } else {
          const a = el.getAttribute("fill-opacity");
          canvas.fillRect(x, y, w, h, rgb(el.getAttribute("fill")), a === null ? 1 : Number(a));
        }
        break;
      }
      case "path": {
        const t = n(el, "stroke-width");
        const off = 0.5 - Math.floor((t - 1) / 2) + (t - 1) / 2;
        const pts = [...el.getAttribute("d")!.matchAll(/([ML])(-?[\d.]+) (-?[\d.]+)/g)]
          .map((m) => [Number(m[2]) - off, Number(m[3]) - off]);
        const c = rgb(el.getAttribute("stroke"));
        for (let i = 1; i < pts.length; i++) {
          canvas.line(pts[i - 1][0], pts[i - 1][1], pts[i][0], pts[i][1], c, t);
        }
        break;
      }
      case "circle": {
        const a = el.getAttribute("fill-opacity");
        canvas.dot(
          n(el, "cx") - 0.5,
          n(el, "cy") - 0.5,
          n(el, "r") - 0.5,
          rgb(el.getAttribute("fill")),
          a === null ? 1 : Number(a),
        );
        break;
      }
      case "image": {
        const href = el.getAttribute("href")!;
        const bytes = Uint8Array.from(
          atob(href.replace("data:image/png;base64,", "")),
          (ch) => ch.charCodeAt(0),
        );
        const img = decodePng(bytes);
        if (img.width !== n(el, "width") || img.height !== n(el, "height")) throw new Error("img");
        const x0 = n(el, "x"), y0 = n(el, "y");
        for (let y = 0; y < img.height; y++) {
          for (let x = 0; x < img.width; x++) {
            const o = (y * img.width + x) * 4;
            if (img.rgba[o + 3] === 0) continue;
            canvas.set(
              x0 + x,
              y0 + y,
              [img.rgba[o], img.rgba[o + 1], img.rgba[o + 2]],
              img.rgba[o + 3] / 255,
            );
          }
        }
        break;
      }
      case "text": {
        const scale = n(el, "font-size") / SVG_FONT_PX, h = 7 * scale;
        const s = el.textContent ?? "";
        const c = rgb(el.getAttribute("fill"));
        const tf = el.getAttribute("transform");
        if (tf) {
          const m = tf.match(/^translate\((-?[\d.]+) (-?[\d.]+)\) rotate\(-90\)$/);
          if (!m) throw new Error(`transform ${tf}`);
          canvas.text(s, Number(m[1]) + n(el, "y") - h, Number(m[2]) - n(el, "x"), c, {
            scale,
            rotate: true,
          });
        } else {
          canvas.text(s, n(el, "x"), n(el, "y") - h, c, { scale });
        }
        break;
      }
      default:
        throw new Error(`unexpected element <${el.tagName}>`);
    }
  }
  return { canvas, counts };
}
