/** Formatting for people: counts, sizes, durations, times. Pure functions, tested in format.test.ts. */

export type Tone = "ok" | "bad" | "active" | "warn" | "neutral";

const ACTIVE_STATES = new Set(["queued", "exporting", "dispatched", "running", "pending", "loading"]);
const OK_STATES = new Set(["succeeded", "online", "done", "ok", "enabled", "loaded", "swapped", "sent"]);
const BAD_STATES = new Set(["failed", "offline", "error", "missing"]);
const WARN_STATES = new Set(["cancelled", "interrupted", "disabled", "revoked"]);

/** The colour family of a job, table or executor status. */
export function statusTone(status: string): Tone {
  if (OK_STATES.has(status)) return "ok";
  if (BAD_STATES.has(status)) return "bad";
  if (WARN_STATES.has(status)) return "warn";
  if (ACTIVE_STATES.has(status)) return "active";
  return "neutral";
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function formatCount(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : integer.format(value);
}

const BYTE_UNITS = ["B", "KB", "MB", "GB", "TB"] as const;

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return "—";
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

/** 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || ms < 0) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const totalSeconds = Math.round(seconds);
  const minutes = Math.floor(totalSeconds / 60);
  if (minutes < 60) return `${minutes} min ${String(totalSeconds % 60).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/** "just now", "5 min ago", "in 3 h", "2 days ago"; beyond a week, the date. */
export function formatRelative(timestamp: number | null | undefined, now: number = Date.now()): string {
  if (timestamp === null || timestamp === undefined) return "—";
  const delta = timestamp - now;
  const abs = Math.abs(delta);
  const wrap = (text: string) => (delta < 0 ? `${text} ago` : `in ${text}`);
  if (abs < 45_000) return delta < 0 ? "just now" : "in a moment";
  if (abs < 3_600_000) return wrap(`${Math.round(abs / 60_000)} min`);
  if (abs < 86_400_000) return wrap(`${Math.round(abs / 3_600_000)} h`);
  if (abs < 7 * 86_400_000) {
    const days = Math.round(abs / 86_400_000);
    return wrap(`${days} day${days === 1 ? "" : "s"}`);
  }
  return formatDate(timestamp);
}

export function formatDateTime(timestamp: number | null | undefined, timeZone?: string): string {
  if (timestamp === null || timestamp === undefined) return "—";
  return new Intl.DateTimeFormat("en-GB", {
    dateStyle: "medium",
    timeStyle: "short",
    ...(timeZone ? { timeZone } : {}),
  }).format(timestamp);
}

export function formatDate(timestamp: number, timeZone?: string): string {
  return new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", ...(timeZone ? { timeZone } : {}) }).format(
    timestamp,
  );
}

export function formatPercent(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return "—";
  return `${Math.round(ratio * 100)}%`;
}
