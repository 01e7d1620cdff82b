/**
 * Deploy keys: which kinds can read one deployment's data (formats from the Convex CLI's source).
 */
import { SourceDeploymentError } from "./sourceError";

export type DeployKeyInfo = {
  /** `prod`, `dev`, `preview` (a preview deployment's own key), `custom`…; `legacy` without a prefix. */
  type: string;
  /** The deployment the key belongs to, when the key says. */
  deploymentName?: string;
};

/**
 * Tells deployment keys from the keys that cannot read one deployment's data. Formats from the Convex CLI
 * (node_modules/convex/src/cli/lib/deployment.ts): `prod:<deployment>|<secret>`, `dev:<deployment>|…`,
 * `preview:<deployment>|…` (a preview deployment's own key); a preview deploy key `preview:<team>:<project>|…`
 * creates preview deployments; a project token `project:<team>:<project>|…` manages a project. Self-hosted
 * admin keys (`<instance>|<secret>`) have no type prefix.
 */
export function classifyDeployKey(key: string): DeployKeyInfo {
  const bar = key.indexOf("|");
  const prefix = bar === -1 ? "" : key.slice(0, bar);
  const parts = prefix.split(":");
  if (parts[0] === "project" && parts.length >= 2)
    throw new SourceDeploymentError(
      "unsupported_key",
      "this is a project token, which manages a project rather than reading one deployment: use the " +
        "deployment's deploy key (Convex dashboard → the deployment → Settings → Deploy keys)",
    );
  if (parts[0] === "preview" && parts.length === 3)
    throw new SourceDeploymentError(
      "unsupported_key",
      "this is a preview deploy key, which creates preview deployments: use the deploy key of the " +
        "deployment to copy (usually production: Settings → Deploy keys of the production deployment)",
    );
  if (parts.length === 2 && parts[1]) return { type: parts[0]!, deploymentName: parts[1] };
  return prefix && !prefix.includes(":") ? { type: "legacy", deploymentName: prefix } : { type: "legacy" };
}

/** A key for deployment A against `https://B.convex.cloud` is refused before anything is sent. */
export function checkKeyMatchesUrl(key: string, url: string): void {
  const { deploymentName } = classifyDeployKey(key);
  const host = new URL(url).hostname;
  if (!deploymentName || !host.endsWith(".convex.cloud")) return;
  const urlName = host.split(".")[0];
  if (urlName !== deploymentName)
    throw new SourceDeploymentError(
      "key_rejected",
      `this deploy key belongs to deployment ${deploymentName}, but the URL is deployment ${urlName}'s`,
    );
}
