import { assertEquals, assertThrows } from "../_assert.ts";
import { crc32, encodePng } from "../../lib/plot/png.ts";
import { crc32Bitwise, decodePng } from "./_decode_png.ts";
import { Rng } from "../../lib/util/rng.ts";

Deno.test("crc32 matches the standard check value and the bitwise reference", () => {
  // CRC-32 check value of "123456789" (ISO 3309), and the CRC every PNG's IEND chunk carries.
  assertEquals(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assertEquals(crc32(new TextEncoder().encode("IEND")), 0xae426082);
  const r = new Rng(1);
  const data = new Uint8Array(1000).map(() => r.int(256));
  assertEquals(crc32(data), crc32Bitwise(data));
  // Continuing a running CRC equals the CRC of the concatenation.
  assertEquals(crc32(data.subarray(300), crc32(data.subarray(0, 300))), crc32(data));
});

Deno.test("encodePng writes signature, IHDR, IDAT, IEND with valid CRCs and the exact pixels", () => {
  const r = new Rng(2);
  const w = 7, h = 5;
  const rgba = new Uint8Array(w * h * 4).map(() => r.int(256));
  const png = encodePng(rgba, w, h);
  assertEquals(Array.from(png.subarray(0, 8)), [137, 80, 78, 71, 13, 10, 26, 10]);
  // IHDR comes first: length 13, then "IHDR".
  assertEquals(Array.from(png.subarray(8, 16)), [0, 0, 0, 13, 73, 72, 68, 82]);
  const dec = decodePng(png);
  assertEquals(dec.chunks, ["IHDR", "IDAT", "IEND"]);
  assertEquals([dec.width, dec.height], [7, 5]);
  // Bit depth 8, colour type 6 (RGBA), compression 0, filter 0, interlace 0.
  assertEquals(Array.from(dec.ihdr.subarray(8)), [8, 6, 0, 0, 0]);
  assertEquals(dec.rgba, rgba);
  // The file ends with the fixed IEND chunk.
  assertEquals(Array.from(png.subarray(png.length - 12)), [
    0,
    0,
    0,
    0,
    73,
    69,
    78,
    68,
    0xae,
    0x42,
    0x60,
    0x82,
  ]);
});

Deno.test("encodePng refuses pixels of another size than width × height", () => {
  assertThrows(
    () => encodePng(new Uint8Array(17), 2, 2),
    TypeError,
    "expected width * height * 4 = 16 bytes: found 17",
  );
  assertThrows(() => encodePng(new Uint8Array(15), 2, 2), TypeError, "found 15");
});
