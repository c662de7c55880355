import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { formatQuakeMl, readQuakeMl, readQuakeMlFile } from "../../lib/io/quakeml.ts";
import { formatStationXml, readStationXml } from "../../lib/io/stationxml.ts";
import { referencePhase } from "../../lib/cli/cluster.ts";
import { earliestPicks } from "../../lib/io/manifest.ts";
import { SampleError } from "../../lib/io/sample_error.ts";
import { DOMParser } from "../../lib/deps.ts";

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
  // The origin's place (depth in m, as QuakeML gives it) and the magnitude to 0.01.
  assertEquals(
    [q.origins[0].latitude, q.origins[0].longitude, q.origins[0].depth],
    [40.5, -120.25, 8000],
  );
  assert(xml.includes("<mag><value>2.30</value></mag>"), xml);
  await assertRejects(
    () => readQuakeMl(`<?xml version="1.0"?><FDSNStationXML/>`, "st.xml"),
    SampleError,
    "st.xml",
  );
});

Deno.test("QuakeML: codes, phase, type and ids holding XML's special characters are escaped and read back as they were", async () => {
  const t = Date.UTC(2021, 2, 3, 4, 5, 6);
  const odd = `" a="<&>'`;
  const xml = formatQuakeMl([{
    id: `ev"1&<`,
    type: `quarry & "blast"`,
    origin: { time: t, latitude: 0, longitude: 0, depth: 0 },
    picks: [{
      network: "X&",
      station: odd,
      location: "<0>",
      channel: `H"Z`,
      phase: "P<'",
      time: t,
    }],
  }]);
  // Well-formed: the DOM parser finds one pick whose attributes hold the codes as written,
  // and no attribute injected.
  const doc = new DOMParser().parseFromString(xml, "text/xml");
  assertEquals(doc.getElementsByTagName("parsererror").length, 0, xml);
  const w = doc.getElementsByTagName("waveformID")[0];
  assertEquals(Array.from(w.attributes, (a) => a.name).sort(), [
    "channelCode",
    "locationCode",
    "networkCode",
    "stationCode",
  ]);
  const q = await readQuakeMl(xml, "events.xml");
  assertEquals(q.picks.map((p) => [p.network, p.station, p.location, p.channel, p.phase]), [
    ["X&", odd, "<0>", `H"Z`, "P<'"],
  ]);
  assertEquals(q.origins.map((o) => o.eventType), [`quarry & "blast"`]);
  assert(xml.includes(`publicID="smi:seisdec/event/ev&quot;1&amp;&lt;"`), xml);
  // A control character, which XML 1.0 allows in no form, becomes U+FFFD: still well-formed.
  const ctl = formatQuakeMl([{
    id: "c",
    type: null,
    origin: null,
    picks: [{ network: "X\x01", station: "S", location: "", channel: "HHZ", phase: "P", time: t }],
  }]);
  assertEquals(
    new DOMParser().parseFromString(ctl, "text/xml").getElementsByTagName("parsererror").length,
    0,
  );
  assertEquals((await readQuakeMl(ctl, "c.xml")).picks[0].network, "X\ufffd");
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
  assertEquals(q.badPicks.map((p) => [p.pickId, p.eventId, p.station, p.phase, p.text]), [
    ["smi:seisdec/pick/a/1", "smi:seisdec/event/a", "S2", "P", "not a time"],
  ]);
});

Deno.test("QuakeML: a missing file is 'no such file', named once (not Deno's text naming it again)", async () => {
  const e = await assertRejects(() => readQuakeMlFile("/nonexistent/q.xml"), SampleError);
  assertEquals((e as SampleError).reason, "unreadable");
  assertEquals(e.message, "Cannot read /nonexistent/q.xml: no such file");
});

Deno.test("QuakeML: a pick without a phase is written without a phaseHint and reads back with none", async () => {
  const t = Date.UTC(2014, 8, 20, 20, 49, 18);
  const pick = { network: "TA", station: "M02C", location: "", channel: "BHZ", phase: "", time: t };
  const xml = formatQuakeMl([{
    id: "e",
    type: null,
    origin: null,
    mode: "automatic",
    picks: [pick],
  }]);
  assert(!xml.includes("phaseHint"), xml);
  const q = await readQuakeMl(xml, "events.xml");
  assertEquals(q.picks.map((p) => [p.station, p.phase, p.time]), [["M02C", "", t]]);
});

