/**
 * Synthetic snapshot ZIPs in the current ("uniform") encoding, with the mix of types a real app has:
 * strings, int64 counters, floats, booleans, nested objects, arrays, occasional bytes.
 */
import { stat } from "node:fs/promises";
import { fakeId, writeSnapshotZip } from "../../test/fixtures/snapshot-zip.js";

/** float64 in the uniform encoding always has a `.` or an exponent. */
const float = (n: number) => (Number.isInteger(n) ? `${n}.0` : String(n));

const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"];

export function eventLine(i: number): string {
  const w = WORDS[i % WORDS.length]!;
  const bytes = i % 50 === 0 ? `,"blob":{"$bytes":"${Buffer.from(`payload-${i}`).toString("base64")}"}` : "";
  return (
    `{"_creationTime":${1745162191687 + i}.9707,"_id":"${fakeId(i, 2)}","amount":${float((i % 1000) * 1.25 + 0.5)},` +
    `"count":${i % 100000},"kind":"${w}","message":"event ${i} of kind ${w} with some free text to make the line realistic",` +
    `"meta":{"source":"web","tags":["${w}","t${i % 7}"],"version":${i % 3}},"ok":${i % 2 === 0},` +
    `"userId":"${fakeId(i % 50000, 1)}"${bytes}}`
  );
}

export function userLine(i: number): string {
  return (
    `{"_creationTime":${1745000000000 + i}.5,"_id":"${fakeId(i, 1)}","email":"user${i}@example.com",` +
    `"name":"User ${i}","plan":"${i % 10 === 0 ? "pro" : "free"}","score":${float((i % 97) / 3)},"visits":${i % 1234}}`
  );
}

/** Writes a snapshot whose documents.jsonl entries add up to about `targetBytes` uncompressed. */
export async function generateSnapshot(
  file: string,
  targetBytes: number,
  onProgress?: (bytes: number) => void,
): Promise<{ docs: number; bytes: number }> {
  const users = Math.max(1000, Math.floor(targetBytes / 10 / 170));
  const userBytes = users * (userLine(users).length + 1);
  let bytes = 0;
  let docs = 0;
  await writeSnapshotZip(file, [
    {
      name: "users",
      lines: function* () {
        for (let i = 0; i < users; i++) {
          const line = userLine(i);
          bytes += line.length + 1;
          docs++;
          if (i % 20000 === 0) onProgress?.(bytes);
          yield line;
        }
      },
    },
    {
      name: "events",
      lines: function* () {
        for (let i = 0; bytes < targetBytes || i === 0; i++) {
          const line = eventLine(i);
          bytes += line.length + 1;
          docs++;
          if (i % 20000 === 0) onProgress?.(bytes);
          yield line;
        }
      },
    },
  ]);
  onProgress?.(bytes);
  void userBytes;
  return { docs, bytes: (await stat(file)).size > 0 ? bytes : 0 };
}
