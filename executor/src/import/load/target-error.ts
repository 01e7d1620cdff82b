/** A target string that cannot be used. The message never holds the string itself: it may carry a password. */
export class TargetUrlError extends Error {
  constructor(message: string) {
    super(`invalid --target: ${message}`);
    this.name = "TargetUrlError";
  }
}
