import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { writeSynth } from "../../lib/io/synth.ts";
import { encodeMiniseed3, readMiniseedFile } from "../../lib/io/mseed.ts";
import { formatStationXml } from "../../lib/io/stationxml.ts";
import { parseCsvRecords } from "../../lib/io/csv.ts";
import {
  parseExtractConfig,
  readExtractConfig,
  spectrogramGeometry,
} from "../../lib/io/extract_config.ts";
import { runExtract } from "../../lib/io/extract.ts";
import { openDataset } from "../../lib/io/dataset.ts";
import { UserError } from "../../lib/util/errors.ts";
import { main } from "../../cli.ts";

/** A 5-sample synthetic set plus one bad row per failure case, sharing its manifest. */
async function fixture(): Promise<{ root: string; syn: string }> {
  const root = await Deno.makeTempDir();
  const syn = `${root}/syn`;
  await writeSynth(syn, { perClass: 1, seed: 11 });
  const rows = parseCsvRecords(await Deno.readTextFile(`${syn}/manifest.csv`));
  const good = rows[0];
  const src = `${syn}/${good.waveform}`;
  const bytes = await Deno.readFile(src);
  const [tr] = await readMiniseedFile(src);
  const ref = good.reference_time;
  const extra: string[][] = [];
  const add = (id: string, waveform: string, response = "stations.xml", refTime = ref) =>
    extra.push([
      id,
      waveform,
      response,
      "SY",
      good.station,
      "00",
      good.channel,
      refTime,
      good.label,
    ]);
  await Deno.writeFile(
    `${syn}/bad_truncated.mseed`,
    bytes.subarray(0, Math.floor(bytes.length / 2) + 3),
  );
  add("truncated", "bad_truncated.mseed");
  await Deno.writeFile(`${syn}/bad_empty.mseed`, new Uint8Array(0));
  add("empty", "bad_empty.mseed");
  await Deno.writeTextFile(
    `${syn}/bad_text.mseed`,
    "this is a text file, not miniSEED\n".repeat(10),
  );
  add("text", "bad_text.mseed");
  await Deno.writeTextFile(
    `${syn}/not_stationxml.xml`,
    `<?xml version="1.0"?><catalog><item/></catalog>`,
  );
  add("notxml", good.waveform, "not_stationxml.xml");
  await Deno.writeTextFile(
    `${syn}/noresp.xml`,
    formatStationXml([{
      network: "SY",
      station: good.station,
      location: "00",
      channel: "HHZ",
      latitude: 0,
      longitude: 0,
      elevation: 0,
      samplingRate: 100,
      startDate: "2023-01-01T00:00:00Z",
      azimuth: 0,
      dip: -90,
    }]),
  );
  add("noresp", good.waveform, "noresp.xml");
  const n = tr.data.length;
  const gapped = [{ ...tr, data: tr.data.slice(0, n / 2) }, {
    ...tr,
    startTime: tr.startTime + (n / 2) * 10 + 5000,
    data: tr.data.slice(n / 2),
  }];
  await Deno.writeFile(`${syn}/bad_gap.mseed`, await encodeMiniseed3(gapped));
  add("gap", "bad_gap.mseed");
  const nan = tr.data.map((v, i) => (i === 3000 ? NaN : v + 0.5));
  await Deno.writeFile(`${syn}/bad_nan.mseed`, await encodeMiniseed3([{ ...tr, data: nan }]));
  add("nan", "bad_nan.mseed");
  const flat = tr.data.map(() => 8980476);
  await Deno.writeFile(`${syn}/bad_flat.mseed`, await encodeMiniseed3([{ ...tr, data: flat }]));
  add("flat", "bad_flat.mseed");
  add("outside", good.waveform, "stations.xml", "2030-01-01T00:00:00Z");
  add("short", good.waveform, "stations.xml", new Date(tr.startTime + 5000).toISOString());
  add("missing", "no_such_file.mseed");
  add("noref", good.waveform, "stations.xml", "");
  const text = await Deno.readTextFile(`${syn}/manifest.csv`);
  await Deno.writeTextFile(
    `${syn}/manifest.csv`,
    text + extra.map((r) => r.join(",")).join("\n") + "\n",
  );
  return { root, syn };
}

