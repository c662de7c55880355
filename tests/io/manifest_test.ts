import { assertEquals, assertThrows } from "../_assert.ts";
import { parseUtc } from "../../lib/io/manifest.ts";

Deno.test("parseUtc reads ISO 8601 dates, day-of-year dates, fractions and zones as UTC", () => {
  const t = Date.UTC(2020, 1, 29, 12, 34, 56);
  assertEquals(parseUtc("2020-02-29T12:34:56Z"), t);
  assertEquals(parseUtc(" 2020-02-29T12:34:56 "), t); // no zone: UTC
  assertEquals(parseUtc("2020-02-29 12:34:56"), t);
  assertEquals(parseUtc("2020-060T12:34:56"), t); // day 60 of a leap year
  assertEquals(parseUtc("2020-02-29T12:34:56.123456Z"), t + 123.456);
  assertEquals(parseUtc("2020-02-29T12:34:56,5Z"), t + 500);
  assertEquals(parseUtc("2020-02-29T14:34:56+02:00"), t);
  assertEquals(parseUtc("2020-02-29T07:04:56-0530"), t);
  assertEquals(parseUtc("2020-02-29T12:34"), Date.UTC(2020, 1, 29, 12, 34));
  assertEquals(parseUtc("2020-02-29"), Date.UTC(2020, 1, 29));
  assertEquals(parseUtc(""), null);
  assertEquals(parseUtc("  "), null);
});

Deno.test("parseUtc refuses times that Date.parse would accept or roll over, naming the text", () => {
  for (
    const [text, why] of [
      ["2023-02-29T00:00:00Z", "day 29 does not exist"],
      ["2020-02-30", "day 30 does not exist"],
      ["2020-13-01", "month 13 does not exist"],
      ["2021-366", "day of year 366 does not exist in 2021"],
      ["2020-01-01T24:00:00", "out of range"],
      ["2020-01-01T23:59:60Z", "out of range"],
      ["1", "not of that form"],
      ["Jan 5 2020", "not of that form"],
      ["2020-01-01T00:00:00 UTC", "not of that form"],
    ]
  ) {
    assertThrows(() => parseUtc(text), RangeError, `'${text}'`);
    assertThrows(() => parseUtc(text), RangeError, why);
  }
});
