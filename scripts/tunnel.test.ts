import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  CloudflaredNotFound,
  EXIT_MISSING_BINARY,
  EXIT_MISSING_TOKEN,
  installInstructions,
  npmPackageBin,
  resolveCloudflared,
  tunnelArgs,
} from "./tunnel.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TOKEN = "eyJhIjoiZmFrZS1hY2NvdW50IiwidCI6ImZha2UtdHVubmVsIiwicyI6InNlY3JldCJ9";

describe("resolveCloudflared", () => {
  const files =
    (...present: string[]) =>
    (file: string) =>
      present.includes(file);

  it("prefers CLOUDFLARED_BIN, then the PATH, then the npm package", () => {
    const packageBin = "/app/node_modules/cloudflared/bin/cloudflared";
    const all = files("/opt/cf/cloudflared", "/usr/bin/cloudflared", packageBin);
    const env = { CLOUDFLARED_BIN: "/opt/cf/cloudflared", PATH: "/usr/local/bin:/usr/bin" };
    expect(resolveCloudflared({ env, exists: all, packageBin, platform: "linux" })).toEqual({
      bin: "/opt/cf/cloudflared",
      source: "CLOUDFLARED_BIN",
    });
    expect(
      resolveCloudflared({ env: { PATH: env.PATH }, exists: all, packageBin, platform: "linux" }),
    ).toEqual({
      bin: "/usr/bin/cloudflared",
      source: "PATH",
    });
    expect(
      resolveCloudflared({ env: { PATH: "/nowhere" }, exists: all, packageBin, platform: "linux" }),
    ).toEqual({
      bin: packageBin,
      source: "npm",
    });
  });

  it("finds cloudflared.exe on a Windows PATH", () => {
    const found = resolveCloudflared({
      env: { Path: "C:\\Windows;C:\\Program Files (x86)\\cloudflared" },
      exists: files("C:\\Program Files (x86)\\cloudflared\\cloudflared.exe"),
      platform: "win32",
    });
    expect(found.bin).toBe("C:\\Program Files (x86)\\cloudflared\\cloudflared.exe");
  });

  it("says how to install it when there is none", () => {
    const error = (() => {
      try {
        resolveCloudflared({ env: { PATH: "/nowhere" }, exists: () => false, platform: "win32" });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(CloudflaredNotFound);
    expect((error as Error).message).toMatch(/winget install --id Cloudflare\.cloudflared/);
    expect((error as Error).message).toMatch(/CLOUDFLARED_BIN/);
  });

  it("names a CLOUDFLARED_BIN that points nowhere instead of silently falling back", () => {
    expect(() =>
      resolveCloudflared({
        env: { CLOUDFLARED_BIN: "/missing/cloudflared", PATH: "/usr/bin" },
        exists: () => false,
      }),
    ).toThrow(/CLOUDFLARED_BIN is set to \/missing\/cloudflared/);
  });

  it("has instructions for every platform", () => {
    expect(installInstructions("darwin")).toMatch(/brew install cloudflared/);
    expect(installInstructions("linux")).toMatch(/releases/);
  });
});

describe("tunnelArgs", () => {
  it("runs the token tunnel without auto-update and never carries a token", () => {
    expect(tunnelArgs([])).toEqual(["tunnel", "--no-autoupdate", "run"]);
    expect(tunnelArgs(["--protocol", "http2"])).toEqual([
      "tunnel",
      "--no-autoupdate",
      "--protocol",
      "http2",
      "run",
    ]);
    expect(() => tunnelArgs(["--token", TOKEN])).toThrow(/TUNNEL_TOKEN/);
    expect(() => tunnelArgs([`--token=${TOKEN}`])).toThrow(/TUNNEL_TOKEN/);
  });
});

/** A stand-in cloudflared: logs like the real one, records its argv and whether it got the token, and either
 *  stays connected until signalled or fails at once. */
function fakeCloudflared(dir: string): string {
  const file = path.join(dir, "cloudflared");
  writeFileSync(
    file,
    `#!/bin/sh
printf '%s\\n' "$*" > "$FAKE_RECORD.args"
printf '%s' "$TUNNEL_TOKEN" > "$FAKE_RECORD.token"
if [ "$FAKE_MODE" = "failed" ]; then
  echo "2026-11-28T20:00:00Z ERR Provided Tunnel token is not valid." >&2
  exit 1
fi
trap 'echo "2026-11-28T20:00:09Z INF Unregistered tunnel connection connIndex=0 event=0 ip=198.41.200.13" >&2; echo stopped > "$FAKE_RECORD.stopped"; exit 0' INT TERM
echo "2026-11-28T20:00:00Z INF Starting tunnel tunnelID=5f3e2d1c-0b9a-4c8d-9e7f-6a5b4c3d2e1f" >&2
echo "2026-11-28T20:00:01Z INF Registered tunnel connection connIndex=0 connection=2b1f1b8e-7d2c-4a8b-9f0e-1c2d3e4f5a6b event=0 ip=198.41.200.13 location=fra08 protocol=quic" >&2
while true; do sleep 0.1; done
`,
  );
  chmodSync(file, 0o755);
  return file;
}

interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runScript(
  env: Record<string, string>,
  untilOutput?: RegExp,
  signal?: NodeJS.Signals,
): Promise<ScriptRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts/tunnel.ts")], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", TUNNEL_ENV_FILE: path.join(ROOT, ".env.does-not-exist"), ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
      if (untilOutput && signal && untilOutput.test(stdout)) {
        untilOutput = undefined;
        child.kill(signal);
      }
    });
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const guard = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("exit", (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
  });
}

