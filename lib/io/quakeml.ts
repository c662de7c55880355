/**
 * QuakeML 1.2 events and picks, read by npm:seisplotjs (`quakeml.parseQuakeML`),
 * and a small QuakeML writer (text) for the synthetic data set, since seisplotjs
 * has no QuakeML writer.
 *
 * @module
 */
import { collectWarnings, parseXml, seisplotjs, type XmlDoc } from "./_seisplotjs.ts";
import type { XmlElement } from "../deps.ts";
import { SampleError } from "./sample_error.ts";
import type { Seisplotjs } from "../deps.ts";
import { readFailure, readInputText } from "./input_file.ts";
import { YEAR_10000 } from "../util/utc.ts";

/** A phase pick. */
export interface PhasePick {
  /** Public id of the pick. */
  pickId: string;
  /** Public id of the event the pick belongs to. */
  eventId: string;
  /** QuakeML event type (e.g. `earthquake`, `quarry blast`), "" when absent. */
  eventType: string;
  /** SEED network code. */
  network: string;
  /** SEED station code. */
  station: string;
  /** SEED location code. */
  location: string;
  /** SEED channel code. */
  channel: string;
  /** Phase hint, e.g. `P`; without one, the phase of the preferred origin's arrival. */
  phase: string;
  /** Pick time, ms since 1970 UTC. */
  time: number;
  /** Whether an arrival of the event's preferred origin uses this pick. */
  inOrigin: boolean;
}

/** A pick whose time could not be read, kept so that messages can name it. */
export interface BadPick {
  /** Public id of the pick. */
  pickId: string;
  /** Public id of the event the pick belongs to. */
  eventId: string;
  /** QuakeML event type, as in {@linkcode PhasePick}. */
  eventType: string;
  /** SEED network code. */
  network: string;
  /** SEED station code. */
  station: string;
  /** SEED location code. */
  location: string;
  /** SEED channel code. */
  channel: string;
  /** Phase, as in {@linkcode PhasePick}. */
  phase: string;
  /** The pick's time as the file writes it ("" when it has none). */
  text: string;
  /** Why the time is unusable: a leap second, or luxon's explanation. */
  why: string;
}

/**
 * A leap second: `23:59:60` (with any fraction). seisdec's times are milliseconds of UTC
 * without leap seconds (POSIX time, as JavaScript's Date, seisplotjs's luxon and miniSEED
 * readers use), which have no place for it: 23:59:60.5 would have to become 23:59:59.5 or
 * 00:00:00.5, a second apart. ObsPy's UTCDateTime refuses it too.
 */
const LEAP_SECOND = /T?\d{2}:?\d{2}:?60(\.\d*)?(Z|[+-]\d{2}(:?\d{2})?)?$/;

/** The text of every pick's `<time><value>`, by public id (for messages about bad ones). */
function pickTimeTexts(doc: XmlDoc): Map<string, string> {
  const out = new Map<string, string>();
  const picks = doc.getElementsByTagNameNS("*", "pick");
  for (let i = 0; i < picks.length; i++) {
    const p = picks[i];
    const time = Array.from(p.childNodes).find((n) =>
      n.nodeType === 1 && (n as unknown as { localName: string }).localName === "time"
    ) as unknown as XmlDoc["documentElement"] | undefined;
    const value = time?.getElementsByTagNameNS("*", "value")[0];
    out.set(p.getAttribute("publicID") ?? "", (value?.textContent ?? "").trim());
  }
  return out;
}

/** A time's digits below the millisecond: `…:SS.mmm` then these. */
const SUB_MS = /:\d{2}[.,]\d{3}(\d+)/;

/** An event's preferred (or first) origin. */
export interface EventOrigin {
  /** Public id of the event. */
  eventId: string;
  /** QuakeML event type (e.g. `earthquake`), "" when absent. */
  eventType: string;
  /** Origin time, ms since 1970 UTC. */
  time: number;
  /** Latitude, degrees. */
  latitude: number;
  /** Longitude, degrees. */
  longitude: number;
  /** Depth, m. */
  depth: number;
}

