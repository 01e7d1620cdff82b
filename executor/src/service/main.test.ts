import { describe, expect, it } from "vitest";
import { spawnExecutor } from "../../test/executorProcess.js";

describe("npm run executor", () => {
  it("refuses to start with an incomplete configuration, naming every missing setting", async () => {
    const env = {
      EXECUTOR_SECRET: "",
      CONVEX_SITE_URL: "",
      EXECUTOR_TARGET: "postgres://u:hunter2@host/",
      EXECUTOR_PORT: "http",
    };
    const failure = await spawnExecutor(env).then(
      () => undefined,
      (error: unknown) => (error as Error).message,
    );
    expect(failure).toMatch(/exited during start-up/);
    expect(failure).toMatch(/EXECUTOR_SECRET: missing/);
    expect(failure).toMatch(/CONVEX_SITE_URL: /);
    expect(failure).toMatch(/EXECUTOR_PORT: /);
    expect(failure).toMatch(/EXECUTOR_TARGET: invalid --target: postgres URL needs a database name/);
    expect(failure).not.toContain("hunter2");
  });
});
