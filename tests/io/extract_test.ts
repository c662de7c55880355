import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import {
  buildTasks,
  channelCodes,
  choosePick,
  InventoryCache,
  type LookupRequest,
  placedTask,
  processSample,
  runExtract,
  runOne,
  sampleInfo,
  trimAround,
  WorkerInventory,
} from "../../lib/io/extract.ts";
import { formatStationXml } from "../../lib/io/stationxml.ts";
import { parseExtractConfig, spectrogramGeometry } from "../../lib/io/extract_config.ts";
import { encodeMiniseed3 } from "../../lib/io/mseed.ts";
import { Rng } from "../../lib/util/rng.ts";
import { restoreNpzCrcs } from "../_npz.ts";
import type { SampleTask } from "../../lib/io/manifest.ts";
import type { Segment } from "../../lib/io/mseed.ts";
import { type FailureReason, SampleError } from "../../lib/io/sample_error.ts";

const T0 = Date.UTC(2025, 0, 1);
const seg = (channel: string, start: number, seconds: number): Segment => ({
  network: "XX",
  station: "S1",
  location: "",
  channel,
  startTime: T0 + start * 1000,
  samplingRate: 10,
  data: new Float64Array(seconds * 10),
});
const task = (times: number[]): SampleTask => ({
  id: "s",
  network: "XX",
  station: "S1",
  location: "",
  channel: "HH?",
  waveforms: ["w.mseed"],
  response: null,
  referenceTime: null,
  label: null,
  pickTimes: times.map((t, i) => ({ time: T0 + t * 1000, eventId: `e${i}` })),
});

Deno.test("choosePick: without a covered window, the first pick inside the waveform (not the first pick) is used", () => {
  // Waveform 100 .. 200 s; windows need 30 s before and 60 s after: none fits.
  // Another location's HHZ and HHN, 0 .. 300 s, are not this sample's.
  const other = (c: string) => ({ ...seg(c, 0, 300), location: "10" });
  const segs = [seg("HHZ", 100, 100), seg("HHN", 100, 100), other("HHZ"), other("HHN")];
  assertEquals(
    choosePick(task([50, 180, 190]), ["HHZ", "HHN"], segs, 30_000, 60_000),
    T0 + 180_000,
  );
  // The window of the pick at 140 s is covered on every channel; at 130 s one ends at 190 s.
  const short = [seg("HHZ", 100, 100), seg("HHN", 100, 90)];
  assertEquals(choosePick(task([130, 140]), ["HHZ", "HHN"], short, 30_000, 55_000), T0 + 130_000);
  assertThrows(
    () => choosePick(task([130, 140]), ["HHZ"], segs, 30_000, 50_000),
    SampleError,
    "covers the windows of P picks of 2 events",
  );
});

Deno.test("channelCodes stacks in the config's component order; trimAround keeps the first kept sample's time", () => {
  const t = { channel: "BH?" } as SampleTask;
  assertEquals(channelCodes(t, ["E", "N", "Z"]), ["BHE", "BHN", "BHZ"]);
  assertEquals(channelCodes({ channel: "HHZ" } as SampleTask, "channel"), ["HHZ"]);
  const tr = { ...seg("HHZ", 0, 100), data: new Float64Array(1000).map((_, i) => i) };
  const cut = trimAround(tr, T0 + 10_050, T0 + 20_000);
  // Samples 100 (10 s) .. 200 (20 s): floor at the start, the end sample included.
  assertEquals([cut.startTime, cut.data[0], cut.data.length], [T0 + 10_000, 100, 101]);
  assertEquals(trimAround(tr, T0 - 1000, T0 + 200_000), tr);
});

