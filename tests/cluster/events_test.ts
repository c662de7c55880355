import { assert, assertEquals } from "../_assert.ts";
import {
  associateTriggers,
  eventsByIds,
  eventsCsv,
  eventsQuakeMl,
  eventsToQuakeMl,
  eventTruth,
  eventVotes,
  quakeMlIdPart,
  type TriggerOnset,
} from "../../lib/cluster/events.ts";
import { catalogueEvents } from "../../lib/cli/cluster.ts";
import { readQuakeMl } from "../../lib/io/quakeml.ts";
import { parseCsvRecords } from "../../lib/io/csv.ts";
import { Rng } from "../../lib/util/rng.ts";

const T0 = Date.UTC(2024, 0, 1);
const at = (station: string, s: number): TriggerOnset => ({
  network: "XX",
  station,
  time: T0 + s * 1000,
});

Deno.test("associateTriggers chains onsets within the window into events, in any input order; equals a brute force's connected groups on random sets", () => {
  const onsets = [at("B", 103), at("A", 0), at("C", 108), at("A", 100), at("B", 4), at("A", 300)];
  const { events, eventOf } = associateTriggers(onsets, 5);
  assertEquals(events.map((e) => [e.id, e.members, e.stations]), [
    ["E20240101T000000Z", [1, 4], 2],
    ["E20240101T000140Z", [3, 0, 2], 3], // 100, 103 and 108: 108 is within 5 s of 103
    ["E20240101T000500Z", [5], 1],
  ]);
  assertEquals([...eventOf], [1, 0, 1, 1, 0, 2]);
  assertEquals(associateTriggers([{ ...at("A", 0), time: NaN }], 5).eventOf[0], -1);
  // Two onsets share an event when a chain of gaps of at most the window joins them.
  const rng = new Rng(8);
  for (let trial = 0; trial < 50; trial++) {
    const xs = Array.from({ length: 1 + rng.int(12) }, () => at(`S${rng.int(3)}`, rng.int(100)));
    const w = rng.int(15);
    const { eventOf: got } = associateTriggers(xs, w);
    const times = xs.map((x) => x.time).sort((a, b) => a - b);
    for (let i = 0; i < xs.length; i++) {
      for (let j = 0; j < xs.length; j++) {
        const [lo, hi] = [Math.min(xs[i].time, xs[j].time), Math.max(xs[i].time, xs[j].time)];
        const inside = times.filter((t) => t >= lo && t <= hi);
        const joined = inside.every((t, k) => k === 0 || t - inside[k - 1] <= w * 1000);
        assertEquals(got[i] === got[j], joined, JSON.stringify({ xs, w, i, j }));
      }
    }
  }
});

Deno.test("associateTriggers: a channel triggers once per event, so a swarm closer than the window splits where a channel repeats; against a brute force on random sets", () => {
  const on = (station: string, s: number): TriggerOnset => ({
    ...at(station, s),
    channel: `XX.${station}..HHZ`,
  });
  // Events every 6 s, each seen at A then B 2 s later: one chain without channels, three events
  // with them.
  const swarm = [on("A", 0), on("B", 2), on("A", 6), on("B", 8), on("A", 12), on("B", 14)];
  assertEquals([...associateTriggers(swarm, 10).eventOf], [0, 0, 1, 1, 2, 2]);
  const bare = swarm.map(({ channel: _, ...x }) => x);
  assertEquals([...associateTriggers(bare, 10).eventOf], [0, 0, 0, 0, 0, 0]);
  // Two channels of one station (two sensors) both join an event.
  const two = [on("A", 0), { ...on("A", 0.5), channel: "XX.A.10.HHZ" }, on("B", 2)];
  assertEquals(associateTriggers(two, 10).events.map((e) => [e.members, e.stations]), [
    [[0, 1, 2], 2],
  ]);
  // Brute force: walk the onsets by time, starting an event at a pause above the window or at a
  // channel already in it.
  const rng = new Rng(3);
  for (let trial = 0; trial < 50; trial++) {
    const xs = Array.from({ length: 1 + rng.int(12) }, () => on(`S${rng.int(3)}`, rng.int(60)));
    const w = rng.int(15);
    const order = xs.map((_, i) => i).sort((a, b) => xs[a].time - xs[b].time || a - b);
    const want = new Array<number>(xs.length);
    let event = -1, seen = new Set<string>(), last = -Infinity;
    for (const i of order) {
      if (xs[i].time - last > w * 1000 || seen.has(xs[i].channel!)) {
        [event, seen] = [event + 1, new Set()];
      }
      seen.add(xs[i].channel!);
      last = xs[i].time;
      want[i] = event;
    }
    assertEquals([...associateTriggers(xs, w).eventOf], want, JSON.stringify({ xs, w }));
  }
});

