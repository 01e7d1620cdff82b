import { describe, expect, it } from "vitest";
import type { ImportProgress } from "../import/api.js";
import { ProgressPrinter } from "./progress.js";

function capture(isTTY: boolean) {
  let text = "";
  return { out: { isTTY, columns: 100, write: (t: string) => (text += t) }, text: () => text };
}

const loading = (rows: number): ImportProgress => ({
  phase: "loading",
  tables: [{ table: "users", state: "loading", rows, bytes: rows * 100, totalBytes: 100_000 }],
});

describe("import progress", () => {
  it("draws a live bar on a terminal", () => {
    const tty = capture(true);
    new ProgressPrinter(tty.out).update(loading(1));
    expect(tty.text().startsWith("\r\u001b[2Kusers  ")).toBe(true);
    expect(tty.text()).toMatch(/users {2}[█░]+ +0% {2}1 row {2}/);
  });

  it("writes plain log lines without a bar or control characters elsewhere", () => {
    const log = capture(false);
    const printer = new ProgressPrinter(log.out);
    printer.update(loading(500));
    printer.update({
      phase: "loading",
      tables: [{ table: "users", state: "loaded", rows: 1, bytes: 100, seconds: 0.25 }],
    });
    expect(log.text()).toBe(
      "… users: 50% loaded, 500 rows, 49 KB at 0 B/s\n✓ users: 1 row, 100 B in 0.3 s\n",
    );
  });
});
