/**
 * FDSN StationXML reading by npm:seisplotjs (`stationxml.parseStationXml`),
 * reduced to what response removal needs (the analog poles-and-zeros stages, the
 * digital FIR / Coefficients / Z-transform stages with their input sample rates,
 * the overall sensitivity and input units), and a small StationXML writer (text)
 * for the synthetic data set, since seisplotjs has no StationXML writer.
 *
 * @module
 */
import { parseXml, seisplotjs, type XmlDoc } from "./_seisplotjs.ts";
import type { XmlElement } from "../deps.ts";
import { SampleError } from "./sample_error.ts";
import { parseUtc } from "./manifest.ts";
import { splitStationXml } from "./_stationxml_split.ts";
import type { Seisplotjs } from "../deps.ts";
import {
  type DigitalStage,
  evaluateResponse,
  groundUnits,
  type InstrumentResponse,
  type PolesZerosStage,
} from "../signal/response.ts";
import { readFailure, readInputText } from "./input_file.ts";

/** One channel epoch of an inventory. */
export interface ChannelEpoch {
  /** SEED network code. */
  network: string;
  /** SEED station code. */
  station: string;
  /** SEED location code. */
  location: string;
  /** SEED channel code. */
  channel: string;
  /** Epoch start, ms since 1970 UTC; -Infinity where the Channel has no `startDate`. */
  startDate: number;
  /** Epoch end, ms since 1970 UTC; Infinity when open. */
  endDate: number;
  /** Samples per second, Hz. */
  samplingRate: number;
  /** Degrees clockwise from north (StationXML `Azimuth`); NaN when the channel has none. */
  azimuth: number;
  /** The channel's latitude, degrees north (WGS84); NaN when absent. */
  latitude: number;
  /** The channel's longitude, degrees east; NaN when absent. */
  longitude: number;
  /** The channel's elevation, m above sea level; NaN when absent. */
  elevation: number;
  /**
   * Degrees down from the horizontal (StationXML `Dip`; −90: up, SEED convention); NaN when
   * the channel has none.
   */
  dip: number;
  /** The response, or null when the channel has none (or no sensitivity), or it is unusable. */
  response: InstrumentResponse | null;
  /**
   * Why the channel's Response cannot be used (`response` is then null), e.g. a
   * digital stage without a Decimation input sample rate; {@linkcode findResponse}
   * fails with it.
   */
  responseError?: string;
  /**
   * Why the channel epoch could not be read at all (a Stage without its Gain's Value, say):
   * its codes and dates are the element's attributes (an epoch of all time where its dates
   * are no dates), its other fields NaN or null, and {@linkcode findResponse} and
   * {@linkcode findOrientation} fail with this. The other channels of the file read as usual.
   */
  unreadable?: string;
}

/** Options of {@linkcode readStationXml}. */
export interface ReadStationXmlOptions {
  /**
   * A text longer than this (characters) is parsed in pieces of whole stations of about this
   * size (default 64 Ki), so that its DOM never exists whole.
   */
  pieceChars?: number;
}

/**
 * Parses StationXML text. A large inventory is parsed a few stations at a time
 * (`splitStationXml`): the epochs are the same as from the whole document, and memory is
 * that of one piece's DOM rather than about 50 times the text's size; text that cannot be
 * split so, or a piece that fails, is parsed whole, which gives its error.
 *
 * @param text XML text.
 * @param source File name for messages.
 * @param options Piece size.
 * @returns every channel epoch, in the document's order.
 * @throws {SampleError} ("bad response") for XML that is not FDSN StationXML or
 *   that seisplotjs cannot parse.
 */
export async function readStationXml(
  text: string,
  source: string,
  options: ReadStationXmlOptions = {},
): Promise<ChannelEpoch[]> {
  const pieceChars = options.pieceChars ?? 1 << 16;
  const pieces = text.length > pieceChars ? splitStationXml(text, pieceChars) : null;
  if (pieces !== null) {
    try {
      const out: ChannelEpoch[] = [];
      for (const piece of pieces) {
        for (const e of await readWhole(piece, source)) out.push(e);
      }
      return out;
    } catch {
      // Parsed whole below, for the error's own message (positions in the file, not a piece).
    }
  }
  return await readWhole(text, source);
}

async function readWhole(text: string, source: string): Promise<ChannelEpoch[]> {
  let doc: XmlDoc;
  try {
    doc = parseXml(text, source);
  } catch (e) {
    throw new SampleError("bad response", (e as Error).message);
  }
  const root = doc.documentElement;
  if (!root || root.localName !== "FDSNStationXML") {
    throw new SampleError(
      "bad response",
      `Cannot read ${source}: expected an FDSNStationXML document: found root element <${
        root?.localName ?? "none"
      }>`,
    );
  }
  const sp = await seisplotjs();
  // seisplotjs looks for elements in the StationXML namespace only: in another (or none), it
  // finds no channel, and every sample would fail as "no such channel" without saying why.
  const ns = sp.stationxml.STAML_NS;
  if (root.namespaceURI !== ns) {
    throw new SampleError(
      "bad response",
      `Cannot read ${source}: it holds no channels in the FDSN StationXML namespace ${ns}: ` +
        `its root element is in ${
          root.namespaceURI ? `the namespace ${root.namespaceURI}` : "no namespace"
        }: expected <FDSNStationXML xmlns="${ns}">`,
    );
  }
  const openStart = fillOpenStarts(root as XmlElement, ns);
  let channels: (Seisplotjs["stationxml"]["Channel"]["prototype"] | ChannelEpoch)[];
  try {
    channels = [...sp.stationxml.allChannels(sp.stationxml.parseStationXml(doc as never))];
  } catch (e) {
    // seisplotjs refuses the whole document for one channel it cannot read: read it channel
    // by channel, so that only that channel's samples fail.
    channels = channelByChannel(sp, root as XmlElement, openStart);
    if (channels.length === 0) {
      throw new SampleError(
        "bad response",
        `Cannot read ${source}: invalid StationXML: ${(e as Error).message}`,
      );
    }
  }
  return channels.map((ch) =>
    ch instanceof sp.stationxml.Channel ? channelEpoch(sp, ch, source) : ch
  );
}

