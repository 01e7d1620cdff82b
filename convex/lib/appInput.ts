/**
 * Validation of an app's settings as entered in the dashboard. Errors are user errors (./userError.ts) whose
 * `field` is the argument's name, so the dashboard shows them next to the field, in production too.
 */
import { qualifiedTableName, targetSchemaName } from "../contract/executor";
import type { RetryPolicy, SyncMode } from "../schema";
import { validateSchedule } from "./cron";
import { SourceDeploymentError } from "./sourceError";
import { SLUG, SLUG_MAX_LENGTH } from "./slug";
import { normalizeDeploymentUrl } from "./sourceUrl";
import { invalidInput } from "./userError";

export const RETRY_LIMITS = {
  maxAttempts: [1, 10],
  baseDelayMs: [1_000, 3_600_000],
  maxDelayMs: [1_000, 86_400_000],
};

export function checkName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed || trimmed.length > 200) throw invalidInput("name", "must be 1 to 200 characters");
  return trimmed;
}

export function checkSlug(slug: string): string {
  if (!SLUG.test(slug))
    throw invalidInput(
      "slug",
      `"${slug}" must be lowercase letters, digits and dashes (max ${SLUG_MAX_LENGTH})`,
    );
  return slug;
}

export function checkDeploymentUrl(url: string, allowInsecureHttp = false): string {
  try {
    return normalizeDeploymentUrl(url, { allowInsecureHttp });
  } catch (error) {
    throw invalidInput(
      "deploymentUrl",
      error instanceof SourceDeploymentError ? error.message : String(error),
    );
  }
}

export function checkDeployKey(key: string): string {
  const trimmed = key.trim();
  if (trimmed.length < 10 || trimmed.length > 1000 || /\s/.test(trimmed))
    throw invalidInput("deployKey", "does not look like a Convex deploy key");
  return trimmed;
}

export function checkTables(tables: string[] | null): string[] | null {
  if (tables === null) return null;
  if (tables.length === 0) throw invalidInput("tables", "select at least one table, or all (null)");
  for (const t of tables)
    if (!qualifiedTableName.safeParse(t).success)
      throw invalidInput("tables", `"${t}" is not a table name (<component>/.../<table>)`);
  return [...new Set(tables)].sort();
}

export function checkTargetSchema(schema: string): string {
  if (schema.trim() === "")
    throw invalidInput("targetSchema", "the target schema is required: the tables land in it");
  const parsed = targetSchemaName.safeParse(schema);
  if (!parsed.success) throw invalidInput("targetSchema", `"${schema}": letters, digits and _ only`);
  return parsed.data;
}

export function checkSchedule(
  schedule: { cron: string; timeZone: string } | null,
): { cron: string; timeZone: string } | null {
  if (schedule === null) return null;
  const cron = schedule.cron.trim().replace(/\s+/g, " ");
  const check = validateSchedule(cron, schedule.timeZone);
  if (!check.ok) throw invalidInput("schedule", check.error);
  return { cron, timeZone: schedule.timeZone };
}

export function checkRetry(retry: RetryPolicy): RetryPolicy {
  for (const key of ["maxAttempts", "baseDelayMs", "maxDelayMs"] as const) {
    const [min, max] = RETRY_LIMITS[key];
    const value = retry[key];
    if (!Number.isInteger(value) || value < min! || value > max!)
      throw invalidInput(`retry.${key}`, `must be a whole number from ${min} to ${max}, got ${value}`);
  }
  if (retry.maxDelayMs < retry.baseDelayMs) throw invalidInput("retry.maxDelayMs", "must be ≥ baseDelayMs");
  return retry;
}

export const SYNC_MODES: readonly SyncMode[] = ["snapshot", "incremental", "auto"];

export function checkSyncMode(mode: string): SyncMode {
  const found = SYNC_MODES.find((m) => m === mode);
  if (!found)
    throw invalidInput(
      "syncMode",
      `"${mode}" is not a sync mode: snapshot (reload everything each run), incremental (the change feed, paid ` +
        `plans) or auto (incremental where the source allows it, snapshot otherwise)`,
    );
  return found;
}
