/**
 * SQL names for Convex tables and fields. The rule (documented in the README):
 *
 * 1. A name is used as is when the target can hold it: at most the target's identifier length (SQL Server 128
 *    characters, PostgreSQL 63 bytes), no control characters, no leading or trailing space, and no other name in
 *    the same scope (the schema for tables, the table for columns) equal to it ignoring case.
 * 2. Otherwise it becomes `<prefix>__<h>`, where <h> is the first 8 hex digits of SHA-256 of the exact Convex
 *    name and <prefix> is the name with refused characters replaced by `_`, cut to fit.
 * 3. Once a name is given it is kept on later loads (read back from `_convex_tables` / `_convex_columns`); among
 *    new names, tables are named in sorted order and columns in the order their fields first appear.
 * Component tables are named `<component path joined by __>__<table>`, then the same rule applies.
 */
import { createHash } from "node:crypto";

export interface IdentifierRules {
  /** Identifier length as the target measures it. */
  length(name: string): number;
  maxLength: number;
  /**
   * Names with the same key are one name to the target (default: equal ignoring case). A target whose name
   * comparison depends on a collation folds more, erring towards "equal": an extra rename is harmless, a missed
   * one fails the load.
   */
  sameNameKey?(name: string): string;
}

// eslint-disable-next-line no-control-regex
const REFUSED_CHAR = /[\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex
const REFUSED_CHARS = /[\u0000-\u001f\u007f]/g;

export function shortHash(name: string): string {
  return createHash("sha256").update(name, "utf8").digest("hex").slice(0, 8);
}

function fits(name: string, rules: IdentifierRules): boolean {
  return (
    name.length > 0 &&
    rules.length(name) <= rules.maxLength &&
    !REFUSED_CHAR.test(name) &&
    name.trim() === name
  );
}

function hashedName(name: string, rules: IdentifierRules): string {
  const suffix = `__${shortHash(name)}`;
  let prefix = name.replace(REFUSED_CHARS, "_").trim();
  while (prefix.length > 0 && rules.length(prefix + suffix) > rules.maxLength) prefix = prefix.slice(0, -1);
  return prefix + suffix;
}

/** Assigns names within one scope (a schema's tables or a table's columns). */
export class NameScope {
  private readonly taken = new Map<string, string>(); // key of the SQL name → Convex name

  constructor(private readonly rules: IdentifierRules) {}

  private key(sqlName: string): string {
    return this.rules.sameNameKey ? this.rules.sameNameKey(sqlName) : sqlName.toLowerCase();
  }

  /** Registers a name given on an earlier load. */
  keep(convexName: string, sqlName: string): void {
    this.taken.set(this.key(sqlName), convexName);
  }

  isTaken(sqlName: string): boolean {
    return this.taken.has(this.key(sqlName));
  }

  assign(convexName: string, preferred: string = convexName): string {
    let sqlName = preferred;
    if (!fits(sqlName, this.rules) || this.isTaken(sqlName)) sqlName = hashedName(convexName, this.rules);
    let n = 2;
    while (this.isTaken(sqlName)) sqlName = hashedName(`${convexName}#${n++}`, this.rules); // hash collision
    this.taken.set(this.key(sqlName), convexName);
    return sqlName;
  }
}

export function componentTableName(component: string, table: string): string {
  return component ? `${component.split("/").join("__")}__${table}` : table;
}
