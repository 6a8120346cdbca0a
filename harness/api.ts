/**
 * The interface a TypeScript asyncio implementation provides to aiospec.
 *
 * It mirrors the parts of Python's asyncio module that scenarios use, with
 * Python's names. Coroutines are generator objects: a coroutine suspends by
 * yielding a future it waits for (`yield* fut.__await__()`), or by yielding
 * null to give up the loop for one iteration (what `asyncio.sleep(0)` does).
 * The implementation's Task drives them with next() / throw(), as CPython's
 * Task drives a coroutine with send() / throw().
 *
 * Exceptions are PyBaseException values (./pyexc.ts).
 */
import type { PyBaseException } from "./pyexc";

export type Coroutine<T = unknown> = Generator<unknown, T, unknown>;

export interface PyFuture {
  done(): boolean;
  cancelled(): boolean;
  /** Raises (throws) the exception, CancelledError, or InvalidStateError, as Python does. */
  result(): unknown;
  exception(): PyBaseException | null;
  /** What `await fut` runs. */
  __await__(): Coroutine;
}

export interface PyTask extends PyFuture {
  cancel(msg?: string | null): boolean;
  cancelling(): number;
  get_name(): string;
}

export interface ExceptionHandlerContext {
  message: string;
  exception?: PyBaseException;
}

export interface PyEventLoop {
  time(): number;
  /** loop.create_task(coro): the scenario's main task is made this way. */
  create_task(coro: Coroutine, name?: string | null): PyTask;
  /**
   * Run until the future is done and return its result (or throw its
   * exception). Must throw `Deadlock` when the loop would block forever
   * (nothing ready, no timer) and `IterationLimit` after too many iterations.
   * KeyboardInterrupt and SystemExit raised by a task escape from here.
   */
  run_until_complete(fut: PyFuture): unknown;
  set_exception_handler(handler: (ctx: ExceptionHandlerContext) => void): void;
  close(): void;
}

/** The module-level functions of asyncio, acting on the running loop. */
export interface AsyncioImplementation {
  /** A human-readable id, e.g. "reference@3.13". */
  readonly id: string;
  /** The Python version whose behaviour this implementation claims, e.g. "3.13". */
  readonly pythonVersion: string;
  new_event_loop(): PyEventLoop;
  create_task(coro: Coroutine, name?: string | null): PyTask;
  sleep(delay: number, result?: unknown): Coroutine;
  gather(aws: Array<Coroutine | PyFuture>, returnExceptions: boolean): PyFuture;
  current_task(): PyTask | null;
}

/** Thrown by run_until_complete when nothing can ever happen again. */
export class Deadlock extends Error {
  constructor() {
    super("deadlock: nothing ready, no timer scheduled, future pending");
  }
}

/** Thrown by run_until_complete when a run exceeds the iteration budget. */
export class IterationLimit extends Error {
  constructor() {
    super("iteration limit reached");
  }
}

/** The iteration budget a run gets (the Python driver uses the same). */
export const MAX_LOOP_ITERATIONS = 200_000;

export function isCoroutine(x: unknown): x is Coroutine {
  return (
    typeof x === "object" && x !== null &&
    typeof (x as Coroutine).next === "function" &&
    typeof (x as Coroutine).throw === "function"
  );
}
