/**
 * Writes the synthetic data set as real files: miniSEED 3 waveforms (by
 * seisplotjs's mseed3 writer), one StationXML inventory, QuakeML events with P
 * and S picks, a picks CSV, a manifest CSV and a ready-to-use `extract.json`.
 *
 * Layout of the output directory:
 *
 * | file | content |
 * |---|---|
 * | `waveforms/<id>.mseed` | one file per sample, all its components, counts (int32) |
 * | `stations.xml` | StationXML 1.1: a 1 Hz geophone (poles −4.443 ± 4.443i) + 6.3e8 counts/(m/s) |
 * | `events.xml` | QuakeML 1.2: one event per non-noise sample with origin, magnitude, P (and S) picks |
 * | `picks.csv` | `id,network,station,phase,time` |
 * | `manifest.csv` | the extract manifest, with reference_time, label and s_time (the S pick, where there is one) |
 * | `extract.json` | the extract config that reads this directory |
 *
 * Components `1` and `2` are horizontals at a random azimuth per station (seeded apart from
 * the waveforms), 1 and 2 at a and a + 90°, recording the same north and east ground motion
 * that `N` and `E` would with the same seed: `Z12` and `ZNE` sets hold the same events, and
 * extracting Z, N, E from the former (extract's `rotate`) gives the spectrograms of the latter.
 * Components `U`, `V`, `W` (written together and alone) are the Galperin arrangement: three
 * axes 35.26° above the horizontal, at a random azimuth a and a + 120° and a + 240°, each
 * recording the Z, N, E motion along it, so that a `UVW` set too holds the events of `ZNE`.
 *
 * Sample i is recorded on day ⌊i / 24⌋ from 2024-01-01 at hour i mod 24 UTC, except
 * explosions, which fire in working hours (08:00–17:59 UTC) as quarry blasts do: the
 * `cluster` command's hour-of-day figure should show that cluster's day-time peak.
 *
 * For hours of continuous data with events at random times (an SDS archive and a labels CSV,
 * for extract's windows mode), see `writeSynthContinuous` in synth_continuous.ts
 * (`synth --continuous`).
 *
 * @module
 */
import { join } from "node:path";
import { Rng } from "../util/rng.ts";
import { writeDirAtomic } from "../util/atomic.ts";
import { drawEvent, SYNTH_CLASSES, type SynthClass, synthTrace } from "../signal/synth.ts";
import { applyResponse, type InstrumentResponse } from "../signal/response.ts";
import { encodeMiniseed3 } from "./mseed.ts";
import { formatStationXml, type StationXmlChannel } from "./stationxml.ts";
import { formatQuakeMl, type QuakeMlEvent } from "./quakeml.ts";
import { formatCsv } from "./csv.ts";
import { MANIFEST_HEADER } from "./manifest.ts";

/** Options of {@linkcode writeSynth}. */
export interface SynthOptions {
  /** Samples per class (default 40). */
  perClass?: number;
  /**
   * Components written (default ["Z"]): letters from Z, N, E, or Z, 1, 2 (1 and 2 together,
   * in place of N and E), or U, V, W (the Galperin arrangement, in place of Z, N, E).
   */
  components?: string[];
  /** SNR range [lo, hi], drawn log-uniformly (default [5, 30]). */
  snr?: [number, number];
  /** Sampling rates drawn per station (default [100]). */
  samplingRates?: number[];
  /** Seconds of data before the onset (default 30). */
  before?: number;
  /** Seconds of data after the onset (default 80). */
  after?: number;
  /** Classes to write (default all five). */
  classes?: readonly SynthClass[];
  /** Random seed (default 0). */
  seed?: number;
  /** Replace an existing output directory written by a previous run. */
  force?: boolean;
}

/** The synthetic sensor: a 1 Hz, 0.707-damped geophone on a high-gain digitizer. */
export const SYNTH_RESPONSE: InstrumentResponse = {
  sensitivity: 6.3e8,
  sensitivityFrequency: 5,
  inputUnits: "M/S",
  stages: [{
    type: "radians",
    zeros: [[0, 0], [0, 0]],
    poles: [[-4.443, 4.443], [-4.443, -4.443]],
    normalizationFactor: 1,
  }],
};

const EPOCH = Date.UTC(2024, 0, 1);

/**
 * Whether `synth` can write these components: letters from Z, N, E, or from Z, 1, 2 with 1 and
 * 2 together (horizontals at a random azimuth; not mixed with N or E), or U, V, W together and
 * alone (three inclined axes, the Galperin arrangement).
 *
 * @param comps One letter each.
 * @returns true when they can be written.
 */
export function synthComponentsValid(comps: readonly string[]): boolean {
  if (comps.some((c) => "UVW".includes(c))) return comps.join("") === "UVW";
  const has12 = comps.includes("1") || comps.includes("2");
  return !(
    comps.some((c) => !"ZNE12".includes(c) || c.length !== 1) ||
    (has12 && !(comps.includes("1") && comps.includes("2"))) ||
    (has12 && (comps.includes("N") || comps.includes("E")))
  );
}