/**
 * Parses QuakeML text.
 *
 * @param text XML text.
 * @param source File name for messages.
 * @returns every pick with a valid time, every event's origin, and the picks whose time is
 *   not a valid date (`badPicks`, left out of `picks`). A location code `--` reads as "". An
 *   event that cannot be read is left out (`skipped`), with a warning naming it.
 * @throws {SampleError} ("unreadable") for XML that is not QuakeML.
 */
export async function readQuakeMl(
  text: string,
  source: string,
): Promise<QuakeMlContents> {
  let doc: XmlDoc;
  try {
    doc = parseXml(text, source);
  } catch (e) {
    throw new SampleError("unreadable", (e as Error).message);
  }
  if (doc.documentElement?.localName !== "quakeml") {
    throw new SampleError(
      "unreadable",
      `Cannot read ${source}: expected a QuakeML document: found root element <${doc.documentElement?.localName}>`,
    );
  }
  const sp = await seisplotjs();
  // seisplotjs reads events in the QuakeML 1.2 BED namespace only: in another (or none), it
  // finds none, and every sample would fail as having no P pick without saying why.
  const bed = sp.quakeml.BED_NS;
  const anyEvents = doc.getElementsByTagNameNS("*", "event");
  if (anyEvents.length > 0 && doc.getElementsByTagNameNS(bed, "event").length === 0) {
    const found = anyEvents[0].namespaceURI;
    throw new SampleError(
      "unreadable",
      `Cannot read ${source}: it holds no events in the QuakeML 1.2 namespace ${bed}: its ` +
        `events are in ${found ? `the namespace ${found}` : "no namespace"}: expected ` +
        `<eventParameters xmlns="${bed}">`,
    );
  }
  // Picks seisplotjs cannot read (no time, no waveformID) would take their whole event with
  // them: each is left out on its own, counted, and named in one warning.
  const leftOutPicks = leaveOutUnreadablePicks(doc, bed);
  if (leftOutPicks.length) console.error(leftOutWarning(source, leftOutPicks));
  // deno-lint-ignore no-explicit-any
  let events: any[] = [];
  const skipped: { eventId: string; why: string }[] = [];
  // seisplotjs's own warnings (a pick without its publicID) are said once each, with the file.
  const { warnings } = collectWarnings(() => readEvents());
  for (const w of warnings.keys()) console.error(`warning: ${source}: ${w}`);
  function readEvents(): void {
    try {
      events = sp.quakeml.parseQuakeML(doc as never).eventList;
    } catch (e) {
      // seisplotjs refuses the whole catalogue for one event it cannot read: read it event by
      // event, so that only that event is left out (with a warning naming it).
      const read = eventByEvent(sp, doc);
      if (read === null) {
        throw new SampleError(
          "unreadable",
          `Cannot read ${source}: invalid QuakeML: ${(e as Error).message}`,
        );
      }
      events = read.events;
      for (const s of read.skipped) {
        console.error(`warning: ${source}: leaving out event ${s.eventId}: ${s.why}`);
        skipped.push(s);
      }
    }
  }
  const picks: PhasePick[] = [];
  const badPicks: BadPick[] = [];
  let timeTexts: Map<string, string> | null = null;
  const origins: EventOrigin[] = [];
  for (const q of events) {
    const eventId = q.publicId ?? "";
    const eventType = q.type ?? "";
    const o = q.preferredOrigin ?? q.originList?.[0];
    // The preferred origin's arrivals: which picks it uses, and their phase names.
    const arrivalPhase = new Map<string, string>();
    for (const a of o?.arrivalList ?? []) {
      if (a.pick?.publicId) arrivalPhase.set(a.pick.publicId, a.phase ?? "");
    }
    for (const p of q.pickList ?? []) {
      // A pick its analyst or the system rejected is no arrival of anything.
      if (p.evaluationStatus === "rejected") continue;
      // The waveform id's own fields: seisplotjs's Pick getters stand in "--" and "---" for
      // absent location and channel codes.
      const w = p.waveformID ?? {};
      const location = (w.locationCode ?? "").trim();
      const pickId = p.publicId ?? "";
      const pick: PhasePick = {
        pickId,
        eventId,
        eventType,
        network: w.networkCode ?? "",
        station: w.stationCode ?? "",
        location: location === "--" ? "" : location,
        channel: w.channelCode ?? "",
        phase: p.phaseHint || arrivalPhase.get(pickId) || "",
        time: p.time?.toMillis?.() ?? NaN,
        inOrigin: arrivalPhase.has(pickId),
      };
      // A time past the year 9999 (+010000-01-01, or 9999-12-31T23:30-01:00) is a bad pick too:
      // samples.csv cannot write it.
      const past = pick.time >= YEAR_10000;
      if (Number.isFinite(pick.time) && !past) {
        // luxon reads the time to the millisecond (truncated): the digits below it, which
        // microseismic picks at kHz rates carry, are added from the text.
        timeTexts ??= pickTimeTexts(doc);
        const sub = SUB_MS.exec(timeTexts.get(pickId) ?? "");
        if (sub) pick.time += Math.round(Number(`0.${sub[1]}`) * 1e3) / 1e3;
        picks.push(pick);
      } else {
        timeTexts ??= pickTimeTexts(doc);
        const text = timeTexts.get(pickId) ?? "";
        const why = LEAP_SECOND.test(text)
          ? "second 60 is a leap second, which seisdec's times (UTC without leap seconds, as " +
            "in seisplotjs and ObsPy) cannot hold: give the pick as 23:59:59.999 or " +
            "00:00:00 of the next day"
          : past
          ? "it falls past the year 9999 (UTC), which samples.csv cannot write"
          : text === ""
          ? "it has no time"
          : p.time?.invalidExplanation ?? "not a time";
        const { network, station, location, channel, phase } = pick;
        badPicks.push({
          pickId,
          eventId,
          eventType,
          network,
          station,
          location,
          channel,
          phase,
          text,
          why,
        });
      }
    }
    if (o) {
      origins.push({
        eventId,
        eventType,
        time: o.time.toMillis(),
        latitude: o.latitude,
        longitude: o.longitude,
        depth: o.depth,
      });
    }
  }
  return { picks, badPicks, origins, skipped, leftOutPicks };
}

