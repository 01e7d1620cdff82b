/**
 * `npm run tunnel`: runs `cloudflared tunnel --no-autoupdate run` for a dashboard-managed (token) Cloudflare
 * Tunnel that forwards the executor's public hostname to 127.0.0.1:<EXECUTOR_PORT>.
 *
 * - The token comes from the environment (TUNNEL_TOKEN, or a `.env` beside package.json, or the file named by
 *   TUNNEL_ENV_FILE) and is handed to cloudflared through its environment, never on the command line (where
 *   Task Manager and `ps` show it).
 * - cloudflared is found through CLOUDFLARED_BIN, then the PATH, then the `cloudflared` npm package's download
 *   location; when none exists it says how to install one (exit code 3).
 * - It reports each connection cloudflared registers, and exits non-zero when cloudflared exits by itself.
 *   SIGINT/SIGTERM stop cloudflared gracefully and exit 0.
 *
 *   TUNNEL_TOKEN=eyJ... npm run tunnel
 *   npm run tunnel -- --protocol http2      (extra cloudflared tunnel flags; --token is refused)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseEnv } from "node:util";

export const EXIT_MISSING_TOKEN = 2;
export const EXIT_MISSING_BINARY = 3;
export const EXIT_BAD_ARGS = 4;

/** "Registered tunnel connection connIndex=0 connection=<uuid> event=0 ip=198.41.200.13 location=fra08 protocol=quic" */
const CONNECTED = /Registered tunnel connection connIndex=(\d+)/;
const LOCATION = /location=([A-Za-z0-9]+)/;
const DISCONNECTED = /Unregistered tunnel connection connIndex=(\d+)/;
const ERROR_LINE = /\b(ERR|FTL|error)\b/;

export class CloudflaredNotFound extends Error {
  constructor(reason: string, platform: NodeJS.Platform = process.platform) {
    super(`${reason}\n\n${installInstructions(platform)}`);
    this.name = "CloudflaredNotFound";
  }
}

export function installInstructions(platform: NodeJS.Platform): string {
  const common = [
    "Then either put it on the PATH, or set CLOUDFLARED_BIN to the executable's full path.",
    "Or let the npm package download it into node_modules/cloudflared/bin: npx cloudflared bin install",
  ];
  const install =
    platform === "win32"
      ? [
          "Install cloudflared on Windows (an administrator PowerShell):",
          "  winget install --id Cloudflare.cloudflared",
          "or download cloudflared-windows-amd64.msi from https://github.com/cloudflare/cloudflared/releases/latest",
          "(the MSI installs to C:\\Program Files (x86)\\cloudflared\\cloudflared.exe).",
        ]
      : platform === "darwin"
        ? ["Install cloudflared: brew install cloudflared"]
        : [
            "Install cloudflared: download cloudflared-linux-amd64 (or the .deb/.rpm) from",
            "https://github.com/cloudflare/cloudflared/releases/latest, or use Cloudflare's package repository.",
          ];
  return [...install, ...common].join("\n");
}

export interface ResolveOptions {
  env: Record<string, string | undefined>;
  platform?: NodeJS.Platform;
  exists?: (file: string) => boolean;
  /** Where the npm package puts the binary; undefined when the package is not installed. */
  packageBin?: string | undefined;
}

/** The cloudflared executable to run: CLOUDFLARED_BIN, else the PATH, else the npm package's binary. */
export function resolveCloudflared(options: ResolveOptions): {
  bin: string;
  source: "CLOUDFLARED_BIN" | "PATH" | "npm";
} {
  const platform = options.platform ?? process.platform;
  const exists = options.exists ?? existsSync;
  const explicit = options.env.CLOUDFLARED_BIN;
  if (explicit) {
    if (exists(explicit)) return { bin: explicit, source: "CLOUDFLARED_BIN" };
    throw new CloudflaredNotFound(`CLOUDFLARED_BIN is set to ${explicit}, but no file is there.`, platform);
  }
  const pathApi = platform === "win32" ? path.win32 : path.posix;
  const names = platform === "win32" ? ["cloudflared.exe", "cloudflared"] : ["cloudflared"];
  const pathValue = options.env.PATH ?? options.env.Path ?? "";
  for (const dir of pathValue.split(pathApi.delimiter).filter(Boolean)) {
    for (const name of names) {
      const candidate = pathApi.join(dir, name);
      if (exists(candidate)) return { bin: candidate, source: "PATH" };
    }
  }
  if (options.packageBin && exists(options.packageBin)) return { bin: options.packageBin, source: "npm" };
  throw new CloudflaredNotFound("cloudflared was not found (CLOUDFLARED_BIN, PATH, npm package).", platform);
}

