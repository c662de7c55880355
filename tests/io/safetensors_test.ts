import { assertEquals, assertThrows } from "../_assert.ts";
import {
  decodeSafetensors,
  encodeSafetensors,
  safetensorsHeaderLength,
} from "../../lib/io/safetensors.ts";

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

Deno.test("encodeSafetensors writes the golden bytes derived from the spec", () => {
  const bytes = encodeSafetensors({
    a: { dtype: "F32", shape: [2], data: new Float32Array([1, -2]) },
  });
  // Header JSON, 54 bytes by count: {"a": 4+1, {"dtype": 1+8, "F32", 6, "shape": 8, [2], 4,
  // "data_offsets": 15, [0,8] 5, }} 2 -> padded with 2 spaces to 56 = 0x38, a multiple of 8.
  const json = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  assertEquals(json.length, 54);
  const expected = [
    0x38,
    0,
    0,
    0,
    0,
    0,
    0,
    0, // header size, u64 little-endian
    ...ascii(json),
    0x20,
    0x20, // padding
    0x00,
    0x00,
    0x80,
    0x3f, // 1.0f, IEEE 754 binary32 0x3f800000, little-endian
    0x00,
    0x00,
    0x00,
    0xc0, // -2.0f, 0xc0000000
  ];
  assertEquals(Array.from(bytes), expected);
});

Deno.test("encodeSafetensors puts __metadata__ first and orders by dtype then name", () => {
  const bytes = encodeSafetensors({
    z: { dtype: "U8", shape: [3], data: new Uint8Array([7, 8, 9]) },
    b: { dtype: "F64", shape: [], data: new Float64Array([0.5]) },
    a: { dtype: "F64", shape: [1, 0], data: new Float64Array(0) },
  }, { format: "np" });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEquals(n % 8, 0);
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assertEquals(
    header.trimEnd(),
    '{"__metadata__":{"format":"np"},' +
      '"a":{"dtype":"F64","shape":[1,0],"data_offsets":[0,0]},' +
      '"b":{"dtype":"F64","shape":[],"data_offsets":[0,8]},' +
      '"z":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}',
  );
  // 0.5 = 0x3fe0000000000000, then the three bytes.
  assertEquals(Array.from(bytes.subarray(8 + n)), [0, 0, 0, 0, 0, 0, 0xe0, 0x3f, 7, 8, 9]);
});

Deno.test("safetensors round trip keeps every dtype, shape, value and the metadata", () => {
  const tensors = {
    "enc.conv1.weight": {
      dtype: "F32" as const,
      shape: [2, 1, 3],
      data: new Float32Array([1.5, -0, 3, NaN, Infinity, 1e-30]),
    },
    "dec.bias": { dtype: "F64" as const, shape: [2], data: new Float64Array([Math.PI, -1e300]) },
    labels: {
      dtype: "I32" as const,
      shape: [4],
      data: new Int32Array([-1, 0, 2 ** 31 - 1, -(2 ** 31)]),
    },
    step: { dtype: "I64" as const, shape: [], data: new BigInt64Array([-(2n ** 62n)]) },
    mask: { dtype: "U8" as const, shape: [5], data: new Uint8Array([0, 1, 255, 3, 4]) },
  };
  const meta = { seed: "42", note: "ünïcode ✓" };
  const { tensors: back, metadata } = decodeSafetensors(encodeSafetensors(tensors, meta));
  assertEquals(metadata, meta);
  assertEquals(Object.keys(back).sort(), Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) {
    assertEquals(back[name].dtype, t.dtype, name);
    assertEquals(back[name].shape, t.shape, name);
    assertEquals(back[name].data, t.data, name);
  }
});

Deno.test("decodeSafetensors reads a subarray view at a nonzero offset", () => {
  const bytes = encodeSafetensors({
    x: { dtype: "I32", shape: [2], data: new Int32Array([5, 6]) },
  });
  const padded = new Uint8Array(bytes.length + 3);
  padded.set(bytes, 3);
  assertEquals(decodeSafetensors(padded.subarray(3)).tensors.x.data, new Int32Array([5, 6]));
});