/** Why a pick was left out before its catalogue was read ({@linkcode LeftOutPick}). */
export type LeftOutWhy = "no time" | "no waveformID";

/** A pick left out because it has no time or no waveformID, which a sample needs both. */
export interface LeftOutPick {
  /** Public id of the pick ("" without one). */
  pickId: string;
  /** Public id of its event ("" without one). */
  eventId: string;
  /** `no time`: no `<time><value>`; `no waveformID`: none, or one without network or station. */
  why: LeftOutWhy;
}

/** The first element below `el` (itself excluded) named `name`, in the BED namespace. */
function firstNamed(el: XmlElement, ns: string, name: string): XmlElement | undefined {
  return el.getElementsByTagNameNS(ns, name)[0] as XmlElement | undefined;
}

/**
 * Removes from the document every event's pick that has no time (no `<time><value>` text) or no
 * waveformID (none, or one without a network or station code), and the arrivals that refer to
 * it: seisplotjs refuses the whole event for such a pick, its other picks and its origin
 * included. A pick whose time is there but no date stays, for `badPicks` to name.
 *
 * @param doc The QuakeML document (changed in place).
 * @param ns The QuakeML 1.2 BED namespace.
 * @returns the picks removed, in document order.
 */
function leaveOutUnreadablePicks(doc: XmlDoc, ns: string): LeftOutPick[] {
  const out: LeftOutPick[] = [];
  for (const ev of Array.from(doc.getElementsByTagNameNS(ns, "event")) as XmlElement[]) {
    const gone = new Set<string>();
    const picks = (Array.from(ev.childNodes) as XmlElement[]).filter((n) =>
      n.nodeType === 1 && n.localName === "pick" && n.namespaceURI === ns
    );
    for (const p of picks) {
      const value = firstNamed(p, ns, "time") &&
        firstNamed(firstNamed(p, ns, "time")!, ns, "value");
      const w = firstNamed(p, ns, "waveformID");
      const why: LeftOutWhy | null = !(value?.textContent ?? "").trim()
        ? "no time"
        : !w?.getAttribute("networkCode") || !w.getAttribute("stationCode")
        ? "no waveformID"
        : null;
      if (why === null) continue;
      const pickId = p.getAttribute("publicID") ?? "";
      out.push({ pickId, eventId: ev.getAttribute("publicID") ?? "", why });
      gone.add(pickId);
      ev.removeChild(p);
    }
    if (gone.size === 0) continue;
    // An arrival of a pick no longer there would make seisplotjs refuse the origin.
    for (const a of Array.from(ev.getElementsByTagNameNS(ns, "arrival")) as XmlElement[]) {
      const id = (firstNamed(a, ns, "pickID")?.textContent ?? "").trim();
      if (gone.has(id)) a.parentNode?.removeChild(a);
    }
  }
  return out;
}

