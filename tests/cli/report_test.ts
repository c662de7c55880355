import { join } from "node:path";
import { assert, assertEquals } from "../_assert.ts";
import { episodeSummary, eventSummary } from "../../lib/cli/report.ts";
import { run } from "./_run.ts";

Deno.test("report: events and episodes summarised per cluster", () => {
  const ev = (cluster: number, agreement: number, stations: number) => ({
    cluster: String(cluster),
    agreement: agreement.toFixed(3),
    stations: String(stations),
  });
  assertEquals(eventSummary([ev(1, 1, 2), ev(0, 0.5, 4), ev(1, 0.6, 3)]), [
    ["cluster", "events", "mean agreement", "split", "mean stations"],
    ["0", "1", "0.500", "1", "4.0"],
    ["1", "2", "0.800", "1", "2.5"],
  ]);
  const ep = (cluster: number, duration: number, windows: number) => ({
    cluster: String(cluster),
    duration_s: duration.toFixed(3),
    windows: String(windows),
  });
  assertEquals(episodeSummary([ep(2, 3600, 83), ep(2, 1800, 41), ep(0, 86, 1)]), [
    ["cluster", "episodes", "total h (all channels)", "longest s", "windows"],
    ["0", "1", "0.02", "86", "1"],
    ["2", "2", "1.50", "3600", "124"],
  ]);
});

/**
 * A cluster directory by hand, as cluster, evaluate and a model directory leave it: 7 samples
 * in 3 clusters, local time UTC+2, scored against a --labels file, with events and episodes.
 */
async function clusterDir(root: string): Promise<string> {
  const dir = join(root, "c"), model = join(root, "m");
  await Deno.mkdir(dir);
  await Deno.mkdir(model);
  const write = (path: string, text: string) => Deno.writeTextFile(path, text);
  await write(
    join(dir, "result.json"),
    JSON.stringify({
      stage: "dec",
      n: 7,
      k: 3,
      dim: 4,
      normalize: "maxabs",
      dataset: join(root, "ds"),
      model,
      created: "2026-01-01T00:00:00.000Z",
      utcOffset: 2,
    }),
  );
  await write(
    join(dir, "clusters.csv"),
    "cluster,size,mean_confidence,peak_hour,median_s_minus_p\n0,3,0.9,3,\n1,2,0.8,,\n2,2,0.7,5,\n",
  );
  await write(join(dir, "labels.csv"), "id,cluster\n");
  await write(join(dir, "umap.csv"), "id,umap_x,umap_y,cluster\n");
  await write(join(dir, "events.xml"), "<q/>\n");
  await write(
    join(dir, "events.csv"),
    "event,cluster,agreement,stations,ids\ne1,0,1.000,2,a;b\ne2,2,0.500,2,c;d\n",
  );
  await write(join(dir, "episodes.csv"), "cluster,duration_s,windows\n1,7200,9\n");
  await write(
    join(dir, "evaluation.json"),
    JSON.stringify({
      acc: 0.8,
      nmi: 0.5,
      ari: 0.25,
      silhouette: 0.125,
      n: 7,
      labelled: 5,
      labelsFrom: join(root, "truth.csv"),
      events: { acc: 1, nmi: 1, ari: 1, labelled: 2 },
      classes: ["lahar", "rockfall"],
      confusion: [[2, 0, 1], [0, 2, 0]],
    }),
  );
  for (const f of ["stations.png", "latent_pca.png"]) await write(join(dir, f), "png");
  for (const f of ["learning_curve.png", "k_selection.png"]) await write(join(model, f), "png");
  return dir;
}