/**
 * What an absent `startDate` is given for seisplotjs, which requires one on every Network,
 * Station and Channel: a date before any recording, read back as an epoch open from the
 * beginning of time (-Infinity).
 */
const OPEN_START = "0001-01-01T00:00:00Z";
const OPEN_START_MS = new Date(OPEN_START).getTime();

/**
 * Gives each Network, Station and Channel without a `startDate` attribute {@linkcode OPEN_START}.
 * StationXML (1.0 and 1.1) makes it optional on all three (BaseNodeType), and ObsPy reads such
 * files; seisplotjs refuses them ("Attribute startDate not found."), which failed every sample
 * of a network written without one as `bad response`.
 *
 * @returns the Channel elements given one, whose epochs are open from the beginning of time.
 */
function fillOpenStarts(root: XmlElement, ns: string): Set<XmlElement> {
  const channels = new Set<XmlElement>();
  for (const name of ["Network", "Station", "Channel"]) {
    for (const el of Array.from(root.getElementsByTagNameNS(ns, name))) {
      if (el.hasAttribute("startDate")) continue;
      el.setAttribute("startDate", OPEN_START);
      if (name === "Channel") channels.add(el);
    }
  }
  return channels;
}

/** An epoch's start in ms, -Infinity for one without a `startDate` ({@linkcode OPEN_START}). */
const epochStart = (ms: number) => (ms === OPEN_START_MS ? -Infinity : ms);

/** "--" (and blanks) stand for the empty location code, as in manifests and QuakeML. */
function locationCode(loc: string | null | undefined): string {
  const t = (loc ?? "").trim();
  return t === "--" ? "" : t;
}

/** An element's `code` for a message: `(no code)` where it has none. */
function codeOf(el: { getAttribute(name: string): string | null }): string {
  return el.getAttribute("code") || "(no code)";
}

/** An epoch of a channel that could not be read: its samples fail, saying `why`. */
function unreadableEpoch(
  [network, station, location, channel]: [string, string, string, string],
  startDate: number,
  endDate: number,
  why: string,
): ChannelEpoch {
  return {
    network,
    station,
    location,
    channel,
    startDate,
    endDate,
    samplingRate: NaN,
    azimuth: NaN,
    dip: NaN,
    latitude: NaN,
    longitude: NaN,
    elevation: NaN,
    response: null,
    responseError: why,
    unreadable: why,
  };
}

/** A seisplotjs Channel as a {@linkcode ChannelEpoch}. */
function channelEpoch(
  sp: Seisplotjs,
  ch: Seisplotjs["stationxml"]["Channel"]["prototype"],
  source: string,
): ChannelEpoch {
  const location = locationCode(ch.locationCode);
  const code = `${ch.networkCode}.${ch.stationCode}.${location}.${ch.channelCode}`;
  // A date that is no date (2023-13-45: luxon gives an invalid DateTime, NaN ms) would make an
  // epoch that never covers anything: every sample said "no channel epoch covers ...".
  for (const [name, d] of [["startDate", ch.startDate], ["endDate", ch.endDate]] as const) {
    if (d && !d.isValid) {
      const why = `its ${name} is not a valid date (${d.invalidExplanation ?? d.invalidReason})`;
      const ok = (x: typeof d) => x && x.isValid ? x.toMillis() : undefined;
      // The valid one of the two dates, else all time: so that its samples say why.
      return unreadableEpoch(
        [ch.networkCode, ch.stationCode, location, ch.channelCode],
        epochStart(ok(ch.startDate) ?? -Infinity),
        ok(ch.endDate) ?? Infinity,
        why,
      );
    }
  }
  const r = toResponse(sp, ch.response, `${code} in ${source}`);
  return {
    network: ch.networkCode,
    station: ch.stationCode,
    location,
    channel: ch.channelCode,
    startDate: epochStart(ch.startDate.toMillis()),
    endDate: ch.endDate ? ch.endDate.toMillis() : Infinity,
    samplingRate: ch.sampleRate,
    azimuth: orientationValue(ch.azimuth),
    dip: orientationValue(ch.dip),
    // Out of range (StationXML's schema bounds them too): unknown, as an absent one.
    latitude: inRange(coordinateValue(ch.latitude), 90),
    longitude: inRange(coordinateValue(ch.longitude), 180),
    elevation: coordinateValue(ch.elevation),
    response: r !== null && "error" in r ? null : r,
    ...(r !== null && "error" in r ? { responseError: r.error } : {}),
  };
}

