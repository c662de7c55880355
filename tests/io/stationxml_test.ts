import { assert, assertClose, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import {
  type ChannelEpoch,
  epochChangesIn,
  epochOverlapNote,
  findCoordinates,
  findOrientation,
  findResponse,
  formatStationXml,
  readStationXml,
  readStationXmlFile,
  sampleRateWarning,
  type StationXmlChannel,
} from "../../lib/io/stationxml.ts";
import { SampleError } from "../../lib/io/sample_error.ts";
import {
  evaluateResponse,
  type InstrumentResponse,
  removeResponse,
} from "../../lib/signal/response.ts";

/** A 100 Hz vertical channel at (0, 0) since 2020, without a Response. */
const vertical = (
  codes: { network: string; station: string; location: string; channel: string },
): StationXmlChannel => ({
  ...codes,
  latitude: 0,
  longitude: 0,
  elevation: 0,
  samplingRate: 100,
  startDate: "2020-01-01T00:00:00Z",
  azimuth: 0,
  dip: -90,
});

const ESEC = new URL("../../../shared/data/esec_massmovements/", import.meta.url).pathname;

Deno.test("all 107 ESEC StationXML files parse, every channel with a response", async () => {
  let files = 0, channels = 0;
  for (const ev of Deno.readDirSync(`${ESEC}stations`)) {
    for (const f of Deno.readDirSync(`${ESEC}stations/${ev.name}`)) {
      const epochs = await readStationXmlFile(`${ESEC}stations/${ev.name}/${f.name}`);
      files++;
      channels += epochs.length;
      for (const e of epochs) {
        assert(e.response !== null, `${f.name} ${e.channel} has a response: ${e.responseError}`);
        const r = e.response!;
        // |H| at the sensitivity frequency is the sensitivity, by construction.
        const [re, im] = evaluateResponse(r, r.sensitivityFrequency);
        assertClose([Math.hypot(re, im)], [r.sensitivity], 0, 1e-9, f.name);
      }
    }
  }
  assertEquals(files, 107);
  assertEquals(channels, 321);
});

Deno.test("TA.S06C BHZ response: sensitivity, units and poles as in the file", async () => {
  const epochs = await readStationXmlFile(`${ESEC}stations/102/TA.S06C.xml`);
  const r = findResponse(
    epochs,
    { network: "TA", station: "S06C", location: "", channel: "BHZ" },
    Date.UTC(2006, 6, 28, 1, 45),
    "TA.S06C.xml",
  );
  assertEquals(r.inputUnits, "M/S");
  assertEquals(r.sensitivityFrequency, 0.2);
  assert(r.sensitivity > 1e8, "sensitivity in counts/(m/s)");
  assertClose(r.stages[0].poles[0], [-0.03701, 0.03701], 1e-12, 0, "first pole");
});

Deno.test("XML that is not StationXML, bad XML and a channel with no response fail clearly", async () => {
  // A missing file is named once ('no such file', not Deno's text naming it again).
  const missing = await assertRejects(() => readStationXmlFile("/nonexistent/s.xml"), SampleError);
  assertEquals((missing as SampleError).reason, "unreadable");
  assertEquals(missing.message, "Cannot read /nonexistent/s.xml: no such file");
  await assertRejects(
    () => readStationXml(`<?xml version="1.0"?><q:quakeml xmlns:q="x"/>`, "events.xml"),
    SampleError,
    "events.xml: expected an FDSNStationXML document",
  );
  await assertRejects(
    () => readStationXml("not xml at all <", "junk.xml"),
    SampleError,
    "junk.xml",
  );
  const xml = formatStationXml([
    vertical({ network: "XX", station: "NOR", location: "", channel: "HHZ" }),
  ]);
  const epochs = await readStationXml(xml, "nor.xml");
  assertEquals(epochs.length, 1);
  assertEquals(epochs[0].response, null);
  const id = { network: "XX", station: "NOR", location: "", channel: "HHZ" };
  const e = assertThrows(
    () => findResponse(epochs, id, Date.UTC(2021, 0, 1), "nor.xml"),
    SampleError,
    "nor.xml",
  );
  assertEquals((e as SampleError).reason, "no response");
  assertThrows(
    () => findResponse(epochs, { ...id, channel: "HHN" }, Date.UTC(2021, 0, 1), "nor.xml"),
    SampleError,
    "no such channel",
  );
  assertThrows(
    () => findResponse(epochs, id, Date.UTC(2019, 0, 1), "nor.xml"),
    SampleError,
    "no channel epoch covers",
  );
  // A sensitivity of 0 (or not a number) cannot be divided by, and a sensitivity Frequency
  // where the stages' |H| is 0 (a velocity sensor at DC) cannot scale them: the channel's
  // response is unusable, said so with the value (before: "no Response with an
  // InstrumentSensitivity", and NaN samples at a Frequency of 0).
  const resp = {
    sensitivity: 1e9,
    sensitivityFrequency: 1,
    inputUnits: "M/S",
    stages: [{
      type: "radians" as const,
      zeros: [[0, 0]] as [number, number][],
      poles: [[-1, 0]] as [number, number][],
      normalizationFactor: 1,
    }],
    digital: [],
    source: "",
  };
  const cases = [
    [
      formatStationXml([{ ...vertical(id), response: { ...resp, sensitivity: 0 } }]),
      "its InstrumentSensitivity Value is 0: expected a non-zero number",
    ],
    [
      formatStationXml([{ ...vertical(id), response: resp }]).replace(
        "<Value>1000000000</Value>\n",
        "<Value>abc</Value>\n",
      ),
      "its InstrumentSensitivity Value is not a number",
    ],
    [
      formatStationXml([{ ...vertical(id), response: { ...resp, sensitivityFrequency: 0 } }]),
      "the stages' |H| at the InstrumentSensitivity Frequency 0 Hz is 0 or infinite (a zero or pole there)",
    ],
  ] as const;
  for (const [xml, msg] of cases) {
    const z = await readStationXml(xml, "zero.xml");
    assertEquals(z[0].response, null);
    const e = assertThrows(
      () => findResponse(z, id, Date.UTC(2021, 0, 1), "zero.xml"),
      SampleError,
      `Cannot use the response of XX.NOR..HHZ in zero.xml: ${msg}`,
    );
    assertEquals((e as SampleError).reason, "bad response");
  }
  // A startDate that is no date: named, not "no channel epoch covers ...".
  const badDate = formatStationXml([{ ...vertical(id), response: resp }])
    .replace(
      '<Channel code="HHZ" locationCode="" startDate="2020-01-01T00:00:00Z"',
      '<Channel code="HHZ" locationCode="" startDate="2023-13-45T00:00:00Z"',
    );
  const d = await readStationXml(badDate, "date.xml");
  for (const find of [findResponse, findOrientation]) {
    assertThrows(
      () => find(d, id, Date.UTC(2021, 0, 1), "date.xml"),
      SampleError,
      "XX.NOR..HHZ in date.xml: its startDate is not a valid date (",
    );
  }
});

Deno.test("a channel seisplotjs cannot read fails alone, naming it and why; the file's other channels read", async () => {
  const ch = (channel: string, station = "A"): StationXmlChannel => ({
    ...vertical({ network: "XX", station, location: "", channel }),
    response: {
      sensitivity: 1e9,
      sensitivityFrequency: 1,
      inputUnits: "M/S",
      stages: [{ type: "radians", zeros: [], poles: [[-1, 0]], normalizationFactor: 1 }],
      digital: [],
    },
  });
  const good = formatStationXml([ch("HHZ"), ch("HHN"), ch("HHE"), ch("HHZ", "B")]);
  // HHN's first StageGain without its Value: before, seisplotjs refused the whole document
  // and every sample of the file failed.
  const at = good.indexOf('code="HHN"');
  const xml = good.slice(0, at) +
    good.slice(at).replace("<StageGain><Value>1</Value>", "<StageGain>");
  const t = Date.UTC(2021, 0, 1);
  for (const pieceChars of [1 << 16, 200]) {
    const epochs = await readStationXml(xml, "one_bad.xml", { pieceChars });
    assertEquals(epochs.map((e) => `${e.station}.${e.channel}`), [
      "A.HHZ",
      "A.HHN",
      "A.HHE",
      "B.HHZ",
    ]);
    for (const [sta, c] of [["A", "HHZ"], ["A", "HHE"], ["B", "HHZ"]]) {
      const id = { network: "XX", station: sta, location: "", channel: c };
      assertEquals(findResponse(epochs, id, t, "one_bad.xml").sensitivity, 1e9);
      assertEquals(findOrientation(epochs, id, t, "one_bad.xml"), { azimuth: 0, dip: -90 });
    }
    const bad = { network: "XX", station: "A", location: "", channel: "HHN" };
    const e = assertThrows(
      () => findResponse(epochs, bad, t, "one_bad.xml"),
      SampleError,
      "Cannot use the response of XX.A..HHN in one_bad.xml: the channel cannot be read: Gain " +
        "does not have value and frequency",
    );
    assertEquals((e as SampleError).reason, "bad response");
    assertThrows(
      () => findOrientation(epochs, bad, t, "one_bad.xml"),
      SampleError,
      "Cannot find the orientation of XX.A..HHN in one_bad.xml: the channel cannot be read",
    );
  }
});

Deno.test("40 Hz ESEC channels: |H| at 16-18 Hz includes the FIR stages (full stage product within 0.02 dB)", async () => {
  // Reference: the product of every stage (A0 · poles and zeros · stage gains · |FIR| and
  // |Coefficients| at each stage's Decimation InputSampleRate, symmetric FIRs expanded), by an
  // independent numpy/ElementTree evaluation (/tmp/review_sig/resp_compare.py's stage_resp).
  // Measured: within 0.0054 dB at every frequency. With the analog stages only, |H| was 1.8, 7.6
  // and 19.2 dB too high at 16, 17 and 18 Hz (TA.S06C, UW.STOR), 0.01, 1.5 and 8.7 dB (CH.FUSIO).
  const fr = [1, 10, 16, 17, 18];
  const cases = [
    ["102/TA.S06C.xml", "TA", "S06C", "BHZ", Date.UTC(2006, 6, 28, 1, 45), [
      6.3504056776e+08,
      6.3903769652e+08,
      4.9879310056e+08,
      2.5601118774e+08,
      6.6546617718e+07,
    ]],
    ["239/CH.FUSIO.xml", "CH", "FUSIO", "BHZ", Date.UTC(2006, 0, 1), [
      6.2800398590e+08,
      6.6314250319e+08,
      6.9071369288e+08,
      5.8665281085e+08,
      2.5739506205e+08,
    ]],
    ["62/UW.STOR.xml", "UW", "STOR", "BHZ", Date.UTC(2008, 11, 4), [
      6.3244198668e+08,
      6.3642114448e+08,
      4.9665472168e+08,
      2.5491317662e+08,
      6.6265811375e+07,
    ]],
  ] as const;
  const db = 10 ** (0.02 / 20) - 1;
  for (const [file, network, station, channel, t, want] of cases) {
    const epochs = await readStationXmlFile(`${ESEC}stations/${file}`);
    const r = findResponse(epochs, { network, station, location: "", channel }, t, file);
    const got = fr.map((f) => Math.hypot(...evaluateResponse(r, f)));
    assertClose(got, want, 0, db, `${file} ${channel} |H| at ${fr} Hz`);
    assert((r.digital ?? []).length > 0, `${file}: digital stages read`);
  }
});

/** StationXML text of one 40 Hz channel with the given Stage elements (numbered from 1). */
function channelXml(stages: string[], units = "M/S", sensitivity = 1e9): string {
  const u = (tag: string, name: string) => `<${tag}><Name>${name}</Name></${tag}>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<FDSNStationXML xmlns="http://www.fdsn.org/xml/station/1" schemaVersion="1.1">
<Source>test</Source><Created>2020-01-01T00:00:00Z</Created>
<Network code="XX" startDate="2000-01-01T00:00:00Z"><Station code="DIG" startDate="2000-01-01T00:00:00Z">
<Latitude>0</Latitude><Longitude>0</Longitude><Elevation>0</Elevation><Site><Name>t</Name></Site>
<Channel code="BHZ" locationCode="" startDate="2000-01-01T00:00:00Z">
<Latitude>0</Latitude><Longitude>0</Longitude><Elevation>0</Elevation><Depth>0</Depth>
<Azimuth>0</Azimuth><Dip>-90</Dip><SampleRate>40</SampleRate>
<Response><InstrumentSensitivity><Value>${sensitivity}</Value><Frequency>1</Frequency>
${u("InputUnits", units)}${u("OutputUnits", "COUNTS")}</InstrumentSensitivity>
${stages.map((s, i) => `<Stage number="${i + 1}">${s}</Stage>`).join("\n")}
</Response></Channel></Station></Network></FDSNStationXML>`;
}
const io = (i: string, o: string) =>
  `<InputUnits><Name>${i}</Name></InputUnits><OutputUnits><Name>${o}</Name></OutputUnits>`;
const gain = (v: number) => `<StageGain><Value>${v}</Value><Frequency>1</Frequency></StageGain>`;
const dec = (fs: number, factor: number) =>
  `<Decimation><InputSampleRate>${fs}</InputSampleRate><Factor>${factor}</Factor>` +
  `<Offset>0</Offset><Delay>0</Delay><Correction>0</Correction></Decimation>`;
const fir = (sym: string, c: number[]) =>
  `<FIR>${io("COUNTS", "COUNTS")}<Symmetry>${sym}</Symmetry>${
    c.map((x) => `<NumeratorCoefficient>${x}</NumeratorCoefficient>`).join("")
  }</FIR>`;
const coef = (num: number[], den: number[], type = "DIGITAL") =>
  `<Coefficients>${io("V", "COUNTS")}<CfTransferFunctionType>${type}</CfTransferFunctionType>${
    num.map((x) => `<Numerator>${x}</Numerator>`).join("")
  }${den.map((x) => `<Denominator>${x}</Denominator>`).join("")}</Coefficients>`;
const pz = `<PolesZeros>${io("M/S", "V")}<PzTransferFunctionType>LAPLACE (RADIANS/SECOND)` +
  `</PzTransferFunctionType><NormalizationFactor>1</NormalizationFactor>` +
  `<NormalizationFrequency>1</NormalizationFrequency>` +
  `<Pole number="0"><Real>-200</Real><Imaginary>0</Imaginary></Pole></PolesZeros>`;
const DIG = { network: "XX", station: "DIG", location: "", channel: "BHZ" };

Deno.test("FIR stages with EVEN/ODD symmetry are expanded and every digital stage uses its Decimation rate", async () => {
  // Stage 2: Coefficients [½, ½] at 160 Hz: |cos(θ/2)|. Stage 3: FIR ODD, stored [¼, ½] = taps
  // [¼, ½, ¼] at 80 Hz: cos²(θ/2). Stage 4: FIR EVEN, stored [⅛, ⅛] = 4 taps of ⅛ at 40 Hz (a
  // 2-tap reading of them would be |cos(θ/2)|/4): |sin(2θ)/(4 sin(θ/2))|/2. θ = 2πf/fs_in.
  // A stage of gain only and a Coefficients stage with no coefficients (digitizer) only scale.
  const xml = channelXml([
    pz + gain(1000),
    coef([], []) + dec(640, 4) + gain(1e6),
    coef([0.5, 0.5], []) + dec(160, 2) + gain(1),
    gain(1),
    fir("ODD", [0.25, 0.5]) + dec(80, 2) + gain(1),
    fir("EVEN", [0.125, 0.125]) + dec(40, 1) + gain(1),
  ]);
  const r = findResponse(
    await readStationXml(xml, "dig.xml"),
    DIG,
    Date.UTC(2021, 0, 1),
    "dig.xml",
  );
  assertEquals(
    r.digital,
    [
      { kind: "coefficients", inputSampleRate: 160, numerator: [0.5, 0.5], denominator: [] },
      { kind: "coefficients", inputSampleRate: 80, numerator: [0.25, 0.5, 0.25], denominator: [] },
      {
        kind: "coefficients",
        inputSampleRate: 40,
        numerator: [0.125, 0.125, 0.125, 0.125],
        denominator: [],
      },
    ],
  );
  const D = (f: number) => {
    const th = (fs: number) => 2 * Math.PI * f / fs;
    return Math.abs(Math.cos(th(160) / 2)) * Math.cos(th(80) / 2) ** 2 *
      Math.abs(Math.sin(2 * th(40)) / (4 * Math.sin(th(40) / 2))) / 2;
  };
  // The analog stage: one pole at −200 rad/s, |P(f)| = 1/|2πif + 200|.
  const P = (f: number) => 1 / Math.hypot(2 * Math.PI * f, 200);
  const fr = [0.5, 2, 5, 8, 12, 16, 18, 19.5];
  assertClose(
    fr.map((f) => Math.hypot(...evaluateResponse(r, f))),
    fr.map((f) => 1e9 * P(f) * D(f) / (P(1) * D(1))),
    0,
    1e-12,
    "|H|",
  );
});

Deno.test("a digital stage without a Decimation rate or with an unknown symmetry fails that channel only, naming it", async () => {
  const cases = [
    [
      [pz, fir("NONE", [0.3, 0.4, 0.3]) + gain(1)],
      "stage 2 (FIR) is a digital filter without a Decimation InputSampleRate",
    ],
    [
      [pz, fir("HALF", [0.3, 0.4]) + dec(40, 1)],
      "stage 2 (FIR): FIR Symmetry 'HALF' is not NONE, EVEN or ODD",
    ],
    [
      [pz, coef([0.5, 0.5], [], "ANALOG (RADIANS/SECOND)")],
      "stage 2 (Coefficients) is an analog Coefficients filter",
    ],
  ] as const;
  for (const [stages, msg] of cases) {
    const epochs = await readStationXml(channelXml([...stages]), "bad.xml");
    assertEquals(epochs.length, 1); // the file still reads
    const e = assertThrows(
      () => findResponse(epochs, DIG, Date.UTC(2021, 0, 1), "bad.xml"),
      SampleError,
      `Cannot use the response of XX.DIG..BHZ in bad.xml: ${msg}`,
    );
    assertEquals((e as SampleError).reason, "bad response");
  }
});

Deno.test("stages that contradict the InstrumentSensitivity: other units fail that channel as bad response; gains more than 10 % off mark its response, naming both values", async () => {
  const gainAt = (v: number, f: number) =>
    `<StageGain><Value>${v}</Value><Frequency>${f}</Frequency></StageGain>`;
  // Agreeing: the same units however written, gains within 10 %, and a stage gain given at
  // 100 Hz, carried to the sensitivity's 1 Hz by the stage's shape (one pole at −200 rad/s:
  // |P(1)| / |P(100)| = 3.29; the bare product would be 3.29 times too small).
  const P = (f: number) => 1 / Math.hypot(2 * Math.PI * f, 200);
  for (
    const [stages, units] of [
      [[pz + gain(1000), gain(1e6)], "m/s"],
      [[pz + gain(1000), gain(1.09e6)], "M/S"],
      [[pz + gainAt(1000 * P(100) / P(1), 100), gain(1e6)], "M/S"],
    ] as const
  ) {
    const epochs = await readStationXml(channelXml([...stages], units), "ok.xml");
    const r = findResponse(epochs, DIG, Date.UTC(2021, 0, 1), "ok.xml");
    assertEquals(r.disagreement, undefined, `${stages.join(" ")}: ${r.disagreement}`);
  }
  // Before, only the InstrumentSensitivity was read: an acceleration sensitivity over a
  // velocity sensor removed the response as if the data were acceleration, and a sensitivity
  // 20 % off the stages scaled the data by that, without a word.
  const cases = [
    [
      [pz + gain(1000), gain(1e6)],
      "M/S**2",
      "stage 1 takes input in M/S but the InstrumentSensitivity is per M/S**2",
    ],
    [
      [pz + gain(1000), gain(1.2e6)],
      "M/S",
      "the InstrumentSensitivity Value 1000000000 differs from the product of the stage gains " +
      "at 1 Hz, 1200000000, by 20 %: expected them within 10 %",
    ],
  ] as const;
  // Units that differ make the response unusable; gains that differ leave it as the
  // sensitivity says, marked, for extract to fail or warn (preprocess.response.stageCheck).
  const [units, gains] = cases;
  // Units of one kind of motion at another scale (nanometres against metres: 1e9) differ too.
  const nm = await readStationXml(
    channelXml([pz.replace(io("M/S", "V"), io("NM/S", "V")) + gain(1000), gain(1e6)], "M/S"),
    "nm.xml",
  );
  assertThrows(
    () => findResponse(nm, DIG, Date.UTC(2021, 0, 1), "nm.xml"),
    SampleError,
    "stage 1 takes input in NM/S but the InstrumentSensitivity is per M/S",
  );
  const unitEpochs = await readStationXml(channelXml([...units[0]], units[1]), "bad.xml");
  const e = assertThrows(
    () => findResponse(unitEpochs, DIG, Date.UTC(2021, 0, 1), "bad.xml"),
    SampleError,
    `Cannot use the response of XX.DIG..BHZ in bad.xml: ${units[2]}`,
  );
  assertEquals((e as SampleError).reason, "bad response");
  const r = findResponse(
    await readStationXml(channelXml([...gains[0]], gains[1]), "bad.xml"),
    DIG,
    Date.UTC(2021, 0, 1),
    "bad.xml",
  );
  assert(r.disagreement?.startsWith(gains[2]), r.disagreement);
  assertEquals(r.sensitivity, 1e9);
  // Where an older epoch left open overlaps the marked one, the one whose stages agree is used
  // (before the mark, the marked epoch had no response and findResponse passed it over).
  const good = channelXml([pz + gain(1000), gain(1e6)]);
  const chOf = (xml: string) => xml.slice(xml.indexOf("<Channel "), xml.indexOf("</Channel>") + 10);
  const newer = chOf(channelXml([...gains[0]], gains[1], 8e8))
    .replace('startDate="2000-01-01T00:00:00Z"', 'startDate="2020-01-01T00:00:00Z"');
  const both = good.replace("</Channel>", `</Channel>${newer}`);
  const pick = findResponse(
    await readStationXml(both, "two.xml"),
    DIG,
    Date.UTC(2021, 0, 1),
    "two.xml",
  );
  assertEquals([pick.sensitivity, pick.disagreement], [1e9, undefined]);
});

Deno.test("a LAPLACE (HERTZ) stage with poles in Hz is the LAPLACE (RADIANS/SECOND) stage with poles × 2π", async () => {
  // A 1 Hz geophone: zeros 0, 0 and poles −4.44 ± 4.44i rad/s (0.707 Hz), or the same in Hz,
  // s = if instead of 2πif. Both responses are scaled to the sensitivity at 1 Hz, so H(f) agrees
  // at every f; reading the Hz poles as rad/s (or evaluating them at s = 2πif) puts the corner
  // at 0.11 Hz, where |H| at 0.3 Hz is about 5 times larger.
  const p = [-4.44, 4.44], k = 2 * Math.PI;
  const pzXml = (type: string, d: number) =>
    `<PolesZeros>${io("M/S", "V")}<PzTransferFunctionType>${type}</PzTransferFunctionType>` +
    `<NormalizationFactor>1</NormalizationFactor><NormalizationFrequency>1</NormalizationFrequency>` +
    [0, 1].map((i) => `<Zero number="${i}"><Real>0</Real><Imaginary>0</Imaginary></Zero>`).join(
      "",
    ) +
    [1, -1].map((sg, i) =>
      `<Pole number="${i}"><Real>${p[0] / d}</Real><Imaginary>${sg * p[1] / d}</Imaginary></Pole>`
    ).join("") + `</PolesZeros>`;
  const read = async (type: string, d: number) =>
    findResponse(
      await readStationXml(channelXml([pzXml(type, d) + gain(1e9)]), "hz.xml"),
      DIG,
      Date.UTC(2021, 0, 1),
      "hz.xml",
    );
  const rad = await read("LAPLACE (RADIANS/SECOND)", 1), hz = await read("LAPLACE (HERTZ)", k);
  assertEquals([rad.stages[0].type, hz.stages[0].type], ["radians", "hertz"]);
  for (const f of [0.05, 0.3, 0.707, 1, 5, 19]) {
    const want = evaluateResponse(rad, f);
    // Two zeros and two poles in Float64, the Hz poles rounded once: ~1e-15 relative.
    assertClose(evaluateResponse(hz, f), want, 1e-12 * Math.hypot(...want), 0, `H(${f} Hz)`);
  }
});

Deno.test("StationXML input units: NM/S is read as given and removed to m/s; unknown units fail naming channel and unit", async () => {
  const fs = 40, n = 2000;
  const x = new Float64Array(n).map((_, i) => 1e4 * Math.sin(2 * Math.PI * 3 * i / fs));
  const read = async (units: string, sens: number) =>
    findResponse(
      await readStationXml(
        // The sensor stage takes the sensitivity's units, and gives all the gain.
        channelXml(
          [pz.replace("<Name>M/S</Name>", `<Name>${units}</Name>`) + gain(sens)],
          units,
          sens,
        ),
        "u.xml",
      ),
      DIG,
      Date.UTC(2021, 0, 1),
      "u.xml",
    );
  const m = await read("M/S", 1e9), nm = await read("NM/S", 1);
  assertEquals(nm.inputUnits, "NM/S");
  const ym = removeResponse(x, fs, m, { output: "VEL" });
  const peak = ym.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  // Same sensor per nm/s: the same m/s (unscaled, it was 1e9 times larger).
  assertClose(removeResponse(x, fs, nm, { output: "VEL" }), ym, 1e-12 * peak, 0, "NM/S → m/s");
  const pa = await read("PA", 1e9);
  for (const o of [{ output: "VEL" as const }, {}]) {
    assertThrows(
      () => removeResponse(x, fs, pa, o),
      RangeError,
      "Cannot remove the response of XX.DIG..BHZ in u.xml: input units 'PA' are not understood",
    );
  }
});

Deno.test("findResponse: an epoch covers [start, end), overlapping epochs give the latest; location '--' reads as ''", async () => {
  const id = { network: "XX", station: "AAA", location: "", channel: "HHZ" };
  const resp = (gain: number) => ({ gain }) as unknown as InstrumentResponse;
  const epoch = (start: number, end: number, gain: number): ChannelEpoch => ({
    ...id,
    startDate: start,
    endDate: end,
    samplingRate: 100,
    azimuth: NaN,
    dip: NaN,
    // Each epoch somewhere else, so that the coordinates tell which one was taken.
    latitude: 10 + gain,
    longitude: -20 - gain,
    elevation: 100 * gain,
    response: resp(gain),
  });
  const t = Date.UTC(2024, 11, 31, 23, 59, 50);
  // Epoch 1 ends where epoch 2 begins: at that instant epoch 2 applies, whatever the order.
  for (
    const epochs of [[epoch(0, t, 1), epoch(t, Infinity, 2)], [
      epoch(t, Infinity, 2),
      epoch(0, t, 1),
    ]]
  ) {
    assertEquals(findResponse(epochs, id, t, "s.xml"), resp(2));
    assertEquals(findResponse(epochs, id, t - 1, "s.xml"), resp(1));
    // findCoordinates takes the same epoch.
    assertEquals(findCoordinates(epochs, id, t), { latitude: 12, longitude: -22, elevation: 200 });
    assertEquals(findCoordinates(epochs, id, t - 1), {
      latitude: 11,
      longitude: -21,
      elevation: 100,
    });
  }
  assertEquals(findCoordinates([epoch(0, t, 1)], id, t), null, "no epoch then");
  assertEquals(findCoordinates([{ ...epoch(0, t, 1), latitude: NaN }], id, 0), null, "no latitude");
  // The end instant itself is outside an epoch that nothing follows.
  assertThrows(
    () => findResponse([epoch(0, t, 1)], id, t, "s.xml"),
    SampleError,
    "no channel epoch covers 2024-12-31T23:59:50.000Z",
  );
  // An old epoch left open when a new one began: the new one, in either order.
  const later = Date.UTC(2024, 5, 1);
  for (
    const epochs of [[epoch(0, Infinity, 1), epoch(later, Infinity, 3)], [
      epoch(later, Infinity, 3),
      epoch(0, Infinity, 1),
    ]]
  ) {
    assertEquals(findResponse(epochs, id, Date.UTC(2025, 0, 1), "s.xml"), resp(3));
    assertEquals(findResponse(epochs, id, Date.UTC(2024, 0, 1), "s.xml"), resp(1));
  }
  const xml = formatStationXml([vertical({ ...id, location: "--" })]);
  assert(xml.includes('locationCode="--"'));
  assertEquals((await readStationXml(xml, "dash.xml")).map((e) => e.location), [""]);
});

Deno.test("sampleRateWarning: a channel epoch's SampleRate more than 1e-4 from the data's is named with both rates; 99.9999 for 100 and an epoch without a rate pass", () => {
  const id = { network: "XX", station: "AAA", location: "", channel: "HHZ" };
  const response = { gain: 1 } as unknown as InstrumentResponse;
  const epoch = (samplingRate: number): ChannelEpoch => ({
    ...id,
    startDate: Date.UTC(2024, 0, 1),
    endDate: Infinity,
    samplingRate,
    azimuth: NaN,
    dip: NaN,
    latitude: NaN,
    longitude: NaN,
    elevation: NaN,
    response,
  });
  assertEquals(sampleRateWarning([epoch(99.9999)], response, 100, "s.xml"), null);
  assertEquals(sampleRateWarning([epoch(NaN)], response, 100, "s.xml"), null);
  assertEquals(
    sampleRateWarning([epoch(50)], response, 100, "s.xml"),
    "warning: XX.AAA..HHZ in s.xml: its channel epoch 2024-01-01T00:00:00.000Z .. open gives a " +
      "SampleRate of 50 Hz, but the data are sampled at 100 Hz (the wrong channel or epoch? its " +
      "FIR and decimation stages belong to another rate): its response is removed all the same",
  );
});

Deno.test("epochOverlapNote: overlapping epochs at a time are named with the one whose response is used (the later-starting, or the older where the later's stages disagree); one epoch, or one repeated, says nothing", () => {
  const id = { network: "XX", station: "AAA", location: "", channel: "HHZ" };
  const epoch = (start: number, disagreement?: string): ChannelEpoch => ({
    ...id,
    startDate: start,
    endDate: Infinity,
    samplingRate: 100,
    azimuth: NaN,
    dip: NaN,
    latitude: NaN,
    longitude: NaN,
    elevation: NaN,
    response: {
      gain: 1,
      ...(disagreement ? { disagreement } : {}),
    } as unknown as InstrumentResponse,
  });
  const t0 = Date.UTC(2023, 0, 1), t1 = Date.UTC(2023, 5, 1), t = Date.UTC(2024, 0, 1);
  const note = (epochs: ChannelEpoch[], time = t) =>
    epochOverlapNote(epochs, id, time, findResponse(epochs, id, time, "s.xml"), "s.xml");
  const both = "note: XX.AAA..HHZ in s.xml: its channel epochs 2023-06-01T00:00:00.000Z .. open " +
    "and 2023-01-01T00:00:00.000Z .. open overlap; where a sample falls in both, the response of ";
  assertEquals(
    note([epoch(t0), epoch(t1)]),
    both + "the later-starting, 2023-06-01T00:00:00.000Z .. open, is used",
  );
  assertEquals(
    note([epoch(t0), epoch(t1, "gains 20 % off")]),
    both + "the older, 2023-01-01T00:00:00.000Z .. open, is used (the later-starting one's " +
      "stages disagree with its InstrumentSensitivity)",
  );
  assertEquals(note([epoch(t0), epoch(t1)], Date.UTC(2023, 2, 1)), null, "before the newer");
  assertEquals(note([epoch(t0), epoch(t0)]), null, "one epoch repeated");
});

Deno.test("sampleRateWarning: 1e-4 relative is the bound from both sides, above the data's rate as below; a SampleRate of 0 is no rate; the epoch named is the one whose response is used", () => {
  const id = { network: "XX", station: "AAA", location: "", channel: "HHZ" };
  const epoch = (start: number, samplingRate: number): ChannelEpoch => ({
    ...id,
    startDate: start,
    endDate: Infinity,
    samplingRate,
    azimuth: NaN,
    dip: NaN,
    latitude: NaN,
    longitude: NaN,
    elevation: NaN,
    response: { gain: start } as unknown as InstrumentResponse,
  });
  const t0 = Date.UTC(2023, 0, 1), t1 = Date.UTC(2024, 0, 1);
  const warning = (rate: number) => {
    const e = epoch(t0, rate);
    return sampleRateWarning([e], e.response!, 100, "s.xml");
  };
  // 0.9e-4 off passes, 2e-4 off warns, on either side of 100 Hz.
  for (const rate of [99.991, 100.009, 0]) assertEquals(warning(rate), null, `${rate}`);
  for (const rate of [99.98, 100.02, 200]) {
    assert(
      warning(rate)?.includes(
        `gives a SampleRate of ${rate} Hz, but the data are sampled at 100 Hz`,
      ),
      `${rate}: ${warning(rate)}`,
    );
  }
  // Two epochs: the 2024 one's response at 50 Hz is named; the 2023 one's at 100 Hz is not.
  const epochs = [epoch(t0, 100), epoch(t1, 50)];
  assertEquals(sampleRateWarning(epochs, epochs[0].response!, 100, "s.xml"), null);
  assert(
    sampleRateWarning(epochs, epochs[1].response!, 100, "s.xml")?.startsWith(
      "warning: XX.AAA..HHZ in s.xml: its channel epoch 2024-01-01T00:00:00.000Z .. open gives " +
        "a SampleRate of 50 Hz",
    ),
  );
});

Deno.test("epochOverlapNote: two epochs that start together but end apart overlap, and the note says which is used without claiming its stages disagree", () => {
  const id = { network: "XX", station: "AAA", location: "", channel: "HHZ" };
  const epoch = (end: number): ChannelEpoch => ({
    ...id,
    startDate: Date.UTC(2023, 0, 1),
    endDate: end,
    samplingRate: 100,
    azimuth: NaN,
    dip: NaN,
    latitude: NaN,
    longitude: NaN,
    elevation: NaN,
    response: { gain: 1 } as unknown as InstrumentResponse,
  });
  const epochs = [epoch(Date.UTC(2025, 0, 1)), epoch(Infinity)];
  const t = Date.UTC(2024, 0, 1);
  const response = findResponse(epochs, id, t, "s.xml");
  assertEquals(response, epochs[0].response);
  const note = epochOverlapNote(epochs, id, t, response, "s.xml");
  assertEquals(
    note,
    "note: XX.AAA..HHZ in s.xml: its channel epochs 2023-01-01T00:00:00.000Z .. " +
      "2025-01-01T00:00:00.000Z and 2023-01-01T00:00:00.000Z .. open overlap; where a sample " +
      "falls in both, the response of the later-starting, 2023-01-01T00:00:00.000Z .. " +
      "2025-01-01T00:00:00.000Z, is used",
  );
});

Deno.test("channel epochs keep Azimuth and Dip (NaN when absent); findOrientation takes the covering epoch's and names what is missing", async () => {
  // TA.S06C's horizontals are coded N and E but point 354.2 and 84.2 degrees from north.
  const epochs = await readStationXmlFile(`${ESEC}stations/102/TA.S06C.xml`);
  const at = Date.UTC(2006, 6, 28, 1, 45);
  const of = (channel: string) =>
    findOrientation(epochs, { network: "TA", station: "S06C", location: "", channel }, at, "s.xml");
  assertEquals(of("BHN"), { azimuth: 354.2, dip: 0 });
  assertEquals(of("BHE"), { azimuth: 84.2, dip: 0 });
  assertEquals(of("BHZ"), { azimuth: 0, dip: -90 });
  const id = { network: "XX", station: "AAA", location: "", channel: "HH1" };
  const xml = formatStationXml([
    { ...vertical(id), azimuth: 37.5, dip: 0 },
    { ...vertical({ ...id, channel: "HH2" }), azimuth: 127.5, dip: 0 },
    { ...vertical({ ...id, channel: "HH3" }), azimuth: 0, dip: 0 },
  ])
    // HH2 without Azimuth, HH3 without Dip.
    .replace("<Azimuth>127.5</Azimuth>", "")
    .replace(/(code="HH3"[\s\S]*?)<Dip>0<\/Dip>/, "$1");
  const inv = await readStationXml(xml, "o.xml");
  assertEquals(inv.map((e) => [e.channel, e.azimuth, e.dip]), [
    ["HH1", 37.5, 0],
    ["HH2", NaN, 0],
    ["HH3", 0, NaN],
  ]);
  const t = Date.UTC(2024, 0, 1);
  assertEquals(findOrientation(inv, id, t, "o.xml"), { azimuth: 37.5, dip: 0 });
  const fail = (channel: string, time: number, text: string) => {
    const e = assertThrows(
      () => findOrientation(inv, { ...id, channel }, time, "o.xml"),
      SampleError,
      text,
    );
    assertEquals((e as SampleError).reason, "bad orientation");
  };
  fail(
    "HH2",
    t,
    "Cannot use the orientation of XX.AAA..HH2 in o.xml: expected an Azimuth and a Dip within [-90, 90] degrees: found azimuth none, dip 0",
  );
  fail("HH3", t, "found azimuth 0, dip none");
  fail("HH1", Date.UTC(2019, 0, 1), "no channel epoch covers 2019-01-01T00:00:00.000Z");
  fail("HHE", t, "Cannot find the orientation of XX.AAA..HHE in o.xml: no such channel");
});

Deno.test("a DIGITAL (Z-TRANSFORM) PolesZeros stage is a digital stage at its Decimation rate; an empty one only scales; an unknown transfer type fails naming it", async () => {
  const zpz = (
    zeros: [number, number][],
    poles: [number, number][],
    type = "DIGITAL (Z-TRANSFORM)",
  ) =>
    `<PolesZeros>${
      io("COUNTS", "COUNTS")
    }<PzTransferFunctionType>${type}</PzTransferFunctionType>` +
    `<NormalizationFactor>1</NormalizationFactor><NormalizationFrequency>1</NormalizationFrequency>${
      zeros.map(([re, im], i) =>
        `<Zero number="${i}"><Real>${re}</Real><Imaginary>${im}</Imaginary></Zero>`
      ).join("")
    }${
      poles.map(([re, im], i) =>
        `<Pole number="${i}"><Real>${re}</Real><Imaginary>${im}</Imaginary></Pole>`
      ).join("")
    }</PolesZeros>`;
  // Stage 2: a zero at z = −1 and a pole at z = 0.5 at 80 Hz: |H| = |z + 1| / |z − 0.5| on the
  // unit circle, z = e^{iθ}, θ = 2πf/80. Stage 3: no poles or zeros (a gain stage).
  const xml = channelXml([
    pz + gain(1000),
    zpz([[-1, 0]], [[0.5, 0]]) + dec(80, 2) + gain(1),
    zpz([], []) + dec(40, 1) + gain(1e6),
  ]);
  const r = findResponse(await readStationXml(xml, "z.xml"), DIG, Date.UTC(2021, 0, 1), "z.xml");
  assertEquals(r.digital, [
    { kind: "polesZeros", inputSampleRate: 80, zeros: [[-1, 0]], poles: [[0.5, 0]] },
  ]);
  const D = (f: number) => {
    const th = 2 * Math.PI * f / 80;
    return Math.hypot(Math.cos(th) + 1, Math.sin(th)) /
      Math.hypot(Math.cos(th) - 0.5, Math.sin(th));
  };
  const P = (f: number) => 1 / Math.hypot(2 * Math.PI * f, 200);
  const fr = [0.5, 2, 5, 10, 16, 19.5];
  assertClose(
    fr.map((f) => Math.hypot(...evaluateResponse(r, f))),
    fr.map((f) => 1e9 * P(f) * D(f) / (P(1) * D(1))),
    0,
    1e-12,
    "|H|",
  );
  // Without a Decimation rate it cannot be evaluated; an unknown transfer type is named.
  const cases = [
    [zpz([[-1, 0]], []) + gain(1), "stage 2 (PolesZeros) is a digital filter without a Decimation"],
    [
      zpz([[-1, 0]], [], "ANALOG") + dec(80, 1),
      "stage 2 (PolesZeros) has PzTransferFunctionType",
    ],
  ] as const;
  for (const [stage, msg] of cases) {
    const epochs = await readStationXml(channelXml([pz, stage]), "bad.xml");
    assertThrows(
      () => findResponse(epochs, DIG, Date.UTC(2021, 0, 1), "bad.xml"),
      SampleError,
      `Cannot use the response of XX.DIG..BHZ in bad.xml: ${msg}`,
    );
  }
});

Deno.test("an unreadable channel's dates without a zone are UTC, whatever the process's time zone", async () => {
  // A channel seisplotjs cannot read, dated as IRIS writes dates (no zone): its epoch is read
  // from the attributes, which Date.parse would take as local time (07:00Z in Denver).
  const ch: StationXmlChannel = {
    ...vertical({ network: "XX", station: "A", location: "", channel: "HHN" }),
    startDate: "2010-01-01T00:00:00",
    response: {
      sensitivity: 1e9,
      sensitivityFrequency: 1,
      inputUnits: "M/S",
      stages: [{ type: "radians", zeros: [], poles: [[-1, 0]], normalizationFactor: 1 }],
      digital: [],
    },
  };
  const xml = formatStationXml([ch]).replace("<StageGain><Value>1</Value>", "<StageGain>");
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/s.xml`, xml);
    const mod = new URL("../../lib/io/stationxml.ts", import.meta.url).href;
    const code = `import { readStationXmlFile } from "${mod}";\n` +
      `const [e] = await readStationXmlFile("${dir}/s.xml");\n` +
      `console.log(e.unreadable ? new Date(e.startDate).toISOString() : "readable");`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--quiet", "--lock=bench/deno.lock", code],
      env: { TZ: "America/Denver" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(
      new TextDecoder().decode(out.stdout).trim(),
      "2010-01-01T00:00:00.000Z",
      new TextDecoder().decode(out.stderr),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a Network, Station or Channel without startDate (optional in StationXML 1.0 and 1.1) reads, the channel's epoch open from the beginning of time", async () => {
  const id = { network: "XX", station: "A", location: "", channel: "HHZ" };
  const ch = (channel: string): StationXmlChannel => ({
    ...vertical({ ...id, channel }),
    response: {
      sensitivity: 1e9,
      sensitivityFrequency: 1,
      inputUnits: "M/S",
      stages: [{ type: "radians", zeros: [], poles: [[-1, 0]], normalizationFactor: 1 }],
      digital: [],
    },
  });
  const full = formatStationXml([ch("HHZ"), ch("HHN")]);
  const drop = (xml: string, tag: string) =>
    xml.replace(new RegExp(`(<${tag} [^>]*?) startDate="[^"]*"`), "$1");
  const noNet = drop(full, "Network");
  const noSta = drop(noNet, "Station");
  const noCha = drop(noSta, "Channel"); // HHZ, the first channel
  assert(!noNet.includes('<Network code="XX" startDate'), "the Network has no startDate");
  assert(!noCha.includes('<Channel code="HHZ" locationCode="" startDate'), "HHZ has none");
  const t = Date.UTC(2021, 0, 1);
  for (const [xml, what] of [[noNet, "network"], [noSta, "station"], [noCha, "channel"]]) {
    for (const pieceChars of [1 << 16, 200]) {
      // Before: "bad response: its Network XX cannot be read: XX Attribute startDate not found."
      const epochs = await readStationXml(xml, "open.xml", { pieceChars });
      assertEquals(epochs.map((e) => e.channel), ["HHZ", "HHN"], what);
      assertEquals(findResponse(epochs, id, t, "open.xml").sensitivity, 1e9, what);
      assertEquals(findOrientation(epochs, id, t, "open.xml"), { azimuth: 0, dip: -90 });
      const start = Date.UTC(2020, 0, 1);
      assertEquals(epochs.map((e) => e.startDate), [
        what === "channel" ? -Infinity : start,
        start,
      ]);
      // A channel without a startDate covers any time before its end, 1900 included.
      if (what === "channel") {
        assertEquals(findResponse(epochs, id, Date.UTC(1900, 0, 1), "open.xml").sensitivity, 1e9);
      }
    }
  }
  // Read channel by channel (another channel seisplotjs cannot read), the same holds.
  const at = noCha.indexOf('code="HHN"');
  const oneBad = noCha.slice(0, at) +
    noCha.slice(at).replace("<StageGain><Value>1</Value>", "<StageGain>");
  const epochs = await readStationXml(oneBad, "open.xml");
  assertEquals(epochs.map((e) => [e.channel, e.startDate, e.unreadable === undefined]), [
    ["HHZ", -Infinity, true],
    ["HHN", Date.UTC(2020, 0, 1), false],
  ]);
  assertEquals(findResponse(epochs, id, Date.UTC(1900, 0, 1), "open.xml").sensitivity, 1e9);
  // The unreadable channel without a startDate too: open from the beginning, saying why.
  const bothOpen = oneBad.replace(
    '<Channel code="HHN" locationCode="" startDate="2020-01-01T00:00:00Z"',
    '<Channel code="HHN" locationCode=""',
  );
  assert(bothOpen !== oneBad);
  const both = await readStationXml(bothOpen, "open.xml");
  assertEquals(both.map((e) => e.startDate), [-Infinity, -Infinity]);
  assertThrows(
    () => findResponse(both, { ...id, channel: "HHN" }, Date.UTC(1900, 0, 1), "open.xml"),
    SampleError,
    "Cannot use the response of XX.A..HHN in open.xml: the channel cannot be read: Gain",
  );
});

