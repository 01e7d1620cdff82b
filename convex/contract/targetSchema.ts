/**
 * The rule for a target schema name, apart from the zod contract (./executor.ts builds `targetSchemaName` from
 * it) so the dashboard's form can check it without bundling zod.
 */
export const TARGET_SCHEMA_MAX_LENGTH = 128;
export const TARGET_SCHEMA_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isTargetSchemaName(name: string): boolean {
  return name.length <= TARGET_SCHEMA_MAX_LENGTH && TARGET_SCHEMA_PATTERN.test(name);
}
