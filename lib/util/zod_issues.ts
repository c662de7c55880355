/**
 * Zod issues as one line each, with the field a mistyped key most likely meant.
 *
 * @module
 */
import type { z } from "../deps.ts";
import { nearestName } from "./names.ts";

// zod 4's schema definitions, as far as this walk reads them.
interface Def {
  type: string;
  innerType?: Schema;
  in?: Schema;
  shape?: Record<string, Schema>;
  element?: Schema;
  options?: Schema[];
}
interface Schema {
  _zod: { def: Def };
}

/** A schema and the ones it wraps: its defaults, optionals, nullables and pipes, outer first. */
function layers(s: Schema): Schema[] {
  const out = [s];
  for (;;) {
    const d = s._zod.def;
    if (d.innerType) s = d.innerType;
    else if (d.type === "pipe" && d.in) s = d.in;
    else return out;
    out.push(s);
  }
}

/** The schema with its defaults, optionals, nullables and pipes taken off. */
function unwrap(s: Schema): Schema {
  return layers(s).at(-1)!;
}

/** Whether a field's schema takes null (under its defaults, optionals and pipes). */
function nullable(s: Schema): boolean {
  return layers(s).some((l) => l._zod.def.type === "nullable");
}

/**
 * The options of a union that take `key`, by the literal field that tells them apart
 * (`dir is for format esec, npz or sds`), or null where none is such a field.
 */
function ownersOf(options: Schema[], key: string): string | null {
  const literal = (o: Schema, f: string) => {
    const d = unwrap(o._zod.def.shape![f])._zod.def as Def & { values?: unknown[] };
    return d.type === "literal" && d.values?.length === 1 ? String(d.values[0]) : null;
  };
  const owners = options.filter((o) => o._zod.def.shape?.[key]);
  const field = Object.keys(owners[0]?._zod.def.shape ?? {})
    .find((f) => owners.every((o) => o._zod.def.shape?.[f] && literal(o, f) !== null));
  if (!field) return null;
  const values = owners.map((o) => literal(o, field)!);
  const list = values.length > 1
    ? `${values.slice(0, -1).join(", ")} or ${values.at(-1)}`
    : values[0];
  return `${key} is for ${field} ${list}`;
}

/** The object schemas that may sit at `path` (several under a union), possibly none. */
function objectsAt(schema: Schema, path: readonly PropertyKey[]): Schema[] {
  let here = [unwrap(schema)];
  for (const key of path) {
    const next: Schema[] = [];
    for (const s of here) {
      const d = s._zod.def;
      const options = d.type === "union" ? d.options ?? [] : [s];
      for (const o of options.map(unwrap)) {
        const od = o._zod.def;
        if (od.type === "object" && typeof key === "string" && od.shape?.[key]) {
          next.push(unwrap(od.shape[key]));
        } else if (od.type === "array" && typeof key === "number" && od.element) {
          next.push(unwrap(od.element));
        }
      }
    }
    here = next;
  }
  return here.flatMap((s) => {
    const d = s._zod.def;
    return (d.type === "union" ? d.options ?? [] : [s]).map(unwrap)
      .filter((o) => o._zod.def.type === "object");
  });
}

/**
 * One issue as text: its message, and for an unknown key the known key it most likely meant
 * (`Unrecognized key: "epoch" (did you mean epochs?)`).
 *
 * @param schema The schema that was parsed.
 * @param issue One of its error's issues.
 * @returns the message.
 */
export function issueMessage(schema: z.ZodType, issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type" && / received string$/.test(issue.message)) {
    // A field that may be null given a string: "none", as its flag takes, most likely.
    const key = issue.path.at(-1);
    const field = objectsAt(schema as unknown as Schema, issue.path.slice(0, -1))
      .map((o) => typeof key === "string" ? o._zod.def.shape?.[key] : undefined)
      .find((f) => f !== undefined);
    if (field && nullable(field)) return `${issue.message} (null for none)`;
  }
  if (issue.code !== "unrecognized_keys") return issue.message;
  const options = objectsAt(schema as unknown as Schema, issue.path);
  const known = options.flatMap((o) => Object.keys(o._zod.def.shape ?? {}));
  // Under a union, a key of another option is known but not here: not the key it meant, but
  // one of the options that take it (`dir is for format esec, npz or sds`).
  const near = issue.keys.map((k) =>
    [k, known.includes(k) ? ownersOf(options, k) : nearestName(k, known)] as const
  ).filter(([, n]) => n !== null);
  const hints = issue.keys.length === 1
    ? near.map(([k, n]) => known.includes(k) ? n : `did you mean ${n}?`)
    : near.map(([k, n]) => known.includes(k) ? n : `${k}: did you mean ${n}?`);
  return hints.length ? `${issue.message} (${hints.join("; ")})` : issue.message;
}

