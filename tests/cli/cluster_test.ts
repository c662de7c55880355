/**
 * `similar` on hand-made cluster and encode directories (labels.csv or samples.csv beside
 * latent.npy): what it prints for each sample. No model or adapter needed.
 */
import { join } from "node:path";
import { run } from "./_run.ts";
import { encodeNpy } from "../../lib/io/npy.ts";
import {
  formatProfiles,
  referencePhase,
  triggersOfDataset,
  windowsOfDataset,
} from "../../lib/cli/cluster.ts";
import type { ClusterProfile } from "../../lib/cluster/summary.ts";
import { EVENT_WINDOW_S } from "../../lib/io/extract.ts";
import { assert, assertEquals } from "../_assert.ts";

/** Latent codes on a line, so that sample i's nearest are i+1, i+2, ... */
async function clusterDir(file: string, header: string, rows: string[]): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, file), [header, ...rows].join("\n") + "\n");
  const latent = Float32Array.from({ length: rows.length * 2 }, (_, i) => i % 2 ? 0 : i * i);
  await Deno.writeFile(join(dir, "latent.npy"), encodeNpy(latent, [rows.length, 2]));
  return dir;
}

Deno.test("similar names each sample's channel as NET.STA.LOC.CHA, in the table and in JSON", async () => {
  const dir = await clusterDir(
    "labels.csv",
    "id,network,station,location,channel,reference_time,cluster,confidence,label",
    [
      "a,AV,SPCR,,BHE,2012-06-25T12:52:39.000Z,3,0.9,lahar",
      "b,IU,ANMO,00,BHZ,2015-08-22T23:58:20.000Z,3,0.8,lahar",
      "c,,,,,,1,0.7,",
    ],
  );
  try {
    const table = await run("similar", dir, "--id", "a", "--n", "2");
    assertEquals(table.code, 0, table.err.join("\n"));
    const [head, q, n1, n2] = table.out.join("\n").split("\n");
    assert(/\bseed_id\b/.test(head) && !/\bstation\b/.test(head), head);
    assert(/\sAV\.SPCR\.\.BHE\s/.test(q), q);
    assert(/\sIU\.ANMO\.00\.BHZ\s/.test(n1), n1);
    // A sample without station codes (imported) shows none, not a lone dot.
    assert(!/\s\.\s/.test(n2) && /^ {3}2\s+c\s/.test(n2), n2);
    const json = await run("similar", dir, "--id", "a", "--n", "2", "--json");
    assertEquals(json.code, 0, json.err.join("\n"));
    const r = JSON.parse(json.out.join("\n"));
    assertEquals([r.query.seedId, r.query.station], ["AV.SPCR..BHE", "AV.SPCR"]);
    assertEquals(
      r.neighbours.map((x: { seedId: string | null; station: string | null }) => [
        x.seedId,
        x.station,
      ]),
      [["IU.ANMO.00.BHZ", "IU.ANMO"], [null, null]],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("similar falls back to NET.STA where samples.csv has no location and channel columns", async () => {
  const dir = await clusterDir("samples.csv", "id,network,station,reference_time,label", [
    "a,AV,SPCR,2012-06-25T12:52:39.000Z,",
    "b,IU,ANMO,2015-08-22T23:58:20.000Z,",
  ]);
  try {
    const table = await run("similar", dir, "--id", "a", "--n", "1");
    assertEquals(table.code, 0, table.err.join("\n"));
    const [head, q, n1] = table.out.join("\n").split("\n");
    assert(/\bstation\b/.test(head), head);
    assert(/\sAV\.SPCR\s/.test(q) && /\sIU\.ANMO\s/.test(n1), `${q}\n${n1}`);
    const r = JSON.parse((await run("similar", dir, "--id", "a", "--n", "1", "--json")).out[0]);
    assertEquals([r.query.seedId, r.query.station, r.query.cluster], [null, "AV.SPCR", null]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cluster refuses --svg with --no-plots, before any work", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await run(
      "cluster",
      dir,
      "--raw",
      "--k",
      "2",
      "--no-plots",
      "--svg",
      "--out",
      `${dir}/c`,
    );
    assertEquals(r.code, 2);
    assert(r.err.join("\n").includes("Cannot use --svg with --no-plots"), r.err.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("windowsOfDataset gives an SDS dataset's window step in ms and its crop as before, after; triggersOfDataset its coincidence window", () => {
  const sds = (windows: unknown) => ({
    input: { format: "sds", windows },
    spectrogram: { before: 5, after: 55 },
  });
  assertEquals(windowsOfDataset(sds({ step: 30 })), { stepMs: 30_000, crop: [5, 55] });
  // Windows of another input (a manifest has none) are not windows of continuous data.
  assertEquals(windowsOfDataset({ ...sds({ step: 30 }), input: { format: "manifest" } }), null);
  assertEquals(
    windowsOfDataset({ ...sds(null), input: { format: "npz", windows: { step: 30 } } }),
    null,
  );
  assertEquals(triggersOfDataset(sds({ trigger: { coincidence: { window: 7.5 } } })), 7.5);
  assertEquals(triggersOfDataset(sds({ trigger: { coincidence: null } })), EVENT_WINDOW_S);
  assertEquals(triggersOfDataset(sds({ step: 30 })), null);
  assertEquals(
    triggersOfDataset({ input: { format: "npz", windows: { trigger: { coincidence: null } } } }),
    null,
  );
});

Deno.test("referencePhase: P for NPZ windows and triggers, the asked phase (one letter in capitals) for picks, none for regular windows or other inputs", () => {
  assertEquals(referencePhase({ input: { format: "npz" } }), "P");
  assertEquals(referencePhase({ input: { format: "sds", windows: { trigger: {} } } }), "P");
  assertEquals(referencePhase({ input: { format: "sds", windows: { step: 30 } } }), "");
  assertEquals(referencePhase({ input: { format: "sds" } }), "P");
  assertEquals(referencePhase({ input: { format: "sds", phase: "s" } }), "S");
  assertEquals(referencePhase({ input: { format: "sds", phase: "Pn" } }), "Pn");
  assertEquals(referencePhase({ input: { format: "manifest" } }), "");
});

Deno.test("formatProfiles shows the SNR column where any cluster has one, and S − P to 0.01 s", () => {
  const profile = (cluster: number, peakSnr: number | null, medianSMinusP: number | null) =>
    ({
      cluster,
      size: 3,
      meanConfidence: 0.9,
      peakFrequency: 2,
      peakTime: 1,
      peakSnr,
      stations: 1,
      hours: new Array(24).fill(0),
      medianSMinusP,
    }) as unknown as ClusterProfile;
  const [head, a, b] = formatProfiles([profile(0, 12.34, 3.456), profile(1, null, null)]).split(
    "\n",
  );
  assert(head.includes("SNR dB") && head.includes("S-P s"), head);
  assert(a.includes(" 12.3 ") && a.endsWith(" 3.46"), a);
  assert(!b.includes("3.4"), b);
});
