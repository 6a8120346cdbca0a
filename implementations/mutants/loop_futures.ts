/**
 * Mutants for the loop, coroutine, sleep, done-callback and future clauses.
 *
 * A mutant is the reference with one behaviour broken: replace one function
 * of the implementation object (`{ ...makeReference(v), sleep: ... }`), or
 * subclass a reference class and install it (loopClass, task factories).
 * Reference files are never edited for a mutant.
 *
 * Futures and tasks are changed through one mixin applied to both Future
 * and Task (a Task is a Future), installed by a loop subclass whose
 * create_future and task factory make the mutant classes. The eager task
 * factory still makes plain tasks: these mutants are meant for lazy tasks.
 */
import type { AsyncioImplementation, Coroutine, PyFuture } from "../../harness/engine/api";
import { EventLoop, Future, Task, makeReference } from "../reference";
import type { Profile, PythonVersion } from "../reference";
import { get_running_loop } from "../reference/loop";
import type { TaskFactory } from "../reference/loop";
import { Callback, Handle, TimerHandle } from "../reference/handles";
import { heappush } from "../reference/heapq";
import { isinstance, pyexc } from "../reference/exceptions";
import type { DoneCallback } from "../reference/futures";
import type { Mutant } from "./mutant";

type LoopClass = new (profile: Profile, factory: TaskFactory) => EventLoop;

function withLoop(name: string, description: string, loopClass: LoopClass): Mutant {
  return { name, description, make: (v) => ({ ...makeReference(v, { loopClass }), id: `mutant:${name}@${v}` }) };
}

function withImpl(name: string, description: string, change: (ref: AsyncioImplementation) => Partial<AsyncioImplementation>): Mutant {
  return {
    name,
    description,
    make: (v: PythonVersion) => {
      const ref = makeReference(v);
      return { ...ref, ...change(ref), id: `mutant:${name}@${v}` };
    },
  };
}

// ---------------------------------------------------------------- the loop

/** Callbacks scheduled during an iteration run in that same iteration: the loop drains its ready queue before looking at timers again. */
class DrainLoop extends EventLoop {
  runOnce(): void {
    super.runOnce();
    while (this.ready.length > 0) {
      const batch = this.ready;
      this.ready = [];
      for (const h of batch) if (!h.cancelled) h.run();
    }
  }
}

/** call_later(0) and call_at(a time not after now) go straight to the ready queue, like call_soon (as uvloop does). */
class LaterZeroIsSoonLoop extends EventLoop {
  call_at(when: number, callback: Callback, ...args: unknown[]): TimerHandle {
    if (when > this.time()) return super.call_at(when, callback, ...args);
    const timer = new TimerHandle(when, callback, args, this);
    this.ready.push(timer);
    return timer;
  }
}

/** A timer that breaks ties between equal deadlines by registration order, as uvloop does. */
class FifoTimerHandle extends TimerHandle {
  constructor(when: number, readonly seq: number, callback: Callback, args: unknown[], loop: EventLoop) {
    super(when, callback, args, loop);
  }
  lt(other: TimerHandle): boolean {
    if (this.when !== other.when) return this.when < other.when;
    return this.seq < (other as FifoTimerHandle).seq;
  }
}

/** The reference's timer heap (a private field: mutants may reach it, reference code never does this). */
function timerHeap(loop: EventLoop): TimerHandle[] {
  return (loop as unknown as { scheduled: TimerHandle[] }).scheduled;
}

class FifoTiesLoop extends EventLoop {
  private seq = 0;
  call_at(when: number, callback: Callback, ...args: unknown[]): TimerHandle {
    const timer = new FifoTimerHandle(when, this.seq++, callback, args, this);
    heappush(timerHeap(this), timer);
    timer.scheduled = true;
    return timer;
  }
}

/** Cancelled timers are never counted, so the heap is never rebuilt: they only leave it from its head. */
class NoRebuildLoop extends EventLoop {
  timerHandleCancelled(): void {}
}

/** The loop's timer heap and its count of cancelled timers (private fields, as timerHeap). */
function timerState(loop: EventLoop): { scheduled: TimerHandle[]; timerCancelledCount: number } {
  return loop as unknown as { scheduled: TimerHandle[]; timerCancelledCount: number };
}

