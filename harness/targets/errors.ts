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

/**
 * A reply over the target's reply limit (IsolationLimits.maxReplyBytes):
 * the case's verdict is "error", and the implementation goes on serving.
 * A differential run compares such a case with the other side's trace held
 * to the same limit (running/differential.ts).
 */
export class ReplyTooLarge extends TargetFailure {
  constructor(message: string, readonly limitBytes: number) {
    super("error", message);
  }
}

/**
 * The implementation could not be started because of what it did (a module
 * that throws, hangs or exits while loading, a driver that exits or says a
 * bad hello): a UsageError for callers that only tell "it cannot be used",
 * but the CLI exits 1 for it (the implementation's fault), not 2.
 */
export class ImplementationError extends UsageError {}
