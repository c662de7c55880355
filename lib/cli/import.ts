/**
 * `cli.ts import`: any 2-D data as a dataset. A `.npy` array of shape
 * `[N, H, W]` or `[N, C, H, W]` (float32, float64, any integer type) plus an
 * optional labels CSV becomes a seisdec dataset, so the engine clusters it.
 *
 * @module
 */
import { basename } from "node:path";
import { type Command, strFlag } from "./_command.ts";
import { refuseLineBreak } from "./_shared.ts";
import { UserError } from "../util/errors.ts";
import { decodeNumeric, isNumericDtype, readNpyHeader } from "../io/npy.ts";
import { parseCsv, parseCsvRecords, refuseRepeatedColumns } from "../io/csv.ts";
import { DatasetWriter, type SampleInfo, SAMPLES_HEADER, samplesOfRecords } from "../io/dataset.ts";
import { readFailure, readInputText } from "../io/input_file.ts";

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
  const rows = parseCsv(text, ",", { source: `labels ${source}` });
  const head = rows[0]?.map((h) => h.trim().toLowerCase()) ?? [];
  if (head.includes("id") && head.includes("label")) {
    refuseRepeatedColumns(head, `labels ${source}`, ["id", "label"]);
  }
  const out: (string | null)[] = new Array(n).fill(null);
  if (head.includes("id") && head.includes("label")) {
    const ci = head.indexOf("id"), cl = head.indexOf("label");
    const pos = new Map(ids.map((id, i) => [id, i]));
    const body = rows.slice(1);
    if (body.length !== n) {
      throw new UserError(
        `Cannot read labels ${source}: expected one row per sample (${n} samples): found ` +
          `${body.length} rows`,
      );
    }
    const row = new Map<number, number>();
    body.forEach((r, k) => {
      // Ids and labels trimmed as the header is (`id, label` written with spaces).
      const id = (r[ci] ?? "").trim(), label = (r[cl] ?? "").trim();
      refuseLineBreak(label, source, k + 2);
      const i = pos.get(id);
      if (i === undefined) {
        throw new UserError(`Cannot read labels ${source}: unknown id '${id}'`);
      }
      // A repeated id would give one sample two labels and leave another without one.
      if (row.has(i)) {
        throw new UserError(
          `Cannot read labels ${source}: id '${id}' is listed twice (rows ${row.get(i)! + 2} ` +
            `and ${k + 2}): expected each sample once`,
        );
      }
      row.set(i, k);
      out[i] = label === "" ? null : label;
    });
    return out;
  }
  // A table with other column names is not one label per line (labels holding a comma are
  // quoted there): say what the header must name rather than read its rows as labels.
  if (head.length > 1) {
    throw new UserError(
      `Cannot read labels ${source}: its first line has ${head.length} columns (${
        rows[0].join(",")
      }): expected a header naming the columns id and label, or one label per line (quote a ` +
        `label that holds a comma)`,
    );
  }
  // One label per line: an empty line is a sample whose label is unknown, so empty lines
  // count (only blank lines past the last sample's are dropped).
  const lines = parseCsv(text, ",", { keepEmptyLines: true, source: `labels ${source}` }).map((r) =>
    r.join(",")
  );
  // The file's row of lines[0] (1-based): 2 past a `label` header.
  let first = 1;
  if (lines.length > n && lines[0].trim().toLowerCase() === "label") {
    lines.shift();
    first = 2;
  }
  while (lines.length > n && lines[lines.length - 1].trim() === "") lines.pop();
  if (lines.length !== n) {
    throw new UserError(
      `Cannot read labels ${source}: expected ${n} labels (one per line): found ${lines.length}`,
    );
  }
  lines.forEach((l, i) => {
    refuseLineBreak(l, source, i + first);
    out[i] = l.trim() === "" ? null : l.trim();
  });
  return out;
}

