/** Formatting for people: counts, sizes, durations, times. Pure functions, tested in format.test.ts. */

import type { TableState } from "$convex/contract/executor";
import type { JobStatus } from "$convex/schema";

export type Tone = "ok" | "bad" | "active" | "warn" | "neutral";

// Typed by the control plane's lists, so a status added there does not compile until it has a tone here.
const JOB_TONES: Record<JobStatus, Tone> = {
  queued: "active",
  exporting: "active",
  dispatched: "active",
  running: "active",
  succeeded: "ok",
  failed: "bad",
  cancelled: "warn",
};
const TABLE_TONES: Record<TableState, Tone> = {
  pending: "active",
  loading: "active",
  loaded: "ok",
  swapped: "ok",
  skipped: "neutral",
  failed: "bad",
};
const OTHER_TONES: Record<string, Tone> = {
  online: "ok",
  done: "ok",
  ok: "ok",
  enabled: "ok",
  sent: "ok",
  offline: "bad",
  error: "bad",
  missing: "bad",
  interrupted: "warn",
  disabled: "warn",
  revoked: "warn",
};

const TONES = new Map<string, Tone>([
  ...Object.entries(JOB_TONES),
  ...Object.entries(TABLE_TONES),
  ...Object.entries(OTHER_TONES),
]);

/** The colour family of a job, table or executor status. */
export function statusTone(status: string): Tone {
  return TONES.get(status) ?? "neutral";
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

/**
 * How far behind something is, in whole units that stay readable while ticking every second: 0 s, 42 s,
 * 4 min 05 s, 2 h 03 min, 3 days 04 h.
 */
export function formatLag(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, "0")} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${String(minutes % 60).padStart(2, "0")} min`;
  const days = Math.floor(hours / 24);
  return `${days} day${days === 1 ? "" : "s"} ${String(hours % 24).padStart(2, "0")} h`;
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

/**
 * The one time zone the dashboard shows times in, and its label. UTC: the same as the warehouse's
 * `_creationTimeUtc`, the charts' days and the command-line tools, so a time read anywhere matches.
 * A schedule's next runs are also shown in the schedule's own zone, labelled with its name.
 */
export const DISPLAY_TIME_ZONE = "UTC";

function parts(timestamp: number, timeZone: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of new Intl.DateTimeFormat("en-GB", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    weekday: "short",
    hourCycle: "h23",
  }).formatToParts(timestamp))
    out[part.type] = part.value;
  return out;
}

export type DateTimeOptions = { seconds?: boolean; timeZone?: string; weekday?: boolean };

/** 2026-11-29 07:30 UTC; with `seconds`, 2026-11-29 07:30:15 UTC; in another zone, labelled with its name. */
export function formatDateTime(timestamp: number | null | undefined, options: DateTimeOptions = {}): string {
  if (timestamp === null || timestamp === undefined) return "—";
  const zone = options.timeZone ?? DISPLAY_TIME_ZONE;
  const p = parts(timestamp, zone);
  const time = `${p.hour}:${p.minute}${options.seconds ? `:${p.second}` : ""}`;
  return `${options.weekday ? `${p.weekday} ` : ""}${p.year}-${p.month}-${p.day} ${time} ${zone}`;
}

/** 07:30 (or 07:30:15) in the display zone, without a label: for places that state the zone once. */
export function formatTime(
  timestamp: number,
  options: { seconds?: boolean; timeZone?: string } = {},
): string {
  const p = parts(timestamp, options.timeZone ?? DISPLAY_TIME_ZONE);
  return `${p.hour}:${p.minute}${options.seconds ? `:${p.second}` : ""}`;
}

/** A scheduled run in the display zone, with the schedule's own wall-clock time when its zone differs. */
export function formatScheduledRun(timestamp: number, scheduleTimeZone: string | null | undefined): string {
  const shown = formatDateTime(timestamp, { weekday: true });
  if (!scheduleTimeZone || scheduleTimeZone === DISPLAY_TIME_ZONE) return shown;
  const local = formatTime(timestamp, { timeZone: scheduleTimeZone });
  if (local === formatTime(timestamp)) return shown;
  return `${shown} (${local} ${scheduleTimeZone})`;
}

/** Sun 06:00 in the display zone: axis labels under a heading that names the zone. */
export function formatWeekdayTime(timestamp: number): string {
  const p = parts(timestamp, DISPLAY_TIME_ZONE);
  return `${p.weekday} ${p.hour}:${p.minute}`;
}

/** 2026-11-29: the day in the display zone (the Logs filters take the same format). */
export function formatDate(timestamp: number, timeZone: string = DISPLAY_TIME_ZONE): string {
  const p = parts(timestamp, timeZone);
  return `${p.year}-${p.month}-${p.day}`;
}

/** A YYYY-MM-DD day in the display zone as epoch ms of its start; `endOfDay` gives the next day's start. */
export function parseDate(value: string, endOfDay = false): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.trim());
  if (!match) return undefined;
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(y, m - 1, d + (endOfDay ? 1 : 0));
  // Reject days that do not exist (2026-02-30) instead of rolling them over.
  return formatDate(Date.UTC(y, m - 1, d)) === `${match[1]}-${match[2]}-${match[3]}` ? ms : undefined;
}

export function formatPercent(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return "—";
  return `${Math.round(ratio * 100)}%`;
}