/** Dip of a Galperin axis, degrees (SEED: negative is up): 35.26° above the horizontal. */
export const GALPERIN_DIP = -Math.atan(1 / Math.SQRT2) * 180 / Math.PI;

/**
 * The orientation of a synthetic component: Z up, N and E; 1 at azimuth `az1` and 2 at
 * `az1` + 90°, horizontal; U, V and W at `az1`, `az1` + 120° and `az1` + 240°, dipping
 * {@linkcode GALPERIN_DIP} (SEED dip, positive down).
 *
 * @param c The component letter.
 * @param az1 The station's azimuth of 1 (or U), degrees.
 * @returns azimuth and dip, degrees.
 * @example
 * ```ts
 * import { sensorOrientation } from "./synth.ts";
 * const w = sensorOrientation("W", 200);
 * if (w.azimuth !== 80 || !(w.dip < -35 && w.dip > -36)) throw new Error();
 * if (sensorOrientation("2", 359.8).azimuth !== 89.8) throw new Error(); // not 89.80000000000001
 * ```
 */
export function sensorOrientation(c: string, az1: number): { azimuth: number; dip: number } {
  const azimuth = c === "1" || c === "U"
    ? az1
    : c === "2"
    ? (az1 + 90) % 360
    : c === "V"
    ? (az1 + 120) % 360
    : c === "W"
    ? (az1 + 240) % 360
    : c === "E"
    ? 90
    : 0;
  // To a micro-degree: (359.8 + 90) % 360 is 89.80000000000001 in floats, which stations.xml and
  // rotations.csv then printed.
  return {
    azimuth: Math.round(azimuth * 1e6) / 1e6,
    dip: c === "Z" ? -90 : "UVW".includes(c) ? GALPERIN_DIP : 0,
  };
}

/**
 * What a sensor of orientation `o` records of a ground motion: its projection on the sensor's
 * direction (SEED dip, positive down; Z is up).
 *
 * @param zz Vertical motion (up), or null where the sensor is horizontal.
 * @param nn North motion.
 * @param ee East motion.
 * @param o The sensor's azimuth and dip, degrees.
 * @returns the recorded motion.
 */
export function sensorMotion(
  zz: Float64Array | null,
  nn: Float64Array,
  ee: Float64Array,
  o: { azimuth: number; dip: number },
): Float64Array {
  const a = o.azimuth * Math.PI / 180, d = o.dip * Math.PI / 180;
  return nn.map((x, i) =>
    Math.cos(d) * (x * Math.cos(a) + ee[i] * Math.sin(a)) - (zz ? zz[i] * Math.sin(d) : 0)
  );
}

/**
 * Writes a synthetic data set atomically.
 *
 * @param out Output directory.
 * @param options Size, components, SNR, rates, seed.
 * @returns the number of samples written.
 */
