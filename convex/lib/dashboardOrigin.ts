/** DASHBOARD_ORIGIN: the dashboard's origin(s), comma-separated; used for CORS and for links (invites). */
export function dashboardOrigins(value: string | undefined = process.env.DASHBOARD_ORIGIN): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim().replace(/\/+$/, ""))
    .filter((s) => /^https?:\/\/[^/]+$/.test(s));
}
