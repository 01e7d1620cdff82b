import { defineConfig } from "vitest/config";

// Two environments: Convex functions run under edge-runtime (as on a deployment), everything else under Node.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "convex",
          include: ["convex/**/*.test.ts"],
          environment: "edge-runtime",
          server: { deps: { inline: ["convex-test"] } },
        },
      },
      {
        test: {
          name: "node",
          include: ["executor/**/*.test.ts", "scripts/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/fixtures/pg-global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
