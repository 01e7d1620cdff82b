import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { afterEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { failAttempt, transitionJob } from "./jobs";
import { asAdmin, createApp, insertJob, newTest as newFakeTimerTest, type T } from "./test/harness.testkit";
import { expectUserError } from "./test/productionErrors.testkit";

/** Real timers here: nodemailer and smtp-server need them, so scheduled sends run on their own, as deployed. */
function newTest(): T {
  const t = newFakeTimerTest();
  vi.useRealTimers();
  return t;
}

async function waitFor<V>(read: () => Promise<V>, ok: (v: V) => boolean, what: string): Promise<V> {
  const until = Date.now() + 8_000;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A job row inserted directly (no export/dispatch steps scheduled), already running. */
async function runningJob(t: T, maxAttempts: number): Promise<Id<"jobs">> {
  const appId = await createApp(t, { retry: { maxAttempts, baseDelayMs: 60_000, maxDelayMs: 60_000 } });
  const jobId = await insertJob(t, appId, { status: "running", maxAttempts, dispatchAttempts: 1 });
  await t.run((ctx) =>
    ctx.db.patch(appId, { lastJobId: jobId, lastJobStatus: "running", lastJobAt: Date.now() }),
  );
  return jobId;
}

interface Delivered {
  from: string;
  to: string[];
  data: string;
  user: string | undefined;
}

const PASSWORD = "smtp-pass-Secret!";
let servers: SMTPServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  servers = [];
});

/** A real SMTP server on 127.0.0.1 (STARTTLS off: smtp-server's built-in certificate has expired). */
async function smtp(): Promise<{ port: number; mail: Delivered[] }> {
  const mail: Delivered[] = [];
  const server = new SMTPServer({
    disabledCommands: ["STARTTLS"],
    authOptional: false,
    onAuth(auth, _session, cb) {
      if (auth.username === "alerts" && auth.password === PASSWORD) cb(null, { user: auth.username });
      else cb(Object.assign(new Error("Invalid username or password"), { responseCode: 535 }));
    },
    onData(stream, session, cb) {
      let data = "";
      stream.on("data", (c: Buffer) => (data += c.toString("utf8")));
      stream.on("end", () => {
        mail.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          data,
          user: session.user as string | undefined,
        });
        cb();
      });
    },
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return { port: (server.server.address() as AddressInfo).port, mail };
}

async function saveSettings(t: T, port: number, extra: Record<string, unknown> = {}) {
  await (
    await asAdmin(t)
  ).action(api.email.saveSettings, {
    enabled: true,
    host: "127.0.0.1",
    port,
    security: "none",
    username: "alerts",
    password: PASSWORD,
    from: "Warehouse Sync <sync@example.com>",
    recipients: ["ops@example.com"],
    notifyOnRecovery: true,
    ...extra,
  });
}

async function failedJob(t: T): Promise<Id<"jobs">> {
  const jobId = await runningJob(t, 1);
  await t.run(async (ctx) => {
    await failAttempt(ctx, (await ctx.db.get(jobId))!, {
      message: "Login failed for user 'etl'",
      code: "target_auth",
      retryable: true,
    });
  });
  return jobId;
}

const notifications = (t: T) => t.run((ctx) => ctx.db.query("notifications").collect());

describe("email settings", () => {
  test("the SMTP password is stored encrypted and never returned", async () => {
    const t = newTest();
    await saveSettings(t, 2525);
    const view = await (await asAdmin(t)).query(api.email.getSettings, {});
    expect(view).toMatchObject({ host: "127.0.0.1", passwordSet: true, username: "alerts" });
    expect(JSON.stringify(view)).not.toContain(PASSWORD);
    const stored = await t.run(async (ctx) =>
      JSON.stringify([
        await ctx.db.query("emailSettings").collect(),
        await ctx.db.query("auditLog").collect(),
      ]),
    );
    expect(stored).not.toContain(PASSWORD);
    await expectUserError(saveSettings(t, 2525, { recipients: ["not-an-email"] }), {
      code: "invalid_input",
      field: "recipients",
      message: /"not-an-email" is not an email address/,
    });
  });
});

