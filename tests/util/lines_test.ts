import { readLines } from "../../lib/util/lines.ts";
import { assertEquals } from "../_assert.ts";

/** A stream that delivers `chunks` one by one. */
function chunked(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    pull(c) {
      const next = chunks.shift();
      if (next) c.enqueue(next);
      else c.close();
    },
  });
}

Deno.test("readLines splits on LF and CRLF, keeps empty lines and reads a last unended line", async () => {
  const bytes = new TextEncoder().encode('{"a":1}\r\n\nzwei\ndrei');
  const got: string[] = [];
  for await (const l of readLines(chunked([bytes]))) got.push(l);
  assertEquals(got, ['{"a":1}', "", "zwei", "drei"]);
});

Deno.test("readLines joins lines and UTF-8 characters split across chunks", async () => {
  const bytes = new TextEncoder().encode("µs 1×2\nΔt\n");
  // Split inside "µ" (2 bytes), inside "×" (2 bytes) and before the first line end.
  const cuts = [1, 5, 8, bytes.length];
  const chunks = cuts.map((end, i) => bytes.slice(i ? cuts[i - 1] : 0, end));
  const got: string[] = [];
  for await (const l of readLines(chunked(chunks))) got.push(l);
  assertEquals(got, ["µs 1×2", "Δt"]);
});

Deno.test("readLines drops only a line's final CR, and a stream cut inside a character ends in U+FFFD", async () => {
  const got: string[] = [];
  const bytes = new TextEncoder().encode("a\rb\r\nc\r\r\n");
  for await (const l of readLines(chunked([bytes, new Uint8Array([0x78, 0xc3])]))) got.push(l);
  // The last two bytes: "x" and the first of the two bytes of "é" (0xc3 0xa9).
  assertEquals(got, ["a\rb", "c\r", "x\ufffd"]);
});

Deno.test("readLines stopped early releases the stream, which reads on from where it stopped", async () => {
  const enc = new TextEncoder();
  const stream = chunked([enc.encode("a\nb"), enc.encode("c\n")]);
  for await (const l of readLines(stream)) {
    assertEquals(l, "a");
    break;
  }
  const reader = stream.getReader();
  const next = await reader.read();
  assertEquals(new TextDecoder().decode(next.value), "c\n");
  reader.releaseLock();
});
