/**
 * Provenance records (lib/util/software.ts): the tuning digest `info` prints, the one-line form,
 * and which earlier runs a resumed stage's record names.
 */
import {
  plainSoftware,
  runsRecord,
  sameSoftware,
  type Software,
  softwareText,
  tuningDigest,
  withRun,
} from "../../lib/util/software.ts";
import { defaultTuning } from "../../lib/gpu/kernels.ts";
import { assertEquals } from "../_assert.ts";

const GPU: Software = {
  ...plainSoftware(null),
  backend: "webgpu",
  adapter: "Some GPU [vulkan]",
  tuning: defaultTuning(false),
};

Deno.test("tuningDigest and sameSoftware ignore the order of fields and fields left undefined", () => {
  const t = defaultTuning(false);
  const reversed = Object.fromEntries(Object.entries(t).reverse());
  assertEquals(tuningDigest(reversed), tuningDigest(t));
  assertEquals(tuningDigest({ ...t, convGemm: undefined }), tuningDigest(t));
  assertEquals(tuningDigest({ ...t, convTile: 16 }) === tuningDigest(t), false);
  // A record as made in this run against the same one read back from JSON.
  const live = { ...GPU, tuning: { ...reversed, convGemm: undefined } as typeof t };
  const read = JSON.parse(JSON.stringify(GPU));
  assertEquals(sameSoftware(live, read), true);
  assertEquals(sameSoftware({ ...GPU, adapter: "Other GPU" }, read), false);
  assertEquals(sameSoftware(null, null), true);
  assertEquals(sameSoftware(null, read), false);
});

Deno.test("softwareText: webgpu with the adapter and the tuning's digest, cpu, no backend, and ?", () => {
  const v = `seisdec ${GPU.seisdec}, Deno ${GPU.deno}`;
  assertEquals(
    softwareText(GPU),
    `${v}, webgpu on Some GPU [vulkan] (tuning ${tuningDigest(GPU.tuning)})`,
  );
  assertEquals(softwareText({ ...GPU, tuning: null }), `${v}, webgpu on Some GPU [vulkan]`);
  assertEquals(softwareText(plainSoftware("cpu")), `${v}, cpu`);
  assertEquals(softwareText(plainSoftware(null)), `${v}, no backend`);
  assertEquals(softwareText({ backend: "webgpu" }), "seisdec ?, Deno ?, webgpu on ?");
  assertEquals(softwareText({ backend: 3 }), "seisdec ?, Deno ?, no backend");
  assertEquals(softwareText(null), null);
  assertEquals(softwareText("cpu"), null);
});

Deno.test("withRun keeps each record once, in the order first seen; runsRecord names the others", () => {
  const cpu = plainSoftware("cpu");
  assertEquals(withRun([], GPU), [GPU]);
  assertEquals(withRun([GPU], JSON.parse(JSON.stringify(GPU))), [GPU]);
  assertEquals(withRun([GPU, cpu], GPU), [GPU, cpu], "seen before, not last: not again");
  assertEquals(withRun([cpu], GPU), [cpu, GPU]);
  // A checkpoint from before runs were recorded: its runs count as one unknown.
  assertEquals(withRun(undefined, GPU), [null, GPU]);
  assertEquals(withRun("runs", GPU), [null, GPU]);
  // An entry that is no record reads as unknown.
  assertEquals(withRun([7, GPU], GPU), [null, GPU]);
  assertEquals(runsRecord([GPU], GPU), { software: GPU });
  assertEquals(runsRecord([null, cpu, GPU], GPU), { software: GPU, softwareBefore: [null, cpu] });
});
