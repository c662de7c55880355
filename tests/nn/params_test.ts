/** ParameterSet: each parameter and its gradient are views into the set's two arenas. */
import { ParameterSet } from "../../lib/nn/params.ts";
import { Sgd } from "../../lib/optim/optimizers.ts";
import * as ops from "../../lib/tensor/ops.ts";
import { assertEquals } from "../_assert.ts";

Deno.test("[cpu] a backward fills the gradient arena and an update shows through the parameter", async () => {
  const set = new ParameterSet([
    { name: "a", shape: [2], init: Float32Array.of(1, 2) },
    { name: "b", shape: [3], init: Float32Array.of(3, 4, 5) },
  ], "cpu");
  const b = set.byName.get("b")!, off = set.offsets.get("b")!;
  // d(2·Σb)/db = 2, exact: it must land in set.grads at b's offset, where optimisers read it.
  ops.sum(b, 2).backward();
  assertEquals(Array.from((await set.grads.data()).slice(off, off + 3)), [2, 2, 2]);
  // SGD with lr 0.5 updates the arena: b − 0.5·2 = [2, 3, 4] must show through b (exact).
  const opt = new Sgd(set, { lr: 0.5 });
  opt.update();
  assertEquals(Array.from(await b.data()), [2, 3, 4]);
  assertEquals(Array.from(await set.byName.get("a")!.data()), [1, 2]);
  opt.dispose();
  set.dispose();
});

Deno.test("[cpu] SGD's momentum buffer starts at zero (a checkpoint before the first step)", async () => {
  const set = new ParameterSet([{ name: "w", shape: [3], init: Float32Array.of(1, 2, 3) }], "cpu");
  const opt = new Sgd(set, { lr: 0.1, momentum: 0.9 });
  const s = await opt.state();
  assertEquals(s.step, 0);
  assertEquals(Array.from(s.buffers[0]).every((v) => v === 0), true);
  opt.dispose();
  set.dispose();
});

Deno.test("[cpu] zeroGrad clears the whole gradient arena (a parameter left out of the next pass)", async () => {
  const set = new ParameterSet([
    { name: "a", shape: [2], init: Float32Array.of(1, 2) },
    { name: "b", shape: [3], init: Float32Array.of(3, 4, 5) },
  ], "cpu");
  ops.sum(set.byName.get("a")!, 3).backward();
  set.zeroGrad();
  // The next pass uses b only: a's slot keeps what zeroGrad left, which must be 0 (exact).
  ops.sum(set.byName.get("b")!).backward();
  const g = await set.grads.data(), oa = set.offsets.get("a")!, ob = set.offsets.get("b")!;
  assertEquals(Array.from(g.slice(oa, oa + 2)), [0, 0]);
  assertEquals(Array.from(g.slice(ob, ob + 3)), [1, 1, 1]);
  set.dispose();
});

Deno.test("[cpu] load puts each parameter back at its own offset", async () => {
  const specs = (a: number[], b: number[]) => [
    { name: "a", shape: [2], init: Float32Array.from(a) },
    { name: "b", shape: [3], init: Float32Array.from(b) },
  ];
  const src = new ParameterSet(specs([1, 2], [3, 4, 5]), "cpu");
  const dst = new ParameterSet(specs([0, 0], [0, 0, 0]), "cpu");
  dst.load(await src.stateDict());
  assertEquals(Array.from(await dst.byName.get("a")!.data()), [1, 2]);
  assertEquals(Array.from(await dst.byName.get("b")!.data()), [3, 4, 5]);
  src.dispose();
  dst.dispose();
});
