import { assert, assertClose, assertEquals, assertThrows } from "../_assert.ts";
import { MemoryDataset } from "../../lib/cluster/data.ts";
import {
  clockName,
  clusterMeansPng,
  clusterMembers,
  clusterProfiles,
  clusterSpectraPng,
  examplesPng,
  hourOfDayPng,
  memberCaption,
  type ProfileDataset,
  profilesCsv,
  psdUnit,
  referenceName,
  spectrogramTileAxes,
  stationMapPng,
  timelinePng,
  valueLabel,
} from "../../lib/cluster/summary.ts";
import { lineChart, MARK_COLOR } from "../../lib/plot/charts.ts";
import { formatProfiles } from "../../lib/cli/cluster.ts";
import { categoryColor, viridis } from "../../lib/plot/colors.ts";
import { countColor, countLineInTiles, decodePng, findText } from "../plot/_decode_png.ts";

// 5 samples of [C=2, F=3, T=2]; sample i holds value (i + 1) * (e + 1) at element e, so every
// mean is a hand-computable multiple of (e + 1).
const C = 2, F = 3, T = 2, per = C * F * T;
function fixture(times: string[]): ProfileDataset {
  const data = new Float32Array(5 * per);
  for (let i = 0; i < 5; i++) for (let e = 0; e < per; e++) data[i * per + e] = (i + 1) * (e + 1);
  const mem = new MemoryDataset(data, [C, F, T]);
  const stations = ["XX.A", "XX.A", "XX.B", "YY.A", "XX.C"];
  return {
    count: 5,
    sampleShape: [C, F, T],
    readBatch: (idx, norm) => mem.readBatch(idx, norm),
    freqs: new Float64Array([1, 2.5, 4]),
    times: new Float64Array([-1, 1]),
    samples: stations.map((ns, i) => ({
      id: `s${i}`,
      label: null,
      network: ns.split(".")[0],
      station: ns.split(".")[1],
      referenceTime: times[i],
    })),
  };
}
const TIMES = [
  "2024-03-01T23:30:00Z", // hour 23 UTC
  "2024-03-02T05:10:00Z", // hour 5
  "not a time",
  "2024-03-05T12:00:00.250Z", // hour 12
  "2024-03-03T00:59:59Z", // hour 0
];
const LABELS = new Int32Array([1, 1, 0, 1, 0]);
// Soft assignments over 3 clusters (cluster 2 stays empty); the row maxima are
// 0.8, 0.6, 0.9, 0.7 and 0.55.
const Q3 = new Float32Array([
  ...[0.2, 0.8, 0],
  ...[0.4, 0.6, 0],
  ...[0.9, 0.1, 0],
  ...[0.3, 0.7, 0],
  ...[0.55, 0.45, 0],
]);

Deno.test("clusterProfiles: means, peak frequency, confidence, stations and hours, streamed in batches", () => {
  // Batches of 2 split the 5 samples unevenly (2, 2, 1).
  const read: number[] = [];
  const p = clusterProfiles(fixture(TIMES), LABELS, 3, Q3, "none", {
    batch: 2,
    onBatch: (m) => void read.push(m),
  });
  // Every batch is reported (cluster's progress bar over this pass).
  assertEquals(read, [2, 2, 1]);
  assertEquals(p.map((x) => x.size), [2, 3, 0]);
  // Cluster 0 = samples 2 and 4 (factors 3 and 5): mean factor 4; cluster 1 = 0, 1, 3: (1+2+4)/3.
  for (let e = 0; e < per; e++) {
    assertEquals(p[0].meanSpectrogram[e], 4 * (e + 1));
    assert(Math.abs(p[1].meanSpectrogram[e] - (7 / 3) * (e + 1)) < 1e-12, `cluster 1 [${e}]`);
  }
  assert(p[2].meanSpectrogram.every(Number.isNaN), "an empty cluster's mean is NaN");
  // Spectrum of cluster 0 at row f: mean over c, t of 4 * ((c*F + f)*T + t + 1).
  for (let f = 0; f < F; f++) {
    let s = 0;
    for (let c = 0; c < C; c++) for (let t = 0; t < T; t++) s += 4 * ((c * F + f) * T + t + 1);
    assertEquals(p[0].meanSpectrum[f], s / (C * T));
  }
  // Values grow with row and column, so the peak is the last frequency (Hz) at the last time (s).
  assertEquals([p[0].peakFrequency, p[1].peakFrequency, p[2].peakFrequency], [4, 4, null]);
  assertEquals([p[0].peakTime, p[1].peakTime, p[2].peakTime], [1, 1, null]);
  assert(Math.abs(p[0].meanConfidence! - (0.9 + 0.55) / 2) < 1e-7, String(p[0].meanConfidence));
  assert(Math.abs(p[1].meanConfidence! - (0.8 + 0.6 + 0.7) / 3) < 1e-7);
  assertEquals(p[2].meanConfidence, null);
  // Stations by NET.STA: cluster 1 has XX.A twice and YY.A.
  assertEquals(p.map((x) => x.stations), [2, 2, 0]);
  // Sample 2's time is not a date: it counts in the means but not in the times.
  assertEquals([p[0].firstTime, p[0].lastTime], [
    "2024-03-03T00:59:59.000Z",
    "2024-03-03T00:59:59.000Z",
  ]);
  assertEquals([p[1].firstTime, p[1].lastTime], [
    "2024-03-01T23:30:00.000Z",
    "2024-03-05T12:00:00.250Z",
  ]);
  const nonzero = (h: number[]) => h.flatMap((v, i) => (v ? [`${i}:${v}`] : []));
  assertEquals(nonzero(p[0].hours), ["0:1"]);
  assertEquals(nonzero(p[1].hours), ["5:1", "12:1", "23:1"]);
});

Deno.test("clusterProfiles: the UTC offset shifts the hours, wrapping both ways", () => {
  const east = clusterProfiles(fixture(TIMES), LABELS, 2, null, "none", { utcOffset: 2 });
  const nz = (h: number[]) => h.flatMap((v, i) => (v ? [i] : []));
  assertEquals(nz(east[1].hours), [1, 7, 14]); // 23 + 2 wraps to 1
  const west = clusterProfiles(fixture(TIMES), LABELS, 2, null, "none", { utcOffset: -5.5 });
  assertEquals(nz(west[0].hours), [19]); // 00:59 UTC − 5.5 h = 19:29
  assertEquals(nz(west[1].hours), [6, 18, 23]); // 12:00 → 06:30, 23:30 → 18:00, 05:10 → 23:40
});

