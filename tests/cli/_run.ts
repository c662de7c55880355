/**
 * Runs the CLI in-process for tests.
 *
 * @module
 */
import { main } from "../../cli.ts";

/**
 * Runs `main(args)` capturing console.log and console.error lines.
 *
 * @param args The command line.
 * @returns the exit status and the lines printed to stdout and stderr.
 */
export async function run(
  ...args: string[]
): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [], err: string[] = [];
  const { log, error, warn } = console;
  console.log = (...a: unknown[]) => out.push(a.map(String).join(" "));
  console.error = console.warn = (...a: unknown[]) => err.push(a.map(String).join(" "));
  try {
    return { code: await main(args), out, err };
  } finally {
    Object.assign(console, { log, error, warn });
  }
}
