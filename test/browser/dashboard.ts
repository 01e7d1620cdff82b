/**
 * Everything a browser test needs: the harness hosting convex/, the built dashboard served against it, and
 * an installed Chromium, Chrome or Edge driven by playwright-core (no browser download).
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { ConvexHttpClient } from "convex/browser";
import { makeFunctionReference } from "convex/server";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { startHarness, type Harness } from "../harness/server.js";
import { ensureSiteBuilt, SITE_BUILD_DIR } from "./build.js";
import { findBrowser } from "./findBrowser.js";
import { serveSite, type SiteServer } from "../harness/siteServer.js";
import { startExecutorStandIn, type ExecutorStandIn } from "./standIns.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
export const ARTIFACTS_DIR = path.join(ROOT, "test-artifacts");
/** The installed Chromium, Chrome or Edge (findBrowser.ts); null when there is none (the suite is then skipped). */
export const CHROMIUM = findBrowser()?.executablePath ?? null;
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export const ADMIN = { email: "admin@example.com", password: "correct-horse-battery" };
/** Creating an account needs a sign-up code or an invite (convex/signupGate.ts). */
export const SIGNUP_CODE = "browser-tests-signup-code";

export interface Dashboard {
  harness: Harness;
  site: SiteServer;
  browser: Browser;
  /** The control plane as the signed-in admin, for setting up data from outside the browser. */
  admin: ConvexHttpClient;
  /** A fresh browser context (own localStorage) on the dashboard. */
  open(pathname?: string, viewport?: { width: number; height: number }): Promise<Page>;
  /** Opens the dashboard and signs in as the admin through the sign-in form. */
  openSignedIn(pathname?: string, viewport?: { width: number; height: number }): Promise<Page>;
  screenshot(page: Page, name: string): Promise<void>;
  close(): Promise<void>;
}

export async function startDashboard(env: Record<string, string> = {}): Promise<Dashboard> {
  ensureSiteBuilt();
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const harness = await startHarness({
    convexDir: path.join(ROOT, "convex"),
    env: { ADMIN_EMAILS: ADMIN.email, ADMIN_SIGNUP_CODE: SIGNUP_CODE, ...env },
  });
  const signedUp = (await new ConvexHttpClient(harness.cloudUrl).action(
    makeFunctionReference<"action">("auth:signIn"),
    { provider: "password", params: { ...ADMIN, flow: "signUp", signupCode: SIGNUP_CODE } },
  )) as { tokens: { token: string } };
  const admin = new ConvexHttpClient(harness.cloudUrl);
  admin.setAuth(signedUp.tokens.token);
  const site = await serveSite(SITE_BUILD_DIR, harness.cloudUrl, 0, harness.siteUrl);
  if (!CHROMIUM) throw new Error("no Chromium, Chrome or Edge installed (see test/browser/findBrowser.ts)");
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  const contexts: BrowserContext[] = [];

  async function open(pathname = "/", viewport = { width: 1280, height: 860 }): Promise<Page> {
    const context = await browser.newContext({ viewport });
    contexts.push(context);
    const page = await context.newPage();
    page.on("pageerror", (error) => console.error(`[browser] ${error.message}`));
    await page.goto(site.url + pathname);
    return page;
  }

  return {
    harness,
    site,
    browser,
    admin,
    open,
    async openSignedIn(pathname = "/", viewport) {
      const page = await open(pathname, viewport);
      await page.getByLabel("Email").fill(ADMIN.email);
      await page.getByLabel("Password").fill(ADMIN.password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("navigation", { name: "Main" }).waitFor();
      return page;
    },
    async screenshot(page, name) {
      await page.screenshot({ path: path.join(ARTIFACTS_DIR, `${name}.png`), fullPage: true });
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => {});
      await browser.close();
      await site.close();
      await harness.close();
    },
  };
}

/**
 * The dashboard with the executor stand-in (standIns.ts) as its executor: jobs go to the stand-in, whose
 * callbacks go to the harness's site URL, known only once the harness runs. `env`: more of the control plane's
 * environment, e.g. SECRETS_KEY.
 */
export async function startDashboardWithExecutor(
  executorSecret: string,
  env: Record<string, string> = {},
): Promise<{ dashboard: Dashboard; executor: ExecutorStandIn }> {
  let siteUrl = "";
  const executor = await startExecutorStandIn(executorSecret, () => siteUrl);
  try {
    const dashboard = await startDashboard({
      ...env,
      EXECUTOR_URL: executor.url,
      EXECUTOR_SECRET: executorSecret,
    });
    siteUrl = dashboard.harness.siteUrl;
    return { dashboard, executor };
  } catch (error) {
    await executor.close();
    throw error;
  }
}

/** The text of the first element with this data-testid, its whitespace collapsed as a reader sees it. */
export async function shownText(page: Page, testId: string): Promise<string> {
  return ((await page.getByTestId(testId).first().textContent()) ?? "").replace(/\s+/g, " ").trim();
}
