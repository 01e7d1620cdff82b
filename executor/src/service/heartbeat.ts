/**
 * The heartbeat: sent at start-up (the executor's registration) and then at a steady interval. It tells the
 * control plane the version, the target's kind and host/database (never credentials), whether the target is
 * reachable, free disk space and the jobs. A missed heartbeat is not queued: the next one replaces it.
 */
import { statfs } from "node:fs/promises";
import { callbackRoutes, CONTRACT_VERSION, type Heartbeat } from "../../../convex/contract/executor.js";
import type { TargetSpec } from "../import/load/target.js";
import { describeTarget } from "../import/load/target.js";
import { postSigned } from "./callbacks.js";
import { createLogger, errorMessage } from "./log.js";
import { eventBase } from "./runner.js";
import { probeTarget, type ProbeResult } from "./targetProbe.js";
import { EXECUTOR_VERSION } from "./version.js";

const log = createLogger("heartbeat");

export interface HeartbeatDeps {
  convexSiteUrl: string;
  secret: string;
  executorId: string;
  targetSpec: TargetSpec;
  dataDir: string;
  intervalMs: number;
  jobs: {
    readonly runningJobIds: string[];
    readonly queuedJobIds: readonly string[];
    readonly queuedCount: number;
  };
  probe?: (spec: TargetSpec) => Promise<ProbeResult>;
}

export async function buildHeartbeat(deps: HeartbeatDeps): Promise<Heartbeat> {
  const probe = await (deps.probe ?? probeTarget)(deps.targetSpec);
  const target = describeTarget(deps.targetSpec);
  return {
    ...eventBase(deps),
    version: EXECUTOR_VERSION,
    contractVersion: CONTRACT_VERSION,
    target: {
      kind: target.kind,
      ...(target.host ? { host: target.host.slice(0, 255) } : {}),
      ...(target.database ? { database: target.database.slice(-255) } : {}),
      reachable: probe.reachable,
      ...(probe.error ? { error: probe.error } : {}),
    },
    ...(await freeDisk(deps.dataDir)),
    runningJobs: deps.jobs.runningJobIds.slice(0, 100),
    queuedJobs: deps.jobs.queuedCount,
    queuedJobIds: deps.jobs.queuedJobIds.slice(0, 100),
  };
}

async function freeDisk(dir: string): Promise<{ freeDiskBytes?: number }> {
  try {
    const info = await statfs(dir);
    return { freeDiskBytes: Math.floor(Number(info.bavail) * Number(info.bsize)) };
  } catch {
    return {};
  }
}

export class HeartbeatSender {
  private timer: NodeJS.Timeout | undefined;
  private failing = false;

  constructor(private readonly deps: HeartbeatDeps) {}

  start(): void {
    void this.sendNow();
    this.timer = setInterval(() => void this.sendNow(), this.deps.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Sends one heartbeat; true when the control plane accepted it. */
  async sendNow(): Promise<boolean> {
    try {
      const body = await buildHeartbeat(this.deps);
      const response = await postSigned(
        `${this.deps.convexSiteUrl}${callbackRoutes.heartbeat}`,
        this.deps.secret,
        body,
      );
      await response.body?.cancel().catch(() => {});
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      if (this.failing) log.info("heartbeats reach the control plane again");
      this.failing = false;
      return true;
    } catch (error) {
      // Log the first failure of a streak only: Convex being down is already visible in the callbacks' logs.
      if (!this.failing) log.warn("heartbeat not delivered", { reason: errorMessage(error) });
      this.failing = true;
      return false;
    }
  }
}
