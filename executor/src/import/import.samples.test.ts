import path from "node:path";
import { describe, expect, it } from "vitest";
import { SAMPLES_DIR } from "../../../test/fixtures/snapshot-zip.js";
import { testTargets, uniqueSchema } from "../../../test/fixtures/targets.js";
import { SAMPLE_ROWS } from "../../../test/fixtures/legacy-sample-zips.js";
import { importSnapshot } from "./index.js";

const sample = (p: string) => path.join(SAMPLES_DIR, p);

for (const target of testTargets()) {
  describe(`real Convex exports (legacy encoding) into ${target.name}`, () => {
    it("imports every table of the anouk app with the rows and shapes of the export", async () => {
      const url = await target.fresh();
      const schema = uniqueSchema();
      const result = await importSnapshot({
        snapshotPath: sample("legacy-anouk-app/backup-anouk-app-dev.zip"),
        target: url,
        schema,
      });
      const rows = Object.fromEntries(result.tables.map((t) => [t.table, t.rows]));
      expect(rows).toEqual(SAMPLE_ROWS.anoukDev);
      const cols = await target.query<{ convex_field: string; sql_type: string }>(
        url,
        `SELECT convex_field, sql_type FROM "${schema}"._convex_columns WHERE sql_table = 'sentences' ORDER BY convex_field`,
      );
      // sentences' shape is a union of four object shapes: every field of any member gets a column.
      expect(Object.fromEntries(cols.map((c) => [c.convex_field, c.sql_type]))).toMatchObject({
        blankWordIndices: target.sqlType("json"),
        distractorWords: target.sqlType("json"),
        text: target.sqlType("string"),
        type: target.sqlType("string"),
      });
      const [counts] = await target.query<{ n: number; with_indices: number }>(
        url,
        `SELECT CAST(count(*) AS INT) AS n, CAST(count("blankWordIndices") AS INT) AS with_indices FROM "${schema}".sentences`,
      );
      expect(counts!.n).toBe(74);
      expect(counts!.with_indices).toBeGreaterThan(0);
      expect(counts!.with_indices).toBeLessThan(74);
    });

    it("imports _storage metadata only on request, and the other sample", async () => {
      const url = await target.fresh();
      const schema = uniqueSchema();
      const withStorage = await importSnapshot({
        snapshotPath: sample("legacy-anouk-app/convex-backup.zip"),
        target: url,
        schema,
        includeStorage: true,
      });
      expect(withStorage.tables.map((t) => t.table)).toContain("_storage");
      const without = await importSnapshot({
        snapshotPath: sample("legacy-anouk-app/convex-backup.zip"),
        target: url,
        schema: uniqueSchema(),
      });
      expect(without.tables.map((t) => t.table)).not.toContain("_storage");
      expect(without.totalRows).toBe(withStorage.totalRows);
      expect(without.totalRows).toBeGreaterThan(0);
    });

    it("imports an export whose only table is empty (shape never)", async () => {
      const url = await target.fresh();
      const schema = uniqueSchema();
      const result = await importSnapshot({
        snapshotPath: sample("legacy-empty/cron-jobs-demo.zip"),
        target: url,
        schema,
      });
      expect(result.tables).toMatchObject([{ table: "messages", rows: 0, columns: 3 }]);
      const [row] = await target.query<{ n: number }>(
        url,
        `SELECT CAST(count(*) AS INT) AS n FROM "${schema}".messages`,
      );
      expect(row!.n).toBe(0);
    });
  });
}
