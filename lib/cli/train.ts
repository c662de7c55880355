/**
 * `cli.ts pretrain`, `cli.ts init` and `cli.ts finetune`: the three training
 * stages of DEC, each reading a dataset and a model directory.
 *
 * @module
 */
import { join } from "node:path";
import type { Command } from "./_command.ts";
import { intFlag, intOrAutoFlag, numFlag, strFlag } from "./_command.ts";
import {
  checkpointSettings,
  datasetArg,
  device,
  enumFlag,
  required,
  seedFlag,
  svgFlag,
} from "./_shared.ts";
import { defaultNormalize } from "../io/dataset.ts";
import { finetuneSchema, pretrainSchema } from "../cluster/schemas.ts";
import {
  fileKs,
  readConfigFile,
  resolveFinetune,
  resolveInit,
  resolvePretrain,
} from "../cluster/config.ts";
import {
  pretrain,
  type PretrainConfig,
  type PretrainHooks,
  pretrainStepsWarning,
} from "../cluster/pretrain.ts";
import {
  encodeForInit,
  finetune,
  type FinetuneConfig,
  initCentroids,
  nearlyUniform,
  nInitOf,
  updateIntervalOf,
} from "../cluster/dec.ts";
import {
  K_CRITERIA,
  type KCriterion,
  kListReason,
  type KSelection,
  parseKList,
  selectK,
  writeKSelection,
} from "../cluster/select_k.ts";
import {
  downstreamOf,
  exists,
  isDirectory,
  keepCheckpointOnInterrupt,
  LOCK_FILE,
  lockModelDir,
  readJson,
} from "../io/checkpoint.ts";
import { distinctPoints } from "../cluster/kmeans.ts";
import { evaluateClustering, formatReport } from "../metrics/mod.ts";
import { Progress, type ProgressOptions } from "../util/progress.ts";
import { UserError } from "../util/errors.ts";
import { refusedWrite, restoreMovedAside } from "../util/atomic.ts";

const modelFlag = {
  type: "string" as const,
  arg: "DIR",
  description: "Model directory (created by pretrain).",
};
/**
 * Runs a training call, then ends its checkpoint note ({@linkcode keepCheckpointOnInterrupt})
 * when it finishes or fails, except where the file system refused a write (a full disk): then
 * the CLI's error names the checkpoint kept, from that note (before, it was gone by then).
 *
 * @param ckDir The checkpoint directory.
 * @param run The training call.
 * @returns what it returns.
 */
export async function keptOnFullDisk<T>(ckDir: string, run: Promise<T>): Promise<T> {
  try {
    const v = await run;
    keepCheckpointOnInterrupt(ckDir, null);
    return v;
  } catch (e) {
    if (refusedWrite(e) === null) keepCheckpointOnInterrupt(ckDir, null);
    throw e;
  }
}

/**
 * The `state.json` of the checkpoint that a run starting over (`--force`) found, by checkpoint
 * directory: the run leaves that checkpoint in place until its own first one replaces it.
 */
const earlierStates = new Map<string, string>();

/**
 * Remembers the checkpoint that a run starting over finds ({@linkcode isEarlier}), or forgets
 * the one an earlier call remembered.
 *
 * @param ckDir The checkpoint directory.
 * @param over The run starts over (`--force` without `--resume`).
 */
async function rememberEarlier(ckDir: string, over: boolean): Promise<void> {
  const text = over ? await Deno.readTextFile(join(ckDir, "state.json")).catch(() => null) : null;
  if (text === null) earlierStates.delete(ckDir);
  else earlierStates.set(ckDir, text);
}

/**
 * Whether a run starting over has not yet replaced the checkpoint it found. Synchronous, for the
 * note of Ctrl-C.
 *
 * @param ckDir The checkpoint directory.
 */
function isEarlier(ckDir: string): boolean {
  const text = earlierStates.get(ckDir);
  if (text === undefined) return false;
  try {
    return Deno.readTextFileSync(join(ckDir, "state.json")) === text;
  } catch {
    return false;
  }
}

/**
 * {@linkcode keptOnFullDisk}, whose error, where the run started over and had not yet replaced
 * the earlier run's checkpoint, says that it is kept (a refused write's note names it already).
 *
 * @param ckDir The checkpoint directory.
 * @param run The training call.
 * @returns what it returns.
 */
async function keptEarlier<T>(ckDir: string, run: Promise<T>): Promise<T> {
  try {
    return await keptOnFullDisk(ckDir, run);
  } catch (e) {
    if (e instanceof Error && refusedWrite(e) === null && isEarlier(ckDir)) {
      e.message += `; the earlier run's ${ckDir} is kept as it was`;
    }
    throw e;
  }
}

