/**
 * The command-line framework: every `cli.ts` subcommand is a {@linkcode Command}
 * whose flags are declared once, parsed by `node:util`'s `parseArgs` (standing in
 * for jsr:@std/cli, which this build environment cannot fetch) and documented in
 * its generated `--help`.
 *
 * Flag style, for every command: long kebab-case flags (`--batch-size 64`),
 * `--flag=value` also accepted, booleans take no value, `--out` is also `-o`,
 * and every command accepts `--help` and `--quiet`; those that compute on a backend
 * ({@linkcode Command.gpu}) also `--cpu`, and those that make random choices
 * ({@linkcode Command.seeded}) also `--seed N`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UserError } from "../util/errors.ts";
import { nearestName } from "../util/names.ts";

/** One flag of a command. */
export interface Flag {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** Default shown in `--help`; defaults themselves live in the command's config schema. */
  default?: string | boolean;
  /**
   * Whether the flag overrides a setting of the command's `--config` file: `--help` cannot know
   * that file, so it shows the default as "default X, or the config file's value".
   */
  fromConfig?: boolean;
  /** Placeholder for the value in `--help`, e.g. "DIR". */
  arg?: string;
  description: string;
}

/** Parsed flags: strings, booleans or string arrays, by long name. */
export type Values = Record<string, string | boolean | string[] | undefined>;

/** A subcommand of `cli.ts`. */
export interface Command {
  name: string;
  /**
   * One line (at most 88 characters): the only summary of the command, shown both in the command
   * list of `cli.ts --help` and at the top of the command's own `--help`.
   */
  summary: string;
  /**
   * The usage line after `[flags]`: the positional arguments first (`<dataset-dir>`, `[DIR]`
   * where optional), then the flags a run needs. The words before the first flag are all the
   * positional arguments the command takes: it refuses more ({@linkcode positionalsOf}).
   */
  usage?: string;
  /** Longer text shown under `--help`. */
  details?: string;
  /**
   * Whether the command makes random choices (initial weights, shuffling, k-means++ seeding,
   * samples drawn for a score or an embedding); only then does it take `--seed`.
   */
  seeded?: boolean;
  /** Why the command takes no `--seed`, where not because it makes no random choices. */
  noSeed?: string;
  /**
   * Whether the command computes on a backend (WebGPU, or the CPU backend under `--cpu`), or
   * names the one in use (`info`); only then does it take `--cpu`. A command without it refuses
   * `--cpu` with {@linkcode Command.noCpu} as the reason.
   */
  gpu?: boolean;
  /** Why the command takes no `--cpu`, where not because it does no WebGPU work. */
  noCpu?: string;
  flags: Record<string, Flag>;
  run(values: Values, positionals: string[]): Promise<void>;
  /**
   * What to do after the WebGPU device was lost during {@linkcode Command.run} (a driver
   * reset, a watchdog timeout, the GPU running out of memory): where the work done so far was
   * kept and the flag that continues from it. Without it, cli.ts says to rerun the command.
   */
  afterDeviceLoss?(values: Values, positionals: string[]): Promise<string>;
}

/** Flags every command accepts. */
export const commonFlags: Record<string, Flag> = {
  help: { type: "boolean", short: "h", description: "Show this help and exit." },
  quiet: {
    type: "boolean",
    short: "q",
    // Warnings and notes stay: they say what went wrong or what was left out.
    description: "No progress: print only errors, warnings, notes and the final summary.",
  },
};

/** `--cpu`, taken by the commands that compute on a backend ({@linkcode Command.gpu}). */
export const cpuFlagSpec: Flag = {
  type: "boolean",
  description: "Force the CPU backend instead of WebGPU.",
};

/** `--seed`, taken by the commands that make random choices ({@linkcode Command.seeded}). */
export const seedFlagSpec: Flag = {
  type: "string",
  arg: "N",
  description: "Seed for every random choice.",
  default: "0",
};

/**
 * @param cmd The command.
 * @returns the command's own flags (`--out` also as `-o`), then the common ones (with `--seed`
 *   where it is seeded and `--cpu` where it computes on a backend).
 */
export function flagsOf(cmd: Command): Record<string, Flag> {
  const { help, ...rest } = commonFlags;
  // Every command's output, wherever it writes one, is also `-o`.
  const own = Object.entries(cmd.flags).map(([k, f]) =>
    [k, k === "out" && !f.short ? { ...f, short: "o" } : f] as const
  );
  return {
    ...Object.fromEntries(own),
    help,
    // The commands with a config file (pretrain, init, finetune) read a seed from it too.
    ...(cmd.seeded ? { seed: { ...seedFlagSpec, fromConfig: "config" in cmd.flags } } : {}),
    ...(cmd.gpu ? { cpu: cpuFlagSpec } : {}),
    ...rest,
  };
}

