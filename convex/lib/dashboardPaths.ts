/**
 * The dashboard's pages, defined once: the site links with these (imported as `$convex/lib/dashboardPaths`) and
 * so do the alert emails, and dashboardPaths.test.ts checks every one against site/src/routes.
 *
 *   `${dashboardUrl}${dashboardPaths.job(jobId)}`   // https://sync.example.com/logs/<jobId>
 */
const segment = (id: string) => encodeURIComponent(id);

export const dashboardPaths = {
  overview: () => "/",
  apps: () => "/apps",
  newApp: () => "/apps/new",
  app: (appId: string) => `/apps/${segment(appId)}`,
  editApp: (appId: string) => `/apps/${segment(appId)}/edit`,
  /** The job list, optionally filtered to one app (the page reads `?app=`). */
  logs: (filter: { app?: string } = {}) => (filter.app ? `/logs?app=${segment(filter.app)}` : "/logs"),
  job: (jobId: string) => `/logs/${segment(jobId)}`,
  scheduling: () => "/scheduling",
  settings: () => "/settings",
} as const;

/** An absolute link to a dashboard page, from the dashboard's base URL (with or without a trailing slash). */
export function dashboardLink(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, "")}${path}`;
}
