import { assert, assertEquals, assertRejects } from "../_assert.ts";
import {
  formatStationXml,
  readStationXml,
  type StationXmlChannel,
} from "../../lib/io/stationxml.ts";
import { splitStationXml } from "../../lib/io/_stationxml_split.ts";
import { SampleError } from "../../lib/io/sample_error.ts";

const ESEC = new URL("../../../shared/data/esec_massmovements/", import.meta.url).pathname;

/**
 * The 107 ESEC station files (one station each) as one inventory: the first file's root, then
 * one network per code holding its stations, in file order.
 */
async function esecInventory(): Promise<string> {
  let head = "";
  const networks = new Map<string, { start: string; stations: string[] }>();
  for (const ev of [...Deno.readDirSync(`${ESEC}stations`)].map((e) => e.name).sort()) {
    for (const f of [...Deno.readDirSync(`${ESEC}stations/${ev}`)].map((e) => e.name).sort()) {
      const text = await Deno.readTextFile(`${ESEC}stations/${ev}/${f}`);
      const n = text.indexOf("<Network"), a = text.indexOf("<Station");
      const b = text.lastIndexOf("</Station>") + "</Station>".length;
      assert(n > 0 && a > n && b > a, f);
      head ||= text.slice(0, n);
      const code = f.split(".")[0];
      const net = networks.get(code) ?? { start: text.slice(n, a), stations: [] };
      net.stations.push(text.slice(a, b));
      networks.set(code, net);
    }
  }
  const body = [...networks.values()].map((n) => n.start + n.stations.join("\n") + "</Network>");
  return head + body.join("\n") + "\n</FDSNStationXML>\n";
}

const count = (text: string, s: string) => text.split(s).length - 1;

Deno.test("a StationXML inventory parsed a few stations at a time gives the whole document's epochs, in order", async () => {
  const text = await esecInventory();
  const stations = count(text, "<Station ");
  assertEquals(stations, 107);
  const whole = await readStationXml(text, "esec.xml", { pieceChars: Infinity });
  assertEquals(whole.length, 321);
  // One station a piece, then a few: the same epochs (responses included), in the same order.
  assertEquals(splitStationXml(text, 1)!.length, stations);
  const few = splitStationXml(text, 60_000)!;
  assert(few.length > 1 && few.length < stations, `${few.length} pieces`);
  for (const pieceChars of [1, 60_000]) {
    assertEquals(await readStationXml(text, "esec.xml", { pieceChars }), whole, `${pieceChars}`);
  }
});

/** Two SY stations and one XX station, vertical channels without responses. */
function channels(): StationXmlChannel[] {
  const ch = (network: string, station: string): StationXmlChannel => ({
    network,
    station,
    location: "00",
    channel: "HHZ",
    latitude: 1,
    longitude: 2,
    elevation: 3,
    samplingRate: 100,
    startDate: "2020-01-01T00:00:00Z",
    azimuth: 0,
    dip: -90,
  });
  return [ch("SY", "A"), ch("SY", "B"), ch("XX", "C")];
}

