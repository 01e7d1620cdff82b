/**
 * An app's slug: its name in URLs and the API (`/api/sync/{slug}`). One rule for the server (appInput.ts) and
 * the dashboard's form, which imports this module: it has no server imports on purpose.
 */
export const SLUG_MAX_LENGTH = 63;
export const SLUG = new RegExp(`^[a-z0-9][a-z0-9-]{0,${SLUG_MAX_LENGTH - 1}}$`);

/** The slug a name suggests: "Acme Prod!" → "acme-prod". May be empty (a name without letters or digits). */
export function slugify(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, SLUG_MAX_LENGTH);
}