/** Where the `cloudflared` npm package downloads its binary (node_modules/cloudflared/bin/cloudflared[.exe]). */
export function npmPackageBin(platform: NodeJS.Platform = process.platform): string | undefined {
  try {
    const main = createRequire(import.meta.url).resolve("cloudflared");
    return path.join(
      path.dirname(main),
      "..",
      "bin",
      platform === "win32" ? "cloudflared.exe" : "cloudflared",
    );
  } catch {
    return undefined;
  }
}

/** cloudflared's arguments: no token here, ever (it travels in the TUNNEL_TOKEN environment variable). */
export function tunnelArgs(extra: readonly string[]): string[] {
  const bad = extra.find((a) => a === "--token" || a.startsWith("--token=") || a === "--cred-file");
  if (bad) throw new Error(`${bad} is not allowed: set TUNNEL_TOKEN in the environment instead`);
  return ["tunnel", "--no-autoupdate", ...extra, "run"];
}

export interface TunnelEvents {
  connected(connection: { index: number; location?: string }): void;
  disconnected(index: number): void;
  line(line: string, isError: boolean): void;
}

export interface RunningTunnel {
  child: ChildProcess;
  /** Resolves with cloudflared's exit code (a signal counts as 1), or rejects if it could not start. */
  exited: Promise<number>;
  stop(): void;
}

export function startTunnel(
  bin: string,
  token: string,
  extraArgs: readonly string[],
  events: Partial<TunnelEvents>,
  env: Record<string, string | undefined> = process.env,
): RunningTunnel {
  const child = spawn(bin, tunnelArgs(extraArgs), {
    env: { ...env, TUNNEL_TOKEN: token },
    stdio: ["ignore", "pipe", "pipe"],
    windowsHide: true,
  });
  const onOutput = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split(/\r?\n/)) {
      if (!line.trim()) continue;
      const connected = CONNECTED.exec(line);
      if (connected) {
        const location = LOCATION.exec(line)?.[1];
        events.connected?.({ index: Number(connected[1]), ...(location ? { location } : {}) });
      }
      const disconnected = DISCONNECTED.exec(line);
      if (disconnected) events.disconnected?.(Number(disconnected[1]));
      events.line?.(line, ERROR_LINE.test(line));
    }
  };
  child.stdout!.on("data", onOutput);
  child.stderr!.on("data", onOutput);
  const exited = new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => resolve(code ?? 1));
  });
  return { child, exited, stop: () => child.kill("SIGINT") };
}

function readDotEnv(file: string): Record<string, string> {
  return existsSync(file) ? (parseEnv(readFileSync(file, "utf8")) as Record<string, string>) : {};
}

/** The script: returns the process exit code. */
export async function main(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): Promise<number> {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const merged = { ...readDotEnv(env.TUNNEL_ENV_FILE ?? path.join(root, ".env")), ...env };
  const say = (message: string) => process.stdout.write(`[tunnel] ${message}\n`);
  const complain = (message: string) => process.stderr.write(`[tunnel] ${message}\n`);
  const verbose = argv.includes("--verbose");
  const extra = argv.filter((a) => a !== "--verbose");

  const token = merged.TUNNEL_TOKEN;
  if (!token) {
    complain(
      "TUNNEL_TOKEN is not set. In the Cloudflare dashboard (Zero Trust → Networks → Tunnels → your tunnel →\n" +
        "Configure), copy the token from the install command (the long value after --token) and put\n" +
        "TUNNEL_TOKEN=<token> in the environment or in .env. See docs/executor.md.",
    );
    return EXIT_MISSING_TOKEN;
  }
  let bin: string;
  try {
    const found = resolveCloudflared({ env: merged, packageBin: npmPackageBin() });
    bin = found.bin;
    say(`using ${bin} (from ${found.source})`);
  } catch (error) {
    if (error instanceof CloudflaredNotFound) {
      complain(error.message);
      return EXIT_MISSING_BINARY;
    }
    throw error;
  }
  let tunnel: RunningTunnel;
  try {
    tunnel = startTunnel(
      bin,
      token,
      extra,
      {
        connected: ({ index, location }) =>
          say(
            `connected: connection ${index}${location ? ` at ${location}` : ""} is registered with Cloudflare`,
          ),
        disconnected: (index) => complain(`connection ${index} closed`),
        line: (line, isError) => {
          if (verbose || isError) (isError ? complain : say)(`cloudflared: ${line}`);
        },
      },
      merged,
    );
  } catch (error) {
    complain(error instanceof Error ? error.message : String(error));
    return EXIT_BAD_ARGS;
  }
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    say("stopping cloudflared");
    tunnel.stop();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    const code = await tunnel.exited;
    if (stopping) return 0;
    complain(`cloudflared exited with code ${code}`);
    return code === 0 ? 1 : code;
  } catch (error) {
    complain(`cloudflared could not be started: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_MISSING_BINARY;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2), process.env).then((code) => process.exit(code));
}