/** A safetensors file of a raw `header` (its length prefixed as u64 LE) and `data` bytes. */
function safetensorsFile(header: string, data: number[] = []): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

Deno.test("decodeSafetensors rejects truncated files and bad headers with clear errors", () => {
  const good = encodeSafetensors({
    a: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) },
  });
  assertThrows(() => decodeSafetensors(good.subarray(0, 5)), RangeError, "truncated");
  assertThrows(() => decodeSafetensors(good.subarray(0, 30)), RangeError, "truncated");
  assertThrows(
    () => decodeSafetensors(good.subarray(0, good.length - 1)),
    RangeError,
    "data_offsets",
  );
  // Extra trailing bytes are not covered by any tensor.
  const long = new Uint8Array(good.length + 4);
  long.set(good);
  assertThrows(() => decodeSafetensors(long), RangeError, "cover");
  assertThrows(() => decodeSafetensors(safetensorsFile("[1]")), RangeError, "JSON object");
  assertThrows(() => decodeSafetensors(safetensorsFile("{bad")), RangeError, "JSON");
  assertThrows(
    () =>
      decodeSafetensors(
        safetensorsFile('{"a":{"dtype":"BF17","shape":[1],"data_offsets":[0,2]}}', [0, 0]),
      ),
    RangeError,
    "dtype",
  );
  assertThrows(
    () =>
      decodeSafetensors(
        safetensorsFile('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', [0, 0, 0, 0]),
      ),
    RangeError,
    "needs 8 bytes",
  );
  // A span longer than the shape needs is refused too (it would make a longer array).
  assertThrows(
    () =>
      decodeSafetensors(
        safetensorsFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}', [
          0,
          0,
          0,
          0,
          0,
          0,
          0,
          0,
        ]),
      ),
    RangeError,
    "shape [1] of F32 needs 4 bytes: found 8",
  );
  // Two tensors overlapping on the same 4 bytes, and a hole before a tensor.
  assertThrows(
    () =>
      decodeSafetensors(safetensorsFile(
        '{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}',
        [1, 2, 3, 4],
      )),
    RangeError,
    "overlap",
  );
  assertThrows(
    () =>
      decodeSafetensors(
        safetensorsFile('{"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}', [1, 2, 3, 4]),
      ),
    RangeError,
    "hole",
  );
  assertThrows(
    () => decodeSafetensors(safetensorsFile('{"__metadata__":{"epoch":3}}')),
    RangeError,
    "strings",
  );
  // A negative dimension, even where the element count comes out right (-2 × -2 = 4 F32s in 16
  // bytes), names the tensor and its shape.
  assertThrows(
    () =>
      decodeSafetensors(
        safetensorsFile(
          '{"w":{"dtype":"F32","shape":[-2,-2],"data_offsets":[0,16]}}',
          new Array(16).fill(0),
        ),
      ),
    RangeError,
    'Cannot decode safetensors: tensor "w": shape entries must be >= 0: found [-2,-2]',
  );
});

Deno.test("encodeSafetensors rejects mismatched shape, dtype and array type", () => {
  assertThrows(
    () => encodeSafetensors({ a: { dtype: "F32", shape: [3], data: new Float32Array(2) } }),
    TypeError,
    "3 elements",
  );
  assertThrows(
    () => encodeSafetensors({ a: { dtype: "F64", shape: [2], data: new Float32Array(2) } }),
    TypeError,
    "Float64Array",
  );
  assertThrows(
    () => encodeSafetensors({ __metadata__: { dtype: "U8", shape: [0], data: new Uint8Array(0) } }),
    RangeError,
    "reserved",
  );
  assertThrows(
    () => encodeSafetensors({ w: { dtype: "F32", shape: [-2, -2], data: new Float32Array(4) } }),
    RangeError,
    'Cannot encode safetensors: tensor "w": shape entries must be >= 0: found [-2,-2]',
  );
});

