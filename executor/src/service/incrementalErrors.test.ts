import { describe, expect, it } from "vitest";
import { jobError } from "../../../convex/contract/executor.js";
import { CursorMovedError } from "../incremental/apply.js";
import { refusal } from "../incremental/feedClient.js";
import { WarehouseInUseError } from "../import/load/duckdb/instance.js";
import { describeIncrementalFailure } from "./incrementalErrors.js";
import { DeadlinePassedError, JobStopped } from "./jobErrors.js";

const live = new AbortController().signal;
const KEY = "prod:demo|abcdef0123456789";
const body = (code: string) => JSON.stringify({ code, message: `refused with ${KEY}` });

describe("describeIncrementalFailure", () => {
  it("maps the feed's refusals to codes the control plane acts on, none retryable", () => {
    const cases: [Error, string][] = [
      [refusal(403, body("StreamingExportNotEnabled"), "/api/v1/data/sync"), "feed_not_enabled"],
      [refusal(403, body("OperationNotPermitted"), "/api/v1/data/sync"), "feed_permission"],
      [refusal(401, body("BadAdminKey"), "/api/v1/data/sync"), "source_unauthorized"],
      [refusal(403, body("Forbidden"), "/api/v1/data/sync"), "source_unauthorized"],
      [refusal(400, body("InvalidDataSyncSelection"), "/api/v1/data/sync"), "feed_refused"],
    ];
    for (const [error, code] of cases) {
      const failure = describeIncrementalFailure(error, live, [KEY]);
      expect(failure).toMatchObject({ outcome: "failed", error: { code, retryable: false } });
      expect(failure.error.message).not.toContain(KEY);
      expect(jobError.safeParse(failure.error).success).toBe(true);
    }
  });

  it("words a refused deploy key like the control plane's probe, with the status and code", () => {
    for (const [status, code] of [
      [401, "BadAdminKey"],
      [403, "Forbidden"],
    ] as const) {
      const failure = describeIncrementalFailure(refusal(status, body(code), "/api/v1/data/sync"), live, [
        KEY,
      ]);
      expect(failure.error.message).toMatch(
        new RegExp(`^the source refused the deploy key \\(${status} ${code}\\): check the app's deploy key`),
      );
    }
  });

  it("retries what another attempt can get past: a busy warehouse, a moved cursor, an unknown failure", () => {
    expect(
      describeIncrementalFailure(new WarehouseInUseError("/w.duckdb", "another process"), live, []).error,
    ).toMatchObject({
      code: "target_busy",
      retryable: true,
    });
    expect(describeIncrementalFailure(new CursorMovedError(), live, []).error).toMatchObject({
      code: "cursor_moved",
      retryable: true,
    });
    const unknown = describeIncrementalFailure(new Error("socket hang up"), live, []);
    expect(unknown.error).toMatchObject({ code: "incremental_failed", retryable: true });
    expect(unknown.error.message).toMatch(/steps committed before it stay/);
    expect(describeIncrementalFailure(new DeadlinePassedError(0), live, []).error).toMatchObject({
      code: "deadline_passed",
      retryable: false,
    });
  });

  it("tells a cancel from a shutdown, and says the committed steps stay", () => {
    const cancel = new AbortController();
    cancel.abort(new JobStopped("cancelled", "cancelled by the control plane"));
    const cancelled = describeIncrementalFailure(new Error("aborted"), cancel.signal, []);
    expect(cancelled).toMatchObject({ outcome: "cancelled", error: { code: "cancelled", retryable: true } });
    expect(cancelled.error.message).toMatch(
      /^cancelled by the control plane; the steps committed before it stay/,
    );
    const shutdown = new AbortController();
    shutdown.abort(new JobStopped("interrupted", "the executor was shut down"));
    expect(describeIncrementalFailure(new Error("aborted"), shutdown.signal, []).error.code).toBe(
      "executor_stopped",
    );
  });
});
