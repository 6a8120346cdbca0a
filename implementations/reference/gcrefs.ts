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
 * It imports only the engine's frames.ts (argsHeld, shared with the
 * interpreter), so every module of the reference can use it.
 */
import type { Coroutine } from "../../harness/engine/api";
import { argsHeld } from "../../harness/engine/frames";

/** Declare what `fn` holds (its closure, or the object of a bound method); returns `fn`. */
export function holding<F extends object>(fn: F, ...held: unknown[]): F {
  (fn as { gcRefs?: unknown[] }).gcRefs = held;
  return fn;
}

/** A task's frames: the locals of the asyncio coroutines it is suspended in. */
export interface FrameOwner {
  frameRefs: unknown[][];
}

/**
 * Run `body` with `held` in the frame of `task` until it ends. asyncio's
 * coroutines that use it (wait_for, wait, as_completed) run only inside a
 * task: a scenario awaits in a task, and run_until_complete wraps in one.
 */
export function* inFrame<T>(task: FrameOwner, held: unknown[], body: Coroutine<T>): Coroutine<T> {
  task.frameRefs.push(held);
  try {
    return yield* body;
  } catch (e) {
    // (What leaves an asyncio coroutine is a Python exception, an object.)
    // Stryker disable next-line ArrayDeclaration: equivalent, a string in the list holds nothing for gc.ts
    ((e as { gcRefs?: unknown[] }).gcRefs ??= []).push(held);
    throw e;
  } finally {
    const i = task.frameRefs.lastIndexOf(held);
    // Stryker disable next-line ConditionalExpression: equivalent in the reference, `held` was pushed by this call and only this line takes it off, so i >= 0; the test keeps hand-written mutants that cut frameRefs short (mutants/functions.ts) from taking off another frame's list
    if (i >= 0) task.frameRefs.splice(i, 1);
  }
}

/** Declare that the traceback of `exc` keeps `held` alive, for as long as `exc` lives. */
export function keptByTraceback(exc: object, ...held: unknown[]): void {
  // Stryker disable next-line ArrayDeclaration: equivalent, a string in the list holds nothing for gc.ts
  ((exc as { gcRefs?: unknown[] }).gcRefs ??= []).push(held);
}

/**
 * A coroutine of asyncio's holds its arguments in its frame from the moment
 * it is called, before it runs. An exception thrown into it before its first
 * step (its task cancelled before it started: the task throws CancelledError
 * into the fresh coroutine) leaves from that frame, so its traceback keeps
 * the frame and the arguments, for as long as the exception lives (a
 * cancelled task keeps its CancelledError, and gather hands that very
 * object on). Until then the coroutine object itself holds that frame, and
 * so the arguments: a task that has not taken its first step keeps them
 * alive (`ensure_future(wait([t]))` keeps `t` until the task starts). A
 * JavaScript generator thrown into before it starts runs none of its body,
 * and hides what it closes over from gc.ts; this wrapper declares what the
 * frame holds then (its gcRefs, until the first step; a suspended
 * coroutine's locals are the task's frameRefs, inFrame).
 */
export function argsInFrame<T>(args: unknown[], body: Coroutine<T>): Coroutine<T> {
  return argsHeld(args, body);
}
