/**
 * The training settings from defaults, a config file and flags (lib/cluster/config.ts): which
 * wins, and which of them an error names.
 */
import { join } from "node:path";
import {
  fileKs,
  readConfigFile,
  resolveFinetune,
  resolveInit,
  resolvePretrain,
} from "../../lib/cluster/config.ts";
import { PRETRAIN_DEFAULTS } from "../../lib/cluster/pretrain.ts";
import { UserError } from "../../lib/util/errors.ts";
import { assertEquals, assertRejects, assertThrows } from "../_assert.ts";

Deno.test("a flag left unset keeps the config file's value, and a flag that is set wins over it", () => {
  const cfg = resolvePretrain({ epochs: 7, lr: 0.01 }, { epochs: undefined, lr: 0.002 });
  assertEquals([cfg.epochs, cfg.lr, cfg.batchSize], [7, 0.002, PRETRAIN_DEFAULTS.batchSize]);
  assertEquals(resolveInit({ k: 4 }, { k: undefined, nInit: 3 }).k, 4);
});

Deno.test("a refused value is named by its flag where a flag gave it, else by its field", () => {
  assertThrows(
    () => resolveFinetune({}, { batchSize: 0 }),
    UserError,
    "Cannot read --batch-size: expected >= 1: found 0",
  );
  assertThrows(
    () => resolvePretrain({}, { betas: [1, 0.9] }),
    UserError,
    "Cannot read --beta1: expected < 1: found 1",
  );
  // A library caller's file section is not checked on reading: its field is named, not a flag
  // that was not given.
  const e = assertThrows(
    () => resolvePretrain({ epochs: 0 }, { epochs: undefined }),
    UserError,
    "Cannot use pretrain settings: pretrain.epochs",
  );
  assertEquals(e.message.includes("--epochs"), false, e.message);
});

Deno.test("a config file may give a section in part; an unknown key in init, or an empty list of k, or a missing file or a directory is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const write = async (o: unknown) => {
      const p = join(dir, "c.json");
      await Deno.writeTextFile(p, JSON.stringify(o));
      return p;
    };
    assertEquals((await readConfigFile(await write({ pretrain: { epochs: 3 } }))).pretrain, {
      epochs: 3,
    });
    await assertRejects(
      async () => readConfigFile(await write({ init: { k: 3, ninit: 2 } })),
      UserError,
      "ninit",
    );
    await assertRejects(async () => readConfigFile(await write({ init: { k: [] } })), UserError);
    // A missing file is named once ('no such file', not Deno's text naming it again).
    const e = await assertRejects(() => readConfigFile(join(dir, "none.json")), UserError);
    assertEquals(e.message, `Cannot read config ${join(dir, "none.json")}: no such file`);
    // So is a directory given in its place.
    const d = await assertRejects(() => readConfigFile(dir), UserError);
    assertEquals(d.message, `Cannot read config ${dir}: it is a directory, not a regular file`);
    assertEquals(fileKs([8, 3, 5]), [3, 5, 8]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
