/**
 * Instrument responses the signal tests share.
 *
 * @module
 */
import type { InstrumentResponse } from "../../lib/signal/response.ts";

/** A 1 Hz geophone in velocity (two zeros at 0, poles −4.443 ± 4.443i rad/s), 6.3e8 counts/(m/s). */
export const geophone: InstrumentResponse = {
  sensitivity: 6.3e8,
  sensitivityFrequency: 5,
  inputUnits: "M/S",
  stages: [{
    type: "radians",
    zeros: [[0, 0], [0, 0]],
    poles: [[-4.443, 4.443], [-4.443, -4.443]],
    normalizationFactor: 1,
  }],
};
