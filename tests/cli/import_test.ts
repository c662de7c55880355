import { assertEquals, assertRejects } from "../_assert.ts";
import { importNpy } from "../../lib/cli/import.ts";
import { encodeNpy } from "../../lib/io/npy.ts";
import { openDataset } from "../../lib/io/dataset.ts";
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
  a.close();
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
    "expected 3 rows",
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
