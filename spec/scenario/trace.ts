/**
 * The trace: what an implementation reports after running a scenario.
 *
 * Every event carries the virtual time (`time`, in ticks) and the name of the
 * running task (`task`, null outside any task, e.g. in a plain callback).
 * Default task names are normalised so that the main task is "Task-1" and the
 * counter counts from there, whatever the process ran before.
 *
 * Two traces are equal when their canonical JSON (sorted keys, no spaces) is
 * equal. `firstDifference` names the first diverging event.
 */
import type { Scalar } from "./types";

export interface ExceptionData {
  type: string;
  args: TraceValue[];
  /** Children of an ExceptionGroup / BaseExceptionGroup. */
  exceptions?: ExceptionData[];
  /** __cause__, when the exception was raised `from` another. (__context__ is not recorded.) */
  cause?: ExceptionData;
}

/** Values in a trace: scalars, lists, and tagged objects for exceptions and tasks. */
export type TraceValue =
  | Scalar
  | TraceValue[]
  | { exc: ExceptionData }
  | { task: string | null }
  | { future: string } // a scenario future, by the handle it was created with
  | { repr: string };

interface EventBase { time: number; task: string | null }

export type TraceEvent = EventBase & (
  | { ev: "log"; label: string }
  | { ev: "enter"; coro: string }
  | { ev: "exit"; coro: string; value?: TraceValue; exc?: ExceptionData }
  | { ev: "create_task"; ref: string; name: string }
  | { ev: "awaited"; on: string; value?: TraceValue; exc?: ExceptionData }
  | { ev: "cancel"; ref: string; returned: boolean }
  | { ev: "inspect"; ref: string; done: boolean; cancelled: boolean; cancelling?: number; name?: string }
  | { ev: "caught"; exc: ExceptionData }
  | { ev: "unbound"; ref: string }
  /** `of`: in gc mode, the task or future a destruction report is about ("destroyed but it is pending", "never retrieved"). */
  | { ev: "exception_handler"; message: string; exc?: ExceptionData; of?: TraceValue }
  | { ev: "shutdown" }
  | { ev: "create_future"; ref: string }
  | { ev: "ensure_future"; ref: string; future: TraceValue }
  | { ev: "never_awaited"; coro: string }
  // Probes: a method call's return value, or the exception it raised (never propagated).
  | { ev: "set_result" | "set_exception" | "result" | "exception" | "uncancel"; ref: string; value?: TraceValue; exc?: ExceptionData }
  | { ev: "current_task"; name: string | null }
  | { ev: "all_tasks"; names: string[] }
  | { ev: "remove_done_callback"; ref: string; callback: string; returned: number }
  /** A scenario callback runs; `arg` is the future a done callback receives. */
  | { ev: "callback"; callback: string; arg?: TraceValue }
  | { ev: "inspect_timeout"; ref: string; when: TraceValue; expired: boolean }
  /** inspect_weakref: whether the weakly referenced task or future is still alive. */
  | { ev: "weakref"; ref: string; alive: boolean }
  /** async iteration of as_completed (3.13+) yielded this task or future. */
  | { ev: "as_completed"; item: TraceValue }
);

export type TaskOutcome =
  | { state: "pending" }
  | { state: "cancelled" }
  | { state: "result"; value: TraceValue }
  | { state: "exception"; exc: ExceptionData };

/** How a run of the loop ended. */
export type RunEnd =
  | { kind: "complete" } // the awaited future finished
  | { kind: "deadlock" } // nothing ready, no timer, and the future still pending
  | { kind: "interrupted"; exc: ExceptionData } // KeyboardInterrupt / SystemExit escaped the loop
  | { kind: "iteration_limit" } // safety net; never expected for a valid scenario
  | { kind: "error"; exc: ExceptionData }; // the loop itself raised

export interface Trace {
  events: TraceEvent[];
  /** How the main run ended. */
  end: RunEnd;
  /** The main task's outcome when the main run ended. */
  main: TaskOutcome;
  /** Every task created, in creation order (main first), as it stood when the main run ended. */
  tasks: Array<TaskOutcome & { name: string; ref: string | null }>;
  /**
   * If tasks were still pending when the main run ended (and it did not
   * deadlock): they are cancelled in creation order and the loop runs until
   * they finish, as asyncio.run does; events of that phase follow a
   * `shutdown` event, and this says how it ended.
   */
  shutdown?: RunEnd;
}

