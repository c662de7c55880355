/**
 * seisdec command line: `deno run -A cli.ts <command> [flags]`.
 *
 * A thin layer: each command parses its flags and calls into `lib/`. Run
 * `deno run -A cli.ts --help` for the list, `cli.ts <command> --help` for one.
 *
 * @module
 */
import { type Command, helpText, nearestFlag, parseCommandArgs } from "./lib/cli/_command.ts";
import { UserError } from "./lib/util/errors.ts";
import { SampleError } from "./lib/io/sample_error.ts";
import {
  DeviceLostError,
  GpuOutOfMemoryError,
  lostText,
  NoAdapterError,
} from "./lib/gpu/device.ts";
import {
  CANNOT_WRITE_HERE,
  interruptNotes,
  refusedWrite as refusedWriteOf,
  removeLiveTemporaries,
} from "./lib/util/atomic.ts";
import denoJson from "./deno.json" with { type: "json" };

/**
 * Commands, loaded on demand so that `info` does not import the whole library. Each command's
 * own `summary` is the one line of the command list (`cli.ts --help`) and of its `--help`.
 */
const commands: Record<string, () => Promise<Command>> = {
  info: async () => (await import("./lib/cli/info.ts")).info,
  tune: async () => (await import("./lib/cli/tune.ts")).tuneCommand,
  synth: async () => (await import("./lib/cli/synth.ts")).synth,
  extract: async () => (await import("./lib/cli/extract.ts")).extract,
  import: async () => (await import("./lib/cli/import.ts")).importCommand,
  pretrain: async () => (await import("./lib/cli/train.ts")).pretrainCommand,
  init: async () => (await import("./lib/cli/train.ts")).initCommand,
  finetune: async () => (await import("./lib/cli/train.ts")).finetuneCommand,
  encode: async () => (await import("./lib/cli/cluster.ts")).encodeCommand,
  cluster: async () => (await import("./lib/cli/cluster.ts")).clusterCommand,
  demo: async () => (await import("./lib/cli/demo.ts")).demoCommand,
  evaluate: async () => (await import("./lib/cli/cluster.ts")).evaluateCommand,
  report: async () => (await import("./lib/cli/report.ts")).reportCommand,
  similar: async () => (await import("./lib/cli/cluster.ts")).similarCommand,
};

/** @returns seisdec's version (deno.json's) and the Deno that runs it, for `cli.ts --version`. */
export function versionText(): string {
  const v = Deno.version;
  return `seisdec ${denoJson.version}\nDeno ${v.deno} (V8 ${v.v8}, TypeScript ${v.typescript})`;
}

/** @returns the top-level help: every command with its own summary. */
async function usage(): Promise<string> {
  const names = Object.keys(commands);
  const loaded = await Promise.all(names.map((k) => commands[k]()));
  const w = Math.max(...names.map((k) => k.length)) + 2;
  return [
    "seisdec: unsupervised clustering of seismic signals by Deep Embedded Clustering on WebGPU",
    "",
    "Usage: deno run -A cli.ts <command> [flags]",
    "",
    "Commands:",
    ...names.map((k, i) => `  ${k.padEnd(w)}${loaded[i].summary}`),
    "",
    "Run 'deno run -A cli.ts <command> --help' for a command's flags.",
    "Run 'deno run -A cli.ts --version' for seisdec's version and Deno's.",
  ].join("\n");
}

/**
 * Runs the CLI.
 *
 * @param args Command-line arguments.
 * @returns the exit status.
 */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(await usage());
    return 0;
  }
  if (name === "--version" || name === "-V") {
    console.log(versionText());
    return 0;
  }
  const load = commands[name];
  if (!load) {
    const near = nearestFlag(name, Object.keys(commands));
    console.error(
      `error: Cannot run '${name}': no such command${near ? ` (did you mean ${near}?)` : ""}: ` +
        `expected one of ${Object.keys(commands).join(", ")}`,
    );
    return 2;
  }
  const cmd = await load();
  let parsed: ReturnType<typeof parseCommandArgs> | null = null;
  try {
    parsed = parseCommandArgs(cmd, rest);
    const { values, positionals } = parsed;
    if (values.help) {
      console.log(helpText(cmd));
      return 0;
    }
    if (values.cpu) {
      const { setDefaultBackend } = await import("./lib/backend.ts");
      setDefaultBackend("cpu");
    }
    await cmd.run(values, positionals);
    return 0;
  } catch (e) {
    if (e instanceof GpuOutOfMemoryError && !Deno.env.get("SEISDEC_DEBUG")) {
      const kept = parsed ? await checkpointAdvice(cmd, parsed) : null;
      // Half the inferBatch in force: the default, 256, as the example lowered nothing.
      const { passBatch } = await import("./lib/tensor/backends.ts");
      const lower = Math.max(1, Math.floor(passBatch("webgpu") / 2));
      console.error(
        `error: Cannot finish ${name}: ${e.detail}: close other programs that use the GPU, ` +
          `lower --batch-size (training) or the tuning's inferBatch (encoding: ` +
          `SEISDEC_TUNING='{"inferBatch":${lower}}'), or pass --cpu${kept ? `; ${kept}` : ""}`,
      );
      return 1;
    }
    const lost = parsed && cmd.gpu ? await lostDevice(e) : null;
    if (lost && !Deno.env.get("SEISDEC_DEBUG")) {
      const next = await checkpointAdvice(cmd, parsed!) ?? "rerun the command, or pass --cpu";
      console.error(
        `error: Cannot finish ${name}: the WebGPU device was lost (${lost}), as a driver reset, ` +
          `a GPU watchdog timeout (TDR) or running out of GPU memory does: ${next}`,
      );
      return 1;
    }
    if (isUserFacing(e) && !Deno.env.get("SEISDEC_DEBUG")) {
      // A disk that refused a write mid-run: what was kept (a checkpoint) and how to go on.
      const kept = refusedWrite(e) ? interruptNotes() : [];
      console.error(`error: ${(e as Error).message}${kept.length ? `; ${kept.join("; ")}` : ""}`);
      return 2;
    }
    throw e;
  }
}