Deno.test("findResponse: the latest-starting of overlapping epochs applies even without a Response or with an unusable one, named with its epoch; an older epoch's is not borrowed", async () => {
  const id = { network: "XX", station: "A", location: "", channel: "HHZ" };
  const resp = {
    sensitivity: 1e9,
    sensitivityFrequency: 1,
    inputUnits: "M/S",
    stages: [{
      type: "radians" as const,
      zeros: [] as [number, number][],
      poles: [[-1, 0]] as [number, number][],
      normalizationFactor: 1,
    }],
    digital: [],
  };
  // An epoch open since January with a response, and the current instrument's, also open,
  // since February without one (the reviewer's overlap_noresp.xml).
  const old = { ...vertical(id), startDate: "2021-01-01T00:00:00Z", response: resp };
  const cur = { ...vertical(id), startDate: "2021-02-01T00:00:00Z" };
  for (const order of [[old, cur], [cur, old]]) {
    const epochs = await readStationXml(formatStationXml(order), "two.xml");
    assertEquals(epochs.length, 2);
    assertEquals(findResponse(epochs, id, Date.UTC(2021, 0, 15), "two.xml").sensitivity, 1e9);
    // Before: the January epoch's response, another instrument's.
    const e = assertThrows(
      () => findResponse(epochs, id, Date.UTC(2021, 1, 15), "two.xml"),
      SampleError,
      "Cannot find response of XX.A..HHZ in two.xml: its epoch 2021-02-01T00:00:00.000Z .. open, " +
        "the latest-starting of the 2 that cover 2021-02-15T00:00:00.000Z, has no Response with " +
        "an InstrumentSensitivity (the older epoch 2021-01-01T00:00:00.000Z .. open has one, but " +
        "the latest-starting epoch applies",
    );
    assertEquals((e as SampleError).reason, "no response");
  }
  // The current epoch's response cannot be used (a zero sensitivity): that is the verdict.
  const zero = { ...cur, response: { ...resp, sensitivity: 0 } };
  const epochs = await readStationXml(formatStationXml([old, zero]), "two.xml");
  const e = assertThrows(
    () => findResponse(epochs, id, Date.UTC(2021, 1, 15), "two.xml"),
    SampleError,
    "Cannot use the response of XX.A..HHZ in two.xml: its InstrumentSensitivity Value is 0",
  );
  assertEquals((e as SampleError).reason, "bad response");
  // One epoch alone without a Response is named too.
  assertThrows(
    () =>
      findResponse(
        [{ ...epochs[1], response: null, responseError: undefined }],
        id,
        Date.UTC(2021, 1, 15),
        "one.xml",
      ),
    SampleError,
    "Cannot find response of XX.A..HHZ in one.xml: the channel (epoch 2021-02-01T00:00:00.000Z " +
      ".. open) has no Response with an InstrumentSensitivity",
  );
  // Two copies of the current epoch, one with the response: that one.
  assertEquals(
    findResponse(
      [{ ...epochs[1], response: null, responseError: undefined }, {
        ...epochs[1],
        response: { ...resp, source: "" },
        responseError: undefined,
      }],
      id,
      Date.UTC(2021, 1, 15),
      "dup.xml",
    ).sensitivity,
    1e9,
  );
});

