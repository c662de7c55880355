import { assertEquals } from "../_assert.ts";
import { editDistance, nearestName } from "../../lib/util/names.ts";

Deno.test("editDistance counts insertions, deletions, substitutions and adjacent swaps", () => {
  const cases: [string, string, number][] = [
    ["", "", 0],
    ["", "abc", 3],
    ["model", "model", 0],
    ["modle", "model", 1], // one swap
    ["mdoel", "model", 1],
    ["batchsize", "batch-size", 1], // one insertion
    ["epochs", "epoch", 1], // one deletion
    ["lr", "lt", 1], // one substitution
    ["abc", "cba", 2],
    ["data", "model", 5],
    ["kitten", "sitting", 3],
  ];
  for (const [a, b, d] of cases) {
    assertEquals(editDistance(a, b), d, `${a} -> ${b}`);
    assertEquals(editDistance(b, a), d, `${b} -> ${a}`);
  }
});

Deno.test("nearestName: the only name it begins, else the nearest within a third of its length", () => {
  const names = ["batchSize", "epochs", "fmax", "fmin", "k", "method"];
  const cases: [string, string | null][] = [
    ["batchsize", "batchSize"], // case ignored; a prefix of the name itself
    ["epoch", "epochs"],
    ["fm", null], // begins two names, and 2 edits from each
    ["fmx", "fmax"],
    ["methd", "method"],
    ["kk", "k"],
    ["k", null], // one letter: no guess
    ["epochz", "epochs"],
    ["learningRate", null],
  ];
  for (const [given, want] of cases) assertEquals(nearestName(given, names), want, given);
  // Ties go to the first name in order.
  assertEquals(nearestName("fmxx", ["fmax", "fmix"]), "fmax");
});

Deno.test("nearestName ignores case in the names it is a prefix of, too", () => {
  // "Mod" begins "Model" only once case is ignored (2 edits away: too far by distance).
  assertEquals(nearestName("mod", ["Model", "seed"]), "Model");
  assertEquals(nearestName("MOD", ["Model", "seed"]), "Model");
});