Deno.test("clusterProfiles: local mean solar time shifts each sample by its station's longitude / 15 h; a sample without one is left out of the hours", () => {
  const ds = fixture(TIMES);
  // Samples 0..4 at 30° E (+2 h), 82.5° W (−5.5 h), 0°, no longitude, 180° E (+12 h).
  const lons = [30, -82.5, 0, undefined, 180];
  const solar = {
    ...ds,
    samples: ds.samples!.map((x, i) => ({ ...x, longitude: lons[i] })),
  };
  const p = clusterProfiles(solar, LABELS, 2, null, "none", { utcOffset: "solar" });
  const nz = (h: number[]) => h.flatMap((v, i) => (v ? [i] : []));
  // Cluster 0 = samples 2 (time no date) and 4 (00:59 UTC + 12 h = 12:59).
  assertEquals(nz(p[0].hours), [12]);
  // Cluster 1 = 0 (23:30 + 2 h = 01:30), 1 (05:10 − 5.5 h = 23:40), 3 (no longitude: left out).
  assertEquals(nz(p[1].hours), [1, 23]);
  assertEquals(clockName("solar"), "local mean solar time");
  assertEquals([clockName(0), clockName(2), clockName(-5.5)], ["UTC", "UTC+2", "UTC-5.5"]);
});

Deno.test("clusterProfiles: normalisation applies per sample, as the model saw the data", () => {
  const p = clusterProfiles(fixture(TIMES), LABELS, 2, null, "maxabs");
  // maxabs divides sample i by (i + 1) * per: every normalised sample is (e + 1) / per.
  for (let e = 0; e < per; e++) assert(Math.abs(p[0].meanSpectrogram[e] - (e + 1) / per) < 1e-7);
});

Deno.test("clusterProfiles: bad labels, q and offsets are refused with what was expected", () => {
  const ds = fixture(TIMES);
  assertThrows(
    () => clusterProfiles(ds, new Int32Array([0, 1, 2, 0, 0]), 2, null, "none"),
    RangeError,
    "sample 2 has label 2: expected an integer in [0, 2)",
  );
  assertThrows(
    () => clusterProfiles(ds, new Int32Array(4), 2, null, "none"),
    RangeError,
    "expected 5 labels",
  );
  assertThrows(
    () => clusterProfiles(ds, LABELS, 2, new Float32Array(9), "none"),
    RangeError,
    "expected q of 5×2 values: found 9",
  );
  assertThrows(
    () => clusterProfiles(ds, LABELS, 2, null, "none", { utcOffset: 15 }),
    RangeError,
    "[-12, 14] hours: found 15",
  );
});

Deno.test("profilesCsv: one row per cluster, empty fields where a figure is unknown", () => {
  const ds = fixture(TIMES);
  // S − P on samples 0, 1 and 3 (cluster 1: median of 2.5, 4 and 30) and none in cluster 0.
  const sp = [2.5, 30, undefined, 4, undefined];
  const withSp = { ...ds, samples: ds.samples!.map((x, i) => ({ ...x, sMinusP: sp[i] })) };
  const p = clusterProfiles(withSp, LABELS, 3, Q3, "none");
  assertEquals(p.map((x) => x.medianSMinusP), [null, 4, null]);
  assertEquals(profilesCsv(p).split("\n"), [
    "cluster,size,mean_confidence,peak_frequency_hz,peak_time_s,first_time,last_time,stations,peak_hour,median_s_minus_p,peak_snr_db,mean_margin",
    // mean_margin: cluster 0's members win by 0.8 and 0.1, cluster 1's by 0.6, 0.2 and 0.4.
    "0,2,0.725000,4,1,2024-03-03T00:59:59.000Z,2024-03-03T00:59:59.000Z,2,0,,,0.450000",
    "1,3,0.700000,4,1,2024-03-01T23:30:00.000Z,2024-03-05T12:00:00.250Z,2,5,4,,0.400000",
    "2,0,,,,,,0,,,,",
    "",
  ]);
  // An even count: the mean of the middle two.
  const two = {
    ...ds,
    samples: ds.samples!.map((x, i) => ({ ...x, sMinusP: [1, 2, 3, 4, 5][i] })),
  };
  assertEquals(clusterProfiles(two, LABELS, 2, null, "none").map((x) => x.medianSMinusP), [4, 2]);
  // The text table shows the column only where some cluster has an S − P.
  assert(formatProfiles(p).split("\n")[0].endsWith("busiest hour  S-P s"), formatProfiles(p));
  assert(formatProfiles(p).split("\n")[2].endsWith("  4.00"), formatProfiles(p));
  const plain = formatProfiles(clusterProfiles(ds, LABELS, 3, Q3, "none"));
  assert(plain.split("\n")[0].endsWith("busiest hour"), plain);
});

Deno.test("profiles of a dataset whose axes are bin indices give a row and a column, not Hz and s", () => {
  // An imported array: freqs/times hold 0, 1, ... and axesInBins says so.
  const ds = {
    ...fixture(TIMES),
    freqs: new Float64Array([0, 1, 2]),
    times: new Float64Array([0, 1]),
  };
  const p = clusterProfiles({ ...ds, axesInBins: true }, LABELS, 3, Q3, "none");
  // The mean spectrogram peaks at the last element: row F - 1, column T - 1.
  assertEquals([p[0].peakFrequency, p[0].peakTime], [F - 1, T - 1]);
  const csv = profilesCsv(p, true).split("\n");
  assertEquals(
    csv[0],
    "cluster,size,mean_confidence,peak_row,peak_column,first_time,last_time,stations,peak_hour,median_s_minus_p,peak_snr_db,mean_margin",
  );
  assertEquals(csv[1].split(",").slice(3, 5), ["2", "1"]);
  // Physical axes keep their Hz and s columns.
  assert(
    profilesCsv(clusterProfiles(fixture(TIMES), LABELS, 3, Q3, "none")).includes(
      "peak_frequency_hz",
    ),
  );
});

