/** Text of the alert emails (pure, so it is tested without SMTP). */
import { dashboardLink, dashboardPaths } from "./dashboardPaths";

export interface AlertInput {
  kind: "failure" | "recovery";
  appName: string;
  appSlug: string;
  jobId: string;
  attempt: number;
  maxAttempts: number;
  error?: { message: string; code?: string; where?: string };
  events: { at: number; level: string; message: string }[];
  dashboardUrl?: string;
}

export function alertMessage(a: AlertInput): { subject: string; text: string } {
  const subject =
    a.kind === "failure"
      ? `[warehouse sync] ${a.appName}: sync failed after ${a.attempt} attempt${a.attempt === 1 ? "" : "s"}`
      : `[warehouse sync] ${a.appName}: sync succeeded again`;
  const lines = [
    a.kind === "failure"
      ? `The sync of ${a.appName} (${a.appSlug}) failed.`
      : `${a.appName} (${a.appSlug}) synced successfully after earlier failures.`,
    "",
    `Job: ${a.jobId} (attempt ${a.attempt} of ${a.maxAttempts})`,
  ];
  if (a.error) {
    lines.push(`Error: ${a.error.message}`);
    if (a.error.code) lines.push(`Code: ${a.error.code}`);
    if (a.error.where) lines.push(`Where: ${a.error.where}`);
  }
  if (a.events.length > 0) {
    lines.push("", "Last events:");
    for (const e of a.events)
      lines.push(`  ${new Date(e.at).toISOString()} ${e.level.padEnd(5)} ${e.message}`);
  }
  if (a.dashboardUrl) lines.push("", dashboardLink(a.dashboardUrl, dashboardPaths.job(a.jobId)));
  return { subject, text: lines.join("\n") };
}
