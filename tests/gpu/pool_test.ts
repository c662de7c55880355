/**
 * The buffer pool's sizes against the device's limits (lib/gpu/pool.ts), on fake devices: a
 * batch that the batch check accepts must get its buffers from the pool, also on an adapter
 * whose `maxBufferSize` is at or below the size bucket of its binding limit.
 *
 * @module
 */
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { allocationSize, bucketSize, BufferPool, tensorLimit } from "../../lib/gpu/pool.ts";
import { ConvAutoencoder } from "../../lib/nn/autoencoder.ts";

type Limits = { maxStorageBufferBindingSize: number; maxBufferSize: number };

/** A device that only makes buffers (sizes, no memory) and counts them. */
function fakeDevice(limits: Limits): GPUDevice & { made: number[] } {
  const made: number[] = [];
  return {
    limits,
    made,
    createBuffer: ({ size }: GPUBufferDescriptor) => {
      made.push(size);
      return { size, destroy() {} };
    },
  } as unknown as GPUDevice & { made: number[] };
}

// Limits as adapters report them: lavapipe and the H100 (Vulkan) of the committed results; an
// adapter whose buffers may be no larger than its bindings, at 2 GiB - 1 (bucket of a
// near-limit tensor: 2 GiB); one whose maxBufferSize is below its binding limit.
const ADAPTERS: Record<string, Limits> = {
  lavapipe: { maxStorageBufferBindingSize: 134217728, maxBufferSize: 2147483647 },
  h100: { maxStorageBufferBindingSize: 2147483644, maxBufferSize: 4292870144 },
  "buffer = binding": { maxStorageBufferBindingSize: 2147483644, maxBufferSize: 2147483647 },
  "buffer < binding": { maxStorageBufferBindingSize: 2147483644, maxBufferSize: 1610612736 },
};

Deno.test("the largest batch the check accepts gets its activation buffer from the pool", () => {
  for (const [name, limits] of Object.entries(ADAPTERS)) {
    for (const inputShape of [[1, 87, 67], [1, 257, 400]] as [number, number, number][]) {
      const ae = new ConvAutoencoder({ inputShape });
      const limit = tensorLimit(limits);
      const most = ae.maxBatch(limit.bytes);
      const what = `${name}, ${inputShape}: batch ${most}`;
      assertEquals(ae.batchOverLimit(most, limit), null, what);
      const bytes = 4 * ae.largestActivation().floats * most;
      assert(bytes <= limits.maxStorageBufferBindingSize, `${what}: binds`);
      const device = fakeDevice(limits);
      const buf = new BufferPool(device).acquire(bytes); // threw a RangeError before
      assert(buf.size >= bytes && buf.size <= limits.maxBufferSize, `${what}: ${buf.size}`);
      // One more sample is refused, naming the limit that binds.
      const over = ae.batchOverLimit(most + 1, limit);
      assertEquals(over?.most, most, what);
      const named = name === "buffer < binding" ? "maxBufferSize" : "maxStorageBufferBindingSize";
      assert(over!.reason.includes(`this adapter's ${named} (`), over!.reason);
    }
  }
  // The case the pool used to fail: the seed's largest batch at 2 GiB - 4 per binding is a
  // 2,147,443,200-byte tensor, whose bucket (2 GiB) passes a maxBufferSize of 2 GiB - 1.
  const seed = new ConvAutoencoder({ inputShape: [1, 87, 67] });
  const bytes = 4 * seed.largestActivation().floats * seed.maxBatch(2147483644);
  assertEquals([bytes, bucketSize(bytes)], [2147443200, 2 ** 31]);
});

Deno.test("the limit a batch is checked against is the smaller of the binding and buffer limits", () => {
  assertEquals(tensorLimit(ADAPTERS.lavapipe), {
    bytes: 134217728,
    name: "maxStorageBufferBindingSize",
  });
  assertEquals(tensorLimit(ADAPTERS["buffer < binding"]), {
    bytes: 1610612736,
    name: "maxBufferSize",
  });
  // A whole number of floats: 2^31 - 1 bytes hold at most 2^31 - 4 of them.
  assertEquals(
    tensorLimit({ maxStorageBufferBindingSize: 2 ** 32 - 1, maxBufferSize: 2 ** 31 - 1 }),
    { bytes: 2 ** 31 - 4, name: "maxBufferSize" },
  );
  const ae = new ConvAutoencoder({ inputShape: [1, 87, 67] });
  assertEquals(ae.batchOverLimit(10 ** 6, 128 * 2 ** 20)?.most, 2663, "bytes alone still work");
});

Deno.test("past the largest bucket within maxBufferSize, the pool allocates exact sizes and reuses them", () => {
  const max = 2 ** 31 - 1;
  assertEquals(allocationSize(12292, max), 14336, "below: the bucket");
  assertEquals(allocationSize(2 ** 30 + 4, max), 1.25 * 2 ** 30, "a bucket that fits");
  assertEquals(allocationSize(1.75 * 2 ** 30 + 4, max), 1.75 * 2 ** 30 + 4, "exact");
  assertEquals(allocationSize(max - 3, max), max - 3, "up to the limit, in whole floats");
  const e = assertThrows(
    () => allocationSize(max + 1, max),
    RangeError,
    "maxBufferSize 2147483647",
  );
  assert(e.message.includes(`requested ${max + 1} bytes`), e.message);
  // An exact-size buffer goes back to the pool and serves the same request after a submit.
  const device = fakeDevice(ADAPTERS["buffer = binding"]);
  const pool = new BufferPool(device);
  const bytes = 2147443200;
  const a = pool.acquire(bytes);
  assertEquals(a.size, bytes);
  pool.release(a);
  pool.afterSubmit();
  assertEquals(pool.stats().freeBytes, bytes);
  assert(pool.acquire(bytes) === a, "reused");
  assertEquals(device.made, [bytes], "one buffer made");
  assertEquals(pool.stats().liveBytes, bytes);
});