/**
 * Parses a command's arguments.
 *
 * @param cmd The command.
 * @param args Arguments after the command name.
 * @returns flag values and positionals.
 * @throws {UserError} on an unknown flag, a missing value or more positional arguments than
 *   the command's usage line names ({@linkcode positionalsOf}).
 */
export function parseCommandArgs(cmd: Command, args: string[]): {
  values: Values;
  positionals: string[];
} {
  const all = flagsOf(cmd);
  const options: Record<
    string,
    { type: "string" | "boolean"; short?: string; multiple?: boolean }
  > = {};
  for (const [k, f] of Object.entries(all)) {
    options[k] = {
      type: f.type,
      ...(f.short ? { short: f.short } : {}),
      ...(f.multiple ? { multiple: true } : {}),
    };
  }
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (e) {
    // node:util's messages run over several lines; the error line is one.
    const msg = (e as Error).message;
    if (!cmd.seeded && /Unknown option '--seed'/.test(msg)) {
      throw new UserError(
        `Cannot parse arguments of '${cmd.name}': --seed is not a flag of '${cmd.name}': ` +
          (cmd.noSeed ?? "it makes no random choices, so its output is the same without one"),
      );
    }
    if (!cmd.gpu && /Unknown option '--cpu'/.test(msg)) {
      throw new UserError(
        `Cannot parse arguments of '${cmd.name}': --cpu is not a flag of '${cmd.name}': ` +
          (cmd.noCpu ?? "it does no WebGPU work, so it runs the same without one"),
      );
    }
    const unknown = /Unknown option '(-[^']*)'/.exec(msg);
    if (unknown) {
      const near = nearestFlag(unknown[1], Object.keys(all));
      throw new UserError(
        `Cannot parse arguments of '${cmd.name}': ${unknown[1]} is not a flag of '${cmd.name}'` +
          (near ? `: did you mean --${near}?` : "") +
          ` (usage: ${usageLine(cmd)}; --help lists its flags)`,
      );
    }
    // A value flag last on the line: "Option '-o, --out <value>' argument missing".
    const missing = /Option '(?:-\w, )?--([\w-]+) <value>' argument missing/.exec(msg);
    if (missing) {
      throw new UserError(
        `Cannot read --${missing[1]}: it needs a value (${all[missing[1]]?.arg ?? "VALUE"})`,
      );
    }
    const dash = /Option '(--[\w-]+)' argument is ambiguous/.exec(msg);
    const i = dash ? args.indexOf(dash[1]) : -1;
    // The next word is another flag of the command: the value was forgotten.
    const next = i >= 0 ? /^--?([\w-]+)/.exec(args[i + 1] ?? "") : null;
    if (dash && next && (next[1] in all || Object.values(all).some((f) => f.short === next[1]))) {
      const name = dash[1].slice(2);
      throw new UserError(
        `Cannot read ${dash[1]}: it needs a value (${all[name]?.arg ?? "VALUE"}): found the ` +
          `flag ${args[i + 1]} after it`,
      );
    }
    // node:util says "ambiguous" both for a forgotten value and for one that starts with a dash.
    const why = dash
      ? `${dash[1]} needs a value: found '${args[i + 1] ?? ""}'; a value that starts with a ` +
        `dash is written ${dash[1]}=${args[i + 1] ?? "-VALUE"}`
      : msg.split("\n").map((l) => l.trim()).filter(Boolean).join(" ");
    throw new UserError(`Cannot parse arguments of '${cmd.name}': ${why}`);
  }
  const takes = positionalsOf(cmd);
  // A stray word (a second directory, a word after a boolean flag) was silently ignored.
  if (!parsed.values.help && parsed.positionals.length > takes.length) {
    throw new UserError(
      `Cannot run ${cmd.name}: unexpected arguments: ${
        parsed.positionals.slice(takes.length).join(" ")
      }: expected ${takes.length ? `only ${takes.join(" ")}` : "no positional argument"} ` +
        `(usage: ${usageLine(cmd)})`,
    );
  }
  return parsed;
}

/**
 * The positional arguments a command takes: the words of its usage line before the first flag
 * (or group of flags).
 *
 * @param cmd The command.
 * @returns those words, e.g. `["<dataset-dir>"]`, `["[DIR]"]`, or none.
 */
