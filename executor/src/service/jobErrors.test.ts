import { describe, expect, it } from "vitest";
import { ImportCancelledError, SnapshotFormatError } from "../import/api.js";
import { TargetUrlError } from "../import/load/target.js";
import { jobError } from "../../../convex/contract/executor.js";
import { DownloadError } from "./download.js";
import { DeadlinePassedError, describeFailure, JobStopped, redact } from "./jobErrors.js";
import { interruptedMessage } from "./jobs.js";

const live = new AbortController().signal;
const KEY = "prod:demo|abcdef0123456789";

describe("describeFailure", () => {
  it("classifies download, snapshot, target and deadline failures with codes and retryability", () => {
    expect(
      describeFailure(new DownloadError("HTTP 401", "download_unauthorized", false), live, [KEY]).error,
    ).toEqual({
      message: "HTTP 401",
      code: "download_unauthorized",
      retryable: false,
    });
    const bad = describeFailure(new SnapshotFormatError("not JSON", "users/documents.jsonl", 3), live, []);
    expect(bad.error).toMatchObject({
      code: "bad_snapshot",
      where: "users/documents.jsonl line 3",
      retryable: false,
    });
    expect(describeFailure(new TargetUrlError("nope"), live, []).error.code).toBe("target_config");
    expect(describeFailure(new DeadlinePassedError(0), live, []).error.code).toBe("deadline_passed");
    expect(describeFailure(new Error("ECONNRESET"), live, []).error).toMatchObject({
      code: "import_failed",
      retryable: true,
    });
  });

  it("keeps a snapshot error within the contract's limits however long the field path", () => {
    const field = Array.from({ length: 300 }, (_, i) => `level${i}`).join(".");
    const { error } = describeFailure(
      new SnapshotFormatError("not a number", "users/documents.jsonl", 9, field),
      live,
      [],
    );
    expect(jobError.safeParse(error).success).toBe(true);
    expect(error.where).toMatch(/^users\/documents\.jsonl line 9 field level0\.level1/);
  });

  it("tells a cancellation from an interruption by the reason the job was stopped with", () => {
    const cancel = new AbortController();
    cancel.abort(new JobStopped("cancelled", "cancelled by the control plane"));
    expect(describeFailure(new ImportCancelledError(), cancel.signal, []).outcome).toBe("cancelled");
    const shutdown = new AbortController();
    shutdown.abort(new JobStopped("interrupted", "the executor was shut down"));
    const stopped = describeFailure(new ImportCancelledError(), shutdown.signal, []);
    expect(stopped).toMatchObject({
      outcome: "interrupted",
      error: { code: "executor_stopped", retryable: true },
    });
    expect(stopped.error.message).toMatch(/left unchanged/);
  });

  it("removes the deploy key from any message", () => {
    const failure = describeFailure(new Error(`request with ${KEY} failed`), live, [KEY]);
    expect(failure.error.message).not.toContain(KEY);
    expect(redact(`a ${KEY} b ${KEY}`, [KEY])).toBe("a [redacted] b [redacted]");
  });
});

describe("interruptedMessage", () => {
  it("says the target is unchanged unless the crash hit the final swap", () => {
    const snapshot = "snapshot" as const;
    expect(interruptedMessage({ kind: snapshot, state: "running", phase: "importing" })).toMatch(
      /target tables are unchanged/,
    );
    expect(interruptedMessage({ kind: snapshot, state: "running", phase: "swapping" })).toMatch(
      /either the previous or the new/,
    );
    expect(interruptedMessage({ kind: snapshot, state: "queued", phase: "queued" })).toMatch(
      /before the job started/,
    );
  });

  it("says an interrupted incremental run keeps its committed steps and continues from the stored position", () => {
    const message = interruptedMessage({ kind: "incremental", state: "running", phase: "applying" });
    expect(message).toMatch(/steps committed before it stay/);
    expect(message).toMatch(/continues from the stored feed position/);
    expect(interruptedMessage({ kind: "incremental", state: "queued", phase: "queued" })).toMatch(
      /before the job started/,
    );
  });
});