const configFlag = {
  type: "string" as const,
  arg: "FILE",
  description: "JSON config with pretrain/init/finetune sections; flags override it.",
};

/**
 * A training command that holds its model directory's lock ({@linkcode lockModelDir}) for its
 * whole run: its checks of the directory and the deletions of --force as well as the training,
 * so that a second command into a directory that a running one writes is refused before it
 * touches anything. Here and not in `pretrain()` and the like: a command's checks come before
 * those calls, and a program may chain them on one directory.
 *
 * @param cmd The command; its `--model` names the directory.
 * @param creates The command makes the directory (pretrain); the others leave a missing one
 *   to their own error.
 * @returns the command, locking.
 */
function lockingModel(cmd: Command, creates = false): Command {
  const run = cmd.run;
  return {
    ...cmd,
    async run(values, positionals) {
      const dir = strFlag(values, "model");
      // No --model: the command says so itself.
      if (dir === undefined) return await run(values, positionals);
      // Only pretrain makes the directory. For the others a missing one is a mistyped path:
      // no lock (which would create it, empty), and the command names it once its flags are
      // read.
      if (!creates && !(await isDirectory(dir))) {
        return await run(values, positionals);
      }
      const command = [cmd.name, ...positionals, "--model", dir].join(" ");
      const release = await lockModelDir(dir, command, { flag: "--model" });
      try {
        await run(values, positionals);
      } finally {
        await release();
      }
    },
  };
}

/**
 * The progress hooks of `cli.ts pretrain`: a bar per epoch, made as the epoch starts so that its
 * total time and rate count the first step (the slowest: the first pass compiles the kernels),
 * and a warning, if any, said once after the first step (before the bar's first line).
 *
 * @param epochs The epochs of the whole run, for the epoch lines.
 * @param warning Said after the first step, before the bar's first line (e.g. too few Adam
 *   steps), or null.
 * @param options The bars' options (quiet; a test's clock and output).
 * @returns the hooks.
 */
export function pretrainProgress(
  epochs: number,
  warning: string | null,
  options: ProgressOptions = {},
): PretrainHooks {
  let bar: Progress | null = null;
  return {
    onEpochStart(_epoch, steps, done = 0) {
      // Resumed inside an epoch: the steps left to this run, as finetune's bar counts them.
      bar = new Progress("pretrain", steps - done, options);
    },
    onStep(_step, _steps, loss) {
      // Said once a step has run: a run that fails at its first step (a NaN in the data, a
      // diverging loss) prints only its error line.
      if (warning) console.error(`warning: ${warning}`);
      warning = null;
      bar?.tick(1, `loss ${loss.toExponential(3)}`);
    },
    onEpoch(r) {
      bar?.done(
        `epoch ${r.epoch}/${epochs} train ${r.trainLoss.toExponential(3)}` +
          (r.valLoss !== null ? ` val ${r.valLoss.toExponential(3)}` : "") +
          ` ${r.samplesPerSec.toFixed(1)} samples/s`,
      );
    },
  };
}