/**
 * The warning that names the picks {@linkcode leaveOutUnreadablePicks} left out: how many, why,
 * and the first of each.
 *
 * @param source The file.
 * @param picks The picks left out.
 * @returns one line.
 */
export function leftOutWarning(source: string, picks: readonly LeftOutPick[]): string {
  const parts: string[] = [];
  for (
    const [why, what] of [
      ["no time", "without a time (<time><value>)"],
      ["no waveformID", "without a waveformID (with network and station codes)"],
    ] as const
  ) {
    const these = picks.filter((p) => p.why === why);
    if (!these.length) continue;
    const first = these[0].pickId || `a pick of event ${these[0].eventId || "(no id)"}`;
    parts.push(`${these.length} ${what}, e.g. ${first}`);
  }
  return `warning: ${source}: left out ${picks.length} pick(s) that cannot make a sample: ` +
    `${parts.join("; ")}; their events' other picks are read`;
}

/**
 * Reads a catalogue's events one at a time (seisplotjs's `Quake.createFromXml`), for one whose
 * whole parse failed: an event it cannot read is left out, with why, naming its pick or origin
 * where one of them is what it could not read.
 *
 * @returns the events read and those left out; null where the failure is not an event's (no
 *   single eventParameters, or no event failed on its own).
 */
function eventByEvent(
  sp: Seisplotjs,
  doc: XmlDoc,
  // deno-lint-ignore no-explicit-any
): { events: any[]; skipped: { eventId: string; why: string }[] } | null {
  const q = sp.quakeml;
  const params = doc.documentElement?.getElementsByTagName("eventParameters");
  if (!params || params.length !== 1) return null;
  const message = (e: unknown) => (e as Error)?.message ?? String(e);
  const id = (el: { getAttribute(name: string): string | null }) =>
    el.getAttribute("publicID") || "(no publicID)";
  // deno-lint-ignore no-explicit-any
  const events: any[] = [];
  const skipped: { eventId: string; why: string }[] = [];
  for (const ev of Array.from(params[0].getElementsByTagNameNS(q.BED_NS, "event"))) {
    try {
      events.push(q.Quake.createFromXml(ev as never));
      continue;
    } catch (e) {
      // Which of its parts: a pick, else an origin (read with the picks it refers to).
      let why = message(e);
      // deno-lint-ignore no-explicit-any
      const picks: any[] = [];
      let found = false;
      for (const p of Array.from(ev.getElementsByTagNameNS(q.BED_NS, "pick"))) {
        try {
          picks.push(q.Pick.createFromXml(p as never));
        } catch (pe) {
          why = `its pick ${id(p)} cannot be read: ${message(pe)}`;
          found = true;
          break;
        }
      }
      for (const o of found ? [] : Array.from(ev.getElementsByTagNameNS(q.BED_NS, "origin"))) {
        try {
          q.Origin.createFromXml(o as never, picks);
        } catch (oe) {
          why = `its origin ${id(o)} cannot be read: ${message(oe)}`;
          break;
        }
      }
      skipped.push({ eventId: id(ev), why });
    }
  }
  return skipped.length ? { events, skipped } : null;
}

