/**
 * Configuration of the training commands, validated by zod. A JSON config file
 * may hold `pretrain`, `init` and `finetune` sections; command-line flags
 * override its fields; errors name the field and what was expected.
 *
 * @module
 */
import { z } from "../deps.ts";
import { UserError } from "../util/errors.ts";
import { PRETRAIN_DEFAULTS, type PretrainConfig } from "./pretrain.ts";
import { FINETUNE_DEFAULTS, type FinetuneConfig, INIT_DEFAULTS, type InitConfig } from "./dec.ts";
import { K_CRITERIA, type KCriterion, kListReason, parseKList } from "./select_k.ts";
import { parseJsonc } from "../util/jsonc.ts";
import { readFailure } from "../io/input_file.ts";
import { flagIssue } from "../util/zod_issues.ts";
import {
  checkSettings,
  clusterCount,
  finetuneSchema,
  fmtIssues,
  initSchema,
  pretrainSchema,
} from "./schemas.ts";

export { finetuneSchema, initSchema, pretrainSchema };

/**
 * Schema of a config file's `init` section: the settings, and as `init --k` and `--k-criterion`
 * take them, `k` as one number, candidates (a range `"2:12"`, a list `"3,5,8"` or `[3, 5, 8]`)
 * and `kCriterion`.
 */
export const initFileSchema = initSchema.partial().extend({
  k: z.union([
    clusterCount,
    z.array(clusterCount).min(1),
    z.string().superRefine((t, ctx) => {
      try {
        parseKList(t);
      } catch (e) {
        ctx.addIssue({ code: "custom", message: `${kListReason(t, e)}: found '${t}'` });
      }
    }),
  ]).optional(),
  kCriterion: z.enum(K_CRITERIA as [KCriterion, ...KCriterion[]]).optional(),
}).strict();

/** Schema of a whole config file. */
export const configFileSchema = z.object({
  pretrain: pretrainSchema.partial().optional(),
  init: initFileSchema.optional(),
  finetune: finetuneSchema.partial().optional(),
}).strict();

/**
 * A config file's `init` section: {@linkcode InitConfig}'s fields, with `k` also as candidates
 * for `init` to choose from, and the criterion that chooses.
 */
export interface InitFileSection extends Omit<Partial<InitConfig>, "k"> {
  /** One number of clusters, or candidates: a range `"2:12"`, a list `"3,5,8"` or `[3, 5, 8]`. */
  k?: number | string | number[];
  /** How `init` chooses among the candidates (`--k-criterion`). */
  kCriterion?: KCriterion;
}

/**
 * The candidate numbers of clusters a config file's `init.k` gives.
 *
 * @param k The field as read (validated by {@linkcode initFileSchema}).
 * @returns the candidates (one for a single k), or undefined when the field is absent.
 * @example
 * ```ts
 * import { fileKs } from "./config.ts";
 * if (fileKs("2:4")!.join() !== "2,3,4" || fileKs(5)!.join() !== "5") throw new Error();
 * ```
 */
export function fileKs(k: InitFileSection["k"]): number[] | undefined {
  if (k === undefined) return undefined;
  if (typeof k === "number") return [k];
  return typeof k === "string" ? parseKList(k) : parseKList(k.join(","));
}

/**
 * A training config file: any of the three sections, each with any of its fields (the rest
 * come from the defaults and the flags).
 */
export interface ConfigFile {
  /** Overrides of {@linkcode PRETRAIN_DEFAULTS}. */
  pretrain?: Partial<PretrainConfig>;
  /** Overrides of {@linkcode INIT_DEFAULTS}, with `k` also as candidates to choose from. */
  init?: InitFileSection;
  /** Overrides of {@linkcode FINETUNE_DEFAULTS}. */
  finetune?: Partial<FinetuneConfig>;
}

/** True when A and B are mutually assignable (the same type for these purposes). */
type MutuallyAssignable<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Expect<T extends true> = T;
/** Fails to compile when {@linkcode ConfigFile} and the schema's output drift apart. */
type _ConfigFileMatchesSchema = Expect<
  MutuallyAssignable<ConfigFile, z.infer<typeof configFileSchema>>
>;

/**
 * Reads and validates a config file.
 *
 * @param path JSON file, or undefined for none.
 * @returns its sections (possibly empty).
 * @throws {UserError} naming the file and the field.
 */
export async function readConfigFile(
  path: string | undefined,
): Promise<ConfigFile> {
  if (!path) return {};
  let raw: unknown;
  try {
    raw = parseJsonc(await Deno.readTextFile(path));
  } catch (e) {
    throw new UserError(`Cannot read config ${path}: ${readFailure(e)}`);
  }
  const r = configFileSchema.safeParse(raw);
  if (!r.success) {
    throw new UserError(
      `Cannot use config ${path}: ${fmtIssues("", configFileSchema, r.error)}`,
    );
  }
  return r.data;
}

/**
 * The flags of the fields a tuple spreads over (`--beta1`, `--beta2`); every other field's flag
 * is its name in kebab case (`batchSize`: `--batch-size`).
 */
const TUPLE_FLAGS: Record<string, string[]> = { betas: ["beta1", "beta2"] };

/**
 * The fields the flags set, each with its flag, for {@linkcode flagIssue}.
 *
 * @param flags The settings the flags gave (undefined: not given).
 * @returns dotted field paths to flag names.
 */
function flagFields(flags: Record<string, unknown>): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(flags)) {
    if (v === undefined) continue;
    const tuple = TUPLE_FLAGS[k];
    if (tuple) tuple.forEach((f, i) => fields[`${k}.${i}`] = f);
    else fields[k] = k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  }
  return fields;
}

function resolve<T>(
  name: string,
  schema: z.ZodType<T>,
  defaults: T,
  file: Partial<T> | undefined,
  flags: Partial<T>,
): T {
  const merged = {
    ...defaults,
    ...file,
    ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)),
  };
  // A flag's value is named by the flag, as the flags' own checks name it, not by the field
  // (the file's fields were checked as it was read).
  const r = schema.safeParse(merged);
  const byFlag = r.success ? null : flagIssue(r.error, merged, flagFields(flags));
  if (byFlag) throw new UserError(byFlag);
  return checkSettings(name, schema, merged as T);
}

/**
 * Pretraining settings from defaults, file and flags (in that order).
 *
 * @throws {UserError} naming the flag (`Cannot read --epochs: expected >= 1: found 0`) where a
 *   flag's value is refused, else the field.
 */
export function resolvePretrain(
  file: Partial<PretrainConfig> | undefined,
  flags: Partial<PretrainConfig>,
): PretrainConfig {
  return resolve(
    "pretrain",
    pretrainSchema as z.ZodType<PretrainConfig>,
    PRETRAIN_DEFAULTS,
    file,
    flags,
  );
}

/** Initialisation settings from defaults, file and flags. */
export function resolveInit(
  file: Partial<InitConfig> | undefined,
  flags: Partial<InitConfig>,
): InitConfig {
  return resolve("init", initSchema as z.ZodType<InitConfig>, INIT_DEFAULTS, file, flags);
}

/** Fine-tuning settings from defaults, file and flags. */
export function resolveFinetune(
  file: Partial<FinetuneConfig> | undefined,
  flags: Partial<FinetuneConfig>,
): FinetuneConfig {
  return resolve(
    "finetune",
    finetuneSchema as z.ZodType<FinetuneConfig>,
    FINETUNE_DEFAULTS,
    file,
    flags,
  );
}
