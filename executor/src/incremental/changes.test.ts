import { describe, expect, it } from "vitest";
import { collectChanges } from "./changes.js";

const v = (table: string, id: string, ts: bigint, fields: Record<string, unknown> | null) => ({
  component: table.includes("/") ? table.split("/")[0]! : "",
  table: table.split("/").at(-1)!,
  ts,
  deleted: fields === null,
  value: { _id: id, ...(fields ?? {}) } as never,
});

describe("collectChanges", () => {
  it("keeps each document's newest version; a tombstone after an upsert becomes a delete", () => {
    const t = collectChanges([
      { truncates: [], values: [v("a", "1", 10n, { n: 1 }), v("a", "2", 10n, { n: 1 })] },
      {
        truncates: [],
        values: [v("a", "1", 20n, { n: 2 }), v("a", "2", 20n, null), v("a", "1", 15n, { n: 9 })],
      },
    ]).get("a")!;
    expect([...t.upserts]).toEqual([["1", { ts: 20n, doc: { _id: "1", n: 2 } }]]);
    expect([...t.deletes]).toEqual([["2", 20n]]);
    expect(t.truncated).toBe(false);
  });

  it("a truncate drops what earlier pages of the batch brought for that table only", () => {
    const changes = collectChanges([
      {
        truncates: [],
        values: [v("a", "1", 10n, { n: 1 }), v("a", "2", 10n, null), v("chat/m", "9", 10n, {})],
      },
      {
        truncates: [{ component: "", table: "a" }],
        values: [v("a", "3", 30n, { n: 3 }), v("a", "4", 30n, null)],
      },
    ]);
    const a = changes.get("a")!;
    expect(a.truncated).toBe(true);
    expect([...a.upserts.keys()]).toEqual(["3"]);
    expect([...a.deletes.keys()]).toEqual([]); // nothing to delete in a table emptied by this batch
    expect(changes.get("chat/m")).toMatchObject({ component: "chat", table: "m", truncated: false });
  });
});
