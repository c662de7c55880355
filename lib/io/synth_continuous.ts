/**
 * Writes a synthetic *continuous* archive: hours of 100 Hz background noise at a few stations,
 * with events of the four non-noise classes of lib/signal/synth.ts at seeded random times,
 * as an SDS archive with StationXML, QuakeML picks, a labels CSV and an `extract.json` for
 * extract's windows mode (samples cut at regular times, no picks).
 *
 * Layout of the output directory:
 *
 * | file | content |
 * |---|---|
 * | `sds/YEAR/SY/STA/CHA.D/SY.STA.00.CHA.D.YEAR.DOY` | day files, miniSEED 3, int32 counts, split at midnight UTC |
 * | `stations.xml` | StationXML 1.1 with {@linkcode SYNTH_RESPONSE} per channel, as `synth` writes |
 * | `events.xml` | QuakeML 1.2: each event with origin, magnitude, and a P pick (and S where the class has one) at every station |
 * | `labels.csv` | `start,end,label`: one interval per event (its class) and `noise` between them, tiling the span exactly once |
 * | `extract.json` | extract's windows mode over the whole span: a window every 43 s on every station's HHZ, labelled from `labels.csv`, for the components written (Z, N, E for ZNE, Z12 or UVW) |
 *
 * The background is synth's noise model ({@linkcode coloredNoise}: 1/f-like plus a
 * secondary microseism), made continuous by overlap-add: independent 10-minute draws,
 * each under a sine window, overlap by half, so the windows' squares sum to 1 (constant
 * variance) and the noise has no step anywhere. Each piece of the record is passed through
 * the response with 30 s of ground motion on each side, so the counts do not depend on
 * where the pieces join (to within a count; tested). The data is generated and written in
 * pieces of `pieceSeconds`, so a long span needs little memory.
 *
 * Events follow one another: after each event's end (and from a minute into the span) a
 * quiet gap of 30 s plus an exponential wait (mean 3600 / `eventsPerHour` s), then the next onset.
 * The class is drawn with weights 1 for local_earthquake, regional_event and tremor, and for
 * explosion (quarry blasts) 2 in working hours (08:00–17:59 UTC) and 0.25 outside them. Every station records every event, delayed by 0–3 s (0–6 s for a
 * regional event; the first station's delay is 0), with its own SNR drawn log-uniformly
 * from `snr` and defined as `synth` defines it (1–18 Hz RMS over the first 10 s after the
 * arrival over the noise's). An event's signal at a station ends at the last whole second
 * whose 1–18 Hz RMS is at least half the noise's (it is tapered to zero over that
 * second); its `labels.csv` interval runs from its first arrival to its last end over the
 * stations. The first onset is at least 90 s after the span's start, and no event is placed
 * that would end within 10 s of the span's end or arrive within 120 s of it, so that
 * extract's default crop (20 s before an arrival to 66 s after it) and its tapers fit.
 *
 * @module
 */
import { join } from "node:path";
import { Rng } from "../util/rng.ts";
import { writeDirAtomic } from "../util/atomic.ts";
import { bandRms, coloredNoise, drawEvent, eventSignal, type SynthClass } from "../signal/synth.ts";
import { butterBandpass, sosfilt } from "../signal/filter.ts";
import { applyResponse } from "../signal/response.ts";
import { encodeMiniseed3 } from "./mseed.ts";
import { formatStationXml, type StationXmlChannel } from "./stationxml.ts";
import { formatQuakeMl, type QuakeMlEvent } from "./quakeml.ts";
import { formatCsv } from "./csv.ts";
import { sdsPaths } from "./manifest.ts";
import { sensorMotion, sensorOrientation, SYNTH_RESPONSE } from "./synth.ts";

/** Options of {@linkcode writeSynthContinuous}. */
export interface SynthContinuousOptions {
  /** Length of the archive, hours (default 6); the span is rounded to whole samples. */
  hours?: number;
  /** Number of stations, S0000, S0001, ... (default 2). */
  stations?: number;
  /**
   * Components: ["Z"] (default), ["Z", "N", "E"], ["Z", "1", "2"] or ["U", "V", "W"] (as
   * `synth`'s: 1 and 2 horizontal at a random azimuth, U, V and W a Galperin triad).
   */
  components?: string[];
  /** SNR range [lo, hi], drawn log-uniformly per event and station (default [5, 30]). */
  snr?: [number, number];
  /** Time of the first sample, ms since 1970 UTC, on the 10 ms grid (default 2024-01-01T00:00:00Z). */
  start?: number;
  /** Mean rate of the waits between events, per hour (default 4; the events take time too). */
  eventsPerHour?: number;
  /** Random seed (default 0). */
  seed?: number;
  /** Replace an existing output directory written by a previous run. */
  force?: boolean;
  /**
   * Seconds of data generated and written at once (default 600). The counts do not depend on
   * it beyond rounding.
   */
  pieceSeconds?: number;
}

