import type { ConvexClient } from "convex/browser";
import { ConvexHttpClient } from "convex/browser";
import { makeFunctionReference } from "convex/server";

/**
 * The browser side of Convex Auth (password provider) for Svelte: keeps the JWT and refresh token in
 * localStorage, namespaced by deployment, and hands the JWT to the Convex client through `fetchAccessToken`.
 * Mirrors @convex-dev/auth/react, which has no Svelte counterpart.
 */

type Tokens = { token: string; refreshToken: string };
type SignInResult = { tokens?: Tokens | null; redirect?: string; started?: boolean };

const signInRef = makeFunctionReference<"action", Record<string, unknown>, SignInResult>("auth:signIn");
const signOutRef = makeFunctionReference<"action", Record<string, never>, null>("auth:signOut");

/** Waits before each retry of a refresh that got no answer. */
const REFRESH_RETRY_MS = [500, 2000];
const JWT_KEY = "__convexAuthJWT";
const REFRESH_KEY = "__convexAuthRefreshToken";

export class AuthSession {
  /** The current JWT, or null when signed out. */
  token: string | null = $state(null);
  readonly #client: ConvexClient;
  readonly #http: ConvexHttpClient;
  readonly #namespace: string;

  constructor(client: ConvexClient, url: string) {
    this.#client = client;
    this.#http = new ConvexHttpClient(url);
    this.#namespace = url.replace(/[^a-zA-Z0-9]/g, "");
    this.token = localStorage.getItem(this.#key(JWT_KEY));
    window.addEventListener("storage", (event) => {
      if (event.key === this.#key(JWT_KEY)) this.token = event.newValue;
    });
  }

  get isAuthenticated(): boolean {
    return this.token !== null;
  }

  /**
   * Signs in with email and password, or creates the account first (`signUp`: only for emails on the admin
   * allow-list, and with `signupCode` when the deployment sets ADMIN_SIGNUP_CODE). Throws the server's message
   * when refused.
   */
  async signIn(
    email: string,
    password: string,
    flow: "signIn" | "signUp" = "signIn",
    signupCode = "",
  ): Promise<void> {
    const params = { email, password, flow, ...(flow === "signUp" && signupCode ? { signupCode } : {}) };
    const result = await this.#client.action(signInRef, { provider: "password", params });
    if (!result.tokens) throw new Error("Sign-in was not completed by the server.");
    this.#store(result.tokens);
  }

  async signOut(): Promise<void> {
    try {
      await this.#client.action(signOutRef, {});
    } catch {
      // Already signed out on the server (expired session): clearing local tokens is all that is left to do.
    }
    this.#store(null);
  }

  /** Passed to the Convex client; refreshes through HTTP so a stale socket identity cannot block it. */
  fetchAccessToken = async ({
    forceRefreshToken,
  }: {
    forceRefreshToken: boolean;
  }): Promise<string | null> => {
    if (!forceRefreshToken) return this.token;
    const refreshToken = localStorage.getItem(this.#key(REFRESH_KEY));
    if (refreshToken === null) return null;
    // Only the server's answer ends the session (`tokens: null`: the refresh token is spent or revoked). A
    // request that got no answer (the network, or the page being left mid-refresh) keeps the tokens: clearing
    // them then signed people out for clicking through pages quickly. Network errors are retried as
    // @convex-dev/auth/react does (RETRY_BACKOFF in its client.js); after that the error goes to the client.
    const result = await this.#refreshWithRetries(refreshToken);
    this.#store(result.tokens ?? null);
    return this.token;
  };

  async #refreshWithRetries(refreshToken: string): Promise<SignInResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#http.action(signInRef, { refreshToken });
      } catch (error) {
        // fetch() rejects with a TypeError when no response arrived; a server refusal is another error.
        if (!(error instanceof TypeError) || attempt >= REFRESH_RETRY_MS.length) throw error;
        await new Promise((resolve) => setTimeout(resolve, REFRESH_RETRY_MS[attempt]! + Math.random() * 100));
      }
    }
  }

  #store(tokens: Tokens | null): void {
    if (tokens === null) {
      localStorage.removeItem(this.#key(JWT_KEY));
      localStorage.removeItem(this.#key(REFRESH_KEY));
    } else {
      localStorage.setItem(this.#key(JWT_KEY), tokens.token);
      localStorage.setItem(this.#key(REFRESH_KEY), tokens.refreshToken);
    }
    this.token = tokens?.token ?? null;
  }

  #key(name: string): string {
    return `${name}_${this.#namespace}`;
  }
}
