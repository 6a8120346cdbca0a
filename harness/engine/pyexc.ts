/**
 * Python exceptions as TypeScript values.
 *
 * Every TypeScript implementation under test throws and catches instances of
 * PyBaseException: the scenario interpreter raises ValueError and friends with
 * it, and recognises an implementation's CancelledError or TimeoutError by
 * its Python type name. The class hierarchy is Python's own, as data, so that
 * `isinstance(exc, "Exception")` answers as Python would.
 */

import { brand } from "./brand";

/** Python's exception hierarchy, child -> parent (only the types aiospec meets). */
const PARENT: Record<string, string | null> = {
  BaseException: null,
  Exception: "BaseException",
  KeyboardInterrupt: "BaseException",
  SystemExit: "BaseException",
  GeneratorExit: "BaseException",
  CancelledError: "BaseException", // asyncio.CancelledError is a BaseException since 3.8
  BaseExceptionGroup: "BaseException",
  ExceptionGroup: "BaseExceptionGroup", // and Exception: see isinstance
  ValueError: "Exception",
  TypeError: "Exception",
  AttributeError: "Exception",
  RuntimeError: "Exception",
  LookupError: "Exception",
  KeyError: "LookupError",
  OSError: "Exception",
  TimeoutError: "OSError", // asyncio.TimeoutError is the builtin since 3.11
  InvalidStateError: "Exception", // asyncio.InvalidStateError
  CustomError: "Exception", // the scenario language's own subclass
  StopIteration: "Exception",
  StopAsyncIteration: "Exception",
};

export function isKnownExceptionType(type: string): boolean {
  return type in PARENT;
}

/**
 * JavaScript stack frames kept on a Python exception: none by default. A
 * Python exception here is a value of the model (raised, caught, stored in a
 * future, put in a trace), made thousands of times a second by a
 * differential run, and V8 walking the JavaScript stack at each one was a
 * sixth of the reference's time. AIOSPEC_PYEXC_STACKS=1 keeps them (Error's
 * usual limit), to find where an implementation raised one.
 */
const STACK_FRAMES = typeof process !== "undefined" && process.env?.AIOSPEC_PYEXC_STACKS === "1" ? null : 0;

export class PyBaseException extends Error {
  readonly type: string;
  readonly args: unknown[];
  /** For exception groups: the grouped exceptions. */
  readonly exceptions?: PyBaseException[];
  /** Python's __context__ / __cause__, when an implementation sets them. */
  context: PyBaseException | null = null;
  cause: PyBaseException | null = null;

  constructor(type: string, args: unknown[] = [], exceptions?: PyBaseException[]) {
    const message = args.length ? `${type}: ${String(args[0])}` : type;
    const limit = Error.stackTraceLimit;
    if (STACK_FRAMES !== null) Error.stackTraceLimit = STACK_FRAMES;
    super(message);
    Error.stackTraceLimit = limit;
    if (!(type in PARENT)) throw new Error(`aiospec: unknown Python exception type ${type}`);
    this.type = type;
    this.args = args;
    if (exceptions) this.exceptions = exceptions;
  }
}

// Raised by an implementation, caught by the harness: perhaps two copies of
// this module (engine/brand.ts).
brand(PyBaseException, "PyBaseException");

/** isinstance(exc, typeName), following Python's hierarchy. */
export function isinstance(exc: unknown, typeName: string): exc is PyBaseException {
  if (!(exc instanceof PyBaseException)) return false;
  if (typeName === "Exception" && exc.type === "ExceptionGroup") return true;
  for (let t: string | null = exc.type; t !== null; t = PARENT[t] ?? null) {
    if (t === typeName) return true;
  }
  return false;
}

export function pyexc(type: string, ...args: unknown[]): PyBaseException {
  return new PyBaseException(type, args);
}

/** Python's `str(exc)`: the single argument, or the tuple of arguments, or "". */
export function pyStr(exc: PyBaseException): string {
  if (exc.args.length === 0) return "";
  if (exc.args.length === 1) return String(exc.args[0]);
  return `(${exc.args.map((a) => JSON.stringify(a)).join(", ")})`;
}
