/**
 * The aiospec scenario language, version 1.
 *
 * A scenario is a JSON program of coroutines. Every implementation runs the
 * same JSON and returns a trace (see ./trace.ts). The coroutine named "main" is
 * the entry point: it runs as the first task, like asyncio.run(main()).
 *
 * Termination is guaranteed by construction: there are no loops, and the
 * graph of "coroutine A calls or spawns coroutine B" must be acyclic (the
 * validator rejects cycles), so every run executes finitely many steps.
 *
 * Tasks are referred to through handles: `create_task` (or `ensure_future`) binds a handle (a
 * scenario-wide name, like a module global) to the new task; later steps in
 * any coroutine refer to it. Using a handle that has not been bound yet at run
 * time is not an error: it records an `unbound` event and the step does nothing.
 *
 * Handles live in separate namespaces by kind: task/future handles (bound
 * by create_task and create_future), TaskGroup handles, timeout context
 * manager handles, and timer handles (call_soon / call_later / call_at).
 *
 * Extension points: new `op`s in Step and new keys in Awaitable — every
 * consumer dispatches on `op` / the awaitable's key and rejects what it does
 * not know, so adding one never changes the meaning of an existing scenario.
 */

/** Values a scenario can produce: JSON scalars. */
export type Scalar = null | boolean | number | string;

/** Exception types a scenario can raise. */
export const RAISABLE_TYPES = [
  "ValueError",
  "ExceptionGroup",
  "BaseExceptionGroup",
  "KeyError",
  "RuntimeError",
  "CustomError", // class CustomError(Exception): the scenario's own subclass
  "KeyboardInterrupt",
  "SystemExit",
  "CancelledError",
  "TimeoutError",
  // Only in set_exception (the validator refuses it in a raise step: PEP 479
  // turns a StopIteration leaving a coroutine into RuntimeError).
  "StopIteration",
] as const;
export type RaisableType = (typeof RAISABLE_TYPES)[number];

/** Exception types an `except` clause can name. */
export const CATCHABLE_TYPES = [...RAISABLE_TYPES, "Exception", "BaseException"] as const;
export type CatchableType = (typeof CATCHABLE_TYPES)[number];

export interface ExceptionSpec {
  type: RaisableType;
  /** Constructor arguments, e.g. ["boom"]; CancelledError's first arg is its message; for groups, the message. */
  args?: Scalar[];
  /** The grouped exceptions of an ExceptionGroup / BaseExceptionGroup (at least one). */
  exceptions?: ExceptionSpec[];
}

/** Something a step can await. Exactly one key names the kind. */
export type Awaitable =
  | { task: string } // a task or future handle
  | { coro: string } // a fresh coroutine object of the named coroutine (runs inline)
  | { sleep: number; result?: Scalar } // asyncio.sleep(ticks, result)
  | { gather: Awaitable[]; return_exceptions?: boolean } // asyncio.gather(...)
  | { shield: Awaitable } // asyncio.shield(aw)
  | { wait_for: Awaitable; timeout: number | null } // asyncio.wait_for(aw, timeout)
  | { wait: Awaitable[]; timeout?: number | null; return_when?: ReturnWhen }; // asyncio.wait(aws, ...)

export type ReturnWhen = "FIRST_COMPLETED" | "FIRST_EXCEPTION" | "ALL_COMPLETED";
export const AWAITABLE_KINDS = ["task", "coro", "sleep", "gather", "shield", "wait_for", "wait"] as const;

export interface LogStep { op: "log"; label: string }
/** await asyncio.sleep(ticks); ticks 0 yields to the loop exactly once. */
export interface SleepStep { op: "sleep"; ticks: number }
/** await coro() without recording the outcome (exceptions propagate). */
export interface CallStep { op: "call"; coro: string }
/** await X, recording the value or the exception (which then propagates). */
export interface AwaitStep { op: "await"; on: Awaitable }
/**
 * handle = asyncio.create_task(coro(), name=name), or, with `group`,
 * handle = group.create_task(coro(), name=name) on a TaskGroup handle.
 * With `eager_start` (true, false or null), the call also passes
 * eager_start=that: 3.14 starts the task eagerly (true), lazily (false), or
 * as the loop's task factory decides (null); before 3.14 the call raises
 * TypeError (an unexpected keyword argument) and no task is made.
 */
