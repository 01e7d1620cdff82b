/**
 * A stand-in for the SQL Server wire (../wire.ts) that records every request the session sends and answers
 * queries from a test's script. It imitates what the session relies on in mssql and tedious: `query` resolves to
 * a recordset (mssql Request.query), a server error carries its `number` (mssql RequestError), `bulkLoad` pulls
 * rows from the async iterable as tedious' BulkLoadPayload does (node_modules/tedious/lib/bulk-load-payload.js)
 * and resolves to the row count. The INSERT BULK statement of each load is produced by a real tedious BulkLoad
 * configured by ../bulk.ts, as tedious would send it.
 */
import tedious from "tedious";
import { Collation } from "tedious/lib/collation.js";
import type { PlannedColumn } from "../../../mapping/types.js";
import { defineBulkColumns } from "../bulk.js";
import type { MssqlWire, Params, RequestOptions, WireTransaction } from "../wire.js";

// The collation a server announces at login: Latin1_General_CI_AS (LCID 0x0409, sort id 52).
export const SERVER_COLLATION = Collation.fromBuffer(Buffer.from([0x09, 0x04, 0xd0, 0x00, 0x34]));

export interface Sent {
  kind: "query" | "batch" | "bulk" | "begin" | "commit" | "rollback";
  text: string;
  params: Params;
  options: RequestOptions;
  inTransaction: boolean;
  /** For a bulk load: the rows the stand-in took. */
  rows?: number;
}

/** A server error as mssql reports it (RequestError with the SQL Server error number). */
export class ServerError extends Error {
  constructor(
    message: string,
    readonly number: number,
  ) {
    super(message);
  }
}

export type Responder = (text: string, params: Params) => unknown[] | Promise<unknown[]>;

export function newBulkLoad(table: string): tedious.BulkLoad {
  const options = { tdsVersion: "7_4" } as unknown as ConstructorParameters<typeof tedious.BulkLoad>[2];
  return new tedious.BulkLoad(
    table,
    SERVER_COLLATION,
    options,
    { keepNulls: true, lockTable: true },
    () => {},
  );
}

export class RecordingWire implements MssqlWire {
  readonly sent: Sent[] = [];
  private inTransaction = false;
  /** Called for each row a bulk load takes (e.g. to make the consumer slow or to watch buffers). */
  onBulkRow: (() => Promise<void> | void) | undefined;

  constructor(private readonly respond: Responder = () => []) {}

  texts(kind?: Sent["kind"]): string[] {
    return this.sent.filter((s) => kind === undefined || s.kind === kind).map((s) => s.text);
  }

  async query<T>(text: string, params: Params = {}, options: RequestOptions = {}): Promise<T[]> {
    this.sent.push({ kind: "query", text, params, options, inTransaction: this.inTransaction });
    return (await this.respond(text, params)) as T[];
  }

  async batch(text: string): Promise<void> {
    this.sent.push({ kind: "batch", text, params: {}, options: {}, inTransaction: this.inTransaction });
    await this.respond(text, {});
  }

  async begin(): Promise<WireTransaction> {
    this.sent.push({ kind: "begin", text: "", params: {}, options: {}, inTransaction: false });
    this.inTransaction = true;
    const end = (kind: "commit" | "rollback") => {
      this.sent.push({ kind, text: "", params: {}, options: {}, inTransaction: true });
      this.inTransaction = false;
    };
    return {
      query: (text, params, options) => this.query(text, params, options),
      commit: async () => end("commit"),
      rollback: async () => end("rollback"),
    };
  }

  async bulkLoad(table: string, columns: readonly PlannedColumn[], rows: AsyncIterable<unknown[]>) {
    const bulk = newBulkLoad(table);
    defineBulkColumns(bulk, columns);
    const sent: Sent = {
      kind: "bulk",
      text: bulk.getBulkInsertSql(),
      params: {},
      options: {},
      inTransaction: this.inTransaction,
      rows: 0,
    };
    this.sent.push(sent);
    for await (const row of rows) {
      if (row.length !== columns.length)
        throw new Error(`row has ${row.length} cells for ${columns.length} columns`);
      sent.rows!++;
      await this.onBulkRow?.();
    }
    return sent.rows!;
  }

  async close(): Promise<void> {}
}
