import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { freePort, startChild } from "./processes.js";

function capture() {
  const output = new PassThrough();
  let text = "";
  output.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
  return { output, text: () => text };
}

describe("startChild", () => {
  it("prefixes every line of stdout and stderr with the child's name and reports its exit code", async () => {
    const { output, text } = capture();
    const child = startChild({
      name: "worker",
      command: process.execPath,
      args: ["-e", "console.log('one\\ntwo'); console.error('oops'); process.exit(3)"],
      output,
    });
    expect(await child.exited).toBe(3);
    await new Promise((r) => setImmediate(r));
    expect(text().split("\n").filter(Boolean).sort()).toEqual([
      "[worker] one",
      "[worker] oops",
      "[worker] two",
    ]);
  });

  it("waits for a line, then stops a long-running child", async () => {
    const { output } = capture();
    const child = startChild({
      name: "server",
      command: process.execPath,
      args: ["-e", "setTimeout(() => console.log('listening on 1234'), 100); setInterval(() => {}, 1000)"],
      output,
    });
    const match = await child.waitForLine(/listening on (\d+)/);
    expect(match[1]).toBe("1234");
    await child.stop(2_000);
    expect(child.process.signalCode).toBe("SIGTERM");
  });

  it("fails waitForLine when the child exits without printing it", async () => {
    const child = startChild({
      name: "quitter",
      command: process.execPath,
      args: ["-e", "console.log('bye')"],
      output: capture().output,
    });
    await expect(child.waitForLine(/never/)).rejects.toThrow(/quitter exited \(code 0\)/);
  });
});

describe("freePort", () => {
  it("returns a port that can be listened on", async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const { createServer } = await import("node:net");
    const server = createServer().listen(port, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    await new Promise((r) => server.close(r));
  });
});
