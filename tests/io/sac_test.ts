import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import {
  encodeSac,
  isSac,
  isSacPoleZero,
  parseSacPoleZero,
  readSac,
  readSacFile,
  sacOtherVersion,
  sacPoleZeroComments,
} from "../../lib/io/sac.ts";
import { SampleError } from "../../lib/io/sample_error.ts";
import { evaluateResponse } from "../../lib/signal/response.ts";
import { encodeMiniseed3 } from "../../lib/io/mseed.ts";
import { writeSynth } from "../../lib/io/synth.ts";
import { parseCsvRecords } from "../../lib/io/csv.ts";
import { readExtractConfig } from "../../lib/io/extract_config.ts";
import { runExtract } from "../../lib/io/extract.ts";
import { openDataset } from "../../lib/io/dataset.ts";
import { readMiniseedFile } from "../../lib/io/mseed.ts";

const T0 = Date.UTC(2024, 5, 1, 3, 4, 5) + 123.25;
const TRACE = {
  network: "IU",
  station: "ANMO",
  location: "00",
  channel: "BHZ",
  startTime: T0,
  samplingRate: 40,
  data: new Float64Array([1, -2, 3.5, 1e6, -0.125]),
};

/** The same file with every header word and sample byte-swapped (a big-endian SAC file). */
function bigEndian(le: Uint8Array): Uint8Array {
  const be = le.slice();
  for (let off = 0; off < 440; off += 4) be.set(le.subarray(off, off + 4).reverse(), off);
  for (let off = 632; off < le.length; off += 4) be.set(le.subarray(off, off + 4).reverse(), off);
  return be;
}

Deno.test("SAC: a written file reads back in both byte orders: codes, times, rate, markers, samples", async () => {
  const le = encodeSac(TRACE, { A: T0 + 12_345.5, O: T0 - 5000, T3: T0 + 20_000 });
  for (const bytes of [le, bigEndian(le)]) {
    assert(isSac(bytes));
    const f = readSac(bytes, "x.sac");
    assertEquals(
      [f.trace.network, f.trace.station, f.trace.location, f.trace.channel],
      ["IU", "ANMO", "00", "BHZ"],
    );
    assertEquals(f.trace.samplingRate, 40);
    // The reference time holds the whole milliseconds, B the quarter millisecond.
    assertEquals(f.trace.startTime, T0);
    assertEquals(Array.from(f.trace.data), Array.from(TRACE.data));
    assertEquals(Object.keys(f.markers).sort(), ["A", "O", "T3"]);
    // Markers are float32 seconds after the reference: within float32 rounding of ~12 s.
    assert(Math.abs(f.markers.A! - (T0 + 12_345.5)) < 1e-3, String(f.markers.A! - T0));
    assert(Math.abs(f.markers.O! - (T0 - 5000)) < 1e-3);
    assertEquals(f.coordinates, {});
    assertEquals(f.orientation, {}, "CMPAZ and CMPINC left undefined");
  }
  const o = readSac(bigEndian(encodeSac(TRACE, {}, { cmpaz: 37.5, cmpinc: 95 })), "o.sac");
  assertEquals(o.orientation, { cmpaz: 37.5, cmpinc: 95 });
  assert(!isSac(new Uint8Array(100)), "too short for a header");
  assert(!isSac(await encodeMiniseed3([{ ...TRACE, data: new Float64Array(300) }])), "miniSEED");
});

Deno.test("SAC: markers, coordinates and codes are read from the words the SAC format puts them in", () => {
  // Written by hand rather than by encodeSac, which shares the reader's word table: O is word 7,
  // A word 8, T0–T9 words 10–19, STLA/STLO/STEL 31–33, EVLA/EVLO 35–36, EVDP 38; an undefined
  // KHOLE (location) is the text -12345.
  const bytes = encodeSac({ ...TRACE, location: "" });
  const dv = new DataView(bytes.buffer);
  const words: [number, number][] = [
    [7, -1.5],
    [8, 2.5],
    [10, 3.25],
    [19, 4],
    [31, 45.5],
    [32, -120.25],
    [33, 1500],
    [35, 10],
    [36, 20],
    [37, 99], // EVEL: not read
    [38, 33],
    [57, 328], // CMPAZ
    [58, 90], // CMPINC
  ];
  for (const [w, v] of words) dv.setFloat32(w * 4, v, true);
  const f = readSac(bytes, "w.sac");
  const ref = Math.floor(T0);
  assertEquals(f.markers, {
    O: ref - 1500,
    A: ref + 2500,
    T0: ref + 3250,
    T9: ref + 4000,
  });
  assertEquals(f.coordinates, {
    stla: 45.5,
    stlo: -120.25,
    stel: 1500,
    evla: 10,
    evlo: 20,
    evdp: 33,
  });
  assertEquals(f.orientation, { cmpaz: 328, cmpinc: 90 });
  assertEquals(new TextDecoder().decode(bytes.subarray(464, 472)), "-12345  ");
  assertEquals(f.trace.location, "");
});

