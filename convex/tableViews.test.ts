/**
 * Validators derived from a table's own (schema.ts) rather than copied: a field added to the table reaches them.
 */
import { describe, expect, test } from "vitest";
import { appView } from "./lib/appView";
import { auditEntry } from "./audit";
import { executorView } from "./executors";
import schema from "./schema";

const fieldsOf = (validator: { fields: Record<string, unknown> }) => Object.keys(validator.fields).sort();

describe("views derived from tables", () => {
  test("appView: every apps field but the key's ciphertext and the last-job pointers, plus the view's own", () => {
    const hidden = ["deployKeyCiphertext", "lastJobId", "lastJobStatus", "lastJobAt"];
    const stored = fieldsOf(schema.tables.apps.validator).filter((f) => !hidden.includes(f));
    expect(fieldsOf(appView)).toEqual([...stored, "id", "lastJob", "nextRuns"].sort());
    expect(appView.fields.allowInsecureHttp.isOptional).toBe("required");
    // Apps from before sync modes show the snapshot mode they keep.
    expect(appView.fields.syncMode.isOptional).toBe("required");
  });

  test("executorView: every executors field, the disk figure null when unknown, and what the heartbeat means now", () => {
    const stored = fieldsOf(schema.tables.executors.validator);
    expect(fieldsOf(executorView)).toEqual([...stored, "online", "contractCompatible"].sort());
    expect(executorView.fields.target).toEqual(schema.tables.executors.validator.fields.target);
    expect(executorView.fields.freeDiskBytes.isOptional).toBe("required");
  });

  test("auditEntry: every auditLog field but `at`, with the table's validators", () => {
    const { at: _at, ...table } = schema.tables.auditLog.validator.fields;
    expect(fieldsOf(auditEntry)).toEqual(Object.keys(table).sort());
    expect(auditEntry.fields.outcome).toEqual(table.outcome);
  });
});
