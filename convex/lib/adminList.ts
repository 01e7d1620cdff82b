/** ADMIN_EMAILS: comma- or whitespace-separated emails that are always admins (the bootstrap list). */
export const ADMIN_EMAILS_ENV = "ADMIN_EMAILS";

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function isEmail(text: string): boolean {
  return EMAIL.test(text);
}

export function parseAdminEmails(value: string | undefined): string[] {
  if (!value) return [];
  return [
    ...new Set(
      value
        .split(/[\s,;]+/)
        .map(normalizeEmail)
        .filter(isEmail),
    ),
  ];
}
