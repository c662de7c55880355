/**
 * `cli.ts synth`: a seeded, labelled synthetic data set as real files; with `--continuous`, a
 * continuous SDS archive with events at random times (lib/io/synth_continuous.ts).
 *
 * @module
 */
import { basename, join } from "node:path";
import { type Command, intFlag, numFlag, strFlag, type Values } from "./_command.ts";
import { pathWord, seedFlag } from "./_shared.ts";
import { UserError } from "../util/errors.ts";
import { synthComponentsValid, writeSynth } from "../io/synth.ts";
import { SYNTH_CLASSES, type SynthClass } from "../signal/synth.ts";
import { parseUtc } from "../io/manifest.ts";
import { synthContinuousComponentsValid, writeSynthContinuous } from "../io/synth_continuous.ts";

/**
 * The command that extracts a synthetic set, to run as printed: its paths quoted for a POSIX shell
 * where they need it, the dataset beside the set (`work/synth` -> `work/synth_ds`).
 *
 * @param out The set's directory (`DIR` in synth's --help).
 * @param suffix What the dataset's name adds to the set's.
 * @returns the command line.
 */
function nextCommand(out: string, suffix = "_ds"): string {
  return `deno run -A cli.ts extract --config ${pathWord(join(out, "extract.json"))} ` +
    `--scaling db --out ${pathWord(besideOut(out, suffix))}`;
}

/** A directory beside `out` named after it (`out/` + `_ds` -> `out_ds`; `.` -> `./ds`). */
function besideOut(out: string, suffix: string): string {
  const dir = out.replace(/(.)\/+$/, "$1");
  const name = basename(dir);
  return name === "" || name === "." || name === ".."
    ? join(dir, suffix.replace(/^_/, ""))
    : dir + suffix;
}

function numberList(s: string, flag: string): number[] {
  const v = s.split(",").map((x) => Number(x.trim()));
  if (v.length === 0 || v.some((x) => !Number.isFinite(x) || x <= 0)) {
    throw new UserError(
      `Cannot read --${flag}: expected positive numbers separated by commas: found '${s}'`,
    );
  }
  return v;
}

/** The `synth` command. */
export const synth: Command = {
  name: "synth",
  summary:
    "Write a seeded, labelled synthetic data set (miniSEED 3, StationXML, QuakeML, manifest).",
  usage: "--out DIR | --continuous --out DIR [--hours H] [--stations N]",
  details: [
    "Five classes: local_earthquake, regional_event, explosion, tremor, noise, on 1/f + microseism",
    "noise, through a 1 Hz geophone response. Default: 5 classes x 40 samples, Z only, 100 Hz,",
    "110 s per trace (onset at 30 s). It prints the command that extracts the set into DIR_ds:",
    `  ${nextCommand("DIR")}`,
    "--continuous: an SDS archive of --hours of 100 Hz noise at --stations stations, with events of",
    "the four other classes at random times recorded by every station, QuakeML P picks, labels.csv",
    "(the class of every moment) and an extract.json for extract's windows mode.",
  ].join("\n"),
  seeded: true,
  flags: {
    out: { type: "string", short: "o", arg: "DIR", description: "Output directory." },
    "per-class": { type: "string", arg: "N", description: "Samples per class.", default: "40" },
    components: {
      type: "string",
      arg: "ZNE",
      description: "Components to write: letters from ZNE, or Z12 (horizontals 1 and 2 at a " +
        "random azimuth per station), or UVW (three axes 35.26° up, 120° apart); the same events " +
        "as ZNE.",
      default: "Z",
    },
    snr: { type: "string", arg: "LO,HI", description: "SNR range (log-uniform).", default: "5,30" },
    rates: {
      type: "string",
      arg: "HZ,..",
      description: "Sampling rates drawn per station.",
      default: "100",
    },
    classes: { type: "string", arg: "A,B", description: "Subset of classes.", default: "all" },
    force: { type: "boolean", description: "Replace an existing output directory." },
    continuous: {
      type: "boolean",
      description: "Write a continuous SDS archive with events at random times instead.",
    },
    hours: { type: "string", arg: "H", description: "--continuous: hours of data.", default: "6" },
    stations: {
      type: "string",
      arg: "N",
      description: "--continuous: stations recording every event.",
      default: "2",
    },
    start: {
      type: "string",
      arg: "TIME",
      description: "--continuous: ISO 8601 UTC time of the first sample.",
      default: "2024-01-01T00:00:00Z",
    },
    "events-per-hour": {
      type: "string",
      arg: "R",
      description: "--continuous: mean rate of the waits between events, per hour.",
      default: "4",
    },
  },
  async run(values) {
    const out = strFlag(values, "out");
    if (!out) throw new UserError("Cannot synth: give --out DIR");
    const snr = numberList(strFlag(values, "snr") ?? "5,30", "snr");
    if (snr.length > 2) {
      throw new UserError(
        `Cannot read --snr: expected LO,HI (or one value): found '${strFlag(values, "snr")}'`,
      );
    }
    if (snr.length === 2 && snr[0] > snr[1]) {
      throw new UserError(
        `Cannot read --snr: expected LO,HI with LO <= HI (or one value): found '${
          strFlag(values, "snr")
        }'`,
      );
    }
    if (values.continuous) return await runContinuous(values, out, snr);
    for (const f of ["hours", "stations", "start", "events-per-hour"]) {
      if (values[f] !== undefined) {
        throw new UserError(`Cannot read --${f}: it is a flag of synth --continuous only`);
      }
    }
    const comps = (strFlag(values, "components") ?? "Z").replaceAll(",", "").split("");
    if (!synthComponentsValid(comps) || new Set(comps).size !== comps.length) {
      throw new UserError(
        `Cannot read --components: expected letters from ZNE, or from Z12 with 1 and 2 ` +
          `together, or UVW: found '${comps.join("")}'`,
      );
    }
    const cl = strFlag(values, "classes");
    let classes: SynthClass[] | undefined;
    if (cl && cl !== "all") {
      classes = cl.split(",") as SynthClass[];
      const bad = classes.filter((c) => !SYNTH_CLASSES.includes(c));
      if (bad.length) {
        throw new UserError(
          `Cannot read --classes: expected some of ${SYNTH_CLASSES.join(", ")}: found ${bad}`,
        );
      }
      if (new Set(classes).size !== classes.length) {
        throw new UserError(`Cannot read --classes: expected each class once: found '${cl}'`);
      }
    }
    const rates = numberList(strFlag(values, "rates") ?? "100", "rates");
    // The classes' content reaches 18 Hz (their band-limited bursts are designed to 0.45 × fs).
    if (rates.some((r) => r < 20)) {
      throw new UserError(
        `Cannot read --rates: the classes' signals reach 18 Hz, so each rate must be >= 20 Hz: ` +
          `found '${strFlag(values, "rates")}'`,
      );
    }
    const perClass = intFlag(values, "per-class") ?? 40;
    if (perClass < 1) {
      throw new UserError(`Cannot read --per-class: expected >= 1: found ${perClass}`);
    }
    const t0 = performance.now();
    const n = await writeSynth(out, {
      perClass,
      components: comps,
      snr: [snr[0], snr[1] ?? snr[0]],
      samplingRates: rates,
      classes,
      seed: seedFlag(values) ?? 0,
      force: Boolean(values.force),
    });
    console.log(
      `synth: ${n} samples (${comps.join("")}) -> ${out} in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s`,
    );
    // The next command is progress, as the bars are: on stderr, and not under --quiet.
    if (!values.quiet) console.error(`next: ${nextCommand(out)}`);
  },
};

