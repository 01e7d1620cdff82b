import { HOUR, MINUTE, RateLimiter } from "@convex-dev/rate-limiter";
import { components } from "./_generated/api";

/** Per API token. Token bucket: 60 a minute sustained (one a second), bursts of 10. */
export const rateLimiter = new RateLimiter(components.rateLimiter, {
  apiSync: { kind: "token bucket", rate: 60, period: MINUTE, capacity: 10 },
  apiRead: { kind: "token bucket", rate: 120, period: MINUTE, capacity: 20 },
  /** Alert emails per app: bursts of 5, then one every 10 minutes. */
  alertEmail: { kind: "token bucket", rate: 6, period: HOUR, capacity: 5 },
  /** Wrong sign-up codes or invites (signupGate.ts): 5 per email, then one per 3 minutes; 30 overall. */
  signupFailuresPerEmail: { kind: "token bucket", rate: 20, period: HOUR, capacity: 5 },
  signupFailuresOverall: { kind: "token bucket", rate: 30, period: HOUR, capacity: 30 },
});
