/**
 * Conformance of the change-feed stand-in with the backend behaviours it copies (see the file references in
 * dataSyncFeed.ts), through its request handler.
 */
import { describe, expect, it } from "vitest";
import { decodeUniformLine } from "../../executor/src/import/reader/uniform.js";
import { FeedDeployment } from "./dataSyncFeed.js";

interface Page {
  status: { type: string; snapshotTs?: bigint };
  truncates: { component: string; table: string }[];
  values: {
    component: string;
    table: string;
    ts: bigint;
    deleted: boolean;
    value: Record<string, unknown>;
  }[];
  syncId: string;
  pagination: { hasMore: boolean; nextCursor: string };
}

function call(
  d: FeedDeployment,
  body: unknown,
  headers: { authorization?: string; contentType?: string } = {},
) {
  return d.handle({
    method: "POST",
    path: "/api/v1/data/sync",
    authorization: headers.authorization ?? `Convex ${d.deployKey}`,
    contentType: headers.contentType ?? "application/json",
    body: typeof body === "string" ? body : JSON.stringify(body),
  })!;
}

function page(d: FeedDeployment, cursor?: string): Page {
  const answer = call(d, cursor ? { cursor } : {});
  expect(answer.status).toBe(200);
  return decodeUniformLine(answer.body) as unknown as Page;
}

function drain(d: FeedDeployment, cursor?: string): Page[] {
  const pages: Page[] = [];
  for (;;) {
    const p = page(d, cursor);
    pages.push(p);
    cursor = p.pagination.nextCursor;
    if (p.status.type === "upToDate") return pages;
  }
}

