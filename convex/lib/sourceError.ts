/**
 * How talking to a source Convex deployment can fail: a kind that says whether a later try may succeed and
 * which form field it concerns, and the permissions a restricted deploy key lacks. Never holds the key.
 */
export type SourceErrorKind =
  | "bad_url"
  | "unreachable"
  | "key_rejected"
  | "unsupported_key"
  | "missing_permission"
  | "not_found"
  | "export_in_progress"
  /** The change feed is refused for the plan (403 StreamingExportNotEnabled) or the cursor cannot be used. */
  | "feed_unavailable"
  | "server_error"
  | "bad_response";

const RETRYABLE: Record<SourceErrorKind, boolean> = {
  bad_url: false,
  unreachable: true,
  key_rejected: false,
  unsupported_key: false,
  missing_permission: false,
  not_found: false,
  export_in_progress: true,
  feed_unavailable: false,
  server_error: true,
  bad_response: false,
};

/** The app form field a failure is about. */
export function fieldOfKind(kind: SourceErrorKind): "deploymentUrl" | "deployKey" {
  return kind === "key_rejected" || kind === "unsupported_key" || kind === "missing_permission"
    ? "deployKey"
    : "deploymentUrl";
}

export class SourceDeploymentError extends Error {
  readonly retryable: boolean;
  constructor(
    readonly kind: SourceErrorKind,
    message: string,
    /** For `missing_permission`: the permissions the key lacks, as the Convex dashboard names them. */
    readonly missingPermissions: DeploymentPermission[] = [],
  ) {
    super(message);
    this.retryable = RETRYABLE[kind];
  }
}

/** What a restricted deploy key needs (keybroker's `DeploymentOp` names, as the dashboard lists them). */
export const REQUIRED_PERMISSIONS = ["ViewData", "ViewBackups", "CreateBackups", "DownloadBackups"] as const;
export type DeploymentPermission = (typeof REQUIRED_PERMISSIONS)[number];

/**
 * How the backend names an operation it refuses: "You do not have permission to perform this operation
 * (deployment:data:view)." (crates/roles/src/eval.rs `require_operation`, crates/roles/src/types.rs
 * `RoleStatementAction`). Older backends printed the operation's own name; both are recognised.
 */
const PERMISSION_OF_ACTION: Record<string, DeploymentPermission> = {
  "deployment:data:view": "ViewData",
  "deployment:backups:view": "ViewBackups",
  "deployment:backups:create": "CreateBackups",
  "deployment:backups:download": "DownloadBackups",
  ViewData: "ViewData",
  ViewBackups: "ViewBackups",
  CreateBackups: "CreateBackups",
  DownloadBackups: "DownloadBackups",
};

export function missingPermissionError(base: string, action: string, during: string): SourceDeploymentError {
  const permission = PERMISSION_OF_ACTION[action];
  const named = permission ?? action;
  return new SourceDeploymentError(
    "missing_permission",
    `the deploy key lacks the ${named} permission on ${base} (refused while ${during}). Give the key ` +
      `${REQUIRED_PERMISSIONS.join(", ")} (or use an unrestricted production deploy key).`,
    permission ? [permission] : [],
  );
}
