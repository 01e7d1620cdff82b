import { describe, expect, it } from "vitest";
import { componentTableName, NameScope, shortHash } from "./names.js";

const rules = { length: (s: string) => Buffer.byteLength(s), maxLength: 20 };

describe("SQL naming rule", () => {
  it("keeps names that fit, renames case-insensitive collisions with a hash of the exact name", () => {
    const scope = new NameScope(rules);
    expect(scope.assign("Name")).toBe("Name");
    expect(scope.assign("name")).toBe(`name__${shortHash("name")}`);
    expect(scope.assign("with space")).toBe("with space");
  });

  it("cuts long names to the limit, keeps the hash, and replaces control characters", () => {
    const scope = new NameScope(rules);
    const long = "abcdefghijklmnopqrstuvwxyz";
    expect(scope.assign(long)).toBe(`abcdefghij__${shortHash(long)}`);
    expect(scope.assign("tab\there")).toBe(`tab_here__${shortHash("tab\there")}`);
    expect(scope.assign(" padded ")).toBe(`padded__${shortHash(" padded ")}`);
  });

  it("keeps names given on earlier loads, so the new name yields instead", () => {
    const scope = new NameScope(rules);
    scope.keep("name", "name");
    expect(scope.assign("Name")).toBe(`Name__${shortHash("Name")}`);
  });

  it("counts bytes, not characters, where the target does (PostgreSQL)", () => {
    const scope = new NameScope(rules);
    const unicode = "ééééééééééé"; // 11 characters, 22 bytes
    expect(scope.assign(unicode)).toMatch(new RegExp(`^é+__${shortHash(unicode)}$`));
  });

  it("joins component paths with __", () => {
    expect(componentTableName("", "users")).toBe("users");
    expect(componentTableName("a/b", "t")).toBe("a__b__t");
  });
});