/** `cli.ts pretrain`. */
export const pretrainCommand: Command = lockingModel({
  name: "pretrain",
  gpu: true,
  summary: "Pretrain the convolutional autoencoder (MSE, Adam) on a spectrogram dataset.",
  usage: "<dataset-dir> --model DIR",
  details:
    "Writes model.json, autoencoder.safetensors (PyTorch parameter names), learning_curve.csv/.png\n" +
    "and checkpoint/ (weights, Adam state, epoch, RNG state) after every epoch.",
  seeded: true,
  flags: {
    model: modelFlag,
    config: configFlag,
    epochs: { type: "string", arg: "N", description: "Epochs.", default: "30", fromConfig: true },
    "batch-size": {
      type: "string",
      arg: "N",
      description: "Batch size.",
      default: "64",
      fromConfig: true,
    },
    lr: {
      type: "string",
      arg: "X",
      description: "Adam learning rate.",
      default: "1e-3",
      fromConfig: true,
    },
    beta1: {
      type: "string",
      arg: "X",
      description: "Adam beta1.",
      default: "0.9",
      fromConfig: true,
    },
    beta2: {
      type: "string",
      arg: "X",
      description: "Adam beta2.",
      default: "0.999",
      fromConfig: true,
    },
    "weight-decay": {
      type: "string",
      arg: "X",
      description: "L2 weight decay.",
      default: "0",
      fromConfig: true,
    },
    "val-split": {
      type: "string",
      arg: "F",
      description: "Fraction held out for validation.",
      default: "0",
      fromConfig: true,
    },
    "latent-dim": {
      type: "string",
      arg: "N",
      description: "Latent size.",
      default: "9",
      fromConfig: true,
    },
    channels: {
      type: "string",
      arg: "C,C,...",
      description:
        "Encoder channels per stride-2 convolution (their count is the depth); the decoder mirrors them.",
      default: "8,16,32,64,128",
      fromConfig: true,
    },
    normalize: {
      type: "string",
      arg: "MODE",
      description:
        "Per-sample normalisation: maxabs, l2, minmax, none (default: the config file's value, else minmax for dB or log10 spectrograms, else maxabs).",
    },
    resume: {
      type: "boolean",
      description:
        "Continue from the model directory's last checkpoint, with its settings for the flags not given.",
    },
    svg: svgFlag,
    "checkpoint-every": {
      type: "string",
      arg: "SECONDS",
      description:
        "Also checkpoint inside an epoch after this many seconds (0: at each epoch's end only).",
      default: "300",
    },
    force: {
      type: "boolean",
      description:
        "Start over even if the model directory holds a model; delete centres and fine-tuned weights made from the old encoder.",
    },
  },
  async run(values, positionals) {
    const ds = await datasetArg(positionals, "pretrain");
    const every = numFlag(values, "checkpoint-every") ?? 300;
    if (!(every >= 0)) {
      throw new UserError(`Cannot read --checkpoint-every: expected seconds >= 0: found ${every}`);
    }
    const dir = required(values, "model", "pretrain");
    const file = await readConfigFile(strFlag(values, "config"));
    await restoreCheckpoint(join(dir, "checkpoint"));
    // A resume takes the checkpoint's settings for what neither a flag nor the config file gives.
    const kept = values.resume
      ? await checkpointSettings(join(dir, "checkpoint", "state.json"), pretrainSchema.shape) as
        | Partial<PretrainConfig>
        | undefined
      : undefined;
    const settings = kept ? { ...kept, ...file.pretrain } : file.pretrain;
    const b1 = numFlag(values, "beta1"), b2 = numFlag(values, "beta2");
    const base = resolvePretrain(settings, {});
    const cfg = resolvePretrain(settings, {
      epochs: intFlag(values, "epochs"),
      batchSize: intFlag(values, "batch-size"),
      lr: numFlag(values, "lr"),
      betas: b1 !== undefined || b2 !== undefined
        ? [b1 ?? base.betas[0], b2 ?? base.betas[1]]
        : undefined,
      weightDecay: numFlag(values, "weight-decay"),
      valSplit: numFlag(values, "val-split"),
      latentDim: intFlag(values, "latent-dim"),
      channels: channelsFlag(values),
      normalize: enumFlag(values, "normalize", ["maxabs", "l2", "minmax", "none"] as const) ??
        (settings?.normalize ? undefined : defaultNormalize(ds.meta.scaling)),
      seed: seedFlag(values),
    });
    const hasCk = await exists(join(dir, "checkpoint", "state.json"));
    if (hasCk && !values.resume && !values.force) {
      throw new UserError(
        `Cannot pretrain into ${dir}: it holds a checkpoint: pass --resume to continue or --force to start over`,
      );
    }
    // A finished model whose checkpoint was deleted (to save space) is still the user's work.
    const hasModel = await exists(join(dir, "autoencoder.safetensors"));
    if (!hasCk && !values.force && (values.resume || hasModel)) {
      // A new directory (empty but for this run's lock) holds no earlier run to start over.
      const earlier = hasModel ||
        (await Array.fromAsync(Deno.readDir(dir)).catch(() => [])).some((e) =>
          e.name !== LOCK_FILE
        );
      throw new UserError(
        values.resume
          ? `Cannot resume pretraining in ${dir}: no checkpoint/ there${
            hasModel ? " (it holds a pretrained model)" : ""
          }: run pretrain without --resume${hasModel ? " and with --force" : ""} to start${
            earlier ? " over" : ""
          }`
          : `Cannot pretrain into ${dir}: it holds a pretrained model (autoencoder.safetensors): ` +
            `pass --force to replace it, or choose another --model directory`,
      );
    }
    const stale = await downstreamOf(dir, "pretrain");
    if (stale.length && !values.force) {
      throw new UserError(
        `Cannot pretrain into ${dir}: it holds ${
          stale.join(", ")
        }, made from the current encoder, which new pretraining would make stale: pass --force to replace them ` +
          `(they are deleted when the new weights are written; a run stopped before leaves them)`,
      );
    }
    const quiet = !!values.quiet;
    const ckDir = join(dir, "checkpoint");
    // --force starts over, but leaves the earlier run's checkpoint until this run's first one
    // replaces it (in one step): a run that fails before then leaves it to --resume.
    await rememberEarlier(ckDir, !!values.force && !values.resume);
    keepCheckpointOnInterrupt(
      ckDir,
      (st) =>
        isEarlier(ckDir)
          ? `the earlier run's, ${
            pretrainDone(st, Number((st.config as { epochs?: unknown } | undefined)?.epochs))
          }`
          : pretrainDone(st, cfg.epochs),
      () => isEarlier(ckDir),
    );
    const hist = await keptEarlier(
      ckDir,
      pretrain(ds, dir, cfg, {
        resume: !!values.resume,
        device: device(),
        datasetPath: positionals[0],
        checkpointEvery: every,
        // The checks above refused stale outputs without --force.
        force: !!values.force,
        svg: !!values.svg,
        // The few-steps warning is said when training starts, after every check of the model
        // directory has passed.
        hooks: pretrainProgress(cfg.epochs, pretrainStepsWarning(ds.count, cfg), { quiet }),
      }),
    );
    const last = hist.at(-1);
    console.log(
      `pretrain: ${hist.length} epoch${hist.length === 1 ? "" : "s"}, final train MSE ${
        last?.trainLoss.toExponential(4)
      }` +
        (last?.valLoss != null ? `, val MSE ${last.valLoss.toExponential(4)}` : "") +
        `; model in ${dir}`,
    );
  },
  afterDeviceLoss(values) {
    return resumeAdvice(
      join(required(values, "model", "pretrain"), "checkpoint"),
      "no epoch had finished",
      (s: { epoch: number; step?: number; config: { epochs: number } }) =>
        `the weights after epoch ${s.epoch} of ${s.config.epochs}${
          s.step !== undefined ? ` and ${stepsPhrase(s.step)} of epoch ${s.epoch + 1}` : ""
        }`,
    );
  },
}, true);