describe("data sync stand-in", () => {
  it("snapshots table by table, one table per page: each truncate on the page where that table's traversal starts", () => {
    const d = new FeedDeployment({ limits: { pageSizeLimit: 2, maxRowsRead: 4 } });
    d.transaction((tx) => {
      for (let i = 0; i < 3; i++) tx.insert("a", { i: BigInt(i) });
      for (let i = 0; i < 2; i++) tx.insert("b", { i: BigInt(i) });
    });
    const pages = drain(d);
    expect(
      pages.map((p) => [p.status.type, p.truncates.map((t) => t.table), p.values.map((v) => v.table)]),
    ).toEqual([
      ["snapshotting", ["a"], ["a", "a"]],
      // b's truncate comes where its traversal starts, with none of its rows (lib.rs: tablets entering the set)
      ["snapshotting", ["b"], ["a"]],
      // a full page does not know the table ended (data_sync.rs by_id_page: reached_end needs a short page)
      ["snapshotting", [], ["b", "b"]],
      ["upToDate", [], []],
    ]);
    expect(new Set(pages.map((p) => p.syncId)).size).toBe(1);
    expect(pages.every((p) => p.pagination.hasMore)).toBe(true);
  });

  it("never splits a transaction once streaming, even past the page size", () => {
    const d = new FeedDeployment({ limits: { pageSizeLimit: 2, maxRowsRead: 4 } });
    d.transaction((tx) => void tx.insert("a", { i: 0n }));
    const start = drain(d).at(-1)!.pagination.nextCursor;
    const txTs = [3, 1, 1].map((n) =>
      d.transaction((tx) => Array.from({ length: n }, () => tx.insert("a", {}))),
    );
    const pages = drain(d, start);
    expect(pages.map((p) => p.values.map((v) => v.ts))).toEqual([
      [txTs[0], txTs[0], txTs[0]],
      [txTs[1], txTs[2]],
    ]);
    expect(pages.map((p) => p.status.type)).toEqual(["stale", "upToDate"]);
    expect(pages[0]!.status.snapshotTs).toBe(txTs[0]);
  });

  it("emits tombstones for deletes, a truncate for a table replaced by an import, nothing for a dropped table", () => {
    const d = new FeedDeployment();
    let id = "";
    d.transaction((tx) => {
      id = tx.insert("a", { v: 1n });
      tx.insert("gone", { v: 1n });
      tx.insert("b", { v: 1n });
    });
    let cursor = drain(d).at(-1)!.pagination.nextCursor;
    d.transaction((tx) => tx.delete(id));
    d.dropTable("gone");
    d.importReplace("b", [{ v: 2n }]);
    const pages = drain(d, cursor);
    const all = pages.flatMap((p) => p.values);
    expect(all.filter((v) => v.table === "a")).toEqual([
      { component: "", table: "a", ts: expect.any(BigInt), deleted: true, value: { _id: id } },
    ]);
    expect(all.filter((v) => v.table === "gone")).toEqual([]);
    expect(pages.flatMap((p) => p.truncates)).toEqual([{ component: "", table: "b" }]);
    expect(all.filter((v) => v.table === "b").map((v) => v.value.v)).toEqual([2n]);
    cursor = pages.at(-1)!.pagination.nextCursor;
    expect(page(d, cursor).values).toEqual([]);
  });

  it("refuses in the handler's order: key 401, body 400, plan 403, permission 403, cursor 400", () => {
    const d = new FeedDeployment({
      restrictedKeys: { "prod:x|b": ["ViewBackups"] },
      limits: { retentionNs: 10n },
    });
    const code = (a: { status: number; body: string }) => [
      a.status,
      (JSON.parse(a.body) as { code: string }).code,
    ];
    d.streamingExportEnabled = false;
    expect(code(call(d, "{", { authorization: "Convex nope" }))).toEqual([401, "BadAdminKey"]);
    expect(code(call(d, "{"))).toEqual([400, "BadJsonBody"]);
    expect(code(call(d, {}, { contentType: "text/plain" }))).toEqual([400, "BadJsonBody"]);
    expect(code(call(d, { cursor: "zz" }, { authorization: "Convex prod:x|b" }))).toEqual([
      403,
      "StreamingExportNotEnabled",
    ]);
    d.streamingExportEnabled = true;
    expect(code(call(d, { cursor: "zz" }, { authorization: "Convex prod:x|b" }))).toEqual([
      403,
      "OperationNotPermitted",
    ]);
    expect(code(call(d, { cursor: "zz" }))).toEqual([400, "InvalidDataSyncCursor"]);
    const cursor = page(d).pagination.nextCursor;
    expect(cursor).toMatch(/^01[0-9a-f]{56,}$/);
    const flipped = cursor.slice(0, -1) + (cursor.endsWith("0") ? "1" : "0");
    expect(code(call(d, { cursor: flipped }))).toEqual([400, "InvalidDataSyncCursor"]);
    d.advance(100n);
    expect(code(call(d, { cursor }))).toEqual([400, "DataSyncCursorExpired"]);
  });

  it("cursor_from_deltas takes a bare integer and counts every selected table as synced up to it", () => {
    const d = new FeedDeployment();
    d.transaction((tx) => void tx.insert("a", { v: 1n }));
    const ts = d.latestTs;
    d.transaction((tx) => void tx.insert("a", { v: 2n }));
    const answer = d.handle({
      method: "POST",
      path: "/api/data_sync_cursor_from_deltas",
      authorization: `Convex ${d.deployKey}`,
      contentType: "application/json",
      body: `{"cursor":${ts}}`,
    })!;
    expect(answer.status).toBe(200);
    const { cursor } = JSON.parse(answer.body) as { cursor: string };
    const p = page(d, cursor);
    expect([p.truncates, p.values.map((v) => v.value.v), p.status.type]).toEqual([[], [2n], "upToDate"]);
    const probe = d.handle({
      method: "GET",
      path: "/api/test_streaming_export_connection",
      body: "",
      authorization: `Convex ${d.deployKey}`,
    });
    expect(probe).toEqual({ status: 200, body: "null" });
  });
});

describe("the deployment's clock", () => {
  it("clock: wall gives commit timestamps from the machine's clock, strictly increasing", () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    const d = new FeedDeployment({ clock: "wall" });
    const first = d.transaction((tx) => void tx.insert("a", {}));
    const second = d.transaction((tx) => void tx.insert("a", {}));
    const after = BigInt(Date.now()) * 1_000_000n;
    expect(first).toBeGreaterThanOrEqual(before);
    expect(second).toBeGreaterThan(first);
    expect(d.latestTs).toBeGreaterThanOrEqual(after);
  });

  it("the synthetic clock (default) moves only with commits and advance()", () => {
    const d = new FeedDeployment({ startTs: 1_000n });
    expect(d.transaction((tx) => void tx.insert("a", {}))).toBe(1_001_000n);
    d.advance(5n);
    expect(d.latestTs).toBe(1_001_005n);
  });
});
