/**
 * Test support: the real legacy export ZIPs in /work/shared/samples (read in place, never copied into the
 * repository), loaded whole with yauzl. They are small (under 100 KB inflated).
 */
import path from "node:path";
import yauzl from "yauzl";

const SAMPLES_DIR = process.env.CONVEX_SAMPLES_DIR ?? "/work/shared/samples";

export const LEGACY_SAMPLE_ZIPS = {
  anoukDev: path.join(SAMPLES_DIR, "legacy-anouk-app", "backup-anouk-app-dev.zip"),
  anoukBackup: path.join(SAMPLES_DIR, "legacy-anouk-app", "convex-backup.zip"),
  cronJobsDemo: path.join(SAMPLES_DIR, "legacy-empty", "cron-jobs-demo.zip"),
} as const;

/** Every file entry of a ZIP as text, by entry name. */
export async function readZipTexts(zipPath: string): Promise<Map<string, string>> {
  const zip = await yauzl.openPromise(zipPath, { lazyEntries: true });
  const texts = new Map<string, string>();
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on("error", reject);
      zip.on("end", resolve);
      zip.on("entry", (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith("/")) return zip.readEntry();
        zip.openReadStream(entry, (err, stream) => {
          if (err) return reject(err);
          const chunks: Buffer[] = [];
          stream.on("data", (chunk: Buffer) => chunks.push(chunk));
          stream.on("error", reject);
          stream.on("end", () => {
            texts.set(entry.fileName, Buffer.concat(chunks).toString("utf8"));
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
  return texts;
}

/** Non-empty lines of a JSONL text. */
export function jsonlLines(text: string): string[] {
  return text.split("\n").filter((line) => line.trim() !== "");
}

/** Table directory names of the root component that have a generated_schema.jsonl. */
export function legacyTables(texts: ReadonlyMap<string, string>): string[] {
  return [...texts.keys()]
    .filter((name) => /^[^/]+\/generated_schema\.jsonl$/.test(name))
    .map((name) => name.slice(0, name.indexOf("/")))
    .sort();
}
