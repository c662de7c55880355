import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { notRegularFile, readInputFile } from "../../lib/io/input_file.ts";
import { readMiniseedFile } from "../../lib/io/mseed.ts";
import { readSacFile } from "../../lib/io/sac.ts";
import { readStationXmlFile } from "../../lib/io/stationxml.ts";
import { readQuakeMlFile } from "../../lib/io/quakeml.ts";
import { SampleError } from "../../lib/io/sample_error.ts";

const unix = Deno.build.os !== "windows";

Deno.test({
  name:
    "input files: a device, a pipe or a directory named as a waveform, response or picks file fails as unreadable, naming what it is, without reading it",
  ignore: !unix,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      // /dev/zero read whole grew without bound (a manifest's waveform or response column).
      const readers: [string, (p: string) => Promise<unknown>][] = [
        ["miniSEED", readMiniseedFile],
        ["SAC", readSacFile],
        ["StationXML", readStationXmlFile],
        ["QuakeML", readQuakeMlFile],
      ];
      for (const [name, read] of readers) {
        const e = await assertRejects(() => read("/dev/zero"), SampleError) as SampleError;
        assertEquals(e.reason, "unreadable", name);
        assertEquals(
          e.message,
          "Cannot read /dev/zero: it is a character device, not a regular file",
          name,
        );
      }
      // So are a manifest, window labels and an array to import.
      const { readManifest } = await import("../../lib/io/manifest.ts");
      const { readLabelIntervals } = await import("../../lib/io/sds_windows.ts");
      const { readNpyFile } = await import("../../lib/io/npy.ts");
      for (
        const read of [readManifest, readLabelIntervals, readNpyFile] as ((
          p: string,
        ) => Promise<unknown>)[]
      ) {
        await assertRejects(() => read("/dev/zero"), Error, "it is a character device");
      }
      // A named pipe with no writer: opening it would block for ever.
      const fifo = `${dir}/pipe`;
      const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
      assert(mk.success, "mkfifo");
      assertEquals(await notRegularFile(fifo), "it is a named pipe (FIFO), not a regular file");
      await assertRejects(() => readMiniseedFile(fifo), SampleError, "named pipe (FIFO)");
      assertEquals(await notRegularFile(dir), "it is a directory, not a regular file");
      // Regular files, and symbolic links to them, read as before; a missing one is the read's
      // own error.
      await Deno.writeFile(`${dir}/a`, new Uint8Array([1, 2, 3]));
      await Deno.symlink(`${dir}/a`, `${dir}/l`);
      assertEquals(await readInputFile(`${dir}/l`), new Uint8Array([1, 2, 3]));
      assertEquals(await notRegularFile(`${dir}/missing`), null);
      await assertRejects(() => readInputFile(`${dir}/missing`), Deno.errors.NotFound);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
