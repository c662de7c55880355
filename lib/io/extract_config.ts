/**
 * The `extract` configuration: a JSON file validated by npm:zod, with every
 * field defaulted so that `{ "input": ... }` alone is a complete config. The
 * defaults reproduce the zClust seed's 87 × 67 image on 100 Hz data.
 *
 * @module
 */
import { z } from "../deps.ts";
import { dirname, isAbsolute, resolve } from "node:path";
import { UserError } from "../util/errors.ts";
import { flagIssue, issueLines } from "../util/zod_issues.ts";
import type { SacMarker } from "./sac.ts";
import { parseChannelId, type SdsWindows, windowSpan } from "./sds_windows.ts";
import { TRIGGER_DEFAULTS } from "./sds_triggers.ts";
import { parseJsonc } from "../util/jsonc.ts";
import { readFailure } from "./input_file.ts";

/** Kaiser β of the seed (zClust): 1.8π. */
export const DEFAULT_BETA = 1.8 * Math.PI;

/**
 * Seconds of data kept on each side of the crop window (with its half STFT windows), so that
 * the tapers and filters of preprocessing settle before the crop.
 */
export const TRIM_PAD_S = 300;

/**
 * The files of an SDS input's `stations`: one, or several separated by `;` (each channel takes
 * the first that holds it, as with a manifest's `response` column).
 *
 * @param stations `input.stations`.
 * @param resolvePath Where a relative path points (the whole string is one file's name where
 *   such a file exists).
 * @returns the paths, as given.
 */
export function stationFiles(
  stations: string,
  resolvePath: (p: string) => string = (p) => p,
): string[] {
  // A file whose own name holds ';' is one file, as it was before lists.
  if (!stations.includes(";") || isFile(resolvePath(stations))) return [stations];
  return stations.split(";").map((f) => f.trim()).filter((f) => f);
}

/** Whether `path` names a file (after symbolic links). */
function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * Seconds of data kept each side of a config's crop window for preprocessing:
 * `preprocess.margin`, or {@linkcode TRIM_PAD_S} where it is absent.
 *
 * @param c The config.
 * @returns the margin, s.
 */
export function marginOf(c: { preprocess: { margin?: number } }): number {
  return c.preprocess.margin ?? TRIM_PAD_S;
}

/**
 * At most this many samples (at `preprocess.samplingRate`) in one trace preprocessed for a
 * sample: its crop (`spectrogram.before` + `after`), half an STFT window either side and
 * `preprocess.margin` ({@linkcode TRIM_PAD_S} by default) either side (686 s, 68,857 samples at
 * the defaults); an SDS chunk, halved to fit the 32 MiB that keeps it, needs no bound. Ten million: a
 * day's crop at 100 Hz, or 2.5 h at 1000 Hz; 80 MB a trace in double precision, and a worker
 * holds a few copies of each component's.
 */
export const MAX_TRACE_SAMPLES = 10_000_000;

/** Largest `spectrogram.nfft`: 2^24, the next power of two of 1.2 × {@linkcode MAX_TRACE_SAMPLES}. */
export const MAX_NFFT = 2 ** 24;

/**
 * At most this many values (frequency rows × time columns) in a sample's spectrogram image, per
 * component: 2^23 (32 MiB in float32), e.g. 2048 × 4096, or a day's crop at the default
 * 87 rows and 1.29 s hop (87 × 66,977); the defaults make 87 × 67.
 */
export const MAX_IMAGE = 2 ** 23;