/** One event's arrival at one station. */
export interface SynthArrival {
  /** Station code. */
  station: string;
  /** Arrival (P pick) time, ms since 1970 UTC. */
  time: number;
  /** SNR drawn for this station. */
  snr: number;
  /** End of the signal at this station, ms since 1970 UTC. */
  end: number;
}

/** One event of the archive. */
export interface SynthContinuousEvent {
  /** QuakeML short id, `ev00000`, ... */
  id: string;
  /** Class. */
  label: Exclude<SynthClass, "noise">;
  /** First arrival over the stations, ms since 1970 UTC (its labels.csv interval's start). */
  onset: number;
  /** Last end over the stations, ms since 1970 UTC (its labels.csv interval's end). */
  end: number;
  /** S − P time, s (0 when the class has no S). */
  sMinusP: number;
  /** Per station, in station order. */
  arrivals: SynthArrival[];
}

/** What {@linkcode writeSynthContinuous} wrote. */
export interface SynthContinuousSummary {
  /** Time of the first sample, ms since 1970 UTC. */
  start: number;
  /** End of the span (the last sample's time plus one sampling interval), ms since 1970 UTC. */
  end: number;
  /** Sampling rate, Hz. */
  samplingRate: number;
  /** Station codes. */
  stations: string[];
  /** Channel codes, e.g. ["HHZ"]. */
  channels: string[];
  /** The events, by onset. */
  events: SynthContinuousEvent[];
  /** The `labels.csv` intervals, in time order: [start, end) in ms and the label. */
  labels: { start: number; end: number; label: string }[];
  /** Day files written, relative to the output directory. */
  files: string[];
}

const FS = 100;
const DT_MS = 1000 / FS;
/** Half the length of one noise draw, samples: draws of 10 minutes overlap by 5. */
const NOISE_HALF = 300 * FS;
/** Ground motion passed through the response on each side of a piece, samples. */
const RESPONSE_MARGIN = 30 * FS;
/** Longest signal computed per class, s (the ends found are shorter). */
const MAX_DURATION: Record<Exclude<SynthClass, "noise">, number> = {
  local_earthquake: 150,
  regional_event: 240,
  explosion: 60,
  tremor: 90,
};
const NETWORK = "SY", LOCATION = "00";

/** A 32-bit hash of integers: the seed of one noise draw, found from its place alone. */
function mix(...xs: number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x01000193) >>> 0;
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d) >>> 0;
    h ^= h >>> 12;
  }
  return h >>> 0;
}

/** An event's scaled ground motion at one station and component, from sample `i0` on. */
interface Contribution {
  i0: number;
  data: Float64Array;
}

/**
 * Whether `synth --continuous` can write these components: Z, ZNE, Z12 or UVW.
 *
 * @param comps One letter each.
 * @returns true when they can be written.
 */