/** What {@linkcode readQuakeMl} reads. */
export interface QuakeMlContents {
  /** Picks with a usable time. */
  picks: PhasePick[];
  /** Picks whose time could not be read. */
  badPicks: BadPick[];
  /** The events' preferred (or first) origins. */
  origins: EventOrigin[];
  /**
   * Events left out because seisplotjs cannot read them (an origin without its time, ...), with
   * why; each is also named in a warning on stderr.
   */
  skipped: { eventId: string; why: string }[];
  /**
   * Picks left out on their own, without a time or a waveformID (their events' other picks are
   * read); counted in one warning on stderr ({@linkcode leftOutWarning}).
   */
  leftOutPicks: LeftOutPick[];
}

/**
 * Reads a QuakeML file.
 *
 * @param path The file.
 * @returns every pick and origin.
 */
export async function readQuakeMlFile(path: string): Promise<QuakeMlContents> {
  let text: string;
  try {
    text = await readInputText(path);
  } catch (e) {
    throw new SampleError("unreadable", `Cannot read ${path}: ${readFailure(e)}`);
  }
  return await readQuakeMl(text, path);
}

/** An event to write with {@linkcode formatQuakeMl}. */
export interface QuakeMlEvent {
  /** Short id; public ids are built as `smi:seisdec/<kind>/<id>`. */
  id: string;
  /** QuakeML event type (`earthquake`, `quarry blast`, ...), or null: none written. */
  type: string | null;
  /** The origin, or null: none (a detection not located). */
  origin: { time: number; latitude: number; longitude: number; depth: number } | null;
  magnitude?: number;
  /** The picks' evaluation mode (default `manual`). */
  mode?: "manual" | "automatic";
  /** A comment on the event (e.g. its cluster), or none. */
  comment?: string;
  /**
   * Machine-readable fields in seisdec's namespace ({@linkcode SEISDEC_XMLNS}), written as
   * `<seisdec:NAME>value</seisdec:NAME>` children of the event (ObsPy reads them into the
   * event's `extra`), e.g. the cluster and the agreement of its vote.
   */
  extra?: Record<string, string | number>;
  picks: {
    network: string;
    station: string;
    location: string;
    channel: string;
    /** Phase hint, e.g. `P`; "" writes none (a time that is not a phase arrival). */
    phase: string;
    time: number;
  }[];
}

/**
 * A time as ISO 8601 UTC: to the millisecond, as `toISOString` writes it, or to the microsecond
 * where it has a part below the millisecond (a microseismic pick's; `toISOString` truncated it,
 * so samples.csv's `reference_time` lost what a manifest or a QuakeML pick had given).
 *
 * @param ms ms since 1970 UTC.
 * @returns e.g. `2024-01-01T00:00:01.457Z` or `2024-01-01T00:00:01.457481Z`.
 * @example
 * ```ts
 * import { isoExact } from "./quakeml.ts";
 * if (isoExact(Date.UTC(2024, 0, 1) + 0.25) !== "2024-01-01T00:00:00.000250Z") throw new Error();
 * ```
 */
export function isoExact(ms: number): string {
  const whole = Math.floor(ms);
  const us = Math.round((ms - whole) * 1000);
  if (us === 1000) return new Date(whole + 1).toISOString();
  const base = new Date(whole).toISOString();
  return us === 0 ? base : `${base.slice(0, -1)}${String(us).padStart(3, "0")}Z`;
}

/** Times in events.xml: to the microsecond where they have a part below the millisecond. */
const iso = isoExact;

