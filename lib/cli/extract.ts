/**
 * `cli.ts extract`: waveforms + responses + picks → spectrogram dataset.
 *
 * @module
 */
import {
  type Command,
  intFlag,
  intOrAutoFlag,
  numFlag,
  parseDecimal,
  strFlag,
  type Values,
} from "./_command.ts";
import { UserError } from "../util/errors.ts";
import {
  checkConsistency,
  configWarnings,
  type ExtractConfig,
  parseExtractConfig,
  readExtractConfig,
  spectrogramGeometry,
  stationFiles,
  workerCount,
} from "../io/extract_config.ts";
import {
  formatHz,
  inspectSample,
  RECORDED_BAND,
  recordedBandTop,
  runExtract,
} from "../io/extract.ts";
import { encodeNpy } from "../io/npy.ts";
import { checkTrigger, type SdsTrigger } from "../io/sds_triggers.ts";
import { CLIP_RUN } from "../signal/clip.ts";
import { join, resolve } from "node:path";
import { checkOutputTarget, writeDirAtomic } from "../util/atomic.ts";

/**
 * Reads `--trigger STA/LTA/ON/OFF`, keeping a config file's method, band, dead time,
 * coincidence and AIC refinement.
 *
 * @param flag The flag's text.
 * @param had The config file's trigger, or null.
 * @returns the trigger spec.
 * @throws {UserError} when it is not four positive numbers.
 */
export function parseTriggerFlag(flag: string, had: SdsTrigger | null): SdsTrigger {
  const parts = flag.split("/");
  // parseDecimal, as --bandpass: Number read hex (0x4) and a blank as 0.
  const [sta, lta, on, off] = parts.map(parseDecimal);
  if (parts.length !== 4 || ![sta, lta, on, off].every((x) => x > 0 && Number.isFinite(x))) {
    throw new UserError(
      `Cannot read --trigger: expected STA/LTA/ON/OFF, two lengths in seconds and two ratios ` +
        `(1/20/4/1.5): found '${flag}'`,
    );
  }
  const t: SdsTrigger = {
    method: had?.method ?? "recursive",
    sta,
    lta,
    on,
    off,
    band: had?.band ?? null,
    dead: had?.dead ?? null,
    coincidence: had?.coincidence ?? null,
    aic: had?.aic ?? null,
  };
  checkTrigger(t, "--trigger");
  return t;
}

/** --phase: a phase name, not blank (the config field's check would name input.phase). */
function phaseFlag(f: string | undefined): string | undefined {
  if (f !== undefined && !f.trim()) {
    throw new UserError(`Cannot read --phase: expected a phase name, such as P or S: found '${f}'`);
  }
  return f?.trim();
}

/**
 * Applies command-line overrides to a config.
 *
 * @param c The config (modified).
 * @param v Parsed flags.
 * @returns the same config.
 */
