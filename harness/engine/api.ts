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
import { brand } from "./brand";

export type Coroutine<T = unknown> = Generator<unknown, T, unknown>;

export type DoneCallback = (fut: PyFuture) => void;

export interface PyFuture {
  done(): boolean;
  cancelled(): boolean;
  /** Raises (throws) the exception, CancelledError, or InvalidStateError, as Python does. */
  result(): unknown;
  exception(): PyBaseException | null;
  cancel(msg?: string | null): boolean;
  set_result(value: unknown): void;
  set_exception(exc: PyBaseException): void;
  add_done_callback(fn: DoneCallback): void;
  /** Removes every registration of fn; returns how many there were. */
  remove_done_callback(fn: DoneCallback): number;
  /** What `await fut` runs. */
  __await__(): Coroutine;
}

export interface PyTask extends PyFuture {
  cancelling(): number;
  uncancel(): number;
  get_name(): string;
  set_name(name: string): void;
}

export interface PyHandle {
  cancel(): void;
}

export interface ExceptionHandlerContext {
  message: string;
  exception?: PyBaseException;
  /** A destroyed task's report names the task ("Task was destroyed but it is pending!"). */
  task?: PyTask;
  /** "... exception was never retrieved" names the future (or task). */
  future?: PyFuture;
}

