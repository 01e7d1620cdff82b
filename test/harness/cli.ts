/**
 * Runs the Convex stand-in on its own, for the offline demo and for trying the dashboard without a
 * deployment. Hosts convex/ in this process, serves the built dashboard (site/build) against it when present,
 * creates an admin account and prints where everything is.
 *
 *   npx tsx test/harness/cli.ts [--cloud-port 3210] [--site-port 3211] [--dashboard-port 4173]
 *
 * Environment for the functions passes through (EXECUTOR_URL, EXECUTOR_SECRET, …). SECRETS_KEY gets a random
 * value for this run when unset. Data lives in memory and is gone when the process stops.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { startHarness } from "./server.js";
import { serveSite } from "./siteServer.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const { values } = parseArgs({
  options: {
    "cloud-port": { type: "string", default: "3210" },
    "site-port": { type: "string", default: "3211" },
    "dashboard-port": { type: "string", default: "4173" },
    "admin-email": { type: "string", default: "admin@example.com" },
    "admin-password": { type: "string", default: "demo-password-123" },
  },
});

function port(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`--${name}: "${value}" is not a port number`);
  return n;
}

const email = values["admin-email"]!;
const password = values["admin-password"]!;
// Creating an account needs a sign-up code or an invite (convex/signupGate.ts): a fresh code per run.
const signupCode = process.env.ADMIN_SIGNUP_CODE || randomBytes(24).toString("base64url");
const harness = await startHarness({
  convexDir: path.join(ROOT, "convex"),
  cloudPort: port("cloud-port", values["cloud-port"]),
  sitePort: port("site-port", values["site-port"]),
  env: {
    ADMIN_EMAILS: [process.env.ADMIN_EMAILS, email].filter(Boolean).join(","),
    ADMIN_SIGNUP_CODE: signupCode,
    SECRETS_KEY: process.env.SECRETS_KEY ?? randomBytes(32).toString("base64"),
  },
});
await harness.backend.call(
  "action",
  "auth:signIn",
  { provider: "password", params: { email, password, flow: "signUp", signupCode } },
  null,
);

const buildDir = path.join(ROOT, "site/build");
const dashboard = existsSync(path.join(buildDir, "index.html"))
  ? await serveSite(
      buildDir,
      harness.cloudUrl,
      port("dashboard-port", values["dashboard-port"]),
      harness.siteUrl,
    )
  : null;

console.log(`Convex stand-in (sync protocol, function API): ${harness.cloudUrl}`);
console.log(`HTTP actions (convex/http.ts):                  ${harness.siteUrl}`);
console.log(
  dashboard
    ? `Dashboard:                                      ${dashboard.url}`
    : "Dashboard: not built (run `npm run build:site`), or `PUBLIC_CONVEX_URL=" +
        harness.cloudUrl +
        " npm run dev:site`",
);
console.log(`Sign in as ${email} / ${password}`);

async function stop() {
  await dashboard?.close();
  await harness.close();
  process.exit(0);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