/** What {@linkcode importNpy} takes besides the array and the output. */
export interface ImportOptions {
  /** Labels: an `id,label` CSV or one label per line. */
  labels?: string;
  /**
   * A CSV with an `id` column, one row per sample in order (a dataset's `samples.csv`, whose
   * other columns are kept too: station, time, label, event, ...); ids `0..N-1` without it.
   */
  samples?: string;
  /** What the values are (`meta.json`'s `scaling`): none (default), psd, log10 or db. */
  scaling?: string;
  /** Replace an existing output. */
  force?: boolean;
  /** Bytes read at a time (8 MiB). */
  chunkBytes?: number;
}

/** The scalings an imported array may declare. */
export const IMPORT_SCALINGS = ["none", "psd", "log10", "db"] as const;

/**
 * The samples of an imported array: from `--samples` (checked: N rows, each id once and one
 * word), else ids `0..N-1`; `--labels` then replaces their labels.
 */
async function importedSamples(
  npyPath: string,
  n: number,
  options: ImportOptions,
): Promise<SampleInfo[]> {
  let samples: SampleInfo[];
  if (options.samples) {
    const path = options.samples;
    let text: string;
    try {
      text = await readInputText(path);
    } catch (e) {
      throw new UserError(`Cannot read samples ${path}: ${readFailure(e)}`);
    }
    const records = parseCsvRecords(text, ",", {
      source: `samples ${path}`,
      columns: SAMPLES_HEADER,
    });
    const head = parseCsv(text)[0] ?? [];
    if (!head.includes("id")) {
      throw new UserError(
        `Cannot read samples ${path}: expected a CSV with an id column (a dataset's ` +
          `samples.csv): found columns ${head.join(",")}`,
      );
    }
    if (records.length !== n) {
      throw new UserError(
        `Cannot import ${npyPath} with samples ${path}: the array has ${n} samples, the file ` +
          `${records.length} rows: expected one row per sample, in the array's order`,
      );
    }
    samples = samplesOfRecords(records, `Cannot read samples ${path}:`);
  } else {
    samples = Array.from({ length: n }, (_, i) => importedSample(String(i), null));
  }
  if (options.labels) {
    const labels = await readLabels(options.labels, n, samples.map((s) => s.id));
    samples.forEach((s, i) => (s.label = labels[i]));
  }
  return samples;
}

/** The scaling option, checked. */
function importScaling(scaling: string | undefined): string {
  const s = scaling ?? "none";
  if (!(IMPORT_SCALINGS as readonly string[]).includes(s)) {
    throw new UserError(
      `Cannot import: --scaling must be one of ${IMPORT_SCALINGS.join(", ")}: found '${s}'`,
    );
  }
  return s;
}

/**
 * Imports a `.npy` array as a dataset.
 *
 * @param npyPath The array file.
 * @param out Output directory.
 * @param options Labels, samples file, scaling, force.
 * @returns the dataset shape `[N, C, H, W]`.
 */
export async function importNpy(
  npyPath: string,
  out: string,
  options: ImportOptions = {},
): Promise<[number, number, number, number]> {
  importScaling(options.scaling);
  return await importNpyStreaming(npyPath, out, options);
}

/** An imported sample's identity: an id and a label, no station or time. */
function importedSample(id: string, label: string | null): SampleInfo {
  return { id, network: "", station: "", location: "", channel: "", referenceTime: "", label };
}

/** What a non-numeric dtype holds, for the message that refuses it. */
const DTYPE_KINDS: Record<string, string> = {
  O: "Python objects",
  b: "booleans",
  U: "strings",
  S: "strings",
  V: "raw bytes",
  c: "complex numbers",
  M: "dates and times",
  m: "time spans",
};

/**
 * Refuses a dtype that is not one number per element, before any data is read.
 *
 * @throws {UserError} naming the dtype and what it holds.
 */
function checkNumericDtype(npyPath: string, dtype: string): void {
  if (isNumericDtype(dtype)) return;
  const what = DTYPE_KINDS[dtype[1]];
  throw new UserError(
    `Cannot import ${npyPath}: expected a numeric dtype (f2, f4, f8, i1..i8, u1..u8): found '${dtype}'${
      what ? ` (${what})` : ""
    }`,
  );
}

/**
 * The dataset shape `[N, C, H, W]` of an array's shape `[N,H,W]` or `[N,C,H,W]`.
 *
 * @throws {UserError} for another rank, no samples, or a sample dimension of 0 (samples
 *   without values).
 */