/** The heap is rebuilt from 100 scheduled timers on (`>=` for `>`), not only above 100. */
class RebuildAt100Loop extends EventLoop {
  protected rebuildsTimerHeap(count: number, cancelled: number): boolean {
    return count >= 100 && cancelled / count > 0.5;
  }
}

/** The heap is rebuilt when half of the scheduled timers are cancelled (`>=` for `>`), not only more than half. */
class RebuildAtHalfLoop extends EventLoop {
  protected rebuildsTimerHeap(count: number, cancelled: number): boolean {
    return count > 100 && cancelled / count >= 0.5;
  }
}

/** A timer cancelled a second time is counted as cancelled again. */
class CountAgainTimerHandle extends TimerHandle {
  cancel(): void {
    if (this.cancelled && this.scheduled) timerState(this.loop).timerCancelledCount++;
    super.cancel();
  }
}

class CancelCountedTwiceLoop extends EventLoop {
  call_at(when: number, callback: Callback, ...args: unknown[]): TimerHandle {
    const timer = new CountAgainTimerHandle(when, callback, args, this);
    heappush(timerHeap(this), timer);
    timer.scheduled = true;
    return timer;
  }
}

/**
 * A rebuild marks every timer it keeps as no longer scheduled, as it marks
 * the cancelled ones it drops: cancelling a survivor later does not count
 * towards the next rebuild.
 */
class RebuildUnschedulesLoop extends EventLoop {
  protected rebuildsTimerHeap(count: number, cancelled: number): boolean {
    const rebuilds = super.rebuildsTimerHeap(count, cancelled);
    if (rebuilds) for (const h of timerHeap(this)) h.scheduled = false;
    return rebuilds;
  }
}

/** Cancelling a timer counts it as cancelled even when it already left the heap (it ran). */
class CountsRanTimersLoop extends EventLoop {
  timerHandleCancelled(): void {
    timerState(this).timerCancelledCount++;
  }
}

/** run_until_complete's done callback stops the loop however the future ended, even with KeyboardInterrupt or SystemExit (before bpo-22429). */
class StopsOnInterruptLoop extends EventLoop {
  run_until_complete(future: PyFuture): unknown {
    const fut = future as Future;
    const stop = () => this.stop();
    fut.add_done_callback(stop);
    try {
      this.run_forever();
    } finally {
      fut.remove_done_callback(stop);
    }
    if (!fut.done()) throw pyexc("RuntimeError", "Event loop stopped before Future completed.");
    return fut.result();
  }
}

/**
 * run_until_complete leaves its done callback on the future when the run is
 * interrupted (no finally): the callback, still on the main task, stops the
 * shutdown's run when main ends.
 */
class KeepsCallbackLoop extends EventLoop {
  run_until_complete(future: PyFuture): unknown {
    const fut = future as Future;
    const stopWhenDone = (f: Future) => {
      if (!f.cancelled()) {
        const exc = f.exception();
        if (isinstance(exc, "KeyboardInterrupt") || isinstance(exc, "SystemExit")) return;
      }
      this.stop();
    };
    fut.add_done_callback(stopWhenDone);
    this.run_forever();
    fut.remove_done_callback(stopWhenDone);
    if (!fut.done()) throw pyexc("RuntimeError", "Event loop stopped before Future completed.");
    return fut.result();
  }
}

/** call_at(when) treats `when` as a delay from now. */
class CallAtRelativeLoop extends EventLoop {
  call_at(when: number, callback: Callback, ...args: unknown[]): TimerHandle {
    return super.call_at(this.time() + when, callback, ...args);
  }
  call_later(delay: number, callback: Callback, ...args: unknown[]): TimerHandle {
    return super.call_at(this.time() + delay, callback, ...args);
  }
}

/** Every timer fires one tick after its deadline. */
class LateTimersLoop extends EventLoop {
  call_at(when: number, callback: Callback, ...args: unknown[]): TimerHandle {
    return super.call_at(when + 1, callback, ...args);
  }
}

/** Handle.cancel() does nothing on the handles call_soon, call_later and call_at return. */
class CancelNoopLoop extends EventLoop {
  call_soon(callback: Callback, ...args: unknown[]): Handle {
    const h = super.call_soon(callback, ...args);
    h.cancel = () => {};
    return h;
  }
  call_at(when: number, callback: Callback, ...args: unknown[]): TimerHandle {
    const h = super.call_at(when, callback, ...args);
    h.cancel = () => {};
    return h;
  }
}