Deno.test("StationXML: a latitude or longitude out of range reads as unknown (NaN), not as given", async () => {
  const id = { network: "XX", station: "NOR", location: "", channel: "HHZ" };
  const read = async (latitude: number, longitude: number) =>
    (await readStationXml(formatStationXml([{ ...vertical(id), latitude, longitude }]), "s.xml"))[
      0
    ];
  const bad = await read(999, -181);
  assert(Number.isNaN(bad.latitude) && Number.isNaN(bad.longitude), JSON.stringify(bad));
  const edge = await read(-90, 180);
  assertEquals([edge.latitude, edge.longitude], [-90, 180]);
});

Deno.test("an epoch is matched by its station too, epoch changes are strictly inside the window, and a stage without a gain leaves the gains unchecked", async () => {
  const epochs = await readStationXml(channelXml([pz + gain(1000), gain(1e6)]), "dig.xml");
  const t = Date.UTC(2021, 0, 1);
  assertEquals(findResponse(epochs, DIG, t, "dig.xml").sensitivity, 1e9);
  assertThrows(
    () => findResponse(epochs, { ...DIG, station: "OTHER" }, t, "dig.xml"),
    SampleError,
    "Cannot find response of XX.OTHER..BHZ in dig.xml: no such channel",
  );
  // Epoch bounds at the window's own ends are no change inside it.
  const e = { ...epochs[0], startDate: 0, endDate: 1000 };
  const later = { ...e, startDate: 1000, endDate: Infinity };
  assertEquals(epochChangesIn([e, later], DIG, 500, 1500), [1000]);
  assertEquals(epochChangesIn([e, later], DIG, 1000, 1500), []);
  assertEquals(epochChangesIn([e, later], DIG, 0, 1000), []);
  // Stage 2's gain is no number: the product of the gains is unknown, so 1000 against a
  // sensitivity of 5e8 is no disagreement.
  const noGain = await readStationXml(
    channelXml([pz + gain(1000), coef([], []) + gain(NaN)], "M/S", 5e8),
    "nogain.xml",
  );
  const r = findResponse(noGain, DIG, t, "nogain.xml");
  assertEquals([r.sensitivity, r.disagreement], [5e8, undefined]);
});

