import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseTarget } from "../import/load/target.js";
import { startConvexReceiver, type ConvexReceiver } from "../../test/convexReceiver.js";
import { SECRET, tempDir } from "../../test/harness.js";
import { buildHeartbeat, HeartbeatSender, type HeartbeatDeps } from "./heartbeat.js";
import { setLogLevel } from "./log.js";

setLogLevel("silent");

let convex: ConvexReceiver;
beforeEach(async () => (convex = await startConvexReceiver(SECRET)));
afterEach(() => convex.close());

function deps(target: string, overrides: Partial<HeartbeatDeps> = {}): HeartbeatDeps {
  return {
    convexSiteUrl: convex.url,
    secret: SECRET,
    executorId: "pc-7",
    targetSpec: parseTarget(target),
    dataDir: tempDir("executor-hb"),
    intervalMs: 60_000,
    jobs: { runningJobIds: ["job-1"], queuedJobIds: ["job-2", "job-3"], queuedCount: 2 },
    ...overrides,
  };
}

describe("buildHeartbeat", () => {
  it("names the target's kind, host and database, never its credentials, and reports an unreachable target", async () => {
    const beat = await buildHeartbeat(deps("postgres://warehouse:s3cr3t-pw@127.0.0.1:1/dw"));
    expect(beat.target).toMatchObject({
      kind: "postgres",
      host: "127.0.0.1",
      database: "dw",
      reachable: false,
    });
    expect(beat.target.error).toBeTruthy();
    expect(JSON.stringify(beat)).not.toMatch(/s3cr3t-pw|warehouse:/);
    expect(beat).toMatchObject({
      executorId: "pc-7",
      runningJobs: ["job-1"],
      queuedJobs: 2,
      queuedJobIds: ["job-2", "job-3"],
      contractVersion: 1,
    });
    expect(beat.freeDiskBytes).toBeGreaterThan(0);
  });

  it("finds SQL Server credentials nowhere in the heartbeat either", async () => {
    const beat = await buildHeartbeat(
      deps("Server=127.0.0.1,1;Database=dw;User Id=sa;Password=Very$ecret1;Encrypt=false", {
        probe: async () => ({ reachable: false, error: "connect ECONNREFUSED" }),
      }),
    );
    expect(beat.target).toMatchObject({ kind: "mssql", host: "127.0.0.1", database: "dw", reachable: false });
    expect(JSON.stringify(beat)).not.toMatch(/Very\$ecret1|"sa"/);
  });

  it("reports a PGlite directory that can be created as reachable", async () => {
    const beat = await buildHeartbeat(deps(`pglite:${tempDir("hb-pglite")}/warehouse`));
    expect(beat.target).toMatchObject({ kind: "pglite", reachable: true });
  });

  it.skipIf(!process.env.PG_URL)("reports a running PostgreSQL as reachable", async () => {
    const beat = await buildHeartbeat(deps(process.env.PG_URL!));
    expect(beat.target).toMatchObject({ kind: "postgres", reachable: true });
  });
});

describe("the start-up preflight in the heartbeat", () => {
  it.skipIf(!process.env.PG_URL)(
    "runs against a real PostgreSQL and sends its lines at once, accepted by the contract",
    async () => {
      const sender = new HeartbeatSender(deps(process.env.PG_URL!));
      const result = await sender.checkTarget();
      expect(result?.checks.map((c) => `${c.check}:${c.status}`)).toEqual([
        "connection:ok",
        "server version:ok",
        "permissions:ok",
      ]);
      expect(convex.refused).toEqual([]);
      expect(convex.heartbeats).toHaveLength(1);
      expect(convex.heartbeats[0]!.target.checks).toEqual(result!.checks);
      expect(convex.heartbeats[0]!.target.checkedAt).toBe(result!.checkedAt);
      // Later heartbeats keep carrying them.
      await sender.sendNow();
      expect(convex.heartbeats[1]!.target.checks).toEqual(result!.checks);
    },
  );

  it("reports where an unreachable SQL Server stops, without its credentials", async () => {
    const sender = new HeartbeatSender(
      deps("Server=127.0.0.1,1;Database=dw;User Id=loader;Password=Very$ecret1", {
        probe: async () => ({ reachable: false, error: "connect ECONNREFUSED" }),
      }),
    );
    const result = await sender.checkTarget();
    expect(result?.checks).toEqual([
      { check: "connection", status: "fail", detail: expect.stringContaining("cannot reach 127.0.0.1:1") },
    ]);
    expect(convex.heartbeats[0]!.target.checks).toEqual(result!.checks);
    expect(JSON.stringify(convex.heartbeats)).not.toMatch(/Very\$ecret1|loader/);
  });

  it("runs none for an embedded warehouse, which a job may hold open", async () => {
    const sender = new HeartbeatSender(deps(`pglite:${tempDir("hb-pf")}/w`));
    expect(await sender.checkTarget()).toBeUndefined();
    expect(convex.heartbeats).toHaveLength(0);
    await sender.sendNow();
    expect(convex.heartbeats[0]!.target.checks).toBeUndefined();
  });
});

describe("HeartbeatSender", () => {
  it("delivers a signed heartbeat the control plane accepts, and says so when it is down", async () => {
    const sender = new HeartbeatSender(deps(`pglite:${tempDir("hb")}/w`));
    expect(await sender.sendNow()).toBe(true);
    expect(convex.heartbeats).toHaveLength(1);
    expect(convex.refused).toEqual([]);
    await convex.down();
    expect(await sender.sendNow()).toBe(false);
    await convex.up();
    expect(await sender.sendNow()).toBe(true);
    expect(convex.heartbeats).toHaveLength(2);
  });
});
