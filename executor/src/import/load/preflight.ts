/**
 * The target preflight: can a sync into this target work, and if not, what to change? One line per check
 * (ok / warn / fail), from `npm run import -- --check` and from the executor at start-up (shown on the
 * dashboard). The checks themselves live with each dialect (mssql/preflight.ts, postgres/preflight.ts).
 * Lines never carry credentials: they go to the control plane.
 */
import type { PreflightCheck } from "../../../../convex/contract/executor.js";
import type { TargetSpec } from "./target.js";

export type { PreflightCheck };

/** How long each connection attempt and query of a preflight may take. */
export const PREFLIGHT_TIMEOUT_MS = 15_000;

/** `schema`: the target schema of the import to check for; without it, what any app's import needs. */
export async function preflightTarget(spec: TargetSpec, schema?: string): Promise<PreflightCheck[]> {
  switch (spec.kind) {
    case "duckdb": {
      const { duckdbPreflight } = await import("./duckdb/preflight.js");
      return duckdbPreflight(spec.file);
    }
    case "mssql": {
      const { mssqlPreflight } = await import("./mssql/preflight.js");
      return mssqlPreflight(spec.connection, schema);
    }
    case "postgres": {
      const { postgresPreflight } = await import("./postgres/preflight.js");
      return postgresPreflight({ kind: "postgres", connectionString: spec.connectionString }, schema);
    }
    case "pglite": {
      const { postgresPreflight } = await import("./postgres/preflight.js");
      return postgresPreflight({ kind: "pglite", dataDir: spec.dataDir }, schema);
    }
    default:
      return [
        {
          check: "target",
          status: "ok",
          detail: `${(spec as { kind: string }).kind}: an embedded warehouse file; nothing to check before a sync`,
        },
      ];
  }
}

/** 0 when every check is ok or warn, 1 when any failed. */
export function preflightExitCode(checks: readonly PreflightCheck[]): 0 | 1 {
  return checks.some((c) => c.status === "fail") ? 1 : 0;
}

export function formatPreflight(checks: readonly PreflightCheck[]): string {
  const width = Math.max(...checks.map((c) => c.check.length), 5);
  const lines = checks.map((c) => `  ${c.status.padEnd(4)}  ${c.check.padEnd(width)}  ${c.detail}`);
  const failed = checks.filter((c) => c.status === "fail").length;
  const warned = checks.filter((c) => c.status === "warn").length;
  const verdict =
    failed > 0
      ? `${failed} check${failed === 1 ? "" : "s"} failed: a sync cannot work until ${failed === 1 ? "it is" : "they are"} fixed.`
      : warned > 0
        ? `A sync can work; ${warned} warning${warned === 1 ? "" : "s"} above.`
        : "A sync can work.";
  return `${lines.join("\n")}\n${verdict}`;
}

/** A line, its detail kept within the contract's length. */
export function checkLine(check: string, status: PreflightCheck["status"], detail: string): PreflightCheck {
  return { check, status, detail: detail.length > 500 ? `${detail.slice(0, 499)}…` : detail };
}

/**
 * The "incremental" warning of every dialect's preflight: rights an incremental run needs are missing, and the
 * statements an administrator runs to grant them. A warning: the preflight does not know the apps' sync modes.
 */
export function incrementalMissingLine(missing: readonly string[], fixes: readonly string[]): PreflightCheck {
  return checkLine(
    "incremental",
    "warn",
    `missing ${missing.join("; ")}: incremental runs (sync mode incremental or auto) would fail; ` +
      `as an administrator: ${fixes.join("; ")}`,
  );
}

/** A driver's or server's message with the given secrets (passwords, user name) taken out. */
export function redactMessage(message: string, hide: readonly string[]): string {
  let text = message;
  for (const secret of hide.filter((s) => s.length > 0).sort((a, b) => b.length - a.length))
    text = text.split(secret).join("***");
  return text;
}