Deno.test("SAC: a header version 7 file (SAC 102+) reads from its version 6 header, footer ignored", () => {
  const v6 = encodeSac(TRACE, { A: T0 + 12_345.5 });
  // Version 7 keeps the header and adds 22 doubles after the data (DELTA, B, E, O, A, T0–T9, ...).
  const v7 = new Uint8Array(v6.length + 22 * 8);
  v7.set(v6);
  const dv = new DataView(v7.buffer);
  dv.setInt32(76 * 4, 7, true);
  for (let k = 0; k < 22; k++) dv.setFloat64(v6.length + 8 * k, -12345, true);
  for (const bytes of [v7, bigEndian(v7)]) {
    assert(isSac(bytes));
    const a = readSac(v6, "6.sac"), b = readSac(bytes, "7.sac");
    assertEquals(b.trace, a.trace);
    assertEquals(b.markers, a.markers);
  }
  const v8 = v6.slice();
  new DataView(v8.buffer).setInt32(76 * 4, 8, true);
  assert(!isSac(v8), "version 8 is not SAC");
});

Deno.test("SAC: a header version other than 6 or 7 in a file whose size fits its NPTS fails as corrupt, naming NVHDR, not as 'not miniseed'", () => {
  const v6 = encodeSac(TRACE);
  const v7 = new Uint8Array(v6.length + 22 * 8);
  v7.set(v6);
  for (const [file, version] of [[v6, 5], [v7, 1_000_000], [v6, 0]] as const) {
    const bytes = file.slice();
    new DataView(bytes.buffer).setInt32(76 * 4, version, true);
    for (const b of [bytes, bigEndian(bytes)]) {
      assertEquals(sacOtherVersion(b), version);
      const e = assertThrows(() => readSac(b, "v.sac"), SampleError) as SampleError;
      assertEquals(e.reason, "corrupt");
      assertEquals(
        e.message,
        `Cannot read v.sac: SAC header version (NVHDR, byte 304) ${version}: expected 6 or 7 ` +
          "(its size fits a SAC file's NPTS: a damaged header, or a version seisdec does not read)",
      );
    }
  }
  // A SAC file of version 6 is no other version; bytes whose size fits no NPTS are not SAC.
  assertEquals(sacOtherVersion(v6), null);
  const cut = v6.slice(0, v6.length - 4);
  new DataView(cut.buffer).setInt32(76 * 4, 5, true);
  assertEquals(sacOtherVersion(cut), null);
  assertThrows(() => readSac(cut, "x.sac"), SampleError, "expected a SAC header");
});

Deno.test("SAC: DELTA's float32 rounding is undone (0.01 → 100 Hz) but real odd rates stay", () => {
  for (const [rate, want] of [[100, 100], [20, 20], [200, 200], [99.99, 99.99], [1 / 3, 1 / 3]]) {
    const f = readSac(encodeSac({ ...TRACE, samplingRate: rate }), "x.sac");
    const tol = rate === 1 / 3 ? 1e-7 : 0;
    assert(Math.abs(f.trace.samplingRate - want) <= tol, `${rate} → ${f.trace.samplingRate}`);
  }
});

