/**
 * The waveforms behind the spectrograms of each cluster's most confident members: rebuilt from
 * the dataset's extract input (the config in `meta.json`, the ids in `samples.csv`) for the few
 * members `examples.png` shows, and drawn as `example_waveforms.png`. Seismologists judge a
 * cluster by its seismograms as much as by its spectrograms.
 *
 * @module
 */
import type { Dataset } from "../io/dataset.ts";
import { parseExtractConfig } from "../io/extract_config.ts";
import { type InspectedSample, type InspectFailure, inspectSamples } from "../io/extract.ts";
import { type FigureFormat, traceGrid } from "../plot/mod.ts";
import { UserError } from "../util/errors.ts";
import { clusterMembers, memberCaption } from "./summary.ts";

/** One member of a cluster, with its rebuilt waveform or why it could not be rebuilt. */
export interface MemberWaveform {
  /** The sample's index in the dataset. */
  index: number;
  /** The sample as `extract --inspect` gives it, or why it could not be rebuilt. */
  sample: InspectedSample | InspectFailure;
}

/** What {@linkcode memberWaveforms} rebuilt. */
export interface MemberWaveforms {
  /** Per cluster: its size and its first members, most confident first. */
  clusters: { cluster: number; size: number; members: MemberWaveform[] }[];
  /** Units of the waveforms: `m`, `m/s`, `m/s**2` or `counts` (no response removal). */
  units: string;
  /** The span of the spectrogram's time axis (its first and last frame centres), s. */
  window: [number, number];
  /** The members that could not be rebuilt. */
  failures: InspectFailure[];
}

/**
 * Rebuilds the preprocessed waveforms (response removed, resampled, band-passed, tapered: what
 * the STFT read) of each cluster's first `per` members, most confident first as in
 * `examples.png`, from the extract input recorded in the dataset's `meta.json`. The task list
 * is built once and only these samples are read. A member whose files are gone, or whose input
 * no longer gives the spectrogram stored in the dataset (files changed since), is listed in
 * `failures`.
 *
 * @param ds The dataset.
 * @param labels Cluster of each sample.
 * @param k Number of clusters.
 * @param q Soft assignments `[N, k]`, to rank members by confidence; null: dataset order.
 * @param per Members per cluster (default 6).
 * @returns the waveforms, or `{ skipped }` saying why none can be rebuilt (a dataset from
 *   `import`, an input that moved or cannot be read, no member rebuilt).
 */
export async function memberWaveforms(
  ds: Dataset,
  labels: Int32Array,
  k: number,
  q: Float32Array | null,
  per = 6,
): Promise<MemberWaveforms | { skipped: string }> {
  if (ds.axesInBins) {
    return { skipped: "the dataset was imported from arrays, so it has no waveforms to rebuild" };
  }
  let config;
  try {
    config = parseExtractConfig(ds.meta.config, `${ds.dir}/meta.json config`);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    // Not made by extract, or by a version whose settings no longer read (a waterLevel of 0).
    return { skipped: `the dataset's extract config does not read as one (${e.message})` };
  }
  const chosen = Array.from({ length: k }, (_, j) => clusterMembers(labels, k, q, j, ds.samples));
  const indices = chosen.flatMap((m) => m.slice(0, per));
  let rebuilt: (InspectedSample | InspectFailure)[];
  try {
    rebuilt = await inspectSamples(config, indices.map((i) => ds.samples[i].id), {
      dataset: ds.dir,
    });
  } catch (e) {
    if (!(e instanceof UserError || e instanceof Deno.errors.NotFound)) throw e;
    return {
      skipped: `its extract input cannot be read (moved or deleted since extract?): ${
        (e as Error).message
      }`,
    };
  }
  const [C, F, T] = ds.sampleShape;
  const stored = ds.readBatch(indices, "none");
  const failures: InspectFailure[] = [];
  const byIndex = new Map<number, MemberWaveform["sample"]>();
  indices.forEach((i, m) => {
    let r = rebuilt[m];
    if (!("reason" in r)) {
      const changed = spectrogramChange(
        r.spectrogram,
        stored.subarray(m * C * F * T, (m + 1) * C * F * T),
      );
      if (changed) r = { id: r.info.id, reason: "changed", message: changed };
    }
    if ("reason" in r) failures.push(r);
    byIndex.set(i, r);
  });
  if (failures.length === indices.length) {
    const f = failures[0];
    return {
      skipped: `none of the ${indices.length} members could be rebuilt from its extract input ` +
        `(moved or changed since extract?), e.g. ${f.id}: ${f.reason}: ${f.message}`,
    };
  }
  const ok = [...byIndex.values()].find((r): r is InspectedSample => !("reason" in r))!;
  return {
    clusters: chosen.map((m, j) => ({
      cluster: j,
      size: m.length,
      members: m.slice(0, per).map((index) => ({ index, sample: byIndex.get(index)! })),
    })),
    units: ok.units,
    window: [ds.times[0], ds.times[T - 1]],
    failures,
  };
}

