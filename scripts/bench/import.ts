/**
 * npm run bench:import [-- --sizes 100,1024 --targets read,duckdb,postgres,mssql-channel,pglite]
 *
 * Generates synthetic uniform-encoding snapshots (sizes in MB of uncompressed documents; default 100 and 1024,
 * cached in bench-data/) and prints, for each: docs/s, MB/s and peak RSS for (a) read + decode only — the
 * ceiling — and (b) loading into DuckDB, PostgreSQL (PG_URL, default the local server) and, when asked for,
 * PGlite, and (mssql-channel) the SQL Server path's encoding and row channel against a slow consumer, for its
 * memory (no SQL Server runs here). Each load is followed by its reference (./references.ts): the target's own
 * bulk path on the same rows into the same tables — DuckDB's read_json, PostgreSQL's `psql \copy` — and the
 * import's time as a multiple of it.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { parseArgs, promisify } from "node:util";
import { bar } from "../../executor/src/cli/progress.js";
import { formatBytes, renderTable } from "../../executor/src/cli/format.js";
import { generateSnapshot } from "./generate.js";
import { pgCopyReference } from "./references.js";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
const DATA = path.join(ROOT, "bench-data");

interface Measurement {
  docs: number;
  bytes: number;
  seconds: number;
  peakRssMb: number;
}

function showProgress(label: string, fraction: number) {
  if (process.stdout.isTTY)
    process.stdout.write(`\r\x1b[2K${label} ${bar(fraction)} ${Math.floor(fraction * 100)}%`);
}

async function measure(args: string[]): Promise<Measurement> {
  const { stdout } = await run(
    process.execPath,
    ["--import", "tsx", path.join(ROOT, "scripts/bench/run-one.ts"), ...args],
    {
      cwd: ROOT,
      maxBuffer: 1024 * 1024,
    },
  );
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Measurement;
}

async function main() {
  const { values } = parseArgs({
    options: {
      sizes: { type: "string", default: "100,1024" },
      targets: { type: "string", default: "read,duckdb,postgres,mssql-channel" },
    },
  });
  const sizes = values.sizes.split(",").map(Number);
  const modes = values.targets.split(",");
  const pgUrl = process.env.PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  await mkdir(DATA, { recursive: true });
  const rows: string[][] = [];

  for (const mb of sizes) {
    const zip = path.join(DATA, `snapshot_bench_${mb}mb.zip`);
    if (!existsSync(zip)) {
      const target = mb * 1024 * 1024;
      const started = performance.now();
      await generateSnapshot(zip, target, (bytes) =>
        showProgress(`generating ${mb} MB`, Math.min(1, bytes / target)),
      );
      process.stdout.write(
        `\r\x1b[2Kgenerated ${zip} in ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
      );
    }
    let ceiling = 0;
    for (const mode of modes) {
      process.stdout.write(`${mb} MB: ${mode}…\n`);
      let m: Measurement;
      let reference: { seconds: number; peakRssMb?: number } | undefined;
      if (mode === "read") m = await measure(["read", zip]);
      else if (mode === "duckdb") {
        const file = path.join(DATA, `duckdb-${mb}.duckdb`);
        await rm(file, { force: true });
        await rm(`${file}.wal`, { force: true });
        m = await measure(["load", zip, `duckdb:${file}`, "bench"]);
        process.stdout.write(`${mb} MB: duckdb reference (read_json)…\n`);
        reference = await measure(["duckdb-reference", zip, file, "bench"]);
      } else if (mode === "postgres") {
        m = await measure(["load", zip, pgUrl, `bench_${mb}`]);
        process.stdout.write(`${mb} MB: postgres reference (psql \\copy)…\n`);
        reference = { seconds: await pgCopyReference(pgUrl, `bench_${mb}`, DATA) };
      } else if (mode === "mssql-channel") {
        // No SQL Server here: the bulk path's encoding and row channel against a consumer draining 20 MB/s.
        m = await measure(["mssql-channel", zip, "20"]);
      } else if (mode === "pglite") {
        // The warehouse is created once (PGlite's initdb alone peaks near 700 MB RSS); loads open it.
        const dir = path.join(DATA, `pglite-${mb}`);
        await rm(dir, { recursive: true, force: true });
        await measure(["init-pglite", dir]);
        m = await measure(["load", zip, `pglite:${dir}`, "bench"]);
      } else throw new Error(`unknown target ${mode}`);
      const mbps = m.bytes / 1024 / 1024 / m.seconds;
      if (mode === "read") ceiling = mbps;
      rows.push([
        `${mb} MB`,
        mode === "read"
          ? "read + decode (ceiling)"
          : mode === "mssql-channel"
            ? "SQL Server rows, 20 MB/s consumer"
            : `load into ${mode}`,
        m.docs.toLocaleString("en-US"),
        formatBytes(m.bytes),
        m.seconds.toFixed(1),
        Math.round(m.docs / m.seconds).toLocaleString("en-US"),
        mbps.toFixed(1),
        mode === "read" || mode === "mssql-channel" || !ceiling
          ? ""
          : `${Math.round((mbps / ceiling) * 100)}%`,
        m.peakRssMb.toFixed(0),
        reference ? `${reference.seconds.toFixed(1)} s` : "",
        reference ? `${(m.seconds / reference.seconds).toFixed(2)}×` : "",
        reference?.peakRssMb ? reference.peakRssMb.toFixed(0) : "",
      ]);
    }
  }
  process.stdout.write(
    "\n" +
      renderTable(
        [
          "snapshot",
          "what",
          "docs",
          "size",
          "seconds",
          "docs/s",
          "MB/s",
          "of ceiling",
          "peak RSS MB",
          "reference",
          "import / ref",
          "ref RSS MB",
        ],
        rows,
        [false, false, true, true, true, true, true, true, true, true, true, true],
      ) +
      "\n",
  );
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
