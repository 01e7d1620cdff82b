import { describe, expect, it } from "vitest";
import { JobQueue } from "./queue.js";

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("JobQueue", () => {
  it("runs one job at a time, in arrival order", async () => {
    const events: string[] = [];
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const queue = new JobQueue(1, async (id) => {
      events.push(`start ${id}`);
      const gate = deferred();
      gates.set(id, gate);
      await gate.promise;
      events.push(`end ${id}`);
    });
    queue.push("a");
    queue.push("b");
    queue.push("c");
    expect(queue.active).toEqual(["a"]);
    expect(queue.queued).toEqual(["b", "c"]);
    gates.get("a")!.resolve();
    await new Promise((r) => setTimeout(r, 0));
    expect(queue.active).toEqual(["b"]);
    gates.get("b")!.resolve();
    await new Promise((r) => setTimeout(r, 0));
    gates.get("c")!.resolve();
    await queue.idle();
    expect(events).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
  });

  it("keeps going after a job fails, and a removed job never starts", async () => {
    const started: string[] = [];
    const queue = new JobQueue(1, async (id) => {
      started.push(id);
      if (id === "a") throw new Error("boom");
    });
    queue.push("a");
    queue.push("b");
    queue.push("c");
    expect(queue.remove("b")).toBe(true);
    expect(queue.remove("a")).toBe(false);
    await queue.idle();
    await new Promise((r) => setTimeout(r, 0));
    await queue.idle();
    expect(started).toEqual(["a", "c"]);
  });

  it("honours a higher concurrency and stops starting jobs after drain()", async () => {
    const gate = deferred();
    const started: string[] = [];
    const queue = new JobQueue(2, async (id) => {
      started.push(id);
      await gate.promise;
    });
    for (const id of ["a", "b", "c", "d"]) queue.push(id);
    expect(queue.active.sort()).toEqual(["a", "b"]);
    expect(queue.drain()).toEqual(["c", "d"]);
    gate.resolve();
    await queue.idle();
    expect(started).toEqual(["a", "b"]);
  });
});
