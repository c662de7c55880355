/**
 * Loads npm:seisplotjs in Deno. Its entry point defines web components, so it
 * needs empty stand-ins for a few DOM classes; its XML parsers need a
 * `DOMParser`, which npm:@xmldom/xmldom provides. This is the only module that
 * touches `globalThis` for it.
 *
 * @module
 */
import { DOMParser, XmlDocument, XmlElement, XmlNode, XMLSerializer } from "../deps.ts";
import { importSeisplotjs, type Seisplotjs } from "../deps.ts";

/** A parsed XML document (xmldom's). */
export type XmlDoc = XmlDocument;

let loaded: Promise<Seisplotjs> | null = null;

function installShim(): void {
  const g = globalThis as Record<string, unknown>;
  class Stub {}
  for (
    const k of [
      "HTMLElement",
      "HTMLDivElement",
      "HTMLCanvasElement",
      "HTMLInputElement",
      "HTMLSelectElement",
      "HTMLButtonElement",
      "HTMLSpanElement",
      "HTMLAnchorElement",
      "SVGElement",
      "ShadowRoot",
    ]
  ) {
    if (!g[k]) g[k] = Stub;
  }
  // seisplotjs's XML helpers test `instanceof Element`: they must see xmldom's classes.
  if (!g.Element) g.Element = XmlElement;
  if (!g.Node) g.Node = XmlNode;
  if (!g.Document) g.Document = XmlDocument;
  if (!g.DOMParser) g.DOMParser = DOMParser;
  if (!g.XMLSerializer) g.XMLSerializer = XMLSerializer;
  addElementTraversal(XmlElement.prototype);
  addElementTraversal(XmlDocument.prototype);
  if (!g.customElements) {
    g.customElements = { define() {}, get: () => undefined, whenDefined: () => Promise.resolve() };
  }
}

/**
 * xmldom implements DOM Level 2; seisplotjs also uses the Element Traversal
 * properties (`children`, `firstElementChild`, `childElementCount`). Defines them
 * from `childNodes` where missing.
 */
function addElementTraversal(proto: object): void {
  const elements = (n: { childNodes: ArrayLike<{ nodeType: number }> }) =>
    Array.from(n.childNodes).filter((c) => c.nodeType === 1);
  const defs: Record<string, (this: never) => unknown> = {
    children(this: never) {
      return elements(this);
    },
    firstElementChild(this: never) {
      return elements(this)[0] ?? null;
    },
    lastElementChild(this: never) {
      return elements(this).at(-1) ?? null;
    },
    childElementCount(this: never) {
      return elements(this).length;
    },
  };
  for (const [k, get] of Object.entries(defs)) {
    if (!(k in proto)) Object.defineProperty(proto, k, { get, configurable: true });
  }
}

/**
 * @returns the seisplotjs module, loaded once.
 */
export function seisplotjs(): Promise<Seisplotjs> {
  if (!loaded) {
    installShim();
    loaded = importSeisplotjs();
  }
  return loaded;
}

/**
 * Runs a synchronous seisplotjs call with its warnings collected instead of printed:
 * seisplotjs warns through `console.assert` ("Assertion failed: missing publicID on pick"),
 * once per element and naming no file, so that the caller can say them once, with the file.
 *
 * @param fn The call.
 * @returns its value, and each distinct warning with how many times it was given.
 * @example
 * ```ts
 * import { collectWarnings } from "./_seisplotjs.ts";
 * const r = collectWarnings(() => {
 *   console.assert(false, "missing publicID on pick");
 *   console.assert(false, "missing publicID on pick");
 *   return 1;
 * });
 * if (r.value !== 1 || r.warnings.get("missing publicID on pick") !== 2) throw new Error();
 * ```
 */
export function collectWarnings<T>(fn: () => T): { value: T; warnings: Map<string, number> } {
  const warnings = new Map<string, number>();
  const assert = console.assert;
  console.assert = (condition?: boolean, ...data: unknown[]) => {
    if (condition) return;
    const text = data.map(String).join(" ");
    warnings.set(text, (warnings.get(text) ?? 0) + 1);
  };
  try {
    return { value: fn(), warnings };
  } finally {
    console.assert = assert;
  }
}

/**
 * Parses XML text into a DOM `Document` (xmldom).
 *
 * @param text XML text; a leading byte-order mark (U+FEFF, as some Windows tools write UTF-8)
 *   is dropped, since xmldom refuses text before the XML declaration.
 * @param source File name for messages.
 * @returns the document.
 * @throws {TypeError} when the text is not well-formed XML.
 */
export function parseXml(text: string, source: string): XmlDoc {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let err: string | null = null;
  const parser = new DOMParser({
    onError: (level: string, msg: string) => {
      if (level !== "warning" && err === null) err = msg;
    },
  });
  let doc: unknown;
  try {
    doc = parser.parseFromString(text, "text/xml");
  } catch (e) {
    err = (e as Error).message;
  }
  if (err !== null || !doc) {
    throw new TypeError(
      `Cannot parse ${source}: expected well-formed XML: ${err ?? "no document"}`,
    );
  }
  return doc as XmlDoc;
}