export async function writeSynth(out: string, options: SynthOptions = {}): Promise<number> {
  const perClass = options.perClass ?? 40;
  const comps = options.components ?? ["Z"];
  const has12 = comps.includes("1") || comps.includes("2");
  if (!synthComponentsValid(comps)) {
    throw new RangeError(
      `Cannot write synth: components must be letters from Z, N, E, or from Z, 1, 2 (1 and 2 ` +
        `together): found ${comps.join(", ")}`,
    );
  }
  // The ground motion drawn: N and E stand for 1 and 2, so that the main generator draws the
  // same numbers for Z12 as for ZNE; U, V and W record all three of Z, N and E.
  const uvw = comps.join("") === "UVW";
  const ground = uvw ? ["Z", "N", "E"] : comps.map((c) => c === "1" ? "N" : c === "2" ? "E" : c);
  // Azimuths of 1 and 2 come from their own generator, for the same reason.
  const azRng = new Rng(((options.seed ?? 0) ^ 0x5eed12) >>> 0);
  const [snrLo, snrHi] = options.snr ?? [5, 30];
  const rates = options.samplingRates ?? [100];
  const before = options.before ?? 30, after = options.after ?? 80;
  const classes = options.classes ?? SYNTH_CLASSES;
  const rng = new Rng(options.seed ?? 0);
  // Interleave classes, then shuffle, so any prefix is balanced-ish and order carries no label.
  const order: SynthClass[] = [];
  for (let i = 0; i < perClass; i++) order.push(...classes);
  rng.shuffle(order);
  await writeDirAtomic(out, async (tmp) => {
    await Deno.mkdir(join(tmp, "waveforms"));
    const manifest: (string | number)[][] = [[...MANIFEST_HEADER, "s_time"]];
    const picksCsv: (string | number)[][] = [["id", "network", "station", "phase", "time"]];
    const channels: StationXmlChannel[] = [];
    const events: QuakeMlEvent[] = [];
    for (let i = 0; i < order.length; i++) {
      const cls = order[i];
      const id = `syn${String(i).padStart(5, "0")}`;
      const station = `S${i.toString(36).toUpperCase().padStart(4, "0")}`;
      const fs = rates[rng.int(rates.length)];
      const band = fs >= 80 ? "H" : "B";
      const ev = drawEvent(cls, rng);
      const snr = snrLo * (snrHi / snrLo) ** rng.next();
      const noiseLevel = 1e-8 * 10 ** rng.next();
      const n = Math.round((before + after) * fs) + 1;
      // The onset falls between samples, as real onsets do.
      // Sample i falls on day ⌊i / 24⌋: at hour i mod 24, or, for explosions (quarry blasts
      // keep working hours), at a deterministic hour in 08–17 UTC.
      const hour = cls === "explosion" ? 8 + (i * 7) % 10 : i % 24;
      const startTime = EPOCH + Math.floor(i / 24) * 86_400_000 + hour * 3_600_000 +
        Math.round(rng.uniform(0, 1000 / fs));
      const tref = startTime + before * 1000;
      const motion = ground.map((c) => synthTrace(ev, c, n, fs, before, snr, noiseLevel, rng));
      const az1 = has12 || uvw ? Math.round(azRng.uniform(0, 360) * 10) / 10 : 0;
      const traces = comps.map((c, k) => {
        let v = motion[k];
        if (c === "1" || c === "2" || uvw) {
          v = sensorMotion(
            uvw ? motion[ground.indexOf("Z")] : null,
            motion[ground.indexOf("N")],
            motion[ground.indexOf("E")],
            sensorOrientation(c, az1),
          );
        }
        const counts = applyResponse(v, fs, SYNTH_RESPONSE).map(Math.round);
        return {
          network: "SY",
          station,
          location: "00",
          channel: `${band}H${c}`,
          startTime,
          samplingRate: fs,
          data: counts,
        };
      });
      const file = `waveforms/${id}.mseed`;
      await Deno.writeFile(join(tmp, file), await encodeMiniseed3(traces));
      const lat = 40 + rng.uniform(-2, 2), lon = -120 + rng.uniform(-2, 2);
      for (const c of comps) {
        channels.push({
          network: "SY",
          station,
          location: "00",
          channel: `${band}H${c}`,
          latitude: lat,
          longitude: lon,
          elevation: 100,
          samplingRate: fs,
          startDate: "2023-01-01T00:00:00Z",
          ...sensorOrientation(c, az1),
          response: SYNTH_RESPONSE,
        });
      }
      const refIso = new Date(tref).toISOString();
      const row = [id, file, "stations.xml", "SY", station, "00", `${band}H?`, refIso, cls, ""];
      manifest.push(row);
      if (cls !== "noise") {
        const ch = `${band}H${comps.includes("Z") || uvw ? "Z" : comps[0]}`;
        const picks = [{
          network: "SY",
          station,
          location: "00",
          channel: ch,
          phase: "P",
          time: tref,
        }];
        if (ev.sMinusP > 0 && cls !== "regional_event") {
          picks.push({ ...picks[0], phase: "S", time: tref + Math.round(ev.sMinusP * 1000) });
          row[row.length - 1] = new Date(picks[1].time).toISOString();
        }
        for (const p of picks) {
          picksCsv.push([id, "SY", station, p.phase, new Date(p.time).toISOString()]);
        }
        events.push({
          id,
          type: cls === "explosion"
            ? "quarry blast"
            : cls === "tremor"
            ? "other event"
            : "earthquake",
          origin: {
            time: tref - Math.round((cls === "regional_event" ? 60 : 2) * 1000),
            latitude: lat + 0.1,
            longitude: lon + 0.1,
            depth: cls === "explosion" ? 0 : 8000,
          },
          magnitude: cls === "regional_event" ? 5 + rng.next() : 1 + 2 * rng.next(),
          picks,
        });
      }
    }
    await Deno.writeTextFile(join(tmp, "manifest.csv"), formatCsv(manifest));
    await Deno.writeTextFile(join(tmp, "picks.csv"), formatCsv(picksCsv));
    await Deno.writeTextFile(join(tmp, "stations.xml"), formatStationXml(channels));
    await Deno.writeTextFile(join(tmp, "events.xml"), formatQuakeMl(events));
    const config = {
      input: { format: "manifest", path: "manifest.csv", picks: null },
      // A Z12 or UVW set asks for Z, N, E: extract rotates 1 and 2 (or U, V and W) by their
      // StationXML azimuths and dips.
      components: ground,
      workers: "auto",
    };
    await Deno.writeTextFile(join(tmp, "extract.json"), JSON.stringify(config, null, 2) + "\n");
  }, { force: options.force, marker: "manifest.csv" });
  return order.length;
}