Deno.test("cluster plots: means per cluster and component, spectra, hours, timeline", () => {
  const ds = fixture(TIMES);
  const p = clusterProfiles(ds, LABELS, 2, null, "none");
  const means = decodePng(
    clusterMeansPng(p, [C, F, T], { components: ["Z", "N"], freqs: ds.freqs, times: ds.times }),
  );
  // Two components side by side: 2 tiles of 180 plus gaps and the row labels.
  assert(means.width > 2 * 180 && means.height > 2 * 135, `${means.width}×${means.height}`);
  const spectra = decodePng(clusterSpectraPng(p, ds.freqs, "none"));
  assert(countColor(spectra.rgba, categoryColor(0)) > 50, "cluster 0's spectrum drawn");
  assert(countColor(spectra.rgba, categoryColor(1)) > 50, "cluster 1's spectrum drawn");
  assert(hourOfDayPng(p, 0) !== null);
  const line = timelinePng(ds, LABELS, 2);
  assert(line !== null && countColor(decodePng(line).rgba, categoryColor(1)) > 0);
  // Without reference times there is no hour-of-day or timeline figure.
  const untimed = fixture(TIMES.map(() => ""));
  const pu = clusterProfiles(untimed, LABELS, 2, null, "none");
  assertEquals(hourOfDayPng(pu, 0), null);
  assertEquals(timelinePng(untimed, LABELS, 2), null);
  assertEquals(pu[0].hours.reduce((a, b) => a + b, 0), 0);
});

Deno.test("cluster_means.png: Hz and s axes, a line at the reference time and a labelled colour bar", () => {
  const ds = fixture(TIMES);
  const p = clusterProfiles(ds, LABELS, 2, null, "minmax");
  const value = valueLabel("db", "(m/s)^2/Hz", "minmax");
  assertEquals(value, "PSD (dB re 1 (m/s)^2/Hz), min-max scaled per sample");
  const png = (times: Float64Array | undefined, freqs = ds.freqs) =>
    decodePng(
      clusterMeansPng(p, [C, F, T], {
        components: ["Z", "N"],
        freqs,
        times,
        normalize: "minmax",
        valueLabel: value,
      }),
    );
  const d = png(ds.times);
  assertEquals(findText(d, "frequency (Hz)", { rotate: true }).length, 1);
  assertEquals(findText(d, "time from the reference time (s); dashed line: t = 0").length, 1);
  assertEquals(findText(d, `cluster mean of ${value}`).length, 1);
  // What t = 0 is, where the dataset's config says it.
  const picked = decodePng(
    clusterMeansPng(p, [C, F, T], {
      freqs: ds.freqs,
      times: ds.times,
      reference: referenceName({ input: { format: "sds", phase: "p" } }),
    }),
  );
  assertEquals(findText(picked, "time from the P pick (s); dashed line: t = 0").length, 1);
  // Frequency ticks (1 to 4 Hz) left of the first column of tiles only: one per grid row.
  assertEquals(findText(d, "4.0").length, 2);
  // The window [-1, 1] s holds t = 0: a dashed line across all 4 tiles (135 px = 19 dashes of
  // 4 on 3 off, then 2 px).
  assertEquals(countLineInTiles(d, MARK_COLOR), 4 * (19 * 4 + 2));
  // A window after the reference time has no line; without axes (an imported array's bins) the
  // tiles name rows and columns and draw no line.
  assertEquals(countLineInTiles(png(new Float64Array([1, 3])), MARK_COLOR), 0);
  const bins = png(undefined, undefined);
  assertEquals(findText(bins, "row (bin)", { rotate: true }).length, 1);
  assertEquals(findText(bins, "column (bin)").length, 1);
  assertEquals(findText(bins, "frequency (Hz)", { rotate: true }).length, 0);
  assertEquals(countLineInTiles(bins, MARK_COLOR), 0);
});

Deno.test("valueLabel and psdUnit name the values with their unit and normalisation", () => {
  const cfg = (remove: boolean, output: string) => ({
    preprocess: { response: { remove, output } },
  });
  assertEquals(psdUnit(cfg(true, "VEL")), "(m/s)^2/Hz");
  assertEquals(psdUnit(cfg(true, "DISP")), "m^2/Hz");
  assertEquals(psdUnit(cfg(true, "ACC")), "(m/s^2)^2/Hz");
  assertEquals(psdUnit(cfg(false, "VEL")), "counts^2/Hz");
  assertEquals(psdUnit({ import: { source: "x.npy" } }), null);
  assertEquals(psdUnit(null), null);
  assertEquals(valueLabel("psd", "counts^2/Hz", "none"), "PSD (counts^2/Hz)");
  assertEquals(
    valueLabel("log10", "(m/s)^2/Hz", "maxabs"),
    "log10 PSD (PSD in (m/s)^2/Hz), divided by each sample's max |value|",
  );
  assertEquals(valueLabel("db", null, "l2"), "PSD (dB), divided by each sample's L2 norm");
  assertEquals(valueLabel("none", null, "none"), "value");
});

Deno.test("hour_of_day.png labels its colour bar and timeline.png its x axis in calendar dates", () => {
  const ds = fixture(TIMES);
  const p = clusterProfiles(ds, LABELS, 2, null, "none");
  const hours = decodePng(hourOfDayPng(p, 0)!);
  assertEquals(findText(hours, "% of the cluster's records", { rotate: true }).length, 1);
  // In % (cluster 0's 2 timed samples share hour 0): the bar's top tick is 100.
  assertEquals(findText(hours, "100").length, 1);
  const line = decodePng(timelinePng(ds, LABELS, 2)!);
  assertEquals(findText(line, "reference time (UTC)", { scale: 2 }).length, 1);
  // 2024-03-01 23:30 to 03-05 12:00: one tick per day.
  for (const day of ["2024-03-02", "2024-03-03", "2024-03-04", "2024-03-05"]) {
    assertEquals(findText(line, day).length, 1, day);
  }
  assertEquals(findText(line, "days since", { scale: 2 }).length, 0);
});

