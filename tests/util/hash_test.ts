import { assertEquals } from "../_assert.ts";
import { fnv1aHex, sha256Hex } from "../../lib/util/hash.ts";

Deno.test("sha256Hex gives all 64 hex digits, a byte below 0x10 as two (FIPS 180-2's 'abc')", async () => {
  // Its bytes 0x01, 0x03 and 0x00 need their leading zero.
  assertEquals(
    await sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("fnv1aHex gives 8 hex digits, leading zeros included", () => {
  // FNV-1a 32 of "k2225" is 0x006da193: without the padding it would be 6 digits.
  assertEquals(fnv1aHex("k2225"), "006da193");
  assertEquals(fnv1aHex("k120"), "0493fd3b");
  assertEquals(fnv1aHex("a"), "e40c292c");
});
