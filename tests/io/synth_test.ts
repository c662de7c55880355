import { assertEquals } from "../_assert.ts";
import { readQuakeMlFile } from "../../lib/io/quakeml.ts";
import { readMiniseedFile } from "../../lib/io/mseed.ts";
import { parseCsvRecords } from "../../lib/io/csv.ts";
import {
  GALPERIN_DIP,
  sensorMotion,
  sensorOrientation,
  synthComponentsValid,
  writeSynth,
} from "../../lib/io/synth.ts";

Deno.test("synthComponentsValid: letters from Z, N, E, or Z, 1, 2 with 1 and 2 together and neither N nor E, or U, V, W together and alone", () => {
  for (const ok of ["Z", "ZNE", "NE", "E", "Z12", "12", "UVW"]) {
    assertEquals(synthComponentsValid([...ok]), true, ok);
  }
  for (const bad of ["Z12E", "Z12N", "12E", "Z1", "2", "UVWZ", "UV", "ZX"]) {
    assertEquals(synthComponentsValid([...bad]), false, bad);
  }
});

Deno.test("sensorOrientation: Z points up (dip −90), N and E north and east; 1 and 2 at az and az + 90°; U, V and W at az, az + 120° and az + 240°, 35.26° above the horizontal", () => {
  assertEquals(sensorOrientation("Z", 30), { azimuth: 0, dip: -90 });
  assertEquals(sensorOrientation("N", 30), { azimuth: 0, dip: 0 });
  assertEquals(sensorOrientation("E", 30), { azimuth: 90, dip: 0 });
  assertEquals(sensorOrientation("1", 300), { azimuth: 300, dip: 0 });
  assertEquals(sensorOrientation("2", 300), { azimuth: 30, dip: 0 });
  assertEquals(["U", "V", "W"].map((c) => sensorOrientation(c, 300)), [
    { azimuth: 300, dip: GALPERIN_DIP },
    { azimuth: 60, dip: GALPERIN_DIP },
    { azimuth: 180, dip: GALPERIN_DIP },
  ]);
  assertEquals(Math.round(GALPERIN_DIP * 100) / 100, -35.26);
  // Upward motion reaches a sensor tilted up (negative dip) with the sine of its tilt.
  const up = sensorMotion(
    Float64Array.of(1),
    Float64Array.of(0),
    Float64Array.of(0),
    { azimuth: 0, dip: -30 },
  );
  assertEquals(Math.round(up[0] * 1e12) / 1e12, 0.5);
});

Deno.test("writeSynth at 80 Hz names its channels HH (80 Hz is a high band rate), and without Z picks on the first component written", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeSynth(`${root}/s`, {
      perClass: 1,
      components: ["N", "E"],
      samplingRates: [80],
      classes: ["local_earthquake"],
    });
    const traces = await readMiniseedFile(`${root}/s/waveforms/syn00000.mseed`);
    assertEquals(traces.map((t) => `${t.channel} ${t.samplingRate}`).sort(), ["HHE 80", "HHN 80"]);
    const q = await readQuakeMlFile(`${root}/s/events.xml`);
    assertEquals([...new Set(q.picks.map((p) => p.channel))], ["HHN"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("writeSynth fires explosions in working hours: sample i at 8 + (7·i mod 10) h UTC, never 18:00 or later", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeSynth(`${root}/s`, { perClass: 4, classes: ["explosion"] });
    const rows = parseCsvRecords(await Deno.readTextFile(`${root}/s/manifest.csv`));
    assertEquals(rows.map((r) => new Date(r.reference_time).getUTCHours()), [8, 15, 12, 9]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
