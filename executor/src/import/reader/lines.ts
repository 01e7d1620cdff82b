/**
 * Splits an inflated documents.jsonl stream into lines without ever holding more than one chunk plus one
 * (partial) line. Lines are numbered from 1; the byte count lets callers report progress.
 */
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { SnapshotFormatError } from "../api.js";

/** A Convex document is at most 1 MiB; its JSON (escapes, base64) can be larger, but not this large. */
export const MAX_LINE_CHARS = 64 * 1024 * 1024;

export interface LineBatch {
  /** Line number of lines[0]. */
  firstLine: number;
  lines: string[];
  /** Uncompressed bytes consumed so far from the entry (cumulative). */
  bytesRead: number;
}

/**
 * Yields batches of complete lines (one batch per incoming chunk, so roughly 64 KiB of text each).
 * Empty lines are skipped but counted. Throws if the entry ends in the middle of a line that is not valid
 * (a truncated final line is reported by the JSON decoder with its line number).
 */
export async function* readLineBatches(stream: Readable, entry: string): AsyncGenerator<LineBatch> {
  const decoder = new StringDecoder("utf8");
  let carry = "";
  let lineNo = 1;
  let bytesRead = 0;
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      bytesRead += buf.length;
      const text = carry + decoder.write(buf);
      let start = 0;
      const lines: string[] = [];
      const firstLine = lineNo;
      let nl = text.indexOf("\n", start);
      while (nl !== -1) {
        lines.push(text.slice(start, nl));
        start = nl + 1;
        nl = text.indexOf("\n", start);
      }
      carry = text.slice(start);
      if (carry.length > MAX_LINE_CHARS) {
        throw new SnapshotFormatError(
          `line longer than ${MAX_LINE_CHARS} characters`,
          entry,
          lineNo + lines.length,
        );
      }
      lineNo += lines.length;
      if (lines.length > 0) yield { firstLine, lines, bytesRead };
    }
  } catch (err) {
    if (err instanceof SnapshotFormatError) throw err;
    throw new SnapshotFormatError(
      `cannot inflate (${(err as Error).message}); the ZIP may be truncated`,
      entry,
      lineNo,
    );
  }
  const rest = carry + decoder.end();
  if (rest.length > 0) yield { firstLine: lineNo, lines: [rest], bytesRead };
}