Deno.test("events.xml's picks are P only where the reference times are P picks", () => {
  for (const [format, want] of [["sds", "P"], ["npz", "P"], ["esec", ""], ["manifest", ""]]) {
    assertEquals(referencePhase({ input: { format } }), want, format);
  }
  assertEquals(referencePhase(null), "");
  // SDS picks of the phase asked for (--phase S cuts at S picks); triggers are P; regular
  // windows are no arrivals.
  const sds = (extra: object) => ({ input: { format: "sds", ...extra } });
  assertEquals(referencePhase(sds({ phase: "S" })), "S");
  assertEquals(referencePhase(sds({ phase: "p" })), "P");
  assertEquals(referencePhase(sds({ phase: "Pg" })), "Pg");
  assertEquals(referencePhase(sds({ phase: "P", windows: { trigger: {} } })), "P");
  assertEquals(referencePhase(sds({ phase: "P", windows: { trigger: null } })), "");
});

/** QuakeML of one event with one P pick per given time, at stations S0, S1, ... */
function picksAt(times: string[]): string {
  const picks = times.map((t, i) =>
    `<pick publicID="p/${i}"><time><value>${t}</value></time>` +
    `<waveformID networkCode="XX" stationCode="S${i}" locationCode="00" channelCode="HHZ"/>` +
    `<phaseHint>P</phaseHint></pick>`
  ).join("\n");
  return `<?xml version="1.0"?>
<q:quakeml xmlns="http://quakeml.org/xmlns/bed/1.2" xmlns:q="http://quakeml.org/xmlns/quakeml/1.2">
<eventParameters publicID="ep"><event publicID="ev/1"><type>earthquake</type>
${picks}
</event></eventParameters></q:quakeml>`;
}

Deno.test("QuakeML: a pick in a leap second (23:59:60.5) is set apart, saying it is a leap second", async () => {
  const q = await readQuakeMl(
    picksAt(["2016-12-31T23:59:60.5Z", "2017-01-01T00:00:00.5Z", "2016-12-31T23:59:61Z"]),
    "leap.xml",
  );
  // The second after the leap second reads as usual.
  assertEquals(q.picks.map((p) => [p.pickId, p.time]), [[
    "p/1",
    Date.UTC(2017, 0, 1, 0, 0, 0, 500),
  ]]);
  assertEquals(q.badPicks.map((p) => [p.pickId, p.station, p.location, p.channel, p.text]), [
    ["p/0", "S0", "00", "HHZ", "2016-12-31T23:59:60.5Z"],
    ["p/2", "S2", "00", "HHZ", "2016-12-31T23:59:61Z"],
  ]);
  assert(q.badPicks[0].why.startsWith("second 60 is a leap second"), q.badPicks[0].why);
  // Second 61 is no leap second: luxon's explanation stands.
  assert(!q.badPicks[1].why.includes("leap second"), q.badPicks[1].why);
});

