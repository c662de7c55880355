/**
 * `similar` on hand-made cluster and encode directories (labels.csv or samples.csv beside
 * latent.npy): what it prints for each sample. No model or adapter needed.
 */
import { join, relative } from "node:path";
import { run } from "./_run.ts";
import { encodeNpy } from "../../lib/io/npy.ts";
import { parseCsvRecords } from "../../lib/io/csv.ts";
import { decodePng, findText } from "../plot/_decode_png.ts";
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

/** A cluster directory by hand: labels.csv (its text given), result.json of k = 2, and files. */
async function evaluateDir(labels: string, files: Record<string, string> = {}): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "labels.csv"), labels);
  await Deno.writeTextFile(join(dir, "result.json"), JSON.stringify({ k: 2 }));
  for (const [f, text] of Object.entries(files)) await Deno.writeTextFile(join(dir, f), text);
  return dir;
}

const FOUR = "id,cluster,label\na,0,x\nb,0,x\nc,1,y\nd,1,y\n";

Deno.test("evaluate refuses an empty or negative cluster, naming its row and id", async () => {
  for (const [value, shown] of [["", "''"], ["-1", "'-1'"]]) {
    const dir = await evaluateDir(`id,cluster,label\na,0,x\nb,${value},y\n`);
    try {
      const r = await run("evaluate", dir, "-q");
      assertEquals(r.code, 2, value);
      assert(
        r.err[0].includes(`row 3 (id b): cluster must be an integer >= 0: found ${shown}`),
        r.err.join("\n"),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("evaluate refuses a cluster past result.json's k, naming its row, and a k that is not a whole number", async () => {
  const dir = await evaluateDir(`id,cluster,label\na,0,x\nb,1,y\nc,9,y\n`);
  try {
    const r = await run("evaluate", dir, "-q");
    assertEquals(r.code, 2);
    assertEquals(
      r.err[0],
      `error: Cannot evaluate ${dir}/labels.csv: row 4 (id c) gives cluster 9: expected 0 to 1, ` +
        "as result.json's k is 2 (files from different runs, or edited?)",
    );
    await Deno.writeTextFile(join(dir, "result.json"), JSON.stringify({ k: "2" }));
    const s = await run("evaluate", dir, "-q");
    assertEquals(s.code, 2);
    assertEquals(
      s.err[0],
      `error: Cannot evaluate ${dir}: result.json has k "2": expected a whole number (damaged ` +
        "or edited?)",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evaluate refuses a labels.csv without an id column, or with a column named twice", async () => {
  for (
    const [text, msg] of [
      ["cluster,label\n0,x\n1,y\n", "labels.csv: expected columns id and cluster"],
      ["id,cluster,cluster\na,0,1\n", "column 'cluster' is named twice (columns 2 and 3)"],
    ]
  ) {
    const dir = await evaluateDir(text);
    try {
      const r = await run("evaluate", dir, "-q");
      assertEquals(r.code, 2, text);
      assert(r.err[0].includes(msg), r.err.join("\n"));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("evaluate and similar refuse a labels.csv that lists an id twice, naming both rows", async () => {
  const dir = await evaluateDir("id,cluster,label\na,0,x\nb,0,x\nb,1,y\nd,1,y\n");
  try {
    await Deno.writeFile(join(dir, "latent.npy"), encodeNpy(new Float32Array(8), [4, 2]));
    const before = await Deno.readTextFile(join(dir, "labels.csv"));
    for (
      const [args, what] of [
        [["evaluate", dir], `Cannot evaluate ${dir}/labels.csv`],
        [["similar", dir, "--id", "a"], `Cannot search ${dir}: labels.csv`],
      ]
    ) {
      const r = await run(...args, "-q");
      assertEquals(r.code, 2, r.err.join("\n"));
      assertEquals(r.err, [
        `error: ${what}: id 'b' is listed twice (rows 3 and 4): expected each sample once`,
      ]);
    }
    assert(
      await Deno.stat(join(dir, "evaluation.json")).then(() => false, () => true),
      "evaluate wrote evaluation.json",
    );
    assertEquals(await Deno.readTextFile(join(dir, "labels.csv")), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evaluate counts a sample with an empty label as unlabelled, not as a class of its own", async () => {
  const dir = await evaluateDir("id,cluster,label\na,0,x\nb,0,x\nc,1,y\nd,1,\n");
  try {
    assertEquals((await run("evaluate", dir, "-q")).code, 0);
    const rep = JSON.parse(await Deno.readTextFile(join(dir, "evaluation.json")));
    assertEquals([rep.n, rep.labelled, rep.acc], [4, 3, 1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evaluate --labels trims the ids and labels, records the file's absolute path, and notes no ids when every id is known", async () => {
  // Ids and labels padded with spaces (a hand-edited file): a and b still read as x.
  const dir = await evaluateDir(FOUR, { "truth.csv": "id,label\n a, x\nb ,x \nc,y\nd,y\n" });
  try {
    // The codes cluster writes beside labels.csv (one missing is warned of).
    await Deno.writeFile(join(dir, "latent.npy"), encodeNpy(new Float32Array(8), [4, 2]));
    // A path relative to the working directory, recorded absolute.
    const rel = relative(Deno.cwd(), join(dir, "truth.csv"));
    const r = await run("evaluate", dir, "--labels", rel, "-q");
    assertEquals(r.code, 0, r.err.join("\n"));
    assertEquals(r.err, []);
    const rep = JSON.parse(await Deno.readTextFile(join(dir, "evaluation.json")));
    assertEquals([rep.acc, rep.labelled, rep.labelsFrom], [1, 4, join(dir, "truth.csv")]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evaluate --labels whose padded ids name samples but give no label says so, naming the row and its id trimmed", async () => {
  const dir = await evaluateDir(FOUR, { "truth.csv": "id,label\n a ,\nb,\n" });
  try {
    const r = await run("evaluate", dir, "--labels", join(dir, "truth.csv"), "-q");
    assertEquals(r.code, 2);
    assertEquals(r.err, [
      `error: Cannot use --labels ${join(dir, "truth.csv")}: row 2 (id 'a') has no label value, ` +
      `nor has any other row of a sample of ${dir}: expected id,label with each sample's class`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evaluate --labels names a file that does not exist once, as 'no such file' (not Deno's text naming it again)", async () => {
  const dir = await evaluateDir(FOUR);
  try {
    const r = await run("evaluate", dir, "--labels", join(dir, "truth.csv"), "-q");
    assertEquals(r.code, 2);
    assertEquals(r.err, [`error: Cannot read labels ${join(dir, "truth.csv")}: no such file`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evaluate --against refuses --labels too, a labels.csv with a column named twice, and a clustering of other samples", async () => {
  const dir = await evaluateDir(FOUR, { "truth.csv": "id,label\na,x\n" });
  const twice = await evaluateDir("id,cluster,cluster\na,0,1\n");
  const others = await evaluateDir("id,cluster\nz,0\ny,1\n");
  try {
    for (
      const [args, msg] of [
        [["--labels", join(dir, "truth.csv"), "--against", others], "--labels and --against"],
        [["--against", twice], "column 'cluster' is named twice"],
        [["--against", others], `Cannot compare ${dir} with ${others}: they share no sample id`],
      ] as [string[], string][]
    ) {
      const r = await run("evaluate", dir, ...args, "-q");
      assertEquals(r.code, 2, args.join(" "));
      assert(r.err[0].includes(msg), r.err.join("\n"));
    }
  } finally {
    for (const d of [dir, twice, others]) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("evaluate scores events.csv's events against the classes in use (--labels), says so in each output, and leaves them out of --against and where no event has a class", async () => {
  const events = "event,cluster,ids\ne1,0,a b\ne2,1,c d\n";
  const dir = await evaluateDir(FOUR, {
    "events.csv": events,
    "truth.csv": "id,label\na,x\nb,x\n",
  });
  const bare = await evaluateDir("id,cluster,label\na,0,\nb,0,\nc,1,\nd,1,\n", {
    "events.csv": events,
  });
  try {
    const quiet = await run("evaluate", dir, "-q");
    assert(quiet.out[0].includes("; events ACC 1.0000 NMI 1.0000"), quiet.out.join("\n"));
    const text = await run("evaluate", dir);
    assert(
      text.out.join("\n").includes("Events (each its samples' vote): ACC 1.0000"),
      text.out.join("\n"),
    );
    assertEquals(
      JSON.parse(await Deno.readTextFile(join(dir, "evaluation.json"))).events.labelled,
      2,
    );
    // --labels gives a class to a and b only: the second event (c, d) has none.
    await run("evaluate", dir, "--labels", join(dir, "truth.csv"), "-q");
    const rep = JSON.parse(await Deno.readTextFile(join(dir, "evaluation.json")));
    assertEquals([rep.labelled, rep.events.labelled], [2, 1]);
    const against = await run("evaluate", dir, "--against", dir, "--json");
    assertEquals("events" in JSON.parse(against.out.join("\n")), false);
    assertEquals((await run("evaluate", bare, "-q")).code, 0);
    const none = JSON.parse(await Deno.readTextFile(join(bare, "evaluation.json")));
    assertEquals([none.labelled, "events" in none], [0, false]);
  } finally {
    for (const d of [dir, bare]) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("similar refuses --n 0 and a latent.npy of other rows; a sample's empty label and time are null in JSON; a channel without a location column is no seed id", async () => {
  const dir = await clusterDir(
    "labels.csv",
    "id,network,station,channel,reference_time,cluster,label",
    [
      "a,AV,SPCR,BHZ,2012-06-25T12:52:39.000Z,0,lahar",
      "b,AV,SPCR,BHZ,,1,",
    ],
  );
  try {
    const zero = await run("similar", dir, "--id", "a", "--n", "0", "-q");
    assert(zero.code === 2 && zero.err[0].includes("Cannot use --n 0: expected at least 1"));
    const r = JSON.parse((await run("similar", dir, "--id", "a", "--n", "1", "--json")).out[0]);
    assertEquals(
      r.neighbours.map((x: Record<string, unknown>) => [x.id, x.label, x.referenceTime]),
      [
        ["b", null, null],
      ],
    );
    assertEquals([r.query.seedId, r.query.station], [null, "AV.SPCR"]);
    await Deno.writeFile(join(dir, "latent.npy"), encodeNpy(new Float32Array(6), [3, 2]));
    const other = await run("similar", dir, "--id", "a", "-q");
    assert(
      other.code === 2 &&
        other.err[0].includes(`Cannot search ${dir}: latent.npy holds 3 rows for 2 samples`),
      other.err.join("\n"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("similar without latent.npy says to run cluster or encode; one cut short is named with why it cannot be read", async () => {
  // A dataset's samples.csv lists the ids, but the dataset holds no latent codes.
  const dir = await clusterDir("samples.csv", "id,label", ["a,x", "b,y"]);
  try {
    const bytes = await Deno.readFile(join(dir, "latent.npy"));
    await Deno.writeFile(join(dir, "latent.npy"), bytes.subarray(0, 20));
    const cut = await run("similar", dir, "--id", "a", "-q");
    assertEquals(cut.code, 2);
    assert(
      cut.err[0].includes(`Cannot search ${dir}: cannot read latent.npy (Cannot read npy: `),
      cut.err.join("\n"),
    );
    await Deno.remove(join(dir, "latent.npy"));
    const none = await run("similar", dir, "--id", "a", "-q");
    assertEquals(none.code, 2);
    assert(
      none.err[0].includes(
        `Cannot search ${dir}: latent.npy is missing: run 'cluster' or 'encode' first`,
      ),
      none.err.join("\n"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** `n` imported samples [1, 8, 8] (64 values each: the largest code UMAP embeds), labelled. */
async function imported(root: string, n: number): Promise<string> {
  const x = Float32Array.from({ length: n * 64 }, (_, i) => Math.sin(i * 0.37) + (i % 5));
  await Deno.writeFile(join(root, "x.npy"), encodeNpy(x, [n, 1, 8, 8]));
  const ids = Array.from({ length: n }, (_, i) => `${i},${i % 2 ? "lahar" : "rockfall"}`);
  await Deno.writeTextFile(join(root, "l.csv"), ["id,label", ...ids].join("\n") + "\n");
  const ds = join(root, `ds${n}`);
  const r = await run("import", join(root, "x.npy"), "--out", ds, "--labels", join(root, "l.csv"));
  assertEquals(r.code, 0, r.err.join("\n"));
  return ds;
}

Deno.test("cluster --raw takes k = N, records --n-init's default and --seed, embeds codes of 64 dimensions from 3 samples, and ends labels.csv with a line end", async () => {
  const root = await Deno.makeTempDir();
  try {
    const ds = await imported(root, 3), out = join(root, "c");
    const r = await run("cluster", ds, "--raw", "--k", "3", "--seed", "7", "--out", out, "-q");
    assertEquals(r.code, 0, r.err.join("\n"));
    const result = JSON.parse(await Deno.readTextFile(join(out, "result.json")));
    assertEquals([result.dim, result.kmeans.k, result.kmeans.nInit, result.kmeans.seed], [
      64,
      3,
      10,
      7,
    ]);
    assertEquals(result.seed, 7);
    const umap = (await Deno.readTextFile(join(out, "umap.csv"))).trim().split("\n");
    assertEquals(umap.length, 4);
    const labels = await Deno.readTextFile(join(out, "labels.csv"));
    // A header and 3 rows, each ended.
    assertEquals(labels.split("\n").length, 5, labels);
    assert(labels.endsWith("\n"), labels);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cluster draws latent_pca.png for 2 samples, without UMAP, which needs 3", async () => {
  const root = await Deno.makeTempDir();
  try {
    const ds = await imported(root, 2), out = join(root, "c");
    const r = await run("cluster", ds, "--raw", "--k", "2", "--out", out, "-q");
    assertEquals(r.code, 0, r.err.join("\n"));
    assert((await Deno.stat(join(out, "latent_pca.png"))).size > 1000);
    assert(!(await Deno.stat(join(out, "umap.csv")).then(() => true, () => false)));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cluster takes --utc-offset -12, 14 and Solar (any case), going on to open the dataset", async () => {
  const root = await Deno.makeTempDir();
  try {
    const ds = await imported(root, 2);
    for (const h of ["-12", "14"]) {
      const r = await run(
        "cluster",
        join(root, "none"),
        "--raw",
        `--utc-offset=${h}`,
        "--out",
        root,
      );
      assertEquals(r.code, 2, h);
      assert(r.err[0].includes(`Cannot open dataset ${join(root, "none")}`), r.err.join("\n"));
    }
    // An imported array has no station longitudes: solar time is refused for that reason.
    const r = await run("cluster", ds, "--raw", "--utc-offset", " Solar", "--out", join(root, "c"));
    assertEquals(r.code, 2);
    assert(r.err[0].includes("Cannot use --utc-offset solar: no sample of"), r.err.join("\n"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/**
 * 4 imported samples at stations A and B, 100 s apart, whose samples.csv gives `event` (one
 * column of the file's, or none) and whose meta.json's config is `config`.
 */
async function stationDataset(root: string, events: string[], config: unknown): Promise<string> {
  const x = Float32Array.from({ length: 4 * 16 }, (_, i) => Math.sin(i * 0.37) + (i % 5));
  await Deno.writeFile(join(root, "x.npy"), encodeNpy(x, [4, 1, 4, 4]));
  const ds = join(root, "ds");
  assertEquals((await run("import", join(root, "x.npy"), "--out", ds, "-q")).code, 0);
  const rows = events.map((e, i) =>
    `${i},XX,${"AB"[i % 2]},,HHZ,2024-01-01T00:0${i}:40.000Z,,${e},,,,`
  );
  const head =
    "id,network,station,location,channel,reference_time,label,event,latitude,longitude,elevation,s_minus_p";
  await Deno.writeTextFile(join(ds, "samples.csv"), [head, ...rows].join("\n") + "\n");
  const meta = JSON.parse(await Deno.readTextFile(join(ds, "meta.json")));
  await Deno.writeTextFile(join(ds, "meta.json"), JSON.stringify({ ...meta, config }));
  return ds;
}

const TRIGGERS = {
  input: { format: "sds", windows: { trigger: { coincidence: { window: 10 } } } },
};

Deno.test("cluster writes events.csv and events.xml where samples name their event, as a catalogue's (its ids in events.xml), even where some name none", async () => {
  const root = await Deno.makeTempDir();
  try {
    const ds = await stationDataset(root, ["E1", "E1", "E2", ""], {});
    const out = join(root, "c");
    const r = await run("cluster", ds, "--raw", "--k", "2", "--no-plots", "--out", out, "-q");
    assertEquals(r.code, 0, r.err.join("\n"));
    const events = parseCsvRecords(await Deno.readTextFile(join(out, "events.csv")));
    assertEquals(events.map((e) => [e.event, e.samples]), [["E1", "2"], ["E2", "1"]]);
    const xml = await Deno.readTextFile(join(out, "events.xml"));
    assert(xml.includes("; catalogue event E1") && xml.includes("; catalogue event E2"), xml);
    const labels = parseCsvRecords(await Deno.readTextFile(join(out, "labels.csv")));
    assertEquals(labels.map((s) => s.event), ["E1", "E1", "E2", ""]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cluster groups an older trigger dataset's samples into events by triggers.csv's event column, and names a triggers.csv it cannot read", async () => {
  const root = await Deno.makeTempDir();
  try {
    // No event in samples.csv (written before that column); onsets 100 s apart would make 4
    // events by time, triggers.csv makes 2.
    const ds = await stationDataset(root, ["", "", "", ""], TRIGGERS);
    await Deno.writeTextFile(join(ds, "triggers.csv"), "id,event\n0,E1\n1,E1\n2,E2\n3,E2\n");
    const out = join(root, "c");
    const args = ["cluster", ds, "--raw", "--k", "2", "--no-plots", "-q", "--force", "--out", out];
    const r = await run(...args);
    assertEquals(r.code, 0, r.err.join("\n"));
    const events = parseCsvRecords(await Deno.readTextFile(join(out, "events.csv")));
    assertEquals(events.map((e) => e.samples), ["2", "2"]);
    assert(!(await Deno.readTextFile(join(out, "events.xml"))).includes("catalogue event"));
    await Deno.writeTextFile(join(ds, "triggers.csv"), "id,event,event\n0,E1,E1\n");
    const bad = await run(...args);
    assertEquals(bad.code, 2);
    assert(
      bad.err[0].includes(`Cannot read ${join(ds, "triggers.csv")}: column 'event' is named twice`),
      bad.err.join("\n"),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cluster writes episodes.csv for windows of continuous data, a row per run of windows", async () => {
  const root = await Deno.makeTempDir();
  try {
    const windows = {
      input: { format: "sds", windows: { step: 60 } },
      spectrogram: { before: 0, after: 60 },
    };
    const ds = await stationDataset(root, ["", "", "", ""], windows);
    const out = join(root, "c");
    const r = await run("cluster", ds, "--raw", "--k", "2", "--no-plots", "--out", out, "-q");
    assertEquals(r.code, 0, r.err.join("\n"));
    const episodes = parseCsvRecords(await Deno.readTextFile(join(out, "episodes.csv")));
    // Every window is in one episode: 4 windows in all.
    assertEquals(episodes.reduce((n, e) => n + Number(e.windows), 0), 4);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cluster --utc-offset solar notes the one sample without a station longitude", async () => {
  const root = await Deno.makeTempDir();
  try {
    const ds = await stationDataset(root, ["", "", "", ""], {});
    // Longitudes for samples 0 to 2 (latitude, longitude, elevation are the last three columns
    // but one).
    const lines = (await Deno.readTextFile(join(ds, "samples.csv"))).split("\n");
    for (const i of [1, 2, 3]) lines[i] = lines[i].replace(/,,,,$/, ",45,15,0,");
    await Deno.writeTextFile(join(ds, "samples.csv"), lines.join("\n"));
    const out = join(root, "c");
    const r = await run(
      "cluster",
      ds,
      "--raw",
      "--k",
      "2",
      "--no-plots",
      "--utc-offset",
      "solar",
      "--out",
      out,
      "-q",
    );
    assertEquals(r.code, 0, r.err.join("\n"));
    assert(
      r.err.includes(
        "note: 1 of 4 samples have no station longitude: left out of the hours of day (--utc-offset solar)",
      ),
      r.err.join("\n"),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cluster --umap-points 3 of 4 samples says so in latent_umap.png's title, and umap.csv holds the 3", async () => {
  const root = await Deno.makeTempDir();
  try {
    const ds = await imported(root, 4), out = join(root, "c");
    const r = await run(
      "cluster",
      ds,
      "--raw",
      "--k",
      "2",
      "--umap-points",
      "3",
      "--out",
      out,
      "-q",
    );
    assertEquals(r.code, 0, r.err.join("\n"));
    assertEquals((await Deno.readTextFile(join(out, "umap.csv"))).trim().split("\n").length, 4);
    const png = decodePng(await Deno.readFile(join(out, "latent_umap.png")));
    const title = "Latent codes (UMAP, 3 of 4 samples), 2 clusters";
    assertEquals(findText(png, title, { scale: 2 }).length, 1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("similar's table widens the time column to a microsecond time: each label starts under the header's", async () => {
  const dir = await clusterDir("labels.csv", "id,network,station,reference_time,cluster,label", [
    "a,AV,SPCR,2012-06-25T12:52:39.123456Z,0,lahar",
    "b,AV,SPCR,2012-06-25T12:52:40.000Z,1,rockfall",
  ]);
  try {
    const r = await run("similar", dir, "--id", "a", "--n", "1");
    assertEquals(r.code, 0, r.err.join("\n"));
    const [head, q, n1] = r.out.join("\n").split("\n");
    const at = head.indexOf("label");
    assertEquals([q.indexOf("lahar"), n1.indexOf("rockfall")], [at, at], r.out.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
