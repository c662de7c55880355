/**
 * `cli.ts import`: any 2-D data as a dataset. A `.npy` array of shape
 * `[N, H, W]` or `[N, C, H, W]` (float32, float64, any integer type) plus an
 * optional labels CSV becomes a seisdec dataset, so the engine clusters it.
 *
 * @module
 */
import { basename } from "node:path";
import { type Command, strFlag } from "./_command.ts";
import { UserError } from "../util/errors.ts";
import { npyToFloat64, readNpy } from "../io/npy.ts";
import { parseCsv } from "../io/csv.ts";
import { type SampleInfo, writeDataset } from "../io/dataset.ts";

/**
 * Parses labels: either a CSV with a header naming `id` and `label` columns, or
 * one label per line (an optional single header line `label` is skipped).
 *
 * @param text File text.
 * @param n Number of samples expected.
 * @param ids Sample ids (for the id,label form: `0..N-1` or the ids listed).
 * @param source File name for messages.
 * @returns one label per sample (null for empty).
 * @throws {UserError} when the count does not match or an id is unknown.
 */
export function parseLabels(
  text: string,
  n: number,
  ids: string[],
  source: string,
): (string | null)[] {
  const rows = parseCsv(text);
  const head = rows[0]?.map((h) => h.trim().toLowerCase()) ?? [];
  const out: (string | null)[] = new Array(n).fill(null);
  if (head.includes("id") && head.includes("label")) {
    const ci = head.indexOf("id"), cl = head.indexOf("label");
    const pos = new Map(ids.map((id, i) => [id, i]));
    const body = rows.slice(1);
    if (body.length !== n) {
      throw new UserError(`Cannot read labels ${source}: expected ${n} rows: found ${body.length}`);
    }
    for (const r of body) {
      const i = pos.get(r[ci]);
      if (i === undefined) {
        throw new UserError(`Cannot read labels ${source}: unknown id '${r[ci]}'`);
      }
      out[i] = r[cl] === "" || r[cl] === undefined ? null : r[cl];
    }
    return out;
  }
  const lines = rows.map((r) => r.join(","));
  if (lines.length === n + 1 && lines[0].trim().toLowerCase() === "label") lines.shift();
  if (lines.length !== n) {
    throw new UserError(
      `Cannot read labels ${source}: expected ${n} labels (one per line): found ${lines.length}`,
    );
  }
  lines.forEach((l, i) => out[i] = l.trim() === "" ? null : l.trim());
  return out;
}

/**
 * Imports a `.npy` array as a dataset.
 *
 * @param npyPath The array file.
 * @param out Output directory.
 * @param options Labels file, force.
 * @returns the dataset shape `[N, C, H, W]`.
 */
export async function importNpy(
  npyPath: string,
  out: string,
  options: { labels?: string; force?: boolean } = {},
): Promise<[number, number, number, number]> {
  let arr;
  try {
    arr = readNpy(await Deno.readFile(npyPath));
  } catch (e) {
    throw new UserError(`Cannot import ${npyPath}: ${(e as Error).message}`);
  }
  const s = arr.shape;
  if (s.length !== 3 && s.length !== 4) {
    throw new UserError(
      `Cannot import ${npyPath}: expected shape [N,H,W] or [N,C,H,W]: found [${s}]`,
    );
  }
  if (Array.isArray(arr.data)) {
    throw new UserError(`Cannot import ${npyPath}: expected a numeric dtype: found '${arr.dtype}'`);
  }
  const shape: [number, number, number, number] = s.length === 3
    ? [s[0], 1, s[1], s[2]]
    : [s[0], s[1], s[2], s[3]];
  const f64 = npyToFloat64(arr);
  const data = new Float32Array(f64.length);
  for (let i = 0; i < f64.length; i++) {
    data[i] = f64[i];
    if (!Number.isFinite(data[i])) {
      throw new UserError(
        `Cannot import ${npyPath}: element ${i} is ${f64[i]} (not finite in float32)`,
      );
    }
  }
  const [N, C, H, W] = shape;
  const ids = Array.from({ length: N }, (_, i) => String(i));
  let labels: (string | null)[] = new Array(N).fill(null);
  if (options.labels) {
    let text: string;
    try {
      text = await Deno.readTextFile(options.labels);
    } catch (e) {
      throw new UserError(`Cannot read labels ${options.labels}: ${(e as Error).message}`);
    }
    labels = parseLabels(text, N, ids, options.labels);
  }
  const samples: SampleInfo[] = ids.map((id, i) => ({
    id,
    network: "",
    station: "",
    location: "",
    channel: "",
    referenceTime: "",
    label: labels[i],
  }));
  await writeDataset(
    out,
    {
      shape,
      components: Array.from({ length: C }, (_, c) => `c${c}`),
      scaling: "none",
      config: {
        import: {
          source: basename(npyPath),
          dtype: arr.dtype,
          shape: s,
          labels: options.labels ?? null,
        },
      },
    },
    samples,
    data,
    new Float64Array(H).map((_, i) => i),
    new Float64Array(W).map((_, i) => i),
    { force: options.force },
  );
  return shape;
}

/** The `import` command. */
export const importCommand: Command = {
  name: "import",
  summary: "Turn a .npy array [N,H,W] or [N,C,H,W] (+ labels CSV) into a dataset.",
  usage: "<array.npy> --out DIR [--labels CSV]",
  details: [
    "Any numeric dtype (f2, f4, f8, u1, i1..i8, ...) is converted to float32. Rows become",
    "frequencies 0..H-1 and columns times 0..W-1 (bin indices). Labels: a CSV with id,label",
    "(ids 0..N-1) or one label per line.",
  ].join("\n"),
  flags: {
    out: { type: "string", short: "o", arg: "DIR", description: "Output dataset directory." },
    labels: { type: "string", arg: "CSV", description: "Labels: id,label CSV or one per line." },
    force: { type: "boolean", description: "Replace an existing output directory." },
  },
  async run(values, positionals) {
    const src = positionals[0];
    const out = strFlag(values, "out");
    if (!src || !out) throw new UserError("Cannot import: usage: import <array.npy> --out DIR");
    const shape = await importNpy(src, out, {
      labels: strFlag(values, "labels"),
      force: Boolean(values.force),
    });
    console.log(`import: ${src} -> ${out} [${shape.join(", ")}]`);
  },
};
