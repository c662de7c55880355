/**
 * seisdec command line: `deno run -A cli.ts <command> [flags]`.
 *
 * A thin layer: each command parses its flags and calls into `lib/`. Run
 * `deno run -A cli.ts --help` for the list, `cli.ts <command> --help` for one.
 *
 * @module
 */
import { type Command, helpText, parseCommandArgs } from "./lib/cli/_command.ts";
import { UserError } from "./lib/util/errors.ts";
import { SampleError } from "./lib/io/sample_error.ts";
import { NoAdapterError } from "./lib/gpu/device.ts";
import { interruptNotes, removeLiveTemporaries } from "./lib/util/atomic.ts";

/** Commands, loaded on demand so that `info` does not import the whole library. */
const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  info: {
    summary: "Print the WebGPU adapter, its limits and features; or summarise a directory.",
    load: async () => (await import("./lib/cli/info.ts")).info,
  },
  tune: {
    summary: "Time WebGPU tunings on this adapter and store the fastest for later runs.",
    load: async () => (await import("./lib/cli/tune.ts")).tuneCommand,
  },
  synth: {
    summary:
      "Write a seeded, labelled synthetic data set (miniSEED 3, StationXML, QuakeML, manifest).",
    load: async () => (await import("./lib/cli/synth.ts")).synth,
  },
  extract: {
    summary: "Turn waveforms, responses and picks into a spectrogram dataset.",
    load: async () => (await import("./lib/cli/extract.ts")).extract,
  },
  import: {
    summary: "Turn a .npy array [N,H,W] or [N,C,H,W] (+ labels CSV) into a dataset.",
    load: async () => (await import("./lib/cli/import.ts")).importCommand,
  },
  pretrain: {
    summary: "Pretrain the convolutional autoencoder on a spectrogram dataset.",
    load: async () => (await import("./lib/cli/train.ts")).pretrainCommand,
  },
  init: {
    summary: "Initialise cluster centres by k-means or GMM on the latent codes.",
    load: async () => (await import("./lib/cli/train.ts")).initCommand,
  },
  finetune: {
    summary: "Fine-tune encoder and centres by DEC or IDEC.",
    load: async () => (await import("./lib/cli/train.ts")).finetuneCommand,
  },
  encode: {
    summary: "Write latent codes for a dataset.",
    load: async () => (await import("./lib/cli/cluster.ts")).encodeCommand,
  },
  cluster: {
    summary: "Assign clusters: latent codes, soft assignments, labels and plots.",
    load: async () => (await import("./lib/cli/cluster.ts")).clusterCommand,
  },
  demo: {
    summary: "Run the whole pipeline on the built-in synthetic set and print ACC/NMI.",
    load: async () => (await import("./lib/cli/demo.ts")).demoCommand,
  },
  evaluate: {
    summary:
      "Score a clustering (ACC, NMI, ARI, confusion; silhouette, Calinski-Harabasz, Davies-Bouldin, sizes).",
    load: async () => (await import("./lib/cli/cluster.ts")).evaluateCommand,
  },
  report: {
    summary: "Write report.html: a cluster directory's tables and figures on one page.",
    load: async () => (await import("./lib/cli/report.ts")).reportCommand,
  },
  similar: {
    summary: "List the samples nearest to a given one in the latent space.",
    load: async () => (await import("./lib/cli/cluster.ts")).similarCommand,
  },
};

function usage(): string {
  const w = Math.max(...Object.keys(commands).map((k) => k.length)) + 2;
  return [
    "seisdec: unsupervised clustering of seismic signals by Deep Embedded Clustering on WebGPU",
    "",
    "Usage: deno run -A cli.ts <command> [flags]",
    "",
    "Commands:",
    ...Object.entries(commands).map(([k, c]) => `  ${k.padEnd(w)}${c.summary}`),
    "",
    "Run 'deno run -A cli.ts <command> --help' for a command's flags.",
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
    console.log(usage());
    return 0;
  }
  const entry = commands[name];
  if (!entry) {
    console.error(
      `error: Cannot run '${name}': no such command: expected one of ${
        Object.keys(commands).join(", ")
      }`,
    );
    return 2;
  }
  const cmd = await entry.load();
  try {
    const { values, positionals } = parseCommandArgs(cmd, rest);
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
    if (isUserFacing(e) && !Deno.env.get("SEISDEC_DEBUG")) {
      console.error(`error: ${(e as Error).message}`);
      return 2;
    }
    throw e;
  }
}

/**
 * Whether an error reports something about the user's input rather than a bug: our own
 * UserError and SampleError, a missing adapter, a file-system error (a path that is missing,
 * not a directory, already there or not permitted), and the library's argument checks
 * (TypeError / RangeError whose message starts "Cannot ", which names what was expected).
 * These print one line and exit 2; `SEISDEC_DEBUG=1` shows the stack instead.
 */
function isUserFacing(e: unknown): boolean {
  if (
    e instanceof UserError || e instanceof NoAdapterError || e instanceof SampleError ||
    e instanceof Deno.errors.AlreadyExists || e instanceof Deno.errors.NotFound ||
    e instanceof Deno.errors.NotADirectory || e instanceof Deno.errors.IsADirectory ||
    e instanceof Deno.errors.PermissionDenied
  ) return true;
  return (e instanceof TypeError || e instanceof RangeError) && e.message.startsWith("Cannot ");
}

/**
 * Ctrl-C and SIGTERM remove the outputs this run had not finished (a dataset, a model or a
 * checkpoint being written) before exiting, so nothing half-written stays behind; what was
 * already written, such as the last checkpoint, stays.
 */
function exitCleanlyOnSignals(): void {
  const signals: [Deno.Signal, number][] = [["SIGINT", 130], ["SIGTERM", 143]];
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
      // A signal this system does not deliver (SIGTERM on Windows).
    }
  }
}

if (import.meta.main) {
  exitCleanlyOnSignals();
  Deno.exit(await main(Deno.args));
}
