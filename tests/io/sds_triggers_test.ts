import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import {
  checkTrigger,
  coincident,
  detectionPool,
  detectSdsTriggers,
  finishDetection,
  monthSpans,
  type SdsTrigger,
  TRIGGER_DEFAULTS,
  triggerDefaults,
} from "../../lib/io/sds_triggers.ts";
import { crc32c, encodeMiniseed3, type Trace } from "../../lib/io/mseed.ts";
import { sdsPaths } from "../../lib/io/manifest.ts";
import { MIN_CHUNK_TRIGGERS, sdsWindowTasks, windowStamp } from "../../lib/io/sds_windows.ts";
import { parseExtractConfig, readExtractConfig } from "../../lib/io/extract_config.ts";
import {
  isoExact,
  noSamplesMessage,
  runExtract,
  triggerEvents,
  triggersCsv,
} from "../../lib/io/extract.ts";
import { openDataset } from "../../lib/io/dataset.ts";
import { applyOverrides } from "../../lib/cli/extract.ts";
import { parseCsvRecords } from "../../lib/io/csv.ts";
import { UserError } from "../../lib/util/errors.ts";
import { Rng } from "../../lib/util/rng.ts";
import { run } from "../cli/_run.ts";
import { isUserFacing } from "../../cli.ts";
import { describeDir } from "../../lib/cli/describe.ts";
import { readQuakeMl, SEISDEC_XMLNS } from "../../lib/io/quakeml.ts";

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);
const CODES = ["XX", "ABC", "00", "HHZ"] as const;
/** The schema's defaults (what `--trigger 1/20/4/1.5` gives). */
const DEFAULT: SdsTrigger = { ...TRIGGER_DEFAULTS };
const SPEC: SdsTrigger & { band: [number, number]; dead: number } = {
  method: "recursive",
  sta: 0.5,
  lta: 10,
  on: 5,
  off: 1.5,
  band: [1, 18],
  dead: 0,
  coincidence: null,
  aic: null,
};

/** 100 Hz noise (counts, σ 100) from t0 to t1 with 3 s bursts of 5 Hz, amplitude 3000. */
function record(t0: number, t1: number, bursts: number[], seed: number): Trace {
  const rng = new Rng(seed);
  const n = Math.round((t1 - t0) / 10);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.round(100 * rng.normal());
  for (const b of bursts) {
    const i0 = Math.round((b - t0) / 10);
    for (let i = Math.max(0, i0); i < Math.min(n, i0 + 300); i++) {
      data[i] += Math.round(3000 * Math.sin(2 * Math.PI * 5 * (i - i0) / 100));
    }
  }
  return {
    network: CODES[0],
    station: CODES[1],
    location: CODES[2],
    channel: CODES[3],
    startTime: t0,
    samplingRate: 100,
    data,
  };
}

/** The bursts of the archive below. */
const B = {
  early: T0 + DAY - 300_000, // 23:55
  midnight: T0 + DAY - 2_000, // 23:59:58: its onset in day 1, its signal in day 2's warm-up
  day2: T0 + DAY + 120_000, // 00:02:00
  day2Again: T0 + DAY + 140_000, // 20 s later: dropped with a dead time of 30 s
  afterGap: T0 + DAY + 305_000, // 5 s after the gap ends: the LTA is not formed yet
  late: T0 + DAY + 360_000, // 00:06:00
};

/**
 * A day file for 2024-01-01 (23:50 to midnight), one for 2024-01-02 (to 00:10, with data
 * missing from 00:04 to 00:05), and a file for 2024-01-03 that is not miniSEED.
 */
async function archive(dir: string): Promise<void> {
  const files = [
    [record(T0 + DAY - 600_000, T0 + DAY, [B.early, B.midnight], 1)],
    [
      record(T0 + DAY, T0 + DAY + 240_000, [B.midnight, B.day2, B.day2Again], 2),
      record(T0 + DAY + 300_000, T0 + DAY + 600_000, [B.afterGap, B.late], 3),
    ],
  ];
  // Day 2 continues day 1's last burst (which began 2 s before midnight): record() adds the
  // part of each burst that falls in its span.
  const [p1, p2, p3] = sdsPaths(dir, CODES, T0 + DAY - 1, T0 + 2 * DAY);
  for (const p of [p1, p2, p3]) await Deno.mkdir(p.replace(/\/[^/]+$/, ""), { recursive: true });
  await Deno.writeFile(p1, await encodeMiniseed3(files[0]));
  await Deno.writeFile(p2, await encodeMiniseed3(files[1]));
  await Deno.writeTextFile(p3, "not a miniSEED file at all");
}

