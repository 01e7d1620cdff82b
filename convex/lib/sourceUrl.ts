/**
 * Deployment URLs an app may copy from: Convex cloud, self-hosted backends (with a path prefix), and plain
 * http only where the deploy key cannot leave a trusted network.
 */
import { SourceDeploymentError } from "./sourceError";

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;
const PRIVATE_HOST =
  /^(10(?:\.\d{1,3}){3}|192\.168(?:\.\d{1,3}){2}|172\.(?:1[6-9]|2\d|3[01])(?:\.\d{1,3}){2}|169\.254(?:\.\d{1,3}){2}|\[f[cd][0-9a-f]{2}:[0-9a-f:]*\]|\[fe80:[0-9a-f:]*\]|[a-z0-9-]+|.+\.(?:local|internal|lan|home\.arpa))$/i;

/** Plain http to loopback needs no permission: nothing leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.test(hostname);
}

/**
 * Whether the URL is plain http to a host other than loopback, so `allowInsecureHttp` matters (the dashboard
 * then offers it). An http URL that does not parse counts: the server's check says what is wrong with it.
 */
export function needsHttpPermission(raw: string): boolean {
  const text = raw.trim();
  if (!/^http:\/\//i.test(text)) return false;
  try {
    return !isLoopbackHost(new URL(text).hostname);
  } catch {
    return true;
  }
}

/** Loopback needs no flag (nothing leaves the machine); other private hosts need `allowInsecureHttp`. */
export function isPrivateHost(hostname: string): boolean {
  return isLoopbackHost(hostname) || PRIVATE_HOST.test(hostname);
}

/**
 * Checks a deployment URL and returns it without a trailing `/`. Accepted:
 * - Convex cloud: `https://<name>.convex.cloud` (not `.convex.site`, the HTTP-actions host);
 * - self-hosted: any `https://` host, optionally with a path prefix (a reverse proxy at `/convex`);
 * - `http://` only to loopback, or to a private host when `allowInsecureHttp` is set: the deploy key then
 *   travels unencrypted, readable by anyone on that network.
 */
export function normalizeDeploymentUrl(raw: string, options: { allowInsecureHttp?: boolean } = {}): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new SourceDeploymentError(
      "bad_url",
      `"${raw}" is not a URL (expected https://<name>.convex.cloud)`,
    );
  }
  const host = url.hostname.toLowerCase();
  if (host.endsWith(".convex.site"))
    throw new SourceDeploymentError(
      "bad_url",
      `${url.origin} is the deployment's HTTP-actions address; use its API address ` +
        `https://${host.slice(0, -".convex.site".length)}.convex.cloud`,
    );
  if (host === "dashboard.convex.dev")
    throw new SourceDeploymentError(
      "bad_url",
      "that is the Convex dashboard's address; use the deployment's API URL https://<name>.convex.cloud " +
        "(the deployment's Settings page shows it)",
    );
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new SourceDeploymentError("bad_url", `deployment URL ${url.origin} must use https`);
  if (url.username || url.password)
    throw new SourceDeploymentError("bad_url", "the deployment URL must not contain a user name or password");
  if (url.search || url.hash)
    throw new SourceDeploymentError("bad_url", `deployment URL must not have a query or fragment`);
  if (url.protocol === "http:" && !isLoopbackHost(host)) {
    if (!isPrivateHost(host))
      throw new SourceDeploymentError(
        "bad_url",
        `deployment URL ${url.origin} must use https (http is possible only for a host on a private network)`,
      );
    if (!options.allowInsecureHttp)
      throw new SourceDeploymentError(
        "bad_url",
        `deployment URL ${url.origin} uses http: the deploy key would travel unencrypted. Use https, or allow ` +
          `unencrypted http for this app if ${host} is on a network you trust`,
      );
  }
  const path = url.pathname.replace(/\/+$/, "");
  if (host.endsWith(".convex.cloud") && path)
    throw new SourceDeploymentError("bad_url", `deployment URL must be just the origin, like ${url.origin}`);
  return `${url.origin}${path}`;
}
