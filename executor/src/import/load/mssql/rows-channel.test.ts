import { describe, expect, it } from "vitest";
import { RowsChannel } from "./rows-channel.js";

const MB = 1024 * 1024;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("the row channel between the pipeline and the bulk load", () => {
  it("keeps what waits for a slow consumer within its byte limit, however large the rows", async () => {
    const row = "x".repeat(MB / 2); // 1 MB as V8 holds it (UTF-16)
    const limit = 4 * MB;
    const batch = [row, row]; // 2 MB per push
    const channel = new RowsChannel<string>(limit, (s) => 2 * s.length);
    let most = 0;
    let taken = 0;
    const consumer = (async () => {
      for await (const taken_row of channel) {
        expect(taken_row.length).toBe(row.length);
        most = Math.max(most, channel.bufferedBytes);
        taken++;
        await nextTurn(); // the server reads slower than the pipeline writes
      }
    })();
    for (let i = 0; i < 100; i++) {
      await channel.push(batch);
      most = Math.max(most, channel.bufferedBytes);
    }
    channel.end();
    await consumer;
    expect(taken).toBe(200);
    expect(channel.pushedBytes).toBe(200 * MB);
    // A count of rows would have let all 200 MB wait here; the byte limit allows the limit plus one push.
    expect(most).toBeLessThanOrEqual(limit + 2 * MB);
    expect(channel.bufferedBytes).toBe(0);
  });

  it("wakes a waiting producer with the consumer's error", async () => {
    const channel = new RowsChannel<string>(10, (s) => s.length);
    const pushing = channel.push(["x".repeat(100)]);
    channel.fail(new Error("server went away"));
    await expect(pushing).rejects.toThrow("server went away");
    await expect(channel.push(["y"])).rejects.toThrow("server went away");
  });

  it("makes the consumer's iteration fail after an abort, so the bulk load is not committed", async () => {
    const channel = new RowsChannel<string>(1000, (s) => s.length);
    await channel.push(["a", "b"]);
    const taken: string[] = [];
    const consuming = (async () => {
      for await (const row of channel) {
        taken.push(row);
        if (taken.length === 1) channel.fail(new Error("aborted"));
      }
    })();
    await expect(consuming).rejects.toThrow("aborted");
    expect(taken).toEqual(["a"]);
  });
});