function datasetShape(npyPath: string, s: number[]): [number, number, number, number] {
  if (s.length !== 3 && s.length !== 4) {
    throw new UserError(
      `Cannot import ${npyPath}: expected shape [N,H,W] or [N,C,H,W]: found [${s}]`,
    );
  }
  if (s[0] < 1) {
    throw new UserError(`Cannot import ${npyPath}: it holds no samples (shape [${s}])`);
  }
  if (s.slice(1).some((d) => d < 1)) {
    throw new UserError(
      `Cannot import ${npyPath}: every dimension after N must be at least 1: found shape [${s}]`,
    );
  }
  return s.length === 3 ? [s[0], 1, s[1], s[2]] : [s[0], s[1], s[2], s[3]];
}

async function readLabels(
  path: string | undefined,
  n: number,
  ids: string[],
): Promise<(string | null)[]> {
  if (!path) return new Array(n).fill(null);
  let text: string;
  try {
    text = await readInputText(path);
  } catch (e) {
    throw new UserError(`Cannot read labels ${path}: ${readFailure(e)}`);
  }
  return parseLabels(text, n, ids, path);
}

/**
 * Imports a C-order numeric `.npy` sample by sample, never holding more than `chunkBytes` of it
 * (8 MiB) in memory: arrays larger than the memory import as well as small ones.
 *
 * @returns the dataset shape, or null when the file is not C-order numeric (the caller then
 *   reads it whole).
 */
async function importNpyStreaming(
  npyPath: string,
  out: string,
  options: ImportOptions,
): Promise<[number, number, number, number]> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(npyPath, { read: true });
  } catch (e) {
    throw new UserError(`Cannot import ${npyPath}: ${readFailure(e)}`);
  }
  try {
    const head = new Uint8Array(65536);
    let got = 0;
    while (got < head.length) {
      const r = await file.read(head.subarray(got));
      if (r === null || r === 0) break;
      got += r;
    }
    // numpy.savez writes a zip of .npy files ("PK\x03\x04"; "PK\x05\x06" when empty).
    if (got >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] < 8 && head[3] < 8) {
      throw new UserError(
        `Cannot import ${npyPath}: it is a zip archive (numpy.savez writes them), not a .npy ` +
          `file: save the one array with numpy.save, or unzip the archive and import its .npy`,
      );
    }
    let h;
    try {
      h = readNpyHeader(head.subarray(0, got));
    } catch (e) {
      // Its 'Cannot read npy: ' would follow 'Cannot import X: '.
      const why = (e as Error).message.replace(/^Cannot read npy: /, "");
      throw new UserError(`Cannot import ${npyPath}: ${why}`);
    }
    const s = h.shape;
    // Refused here, from the header, before a large file is read whole.
    checkNumericDtype(npyPath, h.dtype);
    const shape = datasetShape(npyPath, s);
    const [N, C, H, W] = shape;
    const size = Number(h.dtype.slice(2));
    const per = C * H * W, perBytes = per * size;
    const need = h.dataOffset + N * perBytes;
    const have = (await file.stat()).size;
    if (have < need) {
      throw new UserError(
        `Cannot import ${npyPath}: shape [${s}] of ${h.dtype} needs ${need} bytes: found ${have}`,
      );
    }
    const samples = await importedSamples(npyPath, N, options);
    const scaling = importScaling(options.scaling);
    const writer = await DatasetWriter.create(out, [C, H, W], { force: options.force });
    try {
      // Fortran order (numpy.save of a transposed array) keeps each element's N values
      // together: a chunk of samples is read element by element, each a run of the chunk's
      // samples, so that memory stays a chunk's whatever the order (before, the whole file was
      // read and converted through float64: 6 times its size).
      const fortran = h.fortranOrder;
      const batch = Math.max(
        1,
        Math.floor((options.chunkBytes ?? (fortran ? 64 : 8) << 20) / perBytes),
      );
      const bytes = new Uint8Array(batch * (fortran ? size : perBytes));
      const vals = new Float32Array(batch * per);
      const run = fortran ? new Float32Array(batch) : null;
      const readAll = async (want: Uint8Array, i0: number) => {
        let off = 0;
        while (off < want.length) {
          const r = await file.read(want.subarray(off));
          if (r === null || r === 0) {
            throw new UserError(`Cannot import ${npyPath}: the file ends inside sample ${i0}`);
          }
          off += r;
        }
      };
      await file.seek(h.dataOffset, Deno.SeekMode.Start);
      for (let i0 = 0; i0 < N; i0 += batch) {
        const b = Math.min(batch, N - i0);
        if (run) {
          // Element e = (c, y, x) of sample n lies at n + N·(c + C·(y + H·x)).
          const want = bytes.subarray(0, b * size);
          for (let e = 0; e < per; e++) {
            const x = e % W, y = Math.floor(e / W) % H, c = Math.floor(e / (H * W));
            const at = i0 + N * (c + C * (y + H * x));
            await file.seek(h.dataOffset + at * size, Deno.SeekMode.Start);
            await readAll(want, i0);
            decodeNumeric(want, h.dtype, run);
            for (let k = 0; k < b; k++) vals[k * per + e] = run[k];
          }
        } else {
          const want = bytes.subarray(0, b * perBytes);
          await readAll(want, i0);
          decodeNumeric(want, h.dtype, vals);
        }
        for (let j = 0; j < b * per; j++) {
          if (!Number.isFinite(vals[j])) {
            const e = i0 * per + j;
            throw new UserError(
              `Cannot import ${npyPath}: element ${e} (sample ${Math.floor(e / per)}) is ${
                vals[j]
              } (not finite in float32)`,
            );
          }
        }
        for (let k = 0; k < b; k++) {
          const i = i0 + k;
          writer.append(samples[i], vals.subarray(k * per, (k + 1) * per));
        }
      }
      await writer.commit(
        {
          components: Array.from({ length: C }, (_, c) => `c${c}`),
          scaling,
          config: {
            import: {
              source: basename(npyPath),
              dtype: h.dtype,
              shape: s,
              labels: options.labels ?? null,
              samples: options.samples ?? null,
            },
          },
        },
        new Float64Array(H).map((_, i) => i),
        new Float64Array(W).map((_, i) => i),
      );
    } catch (e) {
      await writer.abort();
      throw e;
    }
    return shape;
  } finally {
    file.close();
  }
}

