/**
 * Which tables a snapshot holds, where their entries are, and how each is encoded.
 *
 * Entry names (docs/reference/convex-export.md §1.2): `<prefix><table>/documents.jsonl` and `.../generated_schema.jsonl`, where
 * `<prefix>` is empty for the app and `_components/<name>/` repeated per level for components. `_tables` lists
 * each namespace's tables; `_storage` holds file metadata (its file bodies are never read).
 */
import { SnapshotFormatError } from "../api.js";

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface SnapshotTable {
  /** Component path: "" for the app, "a" or "a/b" for (nested) components. */
  component: string;
  name: string;
  /** `name` or `component/name`: how users and the control plane refer to it. */
  qualified: string;
  documentsEntry: string;
  schemaEntry: string | undefined;
  uncompressedSize: number;
  isStorage: boolean;
}

export interface EntrySizes {
  get(name: string): { uncompressedSize: number } | undefined;
  keys(): Iterable<string>;
}

interface ParsedEntry {
  component: string;
  table: string;
  file: string;
}

/** Parses `_components/a/_components/b/users/documents.jsonl`; undefined for entries that are not table files. */
function parseEntryName(name: string): ParsedEntry | undefined {
  const parts = name.split("/");
  const components: string[] = [];
  let i = 0;
  while (parts[i] === "_components" && i + 2 < parts.length) {
    components.push(parts[i + 1]!);
    i += 2;
  }
  if (parts.length - i !== 2) return undefined;
  return { component: components.join("/"), table: parts[i]!, file: parts[i + 1]! };
}

export function qualify(component: string, table: string): string {
  return component ? `${component}/${table}` : table;
}

export function discoverTables(entries: EntrySizes, opts: { includeStorage: boolean }): SnapshotTable[] {
  const tables = new Map<string, SnapshotTable>();
  for (const name of entries.keys()) {
    const parsed = parseEntryName(name);
    if (!parsed || parsed.file !== "documents.jsonl") continue;
    const { component, table } = parsed;
    for (const segment of component ? component.split("/") : []) {
      if (!IDENTIFIER.test(segment))
        throw new SnapshotFormatError(`invalid component name "${segment}"`, name);
    }
    const isStorage = table === "_storage";
    if (table.startsWith("_") && !isStorage) continue; // _tables and other system tables
    if (isStorage && !opts.includeStorage) continue;
    if (!IDENTIFIER.test(table)) throw new SnapshotFormatError(`invalid table name "${table}"`, name);
    const prefix = name.slice(0, name.length - "documents.jsonl".length);
    const schemaEntry = `${prefix}generated_schema.jsonl`;
    tables.set(qualify(component, table), {
      component,
      name: table,
      qualified: qualify(component, table),
      documentsEntry: name,
      schemaEntry: entries.get(schemaEntry) ? schemaEntry : undefined,
      uncompressedSize: entries.get(name)!.uncompressedSize,
      isStorage,
    });
  }
  return [...tables.values()].sort((a, b) =>
    a.qualified < b.qualified ? -1 : a.qualified > b.qualified ? 1 : 0,
  );
}

/** Checks `_tables/documents.jsonl` of each namespace against the table entries found. */
export function checkTablesIndex(
  tables: readonly SnapshotTable[],
  indexes: ReadonlyMap<string, { entry: string; names: string[] }>,
): void {
  const present = new Set(tables.map((t) => t.qualified));
  for (const [component, { entry, names }] of indexes) {
    for (const name of names) {
      if (!present.has(qualify(component, name))) {
        throw new SnapshotFormatError(
          `lists table "${name}" but the archive has no ${name}/documents.jsonl`,
          entry,
        );
      }
    }
  }
}

export function tablesIndexEntries(entries: EntrySizes): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of entries.keys()) {
    const parsed = parseEntryName(name);
    if (parsed && parsed.table === "_tables" && parsed.file === "documents.jsonl")
      out.set(parsed.component, name);
  }
  return out;
}

/** Parses `_tables/documents.jsonl`: lines of {"name": "...", "id": 10001}. */
export function parseTablesIndex(text: string, entry: string): string[] {
  const names: string[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      throw new SnapshotFormatError("not valid JSON", entry, i + 1);
    }
    const name = (row as { name?: unknown })?.name;
    if (typeof name !== "string")
      throw new SnapshotFormatError('expected {"name": ..., "id": ...}', entry, i + 1);
    names.push(name);
  });
  return names;
}

/** Selects tables by qualified name; unknown names are an error listing what exists. */
export function selectTables(
  all: readonly SnapshotTable[],
  wanted: readonly string[] | null | undefined,
): SnapshotTable[] {
  if (!wanted || wanted.length === 0) return [...all];
  const byName = new Map(all.map((t) => [t.qualified, t]));
  const missing = wanted.filter((w) => !byName.has(w));
  if (missing.length > 0) {
    throw new Error(
      `table(s) not in the snapshot: ${missing.join(", ")}. Available: ${all.map((t) => t.qualified).join(", ") || "(none)"}`,
    );
  }
  return [...new Set(wanted)].map((w) => byName.get(w)!);
}