Deno.test("examplesPng shows every component of multi-component samples, one row each", () => {
  // Component Z is 0 and N is 1 everywhere: on one colour scale, Z tiles are viridis(0) and N
  // tiles viridis(1), so a figure of the first component alone has no viridis(1) at all.
  const fx = fixture(TIMES);
  const data = new Float32Array(5 * per);
  for (let i = 0; i < 5; i++) data.fill(1, i * per + F * T, (i + 1) * per);
  const mem = new MemoryDataset(data, [C, F, T]);
  const ds = { ...fx, readBatch: (idx: ArrayLike<number>) => mem.readBatch(idx) };
  const png = examplesPng(ds, LABELS, 2, Q3.filter((_, e) => e % 3 < 2), "none", {
    components: ["Z", "N"],
    freqs: fx.freqs,
    times: fx.times,
    perCluster: 3,
  });
  const d = decodePng(png);
  assertEquals(
    findText(d, "Most confident members per cluster, components Z, N", { scale: 2 })
      .length,
    1,
  );
  // Clusters 0 (2 members) and 1 (3), one row per component, named after the cluster.
  for (const row of ["cluster 0 (2) Z", "cluster 0 (2) N", "cluster 1 (3) Z", "cluster 1 (3) N"]) {
    assertEquals(findText(d, row).length, 1, row);
  }
  const z = countColor(d.rgba, viridis(0)), n = countColor(d.rgba, viridis(1));
  // 5 tiles of each component, 120 × 90 pixels each, less the dashed line at t = 0.
  assert(z > 5 * 120 * 80 && n > 5 * 120 * 80, `Z pixels ${z}, N pixels ${n}`);
  // Each tile names its sample: the members of both components' rows.
  assertEquals(findText(d, "s2").length, 2);
  // A single component: one row per cluster, no component in its name.
  const mono = new MemoryDataset(new Float32Array(5 * F * T), [1, F, T]);
  const one = decodePng(
    examplesPng(
      { ...ds, sampleShape: [1, F, T], readBatch: (idx) => mono.readBatch(idx) },
      LABELS,
      2,
      null,
      "none",
    ),
  );
  assertEquals(findText(one, "cluster 0 (2)").length, 1);
  assertEquals(findText(one, "Most confident members per cluster", { scale: 2 }).length, 1);
  assert(one.height < d.height);
});

Deno.test("clusterProfiles: the peak is that of the sum over components, not of the first", () => {
  // One sample [C=2, F=3, T=2]: component 0 peaks at row 0, column 0 (value 1); component 1
  // at row 2, column 1 (value 5), which dominates the sum.
  const data = new Float32Array(per);
  data[0 * T + 0] = 1;
  data[(1 * F + 2) * T + 1] = 5;
  const mem = new MemoryDataset(data, [C, F, T]);
  const ds: ProfileDataset = {
    count: 1,
    sampleShape: [C, F, T],
    readBatch: (idx, norm) => mem.readBatch(idx, norm),
    freqs: new Float64Array([1, 2.5, 4]),
    times: new Float64Array([-1, 1]),
  };
  const [p] = clusterProfiles(ds, new Int32Array([0]), 1, null, "none");
  assertEquals([p.peakFrequency, p.peakTime], [4, 1]);
});

Deno.test("profiles of a PSD dataset give absolute levels in dB and the peak frequency by signal-to-noise, not by the per-sample normalised values", () => {
  // Two clusters of [1, 3, 4] dB spectrograms, times -2, -1, 1, 2 s: cluster 0 (noise) is loud
  // and flat (60 dB everywhere); cluster 1 (an event) is quiet (20 dB) with +30 dB after t = 0
  // at 5 Hz only. Normalised per sample (minmax), the flat noise reads 0 and the event's rows
  // 1 Hz and 9 Hz read 0 too: only levels and the SNR tell the two apart as they are.
  const F3 = 3,
    T4 = 4,
    freqs = new Float64Array([1, 5, 9]),
    times = new Float64Array([-2, -1, 1, 2]);
  const noise = new Float32Array(F3 * T4).fill(60);
  const event = new Float32Array(F3 * T4).fill(20);
  for (const t of [2, 3]) event[1 * T4 + t] = 50;
  const x = new Float32Array([...noise, ...event, ...event]);
  const base = new MemoryDataset(x, [1, F3, T4]);
  const ds = Object.assign(base, { freqs, times });
  const labels = Int32Array.of(0, 1, 1);
  const p = clusterProfiles(ds, labels, 2, null, "minmax", { scaling: "db" });
  assertEquals(Array.from(p[0].levelSpectrum!), [60, 60, 60]);
  assertEquals(Array.from(p[1].levelSpectrum!), [20, 35, 20]);
  assertEquals(Array.from(p[1].snrSpectrum!), [0, 30, 0]);
  assertEquals([p[1].peakFrequency, p[1].peakTime, p[1].peakSnr], [5, 1, 30]);
  // A short burst counts at its peak, not diluted over the window: +30 dB at 2 s only.
  const burst = new Float32Array(F3 * T4).fill(20);
  burst[1 * T4 + 3] = 50;
  const b = clusterProfiles(
    Object.assign(new MemoryDataset(burst, [1, F3, T4]), { freqs, times }),
    Int32Array.of(0),
    1,
    null,
    "none",
    { scaling: "db" },
  );
  assertEquals([b[0].peakFrequency, b[0].peakTime, b[0].peakSnr], [5, 2, 30]);
  assertEquals(p[0].peakSnr, 0);
  // A PSD dataset gives the same levels from 10^(dB/10); without a physical scaling, none.
  const psd = new MemoryDataset(x.map((v) => 10 ** (v / 10)), [1, F3, T4]);
  const q = clusterProfiles(Object.assign(psd, { freqs, times }), labels, 2, null, "maxabs", {
    scaling: "psd",
  });
  assertClose(Array.from(q[1].levelSpectrum!), [20, 35, 20], 1e-9, 1e-9, "psd levels");
  // A log10 PSD dataset (bels) gives the same levels and SNR in dB (×10).
  const bels = new MemoryDataset(x.map((v) => v / 10), [1, F3, T4]);
  const l = clusterProfiles(Object.assign(bels, { freqs, times }), labels, 2, null, "none", {
    scaling: "log10",
  });
  assertClose(Array.from(l[1].levelSpectrum!), [20, 35, 20], 1e-5, 1e-6, "log10 levels");
  assertClose([l[1].peakSnr!], [30], 1e-5, 1e-6, "log10 peak SNR");
  // A flat spectrum's peak is its first frequency (the first of ties).
  assertEquals(p[0].peakFrequency, 1);
  const none = clusterProfiles(ds, labels, 2, null, "minmax", { scaling: "none" });
  assertEquals([none[1].levelSpectrum, none[1].snrSpectrum, none[1].peakSnr], [null, null, null]);
  assert(profilesCsv(p).split("\n")[2].endsWith(",30,"), profilesCsv(p));
  // cluster_spectra.png draws the levels, labelled in dB with the unit.
  const png = decodePng(clusterSpectraPng(p, freqs, "minmax", "(m/s)^2/Hz"));
  assertEquals(png.width > 0, true);
});

