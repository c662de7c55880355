/**
 * rotateToZne (lib/signal/rotate.ts): SEED's azimuth/dip convention, an analytic round trip
 * (ground motion projected on arbitrary directions and recovered), numpy's solve of the same
 * system, and the refusals (dependent directions, missing or impossible angles).
 */
import { assert, assertClose, assertEquals, assertThrows } from "../_assert.ts";
import {
  directionZne,
  MIN_ORIENTATION_DET,
  type Orientation,
  rotateToZne,
  zneMatrix,
} from "../../lib/signal/rotate.ts";
import { Rng } from "../../lib/util/rng.ts";

type Three<T> = [T, T, T];

Deno.test("directionZne follows SEED: azimuth clockwise from north, dip down from horizontal (-90 up)", () => {
  const cases: [number, number, number[]][] = [
    [0, -90, [1, 0, 0]], // a vertical sensor, positive up
    [0, 90, [-1, 0, 0]], // the same sensor mounted upside down
    [0, 0, [0, 1, 0]],
    [180, 0, [0, -1, 0]],
    [90, 0, [0, 0, 1]],
    [270, 0, [0, 0, -1]],
    [45, -30, [0.5, Math.sqrt(0.375), Math.sqrt(0.375)]],
  ];
  for (const [azimuth, dip, want] of cases) {
    assertClose(directionZne({ azimuth, dip }), want, 1e-15, 0, `${azimuth}/${dip}`);
  }
});

Deno.test("rotateToZne recovers a known Z, N, E motion projected on arbitrary azimuths and dips to 1e-12", () => {
  const rng = new Rng(21);
  const n = 257;
  const u: Three<Float64Array> = [0, 1, 2].map(() =>
    new Float64Array(n).map(() => rng.uniform(-2, 2))
  ) as Three<Float64Array>;
  let tried = 0;
  for (let trial = 0; trial < 50; trial++) {
    const o = [0, 1, 2].map(() => ({
      azimuth: rng.uniform(-360, 720),
      dip: rng.uniform(-90, 90),
    })) as Three<Orientation>;
    let det: number;
    try {
      det = zneMatrix(o).det;
    } catch {
      continue; // nearly dependent: refused, checked below
    }
    tried++;
    // What each sensor records: the motion along its direction.
    const d = o.map((x) => {
      const v = directionZne(x);
      return new Float64Array(n).map((_, i) => v[0] * u[0][i] + v[1] * u[1][i] + v[2] * u[2][i]);
    }) as Three<Float64Array>;
    const got = rotateToZne(d, o);
    // The inverse amplifies rounding by at most ~1/|det| (<= 10).
    for (let k = 0; k < 3; k++) {
      assertClose(got[k], u[k], 1e-12, 0, `trial ${trial} det ${det} comp ${k}`);
    }
  }
  assert(tried >= 30, `only ${tried} of 50 random geometries were independent enough`);
  // Z, 1, 2 of an OBS: horizontals at azimuth a and a + 90, rotation by -a.
  const a = 37.5 * Math.PI / 180;
  const h1 = u[1].map((x, i) => x * Math.cos(a) + u[2][i] * Math.sin(a));
  const h2 = u[1].map((x, i) => -x * Math.sin(a) + u[2][i] * Math.cos(a));
  const [z, nn, e] = rotateToZne([u[0], h1, h2], [
    { azimuth: 0, dip: -90 },
    { azimuth: 37.5, dip: 0 },
    { azimuth: 127.5, dip: 0 },
  ]);
  assertClose(z, u[0], 1e-15, 0);
  assertClose(nn, u[1], 1e-14, 0);
  assertClose(e, u[2], 1e-14, 0);
});