describe("failure alerts", () => {
  test("a final failure sends one alert to the real SMTP server, with the error", async () => {
    const t = newTest();
    const server = await smtp();
    await saveSettings(t, server.port);
    const jobId = await failedJob(t);
    const [sent] = await waitFor(
      () => notifications(t),
      (n) => n[0]?.status === "sent",
      "the alert",
    );
    expect(sent).toMatchObject({ jobId, kind: "failure" });
    expect(server.mail).toHaveLength(1);
    expect(server.mail[0]).toMatchObject({
      from: "sync@example.com",
      to: ["ops@example.com"],
      user: "alerts",
    });
    expect(server.mail[0]!.data).toContain("Subject: [warehouse sync] Shop: sync failed after 1 attempt");
    expect(server.mail[0]!.data).toContain("Login failed for user 'etl'");
    // Running the send again (a retried action) does nothing.
    await t.action(internal.emailNode.sendJobAlert, { notificationId: sent!._id });
    expect(server.mail).toHaveLength(1);
  });

  test("no alert for a retried attempt, and never two for one job", async () => {
    const t = newTest();
    const server = await smtp();
    await saveSettings(t, server.port);
    const jobId = await runningJob(t, 2);
    const fail = () =>
      t.run(async (ctx) => {
        await ctx.db.patch(jobId, { status: "running" });
        await failAttempt(ctx, (await ctx.db.get(jobId))!, { message: "x", retryable: true });
      });
    await fail();
    expect((await t.run((ctx) => ctx.db.get(jobId)))?.status).toBe("queued");
    expect(await notifications(t)).toHaveLength(0);
    await fail();
    await t.run(async (ctx) => {
      const { scheduleAlert } = await import("./email");
      await scheduleAlert(ctx, (await ctx.db.get(jobId))!, "failure");
    });
    await waitFor(
      () => notifications(t),
      (n) => n.every((x) => x.status === "sent"),
      "the alert",
    );
    expect(await notifications(t)).toHaveLength(1);
    expect(server.mail).toHaveLength(1);
  });

  test("the first success after failures sends a recovery email when enabled", async () => {
    const t = newTest();
    const server = await smtp();
    await saveSettings(t, server.port);
    const failed = await failedJob(t);
    await waitFor(
      () => notifications(t),
      (n) => n[0]?.status === "sent",
      "the failure alert",
    );
    const appId = (await t.run((ctx) => ctx.db.get(failed)))!.appId;
    const jobId = await t.run(async (ctx) => {
      const job = (await ctx.db.get(failed))!;
      const { _id, _creationTime, ...rest } = job;
      const id = await ctx.db.insert("jobs", { ...rest, status: "running", active: true, error: undefined });
      await ctx.db.patch(appId, { lastJobId: id });
      await transitionJob(ctx, (await ctx.db.get(id))!, "succeeded");
      return id;
    });
    const all = await waitFor(
      () => notifications(t),
      (n) => n.length === 2 && n.every((x) => x.status === "sent"),
      "the recovery",
    );
    expect(all.find((n) => n.kind === "recovery")?.jobId).toBe(jobId);
    expect(server.mail.at(-1)!.data).toContain("sync succeeded again");
  });
});

describe("alert rate limit", () => {
  test("consecutive failures of an app send one alert for the streak, not one per failed run", async () => {
    const t = newFakeTimerTest();
    await t.run(async (ctx) => {
      await ctx.db.insert("emailSettings", {
        enabled: true,
        host: "127.0.0.1",
        port: 9,
        security: "none",
        from: "sync@example.com",
        recipients: ["ops@example.com"],
        notifyOnRecovery: false,
        updatedAt: 0,
      });
    });
    const first = await runningJob(t, 1);
    const template = (await t.run((ctx) => ctx.db.get(first)))!;
    for (let i = 0; i < 4; i++)
      await t.run(async (ctx) => {
        const { _id, _creationTime, ...fields } = template;
        const id = i === 0 ? first : await ctx.db.insert("jobs", fields);
        await ctx.db.patch(template.appId, { lastJobId: id });
        await failAttempt(ctx, (await ctx.db.get(id))!, { message: "x", retryable: false });
      });
    expect((await notifications(t)).map((n) => [n.jobId, n.kind])).toEqual([[first, "failure"]]);
    expect((await t.run((ctx) => ctx.db.get(template.appId)))?.failureStreak).toBe(4);
  });

  test("a flapping app gets at most 5 alerts in a burst; the rest are recorded as skipped", async () => {
    const t = newFakeTimerTest();
    await t.run(async (ctx) => {
      await ctx.db.insert("emailSettings", {
        enabled: true,
        host: "127.0.0.1",
        port: 9,
        security: "none",
        from: "sync@example.com",
        recipients: ["ops@example.com"],
        notifyOnRecovery: false,
        updatedAt: 0,
      });
    });
    const first = await runningJob(t, 1);
    const template = (await t.run((ctx) => ctx.db.get(first)))!;
    for (let i = 0; i < 7; i++)
      await t.run(async (ctx) => {
        const { _id, _creationTime, ...fields } = template;
        const id = i === 0 ? first : await ctx.db.insert("jobs", fields);
        // A success in between: each failure starts a new streak.
        await ctx.db.patch(template.appId, { lastJobId: id, failureStreak: 0 });
        await failAttempt(ctx, (await ctx.db.get(id))!, { message: "x", retryable: false });
      });
    const rows = await notifications(t);
    expect(rows.filter((n) => n.status === "pending")).toHaveLength(5);
    expect(rows.filter((n) => n.status === "skipped").map((n) => n.error)).toEqual([
      "too many alerts for this app: rate limited",
      "too many alerts for this app: rate limited",
    ]);
  });
});

describe("test email", () => {
  test("delivers, and reports the SMTP error plainly on a wrong password or no server", async () => {
    const t = newTest();
    const server = await smtp();
    await saveSettings(t, server.port);
    const admin = await asAdmin(t);
    expect(await admin.action(api.emailNode.sendTestEmail, {})).toEqual({
      ok: true,
      accepted: ["ops@example.com"],
      rejected: [],
    });
    expect(server.mail[0]!.data).toContain("test email");

    await saveSettings(t, server.port, { password: "wrong" });
    const bad = await admin.action(api.emailNode.sendTestEmail, {});
    expect(bad).toMatchObject({ ok: false, error: expect.stringMatching(/^EAUTH: 535/) });
    expect(JSON.stringify(bad)).not.toContain("wrong");

    await saveSettings(t, 9, { password: undefined });
    expect(await admin.action(api.emailNode.sendTestEmail, {})).toMatchObject({
      ok: false,
      error: expect.stringContaining("ECONNREFUSED"),
    });
  });
});