Deno.test("referenceName says what t = 0 is, by the dataset's input", () => {
  const of = (input: unknown) => referenceName({ input });
  assertEquals(
    [
      of({ format: "sds", phase: "S" }),
      of({ format: "sds", windows: { trigger: {} } }),
      of({ format: "sds", windows: {} }),
      of({ format: "esec" }),
      of({ format: "npz" }),
      of({ format: "manifest", picks: "q.xml" }),
      of({ format: "manifest", picks: null }),
      referenceName({ import: {} }),
    ],
    [
      "the S pick",
      "the trigger onset",
      "the window's time",
      "the catalogue time",
      "the P pick",
      "the manifest's time or P pick",
      "the manifest's reference time",
      "the reference time",
    ],
  );
});

Deno.test("clusterMembers puts one member per event (or station and time) first, so a figure's first tiles are distinct records", () => {
  // Cluster 0: an event's three channels at one station are the most confident, then another
  // event, then a record without an event.
  const s = (event: string | undefined, station: string, channel: string, time: string) => ({
    id: `${event}.${station}.${channel}`,
    label: null,
    network: "CH",
    station,
    channel,
    referenceTime: time,
    ...(event ? { event } : {}),
  });
  const T1 = "2020-01-01T00:00:00.000Z", T2 = "2020-02-01T00:00:00.000Z";
  const samples = [
    s("e1", "A", "BHZ", T1),
    s("e1", "A", "BHN", T1),
    s("e1", "A", "BHE", T1),
    s("e2", "B", "BHZ", T2),
    s(undefined, "C", "BHZ", T2),
    s(undefined, "C", "BHN", T2),
  ];
  const k = 2, labels = new Int32Array(6);
  const q = new Float32Array([0.99, 0.01, 0.98, 0.02, 0.97, 0.03, 0.9, 0.1, 0.8, 0.2, 0.7, 0.3]);
  assertEquals(clusterMembers(labels, k, q, 0), [0, 1, 2, 3, 4, 5]);
  assertEquals(clusterMembers(labels, k, q, 0, samples), [0, 3, 4, 1, 2, 5]);
});

Deno.test("hours count an event once per cluster, however many of its traces; hour_of_day.png leaves hours without data blank, not 0 %", () => {
  // Cluster 0: one event's 4 traces at 10 UTC and 1 sample at 17 UTC; cluster 1 at 17 UTC.
  const at = (h: number) => `2024-01-01T${String(h).padStart(2, "0")}:30:00.000Z`;
  const samples = [
    ...[0, 1, 2, 3].map((i) => ({ id: `e${i}`, label: null, referenceTime: at(10), event: "ev" })),
    { id: "s", label: null, referenceTime: at(17) },
    { id: "t", label: null, referenceTime: at(17) },
  ];
  const ds = Object.assign(new MemoryDataset(new Float32Array(6), [1, 1, 1]), { samples });
  const p = clusterProfiles(ds, Int32Array.of(0, 0, 0, 0, 0, 1), 2, null, "none");
  assertEquals([p[0].hours[10], p[0].hours[17], p[1].hours[17]], [1, 1, 1]);
  const png = decodePng(hourOfDayPng(p, 0)!);
  assertEquals(
    findText(png, "hour (UTC); blank: no record of any cluster in that hour", { scale: 2 }).length,
    1,
  );
  // What is counted, in the title and the rows: events (cluster 0: one event and one sample).
  assert(p[0].hoursByEvent);
  assertEquals(findText(png, "cluster 0 (2 events)").length, 1);
  assertEquals(
    findText(png, "Share of each cluster's events per hour of day (UTC)", { scale: 2 }).length,
    1,
  );
});

Deno.test("stationMapPng counts each station's samples per cluster, leaving out samples without coordinates, and draws nothing for fewer than two stations", () => {
  const ds = fixture(["", "", "", "", ""]);
  // XX.A twice, XX.B, YY.A (another network's A) and XX.C, which has no coordinates.
  const at: [number, number][] = [[46, 7], [46, 7], [46.5, 8], [45, 6], [NaN, NaN]];
  const samples = ds.samples!.map((s, i) => ({ ...s, latitude: at[i][0], longitude: at[i][1] }));
  const labels = new Int32Array([0, 1, 1, 0, 1]);
  const svg = new TextDecoder().decode(
    stationMapPng({ ...ds, samples }, labels, 2, "svg")!,
  );
  assert(svg.includes("(3 stations, 4 samples; 1 without coordinates left out)"), svg);
  for (const name of ["XX.A", "XX.B", "YY.A"]) assert(svg.includes(`>${name}</text>`), name);
  assert(svg.includes(">cluster 0 (2)</text>") && svg.includes(">cluster 1 (2)</text>"), svg);
  // XX.A's bar: one sample in each cluster, 15 px each.
  const bars = [
    ...svg.matchAll(/<rect x="\d+" y="\d+" width="(\d+)" height="8" fill="(#[0-9a-f]{6})"/g),
  ]
    .map((m) => Number(m[1]));
  assertEquals(bars, [15, 15, 30, 30]);
  // One station with coordinates: no map.
  const one = samples.map((s, i) => (i === 2 || i === 3 ? { ...s, latitude: NaN } : s));
  assertEquals(stationMapPng({ ...ds, samples: one }, labels, 2), null);
  assertEquals(stationMapPng(ds, labels, 2), null);
});

Deno.test("clusterProfiles takes the ends of the offset range, and bins a time before 1970 in [0, 24)", () => {
  const ds = fixture(TIMES);
  const nz = (h: number[]) => h.flatMap((v, i) => (v ? [i] : []));
  // 00:59 UTC + 14 h = 14:59; − 12 h = 12:59 the day before.
  assertEquals(nz(clusterProfiles(ds, LABELS, 2, null, "none", { utcOffset: 14 })[0].hours), [14]);
  assertEquals(nz(clusterProfiles(ds, LABELS, 2, null, "none", { utcOffset: -12 })[0].hours), [12]);
  // 1969-12-31 22:30 UTC is 1.5 h before the epoch: hour 22, not a negative bin.
  const old = fixture(["1969-12-31T22:30:00Z", "", "", "", ""]);
  const p = clusterProfiles(old, LABELS, 2, null, "none");
  assertEquals(p[1].hours.length, 24);
  assertEquals(nz(p[1].hours), [22]);
  assertEquals(p[1].hours[22], 1);
});

