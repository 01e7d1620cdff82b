/**
 * An incremental job's figures in words (contract `incrementalFigures`, `tableChanges`): change counts and the
 * run's outcome. Pure, tested in incremental.test.ts.
 */
import type { IncrementalOutcome, TableChanges } from "$convex/contract/executor";
import { formatCount, type Tone } from "./format";

export type ChangeTotals = { inserted: number; updated: number; deleted: number; truncated: number };

export function totalChanges(tables: readonly TableChanges[]): ChangeTotals {
  const totals = { inserted: 0, updated: 0, deleted: 0, truncated: 0 };
  for (const t of tables) {
    totals.inserted += t.inserted;
    totals.updated += t.updated;
    totals.deleted += t.deleted;
    if (t.truncated) totals.truncated++;
  }
  return totals;
}

/** +1,200 ~30 −4: inserted, updated, deleted (a true minus sign). */
export function formatChanges(totals: Pick<ChangeTotals, "inserted" | "updated" | "deleted">): string {
  return `+${formatCount(totals.inserted)} ~${formatCount(totals.updated)} −${formatCount(totals.deleted)}`;
}

const OUTCOMES: Record<IncrementalOutcome, { label: string; tone: Tone; meaning: string }> = {
  upToDate: {
    label: "up to date",
    tone: "ok",
    meaning: "The warehouse equals the source at its position.",
  },
  stopped: {
    label: "stopped early",
    tone: "active",
    meaning: "Cut short at a committed step (page limit or deadline); the next run continues from there.",
  },
  needsSnapshot: {
    label: "needs a snapshot",
    tone: "warn",
    meaning:
      "The change feed cannot continue from the warehouse's position, so a full snapshot must reload every table " +
      "and the feed start again from it. The step that found this changed nothing.",
  },
};

export function describeOutcome(outcome: IncrementalOutcome): { label: string; tone: Tone; meaning: string } {
  return OUTCOMES[outcome];
}