Deno.test("SAC: empty, truncated, spectral, uneven, DELTA- or B-less and badly timed files fail with their reason and name", async () => {
  const good = encodeSac(TRACE);
  const check = (bytes: Uint8Array, reason: string, text: string) => {
    const e = assertThrows(() => readSac(bytes, "bad.sac"), SampleError, text) as SampleError;
    assertEquals(e.reason, reason);
    assert(e.message.includes("bad.sac"), e.message);
  };
  check(new Uint8Array(0), "empty file", "the file is empty");
  check(good.subarray(0, good.length - 4), "truncated", "NPTS 5 needs 652 bytes: found 648");
  // A header that cannot describe an evenly sampled time series is corrupt, an undefined B a
  // bad time: "unreadable" stands for a file that cannot be read (README, Failure report).
  const edit = (word: number, v: number, float = false) => {
    const bytes = good.slice();
    const dv = new DataView(bytes.buffer);
    if (float) dv.setFloat32(word * 4, v, true);
    else dv.setInt32(word * 4, v, true);
    return bytes;
  };
  check(edit(85, 2), "corrupt", "IFTYPE 2, LEVEN 1: expected an evenly sampled time series");
  check(edit(105, 0), "corrupt", "IFTYPE 1, LEVEN 0: expected an evenly sampled time series");
  check(edit(79, -1), "corrupt", "SAC NPTS -1, DELTA 0.025");
  for (
    const [delta, shown] of [[-12345, "-12345 (undefined)"], [0, "0"], [-0.01, "-0.01"]] as const
  ) {
    check(
      edit(0, delta, true),
      "corrupt",
      `SAC NPTS 5, DELTA ${shown}: expected NPTS >= 0 and DELTA, the sampling interval, a ` +
        `finite number of seconds > 0`,
    );
  }
  // A DELTA of 1e-7 s (10 MHz), a damaged header's as miniSEED's above MAX_SAMPLING_RATE: before,
  // the trace was read as lasting a millisecond and its samples failed as 'pick outside trace'.
  check(
    edit(0, 1e-7, true),
    "corrupt",
    "SAC DELTA 1e-7 s is a sampling rate of 10000000 Hz: expected at most 1000000 Hz",
  );
  check(
    edit(5, -12345, true),
    "bad time",
    "SAC B -12345 (undefined): expected the first sample's time",
  );
  // B or a marker so far from the reference time that the time is no date (a damaged header):
  // before, the sample failed as 'error', 'Cannot process sample X: Invalid time value'.
  check(
    edit(5, 1e30, true),
    "bad time",
    "SAC B 1e+30 s after the reference time is no date",
  );
  check(edit(8, -1e30, true), "bad time", "SAC A -1e+30 s after the reference time is no date");
  // A reference time, B or marker past the year 9999, which samples.csv cannot write.
  check(edit(70, 10000), "bad time", "NZYEAR 10000 NZJDAY");
  check(
    edit(5, 3e11, true),
    "bad time",
    "SAC B 300000000000 s after the reference time is past the year 9999",
  );
  check(
    edit(10, 3e11, true),
    "bad time",
    "SAC T0 300000000000 s after the reference time is past the year 9999",
  );
  check(edit(70, -12345), "bad time", "NZYEAR -12345 NZJDAY");
  check(edit(70, 2_000_000_000), "bad time", "NZYEAR 2000000000 NZJDAY"); // past JavaScript's dates
  check(edit(75, 1500), "bad time", "NZMSEC 1500 is not a valid time");
  const badDay = good.slice();
  new DataView(badDay.buffer).setInt32(71 * 4, 400, true); // NZJDAY
  check(badDay, "bad time", "NZJDAY 400");
  const badMs = good.slice();
  new DataView(badMs.buffer).setInt32(75 * 4, -1, true); // NZMSEC
  check(badMs, "bad time", "NZMSEC -1 is not a valid time");
  // Day 366 of a common year is no day (before, it was 1 January of the next year).
  const day366 = edit(71, 366);
  new DataView(day366.buffer).setInt32(70 * 4, 2023, true);
  check(day366, "bad time", "NZYEAR 2023 NZJDAY 366");
  const leap = edit(71, 366);
  new DataView(leap.buffer).setInt32(70 * 4, 2024, true);
  assertEquals(new Date(readSac(leap, "leap.sac").trace.startTime).getUTCMonth(), 11);
  // NZYEAR is the year as written: 24 is no 1924 (JavaScript's Date.UTC reads 0-99 so).
  const t24 = readSac(edit(70, 24), "y24.sac").trace.startTime;
  assertEquals(new Date(t24).getUTCFullYear(), 24);
  check(new Uint8Array(700), "not miniseed", "expected a SAC header");
  // A missing file is named once ('no such file', not Deno's text naming it again).
  const missing = await assertRejects(() => readSacFile("/nonexistent/x.sac"), SampleError);
  assertEquals((missing as SampleError).reason, "unreadable");
  assertEquals(missing.message, "Cannot read /nonexistent/x.sac: no such file");
});

