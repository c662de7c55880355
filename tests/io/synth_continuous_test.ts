import { assert, assertEquals } from "../_assert.ts";
import {
  type SynthContinuousSummary,
  writeSynthContinuous,
} from "../../lib/io/synth_continuous.ts";
import { readMiniseedFile, type Trace } from "../../lib/io/mseed.ts";
import { formatCsv, parseCsvRecords } from "../../lib/io/csv.ts";
import { MANIFEST_HEADER, parseUtc, sdsPaths } from "../../lib/io/manifest.ts";
import { parseExtractConfig } from "../../lib/io/extract_config.ts";
import { runExtract } from "../../lib/io/extract.ts";
import { openDataset } from "../../lib/io/dataset.ts";
import { butterBandpass, sosfilt } from "../../lib/signal/filter.ts";
import { readQuakeMlFile } from "../../lib/io/quakeml.ts";

const MIN = 60_000;

/** Reads a station's channel over the archive's span, asserting its day files abut exactly. */
async function readSpan(
  dir: string,
  s: SynthContinuousSummary,
  station: string,
  channel: string,
): Promise<Trace> {
  const paths = sdsPaths(`${dir}/sds`, ["SY", station, "00", channel], s.start, s.end - 10);
  const parts: Trace[] = [];
  for (const p of paths) {
    const trs = await readMiniseedFile(p);
    assertEquals(trs.length, 1, `${p} holds one continuous trace`);
    parts.push(trs[0]);
  }
  let t = s.start;
  for (const [i, tr] of parts.entries()) {
    assertEquals(tr.startTime, t, `${paths[i]} starts where the previous file ends`);
    assertEquals(tr.samplingRate, 100);
    assert(tr.data.every(Number.isInteger), "integer counts");
    t += tr.data.length * 10;
    if (i + 1 < parts.length) {
      // Every file but the last ends at midnight UTC.
      assertEquals(t % 86_400_000, 0, `${paths[i]} ends at midnight`);
    }
  }
  assertEquals(t, s.end, "the day files end at the span's end");
  const data = new Float64Array(parts.reduce((a, p) => a + p.data.length, 0));
  let o = 0;
  for (const p of parts) {
    data.set(p.data, o);
    o += p.data.length;
  }
  return { ...parts[0], data };
}

/** 1–18 Hz band-passed copy (as synth measures SNR). */
function band(x: Float64Array): Float64Array {
  return sosfilt(butterBandpass(1, 18, 100, 2), Float64Array.from(x));
}

function rms(y: Float64Array, i0: number, i1: number): number {
  let s = 0;
  for (let i = i0; i < i1; i++) s += y[i] * y[i];
  return Math.sqrt(s / (i1 - i0));
}

