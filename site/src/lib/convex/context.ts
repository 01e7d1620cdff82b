import { getContext, setContext } from "svelte";
import type { AuthSession } from "./session.svelte";

const SESSION_KEY = Symbol("auth-session");

export function setSession(session: AuthSession): void {
  setContext(SESSION_KEY, session);
}

export function getSession(): AuthSession {
  const session = getContext<AuthSession | undefined>(SESSION_KEY);
  if (!session) throw new Error("getSession() called outside the signed-in layout");
  return session;
}
