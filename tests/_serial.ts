/**
 * The test files `deno task test` runs one at a time, after the others.
 *
 * `deno test --parallel` runs test files side by side in one process. The process's environment
 * and working directory are shared: a file that sets `SEISDEC_TUNING` or `SEISDEC_TUNING_DIR`
 * (read when a backend starts, and inherited by the CLI runs other files spawn) or changes
 * directory would change what a file running beside it does. These files do, so they run alone
 * (`tests/run_test.ts` checks that every file that does is listed).
 *
 * @module
 */

/** Paths from the repository root: test files, and lib modules whose doc examples do it. */
export const SERIAL_FILES: readonly string[] = [
  "lib/gpu/tuning_store.ts",
  "lib/util/env.ts",
  "tests/bench/trial_worker_test.ts",
  "tests/cli/tune_test.ts",
  "tests/gpu/tuning_store_test.ts",
  "tests/tensor/tuning_test.ts",
  "tests/util/atomic_test.ts",
];

/**
 * The two `deno test` runs of the suite: every file but `SERIAL_FILES` two at a time, then those
 * one at a time.
 *
 * @param report The JUnit report path of each run.
 * @param extra Further arguments, given to both.
 * @returns the argument lists.
 */
export function suiteRuns(report: [string, string], extra: string[]): string[][] {
  // The suite's peers test imports TensorFlow.js: bench/deno.lock holds it with seisdec's own
  // packages (deno.lock, which a first run installs whole, holds only these).
  const common = ["test", "-A", "--lock=bench/deno.lock", "--doc", "--permit-no-files"];
  return [
    [
      ...common,
      "--parallel",
      `--ignore=${SERIAL_FILES.join(",")}`,
      `--junit-path=${report[0]}`,
      "mod.ts",
      "lib/",
      "tests/",
      ...extra,
    ],
    [...common, `--junit-path=${report[1]}`, ...SERIAL_FILES, ...extra],
  ];
}
