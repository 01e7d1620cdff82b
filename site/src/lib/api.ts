/**
 * The control plane's functions, as the dashboard calls them. One import point so that pages read
 * `api.apps.list`, and the generated types flow through once convex/_generated/api.d.ts is regenerated.
 */
export { api } from "$convex/_generated/api";
