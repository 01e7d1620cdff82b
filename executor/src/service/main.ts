/**
 * `npm run executor`: reads the configuration (environment, then `.env` in the working directory or the file
 * named by EXECUTOR_ENV_FILE), starts the executor, and on SIGINT/SIGTERM stops taking jobs, lets the running
 * one finish within the grace period (then cancels it), flushes callbacks and exits 0. A second signal exits at
 * once with 1.
 */
import path from "node:path";
import { ConfigError, loadConfig, withDotEnv } from "./config.js";
import { startExecutor } from "./executor.js";
import { createLogger, errorMessage } from "./log.js";

const log = createLogger("main");

async function main(): Promise<void> {
  const envFile = path.resolve(process.env.EXECUTOR_ENV_FILE ?? ".env");
  let config;
  try {
    config = loadConfig(withDotEnv(process.env, envFile));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\nSet them in the environment or in ${envFile}.\n`);
      process.exit(2);
    }
    throw error;
  }
  const executor = await startExecutor(config);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    log.info(`${signal} received`);
    executor.stop(config.shutdownGraceMs).then(
      () => process.exit(0),
      (error: unknown) => {
        log.error("shutdown failed", { error: errorMessage(error) });
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

main().catch((error: unknown) => {
  log.error("the executor could not start", { error: errorMessage(error) });
  process.exit(1);
});