Deno.test("encodeSafetensors stores wider dtypes first whatever the names, so each tensor is aligned", () => {
  const bytes = encodeSafetensors({
    a: { dtype: "U8", shape: [3], data: new Uint8Array([1, 2, 3]) },
    b: { dtype: "I32", shape: [1], data: new Int32Array([-1]) },
    c: { dtype: "F32", shape: [1], data: new Float32Array([2]) },
    d: { dtype: "I64", shape: [1], data: new BigInt64Array([5n]) },
    e: { dtype: "F64", shape: [1], data: new Float64Array([0.5]) },
  });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const h = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  assertEquals(
    ["d", "e", "c", "b", "a"].map((k) => h[k].data_offsets),
    [[0, 8], [8, 16], [16, 20], [20, 24], [24, 27]],
  );
});

Deno.test("encodeSafetensors refuses a shape of -1 entries or fractions and metadata that is not a string", () => {
  // [-1, -1] holds "1" element and [2.5, 2] "5": the element count alone would let them pass.
  assertThrows(
    () => encodeSafetensors({ w: { dtype: "F32", shape: [-1, -1], data: new Float32Array(1) } }),
    RangeError,
    'Cannot encode safetensors: tensor "w": shape entries must be >= 0: found [-1,-1]',
  );
  assertThrows(
    () => encodeSafetensors({ w: { dtype: "F32", shape: [2.5, 2], data: new Float32Array(5) } }),
    TypeError,
    'Cannot encode safetensors: tensor "w": shape must be an array of integers: found [2.5,2]',
  );
  assertThrows(
    () => encodeSafetensors({}, { epochs: 3 } as unknown as Record<string, string>),
    TypeError,
    'Cannot encode safetensors: metadata values must be strings: "epochs" is number',
  );
});

Deno.test("encodeSafetensors adds no padding to a header already a multiple of 8 bytes", () => {
  // The golden header of "a" is 54 bytes; with "abc" it is 56: no space after it.
  const bytes = encodeSafetensors({
    abc: { dtype: "F32", shape: [2], data: new Float32Array([1, -2]) },
  });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEquals(n, 56);
  assertEquals(
    new TextDecoder().decode(bytes.subarray(8, 8 + n)),
    '{"abc":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
  );
  assertEquals(bytes.length, 8 + 56 + 8);
});

Deno.test("safetensorsHeaderLength takes a header of exactly 100 MB and refuses one byte more, from the first 8 bytes alone", () => {
  const first8 = (n: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
    return b;
  };
  assertEquals(safetensorsHeaderLength(first8(100_000_000), 100_000_008), 100_000_000);
  assertThrows(
    () => safetensorsHeaderLength(first8(100_000_001), 100_000_009),
    RangeError,
    "Cannot decode safetensors: header size must be <= 100000000: found 100000001",
  );
});

Deno.test("decodeSafetensors refuses a header not starting with '{', a __metadata__ list, and data_offsets that are not two integers >= 0", () => {
  // The reference implementation refuses leading whitespace (InvalidHeaderStart).
  assertThrows(
    () => decodeSafetensors(safetensorsFile(' {"__metadata__":{}}')),
    RangeError,
    "header must be a UTF-8 JSON object: the header does not start with '{'",
  );
  assertThrows(
    () => decodeSafetensors(safetensorsFile('{"__metadata__":["a"]}')),
    RangeError,
    '__metadata__ must be an object of strings: found ["a"]',
  );
  const four = [0, 0, 128, 63];
  for (const off of ["[0,4,4]", "[-4,0]"]) {
    assertThrows(
      () =>
        decodeSafetensors(
          safetensorsFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":${off}}}`, four),
        ),
      RangeError,
      `Cannot decode safetensors: tensor "a": data_offsets must be two integers >= 0: found ${off}`,
    );
  }
});

Deno.test("decodeSafetensors reads an empty tensor that the header lists after one starting at the same byte", () => {
  const h = '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' +
    '"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}';
  const text = new TextEncoder().encode(h);
  const bytes = new Uint8Array(8 + text.length + 4);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(text.length), true);
  bytes.set(text, 8);
  bytes.set([0, 0, 128, 63], 8 + text.length); // 1.0f
  const { tensors } = decodeSafetensors(bytes);
  assertEquals(tensors.w.data, new Float32Array([1]));
  assertEquals([tensors.e.shape, tensors.e.data], [[0], new Float32Array(0)]);
});
