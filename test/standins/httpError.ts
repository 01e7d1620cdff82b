/**
 * A refusal with the backend's error shape: HTTP status and `{code, message}` (crates/errors/src/lib.rs
 * `ErrorMetadata`, rendered by crates/common/src/http/mod.rs `HttpResponseError`).
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  get body(): string {
    return JSON.stringify({ code: this.code, message: this.message });
  }
}

/** What the backend answers for an error without metadata: a 500 with a generic message. */
export const INTERNAL_ERROR = {
  code: "InternalServerError",
  message: "Your request couldn't be completed. Try again later.",
};
