/**
 * What asyncio's own code holds strongly, told to the collector (gc.ts).
 *
 * gc.ts walks objects through their gcReferents() and the gcRefs a function
 * carries. Two things of CPython's have no object of their own in the
 * reference and are declared with these helpers:
 *   - a callback that closes over objects (`functools.partial(_release_waiter,
 *     waiter)`, gather's `_done_callback` closure, a bound method such as
 *     `self._on_timeout`) holds them: `holding(fn, ...objects)`;
 *   - a suspended coroutine of asyncio's (wait_for, wait, a queue get)
 *     holds its locals in its frame, and the task running it holds that
 *     frame: `inFrame(task, [...locals], body)`. An exception raised
 *     through the frame keeps it in its traceback, and so holds the locals
 *     too, for as long as the exception lives (a task keeps the exception
 *     it ended with).
 *   - an exception's traceback keeps frames that hold objects:
 *     `keptByTraceback(exc, ...objects)`.
 * Free of imports, so every module of the reference can use it.
 */
import type { Coroutine } from "../../harness/engine/api";

/** Declare what `fn` holds (its closure, or the object of a bound method); returns `fn`. */
export function holding<F extends object>(fn: F, ...held: unknown[]): F {
  (fn as { gcRefs?: unknown[] }).gcRefs = held;
  return fn;
}

/** A task's frames: the locals of the asyncio coroutines it is suspended in. */
export interface FrameOwner {
  frameRefs: unknown[][];
}

/** Run `body` with `held` in the frame of `task` (none outside a task) until it ends. */
export function* inFrame<T>(task: FrameOwner | null, held: unknown[], body: Coroutine<T>): Coroutine<T> {
  if (task === null) return yield* body;
  task.frameRefs.push(held);
  try {
    return yield* body;
  } catch (e) {
    if (typeof e === "object" && e !== null) ((e as { gcRefs?: unknown[] }).gcRefs ??= []).push(held);
    throw e;
  } finally {
    const i = task.frameRefs.lastIndexOf(held);
    if (i >= 0) task.frameRefs.splice(i, 1);
  }
}

/** Declare that the traceback of `exc` keeps `held` alive, for as long as `exc` lives. */
export function keptByTraceback(exc: unknown, ...held: unknown[]): void {
  if (typeof exc === "object" && exc !== null) ((exc as { gcRefs?: unknown[] }).gcRefs ??= []).push(held);
}
