import { describe, expect, test } from "vitest";
import { api } from "./_generated/api";
import { decryptSecret } from "./lib/crypto";
import { asAdmin, createApp, DEFAULT_APP, newTest } from "./test/harness.testkit";

describe("apps", () => {
  test("the deploy key is stored encrypted, shown masked, and never in queries or the audit log", async () => {
    const t = newTest();
    const appId = await createApp(t);
    const admin = await asAdmin(t);
    const [listed] = await admin.query(api.apps.list, {});
    expect(listed).toMatchObject({
      slug: "shop",
      deployKeyHint: "prod:happy-animal-123|••••cdef",
      lastJob: null,
    });
    const everything = JSON.stringify([
      listed,
      await admin.query(api.apps.get, { appId }),
      await admin.query(api.audit.list, { paginationOpts: { numItems: 50, cursor: null } }),
    ]);
    expect(everything).not.toContain("SECRETKEY");
    const row = await t.run((ctx) => ctx.db.get(appId));
    expect(row?.deployKeyCiphertext).not.toContain("SECRETKEY");
    expect(await decryptSecret(row!.deployKeyCiphertext)).toBe(DEFAULT_APP.deployKey);

    await admin.action(api.apps.setDeployKey, {
      appId,
      deployKey: "prod:happy-animal-123|NEWKEYNEWKEYNEWKEY9876",
    });
    expect((await admin.query(api.apps.get, { appId }))?.deployKeyHint).toBe(
      "prod:happy-animal-123|••••9876",
    );
  });

  test("bad input is refused naming the field", async () => {
    const t = newTest();
    const admin = await asAdmin(t);
    const bad = async (overrides: Record<string, unknown>) =>
      admin.action(api.apps.create, { ...DEFAULT_APP, ...overrides });
    await expect(bad({ slug: "Bad Slug" })).rejects.toThrow(/slug: "Bad Slug" must be lowercase/);
    await expect(bad({ deploymentUrl: "http://example.com" })).rejects.toThrow(
      /deploymentUrl: .*must use https/,
    );
    await expect(bad({ tables: ["ok", "not valid!"] })).rejects.toThrow(/tables\[1\]: "not valid!"/);
    await expect(bad({ targetSchema: "dbo; drop" })).rejects.toThrow(/targetSchema/);
    await expect(bad({ deployKey: "short" })).rejects.toThrow(/deployKey: does not look like/);
    await expect(bad({ retry: { maxAttempts: 0, baseDelayMs: 1000, maxDelayMs: 1000 } })).rejects.toThrow(
      /retry.maxAttempts/,
    );
    await createApp(t);
    await expect(bad({ name: "Other" })).rejects.toThrow(/slug: "shop" is already used/);
  });

  test("update keeps the key, remove refuses while a job is active", async () => {
    const t = newTest();
    const appId = await createApp(t);
    const admin = await asAdmin(t);
    const { deployKey: _k, ...fields } = DEFAULT_APP;
    await admin.mutation(api.apps.update, { appId, ...fields, name: "Shop EU", tables: ["users", "orders"] });
    expect(await admin.query(api.apps.get, { appId })).toMatchObject({
      name: "Shop EU",
      tables: ["orders", "users"],
      deployKeyHint: "prod:happy-animal-123|••••cdef",
    });
    await admin.mutation(api.jobs.trigger, { appId });
    await expect(admin.mutation(api.apps.remove, { appId })).rejects.toThrow(
      /has an active job \(queued\); cancel it first/,
    );
  });
});
