/**
 * `similar` on hand-made cluster and encode directories (labels.csv or samples.csv beside
 * latent.npy): what it prints for each sample. No model or adapter needed.
 */
import { join } from "node:path";
import { run } from "./_run.ts";
import { encodeNpy } from "../../lib/io/npy.ts";
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