/**
 * Reads a document's channels one at a time, each with its station and network read without
 * their other stations and channels: a channel seisplotjs cannot read (or whose station or
 * network it cannot) becomes an epoch with {@linkcode ChannelEpoch.unreadable} saying why,
 * and the others read as they would have.
 */
function channelByChannel(
  sp: Seisplotjs,
  root: XmlElement,
  openStart: ReadonlySet<XmlElement>,
): (Seisplotjs["stationxml"]["Channel"]["prototype"] | ChannelEpoch)[] {
  const ns = sp.stationxml.STAML_NS;
  const kids = (el: XmlElement, name: string) =>
    Array.from(el.childNodes).filter((n) =>
      n.nodeType === 1 && (n as XmlElement).localName === name &&
      (n as XmlElement).namespaceURI === ns
    ) as XmlElement[];
  // The element without its children named `drop` (a station without its channels).
  const bare = (el: XmlElement, drop: string) => {
    const copy = el.cloneNode(false) as XmlElement;
    for (const c of Array.from(el.childNodes)) {
      const skip = c.nodeType === 1 && (c as XmlElement).localName === drop;
      if (!skip) copy.appendChild(c.cloneNode(true));
    }
    return copy;
  };
  const why = (e: unknown) => (e as Error)?.message ?? String(e);
  const out: (Seisplotjs["stationxml"]["Channel"]["prototype"] | ChannelEpoch)[] = [];
  for (const netEl of kids(root, "Network")) {
    // deno-lint-ignore no-explicit-any
    let net: any = null, netError = "";
    try {
      net = sp.stationxml.convertToNetwork(bare(netEl, "Station") as never);
    } catch (e) {
      netError = `its Network ${codeOf(netEl)} cannot be read: ${why(e)}`;
    }
    for (const staEl of kids(netEl, "Station")) {
      // deno-lint-ignore no-explicit-any
      let sta: any = null, staError = netError;
      if (net) {
        try {
          sta = sp.stationxml.convertToStation(net, bare(staEl, "Channel") as never);
        } catch (e) {
          staError = `its Station ${codeOf(staEl)} cannot be read: ${why(e)}`;
        }
      }
      for (const chEl of kids(staEl, "Channel")) {
        let error = staError;
        if (sta) {
          try {
            out.push(sp.stationxml.convertToChannel(sta, chEl as never));
            continue;
          } catch (e) {
            // seisplotjs prefixes its location code and a dot ("00. "): the code is named anyway.
            error = `the channel cannot be read: ${why(e).replace(/^[^\s.]*\. /, "")}`;
          }
        }
        // As UTC where no zone is written (IRIS writes none): Date.parse would take local time.
        const date = (attr: string, none: number) => {
          try {
            return parseUtc(chEl.getAttribute(attr) ?? "") ?? none;
          } catch {
            return none;
          }
        };
        // Dates that are no dates: an epoch of all time, so that its samples say why.
        out.push(unreadableEpoch(
          [
            netEl.getAttribute("code") ?? "",
            staEl.getAttribute("code") ?? "",
            locationCode(chEl.getAttribute("locationCode")),
            chEl.getAttribute("code") ?? "",
          ],
          openStart.has(chEl) ? -Infinity : date("startDate", -Infinity),
          date("endDate", Infinity),
          error,
        ));
      }
    }
  }
  return out;
}

/** A channel coordinate as seisplotjs gives it: NaN where it is not a finite number. */
function coordinateValue(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : NaN;
}

/** `v` where |v| <= `limit` (degrees), else NaN. */
function inRange(v: number, limit: number): number {
  return Math.abs(v) <= limit ? v : NaN;
}

/** seisplotjs's stand-in for an absent Azimuth or Dip (its INVALID_NUMBER). */
const SEISPLOTJS_INVALID = -99999;

// deno-lint-ignore no-explicit-any
const orientationValue = (v: any): number =>
  typeof v === "number" && Number.isFinite(v) && v !== SEISPLOTJS_INVALID ? v : NaN;

/** A trivial filter (one coefficient over at most one): a constant gain, no shape. */
const isGain = (num: readonly number[], den: readonly number[]) =>
  num.length <= 1 && den.length <= 1;

/**
 * Expands a StationXML FIR's stored coefficients by its symmetry: `EVEN` stores the
 * first n of 2n taps, `ODD` the first n of 2n − 1 (the last one stored is the centre).
 */
function expandFir(c: readonly number[], symmetry: string): number[] | string {
  const sym = symmetry.toUpperCase();
  if (sym === "NONE") return [...c];
  if (sym === "EVEN") return [...c, ...c.toReversed()];
  if (sym === "ODD") return [...c, ...c.slice(0, -1).toReversed()];
  return `FIR Symmetry '${symmetry}' is not NONE, EVEN or ODD`;
}

/**
 * How far the product of the stage gains may lie from the InstrumentSensitivity (relative):
 * further, one of them is wrong and the level of the data would be off by that much. evalresp
 * (under ObsPy's `remove_response`) warns from 5 % and goes on; we fail the channel beyond 10 %.
 * The 321 ESEC channels agree to 0.52 % (DK.NUUG's horizontals; 0.15 % or less elsewhere).
 */
export const SENSITIVITY_TOLERANCE = 0.1;

/** Whether two unit names say the same: as ground motion (`M/S`, `m/s`), else ignoring case. */
function sameUnits(a: string, b: string): boolean {
  const ga = groundUnits(a), gb = groundUnits(b);
  if (ga && gb) return ga.order === gb.order && ga.scale === gb.scale;
  const norm = (u: string) => String(u).toUpperCase().replaceAll(" ", "");
  return norm(a) === norm(b);
}

