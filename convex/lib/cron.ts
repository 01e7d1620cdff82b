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
  // Each field alone first (the others "*"), so the error can name the field and say what it accepts.
  const names = fields.length === 6 ? FIELDS : FIELDS.slice(1);
  for (let i = 0; i < fields.length; i++) {
    const alone = fields.map((f, j) => (j === i ? f : "*")).join(" ");
    try {
      cronParser.parseExpression(alone, { tz: timeZone });
    } catch (error) {
      return { ok: false, error: `cron "${cron}": ${describeFieldError(names[i]!, fields[i]!, error)}` };
    }
  }
  try {
    const expression = cronParser.parseExpression(cron, { tz: timeZone });
    expression.next();
    // Every minute is the most a sync can use (an incremental run is ~a minute of lag); seconds would only
    // fire runs that the one-active-job rule skips.
    if (expression.fields.second.length > 1)
      return {
        ok: false,
        error: `cron "${cron}" runs more than once a minute: give the seconds field one value (e.g. 0); the most frequent schedule is every minute (* * * * *)`,
      };
    return { ok: true };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { ok: false, error: `cron "${cron}" never matches a date (${detail})` };
  }
}

type CronField = { name: string; plural: string; range: string; names?: string };
const FIELDS: CronField[] = [
  { name: "second", plural: "seconds", range: "0 to 59" },
  { name: "minute", plural: "minutes", range: "0 to 59" },
  { name: "hour", plural: "hours", range: "0 to 23" },
  { name: "day of the month", plural: "days of the month", range: "1 to 31" },
  { name: "month", plural: "months", range: "1 to 12", names: "JAN to DEC" },
  { name: "weekday", plural: "weekdays", range: "0 to 7 (0 and 7 are Sunday)", names: "SUN to SAT" },
];

/** cron-parser's messages (lib/expression.js `_parseField`) said in words, for one field. */
function describeFieldError(field: CronField, text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const allowed = `${field.plural} go from ${field.range}${field.names ? ` or ${field.names}` : ""}`;
  const outOfRange = /got value (\S+) expected range/.exec(message);
  if (outOfRange) return `${outOfRange[1]} is not a valid ${field.name}: ${allowed}.`;
  const backwards = /Invalid range: (\S+)/.exec(message);
  if (backwards)
    return `the ${field.name} range ${backwards[1]} runs backwards: write the smaller value first.`;
  if (/repeat at every 0/.test(message)) return `the ${field.name} step cannot be 0 (*/15 means every 15).`;
  return (
    `"${text}" is not a valid ${field.name}: use a number (${allowed}), a range (1-5), a list (1,3,5), ` +
    `a step (*/15) or *.`
  );
}

/** The next `count` run times (epoch ms) strictly after `fromMs`. */
export function nextRuns(cron: string, timeZone: string, fromMs: number, count: number): number[] {
  const it = cronParser.parseExpression(cron, { tz: timeZone, currentDate: new Date(fromMs) });
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(it.next().getTime());
  return out;
}

export const HOUR_MS = 60 * 60_000;
/** Runs looked at by {@link runsMoreOftenThanHourly}: a day of hourly runs, so a sub-hourly gap shows within it. */
const CADENCE_RUNS = 25;

/**
 * Whether two of the schedule's next runs are less than an hour apart. A snapshot-mode app exports and reloads the
 * whole deployment each run, so the app form warns about such a schedule (an export then blocks the source's own
 * backups while it runs).
 */
export function runsMoreOftenThanHourly(cron: string, timeZone: string, fromMs: number): boolean {
  const runs = nextRuns(cron, timeZone, fromMs, CADENCE_RUNS);
  return runs.some((run, i) => i > 0 && run - runs[i - 1]! < HOUR_MS);
}

/** Which 15-minute windows of a span hold at least one run of a schedule, and how many runs the span holds. */
export interface RunDensity {
  /** Indexes of the windows (from the span's start) that hold a run, ascending. */
  occupied: number[];
  runs: number;
}

