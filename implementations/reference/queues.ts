/**
 * asyncio.Queue, the part of it that as_completed uses: an unbounded FIFO
 * queue whose get() waits for an item.
 *
 * A consumer that finds the queue empty parks a "getter" future (made with
 * loop.create_future(), so it takes a creation number like any other future)
 * at the back of the getters deque and awaits it. put_nowait() appends the
 * item and wakes the first getter still pending by setting its result; the
 * woken consumer resumes one loop iteration later (the getter's done
 * callbacks are scheduled, never called) and takes the item then. Whatever
 * was put meanwhile stays queued for later gets.
 *
 * Not modelled, because as_completed never uses them: maxsize and put()
 * (so there are never "putters" to wake), task_done() / join() and their
 * counter and Event, shutdown() (3.13).
 */
import type { Coroutine } from "../../harness/engine/api";
import type { Future } from "./futures";
import { get_running_loop } from "./loop";

export class Queue<T> {
  private readonly items: T[] = [];
  /** Consumers waiting in get(), oldest first (a collections.deque in CPython). */
  private getters: Future[] = [];

  /** What a queue holds (gc.ts): its items and the futures of waiting consumers. */
  gcReferents(): unknown[] {
    return [this.items, this.getters];
  }

  empty(): boolean {
    return this.items.length === 0;
  }

  /** Add an item and wake the consumer that has waited longest, if any. */
  put_nowait(item: T): void {
    this.items.push(item);
    this.wakeupNext();
  }

  /** Take the oldest item (callers check that there is one: QueueEmpty is not modelled). */
  get_nowait(): T {
    return this.items.shift() as T;
  }

  /** `await queue.get()`: the oldest item, waiting for one if needed. */
  *get(): Coroutine<T> {
    const loop = get_running_loop();
    while (this.empty()) {
      const getter = loop.create_future();
      this.getters.push(getter);
      try {
        yield* getter.__await__();
      } catch (e) {
        // Cancelled (or otherwise interrupted) while waiting.
        getter.cancel(); // in case the getter is still pending
        // A put_nowait() may already have taken it off the deque.
        // (The next two lines matter only with several consumers, which the
        // queue's one user never has: as_completed's loop awaits each
        // _wait_for_one before asking for the next.)
        // Stryker disable next-line all: equivalent, with one consumer a done getter left in the deque is only ever skipped by wakeupNext, and nothing else reads it
        this.getters = this.getters.filter((g) => g !== getter);
        // Woken by a put but leaving without the item: pass the wake-up on,
        // so that the item does not sit there while another consumer waits.
        // Stryker disable next-line all: equivalent, with one consumer no other getter can be waiting, so the wake-up passed on reaches nobody
        if (!this.empty() && !getter.cancelled()) this.wakeupNext();
        throw e;
      }
    }
    return this.get_nowait();
  }

  /** Wake the first getter that is still pending; drop done ones on the way. */
  private wakeupNext(): void {
    while (this.getters.length > 0) {
      const getter = this.getters.shift() as Future;
      if (!getter.done()) {
        getter.set_result(null);
        return;
      }
    }
  }
}
