/**
 * Rows written straight into the harness's database in the control plane's schema (convex/schema.ts), for app
 * states the control plane reaches only over time (finished jobs, a probed feed, a stored position).
 */
import type { Doc } from "../../convex/_generated/dataModel.js";

export type AppRow = Omit<Doc<"apps">, "_id" | "_creationTime">;

/**
 * An app named `name` (slug and target schema derived from it), enabled, manual only, created at `createdAt`;
 * `fields` override any of that. Its deploy key is no ciphertext: such an app never reaches a source.
 */
export function appRow(name: string, createdAt: number, fields: Partial<AppRow> = {}): AppRow {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return {
    name,
    slug,
    deploymentUrl: "https://happy-animal-123.convex.cloud",
    deployKeyCiphertext: "not-used",
    deployKeyHint: "prod:happy-animal-123|••••0000",
    tables: null,
    targetSchema: slug.replace(/-/g, "_"),
    schedule: null,
    enabled: true,
    retry: { maxAttempts: 3, baseDelayMs: 5_000, maxDelayMs: 60_000 },
    includeStorage: false,
    createdAt,
    updatedAt: createdAt,
    failureStreak: 0,
    ...fields,
  };
}
