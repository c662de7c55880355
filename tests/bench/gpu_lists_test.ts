/**
 * The tuning lists bench/gpu/run.sh sweeps on a GPU host (bench/gpu/tunings.txt, ab.txt): every
 * line a tuning that SEISDEC_TUNING accepts, so a typo cannot waste a GPU session's few
 * minutes on a run that fails at its first line.
 */
import { assert, assertEquals } from "../_assert.ts";
import { parseTuning } from "../../lib/tensor/backends.ts";

const lines = (file: string): string[] =>
  Deno.readTextFileSync(new URL(`../../bench/gpu/${file}`, import.meta.url)).split("\n")
    .map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));

for (const file of ["tunings.txt", "ab.txt"]) {
  Deno.test(`bench/gpu/${file}: every line is a tuning SEISDEC_TUNING accepts`, () => {
    const ls = lines(file);
    assert(ls.length >= 2, `${file} lists tunings`);
    assertEquals(ls[0], "{}", "the adapter's default comes first");
    for (const [i, l] of ls.entries()) parseTuning(l, `${file} line ${i + 1}`);
  });
}
