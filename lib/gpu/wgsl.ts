/**
 * WGSL source preprocessing: `{{NAME}}` defines, `/*if NAME*\/` blocks and `/*unroll*\/` loops.
 *
 * Why unrolling is done here rather than left to the driver: a register tile such as
 * `var acc: array<vec4f, 16>` indexed by loop counters stays an array unless the shader
 * compiler unrolls every loop that indexes it. Mesa's NIR unrolls only small innermost loops,
 * so nested tile loops left the tile in scratch memory, where llvmpipe turns every access
 * into a per-lane gather. Unrolled in the source, every index is a constant and the tile
 * lives in registers: the conv kernels ran 2.5–4× faster on llvmpipe (see bench/), and a
 * hardware compiler sees the same straight-line code it would have produced itself.
 *
 * Syntax: a loop written exactly as
 *
 *     /*unroll*\/ for (var p = 0u; p < 4u; p++) { BODY }
 *
 * (the bound an integer literal, usually a define such as `{{TP}}u`) becomes `{ BODY }`
 * repeated with `p` replaced by `0u`, `1u`, …, and `#p` by the bare number `0`, `1`, …, which
 * may end an identifier: `Wp#p` names `Wp0`, `Wp1`, … (bindings cannot be indexed). Unrolled
 * loops nest. A body must not use `break` or `continue` (they would leave the enclosing loop
 * once unrolled).
 *
 * The price of unrolling is compile time, and it is paid per function: creating a shader module
 * in Deno's WebGPU (WGSL parsing and validation, then SPIR-V at pipeline creation) takes time
 * that grows with the square of a function's size. 4,000 statements took 1.1 s (module) + 0.6
 * s (pipeline) in one function and 0.14 + 0.12 s split over 16; a conv kernel's main of some
 * 3,000 unrolled lines took 0.2–0.6 s. So the kernels keep unrolled blocks that are repeated
 * per pixel (stores, epilogues) or per tap in small functions of their own, passing register
 * tiles by `ptr<function, …>`, with every sum in the same order. That made the first training step of a
 * process 2.1 s instead of 4.1 s on llvmpipe with a warm shader cache. A tile's FMAs stay inline
 * in conv2d and conv_transpose2d: hoisting the weight loads ahead of a helper's FMAs made those
 * kernels about 3 % slower on llvmpipe, and conv2d's patch tiles (`convPatch`) with each tap's
 * FMAs in a helper created in 0.1–0.3 s instead of 0.45–5.6 s but ran an encoder pass 1.04× as
 * long, so both keep them inline.
 *
 * A line `/*include NAME.wgsl*\/` is replaced by that file of `kernels/` (a fragment that several
 * kernels share, such as the conv kernels' weight bindings), before anything else; fragments may
 * include others, but not in a cycle.
 *
 * A block `/*if NAME*\/ A /*else*\/ B /*endif*\/` (the else part optional, blocks not nested)
 * keeps A when the define NAME is non-zero and B otherwise. It is for code that would not
 * type-check in the other variant, such as a binding declared `array<vec4f>` in one and
 * `array<f32>` in the other; a plain `if` on a define is enough everywhere else.
 *
 * @module
 */