export function synthContinuousComponentsValid(comps: readonly string[]): boolean {
  return ["Z", "ZNE", "Z12", "UVW"].includes(comps.join(""));
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Writes a synthetic continuous SDS archive atomically (see the module doc for its layout).
 *
 * @param out Output directory.
 * @param options Span, stations, components, SNR, rate, seed.
 * @returns what was written: the span, the events with their arrivals, the labels, the files.
 * @throws {RangeError} for a bad option, naming it.
 * @example
 * ```ts ignore
 * import { writeSynthContinuous } from "./synth_continuous.ts";
 * const s = await writeSynthContinuous("out/cont", { hours: 1, stations: 3 });
 * console.log(s.events.length, "events");
 * ```
 */
export async function writeSynthContinuous(
  out: string,
  options: SynthContinuousOptions = {},
): Promise<SynthContinuousSummary> {
  const hours = options.hours ?? 6;
  const nStations = options.stations ?? 2;
  const comps = options.components ?? ["Z"];
  const [snrLo, snrHi] = options.snr ?? [5, 30];
  const start = options.start ?? Date.UTC(2024, 0, 1);
  const rate = options.eventsPerHour ?? 4;
  const seed = options.seed ?? 0;
  const pieceSeconds = options.pieceSeconds ?? 600;
  const bad = (what: string, expected: string, found: unknown) =>
    new RangeError(`Cannot write synth --continuous: ${what} must be ${expected}: found ${found}`);
  if (!(hours > 0) || !Number.isFinite(hours)) throw bad("hours", "> 0", hours);
  if (!Number.isInteger(nStations) || nStations < 1) {
    throw bad("stations", "an integer >= 1", nStations);
  }
  if (nStations > 36 ** 4) throw bad("stations", `at most ${36 ** 4}`, nStations);
  if (!synthContinuousComponentsValid(comps)) {
    throw bad("components", "Z, ZNE, Z12 or UVW", comps.join(""));
  }
  if (!(snrLo > 0 && snrHi >= snrLo)) throw bad("snr", "0 < lo <= hi", `${snrLo},${snrHi}`);
  if (!Number.isFinite(start) || start % DT_MS !== 0) {
    throw bad("start", `on the ${DT_MS} ms grid of the sampling rate`, iso(start));
  }
  if (!(rate > 0) || !Number.isFinite(rate)) throw bad("eventsPerHour", "> 0", rate);
  if (!(pieceSeconds >= 1)) throw bad("pieceSeconds", ">= 1", pieceSeconds);
  const n = Math.round(hours * 3600 * FS);
  const end = start + n * DT_MS;
  const stations = Array.from(
    { length: nStations },
    (_, i) => `S${i.toString(36).toUpperCase().padStart(4, "0")}`,
  );
  const channels = comps.map((c) => `HH${c}`);
  // The ground motion drawn: N and E stand for 1 and 2, as in synth.
  const ground = comps.length === 1 ? ["Z"] : ["Z", "N", "E"];
  const rng = new Rng(seed);
  const azRng = new Rng((seed ^ 0x5eed12) >>> 0);
  const noiseLevel = stations.map(() => 1e-8 * 10 ** rng.next());
  const coords = stations.map(() => [40 + rng.uniform(-0.3, 0.3), -120 + rng.uniform(-0.3, 0.3)]);
  const az1 = stations.map(() =>
    comps.includes("1") || comps.includes("U") ? Math.round(azRng.uniform(0, 360) * 10) / 10 : 0
  );
  const band = butterBandpass(1, Math.min(18, 0.45 * FS), FS, 2);

  // Events, one after another; each station's scaled signal kept per ground component.
  const events: SynthContinuousEvent[] = [];
  const contributions: Contribution[][][] = stations.map(() => ground.map(() => []));
  // The first onset is at least 90 s into the span, and no arrival is within 120 s of its end:
  // extract's default crop (20 s before, 66 s after) and its tapers fit at every station.
  let cursor = start + 60_000;
  for (let e = 0;; e++) {
    cursor += 30_000 - Math.log(1 - rng.next()) * 3_600_000 / rate;
    const onset = Math.round(cursor);
    const hour = new Date(onset).getUTCHours();
    const explosionWeight = hour >= 8 && hour < 18 ? 2 : 0.25;
    const u = rng.next() * (3 + explosionWeight);
    const cls = u < 1
      ? "local_earthquake"
      : u < 2
      ? "regional_event"
      : u < 3
      ? "tremor"
      : "explosion";
    const ev = drawEvent(cls, rng);
    const maxDelay = cls === "regional_event" ? 6 : 3;
    const delays = stations.map(() => rng.uniform(0, maxDelay));
    const d0 = Math.min(...delays);
    const arrivals: SynthArrival[] = [];
    const signals: Contribution[][] = [];
    for (let s = 0; s < stations.length; s++) {
      const time = onset + Math.round((delays[s] - d0) * 1000);
      const snr = snrLo * (snrHi / snrLo) ** rng.next();
      // The signal starts a sample before the arrival, which falls between samples.
      const i0 = Math.floor((time - start) / DT_MS) - 1;
      const tRef = (time - start - i0 * DT_MS) / 1000;
      const len = Math.round(MAX_DURATION[cls] * FS);
      const iOn = Math.round(tRef * FS);
      let last = 0;
      const scaled = ground.map((c) => {
        const sig = eventSignal(ev, c, len, FS, tRef, new Rng(rng.nextU32()));
        const sr = bandRms(sig, FS, iOn, iOn + 10 * FS);
        const g = sr > 0 ? snr / sr : 0;
        for (let i = 0; i < len; i++) sig[i] *= g;
        // The signal ends at the last whole second whose band RMS is at least half the noise's.
        const y = sosfilt(band, Float64Array.from(sig));
        for (let w = 0; (w + 1) * FS <= len; w++) {
          let ss = 0;
          for (let i = w * FS; i < (w + 1) * FS; i++) ss += y[i] * y[i];
          if (Math.sqrt(ss / FS) >= 0.5) last = Math.max(last, (w + 1) * FS);
        }
        return sig;
      });
      last = Math.max(last, iOn + FS);
      const contrib = scaled.map((sig) => {
        const data = sig.slice(0, last);
        for (let i = 0; i < FS; i++) {
          data[last - FS + i] *= 0.5 * (1 + Math.cos(Math.PI * (i + 1) / FS));
        }
        return { i0, data };
      });
      signals.push(contrib);
      arrivals.push({ station: stations[s], time, snr, end: start + (i0 + last) * DT_MS });
    }
    const evEnd = Math.max(...arrivals.map((a) => a.end));
    const lastArrival = Math.max(...arrivals.map((a) => a.time));
    if (evEnd > end - 10_000 || lastArrival > end - 120_000) break;
    events.push({
      id: `ev${String(e).padStart(5, "0")}`,
      label: cls,
      onset,
      end: evEnd,
      sMinusP: ev.sMinusP,
      arrivals,
    });
    signals.forEach((byComp, s) => byComp.forEach((c, k) => contributions[s][k].push(c)));
    cursor = evEnd;
  }
  const labels: SynthContinuousSummary["labels"] = [];
  let t = start;
  for (const ev of events) {
    labels.push({ start: t, end: ev.onset, label: "noise" });
    labels.push({ start: ev.onset, end: ev.end, label: ev.label });
    t = ev.end;
  }
  labels.push({ start: t, end, label: "noise" });

  // Piece boundaries, in samples: every pieceSeconds, and at each midnight (day files).
  const cuts = new Set<number>([0, n]);
  const pieceN = Math.round(pieceSeconds * FS);
  for (let i = pieceN; i < n; i += pieceN) cuts.add(i);
  const day = 86_400_000;
  for (let d = Math.floor(start / day) + 1; d * day < end; d++) cuts.add((d * day - start) / DT_MS);
  const bounds = [...cuts].sort((a, b) => a - b);
  const files = new Set<string>();

  await writeDirAtomic(out, async (tmp) => {
    for (let s = 0; s < stations.length; s++) {
      const streams = ground.map((_, k) => noiseStream(mix(seed, s, k), contributions[s][k]));
      for (let p = 0; p + 1 < bounds.length; p++) {
        const a = bounds[p], b = bounds[p + 1];
        const motion = streams.map((g) => g(a - RESPONSE_MARGIN, b + RESPONSE_MARGIN));
        const t0 = start + a * DT_MS;
        for (let k = 0; k < comps.length; k++) {
          const c = comps[k];
          let v = motion[ground.indexOf(c)] ?? motion[0];
          if ("12UVW".includes(c)) {
            // What a sensor along this direction records: the ground motion along it.
            v = sensorMotion(
              "UVW".includes(c) ? motion[0] : null,
              motion[1],
              motion[2],
              sensorOrientation(c, az1[s]),
            );
          }
          const rec = applyResponse(v.map((x) => x * noiseLevel[s]), FS, SYNTH_RESPONSE);
          const counts = new Float64Array(b - a);
          for (let i = 0; i < b - a; i++) {
            counts[i] = Math.max(
              -(2 ** 31) + 1,
              Math.min(2 ** 31 - 1, Math.round(rec[RESPONSE_MARGIN + i])),
            );
          }
          const [path] = sdsPaths(
            join(tmp, "sds"),
            [NETWORK, stations[s], LOCATION, channels[k]],
            t0,
            t0,
          );
          await Deno.mkdir(join(path, ".."), { recursive: true });
          const bytes = await encodeMiniseed3([{
            network: NETWORK,
            station: stations[s],
            location: LOCATION,
            channel: channels[k],
            startTime: t0,
            samplingRate: FS,
            data: counts,
          }]);
          await Deno.writeFile(path, bytes, { append: true });
          files.add(path.slice(tmp.length + 1));
        }
      }
    }
    const inventory: StationXmlChannel[] = [];
    stations.forEach((station, s) => {
      for (const c of comps) {
        inventory.push({
          network: NETWORK,
          station,
          location: LOCATION,
          channel: `HH${c}`,
          latitude: coords[s][0],
          longitude: coords[s][1],
          elevation: 100,
          samplingRate: FS,
          startDate: "2023-01-01T00:00:00Z",
          ...sensorOrientation(c, az1[s]),
          response: SYNTH_RESPONSE,
        });
      }
    });
    await Deno.writeTextFile(join(tmp, "stations.xml"), formatStationXml(inventory));
    const qml: QuakeMlEvent[] = events.map((ev) => {
      const picks: QuakeMlEvent["picks"] = [];
      for (const a of ev.arrivals) {
        const pick = {
          network: NETWORK,
          station: a.station,
          location: LOCATION,
          channel: channels[0],
          phase: "P",
          time: a.time,
        };
        picks.push(pick);
        if (ev.sMinusP > 0 && ev.label !== "regional_event") {
          picks.push({ ...pick, phase: "S", time: a.time + Math.round(ev.sMinusP * 1000) });
        }
      }
      return {
        id: ev.id,
        type: ev.label === "explosion"
          ? "quarry blast"
          : ev.label === "tremor"
          ? "other event"
          : "earthquake",
        origin: {
          time: ev.onset - (ev.label === "regional_event" ? 60_000 : 2_000),
          latitude: 40.1,
          longitude: -119.9,
          depth: ev.label === "explosion" ? 0 : 8000,
        },
        magnitude: ev.label === "regional_event" ? 5 : 2,
        picks,
      };
    });
    await Deno.writeTextFile(join(tmp, "events.xml"), formatQuakeMl(qml));
    await Deno.writeTextFile(
      join(tmp, "labels.csv"),
      formatCsv([
        ["start", "end", "label"],
        ...labels.map((l) => [iso(l.start), iso(l.end), l.label]),
      ]),
    );
    const config = {
      input: {
        format: "sds",
        dir: "sds",
        stations: "stations.xml",
        windows: {
          start: iso(start),
          end: iso(end),
          step: 43,
          channels: stations.map((st) => `${NETWORK}.${st}.${LOCATION}.HHZ`),
          labels: "labels.csv",
        },
      },
      // The components written, as synth's: a Z12 or UVW set asks for Z, N, E, which extract
      // rotates (HHZ stands for the station's band).
      components: comps.length === 1 ? ["Z"] : ["Z", "N", "E"],
      workers: "auto",
    };
    await Deno.writeTextFile(join(tmp, "extract.json"), JSON.stringify(config, null, 2) + "\n");
  }, { force: options.force, marker: "labels.csv" });
  return {
    start,
    end,
    samplingRate: FS,
    stations,
    channels,
    events,
    labels,
    files: [...files].sort(),
  };
}

/**
 * Ground motion of one station and component for any span of samples, in units of the
 * station's noise level: overlap-added noise draws ({@linkcode coloredNoise}, each under a sine window
 * of 2·NOISE_HALF samples, seeded by its place) plus the events' contributions.
 */
function noiseStream(
  streamSeed: number,
  events: readonly Contribution[],
): (a: number, b: number) => Float64Array {
  const cache = new Map<number, Float64Array>();
  const draw = (k: number) => {
    let x = cache.get(k);
    if (!x) {
      x = coloredNoise(2 * NOISE_HALF, FS, new Rng(mix(streamSeed, k)));
      for (let j = 0; j < x.length; j++) x[j] *= Math.sin(Math.PI * (j + 0.5) / (2 * NOISE_HALF));
      cache.set(k, x);
      // Pieces go forward: older draws are not needed again.
      for (const old of cache.keys()) if (old < k - 3) cache.delete(old);
    }
    return x;
  };
  return (a, b) => {
    const out = new Float64Array(b - a);
    // Draw k covers samples [(k − 1)·H, (k + 1)·H).
    for (let k = Math.floor(a / NOISE_HALF); k <= Math.floor((b - 1) / NOISE_HALF) + 1; k++) {
      const x = draw(k), o = (k - 1) * NOISE_HALF;
      for (let i = Math.max(a, o); i < Math.min(b, o + x.length); i++) out[i - a] += x[i - o];
    }
    for (const e of events) {
      const o = e.i0;
      for (let i = Math.max(a, o); i < Math.min(b, o + e.data.length); i++) {
        out[i - a] += e.data[i - o];
      }
    }
    return out;
  };
}
