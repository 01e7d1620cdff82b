/**
 * The column plan of one table: which columns exist and their types, grown while documents stream by.
 *
 * Types only ever widen (a lattice): unset → one concrete type → json. A new field adds a column (cheap: the
 * staging table gets ALTER TABLE ADD). A field whose values stop fitting its column's type needs a wider type,
 * which the loader handles by restarting that table's staging load with the wider plan (rare: it happens at most
 * twice per column, and the first sample of rows is planned before anything is written).
 */
import { kindOf, type ConvexObject, type ConvexValue, type ValueKind } from "../values.js";
import { NameScope, type IdentifierRules } from "./names.js";
import {
  CREATION_TIME_FIELD,
  CREATION_TIME_UTC_FIELD,
  ID_FIELD,
  type ColumnType,
  type PlannedColumn,
} from "./types.js";

const TYPE_OF_KIND: Record<ValueKind, ColumnType> = {
  null: "unset",
  boolean: "boolean",
  int64: "int64",
  float64: "float64",
  string: "string",
  bytes: "bytes",
  array: "json",
  object: "json",
};

export function joinTypes(a: ColumnType, b: ColumnType): ColumnType {
  if (a === b || b === "unset" || (a === "id" && b === "string")) return a;
  if (a === "unset") return b;
  return "json";
}

/** Per-target restrictions on values, e.g. SQL Server's FLOAT cannot hold NaN or ±Infinity. */
export interface ValueRules {
  /** The column type a value needs on this target (default: the type of its kind). */
  typeForValue(kind: ValueKind, value: ConvexValue): ColumnType;
}

export const defaultValueRules: ValueRules = {
  typeForValue: (kind) => TYPE_OF_KIND[kind],
};

export interface PriorColumn {
  field: string;
  sqlName: string;
  type: ColumnType;
}

export type ObserveResult = "same" | "added" | "widened";

export class TablePlan {
  /** Columns that exist in the staging table, in order. */
  readonly columns: PlannedColumn[] = [];
  private readonly byField = new Map<string, PlannedColumn>();
  /** Fields seen only with null so far: no column yet (absent and null both load as NULL). */
  private readonly nullOnly = new Set<string>();
  private readonly names: NameScope;
  private added: PlannedColumn[] = [];

  constructor(
    identifierRules: IdentifierRules,
    private readonly valueRules: ValueRules,
    prior: readonly PriorColumn[] = [],
  ) {
    this.names = new NameScope(identifierRules);
    const system: PriorColumn[] = [
      { field: ID_FIELD, sqlName: ID_FIELD, type: "id" },
      { field: CREATION_TIME_FIELD, sqlName: CREATION_TIME_FIELD, type: "float64" },
      { field: CREATION_TIME_UTC_FIELD, sqlName: CREATION_TIME_UTC_FIELD, type: "timestamp" },
    ];
    for (const col of system) this.names.keep(col.field, col.sqlName);
    for (const col of prior) this.names.keep(col.field, col.sqlName);
    for (const col of system) this.push({ ...col, required: true });
    for (const col of prior) {
      if (!this.byField.has(col.field)) this.push({ ...col, required: false });
    }
    this.added = [];
  }

  /** `_storage` metadata rows have no `_creationTime` in some exports. */
  relaxSystemColumns(): void {
    for (const col of this.columns) if (col.field !== ID_FIELD) col.required = false;
  }

  private push(col: PlannedColumn): void {
    this.columns.push(col);
    this.byField.set(col.field, col);
    this.added.push(col);
  }

  column(field: string): PlannedColumn | undefined {
    return this.byField.get(field);
  }

  /** Updates the plan for one document. "widened" means rows already written no longer fit their column. */
  observe(doc: ConvexObject): ObserveResult {
    let result: ObserveResult = "same";
    for (const field in doc) {
      const value = doc[field]!;
      const col = this.byField.get(field);
      if (col === undefined) {
        if (value === null) {
          this.nullOnly.add(field);
          continue;
        }
        this.nullOnly.delete(field);
        const type = this.valueRules.typeForValue(kindOf(value), value);
        this.push({ field, sqlName: this.names.assign(field), type, required: false });
        if (result === "same") result = "added";
        continue;
      }
      if (value === null || col.type === "json") continue;
      const needed = this.valueRules.typeForValue(kindOf(value), value);
      if (needed === col.type) continue;
      const joined = joinTypes(col.type, needed);
      if (joined === col.type) continue;
      col.type = joined;
      result = "widened";
    }
    return result;
  }

  /** Columns added since the last call (the staging table must ALTER TABLE ADD them). */
  takeAdded(): PlannedColumn[] {
    const out = this.added;
    this.added = [];
    return out;
  }

  /** At the end of a table: fields that were only ever null still get a (nullable text) column. */
  materializeNullOnly(): PlannedColumn[] {
    for (const field of [...this.nullOnly].sort()) {
      this.push({ field, sqlName: this.names.assign(field), type: "unset", required: false });
    }
    this.nullOnly.clear();
    return this.takeAdded();
  }
}
