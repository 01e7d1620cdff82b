/**
 * What a bulk load sends, produced by tedious itself (BulkLoad and BulkLoadPayload from node_modules/tedious)
 * with the columns declared by bulk.ts.
 */
import tedious from "tedious";
import { BulkLoadPayload } from "tedious/lib/bulk-load-payload.js";
import { describe, expect, it } from "vitest";
import type { PlannedColumn } from "../../mapping/types.js";
import { defineBulkColumns, insertBulkSql } from "./bulk.js";
import { newBulkLoad } from "./testing/recording-wire.js";

const col = (sqlName: string, type: PlannedColumn["type"], required = false): PlannedColumn => ({
  field: sqlName,
  sqlName,
  type,
  required,
});

async function payloadBytes(bulk: tedious.BulkLoad, rows: unknown[][]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of new BulkLoadPayload(bulk, rows)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe("INSERT BULK as tedious sends it", () => {
  it("quotes column names with ] in the statement and sends the plain name in COLMETADATA", () => {
    const bulk = newBulkLoad("[s].[t]");
    defineBulkColumns(bulk, [col("_id", "id", true), col("we]ird", "string"), col("n", "int64")]);
    expect(bulk.getBulkInsertSql()).toBe(
      "insert bulk [s].[t]([_id] nvarchar(128), [we]]ird] nvarchar(max), [n] bigint) WITH (KEEP_NULLS,TABLOCK)",
    );
    // tedious' own builder leaves `]` single, which ends the identifier early: the defect this replaces.
    expect(tedious.BulkLoad.prototype.getBulkInsertSql.call(bulk)).toContain("[we]ird] nvarchar(max)");
    const meta = bulk.getColMetaData();
    const plain = Buffer.concat([Buffer.from([6]), Buffer.from("we]ird", "ucs2")]); // B_VARCHAR: length, UCS-2
    expect(meta.includes(plain)).toBe(true);
    expect(meta.includes(Buffer.from("we]]ird", "ucs2"))).toBe(false);
  });

  it("builds the same statement as tedious for names without ]", () => {
    const bulk = newBulkLoad("[convex__staging].[users]");
    defineBulkColumns(bulk, [
      col("_id", "id", true),
      col("_creationTime", "float64", true),
      col("_creationTimeUtc", "timestamp", true),
      col("name", "string"),
      col("ok", "boolean"),
      col("blob", "bytes"),
      col("doc", "json"),
    ]);
    expect(insertBulkSql(bulk)).toBe(tedious.BulkLoad.prototype.getBulkInsertSql.call(bulk));
  });

  it("puts the 8 bytes of -0 on the wire for a FLOAT -0 (tedious' Float alone sends 0)", async () => {
    const ours = newBulkLoad("[s].[t]");
    defineBulkColumns(ours, [col("f", "float64")]);
    const minusZero = Buffer.from([0x08, 0, 0, 0, 0, 0, 0, 0, 0x80]); // length 8, IEEE 754 -0 little-endian
    expect((await payloadBytes(ours, [[-0]])).includes(minusZero)).toBe(true);

    const plain = newBulkLoad("[s].[t]");
    plain.addColumn("f", tedious.TYPES.Float, { nullable: true });
    expect((await payloadBytes(plain, [[-0]])).includes(minusZero)).toBe(false);
    // The copy describes the column exactly as tedious' Float does: TYPE_INFO FLTN (0x6D) of length 8.
    expect(ours.getColMetaData()).toEqual(plain.getColMetaData());
    expect(ours.getColMetaData().includes(Buffer.from([0x6d, 0x08, 0x01, 0x66, 0x00]))).toBe(true);
    expect(ours.getBulkInsertSql()).toBe("insert bulk [s].[t]([f] float) WITH (KEEP_NULLS,TABLOCK)");
  });
});
