/**
 * Instrument responses the signal tests share.
 *
 * @module
 */
import type { InstrumentResponse } from "../../lib/signal/response.ts";
import { SYNTH_RESPONSE } from "../../lib/io/synth.ts";

/**
 * A 1 Hz geophone in velocity (two zeros at 0, poles −4.443 ± 4.443i rad/s), 6.3e8 counts/(m/s):
 * the synthetic data's sensor.
 */
export const geophone: InstrumentResponse = SYNTH_RESPONSE;
