import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertRejects,
  assertThrows,
} from "../_assert.ts";
import {
  type CorruptRecord,
  crc32c,
  encodeMiniseed3,
  mergeSegments,
  readMiniseed,
  readMiniseedFile,
  type Trace,
} from "../../lib/io/mseed.ts";
import { SampleError } from "../../lib/io/sample_error.ts";

const DATA = new URL("../../../shared/data/", import.meta.url).pathname;
const ESEC = `${DATA}esec_massmovements/`;

function listEsec(sub: string, ext: string): string[] {
  const out: string[] = [];
  for (const ev of Deno.readDirSync(ESEC + sub)) {
    for (const f of Deno.readDirSync(`${ESEC}${sub}/${ev.name}`)) {
      if (f.name.endsWith(ext)) out.push(`${ESEC}${sub}/${ev.name}/${f.name}`);
    }
  }
  return out.sort();
}

Deno.test("all 305 ESEC miniSEED files decode, one channel each, with the rate and codes of their name", async () => {
  const files = listEsec("waveforms", ".mseed");
  assertEquals(files.length, 305);
  const rates: Record<number, number> = {};
  for (const f of files) {
    const tr = await readMiniseedFile(f);
    assertEquals(tr.length, 1, f);
    const [net, sta, loc, cha] = f.split("/").at(-1)!.split("__")[0].split(".");
    assertEquals([tr[0].network, tr[0].station, tr[0].location, tr[0].channel], [
      net,
      sta,
      loc,
      cha,
    ], f);
    assert(tr[0].data.length > 1000 && tr[0].data.every(Number.isFinite), f);
    rates[tr[0].samplingRate] = (rates[tr[0].samplingRate] ?? 0) + 1;
  }
  // The counts the data README gives.
  assertEquals(rates, { 40: 118, 50: 154, 100: 27, 120: 6 });
});

function trace(over: Partial<Trace> = {}): Trace {
  return {
    network: "XX",
    station: "ABC",
    location: "00",
    channel: "HHZ",
    startTime: Date.UTC(2020, 4, 1, 12),
    samplingRate: 100,
    data: new Float64Array(1000).map((_, i) => Math.round(1000 * Math.sin(i / 10))),
    ...over,
  };
}

Deno.test("miniSEED 3 written by seisplotjs reads back exactly (int32 and float32)", async () => {
  const a = trace();
  const b = trace({ channel: "HHN", data: new Float64Array(500).map((_, i) => i + 0.5) });
  const back = await readMiniseed(await encodeMiniseed3([a, b], 300), "mem.mseed");
  assertEquals(back.length, 2);
  const z = back.find((t) => t.channel === "HHZ")!, n = back.find((t) => t.channel === "HHN")!;
  assertEquals(z.data, a.data);
  assertEquals(n.data, b.data);
  assertEquals(z.startTime, a.startTime);
  assertEquals(z.samplingRate, 100);
});

Deno.test("miniSEED 3 written at a rate whose records do not last whole milliseconds (3000 Hz) reads back as one trace, without gaps or overlaps, at its exact start", async () => {
  const n = 10000, fs = 3000;
  const data = Float64Array.from({ length: n }, (_, i) => Math.round(1000 * Math.sin(i / 7)));
  // A start below the millisecond too (a microsecond pick's window).
  const t0 = Date.UTC(2024, 0, 1, 0, 0, 1) + 0.3337;
  const bytes = await encodeMiniseed3([{ ...trace(), samplingRate: fs, startTime: t0, data }]);
  // Records of 4000 samples last 1333.33 ms: their starts were cut to the millisecond, so the
  // file read back with a sample's gap or overlap at each record.
  const [tr] = await readMiniseed(bytes, "3k.mseed", { gapTolerance: 0 });
  assertEquals(tr.data.length, n);
  assertEquals(tr.data.findIndex((v, i) => v !== data[i]), -1);
  assertAlmostEquals(tr.startTime, t0, 1e-6);
  assertEquals(tr.joins, undefined);
});

Deno.test("gaps are merged up to the tolerance and rejected beyond it", async () => {
  const a = trace({ data: new Float64Array(1000).fill(5) });
  // Second segment starts 0.5 s (50 samples) after the end of the first.
  const b = trace({ startTime: a.startTime + 10500, data: new Float64Array(500).fill(7) });
  const bytes = await encodeMiniseed3([a, b]);
  const merged = await readMiniseed(bytes, "gap.mseed", { gapTolerance: 1 });
  assertEquals(merged.length, 1);
  assertEquals(merged[0].data.length, 1000 + 50 + 500);
  // The gap is filled by linear interpolation between 5 and 7.
  assert(merged[0].data[1025] > 5 && merged[0].data[1025] < 7, "interpolated");
  // And listed, with its time and length.
  assertEquals(merged[0].joins, [{ kind: "gap", start: a.startTime + 10000, samples: 50 }]);
  // An overlap of 0.3 s whose later samples differ: kept from the first, and listed; one that
  // repeats the samples there (a duplicate) is not.
  const c = trace({ startTime: a.startTime + 9700, data: new Float64Array(100).fill(9) });
  const [o] = await readMiniseed(await encodeMiniseed3([a, c]), "o.mseed", { gapTolerance: 1 });
  assertEquals(o.data.length, 1000 + 70);
  assertEquals(o.joins, [{ kind: "overlap", start: a.startTime + 9700, samples: 30 }]);
  const same = trace({ startTime: a.startTime + 9700, data: new Float64Array(100).fill(5) });
  const [r] = await readMiniseed(await encodeMiniseed3([a, same]), "r.mseed", { gapTolerance: 1 });
  assertEquals(r.joins, undefined);
  const e = await assertRejects(
    () => readMiniseed(bytes, "gap.mseed", { gapTolerance: 1 / 10 }),
    SampleError,
    "gap.mseed",
  );
  assertEquals((e as SampleError).reason, "gap");
  assert(e.message.includes("gap of 0.500 s"), e.message);
});

Deno.test("with a window, a break outside it keeps the run that covers it; one inside fails", async () => {
  // Segments of 10 s at 100 Hz: a [0, 10 s), b [10, 20 s) contiguous, c [80, 90 s) after a 60 s gap.
  const t0 = Date.UTC(2020, 4, 1, 12);
  const seg = (start: number, v: number) =>
    trace({ startTime: t0 + start * 1000, data: new Float64Array(1000).map((_, i) => v + i) });
  const bytes = await encodeMiniseed3([seg(0, 0), seg(10, 1000), seg(80, 5000)]);
  const opts = { gapTolerance: 1 };
  // No window: the 60 s gap fails the whole file, as before.
  const e0 = await assertRejects(() => readMiniseed(bytes, "g.mseed", opts), SampleError);
  assert(e0.message.includes("gap of 60.000 s"), e0.message);
  // A window inside the first run: that run, 20 s, whatever lies after the gap.
  const [a] = await readMiniseed(bytes, "g.mseed", { ...opts, window: [t0 + 2000, t0 + 15000] });
  assertEquals([a.startTime, a.data.length, a.data[1999]], [t0, 2000, 1999]);
  // A window in the last run.
  const [c] = await readMiniseed(bytes, "g.mseed", { ...opts, window: [t0 + 81000, t0 + 85000] });
  assertEquals([c.startTime, c.data.length, c.data[0]], [t0 + 80000, 1000, 5000]);
  // A window across the gap fails, naming it.
  const e1 = await assertRejects(
    () => readMiniseed(bytes, "g.mseed", { ...opts, window: [t0 + 15000, t0 + 85000] }),
    SampleError,
    "gap of 60.000 s",
  );
  assertEquals((e1 as SampleError).reason, "gap");
});

Deno.test("an overlap that repeats the samples already there merges; a different one fails", async () => {
  const a = trace({ data: new Float64Array(1000).map((_, i) => i) });
  // A duplicated 3 s stretch (samples 500..799) after the whole segment: overlap 5 s > 1 s.
  const dup = trace({ startTime: a.startTime + 5000, data: a.data.slice(500, 800) });
  const [m] = await readMiniseed(await encodeMiniseed3([a, dup]), "d.mseed", { gapTolerance: 1 });
  assertEquals(m.data, a.data);
  const other = trace({ startTime: a.startTime + 5000, data: a.data.slice(500, 800).fill(3) });
  const bad = await encodeMiniseed3([a, other]);
  await assertRejects(
    () => readMiniseed(bad, "d.mseed", { gapTolerance: 1 }),
    SampleError,
    "overlap of 5.000 s",
  );
});

Deno.test("a gap after a duplicated record is filled from the last sample, not from 0", async () => {
  // a: samples 1000..1099 (1 s at 100 Hz); a duplicate of a[50..80); c starts 0.2 s after a ends.
  const a = trace({ data: new Float64Array(100).map((_, i) => 1000 + i) });
  const dup = trace({ startTime: a.startTime + 500, data: a.data.slice(50, 80) });
  const c = trace({ startTime: a.startTime + 1200, data: new Float64Array(50).fill(1200) });
  const [m] = await readMiniseed(await encodeMiniseed3([a, dup, c]), "d.mseed", {
    gapTolerance: 1,
  });
  assertEquals(m.data.length, 100 + 20 + 50);
  // The fill runs from 1099 to 1200 in 21 steps, as without the duplicate.
  const [ref] = await readMiniseed(await encodeMiniseed3([a, c]), "d.mseed", { gapTolerance: 1 });
  assertEquals(m.data, ref.data);
  assertAlmostEquals(m.data[100], 1099 + 101 / 21, 1e-9);
});

