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
  let started = false;
  const start = (): void => {
    started = true;
    coro.gcRefs = undefined;
  };
  const coro = {
    gcRefs: held as unknown[] | undefined,
    next(value: unknown): IteratorResult<unknown, T> {
      start();
      return body.next(value);
    },
    throw(e: unknown): IteratorResult<unknown, T> {
      if (!started && e instanceof PyBaseException) keptByError(e, held);
      start();
      return body.throw(e);
    },
    return(value: T): IteratorResult<unknown, T> {
      return body.return(value);
    },
    [Symbol.iterator]() {
      return coro;
    },
  };
  return coro as unknown as Coroutine<T>;
}
