import { describe, expect, it } from "vitest";
import { addPrimaryKey, inTransaction, loadedTables, StagingTables, type LoadedTableRow } from "./steps.js";
import { classifyTargetError } from "./targetErrors.js";

/** A dialect's queries, answered from memory; records what the step asked for. */
function recordingQueries(rows: LoadedTableRow[], counts: Record<string, number>) {
  const calls: string[] = [];
  return {
    calls,
    queries: {
      tables: async (schema: string) => {
        calls.push(`tables ${schema}`);
        return rows;
      },
      countRows: async (schema: string, sqlTable: string) => {
        calls.push(`count ${schema}.${sqlTable}`);
        return counts[sqlTable] ?? 0;
      },
    },
  };
}

describe("loadedTables", () => {
  it("lists each recorded table with its live row count, components qualifying the Convex name", async () => {
    const { calls, queries } = recordingQueries(
      [
        {
          component: "",
          convex_table: "messages",
          sql_table: "messages",
          snapshot_ts: "1745162191687970000",
          loaded_at: new Date("2026-11-29T07:00:00.000Z"),
        },
        {
          component: "workpool",
          convex_table: "runs",
          sql_table: "workpool__runs",
          snapshot_ts: null,
          loaded_at: "2026-11-28T06:30:00.000Z",
        },
      ],
      { messages: 3, workpool__runs: 0 },
    );

    const tables = await loadedTables("app", queries);

    expect(tables).toEqual([
      {
        table: "messages",
        sqlTable: "messages",
        rows: 3,
        snapshotTs: "1745162191687970000",
        loadedAt: new Date("2026-11-29T07:00:00.000Z"),
      },
      {
        table: "workpool/runs",
        sqlTable: "workpool__runs",
        rows: 0,
        snapshotTs: null,
        loadedAt: new Date("2026-11-28T06:30:00.000Z"),
      },
    ]);
    expect(calls).toEqual(["tables app", "count app.messages", "count app.workpool__runs"]);
  });

  it("counts nothing when the schema has no mapping table", async () => {
    const { calls, queries } = recordingQueries([], {});
    expect(await loadedTables("empty", queries)).toEqual([]);
    expect(calls).toEqual(["tables empty"]);
  });
});

describe("addPrimaryKey", () => {
  it("names the table on failure and keeps the server's error, so a duplicate _id is still classified", async () => {
    // The shape of pg-protocol's DatabaseError for a unique violation (node_modules/pg-protocol/src/messages.ts).
    const server = Object.assign(new Error('could not create unique index "messages_pkey"'), {
      code: "23505",
      severity: "ERROR",
    });
    const failure = addPrimaryKey("messages", () => Promise.reject(server));

    await expect(failure).rejects.toThrow(
      'table messages: cannot add the primary key on _id (could not create unique index "messages_pkey")',
    );
    const error = await failure.catch((e: unknown) => e);
    expect((error as Error).cause).toBe(server);
    expect(classifyTargetError(error)).toMatchObject({ code: "target_duplicate_id", retryable: false });
  });

  it("runs the dialect's statement once", async () => {
    let runs = 0;
    await addPrimaryKey("messages", async () => runs++);
    expect(runs).toBe(1);
  });
});

describe("StagingTables.dropAll (cleanup)", () => {
  it("drops every created table not yet swapped, goes on past a failed drop, and forgets them all", async () => {
    const staging = new StagingTables();
    staging.created("a");
    staging.created("b");
    staging.created("c");
    staging.swapped("b");
    const dropped: string[] = [];
    const drop = async (table: string) => {
      dropped.push(table);
      if (table === "a") throw new Error("connection lost");
    };

    await staging.dropAll(drop);
    expect(dropped).toEqual(["a", "c"]);

    await staging.dropAll(drop);
    expect(dropped).toEqual(["a", "c"]);
  });

  it("survives a drop that throws before it returns a promise", async () => {
    const staging = new StagingTables();
    staging.created("a");
    staging.created("b");
    const dropped: string[] = [];
    await staging.dropAll((table) => {
      if (table === "a") throw new Error("bad name");
      dropped.push(table);
      return Promise.resolve();
    });
    expect(dropped).toEqual(["b"]);
  });
});

describe("inTransaction", () => {
  /** A session that records each statement and fails the ones named in `failing`. */
  function recordingSession(failing: string[] = []) {
    const sent: string[] = [];
    const run = async (sql: string) => {
      sent.push(sql);
      if (failing.includes(sql)) throw new Error(`${sql} failed`);
    };
    return { sent, run };
  }

  it("commits after the body and returns its result", async () => {
    const { sent, run } = recordingSession();
    const result = await inTransaction(run, "BEGIN TRANSACTION", async () => {
      await run("INSERT 1");
      return 7;
    });
    expect(result).toBe(7);
    expect(sent).toEqual(["BEGIN TRANSACTION", "INSERT 1", "COMMIT"]);
  });

  it("rolls back when the body fails and throws the body's error, even when the rollback fails too", async () => {
    const { sent, run } = recordingSession(["ROLLBACK"]);
    const failure = new Error("cannot replace t");
    await expect(
      inTransaction(run, "BEGIN", async () => {
        await run("INSERT 1");
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(sent).toEqual(["BEGIN", "INSERT 1", "ROLLBACK"]);
  });

  it("rolls back when COMMIT fails and throws the commit's error", async () => {
    const { sent, run } = recordingSession(["COMMIT"]);
    await expect(inTransaction(run, "BEGIN", async () => {})).rejects.toThrow("COMMIT failed");
    expect(sent).toEqual(["BEGIN", "COMMIT", "ROLLBACK"]);
  });
});
