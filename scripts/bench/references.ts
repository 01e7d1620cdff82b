/**
 * The reference column of the import benchmark: each target's own bulk path, on the same rows, into the same
 * table as the import built, timed in the same run.
 *
 * - PostgreSQL: `psql \copy … FROM <csv>` into an empty copy of each imported table, then its primary key (the
 *   import builds the key after loading too). The CSV files are dumped from the imported tables beforehand,
 *   so they hold exactly the rows the import wrote; dumping is not timed.
 * - DuckDB: `INSERT INTO <copy> SELECT … FROM read_json('<documents.jsonl>', columns = …)`: DuckDB parsing the
 *   snapshot's own documents (extracted from the ZIP beforehand, not timed) into the same column types. Run in a
 *   process of its own (run-one.ts `duckdb-reference`) with the import's memory settings, so its peak RSS is its own.
 */
import { execFile } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { DEFAULT_DUCKDB_SETTINGS } from "../../executor/src/import/load/duckdb/instance.js";
import { qualifiedName, quoteIdent, quoteLiteral } from "../../executor/src/import/load/duckdb/sql.js";
import type { ColumnType } from "../../executor/src/import/mapping/types.js";
import { discoverTables } from "../../executor/src/import/reader/layout.js";
import { ZipReader } from "../../executor/src/import/reader/zip.js";

const run = promisify(execFile);

interface MappedColumn {
  sql_table: string;
  convex_field: string;
  sql_column: string;
  sql_type: string;
}

async function psql(pgUrl: string, script: string): Promise<string> {
  const { stdout } = await run(
    "psql",
    [pgUrl, "-v", "ON_ERROR_STOP=1", "-X", "-q", "-A", "-t", "-c", script],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return stdout;
}

/** Seconds `psql \copy` takes to load the rows of every table of `schema` (a finished import) again. */
export async function pgCopyReference(pgUrl: string, schema: string, workDir: string): Promise<number> {
  const dir = path.join(workDir, "pg-csv");
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const ref = `${schema}_ref`;
  const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
  const columns = (await psql(
    pgUrl,
    `SELECT json_agg(c ORDER BY sql_table, ordinal_position) FROM ${q(schema)}._convex_columns c`,
  )) as string;
  const mapped = JSON.parse(columns) as (MappedColumn & { sql_type: string })[];
  const tables = [...new Set(mapped.map((c) => c.sql_table))];
  const setup: string[] = [`DROP SCHEMA IF EXISTS ${q(ref)} CASCADE;`, `CREATE SCHEMA ${q(ref)};`];
  const load: string[] = [];
  for (const table of tables) {
    // _creationTimeUtc is a generated column: it is computed, never copied.
    const copied = mapped.filter((c) => c.sql_table === table && c.sql_type !== "timestamptz");
    const list = copied.map((c) => q(c.sql_column)).join(", ");
    const csv = path.join(dir, `${tables.indexOf(table)}.csv`);
    setup.push(`\\copy (SELECT ${list} FROM ${q(schema)}.${q(table)}) TO '${csv}' CSV`);
    setup.push(
      `CREATE TABLE ${q(ref)}.${q(table)} (LIKE ${q(schema)}.${q(table)} INCLUDING GENERATED INCLUDING DEFAULTS);`,
    );
    load.push(`\\copy ${q(ref)}.${q(table)} (${list}) FROM '${csv}' CSV`);
    load.push(`ALTER TABLE ${q(ref)}.${q(table)} ADD PRIMARY KEY (${q("_id")});`);
  }
  await psqlScript(pgUrl, setup.join("\n"));
  const started = performance.now();
  await psqlScript(pgUrl, load.join("\n"));
  const seconds = (performance.now() - started) / 1000;
  await psql(pgUrl, `DROP SCHEMA ${q(ref)} CASCADE`);
  await rm(dir, { recursive: true, force: true });
  return seconds;
}

async function psqlScript(pgUrl: string, script: string): Promise<void> {
  const child = execFile("psql", [pgUrl, "-v", "ON_ERROR_STOP=1", "-X", "-q", "-f", "-"]);
  const done = new Promise<void>((resolve, reject) => {
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`psql failed: ${stderr}`))));
  });
  child.stdin!.end(script);
  await done;
}