/**
 * Converts a seisplotjs Response: the analog poles-and-zeros stages as they are,
 * the digital stages (FIR with its symmetry expanded, Coefficients, DIGITAL
 * (Z-TRANSFORM) poles and zeros) with their Decimation input sample rate. Gain-only
 * stages, and one-coefficient filters, only scale, which the sensitivity covers.
 *
 * The stages must agree with the InstrumentSensitivity, whose value and units are what
 * response removal uses: the first filter stage takes the sensitivity's input units, and the
 * product of the stage gains, each carried to the sensitivity frequency by its own filter's
 * shape (as evalresp does), lies within {@linkcode SENSITIVITY_TOLERANCE} of its value.
 *
 * @returns the response, null when there is no usable InstrumentSensitivity, or
 *   why the stages cannot be evaluated or disagree with the sensitivity.
 */
function toResponse(
  sp: Seisplotjs,
  // deno-lint-ignore no-explicit-any
  r: any,
  source: string,
): InstrumentResponse | null | { error: string } {
  const { CoefficientsFilter, FIR, PolesZeros } = sp.stationxml;
  const sens = r?.instrumentSensitivity;
  if (!sens) return null;
  // A sensitivity that is there but unusable is named as such, not as none.
  if (!Number.isFinite(sens.sensitivity) || sens.sensitivity === 0) {
    return {
      error: `its InstrumentSensitivity Value is ${
        Number.isNaN(sens.sensitivity) ? "not a number" : sens.sensitivity
      }: expected a non-zero number (counts per input unit)`,
    };
  }
  if (!Number.isFinite(sens.frequency) || sens.frequency < 0) {
    return {
      error: `its InstrumentSensitivity Frequency is ${
        Number.isNaN(sens.frequency) ? "not a number" : sens.frequency
      }: expected a frequency >= 0 Hz`,
    };
  }
  const stages: PolesZerosStage[] = [];
  const digital: DigitalStage[] = [];
  const list = r.stages ?? [];
  // The stages as response removal reads them, by index, for the gain check below.
  const shapes = new Map<number, PolesZerosStage | DigitalStage>();
  const keep = <T extends PolesZerosStage | DigitalStage>(to: T[], i: number, x: T) => {
    to.push(x);
    shapes.set(i, x);
  };
  for (let i = 0; i < list.length; i++) {
    const st = list[i];
    const f = st.filter;
    if (!f) continue; // gain only
    const name = `stage ${i + 1} (${
      f instanceof FIR ? "FIR" : f instanceof CoefficientsFilter ? "Coefficients" : "PolesZeros"
    })`;
    // deno-lint-ignore no-explicit-any
    const cx = (v: any): [number, number] => [v.real(), v.imag()];
    const rate = st.decimation?.inputSampleRate;
    const needRate = () =>
      Number.isFinite(rate) && rate > 0 ? null : {
        error: `${name} is a digital filter without a Decimation InputSampleRate` +
          ` (needed to evaluate it): found ${rate ?? "none"}`,
      };
    if (f instanceof PolesZeros) {
      const type = String(f.pzTransferFunctionType).toUpperCase();
      if (type.includes("DIGITAL")) {
        if (f.zeros.length === 0 && f.poles.length === 0) continue;
        const bad = needRate();
        if (bad) return bad;
        keep(digital, i, {
          kind: "polesZeros",
          inputSampleRate: rate,
          zeros: f.zeros.map(cx),
          poles: f.poles.map(cx),
        });
        continue;
      }
      if (!type.includes("LAPLACE")) {
        return {
          error: `${name} has PzTransferFunctionType '${f.pzTransferFunctionType}':` +
            ` expected LAPLACE (RADIANS/SECOND), LAPLACE (HERTZ) or DIGITAL (Z-TRANSFORM)`,
        };
      }
      keep(stages, i, {
        type: type.includes("HERTZ") ? "hertz" : "radians",
        zeros: f.zeros.map(cx),
        poles: f.poles.map(cx),
        normalizationFactor: f.normalizationFactor,
      });
    } else if (f instanceof CoefficientsFilter) {
      const num = f.numerator, den = f.denominator;
      if (isGain(num, den)) continue;
      if (String(f.cfTransferFunction).toUpperCase().includes("ANALOG")) {
        return {
          error: `${name} is an analog Coefficients filter (${f.cfTransferFunction}) with` +
            ` ${num.length} numerator and ${den.length} denominator coefficients: not supported`,
        };
      }
      const bad = needRate();
      if (bad) return bad;
      keep(digital, i, {
        kind: "coefficients",
        inputSampleRate: rate,
        numerator: num,
        denominator: den,
      });
    } else if (f instanceof FIR) {
      const taps = expandFir(f.numerator, String(f.symmetry));
      if (typeof taps === "string") return { error: `${name}: ${taps}` };
      if (isGain(taps, [])) continue;
      const bad = needRate();
      if (bad) return bad;
      keep(digital, i, {
        kind: "coefficients",
        inputSampleRate: rate,
        numerator: taps,
        denominator: [],
      });
    } else {
      return {
        error: `stage ${i + 1} is a filter type that response removal does not know:` +
          ` ${f.constructor?.name}`,
      };
    }
  }
  const disagree = stagesDisagree(list, shapes, sens);
  if (disagree?.units) return { error: disagree.why };
  const out = {
    sensitivity: sens.sensitivity,
    sensitivityFrequency: sens.frequency,
    inputUnits: sens.inputUnits,
    stages,
    digital,
    source,
    // Gains that disagree with the sensitivity: extract decides (preprocess.response.stageCheck).
    ...(disagree ? { disagreement: disagree.why } : {}),
  };
  // The response is scaled to the sensitivity at its frequency: where the stages' |H| is 0 or
  // infinite there (a zero or pole at that frequency, DC for a velocity sensor), the scale is
  // 0 · ∞ and every sample would come out NaN.
  const at = Math.hypot(...evaluateResponse({ ...out, sensitivity: 1 }, sens.frequency));
  if (!(at > 0 && Number.isFinite(at))) {
    return {
      error: `the stages' |H| at the InstrumentSensitivity Frequency ${sens.frequency} Hz is ` +
        `${Number.isNaN(at) ? "0 or infinite" : at} (a zero or pole there), so the sensitivity ` +
        `cannot scale it: expected a Frequency in the passband`,
    };
  }
  return out;
}

