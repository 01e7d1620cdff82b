import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fakeId, tempSnapshot } from "../../../../test/fixtures/snapshot-zip.js";
import { describeFailure } from "../../service/jobErrors.js";
import { importSnapshot } from "../index.js";
import type { ConvexObject } from "../values.js";
import { classifyTargetError } from "./targetErrors.js";
import { ClassifiedTargetError, duplicateIdFailure } from "./targetFailure.js";

describe("classifying a target's error wherever the engine wrapped it", () => {
  it("takes a dialect's own classified error as it is, also as the cause of a wrapper", () => {
    const own = new ClassifiedTargetError(
      "table users: _id occurs 2 times",
      duplicateIdFailure("duplicate _id"),
    );
    expect(classifyTargetError(own)).toMatchObject({ code: "target_duplicate_id", retryable: false });
    expect(classifyTargetError(new Error("load failed", { cause: own }))?.reference).toBe("duplicate _id");
  });

  it("treats a refused or reset connection as transient and an unknown host as a setting to fix", () => {
    const errno = (code: string) => Object.assign(new Error(code), { code });
    expect(classifyTargetError(errno("ECONNREFUSED"))).toMatchObject({
      code: "target_unreachable",
      retryable: true,
    });
    expect(classifyTargetError(errno("ECONNRESET"))).toMatchObject({ retryable: true });
    expect(classifyTargetError(errno("ENOTFOUND"))).toMatchObject({
      code: "target_config",
      retryable: false,
    });
    expect(classifyTargetError(new AggregateError([errno("ECONNREFUSED")]))).toMatchObject({
      retryable: true,
    });
    expect(classifyTargetError(new Error("no code"))).toBeNull();
  });

  it("a duplicate _id in a DuckDB warehouse (found by the dialect's own check) ends the job at once", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "duckdb-errors-"));
    const docs = [1, 2].map((n) => ({ _creationTime: 1.7e12 + n, _id: fakeId(1) }) as ConvexObject);
    const snapshot = await tempSnapshot([{ name: "users", docs }]);
    const error: unknown = await importSnapshot({
      snapshotPath: snapshot,
      target: `duckdb:${dir}/w.duckdb`,
    }).then(
      () => expect.unreachable("the import succeeded"),
      (e: unknown) => e,
    );
    const { error: job } = describeFailure(error, new AbortController().signal, []);
    expect(job).toMatchObject({ code: "target_duplicate_id", retryable: false });
    expect(job.message).toMatch(/table users: _id must be unique/);
  });
});