export const DENSITY_WINDOW_MS = 15 * 60_000;
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Where a schedule's runs fall over `windows` quarter hours from `fromMs` (a multiple of 15 min), however often it
 * fires. cron-parser's `next()` costs milliseconds per call with a time zone, far too slow to walk a schedule that
 * runs every minute for two days inside a query; so the field sets come from cron-parser's own parse
 * (`expression.fields`) and each minute's wall-clock time in the zone is matched against them with cron-parser's
 * day rule (lib/expression.js `_findSchedule`: day of month OR weekday when both are restricted). Offsets of
 * real zones are multiples of 15 minutes, so one Intl lookup per window gives every minute in it. Expressions
 * with `L` or `#` fall back to walking `next()`, at most `fallbackCap` runs. Around a daylight-saving change the
 * skipped or repeated hour may differ from cron-parser's choice.
 */
export function runDensity(
  cron: string,
  timeZone: string,
  fromMs: number,
  windows: number,
  fallbackCap = 200,
): RunDensity {
  const expression = cronParser.parseExpression(cron, { tz: timeZone, currentDate: new Date(fromMs - 1) });
  const f = expression.fields;
  const special = [...f.dayOfMonth, ...f.dayOfWeek].some((v) => typeof v !== "number");
  const end = fromMs + windows * DENSITY_WINDOW_MS;
  if (special || (expression as unknown as { _nthDayOfWeek: number })._nthDayOfWeek > 0) {
    const occupied = new Set<number>();
    let runs = 0;
    for (let at = expression.next().getTime(); at < end && runs < fallbackCap; runs++) {
      occupied.add(Math.floor((at - fromMs) / DENSITY_WINDOW_MS));
      at = expression.next().getTime();
    }
    return { occupied: [...occupied], runs };
  }
  const minutes = new Set(f.minute as readonly number[]);
  const hours = new Set(f.hour as readonly number[]);
  const daysOfMonth = new Set(f.dayOfMonth as readonly number[]);
  const weekdays = new Set((f.dayOfWeek as readonly number[]).map((d) => (d === 7 ? 0 : d)));
  const months = new Set(f.month as readonly number[]);
  const perMinute = f.second.length;
  const weekdayWildcard = f.dayOfWeek.length === 8;
  const wall = new Intl.DateTimeFormat("en-US", {
    timeZone,
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    weekday: "short",
    hourCycle: "h23",
  });
  const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const occupied: number[] = [];
  let runs = 0;
  for (let w = 0; w < windows; w++) {
    const at = fromMs + w * DENSITY_WINDOW_MS;
    if (at >= end) break;
    const p = Object.fromEntries(wall.formatToParts(at).map((x) => [x.type, x.value]));
    const month = Number(p.month);
    const day = Number(p.day);
    const weekday = WEEKDAYS.indexOf(p.weekday!);
    const monthDayWildcard = f.dayOfMonth.length >= DAYS_IN_MONTH[month - 1]!;
    const dom = daysOfMonth.has(day);
    const dow = weekdays.has(weekday);
    const dayOk = !(
      (!dom && (!dow || weekdayWildcard)) ||
      (!monthDayWildcard && weekdayWildcard && !dom) ||
      (monthDayWildcard && !weekdayWildcard && !dow)
    );
    if (!dayOk || !months.has(month) || !hours.has(Number(p.hour))) continue;
    const first = Number(p.minute);
    let hits = 0;
    for (let m = first; m < first + 15; m++) if (minutes.has(m)) hits++;
    if (hits === 0) continue;
    occupied.push(w);
    runs += hits * perMinute;
  }
  return { occupied, runs };
}

/** The last `count` run times (epoch ms) at or before `fromMs`, newest first. */
export function previousRuns(cron: string, timeZone: string, fromMs: number, count: number): number[] {
  const it = cronParser.parseExpression(cron, { tz: timeZone, currentDate: new Date(fromMs + 1) });
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(it.prev().getTime());
  return out;
}
