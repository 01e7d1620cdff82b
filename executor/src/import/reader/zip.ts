/**
 * Random-access ZIP reading with bounded memory.
 *
 * Why yauzl and not adm-zip: adm-zip inflates a whole entry into one Buffer (`getData()`), so a 2 GB
 * documents.jsonl would need 2 GB of RAM. yauzl reads the central directory (so ZIP data descriptors, which
 * Convex's streaming writer uses, are no problem), supports ZIP64, and inflates each entry as a stream.
 */
import path from "node:path";
import type { Readable } from "node:stream";
import yauzl from "yauzl";
import { SnapshotFormatError } from "../api.js";

export interface ZipEntryInfo {
  name: string;
  uncompressedSize: number;
  compressedSize: number;
}

export class ZipReader {
  private constructor(
    private readonly zip: yauzl.ZipFile,
    readonly fileName: string,
    readonly entries: ReadonlyMap<string, ZipEntryInfo & { raw: yauzl.Entry }>,
  ) {}

  static async open(zipPath: string): Promise<ZipReader> {
    const fileName = path.basename(zipPath);
    let zip: yauzl.ZipFile;
    try {
      zip = await yauzl.openPromise(zipPath, { lazyEntries: true, autoClose: false, strictFileNames: false });
    } catch (err) {
      throw new SnapshotFormatError(
        `not a readable ZIP archive (${(err as Error).message}); the file may be truncated or not a Convex snapshot`,
        fileName,
      );
    }
    const entries = new Map<string, ZipEntryInfo & { raw: yauzl.Entry }>();
    try {
      await new Promise<void>((resolve, reject) => {
        zip.on("entry", (entry: yauzl.Entry) => {
          if (!entry.fileName.endsWith("/")) {
            entries.set(entry.fileName, {
              name: entry.fileName,
              uncompressedSize: entry.uncompressedSize,
              compressedSize: entry.compressedSize,
              raw: entry,
            });
          }
          zip.readEntry();
        });
        zip.once("end", () => resolve());
        zip.once("error", reject);
        zip.readEntry();
      });
    } catch (err) {
      zip.close();
      throw new SnapshotFormatError(`corrupt ZIP directory (${(err as Error).message})`, fileName);
    }
    return new ZipReader(zip, fileName, entries);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The inflated bytes of one entry, as a stream. Errors name the entry. */
  async openStream(name: string): Promise<Readable> {
    const entry = this.entries.get(name);
    if (!entry) throw new SnapshotFormatError("entry not found in the archive", name);
    try {
      return await this.zip.openReadStreamPromise(entry.raw);
    } catch (err) {
      throw new SnapshotFormatError(`cannot read entry (${(err as Error).message})`, name);
    }
  }

  /** A small entry read whole (generated_schema.jsonl, _tables): refuses anything over `maxBytes`. */
  async readSmallEntry(name: string, maxBytes = 64 * 1024 * 1024): Promise<string> {
    const entry = this.entries.get(name);
    if (!entry) throw new SnapshotFormatError("entry not found in the archive", name);
    if (entry.uncompressedSize > maxBytes) {
      throw new SnapshotFormatError(
        `entry is ${entry.uncompressedSize} bytes, more than ${maxBytes} allowed`,
        name,
      );
    }
    const chunks: Buffer[] = [];
    const stream = await this.openStream(name);
    try {
      for await (const chunk of stream) chunks.push(chunk as Buffer);
    } catch (err) {
      throw new SnapshotFormatError(`cannot inflate entry (${(err as Error).message})`, name);
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  close(): void {
    this.zip.close();
  }
}
