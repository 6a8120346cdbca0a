/**
 * asyncio.as_completed(aws, timeout=None).
 *
 * Hands out the outcomes of the awaitables in the order they finish. Each
 * distinct input (the input becomes a set; coroutines are wrapped in tasks)
 * gets a done callback that puts it on a Queue (queues.ts); iteration gives
 * one awaitable per input, and awaiting one takes the next finished
 * future off the queue. So outcomes come in the order the done callbacks
 * ran, and for inputs already finished that is the set's iteration order
 * (pyset.ts), not the argument order.
 *
 * Plain iteration gives coroutines that return the next result or raise the
 * next exception; they are not the input futures. With a timeout, a timer
 * puts one "nothing" per unfinished input on the queue (and stops listening
 * to them): every remaining await then raises TimeoutError. Nothing is
 * cancelled.
 *
 * 3.11 and 3.12: as_completed is a generator; its set-up runs at the first
 * next(). 3.13 (gh-77714): an iterator object set up at the call, which
 * also supports `async for`: each step waits and gives the finished task or
 * future itself, and the end is StopAsyncIteration.
 */
import type { Coroutine, PyAsCompleted, PyFuture } from "../../harness/engine/api";
import { isCoroutine } from "../../harness/engine/api";
import { TimeoutError } from "./exceptions";
import { pyexc } from "../../harness/engine/pyexc";
import type { Future } from "./futures";
import { ensure_future } from "./gather";
import { holding, inFrame } from "./gcrefs";
import type { TimerHandle } from "./handles";
import { EventLoop, get_running_loop, runningTask } from "./loop";
import { PySet } from "./pyset";
import { Queue } from "./queues";
import { setHash } from "./wait";

type Aw = Coroutine | PyFuture;

export function as_completed(aws: Aw[], timeout: number | null): PyAsCompleted {
  const loop = get_running_loop();
  if (loop.profile.asCompletedIterator) return new AsCompletedIterator(aws, timeout, loop);
  return new AsCompletedGenerator(aws, timeout);
}

/**
 * The state both versions share: the inputs not finished yet (`todo`), the
 * queue their completions go to, and the timeout's timer.
 */
class Completions {
  private readonly done = new Queue<Future | null>();
  private readonly todo: PySet<Future>;
  private timeoutHandle: TimerHandle | null = null;
  /** How many awaitables iteration hands out: one per distinct input. */
  readonly count: number;
  /**
   * The member the loop that adds the callbacks ends on (the last in set
   * order): 3.11 / 3.12's generator keeps that loop variable in its frame.
   */
  readonly lastMember: Future | null = null;

  /** 3.13's _wait_for_one is a method of the iterator; before, a closure over the queue. */
  private readonly selfInFrame: boolean;

  constructor(aws: Aw[], timeout: number | null, loop: EventLoop) {
    this.selfInFrame = loop.profile.asCompletedIterator;
    // The completion and timeout callbacks (closures, or bound methods in
    // 3.13) hold this state: the futures left, the queue, the timer.
    holding(this.onCompletion, this);
    holding(this.onTimeout, this);
    this.todo = new PySet<Future>([], setHash);
    // The set-up's frame (3.13's __init__) holds the state and, once its
    // loop is done, the last member (`f`): live while an eager member's
    // first step runs inside ensure_future, and kept after by the traceback
    // of an exception that step ends with (tasks.ts).
    const frame: unknown[] = [this];
    loop.inCallerFrame(frame, () => {
      for (const aw of pySetOfAwaitables(aws)) this.todo.add(ensure_future(aw, loop));
    });
    for (const f of this.todo) {
      f.add_done_callback(this.onCompletion);
      this.lastMember = f;
    }
    frame.push(this.lastMember);
    if (this.todo.size > 0 && timeout !== null) this.timeoutHandle = loop.call_later(timeout, this.onTimeout);
    this.count = this.todo.size;
  }

  /** What this state holds (gc.ts). */
  gcReferents(): unknown[] {
    return [[...this.todo], this.done, this.timeoutHandle];
  }

  /** A member finished: queue it (unless the timeout came first). */
  private readonly onCompletion = (f: Future): void => {
    if (this.todo.size === 0) return; // the timeout was here first
    this.todo.remove(f);
    this.done.put_nowait(f);
    if (this.todo.size === 0) this.timeoutHandle?.cancel();
  };