// An IRIS-style SAC_PZ file: tab-separated, '*' comments, a zero at the origin left implicit.
const PZ = [
  "* **********************************",
  "* NETWORK   (KNETWK): IU",
  "* CHANNEL   (KCMPNM): BHZ",
  "* **********************************",
  "ZEROS\t3",
  "\t+0.000000e+00\t+0.000000e+00",
  "\t+0.000000e+00\t+0.000000e+00",
  "POLES\t4",
  "\t-5.943130e+01\t+0.000000e+00",
  "\t-2.271210e+01\t+2.710650e+01",
  "\t-2.271210e+01\t-2.710650e+01",
  "\t-4.800400e-03\t+0.000000e+00",
  "CONSTANT\t+9.630000e+09",
  "",
].join("\r\n");

Deno.test("SAC pole-zero: H(f) = CONSTANT · Π(s − z) / Π(s − p), displacement in, from IRIS-style text", async () => {
  assert(isSacPoleZero(PZ) && !isSacPoleZero("<FDSNStationXML/>"));
  const r = await parseSacPoleZero(PZ, "IU.ANMO.pz");
  assertEquals(r.inputUnits, "M");
  assertEquals(r.stages[0].zeros, [[0, 0], [0, 0], [0, 0]], "the implicit third zero is at 0");
  assertEquals(r.stages[0].poles.length, 4);
  for (const f of [0.01, 0.3, 1, 7.5, 20]) {
    const s: [number, number] = [0, 2 * Math.PI * f];
    let re = 9.63e9, im = 0;
    const mul = (a: number, b: number) => [re, im] = [re * a - im * b, re * b + im * a];
    for (const [zr, zi] of r.stages[0].zeros) mul(s[0] - zr, s[1] - zi);
    for (const [pr, pi] of r.stages[0].poles) {
      const [a, b] = [s[0] - pr, s[1] - pi], d = a * a + b * b;
      mul(a / d, -b / d);
    }
    const [hr, hi] = evaluateResponse(r, f);
    const rel = Math.hypot(hr - re, hi - im) / Math.hypot(re, im);
    assert(rel < 1e-12, `H(${f} Hz) off by ${rel}`);
  }
  await assertRejects(
    () => parseSacPoleZero("ZEROS 1\nPOLES 1\nCONSTANT 0\n", "zero.pz"),
    SampleError,
    "constant non-zero",
  );
  // Two channels in one file (IRIS's answer to BH?): seisplotjs would keep the first set's
  // poles and zeros with the last set's constant, so the file is refused.
  await assertRejects(
    () => parseSacPoleZero(PZ + PZ.replace("BHZ", "BH1"), "IU.ANMO.BH.pz"),
    SampleError,
    "Cannot read IU.ANMO.BH.pz: it holds 2 pole-zero sets (several channels or epochs): expected one",
  );
});

Deno.test("SAC pole-zero comments: codes, epoch, AZIMUTH and DIP as IRIS (angle from vertical) and ObsPy (DIP (SEED)) write them", () => {
  // IRIS's web service (ws-sacpz), as in its files for IU.ANMO: DIP 90 for a horizontal.
  const iris = [
    "* **********************************",
    "* NETWORK   (KNETWK): IU",
    "* STATION    (KSTNM): ANMO",
    "* LOCATION   (KHOLE): ",
    "* CHANNEL   (KCMPNM): BH1",
    "* CREATED           : 2016-01-04T11:50:14",
    "* START             : 1998-10-26T20:00:00",
    "* END               : 2000-10-19T16:00:00",
    "* DIP               : 90.0",
    "* AZIMUTH           : 280.0",
    "* SAMPLE RATE       : 20.0",
    "* **********************************",
  ].join("\r\n") + "\r\n" + PZ.split("\r\n").slice(4).join("\r\n");
  assertEquals(sacPoleZeroComments(iris), {
    network: "IU",
    station: "ANMO",
    location: "",
    channel: "BH1",
    start: Date.UTC(1998, 9, 26, 20),
    end: Date.UTC(2000, 9, 19, 16),
    incidence: 90,
    azimuth: 280,
  });
  // ObsPy's writer: SEED's dip, said so, times with microseconds and a zone; location "--".
  const obspy = "* LOCATION    : --\n* CHANNEL     : BHZ\n" +
    "* START       : 2012-03-12T20:28:00.000000Z\n* DIP (SEED)  : -90.0\n" +
    "* AZIMUTH     : 0.0\n* DEPTH       : -12345\nZEROS 0\nPOLES 0\nCONSTANT 1\n";
  assertEquals(sacPoleZeroComments(obspy), {
    location: "",
    channel: "BHZ",
    start: Date.UTC(2012, 2, 12, 20, 28),
    seedDip: -90,
    azimuth: 0,
  });
  assertEquals(sacPoleZeroComments(PZ), { network: "IU", channel: "BHZ" });
  assertEquals(sacPoleZeroComments("* AZIMUTH : -12345\n* DIP :\n"), {});
});

