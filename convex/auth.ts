/**
 * Convex Auth with email + password. Accounts can only be created for emails on the admin allow-list
 * (convex/access.ts): anyone else is refused at sign-up, so every account is an admin account.
 * When ADMIN_SIGNUP_CODE is set, creating an account also needs that code, so nobody can claim an
 * allow-listed email before its owner has signed up.
 */
import { Password } from "@convex-dev/auth/providers/Password";
import { convexAuth } from "@convex-dev/auth/server";
import type { Id } from "./_generated/dataModel";
import type { MutationCtx } from "./_generated/server";
import { isAllowListed } from "./access";
import { constantTimeEqual } from "./contract/signing";
import { normalizeEmail } from "./lib/adminList";
import { isUserError, userError, type UserError } from "./lib/userError";

/** Convex Auth's `createOrUpdateUser` callback: existing users sign in; new ones must be allow-listed. */
export async function createOrUpdateAdminUser(
  ctx: MutationCtx,
  args: { existingUserId: Id<"users"> | null; profile: { email?: string } },
): Promise<Id<"users">> {
  if (args.existingUserId) return args.existingUserId;
  const email = normalizeEmail(String(args.profile.email ?? ""));
  if (!email || !(await isAllowListed(ctx, email)))
    throw userError("forbidden", "sign-up is limited to the admin allow-list");
  return await ctx.db.insert("users", { email });
}

/** Refuses unless ADMIN_SIGNUP_CODE is unset (or empty) or `given` matches it. */
export function requireSignupCode(given: unknown): void {
  const expected = process.env.ADMIN_SIGNUP_CODE;
  if (!expected) return;
  if (typeof given !== "string" || !constantTimeEqual(given, expected))
    throw userError("forbidden", "a valid sign-up code is required", "signupCode");
}

/**
 * The Password provider's `profile`: runs for every flow before any account is looked up or created, so a
 * sign-up without the code is refused before anything is written. Signing in never needs the code.
 */
export function passwordProfile(params: Record<string, unknown>): { email: string } {
  if (params.flow === "signUp") requireSignupCode(params.signupCode);
  return { email: normalizeEmail(String(params.email ?? "")) };
}

export const MIN_PASSWORD_LENGTH = 8;

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