  /** Time is up: one "nothing" per unfinished member, and stop listening. */
  private readonly onTimeout = (): void => {
    for (const f of this.todo) {
      f.remove_done_callback(this.onCompletion);
      this.done.put_nowait(null);
    }
    this.todo.clear();
  };

  /**
   * Wait for the next completion. `resolve`: give its result (or raise its
   * exception), as plain iteration's coroutines do; otherwise give the
   * future itself, as async iteration does.
   */
  *waitForOne(resolve: boolean): Coroutine {
    // The waiting coroutine's frame holds the queue (3.11 / 3.12: the
    // closure's one cell) or the whole iterator (3.13: `self`), and then the
    // future it took; an exception raised here keeps them.
    const frame: unknown[] = [this.selfInFrame ? this : this.done];
    return yield* inFrame(runningTask(), frame, this.nextOutcome(resolve, frame));
  }

  private *nextOutcome(resolve: boolean, frame: unknown[]): Coroutine {
    const f = yield* this.done.get();
    frame.push(f);
    if (f === null) throw TimeoutError();
    return resolve ? f.result() : f;
  }
}

/**
 * `set(aws)`: the distinct inputs in CPython's set order. Tasks and futures
 * are ordered by their hashes (creation numbers; see setHash for the
 * others). A coroutine's hash is its address, so where CPython puts it is not
 * reproducible: the model takes coroutines after the futures, in argument
 * order (scenarios avoid mixing them).
 */
function pySetOfAwaitables(aws: Aw[]): Aw[] {
  // Coroutines with a pinned hash (the interpreter's, as the driver's
  // PinnedCoroutine) go into the set with the futures; others after them.
  const pinned = (aw: Aw): boolean => !isCoroutine(aw) || typeof (aw as { pyHash?: unknown }).pyHash === "number";
  const hashOf = (aw: Aw): number => (isCoroutine(aw) ? (aw as unknown as { pyHash: number }).pyHash : setHash(aw as Future));
  const set = new PySet<Aw>(aws.filter(pinned), hashOf);
  const coroutines = [...new Set(aws.filter((aw) => !pinned(aw)))];
  return [...set, ...coroutines];
}

/**
 * 3.11 / 3.12's as_completed, a generator: nothing happens before the first
 * next(). While it is suspended its frame holds the inputs, the shared state
 * and the variable of its `for f in todo: f.add_done_callback(...)` loop —
 * so the last member in set order stays alive even once it is done and
 * handed out (3.13 adds the callbacks in __init__, whose `f` dies with the
 * call). The frame is cleared when the generator is exhausted.
 */
class AsCompletedGenerator implements PyAsCompleted {
  private completions: Completions | null = null;
  private handedOut = 0;
  private frame: unknown[];

  constructor(
    private readonly aws: Aw[],
    private readonly timeout: number | null,
  ) {
    this.frame = [aws];
  }

  __next__(): Coroutine | undefined {
    if (this.completions === null) {
      // The set-up, at the first next(). (It cannot fail on the scenario
      // language's inputs, tasks, futures and coroutines.)
      this.completions = new Completions(this.aws, this.timeout, get_running_loop());
      this.frame = [this.aws, this.completions, this.completions.lastMember];
    }
    if (this.handedOut === this.completions.count) {
      // Stryker disable next-line ArrayDeclaration: equivalent, a list of strings holds nothing for gc.ts
      this.frame = [];
      return undefined;
    }
    this.handedOut++;
    return this.completions.waitForOne(true);
  }

  /** What the suspended generator's frame holds (gc.ts). */
  gcReferents(): unknown[] {
    return this.frame;
  }
}

/** 3.13's _AsCompletedIterator: plain and async iteration over the same queue. */
class AsCompletedIterator implements PyAsCompleted {
  private readonly completions: Completions;
  private todoLeft: number;

  constructor(aws: Aw[], timeout: number | null, loop: EventLoop) {
    this.completions = new Completions(aws, timeout, loop);
    this.todoLeft = this.completions.count;
  }

  /** `async for`: the next finished task or future; StopAsyncIteration at the end. */
  *__anext__(): Coroutine<PyFuture> {
    if (this.todoLeft === 0) throw pyexc("StopAsyncIteration");
    this.todoLeft--;
    return (yield* this.completions.waitForOne(false)) as PyFuture;
  }

  /** `for`: a coroutine giving the next result; undefined (StopIteration) at the end. */
  __next__(): Coroutine | undefined {
    if (this.todoLeft === 0) return undefined;
    this.todoLeft--;
    return this.completions.waitForOne(true);
  }
}
