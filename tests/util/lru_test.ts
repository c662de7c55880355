import { assertEquals } from "../_assert.ts";
import { ByteLru } from "../../lib/util/lru.ts";

Deno.test("ByteLru: a get makes its entry the most recently used, so the one not read goes first", () => {
  const c = new ByteLru<string>(10);
  c.set("a", "A", 4);
  c.set("b", "B", 4);
  assertEquals(c.get("a"), "A");
  c.set("c", "C", 4); // 12 bytes: the least recently used, "b", goes
  assertEquals([c.get("a"), c.get("b"), c.get("c")], ["A", undefined, "C"]);
});

Deno.test("ByteLru holds at most its budget: one byte over drops the oldest, exactly the budget keeps both", () => {
  const over = new ByteLru<string>(10);
  over.set("a", "A", 5);
  over.set("b", "B", 6); // 11 bytes
  assertEquals([over.get("a"), over.get("b")], [undefined, "B"]);
  const full = new ByteLru<string>(10);
  full.set("a", "A", 5);
  full.set("b", "B", 5); // 10 bytes
  assertEquals([full.get("a"), full.get("b")], ["A", "B"]);
});

Deno.test("ByteLru keeps a value of exactly `largest` bytes and drops a larger one, never past the budget", () => {
  const c = new ByteLru<string>(10, 6);
  c.set("a", "A", 6);
  c.set("b", "B", 7);
  assertEquals([c.get("a"), c.get("b")], ["A", undefined]);
  // A largest above the budget is the budget: a 15-byte value is not kept (nor does it try to
  // make room by emptying the cache).
  const d = new ByteLru<string>(10, 20);
  d.set("a", "A", 4);
  d.set("big", "BIG", 15);
  assertEquals([d.get("a"), d.get("big")], ["A", undefined]);
});

Deno.test("ByteLru: setting a key again replaces its bytes rather than adding them", () => {
  const c = new ByteLru<string>(10);
  c.set("a", "A", 6);
  c.set("a", "A2", 6);
  c.set("b", "B", 4); // 6 + 4 = 10 bytes: both fit
  assertEquals([c.get("a"), c.get("b")], ["A2", "B"]);
});

Deno.test("ByteLru: a value too large for the cache under a key it holds drops the older value, which is not the key's now", () => {
  const c = new ByteLru<string>(10, 6);
  c.set("a", "A", 4);
  c.set("b", "B", 4);
  c.set("a", "A-large", 7); // not kept, and "A" is stale
  assertEquals([c.get("a"), c.get("b")], [undefined, "B"]);
  c.set("c", "C", 6); // the 4 bytes of "A" are free: "b" stays
  assertEquals([c.get("b"), c.get("c")], ["B", "C"]);
});
