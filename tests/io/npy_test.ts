import { assert, assertEquals, assertThrows } from "../_assert.ts";
import {
  encodeNpy,
  npyToFloat64,
  NpyWriter,
  readNpy,
  readNpyFile,
  readNpyHeader,
  readNpz,
  writeNpyFile,
} from "../../lib/io/npy.ts";
import { parseCsvRecords } from "../../lib/io/csv.ts";
import { crc32 } from "../../lib/plot/png.ts";
import { numpyPython } from "../_python.ts";

const PN = new URL("../../../shared/data/phasenet_ncedc/", import.meta.url).pathname;

Deno.test("all 115 PhaseNet NPZ files read: data (9001, 3) <f8, itp 3000, its and channels", async () => {
  const rows = parseCsvRecords(await Deno.readTextFile(`${PN}waveform.csv`));
  const byName = new Map(rows.map((r) => [r.fname, r]));
  let n = 0;
  for (const f of Deno.readDirSync(`${PN}waveform_train`)) {
    const z = await readNpz(await Deno.readFile(`${PN}waveform_train/${f.name}`));
    assertEquals(z.data.dtype, "<f8", f.name);
    assertEquals(z.data.shape, [9001, 3], f.name);
    assertEquals(z.itp.shape, [], "scalar");
    assertEquals(Number((z.itp.data as BigInt64Array)[0]), 3000, f.name);
    assertEquals(Number((z.its.data as BigInt64Array)[0]), Number(byName.get(f.name)!.its), f.name);
    assertEquals((z.channels.data as string[])[0], byName.get(f.name)!.channels, f.name);
    const d = z.data.data as Float64Array;
    for (let c = 0; c < 3; c++) {
      let any = false;
      for (let i = c; i < d.length; i += 3) if (d[i] !== 0) any = true;
      assert(any, `${f.name}: component ${c} is not all zero`);
    }
    n++;
  }
  assertEquals(n, 115);
});

Deno.test("encodeNpy/readNpy round-trip f4, f8, i4, u1 with 64-byte aligned headers", () => {
  for (
    const a of [
      new Float32Array([1.5, -2, 3e-8]),
      new Float64Array([Math.PI, -1e300]),
      new Int32Array([-7, 2 ** 30]),
      new Uint8Array([0, 255, 9]),
    ]
  ) {
    const b = encodeNpy(a, [a.length]);
    const hlen = new DataView(b.buffer).getUint16(8, true);
    assertEquals((10 + hlen) % 64, 0, "header alignment");
    // numpy.load needs a tuple: "(3,)", not the integer "(3)".
    const text = new TextDecoder().decode(b.subarray(10, 10 + hlen));
    assert(text.includes(`'shape': (${a.length},), }`), text);
    const r = readNpy(b);
    assertEquals(r.shape, [a.length]);
    assertEquals(r.data, a);
  }
  assertThrows(() => encodeNpy(new Float32Array(5), [2, 3]), TypeError, "holds 6 elements");
  // A negative or fractional dimension: [-1, 0] holds "0" elements but numpy cannot read it.
  for (const shape of [[-1, 0], [2.5, 2]]) {
    assertThrows(
      () => encodeNpy(new Float32Array(0), shape),
      TypeError,
      `shape [${shape}]: every dimension must be an integer >= 0`,
    );
  }
  assertThrows(() => readNpy(new Uint8Array([1, 2, 3])), TypeError, "magic");
});

