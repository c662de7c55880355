/**
 * The peers benchmark: the same autoencoder training step and encoder inference timed with
 * seisdec (WebGPU and CPU), PyTorch eager (CPU) and TensorFlow.js (webgpu, wasm, cpu) in one run, printed as one
 * table with a ratio column seisdec / peer, and saved as figures for bench/results.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { BenchFigure } from "../_results.ts";
import { INPUT_HW, type PeerResult, timeTfjs, type TimingOptions } from "./tfjs_autoencoder.ts";
import { formatValue } from "../report.ts";
import { timePytorch } from "./pytorch.ts";

/** Row ids of the peers benchmark, in run order. */
export const PEER_IDS = [
  "seisdec-webgpu",
  "seisdec-cpu",
  "pytorch-cpu",
  "tfjs-webgpu",
  "tfjs-wasm",
  "tfjs-cpu",
] as const;

/** One row id, e.g. "tfjs-wasm". */
export type PeerId = typeof PEER_IDS[number];

/** What to run. */
export interface PeersConfig {
  /** Rows to run; the others are left out of the table. */
  peers: PeerId[];
  /** Rows listed in the table as skipped, with the reason. */
  skipped: Map<PeerId, string>;
  /** Training batch sizes. */
  batches: number[];
  /** Timed steps per figure (>= 5). */
  steps: number;
  /** Least timed work per figure in seconds: short steps are timed more often. */
  minSeconds: number;
  /** Warm-up steps per figure. */
  warmup: number;
  /** Encoder inference batch. */
  inferBatch: number;
  /** Longest training step (seconds) worth timing; slower rows are skipped. */
  maxStepSeconds: number;
  /**
   * Time seisdec's WebGPU rows again after the other peers and report the mean of both runs,
   * so that the machine's drift over the bench does not land in the ratios.
   */
  bracket: boolean;
}

/**
 * Reads the configuration from command-line flags (after `--` of `deno bench`) and
 * environment variables; a flag wins over its variable.
 *
 * | flag | variable | default |
 * | --- | --- | --- |
 * | `--peers=a,b` | `PEERS` | all of {@linkcode PEER_IDS} |
 * | `--batches=64,256` | `PEERS_BATCHES` | `64,256` |
 * | `--steps=5` | `PEERS_STEPS` | 5 |
 * | `--min-s=2` | `PEERS_MIN_S` | 2 |
 * | `--warmup=1` | `PEERS_WARMUP` | 1 |
 * | `--infer-batch=256` | `PEERS_INFER_BATCH` | 256 |
 * | `--max-step-s=120` | `PEERS_MAX_STEP_S` | 120 |
 * | `--quick` | `PEERS_QUICK=1` | off: batch 64 only, tfjs-cpu skipped |
 * | `--no-bracket` | `PEERS_BRACKET=0` | on: seisdec webgpu timed before and after the peers |
 *
 * @param args Command-line arguments.
 * @param env Environment lookup.
 * @returns the configuration.
 * @example
 * ```ts
 * import { parsePeersConfig } from "./peers.ts";
 * const c = parsePeersConfig(["--peers=tfjs-wasm", "--batches=64"], () => undefined);
 * if (c.peers.join() !== "tfjs-wasm" || c.batches.join() !== "64") throw new Error();
 * ```
 */
