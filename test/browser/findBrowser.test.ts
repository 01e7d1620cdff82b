import { describe, expect, it } from "vitest";
import { browserSuitePlan, findBrowser } from "./findBrowser.js";

const only =
  (...files: string[]) =>
  (file: string) =>
    files.includes(file);

describe("finding a browser for the browser tests", () => {
  it("takes Debian's Chromium, Chrome or Edge, in that order, on Linux", () => {
    expect(findBrowser({}, "linux", only("/usr/bin/chromium", "/opt/google/chrome/chrome"))).toEqual({
      executablePath: "/usr/bin/chromium",
      source: "installed",
    });
    expect(findBrowser({}, "linux", only("/opt/microsoft/msedge/msedge"))?.executablePath).toBe(
      "/opt/microsoft/msedge/msedge",
    );
  });

  it("finds Chrome on macOS and Edge under Program Files on Windows", () => {
    const chrome = "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome";
    expect(findBrowser({}, "darwin", only(chrome))?.executablePath).toBe(chrome);
    const edge = "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe";
    const env = { PROGRAMFILES: "C:\\Program Files", "PROGRAMFILES(X86)": "C:\\Program Files (x86)" };
    expect(findBrowser(env, "win32", only(edge))?.executablePath).toBe(edge);
  });

  it("uses CHROMIUM_PATH when set, and refuses one that does not exist", () => {
    expect(findBrowser({ CHROMIUM_PATH: "/x/chrome" }, "linux", only("/x/chrome"))?.source).toBe(
      "CHROMIUM_PATH",
    );
    expect(() => findBrowser({ CHROMIUM_PATH: "/x/missing" }, "linux", only())).toThrow(/does not exist/);
  });

  it("skips the suite with a message when none is installed, but fails under CI", () => {
    const plan = browserSuitePlan({}, "darwin", only());
    expect(plan).toMatchObject({ run: false, message: expect.stringMatching(/Skipping the browser tests/) });
    expect(() => browserSuitePlan({ CI: "true" }, "linux", only())).toThrow(/CI=true/);
  });
});