export interface CreateTaskStep { op: "create_task"; coro: string; task: string; name?: string; group?: string; eager_start?: boolean | null }
/** Records task.cancel(msg)'s return value (tasks and futures). */
export interface CancelStep { op: "cancel"; task: string; msg?: string }
/** Records done(), cancelled(), and for tasks cancelling() and get_name(). */
export interface InspectStep { op: "inspect"; task: string }
export interface RaiseStep { op: "raise"; exc: ExceptionSpec }
export interface ReturnStep { op: "return"; value?: Scalar }
export interface ExceptClause {
  type: CatchableType;
  body?: Step[];
  /** Re-raise the caught exception (or, in except*, the matched group) after the handler body. */
  reraise?: boolean;
}
/** try / except (or except* with `star`) / finally. */
export interface TryStep { op: "try"; body: Step[]; except?: ExceptClause[]; star?: boolean; finally?: Step[] }

/** handle = loop.create_future() */
export interface CreateFutureStep { op: "create_future"; future: string }
/**
 * handle = asyncio.ensure_future(on): a handle on the future a combinator
 * returns (gather's _GatheringFuture, shield's outer future), on a task
 * wrapping a coroutine ({coro}, {sleep}, {wait_for}, {wait}), or on the task
 * or future itself ({task}).
 */
export interface EnsureFutureStep { op: "ensure_future"; on: Awaitable; future: string }
/**
 * coro() as a statement: a coroutine object made and dropped, never awaited.
 * Records never_awaited (CPython's RuntimeWarning "coroutine ... was never
 * awaited") when it is destroyed: at once, or in gc mode at the next collection.
 */
export interface UnawaitedStep { op: "unawaited"; coro: string }
/** Records the outcome of fut.set_result(value): ok, or the exception it raised (never propagates). */
export interface SetResultStep { op: "set_result"; future: string; value?: Scalar }
/** Records the outcome of fut.set_exception(exc) (never propagates). */
export interface SetExceptionStep { op: "set_exception"; future: string; exc: ExceptionSpec }
/** Records what fut.result() returns or raises (never propagates). */
export interface ResultStep { op: "result"; task: string }
/** Records what fut.exception() returns or raises (never propagates). */
export interface ExceptionStep { op: "exception"; task: string }
/** Records task.uncancel()'s return value. */
export interface UncancelStep { op: "uncancel"; task: string }
/** task.set_name(name). */
export interface SetNameStep { op: "set_name"; task: string; name: string }
/** Records the name of asyncio.current_task() (null outside a task). */
export interface CurrentTaskStep { op: "current_task" }
/** Records the sorted names of asyncio.all_tasks(). */
export interface AllTasksStep { op: "all_tasks" }
/** fut.add_done_callback(callback) with a callback defined in `callbacks`. */
export interface AddDoneCallbackStep { op: "add_done_callback"; task: string; callback: string }
/** Records fut.remove_done_callback(callback)'s return value. */
export interface RemoveDoneCallbackStep { op: "remove_done_callback"; task: string; callback: string }
/** handle = loop.call_soon(callback) */
export interface CallSoonStep { op: "call_soon"; callback: string; handle?: string }
/** handle = loop.call_later(delay, callback) */
export interface CallLaterStep { op: "call_later"; delay: number; callback: string; handle?: string }
/** handle = loop.call_at(when, callback); `when` is absolute virtual time. */
export interface CallAtStep { op: "call_at"; when: number; callback: string; handle?: string }
/** handle.cancel() on a call_soon / call_later / call_at handle. */
export interface CancelHandleStep { op: "cancel_handle"; handle: string }
/** async with asyncio.TaskGroup() as group: body */
export interface TaskGroupStep { op: "taskgroup"; group: string; body: Step[] }
/** group = asyncio.TaskGroup(), never entered (create_task on it raises RuntimeError). */
export interface NewTaskGroupStep { op: "new_taskgroup"; group: string }
/**
 * async with asyncio.timeout(delay) as cm: body — or, with `at`,
 * asyncio.timeout_at(delay) where delay is an absolute virtual time.
 * delay null: no deadline.
 */
