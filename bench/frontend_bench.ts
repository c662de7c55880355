/**
 * Front-end benchmark: what the CPU side costs before any GPU work, so that a seismologist can
 * tell how long a catalogue or a year of continuous data takes to turn into a dataset on their
 * machine. On synthetic data written for the run (lib/io/synth.ts, lib/io/synth_continuous.ts;
 * 100 Hz, as real broadband data):
 *
 * - `stft`: one sample's spectrogram (Kaiser window, npm:fft.js), the default geometry;
 * - `extract events`: `runExtract` on 1,000 event waveforms (200 per class) (miniSEED + StationXML + picks:
 *   response removal, resampling, band-pass, taper, STFT, crop), with the extraction's workers
 *   (`auto`) and in this thread (`--workers 0`);
 * - `detect`: STA/LTA detection of one channel-day (the defaults; `detectSdsTriggers`), then the
 *   same day taken from the detections kept by day (lib/io/sds_triggers.ts `DetectionCache`);
 * - `extract triggers`: `runExtract` at the triggers of a 24-hour, 2-station archive, detection
 *   included.
 *
 * Each figure is the median of 3 runs after one warm-up run (the trigger extraction: one run
 * after one warm-up), timed at module load, as the training bench does (a run takes seconds);
 * the STFT is also a `Deno.bench` case. It prints a table and writes bench/results/frontend-cpu-<threads>-threads-<hash>.json (no
 * GPU is used: the "adapter" is the CPU's thread count).
 *
 * ```sh
 * deno task bench:frontend
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { writeSynth } from "../lib/io/synth.ts";
import { writeSynthContinuous } from "../lib/io/synth_continuous.ts";
import { readExtractConfig, spectrogramGeometry } from "../lib/io/extract_config.ts";
import { runExtract } from "../lib/io/extract.ts";
import { detectSdsTriggers, TRIGGER_DEFAULTS, triggerDefaults } from "../lib/io/sds_triggers.ts";
import { kaiser, spectrogram } from "../lib/signal/stft.ts";
import { Rng } from "../lib/util/rng.ts";
import { type BenchFigure, writeBenchResults } from "./_results.ts";

const RUNS = 3;
/** Event waveforms per class (5 classes). */
const PER_CLASS = 200;
const THREADS = navigator.hardwareConcurrency;

/** Median of `runs` timings of `f` (ms), after one untimed run. */
async function medianMs(f: () => Promise<unknown> | unknown, runs = RUNS): Promise<number> {
  await f();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    ms.push(performance.now() - t0);
  }
  return ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)];
}

const root = await Deno.makeTempDir({ prefix: "seisdec-frontend-" });
const figures: BenchFigure[] = [];
try {
  // Events: 200 per class, 110 s each (enough that the workers' start-up, about half a second,
  // is a small part).
  const nEvents = await writeSynth(join(root, "events"), { perClass: PER_CLASS, seed: 1 });
  const events = await readExtractConfig(join(root, "events", "extract.json"));
  const g = spectrogramGeometry(events);

  // The STFT of one sample's trace (the crop plus half a window each side).
  const n = Math.round((events.spectrogram.before + events.spectrogram.after) * g.samplingRate) +
    g.nperseg;
  const rng = new Rng(2);
  const x = Float64Array.from({ length: n }, () => rng.normal());
  const window = kaiser(g.nperseg, events.spectrogram.beta);
  const stft = () =>
    spectrogram(x, g.samplingRate, {
      nperseg: g.nperseg,
      noverlap: g.noverlap,
      nfft: g.nfft,
      window,
    });
  const stftMs = await medianMs(() => {
    for (let i = 0; i < 100; i++) stft();
  }) / 100;
  Deno.bench({ name: "stft (one sample)", group: "front end", fn: () => void stft() });
  figures.push({
    name: "stft",
    shape: `${n} samples at ${g.samplingRate} Hz → [${g.nFreqs}, ${g.nTimes}]`,
    value: 1000 / stftMs,
    unit: "spectrograms/s",
    extra: { ms: stftMs },
  });

  // Whole extractions of the 200 events.
  let run = 0;
  for (const workers of ["auto", 0] as const) {
    const ms = await medianMs(() =>
      runExtract({ ...events, workers }, join(root, `ds${run++}`), { quiet: true })
    );
    figures.push({
      name: `extract events (workers ${workers})`,
      shape: `${nEvents} × Z, [1, ${g.nFreqs}, ${g.nTimes}]`,
      value: nEvents / (ms / 1000),
      unit: "samples/s",
      extra: { ms, threads: THREADS },
    });
  }

  // A day of continuous data at 2 stations.
  const sum = await writeSynthContinuous(join(root, "day"), { hours: 24, stations: 2, seed: 3 });
  const day = await readExtractConfig(join(root, "day", "extract.json"));
  const inp = day.input as { dir: string; windows: { step: number | null; trigger: unknown } };
  const spec = triggerDefaults(TRIGGER_DEFAULTS, day.spectrogram);
  const codes: [string, string, string, string] = ["SY", "S0000", "00", "HHZ"];
  let found = 0;
  const detectMs = await medianMs(async () => {
    found = (await detectSdsTriggers(inp.dir, codes, sum.start, sum.end, spec, day.gapTolerance))
      .detections.length;
  });
  const cache = { dir: join(root, "cache"), write: true };
  await detectSdsTriggers(inp.dir, codes, sum.start, sum.end, spec, day.gapTolerance, { cache });
  const cachedMs = await medianMs(() =>
    detectSdsTriggers(inp.dir, codes, sum.start, sum.end, spec, day.gapTolerance, { cache })
  );
  const rate = `${codes.join(".")}, 100 Hz, 24 h`;
  figures.push({
    name: "detect",
    shape: rate,
    value: detectMs / 1000,
    unit: "s per channel-day",
    extra: { triggers: found },
  });
  figures.push({
    name: "detect (kept days)",
    shape: rate,
    value: cachedMs / 1000,
    unit: "s per channel-day",
  });
  inp.windows.step = null;
  inp.windows.trigger = TRIGGER_DEFAULTS;
  let samples = 0;
  const triggerMs = await medianMs(async () => {
    samples = (await runExtract(day, join(root, `ds${run++}`), { quiet: true })).total;
  }, 1);
  figures.push({
    name: "extract triggers (workers auto)",
    shape: `2 channels × 24 h, ${samples} triggers`,
    value: samples / (triggerMs / 1000),
    unit: "samples/s",
    extra: { ms: triggerMs, threads: THREADS, channelDaysPerSecond: 2 / (triggerMs / 1000) },
  });
} finally {
  await Deno.remove(root, { recursive: true });
}

const width = Math.max(...figures.map((f) => f.name.length));
console.log(`\nseisdec front end on ${THREADS} CPU thread(s), Deno ${Deno.version.deno}`);
for (const f of figures) {
  console.log(
    `${f.name.padEnd(width)}  ${f.value.toPrecision(4).padStart(9)} ${f.unit}  (${f.shape})`,
  );
}
const path = await writeBenchResults("frontend", figures, {
  adapter: { description: `cpu ${THREADS} threads` },
});
console.log(`wrote ${path}`);
