import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { Page } from "playwright-core";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDashboard, type Dashboard } from "./dashboard.js";

// Settings against the real functions, with a real SMTP server receiving the test email.
let dashboard: Dashboard;
let page: Page;
let smtp: SMTPServer;
let smtpPort: number;
const received: { to: string[]; body: string }[] = [];

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    onData(stream, session, callback) {
      let body = "";
      stream.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      stream.on("end", () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), body });
        callback();
      });
    },
  });
  smtp.listen(0, "127.0.0.1");
  await once(smtp.server, "listening");
  smtpPort = (smtp.server.address() as AddressInfo).port;
  dashboard = await startDashboard({ SECRETS_KEY: Buffer.alloc(32, 3).toString("base64") });
  page = await dashboard.openSignedIn("/settings");
});
afterAll(async () => {
  await dashboard?.close();
  await new Promise<void>((resolve) => smtp?.close(() => resolve()));
});

describe("settings", () => {
  it("checks the SMTP form, saves it, and sends a test email that arrives", async () => {
    await page.getByLabel("SMTP host").waitFor();
    await page.getByLabel("SMTP host").fill("127.0.0.1");
    await page.getByLabel("Port").fill(String(smtpPort));
    await page.getByLabel("Security").selectOption("none");
    await page.getByLabel("From").fill("Warehouse Sync <alerts@example.com>");
    await page.getByLabel(/^Recipients/).fill("oncall@example.com, not-an-address");
    await page.getByRole("button", { name: "Save email settings" }).click();
    expect(await page.getByText("Not an email address: not-an-address").count()).toBe(1);

    await page.getByLabel(/^Recipients/).fill("oncall@example.com");
    await page.getByRole("button", { name: "Save email settings" }).click();
    await page.getByText("Email settings saved.").waitFor();

    await page.getByRole("button", { name: "Send test email" }).click();
    const result = page.getByTestId("test-email-result");
    await result.waitFor();
    expect(await result.textContent()).toMatch(/Sent to oncall@example.com/);
    expect(received).toHaveLength(1);
    expect(received[0]!.to).toEqual(["oncall@example.com"]);
    await dashboard.screenshot(page, "settings-email");
  });

  it("reports an SMTP failure plainly", async () => {
    await page.getByLabel("Port").fill("1");
    await page.getByRole("button", { name: "Save email settings" }).click();
    await page.getByText("Email settings saved.").waitFor();
    await page.getByRole("button", { name: "Send test email" }).click();
    await page.getByText(/^Not sent:/).waitFor();
    expect(await page.getByTestId("test-email-result").textContent()).toMatch(/Not sent: .+/);
  });

  it("creates an API token shown once, and revokes it after confirmation", async () => {
    await page.getByRole("button", { name: "Create token" }).click();
    expect(await page.locator("#token-name-error").textContent()).toMatch(/Name the token/);
    await page.getByLabel("New token name").fill("nightly ETL");
    await page.getByRole("button", { name: "Create token" }).click();
    // No scope chosen: refused at the scope field, nothing created.
    expect(await page.locator("#token-scope-error").textContent()).toMatch(/Choose the apps/);
    expect(await page.getByTestId("new-token").count()).toBe(0);
    await page.getByLabel(/All apps/).check();
    await page.getByRole("button", { name: "Create token" }).click();
    const shown = page.getByTestId("new-token");
    await shown.waitFor();
    const token = (await shown.textContent()) ?? "";
    expect(token).toMatch(/^cws_/);
    const row = page.getByTestId("token-row").filter({ hasText: "nightly ETL" });
    await row.waitFor();
    expect(await row.textContent()).not.toContain(token);
    expect(await row.getByTestId("token-scope").textContent()).toMatch(/All apps/);
    expect(await row.textContent()).toMatch(/never/);
    await dashboard.screenshot(page, "settings-token-created");

    const status = await fetch(`${dashboard.harness.siteUrl}/api/sync/unknown-app`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(status.status).toBe(404);
    // The use shows up live as the token's last use.
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).not.toMatch(/never/);

    // Where to send it: this deployment's HTTP routes (the harness's site port here, .convex.site in Convex).
    const triggerUrl = `${dashboard.harness.siteUrl}/api/sync/<app>`;
    expect(await page.getByTestId("trigger-url").textContent()).toBe(`POST ${triggerUrl}`);
    expect(await page.getByTestId("trigger-curl").textContent()).toBe(
      `curl -X POST -H "Authorization: Bearer $SYNC_TOKEN" ${triggerUrl}`,
    );
    await page.getByRole("button", { name: "I have saved it" }).click();
    expect(await page.getByTestId("new-token").count()).toBe(0);
    await row.getByRole("button", { name: "Revoke" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("button", { name: "Revoke" }).click();
    await row.getByText("revoked").waitFor();
    const refused = await fetch(`${dashboard.harness.siteUrl}/api/sync/unknown-app`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(refused.status).toBe(401);
  });

  it("validates and saves retention", async () => {
    await page.getByLabel(/Keep jobs/).fill("0");
    await page.getByRole("button", { name: "Save retention" }).click();
    expect(await page.getByText("A whole number of days from 1 to 3650.").count()).toBe(1);
    await page.getByLabel(/Keep jobs/).fill("90");
    await page.getByRole("button", { name: "Save retention" }).click();
    await page.getByText("Saved.", { exact: true }).waitFor();
    await page.reload();
    await page.getByLabel(/Keep jobs/).waitFor();
    expect(await page.getByLabel(/Keep jobs/).inputValue()).toBe("90");
    await dashboard.screenshot(page, "settings");
  });

  it("adds an admin to the allow-list and removes them after confirmation", async () => {
    const section = page.getByRole("region", { name: "Admins" });
    await section.getByLabel("Add an admin by email").fill("colleague@example.com");
    await section.getByRole("button", { name: "Add admin" }).click();
    const row = section.getByRole("listitem").filter({ hasText: "colleague@example.com" });
    await row.waitFor();
    await row.getByRole("button", { name: "Remove" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Remove" }).click();
    await row.waitFor({ state: "detached" });
    expect(await section.getByText("colleague@example.com").count()).toBe(0);
  });
});