Deno.test("report: the title counts samples and clusters; the settings table has no empty header; every output file is linked", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = await clusterDir(root);
    const r = await run("report", dir, "--quiet");
    assertEquals(r.code, 0, r.err.join("\n"));
    const html = await Deno.readTextFile(join(dir, "report.html"));
    assert(html.includes("<h1>seisdec clustering: 7 samples in 3 clusters (dec)</h1>"), html);
    assert(html.includes("<table><tbody><tr><td>dataset</td><td>../ds</td></tr>"), html);
    for (const f of ["labels.csv", "clusters.csv", "events.csv", "events.xml", "episodes.csv"]) {
      assert(html.includes(`<a href="${f}">${f}</a>`), `report links ${f}`);
    }
    assert(html.includes(`<a href="umap.csv">umap.csv</a>`), "report links umap.csv");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("report: clusters in the result's local time, events, episodes, the scores against --labels and the confusion matrix, and every figure", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = await clusterDir(root);
    assertEquals((await run("report", dir, "--quiet")).code, 0);
    const html = await Deno.readTextFile(join(dir, "report.html"));
    // The clusters: hours in UTC+2, as cluster --utc-offset 2 counted them; 1/k for k = 3; no
    // S − P column where no cluster has one.
    assert(html.includes("<th>busiest hour (UTC+2)</th>"), html);
    assert(html.includes("between 1/k (0.33, no preference)"), html);
    assert(!html.includes("median S − P"), html);
    assert(html.includes("<h2>Events</h2>") && html.includes("<h2>Episodes</h2>"), html);
    assert(
      html.includes("<tr><td>1</td><td>1</td><td>2.00</td><td>7200</td><td>9</td></tr>"),
      html,
    );
    // Scored against a --labels file, named relative to the page.
    assert(html.includes("<p>Against the classes of ../truth.csv (evaluate --labels).</p>"), html);
    assert(
      html.includes(
        "<tr><td>samples</td><td>0.8000</td><td>0.5000</td><td>0.2500</td><td>0.1250</td><td>5</td></tr>",
      ),
      html,
    );
    assert(
      html.includes(
        "<tr><td>events (each its samples&#39; vote)</td><td>1.0000</td><td>1.0000</td>" +
          "<td>1.0000</td><td></td><td>2</td></tr>",
      ),
      html,
    );
    assert(
      html.includes(
        "<thead><tr><th></th><th>c0</th><th>c1</th><th>c2</th></tr></thead><tbody>" +
          "<tr><td>lahar</td><td>2</td><td>0</td><td>1</td></tr>" +
          "<tr><td>rockfall</td><td>0</td><td>2</td><td>0</td></tr>",
      ),
      html,
    );
    for (
      const img of [
        "latent_pca.png",
        "stations.png",
        "../m/learning_curve.png",
        "../m/k_selection.png",
      ]
    ) {
      assert(html.includes(`<img src="${img}"`), `report shows ${img}`);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("report warns, naming model.json and why, where it cannot read the model's model.json, and writes the rest", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = await clusterDir(root);
    const model = join(root, "m", "model.json");
    // Read (a byte-order mark before it, as a Windows editor saves it): no warning.
    await Deno.writeTextFile(model, '\uFEFF{"version": 1}');
    let r = await run("report", dir, "--quiet");
    assertEquals([r.code, r.err], [0, []]);
    for (
      const [text, why] of [
        ['{"datasetSettings": {', "not JSON: "],
        ["[]", "not a JSON object"],
        [null, "no such file"],
      ] as const
    ) {
      if (text === null) await Deno.remove(model);
      else await Deno.writeTextFile(model, text);
      r = await run("report", dir, "--quiet");
      assertEquals(r.code, 0, r.err.join("\n"));
      assertEquals(r.err.length, 1, r.err.join("\n"));
      assert(r.err[0].startsWith(`warning: cannot read ${model} (${why}`), r.err[0]);
      assert(
        r.err[0].endsWith("): the report leaves out how the model's training data was made"),
        r.err[0],
      );
      const html = await Deno.readTextFile(join(dir, "report.html"));
      assert(html.includes("<h1>seisdec clustering") && html.includes("../m/learning_curve.png"));
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("report replaces the directory's own report.html, whatever it holds", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = await clusterDir(root);
    await Deno.writeTextFile(join(dir, "report.html"), "an old page by hand\n");
    const r = await run("report", dir, "--quiet");
    assertEquals(r.code, 0, r.err.join("\n"));
    assert((await Deno.readTextFile(join(dir, "report.html"))).startsWith("<!doctype html>"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("report on an encode directory says it is an encoding directory, with its article", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      join(dir, "result.json"),
      JSON.stringify({ stage: "encode", n: 6, k: 0, dim: 9 }),
    );
    const r = await run("report", dir, "--quiet");
    assertEquals(r.code, 2);
    assertEquals(r.err, [
      `error: Cannot report on ${dir}: it is an encoding directory: give the output of 'cluster'`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
