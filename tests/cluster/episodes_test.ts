import { assertEquals } from "../_assert.ts";
import { episodesCsv, windowEpisodes } from "../../lib/cluster/episodes.ts";
import { windowsOfDataset } from "../../lib/cli/cluster.ts";

const T0 = Date.UTC(2024, 0, 1);

Deno.test("episodes: consecutive windows of a channel in one cluster merge; a missing window, another cluster or another channel starts a new one", () => {
  const w = (station: string, s: number) => ({
    network: "XX",
    station,
    location: "",
    channel: "HHZ",
    referenceTime: new Date(T0 + s * 1000).toISOString(),
  });
  // A at 0, 30, 60 (cluster 1), 90 (cluster 0), 150 (cluster 0, after a missing 120);
  // B at 0, 30 (cluster 1), given in reverse and interleaved with A's.
  const samples = [
    w("A", 60),
    w("B", 30),
    w("A", 0),
    w("A", 150),
    w("B", 0),
    w("A", 90),
    w(
      "A",
      30,
    ),
    { ...w("A", 200), referenceTime: null },
  ];
  const labels = Int32Array.from([1, 1, 1, 0, 1, 0, 1, 1]);
  const q = Float32Array.from([
    0.2,
    0.8,
    0.4,
    0.6,
    0.1,
    0.9,
    0.7,
    0.3,
    0.5,
    0.5,
    0.6,
    0.4,
    0.3,
    0.7,
    0.5,
    0.5,
  ]);
  const e = windowEpisodes(samples, labels, 2, q, 30_000, [5, 25]);
  assertEquals(
    e.map((x) => [x.station, x.cluster, (x.start - T0) / 1000, (x.end - T0) / 1000, x.windows]),
    [
      ["A", 1, -5, 85, 3],
      ["B", 1, -5, 55, 2],
      ["A", 0, 85, 115, 1],
      ["A", 0, 145, 175, 1],
    ],
  );
  // Mean of the max q of A's 0, 30, 60 (0.9, 0.7, 0.8) and B's 0, 30 (0.5, 0.6).
  assertEquals(e[0].confidence!.toFixed(6), "0.800000");
  assertEquals(e[1].confidence!.toFixed(6), "0.550000");
  // A step off by more than 1 ms breaks the run; within 1 ms it does not.
  const jitter = [w("A", 0), { ...w("A", 0), referenceTime: new Date(T0 + 30_001).toISOString() }];
  assertEquals(
    windowEpisodes(jitter, Int32Array.from([0, 0]), 1, null, 30_000, [0, 1]).length,
    1,
  );
  const off = [w("A", 0), { ...w("A", 0), referenceTime: new Date(T0 + 30_002).toISOString() }];
  assertEquals(windowEpisodes(off, Int32Array.from([0, 0]), 1, null, 30_000, [0, 1]).length, 2);
  assertEquals(
    episodesCsv(e.slice(0, 1)),
    "cluster,network,station,location,channel,start,end,duration_s,windows,mean_confidence\n" +
      "1,XX,A,,HHZ,2023-12-31T23:59:55.000Z,2024-01-01T00:01:25.000Z,90.000,3,0.800000\n",
  );
  assertEquals(windowEpisodes(samples, labels, 2, null, 30_000, [5, 25])[0].confidence, null);
});

Deno.test("episodes: only a dataset of SDS windows has a step", () => {
  const spectrogram = { before: 20, after: 66 };
  assertEquals(
    windowsOfDataset({ input: { format: "sds", windows: { step: 43 } }, spectrogram }),
    { stepMs: 43_000, crop: [20, 66] },
  );
  assertEquals(windowsOfDataset({ input: { format: "sds", windows: null }, spectrogram }), null);
  assertEquals(windowsOfDataset({ input: { format: "manifest" }, spectrogram }), null);
  assertEquals(windowsOfDataset({ import: { source: "x.npy" } }), null);
  assertEquals(windowsOfDataset(null), null);
});

Deno.test("episodes: channels starting together are in code-unit order of their ids, whatever the locale (LANG=da_DK sorted AAB after BSD)", async () => {
  const script = `
    import { windowEpisodes } from "${new URL("../../lib/cluster/episodes.ts", import.meta.url)}";
    const at = new Date(${T0}).toISOString();
    const s = ["BSD", "AAB", "ANT", "abc"].map((station) =>
      ({ network: "XX", station, location: "", channel: "HHZ", referenceTime: at }));
    const e = windowEpisodes(s, Int32Array.from([0, 0, 0, 0]), 1, null, 30_000, [0, 30_000]);
    console.log(e.map((x) => x.station).join(","));`;
  for (const lang of ["C.UTF-8", "da_DK.UTF-8"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-lock", script],
      env: { LANG: lang, LC_ALL: lang },
    }).output();
    assertEquals(new TextDecoder().decode(out.stderr), "", lang);
    assertEquals(new TextDecoder().decode(out.stdout).trim(), "AAB,ANT,BSD,abc", lang);
  }
});

Deno.test("episodes: two location codes of one station and channel are two channels, each its own episodes", () => {
  const w = (location: string, s: number) => ({
    network: "XX",
    station: "A",
    location,
    channel: "HHZ",
    referenceTime: new Date(T0 + s * 1000).toISOString(),
  });
  // 00 at 0 and 30, 10 at 30 and 60: as one channel they would be 0, 30, 30, 60.
  const samples = [w("00", 0), w("10", 30), w("00", 30), w("10", 60)];
  const e = windowEpisodes(samples, Int32Array.from([0, 0, 0, 0]), 1, null, 30_000, [0, 0]);
  assertEquals(
    e.map((x) => [x.location, (x.start - T0) / 1000, (x.end - T0) / 1000, x.windows]),
    [["00", 0, 30, 2], ["10", 30, 60, 2]],
  );
});
