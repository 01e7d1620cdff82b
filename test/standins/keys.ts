/**
 * Who is calling, and what the key may do: the admin-key checks every stand-in route runs first, as the backend
 * does (get-convex/convex-backend at 94a42c3d: crates/local_backend/src/authentication.rs, crates/authentication/
 * src/application_auth.rs, crates/roles/src/eval.rs `require_operation`, crates/keybroker/src/operations.rs).
 * One key ring per deployment, shared by the source stand-in's routes and the change feed's.
 */
import { HttpError } from "./httpError.js";

/** keybroker's `DeploymentOp` (crates/keybroker/src/operations.rs); the ones our code needs. */
export type DeploymentOp = "ViewData" | "ViewBackups" | "CreateBackups" | "DownloadBackups";

/**
 * How `require_operation` names an operation in its refusal (crates/roles/src/eval.rs `deployment_op_action`,
 * strum names in crates/roles/src/types.rs `RoleStatementAction`).
 */
export const OPERATION_ACTION: Record<DeploymentOp, string> = {
  ViewData: "deployment:data:view",
  ViewBackups: "deployment:backups:view",
  CreateBackups: "deployment:backups:create",
  DownloadBackups: "deployment:backups:download",
};

export type Identity = { kind: "admin"; ops: Set<DeploymentOp> | "all" } | { kind: "unknown" };

/**
 * crates/common/src/types/admin_key.rs `AdminKey::remove_type_prefix`: `prod:<name>|<key>` → `<name>|<key>`;
 * a `preview:` or `project:` prefix leaves only `<key>` (then checked as an access token).
 */
export function withoutTypePrefix(key: string): string {
  const bar = key.indexOf("|");
  if (bar === -1) return key;
  const [prefix, keyPart] = [key.slice(0, bar), key.slice(bar + 1)];
  const colon = prefix.indexOf(":");
  if (colon === -1) return key;
  const type = prefix.slice(0, colon).toLowerCase();
  return type === "preview" || type === "project" ? keyPart : `${prefix.slice(colon + 1)}|${keyPart}`;
}

/** The deployment name a deploy key carries (`prod:<name>|<secret>`), or undefined. */
export function deploymentNameOf(deployKey: string): string | undefined {
  return /^(?:[a-z]+:)?([^|:]+)\|/.exec(deployKey)?.[1] || undefined;
}

export class KeyRing {
  private readonly keys: Map<string, Set<DeploymentOp> | "all">;

  constructor(
    readonly deploymentName: string,
    deployKey: string,
    restrictedKeys: Record<string, readonly DeploymentOp[]> = {},
  ) {
    this.keys = new Map([[withoutTypePrefix(deployKey), "all"]]);
    for (const [key, ops] of Object.entries(restrictedKeys))
      this.keys.set(withoutTypePrefix(key), new Set(ops));
  }

  /** The caller's identity from its `Authorization` header. */
  identityOf(authorization: string | undefined): Identity {
    if (authorization === undefined) return { kind: "unknown" };
    if (!/^convex /i.test(authorization))
      // A bearer token is checked as a user's JWT; none of ours is one.
      throw new HttpError(401, "InvalidAuthHeader", "Could not parse as a user identity token");
    const ops = this.keys.get(withoutTypePrefix(authorization.slice(7).trim()));
    // check_key: an unknown key (or access token, NullAccessTokenAuth) is "unauthenticated" → 401 BadAdminKey.
    if (ops === undefined)
      throw new HttpError(401, "BadAdminKey", "The provided admin key was invalid for this instance");
    return { kind: "admin", ops };
  }

  /** crates/roles/src/eval.rs `require_operation`. */
  requireOperation(identity: Identity, op: DeploymentOp): void {
    if (identity.kind !== "admin")
      throw new HttpError(
        403,
        "BadDeployKey",
        `The provided deploy key was invalid for deployment '${this.deploymentName}'. Double check that the environment this key was generated for matches the desired deployment.`,
      );
    if (identity.ops !== "all" && !identity.ops.has(op))
      throw new HttpError(
        403,
        "OperationNotPermitted",
        `You do not have permission to perform this operation (${OPERATION_ACTION[op]}).`,
      );
  }

  /** Whether the identity may run `op` (for checks a function reports as its own error, not as HTTP). */
  allows(identity: Identity, op: DeploymentOp): boolean {
    return identity.kind === "admin" && (identity.ops === "all" || identity.ops.has(op));
  }
}
