/**
 * The logical column types of the SQL mapping. Each dialect turns them into its own SQL types
 * (see load/<dialect>/sql.ts and the README's mapping table).
 */
export type ColumnType =
  | "id" // _id: primary key
  | "timestamp" // _creationTimeUtc: derived from _creationTime
  | "string"
  | "int64"
  | "float64"
  | "boolean"
  | "bytes"
  | "json" // arrays, objects, and any field whose values have several types
  | "unset"; // only nulls or absent so far: created as a nullable text column

export interface PlannedColumn {
  /** The Convex field name; `_creationTimeUtc` is derived and has no Convex field of its own. */
  field: string;
  sqlName: string;
  type: ColumnType;
  /** Not null (the system columns). */
  required: boolean;
}

export const ID_FIELD = "_id";
export const CREATION_TIME_FIELD = "_creationTime";
/** The derived UTC timestamp of `_creationTime`. Convex field names cannot start with `_`, so it never clashes. */
export const CREATION_TIME_UTC_FIELD = "_creationTimeUtc";
