import { assertEquals } from "../_assert.ts";
import { episodeSummary, eventSummary } from "../../lib/cli/report.ts";

Deno.test("report: events and episodes summarised per cluster", () => {
  const ev = (cluster: number, agreement: number, stations: number) => ({
    cluster: String(cluster),
    agreement: agreement.toFixed(3),
    stations: String(stations),
  });
  assertEquals(eventSummary([ev(1, 1, 2), ev(0, 0.5, 4), ev(1, 0.6, 3)]), [
    ["cluster", "events", "mean agreement", "split", "mean stations"],
    ["0", "1", "0.500", "1", "4.0"],
    ["1", "2", "0.800", "1", "2.5"],
  ]);
  const ep = (cluster: number, duration: number, windows: number) => ({
    cluster: String(cluster),
    duration_s: duration.toFixed(3),
    windows: String(windows),
  });
  assertEquals(episodeSummary([ep(2, 3600, 83), ep(2, 1800, 41), ep(0, 86, 1)]), [
    ["cluster", "episodes", "total h (all channels)", "longest s", "windows"],
    ["0", "1", "0.02", "86", "1"],
    ["2", "2", "1.50", "3600", "124"],
  ]);
});