/**
 * Why a Response's stages contradict its InstrumentSensitivity, or null where they agree (or
 * there are no stages to check): the first filter stage's input units differ from the
 * sensitivity's (`units`: the response is unusable), or the product of the stage gains at the
 * sensitivity frequency lies further than {@linkcode SENSITIVITY_TOLERANCE} from its value
 * (usable as the sensitivity says, where the user lets it: `stageCheck`).
 */
function stagesDisagree(
  // deno-lint-ignore no-explicit-any
  list: any[],
  shapes: ReadonlyMap<number, PolesZerosStage | DigitalStage>,
  sens: { sensitivity: number; frequency: number; inputUnits: string },
): { why: string; units: boolean } | null {
  const first = list.findIndex((st) => st.filter);
  if (first >= 0) {
    const units = list[first].filter.inputUnits;
    if (typeof units === "string" && !sameUnits(units, sens.inputUnits)) {
      const why = `stage ${first + 1} takes input in ${units} but the InstrumentSensitivity is ` +
        `per ${sens.inputUnits}: expected the same units (the data would be read as the wrong ` +
        `kind of motion)`;
      return { why, units: true };
    }
  }
  if (list.length === 0) return null;
  let product = 1;
  for (let i = 0; i < list.length; i++) {
    const g = list[i].gain;
    if (!g || !Number.isFinite(g.value)) return null;
    let v = g.value;
    const shape = shapes.get(i);
    // A stage's gain holds at its own frequency: carried to the sensitivity's by its shape.
    if (shape && Number.isFinite(g.frequency) && g.frequency !== sens.frequency) {
      const one = { sensitivity: v, sensitivityFrequency: g.frequency, inputUnits: "M" };
      const r = "kind" in shape
        ? { ...one, stages: [], digital: [shape] }
        : { ...one, stages: [shape] };
      v = Math.hypot(...evaluateResponse(r, sens.frequency));
    }
    product *= v;
  }
  if (!Number.isFinite(product)) return null;
  const off = Math.abs(product / sens.sensitivity - 1);
  if (off <= SENSITIVITY_TOLERANCE) return null;
  const pct = (x: number) => Number((100 * x).toPrecision(2));
  const why = `the InstrumentSensitivity Value ${sens.sensitivity} differs from the product of ` +
    `the stage gains at ${sens.frequency} Hz, ${Number(product.toPrecision(6))}, by ${
      pct(off)
    } %: expected them within ${pct(SENSITIVITY_TOLERANCE)} % (one of them is wrong)`;
  return { why, units: false };
}

/**
 * Reads a StationXML file.
 *
 * @param path The file.
 * @returns every channel epoch.
 * @throws {SampleError} ("unreadable") when the file cannot be read, and as
 *   {@linkcode readStationXml}.
 */
export async function readStationXmlFile(path: string): Promise<ChannelEpoch[]> {
  let text: string;
  try {
    text = await readInputText(path);
  } catch (e) {
    throw new SampleError("unreadable", `Cannot read ${path}: ${readFailure(e)}`);
  }
  return await readStationXml(text, path);
}

/**
 * The epochs of channel `id` whose [startDate, endDate) holds `time`, the latest-starting
 * first: at a change of epoch the new one applies, and where epochs overlap (an old one left
 * open when a new one began) the latest start wins.
 *
 * @returns the epochs, or why there are none (`no such channel`, `no channel epoch covers T`).
 */
function epochsAt(
  epochs: readonly ChannelEpoch[],
  id: { network: string; station: string; location: string; channel: string },
  time: number,
): ChannelEpoch[] | string {
  const match = epochs.filter((e) =>
    e.network === id.network && e.station === id.station && e.location === id.location &&
    e.channel === id.channel
  );
  if (match.length === 0) return "no such channel";
  const at = match.filter((e) => e.startDate <= time && time < e.endDate)
    .sort((a, b) => b.startDate - a.startDate);
  if (at.length) return at;
  // Which epochs there are, and why an unreadable one may not be what was meant.
  const iso = (t: number) => (Number.isFinite(t) ? new Date(t).toISOString() : "");
  const listed = match.slice(0, 4).map((e) =>
    `${iso(e.startDate)} .. ${iso(e.endDate)}${e.unreadable ? ` (${e.unreadable})` : ""}`
  );
  return `no channel epoch covers ${new Date(time).toISOString()}: it has ${listed.join(", ")}${
    match.length > 4 ? ` and ${match.length - 4} more` : ""
  }`;
}

