import { assertEquals, assertRejects } from "../_assert.ts";
import { formatQuakeMl, readQuakeMl } from "../../lib/io/quakeml.ts";
import { SampleError } from "../../lib/io/sample_error.ts";

Deno.test("QuakeML events and picks round-trip through seisplotjs's parser", async () => {
  const t = Date.UTC(2021, 2, 3, 4, 5, 6, 780);
  const xml = formatQuakeMl([
    {
      id: "a",
      type: "earthquake",
      origin: { time: t - 2000, latitude: 40.5, longitude: -120.25, depth: 8000 },
      magnitude: 2.3,
      picks: [
        { network: "SY", station: "S1", location: "00", channel: "HHZ", phase: "P", time: t },
        {
          network: "SY",
          station: "S1",
          location: "00",
          channel: "HHZ",
          phase: "S",
          time: t + 3210,
        },
      ],
    },
    {
      id: "b",
      type: "quarry blast",
      origin: { time: t, latitude: 1, longitude: 2, depth: 0 },
      picks: [],
    },
  ]);
  const q = await readQuakeMl(xml, "events.xml");
  assertEquals(q.picks.length, 2);
  assertEquals(q.picks[0].time, t);
  assertEquals(q.picks[1].phase, "S");
  assertEquals([q.picks[0].network, q.picks[0].station, q.picks[0].location, q.picks[0].channel], [
    "SY",
    "S1",
    "00",
    "HHZ",
  ]);
  assertEquals(q.origins.map((o) => o.eventType), ["earthquake", "quarry blast"]);
  assertEquals(q.origins[0].time, t - 2000);
  await assertRejects(
    () => readQuakeMl(`<?xml version="1.0"?><FDSNStationXML/>`, "st.xml"),
    SampleError,
    "st.xml",
  );
});

Deno.test("QuakeML: an empty location reads as '', a pick without a valid time is set apart with its id", async () => {
  const t = Date.UTC(2021, 2, 3, 4, 5, 6);
  const pick = { network: "SY", station: "S1", location: "", channel: "HHZ", phase: "P", time: t };
  const xml = formatQuakeMl([{
    id: "a",
    type: "earthquake",
    origin: { time: t, latitude: 0, longitude: 0, depth: 0 },
    picks: [pick, { ...pick, station: "S2" }],
  }]).replace(
    /(<pick publicID="smi:seisdec\/pick\/a\/1">\s*<time><value>)[^<]*/,
    "$1not a time",
  );
  const q = await readQuakeMl(xml, "events.xml");
  assertEquals(q.picks.map((p) => [p.pickId, p.station, p.location]), [
    ["smi:seisdec/pick/a/0", "S1", ""],
  ]);
  assertEquals(q.badPicks.map((p) => [p.pickId, p.eventId, p.station, p.phase]), [
    ["smi:seisdec/pick/a/1", "smi:seisdec/event/a", "S2", "P"],
  ]);
});
