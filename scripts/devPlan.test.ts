import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseParts, planDev, type DevInputs } from "./devPlan.js";

const ROOT = path.resolve("/repo");
const SECRET = "s".repeat(40);
const configured: DevInputs = {
  env: {},
  envLocal: {
    CONVEX_DEPLOYMENT: "dev:happy-animal-123",
    PUBLIC_CONVEX_URL: "https://happy-animal-123.convex.cloud",
  },
  dotEnv: { EXECUTOR_SECRET: SECRET },
  parts: ["convex", "site", "executor"],
  root: ROOT,
  node: "/usr/bin/node22",
};

const byName = (plan: ReturnType<typeof planDev>) =>
  Object.fromEntries(plan.processes.map((p) => [p.name, p]));

describe("npm run dev's plan", () => {
  it("runs convex dev, the site against .env.local's URL and the executor calling back to the .site URL", () => {
    const plan = planDev(configured);
    expect(plan.problems).toEqual([]);
    const p = byName(plan);
    expect(Object.keys(p)).toEqual(["convex", "site", "executor"]);
    expect(p.convex!.args).toEqual([path.join(ROOT, "node_modules/convex/bin/main.js"), "dev"]);
    expect(p.site!.env).toEqual({ PUBLIC_CONVEX_URL: "https://happy-animal-123.convex.cloud" });
    expect(p.executor!.command).toBe("/usr/bin/node22");
    expect(p.executor!.env).toEqual({
      CONVEX_SITE_URL: "https://happy-animal-123.convex.site",
      EXECUTOR_TARGET: "duckdb:./.data/warehouse.duckdb",
    });
    expect(plan.notes.join("\n")).toMatch(/EXECUTOR_TARGET is not set/);
    expect(plan.notes.join("\n")).toMatch(/EXECUTOR_URL.*8787/);
  });

  it("leaves what .env or the environment sets to the executor, and the environment wins for the site URL", () => {
    const plan = planDev({
      ...configured,
      env: { PUBLIC_CONVEX_URL: "https://other-place-9.convex.cloud" },
      dotEnv: {
        EXECUTOR_SECRET: SECRET,
        CONVEX_SITE_URL: "https://custom.example.com",
        EXECUTOR_TARGET: "postgres://u@h/db",
        EXECUTOR_PORT: "9000",
      },
    });
    const p = byName(plan);
    expect(p.site!.env.PUBLIC_CONVEX_URL).toBe("https://other-place-9.convex.cloud");
    expect(p.executor!.env).toEqual({});
    expect(plan.notes.join("\n")).toMatch(/port 9000/);
  });

  it("explains a first run: no deployment and no URL yet", () => {
    const plan = planDev({ ...configured, envLocal: null });
    expect(plan.problems).toHaveLength(2);
    expect(plan.problems[0]).toMatch(/No Convex deployment.*npx convex dev.*once/);
    expect(plan.problems[1]).toMatch(/PUBLIC_CONVEX_URL/);
    // The executor alone cannot guess the deployment's HTTP actions URL.
    expect(planDev({ ...configured, envLocal: null, parts: ["executor"] }).problems).toEqual([
      expect.stringMatching(/CONVEX_SITE_URL=https:\/\/<name>\.convex\.site/),
    ]);
  });

  it("names a missing or short EXECUTOR_SECRET and how to set it on both sides", () => {
    expect(planDev({ ...configured, dotEnv: null }).problems).toEqual([
      expect.stringMatching(/EXECUTOR_SECRET is not set.*\.env.*npx convex env set EXECUTOR_SECRET/),
    ]);
    expect(planDev({ ...configured, dotEnv: { EXECUTOR_SECRET: "short" } }).problems).toEqual([
      "EXECUTOR_SECRET is 5 characters long; it must be at least 32.",
    ]);
  });

  it("does not ask for the executor's settings when the executor is skipped", () => {
    const plan = planDev({ ...configured, dotEnv: null, parts: ["convex", "site"] });
    expect(plan.problems).toEqual([]);
    expect(plan.processes.map((p) => p.name)).toEqual(["convex", "site"]);
  });
});

describe("parseParts", () => {
  it("takes --only and --skip, in a stable order", () => {
    expect(parseParts(undefined, undefined)).toEqual(["convex", "site", "executor"]);
    expect(parseParts("executor, site", undefined)).toEqual(["site", "executor"]);
    expect(parseParts(undefined, "executor")).toEqual(["convex", "site"]);
  });

  it("refuses unknown parts and an empty selection", () => {
    expect(() => parseParts("convex,worker", undefined)).toThrow(/unknown part "worker"/);
    expect(() => parseParts("site", "site")).toThrow(/nothing to run/);
  });
});