Deno.test("clusterProfiles leaves a non-finite S − P out of the median, and counts an event once in each cluster that holds it", () => {
  const ds = fixture(TIMES);
  // Cluster 1 = samples 0, 1, 3: S − P NaN (an unreadable samples.csv field), 3 and 5.
  const sp = [NaN, 3, undefined, 5, undefined];
  const withSp = { ...ds, samples: ds.samples!.map((x, i) => ({ ...x, sMinusP: sp[i] })) };
  assertEquals(
    clusterProfiles(withSp, LABELS, 2, null, "none").map((x) => x.medianSMinusP),
    [null, 4],
  );
  // One event's traces split between two clusters: each cluster counts it once, at 10 UTC.
  const at = "2024-01-01T10:30:00.000Z";
  const samples = [0, 1, 2].map((i) => ({
    id: `e${i}`,
    label: null,
    referenceTime: at,
    event: "ev",
  }));
  const three = Object.assign(new MemoryDataset(new Float32Array(3), [1, 1, 1]), { samples });
  const p = clusterProfiles(three, Int32Array.of(0, 1, 1), 2, null, "none");
  assertEquals([p[0].hours[10], p[1].hours[10]], [1, 1]);
  assertEquals(p.map((x) => x.hours.reduce((a, b) => a + b, 0)), [1, 1]);
});

Deno.test("clusterProfiles: the normalised peak is the first of ties, at the first frequency and time", () => {
  const flat = new MemoryDataset(new Float32Array(2 * F * T).fill(3), [2, F, T]);
  const ds = Object.assign(flat, {
    freqs: new Float64Array([1, 2.5, 4]),
    times: new Float64Array([-1, 1]),
  });
  const [p] = clusterProfiles(ds, Int32Array.of(0), 1, null, "none");
  assertEquals([p.peakFrequency, p.peakTime], [1, -1]);
});

Deno.test("dB levels: the peak frequency by SNR and its own peak time, levels averaged over components, t = 0 after the reference, a PSD of 0 floored", () => {
  const freqs = new Float64Array([1, 5, 9]), times = new Float64Array([-2, -1, 1, 2]);
  const db = (x: number[], shape: [number, number, number], t = times) =>
    clusterProfiles(
      Object.assign(new MemoryDataset(Float32Array.from(x), shape), { freqs, times: t }),
      new Int32Array(x.length / (shape[0] * shape[1] * shape[2])),
      1,
      null,
      "none",
      { scaling: "db" },
    )[0];
  // 1 Hz: loud and flat (SNR 0); 5 Hz: +30 dB at 2 s; 9 Hz: +25 dB at 1 s, the loudest time of
  // all frequencies together. The peak is 5 Hz (largest SNR, not the loudest level, 1 Hz), at
  // 2 s (its own peak, not the loudest time over all frequencies).
  const p = db([...[60, 60, 60, 60], ...[20, 20, 20, 50], ...[40, 40, 65, 20]], [1, 3, 4]);
  assertEquals(Array.from(p.snrSpectrum!), [0, 30, 25]);
  assertEquals([p.peakFrequency, p.peakTime, p.peakSnr], [5, 2, 30]);
  // Two components at 20 and 40 dB: the level is their mean, 30 dB.
  const two = db([...new Array(12).fill(20), ...new Array(12).fill(40)], [2, 3, 4]);
  assertEquals(Array.from(two.levelSpectrum!), [30, 30, 30]);
  // Every time before the reference: no SNR, and the peak is the loudest level.
  const pre = db(
    [...[20, 20, 20, 20], ...[30, 30, 30, 30], ...[20, 20, 20, 20]],
    [1, 3, 4],
    Float64Array.of(-4, -3, -2, -1),
  );
  assertEquals([pre.snrSpectrum, pre.peakSnr, pre.peakFrequency], [null, null, 5]);
  // t = 0 is after the reference: its 50 dB is the signal, the 20 dB at −1 s the noise.
  const zero = db([20, 50, 20], [1, 1, 3], Float64Array.of(-1, 0, 1));
  assertEquals([zero.snrSpectrum![0], zero.peakTime], [30, 0]);
  // A PSD value of 0 is floored at 1e-30 (−300 dB), not −∞.
  const psd = clusterProfiles(
    Object.assign(new MemoryDataset(Float32Array.of(0, 1), [1, 1, 2]), {
      freqs: Float64Array.of(1),
      times: Float64Array.of(1, 2),
    }),
    Int32Array.of(0),
    1,
    null,
    "none",
    { scaling: "psd" },
  )[0];
  assertEquals(Array.from(psd.levelSpectrum!), [-150]);
});

Deno.test("profilesCsv writes peak SNR to 2 decimals and S − P, peaks to 6 significant digits", () => {
  const [p] = clusterProfiles(fixture(TIMES), LABELS, 2, null, "none");
  const row = profilesCsv([{
    ...p,
    peakFrequency: 2.718281828,
    peakTime: -1.23456789,
    peakSnr: 12.3456,
    medianSMinusP: 3.14159265,
  }]).split("\n")[1].split(",");
  assertEquals([row[3], row[4], row[9], row[10]], ["2.71828", "-1.23457", "3.14159", "12.35"]);
});

Deno.test("spectrogramTileAxes: bins span 0 to F − 1 and 0 to T − 1, physical axes their first and last values", () => {
  assertEquals(spectrogramTileAxes([1, 3, 4], {}), {
    yAxis: { extent: [0, 2], label: "row (bin)" },
    xAxis: { extent: [0, 3], label: "column (bin)" },
  });
  const a = spectrogramTileAxes([1, 3, 2], {
    freqs: Float64Array.of(1, 2.5, 4),
    times: Float64Array.of(-1, 1),
    reference: "the P pick",
  });
  assertEquals(a.yAxis.extent, [1, 4]);
  assertEquals(a.xAxis, {
    extent: [-1, 1],
    label: "time from the P pick (s); dashed line: t = 0",
    marks: [0],
  });
});

Deno.test("cluster_means.png puts up to 5 clusters in one row, then 4 per row", () => {
  const one = new MemoryDataset(new Float32Array(5 * F * T), [1, F, T]);
  const q = clusterProfiles(
    { ...fixture(TIMES), sampleShape: [1, F, T], readBatch: (idx) => one.readBatch(idx) },
    new Int32Array(5),
    1,
    null,
    "none",
  )[0];
  const width = (k: number) =>
    decodePng(
      clusterMeansPng(Array.from({ length: k }, (_, c) => ({ ...q, cluster: c })), [1, F, T]),
    )
      .width;
  // A tile is 180 pixels wide with a gap of 10: 5 clusters make one row of 5, 6 clusters rows of 4.
  assertEquals(width(5) - width(6), 190);
  assertEquals(width(6), width(8));
});

