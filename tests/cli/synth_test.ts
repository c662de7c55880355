import { assert, assertEquals } from "../_assert.ts";
import { writeSynth } from "../../lib/io/synth.ts";
import { parseUtc, readManifest } from "../../lib/io/manifest.ts";
import { parseCsvRecords } from "../../lib/io/csv.ts";
import { readMiniseedFile } from "../../lib/io/mseed.ts";
import { findResponse, readStationXmlFile } from "../../lib/io/stationxml.ts";
import { readQuakeMlFile } from "../../lib/io/quakeml.ts";
import { parseExtractConfig } from "../../lib/io/extract_config.ts";
import { SYNTH_CLASSES } from "../../lib/signal/synth.ts";
import { dirname } from "node:path";
import { openDataset } from "../../lib/io/dataset.ts";
import { run } from "./_run.ts";
import { shellWord } from "../../lib/cli/_shared.ts";

Deno.test("synth writes real miniSEED/StationXML/QuakeML that read back through the same readers", async () => {
  const dir = (await Deno.makeTempDir()) + "/syn";
  const n = await writeSynth(dir, {
    perClass: 2,
    components: ["Z", "N", "E"],
    samplingRates: [50, 100],
    seed: 4,
  });
  assertEquals(n, 10);
  const tasks = await readManifest(`${dir}/manifest.csv`);
  assertEquals(tasks.length, 10);
  const counts: Record<string, number> = {};
  for (const t of tasks) counts[t.label!] = (counts[t.label!] ?? 0) + 1;
  assertEquals(counts, Object.fromEntries(SYNTH_CLASSES.map((c) => [c, 2])));
  const inv = await readStationXmlFile(`${dir}/stations.xml`);
  const q = await readQuakeMlFile(`${dir}/events.xml`);
  assertEquals(q.origins.length, 8, "one event per non-noise sample");
  for (const t of tasks) {
    const tr = await readMiniseedFile(t.waveforms[0]);
    assertEquals(tr.map((x) => x.channel.at(-1)).sort(), ["E", "N", "Z"]);
    for (const x of tr) {
      // Integer counts, 110 s of data with the onset 30 s in.
      assert(x.data.every(Number.isInteger), "counts");
      assertEquals(x.data.length, 110 * x.samplingRate + 1);
      assertEquals(t.referenceTime! - x.startTime, 30000);
      findResponse(inv, x, t.referenceTime!, "stations.xml");
    }
    const p = q.picks.find((p) => p.station === t.station && p.phase === "P");
    if (t.label === "noise") assert(p === undefined, "noise has no pick");
    else {assertEquals(
        p!.time,
        t.referenceTime,
        `P pick of ${t.id} equals the manifest reference time`,
      );}
  }
  // Sample i is on day ⌊i / 24⌋; explosions fire in working hours, the others at hour i mod 24.
  tasks.forEach((t, i) => {
    const d = new Date(t.referenceTime!);
    assertEquals(Math.floor((d.getTime() - Date.UTC(2024, 0, 1)) / 86_400_000), Math.floor(i / 24));
    const h = d.getUTCHours();
    if (t.label === "explosion") {
      assert(h >= 8 && h <= 17, `explosion ${t.id} at ${d.toISOString()}`);
    } else assertEquals(h, i % 24, t.id);
  });
  // The written extract config validates and points at the manifest.
  const cfg = parseExtractConfig(JSON.parse(await Deno.readTextFile(`${dir}/extract.json`)));
  assertEquals(cfg.components, ["Z", "N", "E"]);
  await Deno.remove(dirname(dir), { recursive: true });
});

