import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import {
  intervalLabeller,
  MAX_WINDOWS,
  parseChannelId,
  readLabelIntervals,
  type SdsWindows,
  sdsWindowTasks,
  windowCount,
  windowSpan,
  windowStamp,
  windowTimes,
} from "../../lib/io/sds_windows.ts";
import { writeSynth } from "../../lib/io/synth.ts";
import { encodeMiniseed3, readMiniseedFile } from "../../lib/io/mseed.ts";
import { parseCsvRecords } from "../../lib/io/csv.ts";
import {
  type ExtractConfig,
  parseExtractConfig,
  readExtractConfig,
} from "../../lib/io/extract_config.ts";
import { runExtract } from "../../lib/io/extract.ts";
import { TRIGGER_DEFAULTS } from "../../lib/io/sds_triggers.ts";
import { openDataset } from "../../lib/io/dataset.ts";
import { applyOverrides } from "../../lib/cli/extract.ts";
import { UserError } from "../../lib/util/errors.ts";
import { run } from "../cli/_run.ts";

const T0 = Date.UTC(2024, 0, 1);

Deno.test("windows: times start + i·step before end; stamps in the ids; channel ids parsed", () => {
  assertEquals(windowTimes(0, 129_000, 43_000), [0, 43_000, 86_000]);
  assertEquals(windowTimes(0, 129_001, 43_000), [0, 43_000, 86_000, 129_000]);
  assertEquals(windowTimes(5, 6, 10), [5]);
  assertEquals(windowTimes(T0, T0 + 1000, 250).length, 4);
  assertEquals(windowStamp(T0 + 43_000), "20240101T000043Z");
  assertEquals(windowStamp(T0 + 43_500), "20240101T000043.500Z");
  // A trigger's onset below the millisecond: rounded to the nearest (the ids of onsets rounded
  // to the millisecond, as they were kept before).
  assertEquals(windowStamp(T0 + 43_500.625), "20240101T000043.501Z");
  assertEquals(windowStamp(T0 + 43_999.875), "20240101T000044Z");
  assertEquals(parseChannelId(" XX.ABC..HHZ ", "c"), ["XX", "ABC", "", "HHZ"]);
  assertEquals(parseChannelId("XX.ABC.00.BHZ", "c"), ["XX", "ABC", "00", "BHZ"]);
  for (const bad of ["XX.ABC.HHZ", "XX..00.HHZ", "XX.ABC.00.", "XX.A B.00.HHZ", ".ABC.00.HHZ"]) {
    assertThrows(() => parseChannelId(bad, "channels[1]"), UserError, `channels[1]`);
  }
  assertEquals(
    windowSpan({ start: "2024-01-01", end: "2024-01-01T01:00:00Z", step: 60 }),
    { start: T0, end: T0 + 3_600_000, stepMs: 60_000 },
  );
  assertThrows(
    () => windowSpan({ start: "2024-01-01T01:00:00Z", end: "2024-01-01", step: 60 }),
    UserError,
    "end (2024-01-01) must be after start",
  );
  assertThrows(
    () => windowSpan({ start: "2024-02-30", end: "2024-03-01", step: 60 }),
    UserError,
    "input.windows.start: Cannot read the time '2024-02-30'",
  );
  assertThrows(
    () => windowSpan({ start: "2024-01-01", end: "2024-01-02", step: 0.0001 }),
    UserError,
    "input.windows.step: expected at least 0.001 s",
  );
});

Deno.test("windows: a span takes the label of the interval that fills the largest share of the shorter of the two, the shorter interval then the earlier row on a tie, none where none overlaps", () => {
  // Tiled as synth writes them (noise between events), with an earthquake inside the tremor.
  const tiled = intervalLabeller([
    { start: 0, end: 200, label: "noise" },
    { start: 200, end: 210, label: "explosion" },
    { start: 210, end: 300, label: "noise" },
    { start: 300, end: 330, label: "local" },
    { start: 330, end: 600, label: "noise" },
    { start: 600, end: 3600, label: "tremor" },
    { start: 1000, end: 1030, label: "quake in tremor" },
    { start: 4000, end: 4100, label: "a" },
    { start: 4000, end: 4100, label: "b" }, // the same as a: a wins
  ]);
  // The whole explosion (1) against 20 / 86 and 56 / 86 of noise.
  assertEquals(tiled(180, 266), "explosion");
  // 5 of its 10 s (0.5) against 81 / 86 of noise.
  assertEquals(tiled(205, 291), "noise");
  // The local earthquake and the noise between, both whole (1): the earthquake is shorter.
  assertEquals(tiled(205, 335), "local");
  // Across the noise-tremor boundary: 46 of 86 s tremor, 40 noise; and the other way round.
  assertEquals(tiled(560, 646), "tremor");
  assertEquals(tiled(540, 626), "noise");
  // Inside the tremor, an earthquake wholly in the window: 1 and 1, the earthquake is shorter.
  assertEquals(tiled(990, 1076), "quake in tremor");
  assertEquals(tiled(2000, 2086), "tremor");
  assertEquals(tiled(4010, 4020), "a");
  assertEquals(tiled(3600, 4000), null); // touching is no overlap
  assertEquals(tiled(5000, 6000), null);
  assertEquals(intervalLabeller([])(0, 1), null);
  // Layered: one noise interval under the events gives the same labels.
  const layered = intervalLabeller([
    { start: 0, end: 600, label: "noise" },
    { start: 200, end: 210, label: "explosion" },
    { start: 300, end: 330, label: "local" },
  ]);
  assertEquals(
    [[180, 266], [205, 291], [205, 335], [400, 486]].map(([a, b]) => layered(a, b)),
    ["explosion", "noise", "local", "noise"],
  );
  // Against a brute force over random intervals and spans.
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const ivs = Array.from({ length: 60 }, (_, i) => {
    const s = Math.floor(rnd() * 1000);
    return { start: s, end: s + 1 + Math.floor(rnd() * 80), label: `c${i}` };
  });
  const fast = intervalLabeller(ivs);
  let labelled = 0;
  for (let k = 0; k < 500; k++) {
    const t0 = Math.floor(rnd() * 1100) - 50, t1 = t0 + 1 + Math.floor(rnd() * 60);
    let best: string | null = null, score = 0, length = Infinity;
    for (const iv of ivs) {
      const l = Math.min(iv.end, t1) - Math.max(iv.start, t0);
      const sc = l / Math.min(iv.end - iv.start, t1 - t0);
      const len = iv.end - iv.start;
      if (l > 0 && (sc > score || (sc === score && len < length))) {
        [best, score, length] = [iv.label, sc, len];
      }
    }
    assertEquals(fast(t0, t1), best, `[${t0}, ${t1}]`);
    if (best !== null) labelled++;
  }
  assert(labelled > 300, `${labelled} of 500 spans labelled`);
});