export function applyOverrides(c: ExtractConfig, v: Values): ExtractConfig {
  const manifest = strFlag(v, "manifest"), esec = strFlag(v, "esec"), npz = strFlag(v, "npz");
  const picksFlag = strFlag(v, "picks");
  if (manifest || (c.input.format === "manifest" && picksFlag)) {
    // A flag not given keeps the config file's value, as everywhere else.
    const had = c.input.format === "manifest" ? c.input : null;
    c.input = {
      format: "manifest",
      path: manifest ? resolve(manifest) : had!.path,
      picks: picksFlag ? resolve(picksFlag) : had?.picks ?? null,
      sacReference: had ? had.sacReference : "A",
    };
  }
  const sds = strFlag(v, "sds");
  const windowsFlag = strFlag(v, "windows"), channelsFlag = strFlag(v, "channels");
  const labelsFlag = strFlag(v, "window-labels");
  const chunkFlag = numFlag(v, "window-chunk");
  const triggerFlag = strFlag(v, "trigger"), coincidenceFlag = strFlag(v, "coincidence");
  const aicFlag = strFlag(v, "aic");
  const methodFlag = strFlag(v, "trigger-method"), bandFlag = strFlag(v, "trigger-band");
  const deadFlag = numFlag(v, "dead-time");
  // --picks, --windows, --stations and --phase also change a config file's SDS input without
  // --sds; --picks and --windows each replace the other.
  if (sds || c.input.format === "sds") {
    const had = c.input.format === "sds" ? c.input : null;
    if (picksFlag && windowsFlag) {
      throw new UserError(
        "Cannot use --sds: give --picks (a sample at each pick) or --windows (samples at " +
          "regular times), not both",
      );
    }
    const picks = picksFlag ? resolve(picksFlag) : windowsFlag ? null : had?.picks ?? null;
    let windows = picksFlag ? null : had?.windows ?? null;
    const trigger = triggerFlag ? parseTriggerFlag(triggerFlag, windows?.trigger ?? null) : null;
    if (windowsFlag) {
      const parts = windowsFlag.split("/");
      // parseDecimal: Number read hex (0x4) as seconds.
      const step = parts.length === 3 ? parseDecimal(parts[2]) : null;
      if (step !== null && parts[2].trim() !== "" && !(step > 0 && Number.isFinite(step))) {
        throw new UserError(
          `Cannot read --windows: the step ${parts[2]} must be a number of seconds > 0: found ` +
            `'${windowsFlag}'`,
        );
      }
      if (
        (parts.length !== 2 && parts.length !== 3) || !parts[0] || !parts[1] ||
        (step !== null && !(step > 0))
      ) {
        throw new UserError(
          `Cannot read --windows: expected START/END/STEP, two ISO 8601 UTC times and seconds ` +
            `(2024-01-01T00:00:00Z/2024-01-02T00:00:00Z/60), or START/END with --trigger: ` +
            `found '${windowsFlag}'`,
        );
      }
      if (step !== null && trigger) {
        throw new UserError(
          `Cannot use --windows with --trigger: give START/END (a sample at each trigger) or ` +
            `START/END/STEP without --trigger (a sample every STEP s): found '${windowsFlag}'`,
        );
      }
      if (step === null && !trigger && !windows?.trigger) {
        throw new UserError(
          `Cannot read --windows: START/END takes --trigger STA/LTA/ON/OFF (a sample at each ` +
            `trigger); for regular samples give START/END/STEP: found '${windowsFlag}'`,
        );
      }
      windows = {
        start: parts[0],
        end: parts[1],
        step,
        trigger: step === null ? windows?.trigger ?? null : null,
        channels: windows?.channels ?? [],
        labels: windows?.labels ?? null,
        chunk: windows?.chunk ?? 1800,
      };
    }
    if (trigger) {
      if (!windows) {
        throw new UserError(
          "Cannot use --trigger: it applies to --windows START/END (the span searched)",
        );
      }
      windows.trigger = trigger;
      windows.step = null;
    }
    if (aicFlag) {
      if (!windows?.trigger) {
        throw new UserError(
          "Cannot use --aic: it applies to --trigger (samples at STA/LTA triggers)",
        );
      }
      const parts = aicFlag.split("/");
      // parseDecimal: an empty side is no number (Number reads it as 0).
      const [before, after] = parts.map(parseDecimal);
      if (parts.length !== 2 || !(before >= 0 && after >= 0 && before + after > 0)) {
        throw new UserError(
          `Cannot read --aic: expected BEFORE/AFTER, seconds searched before and after each ` +
            `trigger's onset, not both 0 (5/1): found '${aicFlag}'`,
        );
      }
      windows.trigger = { ...windows.trigger, aic: { before, after } };
    }
    if (coincidenceFlag) {
      if (!windows?.trigger) {
        throw new UserError(
          "Cannot use --coincidence: it applies to --trigger (samples at STA/LTA triggers)",
        );
      }
      const parts = coincidenceFlag.split("/");
      // parseDecimal: "2/" is no window (Number read it as 0 s).
      const [n, win] = [parseDecimal(parts[0]), parts.length > 1 ? parseDecimal(parts[1]) : 10];
      if (parts.length > 2 || !(Number.isInteger(n) && n >= 1) || !(win >= 0)) {
        throw new UserError(
          `Cannot read --coincidence: expected N or N/S, stations (a whole number >= 1) and ` +
            `seconds (default 10), e.g. 2/10: found '${coincidenceFlag}'`,
        );
      }
      windows.trigger = { ...windows.trigger, coincidence: { stations: n, window: win } };
    }
    const specFlag = methodFlag !== undefined
      ? "trigger-method"
      : bandFlag !== undefined
      ? "trigger-band"
      : deadFlag !== undefined
      ? "dead-time"
      : null;
    if (specFlag && !windows?.trigger) {
      throw new UserError(
        `Cannot use --${specFlag}: it applies to --trigger (samples at STA/LTA triggers)`,
      );
    }
    if (windows?.trigger) {
      if (methodFlag !== undefined) {
        if (methodFlag !== "recursive" && methodFlag !== "classic") {
          throw new UserError(
            `Cannot read --trigger-method: expected recursive or classic: found '${methodFlag}'`,
          );
        }
        windows.trigger = { ...windows.trigger, method: methodFlag };
      }
      if (bandFlag !== undefined) {
        const parts = bandFlag.split("/");
        // parseDecimal, as --bandpass: Number read Infinity (then refused as null, by the
        // config field) and hex.
        const [lo, hi] = parts.map(parseDecimal);
        if (parts.length !== 2 || !(lo > 0 && hi > lo)) {
          throw new UserError(
            `Cannot read --trigger-band: expected FMIN/FMAX in Hz with 0 < FMIN < FMAX (1/20): ` +
              `found '${bandFlag}'`,
          );
        }
        windows.trigger = { ...windows.trigger, band: [lo, hi] };
      }
      if (deadFlag !== undefined) {
        if (!(deadFlag >= 0)) {
          throw new UserError(`Cannot read --dead-time: expected seconds >= 0: found ${deadFlag}`);
        }
        windows.trigger = { ...windows.trigger, dead: deadFlag };
      }
    }
    if (windows) {
      if (channelsFlag) {
        windows.channels = channelsFlag.split(",").map((x) => x.trim());
        // One empty entry among channels: named here, not as input.windows.channels.1.
        if (windows.channels.some((x) => !x) && windows.channels.some((x) => x)) {
          throw new UserError(
            `Cannot read --channels: expected NET.STA.LOC.CHA[,...] without an empty entry (a ` +
              `comma too many?): found '${channelsFlag}'`,
          );
        }
      }
      if (labelsFlag) windows.labels = resolve(labelsFlag);
      if (chunkFlag !== undefined) {
        if (!(chunkFlag >= 0)) {
          throw new UserError(
            `Cannot read --window-chunk: expected seconds >= 0 (0: each window on its own): ` +
              `found ${chunkFlag}`,
          );
        }
        windows.chunk = chunkFlag;
      }
      if (!windows.channels.length || windows.channels.every((x) => !x)) {
        throw new UserError(
          "Cannot use --windows: give --channels NET.STA.LOC.CHA[,...] (e.g. XX.ABC..HHZ), the " +
            "channels to cut",
        );
      }
    } else if (channelsFlag || labelsFlag || chunkFlag !== undefined) {
      const f = channelsFlag ? "channels" : labelsFlag ? "window-labels" : "window-chunk";
      throw new UserError(`Cannot use --${f}: it applies to --windows`);
    }
    if (!picks && !windows) {
      throw new UserError(
        "Cannot use --sds: give --picks QUAKEML (a sample at each pick) or --windows " +
          "START/END/STEP with --channels (samples at regular times; START/END with --trigger: at " +
          "STA/LTA triggers)",
      );
    }
    const stations = strFlag(v, "stations");
    c.input = {
      format: "sds",
      dir: sds ? resolve(sds) : had!.dir,
      picks,
      windows,
      stations: stations
        ? stationFiles(stations, (f) => resolve(f)).map((f) => resolve(f)).join(";")
        : had?.stations ?? null,
      phase: phaseFlag(strFlag(v, "phase")) ?? had?.phase ?? "P",
    };
  } else if (
    windowsFlag || channelsFlag || labelsFlag || chunkFlag !== undefined || triggerFlag ||
    coincidenceFlag || aicFlag || methodFlag || bandFlag || deadFlag !== undefined
  ) {
    const f = windowsFlag
      ? "windows"
      : triggerFlag
      ? "trigger"
      : coincidenceFlag
      ? "coincidence"
      : aicFlag
      ? "aic"
      : channelsFlag
      ? "channels"
      : labelsFlag
      ? "window-labels"
      : methodFlag
      ? "trigger-method"
      : bandFlag
      ? "trigger-band"
      : deadFlag !== undefined
      ? "dead-time"
      : "window-chunk";
    throw new UserError(`Cannot use --${f}: it applies to an SDS archive (--sds DIR)`);
  }
  const sacRef = strFlag(v, "sac-reference");
  if (sacRef !== undefined) {
    if (c.input.format !== "manifest") {
      throw new UserError("Cannot use --sac-reference: it applies to manifest input only");
    }
    const m = sacRef.toUpperCase();
    if (m === "NONE") c.input.sacReference = null;
    else if (/^(A|O|T[0-9])$/.test(m)) c.input.sacReference = m as typeof c.input.sacReference;
    else {
      throw new UserError(
        `Cannot read --sac-reference: expected A, O, T0 to T9 or none: found '${sacRef}'`,
      );
    }
  }
  if (esec) {
    c.input = {
      format: "esec",
      dir: resolve(esec),
      label: c.input.format === "esec" ? c.input.label : "subtype",
    };
  }
  const esecLabel = strFlag(v, "esec-label");
  if (esecLabel !== undefined) {
    if (c.input.format !== "esec") {
      throw new UserError("Cannot use --esec-label: it applies to ESEC input (--esec DIR) only");
    }
    if (esecLabel !== "subtype" && esecLabel !== "type") {
      throw new UserError(
        `Cannot read --esec-label: expected subtype or type: found '${esecLabel}'`,
      );
    }
    c.input.label = esecLabel;
  }
  if (npz) {
    // The NPZ files hold no rate: keep the config file's, else PhaseNet's 100 Hz.
    const rate = c.input.format === "npz" ? c.input.samplingRate : 100;
    c.input = { format: "npz", dir: resolve(npz), samplingRate: rate };
  }
  // A flag of another input would do nothing: said, not ignored.
  if (picksFlag !== undefined && c.input.format !== "manifest" && c.input.format !== "sds") {
    throw new UserError(
      `Cannot use --picks: it applies to manifest input or an SDS archive (--manifest FILE, ` +
        `--sds DIR), not to ${c.input.format} input`,
    );
  }
  for (const f of ["stations", "phase"]) {
    if (strFlag(v, f) !== undefined && c.input.format !== "sds") {
      throw new UserError(
        `Cannot use --${f}: it applies to an SDS archive (--sds DIR), not to ${c.input.format} ` +
          `input` +
          (c.input.format === "manifest"
            ? f === "stations"
              ? ": a manifest names each row's response file in its response column"
              : ": a manifest's --picks are P picks"
            : ""),
      );
    }
  }
  const comp = strFlag(v, "components");
  if (comp !== undefined) {
    const letters = comp === "channel" ? "channel" : comp.split(/[,\s]*/).filter((s) => s);
    if (
      letters !== "channel" &&
      (letters.length === 0 || letters.some((x) => !/^[A-Z0-9]$/.test(x)) ||
        new Set(letters).size !== letters.length)
    ) {
      throw new UserError(
        `Cannot read --components: expected the channels' last letters, each once (Z, ZNE, ` +
          `Z12, ...: upper-case letters or digits), or 'channel': found '${comp}'`,
      );
    }
    c.components = letters;
  }
  const rot = strFlag(v, "rotate");
  if (rot !== undefined) {
    if (rot !== "auto" && rot !== "always" && rot !== "never") {
      throw new UserError(`Cannot read --rotate: expected auto, always or never: found '${rot}'`);
    }
    c.rotate = rot;
  }
  const set = <T>(val: T | undefined, f: (x: T) => void) => {
    if (val !== undefined) f(val);
  };
  set(intOrAutoFlag(v, "workers"), (x) => c.workers = x);
  set(intFlag(v, "limit"), (x) => c.limit = x);
  const subset = strFlag(v, "subset");
  if (subset !== undefined) {
    if (subset !== "first" && subset !== "random") {
      throw new UserError(`Cannot read --subset: expected first or random: found '${subset}'`);
    }
    c.subset = subset;
  }
  set(intFlag(v, "subset-seed"), (x) => c.subsetSeed = x);
  if (c.subset === "random" && c.limit === null) {
    throw new UserError(
      "Cannot draw a random subset: --subset random (config 'subset') needs --limit N " +
        "(config 'limit'), how many samples to draw",
    );
  }
  set(numFlag(v, "sampling-rate"), (x) => c.preprocess.samplingRate = x);
  set(numFlag(v, "gap-tolerance"), (x) => c.gapTolerance = x);
  set(numFlag(v, "margin"), (x) => c.preprocess.margin = x);
  set(numFlag(v, "window-length"), (x) => c.spectrogram.windowLength = x);
  set(numFlag(v, "overlap"), (x) => c.spectrogram.overlap = x);
  const band = strFlag(v, "bandpass");
  if (band !== undefined) {
    if (band === "none") c.preprocess.bandpass = null;
    else {
      const [lo, hi, more] = band.split("/").map(parseDecimal);
      if (more !== undefined || !(lo > 0 && hi > lo && Number.isFinite(hi))) {
        throw new UserError(
          `Cannot read --bandpass: expected FMIN/FMAX in Hz, 0 < FMIN < FMAX (e.g. 1/18), or ` +
            `none: found '${band}'`,
        );
      }
      c.preprocess.bandpass = {
        ...(c.preprocess.bandpass ?? { order: 4, zerophase: true }),
        freqmin: lo,
        freqmax: hi,
      };
    }
  }
  set(numFlag(v, "fmin"), (x) => c.spectrogram.fmin = x);
  set(numFlag(v, "fmax"), (x) => c.spectrogram.fmax = x);
  set(numFlag(v, "before"), (x) => c.spectrogram.before = x);
  set(numFlag(v, "after"), (x) => c.spectrogram.after = x);
  const sc = strFlag(v, "scaling");
  if (sc) {
    if (sc !== "psd" && sc !== "log10" && sc !== "db") {
      throw new UserError(`Cannot read --scaling: expected psd, log10 or db: found '${sc}'`);
    }
    c.spectrogram.scaling = sc;
  }
  if (v["no-response"]) c.preprocess.response.remove = false;
  const pre = strFlag(v, "pre-filt");
  if (pre !== undefined) {
    if (pre === "none") c.preprocess.response.preFilt = null;
    else {
      const f = pre.split("/").map(parseDecimal);
      if (f.length !== 4 || !(f[0] >= 0 && f[0] < f[1] && f[1] < f[2] && f[2] < f[3])) {
        throw new UserError(
          `Cannot read --pre-filt: expected F1/F2/F3/F4 in Hz, 0 <= F1 < F2 < F3 < F4 (e.g. ` +
            `0.2/0.5/18.5/19.8), or none: found '${pre}'`,
        );
      }
      c.preprocess.response.preFilt = f;
    }
  }
  const wl = strFlag(v, "water-level");
  if (wl !== undefined) {
    const x = wl === "none" ? null : parseDecimal(wl);
    if (x !== null && !(x > 0)) {
      throw new UserError(
        `Cannot read --water-level: expected dB > 0 below the response's maximum (ObsPy's ` +
          `water_level, e.g. 60), or none: found '${wl}'`,
      );
    }
    c.preprocess.response.waterLevel = x;
  }
  const out = strFlag(v, "response-output");
  if (out !== undefined) {
    if (out !== "DISP" && out !== "VEL" && out !== "ACC") {
      throw new UserError(
        `Cannot read --response-output: expected DISP, VEL or ACC: found '${out}'`,
      );
    }
    c.preprocess.response.output = out;
  }
  const nfft = strFlag(v, "nfft");
  if (nfft !== undefined && nfft !== "auto") {
    const n = /^\s*\d+\s*$/.test(nfft) ? Number(nfft) : NaN;
    if (!Number.isSafeInteger(n)) {
      throw new UserError(
        `Cannot read --nfft: expected a power of two in decimal digits (at least the window's ` +
          `samples) or auto: found '${nfft}'`,
      );
    }
    c.spectrogram.nfft = n;
  } else if (nfft === "auto") c.spectrogram.nfft = null;
  return c;
}