Deno.test("associateTriggers keeps event ids unique when first onsets round to one millisecond (-2, -3, ...)", () => {
  const ch = "XX.A..HHZ";
  const xs: TriggerOnset[] = [0, 0.0002, 0.0004, 0.0011].map((s) => ({
    ...at("A", s),
    channel: ch,
  }));
  const { events } = associateTriggers(xs, 0);
  assertEquals(events.map((e) => e.id), [
    "E20240101T000000Z",
    "E20240101T000000Z-2",
    "E20240101T000000Z-3",
    "E20240101T000000.001Z",
  ]);
  // Window 0 at different stations: each onset its own event, ids apart too.
  const ys = [at("A", 1), at("B", 1.0003)];
  assertEquals(associateTriggers(ys, 0).events.map((e) => e.id), [
    "E20240101T000001Z",
    "E20240101T000001Z-2",
  ]);
});

Deno.test("eventsByIds groups by the given ids (triggers.csv's event column); eventVotes takes the majority, then the larger summed q; eventsCsv writes them", () => {
  const onsets = [at("A", 10), at("B", 12), at("C", 13), at("A", 60), at("B", 61), at("C", 500)];
  const ids = ["E1", "E1", "E1", "E2", "E2", undefined];
  const { events, eventOf } = eventsByIds(onsets, ids);
  assertEquals(events.map((e) => [e.id, e.members, e.start, e.end, e.stations]), [
    ["E1", [0, 1, 2], T0 + 10_000, T0 + 13_000, 3],
    ["E2", [3, 4], T0 + 60_000, T0 + 61_000, 2],
  ]);
  assertEquals([...eventOf], [0, 0, 0, 1, 1, -1]);
  const labels = Int32Array.of(2, 0, 2, 1, 0, 1);
  // q rows [k = 3]: E2's tie (one sample in 1, one in 0) goes to cluster 1, whose sample holds
  // the larger q (0.8 against 0.4), not to the lower index.
  const q = Float32Array.of(
    ...[0.1, 0.2, 0.7],
    ...[0.6, 0.3, 0.1],
    ...[0.2, 0.2, 0.6],
    ...[0.1, 0.8, 0.1],
    ...[0.4, 0.3, 0.3],
    ...[0.1, 0.8, 0.1],
  );
  const votes = eventVotes(events, labels, 3, q);
  assertEquals(votes.map((v) => [v.cluster, v.samples, v.agreement, [...v.votes]]), [
    [2, 3, 2 / 3, [[0, 1], [2, 2]]],
    [1, 2, 0.5, [[0, 1], [1, 1]]],
  ]);
  assert(Math.abs(votes[0].confidence! - (0.7 + 0.6 + 0.6) / 3) < 1e-6);
  // Without q a tie goes to the lower cluster; no confidence.
  const plain = eventVotes(events, labels, 3, null);
  assertEquals(plain.map((v) => [v.cluster, v.confidence]), [[2, null], [0, null]]);
  const rows = parseCsvRecords(eventsCsv(votes, ["a", "b", "c", "d", "e", "f"]));
  assertEquals(rows[0], {
    event: "E1",
    start: "2024-01-01T00:00:10.000Z",
    end: "2024-01-01T00:00:13.000Z",
    stations: "3",
    samples: "3",
    cluster: "2",
    agreement: "0.667",
    mean_confidence: "0.633333",
    votes: "0:1 2:2",
    ids: "a b c",
  });
  assertEquals(rows[1].ids, "d e");
});

