import { assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { parseJsonc, stripJsonComments } from "../../lib/util/jsonc.ts";
import { parseExtractConfig, readExtractConfig } from "../../lib/io/extract_config.ts";
import { UserError } from "../../lib/util/errors.ts";

Deno.test("JSON with comments: line and block comments go, strings (with // and /* and escaped quotes) stay, positions keep", () => {
  const text =
    '{\n  "a": "http://x/*y*/", // note "quoted"\n  /* two\n  lines */ "b": "q\\"//",\n  "c": 1\n}';
  assertEquals(parseJsonc(text), { a: "http://x/*y*/", b: 'q"//', c: 1 });
  const stripped = stripJsonComments(text);
  assertEquals(stripped.length, text.length);
  assertEquals(stripped.split("\n").length, text.split("\n").length);
  // A parse error after a comment is still a SyntaxError, at the file's own position.
  const bad = '{\n  // x\n  "a": 1 2\n}';
  assertThrows(() => parseJsonc(bad), SyntaxError, `position ${bad.indexOf("2")}`);
  assertThrows(() => parseJsonc('{"a": 1 /* open'), SyntaxError, "Unterminated comment");
});

Deno.test("JSONC trailing commas go (after a comment too); commas in strings and between values stay", () => {
  assertEquals(
    parseJsonc('{\n  "a": [1, 2, ], // last\n  "b": "x,}", "c": {"d": 1,},\n}'),
    { a: [1, 2], b: "x,}", c: { d: 1 } },
  );
  // A comma with nothing before it is still an error.
  assertThrows(() => parseJsonc("[,]"), SyntaxError);
});

Deno.test("the README's commented extract config (jsonc) is a valid config as written", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const start = readme.indexOf("### The config file");
  const block = readme.slice(start).match(/```jsonc\n([\s\S]*?)\n```/)![1];
  const c = parseExtractConfig(parseJsonc(block), "README");
  assertEquals(c.input.format, "manifest");
  assertEquals([c.spectrogram.fmin, c.spectrogram.fmax], [1, 18]);
  // And as a file given to extract --config.
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/c.json`, block);
    assertEquals((await readExtractConfig(`${dir}/c.json`)).spectrogram.windowLength, 2.56);
    await Deno.writeTextFile(`${dir}/bad.json`, block.replace('"overlap": 0.5', '"overlap" 0.5'));
    await assertRejectsUser(
      () => readExtractConfig(`${dir}/bad.json`),
      `Cannot read config ${dir}/bad.json`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an extract config file that does not exist is 'no such file', and a directory one, named once (not Deno's text naming it again)", async () => {
  const e = await assertRejects(() => readExtractConfig("/nonexistent/c.json"), UserError);
  assertEquals(e.message, "Cannot read config /nonexistent/c.json: no such file");
  const d = await assertRejects(() => readExtractConfig("/tmp"), UserError);
  assertEquals(d.message, "Cannot read config /tmp: it is a directory, not a regular file");
});

async function assertRejectsUser(f: () => Promise<unknown>, msg: string): Promise<void> {
  try {
    await f();
  } catch (e) {
    if (e instanceof UserError && e.message.includes(msg)) return;
    throw e;
  }
  throw new Error(`expected a UserError with ${msg}`);
}

Deno.test("a UTF-8 byte-order mark before JSONC (Windows editors, PowerShell 5) is read past", () => {
  assertEquals(parseJsonc('\uFEFF{ "a": 1, // one\n}'), { a: 1 });
});

Deno.test("JSONC: an escaped quote inside a string does not end it, so a ',]' after it is text, not a trailing comma", () => {
  assertEquals(parseJsonc('{"a": "x\\",]", "b": [1,],}'), { a: 'x",]', b: [1] });
});

Deno.test("JSONC: a key given twice in one object is refused, naming its path and both values, where JSON.parse keeps the last without a word", () => {
  assertThrows(
    () => parseJsonc('{"pretrain": {"epochs": 3, // three\n "epochs": 5}}'),
    SyntaxError,
    "key pretrain.epochs appears twice: expected each key once in its object: found 3, then 5",
  );
  assertThrows(
    () => parseJsonc('{"a": [{"b": "x"}, {"c": 1, "b": {"d": 2}, "b": [1,\n 2]}]}'),
    SyntaxError,
    'key a.1.b appears twice: expected each key once in its object: found {"d": 2}, then [1, 2]',
  );
  // A key spelled with an escape is the same key, as JSON.parse reads it.
  assertThrows(() => parseJsonc('{"k": 1, "\\u006b": 2}'), SyntaxError, "key k appears twice");
  // The same key in two objects, or as a value, is no repeat.
  assertEquals(
    parseJsonc(
      '{"a": {"k": 1}, "b": {"k": 1}, "k": "k", "\\u006b2": 1, "k2x": [{"k": 1}, {"k": 1}]}',
    ),
    { a: { k: 1 }, b: { k: 1 }, k: "k", k2: 1, k2x: [{ k: 1 }, { k: 1 }] },
  );
});

Deno.test("an extract config file with a key given twice is refused, naming the file and the key", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/c.json`, '{"input": {"format": "npz", "format": "sds"}}');
    await assertRejectsUser(
      () => readExtractConfig(`${dir}/c.json`),
      `Cannot read config ${dir}/c.json: key input.format appears twice: expected each key once in its object: found "npz", then "sds"`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