Deno.test("readNpy handles big-endian, Fortran order, f2 and truncated data", () => {
  const head = (descr: string, shape: string, fortran = "False") => {
    const dict =
      `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`.padEnd(117, " ") +
      "\n";
    const b = new Uint8Array(10 + dict.length);
    b.set([0x93, 78, 85, 77, 80, 89, 1, 0]);
    new DataView(b.buffer).setUint16(8, dict.length, true);
    for (let i = 0; i < dict.length; i++) b[10 + i] = dict.charCodeAt(i);
    return b;
  };
  const be = new Uint8Array(8);
  new DataView(be.buffer).setFloat32(0, 1.25, false);
  new DataView(be.buffer).setFloat32(4, -3, false);
  const r = readNpy(new Uint8Array([...head(">f4", "(2,)"), ...be]));
  assertEquals(Array.from(r.data as Float32Array), [1.25, -3]);
  // Fortran [2, 3]: column-major bytes 1..6 -> C order [[1,3,5],[2,4,6]].
  const f = new Float64Array([1, 2, 3, 4, 5, 6]);
  const fr = readNpy(
    new Uint8Array([...head("<f8", "(2, 3)", "True"), ...new Uint8Array(f.buffer)]),
  );
  assertEquals(Array.from(npyToFloat64(fr)), [1, 3, 5, 2, 4, 6]);
  const h = new Uint16Array([0x3c00, 0xc000, 0x0001, 0x8200]); // 1, -2, 2^-24, -2^-15
  assertEquals(
    Array.from(
      readNpy(new Uint8Array([...head("<f2", "(4,)"), ...new Uint8Array(h.buffer)]))
        .data as Float32Array,
    ),
    [1, -2, 2 ** -24, -(2 ** -15)],
  );
  // Version 2.0: a 4-byte header length, the dict from byte 12.
  const v1 = head("<f4", "(2,)");
  const v2 = new Uint8Array(v1.length + 2 + 8);
  v2.set(v1.subarray(0, 6));
  v2[6] = 2;
  new DataView(v2.buffer).setUint32(8, v1.length - 10, true);
  v2.set(v1.subarray(10), 12);
  new DataView(v2.buffer).setFloat32(v1.length + 2, 0.5, true);
  new DataView(v2.buffer).setFloat32(v1.length + 6, 7, true);
  assertEquals(Array.from(readNpy(v2).data as Float32Array), [0.5, 7]);
  assertThrows(
    () => readNpy(new Uint8Array([...head("<f8", "(4,)"), 1, 2, 3])),
    TypeError,
    "needs 32 bytes",
  );
});

