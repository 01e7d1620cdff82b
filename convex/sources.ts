/**
 * Reading a source deployment's table list, for the app form: by saved app, or with a URL + key that are
 * not saved yet (to check them before saving).
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import { adminAction } from "./access";
import { decryptSecret } from "./lib/crypto";
import { checkKeyMatchesUrl, classifyDeployKey } from "./lib/deployKey";
import { listTables } from "./lib/sourceDeployment";
import { SourceDeploymentError, type SourceErrorKind } from "./lib/sourceError";
import { normalizeDeploymentUrl } from "./lib/sourceUrl";

export type TablesResult =
  { ok: true; tables: string[] } | { ok: false; kind: SourceErrorKind | "internal"; error: string };

export async function tablesOrError(
  url: string,
  deployKey: string,
  allowInsecureHttp = false,
): Promise<TablesResult> {
  try {
    // The key-kind checks saving makes (lib/sourceCheck.ts), so the form hears the same before sending the key.
    classifyDeployKey(deployKey);
    checkKeyMatchesUrl(deployKey, normalizeDeploymentUrl(url, { allowInsecureHttp }));
    return { ok: true, tables: await listTables({ url, deployKey, allowInsecureHttp }) };
  } catch (error) {
    if (error instanceof SourceDeploymentError) return { ok: false, kind: error.kind, error: error.message };
    return { ok: false, kind: "internal", error: error instanceof Error ? error.message : String(error) };
  }
}

export const fetchTables = adminAction({
  args: { appId: v.id("apps") },
  handler: async (ctx, args): Promise<TablesResult> => {
    const app = await ctx.runQuery(internal.apps.getWithSecret, { appId: args.appId });
    if (!app) return { ok: false, kind: "not_found", error: `no app ${args.appId}` };
    return tablesOrError(
      app.deploymentUrl,
      await decryptSecret(app.deployKeyCiphertext),
      app.allowInsecureHttp ?? false,
    );
  },
});

export const previewTables = adminAction({
  args: { deploymentUrl: v.string(), deployKey: v.string(), allowInsecureHttp: v.optional(v.boolean()) },
  handler: async (_ctx, args): Promise<TablesResult> =>
    tablesOrError(args.deploymentUrl, args.deployKey.trim(), args.allowInsecureHttp ?? false),
});
