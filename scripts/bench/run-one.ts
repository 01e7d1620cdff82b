/**
 * One benchmark measurement in a process of its own (so that peak RSS belongs to it alone):
 *   tsx scripts/bench/run-one.ts read <zip>
 *   tsx scripts/bench/run-one.ts load <zip> <target> <schema>
 *   tsx scripts/bench/run-one.ts init-pglite <dir>
 *   tsx scripts/bench/run-one.ts duckdb-reference <zip> <duckdb file> <schema>   (see ./references.ts)
 * Prints one JSON line: { docs, bytes, seconds, peakRssMb }.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { importSnapshot } from "../../executor/src/import/index.js";
import { detectEncoding, readDocuments } from "../../executor/src/import/reader/documents.js";
import { discoverTables } from "../../executor/src/import/reader/layout.js";
import { ZipReader } from "../../executor/src/import/reader/zip.js";
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
