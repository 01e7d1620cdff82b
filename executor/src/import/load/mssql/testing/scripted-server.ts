/**
 * Answers for the recording wire: what a SQL Server would return to the session's queries, scripted per test.
 * Result shapes follow the statements in ../sql.ts (column names as they select them).
 */
import type { Dependents } from "../replace.js";
import {
  dependentsSql,
  existingColumnsSql,
  lockHeldSql,
  lockSql,
  prepareStagingSql,
  type ExistingColumn,
} from "../sql.js";
import type { Params } from "../wire.js";
import type { Responder } from "./recording-wire.js";

export interface Script {
  lockResult?: number;
  /** What APPLOCK_MODE says this session holds on the schema's lock at the swap (default: 'Exclusive'). */
  lockMode?: string;
  /** Staging leftovers that could not be dropped. */
  undroppable?: { name: string; message: string }[];
  priorRows?: unknown[];
  /** Per target (quoted name): what is attached to it; absent = the table does not exist. */
  dependents?: Record<string, Partial<Dependents>>;
  existingColumns?: Record<string, ExistingColumn[]>;
  loadedTables?: unknown[];
  /** Positions whose names the database collation holds equal to an earlier one: i → first. */
  equalNames?: Record<number, number>;
  /** Throw this from the n-th query whose text passes `match` (counting from 1), once. */
  fail?: { match: (text: string) => boolean; nth: number; error: Error };
}

const noDependents: Omit<Dependents, "present"> = {
  referencing_keys: 0,
  own_keys: 0,
  schema_bound: 0,
  grants: 0,
  indexes: 0,
  triggers: 0,
  constraints: 0,
  properties: 0,
  pinned: 0,
};

export function scriptedServer(script: Script = {}): Responder {
  let failCount = 0;
  return (text: string, params: Params) => {
    if (script.fail?.match(text) && ++failCount === script.fail.nth) throw script.fail.error;
    if (text === lockSql) return [{ result: script.lockResult ?? 0 }];
    if (text === lockHeldSql) return [{ mode: script.lockMode ?? "Exclusive" }];
    if (text === prepareStagingSql) return script.undroppable ?? [];
    if (text === dependentsSql) {
      const deps = script.dependents?.[params.target as string];
      return [deps ? { present: 1, ...noDependents, ...deps } : { present: 0, ...noDependents }];
    }
    if (text === existingColumnsSql) return script.existingColumns?.[params.target as string] ?? [];
    if (text.startsWith("SELECT v.i,")) {
      const count = Object.keys(params).length;
      return Array.from({ length: count }, (_, i) => ({ i, first_i: script.equalNames?.[i] ?? i }));
    }
    if (text.startsWith("IF OBJECT_ID(@metaTables, N'U') IS NOT NULL AND")) return script.priorRows ?? [];
    if (text.startsWith("IF OBJECT_ID(@metaTables, N'U') IS NOT NULL\nSELECT component"))
      return script.loadedTables ?? [];
    if (text.startsWith("SELECT COUNT_BIG(*)")) return [{ n: "3" }];
    return [];
  };
}
