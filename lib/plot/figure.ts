/**
 * Writing a figure to disk as PNG and, on request, as SVG beside it.
 *
 * @module
 */

import { removeIfPresent, writeFileAtomic } from "../util/atomic.ts";
import type { FigureFormat } from "./charts.ts";

/**
 * Draws a figure and writes it atomically as `base.png` and, with `svg`, as `base.svg` too.
 * Without `svg` an older `base.svg` is removed, as it would no longer match the PNG.
 *
 * @param base The path without its extension.
 * @param draw Draws the figure in a format; null: there is nothing to draw (nothing written).
 * @param svg Write the SVG vector figure as well.
 * @returns whether the figure was written.
 * @example
 * ```ts
 * import { writeFigure } from "./figure.ts";
 * import { lineChart } from "./charts.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFigure(`${dir}/loss`, (format) => lineChart([], { format }), true);
 * if (!(await Deno.readTextFile(`${dir}/loss.svg`)).includes("<svg")) throw new Error();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFigure(
  base: string,
  draw: (format: FigureFormat) => Uint8Array | null,
  svg: boolean,
): Promise<boolean> {
  const png = draw("png");
  if (png === null) return false;
  await writeFileAtomic(`${base}.png`, png);
  if (svg) await writeFileAtomic(`${base}.svg`, draw("svg")!);
  else await removeIfPresent(`${base}.svg`);
  return true;
}
