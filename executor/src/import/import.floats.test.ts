import { describe, expect, it } from "vitest";
import { fakeId, tempSnapshot } from "../../../test/fixtures/snapshot-zip.js";
import { testTargets, uniqueSchema } from "../../../test/fixtures/targets.js";
import { importSnapshot } from "./index.js";
import { positional, toExportJson, type ConvexObject } from "./values.js";

/** Every decimal magnitude a float64 has, plus its extremes and integers that a double holds exactly. */
function floatsOfEveryMagnitude(): number[] {
  const values: number[] = [
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    -Number.MAX_VALUE,
    2 ** 53,
    2 ** 53 + 2,
    0.1,
    5.0,
  ];
  for (let k = -323; k <= 308; k++) {
    values.push(Number(`1e${k}`), -Number(`1e${k}`));
    const long = Number(`1.2345678901234567e${k}`);
    if (Number.isFinite(long) && long !== 0) values.push(long);
  }
  return values;
}

describe("positional (for jsonb)", () => {
  it("writes exponent-form floats from 1e21 up in full with .0, and leaves everything else alone", () => {
    expect(positional("1e+21")).toBe("1000000000000000000000.0");
    expect(positional("-1.25e+22")).toBe("-12500000000000000000000.0");
    expect(positional("1.7976931348623157e+308")).toBe(`17976931348623157${"0".repeat(292)}.0`);
    for (const same of ["1e-7", "5.0", "0.1", "-0.0", "123.5"]) expect(positional(same)).toBe(same);
    expect(toExportJson([1e21, 1e-7, 42n], { positionalLargeFloats: true })).toBe(
      "[1000000000000000000000.0,1e-7,42]",
    );
  });
});

for (const target of testTargets()) {
  describe(`floats in JSON columns keep their float marker (${target.name})`, () => {
    it("every magnitude of float64 reads back as the same value, with a . or an exponent", async () => {
      const url = await target.fresh();
      const schema = uniqueSchema();
      const floats = floatsOfEveryMagnitude();
      const doc = {
        _creationTime: 1.7e12,
        _id: fakeId(1),
        list: floats,
        one: 1e21,
      } as unknown as ConvexObject;
      const zip = await tempSnapshot([
        { name: "floats", docs: [doc, { ...doc, _id: fakeId(2), one: [1e22] }] },
      ]);
      await importSnapshot({ snapshotPath: zip, target: url, schema });
      const rows = await target.query<{ list: string; one: string }>(
        url,
        `SELECT ${target.text("list")} AS list, ${target.text("one")} AS one FROM "${schema}".floats ORDER BY "_id"`,
      );
      const tokens = rows[0]!.list.replace(/^\[|\]$/g, "").split(/,\s*/);
      expect(tokens).toHaveLength(floats.length);
      tokens.forEach((token, i) => {
        // Not an integer-looking token: 1e21 must not come back as 1000000000000000000000.
        expect(token, `value ${floats[i]}`).toMatch(/[.eE]/);
        expect(Object.is(Number(token), floats[i]), `${token} is ${floats[i]}`).toBe(true);
      });
      // A mixed column (a float here, an array there) holds the float itself as JSON.
      expect(rows[0]!.one).toMatch(/[.eE]/);
      expect(Number(rows[0]!.one)).toBe(1e21);
      expect(rows[1]!.one.replace(/\s/g, "")).toMatch(/^\[(1e\+?22|10000000000000000000000\.0)\]$/);
    });
  });
}
