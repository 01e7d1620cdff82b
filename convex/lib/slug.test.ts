import { describe, expect, it } from "vitest";
import { checkSlug } from "./appInput";
import { SLUG, slugify } from "./slug";

describe("slugify", () => {
  it("turns a name into lowercase words joined by dashes", () => {
    expect(slugify("  Acme Prod! (EU)  ")).toBe("acme-prod-eu");
  });

  it("suggests only slugs the server accepts, even when cut at the length limit", () => {
    const cutAtDash = `${"a".repeat(62)} b`;
    for (const name of ["Acme", "x".repeat(100), cutAtDash, "Ünïcode 2", "9 lives"])
      expect(checkSlug(slugify(name))).toBe(slugify(name));
  });

  it("gives nothing for a name without letters or digits, which the rule refuses", () => {
    expect(slugify("!!!")).toBe("");
    expect(SLUG.test("")).toBe(false);
  });
});

describe("SLUG", () => {
  it("takes up to 63 lowercase letters, digits and dashes, not starting with a dash", () => {
    expect(SLUG.test("a".repeat(63))).toBe(true);
    expect(SLUG.test("a".repeat(64))).toBe(false);
    expect(SLUG.test("-acme")).toBe(false);
    expect(SLUG.test("Acme")).toBe(false);
  });
});
