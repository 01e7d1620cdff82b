import { env } from "$env/dynamic/public";

/**
 * The control plane's deployment URL, or null when the build was not given one. Read at runtime from
 * SvelteKit's public env (`_app/env.js` in the static build), so one build can be pointed at another
 * deployment by the server that hosts it.
 */
export function configuredConvexUrl(): string | null {
  const url = env.PUBLIC_CONVEX_URL?.trim();
  return url ? url : null;
}