/**
 * Reads `--channels`: positive integers separated by commas.
 *
 * @returns the channels, or undefined when the flag is absent.
 * @throws {UserError} for anything else.
 */
function channelsFlag(values: Parameters<typeof strFlag>[0]): number[] | undefined {
  const v = strFlag(values, "channels");
  if (v === undefined) return undefined;
  // Decimal digits only: Number() also reads "0x10" as 16 and "1e1" as 10.
  const out = v.split(",").map((s) => /^\s*\d+\s*$/.test(s) ? Number(s) : NaN);
  if (!out.every((c) => Number.isSafeInteger(c) && c >= 1)) {
    throw new UserError(
      `Cannot read --channels: expected positive integers separated by commas, such as ` +
        `8,16,32,64,128: found '${v}'`,
    );
  }
  return out;
}

/**
 * How far a pretraining checkpoint is: `epoch 3 of 30 done`, or inside an epoch `epoch 3 of 30
 * done and 120 steps of epoch 4` (`1 step`).
 *
 * @param st The checkpoint's state.
 * @param epochs The epochs asked for.
 */
function pretrainDone(st: { epoch?: unknown; step?: unknown }, epochs: number): string {
  const e = Number(st.epoch);
  return `epoch ${e} of ${epochs} done` +
    (st.step !== undefined ? ` and ${stepsPhrase(Number(st.step))} of epoch ${e + 1}` : "");
}

/** `1 step`, `2 steps`. */
function stepsPhrase(n: number): string {
  return `${n} step${n === 1 ? "" : "s"}`;
}

/**
 * What to do after the WebGPU device was lost in a training run: resume from its checkpoint,
 * or start again where it wrote none.
 *
 * @param ckDir The checkpoint directory.
 * @param none Why there is no checkpoint, when there is none.
 * @param holds What the checkpoint holds, from its state.json.
 * @returns the advice.
 */
async function resumeAdvice<S>(
  ckDir: string,
  none: string,
  holds: (state: S) => string,
): Promise<string> {
  if (!await exists(join(ckDir, "state.json"))) {
    return `${none}, so there is no checkpoint in ${ckDir}: rerun the same command to start again`;
  }
  const state = await readJson<S>(ckDir, "state.json");
  // A forced run's first checkpoint not yet written: --resume would continue the earlier run.
  return isEarlier(ckDir)
    ? `${ckDir} holds ${holds(state)} (the earlier run's, kept; this run had written no ` +
      `checkpoint yet): rerun the same command to start over, or add --resume to continue the ` +
      `earlier run, with its settings`
    : `${ckDir} holds ${holds(state)}: rerun the same command with --resume to continue from there`;
}

/** Puts back a checkpoint that a run killed while replacing it had moved aside. */
async function restoreCheckpoint(ckDir: string): Promise<void> {
  const back = await restoreMovedAside(ckDir);
  if (back) console.error(`note: put back ${ckDir} from ${back}, left by an interrupted run`);
}

