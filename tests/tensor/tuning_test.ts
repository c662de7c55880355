/**
 * SEISDEC_TUNING (lib/tensor/backends.ts): the per-adapter tuning override read from the
 * environment, with clear errors for bad values.
 */
import { parseTuning, tuningOverride } from "../../lib/tensor/backends.ts";
import { assertEquals, assertThrows } from "../_assert.ts";

function withEnv(value: string | undefined, fn: () => void): void {
  const old = Deno.env.get("SEISDEC_TUNING");
  if (value === undefined) Deno.env.delete("SEISDEC_TUNING");
  else Deno.env.set("SEISDEC_TUNING", value);
  try {
    fn();
  } finally {
    if (old === undefined) Deno.env.delete("SEISDEC_TUNING");
    else Deno.env.set("SEISDEC_TUNING", old);
  }
}

Deno.test("SEISDEC_TUNING overrides known tuning fields and nothing when unset", () => {
  withEnv(undefined, () => assertEquals(tuningOverride(), {}));
  withEnv(
    '{"convTile": 8, "weightGradTile": 1}',
    () => assertEquals(tuningOverride(), { convTile: 8, weightGradTile: 1 }),
  );
});

Deno.test("SEISDEC_TUNING refuses bad JSON, non-objects and unknown fields, naming them", () => {
  withEnv(
    "{convTile: 8}",
    () => assertThrows(() => tuningOverride(), Error, "SEISDEC_TUNING is not JSON"),
  );
  withEnv("[8]", () => assertThrows(() => tuningOverride(), Error, "must be a JSON object"));
  withEnv(
    '{"convTiles": 8}',
    () => assertThrows(() => tuningOverride(), Error, 'unknown field "convTiles"'),
  );
});

Deno.test("a tuning with a field of the wrong type is refused, naming the field and the type", () => {
  assertThrows(() => parseTuning('{"convTlie": 8}', "x"), Error, 'unknown field "convTlie"');
  assertThrows(() => parseTuning('{"uniformWeights": 1}', "x"), Error, "must be a boolean");
  assertThrows(() => parseTuning('{"inFlight": "4"}', "x"), Error, "must be a number");
  assertThrows(() => parseTuning('{"matmul": "fast"}', "x"), Error, '"tiled" or "blocked"');
  assertThrows(() => parseTuning("[1]", "x"), Error, "must be a JSON object");
  assertEquals(parseTuning('{"matmul": "tiled", "foldActGrad": false}', "x"), {
    matmul: "tiled",
    foldActGrad: false,
  });
});
