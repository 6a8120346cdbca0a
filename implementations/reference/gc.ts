/**
 * Garbage collection: which tasks and futures a gc step destroys, and what
 * the loop's exception handler hears about them.
 *
 * CPython frees an object when nothing reaches it any more: at once by
 * reference counting, or, for objects in a cycle (every pending task is in
 * one: task -> the future it waits on -> that future's callbacks -> the
 * task's wake-up), when the collector runs. The scenario language makes both
 * visible only at gc steps and at the end of the main run (the driver holds
 * let-go objects in a limbo until then: docs/scenario-language.md, "Garbage
 * collection"), so at those points an object is gone exactly when it is
 * unreachable from the roots. This module decides that by walking the
 * reference's own object graph from the roots, deterministically; it never
 * relies on JavaScript's collector (the reference keeps every object in
 * loop.gcObjects and marks the collected ones).
 *
 * Edges (what holds what strongly, as in CPython):
 *   future -> its done callbacks (a task's wake-up is a bound method: it
 *             holds the task);
 *   task   -> the future its coroutine waits on (fut_waiter, and the
 *             coroutine frame that awaits it), and its done callbacks;
 *             while a step runs, the exception it threw into the
 *             coroutine (C task_wakeup's `exc`), caught or not;
 *   a task's coroutine object (pending) -> what its frame holds: the
 *             future it waits on and its frames' locals (a driver frame
 *             that keeps the coroutine, as_completed's argument list,
 *             keeps all that); before its first step, its arguments
 *             (gcrefs.ts argsInFrame for asyncio's coroutines, and the
 *             interpreter's for the driver's wait);
 *   a future (3.14) -> the tasks recorded as awaiting it (asyncio.wait's
 *             and shield's awaited-by sets, left on a member still pending);
 *   handle -> its callback and arguments (a task's step is a bound method;
 *             sleep's timer holds the future the sleeping task waits on);
 *   an exception -> its cause, context, grouped exceptions, and what the
 *             frames of its traceback hold (gcRefs, noted by the
 *             interpreter and by gcrefs.ts keptByTraceback): the object each
 *             await it propagated out of was awaiting (the driver's
 *             await_recorded frame keeps `aw`), an asyncio coroutine's
 *             locals (its arguments already when it is thrown into before
 *             its first step: gcrefs.ts argsInFrame), an eager task that failed in its first step
 *             (create_task's frames, and under them, when the calling
 *             task's coroutine ended in its own eager step, that task and
 *             its caller's frames), the driver frame's locals of a
 *             `taskgroup` / `timeout` block the exception left (the context
 *             manager), of a loop over as_completed (its parts and the item
 *             in hand), of a TaskGroup's create_task (the group), the
 *             handle a KeyboardInterrupt left
 *             the loop from; with the pure-Python Task, whose step runs in
 *             Python frames, the future whose wake-up ran the step that
 *             ended the task and the exception thrown in (__wakeup's and
 *             __step's locals), and an eager task's creator
 *             (__eager_start's prev_task). (A plain program's `await gather(...)` keeps
 *             its gather on the frame's stack, which a traceback does not
 *             keep: there the driver, and so the reference, keep more than
 *             the program would; see test/gc-tracebacks.test.ts.)
 *   any object with gcReferents() -> what that returns.
 * What else a coroutine's frames hold (locals of asyncio's own coroutines:
 * wait's set of futures, as_completed's queue, ...) is not modelled: a
 * scenario whose outcome depends on it can differ from CPython.
 *
 * When an object is destroyed (in creation order, as the driver orders the
 * reports): a pending task is reported "Task was destroyed but it is
 * pending!"; a task or future whose exception nobody retrieved (result(),
 * exception(), or an await, which calls result()) is reported "<Task|Future>
 * exception was never retrieved" with the exception.
 */
import type { Future } from "./futures";
import type { EventLoop } from "./loop";
import { Task } from "./tasks";
import { PyBaseException } from "./exceptions";

/**
 * The loop's own roots. Each is a root because CPython holds it from
 * something that is not itself collectable while the loop runs:
 */
