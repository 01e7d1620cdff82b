/**
 * Limits people meet, in one place for the functions that enforce them and the dashboard that states them
 * (it imports this module, so it has no server imports).
 */

/** Apps one deployment lists and schedules: queries take at most this many rows. */
export const MAX_APPS = 500;

/** Convex Auth's Password provider default (node_modules/@convex-dev/auth/dist/providers/Password.js: `length < 8`). */
export const MIN_PASSWORD_LENGTH = 8;

/** Operational settings (settings.ts), inclusive [min, max]. */
export const SETTINGS_LIMITS = { retentionDays: [1, 3650], staleJobMinutes: [2, 24 * 60] } as const;