Deno.test("windows: a labels CSV is read with its line numbers in every complaint", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const f = `${dir}/labels.csv`;
    await Deno.writeTextFile(
      f,
      "label,start,end\nnoise,2024-01-01T00:00:00Z,2024-01-01T00:10:00Z\n\n" +
        'tremor,2024-01-01T00:10:00.5Z,"2024-01-01T00:20:00Z"\n',
    );
    assertEquals(await readLabelIntervals(f), [
      { start: T0, end: T0 + 600_000, label: "noise" },
      { start: T0 + 600_500, end: T0 + 1_200_000, label: "tremor" },
    ]);
    const bad = async (text: string, msg: string) => {
      await Deno.writeTextFile(f, text);
      await assertRejects(() => readLabelIntervals(f), UserError, msg);
    };
    await bad("from,to,label\n", "expected columns start,end,label: found from,to,label");
    await bad("", "expected columns start,end,label: found nothing");
    await bad(
      "start,end,label\n\n2024-01-01,2024-13-01,x\n",
      `${f}, line 3, end: Cannot read the time '2024-13-01'`,
    );
    await bad("start,end,label\n2024-01-02,2024-01-01,x\n", "line 2: end (2024-01-01) must be");
    await bad("start,end,label\n2024-01-01,2024-01-02, \n", "line 2: label is empty");
    await bad("start,end,label\n,2024-01-02,x\n", "line 2: start is empty");
    // A missing file is named once ('no such file', not Deno's text naming it again).
    const e = await assertRejects(() => readLabelIntervals(`${dir}/none.csv`), UserError);
    assertEquals(e.message, `Cannot read the window labels ${dir}/none.csv: no such file`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("windows: tasks per channel and time read the day files around each window, across midnight; a missing day fails the window naming it", async () => {
  const root = await Deno.makeTempDir();
  try {
    const day = (sta: string, cha: string, year: number, doy: string) => ({
      dir: `${root}/${year}/XX/${sta}/${cha}.D`,
      file: `XX.${sta}.00.${cha}.D.${year}.${doy}`,
    });
    for (const cha of ["HHZ", "HHN", "HHE"]) {
      for (const [y, d] of [[2023, "365"], [2024, "001"]] as const) {
        const p = day("AAA", cha, y, d);
        await Deno.mkdir(p.dir, { recursive: true });
        await Deno.writeFile(`${p.dir}/${p.file}`, new Uint8Array(0));
      }
    }
    // BBB: only the new year's vertical.
    const b = day("BBB", "HHZ", 2024, "001");
    await Deno.mkdir(b.dir, { recursive: true });
    await Deno.writeFile(`${b.dir}/${b.file}`, new Uint8Array(0));
    const labels = `${root}/labels.csv`;
    await Deno.writeTextFile(
      labels,
      "start,end,label\n2023-12-31T23:00:00Z,2024-01-01T00:00:30Z,noise\n" +
        "2024-01-01T00:00:30Z,2024-01-01T00:05:00Z,tremor\n",
    );
    const w: SdsWindows = {
      trigger: null,
      start: "2023-12-31T23:58:00Z",
      end: "2024-01-01T00:02:00Z",
      step: 60,
      channels: ["XX.AAA.00.HHZ", "XX.BBB.00.HHZ"],
      labels,
      chunk: 0,
    };
    const codesOf = (c: string) => ["Z", "N", "E"].map((x) => c.slice(0, -1) + x);
    const span = [330_000, 330_000] as const; // 5.5 minutes each side
    const tasks = await sdsWindowTasks(w, "/st.xml", { dir: root, codesOf }, span, [20, 66]);
    assertEquals(tasks.map((t) => t.id), [
      "XX.AAA.00.HHZ.20231231T235800Z",
      "XX.AAA.00.HHZ.20231231T235900Z",
      "XX.AAA.00.HHZ.20240101T000000Z",
      "XX.AAA.00.HHZ.20240101T000100Z",
      "XX.BBB.00.HHZ.20231231T235800Z",
      "XX.BBB.00.HHZ.20231231T235900Z",
      "XX.BBB.00.HHZ.20240101T000000Z",
      "XX.BBB.00.HHZ.20240101T000100Z",
    ]);
    assertEquals(tasks[2].referenceTime, T0);
    assertEquals(tasks[2].response, "/st.xml");
    // Crop [t − 20 s, t + 66 s]: at 00:00:00 50 s of noise (50 / 86) and 36 s of tremor
    // (36 / 86); at 00:01:00 tremor alone.
    assertEquals(tasks.map((t) => t.label), [
      "noise",
      "noise",
      "noise",
      "tremor",
      "noise",
      "noise",
      "noise",
      "tremor",
    ]);
    // Every window of AAA reads both days of its three channels (5.5 minutes each side).
    const aaa = (cha: string, y: number, d: string) => {
      const p = day("AAA", cha, y, d);
      return `${p.dir}/${p.file}`;
    };
    assertEquals(
      tasks[0].waveforms,
      ["HHZ", "HHN", "HHE"].flatMap((c) => [aaa(c, 2023, "365"), aaa(c, 2024, "001")]),
    );
    assert(tasks.slice(0, 4).every((t) => !t.error && !t.missingFiles), "AAA has everything");
    // BBB has no N or E: every window fails naming the files expected.
    for (const t of tasks.slice(4)) {
      assertEquals(t.error?.reason, "missing channel");
      assert(t.error!.message.includes(`XX.BBB.00.HHN.D.2023.365`), t.error!.message);
    }
    // Z alone: BBB's windows read the new year's file and name the old year's as missing.
    const z = await sdsWindowTasks(w, null, { dir: root, codesOf: (c) => [c] }, span, [20, 66]);
    const bbb = z.slice(4);
    assert(bbb.every((t) => !t.error && t.waveforms.length === 1), JSON.stringify(bbb[0]));
    assertEquals(bbb[0].missingFiles, [`${root}/2023/XX/BBB/HHZ.D/XX.BBB.00.HHZ.D.2023.365`]);
    // Its location is the one given: at location 10 nothing is found (no fallback to 00), and a
    // channel with no day file in the whole span is refused at once, with what the archive
    // holds, rather than failing every window alone.
    await assertRejects(
      () =>
        sdsWindowTasks(
          { ...w, channels: ["XX.BBB.10.HHZ"], labels: null },
          null,
          { dir: root, codesOf: (c) => [c] },
          span,
          [20, 66],
        ),
      UserError,
      `Cannot use input.windows.channels[0]: the archive ${root} holds no day file of ` +
        `XX.BBB.10.HHZ from 2023-12-31 to 2024-01-01: it holds XX.BBB.00.HHZ of XX.BBB`,
    );
    // Outside the archive's days, the channel's own days are named; a missing root is named.
    await assertRejects(
      () =>
        sdsWindowTasks(
          { ...w, start: "2024-03-01T00:00:00Z", end: "2024-03-01T01:00:00Z", labels: null },
          null,
          { dir: root, codesOf: (c) => [c] },
          span,
          [20, 66],
        ),
      UserError,
      "holds no day file of XX.AAA.00.HHZ from 2024-03-01 to 2024-03-01: it holds " +
        "XX.AAA.00.HHZ from 2023.365 to 2024.001 (YEAR.DOY)",
    );
    await assertRejects(
      () => sdsWindowTasks(w, null, { dir: `${root}/nope`, codesOf: (c) => [c] }, span, [20, 66]),
      UserError,
      `Cannot read the SDS archive ${root}/nope: no such directory`,
    );
    // Errors name the field.
    const look = { dir: root, codesOf: (c: string) => [c] };
    await assertRejects(
      () =>
        sdsWindowTasks({ ...w, channels: ["XX.AAA.00.HHZ", "XX.AAA.00.HHZ"] }, null, look, span, [
          0,
          1,
        ]),
      UserError,
      "input.windows.channels[1]: XX.AAA.00.HHZ makes the same samples as XX.AAA.00.HHZ",
    );
    // With components, two channels of one band make the same samples.
    await assertRejects(
      () =>
        sdsWindowTasks(
          { ...w, channels: ["XX.AAA.00.HHZ", "XX.AAA.00.HHN"] },
          null,
          look,
          span,
          [0, 1],
          { oneChannelPerBand: true },
        ),
      UserError,
      "channels[1]: XX.AAA.00.HHN makes the same samples as XX.AAA.00.HHZ (the components replace",
    );
    // Wildcards match the archive's codes in the span's years (2023 and 2024 here).
    const ids = async (channels: string[], oneChannelPerBand = false) => [
      ...new Set(
        (await sdsWindowTasks({ ...w, channels }, null, look, span, [0, 1], {
          oneChannelPerBand,
        })).map((t) => t.id.split(".").slice(0, 4).join(".")),
      ),
    ];
    assertEquals(await ids(["XX.*.00.HHZ"]), ["XX.AAA.00.HHZ", "XX.BBB.00.HHZ"]);
    assertEquals(await ids(["XX.AAA.*.HH?"]), ["XX.AAA.00.HHE", "XX.AAA.00.HHN", "XX.AAA.00.HHZ"]);
    assertEquals(await ids(["XX.A?A.*.HH?"], true), ["XX.AAA.00.HHZ"]);
    assertEquals(await ids(["XX.*.*.HH*"], true), ["XX.AAA.00.HHZ", "XX.BBB.00.HHZ"]);
    // An explicit channel and a pattern that also matches it: once.
    assertEquals(await ids(["XX.BBB.00.HHZ", "*.*.*.*"], true), ["XX.BBB.00.HHZ", "XX.AAA.00.HHZ"]);
    assertEquals(
      await ids(["XX.[AB].00.HHZ", "XX.B+.00.HHZ"].slice(0, 0).concat("XX.BB?.0?.HHZ")),
      [
        "XX.BBB.00.HHZ",
      ],
    );
    await assertRejects(
      () => ids(["XX.AAA.00.HHZ", "YY.*.*.*"]),
      UserError,
      `input.windows.channels[1]: YY.*.*.* matches no channel in ${root} in 2023–2024`,
    );
    // A pattern of a station that holds other channels names them, as a channel named in full
    // does; it said only that no day file was there.
    await assertRejects(
      () => ids(["XX.AAA.*.BH?"]),
      UserError,
      `input.windows.channels[0]: XX.AAA.*.BH? matches no channel in ${root} in 2023–2024: it ` +
        `holds XX.AAA.00.HHE, XX.AAA.00.HHN, XX.AAA.00.HHZ of XX.AAA`,
    );
    // Codes that look like regular expressions are plain text.
    await assertRejects(() => ids(["XX.A.A.00.HHZ"]), UserError, "expected a channel as");
    await assertRejects(() => ids(["XX.A+A.*.HHZ"]), UserError, "matches no channel");
    // Counted before any list is made: one channel's in the config, every channel's here.
    await assertRejects(
      () =>
        sdsWindowTasks(
          { ...w, start: "2000-01-01", end: "2024-01-01", step: 60 },
          null,
          look,
          span,
          [0, 1],
        ),
      UserError,
      `input.windows.step: 60 s from 2000-01-01 to 2024-01-01 makes 12623040 windows a ` +
        `channel: expected at most ${MAX_WINDOWS} in one run (a step of at least 152 s over ` +
        `this span)`,
    );
    await assertRejects(
      () =>
        sdsWindowTasks(
          {
            ...w,
            start: "2000-01-01",
            end: "2024-01-01",
            step: 200,
            channels: ["XX.AAA.00.HHZ", "XX.BBB.00.HHZ"],
          },
          null,
          look,
          span,
          [0, 1],
        ),
      UserError,
      `Cannot list the windows: 2 channel(s) give 7573824 samples, more than ${MAX_WINDOWS} in ` +
        `one run`,
    );
    assertEquals(windowCount(0, 100_000, 43_000), windowTimes(0, 100_000, 43_000).length);
    assertEquals(windowCount(0, 86_000, 43_000), 2);
    assertEquals(windowCount(5, 5, 1), 0);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract --sds --windows: the window at a pick's time gives the manifest sample's spectrogram bit for bit; windows the data does not cover fail and are listed; labels from intervals", async () => {
  const root = await Deno.makeTempDir();
  try {
    const syn = `${root}/syn`, sds = `${root}/sds`;
    await writeSynth(syn, { perClass: 1, seed: 2 });
    const rows = parseCsvRecords(await Deno.readTextFile(`${syn}/manifest.csv`));
    // Sample 1 (hour 1 of 2024-01-01), alone in its day file.
    const r = rows[1];
    const [tr] = await readMiniseedFile(`${syn}/${r.waveform}`);
    const d = `${sds}/2024/SY/${r.station}/HHZ.D`;
    await Deno.mkdir(d, { recursive: true });
    await Deno.writeFile(`${d}/SY.${r.station}.00.HHZ.D.2024.001`, await encodeMiniseed3([tr]));
    const tref = Date.parse(r.reference_time);
    const iso = (t: number) => new Date(t).toISOString();
    // The trace holds [tref − 30 s, tref + 80 s], its first and last 5.5 s tapered; a crop
    // needs [t − 21.28 s, t + 67.28 s] clear of the tapers: of the windows every 2 s from
    // tref − 4 s to tref + 6 s the first does not fit.
    await Deno.writeTextFile(
      `${root}/labels.csv`,
      `start,end,label\n${iso(tref - 600_000)},${iso(tref)},noise\n${iso(tref)},${
        iso(tref + 600_000)
      },${r.label}\n`,
    );
    const m = await runExtract(await readExtractConfig(`${syn}/extract.json`), `${root}/m`, {
      quiet: true,
    });
    assertEquals(m.ok, 5);
    const out = await run(
      "extract",
      "--config",
      `${syn}/extract.json`,
      "--sds",
      sds,
      "--windows",
      `${iso(tref - 4_000)}/${iso(tref + 6_001)}/2`,
      "--channels",
      `SY.${r.station}.00.HHZ`,
      "--window-labels",
      `${root}/labels.csv`,
      "--stations",
      `${syn}/stations.xml`,
      "--out",
      `${root}/w`,
      "--workers",
      "0",
    );
    assertEquals(out.code, 0, out.err.join("\n"));
    const [md, wd] = [await openDataset(`${root}/m`), await openDataset(`${root}/w`)];
    try {
      assertEquals(wd.count, 5, await Deno.readTextFile(`${root}/w/failures.csv`));
      const stamp = (t: number) =>
        new Date(t).toISOString().replace(/[-:]/g, "").replace(
          /\.(\d+)Z$/,
          (_, f) => f === "000" ? "Z" : `.${f}Z`,
        );
      assertEquals(
        wd.samples.map((s) => s.id),
        [-2_000, 0, 2_000, 4_000, 6_000].map((o) => `SY.${r.station}.00.HHZ.${stamp(tref + o)}`),
      );
      assertEquals(
        wd.samples.map((s) => s.referenceTime),
        [-2, 0, 2, 4, 6].map((o) => iso(tref + o * 1000)),
      );
      // Crop [t − 20, t + 66]: at −2 s, 18 s of noise and 68 of the event's 600 s.
      assertEquals(wd.samples.map((s) => s.label), Array(5).fill(r.label));
      const j = md.samples.findIndex((s) => s.id === r.id);
      assertEquals(Array.from(wd.readBatch([1])), Array.from(md.readBatch([j])));
      // Other windows differ from it.
      assert(Array.from(wd.readBatch([0])).some((v, i) => v !== md.readBatch([j])[i]));
      const fails = parseCsvRecords(await Deno.readTextFile(`${root}/w/failures.csv`));
      assertEquals(
        fails.map((f) => [f.id, f.reason]),
        [-4_000].map((o) => [`SY.${r.station}.00.HHZ.${stamp(tref + o)}`, "too short"]),
      );
      assert(out.out.join("\n").includes("5 of 6"), out.out.join("\n"));
    } finally {
      md.close();
      wd.close();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract: a config's SDS input takes picks or windows, one of them; the flags switch between them and name what is missing", () => {
  const base = { format: "sds", dir: "/a", stations: null };
  const windows = {
    start: "2024-01-01",
    end: "2024-01-02",
    step: 60,
    channels: ["XX.ABC..HHZ"],
  };
  assertEquals(parseExtractConfig({ input: { ...base, windows } }).input, {
    ...base,
    picks: null,
    phase: "P",
    windows: { ...windows, trigger: null, labels: null, chunk: 1800 },
  });
  assertThrows(
    () => parseExtractConfig({ input: { ...base, picks: "/p.xml", windows } }, "c.json"),
    UserError,
    "Cannot use c.json: an SDS input takes input.picks (a sample at each pick) or input.windows",
  );
  assertThrows(() => parseExtractConfig({ input: base }), UserError, "found neither");
  assertThrows(
    () => parseExtractConfig({ input: { ...base, windows: { ...windows, end: "2023-12-31" } } }),
    UserError,
    "input.windows: end (2023-12-31) must be after start (2024-01-01)",
  );
  assertThrows(
    () =>
      parseExtractConfig({ input: { ...base, windows: { ...windows, channels: ["ABC.HHZ"] } } }),
    UserError,
    "input.windows.channels[0]: expected a channel as NET.STA.LOC.CHA",
  );
  assertThrows(
    () => parseExtractConfig({ input: { ...base, windows: { ...windows, step: 0 } } }),
    UserError,
    "input.windows.step",
  );
  const over = (input: unknown, flags: Record<string, string>) =>
    applyOverrides(parseExtractConfig({ input }), flags).input;
  const picked = { ...base, picks: "/p.xml" };
  // --windows replaces the picks; channels come with it.
  assertEquals(
    over(picked, {
      windows: "2024-01-01/2024-01-02T00:00:00Z/43.5",
      channels: "XX.A..HHZ, XX.B.00.HHZ",
    }),
    {
      ...base,
      picks: null,
      phase: "P",
      windows: {
        start: "2024-01-01",
        end: "2024-01-02T00:00:00Z",
        step: 43.5,
        trigger: null,
        channels: ["XX.A..HHZ", "XX.B.00.HHZ"],
        labels: null,
        chunk: 1800,
      },
    },
  );
  // --picks replaces the windows; --channels alone changes a config's windows.
  const win = { ...base, windows };
  assertEquals(over(win, { picks: "/q.xml" }), {
    ...base,
    picks: "/q.xml",
    phase: "P",
    windows: null,
  });
  assertEquals(
    (over(win, { channels: "XX.C..BHZ", "window-labels": "/l.csv" }) as { windows: SdsWindows })
      .windows,
    { ...windows, trigger: null, channels: ["XX.C..BHZ"], labels: "/l.csv", chunk: 1800 },
  );
  assertThrows(
    () => over(picked, { windows: "2024-01-01/2024-01-02/60", picks: "/q.xml" }),
    UserError,
    "give --picks (a sample at each pick) or --windows (samples at regular times), not both",
  );
  assertThrows(
    () => over(picked, { windows: "2024-01-01/2024-01-02/60" }),
    UserError,
    "give --channels NET.STA.LOC.CHA",
  );
  for (const bad of ["2024-01-01/2024-01-02/60/1", "/2024-01-02/60"]) {
    assertThrows(
      () => over(picked, { windows: bad, channels: "XX.A..HHZ" }),
      UserError,
      `Cannot read --windows: expected START/END/STEP`,
    );
  }
  // A bad step is named as such (a step of 0 got the format message).
  for (const step of ["x", "0", "-5"]) {
    assertThrows(
      () => over(picked, { windows: `2024-01-01/2024-01-02/${step}`, channels: "XX.A..HHZ" }),
      UserError,
      `Cannot read --windows: the step ${step} must be a number of seconds > 0`,
    );
  }
  assertThrows(
    () => over(picked, { channels: "XX.A..HHZ" }),
    UserError,
    "--channels: it applies to --windows",
  );
  assertThrows(
    () => over({ format: "esec", dir: "/e" }, { windows: "2024-01-01/2024-01-02/60" }),
    UserError,
    "--windows: it applies to an SDS archive (--sds DIR)",
  );
  // --window-chunk sets the windows' chunk; it needs windows.
  assertEquals(
    (over(win, { "window-chunk": "0" }) as { windows: SdsWindows }).windows.chunk,
    0,
  );
  assertThrows(
    () => over(win, { "window-chunk": "-5" }),
    UserError,
    "--window-chunk: expected seconds >= 0",
  );
  assertThrows(
    () => over(picked, { "window-chunk": "600" }),
    UserError,
    "--window-chunk: it applies to --windows",
  );
  assertThrows(
    () => over({ format: "esec", dir: "/e" }, { "window-chunk": "600" }),
    UserError,
    "--window-chunk: it applies to an SDS archive",
  );
  assertThrows(
    () => over({ format: "esec", dir: "/e" }, { sds: "/b" }),
    UserError,
    "give --picks QUAKEML (a sample at each pick) or --windows START/END/STEP with --channels",
  );
});

Deno.test("a regular window before the archive's data fails as too short, naming the window and the file's span, not a pick", async () => {
  const { writeSynthContinuous } = await import("../../lib/io/synth_continuous.ts");
  const root = await Deno.makeTempDir();
  try {
    const sum = await writeSynthContinuous(`${root}/syn`, {
      hours: 1,
      stations: 1,
      eventsPerHour: 2,
      seed: 5,
    });
    const config = await readExtractConfig(`${root}/syn/extract.json`);
    const w = (config.input as { windows: { start: string; end: string; step: number | null } })
      .windows;
    // One window 60 s before the data (its reference time outside the file), one inside.
    w.start = new Date(sum.start - 60_000).toISOString();
    w.end = new Date(sum.start + 120_000).toISOString();
    w.step = 90;
    config.spectrogram.before = 0;
    const r = await runExtract(config, `${root}/ds`, { quiet: true });
    assertEquals(r.failures.map((f) => f.reason), ["too short"]);
    const m = r.failures[0].message;
    assert(m.includes(`window at ${new Date(sum.start - 60_000).toISOString()} is outside`), m);
    assert(m.includes(`which covers ${new Date(sum.start).toISOString()} .. `), m);
    assertEquals(r.ok, 1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract on synth --continuous's extract.json: a window every 43 s at each station, the events' windows labelled with their class and louder after their reference time than the noise's", async () => {
  const { writeSynthContinuous } = await import("../../lib/io/synth_continuous.ts");
  const root = await Deno.makeTempDir();
  try {
    const sum = await writeSynthContinuous(`${root}/syn`, {
      hours: 1,
      stations: 2,
      eventsPerHour: 8,
      seed: 4,
    });
    const config = await readExtractConfig(`${root}/syn/extract.json`);
    config.spectrogram.scaling = "db";
    const r = await runExtract(config, `${root}/ds`, { quiet: true });
    const ds = await openDataset(`${root}/ds`);
    try {
      // 84 times per station (0, 43, ... 3569 s). The first has no data 20 s before it; the last
      // two reach the archive's end or its taper (0.05 of the 5.4 minutes read before it).
      assertEquals(r.ok + r.failures.length, 2 * 84);
      assertEquals(
        r.failures.map((f) => [f.id, f.reason]).sort(),
        ["S0000", "S0001"].flatMap((s) =>
          ["T000000Z", "T005846Z", "T005929Z"].map((
            t,
          ) => [`SY.${s}.00.HHZ.20240101${t}`, "too short"])
        ),
      );
      assertEquals(ds.count, 2 * 81);
      const at = (s: string) => ds.samples.filter((x) => x.station === s);
      assertEquals(at("S0000").length, 81);
      const first = Date.parse(at("S0001")[0].referenceTime!);
      assertEquals(first, sum.start + 43_000);
      // Every event that fits wholly inside some window's crop labels at least one window with
      // its class; no window is labelled with a class whose events it does not touch.
      const crop = (t: number) => [t - 20_000, t + 66_000];
      const labelled = new Set(ds.samples.map((x) => x.label));
      for (const e of sum.events) {
        const holds = ds.samples.some((x) => {
          const [a, b] = crop(Date.parse(x.referenceTime!));
          return a <= e.onset && e.end <= b;
        });
        if (holds) assert(labelled.has(e.label), `${e.id} (${e.label}) labels no window`);
      }
      for (const x of ds.samples.filter((x) => x.label !== "noise")) {
        const [a, b] = crop(Date.parse(x.referenceTime!));
        assert(
          sum.events.some((e) => e.label === x.label && e.onset < b && e.end > a),
          `${x.id} is labelled ${x.label} without such an event in its crop`,
        );
      }
      assert(sum.events.length >= 4 && labelled.size >= 3, JSON.stringify([...labelled]));
      // Energy (dB, mean over frequencies and frames) after the window's time over before: an
      // event inside the window raises it; noise does not.
      const times = ds.times;
      const rise = (i: number) => {
        const x = ds.readBatch([i]);
        const F = ds.sampleShape[1], T = ds.sampleShape[2];
        let pre = 0, post = 0, np = 0, nq = 0;
        for (let f = 0; f < F; f++) {
          for (let t = 0; t < T; t++) {
            const v = x[f * T + t];
            if (times[t] < 0) [pre, np] = [pre + v, np + 1];
            else [post, nq] = [post + v, nq + 1];
          }
        }
        return post / nq - pre / np;
      };
      const noise = ds.samples.flatMap((x, i) => x.label === "noise" ? [rise(i)] : []);
      const events = ds.samples.flatMap((x, i) =>
        x.label !== "noise" &&
          sum.events.some((e) => {
            const t = Date.parse(x.referenceTime!);
            return e.onset > t && e.onset < t + 30_000;
          })
          ? [rise(i)]
          : []
      );
      assert(noise.length > 50 && events.length >= 3, `${noise.length} ${events.length}`);
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
      const [mn, me] = [median(noise.map(Math.abs)), median(events)];
      assert(
        me > 4 * mn && Math.min(...events) > mn,
        `events ${me.toFixed(2)} dB, noise ${mn.toFixed(2)} dB (medians)`,
      );
      // cluster merges consecutive windows of a channel in one cluster into episodes.csv.
      const c = await run(
        "cluster",
        `${root}/ds`,
        "--raw",
        "--k",
        "2",
        "--no-plots",
        "--quiet",
        "--out",
        `${root}/cl`,
      );
      assertEquals(c.code, 0, c.err.join("\n"));
      const eps = parseCsvRecords(await Deno.readTextFile(`${root}/cl/episodes.csv`));
      assertEquals(eps.reduce((n, e) => n + Number(e.windows), 0), ds.count);
      for (const e of eps) {
        // An episode of n windows spans (n − 1) steps plus one crop (86 s).
        const d = (Date.parse(e.end) - Date.parse(e.start)) / 1000;
        assertEquals(d, (Number(e.windows) - 1) * 43 + 86, JSON.stringify(e));
      }
      const assigned = parseCsvRecords(await Deno.readTextFile(`${root}/cl/labels.csv`));
      const runs = ["S0000", "S0001"].map((st) => {
        const ls = assigned.filter((l) => l.station === st).map((l) => l.cluster);
        return ls.filter((l, i) => i === 0 || l !== ls[i - 1]).length;
      });
      // Each station's windows are contiguous but for the edge failures: one episode per
      // change of cluster along the day.
      assertEquals(eps.length, runs[0] + runs[1]);
    } finally {
      ds.close();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("windows preprocessed by chunks: the chunk's span around a window; its spectrograms those of windows cut on their own to 1e-7 (relative L2 of the PSD), with the same samples and failures", async () => {
  const { windowChunks } = await import("../../lib/io/extract.ts");
  const config = parseExtractConfig({
    input: {
      format: "sds",
      dir: "/a",
      windows: { start: "2024-01-01", end: "2024-01-02", step: 43, channels: ["XX.A..HHZ"] },
    },
  });
  const w = (config.input as { windows: SdsWindows }).windows;
  assertEquals(w.chunk, 1800);
  const span = windowChunks(config, w)!;
  // Crop with half a 2.57 s STFT window: 21.285 s before, 67.285 s after; margin
  // p = (0.05 · (1800 + 88.57) + 300) / 0.9 = 438.26 s.
  const b = 21_285, a = 67_285, p = (0.05 * (1_800_000 + a + b) + 300_000) / 0.9;
  assertEquals(span(T0), [T0 - b - p, T0 + 1_800_000 + a + p]);
  assertEquals(span(T0 + 1_799_999), span(T0));
  assertEquals(span(T0 + 1_800_000), [T0 + 1_800_000 - b - p, T0 + 3_600_000 + a + p]);
  assertEquals(windowChunks(config, { ...w, chunk: 0 }), undefined);
  const tapered = structuredClone(config);
  tapered.preprocess.postTaper = 0.45;
  assertEquals(windowChunks(tapered, w), undefined);
  // At 4 kHz an 1800 s chunk's trace (11 million samples) would not fit the cache that keeps it
  // for its windows, and was preprocessed again for each: the chunk is halved until it fits.
  const { PREPROCESSED_ITEM_BYTES } = await import("../../lib/io/extract.ts");
  const fast = structuredClone(config);
  fast.preprocess.samplingRate = 4000;
  fast.preprocess.margin = 5;
  const fastSpan = windowChunks(fast, w)!;
  const [s0, s1] = fastSpan(T0);
  assert((s1 - s0) / 1000 * 4000 * 8 <= PREPROCESSED_ITEM_BYTES, `${s1 - s0} ms`);
  assert(s1 - s0 > 0.5 * PREPROCESSED_ITEM_BYTES / 8 / 4, `${s1 - s0} ms: halved too far`);
  // Windows a chunk apart share no span; the chunk is still several windows long.
  const c = fastSpan(T0 + 43_000)[0] === s0 ? 43_000 : 0;
  assert(c > 0, "two windows 43 s apart share their chunk");
  // Where even a halved chunk would hold two windows at most, they are cut one by one.
  const faster = structuredClone(fast);
  faster.preprocess.samplingRate = 200_000;
  assertEquals(windowChunks(faster, w), undefined);

  const { writeSynthContinuous } = await import("../../lib/io/synth_continuous.ts");
  const root = await Deno.makeTempDir();
  try {
    await writeSynthContinuous(`${root}/syn`, { hours: 1, stations: 1, eventsPerHour: 6, seed: 9 });
    const base = await readExtractConfig(`${root}/syn/extract.json`);
    base.workers = 0;
    const run = async (chunk: number, out: string, workers = 0) => {
      const c = structuredClone(base);
      c.workers = workers;
      (c.input as { windows: SdsWindows }).windows.chunk = chunk;
      // 900 s chunks: four in the hour, so that windows fall in whole chunks.
      return await runExtract(c, `${root}/${out}`, { quiet: true });
    };
    const [r1, r0] = [await run(900, "c"), await run(0, "o")];
    assertEquals(r1.failures, r0.failures);
    // Two workers, each handed the windows of a chunk in a row: the same bytes, in order; and
    // interrupted in the middle of a chunk, then resumed, the same bytes again.
    const r2 = await run(900, "c2", 2);
    assertEquals(r2.failures, r1.failures);
    const c3 = structuredClone(base);
    c3.workers = 2;
    (c3.input as { windows: SdsWindows }).windows.chunk = 900;
    await assertRejects(
      () => runExtract(c3, `${root}/c3`, { quiet: true, checkpointSeconds: 0, stopAfter: 30 }),
      Error,
      "stopped after 30",
    );
    await runExtract(c3, `${root}/c3`, { quiet: true, resume: true });
    for (const d of ["c2", "c3"]) {
      for (const f of ["spectrograms.npy", "samples.csv", "failures.csv"]) {
        const [x, y] = [`${root}/${d}/${f}`, `${root}/c/${f}`];
        assertEquals(await Deno.readFile(x), await Deno.readFile(y), `${d}/${f}`);
      }
    }
    const [d1, d0] = [await openDataset(`${root}/c`), await openDataset(`${root}/o`)];
    try {
      assertEquals(d1.samples, d0.samples);
      const all = d1.samples.map((_, i) => i);
      const [x1, x0] = [d1.readBatch(all, "none"), d0.readBatch(all, "none")];
      // Relative L2 distance of each window's PSD (linear: float32 keeps 7 digits of it).
      let worst = 0, differ = 0;
      const n = x1.length / all.length;
      for (let i = 0; i < all.length; i++) {
        let d = 0, s = 0;
        for (let j = i * n; j < (i + 1) * n; j++) {
          d += (x1[j] - x0[j]) ** 2;
          s += x0[j] ** 2;
        }
        worst = Math.max(worst, Math.sqrt(d / s));
        if (d > 0) differ++;
      }
      assert(worst < 1e-7, `chunked vs own: ${worst}`); // measured 1.5e-9
      // The chunks did the work for the windows whose chunk the data cover (the middle ones);
      // those near the archive's ends were cut on their own, bit for bit as without chunks.
      assert(differ > 10 && differ < all.length, `${differ} of ${all.length} windows differ`);
    } finally {
      d1.close();
      d0.close();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a damaged record in a day file fails, as corrupt and naming its file offset, only the windows whose crop it held; with chunks or without, the same samples and failures", async () => {
  const { writeSynthContinuous } = await import("../../lib/io/synth_continuous.ts");
  const { indexRecords } = await import("../../lib/io/mseed.ts");
  const root = await Deno.makeTempDir();
  try {
    await writeSynthContinuous(`${root}/syn`, { hours: 1, stations: 1, eventsPerHour: 6, seed: 9 });
    const base = await readExtractConfig(`${root}/syn/extract.json`);
    base.workers = 0;
    const run = (chunk: number, out: string) => withChunk(base, chunk, `${root}/${out}`);
    const intact = await run(900, "intact");
    // The day file of the station's vertical; damage the record that holds the middle of the hour.
    const files = hhzDayFiles(`${root}/syn`);
    assertEquals(files.length, 1, files.join());
    const bytes = await Deno.readFile(files[0]);
    const recs = await indexRecords(bytes, files[0]);
    const r = recs[Math.floor(recs.length / 2)];
    bytes[r.offset + r.size - 8] ^= 0x55;
    await Deno.writeFile(files[0], bytes);
    const [r1, r0] = [await run(900, "c"), await run(0, "o")];
    assertEquals(r1.failures, r0.failures);
    assertEquals([r1.ok, r1.total], [r0.ok, r0.total]);
    const bad = r1.failures.filter((f) => f.reason === "corrupt");
    // A record of a few tens of seconds, windows every 43 s with crops of 88.6 s: 1 to 4 fail
    // (one whose trace the left-out record cuts short, inside its taper), every other window
    // as before.
    assert(bad.length >= 1 && bad.length <= 4, JSON.stringify(bad));
    assertEquals(r1.ok, intact.ok - bad.length);
    assertEquals(
      r1.failures.filter((f) => f.reason !== "corrupt"),
      intact.failures,
    );
    for (const f of bad) {
      assert(f.message.includes(`the record at byte ${r.offset} (`), f.message);
      assert(f.message.includes("fails its CRC-32C check"), f.message);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract refuses a missing --stations file and an output in the way up front, before trigger detection, naming them", async () => {
  const { writeSynthContinuous } = await import("../../lib/io/synth_continuous.ts");
  const root = await Deno.makeTempDir();
  try {
    await writeSynthContinuous(`${root}/syn`, { hours: 1, stations: 1, eventsPerHour: 2, seed: 4 });
    const config = await readExtractConfig(`${root}/syn/extract.json`);
    const windows = config.input.format === "sds" ? config.input.windows : null;
    assert(windows, "synth --continuous's config extracts windows");
    const inp = { ...config.input, stations: `${root}/inv.xml` };
    const at = { ...config, input: inp } as typeof config;
    await assertRejects(
      () => runExtract(at, `${root}/ds`, { quiet: true }),
      UserError,
      `Cannot read the stations ${root}/inv.xml (--stations, input.stations): no such file: ` +
        "expected a StationXML or SAC pole-zero file",
    );
    assertEquals(await Deno.stat(`${root}/ds`).catch(() => null), null, "nothing written");
    // An existing output: refused before any detection (the triggers' cache is not made).
    await Deno.mkdir(`${root}/ds2`);
    await Deno.writeTextFile(`${root}/ds2/meta.json`, "{}");
    const trig = {
      ...config,
      input: {
        ...config.input,
        windows: { ...windows, trigger: { sta: 1, lta: 20, on: 4, off: 1.5 } },
      },
    } as typeof config;
    await assertRejects(
      () => runExtract(trig, `${root}/ds2`, { quiet: true }),
      Deno.errors.AlreadyExists,
      `Cannot write ${root}/ds2: it already exists: pass --force to replace it`,
    );
    assertEquals([...Deno.readDirSync(`${root}/ds2`)].map((e) => e.name), ["meta.json"]);
    assertEquals([...Deno.readDirSync(root)].map((e) => e.name).sort(), ["ds2", "syn"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a window on a day without its day file fails as missing channel with chunks or without (a chunk's margin reaching into the next day's file made it 'too short')", async () => {
  const { writeSynthContinuous } = await import("../../lib/io/synth_continuous.ts");
  const root = await Deno.makeTempDir();
  try {
    await writeSynthContinuous(`${root}/syn`, {
      hours: 26,
      stations: 1,
      eventsPerHour: 2,
      seed: 5,
    });
    const base = await readExtractConfig(`${root}/syn/extract.json`);
    base.workers = 0;
    const w = (base.input as { windows: SdsWindows }).windows;
    // Windows from 23:40 to 00:20 across midnight; the first day's file removed.
    const day1 = Date.parse(w.start.slice(0, 10) + "T00:00:00Z");
    w.start = new Date(day1 + 23 * 3600_000 + 40 * 60_000).toISOString();
    w.end = new Date(day1 + 24 * 3600_000 + 20 * 60_000).toISOString();
    const files = hhzDayFiles(`${root}/syn`);
    assertEquals(files.length, 2, files.join());
    await Deno.remove(files[0]);
    const run = (chunk: number, out: string) => withChunk(base, chunk, `${root}/${out}`);
    const [chunked, own] = [await run(900, "c"), await run(0, "o")];
    assertEquals(chunked.failures, own.failures);
    assertEquals([chunked.ok, chunked.total], [own.ok, own.total]);
    const missing = own.failures.filter((f) => f.reason === "missing channel");
    assert(missing.length > 5, JSON.stringify(own.byReason));
    assert(chunked.ok > 5, "the second day's windows are made");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** The synthetic archive's vertical day files below `dir`, sorted. */
function hhzDayFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      if (e.isDirectory) walk(`${d}/${e.name}`);
      else if (/HHZ\.D\.\d{4}\.\d{3}$/.test(e.name)) files.push(`${d}/${e.name}`);
    }
  };
  walk(dir);
  return files.sort();
}

/** An extraction of `base` with windows chunked by `chunk` s (0: none) into `out`. */
function withChunk(base: ExtractConfig, chunk: number, out: string) {
  const c = structuredClone(base);
  (c.input as { windows: SdsWindows }).windows.chunk = chunk;
  return runExtract(c, out, { quiet: true });
}

Deno.test("windows: a span starting just after midnight whose own day file is missing is listed when the previous day's file holds its first crop", async () => {
  const root = await Deno.makeTempDir();
  try {
    // Only 2023-12-31 (day 365) of XX.AAA.00.HHZ; the span is 2024-01-01 00:00–00:02.
    const dir = `${root}/2023/XX/AAA/HHZ.D`;
    await Deno.mkdir(dir, { recursive: true });
    const file = `${dir}/XX.AAA.00.HHZ.D.2023.365`;
    await Deno.writeFile(file, new Uint8Array(0));
    const w: SdsWindows = {
      trigger: null,
      start: "2024-01-01T00:00:00Z",
      end: "2024-01-01T00:02:00Z",
      step: 60,
      channels: ["XX.AAA.00.HHZ"],
      labels: null,
      chunk: 0,
    };
    const look = { dir: root, codesOf: (c: string) => [c] };
    const tasks = await sdsWindowTasks(w, null, look, [330_000, 330_000], [20, 66]);
    assertEquals(tasks.map((t) => t.id), [
      "XX.AAA.00.HHZ.20240101T000000Z",
      "XX.AAA.00.HHZ.20240101T000100Z",
    ]);
    assert(tasks[0].waveforms.includes(file), tasks[0].waveforms.join());
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** An SDS archive under `root` with empty 2024-001 HHZ day files of XX.AAA.00 and XX.BBB.00. */
async function emptyDayFiles(root: string): Promise<void> {
  for (const sta of ["AAA", "BBB"]) {
    const dir = `${root}/2024/XX/${sta}/HHZ.D`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeFile(`${dir}/XX.${sta}.00.HHZ.D.2024.001`, new Uint8Array(0));
  }
}

Deno.test("windows at triggers: the detection progress counts channels × UTC days, a span ending at midnight not counting the next day", async () => {
  const root = await Deno.makeTempDir();
  try {
    await emptyDayFiles(root);
    const look = { dir: root, codesOf: (c: string) => [c] };
    const trigger = { ...TRIGGER_DEFAULTS };
    const total = async (start: string, end: string) => {
      const calls: [number, number, number][] = [];
      const w: SdsWindows = {
        trigger,
        start,
        end,
        step: null,
        channels: ["XX.AAA.00.HHZ", "XX.BBB.00.HHZ"],
        labels: null,
        chunk: 0,
      };
      const day = 86_400_000;
      await sdsWindowTasks(w, null, look, [330_000, 330_000], [20, 66], {
        // A detector calls onDay once per UTC day of the span, and finds nothing.
        detect: (_codes, s, e, onDay) => {
          for (let d = Math.floor(s / day); d * day < e; d++) onDay?.(false);
          return Promise.resolve({ detections: [], problems: [] });
        },
        onDetected: (done, total, kept) => calls.push([done, total, kept]),
      });
      // The first call announces the total; the last has counted every channel-day.
      const n = calls[0][1];
      assertEquals(calls[0], [0, n, 0]);
      assertEquals(calls.at(-1), [n, n, 0], JSON.stringify(calls));
      return n;
    };
    assertEquals(await total("2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"), 2);
    assertEquals(await total("2024-01-01T00:00:00Z", "2024-01-02T00:00:00.001Z"), 4);
    assertEquals(await total("2024-01-01T23:00:00Z", "2024-01-02T01:00:00Z"), 4);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("windows at bounds: a channel of five parts is refused; a span must have end after start, a label interval too; a step of 1 ms is the least accepted", async () => {
  assertThrows(
    () => parseChannelId("XX.ABC.00.HHZ.D", "channels[0]"),
    UserError,
    "Cannot read channels[0]: expected a channel as NET.STA.LOC.CHA",
  );
  assertThrows(
    () => windowSpan({ start: "2024-01-01", end: "2024-01-01T00:00:00Z", step: 60 }),
    UserError,
    "input.windows: end (2024-01-01T00:00:00Z) must be after start (2024-01-01)",
  );
  assertEquals(windowSpan({ start: "2024-01-01", end: "2024-01-01T00:00:01Z", step: 0.001 }), {
    start: T0,
    end: T0 + 1000,
    stepMs: 1,
  });
  const dir = await Deno.makeTempDir();
  try {
    const f = `${dir}/labels.csv`;
    await Deno.writeTextFile(f, "start,end,label\n2024-01-01T00:00:00Z,2024-01-01,x\n");
    await assertRejects(
      () => readLabelIntervals(f),
      UserError,
      "line 2: end (2024-01-01) must be after start (2024-01-01T00:00:00Z)",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a channel without day files names the station's other channels: six in full, a seventh and more as '...'", async () => {
  const root = await Deno.makeTempDir();
  try {
    const chas = ["HHZ", "HHN", "HHE", "HNZ", "HNN", "HNE", "LHZ"];
    const add = async (cha: string) => {
      const dir = `${root}/2024/XX/AAA/${cha}.D`;
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeFile(`${dir}/XX.AAA.00.${cha}.D.2024.001`, new Uint8Array(0));
    };
    const w: SdsWindows = {
      trigger: null,
      start: "2024-01-01T00:00:00Z",
      end: "2024-01-01T00:02:00Z",
      step: 60,
      channels: ["XX.AAA.10.HHZ"],
      labels: null,
      chunk: 0,
    };
    const look = { dir: root, codesOf: (c: string) => [c] };
    const refused = async () => {
      const e = await assertRejects(
        () => sdsWindowTasks(w, null, look, [330_000, 330_000], [20, 66]),
        UserError,
      );
      return (e as Error).message.split(": it holds ")[1];
    };
    for (const c of chas.slice(0, 6)) await add(c);
    assertEquals(
      await refused(),
      "XX.AAA.00.HHE, XX.AAA.00.HHN, XX.AAA.00.HHZ, XX.AAA.00.HNE, XX.AAA.00.HNN, " +
        "XX.AAA.00.HNZ of XX.AAA",
    );
    await add(chas[6]);
    assertEquals(
      await refused(),
      "XX.AAA.00.HHE, XX.AAA.00.HHN, XX.AAA.00.HHZ, XX.AAA.00.HNE, XX.AAA.00.HNN, " +
        "XX.AAA.00.HNZ, ... of XX.AAA",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a channel whose day file is a directory or a link to nothing is refused naming that path, not as holding the days it lacks", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = `${root}/2024/XX/AAA/HHZ.D`;
    const path = `${dir}/XX.AAA.00.HHZ.D.2024.001`;
    await Deno.mkdir(path, { recursive: true });
    const w: SdsWindows = {
      trigger: null,
      start: "2024-01-01T00:00:00Z",
      end: "2024-01-01T00:02:00Z",
      step: 60,
      channels: ["XX.AAA.00.HHZ"],
      labels: null,
      chunk: 0,
    };
    const look = { dir: root, codesOf: (c: string) => [c] };
    const refused = () => sdsWindowTasks(w, null, look, [330_000, 330_000], [20, 66]);
    // It said 'holds no day file of XX.AAA.00.HHZ from 2024-01-01 to 2024-01-01: it holds
    // XX.AAA.00.HHZ from 2024.001 to 2024.001 (YEAR.DOY)'.
    await assertRejects(
      refused,
      UserError,
      `holds no day file of XX.AAA.00.HHZ from 2024-01-01 to 2024-01-01: ${path} is a ` +
        `directory, not a day file`,
    );
    await Deno.remove(path);
    await Deno.symlink(`${root}/gone`, path);
    await assertRejects(
      refused,
      UserError,
      `: ${path} is a symbolic link to ${root}/gone, which does not exist`,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("windows at triggers: the progress counts the channel-days taken from kept detections apart, and a concurrency of 0 still detects every channel", async () => {
  const root = await Deno.makeTempDir();
  try {
    await emptyDayFiles(root);
    const w: SdsWindows = {
      trigger: { ...TRIGGER_DEFAULTS },
      start: "2024-01-01T00:00:00Z",
      end: "2024-01-03T00:00:00Z",
      step: null,
      channels: ["XX.AAA.00.HHZ", "XX.BBB.00.HHZ"],
      labels: null,
      chunk: 0,
    };
    const calls: [number, number, number][] = [];
    const tasks = await sdsWindowTasks(
      w,
      null,
      { dir: root, codesOf: (c: string) => [c] },
      [330_000, 330_000],
      [20, 66],
      {
        // AAA's first day was kept from an earlier run, its second and BBB's are detected.
        detect: (codes, s, _e, onDay) => {
          onDay?.(codes[1] === "AAA");
          onDay?.(false);
          const on = s + 3_600_000;
          return Promise.resolve({
            detections: [{ on, trigger: on, off: on + 5_000, peak: 9 }],
            problems: [],
          });
        },
        detectConcurrency: 0,
        onDetected: (done, total, kept) => calls.push([done, total, kept]),
      },
    );
    assertEquals(calls, [[0, 4, 0], [1, 4, 1], [2, 4, 1], [3, 4, 1], [4, 4, 1]]);
    assertEquals(tasks.map((t) => t.id), [
      "XX.AAA.00.HHZ.20240101T010000Z",
      "XX.BBB.00.HHZ.20240101T010000Z",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("windows at triggers: more than MAX_WINDOWS detections are refused with the count, advising a higher on threshold", async () => {
  const root = await Deno.makeTempDir();
  try {
    await emptyDayFiles(root);
    const w: SdsWindows = {
      trigger: { ...TRIGGER_DEFAULTS },
      start: "2024-01-01T00:00:00Z",
      end: "2024-01-02T00:00:00Z",
      step: null,
      channels: ["XX.AAA.00.HHZ", "XX.BBB.00.HHZ"],
      labels: null,
      chunk: 0,
    };
    const on = Date.parse("2024-01-01T01:00:00Z");
    // One detection object, listed MAX_WINDOWS / 2 + 1 times a channel (not 5 million objects).
    const detection = { on, trigger: on, off: on + 5_000, peak: 9 };
    const detect = () =>
      Promise.resolve({
        detections: new Array(MAX_WINDOWS / 2 + 1).fill(detection),
        problems: [],
      });
    const look = { dir: root, codesOf: (c: string) => [c] };
    await assertRejects(
      () => sdsWindowTasks(w, null, look, [330_000, 330_000], [20, 66], { detect }),
      UserError,
      `Cannot list the windows: 2 channel(s) give ${MAX_WINDOWS + 2} samples, more than ` +
        `${MAX_WINDOWS} in one run: extract a shorter span (start, end), raise the trigger's on ` +
        "threshold, and run again for the rest",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("windows: the data read and the label's crop reach as far after the window time as given, not as far as before it", async () => {
  const root = await Deno.makeTempDir();
  try {
    for (const [y, d] of [[2023, "365"], [2024, "001"]] as const) {
      const dir = `${root}/${y}/XX/AAA/HHZ.D`;
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeFile(`${dir}/XX.AAA.00.HHZ.D.${y}.${d}`, new Uint8Array(0));
    }
    const labels = `${root}/labels.csv`;
    // 40 s of noise after the window time, then an event of 20 s, wholly in the crop after it.
    await Deno.writeTextFile(
      labels,
      "start,end,label\n2023-12-31T23:58:00Z,2023-12-31T23:58:40Z,noise\n" +
        "2023-12-31T23:58:40Z,2023-12-31T23:59:00Z,quake\n",
    );
    const w: SdsWindows = {
      trigger: null,
      start: "2023-12-31T23:58:00Z",
      end: "2023-12-31T23:58:01Z",
      step: 60,
      channels: ["XX.AAA.00.HHZ"],
      labels,
      chunk: 0,
    };
    // 10 s of data and crop before the time, 150 s and 66 s after it: into the new year.
    const [t] = await sdsWindowTasks(
      w,
      null,
      { dir: root, codesOf: (c: string) => [c] },
      [10_000, 150_000],
      [10, 66],
    );
    assertEquals(t.waveforms, [
      `${root}/2023/XX/AAA/HHZ.D/XX.AAA.00.HHZ.D.2023.365`,
      `${root}/2024/XX/AAA/HHZ.D/XX.AAA.00.HHZ.D.2024.001`,
    ]);
    assertEquals(t.label, "quake");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("windows: a window of location 10 on a day without its day file fails as missing channel; it does not read location 00's file of that day", async () => {
  const root = await Deno.makeTempDir();
  try {
    const add = async (loc: string, doy: string) => {
      const dir = `${root}/2024/XX/AAA/HHZ.D`;
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeFile(`${dir}/XX.AAA.${loc}.HHZ.D.2024.${doy}`, new Uint8Array(0));
    };
    await add("00", "001");
    await add("00", "002");
    await add("10", "002");
    const w: SdsWindows = {
      trigger: null,
      start: "2024-01-01T12:00:00Z",
      end: "2024-01-01T12:00:01Z",
      step: 60,
      channels: ["XX.AAA.10.HHZ"],
      labels: null,
      chunk: 0,
    };
    const [t] = await sdsWindowTasks(
      w,
      null,
      { dir: root, codesOf: (c: string) => [c] },
      [330_000, 330_000],
      [20, 66],
    );
    assertEquals([t.id, t.location, t.waveforms, t.error?.reason], [
      "XX.AAA.10.HHZ.20240101T120000Z",
      "10",
      [],
      "missing channel",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