export function loopRoots(loop: EventLoop): unknown[] {
  const queues = loop as unknown as { ready: unknown[]; scheduled: unknown[] };
  return [
    // The ready queue (loop._ready, a deque owned by the loop): handles still
    // to run in this iteration — the running one is held by _run_once's frame —
    // and those queued for the next.
    ...loop.runningBatch.slice(loop.runningBatchPos),
    ...queues.ready,
    // The timer heap (loop._scheduled): a sleeping task is held by its timer,
    // through the sleep future and that future's wake-up callback.
    ...queues.scheduled,
    // The current task (asyncio's _current_tasks[loop]; null between tasks,
    // which reachable() skips), and tasks whose step is on the C stack below
    // an eager first step (swapped out, not finished).
    loop.currentTask,
    ...loop.swappedOutTasks,
    // Tasks in their eager first step (asyncio's _eager_tasks is a plain set
    // during the step).
    ...loop.eagerTasks,
    // Not a root: the task registry all_tasks() reads (asyncio's
    // _scheduled_tasks is a WeakSet in 3.11-3.13; 3.14 keeps a per-thread
    // list it does not count as a reference). A mutant holds it strongly.
  ];
}

/** Mark everything reachable from roots. */
export function reachable(roots: unknown[]): Set<unknown> {
  const seen = new Set<unknown>();
  const stack = [...roots];
  while (stack.length > 0) {
    const x = stack.pop();
    // Only objects and functions hold anything (undefined, strings, numbers: nothing).
    if (typeof x !== "object" && typeof x !== "function") continue;
    if (x === null || seen.has(x)) continue;
    seen.add(x);
    if (Array.isArray(x)) {
      stack.push(...x);
      continue;
    }
    if (x instanceof PyBaseException) {
      // An exception holds its __cause__, __context__, grouped exceptions,
      // and (gcRefs, set by the interpreter) what the frames of its
      // traceback hold.
      // (The grouped exceptions as their list: arrays are walked too.)
      stack.push(x.cause, x.context, x.exceptions);
    }
    const refs = (x as { gcRefs?: unknown[] }).gcRefs;
    if (refs !== undefined) stack.push(...refs);
    const referents = (x as { gcReferents?: () => unknown[] }).gcReferents;
    if (typeof referents === "function") stack.push(...referents.call(x));
  }
  return seen;
}

/**
 * gc.collect(): destroy every task and future of the loop that the roots
 * (the loop's and the scenario's) do not reach, reporting as CPython's
 * finalizers do.
 */
export function collect(loop: EventLoop, scenarioRoots: unknown[], ownRoots: unknown[] = loopRoots(loop)): void {
  const alive = reachable([...ownRoots, ...scenarioRoots]);
  // In creation order, the order the driver reports in: loop.gcObjects gets
  // each task and future as it is numbered (and loses it when collected).
  const dead = loop.gcObjects.filter((obj) => !alive.has(obj));
  for (const obj of dead) {
    obj.collected = true;
    (loop.scheduledTasks as Set<Future>).delete(obj); // gone from the WeakSet (a future never was in it)
  }
  for (const obj of dead) {
    if (obj instanceof Task && !obj.done()) {
            if (obj.logDestroyPending) loop.call_exception_handler({ message: "Task was destroyed but it is pending!", task: obj });
    } else if (obj.logTraceback) {
      const exception = obj.exception() ?? undefined; // as CPython's finalizer reads it (not a retrieval any more)
      const kind = obj instanceof Task ? "Task" : "Future";
      loop.call_exception_handler({ message: `${kind} exception was never retrieved`, exception, future: obj });
    }
  }
  // The coroutines of the pending tasks destroyed are closed (their
  // finalizers), in creation order; what their blocks do is not recorded
  // (the interpreter is collecting).
  for (const obj of dead) if (obj instanceof Task && !obj.done()) obj.closeCoroutine();
  // Forget what was collected (nothing can reach it any more).
  const kept = loop.gcObjects.filter((o) => !o.collected);
  loop.gcObjects.length = 0;
  loop.gcObjects.push(...kept);
}