/**
 * Where a channel's epochs begin or end strictly inside `(t0, t1)`: the times at which its
 * response (or its instrument) may change within a window.
 *
 * @param epochs Channel epochs of an inventory.
 * @param id The channel's codes.
 * @param t0 Start of the window, ms since 1970 UTC.
 * @param t1 End of it, ms.
 * @returns the times, ms, sorted, each once.
 * @example
 * ```ts
 * import { epochChangesIn } from "./stationxml.ts";
 * const id = { network: "XX", station: "S", location: "", channel: "HHZ" };
 * const e = { ...id, startDate: 0, endDate: 1000 } as Parameters<typeof epochChangesIn>[0][0];
 * const later = { ...e, startDate: 1000, endDate: Infinity };
 * if (epochChangesIn([e, later], id, 500, 1500).join() !== "1000") throw new Error();
 * if (epochChangesIn([e, later], id, 1000, 1500).length !== 0) throw new Error();
 * ```
 */
export function epochChangesIn(
  epochs: readonly ChannelEpoch[],
  id: { network: string; station: string; location: string; channel: string },
  t0: number,
  t1: number,
): number[] {
  const times = new Set<number>();
  for (const e of epochs) {
    if (
      e.network !== id.network || e.station !== id.station || e.location !== id.location ||
      e.channel !== id.channel
    ) continue;
    for (const t of [e.startDate, e.endDate]) if (t > t0 && t < t1) times.add(t);
  }
  return [...times].sort((a, b) => a - b);
}

/** An epoch's span for a message: `START .. END`, `open` for an end (or a start) not given. */
function epochSpan(e: ChannelEpoch): string {
  const iso = (t: number) => (Number.isFinite(t) ? new Date(t).toISOString() : "open");
  return `${iso(e.startDate)} .. ${iso(e.endDate)}`;
}

/**
 * Finds the response of a channel at a time: that of the channel epoch whose [startDate,
 * endDate) holds it, the latest-starting one where epochs overlap (an older epoch left open
 * when the current instrument's began). The latest-starting epoch's response applies even
 * where it has none: an older overlapping epoch's would be another instrument's. One exception:
 * where the latest epoch's stages disagree with its sensitivity
 * ({@linkcode InstrumentResponse.disagreement}), an older overlapping epoch whose stages agree
 * is used.
 *
 * @param epochs Channel epochs of an inventory.
 * @param id The channel's codes.
 * @param time The time, ms since 1970 UTC.
 * @param source File name for messages.
 * @returns the response.
 * @throws {SampleError} ("no response") when no epoch covers the time or the latest-starting
 *   one that does has no Response with an InstrumentSensitivity, naming that epoch; ("bad
 *   response") when its response cannot be evaluated ({@linkcode ChannelEpoch.responseError}).
 */
export function findResponse(
  epochs: readonly ChannelEpoch[],
  id: { network: string; station: string; location: string; channel: string },
  time: number,
  source: string,
): InstrumentResponse {
  const code = `${id.network}.${id.station}.${id.location}.${id.channel}`;
  const at = epochsAt(epochs, id, time);
  if (typeof at === "string") {
    throw new SampleError("no response", `Cannot find response of ${code} in ${source}: ${at}`);
  }
  // The epochs that start latest (several only where a file repeats an epoch): the current one.
  const current = at.filter((e) => e.startDate === at[0].startDate);
  const agrees = (e: ChannelEpoch) => e.response !== null && !e.response.disagreement;
  const r = current.find(agrees)?.response;
  if (r) return r;
  const marked = current.find((e) => e.response !== null)?.response;
  if (marked) return at.find(agrees)?.response ?? marked;
  const bad = current.find((e) => e.responseError !== undefined)?.responseError;
  if (bad !== undefined) {
    throw new SampleError(
      "bad response",
      `Cannot use the response of ${code} in ${source}: ${bad}`,
    );
  }
  const older = at.find((e) => e.response !== null);
  const many = at.length > 1;
  throw new SampleError(
    "no response",
    `Cannot find response of ${code} in ${source}: ${
      many
        ? `its epoch ${epochSpan(current[0])}, the latest-starting of the ${at.length} that ` +
          `cover ${new Date(time).toISOString()}, has`
        : `the channel (epoch ${epochSpan(current[0])}) has`
    } no Response with an InstrumentSensitivity${
      older
        ? ` (the older epoch ${epochSpan(older)} has one, but the latest-starting epoch ` +
          `applies: give it its Response, or end the older one where the newer begins)`
        : ""
    }`,
  );
}

/** Relative difference above which a channel epoch's SampleRate disagrees with the data's. */
export const SAMPLE_RATE_TOLERANCE = 1e-4;

/**
 * A warning where the channel epoch whose response {@linkcode findResponse} gave has a
 * `SampleRate` other than the data's: usually the wrong channel or epoch, whose FIR and
 * decimation stages belong to another rate (its poles and zeros still hold, so the response is
 * removed all the same). A relative difference of up to {@linkcode SAMPLE_RATE_TOLERANCE}
 * passes (an inventory may give 100 Hz as 99.9999). The warning names the file, the channel,
 * the epoch and both rates, not the time, so that a run prints it once per channel and epoch.
 *
 * @param epochs Channel epochs of an inventory.
 * @param response The response {@linkcode findResponse} gave (one of the epochs').
 * @param samplingRate The data's sampling rate, Hz.
 * @param source File name for messages.
 * @returns the warning, or null where the rates agree or the epoch gives no rate.
 */
