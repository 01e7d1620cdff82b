/**
 * What an SMTP setting must look like: email.ts refuses settings that break these rules, and the dashboard's
 * form (which imports this module, so it has no server imports) checks them before saving.
 */
export const SMTP_PORT_RANGE = [1, 65535] as const;
export const MAX_RECIPIENTS = 50;

export function isHostName(host: string): boolean {
  return /^[A-Za-z0-9.-]{1,253}$/.test(host);
}

export function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= SMTP_PORT_RANGE[0] && port <= SMTP_PORT_RANGE[1];
}

/** The address of a From line, `alerts@example.com` or `Sync <alerts@example.com>`. */
export function fromAddress(from: string): string {
  return (/<([^>]+)>\s*$/.exec(from)?.[1] ?? from).trim();
}
