import { describe, expect, it } from "vitest";
import { fromAddress, isHostName, isPort } from "./smtpRules";

describe("SMTP setting rules (the server's and the settings form's)", () => {
  it("reads the address of a From line with or without a display name", () => {
    expect(fromAddress("Sync <alerts@example.com> ")).toBe("alerts@example.com");
    expect(fromAddress(" alerts@example.com ")).toBe("alerts@example.com");
  });

  it("takes ports 1 to 65535 as whole numbers only", () => {
    expect([0, 1, 587, 65535, 65536, 25.5].map(isPort)).toEqual([false, true, true, true, false, false]);
  });

  it("takes host names of letters, digits, dots and dashes", () => {
    expect(isHostName("smtp.example.com")).toBe(true);
    expect(isHostName("smtp example.com")).toBe(false);
    expect(isHostName("")).toBe(false);
  });
});
