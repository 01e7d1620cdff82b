import { writeFile, readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { fakeId, tempSnapshot } from "../../../test/fixtures/snapshot-zip.js";
import { testTargets, uniqueSchema } from "../../../test/fixtures/targets.js";
import { ImportCancelledError, importSnapshot, SnapshotFormatError } from "./index.js";
import type { ConvexObject } from "./values.js";

const doc = (n: number, fields: Record<string, unknown> = {}) =>
  ({ _creationTime: 1.7e12 + n, _id: fakeId(n), ...fields }) as ConvexObject;

for (const target of testTargets()) {
  describe(`bad input and cancellation leave the target unchanged (${target.name})`, () => {
    async function loadedBaseline() {
      const url = await target.fresh();
      const schema = uniqueSchema();
      const good = await tempSnapshot([
        { name: "a", docs: [doc(1, { x: 1n })] },
        { name: "b", docs: [doc(2, { y: "old" })] },
      ]);
      await importSnapshot({ snapshotPath: good, target: url, schema });
      const snapshot = async () => ({
        a: await target.query(url, `SELECT "_id", ${target.text("x")} AS x FROM "${schema}".a ORDER BY 1`),
        b: await target.query(url, `SELECT "_id", y FROM "${schema}".b ORDER BY 1`),
        meta: await target.query(
          url,
          `SELECT convex_table, CAST(row_count AS INT) AS n FROM "${schema}"._convex_tables ORDER BY 1`,
        ),
        staging: await target.query(url, target.stagingCountSql(schema)),
      });
      return { url, schema, before: await snapshot(), snapshot };
    }

    it("names the entry and line of a line that is not JSON, and changes nothing", async () => {
      const { url, schema, before, snapshot } = await loadedBaseline();
      const bad = await tempSnapshot([
        { name: "a", docs: [doc(1, { x: 2n }), doc(5, { x: 3n })] },
        {
          name: "b",
          rawDocuments: `{"_creationTime":1.0,"_id":"${fakeId(2)}","y":"new"}\n{"_creationTime":2.0,"_id":"x",\n`,
        },
      ]);
      const err = await importSnapshot({ snapshotPath: bad, target: url, schema }).catch((e) => e);
      expect(err).toBeInstanceOf(SnapshotFormatError);
      expect(err.message).toMatch(/^b\/documents\.jsonl line 2: not valid JSON/);
      expect(await snapshot()).toEqual(before);
    });

    it("refuses integers outside int64, naming the line", async () => {
      const { url, schema, before, snapshot } = await loadedBaseline();
      const bad = await tempSnapshot([
        { name: "a", rawDocuments: `{"_creationTime":1.0,"_id":"${fakeId(1)}","x":9223372036854775808}\n` },
      ]);
      const err = await importSnapshot({ snapshotPath: bad, target: url, schema }).catch((e) => e);
      expect(err.message).toBe(
        "a/documents.jsonl line 1: integer 9223372036854775808 is outside the int64 range",
      );
      expect(await snapshot()).toEqual(before);
    });

    it("refuses a value that contradicts the legacy shape, naming line and field", async () => {
      const { url, schema, before, snapshot } = await loadedBaseline();
      const bad = await tempSnapshot([
        {
          name: "a",
          rawDocuments: `{"_creationTime":1.0,"_id":"${fakeId(1)}","x":"12"}\n{"_creationTime":2.0,"_id":"${fakeId(3)}","x":"twelve"}\n`,
          generatedSchema: [JSON.stringify('{"_creationTime": normalfloat64, "_id": id<10001>, "x": int64}')],
        },
      ]);
      const err = await importSnapshot({ snapshotPath: bad, target: url, schema }).catch((e) => e);
      expect(err).toBeInstanceOf(SnapshotFormatError);
      expect(err.where).toBe("a/documents.jsonl line 2 field x");
      expect(await snapshot()).toEqual(before);
    });

    it("refuses a truncated ZIP by name", async () => {
      const { url, schema, before, snapshot } = await loadedBaseline();
      const zip = await tempSnapshot([
        { name: "a", docs: Array.from({ length: 100 }, (_, i) => doc(i, { x: BigInt(i) })) },
      ]);
      const bytes = await readFile(zip);
      await writeFile(zip, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      const err = await importSnapshot({ snapshotPath: zip, target: url, schema }).catch((e) => e);
      expect(err).toBeInstanceOf(SnapshotFormatError);
      expect(err.message).toMatch(/^snapshot_happy-animal-123_\d+\.zip: not a readable ZIP archive/);
      expect(await snapshot()).toEqual(before);
    });

    it("refuses duplicate _id values when building the primary key", async () => {
      const { url, schema, before, snapshot } = await loadedBaseline();
      const bad = await tempSnapshot([{ name: "a", docs: [doc(1, { x: 1n }), doc(1, { x: 2n })] }]);
      const err = await importSnapshot({ snapshotPath: bad, target: url, schema }).catch((e) => e);
      // PostgreSQL's primary key refuses them; DuckDB has no primary key (see load/duckdb/sql.ts) but checks.
      expect(err.message).toMatch(
        /^table a: (cannot add the primary key on _id|_id must be unique, but ".+" occurs 2 times)/,
      );
      expect(await snapshot()).toEqual(before);
    });

    it.skipIf(target.keepsNulCharacter)(
      "refuses U+0000 in text (PostgreSQL cannot store it), naming line and field",
      async () => {
        const { url, schema, before, snapshot } = await loadedBaseline();
        const bad = await tempSnapshot([
          { name: "b", docs: [doc(2, { y: "ok" }), doc(3, { y: "nul\u0000here" })] },
        ]);
        const err = await importSnapshot({ snapshotPath: bad, target: url, schema }).catch((e) => e);
        expect(err.where).toBe("b/documents.jsonl line 2 field y");
        expect(await snapshot()).toEqual(before);
      },
    );

    it.runIf(target.keepsNulCharacter)("keeps U+0000 in text where the target can hold it", async () => {
      const { url, schema } = await loadedBaseline();
      const zip = await tempSnapshot([{ name: "b", docs: [doc(3, { y: "nul\u0000here" })] }]);
      await importSnapshot({ snapshotPath: zip, target: url, schema });
      expect(await target.query(url, `SELECT y FROM "${schema}".b`)).toEqual([{ y: "nul\u0000here" }]);
    });

    it("names unknown tables in --tables and lists the ones that exist", async () => {
      const { url, schema, before, snapshot } = await loadedBaseline();
      const zip = await tempSnapshot([{ name: "a", docs: [doc(1)] }]);
      await expect(
        importSnapshot({ snapshotPath: zip, target: url, schema, tables: ["nope"] }),
      ).rejects.toThrow("table(s) not in the snapshot: nope. Available: a");
      expect(await snapshot()).toEqual(before);
    });

    it("cancels mid-load through the AbortSignal and rolls back", async () => {
      const { url, schema, before, snapshot } = await loadedBaseline();
      const docs = Array.from({ length: 20_000 }, (_, i) => doc(i, { x: BigInt(i), pad: "p".repeat(200) }));
      const zip = await tempSnapshot([
        { name: "a", docs },
        { name: "b", docs: [doc(9, { y: "new" })] },
      ]);
      const controller = new AbortController();
      const err = await importSnapshot({
        snapshotPath: zip,
        target: url,
        schema,
        progressIntervalMs: 0,
        signal: controller.signal,
        onProgress: (p) => {
          if ((p.tables[0]?.rows ?? 0) > 2000) controller.abort();
        },
      }).catch((e) => e);
      expect(err).toBeInstanceOf(ImportCancelledError);
      expect(await snapshot()).toEqual(before);
    });
  });
}