/** `cli.ts init`. */
export const initCommand: Command = lockingModel({
  name: "init",
  gpu: true,
  summary: "Initialise cluster centres by k-means (or GMM) on the pretrained latent codes.",
  usage: "<dataset-dir> --model DIR",
  seeded: true,
  flags: {
    model: modelFlag,
    config: configFlag,
    k: {
      type: "string",
      arg: "K",
      description:
        "Number of clusters, or candidates to choose from by --k-criterion: a range 2:12 or a list 3,5,8.",
      default: "5",
      fromConfig: true,
    },
    "k-criterion": {
      type: "string",
      arg: "C",
      description:
        "How a range of k is chosen: silhouette, calinski-harabasz, davies-bouldin, or bic (GMM).",
      default: "silhouette",
      fromConfig: true,
    },
    method: {
      type: "string",
      arg: "M",
      description: "kmeans or gmm.",
      default: "kmeans",
      fromConfig: true,
    },
    "n-init": {
      type: "string",
      arg: "N|auto",
      description: "Restarts: k-means++ seedings, or whole GMM EM runs (auto: 100 or 10).",
      default: "100 (kmeans), 10 (gmm)",
      fromConfig: true,
    },
    "max-iter": {
      type: "string",
      arg: "N",
      description: "Iterations per run.",
      default: "1000",
      fromConfig: true,
    },
    tol: {
      type: "string",
      arg: "X",
      description: "Convergence tolerance.",
      default: "1e-4",
      fromConfig: true,
    },
    covariance: {
      type: "string",
      arg: "C",
      description: "GMM covariance: diag or full.",
      default: "diag",
      fromConfig: true,
    },
    "latent-scale": {
      type: "string",
      arg: "S",
      description: "none, or auto: rescale small latent codes (exactly) to unit spread for DEC.",
      default: "none",
      fromConfig: true,
    },
    svg: svgFlag,
    force: {
      type: "boolean",
      description: "Delete a fine-tuned model (and its checkpoint) made from the old centres.",
    },
  },
  async run(values, positionals) {
    const ds = await datasetArg(positionals, "init");
    const dir = required(values, "model", "init");
    const file = await readConfigFile(strFlag(values, "config"));
    const kText = strFlag(values, "k");
    // The flags win over the config file's init.k (one number or candidates) and kCriterion.
    const { k: fileK, kCriterion: fileCriterion, ...fileInit } = file.init ?? {};
    let ks: number[] | undefined;
    try {
      ks = kText === undefined ? fileKs(fileK) : parseKList(kText);
    } catch (e) {
      // parseKList's reason, under the flag's name alone (not "Cannot read --k: Cannot read k").
      throw new UserError(`Cannot read --k: ${kListReason(kText ?? "", e)}: found '${kText}'`);
    }
    const flagCriterion = enumFlag(values, "k-criterion", K_CRITERIA);
    if (flagCriterion && !(ks && ks.length > 1)) {
      throw new UserError(
        "Cannot use --k-criterion without candidates: give --k a range (2:12) or a list (3,5,8)",
      );
    }
    // The file's criterion serves its own candidates, or those of --k; not a single --k.
    const criterion = flagCriterion ?? (ks && ks.length > 1 ? fileCriterion : undefined);
    const cfg = resolveInit(fileInit, {
      k: ks?.[0],
      method: enumFlag(values, "method", ["kmeans", "gmm"] as const),
      nInit: intOrAutoFlag(values, "n-init"),
      maxIter: intFlag(values, "max-iter"),
      tol: numFlag(values, "tol"),
      covariance: enumFlag(values, "covariance", ["diag", "full"] as const),
      latentScale: enumFlag(values, "latent-scale", ["none", "auto"] as const),
      seed: seedFlag(values),
    });
    if (criterion === "bic" && cfg.method !== "gmm") {
      throw new UserError("Cannot choose k by BIC with k-means: BIC needs --method gmm");
    }
    // Settings first, then what they need of the dataset, then the model directory: all
    // before the encoding pass, the long part.
    const n = ds.count;
    if (ks && ks.length > 1 && ks.some((k) => k > n - 1)) {
      // As given (2:200), not every candidate of the range.
      const given = kText ?? (Array.isArray(fileK) ? fileK.join(",") : String(fileK));
      throw new UserError(
        `Cannot choose k among ${given}: each candidate must lie in 2..${n - 1} (n = ${n} samples)`,
      );
    }
    if (cfg.k > n) {
      throw new UserError(`Cannot initialise ${cfg.k} clusters: the dataset has only ${n} samples`);
    }
    const stale = await downstreamOf(dir, "init");
    if (stale.length && !values.force) {
      throw new UserError(
        `Cannot initialise centres in ${dir}: it holds ${
          stale.join(", ")
        }, fine-tuned from the current centres, which new centres would make stale: pass --force to delete them`,
      );
    }
    const dev = device();
    // The encoding pass is the long part on a large dataset: its own bar, over the samples.
    const enc = new Progress("init: encoding", ds.count, { quiet: !!values.quiet });
    const latent = await encodeForInit(dir, ds, dev, (m) => enc.tick(m));
    enc.done();
    // More clusters than distinct codes split identical samples among clusters at random.
    const most = Math.max(cfg.k, ...(ks ?? []));
    const distinct = distinctPoints(latent, n, latent.length / n, most);
    if (distinct < most) {
      console.error(
        `warning: the ${n} samples' latent codes take only ${distinct} distinct value${
          distinct === 1 ? "" : "s"
        }, fewer than k = ${most}: identical codes will be split among clusters (a collapsed ` +
          `encoder? pretrain longer, or check that the samples differ)`,
      );
    }
    let kSelection: KSelection | undefined;
    if (ks && ks.length > 1) {
      kSelection = await chooseK(latent, ds.count, ks, cfg, criterion, !values.quiet);
      cfg.k = kSelection.best;
    }
    const r = await initCentroids(dir, ds, cfg, dev, {
      latent,
      force: !!values.force,
      record: kSelection
        ? {
          kSelection: { candidates: ks, criterion: kSelection.criterion, chosen: kSelection.best },
        }
        : undefined,
    });
    // initCentroids removed the earlier selection as it wrote the centres (not before its fits:
    // a run stopped or failing before then leaves the old centres and their selection as they
    // were); this one follows them.
    if (kSelection) await writeKSelection(dir, kSelection, !!values.svg);
    const rep = evaluateClustering({
      pred: r.labels,
      k: cfg.k,
      truth: ds.labels(),
      latent: r.latent,
      dim: ds.count ? r.latent.length / ds.count : 1,
    });
    console.log(
      `init: ${cfg.method} with k = ${cfg.k}, ${
        cfg.method === "gmm" ? "mean log-likelihood" : "inertia"
      } ${r.score.toPrecision(6)}, mean largest q ${r.meanMaxQ.toFixed(3)} (uniform ${
        (1 / cfg.k).toFixed(3)
      }); centroids in ${join(dir, "centroids.safetensors")}`,
    );
    if (r.gmmMoved) {
      console.error(
        `note: ${r.gmmMoved} of ${ds.count} samples' GMM posterior cluster is not their nearest ` +
          `mean's: only the means carry over to DEC, which starts each sample at its nearest ` +
          `mean, so the labels scored here are those`,
      );
    }
    if (nearlyUniform(r.meanMaxQ, cfg.k)) {
      console.error(
        `warning: the soft assignments are nearly uniform (mean largest q ${
          r.meanMaxQ.toFixed(3)
        } with k = ${cfg.k}): the latent codes sit far closer to the centres than Student's t's ` +
          `unit width, so DEC has little to sharpen. ${
            r.latentScale === 1 && cfg.latentScale === "none"
              ? "Run init again with --latent-scale auto --force (it rescales the codes exactly), or pretrain longer."
              : "Pretrain longer, or with more data."
          }`,
      );
    }
    if (!values.quiet) console.log(formatReport(rep));
  },
});

