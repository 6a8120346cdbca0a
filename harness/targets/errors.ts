/** Bad input from the user: the CLI prints the message on one line and exits 2. */
export class UsageError extends Error {}

/** A failure raised by the target itself (it could not produce a trace): the case's verdict is "timeout" or "error". */
export class TargetFailure extends Error {
  constructor(readonly verdict: "timeout" | "error", message: string) {
    super(message);
  }
}