/**
 * The note on the samples recorded at a rate whose band ends below the crop's top
 * (`ExtractSummary.aboveNyquist`), or null where there are none. Rates read to 6 significant
 * digits (a rate of 0.1 × 0.1 Hz as 0.01 Hz, not 0.010000000000000002 Hz; the counts of rates
 * that then read the same are added up, since a checkpoint of an earlier run may hold both), and
 * a crop to suggest only where it would end above the crop's start.
 *
 * @param aboveNyquist Samples by rate (Hz, as text).
 * @param ok Samples written.
 * @param crop The crop's `fmin` and `fmax`, Hz.
 * @returns the note, or null.
 */
export function aboveNyquistNote(
  aboveNyquist: Readonly<Record<string, number>>,
  ok: number,
  crop: { fmin: number; fmax: number },
): string | null {
  const byRate = new Map<string, number>();
  for (const [r, c] of Object.entries(aboveNyquist)) {
    const k = formatHz(Number(r));
    byRate.set(k, (byRate.get(k) ?? 0) + c);
  }
  const low = [...byRate].sort((a, b) => Number(a[0]) - Number(b[0]));
  if (!low.length) return null;
  const n = low.reduce((t, [, c]) => t + c, 0);
  const top = recordedBandTop(Number(low[0][0]));
  // A crop that would end at or below its own start is no advice.
  const cropTo = top > crop.fmin ? `crop to --fmax ${formatHz(top)} or ` : "";
  return `note: ${n} of ${ok} samples were recorded at ${
    low.map(([r, c]) => `${r} Hz (${c})`).join(", ")
  }, whose band ends below the crop's ${formatHz(crop.fmax)} Hz (spectrogram.fmax): about ` +
    `${RECORDED_BAND} × the rate, ${formatHz(top)} Hz at ${low[0][0]} Hz, where the recorder's ` +
    `anti-alias filter cuts below the Nyquist frequency; their rows above it hold no signal, so ` +
    `clusters may follow the sampling rate; ${cropTo}leave those samples out`;
}

