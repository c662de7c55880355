/**
 * Network events from STA/LTA triggers: the triggers of several stations that start within
 * seconds of one another are one event (association by chaining), and the clusters of its
 * samples vote on the event's class, as `cluster` writes them to `events.csv` for a dataset of
 * SDS triggers (`extract --trigger`). One station's sample may be noisy or clipped; the network's
 * majority is the better label.
 *
 * @module
 */
import { formatCsv } from "../io/csv.ts";
import { formatQuakeMl, isoExact } from "../io/quakeml.ts";
import { sampleTime } from "../io/manifest.ts";
import { windowStamp } from "../io/sds_windows.ts";

/** A trigger's station and onset. */
export interface TriggerOnset {
  /** SEED network code. */
  network: string;
  /** SEED station code. */
  station: string;
  /** Onset (the sample's reference time), ms since 1970 UTC. */
  time: number;
  /**
   * The channel it triggered on (`NET.STA.LOC.CHA`), or undefined: a channel triggers once per
   * event, so its next trigger starts a new one.
   */
  channel?: string;
}

/** One associated event. */
export interface NetworkEvent {
  /**
   * `E` and the first onset, e.g. `E20240101T092242.290Z`; an event whose first onset rounds to
   * the same millisecond as an earlier one's adds `-2`, `-3`, ... (only with a window under
   * 1 ms, or one channel triggering twice within it).
   */
  id: string;
  /** First onset, ms since 1970 UTC. */
  start: number;
  /** Last onset, ms. */
  end: number;
  /** Indices of its triggers, by onset. */
  members: number[];
  /** Distinct `NET.STA` among them. */
  stations: number;
}

/**
 * Associates triggers into events by chaining: sorted by onset, a trigger that starts within
 * `window` seconds of the previous one (at any station) joins its event; a longer pause starts
 * a new event, and so does a trigger on a channel that has one in the event already (in a swarm
 * or an aftershock sequence, events closer than the window stay apart as long as the channels
 * trigger once per event). A NaN time (no onset) makes no event.
 *
 * @param onsets The triggers.
 * @param window Seconds between consecutive onsets of one event.
 * @returns the events by start, and each trigger's event index (-1 for none).
 * @example
 * ```ts
 * import { associateTriggers } from "./events.ts";
 * const { events, eventOf } = associateTriggers([
 *   { network: "XX", station: "A", time: 0 },
 *   { network: "XX", station: "B", time: 3_000 },
 *   { network: "XX", station: "A", time: 60_000 },
 *   { network: "XX", station: "A", time: 65_000, channel: "XX.A..HHZ" },
 *   { network: "XX", station: "A", time: 70_000, channel: "XX.A..HHZ" },
 * ], 10);
 * if (events.length !== 3 || eventOf.join() !== "0,0,1,1,2" || events[0].stations !== 2) {
 *   throw new Error();
 * }
 * ```
 */
export function associateTriggers(
  onsets: readonly TriggerOnset[],
  window: number,
): { events: NetworkEvent[]; eventOf: Int32Array } {
  const order = onsets.map((_, i) => i).filter((i) => Number.isFinite(onsets[i].time))
    .sort((a, b) => onsets[a].time - onsets[b].time || a - b);
  const eventOf = new Int32Array(onsets.length).fill(-1);
  const events: NetworkEvent[] = [];
  // The channels of the last event.
  let channels = new Set<string>();
  // How many events each rounded stamp has named, so that ids stay unique.
  const stamps = new Map<string, number>();
  for (const i of order) {
    const { time: t, channel } = onsets[i], last = events.at(-1);
    if (last && t - last.end <= window * 1000 && !(channel && channels.has(channel))) {
      last.members.push(i);
      last.end = t;
    } else {
      const stamp = `E${windowStamp(t)}`, seen = (stamps.get(stamp) ?? 0) + 1;
      stamps.set(stamp, seen);
      const id = seen === 1 ? stamp : `${stamp}-${seen}`;
      events.push({ id, start: t, end: t, members: [i], stations: 0 });
      channels = new Set();
    }
    if (channel) channels.add(channel);
    eventOf[i] = events.length - 1;
  }
  for (const e of events) {
    e.stations = new Set(e.members.map((i) => `${onsets[i].network}.${onsets[i].station}`)).size;
  }
  return { events, eventOf };
}

