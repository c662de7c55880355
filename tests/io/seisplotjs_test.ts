import { assertEquals, assertThrows } from "../_assert.ts";
import { parseXml } from "../../lib/io/_seisplotjs.ts";

Deno.test("parseXml refuses XML with an error the parser goes on after, naming the first", () => {
  // xmldom reports these as errors, not fatal ones: it returns a document all the same.
  assertThrows(
    () => parseXml("<a>&foo;</a>", "e.xml"),
    TypeError,
    "Cannot parse e.xml: expected well-formed XML: entity not found:&foo;",
  );
  // Three errors: the first is named, not the last.
  assertThrows(
    () => parseXml("<a/>junk<", "j.xml"),
    TypeError,
    "Cannot parse j.xml: expected well-formed XML: Unexpected content outside root element: 'junk'",
  );
  // A warning alone (an unquoted attribute value) is no error.
  assertEquals(parseXml('<a b=1 c="2"/>', "w.xml").documentElement?.getAttribute("c"), "2");
});