Deno.test("synth --continuous: day files tile a span across midnight, and where pieces join does not change the counts", async () => {
  const root = await Deno.makeTempDir();
  try {
    const start = Date.UTC(2024, 11, 31, 23, 45);
    const opts = { hours: 0.5, stations: 2, start, seed: 3, eventsPerHour: 6 };
    const a = await writeSynthContinuous(`${root}/a`, opts);
    // Pieces of 77 s join elsewhere (and off the record boundaries); midnight still splits.
    const b = await writeSynthContinuous(`${root}/b`, { ...opts, pieceSeconds: 77 });
    assertEquals(a.end, start + 30 * MIN);
    assertEquals(a.files, [
      "sds/2024/SY/S0000/HHZ.D/SY.S0000.00.HHZ.D.2024.366",
      "sds/2024/SY/S0001/HHZ.D/SY.S0001.00.HHZ.D.2024.366",
      "sds/2025/SY/S0000/HHZ.D/SY.S0000.00.HHZ.D.2025.001",
      "sds/2025/SY/S0001/HHZ.D/SY.S0001.00.HHZ.D.2025.001",
    ]);
    assertEquals(b.events, a.events);
    for (const st of a.stations) {
      const x = await readSpan(`${root}/a`, a, st, "HHZ");
      const y = await readSpan(`${root}/b`, b, st, "HHZ");
      assertEquals(x.data.length, 180_000);
      // The response is applied piece by piece with 30 s of ground motion on each side: the
      // counts agree to the rounding (one count) wherever the pieces join.
      let worst = 0;
      for (let i = 0; i < x.data.length; i++) {
        worst = Math.max(worst, Math.abs(x.data[i] - y.data[i]));
      }
      assert(worst <= 1, `${st}: counts differ by ${worst} between piece lengths`);
      // No step at the joins (600 s pieces, midnight): the first difference there is an
      // ordinary one, within 5 times the RMS of the first differences of its quiet minute.
      for (const j of [15 * 6000, 25 * 6000]) {
        const d = new Float64Array(6000).map((_, k) => x.data[j - 3000 + k] - x.data[j - 3001 + k]);
        const r = rms(d, 0, d.length);
        const step = Math.abs(x.data[j] - x.data[j - 1]);
        assert(step < 5 * r, `${st}: step ${step} at sample ${j}, first differences RMS ${r}`);
      }
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("synth --continuous: labels.csv tiles the span once, and each event's energy is inside its interval at its SNR", async () => {
  const root = await Deno.makeTempDir();
  try {
    // In working hours, where explosions are likely: this seed places all four classes.
    const s = await writeSynthContinuous(`${root}/c`, {
      hours: 0.75,
      stations: 3,
      seed: 5,
      eventsPerHour: 10,
      snr: [4, 20],
      start: Date.UTC(2024, 0, 1, 10),
    });
    assertEquals(
      [...new Set(s.events.map((e) => e.label))].sort(),
      ["explosion", "local_earthquake", "regional_event", "tremor"],
    );
    const rows = parseCsvRecords(await Deno.readTextFile(`${root}/c/labels.csv`));
    assertEquals(Object.keys(rows[0]), ["start", "end", "label"]);
    const iv = rows.map((r) => ({
      start: parseUtc(r.start)!,
      end: parseUtc(r.end)!,
      label: r.label,
    }));
    assertEquals(iv, s.labels);
    assertEquals(iv[0].start, s.start);
    assertEquals(iv.at(-1)!.end, s.end);
    for (let i = 0; i < iv.length; i++) {
      assert(iv[i].end > iv[i].start, `interval ${i} is not empty`);
      if (i > 0) {
        assertEquals(iv[i].start, iv[i - 1].end, `interval ${i} starts where ${i - 1} ends`);
      }
      // Events are apart: noise lies between any two.
      assert(iv[i].label === "noise" || iv[i - 1].label === "noise", `interval ${i}`);
    }
    assertEquals(
      iv.filter((x) => x.label !== "noise").map((x) => [x.start, x.end, x.label]),
      s.events.map((e) => [e.onset, e.end, e.label]),
    );
    for (const [si, st] of s.stations.entries()) {
      const tr = await readSpan(`${root}/c`, s, st, "HHZ");
      const y = band(tr.data);
      const idx = (t: number) => Math.round((t - s.start) / 10);
      // The station's noise: the band RMS over its noise intervals, 2 s in from their ends
      // (the 1 Hz band-pass rings for about a second).
      const quiet = iv.filter((x) => x.label === "noise").map((
        x,
      ) => [idx(x.start) + 200, idx(x.end) - 200]);
      let ss = 0, nq = 0;
      for (const [a, b] of quiet) {
        for (let i = a; i < b; i++) ss += y[i] * y[i];
        nq += b - a;
      }
      const noise = Math.sqrt(ss / nq);
      // No event energy in the noise intervals: no second is louder than twice the noise RMS
      // (Gaussian noise's 1 s RMS in a 1–18 Hz band scatters by about 10 %).
      for (const [a, b] of quiet) {
        for (let i = a; i + 100 <= b; i += 100) {
          const r = rms(y, i, i + 100);
          assert(
            r < 2 * noise,
            `${st}: second at ${
              new Date(s.start + i * 10).toISOString()
            } has RMS ${r} vs noise ${noise}`,
          );
        }
      }
      for (const e of s.events) {
        const arr = e.arrivals[si];
        assert(arr.time >= e.onset && arr.end <= e.end, `${e.id} at ${st} is inside its interval`);
        // SNR as synth defines it: the first 10 s after the arrival over the noise, in band.
        const measured = rms(y, idx(arr.time), idx(arr.time) + 1000) / noise;
        const expected = Math.sqrt(arr.snr ** 2 + 1);
        // Bound: the response's roll-off near 1 Hz (−3 dB at 1 Hz) weighs the band's signal
        // and noise differently, and 10 s of signal and a few minutes of noise are short
        // estimates: a factor of 1.25 either way (1.01 to 1.08 here).
        assert(
          measured > expected / 1.25 && measured < expected * 1.25,
          `${e.id} (${e.label}) at ${st}: SNR ${measured.toFixed(2)} vs drawn ${
            arr.snr.toFixed(2)
          }`,
        );
      }
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("synth --continuous: the same seed gives the same bytes, another seed other data", async () => {
  const root = await Deno.makeTempDir();
  try {
    const opts = { hours: 0.2, stations: 1, components: ["Z", "N", "E"], eventsPerHour: 10 };
    const a = await writeSynthContinuous(`${root}/a`, { ...opts, seed: 7 });
    await writeSynthContinuous(`${root}/b`, { ...opts, seed: 7 });
    await writeSynthContinuous(`${root}/c`, { ...opts, seed: 8 });
    const names = [...a.files, "stations.xml", "events.xml", "labels.csv", "extract.json"];
    for (const f of names) {
      assertEquals(await Deno.readFile(`${root}/b/${f}`), await Deno.readFile(`${root}/a/${f}`), f);
    }
    const f = a.files[0];
    assert(
      (await Deno.readFile(`${root}/a/${f}`)).join() !==
        (await Deno.readFile(`${root}/c/${f}`)).join(),
      "another seed differs",
    );
    // Writing over the archive needs force, and then works.
    let refused = false;
    await writeSynthContinuous(`${root}/a`, { ...opts, seed: 7 }).catch(() => refused = true);
    assert(refused, "an existing archive is not replaced without force");
    await writeSynthContinuous(`${root}/a`, { ...opts, seed: 7, force: true });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("synth --continuous Z12 records the ground motion of ZNE along its horizontals' azimuths", async () => {
  const root = await Deno.makeTempDir();
  try {
    const opts = { hours: 0.1, stations: 1, eventsPerHour: 20, seed: 2 };
    const zne = await writeSynthContinuous(`${root}/zne`, { ...opts, components: ["Z", "N", "E"] });
    const z12 = await writeSynthContinuous(`${root}/z12`, { ...opts, components: ["Z", "1", "2"] });
    assertEquals(z12.events, zne.events);
    // Its extract.json asks for the components written, as synth's does (it asked for Z only).
    for (const d of ["zne", "z12"]) {
      const cfg = JSON.parse(await Deno.readTextFile(`${root}/${d}/extract.json`));
      assertEquals(cfg.components, ["Z", "N", "E"], d);
    }
    const xml = await Deno.readTextFile(`${root}/z12/stations.xml`);
    const az = [...xml.matchAll(/<Azimuth[^>]*>([-\d.]+)</g)].map((m) => Number(m[1]));
    assertEquals(az.length, 3);
    assertEquals((az[2] - az[1] + 360) % 360, 90);
    const [n, e, z] = await Promise.all(
      ["HHN", "HHE", "HHZ"].map((c) => readSpan(`${root}/zne`, zne, "S0000", c)),
    );
    const [z2, c1, c2] = await Promise.all(
      ["HHZ", "HH1", "HH2"].map((c) => readSpan(`${root}/z12`, z12, "S0000", c)),
    );
    assertEquals(z2.data, z.data);
    for (const [k, c] of [[1, c1], [2, c2]] as const) {
      const a = az[k] * Math.PI / 180;
      let worst = 0;
      for (let i = 0; i < c.data.length; i++) {
        const want = n.data[i] * Math.cos(a) + e.data[i] * Math.sin(a);
        worst = Math.max(worst, Math.abs(c.data[i] - want));
      }
      // Each of the three traces is rounded to counts: at most 0.5 + 0.5·(|cos| + |sin|) ≤ 1.21.
      assert(worst <= 1.21, `HH${k} differs from the rotated N, E by ${worst} counts`);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("synth --continuous: a manifest pointing into the day files extracts the events, louder after their onsets than noise windows", async () => {
  const root = await Deno.makeTempDir();
  try {
    // Across midnight, so that some rows need both day files.
    const s = await writeSynthContinuous(`${root}/c`, {
      hours: 0.5,
      stations: 2,
      seed: 11,
      eventsPerHour: 8,
      start: Date.UTC(2024, 0, 1, 23, 40),
    });
    assert(s.events.length >= 2, `${s.events.length} events`);
    const rows: (string | number)[][] = [[...MANIFEST_HEADER]];
    const files = (st: string, t: number) =>
      sdsPaths(
        `${root}/c/sds`,
        ["SY", st, "00", "HHZ"],
        Math.max(s.start, t - 5 * MIN),
        Math.min(s.end - 10, t + 5 * MIN),
      )
        .map((p) => p.slice(`${root}/c/`.length)).join(";");
    for (const e of s.events) {
      for (const a of e.arrivals) {
        rows.push([
          `${e.id}.${a.station}`,
          files(a.station, a.time),
          "stations.xml",
          "SY",
          a.station,
          "00",
          "HHZ",
          new Date(a.time).toISOString(),
          e.label,
        ]);
      }
    }
    // Noise windows: the middle of every noise interval long enough for the crop (−20 s, +66 s).
    // (and 2 minutes from the span's ends, which the 5 % taper before response removal needs).
    const mid = (l: { start: number; end: number }) =>
      Math.round((l.start + 20_000 + l.end - 66_000) / 2);
    const noise = s.labels.filter((l) =>
      l.label === "noise" && l.end - l.start > 100_000 && mid(l) - s.start > 2 * MIN &&
      s.end - mid(l) > 2 * MIN
    );
    assert(noise.length >= 1, "a noise window");
    for (const [i, l] of noise.entries()) {
      const t = mid(l);
      rows.push([
        `noise${i}.S0000`,
        files("S0000", t),
        "stations.xml",
        "SY",
        "S0000",
        "00",
        "HHZ",
        new Date(t).toISOString(),
        "noise",
      ]);
    }
    await Deno.writeTextFile(`${root}/c/manifest.csv`, formatCsv(rows));
    const config = parseExtractConfig({
      input: { format: "manifest", path: `${root}/c/manifest.csv` },
      components: ["Z"],
      workers: 0,
    });
    const r = await runExtract(config, `${root}/ds`, { quiet: true });
    assertEquals(r.ok, rows.length - 1, JSON.stringify(r.failures));
    assert(rows.some((x) => String(x[1]).includes(";")), "some rows read two day files");
    const ds = await openDataset(`${root}/ds`);
    try {
      const [, F, T] = ds.sampleShape;
      // Power in the 10 s after the reference time over that in the 20 s before it.
      const before = [...ds.times.keys()].filter((j) => ds.times[j] < -1);
      const after = [...ds.times.keys()].filter((j) => ds.times[j] > 1 && ds.times[j] < 11);
      for (let i = 0; i < ds.count; i++) {
        const x = ds.readBatch([i]);
        const mean = (cols: number[]) => {
          let sum = 0;
          for (let f = 0; f < F; f++) for (const j of cols) sum += x[f * T + j];
          return sum / (F * cols.length);
        };
        const ratio = mean(after) / mean(before);
        const sm = ds.samples[i];
        // An SNR of at least 5 is a power ratio of 25 over the first 10 s (38 to 929 here);
        // noise windows are stationary (0.96 to 1.24 here).
        if (sm.label === "noise") assert(ratio < 2, `${sm.id}: noise ratio ${ratio}`);
        else assert(ratio > 10, `${sm.id} (${sm.label}): ratio ${ratio}`);
      }
      assertEquals(ds.samples.filter((x) => x.label === "noise").length, noise.length);
    } finally {
      ds.close();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("synth --continuous UVW records the ground motion of ZNE along a Galperin triad, which extract rotates back to Z", async () => {
  const root = await Deno.makeTempDir();
  try {
    const opts = { hours: 0.1, stations: 1, eventsPerHour: 20, seed: 2 };
    const zne = await writeSynthContinuous(`${root}/zne`, { ...opts, components: ["Z", "N", "E"] });
    const uvw = await writeSynthContinuous(`${root}/uvw`, { ...opts, components: ["U", "V", "W"] });
    assertEquals(uvw.events, zne.events);
    const cfg = JSON.parse(await Deno.readTextFile(`${root}/uvw/extract.json`));
    assertEquals(cfg.components, ["Z", "N", "E"]);
    const xml = await Deno.readTextFile(`${root}/uvw/stations.xml`);
    const az = [...xml.matchAll(/<Azimuth[^>]*>([-\d.]+)</g)].map((m) => Number(m[1]));
    const dip = [...xml.matchAll(/<Dip[^>]*>([-\d.]+)</g)].map((m) => Number(m[1]));
    assertEquals([(az[1] - az[0] + 360) % 360, (az[2] - az[0] + 360) % 360], [120, 240]);
    assert(dip.every((d) => Math.abs(d + 35.2644) < 1e-4), JSON.stringify(dip));
    const [z, n, e] = await Promise.all(
      ["HHZ", "HHN", "HHE"].map((c) => readSpan(`${root}/zne`, zne, "S0000", c)),
    );
    const got = await Promise.all(
      ["HHU", "HHV", "HHW"].map((c) => readSpan(`${root}/uvw`, uvw, "S0000", c)),
    );
    for (const [k, c] of got.entries()) {
      const a = az[k] * Math.PI / 180, d = dip[k] * Math.PI / 180;
      let worst = 0;
      for (let i = 0; i < c.data.length; i++) {
        const want = Math.cos(d) * (n.data[i] * Math.cos(a) + e.data[i] * Math.sin(a)) -
          z.data[i] * Math.sin(d);
        worst = Math.max(worst, Math.abs(c.data[i] - want));
      }
      // Four rounded traces: at most 0.5 + 0.5·(|cos d|(|cos a| + |sin a|) + |sin d|) ≤ 1.37.
      assert(worst <= 1.37, `${"UVW"[k]} differs from the projected Z, N, E by ${worst} counts`);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("writeSynthContinuous refuses bad options, naming them", async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ hours: 0 }, "hours"],
    [{ hours: -1 }, "hours"],
    [{ stations: 0 }, "stations"],
    [{ stations: 1.5 }, "stations"],
    [{ components: ["Z", "N"] }, "components"],
    [{ components: ["N", "E", "Z"] }, "components"],
    [{ components: ["U", "V"] }, "components"],
    [{ snr: [0, 5] }, "snr"],
    [{ start: Date.UTC(2024, 0, 1) + 5 }, "start"],
  ];
  for (const [opts, name] of cases) {
    let msg = "";
    await writeSynthContinuous("/nonexistent/never", opts).catch((e) => msg = e.message);
    assert(msg.includes(name), `${JSON.stringify(opts)}: ${msg}`);
  }
});

Deno.test("synth --continuous: each S pick lies the event's drawn S − P after its P, regional events have none, and each origin precedes the onset by the documented offset", async () => {
  const root = await Deno.makeTempDir();
  try {
    const s = await writeSynthContinuous(`${root}/c`, {
      hours: 0.75,
      stations: 2,
      seed: 5,
      eventsPerHour: 10,
      start: Date.UTC(2024, 0, 1, 10),
    });
    const labels = new Set(s.events.map((e) => e.label));
    assert(labels.has("regional_event") && labels.has("local_earthquake"), [...labels].join());
    const q = await readQuakeMlFile(`${root}/c/events.xml`);
    for (const ev of s.events) {
      const mine = q.picks.filter((p) => p.eventId.split("/").at(-1)!.startsWith(ev.id));
      const hasS = ev.sMinusP > 0 && ev.label !== "regional_event";
      for (const a of ev.arrivals) {
        const at = mine.filter((p) => p.station === a.station);
        assertEquals(at.filter((p) => p.phase === "P").map((p) => p.time), [a.time], ev.id);
        const sp = at.filter((p) => p.phase === "S").map((p) => (p.time - a.time) / 1000);
        assertEquals(sp.length, hasS ? 1 : 0, `${ev.id} (${ev.label}) at ${a.station}`);
        if (hasS) {
          assert(Math.abs(sp[0] - ev.sMinusP) <= 1e-3, `${ev.id}: S − P ${sp[0]} != ${ev.sMinusP}`);
        }
      }
      // The origin: 60 s before the onset for a regional event, 2 s for the others; so before
      // every pick.
      const origin = q.origins.filter((o) => o.eventId.split("/").at(-1)!.startsWith(ev.id));
      assertEquals(origin.length, 1, ev.id);
      const before = ev.label === "regional_event" ? 60_000 : 2_000;
      assertEquals(origin[0].time, ev.onset - before, `${ev.id} (${ev.label}): origin time`);
      assert(mine.every((p) => p.time >= origin[0].time + before), ev.id);
    }
    assert(s.events.some((e) => e.label === "local_earthquake" || e.label === "explosion"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("synth --continuous: across seeds, the first onset is at least 90 s into the span, no arrival is within 120 s of its end, and a regional event's arrivals spread over up to 6 s, the others' over 3 s", async () => {
  const root = await Deno.makeTempDir();
  try {
    let events = 0, early = 0, late = 0, widest = 0;
    for (let seed = 0; seed < 12; seed++) {
      const start = Date.UTC(2024, 0, 1, 10);
      const s = await writeSynthContinuous(`${root}/s${seed}`, {
        hours: 0.1,
        stations: 2,
        seed,
        eventsPerHour: 60,
        start,
      });
      events += s.events.length;
      if (s.events.length === 0) continue;
      const first = Math.min(...s.events.flatMap((e) => e.arrivals.map((a) => a.time)));
      assert(first - start >= 90_000, `seed ${seed}: first arrival ${(first - start) / 1000} s in`);
      assertEquals(s.events[0].onset, first, `seed ${seed}: the first event comes first`);
      if (first - start < 120_000) early++;
      for (const e of s.events) {
        // Arrivals spread over up to 6 s for a regional event, 3 s for the others.
        const spread = Math.max(...e.arrivals.map((a) => a.time)) - e.onset;
        assert(spread <= (e.label === "regional_event" ? 6_000 : 3_000), `${e.id}: ${spread} ms`);
        if (e.label === "regional_event") widest = Math.max(widest, spread);
        for (const a of e.arrivals) {
          assert(
            a.time <= s.end - 120_000,
            `seed ${seed} ${e.id}: ${(s.end - a.time) / 1000} s left`,
          );
          if (a.time > s.end - 180_000) late++;
        }
      }
      await Deno.remove(`${root}/s${seed}`, { recursive: true });
    }
    // The seeds do come near both limits.
    assert(events > 12 && early > 0 && late > 0, `${events} events, ${early} early, ${late} late`);
    // A regional event here spreads over more than the others' 3 s (4.7 s).
    assert(widest > 3_000, `regional events spread over at most ${widest} ms`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("writeSynthContinuous takes an SNR range of one value: every arrival at that SNR", async () => {
  const root = await Deno.makeTempDir();
  try {
    const s = await writeSynthContinuous(`${root}/c`, {
      hours: 0.1,
      stations: 1,
      seed: 3,
      eventsPerHour: 60,
      snr: [8, 8],
    });
    assert(s.events.length > 0, "events placed");
    assert(s.events.every((e) => e.arrivals.every((a) => a.snr === 8)), "SNR 8 everywhere");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