/** The `import` command. */
export const importCommand: Command = {
  name: "import",
  summary: "Turn a .npy array [N,H,W] or [N,C,H,W] (+ labels CSV) into a dataset.",
  usage: "<array.npy> --out DIR [--labels CSV] [--samples CSV] [--scaling NAME]",
  details: [
    "Any numeric dtype (f2, f4, f8, u1, i1..i8, ...) is converted to float32. Rows become",
    "frequencies 0..H-1 and columns times 0..W-1 (bin indices). Samples are ids 0..N-1, or",
    "--samples' rows (a dataset's samples.csv: its ids, stations, times, labels, events).",
    "Labels: a CSV with id,label or one label per line.",
  ].join("\n"),
  flags: {
    out: { type: "string", short: "o", arg: "DIR", description: "Output dataset directory." },
    labels: { type: "string", arg: "CSV", description: "Labels: id,label CSV or one per line." },
    samples: {
      type: "string",
      arg: "CSV",
      description: "The samples, one row each in order, with an id column (a samples.csv).",
    },
    scaling: {
      type: "string",
      arg: "NAME",
      default: "none",
      description: "What the values are: none, psd, log10 or db (a model checks it).",
    },
    force: { type: "boolean", description: "Replace an existing output directory." },
  },
  async run(values, positionals) {
    const src = positionals[0];
    const out = strFlag(values, "out");
    if (!src || !out) throw new UserError("Cannot import: usage: import <array.npy> --out DIR");
    const shape = await importNpy(src, out, {
      labels: strFlag(values, "labels"),
      samples: strFlag(values, "samples"),
      scaling: strFlag(values, "scaling"),
      force: Boolean(values.force),
    });
    console.log(`import: ${src} -> ${out} [${shape.join(", ")}]`);
  },
};
