/**
 * One benchmark measurement in a process of its own (so that peak RSS belongs to it alone):
 *   tsx scripts/bench/run-one.ts read <zip>
 *   tsx scripts/bench/run-one.ts load <zip> <target> <schema>
 *   tsx scripts/bench/run-one.ts init-pglite <dir>
 *   tsx scripts/bench/run-one.ts duckdb-reference <zip> <duckdb file> <schema>   (see ./references.ts)
 *   tsx scripts/bench/run-one.ts mssql-channel <zip> <MB/s> [channel MB]   (see mssqlChannel below)
 * Prints one JSON line: { docs, bytes, seconds, peakRssMb }.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { importSnapshot } from "../../executor/src/import/index.js";
import { detectEncoding, readDocuments } from "../../executor/src/import/reader/documents.js";
import { discoverTables } from "../../executor/src/import/reader/layout.js";
import { ZipReader } from "../../executor/src/import/reader/zip.js";
import {
  encodeRow,
  mssqlValueRules,
  rowBytes,
  type Cell,
} from "../../executor/src/import/load/mssql/encode.js";
import { RowsChannel } from "../../executor/src/import/load/mssql/rows-channel.js";
import { DEFAULT_TUNING } from "../../executor/src/import/load/mssql/session.js";
import { TablePlan } from "../../executor/src/import/mapping/plan.js";
import { mssqlIdentifierRules } from "../../executor/src/import/load/mssql/sql.js";
import { duckdbReadJsonReference, extractDocuments } from "./references.js";

async function readOnly(zipPath: string): Promise<{ docs: number; bytes: number }> {
  const zip = await ZipReader.open(zipPath);
  let docs = 0;
  let bytes = 0;
  try {
    for (const table of discoverTables(zip.entries, { includeStorage: false })) {
      const encoding = await detectEncoding(zip, table);
      let last = 0;
      for await (const batch of readDocuments(zip, table, encoding)) {
        docs += batch.docs.length;
        last = batch.bytesRead;
      }
      bytes += last;
    }
  } finally {
    zip.close();
  }
  return { docs, bytes };
}

/**
 * The SQL Server path's memory without a server (none runs here): documents are decoded and encoded into bulk
 * rows as the session does (mssql/session.ts openWriter), pushed through the same byte-bounded RowsChannel, and
 * taken by a consumer that drains at `mbps` MB/s, slower than decoding, as a busy server behind a slow network
 * would. Peak RSS then shows whether the channel bounds memory; tedious' own socket buffers are not included.
 */
async function mssqlChannel(
  zipPath: string,
  mbps: number,
  channelBytes = DEFAULT_TUNING.channelBytes,
): Promise<{ docs: number; bytes: number }> {
  const zip = await ZipReader.open(zipPath);
  let docs = 0;
  let bytes = 0;
  try {
    for (const table of discoverTables(zip.entries, { includeStorage: false })) {
      const plan = new TablePlan(mssqlIdentifierRules, mssqlValueRules);
      const channel = new RowsChannel<Cell[]>(channelBytes, rowBytes);
      const consumer = (async () => {
        const started = performance.now();
        let taken = 0;
        for await (const row of channel) {
          taken += rowBytes(row);
          const due = started + (taken / (mbps * 1024 * 1024)) * 1000;
          if (due - performance.now() > 5) await new Promise((r) => setTimeout(r, due - performance.now()));
        }
      })();
      let last = 0;
      for await (const batch of readDocuments(zip, table, await detectEncoding(zip, table))) {
        for (const doc of batch.docs) plan.observe(doc);
        plan.takeAdded();
        await channel.push(batch.docs.map((doc, i) => encodeRow(plan.columns, doc, i)));
        docs += batch.docs.length;
        last = batch.bytesRead;
      }
      channel.end();
      await consumer;
      bytes += last;
    }
  } finally {
    zip.close();
  }
  return { docs, bytes };
}

async function main() {
  const [mode, zipPath, target, schema] = process.argv.slice(2);
  if (mode === "duckdb-reference") {
    const dir = await mkdtemp(path.join(os.tmpdir(), "bench-jsonl-"));
    try {
      const documents = await extractDocuments(zipPath!, dir);
      const { seconds, docs } = await duckdbReadJsonReference(target!, schema!, documents);
      const peakRssMb = process.resourceUsage().maxRSS / 1024;
      process.stdout.write(JSON.stringify({ docs, bytes: 0, seconds, peakRssMb }) + "\n");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return;
  }
  const started = performance.now();
  let figures: { docs: number; bytes: number };
  if (mode === "init-pglite") {
    const { PGlite } = await import("@electric-sql/pglite");
    await (await PGlite.create({ dataDir: zipPath! })).close();
    figures = { docs: 0, bytes: 0 };
  } else if (mode === "read") figures = await readOnly(zipPath!);
  else if (mode === "mssql-channel")
    figures = await mssqlChannel(zipPath!, Number(target), schema ? Number(schema) * 1024 * 1024 : undefined);
  else if (mode === "load") {
    const result = await importSnapshot({
      snapshotPath: zipPath!,
      target: target!,
      schema: schema ?? "bench",
    });
    figures = { docs: result.totalRows, bytes: result.tables.reduce((n, t) => n + t.bytes, 0) };
  } else throw new Error(`unknown mode ${mode}`);
  const seconds = (performance.now() - started) / 1000;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ ...figures, seconds, peakRssMb }) + "\n");
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