/** `synth --continuous`: checks its flags, writes the archive, prints what it holds. */
async function runContinuous(values: Values, out: string, snr: number[]): Promise<void> {
  for (const f of ["per-class", "rates", "classes"]) {
    if (values[f] !== undefined) {
      throw new UserError(`Cannot read --${f}: synth --continuous takes no --${f}`);
    }
  }
  const hours = numFlag(values, "hours") ?? 6;
  if (!(hours > 0)) throw new UserError(`Cannot read --hours: expected > 0: found ${hours}`);
  const stations = intFlag(values, "stations") ?? 2;
  if (stations < 1) throw new UserError(`Cannot read --stations: expected >= 1: found ${stations}`);
  const compText = (strFlag(values, "components") ?? "Z").replaceAll(",", "");
  if (!synthContinuousComponentsValid(compText.split(""))) {
    throw new UserError(
      `Cannot read --components: with --continuous, expected Z, ZNE, Z12 or UVW: found '${compText}'`,
    );
  }
  const startText = strFlag(values, "start");
  let start: number | undefined;
  if (startText !== undefined) {
    try {
      start = parseUtc(startText) ?? undefined;
    } catch (e) {
      throw new UserError(`Cannot read --start: ${(e as Error).message}`);
    }
    if (start === undefined || start % 10 !== 0) {
      throw new UserError(
        `Cannot read --start: expected an ISO 8601 UTC time on the 10 ms grid of 100 Hz: ` +
          `found '${startText}'`,
      );
    }
  }
  const rate = numFlag(values, "events-per-hour") ?? 4;
  if (!(rate > 0)) {
    throw new UserError(`Cannot read --events-per-hour: expected > 0: found ${rate}`);
  }
  const t0 = performance.now();
  const s = await writeSynthContinuous(out, {
    hours,
    stations,
    components: compText.split(""),
    snr: [Math.min(...snr), Math.max(...snr)],
    start,
    eventsPerHour: rate,
    seed: seedFlag(values) ?? 0,
    force: Boolean(values.force),
  });
  const byClass: Record<string, number> = {};
  for (const e of s.events) byClass[e.label] = (byClass[e.label] ?? 0) + 1;
  const counts = Object.entries(byClass).map(([k, v]) => `${v} ${k}`).join(", ") || "none";
  console.log(
    `synth --continuous: ${hours} h x ${stations} stations (${compText}), ${s.events.length} ` +
      `events (${counts}), ${s.files.length} day files -> ${out} in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s`,
  );
  if (!values.quiet) {
    const q = (...p: string[]) => pathWord(join(...p));
    console.error(
      `picks: deno run -A cli.ts extract --sds ${q(out, "sds")} --picks ${q(out, "events.xml")} ` +
        `--stations ${q(out, "stations.xml")} --scaling db --out ${
          pathWord(besideOut(out, "_picks_ds"))
        }\n` +
        `windows: ${nextCommand(out, "_windows_ds")}`,
    );
  }
}
