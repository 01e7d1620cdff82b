/**
 * Regenerates convex/_generated without a Convex deployment.
 *
 *   npx tsx scripts/codegen.ts           write convex/_generated
 *   npx tsx scripts/codegen.ts --check   exit 1 (and leave the files untouched) if they are not current
 *
 * `convex codegen` needs a deployment only for two calls: `POST /api/get_config_hashes` and
 * `POST /api/deploy2/start_push`. We point the CLI (hidden `--url` / `--admin-key` flags) at a local stub that
 * answers both. The push answer lists the app's child components, read from the `defineComponent("name")`
 * call of each component's convex.config.js, so api.d.ts gets `components.<name>` typed.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import type { AddressInfo } from "node:net";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const generatedDir = path.join(repoRoot, "convex", "_generated");
const convexCli = path.join(repoRoot, "node_modules", "convex", "bin", "main.js");

interface StartPushRequest {
  appDefinition: { dependencies: string[] };
}

function decodeBody(raw: Buffer, encoding: string | undefined): Buffer {
  if (encoding === "gzip") return zlib.gunzipSync(raw);
  if (encoding === "br") return zlib.brotliDecompressSync(raw);
  if (encoding === "deflate") return zlib.inflateSync(raw);
  return raw;
}

/** The name a component gives itself in its convex.config.js: `defineComponent("crons")`. */
export function componentName(definitionSource: string, where: string): string {
  const match = /defineComponent\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']/.exec(definitionSource);
  if (!match?.[1]) throw new Error(`${where}: no defineComponent("<name>") call found`);
  return match[1];
}

function childComponents(projectRoot: string, request: StartPushRequest): { name: string; path: string }[] {
  return request.appDefinition.dependencies.map((definitionPath) => {
    const file = path.resolve(projectRoot, "convex", definitionPath, "convex.config.js");
    return { name: componentName(fs.readFileSync(file, "utf8"), file), path: definitionPath };
  });
}

/** The smallest start_push answer the CLI's codegen accepts (see convex/src/cli/lib/deployApi/startPush.ts). */
export function startPushResponse(children: { name: string; path: string }[]): unknown {
  const udfConfig = { serverVersion: "1.49.0", importPhaseRngSeed: null, importPhaseUnixTimestamp: null };
  const rootDefinition = {
    path: "",
    definitionType: { type: "app" },
    childComponents: children.map((c) => ({ name: c.name, path: c.path, env: null })),
    httpMounts: {},
    exports: { type: "branch", branch: [] },
  };
  return {
    environmentVariables: {},
    externalDepsId: null,
    componentDefinitionPackages: {},
    appAuth: [],
    analysis: { "": { definition: rootDefinition, schema: null, functions: {}, udfConfig } },
    app: {
      definitionPath: "",
      componentPath: "",
      args: {},
      childComponents: {},
      httpRoutes: { httpModuleRoutes: null, mounts: [] },
      exports: {},
    },
    schemaChange: { allocatedComponentIds: null, schemaIds: null },
  };
}

function startStub(projectRoot: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      try {
        if (req.url === "/api/get_config_hashes") {
          return reply(200, { config: { functions: "convex/" }, moduleHashes: [], nodeDependencies: [] });
        }
        if (req.url === "/api/deploy2/start_push") {
          const body = decodeBody(
            Buffer.concat(chunks),
            req.headers["content-encoding"] as string | undefined,
          );
          const request = JSON.parse(body.toString("utf8")) as StartPushRequest;
          return reply(200, startPushResponse(childComponents(projectRoot, request)));
        }
        reply(404, { code: "NotFound", message: `codegen stub does not serve ${req.url}` });
      } catch (error) {
        reply(500, { code: "StubError", message: String(error) });
      }
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function runCli(projectRoot: string, port: number): Promise<void> {
  const args = [
    convexCli,
    "codegen",
    "--url",
    `http://127.0.0.1:${port}`,
    "--admin-key",
    "offline-codegen",
    "--typecheck",
    "disable",
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: projectRoot, stdio: ["ignore", "ignore", "inherit"] });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`convex codegen exited ${code}`))));
  });
}

function readTree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  if (!fs.existsSync(dir)) return files;
  for (const name of fs.readdirSync(dir).sort())
    files.set(name, fs.readFileSync(path.join(dir, name), "utf8"));
  return files;
}

/** Runs `convex codegen` for the project at `projectRoot` (writes its convex/_generated). */
export async function regenerate(projectRoot: string = repoRoot): Promise<void> {
  const server = await startStub(projectRoot);
  try {
    await runCli(projectRoot, (server.address() as AddressInfo).port);
  } finally {
    server.close();
  }
}

/**
 * Regenerates into a scratch copy of the project (convex/, package.json, node_modules linked) and returns the
 * generated files that differ from the committed ones. Leaves the working tree alone.
 */
export async function staleGeneratedFiles(
  /** Test hook: change the scratch copy's convex/ directory before generating. */
  changeScratch?: (convexDir: string) => void,
): Promise<string[]> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "codegen-check-"));
  try {
    fs.cpSync(path.join(repoRoot, "convex"), path.join(scratch, "convex"), { recursive: true });
    for (const file of ["package.json", "tsconfig.json", "convex.json"])
      if (fs.existsSync(path.join(repoRoot, file)))
        fs.copyFileSync(path.join(repoRoot, file), path.join(scratch, file));
    fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(scratch, "node_modules"), "junction");
    changeScratch?.(path.join(scratch, "convex"));
    await regenerate(scratch);
    const before = readTree(generatedDir);
    const after = readTree(path.join(scratch, "convex", "_generated"));
    const names = new Set([...before.keys(), ...after.keys()]);
    return [...names].filter((n) => before.get(n) !== after.get(n));
  } finally {
    // Remove the link itself first so nothing can follow it into the real node_modules.
    fs.rmSync(path.join(scratch, "node_modules"), { force: true });
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.argv.includes("--check")) {
    const stale = await staleGeneratedFiles();
    if (stale.length > 0) {
      console.error(`convex/_generated is out of date (${stale.join(", ")}): run npm run codegen`);
      process.exit(1);
    }
    console.log("convex/_generated is current");
    return;
  }
  await regenerate();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
