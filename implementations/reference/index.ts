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
 *   exceptions.ts CancelledError, InvalidStateError, TimeoutError
 *   profile.ts    what differs between Python versions
 */
import type { AsyncioImplementation, Coroutine, PyFuture } from "../../harness/api";
import { EventLoop, TaskFactory } from "./loop";
import { Profile, PythonVersion, NEWEST, VERSIONS, profileFor } from "./profile";
import { create_task, current_task, taskFactory } from "./tasks";
import { sleep } from "./sleep";
import { gather } from "./gather";

export { EventLoop } from "./loop";
export { Future } from "./futures";
export { Task } from "./tasks";
export { VERSIONS, NEWEST } from "./profile";
export type { PythonVersion, Profile } from "./profile";

/** Hooks mutants use to change one behaviour; the reference itself uses none. */
export interface Variation {
  /** Replace the event loop class (e.g. a loop whose ready queue is LIFO). */
  loopClass?: new (profile: Profile, factory: TaskFactory) => EventLoop;
}

export function makeReference(version: PythonVersion = NEWEST, variation: Variation = {}): AsyncioImplementation {
  const profile = profileFor(version);
  const LoopClass = variation.loopClass ?? EventLoop;
  return {
    id: `reference@${version}`,
    pythonVersion: version,
    new_event_loop: () => new LoopClass(profile, taskFactory),
    create_task: (coro: Coroutine, name?: string | null) => create_task(coro, name ?? null),
    sleep: (delay: number, result?: unknown) => sleep(delay, result ?? null),
    gather: (aws: Array<Coroutine | PyFuture>, returnExceptions: boolean) => gather(aws, returnExceptions),
    current_task: () => current_task(),
  };
}

export function isPythonVersion(v: string): v is PythonVersion {
  return (VERSIONS as readonly string[]).includes(v);
}