const manifestInput = z.object({
  format: z.literal("manifest"),
  /** CSV manifest, one row per sample (see lib/io/manifest.ts). */
  path: z.string().min(1),
  /** Optional QuakeML file: the first P pick of NET.STA is the reference time of rows that leave it empty. */
  picks: z.string().min(1).nullable().default(null),
  /**
   * For SAC waveforms: the header marker taken as the reference time of a row that has none
   * (and no QuakeML pick): `A` (first arrival), `T0`–`T9` (picks) or `O` (origin); null: never.
   */
  sacReference: z.enum(["A", "O", "T0", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9"])
    .nullable().default("A"),
}).strict();

const esecInput = z.object({
  format: z.literal("esec"),
  /** The esec_massmovements directory (waveforms/, stations/, catalog files). */
  dir: z.string().min(1),
  /**
   * The catalogue column that labels the samples: `subtype` (4 classes: avalanches and slides,
   * falls, lahars and flows, snow avalanches) or `type`, the finer one (rock fall, ice
   * avalanche, debris flow, ...).
   */
  label: z.enum(["subtype", "type"]).default("subtype"),
}).strict();

const npzInput = z.object({
  format: z.literal("npz"),
  /** The phasenet_ncedc directory (waveform.csv, waveform_train/). */
  dir: z.string().min(1),
  /** Sampling rate of the arrays, Hz. */
  samplingRate: z.number().positive().default(100),
}).strict();

const sdsWindows = z.object({
  /** First reference time, ISO 8601 UTC. */
  start: z.string().min(1),
  /** Reference times stop before this, ISO 8601 UTC. */
  end: z.string().min(1),
  /** Seconds from one reference time to the next; null with a trigger. */
  step: z.number().positive().nullable().default(null),
  /** Samples at STA/LTA triggers instead of every step seconds, or null. */
  trigger: z.object({
    /** recursive (exponential averages) or classic (moving windows). */
    method: z.enum(["recursive", "classic"]).default(TRIGGER_DEFAULTS.method),
    /** Short-term average, s. */
    sta: z.number().positive().default(TRIGGER_DEFAULTS.sta),
    /** Long-term average, s. */
    lta: z.number().positive().default(TRIGGER_DEFAULTS.lta),
    /** Ratio that starts a trigger. */
    on: z.number().positive().default(TRIGGER_DEFAULTS.on),
    /** Ratio below which it ends. */
    off: z.number().positive().default(TRIGGER_DEFAULTS.off),
    /** Band-pass [freqmin, freqmax] Hz before the ratio, or null: the spectrogram's band. */
    band: z.tuple([z.number().positive(), z.number().positive()]).nullable().default(null),
    /** Seconds after a kept onset in which the channel's next onsets are dropped; null: spectrogram.after. */
    dead: z.number().min(0).nullable().default(null),
    /** Keep a trigger only where this many stations trigger within window s of it, or null. */
    coincidence: z.object({
      stations: z.number().int().min(1),
      window: z.number().min(0).default(10),
    }).strict().nullable().default(null),
    /** Refine each onset by an AIC pick from before s before it to after s after it, or null. */
    aic: z.object({
      before: z.number().min(0).default(5),
      after: z.number().min(0).default(1),
    }).strict().nullable().default(null),
  }).strict().nullable().default(null),
  /** Channels as NET.STA.LOC.CHA (LOC may be empty). */
  channels: z.array(z.string().min(1)).min(1),
  /** CSV of labelled intervals (start,end,label), or null. */
  labels: z.string().min(1).nullable().default(null),
  /** Seconds of windows preprocessed together (their chunk); 0: each window on its own. */
  chunk: z.number().min(0).default(1800),
}).strict();

const sdsInput = z.object({
  format: z.literal("sds"),
  /** SeisComP Data Structure archive root: YEAR/NET/STA/CHAN.D/NET.STA.LOC.CHAN.D.YEAR.DOY. */
  dir: z.string().min(1),
  /**
   * QuakeML whose picks make the samples: one per event and station, at its earliest pick; or
   * null with `windows`.
   */
  picks: z.string().min(1).nullable().default(null),
  /** Samples at regular times instead of at picks (continuous data), or null. */
  windows: sdsWindows.nullable().default(null),
  /**
   * StationXML or SAC pole-zero file with the responses, or several separated by `;` (one SAC
   * pole-zero file per channel, as a manifest's `response` column takes them), or null.
   */
  stations: z.string().min(1).nullable().default(null),
  /** Picks whose phase hint starts with this make samples (P takes P, Pg, Pn, ...). */
  phase: z.string().min(1).default("P"),
}).strict();

/** The zod schema of the config file. */
export const extractConfigSchema = z.object({
  /** Where the samples come from. */
  input: z.discriminatedUnion("format", [manifestInput, esecInput, npzInput, sdsInput]),
  /** Output dataset directory (overridden by --out). */
  output: z.string().min(1).nullable().default(null),
  /** Component letters stacked as channels (e.g. ["Z"] or ["Z","N","E"]), or "channel": each row's own channel, C = 1. */
  /**
   * Components stacked as channels (SEED's last channel letter: Z, N, E, 1, 2, 3, U, V, W, ...:
   * an upper-case letter or a digit, each once; a string "ZNE" reads as its letters), or
   * "channel": each row's own channel.
   */
  components: z.union([
    z.literal("channel"),
    z.string().regex(/^[A-Z0-9]+$/).transform((t) => t.split("")),
    z.array(z.string().regex(/^[A-Z0-9]$/, "expected one upper-case letter or digit")).min(1),
  ], {
    error: 'expected "channel", the components\' letters ("ZNE": upper-case letters or ' +
      'digits) or an array of them (["Z", "N", "E"])',
  }).refine(
    (c) => c === "channel" || new Set(c).size === c.length,
    "expected each component once",
  ).default(["Z"]),
  /**
   * Rotation of horizontals to north and east (by the StationXML Azimuth and Dip, else the SAC
   * headers' CMPAZ and CMPINC and SAC_PZ comments): `auto`
   * rotates Z, 1, 2 to Z, N, E where N or E is asked for and missing; `always` also rotates
   * stations that have Z, N, E (for misoriented N and E); `never` rotates nothing.
   */
  rotate: z.enum(["auto", "always", "never"]).default("auto"),
  /** Largest gap (or overlap) merged when reading miniSEED, s. */
  gapTolerance: z.number().min(0).default(1),
  preprocess: z.object({
    /** Target sampling rate, Hz. */
    samplingRate: z.number().positive().default(100),
    /** Demean and remove a linear trend first. */
    detrend: z.boolean().default(true),
    /** Cosine taper fraction at each end before response removal. */
    taper: z.number().min(0).max(0.5).default(0.05),
    response: z.object({
      /** Remove the instrument response (needs StationXML). */
      remove: z.boolean().default(true),
      /** ObsPy-style pre_filt [f1, f2, f3, f4], Hz, or null. */
      preFilt: z.array(z.number().min(0)).length(4).nullable().default([0.2, 0.5, 18.5, 19.8]),
      /**
       * Water level, dB below the response maximum (>= 0; ObsPy's default is 60), or null. A
       * negative level lies above the maximum and clips every frequency, so the response
       * would be flattened rather than removed.
       */
      waterLevel: z.number().positive(
        "expected dB below the response maximum, > 0 (at 0 or below, the level clips every " +
          "frequency)",
      ).nullable().default(null),
      /** Ground motion out: DISP, VEL or ACC. */
      output: z.enum(["DISP", "VEL", "ACC"]).default("VEL"),
      /**
       * A StationXML channel whose stage gains multiply to more than 10 % from its
       * InstrumentSensitivity: `fail` its samples (`bad response`), or `warn` once per channel
       * and remove the response as the sensitivity says (as evalresp warns and goes on).
       */
      stageCheck: z.enum(["fail", "warn"]).default("fail"),
    }).strict().prefault({}),
    /** Butterworth band-pass after resampling, or null for none. */
    bandpass: z.object({
      freqmin: z.number().positive().default(1),
      freqmax: z.number().positive().default(18),
      order: z.number().int().min(1).max(12).default(4),
      /** Forward-backward (zero phase). */
      zerophase: z.boolean().default(true),
    }).strict().nullable().prefault({}),
    /** Cosine taper fraction at each end after the band-pass. */
    postTaper: z.number().min(0).max(0.5).default(0.05),
    /**
     * Seconds of data kept each side of the crop window for preprocessing (tapers, response
     * removal, filters settle there), or absent for {@linkcode TRIM_PAD_S} (300 s). Microseismic
     * crops of a second need a few seconds, not 300 (at 4 kHz, 600 s of margin made every sample
     * 35 times slower and its tapers 15 s long).
     */
    margin: z.number().positive().max(86_400).optional(),
  }).strict().prefault({}),
  spectrogram: z.object({
    /** Window length, s: nperseg = round(windowLength · samplingRate) + 1. */
    windowLength: z.number().positive().default(2.56),
    /** Overlap as a fraction of nperseg: noverlap = floor(overlap · nperseg). */
    overlap: z.number().min(0).lt(1).default(0.5),
    /** FFT length, or null for nextpow2(1.2 · nperseg). */
    nfft: z.number().int().positive().nullable().default(null),
    /** Kaiser β (at most 700: I0(β) overflows a double near 713). */
    beta: z.number().min(0).max(700).default(DEFAULT_BETA),
    /** Frequency band kept, Hz. */
    fmin: z.number().min(0).default(1),
    fmax: z.number().positive().default(18),
    /** Time window kept around the reference time, s. */
    before: z.number().min(0).default(20),
    after: z.number().min(0).default(66),
    /** psd (linear), log10 or db (10·log10). */
    scaling: z.enum(["psd", "log10", "db"]).default("psd"),
  }).strict().prefault({}),
  /** Parallel workers (Deno Web Workers); 0 runs in the main thread; "auto": one per CPU, at most 16. */
  workers: z.union([z.number().int().min(0).max(64), z.literal("auto")], {
    error: 'expected a whole number from 0 to 64, or "auto"',
  }).default("auto"),
  /** Process only N samples (null: all): the first N, or a random N (`subset`). */
  limit: z.number().int().positive().nullable().default(null),
  /** Which N samples `limit` keeps: the first N that can be tried, or N drawn at random. */
  subset: z.enum(["first", "random"]).default("first"),
  /** Seed of the random subset (`subset: "random"`). */
  subsetSeed: z.number().int().min(0).max(0xffff_ffff).default(0),
}).strict();

/** `input` of a config: a CSV manifest of waveform files (see lib/io/manifest.ts). */
export interface ManifestInput {
  /** The input's kind. */
  format: "manifest";
  /** CSV manifest, one row per sample (see lib/io/manifest.ts). */
  path: string;
  /** Optional QuakeML file: the first P pick of NET.STA is the reference time of rows that leave it empty. */
  picks: string | null;
  /**
   * For SAC waveforms: the header marker taken as the reference time of a row that has none
   * (and no QuakeML pick): `A` (first arrival), `T0`–`T9` (picks) or `O` (origin); null: never.
   */
  sacReference: SacMarker | null;
}

/** `input` of a config: the esec_massmovements set. */
export interface EsecInput {
  /** The input's kind. */
  format: "esec";
  /** The esec_massmovements directory (waveforms/, stations/, catalog files). */
  dir: string;
  /** The catalogue column that labels the samples: `subtype` (4 classes) or the finer `type`. */
  label: "subtype" | "type";
}

/** `input` of a config: the phasenet_ncedc arrays. */
export interface NpzInput {
  /** The input's kind. */
  format: "npz";
  /** The phasenet_ncedc directory (waveform.csv, waveform_train/). */
  dir: string;
  /** Sampling rate of the arrays, Hz. */
  samplingRate: number;
}

/**
 * `input` of a config: an SDS archive, and either the QuakeML picks that make its samples or
 * the regular times at which windows are cut ({@linkcode SdsWindows}).
 */
export interface SdsInput {
  /** The input's kind. */
  format: "sds";
  /** SeisComP Data Structure archive root: YEAR/NET/STA/CHAN.D/NET.STA.LOC.CHAN.D.YEAR.DOY. */
  dir: string;
  /**
   * QuakeML whose picks make the samples: one per event and station, at its earliest pick; or
   * null with `windows`.
   */
  picks: string | null;
  /** Samples at regular times instead of at picks (continuous data), or null. */
  windows: SdsWindows | null;
  /** StationXML or SAC pole-zero file(s) with the responses (`;` between several), or null. */
  stations: string | null;
  /** Picks whose phase hint starts with this make samples (P takes P, Pg, Pn, ...). */
  phase: string;
}

/** Where the samples come from, told apart by `format`. */
export type ExtractInput = ManifestInput | EsecInput | NpzInput | SdsInput;

/** `preprocess.response` of a config. */
export interface ResponseConfig {
  /** Remove the instrument response (needs StationXML). */
  remove: boolean;
  /** ObsPy-style pre_filt [f1, f2, f3, f4], Hz, or null. */
  preFilt: number[] | null;
  /** Water level, dB below the response maximum, or null. */
  waterLevel: number | null;
  /** Ground motion out: DISP, VEL or ACC. */
  output: "DISP" | "VEL" | "ACC";
  /** Stage gains that disagree with the sensitivity: fail the sample, or warn and go on. */
  stageCheck: "fail" | "warn";
}

/** `preprocess.bandpass` of a config. */
export interface BandpassConfig {
  /** Lower corner, Hz. */
  freqmin: number;
  /** Upper corner, Hz. */
  freqmax: number;
  /** Butterworth order, 1 to 12. */
  order: number;
  /** Forward-backward (zero phase). */
  zerophase: boolean;
}

/** `preprocess` of a config, in the order the steps run. */
export interface PreprocessConfig {
  /** Target sampling rate, Hz. */
  samplingRate: number;
  /** Demean and remove a linear trend first. */
  detrend: boolean;
  /** Cosine taper fraction at each end before response removal. */
  taper: number;
  /** Instrument response removal. */
  response: ResponseConfig;
  /** Butterworth band-pass after resampling, or null for none. */
  bandpass: BandpassConfig | null;
  /** Cosine taper fraction at each end after the band-pass. */
  postTaper: number;
  /** Seconds kept each side of the crop window (absent: {@linkcode TRIM_PAD_S}). */
  margin?: number;
}

/** `spectrogram` of a config. */
export interface SpectrogramConfig {
  /** Window length, s: nperseg = round(windowLength · samplingRate) + 1. */
  windowLength: number;
  /** Overlap as a fraction of nperseg: noverlap = floor(overlap · nperseg). */
  overlap: number;
  /** FFT length, or null for nextpow2(1.2 · nperseg). */
  nfft: number | null;
  /** Kaiser β (at most 700: I0(β) overflows a double near 713). */
  beta: number;
  /** Lowest frequency kept, Hz. */
  fmin: number;
  /** Highest frequency kept, Hz. */
  fmax: number;
  /** Time kept before the reference time, s. */
  before: number;
  /** Time kept after the reference time, s. */
  after: number;
  /** psd (linear), log10 or db (10·log10). */
  scaling: "psd" | "log10" | "db";
}

/**
 * A validated config, with every default filled in: what {@linkcode extractConfigSchema}
 * gives. Written out (rather than inferred from the schema) so that its documentation stands
 * on its own; a compile-time check below keeps the two the same type.
 */
export interface ExtractConfig {
  /** Where the samples come from. */
  input: ExtractInput;
  /** Output dataset directory (overridden by --out). */
  output: string | null;
  /** Component letters stacked as channels (e.g. ["Z"] or ["Z","N","E"]), or "channel": each row's own channel, C = 1. */
  components: string[] | "channel";
  /**
   * Rotation of horizontals to north and east (by the StationXML Azimuth and Dip, else the SAC
   * headers' CMPAZ and CMPINC and SAC_PZ comments): `auto`
   * rotates Z, 1, 2 to Z, N, E where N or E is asked for and missing; `always` also rotates
   * stations that have Z, N, E (for misoriented N and E); `never` rotates nothing.
   */
  rotate: "auto" | "always" | "never";
  /** Largest gap (or overlap) merged when reading miniSEED, s. */
  gapTolerance: number;
  /** Preprocessing of each trace. */
  preprocess: PreprocessConfig;
  /** Spectrogram and crop. */
  spectrogram: SpectrogramConfig;
  /** Parallel workers (Deno Web Workers); 0 runs in the main thread; "auto": one per CPU, at most 16. */
  workers: number | "auto";
  /** Process only N samples (null: all): the first N, or a random N (`subset`). */
  limit: number | null;
  /**
   * Which N samples `limit` keeps: `first`, the first N that can be tried; `random`, N of those
   * that can be tried drawn at random (seeded by `subsetSeed`), kept in input order.
   */
  subset: "first" | "random";
  /** Seed of the random subset (`subset: "random"`); equal seeds draw equal subsets. */
  subsetSeed: number;
}

/** True when A and B are mutually assignable (the same type for these purposes). */
type MutuallyAssignable<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Fails to compile when {@linkcode ExtractConfig} and the schema's output drift apart. */
type _ExtractConfigMatchesSchema = Expect<
  MutuallyAssignable<ExtractConfig, z.infer<typeof extractConfigSchema>>
>;
type Expect<T extends true> = T;

/**
 * The field each of `extract`'s value flags sets, where it sets one field as it is given: a value
 * the schema refuses there is named by the flag ({@linkcode parseExtractConfig}).
 */
export const EXTRACT_FLAG_FIELDS: Readonly<Record<string, string>> = {
  workers: "workers",
  limit: "limit",
  "subset-seed": "subsetSeed",
  "sampling-rate": "preprocess.samplingRate",
  "gap-tolerance": "gapTolerance",
  margin: "preprocess.margin",
  "window-length": "spectrogram.windowLength",
  overlap: "spectrogram.overlap",
  nfft: "spectrogram.nfft",
  fmin: "spectrogram.fmin",
  fmax: "spectrogram.fmax",
  before: "spectrogram.before",
  after: "spectrogram.after",
  "water-level": "preprocess.response.waterLevel",
};

/**
 * Validates a config object.
 *
 * @param raw Parsed JSON.
 * @param source Where it came from, for messages.
 * @param flags The flags that set fields of `raw` (`extract`'s, by name: `limit`): a value one
 *   of them gave that the schema refuses is named by the flag
 *   (`Cannot read --limit: expected > 0: found 0`), as the flags' own checks name theirs.
 * @returns the config with defaults filled in.
 * @throws {UserError} naming the flag, else the first bad field, e.g. `spectrogram.overlap`.
 */
export function parseExtractConfig(
  raw: unknown,
  source = "config",
  flags: readonly string[] = [],
): ExtractConfig {
  const r = extractConfigSchema.safeParse(raw);
  if (!r.success) {
    const fields = Object.fromEntries(
      flags.filter((f) => f in EXTRACT_FLAG_FIELDS).map((f) => [EXTRACT_FLAG_FIELDS[f], f]),
    );
    const byFlag = flagIssue(r.error, raw, fields);
    if (byFlag) throw new UserError(byFlag);
    const msgs = issueLines(extractConfigSchema, r.error, "", "(root)");
    throw new UserError(`Cannot use ${source}: invalid field ${msgs.join("; ")}`);
  }
  checkConsistency(r.data, source);
  // A margin given as the default is written as none, so that the dataset's settings equal
  // those of one made without it (a resume or a model's dataset check compares them).
  if (r.data.preprocess.margin === TRIM_PAD_S) delete r.data.preprocess.margin;
  return r.data;
}

/**
 * Checks relations between fields: band-pass and crop band below the target
 * Nyquist frequency, increasing pre-filter corners.
 *
 * @param c The config.
 * @param source Where it came from.
 * @throws {UserError} with the field name.
 */
export function checkConsistency(c: ExtractConfig, source = "config"): void {
  if (c.input.format === "sds") {
    const { picks, windows } = c.input;
    if ((picks === null) === (windows === null)) {
      throw new UserError(
        `Cannot use ${source}: an SDS input takes input.picks (a sample at each pick) or ` +
          `input.windows (samples at regular times or at triggers): found ${
            picks ? "both" : "neither"
          }`,
      );
    }
    if (windows) {
      try {
        windowSpan(windows);
        windows.channels.forEach((ch, i) => parseChannelId(ch, `input.windows.channels[${i}]`));
      } catch (e) {
        throw new UserError(
          `Cannot use ${source}: ${(e as Error).message.replace(/^Cannot (use|read) /, "")}`,
        );
      }
    }
  }
  if (c.input.format === "npz" && c.components === "channel") {
    throw new UserError(
      `Cannot use ${source}: components "channel" takes each row's own channel, but a PhaseNet ` +
        `NPZ window holds three (E, N, Z in one array): give components such as ["Z"] or ` +
        `["Z", "N", "E"] (--components Z or ZNE)`,
    );
  }
  const fs = c.preprocess.samplingRate, nyq = fs / 2;
  const bp = c.preprocess.bandpass;
  if (bp) {
    if (!(bp.freqmin < bp.freqmax)) {
      throw new UserError(
        `Cannot use ${source}: preprocess.bandpass: freqmin (${bp.freqmin} Hz) must be below freqmax (${bp.freqmax} Hz)`,
      );
    }
    if (!(bp.freqmax < nyq)) {
      throw new UserError(
        `Cannot use ${source}: preprocess.bandpass.freqmax must be below the Nyquist frequency ` +
          `${nyq} Hz of preprocess.samplingRate ${fs} Hz: current value is ${bp.freqmax} Hz ` +
          `(set the band with --bandpass FMIN/FMAX)`,
      );
    }
  }
  const s = c.spectrogram;
  if (!(s.fmin < s.fmax && s.fmax <= nyq)) {
    throw new UserError(
      `Cannot use ${source}: spectrogram.fmin/fmax must satisfy fmin < fmax <= ${nyq} Hz ` +
        `(Nyquist of ${fs} Hz): found ${s.fmin} and ${s.fmax} Hz`,
    );
  }
  const pf = c.preprocess.response.preFilt;
  if (pf && !(pf[0] < pf[1] && pf[1] < pf[2] && pf[2] < pf[3])) {
    throw new UserError(
      `Cannot use ${source}: preprocess.response.preFilt must be 4 increasing frequencies: found [${pf}]`,
    );
  }
  const g = spectrogramSizes(c);
  if (g.nperseg < 2) {
    throw new UserError(
      `Cannot use ${source}: spectrogram.windowLength ${s.windowLength} s is ${g.nperseg} sample ` +
        `at ${fs} Hz: expected a window of at least 2 samples (${(0.5 / fs).toPrecision(3)} s ` +
        `or more)`,
    );
  }
  checkSizes(c, g, source);
  if (s.nfft !== null && (s.nfft < g.nperseg || (s.nfft & (s.nfft - 1)) !== 0)) {
    throw new UserError(
      `Cannot use ${source}: spectrogram.nfft must be a power of two >= nperseg (${g.nperseg}): current value is ${s.nfft}`,
    );
  }
  if (g.nFreqs < 1) {
    // The bins are fs / nfft apart: a short window (a small nfft) can leave a narrow band none.
    const df = fs / g.nfft;
    throw new UserError(
      `Cannot use ${source}: the crop ${s.fmin}..${s.fmax} Hz holds no frequency bin: the bins ` +
        `are ${Number(df.toPrecision(4))} Hz apart (sampling rate ${fs} Hz / nfft ${g.nfft}` +
        (s.nfft === null ? `, from the ${s.windowLength} s window` : "") +
        `): widen fmin..fmax, or lengthen the window (--window-length) or raise --nfft for ` +
        `finer bins`,
    );
  }
  if (g.nTimes < 1) {
    throw new UserError(
      `Cannot use ${source}: the crop keeps ${g.nTimes} times: widen before/after`,
    );
  }
}

/** A number as a person writes it: up to 4 significant digits, no exponent below 1e21. */
function fig(x: number): string {
  return String(Number(x.toPrecision(4)));
}

/**
 * Bounds what a config makes each sample allocate, before anything is read: the trace
 * preprocessed for a sample ({@linkcode MAX_TRACE_SAMPLES}), the FFT
 * length ({@linkcode MAX_NFFT}) and the spectrogram image ({@linkcode MAX_IMAGE}). Each
 * error names the fields, their values, the limit and the size they make.
 *
 * @param c The config.
 * @param g Its sizes.
 * @param source Where it came from.
 * @throws {UserError} when one is over its limit.
 */
function checkSizes(c: ExtractConfig, g: SpectrogramSizes, source: string): void {
  const fs = c.preprocess.samplingRate, s = c.spectrogram;
  const cannot = `Cannot use ${source}`;
  const most = (n: number) =>
    `expected at most ${n} samples (${fig(n / fs)} s at ${fs} Hz) in one trace`;
  const trace = traceSamples(c, g);
  if (!(trace <= MAX_TRACE_SAMPLES)) {
    throw new UserError(
      `${cannot}: each sample preprocesses a trace of (spectrogram.before ${s.before} s + ` +
        `spectrogram.after ${s.after} s + 2 × preprocess.margin ${marginOf(c)} s) × ` +
        `preprocess.samplingRate ${fs} Hz + an STFT window of ${g.nperseg} samples ` +
        `(spectrogram.windowLength ${s.windowLength} s) = ${fig(trace)} samples: ` +
        `${
          most(MAX_TRACE_SAMPLES)
        }: give a smaller preprocess.margin (--margin; a crop of seconds needs a few seconds of it), shorten the crop or the window, or lower the sampling rate`,
    );
  }
  // An SDS chunk's trace needs no bound here: windowChunks halves a chunk until its
  // preprocessed trace fits the cache that keeps it (32 MiB).
  if (s.nfft !== null && !(s.nfft <= MAX_NFFT)) {
    throw new UserError(
      `${cannot}: spectrogram.nfft ${s.nfft} is over ${MAX_NFFT} (2^24): an FFT of ${s.nfft} ` +
        `points (${fig(s.nfft * 16 / 2 ** 30)} GiB of complex doubles) for every frame, bins ` +
        `${fig(fs / s.nfft)} Hz apart at ${fs} Hz: give a smaller nfft, or null ` +
        `(nextpow2(1.2 × the window's ${g.nperseg} samples) = ${autoNfft(g.nperseg)})`,
    );
  }
  const image = g.nFreqs * g.nTimes;
  if (g.nFreqs >= 1 && g.nTimes >= 1 && !(image <= MAX_IMAGE)) {
    throw new UserError(
      `${cannot}: the spectrogram image would be ${g.nFreqs} rows (spectrogram.fmin ${s.fmin} ` +
        `to fmax ${s.fmax} Hz in bins of ${fig(fs / g.nfft)} Hz, nfft ${g.nfft}) × ${g.nTimes} ` +
        `columns (spectrogram.before ${s.before} s + after ${s.after} s in hops of ` +
        `${fig(g.hop / fs)} s, windowLength ${s.windowLength} s, overlap ${s.overlap}) = ` +
        `${image} values a component: expected at most ${MAX_IMAGE} (32 MiB in float32): ` +
        `narrow the band (fewer rows) or the crop, or take fewer columns (a longer window, ` +
        `less overlap)`,
    );
  }
}

/**
 * The samples of the trace a config preprocesses for one sample: its crop, half an STFT window
 * either side and {@linkcode TRIM_PAD_S} of margin either side, at the target rate.
 *
 * @param c The config.
 * @param g Its sizes.
 * @returns the count (bounded by {@linkcode MAX_TRACE_SAMPLES} in a valid config).
 */
export function traceSamples(c: ExtractConfig, g: Pick<SpectrogramSizes, "nperseg">): number {
  const s = c.spectrogram;
  return Math.round((s.before + s.after + 2 * marginOf(c)) * c.preprocess.samplingRate) +
    g.nperseg;
}

/** nextpow2(1.2 · nperseg), at least 2: the FFT length for `spectrogram.nfft` null. */
function autoNfft(nperseg: number): number {
  let nfft = 2;
  while (nfft < 1.2 * nperseg) nfft *= 2;
  return nfft;
}

/**
 * Warnings about a config that is valid but likely not what was meant: a crop (`spectrogram.fmin`
 * .. `fmax`) reaching past the band-pass corners, whose rows then hold only the filter's
 * stopband (a `--fmax 25` under the default 1-18 Hz band-pass gave rows at -222 dB), or past
 * the response pre-filter's flat band (`--fmax 40` under the default pre-filter: rows above
 * 20 Hz at -215 dB); a crop above 0.8 of the target Nyquist, where the anti-alias low-pass of
 * the traces resampled from a higher rate takes 0.8-5 dB that the others keep; an STFT window
 * longer than the crop.
 *
 * @param c The config.
 * @returns one line each (none for a crop inside the band).
 */
export function configWarnings(c: ExtractConfig): string[] {
  const bp = c.preprocess.bandpass, s = c.spectrogram;
  const out: string[] = [];
  const r = c.preprocess.response, pf = r.remove ? r.preFilt : null;
  const nyq = c.preprocess.samplingRate / 2;
  if (pf && (s.fmax > pf[2] * 1.0001 || s.fmin < pf[1] / 1.0001)) {
    // The suggestion's lower corners: the crop's fmin where it is below the flat band; a
    // decade or more above it (a geophone's 100-2000 Hz under the default 0.2/0.5 Hz), half
    // and a fifth of fmin, so that the response is not divided out far below the band (a
    // 4.5 Hz geophone's by 81 times at 0.5 Hz); else the config's own.
    const [f1, f2] = s.fmin < pf[1] / 1.0001
      ? [+(s.fmin * 0.4).toPrecision(2), s.fmin]
      : s.fmin >= 10 * pf[1]
      ? [+(s.fmin / 5).toPrecision(2), +(s.fmin / 2).toPrecision(2)]
      : [pf[0], pf[1]];
    // The upper corners: the flat band up to the crop's top (or the config's, where higher and
    // below the target rate's Nyquist), the taper to 10 % above it, but not past that Nyquist
    // (a trace's pre-filter above its own Nyquist is squeezed below it without a word).
    const hi = pf[2] > s.fmax && pf[2] < nyq ? pf[2] : s.fmax;
    const f3 = hi, f4 = Math.min(+(hi * 1.1).toPrecision(3), nyq);
    // Corners that hold the crop (F2 <= fmin, fmax <= F3) and increase; where none do (a crop
    // from 0 Hz, or to the Nyquist frequency), what to change instead.
    const fix = !(s.fmin > 0)
      ? `raise --fmin above 0 Hz, which a pre-filter always tapers`
      : !(f3 < f4)
      ? `lower --fmax below the Nyquist frequency of preprocess.samplingRate, ${nyq} Hz, ` +
        `where a pre-filter tapers to 0`
      : `widen it, e.g. --pre-filt ${f1}/${f2}/${f3}/${f4} (below each trace's Nyquist)`;
    out.push(
      `warning: the crop ${s.fmin}-${s.fmax} Hz (spectrogram.fmin, fmax) reaches past the ` +
        `response pre-filter's flat band ${pf[1]}-${pf[2]} Hz (preprocess.response.preFilt ` +
        `[${pf}]): its rows there are tapered down, by up to the whole signal at ${pf[0]} and ` +
        `${pf[3]} Hz; ${fix}`,
    );
  }
  // The anti-alias low-pass of resample.ts (order-8 Butterworth at 0.9 × the new Nyquist) takes
  // more the faster a trace was recorded: at 0.8 × and 0.89 × Nyquist, 0.04 and 3.9 dB from
  // 120 Hz to 100 Hz, 0.6–0.8 and 5.0–5.1 dB from 200–250 Hz; nothing at the target rate.
  if (s.fmax > 0.8 * nyq) {
    out.push(
      `warning: the crop reaches ${s.fmax} Hz (spectrogram.fmax), ${
        Math.round(100 * s.fmax / nyq)
      } % of the Nyquist frequency of preprocess.samplingRate ${c.preprocess.samplingRate} Hz: ` +
        `traces recorded faster lose up to 5 dB there to the anti-alias low-pass of their ` +
        `resampling (at 0.9 × Nyquist), and those recorded at that rate do not, so the top ` +
        `rows would tell sampling rates apart; sample at ${
          Math.ceil(2.5 * s.fmax)
        } Hz or more (--sampling-rate)`,
    );
  }
  if (s.windowLength > s.before + s.after) {
    out.push(
      `warning: the STFT window (spectrogram.windowLength ${s.windowLength} s) is longer than ` +
        `the crop (before + after = ${s.before + s.after} s): each frame spans ${
          s.windowLength / 2
        } s either side of its time, so the spectrogram describes a longer stretch than ` +
        `-${s.before} to ${s.after} s; shorten --window-length or widen --before/--after`,
    );
  }
  // A gap merged by linear interpolation can be most of a short crop (microseismic crops of a
  // second, with the default 1 s tolerance).
  const crop = s.before + s.after;
  if (crop > 0 && c.gapTolerance > 0.1 * crop) {
    out.push(
      `warning: gaps of up to ${c.gapTolerance} s (gapTolerance) are filled by a straight line, ` +
        `${Math.round(100 * c.gapTolerance / crop)} % of the ${fig(crop)} s crop (before + ` +
        `after): such a sample would be mostly interpolated; give a smaller --gap-tolerance, ` +
        `e.g. ${fig(Math.max(crop / 100, 1 / c.preprocess.samplingRate))} (0 fails every ` +
        `sample with a gap in its crop)`,
    );
  }
  if (!bp) return out;
  if (s.fmax > bp.freqmax * 1.1) {
    out.push(
      `warning: the crop reaches ${s.fmax} Hz (spectrogram.fmax), above the band-pass's ` +
        `${bp.freqmax} Hz (preprocess.bandpass.freqmax): the rows above it hold the filter's ` +
        `stopband; widen the band with --bandpass ${bp.freqmin}/${
          s.fmax < c.preprocess.samplingRate / 2 ? s.fmax : "FMAX"
        }`,
    );
  }
  if (s.fmin < bp.freqmin / 1.1) {
    out.push(
      `warning: the crop starts at ${s.fmin} Hz (spectrogram.fmin), below the band-pass's ` +
        `${bp.freqmin} Hz (preprocess.bandpass.freqmin): the rows below it hold the filter's ` +
        `stopband; widen the band with --bandpass ${s.fmin > 0 ? s.fmin : "FMIN"}/${bp.freqmax}`,
    );
  }
  return out;
}

/** Sizes that follow from a config, without its axes. */
export interface SpectrogramSizes {
  samplingRate: number;
  nperseg: number;
  noverlap: number;
  hop: number;
  nfft: number;
  /** First and last kept frequency bins (inclusive). */
  k0: number;
  k1: number;
  nFreqs: number;
  nTimes: number;
}

/** Sizes that follow from a config, and its axes. */
export interface SpectrogramGeometry extends SpectrogramSizes {
  /** `[F]`, Hz. */
  freqs: Float64Array;
  /** `[T]`, s relative to the reference time (segment centres). */
  times: Float64Array;
}

/**
 * Derives the spectrogram sizes from a config.
 *
 * nperseg = round(windowLength · fs) + 1, noverlap = floor(overlap · nperseg),
 * nfft = nextpow2(1.2 · nperseg) unless given; bins k with fmin <= k·fs/nfft <= fmax;
 * frames centred at −before + j·hop/fs for j = 0 .. floor((before + after)·fs / hop).
 *
 * @param c The config.
 * @returns the geometry.
 * @example
 * ```ts
 * import { parseExtractConfig, spectrogramGeometry } from "./extract_config.ts";
 * const g = spectrogramGeometry(parseExtractConfig({ input: { format: "manifest", path: "m.csv" } }));
 * if (g.nFreqs !== 87 || g.nTimes !== 67) throw new Error(`${g.nFreqs} x ${g.nTimes}`);
 * ```
 */
export function spectrogramGeometry(c: ExtractConfig): SpectrogramGeometry {
  const g = spectrogramSizes(c);
  if (!(g.nFreqs * g.nTimes <= MAX_IMAGE)) {
    // A config that did not pass checkConsistency (a meta.json edited by hand).
    throw new RangeError(
      `Cannot derive the spectrogram axes: ${g.nFreqs} × ${g.nTimes} is over ${MAX_IMAGE} values`,
    );
  }
  const fs = g.samplingRate, s = c.spectrogram, df = fs / g.nfft;
  const freqs = new Float64Array(Math.max(0, g.nFreqs)).map((_, i) => (g.k0 + i) * df);
  const times = new Float64Array(Math.max(0, g.nTimes)).map((_, j) => -s.before + j * g.hop / fs);
  return { ...g, freqs, times };
}

/**
 * The sizes {@linkcode spectrogramGeometry} derives, without allocating its axes: what
 * {@linkcode checkConsistency} bounds before anything is made.
 *
 * @param c The config.
 * @returns the sizes.
 */
export function spectrogramSizes(c: ExtractConfig): SpectrogramSizes {
  const fs = c.preprocess.samplingRate;
  const s = c.spectrogram;
  const nperseg = Math.round(s.windowLength * fs) + 1;
  const noverlap = Math.min(nperseg - 1, Math.floor(s.overlap * nperseg));
  const hop = nperseg - noverlap;
  const nfft = s.nfft ?? autoNfft(nperseg);
  const df = fs / nfft;
  const k0 = Math.ceil(s.fmin / df - 1e-9);
  const k1 = Math.min(nfft / 2, Math.floor(s.fmax / df + 1e-9));
  const nFreqs = k1 - k0 + 1;
  const nTimes = Math.floor((s.before + s.after) * fs / hop + 1e-9) + 1;
  return { samplingRate: fs, nperseg, noverlap, hop, nfft, k0, k1, nFreqs, nTimes };
}

/**
 * Reads and validates a config file; relative input paths resolve against the
 * file's directory (the output path stays relative to the working directory).
 *
 * @param path JSON file.
 * @returns the config.
 * @throws {UserError} when the file cannot be read or parsed, or a field is invalid.
 */
export async function readExtractConfig(path: string): Promise<ExtractConfig> {
  let raw: unknown;
  try {
    raw = parseJsonc(await Deno.readTextFile(path));
  } catch (e) {
    throw new UserError(`Cannot read config ${path}: ${readFailure(e)}`);
  }
  const c = parseExtractConfig(raw, path);
  const base = dirname(resolve(path));
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  if (c.input.format === "manifest") {
    c.input.path = abs(c.input.path);
    if (c.input.picks) c.input.picks = abs(c.input.picks);
  } else if (c.input.format === "sds") {
    c.input.dir = abs(c.input.dir);
    if (c.input.picks) c.input.picks = abs(c.input.picks);
    if (c.input.windows?.labels) c.input.windows.labels = abs(c.input.windows.labels);
    if (c.input.stations) {
      c.input.stations = stationFiles(c.input.stations, abs).map(abs).join(";");
    }
  } else c.input.dir = abs(c.input.dir);
  return c;
}

/**
 * The number of extraction workers a config asks for.
 *
 * @param workers The config's `workers`.
 * @returns a count: "auto" is one per CPU thread (`navigator.hardwareConcurrency`), 1 to 16.
 */
export function workerCount(workers: number | "auto"): number {
  if (workers !== "auto") return workers;
  return Math.max(1, Math.min(16, navigator.hardwareConcurrency ?? 2));
}
