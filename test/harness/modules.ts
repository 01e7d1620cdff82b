/**
 * Builds what convex-test needs to host a Convex app outside vitest: the modules map of the app's functions
 * (the files of convex/, as `import.meta.glob` would list them) and the components its convex.config.ts uses,
 * each with the schema and modules of its compiled `dist/component`.
 */
import { readFile, readdir } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { GenericSchema, SchemaDefinition } from "convex/server";

export type ModuleMap = Record<string, () => Promise<unknown>>;

export interface ComponentModules {
  name: string;
  schema: SchemaDefinition<GenericSchema, boolean>;
  modules: ModuleMap;
}

const SOURCE_FILE = /\.(ts|js|mts|mjs)$/;
// As Convex's bundler decides entry points: a basename with more than one dot (tests, `*.d.ts`, auth.config,
// convex.config, test kits) or starting with "." or "#" is not a function module.
export function isFunctionModule(basename: string): boolean {
  return SOURCE_FILE.test(basename) && (basename.match(/\./g) ?? []).length === 1 && !/^[.#]/.test(basename);
}

/**
 * Loads every module of the map once. Call before serving: a module first imported inside a transaction
 * can fail under a module runner that uses timers (vitest's), which Convex forbids in queries and mutations.
 */
export async function preload(map: ModuleMap): Promise<void> {
  for (const load of Object.values(map)) await load();
}

/** Every function module under `dir`, keyed `./relative/path.ext` like `import.meta.glob("./**\/*.*s")`. */
export async function moduleMap(dir: string): Promise<ModuleMap> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const map: ModuleMap = {};
  for (const entry of entries) {
    if (!entry.isFile() || !isFunctionModule(entry.name)) continue;
    const file = path.join(entry.parentPath, entry.name);
    const key = "./" + path.relative(dir, file).split(path.sep).join("/");
    let loaded: Promise<unknown> | undefined;
    map[key] = () => (loaded ??= import(pathToFileURL(file).href));
  }
  if (!Object.keys(map).some((key) => key.includes("_generated"))) {
    throw new Error(`${dir}: no _generated/ directory; run the Convex codegen first`);
  }
  return map;
}

/** A component use in convex.config.ts: `import x from "<package>/convex.config"` + `app.use(x, { name })`. */
interface ComponentUse {
  specifier: string;
  name?: string;
}

/** Reads convex.config.ts as text: importing it needs the Convex bundler (`componentDefinitionPath`). */
export function parseComponentUses(configSource: string, file = "convex.config.ts"): ComponentUse[] {
  const imports = new Map<string, string>();
  for (const match of configSource.matchAll(
    /import\s+(\w+)\s+from\s+["']([^"']+\/convex\.config(?:\.js)?)["']/g,
  )) {
    imports.set(match[1]!, match[2]!);
  }
  const uses: ComponentUse[] = [];
  for (const match of configSource.matchAll(
    /\.use\(\s*(\w+)\s*(?:,\s*\{[^}]*name:\s*["']([^"']+)["'][^}]*\})?/g,
  )) {
    const specifier = imports.get(match[1]!);
    if (!specifier)
      throw new Error(`${file}: app.use(${match[1]}) does not use an imported component definition`);
    uses.push(match[2] ? { specifier, name: match[2] } : { specifier });
  }
  return uses;
}

/** The components of the app in `convexDir` (and theirs, as `parent/child`), from their compiled `dist/component`. */
export async function appComponents(convexDir: string): Promise<ComponentModules[]> {
  const configFile = path.join(convexDir, "convex.config.ts");
  const source = await readFile(configFile, "utf8").catch(() => null);
  return source === null ? [] : componentsUsedBy(configFile, source, "");
}

async function componentsUsedBy(
  configFile: string,
  source: string,
  parentPath: string,
): Promise<ComponentModules[]> {
  const require = createRequire(configFile);
  const components: ComponentModules[] = [];
  for (const use of parseComponentUses(source, configFile)) {
    const definitionFile = require.resolve(use.specifier);
    const definitionSource = await readFile(definitionFile, "utf8");
    const name = use.name ?? /defineComponent\(\s*["']([^"']+)["']/.exec(definitionSource)?.[1];
    if (!name) throw new Error(`${definitionFile}: no defineComponent("<name>") found`);
    const componentDir = path.dirname(definitionFile);
    const schemaModule = (await import(pathToFileURL(path.join(componentDir, "schema.js")).href)) as {
      default: SchemaDefinition<GenericSchema, boolean>;
    };
    const componentPath = parentPath ? `${parentPath}/${name}` : name;
    components.push({
      name: componentPath,
      schema: schemaModule.default,
      modules: await moduleMap(componentDir),
    });
    components.push(...(await componentsUsedBy(definitionFile, definitionSource, componentPath)));
  }
  return components;
}
