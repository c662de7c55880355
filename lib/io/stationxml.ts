/**
 * FDSN StationXML reading by npm:seisplotjs (`stationxml.parseStationXml`),
 * reduced to what response removal needs, and a small StationXML writer (text)
 * for the synthetic data set, since seisplotjs has no StationXML writer.
 *
 * @module
 */
import { parseXml, seisplotjs, type XmlDoc } from "./_seisplotjs.ts";
import { SampleError } from "./sample_error.ts";
import type { InstrumentResponse, PolesZerosStage } from "../signal/response.ts";

/** One channel epoch of an inventory. */
export interface ChannelEpoch {
  network: string;
  station: string;
  location: string;
  channel: string;
  /** Epoch start, ms since 1970 UTC. */
  startDate: number;
  /** Epoch end, ms since 1970 UTC; Infinity when open. */
  endDate: number;
  samplingRate: number;
  /** The response, or null when the channel has none (or no sensitivity). */
  response: InstrumentResponse | null;
}

/**
 * Parses StationXML text.
 *
 * @param text XML text.
 * @param source File name for messages.
 * @returns every channel epoch.
 * @throws {SampleError} ("bad response") for XML that is not FDSN StationXML or
 *   that seisplotjs cannot parse.
 */
export async function readStationXml(text: string, source: string): Promise<ChannelEpoch[]> {
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
  // deno-lint-ignore no-explicit-any
  let networks: any[];
  try {
    networks = sp.stationxml.parseStationXml(doc as never);
  } catch (e) {
    throw new SampleError(
      "bad response",
      `Cannot read ${source}: invalid StationXML: ${(e as Error).message}`,
    );
  }
  const out: ChannelEpoch[] = [];
  for (const ch of sp.stationxml.allChannels(networks)) {
    out.push({
      network: ch.networkCode,
      station: ch.stationCode,
      location: ch.locationCode ?? "",
      channel: ch.channelCode,
      startDate: ch.startDate.toMillis(),
      endDate: ch.endDate ? ch.endDate.toMillis() : Infinity,
      samplingRate: ch.sampleRate,
      response: toResponse(ch.response),
    });
  }
  return out;
}

// deno-lint-ignore no-explicit-any
function toResponse(r: any): InstrumentResponse | null {
  const sens = r?.instrumentSensitivity;
  if (!sens || !Number.isFinite(sens.sensitivity) || sens.sensitivity === 0) return null;
  const stages: PolesZerosStage[] = [];
  for (const st of r.stages ?? []) {
    const f = st.filter;
    if (!f || !Array.isArray(f.poles)) continue;
    const type = String(f.pzTransferFunctionType).toUpperCase();
    if (type.includes("DIGITAL")) continue;
    stages.push({
      type: type.includes("HERTZ") ? "hertz" : "radians",
      // deno-lint-ignore no-explicit-any
      zeros: f.zeros.map((z: any) => [z.real(), z.imag()]),
      // deno-lint-ignore no-explicit-any
      poles: f.poles.map((p: any) => [p.real(), p.imag()]),
      normalizationFactor: f.normalizationFactor,
    });
  }
  return {
    sensitivity: sens.sensitivity,
    sensitivityFrequency: sens.frequency,
    inputUnits: sens.inputUnits,
    stages,
  };
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
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new SampleError("unreadable", `Cannot read ${path}: ${(e as Error).message}`);
  }
  return await readStationXml(text, path);
}

/**
 * Finds the response of a channel at a time.
 *
 * @param epochs Channel epochs of an inventory.
 * @param id The channel's codes.
 * @param time The time, ms since 1970 UTC.
 * @param source File name for messages.
 * @returns the response.
 * @throws {SampleError} ("no response") when no epoch with a response covers the time.
 */
export function findResponse(
  epochs: readonly ChannelEpoch[],
  id: { network: string; station: string; location: string; channel: string },
  time: number,
  source: string,
): InstrumentResponse {
  const code = `${id.network}.${id.station}.${id.location}.${id.channel}`;
  const match = epochs.filter((e) =>
    e.network === id.network && e.station === id.station && e.location === id.location &&
    e.channel === id.channel
  );
  if (match.length === 0) {
    throw new SampleError(
      "no response",
      `Cannot find response of ${code} in ${source}: no such channel`,
    );
  }
  const at = match.filter((e) => e.startDate <= time && time <= e.endDate);
  if (at.length === 0) {
    throw new SampleError(
      "no response",
      `Cannot find response of ${code} in ${source}: no channel epoch covers ${
        new Date(time).toISOString()
      }`,
    );
  }
  const r = at.find((e) => e.response !== null)?.response;
  if (!r) {
    throw new SampleError(
      "no response",
      `Cannot find response of ${code} in ${source}: the channel has no Response with an InstrumentSensitivity`,
    );
  }
  return r;
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
