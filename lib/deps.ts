/**
 * Third-party dependencies, pinned in one place.
 *
 * They are written as full `npm:` specifiers, not bare names from deno.json's
 * import map, because a module imported by URL (`import ... from
 * "https://.../mod.ts"`) is resolved without this repository's deno.json: bare
 * names would not resolve there. deno.json lists the same versions for tools.
 *
 * @module
 */

export { z } from "npm:zod@^4";
export { default as FFT } from "npm:fft.js@4.0.4";
export { UMAP } from "npm:umap-js@1.4.0";
export {
  Document as XmlDocument,
  DOMParser,
  Element as XmlElement,
  Node as XmlNode,
  XMLSerializer,
} from "npm:@xmldom/xmldom@0.9.12";

/** The seisplotjs module (loaded lazily: its entry point needs the DOM shim first). */
export type Seisplotjs = typeof import("npm:seisplotjs@3.2.2");

/** Loads seisplotjs; call only after installing the DOM shim (lib/io/_seisplotjs.ts). */
export function importSeisplotjs(): Promise<Seisplotjs> {
  // deno-lint-ignore no-import-prefix -- full specifier keeps import-by-URL working (see above)
  return import("npm:seisplotjs@3.2.2");
}
