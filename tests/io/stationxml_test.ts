import { assert, assertClose, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import {
  findResponse,
  formatStationXml,
  readStationXml,
  readStationXmlFile,
} from "../../lib/io/stationxml.ts";
import { SampleError } from "../../lib/io/sample_error.ts";
import { evaluateResponse } from "../../lib/signal/response.ts";

const ESEC = new URL("../../../shared/data/esec_massmovements/", import.meta.url).pathname;

Deno.test("all 107 ESEC StationXML files parse, every channel with a response", async () => {
  let files = 0, channels = 0;
  for (const ev of Deno.readDirSync(`${ESEC}stations`)) {
    for (const f of Deno.readDirSync(`${ESEC}stations/${ev.name}`)) {
      const epochs = await readStationXmlFile(`${ESEC}stations/${ev.name}/${f.name}`);
      files++;
      channels += epochs.length;
      for (const e of epochs) {
        assert(e.response !== null, `${f.name} ${e.channel} has a response`);
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
  const xml = formatStationXml([{
    network: "XX",
    station: "NOR",
    location: "",
    channel: "HHZ",
    latitude: 0,
    longitude: 0,
    elevation: 0,
    samplingRate: 100,
    startDate: "2020-01-01T00:00:00Z",
    azimuth: 0,
    dip: -90,
  }]);
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
});
