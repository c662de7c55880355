/**
 * The zod schemas of the training settings (`pretrain`, `init`, `finetune`), which the CLI's
 * config file and flags (config.ts) and the library's entry points (`pretrain`,
 * `initCentroids`, `finetune`) both validate against.
 *
 * @module
 */
import { z } from "../deps.ts";
import { UserError } from "../util/errors.ts";
import { issueLines } from "../util/zod_issues.ts";

/** An integer >= min. */
export const int = (min: number): z.ZodNumber => z.number().int().min(min);
const pos = z.number().positive();

/** A seed: 32 bits (lib/util/rng.ts), as `--seed` takes it; a larger one wrapped round. */
const SEED_RANGE = { error: "expected an integer from 0 to 4294967295", abort: true };
// The bounds first, each ending the checks: 1e20 also fails int()'s safe-integer bound, which
// gave a second message (<= 9007199254740991) for the one field.
const seedSchema = z.number().min(0, SEED_RANGE).max(0xffff_ffff, SEED_RANGE).int(SEED_RANGE);

/** Schema of the `pretrain` section. */
export const pretrainSchema = z.object({
  epochs: int(1),
  batchSize: int(1),
  lr: pos,
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]),
  weightDecay: z.number().min(0),
  valSplit: z.number().min(0).max(0.9),
  latentDim: int(1),
  channels: z.array(int(1)).min(1).optional(),
  slope: pos.optional(),
  normalize: z.enum(["maxabs", "l2", "minmax", "none"]),
  seed: seedSchema,
}).strict();

/** A number of clusters: 2 or more (one cluster holds every sample, and DEC's loss is 0). */
export const clusterCount: z.ZodNumber = z.number().int().min(
  2,
  "expected an integer >= 2: one cluster holds every sample (DEC's loss is then 0)",
);

/** Schema of the `init` section. */
export const initSchema = z.object({
  k: clusterCount,
  method: z.enum(["kmeans", "gmm"]),
  nInit: z.union([int(1), z.literal("auto")], { error: 'expected an integer >= 1 or "auto"' }),
  maxIter: int(1),
  tol: z.number().min(0),
  covariance: z.enum(["diag", "full"]),
  latentScale: z.enum(["none", "auto"]),
  seed: seedSchema,
}).strict();

/** Schema of the `finetune` section. */
export const finetuneSchema = z.object({
  mode: z.enum(["dec", "idec"]),
  alpha: pos,
  target: z.enum(["dataset", "batch"]),
  updateInterval: z.union([int(1), z.literal("auto")]),
  tol: z.number().min(0).max(100),
  minIter: int(0),
  maxIter: int(1),
  batchSize: int(1),
  optimizer: z.enum(["adam", "sgd"]),
  lr: pos,
  momentum: z.number().min(0).lt(1),
  gamma: z.number().min(0),
  seed: seedSchema,
  collapseFraction: z.number().gt(0).max(1),
}).strict();

/** The issues of a failed parse, one line each, joined. */
export function fmtIssues(where: string, schema: z.ZodType, e: z.ZodError): string {
  return issueLines(schema, e, where).join("; ");
}

/**
 * Validates a library caller's settings as the CLI validates its flags and config file.
 *
 * @param name The section (`pretrain`, `init`, `finetune`), for the message.
 * @param schema Its schema.
 * @param cfg The settings.
 * @returns the settings as parsed.
 * @throws {UserError} naming the field and what was expected.
 */
export function checkSettings<T>(name: string, schema: z.ZodType<T>, cfg: T): T {
  const r = schema.safeParse(cfg);
  if (!r.success) {
    throw new UserError(`Cannot use ${name} settings: ${fmtIssues(name, schema, r.error)}`);
  }
  return r.data;
}