Deno.test("clusterMembers tells records apart by station and time: the same station at another time is another record", () => {
  const s = (channel: string, time: string) => ({
    id: `${channel}.${time}`,
    label: null,
    network: "CH",
    station: "C",
    channel,
    referenceTime: time,
  });
  const T1 = "2020-01-01T00:00:00.000Z", T2 = "2020-02-01T00:00:00.000Z";
  const samples = [s("BHZ", T1), s("BHN", T1), s("BHZ", T2)];
  const q = new Float32Array([0.9, 0.8, 0.7]);
  assertEquals(clusterMembers(new Int32Array(3), 1, q, 0, samples), [0, 2, 1]);
});

Deno.test("memberCaption: q to 2 decimals below 0.995, 1.0 from it; a sample without a station by its id and label", () => {
  const s = {
    id: "x",
    label: null,
    network: "XX",
    station: "A",
    channel: "HHZ",
    referenceTime: "2024-01-01T02:03:04.500Z",
  };
  assertEquals(memberCaption(s, 0.992), "XX.A.HHZ\n01-01 02:03:04 q.99");
  assertEquals(memberCaption(s, 0.995), "XX.A.HHZ\n01-01 02:03:04 q1.0");
  assertEquals(memberCaption(s, null), "XX.A.HHZ\n01-01 02:03:04");
  assertEquals(memberCaption({ id: "sample 7", label: "quarry" }, 0.5), "sample 7\nquarry");
  assertEquals(memberCaption({ id: "sample 8", label: null }, 0.5), "sample 8\n");
});

Deno.test("examplesPng shows 6 members per cluster by default", () => {
  const one = new MemoryDataset(new Float32Array(5 * F * T).map((_, e) => e), [1, F, T]);
  const ds = {
    ...fixture(TIMES),
    sampleShape: [1, F, T] as [number, number, number],
    readBatch: (idx: ArrayLike<number>) => one.readBatch(idx),
  };
  const png = examplesPng(ds, LABELS, 2, null, "none");
  assertEquals(png, examplesPng(ds, LABELS, 2, null, "none", { perCluster: 6 }));
  assert(
    decodePng(png).width >
      decodePng(examplesPng(ds, LABELS, 2, null, "none", { perCluster: 5 })).width,
  );
});

Deno.test("cluster_spectra.png draws each non-empty cluster's spectrum against frequency in Hz", () => {
  const ds = fixture(TIMES);
  // Cluster 2 is empty: no line and no legend entry for it.
  const p = clusterProfiles(ds, LABELS, 3, null, "none");
  const series = p.slice(0, 2).map((x) => ({
    name: `cluster ${x.cluster} (${x.size})`,
    x: [1, 2.5, 4],
    y: Array.from(x.meanSpectrum),
  }));
  assertEquals(
    clusterSpectraPng(p, ds.freqs, "none", null, "svg"),
    lineChart(series, {
      format: "svg",
      title: "Mean spectrum per cluster",
      xLabel: "frequency (Hz)",
      yLabel: "mean value (none, per sample)",
    }),
  );
});

Deno.test("hour_of_day.png: shares on a scale from 0 %, hours no cluster covers left blank (grey)", () => {
  // One cluster: 1 record at 03 UTC and 3 at 05 UTC, 25 % and 75 %; no other hour covered.
  const at = (h: number) => `2024-01-01T${String(h).padStart(2, "0")}:30:00.000Z`;
  const samples = [3, 5, 5, 5].map((h, i) => ({ id: `s${i}`, label: null, referenceTime: at(h) }));
  const ds = Object.assign(new MemoryDataset(new Float32Array(4), [1, 1, 1]), { samples });
  const p = clusterProfiles(ds, new Int32Array(4), 1, null, "none");
  const png = decodePng(hourOfDayPng(p, 0)!);
  // 25 % on a 0-75 % scale is a third of the way up viridis (a whole cell, not only the bar).
  assert(countColor(png.rgba, viridis(25 / 75)) > 1000, "hour 3 at a third of the scale");
  // The 22 hours without a record are NaN: grey, far more than a cell.
  assert(countColor(png.rgba, [128, 128, 128]) > 10 * countColor(png.rgba, viridis(1)));
});

Deno.test("timeline.png needs two timed samples and jitters each dot within ±0.3 of its cluster's row", () => {
  assertEquals(timelinePng(fixture(["2024-01-01T00:00:00Z", "", "", "", ""]), LABELS, 2), null);
  // Six samples a day apart, clusters 0 and 1 in turn: dots on both sides of both rows.
  const samples = [0, 1, 2, 3, 4, 5].map((d) => ({
    id: `s${d}`,
    label: null,
    referenceTime: `2024-03-0${d + 1}T12:00:00.000Z`,
  }));
  const ds = Object.assign(new MemoryDataset(new Float32Array(6), [1, 1, 1]), { samples });
  const svg = new TextDecoder().decode(timelinePng(ds, Int32Array.of(0, 1, 0, 1, 0, 1), 2, "svg")!);
  // The y ticks 0 and 1 (right-aligned, centred on their pixel row: the text's y is 4 below it).
  const tickY = (v: string) => {
    const m = [...svg.matchAll(/<text x="[\d.]+" y="([\d.]+)"[^>]*>([^<]*)<\/text>/g)]
      .filter((m) => m[2] === v);
    assertEquals(m.length, 1, v);
    return Number(m[0][1]) - 4;
  };
  const y0 = tickY("0"), y1 = tickY("1");
  const hex = (c: readonly number[]) =>
    "#" + c.map((v) => v.toString(16).padStart(2, "0")).join("");
  // The dots (translucent; the legend's are opaque).
  const jitter: number[] = [];
  for (
    const m of svg.matchAll(
      /<circle cx="[\d.]+" cy="([\d.]+)" r="[\d.]+" fill="(#[0-9a-f]{6})" fill-opacity/g,
    )
  ) {
    const g = m[2] === hex(categoryColor(0)) ? 0 : m[2] === hex(categoryColor(1)) ? 1 : NaN;
    jitter.push((Number(m[1]) - 0.5 - y0) / (y1 - y0) - g);
  }
  // The golden-ratio sequence's first six, 0.6 · (frac(i · 0.618) − 0.5): within ±0.3.
  assertClose(
    jitter.sort((a, b) => a - b),
    [-0.3, -0.2459, -0.1584, -0.0167, 0.0708, 0.2125],
    0.01,
    0,
    "jitter",
  );
});

