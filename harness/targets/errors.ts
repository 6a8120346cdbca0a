/** Bad input from the user: the CLI prints the message on one line and exits 2. */
export class UsageError extends Error {}

/**
 * A failure raised by the target itself (it could not produce a trace): the
 * case's verdict is "timeout" (no trace in time), "crash" (the
 * implementation's process ended: an exit, a signal, out of memory) or
 * "error" (anything else: a throw, a malformed trace).
 */
export class TargetFailure extends Error {
  constructor(readonly verdict: "timeout" | "error" | "crash", message: string) {
    super(message);
  }
}