Deno.test("processSample: a run of equal samples in the crop window fails as a gap only past 20 samples and the gap tolerance in seconds", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fs = 100, start = Date.UTC(2024, 0, 1), tref = start + 60_000;
    const rng = new Rng(3);
    const noise = new Float64Array(120 * fs).map(() => Math.round(1000 * rng.normal()));
    // A run of `len` equal samples 2 s after the reference time.
    const run = async (len: number, gapTolerance: number) => {
      const data = noise.slice();
      data.fill(7, 62 * fs, 62 * fs + len);
      const path = `${dir}/w${len}.mseed`;
      const tr = { network: "XX", station: "S1", location: "", channel: "HHZ" };
      await Deno.writeFile(
        path,
        await encodeMiniseed3([{ ...tr, startTime: start, samplingRate: fs, data }]),
      );
      const config = parseExtractConfig({
        input: { format: "manifest", path: `${dir}/m.csv` },
        components: "channel",
        gapTolerance,
        preprocess: { response: { remove: false }, bandpass: null },
        spectrogram: { windowLength: 1, fmin: 2, fmax: 20, before: 5, after: 10 },
        workers: 0,
      });
      const task: SampleTask = {
        ...tr,
        id: `r${len}`,
        waveforms: [path],
        response: null,
        referenceTime: tref,
        label: null,
      };
      return processSample(task, config);
    };
    // 20 equal samples (0.2 s) pass even at tolerance 0: recorded integer counts repeat.
    assertEquals((await run(20, 0)).referenceTime, tref);
    // 25 samples (0.25 s): within a tolerance of 0.3 s, not of 0.2 s.
    assertEquals((await run(25, 0.3)).referenceTime, tref);
    await assertRejects(() => run(25, 0.2), SampleError, "its 25 samples from +2.00 s to +2.24 s");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("processSample: a channel whose Nyquist frequency is at or below the band's lower edge fails as 'rate too low', naming channel, rate and band; runExtract counts rates by 6 digits", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const start = Date.UTC(2024, 0, 1);
    const tr = { network: "XX", station: "S1", location: "", channel: "HHZ" };
    const rng = new Rng(4);
    // `seconds` of noise at `fs`, the reference time 120 s in.
    const sample = async (id: string, fs: number, seconds = 300): Promise<SampleTask> => {
      const n = Math.max(10, Math.round(seconds * fs));
      const data = new Float64Array(n).map(() => Math.round(1000 * rng.normal()));
      const path = `${dir}/${id}.mseed`;
      await Deno.writeFile(
        path,
        await encodeMiniseed3([{ ...tr, startTime: start, samplingRate: fs, data }]),
      );
      return {
        ...tr,
        id,
        waveforms: [path],
        response: null,
        referenceTime: start + 120_000,
        label: null,
      };
    };
    const config = parseExtractConfig({
      input: { format: "manifest", path: `${dir}/m.csv` },
      components: "channel",
      preprocess: { response: { remove: false } },
      workers: 0,
    });
    // The default band-pass, 1-18 Hz: 0.01, 0.1, 1 and 2 Hz hold none of it (2 Hz: Nyquist 1
    // Hz, the corner itself). Before, each made a spectrogram of the filters' stopband.
    const low = [[0.1 * 0.1, "0.01", "0.005"], [0.1, "0.1", "0.05"], [1, "1", "0.5"], [
      2,
      "2",
      "1",
    ]] as const;
    for (const [fs, shown, nyquist] of low) {
      const t = await sample(`r${shown}`, fs, 30_000);
      const e = await assertRejects(
        () => processSample(t, config),
        SampleError,
        `Cannot use XX.S1..HHZ of sample r${shown} (${dir}/r${shown}.mseed): it is recorded at ` +
          `${shown} Hz, whose Nyquist frequency ${nyquist} Hz `,
      );
      assert(
        e.message.includes(
          "is at or below the lower edge of the band-pass 1-18 Hz (preprocess.bandpass.freqmin " +
            "1 Hz): it holds nothing of the band (its spectrogram would be near zero); expected " +
            "a rate above 2 Hz",
        ),
        e.message,
      );
      assertEquals((e as SampleError).reason, "rate too low" satisfies FailureReason);
    }
    // Without a band-pass, the crop's fmin is the edge: 4 Hz (Nyquist 2 Hz) against fmin 2.
    const crop = parseExtractConfig({
      input: { format: "manifest", path: `${dir}/m.csv` },
      components: "channel",
      preprocess: { response: { remove: false }, bandpass: null },
      spectrogram: { fmin: 2 },
      workers: 0,
    });
    const t4 = await sample("r4", 4);
    await assertRejects(
      () => processSample(t4, crop),
      SampleError,
      "recorded at 4 Hz, whose Nyquist frequency 2 Hz is at or below the lower edge of the crop " +
        "2-18 Hz (spectrogram.fmin 2 Hz)",
    );
    // Above the edge, it goes on: 100/3 Hz (Nyquist 16.7 Hz) is extracted, counted among the
    // samples whose band ends below fmax 18 Hz at its rate to 6 digits (not 33.333333333333336).
    const odd = await sample("odd", 100 / 3);
    assertEquals((await processSample(odd, config)).recordedRate, 100 / 3);
    await Deno.writeTextFile(
      `${dir}/m.csv`,
      `id,waveform,response,network,station,location,channel,reference_time,label\n` +
        `odd,odd.mseed,,XX,S1,,HHZ,${new Date(start + 120_000).toISOString()},\n` +
        `r1,r1.mseed,,XX,S1,,HHZ,${new Date(start + 120_000).toISOString()},\n`,
    );
    const s = await runExtract(config, `${dir}/out`, { quiet: true });
    assertEquals([s.ok, s.aboveNyquist], [1, { "33.3333": 1 }]);
    assertEquals(s.failures.map((f) => [f.id, f.reason]), [["r1", "rate too low"]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runOne names an SDS task's missing day files when it fails as a gap or too short, not otherwise", async () => {
  const config = parseExtractConfig({ input: { format: "manifest", path: "m.csv" } });
  const g = spectrogramGeometry(config);
  const t = { ...task([]), missingFiles: ["/sds/2025/XX/S1/HHZ.D/XX.S1..HHZ.D.2025.001"] };
  const why = async (reason: FailureReason) => {
    const r = await runOne(
      0,
      { ...t, error: { reason, message: "m" } },
      config,
      new InventoryCache(),
      g,
    );
    return r.ok ? "ok" : r.message;
  };
  assertEquals(await why("gap"), `m; missing day file(s): ${t.missingFiles[0]}`);
  assertEquals(await why("too short"), `m; missing day file(s): ${t.missingFiles[0]}`);
  assertEquals(await why("bad time"), "m");
});

Deno.test("WorkerInventory: a worker asks for one channel at a time and gets only its epochs; the inventory is parsed once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ch = (station: string, channel: string) => ({
      network: "XX",
      station,
      location: "",
      channel,
      latitude: 0,
      longitude: 0,
      elevation: 0,
      samplingRate: 100,
      startDate: "2020-01-01T00:00:00Z",
      azimuth: 0,
      dip: -90,
    });
    const path = `${dir}/stations.xml`;
    await Deno.writeTextFile(
      path,
      formatStationXml([ch("A", "HHZ"), ch("A", "HHN"), ch("B", "HHZ"), ch("C", "HHZ")]),
    );
    const main = new InventoryCache();
    const asked: LookupRequest[] = [];
    // Two workers share the main thread's cache, as in runExtract.
    const workers = [0, 1].map(() => {
      // Two channels kept, to see the oldest go.
      const w: WorkerInventory = new WorkerInventory((m) => {
        asked.push(m);
        main.lookup(m.path, m.id).then(
          (result) => w.answer({ type: "lookup", key: m.key, ok: true, result }),
          (e) =>
            w.answer({
              type: "lookup",
              key: m.key,
              ok: false,
              reason: e.reason,
              message: e.message,
            }),
        );
      }, 2);
      return w;
    });
    const id = { network: "XX", station: "B", location: "", channel: "HHZ" };
    const got = await workers[0].lookup(path, id);
    assert(Array.isArray(got));
    assertEquals(got.map((e) => `${e.station}.${e.channel}`), ["B.HHZ"]);
    // Asked again: answered from the worker's own cache.
    await workers[0].lookup(path, id);
    const other = await workers[1].lookup(path, { ...id, station: "A", channel: "HHN" });
    assertEquals((other as { station: string }[]).map((e) => e.station), ["A"]);
    assertEquals(asked.map((m) => `${m.id.station}.${m.id.channel}`), ["B.HHZ", "A.HHN"]);
    assertEquals(main.paths, [path]);
    // Past its capacity a worker forgets the least recently used channel, and asks again.
    const c = { ...id, station: "C" };
    await workers[0].lookup(path, c);
    await workers[0].lookup(path, id);
    await workers[0].lookup(path, { ...id, station: "A" });
    await workers[0].lookup(path, id);
    await workers[0].lookup(path, c);
    assertEquals(asked.slice(2).map((m) => m.id.station), ["C", "A", "C"]);
    assertEquals(await workers[1].lookup(path, { ...id, station: "Q" }), []);
    // A file that cannot be read fails in the worker with the main thread's reason; a missing
    // one is named once ('no such file', not Deno's text naming it again).
    const e = await assertRejects(() => workers[1].lookup(`${dir}/gone.xml`, id), SampleError);
    assertEquals((e as SampleError).reason, "unreadable");
    assertEquals(e.message, `Cannot read ${dir}/gone.xml: no such file`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("WorkerInventory.prefetch asks for a task's channels (each component of a pattern) in each of its response files before it runs, so the task's own lookups wait for nothing; a failed answer reaches the task, not the event loop", async () => {
  const asked: LookupRequest[] = [];
  const w = new WorkerInventory((m) => asked.push(m));
  const task = {
    network: "XX",
    station: "A",
    location: "00",
    channel: "HH?",
    response: "/a.xml",
    responses: ["/a.xml", "/b.pz"],
  } as SampleTask;
  w.prefetch(task, ["Z", "N", "E"]);
  assertEquals(
    asked.map((m) => `${m.path} ${m.id.network}.${m.id.station}.${m.id.location}.${m.id.channel}`),
    [
      "/a.xml XX.A.00.HHZ",
      "/a.xml XX.A.00.HHN",
      "/a.xml XX.A.00.HHE",
      "/b.pz XX.A.00.HHZ",
      "/b.pz XX.A.00.HHN",
      "/b.pz XX.A.00.HHE",
    ],
  );
  // The task's lookup (by its trace's codes) asks nothing more and gets the answer.
  const id = { network: "XX", station: "A", location: "00", channel: "HHN" };
  const got = w.lookup("/a.xml", id);
  assertEquals(asked.length, 6);
  const hhn = asked[1];
  w.answer({ type: "lookup", key: hhn.key, ok: true, result: [] });
  assertEquals(await got, []);
  // A failed answer to a prefetch no task asked for yet is no unhandled rejection; the task
  // that asks gets it.
  const hhz = asked[0];
  w.answer({ type: "lookup", key: hhz.key, ok: false, reason: "bad response", message: "m" });
  await new Promise((r) => setTimeout(r, 0));
  await assertRejects(() => w.lookup("/a.xml", { ...id, channel: "HHZ" }), SampleError, "m");
  // One channel, without a pattern, with `channel` components; no response file: nothing.
  w.prefetch({ ...task, channel: "BHZ", responses: undefined }, "channel");
  assertEquals(asked.slice(6).map((m) => `${m.path} ${m.id.channel}`), ["/a.xml BHZ"]);
  w.prefetch({ ...task, response: null, responses: undefined }, ["Z"]);
  assertEquals(asked.length, 7);
});

Deno.test("buildTasks makes every id one word and unique: two catalogues' events whose ids end alike, or a list naming a file twice, do not write a dataset openDataset refuses", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/waveform.csv`,
      "fname,itp,its,channels\n" +
        "NC_A_2017100709282692.npz,3000,1,HHE_HHN_HHZ\n" +
        "NC_A_2017100709282692.npz,3000,1,HHE_HHN_HHZ\n",
    );
    const config = parseExtractConfig({ input: { format: "npz", dir } });
    const tasks = await buildTasks(config, { quiet: true });
    const ids = tasks.map((t) => t.id);
    assertEquals(ids.length, 2);
    assertEquals(ids[1], `${ids[0]}_2`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("processSample: a record of another channel left out of a file (an encoding seisdec cannot decode) costs a sample nothing; its own channel's fails it as unsupported; a file cut inside its last record keeps its complete records", async () => {
  const { indexRecords } = await import("../../lib/io/mseed.ts");
  const dir = await Deno.makeTempDir();
  try {
    const esec = new URL("../../../shared/data/esec_massmovements/waveforms/3/", import.meta.url)
      .pathname;
    const read = (c: string) =>
      Deno.readFile(`${esec}TA.M02C..${c}__20140920T204808Z__20140920T205108Z.mseed`);
    const [z, e] = [await read("BHZ"), await read("BHE")];
    const ze = await indexRecords(e, "e");
    const tref = ze[0].start + 90_000;
    // The BHE record that holds the reference time, in SRO (30): seisplotjs cannot decode it.
    const hit = ze.find((r) => r.start <= tref && tref < r.end)!;
    const e30 = e.slice();
    e30[hit.offset + 52] = 30; // blockette 1000's encoding (at byte 48 + 4)
    const both = new Uint8Array(z.length + e.length);
    both.set(z);
    both.set(e30, z.length);
    const path = `${dir}/ZE.mseed`;
    await Deno.writeFile(path, both);
    const config = parseExtractConfig({
      input: { format: "manifest", path: `${dir}/m.csv` },
      components: "channel",
      preprocess: { response: { remove: false } },
      spectrogram: { windowLength: 1, fmin: 2, fmax: 15, before: 5, after: 10 },
      workers: 0,
    });
    const task = (channel: string, file = path): SampleTask => ({
      network: "TA",
      station: "M02C",
      location: "",
      channel,
      id: channel,
      waveforms: [file],
      response: null,
      referenceTime: tref,
      label: null,
    });
    assertEquals((await processSample(task("BHZ"), config)).referenceTime, tref);
    const bad = await assertRejects(() => processSample(task("BHE"), config), SampleError);
    assertEquals((bad as SampleError).reason, "unsupported");
    assert(
      bad.message.includes(`the record at byte ${z.length + hit.offset} (TA.M02C..BHE`),
      bad.message,
    );
    // Cut 100 bytes into the file's last record: BHZ, whose records all came before, extracts.
    const cut = `${dir}/cut.mseed`;
    await Deno.writeFile(cut, both.subarray(0, z.length + ze.at(-1)!.offset + 100));
    assertEquals((await processSample(task("BHZ", cut), config)).referenceTime, tref);
    // A BHE sample whose crop reaches into the cut record fails as truncated, naming it.
    const clean = new Uint8Array(z.length + e.length);
    clean.set(z);
    clean.set(e, z.length);
    await Deno.writeFile(cut, clean.subarray(0, z.length + ze.at(-1)!.offset + 100));
    const late = { ...task("BHE", cut), referenceTime: ze.at(-1)!.start - 2000 };
    const t = await assertRejects(() => processSample(late, config), SampleError);
    assertEquals((t as SampleError).reason, "truncated", t.message);
    assert(t.message.includes(`record at byte ${z.length + ze.at(-1)!.offset}`), t.message);
    // Said once: it read '...bytes left out; left out, it leaves sample BHE without data'.
    assert(
      /; the last \d+ bytes left out \(the data after [^)]+\); sample BHE needs the data they held/
        .test(t.message),
      t.message,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("processSample: a reference time in a gap of the data names the gap, from the data before it to the data after it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fs = 100, start = Date.UTC(2024, 0, 1), tref = start + 70_000;
    const rng = new Rng(4);
    const noise = (n: number) => new Float64Array(n).map(() => Math.round(1000 * rng.normal()));
    const tr = { network: "XX", station: "S1", location: "", channel: "HHZ", samplingRate: fs };
    const path = `${dir}/g.mseed`;
    // Data from 0 to 60 s and from 200 s on: 70 s lies in the gap.
    await Deno.writeFile(
      path,
      await encodeMiniseed3([
        { ...tr, startTime: start, data: noise(60 * fs) },
        { ...tr, startTime: start + 200_000, data: noise(60 * fs) },
      ]),
    );
    const config = parseExtractConfig({
      input: { format: "manifest", path: `${dir}/m.csv` },
      components: "channel",
      preprocess: { response: { remove: false }, bandpass: null },
      spectrogram: { windowLength: 1, fmin: 2, fmax: 20, before: 5, after: 10 },
      workers: 0,
    });
    const task: SampleTask = {
      network: "XX",
      station: "S1",
      location: "",
      channel: "HHZ",
      id: "g",
      waveforms: [path],
      response: null,
      referenceTime: tref,
      label: null,
    };
    const e = await assertRejects(() => processSample(task, config), SampleError);
    assertEquals((e as SampleError).reason, "pick outside trace");
    assert(
      e.message.includes(
        `reference time ${new Date(tref).toISOString()} falls in a gap of the data, from ` +
          `${new Date(start + 60_000).toISOString()} to ${new Date(start + 200_000).toISOString()}`,
      ),
      e.message,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("samples.csv identity: one component keeps its code, several give the band and ?; the task's own S time and event stand before a candidate pick's, and an S time not after the reference is dropped", () => {
  const task: SampleTask = {
    id: "s",
    network: "XX",
    station: "S1",
    location: "",
    channel: "HHZ",
    waveforms: [],
    response: null,
    referenceTime: 1000,
    label: null,
  };
  assertEquals(sampleInfo(task, ["Z"]).channel, "HHZ");
  assertEquals(sampleInfo(task, ["Z", "N", "E"]).channel, "HH?");
  assertEquals(sampleInfo(task, "channel").channel, "HHZ");
  const candidates = {
    ...task,
    referenceTime: null,
    event: "own",
    sTime: 5000,
    pickTimes: [{ time: 1000, eventId: "e1", sTime: 3000 }, {
      time: 2000,
      eventId: "e2",
      sTime: 4000,
    }],
  };
  const placed = placedTask(candidates, 2000);
  assertEquals([placed.referenceTime, placed.event, placed.sTime], [2000, "own", 5000]);
  const { event: _e, sTime: _s, ...bare } = candidates;
  const chosen = placedTask(bare, 2000);
  assertEquals([chosen.event, chosen.sTime], ["e2", 4000]);
  // A reference time chosen later than the S arrival (a SAC marker placed after it).
  assertEquals(placedTask({ ...task, sTime: 1500 }, 1500).sTime, undefined);
  assertEquals(placedTask({ ...task, sTime: 1500 }, 1499).sTime, 1500);
});

Deno.test("a PhaseNet NPZ's [npts, 3] data (C order) give each component its own column, by the channel's last letter", async () => {
  const { npzTasks } = await import("../../lib/io/manifest.ts");
  const { readExtractConfig } = await import("../../lib/io/extract_config.ts");
  const src = new URL("../../../shared/data/phasenet_ncedc/", import.meta.url).pathname;
  const name = "NC_MEM_2017100709282692.npz";
  const bytes = (await Deno.readFile(`${src}waveform_train/${name}`)).slice();
  // The stored data.npy entry: <f8 [9001, 3], columns EHE, EHN, EHZ. Make them x, 10x, 100x.
  const v = new DataView(bytes.buffer);
  const at = 38 + 128;
  assertEquals(new TextDecoder().decode(bytes.subarray(30, 38)), "data.npy");
  assertEquals(
    new TextDecoder().decode(bytes.subarray(38 + 10, 38 + 49)),
    "{'descr': '<f8', 'fortran_order': False",
  );
  for (let i = 0; i < 9001; i++) {
    const x = v.getFloat64(at + 8 * (3 * i + 2), true);
    v.setFloat64(at + 8 * (3 * i), x, true);
    v.setFloat64(at + 8 * (3 * i + 1), 10 * x, true);
    v.setFloat64(at + 8 * (3 * i + 2), 100 * x, true);
  }
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/waveform_train`);
    await Deno.writeFile(`${dir}/waveform_train/${name}`, restoreNpzCrcs(bytes));
    await Deno.writeTextFile(
      `${dir}/waveform.csv`,
      `fname,itp,its,channels\n${name},3000,3287,EHE_EHN_EHZ\n`,
    );
    const [task] = await npzTasks(dir, 100);
    const config = await readExtractConfig(
      new URL("../../lib/io/configs/phasenet.json", import.meta.url).pathname,
    );
    const r = await processSample(task, config, undefined, undefined, { keepWaveform: true });
    // Components Z, N, E: linear preprocessing keeps the ratios.
    const peak = r.waveform!.map((w) => w.reduce((m, y) => Math.max(m, Math.abs(y)), 0));
    assert(peak[2] > 0);
    assert(Math.abs(peak[0] / peak[2] / 100 - 1) < 1e-9, `${peak}`);
    assert(Math.abs(peak[1] / peak[2] / 10 - 1) < 1e-9, `${peak}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a PhaseNet NPZ whose data array is not [samples, one column per channel] fails as unreadable, naming its shape", async () => {
  const { npzTasks } = await import("../../lib/io/manifest.ts");
  const { readExtractConfig } = await import("../../lib/io/extract_config.ts");
  const src = new URL("../../../shared/data/phasenet_ncedc/", import.meta.url).pathname;
  const name = "NC_MEM_2017100709282692.npz";
  const config = await readExtractConfig(
    new URL("../../lib/io/configs/phasenet.json", import.meta.url).pathname,
  );
  // The data.npy header's shape rewritten in place, the header's length kept by its padding.
  // Before, [3, 9001] and [0, 3] failed as 'pick outside trace' (a trace of 3 samples, or one
  // ending before it starts), and [9001, 2] as 'Cannot find EHZ in ...: it holds EHE, EHN, EHZ'.
  const shapes = [["(3, 9001), }", "[3, 9001]"], ["(0, 3), }   ", "[0, 3]"], [
    "(13501, 2), }",
    "[13501, 2]",
  ]];
  for (const [shape, shown] of shapes) {
    const bytes = (await Deno.readFile(`${src}waveform_train/${name}`)).slice();
    const text = new TextDecoder("latin1").decode(bytes);
    const at = text.indexOf("(9001, 3), }");
    assert(at > 0);
    const pad = shape.length - "(9001, 3), }".length; // taken from the spaces after the dict
    assertEquals(text.slice(at + 12, at + 12 + Math.max(pad, 0)).trim(), "");
    bytes.set(new TextEncoder().encode(shape.padEnd(12 + Math.max(pad, 0))), at);
    const dir = await Deno.makeTempDir();
    try {
      await Deno.mkdir(`${dir}/waveform_train`);
      await Deno.writeFile(`${dir}/waveform_train/${name}`, restoreNpzCrcs(bytes));
      await Deno.writeTextFile(
        `${dir}/waveform.csv`,
        `fname,itp,its,channels\n${name},3000,3287,EHE_EHN_EHZ\n`,
      );
      const [task] = await npzTasks(dir, 100);
      const e = await assertRejects(() => processSample(task, config), SampleError);
      assertEquals((e as SampleError).reason, "unreadable", (e as Error).message);
      assertEquals(
        (e as Error).message,
        `Cannot read ${dir}/waveform_train/${name}: its 'data' array has shape ${shown}: ` +
          `expected [samples, 3], samples > 0 and a column for each of EHE, EHN, EHZ`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("processSample: a crop that ends on the trace's last sample is taken, one sample less is too short; a reference time on the first sample is too short, not outside the trace", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fs = 100, start = Date.UTC(2024, 0, 1);
    const rng = new Rng(5);
    const tr = { network: "XX", station: "S1", location: "", channel: "HHZ" };
    // No tapers and no filter edges to keep clear of: only the data's own ends bound the crop.
    const config = parseExtractConfig({
      input: { format: "manifest", path: `${dir}/m.csv` },
      components: "channel",
      preprocess: { response: { remove: false }, bandpass: null, taper: 0, postTaper: 0 },
      spectrogram: { windowLength: 1, fmin: 2, fmax: 20, before: 5, after: 10 },
      workers: 0,
    });
    const g = spectrogramGeometry(config);
    const half = Math.floor(g.nperseg / 2);
    const need = (g.nTimes - 1) * g.hop + g.nperseg;
    // The reference time where the crop's first sample is the trace's first.
    const tref = start + (5 * fs + half) * 1000 / fs;
    const sample = async (id: string, n: number, ref = tref) => {
      const data = new Float64Array(n).map(() => Math.round(1000 * rng.normal()));
      const path = `${dir}/${id}.mseed`;
      await Deno.writeFile(
        path,
        await encodeMiniseed3([{ ...tr, startTime: start, samplingRate: fs, data }]),
      );
      const t: SampleTask = {
        ...tr,
        id,
        waveforms: [path],
        response: null,
        referenceTime: ref,
        label: null,
      };
      return t;
    };
    const exact = await processSample(await sample("exact", need), config);
    assertEquals(exact.data.length, g.nFreqs * g.nTimes);
    assert(exact.data.every(Number.isFinite));
    const e = await assertRejects(
      async () => processSample(await sample("short", need - 1), config),
      SampleError,
    );
    assertEquals((e as SampleError).reason, "too short" satisfies FailureReason);
    // On the first sample: inside the trace, with nothing before it for the crop.
    const first = await assertRejects(
      async () => processSample(await sample("first", 4 * need, start), config),
      SampleError,
    );
    assertEquals((first as SampleError).reason, "too short" satisfies FailureReason);
    assert(first.message.includes("the trace has 0.00 s before"), first.message);
    // A millisecond earlier it is outside the trace.
    const before = await assertRejects(
      async () => processSample(await sample("before", 4 * need, start - 1), config),
      SampleError,
    );
    assertEquals((before as SampleError).reason, "pick outside trace" satisfies FailureReason);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("processSample: a clipped run that ends on the crop window's last sample is found; one ending a sample past it, 4 of its samples inside, is not", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fs = 100, start = Date.UTC(2024, 0, 1), tref = start + 60_000;
    const rng = new Rng(7);
    const noise = new Float64Array(120 * fs).map(() => Math.round(1000 * rng.normal()));
    const tr = { network: "XX", station: "S1", location: "", channel: "HHZ" };
    const config = parseExtractConfig({
      input: { format: "manifest", path: `${dir}/m.csv` },
      components: "channel",
      preprocess: { response: { remove: false }, bandpass: null },
      spectrogram: { windowLength: 1, fmin: 2, fmax: 20, before: 5, after: 10 },
      workers: 0,
    });
    // The window checked is the crop with half an STFT window each side: [tref - 5 s - pad,
    // tref + 10 s + pad] (pad 0.505 s), which ends on sample 7,051. A run of CLIP_RUN (5)
    // samples on a rail far above the noise, ending on sample `last`.
    const g = spectrogramGeometry(config);
    const pad = g.nperseg / 2 / g.samplingRate;
    const end = Math.round((tref + (10 + pad) * 1000 - start) / (1000 / fs));
    assertEquals(end, 7051);
    const run = async (last: number) => {
      const data = noise.slice();
      data.fill(50_000, last - 4, last + 1);
      const path = `${dir}/c${last}.mseed`;
      await Deno.writeFile(
        path,
        await encodeMiniseed3([{ ...tr, startTime: start, samplingRate: fs, data }]),
      );
      return processSample({
        ...tr,
        id: `c${last}`,
        waveforms: [path],
        response: null,
        referenceTime: tref,
        label: null,
      }, config);
    };
    const on = await run(end);
    assertEquals(on.clipped?.map((c) => [c.channel, c.max, c.samples]), [[
      "XX.S1..HHZ",
      50_000,
      5,
    ]]);
    // Ending a sample later, 4 of its 5 samples lie in the window: not a run.
    assertEquals((await run(end + 1)).clipped, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a sample without a response file to remove says how its input names one: --stations for an SDS archive, the response column for a manifest", async () => {
  const { writeSynth } = await import("../../lib/io/synth.ts");
  const { writeSynthContinuous } = await import("../../lib/io/synth_continuous.ts");
  const root = await Deno.makeTempDir();
  try {
    await writeSynthContinuous(`${root}/cont`, { hours: 1, stations: 1, seed: 9 });
    const sds = parseExtractConfig({
      input: { format: "sds", dir: `${root}/cont/sds`, picks: `${root}/cont/events.xml` },
      limit: 1,
      workers: 0,
    });
    await runExtract(sds, `${root}/a`, { quiet: true });
    const fa = await Deno.readTextFile(`${root}/a/failures.csv`);
    assert(fa.includes(",no response,"), fa);
    assert(fa.includes("given (give one with --stations FILE, input.stations; for data"), fa);

    await writeSynth(`${root}/syn`, { perClass: 1, classes: ["noise"], seed: 2 });
    const m = await Deno.readTextFile(`${root}/syn/manifest.csv`);
    await Deno.writeTextFile(`${root}/syn/m.csv`, m.replaceAll(",stations.xml,", ",,"));
    const manifest = parseExtractConfig({
      input: { format: "manifest", path: `${root}/syn/m.csv` },
      workers: 0,
    });
    await runExtract(manifest, `${root}/b`, { quiet: true });
    const fb = await Deno.readTextFile(`${root}/b/failures.csv`);
    assert(fb.includes("given (name one in the row's response column; for data"), fb);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
