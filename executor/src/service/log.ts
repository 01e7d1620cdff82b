/**
 * A levelled logger with a `[module]` prefix. Lines go to stderr so stdout stays free for machine output.
 *
 *   const log = createLogger("download");
 *   log.info("snapshot downloaded", { jobId, bytes });
 *
 * Never pass secrets (deploy keys, the shared secret, target passwords) in a message or its fields.
 */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

let threshold: number = LEVELS[(process.env.EXECUTOR_LOG_LEVEL as LogLevel | undefined) ?? "info"] ?? 20;

export function setLogLevel(level: LogLevel): void {
  threshold = LEVELS[level];
}

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export function createLogger(module: string): Logger {
  const write = (level: Exclude<LogLevel, "silent">, message: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] < threshold) return;
    const extra = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : "";
    process.stderr.write(
      `${new Date().toISOString()} ${level.toUpperCase()} [${module}] ${message}${extra}\n`,
    );
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
  };
}

/** The message of anything thrown, without a stack. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
