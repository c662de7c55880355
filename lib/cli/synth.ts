/**
 * `cli.ts synth`: a seeded, labelled synthetic data set as real files.
 *
 * @module
 */
import { type Command, intFlag, strFlag } from "./_command.ts";
import { UserError } from "../util/errors.ts";
import { synthComponentsValid, writeSynth } from "../io/synth.ts";
import { SYNTH_CLASSES, type SynthClass } from "../signal/synth.ts";

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
  usage: "--out DIR",
  details: [
    "Five classes: local_earthquake, regional_event, explosion, tremor, noise, on 1/f + microseism",
    "noise, through a 1 Hz geophone response. Default: 5 classes x 40 samples, Z only, 100 Hz,",
    "110 s per trace (onset at 30 s). Then: deno run -A cli.ts extract --config DIR/extract.json --out DS",
  ].join("\n"),
  seeded: true,
  flags: {
    out: { type: "string", short: "o", arg: "DIR", description: "Output directory." },
    "per-class": { type: "string", arg: "N", description: "Samples per class.", default: "40" },
    components: {
      type: "string",
      arg: "ZNE",
      description: "Components to write: letters from ZNE, or Z12 (horizontals 1 and 2 at a " +
        "random azimuth per station, the same events as ZNE).",
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
  },
  async run(values) {
    const out = strFlag(values, "out");
    if (!out) throw new UserError("Cannot synth: give --out DIR");
    const snr = numberList(strFlag(values, "snr") ?? "5,30", "snr");
    const comps = (strFlag(values, "components") ?? "Z").replaceAll(",", "").split("");
    if (!synthComponentsValid(comps)) {
      throw new UserError(
        `Cannot read --components: expected letters from ZNE, or from Z12 with 1 and 2 ` +
          `together: found '${comps.join("")}'`,
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
      samplingRates: numberList(strFlag(values, "rates") ?? "100", "rates"),
      classes,
      seed: intFlag(values, "seed") ?? 0,
      force: Boolean(values.force),
    });
    console.log(
      `synth: ${n} samples (${comps.join("")}) -> ${out} in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s\n` +
        `next: deno run -A cli.ts extract --config ${out}/extract.json --out <dataset-dir>`,
    );
  },
};