Deno.test("QuakeML: a pick past the year 9999 is set apart, saying so (samples.csv cannot write it)", async () => {
  const q = await readQuakeMl(
    picksAt(["9999-12-31T23:30:00-01:00", "+010000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]),
    "far.xml",
  );
  assertEquals(q.picks.map((p) => [p.pickId, p.time]), [["p/2", Date.UTC(10000, 0, 1) - 1000]]);
  assertEquals(q.badPicks.map((p) => [p.pickId, p.text, p.why]), [
    [
      "p/0",
      "9999-12-31T23:30:00-01:00",
      "it falls past the year 9999 (UTC), which samples.csv cannot write",
    ],
    [
      "p/1",
      "+010000-01-01T00:00:00Z",
      "it falls past the year 9999 (UTC), which samples.csv cannot write",
    ],
  ]);
});

Deno.test("QuakeML picks: rejected ones left out, the preferred origin's preferred, pP is no P, arrival phases fill a missing hint", async () => {
  const pick = (id: string, sta: string, t: string, extra: string, cha = "HHZ") =>
    `<pick publicID="p/${id}"><time><value>2025-01-01T02:${t}Z</value></time>` +
    `<waveformID networkCode="XX" stationCode="${sta}"${cha ? ` channelCode="${cha}"` : ""}/>` +
    `${extra}</pick>`;
  const xml = `<?xml version="1.0"?>
<q:quakeml xmlns="http://quakeml.org/xmlns/bed/1.2" xmlns:q="http://quakeml.org/xmlns/quakeml/1.2">
<eventParameters publicID="ep"><event publicID="ev/1"><preferredOriginID>o/1</preferredOriginID>
<type>earthquake</type>
${pick("a", "S1", "29:30", "<phaseHint>P</phaseHint><evaluationStatus>rejected</evaluationStatus>")}
${pick("b", "S1", "29:50", "<phaseHint>P</phaseHint><evaluationMode>automatic</evaluationMode>")}
${pick("c", "S1", "30:00", "<phaseHint>P</phaseHint><evaluationMode>manual</evaluationMode>")}
${pick("d", "S2", "13:20", "<phaseHint>S</phaseHint>")}
${pick("e", "S2", "13:30", "<phaseHint>pP</phaseHint>")}
${pick("f", "S3", "14:00", "")}
${pick("g", "S4", "15:00", "<phaseHint>Pg</phaseHint>", "")}
<origin publicID="o/1"><time><value>2025-01-01T02:10:00Z</value></time>
<latitude><value>0</value></latitude><longitude><value>0</value></longitude>
<arrival publicID="ar/1"><pickID>p/c</pickID><phase>P</phase></arrival>
<arrival publicID="ar/2"><pickID>p/f</pickID><phase>Pn</phase></arrival>
</origin></event></eventParameters></q:quakeml>`;
  const q = await readQuakeMl(xml, "events.xml");
  assertEquals(
    q.picks.map((p) => [p.pickId, p.station, p.channel, p.phase, p.inOrigin]),
    [
      ["p/b", "S1", "HHZ", "P", false],
      ["p/c", "S1", "HHZ", "P", true],
      ["p/d", "S2", "HHZ", "S", false],
      ["p/e", "S2", "HHZ", "pP", false],
      ["p/f", "S3", "HHZ", "Pn", true],
      ["p/g", "S4", "", "Pg", false],
    ],
  );
  // S1: the origin's manual pick, not the earlier automatic one; S2 has no P; S3's P comes from
  // its arrival; S4's pick names no channel (seisplotjs would say "---").
  assertEquals(earliestPicks(q.picks, "P").map((p) => p.pickId), ["p/f", "p/g", "p/c"]);
  assertEquals(earliestPicks(q.picks, "S").map((p) => p.pickId), ["p/d"]);
  // --phase p asks for P (not for the depth phase pP).
  assertEquals(earliestPicks(q.picks, "p"), earliestPicks(q.picks, "P"));
});

Deno.test("QuakeML: the preferred origin (not the first) gives inOrigin and the origin; a hint beats the arrival's phase; location '--' reads as ''", async () => {
  const xml = `<?xml version="1.0"?>
<q:quakeml xmlns="http://quakeml.org/xmlns/bed/1.2" xmlns:q="http://quakeml.org/xmlns/quakeml/1.2">
<eventParameters publicID="ep"><event publicID="ev/1"><preferredOriginID>o/2</preferredOriginID>
<pick publicID="p/a"><time><value>2025-01-01T02:00:10Z</value></time>
<waveformID networkCode="XX" stationCode="S1" locationCode="--" channelCode="HHZ"/>
<phaseHint>P</phaseHint></pick>
<pick publicID="p/b"><time><value>2025-01-01T02:00:20Z</value></time>
<waveformID networkCode="XX" stationCode="S2" locationCode="10" channelCode="HHZ"/></pick>
<origin publicID="o/1"><time><value>2025-01-01T01:59:00Z</value></time>
<latitude><value>1</value></latitude><longitude><value>1</value></longitude>
<arrival publicID="ar/1"><pickID>p/b</pickID><phase>S</phase></arrival>
</origin>
<origin publicID="o/2"><time><value>2025-01-01T02:00:00Z</value></time>
<latitude><value>2</value></latitude><longitude><value>3</value></longitude>
<arrival publicID="ar/2"><pickID>p/a</pickID><phase>Pn</phase></arrival>
</origin></event></eventParameters></q:quakeml>`;
  const q = await readQuakeMl(xml, "events.xml");
  assertEquals(q.picks.map((p) => [p.pickId, p.location, p.phase, p.inOrigin]), [
    ["p/a", "", "P", true],
    ["p/b", "10", "", false],
  ]);
  assertEquals(q.origins.map((o) => [o.time, o.latitude, o.longitude]), [
    [Date.UTC(2025, 0, 1, 2), 2, 3],
  ]);
});

Deno.test("QuakeML: an event seisplotjs cannot read is left out, naming it and its pick or origin; the others read", async () => {
  const t = Date.UTC(2021, 2, 3, 4, 5, 6);
  const pick = { network: "SY", station: "S1", location: "", channel: "HHZ", phase: "P", time: t };
  const origin = { time: t - 1000, latitude: 0, longitude: 0, depth: 0 };
  const good = formatQuakeMl(["a", "b", "c"].map((id, i) => ({
    id,
    type: "earthquake",
    origin,
    picks: [{ ...pick, station: `S${i}` }],
  })));
  // Event b's origin without its latitude, event c's without its time: before, the whole
  // catalogue was refused, with seisplotjs's message naming neither.
  const xml = good.replace(
    /(<origin publicID="smi:seisdec\/origin\/b">[\s\S]*?)<latitude>.*?<\/latitude>/,
    "$1",
  )
    .replace(/(<origin publicID="smi:seisdec\/origin\/c">\s*)<time>.*?<\/time>/, "$1");
  const warn = console.error;
  const warnings: string[] = [];
  console.error = (m: string) => warnings.push(m);
  let q;
  try {
    q = await readQuakeMl(xml, "cat.xml");
  } finally {
    console.error = warn;
  }
  assertEquals(q.picks.map((p) => [p.eventId, p.station]), [["smi:seisdec/event/a", "S0"]]);
  assertEquals(q.origins.map((o) => o.eventId), ["smi:seisdec/event/a"]);
  assertEquals(q.skipped.map((s) => s.eventId), ["smi:seisdec/event/b", "smi:seisdec/event/c"]);
  assert(
    q.skipped[0].why.startsWith("its origin smi:seisdec/origin/b cannot be read:"),
    q.skipped[0].why,
  );
  assert(
    q.skipped[1].why.startsWith("its origin smi:seisdec/origin/c cannot be read:"),
    q.skipped[1].why,
  );
  assertEquals(warnings.length, 2);
  assert(
    warnings[0].startsWith("warning: cat.xml: leaving out event smi:seisdec/event/b: its origin"),
    warnings[0],
  );
});

Deno.test("QuakeML: seisplotjs's own warnings (picks without a publicID) are said once each, naming the file, not as 'Assertion failed' lines naming none", async () => {
  const t = Date.UTC(2021, 2, 3, 4, 5, 6);
  const pick = { network: "SY", station: "S1", location: "", channel: "HHZ", phase: "P", time: t };
  const xml = formatQuakeMl(["a", "b"].map((id, i) => ({
    id,
    type: "earthquake",
    origin: null,
    picks: [{ ...pick, station: `S${i}` }],
  }))).replaceAll(/<pick publicID="[^"]*"/g, "<pick");
  const error = console.error, assert0 = console.assert;
  const said: string[] = [];
  console.error = (m: string) => said.push(m);
  console.assert = (c?: boolean, ...m: unknown[]) => {
    if (!c) said.push(`Assertion failed: ${m.join(" ")}`);
  };
  let q;
  try {
    q = await readQuakeMl(xml, "cat.xml");
  } finally {
    console.error = error;
    console.assert = assert0;
  }
  assertEquals(q.picks.map((p) => p.station), ["S0", "S1"]);
  assertEquals(said, ["warning: cat.xml: missing publicID on pick"]);
});

Deno.test("QuakeML: picks without a time or a waveformID are left out on their own, counted in one warning naming the file; their events' other picks, arrivals and origins are read", async () => {
  const pick = (id: string, sta: string, inner: string) =>
    `<pick publicID="p/${id}">${inner}<phaseHint>P</phaseHint></pick>`.replace(
      "WF",
      `<waveformID networkCode="XX" stationCode="${sta}" channelCode="HHZ"/>`,
    );
  const time = "<time><value>2025-01-01T02:30:00Z</value></time>";
  const xml = `<?xml version="1.0"?>
<q:quakeml xmlns="http://quakeml.org/xmlns/bed/1.2" xmlns:q="http://quakeml.org/xmlns/quakeml/1.2">
<eventParameters publicID="ep"><event publicID="ev/1"><preferredOriginID>o/1</preferredOriginID>
${pick("a", "S1", `${time}WF`)}
${pick("b", "S2", "WF")}
${pick("c", "S3", "<time><value> </value></time>WF")}
${pick("d", "S4", time)}
${pick("e", "S5", `${time}<waveformID networkCode="XX" channelCode="HHZ"/>`)}
<origin publicID="o/1"><time><value>2025-01-01T02:10:00Z</value></time>
<latitude><value>0</value></latitude><longitude><value>0</value></longitude>
<arrival publicID="ar/1"><pickID>p/a</pickID><phase>P</phase></arrival>
<arrival publicID="ar/2"><pickID>p/b</pickID><phase>P</phase></arrival>
<arrival publicID="ar/4"><pickID>p/d</pickID><phase>P</phase></arrival>
</origin></event>
<event publicID="ev/2">${pick("f", "S1", "<time></time>WF")}</event>
</eventParameters></q:quakeml>`;
  const warn = console.error;
  const warnings: string[] = [];
  console.error = (m: string) => warnings.push(m);
  let q;
  try {
    q = await readQuakeMl(xml, "cat.xml");
  } finally {
    console.error = warn;
  }
  // Before, seisplotjs refused event ev/1 for its pick p/b, and with it p/a and the origin.
  assertEquals(q.picks.map((p) => [p.pickId, p.station, p.inOrigin]), [["p/a", "S1", true]]);
  assertEquals(q.origins.map((o) => o.eventId), ["ev/1"]);
  assertEquals(q.skipped, []);
  assertEquals(q.leftOutPicks.map((p) => [p.pickId, p.eventId, p.why]), [
    ["p/b", "ev/1", "no time"],
    ["p/c", "ev/1", "no time"],
    ["p/d", "ev/1", "no waveformID"],
    ["p/e", "ev/1", "no waveformID"],
    ["p/f", "ev/2", "no time"],
  ]);
  assertEquals(warnings, [
    "warning: cat.xml: left out 5 pick(s) that cannot make a sample: 3 without a time " +
    "(<time><value>), e.g. p/b; 2 without a waveformID (with network and station codes), e.g. " +
    "p/d; their events' other picks are read",
  ]);
});

Deno.test("QuakeML and StationXML with a UTF-8 byte-order mark read as without one", async () => {
  const t = Date.UTC(2021, 2, 3, 4, 5, 6);
  const pick = { network: "SY", station: "S1", location: "", channel: "HHZ", phase: "P", time: t };
  const qml = formatQuakeMl([{ id: "a", type: null, origin: null, picks: [pick] }]);
  // Before, xmldom refused the text ("an xml declaration which is only at the start").
  assertEquals(await readQuakeMl("\uFEFF" + qml, "bom.xml"), await readQuakeMl(qml, "bom.xml"));
  const sxml = formatStationXml([{
    network: "SY",
    station: "S1",
    location: "",
    channel: "HHZ",
    latitude: 0,
    longitude: 0,
    elevation: 0,
    samplingRate: 100,
    startDate: "2020-01-01T00:00:00Z",
    azimuth: 0,
    dip: -90,
  }]);
  for (const pieceChars of [1 << 16, 10]) {
    assertEquals(
      await readStationXml("\uFEFF" + sxml, "bom.xml", { pieceChars }),
      await readStationXml(sxml, "bom.xml"),
    );
  }
});

Deno.test("StationXML and QuakeML in another namespace, or none, are named as such (not 'no such channel' or 'no P pick')", async () => {
  const sxml = formatStationXml([{
    network: "SY",
    station: "S1",
    location: "",
    channel: "HHZ",
    latitude: 0,
    longitude: 0,
    elevation: 0,
    samplingRate: 100,
    startDate: "2020-01-01T00:00:00Z",
    azimuth: 0,
    dip: -90,
  }]);
  const stationNs = "http://www.fdsn.org/xml/station/1";
  for (
    const [text, found] of [
      [sxml.replace(` xmlns="${stationNs}"`, ""), "no namespace"],
      [
        sxml.replace(stationNs, "http://www.fdsn.org/xml/station/2"),
        "the namespace http://www.fdsn.org/xml/station/2",
      ],
    ]
  ) {
    const e = await assertRejects(() => readStationXml(text, "ns.xml"), SampleError);
    assertEquals(
      e.message,
      `Cannot read ns.xml: it holds no channels in the FDSN StationXML namespace ${stationNs}: ` +
        `its root element is in ${found}: expected <FDSNStationXML xmlns="${stationNs}">`,
    );
  }
  const t = Date.UTC(2021, 2, 3, 4, 5, 6);
  const pick = { network: "SY", station: "S1", location: "", channel: "HHZ", phase: "P", time: t };
  const qml = formatQuakeMl([{ id: "a", type: null, origin: null, picks: [pick] }]);
  const bed = "http://quakeml.org/xmlns/bed/1.2";
  for (
    const [text, found] of [
      [qml.replace(` xmlns="${bed}"`, ""), "no namespace"],
      [
        qml.replace(bed, "http://quakeml.org/xmlns/bed/1.1"),
        "the namespace http://quakeml.org/xmlns/bed/1.1",
      ],
    ]
  ) {
    await assertRejects(
      () => readQuakeMl(text, "ns.xml"),
      SampleError,
      `Cannot read ns.xml: it holds no events in the QuakeML 1.2 namespace ${bed}: its events ` +
        `are in ${found}`,
    );
  }
});

Deno.test("QuakeML: a pick time's digits below the millisecond are kept (microseismic picks at kHz rates), and samples.csv writes them", async () => {
  const { isoExact, sampleInfo } = await import("../../lib/io/extract.ts");
  const t = Date.UTC(2021, 2, 3, 4, 5, 6, 457);
  const pick = { network: "SY", station: "S1", location: "", channel: "HHZ", phase: "P", time: t };
  const xml = formatQuakeMl([{ id: "a", type: null, origin: null, picks: [pick] }])
    .replace("06.457Z", "06.457481Z");
  assert(xml.includes("06.457481Z"), xml);
  const q = await readQuakeMl(xml, "events.xml");
  assertEquals(q.picks.length, 1);
  // events.xml writes such a time to the microsecond, and reads it back.
  const back = await readQuakeMl(
    formatQuakeMl([{ id: "b", type: null, origin: null, picks: [{ ...pick, time: t + 0.481 }] }]),
    "events.xml",
  );
  assert(Math.abs(back.picks[0].time - (t + 0.481)) < 1e-6, String(back.picks[0].time - t));
  // luxon reads 457 ms (truncated); the rest, 0.481 ms, comes from the text.
  assert(Math.abs(q.picks[0].time - (t + 0.481)) < 1e-6, String(q.picks[0].time - t));
  assertEquals(isoExact(q.picks[0].time), "2021-03-03T04:05:06.457481Z");
  // Whole milliseconds are written as before.
  assertEquals(isoExact(t), new Date(t).toISOString());
  assertEquals(isoExact(t + 0.9996), new Date(t + 1).toISOString());
  // Microseconds below 100 keep their leading zeros (50 µs, not 500).
  assertEquals(isoExact(t + 0.05), new Date(t).toISOString().replace("Z", "050Z"));
  assertEquals(isoExact(t + 0.007), new Date(t).toISOString().replace("Z", "007Z"));
  const info = sampleInfo({
    id: "a",
    network: "SY",
    station: "S1",
    location: "",
    channel: "HHZ",
    waveforms: [],
    response: null,
    referenceTime: q.picks[0].time,
    label: null,
  }, ["Z"]);
  assertEquals(info.referenceTime, "2021-03-03T04:05:06.457481Z");
});