/**
 * Scores every candidate k on the latent codes (restarts capped at 10 per candidate; the chosen
 * k is then fitted with the full settings) and prints the table.
 */
async function chooseK(
  latent: Float32Array,
  n: number,
  ks: number[],
  cfg: {
    method: "kmeans" | "gmm";
    covariance: "diag" | "full";
    nInit: number | "auto";
    maxIter: number;
    tol: number;
    seed: number;
  },
  criterion: KCriterion | undefined,
  verbose: boolean,
): Promise<KSelection> {
  const d = n ? latent.length / n : 1;
  const bar = new Progress("init: choosing k", ks.length, { quiet: !verbose });
  let sel: KSelection;
  try {
    sel = await selectK(latent, n, d, ks, {
      method: cfg.method,
      covariance: cfg.covariance,
      nInit: Math.min(nInitOf(cfg), 10),
      maxIter: cfg.maxIter,
      tol: cfg.tol,
      seed: cfg.seed,
      criterion,
      onK: (s) => bar.tick(1, `k = ${s.k}`),
    });
  } catch (e) {
    throw new UserError((e as Error).message);
  } finally {
    bar.done();
  }
  if (verbose) console.log(formatKSelection(sel));
  console.log(
    `init: chose k = ${sel.best} by ${sel.criterion}` +
      (sel.unscored ? ` (no candidate had a ${sel.unscored} score)` : ""),
  );
  return sel;
}