/** The `extract` command. */
export const extract: Command = {
  name: "extract",
  noSeed: "its one random choice, the samples --subset random draws, takes --subset-seed",
  summary: "Turn waveforms (miniSEED, SAC), responses and picks into a spectrogram dataset.",
  usage:
    "[--config FILE] [--manifest CSV | --esec DIR | --npz DIR | --sds DIR (--picks QUAKEML | " +
    "--windows START/END/STEP --channels IDS | --windows START/END --trigger STA/LTA/ON/OFF " +
    "--channels IDS)] --out DIR",
  details: [
    "The config file (JSON, validated) holds every setting; flags override it. Without --config,",
    "an input flag is required and defaults apply: 100 Hz, band-pass 1-18 Hz, Kaiser STFT of",
    "2.56 s windows with 50 % overlap, crop 1-18 Hz x [-20 s, +66 s] -> 87 x 67 per component.",
    "Samples are processed in parallel (config 'workers'). Failed samples are skipped; the",
    "summary counts them by reason and DIR/failures.csv lists them.",
    "The unfinished dataset is .DIR.partial beside DIR, checkpointed every 10 s; after an",
    "interruption, the same command with --resume continues it.",
    "Example configs: lib/io/configs/esec.json, lib/io/configs/phasenet.json; synth writes its own.",
  ].join("\n"),
  flags: {
    config: { type: "string", arg: "FILE", description: "JSON config file." },
    out: { type: "string", short: "o", arg: "DIR", description: "Output dataset directory." },
    force: {
      type: "boolean",
      description: "Replace an existing output directory, or start an interrupted one over.",
    },
    resume: {
      type: "boolean",
      description: "Continue an interrupted extraction into --out from its last checkpoint.",
    },
    "checkpoint-every": {
      type: "string",
      arg: "S",
      description: "Seconds between checkpoints of the unfinished dataset (0: every sample).",
      default: "10",
    },
    manifest: { type: "string", arg: "CSV", description: "Input: a manifest CSV." },
    picks: {
      type: "string",
      arg: "QUAKEML",
      description:
        "QuakeML picks: for manifest rows without reference time, or the samples of --sds.",
    },
    "sac-reference": {
      type: "string",
      arg: "M",
      description:
        "SAC header marker used as the reference time of rows without one: A, O, T0-T9, none.",
      default: "A",
      fromConfig: true,
    },
    esec: { type: "string", arg: "DIR", description: "Input: the ESEC directory layout." },
    "esec-label": {
      type: "string",
      arg: "COL",
      description:
        "ESEC catalogue column that labels the samples: subtype (4 classes) or type (finer).",
      default: "subtype",
      fromConfig: true,
    },
    sds: {
      type: "string",
      arg: "DIR",
      description:
        "Input: an SDS archive (YEAR/NET/STA/CHAN.D/...), samples from --picks or --windows.",
    },
    windows: {
      type: "string",
      arg: "START/END/STEP",
      description: "With --sds: a sample every STEP s from START until END (ISO 8601 UTC), " +
        "cropped --before/--after around its time, instead of at picks; START/END with --trigger.",
    },
    channels: {
      type: "string",
      arg: "IDS",
      description: "With --windows: the channels, NET.STA.LOC.CHA comma-separated (LOC may be " +
        "empty: XX.ABC..HHZ; * and ? match the archive's codes: XX.*.*.HH?); with --components " +
        "the last letter takes each component.",
    },
    trigger: {
      type: "string",
      arg: "STA/LTA/ON/OFF",
      description: "With --windows START/END: a sample at each STA/LTA trigger of each channel " +
        "instead of at regular times: STA and LTA in s, ON and OFF the ratios that start and " +
        "end a trigger (e.g. 1/20/4/1.5; more in the config's input.windows.trigger).",
    },
    aic: {
      type: "string",
      arg: "B/A",
      description: "With --trigger: refine each onset by an AIC pick from B s before it to A s " +
        "after it (e.g. 5/1): the trigger's onset lags a signal's start.",
    },
    "trigger-method": {
      type: "string",
      arg: "M",
      description: "With --trigger: recursive (exponential averages, the default) or classic " +
        "(moving windows) STA/LTA.",
    },
    "trigger-band": {
      type: "string",
      arg: "F1/F2",
      description: "With --trigger: band-pass in Hz before the ratio (default the " +
        "spectrogram's band, from --fmin (at least 0.5) to --fmax).",
    },
    "dead-time": {
      type: "string",
      arg: "S",
      description: "With --trigger: seconds after an onset kept during which the channel's " +
        "later onsets are dropped (default --after: one sample per event).",
    },
    coincidence: {
      type: "string",
      arg: "N[/S]",
      description: "With --trigger: keep a trigger only where N stations (its own included) " +
        "trigger within S s of it (default 10): a network coincidence against one-station noise.",
    },
    "window-chunk": {
      type: "string",
      arg: "S",
      description: "With --windows: seconds of window times preprocessed together (0: each " +
        "window on its own, equal to a pick's sample bit for bit; with --trigger, only chunks " +
        "that hold 8 or more of a channel's triggers).",
      default: "1800",
      fromConfig: true,
    },
    "window-labels": {
      type: "string",
      arg: "CSV",
      description: "With --windows: labelled intervals (start,end,label); a window takes the " +
        "label of the one filling the largest share of the shorter of the two.",
    },
    stations: {
      type: "string",
      arg: "FILE",
      description: "StationXML or SAC pole-zero file for --sds.",
    },
    phase: {
      type: "string",
      arg: "P",
      description: "Pick phase for --sds.",
      default: "P",
      fromConfig: true,
    },
    npz: {
      type: "string",
      arg: "DIR",
      description: "Input: the PhaseNet folder that holds waveform.csv (beside waveform_train/).",
    },
    components: {
      type: "string",
      arg: "ZNE",
      description: "Components stacked as channels, or 'channel': each row's own channel.",
      default: "Z",
      fromConfig: true,
    },
    rotate: {
      type: "string",
      arg: "MODE",
      description: "Rotate horizontals to N and E by the StationXML Azimuth/Dip: auto (Z, 1, 2 " +
        "where N or E is missing), always (also Z, N, E), never.",
      default: "auto",
      fromConfig: true,
    },
    workers: {
      type: "string",
      arg: "N",
      description: "Parallel workers (0: main thread; auto: one per CPU, at most 16).",
      default: "auto",
      fromConfig: true,
    },
    limit: {
      type: "string",
      arg: "N",
      description: "Only N samples that can be tried (the first N, or with --subset random N " +
        "drawn at random): rows whose files are missing or that are already known to fail " +
        "(bad row, bad time, no reference time, an SDS archive's missing channel) do not " +
        "count, and are listed in failures.csv.",
    },
    subset: {
      type: "string",
      arg: "MODE",
      description: "Which N samples --limit keeps: first (the first N that can be tried) or " +
        "random (N of them drawn at random by --subset-seed, kept in input order: a sample " +
        "spread over the whole catalogue rather than its first days).",
      default: "first",
      fromConfig: true,
    },
    "subset-seed": {
      type: "string",
      arg: "N",
      description: "Seed of --subset random: the same input and seed draw the same samples.",
      default: "0",
      fromConfig: true,
    },
    "sampling-rate": {
      type: "string",
      arg: "HZ",
      description: "Target sampling rate.",
      default: "100",
      fromConfig: true,
    },
    bandpass: {
      type: "string",
      arg: "FMIN/FMAX",
      description:
        "Butterworth band-pass corners, Hz (order 4, zero-phase), or 'none'; the crop is --fmin/--fmax.",
      default: "1/18",
      fromConfig: true,
    },
    "gap-tolerance": {
      type: "string",
      arg: "S",
      description: "Largest gap merged, s.",
      default: "1",
      fromConfig: true,
    },
    margin: {
      type: "string",
      arg: "S",
      description:
        "Data kept each side of the crop for preprocessing (tapers, response removal, filters), s; a few s for crops of a second.",
      default: "300",
      fromConfig: true,
    },
    "window-length": {
      type: "string",
      arg: "S",
      description: "STFT window, s.",
      default: "2.56",
      fromConfig: true,
    },
    overlap: {
      type: "string",
      arg: "FRAC",
      description: "STFT overlap fraction.",
      default: "0.5",
      fromConfig: true,
    },
    fmin: {
      type: "string",
      arg: "HZ",
      description: "Lowest frequency kept.",
      default: "1",
      fromConfig: true,
    },
    fmax: {
      type: "string",
      arg: "HZ",
      description: "Highest frequency kept.",
      default: "18",
      fromConfig: true,
    },
    before: {
      type: "string",
      arg: "S",
      description: "Seconds kept before the reference.",
      default: "20",
      fromConfig: true,
    },
    after: {
      type: "string",
      arg: "S",
      description: "Seconds kept after the reference.",
      default: "66",
      fromConfig: true,
    },
    scaling: {
      type: "string",
      arg: "MODE",
      description: "psd, log10 or db.",
      default: "psd",
      fromConfig: true,
    },
    "no-response": { type: "boolean", description: "Do not remove the instrument response." },
    "pre-filt": {
      type: "string",
      arg: "F1/F2/F3/F4",
      description:
        "Response removal's cosine pre-filter corners, Hz (ObsPy's pre_filt), or 'none'; keep " +
        "--fmin/--fmax between F2 and F3.",
      default: "0.2/0.5/18.5/19.8",
      fromConfig: true,
    },
    "water-level": {
      type: "string",
      arg: "DB",
      description: "Response removal's water level, dB below the response's maximum, or 'none'.",
      default: "none",
      fromConfig: true,
    },
    "response-output": {
      type: "string",
      arg: "UNITS",
      description: "Ground motion the response removal gives: DISP, VEL or ACC.",
      default: "VEL",
      fromConfig: true,
    },
    nfft: {
      type: "string",
      arg: "N",
      description:
        "STFT length, a power of two at least the window's samples, or 'auto' (nextpow2 of 1.2 × the window).",
      default: "auto",
      fromConfig: true,
    },
    inspect: {
      type: "string",
      arg: "ID",
      description:
        "Only sample ID: write its preprocessed waveform, its spectrogram and their axes to --out.",
    },
    detections: {
      type: "string",
      arg: "DS",
      description:
        "At triggers: a dataset made at triggers whose kept detections are used (days detected " +
        "with the same settings from the same files are not detected again); with --inspect, " +
        "default the config's output.",
    },
  },
  async run(values) {
    const inputs = ["manifest", "esec", "npz", "sds"].filter((f) => values[f] !== undefined);
    if (inputs.length > 1) {
      throw new UserError(
        `Cannot extract: give one input: found ${inputs.map((f) => `--${f}`).join(" and ")}`,
      );
    }
    const every = numFlag(values, "checkpoint-every") ?? 10;
    if (!(every >= 0)) {
      throw new UserError(`Cannot read --checkpoint-every: expected seconds >= 0: found ${every}`);
    }
    const cfgPath = strFlag(values, "config");
    let config: ExtractConfig;
    if (cfgPath) config = await readExtractConfig(cfgPath);
    else {
      const placeholder = { format: "manifest", path: "-" };
      config = parseExtractConfig({ input: placeholder }, "defaults");
      if (!values.manifest && !values.esec && !values.npz && !values.sds) {
        throw new UserError(
          "Cannot extract: give --config FILE or one of --manifest, --esec, --npz, --sds",
        );
      }
    }
    applyOverrides(config, values);
    // The file alone was valid (readExtractConfig): what fails now came with the flags.
    const source = cfgPath ? `${cfgPath} with the flags given` : "flags";
    const given = Object.keys(values).filter((f) => values[f] !== undefined);
    config = parseExtractConfig(JSON.parse(JSON.stringify(config)), source, given);
    checkConsistency(config, source);
    for (const w of configWarnings(config)) console.error(w);
    const out = strFlag(values, "out") ?? config.output;
    if (!out) throw new UserError("Cannot extract: give --out DIR (or 'output' in the config)");
    const g = spectrogramGeometry(config);
    const inspect = strFlag(values, "inspect");
    if (inspect !== undefined) {
      await writeInspection(
        config,
        inspect,
        out,
        Boolean(values.force),
        strFlag(values, "detections"),
      );
      return;
    }
    const quiet = Boolean(values.quiet);
    if (!quiet) {
      console.error(
        `extract: nperseg ${g.nperseg}, noverlap ${g.noverlap}, nfft ${g.nfft}, ` +
          `${g.nFreqs} freqs (${g.freqs[0].toFixed(3)}-${
            g.freqs.at(-1)!.toFixed(3)
          } Hz) x ${g.nTimes} times, ` +
          `${workerCount(config.workers)} workers`,
      );
    }
    const s = await runExtract(config, out, {
      force: Boolean(values.force),
      resume: Boolean(values.resume),
      checkpointSeconds: every,
      quiet,
      detectionsFrom: strFlag(values, "detections"),
    });
    const fresh = s.total - s.resumed;
    const reasons = Object.entries(s.byReason).sort((a, b) => b[1] - a[1])
      .map(([r, n]) => `  ${r}: ${n}`);
    console.log(
      [
        `extract: ${s.ok} of ${s.total} samples -> ${s.out} [${s.shape.join(", ")}] in ${
          s.seconds.toFixed(1)
        } s ` +
        `(${(fresh / s.seconds).toFixed(1)} samples/s)` +
        (s.resumed ? `; ${s.resumed} taken over from the interrupted run` : ""),
        ...(s.rotated
          ? [`rotated to Z, N, E: ${s.rotated} samples (listed in ${s.out}/rotations.csv)`]
          : []),
        `failures: ${s.failures.length}${
          s.failures.length ? ` (listed in ${s.out}/failures.csv)` : ""
        }`,
        ...reasons,
      ].join("\n"),
    );
    const rateNote = aboveNyquistNote(s.aboveNyquist, s.ok, config.spectrogram);
    if (rateNote) console.error(rateNote);
    if (s.clipped.length) {
      const ids = new Set(s.clipped.map((c) => c.id));
      const c = s.clipped[0];
      console.error(
        `note: ${ids.size} of ${s.ok} samples look clipped: ${s.clipped.length} channel(s) hold ` +
          `runs of ${CLIP_RUN} or more raw samples at their largest or smallest value, listed ` +
          `in ${s.out}/clipped.csv (e.g. ${c.id}, ${c.channel}: ${c.samples} samples at ` +
          `${c.max} or ${c.min}); their spectrograms show the clipping's harmonics rather than ` +
          `the ground motion, and may gather in a cluster of their own`,
      );
    }
    if (s.joined.length) {
      const ids = new Set(s.joined.map((c) => c.id));
      const sum = (f: (c: (typeof s.joined)[number]) => number) =>
        s.joined.reduce((u, c) => u + f(c), 0);
      const c = s.joined[0];
      console.error(
        `note: ${ids.size} of ${s.ok} samples hold data joined within the gap tolerance ` +
          `(gapTolerance ${config.gapTolerance} s) in their crop: ${sum((c) => c.gaps)} gap(s) ` +
          `filled by linear interpolation (${sum((c) => c.gapSamples)} samples), ` +
          `${sum((c) => c.overlaps)} overlap(s) whose later samples differed, the earlier kept ` +
          `(${sum((c) => c.overlapSamples)} samples); listed in ${s.out}/joined.csv (e.g. ` +
          `${c.id}, ${c.channel}); --gap-tolerance 0 fails such samples instead`,
      );
    }
    if (s.ok === 0) {
      throw new UserError(
        `Cannot extract: ${
          s.total === 1 ? "the one sample" : `all ${s.total} samples`
        } failed (reasons above, one per sample in ${s.out}/failures.csv)`,
      );
    }
  },
};

