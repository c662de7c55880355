/**
 * Splits a large FDSN StationXML text into small documents of whole stations, so that it can
 * be parsed a piece at a time: a DOM costs about 50 times its text (a 37 MB inventory of
 * 20,000 stations took the process to 3.3 GB, parsed whole), and only the channel epochs are
 * kept once parsed.
 *
 * The text is scanned for its element structure (tags, comments, CDATA sections, processing
 * instructions; quoted attribute values may hold `>`), and each piece is the root's start tag
 * and what precedes its first `Network` (`Source`, `Created`, ...), one `Network`'s start tag
 * and what precedes its first `Station`, then a run of that network's `Station` elements,
 * verbatim, and the matching end tags. Namespace declarations live on those start tags, so
 * prefixed names keep their meaning. Anything the scan does not expect (a DOCTYPE with an
 * internal subset, whose entities could change the text's meaning, tags that do not nest, an
 * unterminated construct) gives null, and the caller parses the text whole, which reports what
 * is wrong with it.
 *
 * @module
 */

/** A start or end tag found by the scan. */
interface Tag {
  /** Offset of its `<`. */
  start: number;
  /** Offset just past its `>`. */
  end: number;
  /** Qualified name, as written. */
  name: string;
  /** An end tag (`</x>`). */
  closing: boolean;
  /** An empty-element tag (`<x/>`). */
  empty: boolean;
}

const localName = (qname: string) => qname.slice(qname.indexOf(":") + 1);

/** Offset just past the `>` of the tag that starts at `i`, or -1 when unterminated. */
function tagEnd(text: string, i: number): number {
  let quote = "";
  for (let j = i + 1; j < text.length; j++) {
    const c = text[j];
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ">") return j + 1;
  }
  return -1;
}

/**
 * Calls `onTag` for each start and end tag of `text` in order, skipping comments, CDATA
 * sections, processing instructions and a DOCTYPE without an internal subset.
 *
 * @returns false when the scan met something it does not handle or an unterminated construct.
 */
function scanTags(text: string, onTag: (t: Tag) => boolean): boolean {
  let i = 0;
  for (;;) {
    i = text.indexOf("<", i);
    if (i < 0) return true;
    let skipTo: string | null = null;
    if (text.startsWith("<?", i)) skipTo = "?>";
    else if (text.startsWith("<!--", i)) skipTo = "-->";
    else if (text.startsWith("<![CDATA[", i)) skipTo = "]]>";
    if (skipTo !== null) {
      const k = text.indexOf(skipTo, i + 2);
      if (k < 0) return false;
      i = k + skipTo.length;
      continue;
    }
    const end = tagEnd(text, i);
    if (end < 0) return false;
    if (text[i + 1] === "!") {
      // A DOCTYPE: one with an internal subset may define entities; leave those to the parser.
      if (text.slice(i, end).includes("[")) return false;
      i = end;
      continue;
    }
    const closing = text[i + 1] === "/";
    const empty = !closing && text[end - 2] === "/";
    const m = /^[^\s/>]+/.exec(text.slice(i + (closing ? 2 : 1), Math.min(end, i + 256)));
    if (!m) return false;
    if (!onTag({ start: i, end, name: m[0], closing, empty })) return false;
    i = end;
  }
}

/**
 * Splits StationXML text into documents of whole stations, each at most about `maxChars`
 * long (a single larger station is a piece of its own).
 *
 * @param text StationXML text.
 * @param maxChars The size a piece grows to before a new one starts.
 * @returns the pieces, in the document's order of networks and stations; null when the text is
 *   not laid out as expected (see the module documentation).
 */
export function splitStationXml(text: string, maxChars: number): string[] | null {
  const stack: Tag[] = [];
  let root: Tag | null = null;
  let rootHeadEnd = -1;
  let net: Tag | null = null;
  let netHeadEnd = -1;
  let runStart = -1, runEnd = -1;
  let stationStart = -1;
  const out: string[] = [];
  const flush = () => {
    if (runStart < 0) return;
    out.push(
      text.slice(root!.start, rootHeadEnd) + text.slice(net!.start, netHeadEnd) +
        text.slice(runStart, runEnd) + `</${net!.name}></${root!.name}>`,
    );
    runStart = -1;
  };
  const ok = scanTags(text, (t) => {
    if (t.closing) {
      const open = stack.pop();
      if (!open || open.name !== t.name) return false;
      if (stack.length === 1 && net === open) {
        flush();
        net = null;
      } else if (stack.length === 2 && stationStart >= 0) {
        // The end of a station: it joins the run, which ends once long enough.
        if (runStart < 0) runStart = stationStart;
        runEnd = t.end;
        stationStart = -1;
        if (runEnd - runStart >= maxChars) flush();
      }
      return true;
    }
    const depth = stack.length;
    if (depth === 0) {
      if (root !== null || t.empty || localName(t.name) !== "FDSNStationXML") return false;
      root = t;
    } else if (depth === 1 && localName(t.name) === "Network") {
      if (rootHeadEnd < 0) rootHeadEnd = t.start;
      if (t.empty) return true;
      net = t;
      netHeadEnd = -1;
    } else if (depth === 2 && net !== null && localName(t.name) === "Station") {
      if (netHeadEnd < 0) netHeadEnd = t.start;
      if (t.empty) {
        if (runStart < 0) runStart = t.start;
        runEnd = t.end;
        if (runEnd - runStart >= maxChars) flush();
        return true;
      }
      stationStart = t.start;
    }
    if (!t.empty) stack.push(t);
    return true;
  });
  if (!ok || stack.length !== 0 || root === null) return null;
  return out;
}
