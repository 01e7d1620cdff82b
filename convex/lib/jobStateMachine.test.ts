import { describe, expect, test } from "vitest";
import { jobStatus, type JobStatus } from "../schema";
import {
  assertTransition,
  canTransition,
  FINAL_STATES,
  isFinal,
  JOB_STATUSES,
  transitions,
} from "./jobStateMachine";

const ALL: JobStatus[] = ["queued", "exporting", "dispatched", "running", "succeeded", "failed", "cancelled"];

describe("job state machine", () => {
  test("the happy path is allowed step by step", () => {
    const path: JobStatus[] = ["queued", "exporting", "dispatched", "running", "succeeded"];
    for (let i = 1; i < path.length; i++) expect(canTransition(path[i - 1]!, path[i]!)).toBe(true);
  });

  test("final states have no way out", () => {
    for (const from of FINAL_STATES) for (const to of ALL) expect(canTransition(from, to)).toBe(false);
    expect(ALL.filter(isFinal)).toEqual([...FINAL_STATES]);
  });

  test("every non-final state can fail or be cancelled", () => {
    for (const from of ALL.filter((s) => !isFinal(s))) {
      expect(canTransition(from, "failed")).toBe(true);
      expect(canTransition(from, "cancelled")).toBe(true);
    }
  });

  test("an incremental job goes from the queue straight to the executor, without an export", () => {
    const path: JobStatus[] = ["queued", "dispatched", "running", "succeeded"];
    for (let i = 1; i < path.length; i++) expect(canTransition(path[i - 1]!, path[i]!)).toBe(true);
  });

  test("skipping dispatch or going backwards is refused with a message naming the job", () => {
    expect(canTransition("queued", "running")).toBe(false);
    expect(canTransition("exporting", "running")).toBe(false);
    expect(canTransition("dispatched", "exporting")).toBe(false);
    expect(canTransition("running", "exporting")).toBe(false);
    expect(() => assertTransition("job1", "succeeded", "running")).toThrow(
      "job job1: cannot move from succeeded to running",
    );
  });

  test("JOB_STATUSES (the dashboard's Logs filter) lists the schema's statuses in lifecycle order", () => {
    expect(JOB_STATUSES).toEqual(jobStatus.members.map((member) => member.value));
  });

  test("the table names only known states", () => {
    for (const [from, tos] of Object.entries(transitions)) {
      expect(ALL).toContain(from);
      for (const to of tos) expect(ALL).toContain(to);
    }
  });
});
