import { describe, expect, it } from "vitest";
import { jobPhase } from "$convex/contract/executor";
import { describeStatus, isFinal, JOB_STATUSES } from "./jobs";

describe("job states in words", () => {
  it("has its own sentence for every status the control plane has", () => {
    const sentences = JOB_STATUSES.map((status) => describeStatus(status));
    expect(new Set(sentences).size).toBe(JOB_STATUSES.length);
    for (const [i, status] of JOB_STATUSES.entries()) expect(sentences[i]).not.toBe(status);
  });

  it("says what a running job does in each executor phase, and something for an unknown one", () => {
    const sentences = jobPhase.options.map((phase) => describeStatus("running", phase));
    expect(new Set(sentences).size).toBe(jobPhase.options.length);
    expect(describeStatus("running", "a-newer-phase")).toBe("Importing into the warehouse");
    expect(describeStatus("running", "toString")).toBe("Importing into the warehouse");
  });

  it("words an incremental job's states as applying changes, not loading a snapshot", () => {
    expect(describeStatus("running", "applying", "incremental")).toBe("Applying the source's changes");
    expect(describeStatus("running", undefined, "incremental")).toBe("Applying the source's changes");
    expect(describeStatus("succeeded", undefined, "incremental")).toMatch(/source's changes/);
    expect(describeStatus("failed", undefined, "incremental")).toMatch(/steps committed before/);
    expect(describeStatus("succeeded")).toMatch(/new snapshot/);
  });

  it("tells the final states apart (the page stops offering Cancel on them)", () => {
    expect(JOB_STATUSES.filter(isFinal)).toEqual(["succeeded", "failed", "cancelled"]);
  });
});
