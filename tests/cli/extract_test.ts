import { join, resolve } from "node:path";
import { readMiniseedSegments } from "../../lib/io/mseed.ts";
import { aboveNyquistNote, applyOverrides, extract } from "../../lib/cli/extract.ts";
import { esecTasks } from "../../lib/io/manifest.ts";
import {
  assert,
  assertAlmostEquals,
  assertClose,
  assertEquals,
  assertNotEquals,
  assertRejects,
  assertThrows,
} from "../_assert.ts";
import { readNpy } from "../../lib/io/npy.ts";
import { writeSynth } from "../../lib/io/synth.ts";
import { encodeMiniseed3, readMiniseedFile, type Trace } from "../../lib/io/mseed.ts";
import { isSac } from "../../lib/io/sac.ts";
import { formatStationXml } from "../../lib/io/stationxml.ts";
import { formatQuakeMl, type QuakeMlEvent } from "../../lib/io/quakeml.ts";
import { parseCsvRecords } from "../../lib/io/csv.ts";
import {
  checkConsistency,
  configWarnings,
  EXTRACT_FLAG_FIELDS,
  marginOf,
  parseExtractConfig,
  readExtractConfig,
  spectrogramGeometry,
  stationFiles,
  traceSamples,
  workerCount,
} from "../../lib/io/extract_config.ts";
import { run as runCli } from "./_run.ts";
import { writeDirAtomic } from "../../lib/util/atomic.ts";
import {
  buildTasks,
  inspectSample,
  InventoryCache,
  isDecodedKept,
  processSample,
  RECORDED_BAND,
  recordedBandTop,
  runExtract,
  TRIM_PAD_S,
  trimAround,
} from "../../lib/io/extract.ts";
import { Rng } from "../../lib/util/rng.ts";
import type { SdsTrigger } from "../../lib/io/sds_triggers.ts";
import { preprocessTrace } from "../../lib/signal/preprocess.ts";
import { kaiser, spectrogram } from "../../lib/signal/stft.ts";
import { openDataset } from "../../lib/io/dataset.ts";
import { UserError } from "../../lib/util/errors.ts";
import { SampleError } from "../../lib/io/sample_error.ts";
import { main } from "../../cli.ts";
import { restoreNpzCrcs } from "../_npz.ts";

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
      "",
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

