/** The executor's version: the root package.json's, read once. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

function readVersion(): string {
  try {
    const file = fileURLToPath(new URL("../../../package.json", import.meta.url));
    const parsed = JSON.parse(readFileSync(file, "utf8")) as { version?: unknown };
    return typeof parsed.version === "string" ? parsed.version : "0.0.0";
  } catch {
    return "0.0.0";
  }
}

export const EXECUTOR_VERSION = readVersion();