/**
 * Event-level truth and prediction from `events.csv` and the samples' classes: each event's
 * class is the most common among its labelled samples (ties: the first in sorted order), its
 * cluster the vote; events without a labelled sample have no class.
 *
 * @param events Rows of events.csv (`cluster` and `ids`).
 * @param classOf Each sample id's class, or null.
 * @returns per event, its cluster and its class.
 * @example
 * ```ts
 * import { eventTruth } from "./events.ts";
 * const r = eventTruth(
 *   [{ cluster: "1", ids: "a b c" }, { cluster: "0", ids: "d" }],
 *   new Map([["a", "quake"], ["b", "blast"], ["c", "quake"], ["d", null]]),
 * );
 * if (r.pred.join() !== "1,0" || r.truth.join() !== "quake,") throw new Error();
 * ```
 */
export function eventTruth(
  events: readonly { cluster: string; ids: string }[],
  classOf: ReadonlyMap<string, string | null>,
): { pred: Int32Array; truth: (string | null)[] } {
  const pred = Int32Array.from(events.map((e) => Number(e.cluster)));
  const truth = events.map((e) => {
    const n = new Map<string, number>();
    for (const id of e.ids.split(" ")) {
      const c = classOf.get(id);
      if (c) n.set(c, (n.get(c) ?? 0) + 1);
    }
    const best = [...n].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
    return best ? best[0] : null;
  });
  return { pred, truth };
}

/**
 * Groups triggers by given event ids (extract's `triggers.csv` column `event`), as
 * {@linkcode associateTriggers} would return them; a trigger without an id or time makes none.
 *
 * @param onsets The triggers.
 * @param ids Each trigger's event id, or undefined.
 * @returns the events by start, and each trigger's event index (-1 for none).
 */
export function eventsByIds(
  onsets: readonly TriggerOnset[],
  ids: readonly (string | undefined)[],
): { events: NetworkEvent[]; eventOf: Int32Array } {
  const byId = new Map<string, number[]>();
  onsets.forEach((o, i) => {
    const id = ids[i];
    if (id === undefined || !Number.isFinite(o.time)) return;
    if (!byId.has(id)) byId.set(id, []);
    byId.get(id)!.push(i);
  });
  const events: NetworkEvent[] = [...byId].map(([id, members]) => {
    members.sort((a, b) => onsets[a].time - onsets[b].time || a - b);
    return {
      id,
      start: onsets[members[0]].time,
      end: onsets[members.at(-1)!].time,
      members,
      stations: new Set(members.map((i) => `${onsets[i].network}.${onsets[i].station}`)).size,
    };
  }).sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : 1));
  const eventOf = new Int32Array(onsets.length).fill(-1);
  events.forEach((e, j) => e.members.forEach((i) => eventOf[i] = j));
  return { events, eventOf };
}

/** An event's vote: the cluster most of its samples fell in. */
export interface EventVote {
  /** The event. */
  event: NetworkEvent;
  /** Its samples. */
  samples: number;
  /** The winning cluster: most samples, then the larger summed q, then the lower index. */
  cluster: number;
  /** Share of its samples in that cluster. */
  agreement: number;
  /** Mean confidence (max q) of its samples, or null without q. */
  confidence: number | null;
  /** Samples per cluster, e.g. `{0: 3, 2: 1}`. */
  votes: Map<number, number>;
}

