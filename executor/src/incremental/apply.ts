/**
 * Applies a batch of feed pages to a warehouse in ONE target transaction: truncates, new tables and columns,
 * widened columns, deletes, upserts of each document's newest version (with its commit timestamp in `_ts`), the
 * mapping tables, and the feed cursor in the sync-state table of the same schema. A crash anywhere before the
 * commit leaves the warehouse and its stored cursor as they were, so a re-run fetches the same pages again and
 * ends in the same state: each page is applied exactly once.
 *
 *   const target = await openChangeTarget("postgres://…", "convex");
 *   const result = await applyBatch(target, { fromCursor, pages });
 *
 * Planning (names, column types) reuses the snapshot import's mapping (../import/mapping/); the SQL is the
 * dialect's (./postgres.ts implements ChangeTarget for PostgreSQL and PGlite).
 */
import type { IdentifierRules } from "../import/mapping/names.js";
import { componentTableName, NameScope } from "../import/mapping/names.js";
import { TablePlan, type ValueRules } from "../import/mapping/plan.js";
import type { ColumnType, PlannedColumn } from "../import/mapping/types.js";
import type { PriorTable } from "../import/load/connection.js";
import type { ConvexObject } from "../import/values.js";
import { z } from "zod";
import { collectChanges } from "./changes.js";
import type { FeedPage } from "./feedClient.js";

/** The commit timestamp (ns) of the version a row holds; absent for rows loaded from a snapshot ZIP. */
export const TS_FIELD = "_ts";
export const SYNC_STATE_TABLE = "_convex_sync_state";
/** Tables of ours in the target schema, never given to a Convex table. */
export const RESERVED_TABLES = ["_convex_tables", "_convex_columns", SYNC_STATE_TABLE];

/** What the state table holds: where the warehouse is in the feed. */
export interface SyncState {
  cursor: string;
  syncId: string;
  /** The last applied page's status. Only `stale`/`upToDate` states are consistent snapshots. */
  status: "snapshotting" | "stale" | "upToDate";
  /** The snapshot the warehouse equals (the last consistent page's), ns. */
  snapshotTs: bigint | null;
  appliedAt: Date;
  /**
   * Qualified names (`table`, `component/table`) of warehouse tables the feed does not maintain: tables dropped
   * in the source that a snapshot sync left in the warehouse as they were. The feed says nothing of drops, so
   * only the start after a snapshot knows them; a name leaves the list when the feed brings that table back.
   */
  detachedTables: string[];
}

const detachedTablesSchema = z.array(z.string());

/** The state table's `detached_tables` text: a JSON array of qualified names. */
export function detachedTablesText(tables: readonly string[] | undefined): string {
  return JSON.stringify([...(tables ?? [])].sort());
}

/** The state table's row as every dialect reads it back. */
export interface SyncStateRow {
  cursor: string;
  sync_id: string;
  status: SyncState["status"];
  /** `snapshot_ts` as text (PostgreSQL, SQL Server: beyond a JS number) or as DuckDB's BIGINT. */
  snapshot_text: string | bigint | null;
  applied_at: Date | string;
  /** Missing from a state row written before the column existed. */
  detached_tables?: string | null;
}

/** A state row as a SyncState; `where` (the state table's name) goes into a parse error. */
export function syncStateOfRow(row: SyncStateRow, where: string): SyncState {
  return {
    cursor: row.cursor,
    syncId: row.sync_id,
    status: row.status,
    snapshotTs: row.snapshot_text === null ? null : BigInt(row.snapshot_text),
    appliedAt: new Date(row.applied_at),
    detachedTables: parseDetachedTables(row.detached_tables, where),
  };
}

/** Reads `detached_tables` back; NULL or a missing column (a state row written before it existed) is none. */
export function parseDetachedTables(text: string | null | undefined, where: string): string[] {
  if (text === null || text === undefined) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const parsed = detachedTablesSchema.safeParse(value);
  if (!parsed.success)
    throw new Error(`${where}: detached_tables is not a JSON array of table names: ${text}`);
  return parsed.data;
}

export interface TableApplyPlan {
  qualified: string;
  component: string;
  convexTable: string;
  sqlTable: string;
  /** Not in the warehouse yet: created with `columns`. */
  isNew: boolean;
  truncated: boolean;
  /** Final column list (prior columns first, in order). */
  columns: PlannedColumn[];
  addedColumns: PlannedColumn[];
  /** Existing columns whose type widens (to json), with the type they had. */
  widenedColumns: { column: PlannedColumn; from: ColumnType }[];
  /** Rows to upsert on `_id`: the document plus `_ts`. */
  upserts: ConvexObject[];
  deletes: { id: string; ts: bigint }[];
}