Deno.test("extract reads SAC waveforms with SAC pole-zero responses, reference time from the A marker, as it reads miniSEED + StationXML", async () => {
  const root = await Deno.makeTempDir();
  try {
    const syn = `${root}/syn`;
    await writeSynth(syn, { perClass: 1, seed: 3 });
    const rows = parseCsvRecords(await Deno.readTextFile(`${syn}/manifest.csv`));
    // The synthetic geophone in velocity (zeros 0, 0; poles −4.443 ± 4.443i; 6.3e8 counts per
    // m/s at 5 Hz) as a SAC PZ file: one more zero at the origin for displacement input, and
    // CONSTANT = 6.3e8 / |Π(s − z) / Π(s − p)| at 5 Hz.
    const w = 2 * Math.PI * 5;
    const a0 = 1 / (w * w / (Math.hypot(4.443, w - 4.443) * Math.hypot(4.443, w + 4.443)));
    await Deno.writeTextFile(
      `${syn}/geophone.pz`,
      `ZEROS 3\nPOLES 2\n-4.443 4.443\n-4.443 -4.443\nCONSTANT ${6.3e8 * a0}\n`,
    );
    const sacRows = [];
    for (const r of rows) {
      const [tr] = await readMiniseedFile(`${syn}/${r.waveform}`);
      const file = r.waveform.replace(/\.mseed$/, ".sac");
      // The manifest's reference time (the P pick) goes into the A marker and out of the row.
      await Deno.writeFile(
        `${syn}/${file}`,
        encodeSac(tr, { A: Date.parse(r.reference_time) }),
      );
      sacRows.push([
        r.id,
        file,
        "geophone.pz",
        r.network,
        r.station,
        r.location,
        r.channel,
        "",
        r.label,
        r.s_time,
      ]);
    }
    const head = Object.keys(rows[0]).join(",");
    await Deno.writeTextFile(
      `${syn}/sac.csv`,
      [head, ...sacRows.map((r) => r.join(","))].join("\n") + "\n",
    );
    const config = await readExtractConfig(`${syn}/extract.json`);
    const a = await runExtract(config, `${root}/mseed`, { quiet: true });
    const sacConfig = { ...config, input: { ...config.input, path: `${syn}/sac.csv` } };
    const b = await runExtract(sacConfig as typeof config, `${root}/sac`, { quiet: true });
    assertEquals([a.ok, b.ok], [5, 5], JSON.stringify(b.failures));
    const [da, db] = [await openDataset(`${root}/mseed`), await openDataset(`${root}/sac`)];
    assertEquals(db.samples.map((s) => s.referenceTime), da.samples.map((s) => s.referenceTime));
    // S − P from the row's s_time after the A marker's reference, as after the manifest's.
    assertEquals(db.samples.map((s) => s.sMinusP), da.samples.map((s) => s.sMinusP));
    assert(da.samples.some((s) => s.sMinusP! > 0), "some sample has an S time");
    // dB spectrograms: the same (the integer counts are exact in float32, the marker too).
    const [xa, xb] = [da.readAll(), db.readAll()];
    let worst = 0;
    for (let i = 0; i < xa.length; i++) worst = Math.max(worst, Math.abs(xa[i] - xb[i]));
    assert(worst < 1e-4, `largest difference ${worst} dB`); // measured: 0
    da.close();
    db.close();
    // Without the marker (and with --sac-reference none) the row has no reference time.
    const none = { ...sacConfig, input: { ...sacConfig.input, sacReference: null } };
    const c = await runExtract(none as typeof config, `${root}/none`, { quiet: true });
    assertEquals([c.ok, c.byReason], [0, { "no reference time": 5 }]);
    // A damaged header version (5): the sample fails naming it, where it failed as 'not
    // miniseed', 'expected a miniSEED 2 or 3 record header (or a SAC file)'.
    const damaged = await Deno.readFile(`${syn}/${sacRows[0][1]}`);
    new DataView(damaged.buffer).setInt32(76 * 4, 5, true);
    await Deno.writeFile(`${syn}/${sacRows[0][1]}`, damaged);
    const d = await runExtract(sacConfig as typeof config, `${root}/v5`, { quiet: true });
    assertEquals([d.ok, d.byReason], [4, { corrupt: 1 }]);
    assert(
      d.failures[0].message.includes("SAC header version (NVHDR, byte 304) 5"),
      d.failures[0].message,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("SAC pole-zero: more pole or zero lines than the count, a non-numeric token or an unknown line is refused, naming the file and line", async () => {
  const ok = "* XX\nZEROS 3\n0 0\nPOLES 2\n-4.443 4.443\n-4.443 -4.443\nCONSTANT 1e9\n";
  await parseSacPoleZero(ok, "ok.pz");
  // Before, seisplotjs dropped the third pole and read '-4.443x' as -4.443, without a word.
  const cases = [
    [
      ok.replace("-4.443 -4.443\n", "-4.443 -4.443\n-1 0\n"),
      "line 7: POLES 2 on line 4 is followed by more than 2 poles",
    ],
    [
      ok.replace("ZEROS 3\n0 0\n", "ZEROS 0\n0 0\n"),
      "line 3: ZEROS 0 on line 2 is followed by more than 0 zeros",
    ],
    [
      ok.replace("-4.443 4.443", "-4.443x 4.443"),
      "line 5: expected a pole as two numbers (real and imaginary part): found '-4.443x 4.443'",
    ],
    [ok.replace("0 0\n", "0\n"), "line 3: expected a zero as two numbers"],
    [ok.replace("CONSTANT 1e9", "CONSTANT 1e9 2"), "line 7: expected 'CONSTANT c'"],
    [ok.replace("POLES 2", "POLES 2.0"), "line 4: expected 'POLES n' with n a whole number"],
    ["NOTE x\n" + ok, "line 1: expected ZEROS, POLES, CONSTANT or a '*' comment: found 'NOTE x'"],
    // Before, seisplotjs filled a billion poles in at the origin, and the run died out of memory.
    [
      ok.replace("POLES 2", "POLES 1000000000"),
      "line 4: POLES 1000000000: expected at most 1000 poles (a damaged file?)",
    ],
  ];
  for (const [text, msg] of cases) {
    const e = await assertRejects(() => parseSacPoleZero(text, "b.pz"), SampleError, msg);
    assertEquals((e as SampleError).reason, "bad response");
    assert((e as Error).message.startsWith("Cannot read b.pz, line "), (e as Error).message);
  }
});

Deno.test("SAC: the written header's E is B + (NPTS − 1)·DELTA and DEPMIN, DEPMAX and DEPMEN are the data's minimum, maximum and mean", () => {
  const bytes = encodeSac(TRACE);
  const dv = new DataView(bytes.buffer);
  const f = (w: number) => dv.getFloat32(w * 4, true);
  const n = TRACE.data.length;
  // DELTA word 0, DEPMIN 1, DEPMAX 2, B 5, E 6, DEPMEN 56; NPTS int word 79.
  assertEquals(dv.getInt32(79 * 4, true), n);
  const b = f(5);
  assertEquals(b, Math.fround(0.00025), "B: the start's fraction of a millisecond");
  assertEquals(f(6), Math.fround(0.00025 + (n - 1) / TRACE.samplingRate), "E: the last sample");
  assertEquals(f(1), -2);
  assertEquals(f(2), 1e6);
  const mean = TRACE.data.reduce((s, v) => s + v, 0) / n;
  assertEquals(f(56), Math.fround(mean), "DEPMEN: the mean");
  // An empty trace's extremes and mean are written as 0.
  const empty = new DataView(encodeSac({ ...TRACE, data: new Float64Array(0) }).buffer);
  assertEquals([1, 2, 56].map((w) => empty.getFloat32(w * 4, true)), [0, 0, 0]);
});

Deno.test("SAC: a reference time with NZSEC 60 (a leap second's label) reads as second 00 of the next minute; 61 is refused", () => {
  // TRACE starts at 03:04:05.123(25); its header says NZMIN 4, NZSEC 5, NZMSEC 123.
  const bytes = encodeSac(TRACE);
  const dv = new DataView(bytes.buffer);
  assertEquals([73, 74, 75].map((w) => dv.getInt32(w * 4, true)), [4, 5, 123]);
  dv.setInt32(74 * 4, 60, true);
  const read = readSac(bytes, "leap.sac");
  assertEquals(read.trace.startTime, Date.UTC(2024, 5, 1, 3, 5, 0) + 123.25);
  dv.setInt32(74 * 4, 61, true);
  assertThrows(() => readSac(bytes, "bad.sac"), SampleError, "NZSEC 61");
});
