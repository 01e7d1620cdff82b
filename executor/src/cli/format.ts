/** Small formatting helpers for terminal output. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** "1 row", "2 rows", "1,200 tables": a count with its noun in the right number. */
export function countOf(n: number, singular: string, plural = `${singular}s`): string {
  return `${formatCount(n)} ${n === 1 ? singular : plural}`;
}

/** A snapshot timestamp (ns since the epoch, decimal) as a UTC date-time with milliseconds; "" when absent. */
export function formatSnapshotTs(ns: string | null | undefined): string {
  if (!ns || !/^\d+$/.test(ns)) return "";
  return formatUtc(new Date(Number(BigInt(ns) / 1_000_000n)));
}

/** 2026-11-29 07:30:15 UTC (with .mmm when `ms`). */
export function formatUtc(date: Date, ms = false): string {
  return `${date
    .toISOString()
    .replace("T", " ")
    .slice(0, ms ? 23 : 19)} UTC`;
}

/** A plain text table with right-aligned numeric columns. */
export function renderTable(headers: string[], rows: string[][], numeric: boolean[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
