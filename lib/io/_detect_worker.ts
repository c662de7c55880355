/**
 * Web Worker body of extract's trigger detection: one channel's detection per message
 * ({@linkcode DetectionJob}), answered with its triggers and problems, or the error.
 *
 * @module
 */
import { type DetectionJob, detectSdsTriggers } from "./sds_triggers.ts";
import { UserError } from "../util/errors.ts";

const ctx = self as unknown as {
  onmessage: ((ev: MessageEvent<DetectionJob>) => void) | null;
  postMessage(msg: unknown): void;
};

ctx.onmessage = async (ev: MessageEvent<DetectionJob>) => {
  const j = ev.data;
  try {
    const result = await detectSdsTriggers(j.dir, j.codes, j.start, j.end, j.spec, j.gapTolerance, {
      cache: j.cache,
      onDay: () => ctx.postMessage({ day: true }),
    });
    ctx.postMessage({ ok: true, result });
  } catch (e) {
    ctx.postMessage({ ok: false, message: (e as Error).message, user: e instanceof UserError });
  }
};