/**
 * The loop moves one due timer to the ready queue per iteration ("if"
 * instead of "while"): the others wait, behind what the iteration
 * schedules. Emulated on top of the reference: the extra timers are held
 * back, and a no-op callback keeps the loop from advancing its clock while
 * any are held.
 */
class OneTimerLoop extends EventLoop {
  private held: Handle[] = [];
  private readonly keepAwake = () => {};
  protected takeReadyBatch(): Handle[] {
    const batch = super.takeReadyBatch();
    const fresh = batch.filter((h) => h instanceof TimerHandle);
    const rest = batch.filter((h) => !(h instanceof TimerHandle));
    const candidates = [...this.held, ...fresh];
    this.held = candidates.slice(1);
    if (this.held.length > 0) this.call_soon(this.keepAwake);
    return candidates.length > 0 ? [...rest, candidates[0]] : rest;
  }
}

/**
 * Tasks start only when something waits for them (adds a done callback, as
 * `await` does): the step create_task schedules is held back until then.
 */
class LazyTaskLoop extends EventLoop {
  private capturing = false;
  private captured: Handle | null = null;
  constructor(profile: Profile, _factory: TaskFactory) {
    super(profile, (loop, coro, name) => (loop as LazyTaskLoop).lazyTask(coro as Coroutine, name));
  }
  private lazyTask(coro: Coroutine, name: string | null): Task {
    this.capturing = true;
    let task: Task;
    try {
      task = new Task(coro, this, name);
    } finally {
      this.capturing = false;
    }
    const start = this.captured;
    this.captured = null;
    if (start === null) return task;
    let started = false;
    const add = task.add_done_callback.bind(task);
    task.add_done_callback = (fn) => {
      if (!started) {
        started = true;
        this.ready.push(start);
      }
      add(fn);
    };
    return task;
  }
  call_soon(callback: Callback, ...args: unknown[]): Handle {
    if (!this.capturing) return super.call_soon(callback, ...args);
    const h = new Handle(callback, args, this);
    this.captured = h;
    return h;
  }
}

// ---------------------------------------------------------------- futures and tasks

type FutureCtor = new (...args: any[]) => Future;

/** A loop whose futures (create_future) and tasks are made of the mixin's classes. */
function futureLoop(mix: <B extends FutureCtor>(Base: B) => B, tasksToo = true): LoopClass {
  const F = mix(Future as FutureCtor);
  const T = tasksToo ? (mix(Task as unknown as FutureCtor) as unknown as typeof Task) : Task;
  return class extends EventLoop {
    constructor(profile: Profile, _factory: TaskFactory) {
      super(profile, (loop, coro, name) => new T(coro as Coroutine, loop, name));
    }
    create_future(): Future {
      const f = new F(this);
      f.pyHash = this.nextHash();
      return f;
    }
  };
}

function futureMutant(name: string, description: string, mix: <B extends FutureCtor>(Base: B) => B, tasksToo = true): Mutant {
  return withLoop(name, description, futureLoop(mix, tasksToo));
}

