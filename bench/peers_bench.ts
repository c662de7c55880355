/**
 * Peers benchmark: seisdec (WebGPU, CPU) against PyTorch eager on the CPU (a child Python
 * process; `PEERS_PYTHON` names the interpreter) and TensorFlow.js (webgpu, wasm, cpu) on the
 * same autoencoder training step and encoder inference, in one run on one adapter. It runs
 * once at module load (a step takes seconds on a software adapter, far too long for
 * `Deno.bench`'s repeated sampling), prints the table with the ratio seisdec / peer, and
 * writes bench/results/peers-<adapter>.json.
 *
 * ```sh
 * deno bench -A --lock=bench/deno.lock bench/peers_bench.ts                              # everything (~15 min on llvmpipe)
 * deno bench -A --lock=bench/deno.lock bench/peers_bench.ts -- --quick                   # batch 64, no tfjs-cpu
 * deno bench -A --lock=bench/deno.lock bench/peers_bench.ts -- --peers=tfjs-wasm,tfjs-webgpu --batches=64
 * PEERS_SKIP=1 deno task bench                                    # the other benches only
 * ```
 *
 * @module
 */
import { timeSeisdec } from "../lib/bench/seisdec_timing.ts";
import { writeBenchResults } from "./_results.ts";
import {
  defaultTimer,
  formatPeerTable,
  parsePeersConfig,
  peerFigures,
  runPeers,
} from "./peers/peers.ts";

if (Deno.env.get("PEERS_SKIP") === "1") {
  console.log("peers: skipped (PEERS_SKIP=1)");
} else {
  const config = parsePeersConfig(Deno.args);
  console.log(
    `peers: ${config.peers.join(", ")} at batch ${config.batches.join(", ")}; ` +
      `${config.warmup} warm-up + mean of >= ${config.steps} steps and >= ${config.minSeconds} s; ` +
      `encoder at batch ${config.inferBatch}`,
  );
  const rows = await runPeers(config, defaultTimer(timeSeisdec));
  console.log("\n" + formatPeerTable(rows, "seisdec webgpu"));
  if (rows.some((r) => r.name === "seisdec cpu")) {
    console.log("\n" + formatPeerTable(rows, "seisdec cpu"));
  }
  const path = await writeBenchResults("peers", peerFigures(rows));
  console.log(`\npeers: wrote ${path}`);
}
