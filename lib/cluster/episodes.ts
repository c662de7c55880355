/**
 * Episodes of windows of continuous data: consecutive windows of one channel in one cluster,
 * merged into one span of time (a tremor episode, a stretch of noise, an event seen by several
 * overlapping windows), as `cluster` writes them to `episodes.csv` for a dataset of SDS windows.
 *
 * @module
 */
import { formatCsv } from "../io/csv.ts";
import { compareText } from "../util/names.ts";

/** One episode: a run of consecutive windows of one channel in one cluster. */
export interface Episode {
  /** The cluster. */
  cluster: number;
  /** SEED network code of the channel. */
  network: string;
  /** SEED station code. */
  station: string;
  /** SEED location code. */
  location: string;
  /** SEED channel code. */
  channel: string;
  /** Start of the first window's crop, ms since 1970 UTC. */
  start: number;
  /** End of the last window's crop, ms. */
  end: number;
  /** Windows in the run. */
  windows: number;
  /** Mean of the windows' confidences (max q), or null without q. */
  confidence: number | null;
}

/** A window's identity and time, as `samples.csv` gives them. */
export interface WindowSample {
  /** SEED network code. */
  network: string;
  /** SEED station code. */
  station: string;
  /** SEED location code. */
  location: string;
  /** SEED channel code. */
  channel: string;
  /** Reference time, ISO 8601. */
  referenceTime: string | null;
}

/**
 * Merges windows into episodes: per channel, by time, a window whose reference time is one
 * `step` after the previous one's (to 1 ms) and in the same cluster extends its episode; a
 * missing window (a failure, a gap) or another cluster starts a new one.
 *
 * @param samples The windows (any order).
 * @param labels Cluster of each.
 * @param k Number of clusters (the row length of `q`).
 * @param q Soft assignments `[N, k]`, or null.
 * @param stepMs Time from one window to the next, ms.
 * @param crop Seconds cropped before and after each reference time.
 * @returns the episodes, by start, then channel.
 * @example
 * ```ts
 * import { windowEpisodes } from "./episodes.ts";
 * const w = (t: number) => ({
 *   network: "XX", station: "A", location: "", channel: "HHZ",
 *   referenceTime: new Date(t * 1000).toISOString(),
 * });
 * const e = windowEpisodes([w(0), w(10), w(20), w(40)], Int32Array.from([1, 1, 0, 0]), 2, null,
 *   10_000, [0, 10]);
 * if (e.map((x) => `${x.cluster}:${x.windows}`).join() !== "1:2,0:1,0:1") throw new Error();
 * ```
 */
export function windowEpisodes(
  samples: readonly WindowSample[],
  labels: Int32Array,
  k: number,
  q: Float32Array | null,
  stepMs: number,
  crop: readonly [number, number],
): Episode[] {
  const byChannel = new Map<string, { i: number; t: number }[]>();
  samples.forEach((s, i) => {
    const t = Date.parse(s.referenceTime ?? "");
    if (!Number.isFinite(t)) return;
    const key = `${s.network}.${s.station}.${s.location}.${s.channel}`;
    let list = byChannel.get(key);
    if (!list) byChannel.set(key, list = []);
    list.push({ i, t });
  });
  const conf = (i: number) => {
    if (!q) return 0;
    let m = 0;
    for (let j = 0; j < k; j++) m = Math.max(m, q[i * k + j]);
    return m;
  };
  const out: Episode[] = [];
  for (const list of byChannel.values()) {
    list.sort((a, b) => a.t - b.t);
    let run: { first: number; last: number; n: number; sum: number; i: number } | null = null;
    const close = () => {
      if (!run) return;
      const s = samples[run.i];
      out.push({
        cluster: labels[run.i],
        network: s.network,
        station: s.station,
        location: s.location,
        channel: s.channel,
        start: run.first - crop[0] * 1000,
        end: run.last + crop[1] * 1000,
        windows: run.n,
        confidence: q ? run.sum / run.n : null,
      });
    };
    for (const { i, t } of list) {
      if (run && labels[i] === labels[run.i] && Math.abs(t - run.last - stepMs) <= 1) {
        run.last = t;
        run.n++;
        run.sum += conf(i);
      } else {
        close();
        run = { first: t, last: t, n: 1, sum: conf(i), i };
      }
    }
    close();
  }
  const id = (e: Episode) => `${e.network}.${e.station}.${e.location}.${e.channel}`;
  return out.sort((a, b) => a.start - b.start || compareText(id(a), id(b)));
}

/**
 * Episodes as CSV: `cluster,network,station,location,channel,start,end,duration_s,windows,
 * mean_confidence`, times in ISO 8601.
 *
 * @param episodes From {@linkcode windowEpisodes}.
 * @returns the CSV text.
 */
export function episodesCsv(episodes: readonly Episode[]): string {
  return formatCsv([
    [
      "cluster",
      "network",
      "station",
      "location",
      "channel",
      "start",
      "end",
      "duration_s",
      "windows",
      "mean_confidence",
    ],
    ...episodes.map((e) => [
      e.cluster,
      e.network,
      e.station,
      e.location,
      e.channel,
      new Date(e.start).toISOString(),
      new Date(e.end).toISOString(),
      ((e.end - e.start) / 1000).toFixed(3),
      e.windows,
      e.confidence === null ? "" : e.confidence.toFixed(6),
    ]),
  ]);
}
