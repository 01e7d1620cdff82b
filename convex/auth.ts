/**
 * Convex Auth with email + password. Every account is an admin account, and creating one needs either the
 * deployment's ADMIN_SIGNUP_CODE (for an email on the admin allow-list, convex/access.ts) or a one-time invite
 * made by the deployment's owner (signupGate.ts, admins.ts). Without either nobody can sign up, so an allow-listed
 * email cannot be claimed by whoever signs up first. Wrong codes are rate-limited.
 */
import { Password } from "@convex-dev/auth/providers/Password";
import { convexAuth } from "@convex-dev/auth/server";
import type { Id } from "./_generated/dataModel";
import { internal } from "./_generated/api";
import type { MutationCtx } from "./_generated/server";
import { isAllowListed } from "./access";
import { normalizeEmail } from "./lib/adminList";
import { MIN_PASSWORD_LENGTH } from "./lib/limits";
import { isUserError, userError, type UserError } from "./lib/userError";
import { addAdminEmail } from "./admins";
import { spendAdmission, type Admission } from "./signupGate";

/**
 * Convex Auth's `createOrUpdateUser` callback, inside the mutation that creates the account: existing users sign
 * in; a new one needs the sign-up code (and an allow-listed email) or a live invite for the email, which is spent
 * here, so two sign-ups cannot share one invite. An invited email joins the allow-list.
 */
export async function createOrUpdateAdminUser(
  ctx: MutationCtx,
  args: { existingUserId: Id<"users"> | null; profile: { email?: string; signupCode?: string } },
): Promise<Id<"users">> {
  if (args.existingUserId) return args.existingUserId;
  const email = normalizeEmail(String(args.profile.email ?? ""));
  const via = email ? await spendAdmission(ctx, email, args.profile.signupCode) : null;
  if (!via) throw userError("forbidden", "a valid sign-up code or invite is required", "signupCode");
  if (via === "invite") await addAdminEmail(ctx, email, "invite");
  else if (!(await isAllowListed(ctx, email)))
    throw userError("forbidden", "sign-up is limited to the admin allow-list");
  return await ctx.db.insert("users", { email });
}

/**
 * The Password provider's `profile`: the sign-up code travels with the profile into the account-creating
 * mutation (createOrUpdateAdminUser), which checks it again; it is never stored. Signing in needs no code.
 */
export function passwordProfile(params: Record<string, unknown>): { email: string; signupCode?: string } {
  const email = normalizeEmail(String(params.email ?? ""));
  const code = params.signupCode;
  return params.flow === "signUp" && typeof code === "string" && code
    ? { email, signupCode: code }
    : { email };
}

/** Convex Auth's default rule (8 characters), as a user error on the password field. */
export function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw userError("invalid_input", `choose at least ${MIN_PASSWORD_LENGTH} characters`, "password");
}

/**
 * Convex Auth refuses with plain Errors named after its internal results (node_modules/@convex-dev/auth:
 * retrieveAccountWithCredentials returns "InvalidAccountId" | "InvalidSecret" | "TooManyFailedAttempts",
 * thrown as `new Error(result)`; createAccountFromCredentials throws "Account … already exists"). In
 * production those reach the browser as "Server Error"; this gives them codes. Matching the library's own
 * message is the only way to tell them apart, and it happens here, on the server, once.
 */
export function signInError(error: unknown): unknown {
  if (isUserError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const as = (code: Parameters<typeof userError>[0], text: string): UserError => userError(code, text);
  if (/TooManyFailedAttempts/.test(message))
    return as("rate_limited", "too many failed attempts: wait a few minutes and try again");
  if (/InvalidAccountId|InvalidSecret|Invalid credentials/.test(message))
    return as("bad_credentials", "wrong email or password");
  if (/already exists/.test(message)) return as("account_exists", "this email already has an account");
  return error;
}

type CredentialsProvider = ReturnType<typeof Password>;
type Authorize = CredentialsProvider["authorize"];

/**
 * The provider with `signInError` around its `authorize`. Convex Auth runs the `authorize` it finds in the
 * provider's `options` (ConvexCredentials keeps the config there; provider_utils.js merges it over the
 * provider), so that is the one wrapped.
 */
function withSignInErrors(provider: CredentialsProvider): CredentialsProvider {
  const options = (provider as unknown as { options: { authorize: Authorize } }).options;
  const authorize: Authorize = async (params, ctx) => {
    // The gate runs in a mutation of its own, so a refused code still counts against the rate limit.
    if (params.flow === "signUp") {
      const admission: Admission = await ctx.runMutation(internal.signupGate.admitSignUp, {
        email: String(params.email ?? ""),
        ...(typeof params.signupCode === "string" ? { signupCode: params.signupCode } : {}),
      });
      if (!admission.ok) throw userError(admission.code, admission.message, "signupCode");
    }
    try {
      return await options.authorize(params, ctx);
    } catch (error) {
      throw signInError(error);
    }
  };
  return { ...provider, options: { ...options, authorize } } as CredentialsProvider;
}

const passwordProvider = withSignInErrors(
  Password({ profile: passwordProfile, validatePasswordRequirements: checkPassword }),
);

export const { auth, signIn, signOut, store, isAuthenticated } = convexAuth({
  providers: [passwordProvider],
  callbacks: {
    createOrUpdateUser: (ctx, args) =>
      createOrUpdateAdminUser(ctx as unknown as MutationCtx, {
        existingUserId: args.existingUserId as Id<"users"> | null,
        profile: args.profile,
      }),
  },
});
