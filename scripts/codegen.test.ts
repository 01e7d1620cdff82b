import fs from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { componentName, staleGeneratedFiles, startPushResponse } from "./codegen";

describe("offline codegen", () => {
  test("reads a component's own name from its convex.config.js", () => {
    expect(
      componentName(
        'import{defineComponent as a}from"convex/server";export default defineComponent("crons");',
        "x",
      ),
    ).toBe("crons");
    expect(() => componentName("export default {}", "node_modules/x/convex.config.js")).toThrow(
      'node_modules/x/convex.config.js: no defineComponent("<name>") call found',
    );
  });

  test("the stub's push answer lists the child components for the root", () => {
    const answer = startPushResponse([
      { name: "crons", path: "../node_modules/@convex-dev/crons/dist/component" },
    ]) as {
      analysis: Record<string, { definition: { childComponents: { name: string }[] } }>;
    };
    expect(answer.analysis[""]?.definition.childComponents.map((c) => c.name)).toEqual(["crons"]);
  });

  test("committed convex/_generated is current", async () => {
    expect(await staleGeneratedFiles()).toEqual([]);
  });

  test("a new function module makes api.d.ts stale", async () => {
    const stale = await staleGeneratedFiles((convexDir) => {
      fs.writeFileSync(
        path.join(convexDir, "brandNewModule.ts"),
        'import { query } from "./_generated/server";\nexport const hello = query({ args: {}, handler: async () => "hi" });\n',
      );
    });
    expect(stale).toContain("api.d.ts");
  });
});
