import { assertEquals, assertThrows } from "../_assert.ts";
import { parseJsonFile, UserError } from "../../lib/util/errors.ts";

Deno.test("parseJsonFile gives a JSON object, and refuses an array, null or a number by name", () => {
  assertEquals(parseJsonFile('{"k": 3}', "r.json", "a result"), { k: 3 });
  const refused: [string, string][] = [
    ["[1, 2]", "found an array"],
    ["null", "found null"],
    ["3", "found 3"],
  ];
  for (const [text, found] of refused) {
    assertThrows(
      () => parseJsonFile(text, "r.json", "a result"),
      UserError,
      `Cannot read r.json: expected a result, a JSON object: ${found}`,
    );
  }
  assertThrows(() => parseJsonFile("{", "r.json", "a result"), UserError, "it is not JSON");
});
