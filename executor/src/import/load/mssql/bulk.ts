/**
 * Declares a staging table's columns on a tedious bulk load. A bulk load sends two things that name columns:
 * the `insert bulk` statement (T-SQL text, where a name is a bracket-quoted identifier) and the COLMETADATA token
 * (binary, where ColName is the plain name). tedious' getBulkInsertSql (node_modules/tedious/lib/bulk-load.js)
 * writes `'[' + name + ']'` without doubling `]`, so a name with `]` breaks the statement; passing the name
 * pre-escaped would fix the statement but put the escaped name into COLMETADATA. Microsoft's own client does
 * what the server expects: escaped in the statement (SqlBulkCopy.AppendColumnNameAndTypeName, "abc[] will become
 * [abc[]]]"), and in COLMETADATA the name as the server itself reported it (SqlBulkCopy.WriteMetaData sends the
 * metadata of its `SELECT … FROM <table>` with SET FMTONLY ON). So the columns are added with their plain names
 * and the statement is built by insertBulkSql below: tedious' builder with the identifier quoted.
 * UNVERIFIED against a live server (bulk-load.test.ts checks the bytes tedious produces).
 */
import type tedious from "tedious";
import type { PlannedColumn } from "../../mapping/types.js";
import { bulkColumn } from "./encode.js";
import { quoteIdent } from "./sql.js";

/** tedious' `getBulkInsertSql` with each column name quoted as a T-SQL identifier. */
export function insertBulkSql(bulk: tedious.BulkLoad): string {
  const columns = bulk.columns.map((c) => `${quoteIdent(c.name)} ${c.type.declaration(c)}`);
  return `insert bulk ${bulk.table}(${columns.join(", ")})${bulk.getOptionsSql()}`;
}

export function defineBulkColumns(bulk: tedious.BulkLoad, columns: readonly PlannedColumn[]): void {
  for (const col of columns) {
    const c = bulkColumn(col);
    bulk.addColumn(c.name, c.type, c.options);
  }
  bulk.getBulkInsertSql = () => insertBulkSql(bulk);
}
