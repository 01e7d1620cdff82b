import { describe, expect, it } from "vitest";
import { testTargets } from "../../../test/fixtures/targets.js";
import { syncedWarehouse } from "../incremental/testing.js";
import { main } from "./incremental.js";

// DuckDB (the default warehouse) and one of the PostgreSQL family.
const targets = [
  testTargets().find((t) => t.name === "duckdb")!,
  testTargets().find((t) => t.name === "postgres") ?? testTargets().find((t) => t.name === "pglite")!,
];

async function run(args: string[], env: NodeJS.ProcessEnv) {
  let out = "";
  const code = await main(args, env, (text) => (out += text));
  return { code, out };
}

describe("npm run incremental", () => {
  it("refuses to run without a deployment or a key in the environment, naming what is missing", async () => {
    expect(await run([], { CONVEX_DEPLOY_KEY: "k" })).toMatchObject({
      code: 2,
      out: /--deployment is required/,
    });
    expect(await run(["--deployment", "http://127.0.0.1:1"], {})).toMatchObject({
      code: 2,
      out: /set CONVEX_DEPLOY_KEY/,
    });
    expect(
      await run(["--deployment", "http://127.0.0.1:1", "--start-at", "1.5"], { CONVEX_DEPLOY_KEY: "k" }),
    ).toMatchObject({
      code: 2,
    });
  });

  it.each(targets)(
    "applies the changes since the stored position and prints them per table; exit 3 when a snapshot is needed ($name)",
    async (target) => {
      const url = await target.fresh();
      let id = "";
      const w = await syncedWarehouse(url, (d) =>
        d.transaction((tx) => void (id = tx.insert("users", { v: 1n }))),
      );
      try {
        w.deployment.transaction((tx) => {
          tx.patch(id, { v: 2n });
          tx.insert("users", { v: 3n });
        });
        const env = { CONVEX_DEPLOY_KEY: w.deployment.deployKey };
        const args = ["--deployment", w.served.url, "--target", url, "--schema", w.schema];
        const ok = await run(args, env);
        expect(ok.code).toBe(0);
        expect(ok.out).toMatch(/users\s+1\s+1\s+0/);
        expect(ok.out).toMatch(/upToDate; lag/);
        expect(ok.out).not.toContain(w.deployment.deployKey);

        w.deployment.dropTable("users");
        w.deployment.advance(15n * 24n * 3600n * 1_000_000_000n);
        const expired = await run(args, env);
        expect(expired).toMatchObject({
          code: 3,
          out: /a snapshot sync is needed: the feed position is older/,
        });
      } finally {
        await w.close();
      }
    },
  );
});