/**
 * Why a rebuilt spectrogram is not the one stored, or null when it is (within 1e-4 of the
 * stored values' largest magnitude: the same code on the same input gives the same float32).
 */
function spectrogramChange(rebuilt: Float32Array, stored: Float32Array): string | null {
  let top = 0, worst = 0, at = 0;
  for (const v of stored) top = Math.max(top, Math.abs(v));
  for (let i = 0; i < stored.length; i++) {
    const d = Math.abs(rebuilt[i] - stored[i]);
    if (!(d <= worst)) [worst, at] = [d, i];
  }
  if (rebuilt.length === stored.length && worst <= 1e-4 * top) return null;
  return rebuilt.length !== stored.length
    ? `its input now gives ${rebuilt.length} spectrogram values, the dataset holds ${stored.length}`
    : `its input no longer gives the dataset's spectrogram (differs by ${
      worst.toPrecision(3)
    } at element ${at}): its files changed since extract`;
}

/** The axis label of waveforms in `units`. */
function amplitudeLabel(units: string): string {
  const quantity: Record<string, string> = {
    m: "displacement (m)",
    "m/s": "velocity (m/s)",
    "m/s**2": "acceleration (m/s**2)",
    counts: "counts (response not removed)",
  };
  return quantity[units] ?? units;
}

/**
 * `example_waveforms.png`: the waveforms of {@linkcode memberWaveforms}, laid out as
 * `examples.png` lays out their spectrograms (one grid row per cluster, or per cluster and
 * component; each panel captioned with the id, then the label or `NET.STA`), on a time axis in s
 * from the reference time with a dashed line at t = 0 and the half windows outside the
 * spectrogram's time axis shaded. Each panel is scaled to its own peak, printed in its corner.
 *
 * @param w From {@linkcode memberWaveforms}.
 * @param ds The dataset (its samples' labels and stations, its component names).
 * @param per Members per cluster (panels per row; default 6).
 * @param reference What t = 0 is, for the time axis (`referenceName`), e.g. "the P pick".
 * @param format "png" (default) or "svg".
 * @returns PNG (or SVG) bytes.
 */
export function memberWaveformsPng(
  w: MemberWaveforms,
  ds: Dataset,
  per = 6,
  reference = "the reference time",
  format: FigureFormat = "png",
): Uint8Array {
  const C = ds.sampleShape[0];
  const component = (c: number) => ds.meta.components[c] ?? `channel ${c}`;
  const panels = [];
  const rowLabels = [];
  for (const cl of w.clusters) {
    for (let c = 0; c < C; c++) {
      rowLabels.push(`cluster ${cl.cluster} (${cl.size})${C > 1 ? ` ${component(c)}` : ""}`);
      for (let m = 0; m < per; m++) {
        const member = cl.members[m];
        if (!member) {
          panels.push(null);
          continue;
        }
        const s = ds.samples[member.index];
        const r = member.sample;
        if ("reason" in r) {
          panels.push({
            x: new Float64Array(),
            y: new Float64Array(),
            label: `${s.id}\n(${r.reason})`,
          });
          continue;
        }
        panels.push({
          x: r.waveformTimes,
          y: r.waveform[c],
          label: memberCaption(s, null),
        });
      }
    }
  }
  // components "channel": each sample is one channel of its own, named in its caption.
  const names = ds.meta.components.join() === "channel"
    ? ", each its own channel"
    : `, component${C > 1 ? "s" : ""} ${
      Array.from({ length: C }, (_, c) => component(c)).join(", ")
    }`;
  return traceGrid(panels, per, {
    format,
    title: `Waveforms of the most confident members per cluster${names}`,
    rowLabels,
    xLabel: `time from ${reference} (s); dashed line: t = 0; ` +
      "grey: half windows outside the spectrogram's time axis",
    yLabel: `${amplitudeLabel(w.units)}, each panel scaled to its peak`,
    marks: [0],
    window: w.window,
  });
}
