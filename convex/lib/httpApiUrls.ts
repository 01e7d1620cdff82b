/**
 * Where the control plane's HTTP routes (http.ts) are reached, defined once for the dashboard, the demo and docs.
 * A Convex deployment answers its functions' client protocol on `https://<name>.convex.cloud` and its HTTP
 * actions on `https://<name>.convex.site` (the CLI's `fetchDeploymentCanonicalUrls` returns both, and writes the
 * second as `PUBLIC_CONVEX_SITE_URL` for SvelteKit). Anything else (a local backend, the test harness, a custom
 * domain) has no derivable site URL: it must be given.
 *
 *   triggerUrl(siteUrlFor("https://happy-animal-123.convex.cloud")!, "shop")
 *   // https://happy-animal-123.convex.site/api/sync/shop
 */
export const TRIGGER_PATH_PREFIX = "/api/sync/";
export const JOB_STATUS_PATH_PREFIX = "/api/jobs/";

/** The HTTP-actions origin of a deployment: `configured` when given, else derived from a `.convex.cloud` URL. */
export function siteUrlFor(cloudUrl: string, configured?: string | null): string | null {
  const given = configured?.trim();
  if (given) return given.replace(/\/+$/, "");
  let url: URL;
  try {
    url = new URL(cloudUrl.trim());
  } catch {
    return null;
  }
  if (!url.hostname.endsWith(".convex.cloud")) return null;
  return `${url.protocol}//${url.hostname.slice(0, -".convex.cloud".length)}.convex.site${url.port ? `:${url.port}` : ""}`;
}

export function triggerUrl(siteUrl: string, appSlug: string): string {
  return `${siteUrl.replace(/\/+$/, "")}${TRIGGER_PATH_PREFIX}${encodeURIComponent(appSlug)}`;
}

export function jobStatusUrl(siteUrl: string, jobId: string): string {
  return `${siteUrl.replace(/\/+$/, "")}${JOB_STATUS_PATH_PREFIX}${encodeURIComponent(jobId)}`;
}

/** A ready-to-paste shell command that POSTs to `url`; the token is read from $SYNC_TOKEN, never written out. */
export function curlPost(url: string): string {
  return `curl -X POST -H "Authorization: Bearer $SYNC_TOKEN" ${url}`;
}

/** The curl command that starts a sync of one app. */
export function curlTrigger(siteUrl: string, appSlug: string): string {
  return curlPost(triggerUrl(siteUrl, appSlug));
}
