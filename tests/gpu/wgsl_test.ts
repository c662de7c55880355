/**
 * The WGSL preprocessor (lib/gpu/wgsl.ts): defines and unrolled loops, expanded as text
 * (no adapter needed), and a kernel tile variant that start-up did not compile.
 */
import {
  applyDefines,
  applyIfBlocks,
  preprocess,
  resolveIncludes,
  unrollLoops,
  workgroupBytes,
} from "../../lib/gpu/wgsl.ts";
import * as K from "../../lib/gpu/kernels.ts";
import { convPackDef } from "../../lib/gpu/packs.ts";
import * as C from "../../lib/cpu/mod.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { gpuTest } from "../_gpu.ts";
import { accTol, close, gt, numel, rand, readAll, webgpu } from "./_util.ts";

const squash = (s: string) => s.replace(/\s+/g, "");

Deno.test("unrollLoops repeats the body with the counter as a u32 literal", () => {
  const out = unrollLoops("/*unroll*/ for (var p = 0u; p < 3u; p++) { a[p] = p + pq; }", "t");
  // Only the whole word p is replaced: pq stays.
  assertEquals(squash(out), "{a[0u]=0u+pq;}{a[1u]=1u+pq;}{a[2u]=2u+pq;}");
});

Deno.test("unrollLoops writes #p as the bare counter, which may end an identifier", () => {
  const out = unrollLoops("/*unroll*/ for (var u = 0u; u < 2u; u++) { s += Wp#u[u] + #u; }", "t");
  assertEquals(squash(out), "{s+=Wp0[0u]+0;}{s+=Wp1[1u]+1;}");
});

