import { describe, expect, test } from "vitest";
import type { AppFeed } from "../schema";
import { DEFAULT_RETRY_POLICY } from "./backoff";
import {
  chooseJobKind,
  effectiveSyncMode,
  FEED_PROBE_MAX_AGE_MS,
  feedProbeDue,
  FIRST_FEED_LOAD,
  INCREMENTAL_RETRY,
  isLaterPosition,
  retryPolicyFor,
} from "./jobKind";

const NOW = Date.UTC(2026, 10, 29, 9);
const position = { ts: "1800000000000000000", appliedAt: NOW - 60_000 };
const available: AppFeed = { availability: "available", checkedAt: NOW - 60_000 };
const plan = "the plan has no streaming export";
const unavailable: AppFeed = { availability: "unavailable", reason: plan, checkedAt: NOW - 60_000 };

describe("which kind of job an app's next sync is", () => {
  test("apps from before sync modes keep snapshots, whatever their feed says", () => {
    expect(effectiveSyncMode({})).toBe("snapshot");
    expect(chooseJobKind({ feed: { ...available, position } }, NOW)).toEqual({
      kind: "snapshot",
      startsFeed: false,
    });
  });

  test("snapshot mode: always a plain snapshot", () => {
    expect(chooseJobKind({ syncMode: "snapshot", feed: { ...available, position } }, NOW)).toEqual({
      kind: "snapshot",
      startsFeed: false,
    });
  });

  test("auto and incremental with a feed position: an incremental run", () => {
    for (const syncMode of ["auto", "incremental"] as const)
      expect(chooseJobKind({ syncMode, feed: { ...available, position } }, NOW)).toEqual({
        kind: "incremental",
        startsFeed: false,
      });
  });

  test("no position yet: a snapshot that starts the feed, the first load", () => {
    for (const feed of [undefined, available, { availability: "unknown" } as AppFeed])
      expect(chooseJobKind({ syncMode: "auto", feed }, NOW)).toEqual({
        kind: "snapshot",
        startsFeed: true,
        kindReason: FIRST_FEED_LOAD,
      });
  });

  test("the feed asked for a snapshot: a full snapshot saying why, even with a position", () => {
    const feed: AppFeed = { ...available, position, needsSnapshot: "the feed position expired" };
    expect(chooseJobKind({ syncMode: "incremental", feed }, NOW)).toEqual({
      kind: "snapshot",
      startsFeed: true,
      kindReason: "full snapshot: the feed position expired",
    });
  });

  test("auto with the feed known unavailable: a plain snapshot with the reason; re-asked after a day", () => {
    expect(chooseJobKind({ syncMode: "auto", feed: { ...unavailable, position } }, NOW)).toEqual({
      kind: "snapshot",
      startsFeed: false,
      kindReason: `auto → snapshot: ${plan}`,
    });
    const old = { ...unavailable, checkedAt: NOW - FEED_PROBE_MAX_AGE_MS - 1 };
    expect(chooseJobKind({ syncMode: "auto", feed: old }, NOW)).toMatchObject({ startsFeed: true });
  });

  test("incremental mode with the feed unavailable still gets a job (its first step fails it, saying why)", () => {
    expect(chooseJobKind({ syncMode: "incremental", feed: unavailable }, NOW)).toMatchObject({
      kind: "snapshot",
      startsFeed: true,
    });
  });

  test("the feed is probed when unknown, never checked, or checked more than a day ago", () => {
    expect(feedProbeDue(undefined, NOW)).toBe(true);
    expect(feedProbeDue({ availability: "unknown" }, NOW)).toBe(true);
    expect(feedProbeDue({ availability: "available" }, NOW)).toBe(true);
    expect(feedProbeDue(available, NOW)).toBe(false);
    expect(feedProbeDue({ ...available, checkedAt: NOW - FEED_PROBE_MAX_AGE_MS - 1 }, NOW)).toBe(true);
  });
});

describe("retries and positions", () => {
  test("incremental jobs retry few times and quickly; snapshots keep the app's policy", () => {
    expect(retryPolicyFor("snapshot", DEFAULT_RETRY_POLICY)).toEqual(DEFAULT_RETRY_POLICY);
    expect(retryPolicyFor("incremental", DEFAULT_RETRY_POLICY)).toEqual(INCREMENTAL_RETRY);
    const strict = { maxAttempts: 1, baseDelayMs: 1_000, maxDelayMs: 1_000 };
    expect(retryPolicyFor("incremental", strict)).toEqual(strict);
  });

  test("positions compare as 64-bit integers, not as doubles", () => {
    expect(isLaterPosition("1800000000000000001", "1800000000000000000")).toBe(true);
    expect(isLaterPosition("1800000000000000000", "1800000000000000001")).toBe(false);
    expect(isLaterPosition("1800000000000000000", undefined)).toBe(true);
  });
});