const HEADER =
  /\/\*unroll\*\/\s*for\s*\(\s*var\s+(\w+)\s*=\s*0u?\s*;\s*(\w+)\s*<\s*(\d+)u?\s*;\s*(\w+)\s*\+\+\s*\)\s*\{/;

/**
 * Replaces every `{{NAME}}` by its value.
 *
 * @param code WGSL source.
 * @param defines Values by name.
 * @param where Kernel name for errors.
 * @returns the substituted source.
 * @throws Error when a `{{NAME}}` is left without a value.
 */
export function applyDefines(
  code: string,
  defines: Record<string, string | number>,
  where: string,
): string {
  for (const [k, v] of Object.entries(defines)) code = code.replaceAll(`{{${k}}}`, String(v));
  const leftover = code.match(/\{\{(\w+)\}\}/);
  if (leftover) {
    throw new Error(`Cannot compile kernel ${where}: define ${leftover[1]} has no value`);
  }
  return code;
}

const IF_BLOCK = /\/\*if (\w+)\*\/([\s\S]*?)(?:\/\*else\*\/([\s\S]*?))?\/\*endif\*\//g;

/**
 * Resolves every `/*if NAME*\/ … /*else*\/ … /*endif*\/` block by the define NAME.
 *
 * @param code WGSL source.
 * @param defines Values by name.
 * @param where Kernel name for errors.
 * @returns the source with the kept branches only.
 * @throws Error when NAME has no value, or a marker is left unmatched.
 */
export function applyIfBlocks(
  code: string,
  defines: Record<string, string | number>,
  where: string,
): string {
  const out = code.replace(IF_BLOCK, (_m, name: string, yes: string, no: string | undefined) => {
    if (!(name in defines)) {
      throw new Error(`Cannot compile kernel ${where}: /*if ${name}*/ has no define ${name}`);
    }
    if (/\/\*if \w+\*\//.test(yes) || /\/\*if \w+\*\//.test(no ?? "")) {
      throw new Error(`Cannot compile kernel ${where}: /*if ${name}*/ blocks must not nest`);
    }
    return Number(defines[name]) !== 0 ? yes : (no ?? "");
  });
  const left = out.match(/\/\*(if \w+|else|endif)\*\//);
  if (left) throw new Error(`Cannot compile kernel ${where}: unmatched ${left[0]}`);
  return out;
}

/**
 * Expands every `/*unroll*\/` loop (outermost first; the copies' inner loops in turn).
 *
 * @param code WGSL source with defines already applied.
 * @param where Kernel name for errors.
 * @returns the source without `/*unroll*\/` loops.
 * @throws Error on a malformed header, a non-literal bound, unbalanced braces, or a body
 *   that uses break/continue.
 */
export function unrollLoops(code: string, where: string): string {
  for (let guard = 0; guard < 100_000; guard++) {
    const at = code.indexOf("/*unroll*/");
    if (at < 0) return code;
    const m = HEADER.exec(code.slice(at));
    if (!m || m.index !== 0) {
      const line = code.slice(at, code.indexOf("\n", at)).trim();
      throw new Error(
        `Cannot compile kernel ${where}: /*unroll*/ must precede "for (var i = 0u; i < N; i++) {" with a literal N: found "${line}"`,
      );
    }
    const [header, v, v2, bound, v3] = m;
    if (v2 !== v || v3 !== v) {
      throw new Error(
        `Cannot compile kernel ${where}: /*unroll*/ loop "${header}" mixes variables`,
      );
    }
    const open = at + header.length; // just past "{"
    let depth = 1;
    let i = open;
    for (; i < code.length && depth > 0; i++) {
      if (code[i] === "{") depth++;
      else if (code[i] === "}") depth--;
    }
    if (depth !== 0) {
      throw new Error(`Cannot compile kernel ${where}: unbalanced braces after "${header}"`);
    }
    const body = code.slice(open, i - 1);
    if (/\b(break|continue)\b/.test(body)) {
      throw new Error(
        `Cannot compile kernel ${where}: an /*unroll*/ loop over ${v} uses break or continue`,
      );
    }
    const re = new RegExp(`\\b${v}\\b`, "g");
    const bare = new RegExp(`#${v}\\b`, "g");
    let out = "";
    for (let k = 0; k < Number(bound); k++) {
      out += `{${body.replace(bare, String(k)).replace(re, `${k}u`)}}`;
    }
    code = code.slice(0, at) + out + code.slice(i);
  }
  throw new Error(`Cannot compile kernel ${where}: /*unroll*/ expansion did not terminate`);
}

/**
 * The source a kernel compiles: `/*if*\/` blocks resolved, defines applied, then loops
 * unrolled.
 *
 * @param code WGSL source as stored in `kernels/`.
 * @param defines Values by name.
 * @param where Kernel name for errors.
 * @returns the WGSL handed to the driver.
 */
export function preprocess(
  code: string,
  defines: Record<string, string | number>,
  where: string,
): string {
  return unrollLoops(applyDefines(applyIfBlocks(code, defines, where), defines, where), where);
}

const INCLUDE = /\/\*include ([\w.-]+\.wgsl)\*\//g;

/**
 * Replaces every `/*include NAME.wgsl*\/` by the named fragment, recursively.
 *
 * @param code WGSL source.
 * @param load Reads a file of `kernels/` by name.
 * @param where The file `code` comes from, for errors.
 * @param seen Files being expanded (cycle detection).
 * @returns the source with every include expanded.
 * @throws Error when a fragment includes itself, directly or not.
 * @example
 * ```ts
 * import { resolveIncludes } from "./wgsl.ts";
 * const files: Record<string, string> = { "a.wgsl": "let a = 1;" };
 * const out = await resolveIncludes("/*include a.wgsl*\/ let b = 2;", async (f) => files[f], "k");
 * if (out !== "let a = 1; let b = 2;") throw new Error(out);
 * ```
 */
export async function resolveIncludes(
  code: string,
  load: (file: string) => Promise<string>,
  where: string,
  seen: readonly string[] = [where],
): Promise<string> {
  const names = [...new Set([...code.matchAll(INCLUDE)].map((m) => m[1]))];
  const texts = new Map<string, string>();
  for (const name of names) {
    if (seen.includes(name)) {
      throw new Error(
        `Cannot load kernel source ${where}: /*include ${name}*/ makes a cycle (${
          [...seen, name].join(" → ")
        })`,
      );
    }
    texts.set(name, await resolveIncludes(await load(name), load, name, [...seen, name]));
  }
  return code.replace(INCLUDE, (_m, name: string) => texts.get(name)!);
}

/** Bytes and alignment of the WGSL types a workgroup variable may hold here. */
const WGSL_SIZES: Record<string, [number, number]> = {
  f32: [4, 4],
  u32: [4, 4],
  i32: [4, 4],
  "atomic<u32>": [4, 4],
  "atomic<i32>": [4, 4],
  vec2f: [8, 8],
  "vec2<f32>": [8, 8],
  vec2u: [8, 8],
  "vec2<u32>": [8, 8],
  vec3f: [12, 16],
  "vec3<f32>": [12, 16],
  vec4f: [16, 16],
  "vec4<f32>": [16, 16],
  vec4u: [16, 16],
  "vec4<u32>": [16, 16],
  vec4i: [16, 16],
  "vec4<i32>": [16, 16],
};

/**
 * The workgroup memory a preprocessed kernel declares, as WebGPU counts it against
 * `maxComputeWorkgroupStorageSize`: each `var<workgroup>` rounded up to 16 bytes, summed (over
 * every entry point of the file, so at least what any one uses). Array lengths may be
 * expressions of integer literals and the file's integer `const`s (`64 * TQ`). Some
 * implementations (wgpu's, in Deno 2.9) do not check this limit at all, so the runtime does.
 *
 * @param code Preprocessed WGSL.
 * @param where Kernel name for errors.
 * @returns the bytes.
 * @throws Error on a declaration it cannot size.
 * @example
 * ```ts
 * import { workgroupBytes } from "./wgsl.ts";
 * const n = workgroupBytes("const T: u32 = 4u;\nvar<workgroup> r: array<vec4f, 64 * T>;", "k");
 * if (n !== 4096) throw new Error(String(n));
 * ```
 */
export function workgroupBytes(code: string, where: string): number {
  const consts = new Map<string, number>();
  for (const m of code.matchAll(/\bconst\s+(\w+)\s*(?::\s*\w+\s*)?=\s*(\d+)[ui]?\s*;/g)) {
    consts.set(m[1], Number(m[2]));
  }
  const fail = (decl: string): never => {
    throw new Error(`Cannot size the workgroup memory of kernel ${where}: ${decl}`);
  };
  let total = 0;
  for (const m of code.matchAll(/var<workgroup>\s+\w+\s*:\s*([^;]+);/g)) {
    const type = m[1].replace(/\s+/g, "");
    const arr = /^array<(.+),([^,<>]+)>$/.exec(type);
    const elem = WGSL_SIZES[arr ? arr[1] : type] ?? fail(m[0]);
    let bytes = elem[0];
    if (arr) {
      const n = evalCount(arr[2], consts) ?? fail(m[0]);
      bytes = n * Math.ceil(elem[0] / elem[1]) * elem[1];
    }
    total += Math.ceil(bytes / 16) * 16;
  }
  return total;
}

/** An array length of integer literals, `const` names, `+ - * /` and parentheses; or null. */
function evalCount(expr: string, consts: Map<string, number>): number | null {
  const tokens = expr.match(/\d+[ui]?|\w+|[-+*/()]/g) ?? [];
  if (tokens.join("") !== expr) return null;
  let i = 0;
  const atom = (): number => {
    const t = tokens[i++];
    if (t === "(") {
      const v = sum();
      if (tokens[i++] !== ")") throw new SyntaxError(expr);
      return v;
    }
    if (t !== undefined && /^\d/.test(t)) return parseInt(t, 10);
    const c = t === undefined ? undefined : consts.get(t);
    if (c === undefined) throw new SyntaxError(expr);
    return c;
  };
  const product = (): number => {
    let v = atom();
    while (tokens[i] === "*" || tokens[i] === "/") {
      v = tokens[i++] === "*" ? v * atom() : Math.floor(v / atom());
    }
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (tokens[i] === "+" || tokens[i] === "-") {
      v = tokens[i++] === "+" ? v + product() : v - product();
    }
    return v;
  };
  try {
    const v = sum();
    return i === tokens.length && Number.isInteger(v) && v > 0 ? v : null;
  } catch {
    return null;
  }
}
