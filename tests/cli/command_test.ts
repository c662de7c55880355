/** Flag parsing helpers of lib/cli/_command.ts and cli.ts's split of user errors from bugs. */
import { isUserFacing, main } from "../../cli.ts";
import {
  type Command,
  helpText,
  intFlag,
  numFlag,
  parseCommandArgs,
} from "../../lib/cli/_command.ts";
import { UserError } from "../../lib/util/errors.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";

Deno.test("intFlag and numFlag refuse an empty value instead of reading it as 0", () => {
  for (const v of ["", "  "]) {
    assertThrows(() => intFlag({ seed: v }, "seed"), UserError, "--seed: expected an integer");
    assertThrows(() => numFlag({ lr: v }, "lr"), UserError, "--lr: expected a number");
  }
  assertThrows(() => intFlag({ epochs: "2.5" }, "epochs"), UserError, "found '2.5'");
  assertThrows(() => numFlag({ lr: "Infinity" }, "lr"), UserError, "found 'Infinity'");
  assertEquals([intFlag({ k: "12" }, "k"), intFlag({}, "k")], [12, undefined]);
  assertEquals([numFlag({ lr: "-1e-3" }, "lr"), numFlag({}, "lr")], [-1e-3, undefined]);
});

Deno.test("parseCommandArgs and helpText: short flags, defaults shown, unknown flags refused", () => {
  const cmd: Command = {
    name: "demo",
    summary: "A test command.",
    flags: { out: { type: "string", arg: "DIR", default: "./x", description: "Where." } },
    run: () => Promise.resolve(),
  };
  const { values, positionals } = parseCommandArgs(cmd, ["a", "--out", "d", "-q"]);
  assertEquals([values.out, values.quiet, positionals], ["d", true, ["a"]]);
  assertThrows(() => parseCommandArgs(cmd, ["--nope"]), UserError, "arguments of 'demo'");
  const help = helpText(cmd);
  assert(help.includes("--out DIR") && help.includes("Where. (default ./x)"), help);
  assert(help.includes("-q, --quiet"), help);
});

Deno.test("isUserFacing: argument checks that start 'Cannot ' are user errors; other TypeErrors are bugs", () => {
  assert(isUserFacing(new UserError("anything")));
  assert(isUserFacing(new RangeError("Cannot read k 0: counts must be >= 1")));
  assert(isUserFacing(new Deno.errors.NotFound("x")));
  // A bug (undefined property, a failed internal check) keeps its stack trace.
  assert(!isUserFacing(new TypeError("x is undefined")));
  assert(!isUserFacing(new RangeError("Invalid array length")));
  assert(!isUserFacing(new Error("Cannot do it")));
});

Deno.test("main: an unknown command exits 2 naming the commands", async () => {
  const err: string[] = [];
  const { error } = console;
  console.error = (...a: unknown[]) => err.push(a.map(String).join(" "));
  try {
    assertEquals(await main(["frobnicate"]), 2);
  } finally {
    console.error = error;
  }
  assertEquals(err.length, 1);
  assert(err[0].startsWith("error: Cannot run 'frobnicate': no such command"), err[0]);
  assert(err[0].includes("pretrain"), err[0]);
});
