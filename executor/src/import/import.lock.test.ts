/** One import per schema at a time on a server target: a second one is refused at once, changing nothing. */
import { describe, expect, it } from "vitest";
import { fakeId, tempSnapshot } from "../../../test/fixtures/snapshot-zip.js";
import { uniqueSchema } from "../../../test/fixtures/targets.js";
import { importSnapshot } from "./index.js";
import type { ConvexObject } from "./values.js";

const url = process.env.PG_URL;
const doc = (n: number) =>
  ({ _creationTime: 1.7e12 + n, _id: fakeId(n), pad: "x".repeat(200) }) as ConvexObject;

describe.skipIf(!url)("concurrent imports into one schema (PostgreSQL)", () => {
  it("refuses the second while the first runs, and the first completes", async () => {
    const schema = uniqueSchema();
    const zip = await tempSnapshot([{ name: "t", docs: Array.from({ length: 20_000 }, (_, i) => doc(i)) }]);
    let second: Promise<unknown> | undefined;
    const first = importSnapshot({
      snapshotPath: zip,
      target: url!,
      schema,
      progressIntervalMs: 0,
      onProgress: (p) => {
        if (!second && (p.tables[0]?.rows ?? 0) > 0) {
          second = importSnapshot({ snapshotPath: zip, target: url!, schema }).then(
            () => "loaded",
            (e: Error) => e.message,
          );
        }
      },
    });
    await expect(first).resolves.toMatchObject({ totalRows: 20_000 });
    expect(await second).toBe(
      `another import into schema "${schema}" is running on this target; try again later`,
    );
  });
});