/**
 * The clusters' vote per event: each of its samples votes with its cluster.
 *
 * @param events From {@linkcode associateTriggers}, over the samples.
 * @param labels Cluster of each sample.
 * @param k Number of clusters (the row length of `q`).
 * @param q Soft assignments `[N, k]`, or null.
 * @returns one vote per event with samples, in the events' order.
 */
export function eventVotes(
  events: readonly NetworkEvent[],
  labels: Int32Array,
  k: number,
  q: Float32Array | null,
): EventVote[] {
  const out: EventVote[] = [];
  for (const event of events) {
    const votes = new Map<number, number>(), mass = new Map<number, number>();
    let conf = 0;
    for (const i of event.members) {
      const c = labels[i];
      votes.set(c, (votes.get(c) ?? 0) + 1);
      if (q) {
        mass.set(c, (mass.get(c) ?? 0) + q[i * k + c]);
        let m = 0;
        for (let j = 0; j < k; j++) m = Math.max(m, q[i * k + j]);
        conf += m;
      }
    }
    if (votes.size === 0) continue;
    const cluster = [...votes.keys()].sort((a, b) =>
      votes.get(b)! - votes.get(a)! || (mass.get(b) ?? 0) - (mass.get(a) ?? 0) || a - b
    )[0];
    const n = event.members.length;
    out.push({
      event,
      samples: n,
      cluster,
      agreement: votes.get(cluster)! / n,
      confidence: q ? conf / n : null,
      votes: new Map([...votes].sort((a, b) =>
        a[0] - b[0]
      )),
    });
  }
  return out;
}

/**
 * `events.csv`: `event,start,end,stations,samples,cluster,agreement,mean_confidence,votes,ids`,
 * one row per event (times ISO 8601 UTC; `votes` as `cluster:count` pairs, e.g. `0:3 2:1`;
 * `ids` its samples' ids, space-separated, by onset).
 *
 * @param votes From {@linkcode eventVotes}.
 * @param ids Each sample's id (the indices of the events' members).
 * @returns the CSV text.
 */
export function eventsCsv(votes: readonly EventVote[], ids: readonly string[]): string {
  return formatCsv([
    [
      "event",
      "start",
      "end",
      "stations",
      "samples",
      "cluster",
      "agreement",
      "mean_confidence",
      "votes",
      "ids",
    ],
    ...votes.map((v) => [
      v.event.id,
      isoExact(v.event.start),
      isoExact(v.event.end),
      v.event.stations,
      v.samples,
      v.cluster,
      v.agreement.toFixed(3),
      v.confidence === null ? "" : v.confidence.toFixed(6),
      [...v.votes].map(([c, n]) => `${c}:${n}`).join(" "),
      v.event.members.map((i) => ids[i]).join(" "),
    ]),
  ]);
}

/** A trigger's pick, as QuakeML writes it: the channel and the onset (ms since 1970 UTC). */
export interface TriggerPick {
  /** SEED network code. */
  network: string;
  /** SEED station code. */
  station: string;
  /** SEED location code. */
  location: string;
  /** SEED channel code. */
  channel: string;
  /** Onset, ms since 1970 UTC. */
  time: number;
}

/**
 * Associated events as QuakeML 1.2: one event each, without origin or type, with an automatic
 * pick per member, and a comment where `comment` gives one.
 *
 * @param events From {@linkcode associateTriggers} or {@linkcode eventsByIds}.
 * @param picks Each trigger's pick (the events' members index them).
 * @param comment The comment on event j, or none.
 * @param phase The picks' phase hint (default `P`; "" writes none).
 * @param options `extra`: event j's fields in seisdec's namespace; `picks: false` writes none.
 * @returns the XML text.
 */
export function eventsToQuakeMl(
  events: readonly NetworkEvent[],
  picks: readonly TriggerPick[],
  comment?: (j: number) => string,
  phase = "P",
  options: { extra?: (j: number) => Record<string, string | number>; picks?: boolean } = {},
): string {
  return formatQuakeMl(events.map((e, j) => ({
    id: e.id,
    type: null,
    origin: null,
    mode: "automatic" as const,
    ...(comment ? { comment: comment(j) } : {}),
    ...(options.extra ? { extra: options.extra(j) } : {}),
    picks: options.picks === false ? [] : e.members.map((i) => {
      const { network, station, location, channel, time } = picks[i];
      return { network, station, location, channel, phase, time };
    }),
  })));
}

