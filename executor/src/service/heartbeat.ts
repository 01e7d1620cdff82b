/**
 * The heartbeat: sent at start-up (the executor's registration) and then at a steady interval. It tells the
 * control plane the version, the target's kind and host/database (never credentials), whether the target is
 * reachable, free disk space and the jobs. A missed heartbeat is not queued: the next one replaces it.
 * At start-up the executor also runs the target's preflight (connection, login, permissions, …: see
 * import/load/preflight.ts) once; every later heartbeat carries its lines for the dashboard.
 */
import { statfs } from "node:fs/promises";
import {
  callbackRoutes,
  CONTRACT_VERSION,
  type Heartbeat,
  type PreflightCheck,
} from "../../../convex/contract/executor.js";
import type { TargetSpec } from "../import/load/target.js";
import { describeTarget } from "../import/load/target.js";
import { postSigned } from "./callbacks.js";
import { createLogger, errorMessage } from "./log.js";
import { eventBase } from "./reporting.js";
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
  /** The start-up preflight; undefined = none for this target. Default: startupPreflight. */
  preflight?: (spec: TargetSpec) => Promise<PreflightCheck[] | undefined>;
}

export interface PreflightResult {
  checks: PreflightCheck[];
  checkedAt: number;
}

/**
 * The preflight for server targets, for what any app's import needs (each app has its own schema). None for an
 * embedded warehouse (PGlite, DuckDB): it is opened by one process at a time, and a job may hold it already.
 */
export async function startupPreflight(spec: TargetSpec): Promise<PreflightCheck[] | undefined> {
  if (spec.kind !== "mssql" && spec.kind !== "postgres") return undefined;
  const { preflightTarget } = await import("../import/load/preflight.js");
  return preflightTarget(spec);
}

export async function buildHeartbeat(deps: HeartbeatDeps, preflight?: PreflightResult): Promise<Heartbeat> {
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
      ...(preflight ? { checks: preflight.checks.slice(0, 20), checkedAt: preflight.checkedAt } : {}),
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
  private preflight: PreflightResult | undefined;

  constructor(private readonly deps: HeartbeatDeps) {}

  start(): void {
    void this.sendNow();
    void this.checkTarget();
    this.timer = setInterval(() => void this.sendNow(), this.deps.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Runs the preflight, logs what is not ok, and sends a heartbeat carrying the lines at once. */
  async checkTarget(): Promise<PreflightResult | undefined> {
    let checks: PreflightCheck[] | undefined;
    try {
      checks = await (this.deps.preflight ?? startupPreflight)(this.deps.targetSpec);
    } catch (error) {
      log.warn("target preflight could not run", { reason: errorMessage(error) });
      return undefined;
    }
    if (!checks) return undefined;
    this.preflight = { checks, checkedAt: Date.now() };
    for (const c of checks) {
      if (c.status === "fail") log.error(`target check failed: ${c.check}: ${c.detail}`);
      else if (c.status === "warn") log.warn(`target check: ${c.check}: ${c.detail}`);
    }
    await this.sendNow();
    return this.preflight;
  }

  /** Sends one heartbeat; true when the control plane accepted it. */
  async sendNow(): Promise<boolean> {
    try {
      const body = await buildHeartbeat(this.deps, this.preflight);
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
