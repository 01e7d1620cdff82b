import { env } from "$env/dynamic/public";

/**
 * The control plane's deployment URL. Read at runtime from SvelteKit's public env (`_app/env.js` in the static
 * build), so one build can be pointed at another deployment by the server that hosts it.
 */
export function convexUrl(): string {
  const url = env.PUBLIC_CONVEX_URL;
  if (!url) {
    throw new Error(
      "PUBLIC_CONVEX_URL is not set. Build or serve the dashboard with PUBLIC_CONVEX_URL=https://<deployment>.convex.cloud",
    );
  }
  return url;
}