/**
 * What a command's checkpoint lets the user do after a GPU failure (`afterDeviceLoss`: resume
 * from it, or start again), or null where the command says nothing or its checkpoint cannot be
 * read (then the plain advice stands).
 */
async function checkpointAdvice(
  cmd: Command,
  parsed: ReturnType<typeof parseCommandArgs>,
): Promise<string | null> {
  try {
    return await cmd.afterDeviceLoss?.(parsed.values, parsed.positionals) ?? null;
  } catch {
    return null;
  }
}

/**
 * Whether an error, or one it wraps, is a write the file system refused (a full disk, a
 * read-only file system, ...: `CANNOT_WRITE_HERE`), after which the CLI names what the run
 * kept (a checkpoint) and how to go on.
 *
 * @param e What a command threw.
 * @returns true for such a write.
 */
export function refusedWrite(e: unknown): boolean {
  return refusedWriteOf(e) !== null;
}

/**
 * Whether a command failed because the WebGPU device was lost: a `DeviceLostError`, or an
 * error other than the user's mistakes while the backend's device is lost (WebGPU may report
 * the loss only after a read already failed with a bare message).
 *
 * @param e What the command threw.
 * @returns the loss's reason and message, or null.
 */
async function lostDevice(e: unknown): Promise<string | null> {
  if (e instanceof DeviceLostError) return lostText(e.info);
  if (isUserFacing(e)) return null;
  const { deviceLost } = await import("./lib/tensor/backends.ts");
  const info = deviceLost();
  return info ? lostText(info) : null;
}

/**
 * Whether an error reports something about the user's input rather than a bug: our own
 * UserError and SampleError, a missing adapter, a file-system error (a path that is missing,
 * not a directory, already there or not permitted), and the library's argument checks
 * (TypeError / RangeError whose message starts "Cannot ", which names what was expected).
 * These print one line and exit 2; `SEISDEC_DEBUG=1` shows the stack instead.
 *
 * @param e What a command threw.
 * @returns true to print it as one `error:` line, false to let it propagate with its stack.
 */
export function isUserFacing(e: unknown): boolean {
  if (
    e instanceof UserError || e instanceof NoAdapterError || e instanceof SampleError ||
    e instanceof Deno.errors.AlreadyExists || e instanceof Deno.errors.NotFound ||
    e instanceof Deno.errors.NotADirectory || e instanceof Deno.errors.IsADirectory ||
    e instanceof Deno.errors.PermissionDenied ||
    // A write the file system refuses (read-only, full, a name too long): the message names
    // the path.
    (e instanceof Error && ((e as { code?: string }).code ?? "") in CANNOT_WRITE_HERE)
  ) return true;
  return (e instanceof TypeError || e instanceof RangeError) && e.message.startsWith("Cannot ");
}

/**
 * Ctrl-C, SIGTERM and SIGHUP remove the outputs this run had not finished (a dataset, a model or a
 * checkpoint being written) before exiting, so nothing half-written stays behind; what was
 * already written, such as the last checkpoint, stays.
 */
function exitCleanlyOnSignals(): void {
  // SIGHUP: the terminal closed (an ssh session dropped, a console window closed) under a long
  // run; SIGBREAK: Ctrl-Break on Windows.
  const signals: [Deno.Signal, number][] = [
    ["SIGINT", 130],
    ["SIGTERM", 143],
    ["SIGHUP", 129],
    ["SIGBREAK", 149],
  ];
  for (const [signal, status] of signals) {
    try {
      Deno.addSignalListener(signal, () => {
        const gone = removeLiveTemporaries();
        console.error(
          `\ninterrupted (${signal})${
            gone.length ? `: removed the unfinished ${gone.join(", ")}` : ""
          }`,
        );
        for (const note of interruptNotes()) console.error(note);
        Deno.exit(status);
      });
    } catch {
      // A signal this system does not deliver (SIGBREAK outside Windows).
    }
  }
}

if (import.meta.main) {
  exitCleanlyOnSignals();
  Deno.exit(await main(Deno.args));
}
