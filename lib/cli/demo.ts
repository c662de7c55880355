/**
 * `cli.ts demo` (`deno task demo`): the whole mission on the built-in synthetic
 * set: synth → extract → pretrain → init → finetune → cluster → evaluate, ending
 * with ACC and NMI against the known classes for the k-means initialisation
 * and after DEC.
 *
 * @module
 */
import { join, resolve } from "node:path";
import type { Command } from "./_command.ts";
import { intFlag, numFlag, strFlag, type Values } from "./_command.ts";
import { device, seedFlag, svgFlag } from "./_shared.ts";
import type { Device } from "../tensor/tensor.ts";
import { formatProfiles, writeResults } from "./cluster.ts";
import type { ClusterProfile } from "../cluster/summary.ts";
import { buildReport } from "./report.ts";
import { writeSynth } from "../io/synth.ts";
import { writeSynthContinuous } from "../io/synth_continuous.ts";
import { parseCsvRecords } from "../io/csv.ts";
import { eventTruth } from "../cluster/events.ts";
import { TRIGGER_DEFAULTS } from "../io/sds_triggers.ts";
import { SYNTH_CLASSES } from "../signal/synth.ts";
import { readExtractConfig } from "../io/extract_config.ts";
import { runExtract } from "../io/extract.ts";
import { type Dataset, openDataset } from "../io/dataset.ts";
import { pretrain, PRETRAIN_DEFAULTS } from "../cluster/pretrain.ts";
import {
  encodeForInit,
  finetune,
  FINETUNE_DEFAULTS,
  INIT_DEFAULTS,
  initCentroids,
} from "../cluster/dec.ts";
import { selectK, writeKSelection } from "../cluster/select_k.ts";
import { applyModel, rawKmeans } from "../cluster/assign.ts";
import { evaluateClustering, type EvaluationReport, formatReport } from "../metrics/mod.ts";
import { Progress } from "../util/progress.ts";
import { UserError } from "../util/errors.ts";
import {
  checkOutputTarget,
  emptyDir,
  refuseLinkOutput,
  writeDirAtomic,
  writeIntoOutput,
} from "../util/atomic.ts";
import { adapterName } from "../gpu/device.ts";
import { compareText } from "../util/names.ts";

const MARKER = ".seisdec-demo";

/** `cli.ts demo`. */
export const demoCommand: Command = {
  name: "demo",
  gpu: true,
  summary: "Run the whole pipeline on the built-in synthetic set and print ACC/NMI.",
  details:
    "synth → extract (dB spectrograms) → pretrain → init (k-means) → finetune (DEC) → cluster → evaluate.\n" +
    "Everything lands in --out (default demo_out/), which the demo replaces only if an earlier demo made it,\n" +
    "once the new demo is complete.",
  seeded: true,
  flags: {
    out: {
      type: "string",
      arg: "DIR",
      description: "Working directory (demo_continuous_out with --continuous).",
      default: "demo_out",
    },
    "per-class": {
      type: "string",
      arg: "N",
      description: "Synthetic samples per class (not with --continuous).",
      default: "40",
    },
    epochs: { type: "string", arg: "N", description: "Pretraining epochs.", default: "30" },
    continuous: {
      type: "boolean",
      description: "Instead: a continuous synthetic archive, samples at STA/LTA triggers " +
        "(AIC onsets, two-station coincidence), DEC, and each event's vote (out: " +
        "demo_continuous_out/).",
    },
    hours: {
      type: "string",
      arg: "H",
      description: "With --continuous: hours of data.",
      default: "12",
    },
    stations: {
      type: "string",
      arg: "N",
      description: "With --continuous: stations.",
      default: "3",
    },
    svg: svgFlag,
  },
  async run(values) {
    if (values.continuous) return await continuousDemo(values);
    for (const f of ["hours", "stations"]) {
      if (strFlag(values, f) !== undefined) {
        throw new UserError(`Cannot use --${f}: it applies to demo --continuous`);
      }
    }
    const out = strFlag(values, "out") ?? "demo_out";
    const seed = seedFlag(values) ?? 0;
    const quiet = !!values.quiet;
    const svg = !!values.svg;
    const dev = device();
    // Read before anything is written: a value that is no number is refused at once.
    const perClass = intFlag(values, "per-class") ?? 40;
    const epochs = intFlag(values, "epochs") ?? 30;
    const lines = await inTemporary(
      out,
      (dir) => classesDemo(dir, out, perClass, { epochs, seed, quiet, svg, dev }),
    );
    console.log(lines.join("\n"));
  },
};