export function parsePeersConfig(
  args: string[],
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): PeersConfig {
  const { values } = parseArgs({
    args,
    strict: false,
    options: {
      peers: { type: "string" },
      batches: { type: "string" },
      steps: { type: "string" },
      "min-s": { type: "string" },
      warmup: { type: "string" },
      "infer-batch": { type: "string" },
      "max-step-s": { type: "string" },
      quick: { type: "boolean" },
      "no-bracket": { type: "boolean" },
    },
  });
  const str = (flag: string, name: string): string | undefined => {
    const v = values[flag];
    return typeof v === "string" ? v : env(name);
  };
  const int = (flag: string, name: string, dflt: number, min: number): number => {
    const s = str(flag, name);
    if (s === undefined || s === "") return dflt;
    const v = Number(s);
    if (!Number.isInteger(v) || v < min) {
      throw new RangeError(
        `Cannot read --${flag} (${name}): must be an integer >= ${min}: current value is ${s}`,
      );
    }
    return v;
  };
  const quick = values.quick === true || env("PEERS_QUICK") === "1";
  const list = str("peers", "PEERS");
  let peers: PeerId[] = [...PEER_IDS];
  if (list) {
    peers = list.split(",").map((s) => s.trim()).filter(Boolean) as PeerId[];
    for (const p of peers) {
      if (!PEER_IDS.includes(p)) {
        throw new RangeError(
          `Cannot read --peers (PEERS): expected ids among ${PEER_IDS.join(", ")}: found ${p}`,
        );
      }
    }
  }
  const skipped = new Map<PeerId, string>();
  if (quick && peers.includes("tfjs-cpu") && !list) {
    peers = peers.filter((p) => p !== "tfjs-cpu");
    skipped.set("tfjs-cpu", "skipped by --quick: plain-JS training takes ~45 s per batch-64 step");
  }
  const batchText = str("batches", "PEERS_BATCHES") ?? (quick ? "64" : "64,256");
  const batches = batchText.split(",").map((s) => {
    const v = Number(s.trim());
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(
        `Cannot read --batches (PEERS_BATCHES): must be positive integers: found ${s}`,
      );
    }
    return v;
  });
  return {
    peers,
    skipped,
    batches,
    steps: int("steps", "PEERS_STEPS", 5, 5),
    minSeconds: int("min-s", "PEERS_MIN_S", 2, 0),
    warmup: int("warmup", "PEERS_WARMUP", 1, 0),
    inferBatch: int("infer-batch", "PEERS_INFER_BATCH", 256, 1),
    maxStepSeconds: int("max-step-s", "PEERS_MAX_STEP_S", 120, 1),
    bracket: values["no-bracket"] !== true && env("PEERS_BRACKET") !== "0",
  };
}

/** Display name of a row id: "tfjs-wasm" -> "tfjs wasm". */
export function peerName(id: PeerId): string {
  return id.replace("-", " ");
}

/** A function that times one row. */
export type PeerTimer = (id: PeerId, batch: number, opts: TimingOptions) => Promise<PeerResult>;

/**
 * Runs the configured rows, batch by batch within each peer. Inference is timed once per
 * peer (with its first batch) and copied to its other rows. A row whose step time,
 * scaled from the peer's previous batch, would exceed `maxStepSeconds` is skipped and
 * says so.
 *
 * @param config What to run.
 * @param timer Times one row (the seisdec and tfjs timers).
 * @param log Progress output.
 * @returns the rows, skipped ones included.
 */
export async function runPeers(
  config: PeersConfig,
  timer: PeerTimer,
  log: (line: string) => void = console.log,
): Promise<PeerResult[]> {
  const rows: PeerResult[] = [];
  for (const id of PEER_IDS) {
    const skip = config.skipped.get(id);
    if (skip) {
      for (const batch of config.batches) {
        rows.push({
          name: peerName(id),
          backend: id.split("-")[1],
          batch,
          inferBatch: config.inferBatch,
          trainSamplesPerSec: null,
          inferSamplesPerSec: null,
          error: skip,
        });
      }
      continue;
    }
    if (!config.peers.includes(id)) continue;
    let first: PeerResult | null = null;
    let last: PeerResult | null = null;
    for (const batch of config.batches) {
      const opts: TimingOptions = {
        steps: config.steps,
        minSeconds: config.minSeconds,
        warmup: config.warmup,
        inferBatch: config.inferBatch,
        infer: first === null,
        maxStepSeconds: config.maxStepSeconds,
      };
      let row: PeerResult;
      const predicted = last?.stepMs ? last.stepMs * batch / last.batch : 0;
      if (predicted > config.maxStepSeconds * 1000) {
        row = {
          ...(last as PeerResult),
          batch,
          trainSamplesPerSec: null,
          stepMs: undefined,
          error: `training skipped: ~${(predicted / 1000).toFixed(0)} s per step expected ` +
            `from batch ${last!.batch} (limit ${config.maxStepSeconds} s, --max-step-s)`,
        };
      } else {
        log(`peers: timing ${peerName(id)} at batch ${batch}...`);
        const t0 = performance.now();
        row = await timer(id, batch, opts);
        log(
          `peers: ${peerName(id)} batch ${batch}: ${
            formatValue(row.trainSamplesPerSec)
          } train samples/s` +
            (opts.infer ? `, ${formatValue(row.inferSamplesPerSec)} encode samples/s` : "") +
            ` (${((performance.now() - t0) / 1000).toFixed(0)} s)` +
            (row.error ? `: ${row.error}` : ""),
        );
      }
      if (first === null) {
        first = row;
      } else {
        row.inferSamplesPerSec = first.inferSamplesPerSec;
        row.inferMs = first.inferMs;
      }
      rows.push(row);
      if (row.stepMs) last = row;
    }
  }
  if (config.bracket && rows.some((r) => !r.name.startsWith("seisdec") && r.stepMs)) {
    await rebracket(rows, config, timer, log);
  }
  return rows;
}

