/**
 * Import progress on the terminal: a live bar for the table being loaded when stdout is a TTY, plain log lines
 * (one per table state change, and a heartbeat line every few seconds) otherwise.
 */
import type { TableFigures } from "../../../convex/contract/executor.js";
import type { ImportProgress } from "../import/api.js";
import { countOf, formatBytes } from "./format.js";

const BAR_WIDTH = 24;
const PLAIN_HEARTBEAT_MS = 5_000;

export interface ProgressOutput {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export function bar(fraction: number, width = BAR_WIDTH): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return "█".repeat(filled) + "░".repeat(width - filled);
}

/** The table being loaded: with a bar for a live terminal line, as plain words for a log. */
export function describeTable(f: TableFigures, elapsedSeconds: number, withBar = true): string {
  const total = f.totalBytes ?? 0;
  const pct = total > 0 ? Math.min(100, Math.floor((f.bytes / total) * 100)) : 100;
  const rate = elapsedSeconds > 0 ? f.bytes / elapsedSeconds : 0;
  if (!withBar)
    return `${f.table}: ${pct}% loaded, ${countOf(f.rows, "row")}, ${formatBytes(f.bytes)} at ${formatBytes(rate)}/s`;
  return `${f.table}  ${bar(total > 0 ? f.bytes / total : 1)} ${String(pct).padStart(3)}%  ${countOf(f.rows, "row")}  ${formatBytes(f.bytes)}  ${formatBytes(rate)}/s`;
}

export class ProgressPrinter {
  private readonly states = new Map<string, string>();
  private readonly startedAt = new Map<string, number>();
  private lastPlain = 0;
  private liveLine = false;

  constructor(private readonly out: ProgressOutput) {}

  update(progress: ImportProgress): void {
    const now = Date.now();
    for (const f of progress.tables) {
      const previous = this.states.get(f.table);
      if (previous === f.state) continue;
      this.states.set(f.table, f.state);
      if (f.state === "loading") this.startedAt.set(f.table, now);
      if (f.state === "loaded" || f.state === "failed") {
        this.clearLive();
        this.out.write(
          `${f.state === "loaded" ? "✓" : "✗"} ${f.table}: ${countOf(f.rows, "row")}, ${formatBytes(f.bytes)}${f.seconds !== undefined ? ` in ${f.seconds.toFixed(1)} s` : ""}\n`,
        );
      }
    }
    if (progress.phase === "swapping") {
      this.clearLive();
      this.out.write("Swapping all tables in, in one transaction…\n");
      return;
    }
    const current = progress.tables.find((f) => f.state === "loading");
    if (!current) return;
    const elapsed = (now - (this.startedAt.get(current.table) ?? now)) / 1000;
    if (this.out.isTTY) {
      const width = Math.max(20, (this.out.columns ?? 100) - 1);
      this.out.write(`\r\x1b[2K${describeTable(current, elapsed).slice(0, width)}`);
      this.liveLine = true;
    } else if (now - this.lastPlain >= PLAIN_HEARTBEAT_MS) {
      this.lastPlain = now;
      this.out.write(`… ${describeTable(current, elapsed, false)}\n`);
    }
  }

  clearLive(): void {
    if (this.liveLine) {
      this.out.write("\r\x1b[2K");
      this.liveLine = false;
    }
  }
}