Deno.test("NpyWriter streams samples and patches the first dimension; numpy-compatible header", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const w = NpyWriter.open(`${dir}/s.npy`, "<f4", [2, 3]);
    for (let i = 0; i < 1234; i++) w.append(new Float32Array(6).fill(i));
    w.close();
    const r = await readNpyFile(`${dir}/s.npy`);
    assertEquals(r.shape, [1234, 2, 3]);
    assertEquals((r.data as Float32Array)[6 * 1233 + 5], 1233);
    await writeNpyFile(`${dir}/f.npy`, new Float64Array([1, 2]), [2]);
    assertEquals((await readNpyFile(`${dir}/f.npy`)).shape, [2]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("NpyWriter.append refuses part of a sample or the wrong element type, writing nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const w = NpyWriter.open(`${dir}/p.npy`, "<f4", [2, 3]);
    w.append(new Float32Array(6).fill(1));
    for (const n of [5, 7, 1]) {
      assertThrows(
        () => w.append(new Float32Array(n)),
        TypeError,
        `expected Float32Array of a multiple of 6 elements: found Float32Array of ${n}`,
      );
    }
    assertThrows(
      () => w.append(new Float64Array(6)),
      TypeError,
      "expected Float32Array of a multiple of 6 elements: found Float64Array of 6",
    );
    assertEquals(w.count, 1);
    w.append(new Float32Array(12).fill(2));
    w.close();
    const r = await readNpyFile(`${dir}/p.npy`);
    assertEquals(r.shape, [3, 2, 3]);
    assertEquals(Array.from(r.data as Float32Array), [
      ...new Array(6).fill(1),
      ...new Array(12).fill(2),
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("NpyWriter reserves header room for any count, and resume keeps exactly `count` samples", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Sample shapes [1], [1, 1], ... give every header length modulo 64: the count 0 → 100000
    // (5 more digits) must fit in the header the writer reserved at open for each of them.
    for (let k = 1; k <= 24; k++) {
      const w = NpyWriter.open(`${dir}/k.npy`, "<f4", new Array(k).fill(1));
      w.append(new Float32Array(100_000).fill(k));
      w.close();
      const r = await readNpyFile(`${dir}/k.npy`);
      assertEquals(r.shape, [100_000, ...new Array(k).fill(1)], `k ${k}`);
      assertEquals((r.data as Float32Array)[99_999], k);
    }
    const path = `${dir}/r.npy`;
    const w = NpyWriter.open(path, "<f8", [2]);
    for (let i = 0; i < 5; i++) w.append(new Float64Array([i, -i]));
    w.close();
    const dataOffset = (await Deno.readFile(path)).length - 5 * 16;
    // Resume from 3 (samples 3 and 4 were never checkpointed), then append one.
    const r = NpyWriter.resume(path, "<f8", [2], 3);
    assertEquals(r.count, 3);
    r.append(new Float64Array([9, -9]));
    r.close();
    assertEquals((await Deno.stat(path)).size, dataOffset + 4 * 16, "no stale sample at the end");
    const a = await readNpyFile(path);
    assertEquals(a.shape, [4, 2]);
    assertEquals(Array.from(a.data as Float64Array), [0, -0, 1, -1, 2, -2, 9, -9]);
    assertThrows(
      () => NpyWriter.resume(path, "<f4", [2], 1),
      TypeError,
      "expected <f4 samples of [2]: found <f8 [2]",
    );
    assertThrows(
      () => NpyWriter.resume(path, "<f8", [2], 5),
      RangeError,
      "expected at least 5 samples",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** An .npy file of `version` whose header is `dict` padded to `len` bytes (newline last). */
function npyFile(version: number, dict: string, len: number, data: number[]): Uint8Array {
  const text = new TextEncoder().encode(dict.padEnd(len - 1, " ") + "\n");
  const start = version === 1 ? 10 : 12;
  const b = new Uint8Array(start + text.length + data.length);
  b.set([0x93, 78, 85, 77, 80, 89, version, 0]);
  const dv = new DataView(b.buffer);
  if (version === 1) dv.setUint16(8, text.length, true);
  else dv.setUint32(8, text.length, true);
  b.set(text, start);
  b.set(data, start + text.length);
  return b;
}

Deno.test("readNpy: signed bytes, a version-2 header past 64 KiB, version 3's UTF-8, and truncation anywhere", () => {
  const i1 = readNpy(
    npyFile(1, "{'descr': '|i1', 'fortran_order': False, 'shape': (3,), }", 118, [255, 5, 128]),
  );
  assertEquals(Array.from(i1.data as Int8Array), [-1, 5, -128]);
  // NumPy writes version 2 only for a header over 65535 bytes: its length needs all 4 bytes.
  const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const f4 = [0, 0, 0, 63, 0, 0, 224, 64]; // 0.5, 7
  const v2 = readNpy(npyFile(2, dict, 70016, f4));
  assertEquals([v2.shape, Array.from(v2.data as Float32Array)], [[2], [0.5, 7]]);
  // Version 3: a 4-byte length as version 2, and a UTF-8 header (a structured dtype's field
  // names).
  assertEquals(Array.from(readNpy(npyFile(3, dict, 128, f4)).data as Float32Array), [0.5, 7]);
  assertThrows(
    () =>
      readNpy(
        npyFile(3, "{'descr': [('é', '<f4')], 'fortran_order': False, 'shape': (1,), }", 128, []),
      ),
    TypeError,
    "structured dtype [('é', '<f4')]",
  );
  const whole = npyFile(1, dict, 118, f4);
  assertThrows(() => readNpy(whole.subarray(0, 8)), TypeError, "magic bytes");
  assertThrows(
    () => readNpy(whole.subarray(0, 60)),
    TypeError,
    "header of 118 bytes is truncated at 60",
  );
  assertThrows(() => readNpy(whole.subarray(0, 135)), TypeError, "needs 8 bytes: found 7");
  // A dict cut short, or not a dict, is refused, not read for the fields it holds.
  assertThrows(
    () => readNpy(npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), ", 118, f4)),
    TypeError,
    "Cannot read npy: expected the header to be a dict from '{' to '}' (then spaces): found no " +
      `closing '}' in "{'descr': '<f4', 'fortran_order': False, 'shape': (2,),"`,
  );
  assertThrows(
    () => readNpy(npyFile(1, "'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 118, f4)),
    TypeError,
    "found no opening '{'",
  );
  assertThrows(() => readNpy(npyFile(1, `${dict} x`, 118, f4)), TypeError, "no closing '}'");
  // A version NumPy never wrote (a damaged byte) is named: before, its length was read as a
  // version 2's ('header of 662372470 bytes is truncated at 134 bytes').
  const v9 = whole.slice();
  v9[6] = 9;
  assertThrows(
    () => readNpy(v9),
    TypeError,
    "Cannot read npy: expected format version 1.0, 2.0 or 3.0: found 9.0",
  );
});

Deno.test("readNpy keeps a NUL inside a string and strips only the trailing ones, as NumPy does", () => {
  // The data parts of np.save(np.array(['a\x00b', 'cd'])) and of the same as bytes ('|S3').
  const file = (descr: string, data: number[]) =>
    npyFile(1, `{'descr': '${descr}', 'fortran_order': False, 'shape': (2,), }`, 118, data);
  const u = [97, 0, 0, 0, 0, 0, 0, 0, 98, 0, 0, 0, 99, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0];
  assertEquals(readNpy(file("<U3", u)).data, ["a\x00b", "cd"]);
  assertEquals(readNpy(file("|S3", [97, 0, 98, 99, 100, 0])).data, ["a\x00b", "cd"]);
  // All NULs: the empty string.
  assertEquals(readNpy(file("|S3", [0, 0, 0, 120, 0, 0])).data, ["", "x"]);
});

/** A zip entry for {@linkcode zipOf}: its name, its stored bytes and how they are stored. */
interface ZipEntry {
  name: string;
  data: Uint8Array;
  /** 0 stored, 8 deflated (data already deflated). */
  method: number;
  /** The uncompressed size. */
  size: number;
  /** Sizes and offset in a zip64 extra field of the central directory (0xffffffff in place). */
  zip64?: boolean;
  /** The entry's comment in the central directory. */
  comment?: string;
  /** The CRC-32 of the uncompressed bytes (computed from `data` where stored). */
  crc?: number;
}

/**
 * A zip archive of the entries, laid out as zipfile writes one, with `comment` as the archive's
 * comment.
 */
function zipOf(entries: ZipEntry[], comment = ""): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, e.method, true);
    const crc = e.crc ?? crc32(e.data);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, e.data.length, true);
    lv.setUint32(22, e.size, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const extra = e.zip64 ? new Uint8Array(4 + 24) : new Uint8Array(0);
    if (e.zip64) {
      const xv = new DataView(extra.buffer);
      xv.setUint16(0, 1, true);
      xv.setUint16(2, 24, true);
      // Original size, compressed size, local header offset: the order the format fixes.
      xv.setBigUint64(4, BigInt(e.size), true);
      xv.setBigUint64(12, BigInt(e.data.length), true);
      xv.setBigUint64(20, BigInt(offset), true);
    }
    const note = enc.encode(e.comment ?? "");
    const c = new Uint8Array(46 + name.length + extra.length + note.length);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 45, true);
    cv.setUint16(6, 45, true);
    cv.setUint16(10, e.method, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, e.zip64 ? 0xffffffff : e.data.length, true);
    cv.setUint32(24, e.zip64 ? 0xffffffff : e.size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint16(30, extra.length, true);
    cv.setUint16(32, note.length, true);
    cv.setUint32(42, e.zip64 ? 0xffffffff : offset, true);
    c.set(name, 46);
    c.set(extra, 46 + name.length);
    c.set(note, 46 + name.length + extra.length);
    central.push(c);
    parts.push(local, e.data);
    offset += local.length + e.data.length;
  }
  const cdSize = central.reduce((a, c) => a + c.length, 0);
  const tail = enc.encode(comment);
  const end = new Uint8Array(22 + tail.length);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  ev.setUint16(20, tail.length, true);
  end.set(tail, 22);
  const all = [...parts, ...central, end];
  const out = new Uint8Array(all.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of all) out.set(p, at), at += p.length;
  return out;
}

async function deflateRaw(data: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([data.slice()]).stream().pipeThrough(new CompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

Deno.test("readNpz reads deflated entries (np.savez_compressed) and sizes and offsets in zip64 extra fields", async () => {
  const a = encodeNpy(Float64Array.from({ length: 3000 }, (_, i) => Math.sin(i)), [1000, 3]);
  const b = encodeNpy(new Int32Array([7, -8, 9]), [3]);
  const c = encodeNpy(new Float32Array([0.5, -1.25]), [2]);
  const da = await deflateRaw(a);
  assert(da.length < a.length, "the sine deflates");
  const z = await readNpz(zipOf([
    { name: "data.npy", data: da, method: 8, size: a.length, crc: crc32(a) },
    { name: "itp.npy", data: b, method: 0, size: b.length, zip64: true },
    {
      name: "w.npy",
      data: await deflateRaw(c),
      method: 8,
      size: c.length,
      zip64: true,
      crc: crc32(c),
    },
  ]));
  assertEquals(Object.keys(z), ["data", "itp", "w"]);
  assertEquals(z.data.shape, [1000, 3]);
  assertEquals([...(z.data.data as Float64Array)], [...readNpy(a).data as Float64Array]);
  assertEquals([...(z.itp.data as Int32Array)], [7, -8, 9]);
  assertEquals([...(z.w.data as Float32Array)], [0.5, -1.25]);
  // Another compression method is named, with the entry.
  const bz = zipOf([{ name: "x.npy", data: b, method: 12, size: b.length }]);
  let msg = "";
  await readNpz(bz).catch((e) => msg = (e as Error).message);
  assertEquals(msg, "Cannot read npz entry x.npy: unsupported compression method 12");
});

Deno.test({
  name: "readNpz reads NumPy's own np.savez_compressed and np.savez archives",
  ignore: !numpyPython,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const out = await new Deno.Command(numpyPython!, {
        args: [
          "-c",
          `import numpy as np, sys
d = np.arange(12, dtype='<f8').reshape(4, 3) / 7
np.savez_compressed(sys.argv[1] + '/c.npz', data=d, itp=np.int64(3000), channels=np.array('E,N,Z'))
np.savez(sys.argv[1] + '/s.npz', data=d.astype('<f4'))`,
          dir,
        ],
      }).output();
      assert(out.success, new TextDecoder().decode(out.stderr));
      const c = await readNpz(await Deno.readFile(`${dir}/c.npz`));
      const want = Array.from({ length: 12 }, (_, i) => i / 7);
      assertEquals(c.data.shape, [4, 3]);
      assertEquals([...(c.data.data as Float64Array)], want);
      assertEquals(Number((c.itp.data as BigInt64Array)[0]), 3000);
      assertEquals((c.channels.data as string[])[0], "E,N,Z");
      const s = await readNpz(await Deno.readFile(`${dir}/s.npz`));
      assertEquals([...(s.data.data as Float32Array)], want.map(Math.fround));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("encodeNpy aligns the header to 64 bytes, newline last, for every length of the dict, and encodes an array with a zero dimension", () => {
  // Each more dimension of 1 adds ", 1": 64 shapes give every dict length modulo 64.
  for (let k = 1; k <= 64; k++) {
    const b = encodeNpy(new Float32Array([k]), new Array(k).fill(1));
    const hlen = new DataView(b.buffer).getUint16(8, true);
    assertEquals([(10 + hlen) % 64, b[10 + hlen - 1]], [0, 0x0a], `${k} dimensions`);
    assertEquals(readNpy(b).shape.length, k);
  }
  const empty = readNpy(encodeNpy(new Float32Array(0), [0, 3]));
  assertEquals([empty.shape, empty.data], [[0, 3], new Float32Array(0)]);
});

Deno.test("readNpy: a version-3 header past 64 KiB, big-endian i2, little-endian u2, a half NaN and infinities, an all-NUL <U string", () => {
  const dict = (descr: string, n: number) =>
    `{'descr': '${descr}', 'fortran_order': False, 'shape': (${n},), }`;
  // Version 3's length takes all 4 bytes, as version 2's does.
  const v3 = readNpy(npyFile(3, dict("<f4", 2), 70016, [0, 0, 0, 63, 0, 0, 224, 64]));
  assertEquals([v3.shape, Array.from(v3.data as Float32Array)], [[2], [0.5, 7]]);
  const be = readNpy(npyFile(1, dict(">i2", 2), 118, [0xff, 0xfe, 0x01, 0x00]));
  assertEquals(Array.from(be.data as Int16Array), [-2, 256]);
  const le = readNpy(npyFile(1, dict("<u2", 2), 118, [0x01, 0x00, 0xff, 0xff]));
  assertEquals(Array.from(le.data as Uint16Array), [1, 65535]);
  // 0x7e00 NaN, 0x7c00 +inf, 0xfc00 -inf.
  const half = readNpy(npyFile(1, dict("<f2", 3), 118, [0x00, 0x7e, 0x00, 0x7c, 0x00, 0xfc]));
  assertEquals(Array.from(half.data as Float32Array), [NaN, Infinity, -Infinity]);
  const u = readNpy(
    npyFile(1, dict("<U2", 2), 118, [0, 0, 0, 0, 0, 0, 0, 0, 120, 0, 0, 0, 0, 0, 0, 0]),
  );
  assertEquals(u.data, ["", "x"]);
});

Deno.test("readNpz refuses an entry whose bytes fail the archive's CRC-32, naming the entry", async () => {
  // A PhaseNet window with one bit flipped in its data (as NumPy's np.load refuses it: before,
  // the sample was extracted from the damaged values without a word).
  const bytes = await Deno.readFile(`${PN}waveform_train/NC_MEM_2017100709282692.npz`);
  const at = bytes.length >> 1;
  bytes[at] ^= 4;
  let msg = "";
  await readNpz(bytes).catch((e) => msg = (e as Error).message);
  assert(
    /^Cannot read npz entry data\.npy: its bytes fail the archive's CRC-32 check \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\): damaged bytes$/
      .test(msg),
    msg,
  );
  bytes[at] ^= 4;
  assertEquals((await readNpz(bytes)).data.shape, [9001, 3]);
});

Deno.test("readNpz reads past entry comments and finds the end record behind a long archive comment", async () => {
  const a = encodeNpy(new Int32Array([7, -8, 9]), [3]);
  const b = encodeNpy(new Float32Array([0.5]), [1]);
  const z = await readNpz(zipOf([
    { name: "a.npy", data: a, method: 0, size: a.length, comment: "first entry" },
    { name: "b.npy", data: b, method: 0, size: b.length, comment: "second" },
  ], "c".repeat(2000)));
  assertEquals(Object.keys(z), ["a", "b"]);
  assertEquals([...(z.a.data as Int32Array)], [7, -8, 9]);
  assertEquals([...(z.b.data as Float32Array)], [0.5]);
});

Deno.test("NpyWriter.open truncates a longer file; a second close does nothing and an append after close is refused", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/w.npy`;
  try {
    const long = NpyWriter.open(path, "<f4", [2]);
    long.append(new Float32Array(20).fill(5));
    long.close();
    const w = NpyWriter.open(path, "<f4", [2]);
    w.append(new Float32Array([1, 2]));
    w.close();
    w.close();
    assertThrows(
      () => w.append(new Float32Array([3, 4])),
      TypeError,
      "Cannot append to npy: the writer is closed",
    );
    const bytes = await Deno.readFile(path);
    const r = readNpy(bytes);
    assertEquals([r.shape, Array.from(r.data as Float32Array)], [[1, 2], [1, 2]]);
    assertEquals(bytes.length, readNpyHeader(bytes).dataOffset + 8, "no bytes of the older file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("NpyWriter.resume keeps every sample when count is all of them, sizes <f4 samples at 4 bytes an element, and refuses another sample shape or Fortran order", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/r.npy`;
  try {
    const w = NpyWriter.open(path, "<f4", [2]);
    for (let i = 0; i < 3; i++) w.append(new Float32Array([i, 10 + i]));
    w.close();
    const all = NpyWriter.resume(path, "<f4", [2], 3);
    all.append(new Float32Array([3, 13]));
    all.close();
    const some = NpyWriter.resume(path, "<f4", [2], 2);
    some.close();
    const bytes = await Deno.readFile(path);
    assertEquals(bytes.length, readNpyHeader(bytes).dataOffset + 2 * 8);
    assertEquals(Array.from(readNpy(bytes).data as Float32Array), [0, 10, 1, 11]);
    assertThrows(
      () => NpyWriter.resume(path, "<f4", [3], 1),
      TypeError,
      `Cannot resume ${path}: expected <f4 samples of [3]: found <f4 [2]`,
    );
    // The same header, Fortran order ("True, " as long as "False,").
    const at = new TextDecoder().decode(bytes.subarray(0, 128)).indexOf("False,");
    bytes.set(new TextEncoder().encode("True, "), at);
    await Deno.writeFile(path, bytes);
    assertEquals(readNpyHeader(await Deno.readFile(path)).fortranOrder, true);
    assertThrows(() => NpyWriter.resume(path, "<f4", [2], 1), TypeError, "expected <f4 samples");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