export function sampleRateWarning(
  epochs: readonly ChannelEpoch[],
  response: InstrumentResponse,
  samplingRate: number,
  source: string,
): string | null {
  const e = epochs.find((e) => e.response === response);
  if (!e || !(e.samplingRate > 0)) return null;
  if (Math.abs(e.samplingRate / samplingRate - 1) <= SAMPLE_RATE_TOLERANCE) return null;
  return `warning: ${e.network}.${e.station}.${e.location}.${e.channel} in ${source}: its ` +
    `channel epoch ${epochSpan(e)} gives a SampleRate of ${e.samplingRate} Hz, but the data ` +
    `are sampled at ${samplingRate} Hz (the wrong channel or epoch? its FIR and decimation ` +
    `stages belong to another rate): its response is removed all the same`;
}

/**
 * A note where a channel's epochs overlap at a time: which two, and which one's response
 * {@linkcode findResponse} gave (the later-starting, or the older where the later-starting
 * one's stages disagree with its sensitivity). It names the file, the channel and the epochs,
 * not the time, so that a run prints it once per channel.
 *
 * @param epochs Channel epochs of an inventory.
 * @param id The channel's codes.
 * @param time The time, ms since 1970 UTC.
 * @param response The response {@linkcode findResponse} gave for it.
 * @param source File name for messages.
 * @returns the note, or null where one epoch (or one repeated) covers the time.
 */
