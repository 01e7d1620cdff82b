/** Where an embedded warehouse (a DuckDB file, a PGlite directory) would be created, and whether it can be. */
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import path from "node:path";

/** `dir` itself when it exists, else its nearest existing ancestor (at worst the file system's root). */
export async function nearestExistingDirectory(dir: string): Promise<string> {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    try {
      await access(current);
      return current;
    } catch {
      if (path.dirname(current) === current) return current;
    }
  }
}

/** Throws (EACCES, naming the directory) unless this user can create `dir` or write inside it. */
export async function assertCanCreateIn(dir: string): Promise<void> {
  await access(await nearestExistingDirectory(dir), constants.W_OK);
}
