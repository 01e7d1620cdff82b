import { env } from "$env/dynamic/public";
import { siteUrlFor } from "$convex/lib/httpApiUrls";

/**
 * The control plane's deployment URL, or null when the build was not given one. Read at runtime from
 * SvelteKit's public env (`_app/env.js` in the static build), so one build can be pointed at another
 * deployment by the server that hosts it.
 */
export function configuredConvexUrl(): string | null {
  const url = env.PUBLIC_CONVEX_URL?.trim();
  return url ? url : null;
}

/**
 * Where the deployment's HTTP routes (the trigger API) answer: `PUBLIC_CONVEX_SITE_URL` when set (the Convex CLI
 * writes it for SvelteKit; the demo and the test harness serve it), else derived from a `.convex.cloud` URL.
 * Null when neither says (a custom domain or a local backend without the variable).
 */
export function configuredSiteUrl(): string | null {
  const cloud = configuredConvexUrl();
  return cloud ? siteUrlFor(cloud, env.PUBLIC_CONVEX_SITE_URL) : null;
}
