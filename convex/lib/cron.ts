/**
 * Cron spec + IANA time zone validation and previews, with the same parser @convex-dev/crons uses.
 */
import cronParser from "cron-parser";

export type CronCheck = { ok: true } | { ok: false; error: string };

export function validateTimeZone(timeZone: string): CronCheck {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return { ok: true };
  } catch {
    return { ok: false, error: `unknown time zone "${timeZone}" (expected an IANA name like Europe/Rome)` };
  }
}

export function validateSchedule(cron: string, timeZone: string): CronCheck {
  const tz = validateTimeZone(timeZone);
  if (!tz.ok) return tz;
  const fields = cron.trim().split(/\s+/);
  if (fields.length < 5 || fields.length > 6)
    return { ok: false, error: `cron "${cron}" must have 5 fields (minute hour day month weekday) or 6` };
  try {
    cronParser.parseExpression(cron, { tz: timeZone }).next();
    return { ok: true };
  } catch (error) {
    return { ok: false, error: `cron "${cron}": ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** The next `count` run times (epoch ms) strictly after `fromMs`. */
export function nextRuns(cron: string, timeZone: string, fromMs: number, count: number): number[] {
  const it = cronParser.parseExpression(cron, { tz: timeZone, currentDate: new Date(fromMs) });
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(it.next().getTime());
  return out;
}
