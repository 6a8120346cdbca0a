/**
 * What Python frames hold, declared for a collector that models them (the
 * reference's gc.ts reads `gcRefs`: the objects a frame, or a traceback
 * through it, keeps alive). Used by the interpreter for the driver's frames
 * and by the reference for asyncio's own coroutines.
 */
import type { Coroutine } from "./api";
import { PyBaseException } from "./pyexc";

/**
 * `held` (what a frame holds) stays alive as long as `e` does, its
 * traceback keeping that frame.
 */
export function keptByError(e: PyBaseException, held: unknown[]): void {
  ((e as { gcRefs?: unknown[] }).gcRefs ??= []).push(held);
}

/**
 * A coroutine holds its arguments in its frame from the moment it is
 * called, before it runs: the coroutine object keeps them (its gcRefs,
 * until its first step), and an exception thrown into it before that (its
 * task cancelled first) leaves from that frame and keeps them in its
 * traceback. A JavaScript generator thrown into before it starts runs none
 * of its body, and hides what it closes over; this wrapper declares it.
 */
export function argsHeld<T>(held: unknown[], body: Coroutine<T>): Coroutine<T> {
  const coro: Delegating<T> = delegating(
    body,
    (e) => {
      if (coro.gcRefs !== undefined && e instanceof PyBaseException) keptByError(e, held);
      coro.gcRefs = undefined;
      return body.throw(e);
    },
    () => {
      coro.gcRefs = undefined;
    },
  );
  coro.gcRefs = held; // (until the first step)
  return coro;
}

/**
 * gc mode: as_completed's coroutines are, in the driver, PinnedCoroutine
 * objects, whose `throw(*args)` is a Python frame holding the exception
 * thrown in. An exception that leaves the coroutine during that call (one
 * its task's step throws in, caught, and another raised before the
 * coroutine suspends again) has that frame in its traceback, and so keeps
 * the exception thrown in.
 */
export function pinnedThrowKeeps<T>(body: Coroutine<T>): Coroutine<T> {
  return delegating(body, (e) => {
    try {
      return body.throw(e);
    } catch (x) {
      if (x instanceof PyBaseException && x !== e) keptByError(x, [e]);
      throw x;
    }
  });
}

type Delegating<T> = Coroutine<T> & { gcRefs?: unknown[] };

/** A coroutine object that runs `body`: `throwInto` in place of its throw, `beforeNext` before each send. */
function delegating<T>(
  body: Coroutine<T>,
  throwInto: (e: unknown) => IteratorResult<unknown, T>,
  beforeNext: () => void = () => {},
): Delegating<T> {
  const coro = {
    next(value: unknown): IteratorResult<unknown, T> {
      beforeNext();
      return body.next(value);
    },
    throw: throwInto,
    return(value: T): IteratorResult<unknown, T> {
      return body.return(value);
    },
    [Symbol.iterator]() {
      return coro;
    },
  };
  return coro as unknown as Delegating<T>;
}
