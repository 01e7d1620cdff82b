/**
 * The one thing PostgreSQL and PGlite differ in: how statements and COPY data reach the server.
 * Implementations live in transports.ts; the session and the in-place refill use only this interface.
 */
export interface CopySink {
  write(text: string): Promise<void>;
  end(): Promise<void>;
  abort(): Promise<void>;
}

export interface PgTransport {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** What follows FROM in a COPY statement: `STDIN` or PGlite's `'/dev/blob'`. */
  readonly copySource: string;
  copyIn(sql: string): Promise<CopySink>;
  close(): Promise<void>;
}