Deno.test("splitStationXml keeps prefixes, comments, CDATA, quoted '>' and empty elements in their place", async () => {
  const plain = formatStationXml(channels());
  // Every name prefixed (the namespace declared on the root as s:, and again on a network as
  // t:), a comment and a CDATA section that look like tags, '>' in an attribute value, an
  // empty network and an empty station.
  const text = plain
    .replace(/<(\/?)([A-Z][A-Za-z]*)/g, "<$1s:$2")
    .replace('xmlns="', 'xmlns:s="')
    .replace(
      '<s:Network code="SY"',
      '<s:Network code="EMPTY" startDate="2000-01-01T00:00:00Z"/>\n' +
        '  <!-- <s:Station code="FAKE"> </s:Network> -->\n  <s:Network code="SY"',
    )
    .replace(
      '<s:Station code="B"',
      '<s:Station code="E" startDate="2020-01-01T00:00:00Z"/>\n    <s:Station code="B"',
    )
    .replace(
      /<s:Network code="XX"([^>]*)>/,
      '<s:Network code="XX"$1 xmlns:t="http://www.fdsn.org/xml/station/1">' +
        "<s:Description><![CDATA[</s:Network> <s:Station>]]></s:Description>",
    )
    .replace('<s:Station code="C"', '<t:Station alternateCode="a>b" code="C"')
    .replace(/<\/s:Station>(\s*<\/s:Network>\s*<\/s:FDSNStationXML>)/, "</t:Station>$1");
  assert(text.includes('<t:Station alternateCode="a>b"') && text.includes("</t:Station>"), text);
  const whole = await readStationXml(text, "odd.xml", { pieceChars: Infinity });
  assertEquals(whole.map((e) => `${e.network}.${e.station}`), ["SY.A", "SY.B", "XX.C"]);
  const pieces = splitStationXml(text, 1)!;
  // A, E (empty), B, C: one piece each, and nothing of the comment's fake station.
  assertEquals(pieces.length, 4);
  assert(pieces.every((p) => p.startsWith("<s:FDSNStationXML") && !p.includes("FAKE")));
  // Each closed with its network's and root's own (prefixed) names.
  assert(pieces.every((p) => p.endsWith("</s:Network></s:FDSNStationXML>")), pieces.join("\n"));
  assert(pieces[3].includes("xmlns:t=") && pieces[3].includes("CDATA["), pieces[3]);
  assertEquals(await readStationXml(text, "odd.xml", { pieceChars: 1 }), whole);
  // Pieces end when they reach the size: A and E together, then B, then C (another network).
  const aLen = text.indexOf("</s:Station>") + "</s:Station>".length -
    text.indexOf('<s:Station code="A"');
  assertEquals(splitStationXml(text, aLen + 10)!.length, 3);
  // A piece that reaches the size exactly ends there: A alone, E then starts the next.
  const exact = splitStationXml(text, aLen)!;
  assert(exact[0].includes('code="A"') && !exact[0].includes('code="E"'), exact[0]);
  assert(exact[1].includes('code="E"'), exact[1]);
});

Deno.test("splitStationXml leaves to the parser what it does not expect, and errors are the whole document's", async () => {
  const plain = formatStationXml(channels());
  const bad: Record<string, string> = {
    "internal DTD subset": plain.replace(
      "<FDSNStationXML",
      '<!DOCTYPE FDSNStationXML [<!ENTITY n "SY">]>\n<FDSNStationXML',
    ),
    "tags that do not nest": plain.replace("</Latitude>", "</Longitude>"),
    "unterminated comment": plain.replace("<Source>", "<!-- <Source>"),
    "unterminated tag": plain.replace("</FDSNStationXML>", "</FDSNStationXML"),
    "another root": plain.replaceAll("FDSNStationXML", "StationList"),
    "two roots": plain + "<FDSNStationXML/>",
    "two whole roots": plain + "<FDSNStationXML></FDSNStationXML>",
    "a root never closed": plain.replace("</FDSNStationXML>", ""),
  };
  for (const [what, text] of Object.entries(bad)) {
    assertEquals(splitStationXml(text, 1), null, what);
  }
  // A '>' in single quotes is inside the value, as in double quotes: the empty station stays
  // empty (ended at the '>' there, it would never close and the split would give up).
  const single = plain.replace(
    '<Station code="B"',
    `<Station code="E" alternateCode='a>b'/><Station code="B"`,
  );
  assertEquals(splitStationXml(single, 1)!.length, 4);
  // A DOCTYPE without a subset is skipped.
  const doctype = plain.replace("<FDSNStationXML", "<!DOCTYPE FDSNStationXML>\n<FDSNStationXML");
  assertEquals(splitStationXml(doctype, 1)!.length, 3);
  // A station seisplotjs rejects (one without its code): its channels are read as unreadable,
  // the others as usual, the same in pieces as whole.
  const noCode = plain.replace('<Station code="B"', "<Station");
  assertEquals(splitStationXml(noCode, 1)!.length, 3);
  const whole = await readStationXml(noCode, "nocode.xml", { pieceChars: Infinity });
  assertEquals(await readStationXml(noCode, "nocode.xml", { pieceChars: 1 }), whole);
  const unreadable = whole.filter((e) => e.unreadable !== undefined);
  assert(unreadable.length > 0 && unreadable.length < whole.length, "only station B's channels");
  for (const e of unreadable) {
    assertEquals(e.station, "");
    assert(e.unreadable!.startsWith("its Station (no code) cannot be read:"), e.unreadable);
  }
  // A piece that is not well-formed XML: the error is the one the whole document gives.
  const broken = plain.replace('<Station code="B"', '<Station code="B" x="1" x="2"');
  assertEquals(splitStationXml(broken, 1)!.length, 3);
  const errorOf = async (pieceChars: number) =>
    (await assertRejects(() => readStationXml(broken, "broken.xml", { pieceChars }), SampleError))
      .message;
  const want = await errorOf(Infinity);
  assert(want.includes("broken.xml"), want);
  assertEquals(await errorOf(1), want);
});