export interface TimeoutStep { op: "timeout"; cm?: string; delay: number | null; at?: boolean; body: Step[] }
/** cm.reschedule(now + delay), or cm.reschedule(delay) with `at`; null removes the deadline. */
export interface RescheduleStep { op: "reschedule"; cm: string; delay: number | null; at?: boolean }
/** Records cm.when() and cm.expired(). */
export interface InspectTimeoutStep { op: "inspect_timeout"; cm: string }
/**
 * for aw in asyncio.as_completed(on, timeout=timeout): await aw (recording each outcome),
 * or, with mode "async" (3.13+), async for t in as_completed(...): await t.
 */
export interface AsCompletedStep {
  op: "as_completed";
  on: Awaitable[];
  timeout?: number | null;
  mode?: "iter" | "async";
}

/**
 * Weak references and garbage collection (see docs/scenario-language.md, "Garbage collection").
 * gc: gc.collect(); the reports of objects freed since the last gc step (or now) are recorded here.
 */
export interface GcStep { op: "gc" }
/** The scenario forgets its handle (a task or future): `del handles[H]`; the object lives on only if something else holds it. */
export interface DropStep { op: "drop"; handle: string }
/** weakrefs[ref] = weakref.ref(handles[task]) */
export interface WeakrefStep { op: "weakref"; task: string; ref: string }
/** Records whether weakrefs[ref]() is alive (not yet collected as of the last gc step). */
export interface InspectWeakrefStep { op: "inspect_weakref"; ref: string }

export type Step =
  | LogStep
  | SleepStep
  | CallStep
  | AwaitStep
  | CreateTaskStep
  | CancelStep
  | InspectStep
  | RaiseStep
  | ReturnStep
  | TryStep
  | CreateFutureStep
  | SetResultStep
  | SetExceptionStep
  | ResultStep
  | ExceptionStep
  | UncancelStep
  | SetNameStep
  | CurrentTaskStep
  | AllTasksStep
  | AddDoneCallbackStep
  | RemoveDoneCallbackStep
  | CallSoonStep
  | CallLaterStep
  | CallAtStep
  | CancelHandleStep
  | TaskGroupStep
  | NewTaskGroupStep
  | TimeoutStep
  | RescheduleStep
  | InspectTimeoutStep
  | AsCompletedStep
  | GcStep
  | DropStep
  | WeakrefStep
  | InspectWeakrefStep
  | EnsureFutureStep
  | UnawaitedStep;

export type Op = Step["op"];
export const OPS: readonly Op[] = [
  "log", "sleep", "call", "await", "create_task", "cancel", "inspect", "raise", "return", "try",
  "create_future", "set_result", "set_exception", "result", "exception", "uncancel", "set_name",
  "current_task", "all_tasks", "add_done_callback", "remove_done_callback", "call_soon", "call_later",
  "call_at", "cancel_handle", "taskgroup", "new_taskgroup", "timeout", "reschedule", "inspect_timeout",
  "as_completed",
  "gc", "drop", "weakref", "inspect_weakref",
  "ensure_future", "unawaited",
];

/** Ops that put a scenario in gc mode: collectable objects and their reports become observable. */
export const GC_OPS: readonly Op[] = ["gc", "drop", "weakref", "inspect_weakref"];

/**
 * Steps a plain callback may run: everything that does not await. (A
 * callback runs synchronously inside the loop, outside any task.)
 */
export const SYNC_OPS: readonly Op[] = [
  "log", "create_task", "cancel", "inspect", "raise", "create_future", "set_result", "set_exception",
  "result", "exception", "uncancel", "set_name", "current_task", "all_tasks", "add_done_callback",
  "remove_done_callback", "call_soon", "call_later", "call_at", "cancel_handle",
  "gc", "drop", "weakref", "inspect_weakref", "ensure_future", "unawaited",
];

/** A plain function run by the loop: a done callback (it gets the future) or a call_soon / call_later callback. */
export interface CallbackDef {
  name: string;
  body: Step[];
}

export interface CoroutineDef {
  name: string;
  body: Step[];
}

export interface Scenario {
  /** Language version. */
  aiospec: 1;
  /** Optional free text: where the scenario comes from, what it shows. */
  description?: string;
  coroutines: CoroutineDef[];
  /** Plain callbacks, referred to by name from add_done_callback / call_soon / call_later / call_at. */
  callbacks?: CallbackDef[];
  /** Run with asyncio.eager_task_factory installed on the loop (3.12+). */
  eager?: boolean;
}

