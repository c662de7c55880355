/**
 * Web Worker body of extract's trigger detection: one channel's detection over a span (a
 * calendar month) per message ({@linkcode DetectionJob}), answered with its days
 * (`detectSdsDays`), or the error; a message as each day is done.
 *
 * @module
 */
import { type DetectionJob, detectSdsDays } from "./sds_triggers.ts";
import { UserError } from "../util/errors.ts";

const ctx = self as unknown as {
  onmessage: ((ev: MessageEvent<DetectionJob>) => void) | null;
  postMessage(msg: unknown): void;
};

ctx.onmessage = async (ev: MessageEvent<DetectionJob>) => {
  const j = ev.data;
  try {
    const result = await detectSdsDays(j.dir, j.codes, j.start, j.end, j.spec, j.gapTolerance, {
      cache: j.cache,
      onDay: (kept) => ctx.postMessage({ day: kept }),
    });
    ctx.postMessage({ ok: true, result });
  } catch (e) {
    // Its class (a UserError; Deno's file-system errors by name) and errno code, which the
    // CLI's one line depends on (isUserFacing), as the error thrown in the pool's thread.
    const { message, name, code } = e as Error & { code?: string };
    ctx.postMessage({ ok: false, message, user: e instanceof UserError, name, code });
  }
};