/** read_json types and the SELECT expression that turns the document's field into the import's column. */
function readJsonColumn(type: ColumnType, field: string): { jsonType?: string; expr: string } {
  const f = quoteIdent(field);
  switch (type) {
    case "timestamp":
      return { expr: `to_timestamp(${quoteIdent("_creationTime")} / 1000)` };
    case "bytes":
      return { jsonType: "JSON", expr: `from_base64(json_extract_string(${f}, '$."$bytes"'))` };
    case "json":
      return { jsonType: "JSON", expr: f };
    case "int64":
      return { jsonType: "BIGINT", expr: f };
    case "float64":
      return { jsonType: "DOUBLE", expr: f };
    case "boolean":
      return { jsonType: "BOOLEAN", expr: f };
    default:
      return { jsonType: "VARCHAR", expr: f };
  }
}

const TYPE_OF_SQL: Record<string, ColumnType> = {
  TIMESTAMPTZ: "timestamp",
  BLOB: "bytes",
  JSON: "json",
  BIGINT: "int64",
  DOUBLE: "float64",
  BOOLEAN: "boolean",
};

/** Extracts each table's documents.jsonl (not timed). */
export async function extractDocuments(zipPath: string, dir: string): Promise<Map<string, string>> {
  await mkdir(dir, { recursive: true });
  const zip = await ZipReader.open(zipPath);
  const files = new Map<string, string>();
  try {
    for (const table of discoverTables(zip.entries, { includeStorage: false })) {
      const file = path.join(dir, `${files.size}.jsonl`);
      await pipeline(await zip.openStream(table.documentsEntry), createWriteStream(file));
      files.set(table.qualified, file);
    }
  } finally {
    zip.close();
  }
  return files;
}

/**
 * In the calling process: loads the extracted documents into empty copies of the tables an import put into
 * `schema` of the DuckDB file, with DuckDB's own JSON reader. Returns the seconds the loads took.
 */
export async function duckdbReadJsonReference(
  file: string,
  schema: string,
  documents: ReadonlyMap<string, string>,
): Promise<{ seconds: number; docs: number }> {
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const instance = await DuckDBInstance.create(file, {
    memory_limit: DEFAULT_DUCKDB_SETTINGS.memoryLimit,
    threads: String(DEFAULT_DUCKDB_SETTINGS.threads),
  });
  const db = await instance.connect();
  try {
    const ref = `${schema}_ref`;
    const mapped = (
      await db.runAndReadAll(
        `SELECT c.*, t.component, t.convex_table FROM ${qualifiedName(schema, "_convex_columns")} c
           JOIN ${qualifiedName(schema, "_convex_tables")} t USING (sql_table) ORDER BY sql_table, ordinal_position`,
      )
    ).getRowObjectsJS() as unknown as (MappedColumn & { component: string; convex_table: string })[];
    await db.run(`DROP SCHEMA IF EXISTS ${quoteIdent(ref)} CASCADE; CREATE SCHEMA ${quoteIdent(ref)}`);
    const statements: string[] = [];
    for (const table of new Set(mapped.map((c) => c.sql_table))) {
      const cols = mapped.filter((c) => c.sql_table === table);
      const qualified = cols[0]!.component
        ? `${cols[0]!.component}/${cols[0]!.convex_table}`
        : cols[0]!.convex_table;
      const jsonl = documents.get(qualified);
      if (!jsonl) continue;
      await db.run(
        `CREATE TABLE ${qualifiedName(ref, table)} AS SELECT * FROM ${qualifiedName(schema, table)} LIMIT 0`,
      );
      const parts = cols.map((c) => ({
        column: c,
        ...readJsonColumn(TYPE_OF_SQL[c.sql_type] ?? "string", c.convex_field),
      }));
      const jsonColumns = parts
        .filter((p) => p.jsonType)
        .map((p) => `${quoteLiteral(p.column.convex_field)}: ${quoteLiteral(p.jsonType!)}`)
        .join(", ");
      statements.push(
        `INSERT INTO ${qualifiedName(ref, table)} (${parts.map((p) => quoteIdent(p.column.sql_column)).join(", ")}) ` +
          `SELECT ${parts.map((p) => p.expr).join(", ")} FROM read_json(${quoteLiteral(jsonl)}, ` +
          `format = 'newline_delimited', columns = {${jsonColumns}})`,
      );
    }
    const started = performance.now();
    let docs = 0;
    for (const sql of statements) {
      const reader = await db.runAndReadAll(sql);
      docs += Number(reader.getRows()[0]?.[0] ?? 0);
    }
    const seconds = (performance.now() - started) / 1000;
    await db.run(`DROP SCHEMA ${quoteIdent(ref)} CASCADE`);
    return { seconds, docs };
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}
