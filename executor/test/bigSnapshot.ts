/**
 * Writes a synthetic Convex snapshot export (current "uniform" encoding, layout as in docs/reference/convex-export.md §1)
 * with one table `events` of `rows` documents: big enough that importing it takes a while, so a test can stop
 * the executor in the middle of an import. A minimal ZIP writer (deflate, no data descriptors).
 */
import { writeFileSync } from "node:fs";
import { crc32, deflateRawSync } from "node:zlib";

const BASE32 = "0123456789abcdefghjkmnpqrstvwxyz";

function fakeId(n: number): string {
  let text = "";
  for (let i = 0, x = n * 2654435761 + 12345; i < 32; i++, x = Math.floor(x / 7) + i * 31)
    text += BASE32[x % 32];
  return text;
}

export function writeBigSnapshot(file: string, rows: number): void {
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    lines.push(
      JSON.stringify({
        _creationTime: 1745162191687.5 + i,
        _id: `${fakeId(i)}${i.toString(32).padStart(4, "0")}`,
        kind: i % 3 === 0 ? "click" : "view",
        label: `event number ${i} with some text to make the row a little wider`,
      }).replace(/}$/, `,"seq":${i}}`),
    );
  }
  writeZip(file, [
    ["README.md", "Welcome to your Convex snapshot export!\n"],
    ["_tables/documents.jsonl", '{"name":"events","id":10001}\n'],
    ["events/documents.jsonl", lines.join("\n") + "\n"],
    ["events/generated_schema.jsonl", '"uniform"\n'],
  ]);
}

function writeZip(file: string, entries: Array<[string, string]>): void {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of entries) {
    const data = Buffer.from(text, "utf8");
    const packed = deflateRawSync(data);
    const nameBytes = Buffer.from(name, "utf8");
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, packed);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + packed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  writeFileSync(file, Buffer.concat([...locals, directory, end]));
}
