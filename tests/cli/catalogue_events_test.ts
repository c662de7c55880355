/**
 * Catalogue events end to end: an SDS archive with QuakeML picks at three stations (synth
 * --continuous) → extract names each sample's event in samples.csv → info counts the events →
 * cluster writes events.csv and events.xml (each event's samples vote) → evaluate scores the
 * events. `cluster --raw` needs no model, so no adapter either.
 */
import { join } from "node:path";
import { run } from "./_run.ts";
import { parseCsvRecords } from "../../lib/io/csv.ts";
import { readQuakeMlFile } from "../../lib/io/quakeml.ts";
import { assert, assertEquals } from "../_assert.ts";
import { numpyPython, runPython } from "../_python.ts";

Deno.test("catalogue events: samples.csv names each sample's QuakeML event; cluster votes per event into events.csv and events.xml; evaluate scores them", async () => {
  const root = await Deno.makeTempDir();
  const p = (s: string) => join(root, s);
  const ok = async (...args: string[]) => {
    const r = await run(...args);
    assertEquals(r.code, 0, `${args[0]} failed: ${r.err.join("\n")}`);
    return r;
  };
  try {
    await ok(
      "synth",
      "--continuous",
      "--hours",
      "2",
      "--stations",
      "3",
      "--out",
      p("syn"),
      "--quiet",
    );
    await ok(
      "extract",
      "--sds",
      p("syn/sds"),
      "--picks",
      p("syn/events.xml"),
      "--stations",
      p("syn/stations.xml"),
      "--out",
      p("ds"),
      "--quiet",
    );
    const text = await Deno.readTextFile(p("ds/samples.csv"));
    assertEquals(
      text.split("\n")[0],
      "id,network,station,location,channel,reference_time,label,event,latitude,longitude,elevation,s_minus_p",
    );
    const samples = parseCsvRecords(text);
    assert(samples.length >= 6, `${samples.length} samples`);
    // The QuakeML's picks: every sample names the event of the pick it was cut at.
    const quakeml = await readQuakeMlFile(p("syn/events.xml"));
    for (const s of samples) {
      const [ev, net, sta] = s.id.split(".");
      assertEquals(s.event, `smi:seisdec/event/${ev}`, s.id);
      const pick = quakeml.picks.find((k) => k.eventId === s.event && k.station === sta);
      assertEquals(pick?.network, net, s.id);
      assertEquals(Date.parse(s.reference_time), pick!.time, s.id);
      // S − P from the same event's S pick at the station, where the QuakeML has one.
      const sPick = quakeml.picks.find((k) =>
        k.eventId === s.event && k.station === sta && k.phase.startsWith("S")
      );
      assertEquals(s.s_minus_p, sPick ? String((sPick.time - pick!.time) / 1000) : "", s.id);
    }
    assert(samples.some((s) => s.s_minus_p !== ""), "some samples have an S pick");
    const byEvent = new Map<string, string[]>();
    for (const s of samples) byEvent.set(s.event, [...byEvent.get(s.event) ?? [], s.id]);

    const info = await ok("info", p("ds"));
    assert(
      info.out.join("\n").split("\n").some((l) =>
        l === `events:         samples ${samples.length}, events ${byEvent.size}`
      ),
      info.out.join("\n"),
    );

    await ok("cluster", p("ds"), "--raw", "--k", "3", "--out", p("c"), "--quiet");
    const labelRows = parseCsvRecords(await Deno.readTextFile(p("c/labels.csv")));
    const labels = new Map(labelRows.map((r) => [r.id, r.cluster]));
    // labels.csv carries each sample's event too.
    const eventOfSample = new Map(samples.map((s) => [s.id, s.event]));
    for (const r of labelRows) assertEquals(r.event, eventOfSample.get(r.id), r.id);
    const events = parseCsvRecords(await Deno.readTextFile(p("c/events.csv")));
    assertEquals(events.length, byEvent.size);
    for (const e of events) {
      const ids = e.ids.split(" ");
      assertEquals([...ids].sort(), [...byEvent.get(e.event)!].sort(), e.event);
      assertEquals(Number(e.stations), ids.length, e.event);
      // The vote: the cluster most of its samples fell in, and that share.
      const n = new Map<string, number>();
      for (const id of ids) n.set(labels.get(id)!, (n.get(labels.get(id)!) ?? 0) + 1);
      assertEquals(Number(e.agreement), Number((n.get(e.cluster)! / ids.length).toFixed(3)));
      assert([...n.values()].every((v) => v <= n.get(e.cluster)!), e.event);
    }
    const xml = await Deno.readTextFile(p("c/events.xml"));
    // The samples were cut at the QuakeML's P picks: events.xml's picks say P.
    assert(xml.includes("<phaseHint>P</phaseHint>"), "P picks");
    for (const e of events) {
      const part = e.event.split("/").at(-1);
      assert(xml.includes(`<event publicID="smi:seisdec/event/${part}">`), part);
      assert(xml.includes(`votes ${e.votes}); catalogue event ${e.event}</text>`), e.event);
    }

    const ev = await ok("evaluate", p("c"));
    assert(
      ev.out.join("\n").split("\n").some((l) =>
        l.startsWith("Events (each its samples' vote): ACC ") &&
        l.endsWith(`over ${byEvent.size} labelled of ${byEvent.size}`)
      ),
      ev.out.join("\n"),
    );
    // From Python (lib/io/seisdec.py, where python3 has NumPy): the same events, ids as lists.
    if (numpyPython) {
      const py = JSON.parse(
        await runPython(
          numpyPython,
          `import json, seisdec
c = seisdec.load_clusters(sys.argv[1])
print(json.dumps([[e["event"], e["ids"]] for e in c["events"]]))`,
          p("c"),
        ),
      );
      assertEquals(py, events.map((e) => [e.event, e.ids.split(" ")]));
    }
    // report: the events per cluster, and their scores beside the samples'.
    await ok("report", p("c"), "--quiet");
    const html = await Deno.readTextFile(p("c/report.html"));
    // Some samples have an S pick: the S − P column is shown.
    assert(html.includes("<th>median S − P (s)</th>"), html);
    assert(
      html.includes("<h2>Events</h2><p>The samples of each event (a catalogue's event"),
      "events",
    );
    const scores = JSON.parse(await Deno.readTextFile(p("c/evaluation.json"))).events;
    assert(
      html.includes(
        `<td>events (each its samples&#39; vote)</td><td>${scores.acc.toFixed(4)}</td>`,
      ),
      html.slice(html.indexOf("<h2>Evaluation"), html.indexOf("<h2>Evaluation") + 600),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract --resume refuses a picks file whose S picks changed since the interruption (s_minus_p would mix old and new)", async () => {
  const { writeSynthContinuous } = await import("../../lib/io/synth_continuous.ts");
  const { readExtractConfig } = await import("../../lib/io/extract_config.ts");
  const { runExtract } = await import("../../lib/io/extract.ts");
  const { UserError } = await import("../../lib/util/errors.ts");
  const root = await Deno.makeTempDir();
  try {
    await writeSynthContinuous(`${root}/syn`, { hours: 1, stations: 1, eventsPerHour: 8, seed: 3 });
    const c0 = await readExtractConfig(`${root}/syn/extract.json`);
    const input = c0.input as { dir: string; stations: string | null };
    const cfg = {
      ...c0,
      workers: 0,
      input: {
        format: "sds",
        dir: input.dir,
        stations: input.stations,
        picks: `${root}/syn/events.xml`,
        windows: null,
        phase: "P",
      },
    } as typeof c0;
    const out = `${root}/ds`;
    let stopped = "";
    await runExtract(cfg, out, { quiet: true, checkpointSeconds: 0, stopAfter: 2 })
      .catch((e) => stopped = (e as Error).message);
    assert(stopped.includes("stopped after 2"), stopped);
    // Every S pick 1 s later; the P picks, and so the reference times, unchanged.
    const q = await Deno.readTextFile(`${root}/syn/events.xml`);
    const edited = q.replace(
      /<pick publicID="[^"]*">[\s\S]*?<\/pick>/g,
      (pk) =>
        /<phaseHint>S<\/phaseHint>/.test(pk)
          ? pk.replace(
            /<value>([^<]+)<\/value>/,
            (_, t) => `<value>${new Date(Date.parse(t) + 1000).toISOString()}</value>`,
          )
          : pk,
    );
    assert(edited !== q, "the archive's QuakeML has S picks");
    await Deno.writeTextFile(`${root}/syn/events.xml`, edited);
    let refused: unknown = null;
    await runExtract(cfg, out, { quiet: true, resume: true }).catch((e) => refused = e);
    assert(refused instanceof UserError, String(refused));
    assert((refused as Error).message.includes("inputPicks"), (refused as Error).message);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
