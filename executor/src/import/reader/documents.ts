/**
 * Streams the decoded documents of one table, in batches, whatever the snapshot's encoding.
 */
import { SnapshotFormatError } from "../api.js";
import type { ConvexObject } from "../values.js";
import {
  decodeLegacyDocument,
  LegacyDecodeError,
  LegacyShapeError,
  parseGeneratedSchema,
  type LegacyTableSchema,
} from "./legacy/index.js";
import { readLineBatches } from "./lines.js";
import type { SnapshotTable } from "./layout.js";
import { decodeUniformLine } from "./uniform.js";
import type { ZipReader } from "./zip.js";

export type TableEncoding =
  | { kind: "uniform" }
  | { kind: "legacy"; schema: LegacyTableSchema }
  /** No generated_schema.jsonl (e.g. `_storage`): plain JSON, numbers are float64 unless integral tokens. */
  | { kind: "plain" };

export async function detectEncoding(zip: ZipReader, table: SnapshotTable): Promise<TableEncoding> {
  if (!table.schemaEntry) return { kind: "plain" };
  const text = await zip.readSmallEntry(table.schemaEntry);
  const lines = text.split("\n");
  const first = lines.find((l) => l.trim() !== "");
  if (first === undefined)
    throw new SnapshotFormatError("empty generated_schema.jsonl", table.schemaEntry, 1);
  if (first.trim() === '"uniform"') return { kind: "uniform" };
  try {
    return { kind: "legacy", schema: parseGeneratedSchema(lines) };
  } catch (err) {
    if (!(err instanceof LegacyShapeError)) throw err;
    throw new SnapshotFormatError(
      `cannot parse the shape (column ${err.column}): ${err.reason}`,
      table.schemaEntry,
      err.line,
    );
  }
}

export interface DocumentBatch {
  firstLine: number;
  docs: ConvexObject[];
  /** Line number of each doc (blank lines are skipped, so not always firstLine + i). */
  lines: number[];
  bytesRead: number;
}

function decoderFor(encoding: TableEncoding): (line: string) => ConvexObject {
  switch (encoding.kind) {
    case "uniform":
    case "plain":
      return decodeUniformLine;
    case "legacy": {
      const schema = encoding.schema;
      return (line) => {
        const parsed: unknown = JSON.parse(line);
        if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
          throw new Error("a document must be a JSON object");
        }
        return decodeLegacyDocument(parsed as Record<string, unknown>, schema);
      };
    }
  }
}

export async function* readDocuments(
  zip: ZipReader,
  table: SnapshotTable,
  encoding: TableEncoding,
): AsyncGenerator<DocumentBatch> {
  const decode = decoderFor(encoding);
  const entry = table.documentsEntry;
  const stream = await zip.openStream(entry);
  try {
    for await (const batch of readLineBatches(stream, entry)) {
      const docs: ConvexObject[] = [];
      const lines: number[] = [];
      for (let i = 0; i < batch.lines.length; i++) {
        const text = batch.lines[i]!;
        if (text.length === 0 || (text.length < 4 && text.trim() === "")) continue;
        const lineNo = batch.firstLine + i;
        let doc: ConvexObject;
        try {
          doc = decode(text);
        } catch (err) {
          if (err instanceof LegacyDecodeError) {
            throw new SnapshotFormatError(err.reason, entry, lineNo, err.fieldPath || undefined);
          }
          const e = err as Error;
          throw new SnapshotFormatError(
            err instanceof SyntaxError ? `not valid JSON (${e.message})` : e.message,
            entry,
            lineNo,
          );
        }
        if (typeof doc._id !== "string" || doc._id.length === 0) {
          throw new SnapshotFormatError("document has no string _id", entry, lineNo, "_id");
        }
        if (!table.isStorage && typeof doc._creationTime !== "number") {
          throw new SnapshotFormatError(
            "document has no numeric _creationTime",
            entry,
            lineNo,
            "_creationTime",
          );
        }
        docs.push(doc);
        lines.push(lineNo);
      }
      yield { firstLine: batch.firstLine, docs, lines, bytesRead: batch.bytesRead };
    }
  } finally {
    stream.destroy();
  }
}
