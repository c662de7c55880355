import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { dirname } from "node:path";
import {
  esecTasks,
  npzTasks,
  parseEsecTime,
  parseUtc,
  readManifest,
  sdsPaths,
  sdsTasks,
} from "../../lib/io/manifest.ts";
import { UserError } from "../../lib/util/errors.ts";
import { placedTask, sampleInfo } from "../../lib/io/extract.ts";

Deno.test("parseUtc reads ISO 8601 dates, day-of-year dates, fractions and zones as UTC", () => {
  const t = Date.UTC(2020, 1, 29, 12, 34, 56);
  assertEquals(parseUtc("2020-02-29T12:34:56Z"), t);
  assertEquals(parseUtc(" 2020-02-29T12:34:56 "), t); // no zone: UTC
  assertEquals(parseUtc("2020-02-29 12:34:56"), t);
  assertEquals(parseUtc("2020-060T12:34:56"), t); // day 60 of a leap year
  assertEquals(parseUtc("2000-366"), Date.UTC(2000, 11, 31)); // 2000 is one (divisible by 400)
  assertEquals(parseUtc("2020-02-29T12:34:56.123456Z"), t + 123.456);
  assertEquals(parseUtc("2020-02-29T12:34:56,5Z"), t + 500);
  assertEquals(parseUtc("2020-02-29T14:34:56+02:00"), t);
  assertEquals(parseUtc("2020-02-29T07:04:56-0530"), t);
  assertEquals(parseUtc("2020-02-29T12:34"), Date.UTC(2020, 1, 29, 12, 34));
  assertEquals(parseUtc("2020-02-29"), Date.UTC(2020, 1, 29));
  assertEquals(parseUtc(""), null);
  assertEquals(parseUtc("  "), null);
  // Years 0-99 as written (Date.UTC reads them as 1900-1999: a placeholder 0000-01-01 was 1900).
  assertEquals(parseUtc("0000-01-01T00:00:00Z"), Date.parse("0000-01-01T00:00:00Z"));
  assertEquals(parseUtc("0024-060"), Date.parse("0024-02-29T00:00:00Z"));
  assertEquals(parseUtc("9999-12-31T23:59:59.999Z"), Date.UTC(10000, 0, 1) - 1);
});

Deno.test("parseUtc refuses times that Date.parse would accept or roll over, naming the text", () => {
  for (
    const [text, why] of [
      ["2023-02-29T00:00:00Z", "day 29 does not exist"],
      ["2020-02-30", "day 30 does not exist"],
      ["2020-13-01", "month 13 does not exist"],
      ["2021-366", "day of year 366 does not exist in 2021"],
      // 2100 is no leap year (divisible by 100, not by 400).
      ["2100-02-29T00:00:00Z", "day 29 does not exist"],
      ["2100-366", "day of year 366 does not exist in 2100"],
      ["2020-01-01T24:00:00", "out of range"],
      ["2020-01-01T23:59:60Z", "out of range"],
      ["1", "not of that form"],
      ["Jan 5 2020", "not of that form"],
      ["2020-01-01T00:00:00 UTC", "not of that form"],
      // A zone or a fraction's rounding that moves it past 9999, which samples.csv cannot write.
      ["9999-12-31T23:30:00-01:00", "it falls in the year 10000 (UTC)"],
      ["9999-12-31T23:59:59.9999999Z", "it falls in the year 10000 (UTC)"],
    ]
  ) {
    assertThrows(() => parseUtc(text), RangeError, `'${text}'`);
    assertThrows(() => parseUtc(text), RangeError, why);
  }
});

