/**
 * `cli.ts report`: one HTML page that gathers what `cluster`, `evaluate` and the
 * model directory wrote about a clustering, to open in a browser or send to a
 * colleague together with the directory.
 *
 * @module
 */
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import type { Command } from "./_command.ts";
import { strFlag } from "./_command.ts";
import { describeDir, processingOf, settingsProcessing } from "./describe.ts";
import { parseCsv, parseCsvRecords } from "../io/csv.ts";
import { writeFileAtomic, writeIntoOutput } from "../util/atomic.ts";
import { parseJsonFile, UserError } from "../util/errors.ts";
import { clockName, referenceName } from "../cluster/summary.ts";
import { readFailure } from "../io/input_file.ts";

function esc(s: unknown): string {
  return String(s ?? "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

function table(rows: string[][]): string {
  if (rows.length === 0) return "";
  const [head, ...body] = rows;
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>` +
    `<tbody>${
      body.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("")
    }</tbody></table>`;
}

/** A field of a JSON file, or null where the file, its JSON or the field is missing. */
async function jsonField(path: string, field: string): Promise<unknown> {
  try {
    return JSON.parse(await Deno.readTextFile(path))[field] ?? null;
  } catch {
    return null;
  }
}

/**
 * The `datasetSettings` of a model's `model.json`; null, with a warning naming the file and
 * why, where it cannot be read (the report then leaves out the model's line; the rest of the
 * report does not need it).
 */
async function modelSettings(model: string): Promise<unknown> {
  const path = join(model, "model.json");
  let why: string;
  try {
    // A byte-order mark (model.json saved by a Windows editor) is no part of the JSON.
    const m = JSON.parse((await Deno.readTextFile(path)).replace(/^\uFEFF/, ""));
    if (m !== null && typeof m === "object" && !Array.isArray(m)) return m.datasetSettings ?? null;
    why = "not a JSON object";
  } catch (e) {
    why = e instanceof SyntaxError ? `not JSON: ${e.message}` : readFailure(e);
  }
  console.error(
    `warning: cannot read ${path} (${why}): the report leaves out how the model's training ` +
      `data was made`,
  );
  return null;
}

async function exists(path: string): Promise<boolean> {
  return (await Deno.stat(path).catch(() => null)) !== null;
}

/** Figures of a cluster directory and of its model, in reading order, with captions. */
const FIGURES: [string, string][] = [
  ["cluster_means.png", "Mean spectrogram per cluster"],
  ["cluster_spectra.png", "Mean spectrum per cluster"],
  ["examples.png", "Most confident members per cluster"],
  ["example_waveforms.png", "Waveforms of the most confident members per cluster"],
  ["latent_pca.png", "Latent codes, PCA"],
  ["latent_umap.png", "Latent codes, UMAP"],
  ["hour_of_day.png", "Hour of day per cluster"],
  ["timeline.png", "Samples over time"],
  ["stations.png", "Samples per cluster at each station"],
];
const MODEL_FIGURES: [string, string][] = [
  ["learning_curve.png", "Pretraining learning curve"],
  ["k_selection.png", "Choice of k"],
];

/**
 * Builds the report of a cluster directory. Images are linked by relative path, so the page
 * works where the directory (and the model directory, for its figures) go along with it.
 *
 * @param dir A directory written by `cluster`.
 * @param at The directory the page will be written to (image links are relative to it).
 * @returns the HTML text.
 * @throws {UserError} when `dir` is not a cluster directory.
 */
export async function buildReport(dir: string, at: string = dir): Promise<string> {
  // A URL, not a file path: each segment percent-encoded, so that '#', '%', '?' or spaces in a
  // directory name do not cut the link.
  const link = (path: string) => {
    const rel = relative(resolve(at), resolve(path)) || ".";
    // On another drive (Windows) there is no relative path: a file URL.
    if (isAbsolute(rel)) return pathToFileURL(resolve(path)).href;
    return rel.split(sep).map(encodeURIComponent).join("/");
  };
  const s = await describeDir(dir);
  if (s.kind !== "clusters") {
    throw new UserError(
      `Cannot report on ${dir}: it is ${/^[aeiou]/.test(s.kind) ? "an" : "a"} ${s.kind} ` +
        `directory: give the output of 'cluster'`,
    );
  }
  const parts: string[] = [];
  const title = `seisdec clustering: ${s.n} samples in ${s.k} clusters (${s.stage})`;
  parts.push(`<h1>${esc(title)}</h1>`);
  // Paths relative to the page, as its links are: no absolute path of this machine in a page
  // that goes elsewhere.
  const shown = (path: string) => relative(resolve(at), resolve(path)) || ".";
  const result = parseJsonFile(
    await Deno.readTextFile(join(dir, "result.json")),
    join(dir, "result.json"),
    "the result.json cluster writes",
  );
  const zone = clockName(result.utcOffset === "solar" ? "solar" : Number(result.utcOffset ?? 0));
  // The dataset's extract config (meta.json): how its spectrograms were made, and the name of
  // the reference time; none where it is missing or damaged.
  const datasetConfig = await jsonField(join(String(s.dataset), "meta.json"), "config");
  const processing = processingOf(datasetConfig);
  // How the model's training data was made (model.json's datasetSettings), beside it: a model
  // applied to data made otherwise warns on the console only.
  const trainedOn = s.model ? settingsProcessing(await modelSettings(String(s.model))) : null;
  parts.push(
    table([
      ["", ""],
      ["dataset", shown(String(s.dataset))],
      ...(processing ? [["spectrograms", processing]] : []),
      ...(trainedOn ? [["model trained on", trainedOn]] : []),
      ["model", s.model ? shown(String(s.model)) : "none (k-means on the spectrograms)"],
      ["weights", String(s.stage)],
      ["normalisation", String(s.normalize)],
      ["latent dimensions", String(s.dim)],
      ["written", String(s.created)],
    ]).replace("<thead><tr><th></th><th></th></tr></thead>", ""),
  );
  const files = [
    "labels.csv",
    "clusters.csv",
    "events.csv",
    "events.xml",
    "episodes.csv",
    "latent.npy",
    "q.npy",
    "umap.csv",
    "evaluation.json",
    "result.json",
  ];
  const present: string[] = [];
  for (const f of files) if (await exists(join(dir, f))) present.push(f);
  parts.push(
    `<p>Files: ${present.map((f) => `<a href="${link(join(dir, f))}">${f}</a>`).join(", ")}.</p>`,
  );
  const profiles = await Deno.readTextFile(join(dir, "clusters.csv")).catch(() => null);
  if (profiles) {
    const rows = parseCsv(profiles, ",", { source: join(dir, "clusters.csv") }).filter((r) =>
      r.length > 1
    );
    // Readable headers with units; the CSV keeps its column names.
    const reference = referenceName(datasetConfig);
    const heads: Record<string, string> = {
      mean_confidence: "mean largest q",
      peak_frequency_hz: "peak frequency (Hz)",
      peak_time_s: `peak at (s from ${reference})`,
      peak_row: "peak row",
      peak_column: "peak column",
      first_time: "first (UTC)",
      last_time: "last (UTC)",
      peak_hour: `busiest hour (${zone})`,
      median_s_minus_p: "median S − P (s)",
      peak_snr_db: "peak SNR (dB)",
      mean_margin: "mean margin (largest q − second)",
    };
    // A column no cluster has a value in (S − P without S picks) is left out, as the console
    // leaves it out.
    const kept = rows[0].map((h, j) =>
      h !== "median_s_minus_p" || rows.slice(1).some((r) => (r[j] ?? "") !== "")
    );
    const shownRows = rows.map((r) => r.filter((_, j) => kept[j]));
    shownRows[0] = shownRows[0].map((h) => heads[h] ?? h);
    parts.push(
      "<h2>Clusters</h2>",
      `<p>Mean largest q: the soft assignment to the sample's own cluster, between 1/k (` +
        `${
          (1 / Math.max(1, Number(s.k))).toFixed(2)
        }, no preference) and 1; it grows with how far apart the codes' clusters lie, ` +
        `not with the clustering's accuracy; the margin (largest q less the second) says how ` +
        `clearly a member's cluster wins, 0 for a tie. The peaks: where the cluster's mean ` +
        `level after the reference time stands out most above the noise before it (dB ` +
        `spectrograms; for an imported array, the normalised mean's peak).</p>`,
      table(shownRows),
    );
  }
  const events = await Deno.readTextFile(join(dir, "events.csv")).catch(() => null);
  if (events) {
    parts.push(
      `<h2>Events</h2><p>The samples of each event (a catalogue's event, or triggers of the ` +
        `stations associated into one) vote: the event takes the cluster most of them fell in ` +
        `(<a href="${link(join(dir, "events.csv"))}">events.csv</a>).</p>`,
      table(eventSummary(parseCsvRecords(events, ",", { source: join(dir, "events.csv") }))),
    );
  }
  const episodes = await Deno.readTextFile(join(dir, "episodes.csv")).catch(() => null);
  if (episodes) {
    parts.push(
      `<h2>Episodes</h2><p>Consecutive windows of a channel in one cluster, merged ` +
        `(<a href="${link(join(dir, "episodes.csv"))}">episodes.csv</a>).</p>`,
      table(episodeSummary(parseCsvRecords(episodes, ",", { source: join(dir, "episodes.csv") }))),
    );
  }
  const evaluation = await Deno.readTextFile(join(dir, "evaluation.json")).catch(() => null);
  if (evaluation) {
    // deno-lint-ignore no-explicit-any
    const e: any = parseJsonFile(
      evaluation,
      join(dir, "evaluation.json"),
      "the evaluation.json evaluate writes",
    );
    const f = (
      v: number | null | undefined,
    ) => (v === null || v === undefined ? "n/a" : v.toFixed(4));
    // The events' scores (each event its samples' vote), where evaluate scored them.
    const ev = e.events as
      | { acc?: number; nmi?: number; ari?: number; labelled?: number }
      | undefined;
    const from = typeof e.labelsFrom === "string" && e.labelsFrom !== "dataset"
      ? `the classes of ${shown(e.labelsFrom)} (evaluate --labels)`
      : "the dataset's labels";
    parts.push(
      "<h2>Evaluation</h2>",
      `<p>Against ${esc(from)}.</p>`,
      table([
        ["", "ACC", "NMI", "ARI", "silhouette", "labelled"],
        ["samples", f(e.acc), f(e.nmi), f(e.ari), f(e.silhouette), String(e.labelled ?? 0)],
        ...(ev
          ? [[
            "events (each its samples' vote)",
            f(ev.acc),
            f(ev.nmi),
            f(ev.ari),
            "",
            String(ev.labelled ?? 0),
          ]]
          : []),
      ]),
    );
    if (Array.isArray(e.confusion) && Array.isArray(e.classes) && e.classes.length) {
      parts.push(
        "<h3>Confusion (rows: classes, columns: clusters)</h3>",
        table([
          ["", ...e.confusion[0].map((_: number, j: number) => `c${j}`)],
          ...e.confusion.map((row: number[], i: number) => [e.classes[i], ...row.map(String)]),
        ]),
      );
    }
  }
  const figures: string[] = [];
  // Each PNG shown, with a link to its SVG where `--svg` wrote one.
  const add = async (path: string, caption: string) => {
    if (!(await exists(path))) return;
    const svg = path.replace(/\.png$/, ".svg");
    figures.push(figure(link(path), caption, (await exists(svg)) ? link(svg) : null));
  };
  for (const [file, caption] of FIGURES) await add(join(dir, file), caption);
  if (s.model) {
    for (const [file, caption] of MODEL_FIGURES) await add(join(String(s.model), file), caption);
  }
  if (figures.length) parts.push("<h2>Figures</h2>", ...figures);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="generator" content="${GENERATOR}">
<title>${esc(title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
td:first-child, th:first-child { text-align: left; }
figure { margin: 1em 0 2em; } img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; margin-top: 0.3em; }
</style></head><body>
${parts.join("\n")}
</body></html>
`;
}

/**
 * Per cluster, from `events.csv`: the events it won, their mean agreement, how many were
 * split (agreement below 1) and their mean number of stations.
 *
 * @param rows The rows of events.csv.
 * @returns a table, header first, by cluster.
 */
export function eventSummary(rows: readonly Record<string, string>[]): string[][] {
  const by = Map.groupBy(rows, (r) => Number(r.cluster));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return [
    ["cluster", "events", "mean agreement", "split", "mean stations"],
    ...[...by].sort((a, b) => a[0] - b[0]).map(([c, rs]) => [
      String(c),
      String(rs.length),
      mean(rs.map((r) => Number(r.agreement))).toFixed(3),
      String(rs.filter((r) => Number(r.agreement) < 1).length),
      mean(rs.map((r) => Number(r.stations))).toFixed(1),
    ]),
  ];
}

/**
 * Per cluster, from `episodes.csv`: its episodes, their total and longest duration (h and s)
 * and their windows.
 *
 * @param rows The rows of episodes.csv.
 * @returns a table, header first, by cluster.
 */
export function episodeSummary(rows: readonly Record<string, string>[]): string[][] {
  const by = Map.groupBy(rows, (r) => Number(r.cluster));
  return [
    ["cluster", "episodes", "total h (all channels)", "longest s", "windows"],
    ...[...by].sort((a, b) => a[0] - b[0]).map(([c, rs]) => {
      const d = rs.map((r) => Number(r.duration_s));
      return [
        String(c),
        String(rs.length),
        (d.reduce((a, b) => a + b, 0) / 3600).toFixed(2),
        Math.max(...d).toFixed(0),
        String(rs.reduce((n, r) => n + Number(r.windows), 0)),
      ];
    }),
  ];
}

function figure(src: string, caption: string, svg: string | null): string {
  const vector = svg === null ? "" : ` (<a href="${esc(svg)}">SVG</a>)`;
  return `<figure><img src="${esc(src)}" alt="${esc(caption)}"><figcaption>${
    esc(caption)
  }${vector}</figcaption></figure>`;
}

/** The page's generator tag: a file that carries it is a report `report` may replace. */
const GENERATOR = "seisdec report";

/**
 * Refuses an `--out` that is not a report: an existing file is replaced only where it is a
 * seisdec report (or the directory's own report.html), never a directory.
 */
async function checkReportTarget(out: string, own: boolean): Promise<void> {
  const info = await Deno.stat(out).catch(() => null);
  if (!info) return;
  if (!info.isFile) {
    throw new UserError(`Cannot write ${out}: it is a directory: give --out a file name`);
  }
  if (own) return;
  const head = await Deno.open(out).then(async (f) => {
    try {
      const b = new Uint8Array(1024);
      const n = await f.read(b);
      return new TextDecoder().decode(b.subarray(0, n ?? 0));
    } finally {
      f.close();
    }
  });
  if (!head.includes(`<meta name="generator" content="${GENERATOR}">`)) {
    throw new UserError(
      `Cannot write ${out}: it exists and is not a seisdec report: choose another --out ` +
        `(or remove it yourself)`,
    );
  }
}

/** The `report` command. */
export const reportCommand: Command = {
  name: "report",
  summary: "Write report.html: a cluster directory's tables and figures on one page.",
  usage: "<cluster-dir>",
  details:
    "Gathers result.json, clusters.csv, events.csv or episodes.csv (per cluster), evaluation.json (run 'evaluate' first for scores) and the PNGs of the directory and of its model; images are linked by relative path.",
  flags: {
    out: {
      type: "string",
      arg: "FILE",
      description: "Where to write the page (default: report.html in the directory).",
    },
  },
  async run(values, positionals) {
    const dir = positionals[0];
    if (!dir) throw new UserError("Cannot run report: expected the output directory of 'cluster'");
    const given = strFlag(values, "out");
    const out = given ?? join(dir, "report.html");
    await checkReportTarget(out, given === undefined);
    const html = await buildReport(dir, dirname(out));
    await Deno.mkdir(dirname(out), { recursive: true });
    // Into the cluster directory: its listing learns of it (--force may still replace it).
    if (given === undefined) await writeIntoOutput(dir, "report.html", html);
    else await writeFileAtomic(out, html);
    console.log(`report: ${out}`);
  },
};