Deno.test("a digital PolesZeros stage of poles only is kept, a Decimation rate of 0 is no rate, and units are checked at the first stage with a filter", async () => {
  const t = Date.UTC(2021, 0, 1);
  const polesOnly = `<PolesZeros>${io("COUNTS", "COUNTS")}` +
    `<PzTransferFunctionType>DIGITAL (Z-TRANSFORM)</PzTransferFunctionType>` +
    `<NormalizationFactor>1</NormalizationFactor><NormalizationFrequency>1</NormalizationFrequency>` +
    `<Pole number="0"><Real>0.5</Real><Imaginary>0</Imaginary></Pole></PolesZeros>`;
  const r = findResponse(
    await readStationXml(
      channelXml([pz + gain(1000), polesOnly + dec(80, 1) + gain(1e6)]),
      "p.xml",
    ),
    DIG,
    t,
    "p.xml",
  );
  assertEquals(r.digital, [{
    kind: "polesZeros",
    inputSampleRate: 80,
    zeros: [],
    poles: [[0.5, 0]],
  }]);
  const zero = await readStationXml(
    channelXml([pz + gain(1000), coef([0.5, 0.5], []) + dec(0, 1) + gain(1e6)]),
    "zero.xml",
  );
  assertThrows(
    () => findResponse(zero, DIG, t, "zero.xml"),
    SampleError,
    "stage 2 (Coefficients) is a digital filter without a Decimation InputSampleRate " +
      "(needed to evaluate it): found 0",
  );
  // Stage 1 is a gain only: the units are stage 2's, checked against the sensitivity's.
  const first = await readStationXml(channelXml([gain(1000), pz + gain(1e6)]), "g.xml");
  assertEquals(findResponse(first, DIG, t, "g.xml").disagreement, undefined);
  const nm = await readStationXml(
    channelXml([gain(1000), pz.replace(io("M/S", "V"), io("NM/S", "V")) + gain(1e6)]),
    "nm.xml",
  );
  assertThrows(
    () => findResponse(nm, DIG, t, "nm.xml"),
    SampleError,
    "stage 2 takes input in NM/S but the InstrumentSensitivity is per M/S",
  );
});