Deno.test("ESEC catalogue: an impossible starttime fails its samples as bad time, a row cut short as bad row; a missing column, or a subset that cannot be read, names the file", async () => {
  assertEquals(parseEsecTime("2024_02_29 120000"), Date.UTC(2024, 1, 29, 12));
  for (
    const bad of [
      "2024_02_30 120000",
      "2023_02_29 000000",
      "2024_13_01 000000",
      "2024_01_01 240000",
    ]
  ) {
    assertEquals(parseEsecTime(bad), null, bad);
  }
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/waveforms/7`, { recursive: true });
    await Deno.writeFile(`${dir}/waveforms/7/XX.AAA..BHZ__a__b.mseed`, new Uint8Array(0));
    await Deno.writeTextFile(
      `${dir}/esec_subset_events.csv`,
      "eventid,starttime,subtype\n7,2024_02_30 120000,Snow avalanches\n",
    );
    const [t] = await esecTasks(dir);
    assertEquals([t.id, t.error?.reason, t.event], ["7.XX.AAA..BHZ", "bad time", "7"]);
    assert(t.error!.message.includes("'2024_02_30 120000'"), t.error!.message);
    // An event directory the catalogue does not list: said so, naming the catalogue.
    await Deno.mkdir(`${dir}/waveforms/8`, { recursive: true });
    await Deno.writeFile(`${dir}/waveforms/8/XX.AAA..BHZ__a__b.mseed`, new Uint8Array(0));
    const [, u] = await esecTasks(dir);
    assertEquals([u.id, u.error?.reason, u.referenceTime], [
      "8.XX.AAA..BHZ",
      "no reference time",
      null,
    ]);
    assertEquals(
      u.error!.message,
      `Cannot place sample 8.XX.AAA..BHZ: event 8 (${dir}/waveforms/8) is not in ` +
        `${dir}/esec_subset_events.csv: expected a row with eventid 8, whose starttime is the ` +
        `reference time`,
    );
    // A row cut short before a column read: a bad row, not a starttime '' that is no time.
    await Deno.writeTextFile(
      `${dir}/esec_subset_events.csv`,
      "eventid,starttime,subtype,name\n7,2024_02_28 120000\n8,2024_02_28 120000,Snow avalanches\n",
    );
    const [v, w] = await esecTasks(dir);
    assertEquals([v.error?.reason, w.error], ["bad row", undefined]);
    assertEquals(
      v.error!.message,
      `Cannot place sample 7.XX.AAA..BHZ: row 2 of ${dir}/esec_subset_events.csv (event 7) ` +
        "holds 2 fields: expected 4 (eventid,starttime,subtype,...; a damaged catalogue?)",
    );
    // A subset catalogue that cannot be read is named, not passed over for the full one.
    await Deno.remove(`${dir}/esec_subset_events.csv`);
    await Deno.mkdir(`${dir}/esec_subset_events.csv`);
    await Deno.writeTextFile(`${dir}/IRISExoticEventCatalog.txt`, "eventid|starttime|subtype\n");
    await assertRejects(
      () => esecTasks(dir),
      UserError,
      `Cannot read the ESEC catalog ${dir}/esec_subset_events.csv: it is a directory, not a ` +
        "regular file",
    );
    await Deno.remove(`${dir}/esec_subset_events.csv`);
    await Deno.writeTextFile(
      `${dir}/esec_subset_events.csv`,
      "event_id,starttime,subtype\n7,x,y\n",
    );
    await assertRejects(
      () => esecTasks(dir),
      UserError,
      "esec_subset_events.csv: expected the columns",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PhaseNet list: a bad itp or a file name without a time fails that sample; a missing column names the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/waveform.csv`,
      "fname,itp,its,channels\nNC_A_2017100709282692.npz,x,1,HHE_HHN_HHZ\nNC_B_notatime.npz,3000,1,HHE_HHN_HHZ\nNC_C_2017100709282692.npz,3000,1,HHE_HHN_HHZ\nNC_D_2018023112000000.npz,3000,1,HHE_HHN_HHZ\n",
    );
    const tasks = await npzTasks(dir, 100);
    // February 31st: Date.UTC would roll it over to March 3rd.
    assertEquals(tasks.map((t) => t.error?.reason ?? "ok"), [
      "bad time",
      "bad time",
      "ok",
      "bad time",
    ]);
    assert(tasks[0].error!.message.includes("itp 'x'"), tasks[0].error!.message);
    assertEquals(tasks[2].referenceTime, Date.UTC(2017, 9, 7, 9, 28, 26, 920) + 30_000);
    await Deno.writeTextFile(`${dir}/waveform.csv`, "file,itp\na.npz,3000\n");
    await assertRejects(() => npzTasks(dir, 100), UserError, "fname missing");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PhaseNet list: a folder without waveform.csv says which folder --npz wants, and names it where that is the parent (waveform_train/ given)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const train = `${dir}/waveform_train`;
    await Deno.mkdir(train);
    const e = await assertRejects(() => npzTasks(train, 100), UserError);
    assertEquals(
      e.message,
      `Cannot read ${train}/waveform.csv: no such file: --npz (input.dir) names the folder ` +
        "that holds waveform.csv, beside waveform_train/",
    );
    await Deno.writeTextFile(`${dir}/waveform.csv`, "fname,itp,its,channels\n");
    const up = await assertRejects(() => npzTasks(train, 100), UserError);
    assertEquals(
      up.message,
      `Cannot read ${train}/waveform.csv: no such file: --npz (input.dir) names the folder ` +
        `that holds waveform.csv, beside waveform_train/: give --npz ${dir}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("manifest: location '--' reads as ''; event_id may be a public id's last part (a whole part: e1 is not smi:ev/xe1); a bare 'p' hint is a P pick, the earliest of an event's", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pick = (id: string, sta: string, t: string, hint: string) =>
      `<pick publicID="p/${id}"><time><value>2025-01-01T02:${t}Z</value></time>` +
      `<waveformID networkCode="XX" stationCode="${sta}" channelCode="HHZ"/>` +
      `<phaseHint>${hint}</phaseHint></pick>`;
    await Deno.writeTextFile(
      `${dir}/picks.xml`,
      `<?xml version="1.0"?>
<q:quakeml xmlns="http://quakeml.org/xmlns/bed/1.2" xmlns:q="http://quakeml.org/xmlns/quakeml/1.2">
<eventParameters publicID="ep">
<event publicID="smi:ev/e1">${pick("a", "S1", "00:30", "P")}
${pick("b", "S1", "00:10", "P")}${pick("c", "S2", "00:20", "p")}</event>
<event publicID="smi:ev/e2">${pick("d", "S1", "50:00", "P")}</event>
<event publicID="smi:ev/xe1">${pick("e", "S1", "00:05", "P")}</event>
</eventParameters></q:quakeml>`,
    );
    await Deno.writeTextFile(
      `${dir}/m.csv`,
      "id,waveform,network,station,location,channel,reference_time,event_id\n" +
        "a,a.mseed,XX,S1,--,HHZ,,e1\nb,b.mseed,XX,S2,00,HHZ,,\n",
    );
    const tasks = await readManifest(`${dir}/m.csv`, `${dir}/picks.xml`);
    assertEquals(tasks.map((t) => [t.id, t.location, t.referenceTime, t.error?.reason]), [
      ["a", "", Date.UTC(2025, 0, 1, 2, 0, 10), undefined],
      ["b", "00", Date.UTC(2025, 0, 1, 2, 0, 20), undefined],
    ]);
    // The sample's event: the manifest's event_id as written, else the one pick's event.
    assertEquals(tasks.map((t) => t.event), ["e1", "smi:ev/e1"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PhaseNet list: the P time is itp samples at the given rate after the file name's start; channels EHE_.. give EH?", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/waveform.csv`,
      "fname,itp,its,channels\nNC_C_2017100709282692.npz,3000,1,EHE_EHN_EHZ\n",
    );
    const [t] = await npzTasks(dir, 50);
    assertEquals([t.channel, t.referenceTime], [
      "EH?",
      Date.UTC(2017, 9, 7, 9, 28, 26, 920) + 60_000,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SDS: a pick without the archive's location code takes the first of the archive's, sorted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const t = Date.UTC(2025, 0, 1, 12);
    await Deno.writeTextFile(
      `${dir}/picks.xml`,
      `<?xml version="1.0"?>
<q:quakeml xmlns="http://quakeml.org/xmlns/bed/1.2" xmlns:q="http://quakeml.org/xmlns/quakeml/1.2">
<eventParameters publicID="ep"><event publicID="ev/1"><type>earthquake</type>
<pick publicID="p/1"><time><value>${new Date(t).toISOString()}</value></time>
<waveformID networkCode="XX" stationCode="S1" channelCode="HHZ"/><phaseHint>P</phaseHint></pick>
</event></eventParameters></q:quakeml>`,
    );
    for (const loc of ["10", "00"]) {
      const [f] = sdsPaths(dir, ["XX", "S1", loc, "HHZ"], t, t);
      await Deno.mkdir(dirname(f), { recursive: true });
      await Deno.writeFile(f, new Uint8Array(0));
    }
    const [task] = await sdsTasks(dir, `${dir}/picks.xml`, null, "P", (c) => [c], [1000, 1000]);
    assertEquals([task.id, task.location, task.label], ["1.XX.S1", "00", "earthquake"]);
    assertEquals(task.waveforms, sdsPaths(dir, ["XX", "S1", "00", "HHZ"], t, t));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SDS: a pick whose codes would lead out of the archive (a path separator, ..) fails as its own sample, naming the code, and no file outside is looked at", async () => {
  const root = await Deno.makeTempDir();
  try {
    const t = Date.UTC(2025, 0, 1, 12);
    // Another archive beside this one, holding the day file the hostile pick points at.
    const [other] = sdsPaths(`${root}/other`, ["XX", "S1", "00", "HHZ"], t, t);
    await Deno.mkdir(dirname(other), { recursive: true });
    await Deno.writeFile(other, new Uint8Array(512));
    const dir = `${root}/sds`;
    await Deno.mkdir(dir);
    const pick = (id: string, sta: string, loc: string) =>
      `<pick publicID="p/${id}"><time><value>${new Date(t).toISOString()}</value></time>
<waveformID networkCode="XX" stationCode="${sta}" locationCode="${loc}" channelCode="HHZ"/>` +
      `<phaseHint>P</phaseHint></pick>`;
    await Deno.writeTextFile(
      `${dir}/picks.xml`,
      `<?xml version="1.0"?>
<q:quakeml xmlns="http://quakeml.org/xmlns/bed/1.2" xmlns:q="http://quakeml.org/xmlns/quakeml/1.2">
<eventParameters publicID="ep">
<event publicID="ev/1"><type>earthquake</type>${
        pick("1", "S1", "/../../../other/2025/XX/S1/HHZ.D/XX.S1.00")
      }</event>
<event publicID="ev/2"><type>earthquake</type>${pick("2", "..", "00")}</event>
<event publicID="ev/3"><type>earthquake</type>${pick("3", "S2", "00")}</event>
</eventParameters></q:quakeml>`,
    );
    const tasks = await sdsTasks(dir, `${dir}/picks.xml`, null, "P", (c) => [c], [1000, 1000]);
    const byId = new Map(tasks.map((k) => [k.id, k]));
    for (const [id, code] of [["1.XX.S1", "location"], ["2.XX...", "station"]]) {
      const k = byId.get(id)!;
      assertEquals([k.error?.reason, k.waveforms], ["missing channel", []], id);
      assert(
        k.error!.message.includes(`its ${code} code`) &&
          k.error!.message.includes("cannot name a directory or file of an SDS archive"),
        k.error!.message,
      );
    }
    // A pick with ordinary codes is looked up as before (its day file is missing here).
    assertEquals(byId.get("3.XX.S2")!.error?.reason, "missing channel");
    assert(byId.get("3.XX.S2")!.error!.message.includes("XX.S2.00.HHZ"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("manifest: a row whose id is empty takes row and its number among the rows", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/m.csv`,
      "id,waveform,network,station,channel,reference_time\n" +
        ",a.mseed,XX,S1,HHZ,2025-01-01T00:00:00Z\nb,b.mseed,XX,S2,HHZ,2025-01-01T00:00:00Z\n" +
        " ,c.mseed,XX,S3,HHZ,2025-01-01T00:00:00Z\n",
    );
    const tasks = await readManifest(`${dir}/m.csv`);
    assertEquals(tasks.map((t) => t.id), ["row1", "b", "row3"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("manifest: a column seisdec does not read is named in one warning, with the nearest known name", async () => {
  const dir = await Deno.makeTempDir();
  const errs: string[] = [];
  const error = console.error;
  console.error = (...a: unknown[]) => errs.push(a.join(" "));
  try {
    // A misspelt reference_time made every sample fail as 'no reference time' without a word.
    await Deno.writeTextFile(
      `${dir}/m.csv`,
      "id,waveform,network,station,channel,reference_tme,notes\n" +
        "a,a.mseed,XX,S1,HHZ,2025-01-01T00:00:00Z,x\n",
    );
    await readManifest(`${dir}/m.csv`);
    assertEquals(errs, [
      `warning: manifest ${dir}/m.csv: ignoring columns 'reference_tme' (did you mean ` +
      `'reference_time'?), 'notes': the columns read are id, waveform, response, network, ` +
      `station, location, channel, reference_time, label, event_id, s_time`,
    ]);
    // A repeated unknown column is named once.
    errs.length = 0;
    await Deno.writeTextFile(
      `${dir}/m.csv`,
      "id,waveform,network,station,channel,notes,notes\na,a.mseed,XX,S1,HHZ,x,y\n",
    );
    await readManifest(`${dir}/m.csv`);
    assertEquals(errs, [
      `warning: manifest ${dir}/m.csv: ignoring column 'notes': the columns read are id, ` +
      `waveform, response, network, station, location, channel, reference_time, label, ` +
      `event_id, s_time`,
    ]);
    // The known columns alone: no warning.
    errs.length = 0;
    await Deno.writeTextFile(`${dir}/m.csv`, "id,waveform,network,station,channel\na,a,XX,S,HHZ\n");
    await readManifest(`${dir}/m.csv`);
    assertEquals(errs, []);
  } finally {
    console.error = error;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("manifest: a CSV given as picks is named as not QuakeML, with where a table of times goes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/picks.csv`, "net,sta,time\nXX,S1,2025-01-01T00:00:00Z\n");
    await Deno.writeTextFile(
      `${dir}/m.csv`,
      "id,waveform,network,station,channel\na,a,XX,S1,HHZ\n",
    );
    await assertRejects(
      () => readManifest(`${dir}/m.csv`, `${dir}/picks.csv`),
      UserError,
      `Cannot read picks ${dir}/picks.csv: expected QuakeML (XML; --picks and input.picks take ` +
        `QuakeML only): found text starting "net,sta,time\\nXX,S1,2"; for picks in a table, give ` +
        `each sample's time in the manifest's reference_time column`,
    );
    // A missing or malformed one is named as the option, the file once (manifest and SDS alike).
    for (
      const read of [
        (q: string) => readManifest(`${dir}/m.csv`, q),
        (q: string) => sdsTasks(dir, q, null, "P", (c) => [c], [1000, 1000]),
      ]
    ) {
      const e = await assertRejects(() => read(`${dir}/none.xml`), UserError);
      assertEquals(
        e.message,
        `Cannot read the picks ${dir}/none.xml (--picks, input.picks): no such file`,
      );
      await Deno.writeTextFile(`${dir}/bad.xml`, "<q:quakeml");
      await assertRejects(
        () => read(`${dir}/bad.xml`),
        UserError,
        `Cannot read the picks ${dir}/bad.xml (--picks, input.picks): Cannot parse ${dir}/bad.xml`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sdsTasks refuses an archive root that does not exist or is a file before reading the picks, as the windows do", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Every sample failed as 'missing channel', each naming its day files.
    await assertRejects(
      () => sdsTasks(`${dir}/none`, `${dir}/p.xml`, null, "P", (c) => [c], [1000, 1000]),
      UserError,
      `Cannot read the SDS archive ${dir}/none: no such directory`,
    );
    await Deno.writeTextFile(`${dir}/f`, "");
    await assertRejects(
      () => sdsTasks(`${dir}/f`, `${dir}/p.xml`, null, "P", (c) => [c], [1000, 1000]),
      UserError,
      `Cannot read the SDS archive ${dir}/f: it is a file`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a manifest, an ESEC catalogue or an ESEC waveforms folder that does not exist is named once, as 'no such file' or 'no such directory'", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const refused = async (f: () => Promise<unknown>, message: string) => {
      const e = await assertRejects(f, UserError);
      assertEquals(e.message, message);
    };
    await refused(
      () => readManifest(`${dir}/none.csv`),
      `Cannot read manifest ${dir}/none.csv: no such file`,
    );
    await refused(
      () => esecTasks(dir),
      `Cannot read the ESEC catalog: expected ${dir}/esec_subset_events.csv or ` +
        `${dir}/IRISExoticEventCatalog.txt: no such file`,
    );
    await Deno.writeTextFile(`${dir}/esec_subset_events.csv`, "eventid,starttime,subtype\n");
    await refused(() => esecTasks(dir), `Cannot list ${dir}/waveforms: no such directory`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("manifest: an id with white space is refused, naming the row (events.csv lists ids separated by spaces)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/m.csv`,
      "id,waveform,network,station,channel\nsample_0,a,XX,S,HHZ\nsample 1,b,XX,S,HHZ\n",
    );
    await assertRejects(
      () => readManifest(`${dir}/m.csv`),
      UserError,
      `Cannot read manifest ${dir}/m.csv: id 'sample 1' on row 3 contains white space`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("manifest: S arrival from s_time, else from the QuakeML's S pick of the row's event; s_time not after reference_time fails the row", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pick = (id: string, sta: string, t: string, hint: string) =>
      `<pick publicID="p/${id}"><time><value>2025-01-01T02:${t}Z</value></time>` +
      `<waveformID networkCode="XX" stationCode="${sta}" channelCode="HHZ"/>` +
      `<phaseHint>${hint}</phaseHint></pick>`;
    await Deno.writeTextFile(
      `${dir}/picks.xml`,
      `<?xml version="1.0"?>
<q:quakeml xmlns="http://quakeml.org/xmlns/bed/1.2" xmlns:q="http://quakeml.org/xmlns/quakeml/1.2">
<eventParameters publicID="ep">
<event publicID="smi:ev/e1">${pick("a", "S1", "00:10", "P")}${pick("b", "S1", "00:14.5", "S")}
${pick("b2", "S1", "00:16", "S")}${pick("c", "S2", "00:20", "P")}${
        pick("c2", "S2", "00:19", "S")
      }</event>
<event publicID="smi:ev/e2">${pick("d", "S1", "50:00", "P")}${pick("e", "S1", "50:03", "Sg")}
${pick("f", "S3", "51:00", "P")}</event>
</eventParameters></q:quakeml>`,
    );
    await Deno.writeTextFile(
      `${dir}/m.csv`,
      "id,waveform,network,station,location,channel,reference_time,event_id,s_time\n" +
        // Placed by e1's P pick; its earliest S pick at S1.
        "a,a.mseed,XX,S1,00,HHZ,,e1,\n" +
        // Its own time and event: e2's S pick at S1.
        "b,b.mseed,XX,S1,00,HHZ,2025-01-01T02:50:00Z,e2,\n" +
        // s_time stands before the QuakeML's.
        "c,c.mseed,XX,S1,00,HHZ,,e1,2025-01-01T02:00:13Z\n" +
        // An S pick before the P pick is dropped.
        "d,d.mseed,XX,S2,00,HHZ,,,\n" +
        // Several events at S1: each candidate carries its event's S pick.
        "e,e.mseed,XX,S1,00,HHZ,,,\n" +
        // Without a QuakeML event or s_time: none. s_time not after the reference: bad time.
        "f,f.mseed,XX,S3,00,HHZ,2025-01-01T02:51:00Z,,\n" +
        "g,g.mseed,XX,S3,00,HHZ,2025-01-01T02:51:00Z,,2025-01-01T02:51:00Z\n" +
        "h,h.mseed,XX,S3,00,HHZ,2025-01-01T02:51:00Z,,2025-02-30T00:00:00Z\n",
    );
    const tasks = await readManifest(`${dir}/m.csv`, `${dir}/picks.xml`);
    const at = (m: number, s: number) => Date.UTC(2025, 0, 1, 2, m) + s * 1000;
    assertEquals(tasks.map((t) => t.sTime), [
      at(0, 14.5),
      at(50, 3),
      at(0, 13),
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    assertEquals(tasks[4].pickTimes, [
      { time: at(0, 10), eventId: "smi:ev/e1", sTime: at(0, 14.5) },
      { time: at(50, 0), eventId: "smi:ev/e2", sTime: at(50, 3) },
    ]);
    // The extractor's choice takes the chosen event's S arrival.
    assertEquals(placedTask(tasks[4], at(50, 0)).sTime, at(50, 3));
    assertEquals(
      sampleInfo(placedTask(tasks[4], at(0, 10)), ["Z"]).sMinusP,
      4.5,
    );
    assertEquals(tasks.map((t) => t.error?.reason), [
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      "bad time",
      "bad time",
    ]);
    assert(tasks[6].error!.message.includes("row 8"), tasks[6].error!.message);
    assert(
      tasks[6].error!.message.includes(
        "s_time 2025-01-01T02:51:00Z is not after the reference time 2025-01-01T02:51:00.000Z " +
          "(reference_time): the S arrival follows it",
      ),
      tasks[6].error!.message,
    );
    assert(tasks[7].error!.message.startsWith(`Cannot read s_time on row 9 of ${dir}/m.csv`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("manifest: a quote never closed or a field over several lines is refused, naming the file and where", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const head = "id,waveform,network,station,location,channel,reference_time,label\n";
    const row = (id: string, label: string) =>
      `${id},a.mseed,XX,S1,,HHZ,2025-01-01T00:00:00Z,${label}\n`;
    await Deno.writeTextFile(`${dir}/m.csv`, head + row("a", "x") + row("b", '"y') + row("c", "z"));
    await assertRejects(
      () => readManifest(`${dir}/m.csv`),
      UserError,
      `manifest ${dir}/m.csv: the quoted field opened by '"' on line 3 is never closed`,
    );
    // Closed by a second stray quote: rows b to d merge into one field of row b.
    await Deno.writeTextFile(
      `${dir}/m.csv`,
      head + row("a", "x") + row("b", '"y') + row("c", "z") + row("d", 'w"') + row("e", "v"),
    );
    await assertRejects(
      () => readManifest(`${dir}/m.csv`),
      UserError,
      `manifest ${dir}/m.csv: row 3, column 'label' holds a line break`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ESEC catalogue with a quote never closed is refused naming it, not passed over", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/waveforms/7`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/esec_subset_events.csv`,
      'eventid,starttime,subtype\n7,2024_02_20 120000,"Snow\n8,2024_02_21 120000,Rock\n',
    );
    await assertRejects(
      () => esecTasks(dir),
      UserError,
      "the ESEC catalog " +
        `${dir}/esec_subset_events.csv: the quoted field opened by '"' on line 2`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("manifest and ESEC catalogue: a column named twice and an ESEC event listed twice are refused, naming them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/m.csv`,
      "id,waveform,network,station,location,channel,reference_time,label,label\n" +
        "a,a.mseed,XX,S1,,HHZ,2025-01-01T00:00:00Z,quake,blast\n",
    );
    await assertRejects(
      () => readManifest(`${dir}/m.csv`),
      UserError,
      `manifest ${dir}/m.csv: column 'label' is named twice (columns 8 and 9)`,
    );
    await Deno.mkdir(`${dir}/waveforms/7`, { recursive: true });
    const catalog = `${dir}/esec_subset_events.csv`;
    await Deno.writeTextFile(
      catalog,
      "eventid,starttime,subtype,subtype\n7,2024_02_20 120000,a,b\n",
    );
    await assertRejects(() => esecTasks(dir), UserError, "column 'subtype' is named twice");
    // A column seisdec does not read may repeat: the manifest warns of it as unknown, the
    // catalogue's other columns are not looked at.
    await Deno.writeTextFile(
      `${dir}/m.csv`,
      "id,waveform,network,station,location,channel,reference_time,label,notes,notes\n" +
        "a,a.mseed,XX,S1,,HHZ,2025-01-01T00:00:00Z,quake,n1,n2\n",
    );
    const { error } = console;
    console.error = () => {};
    try {
      assertEquals((await readManifest(`${dir}/m.csv`)).map((t) => t.label), ["quake"]);
    } finally {
      console.error = error;
    }
    await Deno.writeTextFile(
      catalog,
      "eventid,starttime,subtype,name,name\n7,2024_02_20 120000,a,x,y\n",
    );
    assertEquals((await esecTasks(dir)).length, 0); // (its directory holds no waveform)
    await Deno.writeTextFile(
      catalog,
      "eventid,starttime,subtype\n7,2024_02_20 120000,a\n8,2024_02_20 130000,b\n" +
        "7,2024_02_21 120000,c\n",
    );
    await assertRejects(
      () => esecTasks(dir),
      UserError,
      `the ESEC catalog ${catalog}: eventid 7 is listed twice (rows 2 and 4)`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("manifest: codes and label are trimmed as id and paths are", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/m.csv`,
      "id, waveform, network, station, location, channel, reference_time, label\n" +
        "a, a.mseed, XX , S1 , -- , HHZ , 2025-01-01T00:00:00Z, quake \n" +
        "b, b.mseed, XX, S2, 00 , HH?, 2025-01-01T00:00:00Z,  \n",
    );
    const tasks = await readManifest(`${dir}/m.csv`);
    // Before, station ' S1 ' was looked for in the files and 'quake ' was a class of its own.
    assertEquals(tasks.map((t) => [t.network, t.station, t.location, t.channel, t.label]), [
      ["XX", "S1", "", "HHZ", "quake"],
      ["XX", "S2", "00", "HH?", null],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PhaseNet list: itp 0 is the file's first sample, and an its not after itp gives no S time", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/waveform.csv`,
      "fname,itp,its,channels\n" +
        "NC_A_2017100709282692.npz,0,100,HHE_HHN_HHZ\n" +
        "NC_B_2017100709282692.npz,300,300,HHE_HHN_HHZ\n" +
        "NC_C_2017100709282692.npz,300,301,HHE_HHN_HHZ\n" +
        // Two components: the band is the first channel's.
        "NC_D_2017100709282692.npz,300,,EHE_EHN\n",
    );
    const t0 = Date.UTC(2017, 9, 7, 9, 28, 26, 920);
    const tasks = await npzTasks(dir, 100);
    assertEquals(
      tasks.slice(0, 3).map((t) => [t.error, t.referenceTime, t.sTime]),
      [[undefined, t0, t0 + 1000], [undefined, t0 + 3000, undefined], [
        undefined,
        t0 + 3000,
        t0 + 3010,
      ]],
    );
    assertEquals(tasks.map((t) => t.channel), ["HH?", "HH?", "HH?", "EH?"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ESEC stacked: one sample per event, station and band (BH?, HH?), its components' files together", async () => {
  const esec = new URL("../../../shared/data/esec_massmovements/", import.meta.url).pathname;
  const tasks = await esecTasks(esec, true);
  const count: Record<string, number> = {};
  for (const t of tasks) {
    const k = `${t.channel}:${t.waveforms.length}`;
    count[k] = (count[k] ?? 0) + 1;
    assert(t.id.endsWith(`.${t.channel}`), t.id);
    for (const w of t.waveforms) {
      assert(
        w.split("/").at(-1)!.startsWith(
          `${t.network}.${t.station}.${t.location}.${t.channel.slice(0, 2)}`,
        ),
        w,
      );
    }
  }
  assertEquals(count, { "BH?:1": 6, "BH?:2": 4, "BH?:3": 86, "HH?:3": 11 });
});

Deno.test("manifest: a candidate P pick of several events carries its event's S pick only where it is after the P", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pick = (id: string, t: string, hint: string) =>
      `<pick publicID="p/${id}"><time><value>2025-01-01T02:${t}Z</value></time>` +
      `<waveformID networkCode="XX" stationCode="S1" channelCode="HHZ"/>` +
      `<phaseHint>${hint}</phaseHint></pick>`;
    await Deno.writeTextFile(
      `${dir}/picks.xml`,
      `<?xml version="1.0"?>
<q:quakeml xmlns="http://quakeml.org/xmlns/bed/1.2" xmlns:q="http://quakeml.org/xmlns/quakeml/1.2">
<eventParameters publicID="ep">
<event publicID="smi:ev/e1">${pick("a", "00:10", "P")}${pick("b", "00:09", "S")}</event>
<event publicID="smi:ev/e2">${pick("c", "50:00", "P")}${pick("d", "50:03", "S")}</event>
</eventParameters></q:quakeml>`,
    );
    await Deno.writeTextFile(
      `${dir}/m.csv`,
      "id,waveform,network,station,location,channel,reference_time\na,a.mseed,XX,S1,00,HHZ,\n",
    );
    const [task] = await readManifest(`${dir}/m.csv`, `${dir}/picks.xml`);
    const at = (m: number, s: number) => Date.UTC(2025, 0, 1, 2, m) + s * 1000;
    assertEquals(task.pickTimes, [
      { time: at(0, 10), eventId: "smi:ev/e1" },
      { time: at(50, 0), eventId: "smi:ev/e2", sTime: at(50, 3) },
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