/**
 * Times seisdec's WebGPU rows a second time, after the other peers, and replaces their
 * figures by the mean step and inference times of both runs (noted in the row): the peers
 * take minutes, and on a shared machine the speed drifts by tens of percent over that time.
 */
async function rebracket(
  rows: PeerResult[],
  config: PeersConfig,
  timer: PeerTimer,
  log: (line: string) => void,
): Promise<void> {
  const mine = rows.filter((r) => r.name === peerName("seisdec-webgpu") && r.stepMs);
  for (const [k, a] of mine.entries()) {
    log(`peers: timing ${a.name} at batch ${a.batch} again, after the peers...`);
    const b = await timer("seisdec-webgpu", a.batch, {
      steps: config.steps,
      minSeconds: config.minSeconds,
      warmup: config.warmup,
      inferBatch: config.inferBatch,
      infer: k === 0 && a.inferMs !== undefined,
      maxStepSeconds: config.maxStepSeconds,
    });
    if (!b.stepMs) continue;
    const before = a.trainSamplesPerSec, after = b.trainSamplesPerSec;
    a.stepMs = (a.stepMs! + b.stepMs) / 2;
    a.trainSamplesPerSec = (a.batch * 1000) / a.stepMs;
    const fmt = (v: number | null) => (v === null ? "n/a" : v.toPrecision(3));
    const bracket = (x: number | null, y: number | null) =>
      `mean of two timings, before (${fmt(x)} samples/s) and after (${fmt(y)}) the peers`;
    if (k === 0 && a.inferMs !== undefined && b.inferMs !== undefined) {
      const inferBefore = a.inferSamplesPerSec, inferAfter = b.inferSamplesPerSec;
      a.inferMs = (a.inferMs + b.inferMs) / 2;
      a.inferSamplesPerSec = (a.inferBatch * 1000) / a.inferMs;
      a.inferNote = [a.note, bracket(inferBefore, inferAfter)].filter(Boolean).join("; ");
      for (const r of mine.slice(1)) {
        r.inferMs = a.inferMs;
        r.inferSamplesPerSec = a.inferSamplesPerSec;
        r.inferNote = a.inferNote;
      }
    }
    a.note = [a.note, bracket(before, after)].filter(Boolean).join("; ");
  }
}

/**
 * The default timer: seisdec rows through `timeSeisdec`, PyTorch's through
 * {@linkcode timePytorch} (a child Python process), tfjs rows through {@linkcode timeTfjs}.
 *
 * @param timeSeisdec seisdec's timing function.
 * @returns a {@linkcode PeerTimer}.
 */
export function defaultTimer(
  timeSeisdec: (b: "webgpu" | "cpu", batch: number, opts: TimingOptions) => Promise<PeerResult>,
): PeerTimer {
  return async (id, batch, opts) => {
    const [lib, backend] = id.split("-");
    try {
      if (lib === "seisdec") return await timeSeisdec(backend as "webgpu" | "cpu", batch, opts);
      if (lib === "pytorch") return await timePytorch(batch, opts);
      return await timeTfjs(backend as "webgpu" | "wasm" | "cpu", batch, opts);
    } catch (e) {
      return {
        name: peerName(id),
        backend,
        batch,
        inferBatch: opts.inferBatch ?? 256,
        trainSamplesPerSec: null,
        inferSamplesPerSec: null,
        error: (e as Error).message,
      };
    }
  };
}