/** The settings both demos share. */
interface DemoSettings {
  epochs: number;
  seed: number;
  quiet: boolean;
  svg: boolean;
  dev: Device;
}

/**
 * The demo, built in `dir` (a temporary that becomes `out`).
 *
 * @returns its summary's lines, naming the paths under `out`.
 */
async function classesDemo(
  dir: string,
  out: string,
  perClass: number,
  { epochs, seed, quiet, svg, dev }: DemoSettings,
): Promise<string[]> {
  const t0 = performance.now();
  const say = (s: string) => !quiet && console.error(`\n== ${s}`);
  console.error(`seisdec demo on ${dev === "cpu" ? "the CPU backend" : await adapterName()}`);

  say("synth: 5 classes of synthetic seismograms (miniSEED 3 + StationXML + QuakeML)");
  const synthDir = join(dir, "synth");
  await writeSynth(synthDir, { perClass, seed, force: true });

  say(
    "extract: response removal, resampling, band-pass, Kaiser STFT in dB, crop around the onset",
  );
  const cfg = await readExtractConfig(join(synthDir, "extract.json"));
  cfg.spectrogram.scaling = "db";
  const dsDir = join(dir, "dataset");
  const ex = await runExtract(cfg, dsDir, { force: true, quiet });
  const ds = await openDataset(dsDir);
  const truth = ds.labels();

  say(`pretrain: autoencoder on ${ds.count} spectrograms [${ds.sampleShape}]`);
  const model = join(dir, "model");
  await pretrainDemo(ds, model, dsDir, epochs, seed, dev, quiet, svg);

  say("init: how many clusters, without the labels? k-means for k = 2..9, silhouette");
  const latent = await encodeForInit(model, ds, dev);
  const sel = await selectK(
    latent,
    ds.count,
    latent.length / ds.count,
    [2, 3, 4, 5, 6, 7, 8, 9], // the candidates recorded below
    {
      method: "kmeans",
      nInit: 10,
      maxIter: 300,
      tol: 1e-4,
      seed,
    },
  );

  const silAt = (k: number) => sel.scores.find((s) => s.k === k)!.silhouette.toFixed(3);
  const k = SYNTH_CLASSES.length;

  say(`init: k-means (k-means++, 100 restarts) on the latent codes, k = ${k} classes`);
  // The selection is recorded in model.json as init records it (candidates, criterion, the k
  // it chose), and its files written after the centres; the demo fits k = the classes all the
  // same, so `chosen` may differ from `k` (info shows both).
  const candidates = [2, 3, 4, 5, 6, 7, 8, 9];
  const init = await initCentroids(model, ds, { ...INIT_DEFAULTS, k, seed }, dev, {
    latent,
    record: { kSelection: { candidates, criterion: sel.criterion, chosen: sel.best } },
  });
  await writeKSelection(model, sel, svg);
  const eInit = evaluateClustering({ pred: init.labels, k, truth });

  say("finetune: DEC, target distribution over the dataset every epoch");
  await finetuneDemo(ds, model, seed, dev, quiet);

  say("cluster + evaluate");
  const clusters = join(dir, "clusters");
  const { profiles, eDec } = await clusterDemo(clusters, ds, model, k, truth, seed, dev, svg);
  await writeIntoOutput(
    clusters,
    "evaluation.json",
    JSON.stringify({ ...eDec, labelsFrom: "dataset" }, null, 2) + "\n",
  );
  await writeIntoOutput(clusters, "report.html", await buildReport(clusters));
  const raw = await rawKmeans(ds, k, { normalize: "minmax", seed });
  const eRaw = evaluateClustering({ pred: raw.labels!, k, truth });
  if (!quiet) console.log(formatReport(eDec) + "\n\n" + formatProfiles(profiles));
  const f = (v: number | null) => (v ?? NaN).toFixed(3);
  // The synthetic explosions fire in working hours: the clustering never saw the times, so a
  // cluster whose samples keep those hours shows it found them.
  // Empty clusters (and those without times) have no share: NaN, left out below.
  const dayShare = profiles.map((p) => {
    const all = p.hours.reduce((u, v) => u + v, 0);
    return all ? p.hours.slice(8, 18).reduce((u, v) => u + v, 0) / all : NaN;
  });
  const day = dayShare.indexOf(Math.max(...dayShare.filter((v) => !Number.isNaN(v))));
  // The cluster's most frequent class, from the confusion matrix (rows: classes).
  const col = eDec.confusion!.map((row) => row[day]);
  const major = eDec.classes![col.indexOf(Math.max(...col))];
  const others = dayShare.filter((v, j) => j !== day && !Number.isNaN(v))
    .map((v) => Math.round(100 * v));
  return [
    "",
    `demo: ${ex.ok} samples, ${k} classes, ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    `  k-means on raw spectrograms  ACC ${f(eRaw.acc)}  NMI ${f(eRaw.nmi)}`,
    `  k-means init (latent)        ACC ${f(eInit.acc)}  NMI ${f(eInit.nmi)}`,
    `  DEC                          ACC ${f(eDec.acc)}  NMI ${f(eDec.nmi)}`,
    `  k chosen without labels      ${sel.best} by silhouette (${silAt(sel.best)}; ${k} classes: ${
      silAt(k)
    })`,
    `  most day-time cluster         ${day} (mostly ${major}): ${
      Math.round(100 * dayShare[day])
    } % of it 08-17 UTC, others ${Math.min(...others)}-${Math.max(...others)} %`,
    `outputs: ${join(out, "clusters")} (report.html, labels.csv, clusters.csv, latent.npy, q.npy ` +
    `and figures: ${figuresIn(clusters).join(", ")}), ${join(out, "model")} (k_selection.png)`,
  ];
}

/**
 * Runs a demo into a temporary sibling of `out` (`.NAME.PID.TAG.tmp`, which Ctrl-C removes, and
 * the next demo removes where a killed one left it) that takes the place of an earlier demo's
 * directory only once it is complete: a demo stopped or failing partway leaves the earlier one
 * as it was. The absolute paths its records give (model.json's dataset, result.json's dataset
 * and model, meta.json's input and output) are made those under `out` before
 * ({@linkcode writeDirAtomic}, whose refused write, a full disk, names `out`).
 *
 * @param out The demo's directory.
 * @param build Writes the demo into the directory it is given.
 * @returns what `build` returns.
 */
async function inTemporary<T>(out: string, build: (dir: string) => Promise<T>): Promise<T> {
  let r!: T;
  await writeDirAtomic(out, async (tmp) => {
    await Deno.writeTextFile(join(tmp, MARKER), "made by `cli.ts demo`; safe to delete\n");
    r = await build(tmp);
    await repointRecords(tmp, out);
  }, { replace: await claimOut(out) });
  return r;
}

/**
 * Makes the absolute paths under `from` that the JSON files of a finished demo record (where
 * each stage read and wrote) name the same paths under `to`, where the demo is about to be put.
 */
async function repointRecords(from: string, to: string): Promise<void> {
  // As JSON writes them: the temporary's name is this run's alone, so each occurrence is one.
  const [a, b] = [resolve(from), resolve(to)].map((p) => JSON.stringify(p).slice(1, -1));
  const walk = async (d: string): Promise<void> => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p);
      else if (e.isFile && e.name.endsWith(".json")) {
        const text = await Deno.readTextFile(p);
        if (text.includes(a)) await Deno.writeTextFile(p, text.replaceAll(a, b));
      }
    }
  };
  await walk(from);
}

/**
 * Checks that `out` may become the demo's own directory: refused where it exists, holds
 * something and the demo did not make it (an empty directory, made with mkdir for it, is taken
 * as any output's is). Puts back an earlier demo a killed one had moved aside, and removes a
 * killed demo's temporary.
 *
 * @returns whether `out` holds an earlier demo to replace.
 */
async function claimOut(out: string): Promise<boolean> {
  // As every output: the demo would write where the link points, and replace the link's target.
  await refuseLinkOutput(out);
  const isDemo = await Deno.stat(join(out, MARKER)).then(() => true, () => false);
  const existsOut = await Deno.stat(out).then(() => true, () => false);
  if (existsOut && !isDemo && !(await emptyDir(out).catch(() => false))) {
    throw new UserError(
      `Cannot run the demo in ${out}: it exists and was not made by the demo: give --out ` +
        "another directory",
    );
  }
  // An earlier demo's directory is replaced whole: everything in it is the demo's (its marker
  // says so), and its outputs may predate the listings --force checks (OUTPUT_LISTING).
  return await checkOutputTarget(out, { force: true });
}

/**
 * `demo --continuous`: a continuous synthetic archive (synth --continuous), samples at its
 * STA/LTA triggers (AIC onsets, two stations within 10 s), then pretrain, init, DEC, cluster
 * and the events' votes; prints how many arrivals the triggers found and ACC/NMI per sample
 * and per event.
 */
async function continuousDemo(values: Values): Promise<void> {
  if (strFlag(values, "per-class") !== undefined) {
    throw new UserError("Cannot use --per-class with --continuous: give --hours and --stations");
  }
  const out = strFlag(values, "out") ?? "demo_continuous_out";
  const seed = seedFlag(values) ?? 0;
  const quiet = !!values.quiet;
  const svg = !!values.svg;
  const dev = device();
  const hours = numFlag(values, "hours") ?? 12;
  const nStations = intFlag(values, "stations") ?? 3;
  if (!(hours > 0)) throw new UserError(`Cannot read --hours: expected > 0: found ${hours}`);
  if (nStations < 2) {
    throw new UserError(
      `Cannot read --stations: expected >= 2 (a coincidence): found ${nStations}`,
    );
  }
  const epochs = intFlag(values, "epochs") ?? 30;
  const lines = await inTemporary(
    out,
    (dir) => continuousRun(dir, out, hours, nStations, { epochs, seed, quiet, svg, dev }),
  );
  console.log(lines.join("\n"));
}

/**
 * The continuous demo, built in `dir` (a temporary that becomes `out`).
 *
 * @returns its summary's lines, naming the paths under `out`.
 */
async function continuousRun(
  dir: string,
  out: string,
  hours: number,
  nStations: number,
  { epochs, seed, quiet, svg, dev }: DemoSettings,
): Promise<string[]> {
  const t0 = performance.now();
  const say = (s: string) => !quiet && console.error(`\n== ${s}`);
  console.error(
    `seisdec demo --continuous on ${dev === "cpu" ? "the CPU backend" : await adapterName()}`,
  );

  say(`synth --continuous: ${hours} h of 100 Hz noise and events at ${nStations} stations (SDS)`);
  const archive = join(dir, "archive");
  const sum = await writeSynthContinuous(archive, {
    hours,
    stations: nStations,
    eventsPerHour: 8,
    seed,
    force: true,
  });

  say("extract: STA/LTA triggers (1/20/4/1.5), AIC onsets, two stations within 10 s; dB");
  const cfg = await readExtractConfig(join(archive, "extract.json"));
  if (cfg.input.format !== "sds" || !cfg.input.windows) throw new Error("synth wrote no windows");
  cfg.input.windows.step = null;
  cfg.input.windows.trigger = {
    ...TRIGGER_DEFAULTS,
    coincidence: { stations: 2, window: 10 },
    aic: { before: 5, after: 1 },
  };
  cfg.spectrogram.scaling = "db";
  const dsDir = join(dir, "dataset");
  const ex = await runExtract(cfg, dsDir, { force: true, quiet });
  const ds = await openDataset(dsDir);
  const truth = ds.labels();
  // Each sample against the arrivals: found where an arrival at its station lies at most 1 s
  // after or 6 s before its reference time.
  const arrivals = sum.events.flatMap((e) => e.arrivals);
  const times = ds.samples.map((x) => ({ station: x.station, t: Date.parse(x.referenceTime) }));
  const found =
    arrivals.filter((a) =>
      times.some((x) => x.station === a.station && x.t >= a.time - 1000 && x.t <= a.time + 6000)
    ).length;
  const falseTriggers =
    times.filter((x) =>
      !arrivals.some((a) => a.station === x.station && x.t >= a.time - 1000 && x.t <= a.time + 6000)
    ).length;

  const k = new Set(sum.events.map((e) => e.label)).size;
  say(`pretrain: autoencoder on ${ds.count} spectrograms [${ds.sampleShape}]`);
  const model = join(dir, "model");
  await pretrainDemo(ds, model, dsDir, epochs, seed, dev, quiet, svg);

  say(`init: k-means on the latent codes, k = ${k} event classes`);
  const init = await initCentroids(model, ds, { ...INIT_DEFAULTS, k, seed }, dev);
  const eInit = evaluateClustering({ pred: init.labels, k, truth });

  say("finetune: DEC");
  await finetuneDemo(ds, model, seed, dev, quiet);

  say("cluster + evaluate, per sample and per event (the stations' vote)");
  const clusters = join(dir, "clusters");
  const { eDec } = await clusterDemo(clusters, ds, model, k, truth, seed, dev, svg);
  const rows = parseCsvRecords(await Deno.readTextFile(join(clusters, "events.csv")), ",", {
    source: join(clusters, "events.csv"),
  });
  const classOf = new Map(ds.samples.map((x, i) => [x.id, truth[i]]));
  const events = evaluateClustering({
    ...eventTruth(rows as { cluster: string; ids: string }[], classOf),
    k,
  });
  await writeIntoOutput(
    clusters,
    "evaluation.json",
    JSON.stringify({ ...eDec, labelsFrom: "dataset", events }, null, 2) + "\n",
  );
  await writeIntoOutput(clusters, "report.html", await buildReport(clusters));
  if (!quiet) console.log(formatReport(eDec));
  const f = (v: number | null) => (v ?? NaN).toFixed(3);
  return [
    "",
    `demo --continuous: ${hours} h at ${nStations} stations, ${sum.events.length} synthetic events, ` +
    `${((performance.now() - t0) / 1000).toFixed(0)} s`,
    `  triggers     ${ex.ok} samples: ${found} of ${arrivals.length} arrivals found, ` +
    `${falseTriggers} false`,
    `  k-means init (latent)        ACC ${f(eInit.acc)}  NMI ${f(eInit.nmi)}`,
    `  DEC, per sample              ACC ${f(eDec.acc)}  NMI ${f(eDec.nmi)}`,
    `  DEC, per event (vote)        ACC ${f(events.acc)}  NMI ${f(events.nmi)}  ` +
    `(${events.n} events: the triggers' associations)`,
    `outputs: ${join(out, "clusters")} (report.html, events.csv, labels.csv, ...), ` +
    `${join(out, "dataset")} (triggers.csv)`,
  ];
}

/**
 * The demos' pretraining: min-max normalised, batch 8 (25 Adam steps per epoch on 200 samples;
 * at 32 the codes stay undertrained), with a progress bar.
 */
async function pretrainDemo(
  ds: Dataset,
  model: string,
  dsDir: string,
  epochs: number,
  seed: number,
  dev: Device,
  quiet: boolean,
  svg: boolean,
): Promise<void> {
  await Deno.remove(model, { recursive: true }).catch(() => {});
  let bar: Progress | null = null;
  await pretrain(ds, model, {
    ...PRETRAIN_DEFAULTS,
    epochs,
    batchSize: 8,
    normalize: "minmax",
    seed,
  }, {
    device: dev,
    datasetPath: dsDir,
    svg,
    hooks: {
      // Made before the first step, so that the bar's total time and rate count it.
      onEpochStart(_epoch, steps) {
        bar ??= new Progress("pretrain", epochs * steps, { quiet });
      },
      onStep(_step, _steps, loss) {
        bar?.tick(1, `MSE ${loss.toExponential(3)}`);
      },
    },
  });
  (bar as Progress | null)?.done();
}

/** The demos' DEC: batch 16, the target distribution every epoch, at most 40 epochs. */
async function finetuneDemo(
  ds: Dataset,
  model: string,
  seed: number,
  dev: Device,
  quiet: boolean,
): Promise<void> {
  const steps = Math.ceil(ds.count / 16);
  const fb = new Progress("finetune", 40 * steps, { quiet });
  await finetune(
    model,
    ds,
    { ...FINETUNE_DEFAULTS, batchSize: 16, updateInterval: steps, maxIter: 40 * steps, seed },
    dev,
    {
      onStep: (_i, _m, l) => fb.tick(1, `KL ${l.toExponential(3)}`),
      onWarn: (m) => console.error(`warning: ${m}`),
    },
  );
  fb.done();
}

/**
 * The demos' clustering: the DEC weights' assignment written to `clusters` (with its profiles
 * and figures) and scored against the known classes.
 */
async function clusterDemo(
  clusters: string,
  ds: Dataset,
  model: string,
  k: number,
  truth: (string | null)[],
  seed: number,
  dev: Device,
  svg: boolean,
): Promise<{ profiles: ClusterProfile[]; eDec: EvaluationReport }> {
  const a = await applyModel(model, ds, dev, "dec");
  const profiles = await writeResults(clusters, ds, a, { force: true, plots: true, seed, svg });
  const eDec = evaluateClustering({
    pred: a.labels!,
    k,
    truth,
    latent: a.latent,
    dim: a.dim,
    seed,
  });
  return { profiles, eDec };
}

/** The figures (PNGs) a directory holds, by name without the extension, in reading order. */
function figuresIn(dir: string): string[] {
  const order = [
    "latent_pca",
    "latent_umap",
    "examples",
    "example_waveforms",
    "cluster_means",
    "cluster_spectra",
    "hour_of_day",
    "timeline",
    "stations",
  ];
  const names = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".png"))
    .map((e) => e.name.slice(0, -4));
  const rank = (n: string) => (order.includes(n) ? order.indexOf(n) : order.length);
  return names.sort((a, b) => rank(a) - rank(b) || compareText(a, b));
}
