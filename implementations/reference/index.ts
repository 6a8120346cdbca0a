/**
 * The aiospec reference implementation of asyncio's task model.
 *
 * Read it module by module, as a textbook:
 *   heapq.ts      the binary heap that orders timers
 *   handles.ts    callbacks scheduled on the loop
 *   loop.ts       the event loop on a virtual clock
 *   futures.ts    Future
 *   tasks.ts      Task, create_task, current_task
 *   sleep.ts      asyncio.sleep
 *   gather.ts     asyncio.gather
 *   shield.ts     asyncio.shield
 *   wait.ts       asyncio.wait
 *   wait_for.ts   asyncio.wait_for
 *   as_completed.ts asyncio.as_completed
 *   timeouts.ts   asyncio.timeout / timeout_at
 *   taskgroups.ts asyncio.TaskGroup
 *   queues.ts     the bits of asyncio.Queue that as_completed uses
 *   pyset.ts      CPython's set, whose iteration order TaskGroup and as_completed expose
 *   exceptions.ts CancelledError, InvalidStateError, TimeoutError
 *   profile.ts    what differs between Python versions (and patch releases)
 */
import type { AsyncioImplementation, CompleteAsyncioImplementation, Coroutine, PyEventLoop, PyFuture } from "../../harness/engine/api";
import { EventLoop, TaskFactory } from "./loop";
import { Profile, PythonVersion, NEWEST, profileFor } from "./profile";
import { atLeast } from "../../spec/scenario/versions";
import { all_tasks, create_task, current_task, taskFactory, eagerTaskFactory } from "./tasks";
import { sleep } from "./sleep";
import { gather } from "./gather";
import { shield } from "./shield";
import { wait } from "./wait";
import { wait_for } from "./wait_for";
import { as_completed } from "./as_completed";
import { timeout, timeout_at } from "./timeouts";
import { TaskGroup } from "./taskgroups";
import { collect as gcCollect } from "./gc";
import type { Future as GcFuture } from "./futures";

export { EventLoop } from "./loop";
export { Future } from "./futures";
export { Task } from "./tasks";
export { VERSIONS, NEWEST, isReferenceVersion } from "./profile";
export { PYTHON_VERSIONS, isPythonVersion, atLeast, compareVersions } from "../../spec/scenario/versions";
export type { PythonVersion, Profile } from "./profile";

/** Hooks mutants use to change one behaviour; the reference itself uses none. */
export interface Variation {
  /** Replace the event loop class (e.g. a loop whose ready queue is LIFO). */
  loopClass?: new (profile: Profile, factory: TaskFactory) => EventLoop;
  /** Model the pure-Python Task (asyncio.tasks._PyTask) instead of the C Task. */
  pyTask?: boolean;
  /**
   * Model this CPython release of `version` ("3.13.2"), for the behaviours
   * that changed in a patch release (profile.ts); default: the release the
   * reference models for the version (releases.ts MODELLED_RELEASES).
   */
  release?: string;
}

export function makeReference(version: PythonVersion = NEWEST, variation: Variation = {}): CompleteAsyncioImplementation {
  const profile = profileFor(version, variation.pyTask, variation.release);
  const LoopClass = variation.loopClass ?? EventLoop;
  return {
    // Stryker disable next-line StringLiteral,ConditionalExpression: equivalent, the id names the implementation in reports and messages; no clause reads it
    id: `reference@${variation.release ?? version}${variation.pyTask ? "+pytask" : ""}`,
    pythonVersion: version,
    ...(variation.release !== undefined ? { pythonRelease: variation.release } : {}),
    new_event_loop: () => new LoopClass(profile, taskFactory),
    // eagerStart: 3.14's create_task(eager_start=...) (undefined: not given).
    create_task: (coro: Coroutine, name?: string | null, eagerStart?: boolean | null) => create_task(coro, name, eagerStart),
    sleep: (delay: number, result?: unknown) => sleep(delay, result),
    gather: (aws: Array<Coroutine | PyFuture>, returnExceptions: boolean) => gather(aws, returnExceptions),
    shield: (aw) => shield(aw),
    wait: (aws, t, returnWhen) => wait(aws, t, returnWhen),
    wait_for: (aw, t) => wait_for(aw, t),
    as_completed: (aws, t) => as_completed(aws, t),
    TaskGroup: () => TaskGroup(),
    timeout: (delay) => timeout(delay),
    timeout_at: (when) => timeout_at(when),
    current_task: () => current_task(),
    all_tasks: () => all_tasks(),
    gc_collect: (loop: PyEventLoop, roots: unknown[]) => gcCollect(loop as EventLoop, roots),
    gc_alive: (obj: PyFuture) => !(obj as GcFuture).collected,
    // asyncio.eager_task_factory exists from 3.12 on.
    ...(atLeast(version, "3.12") ? { use_eager_task_factory: (loop: PyEventLoop) => (loop as EventLoop).set_task_factory(eagerTaskFactory) } : {}),
  };
}

