import { assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { importCommand, importNpy, parseLabels } from "../../lib/cli/import.ts";
import { encodeNpy } from "../../lib/io/npy.ts";
import { openDataset } from "../../lib/io/dataset.ts";
import { describeDir } from "../../lib/cli/describe.ts";
import { UserError } from "../../lib/util/errors.ts";

Deno.test("import turns [N,H,W] u8 and [N,C,H,W] f64 arrays plus labels into datasets", async () => {
  const root = await Deno.makeTempDir();
  const u8 = new Uint8Array(3 * 2 * 4).map((_, i) => i);
  await Deno.writeFile(`${root}/a.npy`, encodeNpy(u8, [3, 2, 4]));
  await Deno.writeTextFile(`${root}/labels.txt`, "cat\ndog\n\n".replace(/\n\n$/, "\ncat\n"));
  assertEquals(await importNpy(`${root}/a.npy`, `${root}/da`, { labels: `${root}/labels.txt` }), [
    3,
    1,
    2,
    4,
  ]);
  const a = await openDataset(`${root}/da`);
  assertEquals(a.labels(), ["cat", "dog", "cat"]);
  assertEquals(Array.from(a.readBatch([2])), Array.from(u8.subarray(16, 24)));
  assertEquals(Array.from(a.freqs), [0, 1]);
  // Its axes are bin indices, and `info` names them rows and columns, not Hz and s.
  assertEquals(a.axesInBins, true);
  a.close();
  const info = await describeDir(`${root}/da`);
  assertEquals([info.freqRows, info.timeColumns, info.freqsHz, info.timesS], [
    [0, 1],
    [0, 3],
    undefined,
    undefined,
  ]);
  const f64 = new Float64Array(2 * 3 * 2 * 2).map((_, i) => i / 4);
  await Deno.writeFile(`${root}/b.npy`, encodeNpy(f64, [2, 3, 2, 2]));
  await Deno.writeTextFile(`${root}/l.csv`, "id,label\n1,x\n0,y\n");
  await importNpy(`${root}/b.npy`, `${root}/db`, { labels: `${root}/l.csv` });
  const b = await openDataset(`${root}/db`);
  assertEquals(b.meta.shape, [2, 3, 2, 2]);
  assertEquals(b.labels(), ["y", "x"]);
  assertEquals(b.readAll()[23], 23 / 4);
  b.close();
  await Deno.writeFile(`${root}/c.npy`, encodeNpy(new Float32Array(4), [4]));
  await assertRejects(
    () => importNpy(`${root}/c.npy`, `${root}/dc`),
    UserError,
    "[N,H,W] or [N,C,H,W]",
  );
  await assertRejects(
    () => importNpy(`${root}/a.npy`, `${root}/dd`, { labels: `${root}/l.csv` }),
    UserError,
    // It said 'expected 3 rows', not that an id,label file lists every sample.
    `Cannot read labels ${root}/l.csv: expected one row per sample (3 samples): found 2 rows`,
  );
  // A header that is no .npy's is named once as the import's ('Cannot import F: Cannot read
  // npy: ...' before).
  await Deno.writeTextFile(`${root}/text.npy`, "x".repeat(64));
  await assertRejects(
    () => importNpy(`${root}/text.npy`, `${root}/dt`),
    UserError,
    `Cannot import ${root}/text.npy: expected the magic bytes \\x93NUMPY: found other bytes`,
  );
  await Deno.remove(root, { recursive: true });
});

Deno.test("import streams a C-order array in pieces (any piece size, the same dataset); errors name the sample", async () => {
  const root = await Deno.makeTempDir();
  try {
    // 7 samples of [2, 3, 5] as big-endian int16, imported one sample per piece (60 bytes).
    const n = 7, per = 2 * 3 * 5;
    const vals = Array.from({ length: n * per }, (_, i) => ((i * 37) % 601) - 300);
    const be = new Uint8Array(vals.length * 2);
    const dv = new DataView(be.buffer);
    vals.forEach((v, i) => dv.setInt16(2 * i, v, false));
    // A version-1 .npy header by hand (encodeNpy writes no int16): magic, version, length, dict.
    let dict = "{'descr': '>i2', 'fortran_order': False, 'shape': (7, 2, 3, 5), }";
    dict = dict.padEnd(Math.ceil((10 + dict.length + 1) / 64) * 64 - 10 - 1, " ") + "\n";
    const file = new Uint8Array(10 + dict.length + be.length);
    file.set([0x93, ..."NUMPY"].map((c) => (typeof c === "number" ? c : c.charCodeAt(0))), 0);
    file.set([1, 0, dict.length & 255, dict.length >> 8], 6);
    file.set([...dict].map((c) => c.charCodeAt(0)), 10);
    file.set(be, 10 + dict.length);
    await Deno.writeFile(`${root}/be.npy`, file);
    for (const chunkBytes of [1, 60 * 3, 1 << 20]) {
      const out = `${root}/d${chunkBytes}`;
      assertEquals(await importNpy(`${root}/be.npy`, out, { chunkBytes }), [7, 2, 3, 5]);
      const ds = await openDataset(out);
      assertEquals(Array.from(ds.readAll()), vals, `pieces of ${chunkBytes} bytes`);
      assertEquals(ds.meta.components, ["c0", "c1"]);
      ds.close();
    }
    // A non-finite value fails the import, naming the element and its sample; nothing is left.
    const f = new Float32Array(3 * 4 * 4).fill(1);
    f[2 * 16 + 5] = NaN;
    await Deno.writeFile(`${root}/nan.npy`, encodeNpy(f, [3, 4, 4]));
    await assertRejects(
      () => importNpy(`${root}/nan.npy`, `${root}/dn`, { chunkBytes: 64 }),
      UserError,
      "element 37 (sample 2) is NaN",
    );
    assertEquals(await Deno.stat(`${root}/dn`).catch(() => null), null);
    // A file shorter than its header says is refused before anything is written.
    const whole = encodeNpy(new Float32Array(3 * 16), [3, 4, 4]);
    await Deno.writeFile(`${root}/short.npy`, whole.subarray(0, whole.length - 8));
    await assertRejects(
      () => importNpy(`${root}/short.npy`, `${root}/ds`),
      UserError,
      "needs 320 bytes: found 312",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** A version-1 `.npy` file with the given header dict text and body. */
function npyWith(dict: string, body: Uint8Array): Uint8Array {
  const text = dict.padEnd(Math.ceil((10 + dict.length + 1) / 64) * 64 - 10 - 1, " ") + "\n";
  const file = new Uint8Array(10 + text.length + body.length);
  file.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, text.length & 255, text.length >> 8], 0);
  file.set([...text].map((c) => c.charCodeAt(0)), 10);
  file.set(body, 10 + text.length);
  return file;
}

Deno.test("import names a missing array, samples file or labels file once, as 'no such file' (not Deno's text naming it again), and writes nothing", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${root}/a.npy`, encodeNpy(new Uint8Array(3 * 2 * 4), [3, 2, 4]));
    const cases: [string, Parameters<typeof importNpy>[2], string][] = [
      ["none.npy", {}, `Cannot import ${root}/none.npy: no such file`],
      ["a.npy", { samples: `${root}/s.csv` }, `Cannot read samples ${root}/s.csv: no such file`],
      ["a.npy", { labels: `${root}/l.csv` }, `Cannot read labels ${root}/l.csv: no such file`],
    ];
    for (const [npy, options, want] of cases) {
      const e = await assertRejects(
        () => importNpy(`${root}/${npy}`, `${root}/d`, options),
        UserError,
      );
      assertEquals(e.message, want);
      assertEquals(await Deno.stat(`${root}/d`).catch(() => null), null);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("import refuses arrays that are not numbers by their dtype, and .npz archives, with one clear line", async () => {
  const root = await Deno.makeTempDir();
  try {
    const cases: [string, string, string][] = [
      // numpy.save(allow_pickle=True) of an object array: a pickle follows the header.
      ["|O", "obj", "'|O' (Python objects)"],
      ["|b1", "bool", "'|b1' (booleans)"],
      ["<U2", "str", "'<U2' (strings)"],
      ["<c8", "complex", "'<c8' (complex numbers)"],
      ["<M8[ns]", "time", "'<M8[ns]' (dates and times)"],
    ];
    for (const [descr, name, want] of cases) {
      const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (2, 2, 2), }`;
      await Deno.writeFile(`${root}/${name}.npy`, npyWith(dict, new Uint8Array(128)));
      const e = await assertRejects(
        () => importNpy(`${root}/${name}.npy`, `${root}/d_${name}`),
        UserError,
        `Cannot import ${root}/${name}.npy: expected a numeric dtype (f2, f4, f8, i1..i8, u1..u8): found ${want}`,
      );
      assertEquals(e.message.split("\n").length, 1);
      assertEquals(await Deno.stat(`${root}/d_${name}`).catch(() => null), null);
    }
    // A structured dtype: descr is a list of fields.
    const st =
      "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (2, 2, 2), }";
    await Deno.writeFile(`${root}/st.npy`, npyWith(st, new Uint8Array(64)));
    await assertRejects(
      () => importNpy(`${root}/st.npy`, `${root}/d_st`),
      UserError,
      "expected a numeric dtype (f2, f4, f8, i1..i8, u1..u8): found a structured dtype [('a', '<f4'), ('b', '<i4')]",
    );
    // numpy.savez writes a zip of .npy files.
    await Deno.writeFile(
      `${root}/a.npz`,
      new Uint8Array([0x50, 0x4b, 3, 4, ...new Uint8Array(60)]),
    );
    await assertRejects(
      () => importNpy(`${root}/a.npz`, `${root}/d_npz`),
      UserError,
      `Cannot import ${root}/a.npz: it is a zip archive (numpy.savez writes them), not a .npy file`,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("import refuses samples that hold no values, in C and Fortran order, naming the shape", async () => {
  const root = await Deno.makeTempDir();
  try {
    for (const order of ["False", "True"]) {
      for (const shape of ["(3, 0, 4)", "(3, 2, 4, 0)", "(3, 0, 2, 4)"]) {
        const dict = `{'descr': '<f4', 'fortran_order': ${order}, 'shape': ${shape}, }`;
        await Deno.writeFile(`${root}/z.npy`, npyWith(dict, new Uint8Array(0)));
        await assertRejects(
          () => importNpy(`${root}/z.npy`, `${root}/dz`),
          UserError,
          `Cannot import ${root}/z.npy: every dimension after N must be at least 1: found shape [${
            shape.slice(1, -1).split(", ")
          }]`,
        );
        assertEquals(await Deno.stat(`${root}/dz`).catch(() => null), null);
      }
      // No samples at all: a dataset that pretrain, encode and cluster can do nothing with.
      const dict = `{'descr': '<f4', 'fortran_order': ${order}, 'shape': (0, 2, 4), }`;
      await Deno.writeFile(`${root}/z.npy`, npyWith(dict, new Uint8Array(0)));
      await assertRejects(
        () => importNpy(`${root}/z.npy`, `${root}/dz`),
        UserError,
        `Cannot import ${root}/z.npy: it holds no samples (shape [0,2,4])`,
      );
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("import reads Fortran-order arrays as NumPy does (transposed into C order)", async () => {
  const root = await Deno.makeTempDir();
  try {
    // numpy.asfortranarray(a) of a [2, 3, 4] float64 a[n, h, w] = 100n + 10h + w: the file holds
    // the elements with the first index fastest.
    const [N, H, W] = [2, 3, 4];
    const body = new Float64Array(N * H * W);
    let f = 0;
    for (let w = 0; w < W; w++) {
      for (let h = 0; h < H; h++) for (let n = 0; n < N; n++) body[f++] = 100 * n + 10 * h + w;
    }
    const dict = "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3, 4), }";
    await Deno.writeFile(`${root}/f.npy`, npyWith(dict, new Uint8Array(body.buffer)));
    assertEquals(await importNpy(`${root}/f.npy`, `${root}/df`), [2, 1, 3, 4]);
    const ds = await openDataset(`${root}/df`);
    const want = Array.from({ length: N * H * W }, (_, i) => {
      const n = Math.floor(i / (H * W)), h = Math.floor(i / W) % H, w = i % W;
      return 100 * n + 10 * h + w;
    });
    assertEquals(Array.from(ds.readAll()), want);
    ds.close();
    // Four dimensions, streamed in pieces of any number of samples (one, two, all): the file
    // is read a piece at a time, not whole. a[n, c, h, w] = 1000n + 100c + 10h + w, [5, 2, 3, 4].
    const [N4, C4] = [5, 2];
    const b4 = new Float32Array(N4 * C4 * H * W);
    let g = 0;
    for (let w = 0; w < W; w++) {
      for (let h = 0; h < H; h++) {
        for (let c = 0; c < C4; c++) {
          for (let n = 0; n < N4; n++) b4[g++] = 1000 * n + 100 * c + 10 * h + w;
        }
      }
    }
    const d4 = "{'descr': '<f4', 'fortran_order': True, 'shape': (5, 2, 3, 4), }";
    await Deno.writeFile(`${root}/f4.npy`, npyWith(d4, new Uint8Array(b4.buffer)));
    const per = C4 * H * W;
    const want4 = Array.from({ length: N4 * per }, (_, i) => {
      const n = Math.floor(i / per), c = Math.floor(i / (H * W)) % C4;
      return 1000 * n + 100 * c + 10 * (Math.floor(i / W) % H) + (i % W);
    });
    for (const chunkBytes of [1, 2 * per * 4, 1 << 20]) {
      const out = `${root}/d4_${chunkBytes}`;
      assertEquals(await importNpy(`${root}/f4.npy`, out, { chunkBytes }), [5, 2, 3, 4]);
      const d = await openDataset(out);
      assertEquals(Array.from(d.readAll()), want4, `pieces of ${chunkBytes} bytes`);
      d.close();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("import takes one label per line with empty lines for unknown labels", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeFile(
      `${root}/a.npy`,
      encodeNpy(new Float32Array(4 * 2 * 2).fill(1), [4, 2, 2]),
    );
    // "\n".join(["quake", "", "blast", ""]) + "\n", as Python writes it; CRLF and a header too.
    for (const text of ["quake\n\nblast\n\n", "label\r\nquake\r\n\r\nblast\r\n\r\n"]) {
      const out = `${root}/d${text.length}`;
      await Deno.writeTextFile(`${root}/l.txt`, text);
      await importNpy(`${root}/a.npy`, out, { labels: `${root}/l.txt` });
      const ds = await openDataset(out);
      assertEquals(ds.labels(), ["quake", null, "blast", null], JSON.stringify(text));
      ds.close();
    }
    await Deno.writeTextFile(`${root}/l.txt`, "quake\n\nblast\n");
    await Deno.writeFile(`${root}/b.npy`, encodeNpy(new Float32Array(5 * 4).fill(1), [5, 2, 2]));
    await assertRejects(
      () => importNpy(`${root}/b.npy`, `${root}/db`, { labels: `${root}/l.txt` }),
      UserError,
      "expected 5 labels (one per line): found 3",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("import refuses a labels table without id and label columns, and an id listed twice, naming them", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${root}/a.npy`, encodeNpy(new Float32Array(3 * 4).fill(1), [3, 2, 2]));
    const cases: [string, string][] = [
      // Its rows were read as labels ('sample,class', '0,a', ...).
      [
        "sample,class\n0,a\n1,b\n",
        "its first line has 2 columns (sample,class): expected a header naming the columns id " +
        "and label, or one label per line (quote a label that holds a comma)",
      ],
      // Sample 0 got the later label and sample 1 none.
      [
        "id,label\n0,a\n0,b\n2,c\n",
        "id '0' is listed twice (rows 2 and 3): expected each sample once",
      ],
      // A stray quote: the rest of the file was one label.
      [
        'id,label\n0,"a\n1,b\n2,c\n',
        "the quoted field opened by '\"' on line 2 is never closed",
      ],
      // Closed by another stray quote: rows merged into one label.
      [
        'id,label\n0,"a\n1,b"\n1,x\n2,c\n',
        "the label on row 2 holds a line break",
      ],
      ['"a\nb"\nc\nd\n', "the label on row 1 holds a line break"],
      ["id,label,Label\n0,a,b\n1,a,b\n2,a,b\n", "column 'label' is named twice (columns 2 and 3)"],
    ];
    for (const [text, want] of cases) {
      await Deno.writeTextFile(`${root}/l.csv`, text);
      await assertRejects(
        () => importNpy(`${root}/a.npy`, `${root}/d`, { labels: `${root}/l.csv` }),
        UserError,
        `Cannot read labels ${root}/l.csv: ${want}`,
      );
    }
    // A label holding a comma, quoted, is one label per line.
    await Deno.writeTextFile(`${root}/l.csv`, '"flow, lahar"\nfall\n\n');
    await importNpy(`${root}/a.npy`, `${root}/ok`, { labels: `${root}/l.csv` });
    const ds = await openDataset(`${root}/ok`);
    assertEquals(ds.labels(), ["flow, lahar", "fall", null]);
    ds.close();
    // A table written with spaces after its commas: ids and labels trimmed, as its header is.
    await Deno.writeTextFile(`${root}/l.csv`, "id, label\n 1, eq\n0, blast\n2,\n");
    await importNpy(`${root}/a.npy`, `${root}/sp`, { labels: `${root}/l.csv` });
    const sp = await openDataset(`${root}/sp`);
    assertEquals(sp.labels(), ["blast", "eq", null]);
    sp.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("import --samples takes a dataset's samples.csv (ids, stations, times, labels, events) and --scaling what the values are, so a dataset makes the round trip through NumPy", async () => {
  const root = await Deno.makeTempDir();
  try {
    const x = new Float32Array(3 * 2 * 2).map((_, i) => -i);
    await Deno.writeFile(`${root}/a.npy`, encodeNpy(x, [3, 1, 2, 2]));
    await Deno.writeTextFile(
      `${root}/samples.csv`,
      "id,network,station,location,channel,reference_time,label,event\n" +
        "ev1.XX.A,XX,A,,HHZ,2024-01-01T00:00:00.000Z,eq,ev1\n" +
        "ev1.XX.B,XX,B,,HHZ,2024-01-01T00:00:01.000Z,eq,ev1\n" +
        "ev2.XX.A,XX,A,,HHZ,2024-01-02T00:00:00.000Z,,ev2\n",
    );
    for (const chunkBytes of [8, undefined]) {
      const out = `${root}/d${chunkBytes ?? ""}`;
      await importNpy(`${root}/a.npy`, out, {
        samples: `${root}/samples.csv`,
        scaling: "db",
        chunkBytes,
      });
      const ds = await openDataset(out);
      assertEquals(ds.samples.map((s) => [s.id, s.station, s.event, s.label]), [
        ["ev1.XX.A", "A", "ev1", "eq"],
        ["ev1.XX.B", "B", "ev1", "eq"],
        ["ev2.XX.A", "A", "ev2", null],
      ]);
      assertEquals(ds.samples[1].referenceTime, "2024-01-01T00:00:01.000Z");
      assertEquals(ds.meta.scaling, "db");
      ds.close();
    }
    // A column import does not read may repeat (two 'notes'); one it reads may not.
    await Deno.writeTextFile(
      `${root}/n.csv`,
      "id,label,notes,notes\nev1.XX.A,eq,a,b\nev1.XX.B,eq,,\nev2.XX.A,,,\n",
    );
    await importNpy(`${root}/a.npy`, `${root}/dn`, { samples: `${root}/n.csv` });
    const dn = await openDataset(`${root}/dn`);
    assertEquals(dn.labels(), ["eq", "eq", null]);
    dn.close();
    await Deno.writeTextFile(`${root}/n.csv`, "id,label,label\nx,a,b\ny,a,b\nz,a,b\n");
    await assertRejects(
      () => importNpy(`${root}/a.npy`, `${root}/dn2`, { samples: `${root}/n.csv` }),
      UserError,
      "column 'label' is named twice",
    );
    // --labels, keyed by those ids, replaces their labels.
    await Deno.writeTextFile(`${root}/l.csv`, "id,label\nev2.XX.A,blast\nev1.XX.A,eq\nev1.XX.B,\n");
    await importNpy(`${root}/a.npy`, `${root}/dl`, {
      samples: `${root}/samples.csv`,
      labels: `${root}/l.csv`,
    });
    const dl = await openDataset(`${root}/dl`);
    assertEquals(dl.labels(), ["eq", null, "blast"]);
    assertEquals(dl.meta.scaling, "none");
    dl.close();
    // Refused, naming what was expected: a row count that is not N, no id column, an id twice,
    // an unknown scaling.
    const cases: [string, Record<string, string>, string][] = [
      ["id\na\nb\n", {}, "the array has 3 samples, the file 2 rows"],
      [
        "name\na\nb\nc\n",
        {},
        "expected a CSV with an id column (a dataset's samples.csv): found columns name",
      ],
      ["id\na\nb\na\n", {}, "row 4: id 'a' is listed twice"],
      [
        "id\na\nb\nc\n",
        { scaling: "dB" },
        "--scaling must be one of none, psd, log10, db: found 'dB'",
      ],
    ];
    for (const [text, extra, want] of cases) {
      await Deno.writeTextFile(`${root}/s.csv`, text);
      const e = await assertRejects(
        () => importNpy(`${root}/a.npy`, `${root}/bad`, { samples: `${root}/s.csv`, ...extra }),
        Error,
      );
      assertEquals(e.message.includes(want), true, e.message);
      assertEquals(await Deno.stat(`${root}/bad`).catch(() => null), null);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an empty label in an id,label table reads back as null, an unknown label", () => {
  // Null itself, not "" (a dataset written from "" reads it back as null too, hiding the "").
  assertEquals(parseLabels("id,label\n0,\n1,a\n2, \n", 3, ["0", "1", "2"], "l.csv"), [
    null,
    "a",
    null,
  ]);
});

Deno.test("a one-per-line labels file whose header is written Label (any case) imports, the header skipped", () => {
  for (const header of ["Label", "LABEL", " label "]) {
    assertEquals(
      parseLabels(`${header}\nquake\n\nblast\n`, 3, ["0", "1", "2"], "l.txt"),
      ["quake", null, "blast"],
      header,
    );
  }
});

Deno.test("trailing lines of only spaces or tabs past the last sample's are not counted as labels", () => {
  assertEquals(parseLabels("quake\nblast\n  \n\t\n", 2, ["0", "1"], "l.txt"), [
    "quake",
    "blast",
  ]);
  // Within the samples' lines such a line is a sample whose label is unknown.
  assertEquals(parseLabels("quake\n \nblast\n", 3, ["0", "1", "2"], "l.txt"), [
    "quake",
    null,
    "blast",
  ]);
});

Deno.test("meta.json records the labels and samples files an import was given, and null without them", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${root}/a.npy`, encodeNpy(new Float32Array(2 * 4).fill(1), [2, 2, 2]));
    await Deno.writeTextFile(`${root}/l.txt`, "quake\nblast\n");
    await importNpy(`${root}/a.npy`, `${root}/dl`, { labels: `${root}/l.txt` });
    await importNpy(`${root}/a.npy`, `${root}/dn`);
    const imported = async (dir: string) => {
      const meta = JSON.parse(await Deno.readTextFile(`${dir}/meta.json`));
      return [meta.config.import.labels, meta.config.import.samples];
    };
    assertEquals(await imported(`${root}/dl`), [`${root}/l.txt`, null]);
    assertEquals(await imported(`${root}/dn`), [null, null]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("import --force replaces an existing output, which without it is refused", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${root}/a.npy`, encodeNpy(new Float32Array(2 * 4).fill(1), [2, 2, 2]));
    await Deno.writeFile(`${root}/b.npy`, encodeNpy(new Float32Array(3 * 4).fill(2), [3, 2, 2]));
    const log = console.log;
    console.log = () => {};
    try {
      await importCommand.run({ out: `${root}/d` }, [`${root}/a.npy`]);
      await assertRejects(() => importCommand.run({ out: `${root}/d` }, [`${root}/b.npy`]));
      await importCommand.run({ out: `${root}/d`, force: true }, [`${root}/b.npy`]);
    } finally {
      console.log = log;
    }
    const ds = await openDataset(`${root}/d`);
    assertEquals(ds.meta.shape, [3, 1, 2, 2]);
    assertEquals(ds.readAll()[0], 2);
    ds.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("one label per line: labels are trimmed, a first label written 'label' is a label where the count leaves no header, and a line break is named by its row past the header", () => {
  assertEquals(parseLabels(" quake \nblast\t\n", 2, ["0", "1"], "l.txt"), ["quake", "blast"]);
  // Two lines for two samples: the first is sample 0's label, not a header.
  assertEquals(parseLabels("label\nquake\n", 2, ["0", "1"], "l.txt"), ["label", "quake"]);
  // The quoted label of sample 1 is on row 3 of the file (row 1 is the header).
  assertThrows(
    () => parseLabels('label\nquake\n"rock\nfall"\n', 2, ["0", "1"], "l.txt"),
    UserError,
    "Cannot read labels l.txt: the label on row 3 holds a line break",
  );
});

Deno.test("import --samples refuses a file with more rows than the array has samples, and meta.json records the samples file", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${root}/a.npy`, encodeNpy(new Float32Array(2 * 4).fill(1), [2, 2, 2]));
    await Deno.writeTextFile(`${root}/s3.csv`, "id\na\nb\nc\n");
    await assertRejects(
      () => importNpy(`${root}/a.npy`, `${root}/bad`, { samples: `${root}/s3.csv` }),
      UserError,
      "the array has 2 samples, the file 3 rows: expected one row per sample",
    );
    assertEquals(await Deno.stat(`${root}/bad`).catch(() => null), null);
    await Deno.writeTextFile(`${root}/s2.csv`, "id\na\nb\n");
    await importNpy(`${root}/a.npy`, `${root}/ds`, { samples: `${root}/s2.csv` });
    const meta = JSON.parse(await Deno.readTextFile(`${root}/ds/meta.json`));
    assertEquals([meta.config.import.labels, meta.config.import.samples], [null, `${root}/s2.csv`]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
