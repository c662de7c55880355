import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { esecTasks, npzTasks, parseEsecTime, parseUtc } from "../../lib/io/manifest.ts";
import { UserError } from "../../lib/util/errors.ts";

Deno.test("parseUtc reads ISO 8601 dates, day-of-year dates, fractions and zones as UTC", () => {
  const t = Date.UTC(2020, 1, 29, 12, 34, 56);
  assertEquals(parseUtc("2020-02-29T12:34:56Z"), t);
  assertEquals(parseUtc(" 2020-02-29T12:34:56 "), t); // no zone: UTC
  assertEquals(parseUtc("2020-02-29 12:34:56"), t);
  assertEquals(parseUtc("2020-060T12:34:56"), t); // day 60 of a leap year
  assertEquals(parseUtc("2020-02-29T12:34:56.123456Z"), t + 123.456);
  assertEquals(parseUtc("2020-02-29T12:34:56,5Z"), t + 500);
  assertEquals(parseUtc("2020-02-29T14:34:56+02:00"), t);
  assertEquals(parseUtc("2020-02-29T07:04:56-0530"), t);
  assertEquals(parseUtc("2020-02-29T12:34"), Date.UTC(2020, 1, 29, 12, 34));
  assertEquals(parseUtc("2020-02-29"), Date.UTC(2020, 1, 29));
  assertEquals(parseUtc(""), null);
  assertEquals(parseUtc("  "), null);
});

Deno.test("parseUtc refuses times that Date.parse would accept or roll over, naming the text", () => {
  for (
    const [text, why] of [
      ["2023-02-29T00:00:00Z", "day 29 does not exist"],
      ["2020-02-30", "day 30 does not exist"],
      ["2020-13-01", "month 13 does not exist"],
      ["2021-366", "day of year 366 does not exist in 2021"],
      ["2020-01-01T24:00:00", "out of range"],
      ["2020-01-01T23:59:60Z", "out of range"],
      ["1", "not of that form"],
      ["Jan 5 2020", "not of that form"],
      ["2020-01-01T00:00:00 UTC", "not of that form"],
    ]
  ) {
    assertThrows(() => parseUtc(text), RangeError, `'${text}'`);
    assertThrows(() => parseUtc(text), RangeError, why);
  }
});

Deno.test("ESEC catalogue: an impossible starttime fails its samples as bad time; a missing column names the file", async () => {
  assertEquals(parseEsecTime("2024_02_29 120000"), Date.UTC(2024, 1, 29, 12));
  for (
    const bad of [
      "2024_02_30 120000",
      "2023_02_29 000000",
      "2024_13_01 000000",
      "2024_01_01 240000",
    ]
  ) {
    assertEquals(parseEsecTime(bad), null, bad);
  }
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/waveforms/7`, { recursive: true });
    await Deno.writeFile(`${dir}/waveforms/7/XX.AAA..BHZ__a__b.mseed`, new Uint8Array(0));
    await Deno.writeTextFile(
      `${dir}/esec_subset_events.csv`,
      "eventid,starttime,subtype\n7,2024_02_30 120000,Snow avalanches\n",
    );
    const [t] = await esecTasks(dir);
    assertEquals([t.id, t.error?.reason], ["7.XX.AAA..BHZ", "bad time"]);
    assert(t.error!.message.includes("'2024_02_30 120000'"), t.error!.message);
    await Deno.writeTextFile(
      `${dir}/esec_subset_events.csv`,
      "event_id,starttime,subtype\n7,x,y\n",
    );
    await assertRejects(
      () => esecTasks(dir),
      UserError,
      "esec_subset_events.csv: expected the columns",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PhaseNet list: a bad itp or a file name without a time fails that sample; a missing column names the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/waveform.csv`,
      "fname,itp,its,channels\nNC_A_2017100709282692.npz,x,1,HHE_HHN_HHZ\nNC_B_notatime.npz,3000,1,HHE_HHN_HHZ\nNC_C_2017100709282692.npz,3000,1,HHE_HHN_HHZ\nNC_D_2018023112000000.npz,3000,1,HHE_HHN_HHZ\n",
    );
    const tasks = await npzTasks(dir, 100);
    // February 31st: Date.UTC would roll it over to March 3rd.
    assertEquals(tasks.map((t) => t.error?.reason ?? "ok"), [
      "bad time",
      "bad time",
      "ok",
      "bad time",
    ]);
    assert(tasks[0].error!.message.includes("itp 'x'"), tasks[0].error!.message);
    assertEquals(tasks[2].referenceTime, Date.UTC(2017, 9, 7, 9, 28, 26, 920) + 30_000);
    await Deno.writeTextFile(`${dir}/waveform.csv`, "file,itp\na.npz,3000\n");
    await assertRejects(() => npzTasks(dir, 100), UserError, "fname missing");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