Deno.test("synth is reproducible for a seed", async () => {
  const root = await Deno.makeTempDir();
  await writeSynth(`${root}/a`, { perClass: 1, seed: 7 });
  await writeSynth(`${root}/b`, { perClass: 1, seed: 7 });
  await writeSynth(`${root}/c`, { perClass: 1, seed: 8 });
  const f = (d: string) => Deno.readFile(`${root}/${d}/waveforms/syn00002.mseed`);
  assertEquals(await f("a"), await f("b"));
  assert((await f("a")).join() !== (await f("c")).join(), "another seed differs");
  await Deno.remove(root, { recursive: true });
});

Deno.test("synth prints its summary on stdout and the next command on stderr, which --quiet leaves out", async () => {
  const root = await Deno.makeTempDir();
  try {
    const loud = await run("synth", "--per-class", "1", "--out", `${root}/a`);
    assertEquals(loud.code, 0, loud.err.join("\n"));
    assertEquals(loud.out.length, 1, loud.out.join("\n"));
    assert(loud.out[0].startsWith(`synth: 5 samples (Z) -> ${root}/a in `), loud.out[0]);
    assert(loud.err.join("\n").includes("next: deno run -A cli.ts extract --config "), "no hint");
    const quiet = await run("synth", "--per-class", "1", "--out", `${root}/b`, "-q");
    assertEquals([quiet.code, quiet.out.length, quiet.err], [0, 1, []], quiet.out.join("\n"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("synth's next command runs as printed: a concrete dataset beside the set, paths quoted for a POSIX shell, as --help shows it", async () => {
  const root = await Deno.makeTempDir();
  try {
    const plain = `${root}/set`;
    const r = await run("synth", "--per-class", "1", "--out", plain);
    assertEquals(r.code, 0, r.err.join("\n"));
    const hint = r.err.find((l) => l.startsWith("next: "))!.slice("next: ".length);
    assertEquals(
      hint,
      `deno run -A cli.ts extract --config ${plain}/extract.json --scaling db --out ${plain}_ds`,
    );
    // --help shows the same command, DIR for the set.
    const help = (await run("synth", "--help")).out.join("\n");
    assert(help.includes(`  ${hint.replaceAll(plain, "DIR")}\n`), help);
    // A space, a quote and a tilde are quoted; other scripts' letters need no quotes.
    const odd = `${root}/my set's ~ü`;
    const q = await run("synth", "--per-class", "1", "--out", `${odd}/`);
    assertEquals(q.code, 0, q.err.join("\n"));
    const line = q.err.find((l) => l.startsWith("next: "))!.slice("next: ".length);
    assert(!line.includes("<"), line);
    if (Deno.build.os !== "windows") {
      // The shell splits it back into the words extract needs.
      const words = new TextDecoder().decode(
        (await new Deno.Command("sh", { args: ["-c", `printf '%s\\n' ${line}`] }).output()).stdout,
      ).trimEnd().split("\n");
      assertEquals(words, [
        ..."deno run -A cli.ts extract --config".split(" "),
        `${odd}/extract.json`,
        "--scaling",
        "db",
        "--out",
        `${odd}_ds`,
      ]);
    }
    assertEquals(shellWord("work/dür_ds"), "work/dür_ds");
    assertEquals(shellWord("~/x"), "'~/x'");
    assertEquals(shellWord(""), "''");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("synth --continuous writes an SDS archive that extract --sds --picks reads, one sample per event and station", async () => {
  const root = await Deno.makeTempDir();
  try {
    const out = `${root}/cont`;
    const r = await run(
      "synth",
      "--continuous",
      "--hours",
      "0.3",
      "--stations",
      "3",
      "--events-per-hour",
      "12",
      "--seed",
      "4",
      "--out",
      out,
    );
    assertEquals(r.code, 0, r.err.join("\n"));
    // The commands that extract it, runnable as printed: datasets beside the archive.
    assertEquals(r.err.join("\n").split("\n").slice(-2), [
      `picks: deno run -A cli.ts extract --sds ${out}/sds --picks ${out}/events.xml --stations ` +
      `${out}/stations.xml --scaling db --out ${out}_picks_ds`,
      `windows: deno run -A cli.ts extract --config ${out}/extract.json --scaling db --out ` +
      `${out}_windows_ds`,
    ]);
    const m = /(\d+) events/.exec(r.out[0]);
    assert(m, r.out[0]);
    const events = Number(m[1]);
    assert(events >= 2, r.out[0]);
    // The windows-mode config, exactly as extract's windows mode reads it.
    assertEquals(JSON.parse(await Deno.readTextFile(`${out}/extract.json`)), {
      input: {
        format: "sds",
        dir: "sds",
        stations: "stations.xml",
        windows: {
          start: "2024-01-01T00:00:00.000Z",
          end: "2024-01-01T00:18:00.000Z",
          step: 43,
          channels: ["SY.S0000.00.HHZ", "SY.S0001.00.HHZ", "SY.S0002.00.HHZ"],
          labels: "labels.csv",
        },
      },
      components: ["Z"],
      workers: "auto",
    });
    const e = await run(
      "extract",
      "--sds",
      `${out}/sds`,
      "--picks",
      `${out}/events.xml`,
      "--stations",
      `${out}/stations.xml`,
      "--workers",
      "0",
      "--out",
      `${root}/ds`,
      "--quiet",
    );
    assertEquals(e.code, 0, e.err.join("\n"));
    const q = await readQuakeMlFile(`${out}/events.xml`);
    const ds = await openDataset(`${root}/ds`);
    try {
      assertEquals(ds.count, events * 3, "one sample per event and station");
      for (const s of ds.samples) {
        const p = q.picks.find((p) =>
          p.phase === "P" && p.station === s.station &&
          s.id.startsWith(p.eventId.split("/").at(-1)!)
        );
        assertEquals(new Date(p!.time).toISOString(), s.referenceTime, s.id);
      }
    } finally {
      ds.close();
    }
    // An existing archive is kept without --force.
    const again = await run("synth", "--continuous", "--hours", "0.1", "--out", out);
    assert(again.code !== 0, "refused");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("synth --continuous: bad flag values fail naming the flag", async () => {
  const cases: [string[], string][] = [
    [["--hours", "0"], "--hours"],
    [["--hours=-2"], "--hours"],
    [["--hours", "x"], "--hours"],
    [["--stations", "0"], "--stations"],
    [["--stations", "1.5"], "--stations"],
    [["--components", "ZN"], "--components"],
    [["--components", "E"], "--components"],
    [["--start", "yesterday"], "--start"],
    [["--events-per-hour", "0"], "--events-per-hour"],
    [["--per-class", "3"], "--per-class"],
  ];
  for (const [flags, name] of cases) {
    const r = await run("synth", "--continuous", "--out", "/nonexistent/x", ...flags);
    assertEquals(r.code, 2, flags.join(" "));
    assert(r.err.join("\n").includes(`Cannot read ${name}`), `${flags.join(" ")}: ${r.err}`);
  }
  // The continuous flags without --continuous are refused too.
  const r = await run("synth", "--hours", "2", "--out", "/nonexistent/x");
  assert(r.err.join("\n").includes("--hours"), r.err.join("\n"));
});

Deno.test("synth: repeated components or classes, an SNR range backwards and rates below 20 Hz fail naming the flag", async () => {
  const cases: [string[], string][] = [
    // ZZ wrote the same channel twice; noise,noise made 4 samples of one class; 30,5 was taken
    // as given; 1 Hz failed inside a filter design.
    [["--components", "ZZ"], "Cannot read --components: expected letters from ZNE"],
    [["--classes", "noise,noise"], "Cannot read --classes: expected each class once"],
    [["--snr", "30,5"], "Cannot read --snr: expected LO,HI with LO <= HI"],
    [["--rates", "100,1"], "Cannot read --rates: the classes' signals reach 18 Hz"],
  ];
  for (const [flags, want] of cases) {
    const r = await run("synth", "--out", "/nonexistent/x", ...flags);
    assertEquals(r.code, 2, flags.join(" "));
    assert(r.err.join("\n").includes(want), `${flags.join(" ")}: ${r.err}`);
  }
});

Deno.test("synth's S picks lie the class's drawn S − P after P, regional events have none, and each origin precedes its P by the documented offset", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeSynth(`${root}/s`, { perClass: 3, components: ["Z"], seed: 11 });
    // drawEvent's S − P (s): local earthquake U(2, 8), explosion U(1, 4); a regional event's
    // Lg − Pn is drawn but written as no S pick; tremor and noise have none.
    const range: Record<string, [number, number]> = {
      local_earthquake: [2, 8],
      explosion: [1, 4],
    };
    const rows = parseCsvRecords(await Deno.readTextFile(`${root}/s/manifest.csv`));
    const picks = parseCsvRecords(await Deno.readTextFile(`${root}/s/picks.csv`));
    const q = await readQuakeMlFile(`${root}/s/events.xml`);
    assertEquals(rows.length, 15);
    let withS = 0;
    for (const r of rows) {
      const ref = parseUtc(r.reference_time)!;
      const mine = picks.filter((p) => p.id === r.id);
      const p = mine.filter((x) => x.phase === "P");
      const s = mine.filter((x) => x.phase === "S");
      const qs = q.picks.filter((x) => x.station === r.station && x.phase === "S");
      const qp = q.picks.filter((x) => x.station === r.station && x.phase === "P");
      if (r.label in range) {
        const [lo, hi] = range[r.label];
        assertEquals(p.length, 1, r.id);
        assertEquals(s.length, 1, r.id);
        assertEquals(parseUtc(p[0].time), ref, r.id);
        const sp = (parseUtc(s[0].time)! - ref) / 1000;
        assert(sp >= lo - 1e-3 && sp <= hi + 1e-3, `${r.id} (${r.label}): S − P ${sp} s`);
        assertEquals(parseUtc(r.s_time), parseUtc(s[0].time), `${r.id}: manifest s_time`);
        assertEquals(qs.map((x) => x.time - qp[0].time), [sp * 1000], `${r.id}: QuakeML S − P`);
        withS++;
      } else {
        assertEquals(s.length, 0, `${r.id} (${r.label}) has no S pick`);
        assertEquals(qs.length, 0, `${r.id} (${r.label}) has no QuakeML S pick`);
        assertEquals(r.s_time, "", `${r.id} (${r.label}) has no s_time`);
        assertEquals(p.length, r.label === "noise" ? 0 : 1, r.id);
      }
      if (r.label === "noise") continue;
      // The origin: 60 s before P for a regional event, 2 s for the others.
      const origin = q.origins.filter((o) => o.eventId.split("/").at(-1)!.startsWith(r.id));
      assertEquals(origin.length, 1, r.id);
      const before = r.label === "regional_event" ? 60_000 : 2_000;
      assertEquals(origin[0].time, ref - before, `${r.id} (${r.label}): origin time`);
    }
    assertEquals(withS, 6);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("synth: --rates 20 is allowed, three SNR values and a --start off the 100 Hz grid are refused", async () => {
  const root = await Deno.makeTempDir();
  try {
    const ok = await run(
      "synth",
      "--out",
      `${root}/r20`,
      "--rates",
      "20",
      "--classes",
      "noise",
      "--per-class",
      "1",
      "--quiet",
    );
    assertEquals(ok.code, 0, ok.err.join("\n"));
    const cases: [string[], string][] = [
      [["--snr", "5,10,20"], "Cannot read --snr: expected LO,HI"],
      [
        ["--continuous", "--start", "2024-01-01T00:00:00.005Z"],
        "Cannot read --start: expected an ISO 8601 UTC time on the 10 ms grid",
      ],
    ];
    for (const [flags, want] of cases) {
      const r = await run("synth", "--out", `${root}/bad`, ...flags);
      assertEquals(r.code, 2, flags.join(" "));
      assert(r.err.join("\n").includes(want), `${flags.join(" ")}: ${r.err}`);
    }
    // On the grid, with milliseconds, it is taken.
    const r = await run(
      "synth",
      "--continuous",
      "--out",
      `${root}/grid`,
      "--start",
      "2024-01-01T00:00:00.010Z",
      "--hours",
      "0.1",
      "--stations",
      "1",
      "--quiet",
    );
    assertEquals(r.code, 0, r.err.join("\n"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("synth with its flags left out writes what the defaults --help prints give, with and without --continuous", async () => {
  const help = (await run("synth", "--help")).out.join("\n");
  const defaults = new Map(
    [...help.matchAll(/^\s+(?:-\w, )?--([\w-]+) \S+\s+.*\(default (\S+)\)$/gm)].map((m) => [
      m[1],
      m[2],
    ]),
  );
  for (const [f, v] of [["per-class", "40"], ["snr", "5,30"], ["hours", "6"]]) {
    assertEquals(defaults.get(f), v, `--${f}`);
  }
  const files = async (dir: string) => {
    const got = new Map<string, Uint8Array>();
    const walk = async (d: string) => {
      for await (const e of Deno.readDir(`${dir}/${d}`)) {
        const p = d ? `${d}/${e.name}` : e.name;
        if (e.isDirectory) await walk(p);
        else got.set(p, await Deno.readFile(`${dir}/${p}`));
      }
    };
    await walk("");
    return got;
  };
  const explicit = (names: string[]) => names.flatMap((f) => [`--${f}`, defaults.get(f)!]);
  const root = await Deno.makeTempDir();
  try {
    // One class keeps it quick; --classes and --stations are not compared.
    const one = ["--classes", "tremor", "--quiet"];
    const modes: [string[], string[]][] = [
      [one, ["per-class", "components", "snr", "rates", "seed"]],
      [
        ["--continuous", "--stations", "1", "--quiet"],
        ["hours", "components", "snr", "start", "events-per-hour", "seed"],
      ],
    ];
    for (const [i, [base, names]] of modes.entries()) {
      const a = await run("synth", "--out", `${root}/${i}a`, ...base);
      const b = await run("synth", "--out", `${root}/${i}b`, ...base, ...explicit(names));
      assertEquals([a.code, b.code], [0, 0], `${a.err} ${b.err}`);
      assertEquals(a.out.map((l) => l.replace(/ in [\d.]+ s$/, "")), [
        ...b.out.map((l) =>
          l.replace(/ in [\d.]+ s$/, "").replace(`${root}/${i}b`, `${root}/${i}a`)
        ),
      ]);
      const [fa, fb] = [await files(`${root}/${i}a`), await files(`${root}/${i}b`)];
      assert(fa.size > 3, `${root}/${i}a`);
      assertEquals([...fa.keys()].sort(), [...fb.keys()].sort());
      for (const [p, bytes] of fa) assertEquals(bytes, fb.get(p), p);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("synth: an SNR of 0 and --per-class 0 are refused, LO = HI and one SNR value are a range of one value, the --continuous flags are refused without it and --classes with it", async () => {
  const root = await Deno.makeTempDir();
  try {
    const bytes = async (dir: string) => {
      const got: string[] = [];
      for await (const e of Deno.readDir(`${dir}/waveforms`)) {
        got.push(`${e.name} ${await Deno.readFile(`${dir}/waveforms/${e.name}`)}`);
      }
      return got.sort();
    };
    const one = ["--classes", "noise,tremor", "--per-class", "1", "--quiet"];
    for (const [name, snr] of [["a", "7"], ["b", "7,7"], ["c", "7,8"]]) {
      const r = await run("synth", "--out", `${root}/${name}`, "--snr", snr, ...one);
      assertEquals(r.code, 0, r.err.join("\n"));
    }
    // One value is LO = HI, and LO = HI is allowed.
    assertEquals(await bytes(`${root}/a`), await bytes(`${root}/b`));
    assert(
      JSON.stringify(await bytes(`${root}/b`)) !== JSON.stringify(await bytes(`${root}/c`)),
      "another SNR writes other waveforms",
    );
    const cases: [string[], string][] = [
      [["--snr", "0,30"], "Cannot read --snr: expected positive numbers"],
      [["--per-class", "0"], "Cannot read --per-class: expected >= 1: found 0"],
      [
        ["--start", "2024-01-01T00:00:00Z"],
        "Cannot read --start: it is a flag of synth --continuous only",
      ],
      [
        ["--continuous", "--classes", "noise"],
        "Cannot read --classes: synth --continuous takes no --classes",
      ],
    ];
    for (const [flags, want] of cases) {
      const r = await run("synth", "--out", `${root}/bad`, ...flags);
      assertEquals(r.code, 2, flags.join(" "));
      assert(r.err.join("\n").includes(want), `${flags.join(" ")}: ${r.err}`);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("synth --seed reaches the data set, with and without --continuous, and --classes all is every class", async () => {
  const root = await Deno.makeTempDir();
  try {
    const tree = async (dir: string) => {
      const got: string[] = [];
      const walk = async (d: string) => {
        for await (const e of Deno.readDir(`${dir}/${d}`)) {
          const p = d ? `${d}/${e.name}` : e.name;
          if (e.isDirectory) await walk(p);
          else if (p.endsWith(".mseed") || p.endsWith("D.2024.001")) {
            got.push(`${p} ${await Deno.readFile(`${dir}/${p}`)}`);
          }
        }
      };
      await walk("");
      return got.sort().join("\n");
    };
    const modes = [
      ["--classes", "noise", "--per-class", "1", "-q"],
      ["--continuous", "--hours", "0.1", "--stations", "1", "-q"],
    ];
    for (const [i, flags] of modes.entries()) {
      for (const [name, seed] of [["a", []], ["b", ["--seed", "3"]], ["c", ["--seed", "3"]]]) {
        const r = await run("synth", "--out", `${root}/${i}${name}`, ...flags, ...seed);
        assertEquals(r.code, 0, r.err.join("\n"));
      }
      const [a, b, c] = [
        await tree(`${root}/${i}a`),
        await tree(`${root}/${i}b`),
        await tree(`${root}/${i}c`),
      ];
      assert(a.length > 0 && a !== b, `${flags}: --seed 3 writes other data than seed 0`);
      assertEquals(b, c);
    }
    const all = await run(
      "synth",
      "--out",
      `${root}/all`,
      "--classes",
      "all",
      "--per-class",
      "1",
      "-q",
    );
    assertEquals(all.code, 0, all.err.join("\n"));
    assert(all.out[0].startsWith(`synth: ${SYNTH_CLASSES.length} samples (Z)`), all.out[0]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("synth --continuous refuses an SNR range backwards and a third value, as synth without it does", async () => {
  const root = await Deno.makeTempDir();
  try {
    const flags = ["--continuous", "--hours", "0.1", "--stations", "1", "--quiet"];
    // 30,5 was swapped to 5,30 without a word, where synth without --continuous refused it.
    const back = await run("synth", "--out", `${root}/b`, "--snr", "30,5", ...flags);
    assertEquals(back.code, 2);
    assert(
      back.err.join("\n").includes(
        "Cannot read --snr: expected LO,HI with LO <= HI (or one value): found '30,5'",
      ),
      back.err.join("\n"),
    );
    // 5,10,20 drew SNRs from 5 to 10 and dropped the 20.
    const r = await run("synth", "--out", `${root}/c`, "--snr", "5,10,20", ...flags);
    assertEquals(r.code, 2);
    assert(
      r.err.join("\n").includes(
        "Cannot read --snr: expected LO,HI (or one value): found '5,10,20'",
      ),
      r.err.join("\n"),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