/** Visit every step of a scenario, depth first, with its JSON path. */
export function walkSteps(scenario: Scenario): Array<{ step: Step; path: string; coro: string }> {
  // Built as one array by plain recursion: a generator delegating to
  // generators (yield*) pays for every level of nesting at every step, and
  // every scenario a diff generates is walked this way several times.
  const out: Array<{ step: Step; path: string; coro: string }> = [];
  const walk = (steps: Step[], path: string, coro: string): void => {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      const p = `${path}[${i}]`;
      out.push({ step, path: p, coro });
      if (step.op === "try") {
        walk(step.body, `${p}.body`, coro);
        for (let j = 0; j < (step.except ?? []).length; j++) {
          walk(step.except![j].body ?? [], `${p}.except[${j}].body`, coro);
        }
        walk(step.finally ?? [], `${p}.finally`, coro);
      } else if (step.op === "taskgroup" || step.op === "timeout") {
        walk(step.body, `${p}.body`, coro);
      } else if ((step as { op: string }).op === "repeat") {
        // A repeat not written out yet (spec/scenario/repeat.ts): its body, once.
        walk((step as unknown as { body: Step[] }).body, `${p}.body`, coro);
      }
    }
  };
  for (let i = 0; i < scenario.coroutines.length; i++) {
    const c = scenario.coroutines[i];
    walk(c.body, `$.coroutines[${i}].body`, c.name);
  }
  const callbacks = scenario.callbacks ?? [];
  for (let i = 0; i < callbacks.length; i++) {
    walk(callbacks[i].body, `$.callbacks[${i}].body`, `callback:${callbacks[i].name}`);
  }
  return out;
}

/**
 * Call `visit` on every step of the scenario, in walkSteps' order, with
 * whether it is in a callback and the name of its coroutine or callback:
 * walkSteps without its paths and its array, for the generator and the
 * clauses' evidence, which walk every scenario they see (a repeat not
 * written out visits its body once, as there).
 */
export function forEachStep(scenario: Scenario, visit: (step: Step, inCallback: boolean, name: string) => void): void {
  const walk = (steps: Step[], inCallback: boolean, name: string): void => {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      visit(step, inCallback, name);
      if (step.op === "try") {
        walk(step.body, inCallback, name);
        if (step.except !== undefined) for (const h of step.except) if (h.body !== undefined) walk(h.body, inCallback, name);
        if (step.finally !== undefined) walk(step.finally, inCallback, name);
      } else if (step.op === "taskgroup" || step.op === "timeout") {
        walk(step.body, inCallback, name);
      } else if ((step as { op: string }).op === "repeat") {
        walk((step as unknown as { body: Step[] }).body, inCallback, name);
      }
    }
  };
  for (const c of scenario.coroutines) walk(c.body, false, c.name);
  if (scenario.callbacks !== undefined) for (const c of scenario.callbacks) walk(c.body, true, c.name);
}

/** Count the steps of a scenario (nested bodies included). */
export function countSteps(scenario: Scenario): number {
  return walkSteps(scenario).length;
}

/** Whether a scenario uses weak references or garbage collection (gc mode: see docs/scenario-language.md). */
export function usesGc(scenario: Scenario): boolean {
  return someStep(scenario, (step) => GC_OPS.includes(step.op));
}

/**
 * Whether some step of the scenario (nested bodies included, in walkSteps'
 * order) satisfies `test`: walkSteps without its generators and paths, for
 * checks made on every scenario run.
 */
export function someStep(scenario: Scenario, test: (step: Step) => boolean): boolean {
  const inBody = (steps: Step[]): boolean => {
    for (const step of steps) {
      if (test(step)) return true;
      if (step.op === "try") {
        if (inBody(step.body)) return true;
        for (const h of step.except ?? []) if (inBody(h.body ?? [])) return true;
        if (inBody(step.finally ?? [])) return true;
      } else if (step.op === "taskgroup" || step.op === "timeout") {
        if (inBody(step.body)) return true;
      } else if ((step as { op: string }).op === "repeat" && inBody((step as unknown as { body: Step[] }).body)) return true;
    }
    return false;
  };
  return scenario.coroutines.some((c) => inBody(c.body)) || (scenario.callbacks ?? []).some((c) => inBody(c.body));
}