/**
 * Every issue of a failed parse as `path: message` ({@linkcode issueMessage}), the path
 * dotted after `where` (the name of the section parsed, if any).
 *
 * @param schema The schema that was parsed.
 * @param error Its error.
 * @param where Prefix of every path, e.g. `pretrain` (default none).
 * @param topLevel What an issue of the whole value is called (default `(top level)`).
 * @returns one line per issue.
 */
export function issueLines(
  schema: z.ZodType,
  error: z.ZodError,
  where = "",
  topLevel = "(top level)",
): string[] {
  return error.issues.map((i) =>
    `${[where, ...i.path].filter((x) => x !== "").join(".") || topLevel}: ${
      issueMessage(schema, i)
    }`
  );
}

/**
 * What an issue expected, as the CLI's own flag checks say it (`expected >= 1`, `expected an
 * integer`): zod's default wording (`Too small: expected number to be >=1`) reworded, a
 * schema's own message (`expected an integer >= 2: ...`) as it is.
 */
function expectation(issue: z.core.$ZodIssue): string {
  const m = issue.message;
  if (
    (issue.code === "too_small" || issue.code === "too_big") && /^Too (small|big)/.test(m) &&
    (issue.origin === "number" || issue.origin === "bigint")
  ) {
    const bound = issue.code === "too_small" ? issue.minimum : issue.maximum;
    const op = issue.code === "too_small" ? ">" : "<";
    return `expected ${op}${issue.inclusive ? "=" : ""} ${bound}`;
  }
  if (issue.code === "invalid_type" && issue.expected === "int") return "expected an integer";
  // "Invalid input: expected number, received string" -> "expected number, received string".
  return m.replace(/^(Too small|Too big|Invalid input|Invalid option): (?=expected)/, "");
}

/** The value at a path of a parsed object, or undefined. */
function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const k of path) v = (v as Record<PropertyKey, unknown> | null)?.[k];
  return v;
}

/**
 * The first issue of a failed parse that lies in a field a command-line flag set, as the CLI's
 * own flag checks word it, naming the flag rather than the field:
 * `Cannot read --epochs: expected >= 1: found 0`, where a config file's value is named by its
 * key (`pretrain.epochs: ...`).
 *
 * @param error The failed parse's error.
 * @param raw What was parsed.
 * @param flags The dotted paths of the fields the flags given set, each with its flag's name
 *   (`{ epochs: "epochs", "betas.0": "beta1" }`); a path covers the fields under it.
 * @returns the message, or null where no issue lies in such a field.
 * @example
 * ```ts
 * import { z } from "../deps.ts";
 * import { flagIssue } from "./zod_issues.ts";
 * const r = z.object({ epochs: z.number().int().min(1) }).safeParse({ epochs: 0 });
 * if (r.success) throw new Error();
 * const m = flagIssue(r.error, { epochs: 0 }, { epochs: "epochs" });
 * if (m !== "Cannot read --epochs: expected >= 1: found 0") throw new Error(m ?? "null");
 * ```
 */
export function flagIssue(
  error: z.ZodError,
  raw: unknown,
  flags: Readonly<Record<string, string>>,
): string | null {
  for (const issue of error.issues) {
    const path = issue.path.map(String);
    const field = Object.keys(flags).find((f) => {
      const parts = f.split(".");
      return parts.length <= path.length && parts.every((p, i) => p === path[i]);
    });
    if (field === undefined) continue;
    const v = valueAt(raw, issue.path);
    const found = typeof v === "string" ? `'${v}'` : Array.isArray(v) ? v.join(",") : String(v);
    return `Cannot read --${flags[field]}: ${expectation(issue)}: found ${found}`;
  }
  return null;
}