Deno.test("quakeMlIdPart keeps the last part of a public id, in the characters a QuakeML id allows", () => {
  assertEquals(quakeMlIdPart("smi:local/event/2024abc"), "2024abc");
  assertEquals(quakeMlIdPart("quakeml:us.anss.org/event=us7000abcd"), "us7000abcd");
  assertEquals(quakeMlIdPart("12345"), "12345");
  assertEquals(quakeMlIdPart("ev 7:b#c"), "ev_7_b_c");
  assertEquals(quakeMlIdPart("a.b-c_d~e*(f)'g"), "a.b-c_d~e*(f)'g");
  assertEquals(quakeMlIdPart("///"), "___");
});

Deno.test("catalogue events: samples vote per named event; events.xml names each by its id's last part, unique, with the catalogue id in the comment", async () => {
  const sample = (id: string, station: string, s: number, event?: string) => ({
    id,
    network: "XX",
    station,
    location: "",
    channel: "HHZ",
    referenceTime: new Date(T0 + s * 1000).toISOString(),
    label: null,
    ...(event ? { event } : {}),
  });
  const samples = [
    sample("a", "A", 10, "smi:cat/event/17"),
    sample("b", "B", 12, "smi:cat/event/17"),
    sample("c", "A", 70, "smi:other/event/17"),
    sample("d", "C", 5, "smi:cat/event/18"),
    sample("e", "D", 9),
  ];
  const events = catalogueEvents(samples);
  assertEquals(events.map((e) => [e.id, e.members, e.stations]), [
    ["smi:cat/event/18", [3], 1],
    ["smi:cat/event/17", [0, 1], 2],
    ["smi:other/event/17", [2], 1],
  ]);
  const votes = eventVotes(events, Int32Array.of(1, 1, 0, 2, 0), 3, null);
  const xml = eventsQuakeMl(votes, samples, { catalogue: true });
  const parsed = await readQuakeMl(xml, "events.xml");
  // Each event's P picks name it (the events have no origin).
  assertEquals([...new Set(parsed.picks.map((p) => p.eventId))], [
    "smi:seisdec/event/18",
    "smi:seisdec/event/17",
    "smi:seisdec/event/17_2",
  ]);
  assert(
    xml.includes(
      "seisdec cluster 1 (agreement 1.000, votes 1:2); catalogue event smi:cat/event/17",
    ),
    xml,
  );
  // Without the option (triggers), the ids are written as they are and no catalogue is named.
  const plain = eventsQuakeMl(votes.slice(0, 1), samples);
  assert(plain.includes(`publicID="smi:seisdec/event/smi:cat/event/18"`), plain);
  assert(!plain.includes("catalogue event"), plain);
  // The cluster, machine-readable; and where the reference times are not arrivals (an ESEC
  // catalogue's start times: phase ""), no picks at all, which a system would load as arrivals.
  assert(
    xml.includes(
      "<seisdec:cluster>1</seisdec:cluster>\n      <seisdec:agreement>1.000</seisdec:agreement>\n" +
        "      <seisdec:samples>2</seisdec:samples>\n" +
        "      <seisdec:catalogueEvent>smi:cat/event/17</seisdec:catalogueEvent>",
    ),
    xml,
  );
  const noPicks = eventsQuakeMl(votes, samples, { catalogue: true, phase: "" });
  assertEquals((await readQuakeMl(noPicks, "events.xml")).picks, []);
  assert(!noPicks.includes("<pick "), noPicks);
  assert(noPicks.includes("<seisdec:cluster>1</seisdec:cluster>"), noPicks);
});

