/**
 * The SQL Server preflight's "incremental" line: what an incremental run (../../../incremental/mssql.ts) needs
 * beyond an import's rights, which the "permissions" line checks (CREATE TABLE; ALTER, INSERT, SELECT, DELETE on
 * the schema). Runs UPDATE the tables they find (UPDATE … FROM a #temp table) and DELETE from them; their #temp
 * tables and the schema's applock need nothing granted. A warning, not a failure: the preflight does not know
 * the apps' sync modes. UNVERIFIED against a live SQL Server (HAS_PERMS_BY_NAME as Microsoft documents it).
 */
import { checkLine, incrementalMissingLine, type PreflightCheck } from "../preflight.js";
import type { SchemaPermissions } from "./preflightSql.js";

const q = (name: string) => `[${name.replace(/]/g, "]]")}]`;

/** `target`: the target schema's row; undefined when no schema was named (the executor at start-up). */
export function incrementalLine(target: SchemaPermissions | undefined): PreflightCheck[] {
  if (!target) return [];
  const schema = q(target.schema_name);
  if (target.schema_exists !== 1)
    return [
      checkLine(
        "incremental",
        "ok",
        `schema ${schema} does not exist yet: check again after the first snapshot sync has created it`,
      ),
    ];
  const missing: string[] = [];
  const grants: string[] = [];
  if (target.can_update !== 1) {
    missing.push(`UPDATE on schema ${schema}`);
    grants.push(`GRANT UPDATE ON SCHEMA::${schema} TO <user>`);
  }
  // Held on the schema yet not on some tables: a DENY on those tables, which REVOKE removes.
  const onSchema = { UPDATE: target.can_update, DELETE: target.can_delete };
  const denied = { UPDATE: target.tables_without_update, DELETE: target.tables_without_delete };
  for (const permission of ["UPDATE", "DELETE"] as const) {
    if (onSchema[permission] !== 1 || denied[permission] === 0) continue;
    missing.push(`${permission} on ${denied[permission]} table(s) of ${schema} (denied on the table)`);
    grants.push(`REVOKE ${permission} ON ${schema}.<table> FROM <user> for each of them`);
  }
  if (missing.length > 0) return [incrementalMissingLine(missing, grants)];
  return [
    checkLine("incremental", "ok", `UPDATE on schema ${schema}; none of its tables denies UPDATE or DELETE`),
  ];
}
