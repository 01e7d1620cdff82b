/**
 * npm run bench:incremental [-- --targets duckdb,postgres,pglite --kinds small,large --pages 4 --duckdb-memory 64MB]
 *
 * Changes applied per second and peak RSS of the incremental apply (executor/src/incremental/), per target, for
 * feed pages of small documents (16,384 per page, ~150 B: the feed's page size limit) and of large ones (4,096 per
 * page, ~16 KiB: the feed's 64 MiB page bytes limit). Each page is one transaction, as in a run: first pages of
 * inserts, then the same documents updated. Pages are generated here (the feed's HTTP and JSON parsing are not
 * measured); each case runs in its own process so its peak RSS is its own. DuckDB (the default target) gets a new
 * file per case; PostgreSQL is PG_URL (default the local server).
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs, promisify } from "node:util";
import { renderTable } from "../../executor/src/cli/format.js";
import { applyBatch } from "../../executor/src/incremental/apply.js";
import type { FeedPage } from "../../executor/src/incremental/feedClient.js";
import { openChangeTarget } from "../../executor/src/incremental/openTarget.js";
import { DEFAULT_DUCKDB_SETTINGS } from "../../executor/src/import/load/duckdb/instance.js";
import { openPglite } from "../../executor/src/import/load/postgres/transports.js";

const CASES = {
  small: { docsPerPage: 16_384, padBytes: 100 },
  large: { docsPerPage: 4_096, padBytes: 16_000 },
} as const;
type CaseName = keyof typeof CASES;

function page(kind: CaseName, pageIndex: number, round: number, ts: bigint): FeedPage {
  const { docsPerPage, padBytes } = CASES[kind];
  const pad = "x".repeat(padBytes);
  const values = [];
  for (let i = 0; i < docsPerPage; i++) {
    const n = pageIndex * docsPerPage + i;
    values.push({
      component: "",
      table: "events",
      ts,
      deleted: false,
      value: { _id: `id${String(n).padStart(12, "0")}`, _creationTime: 1.7e12 + n, n: BigInt(n), round, pad },
    });
  }
  return {
    status: { type: "stale", snapshotTs: ts },
    truncates: [],
    values,
    syncId: "bench",
    pagination: { hasMore: true, nextCursor: `c${round}-${pageIndex}` },
  };
}

async function one(target: string, kind: CaseName, pages: number, duckdbMemory?: string): Promise<void> {
  const schema = `bench_inc_${process.pid}`;
  const t = await openChangeTarget(
    target,
    schema,
    duckdbMemory ? { duckdb: { ...DEFAULT_DUCKDB_SETTINGS, memoryLimit: duckdbMemory } } : {},
  );
  await t.initialize({
    cursor: "start",
    syncId: "bench",
    status: "stale",
    snapshotTs: 1n,
    appliedAt: new Date(),
    detachedTables: [],
  });
  let cursor = "start";
  const timings: Record<string, number> = {};
  let ts = 1_800_000_000_000_000_000n;
  for (const [round, label] of ["inserts", "updates"].entries()) {
    const started = performance.now();
    for (let p = 0; p < pages; p++) {
      const feedPage = page(kind, p, round, ts++);
      await applyBatch(t, { fromCursor: cursor, pages: [feedPage] });
      cursor = feedPage.pagination.nextCursor;
    }
    timings[label] = (performance.now() - started) / 1000;
  }
  if (target.startsWith("postgres")) {
    const { connectPostgres } = await import("../../executor/src/import/load/postgres/transports.js");
    const db = await connectPostgres(target);
    await db.query(`DROP SCHEMA "${schema}" CASCADE`);
    await db.query(`DROP SCHEMA IF EXISTS "${schema}__staging" CASCADE`);
    await db.close();
  }
  await t.close();
  const changes = pages * CASES[kind].docsPerPage;
  process.stdout.write(
    JSON.stringify({
      changes,
      insertsPerSecond: changes / timings.inserts!,
      updatesPerSecond: changes / timings.updates!,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    }) + "\n",
  );
}

const HELP = `npm run bench:incremental [-- options]   (or: npx tsx scripts/bench/incremental.ts [options])

Changes applied per second and peak RSS of the incremental apply, one transaction per feed page.

  --targets <list>       duckdb,postgres,pglite (default: all three; postgres is PG_URL or the local server)
  --kinds <list>         small,large (default: both): ${Object.entries(CASES)
    .map(
      ([k, c]) =>
        `${k} = ${c.docsPerPage.toLocaleString("en")} docs/page with a ${c.padBytes.toLocaleString("en")} B string`,
    )
    .join(", ")}
  --pages <n>            pages of inserts, then as many of updates, per case (default 4)
  --duckdb-memory <size> DuckDB's memory_limit (default the executor's, ${DEFAULT_DUCKDB_SETTINGS.memoryLimit})
  --help                 this text
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      help: { type: "boolean", default: false },
      targets: { type: "string", default: "duckdb,postgres,pglite" },
      kinds: { type: "string", default: Object.keys(CASES).join(",") },
      pages: { type: "string", default: "4" },
      one: { type: "string" },
      kind: { type: "string" },
      /** DuckDB's memory_limit for the apply (default the import's, DEFAULT_DUCKDB_SETTINGS). */
      "duckdb-memory": { type: "string" },
    },
  });
  if (values.help) return void process.stdout.write(HELP);
  const pages = Number(values.pages);
  if (!Number.isInteger(pages) || pages < 1)
    throw new Error(`--pages: "${values.pages}" is not a positive integer`);
  const kinds = values.kinds.split(",") as CaseName[];
  for (const kind of kinds)
    if (!(kind in CASES))
      throw new Error(`--kinds: "${kind}" is not one of ${Object.keys(CASES).join(", ")}`);
  const duckdbMemory = values["duckdb-memory"];
  if (values.one) return one(values.one, values.kind as CaseName, pages, duckdbMemory);

  const rows: string[][] = [];
  const failures: string[] = [];
  for (const name of values.targets.split(",")) {
    if (!["duckdb", "postgres", "pglite"].includes(name))
      throw new Error(`--targets: "${name}" is not one of duckdb, postgres, pglite`);
    const dir = await mkdtemp(path.join(os.tmpdir(), "bench-inc-"));
    const pgUrl = process.env.PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
    // Creating a PGlite directory (its initdb) peaks near 700 MB: done here, so the cases measure the apply only.
    if (name === "pglite") await (await openPglite(dir)).close();
    for (const kind of kinds) {
      const target =
        name === "duckdb"
          ? `duckdb:${path.join(dir, `${kind}.duckdb`)}`
          : name === "pglite"
            ? `pglite:${dir}`
            : pgUrl;
      const args = [
        "--import",
        "tsx",
        import.meta.filename,
        "--one",
        target,
        "--kind",
        kind,
        "--pages",
        String(pages),
      ];
      if (duckdbMemory) args.push("--duckdb-memory", duckdbMemory);
      const label = `${kind} (${CASES[kind].docsPerPage}/page)`;
      let stdout: string;
      try {
        ({ stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 1 << 20 }));
      } catch (error) {
        // A case that fails (DuckDB out of memory on a 64 MiB page, say) is a result too: say why and go on.
        const stderr = String((error as { stderr?: unknown }).stderr ?? error);
        const reason = /Error: (.*)/.exec(stderr)?.[1] ?? "failed";
        rows.push([name, label, "failed", "", "", ""]);
        failures.push(`${name} ${label}: ${reason}`);
        console.log(failures.at(-1));
        continue;
      }
      const r = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
        changes: number;
        insertsPerSecond: number;
        updatesPerSecond: number;
        peakRssMb: number;
      };
      rows.push([
        name,
        label,
        String(r.changes),
        Math.round(r.insertsPerSecond).toLocaleString("en"),
        Math.round(r.updatesPerSecond).toLocaleString("en"),
        `${Math.round(r.peakRssMb)} MB`,
      ]);
      console.log(rows.at(-1)!.join("  "));
    }
    await rm(dir, { recursive: true, force: true });
  }
  console.log(
    renderTable(["target", "documents", "changes", "inserts/s", "updates/s", "peak RSS"], rows, [
      false,
      false,
      true,
      true,
      true,
      true,
    ]),
  );
  for (const failure of failures) console.log(`failed: ${failure}`);
}

await main();