Deno.test("events from samples timed below the millisecond keep the microseconds: the events' start and end in events.csv, their picks in events.xml (Date.parse dropped them)", async () => {
  const times = ["2024-01-01T00:09:20.790875Z", "2024-01-01T00:09:21.250125Z"];
  const samples = times.map((t, i) => ({
    id: `s${i}`,
    network: "XX",
    station: `S${i}`,
    location: "",
    channel: "HHZ",
    referenceTime: t,
    label: null,
    event: "smi:cat/event/1",
  }));
  const events = catalogueEvents(samples);
  const votes = eventVotes(events, Int32Array.of(0, 0), 1, null);
  const [row] = parseCsvRecords(eventsCsv(votes, ["s0", "s1"]));
  assertEquals([row.start, row.end], times);
  const xml = eventsQuakeMl(votes, samples, { catalogue: true });
  for (const t of times) assert(xml.includes(`<value>${t}</value>`), xml);
  const picks = (await readQuakeMl(xml, "events.xml")).picks;
  assertEquals(
    picks.map((p) => p.time),
    times.map((t) => Date.UTC(2024, 0, 1, 0, 9) + 1000 * Number(t.slice(17, -1))),
  );
});

Deno.test("stations are counted by network and code: the same station code in two networks is two stations, in associated events and in events by ids", () => {
  const onsets = [at("A", 0), { ...at("A", 1), network: "YY" }, at("B", 2)];
  assertEquals(associateTriggers(onsets, 5).events.map((e) => e.stations), [3]);
  assertEquals(eventsByIds(onsets, ["E", "E", "E"]).events.map((e) => e.stations), [3]);
});

Deno.test("eventsByIds: a trigger with an id but no time joins no event; events starting together are ordered by id, not by where they first appear", () => {
  const onsets = [at("A", 5), at("B", 5), { ...at("C", 0), time: NaN }, at("C", 9)];
  const { events, eventOf } = eventsByIds(onsets, ["Z9", "A1", "A1", "Z9"]);
  assertEquals(events.map((e) => [e.id, e.members, e.start, e.end]), [
    ["A1", [1], T0 + 5_000, T0 + 5_000],
    ["Z9", [0, 3], T0 + 5_000, T0 + 9_000],
  ]);
  assertEquals([...eventOf], [1, 0, -1, 1]);
});

Deno.test("eventTruth: an event's class is its most common among labelled samples, a tie going to the first class in sorted order; unlabelled samples do not vote", () => {
  const classOf = new Map<string, string | null>([
    ["a", "tremor"],
    ["b", "explosion"],
    ["c", "quake"],
    ["d", "quake"],
    ["e", null],
  ]);
  const r = eventTruth(
    [
      { cluster: "3", ids: "a b" }, // one each: explosion before tremor
      { cluster: "0", ids: "b a" }, // in either order
      { cluster: "1", ids: "a c d e" },
      { cluster: "2", ids: "e" },
    ],
    classOf,
  );
  assertEquals([...r.pred], [3, 0, 1, 2]);
  assertEquals(r.truth, ["explosion", "explosion", "quake", null]);
});

Deno.test("eventsToQuakeMl writes a P pick per member where no option says otherwise (detections.xml)", async () => {
  const onsets = [at("A", 10), at("B", 12)];
  const { events } = associateTriggers(onsets, 5);
  const picks = onsets.map((o) => ({ ...o, location: "", channel: "HHZ" }));
  const q = await readQuakeMl(eventsToQuakeMl(events, picks), "detections.xml");
  assertEquals(q.picks.map((p) => [p.station, p.phase, p.time]), [
    ["A", "P", T0 + 10_000],
    ["B", "P", T0 + 12_000],
  ]);
});
