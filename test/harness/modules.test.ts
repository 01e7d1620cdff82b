import path from "node:path";
import { describe, expect, it } from "vitest";
import { appComponents, isFunctionModule, parseComponentUses } from "./modules.js";

describe("finding what the harness hosts", () => {
  it("takes function modules as Convex's bundler does", () => {
    expect(isFunctionModule("apps.ts")).toBe(true);
    expect(isFunctionModule("api.js")).toBe(true);
    expect(isFunctionModule("apps.test.ts")).toBe(false);
    expect(isFunctionModule("harness.testkit.ts")).toBe(false);
    expect(isFunctionModule("convex.config.ts")).toBe(false);
    expect(isFunctionModule("server.d.ts")).toBe(false);
    expect(isFunctionModule(".hidden.ts")).toBe(false);
  });

  it("reads component uses, with their names, from convex.config.ts source", () => {
    const source = `import crons from "@convex-dev/crons/convex.config";
      import limiter from "@convex-dev/rate-limiter/convex.config.js";
      const app = defineApp();
      app.use(crons);
      app.use(limiter, { name: "apiLimiter" });`;
    expect(parseComponentUses(source)).toEqual([
      { specifier: "@convex-dev/crons/convex.config" },
      { specifier: "@convex-dev/rate-limiter/convex.config.js", name: "apiLimiter" },
    ]);
    expect(() => parseComponentUses("app.use(unknown);", "x/convex.config.ts")).toThrow(
      /x\/convex.config.ts/,
    );
  });

  it("registers the project's components and theirs, nested under the parent's name", async () => {
    const components = await appComponents(path.resolve(import.meta.dirname, "../../convex"));
    const names = components.map((c) => c.name);
    expect(names).toContain("crons");
    expect(names).toContain("rateLimiter");
    expect(names).toContain("rateLimiter/batchWorker");
  });
});