/**
 * A catalogue's event id as the last part of a QuakeML public id may hold it: the part after
 * the last `/` or `=` (as sample ids shorten it), other characters than letters, digits and
 * `-._~*()'` as `_`.
 *
 * @param id The event id, e.g. `smi:local/event/2024abc` or `quakeml:us.anss.org/event=us7000`.
 * @returns e.g. `2024abc`, `us7000`.
 */
export function quakeMlIdPart(id: string): string {
  const last = id.split(/[/=]/).filter(Boolean).at(-1) ?? id;
  return last.replace(/[^\w\-.~*()']/g, "_") || "_";
}

/**
 * The events and their votes as QuakeML 1.2 (`events.xml`): one event per vote, without origin
 * or type, with an automatic pick per sample at its reference time where those are phase
 * arrivals (phase hint `options.phase`, default `P`; with "", a reference time that is not an
 * arrival, no picks), a comment naming the cluster, e.g.
 * `seisdec cluster 2 (agreement 0.667, votes 0:1 2:2)`, and the same in seisdec's namespace
 * (`<seisdec:cluster>2</seisdec:cluster>`, `agreement`, `samples`, `catalogueEvent`), for
 * ObsPy (the event's `extra`) or SeisComP.
 * With `catalogue`, the events are a catalogue's (samples.csv's `event` column): each is
 * written as `smi:seisdec/event/<last part of its id>` ({@linkcode quakeMlIdPart}; `_2`, `_3`
 * appended where two share it) and its
 * comment ends with `; catalogue event <id>`, so the class can be matched to the catalogue.
 *
 * @param votes From {@linkcode eventVotes}.
 * @param samples Each sample's codes and reference time (the events' members index them).
 * @param options `catalogue`: the events' ids are a catalogue's; `phase`: the picks' phase hint.
 * @returns the XML text.
 */
export function eventsQuakeMl(
  votes: readonly EventVote[],
  samples: readonly {
    network: string;
    station: string;
    location: string;
    channel: string;
    referenceTime: string;
  }[],
  options: { catalogue?: boolean; phase?: string } = {},
): string {
  const cat = options.catalogue === true, phase = options.phase ?? "P";
  // Two catalogue ids with the same last part get `_2`, `_3`, ...: public ids must be unique.
  const used = new Map<string, number>();
  const unique = (id: string) => {
    const n = (used.get(id) ?? 0) + 1;
    used.set(id, n);
    return n === 1 ? id : `${id}_${n}`;
  };
  return eventsToQuakeMl(
    votes.map((v) => cat ? { ...v.event, id: unique(quakeMlIdPart(v.event.id)) } : v.event),
    samples.map((x) => ({
      network: x.network,
      station: x.station,
      location: x.location,
      channel: x.channel,
      time: sampleTime(x.referenceTime),
    })),
    (j) =>
      `seisdec cluster ${votes[j].cluster} (agreement ${votes[j].agreement.toFixed(3)}, votes ${
        [...votes[j].votes].map(([c, n]) => `${c}:${n}`).join(" ")
      })` + (cat ? `; catalogue event ${votes[j].event.id}` : ""),
    phase,
    {
      extra: (j) => ({
        cluster: votes[j].cluster,
        agreement: votes[j].agreement.toFixed(3),
        samples: votes[j].event.members.length,
        ...(cat ? { catalogueEvent: votes[j].event.id } : {}),
      }),
      // Reference times that are not phase arrivals (a catalogue's start times, a manifest's
      // times) are not picks: a system loading the file would take them as arrivals.
      picks: phase !== "",
    },
  );
}
