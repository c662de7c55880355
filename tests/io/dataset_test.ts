import { assert, assertClose, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import {
  type DatasetMeta,
  datasetSettings,
  DatasetWriter,
  differingPaths,
  openDataset,
  type SampleInfo,
  writeDataset,
} from "../../lib/io/dataset.ts";
import { parseExtractConfig } from "../../lib/io/extract_config.ts";
import { Rng } from "../../lib/util/rng.ts";
import { UserError } from "../../lib/util/errors.ts";
import { dirname } from "node:path";
import { formatCsv } from "../../lib/io/csv.ts";
import { encodeNpy } from "../../lib/io/npy.ts";
import { DEAD_PID as DEAD } from "../_proc.ts";
import { run } from "../cli/_run.ts";

const info = (i: number, label: string | null): SampleInfo => ({
  id: `s${i}`,
  network: "XX",
  station: `ST${i}`,
  location: "",
  channel: "HHZ",
  referenceTime: "2020-01-01T00:00:00.000Z",
  label,
});

Deno.test("writeDataset + openDataset: readBatch returns the requested samples in order", async () => {
  const dir = (await Deno.makeTempDir()) + "/ds";
  const rng = new Rng(1);
  const [N, C, F, T] = [7, 2, 3, 4];
  const data = new Float32Array(N * C * F * T).map(() => rng.uniform(-2, 2));
  const samples = Array.from({ length: N }, (_, i) => info(i, i % 2 ? "a,b" : null));
  await writeDataset(
    dir,
    { shape: [N, C, F, T], components: ["Z", "N"], scaling: "psd", config: { x: 1 } },
    samples,
    data,
    new Float64Array([1, 2, 3]),
    new Float64Array([0, 1, 2, 3]),
  );
  const ds = await openDataset(dir);
  assertEquals(ds.count, N);
  assertEquals(ds.sampleShape, [C, F, T]);
  assertEquals(ds.labels(), [null, "a,b", null, "a,b", null, "a,b", null]);
  assertEquals(ds.samples[3], samples[3]);
  assertEquals(ds.meta.config, { x: 1 });
  const S = C * F * T;
  const idx = [5, 0, 1, 2, 6, 6];
  const b = ds.readBatch(idx);
  idx.forEach((k, j) =>
    assertEquals(b.subarray(j * S, (j + 1) * S), data.subarray(k * S, (k + 1) * S), `sample ${k}`)
  );
  assertEquals(ds.readAll(), data);
  assertThrows(() => ds.readBatch([7]), RangeError, "[0, 7)");
  ds.close();
  await assertRejects(
    () =>
      writeDataset(
        dir,
        { shape: [N, C, F, T], components: ["Z", "N"], scaling: "psd", config: {} },
        samples,
        data,
        new Float64Array(3),
        new Float64Array(4),
      ),
    Deno.errors.AlreadyExists,
    "--force",
  );
  // NaN or an infinity is refused before anything is written, naming the sample and element.
  const bad = data.slice();
  bad[2 * C * F * T + 5] = NaN;
  await assertRejects(
    () =>
      writeDataset(
        `${dir}_nan`,
        { shape: [N, C, F, T], components: ["Z", "N"], scaling: "psd", config: {} },
        samples,
        bad,
        new Float64Array(3),
        new Float64Array(4),
      ),
    TypeError,
    `sample 2 (${samples[2].id}) holds NaN at element 5: expected finite values`,
  );
  assert(!(await Deno.stat(`${dir}_nan`).then(() => true, () => false)));
  await Deno.remove(dirname(dir), { recursive: true });
});

Deno.test("samples.csv's event, station-coordinate and S − P columns: written, read back, and absent in an older dataset's samples.csv", async () => {
  const dir = (await Deno.makeTempDir()) + "/ds";
  const samples = [0, 1, 2].map((i) => info(i, null));
  samples[0].event = "smi:cat/event/1";
  samples[2].event = "ev, with a comma";
  Object.assign(samples[1], {
    latitude: 61.25,
    longitude: -149.5,
    elevation: 1234.5,
    sMinusP: 2.87,
  });
  Object.assign(samples[2], { latitude: -33.125, longitude: 18.5, elevation: NaN });
  await writeDataset(
    dir,
    { shape: [3, 1, 1, 2], components: ["Z"], scaling: "psd", config: {} },
    samples,
    new Float32Array(6).fill(1),
    new Float64Array([1]),
    new Float64Array([0, 1]),
  );
  const text = await Deno.readTextFile(`${dir}/samples.csv`);
  const lines = text.split("\n");
  assertEquals(
    lines[0],
    "id,network,station,location,channel,reference_time,label,event,latitude,longitude,elevation,s_minus_p",
  );
  // No coordinates: empty fields; an elevation the StationXML lacks: empty too.
  assert(lines[1].endsWith(",smi:cat/event/1,,,,"), lines[1]);
  assert(lines[2].endsWith(",,61.25,-149.5,1234.5,2.87"), lines[2]);
  assert(lines[3].endsWith(',"ev, with a comma",-33.125,18.5,,'), lines[3]);
  let ds = await openDataset(dir);
  assertEquals(ds.samples.map((s) => s.event), ["smi:cat/event/1", undefined, "ev, with a comma"]);
  assertEquals(ds.samples.map((s) => [s.latitude, s.longitude, s.elevation]), [
    [undefined, undefined, undefined],
    [61.25, -149.5, 1234.5],
    [-33.125, 18.5, NaN],
  ]);
  assertEquals(ds.samples.map((s) => s.sMinusP), [undefined, 2.87, undefined]);
  assertEquals(ds.samples[1], samples[1]);
  ds.close();
  // A dataset from before these columns: its samples name no event and no coordinates.
  const old = formatCsv([
    ["id", "network", "station", "location", "channel", "reference_time", "label"],
    ...samples.map((x) => [
      x.id,
      x.network,
      x.station,
      x.location,
      x.channel,
      x.referenceTime,
      x.label ?? "",
    ]),
  ]);
  await Deno.writeTextFile(`${dir}/samples.csv`, old);
  ds = await openDataset(dir);
  assertEquals(ds.samples.map((s) => s.event), [undefined, undefined, undefined]);
  assertEquals(ds.samples.map((s) => s.latitude), [undefined, undefined, undefined]);
  assertEquals(ds.samples.map((s) => s.sMinusP), [undefined, undefined, undefined]);
  assertEquals(ds.samples[1], info(1, null));
  ds.close();
  await Deno.remove(dirname(dir), { recursive: true });
});

Deno.test("normalisation: maxabs divides by max |x| over all channels, l2 by the norm, minmax maps onto [0, 1], zeros stay zero", async () => {
  const dir = (await Deno.makeTempDir()) + "/ds";
  const data = new Float32Array([1, -4, 2, 2, 0, 0, 0, 0, 3, 4, 0, 0, -5, -5, -5, -5]);
  await writeDataset(
    dir,
    { shape: [4, 2, 1, 2], components: ["Z", "N"], scaling: "psd", config: {} },
    [0, 1, 2, 3].map((i) => info(i, null)),
    data,
    new Float64Array([1]),
    new Float64Array([0, 1]),
  );
  const ds = await openDataset(dir);
  assertClose(ds.readBatch([0], "maxabs"), [0.25, -1, 0.5, 0.5], 1e-7, 0, "maxabs");
  assertClose(ds.readBatch([2], "l2"), [0.6, 0.8, 0, 0], 1e-7, 0, "l2");
  assertEquals(Array.from(ds.readBatch([1], "maxabs")), [0, 0, 0, 0]);
  assertEquals(Array.from(ds.readBatch([1], "l2")), [0, 0, 0, 0]);
  // minmax maps each sample's own [min, max] onto [0, 1]; a constant sample becomes zero.
  assertClose(ds.readBatch([0, 2], "minmax"), [5 / 6, 0, 1, 1, 0.75, 1, 0, 0], 1e-7, 0, "minmax");
  assertEquals(Array.from(ds.readBatch([1, 3], "minmax")), [0, 0, 0, 0, 0, 0, 0, 0]);
  ds.close();
  await Deno.remove(dirname(dir), { recursive: true });
});

Deno.test("DatasetWriter streams samples, commits atomically, and abort leaves nothing", async () => {
  const root = await Deno.makeTempDir();
  const w = await DatasetWriter.create(`${root}/ds`, [1, 2, 2]);
  for (let i = 0; i < 5; i++) w.append(info(i, "x"), new Float32Array(4).fill(i));
  assert((await Deno.stat(`${root}/ds`).catch(() => null)) === null, "not visible before commit");
  // A killed run's temporary in the unfinished directory does not end up in the dataset.
  await Deno.writeTextFile(`${w.tmpDir}/.progress.json.99999999.a1.b2.tmp`, "{");
  await w.commit(
    { components: ["Z"], scaling: "db", config: { a: 1 } },
    new Float64Array([1, 2]),
    new Float64Array([0, 1]),
  );
  const ds = await openDataset(`${root}/ds`);
  assertEquals(ds.meta.shape, [5, 1, 2, 2]);
  assert(![...Deno.readDirSync(`${root}/ds`)].some((e) => e.name.endsWith(".tmp")));
  assertEquals(ds.meta.scaling, "db");
  assertEquals(Array.from(ds.readBatch([4])), [4, 4, 4, 4]);
  // A run of consecutive indices is one read; a repeat starts another (not the next sample).
  assertEquals(
    Array.from(ds.readBatch([2, 3, 3, 4, 1])),
    [2, 3, 3, 4, 1].flatMap((i) => [i, i, i, i]),
  );
  ds.close();
  await assertRejects(
    () => DatasetWriter.create(`${root}/ds`, [1, 2, 2]),
    Deno.errors.AlreadyExists,
  );
  const w2 = await DatasetWriter.create(`${root}/ds2`, [1, 1, 1]);
  w2.append(info(0, null), new Float32Array(1));
  await w2.abort();
  assertEquals([...Deno.readDirSync(root)].map((e) => e.name), ["ds"]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("DatasetWriter resumable: a resume keeps what the last checkpoint recorded, drops the rest", async () => {
  const root = await Deno.makeTempDir();
  const dir = `${root}/ds`, partial = `${root}/.ds.partial`;
  const key = { what: "test", n: 9 };
  const meta = { components: ["Z"], scaling: "db", config: {} };
  const axes = [new Float64Array([1, 2]), new Float64Array([0, 1])] as const;
  const w = await DatasetWriter.create(dir, [1, 2, 2], { resumable: { key, resume: false } });
  assertEquals([w.tmpDir, w.resumedState], [partial, null]);
  for (let i = 0; i < 3; i++) w.append(info(i, "a"), new Float32Array(4).fill(i));
  await w.checkpoint({ next: 3 });
  assertEquals(w.checkpointed, 3);
  // Two more samples reach the files but no checkpoint, as in a crash.
  for (let i = 3; i < 5; i++) w.append(info(i, "b"), new Float32Array(4).fill(i));
  assertEquals(await w.abort(), true, "kept: it has a checkpoint");
  assert((await Deno.stat(`${partial}/progress.json`)).isFile);
  // Without --resume (or --force) it is in the way; with another key it is refused by field.
  await assertRejects(
    () => DatasetWriter.create(dir, [1, 2, 2], { resumable: { key, resume: false } }),
    UserError,
    `an interrupted run left ${partial} with 3 samples: pass --resume`,
  );
  await assertRejects(
    () =>
      DatasetWriter.create(dir, [1, 2, 2], { resumable: { key: { ...key, n: 8 }, resume: true } }),
    UserError,
    "was made with other settings (n: 9 → 8): resume with the same settings",
  );
  // A setting the checkpoint lacks (one a newer version added) is named too, as absent then.
  await assertRejects(
    () =>
      DatasetWriter.create(dir, [1, 2, 2], {
        resumable: { key: { ...key, added: [1] }, resume: true },
      }),
    UserError,
    "was made with other settings (added: (none) → [1]): resume with the same settings",
  );
  const r = await DatasetWriter.create(dir, [1, 2, 2], { resumable: { key, resume: true } });
  assertEquals([r.count, r.resumedState], [3, { next: 3 }]);
  r.append(info(9, "c"), new Float32Array(4).fill(9));
  await r.commit(meta, ...axes);
  const ds = await openDataset(dir);
  assertEquals(ds.meta.shape, [4, 1, 2, 2]);
  assertEquals(Array.from(ds.readAll()), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 9, 9, 9, 9]);
  assertEquals(ds.samples.map((s) => s.id), ["s0", "s1", "s2", "s9"]);
  ds.close();
  assert((await Deno.stat(partial).catch(() => null)) === null, "the partial became the dataset");
  // --force starts an interrupted dataset over.
  const a = await DatasetWriter.create(`${root}/f`, [1, 1, 1], {
    resumable: { key, resume: false },
  });
  a.append(info(0, null), new Float32Array(1));
  await a.checkpoint({ next: 1 });
  await a.abort();
  const said: string[] = [];
  const { error } = console;
  console.error = (...x: unknown[]) => said.push(x.join(" "));
  const b = await DatasetWriter.create(`${root}/f`, [1, 1, 1], {
    force: true,
    resumable: { key, resume: false },
  }).finally(() => console.error = error);
  assertEquals([b.count, b.resumedState], [0, null]);
  // And says what it discards (before, not a word).
  assertEquals(said, [
    `note: --force starts over: removing ${root}/.f.partial, an interrupted run's 1 samples ` +
    "(--resume would have continued it)",
  ]);
  // One with no work in it (no checkpoint beyond the first) goes at abort.
  assertEquals(await b.abort(), false);
  assert((await Deno.stat(`${root}/.f.partial`).catch(() => null)) === null);
  await Deno.remove(root, { recursive: true });
});

Deno.test("DatasetWriter resumable: --resume of a partial without work (killed before its first sample) starts over whatever its key, as its note says, not refused as made with other settings", async () => {
  const root = await Deno.makeTempDir();
  try {
    const key = { what: "test", n: 9 };
    const w = await DatasetWriter.create(`${root}/a`, [1, 1, 1], {
      resumable: { key, resume: false },
    });
    // The partial as a kill -9 leaves it: its first checkpoint, no samples.
    await Deno.mkdir(`${root}/.b.partial`);
    for (const e of Deno.readDirSync(`${root}/.a.partial`)) {
      await Deno.copyFile(`${root}/.a.partial/${e.name}`, `${root}/.b.partial/${e.name}`);
    }
    await w.abort();
    const r = await DatasetWriter.create(`${root}/b`, [1, 1, 1], {
      resumable: { key: { ...key, n: 8 }, resume: true },
    });
    assertEquals([r.count, r.resumedState], [0, null]);
    r.append(info(0, null), new Float32Array(1));
    await r.commit(
      { components: ["Z"], scaling: "db", config: {} },
      new Float64Array([1]),
      new Float64Array([0]),
    );
    const ds = await openDataset(`${root}/b`);
    assertEquals(ds.count, 1);
    ds.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("differingPaths names the keys either object alone holds, nested by dots, and nothing for equal values", () => {
  assertEquals(differingPaths({ a: 1 }, { a: 1, b: 2 }), ["b"]);
  assertEquals(differingPaths({ a: 1, b: 2 }, { a: 1 }), ["b"]);
  assertEquals(differingPaths({ s: { x: 1 } }, { s: { x: 1, y: null } }), ["s.y"]);
  assertEquals(differingPaths({ b: 1, a: [1, 2] }, { a: [1, 3], c: 0 }), ["a", "b", "c"]);
  assertEquals(differingPaths({ a: { b: [1] } }, { a: { b: [1] } }), []);
  assertEquals(differingPaths(1, 2), ["(value)"]);
});

Deno.test("DatasetWriter resumable: refuses a dataset another live process is writing", async () => {
  const root = await Deno.makeTempDir();
  await Deno.mkdir(`${root}/.ds.partial`);
  // Process 1 (init) is always alive.
  await Deno.writeTextFile(
    `${root}/.ds.partial/progress.json`,
    JSON.stringify({
      format: "seisdec-partial-dataset",
      version: 1,
      key: {},
      count: 0,
      samplesBytes: 0,
      state: null,
      pid: 1,
    }),
  );
  await assertRejects(
    () => DatasetWriter.create(`${root}/ds`, [1, 1, 1], { resumable: { key: {}, resume: true } }),
    UserError,
    "process 1 is writing it",
  );
  await Deno.remove(root, { recursive: true });
});

/** A dataset of 3 samples [1, 1, 2] (values 1 to 6) in a new temporary directory. */
async function threeSamples(): Promise<string> {
  const dir = (await Deno.makeTempDir()) + "/ds";
  await writeDataset(
    dir,
    { shape: [3, 1, 1, 2], components: ["Z"], scaling: "psd", config: {} },
    [0, 1, 2].map((i) => info(i, null)),
    new Float32Array([1, 2, 3, 4, 5, 6]),
    new Float64Array([1]),
    new Float64Array([0, 1]),
  );
  return dir;
}

Deno.test("openDataset refuses a samples.csv whose rows disagree with the shape; readBatch refuses non-finite values", async () => {
  const dir = await threeSamples();
  const csv = await Deno.readTextFile(`${dir}/samples.csv`);
  await Deno.writeTextFile(`${dir}/samples.csv`, csv.trimEnd().split("\n").slice(0, 3).join("\n"));
  await assertRejects(
    () => openDataset(dir),
    TypeError,
    "with 3 samples, 1 freqs, 2 times: found <f4 [3,1,1,2], 2 samples",
  );
  await Deno.writeTextFile(`${dir}/samples.csv`, csv);
  // A NaN written into sample 1 after the fact is named at its first read.
  const npy = await Deno.readFile(`${dir}/spectrograms.npy`);
  new DataView(npy.buffer).setFloat32(npy.length - 3 * 4, NaN, true);
  await Deno.writeFile(`${dir}/spectrograms.npy`, npy);
  const ds = await openDataset(dir);
  assertEquals(Array.from(ds.readBatch([0, 2])), [1, 2, 5, 6]);
  assertThrows(() => ds.readBatch([1]), RangeError, "Cannot read sample s1 (index 1)");
  assertThrows(() => ds.readBatch([2, 1]), RangeError, "element 1 is NaN: expected finite values");
  ds.close();
  await Deno.remove(dirname(dir), { recursive: true });
});

Deno.test("DatasetWriter resumable: a checkpoint with state but no samples yet is kept and needs --resume", async () => {
  const root = await Deno.makeTempDir();
  const key = { k: 1 };
  const w = await DatasetWriter.create(`${root}/ds`, [1, 1, 1], {
    resumable: { key, resume: false },
  });
  // Every task so far failed: no sample, but the failures are progress a resume keeps.
  await w.checkpoint({ next: 4, failures: 4 });
  assertEquals(await w.abort(), true);
  await assertRejects(
    () => DatasetWriter.create(`${root}/ds`, [1, 1, 1], { resumable: { key, resume: false } }),
    UserError,
    "with 0 samples: pass --resume",
  );
  const r = await DatasetWriter.create(`${root}/ds`, [1, 1, 1], {
    resumable: { key, resume: true },
  });
  assertEquals([r.count, r.resumedState], [0, { next: 4, failures: 4 }]);
  await r.abort();
  await Deno.remove(root, { recursive: true });
});

Deno.test({
  name:
    "DatasetWriter resumable: a live process that took a dead writer's pid (started after its last checkpoint) does not block the dataset",
  ignore: (() => {
    try {
      Deno.statSync("/proc/stat");
      return false;
    } catch {
      return true;
    }
  })(),
  fn: async () => {
    const root = await Deno.makeTempDir();
    // A process started now, with the pid of a writer whose last checkpoint is an hour old
    // (killed, and the pid reused after a reboot).
    const other = new Deno.Command("sleep", { args: ["30"] }).spawn();
    try {
      await Deno.mkdir(`${root}/.ds.partial`);
      const progress = (updated: string) =>
        Deno.writeTextFile(
          `${root}/.ds.partial/progress.json`,
          JSON.stringify({
            format: "seisdec-partial-dataset",
            version: 1,
            key: {},
            count: 0,
            samplesBytes: 0,
            state: null,
            pid: other.pid,
            updated,
          }),
        );
      const create = () =>
        DatasetWriter.create(`${root}/ds`, [1, 1, 1], {
          force: true,
          resumable: { key: {}, resume: false },
        });
      // Written a moment ago: the process with that pid may be the writer.
      await progress(new Date(Date.now() + 1000).toISOString());
      await assertRejects(create, UserError, `process ${other.pid} is writing it`);
      await progress(new Date(Date.now() - 3600_000).toISOString());
      const w = await create();
      assertEquals(w.count, 0);
      await w.abort();
    } finally {
      other.kill("SIGKILL");
      await other.status;
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("DatasetWriter resumable: a samples.csv shorter than its checkpoint is refused, not padded with zeros", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = `${root}/ds`, partial = `${root}/.ds.partial`;
    const key = { what: "test" };
    const w = await DatasetWriter.create(dir, [1, 1, 2], { resumable: { key, resume: false } });
    for (let i = 0; i < 3; i++) w.append(info(i, "a"), new Float32Array(2).fill(i));
    await w.checkpoint({ next: 3 });
    assertEquals(await w.abort(), true);
    // Damaged since the checkpoint (a disk, a copy, a hand): shorter than it records.
    const csv = await Deno.readFile(`${partial}/samples.csv`);
    await Deno.writeFile(`${partial}/samples.csv`, csv.subarray(0, csv.length - 5));
    await assertRejects(
      () => DatasetWriter.create(dir, [1, 1, 2], { resumable: { key, resume: true } }),
      UserError,
      `Cannot resume ${partial}/samples.csv: expected at least ${csv.length} bytes (3 samples): ` +
        `found ${csv.length - 5} bytes`,
    );
    // Its files are untouched, and the refused resume left nothing open.
    assertEquals((await Deno.readFile(`${partial}/samples.csv`)).length, csv.length - 5);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("datasetSettings holds every extraction setting that changes the values, and not where or when the dataset was made", () => {
  const config = parseExtractConfig({
    input: { format: "sds", dir: "/data/sds", picks: "/data/picks.csv", phase: "S" },
    output: "/out/ds",
    workers: 3,
    limit: 40,
  });
  const meta: DatasetMeta = {
    format: "seisdec-dataset",
    version: 1,
    shape: [40, 1, 3, 2],
    components: ["Z"],
    scaling: "psd",
    config,
    created: "2026-01-01T00:00:00.000Z",
  };
  const freqs = new Float64Array([1, 1.5, 2]), times = new Float64Array([0, 1.28]);
  const s = datasetSettings(meta, freqs, times);
  for (
    const f of [
      "output",
      "workers",
      "limit",
      "input.dir",
      "input.picks",
      "input.windows",
      "input.stations",
    ]
  ) {
    assert(!(`config.${f}` in s), `config.${f} is a setting`);
  }
  assert(!Object.keys(s).some((k) => k.includes("created")));
  assertEquals(s["config.input.phase"], '"S"');
  assertEquals(s["config.input.format"], '"sds"');
  // The response's output (VEL) is a setting, though it shares its name with config.output.
  assertEquals(s["config.preprocess.response.output"], '"VEL"');
  assertEquals(s["config.preprocess.response.preFilt"], "[0.2,0.5,18.5,19.8]");
  assertEquals(s["config.spectrogram.fmax"], "18");
  assertEquals(s.scaling, '"psd"');
  assertEquals(s.components, '["Z"]');
  assertEquals(s["axes.freqs"], "3 from 1 to 2");
  assertEquals(s["axes.times"], "2 from 0 to 1.28");
  // Made elsewhere, later, by more workers: the same settings.
  const moved = structuredClone(meta);
  Object.assign(moved, { created: "2027-01-01T00:00:00.000Z" });
  Object.assign(moved.config as object, { output: "/other", workers: 8 });
  Object.assign((moved.config as { input: object }).input, { dir: "/mnt/sds" });
  assertEquals(datasetSettings(moved, freqs, times), s);
  const db = structuredClone(meta);
  db.scaling = "db";
  (db.config as { spectrogram: { scaling: string } }).spectrogram.scaling = "db";
  const changed = Object.keys(s).filter((k) => datasetSettings(db, freqs, times)[k] !== s[k]);
  assertEquals(changed, ["scaling", "config.spectrogram.scaling"]);
});

Deno.test("openDataset names a spectrograms.npy cut short (a copy that stopped), a meta.json of another format and a samples.csv missing, and reads a meta.json that starts with a byte-order mark", async () => {
  const dir = await threeSamples();
  const npy = await Deno.readFile(`${dir}/spectrograms.npy`);
  await Deno.writeFile(`${dir}/spectrograms.npy`, npy.subarray(0, npy.length - 5));
  await assertRejects(
    () => openDataset(dir),
    TypeError,
    `Cannot open dataset ${dir}: spectrograms.npy is truncated: it holds 19 bytes of samples, ` +
      `[3,1,1,2] needs 24 (2 whole samples of 3): copy or extract it again`,
  );
  await Deno.writeFile(`${dir}/spectrograms.npy`, npy);
  const meta = JSON.parse(await Deno.readTextFile(`${dir}/meta.json`));
  await Deno.writeTextFile(`${dir}/meta.json`, JSON.stringify({ ...meta, version: 2 }));
  await assertRejects(
    () => openDataset(dir),
    TypeError,
    "expected format seisdec-dataset version 1: found seisdec-dataset 2",
  );
  // A version written as text is shown as such, not as the number it expected.
  await Deno.writeTextFile(`${dir}/meta.json`, JSON.stringify({ ...meta, version: "1" }));
  await assertRejects(
    () => openDataset(dir),
    TypeError,
    'expected format seisdec-dataset version 1: found seisdec-dataset "1"',
  );
  // Damaged or edited: named, not a SyntaxError's stack or "meta.shape.join is not a function"
  // deep in pretrain.
  for (
    const [text, msg] of [
      ['{"format": "seisdec-dataset", "version": 1, "shape": [3, 1', "meta.json is not JSON ("],
      ["[3, 1, 1, 2]", "meta.json is not a JSON object"],
      [
        JSON.stringify({ ...meta, shape: "3x1x1x2" }),
        'meta.json has shape "3x1x1x2": expected [N, C, F, T], four whole numbers',
      ],
      [
        JSON.stringify({ ...meta, scaling: "linear" }),
        'meta.json has scaling "linear": expected psd, log10, db or none',
      ],
      [
        JSON.stringify({ ...meta, components: ["Z", "N"] }),
        'meta.json has components ["Z","N"]: expected 1 names, one per channel of the shape',
      ],
    ]
  ) {
    await Deno.writeTextFile(`${dir}/meta.json`, text);
    await assertRejects(() => openDataset(dir), TypeError, `Cannot open dataset ${dir}: ${msg}`);
  }
  // Nor does writeDataset write a scaling openDataset would refuse.
  await assertRejects(
    () =>
      writeDataset(
        `${dir}2`,
        { shape: [1, 1, 1, 2], components: ["Z"], scaling: "linear", config: {} },
        [info(0, null)],
        new Float32Array(2),
        new Float64Array([1]),
        new Float64Array([0, 1]),
      ),
    TypeError,
    `Cannot write dataset ${dir}2: scaling "linear": expected psd, log10, db or none`,
  );
  // A byte-order mark (meta.json saved by a Windows editor) is read past, as in samples.csv.
  await Deno.writeTextFile(`${dir}/meta.json`, "\uFEFF" + JSON.stringify(meta));
  const bom = await openDataset(dir);
  assertEquals(bom.meta.shape, meta.shape);
  bom.close();
  // A samples.csv gone: named once ('no such file', not Deno's text naming the path again).
  await Deno.writeTextFile(`${dir}/meta.json`, JSON.stringify(meta));
  await Deno.remove(`${dir}/samples.csv`);
  const e = await assertRejects(() => openDataset(dir), TypeError);
  assertEquals(e.message, `Cannot open dataset ${dir}: cannot read samples.csv: no such file`);
  await Deno.remove(dirname(dir), { recursive: true });
});

Deno.test("DatasetWriter resumable: a damaged progress.json is no resumable work (a note names it); the run starts afresh", async () => {
  const root = await Deno.makeTempDir();
  const dir = `${root}/ds`, partial = `${root}/.ds.partial`;
  const key = { what: "test" };
  const warn = console.error;
  const notes: string[] = [];
  console.error = (m: string) => notes.push(m);
  try {
    // Cut short (a full disk), or valid JSON of something else: before, every later run to the
    // same output crashed on it, --force included.
    for (const text of ['{"format": "seisdec-partial-dataset", "cou', "{}"]) {
      for (const [resume, force] of [[false, false], [true, false], [false, true]]) {
        await Deno.mkdir(partial, { recursive: true });
        await Deno.writeTextFile(`${partial}/progress.json`, text);
        await Deno.writeTextFile(`${partial}/junk`, "x");
        notes.length = 0;
        const w = await DatasetWriter.create(dir, [1, 1, 1], { force, resumable: { key, resume } });
        assertEquals([w.count, w.resumedState], [0, null]);
        assert(
          notes[0]?.startsWith(`note: ignoring ${partial}/progress.json: it is not`),
          notes[0],
        );
        assertEquals(await Deno.stat(`${partial}/junk`).catch(() => null), null, "cleared");
        await w.abort();
      }
    }
  } finally {
    console.error = warn;
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("openDataset names a freqs.npy, times.npy or spectrograms.npy missing or a directory once, and the spectrograms.npy whose header it cannot read", async () => {
  const dir = await threeSamples();
  for (const name of ["freqs.npy", "times.npy", "spectrograms.npy"]) {
    const bytes = await Deno.readFile(`${dir}/${name}`);
    await Deno.remove(`${dir}/${name}`);
    let e = await assertRejects(() => openDataset(dir), TypeError);
    assertEquals(e.message, `Cannot open dataset ${dir}: cannot read ${name}: no such file`);
    // A directory in its place: said so (info threw it as a stack trace).
    await Deno.mkdir(`${dir}/${name}`);
    e = await assertRejects(() => openDataset(dir), TypeError);
    assertEquals(
      e.message,
      `Cannot open dataset ${dir}: cannot read ${name}: it is a directory, not a regular file`,
    );
    await Deno.remove(`${dir}/${name}`);
    await Deno.writeFile(`${dir}/${name}`, bytes);
  }
  // A header that is not .npy's: the file is named, as for freqs.npy and times.npy.
  await Deno.writeTextFile(`${dir}/spectrograms.npy`, "not an array");
  await assertRejects(
    () => openDataset(dir),
    TypeError,
    `found other bytes (file ${dir}/spectrograms.npy)`,
  );
  await Deno.remove(dirname(dir), { recursive: true });
});

Deno.test("openDataset refuses a samples.csv (written by hand, or from Python) with an empty, repeated or spaced id, naming the row, or without an id column", async () => {
  const dir = (await Deno.makeTempDir()) + "/ds";
  try {
    await writeDataset(
      dir,
      { shape: [3, 1, 1, 2], components: ["Z"], scaling: "none", config: {} },
      [info(0, null), info(1, null), info(2, null)],
      new Float32Array(6),
      new Float64Array([1]),
      new Float64Array([0, 1]),
    );
    const csv = await Deno.readTextFile(`${dir}/samples.csv`);
    for (
      const [id, want] of [
        ["s0", "samples.csv row 3: id 's0' is listed twice"],
        ["s 1", "samples.csv row 3: id 's 1' is not one word (it contains white space)"],
        ["", "samples.csv row 3: id '' is empty"],
      ]
    ) {
      await Deno.writeTextFile(`${dir}/samples.csv`, csv.replace("\ns1,", `\n${id},`));
      await assertRejects(() => openDataset(dir), TypeError, `Cannot open dataset ${dir}: ${want}`);
    }
    // No id column (renamed, or the header line left out): said so, not that row 2's id is empty.
    const want = `Cannot open dataset ${dir}: samples.csv has no id column: expected a header ` +
      `line that names it, as id,network,station,...`;
    for (const text of [csv.replace("id,", "ident,"), csv.slice(csv.indexOf("\n") + 1)]) {
      await Deno.writeTextFile(`${dir}/samples.csv`, text);
      const e = await assertRejects(() => openDataset(dir), TypeError);
      assertEquals(e.message, want);
    }
  } finally {
    await Deno.remove(dirname(dir), { recursive: true });
  }
});

Deno.test("openDataset refuses a samples.csv reference time that is no time and a latitude, longitude, elevation or S - P that is no number (or an S - P below 0), naming the row, id and column, and NaN or infinity in freqs.npy or times.npy", async () => {
  const dir = (await Deno.makeTempDir()) + "/ds";
  try {
    const placed = (i: number) => ({ ...info(i, null), latitude: 46.5, longitude: -121.25 });
    await writeDataset(
      dir,
      { shape: [3, 1, 2, 2], components: ["Z"], scaling: "none", config: {} },
      [placed(0), placed(1), placed(2)],
      new Float32Array(12),
      new Float64Array([1, 2]),
      new Float64Array([0, 1]),
    );
    const csv = await Deno.readTextFile(`${dir}/samples.csv`);
    const row = "s1,XX,ST1,,HHZ,2020-01-01T00:00:00.000Z,,,46.5,-121.25,";
    assert(csv.includes(row), csv);
    for (
      const [edited, want] of [
        [
          row.replace("2020-01-01T", "2020-02-30T"),
          "samples.csv row 3 (id s1): reference_time: Cannot read the time " +
          "'2020-02-30T00:00:00.000Z': expected ISO 8601 UTC such as 2020-01-31T12:00:00.5Z: " +
          "day 30 does not exist in 2020-02 (or empty where unknown)",
        ],
        [
          row.replace("2020-01-01T00:00:00.000Z", "yesterday"),
          "samples.csv row 3 (id s1): reference_time: Cannot read the time 'yesterday'",
        ],
        [
          row.replace("46.5", "46.5N"),
          "samples.csv row 3 (id s1): latitude '46.5N' is not a number: expected degrees " +
          "(WGS84), or empty where unknown",
        ],
        [
          row.replace("-121.25", "Infinity"),
          "samples.csv row 3 (id s1): longitude 'Infinity' is not a number",
        ],
        // The elevation and S - P (the row's last two fields).
        [
          `${row}12 m`,
          "samples.csv row 3 (id s1): elevation '12 m' is not a number: expected metres above " +
          "sea level, or empty where unknown",
        ],
        [`${row}NaN`, "samples.csv row 3 (id s1): elevation 'NaN' is not a number"],
        // Not finite: no height, though a number to JavaScript.
        [`${row}-Infinity`, "samples.csv row 3 (id s1): elevation '-Infinity' is not a number"],
      ]
    ) {
      await Deno.writeTextFile(`${dir}/samples.csv`, csv.replace(row, edited));
      await assertRejects(() => openDataset(dir), TypeError, `Cannot open dataset ${dir}: ${want}`);
    }
    // Left empty (unknown), both read as before; so is a year past 9999 as extract writes it.
    await Deno.writeTextFile(`${dir}/samples.csv`, csv.replace(row, "s1,XX,ST1,,HHZ,,,,,,"));
    const ds = await openDataset(dir);
    assertEquals([ds.samples[1].referenceTime, ds.samples[1].latitude], ["", undefined]);
    ds.close();
    for (
      const [sMinusP, want] of [
        [
          "4.2s",
          "'4.2s' is not a number: expected the seconds from the P to the S arrival (0 or " +
          "more), or empty where unknown",
        ],
        ["-1.5", "'-1.5' is negative: expected the seconds from the P to the S arrival"],
        ["Infinity", "'Infinity' is not a number"],
        // Below 0 but no number of seconds: not a number, not negative.
        ["-Infinity", "'-Infinity' is not a number: expected the seconds"],
      ]
    ) {
      await Deno.writeTextFile(`${dir}/samples.csv`, csv.replace(`${row},`, `${row},${sMinusP}`));
      await assertRejects(
        () => openDataset(dir),
        TypeError,
        `Cannot open dataset ${dir}: samples.csv row 3 (id s1): s_minus_p ${want}`,
      );
    }
    // An elevation below sea level is one; an S - P of 0 is extract's for an S pick within
    // 0.5 ms of the P (it writes S - P to the millisecond).
    for (const sMinusP of [3.25, 0]) {
      await Deno.writeTextFile(
        `${dir}/samples.csv`,
        csv.replace(`${row},`, `${row}-12.5,${sMinusP}`),
      );
      const below = await openDataset(dir);
      assertEquals([below.samples[1].elevation, below.samples[1].sMinusP], [-12.5, sMinusP]);
      below.close();
    }
    const far = new Date(Date.UTC(12000, 0, 1)).toISOString();
    await Deno.writeTextFile(`${dir}/samples.csv`, csv.replace("2020-01-01T00:00:00.000Z", far));
    (await openDataset(dir)).close();
    await Deno.writeTextFile(`${dir}/samples.csv`, csv);
    // The axes: clusters.csv's peak frequencies and times, the figures and info read them.
    for (
      const [name, values, want] of [
        ["freqs.npy", [1, NaN], "freqs.npy holds NaN at index 1: expected finite frequencies (Hz)"],
        [
          "times.npy",
          [-Infinity, 1],
          "times.npy holds -Infinity at index 0: expected finite times (s from the reference time)",
        ],
      ] as const
    ) {
      const good = await Deno.readFile(`${dir}/${name}`);
      await Deno.writeFile(`${dir}/${name}`, encodeNpy(new Float64Array(values), [2]));
      await assertRejects(() => openDataset(dir), TypeError, `Cannot open dataset ${dir}: ${want}`);
      await Deno.writeFile(`${dir}/${name}`, good);
    }
    (await openDataset(dir)).close();
  } finally {
    await Deno.remove(dirname(dir), { recursive: true });
  }
});

Deno.test("openDataset names a spectrograms.npy in Fortran order as such (NumPy's asfortranarray, from Python)", async () => {
  const dir = (await Deno.makeTempDir()) + "/ds";
  try {
    await writeDataset(
      dir,
      { shape: [2, 1, 1, 2], components: ["Z"], scaling: "none", config: {} },
      [info(0, null), info(1, null)],
      new Float32Array(4),
      new Float64Array([1]),
      new Float64Array([0, 1]),
    );
    const path = `${dir}/spectrograms.npy`;
    const bytes = await Deno.readFile(path);
    // The header's text is ASCII after the 10 bytes of magic, version and length.
    const text = new TextDecoder().decode(bytes.subarray(10, 128));
    const at = 10 + text.indexOf("'fortran_order': False");
    bytes.set(new TextEncoder().encode("'fortran_order': True "), at);
    await Deno.writeFile(path, bytes);
    await assertRejects(
      () => openDataset(dir),
      TypeError,
      `Cannot open dataset ${dir}: expected <f4 [2,1,1,2] in C order with 2 samples, 1 freqs, ` +
        `2 times: found <f4 [2,1,1,2] in Fortran order, 2 samples, 1 freqs, 2 times (save it ` +
        `with numpy.save(path, numpy.ascontiguousarray(x)), or import it)`,
    );
  } finally {
    await Deno.remove(dirname(dir), { recursive: true });
  }
});

Deno.test("DatasetWriter resumable: a run stopped after its metadata is written but before the rename keeps its checkpoint for --resume; the finished dataset holds no progress.json", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = `${root}/ds`, partial = `${root}/.ds.partial`;
    const key = { what: "test", n: 4 };
    const meta = { components: ["Z"], scaling: "db", config: {} };
    const axes = [new Float64Array([1]), new Float64Array([0, 1])] as const;
    const w = await DatasetWriter.create(dir, [1, 1, 2], { resumable: { key, resume: false } });
    for (let i = 0; i < 4; i++) w.append(info(i, null), new Float32Array(2).fill(i));
    await w.checkpoint({ next: 4 });
    // The rename fails (a file took the destination's name), as a kill there would stop it.
    await Deno.writeTextFile(dir, "in the way");
    await assertRejects(() => w.commit(meta, ...axes));
    assert((await Deno.stat(`${partial}/meta.json`)).isFile, "the metadata was written");
    assert((await Deno.stat(`${partial}/progress.json`)).isFile, "the checkpoint stays");
    await Deno.remove(dir);
    const r = await DatasetWriter.create(dir, [1, 1, 2], { resumable: { key, resume: true } });
    assertEquals([r.count, r.resumedState], [4, { next: 4 }]);
    await r.commit(meta, ...axes);
    const ds = await openDataset(dir);
    assertEquals(Array.from(ds.readAll()), [0, 0, 1, 1, 2, 2, 3, 3]);
    ds.close();
    assertEquals(await Deno.stat(`${dir}/progress.json`).catch(() => null), null);
    // Nor does its listing name it: --force would otherwise take a file of that name later.
    const listed = JSON.parse(await Deno.readTextFile(`${dir}/.seisdec-output.json`)).entries;
    assert(!listed.includes("progress.json") && listed.includes("meta.json"), listed.join());
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("openDataset checks every dimension of spectrograms.npy against meta.json, times.npy's length, and the bytes of all C × F × T values per sample", async () => {
  const { writeNpyFile } = await import("../../lib/io/npy.ts");
  const dir = (await Deno.makeTempDir()) + "/ds";
  const [N, C, F, T] = [2, 2, 3, 4];
  const write = () =>
    writeDataset(
      dir,
      { shape: [N, C, F, T], components: ["Z", "N"], scaling: "psd", config: {} },
      [info(0, null), info(1, null)],
      new Float32Array(N * C * F * T).fill(1),
      new Float64Array([1, 2, 3]),
      new Float64Array([0, 1, 2, 3]),
    );
  try {
    await write();
    (await openDataset(dir)).close();
    // meta.json says 3 components where the file holds 2.
    const meta = JSON.parse(await Deno.readTextFile(`${dir}/meta.json`));
    await Deno.writeTextFile(
      `${dir}/meta.json`,
      JSON.stringify({ ...meta, shape: [N, 3, F, T], components: ["Z", "N", "E"] }),
    );
    await assertRejects(
      () => openDataset(dir),
      TypeError,
      "expected <f4 [2,3,3,4] in C order with 2 samples, 3 freqs, 4 times: found <f4 [2,2,3,4]",
    );
    await Deno.remove(dir, { recursive: true });
    await write();
    await writeNpyFile(`${dir}/times.npy`, new Float64Array([0, 1, 2]), [3]);
    await assertRejects(
      () => openDataset(dir),
      TypeError,
      "4 times: found <f4 [2,2,3,4], 2 samples, 3 freqs, 3 times",
    );
    await Deno.remove(dir, { recursive: true });
    await write();
    // The last sample's second channel cut off: 4 × 12 bytes short.
    const npy = await Deno.readFile(`${dir}/spectrograms.npy`);
    await Deno.writeFile(`${dir}/spectrograms.npy`, npy.subarray(0, npy.length - 4 * F * T));
    await assertRejects(() => openDataset(dir), TypeError, "spectrograms.npy is truncated");
  } finally {
    await Deno.remove(dirname(dir), { recursive: true });
  }
});

Deno.test("meta.json: an empty dataset (N = 0) opens, and components must name every channel; samples.csv coordinates need both latitude and longitude", async () => {
  const dir = (await Deno.makeTempDir()) + "/ds";
  const meta = {
    shape: [0, 2, 3, 4] as DatasetMeta["shape"],
    components: ["Z", "N"],
    scaling: "psd",
    config: {},
  };
  try {
    await writeDataset(
      dir,
      meta,
      [],
      new Float32Array(0),
      new Float64Array(3),
      new Float64Array(4),
    );
    const empty = await openDataset(dir);
    assertEquals([empty.count, empty.sampleShape], [0, [2, 3, 4]]);
    empty.close();
    const m = JSON.parse(await Deno.readTextFile(`${dir}/meta.json`));
    await Deno.writeTextFile(`${dir}/meta.json`, JSON.stringify({ ...m, components: ["Z"] }));
    await assertRejects(
      () => openDataset(dir),
      TypeError,
      'has components ["Z"]: expected 2 names',
    );
    await Deno.remove(dir, { recursive: true });
    await writeDataset(
      dir,
      { ...meta, shape: [1, 2, 3, 4] },
      [{ ...info(0, null), latitude: 45 }],
      new Float32Array(24),
      new Float64Array(3),
      new Float64Array(4),
    );
    const ds = await openDataset(dir);
    assertEquals(ds.samples[0].latitude, undefined);
    assertEquals(ds.samples[0].longitude, undefined);
    ds.close();
  } finally {
    await Deno.remove(dirname(dir), { recursive: true });
  }
});

Deno.test("a dataset a killed run had moved aside to replace it (.NAME.PID.TAG.old) is named where the dataset is missing, and evaluate and similar name a cluster directory's", async () => {
  const root = await Deno.makeTempDir();
  try {
    const ds = `${root}/ds`;
    const aside = `${root}/.ds.${DEAD}.${Date.now().toString(36)}.a1b2c3.old`;
    await Deno.mkdir(aside);
    // Before, only 'no such directory': the copy beside it went unsaid until a write put it back.
    await assertRejects(
      () => openDataset(ds),
      TypeError,
      `Cannot open dataset ${ds}: no such directory; an interrupted run moved it aside to ` +
        `${aside}: rerun the command that writes ds (it puts it back first), or rename it back ` +
        "yourself",
    );
    await Deno.rename(aside, `${root}/.cl.${DEAD}.${Date.now().toString(36)}.a1b2c3.old`);
    const r = await run("evaluate", `${root}/cl`);
    assertEquals(r.code, 2);
    assert(r.err[0].includes("no such directory; an interrupted run moved it aside"), r.err[0]);
    // similar too; before, a missing directory was said to lack labels.csv or samples.csv.
    const s = await run("similar", `${root}/cl`, "--id", "a");
    assert(s.err[0].includes("no such directory; an interrupted run moved it aside"), s.err[0]);
    const none = await run("similar", `${root}/none`, "--id", "a");
    assertEquals(none.err, [`error: Cannot search ${root}/none: no such directory`]);
    // None beside it: as before.
    await assertRejects(
      () => openDataset(`${root}/none`),
      TypeError,
      `Cannot open dataset ${root}/none: no such directory`,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a finished dataset beside the progress.json of an extraction killed as it finished is replaced by --force, the file removed with a note", async () => {
  const dir = (await Deno.makeTempDir()) + "/ds";
  const write = (force: boolean) =>
    writeDataset(
      dir,
      { shape: [2, 1, 1, 2], components: ["Z"], scaling: "psd", config: {} },
      [info(0, null), info(1, null)],
      new Float32Array(4),
      new Float64Array([1]),
      new Float64Array([0, 1]),
      { force },
    );
  try {
    await write(false);
    // Killed between putting its dataset in place and removing its checkpoint: before, --force
    // refused the dataset ('it holds progress.json, which seisdec did not write there').
    const progress = {
      format: "seisdec-partial-dataset",
      version: 1,
      key: {},
      count: 2,
      samplesBytes: 10,
      state: null,
      pid: DEAD,
      updated: new Date().toISOString(),
    };
    await Deno.writeTextFile(`${dir}/progress.json`, JSON.stringify(progress));
    const err: string[] = [];
    const { error } = console;
    console.error = (...a: unknown[]) => err.push(a.join(" "));
    try {
      await write(true);
    } finally {
      console.error = error;
    }
    assertEquals(err, [
      `note: removed ${dir}/progress.json, left by an extraction killed as it finished (its ` +
      "dataset is whole)",
    ]);
    assertEquals(await Deno.stat(`${dir}/progress.json`).catch(() => null), null);
    // A progress.json that is not extract's, or one of a live process, is still refused.
    for (const text of ["{}", JSON.stringify({ ...progress, pid: Deno.pid })]) {
      await Deno.writeTextFile(`${dir}/progress.json`, text);
      await assertRejects(() => write(true), Deno.errors.AlreadyExists, "it holds progress.json");
    }
  } finally {
    await Deno.remove(dirname(dir), { recursive: true });
  }
});

Deno.test("DatasetWriter on a read-only disk names the dataset and what to do, resumable or not", async () => {
  const root = await Deno.makeTempDir();
  const { mkdir, mkdirSync } = Deno;
  // As Linux refuses a directory on a read-only file system (EROFS).
  const refuse = (path: string | URL) => {
    throw Object.assign(new Error(`Read-only file system (os error 30): mkdir '${path}'`), {
      code: "EROFS",
    });
  };
  try {
    // The dataset's own directories; its parent, which exists, is made as before.
    const ours = (path: string | URL) => String(path).startsWith(`${root}/.ds.`);
    Deno.mkdirSync = (path, o) => ours(path) ? refuse(path) : mkdirSync(path, o);
    Deno.mkdir = (path, o) =>
      ours(path) ? Promise.resolve().then(() => refuse(path)) : mkdir(path, o);
    for (const resumable of [undefined, { key: {}, resume: false }]) {
      // Before, Deno's line alone, naming the temporary ('Read-only file system (os error 30):
      // mkdir .../.ds.PID.TAG.tmp').
      await assertRejects(
        () => DatasetWriter.create(`${root}/ds`, [1, 1, 1], { resumable }),
        UserError,
        `Cannot write ${root}/ds: Read-only file system (os error 30): mkdir '${root}/.ds.`,
      );
    }
  } finally {
    Object.assign(Deno, { mkdir, mkdirSync });
    await Deno.remove(root, { recursive: true });
  }
});