Deno.test("unrollLoops expands nested loops and leaves other loops alone", () => {
  const src = `for (var c = 0u; c < P.ci; c++) {
    /*unroll*/ for (var q = 0u; q < 2; q++) {
      /*unroll*/ for (var p = 0u; p < 2u; p++) { acc[p * 2u + q] += x[p] * w[q]; }
    }
  }`;
  const out = unrollLoops(src, "t");
  assert(!out.includes("unroll"), out);
  assert(out.includes("for (var c = 0u; c < P.ci; c++)"), "the runtime loop is kept");
  for (const [p, q] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
    assert(
      squash(out).includes(`acc[${p}u*2u+${q}u]+=x[${p}u]*w[${q}u];`),
      `copy p=${p} q=${q} missing: ${out}`,
    );
  }
  assertEquals(out.match(/acc\[/g)!.length, 4);
});

Deno.test("unrollLoops of a zero-trip loop removes it", () => {
  assertEquals(
    unrollLoops("a; /*unroll*/ for (var i = 0u; i < 0u; i++) { b(i); } c;", "t"),
    "a;  c;",
  );
});

Deno.test("unrollLoops refuses what it cannot expand, naming the kernel", () => {
  assertThrows(
    () => unrollLoops("/*unroll*/ for (var p = 0u; p < P.n; p++) { }", "k1"),
    Error,
    "Cannot compile kernel k1: /*unroll*/ must precede",
  );
  assertThrows(
    () => unrollLoops("/*unroll*/ for (var p = 0u; p < 4u; p++) { if (x) { break; } }", "k2"),
    Error,
    "k2: an /*unroll*/ loop over p uses break or continue",
  );
  assertThrows(
    () => unrollLoops("/*unroll*/ for (var p = 0u; p < 4u; p++) { { }", "k3"),
    Error,
    "k3: unbalanced braces",
  );
  assertThrows(
    () => unrollLoops("/*unroll*/ for (var p = 0u; q < 4u; p++) { }", "k4"),
    Error,
    "mixes variables",
  );
});

Deno.test("preprocess applies defines before unrolling, so a define can be the bound", () => {
  const out = preprocess("/*unroll*/ for (var p = 0u; p < {{TP}}u; p++) { s += {{V}}; }", {
    TP: 2,
    V: "x[p]",
  }, "t");
  assertEquals(squash(out), "{s+=x[0u];}{s+=x[1u];}");
  assertThrows(() => applyDefines("{{A}} {{B}}", { A: 1 }, "k"), Error, "define B has no value");
});

Deno.test("if blocks keep the branch their define selects, with or without an else", () => {
  const src =
    "a /*if V*/ b: array<vec4f> /*else*/ b: array<f32> /*endif*/ c /*if W*/ d /*endif*/ e";
  assertEquals(squash(applyIfBlocks(src, { V: 1, W: 0 }, "t")), "ab:array<vec4f>ce");
  assertEquals(squash(applyIfBlocks(src, { V: 0, W: 1 }, "t")), "ab:array<f32>cde");
  // Resolved before defines and unrolling, so a kept branch may use both.
  const out = preprocess(
    "/*if V*/ /*unroll*/ for (var p = 0u; p < {{TP}}u; p++) { s += p; } /*endif*/",
    { V: 1, TP: 2 },
    "t",
  );
  assertEquals(squash(out), "{s+=0u;}{s+=1u;}");
});

Deno.test("if blocks refuse a missing define, nesting and unmatched markers, naming the kernel", () => {
  assertThrows(
    () => applyIfBlocks("/*if V*/ x /*endif*/", {}, "k1"),
    Error,
    "k1: /*if V*/ has no define V",
  );
  assertThrows(
    () => applyIfBlocks("/*if V*/ /*if W*/ x /*endif*/ /*endif*/", { V: 1, W: 1 }, "k2"),
    Error,
    "must not nest",
  );
  assertThrows(() => applyIfBlocks("x /*else*/ y", {}, "k3"), Error, "k3: unmatched /*else*/");
  assertThrows(() => applyIfBlocks("/*if V*/ x", { V: 1 }, "k4"), Error, "unmatched /*if V*/");
});

gpuTest("a conv tile variant that start-up did not compile is compiled at dispatch", async () => {
  // Co = 11 narrows the conv2d channel tile to 12 (3 quads), a variant compileAll skips.
  const rt = await webgpu();
  const x = [2, 18, 7, 6], w = [11, 18, 3, 3];
  const p = { stride: [1, 2] as [number, number], padding: [1, 1] as [number, number] };
  const ys = C.conv2dOutputShape(x, w, p);
  const xd = rand(numel(x), 901), wd = rand(numel(w), 902);
  const xt = gt(xd, x), wt = gt(wd, w);
  const yt = gt(new Float32Array(numel(ys)), ys);
  // The weight repacking compiles at its first dispatch too; compile it now so that the
  // count below sees only the conv2d variant.
  await rt.compile(convPackDef(1));
  const before = rt.stats().pipelines;
  K.conv2d(
    rt,
    K.convGeom(x, w, ys, p),
    xt.ref,
    wt.ref,
    null,
    yt.ref,
  );
  const [y] = await readAll([yt]);
  assertEquals(rt.stats().pipelines, before + 1, "one new pipeline");
  close(y, C.conv2d(xd, x, wd, w, null, p), accTol(18 * 9, 4), "conv2d Co 11");
  for (const t of [xt, wt, yt]) t.dispose();
});

Deno.test("resolveIncludes expands fragments, nested ones too, and refuses a cycle", async () => {
  const files: Record<string, string> = {
    "a.wgsl": "A /*include b.wgsl*/ A",
    "b.wgsl": "B",
    "c.wgsl": "/*include d.wgsl*/",
    "d.wgsl": "/*include c.wgsl*/",
  };
  const loaded: string[] = [];
  const load = (f: string) => {
    loaded.push(f);
    return Promise.resolve(files[f]);
  };
  assertEquals(
    await resolveIncludes("/*include a.wgsl*/ x /*include b.wgsl*/", load, "k"),
    "A B A x B",
  );
  await assertRejects(
    () => resolveIncludes("/*include c.wgsl*/", load, "k"),
    Error,
    "k → c.wgsl → d.wgsl → c.wgsl",
  );
});

Deno.test("the conv kernels' fragments are expanded when their sources load", async () => {
  const read = (f: string) => Deno.readTextFile(new URL(`../../kernels/${f}`, import.meta.url));
  for (const file of ["conv2d.wgsl", "conv_transpose2d.wgsl"]) {
    const code = await resolveIncludes(await read(file), read, file);
    assert(!code.includes("/*include"), file);
    assert(code.includes("var<uniform> Wp4") && code.includes("Wp#u[wi + q]"), file);
  }
});

Deno.test("workgroupBytes counts each workgroup variable rounded up to 16 bytes, arrays by their stride, lengths from the file's consts", () => {
  const code = [
    "const TQ: u32 = 8u;",
    "const B = 3;",
    "var<workgroup> Red: array<vec4f, 64 * TQ>;", // 8192
    "var<workgroup> sh: array<f32, (B + 2) * 3 - 1>;", // 14 × 4 = 56 → 64
    "var<workgroup> v3: array<vec3<f32>, 5>;", // stride 16: 80
    "var<workgroup> one: u32;", // 4 → 16
    "var<private> notShared: array<f32, 4096>;",
  ].join("\n");
  assertEquals(workgroupBytes(code, "k"), 8192 + 64 + 80 + 16);
  assertEquals(workgroupBytes("fn main() {}", "k"), 0);
  for (
    const decl of [
      "var<workgroup> s: array<f32, N>;", // an unknown name
      "var<workgroup> s: array<mat4x4f, 4>;", // a type it does not size
      "var<workgroup> s: array<f32, 64 >> 2>;",
    ]
  ) {
    assertThrows(
      () => workgroupBytes(decl, "conv"),
      Error,
      `Cannot size the workgroup memory of kernel conv: ${decl}`,
    );
  }
});