export interface PyEventLoop {
  time(): number;
  /**
   * loop.create_task(coro): the scenario's main task is made this way, and so must every other task be.
   * eagerStart: 3.14's eager_start keyword, passed on by asyncio.create_task (undefined: not given).
   */
  create_task(coro: Coroutine, name?: string | null, eagerStart?: boolean | null): PyTask;
  create_future(): PyFuture;
  call_soon(callback: () => void): PyHandle;
  call_later(delay: number, callback: () => void): PyHandle;
  call_at(when: number, callback: () => void): PyHandle;
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

/** An async context manager: `async with cm: ...`. */
export interface PyAsyncContextManager {
  __aenter__(): Coroutine;
  /** Called with the exception that ends the block (null when none); returning true suppresses it. */
  __aexit__(exc: PyBaseException | null): Coroutine<boolean | undefined | null>;
}

export interface PyTaskGroup extends PyAsyncContextManager {
  /** eagerStart: as for AsyncioImplementation.create_task. */
  create_task(coro: Coroutine, name?: string | null, eagerStart?: boolean | null): PyTask;
}

export interface PyTimeout extends PyAsyncContextManager {
  when(): number | null;
  reschedule(when: number | null): void;
  expired(): boolean;
}

/** What asyncio.as_completed returns. */
export interface PyAsCompleted {
  /** Plain iteration: the next awaitable, or undefined when exhausted (StopIteration). */
  __next__(): Coroutine | PyFuture | undefined;
  /** Async iteration (3.13+): awaiting it gives the next finished task or future; it raises StopAsyncIteration at the end. */
  __anext__?(): Coroutine<PyFuture>;
}

export type ReturnWhen = "FIRST_COMPLETED" | "FIRST_EXCEPTION" | "ALL_COMPLETED";

/**
 * The module-level functions of asyncio, acting on the running loop.
 *
 * Every implementation provides `id`, `pythonVersion`, `new_event_loop`,
 * `create_task`, `sleep` and `current_task` (CORE_FUNCTIONS). Each other
 * function serves scenario features (FEATURE_FUNCTIONS) and may be left out
 * when the implementation declares those features `unsupported` (or they
 * are newer than the Python it claims): scenarios that use them are skipped,
 * so the function is never called. harness/engine/contract.ts checks this,
 * the same way for the CLI, aiospec/vitest and the programmatic API.
 */
export interface AsyncioImplementation {
  /** A human-readable id, e.g. "reference@3.13". */
  readonly id: string;
  /** The Python version whose behaviour this implementation claims, e.g. "3.13". */
  readonly pythonVersion: string;
  /**
   * The CPython release of pythonVersion it follows, when it follows one
   * ("3.11.2"): the clauses whose behaviour changed in a patch release hold
   * it to that release (spec/scenario/versions.ts lists the changes aiospec
   * knows), the reference it is compared with runs at that release, and the
   * interpreter runs the scenario's Python statements (except*) as that
   * release does. Absent: the release aiospec models for the version.
   */
  readonly pythonRelease?: string;
  /**
   * Scenario features this implementation does not provide (FEATURES, from
   * spec/scenario/validate.ts, exported by the package's main entry);
   * clauses and scenarios that use one are skipped, with that reason,
   * instead of failing.
   */
  readonly unsupported?: readonly string[];
  new_event_loop(): PyEventLoop;
  /**
   * asyncio.create_task(coro, name=name). eagerStart is the scenario's
   * eager_start (feature "create_task:eager_start"), undefined when the
   * step has none: on 3.14 true starts the task eagerly, false lazily,
   * null as the loop's task factory decides; before 3.14 the call throws
   * TypeError ("create_task() got an unexpected keyword argument
   * 'eager_start'"), as asyncio's does.
   */
  create_task(coro: Coroutine, name?: string | null, eagerStart?: boolean | null): PyTask;
  sleep(delay: number, result?: unknown): Coroutine;
  /** The task running on the running loop (aiospec names the task of every event with it). */
  current_task(): PyTask | null;
  /**
   * asyncio.gather. Also what the scenario's shutdown awaits, as asyncio.run
   * does: gather(pending tasks, true), called outside the running loop (the
   * loop is the tasks'); without gather the harness waits for them itself.
   */
  gather?(aws: Array<Coroutine | PyFuture>, returnExceptions: boolean): PyFuture;
  shield?(aw: Coroutine | PyFuture): PyFuture;
  wait_for?(aw: Coroutine | PyFuture, timeout: number | null): Coroutine;
  /** asyncio.wait: resolves to [done, pending] (their order does not matter). */
  wait?(aws: Array<Coroutine | PyFuture>, timeout: number | null, returnWhen: ReturnWhen): Coroutine<[PyFuture[], PyFuture[]]>;
  as_completed?(aws: Array<Coroutine | PyFuture>, timeout: number | null): PyAsCompleted;
  TaskGroup?(): PyTaskGroup;
  timeout?(delay: number | null): PyTimeout;
  timeout_at?(when: number | null): PyTimeout;
  all_tasks?(): PyTask[];
  /** Install asyncio.eager_task_factory on the loop (3.12+). */
  use_eager_task_factory?(loop: PyEventLoop): void;
  /**
   * gc mode (scenarios with gc / drop / weakref steps): collect every task
   * and future unreachable from the loop's own roots and `roots` (what the
   * scenario holds), reporting destroyed objects to the loop's exception
   * handler in creation order.
   */
  gc_collect?(loop: PyEventLoop, roots: unknown[]): void;
  /** gc mode: whether a task or future has not been collected. */
  gc_alive?(obj: PyFuture): boolean;
}

/** The functions every implementation provides. */
export const CORE_FUNCTIONS = ["new_event_loop", "create_task", "sleep", "current_task"] as const;

/** The other functions, each with the scenario features that call it. */
export const FEATURE_FUNCTIONS = {
  gather: ["gather"],
  shield: ["shield"],
  wait_for: ["wait_for"],
  wait: ["wait"],
  as_completed: ["as_completed"],
  TaskGroup: ["taskgroup", "new_taskgroup"],
  timeout: ["timeout"],
  timeout_at: ["timeout"],
  all_tasks: ["all_tasks"],
  use_eager_task_factory: ["eager"],
  gc_collect: ["gc", "drop", "weakref", "inspect_weakref"],
  gc_alive: ["gc", "drop", "weakref", "inspect_weakref"],
} as const satisfies Record<string, readonly string[]>;

export type FeatureFunction = keyof typeof FEATURE_FUNCTIONS;

/** An implementation with every asyncio function (eager tasks and gc mode aside), as the reference is. */
export type CompleteAsyncioImplementation = AsyncioImplementation &
  Required<Pick<AsyncioImplementation, "gather" | "shield" | "wait_for" | "wait" | "as_completed" | "TaskGroup" | "timeout" | "timeout_at" | "all_tasks">>;

/** Thrown by run_until_complete when nothing can ever happen again. */
export class Deadlock extends Error {
  constructor() {
    // No JavaScript stack: a deadlock is an outcome of the scenario (the trace's end), not a bug
    // of the code throwing it, and capturing the stack was most of its cost on every deadlocked run.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super("deadlock: nothing ready, no timer scheduled, future pending");
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}

/** Thrown by run_until_complete when a run exceeds the iteration budget. */
export class IterationLimit extends Error {
  constructor() {
    super("iteration limit reached");
  }
}

// Thrown by an implementation's loop and caught by the harness's interpreter,
// which may be another copy of this module (engine/brand.ts).
brand(Deadlock, "Deadlock");
brand(IterationLimit, "IterationLimit");

/** The iteration budget a run gets (the Python driver uses the same). */
export const MAX_LOOP_ITERATIONS = 200_000;

export function isCoroutine(x: unknown): x is Coroutine {
  return (
    typeof x === "object" && x !== null &&
    typeof (x as Coroutine).next === "function" &&
    typeof (x as Coroutine).throw === "function"
  );
}