Deno.test("extract: good samples become [N,1,87,67], each bad input is skipped with its reason and file", async () => {
  const { root, syn } = await fixture();
  try {
    const config = await readExtractConfig(`${syn}/extract.json`);
    const s = await runExtract(config, `${root}/ds`, { quiet: true });
    assertEquals(s.total, 17);
    assertEquals(s.ok, 5);
    assertEquals(s.shape, [5, 1, 87, 67]);
    assertEquals(s.byReason, {
      "truncated": 1,
      "empty file": 1,
      "not miniseed": 1,
      "bad response": 1,
      "no response": 1,
      "gap": 1,
      "nan": 1,
      "flat": 1,
      "pick outside trace": 1,
      "too short": 1,
      "unreadable": 1,
      "no reference time": 1,
    });
    const byId = Object.fromEntries(s.failures.map((f) => [f.id, f.message]));
    for (
      const [id, file] of [
        ["truncated", "bad_truncated.mseed"],
        ["empty", "bad_empty.mseed"],
        ["text", "bad_text.mseed"],
        ["notxml", "not_stationxml.xml"],
        ["noresp", "noresp.xml"],
        ["gap", "bad_gap.mseed"],
        ["nan", "bad_nan.mseed"],
        ["flat", "bad_flat.mseed"],
        ["missing", "no_such_file.mseed"],
        ["outside", ".mseed"],
        ["short", ".mseed"],
      ]
    ) {
      assert(byId[id].includes(file), `${id}: message names ${file}: ${byId[id]}`);
    }
    const ds = await openDataset(`${root}/ds`);
    assertEquals(ds.meta.shape, [5, 1, 87, 67]);
    assertEquals(ds.freqs.length, 87);
    assertEquals(ds.times[0], -20);
    assertEquals(ds.labels().filter((l) => l !== null).length, 5);
    const x = ds.readAll("maxabs");
    assert(x.every(Number.isFinite) && Math.max(...x) === 1, "finite, max-abs normalised");
    ds.close();
    const failures = parseCsvRecords(await Deno.readTextFile(`${root}/ds/failures.csv`));
    assertEquals(failures.length, 12);
    // Refuses to overwrite without --force; the CLI reports it and exits 2.
    assertEquals(
      await main(["extract", "--config", `${syn}/extract.json`, "--out", `${root}/ds`, "--quiet"]),
      2,
    );
    assertEquals(
      await main([
        "extract",
        "--config",
        `${syn}/extract.json`,
        "--out",
        `${root}/ds`,
        "--quiet",
        "--force",
        "--workers",
        "0",
        "--limit",
        "3",
      ]),
      0,
    );
    assertEquals((await openDataset(`${root}/ds`)).count, 3);
    // When every sample fails, extract exits 2 (and still writes failures.csv).
    const lines = (await Deno.readTextFile(`${syn}/manifest.csv`)).trim().split("\n");
    await Deno.writeTextFile(
      `${syn}/bad_only.csv`,
      [lines[0], ...lines.filter((l) => /^(missing|empty|flat),/.test(l))].join("\n") + "\n",
    );
    const args = ["--manifest", `${syn}/bad_only.csv`, "--out", `${root}/bad`, "--quiet"];
    assertEquals(await main(["extract", "--config", `${syn}/extract.json`, ...args]), 2);
    const bad = parseCsvRecords(await Deno.readTextFile(`${root}/bad/failures.csv`));
    assertEquals(bad.map((f) => f.reason).sort(), ["empty file", "flat", "unreadable"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract: reference times come from QuakeML picks when the manifest leaves them empty", async () => {
  const root = await Deno.makeTempDir();
  try {
    const syn = `${root}/syn`;
    await writeSynth(syn, { perClass: 1, seed: 5, classes: ["local_earthquake", "explosion"] });
    const m = await Deno.readTextFile(`${syn}/manifest.csv`);
    await Deno.writeTextFile(`${syn}/blank.csv`, m.replace(/,\d{4}-\d\d-\d\dT[^,]*Z,/g, ",,"));
    const config = parseExtractConfig({
      input: { format: "manifest", path: `${syn}/blank.csv`, picks: `${syn}/events.xml` },
      workers: 0,
    });
    const s = await runExtract(config, `${root}/ds`, { quiet: true });
    assertEquals([s.ok, s.total], [2, 2]);
    const a = await openDataset(`${root}/ds`);
    const b = parseCsvRecords(m);
    assertEquals(a.samples.map((x) => x.referenceTime), b.map((r) => r.reference_time));
    a.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract config: defaults give 87 x 67, errors name the field, Nyquist is checked", () => {
  const base = { input: { format: "manifest", path: "m.csv" } };
  const g = spectrogramGeometry(parseExtractConfig(base));
  assertEquals([g.nperseg, g.noverlap, g.nfft, g.nFreqs, g.nTimes], [257, 128, 512, 87, 67]);
  assertThrows(
    () => parseExtractConfig({ ...base, spectrogram: { overlap: 1.5 } }),
    UserError,
    "spectrogram.overlap",
  );
  assertThrows(() => parseExtractConfig({ ...base, workers: "two" }), UserError, "workers");
  assertThrows(() => parseExtractConfig({ ...base, bogus: 1 }), UserError, "bogus");
  assertThrows(() => parseExtractConfig({ input: { format: "seed" } }), UserError, "input.format");
  assertThrows(
    () =>
      parseExtractConfig({ ...base, preprocess: { samplingRate: 20, bandpass: { freqmax: 12 } } }),
    UserError,
    "preprocess.bandpass.freqmax must be below the Nyquist frequency 10 Hz",
  );
});

Deno.test("extract on the PhaseNet NPZ windows stacks Z, N, E (first 4 files, no response)", async () => {
  const root = await Deno.makeTempDir();
  try {
    const config = await readExtractConfig(
      new URL("../../lib/io/configs/phasenet.json", import.meta.url).pathname,
    );
    config.limit = 4;
    config.workers = 0;
    const s = await runExtract(config, `${root}/ds`, { quiet: true });
    assertEquals(s.ok, 4);
    assertEquals(s.shape, [4, 3, 87, 55]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract on ESEC: first 6 traces of the catalog config, labels = subtype", async () => {
  const root = await Deno.makeTempDir();
  try {
    const config = await readExtractConfig(
      new URL("../../lib/io/configs/esec.json", import.meta.url).pathname,
    );
    config.limit = 6;
    const s = await runExtract(config, `${root}/ds`, { quiet: true });
    assertEquals(s.shape, [6, 1, 87, 67]);
    const ds = await openDataset(`${root}/ds`);
    assertEquals(ds.labels()[0], "Lahar/debris flow/outburst flood");
    assertEquals(ds.samples[0].id, "2.AV.SPCR..BHE");
    ds.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
  await assertRejects(() => readExtractConfig("/nonexistent.json"), UserError, "nonexistent.json");
});

Deno.test("extract --npz keeps the config file's NPZ sampling rate; 100 Hz without one", async () => {
  const { applyOverrides } = await import("../../lib/cli/extract.ts");
  const from = (input: unknown) =>
    applyOverrides(parseExtractConfig({ input }), { npz: "/data/phasenet" }).input;
  assertEquals(from({ format: "npz", dir: "/x", samplingRate: 50 }), {
    format: "npz",
    dir: "/data/phasenet",
    samplingRate: 50,
  });
  assertEquals(
    (from({ format: "esec", dir: "/x" }) as { samplingRate: number }).samplingRate,
    100,
  );
});