/**
 * `extract --inspect ID`: one sample's preprocessed waveform and spectrogram, as .npy files.
 *
 * @param config The extract config.
 * @param id The sample's id.
 * @param out Output directory, written atomically once the sample is read (an existing one is
 *   replaced only with `force`, and only where an earlier `--inspect` wrote it and it holds
 *   nothing else: `writeDirAtomic` with the marker inspect.json).
 * @param force Replace an earlier inspection's directory.
 * @param dataset The dataset the config made (its detections are used), or the config's output.
 */
async function writeInspection(
  config: ExtractConfig,
  id: string,
  out: string,
  force: boolean,
  dataset?: string,
): Promise<void> {
  // Checked before the sample is read (a mistyped --out fails at once), and again as it is
  // written: only an earlier inspection's directory is replaced (before, --force deleted
  // whatever directory --out named, a model or a dataset, even when the id was wrong). What it
  // found stands at the rename: an output another run wrote meanwhile is that run's.
  const replace = await checkOutputTarget(out, { force, marker: "inspect.json" });
  const r = await inspectSample(config, id, { dataset });
  const g = spectrogramGeometry(config);
  const C = r.waveform.length, S = r.waveformTimes.length;
  const flat = new Float64Array(C * S);
  r.waveform.forEach((w, c) => flat.set(w, c * S));
  const info = {
    ...r.info,
    channels: r.channels,
    units: r.units,
    samplingRate: r.samplingRate,
    scaling: config.spectrogram.scaling,
    ...(r.rotation ? { rotation: r.rotation } : {}),
    config,
  };
  await writeDirAtomic(out, async (tmp) => {
    const save = (name: string, a: Float64Array | Float32Array, shape: number[]) =>
      Deno.writeFile(join(tmp, name), encodeNpy(a, shape));
    await save("waveform.npy", flat, [C, S]);
    await save("waveform_times.npy", r.waveformTimes, [S]);
    await save("spectrogram.npy", r.spectrogram, [C, g.nFreqs, g.nTimes]);
    await save("freqs.npy", g.freqs, [g.nFreqs]);
    await save("times.npy", g.times, [g.nTimes]);
    await Deno.writeTextFile(join(tmp, "inspect.json"), JSON.stringify(info, null, 2) + "\n");
  }, { force, marker: "inspect.json", replace });
  console.log(
    `extract --inspect ${id}: ${r.channels.join(", ")} -> ${out}: waveform.npy [${C}, ${S}] ` +
      `(${r.units}, ${r.samplingRate} Hz, ${r.waveformTimes[0].toFixed(2)} to ${
        r.waveformTimes[S - 1].toFixed(2)
      } s from the reference time), spectrogram.npy [${C}, ${g.nFreqs}, ${g.nTimes}]`,
  );
}