Deno.test("rotateToZne matches numpy.linalg.solve on non-orthogonal components", () => {
  // numpy 1.x: A[i] = [-sin dip, cos dip cos az, cos dip sin az] of the three (az, dip) below,
  // u = np.linalg.solve(A, d); det(A) = 0.9624471303784307.
  const o: Three<Orientation> = [
    { azimuth: 12.5, dip: -80 },
    { azimuth: 100, dip: 10 },
    { azimuth: 200, dip: -5 },
  ];
  const d: Three<Float64Array> = [
    new Float64Array([1.0, -2.0, 0.5, 3.25, 0.0]),
    new Float64Array([0.75, 1.5, -1.0, 2.0, -0.5]),
    new Float64Array([-0.25, 0.0, 2.5, -1.75, 1.0]),
  ];
  const want = [
    [
      0.9770702567205409,
      -1.9725160646086355,
      0.9222498901595597,
      2.9987955565006197,
      0.16578325189566234,
    ],
    [
      0.012113506654437552,
      -0.580761354385347,
      -2.1326857005803093,
      1.1300980124225521,
      -0.8231408896783278,
    ],
    [
      0.9503959455180927,
      1.091059612012945,
      -1.2420150582650067,
      2.7983748523751104,
      -0.6310045379305147,
    ],
  ];
  assertClose([zneMatrix(o).det], [0.9624471303784307], 1e-14, 0);
  const got = rotateToZne(d, o);
  for (let k = 0; k < 3; k++) assertClose(got[k], want[k], 1e-14, 0, `comp ${k}`);
});

Deno.test("rotateToZne refuses nearly dependent directions, missing angles, dips beyond 90 and unequal lengths", () => {
  const x = new Float64Array(4);
  const z = { azimuth: 0, dip: -90 };
  // Two horizontals 3 degrees apart: det = sin 3° = 0.052 < 0.1.
  assertThrows(
    () => rotateToZne([x, x, x], [z, { azimuth: 10, dip: 0 }, { azimuth: 13, dip: 0 }]),
    RangeError,
    "nearly linearly dependent (determinant 0.0523",
  );
  // Exactly parallel, and three horizontals (no vertical part at all).
  assertThrows(() => zneMatrix([z, z, { azimuth: 90, dip: 0 }]), RangeError, "determinant 0.0000");
  assertThrows(
    () => zneMatrix([{ azimuth: 0, dip: 0 }, { azimuth: 90, dip: 0 }, { azimuth: 45, dip: 0 }]),
    RangeError,
    "nearly linearly dependent",
  );
  // 6 degrees apart passes (sin 6° = 0.105).
  assert(
    Math.abs(zneMatrix([z, { azimuth: 10, dip: 0 }, { azimuth: 16, dip: 0 }]).det) >=
      MIN_ORIENTATION_DET,
  );
  assertThrows(
    () => zneMatrix([z, { azimuth: NaN, dip: 0 }, { azimuth: 90, dip: 0 }]),
    RangeError,
    "component 2 has azimuth NaN and dip 0",
  );
  assertThrows(
    () => zneMatrix([{ azimuth: 0, dip: -91 }, { azimuth: 0, dip: 0 }, { azimuth: 90, dip: 0 }]),
    RangeError,
    "within [-90, 90]",
  );
  assertThrows(
    () =>
      rotateToZne([x, x, new Float64Array(3)], [z, { azimuth: 0, dip: 0 }, {
        azimuth: 90,
        dip: 0,
      }]),
    TypeError,
    "equal lengths: found 4, 4, 3",
  );
});

Deno.test("zneMatrix accepts a determinant of exactly MIN_ORIENTATION_DET (the smallest accepted), refusing only below it", () => {
  // Up, north, and a horizontal at azimuth 5.739170477266787° (asin(0.1) in degrees, to the
  // float whose direction vectors give a determinant of exactly 0.1 with V8's fdlibm sin/cos).
  const o = [
    { azimuth: 0, dip: -90 },
    { azimuth: 0, dip: 0 },
    { azimuth: 5.739170477266787, dip: 0 },
  ] as const;
  assertEquals(MIN_ORIENTATION_DET, 0.1);
  assertEquals(Math.abs(zneMatrix(o).det), 0.1);
  assertThrows(
    () => zneMatrix([o[0], o[1], { azimuth: 5.7, dip: 0 }]),
    RangeError,
    "nearly linearly dependent",
  );
});