describe.skipIf(process.platform === "win32")("npm run tunnel with a stand-in cloudflared", () => {
  it("reports the connection, passes the token only through the environment, and stops cleanly on SIGTERM", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "fake-cloudflared-"));
    const record = path.join(dir, "record");
    const run = await runScript(
      {
        CLOUDFLARED_BIN: fakeCloudflared(dir),
        TUNNEL_TOKEN: TOKEN,
        FAKE_RECORD: record,
        FAKE_MODE: "connected",
      },
      /connected: connection 0 at fra08/,
      "SIGTERM",
    );
    expect(run.stdout).toMatch(/connected: connection 0 at fra08 is registered/);
    expect(run.code).toBe(0);
    expect(readFileSync(`${record}.args`, "utf8").trim()).toBe("tunnel --no-autoupdate run");
    expect(readFileSync(`${record}.token`, "utf8")).toBe(TOKEN);
    expect(readFileSync(`${record}.stopped`, "utf8").trim()).toBe("stopped");
    expect(run.stdout + run.stderr).not.toContain(TOKEN);
  });

  it("exits non-zero and shows cloudflared's error when cloudflared fails", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "fake-cloudflared-"));
    const run = await runScript({
      CLOUDFLARED_BIN: fakeCloudflared(dir),
      TUNNEL_TOKEN: TOKEN,
      FAKE_RECORD: path.join(dir, "record"),
      FAKE_MODE: "failed",
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/token is not valid/);
    expect(run.stderr).toMatch(/cloudflared exited with code 1/);
  });

  // Where `npx cloudflared bin install` has put a binary, the npm fallback finds it: nothing is missing then.
  it.skipIf(existsSync(npmPackageBin() ?? ""))(
    "explains how to install cloudflared when the binary is missing",
    async () => {
      const run = await runScript({ TUNNEL_TOKEN: TOKEN, PATH: "/nonexistent-dir" });
      expect(run.code).toBe(EXIT_MISSING_BINARY);
      expect(run.stderr).toMatch(/cloudflared was not found/);
      expect(run.stderr).toMatch(/npx cloudflared bin install/);
    },
  );

  it("refuses to start without TUNNEL_TOKEN", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "fake-cloudflared-"));
    const run = await runScript({ CLOUDFLARED_BIN: fakeCloudflared(dir), FAKE_RECORD: path.join(dir, "r") });
    expect(run.code).toBe(EXIT_MISSING_TOKEN);
    expect(run.stderr).toMatch(/TUNNEL_TOKEN is not set/);
  });
});