/** The scores as an aligned table, the chosen k marked. */
export function formatKSelection(sel: KSelection): string {
  const f = (v: number | null, digits = 4) =>
    v === null || Number.isNaN(v) ? "-" : v.toPrecision(digits);
  const head = ["k", "inertia", "silhouette", "Calinski-H.", "Davies-B.", "BIC", "empty"];
  const rows = sel.scores.map((s) => [
    `${s.k === sel.best ? "*" : " "}${s.k}`,
    f(s.inertia, 5),
    f(s.silhouette),
    f(s.calinskiHarabasz, 5),
    f(s.daviesBouldin),
    f(s.bic, 6),
    String(s.empty),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padStart(w[i])).join("  ");
  return [line(head), ...rows.map(line)].join("\n");
}

/** `cli.ts finetune`. */
export const finetuneCommand: Command = lockingModel({
  name: "finetune",
  gpu: true,
  summary: "Fine-tune encoder and centres by DEC (KL(p‖q)), or IDEC with a reconstruction term.",
  usage: "<dataset-dir> --model DIR",
  seeded: true,
  flags: {
    model: modelFlag,
    config: configFlag,
    mode: {
      type: "string",
      arg: "M",
      description: "dec or idec.",
      default: "dec",
      fromConfig: true,
    },
    alpha: {
      type: "string",
      arg: "X",
      description: "Student's t degrees of freedom.",
      default: "1",
      fromConfig: true,
    },
    target: {
      type: "string",
      arg: "T",
      description:
        "Target p: 'dataset' (every update interval, DEC paper) or 'batch' (per batch, seed).",
      default: "dataset",
      fromConfig: true,
    },
    "min-iter": {
      type: "string",
      arg: "N",
      description: "Batches before the label-change test may stop training.",
      default: "140",
      fromConfig: true,
    },
    "update-interval": {
      type: "string",
      arg: "N",
      description: "Batches between label checks, or auto: 140 or one epoch, whichever is shorter.",
      default: "auto",
      fromConfig: true,
    },
    tol: {
      type: "string",
      arg: "PCT",
      description: "Stop when fewer than this % of labels change.",
      default: "0.1",
      fromConfig: true,
    },
    "max-iter": {
      type: "string",
      arg: "N",
      description: "Maximum batches.",
      default: "20000",
      fromConfig: true,
    },
    "batch-size": {
      type: "string",
      arg: "N",
      description: "Batch size.",
      default: "64",
      fromConfig: true,
    },
    optimizer: {
      type: "string",
      arg: "O",
      description: "adam or sgd.",
      default: "adam",
      fromConfig: true,
    },
    lr: {
      type: "string",
      arg: "X",
      description: "Learning rate.",
      default: "1e-5",
      fromConfig: true,
    },
    momentum: {
      type: "string",
      arg: "X",
      description: "SGD momentum.",
      default: "0.9",
      fromConfig: true,
    },
    gamma: {
      type: "string",
      arg: "X",
      description: "IDEC weight γ of the clustering loss: MSE + γ·KL.",
      default: "0.1",
      fromConfig: true,
    },
    resume: {
      type: "boolean",
      description:
        "Continue from finetune_checkpoint/ (saved before every label check), with its settings for the flags not given.",
    },
    force: {
      type: "boolean",
      description: "Start over, replacing a fine-tuned model and its checkpoint.",
    },
  },
  async run(values, positionals) {
    const ds = await datasetArg(positionals, "finetune");
    const dir = required(values, "model", "finetune");
    const file = await readConfigFile(strFlag(values, "config"));
    // A resume takes the checkpoint's settings for what neither a flag nor the config file gives,
    // once a checkpoint that a killed run had moved aside is back.
    if (values.resume) await restoreCheckpoint(join(dir, "finetune_checkpoint"));
    const kept = values.resume
      ? await checkpointSettings(
        join(dir, "finetune_checkpoint", "state.json"),
        finetuneSchema.shape,
      ) as
        | Partial<FinetuneConfig>
        | undefined
      : undefined;
    const cfg = resolveFinetune(kept ? { ...kept, ...file.finetune } : file.finetune, {
      mode: enumFlag(values, "mode", ["dec", "idec"] as const),
      alpha: numFlag(values, "alpha"),
      target: enumFlag(values, "target", ["dataset", "batch"] as const),
      updateInterval: intOrAutoFlag(values, "update-interval"),
      tol: numFlag(values, "tol"),
      minIter: intFlag(values, "min-iter"),
      maxIter: intFlag(values, "max-iter"),
      batchSize: intFlag(values, "batch-size"),
      optimizer: enumFlag(values, "optimizer", ["adam", "sgd"] as const),
      lr: numFlag(values, "lr"),
      momentum: numFlag(values, "momentum"),
      gamma: numFlag(values, "gamma"),
      seed: seedFlag(values),
    });
    // A missing model (a mistyped --model) fails here, before the settings are printed.
    await readJson(dir, "model.json");
    await restoreCheckpoint(join(dir, "finetune_checkpoint"));
    const hasCk = await exists(join(dir, "finetune_checkpoint", "state.json"));
    const hasDec = await exists(join(dir, "dec.safetensors"));
    if ((hasCk || hasDec) && !values.resume && !values.force) {
      throw new UserError(
        `Cannot fine-tune in ${dir}: it holds ${
          hasCk ? "a fine-tuning checkpoint" : "a fine-tuned model (dec.safetensors)"
        }: pass --resume to continue or --force to start over`,
      );
    }
    if (values.resume && !hasCk) {
      throw new UserError(
        `Cannot resume fine-tuning in ${dir}: no finetune_checkpoint/ there: run finetune without --resume`,
      );
    }
    const quiet = !!values.quiet;
    if (cfg.target === "batch" && Math.min(cfg.batchSize, ds.count) === 1) {
      // p normalises q over the batch: over one sample it is q itself, and KL(p‖q) is 0.
      console.error(
        `warning: with --target batch a batch of 1 sample makes the target p equal to q ` +
          `(its normalisation over the batch), so KL(p‖q) is 0 and ${
            cfg.mode === "dec"
              ? "DEC does not train"
              : "the clustering does not train (IDEC's reconstruction term alone moves the encoder)"
          }: use a larger --batch-size, or --target dataset`,
      );
    }
    const loss = cfg.mode === "idec" ? "MSE+γKL" : "KL";
    let bar = new Progress("finetune", cfg.maxIter, { quiet });
    const fck = join(dir, "finetune_checkpoint");
    // As pretrain's: the earlier run's checkpoint stays until this run's first one replaces it.
    await rememberEarlier(fck, !!values.force && !values.resume);
    keepCheckpointOnInterrupt(
      fck,
      (st) =>
        isEarlier(fck)
          ? `the earlier run's, iteration ${st.iteration} of at most ${
            (st.config as { maxIter?: unknown } | undefined)?.maxIter
          }`
          : `iteration ${st.iteration} of at most ${cfg.maxIter}`,
      () => isEarlier(fck),
    );
    const r = await keptEarlier(
      fck,
      finetune(dir, ds, cfg, device(), {
        // Said once finetune() has checked the model and dataset (another scaling is refused).
        onStart: (it, max) => {
          if (!quiet) {
            const every = updateIntervalOf(cfg, ds.count);
            console.error(
              `finetune: labels checked${
                cfg.target === "dataset" ? " and target p updated" : ""
              } every ${every === 1 ? "batch" : `${every} batches`}${
                cfg.updateInterval === "auto"
                  ? ` (auto: ${
                    every < 140 ? `one epoch of ${ds.count} samples` : "the DEC paper's 140"
                  })`
                  : ""
              }`,
            );
          }
          if (it > 0 && !quiet) console.error(`finetune: resuming at iteration ${it}`);
          bar = new Progress("finetune", max - it, { quiet });
        },
        // KL(p‖q) >= 0: a value a few 1e-9 below is rounding, shown as 0.
        onStep: (_it, _max, v) => bar.tick(1, `${loss} ${Math.max(0, v).toExponential(3)}`),
        onCheck: (c) => {
          if (!quiet && c.iteration > 0) {
            bar.log(
              `check @${c.iteration}: loss ${
                Math.max(0, c.loss).toExponential(3)
              }, labels changed ${
                c.changedPct === null ? "-" : c.changedPct.toFixed(2)
              } %, sizes [${c.sizes}]`,
            );
          }
        },
        onWarn: (m) => console.error(`warning: ${m}`),
        // A label check encodes the whole dataset: the bar says how far it has come.
        onAssign: (done, total) => bar.status(done < total ? `labels ${done}/${total}` : ""),
      }, { resume: !!values.resume }),
    );
    bar.done();
    const done = r.log.at(-1)?.iteration;
    console.log(
      `finetune: ${r.converged ? "converged" : "stopped at max-iter"} after ${done} ` +
        `${done === 1 ? "batch" : "batches"}; weights in ${join(dir, "dec.safetensors")}`,
    );
  },
  afterDeviceLoss(values) {
    return resumeAdvice(
      join(required(values, "model", "finetune"), "finetune_checkpoint"),
      "no label check had run",
      (s: { iteration: number; config: { maxIter: number } }) =>
        `the state after ${s.iteration} of at most ${s.config.maxIter} batches`,
    );
  },
});