export function epochOverlapNote(
  epochs: readonly ChannelEpoch[],
  id: { network: string; station: string; location: string; channel: string },
  time: number,
  response: InstrumentResponse,
  source: string,
): string | null {
  const at = epochsAt(epochs, id, time);
  if (typeof at === "string") return null;
  const used = at.find((e) => e.response === response) ?? at[0];
  const other = at.find((e) => e.startDate !== used.startDate || e.endDate !== used.endDate);
  if (!other) return null;
  const [later, older] = other.startDate > used.startDate ? [other, used] : [used, other];
  return `note: ${id.network}.${id.station}.${id.location}.${id.channel} in ${source}: its ` +
    `channel epochs ${epochSpan(later)} and ${epochSpan(older)} overlap; where a sample ` +
    `falls in both, the response of ${
      used === later
        ? `the later-starting, ${epochSpan(used)}, is used`
        : `the older, ${epochSpan(used)}, is used (the later-starting one's stages disagree ` +
          `with its InstrumentSensitivity)`
    }`;
}

/** Where a channel is: latitude and longitude (degrees, WGS84) and elevation (m). */
export interface Coordinates {
  latitude: number;
  longitude: number;
  elevation: number;
}

/**
 * The coordinates of a channel at a time, from the channel epoch that holds it (as
 * {@linkcode findResponse}), or null where no epoch covers the time or it has no latitude and
 * longitude (an absent elevation reads as NaN).
 *
 * @param epochs Channel epochs of an inventory.
 * @param id The channel's codes.
 * @param time The time, ms since 1970 UTC.
 * @returns the coordinates, or null.
 */
export function findCoordinates(
  epochs: readonly ChannelEpoch[],
  id: { network: string; station: string; location: string; channel: string },
  time: number,
): Coordinates | null {
  const at = epochsAt(epochs, id, time);
  if (typeof at === "string") return null;
  const e = at.find((x) => Number.isFinite(x.latitude) && Number.isFinite(x.longitude));
  return e ? { latitude: e.latitude, longitude: e.longitude, elevation: e.elevation } : null;
}

/**
 * Finds the orientation of a channel at a time: the Azimuth and Dip of the channel epoch whose
 * [startDate, endDate) holds it, the latest-starting one where epochs overlap (as
 * {@linkcode findResponse}).
 *
 * @param epochs Channel epochs of an inventory.
 * @param id The channel's codes.
 * @param time The time, ms since 1970 UTC.
 * @param source File name for messages.
 * @returns azimuth (degrees clockwise from north) and dip (degrees down from horizontal).
 * @throws {SampleError} ("bad orientation") when no epoch covers the time, or the covering
 *   epoch has no Azimuth or Dip, or a Dip outside [−90, 90].
 */
export function findOrientation(
  epochs: readonly ChannelEpoch[],
  id: { network: string; station: string; location: string; channel: string },
  time: number,
  source: string,
): { azimuth: number; dip: number } {
  const code = `${id.network}.${id.station}.${id.location}.${id.channel}`;
  const at = epochsAt(epochs, id, time);
  if (typeof at === "string") {
    throw new SampleError(
      "bad orientation",
      `Cannot find the orientation of ${code} in ${source}: ${at}`,
    );
  }
  // An epoch that could be read before one that could not (where both hold the time).
  const epoch = at.find((e) => e.unreadable === undefined) ?? at[0];
  if (epoch.unreadable !== undefined) {
    throw new SampleError(
      "bad orientation",
      `Cannot find the orientation of ${code} in ${source}: ${epoch.unreadable}`,
    );
  }
  const { azimuth, dip } = epoch;
  if (!Number.isFinite(azimuth) || !Number.isFinite(dip) || Math.abs(dip) > 90) {
    throw new SampleError(
      "bad orientation",
      `Cannot use the orientation of ${code} in ${source}: expected an Azimuth and a Dip ` +
        `within [-90, 90] degrees: found azimuth ${Number.isNaN(azimuth) ? "none" : azimuth}, ` +
        `dip ${Number.isNaN(dip) ? "none" : dip}`,
    );
  }
  return { azimuth, dip };
}

/** A channel to write with {@linkcode formatStationXml}. */
export interface StationXmlChannel {
  network: string;
  station: string;
  location: string;
  channel: string;
  latitude: number;
  longitude: number;
  elevation: number;
  samplingRate: number;
  /** ISO start of the epoch. */
  startDate: string;
  azimuth: number;
  dip: number;
  /** Omit to write a channel without a Response element. */
  response?: InstrumentResponse;
}

const esc = (s: string) =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll(
    '"',
    "&quot;",
  );

/**
 * Formats FDSN StationXML 1.1 text: one analog poles-and-zeros stage plus a
 * digitizer gain stage per channel.
 *
 * @param channels Channels (grouped by network and station in order of appearance).
 * @returns the XML text.
 */
export function formatStationXml(channels: readonly StationXmlChannel[]): string {
  const lines: string[] = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<FDSNStationXML xmlns="http://www.fdsn.org/xml/station/1" schemaVersion="1.1">`,
    `  <Source>seisdec synth</Source>`,
    `  <Created>${new Date(0).toISOString()}</Created>`,
  ];
  const nets = new Map<string, Map<string, StationXmlChannel[]>>();
  for (const c of channels) {
    if (!nets.has(c.network)) nets.set(c.network, new Map());
    const st = nets.get(c.network)!;
    if (!st.has(c.station)) st.set(c.station, []);
    st.get(c.station)!.push(c);
  }
  for (const [net, stations] of nets) {
    lines.push(`  <Network code="${esc(net)}" startDate="2000-01-01T00:00:00Z">`);
    for (const [sta, chans] of stations) {
      const c0 = chans[0];
      lines.push(
        `    <Station code="${esc(sta)}" startDate="${c0.startDate}">`,
        `      <Latitude>${c0.latitude}</Latitude>`,
        `      <Longitude>${c0.longitude}</Longitude>`,
        `      <Elevation>${c0.elevation}</Elevation>`,
        `      <Site><Name>synthetic</Name></Site>`,
      );
      for (const c of chans) {
        lines.push(
          `      <Channel code="${esc(c.channel)}" locationCode="${
            esc(c.location)
          }" startDate="${c.startDate}">`,
          `        <Latitude>${c.latitude}</Latitude>`,
          `        <Longitude>${c.longitude}</Longitude>`,
          `        <Elevation>${c.elevation}</Elevation>`,
          `        <Depth>0</Depth>`,
          `        <Azimuth>${c.azimuth}</Azimuth>`,
          `        <Dip>${c.dip}</Dip>`,
          `        <SampleRate>${c.samplingRate}</SampleRate>`,
        );
        const r = c.response;
        if (r) {
          const pz = r.stages[0];
          const units = (tag: string, name: string) => `<${tag}><Name>${name}</Name></${tag}>`;
          lines.push(
            `        <Response>`,
            `          <InstrumentSensitivity>`,
            `            <Value>${r.sensitivity}</Value>`,
            `            <Frequency>${r.sensitivityFrequency}</Frequency>`,
            `            ${units("InputUnits", r.inputUnits)}`,
            `            ${units("OutputUnits", "COUNTS")}`,
            `          </InstrumentSensitivity>`,
          );
          if (pz) {
            const cx = (tag: string, v: [number, number], i: number) =>
              `            <${tag} number="${i}"><Real>${v[0]}</Real><Imaginary>${
                v[1]
              }</Imaginary></${tag}>`;
            lines.push(
              `          <Stage number="1">`,
              `            <PolesZeros>`,
              `              ${units("InputUnits", r.inputUnits)}`,
              `              ${units("OutputUnits", "V")}`,
              `              <PzTransferFunctionType>${
                pz.type === "hertz" ? "LAPLACE (HERTZ)" : "LAPLACE (RADIANS/SECOND)"
              }</PzTransferFunctionType>`,
              `              <NormalizationFactor>${pz.normalizationFactor}</NormalizationFactor>`,
              `              <NormalizationFrequency>${r.sensitivityFrequency}</NormalizationFrequency>`,
              ...pz.zeros.map((z, i) => "  " + cx("Zero", z, i)),
              ...pz.poles.map((p, i) => "  " + cx("Pole", p, i)),
              `            </PolesZeros>`,
              `            <StageGain><Value>1</Value><Frequency>${r.sensitivityFrequency}</Frequency></StageGain>`,
              `          </Stage>`,
              `          <Stage number="2">`,
              `            <StageGain><Value>${r.sensitivity}</Value><Frequency>${r.sensitivityFrequency}</Frequency></StageGain>`,
              `          </Stage>`,
            );
          }
          lines.push(`        </Response>`);
        }
        lines.push(`      </Channel>`);
      }
      lines.push(`    </Station>`);
    }
    lines.push(`  </Network>`);
  }
  lines.push(`</FDSNStationXML>`, ``);
  return lines.join("\n");
}
