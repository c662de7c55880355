/**
 * Processes for the tests of stale temporaries and locks: whether the system shows its
 * processes (Linux's /proc), a pid that never runs, and a zombie to test against.
 */

/** True where /proc lists processes (the stale-writer checks only work there). */
export const HAS_PROC = (() => {
  try {
    Deno.statSync("/proc/self");
    return true;
  } catch {
    return false;
  }
})();

/** Above Linux's largest pid_max (2^22): never a running process. */
export const DEAD_PID = 99_999_999;

/** A zombie and the live process that holds it; `stop` ends both. */
export interface Zombie {
  /** The zombie's pid (exited, never reaped). */
  pid: number;
  /** The live parent that never waits for it. */
  parent: Deno.ChildProcess;
  /** Kills the parent (and so the zombie) and waits for it. */
  stop(): Promise<void>;
}

/**
 * `sh` forks a short `sleep` and becomes a long one, which never waits for it: a zombie for
 * `seconds`, as a `kill -9`ed run stays in a container whose init does not reap orphans.
 * Returns once /proc shows the child in state Z.
 *
 * @param seconds How long the parent (and so the zombie) lives.
 * @returns the zombie.
 */
export async function spawnZombie(seconds: number): Promise<Zombie> {
  const parent = new Deno.Command("sh", {
    args: ["-c", `sleep 0.1 & echo $!; exec sleep ${seconds}`],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = parent.stdout.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  const pid = Number(new TextDecoder().decode(value).trim());
  for (let i = 0; i < 500; i++) {
    const st = Deno.readTextFileSync(`/proc/${pid}/stat`);
    if (st.slice(st.lastIndexOf(")") + 2).startsWith("Z")) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  return {
    pid,
    parent,
    async stop() {
      parent.kill("SIGKILL");
      await parent.status;
      await parent.stdout.cancel().catch(() => {});
    },
  };
}