/** The XML namespace of seisdec's fields in QuakeML ({@linkcode QuakeMlEvent.extra}). */
export const SEISDEC_XMLNS = "https://github.com/seisdec/seisdec/xmlns/1.0";

/** Characters XML 1.0 allows in no form: controls (tab, newline and return aside), U+FFFE, U+FFFF. */
// deno-lint-ignore no-control-regex
const XML_FORBIDDEN = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g;

/**
 * Text as XML character data or an attribute value: `&`, `<`, `>`, `"` and `'` escaped, and the
 * control characters XML 1.0 forbids even as references made U+FFFD. Codes,
 * phases and ids come from the input files (a miniSEED 3 source id or a QuakeML attribute may
 * hold any character), so every value is escaped, not only free text.
 */
function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&apos;").replace(XML_FORBIDDEN, "\ufffd");
}

/**
 * Formats QuakeML 1.2 text with one origin (or none), an optional magnitude (with an origin) and
 * picks per event.
 *
 * @param events The events.
 * @returns the XML text.
 */
export function formatQuakeMl(events: readonly QuakeMlEvent[]): string {
  const l: string[] = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<q:quakeml xmlns="http://quakeml.org/xmlns/bed/1.2" xmlns:q="http://quakeml.org/xmlns/quakeml/1.2"${
      events.some((e) => e.extra) ? ` xmlns:seisdec="${SEISDEC_XMLNS}"` : ""
    }>`,
    `  <eventParameters publicID="smi:seisdec/eventParameters">`,
  ];
  for (const e of events) {
    const id = escapeXml(e.id);
    const oid = `smi:seisdec/origin/${id}`;
    l.push(`    <event publicID="smi:seisdec/event/${id}">`);
    if (e.origin) l.push(`      <preferredOriginID>${oid}</preferredOriginID>`);
    if (e.type !== null) l.push(`      <type>${escapeXml(e.type)}</type>`);
    if (e.origin) {
      l.push(
        `      <origin publicID="${oid}">`,
        `        <time><value>${iso(e.origin.time)}</value></time>`,
        `        <latitude><value>${e.origin.latitude}</value></latitude>`,
        `        <longitude><value>${e.origin.longitude}</value></longitude>`,
        `        <depth><value>${e.origin.depth}</value></depth>`,
        `      </origin>`,
      );
    }
    if (e.magnitude !== undefined && e.origin) {
      l.push(
        `      <magnitude publicID="smi:seisdec/magnitude/${id}">`,
        `        <mag><value>${e.magnitude.toFixed(2)}</value></mag>`,
        `        <type>ML</type>`,
        `        <originID>${oid}</originID>`,
        `      </magnitude>`,
      );
    }
    if (e.comment !== undefined) {
      l.push(`      <comment><text>${escapeXml(e.comment)}</text></comment>`);
    }
    l.push(`      <creationInfo><author>seisdec</author></creationInfo>`);
    for (const [k, v] of Object.entries(e.extra ?? {})) {
      l.push(`      <seisdec:${k}>${escapeXml(String(v))}</seisdec:${k}>`);
    }
    e.picks.forEach((p, i) => {
      l.push(
        `      <pick publicID="smi:seisdec/pick/${id}/${i}">`,
        `        <time><value>${iso(p.time)}</value></time>`,
        `        <waveformID networkCode="${escapeXml(p.network)}" stationCode="${
          escapeXml(p.station)
        }" locationCode="${escapeXml(p.location)}" channelCode="${escapeXml(p.channel)}"/>`,
        ...(p.phase ? [`        <phaseHint>${escapeXml(p.phase)}</phaseHint>`] : []),
        `        <evaluationMode>${escapeXml(e.mode ?? "manual")}</evaluationMode>`,
        `      </pick>`,
      );
    });
    l.push(`    </event>`);
  }
  l.push(`  </eventParameters>`, `</q:quakeml>`, ``);
  return l.join("\n");
}
