/**
 * What the interpreter and its except* half (exceptstar.ts) share: how a
 * scenario's `return` travels up, the error of a scenario that cannot run,
 * the exception types a handler may name, and the part of a running
 * scenario that except* handlers call back into. Kept apart so that the
 * two modules import this one, not each other.
 */
import type { Coroutine } from "./api";
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
}