Deno.test("hour_of_day.png names samples or events as counted, one event singular, and grows 34 px a cluster", () => {
  const svgOf = (b: Uint8Array | null) => new TextDecoder().decode(b!);
  const ds = fixture(TIMES);
  const plain = svgOf(hourOfDayPng(clusterProfiles(ds, LABELS, 2, null, "none"), 0, "svg"));
  // The apostrophe escaped.
  assert(
    plain.includes(">Share of each cluster&#39;s samples per hour of day (UTC)</text>"),
    plain,
  );
  assert(plain.includes(">cluster 0 (1)</text>") && plain.includes(">cluster 1 (3)</text>"), plain);
  // Cluster 0's samples name one event; cluster 1's none.
  const ev = {
    ...ds,
    samples: ds.samples!.map((x, i) => ({ ...x, event: i === 4 ? "e" : undefined })),
  };
  const events = svgOf(hourOfDayPng(clusterProfiles(ev, LABELS, 2, null, "none"), 0, "svg"));
  assert(events.includes(">cluster 0 (1 event)</text>"), events);
  assert(events.includes(">cluster 1 (3 events)</text>"), events);
  // 10 clusters: 80 + 34 · 10 pixels tall.
  const ten = clusterProfiles(ds, LABELS, 10, null, "none");
  assertEquals(decodePng(hourOfDayPng(ten, 0)!).height, 420);
});

Deno.test("cluster figures name components and units: tiles by component, the level axis with its PSD unit", () => {
  const ds = fixture(TIMES);
  const p = clusterProfiles(ds, LABELS, 2, null, "none");
  const means = new TextDecoder().decode(
    clusterMeansPng(p, [C, F, T], { components: ["Z", "N"], format: "svg" }),
  );
  assertEquals([...means.matchAll(/>Z<\/text>/g)].length, 2);
  assertEquals([...means.matchAll(/>N<\/text>/g)].length, 2);
  const db = clusterProfiles(ds, LABELS, 2, null, "none", { scaling: "db" });
  const spectra = new TextDecoder().decode(
    clusterSpectraPng(db, ds.freqs, "none", "m^2/Hz", "svg"),
  );
  assert(spectra.includes(">mean PSD (dB re 1 m^2/Hz)</text>"), spectra);
});

Deno.test("stationMapPng leaves out a sample with a latitude but no longitude, and clusterProfiles refuses q longer than n × k", () => {
  const ds = fixture(["", "", "", "", ""]);
  const at: [number, number][] = [[46, 7], [46, 7], [46.5, 8], [45, NaN], [44, 9]];
  const samples = ds.samples!.map((s, i) => ({ ...s, latitude: at[i][0], longitude: at[i][1] }));
  const svg = new TextDecoder().decode(stationMapPng({ ...ds, samples }, LABELS, 2, "svg")!);
  assert(svg.includes("(3 stations, 4 samples; 1 without coordinates left out)"), svg);
  assertThrows(
    () => clusterProfiles(ds, LABELS, 2, new Float32Array(11), "none"),
    RangeError,
    "expected q of 5×2 values: found 11",
  );
});

Deno.test("figure texts: member captions with q, empty member tiles blank, component rows named by cluster, the timeline's cluster count, hours 0 to 23", () => {
  const ds = fixture(TIMES);
  const q = Q3.filter((_, e) => e % 3 < 2);
  // Cluster 0 has 2 members: of 3 tiles, the third is empty (NaN: grey), 120 × 90 pixels.
  const one = new MemoryDataset(new Float32Array(5 * F * T).map((_, e) => e % 5), [1, F, T]);
  const mono = {
    ...ds,
    sampleShape: [1, F, T] as [number, number, number],
    readBatch: (idx: ArrayLike<number>) => one.readBatch(idx),
  };
  const png = decodePng(examplesPng(mono, LABELS, 2, q, "none", { perCluster: 3 }));
  assertEquals(countColor(png.rgba, [128, 128, 128]), 120 * 90);
  const ex = new TextDecoder().decode(
    examplesPng(mono, LABELS, 2, q, "none", { perCluster: 3, format: "svg" }),
  );
  // Sample 2, cluster 0's most confident (q 0.9), has no valid time: its id, then its q.
  assert(ex.includes(">s2 q.90</text>"), ex);
  const p = clusterProfiles(ds, LABELS, 2, null, "none");
  const means = new TextDecoder().decode(
    clusterMeansPng(p, [C, F, T], { components: ["Z", "N"], format: "svg" }),
  );
  assert(means.includes(">cluster 0 (2)</text>") && means.includes(">cluster 1 (3)</text>"), means);
  const line = new TextDecoder().decode(timelinePng(ds, LABELS, 2, "svg")!);
  assert(line.includes(">Samples over time by cluster (2 clusters)</text>"), line);
  const hours = new TextDecoder().decode(hourOfDayPng(p, 0, "svg")!);
  assert(
    hours.includes(">0</text>") && hours.includes(">23</text>") && !hours.includes(">24</text>"),
  );
});

Deno.test("timeline.png shows every cluster's row from 0 to k − 1, also where no dot reaches its number", () => {
  // Two samples, both in cluster 3 of 4, jittered to 2.7 and 3.07: the data's own range would
  // tick 3 alone (or nothing at all).
  const samples = [0, 1].map((d) => ({
    id: `s${d}`,
    label: null,
    referenceTime: `2024-03-0${d + 1}T12:00:00.000Z`,
  }));
  const ds = Object.assign(new MemoryDataset(new Float32Array(2), [1, 1, 1]), { samples });
  const svg = new TextDecoder().decode(timelinePng(ds, Int32Array.of(3, 3), 4, "svg")!);
  // The y ticks: the texts that are whole numbers (the x axis's are times and dates).
  const ticks = [...svg.matchAll(/<text x="[\d.]+" y="([\d.]+)"[^>]*>(\d+)<\/text>/g)]
    .map((m) => [m[2], Number(m[1])] as const);
  assertEquals(ticks.map((t) => t[0]), ["0", "1", "2", "3"]);
  // Evenly spaced, 0 at the bottom.
  const gaps = ticks.slice(1).map((t, i) => ticks[i][1] - t[1]);
  assert(gaps.every((g) => Math.abs(g - gaps[0]) <= 1 && g > 50), JSON.stringify(ticks));
});
