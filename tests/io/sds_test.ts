import { assert, assertEquals } from "../_assert.ts";
import { writeSynth } from "../../lib/io/synth.ts";
import { encodeMiniseed3, readMiniseedFile } from "../../lib/io/mseed.ts";
import { parseCsvRecords } from "../../lib/io/csv.ts";
import {
  parseExtractConfig,
  readExtractConfig,
  spectrogramGeometry,
} from "../../lib/io/extract_config.ts";
import { InventoryCache, runExtract, runOne } from "../../lib/io/extract.ts";
import { sdsTasks } from "../../lib/io/manifest.ts";
import { formatQuakeMl, type QuakeMlEvent } from "../../lib/io/quakeml.ts";
import { openDataset } from "../../lib/io/dataset.ts";
import { main } from "../../cli.ts";
import { formatStationXml } from "../../lib/io/stationxml.ts";

Deno.test("extract --sds: one sample per event and station from QuakeML picks, read from day files, as from the manifest", async () => {
  const root = await Deno.makeTempDir();
  try {
    const syn = `${root}/syn`, sds = `${root}/sds`;
    await writeSynth(syn, { perClass: 1, seed: 2 });
    const rows = parseCsvRecords(await Deno.readTextFile(`${syn}/manifest.csv`));
    for (const [i, r] of rows.entries()) {
      const [tr] = await readMiniseedFile(`${syn}/${r.waveform}`);
      const d = `${sds}/2024/SY/${r.station}/HHZ.D`;
      await Deno.mkdir(d, { recursive: true });
      await Deno.writeFile(`${d}/SY.${r.station}.00.HHZ.D.2024.001`, await encodeMiniseed3([tr]));
      if (i === 0) {
        // The minutes around sample 0's window reach back into the previous day, whose file
        // holds one unrelated minute: both day files are read, the run covering the window kept.
        const prev = `${sds}/2023/SY/${r.station}/HHZ.D`;
        await Deno.mkdir(prev, { recursive: true });
        await Deno.writeFile(
          `${prev}/SY.${r.station}.00.HHZ.D.2023.365`,
          await encodeMiniseed3([{
            ...tr,
            startTime: Date.UTC(2023, 11, 31, 23, 50),
            data: tr.data.slice(0, 6000),
          }]),
        );
      }
    }
    // Station S0001's picks name no location: the archive's (00) is taken.
    const xml = await Deno.readTextFile(`${syn}/events.xml`);
    const edited = xml.replaceAll('stationCode="S0001" locationCode="00"', 'stationCode="S0001"');
    assert(edited !== xml, "the QuakeML names S0001's location");
    await Deno.writeTextFile(`${syn}/events.xml`, edited);
    const config = await readExtractConfig(`${syn}/extract.json`);
    assertEquals((await runExtract(config, `${root}/m`, { quiet: true })).ok, 5);
    assertEquals(
      await main([
        "extract",
        "--config",
        `${syn}/extract.json`,
        "--sds",
        sds,
        "--picks",
        `${syn}/events.xml`,
        "--stations",
        `${syn}/stations.xml`,
        "--out",
        `${root}/s`,
        "--quiet",
      ]),
      0,
    );
    const [m, s] = [await openDataset(`${root}/m`), await openDataset(`${root}/s`)];
    try {
      // Noise has no pick: 4 samples, labelled with the QuakeML event types.
      assertEquals(s.count, 4, await Deno.readTextFile(`${root}/s/failures.csv`));
      const types: Record<string, string> = {
        local_earthquake: "earthquake",
        regional_event: "earthquake",
        explosion: "quarry blast",
        tremor: "other event",
      };
      for (let i = 0; i < s.count; i++) {
        const j = m.samples.findIndex((x) => x.station === s.samples[i].station);
        assertEquals(s.samples[i].referenceTime, m.samples[j].referenceTime);
        assertEquals(s.samples[i].label, types[m.samples[j].label!]);
        assertEquals(s.samples[i].location, "00");
        // Each sample names its QuakeML event (samples.csv's event column); the manifest's
        // samples, placed by their reference_time, name none.
        assertEquals(s.samples[i].event, `smi:seisdec/event/${s.samples[i].id.split(".")[0]}`);
        assertEquals(m.samples[j].event, undefined);
        assertEquals(Array.from(s.readBatch([i])), Array.from(m.readBatch([j])), s.samples[i].id);
      }
      assert(
        s.samples.every((x) => /^syn\d+\.SY\.S/.test(x.id)),
        s.samples.map((x) => x.id).join(),
      );
      assert(s.samples.some((x) => x.station === "S0001"), "the location fallback found S0001");
    } finally {
      m.close();
      s.close();
    }
    // --stations may list several files, separated by ';': each channel takes the first that
    // holds it (here the second: the first holds another network's channel), as a manifest's
    // response column does. The same dataset, bit for bit.
    await Deno.writeTextFile(
      `${root}/other.xml`,
      formatStationXml([{
        network: "XX",
        station: "OTHER",
        location: "",
        channel: "HHZ",
        latitude: 0,
        longitude: 0,
        elevation: 0,
        samplingRate: 100,
        startDate: "2020-01-01T00:00:00Z",
        azimuth: 0,
        dip: -90,
      }]),
    );
    assertEquals(
      await main([
        "extract",
        "--config",
        `${syn}/extract.json`,
        "--sds",
        sds,
        "--picks",
        `${syn}/events.xml`,
        "--stations",
        `${root}/other.xml;${syn}/stations.xml`,
        "--out",
        `${root}/s3`,
        "--quiet",
      ]),
      0,
    );
    assertEquals(
      await Deno.readFile(`${root}/s3/spectrograms.npy`),
      await Deno.readFile(`${root}/s/spectrograms.npy`),
    );
    // Without the archive's data for a pick, the sample fails naming the day file it expected.
    await Deno.remove(`${sds}/2024/SY/S0002`, { recursive: true });
    const r = await runExtract(
      {
        ...config,
        input: {
          format: "sds",
          dir: sds,
          picks: `${syn}/events.xml`,
          windows: null,
          stations: `${syn}/stations.xml`,
          phase: "P",
        },
      },
      `${root}/s2`,
      { quiet: true },
    );
    const miss = r.failures.find((f) => f.id.endsWith(".SY.S0002"));
    assert(miss?.message.includes("SY.S0002.00.HHZ.D.2024.001"), JSON.stringify(r.failures));
    assertEquals(miss?.reason, "missing channel");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract --sds: a day file the window needs but the archive lacks is named when the sample fails", async () => {
  const root = await Deno.makeTempDir();
  try {
    // A pick 10 s before New Year at XX.AAA: the window's 5-minute margins need 2024.366 and
    // 2025.001; only the first exists.
    const t = Date.UTC(2024, 11, 31, 23, 59, 50);
    const d = `${root}/2024/XX/AAA/HHZ.D`;
    await Deno.mkdir(d, { recursive: true });
    await Deno.writeFile(`${d}/XX.AAA.00.HHZ.D.2024.366`, new Uint8Array(0));
    // BBB holds only the new year's file, at location 10, and its pick names no location: the
    // location is found in the second day's directory.
    const d2 = `${root}/2025/XX/BBB/HHZ.D`;
    await Deno.mkdir(d2, { recursive: true });
    await Deno.writeFile(`${d2}/XX.BBB.10.HHZ.D.2025.001`, new Uint8Array(0));
    const at = (station: string, location: string) => ({
      network: "XX",
      station,
      location,
      channel: "HHZ",
      phase: "P",
      time: t,
    });
    const pick: QuakeMlEvent = {
      id: "e1",
      type: "earthquake",
      origin: { time: t - 60_000, latitude: 0, longitude: 0, depth: 0 },
      picks: [at("AAA", "00"), at("BBB", "")],
    };
    await Deno.writeTextFile(`${root}/ev.xml`, formatQuakeMl([pick]));
    const tasks = await sdsTasks(`${root}`, `${root}/ev.xml`, null, "P", (c) => [c], [
      320_000,
      370_000,
    ]);
    const task = tasks.find((x) => x.station === "AAA")!;
    const other = tasks.find((x) => x.station === "BBB")!;
    const next = `${root}/2025/XX/AAA/HHZ.D/XX.AAA.00.HHZ.D.2025.001`;
    assertEquals(task.missingFiles, [next]);
    assertEquals([other.location, other.error], ["10", undefined]);
    assertEquals(other.waveforms, [`${d2}/XX.BBB.10.HHZ.D.2025.001`]);
    // A sample that then comes out too short says which file was missing.
    const config = parseExtractConfig({ input: { format: "manifest", path: "-" } });
    task.error = { reason: "too short", message: "Cannot crop XX.AAA.00.HHZ" };
    const r = await runOne(0, task, config, new InventoryCache(), spectrogramGeometry(config));
    assert(!r.ok && r.message.endsWith(`; missing day file(s): ${next}`), JSON.stringify(r));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract --sds: a pick whose day file's path holds a directory or a symbolic link to nothing fails naming that path and what it is", async () => {
  const root = await Deno.makeTempDir();
  try {
    const t = Date.UTC(2024, 0, 1, 12);
    const d = `${root}/2024/XX/AAA/HHZ.D`;
    await Deno.mkdir(`${d}/XX.AAA.00.HHZ.D.2024.001`, { recursive: true });
    await Deno.mkdir(`${root}/2024/XX/BBB/HHZ.D`, { recursive: true });
    await Deno.symlink("/gone", `${root}/2024/XX/BBB/HHZ.D/XX.BBB.00.HHZ.D.2024.001`);
    const at = (station: string) => ({
      network: "XX",
      station,
      location: "00",
      channel: "HHZ",
      phase: "P",
      time: t,
    });
    const pick: QuakeMlEvent = {
      id: "e1",
      type: "earthquake",
      origin: { time: t - 60_000, latitude: 0, longitude: 0, depth: 0 },
      picks: [at("AAA"), at("BBB")],
    };
    await Deno.writeTextFile(`${root}/ev.xml`, formatQuakeMl([pick]));
    const tasks = await sdsTasks(root, `${root}/ev.xml`, null, "P", (c) => [c], [20_000, 66_000]);
    assertEquals(tasks.map((x) => x.error), [
      {
        reason: "missing channel",
        message: `Cannot find XX.AAA.00.HHZ in ${root}: ${d}/XX.AAA.00.HHZ.D.2024.001 is a ` +
          "directory, not a day file",
      },
      {
        reason: "missing channel",
        message: `Cannot find XX.BBB.00.HHZ in ${root}: ${root}/2024/XX/BBB/HHZ.D/` +
          "XX.BBB.00.HHZ.D.2024.001 is a symbolic link to /gone, which does not exist",
      },
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract --sds: a pick in a leap second fails its sample as bad time, naming the file, the pick and its time", async () => {
  const root = await Deno.makeTempDir();
  try {
    const at = (station: string) => ({
      network: "XX",
      station,
      location: "00",
      channel: "HHZ",
      phase: "P",
      time: Date.UTC(2016, 11, 31, 23, 59, 59, 500),
    });
    const ev: QuakeMlEvent = {
      id: "e1",
      type: "earthquake",
      origin: { time: Date.UTC(2016, 11, 31, 23, 59, 0), latitude: 0, longitude: 0, depth: 0 },
      picks: [at("AAA"), at("BBB")],
    };
    // BBB's pick in the leap second 2016-12-31T23:59:60.5Z.
    const xml = formatQuakeMl([ev]).replace(
      /(<pick publicID="smi:seisdec\/pick\/e1\/1">\s*<time><value>)[^<]*/,
      "$12016-12-31T23:59:60.5Z",
    );
    await Deno.writeTextFile(`${root}/ev.xml`, xml);
    const tasks = await sdsTasks(root, `${root}/ev.xml`, null, "P", (c) => [c], [1000, 1000]);
    assertEquals(tasks.map((t) => [t.id, t.error?.reason]), [
      ["e1.XX.AAA", "missing channel"], // no archive here: only its error differs
      ["e1.XX.BBB", "bad time"],
    ]);
    const msg = tasks[1].error!.message;
    for (
      const part of [
        "Cannot place sample e1.XX.BBB",
        "pick smi:seisdec/pick/e1/1 at '2016-12-31T23:59:60.5Z'",
        "leap second",
        `${root}/ev.xml`,
      ]
    ) assert(msg.includes(part), `"${part}" missing: ${msg}`);
    assertEquals(tasks[1].label, "earthquake");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract --sds: a station with day files of Z, 1 and 2 but not N and E gives Z, N, E by rotation, as from the manifest; with --rotate never it lacks N", async () => {
  const root = await Deno.makeTempDir();
  try {
    const syn = `${root}/syn`, sds = `${root}/sds`;
    await writeSynth(syn, { perClass: 1, seed: 2, components: ["Z", "1", "2"] });
    for (const r of parseCsvRecords(await Deno.readTextFile(`${syn}/manifest.csv`))) {
      for (const tr of await readMiniseedFile(`${syn}/${r.waveform}`)) {
        const d = `${sds}/2024/SY/${r.station}/${tr.channel}.D`;
        await Deno.mkdir(d, { recursive: true });
        await Deno.writeFile(
          `${d}/SY.${r.station}.00.${tr.channel}.D.2024.001`,
          await encodeMiniseed3([tr]),
        );
      }
    }
    const config = await readExtractConfig(`${syn}/extract.json`);
    assertEquals(config.components, ["Z", "N", "E"]);
    const m = await runExtract(config, `${root}/m`, { quiet: true });
    assertEquals([m.ok, m.rotated], [5, 5]);
    const sdsRun = (out: string, rotate: string) =>
      runExtract(
        {
          ...config,
          rotate: rotate as "auto" | "never",
          input: {
            format: "sds",
            dir: sds,
            picks: `${syn}/events.xml`,
            windows: null,
            stations: `${syn}/stations.xml`,
            phase: "P",
          },
        },
        `${root}/${out}`,
        { quiet: true },
      );
    const s = await sdsRun("s", "auto");
    // Noise has no pick: 4 samples, each rotated from HHZ, HH1, HH2.
    assertEquals([s.ok, s.rotated, s.failures.length], [4, 4, 0]);
    const [dm, ds] = [await openDataset(`${root}/m`), await openDataset(`${root}/s`)];
    try {
      for (let i = 0; i < ds.count; i++) {
        const j = dm.samples.findIndex((x) => x.station === ds.samples[i].station);
        assertEquals(ds.readBatch([i], "none"), dm.readBatch([j], "none"));
      }
    } finally {
      dm.close();
      ds.close();
    }
    const never = await sdsRun("n", "never");
    assertEquals([never.ok, never.failures.length], [0, 4]);
    for (const f of never.failures) {
      assertEquals(f.reason, "missing channel");
      assert(/SY\.S\w+\.00\.HHN in .*: expected .*HHN\.D\.2024\.001/.test(f.message), f.message);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("SDS --stations: a list splits on ';', but a file whose own name holds ';' is one file", async () => {
  const { stationFiles } = await import("../../lib/io/extract_config.ts");
  const dir = await Deno.makeTempDir();
  try {
    const odd = `${dir}/resp;v2.xml`;
    await Deno.writeTextFile(odd, "");
    assertEquals(stationFiles(odd), [odd]);
    assertEquals(stationFiles("resp;v2.xml", (p) => `${dir}/${p}`), ["resp;v2.xml"]);
    assertEquals(stationFiles(`${dir}/a.pz ; ${dir}/b.pz;`), [`${dir}/a.pz`, `${dir}/b.pz`]);
    assertEquals(stationFiles(`${dir}/inv.xml`), [`${dir}/inv.xml`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
