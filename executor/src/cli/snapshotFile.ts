/** What is wrong with a snapshot path before anything is opened: missing, a directory, unreadable, empty. */
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";

export async function snapshotFileProblem(file: string): Promise<string | null> {
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => error);
  if (info instanceof Error) {
    if (info.code === "ENOENT") return `${file} does not exist`;
    return `${file} cannot be read (${info.code ?? info.message})`;
  }
  if (info.isDirectory()) return `${file} is a directory, not a snapshot ZIP file`;
  if (!info.isFile()) return `${file} is not a file`;
  if (info.size === 0) return `${file} is empty (0 bytes), not a snapshot ZIP file`;
  const readable = await access(file, constants.R_OK).then(
    () => true,
    () => false,
  );
  return readable ? null : `${file} cannot be read (no permission)`;
}
