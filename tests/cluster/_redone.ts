/**
 * On-disk datasets of the same samples under the same ids, as a re-extraction makes them: with
 * other settings, or with the same settings written elsewhere by another run.
 *
 * @module
 */
import { join } from "node:path";
import { type Dataset, openDataset, writeDataset } from "../../lib/io/dataset.ts";
import { Rng } from "../../lib/util/rng.ts";

/** Samples, ids and axes shared by the three datasets: 12 samples [1, 8, 8]. */
const N = 12, F = 8, T = 8;

/**
 * Writes and opens three datasets of the same values and ids under `root`: `a`, made with
 * `spectrogram.fmax` 18; `b`, the same but `fmax` 10; `c`, a's settings but written to another
 * path, from another input directory, by other workers and at another time.
 *
 * @param root A temporary directory.
 * @returns the open datasets (close them).
 */
export async function redoneDatasets(root: string): Promise<Record<"a" | "b" | "c", Dataset>> {
  const rng = new Rng(2);
  const x = Float32Array.from({ length: N * F * T }, () => rng.uniform(0, 1));
  const s = { network: "XX", station: "A", location: "", channel: "HHZ", referenceTime: "" };
  const samples = Array.from({ length: N }, (_, i) => ({ ...s, id: `s${i}`, label: null }));
  const freqs = Float64Array.from({ length: F }, (_, i) => 1 + i);
  const times = Float64Array.from({ length: T }, (_, i) => 0.64 * i);
  const make = async (name: string, fmax: number, input: string, workers: number) => {
    const out = join(root, name);
    const config = {
      input: { format: "esec", dir: input },
      output: out,
      spectrogram: { fmax, scaling: "db" },
      workers,
    };
    await writeDataset(
      out,
      { shape: [N, 1, F, T], components: ["Z"], scaling: "db", config },
      samples,
      x,
      freqs,
      times,
    );
    return await openDataset(out);
  };
  return {
    a: await make("a", 18, "/data/esec", 2),
    b: await make("b", 10, "/data/esec", 2),
    c: await make("c", 18, "/elsewhere/esec", 4),
  };
}
