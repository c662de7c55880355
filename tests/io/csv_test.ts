import { assertEquals, assertThrows } from "../_assert.ts";
import { parseCsv, parseCsvRecords } from "../../lib/io/csv.ts";
import { UserError } from "../../lib/util/errors.ts";

Deno.test("parseCsv reads quoted fields, doubled quotes and a quoted line break", () => {
  assertEquals(parseCsv('a,b\r\n1,"x, ""y"""\n2,"p\nq"\n'), [
    ["a", "b"],
    ["1", 'x, "y"'],
    ["2", "p\nq"],
  ]);
});

Deno.test("parseCsv refuses a quote never closed, naming the line it opened on", () => {
  // Before, the field ran to the end of the file and the rows after it were lost silently.
  const text = 'id,label\r\na,x\r\nb,"y\r\nc,z\r\nd,w\r\n';
  assertThrows(() => parseCsv(text), RangeError, "opened by '\"' on line 3 is never closed");
  assertThrows(
    () => parseCsvRecords(text, ",", { source: "labels l.csv" }),
    UserError,
    "Cannot read labels l.csv: the quoted field opened by '\"' on line 3",
  );
  // Lines are counted across quoted line breaks and lone CRs too.
  assertThrows(() => parseCsv('"a\nb",c\rd,"e'), RangeError, "on line 3");
});
