import { createHash } from "node:crypto";
import { makeFunctionReference } from "convex/server";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { serveSite } from "../harness/siteServer.js";
import { startConvexSource } from "../standins/convexSource.js";
import { SITE_BUILD_DIR } from "./build.js";
import { ADMIN, SIGNUP_CODE, startDashboard, type Dashboard } from "./dashboard.js";

const createApp = makeFunctionReference<"action">("apps:create");
const addAdmin = makeFunctionReference<"mutation">("admins:add");
const SECRETS_KEY = Buffer.alloc(32, 7).toString("base64");

let dashboard: Dashboard;
beforeAll(async () => {
  dashboard = await startDashboard({ SECRETS_KEY, ADMIN_EMAILS: `${ADMIN.email},newcomer@example.com` });
});
afterAll(async () => dashboard?.close());

describe("signing in", () => {
  it("shows only the sign-in form when signed out, and refuses a wrong password", async () => {
    const page = await dashboard.open("/apps");
    await expect(page.getByRole("heading", { name: "Warehouse Sync" })).toBeDefined();
    expect(await page.getByRole("navigation", { name: "Main" }).count()).toBe(0);
    await page.getByLabel("Email").fill(ADMIN.email);
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/Wrong email or password/);
    await dashboard.screenshot(page, "signin-refused");
  });

  it("signs in, shows live data that moves without a reload, and signs out", async () => {
    const page = await dashboard.openSignedIn("/");
    await page.getByText("No apps yet").waitFor();
    await dashboard.screenshot(page, "overview-empty");

    // Creating an app tests its source first: a stand-in deployment answers.
    const source = await startConvexSource({ deployKey: "prod:happy-animal-123|secretsecretsecret" });
    onTestFinished(() => source.close());
    await dashboard.admin.action(createApp, {
      name: "Live Shop",
      slug: "live-shop",
      deploymentUrl: source.url,
      deployKey: "prod:happy-animal-123|secretsecretsecret",
      tables: null,
      targetSchema: "live_shop",
      schedule: null,
      enabled: true,
    });
    await page.getByRole("link", { name: "Live Shop" }).waitFor();
    await dashboard.screenshot(page, "overview-live-update");

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    expect(await page.getByRole("navigation", { name: "Main" }).count()).toBe(0);
  });

  it("stays signed in when a session refresh gets no answer, as when a page is left mid-refresh", async () => {
    const page = await dashboard.openSignedIn("/");
    const dropped: string[] = [];
    // The refresh goes over HTTP (ConvexHttpClient.action → POST /api/action with the refresh token).
    await page.route("**/api/action", async (route) => {
      if (!(route.request().postData() ?? "").includes("refreshToken")) return route.continue();
      dropped.push(route.request().url());
      return route.abort("failed");
    });
    await page.reload();
    // The refresh on load and its two retries get no answer; none of that signs out.
    await expect.poll(() => dropped.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
    await page.unroute("**/api/action");
    await page.reload();
    await page.getByRole("navigation", { name: "Main" }).waitFor();
    expect(await page.getByRole("button", { name: "Sign in" }).count()).toBe(0);
    await page.close();
  });

  it("creates a first account only for an email on the allow-list", async () => {
    const page = await dashboard.open("/");
    await page.getByRole("button", { name: "Create your account" }).click();
    await page.getByLabel("Email").fill("stranger@example.com");
    await page.getByLabel("Password").fill("long-enough-password");
    await page.getByLabel("Sign-up code").fill(SIGNUP_CODE);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("alert").waitFor();
    expect(await page.getByRole("alert").textContent()).toMatch(/not on the admin allow-list/);

    await page.getByLabel("Email").fill("newcomer@example.com");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("navigation", { name: "Main" }).waitFor();
  });

  it("needs the sign-up code to create an account when the deployment sets one", async () => {
    await dashboard.admin.mutation(addAdmin, { email: "invited@example.com" });
    // The harness runs the app's functions in this process: they read the deployment's variables from here.
    process.env.ADMIN_SIGNUP_CODE = "invite-7f3a";
    try {
      const page = await dashboard.open("/");
      await page.getByRole("button", { name: "Create your account" }).click();
      await page.getByLabel("Email").fill("invited@example.com");
      await page.getByLabel("Password").fill("long-enough-password");
      await page.getByRole("button", { name: "Create account" }).click();
      const codeError = page.locator("#signup-code-error");
      await codeError.waitFor();
      expect(await codeError.textContent()).toMatch(/needs a sign-up code/);
      expect(await page.getByLabel("Sign-up code").getAttribute("aria-invalid")).toBe("true");

      await page.getByLabel("Sign-up code").fill("invite-0000");
      await page.getByRole("button", { name: "Create account" }).click();
      await page.getByText("This sign-up code or invite is not valid").waitFor();
      await dashboard.screenshot(page, "signup-code-refused");

      await page.getByLabel("Sign-up code").fill("invite-7f3a");
      await page.getByRole("button", { name: "Create account" }).click();
      await page.getByRole("navigation", { name: "Main" }).waitFor();
    } finally {
      delete process.env.ADMIN_SIGNUP_CODE;
    }
  });

  it("an invite link opens account creation for its email and works once", async () => {
    // As `npx convex run admins:invite` stores it (convex/admins.ts): only the token's SHA-256.
    const token = "inv_browser-test-invite-0123456789abcdef";
    const email = "invited-by-link@example.com";
    await dashboard.harness.backend.seed((ctx) =>
      ctx.db.insert("adminInvites", {
        email,
        tokenHash: createHash("sha256").update(token).digest("hex"),
        createdAt: Date.now(),
        expiresAt: Date.now() + 3_600_000,
      }),
    );
    const link = `/?invite=${token}&email=${encodeURIComponent(email)}`;
    const page = await dashboard.open(link);
    await page.getByRole("button", { name: "Create account" }).waitFor();
    expect(await page.getByLabel("Email").inputValue()).toBe(email);
    await page.getByLabel("Password").fill("long-enough-password");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("navigation", { name: "Main" }).waitFor();
    expect(new URL(page.url()).search).toBe("");

    const again = await dashboard.open(link);
    await again.getByLabel("Password").fill("another-long-password");
    await again.getByRole("button", { name: "Create account" }).click();
    await again.getByText(/already has an account|not valid/).waitFor();
  });

  it("can be used with the keyboard alone", async () => {
    const page = await dashboard.open("/");
    await page.getByLabel("Email").waitFor();
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("email");
    await page.keyboard.type(ADMIN.email);
    await page.keyboard.press("Tab");
    await page.keyboard.type(ADMIN.password);
    await page.keyboard.press("Enter");
    await page.getByRole("navigation", { name: "Main" }).waitFor();

    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await page.keyboard.press("Enter");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("main");
  });

  it("explains a build that was not told where the control plane is", async () => {
    const unconfigured = await serveSite(SITE_BUILD_DIR, "");
    try {
      const context = await dashboard.browser.newContext();
      const page = await context.newPage();
      await page.goto(unconfigured.url + "/apps");
      await page.getByRole("alert").waitFor();
      expect(await page.getByRole("alert").textContent()).toMatch(/PUBLIC_CONVEX_URL/);
      await context.close();
    } finally {
      await unconfigured.close();
    }
  });
});
