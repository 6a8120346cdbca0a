/**
 * What the interpreter and its except* half (exceptstar.ts) share: how a
 * scenario's `return` travels up, the error of a scenario that cannot run,
 * the exception types a handler may name, and the part of a running
 * scenario that except* handlers call back into. Kept apart so that the
 * two modules import this one, not each other.
 */
import type { Coroutine } from "./api";
import { PyBaseException, pyexc } from "./pyexc";
import type { Scalar, Step } from "../../spec/scenario/types";
import type { ExceptionData, TraceEvent } from "../../spec/scenario/trace";

/** A `return` step on its way up to the coroutine that runs it. */
export class Return {
  constructor(readonly value: Scalar | undefined) {}
}

/** The scenario is malformed in a way the interpreter cannot run. */
export class ScenarioError extends Error {}

/** The exception types a scenario's except clauses may name. */
export const CATCHABLE = new Set([
  "ValueError", "KeyError", "RuntimeError", "CustomError", "KeyboardInterrupt", "SystemExit",
  "CancelledError", "TimeoutError", "ExceptionGroup", "BaseExceptionGroup", "Exception", "BaseException",
]);

/** A running scenario as except* sees it: run a block of steps, record an event, encode an exception. */
export interface StepRunner {
  steps(steps: Step[]): Coroutine<Return | undefined>;
  emit(ev: TraceEvent["ev"], fields?: Record<string, unknown>): void;
  readonly enc: { exc(e: unknown): ExceptionData };
  /** Run body while `handled` is being handled: what it raises gets that as its __context__ (gc mode). */
  whileHandling<T>(handled: unknown, body: Coroutine<T>): Coroutine<T>;
  /** The CPython release whose statements the run follows (AsyncioImplementation.pythonRelease); undefined: the modelled one. */
  readonly pythonRelease?: string;
  /** gc.collect() is running: the coroutines it closes run (their blocks), recording nothing. */
  readonly collecting: boolean;
}

/**
 * gc mode: is e the GeneratorExit the collector throws into a destroyed
 * task's coroutine to close it? The driver runs each statement of a
 * scenario as a coroutine of its own, and CPython closes every coroutine
 * of the chain in turn: a try statement whose handler catches that
 * GeneratorExit (`except BaseException`), or whose `finally` returns, ends
 * normally, and then its caller's coroutine is closed, GeneratorExit thrown
 * in where it awaits the statement. So such a try statement ends with a
 * fresh GeneratorExit: the statements after it do not run. (CPython 3.12.1,
 * the driver: a destroyed task's coroutine that caught it did not run the
 * `drop` after its try statement; `diff reference@3.12 cpython-3.12 --size
 * medium --seed 9`.)
 */
export function isCollectorClose(run: StepRunner, e: unknown): boolean {
  return run.collecting && e instanceof PyBaseException && e.type === "GeneratorExit";
}

/** How a try statement that the collector's GeneratorExit left normally ends: with a fresh one (isCollectorClose). */
export function closeAgain(): never {
  throw pyexc("GeneratorExit");
}