/** Runs `fn` on a seeded two-class synthetic set (`perClass` per class) in a temporary root. */
async function withSynth(
  perClass: number,
  fn: (root: string, syn: string) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir();
  try {
    const syn = `${root}/syn`;
    await writeSynth(syn, { perClass, seed: 5, classes: ["local_earthquake", "explosion"] });
    await fn(root, syn);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("extract keeps a decoded waveform file for later samples only where another sample reads it", async () => {
  await withSynth(2, async (root, syn) => {
    // The first event's file is read by two rows (the second under another id); the others by one.
    const rows = (await Deno.readTextFile(`${syn}/manifest.csv`)).trim().split("\n");
    const again = rows[1].split(",");
    again[0] += "_again";
    await Deno.writeTextFile(`${syn}/m.csv`, [...rows, again.join(",")].join("\n") + "\n");
    const config = await readExtractConfig(`${syn}/extract.json`);
    const cfg = {
      ...config,
      input: { ...config.input, path: `${syn}/m.csv` } as typeof config.input,
      workers: 0,
    };
    const s = await runExtract(cfg, `${root}/ds`, { quiet: true });
    assertEquals([s.ok, s.failures.length], [5, 0]);
    const files = rows.slice(1).map((r) => `${syn}/${r.split(",")[1]}`);
    assertEquals(await Promise.all(files.map(isDecodedKept)), [true, false, false, false]);
    // processSample alone keeps every file (inspect, library use).
    const [task] = (await buildTasks(cfg)).slice(1, 2);
    await processSample(task, cfg);
    assert(await isDecodedKept(files[1]));
  });
});

Deno.test("extract --limit N --subset random draws N of the samples that can be tried, seeded, in input order; rows that cannot be tried are listed", async () => {
  await withSynth(5, async (root, syn) => {
    const rows = (await Deno.readTextFile(`${syn}/manifest.csv`)).trim().split("\n");
    const cells = rows.map((r) => r.split(","));
    cells[2][1] = "waveforms/gone_1.mseed";
    cells[7][1] = "waveforms/gone_6.mseed";
    await Deno.writeTextFile(`${syn}/m.csv`, cells.map((c) => c.join(",")).join("\n") + "\n");
    const ids = cells.slice(1).map((c) => c[0]);
    const tryable = ids.filter((_, i) => i !== 1 && i !== 6);
    const base = await readExtractConfig(`${syn}/extract.json`);
    const subset = async (limit: number, seed: number) => {
      const cfg = {
        ...base,
        input: { ...base.input, path: `${syn}/m.csv` },
        limit,
        subset: "random" as const,
        subsetSeed: seed,
      } as typeof base;
      return (await buildTasks(cfg)).map((t) => t.id);
    };
    const a = await subset(4, 1), again = await subset(4, 1), b = await subset(4, 2);
    assertEquals(again, a, "the same seed draws the same subset");
    assertNotEquals(b, a, "another seed draws another");
    for (const got of [a, b]) {
      // Both unreadable rows, and 4 of the 8 others, all in input order.
      assertEquals(got.length, 6, `${got}`);
      assertEquals(got.filter((id) => id === ids[1] || id === ids[6]), [ids[1], ids[6]]);
      assertEquals(got, ids.filter((id) => got.includes(id)), "input order");
    }
    const firstFour = tryable.slice(0, 4);
    assertNotEquals(a.filter((id) => tryable.includes(id)), firstFour, "not simply the first 4");
    // Over many seeds every tryable row is drawn: uniform, not a fixed window.
    const drawn = new Set<string>();
    for (let seed = 0; seed < 12; seed++) for (const id of await subset(2, seed)) drawn.add(id);
    assertEquals([...drawn].sort(), [...ids].sort());
    // A limit past the rows that can be tried keeps every row.
    assertEquals(await subset(50, 3), ids);
    // Through the CLI: the dataset holds the drawn samples; the unreadable rows are failures.
    const args = ["--manifest", `${syn}/m.csv`, "--out", `${root}/ds`, "--limit", "4"];
    const run = (...more: string[]) =>
      main(["extract", "--config", `${syn}/extract.json`, ...args, ...more, "--quiet"]);
    assertEquals(await run("--subset", "random", "--subset-seed", "1", "--workers", "0"), 0);
    const ds = await openDataset(`${root}/ds`);
    assertEquals(ds.samples.map((x) => x.id), a.filter((id) => tryable.includes(id)));
    ds.close();
    const failures = parseCsvRecords(await Deno.readTextFile(`${root}/ds/failures.csv`));
    assertEquals(failures.map((f) => [f.id, f.reason]), [
      [ids[1], "unreadable"],
      [ids[6], "unreadable"],
    ]);
    // --subset random needs --limit; a bad mode is named.
    const errs: string[] = [];
    const { error } = console;
    console.error = (...m: unknown[]) => errs.push(m.join(" "));
    try {
      const noLimit = ["--manifest", `${syn}/m.csv`, "--out", `${root}/x`, "--subset", "random"];
      assertEquals(await main(["extract", "--config", `${syn}/extract.json`, ...noLimit]), 2);
      assertEquals(await run("--subset", "some", "--force"), 2);
    } finally {
      console.error = error;
    }
    assert(errs[0].includes("--subset random (config 'subset') needs --limit N"), errs[0]);
    assert(
      errs[1].includes("Cannot read --subset: expected first or random: found 'some'"),
      errs[1],
    );
  });
});

Deno.test("extract --subset random draws the same samples only from the same input rows in the same order: the rows reordered, or one row fewer that can be tried, draw others with the same seed (README)", async () => {
  await withSynth(5, async (_root, syn) => {
    const [head, ...rows] = (await Deno.readTextFile(`${syn}/manifest.csv`)).trim().split("\n");
    const base = await readExtractConfig(`${syn}/extract.json`);
    const draw = async (body: string[]) => {
      await Deno.writeTextFile(`${syn}/m.csv`, [head, ...body].join("\n") + "\n");
      const cfg = {
        ...base,
        input: { ...base.input, path: `${syn}/m.csv` },
        limit: 4,
        subset: "random" as const,
        subsetSeed: 1,
      } as typeof base;
      return (await buildTasks(cfg)).map((t) => t.id).sort();
    };
    const a = await draw(rows);
    assertEquals(await draw(rows), a, "the same rows in the same order: the same samples");
    assertNotEquals(await draw([...rows].reverse()), a, "the same rows reversed");
    // The first row's file gone: it is still listed (unreadable), and the draw shifts.
    const cells = rows.map((r) => r.split(","));
    cells[0][1] = "waveforms/gone.mseed";
    const gone = await draw(cells.map((c) => c.join(",")));
    assertNotEquals(gone.filter((id) => id !== cells[0][0]), a.filter((id) => id !== cells[0][0]));
  });
});

Deno.test("extract --limit N counts the samples whose files exist; rows with missing files before them are listed in failures.csv", async () => {
  await withSynth(3, async (root, syn) => {
    const rows = (await Deno.readTextFile(`${syn}/manifest.csv`)).trim().split("\n");
    const cells = rows.map((r) => r.split(","));
    cells[2][1] = "waveforms/gone_1.mseed";
    cells[4][1] = "waveforms/gone_3.mseed";
    cells[5][7] = "2030-01-01T00:00:00Z"; // its file exists: it counts, and fails when processed
    cells[5][9] = ""; // (its S time would now come before the reference)
    await Deno.writeTextFile(`${syn}/m.csv`, cells.map((c) => c.join(",")).join("\n") + "\n");
    const out: string[] = [];
    const { log } = console;
    console.log = (...a: unknown[]) => out.push(a.join(" "));
    try {
      const args = ["--manifest", `${syn}/m.csv`, "--out", `${root}/ds`, "--limit", "3"];
      const code = await main([
        "extract",
        "--config",
        `${syn}/extract.json`,
        ...args,
        "--workers",
        "0",
        "--quiet",
      ]);
      assertEquals(code, 0);
    } finally {
      console.log = log;
    }
    // Rows 0, 2 and 4 can be tried (4 fails as it is processed); 1 and 3 are skipped.
    const ids = cells.slice(1).map((c) => c[0]);
    const ds = await openDataset(`${root}/ds`);
    assertEquals(ds.samples.map((x) => x.id), [ids[0], ids[2]]);
    ds.close();
    const failures = parseCsvRecords(await Deno.readTextFile(`${root}/ds/failures.csv`));
    assertEquals(failures.map((f) => [f.id, f.reason]), [
      [ids[1], "unreadable"],
      [ids[3], "unreadable"],
      [ids[4], "pick outside trace"],
    ]);
    // Said as NPZ input says it; it gave Deno's error, the path named twice.
    assertEquals(
      failures[0].message,
      `Cannot read ${syn}/waveforms/gone_1.mseed: no such file (the manifest's waveform, row 3)`,
    );
    // A reference time past the file names the file's whole span, not only the records that
    // were decoded around that time (which made a good file look truncated).
    const segs = await readMiniseedSegments(`${syn}/${cells[5][1]}`);
    const span = `${new Date(segs[0].startTime).toISOString()} .. `;
    assert(
      failures[2].message.includes(`is outside the data of the file, which covers ${span}`),
      failures[2].message,
    );
    assert(out[0].startsWith("extract: 2 of 5 samples"), out[0]);
  });
});

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
    // A manifest row without a time says where one goes.
    assertEquals(
      byId.noref,
      "Cannot place sample noref: it has no reference time (pick or origin): give it a " +
        "reference_time in the manifest, or a QuakeML pick for its station (--picks)",
    );
    // What the 67 frames read: half a 257-sample window (1.28 s) before the first frame at
    // -20 s, and up to the last sample of the last frame, centred at 65.14 s: 66.42 s after.
    // The note gives those numbers; it said the crop ran to 66 s with half a window (67.28 s).
    assert(
      byId.short.includes("the window needs 21.28 s before and 66.42 s after the reference") &&
        byId.short.endsWith(
          "(the STFT frames are centred from spectrogram.before 20 s before to 65.14 s after, " +
            "the last within spectrogram.after 66 s, --before/--after, and each reads half an " +
            "STFT window, 1.28 s, --window-length, each side)",
        ),
      byId.short,
    );
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
    // A bad flag value with a valid config file is blamed on the flags, not on the file.
    const errs: string[] = [];
    const { error } = console;
    console.error = (...a: unknown[]) => errs.push(a.join(" "));
    try {
      const flagArgs = ["--out", `${root}/x`, "--limit", "0", "--quiet"];
      assertEquals(await main(["extract", "--config", `${syn}/extract.json`, ...flagArgs]), 2);
    } finally {
      console.error = error;
    }
    assertEquals(errs[0], "error: Cannot read --limit: expected > 0: found 0");
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

Deno.test("extract: value [c, f, t] is the dB PSD at bin k0 + f of the frame centred at reference − before + t·hop/fs", async () => {
  // Noise at 100 Hz, two channels with different data, no response or band-pass: with
  // windowLength 1 s, nperseg 101 (centre sample 50), hop 51, nfft 128, bins 2..20 Hz
  // (k0 = 3 to k1 = 25 at 100/128 Hz, 23 bins) and frames from −5 s to +10 s (30). Each frame is computed here on its own
  // from the preprocessed trace, so that a crop shifted by half a window or an [F, T] layout
  // written as [T, F] fails.
  const root = await Deno.makeTempDir();
  try {
    // The reference 7 ms (0.7 sample) past a sample: the frames centre on the nearest sample.
    const fs = 100, n = 120 * fs, start = Date.UTC(2024, 0, 1), tref = start + 40_007;
    const rng = new Rng(8);
    const ids = ["HHZ", "HHN"];
    const traces = ids.map((channel) => ({
      network: "XX",
      station: "AAA",
      location: "",
      channel,
      startTime: start,
      samplingRate: fs,
      data: new Float64Array(n).map(() => Math.round(1000 * rng.normal())),
    }));
    await Deno.writeFile(`${root}/w.mseed`, await encodeMiniseed3(traces));
    await Deno.writeTextFile(
      `${root}/m.csv`,
      "id,waveform,response,network,station,location,channel,reference_time,label\n" +
        `s1,w.mseed,,XX,AAA,,HH?,${new Date(tref).toISOString()},a\n`,
    );
    const config = parseExtractConfig({
      input: { format: "manifest", path: `${root}/m.csv` },
      components: ["Z", "N"],
      preprocess: { response: { remove: false }, bandpass: null },
      spectrogram: { windowLength: 1, fmin: 2, fmax: 20, before: 5, after: 10, scaling: "db" },
      workers: 0,
    });
    const g = spectrogramGeometry(config);
    assertEquals([g.nperseg, g.hop, g.nfft, g.k0, g.nFreqs, g.nTimes], [101, 51, 128, 3, 23, 30]);
    const s = await runExtract(config, `${root}/ds`, { quiet: true });
    assertEquals([s.ok, s.shape], [1, [1, 2, 23, 30]]);
    const ds = await openDataset(`${root}/ds`);
    const got = ds.readAll("none");
    // times.npy: the frame centres, −5 s + t·0.51 s.
    assertClose(ds.times, new Float64Array(30).map((_, t) => -5 + t * 0.51), 1e-12, 0, "times");
    ds.close();
    const w = kaiser(101, config.spectrogram.beta);
    for (let c = 0; c < 2; c++) {
      const y = preprocessTrace(traces[c].data, fs, { samplingRate: fs, bandpass: null });
      for (let t = 0; t < 30; t++) {
        const centre = 3501 + t * 51; // round((40.007 − 5) · 100)
        const seg = y.slice(centre - 50, centre + 51);
        const psd = spectrogram(seg, fs, { nperseg: 101, noverlap: 0, nfft: 128, window: w }).psd;
        for (let f = 0; f < 23; f++) {
          const want = 10 * Math.log10(psd[3 + f]);
          const v = got[(c * 23 + f) * 30 + t];
          // Stored as float32: values of |dB| < 100 round by < 4e-6; 1e-4 dB leaves margin.
          assert(Math.abs(v - want) < 1e-4, `[${c}, ${f}, ${t}]: ${v} dB, expected ${want}`);
        }
      }
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract --resume: an interrupted extraction continues from its checkpoint to the same dataset", async () => {
  const { root, syn } = await fixture();
  try {
    const config = await readExtractConfig(`${syn}/extract.json`);
    const same = async (dir: string, want: string) => {
      for (const f of ["spectrograms.npy", "samples.csv", "failures.csv", "freqs.npy"]) {
        assertEquals(await Deno.readFile(`${dir}/${f}`), await Deno.readFile(`${want}/${f}`), f);
      }
    };
    const full = await runExtract(config, `${root}/full`, { quiet: true });
    // 17 inputs: 5 good, then 12 bad. Stop after 8 (5 written, 3 failed), with a checkpoint
    // after every sample, in the main thread and in workers.
    for (const workers of [0, 2]) {
      const out = `${root}/ds${workers}`, partial = `${root}/.ds${workers}.partial`;
      const cfg = { ...config, workers };
      await assertRejects(
        () => runExtract(cfg, out, { quiet: true, checkpointSeconds: 0, stopAfter: 8 }),
        Error,
        "stopped after 8",
      );
      const prog = JSON.parse(await Deno.readTextFile(`${partial}/progress.json`));
      assertEquals([prog.count, prog.state.next, prog.state.failures.length], [5, 8, 3]);
      await assertRejects(() => runExtract(cfg, out, { quiet: true }), UserError, "--resume");
      const other = { ...cfg, spectrogram: { ...cfg.spectrogram, fmax: 17 } };
      await assertRejects(
        () => runExtract(other, out, { quiet: true, resume: true }),
        UserError,
        `other settings (spectrogram.fmax: ${cfg.spectrogram.fmax} → 17)`,
      );
      // A changed input list is refused too, naming what changed in the first row: its
      // reference time (or pick), label, response file or waveform.
      const manifest = `${syn}/manifest.csv`;
      const text = await Deno.readTextFile(manifest);
      const rows = text.trimEnd().split("\n");
      const first = rows[1].split(",");
      // Said in words: the values are hashes (it showed their first characters, then → now).
      const edits: [number, (v: string) => string, string][] = [
        [7, (v) => v.replace(/\.(\d)/, (_, d) => `.${(+d + 1) % 10}`), "inputPicks: the reference"],
        [8, (v) => v + "_x", "inputLabels: the labels changed"],
        [2, () => "other.xml", "inputChannels: the channels or response files changed"],
        [1, (v) => v + "_x", "inputList: the sample ids or waveform files"],
      ];
      try {
        for (const [col, edit, field] of edits) {
          const row = [...first];
          row[col] = edit(row[col]);
          assertNotEquals(row[col], first[col]);
          await Deno.writeTextFile(manifest, [rows[0], row.join(","), ...rows.slice(2)].join("\n"));
          const e = await assertRejects(
            () => runExtract(cfg, out, { quiet: true, resume: true }),
            UserError,
            "other settings (",
          );
          assert(e.message.includes(field), e.message);
        }
      } finally {
        await Deno.writeTextFile(manifest, text);
      }
      // A resume may use other workers; it ends with the uninterrupted run's files.
      const s = await runExtract({ ...cfg, workers: 2 - workers }, out, {
        quiet: true,
        resume: true,
      });
      assertEquals([s.resumed, s.ok, s.failures.length], [8, 5, 12]);
      assertEquals(s.byReason, full.byReason);
      await same(out, `${root}/full`);
      assert((await Deno.stat(partial).catch(() => null)) === null, "partial renamed into place");
    }
    // Through the CLI: without --resume the interrupted one is in the way (exit 2); --force
    // starts over.
    await assertRejects(
      () => runExtract(config, `${root}/cli`, { quiet: true, checkpointSeconds: 0, stopAfter: 2 }),
    );
    const args = ["extract", "--config", `${syn}/extract.json`, "--out", `${root}/cli`, "--quiet"];
    assertEquals(await main(args), 2);
    // A partial whose samples.csv has another version's columns is not appended to.
    const csv = `${root}/.cli.partial/samples.csv`;
    const kept = await Deno.readTextFile(csv);
    const older = kept.replace(
      /^[^\n]*/,
      "id,network,station,location,channel,reference_time,label",
    );
    await Deno.writeTextFile(csv, older);
    await assertRejects(
      () => runExtract(config, `${root}/cli`, { quiet: true, resume: true }),
      UserError,
      "written by another version of seisdec",
    );
    await Deno.writeTextFile(csv, kept);
    assertEquals(await main([...args, "--resume"]), 0);
    await same(`${root}/cli`, `${root}/full`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract --resume keeps the rotations, clipped channels, joined gaps and above-Nyquist counts of the samples written before the stop", async () => {
  const root = await Deno.makeTempDir();
  try {
    // Every station 1 and 2 at 40 Hz (each sample rotated, its band ending at 18 Hz, below the
    // crop's 19.5 Hz); sample 0's channel 1 clipped, sample 1's channel 2 with a gap.
    const syn = `${root}/syn`;
    await writeSynth(syn, {
      perClass: 1,
      seed: 3,
      components: ["Z", "1", "2"],
      samplingRates: [40],
    });
    const rows = parseCsvRecords(await Deno.readTextFile(`${syn}/manifest.csv`));
    const edit = async (row: Record<string, string>, f: (ts: Trace[]) => Trace[]) => {
      const path = `${syn}/${row.waveform}`;
      await Deno.writeFile(path, await encodeMiniseed3(f(await readMiniseedFile(path))));
    };
    await edit(rows[0], (ts) => {
      const one = ts.find((t) => t.channel.endsWith("1"))!;
      // The synthetic counts are few: 1000 times the gain, with a count of noise, at a rail a
      // fifth of the peak.
      const loud = one.data.map((v, i) => 1000 * v + (i % 7));
      const rail = Math.round(0.2 * Math.max(...loud.map(Math.abs)));
      one.data = loud.map((v) => Math.max(-rail, Math.min(rail, v)));
      return ts;
    });
    await edit(rows[1], (ts) =>
      ts.flatMap((t) => {
        if (!t.channel.endsWith("2")) return [t];
        // 6 samples (0.15 s) missing 1 s after the reference time.
        const dt = 1000 / t.samplingRate;
        const at = Math.round((Date.parse(rows[1].reference_time) + 1000 - t.startTime) / dt);
        return [
          { ...t, data: t.data.slice(0, at) },
          { ...t, startTime: t.startTime + (at + 6) * dt, data: t.data.slice(at + 6) },
        ];
      }));
    const config = parseExtractConfig({
      input: { format: "manifest", path: `${syn}/manifest.csv` },
      components: ["Z", "N", "E"],
      preprocess: { response: { remove: false }, bandpass: null },
      spectrogram: { fmax: 19.5 },
      workers: 0,
    });
    const full = await runExtract(config, `${root}/full`, { quiet: true });
    assertEquals([full.ok, full.rotated, full.aboveNyquist], [5, 5, { "40": 5 }]);
    assertEquals(full.clipped.map((c) => c.id), [rows[0].id]);
    assertEquals(full.joined.map((c) => [c.id, c.gaps, c.gapSamples]), [[rows[1].id, 1, 6]]);
    // Stopped after samples 0 and 1, both written; resumed.
    const out = `${root}/ds`;
    await assertRejects(
      () => runExtract(config, out, { quiet: true, checkpointSeconds: 0, stopAfter: 2 }),
      Error,
      "stopped after 2",
    );
    const s = await runExtract(config, out, { quiet: true, resume: true });
    assertEquals([s.resumed, s.ok, s.rotated], [2, 5, 5]);
    assertEquals(s.aboveNyquist, full.aboveNyquist);
    assertEquals([s.clipped, s.joined], [full.clipped, full.joined]);
    for (const f of ["rotations.csv", "clipped.csv", "joined.csv"]) {
      assertEquals(
        await Deno.readTextFile(`${out}/${f}`),
        await Deno.readTextFile(`${root}/full/${f}`),
        f,
      );
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract --resume is refused, naming inputEvents, when a manifest row's event_id changed since the interruption", async () => {
  const root = await Deno.makeTempDir();
  try {
    const syn = `${root}/syn`;
    await writeSynth(syn, { perClass: 1, seed: 3 });
    const manifest = `${syn}/manifest.csv`;
    const [head, ...lines] = (await Deno.readTextFile(manifest)).trimEnd().split("\n");
    const write = (events: string[]) =>
      Deno.writeTextFile(
        manifest,
        [`${head},event_id`, ...lines.map((l, i) => `${l},${events[i]}`)].join("\n") + "\n",
      );
    const events = lines.map((_, i) => `ev${i}`);
    await write(events);
    const config = { ...await readExtractConfig(`${syn}/extract.json`), workers: 0 };
    const out = `${root}/ds`;
    await assertRejects(
      () => runExtract(config, out, { quiet: true, checkpointSeconds: 0, stopAfter: 2 }),
      Error,
      "stopped after 2",
    );
    // Another event for the first row, its time, label and files the same.
    await write(["ev9", ...events.slice(1)]);
    await assertRejects(
      () => runExtract(config, out, { quiet: true, resume: true }),
      UserError,
      "was made with other settings (inputEvents: the events changed since the interrupted " +
        "run): resume",
    );
    await write(events);
    const s = await runExtract(config, out, { quiet: true, resume: true });
    assertEquals([s.resumed, s.ok], [2, 5]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract reads a miniSEED file whose sample at byte 304 is 6, SAC's header version", async () => {
  const root = await Deno.makeTempDir();
  try {
    const syn = `${root}/syn`;
    await writeSynth(syn, { perClass: 1, seed: 9, classes: ["local_earthquake"] });
    const [row] = parseCsvRecords(await Deno.readTextFile(`${syn}/manifest.csv`));
    const file = `${syn}/${row.waveform}`;
    const [tr] = await readMiniseedFile(file);
    assert(tr.data.every(Number.isInteger), "integer counts, stored as int32");
    // miniSEED 3: a 40-byte header, the source id, the extra headers, then the samples.
    const head = await Deno.readFile(file);
    const dataAt = 40 + head[33] + (head[34] | (head[35] << 8));
    // Little-endian int32 samples: make bytes 304..307 read 06 00 00 00.
    const data = tr.data.slice(), i = Math.floor((304 - dataAt) / 4);
    if ((304 - dataAt) % 4 === 0) data[i] = 6;
    else {
      assertEquals((304 - dataAt) % 4, 2);
      [data[i], data[i + 1]] = [6 * 65536, 0];
    }
    const bytes = await encodeMiniseed3([{ ...tr, data }]);
    assert(isSac(bytes), "the word SAC files keep their header version in reads 6");
    await Deno.writeFile(file, bytes);
    const s = await runExtract(await readExtractConfig(`${syn}/extract.json`), `${root}/ds`, {
      quiet: true,
    });
    assertEquals([s.ok, s.failures], [1, []]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract cuts a long record to the window plus 5 minutes a side before preprocessing it", async () => {
  const root = await Deno.makeTempDir();
  try {
    const syn = `${root}/syn`;
    await writeSynth(syn, { perClass: 1, seed: 9, classes: ["local_earthquake"] });
    const [row] = parseCsvRecords(await Deno.readTextFile(`${syn}/manifest.csv`));
    const [tr] = await readMiniseedFile(`${syn}/${row.waveform}`);
    // Two hours of small integer noise with the 110 s event record at its middle.
    const fs = tr.samplingRate, rng = new Rng(1);
    const long = new Float64Array(7200 * fs).map(() => Math.round(20 * rng.normal()));
    const at = 3600 * fs;
    long.set(tr.data, at);
    const start = tr.startTime - 3600 * 1000;
    await Deno.writeFile(
      `${syn}/long.mseed`,
      await encodeMiniseed3([{ ...tr, startTime: start, data: long }]),
    );
    // The same record cut, by trimAround, to what extract keeps of it.
    const config = await readExtractConfig(`${syn}/extract.json`);
    const g = spectrogramGeometry(config), sc = config.spectrogram;
    const half = g.nperseg / 2 / g.samplingRate;
    const tref = Date.parse(row.reference_time);
    const cut = trimAround(
      { ...tr, startTime: start, data: long },
      tref - (sc.before + half + TRIM_PAD_S) * 1000,
      tref + (sc.after + half + TRIM_PAD_S) * 1000,
    );
    assert(cut.data.length < long.length / 5, `cut to ${cut.data.length} of ${long.length}`);
    await Deno.writeFile(
      `${syn}/cut.mseed`,
      await encodeMiniseed3([{ ...cut, data: cut.data.slice() }]),
    );
    const head = Object.keys(row).join(",");
    const line = (file: string) => Object.values({ ...row, waveform: file }).join(",");
    await Deno.writeTextFile(`${syn}/long.csv`, `${head}\n${line("long.mseed")}\n`);
    await Deno.writeTextFile(`${syn}/cut.csv`, `${head}\n${line("cut.mseed")}\n`);
    const run = (m: string, out: string) =>
      runExtract(
        { ...config, input: { ...config.input, path: `${syn}/${m}` } } as typeof config,
        out,
        {
          quiet: true,
        },
      );
    assertEquals((await run("long.csv", `${root}/a`)).ok, 1);
    assertEquals((await run("cut.csv", `${root}/b`)).ok, 1);
    // Bit for bit: the two hours were cut exactly as the file cut beforehand.
    assertEquals(
      await Deno.readFile(`${root}/a/spectrograms.npy`),
      await Deno.readFile(`${root}/b/spectrograms.npy`),
    );
    // Decoded files are kept for the next sample of the same record, but a file rewritten
    // since (another size or time) is read anew: the record scaled ×2 has 4× the PSD.
    const runMain = (out: string) =>
      runExtract(
        {
          ...config,
          workers: 0,
          input: { ...config.input, path: `${syn}/cut.csv` },
        } as typeof config,
        out,
        { quiet: true },
      );
    await runMain(`${root}/c1`);
    await Deno.writeFile(
      `${syn}/cut.mseed`,
      await encodeMiniseed3([{ ...cut, data: cut.data.map((v) => 2 * v) }]),
    );
    await runMain(`${root}/c2`);
    const [d1, d2] = [await openDataset(`${root}/c1`), await openDataset(`${root}/c2`)];
    const [x1, x2] = [d1.readAll(), d2.readAll()];
    d1.close();
    d2.close();
    assert(x1.every((v, i) => Math.abs(x2[i] - 4 * v) <= 1e-5 * x2[i]), "the file was read anew");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract: preprocess.margin (--margin) sets the data kept each side of the crop, in place of 300 s", async () => {
  const root = await Deno.makeTempDir();
  try {
    const syn = `${root}/syn`;
    await writeSynth(syn, { perClass: 1, seed: 9, classes: ["local_earthquake"] });
    const [row] = parseCsvRecords(await Deno.readTextFile(`${syn}/manifest.csv`));
    const [tr] = await readMiniseedFile(`${syn}/${row.waveform}`);
    const fs = tr.samplingRate, rng = new Rng(1);
    const long = new Float64Array(1800 * fs).map(() => Math.round(20 * rng.normal()));
    long.set(tr.data, 900 * fs);
    const start = tr.startTime - 900 * 1000;
    await Deno.writeFile(
      `${syn}/long.mseed`,
      await encodeMiniseed3([{ ...tr, startTime: start, data: long }]),
    );
    const base = await readExtractConfig(`${syn}/extract.json`);
    const margin = 40;
    const config: typeof base = { ...base, preprocess: { ...base.preprocess, margin } };
    assertEquals(marginOf(base), TRIM_PAD_S);
    assertEquals(marginOf(config), margin);
    const g = spectrogramGeometry(config), sc = config.spectrogram;
    assertEquals(
      traceSamples(config, g),
      Math.round((sc.before + sc.after + 2 * margin) * config.preprocess.samplingRate) + g.nperseg,
    );
    // The record cut beforehand to the crop and 40 s a side gives the same spectrogram bit for
    // bit: extract kept 40 s, not 300.
    const half = g.nperseg / 2 / g.samplingRate;
    const tref = Date.parse(row.reference_time);
    const cut = trimAround(
      { ...tr, startTime: start, data: long },
      tref - (sc.before + half + margin) * 1000,
      tref + (sc.after + half + margin) * 1000,
    );
    await Deno.writeFile(
      `${syn}/cut.mseed`,
      await encodeMiniseed3([{ ...cut, data: cut.data.slice() }]),
    );
    const head = Object.keys(row).join(",");
    const line = (file: string) => Object.values({ ...row, waveform: file }).join(",");
    await Deno.writeTextFile(`${syn}/long.csv`, `${head}\n${line("long.mseed")}\n`);
    await Deno.writeTextFile(`${syn}/cut.csv`, `${head}\n${line("cut.mseed")}\n`);
    const run = (c: typeof config, m: string, out: string) =>
      runExtract({ ...c, input: { ...c.input, path: `${syn}/${m}` } } as typeof c, out, {
        quiet: true,
      });
    assertEquals((await run(config, "long.csv", `${root}/a`)).ok, 1);
    assertEquals((await run(config, "cut.csv", `${root}/b`)).ok, 1);
    assertEquals((await run(base, "long.csv", `${root}/c`)).ok, 1);
    const spec = (d: string) => Deno.readFile(`${root}/${d}/spectrograms.npy`);
    assertEquals(await spec("a"), await spec("b"));
    assertNotEquals(await spec("a"), await spec("c"));
    // The default config writes no margin (datasets made before it compare equal); a given one
    // is recorded.
    const meta = (d: string) => JSON.parse(Deno.readTextFileSync(`${root}/${d}/meta.json`));
    assertEquals(meta("c").config.preprocess.margin, undefined);
    assertEquals(meta("a").config.preprocess.margin, margin);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract: reference times come from QuakeML picks when the manifest leaves them empty", () =>
  withSynth(1, async (root, syn) => {
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
  }));

Deno.test("extract: of several events' P picks at a station, the one whose window the waveform covers is used; event_id chooses; ambiguity fails", () =>
  withSynth(2, async (root, syn) => {
    const rows = parseCsvRecords(await Deno.readTextFile(`${syn}/manifest.csv`));
    const truth = rows.map((r) => Date.parse(r.reference_time));
    const pickAt = (row: number, time: number) => ({
      network: "SY",
      station: rows[row].station,
      location: "00",
      channel: rows[row].channel.replace("?", "Z"),
      phase: "P",
      time,
    });
    const origin = { time: 0, latitude: 0, longitude: 0, depth: 0 };
    const events: QuakeMlEvent[] = rows.map((_, i) => ({
      id: `real${i}`,
      type: "earthquake",
      origin,
      // An S pick and a later P pick (a depth phase, say) of the same event never compete.
      picks: [
        pickAt(i, truth[i]),
        { ...pickAt(i, truth[i] + 4000), phase: "S" },
        { ...pickAt(i, truth[i] + 9000), phase: "pP" },
      ],
    }));
    // Row 0: an event two hours earlier (outside the trace) and one 20 s later (inside it,
    // but its 66 s after the pick run past the trace's end). The old rule, the earliest P
    // pick at the station, took the first.
    events.push({ id: "early", type: "earthquake", origin, picks: [pickAt(0, truth[0] - 7.2e6)] });
    events.push({ id: "late", type: "earthquake", origin, picks: [pickAt(0, truth[0] + 20_000)] });
    // Rows 1 and 2: a second event 5 s later whose window the trace covers too.
    events.push({ id: "twin1", type: "earthquake", origin, picks: [pickAt(1, truth[1] + 5000)] });
    events.push({ id: "twin2", type: "earthquake", origin, picks: [pickAt(2, truth[2] + 5000)] });
    // Row 3: its only P pick has a time that is not a date.
    const xml = formatQuakeMl(events.filter((e) => e.id !== "real3")).replace(
      "</eventParameters>",
      `<event publicID="smi:seisdec/event/real3"><pick publicID="smi:seisdec/pick/broken">` +
        `<time><value>2023-02-30T25:00:00Z</value></time>` +
        `<waveformID networkCode="SY" stationCode="${rows[3].station}" locationCode="00" ` +
        `channelCode="HHZ"/><phaseHint>P</phaseHint></pick></event></eventParameters>`,
    );
    await Deno.writeTextFile(`${syn}/events2.xml`, xml);
    const eventIds = ["", "smi:seisdec/event/twin1", "", ""];
    const header = [...Object.keys(rows[0]), "event_id"];
    const body = rows.map((
      r,
      i,
    ) => [...Object.values(r).map((v, j) => (j === 7 || j === 9 ? "" : v)), eventIds[i]]);
    await Deno.writeTextFile(
      `${syn}/m.csv`,
      [header, ...body].map((r) => r.join(",")).join("\n") + "\n",
    );
    const config = parseExtractConfig({
      input: { format: "manifest", path: `${syn}/m.csv`, picks: `${syn}/events2.xml` },
      workers: 0,
    });
    const s = await runExtract(config, `${root}/ds`, { quiet: true });
    assertEquals([s.ok, s.total], [2, 4]);
    const ds = await openDataset(`${root}/ds`);
    assertEquals(
      ds.samples.map((x) => [x.id, x.referenceTime]),
      [
        [rows[0].id, new Date(truth[0]).toISOString()],
        [rows[1].id, new Date(truth[1] + 5000).toISOString()],
      ],
    );
    // samples.csv's event: the event of the pick chosen among several (row 0), and the
    // manifest's own event_id where it names one (row 1).
    assertEquals(ds.samples.map((x) => x.event), [
      "smi:seisdec/event/real0",
      "smi:seisdec/event/twin1",
    ]);
    ds.close();
    const bad = parseCsvRecords(await Deno.readTextFile(`${root}/ds/failures.csv`));
    assertEquals(bad.map((f) => [f.id, f.reason]), [
      [rows[2].id, "ambiguous pick"],
      [rows[3].id, "bad time"],
    ]);
    assert(bad[0].message.includes("smi:seisdec/event/twin2"), bad[0].message);
    assert(bad[0].message.includes("event_id"), bad[0].message);
    assert(bad[1].message.includes("smi:seisdec/pick/broken"), bad[1].message);
  }));

Deno.test("extract: a manifest row with a field too few or an unreadable reference_time fails alone, naming the row", () =>
  withSynth(1, async (root, syn) => {
    const lines = (await Deno.readTextFile(`${syn}/manifest.csv`)).trim().split("\n");
    const [head, a, b] = lines;
    const cells = b.split(",");
    const shortRow = ["short", ...a.split(",").slice(1, -1)].join(","); // s_time left out
    const badTime = ["badtime", ...cells.slice(1, 7), "2023-02-30T00:00:00Z", ...cells.slice(8)]
      .join(",");
    await Deno.writeTextFile(
      `${syn}/m.csv`,
      [head, a, shortRow, badTime].join("\n") + "\n",
    );
    const config = parseExtractConfig({
      input: { format: "manifest", path: `${syn}/m.csv` },
      workers: 0,
    });
    const s = await runExtract(config, `${root}/ds`, { quiet: true });
    assertEquals([s.ok, s.total], [1, 3]);
    const bad = parseCsvRecords(await Deno.readTextFile(`${root}/ds/failures.csv`));
    assertEquals(bad.map((f) => [f.id, f.reason]), [["short", "bad row"], ["badtime", "bad time"]]);
    assert(
      bad[0].message.includes("row 3 of") && bad[0].message.includes("found 9"),
      bad[0].message,
    );
    assert(
      bad[1].message.includes("row 4 of") && bad[1].message.includes("'2023-02-30T00:00:00Z'") &&
        bad[1].message.includes("day 30 does not exist"),
      bad[1].message,
    );
  }));

Deno.test("extract config: defaults give 87 x 67, errors name the field (and what workers expects), Nyquist is checked", () => {
  const base = { input: { format: "manifest", path: "m.csv" } };
  const g = spectrogramGeometry(parseExtractConfig(base));
  assertEquals([g.nperseg, g.noverlap, g.nfft, g.nFreqs, g.nTimes], [257, 128, 512, 87, 67]);
  assertThrows(
    () => parseExtractConfig({ ...base, spectrogram: { overlap: 1.5 } }),
    UserError,
    "spectrogram.overlap",
  );
  assertThrows(() => parseExtractConfig({ ...base, workers: "two" }), UserError, "workers");
  // Neither a number nor "auto" (a string, a fraction): what is expected, not "Invalid input".
  for (const workers of ["2", 1.5, null]) {
    assertThrows(
      () => parseExtractConfig({ ...base, workers }, "c.json"),
      UserError,
      'Cannot use c.json: invalid field workers: expected a whole number from 0 to 64, or "auto"',
    );
  }
  // Workers: one per CPU thread by default, at most 16; a number is taken as given.
  assertEquals(parseExtractConfig(base).workers, "auto");
  const cpus = navigator.hardwareConcurrency ?? 2;
  assertEquals(workerCount("auto"), Math.max(1, Math.min(16, cpus)));
  assertEquals([workerCount(0), workerCount(3)], [0, 3]);
  assertThrows(() => parseExtractConfig({ ...base, bogus: 1 }), UserError, "bogus");
  assertThrows(() => parseExtractConfig({ input: { format: "seed" } }), UserError, "input.format");
  assertThrows(
    () =>
      parseExtractConfig({ ...base, preprocess: { samplingRate: 20, bandpass: { freqmax: 12 } } }),
    UserError,
    "preprocess.bandpass.freqmax must be below the Nyquist frequency 10 Hz",
  );
  // A window of one sample, and a Kaiser beta whose I0 overflows: refused here, not per sample.
  assertThrows(
    () => parseExtractConfig({ ...base, spectrogram: { windowLength: 0.004, fmin: 0, fmax: 50 } }),
    UserError,
    "spectrogram.windowLength 0.004 s is 1 sample at 100 Hz: expected a window of at least 2 samples (0.00500 s or more)",
  );
  assertThrows(
    () => parseExtractConfig({ ...base, spectrogram: { beta: 1000 } }),
    UserError,
    "spectrogram.beta",
  );
  // The relations between fields, each named with the values found.
  const bad: [Record<string, unknown>, string][] = [
    [
      { preprocess: { bandpass: { freqmin: 18, freqmax: 18 } } },
      "preprocess.bandpass: freqmin (18 Hz) must be below freqmax (18 Hz)",
    ],
    [
      { spectrogram: { fmin: 10, fmax: 60 } },
      "spectrogram.fmin/fmax must satisfy fmin < fmax <= 50 Hz (Nyquist of 100 Hz): found 10 and 60 Hz",
    ],
    [
      { spectrogram: { fmin: 12, fmax: 5 } },
      "spectrogram.fmin/fmax must satisfy fmin < fmax <= 50 Hz (Nyquist of 100 Hz): found 12 and 5 Hz",
    ],
    [
      { preprocess: { response: { preFilt: [0.2, 0.5, 0.4, 19] } } },
      "preprocess.response.preFilt must be 4 increasing frequencies: found [0.2,0.5,0.4,19]",
    ],
    // A level above the response's maximum flattened the response instead of removing it.
    [
      { preprocess: { response: { waterLevel: -20 } } },
      "invalid field preprocess.response.waterLevel: expected dB below the response maximum, > 0",
    ],
    [
      { spectrogram: { nfft: 384 } },
      "spectrogram.nfft must be a power of two >= nperseg (257): current value is 384",
    ],
    [
      { spectrogram: { nfft: 256 } },
      "spectrogram.nfft must be a power of two >= nperseg (257): current value is 256",
    ],
    [
      { spectrogram: { fmin: 1, fmax: 1.05, nfft: 1024 } },
      "the crop 1..1.05 Hz holds no frequency bin: the bins are 0.09766 Hz apart (sampling " +
      "rate 100 Hz / nfft 1024): widen fmin..fmax",
    ],
    [
      { spectrogram: { fmin: 1, fmax: 1.1 } },
      "the crop 1..1.1 Hz holds no frequency bin: the bins are 0.1953 Hz apart (sampling rate " +
      "100 Hz / nfft 512, from the 2.56 s window): widen fmin..fmax, or lengthen the window " +
      "(--window-length) or raise --nfft for finer bins",
    ],
  ];
  for (const [fields, msg] of bad) {
    assertThrows(
      () => parseExtractConfig({ ...base, ...fields }, "x.json"),
      UserError,
      `Cannot use x.json: ${msg}`,
    );
  }
});

Deno.test("extract config: sizes that would allocate gigabytes are refused before any sample, naming the fields, the value, the limit and the size", () => {
  const base = { input: { format: "manifest", path: "m.csv" } };
  const sds = (w: Record<string, unknown>) => ({
    input: {
      format: "sds",
      dir: "a",
      windows: { start: "2020-01-01", end: "2021-01-01", channels: ["XX.A..HHZ"], ...w },
    },
  });
  const most = "expected at most 10000000 samples";
  const bad: [Record<string, unknown>, string][] = [
    // Each of these allocated gigabytes, or wrote [0, 1, 22817014, 1], or failed every sample as
    // a bad response.
    [
      { ...base, spectrogram: { after: 1e9 } },
      "each sample preprocesses a trace of (spectrogram.before 20 s + spectrogram.after " +
      "1000000000 s + 2 × preprocess.margin 300 s) × preprocess.samplingRate 100 Hz + an STFT " +
      "window " +
      `of 257 samples (spectrogram.windowLength 2.56 s) = 100000000000 samples: ${most} ` +
      "(100000 s at 100 Hz) in one trace",
    ],
    [
      { ...base, spectrogram: { windowLength: 1e6 } },
      "an STFT window of 100000001 samples (spectrogram.windowLength 1000000 s) = 100100000 " +
      `samples: ${most}`,
    ],
    [
      { ...base, preprocess: { samplingRate: 1e7 } },
      "× preprocess.samplingRate 10000000 Hz + an STFT window of 25600001 samples " +
      `(spectrogram.windowLength 2.56 s) = 6886000000 samples: ${most} (1 s at 10000000 Hz)`,
    ],
    [
      { ...base, spectrogram: { nfft: 2 ** 31 } },
      "spectrogram.nfft 2147483648 is over 16777216 (2^24): an FFT of 2147483648 points " +
      "(32 GiB of complex doubles) for every frame",
    ],
    [
      {
        ...base,
        spectrogram: {
          fmin: 0,
          fmax: 50,
          windowLength: 100,
          overlap: 0.99,
          before: 3e3,
          after: 3e3,
        },
      },
      "the spectrogram image would be 8193 rows (spectrogram.fmin 0 to fmax 50 Hz in bins of " +
      "0.006104 Hz, nfft 16384) × 5941 columns (spectrogram.before 3000 s + after 3000 s in " +
      "hops of 1.01 s, windowLength 100 s, overlap 0.99) = 48674613 values a component: " +
      "expected at most 8388608 (32 MiB in float32)",
    ],
    [
      sds({ step: 0.001 }),
      "input.windows.step: 0.001 s from 2020-01-01 to 2021-01-01 makes 31622400000 windows a " +
      "channel: expected at most 5000000 in one run (a step of at least 6.33 s over this span)",
    ],
  ];
  for (const [c, msg] of bad) {
    const e = assertThrows(() => parseExtractConfig(c, "x.json"), UserError, msg);
    assert(e.message.startsWith("Cannot use x.json: "), e.message);
  }
  // A day's crop at 100 Hz, an hour's at 1000 Hz, a year of minute windows are taken.
  const ok: [Record<string, unknown>, number, number][] = [
    [{ ...base, spectrogram: { before: 43200, after: 43200 } }, 87, 66977],
    [
      {
        ...base,
        preprocess: { samplingRate: 1000, bandpass: null, response: { preFilt: null } },
        spectrogram: { before: 1800, after: 1800, fmax: 400 },
      },
      1634,
      2811,
    ],
    [sds({ step: 60 }), 87, 67],
  ];
  for (const [c, f, t] of ok) {
    const g = spectrogramGeometry(parseExtractConfig(c, "x.json"));
    assertEquals([g.nFreqs, g.nTimes], [f, t]);
  }
});

Deno.test("a crop window reaching into the 5 % tapers at a trace's ends fails as too short, naming the taper", async () => {
  // PhaseNet windows: 90 s, P at 30 s; the tapers cover 4.5 s at each end. The crop (with half a
  // 2.57 s STFT window) starts 30 - before - 1.28 s into the trace and ends 60 - 1.28 s - the
  // last frame centre (54.82 s for after = 55) before its end. From 28 s before the pick, the
  // first frame came out 17 dB low.
  const cases: [number, number, string | null][] = [
    [23, 50, null],
    [25, 50, "starts 3.72 s into the trace, inside the 4.50 s cosine taper at its start"],
    [28, 50, "starts 0.72 s into the trace, inside the 4.50 s cosine taper at its start"],
    [20, 55, "ends 3.90 s before the trace's end, inside the 4.50 s cosine taper there"],
  ];
  for (const [before, after, message] of cases) {
    const root = await Deno.makeTempDir();
    try {
      const config = await readExtractConfig(
        new URL("../../lib/io/configs/phasenet.json", import.meta.url).pathname,
      );
      Object.assign(config, { limit: 1, workers: 0 });
      // 2.56 s windows (257 samples), 1-18 Hz: the numbers above do not hang on phasenet.json's.
      Object.assign(config.spectrogram, { before, after, windowLength: 2.56, fmax: 18 });
      const s = await runExtract(config, `${root}/ds`, { quiet: true });
      if (message === null) {
        assertEquals(s.ok, 1, `before ${before}`);
        continue;
      }
      // All samples fail: runExtract still returns, main would exit 2.
      assertEquals(s.failures.map((f) => f.reason), ["too short"]);
      assert(
        s.failures[0].message.includes(message) &&
          s.failures[0].message.includes("preprocess.taper 0.05 of the 90.00 s trace"),
        s.failures[0].message,
      );
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  }
});

Deno.test("extract --help says that only an SDS archive's missing channel does not count toward --limit, as the README does", () => {
  // An ESEC station without a component fails as 'missing channel' as it is processed, and
  // counts; the help said every missing channel did not.
  const help = extract.flags.limit.description.replace(/\s+/g, " ");
  assert(
    help.includes("(bad row, bad time, no reference time, an SDS archive's missing channel)"),
    help,
  );
});

Deno.test("extract on the PhaseNet NPZ windows stacks Z, N, E (limit 4: the first 4 files that exist, no response); a listed file that is missing is reported", async () => {
  const root = await Deno.makeTempDir();
  try {
    const config = await readExtractConfig(
      new URL("../../lib/io/configs/phasenet.json", import.meta.url).pathname,
    );
    config.limit = 4;
    config.workers = 0;
    const s = await runExtract(config, `${root}/ds`, { quiet: true });
    // Rows 2 and 4 of waveform.csv name single-component files the shared copy left out: they
    // do not count towards the limit, so 6 rows give the 4 samples asked for.
    assertEquals(s.ok, 4);
    assertEquals(s.total, 6);
    assertEquals(s.shape, [4, 3, 50, 59]); // 1-40 Hz in 1 s windows, -5..+25 s
    assertEquals(s.failures.map((f) => [f.id, f.reason]), [
      ["NC_MTU_2014071807051236_02", "unreadable"],
      ["NC_KCR_2001092605130217_02", "unreadable"],
    ]);
    assert(
      s.failures[0].message.endsWith(
        "NC_MTU_2014071807051236_02.npz: no such file (listed in waveform.csv)",
      ),
      s.failures[0].message,
    );
    // S − P from waveform.csv's its and itp at 100 Hz (NC_MEM_2017100709282692: 3287 − 3000),
    // and no coordinates: NPZ windows come without a StationXML.
    const ds = await openDataset(`${root}/ds`);
    const csv = parseCsvRecords(
      await Deno.readTextFile(
        new URL("../../../shared/data/phasenet_ncedc/waveform.csv", import.meta.url),
      ),
    );
    for (const x of ds.samples) {
      const row = csv.find((r) => r.fname === `${x.id}.npz`)!;
      assertEquals(x.sMinusP, (Number(row.its) - Number(row.itp)) / 100, x.id);
      assertEquals(x.latitude, undefined, x.id);
    }
    assertEquals(ds.samples[0].id, "NC_MEM_2017100709282692");
    assertEquals(ds.samples[0].sMinusP, 2.87);
    ds.close();
    // Asked to remove a response the windows do not come with: each sample says how not to.
    config.preprocess.response.remove = true;
    config.limit = 1;
    const r = await runExtract(config, `${root}/ds2`, { quiet: true }).then(
      () => null,
      (e: Error) => e,
    );
    const f = parseCsvRecords(await Deno.readTextFile(`${root}/ds2/failures.csv`).catch(() => ""));
    const msg = [r?.message ?? "", ...f.map((x) => x.message)].join("\n");
    assert(
      msg.includes(
        "no StationXML or SAC pole-zero file given (for data without one, such as " +
          "PhaseNet NPZ windows, pass --no-response: preprocess.response.remove false)",
      ),
      msg,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract reads an NPZ whose data array numpy stored in Fortran order (np.stack(...).T)", async () => {
  const src = new URL("../../../shared/data/phasenet_ncedc/", import.meta.url).pathname;
  const fname = "NC_MEM_2017100709282692.npz";
  const root = await Deno.makeTempDir();
  try {
    const csv = (await Deno.readTextFile(`${src}/waveform.csv`)).split("\n");
    const row = csv.find((l) => l.startsWith(fname))!;
    // The same values column-major: the data.npy entry is stored (not deflated), so its header
    // and data are rewritten in place, and its CRC-32 to match.
    const bytes = await Deno.readFile(`${src}/waveform_train/${fname}`);
    const text = new TextDecoder("latin1").decode(bytes);
    const at = text.indexOf("'fortran_order': False, 'shape': (9001, 3)");
    assert(at > 0, "data.npy header not found");
    bytes.set(new TextEncoder().encode("True "), at + "'fortran_order': ".length);
    const magic = text.lastIndexOf("NUMPY", at) - 1; // the byte before is 0x93
    const hlen = bytes[magic + 8] | (bytes[magic + 9] << 8);
    const off = magic + 10 + hlen, n = 9001;
    const c = new Float64Array(bytes.slice(off, off + n * 3 * 8).buffer);
    const f = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) for (let j = 0; j < 3; j++) f[j * n + i] = c[i * 3 + j];
    bytes.set(new Uint8Array(f.buffer), off);
    restoreNpzCrcs(bytes);
    const dirs = { c: `${root}/c`, f: `${root}/f` };
    for (const [k, d] of Object.entries(dirs)) {
      await Deno.mkdir(`${d}/waveform_train`, { recursive: true });
      await Deno.writeTextFile(`${d}/waveform.csv`, `${csv[0]}\n${row}\n`);
      const b = k === "c" ? await Deno.readFile(`${src}/waveform_train/${fname}`) : bytes;
      await Deno.writeFile(`${d}/waveform_train/${fname}`, b);
    }
    const config = await readExtractConfig(
      new URL("../../lib/io/configs/phasenet.json", import.meta.url).pathname,
    );
    config.workers = 0;
    const out: Float32Array[] = [];
    for (const d of [dirs.c, dirs.f]) {
      config.input = { ...config.input, dir: d } as typeof config.input;
      const s = await runExtract(config, `${d}/ds`, { quiet: true });
      assertEquals([s.ok, s.shape], [1, [1, 3, 50, 59]]);
      out.push((await openDataset(`${d}/ds`)).readBatch([0]));
    }
    assertEquals(out[1], out[0]);
    // Read as C order, the same bytes gave other spectrograms (the components interleaved).
    assert(out[0].some((v) => v !== 0));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract fails an NPZ window zero-padded inside the crop window as a gap, naming where", async () => {
  const src = new URL("../../../shared/data/phasenet_ncedc/", import.meta.url).pathname;
  // BG.SQK's window ends about 40 s after P: its last 1,460 samples are 0, and a crop to 50 s
  // after P with 2.56 s windows runs to +51.29 s (phasenet.json's own crop ends at +25.5 s).
  // NC.MEM's window holds data throughout.
  const names = ["BG_SQK_2008053018513134", "NC_MEM_2017100709282692"];
  const root = await Deno.makeTempDir();
  try {
    const csv = (await Deno.readTextFile(`${src}/waveform.csv`)).split("\n");
    await Deno.mkdir(`${root}/waveform_train`);
    await Deno.writeTextFile(
      `${root}/waveform.csv`,
      [csv[0], ...names.map((n) => csv.find((l) => l.startsWith(`${n}.npz`))!)].join("\n") + "\n",
    );
    for (const n of names) {
      await Deno.copyFile(`${src}/waveform_train/${n}.npz`, `${root}/waveform_train/${n}.npz`);
    }
    const config = await readExtractConfig(
      new URL("../../lib/io/configs/phasenet.json", import.meta.url).pathname,
    );
    config.input = { ...config.input, dir: root } as typeof config.input;
    config.spectrogram = { ...config.spectrogram, windowLength: 2.56, fmax: 18, after: 50 };
    config.workers = 0;
    const s = await runExtract(config, `${root}/ds`, { quiet: true });
    assertEquals(s.ok, 1);
    assertEquals(s.failures.map((f) => [f.id, f.reason]), [[names[0], "gap"]]);
    assert(
      s.failures[0].message.includes(
        "BG.SQK..DPZ of sample BG_SQK_2008053018513134 (" +
          `${root}/waveform_train/BG_SQK_2008053018513134.npz): its 1136 samples from +39.94 s to ` +
          "+51.29 s (relative to the reference time) all equal 0",
      ),
      s.failures[0].message,
    );
    // A gap tolerance longer than the padding keeps it.
    config.gapTolerance = 12;
    const t = await runExtract(config, `${root}/ds2`, { quiet: true });
    assertEquals([t.ok, t.failures.length], [2, 0]);
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
    // The station's coordinates, from its StationXML channel epoch (stations/2/AV.SPCR.xml:
    // BHE at 61.2003, -152.2091, 984 m).
    const s0 = ds.samples[0];
    assertEquals([s0.latitude, s0.longitude, s0.elevation], [61.2003, -152.2091, 984]);
    assert(ds.samples.every((x) => Number.isFinite(x.latitude)), "every sample placed");
    ds.close();
    // The finer catalogue column as labels (config input.label, or --esec-label type).
    const dir = (config.input as { dir: string }).dir;
    assertEquals(
      (await esecTasks(dir, false, "type")).slice(0, 2).map((t) => [t.id, t.label]),
      [["2.AV.SPCR..BHE", "outburst flood"], ["3.TA.M02C..BHE", "outburst flood, debris flow"]],
    );
    const over = (flags: Record<string, string>) =>
      applyOverrides(parseExtractConfig({ input: { format: "esec", dir } }), flags).input;
    assertEquals(over({}), { format: "esec", dir, label: "subtype" });
    assertEquals(over({ "esec-label": "type" }), { format: "esec", dir, label: "type" });
    assertThrows(() => over({ "esec-label": "class" }), UserError, "expected subtype or type");
    assertThrows(
      () =>
        applyOverrides(parseExtractConfig({ input: { format: "npz", dir } }), {
          "esec-label": "type",
        }),
      UserError,
      "it applies to ESEC input",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
  await assertRejects(() => readExtractConfig("/nonexistent.json"), UserError, "nonexistent.json");
});

Deno.test("extract on ESEC with components Z, N, E stacks each station's three files; a station with one fails", async () => {
  const root = await Deno.makeTempDir();
  try {
    const config = await readExtractConfig(
      new URL("../../lib/io/configs/esec.json", import.meta.url).pathname,
    );
    config.components = ["Z", "N", "E"];
    config.limit = 4; // events 2 (AV.SPCR: BHE only), 3 (TA.M02C, TA.M04C) and 4 (DK.NUUG)
    config.workers = 0;
    const s = await runExtract(config, `${root}/ds`, { quiet: true });
    assertEquals(s.shape, [3, 3, 87, 67]);
    assertEquals(s.failures.map((f) => [f.id, f.reason]), [["2.AV.SPCR..BH?", "missing channel"]]);
    assert(s.failures[0].message.includes("AV.SPCR..BHZ"), s.failures[0].message);
    const ds = await openDataset(`${root}/ds`);
    assertEquals(ds.samples.map((x) => [x.id, x.channel]), [
      ["3.TA.M02C..BH?", "BH?"],
      ["3.TA.M04C..BH?", "BH?"],
      ["4.DK.NUUG..BH?", "BH?"],
    ]);
    // The stacked sample's E component equals the one-file-per-trace extraction of BHE.
    const one = await readExtractConfig(
      new URL("../../lib/io/configs/esec.json", import.meta.url).pathname,
    );
    one.limit = 2;
    one.workers = 0;
    await runExtract(one, `${root}/one`, { quiet: true });
    const single = await openDataset(`${root}/one`);
    assertEquals(single.samples[1].id, "3.TA.M02C..BHE");
    const e = single.readBatch([1]);
    const stacked = ds.readBatch([0]);
    const F = 87 * 67;
    assertEquals(Array.from(stacked.subarray(2 * F, 3 * F)), Array.from(e.subarray(0, F)));
    single.close();
    ds.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/**
 * Reference values from an independent NumPy/SciPy chain (python3, no ObsPy): own Steim2 decoder,
 * own StationXML response (poles and zeros, digital stages by magnitude, scaled to the
 * sensitivity), `scipy.signal.detrend`, ObsPy's Hann taper of 5 % a side, spectral division with
 * the cosine pre-filter [0.2, 0.5, 18.5, 19.8] Hz, ideal (Fourier) resampling to 100 Hz,
 * `butter(4, [1, 18], "band", output="sos")` through `sosfilt` forward and backward, the taper
 * again, and `scipy.signal.spectrogram` (Kaiser β = 1.8π, 257/128/512, density) of the crop.
 */
const INSPECT_GOLDEN = {
  // 100 Hz (no resampling): agreed to 1.8e-14 of the peak (waveform), 5.9e-8 (spectrogram).
  "103.ZE.JUDD..HHZ": {
    waveRtol: 1e-9,
    specRtol: 1e-6,
    wave: [
      [0, 5.6321296303055994e-08],
      [1000, -4.5251307841170892e-08],
      [2128, 1.8149498345048317e-08],
      [4000, 6.828007038265341e-08],
      [979, -1.5400474931881817e-07],
      [8770, -6.1433692742167463e-08],
    ],
    spec: [
      [11, 46, 3.4312392034384473e-15],
      [0, 0, 1.6114177753405827e-16],
      [10, 15, 6.5935170681151548e-16],
      [40, 30, 4.5437945395204769e-18],
      [86, 66, 2.1496399507218466e-18],
      [60, 50, 1.3131658393307985e-19],
    ],
  },
  // 50 Hz: seisdec's Kaiser-sinc resampler against ideal resampling, 5.6e-6 of the peak
  // (waveform), 3.1e-5 (spectrogram cells above 1 % of the peak).
  "103.AV.SPBG..BHZ": {
    waveRtol: 1e-4,
    specRtol: 1e-3,
    wave: [
      [0, -1.0030587196946565e-08],
      [1000, -9.2365090258198316e-09],
      [2128, 6.2648913924999289e-09],
      [4000, 2.180935924163082e-08],
      [8364, 2.8174455329938002e-07],
      [8770, -1.176988846290693e-08],
    ],
    spec: [
      [1, 64, 2.8415964102334938e-14],
      [0, 0, 5.2844959130420049e-17],
      [10, 15, 1.020742019486965e-16],
      [40, 30, 2.6252413261912047e-17],
      [86, 66, 4.7179131006738463e-18],
      [60, 50, 7.5905049281055105e-19],
    ],
  },
};

Deno.test("extract --inspect writes an ESEC trace's ground velocity and spectrogram, matching an independent SciPy chain", async () => {
  const root = await Deno.makeTempDir();
  const cfg = new URL("../../lib/io/configs/esec.json", import.meta.url).pathname;
  try {
    for (const [id, ref] of Object.entries(INSPECT_GOLDEN)) {
      const out = `${root}/${id}`;
      assertEquals(await main(["extract", "--config", cfg, "--inspect", id, "--out", out]), 0);
      const info = JSON.parse(await Deno.readTextFile(`${out}/inspect.json`));
      assertEquals([info.id, info.channels, info.units, info.samplingRate], [
        id,
        [id.slice(-3)],
        "m/s",
        100,
      ]);
      const w = readNpy(await Deno.readFile(`${out}/waveform.npy`));
      const wt = readNpy(await Deno.readFile(`${out}/waveform_times.npy`));
      const sp = readNpy(await Deno.readFile(`${out}/spectrogram.npy`));
      // The crop with half a window (128 samples) on each side: 66 hops of 129 plus 257.
      assertEquals(w.shape, [1, 8771]);
      assertEquals(sp.shape, [1, 87, 67]);
      assertAlmostEquals(wt.data[0] as number, -21.28, 1e-9);
      assertAlmostEquals(wt.data[2128] as number, 0, 1e-9);
      const peak = Math.max(...ref.wave.map(([, v]) => Math.abs(v)));
      for (const [i, v] of ref.wave) {
        assertAlmostEquals(w.data[i] as number, v, ref.waveRtol * peak, `${id} waveform[${i}]`);
      }
      for (const [f, t, v] of ref.spec) {
        const got = sp.data[f * 67 + t] as number;
        assertAlmostEquals(
          got,
          v,
          ref.specRtol * v + 1e-6 * ref.spec[0][2],
          `${id} psd[${f},${t}]`,
        );
      }
    }
    // An existing directory is kept without --force; an unknown id is named.
    const out = `${root}/103.ZE.JUDD..HHZ`;
    const args = ["extract", "--config", cfg, "--inspect", "103.ZE.JUDD..HHZ", "--out", out];
    assertEquals(await main(args), 2);
    assertEquals(
      await main(["extract", "--config", cfg, "--inspect", "nope", "--out", `${root}/x`]),
      2,
    );
    // --force replaces an earlier inspection, and nothing else: a directory of the user's
    // survives, with a wrong id or a right one (before, --force deleted it first).
    assertEquals(await main([...args, "--force"]), 0);
    await Deno.stat(`${out}/inspect.json`);
    const mine = `${root}/notes`;
    await Deno.mkdir(mine);
    await Deno.writeTextFile(`${mine}/thesis.tex`, "important");
    for (const id of ["nope", "103.ZE.JUDD..HHZ"]) {
      const inspect = ["extract", "--config", cfg, "--inspect", id, "--out", mine, "--force"];
      assertEquals(await main(inspect), 2);
      assertEquals(await Deno.readTextFile(`${mine}/thesis.tex`), "important");
    }
    // Another inspection that writes the same new --out while this one works (as it reads its
    // waveform), with --force or without: this one says another process wrote it and leaves that
    // one's whole. Before, its check after the work said 'it already exists: pass --force', and
    // with --force it replaced the other's output without a word.
    for (const force of [[], ["--force"]]) {
      const both = `${root}/both${force.length}`;
      const { stat } = Deno;
      let rival = false;
      Deno.stat = async (p: string | URL) => {
        if (!rival && String(p).endsWith(".mseed")) {
          rival = true;
          await writeDirAtomic(both, (t) => Deno.writeTextFile(`${t}/inspect.json`, "{}"), {
            marker: "inspect.json",
          });
        }
        return await stat(p);
      };
      const err: string[] = [];
      const { error } = console;
      console.error = (...a: unknown[]) => err.push(a.join(" "));
      let code: number;
      try {
        code = await main([...args.slice(0, -1), both, ...force]);
      } finally {
        Deno.stat = stat;
        console.error = error;
      }
      assert(rival, "the rival wrote during the work");
      assertEquals(code, 2, err.join("\n"));
      assert(
        err.join("\n").includes(
          `Cannot write ${both}: another process wrote it while this one ran`,
        ),
        err.join("\n"),
      );
      assertEquals(await Deno.readTextFile(`${both}/inspect.json`), "{}");
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("inspectSample gives displacement in m and acceleration in m/s**2 as the SciPy chain does", async () => {
  // ZE.JUDD..HHZ of event 103, the chain of INSPECT_GOLDEN with output DISP or ACC: H·(iω)^-1
  // or H·iω divided out. Samples 0, 2128 (the reference time), 4000 and the peak.
  const golden = {
    DISP: {
      units: "m",
      wave: [
        [0, -2.174937213868269e-10],
        [2128, -3.211252800472554e-09],
        [4000, -1.0577146281269027e-09],
        [3857, 7.437928742453796e-09],
      ],
    },
    ACC: {
      units: "m/s**2",
      wave: [
        [0, 1.0844054534072451e-06],
        [2128, 8.305524542442066e-07],
        [4000, 2.729635843786972e-07],
        [2673, -5.161172672883045e-06],
      ],
    },
  } as const;
  for (const [output, ref] of Object.entries(golden)) {
    const config = await readExtractConfig(
      new URL("../../lib/io/configs/esec.json", import.meta.url).pathname,
    );
    config.preprocess.response.output = output as "DISP" | "ACC";
    const r = await inspectSample(config, "103.ZE.JUDD..HHZ");
    assertEquals(r.units, ref.units);
    const peak = Math.abs(ref.wave[3][1]);
    assertAlmostEquals(Math.max(...r.waveform[0].map(Math.abs)), peak, 1e-9 * peak, output);
    for (const [i, v] of ref.wave) {
      assertAlmostEquals(r.waveform[0][i], v, 1e-9 * peak, `${output} waveform[${i}]`);
    }
  }
});

Deno.test("extract stacks Z, 1, 2 of a station with unrotated horizontals at another rate, keeps to the row's location code, and says why N and E cannot be had", async () => {
  const root = await Deno.makeTempDir();
  try {
    const rng = new Rng(5);
    const t0 = Date.UTC(2021, 2, 1, 10);
    const noise = (n: number, scale = 1) =>
      new Float64Array(n).map(() => Math.round(1000 * scale * rng.normal()));
    const z = noise(12000);
    const tr = (channel: string, location: string, fs: number, data: Float64Array): Trace => ({
      network: "XX",
      station: "ABC",
      location,
      channel,
      startTime: t0,
      samplingRate: fs,
      data,
    });
    // Z at 100 Hz, the horizontals 1 and 2 at 50 Hz; location 10 holds Z ten times larger.
    await Deno.writeFile(
      `${root}/abc.mseed`,
      await encodeMiniseed3([
        tr("HHZ", "00", 100, z),
        tr("HH1", "00", 50, noise(6000)),
        tr("HH2", "00", 50, noise(6000)),
        tr("HHZ", "10", 100, z.map((v) => 10 * v)),
      ]),
    );
    const ref = new Date(t0 + 50_000).toISOString();
    const header = "id,waveform,response,network,station,location,channel,reference_time,label";
    await Deno.writeTextFile(
      `${root}/m.csv`,
      [header, `a,abc.mseed,,XX,ABC,00,HH?,${ref},x`, `b,abc.mseed,,XX,ABC,10,HHZ,${ref},x`]
        .join("\n") + "\n",
    );
    const run = async (components: string[] | "channel", out: string, rotate = "auto") => {
      const c = parseExtractConfig({
        input: { format: "manifest", path: `${root}/m.csv` },
        components,
        rotate,
        preprocess: { response: { remove: false } },
        spectrogram: { before: 10, after: 30 },
        workers: 0,
      });
      return await runExtract(c, `${root}/${out}`, { quiet: true });
    };
    // Asked for N and E, the station's Z, 1, 2 are rotated, which needs their StationXML
    // Azimuth and Dip (or SAC headers'): the row gives none, and its miniSEED carries none.
    // With rotate 'never', N and E are just missing.
    const zne = await run(["Z", "N", "E"], "zne");
    const bad = zne.failures.find((f) => f.id === "a");
    assertEquals(bad?.reason, "bad orientation");
    assert(
      bad!.message.includes("Cannot rotate XX.ABC.00.HHZ, XX.ABC.00.HH1, XX.ABC.00.HH2") &&
        bad!.message.includes("no StationXML or SAC pole-zero file given") &&
        bad!.message.includes("no SAC file holds XX.ABC.00.HHZ (miniSEED has no orientation)"),
      bad!.message,
    );
    const never = await run(["Z", "N", "E"], "never", "never");
    const miss = never.failures.find((f) => f.id === "a");
    assertEquals(miss?.reason, "missing channel");
    assert(
      miss!.message.includes("XX.ABC.00.HHN") &&
        miss!.message.includes("horizontals are 1 and 2, unrotated: set rotate to auto") &&
        miss!.message.includes("or give components Z, 1, 2"),
      miss!.message,
    );
    const z12 = await run(["Z", "1", "2"], "z12");
    assertEquals(z12.failures.map((f) => f.id), ["b"]); // row b names HHZ only: no HH1 at 10
    assertEquals(z12.shape, [1, 3, 87, 32]);
    const one = await run("channel", "one");
    assertEquals(one.failures.map((f) => f.id), ["a"]); // HH? with "channel" names no channel
    const [a, b] = [await openDataset(`${root}/z12`), await openDataset(`${root}/one`)];
    const F = 87 * 32;
    const za = a.readBatch([0], "none").subarray(0, F), zb = b.readBatch([0], "none");
    // The chain is linear: location 10's ten-fold Z has 100 times the PSD of location 00's.
    for (let i = 0; i < F; i++) {
      assertAlmostEquals(zb[i] / za[i], 100, 1e-3, `psd ratio at ${i}`);
    }
    a.close();
    b.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
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

Deno.test("extract flags not given keep the config file's input fields; --picks, --stations and --phase change a config's input without an input flag", async () => {
  const { applyOverrides } = await import("../../lib/cli/extract.ts");
  const over = (input: unknown, flags: Record<string, string>) =>
    applyOverrides(parseExtractConfig({ input }), flags).input;
  const sds = {
    format: "sds",
    dir: "/a",
    picks: "/p.xml",
    windows: null,
    stations: "/s.xml",
    phase: "S",
  };
  assertEquals(over(sds, { phase: "Pn" }), { ...sds, phase: "Pn" });
  assertEquals(over(sds, { picks: "/q.xml", stations: "/t.xml" }), {
    ...sds,
    picks: "/q.xml",
    stations: "/t.xml",
  });
  assertEquals(over(sds, { sds: "/b" }), { ...sds, dir: "/b" });
  assertEquals(over({ format: "esec", dir: "/e" }, { sds: "/b", picks: "/q.xml" }), {
    format: "sds",
    dir: "/b",
    picks: "/q.xml",
    windows: null,
    stations: null,
    phase: "P",
  });
  const manifest = { format: "manifest", path: "/m.csv", picks: "/p.xml", sacReference: "T0" };
  assertEquals(over(manifest, { picks: "/q.xml" }), { ...manifest, picks: "/q.xml" });
  assertEquals(over(manifest, { manifest: "/n.csv" }), { ...manifest, path: "/n.csv" });
  assertThrows(
    () => over({ format: "esec", dir: "/e" }, { sds: "/b" }),
    UserError,
    "give --picks QUAKEML",
  );
});

Deno.test({
  name:
    "extract interrupted by Ctrl-C exits 130 and keeps its checkpointed work for --resume (and nothing else)",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      const cli = new URL("../../cli.ts", import.meta.url).pathname;
      const config = new URL("../../lib/io/configs/esec.json", import.meta.url).pathname;
      const args = ["extract", "--config", config, "--out", `${root}/ds`, "--workers", "1"];
      const partial = `${root}/.ds.partial`;
      const progress = () => {
        try {
          return JSON.parse(Deno.readTextFileSync(`${partial}/progress.json`)).count as number;
        } catch {
          return -1;
        }
      };
      const interrupt = async (extra: string[], until: () => boolean) => {
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", cli, ...args, ...extra],
          stdout: "null",
          stderr: "piped",
        }).spawn();
        for (let i = 0; i < 600 && !until(); i++) await new Promise((r) => setTimeout(r, 50));
        assert(until(), "extract never got there");
        child.kill("SIGINT");
        const { code, stderr } = await child.output();
        const err = new TextDecoder().decode(stderr);
        assertEquals(code, 130, err);
        return err;
      };
      // Interrupted before its first checkpoint with work (10 s): nothing worth keeping.
      const early = await interrupt([], () => progress() === 0);
      assert(early.includes("interrupted (SIGINT): removed the unfinished"), early);
      assertEquals([...Deno.readDirSync(root)].map((e) => e.name), []);
      // Checkpointing after every sample: interrupted with work done, it keeps it.
      const late = await interrupt(["--checkpoint-every", "0"], () => progress() >= 3);
      assert(late.includes(`kept ${partial}`) && late.includes("--resume"), late);
      assertEquals([...Deno.readDirSync(root)].map((e) => e.name), [".ds.partial"]);
      assertEquals(await main([...args, "--resume", "--quiet"]), 0);
      assertEquals((await openDataset(`${root}/ds`)).count, 303);
      assertEquals([...Deno.readDirSync(root)].map((e) => e.name), ["ds"]);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("extract: float64 amplitudes whose square overflows are refused as out of range, naming the sample, the bin and why", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A PhaseNet window (float64 data.npy in an uncompressed NPZ, its CRC-32 made to match)
    // with its samples scaled in place: 1e160 squares past float64's 1.8e308.
    const src = new URL("../../../shared/data/phasenet_ncedc/", import.meta.url).pathname;
    const name = [...Deno.readDirSync(`${src}waveform_train`)].map((e) => e.name).sort()[0];
    const row = (await Deno.readTextFile(`${src}waveform.csv`)).split("\n")
      .find((r) => r.startsWith(name + ","))!;
    const bytes = await Deno.readFile(`${src}waveform_train/${name}`);
    const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
    const at = bytes.findIndex((_, i) => magic.every((m, k) => bytes[i + k] === m));
    const header = bytes[at + 8] | (bytes[at + 9] << 8);
    const start = at + 10 + header;
    assert(new TextDecoder().decode(bytes.subarray(at + 10, start)).includes("'<f8'"));
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    for (let o = start; o + 8 <= start + 9001 * 3 * 8; o += 8) {
      view.setFloat64(o, view.getFloat64(o, true) * 1e160, true);
    }
    await Deno.mkdir(`${dir}/waveform_train`);
    await Deno.writeFile(`${dir}/waveform_train/${name}`, restoreNpzCrcs(bytes));
    await Deno.writeTextFile(`${dir}/waveform.csv`, `fname,itp,its,channels\n${row}\n`);
    const config = parseExtractConfig({
      input: { format: "npz", dir, samplingRate: 100 },
      components: ["Z"],
      preprocess: { response: { remove: false }, bandpass: { freqmin: 1, freqmax: 40 } },
      spectrogram: { windowLength: 1, overlap: 0.5, fmin: 1, fmax: 40, before: 5, after: 25 },
    });
    const [task] = await buildTasks(config);
    // Unscaled, the same window extracts.
    const orig = { ...config, input: { ...config.input, dir: src } as typeof config.input };
    const same = (await buildTasks(orig)).find((t) => t.id === task.id)!;
    await processSample(same, orig);
    const e = await assertRejects(() => processSample(task, config), SampleError);
    assertEquals((e as SampleError).reason, "out of range");
    assert(
      e.message.includes(`sample ${task.id}`) && /its PSD is Infinity at [\d.]+ Hz, -?[\d.]+ s/
        .test(e.message) &&
        e.message.includes("overflow float64 when squared"),
      e.message,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("extract: amplitudes of 1e19 and 1e-30 give the same dB spectrogram shifted; linear PSD beyond float32 is refused, naming the sample", async () => {
  const root = await Deno.makeTempDir();
  try {
    const syn = `${root}/syn`;
    await writeSynth(syn, { perClass: 1, seed: 11, classes: ["local_earthquake"] });
    const good = parseCsvRecords(await Deno.readTextFile(`${syn}/manifest.csv`))[0];
    const [tr] = await readMiniseedFile(`${syn}/${good.waveform}`);
    // The trace in counts times 1, 1e19 (a PSD of ~1e43, past float32) and 1e-30 (~1e-55,
    // below float32's normal range, and below the −300 dB floor that flattened it before).
    const scales = [1, 1e19, 1e-30];
    const rows = ["id,waveform,response,network,station,location,channel,reference_time,label"];
    for (const s of scales) {
      const data = Float64Array.from(Float32Array.from(tr.data, (v) => v * s));
      await Deno.writeFile(`${syn}/x${s}.mseed`, await encodeMiniseed3([{ ...tr, data }]));
      rows.push(
        [`s${s}`, `x${s}.mseed`, "stations.xml", "SY", good.station, "00", good.channel]
          .concat([good.reference_time, good.label]).join(","),
      );
    }
    await Deno.writeTextFile(`${syn}/m.csv`, rows.join("\n") + "\n");
    const base = JSON.parse(await Deno.readTextFile(`${syn}/extract.json`));
    const run = async (scaling: string, remove: boolean) => {
      const config = parseExtractConfig({
        ...base,
        input: { ...base.input, path: `${syn}/m.csv` },
        preprocess: { ...base.preprocess, response: { ...base.preprocess?.response, remove } },
        spectrogram: { ...base.spectrogram, scaling },
      });
      const out: (Float32Array | string)[] = [];
      for (const t of await buildTasks(config)) {
        try {
          out.push((await processSample(t, config, new InventoryCache())).data);
        } catch (e) {
          out.push((e as Error).message);
        }
      }
      return out;
    };
    for (const remove of [false, true]) {
      const units = remove ? "m/s" : "counts";
      for (const [scaling, perDecade] of [["db", 20], ["log10", 2]] as const) {
        const [one, big, tiny] = await run(scaling, remove);
        for (const [got, s] of [[big, 1e19], [tiny, 1e-30]] as const) {
          assert(got instanceof Float32Array, `${units} ${scaling} x${s}: ${got}`);
          // Power scales by s²: the spectrogram shifts by 20·log10(s) dB (2·log10(s) decades),
          // everywhere; float32 rounding of values up to ~1000 dB: 1e-4 relative.
          const shift = perDecade * Math.log10(s);
          const want = Array.from(one as Float32Array, (v) => v + shift);
          assertClose(got, want, 1e-3 * Math.abs(shift) / 100 + 1e-3, 1e-5, `${units} ${scaling}`);
        }
      }
    }
    // Linear PSD: the first sample as before; the others cannot be float32, and say so.
    const [one, big, tiny] = await run("psd", false);
    assert(one instanceof Float32Array && one.every((v) => v > 0 && Number.isFinite(v)));
    for (
      const [msg, id, what] of [[big, "s10000000000000000000", "beyond float32's largest value"], [
        tiny,
        "s1e-30",
        "below float32's normal range",
      ]] as const
    ) {
      assert(typeof msg === "string", `${id} was not refused`);
      assert(
        msg.includes(`of sample ${id} (`) && msg.includes(what) && msg.includes('"db"') &&
          /its PSD peaks at [\d.e+-]+ \([\d.]+ Hz, -?[\d.]+ s\)/.test(msg),
        msg,
      );
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract with workers: the inventory is parsed once, in the main thread, and the dataset is the one of the main thread alone", async () => {
  await withSynth(3, async (root, syn) => {
    const config = await readExtractConfig(`${syn}/extract.json`);
    const inventories = new InventoryCache();
    const s = await runExtract({ ...config, workers: 2 }, `${root}/w2`, {
      quiet: true,
      inventories,
    });
    assertEquals(s.ok, 6);
    // The workers asked the main thread's cache: it holds the one inventory, parsed there.
    assertEquals(inventories.paths.map((p) => p.split("/").pop()), ["stations.xml"]);
    await runExtract({ ...config, workers: 0 }, `${root}/w0`, { quiet: true });
    for (const f of ["spectrograms.npy", "samples.csv", "failures.csv"]) {
      assertEquals(
        await Deno.readFile(`${root}/w2/${f}`),
        await Deno.readFile(`${root}/w0/${f}`),
        f,
      );
    }
  });
});

Deno.test("EXTRACT_FLAG_FIELDS names the field each of its flags sets, and a value the schema refuses there is named by the flag", () => {
  const base = () => parseExtractConfig({ input: { format: "esec", dir: "/e" } });
  const at = (c: unknown, path: string) =>
    path.split(".").reduce((v, k) => (v as Record<string, unknown>)[k], c);
  for (const [flag, field] of Object.entries(EXTRACT_FLAG_FIELDS)) {
    const c = applyOverrides(base(), { [flag]: flag === "nfft" ? "512" : "7" });
    assertEquals(at(c, field), flag === "nfft" ? 512 : 7, `--${flag} sets ${field}`);
  }
  const raw = { input: { format: "esec", dir: "/e" }, spectrogram: { overlap: 1 } };
  assertThrows(
    () => parseExtractConfig(raw, "flags", ["overlap", "out"]),
    UserError,
    "Cannot read --overlap: expected < 1: found 1",
  );
  // Not given as a flag: the config's field is named.
  assertThrows(
    () => parseExtractConfig(raw, "e.json", ["out"]),
    UserError,
    "Cannot use e.json: invalid field spectrogram.overlap: Too big: expected number to be <1",
  );
});

Deno.test("extract --bandpass sets the band-pass corners (or none); a crop past them warns; one input, no positional argument", async () => {
  const base = () => parseExtractConfig({ input: { format: "esec", dir: "/e" } });
  const c = applyOverrides(base(), { bandpass: "2/30", "sampling-rate": "100" });
  assertEquals(c.preprocess.bandpass, { freqmin: 2, freqmax: 30, order: 4, zerophase: true });
  assertEquals(applyOverrides(base(), { bandpass: "none" }).preprocess.bandpass, null);
  for (const bad of ["18/1", "0/10", "1/x", "1/2/3", "5", "0x1/18", "1/"]) {
    assertThrows(
      () => applyOverrides(base(), { bandpass: bad }),
      UserError,
      `Cannot read --bandpass: expected FMIN/FMAX in Hz, 0 < FMIN < FMAX (e.g. 1/18), or none: ` +
        `found '${bad}'`,
    );
  }
  // The default 1-18 Hz band under a crop to 25 Hz: the rows above 18 Hz are stopband (the
  // response pre-filter's own warning is tested below).
  const wide = applyOverrides(base(), { fmax: "25", fmin: "0.3", "pre-filt": "none" });
  assertEquals(configWarnings(wide), [
    "warning: the crop reaches 25 Hz (spectrogram.fmax), above the band-pass's 18 Hz " +
    "(preprocess.bandpass.freqmax): the rows above it hold the filter's stopband; widen the " +
    "band with --bandpass 1/25",
    "warning: the crop starts at 0.3 Hz (spectrogram.fmin), below the band-pass's 1 Hz " +
    "(preprocess.bandpass.freqmin): the rows below it hold the filter's stopband; widen the " +
    "band with --bandpass 0.3/18",
  ]);
  assertEquals(configWarnings(base()), []);
  // A microseismic crop of 0.6 s with the default 1 s gap tolerance: a gap filled by a straight
  // line could be most of it; --margin sets the data kept each side.
  const micro = applyOverrides(base(), {
    before: "0.1",
    after: "0.5",
    "window-length": "0.05",
    margin: "5",
  });
  assertEquals(micro.preprocess.margin, 5);
  // The default given explicitly is written as none (datasets compare equal).
  assertEquals(
    parseExtractConfig({ ...micro, preprocess: { margin: 300 } }).preprocess.margin,
    undefined,
  );
  assertEquals(configWarnings(micro), [
    "warning: gaps of up to 1 s (gapTolerance) are filled by a straight line, 167 % of the 0.6 s " +
    "crop (before + after): such a sample would be mostly interpolated; give a smaller " +
    "--gap-tolerance, e.g. 0.01 (0 fails every sample with a gap in its crop)",
  ]);
  assertEquals(configWarnings(applyOverrides(micro, { "gap-tolerance": "0.01" })), []);
  assertEquals(
    configWarnings(
      applyOverrides(base(), { fmax: "25", bandpass: "1/25", "pre-filt": "0.2/0.5/25/30" }),
    ),
    [],
  );
  // Two inputs, or a stray argument, are refused rather than one of them taken.
  for (
    const [args, want] of [
      [
        ["--manifest", "m.csv", "--esec", "/e", "--out", "x"],
        "Cannot extract: give one input: found --manifest and --esec",
      ],
      [
        ["--manifest", "m.csv", "extra", "--out", "x"],
        "Cannot run extract: unexpected arguments: extra: expected no positional argument " +
        "(usage: deno run -A cli.ts extract [flags] [--config FILE] [--manifest CSV",
      ],
    ] as [string[], string][]
  ) {
    const r = await runCli("extract", ...args);
    assert(r.code === 2 && r.err[0].includes(want), r.err.join("\n"));
  }
});

Deno.test("components are checked before any sample: letters or digits, each once, as a flag or in a config (a string 'ZNE' too)", () => {
  const base = () => parseExtractConfig({ input: { format: "esec", dir: "/e" } });
  assertEquals(applyOverrides(base(), { components: "ZNE" }).components, ["Z", "N", "E"]);
  assertEquals(applyOverrides(base(), { components: "Z,1,2" }).components, ["Z", "1", "2"]);
  // Every sample failed as 'Cannot find ...BHz', or made the same Z spectrogram twice.
  for (const bad of ["zz", "ZZ", "", "Z-N"]) {
    assertThrows(
      () => applyOverrides(base(), { components: bad }),
      UserError,
      `Cannot read --components: expected the channels' last letters, each once`,
    );
  }
  const cfg = (components: unknown) =>
    parseExtractConfig({ input: { format: "esec", dir: "/e" }, components } as never);
  assertEquals(cfg("ZNE").components, ["Z", "N", "E"]);
  assertThrows(() => cfg(["Z", "Z"]), UserError, "components: expected each component once");
  assertThrows(() => cfg(["Z", "x"]), UserError, "components.1: expected one upper-case letter");
  assertThrows(() => cfg("zz"), UserError, 'components: expected "channel", the components\'');
});

Deno.test("a response file that is neither StationXML nor SAC_PZ (a CSV, a waveform) says so, not an XML parser's words", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/r.csv`, "net,sta,gain\nXX,A,1e9\n");
    const id = { network: "XX", station: "A", location: "", channel: "HHZ" };
    const e = await assertRejects(
      () => new InventoryCache().lookup(`${dir}/r.csv`, id),
      SampleError,
      `Cannot read ${dir}/r.csv: expected StationXML or a SAC pole-zero file (ZEROS, POLES, ` +
        `CONSTANT): found "net,sta,gain\\nXX,"...`,
    );
    assertEquals((e as SampleError).reason, "bad response");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("extract warns of a crop past the response pre-filter's flat band, near the target Nyquist, or shorter than the STFT window; --pre-filt, --water-level, --response-output, --nfft set the config", () => {
  const base = () => parseExtractConfig({ input: { format: "esec", dir: "/e" } });
  // 1-40 Hz under the default pre-filter (flat 0.5-18.5 Hz): rows above 20 Hz came out at -215 dB.
  const wide = applyOverrides(base(), { fmax: "40", bandpass: "1/42" });
  assertEquals(configWarnings(wide), [
    "warning: the crop 1-40 Hz (spectrogram.fmin, fmax) reaches past the response pre-filter's " +
    "flat band 0.5-18.5 Hz (preprocess.response.preFilt [0.2,0.5,18.5,19.8]): its rows there " +
    "are tapered down, by up to the whole signal at 0.2 and 19.8 Hz; widen it, e.g. --pre-filt " +
    "0.2/0.5/40/44 (below each trace's Nyquist)",
  ]);
  // A low crop for tremor at 10 Hz: the pre-filter's 0.2-0.5 Hz taper (the suggestion's top corners
  // below the 5 Hz Nyquist); and 4 Hz is 80 % of Nyquist.
  const low = applyOverrides(base(), {
    "sampling-rate": "10",
    bandpass: "0.05/4.5",
    fmin: "0.05",
    fmax: "4.5",
    "window-length": "20",
  });
  const w = configWarnings(low);
  assertEquals(w.length, 2, w.join("\n"));
  assert(
    w[0].includes("flat band 0.5-18.5 Hz") && w[0].includes("--pre-filt 0.02/0.05/4.5/4.95 (below"),
  );
  assertEquals(
    w[1],
    "warning: the crop reaches 4.5 Hz (spectrogram.fmax), 90 % of the Nyquist frequency of " +
      "preprocess.samplingRate 10 Hz: traces recorded faster lose up to 5 dB there to the " +
      "anti-alias low-pass of their resampling (at 0.9 × Nyquist), and those recorded at that " +
      "rate do not, so the top rows would tell sampling rates apart; sample at 12 Hz or more " +
      "(--sampling-rate)",
  );
  // A geophone's 100-1950 Hz at 4 kHz under the default pre-filter: lower corners at a fifth and
  // half of fmin (not 0.2/0.5 Hz, far below a geophone's band), upper ones below the 2 kHz
  // Nyquist (10 % above the crop would be 2145 Hz, squeezed below it without a word), the flat
  // band reaching the crop's top.
  const geophone = configWarnings(
    applyOverrides(base(), {
      "sampling-rate": "4000",
      bandpass: "100/1960",
      fmin: "100",
      fmax: "1950",
      "window-length": "0.05",
      before: "0.1",
      after: "0.4",
      "gap-tolerance": "0.01",
    }),
  );
  assert(geophone[0].includes("e.g. --pre-filt 20/50/1950/2000 (below"), geophone.join("\n"));
  // Over a grid of rates, crops and pre-filters: every suggestion holds the crop in increasing
  // corners up to the Nyquist frequency, and taken, warns no more of the pre-filter; where no
  // corners can (a crop to the Nyquist frequency), the warning says to lower --fmax.
  let suggested = 0, lowered = 0;
  for (const fs of [10, 40, 100, 250, 4000]) {
    const nyq = fs / 2;
    for (const pf of ["0.2/0.5/18.5/19.8", "1/2/3/4", "0.01/0.02/2000/2100"]) {
      for (const lo of [0.01, 0.3, 0.6]) {
        for (const hi of [0.5, 0.9, 0.97, 1]) {
          const [fmin, fmax] = [+(lo * nyq).toPrecision(3), +(hi * nyq).toPrecision(3)];
          if (!(fmin < fmax)) continue;
          const flags = {
            "sampling-rate": String(fs),
            bandpass: "none",
            fmin: String(fmin),
            fmax: String(fmax),
            "window-length": String(Math.min(20, 100 / fs)),
            "pre-filt": pf,
          };
          const ws = configWarnings(applyOverrides(base(), flags)).filter((x) =>
            x.includes("pre-filter")
          );
          if (ws.length === 0) continue;
          const m = ws[0].match(/--pre-filt ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) /);
          if (!m) {
            assert(fmax === nyq && ws[0].includes("lower --fmax below the Nyquist"), ws[0]);
            lowered++;
            continue;
          }
          const c = m.slice(1).map(Number);
          assert(c[0] < c[1] && c[1] <= fmin && fmax <= c[2] && c[2] < c[3] && c[3] <= nyq, ws[0]);
          const again = configWarnings(
            applyOverrides(base(), { ...flags, "pre-filt": m.slice(1).join("/") }),
          );
          assert(!again.some((x) => x.includes("pre-filter")), again.join("\n"));
          suggested++;
        }
      }
    }
  }
  assert(suggested > 50 && lowered > 5, `${suggested} suggestions, ${lowered} to lower --fmax`);
  // A crop from 0 Hz: no pre-filter holds it.
  const dc = configWarnings(applyOverrides(base(), { fmin: "0", fmax: "10", bandpass: "none" }));
  assert(dc[0].endsWith("raise --fmin above 0 Hz, which a pre-filter always tapers"), dc[0]);
  // Without response removal the pre-filter does nothing, so nothing is said of it.
  assertEquals(
    configWarnings(applyOverrides(base(), { fmax: "40", bandpass: "1/42", "no-response": true })),
    [],
  );
  // A 60 s window over a 10 s crop.
  assertEquals(
    configWarnings(applyOverrides(base(), { "window-length": "60", before: "5", after: "5" })),
    [
      "warning: the STFT window (spectrogram.windowLength 60 s) is longer than the crop " +
      "(before + after = 10 s): each frame spans 30 s either side of its time, so the " +
      "spectrogram describes a longer stretch than -5 to 5 s; shorten --window-length or widen " +
      "--before/--after",
    ],
  );
  const c = applyOverrides(base(), {
    "pre-filt": "0.1/0.2/30/35",
    "water-level": "60",
    "response-output": "ACC",
    nfft: "1024",
  });
  assertEquals(c.preprocess.response, {
    remove: true,
    preFilt: [0.1, 0.2, 30, 35],
    waterLevel: 60,
    output: "ACC",
    stageCheck: "fail",
  });
  assertEquals(c.spectrogram.nfft, 1024);
  const none = applyOverrides(c, { "pre-filt": "none", "water-level": "none", nfft: "auto" });
  assertEquals([none.preprocess.response.preFilt, none.preprocess.response.waterLevel], [
    null,
    null,
  ]);
  assertEquals(none.spectrogram.nfft, null);
  for (const bad of ["1/2/3", "0.5/0.2/18/19", "-1/0.5/18/19", "0x1/1/2/3", "a/b/c/d"]) {
    assertThrows(
      () => applyOverrides(base(), { "pre-filt": bad }),
      UserError,
      "Cannot read --pre-filt",
    );
  }
  for (const bad of ["-60", "0", "x", ""]) {
    assertThrows(
      () => applyOverrides(base(), { "water-level": bad }),
      UserError,
      "Cannot read --water-level",
    );
  }
  assertThrows(
    () => applyOverrides(base(), { "response-output": "vel" }),
    UserError,
    "expected DISP, VEL or ACC",
  );
  assertThrows(
    () => applyOverrides(base(), { nfft: "1k" }),
    UserError,
    "Cannot read --nfft: expected a power of two in decimal digits (at least the window's " +
      "samples) or auto: found '1k'",
  );
});

Deno.test("a PhaseNet NPZ input with components 'channel' is refused before any sample", () => {
  const c = parseExtractConfig({ input: { format: "npz", dir: "/p" } });
  assertThrows(
    () => checkConsistency(applyOverrides(c, { components: "channel" })),
    UserError,
    "a PhaseNet NPZ window holds three",
  );
});

Deno.test("extract counts the samples recorded at a rate whose band (0.45 × the rate) ends below the crop's top, by rate, and the CLI notes them", async () => {
  const root = await Deno.makeTempDir();
  try {
    const syn = `${root}/syn`;
    await writeSynth(syn, {
      perClass: 2,
      seed: 5,
      classes: ["local_earthquake", "explosion"],
      samplingRates: [40, 100],
    });
    const rows = parseCsvRecords(await Deno.readTextFile(`${syn}/manifest.csv`));
    // synth names a 40 Hz channel B (broadband), a 100 Hz one H.
    const at40 = rows.filter((r) => r.channel.startsWith("B")).length;
    assert(at40 > 0 && at40 < rows.length, `${at40} of ${rows.length} at 40 Hz`);
    const args = [
      "extract",
      "--config",
      `${syn}/extract.json`,
      "--fmax",
      "25",
      "--bandpass",
      "1/25",
      "--pre-filt",
      "0.2/0.5/30/35",
      "--workers",
      "0",
      "--quiet",
    ];
    const r = await runCli(...args, "--out", `${root}/a`);
    assertEquals(r.code, 0, r.err.join("\n"));
    const note = r.err.find((l) => l.startsWith("note: "));
    assertEquals(
      note,
      `note: ${at40} of ${rows.length} samples were recorded at 40 Hz (${at40}), whose band ` +
        `ends below the crop's 25 Hz (spectrogram.fmax): about 0.45 × the rate, 18 Hz at 40 Hz, ` +
        `where the recorder's anti-alias filter cuts below the Nyquist frequency; their rows ` +
        `above it hold no signal, so clusters may follow the sampling rate; crop to --fmax 18 ` +
        `or leave those samples out`,
    );
    // Below the Nyquist frequency but above 0.45 × the rate: noted too.
    const r2 = await runCli(...args.map((a) => (a === "25" ? "19.5" : a)), "--out", `${root}/c`);
    assert(r2.err.some((l) => l.startsWith(`note: ${at40} of`)), r2.err.join("\n"));
    // At 18 Hz every sample reaches the top of the crop: nothing to say.
    const config = await readExtractConfig(`${syn}/extract.json`);
    const s = await runExtract({ ...config, workers: 0 }, `${root}/b`, { quiet: true });
    assertEquals([s.ok, s.aboveNyquist], [rows.length, {}]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the rate note prints rates to 6 significant digits, adds up rates that then read alike, and suggests a crop only above fmin", () => {
  assertEquals(aboveNyquistNote({}, 4, { fmin: 1, fmax: 18 }), null);
  // A rate from a header's factor and multiplier (0.1 × 0.1), as an earlier run's checkpoint
  // holds it, and the same rate as this run counts it: one rate, 2 samples.
  const note = aboveNyquistNote(
    { [String(0.1 * 0.1)]: 1, "0.01": 1, [String(100 / 3)]: 2 },
    5,
    { fmin: 0, fmax: 18 },
  );
  assertEquals(
    note,
    "note: 4 of 5 samples were recorded at 0.01 Hz (2), 33.3333 Hz (2), whose band ends below " +
      "the crop's 18 Hz (spectrogram.fmax): about 0.45 × the rate, 0.0045 Hz at 0.01 Hz, where " +
      "the recorder's anti-alias filter cuts below the Nyquist frequency; their rows above it " +
      "hold no signal, so clusters may follow the sampling rate; crop to --fmax 0.0045 or leave " +
      "those samples out",
  );
  // Before: 'recorded at 0.010000000000000002 Hz' and, over a crop from 1 Hz, 'crop to --fmax
  // 0.0045', a crop that ends below its start. 2.2 Hz (band top 0.99 Hz) under fmin 1 Hz:
  const low = aboveNyquistNote({ "2.2": 3 }, 3, { fmin: 1, fmax: 18 })!;
  assert(low.includes("0.99 Hz at 2.2 Hz"), low);
  assert(low.endsWith("so clusters may follow the sampling rate; leave those samples out"), low);
  assert(!low.includes("--fmax"), low);
});

Deno.test("several response files: an unreadable epoch that ended before the data is passed over for the next file, not an 'Invalid time value'", () =>
  withSynth(1, async (root, syn) => {
    // Each channel's startDate is no date and its endDate before the data (2024).
    const xml = await Deno.readTextFile(`${syn}/stations.xml`);
    await Deno.writeTextFile(
      `${syn}/a2.xml`,
      xml.replaceAll(
        'startDate="2023-01-01T00:00:00Z">',
        'startDate="2023-13-45T00:00:00Z" endDate="2023-06-01T00:00:00Z">',
      ),
    );
    const m = await Deno.readTextFile(`${syn}/manifest.csv`);
    await Deno.writeTextFile(
      `${syn}/m2.csv`,
      m.replaceAll(",stations.xml,", ',"a2.xml;stations.xml",'),
    );
    const config = parseExtractConfig({
      input: { format: "manifest", path: `${syn}/m2.csv` },
      workers: 0,
    });
    const s = await runExtract(config, `${root}/ds`, { quiet: true });
    assertEquals([s.ok, s.failures], [2, []]);
    // Alone, the file fails the sample as its unreadable epoch says.
    await Deno.writeTextFile(`${syn}/m3.csv`, m.replaceAll(",stations.xml,", ",a2.xml,"));
    const one = await runExtract(
      { ...config, input: { ...config.input, path: `${syn}/m3.csv` } as typeof config.input },
      `${root}/ds3`,
      { quiet: true },
    );
    assertEquals(one.failures.map((f) => f.reason), ["no response", "no response"]);
    assert(
      one.failures[0].message.includes(
        "no channel epoch covers 2024-01-01T00:00:30.002Z: it has  .. " +
          "2023-06-01T00:00:00.000Z (its startDate is not a valid date",
      ),
      one.failures[0].message,
    );
  }));

Deno.test("stage gains 20 % off the InstrumentSensitivity fail the samples as bad response; preprocess.response.stageCheck 'warn' warns once per channel and uses the sensitivity", () =>
  withSynth(1, async (root, syn) => {
    const xml = await Deno.readTextFile(`${syn}/stations.xml`);
    // The sensitivity 1.2 times the stages' product (6.3e8 counts per m/s).
    await Deno.writeTextFile(
      `${syn}/stations.xml`,
      xml.replaceAll(
        "<Value>630000000</Value>\n            <Frequency>5",
        "<Value>756000000</Value>\n            <Frequency>5",
      ),
    );
    const config = { ...await readExtractConfig(`${syn}/extract.json`), workers: 0 };
    const failed = await runExtract(config, `${root}/a`, { quiet: true });
    assertEquals(failed.failures.map((f) => f.reason), ["bad response", "bad response"]);
    assert(
      failed.failures[0].message.includes(
        "the InstrumentSensitivity Value 756000000 differs from the product of the stage gains",
      ) && failed.failures[0].message.includes('stageCheck "warn"'),
      failed.failures[0].message,
    );
    const errs: string[] = [];
    const { error } = console;
    console.error = (...x: unknown[]) => errs.push(x.join(" "));
    try {
      // Each channel twice (rows copied under other ids), in two workers that each meet the
      // channels anew: still one warning per channel.
      const m = (await Deno.readTextFile(`${syn}/manifest.csv`)).trim().split("\n");
      const copies = m.slice(1).map((r) => r.replace(/^([^,]*),/, "$1_b,"));
      await Deno.writeTextFile(`${syn}/m2.csv`, [...m, ...copies].join("\n") + "\n");
      const warned = {
        ...structuredClone(config),
        workers: 2,
        input: { ...config.input, path: `${syn}/m2.csv` } as typeof config.input,
      };
      warned.preprocess.response.stageCheck = "warn";
      const ok = await runExtract(warned, `${root}/b`, { quiet: true });
      assertEquals([ok.ok, ok.failures.length], [4, 0]);
    } finally {
      console.error = error;
    }
    // One warning per channel (two stations, one channel each).
    const w = errs.filter((l) => l.includes("differs from the product of the stage gains"));
    assertEquals(w.length, 2, errs.join("\n"));
    assert(
      w[0].endsWith('removing the response as the InstrumentSensitivity says (stageCheck "warn")'),
    );
  }));

Deno.test("recordedBandTop rounds 0.45 × the rate down, so that the --fmax the note suggests does not note again", () => {
  for (
    const [rate, top] of [[40, 18], [25, 11.2], [125, 56.2], [250, 112], [31.25, 14], [100, 45]]
  ) {
    assertEquals(recordedBandTop(rate), top, `${rate} Hz`);
    assert(!(recordedBandTop(rate) > RECORDED_BAND * rate), `${rate} Hz`);
  }
});

Deno.test("extract lists the samples whose crop holds a gap filled, or an overlap of differing samples resolved, within the gap tolerance in joined.csv and says so; tolerance 0 fails them", async () => {
  const root = await Deno.makeTempDir();
  try {
    const syn = join(root, "syn");
    await writeSynth(syn, { perClass: 2, seed: 3, classes: ["local_earthquake"] });
    const rows = parseCsvRecords(await Deno.readTextFile(join(syn, "manifest.csv")));
    /** A sample's trace as two segments around 1 s after its reference time. */
    const split = async (row: Record<string, string>, second: (t: Trace, at: number) => Trace) => {
      const path = join(syn, row.waveform);
      const [t] = await readMiniseedFile(path);
      const dt = 1000 / t.samplingRate;
      const at = Math.round((Date.parse(row.reference_time) + 1000 - t.startTime) / dt);
      const a = { ...t, data: t.data.slice(0, at) };
      await Deno.writeFile(path, await encodeMiniseed3([a, second(t, at)]));
      return `${t.network}.${t.station}.${t.location}.${t.channel}`;
    };
    // Sample 0: 30 samples (0.3 s) missing. Sample 1: 20 samples recorded twice, differently.
    const ch0 = await split(rows[0], (t, at) => ({
      ...t,
      startTime: t.startTime + (at + 30) * 1000 / t.samplingRate,
      data: t.data.slice(at + 30),
    }));
    const ch1 = await split(rows[1], (t, at) => ({
      ...t,
      startTime: t.startTime + (at - 20) * 1000 / t.samplingRate,
      data: t.data.slice(at - 20).map((v, i) => i < 20 ? v + 1 : v),
    }));
    const out = join(root, "ds");
    const args = ["extract", "--config", join(syn, "extract.json"), "--workers", "0", "--quiet"];
    const r = await runCli(...args, "--out", out);
    assertEquals(r.code, 0, r.err.join("\n"));
    const listed = parseCsvRecords(await Deno.readTextFile(join(out, "joined.csv")));
    assertEquals(listed, [
      {
        id: rows[0].id,
        channel: ch0,
        gaps: "1",
        gap_samples: "30",
        overlaps: "0",
        overlap_samples: "0",
      },
      {
        id: rows[1].id,
        channel: ch1,
        gaps: "0",
        gap_samples: "0",
        overlaps: "1",
        overlap_samples: "20",
      },
    ]);
    assert(
      r.err.some((l) =>
        l.startsWith("note: 2 of 2 samples hold data joined within the gap tolerance") &&
        l.includes("1 gap(s) filled by linear interpolation (30 samples), 1 overlap(s)") &&
        l.includes(`${out}/joined.csv`)
      ),
      r.err.join("\n"),
    );
    const strict = await runCli(...args, "--out", join(root, "strict"), "--gap-tolerance", "0");
    assertEquals(strict.code, 2, strict.err.join("\n"));
    const failed = parseCsvRecords(await Deno.readTextFile(join(root, "strict", "failures.csv")));
    assertEquals(failed.map((f) => f.reason), ["gap", "gap"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract warns where a sample's crop spans a change of its channel's epochs (the response at the reference time is removed from all of it)", async () => {
  const root = await Deno.makeTempDir();
  try {
    const syn = join(root, "syn");
    await writeSynth(syn, { perClass: 1, seed: 3, classes: ["local_earthquake", "noise"] });
    const rows = parseCsvRecords(await Deno.readTextFile(join(syn, "manifest.csv")));
    // A second epoch of the first sample's HHZ from 1 s after its reference time (the older one
    // left open, as an inventory may): a change inside its crop; none in the other sample's.
    const xmlPath = join(syn, "stations.xml");
    const xml = await Deno.readTextFile(xmlPath);
    const sta = `<Station code="${rows[0].station}"`;
    const at = xml.indexOf(sta);
    const c0 = xml.indexOf('<Channel code="HHZ"', at), c1 = xml.indexOf("</Channel>", c0) + 10;
    const change = new Date(Date.parse(rows[0].reference_time) + 1000).toISOString();
    const newer = xml.slice(c0, c1).replace(/startDate="[^"]*"/, `startDate="${change}"`);
    await Deno.writeTextFile(xmlPath, xml.slice(0, c1) + "\n" + newer + xml.slice(c1));
    const out = join(root, "ds");
    const r = await runCli(
      "extract",
      "--config",
      join(syn, "extract.json"),
      "--workers",
      "0",
      "--quiet",
      "--out",
      out,
    );
    assertEquals(r.code, 0, r.err.join("\n"));
    const warned = r.err.filter((l) => l.includes("spans a change of the channel epochs"));
    assertEquals(warned.length, 1, r.err.join("\n"));
    assert(
      warned[0].startsWith(`warning: the crop of sample ${rows[0].id} spans a change`) &&
        warned[0].includes(`.HHZ in ${xmlPath} at ${change}`),
      warned[0],
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract warns once per channel and epoch where its StationXML SampleRate is not the data's sampling rate, and removes the response all the same", async () => {
  const root = await Deno.makeTempDir();
  try {
    const syn = join(root, "syn");
    await writeSynth(syn, { perClass: 2, seed: 3, classes: ["local_earthquake", "noise"] });
    const rows = parseCsvRecords(await Deno.readTextFile(join(syn, "manifest.csv")));
    // The first sample's station's HHZ at 50 Hz (the data's 100 Hz), the second's at 99.9999 Hz
    // (an inventory's rounding, within the tolerance).
    const xmlPath = join(syn, "stations.xml");
    const xml = await Deno.readTextFile(xmlPath);
    const rate = (text: string, station: string, hz: string) => {
      const c0 = text.indexOf('<Channel code="HHZ"', text.indexOf(`<Station code="${station}"`));
      const c1 = text.indexOf("</Channel>", c0);
      const channel = text.slice(c0, c1).replace(/<SampleRate>[^<]*</, `<SampleRate>${hz}<`);
      return text.slice(0, c0) + channel + text.slice(c1);
    };
    await Deno.writeTextFile(
      xmlPath,
      rate(rate(xml, rows[0].station, "50"), rows[1].station, "99.9999"),
    );
    const out = join(root, "ds");
    const r = await runCli(
      "extract",
      "--config",
      join(syn, "extract.json"),
      "--workers",
      "0",
      "--quiet",
      "--out",
      out,
    );
    assertEquals(r.code, 0, r.err.join("\n"));
    const warned = r.err.filter((l) => l.includes("SampleRate"));
    assertEquals(warned.length, 1, r.err.join("\n"));
    assert(
      warned[0].startsWith(
        `warning: SY.${rows[0].station}.00.HHZ in ${xmlPath}: its channel epoch `,
      ) &&
        warned[0].includes("gives a SampleRate of 50 Hz, but the data are sampled at 100 Hz") &&
        warned[0].endsWith("its response is removed all the same"),
      warned[0],
    );
    const samples = parseCsvRecords(await Deno.readTextFile(join(out, "samples.csv")));
    assertEquals(samples.length, rows.length);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract notes once per channel where its StationXML epochs overlap at a sample, naming both and the one used", async () => {
  const root = await Deno.makeTempDir();
  try {
    const syn = join(root, "syn");
    await writeSynth(syn, { perClass: 1, seed: 3, classes: ["local_earthquake", "noise"] });
    const rows = parseCsvRecords(await Deno.readTextFile(join(syn, "manifest.csv")));
    // A newer epoch of the first sample's HHZ from 2023-06-01, the older one left open (as an
    // inventory may): both cover the sample.
    const xmlPath = join(syn, "stations.xml");
    const xml = await Deno.readTextFile(xmlPath);
    const at = xml.indexOf(`<Station code="${rows[0].station}"`);
    const c0 = xml.indexOf('<Channel code="HHZ"', at), c1 = xml.indexOf("</Channel>", c0) + 10;
    const newer = xml.slice(c0, c1).replace(
      /startDate="[^"]*"/,
      'startDate="2023-06-01T00:00:00Z"',
    );
    await Deno.writeTextFile(xmlPath, xml.slice(0, c1) + "\n" + newer + xml.slice(c1));
    const r = await runCli(
      "extract",
      "--config",
      join(syn, "extract.json"),
      "--workers",
      "0",
      "--quiet",
      "--out",
      join(root, "ds"),
    );
    assertEquals(r.code, 0, r.err.join("\n"));
    const noted = r.err.filter((l) => l.includes("overlap"));
    assertEquals(noted, [
      `note: SY.${rows[0].station}.00.HHZ in ${xmlPath}: its channel epochs ` +
      "2023-06-01T00:00:00.000Z .. open and 2023-01-01T00:00:00.000Z .. open overlap; where a " +
      "sample falls in both, the response of the later-starting, 2023-06-01T00:00:00.000Z .. " +
      "open, is used",
    ], r.err.join("\n"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract --workers takes a count or auto, and says so when given neither", () => {
  const c = () => parseExtractConfig({ input: { format: "manifest", path: "m.csv" } });
  assertEquals(applyOverrides(c(), { workers: "auto" }).workers, "auto");
  assertEquals(applyOverrides(c(), { workers: "3" }).workers, 3);
  assertThrows(
    () => applyOverrides(c(), { workers: "abc" }),
    UserError,
    "Cannot read --workers: expected an integer in decimal digits or auto: found 'abc'",
  );
});

Deno.test("extract's trigger, band-pass, pre-filter and input flags keep a config file's values, take their documented defaults and accept their edge values", () => {
  const sds = {
    format: "sds",
    dir: "/a",
    windows: {
      start: "2024-01-01",
      end: "2024-01-02",
      trigger: { aic: { before: 3, after: 2 } },
      channels: ["XX.A..HHZ"],
    },
  };
  type Trig = { coincidence: unknown; aic: unknown };
  const trig = (flags: Record<string, string>) =>
    (applyOverrides(parseExtractConfig({ input: sds }), flags).input as {
      windows: { trigger: Trig };
    }).windows.trigger;
  // --coincidence N searches 10 s, as its help says; a window of 0 s is allowed.
  assertEquals(trig({ coincidence: "3" }).coincidence, { stations: 3, window: 10 });
  assertEquals(trig({ coincidence: "2/0" }).coincidence, { stations: 2, window: 0 });
  // --aic may search 0 s on one side (not both).
  assertEquals(trig({ aic: "0/1" }).aic, { before: 0, after: 1 });
  assertEquals(trig({ aic: "1/0" }).aic, { before: 1, after: 0 });
  assertThrows(() => trig({ aic: "0/0" }), UserError, "not both 0");
  // --trigger keeps the config file's AIC refinement.
  assertEquals(trig({ trigger: "1/30/5/2" }).aic, { before: 3, after: 2 });
  // --stations a.xml;b.xml stays a ';' list, each path resolved.
  const picks = { format: "sds", dir: "/a", picks: "/p.xml" };
  assertEquals(
    (applyOverrides(parseExtractConfig({ input: picks }), { stations: "a.xml;b.xml" }).input as {
      stations: string;
    }).stations,
    `${resolve("a.xml")};${resolve("b.xml")}`,
  );
  // --bandpass sets the corners and keeps the config's order and zero phase.
  const bp = applyOverrides(
    parseExtractConfig({
      input: { format: "esec", dir: "/e" },
      preprocess: { bandpass: { order: 2, zerophase: false } },
    }),
    { bandpass: "2/30" },
  ).preprocess.bandpass;
  assertEquals(bp, { freqmin: 2, freqmax: 30, order: 2, zerophase: false });
  // --pre-filt may start at 0 Hz.
  const esec = () => parseExtractConfig({ input: { format: "esec", dir: "/e" } });
  assertEquals(
    applyOverrides(esec(), { "pre-filt": "0/0.5/18/19" }).preprocess.response.preFilt,
    [0, 0.5, 18, 19],
  );
  // --sac-reference none (any case) clears the marker.
  const manifest = () => parseExtractConfig({ input: { format: "manifest", path: "/m.csv" } });
  for (const none of ["none", "NONE"]) {
    const input = applyOverrides(manifest(), { "sac-reference": none }).input;
    assertEquals((input as { sacReference: unknown }).sacReference, null, none);
  }
  // A switch to --manifest from ESEC or SDS input takes the default marker A.
  for (const input of [{ format: "esec", dir: "/e" }, picks]) {
    assertEquals(
      applyOverrides(parseExtractConfig({ input }), { manifest: "/m.csv" }).input,
      { format: "manifest", path: "/m.csv", picks: null, sacReference: "A" },
      input.format,
    );
  }
  // --esec DIR keeps the config's label column.
  assertEquals(
    applyOverrides(parseExtractConfig({ input: { format: "esec", dir: "/e", label: "type" } }), {
      esec: "/f",
    }).input,
    { format: "esec", dir: "/f", label: "type" },
  );
});

Deno.test("extract's trigger flags refuse a fifth part, an empty or zero part, a band of no width and a band edge not in decimal notation, and a flag given without SDS input is named by itself", () => {
  const sds = {
    format: "sds",
    dir: "/a",
    windows: {
      start: "2024-01-01",
      end: "2024-01-02",
      trigger: {},
      channels: ["XX.A..HHZ"],
    },
  };
  const over = (input: unknown, flags: Record<string, string>) =>
    applyOverrides(parseExtractConfig({ input }), flags).input;
  const bad: [Record<string, string>, string][] = [
    // A fifth ratio was dropped without a word.
    [{ trigger: "1/20/4/1.5/2" }, "Cannot read --trigger: expected STA/LTA/ON/OFF"],
    // An empty side read as 0 s.
    [{ aic: "/1" }, "Cannot read --aic: expected BEFORE/AFTER"],
    [{ aic: "1/" }, "Cannot read --aic: expected BEFORE/AFTER"],
    // A third part was dropped.
    [{ coincidence: "2/10/5" }, "Cannot read --coincidence: expected N or N/S"],
    // A band of no width, or from 0 Hz.
    [{ "trigger-band": "2/2" }, "Cannot read --trigger-band: expected FMIN/FMAX"],
    [{ "trigger-band": "0/10" }, "Cannot read --trigger-band: expected FMIN/FMAX"],
    // Infinity reached the config check as null, named by its field; hex read as 20 Hz.
    [{ "trigger-band": "1/Infinity" }, "Cannot read --trigger-band: expected FMIN/FMAX"],
    [{ "trigger-band": "1/0x14" }, "Cannot read --trigger-band: expected FMIN/FMAX"],
    // Number read hex as a ratio, as seconds.
    [{ trigger: "1/20/0x4/1.5" }, "Cannot read --trigger: expected STA/LTA/ON/OFF"],
    [{ trigger: "1/20/4/Infinity" }, "Cannot read --trigger: expected STA/LTA/ON/OFF"],
    [{ windows: "2024-01-01/2024-01-02/0x4" }, "Cannot read --windows: the step 0x4 must be"],
  ];
  for (const [flags, msg] of bad) {
    assertThrows(() => over(sds, flags), UserError, msg);
  }
  // --trigger on a config's regular windows takes their place: no step is left beside it.
  const regular = { ...sds, windows: { ...sds.windows, trigger: null, step: 60 } };
  const w = (over(regular, { trigger: "1/20/4/1.5" }) as {
    windows: { step: number | null; trigger: { sta: number } };
  }).windows;
  assertEquals([w.step, w.trigger.sta], [null, 1]);
  // Each flag of SDS windows, given with another input, is the one named.
  const esec = { format: "esec", dir: "/e" };
  for (
    const [flag, value] of [
      ["aic", "5/1"],
      ["dead-time", "5"],
      ["window-labels", "/l.csv"],
      ["trigger-band", "1/10"],
    ]
  ) {
    assertThrows(
      () => over(esec, { [flag]: value }),
      UserError,
      `Cannot use --${flag}: it applies to an SDS archive (--sds DIR)`,
    );
  }
});

Deno.test("extract --windows keeps a config's labels and chunk, relative --sds, --picks and --window-labels resolve, and an empty end, step, channel list or channel is refused", () => {
  const over = (input: unknown, flags: Record<string, string>) =>
    applyOverrides(parseExtractConfig({ input }), flags).input as {
      dir: string;
      picks: string | null;
      windows: { labels: string | null; chunk: number; channels: string[] } | null;
    };
  const win = {
    format: "sds",
    dir: "/a",
    windows: {
      start: "2024-01-01",
      end: "2024-01-02",
      step: 60,
      channels: ["XX.A..HHZ"],
      labels: "/l.csv",
      chunk: 600,
    },
  };
  // New times keep the file's labels and chunk, as they keep its channels.
  const moved = over(win, { windows: "2024-02-01/2024-02-02/30" }).windows!;
  assertEquals([moved.labels, moved.chunk, moved.channels], ["/l.csv", 600, ["XX.A..HHZ"]]);
  // Paths given as flags are read from the working directory, as --manifest's are.
  const rel = over(win, { sds: "arch", "window-labels": "labels.csv" });
  assertEquals([rel.dir, rel.windows!.labels], [resolve("arch"), resolve("labels.csv")]);
  assertEquals(over(win, { picks: "p.xml" }).picks, resolve("p.xml"));
  // An empty end or step is a malformed --windows, not a bad step of 0 s.
  for (const bad of ["2024-01-01//60", "2024-01-01/2024-01-02/"]) {
    assertThrows(
      () => over(win, { windows: bad }),
      UserError,
      `Cannot read --windows: expected START/END/STEP, two ISO 8601 UTC times and seconds`,
    );
  }
  // --channels with no channel in it.
  assertThrows(
    () => over(win, { channels: " , " }),
    UserError,
    "Cannot use --windows: give --channels NET.STA.LOC.CHA",
  );
  // An empty entry beside channels (a comma too many) is --channels', not the config field's
  // input.windows.channels.1.
  for (const bad of ["XX.A..HHZ,", "XX.A..HHZ,,XX.B..HHZ"]) {
    assertThrows(
      () => over(win, { channels: bad }),
      UserError,
      `Cannot read --channels: expected NET.STA.LOC.CHA[,...] without an empty entry (a comma ` +
        `too many?): found '${bad}'`,
    );
  }
  // --window-labels without windows is the flag named.
  assertThrows(
    () => over({ format: "sds", dir: "/a", picks: "/p.xml" }, { "window-labels": "/l.csv" }),
    UserError,
    "Cannot use --window-labels: it applies to --windows",
  );
});

Deno.test("extract --esec-label, --rotate, --subset and --sac-reference set the config, take every documented value, and are refused where they do not apply", () => {
  const esec = () => parseExtractConfig({ input: { format: "esec", dir: "/e" } });
  const manifest = () => parseExtractConfig({ input: { format: "manifest", path: "/m.csv" } });
  assertEquals(
    (applyOverrides(esec(), { "esec-label": "type" }).input as { label: string }).label,
    "type",
  );
  for (const mode of ["auto", "always", "never"]) {
    assertEquals(applyOverrides(esec(), { rotate: mode }).rotate, mode);
  }
  const drawn = applyOverrides(esec(), { subset: "random", limit: "5", "subset-seed": "3" });
  assertEquals([drawn.subset, drawn.limit, drawn.subsetSeed], ["random", 5, 3]);
  // A random subset of no size was drawn from every sample, i.e. not drawn.
  assertThrows(
    () => applyOverrides(esec(), { subset: "random" }),
    UserError,
    "Cannot draw a random subset: --subset random (config 'subset') needs --limit N",
  );
  for (const [m, want] of [["t9", "T9"], ["o", "O"], ["A", "A"]]) {
    const input = applyOverrides(manifest(), { "sac-reference": m }).input;
    assertEquals((input as { sacReference: string }).sacReference, want, m);
  }
  // Where they do not apply they are named, not passed on as a config field the schema refuses.
  assertThrows(
    () => applyOverrides(esec(), { "sac-reference": "A" }),
    UserError,
    "Cannot use --sac-reference: it applies to manifest input only",
  );
  assertThrows(
    () => applyOverrides(manifest(), { "esec-label": "type" }),
    UserError,
    "Cannot use --esec-label: it applies to ESEC input (--esec DIR) only",
  );
});

Deno.test("extract --picks, --stations and --phase are refused beside an input they do not apply to, naming it, not ignored", () => {
  const cfg = (input: Record<string, unknown>) => parseExtractConfig({ input });
  const esec = { format: "esec", dir: "/e" }, npz = { format: "npz", dir: "/n" };
  const manifest = { format: "manifest", path: "/m.csv" };
  // They did nothing there: ESEC and NPZ have no picks, and only an SDS archive reads stations.
  for (
    const [input, flags, want] of [
      [
        esec,
        { picks: "/p.xml" },
        "Cannot use --picks: it applies to manifest input or an SDS " +
        "archive (--manifest FILE, --sds DIR), not to esec input",
      ],
      [npz, { picks: "/p.xml" }, "not to npz input"],
      [
        esec,
        { stations: "/s.xml" },
        "Cannot use --stations: it applies to an SDS archive (--sds " +
        "DIR), not to esec input",
      ],
      [
        npz,
        { phase: "S" },
        "Cannot use --phase: it applies to an SDS archive (--sds DIR), not to " +
        "npz input",
      ],
      [
        manifest,
        { stations: "/s.xml" },
        "not to manifest input: a manifest names each row's " +
        "response file in its response column",
      ],
      [manifest, { phase: "S" }, "not to manifest input: a manifest's --picks are P picks"],
      // --esec replaces a manifest config's input: --picks then goes with ESEC input.
      [manifest, { esec: "/e", picks: "/p.xml" }, "not to esec input"],
    ] as const
  ) {
    assertThrows(() => applyOverrides(cfg(input), { ...flags }), UserError, want);
  }
  // Where they apply they are taken; a blank --phase is named as the flag.
  const sds = { format: "sds", dir: "/a", picks: "/p.xml" };
  const got = applyOverrides(cfg(sds), { phase: " S ", stations: "/s.xml" }).input;
  assertEquals([(got as { phase: string }).phase, (got as { stations: string }).stations], [
    "S",
    "/s.xml",
  ]);
  assertEquals(
    (applyOverrides(cfg(manifest), { picks: "/p.xml" }).input as { picks: string }).picks,
    "/p.xml",
  );
  assertThrows(
    () => applyOverrides(cfg(sds), { phase: "" }),
    UserError,
    "Cannot read --phase: expected a phase name, such as P or S: found ''",
  );
});

Deno.test("extract --bandpass refuses an infinite corner, --pre-filt a fifth corner, and --nfft a value not in decimal digits", () => {
  const base = () => parseExtractConfig({ input: { format: "esec", dir: "/e" } });
  assertThrows(
    () => applyOverrides(base(), { bandpass: "1/1e999" }),
    UserError,
    "Cannot read --bandpass: expected FMIN/FMAX in Hz, 0 < FMIN < FMAX (e.g. 1/18), or none: " +
      "found '1/1e999'",
  );
  assertThrows(
    () => applyOverrides(base(), { "pre-filt": "0.1/0.2/18/19/20" }),
    UserError,
    "Cannot read --pre-filt: expected F1/F2/F3/F4 in Hz",
  );
  // Number() reads "0x200" as 512 and " " as 0.
  for (const bad of ["0x200", "5e2", " ", "-512"]) {
    assertThrows(
      () => applyOverrides(base(), { nfft: bad }),
      UserError,
      `Cannot read --nfft: expected a power of two in decimal digits`,
    );
  }
  assertEquals(applyOverrides(base(), { nfft: " 512 " }).spectrogram.nfft, 512);
});

Deno.test("the rate note suggests no crop to --fmax where the band's top equals the crop's fmin", () => {
  // 20 Hz records up to 9 Hz: a crop from 9 Hz to 9 Hz holds nothing.
  const note = aboveNyquistNote({ "20": 1 }, 2, { fmin: 9, fmax: 18 })!;
  assert(note.includes("9 Hz at 20 Hz"), note);
  assert(!note.includes("--fmax"), note);
  assert(aboveNyquistNote({ "20": 1 }, 2, { fmin: 8.9, fmax: 18 })!.includes("--fmax 9 or"));
});

Deno.test("extract config: the documented bounds are where they say, each side taken or refused (workers 64, subsetSeed 2^32 - 1, limit 1, nfft 2^24, a trace of ten million samples, a band-pass to below Nyquist, a coincidence window of 0 s)", () => {
  const base = { input: { format: "manifest", path: "m.csv" } };
  const ok = (c: Record<string, unknown>) => parseExtractConfig({ ...base, ...c }, "x.json");
  const no = (c: Record<string, unknown>, msg: string) => assertThrows(() => ok(c), UserError, msg);
  assertEquals(ok({ workers: 64 }).workers, 64);
  no({ workers: 65 }, "workers");
  assertEquals(ok({ subsetSeed: 0xffff_ffff }).subsetSeed, 0xffff_ffff);
  assertEquals(ok({ limit: 1 }).limit, 1);
  no({ limit: 0 }, "limit");
  assertThrows(
    () => parseExtractConfig({ ...base, limit: 0 }, "flags", ["limit"]),
    UserError,
    "Cannot read --limit: expected > 0: found 0",
  );
  // 2^24 itself is allowed (a narrow band keeps the image small).
  assertEquals(
    ok({ spectrogram: { nfft: 2 ** 24, fmin: 1, fmax: 1.0001 } }).spectrogram.nfft,
    2 ** 24,
  );
  // (20 + 99377.43 + 2 × 300) s × 100 Hz + 257 = 10,000,000 samples: the limit itself.
  ok({ spectrogram: { after: 99377.43 } });
  no({ spectrogram: { after: 99377.44 } }, "expected at most 10000000 samples");
  // The band-pass ends below the Nyquist frequency, not at it; pre-filter corners increase to
  // the last.
  no(
    { preprocess: { bandpass: { freqmax: 50 } }, spectrogram: { fmax: 40 } },
    "preprocess.bandpass.freqmax must be below the Nyquist frequency 50 Hz",
  );
  no(
    { preprocess: { response: { preFilt: [0.2, 0.5, 18.5, 18] } } },
    "preprocess.response.preFilt must be 4 increasing frequencies: found [0.2,0.5,18.5,18]",
  );
  const sds = (trigger: unknown) => ({
    input: {
      format: "sds",
      dir: "/a",
      windows: { start: "2024-01-01", end: "2024-01-02", trigger, channels: ["XX.A..HHZ"] },
    },
  });
  const trig = (t: unknown) =>
    (parseExtractConfig(sds(t)).input as { windows: { trigger: SdsTrigger } }).windows.trigger;
  assertEquals(trig({ coincidence: { stations: 2, window: 0 } }).coincidence, {
    stations: 2,
    window: 0,
  });
  // An AIC refinement given as {} searches 5 s before and 1 s after, as --aic's help says.
  assertEquals(trig({ aic: {} }).aic, { before: 5, after: 1 });
});

Deno.test("configWarnings: a crop within 10 % past the band-pass corners is not warned of; a crop to the Nyquist frequency suggests FMAX, not a band-pass at it", () => {
  const base = () => parseExtractConfig({ input: { format: "esec", dir: "/e" } });
  const warn = (flags: Record<string, string>) =>
    configWarnings(applyOverrides(base(), { "pre-filt": "none", ...flags }));
  // The default 1-18 Hz band-pass: 19.5 Hz is within 1.1 × 18, 0.95 Hz within 1 / 1.1.
  assertEquals(warn({ fmax: "19.5" }), []);
  assertEquals(warn({ fmin: "0.95" }), []);
  // A crop to 50 Hz at 100 Hz: a band-pass to 50 Hz would be refused, so it says FMAX.
  const w = warn({ fmax: "50" });
  assert(w.some((x) => x.endsWith("widen the band with --bandpass 1/FMAX")), w.join("\n"));
});

Deno.test("workerCount: auto is one worker per CPU thread, at most 16", () => {
  const was = Object.getOwnPropertyDescriptor(navigator, "hardwareConcurrency");
  try {
    for (const [cpus, want] of [[40, 16], [16, 16], [3, 3], [1, 1]]) {
      Object.defineProperty(navigator, "hardwareConcurrency", { value: cpus, configurable: true });
      assertEquals(workerCount("auto"), want, `${cpus} threads`);
    }
  } finally {
    if (was) Object.defineProperty(navigator, "hardwareConcurrency", was);
    else delete (navigator as { hardwareConcurrency?: number }).hardwareConcurrency;
  }
  assertEquals(workerCount(32), 32);
});

Deno.test("readExtractConfig resolves an SDS input's picks, labels and every station file, and a manifest's picks, against the config's directory; stationFiles drops empty entries and keeps a file named with ';' whole", async () => {
  const root = await Deno.makeTempDir();
  try {
    const windows = {
      start: "2024-01-01",
      end: "2024-01-02",
      step: 60,
      channels: ["XX.A..HHZ"],
      labels: "l.csv",
    };
    await Deno.writeTextFile(
      `${root}/sds.json`,
      JSON.stringify({ input: { format: "sds", dir: "arch", windows, stations: "a.pz;b.pz;" } }),
    );
    const sds = (await readExtractConfig(`${root}/sds.json`)).input as {
      dir: string;
      windows: { labels: string };
      stations: string;
    };
    assertEquals(
      [sds.dir, sds.windows.labels, sds.stations],
      [`${root}/arch`, `${root}/l.csv`, `${root}/a.pz;${root}/b.pz`],
    );
    await Deno.writeTextFile(
      `${root}/picks.json`,
      JSON.stringify({ input: { format: "sds", dir: "arch", picks: "p.xml" } }),
    );
    assertEquals(
      (await readExtractConfig(`${root}/picks.json`)).input,
      {
        format: "sds",
        dir: `${root}/arch`,
        picks: `${root}/p.xml`,
        windows: null,
        stations: null,
        phase: "P",
      },
    );
    await Deno.writeTextFile(
      `${root}/m.json`,
      JSON.stringify({ input: { format: "manifest", path: "m.csv", picks: "p.xml" } }),
    );
    const m = (await readExtractConfig(`${root}/m.json`)).input as { path: string; picks: string };
    assertEquals([m.path, m.picks], [`${root}/m.csv`, `${root}/p.xml`]);
    // A PhaseNet config without a rate is PhaseNet's 100 Hz.
    await Deno.writeTextFile(
      `${root}/n.json`,
      JSON.stringify({ input: { format: "npz", dir: "p" } }),
    );
    assertEquals((await readExtractConfig(`${root}/n.json`)).input, {
      format: "npz",
      dir: `${root}/p`,
      samplingRate: 100,
    });
    assertEquals(stationFiles("a.pz; ;b.pz;"), ["a.pz", "b.pz"]);
    await Deno.writeTextFile(`${root}/x;y.xml`, "");
    assertEquals(stationFiles("x;y.xml", (p) => `${root}/${p}`), ["x;y.xml"]);
    assertEquals(stationFiles("x;y.xml"), ["x", "y.xml"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract --scaling sets the spectrogram's scaling to each of psd, log10 and db", () => {
  const base = () => parseExtractConfig({ input: { format: "esec", dir: "/e" } });
  for (const s of ["log10", "db", "psd"]) {
    assertEquals(applyOverrides(base(), { scaling: s }).spectrogram.scaling, s);
  }
  assertThrows(
    () => applyOverrides(base(), { scaling: "dB" }),
    UserError,
    "Cannot read --scaling: expected psd, log10 or db: found 'dB'",
  );
});

Deno.test("extract (CLI): --out takes the place of the config's output, a flag's refused value is named by the flag, and the config's warnings are printed", async () => {
  await withSynth(1, async (root, syn) => {
    const cfg = JSON.parse(await Deno.readTextFile(`${syn}/extract.json`));
    await Deno.writeTextFile(
      `${syn}/c.json`,
      JSON.stringify({ ...cfg, output: `${root}/from_config`, workers: 0 }),
    );
    const r = await runCli("extract", "--config", `${syn}/c.json`, "--out", `${root}/ds`, "-q");
    assertEquals(r.code, 0, r.err.join("\n"));
    assertEquals((await openDataset(`${root}/ds`)).count, 2);
    assertEquals(await Deno.stat(`${root}/from_config`).catch(() => null), null);
    const bad = await runCli("extract", "--config", `${syn}/c.json`, "--overlap", "1", "-q");
    assertEquals(bad.code, 2);
    assert(bad.err.join("\n").includes("Cannot read --overlap: expected < 1: found 1"), bad.err[0]);
    // Printed before any sample is read (this input does not exist).
    const w = await runCli("extract", "--esec", `${root}/none`, "--fmax", "25", "-o", `${root}/x`);
    assert(
      w.err.some((l) => l.startsWith("warning: the crop reaches 25 Hz (spectrogram.fmax)")),
      w.err.join("\n"),
    );
  });
});

Deno.test("extract (CLI) whose every sample fails exits 2 saying so, 'the one sample' where there was one", async () => {
  await withSynth(1, async (root, syn) => {
    // 100 s before an onset 30 s into each trace: every crop starts before the data.
    const args = ["extract", "--config", `${syn}/extract.json`, "--before", "100", "-q"];
    const all = await runCli(...args, "--out", `${root}/a`, "--workers", "0");
    assertEquals(all.code, 2, all.err.join("\n"));
    assert(
      all.err.join("\n").includes(
        `Cannot extract: all 2 samples failed (reasons above, one per sample in ${root}/a/failures.csv)`,
      ),
      all.err.join("\n"),
    );
    const one = await runCli(...args, "--out", `${root}/b`, "--workers", "0", "--limit", "1");
    assertEquals(one.code, 2, one.err.join("\n"));
    assert(
      one.err.join("\n").includes("Cannot extract: the one sample failed"),
      one.err.join("\n"),
    );
  });
});

Deno.test("extract --coincidence N/ with an empty window is refused, not read as 0 s", () => {
  const sds = {
    format: "sds",
    dir: "/a",
    windows: { start: "2024-01-01", end: "2024-01-02", trigger: {}, channels: ["XX.A..HHZ"] },
  };
  for (const bad of ["2/", "2/ "]) {
    assertThrows(
      () => applyOverrides(parseExtractConfig({ input: sds }), { coincidence: bad }),
      UserError,
      `Cannot read --coincidence: expected N or N/S, stations (a whole number >= 1) and seconds ` +
        `(default 10), e.g. 2/10: found '${bad}'`,
    );
  }
});