const mutants: Mutant[] = [
  // ---- loop ordering
  withLoop(
    "soon-same-iteration",
    "callbacks scheduled during an iteration run in that same iteration (the ready queue is drained before timers are looked at again)",
    DrainLoop,
  ),
  withLoop("later0-is-soon", "call_later(0) and call_at(now or earlier) queue the callback at once, like call_soon (uvloop's way)", LaterZeroIsSoonLoop),
  withLoop("fifo-ties", "timers with equal deadlines run in registration order (uvloop's way), not in heap order", FifoTiesLoop),
  withLoop("no-heap-rebuild", "the loop never rebuilds its timer heap, however many timers are cancelled", NoRebuildLoop),
  withLoop("rebuild-at-100", "the loop rebuilds its timer heap with 100 timers scheduled (more than half cancelled), not only above 100", RebuildAt100Loop),
  withLoop("rebuild-at-half", "the loop rebuilds its timer heap when exactly half of its (more than 100) timers are cancelled", RebuildAtHalfLoop),
  withLoop("cancel-counted-twice", "a timer cancelled twice counts twice towards the loop's heap rebuild", CancelCountedTwiceLoop),
  withLoop("cancel-counts-ran-timers", "cancelling a timer that already ran counts towards the loop's heap rebuild", CountsRanTimersLoop),
  withLoop("run-until-complete-keeps-callback", "run_until_complete leaves its done callback on the main task when a KeyboardInterrupt or SystemExit interrupts it: main's end stops the shutdown's run", KeepsCallbackLoop),
  withLoop("rebuild-unschedules-survivors", "a timer heap rebuild marks the timers it keeps as unscheduled: cancelling one later does not count towards the next rebuild", RebuildUnschedulesLoop),
  withLoop("stop-on-interrupted-main", "run_until_complete's done callback stops the loop even when the main task ended with KeyboardInterrupt or SystemExit", StopsOnInterruptLoop),
  withImpl("sleep-wakes-cancelled", "asyncio.sleep's timer sets its future's result even when the future was cancelled meanwhile (InvalidStateError in the callback)", () => ({
    sleep: (delay, result) =>
      (function* (): Coroutine {
        if (delay <= 0) {
          yield null;
          return result ?? null;
        }
        const loop = get_running_loop();
        const future = loop.create_future();
        const timer = loop.call_later(delay, (f: Future, r: unknown) => f.set_result(r), future, result ?? null);
        try {
          return yield* future.__await__();
        } finally {
          timer.cancel();
        }
      })(),
  })),
  withLoop("call-at-relative", "call_at(when) takes `when` as a delay from now instead of an absolute time", CallAtRelativeLoop),
  withLoop("timers-late", "every timer runs one tick after its deadline", LateTimersLoop),
  withLoop("handle-cancel-noop", "cancelling a handle from call_soon, call_later or call_at does nothing: the callback still runs", CancelNoopLoop),
  withLoop("one-timer-per-iteration", "the loop makes only one due timer ready per iteration; the others wait behind what it schedules", OneTimerLoop),
  // ---- sleep
  withImpl("sleep0-no-yield", "asyncio.sleep(0) returns without giving up the loop", (ref) => ({
    sleep: (delay, result) => (delay <= 0 ? (function* (): Coroutine { return result ?? null; })() : ref.sleep(delay, result)),
  })),
  withImpl("sleep0-yields-twice", "asyncio.sleep(0) gives up the loop twice", (ref) => ({
    sleep: (delay, result) =>
      delay <= 0
        ? (function* (): Coroutine {
            yield null;
            yield null;
            return result ?? null;
          })()
        : ref.sleep(delay, result),
  })),
  withImpl("sleep-ignores-result", "asyncio.sleep(delay, result) returns None whatever the result", (ref) => ({
    sleep: (delay) => ref.sleep(delay, null),
  })),
  withImpl("sleep-short", "asyncio.sleep(delay) with delay >= 1 sleeps one tick less", (ref) => ({
    sleep: (delay, result) => ref.sleep(delay >= 1 ? delay - 1 : delay, result),
  })),
  // ---- tasks and awaiting
  withLoop("lazy-tasks", "a task starts only when something awaits it (or adds a done callback), not soon after create_task", LazyTaskLoop),
  futureMutant("await-always-yields", "awaiting a future or task that is already done still gives up the loop once", (Base) =>
    class extends Base {
      *__await__(): Coroutine {
        if (this.done()) yield null;
        return yield* super.__await__();
      }
    },
  ),
  futureMutant("result-consumed", "a future's result is handed out once: result() afterwards returns None", (Base) =>
    class extends Base {
      result(): unknown {
        const r = super.result();
        this.resultValue = null;
        return r;
      }
    },
  ),
  // ---- done callbacks
  futureMutant("done-callbacks-sync", "done callbacks are called synchronously when the future finishes, not scheduled with call_soon", (Base) =>
    class extends Base {
      protected scheduleCallbacks(): void {
        const callbacks = this.callbacks;
        this.callbacks = [];
        for (const cb of callbacks) cb(this);
      }
    },
  ),
  futureMutant("callbacks-lifo", "a future's done callbacks are scheduled newest first", (Base) =>
    class extends Base {
      protected scheduleCallbacks(): void {
        this.callbacks.reverse();
        super.scheduleCallbacks();
      }
    },
  ),
  futureMutant("callbacks-not-cleared", "finishing a future schedules its callbacks but keeps them in its list, so remove_done_callback still finds them", (Base) =>
    class extends Base {
      protected scheduleCallbacks(): void {
        const kept = [...this.callbacks];
        super.scheduleCallbacks();
        this.callbacks = kept;
      }
    },
  ),
  futureMutant("add-when-done-sync", "add_done_callback on a future that is already done calls the callback at once", (Base) =>
    class extends Base {
      add_done_callback(fn: DoneCallback): void {
        if (this.done()) fn(this);
        else super.add_done_callback(fn);
      }
    },
  ),
  futureMutant("add-when-done-dropped", "add_done_callback on a future that is already done never calls the callback", (Base) =>
    class extends Base {
      add_done_callback(fn: DoneCallback): void {
        if (!this.done()) super.add_done_callback(fn);
      }
    },
  ),
  futureMutant("remove-first-only", "remove_done_callback removes only the first registration of the callback", (Base) =>
    class extends Base {
      remove_done_callback(fn: DoneCallback): number {
        const i = this.callbacks.indexOf(fn);
        if (i < 0) return 0;
        this.callbacks.splice(i, 1);
        return 1;
      }
    },
  ),
  futureMutant(
    "cancel-skips-callbacks",
    "Future.cancel() marks the future cancelled without scheduling its done callbacks",
    (Base) =>
      class extends Base {
        cancel(msg: string | null = null): boolean {
          if (this.state !== "PENDING") return false;
          this.state = "CANCELLED";
          this.cancelMessage = msg;
          return true;
        }
      },
    false,
  ),
  // ---- the Future API
  futureMutant("result-pending-none", "result() and exception() of a pending future return None instead of raising InvalidStateError", (Base) =>
    class extends Base {
      result(): unknown {
        return this.done() ? super.result() : null;
      }
      exception() {
        return this.done() ? super.exception() : null;
      }
    },
  ),
  futureMutant("exception-raises", "exception() raises the future's exception instead of returning it", (Base) =>
    class extends Base {
      exception() {
        const e = super.exception();
        if (e !== null) throw e;
        return e;
      }
    },
  ),
  futureMutant("exception-cancelled-none", "exception() of a cancelled future returns None instead of raising CancelledError", (Base) =>
    class extends Base {
      exception() {
        return this.cancelled() ? null : super.exception();
      }
    },
  ),
  futureMutant(
    "set-when-done-ignored",
    "set_result() and set_exception() on a future that is already done are silently ignored",
    (Base) =>
      class extends Base {
        set_result(result: unknown): void {
          if (!this.done()) super.set_result(result);
        }
        set_exception(exception: Parameters<Future["set_exception"]>[0]): void {
          if (!this.done()) super.set_exception(exception);
        }
      },
    false,
  ),
  futureMutant(
    "stop-iteration-stored",
    "set_exception(StopIteration()) stores the StopIteration as it is, neither refused (3.8-3.12) nor wrapped in a RuntimeError (3.13+)",
    (Base) =>
      class extends Base {
        set_exception(exception: Parameters<Future["set_exception"]>[0]): void {
          if (this.done() || !isinstance(exception, "StopIteration")) return super.set_exception(exception);
          super.set_exception(pyexc("ValueError"));
          this.exceptionValue = exception;
        }
      },
    false,
  ),
  withLoop(
    "stop-iteration-version-flipped",
    "set_exception(StopIteration()) behaves as in the other versions: wrapped in a RuntimeError before 3.13, refused with TypeError from 3.13",
    class extends EventLoop {
      constructor(profile: Profile, factory: TaskFactory) {
        super({ ...profile, setExceptionWrapsStopIteration: !profile.setExceptionWrapsStopIteration }, factory);
      }
    },
  ),
  futureMutant("cancelled-by-exception", "cancelled() is also true for a future finished with a CancelledError exception", (Base) =>
    class extends Base {
      cancelled(): boolean {
        return super.cancelled() || (this.state === "FINISHED" && isinstance(this.exceptionValue, "CancelledError"));
      }
    },
  ),
  futureMutant("cancel-done-true", "cancel() of a future that is already done returns True (and changes nothing)", (Base) =>
    class extends Base {
      cancel(msg: string | null = null): boolean {
        if (this.done()) return true;
        return super.cancel(msg);
      }
    },
  ),
  futureMutant("cancel-msg-dropped", "cancel(msg) forgets the message: the CancelledError has no arguments", (Base) =>
    class extends Base {
      cancel(): boolean {
        return super.cancel(null);
      }
    },
  ),
];

export const MUTANTS: Mutant[] = mutants;
