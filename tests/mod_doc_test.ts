/**
 * `deno doc --lint mod.ts`: every public symbol documented and every type a public signature
 * names exported (the config types are written out, checked against their zod schemas at
 * compile time in lib/io/extract_config.ts and lib/cluster/config.ts).
 *
 * @module
 */
import { assert, assertEquals } from "./_assert.ts";
import * as mod from "../mod.ts";

Deno.test("deno doc --lint mod.ts finds no error", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", "mod.ts"],
    cwd: new URL("../", import.meta.url),
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  assert(out.success, `deno doc --lint mod.ts failed:\n${text.slice(0, 4000)}`);
});

Deno.test("mod.ts exports what a program needs to do as the CLI does: UserError, defaultNormalize, readModelInfo, the restarts' defaults", async () => {
  assertEquals(new mod.UserError("x").name, "UserError");
  assertEquals([mod.defaultNormalize("db"), mod.defaultNormalize("log10")], ["minmax", "minmax"]);
  assertEquals(mod.defaultNormalize("psd"), mod.PRETRAIN_DEFAULTS.normalize);
  const e = await mod.readModelInfo("/nonexistent/seisdec-model").then(() => null, (e) => e);
  assert(e instanceof mod.UserError, String(e));
  assertEquals(mod.nInitOf(mod.INIT_DEFAULTS), mod.KMEANS_N_INIT);
  assertEquals(mod.nInitOf({ ...mod.INIT_DEFAULTS, method: "gmm" }), mod.GMM_N_INIT);
});

Deno.test("mod.ts exports every metric: the Hungarian solver, ACC, NMI, ARI, the internal indices and the report", () => {
  const names = [
    "hungarian",
    "clusteringAccuracy",
    "nmi",
    "ari",
    "confusionMatrix",
    "clusterSizes",
    "encodeLabels",
    "silhouette",
    "withinClusterSS",
    "calinskiHarabasz",
    "daviesBouldin",
    "evaluateClustering",
    "formatReport",
  ];
  const exported = mod as unknown as Record<string, unknown>;
  assertEquals(names.filter((name) => typeof exported[name] !== "function"), []);
});
