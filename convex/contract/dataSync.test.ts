import { describe, expect, it } from "vitest";
import {
  cursorFromDeltasBody,
  dataSyncRequest,
  dataSyncResponse,
  dataSyncSelection,
  selectionOfTables,
} from "./dataSync.js";

const TS = 1_800_000_000_000_000_123n; // above 2^53

const page = (status: unknown, ts: unknown = TS) => ({
  status,
  truncates: [{ component: "chat", table: "messages" }],
  values: [
    { component: "", table: "users", ts, deleted: false, value: { _id: "abc", _creationTime: 1.5, n: 5n } },
    { component: "", table: "users", ts, deleted: true, value: { _id: "def" } },
  ],
  syncId: "4f1c",
  pagination: { hasMore: true, nextCursor: "01abcdef" },
});

describe("data sync contract", () => {
  it("accepts the three statuses with exact bigint timestamps", () => {
    for (const status of [
      { type: "snapshotting" },
      { type: "stale", snapshotTs: TS },
      { type: "upToDate", snapshotTs: TS },
    ]) {
      const parsed = dataSyncResponse.parse(page(status));
      expect(parsed.values[0]!.ts).toBe(TS);
      expect(parsed.status).toEqual(status);
    }
  });

  it("refuses timestamps that went through a double (JSON.parse), an unknown status and a missing cursor", () => {
    expect(dataSyncResponse.safeParse(page({ type: "upToDate", snapshotTs: Number(TS) })).success).toBe(
      false,
    );
    expect(dataSyncResponse.safeParse(page({ type: "upToDate", snapshotTs: TS }, Number(TS))).success).toBe(
      false,
    );
    expect(dataSyncResponse.safeParse(page({ type: "done", snapshotTs: TS })).success).toBe(false);
    const noCursor = { ...page({ type: "snapshotting" }), pagination: { hasMore: true } };
    expect(dataSyncResponse.safeParse(noCursor).success).toBe(false);
  });

  it("keeps a value's fields, requires its _id", () => {
    const parsed = dataSyncResponse.parse(page({ type: "snapshotting" }));
    expect(parsed.values[0]!.value).toEqual({ _id: "abc", _creationTime: 1.5, n: 5n });
    const bad = page({ type: "snapshotting" });
    bad.values[0]!.value = { _creationTime: 1 } as never;
    expect(dataSyncResponse.safeParse(bad).success).toBe(false);
  });

  it("writes the cursor_from_deltas cursor as a bare integer, exact above 2^53", () => {
    expect(cursorFromDeltasBody(TS)).toBe(`{"cursor":1800000000000000123}`);
    expect(cursorFromDeltasBody(TS, selectionOfTables(["users"]))).toBe(
      `{"cursor":1800000000000000123,"selection":{"_other":"excluded","":{"_other":"excluded","users":{"_other":"included"}}}}`,
    );
    expect(() => cursorFromDeltasBody(-1n)).toThrow(RangeError);
  });

  it("builds selections the backend's Selection accepts: _other at every level, components by path", () => {
    const selection = selectionOfTables(["users", "chat/messages", "chat/workpool/jobs"]);
    expect(selection).toEqual({
      _other: "excluded",
      "": { _other: "excluded", users: { _other: "included" } },
      chat: { _other: "excluded", messages: { _other: "included" } },
      "chat/workpool": { _other: "excluded", jobs: { _other: "included" } },
    });
    expect(dataSyncSelection.safeParse(selection).success).toBe(true);
    expect(dataSyncSelection.safeParse({ "": "excluded" }).success).toBe(false);
    expect(dataSyncRequest.safeParse({ cursor: "", selection }).success).toBe(false);
  });
});