export interface ApplyPlan {
  /** The cursor the batch was fetched with (null: the first pages of a sync); must equal the stored one. */
  fromCursor: string | null;
  state: SyncState;
  tables: TableApplyPlan[];
}

export interface TableApplyResult {
  table: string;
  sqlTable: string;
  truncated: boolean;
  inserted: number;
  updated: number;
  deleted: number;
}

export interface ChangeTarget {
  readonly identifierRules: IdentifierRules;
  readonly valueRules: ValueRules;
  /** The stored feed position, or null when this schema never applied a page. */
  readState(): Promise<SyncState | null>;
  readPrior(): Promise<Map<string, PriorTable>>;
  /** Runs the whole plan in one transaction; throws CursorMovedError if the stored cursor is not `fromCursor`. */
  apply(plan: ApplyPlan): Promise<TableApplyResult[]>;
  /** Records where the feed starts after a snapshot import (cursor_from_deltas at the snapshot's timestamp). */
  initialize(state: SyncState): Promise<void>;
  /**
   * Tables a load wrote after `appliedAt` (their `_convex_tables.loaded_at` is later): a snapshot sync replaced
   * them after the stored feed position, which then no longer describes the warehouse.
   */
  tablesLoadedAfter(appliedAt: Date): Promise<string[]>;
  close(): Promise<void>;
}

/** Another run moved the warehouse on since this batch was fetched: the batch is not applied. */
export class CursorMovedError extends Error {
  constructor() {
    super(
      "the warehouse's stored cursor changed since this batch was fetched (another sync ran); nothing applied",
    );
    this.name = "CursorMovedError";
  }
}

/**
 * A step the warehouse cannot hold in one transaction (DuckDB out of memory at its memory_limit): retrying meets the
 * same step, so the run asks for a snapshot instead, which loads any size table by table. Nothing was applied.
 */
export class StepTooLargeError extends Error {
  constructor(cause: unknown) {
    super(
      `a step of the change feed needs more memory than the warehouse allows in one transaction (${
        cause instanceof Error ? cause.message.slice(0, 300) : String(cause)
      }): loading a snapshot instead`,
      { cause },
    );
    this.name = "StepTooLargeError";
  }
}

/** A dialect's parts of `ChangeTarget.apply`; `applyPlanSteps` runs them in order inside its transaction. */
export interface ApplySteps {
  /** Creates the mapping and sync-state tables when missing. */
  createBookkeeping(): Promise<void>;
  /** The stored cursor (null: none), read so that no other writer can change it before the commit. */
  storedCursor(): Promise<string | null>;
  applyTable(t: TableApplyPlan, state: SyncState): Promise<TableApplyResult>;
  writeState(state: SyncState): Promise<void>;
  /** The table's quoted SQL name, for error messages. */
  sqlName(t: TableApplyPlan): string;
}

