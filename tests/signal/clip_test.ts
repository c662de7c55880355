import { join } from "node:path";
import { CLIP_MIN_LEVELS, CLIP_RUN, clipping } from "../../lib/signal/clip.ts";
import { writeSynth } from "../../lib/io/synth.ts";
import { encodeMiniseed3, readMiniseedFile } from "../../lib/io/mseed.ts";
import { parseCsvRecords } from "../../lib/io/csv.ts";
import { run } from "../cli/_run.ts";
import { assert, assertEquals } from "../_assert.ts";

Deno.test("clipping finds runs at a record's largest or smallest value, not a wave's peaks or a quiet channel's levels", () => {
  const wave = Float64Array.from({ length: 2000 }, (_, i) => Math.round(8e6 * Math.sin(i / 40)));
  // A long-period wave of full amplitude stays near its peaks, but not on one value.
  assertEquals(clipping(wave), null);
  // Clipped at ±5e6: every sample beyond is on a rail.
  const railed = wave.map((v) => Math.max(-5e6, Math.min(5e6, v)));
  const beyond = wave.filter((v) => Math.abs(v) >= 5e6).length;
  assertEquals(clipping(railed), { max: 5e6, min: -5e6, samples: beyond });
  // Only the top rail (a sensor offset), in float data: found as well.
  const top = wave.map((v) => Math.min(3.3e6, v) * 1e-9);
  const c = clipping(top)!;
  assertEquals([c.max, c.samples], [3.3e6 * 1e-9, wave.filter((v) => v >= 3.3e6).length]);
  // A run one short of CLIP_RUN is a flat-topped peak, not clipping.
  const short = wave.slice(0, 300);
  for (let i = 0; i < CLIP_RUN - 1; i++) short[100 + i] = 9e6;
  assertEquals(clipping(short), null);
  short[100 + CLIP_RUN - 1] = 9e6;
  assertEquals(clipping(short)?.samples, CLIP_RUN);
  // A noise-free 0.2 Hz wave of 1000 counts at 100 Hz creeps onto its peaks (runs of equal
  // counts there, by steps of a count or less): not clipping; clipped at 700 it is.
  const slow = Float64Array.from(
    { length: 3000 },
    (_, i) => Math.round(1000 * Math.sin(2 * Math.PI * 0.2 * i / 100)),
  );
  assertEquals(clipping(slow), null);
  const slowClip = slow.map((v) => Math.max(-700, Math.min(700, v)));
  assertEquals(clipping(slowClip)?.samples, slow.filter((v) => Math.abs(v) >= 700).length);
  // A quiet channel: counts -3..3 repeat their extremes without any clipping.
  const quiet = Float64Array.from({ length: 2000 }, (_, i) => Math.round(3 * Math.sin(i / 3)));
  assert(new Set(quiet).size < CLIP_MIN_LEVELS);
  assertEquals(clipping(quiet), null);
  assertEquals(clipping(new Float64Array(50).fill(7)), null);
});

Deno.test("extract lists the samples whose raw counts look clipped in clipped.csv and says so", async () => {
  const root = await Deno.makeTempDir();
  try {
    const syn = join(root, "syn");
    await writeSynth(syn, { perClass: 2, seed: 3, classes: ["local_earthquake", "noise"] });
    // The first sample's channel through a recorder whose full scale is a fifth of its peak.
    const rows = parseCsvRecords(await Deno.readTextFile(join(syn, "manifest.csv")));
    const path = join(syn, rows[0].waveform);
    const traces = await readMiniseedFile(path);
    const n = traces[0];
    // The synthetic counts are few (-34..71): 1000 times the gain, with a count of noise.
    const loud = n.data.map((v, i) => 1000 * v + (i % 7));
    const rail = Math.round(0.2 * Math.max(...loud.map(Math.abs)));
    n.data = loud.map((v) => Math.max(-rail, Math.min(rail, v)));
    await Deno.writeFile(path, await encodeMiniseed3(traces));
    const out = join(root, "ds");
    const r = await run(
      "extract",
      "--config",
      join(syn, "extract.json"),
      "--out",
      out,
      "--workers",
      "0",
      "--quiet",
    );
    assertEquals(r.code, 0, r.err.join("\n"));
    const listed = parseCsvRecords(await Deno.readTextFile(join(out, "clipped.csv")));
    assertEquals(listed.length, 1, JSON.stringify(listed));
    const [row] = listed;
    assertEquals([row.id, row.channel], [
      rows[0].id,
      `${n.network}.${n.station}.${n.location}.${n.channel}`,
    ]);
    assertEquals([Number(row.max), Number(row.min)], [rail, -rail]);
    assert(Number(row.samples) >= CLIP_RUN, row.samples);
    assert(
      r.err.some((l) =>
        l.startsWith(`note: 1 of 4 samples look clipped: 1 channel(s) hold runs of ${CLIP_RUN}`) &&
        l.includes(`${out}/clipped.csv (e.g. ${rows[0].id}, ${row.channel}: ${row.samples} samples`)
      ),
      r.err.join("\n"),
    );
    // Unclipped: no file, no note.
    const plain = join(root, "plain");
    await writeSynth(join(root, "syn2"), { perClass: 2, seed: 3, classes: ["local_earthquake"] });
    const p = await run(
      "extract",
      "--config",
      join(root, "syn2", "extract.json"),
      "--out",
      plain,
      "--quiet",
    );
    assertEquals(p.code, 0, p.err.join("\n"));
    assert(!(await Deno.stat(join(plain, "clipped.csv")).then(() => true, () => false)));
    assert(!p.err.some((l) => l.includes("clipped")), p.err.join("\n"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("clipping judges a record of exactly CLIP_MIN_LEVELS distinct values, not one of 99", () => {
  // −100, a ramp −48 … top (steps of 1), five samples on the rail 100 (a jump of 52 > half the
  // mean step), then 0: 97 ramp values + 100 + −100 = 99 distinct values with top 48; 100 with 49.
  const record = (top: number) => {
    const ramp = Array.from({ length: top + 49 }, (_, i) => i - 48);
    return Float64Array.from([-100, ...ramp, 100, 100, 100, 100, 100, 0]);
  };
  assertEquals(CLIP_MIN_LEVELS, 100);
  assertEquals(new Set(record(48)).size, 99);
  assertEquals(clipping(record(48)), null);
  assertEquals(clipping(record(49)), { max: 100, min: -100, samples: 5 });
});
