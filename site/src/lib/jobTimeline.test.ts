import { describe, expect, it } from "vitest";
import { jobTimeline, type TimelineEvent } from "./jobTimeline";

const T = Date.UTC(2026, 10, 29, 7, 0, 0);
const at = (s: number) => T + s * 1000;

describe("a job's timeline", () => {
  const events: TimelineEvent[] = [
    { at: at(0) },
    { at: at(0.1), mark: { kind: "exportRequested" } },
    { at: at(2.5), mark: { kind: "exportReady" } },
    { at: at(2.6) },
    { at: at(3), mark: { kind: "phase", phase: "downloading" } },
    { at: at(3.4), mark: { kind: "phase", phase: "importing" } },
    { at: at(5.2), mark: { kind: "phase", phase: "swapping" } },
    { at: at(5.5), mark: { kind: "phase", phase: "finished" } },
    { at: at(5.6) },
  ];
  const job = {
    createdAt: at(0),
    finishedAt: at(5.6),
    status: "succeeded" as const,
    tables: [
      { table: "users", seconds: 0.8 },
      { table: "orders", seconds: 1.0 },
    ],
  };

  it("measures export, hand-over, download, import and swap from the events", () => {
    const timeline = jobTimeline(job, events);
    expect(timeline.phases.map((p) => [p.name, (p.end - p.start) / 1000])).toEqual([
      ["Export", 2.4],
      ["Hand-over to the executor", 0.5],
      ["Download", 0.4],
      ["Import", 1.8],
      ["Swap in", 0.3],
    ]);
    expect(timeline.phases.every((p) => !p.open)).toBe(true);
    expect([timeline.start, timeline.end]).toEqual([at(0), at(5.6)]);
  });

  it("shows the wait in the executor's queue, for every phase the contract names", () => {
    const queued: TimelineEvent[] = [
      ...events.slice(0, 4),
      { at: at(2.8), mark: { kind: "phase", phase: "queued" } },
      ...events.slice(4),
    ];
    expect(jobTimeline(job, queued).phases.map((p) => p.name)).toEqual([
      "Export",
      "Hand-over to the executor",
      "Queued on the executor",
      "Download",
      "Import",
      "Swap in",
    ]);
  });

  it("lays each table's import out one after another from the start of the import", () => {
    expect(jobTimeline(job, events).tables).toEqual([
      { table: "users", start: at(3.4), end: at(4.2) },
      { table: "orders", start: at(4.2), end: at(5.2) },
    ]);
  });

  it("shows only the latest attempt, and a running phase as open until now", () => {
    const retried: TimelineEvent[] = [
      ...events.slice(0, 6),
      { at: at(6), mark: { kind: "attemptFailed" } },
      { at: at(11), mark: { kind: "exportRequested" } },
      { at: at(12), mark: { kind: "exportReady" } },
      { at: at(13), mark: { kind: "phase", phase: "importing" } },
    ];
    const timeline = jobTimeline({ createdAt: at(0), status: "running", tables: [] }, retried, at(20));
    expect(timeline.phases.map((p) => [p.name, p.start, p.end, p.open])).toEqual([
      ["Export", at(11), at(12), false],
      ["Hand-over to the executor", at(12), at(13), false],
      ["Import", at(13), at(20), true],
    ]);
  });

  it("ignores events without a mark, whatever their wording (events logged before marks existed)", () => {
    const unmarked = [
      { at: at(0.1), message: "snapshot export requested" },
      { at: at(3), message: "running: downloading" },
    ];
    expect(jobTimeline(job, unmarked).phases).toEqual([]);
  });
});
