/**
 * asyncio's exceptions.
 *
 * CancelledError derives from BaseException (since 3.8), so `except
 * Exception` does not swallow a cancellation. asyncio.TimeoutError is the
 * builtin TimeoutError since 3.11. InvalidStateError reports a future used in
 * the wrong state (a result read too early, a result set twice).
 */
import { PyBaseException, pyexc } from "../../harness/engine/pyexc";

export { PyBaseException, isinstance, pyexc } from "../../harness/engine/pyexc";

/** CancelledError(msg), or CancelledError() with no arguments when there is no message (None: not CancelledError(None)). */
export function CancelledError(msg: string | null = null): PyBaseException {
  return msg === null ? pyexc("CancelledError") : pyexc("CancelledError", msg);
}

export function InvalidStateError(message: string): PyBaseException {
  return pyexc("InvalidStateError", message);
}

export function RuntimeError(message: string): PyBaseException {
  return pyexc("RuntimeError", message);
}

export function TimeoutError(): PyBaseException {
  return pyexc("TimeoutError");
}