function ratio(base: number | null | undefined, peer: number | null | undefined): string {
  if (!base || !peer) return "n/a";
  return `${(base / peer).toFixed(2)}x`;
}

/**
 * Formats the rows as a markdown table. The ratio columns divide the baseline row's
 * throughput at the same batch by each row's: above 1, the baseline is faster.
 *
 * @param rows Rows from {@linkcode runPeers}.
 * @param baseline Name of the baseline row (default "seisdec webgpu").
 * @returns markdown text.
 * @example
 * ```ts
 * import { formatPeerTable } from "./peers.ts";
 * const row = (name: string, train: number | null) => ({
 *   name, backend: "x", batch: 64, inferBatch: 256,
 *   trainSamplesPerSec: train, inferSamplesPerSec: null,
 * });
 * const md = formatPeerTable([row("seisdec webgpu", 200), row("tfjs wasm", 100)]);
 * if (!md.includes("2.00x")) throw new Error(md);
 * ```
 */
export function formatPeerTable(
  rows: PeerResult[],
  baseline: string = "seisdec webgpu",
): string {
  const inferBatches = [...new Set(rows.map((r) => r.inferBatch))].join("/");
  const header = [
    "peer",
    "backend",
    "batch",
    "train samples/s",
    "step ms",
    `${baseline} / peer (train)`,
    `encode samples/s (batch ${inferBatches})`,
    `${baseline} / peer (encode)`,
    "note",
  ];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => " --- ").join("|")}|`];
  for (const r of rows) {
    const base = rows.find((b) => b.name === baseline && b.batch === r.batch);
    const note = [r.error, r.note, r.adapter ? `adapter: ${r.adapter}` : ""]
      .filter(Boolean).join("; ").replaceAll("|", "/");
    lines.push(
      `| ${
        [
          r.name,
          r.backend,
          String(r.batch),
          formatValue(r.trainSamplesPerSec),
          r.stepMs ? r.stepMs.toFixed(0) : "n/a",
          ratio(base?.trainSamplesPerSec, r.trainSamplesPerSec),
          formatValue(r.inferSamplesPerSec),
          ratio(base?.inferSamplesPerSec, r.inferSamplesPerSec),
          note,
        ].join(" | ")
      } |`,
    );
  }
  return lines.join("\n");
}

/**
 * Turns rows into result-file figures: a training figure per row, and an encode figure
 * per peer (where it was measured). Failed figures keep their error with a NaN value.
 *
 * @param rows Rows from {@linkcode runPeers}.
 * @returns the figures.
 */
export function peerFigures(rows: PeerResult[]): BenchFigure[] {
  const [h, w] = INPUT_HW;
  const figures: BenchFigure[] = [];
  const encoded = new Set<string>();
  for (const r of rows) {
    const extra = {
      backend: r.backend,
      ...(r.adapter ? { adapter: r.adapter } : {}),
      ...(r.error ? { error: r.error } : {}),
      ...(r.note ? { note: r.note } : {}),
    };
    figures.push({
      name: `${r.name} train`,
      shape: `x [${r.batch}, 1, ${h}, ${w}]`,
      value: r.trainSamplesPerSec ?? NaN,
      unit: "samples/s",
      extra: { ...extra, stepMs: r.stepMs ?? null },
    });
    if (!encoded.has(r.name)) {
      encoded.add(r.name);
      figures.push({
        name: `${r.name} encode`,
        shape: `x [${r.inferBatch}, 1, ${h}, ${w}]`,
        value: r.inferSamplesPerSec ?? NaN,
        unit: "samples/s",
        extra: {
          ...extra,
          ...(r.inferNote ?? r.note ? { note: r.inferNote ?? r.note } : {}),
          inferMs: r.inferMs ?? null,
        },
      });
    }
  }
  return figures;
}