export function positionalsOf(cmd: Command): string[] {
  const words = (cmd.usage ?? "").split(/\s+/).filter(Boolean);
  const flag = words.findIndex((w) => /^[[(]*-/.test(w) || w === "|");
  return flag < 0 ? words : words.slice(0, flag);
}

/** @returns `deno run -A cli.ts NAME [flags] USAGE`, as `--help` shows it. */
function usageLine(cmd: Command): string {
  return `deno run -A cli.ts ${cmd.name} [flags]${cmd.usage ? " " + cmd.usage : ""}`;
}

/**
 * The flag a mistyped one most likely meant ({@linkcode nearestName}).
 *
 * @param given The unknown flag as typed (`--epoch`, `-x`, `--epoch=3`).
 * @param flags The command's flags, without dashes.
 * @returns the flag, without dashes, or null.
 */
export function nearestFlag(given: string, flags: readonly string[]): string | null {
  return nearestName(given.replace(/^-+/, "").split("=")[0], flags);
}

/**
 * Renders a command's `--help` text.
 *
 * @param cmd The command.
 * @returns the help text.
 */
export function helpText(cmd: Command): string {
  const all = flagsOf(cmd);
  const rows = Object.entries(all).map(([k, f]) => {
    const left = `${f.short ? `-${f.short}, ` : "    "}--${k}${
      f.type === "string" ? ` ${f.arg ?? "VALUE"}` : ""
    }`;
    const def = f.default === undefined
      ? ""
      : ` (default ${f.default}${f.fromConfig ? ", or the config file's value" : ""})`;
    return [left, f.description + def] as const;
  });
  const w = Math.max(...rows.map((r) => r[0].length)) + 2;
  return [
    `Usage: ${usageLine(cmd)}`,
    "",
    cmd.summary,
    ...(cmd.details ? ["", cmd.details] : []),
    "",
    "Flags:",
    ...rows.map(([l, r]) => `  ${l.padEnd(w)}${r}`),
  ].join("\n");
}

/**
 * Reads an integer flag.
 *
 * @param values Parsed flags.
 * @param name Flag name.
 * @returns the integer, or undefined when the flag is absent.
 * @throws {UserError} when the value is not an integer written in decimal digits.
 */
export function intFlag(values: Values, name: string): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  // Decimal digits only: Number() also reads "" as 0, "0x10" as 16 and "1e3" as 1000.
  const n = typeof v === "string" && DECIMAL_INTEGER.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new UserError(
      `Cannot read --${name}: expected an integer in decimal digits: found '${v}'`,
    );
  }
  return n;
}

/**
 * Reads an integer flag that also takes `auto` (`--update-interval auto`).
 *
 * @param values Parsed flags.
 * @param name Flag name.
 * @returns the integer, "auto", or undefined when the flag is absent.
 * @throws {UserError} when the value is neither, saying that auto is allowed too.
 */
export function intOrAutoFlag(values: Values, name: string): number | "auto" | undefined {
  const v = values[name];
  if (v === "auto") return "auto";
  const n = typeof v === "string" && DECIMAL_INTEGER.test(v) ? Number(v) : NaN;
  if (v !== undefined && !Number.isSafeInteger(n)) {
    throw new UserError(
      `Cannot read --${name}: expected an integer in decimal digits or auto: found '${v}'`,
    );
  }
  return intFlag(values, name);
}

/** An integer as decimal digits, optionally signed, spaces around it allowed. */
const DECIMAL_INTEGER = /^\s*[+-]?\d+\s*$/;

/** A number in decimal notation (an exponent allowed), optionally signed. */
const DECIMAL_NUMBER = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/**
 * Reads a number in decimal notation, as {@linkcode numFlag} does, for the parts of a flag's
 * value (`--bandpass 1/18`).
 *
 * @param t The text.
 * @returns the number, or NaN where the text is not one (empty, `0x10`, `1/2`).
 */
export function parseDecimal(t: string): number {
  return DECIMAL_NUMBER.test(t) ? Number(t) : NaN;
}

/**
 * Reads a number flag.
 *
 * @param values Parsed flags.
 * @param name Flag name.
 * @returns the number, or undefined when the flag is absent.
 * @throws {UserError} when the value is not a finite number.
 */
export function numFlag(values: Values, name: string): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  // Decimal notation only: Number() also reads "" as 0 and "0x10" as 16.
  const n = typeof v === "string" && DECIMAL_NUMBER.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n)) {
    throw new UserError(`Cannot read --${name}: expected a number: found '${v}'`);
  }
  return n;
}

/**
 * Reads a string flag.
 *
 * @param values Parsed flags.
 * @param name Flag name.
 * @returns the string, or undefined when absent.
 */
export function strFlag(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}
