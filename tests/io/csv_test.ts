import { assertEquals, assertThrows } from "../_assert.ts";
import { formatCsv, parseCsv, parseCsvRecords } from "../../lib/io/csv.ts";
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

Deno.test("parseCsvRecords refuses a column named twice, naming the file and both columns", () => {
  // Before, a record kept the last of the two and a reader by index the first.
  assertThrows(
    () => parseCsvRecords("id,label, label\na,x,y\n", ",", { source: "l.csv" }),
    UserError,
    "Cannot read l.csv: column 'label' is named twice (columns 2 and 3)",
  );
  assertThrows(() => parseCsvRecords("id,id\n1,2\n"), RangeError, "column 'id' is named twice");
  // Empty names (trailing commas) may repeat; so may columns the reader says it does not read.
  assertEquals(parseCsvRecords("id,,\n1,,\n"), [{ id: "1", "": "" }]);
  const notes = "id,label,notes,notes\na,x,n1,n2\n";
  assertEquals(parseCsvRecords(notes, ",", { columns: ["id", "label"] })[0].label, "x");
  assertThrows(
    () => parseCsvRecords("id,label,label\na,x,y\n", ",", { columns: ["id", "label"] }),
    RangeError,
    "column 'label' is named twice",
  );
});

Deno.test("CSV: a byte-order mark (Excel's CSV UTF-8) is not part of the first column's name; a quote inside an unquoted field is a character; fields with quotes, commas or line ends round-trip", () => {
  assertEquals(parseCsvRecords("\uFEFFid,x\n1,2\n"), [{ id: "1", x: "2" }]);
  assertEquals(parseCsv("\uFEFFa,b\n"), [["a", "b"]]);
  assertEquals(parseCsv('a,5" gun,b\nc,d,e\n'), [["a", '5" gun', "b"], ["c", "d", "e"]]);
  const rows = [["id", "label"], ['"a" b', "x,y"], ["c", "two\nlines"], ["d", 'end"']];
  assertEquals(parseCsv(formatCsv(rows)), rows);
});

Deno.test("parseCsv keeps a last row that ends in an empty field without a final line end, and a row of empty fields", () => {
  // "b,": the row's second field is empty, and the file stops there.
  assertEquals(parseCsv("a,b\n1,"), [["a", "b"], ["1", ""]]);
  // A line of commas is a row of empty fields (one per comma, plus one), not a blank line.
  assertEquals(parseCsv("a,b\n,\n2,3\n"), [["a", "b"], ["", ""], ["2", "3"]]);
});

Deno.test("parseCsv with keepEmptyLines keeps an empty line as a row of one empty field", () => {
  assertEquals(parseCsv("x\n\ny\r\n\r\n", ",", { keepEmptyLines: true }), [
    ["x"],
    [""],
    ["y"],
    [""],
  ]);
  assertEquals(parseCsv("x\n\ny\n"), [["x"], ["y"]]);
});

Deno.test("parseCsvRecords gives missing fields as empty strings, and an empty text as no records", () => {
  assertEquals(parseCsvRecords("id,label,event\na,x\nb\n"), [
    { id: "a", label: "x", event: "" },
    { id: "b", label: "", event: "" },
  ]);
  assertEquals(parseCsvRecords(""), []);
  assertEquals(parseCsvRecords("\n\n"), []);
});

Deno.test("formatCsv quotes a field with a lone carriage return, writes null as empty and ends with a line end", () => {
  const text = formatCsv([["id", "note", "n"], ["a", "one\rtwo", null], ["b", undefined, 3]]);
  assertEquals(text, 'id,note,n\na,"one\rtwo",\nb,,3\n');
  assertEquals(parseCsv(text), [["id", "note", "n"], ["a", "one\rtwo", ""], ["b", "", "3"]]);
});
