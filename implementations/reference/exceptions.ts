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

/**
 * `raise e` inside an except block (or an __aexit__ called for an
 * exception) handling `handled`: Python's raise sets e.__context__ =
 * handled, unless e is handled itself, first cutting the link of handled's
 * context chain that already leads back to e, so the chain never becomes a
 * cycle (_PyErr_SetObject). Returns e, to be thrown. Only gc mode can see
 * the link (a trace records __cause__, not __context__): the context keeps
 * handled alive, and with it what its traceback's frames hold.
 */
export function raisedWhileHandling(e: PyBaseException, handled: PyBaseException | null): PyBaseException {
  if (handled === null || e === handled) return e;
  const seen = new Set<PyBaseException>();
  for (let o: PyBaseException | null = handled; o !== null && !seen.has(o); o = o.context) {
    seen.add(o);
    if (o.context === e) {
      o.context = null;
      break;
    }
  }
  e.context = handled;
  return e;
}
