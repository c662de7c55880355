/**
 * Web Worker body of `extract`: receives the config once, then one task per
 * message, and answers with the spectrogram (transferred) or the failure. Responses
 * come from the main thread, one channel at a time ({@linkcode WorkerInventory}): the
 * worker never parses an inventory.
 *
 * @module
 */
import { type LookupReply, type LookupRequest, runOne, WorkerInventory } from "./extract.ts";
import {
  type ExtractConfig,
  type SpectrogramGeometry,
  spectrogramGeometry,
} from "./extract_config.ts";
import type { SampleTask } from "./manifest.ts";

let config: ExtractConfig | null = null;
let geometry: SpectrogramGeometry | null = null;
// Tasks run one after the other so replies keep a steady order per worker.
let chain: Promise<void> = Promise.resolve();

type Msg = { type: "init"; config: ExtractConfig } | {
  type: "task";
  index: number;
  task: SampleTask;
  /** The task's waveform files that other tasks read too: kept decoded for them. */
  shared: string[];
} | LookupReply;

const ctx = self as unknown as {
  onmessage: ((ev: MessageEvent<Msg>) => void) | null;
  postMessage(msg: unknown, transfer?: Transferable[]): void;
};

const inventories = new WorkerInventory((m: LookupRequest) => ctx.postMessage(m));

ctx.onmessage = (ev: MessageEvent<Msg>) => {
  const m = ev.data;
  if (m.type === "init") {
    config = m.config;
    geometry = spectrogramGeometry(config);
    return;
  }
  if (m.type === "lookup") {
    inventories.answer(m);
    return;
  }
  // The task's responses are asked for now, while the task before it runs, so that it does not
  // wait for the main thread's answer when its turn comes.
  inventories.prefetch(m.task, config!.components);
  chain = chain.then(async () => {
    const r = await runOne(m.index, m.task, config!, inventories, geometry!, m.shared);
    if (r.ok) ctx.postMessage(r, [r.data.buffer as ArrayBuffer]);
    else ctx.postMessage(r);
  });
};
