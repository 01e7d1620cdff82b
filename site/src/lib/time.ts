/** Stable time windows for query arguments: a query re-subscribes whenever its arguments change. */

export const DAY_MS = 86_400_000;

/** The last `days` whole UTC days including today: [from, to). */
export function lastDaysUtc(days: number, now: number = Date.now()): { from: number; to: number } {
  const to = Math.floor(now / DAY_MS) * DAY_MS + DAY_MS;
  return { from: to - days * DAY_MS, to };
}

/** The browser's IANA time zone, the default for a new schedule. */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}
