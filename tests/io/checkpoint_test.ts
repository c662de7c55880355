import { assert, assertEquals } from "../_assert.ts";
import { keepCheckpointOnInterrupt } from "../../lib/io/checkpoint.ts";
import { interruptNotes, removeLiveTemporaries } from "../../lib/util/atomic.ts";

Deno.test("keepCheckpointOnInterrupt: Ctrl-C keeps the checkpoint and names what is on the disk then", async () => {
  const dir = await Deno.makeTempDir();
  const ck = `${dir}/checkpoint`;
  try {
    keepCheckpointOnInterrupt(ck, (st) => `epoch ${st.epoch} of 30 done`);
    // Before the first checkpoint: nothing kept, nothing removed, said so.
    assertEquals(removeLiveTemporaries(), []);
    assertEquals(interruptNotes(), [
      `no checkpoint in ${ck} yet: run the same command without --resume to start again`,
    ]);
    await Deno.mkdir(ck);
    await Deno.writeTextFile(`${ck}/state.json`, JSON.stringify({ epoch: 3 }));
    // A newer checkpoint put in place since: the note reads it, not the one of registration.
    await Deno.writeTextFile(`${ck}/state.json`, JSON.stringify({ epoch: 4 }));
    assertEquals(removeLiveTemporaries(), []);
    assertEquals(interruptNotes(), [
      `kept ${ck}: epoch 4 of 30 done; run the same command with --resume to continue`,
    ]);
    assert((await Deno.stat(`${ck}/state.json`)).isFile, "the checkpoint was removed");
    keepCheckpointOnInterrupt(ck, null);
    assertEquals(interruptNotes(), []);
  } finally {
    keepCheckpointOnInterrupt(ck, null);
    await Deno.remove(dir, { recursive: true });
  }
});