/** The body of one batch's transaction: check the cursor, apply every table, store the new state. */
export async function applyPlanSteps(steps: ApplySteps, plan: ApplyPlan): Promise<TableApplyResult[]> {
  await steps.createBookkeeping();
  if ((await steps.storedCursor()) !== plan.fromCursor) throw new CursorMovedError();
  const results: TableApplyResult[] = [];
  for (const t of plan.tables) {
    try {
      results.push(await steps.applyTable(t, plan.state));
    } catch (err) {
      if (err instanceof CursorMovedError) throw err;
      throw new Error(`table ${t.qualified} (${steps.sqlName(t)}): ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  await steps.writeState(plan.state);
  return results;
}

/** A dialect's transaction: `body` between its BEGIN and COMMIT, rolled back when `body` throws. */
export type InTransaction = <T>(body: () => Promise<T>) => Promise<T>;

/**
 * ChangeTarget's writes, the same in every dialect: `apply` runs a batch's steps (applyPlanSteps) and `initialize`
 * creates the bookkeeping tables and stores the first state, each in one transaction of the dialect's.
 */
export function transactionalWrites(
  transaction: InTransaction,
  steps: ApplySteps,
): Pick<ChangeTarget, "apply" | "initialize"> {
  // The bookkeeping DDL (CREATE … IF NOT EXISTS, the state table's added column: an exclusive lock on PostgreSQL)
  // runs in this target's transactions until one of them has committed; after that the tables exist.
  let bookkept = false;
  const once: ApplySteps = {
    ...steps,
    createBookkeeping: async () => {
      if (!bookkept) await steps.createBookkeeping();
    },
  };
  const committed = async <T>(body: () => Promise<T>): Promise<T> => {
    const result = await transaction(body);
    bookkept = true;
    return result;
  };
  return {
    apply: (plan) => committed(() => applyPlanSteps(once, plan)),
    initialize: (state) =>
      committed(async () => {
        await once.createBookkeeping();
        await steps.writeState(state);
      }),
  };
}

export interface Batch {
  fromCursor: string | null;
  pages: readonly FeedPage[];
  /**
   * Whether the warehouse equals the source at the last page's snapshotTs after this batch (run.ts decides:
   * a truncated table may still lack rows at a `stale` page). Default: unless the last page is snapshotting.
   */
  consistent?: boolean;
}

function statusOf(page: FeedPage, consistent: boolean | undefined): Pick<SyncState, "status" | "snapshotTs"> {
  const s = page.status;
  if (s.type === "snapshotting" || consistent === false) return { status: "snapshotting", snapshotTs: null };
  return { status: s.type, snapshotTs: s.snapshotTs };
}

/** Plans a batch against what the warehouse holds (pure: no target access). */
export function planBatch(
  batch: Batch,
  prior: ReadonlyMap<string, PriorTable>,
  rules: { identifierRules: IdentifierRules; valueRules: ValueRules },
  previous: SyncState | null,
  now = new Date(),
): ApplyPlan {
  const last = batch.pages.at(-1);
  if (!last) throw new Error("a batch needs at least one page");
  const changes = collectChanges(batch.pages);

  const scope = new NameScope(rules.identifierRules);
  for (const name of RESERVED_TABLES) scope.keep(name, name);
  for (const p of prior.values()) scope.keep(p.qualified, p.sqlTable);

  const tables: TableApplyPlan[] = [];
  for (const qualified of [...changes.keys()].sort()) {
    const c = changes.get(qualified)!;
    const known = prior.get(qualified);
    if (!known && !c.truncated && c.upserts.size === 0) continue; // deletes in a table we never had
    const sqlTable = known?.sqlTable ?? scope.assign(qualified, componentTableName(c.component, c.table));
    const plan = new TablePlan(rules.identifierRules, rules.valueRules, known?.columns ?? []);
    const before = new Map(plan.columns.map((col) => [col.field, col.type]));
    plan.observe({ [TS_FIELD]: 0n });
    const upserts: ConvexObject[] = [];
    for (const { ts, doc } of c.upserts.values()) {
      const row = { ...doc, [TS_FIELD]: ts };
      plan.observe(row);
      upserts.push(row);
    }
    const addedColumns = [...plan.takeAdded(), ...plan.materializeNullOnly()];
    const widenedColumns = plan.columns
      .filter((col) => before.has(col.field) && before.get(col.field) !== col.type)
      .map((column) => ({ column, from: before.get(column.field)! }));
    tables.push({
      qualified,
      component: c.component,
      convexTable: c.table,
      sqlTable,
      isNew: !known,
      truncated: c.truncated,
      columns: plan.columns,
      addedColumns: known ? addedColumns : [],
      widenedColumns: known ? widenedColumns : [],
      upserts,
      deletes: [...c.deletes].map(([id, ts]) => ({ id, ts })),
    });
  }

  const status = statusOf(last, batch.consistent);
  // A truncate or a value for a detached table: the source has that table again and the feed now maintains it.
  const detachedTables = (previous?.detachedTables ?? []).filter((name) => !changes.has(name));
  return {
    fromCursor: batch.fromCursor,
    state: {
      cursor: last.pagination.nextCursor,
      syncId: last.syncId,
      status: status.status,
      // A snapshotting page leaves the last consistent snapshot as the one to report.
      snapshotTs: status.snapshotTs ?? previous?.snapshotTs ?? null,
      appliedAt: now,
      detachedTables,
    },
    tables,
  };
}

/** Reads the warehouse's mapping, plans the batch and applies it in one transaction. */
export async function applyBatch(target: ChangeTarget, batch: Batch): Promise<TableApplyResult[]> {
  const prior = await target.readPrior();
  const previous = await target.readState();
  if ((previous?.cursor ?? null) !== batch.fromCursor) throw new CursorMovedError();
  return target.apply(planBatch(batch, prior, target, previous));
}
