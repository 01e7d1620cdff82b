/**
 * fetch with a deadline, built on AbortController + setTimeout (both in Convex's default runtime, where
 * AbortSignal.timeout is not documented).
 */
export class RequestTimeoutError extends Error {
  constructor(
    readonly url: string,
    readonly ms: number,
  ) {
    super(`no answer from ${new URL(url).origin} within ${ms} ms`);
    this.name = "RequestTimeoutError";
  }
}

export async function fetchWithTimeout(
  url: string,
  init: RequestInit,
  ms: number,
  doFetch: typeof fetch = fetch,
): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    return await doFetch(url, { ...init, signal: controller.signal });
  } catch (error) {
    if (controller.signal.aborted) throw new RequestTimeoutError(url, ms);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