/** Canonical JSON: object keys sorted, no whitespace, integral numbers as integers. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

/**
 * How deeply a value may nest (arrays and objects) to be canonicalised. A
 * real trace nests a few dozen levels (exception groups inside exceptions);
 * traces come from untrusted implementations, and JSON.stringify itself
 * recurses, so the limit keeps it far from the stack's end.
 */
export const MAX_TRACE_DEPTH = 1000;

/** A value nested more deeply than MAX_TRACE_DEPTH. */
export class TraceTooDeepError extends RangeError {
  constructor(readonly limit: number) {
    super(`the trace nests deeper than ${limit} levels (the trace depth limit)`);
  }
}

/**
 * A copy of v with every object's keys sorted, undefined members dropped and
 * -0 as 0. Iterative (an explicit stack, not recursion) so that a hostile
 * trace cannot overflow the call stack; throws TraceTooDeepError past
 * MAX_TRACE_DEPTH, before building anything deeper.
 */
function sortKeys(v: unknown): unknown {
  const leaf = (x: unknown) => (typeof x === "number" && Object.is(x, -0) ? 0 : x);
  if (v === null || typeof v !== "object") return leaf(v);
  const root: { value?: unknown } = {};
  // Each entry: a source container to copy into `into[key]`, at depth `depth`.
  const stack: Array<{ src: object; into: Record<string | number, unknown>; key: string | number; depth: number }> = [
    { src: v as object, into: root as Record<string, unknown>, key: "value", depth: 1 },
  ];
  while (stack.length > 0) {
    const { src, into, key, depth } = stack.pop()!;
    if (depth > MAX_TRACE_DEPTH) throw new TraceTooDeepError(MAX_TRACE_DEPTH);
    const push = (child: unknown, target: Record<string | number, unknown>, k: string | number) => {
      if (child !== null && typeof child === "object") stack.push({ src: child, into: target, key: k, depth: depth + 1 });
      else target[k] = leaf(child);
    };
    if (Array.isArray(src)) {
      const out: unknown[] = new Array(src.length);
      into[key] = out;
      for (let i = 0; i < src.length; i++) push(src[i], out as unknown as Record<number, unknown>, i);
    } else {
      const out: Record<string, unknown> = {};
      into[key] = out;
      // Keys are inserted in sorted order now; children filled in later keep their slot.
      for (const k of Object.keys(src).sort()) {
        const x = (src as Record<string, unknown>)[k];
        if (x === undefined) continue;
        out[k] = null;
        push(x, out, k);
      }
    }
  }
  return root.value;
}

export function tracesEqual(a: Trace, b: Trace): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

export interface TraceDifference {
  /** Where the traces part: "events[12]", "end", "main", "tasks[2]" or "shutdown". */
  where: string;
  /** Index of the first diverging event, when the difference is in the events. */
  index?: number;
  a: unknown;
  b: unknown;
}

/** The first place where two traces differ, or null when they are equal. */
export function firstDifference(a: Trace, b: Trace): TraceDifference | null {
  const n = Math.max(a.events.length, b.events.length);
  for (let i = 0; i < n; i++) {
    const ea = a.events[i];
    const eb = b.events[i];
    if (canonicalJson(ea ?? null) !== canonicalJson(eb ?? null)) {
      return { where: `events[${i}]`, index: i, a: ea ?? "(no event)", b: eb ?? "(no event)" };
    }
  }
  for (const key of ["end", "main", "tasks", "shutdown"] as const) {
    if (key === "tasks") {
      const m = Math.max(a.tasks.length, b.tasks.length);
      for (let i = 0; i < m; i++) {
        if (canonicalJson(a.tasks[i] ?? null) !== canonicalJson(b.tasks[i] ?? null)) {
          return { where: `tasks[${i}]`, a: a.tasks[i] ?? "(no task)", b: b.tasks[i] ?? "(no task)" };
        }
      }
    } else if (canonicalJson(a[key] ?? null) !== canonicalJson(b[key] ?? null)) {
      return { where: key, a: a[key] ?? null, b: b[key] ?? null };
    }
  }
  return null;
}

/** One event as a short line of text, for diffs and listings. */
export function formatEvent(e: TraceEvent | undefined): string {
  if (!e) return "(no event)";
  const { time, task, ev, ...rest } = e as TraceEvent & Record<string, unknown>;
  const fields = Object.keys(rest)
    .sort()
    .map((k) => `${k}=${canonicalJson((rest as Record<string, unknown>)[k])}`)
    .join(" ");
  return `t=${time} [${task ?? "-"}] ${ev}${fields ? " " + fields : ""}`;
}
