import { assert, assertEquals } from "../_assert.ts";
import { writeSynth } from "../../lib/io/synth.ts";
import { encodeMiniseed3, readMiniseedFile } from "../../lib/io/mseed.ts";
import { parseCsvRecords } from "../../lib/io/csv.ts";
import { readExtractConfig } from "../../lib/io/extract_config.ts";
import { runExtract } from "../../lib/io/extract.ts";
import { openDataset } from "../../lib/io/dataset.ts";
import { main } from "../../cli.ts";

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
    // Without the archive's data for a pick, the sample fails naming the day file it expected.
    await Deno.remove(`${sds}/2024/SY/S0002`, { recursive: true });
    const r = await runExtract(
      {
        ...config,
        input: {
          format: "sds",
          dir: sds,
          picks: `${syn}/events.xml`,
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
