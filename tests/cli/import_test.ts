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
