/**
 * Assembles the executor: callback outbox, job manager, HTTP server and heartbeat, and takes them down in order.
 *
 *   const executor = await startExecutor(loadConfig(process.env));
 *   ...
 *   await executor.stop(config.shutdownGraceMs);
 */
import { mkdir } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { BackoffOptions } from "./backoff.js";
import { CallbackOutbox } from "./callbacks.js";
import type { ExecutorConfig } from "./config.js";
import type { DownloadPolicy } from "./download.js";
import { HeartbeatSender, type HeartbeatDeps } from "./heartbeat.js";
import { JobManager } from "./jobs.js";
import { createLogger } from "./log.js";
import { loadImportEngine, type ImportFn } from "./runImport.js";
import { createExecutorServer } from "./server.js";

const log = createLogger("executor");

/** After the jobs are done, how long shutdown waits for undelivered callbacks (they stay on disk regardless). */
export const SHUTDOWN_FLUSH_MS = 5_000;

export interface ExecutorOverrides {
  importFn?: ImportFn;
  downloadPolicy?: Partial<DownloadPolicy>;
  callbackBackoff?: BackoffOptions;
  probe?: HeartbeatDeps["probe"];
  /** The change feed's HTTP client (tests hold a request with it). */
  feedFetch?: typeof fetch;
}

export interface RunningExecutor {
  url: string;
  server: Server;
  jobs: JobManager;
  outbox: CallbackOutbox;
  heartbeat: HeartbeatSender;
  stop(graceMs: number): Promise<void>;
}

export async function startExecutor(
  config: ExecutorConfig,
  overrides: ExecutorOverrides = {},
): Promise<RunningExecutor> {
  await mkdir(path.join(config.dataDir, "downloads"), { recursive: true });
  const importFn = overrides.importFn ?? (await loadImportEngine(config.duckdb));
  const outbox = await CallbackOutbox.open({
    dir: path.join(config.dataDir, "outbox"),
    convexSiteUrl: config.convexSiteUrl,
    secret: config.secret,
    ...(overrides.callbackBackoff ? { backoff: overrides.callbackBackoff } : {}),
  });
  outbox.start();
  const jobs = await JobManager.start({
    dataDir: config.dataDir,
    target: config.target,
    executorId: config.executorId,
    concurrency: config.concurrency,
    progressIntervalMs: config.progressIntervalMs,
    keepFailedZipMs: config.keepFailedZipMs,
    importFn,
    outbox,
    duckdb: config.duckdb,
    ...(overrides.downloadPolicy ? { downloadPolicy: overrides.downloadPolicy } : {}),
    ...(overrides.feedFetch ? { feedFetch: overrides.feedFetch } : {}),
  });
  const server = createExecutorServer({ secret: config.secret, maxBodyBytes: config.maxBodyBytes, jobs });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.bindAddress, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  const heartbeat = new HeartbeatSender({
    convexSiteUrl: config.convexSiteUrl,
    secret: config.secret,
    executorId: config.executorId,
    targetSpec: config.targetSpec,
    dataDir: config.dataDir,
    intervalMs: config.heartbeatIntervalMs,
    jobs,
    ...(overrides.probe ? { probe: overrides.probe } : {}),
  });
  heartbeat.start();
  log.info("executor listening", {
    url,
    executorId: config.executorId,
    target: config.targetDescription,
    concurrency: config.concurrency,
  });

  let stopping: Promise<void> | undefined;
  const stop = (graceMs: number) =>
    (stopping ??= (async () => {
      log.info("shutting down: no new jobs", { graceMs, running: jobs.runningJobIds });
      await jobs.shutdown(graceMs);
      heartbeat.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      const left = await outbox.flush(SHUTDOWN_FLUSH_MS);
      await outbox.stop();
      if (left > 0)
        log.warn("callbacks not delivered yet; they are kept on disk for the next start", { left });
      log.info("stopped");
    })());

  return { url, server, jobs, outbox, heartbeat, stop };
}