Deno.test("bad miniSEED input fails with a SampleError that names the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const good = listEsec("waveforms", ".mseed")[0];
    const bytes = await Deno.readFile(good);
    const cases: [string, Uint8Array, string, string][] = [
      ["truncated.mseed", bytes.subarray(0, 4096 + 1000), "truncated", "truncated"],
      ["empty.mseed", new Uint8Array(0), "empty file", "empty"],
      [
        "text.mseed",
        new TextEncoder().encode("network,station\nXX,ABC\n".repeat(20)),
        "not miniseed",
        "expected a miniSEED",
      ],
    ];
    // Hour 60 in the first record's start time (BTime byte 24).
    const badTime = bytes.slice();
    badTime[24] = 60;
    cases.push(["bad_time.mseed", badTime, "bad time", "gives a start time that is no time"]);
    for (const [name, b, reason, text] of cases) {
      await Deno.writeFile(`${dir}/${name}`, b);
      const e = await assertRejects(() => readMiniseedFile(`${dir}/${name}`), SampleError, name);
      assertEquals((e as SampleError).reason, reason, name);
      assert(e.message.includes(text), e.message);
    }
    // A missing file is named once ('no such file', not Deno's text naming it again).
    const e = await assertRejects(() => readMiniseedFile(`${dir}/missing.mseed`), SampleError);
    assertEquals((e as SampleError).reason, "unreadable");
    assertEquals(e.message, `Cannot read ${dir}/missing.mseed: no such file`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("miniSEED 2 start times keep the header's 0.1 ms and add its time correction unless flagged applied", async () => {
  const dir = `${ESEC}/waveforms/3`;
  const name = [...Deno.readDirSync(dir)].map((e) => e.name).sort()[0];
  const original = await Deno.readFile(`${dir}/${name}`);
  const [base] = await readMiniseed(original, name);
  /** Every record's header patched: 0.5 ms later, a time correction, activity flags. */
  const patched = (correction: number, flags: number) => {
    const b = original.slice();
    const v = new DataView(b.buffer);
    let records = 0;
    for (let o = 0; o < b.length; records++) {
      const blk = v.getUint16(o + 46); // the ESEC files are big-endian
      assertEquals(v.getUint16(o + blk), 1000, "first blockette is 1000");
      assert(v.getUint16(o + 28) < 9995, "room for 0.5 ms in the BTime fraction");
      v.setUint16(o + 28, v.getUint16(o + 28) + 5); // BTime fraction, 0.1 ms units
      v.setUint8(o + 36, flags);
      v.setInt32(o + 40, correction); // 0.1 ms units
      o += 1 << v.getUint8(o + blk + 6);
    }
    assert(records > 1, `${records} records`);
    return b;
  };
  const [a] = await readMiniseed(patched(1234, 0), name);
  assertAlmostEquals(a.startTime - base.startTime, 123.9, 1e-3); // ms since 1970 resolve ~0.2 µs
  assertEquals(a.data, base.data); // the records still join into one trace
  const [b] = await readMiniseed(patched(1234, 0x02), name); // correction already applied
  assertAlmostEquals(b.startTime - base.startTime, 0.5, 1e-3);
});

Deno.test("miniSEED 3 start times keep nanoseconds below the millisecond", async () => {
  const t0 = Date.UTC(2020, 0, 1, 0, 0, 0, 7);
  const bytes = await encodeMiniseed3([
    {
      network: "SY",
      station: "AB",
      location: "00",
      channel: "HHZ",
      startTime: t0,
      samplingRate: 100,
      data: new Float64Array(9000).map((_, i) => i % 7),
    },
  ]);
  // The writer stores whole milliseconds; add 0.25 ms to every record's nanoseconds, and
  // store the record's new CRC-32C (bytes 28-31, computed with them zero).
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let records = 0;
  for (let o = 0; o < bytes.length; records++) {
    v.setUint32(o + 4, v.getUint32(o + 4, true) + 250_000, true);
    // Fixed header 40 bytes + identifier + extra headers + data.
    const size = 40 + v.getUint8(o + 33) + v.getUint16(o + 34, true) + v.getUint32(o + 36, true);
    v.setUint32(o + 28, 0, true);
    v.setUint32(o + 28, crc32c(bytes.subarray(o, o + size)), true);
    o += size;
  }
  assert(records > 1, `${records} records`);
  const [tr] = await readMiniseed(bytes, "x.mseed");
  assertEquals(tr.startTime, t0 + 0.25);
  assertEquals(tr.data.length, 9000);
});

Deno.test("records are located without decoding them, and the records of a span decode to the whole file's samples of that span (305 ESEC miniSEED 2 files, miniSEED 3)", async () => {
  const { indexRecords, recordsBetween, decodeSegments } = await import("../../lib/io/mseed.ts");
  let cut3 = 0;
  const check = async (bytes: Uint8Array, f: string) => {
    const recs = await indexRecords(bytes, f);
    let o = 0;
    for (const r of recs) {
      assertEquals(r.offset, o, f);
      assert(r.end > r.start, f);
      o += r.size;
    }
    assertEquals(o, bytes.length, f);
    if (recs.length < 4) return; // nothing to cut
    cut3++;
    const [full] = await decodeSegments(bytes, f);
    const fs = full.samplingRate, dt = 1000 / fs;
    assertAlmostEquals(recs[0].start, full.startTime, 1e-6, f);
    assertAlmostEquals(recs.at(-1)!.end, full.startTime + full.data.length * dt, 0.05 * dt, f);
    // The middle third of the file: whole records around it, as a file cut to them.
    const t0 = full.startTime + full.data.length * dt / 3, t1 = t0 + full.data.length * dt / 3;
    const cut = recordsBetween(bytes, recs, t0, t1);
    assert(cut.length < bytes.length, f);
    const [part] = await decodeSegments(cut, f);
    assert(part.startTime <= t0 && part.startTime + part.data.length * dt >= t1, f);
    // Record times are the headers' (0.1 ms in miniSEED 2, and clocks drift), not the first
    // record's + n·dt: the same samples, within a few hundredths of a sample.
    const k = (part.startTime - full.startTime) / dt;
    assertAlmostEquals(k, Math.round(k), 0.05, f);
    assertEquals(part.data, full.data.subarray(Math.round(k), Math.round(k) + part.data.length), f);
    // Every record: the same bytes back.
    assert(recordsBetween(bytes, recs, t0 - 1e9, t1 + 1e9) === bytes, f);
  };
  for (const f of listEsec("waveforms", ".mseed")) await check(await Deno.readFile(f), f);
  assert(cut3 > 100, `${cut3} ESEC files of 4 records or more`);
  const z = trace({
    data: new Float64Array(3000).map((_, i) => Math.round(1e5 * Math.sin(i / 7))),
  });
  const bytes = await encodeMiniseed3([z], 256);
  await check(bytes, "mem.mseed");
  // A span between records (a gap) takes the last record before it and the first after it.
  const recs = await indexRecords(bytes, "mem.mseed");
  const gap = recs.filter((_, i) => i !== 4 && i !== 5);
  const joined = new Uint8Array(gap.reduce((n, r) => n + r.size, 0));
  let o = 0;
  for (const r of gap) {
    joined.set(bytes.subarray(r.offset, r.offset + r.size), o);
    o += r.size;
  }
  const gapRecs = await indexRecords(joined, "gap.mseed");
  const around = recordsBetween(joined, gapRecs, recs[4].start + 1, recs[5].end - 1);
  const ids = (await indexRecords(around, "x")).map((r) => r.start);
  assertEquals(ids, [recs[3].start, recs[6].start]);
  // A span outside every channel's data (a pick a year off) takes each channel's last record
  // before it, so that the sample fails as outside its trace: before, only the first channel's
  // was kept, and a Z, N, E file's N and E were said to be missing.
  const zne = await encodeMiniseed3(["HHZ", "HHN", "HHE"].map((channel) => ({ ...z, channel })));
  const zneRecs = await indexRecords(zne, "zne.mseed");
  const late = z.startTime + 365 * 86_400_000;
  const past = await decodeSegments(recordsBetween(zne, zneRecs, late, late + 1000), "x");
  assertEquals(past.map((g) => g.channel).sort(), ["HHE", "HHN", "HHZ"]);
  // So too where another channel's records cover the span (N and E ending before Z's last third).
  const short = { ...z, data: z.data.subarray(0, 1000) };
  const mixed = await encodeMiniseed3([
    z,
    { ...short, channel: "HHN" },
    { ...short, channel: "HHE" },
  ], 256);
  const t = z.startTime + 2500 * 1000 / z.samplingRate;
  const some = await decodeSegments(
    recordsBetween(mixed, await indexRecords(mixed, "m.mseed"), t, t + 1000),
    "x",
  );
  assertEquals(some.map((g) => g.channel).sort(), ["HHE", "HHN", "HHZ"]);
  // Damaged files fail as decoding them does.
  await assertRejects(() => indexRecords(new Uint8Array(0), "e.mseed"), SampleError, "empty");
  await assertRejects(
    () => indexRecords(bytes.subarray(0, bytes.length - 10), "t.mseed"),
    SampleError,
    "Cannot read t.mseed: file is truncated",
  );
  const esec = await Deno.readFile(listEsec("waveforms", ".mseed")[0]);
  await assertRejects(
    () => indexRecords(esec.subarray(0, esec.length - 100), "t2.mseed"),
    SampleError,
    "Cannot read t2.mseed: file is truncated",
  );
  await assertRejects(
    () => indexRecords(new TextEncoder().encode("x".repeat(100)), "n.mseed"),
    SampleError,
    "expected a miniSEED 2 or 3 record header",
  );
});

Deno.test("a damaged miniSEED file fails as truncated, naming the file, the byte and what was expected, when decoded whole and when indexed", async () => {
  const { decodeSegments, indexRecords } = await import("../../lib/io/mseed.ts");
  const esec = await Deno.readFile(listEsec("waveforms", ".mseed")[0]);
  const recs = await indexRecords(esec, "e.mseed");
  const size = recs[0].size, at = recs[1].offset;
  // miniSEED 2: a record cut short, and a tail too short for a header.
  const cut = esec.subarray(0, at + 100);
  const tail = new Uint8Array(at + 20);
  tail.set(esec.subarray(0, at + 20));
  const cases2: [Uint8Array, string][] = [
    [
      cut,
      `Cannot read c.mseed: file is truncated: record at byte ${at} needs ${size} bytes, 100 remain`,
    ],
    [tail, "Cannot read c.mseed: file is truncated: 20 bytes after the last record"],
  ];
  for (const [bytes, msg] of cases2) {
    const e = await assertRejects(() => decodeSegments(bytes, "c.mseed"), SampleError, msg);
    assertEquals((e as SampleError).reason, "truncated");
  }
  await assertRejects(
    () => indexRecords(tail, "c.mseed"),
    SampleError,
    `Cannot read c.mseed: file is truncated: record at byte ${at} needs 48 bytes, 20 remain`,
  );
  // miniSEED 3: a short tail, and bytes that are not a record where the next one should start.
  const ms3 = await encodeMiniseed3([sineTrace()], 256);
  const withTail = (extra: Uint8Array) => {
    const b = new Uint8Array(ms3.length + extra.length);
    b.set(ms3);
    b.set(extra, ms3.length);
    return b;
  };
  const r3 = await indexRecords(ms3, "m3.mseed");
  await assertRejects(
    () => decodeSegments(ms3.subarray(0, ms3.length - 10), "m3.mseed"),
    SampleError,
    `Cannot read m3.mseed: file is truncated: record at byte ${r3.at(-1)!.offset} needs ${
      r3.at(-1)!.size
    } bytes, ${r3.at(-1)!.size - 10} remain`,
  );
  await assertRejects(
    () => decodeSegments(withTail(new TextEncoder().encode("x".repeat(60))), "m3.mseed"),
    SampleError,
    `Cannot read m3.mseed: expected a miniSEED 3 record header at byte ${ms3.length}`,
  );
  await assertRejects(
    () => indexRecords(withTail(new Uint8Array(10)), "m3.mseed"),
    SampleError,
    `Cannot read m3.mseed: file is truncated: record at byte ${ms3.length} needs 40 bytes, 10 remain`,
  );
  await assertRejects(
    () => indexRecords(withTail(new TextEncoder().encode("x".repeat(60))), "m3.mseed"),
    SampleError,
    `Cannot read m3.mseed: expected a miniSEED 3 record header at byte ${ms3.length}`,
  );
});

Deno.test("a damaged record fails as corrupt, naming the record: the Steim integrity check (miniSEED 2) and the CRC-32C (miniSEED 3)", async () => {
  const { decodeSegments } = await import("../../lib/io/mseed.ts");
  // The check value of CRC-32C (Castagnoli).
  assertEquals(crc32c(new TextEncoder().encode("123456789")), 0xE3069283);
  // One bit flipped in the second record's Steim 2 data frames: seisplotjs decoded it to other
  // samples without a word (the last one 16777385 instead of 169).
  const name = "TA.M02C..BHZ__20140920T204808Z__20140920T205108Z.mseed";
  const esec = await Deno.readFile(`${ESEC}waveforms/3/${name}`);
  const flipped = esec.slice();
  flipped[512 + 64 + 4] ^= 1;
  const e = await assertRejects(
    () => decodeSegments(flipped, "f.mseed"),
    SampleError,
    "Cannot read f.mseed: record at byte 512 (TA.M02C..BHZ, 2014-09-20T20:48:11.175Z): it fails " +
      "the Steim 2 integrity check: its 692 samples end at 16777385, its reverse integration " +
      "constant says 169",
  );
  assertEquals((e as SampleError).reason, "corrupt");
  // With onCorrupt, the record is left out (a gap of its 692 samples) and reported; the rest
  // decodes as before.
  const left: CorruptRecord[] = [];
  const segs = await decodeSegments(flipped, "f.mseed", { onCorrupt: (r) => left.push(r) });
  const whole = (await decodeSegments(esec, "e.mseed"))[0].data;
  assertEquals(left.map((r) => [r.offset, r.error.reason]), [[512, "corrupt"]]);
  assertEquals(segs.length, 2, "split at the gap");
  assertEquals(segs[0].data.length + segs[1].data.length, whole.length - 692);
  assertEquals(Array.from(segs[1].data.slice(-5)), Array.from(whole.slice(-5)));
  assertEquals(segs[1].startTime, left[0].end);
  // A damaged header: its first blockette's offset (bytes 46-47) pointing past the record, and a
  // record length of 2^30 bytes (blockette 1000's exponent, byte 54 of the record).
  for (
    const [at, v, msg] of [
      [46, 0xff, "the record at byte 512 does not parse: "],
      [54, 30, "the record at byte 512 gives a record length of 1073741824 bytes: expected 64 to"],
    ] as const
  ) {
    const h = esec.slice();
    h[512 + at] = v;
    const eh = await assertRejects(() => decodeSegments(h, "h.mseed"), SampleError, msg);
    assertEquals((eh as SampleError).reason, "corrupt");
  }
  // Every ESEC file passes the check (the first test decodes all 305); this one intact too.
  assertEquals((await decodeSegments(esec, "e.mseed")).length, 1);
  // miniSEED 3: the writer stores a CRC-32C, which the reader checks.
  const ms3 = await encodeMiniseed3([sineTrace()], 256);
  const bad3 = ms3.slice();
  bad3[100] ^= 4;
  const e3 = await assertRejects(
    () => decodeSegments(bad3, "m3.mseed"),
    SampleError,
    "Cannot read m3.mseed: the record at byte 0 (FDSN:XX_S__H_H_Z, 2024-01-01T00:00:00.000Z) " +
      "fails its CRC-32C check: stored 0x",
  );
  assertEquals((e3 as SampleError).reason, "corrupt");
  assertEquals((await decodeSegments(ms3, "m3.mseed"))[0].data.length, 2000);
});

Deno.test("a damaged miniSEED 2 header or Steim frame is named by its field and what was expected, not by seisplotjs's or DataView's words", async () => {
  const { decodeSegments } = await import("../../lib/io/mseed.ts");
  const name = "TA.M02C..BHZ__20140920T204808Z__20140920T205108Z.mseed";
  const esec = await Deno.readFile(`${ESEC}waveforms/3/${name}`);
  const at = "Cannot read f.mseed: the record at byte 512";
  const id = "(TA.M02C..BHZ, 2014-09-20T20:48:11.175Z)";
  // [byte of the second record, value, reason, message]
  const cases: [number, number, string, string][] = [
    // The data offset (bytes 44-45, 64) made 1: 'does not parse: Invalid DataView length -47'.
    [
      45,
      1,
      "corrupt",
      `${at} does not parse: the data offset (bytes 44-45) is 1: expected 56 or more, past the last blockette, at byte 48 (a damaged header)`,
    ],
    // Made 576, past the 512-byte record: 'its -64 bytes of data (Steim2) hold at most -105'.
    [
      44,
      2,
      "corrupt",
      `${at} (TA.M02C..BHZ) gives a data offset (bytes 44-45) of 576: expected 48 to 511, inside its 512-byte record (a damaged header)`,
    ],
    // Two blockettes declared (byte 39) where there is one: 'Invalid DataView length 65471'.
    [
      39,
      2,
      "corrupt",
      `${at} does not parse: byte 39 declares 2 blockettes: blockette 2 would start at byte 64, in the data (the data offset, bytes 44-45, is 64) (a damaged header)`,
    ],
    // A blockette's next offset (bytes 50-51 of the record) before its own end.
    [
      51,
      1,
      "corrupt",
      `${at} does not parse: blockette 1 at byte 48 gives the next at byte 1: expected 56 or more (a damaged header)`,
    ],
    // Blockette 1000's word order (byte 53) made little-endian: 'Unknown case currNibble=3 dnib=3
    // for chunk 0 offset 0, nibbles: 4294967043'.
    [
      53,
      0,
      "corrupt",
      `Cannot read f.mseed: record at byte 512 ${id}: its Steim 2 data do not decode: data frame 0, word 0 (byte 576): nibble 3 with dnib 3 is not a valid Steim 2 code (a damaged data frame, or data in another encoding or word order than blockette 1000 gives)`,
    ],
    // 694 samples declared where the frames hold 692: seisplotjs's 'Number of samples
    // decompressed doesn't match number in header: 692 !== 694'.
    [
      31,
      182,
      "corrupt",
      `Cannot read f.mseed: record at byte 512 ${id}: its Steim 2 data do not decode: its frames hold 692 samples: the header declares 694 (a damaged header or data frame)`,
    ],
    // A channel code of 2 characters failed the whole file: 'cannot decode miniSEED 2 records:
    // channel code must be length 3 or have 3 items separated by '_': HZ'.
    [
      15,
      0,
      "corrupt",
      `${at} (TA.M02C..HZ) gives channel code 'HZ' (bytes 15-17): expected 3 characters (a damaged header)`,
    ],
    // DWWSSN (encoding 32) with more samples than its data hold: 'cannot decode miniSEED 2
    // records: Not enough bytes for 692 16 bit data points, only 448 bytes.'
    [
      52,
      32,
      "corrupt",
      `${at} (TA.M02C..BHZ) declares 692 samples: its 448 bytes of data (DWWSSN) hold at most 224 (a damaged header)`,
    ],
    // An hour of -128 (a signed byte): luxon's 'you specified -128 (of type number) as a hour'.
    [
      24,
      128,
      "bad time",
      `${at} (TA.M02C..BHZ) gives a start time that is no time: year 2014, day 263, -128:48:11 and 175 ms (a damaged header)`,
    ],
  ];
  for (const [byte, v, reason, message] of cases) {
    const b = esec.slice();
    b[512 + byte] = v;
    const e = await assertRejects(() => decodeSegments(b, "f.mseed"), SampleError);
    assertEquals([(e as SampleError).reason, e.message], [reason, message], `byte ${byte} = ${v}`);
    // With onCorrupt, the record alone is left out, with the same words.
    const left: CorruptRecord[] = [];
    await decodeSegments(b, "f.mseed", { onCorrupt: (r) => left.push(r) });
    assertEquals(left.length, 1, `byte ${byte} = ${v}`);
    assert(left[0].error.message.startsWith(message), left[0].error.message);
  }
});

/** 2,000 integer samples of a sine at 100 Hz, XX.S..HHZ from 2024-01-01. */
function sineTrace(): Trace {
  return {
    network: "XX",
    station: "S",
    location: "",
    channel: "HHZ",
    startTime: Date.UTC(2024, 0, 1),
    samplingRate: 100,
    data: new Float64Array(2000).map((_, i) => Math.round(1e4 * Math.sin(i / 5))),
  };
}

Deno.test("a damaged record header: without onDamaged the file fails as corrupt; with it, the reader skips to the next good record (miniSEED 2: a header of the same channel; miniSEED 3: a record that passes its CRC) and reports the bytes and time skipped", async () => {
  const { decodeSegments, indexRecords } = await import("../../lib/io/mseed.ts");
  // miniSEED 3: the second record's magic bytes overwritten.
  const ms3 = await encodeMiniseed3([sineTrace()], 256);
  const recs3 = await indexRecords(ms3, "m3.mseed");
  assert(recs3.length > 3, `${recs3.length} records`);
  const [r1, r2] = [recs3[1], recs3[2]];
  const bad3 = ms3.slice();
  bad3.fill(0x20, r1.offset, r1.offset + 8);
  const e3 = await assertRejects(
    () => indexRecords(bad3, "m3.mseed"),
    SampleError,
    `Cannot read m3.mseed: expected a miniSEED 3 record header at byte ${r1.offset}`,
  );
  assertEquals((e3 as SampleError).reason, "corrupt");
  const skipped: (CorruptRecord & { size: number })[] = [];
  const spans = await indexRecords(bad3, "m3.mseed", (d) => skipped.push(d));
  assertEquals(spans.map((r) => r.offset), recs3.filter((r) => r !== r1).map((r) => r.offset));
  assertEquals(skipped.map((d) => [d.offset, d.size, d.start, d.end]), [
    [r1.offset, r2.offset - r1.offset, recs3[0].end, r2.start],
  ]);
  assert(
    skipped[0].error.message.endsWith(
      `; ${r1.size} bytes skipped (${new Date(recs3[0].end).toISOString()} .. ${
        new Date(r2.start).toISOString()
      } missing)`,
    ),
    skipped[0].error.message,
  );
  // Decoded whole with onCorrupt: the two good runs around the gap.
  const left: CorruptRecord[] = [];
  const segs = await decodeSegments(bad3, "m3.mseed", { onCorrupt: (r) => left.push(r) });
  assertEquals(left.map((r) => r.offset), [r1.offset]);
  assertEquals(segs.map((x) => x.startTime), [recs3[0].start, r2.start]);
  // miniSEED 2: an ESEC file's second record's first blockette offset (bytes 46-47) damaged.
  const esec = await Deno.readFile(
    `${ESEC}waveforms/3/TA.M02C..BHZ__20140920T204808Z__20140920T205108Z.mseed`,
  );
  const recs2 = await indexRecords(esec, "e.mseed");
  const bad2 = esec.slice();
  bad2.fill(0xff, 512 + 46, 512 + 48);
  await assertRejects(() => indexRecords(bad2, "e.mseed"), SampleError, "the record at byte 512");
  const skipped2: CorruptRecord[] = [];
  const spans2 = await indexRecords(bad2, "e.mseed", (d) => skipped2.push(d));
  assertEquals(
    spans2.map((r) => r.offset),
    recs2.filter((r) => r.offset !== 512).map((r) => r.offset),
  );
  assertEquals(skipped2.map((d) => [d.offset, d.start, d.end]), [[
    512,
    recs2[0].end,
    recs2[2].start,
  ]]);
  // A file cut inside its last record: truncated without onDamaged; with it, its complete
  // records are kept and the cut one is reported as truncated, its time unknown (to the end).
  await assertRejects(
    () => indexRecords(ms3.subarray(0, ms3.length - 10), "m3.mseed"),
    SampleError,
    "file is truncated",
  );
  const cut: { offset: number; start: number; end: number; error: SampleError }[] = [];
  const whole3 = await indexRecords(ms3, "m3.mseed");
  const kept3 = await indexRecords(ms3.subarray(0, ms3.length - 10), "m3.mseed", (d) => {
    cut.push(d);
  });
  assertEquals(kept3, whole3.slice(0, -1));
  assertEquals(cut.length, 1);
  assertEquals(cut[0].offset, whole3.at(-1)!.offset);
  assertEquals([cut[0].start, cut[0].end], [whole3.at(-2)!.end, Infinity]);
  assertEquals(cut[0].error.reason, "truncated");
  assert(cut[0].error.message.includes("the last"), cut[0].error.message);
});

Deno.test("a record header whose start time is no time (day 367, hour 25) is a bad time, the record skipped and named, not rolled over to another day", async () => {
  const { indexRecords } = await import("../../lib/io/mseed.ts");
  // miniSEED 2: an ESEC file's second record (at byte 512) given hour 25 (byte 24), or day 367
  // (bytes 22-23). Before, Date.UTC placed the record an hour or a day later: a gap in the
  // trace, and its samples failed as 'gap', 'too short' or 'pick outside trace', or took the
  // record's data at the wrong time.
  const esec = await Deno.readFile(
    `${ESEC}waveforms/3/TA.M02C..BHZ__20140920T204808Z__20140920T205108Z.mseed`,
  );
  const recs2 = await indexRecords(esec, "e.mseed");
  for (
    const [edit, shown] of [
      [(v: DataView) => v.setUint8(512 + 24, 25), "year 2014, day 263, 25:"],
      [(v: DataView) => v.setUint16(512 + 22, 367), "year 2014, day 367, 20:"],
    ] as const
  ) {
    const bad = esec.slice();
    edit(new DataView(bad.buffer));
    const e = await assertRejects(() => indexRecords(bad, "e.mseed"), SampleError);
    assertEquals((e as SampleError).reason, "bad time");
    assert(
      e.message.startsWith(
        `Cannot read e.mseed: the record at byte 512 (TA.M02C..BHZ) gives a start time that is ` +
          `no time: ${shown}`,
      ),
      e.message,
    );
    const skipped: CorruptRecord[] = [];
    const spans = await indexRecords(bad, "e.mseed", (d) => skipped.push(d));
    assertEquals(
      spans.map((r) => r.offset),
      recs2.filter((r) => r.offset !== 512).map((r) => r.offset),
    );
    assertEquals(skipped.map((d) => [d.offset, d.error.reason]), [[512, "bad time"]]);
  }
  // The first record damaged: the data before the first good record are missing (before, the
  // message gave a span from that record's start to itself, 'T .. T missing').
  const first = esec.slice();
  new DataView(first.buffer).setUint8(24, 25);
  const skippedFirst: CorruptRecord[] = [];
  await indexRecords(first, "e.mseed", (d) => skippedFirst.push(d));
  // Between two channels' records (miniSEED 3: Z's last and N's first), the damaged bytes'
  // time is unknown: both neighbours are named (before, a span from the end of Z's data back to
  // the start of N's, 'T2 .. T1 missing').
  const zn = await encodeMiniseed3(
    ["HHZ", "HHN"].map((channel) => ({ ...sineTrace(), channel })),
    256,
  );
  const znRecs = await indexRecords(zn, "zn.mseed");
  const k = znRecs.findIndex((r) => r.channel !== znRecs[0].channel);
  const znBad = zn.slice();
  znBad.fill(0x20, znRecs[k].offset, znRecs[k].offset + 8);
  const between: CorruptRecord[] = [];
  await indexRecords(znBad, "zn.mseed", (d) => between.push(d));
  const iso = (t: number) => new Date(t).toISOString();
  assert(
    between[0].error.message.endsWith(
      ` bytes skipped (their time unknown: between ${znRecs[k - 1].channel}'s data ending ` +
        `${iso(znRecs[k - 1].end)} and ${znRecs[k + 1].channel}'s starting ${
          iso(znRecs[k + 1].start)
        })`,
    ),
    between[0].error.message,
  );
  assert(
    skippedFirst[0].error.message.endsWith(
      `; 512 bytes skipped (the data before ${new Date(recs2[1].start).toISOString()} missing)`,
    ),
    skippedFirst[0].error.message,
  );
  // miniSEED 3: day of year 400 with the CRC made to match (a writer's bug, not a flipped bit).
  const ms3 = await encodeMiniseed3([sineTrace()], 256);
  const recs3 = await indexRecords(ms3, "m3.mseed");
  const r1 = recs3[1];
  const bad3 = ms3.slice();
  const v = new DataView(bad3.buffer);
  v.setUint16(r1.offset + 10, 400, true);
  v.setUint32(r1.offset + 28, 0, true);
  v.setUint32(r1.offset + 28, crc32c(bad3.subarray(r1.offset, r1.offset + r1.size)), true);
  const skipped3: CorruptRecord[] = [];
  await indexRecords(bad3, "m3.mseed", (d) => skipped3.push(d));
  assertEquals(skipped3.map((d) => d.offset), [r1.offset]);
  assert(
    skipped3[0].error.message.includes("gives a start time that is no time: year"),
    skipped3[0].error.message,
  );
});

/**
 * A little-endian miniSEED 2 record of 512 bytes (int32, 100 Hz, XX.ABC.00.HHZ) whose header gives
 * `year`, day 1, 00:00:00, and 112 samples `i` (so that seisplotjs reads it little-endian, as it
 * does any year that big-endian is not 1960-2055).
 */
function le2Record(year: number): Uint8Array {
  const b = new Uint8Array(512);
  const v = new DataView(b.buffer);
  b.set(new TextEncoder().encode("000001D ABC  00HHZXX"));
  v.setUint16(20, year, true);
  v.setUint16(22, 1, true);
  v.setUint16(30, 112, true);
  v.setInt16(32, 100, true);
  v.setInt16(34, 1, true);
  v.setUint8(39, 1);
  v.setUint16(44, 64, true);
  v.setUint16(46, 48, true);
  v.setUint16(48, 1000, true);
  b.set([3, 0, 9], 52);
  for (let i = 0; i < 112; i++) v.setInt32(64 + 4 * i, i, true);
  return b;
}

Deno.test("a record header whose year is before 1900 or past 9999 is a bad time, the record skipped and named (miniSEED 2 and 3)", async () => {
  const { decodeSegments, indexRecords } = await import("../../lib/io/mseed.ts");
  const [good] = await decodeSegments(le2Record(2024), "le.mseed");
  assertEquals([good.startTime, good.data.length], [Date.UTC(2024, 0, 1), 112]);
  for (const year of [0, 1899, 10000, 65535]) {
    const bytes = new Uint8Array(1024);
    bytes.set(le2Record(year));
    bytes.set(le2Record(2024), 512);
    const skipped: CorruptRecord[] = [];
    const spans = await indexRecords(bytes, "le.mseed", (d) => skipped.push(d));
    assertEquals(spans.map((r) => r.offset), [512]);
    assertEquals(skipped.map((d) => [d.offset, d.error.reason]), [[0, "bad time"]]);
    assert(
      skipped[0].error.message.startsWith(
        "Cannot read le.mseed: the record at byte 0 (XX.ABC.00.HHZ) gives a start time that is " +
          `no time: year ${year}, day 1, 00:00:00 and 0 ms (expected a year from 1900 to 9999)`,
      ),
      skipped[0].error.message,
    );
  }
  // miniSEED 3: the year 10000 with the CRC made to match.
  const ms3 = await encodeMiniseed3([sineTrace()], 256);
  const r1 = (await indexRecords(ms3, "m3.mseed"))[1];
  const bad3 = ms3.slice();
  const v = new DataView(bad3.buffer);
  v.setUint16(r1.offset + 8, 10000, true);
  v.setUint32(r1.offset + 28, 0, true);
  v.setUint32(r1.offset + 28, crc32c(bad3.subarray(r1.offset, r1.offset + r1.size)), true);
  const e = await assertRejects(() => indexRecords(bad3, "m3.mseed"), SampleError);
  assertEquals((e as SampleError).reason, "bad time");
  assert(e.message.includes("no time: year 10000, day 1, "), e.message);
  const left: CorruptRecord[] = [];
  const segs = await decodeSegments(bad3, "m3.mseed", { onCorrupt: (r) => left.push(r) });
  assertEquals(left.map((r) => r.offset), [r1.offset]);
  assert(segs.every((s) => new Date(s.startTime).getUTCFullYear() === 2024));
});

Deno.test("a record header that declares more samples than its data can hold is a damaged header, skipped and named", async () => {
  const { indexRecords } = await import("../../lib/io/mseed.ts");
  // miniSEED 2: an ESEC file's (Steim 2, 512-byte records) second record given 65535 samples
  // (bytes 30-31). Before, its samples failed as 'its Steim 2 data do not decode: Invalid array
  // buffer length'.
  const esec = await Deno.readFile(
    `${ESEC}waveforms/3/TA.M02C..BHZ__20140920T204808Z__20140920T205108Z.mseed`,
  );
  const bad = esec.slice();
  new DataView(bad.buffer).setUint16(512 + 30, 65535);
  const e = await assertRejects(() => indexRecords(bad, "e.mseed"), SampleError);
  assertEquals((e as SampleError).reason, "corrupt");
  assertEquals(
    e.message,
    "Cannot read e.mseed: the record at byte 512 (TA.M02C..BHZ) declares 65535 samples: its 448 " +
      "bytes of data (Steim2) hold at most 735 (a damaged header)",
  );
  const skipped: CorruptRecord[] = [];
  await indexRecords(bad, "e.mseed", (d) => skipped.push(d));
  assertEquals(skipped.map((d) => d.offset), [512]);
  // miniSEED 3 (int32 data): 2^32 - 1 samples, the CRC made to match. Before, the whole file
  // failed with seisplotjs's 'Not enough bytes for 4294967295 32 bit data points'.
  const ms3 = await encodeMiniseed3([sineTrace()], 256);
  const r1 = (await indexRecords(ms3, "m3.mseed"))[1];
  const bad3 = ms3.slice();
  const v = new DataView(bad3.buffer);
  v.setUint32(r1.offset + 24, 0xffffffff, true);
  v.setUint32(r1.offset + 28, 0, true);
  v.setUint32(r1.offset + 28, crc32c(bad3.subarray(r1.offset, r1.offset + r1.size)), true);
  const skipped3: CorruptRecord[] = [];
  await indexRecords(bad3, "m3.mseed", (d) => skipped3.push(d));
  assertEquals(skipped3.map((d) => d.offset), [r1.offset]);
  assert(
    skipped3[0].error.message.includes(
      "declares 4294967295 samples: its 1024 bytes of data (32-bit integers) hold at most 256",
    ),
    skipped3[0].error.message,
  );
});

Deno.test("a miniSEED 3 record that passes its CRC but that seisplotjs cannot read fails alone, naming its byte", async () => {
  const { decodeSegments, indexRecords } = await import("../../lib/io/mseed.ts");
  // The second record's source id made one without 'FDSN:' (the CRC made to match: a writer's
  // bug). Before, the whole file failed as 'cannot decode miniSEED 3 records: sourceid must
  // start with FDSN:', naming neither the record nor its byte.
  const ms3 = await encodeMiniseed3([sineTrace()], 256);
  const recs = await indexRecords(ms3, "m3.mseed");
  const r1 = recs[1];
  const bad = ms3.slice();
  const v = new DataView(bad.buffer);
  bad.fill(0x58, r1.offset + 40, r1.offset + 45); // "XXXXX" for "FDSN:"
  v.setUint32(r1.offset + 28, 0, true);
  v.setUint32(r1.offset + 28, crc32c(bad.subarray(r1.offset, r1.offset + r1.size)), true);
  const e = await assertRejects(() => decodeSegments(bad, "m3.mseed"), SampleError);
  assertEquals((e as SampleError).reason, "corrupt");
  assert(
    e.message.startsWith(`Cannot read m3.mseed: the record at byte ${r1.offset} (`),
    e.message,
  );
  assert(e.message.includes(") does not decode: "), e.message);
  const left: CorruptRecord[] = [];
  const segs = await decodeSegments(bad, "m3.mseed", { onCorrupt: (r) => left.push(r) });
  assertEquals(left.map((r) => r.offset), [r1.offset]);
  assertEquals(segs.map((x) => x.startTime), [recs[0].start, recs[2].start]);
});

/** The first ESEC miniSEED 2 file (big-endian, one channel, blockette 1000 at byte 48 of each
 * record, data from byte 64) and its records' offsets. */
async function esecRecords(): Promise<{ bytes: Uint8Array; offsets: number[]; name: string }> {
  const dir = `${ESEC}/waveforms/3`;
  const name = [...Deno.readDirSync(dir)].map((e) => e.name).sort()[0];
  const bytes = await Deno.readFile(`${dir}/${name}`);
  const v = new DataView(bytes.buffer);
  const offsets: number[] = [];
  for (let o = 0; o < bytes.length; o += 1 << v.getUint8(o + 48 + 6)) {
    assertEquals([v.getUint16(o + 46), v.getUint16(o + 48), v.getUint16(o + 44)], [48, 1000, 64]);
    offsets.push(o);
  }
  assert(offsets.length >= 4, `${offsets.length} records`);
  return { bytes, offsets, name };
}

Deno.test("records join as libmseed joins them: a sampling rate that changes, or a time correction that changes, between records starts a new segment", async () => {
  const { decodeSegments } = await import("../../lib/io/mseed.ts");
  const { bytes, offsets, name } = await esecRecords();
  const [base] = await decodeSegments(bytes, name);
  const fs = base.samplingRate;
  assertEquals(fs, 40);
  // Records from the third on at half the rate (factor 20, multiplier 1): seisplotjs's merge
  // took them as one trace at the first rate.
  const halved = bytes.slice();
  const v = new DataView(halved.buffer);
  for (const o of offsets.slice(2)) {
    v.setInt16(o + 32, fs / 2);
    v.setInt16(o + 34, 1);
  }
  // (Their start times still step as at 40 Hz, so at 20 Hz each overlaps the next: a segment
  // each.)
  const segs = await decodeSegments(halved, name);
  assertEquals(segs.map((s) => s.samplingRate), [fs, ...offsets.slice(2).map(() => fs / 2)]);
  const n2 = segs[0].data.length;
  assertEquals(segs[0].data, base.data.subarray(0, n2));
  assertEquals(segs[1].startTime, base.startTime + n2 * 1000 / fs);
  await assertRejects(
    () => readMiniseed(halved, name),
    SampleError,
    `sampling rate changes from ${fs} to ${fs / 2} Hz`,
  );
  // A 2 s time correction (not flagged applied) from the third record on: each record is
  // placed by its own correction, so the data jump 2 s there, a gap (seisplotjs applied the
  // first record's alone).
  const corrected = bytes.slice();
  const w = new DataView(corrected.buffer);
  for (const o of offsets.slice(2)) w.setInt32(o + 40, 20000);
  const c = await decodeSegments(corrected, name);
  assertEquals(c.length, 2);
  assertEquals(c[0].startTime, base.startTime);
  assertAlmostEquals(c[1].startTime, base.startTime + n2 * 1000 / fs + 2000, 1e-6);
  await assertRejects(() => readMiniseed(corrected, name), SampleError, "gap of 2.000 s");
  assertEquals(
    (await readMiniseed(corrected, name, { gapTolerance: 3 }))[0].data.length,
    base.data.length + 2 * fs,
  );
});

Deno.test("blockette 1001's microseconds are signed (-50..+49), as libmseed reads them", async () => {
  const { decodeSegments } = await import("../../lib/io/mseed.ts");
  const { bytes, offsets, name } = await esecRecords();
  const [base] = await decodeSegments(bytes, name);
  /** Every record with a blockette 1001 of `us` µs in the free bytes 56..63 after B1000. */
  const withUs = (us: number) => {
    const b = bytes.slice();
    const v = new DataView(b.buffer);
    for (const o of offsets) {
      v.setUint8(o + 39, 2); // two blockettes
      v.setUint16(o + 50, 56); // B1000's next blockette
      v.setUint16(o + 56, 1001);
      v.setUint16(o + 58, 0);
      v.setUint8(o + 60, 100); // timing quality
      v.setInt8(o + 61, us);
      v.setUint8(o + 62, 0);
      v.setUint8(o + 63, 7); // frame count
    }
    return b;
  };
  const [minus] = await decodeSegments(withUs(-40), name);
  assertAlmostEquals(minus.startTime - base.startTime, -0.04, 1e-3); // ms resolve ~0.2 µs
  assertEquals(minus.data, base.data);
  const [plus] = await decodeSegments(withUs(40), name);
  assertAlmostEquals(plus.startTime - base.startTime, 0.04, 1e-3);
  // The byte 0x80 is -128 µs (int8), not +128.
  const [low] = await decodeSegments(withUs(-128), name);
  assertAlmostEquals(low.startTime - base.startTime, -0.128, 1e-3);
});

Deno.test("text records (LOG) are left out; a record in an encoding seisdec cannot decode fails as unsupported, naming it, or with onCorrupt is left out as its own channel's", async () => {
  const { decodeSegments } = await import("../../lib/io/mseed.ts");
  const { bytes, offsets, name } = await esecRecords();
  const [base] = await decodeSegments(bytes, name);
  const size = offsets[1] - offsets[0];
  /** The first record, as channel `cha` in encoding `enc`, inserted after the second. */
  const withRecord = (cha: string, enc: number) => {
    const rec = bytes.slice(0, size);
    rec.set(new TextEncoder().encode(cha.padEnd(3)), 15);
    rec[48 + 4] = enc;
    const b = new Uint8Array(bytes.length + size);
    b.set(bytes.subarray(0, offsets[2]));
    b.set(rec, offsets[2]);
    b.set(bytes.subarray(offsets[2]), offsets[2] + size);
    return b;
  };
  // A datalogger's log channel among the data: the data read as before.
  const log = await decodeSegments(withRecord("LOG", 0), name);
  assertEquals(log.length, 1);
  assertEquals(log[0].data, base.data);
  // SRO (30): named, with the record's byte, channel and encoding.
  const sro = withRecord("BHX", 30);
  const e = await assertRejects(() => decodeSegments(sro, name), SampleError) as SampleError;
  assertEquals(e.reason, "unsupported");
  assert(
    e.message.includes(`the record at byte ${offsets[2]} (${base.network}.${base.station}..BHX`) &&
      e.message.includes("is in encoding 30 (SRO), which seisdec cannot decode"),
    e.message,
  );
  const left: CorruptRecord[] = [];
  const segs = await decodeSegments(sro, name, { onCorrupt: (r) => left.push(r) });
  assertEquals(segs.map((s) => s.channel), [base.channel]);
  assertEquals(segs[0].data, base.data);
  assertEquals(left.map((r) => [r.offset, r.channel, r.error.reason]), [
    [offsets[2], `${base.network}.${base.station}..BHX`, "unsupported"],
  ]);
});

Deno.test("a record without blockette 1000, or without a sampling rate, is named as such; a location of -- reads as empty", async () => {
  const { decodeSegments } = await import("../../lib/io/mseed.ts");
  const { bytes, name } = await esecRecords();
  const noB1000 = bytes.slice();
  new DataView(noB1000.buffer).setUint8(39, 0); // the first record lists no blockette
  await assertRejects(
    () => decodeSegments(noB1000, name),
    SampleError,
    "the record at byte 0 (",
  ).then((e) => assert(e.message.includes("has no blockette 1000"), e.message));
  const noRate = bytes.slice();
  new DataView(noRate.buffer).setInt16(32, 0);
  const e = await assertRejects(() => decodeSegments(noRate, name), SampleError);
  assert(e.message.includes("gives a sample rate factor of 0 and multiplier of 1"), e.message);
  const dashes = bytes.slice();
  const v = new DataView(dashes.buffer);
  for (let o = 0; o < dashes.length; o += 1 << v.getUint8(o + 54)) dashes.set([45, 45], o + 13);
  const [d] = await decodeSegments(dashes, name);
  assertEquals(d.location, "");
});

Deno.test("miniSEED 3: a record in an encoding seisdec cannot decode fails as unsupported, naming it, or with onCorrupt is left out as its own channel's", async () => {
  const { decodeSegments, indexRecords } = await import("../../lib/io/mseed.ts");
  const z = sineTrace();
  const n = { ...z, channel: "HHN" };
  const bytes = await encodeMiniseed3([z, n]);
  const recs = await indexRecords(bytes, "m3.mseed");
  // The first HHN record: its identifier ends in H_H_N.
  const at = recs.find((r) =>
    new TextDecoder().decode(bytes.subarray(r.offset + 40, r.offset + 40 + bytes[r.offset + 33]))
      .endsWith("H_H_N")
  )!;
  const bad = bytes.slice();
  bad[at.offset + 15] = 30; // SRO
  const v = new DataView(bad.buffer, at.offset, at.size);
  v.setUint32(28, 0, true);
  v.setUint32(28, crc32c(bad.subarray(at.offset, at.offset + at.size)), true);
  const e = await assertRejects(() => decodeSegments(bad, "m3.mseed"), SampleError) as SampleError;
  assertEquals(e.reason, "unsupported");
  assert(
    e.message.includes(`the record at byte ${at.offset} (XX.S..HHN, `) &&
      e.message.includes("is in encoding 30 (SRO)"),
    e.message,
  );
  const left: CorruptRecord[] = [];
  const segs = await decodeSegments(bad, "m3.mseed", { onCorrupt: (r) => left.push(r) });
  assertEquals(left.map((r) => [r.offset, r.channel, r.error.reason]), [
    [at.offset, "XX.S..HHN", "unsupported"],
  ]);
  const hhz = segs.filter((s) => s.channel === "HHZ");
  assertEquals(hhz.length, 1);
  const intact = (await decodeSegments(bytes, "m3.mseed")).filter((s) => s.channel === "HHZ");
  assertEquals(hhz[0].data, intact[0].data);
  // A record without samples in such an encoding (an opaque record, 100) holds no data to
  // decode: left out, as miniSEED 2's are.
  const opaque = bytes.slice();
  opaque[at.offset + 15] = 100;
  const w = new DataView(opaque.buffer, at.offset, at.size);
  w.setUint32(24, 0, true);
  w.setUint32(28, 0, true);
  w.setUint32(28, crc32c(opaque.subarray(at.offset, at.offset + at.size)), true);
  const kept = await decodeSegments(opaque, "m3.mseed");
  assert(kept.some((s) => s.channel === "HHZ"), JSON.stringify(kept.map((s) => s.channel)));
});

Deno.test("a file whose only record is damaged decodes to no segments with the damage reported, not as an empty file", async () => {
  const { indexRecords, decodeBetween } = await import("../../lib/io/mseed.ts");
  const { bytes, offsets } = await esecRecords();
  const one = bytes.slice(0, offsets[1]);
  one[48 + 6] = 20; // B1000's record length: 2^20 bytes, past the file's end
  const damaged: CorruptRecord[] = [];
  const recs = await indexRecords(one, "one.mseed", (d) => damaged.push(d));
  assertEquals(recs, []);
  assertEquals(damaged.map((d) => d.error.reason), ["truncated"]);
  // extract decodes a sample's span this way: before, it failed as "the file is empty".
  assertEquals(await decodeBetween(one, recs, 0, Date.now(), "one.mseed"), []);
});

Deno.test("a record declaring a sampling rate above 1 MHz fails as corrupt, naming it, before a gap fill or a trace at that rate is allocated (miniSEED 2 and 3)", async () => {
  const { decodeSegments, indexRecords, MAX_SAMPLING_RATE } = await import(
    "../../lib/io/mseed.ts"
  );
  assertEquals(MAX_SAMPLING_RATE, 1e6);
  const { bytes, offsets, name } = await esecRecords();
  const [base] = await decodeSegments(bytes, name);
  // The third record at factor × multiplier = 32767² Hz (about 1.07 GHz: a gap of less than the
  // tolerance to the next record was a fill of some 10⁹ samples).
  const fast = bytes.slice();
  const v = new DataView(fast.buffer);
  v.setInt16(offsets[2] + 32, 32767);
  v.setInt16(offsets[2] + 34, 32767);
  const e = await assertRejects(() => readMiniseed(fast, name), SampleError) as SampleError;
  assertEquals(e.reason, "corrupt");
  assert(
    e.message.includes(`the record at byte ${offsets[2]} (${base.network}.${base.station}.`) &&
      e.message.includes("declares a sampling rate of 1073676289 Hz: expected at most 1000000 Hz"),
    e.message,
  );
  // With onCorrupt the record is left out as its channel's, and the rest read as before.
  const left: CorruptRecord[] = [];
  const segs = await decodeSegments(fast, name, { onCorrupt: (r) => left.push(r) });
  assertEquals(left.map((r) => [r.offset, r.error.reason]), [[offsets[2], "corrupt"]]);
  assertEquals(segs.map((s) => s.samplingRate), [40, 40]);
  // miniSEED 3: a float64 rate of 1e12 Hz (was "Array buffer allocation failed"), and a period
  // (a negative rate) of 1 ps.
  const z = sineTrace();
  const m3 = await encodeMiniseed3([z]);
  const recs = await indexRecords(m3, "m3.mseed");
  for (const rate of [1e12, -1e-12, NaN]) {
    const bad = m3.slice();
    const at = recs[0];
    const w = new DataView(bad.buffer, at.offset, at.size);
    w.setFloat64(16, rate, true);
    w.setUint32(28, 0, true);
    w.setUint32(28, crc32c(bad.subarray(at.offset, at.offset + at.size)), true);
    const e3 = await assertRejects(() => readMiniseed(bad, "m3.mseed"), SampleError) as SampleError;
    assertEquals(e3.reason, "corrupt");
    assert(
      e3.message.includes(`the record at byte ${at.offset} (XX.S..HHZ, `) &&
        e3.message.includes(`declares a sampling rate of ${rate < 0 ? -1 / rate : rate} Hz`),
      e3.message,
    );
  }
});

Deno.test("a miniSEED 2 file cut anywhere inside its last record, its header included, is truncated: with onDamaged its complete records are kept", async () => {
  const { indexRecords } = await import("../../lib/io/mseed.ts");
  const { bytes } = await esecRecords();
  const whole = await indexRecords(bytes, "e.mseed");
  const last = whole.at(-1)!;
  for (const keep of [1, 20, 47, 48, 50, 51, 52, 63, 64, 100, 300]) {
    const cut = bytes.subarray(0, last.offset + keep);
    const e = await assertRejects(() => indexRecords(cut, "e.mseed"), SampleError);
    assertEquals((e as SampleError).reason, "truncated", `${keep}: ${e.message}`);
    const damaged: CorruptRecord[] = [];
    const kept = await indexRecords(cut, "e.mseed", (d) => damaged.push(d));
    assertEquals(kept, whole.slice(0, -1), `${keep}`);
    assertEquals(damaged.map((d) => [d.error.reason, d.end]), [["truncated", Infinity]]);
  }
});

/**
 * An independent Steim 2 decoder written from the SEED 2.4 manual (appendix B), for the test:
 * the records of a miniSEED 2 file (fixed header, blockette 1000's record length and word
 * order), each decoded from its frames' nibbles and integrated from X0. Returns each record's
 * samples.
 */
function steim2Records(bytes: Uint8Array): Int32Array[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Int32Array[] = [];
  for (let at = 0; at < bytes.length;) {
    // Blockette 1000 (the first blockette here): encoding, word order, record length.
    let b = v.getUint16(at + 46, false), len = 0, bigEndian = true, encoding = -1;
    while (b !== 0) {
      if (v.getUint16(at + b, false) === 1000) {
        encoding = bytes[at + b + 4];
        bigEndian = bytes[at + b + 5] === 1;
        len = 2 ** bytes[at + b + 6];
      }
      b = v.getUint16(at + b + 2, false);
    }
    assertEquals(encoding, 11);
    const n = v.getUint16(at + 30, !bigEndian);
    const data = at + v.getUint16(at + 44, !bigEndian);
    const word = (k: number) => v.getInt32(data + 4 * k, !bigEndian);
    const diffs: number[] = [];
    for (let f = 0; diffs.length < n && data + 64 * (f + 1) <= at + len; f++) {
      const nibbles = word(16 * f) >>> 0;
      for (let w = 1; w < 16; w++) {
        const c = (nibbles >>> (30 - 2 * w)) & 3, u = word(16 * f + w) >>> 0;
        // Word fields: `count` differences of `bits` bits each, the first in the high bits.
        const put = (count: number, bits: number) => {
          for (let i = count - 1; i >= 0; i--) {
            const d = (u >>> (i * bits)) & ((1 << bits) - 1);
            diffs.push(d >= 1 << (bits - 1) ? d - (1 << bits) : d);
          }
        };
        const dnib = u >>> 30;
        if (c === 1) put(4, 8);
        else if (c === 2 && dnib === 1) put(1, 30);
        else if (c === 2 && dnib === 2) put(2, 15);
        else if (c === 2 && dnib === 3) put(3, 10);
        else if (c === 3 && dnib === 0) put(5, 6);
        else if (c === 3 && dnib === 1) put(6, 5);
        else if (c === 3 && dnib === 2) put(7, 4);
        else if (c !== 0) throw new Error(`bad nibble ${c}/${dnib}`);
      }
    }
    const y = new Int32Array(n);
    y[0] = word(1); // X0; the first difference is the one from the record before
    for (let i = 1; i < n; i++) y[i] = y[i - 1] + diffs[i];
    assertEquals(y[n - 1], word(2), "Xn"); // the reverse integration constant
    out.push(y);
    at += len;
  }
  return out;
}

Deno.test("the samples of all 305 ESEC miniSEED 2 files (Steim 2) are those an independent decoder written from the SEED manual gives, record by record", async () => {
  const files = listEsec("waveforms", ".mseed");
  let records = 0, samples = 0;
  for (const f of files) {
    const bytes = await Deno.readFile(f);
    const want = steim2Records(bytes);
    const [tr] = await readMiniseed(bytes, f);
    // Each file is one contiguous run of its records: their samples one after another.
    assertEquals(tr.data.length, want.reduce((n, y) => n + y.length, 0), f);
    let k = 0;
    for (const y of want) {
      for (let i = 0; i < y.length; i++, k++) {
        if (tr.data[k] !== y[i]) throw new Error(`${f}: sample ${k} is ${tr.data[k]}, not ${y[i]}`);
      }
    }
    records += want.length;
    samples += k;
  }
  assert(records > 1000 && samples > 2_800_000, `${records} records, ${samples} samples`);
});

/** The merge tests' 100 Hz segment of XX.ABC.00.HHZ, starting `start` ms after MERGE_T0. */
const MERGE_T0 = Date.UTC(2020, 4, 1, 12);
const mergeSeg = (start: number, data: number[]) => ({
  network: "XX",
  station: "ABC",
  location: "00",
  channel: "HHZ",
  startTime: MERGE_T0 + start,
  samplingRate: 100,
  data: Float64Array.from(data),
});

Deno.test("segments merge at sample positions: a gap of 2.6 samples is filled with 3; a start 0.3 samples late joins at tolerance 0", () => {
  // 10 samples (100 ms), then a segment 26 ms (2.6 samples) after their end: 3 filled, and the
  // next segment's first sample at index 13 (2 would put every later sample 10 ms early).
  const m = mergeSegments([mergeSeg(0, Array(10).fill(1)), mergeSeg(126, [4, 4])], 1, "g");
  assertEquals(Array.from(m.data), [...Array(10).fill(1), 1.75, 2.5, 3.25, 4, 4]);
  assertEquals(m.joins, [{ kind: "gap", start: MERGE_T0 + 100, samples: 3 }]);
  // At tolerance 0, timing jitter within half a sample is no gap.
  const j = mergeSegments([mergeSeg(0, Array(10).fill(1)), mergeSeg(103, [2])], 0, "j");
  assertEquals(j.data.length, 11);
});

Deno.test("miniSEED records join only within half a sample of where the one before ends: one 0.7 samples late is a gap of one sample, listed", async () => {
  const a = trace({ data: new Float64Array(1000).fill(5) });
  const b = trace({ startTime: a.startTime + 10_007, data: new Float64Array(500).fill(7) });
  const [m] = await readMiniseed(await encodeMiniseed3([a, b]), "late.mseed", { gapTolerance: 1 });
  assertEquals(m.data.length, 1501);
  assertEquals(m.joins, [{ kind: "gap", start: a.startTime + 10_000, samples: 1 }]);
});

Deno.test("a miniSEED 3 record's negative sampling rate is a period in seconds: the record index spans n·period", async () => {
  const { indexRecords } = await import("../../lib/io/mseed.ts");
  const t0 = Date.UTC(2020, 0, 1);
  const bytes = await encodeMiniseed3(
    [trace({
      channel: "LHZ",
      samplingRate: 0.1,
      startTime: t0,
      data: new Float64Array(20).map((_, i) => 3 * i),
    })],
    10,
  );
  // The writer stores 0.1 Hz; store it as a period of 10 s (rate -10), with each record's CRC.
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let o = 0; o < bytes.length;) {
    const size = 40 + v.getUint8(o + 33) + v.getUint16(o + 34, true) + v.getUint32(o + 36, true);
    v.setFloat64(o + 16, -10, true);
    v.setUint32(o + 28, 0, true);
    v.setUint32(o + 28, crc32c(bytes.subarray(o, o + size)), true);
    o += size;
  }
  const recs = await indexRecords(bytes, "period.mseed");
  assertEquals(recs.map((r) => [r.start - t0, r.end - t0]), [[0, 100_000], [100_000, 200_000]]);
});

Deno.test("an overlap within the tolerance is compared sample by sample at its own times: one that repeats a ramp is no join, one whose first sample differs is", () => {
  const ramp = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  // The second segment starts at sample 7: its first 3 samples overlap 7, 8, 9.
  const same = mergeSegments([mergeSeg(0, ramp), mergeSeg(70, [7, 8, 9, 10, 11])], 1, "same");
  assertEquals(Array.from(same.data), [...ramp, 10, 11]);
  assertEquals(same.joins, undefined);
  const first = mergeSegments([mergeSeg(0, ramp), mergeSeg(70, [100, 8, 9, 10, 11])], 1, "first");
  assertEquals(Array.from(first.data), [...ramp, 10, 11]);
  assertEquals(first.joins, [{ kind: "overlap", start: MERGE_T0 + 70, samples: 3 }]);
});

Deno.test("a record repeated after a merged overlap is a duplicate of the later record, not a break: it is compared with the segment that last covers each time", () => {
  const ramp = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const b = [100, 101, 102, 103, 104];
  // b overlaps the ramp by 3 samples (30 ms, within 0.04 s); its copy overlaps the run by 5
  // (50 ms, beyond it) but repeats b, so it joins.
  const m = mergeSegments([mergeSeg(0, ramp), mergeSeg(70, b), mergeSeg(70, b)], 0.04, "dup");
  assertEquals(Array.from(m.data), [...ramp, 103, 104]);
  assertEquals(m.joins, [
    { kind: "overlap", start: MERGE_T0 + 70, samples: 3 },
    { kind: "overlap", start: MERGE_T0 + 70, samples: 5 },
  ]);
  // A copy that differs in one sample is a break.
  assertThrows(
    () =>
      mergeSegments(
        [mergeSeg(0, ramp), mergeSeg(70, b), mergeSeg(70, [100, 101, 102, 103, 105])],
        0.04,
        "x",
      ),
    SampleError,
    "overlap of 0.050 s",
  );
});

Deno.test("the records of a span leave out one that ends at its start; 64 stray bytes between miniSEED 2 records are skipped alone", async () => {
  const { indexRecords, recordsBetween } = await import("../../lib/io/mseed.ts");
  const { bytes, name } = await esecRecords();
  const recs = await indexRecords(bytes, name);
  assertEquals(recs[1].end, recs[2].start);
  const cut = recordsBetween(bytes, recs, recs[1].end, recs[2].end);
  assertEquals(cut, bytes.subarray(recs[2].offset, recs[2].offset + recs[2].size));
  // 64 bytes of zeros after the first record: the next 64-byte boundary holds the second.
  const junk = new Uint8Array(bytes.length + 64);
  junk.set(bytes.subarray(0, recs[1].offset));
  junk.set(bytes.subarray(recs[1].offset), recs[1].offset + 64);
  const damaged: { offset: number; size: number }[] = [];
  const again = await indexRecords(junk, "junk.mseed", (d) => damaged.push(d));
  assertEquals(damaged.map((d) => [d.offset, d.size]), [[recs[1].offset, 64]]);
  assertEquals(
    again.map((r) => [r.start, r.end, r.size]),
    recs.map((r) => [r.start, r.end, r.size]),
  );
});

Deno.test("after a damaged miniSEED 2 header the reader resynchronises on a header of the same channel only", async () => {
  const { indexRecords } = await import("../../lib/io/mseed.ts");
  const { bytes: file, offsets, name } = await esecRecords();
  const bytes = file.slice();
  // The second record's header zeroed; the third record made another channel's.
  bytes.fill(0, offsets[1], offsets[1] + 48);
  bytes.set(new TextEncoder().encode("XXX"), offsets[2] + 15);
  const damaged: { offset: number; size: number }[] = [];
  const recs = await indexRecords(bytes, name, (d) => damaged.push(d));
  assertEquals(damaged.map((d) => [d.offset, d.size]), [[offsets[1], offsets[3] - offsets[1]]]);
  assertEquals(recs.map((r) => r.offset), [offsets[0], ...offsets.slice(3)]);
});

Deno.test("a file mixing miniSEED 2 and 3 records reads each record in its own version, whichever comes first", async () => {
  const { decodeSegments, indexRecords } = await import("../../lib/io/mseed.ts");
  const { bytes: two, name } = await esecRecords();
  const [ms2] = await decodeSegments(two, name);
  const three = await encodeMiniseed3([trace()], 512);
  for (const [first, second] of [[three, two], [two, three]]) {
    const mixed = new Uint8Array(first.length + second.length);
    mixed.set(first);
    mixed.set(second, first.length);
    const recs = await indexRecords(mixed, "mixed.mseed");
    assertEquals(recs.reduce((n, r) => n + r.size, 0), mixed.length);
    const damaged: CorruptRecord[] = [];
    for (const onCorrupt of [undefined, (r: CorruptRecord) => damaged.push(r)]) {
      const segs = await decodeSegments(mixed, "mixed.mseed", { onCorrupt });
      const of = (cha: string) => segs.filter((s) => s.channel === cha);
      assertEquals(of(ms2.channel).map((s) => [s.startTime, s.data]), [[ms2.startTime, ms2.data]]);
      assertEquals(of("HHZ").map((s) => [s.startTime, s.data]), [[
        trace().startTime,
        trace().data,
      ]]);
      // In code-unit order of their codes, as a file of one version gives them.
      const ids = segs.map((s) => `${s.network}.${s.station}.${s.location}.${s.channel}`);
      assertEquals(ids, [...ids].sort(), "in code-unit order");
    }
    assertEquals(damaged, []);
  }
});

Deno.test("after damaged bytes that follow a miniSEED 3 record, the reader resynchronises on a miniSEED 2 record off the 64-byte grid", async () => {
  const { decodeSegments, indexRecords } = await import("../../lib/io/mseed.ts");
  const { bytes: two, name } = await esecRecords();
  const [ms2] = await decodeSegments(two, name);
  // One miniSEED 3 record of the same channel, an hour before, then 13 damaged bytes.
  const codes = { network: ms2.network, station: ms2.station, location: ms2.location };
  const first = trace({ ...codes, channel: ms2.channel, startTime: ms2.startTime - 3600e3 });
  const three = await encodeMiniseed3([first], 1000);
  const at = three.length + 13;
  assert(at % 64 !== 0, `${at}`);
  const mixed = new Uint8Array(at + two.length).fill(0xaa);
  mixed.set(three);
  mixed.set(two, at);
  const damaged: (CorruptRecord & { size: number })[] = [];
  const recs = await indexRecords(mixed, "mixed.mseed", (d) => damaged.push(d));
  assertEquals(recs[0].offset, 0);
  assertEquals(recs[1].offset, at);
  assertEquals(damaged.map((d) => [d.offset, d.size]), [[three.length, 13]]);
  assert(
    damaged[0].error.message.startsWith(
      `Cannot read mixed.mseed: expected a miniSEED 3 record header at byte ${three.length}; ` +
        "13 bytes skipped",
    ),
    damaged[0].error.message,
  );
  const left: CorruptRecord[] = [];
  const segs = await decodeSegments(mixed, "mixed.mseed", { onCorrupt: (r) => left.push(r) });
  assertEquals(left.map((r) => r.offset), [three.length]);
  assertEquals(segs.map((s) => [s.startTime, s.data]), [
    [first.startTime, first.data],
    [ms2.startTime, ms2.data],
  ]);
});

Deno.test("after damaged bytes the reader resynchronises on the very next byte's miniSEED 2 header, whatever its quality (D, R, Q, M) and its reserved byte (a space or 0)", async () => {
  const { indexRecords } = await import("../../lib/io/mseed.ts");
  const { bytes: file, offsets, name } = await esecRecords();
  for (const stray of [1, 13]) {
    for (const quality of "DRQM") {
      for (const reserved of [32, 0]) {
        // `stray` bytes after the first record; the second record's bytes 6 and 7 as given.
        const bytes = new Uint8Array(file.length + stray).fill(0xaa);
        bytes.set(file.subarray(0, offsets[1]));
        bytes.set(file.subarray(offsets[1]), offsets[1] + stray);
        bytes[offsets[1] + stray + 6] = quality.charCodeAt(0);
        bytes[offsets[1] + stray + 7] = reserved;
        const damaged: { offset: number; size: number }[] = [];
        const recs = await indexRecords(bytes, name, (d) => damaged.push(d));
        const what = `${stray} bytes, quality ${quality}, reserved ${reserved}`;
        assertEquals(damaged.map((d) => [d.offset, d.size]), [[offsets[1], stray]], what);
        assertEquals(
          recs.map((r) => r.offset),
          [0, ...offsets.slice(1).map((o) => o + stray)],
          what,
        );
      }
    }
  }
});

Deno.test("a record header of the year 1900 or 9999, the bounds of the years read, is read as its time (miniSEED 2)", async () => {
  const { decodeSegments, indexRecords } = await import("../../lib/io/mseed.ts");
  const bytes = new Uint8Array(1024);
  bytes.set(le2Record(1900));
  bytes.set(le2Record(9999), 512);
  const skipped: CorruptRecord[] = [];
  const spans = await indexRecords(bytes, "le.mseed", (d) => skipped.push(d));
  assertEquals(skipped, []);
  assertEquals(spans.map((r) => [r.offset, r.start]), [
    [0, Date.UTC(1900, 0, 1)],
    [512, Date.UTC(9999, 0, 1)],
  ]);
  const segs = await decodeSegments(bytes, "le.mseed", { onCorrupt: (r) => skipped.push(r) });
  assertEquals(skipped, []);
  assertEquals(segs.map((s) => [s.startTime, s.data.length]), [
    [Date.UTC(1900, 0, 1), 112],
    [Date.UTC(9999, 0, 1), 112],
  ]);
});

Deno.test("a file mixing miniSEED 3 and 2 records, damaged bytes between them, leaves out a miniSEED 2 record that fails its Steim check with onCorrupt, named at its byte in the file, and reads the rest", async () => {
  const { decodeSegments } = await import("../../lib/io/mseed.ts");
  const { bytes: file, offsets, name } = await esecRecords();
  const [ms2] = await decodeSegments(file, name);
  // The second miniSEED 2 record's Steim frames with one bit flipped.
  const two = file.slice();
  two[offsets[1] + 64 + 4] ^= 1;
  const codes = { network: ms2.network, station: ms2.station, location: ms2.location };
  const first = trace({ ...codes, channel: ms2.channel, startTime: ms2.startTime - 3600e3 });
  const three = await encodeMiniseed3([first], 1000);
  // 13 damaged bytes after the miniSEED 3 record.
  const at = three.length + 13;
  const mixed = new Uint8Array(at + two.length).fill(0xaa);
  mixed.set(three);
  mixed.set(two, at);
  const left: CorruptRecord[] = [];
  const segs = await decodeSegments(mixed, "mixed.mseed", { onCorrupt: (r) => left.push(r) });
  assertEquals(left.map((r) => [r.offset, r.error.reason]), [
    [three.length, "corrupt"],
    [at + offsets[1], "corrupt"],
  ]);
  assert(left[1].error.message.includes("Steim 2 integrity check"), left[1].error.message);
  // The miniSEED 3 record, then the miniSEED 2 records around the gap of the one left out.
  assertEquals(segs.length, 3);
  assertEquals([segs[0].startTime, Array.from(segs[0].data)], [
    first.startTime,
    Array.from(first.data),
  ]);
  const [a, b] = [segs[1].data.length, segs[2].data.length];
  assert(a + b < ms2.data.length, `${a} + ${b} of ${ms2.data.length} samples`);
  assertEquals(segs[1].startTime, ms2.startTime);
  assertEquals(Array.from(segs[1].data), Array.from(ms2.data.slice(0, a)));
  assertEquals(Array.from(segs[2].data), Array.from(ms2.data.slice(-b)));
});

Deno.test("damaged bytes that hold a chance MS\\x03, a header that does not frame or a record that fails its CRC, are skipped as one span up to the next record that passes its CRC", async () => {
  const { indexRecords } = await import("../../lib/io/mseed.ts");
  const ms3 = await encodeMiniseed3([sineTrace()], 256);
  const recs = await indexRecords(ms3, "m3.mseed");
  assert(recs.length > 4, `${recs.length} records`);
  const [r1, r2, r3] = [recs[1], recs[2], recs[3]];
  // The second record's magic bytes overwritten, and inside it an MS\x03 whose data length
  // (bytes 36-39) runs past the file.
  const chance = ms3.slice();
  chance.fill(0x20, r1.offset, r1.offset + 8);
  chance.set([77, 83, 3], r1.offset + 100);
  chance.fill(0xff, r1.offset + 100 + 36, r1.offset + 100 + 40);
  // The same, with the third record's data damaged (its CRC fails) instead.
  const crc = ms3.slice();
  crc.fill(0x20, r1.offset, r1.offset + 8);
  crc[r2.offset + r2.size - 4] ^= 1;
  for (
    const [bytes, next, what] of [[chance, r2, "a chance MS\\x03"], [
      crc,
      r3,
      "a failed CRC",
    ]] as const
  ) {
    const skipped: { offset: number; size: number }[] = [];
    const spans = await indexRecords(bytes, "m3.mseed", (d) => skipped.push(d));
    assertEquals(
      skipped.map((d) => [d.offset, d.size]),
      [[r1.offset, next.offset - r1.offset]],
      what,
    );
    assertEquals(
      spans.map((r) => r.offset),
      recs.filter((r) => r.offset < r1.offset || r.offset >= next.offset).map((r) => r.offset),
      what,
    );
  }
});

Deno.test("after damaged bytes a miniSEED 2 header whose sequence number is not digits (no header to libmseed) is no place to resynchronise: its record is skipped with them", async () => {
  const { indexRecords } = await import("../../lib/io/mseed.ts");
  const { bytes: file, offsets, name } = await esecRecords();
  // 13 stray bytes after the first record; the second's sequence number (bytes 0-5) damaged.
  const bytes = new Uint8Array(file.length + 13).fill(0xaa);
  bytes.set(file.subarray(0, offsets[1]));
  bytes.set(file.subarray(offsets[1]), offsets[1] + 13);
  bytes.set(new TextEncoder().encode("00#0x1"), offsets[1] + 13);
  const damaged: { offset: number; size: number }[] = [];
  const recs = await indexRecords(bytes, name, (d) => damaged.push(d));
  assertEquals(damaged.map((d) => [d.offset, d.size]), [[
    offsets[1],
    offsets[2] + 13 - offsets[1],
  ]]);
  assertEquals(recs.map((r) => r.offset), [0, ...offsets.slice(2).map((o) => o + 13)]);
});
