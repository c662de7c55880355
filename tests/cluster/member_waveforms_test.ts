import { assertEquals } from "../_assert.ts";
import { type MemberWaveforms, memberWaveformsPng } from "../../lib/cluster/member_waveforms.ts";
import type { Dataset } from "../../lib/io/dataset.ts";

/** The texts of an SVG figure, in order. */
const texts = (svg: Uint8Array) =>
  [...new TextDecoder().decode(svg).matchAll(/<text[^>]*>([^<]*)</g)].map((m) => m[1]);

Deno.test("memberWaveformsPng: one row per component, each drawing its own channel, named with the cluster's size and the units' quantity", () => {
  const T = 50;
  const z = Float64Array.from({ length: T }, (_, i) => Math.sin(i / 3));
  const n = Float64Array.from({ length: T }, (_, i) => (i % 10) / 10); // peak 0.9
  const ds = {
    sampleShape: [2, 4, T],
    meta: { components: ["Z", "N"] },
    samples: [{
      id: "s0",
      network: "XX",
      station: "A",
      channel: "HH?",
      referenceTime: "2024-01-01T00:00:00Z",
    }],
  } as unknown as Dataset;
  const w = {
    clusters: [{
      cluster: 0,
      size: 4,
      members: [{
        index: 0,
        sample: {
          waveform: [z, n],
          waveformTimes: Float64Array.from({ length: T }, (_, i) => i / 10 - 1),
        },
      }],
    }],
    units: "m/s",
    window: [-1, 3],
    failures: [],
  } as unknown as MemberWaveforms;
  const t = texts(memberWaveformsPng(w, ds, 1, "the pick", "svg"));
  assertEquals(t.filter((s) => s.startsWith("cluster ")), ["cluster 0 (4) Z", "cluster 0 (4) N"]);
  assertEquals(t.filter((s) => s.startsWith("peak ")), ["peak 1", "peak 0.9"]);
  assertEquals(t.filter((s) => s.startsWith("velocity")), [
    "velocity (m/s), each panel scaled to its peak",
  ]);
});

Deno.test("memberWaveformsPng titles a dataset of single channels (components 'channel') as each its own channel", () => {
  const T = 20;
  const ds = {
    sampleShape: [1, 4, T],
    meta: { components: ["channel"] },
    samples: [{ id: "s0", network: "XX", station: "A", channel: "HHE", referenceTime: null }],
  } as unknown as Dataset;
  const w = {
    clusters: [{
      cluster: 0,
      size: 1,
      members: [{
        index: 0,
        sample: {
          waveform: [Float64Array.from({ length: T }, (_, i) => Math.cos(i))],
          waveformTimes: Float64Array.from({ length: T }, (_, i) => i / 10),
        },
      }],
    }],
    units: "counts",
    window: [0, 1.9],
    failures: [],
  } as unknown as MemberWaveforms;
  const t = texts(memberWaveformsPng(w, ds, 1, "the pick", "svg"));
  assertEquals(t.filter((s) => s.startsWith("Waveforms")), [
    "Waveforms of the most confident members per cluster, each its own channel",
  ]);
  assertEquals(t.filter((s) => s.startsWith("cluster ")), ["cluster 0 (1)"]);
  assertEquals(t.filter((s) => s.startsWith("counts")), [
    "counts (response not removed), each panel scaled to its peak",
  ]);
});
