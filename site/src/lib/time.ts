/** Stable time windows for query arguments: a query re-subscribes whenever its arguments change. */

export const DAY_MS = 86_400_000;

/** The last `days` whole UTC days including today: [from, to). */
export function lastDaysUtc(days: number, now: number = Date.now()): { from: number; to: number } {
  const to = Math.floor(now / DAY_MS) * DAY_MS + DAY_MS;
  return { from: to - days * DAY_MS, to };
}

/** A `<input type="date">` value (local midnight) as epoch ms; `endOfDay` gives the next midnight. */
export function dateInputToMs(value: string, endOfDay = false): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined;
  const [y, m, d] = value.split("-").map(Number) as [number, number, number];
  return new Date(y, m - 1, d + (endOfDay ? 1 : 0)).getTime();
}

/** The browser's IANA time zone, the default for a new schedule. */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}
