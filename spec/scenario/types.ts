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
 * Tasks are referred to through handles: `create_task` binds a handle (a
 * scenario-wide name, like a module global) to the new task; later steps in
 * any coroutine refer to it. Using a handle that has not been bound yet at run
 * time is not an error: it records an `unbound` event and the step does nothing.
 *
 * Extension points (later issues): new `op`s in Step and new keys in
 * Awaitable (future, shield, wait_for, wait, as_completed, timeout, TaskGroup,
 * callbacks, eager tasks, gc) — every consumer dispatches on `op` / the
 * awaitable's key and rejects what it does not know, so adding one never
 * changes the meaning of an existing scenario.
 */

/** Values a scenario can produce: JSON scalars. */
export type Scalar = null | boolean | number | string;

/** Exception types a scenario can raise. */
export const RAISABLE_TYPES = [
  "ValueError",
  "KeyError",
  "RuntimeError",
  "CustomError", // class CustomError(Exception): the scenario's own subclass
  "KeyboardInterrupt",
  "SystemExit",
  "CancelledError",
  "TimeoutError",
] as const;
export type RaisableType = (typeof RAISABLE_TYPES)[number];

/** Exception types an `except` clause can name. */
export const CATCHABLE_TYPES = [...RAISABLE_TYPES, "Exception", "BaseException"] as const;
export type CatchableType = (typeof CATCHABLE_TYPES)[number];

export interface ExceptionSpec {
  type: RaisableType;
  /** Constructor arguments, e.g. ["boom"]; CancelledError's first arg is its message. */
  args?: Scalar[];
}

/** Something a step can await. Exactly one key names the kind. */
export type Awaitable =
  | { task: string } // a task handle
  | { coro: string } // a fresh coroutine object of the named coroutine (runs inline)
  | { sleep: number; result?: Scalar } // asyncio.sleep(ticks, result)
  | { gather: Awaitable[]; return_exceptions?: boolean }; // asyncio.gather(...)

export interface LogStep { op: "log"; label: string }
/** await asyncio.sleep(ticks); ticks 0 yields to the loop exactly once. */
export interface SleepStep { op: "sleep"; ticks: number }
/** await coro() without recording the outcome (exceptions propagate). */
export interface CallStep { op: "call"; coro: string }
/** await X, recording the value or the exception (which then propagates). */
export interface AwaitStep { op: "await"; on: Awaitable }
/** handle = asyncio.create_task(coro(), name=name) */
export interface CreateTaskStep { op: "create_task"; coro: string; task: string; name?: string }
/** Records task.cancel(msg)'s return value. */
export interface CancelStep { op: "cancel"; task: string; msg?: string }
/** Records done(), cancelled() and cancelling() of a task. */
export interface InspectStep { op: "inspect"; task: string }
export interface RaiseStep { op: "raise"; exc: ExceptionSpec }
export interface ReturnStep { op: "return"; value?: Scalar }
export interface ExceptClause {
  type: CatchableType;
  body?: Step[];
  /** Re-raise the caught exception after the handler body (a bare `raise`). */
  reraise?: boolean;
}
export interface TryStep { op: "try"; body: Step[]; except?: ExceptClause[]; finally?: Step[] }

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
  | TryStep;

export type Op = Step["op"];
export const OPS: readonly Op[] = [
  "log", "sleep", "call", "await", "create_task", "cancel", "inspect", "raise", "return", "try",
];

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
}

/** Visit every step of a scenario, depth first, with its JSON path. */
export function* walkSteps(scenario: Scenario): Generator<{ step: Step; path: string; coro: string }> {
  function* walk(steps: Step[], path: string, coro: string): Generator<{ step: Step; path: string; coro: string }> {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      const p = `${path}[${i}]`;
      yield { step, path: p, coro };
      if (step.op === "try") {
        yield* walk(step.body, `${p}.body`, coro);
        for (let j = 0; j < (step.except ?? []).length; j++) {
          yield* walk(step.except![j].body ?? [], `${p}.except[${j}].body`, coro);
        }
        yield* walk(step.finally ?? [], `${p}.finally`, coro);
      }
    }
  }
  for (let i = 0; i < scenario.coroutines.length; i++) {
    const c = scenario.coroutines[i];
    yield* walk(c.body, `$.coroutines[${i}].body`, c.name);
  }
}

/** Count the steps of a scenario (nested bodies included). */
export function countSteps(scenario: Scenario): number {
  let n = 0;
  for (const _ of walkSteps(scenario)) n++;
  return n;
}