Deno.test("detectSdsTriggers: onsets at the bursts across midnight, once each; none within an LTA after a gap; a dead time drops a burst 20 s after one kept; a file that is not miniSEED is a problem, a missing one is not, a channel without any is", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await archive(dir);
    const start = T0 + DAY - 590_000, end = T0 + 3 * DAY;
    const { detections, problems } = await detectSdsTriggers(dir, CODES, start, end, SPEC, 1);
    const want = [B.early, B.midnight, B.day2, B.day2Again, B.late];
    assertEquals(detections.length, want.length, JSON.stringify(detections));
    for (const [i, d] of detections.entries()) {
      assertEquals(d.trigger, d.on);
      // The causal band-pass and the STA take a few samples to rise past 5; 20 s after a burst
      // the LTA is still raised by it, and the ratio rises later.
      const lag = i === 3 ? 300 : 150;
      assert(d.on >= want[i] && d.on <= want[i] + lag, `${i}: ${d.on - want[i]} ms`);
      assert(d.off > d.on + 1000 && d.peak > 5, JSON.stringify(d));
    }
    assertEquals(problems.map((p) => [p.source.split("/").pop(), p.reason]), [
      ["XX.ABC.00.HHZ.D.2024.003", "not miniseed"],
    ]);
    // With a dead time of 30 s, the burst 20 s after one kept is dropped.
    const dead = await detectSdsTriggers(dir, CODES, start, end, { ...SPEC, dead: 30 }, 1);
    assertEquals(
      dead.detections.map((d) => d.on),
      detections.filter((_, i) => i !== 3).map((d) => d.on),
    );
    // Only onsets from start until end: the span of one burst. Its data are read from 52 s
    // before (five LTAs and the taper) instead of from midnight's, so the onset may move by a
    // sample.
    const one = await detectSdsTriggers(dir, CODES, B.day2 - 1000, B.day2 + 1000, SPEC, 1);
    assertEquals(one.detections.length, 1);
    assert(Math.abs(one.detections[0].on - detections[2].on) <= 10, JSON.stringify(one));
    // The classic ratio finds the same bursts.
    const classic = await detectSdsTriggers(dir, CODES, start, end, {
      ...SPEC,
      method: "classic",
    }, 1);
    assertEquals(classic.detections.length, want.length);
    for (const [i, d] of classic.detections.entries()) {
      const lag = i === 3 ? 300 : 150;
      assert(d.on >= want[i] && d.on <= want[i] + lag, `classic ${i}: ${d.on - want[i]} ms`);
    }
    // With an AIC pick from 2 s before each trigger to 0.5 s after it, the onsets move to the
    // bursts' first samples (the causal filter's delay aside), also for the burst whose trigger
    // came 250 ms late; the triggers stay.
    const aic = await detectSdsTriggers(dir, CODES, start, end, {
      ...SPEC,
      aic: { before: 2, after: 0.5 },
    }, 1);
    assertEquals(aic.detections.map((d) => d.trigger), detections.map((d) => d.on));
    for (const [i, d] of aic.detections.entries()) {
      // 20-30 ms: the sine's first samples are near 0, and the causal filter delays them.
      assert(d.on >= want[i] && d.on <= want[i] + 30, `aic ${i}: ${d.on - want[i]} ms`);
    }
    // A channel with no day file in the span: one problem naming it, no triggers.
    const none = await detectSdsTriggers(dir, ["XX", "ABC", "00", "HHN"], start, end, SPEC, 1);
    assertEquals(none.detections, []);
    assertEquals(none.problems.map((p) => [p.source, p.reason]), [
      ["XX.ABC.00.HHN", "missing channel"],
    ]);
    assert(none.problems[0].message.includes("holds no day file of it"), none.problems[0].message);
    // A sampling rate too low for the band: named once, nothing detected.
    const high = await detectSdsTriggers(dir, CODES, start, end, { ...SPEC, band: [46, 49] }, 1);
    assertEquals(high.detections, []);
    assert(
      high.problems.some((p) =>
        p.reason === "out of range" && p.message.includes("100 Hz data cannot carry")
      ),
      JSON.stringify(high.problems),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detectSdsTriggers: a damaged record is left out (a gap) and reported with its file offset, by a span that reaches its gap only; the day is read on past it", async () => {
  const { indexRecords } = await import("../../lib/io/mseed.ts");
  const dir = await Deno.makeTempDir();
  try {
    await archive(dir);
    const start = T0 + DAY - 590_000, end = T0 + 3 * DAY;
    const whole = await detectSdsTriggers(dir, CODES, start, end, SPEC, 1);
    // Damage the record of day 2 that holds 00:03:00, between the bursts of 00:02:20 and 00:06.
    const p2 = sdsPaths(dir, CODES, T0 + DAY, T0 + DAY + 1)[0];
    const bytes = await Deno.readFile(p2);
    const at = T0 + DAY + 180_000;
    const r = (await indexRecords(bytes, p2)).find((x) => x.start <= at && at < x.end)!;
    assert(r.offset > 0, "a record inside the file");
    bytes[r.offset + r.size - 8] ^= 0x55;
    await Deno.writeFile(p2, bytes);
    const { detections, problems } = await detectSdsTriggers(dir, CODES, start, end, SPEC, 1);
    // Every burst is still found, the one at 00:06 after the damaged record included (the whole
    // rest of the day was dropped before).
    assertEquals(detections.map((d) => d.on), whole.detections.map((d) => d.on));
    const bad = problems.filter((p) => p.reason === "corrupt");
    assertEquals(bad.length, 1, JSON.stringify(problems));
    assert(
      bad[0].message.startsWith(
        `Cannot read ${p2}: the record at byte ${r.offset} (FDSN:XX_ABC_00_H_H_Z, ${
          new Date(r.start).toISOString()
        }) fails its CRC-32C check`,
      ),
      bad[0].message,
    );
    // A damaged header instead: the reader skips to the next good record and reads on.
    bytes[r.offset + r.size - 8] ^= 0x55;
    bytes.fill(0x20, r.offset, r.offset + 8);
    await Deno.writeFile(p2, bytes);
    const h = await detectSdsTriggers(dir, CODES, start, end, SPEC, 1);
    assertEquals(h.detections.map((d) => d.on), whole.detections.map((d) => d.on));
    const badH = h.problems.filter((p) => p.reason === "corrupt");
    assertEquals(badH.length, 1, JSON.stringify(h.problems));
    assert(
      badH[0].message.startsWith(
        `Cannot read ${p2}: expected a miniSEED 3 record header at byte ${r.offset}; ${r.size} ` +
          `bytes skipped`,
      ),
      badH[0].message,
    );
    // A span that ends where the skipped bytes' gap begins holds none of its data: not reported.
    let gap = NaN;
    await indexRecords(bytes, p2, (d) => gap = d.start);
    assertEquals(gap, r.start);
    const before = await detectSdsTriggers(dir, CODES, start, gap, SPEC, 1);
    assertEquals(before.problems.filter((p) => p.reason === "corrupt"), []);
    const into = await detectSdsTriggers(dir, CODES, start, gap + 1, SPEC, 1);
    assertEquals(into.problems.filter((p) => p.reason === "corrupt").length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detectSdsTriggers: a whole day of the span without its day file is listed (no triggers that day), not taken for a quiet day; a day the span only touches is not", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await archive(dir);
    // Day 5 (2024-01-05) has data; day 4 has no file, and day 3's is not miniSEED.
    const [p5] = sdsPaths(dir, CODES, T0 + 4 * DAY, T0 + 4 * DAY);
    await Deno.writeFile(
      p5,
      await encodeMiniseed3([record(T0 + 4 * DAY, T0 + 4 * DAY + 60_000, [], 9)]),
    );
    const [p4] = sdsPaths(dir, CODES, T0 + 3 * DAY, T0 + 3 * DAY);
    const { problems } = await detectSdsTriggers(dir, CODES, T0 + DAY, T0 + 5 * DAY, SPEC, 1);
    assertEquals(problems.map((p) => [p.source.split("/").pop(), p.reason]), [
      ["XX.ABC.00.HHZ.D.2024.003", "not miniseed"],
      ["XX.ABC.00.HHZ.D.2024.004", "missing channel"],
    ]);
    assertEquals(
      problems[1].message,
      `Cannot detect triggers on XX.ABC.00.HHZ on 2024-01-04: its day file ${p4} does not ` +
        "exist (no triggers that day)",
    );
    // Ending in the middle of day 4: the archive may not reach it yet; nothing listed for it.
    const part = await detectSdsTriggers(dir, CODES, T0 + DAY, T0 + 3 * DAY + 3_600_000, SPEC, 1);
    assertEquals(part.problems.map((p) => p.reason), ["not miniseed"]);
    // A span of exactly day 4, from its first millisecond to the next midnight: listed.
    const exact = await detectSdsTriggers(dir, CODES, T0 + 3 * DAY, T0 + 4 * DAY, SPEC, 1);
    assertEquals(exact.problems.map((p) => [p.source, p.reason]), [
      [sdsPaths(dir, CODES, T0 + 2 * DAY, T0 + 2 * DAY)[0], "not miniseed"],
      [p4, "missing channel"],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detectSdsTriggers: a directory or a symbolic link to nothing at a day file's path is named as such, for a channel without any day file and for a whole day of the span", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const [p1, p2] = sdsPaths(dir, CODES, T0, T0 + DAY);
    await Deno.mkdir(p1, { recursive: true });
    const span = "from 2024-01-01T00:00:00.000Z to 2024-01-01T01:00:00.000Z";
    const one = await detectSdsTriggers(dir, CODES, T0, T0 + 3_600_000, SPEC, 1);
    assertEquals(one.problems.map((p) => [p.source, p.reason]), [
      [p1, "unreadable"],
      [CODES.join("."), "missing channel"],
    ]);
    assertEquals(
      one.problems[1].message,
      `Cannot detect triggers on XX.ABC.00.HHZ: ${dir} holds no day file of it ${span}: ${p1} ` +
        "is a directory, not a day file",
    );
    await Deno.remove(p1);
    await Deno.symlink("/gone", p1);
    const link = await detectSdsTriggers(dir, CODES, T0, T0 + 3_600_000, SPEC, 1);
    assertEquals(
      link.problems.map((p) => p.message),
      [
        `Cannot detect triggers on XX.ABC.00.HHZ: ${dir} holds no day file of it ${span}: ${p1} ` +
        "is a symbolic link to /gone, which does not exist",
      ],
    );
    // Day 2 has its file; day 1, a whole day of the span, has the link.
    await Deno.writeFile(p2, await encodeMiniseed3([record(T0 + DAY, T0 + DAY + 60_000, [], 9)]));
    const days = await detectSdsTriggers(dir, CODES, T0, T0 + 2 * DAY, SPEC, 1);
    assertEquals(days.problems.map((p) => [p.source, p.message]), [[
      p1,
      `Cannot detect triggers on XX.ABC.00.HHZ on 2024-01-01: its day file ${p1} is a symbolic ` +
      "link to /gone, which does not exist (no triggers that day)",
    ]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detectSdsTriggers: a change of sampling rate, or an overlap beyond the gap tolerance, in a day file is listed as windows list it (overlaps once a day); a gap is not", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const [p] = sdsPaths(dir, CODES, T0, T0);
    await Deno.mkdir(p.replace(/\/[^/]+$/, ""), { recursive: true });
    const at50 = record(T0 + 600_000, T0 + 1_200_000, [], 2);
    await Deno.writeFile(
      p,
      await encodeMiniseed3([
        record(T0, T0 + 600_000, [], 1),
        // 10 minutes of samples at 50 Hz: 5 minutes.
        { ...at50, samplingRate: 50, data: at50.data.slice(0, 15_000) },
        record(T0 + 900_000, T0 + 1_800_000, [], 3),
        // Two overlaps of other samples, 40 s and 20 s; then a gap of 5 minutes.
        record(T0 + 1_760_000, T0 + 2_400_000, [], 4),
        record(T0 + 2_380_000, T0 + 3_000_000, [], 5),
        record(T0 + 3_300_000, T0 + 3_600_000, [], 6),
      ]),
    );
    const { problems } = await detectSdsTriggers(dir, CODES, T0, T0 + 3_600_000, SPEC, 1);
    const after = " (each side detected on its own: no triggers within an LTA after it";
    assertEquals(problems.map((x) => [x.source, x.reason]), [[p, "gap"], [p, "gap"], [p, "gap"]]);
    assertEquals(problems.slice(0, 2).map((x) => x.message), [
      `Cannot merge XX.ABC.00.HHZ in ${p}: sampling rate changes from 100 to 50 Hz${after})`,
      `Cannot merge XX.ABC.00.HHZ in ${p}: sampling rate changes from 50 to 100 Hz${after})`,
    ]);
    // The first overlap, once (its records and those it overlaps interleave by start time, so
    // the break falls between a record of one and the run of the other).
    assert(
      new RegExp(
        `^Cannot merge XX\\.ABC\\.00\\.HHZ in .*: overlap of \\d+\\.000 s at ` +
          `2024-01-01T00:29:\\d\\d\\.000Z exceeds the tolerance of 1 s \\(each side ` +
          `detected on its own: no triggers within an LTA after it; later overlaps that day ` +
          `are not listed\\)$`,
      ).test(problems[2].message),
      problems[2].message,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detectSdsTriggers: an LTA longer than every continuous stretch of the data (the ratio never formed) gives the longest stretch, also from kept detections; one that fits gives none", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const [p] = sdsPaths(dir, CODES, T0, T0);
    await Deno.mkdir(p.replace(/\/[^/]+$/, ""), { recursive: true });
    // 240 s, a gap of 60 s, then 300 s.
    await Deno.writeFile(
      p,
      await encodeMiniseed3([
        record(T0, T0 + 240_000, [], 1),
        record(T0 + 300_000, T0 + 600_000, [], 2),
      ]),
    );
    const cache = { dir: `${dir}/cache`, write: true };
    const long = { ...SPEC, lta: 500 };
    const r = await detectSdsTriggers(dir, CODES, T0, T0 + 3_600_000, long, 1, { cache });
    assertEquals([r.detections, r.problems, r.longest], [[], [], 300]);
    let kept = 0;
    const again = await detectSdsTriggers(dir, CODES, T0, T0 + 3_600_000, long, 1, {
      cache,
      onDay: (k) => kept += k ? 1 : 0,
    });
    assertEquals([kept, again.longest], [1, 300]);
    // Kept before lines carried digests, its line with the LTA's longest stretch (`short`, a
    // field such lines had): used as it is, not detected again.
    const file = `${cache.dir}/XX.ABC.00.HHZ.2024-01.jsonl`;
    const lines: Record<string, unknown>[] = await cacheLines(file);
    assertEquals(lines.map((l) => l.short), [300]);
    await Deno.writeTextFile(
      file,
      lines.map(({ digest: _, ...l }) => JSON.stringify(l) + "\n").join(""),
    );
    kept = 0;
    const old = await detectSdsTriggers(dir, CODES, T0, T0 + 3_600_000, long, 1, {
      cache,
      onDay: (k) => kept += k ? 1 : 0,
    });
    assertEquals([kept, old.longest], [1, 300]);
    const fits = await detectSdsTriggers(dir, CODES, T0, T0 + 3_600_000, { ...SPEC, lta: 200 }, 1);
    assertEquals(fits.longest, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A cache file's lines, parsed. */
async function cacheLines(path: string): Promise<
  { day: number; key: string; triggers: [number, number, number, number][]; digest?: string }[]
> {
  return (await Deno.readTextFile(path)).split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

/** Cache lines as seisdec writes them: each with the digest of its JSON (CRC-32C, hex) last. */
function cacheText(lines: Record<string, unknown>[]): string {
  return lines.map(({ digest: _, ...l }) => {
    const json = JSON.stringify(l);
    const digest = crc32c(new TextEncoder().encode(json)).toString(16).padStart(8, "0");
    return `${json.slice(0, -1)},"digest":"${digest}"}\n`;
  }).join("");
}

Deno.test("detectSdsTriggers with a cache: one line per UTC day, the same triggers and problems; a day is taken from it while its spec and the day files it reads are unchanged, detected again otherwise; a dead time does not change the key; a torn line is skipped; a read-only cache is not written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await archive(dir);
    const cache = { dir: `${dir}/cache`, write: true };
    const file = `${cache.dir}/XX.ABC.00.HHZ.2024-01.jsonl`;
    const start = T0 + DAY - 590_000, end = T0 + 3 * DAY;
    const plain = await detectSdsTriggers(dir, CODES, start, end, SPEC, 1);
    // onDay: each day, and whether it was taken from the cache.
    const days: boolean[] = [];
    const onDay = (kept: boolean) => days.push(kept);
    const first = await detectSdsTriggers(dir, CODES, start, end, SPEC, 1, { cache, onDay });
    assertEquals([first, days], [plain, [false, false, false]]);
    let lines = await cacheLines(file);
    assertEquals(lines.map((l) => l.day), [T0, T0 + DAY, T0 + 2 * DAY]);
    // Taken from the cache: a peak written there comes back (in a file written before lines
    // carried digests, whose lines are used as they are).
    lines[1].triggers[0][3] = 1234.5;
    await Deno.writeTextFile(
      file,
      lines.map(({ digest: _, ...l }) => JSON.stringify(l) + "\n").join(""),
    );
    const cached = await detectSdsTriggers(dir, CODES, start, end, SPEC, 1, { cache, onDay });
    assertEquals(days.slice(3), [true, true, true]);
    // On a worker, the same, with a message per day.
    const pool = detectionPool(1);
    try {
      const codes: [string, string, string, string] = [...CODES];
      assertEquals(
        await pool.detect({ dir, codes, start, end, spec: SPEC, gapTolerance: 1, cache }, onDay),
        cached,
      );
      assertEquals(days.slice(6), [true, true, true]);
    } finally {
      pool.close();
    }
    const tampered = plain.detections.findIndex((d) => d.on >= T0 + DAY);
    assertEquals(cached.detections[tampered].peak, 1234.5);
    assertEquals(
      cached.detections.filter((_, i) => i !== tampered),
      plain.detections.filter((_, i) => i !== tampered),
    );
    assertEquals(cached.problems, plain.problems);
    // A dead time is applied after the cache: the same key, the tampered day still used.
    const dead = await detectSdsTriggers(dir, CODES, start, end, { ...SPEC, dead: 30 }, 1, {
      cache,
    });
    assertEquals(dead.detections.map((d) => d.peak).includes(1234.5), true);
    assertEquals(
      dead.detections.map((d) => d.on),
      (await detectSdsTriggers(dir, CODES, start, end, { ...SPEC, dead: 30 }, 1)).detections
        .map((d) => d.on),
    );
    // Another threshold, read-only: detected, and the file left as it was.
    const before = await Deno.readTextFile(file);
    const on6 = await detectSdsTriggers(dir, CODES, start, end, { ...SPEC, on: 6 }, 1, {
      cache: { ...cache, write: false },
    });
    assertEquals(on6, await detectSdsTriggers(dir, CODES, start, end, { ...SPEC, on: 6 }, 1));
    assertEquals(await Deno.readTextFile(file), before);
    // Day 2's file touched: days 1 to 3 read it (day 1's tail, day 3's warm-up), so all three
    // are detected again; the file keeps one line per day. A torn last line is skipped.
    const [, p2] = sdsPaths(dir, CODES, T0 + DAY - 1, T0 + DAY);
    await Deno.utime(p2, new Date(), new Date(Date.now() + 60_000));
    await Deno.writeTextFile(file, '{"day": 17', { append: true });
    assertEquals(await detectSdsTriggers(dir, CODES, start, end, SPEC, 1, { cache }), plain);
    lines = await cacheLines(file);
    assertEquals(lines.map((l) => l.day), [T0, T0 + DAY, T0 + 2 * DAY]);
    // A later span that starts after the bad file of day 3 still names it (its warm-up reads
    // it), from the cache as when detected.
    const late = [T0 + 3 * DAY + 60_000, T0 + 3 * DAY + 120_000] as const;
    const lateOnce = await detectSdsTriggers(dir, CODES, ...late, SPEC, 1, { cache });
    const lateAgain = await detectSdsTriggers(dir, CODES, ...late, SPEC, 1, { cache });
    assertEquals(lateAgain, lateOnce);
    assertEquals(lateAgain.problems.map((p) => p.reason), ["not miniseed"]);
    // Named once, though every day reads the channel's runs.
    const high = await detectSdsTriggers(dir, CODES, start, end, { ...SPEC, band: [46, 49] }, 1);
    assertEquals(high.problems.filter((p) => p.reason === "out of range").length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detectSdsTriggers with a cache: a line damaged into other valid JSON (a field renamed, a trigger or problem that is not one) is skipped and its day detected again, as a torn line is, also under a digest that checks", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await archive(dir);
    const cache = { dir: `${dir}/cache`, write: true };
    const file = `${cache.dir}/XX.ABC.00.HHZ.2024-01.jsonl`;
    const start = T0 + DAY - 590_000, end = T0 + 3 * DAY;
    const plain = await detectSdsTriggers(dir, CODES, start, end, SPEC, 1, { cache });
    const good = await Deno.readTextFile(file);
    const damages: ((line: Record<string, unknown>) => void)[] = [
      (l) => (l.triggerz = l.triggers, delete l.triggers),
      (l) => delete l.problems,
      (l) => (l.triggers = "none"),
      (l) => (l.triggers = [["x", null, 1, 2]]),
      (l) => (l.problems = [{ x: 1 }, 5]),
      (l) => delete l.found,
    ];
    const oldText = (lines: Record<string, unknown>[]) =>
      lines.map(({ digest: _, ...l }) => JSON.stringify(l) + "\n").join("");
    // Each damage in a file written before lines carried digests, and under a digest that
    // checks (a line another program wrote).
    for (const [damage, text] of damages.flatMap((d) => [[d, oldText], [d, cacheText]] as const)) {
      const lines = good.split("\n").filter((l) => l).map((l) => JSON.parse(l));
      // Day 2's line, the one with triggers and problems; its key still matches.
      damage(lines[1]);
      await Deno.writeTextFile(file, text(lines));
      const days: boolean[] = [];
      const again = await detectSdsTriggers(dir, CODES, start, end, SPEC, 1, {
        cache,
        onDay: (kept) => days.push(kept),
      });
      // It stopped on 'Cannot read properties of undefined (reading 'map')', or 'The "path"
      // argument must be of type string' with a stack trace.
      assertEquals(again, plain, String(damage));
      assertEquals(days, [true, false, true], String(damage));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detectSdsTriggers with a cache: each line carries a digest of its JSON; a line whose digest is wrong (one digit flipped, still valid JSON with its key), missing or under a damaged key (in a file of that line alone) is detected again; a file written before digests is used as it is, and rewritten with them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await archive(dir);
    const cache = { dir: `${dir}/cache`, write: true };
    const file = `${cache.dir}/XX.ABC.00.HHZ.2024-01.jsonl`;
    const start = T0 + DAY - 590_000, end = T0 + 3 * DAY;
    const plain = await detectSdsTriggers(dir, CODES, start, end, SPEC, 1, { cache });
    const good = (await Deno.readTextFile(file)).split("\n").filter((l) => l);
    assert(good.every((l) => /,"digest":"[0-9a-f]{8}"\}$/.test(l)), good.join("\n"));
    const run = async () => {
      const days: boolean[] = [];
      const result = await detectSdsTriggers(dir, CODES, start, end, SPEC, 1, {
        cache,
        onDay: (kept) => days.push(kept),
      });
      return { result, days };
    };
    // Day 2's first trigger's onset, one digit flipped: 40 s later, and still a day's detection.
    const on = String(JSON.parse(good[1]).triggers[0][0]);
    const digit = on.split(".")[0].length - 5; // the 10 s digit of the ms
    const flipped = on.slice(0, digit) + ((Number(on[digit]) + 4) % 10) + on.slice(digit + 1);
    const damages = [
      good[1].replace(on, flipped),
      good[1].replace(/,"digest":"[0-9a-f]{8}"\}$/, "}"),
    ];
    assert(damages[0] !== good[1]);
    for (const damaged of damages) {
      await Deno.writeTextFile(file, [good[0], damaged, good[2]].join("\n") + "\n");
      // The flipped onset was taken as it was: the trigger 40 s late.
      assertEquals(await run(), { result: plain, days: [true, false, true] }, damaged);
      // Rewritten with the day detected again: the lines as they were, each with one digest.
      assertEquals((await Deno.readTextFile(file)).split("\n").filter((l) => l), good);
    }
    // A file of one line whose digest's key is damaged ("digesu"), its onset flipped: no file
    // written before digests (whose lines have no other field), so its day is detected again.
    const key = damages[0].replace(/,"digest":/, ',"digesu":');
    await Deno.writeTextFile(file, key + "\n");
    assertEquals(await run(), { result: plain, days: [false, false, false] });
    // A file written before lines carried digests: its days are used as they are (an older
    // dataset's report and --inspect find the times its samples were cut at), and a run that
    // writes the cache gives them digests.
    const old = good.map((l) => l.replace(/,"digest":"[0-9a-f]{8}"\}$/, "}"));
    await Deno.writeTextFile(file, old.join("\n") + "\n");
    assertEquals(await run(), { result: plain, days: [true, true, true] });
    assertEquals((await Deno.readTextFile(file)).split("\n").filter((l) => l), good);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detectSdsTriggers with a cache: a line whose digest begins with 0 (8 hex digits, as written) is trusted, its day taken from it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await archive(dir);
    const cache = { dir: `${dir}/cache`, write: true };
    const file = `${cache.dir}/XX.ABC.00.HHZ.2024-01.jsonl`;
    const start = T0 + DAY - 590_000, end = T0 + 3 * DAY;
    const plain = await detectSdsTriggers(dir, CODES, start, end, SPEC, 1, { cache });
    const lines: Record<string, unknown>[] = await cacheLines(file);
    // Day 2's first peak set to the first value from 1000 whose line's digest starts with 0.
    const day2 = lines[1] as { triggers: number[][] };
    let peak = 1000;
    for (;; peak++) {
      day2.triggers[0][3] = peak;
      if (/"digest":"0/.test(cacheText([day2]))) break;
    }
    await Deno.writeTextFile(file, cacheText(lines));
    const days: boolean[] = [];
    const kept = await detectSdsTriggers(dir, CODES, start, end, SPEC, 1, {
      cache,
      onDay: (k) => days.push(k),
    });
    assertEquals(days, [true, true, true]);
    const tampered = plain.detections.findIndex((d) => d.on >= T0 + DAY);
    assertEquals(kept.detections[tampered].peak, peak);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detectionPool cuts a channel's span at calendar months, one month per worker, and joins them into the triggers of one pass; a month's days are kept in their own cache file", async () => {
  assertEquals(monthSpans(Date.UTC(2024, 0, 30), Date.UTC(2024, 2, 2, 6)), [
    [Date.UTC(2024, 0, 30), Date.UTC(2024, 1, 1)],
    [Date.UTC(2024, 1, 1), Date.UTC(2024, 2, 1)],
    [Date.UTC(2024, 2, 1), Date.UTC(2024, 2, 2, 6)],
  ]);
  assertEquals(monthSpans(5, 5), []);
  const dir = await Deno.makeTempDir();
  try {
    // 23:50 on 31 January to 00:10 on 1 February, a burst 2 s before midnight (its onset in
    // January, its signal in February's warm-up) and two after it.
    const feb = Date.UTC(2024, 1, 1);
    const bursts = [feb - 300_000, feb - 2_000, feb + 120_000, feb + 140_000];
    const [p1, p2] = sdsPaths(dir, CODES, feb - 1, feb);
    for (const p of [p1, p2]) await Deno.mkdir(p.replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.writeFile(p1, await encodeMiniseed3([record(feb - 600_000, feb, bursts, 7)]));
    await Deno.writeFile(p2, await encodeMiniseed3([record(feb, feb + 600_000, bursts, 8)]));
    const [start, end] = [feb - 590_000, feb + 590_000];
    // A dead time of 130 s drops the burst 122 s after the one in January's last seconds: it
    // applies across the months.
    const one = await detectSdsTriggers(dir, CODES, start, end, { ...SPEC, dead: 130 }, 1);
    const onsets = one.detections.map((d) => Math.round((d.on - feb) / 1000));
    assertEquals(onsets, [-300, -2, 140], JSON.stringify(one));
    const cache = { dir: `${dir}/cache`, write: true };
    for (const workers of [0, 2]) {
      const pool = detectionPool(workers);
      try {
        const codes: [string, string, string, string] = [...CODES];
        const job = { dir, codes, start, end, spec: { ...SPEC, dead: 130 }, gapTolerance: 1 };
        assertEquals(await pool.detect(job), one, `workers ${workers}`);
        assertEquals(await pool.detect({ ...job, cache }), one, `workers ${workers}, cached`);
      } finally {
        pool.close();
      }
    }
    assertEquals([...Deno.readDirSync(cache.dir)].map((e) => e.name).sort(), [
      "XX.ABC.00.HHZ.2024-01.jsonl",
      "XX.ABC.00.HHZ.2024-02.jsonl",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detectionPool's workers reject as this thread does: a UserError (a refused write of the cache) as a UserError, one line; an internal failure as a plain Error, not as the user's", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A station code whose cache file's name fits (244 characters) but whose temporary's
    // (.NAME.PID.TAG.tmp) does not: the rewrite of the month's file, made by the torn line
    // already there, is refused with ENAMETOOLONG, which writeFileAtomic makes a UserError.
    const codes: [string, string, string, string] = ["XX", "A".repeat(220), "00", "HHZ"];
    const cache = { dir: `${dir}/cache`, write: true };
    await Deno.mkdir(cache.dir);
    await Deno.writeTextFile(`${cache.dir}/${codes.join(".")}.2024-01.jsonl`, '{"day": 1\n');
    const job = { dir, codes, start: T0, end: T0 + 3_600_000, spec: SPEC, gapTolerance: 1 };
    for (const workers of [0, 1]) {
      const pool = detectionPool(workers);
      try {
        const e = await assertRejects(
          () => pool.detect({ ...job, cache }),
          UserError,
          `Cannot write ${cache.dir}/XX.AAAA`,
        );
        assert(e.message.endsWith("choose a shorter name"), `workers ${workers}: ${e.message}`);
        // An internal failure (a job without its codes) is no UserError, on a worker too: the
        // CLI shows it as the bug it is, not as one line about the user's input.
        const bug = await assertRejects(
          () => pool.detect({ ...job, codes: null as never }),
          Error,
          "null",
        );
        assert(!(bug instanceof UserError), `workers ${workers}: ${bug.message}`);
      } finally {
        pool.close();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "detectionPool's workers reject a file-system failure as this thread does, its class and errno code kept, which the CLI prints as one line (a cache directory sysfs refuses)",
  // sysfs refuses a new directory even to root; elsewhere there is no such place to try.
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const job = {
        dir,
        codes: [...CODES] as [string, string, string, string],
        start: T0,
        end: T0 + 3_600_000,
        spec: SPEC,
        gapTolerance: 1,
        cache: { dir: "/sys/seisdec_test_detections", write: true },
      };
      const errors: (Error & { code?: string })[] = [];
      for (const workers of [0, 1]) {
        const pool = detectionPool(workers);
        try {
          errors.push(
            await assertRejects(() => pool.detect(job), Error, "seisdec_test_detections"),
          );
        } finally {
          pool.close();
        }
      }
      const [here, worker] = errors;
      // Before, the worker's was a plain Error without its code: a stack trace from the CLI.
      assertEquals(
        [worker.constructor, worker.code, worker.message],
        [here.constructor, here.code, here.message],
      );
      assert(here.code !== undefined && isUserFacing(worker), `${worker.name}: ${worker.message}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("trigger specs: the schema's defaults; band and dead time from the spectrogram; each bad field named", () => {
  const t = DEFAULT;
  const parsed = parseExtractConfig({
    input: {
      format: "sds",
      dir: "/a",
      windows: { start: "2024-01-01", end: "2024-01-02", trigger: {}, channels: ["XX.A..HHZ"] },
    },
  });
  assertEquals((parsed.input as { windows: { trigger: SdsTrigger } }).windows.trigger, t);
  assertEquals(triggerDefaults(t, { fmin: 2, fmax: 15, after: 30 }), {
    ...t,
    band: [2, 15],
    dead: 30,
  });
  assertEquals(triggerDefaults({ ...t, band: [3, 9], dead: 0 }, { fmin: 0, fmax: 15, after: 30 }), {
    ...t,
    band: [3, 9],
    dead: 0,
  });
  for (
    const [bad, msg] of [
      [{ sta: 0 }, "input.windows.trigger.sta: expected seconds > 0: found 0"],
      [{ lta: 1 }, "input.windows.trigger.lta: expected seconds > sta (1): found 1"],
      [{ off: 5 }, "input.windows.trigger.off: expected a ratio > 0 and <= on (4): found 5"],
      [{ band: [5, 2] }, "input.windows.trigger.band"],
      [{ dead: -1 }, "input.windows.trigger.dead"],
      [
        { coincidence: { stations: 0, window: 5 } },
        "trigger.coincidence.stations: expected a whole",
      ],
      [{ coincidence: { stations: 2, window: -1 } }, "trigger.coincidence.window"],
    ] as const
  ) {
    assertThrows(() => checkTrigger({ ...t, ...bad } as SdsTrigger), UserError, msg);
  }
});

Deno.test("trigger specs at their bounds: off equal to on, no dead time, one station, a zero coincidence window and AIC on one side only are accepted, a band from 0 Hz starts at 0.5 Hz; an empty band and AIC of 0 s both sides are refused", () => {
  const t = DEFAULT;
  for (
    const ok of [
      { off: t.on },
      { dead: 0 },
      { coincidence: { stations: 1, window: 5 } },
      { coincidence: { stations: 2, window: 0 } },
      { aic: { before: 0, after: 1 } },
    ]
  ) {
    checkTrigger({ ...t, ...ok } as SdsTrigger); // does not throw
  }
  // A spectrogram band from 0 Hz: the trigger's band starts at 0.5 Hz (a filter needs a corner).
  assertEquals(triggerDefaults(t, { fmin: 0, fmax: 18, after: 66 }).band, [0.5, 18]);
  assertThrows(
    () => checkTrigger({ ...t, band: [5, 5] }),
    UserError,
    "input.windows.trigger.band: expected [freqmin, freqmax] with 0 < freqmin < freqmax: found [5,5]",
  );
  assertThrows(
    () => checkTrigger({ ...t, aic: { before: 0, after: 0 } }),
    UserError,
    "input.windows.trigger.aic: expected seconds before and after >= 0, not both 0",
  );
});

Deno.test("an extraction at triggers that finds none says so, with the detector's settings, channels and span; one whose coincidence kept none of its triggers says how many it found", () => {
  const windows = {
    start: "2014-09-20T20:48:00Z",
    end: "2014-09-20T20:52:00Z",
    trigger: { sta: 1, lta: 20, on: 4, off: 1.5 },
    channels: ["TA.M02C..BHZ"],
  };
  const m = noSamplesMessage(
    parseExtractConfig({ input: { format: "sds", dir: "/a", windows } }),
  );
  assertEquals(
    m,
    "Cannot extract: STA/LTA (recursive, STA 1 s, LTA 20 s, ON 4, OFF 1.5) found no triggers on " +
      "TA.M02C..BHZ from 2014-09-20T20:48:00Z to 2014-09-20T20:52:00Z: lower ON " +
      "(--trigger STA/LTA/ON/OFF), or check that the archive holds these channels in that span",
  );
  const coincident = parseExtractConfig({
    input: {
      format: "sds",
      dir: "/a",
      windows: { ...windows, trigger: { ...windows.trigger, coincidence: { stations: 3 } } },
    },
  });
  assert(
    noSamplesMessage(coincident).includes(
      "OFF 1.5, 3 stations within 10 s) found no triggers",
    ),
    noSamplesMessage(coincident),
  );
  // Triggers found, but the coincidence kept none: said so, with the count and what to change
  // (it said STA/LTA found no triggers).
  assertEquals(
    noSamplesMessage(coincident, 12),
    "Cannot extract: STA/LTA (recursive, STA 1 s, LTA 20 s, ON 4, OFF 1.5) found 12 triggers on " +
      "TA.M02C..BHZ from 2014-09-20T20:48:00Z to 2014-09-20T20:52:00Z, and the coincidence of 3 " +
      "stations within 10 s kept none: lower the stations needed or widen the window " +
      "(--coincidence N/S), or lower ON (--trigger STA/LTA/ON/OFF) for more triggers at each " +
      "station",
  );
  // The LTA longer than every continuous stretch of the data: said so, with what to change (it
  // said to lower ON, which changes nothing there).
  assertEquals(
    noSamplesMessage(
      parseExtractConfig({
        input: {
          format: "sds",
          dir: "/a",
          windows: { ...windows, trigger: { ...windows.trigger, lta: 100000 } },
        },
      }),
      0,
      null,
      10800,
    ),
    "Cannot extract: STA/LTA (recursive, STA 1 s, LTA 100000 s, ON 4, OFF 1.5) found no triggers " +
      "on TA.M02C..BHZ from 2014-09-20T20:48:00Z to 2014-09-20T20:52:00Z: the LTA of 100000 s is " +
      "longer than any continuous stretch of data there (the longest: 10800 s), so the ratio was " +
      "never formed: use a shorter LTA (--trigger STA/LTA/ON/OFF)",
  );
  assertEquals(
    noSamplesMessage(parseExtractConfig({ input: { format: "esec", dir: "/e" } })),
    "Cannot extract: the input lists no samples",
  );
});

Deno.test("an extraction at triggers refused as finding none says that its detections are kept beside the output for the next run", async () => {
  const root = await Deno.makeTempDir();
  try {
    await archive(`${root}/sds`);
    const config = parseExtractConfig({
      input: {
        format: "sds",
        dir: `${root}/sds`,
        windows: {
          start: "2024-01-02T00:00:00Z",
          end: "2024-01-02T00:10:00Z",
          trigger: { ...DEFAULT, on: 1000 },
          channels: ["XX.ABC.00.HHZ"],
        },
      },
    });
    const kept = `${root}/.out.detections`;
    await assertRejects(
      () => runExtract(config, `${root}/out`, { quiet: true }),
      UserError,
      "or check that the archive holds these channels in that span; the detections are kept in " +
        `${kept} for the next run (which detects again only the days whose trigger settings or ` +
        "day files differ)",
    );
    assert((await Deno.stat(kept)).isDirectory);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an extraction at triggers whose LTA is longer than every continuous stretch of the data says so, with the longest, rather than to lower ON", async () => {
  const root = await Deno.makeTempDir();
  try {
    await archive(`${root}/sds`);
    const config = parseExtractConfig({
      input: {
        format: "sds",
        dir: `${root}/sds`,
        windows: {
          start: "2024-01-02T00:00:00Z",
          end: "2024-01-02T00:10:00Z",
          trigger: { ...DEFAULT, lta: 1000 },
          channels: ["XX.ABC.00.HHZ"],
        },
      },
    });
    // The longest: the day before's last 10 minutes and the 4 minutes before the gap.
    await assertRejects(
      () => runExtract(config, `${root}/out`, { quiet: true }),
      UserError,
      "found no triggers on XX.ABC.00.HHZ from 2024-01-02T00:00:00Z to 2024-01-02T00:10:00Z: the " +
        "LTA of 1000 s is longer than any continuous stretch of data there (the longest: 840 s), " +
        "so the ratio was never formed: use a shorter LTA (--trigger STA/LTA/ON/OFF); the " +
        "detections are kept in",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract --windows START/END --trigger: flags read, kept from a config file, and refused where they do not fit", () => {
  const base = { format: "sds", dir: "/a", stations: null, phase: "P" };
  const over = (input: unknown, flags: Record<string, string>) =>
    applyOverrides(parseExtractConfig({ input }), flags).input;
  const got = over({ ...base, picks: "/p.xml" }, {
    windows: "2024-01-01/2024-01-02",
    trigger: "0.5/10/3.5/1",
    channels: "XX.A..HHZ",
  });
  assertEquals((got as { windows: unknown }).windows, {
    start: "2024-01-01",
    end: "2024-01-02",
    step: null,
    trigger: {
      method: "recursive",
      sta: 0.5,
      lta: 10,
      on: 3.5,
      off: 1,
      band: null,
      dead: null,
      coincidence: null,
      aic: null,
    },
    channels: ["XX.A..HHZ"],
    labels: null,
    chunk: 1800,
  });
  // A config file's trigger keeps its method, band and dead time under --trigger, and its
  // trigger under --windows START/END.
  const file = {
    ...base,
    windows: {
      start: "2024-01-01",
      end: "2024-01-02",
      trigger: { method: "classic", band: [2, 8], dead: 5, coincidence: { stations: 2 } },
      channels: ["XX.A..HHZ"],
    },
  };
  const w = (x: unknown) =>
    (x as { windows: { trigger: SdsTrigger; step: number | null } }).windows;
  assertEquals(w(over(file, { trigger: "1/30/5/2" })).trigger, {
    method: "classic",
    sta: 1,
    lta: 30,
    on: 5,
    off: 2,
    band: [2, 8],
    dead: 5,
    coincidence: { stations: 2, window: 10 },
    aic: null,
  });
  assertEquals(w(over(file, { aic: "4/0.5" })).trigger.aic, { before: 4, after: 0.5 });
  assertEquals(w(over(file, { coincidence: "3/4.5" })).trigger.coincidence, {
    stations: 3,
    window: 4.5,
  });
  assertEquals(w(over(file, { windows: "2024-02-01/2024-02-02" })).trigger.method, "classic");
  // --trigger-method, --trigger-band and --dead-time set the rest of the spec.
  const more = w(over(file, {
    trigger: "1/30/5/2",
    "trigger-method": "recursive",
    "trigger-band": "1.5/12",
    "dead-time": "0",
  })).trigger;
  assertEquals([more.method, more.band, more.dead, more.sta], ["recursive", [1.5, 12], 0, 1]);
  // --windows with a STEP replaces the file's trigger by regular times.
  const regular = w(over(file, { windows: "2024-02-01/2024-02-02/60" }));
  assertEquals([regular.step, regular.trigger], [60, null]);
  const bad: [unknown, Record<string, string>, string][] = [
    [
      { ...base, picks: "/p.xml" },
      { windows: "2024-01-01/2024-01-02", channels: "X.A..Z" },
      "START/END takes --trigger",
    ],
    [
      { ...base, picks: "/p.xml" },
      { windows: "2024-01-01/2024-01-02/60", trigger: "1/20/4/1.5", channels: "X.A..Z" },
      "Cannot use --windows with --trigger",
    ],
    [{ ...base, picks: "/p.xml" }, { trigger: "1/20/4/1.5" }, "it applies to --windows START/END"],
    [{ format: "esec", dir: "/e" }, { trigger: "1/20/4/1.5" }, "it applies to an SDS archive"],
    [file, { trigger: "1/20/4" }, "expected STA/LTA/ON/OFF"],
    [file, { aic: "0/0" }, "Cannot read --aic: expected BEFORE/AFTER"],
    [file, { aic: "5" }, "Cannot read --aic"],
    [
      { ...base, windows: { ...file.windows, trigger: null, step: 60 } },
      { aic: "5/1" },
      "Cannot use --aic: it applies to --trigger",
    ],
    [file, { coincidence: "1.5" }, "Cannot read --coincidence: expected N or N/S"],
    [file, { coincidence: "2/x" }, "Cannot read --coincidence"],
    [
      { ...base, windows: { ...file.windows, trigger: null, step: 60 } },
      { coincidence: "2" },
      "it applies to --trigger",
    ],
    [file, { trigger: "1/20/1.5/4" }, "--trigger.off: expected a ratio > 0 and <= on (1.5)"],
    [file, { "trigger-method": "fast" }, "expected recursive or classic"],
    [file, { "trigger-band": "8/2" }, "Cannot read --trigger-band: expected FMIN/FMAX"],
    [file, { "trigger-band": "2" }, "Cannot read --trigger-band"],
    [file, { "dead-time": "-1" }, "Cannot read --dead-time: expected seconds >= 0"],
    [
      { ...base, windows: { ...file.windows, trigger: null, step: 60 } },
      { "trigger-band": "1/10" },
      "Cannot use --trigger-band: it applies to --trigger",
    ],
    [
      { ...base, windows: { ...file.windows, trigger: null, step: 60 } },
      { "dead-time": "5" },
      "Cannot use --dead-time: it applies to --trigger",
    ],
    [{ format: "esec", dir: "/e" }, { "trigger-method": "classic" }, "an SDS archive"],
  ];
  for (const [input, flags, msg] of bad) {
    assertThrows(() => over(input, flags), UserError, msg);
  }
  // A config with a step and a trigger, or neither, is refused, naming the field.
  assertThrows(
    () =>
      parseExtractConfig({
        input: { ...file, windows: { ...file.windows, step: 60 } },
      }),
    UserError,
    "give step (a sample every step seconds) or trigger",
  );
});

Deno.test("extract at STA/LTA triggers on synth --continuous: one sample per event and station, each at most 6 s after the P arrival, labelled with the event's class; triggers.csv lists them and their events; the CLI, and a resumed run, give the same bytes; detections.xml read back as picks gives the same spectrograms; cluster's events.csv and events.xml hold each event's vote", async () => {
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
    const w = (config.input as { windows: { step: number | null; trigger: unknown } }).windows;
    w.step = null;
    w.trigger = DEFAULT;
    config.workers = 0;
    const r = await runExtract(config, `${root}/ds`, { quiet: true });
    const ds = await openDataset(`${root}/ds`);
    try {
      const arrivals = sum.events.flatMap((e) =>
        e.arrivals.map((a) => ({ ...a, label: e.label, id: e.id }))
      );
      // Each sample: one event's arrival at its station, 0 to 6 s before its reference time
      // (tremor is emergent), with its class; each arrival found once.
      const found = new Set<string>();
      for (const s of ds.samples) {
        const t = Date.parse(s.referenceTime!);
        const a = arrivals.filter((a) =>
          a.station === s.station && t >= a.time && t <= a.time + 6000
        );
        assertEquals(a.length, 1, `${s.id}: ${JSON.stringify(a)}`);
        assertEquals(s.label, a[0].label, s.id);
        assert(!found.has(`${a[0].id}.${a[0].station}`), `${s.id} found twice`);
        found.add(`${a[0].id}.${a[0].station}`);
      }
      // The samples that fail are those too near the archive's ends.
      for (const f of r.failures) assertEquals(f.reason, "too short", JSON.stringify(f));
      const missed = arrivals.filter((a) => !found.has(`${a.id}.${a.station}`));
      assert(
        missed.length <= r.failures.length + 1,
        `${missed.length} arrivals missed: ${JSON.stringify(missed)}`,
      );
      assert(ds.count >= 10, String(ds.count));
      const rows = parseCsvRecords(await Deno.readTextFile(`${root}/ds/triggers.csv`));
      assertEquals(rows.length, ds.count + r.failures.length);
      const byId = new Map(rows.map((x) => [x.id, x]));
      for (const s of ds.samples) {
        const row = byId.get(s.id)!;
        assertEquals([row.on, row.label, row.status], [s.referenceTime, s.label, "ok"]);
        assert(Number(row.peak) > 4 && Number(row.duration) > 0, JSON.stringify(row));
      }
      for (const f of r.failures) assertEquals(byId.get(f.id)!.status, f.reason);
    } finally {
      ds.close();
    }
    // The same from the command line, with two workers: the same files, byte for byte.
    const iso = (t: number) => new Date(t).toISOString();
    const atTriggers = [
      "extract",
      "--config",
      `${root}/syn/extract.json`,
      "--windows",
      `${iso(sum.start)}/${iso(sum.end)}`,
      "--trigger",
      "1/20/4/1.5",
    ];
    const out = await run(...atTriggers, "--out", `${root}/cli`, "--workers", "2");
    assertEquals(out.code, 0, out.err.join("\n"));
    // Interrupted after 4 samples and resumed (the triggers detected again): the same bytes.
    await assertRejects(
      () => runExtract(config, `${root}/re`, { quiet: true, checkpointSeconds: 0, stopAfter: 4 }),
      Error,
      "stopped after 4",
    );
    await runExtract(config, `${root}/re`, { quiet: true, resume: true });
    for (const dir of ["re", "cli"]) {
      for (const f of ["spectrograms.npy", "samples.csv", "failures.csv", "triggers.csv"]) {
        assertEquals(
          await Deno.readFile(`${root}/${dir}/${f}`),
          await Deno.readFile(`${root}/ds/${f}`),
          `${dir}/${f}`,
        );
      }
    }
    // detections.xml (QuakeML) read back as picks cuts the same samples, bit for bit where
    // the triggers' samples are cut on their own (--window-chunk 0).
    const c0 = await run(...atTriggers, "--window-chunk", "0", "--out", `${root}/c0`, "--quiet");
    assertEquals(c0.code, 0, c0.err.join("\n"));
    const rt = await run(
      "extract",
      "--config",
      `${root}/syn/extract.json`,
      "--picks",
      `${root}/c0/detections.xml`,
      "--out",
      `${root}/rt`,
      "--quiet",
    );
    assertEquals(rt.code, 0, rt.err.join("\n"));
    const [d0, dr] = [await openDataset(`${root}/c0`), await openDataset(`${root}/rt`)];
    try {
      assertEquals(dr.count, d0.count);
      const key = (x: { station: string; referenceTime: string }) =>
        `${x.station} ${x.referenceTime}`;
      const at0 = new Map(d0.samples.map((x, i) => [key(x), i]));
      for (const [j, x] of dr.samples.entries()) {
        const i = at0.get(key(x));
        assert(i !== undefined, `${x.id} has no trigger sample`);
        assertEquals(dr.readBatch([j]), d0.readBatch([i]), x.id);
      }
    } finally {
      d0.close();
      dr.close();
    }
    // triggers.csv groups the stations' triggers into events (onsets within 10 s of one
    // another); cluster lets each event's samples vote (events.csv).
    const trig = parseCsvRecords(await Deno.readTextFile(`${root}/ds/triggers.csv`));
    const byEvent = Map.groupBy(trig, (r) => r.event);
    for (const [id, rs] of byEvent) {
      const ts = rs.map((r) => Date.parse(r.on)).sort((a, b) => a - b);
      assertEquals(id, `E${windowStamp(ts[0])}`);
      assert(ts.at(-1)! - ts[0] <= 10_000 && rs.length <= 2, JSON.stringify(rs));
    }
    assert(byEvent.size >= 5 && byEvent.size < trig.length, `${byEvent.size} events`);
    // samples.csv names each sample's event as triggers.csv does.
    const eventOf = new Map(trig.map((r) => [r.id, r.event]));
    const written = parseCsvRecords(await Deno.readTextFile(`${root}/ds/samples.csv`));
    assert(written.length > 0);
    for (const s of written) assertEquals(s.event, eventOf.get(s.id), s.id);
    const c = await run(
      "cluster",
      `${root}/ds`,
      "--raw",
      "--k",
      "3",
      "--no-plots",
      "--quiet",
      "--out",
      `${root}/cl`,
    );
    assertEquals(c.code, 0, c.err.join("\n"));
    const events = parseCsvRecords(await Deno.readTextFile(`${root}/cl/events.csv`));
    const assigned = parseCsvRecords(await Deno.readTextFile(`${root}/cl/labels.csv`));
    assertEquals(events.map((e) => e.event), [...byEvent.keys()]);
    for (const e of events) {
      const members = assigned.filter((a) => eventOf.get(a.id) === e.event);
      assertEquals(Number(e.samples), members.length);
      const n = members.filter((a) => a.cluster === e.cluster).length;
      assertEquals(Number(e.agreement), Number((n / members.length).toFixed(3)));
      assert(members.every((a) => members.filter((b) => b.cluster === a.cluster).length <= n));
    }
    // events.xml: the same events as QuakeML, a P pick per sample and the cluster in a comment.
    const xml = await Deno.readTextFile(`${root}/cl/events.xml`);
    const q = await readQuakeMl(xml, "events.xml");
    for (const e of events) {
      const picks = q.picks.filter((p) => p.eventId === `smi:seisdec/event/${e.event}`);
      assertEquals(picks.length, Number(e.samples), e.event);
      assert(
        xml.includes(`<comment><text>seisdec cluster ${e.cluster} (agreement ${e.agreement}, `),
        e.event,
      );
      // The same, machine-readable, in seisdec's namespace (ObsPy's event.extra).
      assert(
        xml.includes(
          `<seisdec:cluster>${e.cluster}</seisdec:cluster>\n      <seisdec:agreement>${e.agreement}</seisdec:agreement>\n      <seisdec:samples>${e.samples}</seisdec:samples>`,
        ),
        e.event,
      );
    }
    assert(xml.includes(`xmlns:seisdec="${SEISDEC_XMLNS}"`), "the namespace is declared");
    // evaluate scores the events' votes against their samples' most common class.
    const ev = await run("evaluate", `${root}/cl`, "--quiet");
    assertEquals(ev.code, 0, ev.err.join("\n"));
    const evaluation = JSON.parse(await Deno.readTextFile(`${root}/cl/evaluation.json`));
    assertEquals([evaluation.events.n, evaluation.events.labelled], [events.length, events.length]);
    assert(ev.out[0].includes("; events ACC "), ev.out[0]);
    // info names the input and counts the triggers and events; on the clusters, the events' scores.
    const dsInfo = await describeDir(`${root}/ds`);
    assertEquals(dsInfo.input, "sds triggers (recursive 1/20/4/1.5)");
    assertEquals(dsInfo.triggers, { total: trig.length, events: byEvent.size, ok: ds.count });
    assertEquals(dsInfo.detectionsKept, { channels: 2, channelDays: 2 });
    const clInfo = await describeDir(`${root}/cl`);
    assertEquals((clInfo.events as { n: number }).n, events.length);
    // report summarises the events per cluster and links events.csv.
    assertEquals((await run("report", `${root}/cl`, "--quiet")).code, 0);
    const html = await Deno.readTextFile(`${root}/cl/report.html`);
    assert(html.includes(`<h2>Events</h2>`) && html.includes(`<a href="events.csv">`));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract at triggers keeps its detections by day in the dataset (detections/): a stopped run takes them up from .NAME.detections on --resume; --inspect and report's member waveforms read them from the dataset instead of detecting again; --detections DS starts another extraction from them", async () => {
  const { writeSynthContinuous } = await import("../../lib/io/synth_continuous.ts");
  const { inspectSamples, detectionsPath } = await import("../../lib/io/extract.ts");
  const root = await Deno.makeTempDir();
  try {
    await writeSynthContinuous(`${root}/syn`, { hours: 1, stations: 2, eventsPerHour: 8, seed: 4 });
    const config = await readExtractConfig(`${root}/syn/extract.json`);
    const w = (config.input as {
      windows: { start: string; end: string; step: number | null; trigger: unknown };
    }).windows;
    w.step = null;
    w.trigger = DEFAULT;
    config.workers = 0;
    await runExtract(config, `${root}/ds`, { quiet: true });
    const kept = [...Deno.readDirSync(`${root}/ds/detections`)].map((e) => e.name).sort();
    assertEquals(kept, ["SY.S0000.00.HHZ.2024-01.jsonl", "SY.S0001.00.HHZ.2024-01.jsonl"]);
    assertEquals(await Deno.stat(detectionsPath(`${root}/ds`)).then(() => 1, () => 0), 0);
    const trig = parseCsvRecords(await Deno.readTextFile(`${root}/ds/triggers.csv`));
    // Stopped after 4 samples: the detections stay beside the dataset. A peak written there
    // comes back in the resumed run's triggers.csv: it was not detected again.
    await assertRejects(
      () => runExtract(config, `${root}/re`, { quiet: true, checkpointSeconds: 0, stopAfter: 4 }),
      Error,
      "stopped after 4",
    );
    const side = `${detectionsPath(`${root}/re`)}/SY.S0000.00.HHZ.2024-01.jsonl`;
    const lines = await cacheLines(side);
    lines[0].triggers[0][3] = 99.5;
    await Deno.writeTextFile(side, cacheText(lines));
    await runExtract(config, `${root}/re`, { quiet: true, resume: true });
    const again = parseCsvRecords(await Deno.readTextFile(`${root}/re/triggers.csv`));
    assertEquals(again.map((r) => r.peak === "99.50"), trig.map((_, i) => i === 0));
    assertEquals(again.map((r) => r.id), trig.map((r) => r.id));
    assertEquals(
      await Deno.readFile(`${root}/re/spectrograms.npy`),
      await Deno.readFile(`${root}/ds/spectrograms.npy`),
    );
    assertEquals(
      await Deno.readTextFile(`${root}/re/detections/SY.S0000.00.HHZ.2024-01.jsonl`),
      cacheText(lines),
    );
    // An onset moved by a second in the dataset's detections: the dataset's samples are found
    // under the moved id, the archive's (detected again) under the first.
    const own = `${root}/ds/detections/SY.S0000.00.HHZ.2024-01.jsonl`;
    const moved = await cacheLines(own);
    const t = moved[0].triggers[0][0];
    moved[0].triggers[0][0] = t + 1000;
    await Deno.writeTextFile(own, cacheText(moved));
    const [was, now] = [windowStamp(t), windowStamp(t + 1000)].map((s) => `SY.S0000.00.HHZ.${s}`);
    const fromDataset = await inspectSamples(config, [now, was], { dataset: `${root}/ds` });
    assertEquals(fromDataset.map((r) => "reason" in r ? r.reason : "ok"), ["ok", "not in input"]);
    const fromArchive = await inspectSamples(config, [now, was]);
    assertEquals(fromArchive.map((r) => "reason" in r ? r.reason : "ok"), ["not in input", "ok"]);
    // An inspected trigger names its associated event, as samples.csv does.
    const seen = fromArchive[1] as { info: { id: string; event?: string } };
    const written = parseCsvRecords(await Deno.readTextFile(`${root}/ds/samples.csv`));
    assertEquals(seen.info.event, written.find((r) => r.id === seen.info.id)?.event);
    assert(seen.info.event?.startsWith("E"), seen.info.event);
    // The same from the command line: --inspect with --detections.
    const flags = [
      "extract",
      "--config",
      `${root}/syn/extract.json`,
      "--windows",
      `${w.start}/${w.end}`,
      "--trigger",
      "1/20/4/1.5",
      "--workers",
      "0",
    ];
    const cli = await run(
      ...flags,
      "--inspect",
      now,
      "--detections",
      `${root}/ds`,
      "--out",
      `${root}/i`,
    );
    assertEquals(cli.code, 0, cli.err.join("\n"));
    // An extraction started from the dataset's detections takes the moved onset as its own.
    const seeded = await run(...flags, "--detections", `${root}/ds`, "--out", `${root}/ds2`);
    assertEquals(seeded.code, 0, seeded.err.join("\n"));
    const ids2 = parseCsvRecords(await Deno.readTextFile(`${root}/ds2/samples.csv`)).map((r) =>
      r.id
    );
    assert(ids2.includes(now) && !ids2.includes(was), ids2.join(" "));
    assertEquals(ids2.length, trig.length);
    // Without --detections it is detected again; an extraction not at triggers refuses it.
    const fresh = await run(...flags, "--out", `${root}/ds3`, "--quiet");
    assertEquals(fresh.code, 0, fresh.err.join("\n"));
    assert((await Deno.readTextFile(`${root}/ds3/samples.csv`)).includes(was));
    const windows = await run(
      "extract",
      "--config",
      `${root}/syn/extract.json`,
      "--detections",
      `${root}/ds`,
      "--out",
      `${root}/w`,
    );
    assertEquals(windows.code, 2);
    assert(windows.err.join("\n").includes("is not at triggers"), windows.err.join("\n"));
    // report's member waveforms: the sample whose onset moved is no longer found.
    const { memberWaveforms } = await import("../../lib/cluster/member_waveforms.ts");
    const ds = await openDataset(`${root}/ds`);
    try {
      const m = await memberWaveforms(ds, new Int32Array(ds.count), 1, null, ds.count);
      assert("failures" in m, JSON.stringify(m));
      assertEquals(m.failures.map((f) => [f.id, f.reason]), [[was, "not in input"]]);
    } finally {
      ds.close();
    }
    // --force onto the dataset itself (an hourly rerun) starts from its own kept detections, as
    // --detections would: the moved onset is taken, not detected again.
    const rerun = await run(...flags, "--out", `${root}/ds`, "--force", "--quiet");
    assertEquals(rerun.code, 0, rerun.err.join("\n"));
    const ids4 = parseCsvRecords(await Deno.readTextFile(`${root}/ds/samples.csv`)).map((r) =>
      r.id
    );
    assert(ids4.includes(now) && !ids4.includes(was), ids4.join(" "));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("extract --detections DS whose detections is a file, not a directory, is refused naming it, not with the system's 'Not a directory (os error 20)'", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/ds`);
    await Deno.writeTextFile(`${root}/ds/detections`, "x");
    const config = parseExtractConfig({
      input: {
        format: "sds",
        dir: `${root}/sds`,
        windows: {
          start: "2024-01-01T00:00:00Z",
          end: "2024-01-01T01:00:00Z",
          trigger: DEFAULT,
          channels: ["XX.ABC.00.HHZ"],
        },
      },
    });
    await assertRejects(
      () => runExtract(config, `${root}/out`, { quiet: true, detectionsFrom: `${root}/ds` }),
      UserError,
      `Cannot take the detections of ${root}/ds: ${root}/ds/detections is not a directory: ` +
        "expected the detections/ of a dataset made at triggers",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("coincident: a trigger is kept where triggers at enough stations (its own included) start within the window, as a brute force finds", () => {
  const rng = new Rng(5);
  for (let trial = 0; trial < 100; trial++) {
    const channels = Array.from({ length: 1 + rng.int(5) }, () => ({
      station: `XX.S${rng.int(3)}`, // two channels may share a station
      onsets: Array.from({ length: rng.int(6) }, () => rng.int(120) * 1000),
    }));
    const stations = 1 + rng.int(3), window = rng.int(12);
    const want = channels.map((c) =>
      c.onsets.map((t) =>
        new Set(
          channels.flatMap((d) =>
            d.onsets.filter((u) => Math.abs(u - t) <= window * 1000).map(() => d.station)
          ),
        ).size >= stations
      )
    );
    assertEquals(coincident(channels, stations, window), want, JSON.stringify(channels));
  }
});

Deno.test("sdsWindowTasks with a trigger: each channel's onsets are its samples, with the trigger's end and peak; a coincidence keeps those seen at two stations within 10 s; a detection problem is a failed task; chunks only where triggers crowd", async () => {
  const root = await Deno.makeTempDir();
  try {
    for (const sta of ["A", "B", "C"]) {
      const [p] = sdsPaths(root, ["XX", sta, "", "HHZ"], T0, T0);
      await Deno.mkdir(p.replace(/\/[^/]+$/, ""), { recursive: true });
      await Deno.writeFile(p, new Uint8Array(0));
    }
    const onsets: Record<string, number[]> = {
      A: [0, 100, 500],
      B: [3, 600],
      C: [104.5, 900],
    };
    const detect = (codes: [string, string, string, string], start: number) =>
      Promise.resolve({
        detections: onsets[codes[1]].map((s) => ({
          on: start + s * 1000,
          trigger: start + s * 1000 - 500,
          off: start + s * 1000 + 4000,
          peak: 7,
        })),
        problems: codes[1] === "C"
          ? [{
            source: `${root}/2024/XX/C/HHZ.D/XX.C..HHZ.D.2024.001`,
            reason: "truncated" as const,
            message: "Cannot read it: truncated",
          }]
          : [],
      });
    const trigger: SdsTrigger = { ...SPEC, band: null, dead: null };
    const w = {
      start: "2024-01-01T00:00:00Z",
      end: "2024-01-01T01:00:00Z",
      step: null,
      trigger,
      channels: ["XX.A..HHZ", "XX.B..HHZ", "XX.C..HHZ"],
      labels: null,
      chunk: 0,
    };
    const list = async (coincidence: SdsTrigger["coincidence"]) =>
      await sdsWindowTasks(
        { ...w, trigger: { ...trigger, coincidence } },
        null,
        { dir: root, codesOf: (c: string) => [c] },
        [30_000, 80_000],
        [20, 66],
        { detect },
      );
    const all = await list(null);
    assertEquals(all.map((t) => t.id), [
      "XX.A..HHZ.20240101T000000Z",
      "XX.A..HHZ.20240101T000140Z",
      "XX.A..HHZ.20240101T000820Z",
      "XX.B..HHZ.20240101T000003Z",
      "XX.B..HHZ.20240101T001000Z",
      "XX.C..HHZ.20240101T000144.500Z",
      "XX.C..HHZ.20240101T001500Z",
      "XX.C..HHZ.detection.2024.001",
    ]);
    assertEquals(all[1].referenceTime, T0 + 100_000);
    assertEquals(all[1].detection, { trigger: T0 + 99_500, off: T0 + 104_000, peak: 7 });
    assertEquals(all.at(-1)!.error, { reason: "truncated", message: "Cannot read it: truncated" });
    const two = await list({ stations: 2, window: 10 });
    assertEquals(two.map((t) => t.id), [
      "XX.A..HHZ.20240101T000000Z",
      "XX.A..HHZ.20240101T000140Z",
      "XX.B..HHZ.20240101T000003Z",
      "XX.C..HHZ.20240101T000144.500Z",
      "XX.C..HHZ.detection.2024.001",
    ]);
    // Chunks are preprocessed only where a channel has MIN_CHUNK_TRIGGERS triggers in one.
    const dense = await sdsWindowTasks(
      { ...w, channels: ["XX.A..HHZ"] },
      null,
      { dir: root, codesOf: (c: string) => [c] },
      [30_000, 80_000],
      [20, 66],
      {
        detect: (_codes, start) =>
          Promise.resolve({
            detections: [...Array(MIN_CHUNK_TRIGGERS).keys(), 100, 101].map((i) => ({
              on: start + i * 60_000,
              trigger: start + i * 60_000,
              off: start + i * 60_000 + 4000,
              peak: 7,
            })),
            problems: [],
          }),
        chunkSpan: (t) => {
          const c0 = T0 + Math.floor((t - T0) / 1_800_000) * 1_800_000;
          return [c0 - 500_000, c0 + 2_300_000];
        },
      },
    );
    assertEquals(dense.map((t) => t.preprocessSpan?.[0] ?? null), [
      ...Array(MIN_CHUNK_TRIGGERS).fill(T0 - 500_000),
      null,
      null,
    ]);
    // Three stations: A's first onset has B's within 10 s but not C's.
    assertEquals((await list({ stations: 3, window: 10 })).length, 1);
    assertEquals((await list({ stations: 3, window: 105 })).length, 1 + 4);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("detectSdsTriggers on real data (ESEC, as SDS day files): the default trigger finds 29 of the 32 rock and debris falls' Z traces from 20 s before the catalogue start to 60 s after it, and 61 of all 103", async () => {
  const ESEC = new URL("../../../shared/data/esec_massmovements/", import.meta.url).pathname;
  const root = await Deno.makeTempDir();
  try {
    const events = parseCsvRecords(await Deno.readTextFile(`${ESEC}/esec_subset_events.csv`));
    let hits = 0, traces = 0, fallHits = 0, falls = 0;
    for (const e of events) {
      const m = e.starttime.match(/^(\d{4})_(\d\d)_(\d\d) (\d\d)(\d\d)(\d\d)$/)!;
      const t = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
      for (const f of Deno.readDirSync(`${ESEC}/waveforms/${e.eventid}`)) {
        // NET.STA.LOC.CHA__start__end.mseed: the Z traces, one day file each.
        const codes = f.name.split("__")[0].split(".") as [string, string, string, string];
        if (!codes[3].endsWith("Z")) continue;
        const [p] = sdsPaths(root, codes, t, t);
        await Deno.mkdir(p.replace(/\/[^/]+$/, ""), { recursive: true });
        await Deno.copyFile(`${ESEC}/waveforms/${e.eventid}/${f.name}`, p);
        const r = await detectSdsTriggers(root, codes, t - 70_000, t + 110_000, {
          ...SPEC,
          sta: 1,
          lta: 20,
          on: 4,
          off: 1.5,
        }, 1);
        await Deno.remove(p);
        const hit = r.detections.some((d) => d.on >= t - 20_000 && d.on <= t + 60_000);
        assertEquals(r.problems, []);
        traces++;
        hits += Number(hit);
        if (e.subtype === "Rock/debris falls") {
          [falls, fallHits] = [falls + 1, fallHits + Number(hit)];
        }
      }
    }
    assertEquals([traces, falls], [103, 32]);
    // Emergent sources (lahars, snow avalanches) trigger less often; rock falls nearly always.
    assert(fallHits >= 28, `${fallHits} of ${falls} rock-fall traces`);
    assert(hits >= 58, `${hits} of ${traces} traces`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("detectSdsTriggers: a day file cut inside its last record keeps its complete records' onsets; the cut is a truncated problem, not the whole day", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await archive(dir);
    const [, p2] = sdsPaths(dir, CODES, T0 + DAY - 1, T0 + 2 * DAY);
    const start = T0 + DAY - 590_000, end = T0 + 3 * DAY;
    const whole = await detectSdsTriggers(dir, CODES, start, end, SPEC, 1);
    const bytes = await Deno.readFile(p2);
    await Deno.writeFile(p2, bytes.subarray(0, bytes.length - 10));
    const cut = await detectSdsTriggers(dir, CODES, start, end, SPEC, 1);
    // Day 2's onsets before its last record are found as from the whole file.
    const before = (d: { on: number }) => d.on < B.afterGap - 10_000;
    assertEquals(cut.detections.filter(before), whole.detections.filter(before));
    assert(cut.detections.filter(before).some((d) => d.on >= T0 + DAY), "day 2's onsets");
    const truncated = cut.problems.filter((p) => p.reason === "truncated");
    assertEquals(truncated.map((p) => p.source), [p2]);
    assert(truncated[0].message.includes("left out"), truncated[0].message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detectSdsTriggers with a cache: a day file that grows after it was read (for the day before's tail) is keyed as read, so the next run detects it again rather than keeping its old triggers", async () => {
  const { indexRecords } = await import("../../lib/io/mseed.ts");
  const dir = await Deno.makeTempDir();
  const readFile = Deno.readFile;
  try {
    await archive(dir);
    const [, p2] = sdsPaths(dir, CODES, T0 + DAY - 1, T0 + 2 * DAY);
    const full = await Deno.readFile(p2);
    const recs = await indexRecords(full, p2);
    // Day 2's file as a writer leaves it mid-day: its first record only.
    await Deno.writeFile(p2, full.subarray(0, recs[0].offset + recs[0].size));
    const start = T0 + DAY - 590_000, end = T0 + 3 * DAY;
    const cache = { dir: `${dir}/cache`, write: true };
    // The writer appends the rest right after the detector's first read of day 2's file (day 1
    // reads it for its tail).
    let grown = false;
    Deno.readFile = async (path, options) => {
      const bytes = await readFile(path, options);
      if (!grown && String(path) === p2) {
        grown = true;
        await Deno.writeFile(p2, full);
      }
      return bytes;
    };
    await detectSdsTriggers(dir, CODES, start, end, SPEC, 1, { cache });
    Deno.readFile = readFile;
    assert(grown, "the hook ran");
    // Nothing changes before the next run: every day that reads day 2's file (day 1 for its
    // tail, day 3 for its warm-up, day 2 itself) is detected again, its key being of the old
    // size, and the triggers are those of the whole file, as without a cache; the run after
    // keeps them all.
    const whole = await detectSdsTriggers(dir, CODES, start, end, SPEC, 1);
    for (const expect of [[false, false, false], [true, true, true]]) {
      const kept: boolean[] = [];
      const next = await detectSdsTriggers(dir, CODES, start, end, SPEC, 1, {
        cache,
        onDay: (k) => kept.push(k),
      });
      assertEquals(kept, expect);
      assertEquals(next, whole);
    }
  } finally {
    Deno.readFile = readFile;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a trigger's id is its onset's exact time rounded once to the millisecond: samples 0.4996 ms past it (a miniSEED 3 start in nanoseconds) give the millisecond below, kept to the microsecond as 0.499", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const t0 = T0 + 0.4996;
    const trace = { ...record(T0, T0 + 60_000, [T0 + 30_000, T0 + 45_000], 1), startTime: t0 };
    const [path] = sdsPaths(dir, CODES, T0, T0);
    await Deno.mkdir(path.replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.writeFile(path, await encodeMiniseed3([trace]));
    const { detections } = await detectSdsTriggers(dir, CODES, T0 + 15_000, T0 + 60_000, SPEC, 1);
    assertEquals(detections.length, 2, JSON.stringify(detections));
    for (const d of detections) {
      // The exact sample time, 0.4996 ms past a multiple of 10 ms: rounded once, to that multiple.
      const exact = t0 + Math.round((d.on - t0) / 10) * 10;
      assertEquals(windowStamp(d.on), windowStamp(exact));
      assertEquals(isoExact(d.on), isoExact(exact - 0.0006));
      assert(Math.abs(d.on - exact) < 0.001, `${d.on - exact} ms`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detectSdsTriggers at 4 kHz: onsets, AIC picks and ends are sample times to the microsecond (not rounded to the millisecond, which moved them by up to 2 samples); triggers.csv writes them so, with durations to the millisecond", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // 4 kHz noise, its samples 0.125 ms off the millisecond grid, with 0.1 s bursts of 400 Hz.
    const fs = 4000, dt = 1000 / fs, t0 = T0 + 0.125, n = 60 * fs;
    const bursts = [20_000.3, 40_000.55];
    const rng = new Rng(7);
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.round(100 * rng.normal());
    for (const b of bursts) {
      const i0 = Math.ceil((T0 + b - t0) / dt);
      for (let i = i0; i < i0 + 400; i++) {
        data[i] += Math.round(3000 * Math.sin(2 * Math.PI * 400 * (i - i0) / fs));
      }
    }
    const trace = { ...record(T0, T0 + 1000, [], 1), startTime: t0, samplingRate: fs, data };
    const [path] = sdsPaths(dir, CODES, T0, T0);
    await Deno.mkdir(path.replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.writeFile(path, await encodeMiniseed3([trace]));
    const spec = {
      ...SPEC,
      sta: 0.01,
      lta: 1,
      band: [100, 1000] as [number, number],
      aic: { before: 0.05, after: 0.01 },
    };
    const { detections, problems } = await detectSdsTriggers(
      dir,
      CODES,
      T0 + 5000,
      T0 + 60_000,
      spec,
      1,
    );
    assertEquals(problems, []);
    assertEquals(detections.length, 2, JSON.stringify(detections));
    const onGrid = (t: number) => {
      const k = (t - t0) / dt;
      return Math.abs(k - Math.round(k)) < 1e-6;
    };
    for (const [i, d] of detections.entries()) {
      for (const t of [d.on, d.trigger, d.off]) assert(onGrid(t), `${i}: ${t - T0} ms`);
      // The AIC pick is within 3 samples of the burst's first sample (the sine starts at 0).
      const first = t0 + Math.ceil((T0 + bursts[i] - t0) / dt) * dt;
      assert(Math.abs(d.on - first) <= 3 * dt, `${i}: ${d.on - first} ms`);
    }
    // Every sample time of this trace has a part below the millisecond.
    assert(detections.every((d) => d.on % 1 !== 0 && d.off % 1 !== 0));
    const tasks = detections.map((d, i) => ({
      id: `XX.ABC.00.HHZ.${i}`,
      network: "XX",
      station: "ABC",
      location: "00",
      channel: "HHZ",
      waveforms: [],
      response: null,
      referenceTime: d.on,
      label: null,
      detection: { trigger: d.trigger, off: d.off, peak: d.peak },
    }));
    const rows = parseCsvRecords(triggersCsv(triggerEvents(tasks, 10), []), ",");
    for (const [i, r] of rows.entries()) {
      const d = detections[i];
      assertEquals([r.on, r.trigger, r.off], [
        isoExact(d.on),
        isoExact(d.trigger),
        isoExact(d.off),
      ]);
      assert(/\.\d{6}Z$/.test(r.on), r.on);
      assertEquals(r.duration, ((d.off - d.trigger) / 1000).toFixed(3));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detectSdsTriggers with a cache: a day is detected again when the AIC picker, the gap tolerance or the span detected that day differs from what it was kept with", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await archive(dir);
    const start = T0 + DAY - 590_000, end = T0 + 3 * DAY;
    const fresh = (name: string) => ({ dir: `${dir}/${name}`, write: true });
    // Kept with SPEC and a gap tolerance of 1 s, then each variant from that cache: the same
    // as detected without one.
    const variants: [string, SdsTrigger & { band: [number, number]; dead: number }, number][] = [
      ["aic", { ...SPEC, aic: { before: 2, after: 0.5 } }, 1],
      ["gap tolerance", SPEC, 0],
    ];
    for (const [name, spec, gap] of variants) {
      const cache = fresh(name.replace(" ", "_"));
      await detectSdsTriggers(dir, CODES, start, end, SPEC, 1, { cache });
      const days: boolean[] = [];
      const got = await detectSdsTriggers(dir, CODES, start, end, spec, gap, {
        cache,
        onDay: (kept) => days.push(kept),
      });
      assertEquals(got, await detectSdsTriggers(dir, CODES, start, end, spec, gap), name);
      assertEquals(days, [false, false, false], name);
    }
    // Day 2 kept from 00:02:25 on (after its 00:02:20 burst), then from 00:02:10: the same day
    // files are read (day 2's, and day 3's for the tail), but day 2 is detected again, and
    // that burst found.
    const cache = fresh("span");
    await detectSdsTriggers(dir, CODES, T0 + DAY + 145_000, end, SPEC, 1, { cache });
    const from = T0 + DAY + 130_000;
    const wider = await detectSdsTriggers(dir, CODES, from, end, SPEC, 1, { cache });
    assertEquals(wider, await detectSdsTriggers(dir, CODES, from, end, SPEC, 1));
    assert(wider.detections.some((d) => Math.abs(d.on - B.day2Again) < 1000), "the burst");
    // The same at the span's end: kept until 00:02:15, then until 00:02:30.
    const cacheEnd = fresh("span_end");
    const at = T0 + DAY + 100_000;
    await detectSdsTriggers(dir, CODES, at, T0 + DAY + 135_000, SPEC, 1, { cache: cacheEnd });
    const longer = await detectSdsTriggers(dir, CODES, at, T0 + DAY + 150_000, SPEC, 1, {
      cache: cacheEnd,
    });
    assertEquals(longer, await detectSdsTriggers(dir, CODES, at, T0 + DAY + 150_000, SPEC, 1));
    assert(longer.detections.some((d) => Math.abs(d.on - B.day2Again) < 1000), "the later burst");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("finishDetection: an onset exactly the dead time after the last one kept is kept (less than it is dropped); a file's problems are each kept once, two of one file apart", () => {
  const d = (on: number) =>
    [T0 + on, T0 + on, T0 + on + 500, 6] as [number, number, number, number];
  const p = (offset: number) => ({
    source: "/a/f.mseed",
    reason: "corrupt" as const,
    message: `the record at byte ${offset} is damaged`,
  });
  const day = {
    day: T0,
    key: "",
    found: true,
    triggers: [d(0), d(20_000), d(29_999), d(50_000)],
    problems: [p(512), p(1024), p(512)],
  };
  const r = finishDetection("/a", CODES, T0, T0 + DAY, { dead: 20 }, [day]);
  // 20 s after 0: kept; 29.999 s is 9.999 s after that one: dropped; 50 s: kept.
  assertEquals(r.detections.map((x) => x.on - T0), [0, 20_000, 50_000]);
  assertEquals(
    r.problems.filter((x) => x.source === "/a/f.mseed").map((x) => x.message),
    [p(512).message, p(1024).message],
  );
});

Deno.test("detectSdsTriggers: a trigger a second before the hour ends where its ratio falls, past the hour (each hour's piece reads two minutes beyond it); a span ending at midnight is one day", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const burst = T0 + 3_600_000 - 1_000;
    const [p] = sdsPaths(dir, CODES, T0, T0);
    await Deno.mkdir(p.replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.writeFile(
      p,
      await encodeMiniseed3([record(T0 + 2_400_000, T0 + 4_800_000, [burst], 4)]),
    );
    const days: boolean[] = [];
    const r = await detectSdsTriggers(dir, CODES, T0, T0 + DAY, SPEC, 1, {
      onDay: (kept) => days.push(kept),
    });
    assertEquals(days, [false]);
    assertEquals(r.detections.length, 1, JSON.stringify(r.detections));
    const [d] = r.detections;
    assert(Math.abs(d.trigger - burst) < 500, `onset ${new Date(d.trigger).toISOString()}`);
    // The 3 s burst, and the STA's decay after it.
    assert(d.off > burst + 3_000 && d.off < burst + 20_000, `end ${new Date(d.off).toISOString()}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detectSdsTriggers reads only its own channel's records from a day file that also holds another location's", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const [p] = sdsPaths(dir, CODES, T0, T0);
    await Deno.mkdir(p.replace(/\/[^/]+$/, ""), { recursive: true });
    const burst = T0 + 1_200_000;
    await Deno.writeFile(
      p,
      await encodeMiniseed3([
        record(T0, T0 + 1_800_000, [], 5),
        { ...record(T0, T0 + 1_800_000, [burst], 6), location: "10" },
      ]),
    );
    const own = await detectSdsTriggers(dir, CODES, T0, T0 + 1_800_000, SPEC, 1);
    assertEquals(own.detections, []);
    // The burst on its own location instead: found.
    await Deno.writeFile(
      p,
      await encodeMiniseed3([
        record(T0, T0 + 1_800_000, [burst], 6),
        { ...record(T0, T0 + 1_800_000, [], 5), location: "10" },
      ]),
    );
    const found = await detectSdsTriggers(dir, CODES, T0, T0 + 1_800_000, SPEC, 1);
    assertEquals(found.detections.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detectSdsTriggers: a day file that holds only another channel's records, or only another day's, is listed (no triggers there), not taken for a quiet day; one whose data end before the span is not", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const [p] = sdsPaths(dir, CODES, T0, T0);
    await Deno.mkdir(p.replace(/\/[^/]+$/, ""), { recursive: true });
    const half = 1_800_000;
    const listed = async (t0: number, t1: number) => {
      const r = await detectSdsTriggers(dir, CODES, t0, t1, SPEC, 1);
      assertEquals(r.detections, []);
      return r.problems.map((x) => [x.source, x.reason, x.message]);
    };
    // Another station's records (a copy gone astray), a burst and all: before, no problem.
    await Deno.writeFile(
      p,
      await encodeMiniseed3([{ ...record(T0, T0 + half, [T0 + 1_200_000], 5), station: "XYZ" }]),
    );
    assertEquals(await listed(T0, T0 + half), [[
      p,
      "missing channel",
      "Cannot detect triggers on XX.ABC.00.HHZ from 2024-01-01T00:00:00.000Z to " +
      `2024-01-01T00:30:00.000Z: its day file ${p} holds none of its data (it holds ` +
      "XX.XYZ.00.HHZ; no triggers there)",
    ]]);
    // The day before's records under this day's name.
    await Deno.writeFile(p, await encodeMiniseed3([record(T0 - DAY, T0 - DAY + half, [], 5)]));
    assertEquals(
      (await listed(T0, T0 + half))[0]?.[2],
      "Cannot detect triggers on XX.ABC.00.HHZ from 2024-01-01T00:00:00.000Z to " +
        `2024-01-01T00:30:00.000Z: its day file ${p} holds none of its data (its records lie ` +
        "outside that day: 2023-12-31T00:00:00.000Z to 2023-12-31T00:30:00.000Z; no triggers there)",
    );
    // Its own data, ending before a span past them (the archive may not reach it yet): none.
    await Deno.writeFile(p, await encodeMiniseed3([record(T0, T0 + 600_000, [], 5)]));
    assertEquals(await listed(T0 + 1_200_000, T0 + half), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detectSdsTriggers reads a SAC day file, as extract's windows and picks do: the same triggers as from its miniSEED", async () => {
  const { encodeSac } = await import("../../lib/io/sac.ts");
  const dir = await Deno.makeTempDir();
  try {
    const [p] = sdsPaths(dir, CODES, T0, T0);
    await Deno.mkdir(p.replace(/\/[^/]+$/, ""), { recursive: true });
    const trace = record(T0, T0 + 1_800_000, [T0 + 1_200_000], 6);
    await Deno.writeFile(p, await encodeMiniseed3([trace]));
    const mseed = await detectSdsTriggers(dir, CODES, T0, T0 + 1_800_000, SPEC, 1);
    assertEquals([mseed.detections.length, mseed.problems], [1, []]);
    await Deno.writeFile(p, encodeSac(trace));
    // It failed as 'not miniseed: expected a miniSEED 2 or 3 record header (or a SAC file)'.
    const sac = await detectSdsTriggers(dir, CODES, T0, T0 + 1_800_000, SPEC, 1);
    assertEquals(sac.problems, []);
    assertEquals(sac.detections.map((d) => d.on), mseed.detections.map((d) => d.on));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detectSdsTriggers: a 30 Hz burst above the 1–18 Hz band, which 4 poles per corner hold under the threshold (a ratio of 4.3 against 9.7 with 2), does not trigger; with AIC, the onset of an emergent burst is picked up to `before` seconds ahead of the trigger", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const [p] = sdsPaths(dir, CODES, T0, T0);
    await Deno.mkdir(p.replace(/\/[^/]+$/, ""), { recursive: true });
    const tone = record(T0, T0 + 600_000, [], 7);
    const b40 = 300 * 100; // 00:05:00
    for (let i = b40; i < b40 + 300; i++) {
      tone.data[i] += Math.round(3000 * Math.sin(2 * Math.PI * 30 * (i - b40) / 100));
    }
    await Deno.writeFile(p, await encodeMiniseed3([tone]));
    assertEquals((await detectSdsTriggers(dir, CODES, T0, T0 + 600_000, SPEC, 1)).detections, []);
    // A 5 Hz burst whose amplitude grows over 2 s from 00:05:00: the ratio passes 5 later.
    const ramp = record(T0, T0 + 600_000, [], 7);
    for (let i = b40; i < b40 + 500; i++) {
      ramp.data[i] += Math.round(
        3000 * Math.min(1, (i - b40) / 200) * Math.sin(2 * Math.PI * 5 * (i - b40) / 100),
      );
    }
    await Deno.writeFile(p, await encodeMiniseed3([ramp]));
    const onset = T0 + 300_000;
    const aic = { before: 2, after: 0.1 };
    const [d] = (await detectSdsTriggers(dir, CODES, T0, T0 + 600_000, { ...SPEC, aic }, 1))
      .detections;
    assert(d.trigger - onset > 300, `trigger ${d.trigger - onset} ms after the onset`);
    assert(Math.abs(d.on - onset) < 100, `AIC pick ${d.on - onset} ms from the onset`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Empty HHZ day files at T0 of three channels of two stations: XX.A.00, XX.A.10, XX.B.00. */
async function twoStationDayFiles(root: string): Promise<void> {
  for (const [sta, loc] of [["A", "00"], ["A", "10"], ["B", "00"]]) {
    const [p] = sdsPaths(root, ["XX", sta, loc, "HHZ"], T0, T0);
    await Deno.mkdir(p.replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.writeFile(p, new Uint8Array(0));
  }
}

Deno.test("sdsWindowTasks refuses a coincidence of more stations than its channels are of, before detecting", async () => {
  const root = await Deno.makeTempDir();
  try {
    await twoStationDayFiles(root);
    let detected = 0;
    const detect = () => {
      detected++;
      return Promise.resolve({ detections: [], problems: [] });
    };
    const list = (stations: number) =>
      sdsWindowTasks(
        {
          start: "2024-01-01T00:00:00Z",
          end: "2024-01-01T01:00:00Z",
          step: null,
          trigger: { ...SPEC, band: null, dead: null, coincidence: { stations, window: 5 } },
          channels: ["XX.A.00.HHZ", "XX.A.10.HHZ", "XX.B.00.HHZ"],
          labels: null,
          chunk: 0,
        },
        null,
        { dir: root, codesOf: (c: string) => [c] },
        [30_000, 80_000],
        [20, 66],
        { detect },
      );
    // Three channels, two stations: a coincidence of 3 could keep nothing.
    await assertRejects(
      () => list(3),
      UserError,
      "input.windows.trigger.coincidence: it keeps a trigger where 3 stations trigger together, " +
        "but the channels are of 2 (XX.A, XX.B)",
    );
    assertEquals(detected, 0, "refused before any channel was detected");
    assertEquals(await list(2), []);
    assertEquals(detected, 3);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("sdsWindowTasks with a coincidence of two stations: two channels of one station triggering together are one station, and are dropped; the triggers found before it are counted", async () => {
  const root = await Deno.makeTempDir();
  try {
    await twoStationDayFiles(root);
    // A's two sensors at 100 s; B alone at 500 s, A's first sensor 2 s after it.
    let found = 0;
    const onsets: Record<string, number[]> = { "A.00": [100, 502], "A.10": [101], "B.00": [500] };
    const detect = (codes: [string, string, string, string], start: number) =>
      Promise.resolve({
        detections: onsets[`${codes[1]}.${codes[2]}`].map((s) => ({
          on: start + s * 1000,
          trigger: start + s * 1000,
          off: start + s * 1000 + 4000,
          peak: 7,
        })),
        problems: [],
      });
    const tasks = await sdsWindowTasks(
      {
        start: "2024-01-01T00:00:00Z",
        end: "2024-01-01T01:00:00Z",
        step: null,
        trigger: { ...SPEC, band: null, dead: null, coincidence: { stations: 2, window: 5 } },
        channels: ["XX.A.00.HHZ", "XX.A.10.HHZ", "XX.B.00.HHZ"],
        labels: null,
        chunk: 0,
      },
      null,
      { dir: root, codesOf: (c: string) => [c] },
      [30_000, 80_000],
      [20, 66],
      { detect, onTriggers: (n) => found = n },
    );
    assertEquals(tasks.map((t) => t.id), [
      "XX.A.00.HHZ.20240101T000822Z",
      "XX.B.00.HHZ.20240101T000820Z",
    ]);
    // The triggers before the coincidence, for the message where it keeps none.
    assertEquals(found, 4);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
